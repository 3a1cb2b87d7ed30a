//! Application state, the router and the serving loop.

use crate::cache::GenerationCache;
use crate::error::{ApiError, InternalErrorDetail};
use crate::rate_limit::RateLimiter;
use crate::sharing::Sharing;
use crate::{request_id, routes};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::any::Any;
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use ztrisk_core::AccountId;
use ztrisk_core::behaviors::AccountBehaviors;
use ztrisk_ingest::GeoIp;
use ztrisk_store::Store;
use ztrisk_store::model::{ApiUser, TokenRecord};

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body accepted by the configuration endpoints.
    pub body_limit: usize,
    /// Requests per minute per credential (token or API key); 0 disables the limit.
    pub rate_limit_per_minute: u32,
    /// The base URL clients reach this server at (for `well_known_url` of integrations).
    pub public_url: String,
    /// How long SETs a poll of an SSF stream handed out are kept from other polls; not
    /// acknowledged by then, they are handed out again (spec 4.5).
    pub poll_lease: std::time::Duration,
    /// How long a client has to send a request's line and headers (and to finish a TLS
    /// handshake); hyper starts the same clock when a keep-alive connection goes idle, so idle
    /// connections are closed after it too. Against slowloris clients (spec 1.4).
    pub header_read_timeout: Duration,
    /// How long reading a request body may take, counted from the handler's first read; a
    /// body still arriving then is answered 408 (1408) and its connection closed.
    pub body_read_timeout: Duration,
    /// Largest request line and headers answered normally; larger is 431 (1431). Past four
    /// times this the parser itself refuses the request (a bare 431) and closes the connection.
    pub max_header_bytes: usize,
    /// Connections served at once; further clients wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            rate_limit_per_minute: 6000,
            public_url: "http://127.0.0.1:8787".into(),
            poll_lease: crate::routes::ssf::LONG_POLL,
            header_read_timeout: Duration::from_secs(10),
            // 16 MiB of events (the ingest limit) at about 300 KB/s.
            body_read_timeout: Duration::from_secs(60),
            max_header_bytes: 32 * 1024,
            max_connections: 1024,
        }
    }
}

/// Everything a request handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ServerConfig>,
    pub(crate) caches: Arc<Caches>,
    pub(crate) rate_limiter: Arc<RateLimiter>,
    /// Locates logins that carry only an IP (`--geoip`).
    pub geoip: Option<Arc<GeoIp>>,
    /// Risk sharing: the delivery worker's wake-up, signing keys, receivers' URL rules.
    pub sharing: Arc<Sharing>,
    /// Users' levels as the decision endpoint remembers them.
    pub decisions: Arc<crate::routes::decision::Decisions>,
    /// What `/metrics` reports.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Turns of unpaged reads, which stream ([`crate::streaming`]).
    pub(crate) streams: Arc<tokio::sync::Semaphore>,
}

pub(crate) struct Caches {
    pub tokens: GenerationCache<[u8; 32], Option<Arc<TokenRecord>>>,
    pub api_users: GenerationCache<String, Option<Arc<ApiUser>>>,
    /// The serialized GET `/behaviors` response of each account.
    pub behaviors: GenerationCache<AccountId, Bytes>,
    pub behavior_configs: GenerationCache<AccountId, AccountBehaviors>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: ServerConfig) -> Self {
        Self {
            store,
            rate_limiter: Arc::new(RateLimiter::new(config.rate_limit_per_minute)),
            geoip: None,
            sharing: Arc::new(Sharing::new(&config.public_url)),
            decisions: Arc::default(),
            metrics: Arc::default(),
            streams: crate::streaming::limiter(),
            config: Arc::new(config),
            caches: Arc::new(Caches {
                tokens: GenerationCache::new(100_000),
                api_users: GenerationCache::new(10_000),
                behaviors: GenerationCache::new(100_000),
                behavior_configs: GenerationCache::new(100_000),
            }),
        }
    }
}

impl AppState {
    /// Also refuses receivers at the address the server listens on (when the public URL names
    /// another): deliveries must never loop back into ztrisk.
    pub fn own_listen_address(&mut self, addr: std::net::SocketAddr) {
        if let (Some(sharing), Ok(url)) = (
            Arc::get_mut(&mut self.sharing),
            url::Url::parse(&format!("http://{addr}")),
        ) {
            sharing.also_own(url);
        }
    }

    pub fn with_geoip(mut self, geoip: GeoIp) -> Self {
        self.geoip = Some(Arc::new(geoip));
        self
    }

    /// The account's behaviors, as of the store generation the request read.
    pub(crate) async fn behaviors(
        &self,
        account: AccountId,
        generation: u64,
    ) -> Result<AccountBehaviors, ApiError> {
        if let Some(cached) = self.caches.behavior_configs.get(generation, &account) {
            return Ok(cached);
        }
        let behaviors = self.store.behaviors(account).await?;
        self.caches
            .behavior_configs
            .insert(generation, account, behaviors.clone());
        Ok(behaviors)
    }
}

/// The whole HTTP API, served both under `/client/v4` and at the root.
pub fn router(state: AppState) -> Router {
    let api = routes::api().into_router();
    let body_limit = state.config.body_limit;
    Router::new()
        .nest("/client/v4", api.clone())
        .merge(api)
        .merge(routes::ops::routes(routes::Api::default()).into_router())
        .merge(routes::discovery::routes(routes::Api::default()).into_router())
        .merge(routes::ssf::routes(routes::Api::default()).into_router())
        .merge(routes::docs::routes(routes::Api::default()).into_router())
        .merge(crate::dashboard::routes(&state.config))
        .fallback(fallback)
        .layer(axum::middleware::from_fn_with_state(
            state.config.clone(),
            crate::limits::layer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            crate::metrics::layer,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(request_id::layer))
        .with_state(state)
}

async fn fallback(uri: axum::extract::OriginalUri) -> Response {
    let path = uri.0.path();
    if crate::dashboard::owns(path) {
        return crate::dashboard::not_found();
    }
    ApiError::NoRoute(path.to_owned()).into_response()
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    let mut response = ApiError::Internal(format!("panic: {detail}")).into_response();
    response
        .extensions_mut()
        .insert(InternalErrorDetail(format!("panic: {detail}")));
    response
}

/// Starts what runs beside the API: makes the first signing key if there is none, and runs the
/// delivery worker and the expiry sweeper until `stop` turns `true`.
pub async fn start_sharing(
    state: &AppState,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<ztrisk_deliver::worker::WorkerHandle, Box<dyn std::error::Error + Send + Sync>> {
    ztrisk_deliver::keyring::ensure_signing_key(state.store.as_ref()).await?;
    crate::expiry::spawn(state.clone(), stop.clone());
    let context = ztrisk_deliver::send::Context {
        public_url: state.config.public_url.clone(),
        own_urls: state.sharing.own_urls.clone(),
    };
    Ok(ztrisk_deliver::worker::spawn(
        state.store.clone(),
        state.sharing.wake.clone(),
        ztrisk_deliver::worker::WorkerConfig::new(context),
        stop,
    )?)
}
