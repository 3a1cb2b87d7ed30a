//! Validation of one event (see the table in the parent module).
//!
//! The happy path allocates only what the [`Event`] keeps (its strings); pointers are static
//! and messages are built only for errors.

use super::{Event, EventKind, Location, LocationSource, PostureProvider, UserRef};
use crate::credentials::is_email_shaped;
use crate::{BehaviorId, FieldError};
use serde_json::{Map, Value};

const TYPES: &str = "one of \"access_login\", \"dlp_match\", \"device_posture\", \"gateway_file\", \"gateway_dns\", \"behavior\"";
const TIMESTAMP: &str = "an RFC 3339 date-time string such as \"2026-11-24T10:00:00Z\"";
use super::MAX_ID_CHARS;
const MAX_NAME_CHARS: usize = 256;

pub(super) fn event(value: &Value) -> Result<Event, Vec<FieldError>> {
    let Some(obj) = value.as_object() else {
        return Err(vec![FieldError::new(
            "",
            "expected a JSON object: an event with `type`, `timestamp`, `user` and the fields of its type",
        )]);
    };
    let mut p = Parser { errors: Vec::new() };

    let id = p.opt_str(obj, "id", "/id", "a string of 1 to 128 characters");
    let id = id.and_then(|s| {
        if !s.is_empty() && (s.len() <= MAX_ID_CHARS || s.chars().count() <= MAX_ID_CHARS) {
            Some(s.to_owned())
        } else {
            p.error("/id", "expected a string of 1 to 128 characters");
            None
        }
    });
    let timestamp = p.timestamp(obj);
    let user = p.user(obj);
    let kind = match obj.get("type") {
        None | Some(Value::Null) => {
            p.error("/type", format!("`type` is required: {TYPES}"));
            None
        }
        Some(Value::String(t)) => match t.as_str() {
            "access_login" => p.access_login(obj),
            "dlp_match" => p.dlp_match(obj),
            "device_posture" => p.device_posture(obj),
            "gateway_file" => p.gateway_file(obj),
            "gateway_dns" => p.gateway_dns(obj),
            "behavior" => p.behavior(obj),
            other => {
                p.error("/type", format!("expected {TYPES}, got {other:?}"));
                None
            }
        },
        Some(_) => {
            p.error("/type", format!("expected {TYPES}"));
            None
        }
    };

    match (timestamp, user, kind) {
        (Some(timestamp), Some(user), Some(kind)) if p.errors.is_empty() => Ok(Event {
            id,
            timestamp,
            user,
            kind,
        }),
        _ => Err(p.errors),
    }
}

struct Parser {
    errors: Vec<FieldError>,
}

/// `value` as an unsigned integer: a JSON integer, or a float with no fraction.
fn as_uint(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < u64::MAX as f64)
                .map(|f| f as u64)
        }),
        _ => None,
    }
}

