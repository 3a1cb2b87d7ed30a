use crate::ErrorItem;
use crate::lenient::null_as_default;
use serde::{Deserialize, Serialize};

/// `result` of POST `/events` (ztrisk): what became of a batch of security events.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestResult {
    /// Events stored.
    #[serde(default, deserialize_with = "null_as_default")]
    pub accepted: u64,
    /// Events ignored because an event with the same id was already stored.
    #[serde(default, deserialize_with = "null_as_default")]
    pub duplicates: u64,
    /// Well-formed records that carried no signal (ingest adapters only, spec 5): a logout,
    /// a DNS query in no scored category, a record without a user email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<u64>,
    /// Risk events the accepted events caused.
    #[serde(default, deserialize_with = "null_as_default")]
    pub risk_events: u64,
    /// Events refused, each alone: the others of the batch are kept.
    #[serde(default, deserialize_with = "null_as_default")]
    pub rejected: Vec<RejectedEvent>,
}

/// An event of the batch that was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RejectedEvent {
    /// Its position in the batch (0-based; NDJSON: among the non-blank lines).
    pub index: u64,
    /// Why, each with a pointer into the batch (`/3/location/lat`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub errors: Vec<ErrorItem>,
}

/// The `type`s of native events (spec 3.1), in the order the spec lists them.
pub const EVENT_TYPES: [&str; 6] = [
    "access_login",
    "dlp_match",
    "device_posture",
    "gateway_file",
    "gateway_dns",
    "behavior",
];

/// One native event of POST `/events` (spec 3.1), as clients write it: the common members,
/// and those of each `type` (the server reads only its type's). The server validates events
/// member by member (so that every problem has its pointer); this type describes them for
/// clients and the OpenAPI document.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventInput {
    /// Chosen by the client; with `timestamp`, what makes a retry a duplicate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// One of [`EVENT_TYPES`].
    #[serde(rename = "type")]
    pub event_type: String,
    /// RFC 3339.
    pub timestamp: String,
    pub user: EventUser,
    /// `access_login`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// `access_login`: the client's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// `access_login`: where the login came from (optional with a GeoIP database).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<EventLocation>,
    /// `access_login`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// `dlp_match`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// `dlp_match`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// `device_posture`: `sentinel_one` or `crowdstrike`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// `device_posture`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// `device_posture` (SentinelOne).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_threats: Option<u32>,
    /// `device_posture` (CrowdStrike): 0 to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zta_score: Option<u8>,
    /// `gateway_file`: `malicious`, `clean`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    /// `gateway_file`, `gateway_dns`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// `gateway_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// `gateway_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// `gateway_dns`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// `gateway_dns`: category names or Cloudflare ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<serde_json::Value>>,
    /// `behavior`: the id of the behavior an external detector signals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<String>,
    /// `behavior`: kept as evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// Who an event is about: keyed by email within an account.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventUser {
    pub email: String,
    /// A UUID, kept when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Where a login came from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventLocation {
    pub lat: f64,
    pub lon: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
}
