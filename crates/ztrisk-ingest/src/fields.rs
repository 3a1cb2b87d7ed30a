//! Reading a vendor record's fields, collecting every problem with its JSON pointer.
//!
//! Vendors leave fields out, write `null` or write `""` for "none", so all three read as
//! absent. A field of the wrong type is an error, reported with the pointer to it (relative to
//! the record, e.g. `/PostureReceivedJSON/overall`).

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use ztrisk_core::FieldError;
use ztrisk_core::events::{MAX_ID_CHARS, UserRef};
use ztrisk_core::field_error::pointer_join;

pub(crate) struct Fields<'a> {
    obj: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

/// `/a/b` for `["a", "b"]`, escaped as RFC 6901 says.
pub(crate) fn pointer(path: &[&str]) -> String {
    path.iter()
        .fold(String::new(), |base, key| pointer_join(&base, key))
}

impl<'a> Fields<'a> {
    pub(crate) fn of(record: &'a Value, what: &str) -> Result<Self, Vec<FieldError>> {
        match record.as_object() {
            Some(obj) => Ok(Self {
                obj,
                errors: Vec::new(),
            }),
            None => Err(vec![FieldError::new(
                "",
                format!("expected a JSON object: {what}"),
            )]),
        }
    }

    pub(crate) fn error(&mut self, path: &[&str], message: impl Into<String>) {
        self.errors.push(FieldError::new(pointer(path), message));
    }

    /// The value at `path`; `None` when absent or `null`.
    pub(crate) fn get(&self, path: &[&str]) -> Option<&'a Value> {
        let (last, parents) = path.split_last()?;
        let mut obj = self.obj;
        for key in parents {
            obj = obj.get(*key)?.as_object()?;
        }
        obj.get(*last).filter(|v| !v.is_null())
    }

    /// An optional string; `""` counts as absent.
    pub(crate) fn str(&mut self, path: &[&str]) -> Option<&'a str> {
        match self.get(path)? {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s),
            _ => {
                self.error(path, "expected a string");
                None
            }
        }
    }

    /// A string the mapping cannot do without.
    pub(crate) fn required_str(&mut self, path: &[&str]) -> Option<&'a str> {
        let value = self.str(path);
        if value.is_none() && !self.has_error_at(path) {
            self.error(path, "is required: a non-empty string");
        }
        value
    }

    /// A boolean (also `"true"`/`"false"`, as CSV-minded shippers write them); required.
    pub(crate) fn required_bool(&mut self, path: &[&str]) -> Option<bool> {
        match self.get(path) {
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
            Some(_) => {
                self.error(path, "expected a boolean");
                None
            }
            None => {
                self.error(path, "is required: a boolean");
                None
            }
        }
    }

    /// A required timestamp in any format [`crate::time`] reads, as unix milliseconds.
    pub(crate) fn timestamp(&mut self, path: &[&str]) -> Option<i64> {
        match self.get(path) {
            None => {
                self.error(path, format!("is required: {}", crate::time::EXPECTED));
                None
            }
            Some(value) => {
                let ms = crate::time::parse(value);
                if ms.is_none() {
                    self.error(
                        path,
                        format!("expected {}, got {value}", crate::time::EXPECTED),
                    );
                }
                ms
            }
        }
    }

    /// An optional IP address.
    pub(crate) fn ip(&mut self, path: &[&str]) -> Option<IpAddr> {
        let s = self.str(path)?;
        match s.trim().parse() {
            Ok(ip) => Some(ip),
            Err(_) => {
                self.error(path, format!("expected an IPv4 or IPv6 address, got {s:?}"));
                None
            }
        }
    }

    /// An optional array of strings (`null` and absent are empty).
    pub(crate) fn strings(&mut self, path: &[&str]) -> Vec<&'a str> {
        match self.get(path) {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                let strings: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                if strings.len() != items.len() {
                    self.error(path, "expected an array of strings");
                }
                strings
            }
            Some(_) => {
                self.error(path, "expected an array of strings");
                Vec::new()
            }
        }
    }

    /// An optional array of non-negative integers (`null` and absent are empty).
    pub(crate) fn integers(&mut self, path: &[&str]) -> Vec<u64> {
        match self.get(path) {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                let numbers: Vec<u64> = items.iter().filter_map(Value::as_u64).collect();
                if numbers.len() != items.len() {
                    self.error(path, "expected an array of non-negative integers");
                }
                numbers
            }
            Some(_) => {
                self.error(path, "expected an array of non-negative integers");
                Vec::new()
            }
        }
    }

    fn has_error_at(&self, path: &[&str]) -> bool {
        let p = pointer(path);
        self.errors.iter().any(|e| e.pointer == p)
    }

    /// The mapped value when no field was at fault, else every problem found.
    pub(crate) fn finish<T>(self, value: Option<T>) -> Result<T, Vec<FieldError>> {
        match value {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ if self.errors.is_empty() => Err(vec![FieldError::new("", "cannot be mapped")]),
            _ => Err(self.errors),
        }
    }
}

