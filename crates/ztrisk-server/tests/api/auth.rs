//! Credentials (tokens, global API keys), accounts, permissions and the rate limit.

use crate::support::SEED;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use ztrisk_core::{AccountId, Permission};
use ztrisk_server::ServerConfig;
use ztrisk_server::testing::{TestServer, assert_error, header, message};
use ztrisk_store::prelude::*;

/// Headers sent, expected status, expected codes, expected `error_chain` code.
type CredentialCase = (
    Vec<(&'static str, String)>,
    StatusCode,
    Vec<u32>,
    Option<u32>,
);

#[tokio::test]
async fn credentials_errors() {
    let server = TestServer::start().await;
    let path = server.behaviors_path();
    let cases: Vec<CredentialCase> = vec![
        (vec![], StatusCode::BAD_REQUEST, vec![9106], None),
        (
            vec![("x-auth-email", "a@example.com".into())],
            StatusCode::BAD_REQUEST,
            vec![9106],
            None,
        ),
        (
            vec![("authorization", "Basic abc".into())],
            StatusCode::BAD_REQUEST,
            vec![6003],
            Some(6111),
        ),
        (
            vec![("authorization", "Bearer short".into())],
            StatusCode::BAD_REQUEST,
            vec![6003],
            Some(6111),
        ),
        (
            vec![
                ("x-auth-email", "a@example.com".into()),
                ("x-auth-key", "nothex".into()),
            ],
            StatusCode::BAD_REQUEST,
            vec![6003],
            Some(6103),
        ),
        (
            vec![
                ("x-auth-email", "not-an-email".into()),
                ("x-auth-key", "0".repeat(37)),
            ],
            StatusCode::BAD_REQUEST,
            vec![6003],
            Some(6102),
        ),
        (
            vec![("authorization", format!("Bearer {}", "A".repeat(40)))],
            StatusCode::FORBIDDEN,
            vec![10000],
            None,
        ),
        (
            vec![
                ("x-auth-email", server.key_email.clone()),
                ("x-auth-key", "0".repeat(37)),
            ],
            StatusCode::FORBIDDEN,
            vec![10000],
            None,
        ),
        (
            vec![
                ("x-auth-email", "nobody@example.com".into()),
                ("x-auth-key", "0".repeat(37)),
            ],
            StatusCode::FORBIDDEN,
            vec![10000],
            None,
        ),
        // Authorization decides when present, even beside a valid key (the TypeScript SDK sends both).
        (
            vec![
                ("authorization", format!("Bearer {}", "A".repeat(40))),
                ("x-auth-email", server.key_email.clone()),
                ("x-auth-key", server.key.clone()),
            ],
            StatusCode::FORBIDDEN,
            vec![10000],
            None,
        ),
    ];
    for (headers, status, expected, chain) in cases {
        let response = server.call_with(Method::GET, &path, &headers, None).await;
        assert_error(&response, status, &expected, None);
        let body = response.1;
        assert_eq!(
            body["errors"][0]["error_chain"][0]["code"]
                .as_u64()
                .map(|c| c as u32),
            chain,
            "{body}"
        );
    }
    let (status, _) = server
        .call_with(
            Method::GET,
            &path,
            &[
                ("x-auth-email", server.key_email.to_uppercase()),
                ("x-auth-key", server.key.clone()),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "emails are case-insensitive");
}

#[tokio::test]
async fn revoked_and_expired_credentials_stop_working_at_once() {
    let server = TestServer::start().await;
    let (token, id) = server
        .token(&[server.account], &[Permission::ZeroTrustRead], None)
        .await;
    assert_eq!(server.get_behaviors(&token).await.0, StatusCode::OK);
    assert!(
        server
            .store
            .revoke_token(&id, &Actor::Cli)
            .await
            .unwrap_or(false)
    );
    let response = server.get_behaviors(&token).await;
    assert_error(&response, StatusCode::FORBIDDEN, &[10000], None);

    let past = chrono::Utc::now() - chrono::Duration::seconds(1);
    let (expired, _) = server
        .token(&[server.account], &[Permission::ZeroTrustRead], Some(past))
        .await;
    let response = server.get_behaviors(&expired).await;
    assert_error(&response, StatusCode::FORBIDDEN, &[10000], None);

    let key_headers = [
        ("x-auth-email", server.key_email.clone()),
        ("x-auth-key", server.key.clone()),
    ];
    let path = server.behaviors_path();
    assert_eq!(
        server
            .call_with(Method::GET, &path, &key_headers, None)
            .await
            .0,
        StatusCode::OK
    );
    assert!(
        server
            .store
            .revoke_api_key(&server.key_email, &Actor::Cli)
            .await
            .unwrap_or(false)
    );
    let response = server
        .call_with(Method::GET, &path, &key_headers, None)
        .await;
    assert_error(&response, StatusCode::FORBIDDEN, &[10000], None);
}

#[tokio::test]
async fn changes_by_another_process_are_seen_within_a_poll() {
    let server = TestServer::start().await;
    // A second store on the same file stands for the admin CLI.
    let cli = server.second_store().await;
    let (token, id) = server
        .token(&[server.account], &[Permission::ZeroTrustRead], None)
        .await;
    assert_eq!(server.get_behaviors(&token).await.0, StatusCode::OK);
    assert!(cli.revoke_token(&id, &Actor::Cli).await.unwrap_or(false));
    // The server notices other processes' commits within 10 ms; allow far more on a busy CI.
    let started = std::time::Instant::now();
    let mut status = StatusCode::OK;
    while status == StatusCode::OK && started.elapsed() < std::time::Duration::from_secs(1) {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        status = server.get_behaviors(&token).await.0;
    }
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "still accepted after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn accounts_and_permissions_are_enforced() {
    let server = TestServer::start().await;
    let other = server.create_account("other").await;
    let (other_token, _) = server
        .token(&[other], &[Permission::ZeroTrustWrite], None)
        .await;
    // Another account's token: the same 403 whether the target account exists or not.
    let existing = server
        .call(Method::GET, &server.behaviors_path(), &other_token, None)
        .await;
    let missing_path = format!(
        "/client/v4/accounts/{}/zt_risk_scoring/behaviors",
        AccountId::random()
    );
    let missing = server
        .call(Method::GET, &missing_path, &other_token, None)
        .await;
    assert_error(&existing, StatusCode::FORBIDDEN, &[9109], None);
    assert_eq!(existing, missing);

    let (reader, _) = server
        .token(&[server.account], &[Permission::ZeroTrustRead], None)
        .await;
    assert_eq!(server.get_behaviors(&reader).await.0, StatusCode::OK);
    let response = server.put_behaviors(&reader, SEED).await;
    assert_error(&response, StatusCode::FORBIDDEN, &[9109], None);
    let text = message(&response.1);
    assert!(text.contains("Zero Trust Write"), "{text}");

    let (pii, _) = server
        .token(&[server.account], &[Permission::ZeroTrustPiiRead], None)
        .await;
    let response = server.get_behaviors(&pii).await;
    assert_error(&response, StatusCode::FORBIDDEN, &[9109], None);
    assert!(message(&response.1).contains("Zero Trust Read"));

    let (writer, _) = server
        .token(&[server.account], &[Permission::ZeroTrustWrite], None)
        .await;
    assert_eq!(
        server.get_behaviors(&writer).await.0,
        StatusCode::OK,
        "Write also grants GET"
    );
    assert_eq!(server.put_behaviors(&writer, SEED).await.0, StatusCode::OK);
}

#[tokio::test]
async fn token_verify() {
    let server = TestServer::start().await;
    let expires = chrono::Utc::now() + chrono::Duration::days(30);
    let (token, id) = server
        .token(
            &[server.account],
            &[Permission::ZeroTrustRead],
            Some(expires),
        )
        .await;
    let (status, body) = server
        .call(Method::GET, "/client/v4/user/tokens/verify", &token, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["id"], id);
    assert_eq!(body["result"]["status"], "active");
    assert!(
        body["result"]["expires_on"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z'))
    );
    let response = server
        .call_with(Method::GET, "/user/tokens/verify", &[], None)
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, &[9106], None);
}

#[tokio::test]
async fn rate_limited_credentials_get_971_and_retry_after() {
    let server = TestServer::start_with(ServerConfig {
        rate_limit_per_minute: 3,
        ..ServerConfig::default()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(server.get_behaviors(&server.admin).await.0, StatusCode::OK);
    }
    let response = server
        .request_as(Method::GET, &server.behaviors_path(), &server.admin)
        .await;
    let status = response.status();
    let retry: u64 = header(&response, "retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!((1..=60).contains(&retry), "{retry}");
    let body: Value = response.json().await.unwrap_or_default();
    assert_error(&(status, body), StatusCode::TOO_MANY_REQUESTS, &[971], None);
}
