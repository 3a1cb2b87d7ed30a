//! The risk engine end to end: events in over HTTP, levels out of summary and user reads.

use crate::support::{TestServer, codes};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ztrisk_core::Permission;

const LONDON: (f64, f64) = (51.5074, -0.1278);
const NEW_YORK: (f64, f64) = (40.7128, -74.0060);
const PARIS: (f64, f64) = (48.8566, 2.3522);

fn t(minutes: i64) -> String {
    let base: DateTime<Utc> = DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default();
    (base + Duration::seconds(minutes * 60)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn login(id: &str, email: &str, minutes: i64, (lat, lon): (f64, f64)) -> Value {
    json!({"id": id, "type": "access_login", "timestamp": t(minutes), "user": {"email": email},
           "success": true, "ip": "203.0.113.7", "location": {"lat": lat, "lon": lon}})
}

fn failed_login(id: &str, email: &str, seconds: i64) -> Value {
    let base: DateTime<Utc> =
        DateTime::from_timestamp(1_795_000_000 + seconds, 0).unwrap_or_default();
    json!({"id": id, "type": "access_login", "timestamp": base.to_rfc3339_opts(SecondsFormat::Secs, true),
           "user": {"email": email}, "success": false, "ip": "198.51.100.1"})
}

fn dlp(id: String, email: &str, seconds: i64) -> Value {
    let base: DateTime<Utc> =
        DateTime::from_timestamp(1_795_000_000 + seconds, 0).unwrap_or_default();
    json!({"id": id, "type": "dlp_match", "timestamp": base.to_rfc3339_opts(SecondsFormat::Secs, true),
           "user": {"email": email}, "profile": "Credit cards"})
}

fn path(server: &TestServer, rest: &str) -> String {
    format!(
        "/client/v4/accounts/{}/zt_risk_scoring{rest}",
        server.account
    )
}

async fn send(server: &TestServer, events: &[Value]) -> Value {
    let (status, body) = server
        .call(
            Method::POST,
            &path(server, "/events"),
            &server.admin,
            Some(&Value::from(events.to_vec()).to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["result"].clone()
}

async fn enable(server: &TestServer, behaviors: Value) {
    let (status, body) = server
        .call(
            Method::PUT,
            &path(server, "/behaviors"),
            &server.admin,
            Some(&json!({"behaviors": behaviors}).to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn summary(server: &TestServer, query: &str) -> Value {
    let (status, body) = server
        .call(
            Method::GET,
            &path(server, &format!("/summary{query}")),
            &server.admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn user_by_email(server: &TestServer, email: &str) -> Option<Value> {
    summary(server, "").await["result"]["users"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["email"] == email)
        .cloned()
}

async fn user(server: &TestServer, user_id: &str) -> Value {
    let (status, body) = server
        .call(
            Method::GET,
            &path(server, &format!("/{user_id}")),
            &server.admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["result"].clone()
}

#[tokio::test]
async fn impossible_travel_scores_and_reset_clears() {
    let server = TestServer::start().await;
    enable(
        &server,
        json!({"imp_travel": {"enabled": true, "risk_level": "high"}}),
    )
    .await;
    let result = send(
        &server,
        &[
            login("l1", "ana@example.com", 0, LONDON),
            login("l2", "ana@example.com", 60, NEW_YORK),
        ],
    )
    .await;
    assert_eq!(
        result,
        json!({"accepted": 2, "duplicates": 0, "risk_events": 1, "rejected": []})
    );

    let entry = user_by_email(&server, "ana@example.com")
        .await
        .unwrap_or_else(|| panic!("not in summary"));
    assert_eq!(entry["max_risk_level"], "high");
    assert_eq!(entry["event_count"], 1);
    assert_eq!(entry["name"], "ana");
    assert_eq!(
        entry["last_event"]
            .as_str()
            .map(|s| s.starts_with(&t(60)[..19])),
        Some(true),
        "{entry}"
    );
    let user_id = entry["user_id"].as_str().unwrap_or_default().to_owned();

    let detail = user(&server, &user_id).await;
    assert_eq!(detail["email"], "ana@example.com");
    assert_eq!(detail["risk_level"], "high");
    assert_eq!(detail["last_reset_time"], Value::Null);
    let events = detail["events"].as_array().cloned().unwrap_or_default();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["name"], "Impossible Travel");
    assert_eq!(events[0]["risk_level"], "high");
    let evidence = &events[0]["event_details"];
    assert_eq!(evidence["behavior"], "imp_travel");
    let distance = evidence["distance_km"].as_f64().unwrap_or_default();
    assert!((5500.0..5620.0).contains(&distance), "{evidence}");
    assert_eq!(
        evidence["events"].as_array().map(Vec::len),
        Some(2),
        "{evidence}"
    );

    let (status, body) = server
        .call(
            Method::POST,
            &path(&server, &format!("/{user_id}/reset")),
            &server.admin,
            None,
        )
        .await;
    assert_eq!(
        (status, body["result"].clone()),
        (StatusCode::OK, json!({}))
    );
    assert!(
        user_by_email(&server, "ana@example.com").await.is_none(),
        "reset users leave the summary"
    );
    let detail = user(&server, &user_id).await;
    assert_eq!(detail["risk_level"], Value::Null);
    assert!(detail["last_reset_time"].is_string());
    assert_eq!(detail["events"], json!([]));
    // Idempotent.
    let (status, _) = server
        .call(
            Method::POST,
            &path(&server, &format!("/{user_id}/reset")),
            &server.admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // A new risk event after the reset scores the user again.
    send(&server, &[login("l3", "ana@example.com", 120, LONDON)]).await;
    let entry = user_by_email(&server, "ana@example.com")
        .await
        .unwrap_or_else(|| panic!("not rescored"));
    assert_eq!(entry["event_count"], 1);
}

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
    enable(
        &server,
        json!({"imp_travel": {"enabled": true, "risk_level": "high"}}),
    )
    .await;
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
            &path(&server, "/events"),
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

    let (status, response) = server
        .call(
            Method::POST,
            &path(&server, "/events"),
            &server.admin,
            Some("{\"type\": 1}"),
        )
        .await;
    assert_eq!(
        (status, codes(&response)),
        (StatusCode::BAD_REQUEST, vec![1001])
    );
    let (status, response) = server
        .call(
            Method::POST,
            &path(&server, "/events"),
            &server.admin,
            Some("[{"),
        )
        .await;
    assert_eq!(
        (status, codes(&response)),
        (StatusCode::BAD_REQUEST, vec![6007])
    );
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
async fn summary_paging_and_ordering() {
    let server = TestServer::start().await;
    enable(&server, json!({"foo": {"enabled": true, "risk_level": "low"}, "bar": {"enabled": true, "risk_level": "high"}})).await;
    let mut events = Vec::new();
    for i in 0..5 {
        let email = format!("u{i}@example.com");
        for n in 0..=i {
            events.push(json!({"type": "behavior", "behavior": "foo", "timestamp": t(i * 10 + n * 120), "user": {"email": email}}));
        }
    }
    events.push(json!({"type": "behavior", "behavior": "bar", "timestamp": t(0), "user": {"email": "u0@example.com"}}));
    send(&server, &events).await;

    let all = summary(&server, "").await;
    assert!(
        all.get("result_info").is_none(),
        "no paging asked, none given"
    );
    let emails: Vec<_> = all["result"]["users"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|u| u["email"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(emails[0], "u0@example.com", "highest level first");
    assert_eq!(emails.len(), 5);
    assert_eq!(
        &emails[1..],
        [
            "u4@example.com",
            "u3@example.com",
            "u2@example.com",
            "u1@example.com"
        ],
        "then newest event"
    );

    let page = summary(
        &server,
        "?page=2&per_page=2&order_by=event_count&direction=desc",
    )
    .await;
    assert_eq!(
        page["result_info"],
        json!({"page": 2, "per_page": 2, "count": 2, "total_count": 5, "total_pages": 3})
    );
    let counts: Vec<_> = page["result"]["users"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|u| u["event_count"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(counts, [3, 2]);
    let asc = summary(&server, "?order_by=timestamp&direction=asc").await;
    assert_eq!(asc["result"]["users"][0]["email"], "u0@example.com");

    let (status, body) = server
        .call(
            Method::GET,
            &path(&server, "/summary?per_page=0&order_by=name"),
            &server.admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(codes(&body), [1001, 1001]);
}

#[tokio::test]
async fn routing_and_permissions_of_risk_endpoints() {
    let server = TestServer::start().await;
    let unknown = uuid::Uuid::new_v4();
    let (status, body) = server
        .call(
            Method::GET,
            &path(&server, &format!("/{unknown}")),
            &server.admin,
            None,
        )
        .await;
    assert_eq!((status, codes(&body)), (StatusCode::NOT_FOUND, vec![1404]));
    let (status, body) = server
        .call(
            Method::POST,
            &path(&server, &format!("/{unknown}/reset")),
            &server.admin,
            None,
        )
        .await;
    assert_eq!((status, codes(&body)), (StatusCode::NOT_FOUND, vec![1404]));
    let (status, body) = server
        .call(
            Method::GET,
            &path(&server, "/not-a-uuid"),
            &server.admin,
            None,
        )
        .await;
    assert_eq!(
        (status, codes(&body)),
        (StatusCode::NOT_FOUND, vec![7003, 7000])
    );
    // Literal segments are never user ids.
    let (status, body) = server
        .call(Method::GET, &path(&server, "/events"), &server.admin, None)
        .await;
    assert_eq!(
        (status, codes(&body)),
        (StatusCode::METHOD_NOT_ALLOWED, vec![10405])
    );

    let (writer, _) = server
        .token(&[server.account], &[Permission::ZeroTrustWrite], None)
        .await;
    let (status, body) = server
        .call(Method::GET, &path(&server, "/summary"), &writer, None)
        .await;
    assert_eq!((status, codes(&body)), (StatusCode::FORBIDDEN, vec![9109]));
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("PII Read")
    );
    let (status, _) = server
        .call(Method::POST, &path(&server, "/events"), &writer, Some("[]"))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "ingest needs its own permission"
    );
    let (shipper, _) = server
        .token(
            &[server.account],
            &[Permission::ZeroTrustRiskEventsWrite],
            None,
        )
        .await;
    let (status, body) = server
        .call(
            Method::POST,
            &path(&server, "/events"),
            &shipper,
            Some("[]"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = server
        .call(Method::GET, &path(&server, "/summary"), &shipper, None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (pii, _) = server
        .token(&[server.account], &[Permission::ZeroTrustPiiRead], None)
        .await;
    assert_eq!(
        server
            .call(Method::GET, &path(&server, "/summary"), &pii, None)
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn event_bodies_up_to_16_mib() {
    let server = TestServer::start().await;
    let one = failed_login("big", "ida@example.com", 0).to_string();
    let count = (16 * 1024 * 1024) / (one.len() + 1) + 100;
    let body = format!("[{}]", vec![one.as_str(); count].join(","));
    let (status, response) = server
        .call(
            Method::POST,
            &path(&server, "/events"),
            &server.admin,
            Some(&body),
        )
        .await;
    assert_eq!(
        (status, codes(&response)),
        (StatusCode::PAYLOAD_TOO_LARGE, vec![1413])
    );
    let fits = format!("[{}]", vec![one.as_str(); count / 2].join(","));
    let (status, response) = server
        .call(
            Method::POST,
            &path(&server, "/events"),
            &server.admin,
            Some(&fits),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        response["result"]["accepted"], 1,
        "one id, the rest duplicates"
    );
}
