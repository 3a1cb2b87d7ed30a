//! One module per resource. Paths are relative to the API root (`/` or `/client/v4`).

pub mod behaviors;
mod events;
mod integrations;
pub mod ops;
mod tokens;
pub mod users;

use crate::app::AppState;
use crate::error::ApiError;
use axum::Router;
use axum::extract::{OriginalUri, RawPathParams};
use uuid::Uuid;

pub fn api() -> Router<AppState> {
    Router::new()
        .merge(behaviors::routes())
        .merge(events::routes())
        .merge(integrations::routes())
        .merge(users::routes())
        .merge(tokens::routes())
}

/// A UUID path segment; anything else means there is no such route (404, 7003/7000).
pub fn uuid_param(params: &RawPathParams, name: &str, uri: &OriginalUri) -> Result<Uuid, ApiError> {
    params
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, value)| Uuid::parse_str(value).ok())
        .ok_or_else(|| ApiError::NoRoute(uri.0.path().to_owned()))
}
