//! What can go wrong: [`Error`], and [`ApiError`] for an answer the API refused.

use std::fmt;
use std::time::Duration;
use ztrisk_types::ErrorItem;

/// Everything a call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered, and refused: a non-2xx status, or `"success": false`.
    #[error(transparent)]
    Api(#[from] Box<ApiError>),

    /// The server could not be reached, or the connection broke (retried first).
    #[error("cannot reach {url}: {source}")]
    Connection {
        /// The URL of the request.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },

    /// No answer within the configured timeout (retried first).
    #[error("no answer from {url} within {timeout:?}")]
    Timeout {
        /// The URL of the request.
        url: String,
        /// The timeout that passed.
        timeout: Duration,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },

    /// The answer was successful but its body is not what this endpoint returns.
    #[error("unexpected response from {url} (HTTP {status}): {message}")]
    Decode {
        /// The URL of the request.
        url: String,
        /// The HTTP status.
        status: u16,
        /// What did not match.
        message: String,
        /// The start of the body, for diagnosis.
        body: String,
    },

    /// The client is misconfigured (no credentials, a bad base URL...).
    #[error("invalid client configuration: {0}")]
    Config(String),

    /// A parameter cannot be sent as given (e.g. an empty id).
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
}

impl Error {
    /// The refusal, when the API answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status of the answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the API never answered: connection failure or timeout.
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Connection { .. } | Error::Timeout { .. })
    }
}

/// The class of an API refusal, by HTTP status, as the official SDKs name their exceptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// 400: the request is malformed or a field is invalid (see the items' pointers).
    BadRequest,
    /// 401.
    Authentication,
    /// 403: the credentials are unknown, or may not do this on this account.
    PermissionDenied,
    /// 404: no such route, account, user or integration.
    NotFound,
    /// 409: a conflict, e.g. a duplicate `reference_id`.
    Conflict,
    /// 422.
    UnprocessableEntity,
    /// 429: rate limited.
    RateLimited,
    /// 5xx.
    InternalServer,
    /// Any other status (including a 2xx with `"success": false`).
    Other,
}

/// An answer the API refused, with the HTTP status and every `errors` item.
///
/// Each [`ErrorItem`] carries Cloudflare's numeric `code`, the `message`, the JSON pointer of
/// the field at fault in `source.pointer` (for validation errors), and the nested causes in
/// `error_chain` (for header errors such as code 6003).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// The request's method, e.g. `PUT`.
    pub method: String,
    /// The request's URL.
    pub url: String,
    /// The `errors` of the envelope (empty when the body was not an envelope).
    pub errors: Vec<ErrorItem>,
    /// The `messages` of the envelope.
    pub messages: Vec<ErrorItem>,
    /// The request id the server gave (`x-request-id`, or Cloudflare's `cf-ray`).
    pub request_id: Option<String>,
    /// The start of the body when it was not a JSON envelope (e.g. a proxy's HTML page).
    pub body: Option<String>,
}

impl ApiError {
    /// The class of the refusal, by HTTP status.
    pub fn kind(&self) -> ApiErrorKind {
        match self.status {
            400 => ApiErrorKind::BadRequest,
            401 => ApiErrorKind::Authentication,
            403 => ApiErrorKind::PermissionDenied,
            404 => ApiErrorKind::NotFound,
            409 => ApiErrorKind::Conflict,
            422 => ApiErrorKind::UnprocessableEntity,
            429 => ApiErrorKind::RateLimited,
            500..=599 => ApiErrorKind::InternalServer,
            _ => ApiErrorKind::Other,
        }
    }

    /// The `code` of every error item, in order.
    pub fn codes(&self) -> Vec<u32> {
        self.errors.iter().map(|e| e.code).collect()
    }

    /// Whether some error item, or a cause in its `error_chain`, has `code`.
    pub fn has_code(&self, code: u32) -> bool {
        self.errors
            .iter()
            .any(|e| e.code == code || e.error_chain.iter().any(|c| c.code == code))
    }

    /// The `source.pointer` of every error item that has one.
    pub fn pointers(&self) -> Vec<&str> {
        self.errors
            .iter()
            .filter_map(|e| e.source.as_ref().map(|s| s.pointer.as_str()))
            .collect()
    }
}

/// `code message (at /pointer) [code message]` for one error item.
pub fn describe_item(item: &ErrorItem) -> String {
    let mut text = format!("{} {}", item.code, item.message);
    if let Some(source) = &item.source {
        text.push_str(&format!(" (at {})", source.pointer));
    }
    for cause in &item.error_chain {
        text.push_str(&format!(" [{} {}]", cause.code, cause.message));
    }
    text
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: HTTP {}", self.method, self.url, self.status)?;
        if self.errors.is_empty() {
            match &self.body {
                Some(body) if !body.trim().is_empty() => write!(f, ": {}", body.trim()),
                _ => Ok(()),
            }
        } else {
            let items: Vec<String> = self.errors.iter().map(describe_item).collect();
            write!(f, ": {}", items.join("; "))
        }
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_codes() {
        let error = ApiError {
            status: 400,
            method: "GET".into(),
            url: "http://x/behaviors".into(),
            errors: vec![
                ErrorItem::new(6003, "Invalid request headers")
                    .with_chain(6111, "Invalid format for Authorization header"),
                ErrorItem::new(1001, "Invalid request: bad").with_pointer("/a/b"),
            ],
            messages: vec![],
            request_id: None,
            body: None,
        };
        assert_eq!(
            error.to_string(),
            "GET http://x/behaviors: HTTP 400: 6003 Invalid request headers \
             [6111 Invalid format for Authorization header]; 1001 Invalid request: bad (at /a/b)"
        );
        assert!(error.has_code(6111) && error.has_code(1001) && !error.has_code(7000));
        assert_eq!(error.codes(), vec![6003, 1001]);
        assert_eq!(error.pointers(), vec!["/a/b"]);
        assert_eq!(error.kind(), ApiErrorKind::BadRequest);
    }
}
