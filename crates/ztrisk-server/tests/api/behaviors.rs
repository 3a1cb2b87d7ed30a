//! The behaviors contract: GET and PUT `/behaviors`, and their validation errors.

use crate::support::SEED;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ztrisk_server::testing::{TestServer, assert_error, pointers};

#[tokio::test]
async fn the_seed_example_works_under_both_base_paths() {
    let server = TestServer::start().await;
    for base in ["/client/v4", ""] {
        let (status, body) = server
            .call(
                Method::PUT,
                &format!(
                    "{base}/accounts/{}/zt_risk_scoring/behaviors",
                    server.account
                ),
                &server.admin,
                Some(SEED),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["success"], true);
        assert_eq!(body["errors"], json!([]));
        assert_eq!(body["messages"], json!([]));
        assert_eq!(body["result"]["behaviors"]["foo"]["enabled"], true);
        assert_eq!(body["result"]["behaviors"]["foo"]["risk_level"], "low");
        assert_eq!(body["result"]["behaviors"]["foo"]["name"], "foo");
    }
    let (_, body) = server.get_behaviors(&server.admin).await;
    assert_eq!(body["result"]["behaviors"]["foo"]["risk_level"], "low");
}

#[tokio::test]
async fn get_lists_every_predefined_behavior_in_a_stable_order() {
    let server = TestServer::start().await;
    server.put_behaviors(&server.admin, r#"{"behaviors": {"zed": {"enabled": false, "risk_level": "high"}, "abc": {"enabled": true, "risk_level": "medium"}}}"#).await;
    let raw = server
        .raw_get(&server.behaviors_path(), &server.admin)
        .await;
    let ids = keys_in_order(&raw, "\"behaviors\":{");
    assert_eq!(
        ids,
        [
            "imp_travel",
            "high_dlp",
            "failed_logins",
            "sentinel_one",
            "crowdstrike_low_zta",
            "crowdstrike_medium_zta",
            "malicious_file",
            "suspicious_security_domain",
            "high_risk_domain",
            "abc",
            "zed"
        ]
    );
    let body: Value = serde_json::from_str(&raw).unwrap_or_default();
    let behaviors = &body["result"]["behaviors"];
    assert_eq!(behaviors["imp_travel"]["name"], "Impossible Travel");
    assert_eq!(behaviors["imp_travel"]["enabled"], false);
    assert_eq!(behaviors["imp_travel"]["risk_level"], "high");
    // Every behavior has the controls of spec 6.1; impossible travel also its networks.
    let controls = json!({"exclude_users": [], "monitor_only": false, "expire_after_days": 0});
    let with = |extra: Value| {
        let mut all = controls.clone();
        if let (Some(all), Some(extra)) = (all.as_object_mut(), extra.as_object()) {
            all.extend(extra.clone());
        }
        all
    };
    assert_eq!(
        behaviors["imp_travel"]["settings"],
        with(json!({"max_speed_kmh": 900, "min_distance_km": 100,
                    "trusted_networks": [], "same_ip_is_same_place": true}))
    );
    assert_eq!(
        behaviors["high_dlp"]["settings"],
        with(json!({"threshold": 15, "window_seconds": 60}))
    );
    assert_eq!(
        behaviors["failed_logins"]["settings"],
        with(json!({"threshold": 10, "window_seconds": 300}))
    );
    assert_eq!(
        behaviors["crowdstrike_medium_zta"]["settings"],
        with(json!({"max_score": 79}))
    );
    assert_eq!(behaviors["high_risk_domain"]["risk_level"], "low");
    assert_eq!(behaviors["sentinel_one"]["settings"], controls);
}

/// The object keys that follow `marker` in a JSON text, in the order they were written.
fn keys_in_order(raw: &str, marker: &str) -> Vec<String> {
    let start = raw.find(marker).map(|i| i + marker.len()).unwrap_or(0);
    let mut keys = Vec::new();
    let mut depth = 0;
    let mut chars = raw[start..].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            '"' => {
                let rest = &raw[start + i + 1..];
                let end = rest.find('"').unwrap_or(0);
                if depth == 0 && rest[end + 1..].starts_with(':') {
                    keys.push(rest[..end].to_owned());
                }
                for _ in 0..=end {
                    chars.next();
                }
            }
            _ => {}
        }
    }
    keys
}

