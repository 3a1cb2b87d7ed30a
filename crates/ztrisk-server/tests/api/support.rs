//! What several test files share: a behaviors body, and events in and risk out.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ztrisk_server::testing::TestServer;

/// A PUT `/behaviors` body that sets one custom behavior.
pub const SEED: &str = r#"{"behaviors": {"foo": {"enabled": true, "risk_level": "low"}}}"#;
pub const LONDON: (f64, f64) = (51.5074, -0.1278);
pub const NEW_YORK: (f64, f64) = (40.7128, -74.0060);
pub const PARIS: (f64, f64) = (48.8566, 2.3522);

/// `minutes` after a fixed time, in RFC 3339.
pub fn t(minutes: i64) -> String {
    let base: DateTime<Utc> = DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default();
    (base + Duration::seconds(minutes * 60)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn login(id: &str, email: &str, minutes: i64, (lat, lon): (f64, f64)) -> Value {
    // One address per place: two logins from one IP are never travel (spec 6.1).
    let ip = format!("203.0.113.{}", (lat * 7.0 + lon).abs() as u32 % 250 + 1);
    json!({"id": id, "type": "access_login", "timestamp": t(minutes), "user": {"email": email},
           "success": true, "ip": ip, "location": {"lat": lat, "lon": lon}})
}

pub fn failed_login(id: &str, email: &str, seconds: i64) -> Value {
    let base: DateTime<Utc> =
        DateTime::from_timestamp(1_795_000_000 + seconds, 0).unwrap_or_default();
    json!({"id": id, "type": "access_login", "timestamp": base.to_rfc3339_opts(SecondsFormat::Secs, true),
           "user": {"email": email}, "success": false, "ip": "198.51.100.1"})
}

pub fn dlp(id: String, email: &str, seconds: i64) -> Value {
    let base: DateTime<Utc> =
        DateTime::from_timestamp(1_795_000_000 + seconds, 0).unwrap_or_default();
    json!({"id": id, "type": "dlp_match", "timestamp": base.to_rfc3339_opts(SecondsFormat::Secs, true),
           "user": {"email": email}, "profile": "Credit cards"})
}

pub async fn send(server: &TestServer, events: &[Value]) -> Value {
    let (status, body) = server
        .admin_call(
            Method::POST,
            "/events",
            Some(&Value::from(events.to_vec()).to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["result"].clone()
}

pub async fn enable(server: &TestServer, behaviors: Value) {
    let (status, body) = server
        .admin_call(
            Method::PUT,
            "/behaviors",
            Some(&json!({"behaviors": behaviors}).to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Enables `imp_travel` at level high.
pub async fn enable_impossible_travel(server: &TestServer) {
    enable(
        server,
        json!({"imp_travel": {"enabled": true, "risk_level": "high"}}),
    )
    .await;
}

pub async fn summary(server: &TestServer, query: &str) -> Value {
    let (status, body) = server
        .admin_call(Method::GET, &format!("/summary{query}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

pub async fn user_by_email(server: &TestServer, email: &str) -> Option<Value> {
    summary(server, "").await["result"]["users"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["email"] == email)
        .cloned()
}

pub async fn user(server: &TestServer, user_id: &str) -> Value {
    let (status, body) = server
        .admin_call(Method::GET, &format!("/{user_id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["result"].clone()
}

/// easyssf's HTTP client, over reqwest (its own `reqwest` feature would bring aws-lc-rs): how
/// the real receiver in `sharing.rs` and `ssf_receiver.rs` talks to ztrisk.
pub struct Http(pub reqwest::Client);

#[async_trait::async_trait]
impl easyssf_receiver::http::SsfHttpClient for Http {
    async fn execute(
        &self,
        request: easyssf_receiver::http::SsfHttpRequest,
    ) -> Result<easyssf_receiver::http::SsfHttpResponse, easyssf_receiver::BoxError> {
        let mut builder = self.0.request(request.method.parse()?, request.url.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(timeout) = request.timeout {
            builder = builder.timeout(timeout);
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let response = builder.send().await?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_owned())))
            .collect();
        Ok(easyssf_receiver::http::SsfHttpResponse {
            status,
            headers,
            body: response.text().await?,
        })
    }
}
