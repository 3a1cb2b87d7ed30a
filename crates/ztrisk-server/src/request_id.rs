//! The outermost layer: gives every request an id, logs it, and makes sure no response leaves
//! without the envelope.

use crate::error::{ApiError, InternalErrorDetail};
use crate::response::envelope_failure;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;
use ztrisk_types::{Code, ErrorItem};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub async fn layer(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = incoming_id(&request).unwrap_or_else(new_id);
    let method = request.method().clone();
    // A cheap handle on the path (the URI shares its bytes); turned into text only when needed.
    let uri = request.uri().clone();

    let mut response = next.run(request).await;
    let path = uri.path();

    if let Some(InternalErrorDetail(detail)) =
        response.extensions_mut().remove::<InternalErrorDetail>()
    {
        tracing::error!(request_id = %id, %method, %path, error = %detail, "internal error");
        // A dashboard page already says it failed, without the detail; API clients get the
        // envelope with the id.
        if !is_html(&response) {
            response = internal_error(&id);
        }
    } else if !is_json(&response) && !is_html(&response) {
        response = envelope_for_bare(response, path, &id);
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    tracing::debug!(
        request_id = %id,
        %method,
        %path,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}

/// A request id from a load balancer in front is kept, if it is a sane token.
fn incoming_id(request: &Request) -> Option<String> {
    let value = request.headers().get(REQUEST_ID)?.to_str().ok()?;
    let sane = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    sane.then(|| value.to_owned())
}

fn new_id() -> String {
    format!("{:016x}", rand_u64())
}

/// From the thread's generator, seeded once: an id per request must not cost a system call.
fn rand_u64() -> u64 {
    rand::random()
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// The dashboard's pages, errors included, stay pages.
fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

/// Responses produced by the framework itself (unknown route, wrong method, a rejection
/// that slipped through) become the error the table prescribes, keeping headers like `Allow`.
fn envelope_for_bare(response: Response, path: &str, id: &str) -> Response {
    let status = response.status();
    let error = match status {
        s if s.is_success() || s.is_informational() || s.is_redirection() => return response,
        StatusCode::NOT_FOUND => ApiError::NoRoute(path.to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::BodyTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedContentType,
        s if s.is_client_error() => ApiError::MalformedJson,
        _ => {
            tracing::error!(request_id = %id, %path, status = status.as_u16(), "bare error response");
            return internal_error(id);
        }
    };
    let (mut parts, _) = response.into_parts();
    let fresh = error.into_response();
    parts
        .headers
        .insert(header::CONTENT_TYPE, crate::response::JSON);
    parts.headers.remove(header::CONTENT_LENGTH);
    let (_, body) = fresh.into_parts();
    Response::from_parts(parts, body)
}

fn internal_error(id: &str) -> Response {
    envelope_failure(
        StatusCode::INTERNAL_SERVER_ERROR,
        vec![ErrorItem::new(
            Code::Internal.number(),
            format!("{} (request id {id})", Code::Internal.message()),
        )],
    )
}
