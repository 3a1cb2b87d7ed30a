//! The [`Client`], its configuration ([`ClientBuilder`]) and the request loop: retries,
//! timeouts and lenient decoding of the `{success, errors, messages, result}` envelope.

use crate::error::{ApiError, Error};
use crate::retry::RetryPolicy;
use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use ztrisk_types::{ErrorItem, ResultInfo};

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

/// A request to send: method, path below the base URL, query and body.
pub(crate) struct Request {
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Body>,
}

struct Body {
    bytes: Bytes,
    content_type: &'static str,
}

impl Request {
    pub(crate) fn new(method: Method, path: String) -> Self {
        Self {
            method,
            path,
            query: Vec::new(),
            body: None,
        }
    }

    pub(crate) fn query(mut self, name: &'static str, value: Option<String>) -> Self {
        if let Some(value) = value {
            self.query.push((name, value));
        }
        self
    }

    pub(crate) fn json<B: Serialize + ?Sized>(self, body: &B) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::InvalidParameter(format!("cannot encode the body: {e}")))?;
        Ok(self.body(bytes.into(), "application/json"))
    }

    pub(crate) fn body(mut self, bytes: Bytes, content_type: &'static str) -> Self {
        self.body = Some(Body {
            bytes,
            content_type,
        });
        self
    }

    fn url(&self, base: &str) -> String {
        let mut url = format!("{base}{}", self.path);
        for (i, (name, value)) in self.query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(name);
            url.push('=');
            url.push_str(&encode(value));
        }
        url
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// An id as one path segment: refused when empty (it would change the route), encoded
/// otherwise.
pub(crate) fn segment(name: &str, value: &str) -> Result<String, Error> {
    if value.is_empty() {
        return Err(Error::InvalidParameter(format!(
            "expected a non-empty value for `{name}`"
        )));
    }
    Ok(encode(value))
}

/// A `result` with the paging information that came with it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Paged<T> {
    /// The envelope's `result`.
    pub result: T,
    /// The envelope's `result_info`, when the server sent it (paged requests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_info: Option<ResultInfo>,
}

/// The envelope as any server may send it: every field optional, lists possibly `null`.
#[derive(Deserialize)]
struct RawEnvelope<T> {
    #[serde(default)]
    success: Option<bool>,
    #[serde(default)]
    errors: Value,
    #[serde(default)]
    messages: Value,
    result: Option<T>,
    #[serde(default)]
    result_info: Value,
}

fn decode<T: DeserializeOwned>(
    method: &Method,
    url: &str,
    status: u16,
    headers: &HeaderMap,
    bytes: &[u8],
) -> Result<Paged<T>, Error> {
    let refused = |envelope: Option<RawEnvelope<serde::de::IgnoredAny>>| {
        let (errors, messages, body) = match envelope {
            Some(e) => (items(&e.errors), items(&e.messages), None),
            None => (Vec::new(), Vec::new(), Some(snippet(bytes))),
        };
        let request_id = ["x-request-id", "cf-ray"].iter().find_map(|name| {
            headers
                .get(*name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
        Error::Api(Box::new(ApiError {
            status,
            method: method.to_string(),
            url: url.to_owned(),
            errors,
            messages,
            request_id,
            body,
        }))
    };
    if !(200..300).contains(&status) {
        return Err(refused(serde_json::from_slice(bytes).ok()));
    }
    match serde_json::from_slice::<RawEnvelope<T>>(bytes) {
        Ok(envelope) if envelope.success == Some(false) => Err(refused(Some(RawEnvelope {
            success: envelope.success,
            errors: envelope.errors,
            messages: envelope.messages,
            result: None,
            result_info: Value::Null,
        }))),
        Ok(envelope) => match envelope
            .result
            .map(Ok)
            // A `null` or absent result suits the types that accept `null` (lists, `()`).
            .unwrap_or_else(|| T::deserialize(Value::Null))
        {
            Ok(result) => Ok(Paged {
                result,
                result_info: result_info(&envelope.result_info),
            }),
            Err(_) => Err(Error::Decode {
                url: url.to_owned(),
                status,
                message: "the response has no `result`".into(),
                body: snippet(bytes),
            }),
        },
        Err(e) => {
            // A `success: false` envelope whose result does not fit is still a refusal.
            if let Ok(envelope) =
                serde_json::from_slice::<RawEnvelope<serde::de::IgnoredAny>>(bytes)
                && envelope.success == Some(false)
            {
                return Err(refused(Some(envelope)));
            }
            Err(Error::Decode {
                url: url.to_owned(),
                status,
                message: e.to_string(),
                body: snippet(bytes),
            })
        }
    }
}

/// Error or message items, tolerating `null`, plain strings and odd shapes.
fn items(value: &Value) -> Vec<ErrorItem> {
    let Value::Array(list) = value else {
        return Vec::new();
    };
    list.iter()
        .map(|item| {
            ErrorItem::deserialize(item).unwrap_or_else(|_| match item {
                Value::String(text) => ErrorItem::new(0, text.clone()),
                Value::Object(map) => {
                    let code = match map.get("code") {
                        Some(Value::Number(n)) => n.as_u64(),
                        Some(Value::String(s)) => s.parse().ok(),
                        _ => None,
                    };
                    let message = map
                        .get("message")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .unwrap_or_else(|| item.to_string());
                    ErrorItem::new(
                        code.and_then(|c| u32::try_from(c).ok()).unwrap_or(0),
                        message,
                    )
                }
                other => ErrorItem::new(0, other.to_string()),
            })
        })
        .collect()
}

/// `result_info` with missing counts read as 0; `None` when absent or not an object.
fn result_info(value: &Value) -> Option<ResultInfo> {
    let map = value.as_object()?;
    let number = |name: &str| map.get(name).and_then(Value::as_u64).unwrap_or(0);
    Some(ResultInfo {
        page: u32::try_from(number("page")).unwrap_or(u32::MAX),
        per_page: u32::try_from(number("per_page")).unwrap_or(u32::MAX),
        count: number("count"),
        total_count: number("total_count"),
        total_pages: number("total_pages"),
    })
}

/// The start of a body, as text, for error messages.
fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut end = text.len().min(500);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_queries() {
        assert_eq!(
            segment("reference_id", "a b/c?").unwrap_or_default(),
            "a%20b%2Fc%3F"
        );
        assert!(segment("account_id", "").is_err());
        let request = Request::new(Method::GET, "/x".into())
            .query("page", Some("2".into()))
            .query("order_by", None)
            .query("direction", Some("asc".into()));
        assert_eq!(
            request.url("http://h/v4"),
            "http://h/v4/x?page=2&direction=asc"
        );
    }

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

    #[test]
    fn odd_error_items() {
        let parsed = items(&serde_json::json!([
            "plain text",
            {"code": "1001", "message": 5},
            {"code": 7003, "message": "Could not route"},
            null
        ]));
        assert_eq!(parsed[0], ErrorItem::new(0, "plain text"));
        assert_eq!(parsed[1].code, 1001);
        assert_eq!(parsed[2], ErrorItem::new(7003, "Could not route"));
        assert_eq!(parsed.len(), 4);
        assert!(items(&Value::Null).is_empty());
        assert_eq!(
            result_info(&serde_json::json!({"page": 2})).map(|i| i.page),
            Some(2)
        );
        assert_eq!(result_info(&Value::Null), None);
    }
}