#[tokio::test]
async fn put_merges_and_tunes_settings() {
    let server = TestServer::start().await;
    server.put_behaviors(&server.admin, r#"{"behaviors": {"imp_travel": {"enabled": true, "risk_level": "medium", "settings": {"max_speed_kmh": 1200}}, "foo": {"enabled": true, "risk_level": "low"}}}"#).await;
    let (status, body) = server.put_behaviors(&server.admin, r#"{"behaviors": {"imp_travel": {"enabled": false, "risk_level": "low", "settings": {"min_distance_km": 50.5}}}}"#).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let result = &body["result"]["behaviors"];
    assert_eq!(
        result["foo"]["enabled"], true,
        "ids left out keep their settings"
    );
    assert_eq!(result["imp_travel"]["enabled"], false);
    assert_eq!(result["imp_travel"]["risk_level"], "low");
    assert_eq!(
        (
            &result["imp_travel"]["settings"]["max_speed_kmh"],
            &result["imp_travel"]["settings"]["min_distance_km"]
        ),
        (&json!(1200), &json!(50.5))
    );
    let (_, empty) = server
        .put_behaviors(&server.admin, r#"{"behaviors": {}}"#)
        .await;
    assert_eq!(empty["result"], body["result"], "{{}} is a no-op");
}

#[tokio::test]
async fn a_bad_entry_changes_nothing_and_every_problem_is_reported() {
    let server = TestServer::start().await;
    let (_, before) = server.get_behaviors(&server.admin).await;
    let response = server
        .put_behaviors(
            &server.admin,
            r#"{"behaviors": {
                "high_dlp": {"enabled": true, "risk_level": "high"},
                "imp_travel": {"enabled": true, "risk_level": "severe"},
                "failed_logins": {"enabled": "yes", "risk_level": "low", "settings": {"threshold": 0, "bogus": 1}},
                "Not-An-Id": {"enabled": true, "risk_level": "low"},
                "sentinel_one": {"risk_level": "low"}
            }}"#,
        )
        .await;
    // One error per problem: the six pointers below.
    assert_error(&response, StatusCode::BAD_REQUEST, &[1001; 6], None);
    let body = response.1;
    assert_eq!(body["success"], false);
    assert_eq!(body["result"], Value::Null);
    for e in body["errors"].as_array().into_iter().flatten() {
        assert!(e["message"].as_str().is_some_and(|m| m.len() > 20), "{e}");
    }
    let mut pointers = pointers(&body);
    pointers.sort();
    assert_eq!(
        pointers,
        [
            "/behaviors/Not-An-Id",
            "/behaviors/failed_logins/enabled",
            "/behaviors/failed_logins/settings/bogus",
            "/behaviors/failed_logins/settings/threshold",
            "/behaviors/imp_travel/risk_level",
            "/behaviors/sentinel_one/enabled",
        ]
    );
    let (_, after) = server.get_behaviors(&server.admin).await;
    assert_eq!(
        before, after,
        "the valid high_dlp entry must not have been applied"
    );
}

#[tokio::test]
async fn shape_errors_point_at_the_field() {
    let server = TestServer::start().await;
    for (body, pointer) in [
        ("{}", "/behaviors"),
        (r#"{"behaviors": []}"#, "/behaviors"),
        (
            r#"{"behaviors": {"foo": {"enabled": true, "risk_level": "low", "settings": {"x": 1}}}}"#,
            "/behaviors/foo/settings/x",
        ),
        ("[]", ""),
    ] {
        let response = server.put_behaviors(&server.admin, body).await;
        assert_error(&response, StatusCode::BAD_REQUEST, &[1001], Some(pointer));
    }
}

#[tokio::test]
async fn concurrent_puts_of_different_behaviors_all_survive() {
    let server = TestServer::start().await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            let body = format!(
                r#"{{"behaviors": {{"custom_{i}": {{"enabled": true, "risk_level": "high"}}}}}}"#
            );
            server.put_behaviors(&server.admin, &body).await.0
        }));
    }
    for task in tasks {
        assert_eq!(task.await.ok(), Some(StatusCode::OK));
    }
    let (_, body) = server.get_behaviors(&server.admin).await;
    let count = body["result"]["behaviors"].as_object().map(|m| m.len());
    assert_eq!(count, Some(9 + 40));
}

