//! The decision endpoint (spec 6.3): allow or deny by a user's level, from memory, and right
//! across replicas.

use crate::support::{enable, send, t, user_by_email};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use ztrisk_core::Permission;
use ztrisk_server::testing::{TestServer, assert_error, header};

fn violence(id: &str, email: &str) -> Value {
    json!({"id": id, "type": "gateway_dns", "timestamp": t(0), "user": {"email": email},
           "query": "x.example", "categories": ["Violence"], "action": "allow"})
}

fn dlp(id: &str, email: &str) -> Value {
    json!({"id": id, "type": "behavior", "behavior": "bad_badge", "timestamp": t(1), "user": {"email": email}})
}

/// Asks about `query` with `headers`: the status, the level header and the body.
async fn decide(
    server: &TestServer,
    token: &str,
    query: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, String, Value) {
    let mut all = vec![("authorization", format!("Bearer {token}"))];
    all.extend(headers.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let path = server.api_path(&format!("/decision{query}"));
    let response = server.request(Method::GET, &path, &all, None).await;
    let status = response.status();
    let level = header(&response, "x-ztrisk-risk-level")
        .unwrap_or_default()
        .to_owned();
    let body = response.json().await.unwrap_or_default();
    (status, level, body)
}

#[tokio::test]
async fn levels_allow_or_deny_by_policy_and_identity_header() {
    let server = TestServer::start().await;
    enable(
        &server,
        json!({"high_risk_domain": {"enabled": true, "risk_level": "low"},
                           "bad_badge": {"enabled": true, "risk_level": "high"}}),
    )
    .await;
    send(
        &server,
        &[
            violence("v1", "lo@example.com"),
            dlp("b1", "hi@example.com"),
        ],
    )
    .await;
    let (token, _) = server
        .token(&[server.account], &[Permission::ZeroTrustPiiRead], None)
        .await;

    // High is denied by default, with the level in a header for the proxy to pass on.
    let (status, level, body) = decide(&server, &token, "?email=HI@example.com", &[]).await;
    assert_eq!(
        (status, level.as_str()),
        (StatusCode::FORBIDDEN, "high"),
        "{body}"
    );
    assert_eq!(body["errors"][0]["code"], 9109);
    assert_eq!(
        body["errors"][0]["message"],
        "Denied by user risk: hi@example.com is high"
    );
    // Low passes; an unknown user is unscored and passes.
    let (status, level, body) = decide(&server, &token, "?email=lo@example.com", &[]).await;
    assert_eq!((status, level.as_str()), (StatusCode::OK, "low"));
    assert_eq!(
        body["result"],
        json!({"email": "lo@example.com", "risk_level": "low", "allowed": true})
    );
    let (status, level, _) = decide(&server, &token, "?email=new@example.com", &[]).await;
    assert_eq!((status, level.as_str()), (StatusCode::OK, "unscored"));
    // A stricter policy.
    let (status, _, _) = decide(&server, &token, "?email=lo@example.com&deny=low,high", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = decide(&server, &token, "?email=new@example.com&deny=unscored", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Identity from the proxies' headers, in order, or a header of one's own.
    let headers = [
        ("x-forwarded-email", "lo@example.com"),
        ("x-auth-request-email", "hi@example.com"),
    ];
    let (_, level, _) = decide(&server, &token, "", &headers).await;
    assert_eq!(
        level, "high",
        "X-Auth-Request-Email comes before X-Forwarded-Email"
    );
    let (_, level, _) = decide(
        &server,
        &token,
        "",
        &[("cf-access-authenticated-user-email", "lo@example.com")],
    )
    .await;
    assert_eq!(level, "low");
    let (_, level, _) = decide(
        &server,
        &token,
        "?email_header=x-user",
        &[("x-user", "hi@example.com")],
    )
    .await;
    assert_eq!(level, "high");

    // Bad questions.
    let no_one = server
        .call(Method::GET, &server.api_path("/decision"), &token, None)
        .await;
    assert_error(&no_one, StatusCode::BAD_REQUEST, &[1001], Some("/email"));
    let policy = server
        .call(
            Method::GET,
            &server.api_path("/decision?email=a@b.example&deny=red"),
            &token,
            None,
        )
        .await;
    assert_error(&policy, StatusCode::BAD_REQUEST, &[1001], Some("/deny"));
    let (read_only, _) = server
        .token(&[server.account], &[Permission::ZeroTrustRead], None)
        .await;
    let refused = server
        .call(
            Method::GET,
            &server.api_path("/decision?email=a@b.example"),
            &read_only,
            None,
        )
        .await;
    assert_error(&refused, StatusCode::FORBIDDEN, &[9109], None);

    // A reset lets the user through at once, and a new detection stops them again.
    let hi = user_by_email(&server, "hi@example.com")
        .await
        .unwrap_or_default();
    let reset = format!("/{}/reset", hi["user_id"].as_str().unwrap_or_default());
    assert_eq!(
        server.admin_call(Method::POST, &reset, None).await.0,
        StatusCode::OK
    );
    let (status, level, _) = decide(&server, &token, "?email=hi@example.com", &[]).await;
    assert_eq!((status, level.as_str()), (StatusCode::OK, "unscored"));
    send(&server, &[dlp("b2", "hi@example.com")]).await;
    let (status, _, _) = decide(&server, &token, "?email=hi@example.com", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    server.shutdown().await;
}

/// Polls `server`'s decision for `email` until it is `want` or `within` has passed.
async fn settles(server: &TestServer, email: &str, want: StatusCode, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let (status, _, _) = decide(server, &server.admin, &format!("?email={email}"), &[]).await;
        if status == want || started.elapsed() > within {
            assert_eq!(status, want, "after {:?}", started.elapsed());
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_reset_on_another_replica_is_honoured_at_once() {
    let server = TestServer::start().await;
    let other = server.replica().await;
    enable(
        &server,
        json!({"bad_badge": {"enabled": true, "risk_level": "high"}}),
    )
    .await;
    send(&server, &[dlp("b1", "eve@example.com")]).await;
    settles(
        &server,
        "eve@example.com",
        StatusCode::FORBIDDEN,
        Duration::ZERO,
    )
    .await;

    // Reset through the other replica: this one must not wait for its cached level to age.
    let eve = user_by_email(&server, "eve@example.com")
        .await
        .unwrap_or_default();
    let reset = other.api_path(&format!(
        "/{}/reset",
        eve["user_id"].as_str().unwrap_or_default()
    ));
    settles(
        &server,
        "eve@example.com",
        StatusCode::FORBIDDEN,
        Duration::ZERO,
    )
    .await;
    let (status, body) = other.call(Method::POST, &reset, &other.admin, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let took = settles(
        &server,
        "eve@example.com",
        StatusCode::OK,
        Duration::from_millis(600),
    )
    .await;
    assert!(took < ztrisk_server::DECISION_MAX_AGE, "{took:?}");

    // A detection on the other replica is seen here within the cache's age limit.
    let events = other.api_path("/events");
    let body = Value::from(vec![dlp("b2", "eve@example.com")]).to_string();
    let (status, _) = other
        .call(Method::POST, &events, &other.admin, Some(&body))
        .await;
    assert_eq!(status, StatusCode::OK);
    settles(
        &server,
        "eve@example.com",
        StatusCode::FORBIDDEN,
        Duration::from_secs(3),
    )
    .await;
    other.shutdown().await;
    server.shutdown().await;
}
