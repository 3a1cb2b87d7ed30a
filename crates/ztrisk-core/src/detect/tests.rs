use super::state::{Extra, IpTag, Login};
use super::*;
use crate::behaviors::BehaviorUpdate;
use crate::events::UserRef;
use proptest::prelude::*;
use serde_json::json;

const T0: i64 = 1_795_514_400_000; // 2026-11-24T10:00:00Z
const SEC: i64 = 1_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;

const LONDON: (f64, f64) = (51.5074, -0.1278);
const PARIS: (f64, f64) = (48.8566, 2.3522);
const NEW_YORK: (f64, f64) = (40.7128, -74.0060);
const LOS_ANGELES: (f64, f64) = (34.0522, -118.2437);
const SYDNEY: (f64, f64) = (-33.8688, 151.2093);
const TOKYO: (f64, f64) = (35.6762, 139.6503);

fn update(config: &mut AccountBehaviors, body: Value) {
    let u =
        BehaviorUpdate::parse(&json!({ "behaviors": body })).unwrap_or_else(|e| panic!("{e:?}"));
    config.apply(&u);
}

/// Every predefined behavior enabled at its default level, plus `foo` (custom, medium).
fn all_enabled() -> AccountBehaviors {
    let mut config = AccountBehaviors::default();
    let mut body = serde_json::Map::new();
    for p in Predefined::ALL {
        body.insert(
            p.id().into(),
            json!({"enabled": true, "risk_level": p.default_level().as_str()}),
        );
    }
    body.insert(
        "foo".into(),
        json!({"enabled": true, "risk_level": "medium"}),
    );
    update(&mut config, Value::Object(body));
    config
}

fn event(ts: i64, kind: EventKind) -> Event {
    Event {
        id: None,
        timestamp: ts,
        user: UserRef {
            email: "a@example.com".into(),
            id: None,
            name: None,
            external_id: None,
        },
        kind,
    }
}

fn login(ts: i64, (lat, lon): (f64, f64)) -> Event {
    event(
        ts,
        EventKind::AccessLogin {
            success: true,
            ip: None,
            location: Some(Location {
                lat,
                lon,
                country: None,
                city: None,
                source: Default::default(),
            }),
            app: None,
        },
    )
}

fn failed(ts: i64) -> Event {
    event(
        ts,
        EventKind::AccessLogin {
            success: false,
            ip: "192.0.2.1".parse().ok(),
            location: None,
            app: Some("wiki".into()),
        },
    )
}

fn dlp(ts: i64) -> Event {
    event(
        ts,
        EventKind::DlpMatch {
            profile: "Credit cards".into(),
            policy: None,
        },
    )
}

fn s1(ts: i64, threats: Option<u32>) -> Event {
    event(
        ts,
        EventKind::DevicePosture {
            provider: PostureProvider::SentinelOne,
            device_id: "dev-1".into(),
            active_threats: threats,
            zta_score: None,
        },
    )
}

fn cs(ts: i64, score: Option<u8>) -> Event {
    event(
        ts,
        EventKind::DevicePosture {
            provider: PostureProvider::CrowdStrike,
            device_id: "dev-2".into(),
            active_threats: None,
            zta_score: score,
        },
    )
}

fn file(ts: i64, verdict: &str, action: &str) -> Event {
    event(
        ts,
        EventKind::GatewayFile {
            verdict: verdict.into(),
            action: action.into(),
            file_name: Some("invoice.exe".into()),
            sha256: Some("ab".repeat(32)),
        },
    )
}

fn dns(ts: i64, categories: &[&str]) -> Event {
    event(
        ts,
        EventKind::GatewayDns {
            query: "x.example".into(),
            categories: categories.iter().map(|c| c.to_string()).collect(),
            action: "block".into(),
        },
    )
}

fn ext(ts: i64, id: &str) -> Event {
    event(
        ts,
        EventKind::Behavior {
            behavior: id.parse().unwrap_or_else(|e| panic!("{e}")),
            details: Some(json!({"score": 0.97})),
        },
    )
}

/// Feeds events in order; returns the ids of everything detected.
fn run(state: &mut UserState, config: &AccountBehaviors, events: &[Event]) -> Vec<Detection> {
    events
        .iter()
        .flat_map(|e| detect(state, e, config))
        .collect()
}

fn ids(detections: &[Detection]) -> Vec<&str> {
    detections.iter().map(|d| d.behavior.as_str()).collect()
}

fn one(detections: Vec<Detection>) -> Detection {
    assert_eq!(detections.len(), 1, "{detections:#?}");
    detections
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no detection"))
}

// ---------------------------------------------------------------- haversine

#[test]
fn haversine_matches_known_city_pairs() {
    for (a, b, km) in [
        (LONDON, PARIS, 344.0),
        (NEW_YORK, LOS_ANGELES, 3936.0),
        (SYDNEY, TOKYO, 7826.0),
        (LONDON, NEW_YORK, 5570.0),
    ] {
        let d = haversine_km(a.0, a.1, b.0, b.1);
        assert!((d - km).abs() / km < 0.01, "{a:?}-{b:?}: {d}");
    }
    assert_eq!(haversine_km(10.0, 20.0, 10.0, 20.0), 0.0);
    let half = std::f64::consts::PI * EARTH_RADIUS_KM;
    assert!((haversine_km(0.0, 0.0, 0.0, 180.0) - half).abs() < 1e-6);
    assert!((haversine_km(90.0, 0.0, -90.0, 0.0) - half).abs() < 1e-6);
    // Across the antimeridian: 2 degrees of longitude on the equator.
    let d = haversine_km(0.0, 179.0, 0.0, -179.0);
    assert!((d - 2.0 * half / 180.0).abs() < 1e-6, "{d}");
}

// ---------------------------------------------------------------- imp_travel

