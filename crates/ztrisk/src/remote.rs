//! A minimal client of a running ztrisk (or Cloudflare) API for the feeding commands.

use anyhow::{Context, bail};
use serde_json::Value;
use std::time::Duration;

/// Where to send and with what credentials.
#[derive(Debug, clap::Args)]
pub struct RemoteArgs {
    /// API base URL.
    #[arg(
        long,
        env = "CLOUDFLARE_BASE_URL",
        default_value = "http://127.0.0.1:8787/client/v4"
    )]
    pub base_url: String,
    /// API token.
    #[arg(long, env = "CLOUDFLARE_API_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Account id (32 hex characters).
    #[arg(long, env = "CLOUDFLARE_ACCOUNT_ID")]
    pub account: String,
}

pub struct Remote {
    client: reqwest::Client,
    base: String,
    token: String,
}

/// Attempts per request: transient failures (connection errors, 429, 5xx) are retried; event
/// ids make retried batches idempotent.
const ATTEMPTS: u32 = 5;

impl Remote {
    pub fn new(args: &RemoteArgs) -> anyhow::Result<Self> {
        let account: ztrisk_core::AccountId = args
            .account
            .parse()
            .with_context(|| format!("--account {:?}", args.account))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("ztrisk-cli/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            base: format!(
                "{}/accounts/{account}/zt_risk_scoring",
                args.base_url.trim_end_matches('/')
            ),
            token: args.token.clone(),
        })
    }

    /// Sends one batch of events; `ndjson` selects the body format.
    pub async fn post_events(&self, body: Vec<u8>, ndjson: bool) -> anyhow::Result<Value> {
        let content_type = if ndjson {
            "application/x-ndjson"
        } else {
            "application/json"
        };
        self.send(reqwest::Method::POST, "/events", body, content_type)
            .await
    }

    pub async fn put_behaviors(&self, behaviors: &Value) -> anyhow::Result<Value> {
        let body = serde_json::to_vec(&serde_json::json!({ "behaviors": behaviors }))?;
        self.send(reqwest::Method::PUT, "/behaviors", body, "application/json")
            .await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut delay = Duration::from_millis(250);
        for attempt in 1..=ATTEMPTS {
            let response = self
                .client
                .request(method.clone(), &url)
                .bearer_auth(&self.token)
                .header("content-type", content_type)
                .body(body.clone())
                .send()
                .await;
            let retry_after = match response {
                Err(e) if attempt < ATTEMPTS && (e.is_connect() || e.is_timeout()) => None,
                Err(e) => return Err(e).with_context(|| format!("{method} {url}")),
                Ok(response) => {
                    let status = response.status();
                    let retryable = status.as_u16() == 429 || status.is_server_error();
                    if retryable && attempt < ATTEMPTS {
                        response
                            .headers()
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse::<u64>().ok())
                            .map(|s| Duration::from_secs(s.min(60)))
                    } else {
                        let text = response.text().await.unwrap_or_default();
                        let body: Value = serde_json::from_str(&text).with_context(|| {
                            format!("{method} {url}: HTTP {status}, not JSON: {text:.200}")
                        })?;
                        if !status.is_success() {
                            bail!("{method} {url}: HTTP {status}: {}", describe_errors(&body));
                        }
                        return Ok(body["result"].clone());
                    }
                }
            };
            tokio::time::sleep(retry_after.unwrap_or(delay)).await;
            delay = (delay * 2).min(Duration::from_secs(10));
        }
        bail!("{method} {url}: gave up after {ATTEMPTS} attempts")
    }
}

/// `code message (at pointer)` for each error of an envelope.
pub fn describe_errors(body: &Value) -> String {
    let items: Vec<String> = body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let pointer = e["source"]["pointer"]
                .as_str()
                .map(|p| format!(" (at {p})"))
                .unwrap_or_default();
            format!(
                "{} {}{pointer}",
                e["code"],
                e["message"].as_str().unwrap_or_default()
            )
        })
        .collect();
    if items.is_empty() {
        body.to_string()
    } else {
        items.join("; ")
    }
}
