//! [`ClientBuilder`]: credentials, base URL, retries and timeouts, from code or from the
//! official SDKs' environment variables.

use super::{Client, Inner};
use crate::error::Error;
use crate::retry::RetryPolicy;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Cloudflare's production API, the default base URL (as in the official SDKs).
pub const DEFAULT_BASE_URL: &str = "https://api.cloudflare.com/client/v4";
/// Longest wait for one attempt's whole answer (the official SDKs' default: 60 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest wait to connect (the official SDKs' default: 5 s).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Retries after the first attempt (the official SDKs' default).
pub const DEFAULT_MAX_RETRIES: u32 = 2;

/// Environment variable of the API token (`Authorization: Bearer`).
pub const ENV_API_TOKEN: &str = "CLOUDFLARE_API_TOKEN";
/// Environment variable of the global API key (`X-Auth-Key`), used with [`ENV_EMAIL`].
pub const ENV_API_KEY: &str = "CLOUDFLARE_API_KEY";
/// Environment variable of the global API key's email (`X-Auth-Email`).
pub const ENV_EMAIL: &str = "CLOUDFLARE_EMAIL";
/// Environment variable of the base URL.
pub const ENV_BASE_URL: &str = "CLOUDFLARE_BASE_URL";

/// Configures a [`Client`].
///
/// [`ClientBuilder::new`] starts empty; [`ClientBuilder::from_env`] starts from the official
/// SDKs' environment variables, which the builder methods then override.
///
/// ```no_run
/// # fn main() -> Result<(), ztrisk_client::Error> {
/// use std::time::Duration;
/// let client = ztrisk_client::Client::builder()
///     .api_token("w7xz...")
///     .base_url("http://127.0.0.1:8787/client/v4")
///     .max_retries(4)
///     .timeout(Duration::from_secs(30))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct ClientBuilder {
    api_token: Option<String>,
    api_key: Option<String>,
    api_email: Option<String>,
    base_url: Option<String>,
    retry: RetryPolicy,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    user_agent: Option<String>,
    http_client: Option<reqwest::Client>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_token", &self.api_token.as_ref().map(|_| "<redacted>"))
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("api_email", &self.api_email)
            .field("base_url", &self.base_url)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl ClientBuilder {
    /// An empty configuration: no credentials, Cloudflare's base URL, 2 retries, 60 s timeout.
    pub fn new() -> Self {
        Self::default()
    }

    /// A configuration from `CLOUDFLARE_API_TOKEN`, `CLOUDFLARE_API_KEY`, `CLOUDFLARE_EMAIL`
    /// and `CLOUDFLARE_BASE_URL` (empty variables count as unset).
    pub fn from_env() -> Self {
        Self {
            api_token: env(ENV_API_TOKEN),
            api_key: env(ENV_API_KEY),
            api_email: env(ENV_EMAIL),
            base_url: env(ENV_BASE_URL),
            ..Self::default()
        }
    }

    /// The API token, sent as `Authorization: Bearer <token>`. It wins over a global key.
    pub fn api_token(mut self, token: impl Into<String>) -> Self {
        self.api_token = Some(token.into());
        self
    }

    /// The global API key (`X-Auth-Key`); needs [`api_email`](Self::api_email).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The email of the global API key's user (`X-Auth-Email`).
    pub fn api_email(mut self, email: impl Into<String>) -> Self {
        self.api_email = Some(email.into());
        self
    }

    /// The API root, e.g. `http://127.0.0.1:8787/client/v4` for a local ztrisk (default:
    /// [`DEFAULT_BASE_URL`]).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Retries after the first attempt, on connection errors, timeouts, 408, 409, 429 and 5xx
    /// (default 2; 0 disables retrying).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.retry.max_retries = retries;
        self
    }

    /// The first backoff delay (default 0.5 s), used when the server gives no usable
    /// `Retry-After`; each retry doubles it.
    pub fn initial_retry_delay(mut self, delay: Duration) -> Self {
        self.retry.initial_delay = delay;
        self
    }

    /// The longest backoff delay (default 8 s).
    pub fn max_retry_delay(mut self, delay: Duration) -> Self {
        self.retry.max_delay = delay;
        self
    }

    /// Longest wait for one attempt's whole answer (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Longest wait to connect (default 5 s; ignored with [`http_client`](Self::http_client)).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The `User-Agent` header (default `ztrisk-client/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// A `reqwest` client to send with (proxies, custom roots...). The timeout set here
    /// still applies per request.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Checks the configuration and builds the client.
    ///
    /// Fails with [`Error::Config`] without credentials, with half a global key, with a
    /// credential that cannot be sent in a header, or with a base URL that is not `http(s)`.
    pub fn build(self) -> Result<Client, Error> {
        let auth = auth_headers(
            self.api_token.as_deref(),
            self.api_key.as_deref(),
            self.api_email.as_deref(),
        )?;
        let base_url = self
            .base_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .unwrap_or(DEFAULT_BASE_URL)
            .trim_end_matches('/')
            .to_owned();
        match reqwest::Url::parse(&base_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {}
            Ok(_) => {
                return Err(Error::Config(format!(
                    "base URL {base_url:?} must be an http:// or https:// URL"
                )));
            }
            Err(e) => {
                return Err(Error::Config(format!(
                    "base URL {base_url:?} is not a URL ({e})"
                )));
            }
        }
        let user_agent = self
            .user_agent
            .unwrap_or_else(|| concat!("ztrisk-client/", env!("CARGO_PKG_VERSION")).to_owned());
        let http = match self.http_client {
            Some(http) => http,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
                .user_agent(user_agent)
                .build()
                .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                auth,
                retry: self.retry,
                timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
            }),
        })
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

