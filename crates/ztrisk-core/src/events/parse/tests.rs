use crate::BehaviorId;
use crate::events::{Event, EventKind, Location, PostureProvider, format_timestamp};
use serde_json::{Value, json};

fn ok(value: Value) -> Event {
    Event::parse(&value).unwrap_or_else(|e| panic!("{value}: {e:?}"))
}

/// The pointers of the errors, sorted; every message must say what was expected.
fn pointers(value: Value) -> Vec<String> {
    match Event::parse(&value) {
        Ok(e) => panic!("expected errors for {value}, got {e:?}"),
        Err(errors) => {
            for e in &errors {
                assert!(
                    e.message.contains("expected") || e.message.contains("required"),
                    "{e:?}"
                );
            }
            let mut p: Vec<_> = errors.into_iter().map(|e| e.pointer).collect();
            p.sort();
            p
        }
    }
}

/// A valid event of `type` with `fields` merged in (a `null` field removes it).
fn with(kind: &str, fields: Value) -> Value {
    let mut base = json!({
        "type": kind,
        "timestamp": "2026-11-24T10:00:00Z",
        "user": {"email": "a@example.com"},
    });
    if let (Some(map), Some(extra)) = (base.as_object_mut(), fields.as_object()) {
        for (k, v) in extra {
            if v.is_null() {
                map.remove(k);
            } else {
                map.insert(k.clone(), v.clone());
            }
        }
    }
    base
}

const T0: i64 = 1_795_514_400_000; // 2026-11-24T10:00:00Z

#[test]
fn access_login_full() {
    let e = ok(json!({
        "id": "evt-1", "type": "access_login", "timestamp": "2026-11-24T12:00:00.123+02:00",
        "user": {"email": "Alice@Example.COM", "id": "9d5e1f7a-2c3b-4e8f-9a1b-0c2d3e4f5a6b", "name": "Alice"},
        "success": true, "ip": "2001:db8::1",
        "location": {"lat": 51.5, "lon": -0.12, "country": "GB", "city": "London"},
        "app": "wiki", "unknown": {"ignored": true}
    }));
    assert_eq!(e.id.as_deref(), Some("evt-1"));
    assert_eq!(e.timestamp, T0 + 123);
    assert_eq!(e.user.email, "alice@example.com");
    assert_eq!(e.user.name.as_deref(), Some("Alice"));
    assert_eq!(
        e.user.id.map(|u| u.to_string()).as_deref(),
        Some("9d5e1f7a-2c3b-4e8f-9a1b-0c2d3e4f5a6b")
    );
    assert_eq!(
        e.kind,
        EventKind::AccessLogin {
            success: true,
            ip: "2001:db8::1".parse().ok(),
            location: Some(Location {
                lat: 51.5,
                lon: -0.12,
                country: Some("GB".into()),
                city: Some("London".into()),
                source: Default::default(),
            }),
            app: Some("wiki".into()),
        }
    );
    assert_eq!(e.kind.type_name(), "access_login");
}

#[test]
fn access_login_minimal_and_nulls() {
    let e = ok(with(
        "access_login",
        json!({"success": false, "id": null, "ip": null, "location": null, "app": null}),
    ));
    assert_eq!(e.id, None);
    assert_eq!(e.timestamp, T0);
    assert_eq!(e.user.id, None);
    assert_eq!(e.user.name, None);
    assert_eq!(
        e.kind,
        EventKind::AccessLogin {
            success: false,
            ip: None,
            location: None,
            app: None
        }
    );
    let e = ok(with(
        "access_login",
        json!({"success": true, "ip": "10.0.0.1", "location": {"lat": -90, "lon": 180}}),
    ));
    let EventKind::AccessLogin { ip, location, .. } = e.kind else {
        panic!("{:?}", e.kind)
    };
    assert_eq!(ip, "10.0.0.1".parse().ok());
    assert_eq!(location.map(|l| (l.lat, l.lon)), Some((-90.0, 180.0)));
}

#[test]
fn access_login_errors() {
    assert_eq!(pointers(with("access_login", json!({}))), ["/success"]);
    assert_eq!(
        pointers(with(
            "access_login",
            json!({"success": "yes", "ip": "999.1.1.1", "app": 5,
                   "location": {"lat": 90.5, "lon": -181, "country": 1, "city": []}})
        )),
        [
            "/app",
            "/ip",
            "/location/city",
            "/location/country",
            "/location/lat",
            "/location/lon",
            "/success"
        ]
    );
    assert_eq!(
        pointers(with(
            "access_login",
            json!({"success": true, "location": {}})
        )),
        ["/location/lat", "/location/lon"]
    );
    assert_eq!(
        pointers(with(
            "access_login",
            json!({"success": true, "location": {"lat": "1", "lon": 2}})
        )),
        ["/location/lat"]
    );
    assert_eq!(
        pointers(with(
            "access_login",
            json!({"success": true, "location": [1, 2], "ip": 3})
        )),
        ["/ip", "/location"]
    );
}

