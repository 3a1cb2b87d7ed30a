//! A risk event's evidence (`event_details`) in words: what happened, measured against what.
//! Pure functions of the JSON, one per kind of detector; anything unrecognised falls back to
//! the facts the JSON names.

use super::time::span;
use serde_json::Value;

/// What a timeline entry says about its evidence.
#[derive(Debug, PartialEq)]
pub struct Evidence {
    /// One sentence: what happened.
    pub headline: String,
    /// Measured values and thresholds, as label and value.
    pub facts: Vec<(String, String)>,
}

pub fn describe(details: &Value) -> Evidence {
    let behavior = details
        .get("behavior")
        .and_then(Value::as_str)
        .unwrap_or("");
    match behavior {
        "imp_travel" => travel(details),
        "high_dlp" => window(details, "DLP policy matches"),
        "failed_logins" => window(details, "failed logins"),
        "sentinel_one" => Evidence {
            headline: format!(
                "SentinelOne reported {} active threat(s) on {}",
                number(details.get("active_threats")),
                device(details)
            ),
            facts: vec![],
        },
        "crowdstrike_low_zta" | "crowdstrike_medium_zta" => {
            let mut facts = vec![(
                "Threshold".to_owned(),
                format!("score at or below {}", number(details.get("max_score"))),
            )];
            if let Some(above) = details.get("above_score") {
                facts.push(("Above".into(), number(Some(above))));
            }
            Evidence {
                headline: format!(
                    "CrowdStrike ZTA score {} on {}",
                    number(details.get("zta_score")),
                    device(details)
                ),
                facts,
            }
        }
        "malicious_file" => {
            let file = first_event(details)
                .and_then(|e| e.get("file_name").or_else(|| e.get("sha256")))
                .and_then(Value::as_str)
                .unwrap_or("a file");
            let action = first_event(details)
                .and_then(|e| e.get("action"))
                .and_then(Value::as_str);
            Evidence {
                headline: format!(
                    "Interacted with {file}, judged malicious{}",
                    action
                        .map(|a| format!(" (Gateway action: {a})"))
                        .unwrap_or_default()
                ),
                facts: vec![],
            }
        }
        "suspicious_security_domain" | "high_risk_domain" => {
            let query = first_event(details)
                .and_then(|e| e.get("query"))
                .and_then(Value::as_str)
                .unwrap_or("a domain");
            Evidence {
                headline: format!("Looked up {query}"),
                facts: vec![(
                    "Categories".into(),
                    strings(details.get("matched_categories")),
                )],
            }
        }
        "confirmed_compromised" => {
            let reason = details
                .get("reason")
                .and_then(Value::as_str)
                .filter(|r| !r.is_empty());
            let by = actor(details.get("confirmed_by"));
            Evidence {
                headline: format!("Confirmed compromised by {by}"),
                facts: reason
                    .map(|r| vec![("Reason".to_owned(), r.to_owned())])
                    .unwrap_or_default(),
            }
        }
        _ => Evidence {
            headline: if details.get("source").and_then(Value::as_str) == Some("external") {
                "Signalled through the events API".into()
            } else {
                "Detected".into()
            },
            facts: vec![],
        },
    }
}

/// Impossible travel: from where to where, how far, how fast, against what threshold.
fn travel(details: &Value) -> Evidence {
    let events: &[Value] = details
        .get("events")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let (from, to) = match events {
        [from, to, ..] => (place(from), place(to)),
        _ => ("an earlier place".to_owned(), "another place".to_owned()),
    };
    let distance = details.get("distance_km").and_then(Value::as_f64);
    let speed = details.get("speed_kmh").and_then(Value::as_f64);
    let elapsed = details.get("elapsed_seconds").and_then(Value::as_f64);
    let mut facts = Vec::new();
    if let Some(d) = distance {
        facts.push(("Distance".into(), format!("{} km", grouped(d))));
    }
    if let Some(e) = elapsed {
        facts.push(("Time between logins".into(), span(e)));
    }
    if let Some(s) = speed {
        let speed = if s.is_finite() {
            format!("{} km/h", grouped(s))
        } else {
            "instant".into()
        };
        facts.push(("Speed needed".into(), speed));
    }
    if let Some(max) = details.get("max_speed_kmh").and_then(Value::as_f64) {
        facts.push((
            "Threshold".into(),
            format!("faster than {} km/h", grouped(max)),
        ));
    }
    if let Some(min) = details.get("min_distance_km").and_then(Value::as_f64) {
        facts.push(("Ignored below".into(), format!("{} km", grouped(min))));
    }
    let headline = match (distance, elapsed) {
        (Some(d), Some(e)) => format!(
            "Logged in from {from}, then {to}: {} km in {}",
            grouped(d),
            span(e)
        ),
        _ => format!("Logged in from {from}, then {to}"),
    };
    Evidence { headline, facts }
}

