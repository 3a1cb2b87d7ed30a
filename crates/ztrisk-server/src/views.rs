//! Every response body, built from domain and store records into the wire types of
//! `ztrisk-types` (which the Rust client decodes, and the OpenAPI document describes). Route
//! files call these and never write JSON by hand.
//!
//! Plain functions rather than `From` impls: both sides of each conversion belong to other
//! crates, and some need the server's configuration (the public URL).

use ztrisk_core::behaviors::{AccountBehaviors, Predefined};
use ztrisk_core::scoring::{CONFIRMED_COMPROMISED, CONFIRMED_COMPROMISED_NAME};
use ztrisk_store::model::{
    DeliveryRecord, IngestOutcome, Integration, IntegrationType, Page, Paging, RiskEventRecord,
    Stream, StreamBacklog, StreamDelivery, StreamDeliveryMethod, UserRisk, UserSummary, Webhook,
};
use ztrisk_types as wire;

/// `result_info` of a page.
pub fn result_info<T>(page: &Page<T>, paging: Paging) -> wire::ResultInfo {
    wire::ResultInfo {
        page: paging.page,
        per_page: paging.per_page,
        count: page.items.len() as u64,
        total_count: page.total_count,
        total_pages: page.total_count.div_ceil(u64::from(paging.per_page)),
    }
}

/// GET and PUT `/behaviors`: the catalog order, each with its settings (thresholds, then the
/// controls of spec 6.1).
pub fn behaviors(behaviors: &AccountBehaviors) -> wire::Behaviors {
    wire::Behaviors {
        behaviors: behaviors
            .iter()
            .map(|(id, name, description, _, config)| {
                let settings = Some(config.settings_json(id));
                let behavior = wire::Behavior {
                    name: Some(name.to_owned()),
                    description: Some(description.to_owned()),
                    enabled: config.enabled,
                    risk_level: config.risk_level,
                    settings,
                };
                (id.to_owned(), behavior)
            })
            .collect(),
    }
}

pub fn summary_user(u: &UserSummary) -> wire::SummaryUser {
    wire::SummaryUser {
        user_id: u.user_id.to_string(),
        name: u.name.clone(),
        email: u.email.clone(),
        event_count: u.event_count,
        last_event: u.last_event,
        max_risk_level: Some(u.max_risk_level),
    }
}

pub fn summary(page: &Page<UserSummary>) -> wire::SummaryResult {
    wire::SummaryResult {
        users: page.items.iter().map(summary_user).collect(),
    }
}

/// A risk event, named by its behavior's display name (a custom behavior's is its id).
pub fn risk_event(e: &RiskEventRecord) -> wire::RiskEvent {
    let name = if e.behavior_id == CONFIRMED_COMPROMISED {
        CONFIRMED_COMPROMISED_NAME.to_owned()
    } else {
        Predefined::from_id(&e.behavior_id)
            .map(|p| p.name().to_owned())
            .unwrap_or_else(|| e.behavior_id.clone())
    };
    wire::RiskEvent {
        id: e.id.to_string(),
        name,
        risk_level: Some(e.risk_level),
        timestamp: e.timestamp,
        event_details: Some(e.details.clone()),
    }
}

pub fn user_risk(risk: &UserRisk) -> wire::UserRiskResult {
    wire::UserRiskResult {
        email: risk.email.clone(),
        name: risk.name.clone(),
        risk_level: risk.risk_level,
        last_reset_time: risk.last_reset_time,
        events: risk.events.items.iter().map(risk_event).collect(),
    }
}

/// An integration, with the well-known URL it is published at on this server.
pub fn integration(i: &Integration, public_url: &str) -> wire::Integration {
    wire::Integration {
        id: i.id.to_string(),
        account_tag: i.account.to_string(),
        active: i.active,
        created_at: i.created_at,
        integration_type: i.integration_type.as_str().to_owned(),
        reference_id: i.reference_id.clone(),
        tenant_url: i.tenant_url.clone(),
        well_known_url: well_known_url(i, public_url),
    }
}

