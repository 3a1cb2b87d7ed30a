//! The ingest adapters (`spec/api.md` section 5): Cloudflare Logpush, Okta Event Hooks and
//! OCSF, each a URL a shipper can be pointed at. Mapping is `ztrisk-ingest`'s; storing is the
//! pipeline `POST /events` uses, so every source scores users the same way.

use super::Api;
use super::events::{ingest_records, records_error};
use crate::app::AppState;
use crate::auth::AccountAccess;
use crate::auth::operations::IngestEvents;
use crate::body::read_decoded;
use crate::error::ApiError;
use crate::response::ok;
use axum::Json;
use axum::extract::{OriginalUri, RawPathParams, Request, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use ztrisk_ingest::body::{Layout, Records};
use ztrisk_ingest::{Dataset, Source, okta_hook_events};
use ztrisk_types::IngestResult;

/// Largest body once decompressed (compressed bodies are limited to the same).
pub const MAX_DECODED: usize = 64 * 1024 * 1024;
/// The longest verification challenge echoed back (Okta's are about 40 characters).
const MAX_CHALLENGE: usize = 1024;

pub(super) fn routes(api: Api) -> Api {
    let limit = Some(MAX_DECODED);
    api.route_limited(
        Method::POST,
        "/accounts/{account_id}/zt_risk_scoring/ingest/cloudflare/{dataset}",
        cloudflare,
        limit,
    )
    .route(
        Method::GET,
        "/accounts/{account_id}/zt_risk_scoring/ingest/okta",
        okta_verification,
    )
    .route_limited(
        Method::POST,
        "/accounts/{account_id}/zt_risk_scoring/ingest/okta",
        okta,
        limit,
    )
    .route_limited(
        Method::POST,
        "/accounts/{account_id}/zt_risk_scoring/ingest/ocsf",
        ocsf,
        limit,
    )
}

/// A Logpush HTTP destination: NDJSON (usually gzip) of one dataset.
async fn cloudflare(
    State(state): State<AppState>,
    access: AccountAccess<IngestEvents>,
    params: RawPathParams,
    uri: OriginalUri,
    request: Request,
) -> Result<Response, ApiError> {
    let dataset = params
        .iter()
        .find(|(name, _)| *name == "dataset")
        .and_then(|(_, value)| value.parse::<Dataset>().ok())
        .ok_or_else(|| ApiError::NoRoute(uri.0.path().to_owned()))?;
    let body = read_decoded(request, MAX_DECODED).await?;
    if is_logpush_validation(&body) {
        return ok(&empty_result());
    }
    let source = Source::Cloudflare(dataset);
    let records = Records::new(&body, Layout::sniff(&body), source.fields())
        .map_err(|e| records_error(e, "records"))?;
    ok(&ingest_records(&state, &access, source, records).await?)
}

/// Logpush checks a destination by sending `{"content":"tests"}` (gzip) before the job is
/// created; some versions send `test`. It must get 200 and store nothing.
fn is_logpush_validation(body: &[u8]) -> bool {
    let text = body.trim_ascii();
    text == b"test"
        || (text.len() < 64
            && serde_json::from_slice::<Value>(text)
                .is_ok_and(|v| v == serde_json::json!({"content": "tests"})))
}

fn empty_result() -> IngestResult {
    IngestResult {
        accepted: 0,
        duplicates: 0,
        skipped: Some(0),
        risk_events: 0,
        rejected: Vec::new(),
    }
}

/// Okta's one-time verification of an event hook: the challenge header's value, echoed in
/// Okta's own shape (not the envelope).
async fn okta_verification(
    _access: AccountAccess<IngestEvents>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let challenge = headers
        .get("x-okta-verification-challenge")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= MAX_CHALLENGE)
        .ok_or_else(|| {
            ApiError::BadRequest(
                "GET on this URL is Okta's event hook verification: it needs an X-Okta-Verification-Challenge header of 1 to 1024 visible characters".into(),
            )
        })?;
    Ok(Json(serde_json::json!({ "verification": challenge })).into_response())
}

/// An event hook delivery (`data.events`), or a System Log export: a JSON array or NDJSON of
/// LogEvents.
async fn okta(
    State(state): State<AppState>,
    access: AccountAccess<IngestEvents>,
    request: Request,
) -> Result<Response, ApiError> {
    let body = read_decoded(request, MAX_DECODED).await?;
    let records = match Layout::sniff(&body) {
        Layout::JsonArray => Records::new(&body, Layout::JsonArray, Source::Okta.fields())
            .map_err(|e| records_error(e, "LogEvents"))?,
        // One object is a hook delivery (or a lone LogEvent); more than one is NDJSON, which
        // the whole-body parse refuses after its first line.
        Layout::NdJson => match serde_json::from_slice::<Value>(&body) {
            Ok(value) => match okta_hook_events(value) {
                Ok(events) => Records::from_values(events),
                Err(single) => Records::from_values(vec![single]),
            },
            Err(_) => Records::new(&body, Layout::NdJson, Source::Okta.fields())
                .map_err(|e| records_error(e, "LogEvents"))?,
        },
    };
    ok(&ingest_records(&state, &access, Source::Okta, records).await?)
}

/// OCSF events, a JSON array or NDJSON.
async fn ocsf(
    State(state): State<AppState>,
    access: AccountAccess<IngestEvents>,
    request: Request,
) -> Result<Response, ApiError> {
    let body = read_decoded(request, MAX_DECODED).await?;
    let records = Records::new(&body, Layout::sniff(&body), Source::Ocsf.fields())
        .map_err(|e| records_error(e, "OCSF events"))?;
    ok(&ingest_records(&state, &access, Source::Ocsf, records).await?)
}