#[test]
fn dlp_match() {
    let e = ok(with(
        "dlp_match",
        json!({"profile": "Credit cards", "policy": "block-pci"}),
    ));
    assert_eq!(
        e.kind,
        EventKind::DlpMatch {
            profile: "Credit cards".into(),
            policy: Some("block-pci".into())
        }
    );
    assert_eq!(e.kind.type_name(), "dlp_match");
    let e = ok(with("dlp_match", json!({"profile": "SSN"})));
    assert!(matches!(e.kind, EventKind::DlpMatch { policy: None, .. }));
    assert_eq!(pointers(with("dlp_match", json!({}))), ["/profile"]);
    assert_eq!(
        pointers(with("dlp_match", json!({"profile": "", "policy": 1}))),
        ["/policy", "/profile"]
    );
    assert_eq!(
        pointers(with("dlp_match", json!({"profile": 3}))),
        ["/profile"]
    );
}

#[test]
fn device_posture() {
    let e = ok(with(
        "device_posture",
        json!({"provider": "crowdstrike", "device_id": "d1", "zta_score": 42, "active_threats": 0}),
    ));
    assert_eq!(
        e.kind,
        EventKind::DevicePosture {
            provider: PostureProvider::CrowdStrike,
            device_id: "d1".into(),
            active_threats: Some(0),
            zta_score: Some(42)
        }
    );
    let e = ok(with(
        "device_posture",
        json!({"provider": "sentinel_one", "device_id": "d2", "active_threats": 3.0, "zta_score": 100}),
    ));
    assert_eq!(
        e.kind,
        EventKind::DevicePosture {
            provider: PostureProvider::SentinelOne,
            device_id: "d2".into(),
            active_threats: Some(3),
            zta_score: Some(100)
        }
    );
    assert_eq!(e.kind.type_name(), "device_posture");
    assert_eq!(
        pointers(with("device_posture", json!({}))),
        ["/device_id", "/provider"]
    );
    assert_eq!(
        pointers(with(
            "device_posture",
            json!({"provider": "Crowdstrike", "device_id": 7, "active_threats": -1, "zta_score": 101})
        )),
        ["/active_threats", "/device_id", "/provider", "/zta_score"]
    );
    assert_eq!(
        pointers(with(
            "device_posture",
            json!({"provider": 1, "device_id": "d", "active_threats": 1.5, "zta_score": "5"})
        )),
        ["/active_threats", "/provider", "/zta_score"]
    );
    assert_eq!(
        pointers(with(
            "device_posture",
            json!({"provider": "crowdstrike", "device_id": "d", "active_threats": 5_000_000_000u64, "zta_score": 50.5})
        )),
        ["/active_threats", "/zta_score"]
    );
}

#[test]
fn gateway_file() {
    let hash = "AB".repeat(32);
    let e = ok(with(
        "gateway_file",
        json!({"verdict": "malicious", "action": "block", "file_name": "x.exe", "sha256": hash}),
    ));
    assert_eq!(
        e.kind,
        EventKind::GatewayFile {
            verdict: "malicious".into(),
            action: "block".into(),
            file_name: Some("x.exe".into()),
            sha256: Some("ab".repeat(32))
        }
    );
    assert_eq!(e.kind.type_name(), "gateway_file");
    let e = ok(with(
        "gateway_file",
        json!({"verdict": "clean", "action": "allow"}),
    ));
    assert!(matches!(
        e.kind,
        EventKind::GatewayFile {
            file_name: None,
            sha256: None,
            ..
        }
    ));
    assert_eq!(
        pointers(with("gateway_file", json!({}))),
        ["/action", "/verdict"]
    );
    assert_eq!(
        pointers(with(
            "gateway_file",
            json!({"verdict": true, "action": "", "file_name": 1, "sha256": "abc"})
        )),
        ["/action", "/file_name", "/sha256", "/verdict"]
    );
    assert_eq!(
        pointers(with(
            "gateway_file",
            json!({"verdict": "clean", "action": "allow", "sha256": "g".repeat(64)})
        )),
        ["/sha256"]
    );
}

