//! SSF 1.0 stream management and polling (spec 4.5), at the root only: what a Shared Signals
//! receiver calls, with a Bearer token holding `Zero Trust Risk Sharing`
//! ([`StreamAccess`]).
//!
//! These endpoints answer in SSF's shapes (a stream configuration, `{"sets": ...}`), not in
//! Cloudflare's envelope, because SSF receivers parse them. Errors are the envelope of every
//! ztrisk error plus the `err` and `description` members of RFC 8935/8936, so both kinds of
//! client read them ([`SsfError`]).

use super::Api;
use crate::app::AppState;
use crate::auth::StreamAccess;
use crate::auth::operations::ManageStream;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::views::{stream_config, stream_status};
use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use ztrisk_core::FieldError;
use ztrisk_deliver::send::StreamSet;
use ztrisk_store::model::{
    DeliveryTask, PollOutcome, PollRequest, Stream, StreamDelivery, StreamEvent, StreamFields,
    StreamStatus, Target,
};
use ztrisk_types::StreamDeliveryMethod;
use ztrisk_types::ssf::{
    EVENTS_SUPPORTED, PollResponse, RISC_POLL, RISC_PUSH, StreamConfiguration,
};

/// [`StreamAccess`], refusing in SSF's error shape.
struct Access(StreamAccess<ManageStream>);

impl std::ops::Deref for Access {
    type Target = StreamAccess<ManageStream>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl FromRequestParts<AppState> for Access {
    type Rejection = SsfError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, SsfError> {
        StreamAccess::from_request_parts(parts, state)
            .await
            .map(Access)
            .map_err(SsfError)
    }
}

/// [`JsonBody`], refusing in SSF's error shape.
struct SsfJson(Value);

impl FromRequest<AppState> for SsfJson {
    type Rejection = SsfError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, SsfError> {
        JsonBody::from_request(request, state)
            .await
            .map(|JsonBody(body)| SsfJson(body))
            .map_err(SsfError)
    }
}

pub const STREAM: &str = "/ssf/{integration_id}/stream";
pub const STATUS: &str = "/ssf/{integration_id}/stream/status";
pub const VERIFY: &str = "/ssf/{integration_id}/stream/verify";
pub const ADD_SUBJECT: &str = "/ssf/{integration_id}/stream/subjects/add";
pub const REMOVE_SUBJECT: &str = "/ssf/{integration_id}/stream/subjects/remove";
pub const POLL: &str = "/ssf/{integration_id}/poll";

/// The longest a poll without `returnImmediately` waits for SETs (spec 4.5).
pub const LONG_POLL: Duration = Duration::from_secs(30);
/// How often a waiting poll looks again for SETs queued by other replicas (this process's
/// own wake it at once).
const POLL_RECHECK: Duration = Duration::from_secs(1);
/// SETs handed out per poll when `maxEvents` is absent, and at most.
const DEFAULT_MAX_EVENTS: usize = 100;
const MAX_EVENTS: usize = 1000;

pub fn routes(api: Api) -> Api {
    api.route(Method::GET, STREAM, read)
        .route(Method::POST, STREAM, create)
        .route(Method::PATCH, STREAM, update)
        .route(Method::PUT, STREAM, replace)
        .route(Method::DELETE, STREAM, delete)
        .route(Method::GET, STATUS, read_status)
        .route(Method::POST, STATUS, update_status)
        .route(Method::POST, VERIFY, verify)
        .route(Method::POST, ADD_SUBJECT, add_subject)
        .route(Method::POST, REMOVE_SUBJECT, remove_subject)
        .route(Method::POST, POLL, poll)
}

/// An error as SSF receivers and ztrisk's clients both read it: the envelope, plus
/// `{"err", "description"}` (RFC 8935 section 2.3, RFC 8936 section 2.4).
pub struct SsfError(ApiError);

impl From<ApiError> for SsfError {
    fn from(e: ApiError) -> Self {
        SsfError(e)
    }
}

impl From<ztrisk_store::StoreError> for SsfError {
    fn from(e: ztrisk_store::StoreError) -> Self {
        SsfError(e.into())
    }
}

impl IntoResponse for SsfError {
    fn into_response(self) -> Response {
        let err = match &self.0 {
            ApiError::Unauthenticated => "authentication_failed",
            ApiError::Unauthorized(_) => "access_denied",
            // Internal errors keep their plain envelope (and their logging).
            ApiError::Internal(_) | ApiError::Unavailable => return self.0.into_response(),
            _ => "invalid_request",
        };
        let items = self.0.items();
        let description = items
            .first()
            .map(|item| item.message.clone())
            .unwrap_or_default();
        let body = json!({
            "success": false,
            "errors": items,
            "messages": [],
            "result": null,
            "err": err,
            "description": description,
        });
        // The error's own response, for its status and headers (`WWW-Authenticate`,
        // `Retry-After`), with the body that has the two members.
        let mut response = self.0.into_response();
        if let Ok(bytes) = serde_json::to_vec(&body) {
            response.headers_mut().remove(header::CONTENT_LENGTH);
            *response.body_mut() = axum::body::Body::from(bytes);
        }
        response
    }
}

type SsfResult = Result<Response, SsfError>;

/// The stream, or 404 when the integration has none.
async fn stream_of(state: &AppState, access: &Access) -> Result<Stream, SsfError> {
    state
        .store
        .stream(access.account(), access.integration.id)
        .await?
        .ok_or(SsfError(ApiError::NotFound("Stream")))
}

/// The stream named by a request's `stream_id` (query or body): 400 when it is missing, 404
/// when it is not this integration's stream.
async fn named_stream(
    state: &AppState,
    access: &Access,
    stream_id: Option<&str>,
    pointer: &str,
) -> Result<Stream, SsfError> {
    let Some(stream_id) = stream_id else {
        return Err(ApiError::invalid(pointer, "`stream_id` is required").into());
    };
    let stream = stream_of(state, access).await?;
    if stream.stream_id != stream_id {
        return Err(ApiError::NotFound("Stream").into());
    }
    Ok(stream)
}

/// A request body's members, and the stream its `stream_id` names (as [`named_stream`]).
async fn named_in_body<'a>(
    state: &AppState,
    access: &Access,
    body: &'a Value,
) -> Result<(&'a Map<String, Value>, Stream), SsfError> {
    let object = body
        .as_object()
        .ok_or_else(|| ApiError::invalid("", "expected a JSON object"))?;
    let stream_id = object.get("stream_id").and_then(Value::as_str);
    let stream = named_stream(state, access, stream_id, "/stream_id").await?;
    Ok((object, stream))
}

