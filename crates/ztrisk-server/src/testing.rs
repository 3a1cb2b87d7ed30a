//! A ztrisk server on a random port, for integration tests here and in other crates (feature
//! `testing`).
//!
//! ```no_run
//! # async fn t() {
//! use ztrisk_server::testing::{TestServer, assert_error};
//! let server = TestServer::start().await;
//! let response = server.get_behaviors("not a token").await;
//! assert_error(&response, reqwest::StatusCode::BAD_REQUEST, &[6003], None);
//! # }
//! ```
//!
//! Every server has data of its own: a SQLite file in a temporary directory, or with
//! `ZTRISK_TEST_BACKEND=postgres` a PostgreSQL schema of its own (see
//! [`ztrisk_store::testing::PgSchema`]), dropped at the end. It starts bootstrapped: one
//! account, an admin token with every permission and a global API key.

pub use ztrisk_store::testing::{Fault, SECRET_DETAIL};

use crate::{AppState, ServerConfig, router, serve_with, start_sharing};
use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use ztrisk_core::credentials::{SecretHash, generate_api_key, generate_token};
use ztrisk_core::{AccountId, Permission, PermissionSet};
use ztrisk_store::model::NewToken;
use ztrisk_store::prelude::*;
use ztrisk_store::testing::{FaultyStore, PgSchema};
use ztrisk_store::{PostgresOptions, PostgresStore, SqliteOptions, SqliteStore};

/// Selects the backend of test servers: `postgres`, or anything else for SQLite.
pub const BACKEND_ENV: &str = "ZTRISK_TEST_BACKEND";

