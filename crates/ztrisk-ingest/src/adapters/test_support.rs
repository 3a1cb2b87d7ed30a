//! Shared by the adapters' record-by-record tests.

use crate::{Locator, Mapped, Source, map_record};
use serde_json::Value;
use ztrisk_core::FieldError;
use ztrisk_core::events::Event;

/// Maps a record that must give exactly one event.
pub(crate) fn one(source: Source, record: Value) -> Event {
    match map_record(source, &record, &Locator::default()) {
        Ok(Mapped::One(event)) => event,
        other => panic!("expected one event from {record}, got {other:?}"),
    }
}

/// Maps a record that must be skipped.
pub(crate) fn skipped(source: Source, record: Value) {
    match map_record(source, &record, &Locator::default()) {
        Ok(Mapped::Skipped) => {}
        other => panic!("expected {record} to be skipped, got {other:?}"),
    }
}

/// Maps a record that must be rejected; gives the pointers at fault.
pub(crate) fn rejected(source: Source, record: Value) -> Vec<String> {
    match map_record(source, &record, &Locator::default()) {
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
