//! Timestamps as vendors write them, to unix milliseconds.
//!
//! Cloudflare Logpush writes each job's `timestamp_format`: `rfc3339` (text), `unix` (seconds)
//! or `unixnano` (nanoseconds, above 2^53, so never read through a float), as a JSON number
//! or as a string. OCSF's `time` is milliseconds, but some mappers write seconds. So an
//! integer's unit is told by its size, which is unambiguous for any date from 1973 to 5138:
//! below 10^11 seconds, below 10^14 milliseconds, below 10^17 microseconds, else nanoseconds.

use serde_json::Value;

/// What a timestamp must look like, for error messages.
pub const EXPECTED: &str = "an RFC 3339 date-time or a Unix time in seconds, milliseconds or nanoseconds (a number or a string of digits)";

/// The latest time accepted: the end of year 9999, so every result can be formatted.
const MAX_MS: i64 = 253_402_300_799_999;

/// `value` as unix milliseconds (UTC), or `None` when it is no timestamp ztrisk can read.
pub fn parse(value: &Value) -> Option<i64> {
    let ms = match value {
        Value::String(s) => {
            let s = s.trim();
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                from_integer(s.parse::<u64>().ok()?)
            } else {
                chrono::DateTime::parse_from_rfc3339(s)
                    .ok()
                    .map(|t| t.timestamp_millis())
            }
        }
        Value::Number(n) => match n.as_u64() {
            Some(i) => from_integer(i),
            // Fractional seconds (`1684862313.25`); nothing else writes floats.
            None => n
                .as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0 && *f < 1e11)
                .map(|f| (f * 1000.0) as i64),
        },
        _ => None,
    }?;
    (0..=MAX_MS).contains(&ms).then_some(ms)
}

fn from_integer(i: u64) -> Option<i64> {
    let ms = match i {
        0..100_000_000_000 => i.checked_mul(1000)?,
        100_000_000_000..100_000_000_000_000 => i,
        100_000_000_000_000..100_000_000_000_000_000 => i / 1000,
        _ => i / 1_000_000,
    };
    i64::try_from(ms).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// 2023-05-23T17:18:33Z, Elastic's Logpush samples' instant.
    const MS: i64 = 1_684_862_313_000;

    #[test]
    fn every_logpush_format_as_number_or_string() {
        for value in [
            json!("2023-05-23T17:18:33Z"),
            json!("2023-05-24T02:48:33+09:30"),
            json!(1_684_862_313u64),
            json!("1684862313"),
            json!(1_684_862_313_000_000_000u64),
            json!("1684862313000000000"),
            json!(1_684_862_313_000u64),
            json!(1_684_862_313_000_000u64),
            json!(1_684_862_313.0),
        ] {
            assert_eq!(parse(&value), Some(MS), "{value}");
        }
        assert_eq!(
            parse(&json!("2023-05-23T17:18:33.123456789Z")),
            Some(MS + 123)
        );
        assert_eq!(parse(&json!(1_684_862_313_123_456_789u64)), Some(MS + 123));
        assert_eq!(parse(&json!(1_684_862_313.25)), Some(MS + 250));
    }

    #[test]
    fn anything_else_is_none() {
        for value in [
            json!(null),
            json!(""),
            json!("yesterday"),
            json!("2023-05-23 17:18:33"),
            json!(-5),
            json!(true),
            json!([1]),
            json!("99999999999999999999999"),
            json!("10000-01-01T00:00:00Z"),
        ] {
            assert_eq!(parse(&value), None, "{value}");
        }
    }
}
