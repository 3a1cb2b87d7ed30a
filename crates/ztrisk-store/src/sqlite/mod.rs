//! The embedded SQLite backend: one database file in WAL mode.
//!
//! Writes go through one writer thread that commits in groups (see [`writer`]); reads use a
//! small pool of read-only connections, so readers never wait for the writer.

mod accounts;
mod audit;
mod behaviors;
mod changes;
mod credentials;
mod dashboard;
mod dump;
mod engine;
mod files;
mod integrations;
mod migrations;
mod outbox;
mod pool;
mod risk;
mod signing_keys;
mod streams;
mod user_cache;
mod webhooks;
mod writer;

use crate::audit as log;
use crate::dump::DumpChunk;
use crate::model::{
    Account, Actor, ApiUser, AuditAction, AuditQuery, AuditRecord, DashboardSession,
    DeliveryRecord, DeliveryTask, Destination, ExpiryOutcome, IngestOutcome, Integration,
    IntegrationFields, NewToken, OutboxStats, Page, Paging, PollOutcome, PollRequest,
    RetireOutcome, RiskOverview, STREAM_CHUNK, Settled, StoredSigningKey, Stream, StreamBacklog,
    StreamEvent, StreamFields, StreamStatus, SummaryQuery, TokenRecord, UserEventsQuery,
    UserFilter, UserRisk, UserRiskChunk, UserSummary, Webhook, WebhookFields,
};
use crate::{
    AuditStore, BehaviorStore, CredentialStore, DashboardStore, DumpStore, IntegrationStore,
    OutboxStore, RiskStore, SigningKeyStore, Store, StoreError, StreamStore, WebhookStore,
};
use async_trait::async_trait;
use changes::ChangeClock;
use chrono::{DateTime, Utc};
use pool::ReadPool;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use user_cache::UserCache;
use uuid::Uuid;
use writer::Writer;

/// Users whose detector state the writer keeps in memory (about 250 bytes each).
const USER_CACHE_CAPACITY: usize = 1_000_000;
use ztrisk_core::behaviors::{AccountBehaviors, BehaviorUpdate};
use ztrisk_core::credentials::SecretHash;
use ztrisk_core::events::Event;
use ztrisk_core::{AccountId, RiskLevel};

/// How hard SQLite works to make a commit durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// fsync the WAL on every commit: a commit survives power loss. Group commit keeps this
    /// affordable.
    #[default]
    Full,
    /// No fsync on commit: a commit survives a crash of ztrisk (even `kill -9`) but not a
    /// power loss or a kernel crash.
    Normal,
}

#[derive(Debug, Clone, Default)]
pub struct SqliteOptions {
    pub synchronous: Synchronous,
}

/// The SQLite implementation of [`Store`].
pub struct SqliteStore {
    path: PathBuf,
    /// Users' detector state, kept by the writer between ingest batches.
    users: Arc<Mutex<UserCache>>,
    writer: Writer,
    readers: Arc<ReadPool>,
    /// What [`Store::generation`] reads.
    changes: Arc<ChangeClock>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        files::protect(&path)?;
        let mut conn = Connection::open(&path)?;
        configure(&conn)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let sync = match options.synchronous {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync)?;
        // The writer touches user rows all over the table on every ingest batch: a page cache
        // of 64 MiB (instead of 2 MiB) keeps them from being re-read from the OS each time.
        conn.pragma_update(None, "cache_size", -65536)?;
        migrations::apply(&mut conn, migrations::latest())?;
        // One process owns a SQLite file: claims on deliveries left by a previous run (killed
        // while sending) are void, and waiting out their lease would only delay them.
        conn.execute(
            "UPDATE deliveries SET claimed_until = 0 WHERE status = 'pending' AND claimed_until > 0",
            [],
        )?;
        let users = Arc::new(Mutex::new(UserCache::new(USER_CACHE_CAPACITY)));
        let changes = Arc::new(ChangeClock::new(open_reader(&path)?));
        let (observed, clock) = (users.clone(), changes.clone());
        let writer = Writer::spawn(
            conn,
            Box::new(move |ok| {
                if ok {
                    clock.committed();
                }
                if let Ok(mut cache) = observed.lock() {
                    cache.committed(ok);
                }
            }),
        )?;
        let readers = Arc::new(ReadPool::new(path.clone()));
        Ok(Self {
            path,
            users,
            writer,
            readers,
            changes,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || readers.with(f))
            .await
            .map_err(|e| StoreError::Backend(format!("read task failed: {e}")))?
    }
}

