//! What the API needs of risk sharing: waking the delivery worker when a request queued
//! deliveries, the signing keys (JWKS) as of the store generation, the URLs that reach this
//! server (receivers may not point at them), and an HTTP client for webhook tests.

use crate::error::ApiError;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use url::Url;
use ztrisk_deliver::keyring::KeyRing;
use ztrisk_store::Store;
use ztrisk_store::model::SigningKeyStatus;

pub struct Sharing {
    /// Notified when a request queued deliveries; the worker sleeps on it.
    pub wake: Arc<Notify>,
    /// Notified (all of them) when this process queued deliveries: long polls of SSF streams
    /// wait on it.
    pub polls: Notify,
    /// URLs that reach this server: no receiver may be one of them.
    pub own_urls: Vec<Url>,
    /// For `POST /webhooks/{id}/test` (the same rules as deliveries: no redirects, no SSRF);
    /// `None` if it could not be built, and then tests answer 500 rather than use a client
    /// without those rules.
    pub http: Option<reqwest::Client>,
    /// The ring, and the (kid, status) list it was made from.
    keys: Mutex<Option<(KeyList, Arc<KeyRing>)>>,
}

/// What identifies a set of signing keys: each kid with its status.
type KeyList = Vec<(String, SigningKeyStatus)>;

impl Sharing {
    pub fn new(public_url: &str) -> Self {
        Self {
            wake: Arc::new(Notify::new()),
            polls: Notify::new(),
            own_urls: Url::parse(public_url).into_iter().collect(),
            http: ztrisk_deliver::outbound::client(ztrisk_deliver::outbound::DELIVERY_TIMEOUT)
                .inspect_err(
                    |e| tracing::error!(error = %e, "cannot build the webhook test client"),
                )
                .ok(),
            keys: Mutex::new(None),
        }
    }

    /// Tells the delivery worker and the waiting polls that deliveries were queued.
    pub fn queued(&self) {
        self.wake.notify_one();
        self.polls.notify_waiters();
    }

    /// Also refuse receivers at `url` (the listen address, when it differs from the public
    /// URL).
    pub fn also_own(&mut self, url: Url) {
        if !self.own_urls.contains(&url) {
            self.own_urls.push(url);
        }
    }

    /// The signing keys as the store has them now (a rotation by another process or replica
    /// shows at once). The list is read every time (a small table); the private keys, whose
    /// parsing costs about a millisecond, only when it changed: the JWKS is public, and a
    /// request must not be able to make the server do that work.
    pub async fn keys(&self, store: &dyn Store) -> Result<Arc<KeyRing>, ApiError> {
        let stored = store.signing_keys().await?;
        let listed: KeyList = stored.iter().map(|k| (k.kid.clone(), k.status)).collect();
        if let Ok(cached) = self.keys.lock()
            && let Some((was, ring)) = cached.as_ref()
            && *was == listed
        {
            return Ok(ring.clone());
        }
        let ring = Arc::new(KeyRing::from_stored(stored));
        if let Ok(mut cached) = self.keys.lock() {
            *cached = Some((listed, ring.clone()));
        }
        Ok(ring)
    }
}