#[test]
fn gateway_dns() {
    let e = ok(with(
        "gateway_dns",
        json!({"query": "evil.example", "categories": ["Security Threats", "Malware"], "action": "block"}),
    ));
    assert_eq!(
        e.kind,
        EventKind::GatewayDns {
            query: "evil.example".into(),
            categories: vec!["Security Threats".into(), "Malware".into()],
            action: "block".into()
        }
    );
    assert_eq!(e.kind.type_name(), "gateway_dns");
    let e = ok(with(
        "gateway_dns",
        json!({"query": "a.example", "categories": [], "action": "allow"}),
    ));
    assert!(
        matches!(e.kind, EventKind::GatewayDns { ref categories, .. } if categories.is_empty())
    );
    assert_eq!(
        pointers(with("gateway_dns", json!({}))),
        ["/action", "/categories", "/query"]
    );
    assert_eq!(
        pointers(with(
            "gateway_dns",
            json!({"query": "q", "categories": ["ok", 1, null], "action": "allow"})
        )),
        ["/categories/1", "/categories/2"]
    );
    assert_eq!(
        pointers(with(
            "gateway_dns",
            json!({"query": [], "categories": "Malware", "action": 1})
        )),
        ["/action", "/categories", "/query"]
    );
}

#[test]
fn behavior() {
    let e = ok(with(
        "behavior",
        json!({"behavior": "foo", "details": {"score": 9}}),
    ));
    assert_eq!(
        e.kind,
        EventKind::Behavior {
            behavior: "foo"
                .parse::<BehaviorId>()
                .unwrap_or_else(|e| panic!("{e}")),
            details: Some(json!({"score": 9}))
        }
    );
    assert_eq!(e.kind.type_name(), "behavior");
    let e = ok(with("behavior", json!({"behavior": "imp_travel"})));
    assert!(matches!(e.kind, EventKind::Behavior { details: None, .. }));
    assert_eq!(pointers(with("behavior", json!({}))), ["/behavior"]);
    assert_eq!(
        pointers(with(
            "behavior",
            json!({"behavior": "Bad-Id", "details": [1]})
        )),
        ["/behavior", "/details"]
    );
    assert_eq!(
        pointers(with("behavior", json!({"behavior": 1, "details": "x"}))),
        ["/behavior", "/details"]
    );
    assert_eq!(
        pointers(with("behavior", json!({"behavior": "a".repeat(65)}))),
        ["/behavior"]
    );
}

#[test]
fn common_field_errors() {
    assert_eq!(pointers(json!([])), [""]);
    assert_eq!(pointers(json!("x")), [""]);
    assert_eq!(pointers(json!({})), ["/timestamp", "/type", "/user"]);
    assert_eq!(
        pointers(json!({"type": null, "timestamp": null, "user": null})),
        ["/timestamp", "/type", "/user"]
    );
    assert_eq!(
        pointers(
            json!({"type": "login", "timestamp": 1795514400, "user": "a@example.com", "id": ""})
        ),
        ["/id", "/timestamp", "/type", "/user"]
    );
    assert_eq!(
        pointers(json!({"type": 1, "timestamp": "2026-11-24 10:00", "user": {}, "id": 5})),
        ["/id", "/timestamp", "/type", "/user/email"]
    );
    // Type-specific errors are reported together with the common ones.
    assert_eq!(
        pointers(json!({"type": "dlp_match", "timestamp": "yesterday",
                        "user": {"email": "nope", "id": "not-a-uuid", "name": 3}})),
        [
            "/profile",
            "/timestamp",
            "/user/email",
            "/user/id",
            "/user/name"
        ]
    );
    assert_eq!(
        pointers(with(
            "dlp_match",
            json!({"profile": "p", "id": "x".repeat(129)})
        )),
        ["/id"]
    );
    assert_eq!(
        pointers(with(
            "dlp_match",
            json!({"profile": "p", "user": {"email": "a@example.com", "name": "n".repeat(257)}})
        )),
        ["/user/name"]
    );
    assert_eq!(
        pointers(with(
            "dlp_match",
            json!({"profile": "p", "user": {"email": 5}})
        )),
        ["/user/email"]
    );
}

#[test]
fn limits_are_inclusive_and_count_characters() {
    // 128 multi-byte characters are fine even though they are more than 128 bytes.
    let e = ok(with(
        "dlp_match",
        json!({"profile": "p", "id": "é".repeat(128),
               "user": {"email": "a@example.com", "name": "ü".repeat(256)}}),
    ));
    assert_eq!(e.id.map(|s| s.chars().count()), Some(128));
    assert_eq!(e.user.name.map(|s| s.chars().count()), Some(256));
    assert_eq!(
        pointers(with(
            "dlp_match",
            json!({"profile": "p", "id": "é".repeat(129)})
        )),
        ["/id"]
    );
}

