//! Ingest: events in over HTTP, risk events out of the engine, rejections and duplicates.

use crate::support::{
    LONDON, NEW_YORK, PARIS, dlp, enable, enable_impossible_travel, failed_login, login, send, t,
    user, user_by_email,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ztrisk_server::testing::{TestServer, assert_error};

#[tokio::test]
async fn nearby_or_slow_logins_and_disabled_behaviors_do_not_score() {
    let server = TestServer::start().await;
    // Disabled by default: nothing is detected.
    let result = send(
        &server,
        &[
            login("a1", "bo@example.com", 0, LONDON),
            login("a2", "bo@example.com", 10, NEW_YORK),
        ],
    )
    .await;
    assert_eq!(result["risk_events"], 0);
    enable_impossible_travel(&server).await;
    // London to Paris (about 344 km) in two hours is 172 km/h: possible.
    let result = send(
        &server,
        &[
            login("b1", "cy@example.com", 0, LONDON),
            login("b2", "cy@example.com", 120, PARIS),
        ],
    )
    .await;
    assert_eq!(result["risk_events"], 0);
    assert!(user_by_email(&server, "cy@example.com").await.is_none());
}

#[tokio::test]
async fn a_burst_yields_one_risk_event_and_levels_apply_from_the_update() {
    let server = TestServer::start().await;
    enable(
        &server,
        json!({"high_dlp": {"enabled": true, "risk_level": "medium"}}),
    )
    .await;
    let burst: Vec<Value> = (0..100)
        .map(|i| dlp(format!("d{i}"), "dee@example.com", i / 2))
        .collect();
    let result = send(&server, &burst).await;
    assert_eq!(result["accepted"], 100);
    assert_eq!(result["risk_events"], 1, "one burst, one risk event");

    enable(
        &server,
        json!({"high_dlp": {"enabled": true, "risk_level": "high"}}),
    )
    .await;
    let later: Vec<Value> = (0..15)
        .map(|i| dlp(format!("e{i}"), "dee@example.com", 3600 + i))
        .collect();
    assert_eq!(send(&server, &later).await["risk_events"], 1);

    let entry = user_by_email(&server, "dee@example.com")
        .await
        .unwrap_or_else(|| panic!("not scored"));
    assert_eq!(entry["max_risk_level"], "high");
    assert_eq!(entry["event_count"], 2);
    let detail = user(&server, entry["user_id"].as_str().unwrap_or_default()).await;
    let levels: Vec<_> = detail["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["risk_level"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        levels,
        ["high", "medium"],
        "newest first; the first keeps the level it was recorded with"
    );
}

#[tokio::test]
async fn bad_events_are_rejected_alone_and_ids_are_idempotent() {
    let server = TestServer::start().await;
    enable(&server, json!({"failed_logins": {"enabled": true, "risk_level": "medium", "settings": {"threshold": 3}}})).await;
    let batch = vec![
        failed_login("f1", "eve@example.com", 0),
        json!({"type": "access_login", "timestamp": "yesterday", "user": {"email": "eve@example.com"}, "success": false}),
        failed_login("f2", "eve@example.com", 1),
        json!({"type": "teleport", "timestamp": t(0), "user": {"email": "eve@example.com"}}),
        json!({"type": "behavior", "timestamp": t(0), "user": {"email": "eve@example.com"}, "behavior": "never_configured"}),
    ];
    let result = send(&server, &batch).await;
    assert_eq!(result["accepted"], 2);
    let rejected = result["rejected"].as_array().cloned().unwrap_or_default();
    let indexes: Vec<_> = rejected
        .iter()
        .map(|r| r["index"].as_u64().unwrap_or(99))
        .collect();
    assert_eq!(indexes, [1, 3, 4]);
    assert_eq!(rejected[0]["errors"][0]["code"], 1001);
    assert_eq!(
        rejected[0]["errors"][0]["source"]["pointer"],
        "/1/timestamp"
    );
    assert_eq!(rejected[2]["errors"][0]["source"]["pointer"], "/4/behavior");

    // The same ids again are duplicates: not counted twice.
    let again = send(
        &server,
        &[
            failed_login("f1", "eve@example.com", 0),
            failed_login("f2", "eve@example.com", 1),
        ],
    )
    .await;
    assert_eq!(
        (
            again["accepted"].clone(),
            again["duplicates"].clone(),
            again["risk_events"].clone()
        ),
        (json!(0), json!(2), json!(0))
    );
    assert!(user_by_email(&server, "eve@example.com").await.is_none());
    let third = send(&server, &[failed_login("f3", "eve@example.com", 2)]).await;
    assert_eq!(third["risk_events"], 1);
}

#[tokio::test]
async fn ndjson_and_malformed_lines() {
    let server = TestServer::start().await;
    let body = format!(
        "{}\n\n{{not json\n{}\n",
        failed_login("n1", "fay@example.com", 0),
        failed_login("n2", "fay@example.com", 1)
    );
    let headers = [
        ("authorization", format!("Bearer {}", server.admin)),
        ("content-type", "application/x-ndjson".to_owned()),
    ];
    let (status, response) = server
        .call_with(
            Method::POST,
            &server.api_path("/events"),
            &headers,
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["result"]["accepted"], 2);
    assert_eq!(response["result"]["rejected"][0]["index"], 1);
    assert_eq!(
        response["result"]["rejected"][0]["errors"][0]["source"]["pointer"],
        "/1"
    );

    let response = server
        .admin_call(Method::POST, "/events", Some("{\"type\": 1}"))
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, &[1001], None);
    let response = server.admin_call(Method::POST, "/events", Some("[{")).await;
    assert_error(&response, StatusCode::BAD_REQUEST, &[6007], None);
}