#[test]
fn imp_travel_fires_with_evidence() {
    let config = all_enabled();
    let mut state = UserState::default();
    assert!(detect(&mut state, &login(T0, LONDON), &config).is_empty());
    let mut ny = login(T0 + HOUR, NEW_YORK);
    ny.id = Some("evt-ny".into());
    if let EventKind::AccessLogin {
        ip, location, app, ..
    } = &mut ny.kind
    {
        *ip = "198.51.100.7".parse().ok();
        *app = Some("wiki".into());
        if let Some(l) = location {
            l.country = Some("US".into());
            l.city = Some("New York".into());
        }
    }
    let d = one(detect(&mut state, &ny, &config));
    assert_eq!(d.behavior.as_str(), "imp_travel");
    assert_eq!(d.risk_level, RiskLevel::High);
    assert_eq!(d.timestamp, T0 + HOUR);
    let details = &d.details;
    assert_eq!(details["behavior"], "imp_travel");
    assert_eq!(
        details["events"],
        json!([
            {"type": "access_login", "timestamp": "2026-11-24T10:00:00Z", "success": true,
             "location": {"lat": 51.5074, "lon": -0.1278}},
            {"id": "evt-ny", "type": "access_login", "timestamp": "2026-11-24T11:00:00Z",
             "success": true, "ip": "198.51.100.7", "app": "wiki",
             "location": {"lat": 40.7128, "lon": -74.006, "country": "US", "city": "New York"}}
        ])
    );
    let distance = details["distance_km"].as_f64().unwrap_or_default();
    assert!((distance - 5570.2).abs() < 1.0, "{distance}");
    assert_eq!(details["elapsed_seconds"], 3600);
    assert!((details["speed_kmh"].as_f64().unwrap_or_default() - distance).abs() < 0.01);
    assert_eq!(details["max_speed_kmh"], 900);
    assert_eq!(details["min_distance_km"], 100);
    assert_eq!(state.last_login_time(), Some(T0 + HOUR));
}

#[test]
fn imp_travel_compares_speed_strictly() {
    let config = all_enabled();
    let d_km = haversine_km(LONDON.0, LONDON.1, PARIS.0, PARIS.1);
    // Slower than 900 km/h: nothing.
    let mut state = UserState::default();
    let slow = (d_km / 800.0 * HOUR as f64) as i64;
    assert!(
        run(
            &mut state,
            &config,
            &[login(T0, LONDON), login(T0 + slow, PARIS)]
        )
        .is_empty()
    );
    // Faster: fires.
    let mut state = UserState::default();
    let fast = (d_km / 1000.0 * HOUR as f64) as i64;
    let got = run(
        &mut state,
        &config,
        &[login(T0, LONDON), login(T0 + fast, PARIS)],
    );
    assert_eq!(ids(&got), ["imp_travel"]);
    // A lower limit through the settings makes the slow trip impossible too.
    let mut config = config;
    update(
        &mut config,
        json!({"imp_travel": {"enabled": true, "risk_level": "high", "settings": {"max_speed_kmh": 500}}}),
    );
    let mut state = UserState::default();
    let got = run(
        &mut state,
        &config,
        &[login(T0, LONDON), login(T0 + slow, PARIS)],
    );
    assert_eq!(ids(&got), ["imp_travel"]);
    assert_eq!(got[0].details["max_speed_kmh"], 500);
}

#[test]
fn imp_travel_ignores_pairs_below_min_distance() {
    let mut config = all_enabled();
    let mut state = UserState::default();
    // About 55 km in one second: absurdly fast, but closer than 100 km.
    let near = (LONDON.0 + 0.5, LONDON.1);
    assert!(
        run(
            &mut state,
            &config,
            &[login(T0, LONDON), login(T0 + SEC, near)]
        )
        .is_empty()
    );
    assert!(detect(&mut state, &login(T0 + 2 * SEC, near), &config).is_empty());
    // With min_distance_km lowered to 10, the same hop fires.
    update(
        &mut config,
        json!({"imp_travel": {"enabled": true, "risk_level": "high", "settings": {"min_distance_km": 10}}}),
    );
    let mut state = UserState::default();
    let got = run(
        &mut state,
        &config,
        &[login(T0, LONDON), login(T0 + SEC, near)],
    );
    assert_eq!(ids(&got), ["imp_travel"]);
}

#[test]
fn imp_travel_equal_timestamps() {
    let mut config = all_enabled();
    let mut state = UserState::default();
    let got = run(&mut state, &config, &[login(T0, LONDON), login(T0, PARIS)]);
    let d = one(got);
    assert_eq!(d.details["speed_kmh"], Value::Null);
    assert_eq!(d.details["elapsed_seconds"], 0);
    // The same place at the same time is not travel, even with no minimum distance.
    update(
        &mut config,
        json!({"imp_travel": {"enabled": true, "risk_level": "high", "settings": {"min_distance_km": 0}}}),
    );
    let mut state = UserState::default();
    assert!(run(&mut state, &config, &[login(T0, LONDON), login(T0, LONDON)]).is_empty());
}

#[test]
fn imp_travel_only_uses_successful_logins_with_a_location() {
    let config = all_enabled();
    let mut state = UserState::default();
    detect(&mut state, &login(T0, LONDON), &config);
    // A failed login from New York, and a successful one without a location: not remembered.
    let mut failed_ny = login(T0 + MIN, NEW_YORK);
    if let EventKind::AccessLogin { success, .. } = &mut failed_ny.kind {
        *success = false;
    }
    let no_location = event(
        T0 + 2 * MIN,
        EventKind::AccessLogin {
            success: true,
            ip: None,
            location: None,
            app: None,
        },
    );
    assert!(run(&mut state, &config, &[failed_ny, no_location]).is_empty());
    assert_eq!(state.last_login_time(), Some(T0));
    // Back in London later: nothing.
    assert!(detect(&mut state, &login(T0 + 3 * MIN, LONDON), &config).is_empty());
}

#[test]
fn imp_travel_late_logins_use_abs_elapsed_and_do_not_replace() {
    let config = all_enabled();
    let mut state = UserState::default();
    detect(&mut state, &login(T0 + 2 * HOUR, LONDON), &config);
    // A late login from New York, 30 minutes before the London one: impossible.
    let d = one(detect(&mut state, &login(T0 + 90 * MIN, NEW_YORK), &config));
    assert_eq!(d.timestamp, T0 + 90 * MIN);
    assert_eq!(d.details["elapsed_seconds"], 1800);
    // Evidence in time order: the late (earlier) event first.
    assert_eq!(d.details["events"][0]["timestamp"], "2026-11-24T11:30:00Z");
    assert_eq!(d.details["events"][1]["timestamp"], "2026-11-24T12:00:00Z");
    // London is still the remembered login: Paris an hour later is possible (no detection,
    // which would not be the case if New York had replaced it).
    assert_eq!(state.last_login_time(), Some(T0 + 2 * HOUR));
    assert!(detect(&mut state, &login(T0 + 5 * HOUR, PARIS), &config).is_empty());
    assert_eq!(state.last_login_time(), Some(T0 + 5 * HOUR));
}

