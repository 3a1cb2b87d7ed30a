//! PostgreSQL over TLS (spec 7): a server of the test's own (`initdb`, `pg_ctl`) with `ssl=on`
//! and only `hostssl` entries, so a connection that works is encrypted, and certificates the
//! test makes. `sslmode=verify-full` with the right CA works, with another CA or a host the
//! certificate does not name it fails clearly; `require` works without a CA; `verify-ca` skips
//! the name. Without `initdb` the test is skipped, except under CI (`CI=true`), where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use ztrisk_store::prelude::*;
use ztrisk_store::testing::in_ci;
use ztrisk_store::{PostgresOptions, PostgresStore, StoreError};

/// A CA of the test's own and what it signs (rcgen, ring).
struct Ca {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    pem: String,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params =
            rcgen::CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| panic!("{e}"));
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
        let cert = params.self_signed(&key).unwrap_or_else(|e| panic!("{e}"));
        Self {
            issuer: rcgen::Issuer::new(params, key),
            pem: cert.pem(),
        }
    }

    /// A server certificate for `names` and its key, both PEM.
    fn issue(&self, names: &[&str]) -> (String, String) {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = rcgen::CertificateParams::new(names).unwrap_or_else(|e| panic!("{e}"));
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
        let cert = params
            .signed_by(&key, &self.issuer)
            .unwrap_or_else(|e| panic!("{e}"));
        (cert.pem(), key.serialize_pem())
    }
}

/// Runs a PostgreSQL tool, as the `postgres` user when this runs as root (initdb and postgres
/// refuse root).
fn pg_tool(as_postgres: bool, tool: &str, args: &[&str]) -> Command {
    let mut command = if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", tool]);
        c
    } else {
        Command::new(tool)
    };
    command.args(args);
    command
}

fn run(mut command: Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The server; stopped when dropped, also when the test fails.
struct Server {
    data: PathBuf,
    log: PathBuf,
    as_postgres: bool,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Server {
    /// `None` (after a note) when PostgreSQL's tools are not installed, outside CI.
    fn start(cert_pem: &str, key_pem: &str) -> Option<Self> {
        if let Err(e) = Command::new("initdb").arg("--version").output() {
            if in_ci() {
                panic!("initdb is needed for the PostgreSQL TLS test and cannot run: {e}");
            }
            // Straight to stderr: the harness captures eprintln!, and a skip must be seen.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "note: skipping the PostgreSQL TLS test: initdb cannot run ({e})"
            );
            return None;
        }
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path().to_owned();
        let data = root.join("data");
        let (cert, key) = (root.join("server.crt"), root.join("server.key"));
        std::fs::write(&cert, cert_pem).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&key, key_pem).unwrap_or_else(|e| panic!("{e}"));
        // PostgreSQL refuses a key others can read.
        run(
            {
                let mut c = Command::new("chmod");
                c.arg("600").arg(&key);
                c
            },
            "chmod",
        );
        if as_postgres {
            let mut c = Command::new("chown");
            c.args(["-R", "postgres:"]).arg(&root);
            run(c, "chown");
        }
        let text = |p: &Path| p.to_string_lossy().into_owned();
        run(
            pg_tool(
                as_postgres,
                "initdb",
                &[
                    "-D",
                    &text(&data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
            ),
            "initdb",
        );
        // TLS only: a plain TCP connection finds no entry and is refused.
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.0/8 trust\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("free port: {e}"));
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1,127.0.0.2 -c ssl=on \
             -c ssl_cert_file={} -c ssl_key_file={} -c fsync=off",
            text(&root),
            text(&cert),
            text(&key)
        );
        let log = root.join("postgres.log");
        let server = Self {
            data: data.clone(),
            log: log.clone(),
            as_postgres,
            port,
            _dir: dir,
        };
        let started = pg_tool(
            as_postgres,
            "pg_ctl",
            &[
                "-D",
                &text(&data),
                "-l",
                &text(&log),
                "-w",
                "-t",
                "30",
                "-o",
                &options,
                "start",
            ],
        )
        .output()
        .unwrap_or_else(|e| panic!("pg_ctl: {e}"));
        assert!(
            started.status.success(),
            "pg_ctl start failed: {}\n{}",
            String::from_utf8_lossy(&started.stderr),
            server.log()
        );
        Some(server)
    }

    fn url(&self, host: &str, query: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres?{query}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let data = self.data.to_string_lossy().into_owned();
        let _ = pg_tool(
            self.as_postgres,
            "pg_ctl",
            &["-D", &data, "-m", "immediate", "-w", "stop"],
        )
        .output();
    }
}

async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
    PostgresStore::connect(
        url,
        PostgresOptions {
            max_connections: 2,
            ..PostgresOptions::default()
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_urls_honour_sslmode_and_sslrootcert() {
    let ca = Ca::new("ztrisk test CA");
    let (cert, key) = ca.issue(&["localhost", "127.0.0.1"]);
    let Some(server) = Server::start(&cert, &key) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap_or_else(|e| panic!("{e}"));
    let other_file = dir.path().join("other-ca.pem");
    std::fs::write(&other_file, &Ca::new("another CA").pem).unwrap_or_else(|e| panic!("{e}"));
    let (ca_file, other_file) = (ca_file.display(), other_file.display());

    // verify-full with the CA that signed the server's certificate: works (and the pool, the
    // migrations and the change listener all go over TLS: nothing else is allowed in).
    let url = server.url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca_file}"),
    );
    let store = connect(&url)
        .await
        .unwrap_or_else(|e| panic!("verify-full: {e}\n{}", server.log()));
    store
        .list_tokens()
        .await
        .unwrap_or_else(|e| panic!("a query over TLS: {e}"));
    drop(store);

    // require: TLS without checking the certificate.
    let store = connect(&server.url("127.0.0.1", "sslmode=require"))
        .await
        .unwrap_or_else(|e| panic!("require: {e}\n{}", server.log()));
    drop(store);

    // Without TLS the server refuses (so the connections above were encrypted).
    let error = connect(&server.url("127.0.0.1", "sslmode=disable"))
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.contains("refused the connection"), "{error}");

    // A CA that did not sign the certificate: refused, saying it is about TLS.
    for query in [
        format!("sslmode=verify-full&sslrootcert={other_file}"),
        // As libpq: require with a root certificate checks the chain.
        format!("sslmode=require&sslrootcert={other_file}"),
    ] {
        let error = connect(&server.url("127.0.0.1", &query))
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("over TLS") && error.contains("sslrootcert"),
            "{query}: {error}"
        );
    }

    // A host the certificate does not name: verify-full refuses, verify-ca does not check.
    let url = server.url(
        "127.0.0.2",
        &format!("sslmode=verify-full&sslrootcert={ca_file}"),
    );
    let error = connect(&url)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        error.contains("over TLS") && error.contains("not valid for name"),
        "{error}"
    );
    let url = server.url(
        "127.0.0.2",
        &format!("sslmode=verify-ca&sslrootcert={ca_file}"),
    );
    let store = connect(&url)
        .await
        .unwrap_or_else(|e| panic!("verify-ca: {e}\n{}", server.log()));
    drop(store);

    // A missing root certificate file is named.
    let error = connect(&server.url(
        "127.0.0.1",
        "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
    ))
    .await
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(
        error.contains("cannot read sslrootcert /nonexistent/ca.pem"),
        "{error}"
    );
}
