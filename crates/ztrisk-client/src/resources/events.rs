use super::scoring_path;
use crate::Client;
use crate::client::Request;
use crate::error::Error;
use crate::types::IngestResult;
use bytes::Bytes;
use reqwest::Method;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

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

/// Whether a batch's bytes are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentEncoding {
    /// Plain bytes.
    Identity,
    /// Gzip (`Content-Encoding: gzip`): NDJSON typically shrinks tenfold.
    Gzip,
}

/// A Cloudflare Logpush dataset ztrisk's adapter reads (`ingest/cloudflare/{dataset}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogpushDataset {
    /// Access requests: logins to Access applications (`access_login`).
    AccessRequests,
    /// Gateway DNS queries, scored by category (`gateway_dns`).
    GatewayDns,
    /// Gateway HTTP requests: DLP matches and malware verdicts on files.
    GatewayHttp,
    /// Device posture results: CrowdStrike and SentinelOne scores (`device_posture`).
    DevicePostureResults,
}

impl LogpushDataset {
    /// Every dataset.
    pub const ALL: [LogpushDataset; 4] = [
        LogpushDataset::AccessRequests,
        LogpushDataset::GatewayDns,
        LogpushDataset::GatewayHttp,
        LogpushDataset::DevicePostureResults,
    ];

    /// Cloudflare's name for it, as in a Logpush job.
    pub fn name(self) -> &'static str {
        match self {
            LogpushDataset::AccessRequests => "access_requests",
            LogpushDataset::GatewayDns => "gateway_dns",
            LogpushDataset::GatewayHttp => "gateway_http",
            LogpushDataset::DevicePostureResults => "device_posture_results",
        }
    }
}

/// Whose records a batch for one of ztrisk's ingest adapters holds (`POST .../ingest/...`).
/// Written and parsed as the path below `ingest/`: `cloudflare/gateway_dns`, `okta`, `ocsf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestSource {
    /// Cloudflare Logpush records of one dataset.
    Cloudflare(LogpushDataset),
    /// Okta System Log events (LogEvent objects, or an event hook delivery).
    Okta,
    /// OCSF events (Authentication is scored).
    Ocsf,
}

impl IngestSource {
    /// Every source.
    pub fn all() -> impl Iterator<Item = IngestSource> {
        [IngestSource::Okta, IngestSource::Ocsf]
            .into_iter()
            .chain(LogpushDataset::ALL.map(IngestSource::Cloudflare))
    }
}

impl fmt::Display for IngestSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IngestSource::Cloudflare(dataset) => write!(f, "cloudflare/{}", dataset.name()),
            IngestSource::Okta => f.write_str("okta"),
            IngestSource::Ocsf => f.write_str("ocsf"),
        }
    }
}

/// Only the exact names: the text becomes part of the request's path, so nothing else (`..`,
/// another `/`) may get through.
impl FromStr for IngestSource {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        IngestSource::all()
            .find(|source| source.to_string() == s)
            .ok_or_else(|| {
                let names: Vec<String> = IngestSource::all().map(|s| s.to_string()).collect();
                Error::InvalidParameter(format!(
                    "unknown ingest source {s:?}: expected one of {}",
                    names.join(", ")
                ))
            })
    }
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
        let request = Request::new(Method::POST, path).body(body.into(), format.content_type());
        self.client.result(request).await
    }

    /// Sends an encoded batch of a vendor's records to one of ztrisk's ingest adapters (up to
    /// 64 MiB once decompressed). Well-formed records without a signal are counted in
    /// [`IngestResult::skipped`]; adapters derive ids from the records, so a retried batch
    /// counts as `duplicates`.
    ///
    /// ```no_run
    /// # async fn f(client: ztrisk_client::Client) -> Result<(), ztrisk_client::Error> {
    /// use ztrisk_client::resources::{ContentEncoding, EventsFormat, IngestSource};
    /// let source: IngestSource = "cloudflare/gateway_dns".parse()?;
    /// // Records as Logpush writes them, one per line.
    /// let lines = std::fs::read("gateway_dns.ndjson").unwrap_or_default();
    /// let (format, encoding) = (EventsFormat::NdJson, ContentEncoding::Identity);
    /// let events = client.zero_trust().risk_scoring().events();
    /// let result = events.ingest_source("account_id", source, lines, format, encoding).await?;
    /// println!("{} accepted, {:?} skipped", result.accepted, result.skipped);
    /// # Ok(()) }
    /// ```
    pub async fn ingest_source(
        &self,
        account_id: &str,
        source: IngestSource,
        body: impl Into<Bytes>,
        format: EventsFormat,
        encoding: ContentEncoding,
    ) -> Result<IngestResult, Error> {
        let path = scoring_path(account_id, &format!("/ingest/{source}"))?;
        let request = Request::new(Method::POST, path);
        let request = match encoding {
            ContentEncoding::Identity => request.body(body.into(), format.content_type()),
            ContentEncoding::Gzip => {
                request.encoded_body(body.into(), format.content_type(), "gzip")
            }
        };
        self.client.result(request).await
    }
}

