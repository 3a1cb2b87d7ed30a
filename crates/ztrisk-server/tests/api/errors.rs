//! The error envelope of every failure that is not an endpoint's own: unknown routes and
//! methods, malformed or oversized bodies, content types, and internal errors.

use crate::support::SEED;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use ztrisk_server::ServerConfig;
use ztrisk_server::testing::{Fault, SECRET_DETAIL, TestServer, assert_error, header, message};

#[tokio::test]
async fn routing_errors() {
    let server = TestServer::start().await;
    for path in [
        "/client/v4/nowhere".to_owned(),
        "/client/v4/accounts/123/zt_risk_scoring/behaviors".to_owned(),
        "/client/v4/accounts/0123456789ABCDEF0123456789ABCDEF/zt_risk_scoring/behaviors".to_owned(),
        format!(
            "/client/v4/accounts/{}/zt_risk_scoring/nothing",
            server.account
        ),
    ] {
        let response = server.call(Method::GET, &path, &server.admin, None).await;
        assert_error(&response, StatusCode::NOT_FOUND, &[7003, 7000], None);
        let text = message(&response.1);
        assert!(text.contains(&path), "{text}");
    }
    let response = server
        .request_as(Method::DELETE, &server.behaviors_path(), &server.admin)
        .await;
    let status = response.status();
    let allow = header(&response, "allow").unwrap_or_default().to_owned();
    assert!(allow.contains("GET") && allow.contains("PUT"), "{allow}");
    let body: Value = response.json().await.unwrap_or_default();
    assert_error(
        &(status, body),
        StatusCode::METHOD_NOT_ALLOWED,
        &[10405],
        None,
    );
}

#[tokio::test]
async fn body_errors() {
    let server = TestServer::start_with(ServerConfig {
        body_limit: 4096,
        ..ServerConfig::default()
    })
    .await;
    let path = server.behaviors_path();
    let auth = ("authorization", format!("Bearer {}", server.admin));
    let put = |content_type: Option<&'static str>, body: String| {
        let mut headers = vec![auth.clone()];
        if let Some(ct) = content_type {
            headers.push(("content-type", ct.to_owned()));
        }
        let server = &server;
        let path = path.clone();
        async move {
            server
                .call_with(Method::PUT, &path, &headers, Some(body))
                .await
        }
    };
    assert_error(
        &put(Some("application/json"), "{\"behaviors\": {".into()).await,
        StatusCode::BAD_REQUEST,
        &[6007],
        None,
    );
    assert_error(
        &put(Some("application/json"), String::new()).await,
        StatusCode::BAD_REQUEST,
        &[6007],
        None,
    );
    assert_error(
        &put(Some("text/plain"), SEED.into()).await,
        StatusCode::BAD_REQUEST,
        &[9207],
        None,
    );
    assert_error(
        &put(Some("application/x-www-form-urlencoded"), SEED.into()).await,
        StatusCode::BAD_REQUEST,
        &[9207],
        None,
    );
    assert_eq!(
        put(None, SEED.into()).await.0,
        StatusCode::OK,
        "a missing Content-Type is accepted"
    );
    assert_eq!(
        put(Some("application/json; charset=utf-8"), SEED.into())
            .await
            .0,
        StatusCode::OK
    );
    let big = format!("{{\"behaviors\": {{}}, \"pad\": \"{}\"}}", "x".repeat(5000));
    assert_error(
        &put(Some("application/json"), big).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        &[1413],
        None,
    );
}

#[tokio::test]
async fn sdk_style_headers_are_accepted() {
    let server = TestServer::start().await;
    // The Python SDK sends a JSON Content-Type even on GET, and an api-version header.
    let headers = [
        ("authorization", format!("Bearer {}", server.admin)),
        ("content-type", "application/json".into()),
        ("api-version", "2024-01-01".into()),
    ];
    let (status, _) = server
        .call_with(Method::GET, &server.behaviors_path(), &headers, None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn internal_errors_leak_nothing() {
    for fault in [Fault::Error, Fault::Panic] {
        let server = TestServer::start_faulty(fault).await;
        let response = server
            .request_as(Method::GET, &server.behaviors_path(), &server.admin)
            .await;
        let status = response.status();
        let id = header(&response, "x-request-id")
            .unwrap_or_default()
            .to_owned();
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or_default();
        assert_error(
            &(status, body),
            StatusCode::INTERNAL_SERVER_ERROR,
            &[1500],
            None,
        );
        assert!(
            !id.is_empty() && text.contains(&id),
            "the message names the request id: {text}"
        );
        assert!(!text.contains(SECRET_DETAIL), "{text}");
        assert!(!text.to_lowercase().contains("panic"), "{text}");
    }
}