/// A running server and its credentials. Clones are handles on the same server, which stops
/// when the last one is dropped or at [`TestServer::shutdown`].
#[derive(Clone)]
pub struct TestServer {
    /// `http://127.0.0.1:<port>`: the API answers under it and under [`TestServer::api_url`].
    pub base_url: String,
    pub http: reqwest::Client,
    pub account: AccountId,
    /// A token with every permission on every account.
    pub admin: String,
    /// The email of the global API key [`TestServer::key`], a member of `account`.
    pub key_email: String,
    pub key: String,
    /// The server's store, without the injected faults.
    pub store: Arc<dyn Store>,
    data: Arc<Data>,
    stop: Arc<Mutex<Option<oneshot::Sender<()>>>>,
    stopped: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::launch(ServerConfig::default(), Fault::None).await
    }

    /// A server with `config`, except `public_url`, which is the server's own address.
    pub async fn start_with(config: ServerConfig) -> Self {
        Self::launch(config, Fault::None).await
    }

    /// A server whose store has `fault` injected (see [`FaultyStore`]).
    pub async fn start_faulty(fault: Fault) -> Self {
        Self::launch(ServerConfig::default(), fault).await
    }

    async fn launch(config: ServerConfig, fault: Fault) -> Self {
        let data = Arc::new(Data::new().await);
        let store = data.open().await;
        let admin = generate_token();
        let (account, _) = store
            .bootstrap(
                "test",
                new_token("admin", &[], PermissionSet::all(), None, &admin),
            )
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("bootstrap"));
        let key_email = "admin@example.com".to_owned();
        let key = generate_api_key();
        store
            .set_api_key(&key_email, SecretHash::of(&key), &[account.id], &Actor::Cli)
            .await
            .unwrap_or_else(|e| panic!("key: {e}"));
        let credentials = Credentials {
            account: account.id,
            admin,
            key_email,
            key,
        };
        Self::serve_on(data, store, credentials, config, fault).await
    }

    /// Stops this server and starts a new process-equivalent (new store, new caches, new port)
    /// on the same data, with the default configuration and no faults.
    pub async fn restart(self) -> Self {
        self.restart_with(ServerConfig::default()).await
    }

    /// [`TestServer::restart`] with `config` (except `public_url`).
    pub async fn restart_with(self, config: ServerConfig) -> Self {
        self.shutdown().await;
        let credentials = Credentials {
            account: self.account,
            admin: self.admin.clone(),
            key_email: self.key_email.clone(),
            key: self.key.clone(),
        };
        let data = self.data.clone();
        drop(self);
        let store = data.open().await;
        Self::serve_on(data, store, credentials, config, Fault::None).await
    }

    /// Another server on the same data, running beside this one: a second replica on
    /// PostgreSQL (on SQLite, a second process on the same file).
    pub async fn replica(&self) -> Self {
        let credentials = Credentials {
            account: self.account,
            admin: self.admin.clone(),
            key_email: self.key_email.clone(),
            key: self.key.clone(),
        };
        let store = self.data.open().await;
        Self::serve_on(
            self.data.clone(),
            store,
            credentials,
            ServerConfig::default(),
            Fault::None,
        )
        .await
    }

    async fn serve_on(
        data: Arc<Data>,
        store: Arc<dyn Store>,
        credentials: Credentials,
        config: ServerConfig,
        fault: Fault,
    ) -> Self {
        let (listener, addr) = listen().await;
        let base_url = format!("http://{addr}");
        let config = ServerConfig {
            public_url: base_url.clone(),
            ..config
        };
        let served: Arc<dyn Store> = Arc::new(FaultyStore::new(store.clone(), fault));
        let limits = config.clone();
        let state = AppState::new(served, config);
        let (stop_worker, worker_stops) = tokio::sync::watch::channel(false);
        let worker = start_sharing(&state, worker_stops)
            .await
            .unwrap_or_else(|e| panic!("risk sharing: {e}"));
        let app = router(state);
        let (stop, stopping) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            let _ = serve_with(listener, app, &limits, None, async move {
                let _ = stopping.await;
            })
            .await;
            let _ = stop_worker.send(true);
            worker.join().await;
        });
        Self {
            base_url,
            http: reqwest::Client::new(),
            account: credentials.account,
            admin: credentials.admin,
            key_email: credentials.key_email,
            key: credentials.key,
            store,
            data,
            stop: Arc::new(Mutex::new(Some(stop))),
            stopped: Arc::new(Mutex::new(Some(handle))),
        }
    }

    /// Asks the server to stop and waits until it has.
    pub async fn shutdown(&self) {
        let stop = self.stop.lock().ok().and_then(|mut s| s.take());
        if let Some(stop) = stop {
            let _ = stop.send(());
        }
        let handle = self.stopped.lock().ok().and_then(|mut h| h.take());
        if let Some(handle) = handle {
            tokio::time::timeout(std::time::Duration::from_secs(10), handle)
                .await
                .unwrap_or_else(|_| panic!("server did not stop"))
                .unwrap_or_else(|e| panic!("server task: {e}"));
        }
    }

    /// The production-style base URL: `http://127.0.0.1:<port>/client/v4`.
    pub fn api_url(&self) -> String {
        format!("{}/client/v4", self.base_url)
    }

    /// The account id as the API spells it (32 hex digits).
    pub fn account_tag(&self) -> String {
        self.account.to_string()
    }

    /// A temporary directory of this server's, for files a test writes (on SQLite it also
    /// holds the database).
    pub fn dir(&self) -> &Path {
        self.data.dir.path()
    }

    /// What `ztrisk --database` takes to open this server's data.
    pub fn database(&self) -> String {
        match &self.data.postgres {
            None => self.data.sqlite_path().to_string_lossy().into_owned(),
            Some(schema) => schema.url().to_owned(),
        }
    }

    /// Another store on the same data, as the admin CLI would open it.
    pub async fn second_store(&self) -> Arc<dyn Store> {
        self.data.open().await
    }

    /// The path of `rest` under this server's account:
    /// `/client/v4/accounts/<account>/zt_risk_scoring<rest>`.
    pub fn api_path(&self, rest: &str) -> String {
        format!("/client/v4/accounts/{}/zt_risk_scoring{rest}", self.account)
    }

    pub fn behaviors_path(&self) -> String {
        self.api_path("/behaviors")
    }

    pub async fn create_account(&self, name: &str) -> AccountId {
        self.store
            .create_account(name, &Actor::Cli)
            .await
            .unwrap_or_else(|e| panic!("account: {e}"))
            .id
    }

    /// Creates a token and returns `(secret, id)`.
    pub async fn token(
        &self,
        accounts: &[AccountId],
        permissions: &[Permission],
        expires_at: Option<DateTime<Utc>>,
    ) -> (String, String) {
        let secret = generate_token();
        let permissions = permissions.iter().copied().collect();
        let record = self
            .store
            .create_token(
                new_token("test", accounts, permissions, expires_at, &secret),
                &Actor::Cli,
            )
            .await
            .unwrap_or_else(|e| panic!("token: {e}"));
        (secret, record.id)
    }

    /// Sends a request to `path` (under [`TestServer::base_url`]) as it is.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Option<String>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        request
            .send()
            .await
            .unwrap_or_else(|e| panic!("request: {e}"))
    }

    /// Sends `body` as bytes (gzip, say) with a bearer token and `headers`; the status and the
    /// JSON body.
    pub async fn call_bytes(
        &self,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base_url))
            .bearer_auth(token)
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("request: {e}"));
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let body =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"));
        (status, body)
    }

    /// [`TestServer::request`], returning the status and the JSON body (which must be JSON).
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Option<String>,
    ) -> (StatusCode, Value) {
        let response = self.request(method, path, headers, body).await;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let body =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"));
        (status, body)
    }

    /// [`TestServer::call`] of [`TestServer::api_path`]`(rest)` with the admin token.
    pub async fn admin_call(
        &self,
        method: Method,
        rest: &str,
        body: Option<&str>,
    ) -> (StatusCode, Value) {
        self.call(method, &self.api_path(rest), &self.admin, body)
            .await
    }

    /// A request with a bearer token and, when there is a body, a JSON Content-Type.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut headers = vec![("authorization", format!("Bearer {token}"))];
        if body.is_some() {
            headers.push(("content-type", "application/json".into()));
        }
        self.call_with(method, path, &headers, body.map(str::to_owned))
            .await
    }

    /// A request without a body, with a bearer token.
    pub async fn request_as(&self, method: Method, path: &str, token: &str) -> reqwest::Response {
        let authorization = [("authorization", format!("Bearer {token}"))];
        self.request(method, path, &authorization, None).await
    }

    /// The body of a GET with a bearer token, as text.
    pub async fn raw_get(&self, path: &str, token: &str) -> String {
        self.request_as(Method::GET, path, token)
            .await
            .text()
            .await
            .unwrap_or_default()
    }

    pub async fn get_behaviors(&self, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, &self.behaviors_path(), token, None)
            .await
    }

    pub async fn put_behaviors(&self, token: &str, body: &str) -> (StatusCode, Value) {
        self.call(Method::PUT, &self.behaviors_path(), token, Some(body))
            .await
    }
}

