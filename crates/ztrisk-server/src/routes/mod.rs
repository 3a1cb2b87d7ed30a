//! One module per resource. Paths are relative to the API root (`/` or `/client/v4`).

mod behaviors;
pub mod ops;
mod tokens;

use crate::app::AppState;
use axum::Router;

pub fn api() -> Router<AppState> {
    Router::new()
        .merge(behaviors::routes())
        .merge(tokens::routes())
}
