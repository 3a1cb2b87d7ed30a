//! Public discovery documents (spec 4.3), at the root only and without credentials: what a
//! Shared Signals receiver (Okta) reads to verify ztrisk's SETs.

use super::Api;
use crate::app::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{RawPathParams, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

/// The configuration document: both spellings, with and without the trailing slash.
pub const CONFIGURATION_PATHS: [&str; 4] = [
    "/.well-known/sse-configuration/{integration_id}",
    "/.well-known/sse-configuration/{integration_id}/",
    "/.well-known/ssf-configuration/{integration_id}",
    "/.well-known/ssf-configuration/{integration_id}/",
];

pub const JWKS_PATH: &str = "/.well-known/jwks.json";

pub fn routes(api: Api) -> Api {
    CONFIGURATION_PATHS
        .into_iter()
        .fold(api.route(Method::GET, JWKS_PATH, jwks), |api, path| {
            api.route(Method::GET, path, configuration)
        })
}

async fn configuration(
    State(state): State<AppState>,
    params: RawPathParams,
) -> Result<Response, ApiError> {
    // Any malformed id is an unknown integration (404, 1404), as the spec says.
    let id: Uuid = params
        .iter()
        .find(|(name, _)| *name == "integration_id")
        .and_then(|(_, value)| value.parse().ok())
        .ok_or(ApiError::NotFound("Integration"))?;
    let integration = state
        .store
        .integration_by_id(id)
        .await?
        .ok_or(ApiError::NotFound("Integration"))?;
    Ok(Json(crate::views::transmitter_metadata(
        &integration,
        &state.config.public_url,
    ))
    .into_response())
}

async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    let keys = state.sharing.keys(state.store.as_ref()).await?;
    Ok(Json(keys.jwks()).into_response())
}
