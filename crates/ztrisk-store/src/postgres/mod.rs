//! The PostgreSQL backend: several stateless `ztrisk serve` replicas on one database.
//!
//! - **Pooling**: `deadpool-postgres` over `tokio-postgres`, prepared statements cached per
//!   connection. Reads run on a pooled connection outside any explicit transaction; each write
//!   is one transaction ([`Tx`]).
//! - **Replica safety**: everything that SQLite gets from its single writer is made explicit
//!   with locks that all processes share. Bootstrap and account creation take a transaction
//!   advisory lock; a behaviors update locks its account row; an ingest batch locks its users'
//!   rows in email order, so two replicas ingesting for one user take turns and detection sees
//!   every event exactly once. Event-id dedupe is a primary key (`ON CONFLICT DO NOTHING`).
//! - **Caches above the store**: [`listener`] turns `NOTIFY` into [`Store::generation`].
//! - **Schema**: migrations in `migrations/postgres/` (same tables and columns as SQLite's),
//!   applied at connect under an advisory lock, recorded in `schema_migrations`.

mod accounts;
mod audit;
mod behaviors;
mod connect;
mod credentials;
mod dashboard;
mod dump;
mod engine;
mod integrations;
mod listener;
mod migrations;
mod outbox;
mod risk;
mod signing_keys;
mod streams;
#[cfg(feature = "testing")]
pub(crate) mod testing;
mod tx;
mod webhooks;

pub use migrations::MigrationReport;
pub(crate) use tx::{
    Failure, Result, Tx, describe, execute, is_unique_violation, query, query_one, query_opt,
};

use crate::audit as log;
use crate::dump::DumpChunk;
use crate::model::{
    Account, Actor, ApiUser, AuditAction, AuditQuery, AuditRecord, DashboardSession,
    DeliveryRecord, DeliveryTask, Destination, ExpiryOutcome, IngestOutcome, Integration,
    IntegrationFields, NewToken, OutboxStats, Page, Paging, PollOutcome, PollRequest,
    RetireOutcome, RiskOverview, Settled, StoredSigningKey, Stream, StreamBacklog, StreamEvent,
    StreamFields, StreamStatus, SummaryQuery, TokenRecord, UserEventsQuery, UserFilter, UserRisk,
    UserRiskChunk, UserSummary, Webhook, WebhookFields,
};
use crate::{
    AuditStore, BehaviorStore, CredentialStore, DashboardStore, DumpStore, IntegrationStore,
    OutboxStore, RiskStore, SigningKeyStore, Store, StoreError, StreamStore, WebhookStore,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{ClientWrapper, Object, Pool};
use listener::{Generation, Listener};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;
use ztrisk_core::behaviors::{AccountBehaviors, BehaviorUpdate};
use ztrisk_core::credentials::SecretHash;
use ztrisk_core::events::Event;
use ztrisk_core::{AccountId, RiskLevel};

/// Advisory lock classes (the first key of `pg_advisory_lock(int, int)`; the second is a hash
/// of the schema name, so stores in different schemas of one database do not contend).
pub(crate) const LOCK_CLASS_MIGRATE: i32 = 0x7a74_0001;
pub(crate) const LOCK_CLASS_ACCOUNTS: i32 = 0x7a74_0002;
pub(crate) const LOCK_CLASS_KEYS: i32 = 0x7a74_0003;
pub(crate) const LOCK_CLASS_CLAIMS: i32 = 0x7a74_0004;

/// How many times a write that lost a deadlock or a serialization race is tried in all.
const WRITE_ATTEMPTS: u32 = 3;

#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// Pooled connections at most, per store (per replica). Default 16. Each store also holds
    /// one connection for its change listener, so replicas × (this + 1) must stay below the
    /// server's `max_connections` (100 by default).
    pub max_connections: usize,
    /// How long establishing one connection may take, unless the URL sets `connect_timeout`.
    /// Default 5 s.
    pub connect_timeout: Duration,
    /// How long a request waits for a free pooled connection. Default 30 s.
    pub acquire_timeout: Duration,
    /// Apply missing migrations at connect (default). When `false`, connecting to a schema that
    /// is behind fails and says to run `ztrisk migrate` (for deployments that upgrade the
    /// schema as a separate step).
    pub migrate: bool,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            connect_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(30),
            migrate: true,
        }
    }
}

