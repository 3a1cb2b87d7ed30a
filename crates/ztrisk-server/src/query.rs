//! Query-string parameters: paging and ordering, validated into store queries.

use crate::error::ApiError;
use std::collections::HashMap;
use ztrisk_core::FieldError;
use ztrisk_store::model::{Direction, Paging};
use ztrisk_types::Vocabulary;

/// Raw query parameters; a malformed query string is a 400 in the envelope.
pub fn parse(raw: Option<&str>) -> Result<HashMap<String, String>, ApiError> {
    let raw = raw.unwrap_or_default();
    let mut params = HashMap::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_decode(&s.replace('+', " "))
                .ok_or_else(|| ApiError::invalid(format!("/{key}"), "malformed query string"))
        };
        params.insert(decode(key)?, decode(value)?);
    }
    Ok(params)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Collects the problems of several parameters, so all are reported at once.
#[derive(Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    fn push(&mut self, name: &str, message: String) {
        self.0.push(FieldError::new(format!("/{name}"), message));
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Invalid(self.0))
        }
    }

    /// An integer parameter within `min..=max`.
    pub fn number(
        &mut self,
        params: &HashMap<String, String>,
        name: &str,
        min: u32,
        max: u32,
    ) -> Option<u32> {
        let raw = params.get(name)?;
        match raw.parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.push(name, format!("query parameter `{name}` must be an integer from {min} to {max}, got {raw:?}"));
                None
            }
        }
    }

    /// One of a vocabulary's wire strings, or `None` when absent.
    pub fn choice<T: Vocabulary>(
        &mut self,
        params: &HashMap<String, String>,
        name: &str,
    ) -> Option<T> {
        let raw = params.get(name)?;
        let parsed = T::parse(raw);
        if parsed.is_none() {
            self.push(
                name,
                format!(
                    "query parameter `{name}` must be one of {}, got {raw:?}",
                    T::expected()
                ),
            );
        }
        parsed
    }

    /// An RFC 3339 time (`2026-01-10T10:00:00Z`), or `None` when absent.
    pub fn time(
        &mut self,
        params: &HashMap<String, String>,
        name: &str,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        let raw = params.get(name)?;
        // An offset sent unencoded (`+01:00`) arrives as a space: read it as the `+` meant.
        let parsed = chrono::DateTime::parse_from_rfc3339(raw.trim())
            .or_else(|_| chrono::DateTime::parse_from_rfc3339(&raw.trim().replace(' ', "+")));
        match parsed {
            Ok(t) => Some(t.to_utc()),
            Err(_) => {
                self.push(
                    name,
                    format!(
                        "query parameter `{name}` must be an RFC 3339 time such as \
                         2026-01-10T10:00:00Z, got {raw:?}"
                    ),
                );
                None
            }
        }
    }

    /// `page`/`per_page`: paging applies when either is given.
    pub fn paging(&mut self, params: &HashMap<String, String>) -> Option<Paging> {
        let page = self.number(params, "page", 1, 1_000_000);
        let per_page = self.number(params, "per_page", 1, 1000);
        (params.contains_key("page") || params.contains_key("per_page")).then(|| Paging {
            page: page.unwrap_or(1),
            per_page: per_page.unwrap_or(DEFAULT_PER_PAGE),
        })
    }

    pub fn direction(&mut self, params: &HashMap<String, String>) -> Direction {
        self.choice(params, "direction").unwrap_or_default()
    }
}

pub const DEFAULT_PER_PAGE: u32 = 25;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates() {
        let params =
            parse(Some("page=2&per_page=50&order_by=event%5Fcount&x=a+b")).unwrap_or_default();
        assert_eq!(
            params.get("order_by").map(String::as_str),
            Some("event_count")
        );
        assert_eq!(params.get("x").map(String::as_str), Some("a b"));
        let mut problems = Problems::default();
        assert_eq!(
            problems.paging(&params),
            Some(Paging {
                page: 2,
                per_page: 50
            })
        );
        assert!(problems.finish().is_ok());
        let params = parse(Some("per_page=0&direction=up")).unwrap_or_default();
        let mut problems = Problems::default();
        problems.paging(&params);
        problems.direction(&params);
        assert!(matches!(problems.finish(), Err(ApiError::Invalid(e)) if e.len() == 2));
        assert!(parse(Some("a=%zz")).is_err());
    }
}
