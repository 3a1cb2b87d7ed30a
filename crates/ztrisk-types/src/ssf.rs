//! The Shared Signals Framework's vocabulary that ztrisk speaks (SSF 1.0, CAEP 1.0): event
//! types and the delivery methods' aliases.

/// CAEP 1.0's event type for a change of a principal's risk level.
pub const CAEP_RISK_LEVEL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/risk-level-change";
/// SSF 1.0's verification event: the receiver asked to check that the stream works.
pub const SSF_VERIFICATION: &str =
    "https://schemas.openid.net/secevent/ssf/event-type/verification";
/// SSF 1.0's stream-updated event: the stream's status changed.
pub const SSF_STREAM_UPDATED: &str =
    "https://schemas.openid.net/secevent/ssf/event-type/stream-updated";

/// Every event type an SSF stream of ztrisk can carry (`events_supported`).
pub const EVENTS_SUPPORTED: [&str; 3] =
    [CAEP_RISK_LEVEL_CHANGE, SSF_VERIFICATION, SSF_STREAM_UPDATED];

/// Event types a receiver may request: the stream's own events (verification,
/// stream-updated) are sent whether requested or not.
pub fn is_requestable(event_type: &str) -> bool {
    event_type == CAEP_RISK_LEVEL_CHANGE
}

/// Older spellings of the delivery methods, from the RISC profile that SSF grew out of; some
/// receivers still send them. They mean the RFC methods.
pub const RISC_PUSH: &str = "https://schemas.openid.net/secevent/risc/delivery-method/push";
pub const RISC_POLL: &str = "https://schemas.openid.net/secevent/risc/delivery-method/poll";

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A transmitter's metadata (SSF 1.0 section 7.1): the well-known document of an integration.
/// Okta integrations have the first four members only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransmitterMetadata {
    /// `<public_url>/<integration_id>`: the `iss` of every SET of the integration.
    pub issuer: String,
    pub jwks_uri: String,
    /// `"1_0"`.
    pub spec_version: String,
    pub delivery_methods_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_subject_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_subject_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_schemes: Vec<AuthorizationScheme>,
    /// `"ALL"`: every subject is in a stream unless removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_subjects: Option<String>,
}

/// How receivers authenticate (`{"spec_urn": "urn:ietf:rfc:6750"}`: Bearer tokens).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizationScheme {
    pub spec_urn: String,
}

/// A stream's configuration as the transmitter answers it (SSF 1.0 section 8.1.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamConfiguration {
    pub stream_id: String,
    pub iss: String,
    /// The integration's `tenant_url`.
    pub aud: String,
    pub events_supported: Vec<String>,
    pub events_requested: Vec<String>,
    /// The requested types that are transmitted.
    pub events_delivered: Vec<String>,
    pub delivery: StreamDeliveryConfiguration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// How a stream delivers, as answered: the receiver's `authorization_header` is never shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamDeliveryConfiguration {
    /// `urn:ietf:rfc:8935` (push) or `urn:ietf:rfc:8936` (poll).
    pub method: String,
    /// Push: the receiver's URL; poll: ztrisk's poll URL.
    pub endpoint_url: String,
}

/// Body of POST, PATCH and PUT of a stream: what the receiver configures. PATCH and PUT name
/// the stream with `stream_id`; transmitter-supplied members are ignored but `iss` and `aud`,
/// which must be the stream's.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<String>,
    /// Absent: poll.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<StreamDeliveryRequest>,
    /// Absent: every event type that can be requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_requested: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// How the receiver wants its SETs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamDeliveryRequest {
    /// `urn:ietf:rfc:8935` (push) or `urn:ietf:rfc:8936` (poll).
    pub method: String,
    /// Push: where to POST SETs (`https://`, or `http://` to a loopback host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// Push: sent as the `Authorization` header of every SET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_header: Option<String>,
}

/// A stream's status, read or set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamStatusBody {
    pub stream_id: String,
    /// `enabled`, `paused` or `disabled`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Body of POST `/stream/verify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerificationRequest {
    pub stream_id: String,
    /// Echoed in the verification SET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// Body of POST `/stream/subjects/add` and `/stream/subjects/remove`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubjectRequest {
    pub stream_id: String,
    pub subject: EmailSubject,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
}

/// A user, by email (RFC 9493 `{"format": "email", "email": ...}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailSubject {
    /// `"email"`.
    pub format: String,
    pub email: String,
}

/// Body of a poll (RFC 8936 section 2.4).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PollRequest {
    /// SETs to hand out at most (100 when absent, at most 1000); 0 only acknowledges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_events: Option<u64>,
    /// `false` (the default): wait up to 30 s for a SET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_immediately: Option<bool>,
    /// SETs accepted: never handed out again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack: Option<Vec<String>>,
    /// SETs refused, by jti: recorded as failed deliveries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_errs: Option<BTreeMap<String, SetError>>,
}

/// Why a receiver refused a SET (RFC 8935 section 2.4 codes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetError {
    pub err: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Answer to a poll: SETs by jti.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PollResponse {
    pub sets: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub more_available: Option<bool>,
}