#[test]
fn imp_travel_disabled_still_remembers_logins() {
    let mut config = AccountBehaviors::default();
    let mut state = UserState::default();
    assert!(
        run(
            &mut state,
            &config,
            &[login(T0, LONDON), login(T0 + HOUR, NEW_YORK)]
        )
        .is_empty()
    );
    assert_eq!(state.last_login_time(), Some(T0 + HOUR));
    update(
        &mut config,
        json!({"imp_travel": {"enabled": true, "risk_level": "low"}}),
    );
    // Compared with New York (remembered while disabled), not London.
    let d = one(detect(
        &mut state,
        &login(T0 + 2 * HOUR, LOS_ANGELES),
        &config,
    ));
    assert_eq!(d.risk_level, RiskLevel::Low);
    let distance = d.details["distance_km"].as_f64().unwrap_or_default();
    assert!((distance - 3935.8).abs() < 1.0, "{distance}");
}

#[test]
fn imp_travel_repeat_suppression() {
    let config = all_enabled();
    let mut state = UserState::default();
    let got = run(
        &mut state,
        &config,
        &[
            login(T0, LONDON),
            login(T0 + HOUR, NEW_YORK),          // fires
            login(T0 + HOUR + 30 * MIN, LONDON), // suppressed: 30 min after it
            login(T0 + 2 * HOUR, NEW_YORK),      // exactly 3600 s after it: fires
        ],
    );
    assert_eq!(
        got.iter().map(|d| d.timestamp).collect::<Vec<_>>(),
        [T0 + HOUR, T0 + 2 * HOUR]
    );
}

// ---------------------------------------------------------------- windows

#[test]
fn failed_logins_window_edge_is_inclusive() {
    let config = all_enabled();
    // 10 failures spanning exactly 300 s: fires on the 10th.
    let mut state = UserState::default();
    let events: Vec<_> = (0..10).map(|i| failed(T0 + i * 300 * SEC / 9)).collect();
    let span = events[9].timestamp - events[0].timestamp;
    assert_eq!(span, 300 * SEC);
    let got = run(&mut state, &config, &events);
    let d = one(got);
    assert_eq!(d.behavior.as_str(), "failed_logins");
    assert_eq!(d.risk_level, RiskLevel::Medium);
    assert_eq!(d.timestamp, T0 + 300 * SEC);
    assert_eq!(d.details["count"], 10);
    assert_eq!(d.details["threshold"], 10);
    assert_eq!(d.details["window_seconds"], 300);
    assert_eq!(d.details["first_timestamp"], "2026-11-24T10:00:00Z");
    assert_eq!(d.details["last_timestamp"], "2026-11-24T10:05:00Z");
    assert_eq!(d.details["span_seconds"], 300);
    assert_eq!(d.details["timestamps"].as_array().map(Vec::len), Some(10));
    assert_eq!(
        d.details["events"],
        json!([{"type": "access_login", "timestamp": "2026-11-24T10:05:00Z",
                "success": false, "ip": "192.0.2.1", "app": "wiki"}])
    );
    // One millisecond more: nothing.
    let mut state = UserState::default();
    let mut events: Vec<_> = (0..9).map(|i| failed(T0 + i * SEC)).collect();
    events.push(failed(T0 + 300 * SEC + 1));
    assert!(run(&mut state, &config, &events).is_empty());
}

#[test]
fn high_dlp_window_edge_is_inclusive() {
    let config = all_enabled();
    let mut state = UserState::default();
    let mut events: Vec<_> = (0..14).map(|i| dlp(T0 + i * SEC)).collect();
    events.push(dlp(T0 + 60 * SEC));
    let d = one(run(&mut state, &config, &events));
    assert_eq!(d.behavior.as_str(), "high_dlp");
    assert_eq!(d.details["events"][0]["profile"], "Credit cards");
    let mut state = UserState::default();
    let mut events: Vec<_> = (0..14).map(|i| dlp(T0 + i * SEC)).collect();
    events.push(dlp(T0 + 60 * SEC + 1));
    assert!(run(&mut state, &config, &events).is_empty());
}

#[test]
fn one_burst_of_hundreds_gives_one_risk_event() {
    let config = all_enabled();
    let mut state = UserState::default();
    // 600 DLP matches, 100 ms apart: all within 60 s.
    let burst: Vec<_> = (0..600).map(|i| dlp(T0 + i * 100)).collect();
    assert_eq!(ids(&run(&mut state, &config, &burst)), ["high_dlp"]);
    // 300 failed logins in a second.
    let burst: Vec<_> = (0..300).map(|i| failed(T0 + i * 3)).collect();
    assert_eq!(ids(&run(&mut state, &config, &burst)), ["failed_logins"]);
}

#[test]
fn windows_fire_again_after_the_window_with_new_events() {
    let config = all_enabled();
    let mut state = UserState::default();
    let mut got = run(
        &mut state,
        &config,
        &(0..15).map(|i| dlp(T0 + i * SEC)).collect::<Vec<_>>(),
    );
    assert_eq!(got.len(), 1);
    // Fourteen more, after the window: not enough (the first fifteen were consumed).
    let later = T0 + 5 * MIN;
    got = run(
        &mut state,
        &config,
        &(0..14).map(|i| dlp(later + i * SEC)).collect::<Vec<_>>(),
    );
    assert!(got.is_empty());
    // The fifteenth makes a second risk event.
    let d = one(detect(&mut state, &dlp(later + 14 * SEC), &config));
    assert_eq!(d.timestamp, later + 14 * SEC);
    // A slow trickle never fires: fifteen events a minute apart.
    let mut state = UserState::default();
    let trickle: Vec<_> = (0..100).map(|i| dlp(T0 + i * 61 * SEC)).collect();
    assert!(run(&mut state, &config, &trickle).is_empty());
    assert!(state.heap_bytes() <= 1024);
}

#[test]
fn a_sustained_stream_fires_about_once_per_window() {
    let config = all_enabled();
    let mut state = UserState::default();
    // One failed login a second for ten minutes (threshold 10 in 300 s).
    let stream: Vec<_> = (0..600).map(|i| failed(T0 + i * SEC)).collect();
    let got = run(&mut state, &config, &stream);
    let times: Vec<_> = got.iter().map(|d| d.timestamp).collect();
    assert_eq!(times.first(), Some(&(T0 + 9 * SEC)));
    assert!(
        times.windows(2).all(|w| w[1] - w[0] > 300 * SEC),
        "{times:?}"
    );
    assert!((2..=3).contains(&times.len()), "{times:?}");
    // A detection held back by the window rule still consumes its events: right after the
    // window, `threshold` new events are needed.
    let mut state = UserState::default();
    let first: Vec<_> = (0..10).map(|i| failed(T0 + i)).collect();
    assert_eq!(run(&mut state, &config, &first).len(), 1);
    let held: Vec<_> = (0..10).map(|i| failed(T0 + 100 * SEC + i)).collect();
    assert!(run(&mut state, &config, &held).is_empty());
    assert!(state.extra.as_ref().is_some_and(|e| e.failed.is_empty()));
    let after: Vec<_> = (0..10).map(|i| failed(T0 + 301 * SEC + i)).collect();
    assert_eq!(run(&mut state, &config, &after).len(), 1);
}

