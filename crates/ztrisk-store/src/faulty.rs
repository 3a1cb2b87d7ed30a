//! A store that fails on behavior reads, to prove 500s are answered without leaking details
//! (`testing` feature).

use crate::model::{
    Account, Actor, ApiUser, AuditQuery, AuditRecord, DashboardSession, DeliveryRecord,
    DeliveryTask, Destination, ExpiryOutcome, IngestOutcome, Integration, IntegrationFields,
    NewToken, OutboxStats, Page, Paging, PollOutcome, PollRequest, RetireOutcome, RiskOverview,
    Settled, StoredSigningKey, Stream, StreamBacklog, StreamEvent, StreamFields, StreamStatus,
    SummaryQuery, TokenRecord, UserEventsQuery, UserFilter, UserRisk, UserSummary, Webhook,
    WebhookFields,
};
use crate::{
    AuditStore, BehaviorStore, CredentialStore, DashboardStore, DumpStore, IntegrationStore,
    OutboxStore, RiskStore, SigningKeyStore, Store, StoreError, StreamStore, WebhookStore,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;
use ztrisk_core::behaviors::{AccountBehaviors, BehaviorUpdate};
use ztrisk_core::credentials::SecretHash;
use ztrisk_core::events::Event;
use ztrisk_core::{AccountId, RiskLevel};

/// A detail that must appear in logs only, never in a response.
pub const SECRET_DETAIL: &str = "disk I/O error at /var/lib/secret-path";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    Error,
    Panic,
}

pub struct FaultyStore {
    inner: Arc<dyn Store>,
    fault: Fault,
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn Store>, fault: Fault) -> Self {
        Self { inner, fault }
    }

    fn trip(&self) -> Result<(), StoreError> {
        match self.fault {
            Fault::None => Ok(()),
            Fault::Error => Err(StoreError::Backend(SECRET_DETAIL.into())),
            Fault::Panic => panic!("{SECRET_DETAIL}"),
        }
    }
}

#[async_trait]
impl CredentialStore for FaultyStore {
    async fn bootstrap(
        &self,
        name: &str,
        token: NewToken,
    ) -> Result<Option<(Account, TokenRecord)>, StoreError> {
        self.inner.bootstrap(name, token).await
    }

    async fn create_account(&self, name: &str, actor: &Actor) -> Result<Account, StoreError> {
        self.inner.create_account(name, actor).await
    }

    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.inner.list_accounts().await
    }

    async fn create_token(
        &self,
        token: NewToken,
        actor: &Actor,
    ) -> Result<TokenRecord, StoreError> {
        self.inner.create_token(token, actor).await
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        self.inner.list_tokens().await
    }

    async fn revoke_token(&self, id: &str, actor: &Actor) -> Result<bool, StoreError> {
        self.inner.revoke_token(id, actor).await
    }

    async fn token_by_hash(&self, hash: &SecretHash) -> Result<Option<TokenRecord>, StoreError> {
        self.inner.token_by_hash(hash).await
    }

    async fn set_api_key(
        &self,
        email: &str,
        hash: SecretHash,
        accounts: &[AccountId],
        actor: &Actor,
    ) -> Result<ApiUser, StoreError> {
        self.inner.set_api_key(email, hash, accounts, actor).await
    }

    async fn api_user(&self, email: &str) -> Result<Option<ApiUser>, StoreError> {
        self.inner.api_user(email).await
    }

    async fn list_api_users(&self) -> Result<Vec<ApiUser>, StoreError> {
        self.inner.list_api_users().await
    }

    async fn revoke_api_key(&self, email: &str, actor: &Actor) -> Result<bool, StoreError> {
        self.inner.revoke_api_key(email, actor).await
    }
}

#[async_trait]
impl BehaviorStore for FaultyStore {
    async fn behaviors(&self, account: AccountId) -> Result<AccountBehaviors, StoreError> {
        self.trip()?;
        self.inner.behaviors(account).await
    }

    async fn update_behaviors(
        &self,
        account: AccountId,
        update: BehaviorUpdate,
        actor: &Actor,
    ) -> Result<AccountBehaviors, StoreError> {
        self.trip()?;
        self.inner.update_behaviors(account, update, actor).await
    }
}

#[async_trait]
impl RiskStore for FaultyStore {
    async fn ingest(
        &self,
        account: AccountId,
        events: Vec<Event>,
        actor: &Actor,
    ) -> Result<IngestOutcome, StoreError> {
        self.inner.ingest(account, events, actor).await
    }

    async fn summary(
        &self,
        account: AccountId,
        query: SummaryQuery,
    ) -> Result<Page<UserSummary>, StoreError> {
        self.trip()?;
        self.inner.summary(account, query).await
    }

    async fn user_risk(
        &self,
        account: AccountId,
        user: Uuid,
        query: UserEventsQuery,
    ) -> Result<Option<UserRisk>, StoreError> {
        self.inner.user_risk(account, user, query).await
    }

