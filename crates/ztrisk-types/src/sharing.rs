//! Risk sharing (spec 4.6, 4.7): webhooks and the deliveries of level changes.

use crate::RiskLevel;
use crate::lenient::{null_as_default, rfc3339};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A webhook: where changes of users' risk are POSTed (Standard Webhooks or Slack).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Webhook {
    /// The webhook's id (a UUID).
    pub id: String,
    /// Where deliveries go: `https://` (or `http://` to a loopback host).
    pub url: String,
    /// Whether changes are sent.
    pub active: bool,
    /// A [`WebhookFormat`](crate::WebhookFormat) spelling: `"standard"` or `"slack"`.
    pub format: String,
    /// Changes are sent when the level before or after is at least this.
    pub min_level: RiskLevel,
    /// When it was created.
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    /// The signing secret (`whsec_...`): only in the answer to its creation, never again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// Body of POST `/webhooks` and PUT `/webhooks/{id}` (every field is set; omitted ones take
/// their defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookFields {
    /// Where deliveries go.
    pub url: String,
    /// Default `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// `"standard"` (default) or `"slack"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Default `"low"`: every change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_level: Option<RiskLevel>,
}

impl WebhookFields {
    /// An active standard webhook to `url` for every change.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            active: None,
            format: None,
            min_level: None,
        }
    }
}

/// `result` of POST `/webhooks/{id}/test`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookTestResult {
    /// The HTTP status the receiver answered, if it answered.
    #[serde(default)]
    pub status: Option<u16>,
    /// Whether it answered 2xx.
    pub delivered: bool,
    /// Why not, when it did not.
    #[serde(default)]
    pub error: Option<String>,
}

/// One delivery of a level change to an integration or a webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    /// The SET's `jti` or the webhook's `webhook-id`: the same on every attempt.
    pub id: String,
    pub user_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub email: String,
    /// `None`: unscored.
    #[serde(default)]
    pub previous_level: Option<RiskLevel>,
    /// `None`: unscored.
    #[serde(default)]
    pub current_level: Option<RiskLevel>,
    /// A [`DeliveryStatus`](crate::DeliveryStatus) spelling.
    pub status: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub attempts: u32,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(default, with = "rfc3339::option")]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When the next attempt is due (pending deliveries only).
    #[serde(default, with = "rfc3339::option")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_error: Option<String>,
}

/// `result` of GET `/integrations/{id}/stream` (ztrisk): an SSF integration's stream as its
/// administrator sees it (the receiver's `authorization_header` is never shown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntegrationStream {
    pub stream_id: String,
    /// A [`StreamStatus`](crate::StreamStatus) spelling.
    pub status: String,
    /// Why the status was set, when the receiver said.
    #[serde(default)]
    pub reason: Option<String>,
    /// A [`StreamDeliveryMethod`](crate::StreamDeliveryMethod) URN.
    pub delivery_method: String,
    /// Push: the receiver's URL; poll: ztrisk's poll URL.
    pub endpoint_url: String,
    /// The event types the receiver gets.
    #[serde(default, deserialize_with = "null_as_default")]
    pub events_delivered: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Subjects (emails) the receiver removed: they get no events.
    #[serde(default, deserialize_with = "null_as_default")]
    pub removed_subjects: Vec<String>,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub updated_at: DateTime<Utc>,
    pub backlog: StreamBacklog,
}

/// What a stream has not delivered yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamBacklog {
    /// SETs waiting to be pushed, or to be polled and acknowledged.
    pub pending: u64,
    /// When the oldest of them was queued.
    #[serde(default, with = "rfc3339::option")]
    pub oldest_pending_at: Option<DateTime<Utc>>,
}
