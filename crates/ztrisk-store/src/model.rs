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
    /// When the event stops counting (spec 6.1); `None`: never. Kept as detected, so an event
    /// past it is one that expired.
    pub expires_at: Option<DateTime<Utc>>,
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

/// What [`crate::RiskStore::stream_user_risk`] sends: the user first (with no events, and
/// their count), then their risk events in chunks.
#[derive(Debug, Clone, PartialEq)]
pub enum UserRiskChunk {
    User(UserRisk),
    Events(Vec<RiskEventRecord>),
}

/// Rows per chunk of a streamed read: small enough that a few concurrent reads hold little,
/// large enough that the channel is not the cost.
pub const STREAM_CHUNK: usize = 512;

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
    /// An SSF stream that pushes (RFC 8935): a signed SET to the receiver's endpoint.
    SsfPush {
        integration_id: uuid::Uuid,
        /// The SETs' `aud`: the integration's `tenant_url`.
        audience: String,
        stream_id: String,
        endpoint_url: String,
        /// Sent as the `Authorization` header, as the receiver gave it.
        authorization_header: Option<String>,
    },
    /// An SSF stream that the receiver polls (RFC 8936): a signed SET handed out by a poll.
    SsfPoll {
        integration_id: uuid::Uuid,
        audience: String,
        stream_id: String,
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
            Target::SsfPush {
                integration_id,
                stream_id,
                ..
            } => f
                .debug_struct("SsfPush")
                .field("integration_id", integration_id)
                .field("stream_id", stream_id)
                .finish_non_exhaustive(),
            Target::SsfPoll {
                integration_id,
                stream_id,
                ..
            } => f
                .debug_struct("SsfPoll")
                .field("integration_id", integration_id)
                .field("stream_id", stream_id)
                .finish_non_exhaustive(),
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
    /// An SSF stream's own event, when the delivery is one rather than a level change.
    pub stream_event: Option<StreamEvent>,
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

pub use ztrisk_types::{StreamDeliveryMethod, StreamStatus};

/// An SSF stream (spec 4.5): one per SSF integration, configured by its receiver.
/// `Debug` never shows the receiver's authorization header.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    pub integration_id: uuid::Uuid,
    pub account: AccountId,
    pub stream_id: String,
    pub fields: StreamFields,
    pub status: StreamStatus,
    /// Why the status was set, as the receiver said.
    pub reason: Option<String>,
    /// Emails the receiver removed from the stream (lowercased, sorted).
    pub removed_subjects: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the receiver configures of its stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamFields {
    pub delivery: StreamDelivery,
    /// The event types the receiver asked for, as it spelled them.
    pub events_requested: Vec<String>,
    pub description: Option<String>,
}

impl StreamFields {
    /// Whether risk-level changes are among the events the stream delivers.
    pub fn delivers_risk(&self) -> bool {
        self.events_requested
            .iter()
            .any(|e| ztrisk_types::ssf::is_requestable(e))
    }
}

/// How the stream's SETs reach the receiver.
#[derive(Clone, PartialEq)]
pub enum StreamDelivery {
    /// RFC 8935: ztrisk POSTs each SET to `endpoint_url`, with `authorization_header`.
    Push {
        endpoint_url: String,
        authorization_header: Option<String>,
    },
    /// RFC 8936: the receiver polls ztrisk.
    Poll,
}

impl StreamDelivery {
    pub fn method(&self) -> StreamDeliveryMethod {
        match self {
            StreamDelivery::Push { .. } => StreamDeliveryMethod::Push,
            StreamDelivery::Poll => StreamDeliveryMethod::Poll,
        }
    }

    /// The method as stored (`push` | `poll`).
    pub fn stored(&self) -> &'static str {
        match self {
            StreamDelivery::Push { .. } => "push",
            StreamDelivery::Poll => "poll",
        }
    }

    /// Reads back what [`StreamDelivery::stored`] and the push columns hold.
    pub fn from_stored(
        method: &str,
        endpoint_url: Option<String>,
        authorization_header: Option<String>,
    ) -> Option<Self> {
        match (method, endpoint_url) {
            ("push", Some(endpoint_url)) => Some(StreamDelivery::Push {
                endpoint_url,
                authorization_header,
            }),
            ("poll", _) => Some(StreamDelivery::Poll),
            _ => None,
        }
    }

    /// The push columns: endpoint URL and authorization header.
    pub fn push_columns(&self) -> (Option<&str>, Option<&str>) {
        match self {
            StreamDelivery::Push {
                endpoint_url,
                authorization_header,
            } => (Some(endpoint_url), authorization_header.as_deref()),
            StreamDelivery::Poll => (None, None),
        }
    }
}

impl fmt::Debug for StreamDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamDelivery::Push { endpoint_url, .. } => f
                .debug_struct("Push")
                .field("endpoint_url", endpoint_url)
                .finish_non_exhaustive(),
            StreamDelivery::Poll => f.write_str("Poll"),
        }
    }
}

/// A stream's own event (SSF 1.0 section 8.1.4 and 8.1.5), queued and delivered on the stream
/// like a level change. Stored as a delivery with `cause` [`StreamEvent::cause`] and the
/// members in `detail`.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The receiver asked for a verification; `state` is echoed back.
    Verification { state: Option<String> },
    /// The stream's status changed.
    Updated {
        status: StreamStatus,
        reason: Option<String>,
    },
}

impl StreamEvent {
    pub const VERIFICATION: &'static str = "ssf:verification";
    pub const UPDATED: &'static str = "ssf:stream-updated";

