//! ztrisk's storage: the [`Store`] trait that everything above talks to, and its backends.
//!
//! Nothing above this crate writes SQL. Each backend has its own dialect and migrations
//! (`migrations/<backend>/`), embedded in the binary and applied when the store opens.

mod audit;
mod dashboard;
pub mod dump;
mod encoding;
mod error;
pub mod model;
mod outbox;
mod postgres;
mod rank;
mod sqlite;
mod time;

pub use error::StoreError;
pub use postgres::{MigrationReport, PostgresOptions, PostgresStore};
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous};

/// The store traits and [`Actor`], for `use ztrisk_store::prelude::*;` wherever a store is
/// called: a method of `dyn Store` needs its aggregate's trait in scope.
pub mod prelude {
    pub use crate::model::Actor;
    pub use crate::{
        AuditStore, BehaviorStore, CredentialStore, DashboardStore, DumpStore, IntegrationStore,
        RiskStore, Store, StreamStore,
    };
}

#[cfg(feature = "testing")]
mod faulty;

/// Helpers for tests of this crate and others: isolated PostgreSQL schemas, and a store that
/// fails on demand.
#[cfg(feature = "testing")]
pub mod testing {
    pub use crate::faulty::{Fault, FaultyStore, SECRET_DETAIL};
    pub use crate::postgres::testing::*;
}

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use model::{
    Account, Actor, ApiUser, AttemptResult, AuditQuery, AuditRecord, DashboardSession,
    DeliveryRecord, DeliveryTask, Destination, ExpiryOutcome, IngestOutcome, Integration,
    IntegrationFields, NewToken, OutboxStats, Page, Paging, PollOutcome, PollRequest,
    RetireOutcome, RiskOverview, Settled, StoredSigningKey, Stream, StreamBacklog, StreamEvent,
    StreamFields, StreamStatus, SummaryQuery, TokenRecord, UserEventsQuery, UserFilter, UserRisk,
    UserSummary, Webhook, WebhookFields,
};
use uuid::Uuid;
use ztrisk_core::behaviors::{AccountBehaviors, BehaviorUpdate};
use ztrisk_core::credentials::SecretHash;
use ztrisk_core::events::Event;
use ztrisk_core::{AccountId, RiskLevel};

/// Persistent state of a ztrisk installation: every aggregate's store, and what concerns the
/// database as a whole.
///
/// Implementations are shared by every request (`Arc<dyn Store>`), must be safe to call
/// concurrently, and make each write atomic and durable before returning. Every write takes
/// the [`Actor`] that makes it, so that what changed can always be traced to who changed it.
#[async_trait]
pub trait Store:
    CredentialStore
    + BehaviorStore
    + RiskStore
    + IntegrationStore
    + WebhookStore
    + OutboxStore
    + StreamStore
    + SigningKeyStore
    + AuditStore
    + DumpStore
    + DashboardStore
{
    /// A number that changes whenever data that callers may cache (accounts, tokens, keys,
    /// behavior configuration) may have been changed by anyone, including other processes or
    /// replicas on the same database. In-memory caches above the store remember it when they
    /// fill and drop what they hold when it moves. Writes of events, users' risk and
    /// integrations need not move it. Must be cheap: it is read on every request.
    fn generation(&self) -> u64;

    /// Whether the database answers (for `/readyz`).
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Accounts, API tokens and global API keys.
#[async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    /// On an installation without accounts, creates `account_name` and an admin token in one
    /// transaction and returns both; on any other installation does nothing and returns `None`.
    async fn bootstrap(
        &self,
        account_name: &str,
        admin_token: NewToken,
    ) -> Result<Option<(Account, TokenRecord)>, StoreError>;

    async fn create_account(&self, name: &str, actor: &Actor) -> Result<Account, StoreError>;

    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError>;

    /// Stores a new token; every account it names must exist.
    async fn create_token(&self, token: NewToken, actor: &Actor)
    -> Result<TokenRecord, StoreError>;

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError>;

    /// Marks a token revoked; `false` when there is no such token.
    async fn revoke_token(&self, token_id: &str, actor: &Actor) -> Result<bool, StoreError>;

    async fn token_by_hash(&self, hash: &SecretHash) -> Result<Option<TokenRecord>, StoreError>;

    /// Creates the user `email` if needed, replaces their global API key and adds them to
    /// `accounts` (which must exist).
    async fn set_api_key(
        &self,
        email: &str,
        key_hash: SecretHash,
        accounts: &[AccountId],
        actor: &Actor,
    ) -> Result<ApiUser, StoreError>;

    async fn api_user(&self, email: &str) -> Result<Option<ApiUser>, StoreError>;

    async fn list_api_users(&self) -> Result<Vec<ApiUser>, StoreError>;

    /// Removes a user's global API key; `false` when the user has none.
    async fn revoke_api_key(&self, email: &str, actor: &Actor) -> Result<bool, StoreError>;
}

