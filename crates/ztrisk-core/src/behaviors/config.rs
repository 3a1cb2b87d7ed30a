use super::catalog::Predefined;
use super::controls::Controls;
use super::settings::{SettingSpec, Settings};
use super::update::BehaviorUpdate;
use crate::{BehaviorId, RiskLevel};
use std::collections::BTreeMap;

/// What custom behaviors say about themselves: ztrisk cannot detect them, clients signal them.
pub const CUSTOM_DESCRIPTION: &str = "Custom behavior, signalled through the events API (POST /accounts/{account_id}/zt_risk_scoring/events with an event of type \"behavior\").";

/// One behavior's configuration in one account.
#[derive(Debug, Clone, PartialEq)]
pub struct BehaviorConfig {
    pub enabled: bool,
    pub risk_level: RiskLevel,
    /// Complete settings for predefined behaviors that have any; empty otherwise.
    pub settings: Settings,
    /// Exclusions, monitor-only, expiry (and impossible travel's networks): spec 6.1.
    pub controls: Controls,
}

impl BehaviorConfig {
    /// The configuration of a predefined behavior nobody has touched: disabled, default level.
    pub fn default_for(predefined: Predefined) -> Self {
        Self {
            enabled: false,
            risk_level: predefined.default_level(),
            settings: Settings::defaults(predefined.setting_specs()),
            controls: Controls::default(),
        }
    }

    /// The `settings` object of behavior `id`, as served and as stored: its thresholds, then
    /// its controls.
    pub fn settings_json(&self, id: &str) -> BTreeMap<String, serde_json::Value> {
        let predefined = Predefined::from_id(id);
        let specs = predefined.map_or(&[][..], Predefined::setting_specs);
        let mut out = self.settings.to_json(specs);
        let imp_travel = predefined == Some(Predefined::ImpTravel);
        out.extend(self.controls.to_json(imp_travel));
        out
    }
}

/// Every behavior of one account, as GET `/behaviors` shows them: the nine predefined ones
/// (stored configuration or defaults), then the custom ones sorted by id.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountBehaviors {
    predefined: [BehaviorConfig; 9],
    custom: BTreeMap<BehaviorId, BehaviorConfig>,
}

impl Default for AccountBehaviors {
    fn default() -> Self {
        Self {
            predefined: Predefined::ALL.map(BehaviorConfig::default_for),
            custom: BTreeMap::new(),
        }
    }
}

impl AccountBehaviors {
    /// Builds the full set from the rows a store holds (rows for unknown predefined settings
    /// are repaired by [`Settings::from_stored`]).
    pub fn from_stored<I>(rows: I) -> Self
    where
        I: IntoIterator<Item = (BehaviorId, bool, RiskLevel, serde_json::Value)>,
    {
        let mut all = Self::default();
        for (id, enabled, risk_level, settings) in rows {
            match Predefined::from_id(id.as_str()) {
                Some(p) => {
                    all.predefined[p as usize] = BehaviorConfig {
                        enabled,
                        risk_level,
                        settings: Settings::from_stored(p.setting_specs(), &settings),
                        controls: Controls::from_stored(&settings, p == Predefined::ImpTravel),
                    }
                }
                None => {
                    all.custom.insert(
                        id,
                        BehaviorConfig {
                            enabled,
                            risk_level,
                            settings: Settings::default(),
                            controls: Controls::from_stored(&settings, false),
                        },
                    );
                }
            }
        }
        all
    }

    pub fn predefined(&self, p: Predefined) -> &BehaviorConfig {
        &self.predefined[p as usize]
    }

    pub fn get(&self, id: &str) -> Option<&BehaviorConfig> {
        match Predefined::from_id(id) {
            Some(p) => Some(self.predefined(p)),
            None => self
                .custom
                .iter()
                .find(|(k, _)| k.as_str() == id)
                .map(|(_, c)| c),
        }
    }

    /// Every behavior in wire order: `(id, name, description, specs, config)`.
    pub fn iter(
        &self,
    ) -> impl Iterator<Item = (&str, &str, &str, &'static [SettingSpec], &BehaviorConfig)> {
        let predefined = Predefined::ALL.into_iter().map(|p| {
            (
                p.id(),
                p.name(),
                p.description(),
                p.setting_specs(),
                self.predefined(p),
            )
        });
        let custom = self.custom.iter().map(|(id, config)| {
            let empty: &'static [SettingSpec] = &[];
            (id.as_str(), id.as_str(), CUSTOM_DESCRIPTION, empty, config)
        });
        predefined.chain(custom)
    }

