//! Records the store hands out.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::fmt;
use ztrisk_core::credentials::SecretHash;
use ztrisk_core::{AccountId, PermissionSet, RiskLevel};
pub use ztrisk_types::{Direction, IntegrationType, RiskEventOrder, SummaryOrder};

/// Who makes a change. Every write of the store takes one, so that the audit log can say who
/// did what; secrets never appear here (a token by its id, a key by its owner's email).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// An API token, by its id.
    Token { id: String },
    /// A global API key, by its owner's email.
    ApiKey { email: String },
    /// The `ztrisk` command line on the server's machine (admin commands, import, demo).
    Cli,
    /// ztrisk itself (first-start bootstrap, background work).
    System,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Token { id } => write!(f, "token:{id}"),
            Actor::ApiKey { email } => write!(f, "key:{email}"),
            Actor::Cli => f.write_str("cli"),
            Actor::System => f.write_str("system"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A token to store: its secret exists only as a hash by now.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub accounts: Vec<AccountId>,
    pub permissions: PermissionSet,
    pub expires_at: Option<DateTime<Utc>>,
    pub secret_hash: SecretHash,
}

#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub accounts: Vec<AccountId>,
    pub permissions: PermissionSet,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub secret_hash: SecretHash,
}

/// Whether a token may be used at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    Active,
    Expired,
    Revoked,
}

impl TokenStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Active => "active",
            TokenStatus::Expired => "expired",
            TokenStatus::Revoked => "revoked",
        }
    }
}

impl TokenRecord {
    pub fn status(&self, now: DateTime<Utc>) -> TokenStatus {
        if self.revoked_at.is_some() {
            TokenStatus::Revoked
        } else if self.expires_at.is_some_and(|at| at <= now) {
            TokenStatus::Expired
        } else {
            TokenStatus::Active
        }
    }
}

/// A person known by email, who may hold a global API key acting on their accounts.
#[derive(Debug, Clone)]
pub struct ApiUser {
    pub email: String,
    pub key_hash: Option<SecretHash>,
    pub accounts: Vec<AccountId>,
    pub created_at: DateTime<Utc>,
}

/// What one ingest call did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    /// Events stored (first time their id was seen, or without an id).
    pub accepted: u64,
    /// Events ignored because their id was already stored.
    pub duplicates: u64,
    /// Risk events detected.
    pub risk_events: u64,
    /// Deliveries queued for users whose level changed (wake the delivery worker when > 0).
    pub deliveries_queued: u64,
    /// The risk events by behavior id and level, for metrics.
    pub risk_by_behavior: BTreeMap<(String, RiskLevel), u64>,
}

impl IngestOutcome {
    /// Counts one risk event.
    pub fn count_risk(&mut self, behavior: &str, level: RiskLevel) {
        self.risk_events += 1;
        *self
            .risk_by_behavior
            .entry((behavior.to_owned(), level))
            .or_default() += 1;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SummaryQuery {
    /// `None`: every scored user.
    pub paging: Option<Paging>,
    pub order_by: SummaryOrder,
    pub direction: Direction,
}

/// One line of the summary: a user with risk events since their last reset.
#[derive(Debug, Clone, PartialEq)]
pub struct UserSummary {
    pub user_id: uuid::Uuid,
    pub name: String,
    pub email: String,
    pub event_count: u64,
    pub last_event: DateTime<Utc>,
    pub max_risk_level: ztrisk_core::RiskLevel,
}

/// A page of results and how many there are in all.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total_count: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UserEventsQuery {
    pub paging: Option<Paging>,
    pub order_by: RiskEventOrder,
    pub direction: Direction,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RiskEventRecord {
    pub id: uuid::Uuid,
    pub behavior_id: String,
    pub risk_level: ztrisk_core::RiskLevel,
    pub timestamp: DateTime<Utc>,
    pub details: serde_json::Value,
}

/// A user's risk: level and risk events since the last reset.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRisk {
    pub user_id: uuid::Uuid,
    pub email: String,
    pub name: String,
    pub risk_level: Option<ztrisk_core::RiskLevel>,
    pub last_reset_time: Option<DateTime<Utc>>,
    pub events: Page<RiskEventRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    pub id: uuid::Uuid,
    pub account: AccountId,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub integration_type: IntegrationType,
    pub reference_id: String,
    pub tenant_url: String,
}

/// The fields a create or an update sets.
#[derive(Debug, Clone, PartialEq)]
pub struct IntegrationFields {
    pub integration_type: IntegrationType,
    pub active: bool,
    pub reference_id: String,
    pub tenant_url: String,
}

pub use ztrisk_types::{DeliveryStatus, WebhookFormat};

/// A webhook (spec 4.6). `secret` never leaves the store except to sign deliveries and in
/// the answer to the webhook's creation; neither it nor the URL (a Slack URL is a credential)
/// shows in `Debug`.
#[derive(Clone, PartialEq)]
pub struct Webhook {
    pub id: uuid::Uuid,
    pub account: AccountId,
    pub url: String,
    pub active: bool,
    pub format: WebhookFormat,
    pub min_level: ztrisk_core::RiskLevel,
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("account", &self.account)
            .field("active", &self.active)
            .field("format", &self.format)
            .field("min_level", &self.min_level)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// What a create or an update of a webhook sets (the secret is set once, at creation).
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookFields {
    pub url: String,
    pub active: bool,
    pub format: WebhookFormat,
    pub min_level: ztrisk_core::RiskLevel,
}

/// Where a delivery goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Destination {
    Integration(uuid::Uuid),
    Webhook(uuid::Uuid),
}

impl Destination {
    pub fn kind(self) -> &'static str {
        match self {
            Destination::Integration(_) => "integration",
            Destination::Webhook(_) => "webhook",
        }
    }

