use super::catalog::Predefined;
use super::controls::{self, ControlValue, Controls};
use super::settings::SettingKey;
use crate::field_error::pointer_join;
use crate::{BehaviorId, FieldError, RiskLevel};
use serde_json::Value;

/// A validated body of `PUT /behaviors`: only well-formed entries can be written down.
#[derive(Debug, Clone, PartialEq)]
pub struct BehaviorUpdate {
    pub entries: Vec<(BehaviorId, EntryUpdate)>,
}

/// One entry of the update: both required fields, and the settings it names (a partial set).
#[derive(Debug, Clone, PartialEq)]
pub struct EntryUpdate {
    pub enabled: bool,
    pub risk_level: RiskLevel,
    pub settings: Vec<(SettingKey, f64)>,
    /// The controls it names (spec 6.1).
    pub controls: Vec<ControlValue>,
}

const LEVELS: &str = "one of \"low\", \"medium\", \"high\"";

impl BehaviorUpdate {
    /// Validates a whole request body. Every problem is reported, each with the pointer of the
    /// field at fault, so a client can fix them all in one round trip; unknown fields other
    /// than inside `settings` are ignored, as Cloudflare's API does.
    pub fn parse(body: &Value) -> Result<Self, Vec<FieldError>> {
        let Some(root) = body.as_object() else {
            return Err(vec![FieldError::new(
                "",
                "expected a JSON object with a `behaviors` object",
            )]);
        };
        let behaviors = match root.get("behaviors") {
            None => {
                return Err(vec![FieldError::new(
                    "/behaviors",
                    "`behaviors` is required: an object mapping behavior ids to {\"enabled\", \"risk_level\"}",
                )]);
            }
            Some(Value::Object(map)) => map,
            Some(_) => {
                return Err(vec![FieldError::new(
                    "/behaviors",
                    "expected an object mapping behavior ids to {\"enabled\", \"risk_level\"}",
                )]);
            }
        };

        let mut errors = Vec::new();
        let mut entries = Vec::with_capacity(behaviors.len());
        for (raw_id, entry) in behaviors {
            let pointer = pointer_join("/behaviors", raw_id);
            let id = match raw_id.parse::<BehaviorId>() {
                Ok(id) => id,
                Err(e) => {
                    errors.push(FieldError::new(
                        &pointer,
                        format!("invalid behavior id: {e}"),
                    ));
                    continue;
                }
            };
            if let Some(entry) = parse_entry(&id, entry, &pointer, &mut errors) {
                entries.push((id, entry));
            }
        }
        if errors.is_empty() {
            Ok(Self { entries })
        } else {
            Err(errors)
        }
    }
}

fn parse_entry(
    id: &BehaviorId,
    entry: &Value,
    pointer: &str,
    errors: &mut Vec<FieldError>,
) -> Option<EntryUpdate> {
    let Some(fields) = entry.as_object() else {
        errors.push(FieldError::new(
            pointer,
            "expected an object with `enabled` (boolean) and `risk_level` (\"low\", \"medium\" or \"high\")",
        ));
        return None;
    };
    let before = errors.len();

    let enabled_ptr = pointer_join(pointer, "enabled");
    let enabled = match fields.get("enabled") {
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errors.push(FieldError::new(&enabled_ptr, "expected a boolean"));
            None
        }
        None => {
            errors.push(FieldError::new(
                &enabled_ptr,
                "`enabled` is required: a boolean",
            ));
            None
        }
    };

    let level_ptr = pointer_join(pointer, "risk_level");
    let risk_level = match fields.get("risk_level") {
        Some(Value::String(s)) => match s.parse::<RiskLevel>() {
            Ok(level) => Some(level),
            Err(_) => {
                errors.push(FieldError::new(
                    &level_ptr,
                    format!("expected {LEVELS}, got {s:?}"),
                ));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::new(&level_ptr, format!("expected {LEVELS}")));
            None
        }
        None => {
            errors.push(FieldError::new(
                &level_ptr,
                format!("`risk_level` is required: {LEVELS}"),
            ));
            None
        }
    };

    let (settings, controls) = match fields.get("settings") {
        None | Some(Value::Null) => (Vec::new(), Vec::new()),
        Some(value) => parse_settings(id, value, &pointer_join(pointer, "settings"), errors),
    };

    if errors.len() > before {
        return None;
    }
    Some(EntryUpdate {
        enabled: enabled?,
        risk_level: risk_level?,
        settings,
        controls,
    })
}

