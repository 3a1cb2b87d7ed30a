//! Shared by the adapters' record-by-record tests.

use crate::{Locator, Mapped, Source, map_record};
use serde_json::Value;
use ztrisk_core::FieldError;
use ztrisk_core::events::Event;

/// Maps `record` as it is, and as the server parses it (only the fields the source reads);
/// both must agree, so a field missing from the source's list fails here.
fn mapped(source: Source, record: &Value) -> Result<Mapped, Vec<FieldError>> {
    let whole = map_record(source, record, &Locator::default());
    let text = record.to_string();
    let parsed = crate::record::parse(text.as_bytes(), source.fields())
        .unwrap_or_else(|e| panic!("{e}: {text}"));
    let filtered = map_record(source, &parsed, &Locator::default());
    match (&whole, &filtered) {
        // Ids derived from the record's content differ with what is kept; the rest agrees.
        (Ok(a), Ok(b)) => assert_eq!(without_digest_ids(a), without_digest_ids(b), "{text}"),
        _ => assert_eq!(whole, filtered, "{text}"),
    }
    whole
}

fn without_digest_ids(mapped: &Mapped) -> Vec<Event> {
    mapped
        .clone()
        .into_events()
        .into_iter()
        .map(|mut e| {
            if e.id
                .as_deref()
                .is_some_and(|id| id.contains(':') && !id.starts_with("posture:"))
            {
                e.id = None;
            }
            e
        })
        .collect()
}

/// Maps a record that must give exactly one event.
pub(crate) fn one(source: Source, record: Value) -> Event {
    match mapped(source, &record) {
        Ok(Mapped::One(event)) => event,
        other => panic!("expected one event from {record}, got {other:?}"),
    }
}

/// Maps a record that must be skipped.
pub(crate) fn skipped(source: Source, record: Value) {
    match mapped(source, &record) {
        Ok(Mapped::Skipped) => {}
        other => panic!("expected {record} to be skipped, got {other:?}"),
    }
}

/// Maps a record that must be rejected; gives the pointers at fault.
pub(crate) fn rejected(source: Source, record: Value) -> Vec<String> {
    match mapped(source, &record) {
        Err(errors) => errors.into_iter().map(|e: FieldError| e.pointer).collect(),
        other => panic!("expected {record} to be rejected, got {other:?}"),
    }
}

/// `record` with `key` set to `value` (`null` removes it).
pub(crate) fn with(mut record: Value, key: &str, value: Value) -> Value {
    if let Some(obj) = record.as_object_mut() {
        if value.is_null() {
            obj.remove(key);
        } else {
            obj.insert(key.to_owned(), value);
        }
    }
    record
}

/// Unix ms of an RFC 3339 time.
pub(crate) fn ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.timestamp_millis())
        .unwrap_or_else(|e| panic!("{rfc3339}: {e}"))
}
