//! Signing in and out, and the session a signed-in person's requests carry.
//!
//! The session id is 32 random bytes in an HttpOnly, SameSite=Strict cookie (`Secure`, and
//! `__Host-` prefixed, when the server is reached over HTTPS). The store keeps only its hash,
//! with the hash of the credential it was opened with, so a session acts with exactly that
//! credential: its permissions and accounts are read again on every request, and a revoked or
//! expired token (or a rolled global key) ends the session. The credential itself is never
//! kept, put in a URL or written into a page.
//!
//! Forms are protected against cross-site requests three ways: the cookie is SameSite=Strict,
//! a request from another site (by `Sec-Fetch-Site` or `Origin`) is refused, and every form
//! carries a token derived from the session id, which another site cannot read.

use super::error::Problem;
use super::form::Form;
use super::layout;
use crate::app::AppState;
use crate::auth::{self, Principal};
use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use chrono::{Duration, Utc};
use maud::html;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use ztrisk_core::AccountId;
use ztrisk_core::credentials::SecretHash;
use ztrisk_store::model::DashboardSession;

/// How long a session lasts from sign-in: an on-call shift.
const LIFETIME: Duration = Duration::hours(12);

const COOKIE: &str = "ztrisk_session";
/// Under HTTPS: the prefix makes browsers refuse the cookie unless it is `Secure`, for `/`, and
/// set by this host itself.
const SECURE_COOKIE: &str = "__Host-ztrisk_session";

/// Whether the server is reached over HTTPS (its public URL says so).
fn secure(state: &AppState) -> bool {
    state.config.public_url.starts_with("https://")
}

fn cookie_name(state: &AppState) -> &'static str {
    if secure(state) { SECURE_COOKIE } else { COOKIE }
}

fn set_cookie(state: &AppState, id: &str) -> HeaderValue {
    let secure = if secure(state) { "; Secure" } else { "" };
    let value = format!(
        "{}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        cookie_name(state),
        LIFETIME.num_seconds()
    );
    // The id is base64url: always a valid header value.
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static(""))
}

/// Expires the session cookie in the browser, under both names (the server may have been
/// reached over HTTP and HTTPS).
pub(super) fn expired_cookies() -> impl Iterator<Item = HeaderValue> {
    [(COOKIE, ""), (SECURE_COOKIE, "; Secure")]
        .into_iter()
        .filter_map(|(name, secure)| {
            HeaderValue::from_str(&format!(
                "{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"
            ))
            .ok()
        })
}

/// Most cookies of our name a request is looked up by: another application on the same host
/// (cookies are not separated by port) may have set one too, with a narrower path, which
/// the browser sends first.
const MAX_CANDIDATES: usize = 3;

/// The session ids the request's cookies carry, those shaped like one.
fn session_ids(state: &AppState, headers: &HeaderMap) -> Vec<String> {
    let name = cookie_name(state);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(n, _)| *n == name)
        .map(|(_, value)| value.to_owned())
        .filter(|id| {
            id.len() == 43
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .take(MAX_CANDIDATES)
        .collect()
}

/// The form token of a session: derived from its secret id, so it needs no storage and only
/// the session's own pages can know it.
fn csrf_token(session_id: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"ztrisk dashboard form token\0")
        .chain_update(session_id.as_bytes())
        .finalize();
    URL_SAFE_NO_PAD.encode(digest)
}

/// A signed-in person: who they act as, and their session's form token.
#[derive(Clone)]
pub struct Signed {
    pub principal: Principal,
    pub csrf: String,
    id_hash: SecretHash,
}

impl Signed {
    /// The signed-in person of a request, if any: `None` without a cookie, for an unknown or
    /// expired session, and when the credential no longer authenticates.
    pub async fn of(state: &AppState, headers: &HeaderMap) -> Result<Option<Signed>, Problem> {
        for id in session_ids(state, headers) {
            let id_hash = SecretHash::of(&id);
            let Some(session) = state.store.session(&id_hash, Utc::now()).await? else {
                continue;
            };
            return match auth::session_principal(state, &session.credential).await {
                Ok(principal) => Ok(Some(Signed {
                    principal,
                    csrf: csrf_token(&id),
                    id_hash,
                })),
                Err(ApiError::RateLimited { retry_after_secs }) => {
                    Err(Problem::RateLimited(retry_after_secs))
                }
                Err(ApiError::AuthenticationFailed) => Ok(None),
                Err(other) => Err(other.into()),
            };
        }
        Ok(None)
    }

    /// Parses a submitted form after checking it came from this session's own page.
    pub fn form(&self, headers: &HeaderMap, body: &Bytes) -> Result<Form, Problem> {
        same_site(headers)?;
        let form = Form::parse(body);
        let presented = form.get("_csrf").unwrap_or_default();
        if bool::from(presented.as_bytes().ct_eq(self.csrf.as_bytes())) {
            Ok(form)
        } else {
            Err(Problem::Csrf)
        }
    }
}