fn config(state: &AppState, access: &Access, stream: &Stream) -> StreamConfiguration {
    stream_config(&state.config.public_url, &access.integration, stream)
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(serde::Deserialize)]
struct StreamIdQuery {
    stream_id: Option<String>,
}

fn stream_id_query(query: Result<Query<StreamIdQuery>, impl std::fmt::Display>) -> Option<String> {
    query.ok().and_then(|Query(q)| q.stream_id)
}

/// GET: the stream named by `?stream_id=`, or every stream of the integration (SSF: a list,
/// here of at most one).
async fn read(
    State(state): State<AppState>,
    access: Access,
    query: Result<Query<StreamIdQuery>, axum::extract::rejection::QueryRejection>,
) -> SsfResult {
    let stream_id = stream_id_query(query);
    let found = state
        .store
        .stream(access.account(), access.integration.id)
        .await?;
    let response = match stream_id {
        Some(id) => match found {
            Some(stream) if stream.stream_id == id => {
                Json(config(&state, &access, &stream)).into_response()
            }
            _ => return Err(ApiError::NotFound("Stream").into()),
        },
        None => Json(
            found
                .iter()
                .map(|stream| config(&state, &access, stream))
                .collect::<Vec<_>>(),
        )
        .into_response(),
    };
    Ok(no_store(response))
}

