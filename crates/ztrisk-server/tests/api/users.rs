//! Users' risk: the summary, one user's events, and resets.

use crate::support::{
    LONDON, NEW_YORK, enable, enable_impossible_travel, login, send, summary, t, user,
    user_by_email,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ztrisk_core::Permission;
use ztrisk_server::testing::{TestServer, assert_error, message};

#[tokio::test]
async fn impossible_travel_scores_and_reset_clears() {
    let server = TestServer::start().await;
    enable_impossible_travel(&server).await;
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
        .admin_call(Method::POST, &format!("/{user_id}/reset"), None)
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
        .admin_call(Method::POST, &format!("/{user_id}/reset"), None)
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

    let response = server
        .admin_call(Method::GET, "/summary?per_page=0&order_by=name", None)
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, &[1001, 1001], None);
}

#[tokio::test]
async fn routing_and_permissions_of_risk_endpoints() {
    let server = TestServer::start().await;
    let unknown = uuid::Uuid::new_v4();
    let response = server
        .admin_call(Method::GET, &format!("/{unknown}"), None)
        .await;
    assert_error(&response, StatusCode::NOT_FOUND, &[1404], None);
    let response = server
        .admin_call(Method::POST, &format!("/{unknown}/reset"), None)
        .await;
    assert_error(&response, StatusCode::NOT_FOUND, &[1404], None);
    let response = server.admin_call(Method::GET, "/not-a-uuid", None).await;
    assert_error(&response, StatusCode::NOT_FOUND, &[7003, 7000], None);
    // Literal segments are never user ids.
    let response = server.admin_call(Method::GET, "/events", None).await;
    assert_error(&response, StatusCode::METHOD_NOT_ALLOWED, &[10405], None);

    let (writer, _) = server
        .token(&[server.account], &[Permission::ZeroTrustWrite], None)
        .await;
    let response = server
        .call(Method::GET, &server.api_path("/summary"), &writer, None)
        .await;
    assert_error(&response, StatusCode::FORBIDDEN, &[9109], None);
    assert!(message(&response.1).contains("PII Read"));
    let (status, _) = server
        .call(
            Method::POST,
            &server.api_path("/events"),
            &writer,
            Some("[]"),
        )
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
            &server.api_path("/events"),
            &shipper,
            Some("[]"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = server
        .call(Method::GET, &server.api_path("/summary"), &shipper, None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (pii, _) = server
        .token(&[server.account], &[Permission::ZeroTrustPiiRead], None)
        .await;
    assert_eq!(
        server
            .call(Method::GET, &server.api_path("/summary"), &pii, None)
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn confirm_compromised_makes_a_user_high_until_reset() {
    let server = TestServer::start().await;
    enable(
        &server,
        json!({"high_risk_domain": {"enabled": true, "risk_level": "low"}}),
    )
    .await;
    let dns = json!({"id": "d1", "type": "gateway_dns", "timestamp": t(0), "user": {"email": "kim@example.com"},
                     "query": "x.example", "categories": ["Violence"], "action": "allow"});
    send(&server, &[dns]).await;
    let kim = user_by_email(&server, "kim@example.com")
        .await
        .unwrap_or_else(|| panic!("not scored"));
    assert_eq!(kim["max_risk_level"], "low");
    let user_id = kim["user_id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/{user_id}/confirm_compromised");

    // Bad bodies and unknown users change nothing.
    let bad = server
        .admin_call(Method::POST, &path, Some(r#"{"reason": 5}"#))
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, &[1001], Some("/reason"));
    let long = json!({"reason": "x".repeat(1025)}).to_string();
    let long = server.admin_call(Method::POST, &path, Some(&long)).await;
    assert_error(&long, StatusCode::BAD_REQUEST, &[1001], Some("/reason"));
    let unknown = "/6d1a3a3c-8f5e-4b55-9a59-0f5b8f8a6d11/confirm_compromised";
    let unknown = server.admin_call(Method::POST, unknown, None).await;
    assert_error(&unknown, StatusCode::NOT_FOUND, &[1404], None);
    assert_eq!(
        user(&server, &user_id).await["events"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // A webhook hears of the change (its receiver is down: the delivery stays queued).
    let hook = json!({"url": "http://127.0.0.1:9/hook", "min_level": "high"}).to_string();
    let (status, hook) = server
        .admin_call(Method::POST, "/webhooks", Some(&hook))
        .await;
    assert_eq!(status, StatusCode::OK, "{hook}");
    let hook_id = hook["result"]["id"].as_str().unwrap_or_default().to_owned();

    // Confirmed with a reason, by a token of its own: high, with who and why in the evidence.
    let (token, token_id) = server
        .token(&[server.account], &[Permission::ZeroTrustWrite], None)
        .await;
    let body = json!({"reason": "credentials found on a paste site"}).to_string();
    let confirmed = server
        .call(Method::POST, &server.api_path(&path), &token, Some(&body))
        .await;
    assert_eq!(confirmed.0, StatusCode::OK, "{}", confirmed.1);
    let detail = user(&server, &user_id).await;
    assert_eq!(detail["risk_level"], "high");
    let newest = &detail["events"][0];
    assert_eq!(newest["name"], "Confirmed compromised by an administrator");
    assert_eq!(newest["risk_level"], "high");
    let evidence = &newest["event_details"];
    assert_eq!(evidence["reason"], "credentials found on a paste site");
    assert_eq!(
        evidence["confirmed_by"],
        json!({"type": "api_token", "id": token_id})
    );
    assert!(!evidence.to_string().contains(&token), "never the secret");
    let kim = user_by_email(&server, "kim@example.com")
        .await
        .unwrap_or_default();
    assert_eq!(
        (kim["max_risk_level"].clone(), kim["event_count"].clone()),
        (json!("high"), json!(2))
    );

    let (_, queued) = server
        .admin_call(
            Method::GET,
            &format!("/webhooks/{hook_id}/deliveries"),
            None,
        )
        .await;
    let change = &queued["result"][0];
    assert_eq!(
        (
            change["previous_level"].clone(),
            change["current_level"].clone()
        ),
        (json!("low"), json!("high")),
        "{queued}"
    );

    // Without a body it works too; a reset clears it like any risk event.
    let again = server.admin_call(Method::POST, &path, None).await;
    assert_eq!(again.0, StatusCode::OK, "{}", again.1);
    let reset = server
        .admin_call(Method::POST, &format!("/{user_id}/reset"), None)
        .await;
    assert_eq!(reset.0, StatusCode::OK);
    assert!(user_by_email(&server, "kim@example.com").await.is_none());
    server.shutdown().await;
}
