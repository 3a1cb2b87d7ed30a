//! A ztrisk server on a random port, over a temporary SQLite file, for integration tests.

#![allow(dead_code)]

pub use ztrisk_store::testing::{Fault, FaultyStore, SECRET_DETAIL};

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use ztrisk_core::credentials::{SecretHash, generate_api_key, generate_token};
use ztrisk_core::{AccountId, Permission, PermissionSet};
use ztrisk_server::{AppState, ServerConfig, router, serve};
use ztrisk_store::model::NewToken;
use ztrisk_store::prelude::*;
use ztrisk_store::testing::PgSchema;
use ztrisk_store::{PostgresOptions, PostgresStore, SqliteOptions, SqliteStore, Store};

#[derive(Clone)]
pub struct TestServer {
    pub base_url: String,
    pub client: reqwest::Client,
    pub account: AccountId,
    /// A token with every permission on `account`.
    pub admin: String,
    pub key_email: String,
    pub key: String,
    pub store: Arc<dyn Store>,
    backend: Arc<Backend>,
    stop: Arc<Mutex<Option<oneshot::Sender<()>>>>,
    stopped: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(ServerConfig::default(), Fault::None).await
    }

    pub async fn start_with(config: ServerConfig, fault: Fault) -> Self {
        let backend = Arc::new(Backend::new().await);
        let store = backend.open().await;
        let admin = generate_token();
        let (account, _) = store
            .bootstrap(
                "test",
                NewToken {
                    name: "admin".into(),
                    accounts: vec![],
                    permissions: PermissionSet::all(),
                    expires_at: None,
                    secret_hash: SecretHash::of(&admin),
                },
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
        Self::serve_on(backend, store, credentials, config, fault).await
    }

    /// Stops this server and starts a new process-equivalent (new store, new caches) on the
    /// same database file.
    pub async fn restart(self) -> Self {
        self.shutdown().await;
        let credentials = Credentials {
            account: self.account,
            admin: self.admin.clone(),
            key_email: self.key_email.clone(),
            key: self.key.clone(),
        };
        let backend = self.backend.clone();
        drop(self);
        let store = backend.open().await;
        Self::serve_on(
            backend,
            store,
            credentials,
            ServerConfig::default(),
            Fault::None,
        )
        .await
    }

    async fn serve_on(
        backend: Arc<Backend>,
        store: Arc<dyn Store>,
        credentials: Credentials,
        config: ServerConfig,
        fault: Fault,
    ) -> Self {
        let served: Arc<dyn Store> = Arc::new(FaultyStore::new(store.clone(), fault));
        let app = router(AppState::new(served, config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"));
        let (stop, stopping) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            let _ = serve(listener, app, async move {
                let _ = stopping.await;
            })
            .await;
        });
        Self {
            base_url: format!("http://{addr}"),
            client: reqwest::Client::new(),
            account: credentials.account,
            admin: credentials.admin,
            key_email: credentials.key_email,
            key: credentials.key,
            store,
            backend,
            stop: Arc::new(Mutex::new(Some(stop))),
            stopped: Arc::new(Mutex::new(Some(handle))),
        }
    }

    pub fn clone_handle(&self) -> Self {
        self.clone()
    }

    /// Another store on the same file, as the admin CLI would open it.
    pub async fn second_store(&self) -> Arc<dyn Store> {
        self.backend.open().await
    }

    pub fn behaviors_path(&self) -> String {
        format!(
            "/client/v4/accounts/{}/zt_risk_scoring/behaviors",
            self.account
        )
    }

    pub async fn store_create_account(&self, name: &str) -> AccountId {
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
        let record = self
            .store
            .create_token(
                NewToken {
                    name: "test".into(),
                    accounts: accounts.to_vec(),
                    permissions: permissions.iter().copied().collect(),
                    expires_at,
                    secret_hash: SecretHash::of(&secret),
                },
                &Actor::Cli,
            )
            .await
            .unwrap_or_else(|e| panic!("token: {e}"));
        (secret, record.id)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Option<String>,
    ) -> reqwest::Response {
        let mut request = self
            .client
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

    pub async fn raw_get(&self, path: &str, token: &str) -> String {
        self.request(
            Method::GET,
            path,
            &[("authorization", format!("Bearer {token}"))],
            None,
        )
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
}

struct Credentials {
    account: AccountId,
    admin: String,
    key_email: String,
    key: String,
}

/// Where a test server keeps its data: a SQLite file (default) or, with
/// `ZTRISK_TEST_BACKEND=postgres`, a PostgreSQL schema of its own (dropped at the end).
enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(PgSchema),
}

impl Backend {
    async fn new() -> Self {
        match std::env::var("ZTRISK_TEST_BACKEND").as_deref() {
            Ok("postgres") => match PgSchema::create_or_skip("the API tests on PostgreSQL").await {
                Some(schema) => Backend::Postgres(schema),
                // Asked for PostgreSQL explicitly: not having it is a failure, not a skip.
                None => panic!("ZTRISK_TEST_BACKEND=postgres but PostgreSQL is not reachable"),
            },
            _ => Backend::Sqlite(tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))),
        }
    }

    /// A new store on this backend's data (another process, as far as caches go).
    async fn open(&self) -> Arc<dyn Store> {
        match self {
            Backend::Sqlite(dir) => Arc::new(
                SqliteStore::open(dir.path().join("ztrisk.db"), SqliteOptions::default())
                    .unwrap_or_else(|e| panic!("open store: {e}")),
            ),
            Backend::Postgres(schema) => Arc::new(
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
