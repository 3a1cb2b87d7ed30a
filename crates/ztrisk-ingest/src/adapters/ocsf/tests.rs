//! Record by record, from OCSF Authentication events as producers write them (OCSF 1.3 from
//! an Okta mapper; 1.1 CloudTrail with only `actor.user` and `status`).

use super::super::test_support::{ms, one, rejected, skipped, with};
use crate::adapters::Source;
use serde_json::{Value, json};
use ztrisk_core::events::{EventKind, LocationSource};

fn logon() -> Value {
    json!({"class_uid": 3002, "class_name": "Authentication", "category_uid": 3,
           "activity_id": 1, "activity_name": "Logon", "type_uid": 300201,
           "time": 1795514400353u64, "time_dt": "2026-11-24T10:00:00.353Z", "severity_id": 1,
           "status_id": 2, "status": "Failure", "status_detail": "INVALID_CREDENTIALS",
           "metadata": {"uid": "3aeede38-4f67-11ea-abd3-1f5d113f2546", "version": "1.3.0",
                        "product": {"name": "Okta System Log", "vendor_name": "Okta"}},
           "user": {"email_addr": "Jane.Doe@example.com", "name": "Jane Doe", "uid": "00uttidj01jqL21aM1d6", "type_id": 1},
           "actor": {"user": {"email_addr": "jane.doe@example.com", "name": "Jane Doe"}},
           "src_endpoint": {"ip": "203.0.113.9", "location": {"city": "Lagos", "country": "NG", "lat": 6.4541, "long": 3.3947}},
           "dst_endpoint": {"svc_name": "/api/v1/authn"}, "service": {"name": "Okta"}, "is_mfa": false})
}

#[test]
fn a_failed_logon_maps_every_field() {
    let event = one(Source::Ocsf, logon());
    assert_eq!(
        event.id.as_deref(),
        Some("3aeede38-4f67-11ea-abd3-1f5d113f2546")
    );
    assert_eq!(event.timestamp, ms("2026-11-24T10:00:00.353Z"));
    assert_eq!(event.user.email, "jane.doe@example.com");
    assert_eq!(
        event.user.external_id.as_deref(),
        Some("00uttidj01jqL21aM1d6")
    );
    let EventKind::AccessLogin {
        success,
        ip,
        location,
        app,
    } = event.kind
    else {
        panic!()
    };
    assert!(!success);
    assert_eq!(ip, "203.0.113.9".parse().ok());
    assert_eq!(app.as_deref(), Some("Okta"));
    let location = location.unwrap_or_else(|| panic!("no location"));
    assert_eq!(
        (location.lat, location.lon, location.source),
        (6.4541, 3.3947, LocationSource::Sender)
    );
    assert_eq!(
        (location.city.as_deref(), location.country.as_deref()),
        (Some("Lagos"), Some("NG"))
    );
}

#[test]
fn older_and_other_producers() {
    // OCSF 1.0/1.1: GeoJSON coordinates [lon, lat]; seconds in `time` (Okta's mapper).
    let old = with(
        logon(),
        "src_endpoint",
        json!({"ip": "203.0.113.9", "location": {"coordinates": [3.3947, 6.4541]}}),
    );
    let event = one(Source::Ocsf, with(old, "time", json!(1_795_514_400u64)));
    assert_eq!(event.timestamp, ms("2026-11-24T10:00:00Z"));
    assert!(
        matches!(&event.kind, EventKind::AccessLogin { location: Some(l), .. } if (l.lat, l.lon) == (6.4541, 3.3947))
    );
    // CloudTrail: only `actor.user`, `status` without `status_id`, no location but a country.
    let trail = json!({"class_uid": 3002, "activity_id": 1, "time": 1699633474000u64, "status": "Success",
                       "metadata": {"uid": "ct-1", "version": "1.1.0"},
                       "actor": {"user": {"name": "admin@example.com", "uid": "AIDAEXAMPLE"}},
                       "src_endpoint": {"ip": "198.51.100.1", "location": {"country": "de"}},
                       "dst_endpoint": {"svc_name": "signin.aws.amazon.com"}});
    let event = one(Source::Ocsf, trail);
    assert_eq!(event.user.email, "admin@example.com");
    let EventKind::AccessLogin {
        success,
        location,
        app,
        ..
    } = event.kind
    else {
        panic!()
    };
    assert!(success);
    assert_eq!(app.as_deref(), Some("signin.aws.amazon.com"));
    assert_eq!(
        location.map(|l| l.source),
        Some(LocationSource::CountryCentroid)
    );
    // Only `time_dt`.
    let event = one(Source::Ocsf, with(logon(), "time", Value::Null));
    assert_eq!(event.timestamp, ms("2026-11-24T10:00:00.353Z"));
}

#[test]
fn other_classes_activities_and_outcomes_are_skipped() {
    skipped(
        Source::Ocsf,
        json!({"class_uid": 4001, "time": 1795514400353u64}),
    );
    skipped(Source::Ocsf, with(logon(), "activity_id", json!(2)));
    skipped(Source::Ocsf, with(logon(), "activity_id", json!(3)));
    one(Source::Ocsf, with(logon(), "activity_id", json!(99)));
    skipped(
        Source::Ocsf,
        with(
            with(logon(), "status_id", json!(0)),
            "status",
            json!("Unknown"),
        ),
    );
    skipped(
        Source::Ocsf,
        with(
            with(logon(), "status_id", Value::Null),
            "status",
            Value::Null,
        ),
    );
    let nobody = with(
        with(logon(), "user", json!({"name": "jdoe", "uid": "1"})),
        "actor",
        Value::Null,
    );
    skipped(Source::Ocsf, nobody);
}

#[test]
fn broken_records_are_pointed_at() {
    assert_eq!(
        rejected(Source::Ocsf, with(logon(), "class_uid", Value::Null)),
        ["/class_uid"]
    );
    assert_eq!(
        rejected(Source::Ocsf, with(logon(), "time", json!("later"))),
        ["/time"]
    );
    assert_eq!(
        rejected(
            Source::Ocsf,
            with(with(logon(), "time", Value::Null), "time_dt", Value::Null)
        ),
        ["/time_dt"]
    );
    let bad_ip = with(logon(), "src_endpoint", json!({"ip": "x"}));
    assert_eq!(rejected(Source::Ocsf, bad_ip), ["/src_endpoint/ip"]);
}
