//! A store that fails on behavior reads and summaries, to prove 500s are answered without
//! leaking details (feature `testing`). Everything else is forwarded unchanged.

use crate::dump::DumpChunk;
use crate::model::{
    Account, ApiUser, IngestOutcome, Integration, IntegrationFields, NewToken, Page, SummaryQuery,
    TokenRecord, UserEventsQuery, UserRisk, UserSummary,
};
use crate::{Store, StoreError};
use async_trait::async_trait;
use std::sync::Arc;
use uuid::Uuid;
use ztrisk_core::AccountId;
use ztrisk_core::behaviors::{AccountBehaviors, BehaviorUpdate};
use ztrisk_core::credentials::SecretHash;
use ztrisk_core::events::Event;

/// A detail that must appear in logs only, never in a response.
pub const SECRET_DETAIL: &str = "disk I/O error at /var/lib/secret-path";

/// What a [`FaultyStore`] does on `behaviors`, `update_behaviors` and `summary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// Forwards them like every other call.
    #[default]
    None,
    /// Fails them with a backend error whose text is [`SECRET_DETAIL`].
    Error,
    /// Panics with [`SECRET_DETAIL`].
    Panic,
}

/// Another store with [`Fault`]s injected into a few calls.
pub struct FaultyStore {
    inner: Arc<dyn Store>,
    fault: Fault,
}

impl FaultyStore {
    /// Wraps `inner`; with [`Fault::None`] it behaves exactly like `inner`.
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
impl Store for FaultyStore {
    fn generation(&self) -> u64 {
        self.inner.generation()
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
    async fn bootstrap(
        &self,
        name: &str,
        token: NewToken,
    ) -> Result<Option<(Account, TokenRecord)>, StoreError> {
        self.inner.bootstrap(name, token).await
    }
    async fn create_account(&self, name: &str) -> Result<Account, StoreError> {
        self.inner.create_account(name).await
    }
    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.inner.list_accounts().await
    }
    async fn create_token(&self, token: NewToken) -> Result<TokenRecord, StoreError> {
        self.inner.create_token(token).await
    }
    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        self.inner.list_tokens().await
    }
    async fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        self.inner.revoke_token(id).await
    }
    async fn token_by_hash(&self, hash: &SecretHash) -> Result<Option<TokenRecord>, StoreError> {
        self.inner.token_by_hash(hash).await
    }
    async fn set_api_key(
        &self,
        email: &str,
        hash: SecretHash,
        accounts: &[AccountId],
    ) -> Result<ApiUser, StoreError> {
        self.inner.set_api_key(email, hash, accounts).await
    }
    async fn api_user(&self, email: &str) -> Result<Option<ApiUser>, StoreError> {
        self.inner.api_user(email).await
    }
    async fn list_api_users(&self) -> Result<Vec<ApiUser>, StoreError> {
        self.inner.list_api_users().await
    }
    async fn revoke_api_key(&self, email: &str) -> Result<bool, StoreError> {
        self.inner.revoke_api_key(email).await
    }
    async fn behaviors(&self, account: AccountId) -> Result<AccountBehaviors, StoreError> {
        self.trip()?;
        self.inner.behaviors(account).await
    }
    async fn update_behaviors(
        &self,
        account: AccountId,
        update: BehaviorUpdate,
    ) -> Result<AccountBehaviors, StoreError> {
        self.trip()?;
        self.inner.update_behaviors(account, update).await
    }
    async fn ingest(
        &self,
        account: AccountId,
        events: Vec<Event>,
    ) -> Result<IngestOutcome, StoreError> {
        self.inner.ingest(account, events).await
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
    async fn reset_user(&self, account: AccountId, user: Uuid) -> Result<bool, StoreError> {
        self.inner.reset_user(account, user).await
    }
    async fn list_integrations(&self, account: AccountId) -> Result<Vec<Integration>, StoreError> {
        self.inner.list_integrations(account).await
    }
    async fn create_integration(
        &self,
        account: AccountId,
        fields: IntegrationFields,
    ) -> Result<Integration, StoreError> {
        self.inner.create_integration(account, fields).await
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
    async fn update_integration(
        &self,
        account: AccountId,
        id: Uuid,
        fields: IntegrationFields,
    ) -> Result<Option<Integration>, StoreError> {
        self.inner.update_integration(account, id, fields).await
    }
    async fn delete_integration(&self, account: AccountId, id: Uuid) -> Result<bool, StoreError> {
        self.inner.delete_integration(account, id).await
    }
    async fn export(&self, sink: tokio::sync::mpsc::Sender<DumpChunk>) -> Result<(), StoreError> {
        self.inner.export(sink).await
    }
    async fn import(&self, chunk: DumpChunk) -> Result<(), StoreError> {
        self.inner.import(chunk).await
    }
    async fn import_finished(&self) -> Result<(), StoreError> {
        self.inner.import_finished().await
    }
}
