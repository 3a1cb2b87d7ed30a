//! The behaviors contract and every row of the error table these endpoints can produce.

use crate::support::{self, Fault, TestServer, codes};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ztrisk_core::{AccountId, Permission};
use ztrisk_server::ServerConfig;
use ztrisk_store::prelude::*;

const SEED: &str = r#"{"behaviors": {"foo": {"enabled": true, "risk_level": "low"}}}"#;

#[tokio::test]
async fn the_seed_example_works_under_both_base_paths() {
    let server = TestServer::start().await;
    for base in ["/client/v4", ""] {
        let (status, body) = server
            .call(
                Method::PUT,
                &format!(
                    "{base}/accounts/{}/zt_risk_scoring/behaviors",
                    server.account
                ),
                &server.admin,
                Some(SEED),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["success"], true);
        assert_eq!(body["errors"], json!([]));
        assert_eq!(body["messages"], json!([]));
        assert_eq!(body["result"]["behaviors"]["foo"]["enabled"], true);
        assert_eq!(body["result"]["behaviors"]["foo"]["risk_level"], "low");
        assert_eq!(body["result"]["behaviors"]["foo"]["name"], "foo");
    }
    let (_, body) = server.get_behaviors(&server.admin).await;
    assert_eq!(body["result"]["behaviors"]["foo"]["risk_level"], "low");
}

#[tokio::test]
async fn get_lists_every_predefined_behavior_in_a_stable_order() {
    let server = TestServer::start().await;
    server.put_behaviors(&server.admin, r#"{"behaviors": {"zed": {"enabled": false, "risk_level": "high"}, "abc": {"enabled": true, "risk_level": "medium"}}}"#).await;
    let raw = server
        .raw_get(&server.behaviors_path(), &server.admin)
        .await;
    let ids = keys_in_order(&raw, "\"behaviors\":{");
    assert_eq!(
        ids,
        [
            "imp_travel",
            "high_dlp",
            "failed_logins",
            "sentinel_one",
            "crowdstrike_low_zta",
            "crowdstrike_medium_zta",
            "malicious_file",
            "suspicious_security_domain",
            "high_risk_domain",
            "abc",
            "zed"
        ]
    );
    let body: Value = serde_json::from_str(&raw).unwrap_or_default();
    let behaviors = &body["result"]["behaviors"];
    assert_eq!(behaviors["imp_travel"]["name"], "Impossible Travel");
    assert_eq!(behaviors["imp_travel"]["enabled"], false);
    assert_eq!(behaviors["imp_travel"]["risk_level"], "high");
    assert_eq!(
        behaviors["imp_travel"]["settings"],
        json!({"max_speed_kmh": 900, "min_distance_km": 100})
    );
    assert_eq!(
        behaviors["high_dlp"]["settings"],
        json!({"threshold": 15, "window_seconds": 60})
    );
    assert_eq!(
        behaviors["failed_logins"]["settings"],
        json!({"threshold": 10, "window_seconds": 300})
    );
    assert_eq!(
        behaviors["crowdstrike_medium_zta"]["settings"],
        json!({"max_score": 79})
    );
    assert_eq!(behaviors["high_risk_domain"]["risk_level"], "low");
    assert!(behaviors["sentinel_one"].get("settings").is_none());
}

/// The object keys that follow `marker` in a JSON text, in the order they were written.
fn keys_in_order(raw: &str, marker: &str) -> Vec<String> {
    let start = raw.find(marker).map(|i| i + marker.len()).unwrap_or(0);
    let mut keys = Vec::new();
    let mut depth = 0;
    let mut chars = raw[start..].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            '"' => {
                let rest = &raw[start + i + 1..];
                let end = rest.find('"').unwrap_or(0);
                if depth == 0 && rest[end + 1..].starts_with(':') {
                    keys.push(rest[..end].to_owned());
                }
                for _ in 0..=end {
                    chars.next();
                }
            }
            _ => {}
        }
    }
    keys
}

