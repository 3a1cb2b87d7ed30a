//! When to retry and how long to wait, as Cloudflare's official SDKs do.

use reqwest::header::HeaderMap;
use std::time::Duration;

/// The longest `Retry-After` that is obeyed; a longer one falls back to backoff.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Retry settings of a client.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (the official SDKs' default: 2).
    pub max_retries: u32,
    /// The first backoff delay (0.5 s); each retry doubles it.
    pub initial_delay: Duration,
    /// The longest backoff delay (8 s).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// Whether an answer with this status and these headers should be retried: 408, 409,
    /// 429 and 5xx, unless the server says otherwise with `x-should-retry`.
    pub fn should_retry(status: u16, headers: &HeaderMap) -> bool {
        match headers.get("x-should-retry").and_then(|v| v.to_str().ok()) {
            Some("true") => return true,
            Some("false") => return false,
            _ => {}
        }
        matches!(status, 408 | 409 | 429) || status >= 500
    }

    /// How long to wait before retry number `retry` (0 for the first retry): what the server
    /// asked for when it is between 0 and 60 s, otherwise exponential backoff with jitter
    /// (`initial_delay * 2^retry`, at most `max_delay`, minus up to 25 %).
    pub fn delay(&self, retry: u32, headers: Option<&HeaderMap>, jitter: f64) -> Duration {
        if let Some(wait) = headers.and_then(retry_after)
            && !wait.is_zero()
            && wait <= MAX_RETRY_AFTER
        {
            return wait;
        }
        let base = self
            .initial_delay
            .saturating_mul(2u32.saturating_pow(retry.min(31)))
            .min(self.max_delay);
        base.mul_f64(1.0 - 0.25 * jitter.clamp(0.0, 1.0))
    }
}

/// The wait a response asks for: `retry-after-ms` (milliseconds), else `Retry-After` in
/// seconds (fractions accepted) or as an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = text("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(1e9)));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
    wait.to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            if let Ok(value) = HeaderValue::from_str(value) {
                map.insert(*name, value);
            }
        }
        map
    }

    #[test]
    fn statuses() {
        let none = HeaderMap::new();
        for status in [408, 409, 429, 500, 502, 503, 504] {
            assert!(RetryPolicy::should_retry(status, &none), "{status}");
        }
        for status in [200, 400, 401, 403, 404, 405, 413, 422] {
            assert!(!RetryPolicy::should_retry(status, &none), "{status}");
        }
        assert!(!RetryPolicy::should_retry(
            503,
            &headers(&[("x-should-retry", "false")])
        ));
        assert!(RetryPolicy::should_retry(
            400,
            &headers(&[("x-should-retry", "true")])
        ));
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "3")])),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "1.5")])),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after-ms", "250"), ("retry-after", "9")])),
            Some(Duration::from_millis(250))
        );
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let wait = retry_after(&headers(&[("retry-after", &soon)])).unwrap_or_default();
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30));
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "-1")])), None);
    }

    #[test]
    fn backoff() {
        let policy = RetryPolicy::default();
        // No jitter: 0.5, 1, 2, 4, 8, 8 seconds.
        let delays: Vec<u128> = (0..6)
            .map(|n| policy.delay(n, None, 0.0).as_millis())
            .collect();
        assert_eq!(delays, vec![500, 1000, 2000, 4000, 8000, 8000]);
        // Full jitter takes off a quarter.
        assert_eq!(policy.delay(0, None, 1.0), Duration::from_millis(375));
        assert_eq!(policy.delay(1000, None, 0.0), Duration::from_secs(8));
        // Retry-After is obeyed up to 60 s; beyond, or 0, backoff applies.
        let asked = headers(&[("retry-after", "7")]);
        assert_eq!(policy.delay(0, Some(&asked), 0.5), Duration::from_secs(7));
        let too_long = headers(&[("retry-after", "61")]);
        assert_eq!(
            policy.delay(0, Some(&too_long), 0.0),
            Duration::from_millis(500)
        );
        let zero = headers(&[("retry-after", "0")]);
        assert_eq!(
            policy.delay(1, Some(&zero), 0.0),
            Duration::from_millis(1000)
        );
    }
}