    pub fn id(self) -> uuid::Uuid {
        match self {
            Destination::Integration(id) | Destination::Webhook(id) => id,
        }
    }

    /// Reads back what [`Destination::kind`] and [`Destination::id`] stored.
    pub fn parse(kind: &str, id: &str) -> Option<Self> {
        let id = id.parse().ok()?;
        match kind {
            "integration" => Some(Destination::Integration(id)),
            "webhook" => Some(Destination::Webhook(id)),
            _ => None,
        }
    }
}

/// One delivery of a level change to one destination.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    /// The SET's `jti` / the webhook's `webhook-id`.
    pub id: String,
    pub account: AccountId,
    pub destination: Destination,
    pub user_id: uuid::Uuid,
    pub email: String,
    pub name: String,
    pub previous: Option<ztrisk_core::RiskLevel>,
    pub current: Option<ztrisk_core::RiskLevel>,
    /// [`ztrisk_core::scoring::ChangeCause::code`].
    pub cause: String,
    pub changed_at: DateTime<Utc>,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// Where and how a claimed delivery is sent. `Debug` never shows a webhook's secret.
#[derive(Clone, PartialEq)]
pub enum Target {
    /// An Okta integration: a signed SET to the tenant.
    Okta {
        integration_id: uuid::Uuid,
        tenant_url: String,
    },
    /// A webhook, signed with its secret.
    Webhook {
        url: String,
        format: WebhookFormat,
        secret: String,
    },
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Okta {
                integration_id,
                tenant_url,
            } => f
                .debug_struct("Okta")
                .field("integration_id", integration_id)
                .field("tenant_url", tenant_url)
                .finish(),
            Target::Webhook { format, .. } => f
                .debug_struct("Webhook")
                .field("format", format)
                .finish_non_exhaustive(),
        }
    }
}

/// A delivery a worker has claimed: it alone sends it until the claim expires.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryTask {
    /// The outbox row, to settle the attempt with.
    pub seq: i64,
    pub record: DeliveryRecord,
    pub target: Target,
    /// The bytes sent on the first attempt: a retry resends them (same `jti`).
    pub payload: Option<Vec<u8>>,
}

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptResult {
    Delivered,
    /// Try again at `next_at`.
    Retry {
        next_at: DateTime<Utc>,
        error: String,
    },
    Failed {
        error: String,
    },
}

/// An attempt to record: which delivery, what came of it, and (on a first attempt) the bytes
/// sent, kept so that retries resend them.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    /// [`DeliveryTask::seq`].
    pub seq: i64,
    pub result: AttemptResult,
    pub payload: Option<Vec<u8>>,
}

/// A signing key as stored.
#[derive(Clone, PartialEq)]
pub struct StoredSigningKey {
    pub kid: String,
    /// PKCS#8 DER.
    pub private_key: Vec<u8>,
    pub status: SigningKeyStatus,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for StoredSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the private key, not even in a debug log.
        f.debug_struct("StoredSigningKey")
            .field("kid", &self.kid)
            .field("status", &self.status)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// The life of a signing key (spec 4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningKeyStatus {
    /// Signs new SETs (exactly one key at a time).
    Active,
    /// No longer signs, still in the JWKS.
    Published,
    /// Gone from the JWKS.
    Retired,
}

impl SigningKeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SigningKeyStatus::Active => "active",
            SigningKeyStatus::Published => "published",
            SigningKeyStatus::Retired => "retired",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Active, Self::Published, Self::Retired]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// What a retirement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetireOutcome {
    Retired,
    NotFound,
    /// The active key cannot be retired: rotate first.
    Active,
}

/// What one expiry sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExpiryOutcome {
    /// Users whose risk was recomputed.
    pub users: u64,
    /// Users whose level changed.
    pub level_changes: u64,
    /// Deliveries those changes queued.
    pub deliveries_queued: u64,
}

/// The outbox at a glance, for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxStats {
    /// Deliveries kept, by destination kind (`integration`, `webhook`) and status.
    pub by_kind_and_status: Vec<(String, String, u64)>,
    /// Deliveries waiting to be sent, and when the oldest of them was queued.
    pub pending: u64,
    pub oldest_pending_at: Option<DateTime<Utc>>,
}