impl Parser {
    fn error(&mut self, pointer: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(pointer, message));
    }

    /// A field that must be present (and not `null`).
    fn required<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        key: &str,
        pointer: &str,
        expected: &str,
    ) -> Option<&'v Value> {
        match obj.get(key) {
            None | Some(Value::Null) => {
                self.error(pointer, format!("`{key}` is required: {expected}"));
                None
            }
            Some(v) => Some(v),
        }
    }

    /// A required non-empty string.
    fn req_str<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        key: &str,
        pointer: &str,
    ) -> Option<&'v str> {
        match self.required(obj, key, pointer, "a non-empty string")? {
            Value::String(s) if !s.is_empty() => Some(s),
            _ => {
                self.error(pointer, "expected a non-empty string");
                None
            }
        }
    }

    /// An optional string (absent or `null`: `None`); `expected` describes it for the error.
    fn opt_str<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        key: &str,
        pointer: &str,
        expected: &str,
    ) -> Option<&'v str> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                self.error(pointer, format!("expected {expected}"));
                None
            }
        }
    }

    fn opt_string(&mut self, obj: &Map<String, Value>, key: &str, pointer: &str) -> Option<String> {
        self.opt_str(obj, key, pointer, "a string")
            .map(str::to_owned)
    }

    fn timestamp(&mut self, obj: &Map<String, Value>) -> Option<i64> {
        match self.required(obj, "timestamp", "/timestamp", TIMESTAMP)? {
            Value::String(s) => match chrono::DateTime::parse_from_rfc3339(s) {
                // An offset can carry 0000-01-01 or 9999-12-31 out of the years RFC 3339 can
                // write in UTC, which is how the time is shown and sent again.
                Ok(t) if (0..=9999).contains(&chrono::Datelike::year(&t.naive_utc())) => {
                    Some(t.timestamp_millis())
                }
                Ok(_) => {
                    self.error(
                        "/timestamp",
                        format!("expected {TIMESTAMP} from the years 0000 to 9999 once in UTC, got {s:?}"),
                    );
                    None
                }
                Err(_) => {
                    self.error("/timestamp", format!("expected {TIMESTAMP}, got {s:?}"));
                    None
                }
            },
            _ => {
                self.error("/timestamp", format!("expected {TIMESTAMP}"));
                None
            }
        }
    }

    fn user(&mut self, obj: &Map<String, Value>) -> Option<UserRef> {
        const EXPECTED: &str = "an object with `email` and optional `id` (a UUID) and `name`";
        let user = match self.required(obj, "user", "/user", EXPECTED)? {
            Value::Object(user) => user,
            _ => {
                self.error("/user", format!("expected {EXPECTED}"));
                return None;
            }
        };
        let before = self.errors.len();
        let email = match self.required(user, "email", "/user/email", "an email address")? {
            Value::String(s) => {
                let email = lowered_email(s);
                if email.is_none() {
                    self.error(
                        "/user/email",
                        format!(
                            "expected an email address such as \"user@example.com\", got {s:?}"
                        ),
                    );
                }
                email
            }
            _ => {
                self.error("/user/email", "expected an email address (a string)");
                None
            }
        };
        let id = self
            .opt_str(user, "id", "/user/id", "a UUID string")
            .and_then(|s| match uuid::Uuid::try_parse(s) {
                Ok(id) => Some(id),
                Err(_) => {
                    self.error("/user/id", format!("expected a UUID string, got {s:?}"));
                    None
                }
            });
        let name = self
            .opt_str(
                user,
                "name",
                "/user/name",
                "a string of at most 256 characters",
            )
            .and_then(|s| {
                if s.len() <= MAX_NAME_CHARS || s.chars().count() <= MAX_NAME_CHARS {
                    Some(s.to_owned())
                } else {
                    self.error("/user/name", "expected a string of at most 256 characters");
                    None
                }
            });
        if self.errors.len() > before {
            return None;
        }
        Some(UserRef {
            email: email?,
            id,
            name,
            external_id: None,
        })
    }

    fn access_login(&mut self, obj: &Map<String, Value>) -> Option<EventKind> {
        let before = self.errors.len();
        let success = match self.required(obj, "success", "/success", "a boolean") {
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.error("/success", "expected a boolean");
                None
            }
            None => None,
        };
        let ip = self
            .opt_str(obj, "ip", "/ip", "an IPv4 or IPv6 address (a string)")
            .and_then(|s| match s.parse() {
                Ok(ip) => Some(ip),
                Err(_) => {
                    self.error(
                        "/ip",
                        format!("expected an IPv4 or IPv6 address, got {s:?}"),
                    );
                    None
                }
            });
        let location = match obj.get("location") {
            None | Some(Value::Null) => None,
            Some(Value::Object(loc)) => self.location(loc),
            Some(_) => {
                self.error(
                    "/location",
                    "expected an object {\"lat\", \"lon\", \"country\"?, \"city\"?}",
                );
                None
            }
        };
        let app = self.opt_string(obj, "app", "/app");
        if self.errors.len() > before {
            return None;
        }
        Some(EventKind::AccessLogin {
            success: success?,
            ip,
            location,
            app,
        })
    }

    fn location(&mut self, loc: &Map<String, Value>) -> Option<Location> {
        let lat = self.coordinate(loc, "lat", "/location/lat", 90.0);
        let lon = self.coordinate(loc, "lon", "/location/lon", 180.0);
        let country = self.opt_string(loc, "country", "/location/country");
        let city = self.opt_string(loc, "city", "/location/city");
        Some(Location {
            lat: lat?,
            lon: lon?,
            country,
            city,
            source: LocationSource::Sender,
        })
    }

    fn coordinate(
        &mut self,
        loc: &Map<String, Value>,
        key: &str,
        pointer: &str,
        limit: f64,
    ) -> Option<f64> {
        let expected = || format!("a number from -{limit} to {limit}");
        let value = match loc.get(key) {
            None | Some(Value::Null) => {
                self.error(pointer, format!("`{key}` is required: {}", expected()));
                return None;
            }
            Some(v) => v,
        };
        match value.as_f64() {
            Some(x) if (-limit..=limit).contains(&x) => Some(x),
            Some(x) => {
                self.error(pointer, format!("expected {}, got {x}", expected()));
                None
            }
            None => {
                self.error(pointer, format!("expected {}", expected()));
                None
            }
        }
    }

    fn dlp_match(&mut self, obj: &Map<String, Value>) -> Option<EventKind> {
        let profile = self.req_str(obj, "profile", "/profile");
        let policy = self.opt_string(obj, "policy", "/policy");
        Some(EventKind::DlpMatch {
            profile: profile?.to_owned(),
            policy,
        })
    }

    fn device_posture(&mut self, obj: &Map<String, Value>) -> Option<EventKind> {
        const PROVIDERS: &str = "one of \"sentinel_one\", \"crowdstrike\"";
        let before = self.errors.len();
        let provider = match self.required(obj, "provider", "/provider", PROVIDERS) {
            Some(Value::String(s)) if s == "sentinel_one" => Some(PostureProvider::SentinelOne),
            Some(Value::String(s)) if s == "crowdstrike" => Some(PostureProvider::CrowdStrike),
            Some(Value::String(s)) => {
                self.error("/provider", format!("expected {PROVIDERS}, got {s:?}"));
                None
            }
            Some(_) => {
                self.error("/provider", format!("expected {PROVIDERS}"));
                None
            }
            None => None,
        };
        let device_id = self.req_str(obj, "device_id", "/device_id");
        let active_threats = match obj.get("active_threats") {
            None | Some(Value::Null) => None,
            Some(v) => match as_uint(v).and_then(|n| u32::try_from(n).ok()) {
                Some(n) => Some(n),
                None => {
                    self.error(
                        "/active_threats",
                        format!("expected an integer from 0 to {}", u32::MAX),
                    );
                    None
                }
            },
        };
        let zta_score = match obj.get("zta_score") {
            None | Some(Value::Null) => None,
            Some(v) => match as_uint(v).filter(|n| *n <= 100) {
                Some(n) => Some(n as u8),
                None => {
                    self.error("/zta_score", "expected an integer from 0 to 100");
                    None
                }
            },
        };
        if self.errors.len() > before {
            return None;
        }
        Some(EventKind::DevicePosture {
            provider: provider?,
            device_id: device_id?.to_owned(),
            active_threats,
            zta_score,
        })
    }

    fn gateway_file(&mut self, obj: &Map<String, Value>) -> Option<EventKind> {
        let before = self.errors.len();
        let verdict = self.req_str(obj, "verdict", "/verdict");
        let action = self.req_str(obj, "action", "/action");
        let file_name = self.opt_string(obj, "file_name", "/file_name");
        let sha256 = self
            .opt_str(obj, "sha256", "/sha256", "64 hexadecimal digits (a string)")
            .and_then(|s| {
                if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
                    Some(s.to_ascii_lowercase())
                } else {
                    self.error("/sha256", "expected 64 hexadecimal digits");
                    None
                }
            });
        if self.errors.len() > before {
            return None;
        }
        Some(EventKind::GatewayFile {
            verdict: verdict?.to_owned(),
            action: action?.to_owned(),
            file_name,
            sha256,
        })
    }

    fn gateway_dns(&mut self, obj: &Map<String, Value>) -> Option<EventKind> {
        const EXPECTED: &str = "an array of category names (strings)";
        let before = self.errors.len();
        let query = self.req_str(obj, "query", "/query");
        let categories = match self.required(obj, "categories", "/categories", EXPECTED) {
            Some(Value::Array(items)) => {
                let mut categories = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => categories.push(s.clone()),
                        _ => self.error(
                            &format!("/categories/{i}"),
                            "expected a category name (a string)",
                        ),
                    }
                }
                Some(categories)
            }
            Some(_) => {
                self.error("/categories", format!("expected {EXPECTED}"));
                None
            }
            None => None,
        };
        let action = self.req_str(obj, "action", "/action");
        if self.errors.len() > before {
            return None;
        }
        Some(EventKind::GatewayDns {
            query: query?.to_owned(),
            categories: categories?,
            action: action?.to_owned(),
        })
    }

    fn behavior(&mut self, obj: &Map<String, Value>) -> Option<EventKind> {
        const EXPECTED: &str = "a behavior id: a lowercase letter, then at most 63 lowercase letters, digits or underscores";
        let before = self.errors.len();
        let behavior = match self.required(obj, "behavior", "/behavior", EXPECTED) {
            Some(Value::String(s)) => match s.parse::<BehaviorId>() {
                Ok(id) => Some(id),
                Err(_) => {
                    self.error("/behavior", format!("expected {EXPECTED}, got {s:?}"));
                    None
                }
            },
            Some(_) => {
                self.error("/behavior", format!("expected {EXPECTED}"));
                None
            }
            None => None,
        };
        let details = match obj.get("details") {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(_) => {
                self.error("/details", "expected an object");
                None
            }
        };
        if self.errors.len() > before {
            return None;
        }
        Some(EventKind::Behavior {
            behavior: behavior?,
            details,
        })
    }
}

/// `s` lowercased, when it is an email address before and after: what is kept is checked, and
/// lowercasing can lengthen it (`Ⱥ` is 2 bytes, `ⱥ` 3).
pub(crate) fn lowered_email(s: &str) -> Option<String> {
    is_email_shaped(s)
        .then(|| lowercase(s))
        .filter(|lowered| is_email_shaped(lowered))
}

/// Lowercases without the Unicode machinery when the text is ASCII (the common case).
pub(crate) fn lowercase(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    }
}

#[cfg(test)]
mod tests;