/// Each account's behavior configuration.
#[async_trait]
pub trait BehaviorStore: Send + Sync + 'static {
    /// The account's behaviors: every predefined one plus its custom ones.
    async fn behaviors(&self, account: AccountId) -> Result<AccountBehaviors, StoreError>;

    /// Applies a validated update atomically, serialized with other updates of the account,
    /// and returns the configuration after it.
    async fn update_behaviors(
        &self,
        account: AccountId,
        update: BehaviorUpdate,
        actor: &Actor,
    ) -> Result<AccountBehaviors, StoreError>;
}

/// Events in, users' risk out.
#[async_trait]
pub trait RiskStore: Send + Sync + 'static {
    /// Stores a batch of validated events and runs detection on them, all in one transaction:
    /// when this returns, the events, the detector state and the risk events are durable
    /// together. Events whose id the account has already stored are skipped as duplicates.
    async fn ingest(
        &self,
        account: AccountId,
        events: Vec<Event>,
        actor: &Actor,
    ) -> Result<IngestOutcome, StoreError>;

    /// Users with risk events since their last reset.
    async fn summary(
        &self,
        account: AccountId,
        query: SummaryQuery,
    ) -> Result<Page<UserSummary>, StoreError>;

    /// A user's level and risk events since the last reset; `None` for an unknown user.
    async fn user_risk(
        &self,
        account: AccountId,
        user_id: Uuid,
        query: UserEventsQuery,
    ) -> Result<Option<UserRisk>, StoreError>;

    /// The users of [`RiskStore::summary`] without paging, in `query`'s order, sent to `sink`
    /// in chunks as they are read from one snapshot: memory stays flat whatever their number,
    /// and a dropped receiver stops the read (its paging is ignored).
    async fn stream_summary(
        &self,
        account: AccountId,
        query: SummaryQuery,
        sink: tokio::sync::mpsc::Sender<Vec<UserSummary>>,
    ) -> Result<(), StoreError>;

    /// [`RiskStore::user_risk`] without paging, streamed the same way: the user first, then
    /// their risk events. Nothing is sent for an unknown user.
    async fn stream_user_risk(
        &self,
        account: AccountId,
        user_id: Uuid,
        query: UserEventsQuery,
        sink: tokio::sync::mpsc::Sender<model::UserRiskChunk>,
    ) -> Result<(), StoreError>;

    /// How many users have risk that counts, by level, over all accounts (for metrics).
    async fn users_by_level(&self) -> Result<Vec<(RiskLevel, u64)>, StoreError>;

    /// The level of the user with this (lowercased) email: `None` when unscored or unknown.
    async fn user_level(
        &self,
        account: AccountId,
        email: &str,
    ) -> Result<Option<RiskLevel>, StoreError>;

    /// Resets a user's risk; `false` for an unknown user. Idempotent.
    async fn reset_user(
        &self,
        account: AccountId,
        user_id: Uuid,
        actor: &Actor,
    ) -> Result<bool, StoreError>;

    /// Applies expiry (spec 6.1) to the users with a risk event that stopped counting by `now`
    /// (unix ms), at most `limit` of them: their level, count and summary entry are recomputed
    /// from what still counts, and a level that changes is a level change for the outbox.
    async fn expire_risk(&self, now: i64, limit: usize) -> Result<ExpiryOutcome, StoreError>;

    /// Records that an administrator confirmed the user compromised: a risk event at `high`
    /// with `evidence`, counted until the next reset, and a level change for the outbox.
    /// `false` for an unknown user.
    async fn confirm_compromised(
        &self,
        account: AccountId,
        user_id: Uuid,
        evidence: serde_json::Value,
        actor: &Actor,
    ) -> Result<bool, StoreError>;
}

