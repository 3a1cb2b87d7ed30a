//! One attempt of one delivery: the bytes (built on the first attempt, resent on retries), the
//! request, and what the answer means.

use crate::keyring::KeyRing;
use crate::retry::{GIVE_UP_AFTER, Verdict, classify, next_attempt_delay, transport_error};
use crate::set::{RiskChangeSet, okta_push_url};
use crate::signer::Signer;
use crate::webhook::{self, WebhookChange};
use chrono::{DateTime, Utc};
use reqwest::header::CONTENT_TYPE;
use std::sync::Arc;
use url::Url;
use ztrisk_core::scoring::ChangeCause;
use ztrisk_store::model::{
    AttemptResult, DeliveryRecord, DeliveryTask, Target, Webhook, WebhookFormat,
};

/// What a worker knows that deliveries need.
#[derive(Debug, Clone)]
pub struct Context {
    /// The server's public URL: SETs' issuers hang off it.
    pub public_url: String,
    /// URLs that reach ztrisk itself: never delivered to.
    pub own_urls: Vec<Url>,
}

/// The `iss` of an integration's SETs and discovery document: `<public_url>/<integration_id>`.
pub fn issuer(public_url: &str, integration_id: uuid::Uuid) -> String {
    format!("{}/{integration_id}", public_url.trim_end_matches('/'))
}

/// Makes one attempt. Returns its result and, on a first attempt, the bytes to keep for
/// retries.
pub async fn attempt(
    http: &reqwest::Client,
    signer: &Signer,
    task: &DeliveryTask,
    keys: &Arc<KeyRing>,
    context: &Context,
    now: DateTime<Utc>,
) -> (AttemptResult, Option<Vec<u8>>) {
    let record = &task.record;
    let prepared = match prepare(signer, task, keys, context, now).await {
        Ok(prepared) => prepared,
        // Nothing can be sent (no key yet, a URL ztrisk may not call): retried later, in case
        // it is passing (a key is being made), until the delivery expires.
        Err(error) => {
            return (
                settle(
                    record,
                    Verdict::Retry {
                        retry_after: None,
                        error,
                    },
                    now,
                ),
                None,
            );
        }
    };
    let mut request = http
        .post(&prepared.url)
        .header(CONTENT_TYPE, prepared.content_type)
        .body(prepared.body.clone());
    if let Target::SsfPush {
        authorization_header: Some(authorization),
        ..
    } = &task.target
    {
        // RFC 8935 section 2: the receiver's own credential, sent as it gave it.
        request = request.header(reqwest::header::AUTHORIZATION, authorization);
    }
    if let Target::Webhook {
        secret,
        format: WebhookFormat::Standard,
        ..
    } = &task.target
    {
        // A fresh timestamp and signature on every attempt (receivers refuse old ones), over
        // the same id and body.
        match webhook::headers(secret, &record.id, now.timestamp(), &prepared.body) {
            Ok(headers) => {
                for (name, value) in headers {
                    request = request.header(name, value);
                }
            }
            Err(e) => {
                let verdict = Verdict::Failed {
                    error: e.to_string(),
                };
                return (settle(record, verdict, now), None);
            }
        }
    }
    let verdict = match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            // Only the start of an answer matters for the reason; a huge one is not read.
            let body = read_prefix(response, 4096).await;
            classify(status, &headers, &body)
        }
        Err(e) => transport_error(&e),
    };
    let keep = task.payload.is_none().then_some(prepared.body);
    (settle(record, verdict, now), keep)
}

struct Prepared {
    url: String,
    content_type: &'static str,
    body: Vec<u8>,
}

async fn prepare(
    signer: &Signer,
    task: &DeliveryTask,
    keys: &Arc<KeyRing>,
    context: &Context,
    now: DateTime<Utc>,
) -> Result<Prepared, String> {
    let record = &task.record;
    match &task.target {
        Target::Okta {
            integration_id,
            tenant_url,
        } => {
            let url = okta_push_url(tenant_url);
            crate::outbound::check_url(&url, &context.own_urls)?;
            let body = match &task.payload {
                Some(bytes) => bytes.clone(),
                None => {
                    let cause = cause(record);
                    let audience = tenant_url.trim_end_matches('/');
                    let issuer = issuer(&context.public_url, *integration_id);
                    let set = RiskChangeSet {
                        issuer: &issuer,
                        audience,
                        jti: &record.id,
                        iat: now.timestamp(),
                        email: &record.email,
                        previous: record.previous,
                        current: record.current,
                        changed_at_ms: record.changed_at.timestamp_millis(),
                        cause: &cause,
                    };
                    signer
                        .sign(keys.clone(), set.okta_claims())
                        .await?
                        .into_bytes()
                }
            };
            Ok(Prepared {
                url,
                content_type: "application/secevent+jwt",
                body,
            })
        }
        Target::SsfPush {
            integration_id,
            audience,
            stream_id,
            endpoint_url,
            ..
        } => {
            crate::outbound::check_url(endpoint_url, &context.own_urls)?;
            let body = match &task.payload {
                Some(bytes) => bytes.clone(),
                None => {
                    let issuer = issuer(&context.public_url, *integration_id);
                    let stream = StreamSet {
                        issuer: &issuer,
                        audience,
                        stream_id,
                    };
                    signer
                        .sign(keys.clone(), stream.claims(task, now.timestamp()))
                        .await?
                        .into_bytes()
                }
            };
            Ok(Prepared {
                url: endpoint_url.clone(),
                content_type: "application/secevent+jwt",
                body,
            })
        }
        // Polled SETs are handed out by the poll endpoint, never sent; the store does not
        // give them to a worker.
        Target::SsfPoll { .. } => Err("a polled stream's SETs are not pushed".to_owned()),
        Target::Webhook { url, format, .. } => {
            crate::outbound::check_url(url, &context.own_urls)?;
            let body = match &task.payload {
                Some(bytes) => bytes.clone(),
                None => {
                    let cause = cause(record);
                    let account_id = record.account.to_string();
                    let user_id = record.user_id.to_string();
                    let change = WebhookChange {
                        account_id: &account_id,
                        user_id: &user_id,
                        email: &record.email,
                        name: &record.name,
                        previous: record.previous,
                        current: record.current,
                        cause: &cause,
                    };
                    match format {
                        WebhookFormat::Standard => {
                            webhook::standard_body(&change, record.changed_at.timestamp_millis())
                        }
                        WebhookFormat::Slack => webhook::slack_body(&change),
                    }
                }
            };
            Ok(Prepared {
                url: url.clone(),
                content_type: "application/json",
                body,
            })
        }
    }
}

