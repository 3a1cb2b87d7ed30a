//! Every response body, built from domain and store records into the wire types of
//! `ztrisk-types` (which the Rust client decodes, and the OpenAPI document describes). Route
//! files call these and never write JSON by hand.
//!
//! Plain functions rather than `From` impls: both sides of each conversion belong to other
//! crates, and some need the server's configuration (the public URL).

use ztrisk_core::behaviors::{AccountBehaviors, Predefined};
use ztrisk_core::scoring::{CONFIRMED_COMPROMISED, CONFIRMED_COMPROMISED_NAME};
use ztrisk_store::model::{
    DeliveryRecord, IngestOutcome, Integration, Page, Paging, RiskEventRecord, UserRisk,
    UserSummary, Webhook,
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
        well_known_url: format!(
            "{}/.well-known/sse-configuration/{}/",
            public_url.trim_end_matches('/'),
            i.id
        ),
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
