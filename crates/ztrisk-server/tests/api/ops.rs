//! What operators rely on: health and readiness, request ids, graceful shutdown.

use reqwest::{Method, StatusCode};
use ztrisk_server::testing::{TestServer, header};

#[tokio::test]
async fn health_and_readiness_need_no_credentials() {
    let server = TestServer::start().await;
    for path in ["/healthz", "/readyz"] {
        let (status, body) = server.call_with(Method::GET, path, &[], None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["success"], true);
    }
}

#[tokio::test]
async fn every_response_has_a_request_id() {
    let server = TestServer::start().await;
    let response = server.request(Method::GET, "/healthz", &[], None).await;
    assert!(response.headers().get("x-request-id").is_some());
    let response = server
        .request(
            Method::GET,
            "/nowhere",
            &[("x-request-id", "lb-1234".into())],
            None,
        )
        .await;
    assert_eq!(header(&response, "x-request-id"), Some("lb-1234"));
}

#[tokio::test]
async fn graceful_shutdown_finishes_and_stops() {
    let server = TestServer::start().await;
    assert_eq!(server.get_behaviors(&server.admin).await.0, StatusCode::OK);
    server.shutdown().await;
}

#[tokio::test]
async fn metrics_count_requests_records_and_risk_without_naming_anyone() {
    let server = TestServer::start().await;
    let enable = r#"{"behaviors": {"bad_badge": {"enabled": true, "risk_level": "high"}}}"#;
    assert_eq!(
        server.put_behaviors(&server.admin, enable).await.0,
        StatusCode::OK
    );
    let events = serde_json::json!([
        {"id": "m1", "type": "behavior", "behavior": "bad_badge", "timestamp": "2026-11-20T10:00:00Z",
         "user": {"email": "secret.person@example.com"}},
        {"id": "m2", "type": "nope"}
    ]);
    let (status, _) = server
        .admin_call(Method::POST, "/events", Some(&events.to_string()))
        .await;
    assert_eq!(status, StatusCode::OK);
    let ocsf = r#"{"class_uid": 4001, "time": 1795514400000}"#;
    let (status, _) = server
        .admin_call(Method::POST, "/ingest/ocsf", Some(ocsf))
        .await;
    assert_eq!(status, StatusCode::OK);

    // No credentials needed; Prometheus' text format.
    let response = server.request(Method::GET, "/metrics", &[], None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = response.text().await.unwrap_or_default();
    for line in [
        r#"ztrisk_events_total{source="ztrisk",outcome="accepted"} 1"#,
        r#"ztrisk_events_total{source="ztrisk",outcome="rejected"} 1"#,
        r#"ztrisk_events_total{source="ocsf",outcome="skipped"} 1"#,
        r#"ztrisk_risk_events_total{behavior="custom",level="high"} 1"#,
        r#"ztrisk_users{level="high"} 1"#,
        r#"ztrisk_users{level="low"} 0"#,
        r#"ztrisk_store_write_duration_seconds_count{operation="ingest"} 2"#,
        "ztrisk_outbox_pending 0",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
    }
    // Requests by route template, both API roots alike: never an account id or a path.
    let events_route =
        r#"route="/accounts/{account_id}/zt_risk_scoring/events",method="POST",status="200""#;
    assert!(
        text.contains(&format!(
            "ztrisk_http_request_duration_seconds_count{{{events_route}}} 1"
        )),
        "{text}"
    );
    assert!(
        !text.contains("secret.person") && !text.contains(&server.account_tag()),
        "{text}"
    );
    // Every sample line is `name{labels} value` or `name value`.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap_or_default();
        assert!(value.parse::<f64>().is_ok(), "{line}");
        assert!(line.starts_with("ztrisk_"), "{line}");
    }
}