    async fn stream_summary(
        &self,
        account: AccountId,
        query: SummaryQuery,
        sink: tokio::sync::mpsc::Sender<Vec<UserSummary>>,
    ) -> Result<(), StoreError> {
        self.trip()?;
        self.inner.stream_summary(account, query, sink).await
    }

    async fn stream_user_risk(
        &self,
        account: AccountId,
        user_id: Uuid,
        query: UserEventsQuery,
        sink: tokio::sync::mpsc::Sender<crate::model::UserRiskChunk>,
    ) -> Result<(), StoreError> {
        self.inner
            .stream_user_risk(account, user_id, query, sink)
            .await
    }

    async fn reset_user(
        &self,
        account: AccountId,
        user: Uuid,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        self.inner.reset_user(account, user, actor).await
    }

    async fn users_by_level(&self) -> Result<Vec<(RiskLevel, u64)>, StoreError> {
        self.inner.users_by_level().await
    }

    async fn user_level(
        &self,
        account: AccountId,
        email: &str,
    ) -> Result<Option<RiskLevel>, StoreError> {
        self.inner.user_level(account, email).await
    }

    async fn expire_risk(&self, now: i64, limit: usize) -> Result<ExpiryOutcome, StoreError> {
        self.inner.expire_risk(now, limit).await
    }

    async fn confirm_compromised(
        &self,
        account: AccountId,
        user: Uuid,
        evidence: serde_json::Value,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        self.inner
            .confirm_compromised(account, user, evidence, actor)
            .await
    }
}

#[async_trait]
impl IntegrationStore for FaultyStore {
    async fn list_integrations(&self, account: AccountId) -> Result<Vec<Integration>, StoreError> {
        self.inner.list_integrations(account).await
    }

    async fn create_integration(
        &self,
        account: AccountId,
        fields: IntegrationFields,
        actor: &Actor,
    ) -> Result<Integration, StoreError> {
        self.inner.create_integration(account, fields, actor).await
    }

    async fn integration(
        &self,
        account: AccountId,
        id: Uuid,
    ) -> Result<Option<Integration>, StoreError> {
        self.inner.integration(account, id).await
    }

    async fn integration_by_reference(
        &self,
        account: AccountId,
        reference: &str,
    ) -> Result<Option<Integration>, StoreError> {
        self.inner
            .integration_by_reference(account, reference)
            .await
    }

    async fn integration_by_id(&self, id: Uuid) -> Result<Option<Integration>, StoreError> {
        self.inner.integration_by_id(id).await
    }
    async fn update_integration(
        &self,
        account: AccountId,
        id: Uuid,
        fields: IntegrationFields,
        actor: &Actor,
    ) -> Result<Option<Integration>, StoreError> {
        self.inner
            .update_integration(account, id, fields, actor)
            .await
    }

    async fn delete_integration(
        &self,
        account: AccountId,
        id: Uuid,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        self.inner.delete_integration(account, id, actor).await
    }
}

#[async_trait]
impl WebhookStore for FaultyStore {
    async fn list_webhooks(&self, account: AccountId) -> Result<Vec<Webhook>, StoreError> {
        self.inner.list_webhooks(account).await
    }
    async fn create_webhook(
        &self,
        account: AccountId,
        fields: WebhookFields,
        secret: String,
        actor: &Actor,
    ) -> Result<Webhook, StoreError> {
        self.inner
            .create_webhook(account, fields, secret, actor)
            .await
    }
    async fn webhook(&self, account: AccountId, id: Uuid) -> Result<Option<Webhook>, StoreError> {
        self.inner.webhook(account, id).await
    }
    async fn update_webhook(
        &self,
        account: AccountId,
        id: Uuid,
        fields: WebhookFields,
        actor: &Actor,
    ) -> Result<Option<Webhook>, StoreError> {
        self.inner.update_webhook(account, id, fields, actor).await
    }
    async fn delete_webhook(
        &self,
        account: AccountId,
        id: Uuid,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        self.inner.delete_webhook(account, id, actor).await
    }
}

