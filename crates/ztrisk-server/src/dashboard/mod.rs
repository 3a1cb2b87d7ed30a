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

use crate::app::{AppState, ServerConfig};
use axum::Router;
use axum::extract::OriginalUri;
use axum::http::Method;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};

pub use error::Problem;

/// Where the dashboard lives.
pub const ROOT: &str = "/dashboard";

/// Every page and action of the dashboard. Which of them a credential may use is decided by
/// the API's permissions table ([`crate::auth::operations`]): pages check the operation they
/// read with, and actions are API calls.
pub fn routes(config: &ServerConfig) -> Router<AppState> {
    let router = pages();
    if config.public_url.starts_with("https://") {
        // Reached over HTTPS: browsers are told to come back only that way (a year, the
        // usual), so a session cookie is never offered to a downgraded connection.
        router.layer(axum::middleware::map_response(
            |mut response: Response| async move {
                response.headers_mut().insert(
                    header::STRICT_TRANSPORT_SECURITY,
                    HeaderValue::from_static("max-age=31536000"),
                );
                response
            },
        ))
    } else {
        router
    }
}

fn pages() -> Router<AppState> {
    Router::new()
        .route("/", any(root))
        .route("/dashboard", get(session::home))
        .route("/dashboard/", get(session::home))
        .route(
            "/dashboard/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route(
            "/dashboard/sign-out",
            post(session::sign_out).get(form_page),
        )
        .route("/dashboard/assets/dashboard.css", get(stylesheet))
        .route("/dashboard/assets/icon.svg", get(icon))
        .route("/dashboard/{account_id}/users", get(users::page))
        .route("/dashboard/{account_id}/users/{user_id}", get(user::page))
        .route(
            "/dashboard/{account_id}/users/{user_id}/reset",
            post(user::reset).get(form_page),
        )
        .route(
            "/dashboard/{account_id}/users/{user_id}/confirm-compromised",
            post(user::confirm_compromised).get(form_page),
        )
        .route("/dashboard/{account_id}/behaviors", get(behaviors::page))
        .route(
            "/dashboard/{account_id}/behaviors/{behavior_id}",
            post(behaviors::save).get(form_page),
        )
        .route(
            "/dashboard/{account_id}/integrations",
            get(integrations::page).post(integrations::create_integration),
        )
        .route(
            "/dashboard/{account_id}/integrations/{integration_id}/active",
            post(integrations::set_active).get(form_page),
        )
        .route(
            "/dashboard/{account_id}/integrations/{integration_id}/delete",
            post(integrations::delete).get(form_page),
        )
        .route(
            "/dashboard/{account_id}/webhooks",
            post(integrations::create_webhook).get(form_page),
        )
        .route(
            "/dashboard/{account_id}/webhooks/{webhook_id}/active",
            post(integrations::set_active).get(form_page),
        )
        .route(
            "/dashboard/{account_id}/webhooks/{webhook_id}/delete",
            post(integrations::delete).get(form_page),
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

/// GET on a form's address (a reload of the page a failed form rendered, the address bar):
/// the page that form is on, rather than an API error.
async fn form_page(uri: OriginalUri) -> Redirect {
    Redirect::to(&page_of_form(uri.0.path()))
}

/// `/dashboard/{a}/users/{u}/reset` → `/dashboard/{a}/users/{u}`, `.../behaviors/{id}` →
/// `.../behaviors#behavior-{id}`, integrations' and webhooks' forms → `.../integrations`.
fn page_of_form(path: &str) -> String {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["dashboard", account, "users", user, _action] => format!("{ROOT}/{account}/users/{user}"),
        ["dashboard", account, "behaviors", id] => {
            format!("{ROOT}/{account}/behaviors#behavior-{id}")
        }
        ["dashboard", account, "integrations" | "webhooks", ..] => {
            format!("{ROOT}/{account}/integrations")
        }
        _ => ROOT.to_owned(),
    }
}

/// A browser asking for the server's root is sent to the dashboard; an API client gets the
/// API's usual answer for a path that is not a route.
async fn root(method: Method, headers: HeaderMap) -> Response {
    let wants_html = method == Method::GET
        && headers
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_address_leads_back_to_its_page() {
        assert_eq!(
            page_of_form("/dashboard/a1/users/u1/reset"),
            "/dashboard/a1/users/u1"
        );
        assert_eq!(
            page_of_form("/dashboard/a1/behaviors/imp_travel"),
            "/dashboard/a1/behaviors#behavior-imp_travel"
        );
        assert_eq!(
            page_of_form("/dashboard/a1/webhooks"),
            "/dashboard/a1/integrations"
        );
        assert_eq!(
            page_of_form("/dashboard/a1/integrations/i1/delete"),
            "/dashboard/a1/integrations"
        );
        assert_eq!(page_of_form("/dashboard/sign-out"), "/dashboard");
    }
}
