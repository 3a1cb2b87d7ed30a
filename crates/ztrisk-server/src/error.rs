//! The one table of errors the API can return. Every failure a handler or extractor produces
//! is an [`ApiError`]; nothing else builds an error body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ztrisk_core::FieldError;
use ztrisk_types::ErrorItem;

#[derive(Debug)]
pub enum ApiError {
    /// Neither `Authorization` nor both `X-Auth-*` headers.
    MissingCredentials,
    MalformedAuthorization,
    MalformedAuthKey,
    MalformedAuthEmail,
    /// Unknown, revoked or expired token; wrong key.
    AuthenticationFailed,
    /// Valid credentials that may not do this here; the text says what is missing.
    Unauthorized(String),
    /// No route, or a malformed id in the path; carries the path.
    NoRoute(String),
    /// A known path with a method it does not serve (the `Allow` header is kept).
    MethodNotAllowed,
    MalformedJson,
    UnsupportedContentType,
    BodyTooLarge,
    Invalid(Vec<FieldError>),
    /// A well-formed id naming nothing: "User", "Integration"...
    NotFound(&'static str),
    Conflict(String),
    RateLimited {
        retry_after_secs: u64,
    },
    /// The database does not answer (readiness probe); 503 so load balancers route around.
    Unavailable,
    /// Details go to the log with the request id, never to the client.
    Internal(String),
}

/// Marks a 500 response so the request-id layer can log its cause and answer with the id.
#[derive(Debug, Clone)]
pub struct InternalErrorDetail(pub String);

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MissingCredentials
            | ApiError::MalformedAuthorization
            | ApiError::MalformedAuthKey
            | ApiError::MalformedAuthEmail
            | ApiError::MalformedJson
            | ApiError::UnsupportedContentType
            | ApiError::Invalid(_) => StatusCode::BAD_REQUEST,
            ApiError::AuthenticationFailed | ApiError::Unauthorized(_) => StatusCode::FORBIDDEN,
            ApiError::NoRoute(_) | ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `errors` array, codes and messages as Cloudflare sends them.
    pub fn items(&self) -> Vec<ErrorItem> {
        let invalid_headers = |code, message| {
            vec![ErrorItem::new(6003, "Invalid request headers").with_chain(code, message)]
        };
        match self {
            ApiError::MissingCredentials => vec![ErrorItem::new(
                9106,
                "Missing X-Auth-Key, X-Auth-Email or Authorization headers",
            )],
            ApiError::MalformedAuthorization => {
                invalid_headers(6111, "Invalid format for Authorization header")
            }
            ApiError::MalformedAuthKey => {
                invalid_headers(6103, "Invalid format for X-Auth-Key header")
            }
            ApiError::MalformedAuthEmail => {
                invalid_headers(6102, "Invalid format for X-Auth-Email header")
            }
            ApiError::AuthenticationFailed => vec![ErrorItem::new(10000, "Authentication error")],
            ApiError::Unauthorized(what) => vec![ErrorItem::new(
                9109,
                format!("Unauthorized to access requested resource: {what}"),
            )],
            ApiError::NoRoute(path) => vec![
                ErrorItem::new(
                    7003,
                    format!(
                        "Could not route to {path}, perhaps your object identifier is invalid?"
                    ),
                ),
                ErrorItem::new(7000, "No route for that URI"),
            ],
            ApiError::MethodNotAllowed => vec![ErrorItem::new(10405, "Method not allowed")],
            ApiError::MalformedJson => vec![ErrorItem::new(6007, "Malformed JSON in request body")],
            ApiError::UnsupportedContentType => {
                vec![ErrorItem::new(
                    9207,
                    "Content-type must be application/json.",
                )]
            }
            ApiError::BodyTooLarge => vec![ErrorItem::new(1413, "Request body too large")],
            ApiError::Invalid(problems) => problems
                .iter()
                .map(|p| {
                    ErrorItem::new(1001, format!("Invalid request: {}", p.message))
                        .with_pointer(p.pointer.clone())
                })
                .collect(),
            ApiError::NotFound(thing) => vec![ErrorItem::new(1404, format!("{thing} not found"))],
            ApiError::Conflict(what) => vec![ErrorItem::new(1409, what.clone())],
            ApiError::RateLimited { .. } => vec![ErrorItem::new(
                971,
                "Please wait and consider throttling your request speed",
            )],
            ApiError::Unavailable => vec![ErrorItem::new(1503, "Storage unavailable")],
            ApiError::Internal(_) => vec![ErrorItem::new(1500, "Internal error")],
        }
    }

    pub fn invalid(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError::new(pointer, message)])
    }
}

impl From<ztrisk_store::StoreError> for ApiError {
    fn from(e: ztrisk_store::StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = crate::response::envelope_failure(status, self.items());
        match self {
            ApiError::RateLimited { retry_after_secs } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            // A conflict will not go away by itself; the official SDKs retry 409 unless told.
            ApiError::Conflict(_) => {
                response
                    .headers_mut()
                    .insert("x-should-retry", HeaderValue::from_static("false"));
            }
            ApiError::Internal(detail) => {
                response
                    .extensions_mut()
                    .insert(InternalErrorDetail(detail));
            }
            _ => {}
        }
        response
    }
}