#[async_trait]
impl StreamStore for FaultyStore {
    async fn stream(&self, account: AccountId, id: Uuid) -> Result<Option<Stream>, StoreError> {
        self.inner.stream(account, id).await
    }
    async fn create_stream(
        &self,
        account: AccountId,
        id: Uuid,
        fields: StreamFields,
        actor: &Actor,
    ) -> Result<Stream, StoreError> {
        self.inner.create_stream(account, id, fields, actor).await
    }
    async fn update_stream(
        &self,
        account: AccountId,
        id: Uuid,
        fields: StreamFields,
        actor: &Actor,
    ) -> Result<Option<Stream>, StoreError> {
        self.inner.update_stream(account, id, fields, actor).await
    }
    async fn delete_stream(
        &self,
        account: AccountId,
        id: Uuid,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        self.inner.delete_stream(account, id, actor).await
    }
    async fn set_stream_status(
        &self,
        account: AccountId,
        id: Uuid,
        status: StreamStatus,
        reason: Option<String>,
        actor: &Actor,
    ) -> Result<Option<Stream>, StoreError> {
        self.inner
            .set_stream_status(account, id, status, reason, actor)
            .await
    }
    async fn queue_stream_event(
        &self,
        account: AccountId,
        id: Uuid,
        event: StreamEvent,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        self.inner
            .queue_stream_event(account, id, event, actor)
            .await
    }
    async fn set_subject_removed(
        &self,
        account: AccountId,
        id: Uuid,
        email: &str,
        removed: bool,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        self.inner
            .set_subject_removed(account, id, email, removed, actor)
            .await
    }
    async fn stream_backlog(
        &self,
        account: AccountId,
        id: Uuid,
    ) -> Result<StreamBacklog, StoreError> {
        self.inner.stream_backlog(account, id).await
    }
    async fn poll_stream(
        &self,
        account: AccountId,
        id: Uuid,
        request: PollRequest,
        now: DateTime<Utc>,
    ) -> Result<PollOutcome, StoreError> {
        self.inner.poll_stream(account, id, request, now).await
    }
    async fn keep_payloads(&self, payloads: Vec<(i64, Vec<u8>)>) -> Result<(), StoreError> {
        self.inner.keep_payloads(payloads).await
    }
}

#[async_trait]
impl OutboxStore for FaultyStore {
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<DeliveryTask>, StoreError> {
        self.inner.claim_deliveries(now, lease, limit).await
    }
    async fn finish_deliveries(
        &self,
        now: DateTime<Utc>,
        settled: Vec<Settled>,
    ) -> Result<(), StoreError> {
        self.inner.finish_deliveries(now, settled).await
    }
    async fn deliveries(
        &self,
        account: AccountId,
        destination: Destination,
        paging: Paging,
    ) -> Result<Option<Page<DeliveryRecord>>, StoreError> {
        self.inner.deliveries(account, destination, paging).await
    }
    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.prune_deliveries(before).await
    }
    async fn next_delivery_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.inner.next_delivery_due().await
    }
    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        self.inner.outbox_stats().await
    }
}

#[async_trait]
impl SigningKeyStore for FaultyStore {
    async fn signing_keys(&self) -> Result<Vec<StoredSigningKey>, StoreError> {
        self.inner.signing_keys().await
    }
    async fn add_first_signing_key(
        &self,
        kid: &str,
        private_key: Vec<u8>,
        actor: &Actor,
    ) -> Result<bool, StoreError> {
        self.inner
            .add_first_signing_key(kid, private_key, actor)
            .await
    }
    async fn rotate_signing_key(
        &self,
        kid: &str,
        private_key: Vec<u8>,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        self.inner.rotate_signing_key(kid, private_key, actor).await
    }
    async fn retire_signing_key(
        &self,
        kid: &str,
        actor: &Actor,
    ) -> Result<RetireOutcome, StoreError> {
        self.inner.retire_signing_key(kid, actor).await
    }
}

#[async_trait]
impl AuditStore for FaultyStore {
    async fn audit_log(
        &self,
        account: AccountId,
        query: AuditQuery,
    ) -> Result<Page<AuditRecord>, StoreError> {
        self.inner.audit_log(account, query).await
    }
}

#[async_trait]
impl DumpStore for FaultyStore {
    async fn export(
        &self,
        sink: tokio::sync::mpsc::Sender<crate::dump::DumpChunk>,
    ) -> Result<(), StoreError> {
        self.inner.export(sink).await
    }

    async fn import(&self, chunk: crate::dump::DumpChunk) -> Result<(), StoreError> {
        self.inner.import(chunk).await
    }

    async fn import_finished(&self) -> Result<(), StoreError> {
        self.inner.import_finished().await
    }
}

#[async_trait]
impl DashboardStore for FaultyStore {
    async fn risk_overview(
        &self,
        account: AccountId,
        since: chrono::NaiveDate,
    ) -> Result<RiskOverview, StoreError> {
        self.inner.risk_overview(account, since).await
    }

    async fn find_users(
        &self,
        account: AccountId,
        filter: UserFilter,
        query: SummaryQuery,
    ) -> Result<Page<UserSummary>, StoreError> {
        self.inner.find_users(account, filter, query).await
    }

    async fn create_session(&self, session: DashboardSession) -> Result<(), StoreError> {
        self.inner.create_session(session).await
    }

    async fn session(
        &self,
        id_hash: &SecretHash,
        now: DateTime<Utc>,
    ) -> Result<Option<DashboardSession>, StoreError> {
        self.inner.session(id_hash, now).await
    }

    async fn delete_session(&self, id_hash: &SecretHash) -> Result<(), StoreError> {
        self.inner.delete_session(id_hash).await
    }

    async fn prune_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.inner.prune_sessions(now).await
    }
}

#[async_trait]
impl Store for FaultyStore {
    fn generation(&self) -> u64 {
        self.inner.generation()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}
