//! What both backends' outboxes share: the rows a level change becomes, and how stored
//! columns read back. The SQL is each backend's own (`sqlite/outbox.rs`, `postgres/outbox.rs`).

use crate::model::{AttemptResult, DeliveryStatus, Destination, Target, WebhookFormat};
use crate::time::to_ms;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
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
#[derive(Debug, Clone, Copy)]
pub struct Subscriber {
    pub destination: Destination,
    /// Webhooks only hear of changes that reach this level (integrations: every change).
    pub min_level: Option<RiskLevel>,
}

impl Subscriber {
    pub fn wants(&self, change: &LevelChange) -> bool {
        self.min_level.is_none_or(|min| change.reaches(min))
    }
}

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

/// Where a claimed delivery goes, from its destination's columns; `None` when the
/// destination is gone.
pub fn target(
    destination: Destination,
    tenant_url: Option<String>,
    url: Option<String>,
    format: Option<String>,
    secret: Option<String>,
) -> Option<Target> {
    match (destination, tenant_url, url, format, secret) {
        (Destination::Integration(integration_id), Some(tenant_url), ..) => Some(Target::Okta {
            integration_id,
            tenant_url,
        }),
        (Destination::Webhook(_), _, Some(url), Some(format), Some(secret)) => {
            Some(Target::Webhook {
                url,
                format: WebhookFormat::parse(&format).unwrap_or_default(),
                secret,
            })
        }
        _ => None,
    }
}