fn parse_settings(
    id: &BehaviorId,
    value: &Value,
    pointer: &str,
    errors: &mut Vec<FieldError>,
) -> (Vec<(SettingKey, f64)>, Vec<ControlValue>) {
    let predefined = Predefined::from_id(id.as_str());
    let specs = predefined.map_or(&[][..], Predefined::setting_specs);
    let imp_travel = predefined == Some(Predefined::ImpTravel);
    let Some(given) = value.as_object() else {
        errors.push(FieldError::new(pointer, "expected an object of settings"));
        return (Vec::new(), Vec::new());
    };
    let known = || {
        let names: Vec<_> = specs
            .iter()
            .map(|s| s.key.name())
            .chain(Controls::keys(imp_travel))
            .collect();
        format!("known settings of `{id}`: {}", names.join(", "))
    };
    let mut settings = Vec::with_capacity(given.len());
    let mut controls = Vec::new();
    for (key, raw) in given {
        let key_ptr = pointer_join(pointer, key);
        if Controls::keys(imp_travel).any(|k| k == key) {
            if let Some(value) = controls::parse(key, raw, &key_ptr, errors) {
                controls.push(value);
            }
            continue;
        }
        match specs.iter().find(|s| s.key.name() == key) {
            None => errors.push(FieldError::new(
                key_ptr,
                format!("unknown setting; {}", known()),
            )),
            Some(spec) => match spec.check(raw) {
                Ok(v) => settings.push((spec.key, v)),
                Err(message) => errors.push(FieldError::new(key_ptr, message)),
            },
        }
    }
    (settings, controls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pointers(body: Value) -> Vec<String> {
        match BehaviorUpdate::parse(&body) {
            Ok(u) => panic!("expected errors, got {u:?}"),
            Err(errors) => errors.into_iter().map(|e| e.pointer).collect(),
        }
    }

    #[test]
    fn the_seed_example_parses() {
        let u = BehaviorUpdate::parse(
            &json!({"behaviors": {"foo": {"enabled": true, "risk_level": "low"}}}),
        );
        let u = u.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(u.entries.len(), 1);
        assert_eq!(u.entries[0].0.as_str(), "foo");
        assert_eq!(u.entries[0].1.risk_level, RiskLevel::Low);
    }

    #[test]
    fn empty_behaviors_is_a_no_op() {
        let u = BehaviorUpdate::parse(&json!({"behaviors": {}, "extra": 1}));
        assert_eq!(u.map(|u| u.entries.len()), Ok(0));
    }

    #[test]
    fn every_problem_is_reported_with_its_pointer() {
        let mut got = pointers(json!({"behaviors": {
            "imp_travel": {"enabled": "yes", "risk_level": "severe"},
            "high_dlp": {"risk_level": "low"},
            "Bad-Id": {"enabled": true, "risk_level": "low"},
            "failed_logins": {"enabled": true, "risk_level": "low", "settings": {"threshold": 0, "nope": 1}},
            "foo": {"enabled": true, "risk_level": "low", "settings": {"threshold": 3}},
            "sentinel_one": 5,
            "a/b": {}
        }}));
        got.sort();
        assert_eq!(
            got,
            [
                "/behaviors/Bad-Id",
                "/behaviors/a~1b",
                "/behaviors/failed_logins/settings/nope",
                "/behaviors/failed_logins/settings/threshold",
                "/behaviors/foo/settings/threshold",
                "/behaviors/high_dlp/enabled",
                "/behaviors/imp_travel/enabled",
                "/behaviors/imp_travel/risk_level",
                "/behaviors/sentinel_one",
            ]
        );
    }

    #[test]
    fn shape_errors() {
        assert_eq!(pointers(json!([])), [""]);
        assert_eq!(pointers(json!({})), ["/behaviors"]);
        assert_eq!(pointers(json!({"behaviors": []})), ["/behaviors"]);
        assert_eq!(
            pointers(json!({"behaviors": {"x": {"enabled": true, "risk_level": null}}})),
            ["/behaviors/x/risk_level"]
        );
    }
}
