//! Retries, backoff and timeouts against a scripted server.

use crate::support::{ACCOUNT, Canned, Fake, ok_body};
use serde_json::json;
use std::time::{Duration, Instant};
use ztrisk_client::types::{BehaviourUpdateParams, RiskLevel};
use ztrisk_client::{ApiErrorKind, Client, Error};

fn behaviors_body() -> String {
    ok_body(json!({"behaviors": {"foo": {"enabled": true, "risk_level": "low"}}}))
}

const RATE_LIMITED: &str = r#"{"success":false,"errors":[{"code":971,"message":"Please wait and consider throttling your request speed"}],"messages":[],"result":null}"#;
const UNAVAILABLE: &str = r#"{"success":false,"errors":[{"code":1503,"message":"Storage unavailable"}],"messages":[],"result":null}"#;

fn gaps(fake: &Fake) -> Vec<Duration> {
    fake.hits()
        .windows(2)
        .map(|w| w[1].at.duration_since(w[0].at))
        .collect()
}

async fn get(client: &Client) -> Result<ztrisk_client::types::Behaviors, Error> {
    client
        .zero_trust()
        .risk_scoring()
        .behaviours()
        .get(ACCOUNT)
        .await
}

/// The default policy: `Retry-After: 1` is obeyed on the 429, then the 503 without one waits
/// the second backoff step (1 s, minus up to 25 % jitter), then success.
#[tokio::test]
async fn retry_after_then_backoff_then_success() {
    let fake = Fake::start(vec![
        Canned::new(429, RATE_LIMITED).header("retry-after", "1"),
        Canned::new(503, UNAVAILABLE),
        Canned::new(200, behaviors_body()),
    ])
    .await;
    let client = fake.client(|b| b);
    assert_eq!(client.retry_policy().max_retries, 2);
    let result = get(&client)
        .await
        .unwrap_or_else(|e| panic!("should succeed on the third attempt: {e}"));
    assert_eq!(
        result.get("foo").map(|b| b.risk_level),
        Some(RiskLevel::Low)
    );
    let gaps = gaps(&fake);
    assert_eq!(gaps.len(), 2, "three attempts");
    assert!(
        gaps[0] >= Duration::from_millis(990) && gaps[0] < Duration::from_millis(1400),
        "Retry-After: 1 obeyed: {gaps:?}"
    );
    assert!(
        gaps[1] >= Duration::from_millis(740) && gaps[1] < Duration::from_millis(1400),
        "second backoff step is 1 s minus jitter: {gaps:?}"
    );
}

