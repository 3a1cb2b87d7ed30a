//! POST `/events` (ztrisk): security events in, as a JSON array or NDJSON, and the pipeline
//! every ingest route shares (the adapters of section 5 are in `ingest.rs`).
//!
//! Each record is mapped and validated alone: a bad one is rejected with its index and
//! pointer, and the good ones of the same request are stored. The response is sent once the
//! stored events, their effect on detector state and the risk events they caused are durable
//! together.

use super::Api;
use crate::app::AppState;
use crate::auth::AccountAccess;
use crate::auth::operations::IngestEvents;
use crate::body::{check_json_content_type, read_decoded};
use crate::error::{ApiError, invalid_item_with};
use crate::response::ok;
use crate::views;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use serde_json::Value;
use ztrisk_core::FieldError;
use ztrisk_core::behaviors::{AccountBehaviors, Predefined};
use ztrisk_core::events::{Event, EventKind};
use ztrisk_core::field_error::pointer_join;
use ztrisk_ingest::body::{Layout, Records, RecordsError};
use ztrisk_ingest::{Locator, Mapped, Source, map_record};
use ztrisk_store::model::IngestOutcome;
use ztrisk_types::{IngestResult, RejectedEvent};

/// Largest accepted body: about 80,000 typical events.
pub const MAX_BODY: usize = 16 * 1024 * 1024;
/// Events dated further ahead than this are refused: a clock that far off would distort
/// windows and repeat suppression for everyone after it.
const MAX_FUTURE_MS: i64 = 24 * 3600 * 1000;

pub(super) fn routes(api: Api) -> Api {
    api.route_limited(
        Method::POST,
        "/accounts/{account_id}/zt_risk_scoring/events",
        ingest,
        Some(MAX_BODY),
    )
}

/// The layout the Content-Type names; without one, the first character tells.
fn layout_of(headers: &HeaderMap, body: &[u8]) -> Result<Layout, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    match content_type.as_deref() {
        Some(
            "application/x-ndjson"
            | "application/ndjson"
            | "application/jsonl"
            | "application/x-jsonlines",
        ) => Ok(Layout::NdJson),
        Some(_) => check_json_content_type(headers).map(|()| Layout::JsonArray),
        None => Ok(Layout::sniff(body)),
    }
}

async fn ingest(
    State(state): State<AppState>,
    access: AccountAccess<IngestEvents>,
    request: Request,
) -> Result<Response, ApiError> {
    let headers = request.headers().clone();
    let body = read_decoded(request, MAX_BODY).await?;
    let layout = layout_of(&headers, &body)?;
    let records = Records::new(&body, layout, Source::Native.fields())
        .map_err(|e| records_error(e, "events"))?;
    ok(&ingest_records(&state, &access, Source::Native, records).await?)
}

/// The error for a body whose records cannot be listed; `what` names them ("events").
pub(super) fn records_error(e: RecordsError, what: &str) -> ApiError {
    match e {
        RecordsError::Malformed => ApiError::MalformedJson,
        RecordsError::NotAnArray => ApiError::invalid(
            "",
            format!(
                "expected a JSON array of {what} (or NDJSON with Content-Type: application/x-ndjson)"
            ),
        ),
    }
}

/// Maps, checks and stores a batch of `source`'s records, and answers with the counts.
pub(super) async fn ingest_records(
    state: &AppState,
    access: &AccountAccess<IngestEvents>,
    source: Source,
    records: impl Iterator<Item = Result<Value, String>>,
) -> Result<IngestResult, ApiError> {
    let config = state.behaviors(access.account, access.generation).await?;
    let now = chrono::Utc::now().timestamp_millis();
    let locator = Locator::new(state.geoip.as_deref());
    let lead = match source {
        Source::Native => "Invalid event",
        _ => "Invalid record",
    };

    let mut events = Vec::new();
    let mut rejected = Vec::new();
    let mut skipped = 0;
    for (index, record) in records.enumerate() {
        let mapped = record
            .map_err(|message| vec![FieldError::new("", message)])
            .and_then(|value| map_record(source, &value, &locator))
            .and_then(|mapped| check_in_account(mapped, &config, now));
        match mapped {
            Ok(Mapped::One(event)) => events.push(event),
            Ok(Mapped::Many(many)) => events.extend(many),
            Ok(Mapped::Skipped) => skipped += 1,
            Err(errors) => {
                let prefix = format!("/{index}");
                rejected.push(RejectedEvent {
                    index: index as u64,
                    errors: errors
                        .iter()
                        .map(|e| invalid_item_with(e, lead, &prefix))
                        .collect(),
                });
            }
        }
    }

    let started = std::time::Instant::now();
    let outcome = state
        .store
        .ingest(access.account, events, &access.actor())
        .await?;
    record_metrics(
        state,
        source,
        &outcome,
        skipped,
        rejected.len() as u64,
        started.elapsed(),
    );
    if outcome.deliveries_queued > 0 {
        state.sharing.queued();
    }
    if outcome.risk_events > 0 {
        state.decisions.levels_changed();
    }
    let skipped = (source != Source::Native).then_some(skipped);
    Ok(views::ingest_result(outcome, rejected, skipped))
}

/// Counts a batch for `/metrics`: records by source and outcome, risk events by behavior (a
/// custom behavior as `custom`, so labels stay bounded) and level, and the write's latency.
fn record_metrics(
    state: &AppState,
    source: Source,
    outcome: &IngestOutcome,
    skipped: u64,
    rejected: u64,
    write: std::time::Duration,
) {
    let metrics = &state.metrics;
    let source = source.to_string();
    metrics.events(&source, "accepted", outcome.accepted);
    metrics.events(&source, "duplicate", outcome.duplicates);
    metrics.events(&source, "skipped", skipped);
    metrics.events(&source, "rejected", rejected);
    for ((behavior, level), n) in &outcome.risk_by_behavior {
        let label = Predefined::from_id(behavior).map_or("custom", Predefined::id);
        metrics.risk_events(label, level.as_str(), *n);
    }
    metrics.store_write("ingest", write);
}

/// Checks what only the account can tell, for each event of a record: a `behavior` event must
/// name a behavior the account has, and the time must be plausible.
fn check_in_account(
    mapped: Mapped,
    config: &AccountBehaviors,
    now: i64,
) -> Result<Mapped, Vec<FieldError>> {
    let errors: Vec<FieldError> = match &mapped {
        Mapped::One(event) => event_problems(event, config, now),
        Mapped::Many(events) => events
            .iter()
            .flat_map(|event| event_problems(event, config, now))
            .take(1)
            .collect(),
        Mapped::Skipped => Vec::new(),
    };
    if errors.is_empty() {
        Ok(mapped)
    } else {
        Err(errors)
    }
}

fn event_problems(event: &Event, config: &AccountBehaviors, now: i64) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if event.timestamp > now + MAX_FUTURE_MS {
        errors.push(FieldError::new(
            "/timestamp",
            "is more than 24 hours in the future; check the sender's clock",
        ));
    }
    if let EventKind::Behavior { behavior, .. } = &event.kind
        && config.get(behavior.as_str()).is_none()
    {
        errors.push(FieldError::new(
            pointer_join("", "behavior"),
            format!("unknown behavior `{behavior}`; create it first with PUT /behaviors"),
        ));
    }
    errors
}

#[cfg(test)]
mod geoip_tests;