/// Where changes of risk are delivered.
#[async_trait]
pub trait IntegrationStore: Send + Sync + 'static {
    async fn list_integrations(&self, account: AccountId) -> Result<Vec<Integration>, StoreError>;

    /// Fails with [`StoreError::Conflict`] when a non-empty `reference_id` is taken.
    async fn create_integration(
        &self,
        account: AccountId,
        fields: IntegrationFields,
        actor: &Actor,
    ) -> Result<Integration, StoreError>;

    async fn integration(
        &self,
        account: AccountId,
        id: Uuid,
    ) -> Result<Option<Integration>, StoreError>;

    async fn integration_by_reference(
        &self,
        account: AccountId,
        reference_id: &str,
    ) -> Result<Option<Integration>, StoreError>;

    /// `None` for an unknown integration; [`StoreError::Conflict`] as for create.
    async fn update_integration(
        &self,
        account: AccountId,
        id: Uuid,
        fields: IntegrationFields,
        actor: &Actor,
    ) -> Result<Option<Integration>, StoreError>;

    /// An integration by id alone, whatever its account: for the public discovery documents
    /// (spec 4.3), which name the integration in their URL and nothing else.
    async fn integration_by_id(&self, id: Uuid) -> Result<Option<Integration>, StoreError>;
    /// `false` for an unknown integration.
    async fn delete_integration(
        &self,
        account: AccountId,
        id: Uuid,
        actor: &Actor,
    ) -> Result<bool, StoreError>;
}

/// Webhooks (spec 4.6). Deactivating or deleting one fails its pending deliveries.
#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    async fn list_webhooks(&self, account: AccountId) -> Result<Vec<Webhook>, StoreError>;
    /// Stores a new webhook with its (already generated) secret.
    async fn create_webhook(
        &self,
        account: AccountId,
        fields: WebhookFields,
        secret: String,
        actor: &Actor,
    ) -> Result<Webhook, StoreError>;
    async fn webhook(&self, account: AccountId, id: Uuid) -> Result<Option<Webhook>, StoreError>;
    /// `None` for an unknown webhook.
    async fn update_webhook(
        &self,
        account: AccountId,
        id: Uuid,
        fields: WebhookFields,
        actor: &Actor,
    ) -> Result<Option<Webhook>, StoreError>;
    /// `false` for an unknown webhook.
    async fn delete_webhook(
        &self,
        account: AccountId,
        id: Uuid,
        actor: &Actor,
    ) -> Result<bool, StoreError>;
}

/// The outbox (spec 4.2): deliveries are queued by the transactions that change levels
/// (ingest, reset); workers claim, send and settle them.
#[async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    /// Counts of the outbox by destination kind and status, and its oldest pending row.
    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError>;

    /// Claims up to `limit` deliveries that are due at `now`, for `lease`: the oldest pending
    /// delivery of each (destination, user) only, so a user's changes go out in order, and
    /// none that another worker (on any replica) holds.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: std::time::Duration,
        limit: usize,
    ) -> Result<Vec<DeliveryTask>, StoreError>;
    /// Records the attempts of claimed deliveries, all in one write (a worker settles a batch
    /// at once: one transaction, not one per delivery).
    async fn finish_deliveries(
        &self,
        now: DateTime<Utc>,
        settled: Vec<Settled>,
    ) -> Result<(), StoreError>;
    /// Records one attempt. `payload` is what was sent, kept from the first attempt on so that
    /// retries resend the same bytes.
    async fn finish_delivery(
        &self,
        seq: i64,
        now: DateTime<Utc>,
        result: AttemptResult,
        payload: Option<Vec<u8>>,
    ) -> Result<(), StoreError> {
        let settled = Settled {
            seq,
            result,
            payload,
        };
        self.finish_deliveries(now, vec![settled]).await
    }
    /// A destination's deliveries, newest first; `None` when the account has no such
    /// destination.
    async fn deliveries(
        &self,
        account: AccountId,
        destination: Destination,
        paging: Paging,
    ) -> Result<Option<Page<DeliveryRecord>>, StoreError>;
    /// Deletes settled deliveries last touched before `before`; returns how many.
    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
    /// When the next pending delivery is due, if any (so an idle worker can sleep until then;
    /// one in flight counts as due, so the answer may be early, never late).
    async fn next_delivery_due(&self) -> Result<Option<DateTime<Utc>>, StoreError>;
}

