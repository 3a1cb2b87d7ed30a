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
