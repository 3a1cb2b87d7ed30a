use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;

/// One behavior as GET and PUT `/behaviors` return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BehaviorView {
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub risk_level: String,
    /// Thresholds of predefined behaviors (a ztrisk addition; SDKs ignore it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<BTreeMap<String, serde_json::Value>>,
}

/// `result` of GET and PUT `/behaviors`.
///
/// Serialized as a JSON object whose keys keep the order of `behaviors`, so the catalog order
/// (predefined first, then custom ids sorted) is stable on the wire.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BehaviorsResult {
    pub behaviors: Vec<(String, BehaviorView)>,
}

impl Serialize for BehaviorsResult {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Ordered<'a>(&'a [(String, BehaviorView)]);
        impl Serialize for Ordered<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(self.0.len()))?;
                for (id, view) in self.0 {
                    map.serialize_entry(id, view)?;
                }
                map.end()
            }
        }
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("behaviors", &Ordered(&self.behaviors))?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for BehaviorsResult {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            behaviors: BTreeMap<String, BehaviorView>,
        }
        let raw = Raw::deserialize(deserializer)?;
        Ok(Self {
            behaviors: raw.behaviors.into_iter().collect(),
        })
    }
}