/// SSF streams (spec 4.5): one per SSF integration, managed by its receiver. Their SETs are
/// outbox deliveries of the integration: pushed by the worker, or handed out by polls.
#[async_trait]
pub trait StreamStore: Send + Sync + 'static {
    /// The stream of the account's integration, if it has one.
    async fn stream(
        &self,
        account: AccountId,
        integration: Uuid,
    ) -> Result<Option<Stream>, StoreError>;

    /// Creates the integration's stream, enabled, with a fresh `stream_id`. Fails with
    /// [`StoreError::Conflict`] when it has one already.
    async fn create_stream(
        &self,
        account: AccountId,
        integration: Uuid,
        fields: StreamFields,
        actor: &Actor,
    ) -> Result<Stream, StoreError>;

    /// Replaces what the receiver configures; `None` when there is no stream.
    async fn update_stream(
        &self,
        account: AccountId,
        integration: Uuid,
        fields: StreamFields,
        actor: &Actor,
    ) -> Result<Option<Stream>, StoreError>;

    /// Deletes the stream and fails what it had not delivered; `false` when there is none.
    async fn delete_stream(
        &self,
        account: AccountId,
        integration: Uuid,
        actor: &Actor,
    ) -> Result<bool, StoreError>;

    /// Sets the status. When it changes, queues a stream-updated event in the same
    /// transaction, and disabling fails the level changes not yet delivered. `None` when
    /// there is no stream.
    async fn set_stream_status(
        &self,
        account: AccountId,
        integration: Uuid,
        status: StreamStatus,
        reason: Option<String>,
        actor: &Actor,
    ) -> Result<Option<Stream>, StoreError>;

    /// Queues one of the stream's own events (a verification); `false` when there is no
    /// stream.
    async fn queue_stream_event(
        &self,
        account: AccountId,
        integration: Uuid,
        event: StreamEvent,
        actor: &Actor,
    ) -> Result<bool, StoreError>;

    /// Removes a subject (`email`, lowercased) from the stream, or adds it back; `false` when
    /// there is no stream.
    async fn set_subject_removed(
        &self,
        account: AccountId,
        integration: Uuid,
        email: &str,
        removed: bool,
        actor: &Actor,
    ) -> Result<bool, StoreError>;

    /// What the stream has not delivered yet.
    async fn stream_backlog(
        &self,
        account: AccountId,
        integration: Uuid,
    ) -> Result<StreamBacklog, StoreError>;

    /// A poll (RFC 8936), in one transaction: applies the acknowledgements and refusals, then
    /// hands out up to `max_events` pending SETs that no other poll holds, the newest change
    /// of each user only (older ones are superseded), and the stream's own events. Level
    /// changes wait while the stream is paused.
    async fn poll_stream(
        &self,
        account: AccountId,
        integration: Uuid,
        request: PollRequest,
        now: DateTime<Utc>,
    ) -> Result<PollOutcome, StoreError>;

    /// Keeps the bytes of SETs a poll handed out without them (signed after the claim), so
    /// that later polls hand out the same bytes.
    async fn keep_payloads(&self, payloads: Vec<(i64, Vec<u8>)>) -> Result<(), StoreError>;
}