#[tokio::test]
async fn detection_controls_validate_show_and_apply() {
    let server = TestServer::start().await;
    // Every bad element is pointed at; nothing is changed.
    let bad = r#"{"behaviors": {
        "imp_travel": {"enabled": true, "risk_level": "high",
                       "settings": {"trusted_networks": ["10.0.0.0/8", "10.0.0.0/40", 7], "same_ip_is_same_place": "no"}},
        "high_dlp": {"enabled": true, "risk_level": "low", "settings": {"trusted_networks": []}},
        "foo": {"enabled": true, "risk_level": "low",
                "settings": {"exclude_users": ["ok@example.com", "has space"], "monitor_only": 1, "expire_after_days": 99999}}
    }}"#;
    let (status, body) = server.put_behaviors(&server.admin, bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let mut got = pointers(&body);
    got.sort();
    assert_eq!(
        got,
        [
            "/behaviors/foo/settings/exclude_users/1",
            "/behaviors/foo/settings/expire_after_days",
            "/behaviors/foo/settings/monitor_only",
            "/behaviors/high_dlp/settings/trusted_networks",
            "/behaviors/imp_travel/settings/same_ip_is_same_place",
            "/behaviors/imp_travel/settings/trusted_networks/1",
            "/behaviors/imp_travel/settings/trusted_networks/2",
        ]
    );
    let (_, unchanged) = server.get_behaviors(&server.admin).await;
    assert!(unchanged["result"]["behaviors"].get("foo").is_none());

    // Valid controls are merged, shown by GET and kept by the next update.
    let good = r#"{"behaviors": {
        "foo": {"enabled": true, "risk_level": "high",
                "settings": {"exclude_users": ["svc-*@Example.com"], "monitor_only": true}},
        "imp_travel": {"enabled": true, "risk_level": "high", "settings": {"trusted_networks": ["10.1.2.3/8"]}}
    }}"#;
    assert_eq!(
        server.put_behaviors(&server.admin, good).await.0,
        StatusCode::OK
    );
    let again = r#"{"behaviors": {"foo": {"enabled": true, "risk_level": "high", "settings": {"expire_after_days": 30}}}}"#;
    assert_eq!(
        server.put_behaviors(&server.admin, again).await.0,
        StatusCode::OK
    );
    let (_, shown) = server.get_behaviors(&server.admin).await;
    let behaviors = &shown["result"]["behaviors"];
    assert_eq!(
        behaviors["foo"]["settings"],
        json!({"exclude_users": ["svc-*@example.com"], "monitor_only": true, "expire_after_days": 30})
    );
    assert_eq!(
        behaviors["imp_travel"]["settings"]["trusted_networks"],
        json!(["10.0.0.0/8"])
    );

    // Monitor-only: recorded and shown, marked, but it does not count; excluded users: nothing.
    const ANN: &str = "0b9c2f1e-5d7a-4c3b-8e6f-1a2b3c4d5e6f";
    const SVC: &str = "7e8f9a0b-1c2d-4e3f-8a5b-6c7d8e9f0a1b";
    let signal = |id: &str, email: &str, user_id: &str| {
        json!({"id": id, "type": "behavior", "behavior": "foo", "timestamp": "2026-11-20T10:00:00Z",
               "user": {"email": email, "id": user_id}})
    };
    let events = Value::from(vec![
        signal("s1", "ann@example.com", ANN),
        signal("s2", "svc-build@example.com", SVC),
    ]);
    let (status, result) = server
        .admin_call(Method::POST, "/events", Some(&events.to_string()))
        .await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(result["result"]["risk_events"], 1, "{result}");
    let (_, summary) = server.admin_call(Method::GET, "/summary", None).await;
    assert_eq!(
        summary["result"]["users"],
        json!([]),
        "monitor-only never counts"
    );
    // ... but it is shown, marked, on the user; the excluded user has nothing at all.
    let (_, ann) = server
        .admin_call(Method::GET, &format!("/{ANN}"), None)
        .await;
    assert_eq!(ann["result"]["risk_level"], Value::Null, "{ann}");
    assert_eq!(
        ann["result"]["events"][0]["event_details"]["monitor_only"], true,
        "{ann}"
    );
    let (_, svc) = server
        .admin_call(Method::GET, &format!("/{SVC}"), None)
        .await;
    assert_eq!(svc["result"]["events"], json!([]), "{svc}");
    server.shutdown().await;
}

