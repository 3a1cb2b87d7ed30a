use super::scoring_path;
use crate::Client;
use crate::client::Request;
use crate::error::Error;
use crate::types::IngestResult;
use bytes::Bytes;
use reqwest::Method;
use serde::Serialize;

/// Security events in (`risk_scoring().events()`): a ztrisk addition, not a Cloudflare
/// endpoint. Needs ztrisk's `Zero Trust Risk Events Write` permission.
///
/// Requests are retried like any other: give events an `id` so a retried batch is recognised
/// (`duplicates`) instead of stored twice.
#[derive(Debug, Clone, Copy)]
pub struct Events<'a> {
    client: &'a Client,
}

/// How a batch of events is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventsFormat {
    /// A JSON array (`application/json`).
    JsonArray,
    /// One event per line (`application/x-ndjson`).
    NdJson,
}

impl<'a> Events<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Sends events as a JSON array. Each bad event is rejected alone (see
    /// [`IngestResult::rejected`]); the good ones are stored.
    ///
    /// ```no_run
    /// # async fn f(client: ztrisk_client::Client) -> Result<(), ztrisk_client::Error> {
    /// let events = [serde_json::json!({
    ///     "id": "login-1", "type": "access_login", "timestamp": "2026-11-24T10:00:00Z",
    ///     "user": {"email": "a@example.com"}, "success": false, "ip": "198.51.100.7"
    /// })];
    /// let result = client.zero_trust().risk_scoring().events().ingest("account_id", &events).await?;
    /// println!("{} accepted, {} risk events", result.accepted, result.risk_events);
    /// # Ok(()) }
    /// ```
    pub async fn ingest<E: Serialize>(
        &self,
        account_id: &str,
        events: &[E],
    ) -> Result<IngestResult, Error> {
        let path = scoring_path(account_id, "/events")?;
        let request = Request::new(Method::POST, path).json(events)?;
        self.client.result(request).await
    }

    /// Sends an already encoded batch (up to 16 MiB), e.g. lines of an NDJSON file.
    pub async fn ingest_raw(
        &self,
        account_id: &str,
        body: impl Into<Bytes>,
        format: EventsFormat,
    ) -> Result<IngestResult, Error> {
        let path = scoring_path(account_id, "/events")?;
        let content_type = match format {
            EventsFormat::JsonArray => "application/json",
            EventsFormat::NdJson => "application/x-ndjson",
        };
        let request = Request::new(Method::POST, path).body(body.into(), content_type);
        self.client.result(request).await
    }
}
