//! ztrisk's HTTP API: Cloudflare's `zt_risk_scoring` endpoints, served by axum.
//!
//! [`router`] is a plain function of an [`AppState`], so tests can drive it in-process or over
//! a real socket; [`serve`] binds nothing itself and runs until the shutdown future resolves.

mod app;
mod auth;
mod body;
mod cache;
pub mod dashboard;
mod error;
pub mod expiry;
mod limits;
pub mod metrics;
pub mod openapi;
mod query;
mod rate_limit;
mod request_id;
mod response;
mod routes;
mod server;
pub mod sharing;
pub mod streaming;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;
mod views;

pub use app::{AppState, ServerConfig, router, start_sharing};
pub use auth::operations;
pub use error::ApiError;
/// How long the decision endpoint trusts a level it read (spec 6.3).
pub use routes::decision::MAX_AGE as DECISION_MAX_AGE;
pub use server::{serve, serve_with};
pub use tls::{Tls, TlsError};