/// The keys that sign SETs (spec 4.4), shared by every replica.
#[async_trait]
pub trait SigningKeyStore: Send + Sync + 'static {
    /// Every key, newest first.
    async fn signing_keys(&self) -> Result<Vec<StoredSigningKey>, StoreError>;
    /// Stores `private_key` as the active key if there is no key yet (first start; replicas
    /// starting together keep exactly one). Returns whether it was stored.
    async fn add_first_signing_key(
        &self,
        kid: &str,
        private_key: Vec<u8>,
        actor: &Actor,
    ) -> Result<bool, StoreError>;
    /// Makes a new key the signer; the previous active key stays published.
    async fn rotate_signing_key(
        &self,
        kid: &str,
        private_key: Vec<u8>,
        actor: &Actor,
    ) -> Result<(), StoreError>;
    /// Takes a published key out of the JWKS.
    async fn retire_signing_key(
        &self,
        kid: &str,
        actor: &Actor,
    ) -> Result<RetireOutcome, StoreError>;
}

/// The audit log (spec 7). Every write above that a person makes (with a credential or the CLI)
/// adds its entries in its own transaction; ingest and the expiry sweep add none.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// A page of the account's entries, newest first (installation-wide entries, such as
    /// signing keys', belong to no account and are never listed here).
    async fn audit_log(
        &self,
        account: AccountId,
        query: AuditQuery,
    ) -> Result<Page<AuditRecord>, StoreError>;
}

/// What the dashboard (issue 14) reads beyond the API, and its sign-in sessions.
#[async_trait]
pub trait DashboardStore: Send + Sync + 'static {
    /// The account's scored users by level (what counts, as in the summary), and its risk
    /// events that count (not monitor-only) per UTC day of their time (`ts`) by level, for
    /// days >= `since` (ascending; days without events omitted).
    /// Must be fast with 1,000,000 scored users and millions of risk events: read maintained
    /// counters, never count rows.
    ///
    /// The days say what was detected: an event stays in its day when it later expires or its
    /// user is reset (the users' counts follow both). An unknown account has nothing.
    async fn risk_overview(
        &self,
        account: AccountId,
        since: chrono::NaiveDate,
    ) -> Result<RiskOverview, StoreError>;

    /// [`RiskStore::summary`] with filters: only users at `filter.level` and/or whose
    /// (lowercased) email starts with `filter.email_prefix` (literal prefix; `%`, `_`, `\` are
    /// not wildcards). Same ordering, paging (`query.paging` is always `Some` here) and
    /// `total_count` semantics as summary (`total_count` = number of matching scored users).
    async fn find_users(
        &self,
        account: AccountId,
        filter: UserFilter,
        query: SummaryQuery,
    ) -> Result<Page<UserSummary>, StoreError>;

    /// Stores a new session; [`StoreError::Conflict`] when its id hash is taken.
    async fn create_session(&self, session: DashboardSession) -> Result<(), StoreError>;

    /// The session with this id hash, unless it has expired by `now` (`expires_at <= now`).
    async fn session(
        &self,
        id_hash: &SecretHash,
        now: DateTime<Utc>,
    ) -> Result<Option<DashboardSession>, StoreError>;

    /// Deletes the session (sign-out; nothing happens for an unknown one). Sessions are read
    /// on every request and never cached, so every replica sees it gone at once.
    async fn delete_session(&self, id_hash: &SecretHash) -> Result<(), StoreError>;

    /// Deletes sessions expired by `now`; how many.
    async fn prune_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Every table, out and in (`ztrisk export` / `ztrisk import`).
#[async_trait]
pub trait DumpStore: Send + Sync + 'static {
    /// Sends every table's rows, in [`dump::TABLES`] order, from one consistent snapshot
    /// (`ztrisk export`).
    async fn export(
        &self,
        sink: tokio::sync::mpsc::Sender<dump::DumpChunk>,
    ) -> Result<(), StoreError>;

    /// Inserts exported rows as they are, keys included (`ztrisk import`, into an empty
    /// installation).
    async fn import(&self, chunk: dump::DumpChunk) -> Result<(), StoreError>;

    /// Called after the last [`Store::import`], so the backend can catch up with the keys it
    /// was given.
    async fn import_finished(&self) -> Result<(), StoreError>;
}