/// The integer key high-volume tables use for an account.
pub(crate) fn account_key(conn: &Connection, account: AccountId) -> Result<i64, StoreError> {
    conn.prepare_cached("SELECT rowid FROM accounts WHERE id = ?1")?
        .query_row([account.to_string()], |r| r.get(0))
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::UnknownAccount(account),
            other => other.into(),
        })
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

pub(crate) fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    configure(&conn)?;
    Ok(conn)
}

#[async_trait]
impl CredentialStore for SqliteStore {
    async fn bootstrap(
        &self,
        account_name: &str,
        admin_token: NewToken,
    ) -> Result<Option<(Account, TokenRecord)>, StoreError> {
        let name = account_name.to_owned();
        self.writer
            .write(move |conn| {
                let existing: i64 =
                    conn.query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))?;
                if existing > 0 {
                    return Ok(None);
                }
                let account = accounts::insert(conn, &name)?;
                let token = NewToken {
                    accounts: vec![account.id],
                    ..admin_token
                };
                let token = credentials::insert_token(conn, token)?;
                // Done by ztrisk itself at first start, yet recorded: the log then says where
                // the first account and its admin token came from.
                audit::insert(conn, &log::account_created(&Actor::System, &account))?;
                audit::insert_all(conn, &log::token_created(&Actor::System, &token))?;
                Ok(Some((account, token)))
            })
            .await
    }

    async fn create_account(&self, name: &str, actor: &Actor) -> Result<Account, StoreError> {
        let (name, actor) = (name.to_owned(), actor.clone());
        self.writer
            .write(move |conn| {
                let account = accounts::insert(conn, &name)?;
                audit::insert(conn, &log::account_created(&actor, &account))?;
                Ok(account)
            })
            .await
    }

    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.read(accounts::list).await
    }

    async fn create_token(
        &self,
        token: NewToken,
        actor: &Actor,
    ) -> Result<TokenRecord, StoreError> {
        let actor = actor.clone();
        self.writer
            .write(move |conn| {
                let token = credentials::insert_token(conn, token)?;
                audit::insert_all(conn, &log::token_created(&actor, &token))?;
                Ok(token)
            })
            .await
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        self.read(credentials::list_tokens).await
    }

    async fn revoke_token(&self, token_id: &str, actor: &Actor) -> Result<bool, StoreError> {
        let (id, actor) = (token_id.to_owned(), actor.clone());
        self.writer
            .write(move |conn| {
                let revoked = credentials::revoke_token(conn, &id)?;
                if revoked {
                    let accounts = credentials::token_accounts(conn, &id)?;
                    audit::insert_all(conn, &log::token_revoked(&actor, &id, &accounts))?;
                }
                Ok(revoked)
            })
            .await
    }

    async fn token_by_hash(&self, hash: &SecretHash) -> Result<Option<TokenRecord>, StoreError> {
        let hash = *hash;
        self.read(move |conn| credentials::token_by_hash(conn, &hash))
            .await
    }

    async fn set_api_key(
        &self,
        email: &str,
        key_hash: SecretHash,
        accounts: &[AccountId],
        actor: &Actor,
    ) -> Result<ApiUser, StoreError> {
        let email = email.to_ascii_lowercase();
        let (accounts, actor) = (accounts.to_vec(), actor.clone());
        self.writer
            .write(move |conn| {
                let user = credentials::set_api_key(conn, &email, &key_hash, &accounts)?;
                audit::insert_all(conn, &log::api_key_set(&actor, &user))?;
                Ok(user)
            })
            .await
    }

    async fn api_user(&self, email: &str) -> Result<Option<ApiUser>, StoreError> {
        let email = email.to_ascii_lowercase();
        self.read(move |conn| credentials::api_user(conn, &email))
            .await
    }

    async fn list_api_users(&self) -> Result<Vec<ApiUser>, StoreError> {
        self.read(credentials::list_api_users).await
    }

    async fn revoke_api_key(&self, email: &str, actor: &Actor) -> Result<bool, StoreError> {
        let (email, actor) = (email.to_ascii_lowercase(), actor.clone());
        self.writer
            .write(move |conn| {
                let revoked = credentials::revoke_api_key(conn, &email)?;
                if revoked {
                    let accounts = credentials::api_user(conn, &email)?
                        .map(|u| u.accounts)
                        .unwrap_or_default();
                    audit::insert_all(conn, &log::api_key_revoked(&actor, &email, &accounts))?;
                }
                Ok(revoked)
            })
            .await
    }
}