/// Every retryable status is retried; the body of a PUT is sent again each time.
#[tokio::test]
async fn retryable_statuses_and_bodies() {
    let fake = Fake::start(vec![
        Canned::new(408, "timeout"),
        Canned::new(
            409,
            r#"{"success":false,"errors":[{"code":1409,"message":"lock"}]}"#,
        ),
        Canned::new(500, "oops"),
        Canned::new(502, "<html>bad gateway</html>").header("content-type", "text/html"),
        Canned::new(200, behaviors_body()),
    ])
    .await;
    let client = fake.client(|b| {
        b.max_retries(4)
            .initial_retry_delay(Duration::from_millis(5))
    });
    let result = client
        .zero_trust()
        .risk_scoring()
        .behaviours()
        .update(
            ACCOUNT,
            BehaviourUpdateParams::new().behavior("foo", true, RiskLevel::Low),
        )
        .await;
    assert!(result.is_ok(), "{result:?}");
    let hits = fake.hits();
    assert_eq!(hits.len(), 5);
    for hit in &hits {
        assert_eq!(hit.method, "PUT");
        assert_eq!(
            hit.uri,
            format!("/client/v4/accounts/{ACCOUNT}/zt_risk_scoring/behaviors")
        );
        assert_eq!(
            hit.body,
            br#"{"behaviors":{"foo":{"enabled":true,"risk_level":"low"}}}"#.to_vec()
        );
        assert_eq!(
            hit.headers
                .get("authorization")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer test-token")
        );
        assert_eq!(
            hit.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
    }
}

/// When retries run out, the last refusal is reported with its items.
#[tokio::test]
async fn gives_up_after_max_retries() {
    let fake = Fake::start(vec![Canned::new(503, UNAVAILABLE)]).await;
    let client = fake.client(|b| b.initial_retry_delay(Duration::from_millis(5)));
    let error = match get(&client).await {
        Err(Error::Api(e)) => e,
        other => panic!("expected a 503, got {other:?}"),
    };
    assert_eq!(
        (error.status, error.kind()),
        (503, ApiErrorKind::InternalServer)
    );
    assert_eq!(error.codes(), vec![1503]);
    assert_eq!(fake.hits().len(), 3, "1 attempt + 2 retries");

    let once = client.with_max_retries(0);
    assert!(get(&once).await.is_err());
    assert_eq!(fake.hits().len(), 4, "no retry with max_retries 0");
}

/// Client errors are not retried, and the server can forbid or force a retry.
#[tokio::test]
async fn not_retried_and_should_retry_header() {
    let fake = Fake::start(vec![Canned::new(
        400,
        r#"{"success":false,"errors":[{"code":1001,"message":"Invalid request"}],"messages":[],"result":null}"#,
    )])
    .await;
    let client = fake.client(|b| b.initial_retry_delay(Duration::from_millis(5)));
    assert!(get(&client).await.is_err());
    assert_eq!(fake.hits().len(), 1);

    let fake = Fake::start(vec![
        Canned::new(503, UNAVAILABLE).header("x-should-retry", "false"),
        Canned::new(200, behaviors_body()),
    ])
    .await;
    let client = fake.client(|b| b.initial_retry_delay(Duration::from_millis(5)));
    assert!(get(&client).await.is_err());
    assert_eq!(fake.hits().len(), 1);

    let fake = Fake::start(vec![
        Canned::new(400, "{}").header("x-should-retry", "true"),
        Canned::new(200, behaviors_body()),
    ])
    .await;
    let client = fake.client(|b| b.initial_retry_delay(Duration::from_millis(5)));
    assert!(get(&client).await.is_ok());
    assert_eq!(fake.hits().len(), 2);
}

/// `retry-after-ms` is obeyed; a `Retry-After` over 60 s is not (backoff applies instead).
#[tokio::test]
async fn retry_after_limits() {
    let fake = Fake::start(vec![
        Canned::new(429, RATE_LIMITED).header("retry-after-ms", "300"),
        Canned::new(429, RATE_LIMITED).header("retry-after", "3600"),
        Canned::new(200, behaviors_body()),
    ])
    .await;
    let client = fake.client(|b| b.initial_retry_delay(Duration::from_millis(20)));
    assert!(get(&client).await.is_ok());
    let gaps = gaps(&fake);
    assert!(
        gaps[0] >= Duration::from_millis(290) && gaps[0] < Duration::from_millis(700),
        "{gaps:?}"
    );
    assert!(
        gaps[1] < Duration::from_millis(500),
        "an hour is not obeyed: {gaps:?}"
    );
}

/// Connection errors are retried with backoff, then reported as such.
#[tokio::test]
async fn connection_refused() {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    // On 127.0.0.2, where nothing listens: the freed port on 127.0.0.1 could be taken by
    // another test's server meanwhile.
    let addr = listener
        .local_addr()
        .map(|a| std::net::SocketAddr::new([127, 0, 0, 2].into(), a.port()))
        .unwrap_or_else(|e| panic!("addr: {e}"));
    drop(listener);
    let client = Client::builder()
        .api_token("t")
        .base_url(format!("http://{addr}/client/v4"))
        .initial_retry_delay(Duration::from_millis(100))
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"));
    let started = Instant::now();
    let result = get(&client).await;
    assert!(
        matches!(&result, Err(e @ Error::Connection { .. }) if e.is_transport()),
        "{result:?}"
    );
    // Two backoff waits: 100 ms and 200 ms, each minus up to 25 %.
    assert!(
        started.elapsed() >= Duration::from_millis(225),
        "{:?}",
        started.elapsed()
    );
}

/// A slow answer times out each attempt, then the timeout is reported.
#[tokio::test]
async fn timeouts() {
    let fake = Fake::start(vec![
        Canned::new(200, behaviors_body()).delayed(Duration::from_secs(5)),
    ])
    .await;
    let client = fake.client(|b| {
        b.timeout(Duration::from_millis(200))
            .max_retries(1)
            .initial_retry_delay(Duration::from_millis(5))
    });
    let started = Instant::now();
    let result = get(&client).await;
    assert!(
        matches!(&result, Err(Error::Timeout { timeout, .. }) if *timeout == Duration::from_millis(200)),
        "{result:?}"
    );
    assert_eq!(fake.hits().len(), 2);
    assert!(started.elapsed() < Duration::from_secs(3));
}
