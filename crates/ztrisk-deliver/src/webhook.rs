//! ztrisk's own webhooks (spec 4.6): Standard Webhooks 1.0 signatures and the bodies, in the
//! `standard` and `slack` formats.
//!
//! The outbox stores a delivery's `webhook-id` and body once; every attempt calls [`headers`]
//! with the time of that attempt. Standard Webhooks receivers (the reference library included)
//! refuse a `webhook-timestamp` more than 5 minutes away from their clock, so a retry must
//! re-sign with a fresh timestamp, while the id and the body stay the same for deduplication.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chrono::{DateTime, SecondsFormat};
use ring::hmac;
use serde_json::{Value, json};
use ztrisk_core::RiskLevel;
use ztrisk_core::scoring::ChangeCause;

/// The event type of a level change.
pub const CHANGE_TYPE: &str = "user.risk_level.changed";
/// The event type of `POST .../webhooks/{id}/test`.
pub const TEST_TYPE: &str = "webhook.test";
/// How webhook secrets start, so people (and secret scanners) recognise them.
pub const SECRET_PREFIX: &str = "whsec_";

/// A secret that cannot key a signature. Never carries the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the webhook secret is not `whsec_` followed by base64")]
    InvalidSecret,
}

/// A new secret: `whsec_` + standard base64 of 32 random bytes (the spec asks for 24 to 64).
pub fn generate_secret() -> String {
    format!(
        "{SECRET_PREFIX}{}",
        STANDARD.encode(rand::random::<[u8; 32]>())
    )
}

/// A new `webhook-id`: 32 lowercase hex digits, the same form as a SET's `jti` (no `.`).
pub fn new_id() -> String {
    crate::random_id()
}

/// `v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">`, keyed with the bytes the secret's
/// base64 stands for (not its text), as the specification and its libraries do.
pub fn signature(
    secret: &str,
    msg_id: &str,
    timestamp_secs: i64,
    body: &[u8],
) -> Result<String, WebhookError> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, &secret_bytes(secret)?);
    let mut context = hmac::Context::with_key(&key);
    context.update(format!("{msg_id}.{timestamp_secs}.").as_bytes());
    context.update(body);
    Ok(format!("v1,{}", STANDARD.encode(context.sign())))
}

/// The three headers of one attempt, `timestamp_secs` being the attempt's time (unix seconds).
pub fn headers(
    secret: &str,
    msg_id: &str,
    timestamp_secs: i64,
    body: &[u8],
) -> Result<Vec<(&'static str, String)>, WebhookError> {
    Ok(vec![
        ("webhook-id", msg_id.to_owned()),
        ("webhook-timestamp", timestamp_secs.to_string()),
        (
            "webhook-signature",
            signature(secret, msg_id, timestamp_secs, body)?,
        ),
    ])
}

/// The secret's key bytes. The reference libraries strip `whsec_` when present and decode with
/// or without padding; an empty key is refused (it would sign with nothing secret).
fn secret_bytes(secret: &str) -> Result<Vec<u8>, WebhookError> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    match LENIENT.decode(encoded) {
        Ok(bytes) if !bytes.is_empty() => Ok(bytes),
        _ => Err(WebhookError::InvalidSecret),
    }
}

/// One level change, as a webhook tells it.
#[derive(Debug, Clone, Copy)]
pub struct WebhookChange<'a> {
    pub account_id: &'a str,
    pub user_id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    /// `None` is unscored.
    pub previous: Option<RiskLevel>,
    pub current: Option<RiskLevel>,
    pub cause: &'a ChangeCause,
}

/// The `standard` body: `{"type":"user.risk_level.changed","timestamp",data:{...}}`, with
/// `timestamp_ms` the change's time (unix ms; the time of the event, not of the attempt).
pub fn standard_body(change: &WebhookChange<'_>, timestamp_ms: i64) -> Vec<u8> {
    to_bytes(&json!({
        "type": CHANGE_TYPE,
        "timestamp": rfc3339(timestamp_ms),
        "data": {
            "account_id": change.account_id,
            "user_id": change.user_id,
            "email": change.email,
            "name": change.name,
            "previous_level": change.previous.map(RiskLevel::as_str),
            "current_level": change.current.map(RiskLevel::as_str),
            "reason": change.cause.code(),
            "initiating_entity": change.cause.initiating_entity(),
        },
    }))
}

