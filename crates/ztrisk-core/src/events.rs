//! Security events as ztrisk ingests them (`POST .../zt_risk_scoring/events`), parsed and
//! validated once at the edge. See `spec/api.md` section 3.1.
//!
//! [`Event::parse`] checks one event and reports every problem at once, each with a JSON pointer
//! relative to the event (`/timestamp`, `/user/email`, `/location/lat`, `/categories/2`) and a
//! message that says what was expected. Unknown fields are ignored; `null` counts as absent
//! (so a required field that is `null` is reported as missing). The rules:
//!
//! | field | rule |
//! |---|---|
//! | `id` | optional string of 1 to 128 characters |
//! | `type` | required: `access_login`, `dlp_match`, `device_posture`, `gateway_file`, `gateway_dns` or `behavior` |
//! | `timestamp` | required RFC 3339 date-time, any offset, in the years 0000 to 9999 once in UTC; stored as UTC unix milliseconds (finer digits are truncated) |
//! | `user` | required object: `email` (required, email-shaped, stored lowercased), `id` (optional UUID), `name` (optional, at most 256 characters) |
//! | `access_login` | `success` (required boolean), `ip` (optional IPv4/IPv6 address), `location` (optional `{lat: -90..=90, lon: -180..=180, country?, city?}`), `app` (optional string) |
//! | `dlp_match` | `profile` (required), `policy` (optional) |
//! | `device_posture` | `provider` (required: `sentinel_one` or `crowdstrike`), `device_id` (required), `active_threats` (optional integer ≥ 0), `zta_score` (optional integer 0..=100) |
//! | `gateway_file` | `verdict` and `action` (required), `file_name` (optional), `sha256` (optional, 64 hexadecimal digits, stored lowercased) |
//! | `gateway_dns` | `query` and `action` (required), `categories` (required array of strings, possibly empty) |
//! | `behavior` | `behavior` (required behavior id, `^[a-z][a-z0-9_]{0,63}$`), `details` (optional object) |
//!
//! Required strings must be non-empty. Integers may be written as whole floats (`3.0`).

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
    /// The sender's own id for the user when it is not a UUID (an Okta user id such as
    /// `00u1abvz4pYqdM8ms4x6`): kept in the evidence, never used as the key.
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
    pub country: Option<String>,
    pub city: Option<String>,
    /// How the coordinates were found; the evidence says so when it was not the sender.
    pub source: LocationSource,
}

/// Where a login's coordinates came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LocationSource {
    /// The record itself carried them.
    #[default]
    Sender,
    /// ztrisk's GeoIP database (`--geoip`), from the login's IP.
    GeoIp,
    /// The centroid of the record's country: no database, and no coordinates in the record.
    CountryCentroid,
}

impl LocationSource {
    /// The evidence's `location.source`; `None` for [`LocationSource::Sender`].
    pub fn evidence_name(self) -> Option<&'static str> {
        match self {
            LocationSource::Sender => None,
            LocationSource::GeoIp => Some("geoip"),
            LocationSource::CountryCentroid => Some("country_centroid"),
        }
    }
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

impl UserRef {
    /// A user keyed by `email` (lowercased), or `None` when it is not email-shaped (before or
    /// after lowercasing).
    pub fn by_email(email: &str) -> Option<UserRef> {
        parse::lowered_email(email).map(|email| UserRef {
            email,
            id: None,
            name: None,
            external_id: None,
        })
    }
}

/// The longest event id, in characters.
pub const MAX_ID_CHARS: usize = 128;

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

/// Formats unix milliseconds as RFC 3339 in UTC with a `Z` (`2026-11-24T10:00:00Z`, with
/// `.123` when there are milliseconds); `None` outside chrono's range (never for a parsed
/// event).
pub fn format_timestamp(ms: i64) -> Option<String> {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

mod parse;