#[test]
fn timestamps_in_any_offset_are_stored_as_utc_millis() {
    let at = |ts: &str| ok(with("dlp_match", json!({"profile": "p", "timestamp": ts}))).timestamp;
    assert_eq!(at("2026-11-24T10:00:00Z"), T0);
    assert_eq!(at("2026-11-24T05:00:00-05:00"), T0);
    assert_eq!(at("2026-11-24T10:00:00.999999Z"), T0 + 999);
    assert_eq!(at("1970-01-01T00:00:00Z"), 0);
    assert_eq!(at("1969-12-31T23:59:59.5Z"), -500);
    assert_eq!(
        format_timestamp(T0).as_deref(),
        Some("2026-11-24T10:00:00Z")
    );
    assert_eq!(
        format_timestamp(T0 + 5).as_deref(),
        Some("2026-11-24T10:00:00.005Z")
    );
    assert_eq!(format_timestamp(i64::MAX), None);
    for bad in [
        "2026-11-24",
        "2026-13-01T00:00:00Z",
        "2026-11-24T10:00:00",
        "",
    ] {
        assert_eq!(
            pointers(with("dlp_match", json!({"profile": "p", "timestamp": bad}))),
            ["/timestamp"],
            "{bad}"
        );
    }
}

#[test]
fn emails_are_lowercased_unicode_too() {
    let e = ok(with(
        "dlp_match",
        json!({"profile": "p", "user": {"email": "ÉLODIE@Example.FR"}}),
    ));
    assert_eq!(e.user.email, "élodie@example.fr");
}

/// Caught by the fuzz targets' round trip (fuzz/, target `events`): an offset carried a time
/// out of the years RFC 3339 can write in UTC, so the event could not be shown or sent again.
#[test]
fn timestamps_must_stay_in_years_0000_to_9999_in_utc() {
    let at = |ts: &str| ok(with("dlp_match", json!({"profile": "p", "timestamp": ts}))).timestamp;
    for edge in [
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999Z",
        "0000-01-01T00:00:00-01:00",
    ] {
        let ms = at(edge);
        let shown = format_timestamp(ms).unwrap_or_else(|| panic!("{edge}"));
        assert_eq!(at(&shown), ms, "{edge} is shown as {shown}");
    }
    for bad in ["0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59-00:01"] {
        assert_eq!(
            pointers(with("dlp_match", json!({"profile": "p", "timestamp": bad}))),
            ["/timestamp"],
            "{bad}"
        );
    }
}

/// Caught by the fuzz targets' round trip (fuzz/, `events`, `ocsf`): an address within 254
/// bytes grew past them once lowercased, and the stored address was then no email address.
#[test]
fn emails_are_checked_as_they_are_kept_lowercased() {
    let fits = format!("{}@b.example", "\u{23a}".repeat(120));
    assert!(fits.len() <= 254 && fits.to_lowercase().len() > 254);
    assert_eq!(
        pointers(with(
            "dlp_match",
            json!({"profile": "p", "user": {"email": fits}})
        )),
        ["/user/email"]
    );
    assert_eq!(crate::events::UserRef::by_email(&fits), None);
    let short = format!("{}@b.example", "\u{23a}".repeat(20));
    assert_eq!(
        ok(with(
            "dlp_match",
            json!({"profile": "p", "user": {"email": short}})
        ))
        .user
        .email,
        short.to_lowercase()
    );
    assert!(crate::events::UserRef::by_email(&short).is_some());
}

fn arb_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-200.0f64..200.0).prop_map(Value::from),
        prop_oneof![
            Just("access_login".to_string()),
            Just("dlp_match".to_string()),
            Just("gateway_dns".to_string()),
            Just("crowdstrike".to_string()),
            Just("2026-11-24T10:00:00Z".to_string()),
            Just("a@example.com".to_string()),
            "\\PC{0,12}",
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        let keys = prop_oneof![
            Just("type".to_string()),
            Just("timestamp".to_string()),
            Just("user".to_string()),
            Just("email".to_string()),
            Just("location".to_string()),
            Just("lat".to_string()),
            Just("categories".to_string()),
            Just("provider".to_string()),
            Just("success".to_string()),
            "[a-z_]{1,8}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(keys, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    #[test]
    fn parse_never_panics_and_points_into_the_event(value in arb_json()) {
        if let Err(errors) = Event::parse(&value) {
            proptest::prop_assert!(!errors.is_empty());
            for e in errors {
                proptest::prop_assert!(e.pointer.is_empty() || e.pointer.starts_with('/'));
                proptest::prop_assert!(!e.message.is_empty());
            }
        }
    }
}
