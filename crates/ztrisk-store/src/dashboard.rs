//! What both backends share for [`crate::DashboardStore`]: UTC day numbers, the email prefix
//! as a range of the email index, the overview from counter rows, and sessions as stored.

use crate::StoreError;
use crate::model::{DailyRisk, LevelCounts, RiskOverview, SessionCredential};
use crate::rank::level_of;
use chrono::NaiveDate;
use ztrisk_core::credentials::SecretHash;

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

/// The day number `risk_daily` keys `date` by: days since 1970-01-01, as the triggers of
/// migration 0008 compute it from an event's time (`floor(ts / 86400000)`).
pub fn day_number(date: NaiveDate) -> i64 {
    (date - epoch()).num_days()
}

/// The date of a day number; `None` out of chrono's range.
fn date_of(day: i64) -> Option<NaiveDate> {
    epoch().checked_add_signed(chrono::TimeDelta::try_days(day)?)
}

/// The overview from `(rank, users)` rows of `level_counts` and `(day, rank, events)` rows of
/// `risk_daily` sorted by day. Ranks this version does not know and empty days are left out.
pub fn overview(
    users: impl IntoIterator<Item = (i64, i64)>,
    daily: impl IntoIterator<Item = (i64, i64, i64)>,
) -> RiskOverview {
    let mut overview = RiskOverview::default();
    for (rank, n) in users {
        if let Some(level) = level_of(rank) {
            overview.users.add(level, n.max(0) as u64);
        }
    }
    let mut current: Option<(i64, LevelCounts)> = None;
    let push = |day: i64, counts: LevelCounts, out: &mut Vec<DailyRisk>| {
        if let Some(day) = date_of(day).filter(|_| counts.total() > 0) {
            out.push(DailyRisk { day, counts });
        }
    };
    for (day, rank, n) in daily {
        let Some(level) = level_of(rank) else {
            continue;
        };
        match &mut current {
            Some((d, counts)) if *d == day => counts.add(level, n.max(0) as u64),
            _ => {
                if let Some((d, counts)) = current.take() {
                    push(d, counts, &mut overview.daily);
                }
                let mut counts = LevelCounts::default();
                counts.add(level, n.max(0) as u64);
                current = Some((day, counts));
            }
        }
    }
    if let Some((d, counts)) = current {
        push(d, counts, &mut overview.daily);
    }
    overview
}

/// An email prefix as the store matches it: lowercased as emails are
/// (`ztrisk_core::events`), and `None` when empty (every email has it).
pub fn normalize_prefix(prefix: Option<String>) -> Option<String> {
    let prefix = prefix?;
    if prefix.is_empty() {
        return None;
    }
    Some(if prefix.is_ascii() {
        prefix.to_ascii_lowercase()
    } else {
        prefix.to_lowercase()
    })
}

/// The least string greater than every string that starts with `prefix`, in code point order
/// (SQLite's BINARY collation, PostgreSQL's "C": both compare UTF-8 bytes, which is the same
/// order): `email >= prefix AND email < bound` is exactly "starts with `prefix`", as a range
/// of the `(account_key, email)` index, with no character acting as a wildcard. `None` when
/// there is no such string (a prefix of only U+10FFFF): then `email >= prefix` alone is
/// exact.
pub fn prefix_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match u32::from(last) + 1 {
            0xD800 => Some('\u{E000}'),
            n => char::from_u32(n),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// A session's credential as stored (`dashboard_sessions` columns of the same names).
pub struct StoredCredential<'a> {
    /// `token` | `api_key`.
    pub kind: &'static str,
    pub secret_hash: Option<&'a [u8]>,
    pub email: Option<&'a str>,
    pub key_hash: Option<&'a [u8]>,
}

pub fn credential_columns(credential: &SessionCredential) -> StoredCredential<'_> {
    match credential {
        SessionCredential::Token { secret_hash } => StoredCredential {
            kind: "token",
            secret_hash: Some(&secret_hash.0[..]),
            email: None,
            key_hash: None,
        },
        SessionCredential::ApiKey { email, key_hash } => StoredCredential {
            kind: "api_key",
            secret_hash: None,
            email: Some(email.as_str()),
            key_hash: Some(&key_hash.0[..]),
        },
    }
}

