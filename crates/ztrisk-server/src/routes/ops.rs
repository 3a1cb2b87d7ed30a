//! Operations endpoints, without credentials: liveness, readiness and metrics.

use super::Api;
use crate::app::AppState;
use crate::error::ApiError;
use crate::metrics::Gauges;
use crate::response::ok;
use axum::extract::State;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use ztrisk_core::RiskLevel;
use ztrisk_types::Status;

pub fn routes(api: Api) -> Api {
    api.route(Method::GET, "/healthz", healthz)
        .route(Method::GET, "/readyz", readyz)
        .route(Method::GET, "/metrics", metrics)
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

/// Prometheus text: this process's counters, and the shared state read from the store now.
async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let (users, outbox) =
        tokio::try_join!(state.store.users_by_level(), state.store.outbox_stats())
            .map_err(|e| ApiError::Internal(format!("reading metrics: {e}")))?;
    let age = outbox.oldest_pending_at.map_or(0.0, |at| {
        (chrono::Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0
    });
    let gauges = Gauges {
        users_by_level: RiskLevel::ALL
            .iter()
            .map(|level| {
                let n = users
                    .iter()
                    .find(|(l, _)| l == level)
                    .map_or(0, |(_, n)| *n);
                (level.as_str(), n)
            })
            .collect(),
        deliveries: outbox.by_kind_and_status,
        outbox_pending: outbox.pending,
        outbox_oldest_pending_seconds: age,
    };
    let body = state.metrics.render(&gauges);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response())
}
