//! What the API needs of risk sharing: waking the delivery worker when a request queued
//! deliveries, the signing keys (JWKS) as of the store generation, the URLs that reach this
//! server (receivers may not point at them), and an HTTP client for webhook tests.

use crate::error::ApiError;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use url::Url;
use ztrisk_deliver::keyring::KeyRing;
use ztrisk_store::Store;

pub struct Sharing {
    /// Notified when a request queued deliveries; the worker sleeps on it.
    pub wake: Arc<Notify>,
    /// URLs that reach this server: no receiver may be one of them.
    pub own_urls: Vec<Url>,
    /// For `POST /webhooks/{id}/test` (the same rules as deliveries: no redirects, no SSRF).
    pub http: reqwest::Client,
    keys: Mutex<Option<(u64, Arc<KeyRing>)>>,
}

impl Sharing {
    pub fn new(public_url: &str) -> Self {
        Self {
            wake: Arc::new(Notify::new()),
            own_urls: Url::parse(public_url).into_iter().collect(),
            http: ztrisk_deliver::outbound::client(ztrisk_deliver::outbound::DELIVERY_TIMEOUT)
                .unwrap_or_default(),
            keys: Mutex::new(None),
        }
    }

    /// Also refuse receivers at `url` (the listen address, when it differs from the public
    /// URL).
    pub fn also_own(&mut self, url: Url) {
        if !self.own_urls.contains(&url) {
            self.own_urls.push(url);
        }
    }

    /// The signing keys as of store generation `generation` (rotation by another process or
    /// replica moves it).
    pub async fn keys(&self, store: &dyn Store, generation: u64) -> Result<Arc<KeyRing>, ApiError> {
        if let Ok(cached) = self.keys.lock()
            && let Some((at, ring)) = cached.as_ref()
            && *at == generation
        {
            return Ok(ring.clone());
        }
        let ring = Arc::new(KeyRing::load(store).await?);
        if let Ok(mut cached) = self.keys.lock() {
            *cached = Some((generation, ring.clone()));
        }
        Ok(ring)
    }
}