/// Reads back what [`credential_columns`] stored.
pub fn credential_from_columns(
    kind: &str,
    secret_hash: Option<&[u8]>,
    email: Option<String>,
    key_hash: Option<&[u8]>,
) -> Result<SessionCredential, StoreError> {
    let hash = |bytes: Option<&[u8]>| {
        bytes
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .map(SecretHash)
            .ok_or_else(|| StoreError::Backend("stored session hash is malformed".into()))
    };
    match kind {
        "token" => Ok(SessionCredential::Token {
            secret_hash: hash(secret_hash)?,
        }),
        "api_key" => Ok(SessionCredential::ApiKey {
            email: email
                .ok_or_else(|| StoreError::Backend("stored api_key session has no email".into()))?,
            key_hash: hash(key_hash)?,
        }),
        other => Err(StoreError::Backend(format!(
            "stored session kind {other:?} is unknown"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 86_400_000;

    fn starts_by_range(email: &str, prefix: &str) -> bool {
        email >= prefix && prefix_bound(prefix).is_none_or(|b| email < b.as_str())
    }

    #[test]
    fn the_prefix_range_is_exactly_starts_with() {
        let prefixes = [
            "a",
            "ab",
            "a%",
            "a_",
            "a\\",
            "z",
            "\u{7f}",
            "é",
            "\u{D7FF}",
            "a\u{10FFFF}",
            "\u{10FFFF}",
            "\u{FFFF}",
        ];
        let emails = [
            "a",
            "ab",
            "abc",
            "a%b",
            "a_b",
            "aXb",
            "a\\b",
            "a\\",
            "b",
            "a\u{10FFFF}x",
            "a\u{10FFFF}",
            "b\u{0}",
            "é@x",
            "ê",
            "\u{D7FF}x",
            "\u{E000}",
            "\u{10FFFF}\u{10FFFF}",
            "\u{FFFF}a",
            "\u{10000}",
            "z",
            "za",
            "{",
            "\u{7f}x",
            "\u{80}",
        ];
        for p in prefixes {
            for e in emails {
                assert_eq!(starts_by_range(e, p), e.starts_with(p), "{e:?} / {p:?}");
            }
        }
        assert_eq!(prefix_bound("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_bound("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_bound("\u{10FFFF}"), None);
    }

    #[test]
    fn prefixes_are_lowercased_and_empty_is_none() {
        assert_eq!(normalize_prefix(Some("AB%".into())).as_deref(), Some("ab%"));
        assert_eq!(normalize_prefix(Some("ÉA".into())).as_deref(), Some("éa"));
        assert_eq!(normalize_prefix(Some(String::new())), None);
        assert_eq!(normalize_prefix(None), None);
    }

    #[test]
    fn days_are_utc_days_since_the_epoch() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
        assert_eq!(day_number(day(1970, 1, 1)), 0);
        assert_eq!(day_number(day(2026, 1, 1)), 1_767_225_600_000 / DAY_MS);
        assert_eq!(date_of(-1), Some(day(1969, 12, 31)));
        assert_eq!(date_of(day_number(day(2026, 3, 4))), Some(day(2026, 3, 4)));
    }

    #[test]
    fn the_overview_groups_days_and_skips_the_empty_and_unknown() {
        let got = overview(
            [(1, 4), (2, 0), (3, 2), (0, 9), (7, 1)],
            [(10, 1, 2), (10, 3, 1), (11, 2, 0), (12, 9, 5), (13, 2, 3)],
        );
        assert_eq!(
            got.users,
            LevelCounts {
                low: 4,
                medium: 0,
                high: 2
            }
        );
        let days: Vec<(i64, LevelCounts)> = got
            .daily
            .iter()
            .map(|d| (day_number(d.day), d.counts))
            .collect();
        assert_eq!(
            days,
            vec![
                (
                    10,
                    LevelCounts {
                        low: 2,
                        medium: 0,
                        high: 1
                    }
                ),
                (
                    13,
                    LevelCounts {
                        low: 0,
                        medium: 3,
                        high: 0
                    }
                ),
            ]
        );
    }
}