/// The PostgreSQL implementation of [`Store`].
pub struct PostgresStore {
    pool: Pool,
    generation: Arc<Generation>,
    _listener: Listener,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db`, with e.g.
    /// `?options=-c%20search_path%3Dztrisk` to use a schema other than `public`), checks the
    /// server (PostgreSQL 13 or newer), brings the schema up to date (see
    /// [`PostgresOptions::migrate`]), and starts listening for changes made by other processes.
    pub async fn connect(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let target = connect::parse(url, options.connect_timeout)?;
        let schema = prepare_schema(&target, options.migrate).await?.1;
        let pool = connect::pool(&target, options.max_connections, options.acquire_timeout)?;
        let generation = Arc::new(Generation::default());
        let listener = listener::start(target, schema, generation.clone()).await?;
        Ok(Self {
            pool,
            generation,
            _listener: listener,
        })
    }

    /// Only brings the schema at `url` up to date (`ztrisk migrate`).
    pub async fn migrate(
        url: &str,
        options: &PostgresOptions,
    ) -> Result<MigrationReport, StoreError> {
        let target = connect::parse(url, options.connect_timeout)?;
        Ok(prepare_schema(&target, true).await?.0)
    }

    /// The schema version this binary writes.
    pub fn schema_version() -> i64 {
        migrations::latest()
    }

    /// The backend pid of the change listener's connection, `None` while it is reconnecting.
    #[doc(hidden)]
    pub fn listener_backend_pid(&self) -> Option<i32> {
        self.generation.backend_pid()
    }

    async fn client(&self) -> Result<Object, Failure> {
        Ok(self.pool.get().await?)
    }

    async fn begin(&self) -> Result<Tx, Failure> {
        Tx::begin(self.client().await?).await
    }
}

/// Checks the server, then migrates or checks the schema, on one dedicated connection.
async fn prepare_schema(
    target: &connect::Target,
    migrate: bool,
) -> Result<(MigrationReport, String), StoreError> {
    let described = connect::describe_target(&target.config);
    let mut client = connect::connect_spawned(target).await?;
    migrations::check_server(&client, &described).await?;
    let schema = migrations::current_schema(&client).await?;
    let report = migrations::apply(&mut client, migrate).await?;
    Ok((report, schema))
}

/// Runs a write in a transaction and commits it: `?` inside `$body` rolls back.
macro_rules! in_tx {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let $tx = $store.begin().await?;
        let out = $body;
        $tx.commit(&$store.generation).await?;
        out
    }};
}

/// The integer key high-volume tables use for an account.
pub(crate) async fn account_key(c: &ClientWrapper, account: AccountId) -> Result<i64> {
    match account_key_opt(c, account).await? {
        Some(key) => Ok(key),
        None => Err(StoreError::UnknownAccount(account).into()),
    }
}

pub(crate) async fn account_key_opt(c: &ClientWrapper, account: AccountId) -> Result<Option<i64>> {
    let id = account.to_string();
    Ok(
        query_opt(c, "SELECT key FROM accounts WHERE id = $1", &[&id])
            .await?
            .map(|r| r.get(0)),
    )
}

#[async_trait]
impl CredentialStore for PostgresStore {
    async fn bootstrap(
        &self,
        account_name: &str,
        admin_token: NewToken,
    ) -> Result<Option<(Account, TokenRecord)>, StoreError> {
        let tx = self.begin().await?;
        accounts::lock_accounts(tx.client()).await?;
        if accounts::any(tx.client()).await? {
            tx.commit_unchanged().await?;
            return Ok(None);
        }
        let account = accounts::insert(tx.client(), account_name).await?;
        let token = NewToken {
            accounts: vec![account.id],
            ..admin_token
        };
        let token = credentials::insert_token(tx.client(), token).await?;
        // Done by ztrisk itself at first start, yet recorded: the log then says where the
        // first account and its admin token came from.
        let entries = [
            vec![log::account_created(&Actor::System, &account)],
            log::token_created(&Actor::System, &token),
        ];
        audit::insert_all(tx.client(), &entries.concat()).await?;
        tx.commit(&self.generation).await?;
        Ok(Some((account, token)))
    }

    async fn create_account(&self, name: &str, actor: &Actor) -> Result<Account, StoreError> {
        Ok(in_tx!(self, |tx| {
            accounts::lock_accounts(tx.client()).await?;
            let account = accounts::insert(tx.client(), name).await?;
            audit::insert(tx.client(), &log::account_created(actor, &account)).await?;
            account
        }))
    }

    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        Ok(accounts::list(&*self.client().await?).await?)
    }

    async fn create_token(
        &self,
        token: NewToken,
        actor: &Actor,
    ) -> Result<TokenRecord, StoreError> {
        Ok(in_tx!(self, |tx| {
            let token = credentials::insert_token(tx.client(), token).await?;
            audit::insert_all(tx.client(), &log::token_created(actor, &token)).await?;
            token
        }))
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        Ok(credentials::list_tokens(&*self.client().await?).await?)
    }

    async fn revoke_token(&self, token_id: &str, actor: &Actor) -> Result<bool, StoreError> {
        Ok(in_tx!(self, |tx| {
            let revoked = credentials::revoke_token(tx.client(), token_id).await?;
            if revoked {
                let accounts = credentials::token_accounts(tx.client(), token_id).await?;
                let entries = log::token_revoked(actor, token_id, &accounts);
                audit::insert_all(tx.client(), &entries).await?;
            }
            revoked
        }))
    }

    async fn token_by_hash(&self, hash: &SecretHash) -> Result<Option<TokenRecord>, StoreError> {
        Ok(credentials::token_by_hash(&*self.client().await?, hash).await?)
    }

    async fn set_api_key(
        &self,
        email: &str,
        key_hash: SecretHash,
        accounts: &[AccountId],
        actor: &Actor,
    ) -> Result<ApiUser, StoreError> {
        let email = email.to_ascii_lowercase();
        Ok(in_tx!(self, |tx| {
            let user = credentials::set_api_key(tx.client(), &email, &key_hash, accounts).await?;
            audit::insert_all(tx.client(), &log::api_key_set(actor, &user)).await?;
            user
        }))
    }

    async fn api_user(&self, email: &str) -> Result<Option<ApiUser>, StoreError> {
        let email = email.to_ascii_lowercase();
        Ok(credentials::api_user(&*self.client().await?, &email).await?)
    }

    async fn list_api_users(&self) -> Result<Vec<ApiUser>, StoreError> {
        Ok(credentials::list_api_users(&*self.client().await?).await?)
    }

    async fn revoke_api_key(&self, email: &str, actor: &Actor) -> Result<bool, StoreError> {
        let email = email.to_ascii_lowercase();
        Ok(in_tx!(self, |tx| {
            let revoked = credentials::revoke_api_key(tx.client(), &email).await?;
            if revoked {
                let accounts = credentials::api_user(tx.client(), &email)
                    .await?
                    .map(|u| u.accounts)
                    .unwrap_or_default();
                let entries = log::api_key_revoked(actor, &email, &accounts);
                audit::insert_all(tx.client(), &entries).await?;
            }
            revoked
        }))
    }
}

#[async_trait]
impl BehaviorStore for PostgresStore {
    async fn behaviors(&self, account: AccountId) -> Result<AccountBehaviors, StoreError> {
        Ok(behaviors::load(&*self.client().await?, account).await?)
    }

    async fn update_behaviors(
        &self,
        account: AccountId,
        update: BehaviorUpdate,
        actor: &Actor,
    ) -> Result<AccountBehaviors, StoreError> {
        let tx = self.begin().await?;
        let (before, all, changed) = behaviors::update(tx.client(), account, &update).await?;
        if let Some(entry) = log::behaviors_updated(account, actor, &update, &before, &all) {
            audit::insert(tx.client(), &entry).await?;
        }
        if changed {
            tx.commit(&self.generation).await?;
        } else {
            tx.commit_unchanged().await?;
        }
        Ok(all)
    }
}

#[async_trait]
impl RiskStore for PostgresStore {
    async fn ingest(
        &self,
        account: AccountId,
        events: Vec<Event>,
        _actor: &Actor,
    ) -> Result<IngestOutcome, StoreError> {
        // Not in the audit log: events are data, not changes made by a person (spec 7).
        if events.is_empty() {
            // Nothing to write; only the account must exist, as for any batch.
            account_key(&*self.client().await?, account).await?;
            return Ok(IngestOutcome::default());
        }
        let mut attempt = 1;
        loop {
            let tx = self.begin().await?;
            let result = match engine::ingest(tx.client(), account, &events).await {
                // Ingest changes nothing the caches hold (credentials, behaviors).
                Ok(outcome) => tx.commit_unchanged().await.map(|()| outcome),
                Err(e) => Err(e),
            };
            match result {
                Err(e) if e.transient && attempt < WRITE_ATTEMPTS => {
                    tracing::debug!(error = %e.error, attempt, "ingest transaction retried");
                    attempt += 1;
                }
                other => return Ok(other?),
            }
        }
    }

    async fn summary(
        &self,
        account: AccountId,
        query: SummaryQuery,
    ) -> Result<Page<UserSummary>, StoreError> {
        Ok(risk::summary(&*self.client().await?, account, query).await?)
    }

    async fn user_risk(
        &self,
        account: AccountId,
        user_id: Uuid,
        query: UserEventsQuery,
    ) -> Result<Option<UserRisk>, StoreError> {
        Ok(risk::user_risk(&*self.client().await?, account, user_id, query).await?)
    }

    async fn stream_summary(
        &self,
        account: AccountId,
        query: SummaryQuery,
        sink: tokio::sync::mpsc::Sender<Vec<UserSummary>>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        match risk::stream_summary(&client, account, query, &sink).await {
            // The receiver left: nothing more to read, and nothing went wrong here.
            Err(_) if sink.is_closed() => Ok(()),
            result => Ok(result?),
        }
    }

    async fn stream_user_risk(
        &self,
        account: AccountId,
        user_id: Uuid,
        query: UserEventsQuery,
        sink: tokio::sync::mpsc::Sender<UserRiskChunk>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        match risk::stream_user_risk(&client, account, user_id, query, &sink).await {
            Err(_) if sink.is_closed() => Ok(()),
            result => Ok(result?),
        }
    }

    async fn reset_user(
        &self,
        account: AccountId,
        user_id: Uuid,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        let tx = self.begin().await?;
        let change = risk::reset(tx.client(), account, user_id).await?;
        if let Some(change) = &change {
            let entry = log::user_reset(account, actor, user_id, change);
            audit::insert(tx.client(), &entry).await?;
        }
        // Other replicas drop what their decision endpoints remember (spec 6.3) at once.
        tx.commit(&self.generation).await?;
        Ok(change.is_some())
    }

    async fn users_by_level(&self) -> Result<Vec<(RiskLevel, u64)>, StoreError> {
        Ok(risk::users_by_level(&*self.client().await?).await?)
    }

    async fn user_level(
        &self,
        account: AccountId,
        email: &str,
    ) -> Result<Option<RiskLevel>, StoreError> {
        Ok(risk::user_level(&*self.client().await?, account, email).await?)
    }

    async fn expire_risk(&self, now: i64, limit: usize) -> Result<ExpiryOutcome, StoreError> {
        let tx = self.begin().await?;
        let outcome = risk::expire(tx.client(), now, limit).await?;
        if outcome.level_changes > 0 {
            // Other replicas' decision endpoints must not keep the old levels.
            tx.commit(&self.generation).await?;
        } else {
            tx.commit_unchanged().await?;
        }
        Ok(outcome)
    }

    async fn confirm_compromised(
        &self,
        account: AccountId,
        user_id: Uuid,
        evidence: serde_json::Value,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        let tx = self.begin().await?;
        let change = risk::confirm_compromised(tx.client(), account, user_id, &evidence).await?;
        if let Some(change) = &change {
            let entry = log::user_confirmed(account, actor, user_id, change, &evidence);
            audit::insert(tx.client(), &entry).await?;
        }
        tx.commit(&self.generation).await?;
        Ok(change.is_some())
    }
}

#[async_trait]
impl IntegrationStore for PostgresStore {
    async fn list_integrations(&self, account: AccountId) -> Result<Vec<Integration>, StoreError> {
        Ok(integrations::list(&*self.client().await?, account).await?)
    }

    async fn create_integration(
        &self,
        account: AccountId,
        fields: IntegrationFields,
        actor: &Actor,
    ) -> Result<Integration, StoreError> {
        Ok(in_tx!(self, |tx| {
            let created = integrations::create(tx.client(), account, fields).await?;
            let entry = log::integration(AuditAction::IntegrationCreate, actor, &created);
            audit::insert(tx.client(), &entry).await?;
            created
        }))
    }

    async fn integration(
        &self,
        account: AccountId,
        id: Uuid,
    ) -> Result<Option<Integration>, StoreError> {
        Ok(integrations::get(&*self.client().await?, account, id).await?)
    }

    async fn integration_by_reference(
        &self,
        account: AccountId,
        reference_id: &str,
    ) -> Result<Option<Integration>, StoreError> {
        Ok(integrations::by_reference(&*self.client().await?, account, reference_id).await?)
    }

    async fn integration_by_id(&self, id: Uuid) -> Result<Option<Integration>, StoreError> {
        Ok(integrations::by_id(&*self.client().await?, id).await?)
    }

    async fn update_integration(
        &self,
        account: AccountId,
        id: Uuid,
        fields: IntegrationFields,
        actor: &Actor,
    ) -> Result<Option<Integration>, StoreError> {
        Ok(in_tx!(self, |tx| {
            let updated = integrations::update(tx.client(), account, id, fields).await?;
            if let Some(updated) = &updated {
                let entry = log::integration(AuditAction::IntegrationUpdate, actor, updated);
                audit::insert(tx.client(), &entry).await?;
            }
            updated
        }))
    }

    async fn delete_integration(
        &self,
        account: AccountId,
        id: Uuid,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        Ok(in_tx!(self, |tx| {
            // Read first: the entry says what was deleted.
            let existing = integrations::get(tx.client(), account, id).await?;
            let deleted = integrations::delete(tx.client(), account, id).await?;
            if let (true, Some(existing)) = (deleted, &existing) {
                let entry = log::integration_deleted(actor, existing);
                audit::insert(tx.client(), &entry).await?;
            }
            deleted
        }))
    }
}

#[async_trait]
impl StreamStore for PostgresStore {
    async fn stream(
        &self,
        account: AccountId,
        integration: Uuid,
    ) -> Result<Option<Stream>, StoreError> {
        Ok(streams::get(&*self.client().await?, account, integration).await?)
    }

    // Stream writes change nothing cached above the store: committed without a notification.

    async fn create_stream(
        &self,
        account: AccountId,
        integration: Uuid,
        fields: StreamFields,
        actor: &Actor,
    ) -> Result<Stream, StoreError> {
        let tx = self.begin().await?;
        let stream = streams::create(tx.client(), account, integration, fields).await?;
        let entry = log::stream(AuditAction::StreamCreate, actor, &stream);
        audit::insert(tx.client(), &entry).await?;
        tx.commit_unchanged().await?;
        Ok(stream)
    }

    async fn update_stream(
        &self,
        account: AccountId,
        integration: Uuid,
        fields: StreamFields,
        actor: &Actor,
    ) -> Result<Option<Stream>, StoreError> {
        let tx = self.begin().await?;
        let stream = streams::update(tx.client(), account, integration, fields).await?;
        if let Some(stream) = &stream {
            let entry = log::stream(AuditAction::StreamUpdate, actor, stream);
            audit::insert(tx.client(), &entry).await?;
        }
        tx.commit_unchanged().await?;
        Ok(stream)
    }

    async fn delete_stream(
        &self,
        account: AccountId,
        integration: Uuid,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        let tx = self.begin().await?;
        let existing = streams::get(tx.client(), account, integration).await?;
        let deleted = streams::delete(tx.client(), account, integration).await?;
        if let (true, Some(existing)) = (deleted, &existing) {
            audit::insert(tx.client(), &log::stream_deleted(actor, existing)).await?;
        }
        tx.commit_unchanged().await?;
        Ok(deleted)
    }

    async fn set_stream_status(
        &self,
        account: AccountId,
        integration: Uuid,
        status: StreamStatus,
        reason: Option<String>,
        actor: &Actor,
    ) -> Result<Option<Stream>, StoreError> {
        let tx = self.begin().await?;
        let stream = streams::set_status(tx.client(), account, integration, status, reason).await?;
        if let Some(stream) = &stream {
            audit::insert(tx.client(), &log::stream_status(actor, stream)).await?;
        }
        tx.commit_unchanged().await?;
        Ok(stream)
    }

    async fn queue_stream_event(
        &self,
        account: AccountId,
        integration: Uuid,
        event: StreamEvent,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        let tx = self.begin().await?;
        let queued = streams::queue(tx.client(), account, integration, &event).await?;
        if queued {
            let entry = log::stream_event(account, actor, integration, &event);
            audit::insert(tx.client(), &entry).await?;
        }
        tx.commit_unchanged().await?;
        Ok(queued)
    }

    async fn set_subject_removed(
        &self,
        account: AccountId,
        integration: Uuid,
        email: &str,
        removed: bool,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        let tx = self.begin().await?;
        let found =
            streams::set_subject_removed(tx.client(), account, integration, email, removed).await?;
        if found {
            let entry = log::stream_subject(account, actor, integration, email, removed);
            audit::insert(tx.client(), &entry).await?;
        }
        tx.commit_unchanged().await?;
        Ok(found)
    }

    async fn stream_backlog(
        &self,
        account: AccountId,
        integration: Uuid,
    ) -> Result<StreamBacklog, StoreError> {
        Ok(streams::backlog(&*self.client().await?, account, integration).await?)
    }

    async fn poll_stream(
        &self,
        account: AccountId,
        integration: Uuid,
        request: PollRequest,
        now: DateTime<Utc>,
    ) -> Result<PollOutcome, StoreError> {
        let mut attempt = 1;
        loop {
            let tx = self.begin().await?;
            let result = match streams::poll(
                tx.client(),
                account,
                integration,
                request.clone(),
                now,
            )
            .await
            {
                Ok(outcome) => tx.commit_unchanged().await.map(|()| outcome),
                Err(e) => Err(e),
            };
            match result {
                // Polls acknowledging the same SETs in another order may deadlock.
                Err(e) if e.transient && attempt < WRITE_ATTEMPTS => attempt += 1,
                other => return Ok(other?),
            }
        }
    }

    async fn keep_payloads(&self, payloads: Vec<(i64, Vec<u8>)>) -> Result<(), StoreError> {
        Ok(streams::keep_payloads(&*self.client().await?, &payloads).await?)
    }
}

#[async_trait]
impl WebhookStore for PostgresStore {
    async fn list_webhooks(&self, account: AccountId) -> Result<Vec<Webhook>, StoreError> {
        Ok(webhooks::list(&*self.client().await?, account).await?)
    }

    async fn create_webhook(
        &self,
        account: AccountId,
        fields: WebhookFields,
        secret: String,
        actor: &Actor,
    ) -> Result<Webhook, StoreError> {
        Ok(in_tx!(self, |tx| {
            let created = webhooks::create(tx.client(), account, fields, secret).await?;
            let entry = log::webhook(AuditAction::WebhookCreate, actor, &created);
            audit::insert(tx.client(), &entry).await?;
            created
        }))
    }

    async fn webhook(&self, account: AccountId, id: Uuid) -> Result<Option<Webhook>, StoreError> {
        Ok(webhooks::get(&*self.client().await?, account, id).await?)
    }

    async fn update_webhook(
        &self,
        account: AccountId,
        id: Uuid,
        fields: WebhookFields,
        actor: &Actor,
    ) -> Result<Option<Webhook>, StoreError> {
        Ok(in_tx!(self, |tx| {
            let updated = webhooks::update(tx.client(), account, id, fields).await?;
            if let Some(updated) = &updated {
                let entry = log::webhook(AuditAction::WebhookUpdate, actor, updated);
                audit::insert(tx.client(), &entry).await?;
            }
            updated
        }))
    }

    async fn delete_webhook(
        &self,
        account: AccountId,
        id: Uuid,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        Ok(in_tx!(self, |tx| {
            let existing = webhooks::get(tx.client(), account, id).await?;
            let deleted = webhooks::delete(tx.client(), account, id).await?;
            if let (true, Some(existing)) = (deleted, &existing) {
                audit::insert(tx.client(), &log::webhook_deleted(actor, existing)).await?;
            }
            deleted
        }))
    }
}

#[async_trait]
impl OutboxStore for PostgresStore {
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<DeliveryTask>, StoreError> {
        let tx = self.begin().await?;
        let tasks = outbox::claim(tx.client(), now, lease, limit).await?;
        // Claims change no cached data: no notification.
        tx.commit_unchanged().await?;
        Ok(tasks)
    }

    async fn finish_deliveries(
        &self,
        now: DateTime<Utc>,
        settled: Vec<Settled>,
    ) -> Result<(), StoreError> {
        Ok(outbox::finish_all(&*self.client().await?, now, &settled).await?)
    }

    async fn deliveries(
        &self,
        account: AccountId,
        destination: Destination,
        paging: Paging,
    ) -> Result<Option<Page<DeliveryRecord>>, StoreError> {
        Ok(outbox::list(&*self.client().await?, account, destination, paging).await?)
    }

    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(outbox::prune(&*self.client().await?, before).await?)
    }

    async fn next_delivery_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(outbox::next_due(&*self.client().await?).await?)
    }

    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        Ok(outbox::stats(&*self.client().await?).await?)
    }
}

#[async_trait]
impl SigningKeyStore for PostgresStore {
    async fn signing_keys(&self) -> Result<Vec<StoredSigningKey>, StoreError> {
        Ok(signing_keys::list(&*self.client().await?).await?)
    }

    async fn add_first_signing_key(
        &self,
        kid: &str,
        private_key: Vec<u8>,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        Ok(in_tx!(self, |tx| {
            let added = signing_keys::add_first(tx.client(), kid, &private_key).await?;
            if added {
                let entry = log::signing_key(AuditAction::SigningKeyCreate, actor, kid);
                audit::insert(tx.client(), &entry).await?;
            }
            added
        }))
    }

    async fn rotate_signing_key(
        &self,
        kid: &str,
        private_key: Vec<u8>,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        in_tx!(self, |tx| {
            signing_keys::rotate(tx.client(), kid, &private_key).await?;
            let entry = log::signing_key(AuditAction::SigningKeyRotate, actor, kid);
            audit::insert(tx.client(), &entry).await?;
        });
        Ok(())
    }

    async fn retire_signing_key(
        &self,
        kid: &str,
        actor: &Actor,
    ) -> Result<RetireOutcome, StoreError> {
        Ok(in_tx!(self, |tx| {
            let outcome = signing_keys::retire(tx.client(), kid).await?;
            if outcome == RetireOutcome::Retired {
                let entry = log::signing_key(AuditAction::SigningKeyRetire, actor, kid);
                audit::insert(tx.client(), &entry).await?;
            }
            outcome
        }))
    }
}

#[async_trait]
impl AuditStore for PostgresStore {
    async fn audit_log(
        &self,
        account: AccountId,
        query: AuditQuery,
    ) -> Result<Page<AuditRecord>, StoreError> {
        Ok(audit::list(&*self.client().await?, account, query).await?)
    }
}

#[async_trait]
impl DumpStore for PostgresStore {
    async fn export(&self, sink: tokio::sync::mpsc::Sender<DumpChunk>) -> Result<(), StoreError> {
        Ok(dump::export(&*self.client().await?, &sink).await?)
    }

    async fn import(&self, chunk: DumpChunk) -> Result<(), StoreError> {
        in_tx!(self, |tx| dump::import(tx.client(), &chunk).await?);
        Ok(())
    }

    async fn import_finished(&self) -> Result<(), StoreError> {
        in_tx!(self, |tx| dump::finish(tx.client()).await?);
        Ok(())
    }
}

#[async_trait]
impl DashboardStore for PostgresStore {
    async fn risk_overview(
        &self,
        account: AccountId,
        since: chrono::NaiveDate,
    ) -> Result<RiskOverview, StoreError> {
        Ok(dashboard::risk_overview(&*self.client().await?, account, since).await?)
    }

    async fn find_users(
        &self,
        account: AccountId,
        filter: UserFilter,
        query: SummaryQuery,
    ) -> Result<Page<UserSummary>, StoreError> {
        Ok(dashboard::find_users(&*self.client().await?, account, filter, query).await?)
    }

    async fn create_session(&self, session: DashboardSession) -> Result<(), StoreError> {
        let tx = self.begin().await?;
        dashboard::create_session(tx.client(), &session).await?;
        // A new session makes nothing cached above the store stale.
        tx.commit_unchanged().await?;
        Ok(())
    }

    async fn session(
        &self,
        id_hash: &SecretHash,
        now: DateTime<Utc>,
    ) -> Result<Option<DashboardSession>, StoreError> {
        Ok(dashboard::session(&*self.client().await?, id_hash, now).await?)
    }

    async fn delete_session(&self, id_hash: &SecretHash) -> Result<(), StoreError> {
        let tx = self.begin().await?;
        dashboard::delete_session(tx.client(), id_hash).await?;
        // Sessions are read from the database on every request, never cached: nothing a
        // replica caches becomes wrong, so their caches are left alone.
        tx.commit_unchanged().await?;
        Ok(())
    }

    async fn prune_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let tx = self.begin().await?;
        let deleted = dashboard::prune_sessions(tx.client(), now).await?;
        // Expired sessions are refused by `session` already: nothing cached becomes wrong.
        tx.commit_unchanged().await?;
        Ok(deleted)
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn generation(&self) -> u64 {
        self.generation.get()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .simple_query("SELECT 1")
            .await
            .map_err(Failure::from)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_servers_are_refused_with_the_version_found() {
        let err = migrations::server_version_ok(120_015, "12.15", "db:5432");
        let text = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text.contains("12.15") && text.contains("13 or newer"),
            "{text}"
        );
        assert!(migrations::server_version_ok(130_000, "13.0", "db:5432").is_ok());
    }

    #[test]
    fn writes_notify_the_channel_the_listener_listens_on() {
        assert!(tx::NOTIFY_AND_COMMIT.contains(&format!("pg_notify('{}'", listener::CHANNEL)));
    }
}