#[tokio::test]
async fn risk_expires_after_the_days_set_also_across_a_restart() {
    let server = TestServer::start().await;
    let enable = r#"{"behaviors": {
        "bad_badge": {"enabled": true, "risk_level": "high", "settings": {"expire_after_days": 1}},
        "odd_hours": {"enabled": true, "risk_level": "low"}
    }}"#;
    assert_eq!(
        server.put_behaviors(&server.admin, enable).await.0,
        StatusCode::OK
    );
    let hook = json!({"url": "http://127.0.0.1:9/hook"}).to_string();
    let (_, hook) = server
        .admin_call(Method::POST, "/webhooks", Some(&hook))
        .await;
    let hook_id = hook["result"]["id"].as_str().unwrap_or_default().to_owned();
    // Expiry counts from detection, not from the event's time: a month-old event still counts.
    let old = (chrono::Utc::now() - chrono::Duration::days(30)).to_rfc3339();
    let signal = |id: &str, behavior: &str| {
        json!({"id": id, "type": "behavior", "behavior": behavior, "timestamp": old,
               "user": {"email": "ivy@example.com"}})
    };
    let events = Value::from(vec![signal("e1", "bad_badge"), signal("e2", "odd_hours")]);
    let (status, body) = server
        .admin_call(Method::POST, "/events", Some(&events.to_string()))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let level = |summary: &Value| {
        summary["result"]["users"][0]
            .get("max_risk_level")
            .cloned()
            .unwrap_or(Value::Null)
    };
    let (_, summary) = server.admin_call(Method::GET, "/summary", None).await;
    assert_eq!(level(&summary), "high");

    // Nothing is due yet; a restart keeps what is due when.
    let now = chrono::Utc::now().timestamp_millis();
    let none = server.store.expire_risk(now, 100).await.unwrap_or_default();
    assert_eq!(none.users, 0);
    let server = server.restart().await;
    let later = now + 2 * 86_400_000;
    let swept = server
        .store
        .expire_risk(later, 100)
        .await
        .unwrap_or_default();
    assert_eq!((swept.users, swept.level_changes), (1, 1), "{swept:?}");
    let (_, summary) = server.admin_call(Method::GET, "/summary", None).await;
    assert_eq!(level(&summary), "low", "{summary}");
    assert_eq!(summary["result"]["users"][0]["event_count"], 1);
    // The drop is a level change, sent as the system's doing.
    let (_, deliveries) = server
        .admin_call(
            Method::GET,
            &format!("/webhooks/{hook_id}/deliveries"),
            None,
        )
        .await;
    let newest = &deliveries["result"][0];
    assert_eq!(
        (
            newest["previous_level"].clone(),
            newest["current_level"].clone()
        ),
        (json!("high"), json!("low")),
        "{deliveries}"
    );
    // A second sweep finds nothing more to do.
    let again = server
        .store
        .expire_risk(later, 100)
        .await
        .unwrap_or_default();
    assert_eq!(again.users, 0);
    server.shutdown().await;
}