#[tokio::test]
async fn put_merges_and_tunes_settings() {
    let server = TestServer::start().await;
    server.put_behaviors(&server.admin, r#"{"behaviors": {"imp_travel": {"enabled": true, "risk_level": "medium", "settings": {"max_speed_kmh": 1200}}, "foo": {"enabled": true, "risk_level": "low"}}}"#).await;
    let (status, body) = server.put_behaviors(&server.admin, r#"{"behaviors": {"imp_travel": {"enabled": false, "risk_level": "low", "settings": {"min_distance_km": 50.5}}}}"#).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let result = &body["result"]["behaviors"];
    assert_eq!(
        result["foo"]["enabled"], true,
        "ids left out keep their settings"
    );
    assert_eq!(result["imp_travel"]["enabled"], false);
    assert_eq!(result["imp_travel"]["risk_level"], "low");
    assert_eq!(
        result["imp_travel"]["settings"],
        json!({"max_speed_kmh": 1200, "min_distance_km": 50.5})
    );
    let (_, empty) = server
        .put_behaviors(&server.admin, r#"{"behaviors": {}}"#)
        .await;
    assert_eq!(empty["result"], body["result"], "{{}} is a no-op");
}

#[tokio::test]
async fn a_bad_entry_changes_nothing_and_every_problem_is_reported() {
    let server = TestServer::start().await;
    let (_, before) = server.get_behaviors(&server.admin).await;
    let (status, body) = server
        .put_behaviors(
            &server.admin,
            r#"{"behaviors": {
                "high_dlp": {"enabled": true, "risk_level": "high"},
                "imp_travel": {"enabled": true, "risk_level": "severe"},
                "failed_logins": {"enabled": "yes", "risk_level": "low", "settings": {"threshold": 0, "bogus": 1}},
                "Not-An-Id": {"enabled": true, "risk_level": "low"},
                "sentinel_one": {"risk_level": "low"}
            }}"#,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["success"], false);
    assert_eq!(body["result"], Value::Null);
    let mut pointers: Vec<String> = body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            assert_eq!(e["code"], 1001, "{e}");
            assert!(e["message"].as_str().is_some_and(|m| m.len() > 20), "{e}");
            e["source"]["pointer"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    pointers.sort();
    assert_eq!(
        pointers,
        [
            "/behaviors/Not-An-Id",
            "/behaviors/failed_logins/enabled",
            "/behaviors/failed_logins/settings/bogus",
            "/behaviors/failed_logins/settings/threshold",
            "/behaviors/imp_travel/risk_level",
            "/behaviors/sentinel_one/enabled",
        ]
    );
    let (_, after) = server.get_behaviors(&server.admin).await;
    assert_eq!(
        before, after,
        "the valid high_dlp entry must not have been applied"
    );
}

#[tokio::test]
async fn shape_errors_point_at_the_field() {
    let server = TestServer::start().await;
    for (body, pointer) in [
        ("{}", "/behaviors"),
        (r#"{"behaviors": []}"#, "/behaviors"),
        (
            r#"{"behaviors": {"foo": {"enabled": true, "risk_level": "low", "settings": {"x": 1}}}}"#,
            "/behaviors/foo/settings/x",
        ),
        ("[]", ""),
    ] {
        let (status, response) = server.put_behaviors(&server.admin, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(codes(&response), [1001]);
        assert_eq!(
            response["errors"][0]["source"]["pointer"], pointer,
            "{body}"
        );
    }
}

/// Headers sent, expected status, expected codes, expected `error_chain` code.
type CredentialCase = (
    Vec<(&'static str, String)>,
    StatusCode,
    Vec<u32>,
    Option<u32>,
);

#[tokio::test]
async fn credentials_errors() {
    let server = TestServer::start().await;
    let path = server.behaviors_path();
    let cases: Vec<CredentialCase> = vec![
        (vec![], StatusCode::BAD_REQUEST, vec![9106], None),
        (
            vec![("x-auth-email", "a@example.com".into())],
            StatusCode::BAD_REQUEST,
            vec![9106],
            None,
        ),
        (
            vec![("authorization", "Basic abc".into())],
            StatusCode::BAD_REQUEST,
            vec![6003],
            Some(6111),
        ),
        (
            vec![("authorization", "Bearer short".into())],
            StatusCode::BAD_REQUEST,
            vec![6003],
            Some(6111),
        ),
        (
            vec![
                ("x-auth-email", "a@example.com".into()),
                ("x-auth-key", "nothex".into()),
            ],
            StatusCode::BAD_REQUEST,
            vec![6003],
            Some(6103),
        ),
        (
            vec![
                ("x-auth-email", "not-an-email".into()),
                ("x-auth-key", "0".repeat(37)),
            ],
            StatusCode::BAD_REQUEST,
            vec![6003],
            Some(6102),
        ),
        (
            vec![("authorization", format!("Bearer {}", "A".repeat(40)))],
            StatusCode::FORBIDDEN,
            vec![10000],
            None,
        ),
        (
            vec![
                ("x-auth-email", server.key_email.clone()),
                ("x-auth-key", "0".repeat(37)),
            ],
            StatusCode::FORBIDDEN,
            vec![10000],
            None,
        ),
        (
            vec![
                ("x-auth-email", "nobody@example.com".into()),
                ("x-auth-key", "0".repeat(37)),
            ],
            StatusCode::FORBIDDEN,
            vec![10000],
            None,
        ),
        // Authorization decides when present, even beside a valid key (the TypeScript SDK sends both).
        (
            vec![
                ("authorization", format!("Bearer {}", "A".repeat(40))),
                ("x-auth-email", server.key_email.clone()),
                ("x-auth-key", server.key.clone()),
            ],
            StatusCode::FORBIDDEN,
            vec![10000],
            None,
        ),
    ];
    for (headers, status, expected, chain) in cases {
        let (got_status, body) = server.call_with(Method::GET, &path, &headers, None).await;
        assert_eq!(got_status, status, "{headers:?}: {body}");
        assert_eq!(codes(&body), expected, "{headers:?}: {body}");
        assert_eq!(
            body["errors"][0]["error_chain"][0]["code"]
                .as_u64()
                .map(|c| c as u32),
            chain,
            "{body}"
        );
    }
    let (status, _) = server
        .call_with(
            Method::GET,
            &path,
            &[
                ("x-auth-email", server.key_email.to_uppercase()),
                ("x-auth-key", server.key.clone()),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "emails are case-insensitive");
}

#[tokio::test]
async fn revoked_and_expired_credentials_stop_working_at_once() {
    let server = TestServer::start().await;
    let (token, id) = server
        .token(&[server.account], &[Permission::ZeroTrustRead], None)
        .await;
    assert_eq!(server.get_behaviors(&token).await.0, StatusCode::OK);
    assert!(
        server
            .store
            .revoke_token(&id, &Actor::Cli)
            .await
            .unwrap_or(false)
    );
    let (status, body) = server.get_behaviors(&token).await;
    assert_eq!((status, codes(&body)), (StatusCode::FORBIDDEN, vec![10000]));

    let past = chrono::Utc::now() - chrono::Duration::seconds(1);
    let (expired, _) = server
        .token(&[server.account], &[Permission::ZeroTrustRead], Some(past))
        .await;
    let (status, body) = server.get_behaviors(&expired).await;
    assert_eq!((status, codes(&body)), (StatusCode::FORBIDDEN, vec![10000]));

    let key_headers = [
        ("x-auth-email", server.key_email.clone()),
        ("x-auth-key", server.key.clone()),
    ];
    let path = server.behaviors_path();
    assert_eq!(
        server
            .call_with(Method::GET, &path, &key_headers, None)
            .await
            .0,
        StatusCode::OK
    );
    assert!(
        server
            .store
            .revoke_api_key(&server.key_email, &Actor::Cli)
            .await
            .unwrap_or(false)
    );
    let (status, body) = server
        .call_with(Method::GET, &path, &key_headers, None)
        .await;
    assert_eq!((status, codes(&body)), (StatusCode::FORBIDDEN, vec![10000]));
}

#[tokio::test]
async fn accounts_and_permissions_are_enforced() {
    let server = TestServer::start().await;
    let other = server
        .store
        .create_account("other", &Actor::Cli)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (other_token, _) = server
        .token(&[other.id], &[Permission::ZeroTrustWrite], None)
        .await;
    // Another account's token: the same 403 whether the target account exists or not.
    let existing = server
        .call(Method::GET, &server.behaviors_path(), &other_token, None)
        .await;
    let missing_path = format!(
        "/client/v4/accounts/{}/zt_risk_scoring/behaviors",
        AccountId::random()
    );
    let missing = server
        .call(Method::GET, &missing_path, &other_token, None)
        .await;
    assert_eq!(existing.0, StatusCode::FORBIDDEN);
    assert_eq!(codes(&existing.1), [9109]);
    assert_eq!(existing, missing);

    let (reader, _) = server
        .token(&[server.account], &[Permission::ZeroTrustRead], None)
        .await;
    assert_eq!(server.get_behaviors(&reader).await.0, StatusCode::OK);
    let (status, body) = server.put_behaviors(&reader, SEED).await;
    assert_eq!((status, codes(&body)), (StatusCode::FORBIDDEN, vec![9109]));
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("Zero Trust Write"), "{message}");

    let (pii, _) = server
        .token(&[server.account], &[Permission::ZeroTrustPiiRead], None)
        .await;
    let (status, body) = server.get_behaviors(&pii).await;
    assert_eq!((status, codes(&body)), (StatusCode::FORBIDDEN, vec![9109]));
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Zero Trust Read")
    );

    let (writer, _) = server
        .token(&[server.account], &[Permission::ZeroTrustWrite], None)
        .await;
    assert_eq!(
        server.get_behaviors(&writer).await.0,
        StatusCode::OK,
        "Write also grants GET"
    );
    assert_eq!(server.put_behaviors(&writer, SEED).await.0, StatusCode::OK);
}

#[tokio::test]
async fn routing_errors() {
    let server = TestServer::start().await;
    for path in [
        "/client/v4/nowhere".to_owned(),
        "/client/v4/accounts/123/zt_risk_scoring/behaviors".to_owned(),
        "/client/v4/accounts/0123456789ABCDEF0123456789ABCDEF/zt_risk_scoring/behaviors".to_owned(),
        format!(
            "/client/v4/accounts/{}/zt_risk_scoring/nothing",
            server.account
        ),
    ] {
        let (status, body) = server.call(Method::GET, &path, &server.admin, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(codes(&body), [7003, 7000], "{path}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(&path), "{message}");
    }
    let response = server
        .request(
            Method::DELETE,
            &server.behaviors_path(),
            &[("authorization", format!("Bearer {}", server.admin))],
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let allow = response
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(allow.contains("GET") && allow.contains("PUT"), "{allow}");
    let body: Value = response.json().await.unwrap_or_default();
    assert_eq!(codes(&body), [10405]);
}

#[tokio::test]
async fn body_errors() {
    let server = TestServer::start_with(
        ServerConfig {
            body_limit: 4096,
            ..ServerConfig::default()
        },
        Fault::None,
    )
    .await;
    let path = server.behaviors_path();
    let auth = ("authorization", format!("Bearer {}", server.admin));
    let put = |content_type: Option<&'static str>, body: String| {
        let mut headers = vec![auth.clone()];
        if let Some(ct) = content_type {
            headers.push(("content-type", ct.to_owned()));
        }
        let server = &server;
        let path = path.clone();
        async move {
            server
                .call_with(Method::PUT, &path, &headers, Some(body))
                .await
        }
    };
    let (status, body) = put(Some("application/json"), "{\"behaviors\": {".into()).await;
    assert_eq!(
        (status, codes(&body)),
        (StatusCode::BAD_REQUEST, vec![6007])
    );
    let (status, body) = put(Some("application/json"), String::new()).await;
    assert_eq!(
        (status, codes(&body)),
        (StatusCode::BAD_REQUEST, vec![6007])
    );
    let (status, body) = put(Some("text/plain"), SEED.into()).await;
    assert_eq!(
        (status, codes(&body)),
        (StatusCode::BAD_REQUEST, vec![9207])
    );
    let (status, body) = put(Some("application/x-www-form-urlencoded"), SEED.into()).await;
    assert_eq!(
        (status, codes(&body)),
        (StatusCode::BAD_REQUEST, vec![9207])
    );
    assert_eq!(
        put(None, SEED.into()).await.0,
        StatusCode::OK,
        "a missing Content-Type is accepted"
    );
    assert_eq!(
        put(Some("application/json; charset=utf-8"), SEED.into())
            .await
            .0,
        StatusCode::OK
    );
    let big = format!("{{\"behaviors\": {{}}, \"pad\": \"{}\"}}", "x".repeat(5000));
    let (status, body) = put(Some("application/json"), big).await;
    assert_eq!(
        (status, codes(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, vec![1413])
    );
}

#[tokio::test]
async fn sdk_style_headers_are_accepted() {
    let server = TestServer::start().await;
    // The Python SDK sends a JSON Content-Type even on GET, and an api-version header.
    let headers = [
        ("authorization", format!("Bearer {}", server.admin)),
        ("content-type", "application/json".into()),
        ("api-version", "2024-01-01".into()),
    ];
    let (status, _) = server
        .call_with(Method::GET, &server.behaviors_path(), &headers, None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn internal_errors_leak_nothing() {
    for fault in [Fault::Error, Fault::Panic] {
        let server = TestServer::start_with(ServerConfig::default(), fault).await;
        let response = server
            .request(
                Method::GET,
                &server.behaviors_path(),
                &[("authorization", format!("Bearer {}", server.admin))],
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(codes(&body), [1500], "{text}");
        assert!(
            !id.is_empty() && text.contains(&id),
            "the message names the request id: {text}"
        );
        assert!(!text.contains(support::SECRET_DETAIL), "{text}");
        assert!(!text.to_lowercase().contains("panic"), "{text}");
    }
}

#[tokio::test]
async fn every_response_has_a_request_id() {
    let server = TestServer::start().await;
    let response = server.request(Method::GET, "/healthz", &[], None).await;
    assert!(response.headers().get("x-request-id").is_some());
    let response = server
        .request(
            Method::GET,
            "/nowhere",
            &[("x-request-id", "lb-1234".into())],
            None,
        )
        .await;
    assert_eq!(
        response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("lb-1234")
    );
}

#[tokio::test]
async fn rate_limited_credentials_get_971_and_retry_after() {
    let server = TestServer::start_with(
        ServerConfig {
            rate_limit_per_minute: 3,
            ..ServerConfig::default()
        },
        Fault::None,
    )
    .await;
    for _ in 0..3 {
        assert_eq!(server.get_behaviors(&server.admin).await.0, StatusCode::OK);
    }
    let response = server
        .request(
            Method::GET,
            &server.behaviors_path(),
            &[("authorization", format!("Bearer {}", server.admin))],
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!((1..=60).contains(&retry), "{retry}");
    let body: Value = response.json().await.unwrap_or_default();
    assert_eq!(codes(&body), [971]);
}

#[tokio::test]
async fn token_verify() {
    let server = TestServer::start().await;
    let expires = chrono::Utc::now() + chrono::Duration::days(30);
    let (token, id) = server
        .token(
            &[server.account],
            &[Permission::ZeroTrustRead],
            Some(expires),
        )
        .await;
    let (status, body) = server
        .call(Method::GET, "/client/v4/user/tokens/verify", &token, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["id"], id);
    assert_eq!(body["result"]["status"], "active");
    assert!(
        body["result"]["expires_on"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z'))
    );
    let (status, body) = server
        .call_with(Method::GET, "/user/tokens/verify", &[], None)
        .await;
    assert_eq!(
        (status, codes(&body)),
        (StatusCode::BAD_REQUEST, vec![9106])
    );
}

#[tokio::test]
async fn health_and_readiness_need_no_credentials() {
    let server = TestServer::start().await;
    for path in ["/healthz", "/readyz"] {
        let (status, body) = server.call_with(Method::GET, path, &[], None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["success"], true);
    }
}

#[tokio::test]
async fn concurrent_puts_of_different_behaviors_all_survive() {
    let server = TestServer::start().await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let server = server.clone_handle();
        tasks.push(tokio::spawn(async move {
            let body = format!(
                r#"{{"behaviors": {{"custom_{i}": {{"enabled": true, "risk_level": "high"}}}}}}"#
            );
            server.put_behaviors(&server.admin, &body).await.0
        }));
    }
    for task in tasks {
        assert_eq!(task.await.ok(), Some(StatusCode::OK));
    }
    let (_, body) = server.get_behaviors(&server.admin).await;
    let count = body["result"]["behaviors"].as_object().map(|m| m.len());
    assert_eq!(count, Some(9 + 40));
}

#[tokio::test]
async fn changes_by_another_process_are_seen_within_a_poll() {
    let server = TestServer::start().await;
    // A second store on the same file stands for the admin CLI.
    let cli = server.second_store().await;
    let (token, id) = server
        .token(&[server.account], &[Permission::ZeroTrustRead], None)
        .await;
    assert_eq!(server.get_behaviors(&token).await.0, StatusCode::OK);
    assert!(cli.revoke_token(&id, &Actor::Cli).await.unwrap_or(false));
    // The server notices other processes' commits within 10 ms; allow far more on a busy CI.
    let started = std::time::Instant::now();
    let mut status = StatusCode::OK;
    while status == StatusCode::OK && started.elapsed() < std::time::Duration::from_secs(1) {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        status = server.get_behaviors(&token).await.0;
    }
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "still accepted after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn graceful_shutdown_finishes_and_stops() {
    let server = TestServer::start().await;
    assert_eq!(server.get_behaviors(&server.admin).await.0, StatusCode::OK);
    server.shutdown().await;
}
