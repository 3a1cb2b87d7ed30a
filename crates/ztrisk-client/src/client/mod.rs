//! The [`Client`] and its request loop (retries and timeouts); its configuration is in
//! [`builder`], requests in [`request`], the decoding of answers in [`decode`].

mod builder;
mod decode;
mod request;

pub use builder::{
    ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT,
    ENV_API_KEY, ENV_API_TOKEN, ENV_BASE_URL, ENV_EMAIL,
};
pub use decode::Paged;
pub(crate) use request::{Request, segment};

use crate::error::Error;
use crate::retry::RetryPolicy;
use decode::decode;
use reqwest::header::{ACCEPT, CONTENT_ENCODING, CONTENT_TYPE, HeaderMap};
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// An async client of the `zt_risk_scoring` API. Cheap to clone: clones share connections.
///
/// Resources hang off it as in Cloudflare's official SDKs:
/// `client.zero_trust().risk_scoring().behaviours().update(account_id, params)`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    auth: HeaderMap,
    retry: RetryPolicy,
    timeout: Duration,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("retry", &self.inner.retry)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder with nothing set (see [`ClientBuilder::from_env`] for the environment).
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured from the environment, like `Cloudflare()` in the official SDKs:
    /// `CLOUDFLARE_API_TOKEN` (or `CLOUDFLARE_API_KEY` with `CLOUDFLARE_EMAIL`) and
    /// `CLOUDFLARE_BASE_URL`.
    pub fn from_env() -> Result<Self, Error> {
        ClientBuilder::from_env().build()
    }

    /// The API root requests go to, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The retry settings.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.inner.retry
    }

    /// The per-attempt timeout.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// A copy of this client (sharing its connections) with another retry count, like
    /// `client.with_options(max_retries=...)` in the official SDKs.
    pub fn with_max_retries(&self, retries: u32) -> Self {
        let mut retry = self.inner.retry;
        retry.max_retries = retries;
        self.with(|inner| Inner { retry, ..inner })
    }

    /// A copy of this client (sharing its connections) with another per-attempt timeout.
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        self.with(|inner| Inner { timeout, ..inner })
    }

    fn with(&self, change: impl FnOnce(Inner) -> Inner) -> Self {
        let inner = Inner {
            http: self.inner.http.clone(),
            base_url: self.inner.base_url.clone(),
            auth: self.inner.auth.clone(),
            retry: self.inner.retry,
            timeout: self.inner.timeout,
        };
        Self {
            inner: Arc::new(change(inner)),
        }
    }

    /// Zero Trust resources: `client.zero_trust().risk_scoring()...`.
    pub fn zero_trust(&self) -> crate::resources::ZeroTrust<'_> {
        crate::resources::ZeroTrust::new(self)
    }

    /// The caller's own resources: `client.user().tokens().verify()`.
    pub fn user(&self) -> crate::resources::User<'_> {
        crate::resources::User::new(self)
    }

    /// [`send`](Self::send), keeping only the `result`.
    pub(crate) async fn result<T: DeserializeOwned>(&self, request: Request) -> Result<T, Error> {
        Ok(self.send(request).await?.result)
    }

    /// Sends a request, retrying as configured, and decodes the envelope's `result`.
    pub(crate) async fn send<T: DeserializeOwned>(
        &self,
        request: Request,
    ) -> Result<Paged<T>, Error> {
        let inner = &*self.inner;
        let url = request.url(&inner.base_url);
        let policy = inner.retry;
        let mut retry = 0u32;
        loop {
            let mut builder = inner
                .http
                .request(request.method.clone(), &url)
                .headers(inner.auth.clone())
                .header(ACCEPT, "application/json")
                .timeout(inner.timeout);
            if let Some(body) = &request.body {
                builder = builder
                    .header(CONTENT_TYPE, body.content_type)
                    .body(body.bytes.clone());
                if let Some(encoding) = body.content_encoding {
                    builder = builder.header(CONTENT_ENCODING, encoding);
                }
            }
            let can_retry = retry < policy.max_retries;
            let outcome = match builder.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let headers = response.headers().clone();
                    let failed = !(200..300).contains(&status);
                    if failed && can_retry && RetryPolicy::should_retry(status, &headers) {
                        let delay = policy.delay(retry, Some(&headers), rand::random());
                        tracing::debug!(%url, status, ?delay, retry, "retrying");
                        drop(response);
                        tokio::time::sleep(delay).await;
                        retry += 1;
                        continue;
                    }
                    response.bytes().await.map(|bytes| (status, headers, bytes))
                }
                Err(e) => Err(e),
            };
            match outcome {
                Ok((status, headers, bytes)) => {
                    return decode(&request.method, &url, status, &headers, &bytes);
                }
                Err(e) if can_retry && !e.is_builder() => {
                    let delay = policy.delay(retry, None, rand::random());
                    tracing::debug!(%url, error = %e, ?delay, retry, "retrying");
                    tokio::time::sleep(delay).await;
                    retry += 1;
                }
                Err(e) if e.is_timeout() => {
                    return Err(Error::Timeout {
                        url,
                        timeout: inner.timeout,
                        source: e,
                    });
                }
                Err(e) => return Err(Error::Connection { url, source: e }),
            }
        }
    }
}