#[test]
fn windows_handle_late_events() {
    let config = all_enabled();
    // Ten failures delivered in reverse order still make one detection.
    let mut state = UserState::default();
    let events: Vec<_> = (0..10).rev().map(|i| failed(T0 + i * SEC)).collect();
    let d = one(run(&mut state, &config, &events));
    assert_eq!(d.timestamp, T0);
    assert_eq!(d.details["first_timestamp"], "2026-11-24T10:00:00Z");
    assert_eq!(d.details["last_timestamp"], "2026-11-24T10:00:09Z");
    // A late event fills a gap in time order.
    let mut state = UserState::default();
    let mut events: Vec<_> = (0..9).map(|i| failed(T0 + HOUR + i * SEC)).collect();
    events.push(failed(T0 + HOUR - 10 * SEC));
    let got = run(&mut state, &config, &events);
    assert_eq!(one(got).details["span_seconds"], 18);
    // A full buffer drops an event older than everything it keeps.
    let mut state = UserState::default();
    let spread: Vec<_> = (0..10).map(|i| failed(T0 + i * MIN)).collect(); // 9 min: too slow
    assert!(run(&mut state, &config, &spread).is_empty());
    let before = state.clone();
    assert!(detect(&mut state, &failed(T0 - HOUR), &config).is_empty());
    assert_eq!(state, before);
    // ...but keeps one newer than the oldest, dropping the oldest.
    assert!(detect(&mut state, &failed(T0 + 30 * SEC), &config).is_empty());
    assert_eq!(
        state.extra.as_ref().map(|e| e.failed[0]),
        Some(T0 + 30 * SEC)
    );
    assert_eq!(state.extra.as_ref().map(|e| e.failed.len()), Some(10));
}

#[test]
fn windows_adapt_to_threshold_changes() {
    let mut config = all_enabled();
    let mut state = UserState::default();
    let five: Vec<_> = (0..5).map(|i| failed(T0 + i * SEC)).collect();
    assert!(run(&mut state, &config, &five).is_empty());
    // Lowered to 3: the next failure fires, counting the newest three.
    update(
        &mut config,
        json!({"failed_logins": {"enabled": true, "risk_level": "high", "settings": {"threshold": 3}}}),
    );
    let d = one(detect(&mut state, &failed(T0 + 5 * SEC), &config));
    assert_eq!(d.risk_level, RiskLevel::High);
    assert_eq!(d.details["count"], 3);
    assert_eq!(d.details["first_timestamp"], "2026-11-24T10:00:03Z");
    // Raised to 20 with a 1000 s window: needs twenty new ones (after the window has passed).
    update(
        &mut config,
        json!({"failed_logins": {"enabled": true, "risk_level": "high", "settings": {"threshold": 20, "window_seconds": 1000}}}),
    );
    let start = T0 + HOUR;
    let got = run(
        &mut state,
        &config,
        &(0..19).map(|i| failed(start + i * SEC)).collect::<Vec<_>>(),
    );
    assert!(got.is_empty());
    let d = one(detect(&mut state, &failed(start + 19 * SEC), &config));
    assert_eq!(d.details["count"], 20);
    assert_eq!(d.details["window_seconds"], 1000);
}

#[test]
fn disabled_windows_keep_history_for_later() {
    let mut config = AccountBehaviors::default();
    let mut state = UserState::default();
    let events: Vec<_> = (0..30).map(|i| failed(T0 + i * SEC)).collect();
    assert!(run(&mut state, &config, &events).is_empty());
    assert_eq!(state.extra.as_ref().map(|e| e.failed.len()), Some(10));
    update(
        &mut config,
        json!({"failed_logins": {"enabled": true, "risk_level": "medium"}}),
    );
    let d = one(detect(&mut state, &failed(T0 + 30 * SEC), &config));
    assert_eq!(d.details["first_timestamp"], "2026-11-24T10:00:21Z");
}

// ---------------------------------------------------------------- posture, files, DNS

#[test]
fn sentinel_one_needs_active_threats() {
    let config = all_enabled();
    let mut state = UserState::default();
    assert!(detect(&mut state, &s1(T0, None), &config).is_empty());
    assert!(detect(&mut state, &s1(T0, Some(0)), &config).is_empty());
    let d = one(detect(&mut state, &s1(T0, Some(2)), &config));
    assert_eq!(d.behavior.as_str(), "sentinel_one");
    assert_eq!(d.risk_level, RiskLevel::High);
    assert_eq!(d.details["active_threats"], 2);
    assert_eq!(
        d.details["events"],
        json!([{"type": "device_posture", "timestamp": "2026-11-24T10:00:00Z",
                "provider": "sentinel_one", "device_id": "dev-1", "active_threats": 2}])
    );
    // A CrowdStrike event with threats is not SentinelOne's.
    let mut state = UserState::default();
    let mut e = cs(T0, None);
    if let EventKind::DevicePosture { active_threats, .. } = &mut e.kind {
        *active_threats = Some(5);
    }
    assert!(detect(&mut state, &e, &config).is_empty());
}

#[test]
fn crowdstrike_score_bands() {
    let config = all_enabled();
    for (score, expected) in [
        (0, Some("crowdstrike_low_zta")),
        (50, Some("crowdstrike_low_zta")),
        (51, Some("crowdstrike_medium_zta")),
        (79, Some("crowdstrike_medium_zta")),
        (80, None),
        (100, None),
    ] {
        let mut state = UserState::default();
        let got = detect(&mut state, &cs(T0, Some(score)), &config);
        assert_eq!(ids(&got).first().copied(), expected, "{score}");
        assert!(got.len() <= 1);
        if let Some(d) = got.first() {
            assert_eq!(d.details["zta_score"], score);
        }
    }
    let mut state = UserState::default();
    assert!(detect(&mut state, &cs(T0, None), &config).is_empty());
    let d = one(detect(&mut state, &cs(T0, Some(60)), &config));
    assert_eq!(d.risk_level, RiskLevel::Medium);
    assert_eq!(d.details["max_score"], 79);
    assert_eq!(d.details["above_score"], 50);
    let d = one(detect(&mut state, &cs(T0, Some(10)), &config));
    assert_eq!(d.risk_level, RiskLevel::High);
    assert_eq!(d.details["max_score"], 50);
}