#[async_trait]
impl BehaviorStore for SqliteStore {
    async fn behaviors(&self, account: AccountId) -> Result<AccountBehaviors, StoreError> {
        self.read(move |conn| behaviors::load(conn, account)).await
    }

    async fn update_behaviors(
        &self,
        account: AccountId,
        update: BehaviorUpdate,
        actor: &Actor,
    ) -> Result<AccountBehaviors, StoreError> {
        let actor = actor.clone();
        self.writer
            .write(move |conn| {
                let (before, after) = behaviors::update(conn, account, &update)?;
                if let Some(entry) =
                    log::behaviors_updated(account, &actor, &update, &before, &after)
                {
                    audit::insert(conn, &entry)?;
                }
                Ok(after)
            })
            .await
    }
}

#[async_trait]
impl RiskStore for SqliteStore {
    async fn ingest(
        &self,
        account: AccountId,
        events: Vec<Event>,
        _actor: &Actor,
    ) -> Result<IngestOutcome, StoreError> {
        // Not in the audit log: events are data, not changes made by a person (spec 7).
        self.writer
            .write({
                let users = self.users.clone();
                move |conn| engine::ingest(conn, &users, account, &events)
            })
            .await
    }

    async fn summary(
        &self,
        account: AccountId,
        query: SummaryQuery,
    ) -> Result<Page<UserSummary>, StoreError> {
        self.read(move |conn| risk::summary(conn, account, query))
            .await
    }

    async fn user_risk(
        &self,
        account: AccountId,
        user_id: Uuid,
        query: UserEventsQuery,
    ) -> Result<Option<UserRisk>, StoreError> {
        self.read(move |conn| risk::user_risk(conn, account, user_id, query))
            .await
    }

    async fn stream_summary(
        &self,
        account: AccountId,
        query: SummaryQuery,
        sink: tokio::sync::mpsc::Sender<Vec<UserSummary>>,
    ) -> Result<(), StoreError> {
        // One reader connection, one statement: a snapshot, read as fast as it is sent.
        self.read(move |conn| {
            let mut chunk = Vec::with_capacity(STREAM_CHUNK);
            risk::summary_each(conn, account, query, |user| {
                chunk.push(user);
                chunk.len() < STREAM_CHUNK || sink.blocking_send(std::mem::take(&mut chunk)).is_ok()
            })?;
            if !chunk.is_empty() {
                let _ = sink.blocking_send(chunk);
            }
            Ok(())
        })
        .await
    }

    async fn stream_user_risk(
        &self,
        account: AccountId,
        user_id: Uuid,
        query: UserEventsQuery,
        sink: tokio::sync::mpsc::Sender<UserRiskChunk>,
    ) -> Result<(), StoreError> {
        self.read(move |conn| {
            let mut chunk = Vec::with_capacity(STREAM_CHUNK);
            risk::user_risk_each(
                conn,
                account,
                user_id,
                query,
                |user| {
                    sink.blocking_send(UserRiskChunk::User(user.clone()))
                        .is_ok()
                },
                |event| {
                    chunk.push(event);
                    chunk.len() < STREAM_CHUNK
                        || sink
                            .blocking_send(UserRiskChunk::Events(std::mem::take(&mut chunk)))
                            .is_ok()
                },
            )?;
            if !chunk.is_empty() {
                let _ = sink.blocking_send(UserRiskChunk::Events(chunk));
            }
            Ok(())
        })
        .await
    }