/// A listener on a free port of 127.0.0.1, and its address.
pub async fn listen() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("addr: {e}"));
    (listener, addr)
}

fn new_token(
    name: &str,
    accounts: &[AccountId],
    permissions: PermissionSet,
    expires_at: Option<DateTime<Utc>>,
    secret: &str,
) -> NewToken {
    NewToken {
        name: name.into(),
        accounts: accounts.to_vec(),
        permissions,
        expires_at,
        secret_hash: SecretHash::of(secret),
    }
}

struct Credentials {
    account: AccountId,
    admin: String,
    key_email: String,
    key: String,
}

/// Where a test server keeps its data: a SQLite file in `dir` (default) or, with
/// `ZTRISK_TEST_BACKEND=postgres`, a PostgreSQL schema of its own (dropped at the end).
struct Data {
    dir: tempfile::TempDir,
    postgres: Option<PgSchema>,
}

impl Data {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let postgres = match std::env::var(BACKEND_ENV).as_deref() {
            Ok("postgres") => match PgSchema::create_or_skip("the API tests on PostgreSQL").await {
                Some(schema) => Some(schema),
                // Asked for PostgreSQL explicitly: not having it is a failure, not a skip.
                None => panic!("{BACKEND_ENV}=postgres but PostgreSQL is not reachable"),
            },
            _ => None,
        };
        Self { dir, postgres }
    }

    fn sqlite_path(&self) -> PathBuf {
        self.dir.path().join("ztrisk.db")
    }

    /// A new store on this data (another process, as far as caches go).
    async fn open(&self) -> Arc<dyn Store> {
        match &self.postgres {
            None => Arc::new(
                SqliteStore::open(self.sqlite_path(), SqliteOptions::default())
                    .unwrap_or_else(|e| panic!("open store: {e}")),
            ),
            Some(schema) => Arc::new(
                PostgresStore::connect(schema.url(), PostgresOptions::default())
                    .await
                    .unwrap_or_else(|e| panic!("connect: {e}")),
            ),
        }
    }
}

/// The error codes of an envelope, in order.
pub fn codes(body: &Value) -> Vec<u32> {
    body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["code"].as_u64().map(|c| c as u32))
        .collect()
}

/// The message of an envelope's first error (`""` where there is none).
pub fn message(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap_or_default()
}

/// A header of `response` as text, if it has it.
pub fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The `source.pointer` of every error of an envelope, in order (`""` where there is none).
pub fn pointers(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            e["source"]["pointer"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// Asserts that `response` (as [`TestServer::call`] returns it) has `status` and an error
/// envelope with exactly `codes`, in order, and, when `pointer` is given, that the first error's
/// `source.pointer` is `pointer` (`None` checks no pointer).
#[track_caller]
pub fn assert_error(
    response: &(StatusCode, Value),
    status: StatusCode,
    codes: &[u32],
    pointer: Option<&str>,
) {
    let (actual, body) = response;
    assert_eq!(*actual, status, "{body}");
    assert_eq!(self::codes(body), codes, "{body}");
    if let Some(pointer) = pointer {
        assert_eq!(body["errors"][0]["source"]["pointer"], pointer, "{body}");
    }
}

/// A certificate authority of a test's own (rcgen, ring), and the server certificates it
/// signs: for HTTPS tests here and in other crates.
pub struct TestCa {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    pem: String,
}

/// A certificate and its private key, as PEM, and the certificate as DER (what a client sees).
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_der: Vec<u8>,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
            .unwrap_or_else(|e| panic!("CA params: {e}"));
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("CA key: {e}"));
        let cert = params
            .self_signed(&key)
            .unwrap_or_else(|e| panic!("CA certificate: {e}"));
        Self {
            issuer: rcgen::Issuer::new(params, key),
            pem: cert.pem(),
        }
    }

    /// The CA certificate (PEM), for clients to trust.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// A server certificate for `names` (DNS names or IP addresses, e.g. `127.0.0.1`).
    pub fn issue(&self, names: &[&str]) -> Issued {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = rcgen::CertificateParams::new(names.clone())
            .unwrap_or_else(|e| panic!("certificate params: {e}"));
        if let Some(first) = names.first() {
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, first.as_str());
        }
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("key: {e}"));
        let cert = params
            .signed_by(&key, &self.issuer)
            .unwrap_or_else(|e| panic!("certificate: {e}"));
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
        }
    }
}