/// The `slack` body: one readable line for a Slack incoming webhook (who, from what to what, why).
pub fn slack_body(change: &WebhookChange<'_>) -> Vec<u8> {
    let text = format!(
        "ztrisk: {} ({}) risk level {} \u{2192} {}: {}",
        slack_escape(change.name),
        slack_escape(change.email),
        level_text(change.previous),
        level_text(change.current),
        slack_escape(&change.cause.describe()),
    );
    to_bytes(&json!({ "text": text }))
}

/// The `standard` body of a test delivery.
pub fn test_body(account_id: &str, timestamp_ms: i64) -> Vec<u8> {
    to_bytes(&json!({
        "type": TEST_TYPE,
        "timestamp": rfc3339(timestamp_ms),
        "data": {"account_id": account_id},
    }))
}

/// The `slack` body of a test delivery.
pub fn slack_test_body(account_id: &str) -> Vec<u8> {
    let text = format!(
        "ztrisk: test message for account {}: this webhook works.",
        slack_escape(account_id)
    );
    to_bytes(&json!({ "text": text }))
}

fn level_text(level: Option<RiskLevel>) -> &'static str {
    level.map_or("unscored", RiskLevel::as_str)
}

/// Slack reads `&`, `<` and `>` as markup (`<!channel>` pings everyone, `<url|text>` links), and
/// names and emails come from ingested events: escape them as Slack documents.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// RFC 3339 in UTC with milliseconds, as the rest of the API writes times.
fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A `Value` always serializes (string keys, no floats that could fail); compact, as sent.
fn to_bytes(value: &Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::hmac::{HMAC_SHA256, Key};

    /// The Standard Webhooks reference vector (its libraries' "sign function works" test).
    const VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const VECTOR_TS: i64 = 1614265330;
    const VECTOR_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const VECTOR_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn cause() -> ChangeCause {
        ChangeCause::Detection("imp_travel".parse().unwrap())
    }

    fn change(cause: &ChangeCause) -> WebhookChange<'_> {
        WebhookChange {
            account_id: "0123456789abcdef0123456789abcdef",
            user_id: "4f5d6c1e-0000-4000-8000-000000000001",
            email: "jane@example.com",
            name: "Jane Doe",
            previous: None,
            current: Some(RiskLevel::High),
            cause,
        }
    }

    fn json(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn signs_the_reference_vector() {
        assert_eq!(
            signature(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY).unwrap(),
            VECTOR_SIGNATURE
        );
        // The libraries also take the secret without its prefix.
        assert_eq!(
            signature(&VECTOR_SECRET[6..], VECTOR_ID, VECTOR_TS, VECTOR_BODY).unwrap(),
            VECTOR_SIGNATURE
        );
    }

    #[test]
    fn generated_secrets_sign_like_an_independent_hmac() {
        let secret = generate_secret();
        assert!(secret.starts_with("whsec_"));
        let key_bytes = STANDARD.decode(&secret[6..]).unwrap();
        assert_eq!(key_bytes.len(), 32);
        assert_ne!(secret, generate_secret());

        let body = br#"{"a":1}"#;
        let tag = hmac::sign(
            &Key::new(HMAC_SHA256, &key_bytes),
            b"msg_1.1700000000.{\"a\":1}",
        );
        let want = format!("v1,{}", STANDARD.encode(tag));
        assert_eq!(signature(&secret, "msg_1", 1700000000, body).unwrap(), want);
    }

    #[test]
    fn a_retry_keeps_id_and_body_and_resigns_the_fresh_timestamp() {
        let body = standard_body(&change(&cause()), 1_767_225_598_000);
        let first = headers(VECTOR_SECRET, "abc", 1767225600, &body).unwrap();
        let retry = headers(VECTOR_SECRET, "abc", 1767229200, &body).unwrap();
        let names: Vec<&str> = first.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            ["webhook-id", "webhook-timestamp", "webhook-signature"]
        );
        assert_eq!(first[0], retry[0]);
        assert_eq!(first[1].1, "1767225600");
        assert_eq!(retry[1].1, "1767229200");
        assert_ne!(first[2], retry[2]);
        assert_eq!(
            retry[2].1,
            signature(VECTOR_SECRET, "abc", 1767229200, &body).unwrap()
        );
    }

    #[test]
    fn bad_secrets_are_refused_without_being_echoed() {
        for bad in ["whsec_", "", "whsec_not base64!", "whsec_%%%%"] {
            let err = signature(bad, "id", 1, b"").unwrap_err();
            assert_eq!(err, WebhookError::InvalidSecret, "{bad:?}");
            assert!(headers(bad, "id", 1, b"").is_err());
        }
        let err = signature("whsec_%%sup3rs3cret", "id", 1, b"").unwrap_err();
        assert!(!err.to_string().contains("sup3rs3cret"));
        // Missing padding is fine, as in the reference libraries.
        assert!(signature("whsec_YWJj", "id", 1, b"").is_ok());
        assert!(signature("whsec_YWI", "id", 1, b"").is_ok());
    }

    #[test]
    fn standard_body_shape() {
        let body = standard_body(&change(&cause()), 1_767_225_598_123);
        assert_eq!(
            json(&body),
            json!({"type": "user.risk_level.changed", "timestamp": "2025-12-31T23:59:58.123Z",
              "data": {"account_id": "0123456789abcdef0123456789abcdef",
                "user_id": "4f5d6c1e-0000-4000-8000-000000000001", "email": "jane@example.com",
                "name": "Jane Doe", "previous_level": null, "current_level": "high",
                "reason": "imp_travel", "initiating_entity": "policy"}})
        );
        // Compact JSON: what is signed is what is sent, with no whitespace to lose.
        assert!(!body.contains(&b'\n'));

        let reset = ChangeCause::Reset;
        let body = json(&standard_body(
            &WebhookChange {
                previous: Some(RiskLevel::Medium),
                current: None,
                ..change(&reset)
            },
            0,
        ));
        assert_eq!(body["timestamp"], "1970-01-01T00:00:00.000Z");
        assert_eq!(body["data"]["previous_level"], "medium");
        assert_eq!(body["data"]["current_level"], Value::Null);
        assert_eq!(body["data"]["reason"], "reset");
        assert_eq!(body["data"]["initiating_entity"], "admin");
    }

    #[test]
    fn slack_body_is_one_readable_line() {
        let body = json(&slack_body(&change(&cause())));
        assert_eq!(
            body,
            json!({"text": "ztrisk: Jane Doe (jane@example.com) risk level unscored \u{2192} high: Impossible Travel"})
        );
        let expiry = ChangeCause::Expiry;
        let text = json(&slack_body(&WebhookChange {
            previous: Some(RiskLevel::Medium),
            current: Some(RiskLevel::Low),
            ..change(&expiry)
        }))["text"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(text.contains("medium \u{2192} low: Risk expired"), "{text}");
        assert!(!text.contains('\n'));
    }

    #[test]
    fn slack_markup_from_user_data_is_escaped() {
        let cause = cause();
        let body = json(&slack_body(&WebhookChange {
            name: "<!channel> & <https://evil.example|click>",
            ..change(&cause)
        }));
        let text = body["text"].as_str().unwrap();
        assert!(
            text.contains("&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;"),
            "{text}"
        );
        assert!(!text.contains('<'));
    }

    #[test]
    fn test_bodies() {
        assert_eq!(
            json(&test_body("acc", 1_767_225_600_000)),
            json!({"type": "webhook.test", "timestamp": "2026-01-01T00:00:00.000Z",
                   "data": {"account_id": "acc"}})
        );
        let slack = json(&slack_test_body("acc"));
        assert!(slack["text"].as_str().unwrap().contains("acc"));
        assert_eq!(slack.as_object().unwrap().len(), 1);
    }

    #[test]
    fn ids_are_dot_free() {
        let id = new_id();
        assert_eq!(id.len(), 32);
        assert!(!id.contains('.'));
    }
}