    pub fn cause(&self) -> &'static str {
        match self {
            StreamEvent::Verification { .. } => Self::VERIFICATION,
            StreamEvent::Updated { .. } => Self::UPDATED,
        }
    }

    /// The event's members in the SET (and as stored).
    pub fn members(&self) -> serde_json::Value {
        let mut members = serde_json::Map::new();
        match self {
            StreamEvent::Verification { state } => {
                if let Some(state) = state {
                    members.insert("state".into(), state.as_str().into());
                }
            }
            StreamEvent::Updated { status, reason } => {
                members.insert("status".into(), status.as_str().into());
                if let Some(reason) = reason {
                    members.insert("reason".into(), reason.as_str().into());
                }
            }
        }
        serde_json::Value::Object(members)
    }

    /// The event type URI.
    pub fn event_type(&self) -> &'static str {
        match self {
            StreamEvent::Verification { .. } => ztrisk_types::ssf::SSF_VERIFICATION,
            StreamEvent::Updated { .. } => ztrisk_types::ssf::SSF_STREAM_UPDATED,
        }
    }

    /// Reads back a stored event; `None` for a level change (or an unreadable row).
    pub fn from_stored(cause: &str, detail: Option<&str>) -> Option<Self> {
        let members: serde_json::Value = serde_json::from_str(detail?).ok()?;
        let text = |name: &str| {
            members
                .get(name)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        match cause {
            Self::VERIFICATION => Some(StreamEvent::Verification {
                state: text("state"),
            }),
            Self::UPDATED => Some(StreamEvent::Updated {
                status: StreamStatus::parse(&text("status")?)?,
                reason: text("reason"),
            }),
            _ => None,
        }
    }
}

/// A receiver's poll (RFC 8936), as the store carries it out.
#[derive(Debug, Clone, PartialEq)]
pub struct PollRequest {
    /// SETs the receiver accepted (`ack`).
    pub ack: Vec<String>,
    /// SETs the receiver refused (`setErrs`): jti and why.
    pub refused: Vec<(String, String)>,
    /// How many SETs to hand out at most (`maxEvents`); 0 only acknowledges.
    pub max_events: usize,
    /// How long SETs handed out are kept from other polls while the receiver processes them;
    /// unacknowledged, they are handed out again after it.
    pub lease: std::time::Duration,
}

/// What a poll came to.
#[derive(Debug, Clone, PartialEq)]
pub enum PollOutcome {
    /// The acknowledgements were applied and these SETs are handed out (their bytes are
    /// in `payload` when a poll signed them before).
    Served {
        sets: Vec<DeliveryTask>,
        more_available: bool,
    },
    /// An `ack` or `setErrs` names a SET this stream never had: nothing was changed.
    UnknownJti(String),
    /// The integration has no stream.
    NoStream,
}

/// What a stream has not delivered yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamBacklog {
    pub pending: u64,
    pub oldest_pending_at: Option<DateTime<Utc>>,
}

pub use ztrisk_types::AuditAction;

/// Which entries of an account's audit log to list: newest first, one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only entries at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only entries of this action.
    pub action: Option<AuditAction>,
    pub paging: Paging,
}

/// An entry of the audit log (spec 7), as stored: who changed what, and when. Never holds a
/// secret; the store writes it in the transaction of the change it records.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// Increasing in the order entries were written.
    pub id: i64,
    /// `None` for installation-wide changes (signing keys).
    pub account: Option<AccountId>,
    pub at: DateTime<Utc>,
    /// [`Actor`]'s display form: `token:<id>`, `key:<email>`, `cli`, `system`.
    pub actor: String,
    /// An [`AuditAction`] spelling (kept as text: a row written by a newer version still
    /// lists).
    pub action: String,
    pub target: String,
    pub change: serde_json::Value,
}

/// Users or risk events by level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LevelCounts {
    pub low: u64,
    pub medium: u64,
    pub high: u64,
}

impl LevelCounts {
    /// Adds `n` at `level`.
    pub fn add(&mut self, level: RiskLevel, n: u64) {
        match level {
            RiskLevel::Low => self.low += n,
            RiskLevel::Medium => self.medium += n,
            RiskLevel::High => self.high += n,
        }
    }

    pub fn total(&self) -> u64 {
        self.low + self.medium + self.high
    }
}

/// An account's risk events that count, detected for events of one UTC day, by level.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyRisk {
    pub day: chrono::NaiveDate,
    pub counts: LevelCounts,
}

/// What the dashboard shows first: scored users by level, and risk events per day.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RiskOverview {
    pub users: LevelCounts,
    /// Ascending by day; days without events are left out.
    pub daily: Vec<DailyRisk>,
}

/// Which scored users [`crate::DashboardStore::find_users`] lists; `Default`: every one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserFilter {
    pub level: Option<RiskLevel>,
    /// A literal prefix of the email (`%`, `_` and `\` are plain characters); lowercased by
    /// the store, as emails are. Empty: no filter.
    pub email_prefix: Option<String>,
}

/// What a dashboard session acts with: the credential it was opened with, by hash (the secret
/// itself is never stored).
#[derive(Debug, Clone, PartialEq)]
pub enum SessionCredential {
    Token { secret_hash: SecretHash },
    ApiKey { email: String, key_hash: SecretHash },
}

/// A dashboard sign-in session, found by the hash of its id (the cookie's value is never
/// stored).
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardSession {
    pub id_hash: SecretHash,
    pub credential: SessionCredential,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}
