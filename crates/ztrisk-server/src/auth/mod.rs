//! Who is calling, and may they do this here?
//!
//! Two schemes, as Cloudflare: `Authorization: Bearer <token>`, or the legacy
//! `X-Auth-Email` + `X-Auth-Key` global API key. When `Authorization` is present it decides,
//! because the official SDKs send every credential they were configured with.

pub mod operations;

pub use operations::Operation;

use crate::app::AppState;
use crate::error::ApiError;
use axum::extract::{FromRequestParts, OriginalUri, RawPathParams};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use chrono::Utc;
use std::marker::PhantomData;
use std::sync::Arc;
use ztrisk_core::credentials::{self, SecretHash};
use ztrisk_core::{AccountId, PermissionSet};
use ztrisk_store::model::{Actor, ApiUser, SessionCredential, TokenRecord, TokenStatus};

/// An authenticated caller.
#[derive(Debug, Clone)]
pub enum Principal {
    Token(Arc<TokenRecord>),
    ApiKey(Arc<ApiUser>),
}

impl Principal {
    fn accounts(&self) -> &[AccountId] {
        match self {
            Principal::Token(t) => &t.accounts,
            Principal::ApiKey(u) => &u.accounts,
        }
    }

    /// Who acts, as the store records it: a token by its id, a key by its owner.
    pub fn actor(&self) -> Actor {
        match self {
            Principal::Token(t) => Actor::Token { id: t.id.clone() },
            Principal::ApiKey(u) => Actor::ApiKey {
                email: u.email.clone(),
            },
        }
    }

    /// Whether this caller may perform an operation accepting `accepted` on `account`.
    pub fn may(&self, account: AccountId, accepted: &[ztrisk_core::Permission]) -> bool {
        self.accounts().contains(&account) && self.permissions().allows_any(accepted)
    }

    /// The accounts this caller may act on.
    pub fn account_ids(&self) -> &[AccountId] {
        self.accounts()
    }

    fn permissions(&self) -> PermissionSet {
        match self {
            Principal::Token(t) => t.permissions,
            // A global API key acts with every permission on the user's accounts.
            Principal::ApiKey(_) => PermissionSet::all(),
        }
    }
}

/// Authenticates the request's credentials and charges the request to them.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    authenticate_at(state, headers, state.store.generation()).await
}

/// [`authenticate`] with the store generation the request has already read: it is read once
/// per request and shared by every cache the request consults.
async fn authenticate_at(
    state: &AppState,
    headers: &HeaderMap,
    generation: u64,
) -> Result<Principal, ApiError> {
    let principal = identify(state, headers, generation).await?;
    charge(state, &principal)?;
    Ok(principal)
}

/// Counts a request against the credential's rate limit.
fn charge(state: &AppState, principal: &Principal) -> Result<(), ApiError> {
    let key = match principal {
        Principal::Token(t) => t.id.as_str(),
        Principal::ApiKey(u) => u.email.as_str(),
    };
    state
        .rate_limiter
        .check(key, std::time::Instant::now())
        .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })
}

async fn identify(
    state: &AppState,
    headers: &HeaderMap,
    generation: u64,
) -> Result<Principal, ApiError> {
    if let Some(value) = headers.get(axum::http::header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(bearer_token)
            .filter(|t| credentials::is_token_shaped(t))
            .ok_or(ApiError::MalformedAuthorization)?;
        return authenticate_token(state, token, generation)
            .await
            .map(Principal::Token);
    }
    let email = headers.get("x-auth-email");
    let key = headers.get("x-auth-key");
    let (Some(email), Some(key)) = (email, key) else {
        return Err(ApiError::MissingCredentials);
    };
    let email = email
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|e| credentials::is_email_shaped(e))
        .ok_or(ApiError::MalformedAuthEmail)?;
    let key = key
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| credentials::is_api_key_shaped(k))
        .ok_or(ApiError::MalformedAuthKey)?;
    authenticate_key(state, email, key, generation)
        .await
        .map(Principal::ApiKey)
}

fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

async fn authenticate_token(
    state: &AppState,
    token: &str,
    generation: u64,
) -> Result<Arc<TokenRecord>, ApiError> {
    token_by_hash(state, SecretHash::of(token), generation).await
}

