//! What both backends' outboxes share: the rows a level change becomes, and how stored
//! columns read back. The SQL is each backend's own (`sqlite/outbox.rs`, `postgres/outbox.rs`).

use crate::model::{DeliveryStatus, Destination};
use ztrisk_core::RiskLevel;
use ztrisk_core::scoring::LevelChange;

/// A user's level change, with what deliveries say about the user.
#[derive(Debug, Clone)]
pub struct ChangedUser {
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