#[tokio::test]
async fn custom_behaviors_are_signalled_by_events() {
    let server = TestServer::start().await;
    enable(
        &server,
        json!({"foo": {"enabled": true, "risk_level": "low"}}),
    )
    .await;
    let event = json!({"id": "x1", "type": "behavior", "behavior": "foo", "timestamp": t(0),
                       "user": {"email": "gus@example.com", "name": "Gus G"}, "details": {"source": "siem"}});
    assert_eq!(send(&server, &[event]).await["risk_events"], 1);
    let entry = user_by_email(&server, "gus@example.com")
        .await
        .unwrap_or_else(|| panic!("not scored"));
    assert_eq!(entry["max_risk_level"], "low");
    assert_eq!(entry["name"], "Gus G");
    let detail = user(&server, entry["user_id"].as_str().unwrap_or_default()).await;
    assert_eq!(detail["events"][0]["name"], "foo");
    assert_eq!(detail["events"][0]["event_details"]["behavior"], "foo");
}

#[tokio::test]
async fn restart_in_the_middle_loses_nothing_and_counts_nothing_twice() {
    let server = TestServer::start().await;
    enable(&server, json!({"failed_logins": {"enabled": true, "risk_level": "high", "settings": {"threshold": 10}}})).await;
    let first: Vec<Value> = (0..6)
        .map(|i| failed_login(&format!("r{i}"), "hal@example.com", i))
        .collect();
    assert_eq!(send(&server, &first).await["accepted"], 6);

    let server = server.restart().await;
    // The first six again (a client retry after the restart) are duplicates.
    let retry = send(&server, &first).await;
    assert_eq!(retry["duplicates"], 6);
    let rest: Vec<Value> = (6..10)
        .map(|i| failed_login(&format!("r{i}"), "hal@example.com", i))
        .collect();
    assert_eq!(
        send(&server, &rest).await["risk_events"],
        1,
        "the window state survived the restart"
    );

    let server = server.restart().await;
    let entry = user_by_email(&server, "hal@example.com")
        .await
        .unwrap_or_else(|| panic!("lost"));
    assert_eq!(entry["event_count"], 1);
    assert_eq!(entry["max_risk_level"], "high");
}

#[tokio::test]
async fn event_bodies_up_to_16_mib() {
    let server = TestServer::start().await;
    let one = failed_login("big", "ida@example.com", 0).to_string();
    let count = (16 * 1024 * 1024) / (one.len() + 1) + 100;
    let body = format!("[{}]", vec![one.as_str(); count].join(","));
    let response = server
        .admin_call(Method::POST, "/events", Some(&body))
        .await;
    assert_error(&response, StatusCode::PAYLOAD_TOO_LARGE, &[1413], None);
    let fits = format!("[{}]", vec![one.as_str(); count / 2].join(","));
    let (status, response) = server
        .admin_call(Method::POST, "/events", Some(&fits))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        response["result"]["accepted"], 1,
        "one id, the rest duplicates"
    );
}
