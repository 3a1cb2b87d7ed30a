//! Request and response types of every endpoint.
//!
//! Most are the shared wire types of `ztrisk-types`, re-exported; the aliases named like the
//! official Python SDK's classes (`BehaviourUpdateParams`, `SummaryGetResponse`...) make its
//! documentation translate line by line.

pub use ztrisk_types::{
    AuditAction, AuditEntry, Behavior, BehaviorSetting, Behaviors, BehaviorsUpdate, Code, Delivery,
    DeliveryStatus, Direction, ErrorChainItem, ErrorItem, ErrorSource, IngestResult, Integration,
    IntegrationCreate, IntegrationStream, IntegrationType, IntegrationUpdate, InvalidRiskLevel,
    OKTA, RejectedEvent, ResultInfo, RiskEvent, RiskEventOrder, RiskLevel, StreamBacklog,
    StreamDeliveryMethod, StreamStatus, SummaryOrder, SummaryResult, SummaryUser,
    TokenVerifyResult, UserRiskResult, Webhook, WebhookFields, WebhookFormat, WebhookTestResult,
};

/// Parameters of `behaviours().update()` (Python: `BehaviourUpdateParams`).
pub type BehaviourUpdateParams = BehaviorsUpdate;
/// Result of `behaviours().get()` (Python: `BehaviourGetResponse`).
pub type BehaviourGetResponse = Behaviors;
/// Result of `behaviours().update()` (Python: `BehaviourUpdateResponse`).
pub type BehaviourUpdateResponse = Behaviors;
/// Result of `summary().get()` (Python: `SummaryGetResponse`).
pub type SummaryGetResponse = SummaryResult;
/// Result of `risk_scoring().get()` (Python: `RiskScoringGetResponse`).
pub type RiskScoringGetResponse = UserRiskResult;
/// Parameters of `integrations().create()` (Python: `IntegrationCreateParams`).
pub type IntegrationCreateParams = IntegrationCreate;
/// Parameters of `integrations().update()` (Python: `IntegrationUpdateParams`).
pub type IntegrationUpdateParams = IntegrationUpdate;

/// Parameters of `webhooks().create()` (ztrisk): `url`, and optionally `active`, `format`
/// (a [`WebhookFormat`] spelling) and `min_level`.
pub type WebhookCreateParams = WebhookFields;
/// Parameters of `webhooks().update()` (ztrisk): every field is overwritten, an omitted one
/// takes its default.
pub type WebhookUpdateParams = WebhookFields;

/// Paging of the deliveries of a webhook or an integration (ztrisk). The answer is always
/// paged (25 a page by default) and carries `result_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveriesParams {
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Deliveries per page, 1 to 1000.
    pub per_page: Option<u32>,
}

/// Paging and filters of the audit log (ztrisk). The answer is always paged (25 a page by
/// default), newest first, and carries `result_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuditParams {
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Entries per page, 1 to 1000.
    pub per_page: Option<u32>,
    /// Only entries at or after this time.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Only entries of this action.
    pub action: Option<AuditAction>,
}

/// Paging and order of GET `/summary` (Cloudflare's older optional parameters, which ztrisk
/// honours). With `page` or `per_page`, the answer carries `result_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SummaryParams {
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Users per page, 1 to 1000.
    pub per_page: Option<u32>,
    /// Sort key.
    pub order_by: Option<SummaryOrder>,
    /// Sort direction.
    pub direction: Option<Direction>,
}

/// Paging and order of a user's risk events in GET `/{user_id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UserParams {
    /// Page number, from 1.
    pub page: Option<u32>,
    /// Risk events per page, 1 to 1000.
    pub per_page: Option<u32>,
    /// Sort key.
    pub order_by: Option<RiskEventOrder>,
    /// Sort direction.
    pub direction: Option<Direction>,
}