    /// Applies a validated update (merge: ids not in the update keep their configuration;
    /// settings not named keep their value) and returns the rows that must be written.
    pub fn apply(&mut self, update: &BehaviorUpdate) -> Vec<(BehaviorId, BehaviorConfig)> {
        let mut changed = Vec::with_capacity(update.entries.len());
        for (id, entry) in &update.entries {
            let config = match Predefined::from_id(id.as_str()) {
                Some(p) => &mut self.predefined[p as usize],
                None => self
                    .custom
                    .entry(id.clone())
                    .or_insert_with(|| BehaviorConfig {
                        enabled: entry.enabled,
                        risk_level: entry.risk_level,
                        settings: Settings::default(),
                        controls: Controls::default(),
                    }),
            };
            config.enabled = entry.enabled;
            config.risk_level = entry.risk_level;
            for (key, value) in &entry.settings {
                config.settings.set(*key, *value);
            }
            for value in &entry.controls {
                config.controls.set(value);
            }
            changed.push((id.clone(), config.clone()));
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviors::SettingKey;
    use serde_json::json;

    fn update(body: serde_json::Value) -> BehaviorUpdate {
        BehaviorUpdate::parse(&body).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn defaults_are_disabled_at_catalog_levels() {
        let all = AccountBehaviors::default();
        let ids: Vec<_> = all.iter().map(|(id, ..)| id).collect();
        assert_eq!(ids.len(), 9);
        assert!(all.iter().all(|(.., c)| !c.enabled));
        assert_eq!(
            all.get("imp_travel").map(|c| c.risk_level),
            Some(RiskLevel::High)
        );
        assert_eq!(
            all.get("high_dlp")
                .and_then(|c| c.settings.get(SettingKey::Threshold)),
            Some(15.0)
        );
    }

    #[test]
    fn merge_keeps_what_is_not_named() {
        let mut all = AccountBehaviors::default();
        all.apply(&update(json!({"behaviors": {
            "imp_travel": {"enabled": true, "risk_level": "low", "settings": {"max_speed_kmh": 500}},
            "foo": {"enabled": true, "risk_level": "medium"}
        }})));
        let changed = all.apply(&update(json!({"behaviors": {
            "imp_travel": {"enabled": false, "risk_level": "medium", "settings": {"min_distance_km": 10}}
        }})));
        assert_eq!(changed.len(), 1);
        let imp = all
            .get("imp_travel")
            .cloned()
            .unwrap_or_else(|| panic!("missing"));
        assert!(!imp.enabled);
        assert_eq!(imp.risk_level, RiskLevel::Medium);
        assert_eq!(imp.settings.get(SettingKey::MaxSpeedKmh), Some(500.0));
        assert_eq!(imp.settings.get(SettingKey::MinDistanceKm), Some(10.0));
        assert_eq!(
            all.get("foo").map(|c| c.risk_level),
            Some(RiskLevel::Medium)
        );
        let ids: Vec<_> = all.iter().map(|(id, ..)| id).collect();
        assert_eq!(ids.last(), Some(&"foo"));
    }

    #[test]
    fn stored_rows_round_trip() {
        let mut all = AccountBehaviors::default();
        let changed = all.apply(&update(json!({"behaviors": {
            "zeta": {"enabled": false, "risk_level": "high"},
            "alpha": {"enabled": true, "risk_level": "low"},
            "failed_logins": {"enabled": true, "risk_level": "high", "settings": {"threshold": 3}},
            "imp_travel": {"enabled": true, "risk_level": "high",
                           "settings": {"trusted_networks": ["10.0.0.0/8"], "same_ip_is_same_place": false}},
            "gamma": {"enabled": true, "risk_level": "low",
                      "settings": {"exclude_users": ["svc-*@example.com"], "monitor_only": true, "expire_after_days": 30}}
        }})));
        let rows = changed.into_iter().map(|(id, c)| {
            let settings = serde_json::to_value(c.settings_json(id.as_str())).unwrap_or_default();
            (id, c.enabled, c.risk_level, settings)
        });
        assert_eq!(AccountBehaviors::from_stored(rows), all);
        let ids: Vec<_> = all.iter().map(|(id, ..)| id).skip(9).collect();
        assert_eq!(ids, ["alpha", "gamma", "zeta"]);
        assert!(all.get("gamma").is_some_and(|c| c.controls.monitor_only));
    }
}