#[test]
fn crowdstrike_low_band_belongs_to_low_even_when_disabled() {
    let mut config = all_enabled();
    update(
        &mut config,
        json!({"crowdstrike_low_zta": {"enabled": false, "risk_level": "high", "settings": {"max_score": 60}}}),
    );
    let mut state = UserState::default();
    // 55 is in the (disabled) low band: medium does not fire for it.
    assert!(detect(&mut state, &cs(T0, Some(55)), &config).is_empty());
    assert_eq!(
        ids(&detect(&mut state, &cs(T0, Some(61)), &config)),
        ["crowdstrike_medium_zta"]
    );
    // Settings of the medium band apply too.
    update(
        &mut config,
        json!({"crowdstrike_medium_zta": {"enabled": true, "risk_level": "low", "settings": {"max_score": 90}}}),
    );
    let mut state = UserState::default();
    let d = one(detect(&mut state, &cs(T0, Some(85)), &config));
    assert_eq!(d.risk_level, RiskLevel::Low);
    assert_eq!(d.details["max_score"], 90);
}

#[test]
fn malicious_files_fire_whatever_the_action() {
    let config = all_enabled();
    let mut state = UserState::default();
    assert!(detect(&mut state, &file(T0, "clean", "allow"), &config).is_empty());
    assert!(detect(&mut state, &file(T0, "suspicious", "allow"), &config).is_empty());
    let d = one(detect(&mut state, &file(T0, "Malicious", "block"), &config));
    assert_eq!(d.behavior.as_str(), "malicious_file");
    assert_eq!(
        d.details["events"][0],
        json!({"type": "gateway_file", "timestamp": "2026-11-24T10:00:00Z", "verdict": "Malicious",
               "action": "block", "file_name": "invoice.exe", "sha256": "ab".repeat(32)})
    );
    let mut state = UserState::default();
    assert_eq!(
        ids(&detect(
            &mut state,
            &file(T0, "MALICIOUS", "allow"),
            &config
        )),
        ["malicious_file"]
    );
}

#[test]
fn dns_categories() {
    let config = all_enabled();
    let check = |categories: &[&str], expected: &[&str]| {
        let mut state = UserState::default();
        let got = detect(&mut state, &dns(T0, categories), &config);
        assert_eq!(ids(&got), expected, "{categories:?}");
        got
    };
    check(&[], &[]);
    check(&["Technology", "Business"], &[]);
    for c in crate::categories::CATEGORIES {
        let expected = match c.family {
            crate::categories::Family::Security => "suspicious_security_domain",
            crate::categories::Family::HighRisk => "high_risk_domain",
        };
        check(&[c.name], &[expected]);
    }
    check(&["DGA Domains"], &["suspicious_security_domain"]);
    check(&["security threats"], &["suspicious_security_domain"]);
    check(&[" VIOLENCE "], &["high_risk_domain"]);
    let got = check(
        &["News", "Security Risks", "Questionable Content", "Phishing"],
        &["suspicious_security_domain", "high_risk_domain"],
    );
    assert_eq!(
        got[0].details["matched_categories"],
        json!(["Security Risks", "Phishing"])
    );
    assert_eq!(got[0].risk_level, RiskLevel::Medium);
    assert_eq!(
        got[1].details["matched_categories"],
        json!(["Questionable Content"])
    );
    assert_eq!(got[1].risk_level, RiskLevel::Low);
    assert_eq!(
        got[1].details["events"][0]["categories"],
        json!(["News", "Security Risks", "Questionable Content", "Phishing"])
    );
    assert_eq!(got[1].details["events"][0]["query"], "x.example");
}

// ---------------------------------------------------------------- external behaviors

#[test]
fn behavior_events() {
    let mut config = all_enabled();
    let mut state = UserState::default();
    let d = one(detect(&mut state, &ext(T0, "foo"), &config));
    assert_eq!(d.behavior.as_str(), "foo");
    assert_eq!(d.risk_level, RiskLevel::Medium);
    assert_eq!(
        d.details,
        json!({"behavior": "foo", "source": "external", "events": [
            {"type": "behavior", "timestamp": "2026-11-24T10:00:00Z", "behavior": "foo",
             "details": {"score": 0.97}}]})
    );
    // Suppressed within the hour, custom or predefined.
    assert!(detect(&mut state, &ext(T0 + MIN, "foo"), &config).is_empty());
    assert_eq!(
        ids(&detect(&mut state, &ext(T0, "imp_travel"), &config)),
        ["imp_travel"]
    );
    assert!(detect(&mut state, &ext(T0 + MIN, "imp_travel"), &config).is_empty());
    assert_eq!(
        ids(&detect(&mut state, &ext(T0 + HOUR, "foo"), &config)),
        ["foo"]
    );
    // Unknown and disabled behaviors emit nothing and remember nothing.
    let mut state = UserState::default();
    assert!(detect(&mut state, &ext(T0, "bar"), &config).is_empty());
    update(
        &mut config,
        json!({"foo": {"enabled": false, "risk_level": "high"}}),
    );
    assert!(detect(&mut state, &ext(T0, "foo"), &config).is_empty());
    assert_eq!(state, UserState::default());
}

#[test]
fn custom_suppression_memory_is_bounded() {
    let mut config = AccountBehaviors::default();
    let body: serde_json::Map<_, _> = (0..100)
        .map(|i| {
            (
                format!("custom_{i:03}"),
                json!({"enabled": true, "risk_level": "low"}),
            )
        })
        .collect();
    update(&mut config, Value::Object(body));
    let mut state = UserState::default();
    for i in 0..100 {
        let got = detect(
            &mut state,
            &ext(T0 + i * SEC, &format!("custom_{i:03}")),
            &config,
        );
        assert_eq!(got.len(), 1);
    }
    let custom = state.extra.as_ref().map_or(0, |e| e.custom.len());
    assert_eq!(custom, MAX_CUSTOM_SUPPRESSIONS);
    // The most recent ones are still suppressed, the oldest forgotten.
    assert!(detect(&mut state, &ext(T0 + 100 * SEC, "custom_099"), &config).is_empty());
    assert_eq!(
        detect(&mut state, &ext(T0 + 100 * SEC, "custom_000"), &config).len(),
        1
    );
    assert_eq!(UserState::decode(&state.encode()).as_ref(), Some(&state));
}

// ---------------------------------------------------------------- cross-cutting rules