/// Refuses a request another site made the browser send.
fn same_site(headers: &HeaderMap) -> Result<(), Problem> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return match site {
            "same-origin" | "none" => Ok(()),
            _ => Err(Problem::Csrf),
        };
    }
    // Older browsers: the Origin of a form post must be this host.
    match (text("origin"), text("host")) {
        (Some(origin), Some(host)) => {
            let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
            if origin_host.eq_ignore_ascii_case(host) {
                Ok(())
            } else {
                Err(Problem::Csrf)
            }
        }
        _ => Ok(()),
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        match Signed::of(state, &parts.headers).await? {
            Some(signed) => Ok(signed),
            None if !session_ids(state, &parts.headers).is_empty() => Err(Problem::SessionEnded),
            None => Err(Problem::SignIn),
        }
    }
}

/// A signed-in person on one of their accounts' pages (`/dashboard/{account_id}/...`).
pub struct AccountPage {
    pub signed: Signed,
    pub account: AccountId,
}

impl AccountPage {
    /// Whether the credential may perform `O` here: pages show only what it can use.
    pub fn may<O: crate::auth::Operation>(&self) -> bool {
        self.signed.principal.may(self.account, O::ACCEPTED)
    }

    /// The same, as a refusal that names the missing permission.
    pub fn require<O: crate::auth::Operation>(&self) -> Result<(), Problem> {
        if self.may::<O>() {
            Ok(())
        } else {
            Err(Problem::Forbidden(O::ACCEPTED))
        }
    }

    /// The dashboard path of this account's `page` (`users`, `behaviors`...).
    pub fn path(&self, page: &str) -> String {
        format!("{}/{}/{page}", super::ROOT, self.account)
    }
}

impl FromRequestParts<AppState> for AccountPage {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let signed = Signed::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state).await.ok();
        let account: AccountId = params
            .as_ref()
            .and_then(|p| p.iter().find(|(name, _)| *name == "account_id"))
            .and_then(|(_, value)| value.parse().ok())
            .ok_or(Problem::NotFound)?;
        // Another account's pages do not exist for this credential, whether or not the
        // account does.
        if !signed.principal.account_ids().contains(&account) {
            return Err(Problem::NotFound);
        }
        Ok(Self { signed, account })
    }
}

/// A form posted from one of the session's own account pages: the page's account and the
/// form, once its origin and token are checked. Every account action takes one, so none can
/// act on a form that did not come from the session's own page.
pub struct Posted {
    pub ctx: AccountPage,
    pub form: Form,
}

impl FromRequest<AppState> for Posted {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Problem> {
        let (mut parts, body) = request.into_parts();
        let ctx = AccountPage::from_request_parts(&mut parts, state).await?;
        let headers = parts.headers.clone();
        // Within the server's body limit, like any request body.
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| Problem::Refused("the form could not be read (too large?)".into()))?;
        let form = ctx.signed.form(&headers, &body)?;
        Ok(Self { ctx, form })
    }
}

/// GET `/dashboard`: the first account's users for a signed-in person, else the sign-in page.
pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, Problem> {
    match Signed::of(&state, &headers).await? {
        Some(signed) => Ok(match signed.principal.account_ids().first() {
            Some(account) => Redirect::to(&format!(
                "{}/{account}/{}",
                super::ROOT,
                first_section(&signed.principal, *account)
            ))
            .into_response(),
            None => layout::message_page(
                StatusCode::OK,
                "No account",
                html! { p { "This credential is valid but has no account. Create a token for an account with " code { "ztrisk tokens create" } "." } },
            ),
        }),
        None => Ok(sign_in_form(StatusCode::OK, None)),
    }
}

/// The first page of an account the credential may read (users need PII Read, which a
/// read-only or write-only token may lack).
fn first_section(principal: &Principal, account: AccountId) -> &'static str {
    use crate::auth::Operation;
    use crate::auth::operations::{
        ReadAudit, ReadBehaviors, ReadIntegrations, ReadRisk, ReadWebhooks,
    };
    let sections: [(&[ztrisk_core::Permission], &str); 5] = [
        (ReadRisk::ACCEPTED, "users"),
        (ReadBehaviors::ACCEPTED, "behaviors"),
        (ReadIntegrations::ACCEPTED, "integrations"),
        (ReadWebhooks::ACCEPTED, "integrations"),
        (ReadAudit::ACCEPTED, "audit"),
    ];
    sections
        .iter()
        .find(|(accepted, _)| principal.may(account, accepted))
        .map_or("users", |(_, page)| page)
}

/// GET `/dashboard/sign-in`.
pub async fn sign_in_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    if Signed::of(&state, &headers).await?.is_some() {
        return Ok(Redirect::to(super::ROOT).into_response());
    }
    Ok(sign_in_form(StatusCode::OK, None))
}

