use super::Event;
use crate::FieldError;

pub(super) fn event(_value: &serde_json::Value) -> Result<Event, Vec<FieldError>> {
    Err(vec![FieldError::new("", "event parsing is not implemented yet")])
}
