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