/// The active token whose secret hashes to `hash`.
async fn token_by_hash(
    state: &AppState,
    hash: SecretHash,
    generation: u64,
) -> Result<Arc<TokenRecord>, ApiError> {
    let record = match state.caches.tokens.get(generation, &hash.0) {
        Some(cached) => cached,
        None => {
            let found = state.store.token_by_hash(&hash).await?.map(Arc::new);
            state
                .caches
                .tokens
                .insert(generation, hash.0, found.clone());
            found
        }
    };
    match record {
        Some(record)
            if record.secret_hash.matches(&hash)
                && record.status(Utc::now()) == TokenStatus::Active =>
        {
            Ok(record)
        }
        _ => Err(ApiError::AuthenticationFailed),
    }
}

async fn authenticate_key(
    state: &AppState,
    email: &str,
    key: &str,
    generation: u64,
) -> Result<Arc<ApiUser>, ApiError> {
    key_owner(state, email, SecretHash::of(key), generation).await
}

/// The user of `email` whose current global API key hashes to `presented`.
async fn key_owner(
    state: &AppState,
    email: &str,
    presented: SecretHash,
    generation: u64,
) -> Result<Arc<ApiUser>, ApiError> {
    let email = email.to_ascii_lowercase();
    let user = match state.caches.api_users.get(generation, &email) {
        Some(cached) => cached,
        None => {
            let found = state.store.api_user(&email).await?.map(Arc::new);
            state
                .caches
                .api_users
                .insert(generation, email, found.clone());
            found
        }
    };
    // Compare against something even for unknown users, so timing does not reveal them.
    let stored = user
        .as_ref()
        .and_then(|u| u.key_hash)
        .unwrap_or(SecretHash([0; 32]));
    match user {
        Some(user) if user.key_hash.is_some() && stored.matches(&presented) => Ok(user),
        _ => Err(ApiError::AuthenticationFailed),
    }
}

/// The credential a dashboard session was opened with, checked again now: a revoked or expired
/// token, or a rolled global API key, ends every session opened with it. Charged to the same
/// rate limit as the credential's API calls.
pub async fn session_principal(
    state: &AppState,
    credential: &SessionCredential,
) -> Result<Principal, ApiError> {
    let generation = state.store.generation();
    let principal = match credential {
        SessionCredential::Token { secret_hash } => {
            Principal::Token(token_by_hash(state, *secret_hash, generation).await?)
        }
        SessionCredential::ApiKey { email, key_hash } => {
            Principal::ApiKey(key_owner(state, email, *key_hash, generation).await?)
        }
    };
    charge(state, &principal)?;
    Ok(principal)
}

/// The credential a session keeps for `principal`: its secret's hash, never the secret.
pub fn session_credential(principal: &Principal) -> Option<SessionCredential> {
    match principal {
        Principal::Token(t) => Some(SessionCredential::Token {
            secret_hash: t.secret_hash,
        }),
        Principal::ApiKey(u) => u.key_hash.map(|key_hash| SessionCredential::ApiKey {
            email: u.email.clone(),
            key_hash,
        }),
    }
}

/// Set by the dashboard on the API requests it makes in-process for a signed-in user
/// ([`crate::dashboard`]): the request acts as that principal, checked like any other. Only
/// code in this crate can attach it; nothing from the network becomes an extension.
#[derive(Clone)]
pub(crate) struct ActingAs(pub Principal);

/// An authenticated caller allowed to perform `O` on the account named in the path.
///
/// Checks run in the order a client can act on: a malformed account id is a 404 (it is not a
/// route), then credentials (400/403), then the account and the permission (403). A caller
/// without access to an account gets the same 403 whether or not the account exists.
pub struct AccountAccess<O> {
    pub account: AccountId,
    /// The store generation this request read: caches consulted later use the same one.
    pub generation: u64,
    /// Who acts: every write the request makes is recorded as theirs ([`Self::actor`]).
    pub principal: Principal,
    _operation: PhantomData<O>,
}

impl<O> AccountAccess<O> {
    /// The actor the store records for this request's writes.
    pub fn actor(&self) -> Actor {
        self.principal.actor()
    }
}