/// A windowed count: how many in how long, against what threshold.
fn window(details: &Value, what: &str) -> Evidence {
    let count = number(details.get("count"));
    let span_seconds = details.get("span_seconds").and_then(Value::as_f64);
    let window = details.get("window_seconds").and_then(Value::as_f64);
    let mut facts = vec![(
        "Threshold".to_owned(),
        format!(
            "{} within {}",
            number(details.get("threshold")),
            window.map_or_else(|| "the window".to_owned(), span)
        ),
    )];
    if let (Some(first), Some(last)) = (
        details.get("first_timestamp").and_then(Value::as_str),
        details.get("last_timestamp").and_then(Value::as_str),
    ) {
        facts.push(("From".into(), format!("{first} to {last}")));
    }
    Evidence {
        headline: format!(
            "{count} {what} in {}",
            span_seconds.map_or_else(|| "a short time".to_owned(), span)
        ),
        facts,
    }
}

/// Who acted, as the audit log and evidence record it (`{"type": "api_token", "id"}`...).
pub fn actor(v: Option<&Value>) -> String {
    let field = |k: &str| {
        v.and_then(|v| v.get(k))
            .and_then(Value::as_str)
            .unwrap_or("?")
    };
    match v.and_then(|v| v.get("type")).and_then(Value::as_str) {
        Some("api_token") => format!("API token {}", field("id")),
        Some("api_key") => field("email").to_owned(),
        Some("cli") => "the command line".into(),
        Some("system") => "ztrisk".into(),
        _ => "an administrator".into(),
    }
}

fn first_event(details: &Value) -> Option<&Value> {
    details
        .get("events")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
}

fn device(details: &Value) -> String {
    first_event(details)
        .and_then(|e| e.get("device_id"))
        .and_then(Value::as_str)
        .map_or_else(|| "a device".to_owned(), |d| format!("device {d}"))
}

/// A login's place: its city and country when known, else its coordinates.
fn place(event: &Value) -> String {
    let location = event.get("location");
    let text = |k: &str| location.and_then(|l| l.get(k)).and_then(Value::as_str);
    match (text("city"), text("country")) {
        (Some(city), Some(country)) => format!("{city}, {country}"),
        (Some(city), None) => city.to_owned(),
        (None, Some(country)) => country.to_owned(),
        (None, None) => {
            let lat = location.and_then(|l| l.get("lat")).and_then(Value::as_f64);
            let lon = location.and_then(|l| l.get("lon")).and_then(Value::as_f64);
            match (lat, lon) {
                (Some(lat), Some(lon)) => coordinates(lat, lon),
                _ => "an unknown place".into(),
            }
        }
    }
}

/// 51.5074, -0.1278 as "51.51°N 0.13°W".
fn coordinates(lat: f64, lon: f64) -> String {
    let ns = if lat >= 0.0 { 'N' } else { 'S' };
    let ew = if lon >= 0.0 { 'E' } else { 'W' };
    format!("{:.2}°{ns} {:.2}°{ew}", lat.abs(), lon.abs())
}

fn number(v: Option<&Value>) -> String {
    match v {
        Some(Value::Number(n)) => n.as_f64().map_or_else(|| n.to_string(), grouped),
        Some(Value::String(s)) => s.clone(),
        _ => "?".into(),
    }
}

/// A number rounded to a whole, with thousands separators.
fn grouped(x: f64) -> String {
    if !x.is_finite() {
        return "∞".into();
    }
    let rounded = x.round();
    let text = super::layout::thousands(rounded.abs() as u64);
    if rounded < 0.0 {
        format!("-{text}")
    } else {
        text
    }
}

fn strings(v: Option<&Value>) -> String {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn impossible_travel_says_where_how_far_how_fast_and_the_threshold() {
        let details = json!({
            "behavior": "imp_travel",
            "events": [
                {"type": "access_login", "location": {"lat": 51.5074, "lon": -0.1278}},
                {"type": "access_login", "location": {"lat": 1.35, "lon": 103.82, "city": "Singapore", "country": "SG"}}
            ],
            "distance_km": 10_852.3, "elapsed_seconds": 2700.0, "speed_kmh": 14_469.7,
            "max_speed_kmh": 900, "min_distance_km": 100
        });
        let e = describe(&details);
        assert_eq!(
            e.headline,
            "Logged in from 51.51°N 0.13°W, then Singapore, SG: 10,852 km in 45 min"
        );
        assert!(
            e.facts
                .contains(&("Speed needed".into(), "14,470 km/h".into()))
        );
        assert!(
            e.facts
                .contains(&("Threshold".into(), "faster than 900 km/h".into()))
        );
    }

    #[test]
    fn windows_say_how_many_in_how_long() {
        let details = json!({"behavior": "high_dlp", "count": 15, "threshold": 15,
            "window_seconds": 60, "span_seconds": 28, "events": []});
        let e = describe(&details);
        assert_eq!(e.headline, "15 DLP policy matches in 28 s");
        assert_eq!(e.facts[0], ("Threshold".into(), "15 within 1 min".into()));
    }

    #[test]
    fn unknown_evidence_still_reads() {
        assert_eq!(describe(&json!({})).headline, "Detected");
        assert_eq!(
            describe(&json!({"behavior": "foo", "source": "external"})).headline,
            "Signalled through the events API"
        );
        let c = describe(
            &json!({"behavior": "confirmed_compromised", "reason": "phished", "confirmed_by": {"type": "api_token", "id": "abc"}}),
        );
        assert_eq!(c.headline, "Confirmed compromised by API token abc");
        assert_eq!(c.facts, vec![("Reason".to_owned(), "phished".to_owned())]);
    }
}