async fn create(
    State(state): State<AppState>,
    access: Access,
    SsfJson(body): SsfJson,
) -> SsfResult {
    let fields = parse_stream(&state, &access, &body, None)?;
    let stream = state
        .store
        .create_stream(
            access.account(),
            access.integration.id,
            fields,
            &access.actor(),
        )
        .await?;
    let mut response = Json(config(&state, &access, &stream)).into_response();
    *response.status_mut() = StatusCode::CREATED;
    Ok(no_store(response))
}

/// PATCH: the properties given replace theirs; the others stay.
async fn update(
    State(state): State<AppState>,
    access: Access,
    SsfJson(body): SsfJson,
) -> SsfResult {
    write_stream(state, access, body, true).await
}

/// PUT: the receiver's properties are replaced as a whole; those missing take their defaults.
async fn replace(
    State(state): State<AppState>,
    access: Access,
    SsfJson(body): SsfJson,
) -> SsfResult {
    write_stream(state, access, body, false).await
}

async fn write_stream(state: AppState, access: Access, body: Value, patch: bool) -> SsfResult {
    let stream_id = body.get("stream_id").and_then(Value::as_str);
    let stream = named_stream(&state, &access, stream_id, "/stream_id").await?;
    let fields = parse_stream(&state, &access, &body, patch.then_some(&stream.fields))?;
    let updated = state
        .store
        .update_stream(
            access.account(),
            access.integration.id,
            fields,
            &access.actor(),
        )
        .await?
        .ok_or(ApiError::NotFound("Stream"))?;
    Ok(no_store(
        Json(config(&state, &access, &updated)).into_response(),
    ))
}