    async fn reset_user(
        &self,
        account: AccountId,
        user_id: Uuid,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        let actor = actor.clone();
        self.writer
            .write({
                let users = self.users.clone();
                move |conn| {
                    let Some(change) = risk::reset(conn, &users, account, user_id)? else {
                        return Ok(false);
                    };
                    audit::insert(conn, &log::user_reset(account, &actor, user_id, &change))?;
                    Ok(true)
                }
            })
            .await
    }

    async fn users_by_level(&self) -> Result<Vec<(RiskLevel, u64)>, StoreError> {
        self.read(risk::users_by_level).await
    }

    async fn user_level(
        &self,
        account: AccountId,
        email: &str,
    ) -> Result<Option<RiskLevel>, StoreError> {
        let email = email.to_owned();
        self.read(move |conn| risk::user_level(conn, account, &email))
            .await
    }

    async fn expire_risk(&self, now: i64, limit: usize) -> Result<ExpiryOutcome, StoreError> {
        self.writer
            .write({
                let users = self.users.clone();
                move |conn| risk::expire(conn, &users, now, limit)
            })
            .await
    }

    async fn confirm_compromised(
        &self,
        account: AccountId,
        user_id: Uuid,
        evidence: serde_json::Value,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        let actor = actor.clone();
        self.writer
            .write({
                let users = self.users.clone();
                move |conn| {
                    let confirmed =
                        risk::confirm_compromised(conn, &users, account, user_id, &evidence)?;
                    let Some(change) = confirmed else {
                        return Ok(false);
                    };
                    let entry = log::user_confirmed(account, &actor, user_id, &change, &evidence);
                    audit::insert(conn, &entry)?;
                    Ok(true)
                }
            })
            .await
    }
}

#[async_trait]
impl IntegrationStore for SqliteStore {
    async fn list_integrations(&self, account: AccountId) -> Result<Vec<Integration>, StoreError> {
        self.read(move |conn| integrations::list(conn, account))
            .await
    }

    async fn create_integration(
        &self,
        account: AccountId,
        fields: IntegrationFields,
        actor: &Actor,
    ) -> Result<Integration, StoreError> {
        let actor = actor.clone();
        self.writer
            .write(move |conn| {
                let created = integrations::create(conn, account, fields)?;
                let action = AuditAction::IntegrationCreate;
                audit::insert(conn, &log::integration(action, &actor, &created))?;
                Ok(created)
            })
            .await
    }

    async fn integration(
        &self,
        account: AccountId,
        id: Uuid,
    ) -> Result<Option<Integration>, StoreError> {
        self.read(move |conn| integrations::get(conn, account, id))
            .await
    }

    async fn integration_by_reference(
        &self,
        account: AccountId,
        reference_id: &str,
    ) -> Result<Option<Integration>, StoreError> {
        let reference_id = reference_id.to_owned();
        self.read(move |conn| integrations::by_reference(conn, account, &reference_id))
            .await
    }

    async fn integration_by_id(&self, id: Uuid) -> Result<Option<Integration>, StoreError> {
        self.read(move |conn| integrations::by_id(conn, id)).await
    }

    async fn update_integration(
        &self,
        account: AccountId,
        id: Uuid,
        fields: IntegrationFields,
        actor: &Actor,
    ) -> Result<Option<Integration>, StoreError> {
        let actor = actor.clone();
        self.writer
            .write(move |conn| {
                let updated = integrations::update(conn, account, id, fields)?;
                if let Some(updated) = &updated {
                    let action = AuditAction::IntegrationUpdate;
                    audit::insert(conn, &log::integration(action, &actor, updated))?;
                }
                Ok(updated)
            })
            .await
    }