/// Who an SSF stream's SETs are from and to.
#[derive(Debug, Clone, Copy)]
pub struct StreamSet<'a> {
    /// `<public_url>/<integration_id>`.
    pub issuer: &'a str,
    /// The integration's `tenant_url`.
    pub audience: &'a str,
    pub stream_id: &'a str,
}

impl StreamSet<'_> {
    /// The claims of a delivery on the stream: its own event (verification, stream-updated),
    /// or a level change as CAEP's `risk-level-change`.
    pub fn claims(&self, task: &DeliveryTask, iat: i64) -> serde_json::Value {
        let record = &task.record;
        if let Some(event) = &task.stream_event {
            return crate::set::stream_event_claims(
                self.issuer,
                self.audience,
                &record.id,
                iat,
                self.stream_id,
                event,
            );
        }
        let cause = cause(record);
        RiskChangeSet {
            issuer: self.issuer,
            audience: self.audience,
            jti: &record.id,
            iat,
            email: &record.email,
            previous: record.previous,
            current: record.current,
            changed_at_ms: record.changed_at.timestamp_millis(),
            cause: &cause,
        }
        .caep_claims(None)
    }
}

/// The cause as stored; an unreadable one (a newer version's) reads as a detection of it.
fn cause(record: &DeliveryRecord) -> ChangeCause {
    ChangeCause::from_code(&record.cause).unwrap_or(ChangeCause::Expiry)
}

/// The verdict as the outbox records it: when to retry, or that the delivery gives up.
fn settle(record: &DeliveryRecord, verdict: Verdict, now: DateTime<Utc>) -> AttemptResult {
    match verdict {
        Verdict::Delivered => AttemptResult::Delivered,
        Verdict::Failed { error } => AttemptResult::Failed { error },
        Verdict::Retry { retry_after, error } => {
            let delay = next_attempt_delay(record.attempts + 1, retry_after, rand::random());
            let next_at = now + chrono::Duration::from_std(delay).unwrap_or_default();
            let give_up_at =
                record.created_at + chrono::Duration::from_std(GIVE_UP_AFTER).unwrap_or_default();
            if next_at > give_up_at {
                AttemptResult::Failed {
                    error: format!("gave up after 72 h; last error: {error}"),
                }
            } else {
                AttemptResult::Retry { next_at, error }
            }
        }
    }
}

async fn read_prefix(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => out.extend_from_slice(&chunk),
            _ => break,
        }
    }
    out.truncate(limit);
    out
}

/// What `POST /webhooks/{id}/test` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOutcome {
    pub status: Option<u16>,
    pub delivered: bool,
    pub error: Option<String>,
}

/// Sends a `webhook.test` to `hook` now, signed like every delivery.
pub async fn test_webhook(http: &reqwest::Client, hook: &Webhook, own_urls: &[Url]) -> TestOutcome {
    let refused = |error: String| TestOutcome {
        status: None,
        delivered: false,
        error: Some(error),
    };
    if let Err(e) = crate::outbound::check_url(&hook.url, own_urls) {
        return refused(e);
    }
    let now = Utc::now();
    let account_id = hook.account.to_string();
    let body = match hook.format {
        WebhookFormat::Standard => webhook::test_body(&account_id, now.timestamp_millis()),
        WebhookFormat::Slack => webhook::slack_test_body(&account_id),
    };
    let mut request = http
        .post(&hook.url)
        .header(CONTENT_TYPE, "application/json")
        .body(body.clone());
    if hook.format == WebhookFormat::Standard {
        match webhook::headers(&hook.secret, &crate::random_id(), now.timestamp(), &body) {
            Ok(headers) => {
                for (name, value) in headers {
                    request = request.header(name, value);
                }
            }
            Err(e) => return refused(e.to_string()),
        }
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = read_prefix(response, 4096).await;
            match classify(status, &headers, &body) {
                Verdict::Delivered => TestOutcome {
                    status: Some(status),
                    delivered: true,
                    error: None,
                },
                Verdict::Retry { error, .. } | Verdict::Failed { error } => TestOutcome {
                    status: Some(status),
                    delivered: false,
                    error: Some(error),
                },
            }
        }
        Err(e) => match transport_error(&e) {
            Verdict::Retry { error, .. } | Verdict::Failed { error } => refused(error),
            Verdict::Delivered => refused("no answer".into()),
        },
    }
}