#[test]
fn repeat_suppression_is_symmetric_in_event_time() {
    let config = all_enabled();
    let mut state = UserState::default();
    assert_eq!(detect(&mut state, &s1(T0, Some(1)), &config).len(), 1);
    for (ts, fires) in [
        (T0 + HOUR - 1, false),
        (T0 - HOUR + 1, false), // late, within the hour before
        (T0 - HOUR, true),      // late, exactly an hour before
        (T0 - HOUR / 2, false), // the latest firing (T0) still suppresses
        (T0 + HOUR, true),
        (T0 + HOUR + 1, false),
    ] {
        let got = detect(&mut state, &s1(ts, Some(1)), &config);
        assert_eq!(got.len(), usize::from(fires), "{}", ts - T0);
    }
    // Behaviors are suppressed independently of each other.
    let mut state = UserState::default();
    let got = run(
        &mut state,
        &config,
        &[
            s1(T0, Some(1)),
            cs(T0, Some(10)),
            file(T0, "malicious", "block"),
            dns(T0, &["Malware", "Violence"]),
            s1(T0 + 1, Some(1)),
            cs(T0 + 1, Some(10)),
            cs(T0 + 1, Some(70)),
            file(T0 + 1, "malicious", "block"),
            dns(T0 + 1, &["Malware", "Violence"]),
        ],
    );
    assert_eq!(
        ids(&got),
        [
            "sentinel_one",
            "crowdstrike_low_zta",
            "malicious_file",
            "suspicious_security_domain",
            "high_risk_domain",
            "crowdstrike_medium_zta"
        ]
    );
}

#[test]
fn late_events_of_single_event_detectors() {
    let config = all_enabled();
    type Make = fn(i64) -> Event;
    let makers: [(&str, Make); 6] = [
        ("sentinel_one", |t| s1(t, Some(1))),
        ("crowdstrike_low_zta", |t| cs(t, Some(5))),
        ("malicious_file", |t| file(t, "malicious", "block")),
        ("suspicious_security_domain", |t| dns(t, &["Phishing"])),
        ("high_risk_domain", |t| dns(t, &["CIPA Filter"])),
        ("foo", |t| ext(t, "foo")),
    ];
    for (id, make) in makers {
        let mut state = UserState::default();
        // Delivered newest first: 3 h, then 30 min before it (suppressed), then 2 h before it.
        let got = run(
            &mut state,
            &config,
            &[make(T0 + 3 * HOUR), make(T0 + 150 * MIN), make(T0 + HOUR)],
        );
        assert_eq!(
            got.iter().map(|d| d.timestamp).collect::<Vec<_>>(),
            [T0 + 3 * HOUR, T0 + HOUR],
            "{id}"
        );
        assert!(got.iter().all(|d| d.behavior.as_str() == id), "{id}");
    }
}

#[test]
fn disabled_behaviors_emit_nothing() {
    let config = AccountBehaviors::default();
    let mut state = UserState::default();
    let mut events = vec![
        login(T0, LONDON),
        login(T0 + MIN, TOKYO),
        s1(T0, Some(3)),
        cs(T0, Some(1)),
        cs(T0, Some(60)),
        file(T0, "malicious", "allow"),
        dns(T0, &["Security Threats", "CIPA"]),
        ext(T0, "imp_travel"),
        ext(T0, "foo"),
    ];
    events.extend((0..50).map(|i| dlp(T0 + i)));
    events.extend((0..50).map(|i| failed(T0 + i)));
    assert!(run(&mut state, &config, &events).is_empty());
    // Nothing fired, so nothing is suppressed.
    assert!(state.extra.as_ref().is_none_or(|e| e.fired.is_empty()));
}

#[test]
fn level_changes_apply_to_later_detections_only() {
    let mut config = all_enabled();
    let mut state = UserState::default();
    let first = one(detect(&mut state, &file(T0, "malicious", "block"), &config));
    assert_eq!(first.risk_level, RiskLevel::High);
    update(
        &mut config,
        json!({"malicious_file": {"enabled": true, "risk_level": "low"}}),
    );
    let second = one(detect(
        &mut state,
        &file(T0 + 2 * HOUR, "malicious", "block"),
        &config,
    ));
    assert_eq!(second.risk_level, RiskLevel::Low);
    assert_eq!(first.risk_level, RiskLevel::High);
    // Disabled: nothing, and enabling later fires at once (nothing was remembered).
    update(
        &mut config,
        json!({"malicious_file": {"enabled": false, "risk_level": "low"}}),
    );
    assert!(
        detect(
            &mut state,
            &file(T0 + 4 * HOUR, "malicious", "block"),
            &config
        )
        .is_empty()
    );
    update(
        &mut config,
        json!({"malicious_file": {"enabled": true, "risk_level": "medium"}}),
    );
    let third = one(detect(
        &mut state,
        &file(T0 + 4 * HOUR, "malicious", "block"),
        &config,
    ));
    assert_eq!(third.risk_level, RiskLevel::Medium);
}

#[test]
fn reset_clears_windows_and_suppression_but_keeps_the_login() {
    let config = all_enabled();
    let mut state = UserState::default();
    let mut events = vec![login(T0, LONDON), s1(T0, Some(1))];
    events.extend((0..9).map(|i| failed(T0 + i * SEC)));
    events.extend((0..14).map(|i| dlp(T0 + i * SEC)));
    assert_eq!(ids(&run(&mut state, &config, &events)), ["sentinel_one"]);
    state.reset();
    assert_eq!(state.last_login_time(), Some(T0));
    assert!(state.extra.is_none());
    // Suppression forgotten: fires again at once. Windows forgotten: one more is not enough.
    assert_eq!(detect(&mut state, &s1(T0 + MIN, Some(1)), &config).len(), 1);
    assert!(detect(&mut state, &failed(T0 + 10 * SEC), &config).is_empty());
    assert!(detect(&mut state, &dlp(T0 + 15 * SEC), &config).is_empty());
    // The login is still there to compare with.
    assert_eq!(
        ids(&detect(&mut state, &login(T0 + HOUR, TOKYO), &config)),
        ["imp_travel"]
    );
}

// ---------------------------------------------------------------- state

#[test]
fn state_is_small() {
    assert!(size_of::<UserState>() <= 32, "{}", size_of::<UserState>());
    let config = all_enabled();
    let mut state = UserState::default();
    detect(&mut state, &login(T0, LONDON), &config);
    assert_eq!(state.heap_bytes(), 0);
    let bytes = state.encode();
    assert_eq!(bytes[0], 1);
    assert!(bytes.len() <= 16, "{}", bytes.len());
    assert_eq!(UserState::default().encode(), [1, 0]);
}

