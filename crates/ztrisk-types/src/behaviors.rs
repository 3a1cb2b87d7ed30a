//! GET and PUT `/behaviors` answers: one type for the server that writes them and the clients
//! that read them (ztrisk's or Cloudflare's).

use crate::RiskLevel;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// The behaviors of an account, in the order the server listed them (ztrisk: predefined
/// first, then custom ids sorted).
///
/// Cloudflare's PUT answer carries only `enabled` and `risk_level`; GET adds `name` and
/// `description`, and ztrisk adds `settings`. Every answer decodes into this one type.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Behaviors {
    /// `(id, behavior)` pairs in server order.
    pub behaviors: Vec<(String, Behavior)>,
}

/// Written by hand because the type serializes as a map that keeps the server's order:
/// `{"behaviors": {"<id>": Behavior}}`.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Behaviors {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::{ObjectBuilder, Ref};
        let by_id = ObjectBuilder::new()
            .additional_properties(Some(Ref::from_schema_name("Behavior")))
            .description(Some(
                "Behavior id to its configuration, predefined ones first",
            ));
        ObjectBuilder::new()
            .property("behaviors", by_id)
            .required("behaviors")
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Behaviors {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        schemas.push((
            "Behavior".into(),
            <Behavior as utoipa::PartialSchema>::schema(),
        ));
        <Behavior as utoipa::ToSchema>::schemas(schemas);
    }
}

impl Behaviors {
    /// The behavior with this id.
    pub fn get(&self, id: &str) -> Option<&Behavior> {
        self.behaviors
            .iter()
            .find(|(key, _)| key == id)
            .map(|(_, b)| b)
    }

    /// The `(id, behavior)` pairs in server order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Behavior)> {
        self.behaviors.iter().map(|(id, b)| (id.as_str(), b))
    }

    /// How many behaviors there are.
    pub fn len(&self) -> usize {
        self.behaviors.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.behaviors.is_empty()
    }
}

/// One behavior's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Behavior {
    /// Display name (absent in Cloudflare's PUT answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What it detects (absent in Cloudflare's PUT answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether it is detected.
    pub enabled: bool,
    /// The level its risk events get.
    pub risk_level: RiskLevel,
    /// Thresholds of a predefined behavior (ztrisk only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<BTreeMap<String, serde_json::Value>>,
}

impl Serialize for Behaviors {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Ordered<'a>(&'a [(String, Behavior)]);
        impl Serialize for Ordered<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(self.0.len()))?;
                for (id, behavior) in self.0 {
                    map.serialize_entry(id, behavior)?;
                }
                map.end()
            }
        }
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("behaviors", &Ordered(&self.behaviors))?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for Behaviors {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// A JSON object read into pairs, keeping the order of its keys.
        struct InOrder(Vec<(String, Behavior)>);
        impl<'de> Deserialize<'de> for InOrder {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct PairsVisitor;
                impl<'de> Visitor<'de> for PairsVisitor {
                    type Value = InOrder;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("an object of behaviors by id")
                    }
                    fn visit_unit<E: serde::de::Error>(self) -> Result<InOrder, E> {
                        Ok(InOrder(Vec::new()))
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<InOrder, A::Error> {
                        let mut pairs = Vec::new();
                        while let Some((id, behavior)) = map.next_entry::<String, Behavior>()? {
                            pairs.push((id, behavior));
                        }
                        Ok(InOrder(pairs))
                    }
                }
                deserializer.deserialize_any(PairsVisitor)
            }
        }
        #[derive(Deserialize)]
        struct Raw {
            #[serde(default)]
            behaviors: Option<InOrder>,
        }
        let raw = Raw::deserialize(deserializer)?;
        Ok(Self {
            behaviors: raw.behaviors.map(|b| b.0).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn behaviors_keep_order_and_accept_cloudflare_shapes() {
        let text = r#"{"behaviors": {
            "imp_travel": {"name": "Impossible Travel", "description": "d", "enabled": true,
                           "risk_level": "high", "settings": {"max_speed_kmh": 900}},
            "foo": {"enabled": true, "risk_level": "low"},
            "bar": {"enabled": false, "risk_level": "medium", "unknown": 1}}}"#;
        let parsed: Behaviors = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<&str> = parsed.iter().map(|(id, _)| id).collect();
        assert_eq!(ids, vec!["imp_travel", "foo", "bar"]);
        assert_eq!(parsed.get("foo").and_then(|b| b.name.clone()), None);
        assert_eq!(
            parsed.get("imp_travel").map(|b| b.risk_level),
            Some(RiskLevel::High)
        );
        let out = serde_json::to_string(&parsed).unwrap_or_default();
        assert!(out.starts_with(r#"{"behaviors":{"imp_travel":"#), "{out}");
        assert_eq!(
            serde_json::from_value::<Behaviors>(json!({"behaviors": null}))
                .map(|b| b.len())
                .ok(),
            Some(0)
        );
    }
}
