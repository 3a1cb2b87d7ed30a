//! Wire types of the Cloudflare `zt_risk_scoring` API as ztrisk serves it.
//!
//! Only shapes live here: no validation, no IO. The server and the Rust client share them, so a
//! field renamed here is renamed on both sides of the wire at once.
//!
//! Response types decode leniently (a `null` list or string reads as empty, a `null` level or
//! time as `None`), so the same types read both ztrisk's and Cloudflare's answers.

mod audit;
mod behavior_update;
mod behaviors;
mod codes;
mod envelope;
mod events;
mod integrations;
mod lenient;
#[cfg(feature = "openapi")]
mod openapi;
mod ops;
mod risk_level;
mod sharing;
pub mod ssf;
mod tokens;
mod users;
mod vocab;

pub use audit::AuditEntry;
pub use behavior_update::{BehaviorSetting, BehaviorsUpdate};
pub use behaviors::{Behavior, Behaviors};
pub use codes::Code;
pub use envelope::{Envelope, ErrorChainItem, ErrorItem, ErrorSource, ResultInfo};
pub use events::{EVENT_TYPES, EventInput, EventLocation, EventUser, IngestResult, RejectedEvent};
pub use integrations::{Integration, IntegrationCreate, IntegrationUpdate};
pub use ops::{Empty, Status};
pub use risk_level::{InvalidRiskLevel, RiskLevel};
pub use sharing::{
    Delivery, IntegrationStream, StreamBacklog, Webhook, WebhookFields, WebhookTestResult,
};
pub use tokens::TokenVerifyResult;
pub use users::{Decision, RiskEvent, SummaryResult, SummaryUser, UserRiskResult};
pub use vocab::{
    AuditAction, DeliveryStatus, Direction, IntegrationType, OKTA, RiskEventOrder,
    StreamDeliveryMethod, StreamStatus, SummaryOrder, Vocabulary, WebhookFormat,
};