impl<O: Operation> FromRequestParts<AppState> for AccountAccess<O> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let account = account_from_path(parts).await?;
        let generation = state.store.generation();
        let principal = match parts.extensions.get::<ActingAs>() {
            // Authenticated when the dashboard resolved its session; each call it makes still
            // counts against the credential's rate limit, like the same call from a script.
            Some(ActingAs(principal)) => {
                charge(state, principal)?;
                principal.clone()
            }
            None => authenticate_at(state, &parts.headers, generation).await?,
        };
        if !principal.accounts().contains(&account) {
            return Err(ApiError::Unauthorized(
                "these credentials have no access to this account".into(),
            ));
        }
        if !principal.permissions().allows_any(O::ACCEPTED) {
            let names: Vec<&str> = O::ACCEPTED.iter().map(|p| p.name()).collect();
            return Err(ApiError::Unauthorized(format!(
                "requires one of these permissions: {}",
                names.join(", ")
            )));
        }
        Ok(Self {
            account,
            generation,
            principal,
            _operation: PhantomData,
        })
    }
}

async fn account_from_path(parts: &mut Parts) -> Result<AccountId, ApiError> {
    let params = RawPathParams::from_request_parts(parts, &()).await.ok();
    params
        .as_ref()
        .and_then(|p| p.iter().find(|(name, _)| *name == "account_id"))
        .and_then(|(_, value)| value.parse().ok())
        .ok_or_else(|| ApiError::NoRoute(request_path(parts)))
}

/// The path as the client sent it (before any `/client/v4` prefix was stripped).
pub fn request_path(parts: &Parts) -> String {
    parts
        .extensions
        .get::<OriginalUri>()
        .map(|u| u.0.path().to_owned())
        .unwrap_or_else(|| parts.uri.path().to_owned())
}

/// A Shared Signals receiver allowed to perform `O` on the SSF integration in the path
/// (spec 4.5): a Bearer API token with a permission `O` accepts on the integration's account.
///
/// Receivers speak OAuth (RFC 6750), so a missing, malformed, unknown or expired token is a
/// 401 with `WWW-Authenticate`. Every other refusal is the same 403, whether the integration
/// does not exist, is another account's, is not an SSF integration, or the token lacks the
/// permission: a token learns nothing about integrations it may not manage.
pub struct StreamAccess<O> {
    pub integration: ztrisk_store::model::Integration,
    /// Who acts: every write the request makes is recorded as theirs.
    pub principal: Principal,
    _operation: PhantomData<O>,
}

impl<O> StreamAccess<O> {
    pub fn actor(&self) -> Actor {
        self.principal.actor()
    }

    pub fn account(&self) -> AccountId {
        self.integration.account
    }
}

impl<O: Operation> FromRequestParts<AppState> for StreamAccess<O> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let params = RawPathParams::from_request_parts(parts, &()).await.ok();
        let id: uuid::Uuid = params
            .as_ref()
            .and_then(|p| p.iter().find(|(name, _)| *name == "integration_id"))
            .and_then(|(_, value)| value.parse().ok())
            .ok_or_else(|| ApiError::NoRoute(request_path(parts)))?;
        // Tokens only: a global API key is a person's, not a receiver's.
        if !parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
        {
            return Err(ApiError::Unauthenticated);
        }
        let generation = state.store.generation();
        let principal = match authenticate_at(state, &parts.headers, generation).await {
            Ok(principal) => principal,
            Err(ApiError::MalformedAuthorization | ApiError::AuthenticationFailed) => {
                return Err(ApiError::Unauthenticated);
            }
            Err(other) => return Err(other),
        };
        let refused = || {
            ApiError::Unauthorized(format!(
                "this token may not manage the stream of integration {id}"
            ))
        };
        if !principal.permissions().allows_any(O::ACCEPTED) {
            return Err(refused());
        }
        let integration = state
            .store
            .integration_by_id(id)
            .await?
            .filter(|i| principal.accounts().contains(&i.account))
            .filter(|i| i.integration_type == ztrisk_store::model::IntegrationType::Ssf)
            .ok_or_else(refused)?;
        Ok(Self {
            integration,
            principal,
            _operation: PhantomData,
        })
    }
}