/// A number, or a string of one (`"42"`), as a non-negative integer.
pub(crate) fn uint(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1e15)
                .map(|f| f as u64)
        }),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|f| uint(&Value::from(f))),
        _ => None,
    }
}

/// The user a record is about: `None` when it has no email-shaped address, which makes the
/// record skipped (ztrisk keys users by email). A vendor id that is a UUID becomes the user's
/// id; any other id (Okta's `00u…`) is kept as the external id.
pub(crate) fn user(email: Option<&str>, id: Option<&str>, name: Option<&str>) -> Option<UserRef> {
    let mut user = UserRef::by_email(email?.trim())?;
    if let Some(id) = id.map(str::trim).filter(|id| !id.is_empty()) {
        match uuid::Uuid::try_parse(id) {
            Ok(uuid) => user.id = Some(uuid),
            Err(_) => user.external_id = Some(truncate(id, MAX_ID_CHARS)),
        }
    }
    user.name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| truncate(n, 256));
    Some(user)
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

/// An event id from the vendor's own, made to fit: an id longer than ztrisk keeps is replaced
/// by a digest of it, so it stays unique and a retry still maps to the same id.
pub(crate) fn fit_id(id: String) -> String {
    if id.len() <= MAX_ID_CHARS || id.chars().count() <= MAX_ID_CHARS {
        id
    } else {
        digest_id("long", &[id.as_bytes()])
    }
}

/// An id for a record that has none, from the parts that make it unique, so that the same
/// record sent twice (a retried batch) gets the same id and counts once.
pub(crate) fn digest_id(kind: &str, parts: &[&[u8]]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    format!("{kind}:{}", hex::encode(&hash.finalize()[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_null_and_empty_read_alike_and_wrong_types_are_errors() {
        let record = json!({"a": null, "b": "", "c": "x", "n": 5, "o": {"p": "q"}});
        let mut f = Fields::of(&record, "a record").unwrap_or_else(|_| panic!());
        assert_eq!(f.str(&["a"]), None);
        assert_eq!(f.str(&["b"]), None);
        assert_eq!(f.str(&["zz"]), None);
        assert_eq!(f.str(&["c"]), Some("x"));
        assert_eq!(f.str(&["o", "p"]), Some("q"));
        assert_eq!(f.str(&["n"]), None);
        assert_eq!(f.required_str(&["b"]), None);
        let errors = f.finish(Some(())).err().unwrap_or_default();
        let pointers: Vec<_> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/n", "/b"]);
        assert_eq!(pointer(&["a/b", "c~d"]), "/a~1b/c~0d");
    }

    #[test]
    fn users_need_an_email_and_keep_vendor_ids() {
        assert_eq!(user(None, None, None), None);
        assert_eq!(user(Some("not-an-email"), None, None), None);
        let u = user(
            Some(" Jane@Example.com "),
            Some("00u1abvz4pYqdM8ms4x6"),
            Some("Jane"),
        )
        .unwrap_or_else(|| panic!());
        assert_eq!(u.email, "jane@example.com");
        assert_eq!(u.id, None);
        assert_eq!(u.external_id.as_deref(), Some("00u1abvz4pYqdM8ms4x6"));
        assert_eq!(u.name.as_deref(), Some("Jane"));
        let uid = "166befbb-00e3-5e20-bd6e-27245333949f";
        let u = user(Some("a@b.example"), Some(uid), None).unwrap_or_else(|| panic!());
        assert_eq!(u.id.map(|id| id.to_string()).as_deref(), Some(uid));
        assert_eq!(u.external_id, None);
    }

    #[test]
    fn ids_fit_and_digests_are_stable() {
        assert_eq!(fit_id("short".into()), "short");
        let long = fit_id("x".repeat(200));
        assert!(long.starts_with("long:") && long.len() < 128, "{long}");
        assert_eq!(long, fit_id("x".repeat(200)));
        assert_ne!(
            digest_id("k", &[b"ab", b"c"]),
            digest_id("k", &[b"a", b"bc"])
        );
        assert_eq!(uint(&json!("42")), Some(42));
        assert_eq!(uint(&json!(42.0)), Some(42));
        assert_eq!(uint(&json!(-1)), None);
        assert_eq!(uint(&json!("4.5")), None);
    }
}