    async fn delete_integration(
        &self,
        account: AccountId,
        id: Uuid,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        let actor = actor.clone();
        self.writer
            .write(move |conn| {
                // Read first: the entry says what was deleted.
                let Some(existing) = integrations::get(conn, account, id)? else {
                    return Ok(false);
                };
                let deleted = integrations::delete(conn, account, id)?;
                if deleted {
                    audit::insert(conn, &log::integration_deleted(&actor, &existing))?;
                }
                Ok(deleted)
            })
            .await
    }
}

#[async_trait]
impl StreamStore for SqliteStore {
    async fn stream(
        &self,
        account: AccountId,
        integration: Uuid,
    ) -> Result<Option<Stream>, StoreError> {
        self.read(move |conn| streams::get(conn, account, integration))
            .await
    }

    async fn create_stream(
        &self,
        account: AccountId,
        integration: Uuid,
        fields: StreamFields,
        actor: &Actor,
    ) -> Result<Stream, StoreError> {
        let actor = actor.clone();
        self.writer
            .write(move |conn| {
                let stream = streams::create(conn, account, integration, fields)?;
                let action = AuditAction::StreamCreate;
                audit::insert(conn, &log::stream(action, &actor, &stream))?;
                Ok(stream)
            })
            .await
    }

    async fn update_stream(
        &self,
        account: AccountId,
        integration: Uuid,
        fields: StreamFields,
        actor: &Actor,
    ) -> Result<Option<Stream>, StoreError> {
        let actor = actor.clone();
        self.writer
            .write(move |conn| {
                let stream = streams::update(conn, account, integration, fields)?;
                if let Some(stream) = &stream {
                    let action = AuditAction::StreamUpdate;
                    audit::insert(conn, &log::stream(action, &actor, stream))?;
                }
                Ok(stream)
            })
            .await
    }

    async fn delete_stream(
        &self,
        account: AccountId,
        integration: Uuid,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        let actor = actor.clone();
        self.writer
            .write(move |conn| {
                let Some(existing) = streams::get(conn, account, integration)? else {
                    return Ok(false);
                };
                let deleted = streams::delete(conn, account, integration)?;
                if deleted {
                    audit::insert(conn, &log::stream_deleted(&actor, &existing))?;
                }
                Ok(deleted)
            })
            .await
    }

    async fn set_stream_status(
        &self,
        account: AccountId,
        integration: Uuid,
        status: StreamStatus,
        reason: Option<String>,
        actor: &Actor,
    ) -> Result<Option<Stream>, StoreError> {
        let actor = actor.clone();
        self.writer
            .write(move |conn| {
                let stream = streams::set_status(conn, account, integration, status, reason)?;
                if let Some(stream) = &stream {
                    audit::insert(conn, &log::stream_status(&actor, stream))?;
                }
                Ok(stream)
            })
            .await
    }

    async fn queue_stream_event(
        &self,
        account: AccountId,
        integration: Uuid,
        event: StreamEvent,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        let actor = actor.clone();
        self.writer
            .write(move |conn| {
                let queued = streams::queue(conn, account, integration, &event)?;
                if queued {
                    let entry = log::stream_event(account, &actor, integration, &event);
                    audit::insert(conn, &entry)?;
                }
                Ok(queued)
            })
            .await
    }

    async fn set_subject_removed(
        &self,
        account: AccountId,
        integration: Uuid,
        email: &str,
        removed: bool,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        let (email, actor) = (email.to_owned(), actor.clone());
        self.writer
            .write(move |conn| {
                let found =
                    streams::set_subject_removed(conn, account, integration, &email, removed)?;
                if found {
                    let entry = log::stream_subject(account, &actor, integration, &email, removed);
                    audit::insert(conn, &entry)?;
                }
                Ok(found)
            })
            .await
    }

    async fn stream_backlog(
        &self,
        account: AccountId,
        integration: Uuid,
    ) -> Result<StreamBacklog, StoreError> {
        self.read(move |conn| streams::backlog(conn, account, integration))
            .await
    }

