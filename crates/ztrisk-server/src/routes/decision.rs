//! GET `/decision` (spec 6.3): may this user through? For reverse proxies' forward auth (nginx
//! `auth_request`, Traefik `forwardAuth`, Caddy `forward_auth`, Envoy `ext_authz`).
//!
//! Levels are answered from memory ([`Decisions`]). A cached level is dropped when:
//! - this process changes a level (an ingest that detected something, a reset, a
//!   confirmation);
//! - the store's generation moves (on PostgreSQL, another replica's reset or confirmation
//!   notifies every replica at once);
//! - it is older than [`MAX_AGE`], so a level raised by an ingest on another replica is seen
//!   within that time, without every ingest notifying every replica.

use super::Api;
use crate::app::AppState;
use crate::auth::AccountAccess;
use crate::auth::operations::Decide;
use crate::cache::GenerationCache;
use crate::error::ApiError;
use crate::query;
use crate::response::ok;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use ztrisk_core::credentials::is_email_shaped;
use ztrisk_core::{AccountId, RiskLevel};

/// How long a level read from the store is trusted without a sign of change.
pub const MAX_AGE: Duration = Duration::from_secs(1);
/// Identity headers of the usual authenticating proxies, in the order they are tried.
const IDENTITY_HEADERS: [&str; 5] = [
    "cf-access-authenticated-user-email",
    "x-auth-request-email",
    "x-forwarded-email",
    "remote-email",
    "x-pomerium-claim-email",
];
const LEVEL_HEADER: &str = "x-ztrisk-risk-level";
const POLICY: &str = "a comma-separated list of \"high\", \"medium\", \"low\", \"unscored\"";

pub(super) fn routes(api: Api) -> Api {
    api.route(
        Method::GET,
        "/accounts/{account_id}/zt_risk_scoring/decision",
        decide,
    )
}

/// Users' levels as this process last read them.
pub struct Decisions {
    levels: GenerationCache<(AccountId, String), (Option<RiskLevel>, Instant)>,
    /// Bumped whenever this process changes a level.
    epoch: AtomicU64,
}

impl Default for Decisions {
    fn default() -> Self {
        Self {
            levels: GenerationCache::new(100_000),
            epoch: AtomicU64::new(0),
        }
    }
}

impl Decisions {
    /// Some user's level may have changed here: forget every level.
    pub fn levels_changed(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Moves when the store's generation or this process's epoch does (both only grow).
    fn generation(&self, store_generation: u64) -> u64 {
        store_generation.wrapping_add(self.epoch.load(Ordering::SeqCst))
    }
}

async fn decide(
    State(state): State<AppState>,
    access: AccountAccess<Decide>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = query::parse(raw.as_deref())?;
    let email = identity(&params, &headers)?;
    let deny = policy(&params)?;
    let generation = state.decisions.generation(state.store.generation());
    let key = (access.account, email);
    let cached = state
        .decisions
        .levels
        .get(generation, &key)
        .filter(|(_, read_at)| read_at.elapsed() < MAX_AGE);
    let level = match cached {
        Some((level, _)) => level,
        None => {
            let level = state.store.user_level(key.0, &key.1).await?;
            state
                .decisions
                .levels
                .insert(generation, key.clone(), (level, Instant::now()));
            level
        }
    };
    let name = level.map_or("unscored", RiskLevel::as_str);
    let level_header = (
        HeaderName::from_static(LEVEL_HEADER),
        HeaderValue::from_static(name),
    );
    if deny.contains(&level) {
        let mut response = ApiError::DeniedByRisk(format!("{} is {name}", key.1)).into_response();
        response
            .headers_mut()
            .insert(level_header.0, level_header.1);
        return Ok(response);
    }
    let mut response = ok(&ztrisk_types::Decision {
        email: key.1.clone(),
        risk_level: name.to_owned(),
        allowed: true,
    })?;
    response
        .headers_mut()
        .insert(level_header.0, level_header.1);
    Ok(response)
}

/// The user asked about: `?email=`, else the header `?email_header=` names, else the first of
/// the usual proxies' identity headers. Lowercased, as users are keyed.
fn identity(params: &HashMap<String, String>, headers: &HeaderMap) -> Result<String, ApiError> {
    let from_header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let email = match (params.get("email"), params.get("email_header")) {
        (Some(email), _) => Some(email.trim().to_owned()),
        (None, Some(header)) => from_header(header),
        (None, None) => IDENTITY_HEADERS.iter().find_map(|h| from_header(h)),
    };
    match email {
        Some(email) if is_email_shaped(&email) => Ok(email.to_lowercase()),
        Some(email) => Err(ApiError::invalid(
            "/email",
            format!("expected an email address, got {email:?}"),
        )),
        None => Err(ApiError::invalid(
            "/email",
            "no identity: pass ?email=, or an identity header (Cf-Access-Authenticated-User-Email, X-Auth-Request-Email, X-Forwarded-Email, Remote-Email, X-Pomerium-Claim-Email) or name yours with ?email_header=",
        )),
    }
}

/// The levels `?deny=` refuses (default: `high`); `None` stands for unscored.
fn policy(params: &HashMap<String, String>) -> Result<Vec<Option<RiskLevel>>, ApiError> {
    let Some(raw) = params.get("deny") else {
        return Ok(vec![Some(RiskLevel::High)]);
    };
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s {
            "unscored" => Ok(None),
            other => other.parse::<RiskLevel>().map(Some).map_err(|_| {
                ApiError::invalid("/deny", format!("expected {POLICY}, got {other:?}"))
            }),
        })
        .collect()
}