#[test]
fn encode_decode_examples() {
    let config = all_enabled();
    let mut state = UserState::default();
    let mut events = vec![login(T0, LONDON), s1(T0, Some(1)), ext(T0, "foo")];
    events.extend((0..5).map(|i| failed(T0 - i * 7 * SEC)));
    events.extend((0..3).map(|i| dlp(T0 + i)));
    run(&mut state, &config, &events);
    let bytes = state.encode();
    assert_eq!(UserState::decode(&bytes).as_ref(), Some(&state));
    // Malformed: every strict prefix, a wrong version, trailing bytes, unknown flags.
    for n in 0..bytes.len() {
        assert_eq!(UserState::decode(&bytes[..n]), None, "prefix {n}");
    }
    let mut wrong = bytes.clone();
    wrong[0] = 2;
    assert_eq!(UserState::decode(&wrong), None);
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(UserState::decode(&trailing), None);
    assert_eq!(UserState::decode(&[1, 0x20]), None);
    // Not minimal varints, a non-finite or out-of-range coordinate.
    assert_eq!(
        UserState::decode(&[1, 1, 0x80, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]),
        None
    );
    let mut nan = vec![1, 1, 0];
    nan.extend_from_slice(&f32::NAN.to_le_bytes());
    nan.extend_from_slice(&0f32.to_le_bytes());
    assert_eq!(UserState::decode(&nan), None);
    let mut far = vec![1, 1, 0];
    far.extend_from_slice(&91f32.to_le_bytes());
    far.extend_from_slice(&0f32.to_le_bytes());
    assert_eq!(UserState::decode(&far), None);
    // A window count larger than the input.
    assert_eq!(UserState::decode(&[1, 2, 0xe8, 0x07, 0]), None);
}

// ---------------------------------------------------------------- properties

fn arb_state() -> impl Strategy<Value = UserState> {
    let ts = -62_000_000_000_000i64..253_000_000_000_000i64;
    let ip = proptest::option::of(any::<[u8; 4]>())
        .prop_map(|ip| IpTag::of(ip.map(std::net::IpAddr::from)));
    let login = proptest::option::of((ts.clone(), -90.0f32..=90.0, -180.0f32..=180.0, ip))
        .prop_map(|l| l.map(|(ts, lat, lon, ip)| Login { ts, lat, lon, ip }));
    let window = proptest::collection::vec(any::<i64>(), 0..40).prop_map(|mut v| {
        v.sort_unstable();
        v
    });
    let fired = proptest::collection::btree_map(0u8..9, any::<i64>(), 0..9)
        .prop_map(|m| m.into_iter().collect::<Vec<_>>());
    let custom = proptest::collection::btree_map("[a-z][a-z0-9_]{0,63}", ts, 0..10).prop_map(|m| {
        m.into_iter()
            .map(|(k, v)| (k.into_boxed_str(), v))
            .collect::<Vec<_>>()
    });
    (login, window.clone(), window, fired, custom).prop_map(
        |(login, dlp, failed, fired, custom)| {
            let extra = Extra {
                dlp,
                failed,
                fired,
                custom,
            };
            let mut state = UserState {
                login,
                extra: Some(Box::new(extra)),
            };
            state.compact();
            state
        },
    )
}

fn arb_event() -> impl Strategy<Value = Event> {
    let ts = T0..T0 + 6 * HOUR;
    prop_oneof![
        (ts.clone(), -90.0f64..=90.0, -180.0f64..=180.0)
            .prop_map(|(t, lat, lon)| login(t, (lat, lon))),
        ts.clone().prop_map(failed),
        ts.clone().prop_map(dlp),
        (ts.clone(), proptest::option::of(0u32..3)).prop_map(|(t, n)| s1(t, n)),
        (ts.clone(), proptest::option::of(0u8..=100)).prop_map(|(t, n)| cs(t, n)),
        (ts.clone(), prop_oneof![Just("malicious"), Just("clean")])
            .prop_map(|(t, v)| file(t, v, "block")),
        (
            ts.clone(),
            prop_oneof![Just("Malware"), Just("News"), Just("CIPA")]
        )
            .prop_map(|(t, c)| dns(t, &[c])),
        (ts, prop_oneof![Just("foo"), Just("bar"), Just("high_dlp")]).prop_map(|(t, b)| ext(t, b)),
    ]
}

