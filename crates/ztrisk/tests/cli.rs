//! The `ztrisk` binary's remote commands against an in-process server: transcripts of their
//! output compared with `tests/snapshots/*.txt`, and exit codes.
//!
//! Ids, times and ports are normalised. `UPDATE_SNAPSHOTS=1 cargo test -p ztrisk --test cli`
//! rewrites the snapshots after a deliberate change of output.

use std::path::PathBuf;
use ztrisk_core::credentials::SecretHash;
use ztrisk_server::testing::TestServer;
use ztrisk_store::prelude::*;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Records commands and their output as a transcript.
struct Session<'a> {
    server: &'a TestServer,
    transcript: String,
    /// Texts of this run (a receiver's port, key ids) and what the snapshot shows instead.
    replacements: Vec<(String, String)>,
}

impl<'a> Session<'a> {
    fn new(server: &'a TestServer) -> Self {
        Self {
            server,
            transcript: String::new(),
            replacements: Vec::new(),
        }
    }

    /// Shows `text` as `placeholder` in the snapshot, padded with `-` to the length of `text`
    /// so tables stay aligned.
    fn replace(&mut self, text: &str, placeholder: &str) {
        let width = text.chars().count();
        self.replacements
            .push((text.to_owned(), format!("{placeholder:-<width$}")));
    }

    /// Runs `ztrisk args...` with the server's URL, token and account in the environment.
    async fn run(&mut self, args: &[&str]) -> Run {
        self.run_with(args, &[]).await
    }

    async fn run_with(&mut self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ztrisk"));
        command
            .args(args)
            .current_dir(self.server.dir())
            .env("CLOUDFLARE_BASE_URL", self.server.api_url())
            .env("CLOUDFLARE_API_TOKEN", &self.server.admin)
            .env("CLOUDFLARE_ACCOUNT_ID", self.server.account_tag())
            .env_remove("CLOUDFLARE_API_KEY")
            .env_remove("CLOUDFLARE_EMAIL")
            .env_remove("ZTRISK_DATABASE")
            .env_remove("RUST_LOG");
        for (name, value) in env {
            if value.is_empty() {
                command.env_remove(name);
            } else {
                command.env(name, value);
            }
        }
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .unwrap_or_else(|e| panic!("join: {e}"))
            .unwrap_or_else(|e| panic!("running ztrisk: {e}"));
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        let quoted: Vec<String> = args
            .iter()
            .map(|a| {
                if a.contains(' ') {
                    format!("{a:?}")
                } else {
                    (*a).to_owned()
                }
            })
            .collect();
        self.transcript
            .push_str(&format!("$ ztrisk {}\n", quoted.join(" ")));
        self.transcript.push_str(&run.stdout);
        for line in run.stderr.lines() {
            self.transcript.push_str(&format!("stderr| {line}\n"));
        }
        self.transcript
            .push_str(&format!("[exit {}]\n\n", run.code));
        run
    }

    fn assert_snapshot(&self, name: &str) {
        let mut transcript = self.transcript.clone();
        for (text, placeholder) in &self.replacements {
            transcript = transcript.replace(text, placeholder);
        }
        let actual = normalise(&transcript, self.server);
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/snapshots")
            .join(format!("{name}.txt"));
        let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
        match std::fs::read_to_string(&path) {
            Ok(expected) if !update => {
                if expected != actual {
                    let diff = first_difference(&expected, &actual);
                    panic!(
                        "{name}: output differs from {} (UPDATE_SNAPSHOTS=1 rewrites it)\n{diff}\n\
                         --- actual ---\n{actual}",
                        path.display()
                    );
                }
            }
            found => {
                std::fs::write(&path, &actual)
                    .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
                if found.is_err() && !update {
                    panic!(
                        "{name}: new snapshot written to {}; review it and rerun",
                        path.display()
                    );
                }
            }
        }
    }
}

fn first_difference(expected: &str, actual: &str) -> String {
    for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
        if e != a {
            return format!("line {}:\n- {e}\n+ {a}", i + 1);
        }
    }
    format!(
        "lengths differ: {} expected lines, {} actual",
        expected.lines().count(),
        actual.lines().count()
    )
}