    async fn poll_stream(
        &self,
        account: AccountId,
        integration: Uuid,
        request: PollRequest,
        now: DateTime<Utc>,
    ) -> Result<PollOutcome, StoreError> {
        // Durable: an acknowledgement the receiver was told about must not come back.
        self.writer
            .write(move |conn| streams::poll(conn, account, integration, request, now))
            .await
    }

    async fn keep_payloads(&self, payloads: Vec<(i64, Vec<u8>)>) -> Result<(), StoreError> {
        self.writer
            .write_relaxed(move |conn| streams::keep_payloads(conn, &payloads))
            .await
    }
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn list_webhooks(&self, account: AccountId) -> Result<Vec<Webhook>, StoreError> {
        self.read(move |conn| webhooks::list(conn, account)).await
    }

    async fn create_webhook(
        &self,
        account: AccountId,
        fields: WebhookFields,
        secret: String,
        actor: &Actor,
    ) -> Result<Webhook, StoreError> {
        let actor = actor.clone();
        self.writer
            .write(move |conn| {
                let created = webhooks::create(conn, account, fields, secret)?;
                let action = AuditAction::WebhookCreate;
                audit::insert(conn, &log::webhook(action, &actor, &created))?;
                Ok(created)
            })
            .await
    }

    async fn webhook(&self, account: AccountId, id: Uuid) -> Result<Option<Webhook>, StoreError> {
        self.read(move |conn| webhooks::get(conn, account, id))
            .await
    }

    async fn update_webhook(
        &self,
        account: AccountId,
        id: Uuid,
        fields: WebhookFields,
        actor: &Actor,
    ) -> Result<Option<Webhook>, StoreError> {
        let actor = actor.clone();
        self.writer
            .write(move |conn| {
                let updated = webhooks::update(conn, account, id, fields)?;
                if let Some(updated) = &updated {
                    let action = AuditAction::WebhookUpdate;
                    audit::insert(conn, &log::webhook(action, &actor, updated))?;
                }
                Ok(updated)
            })
            .await
    }

    async fn delete_webhook(
        &self,
        account: AccountId,
        id: Uuid,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        let actor = actor.clone();
        self.writer
            .write(move |conn| {
                let Some(existing) = webhooks::get(conn, account, id)? else {
                    return Ok(false);
                };
                let deleted = webhooks::delete(conn, account, id)?;
                if deleted {
                    audit::insert(conn, &log::webhook_deleted(&actor, &existing))?;
                }
                Ok(deleted)
            })
            .await
    }
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<DeliveryTask>, StoreError> {
        self.writer
            .write_relaxed(move |conn| outbox::claim(conn, now, lease, limit))
            .await
    }

    async fn finish_deliveries(
        &self,
        now: DateTime<Utc>,
        settled: Vec<Settled>,
    ) -> Result<(), StoreError> {
        self.writer
            .write_relaxed(move |conn| {
                for one in &settled {
                    outbox::finish(conn, one.seq, now, &one.result, one.payload.as_deref())?;
                }
                Ok(())
            })
            .await
    }

    async fn deliveries(
        &self,
        account: AccountId,
        destination: Destination,
        paging: Paging,
    ) -> Result<Option<Page<DeliveryRecord>>, StoreError> {
        self.read(move |conn| outbox::list(conn, account, destination, paging))
            .await
    }

    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.writer
            .write_relaxed(move |conn| outbox::prune(conn, before))
            .await
    }

    async fn next_delivery_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read(outbox::next_due).await
    }

    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        self.read(outbox::stats).await
    }
}

#[async_trait]
impl SigningKeyStore for SqliteStore {
    async fn signing_keys(&self) -> Result<Vec<StoredSigningKey>, StoreError> {
        self.read(signing_keys::list).await
    }

