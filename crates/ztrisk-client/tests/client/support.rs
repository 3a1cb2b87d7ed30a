//! Clients of a live ztrisk ([`TestServer`]), and a scripted fake server.

#![allow(dead_code)]

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use ztrisk_client::{ApiError, Client, ClientBuilder, Error};
use ztrisk_core::Permission;
use ztrisk_server::testing::{TestServer, listen};

/// Clients of a live ztrisk ([`TestServer`]).
pub trait Clients {
    /// A builder pointed at this server, without credentials, with fast retries.
    fn builder(&self) -> ClientBuilder;
    /// A client with the admin token.
    fn client(&self) -> Client;
    /// A client with a new token holding only `permissions` on the account.
    async fn client_with(&self, permissions: &[Permission]) -> Client;
}

impl Clients for TestServer {
    fn builder(&self) -> ClientBuilder {
        Client::builder()
            .base_url(self.api_url())
            .initial_retry_delay(Duration::from_millis(10))
    }

    fn client(&self) -> Client {
        self.builder()
            .api_token(&self.admin)
            .build()
            .unwrap_or_else(|e| panic!("client: {e}"))
    }

    async fn client_with(&self, permissions: &[Permission]) -> Client {
        let (secret, _) = self.token(&[self.account], permissions, None).await;
        self.builder()
            .api_token(secret)
            .build()
            .unwrap_or_else(|e| panic!("client: {e}"))
    }
}

/// One scripted answer.
#[derive(Clone)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    /// Waits this long before answering.
    pub delay: Duration,
}

impl Canned {
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// What the fake server saw of one request.
#[derive(Debug, Clone)]
pub struct Hit {
    pub at: Instant,
    pub method: String,
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// A server answering with a script, one answer per request (the last one repeats).
pub struct Fake {
    pub base_url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    _stop: oneshot::Sender<()>,
}

impl Fake {
    pub async fn start(script: Vec<Canned>) -> Self {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let seen = hits.clone();
        let script = Arc::new(script);
        let handler = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let seen = seen.clone();
            let script = script.clone();
            async move {
                let n = {
                    let mut hits = seen.lock().unwrap_or_else(|e| e.into_inner());
                    hits.push(Hit {
                        at: Instant::now(),
                        method: method.to_string(),
                        uri: uri.to_string(),
                        headers,
                        body: body.to_vec(),
                    });
                    hits.len() - 1
                };
                let Some(canned) = script.get(n).or_else(|| script.last()).cloned() else {
                    return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                };
                tokio::time::sleep(canned.delay).await;
                let mut response = Response::new(axum::body::Body::from(canned.body));
                *response.status_mut() =
                    StatusCode::from_u16(canned.status).unwrap_or(StatusCode::IM_A_TEAPOT);
                for (name, value) in canned.headers {
                    if let Ok(value) = value.parse() {
                        response.headers_mut().insert(name, value);
                    }
                }
                response
            }
        };
        let app = axum::Router::new().fallback(handler);
        let (listener, addr) = listen().await;
        let (stop, stopping) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopping.await;
                })
                .await;
        });
        Self {
            base_url: format!("http://{addr}/client/v4"),
            hits,
            _stop: stop,
        }
    }

    /// A client of this server with a token and the given builder changes.
    pub fn client(&self, configure: impl FnOnce(ClientBuilder) -> ClientBuilder) -> Client {
        configure(
            Client::builder()
                .api_token("test-token")
                .base_url(&self.base_url),
        )
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"))
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A 32-hex account id for requests to fake servers.
pub const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";

/// The envelope of a successful answer around `result`.
pub fn ok_body(result: serde_json::Value) -> String {
    serde_json::json!({"success": true, "errors": [], "messages": [], "result": result}).to_string()
}

/// The API error of a refused request.
pub fn api_error<T: std::fmt::Debug>(result: Result<T, Error>) -> Box<ApiError> {
    match result {
        Err(Error::Api(e)) => e,
        other => panic!("expected an API error, got {other:?}"),
    }
}
