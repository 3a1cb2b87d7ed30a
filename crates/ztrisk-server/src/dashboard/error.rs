//! What a dashboard request can fail with, as pages (the API's errors are JSON envelopes; a
//! person gets a page that says what to do).

use super::layout;
use crate::error::ApiError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use ztrisk_core::Permission;

#[derive(Debug)]
pub enum Problem {
    /// No session cookie: sign in. (A navigation from another site arrives without the
    /// SameSite=Strict cookie; it must not cost the person their session.)
    SignIn,
    /// A session cookie naming no live session (ended, expired, or its credential revoked):
    /// sign in again, and the browser forgets the cookie.
    SessionEnded,
    /// No such page for this credential (an unknown user, another account's page).
    NotFound,
    /// The credential lacks every permission the operation accepts.
    Forbidden(&'static [Permission]),
    /// A form that did not come from this session's own page.
    Csrf,
    /// An action the API refused as a whole (not at a form's field): what it said.
    Refused(String),
    RateLimited(u64),
    Unavailable,
    /// Logged with its detail; the person sees a plain apology.
    Internal(String),
}

impl From<ApiError> for Problem {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::MissingCredentials
            | ApiError::MalformedAuthorization
            | ApiError::MalformedAuthKey
            | ApiError::MalformedAuthEmail
            | ApiError::AuthenticationFailed
            | ApiError::Unauthenticated => Problem::SessionEnded,
            ApiError::NotFound(_) | ApiError::NoRoute(_) => Problem::NotFound,
            ApiError::RateLimited { retry_after_secs } => Problem::RateLimited(retry_after_secs),
            ApiError::Unavailable => Problem::Unavailable,
            other => Problem::Internal(format!("{other:?}")),
        }
    }
}

impl From<ztrisk_store::StoreError> for Problem {
    fn from(e: ztrisk_store::StoreError) -> Self {
        Problem::Internal(e.to_string())
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        match self {
            Problem::SignIn => Redirect::to("/dashboard/sign-in").into_response(),
            Problem::SessionEnded => {
                let mut response = Redirect::to("/dashboard/sign-in").into_response();
                // Whatever the cookie held is of no use any more.
                for cookie in super::session::expired_cookies() {
                    response.headers_mut().append(header::SET_COOKIE, cookie);
                }
                response
            }
            Problem::Refused(message) => layout::message_page(
                StatusCode::BAD_REQUEST,
                "Not done",
                html! {
                    p { "ztrisk refused this: " (message) }
                    p { a href="/dashboard" { "Back to the dashboard" } }
                },
            ),
            Problem::NotFound => not_found_page(),
            Problem::Forbidden(accepted) => layout::message_page(
                StatusCode::FORBIDDEN,
                "Not allowed",
                html! {
                    p {
                        "The credential you signed in with cannot do this."
                        @if !accepted.is_empty() { " It needs " strong { (layout::permission_names(accepted)) } "." }
                    }
                },
            ),
            Problem::Csrf => layout::message_page(
                StatusCode::FORBIDDEN,
                "Form refused",
                html! {
                    p { "This form did not come from your dashboard session (another site sent it, or the page is older than your current session). Nothing was changed." }
                    p { a href="/dashboard" { "Back to the dashboard" } }
                },
            ),
            Problem::RateLimited(retry_after) => {
                let mut response = layout::message_page(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many requests",
                    html! { p { "This credential has used its request budget for the minute. Try again in " (retry_after) " seconds." } },
                );
                if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                response
            }
            Problem::Unavailable => layout::message_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Database unavailable",
                html! { p { "ztrisk cannot reach its database right now. Try again shortly." } },
            ),
            Problem::Internal(detail) => {
                let mut response = layout::message_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    html! { p { "ztrisk could not show this page. The server's log has the error, under the request id this response carries in its X-Request-Id header." } },
                );
                // Logged with the request id by the request-id layer, which keeps this page.
                response
                    .extensions_mut()
                    .insert(crate::error::InternalErrorDetail(detail));
                response
            }
        }
    }
}

/// An id in a dashboard path; anything else is a page that does not exist.
pub fn id(raw: &str) -> Result<uuid::Uuid, Problem> {
    uuid::Uuid::parse_str(raw).map_err(|_| Problem::NotFound)
}

/// The page for a path that does not exist (or that this credential may not know exists).
pub fn not_found_page() -> Response {
    layout::message_page(
        StatusCode::NOT_FOUND,
        "Not found",
        html! {
            p { "There is nothing here for the credential you signed in with." }
            p { a href="/dashboard" { "Go to the dashboard" } }
        },
    )
}
