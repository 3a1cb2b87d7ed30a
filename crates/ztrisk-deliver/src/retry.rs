//! What an attempt's outcome means for a delivery, and when to try again (spec 4.2).
//!
//! 2xx is delivered. 400, 401, 403, 404 and 410 are the receiver refusing: retrying the same
//! bytes cannot help, so the delivery fails. 408, 429, 5xx, timeouts and connection errors are
//! passing trouble: retried with exponential backoff and jitter, from 1 s up to 1 h apart,
//! honouring `Retry-After`, for [`GIVE_UP_AFTER`]. Anything else fails too, with a reason that
//! says what happened; a 3xx in particular, because following a redirect would let a receiver
//! point ztrisk anywhere (the client never follows them: [`crate::outbound::client`]).
//!
//! Every error text ends up in `last_error`, which the deliveries API shows: they carry the
//! status and a short, cleaned extract of the receiver's answer, never a URL (Slack webhook
//! URLs are secrets), a header we sent or anything that looks like a credential.

use chrono::{DateTime, Utc};
use http::HeaderMap;
use http::header::{LOCATION, RETRY_AFTER};
use std::time::Duration;

/// The first wait between attempts.
pub const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The longest wait between attempts, `Retry-After` included.
pub const MAX_DELAY: Duration = Duration::from_secs(3600);
/// How long a delivery is retried, from its first attempt, before it fails.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(72 * 3600);
/// How much of a receiver's answer an error text keeps.
const SNIPPET_CHARS: usize = 200;

/// What to do with a delivery after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Try again later; `retry_after` is the receiver's `Retry-After`, when it gave one.
    Retry {
        retry_after: Option<Duration>,
        error: String,
    },
    /// The receiver refused: stop.
    Failed {
        error: String,
    },
}

/// The verdict on an HTTP answer.
pub fn classify(status: u16, headers: &HeaderMap, body: &[u8]) -> Verdict {
    classify_at(status, headers, body, Utc::now())
}

/// [`classify`] with the current time given (for an HTTP-date `Retry-After`).
pub fn classify_at(status: u16, headers: &HeaderMap, body: &[u8], now: DateTime<Utc>) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        408 | 429 | 500..=599 => Verdict::Retry {
            retry_after: headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, now)),
            error: answer_error(status, body),
        },
        300..=399 => Verdict::Failed {
            error: redirect_error(status, headers),
        },
        400 | 401 | 403 | 404 | 410 => Verdict::Failed {
            error: answer_error(status, body),
        },
        _ => Verdict::Failed {
            error: format!(
                "{}; not a status ztrisk retries",
                answer_error(status, body)
            ),
        },
    }
}

/// The verdict on an attempt that got no HTTP answer: a timeout, a refused connection, a TLS or
/// DNS failure. All are retried. reqwest's own text names the URL, which can be a secret (a
/// Slack webhook URL is its own credential), so only the causes below it are kept.
pub fn transport_error(error: &reqwest::Error) -> Verdict {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        source = cause.source();
    }
    let error = if causes.is_empty() {
        what.to_owned()
    } else {
        format!("{what}: {}", sanitize(causes.join(": ").as_bytes()))
    };
    Verdict::Retry {
        retry_after: None,
        error,
    }
}

/// How long to wait before the next attempt, after `attempts` attempts (the first one
/// included). Doubles from [`FIRST_DELAY`] up to [`MAX_DELAY`]; `jitter` in `[0, 1)` (random,
/// from the caller, so this stays testable) stretches it by up to a quarter, so receivers that
/// failed together do not get hit together again. A `Retry-After` is waited for at least,
/// capped at [`MAX_DELAY`] so a receiver cannot park a delivery past its expiry.
pub fn next_attempt_delay(attempts: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
    let doublings = attempts.saturating_sub(1).min(31);
    let base = FIRST_DELAY.saturating_mul(1u32 << doublings).min(MAX_DELAY);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let backoff = base.mul_f64(1.0 + jitter / 4.0).min(MAX_DELAY);
    match retry_after {
        Some(wait) => backoff.max(wait.min(MAX_DELAY)),
        None => backoff,
    }
}

/// `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 section 10.2.3). A date in the past
/// is "now"; anything unparsable is ignored (plain backoff applies).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    // IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") is RFC 2822 syntax with the zone `GMT`.
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// `HTTP 400: invalid_audience: <description>` for an RFC 8935 error body, else the status and a
/// short, cleaned extract of the body.
fn answer_error(status: u16, body: &[u8]) -> String {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map_or(String::new(), |r| format!(" {r}"));
    let head = format!("HTTP {status}{reason}");
    if let Some(set_error) = rfc8935_error(body) {
        return format!("{head}: {set_error}");
    }
    let snippet = sanitize(body);
    if snippet.is_empty() {
        head
    } else {
        format!("{head}: {snippet}")
    }
}

