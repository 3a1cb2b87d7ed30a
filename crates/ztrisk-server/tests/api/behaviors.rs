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
    assert_eq!(
        behaviors["imp_travel"]["settings"],
        json!({"max_speed_kmh": 900, "min_distance_km": 100})
    );
    assert_eq!(
        behaviors["high_dlp"]["settings"],
        json!({"threshold": 15, "window_seconds": 60})
    );
    assert_eq!(
        behaviors["failed_logins"]["settings"],
        json!({"threshold": 10, "window_seconds": 300})
    );
    assert_eq!(
        behaviors["crowdstrike_medium_zta"]["settings"],
        json!({"max_score": 79})
    );
    assert_eq!(behaviors["high_risk_domain"]["risk_level"], "low");
    assert!(behaviors["sentinel_one"].get("settings").is_none());
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
        result["imp_travel"]["settings"],
        json!({"max_speed_kmh": 1200, "min_distance_km": 50.5})
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
