use crate::ErrorItem;
use crate::lenient::null_as_default;
use serde::{Deserialize, Serialize};

/// `result` of POST `/events` (ztrisk): what became of a batch of security events.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
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
pub struct RejectedEvent {
    /// Its position in the batch (0-based; NDJSON: among the non-blank lines).
    pub index: u64,
    /// Why, each with a pointer into the batch (`/3/location/lat`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub errors: Vec<ErrorItem>,
}
