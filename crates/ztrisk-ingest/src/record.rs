//! Parsing one record while keeping only the fields its mapping reads.
//!
//! A Logpush `gateway_dns` line has about 70 possible fields and ztrisk reads 8; an Okta
//! LogEvent carries `debugContext`, `securityContext`, `request` and more. Building all of
//! them as JSON values costs more than mapping and storing the record, so the other fields are
//! skipped as they are parsed: they are still checked to be JSON, but nothing is allocated
//! for them.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

/// The top-level fields a source's mapping reads; `None` keeps everything.
pub type Keep = Option<&'static [&'static str]>;

/// `bytes` as JSON, with only the top-level fields of `keep` when it is an object.
pub fn parse(bytes: &[u8], keep: Keep) -> Result<Value, serde_json::Error> {
    match keep {
        None => serde_json::from_slice(bytes),
        Some(keep) => {
            let mut deserializer = serde_json::Deserializer::from_slice(bytes);
            let value = Filtered(keep).deserialize(&mut deserializer)?;
            deserializer.end()?;
            Ok(value)
        }
    }
}

/// Deserializes any JSON value; an object keeps only the listed keys.
struct Filtered(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Filtered {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Visitor<'de> for Filtered {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if self.0.contains(&key.as_ref()) {
                out.insert(key.into_owned(), map.next_value::<Value>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Value::Object(out))
    }

    // Anything but an object is kept whole: the mapping reports it as "expected an object".
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_keep_only_the_listed_fields_and_other_values_are_whole() {
        const KEEP: &[&str] = &["a", "b\"c"];
        let text = br#"{"a": {"x": [1, 2]}, "skip": {"deep": [1, {"y": "z"}]}, "b\"c": "\u00e9", "n": 1.5}"#;
        assert_eq!(
            parse(text, Some(KEEP)).ok(),
            Some(json!({"a": {"x": [1, 2]}, "b\"c": "é"}))
        );
        assert_eq!(
            parse(text, None).ok().map(|v| v["n"].clone()),
            Some(json!(1.5))
        );
        for other in [&b"[1, {\"a\": 2}]"[..], b"true", b"null", b"-3", b"\"s\""] {
            assert_eq!(
                parse(other, Some(KEEP)).ok(),
                serde_json::from_slice(other).ok()
            );
        }
    }

    #[test]
    fn skipped_fields_must_still_be_json() {
        assert!(parse(br#"{"a": 1, "skip": [1, }"#, Some(&["a"])).is_err());
        assert!(parse(br#"{"a": 1} trailing"#, Some(&["a"])).is_err());
    }
}
