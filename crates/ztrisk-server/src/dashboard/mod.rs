//! The dashboard (issue 14): who is at risk and why, and the controls to act on it, served by
//! `ztrisk serve` at `/dashboard`.
//!
//! Server-rendered HTML (maud templates, compiled into the binary and escaped by default) with
//! one stylesheet and no JavaScript: every page works with the keyboard and without a build
//! step, and a first load is a few kilobytes.
//!
//! A person signs in with an API token or a global API key; the server keeps a session
//! ([`session`]) that acts with exactly that credential. Every change goes through the API
//! itself, in-process ([`api`]): the same permissions table, validation, audit log and
//! deliveries as a script calling it. Reads the API has no shape for (the users page's
//! filters, counts and chart) come from the store, behind the same operations' permissions.

mod api;
mod audit;
mod behaviors;
mod chart;
mod error;
mod evidence;
mod form;
mod integrations;
mod layout;
mod session;
mod time;
mod user;
mod users;

use crate::app::AppState;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub use error::Problem;

/// Where the dashboard lives.
pub const ROOT: &str = "/dashboard";

/// Every page and action of the dashboard. Which of them a credential may use is decided by
/// the API's permissions table ([`crate::auth::operations`]): pages check the operation they
/// read with, and actions are API calls.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/dashboard", get(session::home))
        .route("/dashboard/", get(session::home))
        .route(
            "/dashboard/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/dashboard/sign-out", post(session::sign_out))
        .route("/dashboard/assets/dashboard.css", get(stylesheet))
        .route("/dashboard/assets/icon.svg", get(icon))
        .route("/dashboard/{account_id}/users", get(users::page))
        .route("/dashboard/{account_id}/users/{user_id}", get(user::page))
        .route(
            "/dashboard/{account_id}/users/{user_id}/reset",
            post(user::reset),
        )
        .route(
            "/dashboard/{account_id}/users/{user_id}/confirm-compromised",
            post(user::confirm_compromised),
        )
        .route("/dashboard/{account_id}/behaviors", get(behaviors::page))
        .route(
            "/dashboard/{account_id}/behaviors/{behavior_id}",
            post(behaviors::save),
        )
        .route(
            "/dashboard/{account_id}/integrations",
            get(integrations::page).post(integrations::create_integration),
        )
        .route(
            "/dashboard/{account_id}/integrations/{integration_id}/active",
            post(integrations::set_integration_active),
        )
        .route(
            "/dashboard/{account_id}/integrations/{integration_id}/delete",
            post(integrations::delete_integration),
        )
        .route(
            "/dashboard/{account_id}/webhooks",
            post(integrations::create_webhook),
        )
        .route(
            "/dashboard/{account_id}/webhooks/{webhook_id}/active",
            post(integrations::set_webhook_active),
        )
        .route(
            "/dashboard/{account_id}/webhooks/{webhook_id}/delete",
            post(integrations::delete_webhook),
        )
        .route("/dashboard/{account_id}/audit", get(audit::page))
}

/// Whether an unrouted path is the dashboard's, to be answered with a page, not JSON.
pub fn owns(path: &str) -> bool {
    path == ROOT || path.starts_with("/dashboard/")
}

/// The page for a dashboard path that does not exist.
pub fn not_found() -> Response {
    error::not_found_page()
}

/// A browser asking for the server's root is sent to the dashboard; an API client gets the
/// API's usual answer for a path that is not a route.
async fn root(headers: HeaderMap) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_html {
        Redirect::to(ROOT).into_response()
    } else {
        crate::error::ApiError::NoRoute("/".into()).into_response()
    }
}

const STYLESHEET: &str = include_str!("../../../../dashboard/dashboard.css");
const ICON: &str = include_str!("../../../../dashboard/icon.svg");

/// Assets change with the binary: cached for a day, revalidated by the version in the URL.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLESHEET)
}

async fn icon() -> Response {
    asset("image/svg+xml", ICON)
}

/// The version the asset URLs carry, so a new binary's stylesheet is fetched at once.
pub(crate) const ASSET_VERSION: &str = env!("CARGO_PKG_VERSION");