impl EventsFormat {
    fn content_type(self) -> &'static str {
        match self {
            EventsFormat::JsonArray => "application/json",
            EventsFormat::NdJson => "application/x-ndjson",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ingest_sources_are_exactly_the_adapters_paths() {
        for name in [
            "okta",
            "ocsf",
            "cloudflare/access_requests",
            "cloudflare/gateway_dns",
            "cloudflare/gateway_http",
            "cloudflare/device_posture_results",
        ] {
            let source = name.parse::<IngestSource>();
            assert_eq!(source.map(|s| s.to_string()).ok().as_deref(), Some(name));
        }
        for bad in [
            "",
            "ztrisk",
            "cloudflare",
            "cloudflare/",
            "cloudflare/../events",
            "cloudflare/gateway_dns/x",
            "../okta",
            "Okta",
            " okta",
        ] {
            let error = bad.parse::<IngestSource>();
            assert!(
                matches!(&error, Err(Error::InvalidParameter(m)) if m.contains("cloudflare/gateway_dns")),
                "{bad:?}: {error:?}"
            );
        }
    }

    /// What a fake server saw of the request: path, Content-Encoding, Content-Type.
    type Seen = std::sync::Arc<std::sync::Mutex<Vec<(String, String, String)>>>;

    /// A server answering every request with an adapter's result, recording what it saw.
    async fn fake_adapter(seen: Seen) -> String {
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap| async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                seen.lock().unwrap_or_else(|e| e.into_inner()).push((
                    uri.path().to_owned(),
                    header("content-encoding"),
                    header("content-type"),
                ));
                axum::Json(serde_json::json!({
                    "success": true, "errors": [], "messages": [],
                    "result": {"accepted": 1, "duplicates": 0, "skipped": 2, "risk_events": 0,
                               "rejected": []}
                }))
            },
        );
        let (listener, addr) = ztrisk_server::testing::listen().await;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}/client/v4")
    }

    #[tokio::test]
    async fn ingest_source_posts_to_the_adapters_path_with_its_encoding() {
        let seen = Seen::default();
        let client = Client::builder()
            .base_url(fake_adapter(seen.clone()).await)
            .api_token("t".repeat(40))
            .build()
            .unwrap_or_else(|e| panic!("client: {e}"));
        let events = client.zero_trust().risk_scoring().events();
        let dns = IngestSource::Cloudflare(LogpushDataset::GatewayDns);
        let ndjson = EventsFormat::NdJson;
        let zipped = events
            .ingest_source("acc", dns, vec![0x1f, 0x8b], ndjson, ContentEncoding::Gzip)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((zipped.accepted, zipped.skipped), (1, Some(2)));
        let plain = events
            .ingest_source(
                "acc",
                IngestSource::Okta,
                "[]",
                EventsFormat::JsonArray,
                ContentEncoding::Identity,
            )
            .await;
        assert!(plain.is_ok(), "{plain:?}");
        let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let path = |rest: &str| format!("/client/v4/accounts/acc/zt_risk_scoring/ingest/{rest}");
        assert_eq!(
            seen,
            [
                (
                    path("cloudflare/gateway_dns"),
                    "gzip".into(),
                    "application/x-ndjson".into()
                ),
                (path("okta"), String::new(), "application/json".into()),
            ]
        );
    }
}