/// Where a receiver discovers the integration: Cloudflare's spelling for Okta, SSF 1.0's
/// (section 7.2) for SSF receivers, which derive it from the issuer.
fn well_known_url(i: &Integration, public_url: &str) -> String {
    let public = public_url.trim_end_matches('/');
    match i.integration_type {
        IntegrationType::Okta => format!("{public}/.well-known/sse-configuration/{}/", i.id),
        IntegrationType::Ssf => format!("{public}/.well-known/ssf-configuration/{}", i.id),
    }
}

/// The URLs of an SSF integration's endpoints (spec 4.5).
pub struct SsfEndpoints {
    pub configuration: String,
    pub poll: String,
}

impl SsfEndpoints {
    pub fn of(public_url: &str, integration: uuid::Uuid) -> Self {
        let base = format!("{}/ssf/{integration}", public_url.trim_end_matches('/'));
        Self {
            poll: format!("{base}/poll"),
            configuration: format!("{base}/stream"),
        }
    }
}

/// An integration's transmitter metadata (SSF 1.0 section 7.1; spec 4.3 and 4.5).
pub fn transmitter_metadata(i: &Integration, public_url: &str) -> wire::ssf::TransmitterMetadata {
    let public = public_url.trim_end_matches('/');
    let mut metadata = wire::ssf::TransmitterMetadata {
        issuer: ztrisk_deliver::send::issuer(public, i.id),
        jwks_uri: format!("{public}{}", crate::routes::discovery::JWKS_PATH),
        spec_version: "1_0".into(),
        delivery_methods_supported: vec![
            StreamDeliveryMethod::Push.as_str().into(),
            wire::ssf::RISC_PUSH.into(),
        ],
        configuration_endpoint: None,
        status_endpoint: None,
        verification_endpoint: None,
        add_subject_endpoint: None,
        remove_subject_endpoint: None,
        authorization_schemes: Vec::new(),
        default_subjects: None,
    };
    if i.integration_type == IntegrationType::Ssf {
        let stream = SsfEndpoints::of(public, i.id).configuration;
        metadata.delivery_methods_supported = vec![
            StreamDeliveryMethod::Push.as_str().into(),
            StreamDeliveryMethod::Poll.as_str().into(),
        ];
        metadata.status_endpoint = Some(format!("{stream}/status"));
        metadata.verification_endpoint = Some(format!("{stream}/verify"));
        metadata.add_subject_endpoint = Some(format!("{stream}/subjects/add"));
        metadata.remove_subject_endpoint = Some(format!("{stream}/subjects/remove"));
        metadata.configuration_endpoint = Some(stream);
        metadata.authorization_schemes = vec![wire::ssf::AuthorizationScheme {
            spec_urn: "urn:ietf:rfc:6750".into(),
        }];
        metadata.default_subjects = Some("ALL".into());
    }
    metadata
}

/// A stream's configuration as SSF 1.0 (section 8.1.1) writes it. The receiver's
/// `authorization_header` is a credential: it is kept, never shown back.
pub fn stream_config(
    public_url: &str,
    i: &Integration,
    stream: &Stream,
) -> wire::ssf::StreamConfiguration {
    let endpoint_url = match &stream.fields.delivery {
        StreamDelivery::Push { endpoint_url, .. } => endpoint_url.clone(),
        StreamDelivery::Poll => SsfEndpoints::of(public_url, i.id).poll,
    };
    wire::ssf::StreamConfiguration {
        stream_id: stream.stream_id.clone(),
        iss: ztrisk_deliver::send::issuer(public_url, i.id),
        aud: i.tenant_url.clone(),
        events_supported: wire::ssf::EVENTS_SUPPORTED.map(str::to_owned).to_vec(),
        events_requested: stream.fields.events_requested.clone(),
        events_delivered: events_delivered(stream)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        delivery: wire::ssf::StreamDeliveryConfiguration {
            method: stream.fields.delivery.method().as_str().into(),
            endpoint_url,
        },
        description: stream.fields.description.clone(),
    }
}

