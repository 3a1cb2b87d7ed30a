//! POST `/events` (ztrisk): security events in, as a JSON array or NDJSON.
//!
//! Each event is validated alone: a bad one is rejected with its index and pointer, and the
//! good ones of the same request are stored. The response is sent once the stored events,
//! their effect on detector state and the risk events they caused are durable together.

use super::Api;
use crate::app::AppState;
use crate::auth::AccountAccess;
use crate::auth::operations::IngestEvents;
use crate::body::check_json_content_type;
use crate::error::{ApiError, invalid_item_with};
use crate::response::ok;
use crate::views;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;
use ztrisk_core::FieldError;
use ztrisk_core::behaviors::AccountBehaviors;
use ztrisk_core::events::{Event, EventKind};
use ztrisk_core::field_error::pointer_join;
use ztrisk_types::RejectedEvent;

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

enum Format {
    JsonArray,
    NdJson,
}

fn format_of(headers: &HeaderMap, body: &[u8]) -> Result<Format, ApiError> {
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
        ) => Ok(Format::NdJson),
        Some(_) => check_json_content_type(headers).map(|()| Format::JsonArray),
        // Without a Content-Type, the first character tells.
        None => match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[') | None => Ok(Format::JsonArray),
            Some(_) => Ok(Format::NdJson),
        },
    }
}

async fn ingest(
    State(state): State<AppState>,
    access: AccountAccess<IngestEvents>,
    request: Request,
) -> Result<Response, ApiError> {
    let headers = request.headers().clone();
    let body = Bytes::from_request(request, &())
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::BodyTooLarge
            } else {
                ApiError::MalformedJson
            }
        })?;
    let format = format_of(&headers, &body)?;
    let config = state.behaviors(access.account, access.generation).await?;
    let now = chrono::Utc::now().timestamp_millis();

    let mut events = Vec::new();
    let mut rejected = Vec::new();
    let mut accept = |index: usize, value: Result<Value, String>| {
        let prefix = format!("/{index}");
        let result = value
            .map_err(|message| vec![FieldError::new("", message)])
            .and_then(|v| Event::parse(&v))
            .and_then(|event| check_in_account(event, &config, now))
            .map(|event| locate(&state, event));
        match result {
            Ok(event) => events.push(event),
            Err(errors) => rejected.push(RejectedEvent {
                index: index as u64,
                errors: errors
                    .iter()
                    .map(|e| invalid_item_with(e, "Invalid event", &prefix))
                    .collect(),
            }),
        }
    };
    match format {
        Format::JsonArray => {
            let values: Vec<Value> = match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Array(values)) => values,
                Ok(_) => {
                    return Err(ApiError::invalid(
                        "",
                        "expected a JSON array of events (or NDJSON with Content-Type: application/x-ndjson)",
                    ));
                }
                Err(_) => return Err(ApiError::MalformedJson),
            };
            for (index, value) in values.into_iter().enumerate() {
                accept(index, Ok(value));
            }
        }
        Format::NdJson => {
            let lines = body
                .split(|b| *b == b'\n')
                .filter(|line| !line.iter().all(u8::is_ascii_whitespace));
            for (index, line) in lines.enumerate() {
                let value = serde_json::from_slice::<Value>(line)
                    .map_err(|e| format!("malformed JSON on this line: {e}"));
                accept(index, value);
            }
        }
    }

    let outcome = state
        .store
        .ingest(access.account, events, &access.actor())
        .await?;
    if outcome.deliveries_queued > 0 {
        state.sharing.wake.notify_one();
    }
    ok(&views::ingest_result(outcome, rejected))
}

/// Checks what only the account can tell: a `behavior` event must name a behavior the
/// account has, and the time must be plausible.
fn check_in_account(
    event: Event,
    config: &AccountBehaviors,
    now: i64,
) -> Result<Event, Vec<FieldError>> {
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
    if errors.is_empty() {
        Ok(event)
    } else {
        Err(errors)
    }
}

/// Fills in the location of a login that has an IP but no location, when a GeoIP database
/// is configured.
fn locate(state: &AppState, mut event: Event) -> Event {
    if let (
        Some(geoip),
        EventKind::AccessLogin {
            ip: Some(ip),
            location,
            ..
        },
    ) = (&state.geoip, &mut event.kind)
        && location.is_none()
    {
        *location = geoip.locate(*ip);
    }
    event
}

#[cfg(test)]
mod geoip_tests;
