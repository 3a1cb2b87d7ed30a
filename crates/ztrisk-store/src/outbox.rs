//! What both backends' outboxes share: the rows a level change becomes, and how stored
//! columns read back. The SQL is each backend's own (`sqlite/outbox.rs`, `postgres/outbox.rs`).

use crate::model::{AttemptResult, DeliveryStatus, Destination, Target, WebhookFormat};
use crate::time::to_ms;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use ztrisk_core::RiskLevel;
use ztrisk_core::scoring::Touched;
use ztrisk_core::scoring::{ChangeCause, LevelChange};

/// A user's level change, with what deliveries say about the user.
#[derive(Debug, Clone)]
pub struct ChangedUser {
    /// `users.key`: a user's deliveries are ordered and superseded by it.
    pub user_key: i64,
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub change: LevelChange,
}

impl ChangedUser {
    /// The outbox row of a change made to one user outside ingest (a reset, a confirmation,
    /// an expiry): `before` is the level as the user's row stored it (`None` while unscored).
    /// `None` when the level stays.
    pub fn after(
        user: UserRow,
        before: Option<RiskLevel>,
        after: Option<RiskLevel>,
        cause: ChangeCause,
        now: i64,
    ) -> Option<ChangedUser> {
        let change = LevelChange::between(before, after, cause, now)?;
        Some(ChangedUser {
            user_key: user.key,
            user_id: user.user_id,
            email: user.email,
            name: user.name,
            change,
        })
    }
}

/// Who a change outside ingest is about: what the outbox says of the user.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub key: i64,
    pub user_id: String,
    pub email: String,
    pub name: String,
}

/// The level a user's row stands for: `rank`, while it has risk events that count.
pub fn stored_level(rank: i64, count: i64) -> Option<RiskLevel> {
    if count > 0 {
        crate::rank::level_of(rank)
    } else {
        None
    }
}

/// A destination of the account that may want the change.
#[derive(Debug, Clone)]
pub struct Subscriber {
    pub destination: Destination,
    /// Webhooks only hear of changes that reach this level (integrations: every change).
    pub min_level: Option<RiskLevel>,
    /// SSF streams: the subjects (emails) their receiver removed.
    pub removed: HashSet<String>,
}

impl Subscriber {
    pub fn new(destination: Destination, min_level: Option<RiskLevel>) -> Self {
        Self {
            destination,
            min_level,
            removed: HashSet::new(),
        }
    }

    pub fn wants(&self, changed: &ChangedUser) -> bool {
        self.min_level.is_none_or(|min| changed.change.reaches(min))
            && !self.removed.contains(&changed.email)
    }
}

/// Whether an integration, as its row and its stream's row read, hears of level changes:
/// Okta integrations always; SSF ones when their stream exists, is not disabled and asked for
/// risk-level changes.
pub fn integration_subscribes(
    integration_type: &str,
    stream_status: Option<&str>,
    delivers_risk: bool,
) -> bool {
    match crate::model::IntegrationType::parse(integration_type) {
        Some(crate::model::IntegrationType::Okta) => true,
        Some(crate::model::IntegrationType::Ssf) => {
            delivers_risk
                && stream_status
                    .and_then(crate::model::StreamStatus::parse)
                    .is_some_and(|s| s != crate::model::StreamStatus::Disabled)
        }
        None => false,
    }
}

/// The user key of a stream's own events (verification, stream-updated): no user has it, so
/// they neither wait for nor supersede any user's changes.
pub const STREAM_EVENT_USER_KEY: i64 = 0;

/// A fresh delivery id (`jti`, `webhook-id`): 32 lowercase hex digits, random.
pub fn new_delivery_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub fn status_of(text: &str) -> DeliveryStatus {
    DeliveryStatus::parse(text).unwrap_or(DeliveryStatus::Failed)
}

/// Why the pending deliveries of a destination fail when it goes away.
pub const DEACTIVATED: &str = "the destination was deactivated";
pub const DELETED: &str = "the destination was deleted";
/// Why a claimed delivery fails when its destination went away as it was being queued.
pub const GONE: &str = "the destination is inactive or was deleted";
/// Why a stream's pending deliveries fail.
pub const STREAM_DELETED: &str = "the stream was deleted";
pub const STREAM_DISABLED: &str = "the stream was disabled";

/// How an attempt's result is stored: the status, when the next attempt is due (for a settled
/// delivery, when it was settled), and the error.
pub fn stored_outcome(
    result: &AttemptResult,
    now: DateTime<Utc>,
) -> (&'static str, i64, Option<&str>) {
    match result {
        AttemptResult::Delivered => ("delivered", to_ms(now), None),
        AttemptResult::Retry { next_at, error } => {
            ("pending", to_ms(*next_at), Some(error.as_str()))
        }
        AttemptResult::Failed { error } => ("failed", to_ms(now), Some(error.as_str())),
    }
}

/// The batch's level changes (at most one per user), as outbox rows: `user_ids` maps the
/// users' row keys to their API ids.
pub fn changed_users(
    users: &HashMap<&str, Touched<i64>>,
    user_ids: &HashMap<i64, String>,
    now: i64,
) -> Vec<ChangedUser> {
    users
        .iter()
        .filter_map(|(email, touched)| {
            Some(ChangedUser {
                user_key: touched.key,
                user_id: user_ids.get(&touched.key)?.clone(),
                email: (*email).to_owned(),
                name: touched.user.name.clone(),
                change: touched.level_change(now)?,
            })
        })
        .collect()
}

/// The row keys of the batch's users whose level changed.
pub fn changed_keys(users: &HashMap<&str, Touched<i64>>, now: i64) -> Vec<i64> {
    users
        .values()
        .filter(|t| t.level_change(now).is_some())
        .map(|t| t.key)
        .collect()
}

/// The columns a claim reads of a delivery's destination (each `None` when the destination
/// is not of that kind, or is gone or inactive).
#[derive(Debug, Default)]
pub struct DestinationColumns {
    /// Integrations.
    pub tenant_url: Option<String>,
    pub integration_type: Option<String>,
    /// SSF integrations' streams.
    pub stream_id: Option<String>,
    pub stream_method: Option<String>,
    pub endpoint_url: Option<String>,
    pub authorization_header: Option<String>,
    /// Webhooks.
    pub url: Option<String>,
    pub format: Option<String>,
    pub secret: Option<String>,
}

/// Where a claimed delivery goes, from its destination's columns; `None` when the
/// destination is gone (or is a stream that does not push).
pub fn target(destination: Destination, columns: DestinationColumns) -> Option<Target> {
    let DestinationColumns {
        tenant_url,
        integration_type,
        stream_id,
        stream_method,
        endpoint_url,
        authorization_header,
        url,
        format,
        secret,
    } = columns;
    match destination {
        Destination::Integration(integration_id) => {
            let tenant_url = tenant_url?;
            match crate::model::IntegrationType::parse(integration_type.as_deref()?)? {
                crate::model::IntegrationType::Okta => Some(Target::Okta {
                    integration_id,
                    tenant_url,
                }),
                crate::model::IntegrationType::Ssf => {
                    let endpoint_url =
                        endpoint_url.filter(|_| stream_method.as_deref() == Some("push"))?;
                    Some(Target::SsfPush {
                        integration_id,
                        audience: tenant_url,
                        stream_id: stream_id?,
                        endpoint_url,
                        authorization_header,
                    })
                }
            }
        }
        Destination::Webhook(_) => Some(Target::Webhook {
            url: url?,
            format: WebhookFormat::parse(&format?).unwrap_or_default(),
            secret: secret?,
        }),
    }
}