    async fn add_first_signing_key(
        &self,
        kid: &str,
        private_key: Vec<u8>,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        let (kid, actor) = (kid.to_owned(), actor.clone());
        self.writer
            .write(move |conn| {
                let added = signing_keys::add_first(conn, &kid, &private_key)?;
                if added {
                    let action = AuditAction::SigningKeyCreate;
                    audit::insert(conn, &log::signing_key(action, &actor, &kid))?;
                }
                Ok(added)
            })
            .await
    }

    async fn rotate_signing_key(
        &self,
        kid: &str,
        private_key: Vec<u8>,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let (kid, actor) = (kid.to_owned(), actor.clone());
        self.writer
            .write(move |conn| {
                signing_keys::rotate(conn, &kid, &private_key)?;
                let action = AuditAction::SigningKeyRotate;
                audit::insert(conn, &log::signing_key(action, &actor, &kid))
            })
            .await
    }

    async fn retire_signing_key(
        &self,
        kid: &str,
        actor: &Actor,
    ) -> Result<RetireOutcome, StoreError> {
        let (kid, actor) = (kid.to_owned(), actor.clone());
        self.writer
            .write(move |conn| {
                let outcome = signing_keys::retire(conn, &kid)?;
                if outcome == RetireOutcome::Retired {
                    let action = AuditAction::SigningKeyRetire;
                    audit::insert(conn, &log::signing_key(action, &actor, &kid))?;
                }
                Ok(outcome)
            })
            .await
    }
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn audit_log(
        &self,
        account: AccountId,
        query: AuditQuery,
    ) -> Result<Page<AuditRecord>, StoreError> {
        self.read(move |conn| audit::list(conn, account, query))
            .await
    }
}

#[async_trait]
impl DumpStore for SqliteStore {
    async fn export(&self, sink: tokio::sync::mpsc::Sender<DumpChunk>) -> Result<(), StoreError> {
        self.read(move |conn| dump::export(conn, &sink)).await
    }

    async fn import(&self, chunk: DumpChunk) -> Result<(), StoreError> {
        self.writer
            .write(move |conn| dump::import(conn, &chunk))
            .await
    }

    async fn import_finished(&self) -> Result<(), StoreError> {
        // Imported users bypassed the writer's cache; make sure it holds none of them.
        if let Ok(mut users) = self.users.lock() {
            *users = UserCache::new(USER_CACHE_CAPACITY);
        }
        Ok(())
    }
}

#[async_trait]
impl DashboardStore for SqliteStore {
    async fn risk_overview(
        &self,
        account: AccountId,
        since: chrono::NaiveDate,
    ) -> Result<RiskOverview, StoreError> {
        self.read(move |conn| dashboard::risk_overview(conn, account, since))
            .await
    }

    async fn find_users(
        &self,
        account: AccountId,
        filter: UserFilter,
        query: SummaryQuery,
    ) -> Result<Page<UserSummary>, StoreError> {
        self.read(move |conn| dashboard::find_users(conn, account, filter, query))
            .await
    }

    async fn create_session(&self, session: DashboardSession) -> Result<(), StoreError> {
        // Durable: the browser holds the cookie once this returns.
        self.writer
            .write(move |conn| dashboard::create_session(conn, &session))
            .await
    }

    async fn session(
        &self,
        id_hash: &SecretHash,
        now: DateTime<Utc>,
    ) -> Result<Option<DashboardSession>, StoreError> {
        let id_hash = *id_hash;
        self.read(move |conn| dashboard::session(conn, &id_hash, now))
            .await
    }

    async fn delete_session(&self, id_hash: &SecretHash) -> Result<(), StoreError> {
        // Durable: a signed-out session must not come back after a power loss. The commit
        // moves the generation, as every commit of the writer does.
        let id_hash = *id_hash;
        self.writer
            .write(move |conn| dashboard::delete_session(conn, &id_hash))
            .await
    }

    async fn prune_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        // Expired sessions are refused by `session` anyway: losing a prune loses nothing.
        self.writer
            .write_relaxed(move |conn| dashboard::prune_sessions(conn, now))
            .await
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn generation(&self) -> u64 {
        self.changes.generation()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }
}

#[cfg(test)]
mod tests;