proptest! {
    #[test]
    fn haversine_properties(
        lat1 in -90.0f64..=90.0, lon1 in -180.0f64..=180.0,
        lat2 in -90.0f64..=90.0, lon2 in -180.0f64..=180.0,
    ) {
        let d = haversine_km(lat1, lon1, lat2, lon2);
        let back = haversine_km(lat2, lon2, lat1, lon1);
        prop_assert!(d >= 0.0);
        prop_assert!((d - back).abs() <= 1e-9 * d.max(1.0), "{} vs {}", d, back);
        prop_assert!(d <= std::f64::consts::PI * EARTH_RADIUS_KM);
        prop_assert_eq!(haversine_km(lat1, lon1, lat1, lon1), 0.0);
    }

    #[test]
    fn encode_decode_round_trip(state in arb_state()) {
        let bytes = state.encode();
        prop_assert_eq!(bytes[0], 1);
        prop_assert_eq!(UserState::decode(&bytes), Some(state));
    }

    #[test]
    fn decode_never_panics_and_is_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Some(state) = UserState::decode(&bytes) {
            prop_assert_eq!(state.encode(), bytes);
        }
    }

    #[test]
    fn decode_survives_corrupted_encodings(
        state in arb_state(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = state.encode();
        for (i, b) in flips {
            let i = i.index(bytes.len());
            bytes[i] = b;
        }
        if let Some(s) = UserState::decode(&bytes) {
            prop_assert_eq!(s.encode(), bytes.clone());
        }
        let n = cut.index(bytes.len() + 1);
        let _ = UserState::decode(&bytes[..n]);
    }

    #[test]
    fn a_burst_gives_one_to_n_over_threshold_detections(
        threshold in 1u32..=20,
        window_seconds in 1u32..=600,
        n_extra in 0usize..300,
        offsets in proptest::collection::vec(any::<prop::sample::Index>(), 320),
        shuffle_seed in any::<u64>(),
        dlp_kind in any::<bool>(),
    ) {
        let n = threshold as usize + n_extra;
        let (id, mut config) = if dlp_kind { ("high_dlp", all_enabled()) } else { ("failed_logins", all_enabled()) };
        update(&mut config, json!({ id: {"enabled": true, "risk_level": "medium",
            "settings": {"threshold": threshold, "window_seconds": window_seconds}}}));
        let window_ms = i64::from(window_seconds) * SEC;
        let mut times: Vec<i64> = offsets[..n]
            .iter()
            .map(|o| T0 + o.index(window_ms as usize + 1) as i64)
            .collect();
        // Deterministic shuffle: arrival order need not be time order.
        let mut seed = shuffle_seed | 1;
        for i in (1..times.len()).rev() {
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
            times.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        let mut state = UserState::default();
        let mut count = 0;
        for t in times {
            let e = if dlp_kind { dlp(t) } else { failed(t) };
            count += detect(&mut state, &e, &config).len();
        }
        prop_assert!(count >= 1 && count <= n / threshold as usize, "{} of {}", count, n);
    }

    #[test]
    fn detection_keeps_the_state_encodable(events in proptest::collection::vec(arb_event(), 0..60)) {
        let config = all_enabled();
        let mut state = UserState::default();
        for e in &events {
            for d in detect(&mut state, e, &config) {
                prop_assert_eq!(d.details["behavior"].as_str(), Some(d.behavior.as_str()));
                prop_assert!(d.details["events"].as_array().is_some_and(|a| !a.is_empty()));
            }
            let decoded = UserState::decode(&state.encode());
            prop_assert_eq!(decoded.as_ref(), Some(&state));
        }
    }
}

// ---------------------------------------------------------------- controls (spec 6.1)

fn login_from(ts: i64, place: (f64, f64), ip: &str) -> Event {
    let mut e = login(ts, place);
    if let EventKind::AccessLogin { ip: slot, .. } = &mut e.kind {
        *slot = ip.parse().ok();
    }
    e
}

fn ids_of(state: &mut UserState, events: &[Event], config: &AccountBehaviors) -> Vec<String> {
    events
        .iter()
        .flat_map(|e| detect(state, e, config))
        .map(|d| d.behavior.to_string())
        .collect()
}

#[test]
fn trusted_networks_are_neither_compared_nor_remembered() {
    let mut config = all_enabled();
    update(
        &mut config,
        json!({"imp_travel": {"enabled": true, "risk_level": "high",
        "settings": {"trusted_networks": ["10.0.0.0/8", "2001:db8::/32"]}}}),
    );
    let mut state = UserState::default();
    // London, then "Sydney" through the VPN five minutes later: nothing, and the VPN login is
    // not remembered, so New York an hour after London compares with London (too fast).
    let events = [
        login_from(T0, LONDON, "203.0.113.5"),
        login_from(T0 + 5 * MIN, SYDNEY, "10.1.2.3"),
        login_from(T0 + 10 * MIN, TOKYO, "2001:db8::7"),
    ];
    assert!(ids_of(&mut state, &events, &config).is_empty());
    let later = [login_from(T0 + HOUR, NEW_YORK, "198.51.100.9")];
    assert_eq!(ids_of(&mut state, &later, &config), ["imp_travel"]);
}

#[test]
fn one_ip_is_one_place_unless_turned_off() {
    let config = all_enabled();
    let mut state = UserState::default();
    let same_ip = [
        login_from(T0, LONDON, "203.0.113.5"),
        login_from(T0 + MIN, SYDNEY, "203.0.113.5"),
    ];
    assert!(
        ids_of(&mut state, &same_ip, &config).is_empty(),
        "a GeoIP database moved the IP"
    );
    // A late event from the same IP is also the same place.
    let late = [login_from(T0 - 2 * MIN, TOKYO, "203.0.113.5")];
    assert!(ids_of(&mut state, &late, &config).is_empty());
    let mut off = all_enabled();
    update(
        &mut off,
        json!({"imp_travel": {"enabled": true, "risk_level": "high",
        "settings": {"same_ip_is_same_place": false}}}),
    );
    let mut state = UserState::default();
    assert_eq!(ids_of(&mut state, &same_ip, &off), ["imp_travel"]);
    // Without IPs, nothing is the same place.
    let mut state = UserState::default();
    let no_ip = [login(T0, LONDON), login(T0 + MIN, SYDNEY)];
    assert_eq!(ids_of(&mut state, &no_ip, &config), ["imp_travel"]);
    // The remembered IP survives the storage format.
    let mut state = UserState::default();
    detect(&mut state, &login_from(T0, LONDON, "203.0.113.5"), &config);
    let mut back = UserState::decode(&state.encode()).unwrap_or_default();
    assert_eq!(back, state);
    assert!(
        ids_of(
            &mut back,
            &[login_from(T0 + MIN, SYDNEY, "203.0.113.5")],
            &config
        )
        .is_empty()
    );
}

#[test]
fn excluded_users_are_never_detected_and_others_are() {
    let mut config = all_enabled();
    update(
        &mut config,
        json!({
            "failed_logins": {"enabled": true, "risk_level": "medium",
                              "settings": {"threshold": 2, "exclude_users": ["A@EXAMPLE.COM"]}},
            "foo": {"enabled": true, "risk_level": "medium", "settings": {"exclude_users": ["*@example.com"]}},
            "imp_travel": {"enabled": true, "risk_level": "high", "settings": {"exclude_users": ["svc-*@example.com"]}}
        }),
    );
    let mut state = UserState::default();
    let fails = [failed(T0), failed(T0 + SEC), failed(T0 + 2 * SEC)];
    assert!(ids_of(&mut state, &fails, &config).is_empty());
    let external = event(
        T0,
        EventKind::Behavior {
            behavior: "foo".parse().unwrap_or_else(|e| panic!("{e:?}")),
            details: None,
        },
    );
    assert!(detect(&mut state, &external, &config).is_empty());
    // a@example.com is not svc-*: impossible travel still applies to them.
    let travel = [login(T0, LONDON), login(T0 + MIN, SYDNEY)];
    assert_eq!(ids_of(&mut state, &travel, &config), ["imp_travel"]);
}

#[test]
fn monitor_only_detections_are_marked_and_flagged() {
    let mut config = all_enabled();
    update(
        &mut config,
        json!({"malicious_file": {"enabled": true, "risk_level": "high",
        "settings": {"monitor_only": true}}}),
    );
    let mut state = UserState::default();
    let file = event(
        T0,
        EventKind::GatewayFile {
            verdict: "malicious".into(),
            action: "block".into(),
            file_name: None,
            sha256: None,
        },
    );
    let got = one(detect(&mut state, &file, &config));
    assert!(got.monitor_only);
    assert_eq!(got.details["monitor_only"], true);
    // Other behaviors are unaffected.
    let got = one(detect(&mut state, &s1(T0, Some(1)), &config));
    assert!(!got.monitor_only && got.details.get("monitor_only").is_none());
}