/// Replaces what changes from run to run: the account, the port, UUIDs, times and 32-hex ids
/// (`jti`, `webhook-id`), all with text of the same length so tables stay aligned, and webhook
/// secrets. The events' own times, all on [`EVENT_DAY`], are kept.
fn normalise(text: &str, server: &TestServer) -> String {
    let port = server
        .base_url
        .trim_start_matches("http://127.0.0.1:")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let text = text
        .replace(&server.account_tag(), "<account>")
        .replace(&format!("127.0.0.1:{port}"), "127.0.0.1:<port>");
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let word_start = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        if let Some(len) = uuid_at(&chars[i..]) {
            out.push_str("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
            i += len;
        } else if word_start && hex32_at(&chars[i..]) {
            out.push_str(&"x".repeat(32));
            i += 32;
        } else if chars[i..].starts_with(&['w', 'h', 's', 'e', 'c', '_']) {
            out.push_str("whsec_<secret>");
            i += 6;
            while chars
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
            {
                i += 1;
            }
        } else if let Some(len) = time_at(&chars[i..]) {
            let t: String = chars[i..i + len].iter().collect();
            if t.starts_with(EVENT_DAY) {
                out.push_str(&t);
            } else {
                out.extend(t.chars().map(|c| if c.is_ascii_digit() { '#' } else { c }));
            }
            i += len;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn shape_at(chars: &[char], shape: &str) -> bool {
    chars.len() >= shape.len()
        && shape.chars().zip(chars).all(|(s, c)| match s {
            'h' => c.is_ascii_hexdigit(),
            'd' => c.is_ascii_digit(),
            other => other == *c,
        })
}

/// 32 lowercase hex digits, letters and digits mixed (a random id, not `000...`), not followed
/// by another letter or digit.
fn hex32_at(chars: &[char]) -> bool {
    let Some(id) = chars.get(..32) else {
        return false;
    };
    id.iter()
        .all(|c| c.is_ascii_digit() || ('a'..='f').contains(c))
        && id.iter().any(char::is_ascii_digit)
        && id.iter().any(char::is_ascii_lowercase)
        && !chars.get(32).is_some_and(char::is_ascii_alphanumeric)
}

fn uuid_at(chars: &[char]) -> Option<usize> {
    shape_at(chars, "hhhhhhhh-hhhh-hhhh-hhhh-hhhhhhhhhhhh").then_some(36)
}

/// An RFC 3339 time: `dddd-dd-ddTdd:dd:dd`, optional fraction, then `Z` or an offset.
fn time_at(chars: &[char]) -> Option<usize> {
    if !shape_at(chars, "dddd-dd-ddTdd:dd:dd") {
        return None;
    }
    let mut len = 19;
    if chars.get(len) == Some(&'.') {
        len += 1;
        while chars.get(len).is_some_and(char::is_ascii_digit) {
            len += 1;
        }
    }
    match chars.get(len) {
        Some('Z') => Some(len + 1),
        Some('+' | '-') if shape_at(&chars[len + 1..], "dd:dd") => Some(len + 6),
        _ => Some(len),
    }
}

/// The day of every event the tests send.
const EVENT_DAY: &str = "2026-01-10";

/// Writes `events.ndjson` in the server's directory, where the binary runs.
fn events_file(server: &TestServer) -> &'static str {
    let signal = |id: &str, email: &str, behavior: &str, time: &str| {
        format!(
            r#"{{"id": "{id}", "type": "behavior", "behavior": "{behavior}", "timestamp": "{time}", "user": {{"email": "{email}"}}}}"#
        )
    };
    let lines = [
        signal(
            "e1",
            "ana@example.com",
            "vpn_anomaly",
            "2026-01-10T10:00:00Z",
        ),
        signal("e2", "ana@example.com", "bad_badge", "2026-01-10T10:05:00Z"),
        signal(
            "e3",
            "ben@example.com",
            "vpn_anomaly",
            "2026-01-10T11:00:00Z",
        ),
        r#"{"type": "access_login", "user": {"email": "cy@example.com"}}"#.to_owned(),
        signal(
            "e1",
            "ana@example.com",
            "vpn_anomaly",
            "2026-01-10T10:00:00Z",
        ),
    ];
    let path = server.dir().join("events.ndjson");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap_or_else(|e| panic!("write: {e}"));
    "events.ndjson"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviors_events_and_users() {
    let server = TestServer::start().await;
    let mut s = Session::new(&server);
    assert_eq!(s.run(&["behaviors", "get"]).await.code, 0);
    s.run(&[
        "behaviors",
        "set",
        "imp_travel",
        "failed_logins",
        "--enable",
    ])
    .await;
    s.run(&[
        "behaviors",
        "set",
        "failed_logins",
        "--setting",
        "threshold=5",
        "--level",
        "high",
    ])
    .await;
    s.run(&[
        "behaviors",
        "set",
        "vpn_anomaly",
        "bad_badge",
        "--enable",
        "--level",
        "medium",
    ])
    .await;
    s.run(&["behaviors", "set", "bad_badge", "--level", "high"])
        .await;
    let refused = s
        .run(&[
            "behaviors",
            "set",
            "Bad-Id",
            "imp_travel",
            "--level",
            "low",
            "--setting",
            "max_speed_kmh=-1",
        ])
        .await;
    assert_eq!(refused.code, 1);
    assert_eq!(
        s.run(&["behaviors", "set", "nope", "--enable"]).await.code,
        2
    );

    let file = events_file(&server);
    let sent = s.run(&["events", "send", file]).await;
    assert_eq!(sent.code, 0, "{}", sent.stderr);

    s.run(&["users", "list"]).await;
    s.run(&[
        "users",
        "list",
        "--order-by",
        "timestamp",
        "--per-page",
        "1",
    ])
    .await;
    s.run(&["users", "show", "ana@example.com"]).await;
    let json = s.run(&["users", "show", "ana@example.com", "--json"]).await;
    let parsed: serde_json::Value =
        serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("--json: {e}"));
    assert_eq!(parsed["risk_level"], "high");
    assert_eq!(parsed["events"].as_array().map(Vec::len), Some(2));
    s.run(&["users", "reset", "ana@example.com"]).await;
    s.run(&["users", "list", "--json"]).await;
    let missing = s
        .run(&["users", "show", "00000000-0000-4000-8000-000000000000"])
        .await;
    assert_eq!(missing.code, 4);
    assert_eq!(s.run(&["users", "show", "ana@example.com"]).await.code, 4);
    s.assert_snapshot("behaviors_events_users");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integrations() {
    let server = TestServer::start().await;
    let mut s = Session::new(&server);
    s.run(&["integrations", "list"]).await;
    let created = s
        .run(&[
            "integrations",
            "create",
            "--tenant-url",
            "https://acme.okta.com",
            "--reference-id",
            "okta-main",
            "--json",
        ])
        .await;
    let id = serde_json::from_str::<serde_json::Value>(&created.stdout)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("created: {}{}", created.stdout, created.stderr));
    s.run(&["integrations", "list"]).await;
    s.run(&["integrations", "get", "--reference-id", "okta-main"])
        .await;
    s.run(&["integrations", "update", &id, "--active", "false"])
        .await;
    s.run(&[
        "integrations",
        "update",
        &id,
        "--clear-reference-id",
        "--tenant-url",
        "https://new.okta.com",
    ])
    .await;
    assert_eq!(
        s.run(&[
            "integrations",
            "create",
            "--tenant-url",
            "http://example.com"
        ])
        .await
        .code,
        1
    );
    assert_eq!(s.run(&["integrations", "update", &id]).await.code, 2);
    // An Okta integration has no stream.
    assert_eq!(s.run(&["integrations", "stream", &id]).await.code, 4);

    // An SSF integration, whose receiver creates a poll stream and removes a subject.
    let created = s
        .run(&[
            "integrations",
            "create",
            "--type",
            "SSF",
            "--tenant-url",
            "https://receiver.example",
            "--json",
        ])
        .await;
    let ssf = json_id(&created);
    let (receiver, _) = server
        .token(
            &[server.account],
            &[ztrisk_core::Permission::ZeroTrustRiskSharing],
            None,
        )
        .await;
    let (status, stream) = server
        .call(
            axum::http::Method::POST,
            &format!("/ssf/{ssf}/stream"),
            &receiver,
            Some(r#"{"description": "SOAR"}"#),
        )
        .await;
    assert_eq!(status, axum::http::StatusCode::CREATED, "{stream}");
    let stream_id = stream["stream_id"].as_str().unwrap_or_default().to_owned();
    let remove = serde_json::json!({"stream_id": stream_id,
        "subject": {"format": "email", "email": "joe@example.com"}});
    let response = server
        .request(
            axum::http::Method::POST,
            &format!("/ssf/{ssf}/stream/subjects/remove"),
            &[("authorization", format!("Bearer {receiver}"))],
            Some(remove.to_string()),
        )
        .await;
    assert_eq!(response.status(), axum::http::StatusCode::NO_CONTENT);
    s.run(&["integrations", "stream", &ssf]).await;
    let json = s.run(&["integrations", "stream", &ssf, "--json"]).await;
    assert!(json.stdout.contains("\"backlog\""), "{}", json.stdout);
    assert_eq!(s.run(&["integrations", "delete", &id]).await.code, 0);
    assert_eq!(s.run(&["integrations", "get", &id]).await.code, 4);
    assert_eq!(s.run(&["integrations", "get", "not-a-uuid"]).await.code, 4);
    s.assert_snapshot("integrations");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_exit_codes_and_completions() {
    let server = TestServer::start().await;
    let mut s = Session::new(&server);
    let no_token = s
        .run_with(&["behaviors", "get"], &[("CLOUDFLARE_API_TOKEN", "")])
        .await;
    assert_eq!(no_token.code, 2);
    let no_account = s
        .run_with(&["users", "list"], &[("CLOUDFLARE_ACCOUNT_ID", "")])
        .await;
    assert_eq!(no_account.code, 2);
    assert_eq!(s.run(&["users", "list", "--account", "xyz"]).await.code, 2);
    let unknown = "a".repeat(40);
    assert_eq!(
        s.run(&["behaviors", "get", "--token", &unknown]).await.code,
        3
    );
    assert_eq!(
        s.run(&["behaviors", "get", "--token", "not a token"])
            .await
            .code,
        3
    );
    let other_account = "0".repeat(32);
    assert_eq!(
        s.run(&["behaviors", "get", "--account", &other_account])
            .await
            .code,
        3
    );
    let wrong_root = server.api_url().replace("/client/v4", "/v4");
    assert_eq!(
        s.run(&["behaviors", "get", "--base-url", &wrong_root])
            .await
            .code,
        4
    );
    assert_eq!(s.run(&["users", "list", "--per-page", "0"]).await.code, 1);
    assert_eq!(s.run(&["users", "lst"]).await.code, 2);
    s.assert_snapshot("errors");

    // Unreachable: retried, then exit 5 (not in the snapshot: the port is arbitrary).
    // Nothing listens on 127.0.0.2 (test servers bind 127.0.0.1): a port freed on 127.0.0.1
    // could be taken by another test's server before this command connects.
    let unused = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| std::net::SocketAddr::new([127, 0, 0, 2].into(), a.port()))
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let down = s
        .run(&[
            "behaviors",
            "get",
            "--base-url",
            &format!("http://{unused}/client/v4"),
        ])
        .await;
    assert_eq!(down.code, 5, "{}", down.stderr);
    assert!(down.stderr.contains("cannot reach"), "{}", down.stderr);
    assert!(
        down.stderr.contains("hint: is the server running"),
        "{}",
        down.stderr
    );

    for shell in ["bash", "zsh", "fish"] {
        let script = s.run(&["completions", shell]).await;
        assert_eq!(script.code, 0);
        assert!(
            [
                "integrations",
                "webhooks",
                "signing-keys",
                "deliveries",
                "base-url"
            ]
            .iter()
            .all(|word| script.stdout.contains(word)),
            "{shell}"
        );
    }
    let help = s.run(&["--help"]).await;
    assert!(help.stdout.contains("Exit codes:"), "{}", help.stdout);
}

/// A receiver on loopback: 410 for paths under `/gone`, 202 for any other POST. Returns its
/// base URL.
async fn receiver() -> String {
    let app = axum::Router::new().fallback(|uri: axum::http::Uri| async move {
        if uri.path().starts_with("/gone") {
            axum::http::StatusCode::GONE
        } else {
            axum::http::StatusCode::ACCEPTED
        }
    });
    let (listener, addr) = ztrisk_server::testing::listen().await;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// Waits until the destination at `rest` (`/webhooks/{id}` or `/integrations/{id}`) has
/// `count` deliveries, none pending.
async fn settled(server: &TestServer, rest: &str, count: usize) {
    let start = std::time::Instant::now();
    loop {
        let (_, body) = server
            .admin_call(
                ztrisk_client::reqwest::Method::GET,
                &format!("{rest}/deliveries"),
                None,
            )
            .await;
        let all = body["result"].as_array().cloned().unwrap_or_default();
        if all.len() >= count && all.iter().all(|d| d["status"] != "pending") {
            return;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "deliveries of {rest} did not settle: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The `id` of a command's `--json` output.
fn json_id(run: &Run) -> String {
    serde_json::from_str::<serde_json::Value>(&run.stdout)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no id in: {}{}", run.stdout, run.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_and_deliveries() {
    let server = TestServer::start().await;
    let url = receiver().await;
    let mut s = Session::new(&server);
    // Its port has 5 digits, like every ephemeral port.
    s.replace(&url, "http://127.0.0.1:<rcv>");
    s.run(&["webhooks", "list"]).await;
    let created = s
        .run(&["webhooks", "create", "--url", &format!("{url}/hook")])
        .await;
    assert_eq!(created.code, 0, "{}", created.stderr);
    assert!(
        created.stdout.contains("whsec_") && created.stdout.contains("will not be shown again"),
        "{}",
        created.stdout
    );
    let listed = s.run(&["webhooks", "list", "--json"]).await;
    let id = serde_json::from_str::<serde_json::Value>(&listed.stdout)
        .ok()
        .and_then(|v| v[0]["id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("listed: {}", listed.stdout));
    assert!(
        !listed.stdout.contains("whsec_"),
        "the secret is shown once"
    );
    let slack = s
        .run(&[
            "webhooks",
            "create",
            "--url",
            &format!("{url}/gone"),
            "--format",
            "slack",
            "--min-level",
            "high",
            "--inactive",
            "--json",
        ])
        .await;
    let slack = json_id(&slack);
    s.run(&["webhooks", "list"]).await;
    s.run(&["webhooks", "get", &id]).await;
    assert_eq!(s.run(&["webhooks", "test", &id]).await.code, 0);
    assert_eq!(s.run(&["webhooks", "test", &slack]).await.code, 1);
    s.run(&["webhooks", "deliveries", &id]).await;

    // A change of a user's level goes to the webhook and the integration.
    let integration = s
        .run(&["integrations", "create", "--tenant-url", &url, "--json"])
        .await;
    let integration = json_id(&integration);
    s.run(&[
        "behaviors",
        "set",
        "bad_badge",
        "--enable",
        "--level",
        "high",
    ])
    .await;
    std::fs::write(
        server.dir().join("change.ndjson"),
        r#"{"id": "c1", "type": "behavior", "behavior": "bad_badge", "timestamp": "2026-01-10T10:00:00Z", "user": {"email": "ana@example.com"}}"#,
    )
    .unwrap_or_else(|e| panic!("write: {e}"));
    assert_eq!(s.run(&["events", "send", "change.ndjson"]).await.code, 0);
    settled(&server, &format!("/webhooks/{id}"), 1).await;
    settled(&server, &format!("/integrations/{integration}"), 1).await;
    s.run(&["webhooks", "deliveries", &id]).await;
    s.run(&["integrations", "deliveries", &integration]).await;
    s.run(&[
        "integrations",
        "deliveries",
        &integration,
        "--page",
        "2",
        "--per-page",
        "1",
    ])
    .await;
    let json = s
        .run(&["integrations", "deliveries", &integration, "--json"])
        .await;
    let parsed: serde_json::Value =
        serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("--json: {e}"));
    assert_eq!(parsed[0]["status"], "delivered", "{parsed}");
    assert_eq!(parsed[0]["current_level"], "high", "{parsed}");

    s.run(&[
        "webhooks",
        "update",
        &id,
        "--min-level",
        "medium",
        "--active",
        "false",
    ])
    .await;

    // Errors: the field at fault, unknown ids, nothing to change.
    let refused = s
        .run(&["webhooks", "create", "--url", "http://example.com/x"])
        .await;
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("code 1001") && refused.stderr.contains("field: /url (--url)"),
        "{}",
        refused.stderr
    );
    assert_eq!(s.run(&["webhooks", "update", &id]).await.code, 2);
    let unknown = "00000000-0000-4000-8000-000000000000";
    let missing = s.run(&["webhooks", "get", unknown]).await;
    assert_eq!(missing.code, 4);
    assert!(
        missing.stderr.contains("`ztrisk webhooks list`"),
        "{}",
        missing.stderr
    );
    assert_eq!(
        s.run(&["integrations", "deliveries", unknown]).await.code,
        4
    );
    assert_eq!(
        s.run(&["webhooks", "deliveries", "not-a-uuid"]).await.code,
        4
    );
    assert_eq!(s.run(&["webhooks", "delete", &id]).await.code, 0);
    assert_eq!(s.run(&["webhooks", "test", &id]).await.code, 4);
    s.assert_snapshot("webhooks");
    server.shutdown().await;
}

/// The kids the server publishes in its JWKS.
async fn published(server: &TestServer) -> Vec<String> {
    let (_, jwks) = server
        .call_with(
            ztrisk_client::reqwest::Method::GET,
            "/.well-known/jwks.json",
            &[],
            None,
        )
        .await;
    jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["kid"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_keys_list_rotate_retire() {
    let server = TestServer::start().await;
    let database = server.database();
    let db = [("ZTRISK_DATABASE", database.as_str())];
    let mut s = Session::new(&server);
    // The server made the first key at its start.
    let first = published(&server).await;
    assert_eq!(first.len(), 1, "{first:?}");
    let first = first[0].clone();
    s.replace(&first, "<first kid>");
    s.run_with(&["signing-keys", "list"], &db).await;

    let rotated = s.run_with(&["signing-keys", "rotate", "--json"], &db).await;
    assert_eq!(rotated.code, 0, "{}", rotated.stderr);
    let rotated: serde_json::Value =
        serde_json::from_str(&rotated.stdout).unwrap_or_else(|e| panic!("--json: {e}"));
    assert_eq!(rotated["previous"], first.as_str());
    let second = rotated["kid"].as_str().unwrap_or_default().to_owned();
    s.replace(&second, "<second kid>");
    // The running server signs with the new key and still publishes the old one.
    assert_eq!(published(&server).await, [second.clone(), first.clone()]);

    let third = s.run_with(&["signing-keys", "rotate"], &db).await;
    assert_eq!(third.code, 0, "{}", third.stderr);
    let third_kid = third
        .stdout
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    s.replace(&third_kid, "<third kid>");
    s.run_with(&["signing-keys", "list"], &db).await;

    let active = s
        .run_with(&["signing-keys", "retire", &third_kid], &db)
        .await;
    assert_eq!(active.code, 1, "{}{}", active.stdout, active.stderr);
    assert!(active.stderr.contains("Rotate first"), "{}", active.stderr);
    let unknown = s
        .run_with(&["signing-keys", "retire", "no-such-kid"], &db)
        .await;
    // A kid is base64url: one that begins with `-` is still a kid (this made the test fail
    // about one run in twenty, whenever a generated kid began with `-`).
    let dashed = s
        .run_with(&["signing-keys", "retire", "-no-such-kid"], &db)
        .await;
    assert_eq!(dashed.code, 4, "{}", dashed.stderr);
    assert_eq!(unknown.code, 4, "{}", unknown.stderr);
    let retired = s.run_with(&["signing-keys", "retire", &first], &db).await;
    assert_eq!(retired.code, 0, "{}", retired.stderr);
    let retired = s.run_with(&["signing-keys", "retire", &first], &db).await;
    assert_eq!(retired.code, 0, "{}", retired.stderr);
    assert_eq!(
        published(&server).await,
        [third_kid.clone(), second.clone()]
    );
    s.run_with(&["signing-keys", "list"], &db).await;
    let json = s.run_with(&["signing-keys", "list", "--json"], &db).await;
    let keys: serde_json::Value =
        serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("--json: {e}"));
    let statuses: Vec<&str> = keys
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["status"].as_str())
        .collect();
    assert_eq!(statuses, ["active", "published", "retired"]);
    assert!(
        !json.stdout.contains("private") && !json.stdout.contains("BEGIN"),
        "never key material: {}",
        json.stdout
    );
    s.assert_snapshot("signing_keys");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_list_shows_cli_and_api_changes() {
    let server = TestServer::start().await;
    let database = server.database();
    let mut s = Session::new(&server);
    // Admin commands on the server's machine: changes made by `cli`.
    let created = admin(
        &database,
        &[
            "tokens",
            "create",
            "--account",
            &server.account_tag(),
            "--permission",
            "Zero Trust: PII Read",
            "--name",
            "auditor",
            "--json",
        ],
    )
    .await;
    let created: serde_json::Value =
        serde_json::from_str(&created.stdout).unwrap_or_else(|e| panic!("--json: {e}"));
    let auditor = created["token"].as_str().unwrap_or_default().to_owned();
    let ci = admin(
        &database,
        &[
            "tokens",
            "create",
            "--account",
            &server.account_tag(),
            "--permission",
            "Zero Trust Read",
            "--name",
            "ci",
            "--json",
        ],
    )
    .await;
    let ci: serde_json::Value =
        serde_json::from_str(&ci.stdout).unwrap_or_else(|e| panic!("--json: {e}"));
    let ci_id = ci["id"].as_str().unwrap_or_default().to_owned();
    admin(&database, &["tokens", "revoke", &ci_id]).await;
    // And changes through the API, with the server's admin token.
    let set = s
        .run(&[
            "behaviors",
            "set",
            "imp_travel",
            "--enable",
            "--level",
            "medium",
        ])
        .await;
    assert_eq!(set.code, 0, "{}", set.stderr);

    let as_auditor = [("CLOUDFLARE_API_TOKEN", auditor.as_str())];
    let listed = s.run_with(&["audit", "list"], &as_auditor).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(
        !listed.stdout.contains(&auditor) && !listed.stdout.contains(&server.admin),
        "never a token: {}",
        listed.stdout
    );
    s.run_with(
        &[
            "audit",
            "list",
            "--action",
            "token.create",
            "--per-page",
            "2",
        ],
        &as_auditor,
    )
    .await;
    let json = s
        .run_with(
            &["audit", "list", "--action", "token.revoke", "--json"],
            &as_auditor,
        )
        .await;
    let revoked: serde_json::Value =
        serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("--json: {e}"));
    assert_eq!(revoked[0]["actor"], "cli");
    assert_eq!(revoked[0]["target"], ci_id.as_str());
    let none = s
        .run_with(
            &["audit", "list", "--since", "2999-01-01T00:00:00Z"],
            &as_auditor,
        )
        .await;
    assert_eq!(none.code, 0, "{}", none.stderr);
    let typo = s
        .run_with(&["audit", "list", "--action", "user.delete"], &as_auditor)
        .await;
    assert_eq!(typo.code, 2);
    // Reading the log needs PII Read: a token with Zero Trust Read only is refused.
    let (reader, _) = server
        .token(
            &[server.account],
            &[ztrisk_core::Permission::ZeroTrustRead],
            None,
        )
        .await;
    let refused = s
        .run_with(
            &["audit", "list"],
            &[("CLOUDFLARE_API_TOKEN", reader.as_str())],
        )
        .await;
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    s.assert_snapshot("audit");
    server.shutdown().await;
}

/// Runs `ztrisk --database DB args...` without any server, returning its output.
async fn admin(database: &str, args: &[&str]) -> Run {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ztrisk"));
    command
        .arg("--database")
        .arg(database)
        .args(args)
        .env_remove("ZTRISK_DATABASE")
        .env_remove("RUST_LOG");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap_or_else(|e| panic!("join: {e}"))
        .unwrap_or_else(|e| panic!("running ztrisk: {e}"));
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert_eq!(run.code, 0, "ztrisk {args:?} failed:\n{}", run.stderr);
    run
}

/// Every entry of an account's audit log, newest first.
async fn audit_log(
    store: &dyn ztrisk_store::Store,
    account: ztrisk_core::AccountId,
) -> Vec<ztrisk_store::model::AuditRecord> {
    let everything = ztrisk_store::model::AuditQuery {
        since: None,
        action: None,
        paging: ztrisk_store::model::Paging {
            page: 1,
            per_page: 1000,
        },
    };
    store
        .audit_log(account, everything)
        .await
        .unwrap_or_else(|e| panic!("audit log: {e}"))
        .items
}

/// A dump without its header line (which carries the export time).
fn dump_body(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().skip(1).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn export_import_round_trip_through_postgres() {
    let server = TestServer::start().await;
    let mut s = Session::new(&server);
    // A populated installation: a day of demo events, a reset, an integration, a key.
    assert_eq!(s.run(&["demo", "--users", "12"]).await.code, 0);
    let users = s.run(&["users", "list", "--json"]).await;
    let listed: serde_json::Value = serde_json::from_str(&users.stdout).unwrap_or_default();
    let first = listed["users"][0]["user_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(s.run(&["users", "reset", &first]).await.code, 0);
    let create = [
        "integrations",
        "create",
        "--tenant-url",
        "https://acme.okta.com",
    ];
    assert_eq!(s.run(&create).await.code, 0);
    let database = server.database();
    admin(
        &database,
        &[
            "keys",
            "create",
            "--email",
            "ops@example.com",
            "--account",
            &server.account_tag(),
        ],
    )
    .await;

    let Some(schema) =
        ztrisk_store::testing::PgSchema::create_or_skip("export/import round trip").await
    else {
        return;
    };
    let dir = server.dir();
    let first_dump = dir.join("from-sqlite.dump");
    admin(
        &database,
        &["export", "--output", &first_dump.to_string_lossy()],
    )
    .await;
    admin(schema.url(), &["import", &first_dump.to_string_lossy()]).await;
    let second_dump = dir.join("from-postgres.dump");
    admin(
        schema.url(),
        &["export", "--output", &second_dump.to_string_lossy()],
    )
    .await;
    let back = dir.join("back.db").to_string_lossy().into_owned();
    admin(&back, &["import", &second_dump.to_string_lossy()]).await;
    let third_dump = dir.join("back.dump");
    admin(
        &back,
        &["export", "--output", &third_dump.to_string_lossy()],
    )
    .await;

    let original = dump_body(&first_dump);
    assert!(original.contains("\"risk_events\"") && original.lines().count() > 100);
    // The audit log moves too.
    assert!(
        original.contains("\"audit_log\""),
        "no audit log in the dump"
    );
    for action in ["user.reset", "integration.create", "api_key.set"] {
        assert!(
            original.contains(&format!("\"{action}\"")),
            "{action} is not in the dump"
        );
    }
    assert_eq!(
        original,
        dump_body(&second_dump),
        "SQLite -> PostgreSQL changed something"
    );
    assert_eq!(
        original,
        dump_body(&third_dump),
        "PostgreSQL -> SQLite changed something"
    );

    // The moved installation works: the same token reads the same summary, new writes get
    // fresh keys, and importing twice is refused.
    let moved = ztrisk_store::PostgresStore::connect(schema.url(), Default::default())
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    let hash = SecretHash::of(&server.admin);
    assert!(moved.token_by_hash(&hash).await.ok().flatten().is_some());
    let before = audit_log(server.store.as_ref(), server.account).await;
    assert!(
        before.iter().any(|e| e.action == "user.reset"),
        "{before:?}"
    );
    assert_eq!(audit_log(&moved, server.account).await, before);
    moved
        .create_account("after import", &Actor::Cli)
        .await
        .unwrap_or_else(|e| panic!("new account: {e}"));
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_ztrisk"))
        .args([
            "--database",
            schema.url(),
            "import",
            &first_dump.to_string_lossy(),
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("empty database"));
    drop(moved);
    schema.drop_schema().await;
}

/// `events import` of Logpush `gateway_dns` objects: how many records, and which are special.
const DNS_RECORDS: u64 = 100_000;
/// Records that are not JSON, or miss a field a scored query needs: rejected alone.
const DNS_REJECTED: [u64; 3] = [12_345, 54_321, 99_999];

/// One `gateway_dns` record as Logpush writes it: record `r` is a Technology query (skipped)
/// unless `r % 100 == 7`, a Malware query (id 117, scored) by one of ten users. Records are
/// 0.6 s apart from midnight of [`EVENT_DAY`], so each user's Malware queries are 10 minutes
/// apart.
fn dns_record(r: u64) -> String {
    let day = chrono::DateTime::parse_from_rfc3339(&format!("{EVENT_DAY}T00:00:00Z"))
        .unwrap_or_else(|e| panic!("{e}"))
        .timestamp() as u64;
    let nanos = day * 1_000_000_000 + r * 600_000_000;
    let scored = r % 100 == 7 || r == DNS_REJECTED[1];
    let (ids, names) = if scored {
        ("[117]", "[]")
    } else {
        ("[26]", r#"["Technology"]"#)
    };
    let user = (r / 100) % 10;
    let query = if r == DNS_REJECTED[1] {
        String::new()
    } else {
        format!(r#""QueryName": "host{r}.example", "#)
    };
    let ids = if r == DNS_REJECTED[2] {
        r#"["x"]"#
    } else {
        ids
    };
    let record = format!(
        r#"{{"ColoCode": "SJC", "Datetime": "{nanos}", "DeviceID": "083a8354-d56c-11ed-9771-6a842b100cff", "Email": "user{user}@example.com", "Location": "Office NYC", "Policy": "", "PolicyID": "", "QueryCategoryIDs": {ids}, "QueryCategoryNames": {names}, "QueryID": "q-{r}", {query}"QueryType": 1, "QueryTypeName": "A", "RCode": 0, "ResolverDecision": "allowedOnNoPolicyMatch", "SrcIP": "198.51.100.7"}}"#
    );
    if r == DNS_REJECTED[0] {
        record[..40].to_owned()
    } else {
        record
    }
}

/// Writes [`DNS_RECORDS`] records gzip, with a blank line every 10,000 records (blank lines
/// are no records, so record indexes and line numbers differ).
fn write_dns_log(path: &std::path::Path) {
    use std::io::Write;
    let file = std::fs::File::create(path).unwrap_or_else(|e| panic!("{e}"));
    let mut gz =
        flate2::write::GzEncoder::new(std::io::BufWriter::new(file), flate2::Compression::fast());
    for r in 0..DNS_RECORDS {
        if r % 10_000 == 0 {
            gz.write_all(b"\n").unwrap_or_else(|e| panic!("{e}"));
        }
        writeln!(gz, "{}", dns_record(r)).unwrap_or_else(|e| panic!("{e}"));
    }
    gz.finish()
        .and_then(|mut w| w.flush())
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_import_of_a_large_gzip_logpush_file() {
    let server = TestServer::start().await;
    let mut s = Session::new(&server);
    let enabled = s
        .run(&["behaviors", "set", "suspicious_security_domain", "--enable"])
        .await;
    assert_eq!(enabled.code, 0, "{}", enabled.stderr);
    let path = server.dir().join("dns-20260110.log.gz");
    write_dns_log(&path);
    let file = "dns-20260110.log.gz";

    let started = std::time::Instant::now();
    let first = s
        .run(&[
            "events",
            "import",
            "--format",
            "cloudflare/gateway_dns",
            file,
            "--json",
        ])
        .await;
    let elapsed = started.elapsed();
    assert_eq!(first.code, 0, "{}", first.stderr);
    let summary: serde_json::Value =
        serde_json::from_str(&first.stdout).unwrap_or_else(|e| panic!("{e}: {}", first.stdout));
    // 1,000 Malware queries of ten users each 10 minutes apart: repeat suppression lets one
    // an hour through, 17 per user.
    assert_eq!(summary["sent"], DNS_RECORDS, "{summary}");
    assert_eq!(summary["accepted"], 1_000, "{summary}");
    assert_eq!(summary["duplicates"], 0, "{summary}");
    assert_eq!(summary["skipped"], DNS_RECORDS - 1_000 - 3, "{summary}");
    assert_eq!(summary["risk_events"], 170, "{summary}");
    let rejected = summary["rejected"].as_array().cloned().unwrap_or_default();
    let positions: Vec<(&str, u64)> = rejected
        .iter()
        .map(|r| {
            (
                r["file"].as_str().unwrap_or_default(),
                r["index"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(positions, DNS_REJECTED.map(|index| (file, index)));
    let errors: Vec<&str> = rejected
        .iter()
        .map(|r| r["errors"].as_str().unwrap_or_default())
        .collect();
    assert!(errors[0].contains("malformed JSON"), "{errors:?}");
    // Pointers are within the record, not the batch.
    assert!(errors[1].contains("(at /QueryName)"), "{errors:?}");
    assert!(errors[2].contains("(at /QueryCategoryIDs"), "{errors:?}");

    // The data reached the server: ten users at risk, 170 risk events between them.
    let (_, body) = server
        .admin_call(ztrisk_client::reqwest::Method::GET, "/summary", None)
        .await;
    let users = body["result"]["users"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(users.len(), 10, "{body}");
    let risk_events: u64 = users
        .iter()
        .map(|u| u["event_count"].as_u64().unwrap_or_default())
        .sum();
    assert_eq!(risk_events, 170, "{body}");

    // Again: adapters give records stable ids, so nothing is stored twice.
    let second = s
        .run(&[
            "events",
            "import",
            "--format",
            "cloudflare/gateway_dns",
            file,
        ])
        .await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    let mut lines = second.stdout.lines();
    assert_eq!(
        lines.next(),
        Some(
            "sent 100000 records: 0 accepted, 1000 duplicates, 98997 skipped, 3 rejected; \
             0 risk events detected"
        ),
        "{}",
        second.stdout
    );
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("  dns-20260110.log.gz record 12345: ")),
        "{}",
        second.stdout
    );
    eprintln!("importing {DNS_RECORDS} records took {elapsed:?}");
    server.shutdown().await;
}

/// An Okta LogEvent as the System Log API exports it.
fn okta_event(uuid: &str, event_type: &str, result: &str, published: &str) -> serde_json::Value {
    serde_json::json!({
      "uuid": uuid, "published": published, "eventType": event_type, "version": "0",
      "severity": "INFO", "displayMessage": "User login to Okta",
      "actor": {"id": "00uttidj01jqL21aM1d6", "type": "User",
                "alternateId": "jane.doe@example.com", "displayName": "Jane Doe"},
      "client": {"userAgent": {"browser": "CHROME"}, "zone": "null", "device": "Computer",
                 "ipAddress": "198.51.100.7",
                 "geographicalContext": {"city": "New York", "state": "New York",
                                         "country": "United States", "postalCode": "10013",
                                         "geolocation": {"lat": 40.7157, "lon": -74.01}}},
      "outcome": {"result": result, "reason": "INVALID_CREDENTIALS"},
      "target": [],
      "transaction": {"type": "WEB", "id": "ab609228fe84ce59cdcbfa690bcce016", "detail": {}}
    })
}

/// An OCSF Authentication event (class 3002), or another class when `class_uid` differs.
fn ocsf_event(uid: &str, class_uid: u32) -> String {
    serde_json::json!({
        "class_uid": class_uid, "class_name": "Authentication", "category_uid": 3,
        "activity_id": 1, "time": 1_768_039_200_000u64, "status_id": 2, "status": "Failure",
        "metadata": {"uid": uid, "version": "1.3.0",
                     "product": {"name": "Okta System Log", "vendor_name": "Okta"}},
        "user": {"email_addr": "ben@example.com", "name": "Ben"},
        "src_endpoint": {"ip": "203.0.113.9",
                         "location": {"city": "Lagos", "country": "NG", "lat": 6.4541, "long": 3.3947}},
        "service": {"name": "Okta"}
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_import_okta_export_and_ocsf() {
    let server = TestServer::start().await;
    let mut s = Session::new(&server);
    let enabled = s
        .run(&[
            "behaviors",
            "set",
            "failed_logins",
            "--enable",
            "--setting",
            "threshold=2",
        ])
        .await;
    assert_eq!(enabled.code, 0, "{}", enabled.stderr);
    // A System Log export: a pretty-printed JSON array, each LogEvent over many lines.
    let export = serde_json::json!([
        okta_event(
            "okta-1",
            "user.session.start",
            "FAILURE",
            "2026-01-10T09:00:00.000Z"
        ),
        okta_event(
            "okta-2",
            "user.session.start",
            "FAILURE",
            "2026-01-10T09:01:00.000Z"
        ),
        okta_event(
            "okta-3",
            "user.session.start",
            "SUCCESS",
            "2026-01-10T09:02:00.000Z"
        ),
        okta_event(
            "okta-4",
            "user.session.end",
            "SUCCESS",
            "2026-01-10T09:03:00.000Z"
        ),
        okta_event("okta-5", "user.session.start", "FAILURE", "yesterday"),
    ]);
    let export = serde_json::to_string_pretty(&export).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(server.dir().join("okta-system-log.json"), export)
        .unwrap_or_else(|e| panic!("{e}"));
    let okta = s
        .run(&[
            "events",
            "import",
            "--format",
            "okta",
            "okta-system-log.json",
        ])
        .await;
    assert_eq!(okta.code, 0, "{}", okta.stderr);
    assert!(
        okta.stdout
            .starts_with("sent 5 records: 3 accepted, 0 duplicates, 1 skipped, 1 rejected;"),
        "{}",
        okta.stdout
    );
    // Two failed logins within the window: Jane is at risk.
    let (_, summary) = server
        .admin_call(ztrisk_client::reqwest::Method::GET, "/summary", None)
        .await;
    assert!(
        summary.to_string().contains("jane.doe@example.com"),
        "{summary}"
    );

    // OCSF as NDJSON, gzip under a name without `.gz`: recognised by its content.
    let ndjson = [
        ocsf_event("ocsf-1", 3002),
        String::new(),
        ocsf_event("ocsf-2", 4001),
        ocsf_event("ocsf-3", 3002).replace("1768039200000", "\"later\""),
    ]
    .join("\n");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, ndjson.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let gz = gz.finish().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(server.dir().join("auth.ocsf"), gz).unwrap_or_else(|e| panic!("{e}"));
    let ocsf = s
        .run(&["events", "import", "--format", "ocsf", "auth.ocsf"])
        .await;
    assert_eq!(ocsf.code, 0, "{}", ocsf.stderr);
    s.assert_snapshot("events_import");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_import_refuses_an_unknown_format_and_missing_files() {
    let server = TestServer::start().await;
    let mut s = Session::new(&server);
    let bad = s
        .run(&["events", "import", "--format", "gateway_dns", "dns.log.gz"])
        .await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    for expected in [
        "invalid value 'gateway_dns' for '--format <FORMAT>'",
        "cloudflare/access_requests",
        "cloudflare/gateway_dns",
        "cloudflare/gateway_http",
        "cloudflare/device_posture_results",
        "okta",
        "ocsf",
        "ztrisk",
    ] {
        assert!(bad.stderr.contains(expected), "{expected}: {}", bad.stderr);
    }
    let missing = s
        .run(&["events", "import", "--format", "okta", "missing.json"])
        .await;
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("cannot read missing.json"),
        "{}",
        missing.stderr
    );
    let none = s.run(&["events", "import", "--format", "okta"]).await;
    assert_eq!(none.code, 2, "{}", none.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_confirm_compromised() {
    let server = TestServer::start().await;
    let mut s = Session::new(&server);
    assert_eq!(
        s.run(&[
            "behaviors",
            "set",
            "bad_badge",
            "--enable",
            "--level",
            "low"
        ])
        .await
        .code,
        0
    );
    std::fs::write(
        server.dir().join("badge.ndjson"),
        r#"{"id": "b1", "type": "behavior", "behavior": "bad_badge", "timestamp": "2026-01-10T10:00:00Z", "user": {"email": "lou@example.com"}}"#,
    )
    .unwrap_or_else(|e| panic!("write: {e}"));
    assert_eq!(s.run(&["events", "send", "badge.ndjson"]).await.code, 0);
    let confirmed = s
        .run(&[
            "users",
            "confirm-compromised",
            "lou@example.com",
            "--reason",
            "badge cloned",
        ])
        .await;
    assert_eq!(confirmed.code, 0, "{}", confirmed.stderr);
    assert!(
        confirmed.stdout.starts_with("confirmed lou@example.com (")
            && confirmed
                .stdout
                .contains("compromised: high until the next reset"),
        "{}",
        confirmed.stdout
    );
    let shown = s.run(&["users", "show", "lou@example.com", "--json"]).await;
    let shown: serde_json::Value =
        serde_json::from_str(&shown.stdout).unwrap_or_else(|e| panic!("--json: {e}"));
    assert_eq!(shown["risk_level"], "high", "{shown}");
    assert_eq!(
        shown["events"][0]["event_details"]["reason"],
        "badge cloned"
    );
    let unknown = s
        .run(&[
            "users",
            "confirm-compromised",
            "6d1a3a3c-8f5e-4b55-9a59-0f5b8f8a6d11",
        ])
        .await;
    assert_eq!(unknown.code, 4, "{}", unknown.stderr);
    // Tokens may begin with `-` too: a wrong one is refused by the server (3), not by the
    // command line's parser (2).
    let dashed = s
        .run(&[
            "behaviors",
            "get",
            "--token",
            "-not-a-valid-token-but-a-value-0000000",
        ])
        .await;
    assert_eq!(dashed.code, 3, "{}", dashed.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behaviors_set_takes_list_and_boolean_settings() {
    let server = TestServer::start().await;
    let mut s = Session::new(&server);
    let set = s
        .run(&[
            "behaviors",
            "set",
            "imp_travel",
            "--setting",
            "trusted_networks=10.0.0.0/8, 203.0.113.0/24",
            "--setting",
            "exclude_users=svc-*@example.com",
            "--setting",
            "monitor_only=true",
        ])
        .await;
    assert_eq!(set.code, 0, "{}", set.stderr);
    let shown = s.run(&["behaviors", "get", "--json"]).await;
    let shown: serde_json::Value =
        serde_json::from_str(&shown.stdout).unwrap_or_else(|e| panic!("--json: {e}"));
    let settings = &shown["behaviors"]["imp_travel"]["settings"];
    assert_eq!(
        settings["trusted_networks"],
        serde_json::json!(["10.0.0.0/8", "203.0.113.0/24"]),
        "{shown}"
    );
    assert_eq!(
        settings["exclude_users"],
        serde_json::json!(["svc-*@example.com"])
    );
    assert_eq!(settings["monitor_only"], true);
    let table = s.run(&["behaviors", "get"]).await;
    assert!(
        table
            .stdout
            .contains("trusted_networks=10.0.0.0/8,203.0.113.0/24")
            && !table.stdout.contains("expire_after_days"),
        "{}",
        table.stdout
    );
    let bad = s
        .run(&[
            "behaviors",
            "set",
            "imp_travel",
            "--setting",
            "trusted_networks=nope",
        ])
        .await;
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(bad.stderr.contains("trusted_networks/0"), "{}", bad.stderr);
}

// ---- serve over TLS -------------------------------------------------------------------------

/// Kills the server it holds if a test ends early (on failure).
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(child: &Child, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &child.0.id().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("kill: {e}"));
    assert!(status.success(), "kill -{name} failed");
}

fn https_client(ca: &ztrisk_server::testing::TestCa) -> reqwest::Client {
    let root =
        reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap_or_else(|e| panic!("CA: {e}"));
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(root)
        .tls_info(true)
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"))
}

/// The certificate the server shows to a new connection of `client`, if it is trusted.
async fn shown_certificate(client: &reqwest::Client, url: &str) -> Option<Vec<u8>> {
    let response = client.get(url).send().await.ok()?;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .map(<[u8]>::to_vec)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_over_tls_reloads_the_certificate_on_sighup() {
    use std::io::BufRead;
    use ztrisk_server::testing::TestCa;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let write_pair = |pair: &ztrisk_server::testing::Issued| {
        std::fs::write(&cert, &pair.cert_pem).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&key, &pair.key_pem).unwrap_or_else(|e| panic!("{e}"));
    };
    let first_ca = TestCa::new("first CA");
    write_pair(&first_ca.issue(&["localhost", "127.0.0.1"]));
    let log = dir.path().join("stderr.log");
    let mut child = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_ztrisk"))
            .arg("--database")
            .arg(dir.path().join("ztrisk.db"))
            .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .env_remove("ZTRISK_DATABASE")
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap_or_else(|e| panic!("{e}")))
            .spawn()
            .unwrap_or_else(|e| panic!("starting ztrisk serve: {e}")),
    );
    let stdout = child.0.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let logged = || std::fs::read_to_string(&log).unwrap_or_default();
    // The banner of a first start comes first; then the address, with the scheme.
    let listening = tokio::task::spawn_blocking(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| line.strip_prefix("ztrisk listening on ").map(str::to_owned))
    });
    let base = tokio::time::timeout(std::time::Duration::from_secs(60), listening)
        .await
        .unwrap_or_else(|_| panic!("ztrisk serve did not start:\n{}", logged()))
        .unwrap_or_else(|e| panic!("join: {e}"))
        .unwrap_or_else(|| panic!("ztrisk serve exited:\n{}", logged()));
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let url = format!("{base}/healthz");

    let kept = https_client(&first_ca);
    assert!(
        shown_certificate(&kept, &url).await.is_some(),
        "{}",
        logged()
    );

    let second_ca = TestCa::new("second CA");
    let second = second_ca.issue(&["localhost", "127.0.0.1"]);
    write_pair(&second);
    signal(&child, "HUP");
    let mut seen = None;
    for _ in 0..100 {
        seen = shown_certificate(&https_client(&second_ca), &url).await;
        if seen.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(seen, Some(second.cert_der.clone()), "{}", logged());
    // The connection opened before the reload still serves.
    assert!(shown_certificate(&kept, &url).await.is_some());

    // A broken pair is logged and the one in force kept; the server lives on.
    std::fs::write(&key, "garbage\n").unwrap_or_else(|e| panic!("{e}"));
    signal(&child, "HUP");
    let mut complained = false;
    for _ in 0..100 {
        complained = logged().contains("keeping the previous ones");
        if complained {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(complained, "{}", logged());
    assert_eq!(
        shown_certificate(&https_client(&second_ca), &url).await,
        Some(second.cert_der.clone())
    );

    signal(&child, "TERM");
    let mut status = None;
    for _ in 0..150 {
        status = child.0.try_wait().unwrap_or_else(|e| panic!("{e}"));
        if status.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}\n{}",
        logged()
    );
}
