//! Record by record, from an Okta event hook delivery shaped as Okta documents it.

use super::super::test_support::{ms, one, rejected, skipped, with};
use super::hook_events;
use crate::adapters::Source;
use serde_json::{Value, json};
use ztrisk_core::events::{EventKind, Location, LocationSource};

fn sso() -> Value {
    json!({
      "uuid": "dc9fd3c0-598c-11ef-8478-2b7584bf8d5a", "published": "2026-11-24T10:00:00.353Z",
      "eventType": "user.authentication.sso", "version": "0", "severity": "INFO",
      "displayMessage": "User single sign on to app",
      "actor": {"id": "00uttidj01jqL21aM1d6", "type": "User", "alternateId": "jane.doe@example.com", "displayName": "Jane Doe"},
      "client": {"userAgent": {"browser": "CHROME"}, "zone": "null", "device": "Computer", "id": null,
                 "ipAddress": "198.51.100.7",
                 "geographicalContext": {"city": "New York", "state": "New York", "country": "United States",
                                         "postalCode": "10013", "geolocation": {"lat": 40.7157, "lon": -74.01}}},
      "outcome": {"result": "SUCCESS", "reason": null},
      "target": [{"id": "0oatxlef9sQvvqInq5d6", "type": "AppInstance", "alternateId": "Salesforce",
                  "displayName": "Salesforce", "detailEntry": {"signOnModeType": "SAML_2_0"}}],
      "transaction": {"type": "WEB", "id": "ab609228fe84ce59cdcbfa690bcce016", "detail": {}}
    })
}

#[test]
fn a_sign_on_maps_every_field() {
    let event = one(Source::Okta, sso());
    assert_eq!(
        event.id.as_deref(),
        Some("dc9fd3c0-598c-11ef-8478-2b7584bf8d5a")
    );
    assert_eq!(event.timestamp, ms("2026-11-24T10:00:00.353Z"));
    assert_eq!(event.user.email, "jane.doe@example.com");
    assert_eq!(event.user.name.as_deref(), Some("Jane Doe"));
    assert_eq!(
        event.user.external_id.as_deref(),
        Some("00uttidj01jqL21aM1d6")
    );
    assert_eq!(event.user.id, None);
    assert_eq!(
        event.kind,
        EventKind::AccessLogin {
            success: true,
            ip: "198.51.100.7".parse().ok(),
            location: Some(Location {
                lat: 40.7157,
                lon: -74.01,
                country: Some("United States".into()),
                city: Some("New York".into()),
                source: LocationSource::Sender,
            }),
            app: Some("Salesforce".into()),
        }
    );
}

#[test]
fn failures_count_and_other_outcomes_and_types_are_skipped() {
    let failed = with(
        sso(),
        "outcome",
        json!({"result": "FAILURE", "reason": "INVALID_CREDENTIALS"}),
    );
    let failed = with(failed, "eventType", json!("user.session.start"));
    let failed = with(failed, "target", Value::Null);
    let event = one(Source::Okta, failed);
    assert!(matches!(
        event.kind,
        EventKind::AccessLogin {
            success: false,
            app: None,
            ..
        }
    ));
    for t in [
        "user.authentication.auth_via_mfa",
        "user.authentication.verify",
    ] {
        one(Source::Okta, with(sso(), "eventType", json!(t)));
    }
    skipped(
        Source::Okta,
        with(sso(), "eventType", json!("user.session.end")),
    );
    skipped(
        Source::Okta,
        with(sso(), "eventType", json!("user.lifecycle.create")),
    );
    skipped(
        Source::Okta,
        with(sso(), "outcome", json!({"result": "CHALLENGE"})),
    );
    skipped(Source::Okta, with(sso(), "outcome", Value::Null));
    // System actors and usernames that are not emails are nobody ztrisk can key.
    skipped(
        Source::Okta,
        with(
            sso(),
            "actor",
            json!({"id": "0oa1", "type": "PublicClientApp", "alternateId": "okta-app"}),
        ),
    );
}

#[test]
fn awkward_records() {
    // No geolocation: no location (no GeoIP in this test), but the login still counts.
    let client = json!({"ipAddress": "203.0.113.9", "geographicalContext": null});
    let event = one(Source::Okta, with(sso(), "client", client));
    assert!(matches!(
        event.kind,
        EventKind::AccessLogin {
            location: None,
            ip: Some(_),
            ..
        }
    ));
    assert_eq!(
        rejected(Source::Okta, with(sso(), "published", json!("yesterday"))),
        ["/published"]
    );
    assert_eq!(
        rejected(
            Source::Okta,
            with(sso(), "client", json!({"ipAddress": "not-an-ip"}))
        ),
        ["/client/ipAddress"]
    );
    let a = one(Source::Okta, with(sso(), "uuid", Value::Null));
    assert!(a.id.is_some_and(|id| id.starts_with("okta:")));
}

#[test]
fn hook_deliveries_give_their_events_and_other_values_come_back() {
    let delivery = json!({"eventType": "com.okta.event_hook", "eventTypeVersion": "1.0",
                          "cloudEventsVersion": "0.1", "contentType": "application/json",
                          "eventId": "b5a188b9-5ece-4636-b041-482ffda96311",
                          "eventTime": "2026-11-24T10:00:03.032Z",
                          "source": "https://example.okta.com/api/v1/eventHooks/whoql0HfiLGPWc8Jx0g3",
                          "data": {"events": [sso(), sso()]}});
    assert_eq!(hook_events(delivery).map(|e| e.len()), Ok(2));
    assert_eq!(hook_events(sso()).map_err(|v| v == sso()), Err(true));
}
