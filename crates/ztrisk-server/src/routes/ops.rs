//! Operations endpoints, without credentials: liveness and readiness.

use super::Api;
use crate::app::AppState;
use crate::error::ApiError;
use crate::response::ok;
use axum::extract::State;
use axum::http::Method;
use axum::response::Response;
use ztrisk_types::Status;

pub fn routes(api: Api) -> Api {
    api.route(Method::GET, "/healthz", healthz)
        .route(Method::GET, "/readyz", readyz)
}

fn status(status: &str) -> Result<Response, ApiError> {
    ok(&Status {
        status: status.to_owned(),
    })
}

async fn healthz() -> Result<Response, ApiError> {
    status("ok")
}

async fn readyz(State(state): State<AppState>) -> Result<Response, ApiError> {
    match state.store.ping().await {
        Ok(()) => status("ready"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::Unavailable)
        }
    }
}