fn sign_in_form(status: StatusCode, error: Option<&str>) -> Response {
    let body = html! {
        form.card.sign-in method="post" action="/dashboard/sign-in" {
            h1 { "Sign in to ztrisk" }
            p.muted { "Use an API token. The dashboard acts with exactly its permissions." }
            @if let Some(error) = error {
                p.error role="alert" id="sign-in-error" { (error) }
            }
            label for="token" { "API token" }
            input #token name="token" type="password" autocomplete="off" spellcheck="false"
                aria-describedby=[error.map(|_| "sign-in-error")];
            details {
                summary { "Use an email and global API key instead" }
                label for="email" { "Email" }
                input #email name="email" type="email" autocomplete="username";
                label for="api_key" { "Global API key" }
                input #api_key name="api_key" type="password" autocomplete="off";
            }
            button.primary type="submit" { "Sign in" }
            p.muted.small {
                "No token yet? " code { "ztrisk serve" } " prints one at its first start, and "
                code { "ztrisk tokens create" } " makes more."
            }
        }
    };
    layout::bare_page(status, "Sign in", body)
}

/// POST `/dashboard/sign-in`: checks the credential as the API would, then opens a session.
pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    same_site(&headers)?;
    let form = Form::parse(&body);
    let token = form.get("token").unwrap_or_default().trim().to_owned();
    let email = form.get("email").unwrap_or_default().trim().to_owned();
    let key = form.get("api_key").unwrap_or_default().trim().to_owned();
    let mut credential = HeaderMap::new();
    if !token.is_empty() {
        if let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) {
            credential.insert(header::AUTHORIZATION, value);
        }
    } else if !email.is_empty() || !key.is_empty() {
        if let (Ok(email), Ok(key)) = (HeaderValue::from_str(&email), HeaderValue::from_str(&key)) {
            credential.insert("x-auth-email", email);
            credential.insert("x-auth-key", key);
        }
    } else {
        return Ok(sign_in_form(
            StatusCode::BAD_REQUEST,
            Some("Enter an API token, or an email and global API key."),
        ));
    }
    let principal = match auth::authenticate(&state, &credential).await {
        Ok(principal) => principal,
        Err(ApiError::RateLimited { retry_after_secs }) => {
            return Err(Problem::RateLimited(retry_after_secs));
        }
        Err(ApiError::Internal(detail)) => return Err(Problem::Internal(detail)),
        Err(ApiError::Unavailable) => return Err(Problem::Unavailable),
        Err(_) => {
            return Ok(sign_in_form(
                StatusCode::UNAUTHORIZED,
                Some(
                    "These credentials were not accepted: the token may be revoked, expired or mistyped.",
                ),
            ));
        }
    };
    let Some(credential) = auth::session_credential(&principal) else {
        return Ok(sign_in_form(
            StatusCode::UNAUTHORIZED,
            Some("These credentials were not accepted."),
        ));
    };
    let now = Utc::now();
    // Sessions that ran out are of no use to anyone: each sign-in sweeps them. A session the
    // browser still holds is replaced, not left behind.
    state.store.prune_sessions(now).await?;
    for old in session_ids(&state, &headers) {
        state.store.delete_session(&SecretHash::of(&old)).await?;
    }
    let id = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    state
        .store
        .create_session(DashboardSession {
            id_hash: SecretHash::of(&id),
            credential,
            created_at: now,
            expires_at: now + LIFETIME,
        })
        .await?;
    let mut response = Redirect::to(super::ROOT).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&state, &id));
    Ok(response)
}

/// POST `/dashboard/sign-out`: ends the session here and in the browser.
pub async fn sign_out(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    signed.form(&headers, &body)?;
    state.store.delete_session(&signed.id_hash).await?;
    let mut response = Redirect::to("/dashboard/sign-in").into_response();
    for cookie in expired_cookies() {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_tokens_differ_by_session_and_are_stable() {
        assert_eq!(csrf_token("a"), csrf_token("a"));
        assert_ne!(csrf_token("a"), csrf_token("b"));
        // 32 bytes of SHA-256, base64url without padding: a valid form value as it is.
        assert_eq!(csrf_token("a").len(), 43);
        assert!(
            csrf_token("a")
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }

    #[test]
    fn cross_site_requests_are_refused() {
        let mut h = HeaderMap::new();
        assert!(same_site(&h).is_ok());
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(same_site(&h).is_err());
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_site(&h).is_ok());
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("127.0.0.1:8787"));
        h.insert("origin", HeaderValue::from_static("http://evil.example"));
        assert!(same_site(&h).is_err());
        h.insert("origin", HeaderValue::from_static("http://127.0.0.1:8787"));
        assert!(same_site(&h).is_ok());
    }
}