/// RFC 8935 section 2.3: `{"err": "<code>", "description": "<text>"}` (description optional).
fn rfc8935_error(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let err = value.get("err")?.as_str()?;
    let err = sanitize(err.as_bytes());
    match value.get("description").and_then(|d| d.as_str()) {
        Some(description) if !description.trim().is_empty() => {
            Some(format!("{err}: {}", sanitize(description.as_bytes())))
        }
        _ => Some(err),
    }
}

/// A redirect is refused; say where it pointed (scheme, host and path, no query) so the
/// administrator can fix the URL, without copying tokens a query might carry.
fn redirect_error(status: u16, headers: &HeaderMap) -> String {
    let target = headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|location| {
            let location = location.split(['?', '#']).next().unwrap_or_default();
            format!(" to {}", sanitize(location.as_bytes()))
        })
        .unwrap_or_default();
    format!(
        "HTTP {status}: the receiver redirects{target}; ztrisk does not follow redirects, configure the final URL"
    )
}

/// Printable, single-line, short text from bytes a receiver chose: control characters become
/// spaces, runs of whitespace collapse, credentials after `Bearer`/`Basic` and `whsec_` secrets
/// are masked, and the result is cut at [`SNIPPET_CHARS`] characters.
fn sanitize(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut words: Vec<String> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    for i in 0..words.len() {
        let after_scheme = i > 0 && {
            let previous = words[i - 1].to_ascii_lowercase();
            previous.ends_with("bearer") || previous.ends_with("basic")
        };
        if after_scheme || words[i].contains(crate::webhook::SECRET_PREFIX) {
            words[i] = "[redacted]".into();
        }
    }
    let joined = words.join(" ");
    match joined.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", &joined[..cut]),
        None => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn with(name: http::header::HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).unwrap());
        headers
    }

    fn verdict(status: u16, body: &[u8]) -> Verdict {
        classify_at(status, &HeaderMap::new(), body, now())
    }

    fn error_of(verdict: Verdict) -> String {
        match verdict {
            Verdict::Retry { error, .. } | Verdict::Failed { error } => error,
            Verdict::Delivered => panic!("delivered"),
        }
    }

    #[test]
    fn any_2xx_is_delivered() {
        for status in [200, 201, 202, 204, 299] {
            assert_eq!(verdict(status, b"whatever"), Verdict::Delivered, "{status}");
        }
    }

    #[test]
    fn refusals_fail() {
        for status in [400, 401, 403, 404, 410] {
            assert!(
                matches!(verdict(status, b""), Verdict::Failed { .. }),
                "{status}"
            );
        }
        assert_eq!(error_of(verdict(401, b"")), "HTTP 401 Unauthorized");
    }

    #[test]
    fn passing_trouble_is_retried() {
        for status in [408, 429, 500, 502, 503, 504, 599] {
            assert!(
                matches!(
                    verdict(status, b""),
                    Verdict::Retry {
                        retry_after: None,
                        ..
                    }
                ),
                "{status}"
            );
        }
        assert_eq!(
            error_of(verdict(503, b"  busy\n\n now ")),
            "HTTP 503 Service Unavailable: busy now"
        );
    }

    #[test]
    fn a_400_keeps_the_rfc_8935_error() {
        let body = br#"{"err":"authentication_failed","description":"Could not verify message signature"}"#;
        assert_eq!(
            verdict(400, body),
            Verdict::Failed {
                error: "HTTP 400 Bad Request: authentication_failed: Could not verify message signature".into()
            }
        );
        assert_eq!(
            error_of(verdict(400, br#"{"err":"invalid_key"}"#)),
            "HTTP 400 Bad Request: invalid_key"
        );
        // Not RFC 8935: the body's own text.
        assert_eq!(
            error_of(verdict(400, br#"{"error":"nope"}"#)),
            r#"HTTP 400 Bad Request: {"error":"nope"}"#
        );
    }

    #[test]
    fn redirects_fail_and_are_never_followed() {
        for status in [301, 302, 303, 307, 308] {
            let headers = with(LOCATION, "https://elsewhere.example/hook?token=s3cr3t#x");
            let error = error_of(classify_at(status, &headers, b"", now()));
            assert!(
                error.contains("redirects to https://elsewhere.example/hook;"),
                "{error}"
            );
            assert!(error.contains("does not follow redirects"), "{error}");
            assert!(!error.contains("s3cr3t"), "{error}");
        }
        assert!(matches!(verdict(304, b""), Verdict::Failed { .. }));
    }

    #[test]
    fn other_statuses_fail_with_a_clear_reason() {
        for status in [100, 405, 409, 413, 422, 600, 999] {
            let error = error_of(verdict(status, b"no"));
            assert!(error.starts_with(&format!("HTTP {status}")), "{error}");
            assert!(error.contains("not a status ztrisk retries"), "{error}");
        }
        assert_eq!(
            error_of(verdict(422, b"bad")),
            "HTTP 422 Unprocessable Entity: bad; not a status ztrisk retries"
        );
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let retried = |value: &str| match classify_at(503, &with(RETRY_AFTER, value), b"", now()) {
            Verdict::Retry { retry_after, .. } => retry_after,
            other => panic!("{other:?}"),
        };
        assert_eq!(retried("120"), Some(Duration::from_secs(120)));
        assert_eq!(retried(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            retried("Thu, 01 Jan 2026 00:00:30 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retried("Wed, 31 Dec 2025 23:00:00 GMT"),
            Some(Duration::ZERO),
            "past date"
        );
        assert_eq!(retried("soon"), None);
        assert_eq!(retried("-5"), None);
        // Retry-After on a refusal changes nothing.
        assert!(matches!(
            classify_at(404, &with(RETRY_AFTER, "5"), b"", now()),
            Verdict::Failed { .. }
        ));
    }

    #[test]
    fn error_texts_are_short_single_line_and_mask_credentials() {
        let long = "x".repeat(5000);
        let error = error_of(verdict(500, long.as_bytes()));
        assert!(
            error.chars().count() < SNIPPET_CHARS + 40,
            "{}",
            error.len()
        );
        assert!(error.ends_with('…'));

        let error = error_of(verdict(500, b"line1\r\nline2\x00\x1b[31m\ttab"));
        assert_eq!(
            error,
            "HTTP 500 Internal Server Error: line1 line2 [31m tab"
        );

        let echo =
            b"got Authorization: Bearer abc.def.ghi and secret whsec_AAAA and basic dXNlcjpwdw==";
        let error = error_of(verdict(500, echo));
        assert!(!error.contains("abc.def.ghi"), "{error}");
        assert!(!error.contains("whsec_AAAA"), "{error}");
        assert!(!error.contains("dXNlcjpwdw=="), "{error}");

        let error = error_of(verdict(400, br#"{"err":"x","description":"Bearer tok3n"}"#));
        assert!(!error.contains("tok3n"), "{error}");

        // Invalid UTF-8 does not break anything.
        assert!(error_of(verdict(502, &[0xff, 0xfe, b'o', b'k'])).ends_with("ok"));
    }

    #[test]
    fn backoff_doubles_from_one_second_to_one_hour() {
        let plain = |attempts| next_attempt_delay(attempts, None, 0.0);
        assert_eq!(plain(0), Duration::from_secs(1));
        assert_eq!(plain(1), Duration::from_secs(1));
        assert_eq!(plain(2), Duration::from_secs(2));
        assert_eq!(plain(3), Duration::from_secs(4));
        assert_eq!(plain(12), Duration::from_secs(2048));
        assert_eq!(plain(13), MAX_DELAY);
        assert_eq!(plain(40), MAX_DELAY);
        assert_eq!(plain(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn jitter_stretches_by_up_to_a_quarter_and_never_past_an_hour() {
        assert_eq!(
            next_attempt_delay(3, None, 0.5),
            Duration::from_millis(4500)
        );
        let top = next_attempt_delay(3, None, 0.999_999);
        assert!(
            top > Duration::from_millis(4990) && top < Duration::from_secs(5),
            "{top:?}"
        );
        assert_eq!(
            next_attempt_delay(12, None, 0.9),
            Duration::from_millis(2_508_800)
        );
        assert_eq!(next_attempt_delay(13, None, 0.9), MAX_DELAY);
        // Out-of-range jitter is clamped, not trusted.
        assert_eq!(next_attempt_delay(1, None, -3.0), Duration::from_secs(1));
        assert_eq!(
            next_attempt_delay(1, None, f64::NAN),
            Duration::from_secs(1)
        );
        assert_eq!(
            next_attempt_delay(1, None, 7.0),
            Duration::from_millis(1250)
        );
        assert!(next_attempt_delay(1, None, 0.0) >= FIRST_DELAY);
    }

    #[test]
    fn retry_after_is_a_floor_capped_at_an_hour() {
        let secs = Duration::from_secs;
        assert_eq!(next_attempt_delay(1, Some(secs(120)), 0.0), secs(120));
        assert_eq!(next_attempt_delay(1, Some(Duration::ZERO), 0.0), secs(1));
        assert_eq!(
            next_attempt_delay(10, Some(secs(1)), 0.0),
            secs(512),
            "backoff wins"
        );
        assert_eq!(next_attempt_delay(1, Some(secs(86_400)), 0.0), MAX_DELAY);
        assert_eq!(GIVE_UP_AFTER, secs(72 * 3600));
    }

    #[tokio::test]
    async fn transport_errors_are_retried_without_the_url() {
        // A refused connection on loopback: bind a port, then free it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/hooks/T000/B000/s3cr3tpath");
        let err = reqwest::Client::new().post(&url).send().await.unwrap_err();
        match transport_error(&err) {
            Verdict::Retry {
                retry_after: None,
                error,
            } => {
                assert!(error.starts_with("could not connect"), "{error}");
                assert!(!error.contains("s3cr3tpath"), "{error}");
            }
            other => panic!("{other:?}"),
        }
    }
}