async fn delete(
    State(state): State<AppState>,
    access: Access,
    query: Result<Query<StreamIdQuery>, axum::extract::rejection::QueryRejection>,
) -> SsfResult {
    let stream_id = stream_id_query(query);
    named_stream(&state, &access, stream_id.as_deref(), "/stream_id").await?;
    if !state
        .store
        .delete_stream(access.account(), access.integration.id, &access.actor())
        .await?
    {
        return Err(ApiError::NotFound("Stream").into());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn read_status(
    State(state): State<AppState>,
    access: Access,
    query: Result<Query<StreamIdQuery>, axum::extract::rejection::QueryRejection>,
) -> SsfResult {
    let stream_id = stream_id_query(query);
    let stream = named_stream(&state, &access, stream_id.as_deref(), "/stream_id").await?;
    Ok(no_store(Json(stream_status(&stream)).into_response()))
}

async fn update_status(
    State(state): State<AppState>,
    access: Access,
    SsfJson(body): SsfJson,
) -> SsfResult {
    let (object, _) = named_in_body(&state, &access, &body).await?;
    let status = match object.get("status") {
        Some(Value::String(s)) => StreamStatus::parse(s),
        _ => None,
    }
    .ok_or_else(|| {
        ApiError::invalid(
            "/status",
            format!("`status` is required: {}", StreamStatus::expected()),
        )
    })?;
    let reason = optional_text(object, "reason", 1024)?;
    let updated = state
        .store
        .set_stream_status(
            access.account(),
            access.integration.id,
            status,
            reason,
            &access.actor(),
        )
        .await?
        .ok_or(ApiError::NotFound("Stream"))?;
    state.sharing.queued();
    Ok(no_store(Json(stream_status(&updated)).into_response()))
}

/// 204, then a verification SET carrying the receiver's `state` (SSF 1.0 section 8.1.4.2).
async fn verify(
    State(state): State<AppState>,
    access: Access,
    SsfJson(body): SsfJson,
) -> SsfResult {
    let (object, _) = named_in_body(&state, &access, &body).await?;
    let verification = StreamEvent::Verification {
        state: optional_text(object, "state", 4096)?,
    };
    if !state
        .store
        .queue_stream_event(
            access.account(),
            access.integration.id,
            verification,
            &access.actor(),
        )
        .await?
    {
        return Err(ApiError::NotFound("Stream").into());
    }
    state.sharing.queued();
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn add_subject(
    State(state): State<AppState>,
    access: Access,
    SsfJson(body): SsfJson,
) -> SsfResult {
    set_subject(&state, &access, &body, false).await?;
    Ok(StatusCode::OK.into_response())
}

async fn remove_subject(
    State(state): State<AppState>,
    access: Access,
    SsfJson(body): SsfJson,
) -> SsfResult {
    set_subject(&state, &access, &body, true).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Subjects are users, by email (the format of ztrisk's SETs); every subject is in by default
/// (`default_subjects: "ALL"`). An email ztrisk has not seen yet is accepted: its events
/// follow the stream's choice when they come.
async fn set_subject(
    state: &AppState,
    access: &Access,
    body: &Value,
    removed: bool,
) -> Result<(), SsfError> {
    let (object, _) = named_in_body(state, access, body).await?;
    let email = subject_email(object.get("subject"))?;
    if let Some(verified) = object.get("verified")
        && !verified.is_boolean()
    {
        return Err(ApiError::invalid("/verified", "expected a boolean").into());
    }
    if !state
        .store
        .set_subject_removed(
            access.account(),
            access.integration.id,
            &email,
            removed,
            &access.actor(),
        )
        .await?
    {
        return Err(ApiError::NotFound("Stream").into());
    }
    Ok(())
}

/// The email of a subject `{"format": "email", "email": ...}` (RFC 9493), lowercased.
fn subject_email(subject: Option<&Value>) -> Result<String, ApiError> {
    let Some(subject) = subject.and_then(Value::as_object) else {
        return Err(ApiError::invalid(
            "/subject",
            "`subject` is required: {\"format\": \"email\", \"email\": ...}",
        ));
    };
    match subject.get("format").and_then(Value::as_str) {
        Some("email") => {}
        Some(other) => {
            return Err(ApiError::invalid(
                "/subject/format",
                format!(
                    "unsupported subject format {other:?}: ztrisk's subjects are users, by \"email\""
                ),
            ));
        }
        None => {
            return Err(ApiError::invalid(
                "/subject/format",
                "`format` is required: \"email\"",
            ));
        }
    }
    subject
        .get("email")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|e| ztrisk_core::credentials::is_email_shaped(e))
        .map(str::to_lowercase)
        .ok_or_else(|| ApiError::invalid("/subject/email", "expected an email address"))
}

/// An optional string member of at most `max` characters.
fn optional_text(
    object: &Map<String, Value>,
    name: &str,
    max: usize,
) -> Result<Option<String>, ApiError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid(
            format!("/{name}"),
            format!("expected a string of at most {max} characters"),
        )),
    }
}

/// A stream configuration from the receiver (SSF 1.0 section 8.1.1): `delivery`,
/// `events_requested`, `description`. With `base` (PATCH), absent members keep their values;
/// without (POST, PUT), they take their defaults: poll, every supported event, none.
/// Transmitter-supplied members are ignored, except `iss` and `aud`, which must be this
/// stream's if given.
fn parse_stream(
    state: &AppState,
    access: &Access,
    body: &Value,
    base: Option<&StreamFields>,
) -> Result<StreamFields, ApiError> {
    let Some(object) = body.as_object() else {
        return Err(ApiError::invalid("", "expected a JSON object"));
    };
    let mut errors = Vec::new();
    let issuer = ztrisk_deliver::send::issuer(&state.config.public_url, access.integration.id);
    if let Some(iss) = object.get("iss")
        && iss.as_str() != Some(issuer.as_str())
    {
        errors.push(FieldError::new(
            "/iss",
            format!("`iss` is set by ztrisk: {issuer:?}"),
        ));
    }
    if let Some(aud) = object.get("aud")
        && !audience_matches(aud, &access.integration.tenant_url)
    {
        errors.push(FieldError::new(
            "/aud",
            format!(
                "`aud` is the integration's tenant_url: {:?}",
                access.integration.tenant_url
            ),
        ));
    }
    let delivery = match object.get("delivery") {
        None | Some(Value::Null) => Some(
            base.map(|b| b.delivery.clone())
                .unwrap_or(StreamDelivery::Poll),
        ),
        Some(delivery) => parse_delivery(delivery, &state.sharing.own_urls, &mut errors),
    };
    let events_requested = match object.get("events_requested") {
        None | Some(Value::Null) => base
            .map(|b| b.events_requested.clone())
            .unwrap_or_else(default_events),
        Some(events) => parse_events(events, &mut errors),
    };
    let description = match object.get("description") {
        None => base.and_then(|b| b.description.clone()),
        Some(_) => match optional_text(object, "description", 1024) {
            Ok(description) => description,
            Err(ApiError::Invalid(problems)) => {
                errors.extend(problems);
                None
            }
            Err(other) => return Err(other),
        },
    };
    match delivery {
        Some(delivery) if errors.is_empty() => Ok(StreamFields {
            delivery,
            events_requested,
            description,
        }),
        _ => Err(ApiError::Invalid(errors)),
    }
}

fn audience_matches(aud: &Value, tenant_url: &str) -> bool {
    match aud {
        Value::String(a) => a == tenant_url,
        Value::Array(list) => list.len() == 1 && list[0].as_str() == Some(tenant_url),
        _ => false,
    }
}

/// What a receiver that names no events gets: every event type it could request.
fn default_events() -> Vec<String> {
    EVENTS_SUPPORTED
        .iter()
        .filter(|e| ztrisk_types::ssf::is_requestable(e))
        .map(|e| (*e).to_owned())
        .collect()
}

fn parse_delivery(
    delivery: &Value,
    own_urls: &[url::Url],
    errors: &mut Vec<FieldError>,
) -> Option<StreamDelivery> {
    let Some(delivery) = delivery.as_object() else {
        errors.push(FieldError::new(
            "/delivery",
            "expected an object with `method`",
        ));
        return None;
    };
    let supported = StreamDeliveryMethod::expected();
    let method = match delivery.get("method").and_then(Value::as_str) {
        Some(m) if m == RISC_PUSH => Some(StreamDeliveryMethod::Push),
        Some(m) if m == RISC_POLL => Some(StreamDeliveryMethod::Poll),
        Some(m) => match StreamDeliveryMethod::parse(m) {
            Some(method) => Some(method),
            None => {
                errors.push(FieldError::new(
                    "/delivery/method",
                    format!("unsupported delivery method {m:?}; supported: {supported}"),
                ));
                None
            }
        },
        None => {
            errors.push(FieldError::new(
                "/delivery/method",
                format!("`method` is required: {supported}"),
            ));
            None
        }
    };
    match method? {
        // The poll URL is ztrisk's to give: one the receiver sends is ignored.
        StreamDeliveryMethod::Poll => Some(StreamDelivery::Poll),
        StreamDeliveryMethod::Push => {
            let endpoint_url = match delivery.get("endpoint_url").and_then(Value::as_str) {
                Some(url) => match ztrisk_deliver::outbound::check_url(url, own_urls) {
                    Ok(_) => Some(url.trim().to_owned()),
                    Err(message) => {
                        errors.push(FieldError::new("/delivery/endpoint_url", message));
                        None
                    }
                },
                None => {
                    errors.push(FieldError::new(
                        "/delivery/endpoint_url",
                        "`endpoint_url` is required for push: an absolute https:// URL",
                    ));
                    None
                }
            };
            let authorization_header = match delivery.get("authorization_header") {
                None | Some(Value::Null) => None,
                Some(Value::String(h))
                    if !h.is_empty() && h.len() <= 4096 && HeaderValue::from_str(h).is_ok() =>
                {
                    Some(h.clone())
                }
                Some(_) => {
                    errors.push(FieldError::new(
                        "/delivery/authorization_header",
                        "expected an HTTP header value of at most 4096 bytes",
                    ));
                    None
                }
            };
            Some(StreamDelivery::Push {
                endpoint_url: endpoint_url?,
                authorization_header,
            })
        }
    }
}

/// `events_requested`: event type URIs. Types ztrisk does not transmit may be listed (SSF
/// delivers the intersection, `events_delivered`), but a list of only such types asks for a
/// stream that could never carry anything, and is refused.
fn parse_events(events: &Value, errors: &mut Vec<FieldError>) -> Vec<String> {
    let Some(list) = events.as_array() else {
        errors.push(FieldError::new(
            "/events_requested",
            "expected an array of event type URIs",
        ));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, event) in list.iter().enumerate() {
        match event.as_str() {
            Some(e) if !e.is_empty() && e.len() <= 512 => {
                if !out.iter().any(|o| o == e) {
                    out.push(e.to_owned());
                }
            }
            _ => errors.push(FieldError::new(
                format!("/events_requested/{i}"),
                "expected an event type URI",
            )),
        }
    }
    if !out.is_empty() && !out.iter().any(|e| EVENTS_SUPPORTED.contains(&e.as_str())) {
        errors.push(FieldError::new(
            "/events_requested",
            format!(
                "none of these event types is transmitted; supported: {}",
                EVENTS_SUPPORTED.join(", ")
            ),
        ));
    }
    out
}

/// RFC 8936 section 2.4: acknowledge, report errors, and receive SETs.
async fn poll(State(state): State<AppState>, access: Access, SsfJson(body): SsfJson) -> SsfResult {
    let request = parse_poll(&body, state.config.poll_lease)?;
    let stream = stream_of(&state, &access).await?;
    if !matches!(stream.fields.delivery, StreamDelivery::Poll) {
        return Err(ApiError::BadRequest(
            "this stream delivers by push (urn:ietf:rfc:8935): it cannot be polled".into(),
        )
        .into());
    }
    let deadline = tokio::time::Instant::now()
        + if request.wait {
            LONG_POLL
        } else {
            Duration::ZERO
        };
    let mut store_request = request.store;
    loop {
        // Registered before looking, so a queue that happens between the look and the wait
        // still wakes this poll.
        let woken = state.sharing.polls.notified();
        let outcome = state
            .store
            .poll_stream(
                access.account(),
                access.integration.id,
                store_request.clone(),
                chrono::Utc::now(),
            )
            .await?;
        let (sets, more_available) = match outcome {
            PollOutcome::Served {
                sets,
                more_available,
            } => (sets, more_available),
            PollOutcome::UnknownJti(jti) => {
                return Err(ApiError::BadRequest(format!(
                    "{jti:?} is not a SET of this stream: nothing was acknowledged"
                ))
                .into());
            }
            PollOutcome::NoStream => return Err(ApiError::NotFound("Stream").into()),
        };
        // Acknowledgements are applied once; a poll that waits only asks for SETs again.
        store_request.ack.clear();
        store_request.refused.clear();
        let now = tokio::time::Instant::now();
        if !sets.is_empty() || store_request.max_events == 0 || now >= deadline {
            let body = PollResponse {
                sets: signed(&state, &access, &stream, sets).await?,
                more_available: more_available.then_some(true),
            };
            return Ok(no_store(Json(body).into_response()));
        }
        let nap = POLL_RECHECK.min(deadline - now);
        tokio::select! {
            () = woken => {}
            () = tokio::time::sleep(nap) => {}
        }
    }
}

/// The SETs handed out, by `jti`: those signed by an earlier poll as they were, the others
/// signed now and kept, so that every poll hands out the same bytes for a `jti`.
async fn signed(
    state: &AppState,
    access: &Access,
    stream: &Stream,
    sets: Vec<DeliveryTask>,
) -> Result<BTreeMap<String, String>, SsfError> {
    let mut out = BTreeMap::new();
    if sets.is_empty() {
        return Ok(out);
    }
    let issuer = ztrisk_deliver::send::issuer(&state.config.public_url, access.integration.id);
    let keys = state.sharing.keys(state.store.as_ref()).await?;
    let mut fresh = Vec::new();
    let mut claims = Vec::new();
    for task in &sets {
        match &task.payload {
            Some(bytes) => {
                out.insert(
                    task.record.id.clone(),
                    String::from_utf8_lossy(bytes).into_owned(),
                );
            }
            None => {
                let audience = match &task.target {
                    Target::SsfPoll { audience, .. } => audience.as_str(),
                    _ => access.integration.tenant_url.as_str(),
                };
                let set = StreamSet {
                    issuer: &issuer,
                    audience,
                    stream_id: &stream.stream_id,
                };
                claims.push((
                    task.seq,
                    task.record.id.clone(),
                    set.claims(task, chrono::Utc::now().timestamp()),
                ));
            }
        }
    }
    if !claims.is_empty() {
        // Signing is CPU work (about 0.6 ms a SET): off the async workers.
        let signed = tokio::task::spawn_blocking(move || {
            let key = keys.active().ok_or("no signing key yet")?;
            claims
                .into_iter()
                .map(|(seq, jti, claims)| {
                    key.sign_jws(ztrisk_deliver::set::SET_TYP, &claims)
                        .map(|jws| (seq, jti, jws))
                        .map_err(|_| "signing failed")
                })
                .collect::<Result<Vec<_>, &'static str>>()
        })
        .await
        .map_err(|e| ApiError::Internal(format!("signing task: {e}")))?
        .map_err(|e| ApiError::Internal(e.to_owned()))?;
        for (seq, jti, jws) in signed {
            fresh.push((seq, jws.clone().into_bytes()));
            out.insert(jti, jws);
        }
        state.store.keep_payloads(fresh).await?;
    }
    Ok(out)
}

/// A poll request as the store carries it out, and whether to wait for SETs.
struct Poll {
    store: PollRequest,
    wait: bool,
}

fn parse_poll(body: &Value, lease: Duration) -> Result<Poll, ApiError> {
    let Some(object) = body.as_object() else {
        return Err(ApiError::invalid("", "expected a JSON object"));
    };
    let mut errors = Vec::new();
    let max_events = match object.get("maxEvents") {
        None | Some(Value::Null) => DEFAULT_MAX_EVENTS,
        Some(v) => match v.as_u64() {
            Some(n) => usize::try_from(n).unwrap_or(MAX_EVENTS).min(MAX_EVENTS),
            None => {
                errors.push(FieldError::new(
                    "/maxEvents",
                    "expected a non-negative integer",
                ));
                0
            }
        },
    };
    let wait = match object.get("returnImmediately") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(immediately)) => !immediately,
        Some(_) => {
            errors.push(FieldError::new("/returnImmediately", "expected a boolean"));
            false
        }
    };
    let mut ack = Vec::new();
    match object.get("ack") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for (i, jti) in list.iter().enumerate() {
                match jti.as_str() {
                    Some(j) if !j.is_empty() => ack.push(j.to_owned()),
                    _ => errors.push(FieldError::new(format!("/ack/{i}"), "expected a jti")),
                }
            }
        }
        Some(_) => errors.push(FieldError::new("/ack", "expected an array of jti")),
    }
    let mut refused = Vec::new();
    match object.get("setErrs") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (jti, error) in map {
                let err = error.get("err").and_then(Value::as_str);
                let description = error.get("description").and_then(Value::as_str);
                match err {
                    Some(err) => refused.push((
                        jti.clone(),
                        match description {
                            Some(d) => format!("the receiver refused it: {err}: {d}"),
                            None => format!("the receiver refused it: {err}"),
                        },
                    )),
                    None => errors.push(FieldError::new(
                        format!("/setErrs/{}", pointer_escape(jti)),
                        "expected {\"err\": ..., \"description\"?: ...}",
                    )),
                }
            }
        }
        Some(_) => errors.push(FieldError::new(
            "/setErrs",
            "expected an object of jti -> {\"err\", \"description\"}",
        )),
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    Ok(Poll {
        store: PollRequest {
            ack,
            refused,
            max_events,
            lease,
        },
        wait,
    })
}

/// A JSON pointer's escaping of one reference token (RFC 6901).
fn pointer_escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
