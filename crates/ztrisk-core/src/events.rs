//! Security events as ztrisk ingests them (`POST .../zt_risk_scoring/events`), parsed and
//! validated once at the edge. See `spec/api.md` section 3.1.

use crate::{BehaviorId, FieldError};
use std::net::IpAddr;

/// One validated security event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Client-chosen id; a repeated id in the same account is ignored.
    pub id: Option<String>,
    /// Event time, unix milliseconds (UTC).
    pub timestamp: i64,
    pub user: UserRef,
    pub kind: EventKind,
}

/// Who the event is about. Users are keyed by email within an account.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRef {
    /// Lowercased.
    pub email: String,
    pub id: Option<uuid::Uuid>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
    pub country: Option<String>,
    pub city: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostureProvider {
    SentinelOne,
    CrowdStrike,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    AccessLogin {
        success: bool,
        ip: Option<IpAddr>,
        location: Option<Location>,
        app: Option<String>,
    },
    DlpMatch {
        profile: String,
        policy: Option<String>,
    },
    DevicePosture {
        provider: PostureProvider,
        device_id: String,
        active_threats: Option<u32>,
        zta_score: Option<u8>,
    },
    GatewayFile {
        verdict: String,
        action: String,
        file_name: Option<String>,
        sha256: Option<String>,
    },
    GatewayDns {
        query: String,
        categories: Vec<String>,
        action: String,
    },
    /// Signalled by an external detector: that behavior, predefined or custom.
    Behavior {
        behavior: BehaviorId,
        details: Option<serde_json::Value>,
    },
}

impl EventKind {
    /// The wire name of the event type (`"access_login"`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::AccessLogin { .. } => "access_login",
            EventKind::DlpMatch { .. } => "dlp_match",
            EventKind::DevicePosture { .. } => "device_posture",
            EventKind::GatewayFile { .. } => "gateway_file",
            EventKind::GatewayDns { .. } => "gateway_dns",
            EventKind::Behavior { .. } => "behavior",
        }
    }
}

impl Event {
    /// Validates one event. Pointers are relative to the event itself (`/timestamp`,
    /// `/user/email`, `/location/lat`), so the caller can prefix the event's index.
    pub fn parse(value: &serde_json::Value) -> Result<Event, Vec<FieldError>> {
        parse::event(value)
    }
}

mod parse;
