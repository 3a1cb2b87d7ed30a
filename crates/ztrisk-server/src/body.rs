//! Request bodies: JSON only, bounded, and every failure in the envelope.

use crate::error::ApiError;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;
use std::borrow::Cow;
use ztrisk_ingest::body::{self, BodyError, Encoding};

/// A request body parsed as JSON. Validation into domain types is the handler's job, so that
/// every problem can be reported with its pointer.
pub struct JsonBody(pub serde_json::Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        check_json_content_type(req.headers())?;
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::BodyTooLarge
            } else {
                ApiError::MalformedJson
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|_| ApiError::MalformedJson)
    }
}

/// A missing Content-Type is accepted (curl scripts often omit it); any other non-JSON type is
/// refused.
pub fn check_json_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .ok()
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let is_json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if is_json {
        Ok(())
    } else {
        Err(ApiError::UnsupportedContentType)
    }
}

/// The request's body as plain bytes: gzip is decompressed (`Content-Encoding: gzip`, or
/// gzip's magic bytes), and more than `limit` bytes once decompressed is 1413, so a
/// decompression bomb is refused after at most `limit` bytes of work.
pub async fn read_decoded(request: Request, limit: usize) -> Result<Bytes, ApiError> {
    let encoding = Encoding::from_header(
        request
            .headers()
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok()),
    )
    .map_err(body_error)?;
    let raw = Bytes::from_request(request, &())
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::BodyTooLarge
            } else {
                ApiError::MalformedJson
            }
        })?;
    match body::decode(&raw, encoding, limit).map_err(body_error)? {
        Cow::Borrowed(_) => Ok(raw),
        Cow::Owned(decoded) => Ok(Bytes::from(decoded)),
    }
}

fn body_error(e: BodyError) -> ApiError {
    match e {
        BodyError::TooLarge => ApiError::BodyTooLarge,
        BodyError::NotGzip(why) => ApiError::BadRequest(format!(
            "the body is not valid gzip ({why}); send gzip with `Content-Encoding: gzip`, or plain JSON without it"
        )),
        BodyError::UnsupportedEncoding(encoding) => ApiError::BadRequest(format!(
            "unsupported Content-Encoding {encoding:?}: send gzip or no encoding"
        )),
    }
}