/// A stream's status as SSF answers it.
pub fn stream_status(stream: &Stream) -> wire::ssf::StreamStatusBody {
    wire::ssf::StreamStatusBody {
        stream_id: stream.stream_id.clone(),
        status: stream.status.as_str().into(),
        reason: stream.reason.clone(),
    }
}

/// The requested event types that ztrisk transmits, in the order it lists them.
fn events_delivered(stream: &Stream) -> Vec<&'static str> {
    ztrisk_types::ssf::EVENTS_SUPPORTED
        .into_iter()
        .filter(|e| stream.fields.events_requested.iter().any(|r| r == e))
        .collect()
}

/// A stream as its administrator sees it (`ztrisk integrations stream`).
pub fn integration_stream(
    public_url: &str,
    i: &Integration,
    stream: &Stream,
    backlog: StreamBacklog,
) -> wire::IntegrationStream {
    let endpoint_url = match &stream.fields.delivery {
        StreamDelivery::Push { endpoint_url, .. } => endpoint_url.clone(),
        StreamDelivery::Poll => SsfEndpoints::of(public_url, i.id).poll,
    };
    wire::IntegrationStream {
        stream_id: stream.stream_id.clone(),
        status: stream.status.as_str().to_owned(),
        reason: stream.reason.clone(),
        delivery_method: stream.fields.delivery.method().as_str().to_owned(),
        endpoint_url,
        events_delivered: events_delivered(stream)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        description: stream.fields.description.clone(),
        removed_subjects: stream.removed_subjects.clone(),
        created_at: stream.created_at,
        updated_at: stream.updated_at,
        backlog: wire::StreamBacklog {
            pending: backlog.pending,
            oldest_pending_at: backlog.oldest_pending_at,
        },
    }
}

/// A webhook, without its secret (only its creation shows that).
pub fn webhook(w: &Webhook) -> wire::Webhook {
    wire::Webhook {
        id: w.id.to_string(),
        url: w.url.clone(),
        active: w.active,
        format: w.format.as_str().to_owned(),
        min_level: w.min_level,
        created_at: w.created_at,
        secret: None,
    }
}

pub fn delivery(d: &DeliveryRecord) -> wire::Delivery {
    wire::Delivery {
        id: d.id.clone(),
        user_id: d.user_id.to_string(),
        email: d.email.clone(),
        previous_level: d.previous,
        current_level: d.current,
        status: d.status.as_str().to_owned(),
        attempts: d.attempts,
        created_at: d.created_at,
        last_attempt_at: d.last_attempt_at,
        next_attempt_at: d.next_attempt_at,
        last_error: d.last_error.clone(),
    }
}

pub fn ingest_result(
    outcome: IngestOutcome,
    rejected: Vec<wire::RejectedEvent>,
    skipped: Option<u64>,
) -> wire::IngestResult {
    wire::IngestResult {
        accepted: outcome.accepted,
        duplicates: outcome.duplicates,
        skipped,
        risk_events: outcome.risk_events,
        rejected,
    }
}

/// An entry of the audit log (what the store recorded holds no secret).
pub fn audit_entry(e: &ztrisk_store::model::AuditRecord) -> wire::AuditEntry {
    wire::AuditEntry {
        id: u64::try_from(e.id).unwrap_or_default(),
        at: e.at,
        actor: e.actor.clone(),
        action: e.action.clone(),
        target: e.target.clone(),
        change: e.change.clone(),
    }
}

/// Who acted, as evidence shows it: a token by id, a global key by its email, or the CLI.
/// Never a secret.
pub fn actor(actor: &ztrisk_store::model::Actor) -> serde_json::Value {
    use ztrisk_store::model::Actor;
    match actor {
        Actor::Token { id } => serde_json::json!({"type": "api_token", "id": id}),
        Actor::ApiKey { email } => serde_json::json!({"type": "api_key", "email": email}),
        Actor::Cli => serde_json::json!({"type": "cli"}),
        Actor::System => serde_json::json!({"type": "system"}),
    }
}
