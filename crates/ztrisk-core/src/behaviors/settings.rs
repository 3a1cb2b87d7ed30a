use std::collections::BTreeMap;

/// The name of one tunable threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SettingKey {
    MaxSpeedKmh,
    MinDistanceKm,
    Threshold,
    WindowSeconds,
    MaxScore,
}

impl SettingKey {
    pub fn name(self) -> &'static str {
        match self {
            SettingKey::MaxSpeedKmh => "max_speed_kmh",
            SettingKey::MinDistanceKm => "min_distance_km",
            SettingKey::Threshold => "threshold",
            SettingKey::WindowSeconds => "window_seconds",
            SettingKey::MaxScore => "max_score",
        }
    }
}

/// A threshold's default and allowed range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SettingSpec {
    pub key: SettingKey,
    pub default: f64,
    pub min: f64,
    pub max: f64,
    pub integer: bool,
}

impl SettingSpec {
    pub(crate) const fn float(key: SettingKey, default: f64, min: f64, max: f64) -> Self {
        Self {
            key,
            default,
            min,
            max,
            integer: false,
        }
    }

    pub(crate) const fn integer(key: SettingKey, default: u32, min: u32, max: u32) -> Self {
        Self {
            key,
            default: default as f64,
            min: min as f64,
            max: max as f64,
            integer: true,
        }
    }

    /// Checks a JSON value against this spec; the error says what was expected.
    pub fn check(&self, value: &serde_json::Value) -> Result<f64, String> {
        let expected = if self.integer {
            format!("an integer from {} to {}", self.min, self.max)
        } else {
            format!("a number from {} to {}", self.min, self.max)
        };
        let number = match value.as_f64() {
            Some(n) if n.is_finite() => n,
            _ => return Err(format!("expected {expected}")),
        };
        if self.integer && number.fract() != 0.0 {
            return Err(format!("expected {expected}, got {number}"));
        }
        if number < self.min || number > self.max {
            return Err(format!("expected {expected}, got {number}"));
        }
        Ok(number)
    }

    /// The JSON form of a value of this setting (integers without a fraction).
    pub fn to_json(&self, value: f64) -> serde_json::Value {
        // Whole numbers are written without a fraction (900, not 900.0), whatever the spec.
        if self.integer || (value.fract() == 0.0 && value.abs() < 1e15) {
            serde_json::Value::from(value as i64)
        } else {
            serde_json::Number::from_f64(value)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null)
        }
    }
}

/// The complete settings of one behavior: every key of its specs has a value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Settings(BTreeMap<SettingKey, f64>);

impl Settings {
    /// The defaults of `specs`.
    pub fn defaults(specs: &[SettingSpec]) -> Self {
        Self(specs.iter().map(|s| (s.key, s.default)).collect())
    }

    /// Settings read back from storage: known keys with valid values are kept, anything else
    /// falls back to its default, so a newer binary can add a setting without a migration.
    pub fn from_stored(specs: &[SettingSpec], stored: &serde_json::Value) -> Self {
        let mut settings = Self::defaults(specs);
        for spec in specs {
            if let Some(Ok(value)) = stored.get(spec.key.name()).map(|v| spec.check(v)) {
                settings.0.insert(spec.key, value);
            }
        }
        settings
    }

    pub fn get(&self, key: SettingKey) -> Option<f64> {
        self.0.get(&key).copied()
    }

    pub(crate) fn set(&mut self, key: SettingKey, value: f64) {
        self.0.insert(key, value);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The JSON object form, as served and as stored.
    pub fn to_json(&self, specs: &[SettingSpec]) -> BTreeMap<String, serde_json::Value> {
        specs
            .iter()
            .filter_map(|spec| {
                self.get(spec.key)
                    .map(|v| (spec.key.name().to_owned(), spec.to_json(v)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SPEC: SettingSpec = SettingSpec::integer(SettingKey::Threshold, 10, 1, 100);

    #[test]
    fn checks_ranges_and_types() {
        assert_eq!(SPEC.check(&json!(1)), Ok(1.0));
        assert_eq!(SPEC.check(&json!(100)), Ok(100.0));
        assert!(SPEC.check(&json!(0)).is_err());
        assert!(SPEC.check(&json!(101)).is_err());
        assert!(SPEC.check(&json!(1.5)).is_err());
        assert!(SPEC.check(&json!("5")).is_err());
        assert_eq!(SPEC.check(&json!(5.0)), Ok(5.0));
    }

    #[test]
    fn stored_settings_fall_back_to_defaults() {
        let s = Settings::from_stored(&[SPEC], &json!({"threshold": 1000, "other": 1}));
        assert_eq!(s.get(SettingKey::Threshold), Some(10.0));
        let s = Settings::from_stored(&[SPEC], &json!({"threshold": 7}));
        assert_eq!(s.get(SettingKey::Threshold), Some(7.0));
    }
}