fn auth_headers(
    token: Option<&str>,
    key: Option<&str>,
    email: Option<&str>,
) -> Result<HeaderMap, Error> {
    let sensitive = |name: &str, text: String| {
        HeaderValue::from_str(&text)
            .map(|mut value| {
                value.set_sensitive(true);
                value
            })
            .map_err(|_| {
                Error::Config(format!(
                    "the {name} contains characters that cannot be sent in an HTTP header"
                ))
            })
    };
    let mut headers = HeaderMap::new();
    match (non_empty(token), non_empty(key), non_empty(email)) {
        (Some(token), _, _) => {
            headers.insert(
                AUTHORIZATION,
                sensitive("API token", format!("Bearer {token}"))?,
            );
        }
        (None, Some(key), Some(email)) => {
            headers.insert("x-auth-key", sensitive("API key", key.to_owned())?);
            headers.insert("x-auth-email", sensitive("email", email.to_owned())?);
        }
        (None, Some(_), None) => {
            return Err(Error::Config(format!(
                "a global API key needs its user's email: set {ENV_EMAIL} (or api_email)"
            )));
        }
        (None, None, Some(_)) => {
            return Err(Error::Config(format!(
                "an email needs the user's global API key: set {ENV_API_KEY} (or api_key)"
            )));
        }
        (None, None, None) => {
            return Err(Error::Config(format!(
                "no credentials: set {ENV_API_TOKEN} (or {ENV_API_KEY} with {ENV_EMAIL}), \
                 or use api_token()"
            )));
        }
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials() {
        assert!(auth_headers(None, None, None).is_err());
        assert!(auth_headers(None, Some("k"), None).is_err());
        assert!(auth_headers(None, None, Some("a@b.c")).is_err());
        assert!(auth_headers(Some("bad\ntoken"), None, None).is_err());
        let both = auth_headers(Some("t"), Some("k"), Some("a@b.c")).unwrap_or_default();
        assert_eq!(both.len(), 1);
        assert!(both.get(AUTHORIZATION).is_some_and(|v| v.is_sensitive()));
        let key = auth_headers(Some(" "), Some("k"), Some("a@b.c")).unwrap_or_default();
        assert!(key.get("x-auth-key").is_some() && key.get("x-auth-email").is_some());
    }

    #[test]
    fn base_urls() {
        let build = |url: &str| Client::builder().api_token("t").base_url(url).build();
        assert_eq!(
            build("http://127.0.0.1:8787/client/v4/")
                .map(|c| c.base_url().to_owned())
                .unwrap_or_default(),
            "http://127.0.0.1:8787/client/v4"
        );
        assert_eq!(
            build("")
                .map(|c| c.base_url().to_owned())
                .unwrap_or_default(),
            DEFAULT_BASE_URL
        );
        assert!(matches!(build("127.0.0.1:8787"), Err(Error::Config(_))));
        assert!(matches!(build("ftp://x"), Err(Error::Config(_))));
    }
}
