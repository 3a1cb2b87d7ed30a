//! The JSON evidence of a detection. Only built when something fires.

use crate::events::{Event, EventKind, PostureProvider, format_timestamp};
use serde_json::{Map, Value};

/// `{"behavior": id, "events": [...]}`, to which each detector adds its measurements.
pub(super) fn base<const N: usize>(behavior: &str, events: [Value; N]) -> Map<String, Value> {
    let mut d = Map::new();
    d.insert("behavior".into(), Value::from(behavior));
    d.insert("events".into(), Value::Array(events.into()));
    d
}

/// RFC 3339 UTC text, or the raw milliseconds if chrono cannot represent them.
pub(super) fn timestamp(ms: i64) -> Value {
    format_timestamp(ms).map_or_else(|| Value::from(ms), Value::from)
}

/// A finite number as JSON (whole numbers without a fraction); `null` otherwise.
pub(super) fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        Value::from(x as i64)
    } else {
        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

/// `x` rounded to `decimals` places; `null` if not finite.
pub(super) fn rounded(x: f64, decimals: i32) -> Value {
    let scale = 10f64.powi(decimals);
    number((x * scale).round() / scale)
}

/// An `f32` coordinate as the shortest decimal that reads back as it (51.5074, not
/// 51.50740051269531).
fn coordinate(x: f32) -> Value {
    x.to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// The remembered login, as detection knows it: its time and coordinates.
pub(super) fn remembered_login(ts: i64, lat: f32, lon: f32) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), Value::from("access_login"));
    m.insert("timestamp".into(), timestamp(ts));
    m.insert("success".into(), Value::Bool(true));
    let mut loc = Map::new();
    loc.insert("lat".into(), coordinate(lat));
    loc.insert("lon".into(), coordinate(lon));
    m.insert("location".into(), Value::Object(loc));
    m.into()
}

fn put_opt(m: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        m.insert(key.into(), Value::from(v));
    }
}

/// One input event: `id` if any, `type`, `timestamp` and its own fields.
pub(super) fn event(e: &Event) -> Value {
    let mut m = Map::new();
    put_opt(&mut m, "id", e.id.as_deref());
    m.insert("type".into(), Value::from(e.kind.type_name()));
    m.insert("timestamp".into(), timestamp(e.timestamp));
    put_opt(&mut m, "external_user_id", e.user.external_id.as_deref());
    match &e.kind {
        EventKind::AccessLogin {
            success,
            ip,
            location,
            app,
        } => {
            m.insert("success".into(), Value::Bool(*success));
            if let Some(ip) = ip {
                m.insert("ip".into(), Value::from(ip.to_string()));
            }
            if let Some(l) = location {
                let mut loc = Map::new();
                loc.insert("lat".into(), number(l.lat));
                loc.insert("lon".into(), number(l.lon));
                put_opt(&mut loc, "country", l.country.as_deref());
                put_opt(&mut loc, "city", l.city.as_deref());
                put_opt(&mut loc, "source", l.source.evidence_name());
                m.insert("location".into(), Value::Object(loc));
            }
            put_opt(&mut m, "app", app.as_deref());
        }
        EventKind::DlpMatch { profile, policy } => {
            m.insert("profile".into(), Value::from(profile.as_str()));
            put_opt(&mut m, "policy", policy.as_deref());
        }
        EventKind::DevicePosture {
            provider,
            device_id,
            active_threats,
            zta_score,
        } => {
            let provider = match provider {
                PostureProvider::SentinelOne => "sentinel_one",
                PostureProvider::CrowdStrike => "crowdstrike",
            };
            m.insert("provider".into(), Value::from(provider));
            m.insert("device_id".into(), Value::from(device_id.as_str()));
            if let Some(n) = active_threats {
                m.insert("active_threats".into(), Value::from(*n));
            }
            if let Some(n) = zta_score {
                m.insert("zta_score".into(), Value::from(*n));
            }
        }
        EventKind::GatewayFile {
            verdict,
            action,
            file_name,
            sha256,
        } => {
            m.insert("verdict".into(), Value::from(verdict.as_str()));
            m.insert("action".into(), Value::from(action.as_str()));
            put_opt(&mut m, "file_name", file_name.as_deref());
            put_opt(&mut m, "sha256", sha256.as_deref());
        }
        EventKind::GatewayDns {
            query,
            categories,
            action,
        } => {
            m.insert("query".into(), Value::from(query.as_str()));
            m.insert(
                "categories".into(),
                Value::Array(categories.iter().map(|c| Value::from(c.as_str())).collect()),
            );
            m.insert("action".into(), Value::from(action.as_str()));
        }
        EventKind::Behavior { behavior, details } => {
            m.insert("behavior".into(), Value::from(behavior.as_str()));
            if let Some(details) = details {
                m.insert("details".into(), details.clone());
            }
        }
    }
    Value::Object(m)
}
