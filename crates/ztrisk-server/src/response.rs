//! Building envelope bodies. Successful responses are HTTP 200 with `success: true`.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use serde::Serialize;
use ztrisk_types::{Code, Envelope, ErrorItem};

pub const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A pre-serialized JSON body as a 200 response.
pub fn json_bytes(body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    response.headers_mut().insert(header::CONTENT_TYPE, JSON);
    response
}

/// Serializes a successful envelope around `result`.
pub fn envelope_bytes<T: Serialize>(result: &T) -> Result<Bytes, crate::ApiError> {
    serde_json::to_vec(&Envelope::ok(result))
        .map(Bytes::from)
        .map_err(|e| crate::ApiError::Internal(format!("serializing a response: {e}")))
}

/// `{"success": true, ..., "result": result}` with HTTP 200.
pub fn ok<T: Serialize>(result: &T) -> Result<Response, crate::ApiError> {
    envelope_bytes(result).map(json_bytes)
}

/// A successful envelope with `result_info`, for paged collections.
pub fn ok_paged<T: Serialize>(
    result: &T,
    info: ztrisk_types::ResultInfo,
) -> Result<Response, crate::ApiError> {
    let mut envelope = Envelope::ok(result);
    envelope.result_info = Some(info);
    serde_json::to_vec(&envelope)
        .map(|body| json_bytes(Bytes::from(body)))
        .map_err(|e| crate::ApiError::Internal(format!("serializing a response: {e}")))
}

pub fn envelope_failure(status: StatusCode, errors: Vec<ErrorItem>) -> Response {
    let body = serde_json::to_vec(&Envelope::<()>::failure(errors)).unwrap_or_else(|_| {
        format!(
            r#"{{"success":false,"errors":[{{"code":{},"message":"{}"}}],"messages":[],"result":null}}"#,
            Code::Internal.number(),
            Code::Internal.message()
        )
        .into_bytes()
    });
    let mut response = json_bytes(Bytes::from(body));
    *response.status_mut() = status;
    response
}
