use crate::RiskLevel;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Body of PUT `/behaviors`: the behaviors to set; the others keep their settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BehaviorsUpdate {
    /// Behavior id to its new configuration. A predefined id configures its detector; any
    /// other id matching `^[a-z][a-z0-9_]{0,63}$` creates or updates a custom behavior.
    pub behaviors: BTreeMap<String, BehaviorSetting>,
}

impl BehaviorsUpdate {
    /// An update that changes nothing (a valid no-op).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the configuration of behavior `id`.
    pub fn behavior(mut self, id: impl Into<String>, enabled: bool, risk_level: RiskLevel) -> Self {
        self.behaviors
            .insert(id.into(), BehaviorSetting::new(enabled, risk_level));
        self
    }

    /// Adds (or replaces) a full entry, e.g. one with settings.
    pub fn entry(mut self, id: impl Into<String>, setting: BehaviorSetting) -> Self {
        self.behaviors.insert(id.into(), setting);
        self
    }
}

/// One behavior's new configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BehaviorSetting {
    /// Whether the behavior is detected.
    pub enabled: bool,
    /// The level its risk events get.
    pub risk_level: RiskLevel,
    /// Thresholds of a predefined behavior (ztrisk; Cloudflare does not know this field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<BTreeMap<String, serde_json::Value>>,
}

impl BehaviorSetting {
    /// Enabled or not, at `risk_level`, without settings.
    pub fn new(enabled: bool, risk_level: RiskLevel) -> Self {
        Self {
            enabled,
            risk_level,
            settings: None,
        }
    }

    /// Sets one threshold (e.g. `"max_speed_kmh"`, `1000`).
    pub fn setting(mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.settings
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_shape() {
        let update = BehaviorsUpdate::new()
            .behavior("foo", true, RiskLevel::Low)
            .entry(
                "imp_travel",
                BehaviorSetting::new(false, RiskLevel::High).setting("max_speed_kmh", 1000),
            );
        assert_eq!(
            serde_json::to_value(&update).unwrap_or_default(),
            json!({"behaviors": {
                "foo": {"enabled": true, "risk_level": "low"},
                "imp_travel": {"enabled": false, "risk_level": "high", "settings": {"max_speed_kmh": 1000}},
            }})
        );
    }
}
