//! What both backends' outboxes share: the rows a level change becomes, and how stored
//! columns read back. The SQL is each backend's own (`sqlite/outbox.rs`, `postgres/outbox.rs`).

use crate::model::{AttemptResult, DeliveryStatus, Destination};
use crate::time::to_ms;
use chrono::{DateTime, Utc};
use ztrisk_core::RiskLevel;
use ztrisk_core::scoring::LevelChange;

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
