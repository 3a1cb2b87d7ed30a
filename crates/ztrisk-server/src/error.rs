//! The one table of errors the API can return. Every failure a handler or extractor produces
//! is an [`ApiError`]; nothing else builds an error body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ztrisk_core::FieldError;
use ztrisk_types::{Code, ErrorItem};

#[derive(Debug)]
pub enum ApiError {
    /// Neither `Authorization` nor both `X-Auth-*` headers.
    MissingCredentials,
    MalformedAuthorization,
    MalformedAuthKey,
    MalformedAuthEmail,
    /// Unknown, revoked or expired token; wrong key.
    AuthenticationFailed,
    /// (SSF endpoints) no valid Bearer API token: 401 with `WWW-Authenticate`.
    Unauthenticated,
    /// Valid credentials that may not do this here; the text says what is missing.
    Unauthorized(String),
    /// The decision endpoint refuses the user (spec 6.3); says who and at which level.
    DeniedByRisk(String),
    /// No route, or a malformed id in the path; carries the path.
    NoRoute(String),
    /// A known path with a method it does not serve (the `Allow` header is kept).
    MethodNotAllowed,
    MalformedJson,
    UnsupportedContentType,
    BodyTooLarge,
    /// The body did not arrive within the body read timeout (408; the connection is closed).
    RequestTimeout,
    /// The request line and headers are over the server's limit (431).
    HeadersTooLarge,
    Invalid(Vec<FieldError>),
    /// A request that is wrong as a whole, not in one field (a gzip body that is not gzip);
    /// the text says what is wrong.
    BadRequest(String),
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
    /// The row of the code table this error is.
    pub fn code(&self) -> Code {
        match self {
            ApiError::MissingCredentials => Code::MissingCredentials,
            ApiError::MalformedAuthorization
            | ApiError::MalformedAuthKey
            | ApiError::MalformedAuthEmail => Code::InvalidHeaders,
            ApiError::AuthenticationFailed => Code::AuthenticationError,
            ApiError::Unauthenticated => Code::Unauthenticated,
            ApiError::Unauthorized(_) | ApiError::DeniedByRisk(_) => Code::Unauthorized,
            ApiError::NoRoute(_) => Code::CouldNotRoute,
            ApiError::MethodNotAllowed => Code::MethodNotAllowed,
            ApiError::MalformedJson => Code::MalformedJson,
            ApiError::UnsupportedContentType => Code::UnsupportedContentType,
            ApiError::BodyTooLarge => Code::BodyTooLarge,
            ApiError::RequestTimeout => Code::RequestTimeout,
            ApiError::HeadersTooLarge => Code::HeadersTooLarge,
            ApiError::Invalid(_) | ApiError::BadRequest(_) => Code::InvalidRequest,
            ApiError::NotFound(_) => Code::NotFound,
            ApiError::Conflict(_) => Code::Conflict,
            ApiError::RateLimited { .. } => Code::RateLimited,
            ApiError::Unavailable => Code::Unavailable,
            ApiError::Internal(_) => Code::Internal,
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The `errors` array, codes and messages as Cloudflare sends them.
    pub fn items(&self) -> Vec<ErrorItem> {
        let code = self.code();
        let item = |message: String| ErrorItem::new(code.number(), message);
        let plain = || vec![item(code.message().to_owned())];
        let invalid_headers = |cause: Code| {
            vec![item(code.message().to_owned()).with_chain(cause.number(), cause.message())]
        };
        match self {
            ApiError::MalformedAuthorization => invalid_headers(Code::MalformedAuthorization),
            ApiError::MalformedAuthKey => invalid_headers(Code::MalformedAuthKey),
            ApiError::MalformedAuthEmail => invalid_headers(Code::MalformedAuthEmail),
            ApiError::Unauthorized(what) => vec![item(format!("{}: {what}", code.message()))],
            ApiError::DeniedByRisk(what) => vec![item(format!("Denied by user risk: {what}"))],
            ApiError::NoRoute(path) => vec![
                item(format!(
                    "Could not route to {path}, perhaps your object identifier is invalid?"
                )),
                ErrorItem::new(Code::NoRoute.number(), Code::NoRoute.message()),
            ],
            ApiError::Invalid(problems) => problems.iter().map(invalid_item).collect(),
            ApiError::BadRequest(what) => vec![item(format!("{}: {what}", code.message()))],
            ApiError::NotFound(thing) => vec![item(format!("{thing} not found"))],
            ApiError::Conflict(what) => vec![item(what.clone())],
            ApiError::MissingCredentials
            | ApiError::AuthenticationFailed
            | ApiError::Unauthenticated
            | ApiError::MethodNotAllowed
            | ApiError::MalformedJson
            | ApiError::UnsupportedContentType
            | ApiError::BodyTooLarge
            | ApiError::RequestTimeout
            | ApiError::HeadersTooLarge
            | ApiError::RateLimited { .. }
            | ApiError::Unavailable
            | ApiError::Internal(_) => plain(),
        }
    }

    pub fn invalid(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError::new(pointer, message)])
    }
}

/// One 1001 item: "Invalid request: <what was expected>", pointing at the field at fault.
pub fn invalid_item(problem: &FieldError) -> ErrorItem {
    invalid_item_with(problem, "Invalid request", "")
}

/// A 1001 item with another lead (`"Invalid event"`) and a pointer prefix (`/3` for the
/// fourth record of a batch).
pub fn invalid_item_with(problem: &FieldError, lead: &str, prefix: &str) -> ErrorItem {
    ErrorItem::new(
        Code::InvalidRequest.number(),
        format!("{lead}: {}", problem.message),
    )
    .with_pointer(format!("{prefix}{}", problem.pointer))
}

impl From<ztrisk_store::StoreError> for ApiError {
    fn from(e: ztrisk_store::StoreError) -> Self {
        match e {
            ztrisk_store::StoreError::Conflict(message) => ApiError::Conflict(message),
            other => ApiError::Internal(other.to_string()),
        }
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
            ApiError::Unauthenticated => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"ztrisk\""),
                );
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
            // The rest of a trickling body is still on its way: the connection cannot carry
            // another request, and closing it is what frees the server from the slow client.
            ApiError::RequestTimeout => {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    }
}
