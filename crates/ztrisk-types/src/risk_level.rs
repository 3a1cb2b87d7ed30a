use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A risk level as the API writes it: `"low"`, `"medium"` or `"high"`.
///
/// Ordered `Low < Medium < High`, so the highest of several levels is a plain `max`. The one
/// risk level of the whole code base (the domain re-exports it).
///
/// Two ways in, on purpose: [`FromStr`] is strict (exactly `low`, `medium` or `high`), for
/// requests, where a wrong case is the client's mistake to hear about; [`RiskLevel::parse_lenient`]
/// ignores ASCII case, for responses (serde's `Deserialize` uses it), so a client reads what any
/// server sends. Encoding is always lowercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RiskLevel {
    /// `"low"`.
    Low,
    /// `"medium"`.
    Medium,
    /// `"high"`.
    High,
}

impl RiskLevel {
    /// Every level, lowest first.
    pub const ALL: [RiskLevel; 3] = [RiskLevel::Low, RiskLevel::Medium, RiskLevel::High];

    /// The wire spelling: `"low"`, `"medium"` or `"high"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for RiskLevel {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::openapi::string_enum(RiskLevel::ALL.iter().map(|l| l.as_str()))
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for RiskLevel {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("RiskLevel")
    }
}

impl fmt::Display for RiskLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not `low`, `medium` or `high`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRiskLevel(pub String);

impl fmt::Display for InvalidRiskLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "expected one of \"low\", \"medium\", \"high\", got {:?}",
            self.0
        )
    }
}

impl std::error::Error for InvalidRiskLevel {}

impl RiskLevel {
    /// The lenient decoder for responses: any ASCII case (`"HIGH"` is `High`).
    pub fn parse_lenient(s: &str) -> Result<Self, InvalidRiskLevel> {
        RiskLevel::ALL
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| InvalidRiskLevel(s.to_owned()))
    }
}

/// Strict, for requests: exactly `low`, `medium` or `high`.
impl FromStr for RiskLevel {
    type Err = InvalidRiskLevel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RiskLevel::ALL
            .into_iter()
            .find(|level| level.as_str() == s)
            .ok_or_else(|| InvalidRiskLevel(s.to_owned()))
    }
}

impl Serialize for RiskLevel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RiskLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        RiskLevel::parse_lenient(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_order() {
        for level in RiskLevel::ALL {
            let text = serde_json::to_string(&level).unwrap_or_default();
            assert_eq!(text, format!("\"{level}\""));
            assert_eq!(serde_json::from_str::<RiskLevel>(&text).ok(), Some(level));
        }
        assert_eq!(
            serde_json::from_str::<RiskLevel>("\"HIGH\"").ok(),
            Some(RiskLevel::High)
        );
        assert!(serde_json::from_str::<RiskLevel>("\"severe\"").is_err());
        assert!(RiskLevel::Low < RiskLevel::Medium && RiskLevel::Medium < RiskLevel::High);
    }

    #[test]
    fn requests_parse_strictly() {
        for level in RiskLevel::ALL {
            assert_eq!(level.as_str().parse::<RiskLevel>(), Ok(level));
        }
        assert!("HIGH".parse::<RiskLevel>().is_err());
        assert_eq!(RiskLevel::parse_lenient("HIGH"), Ok(RiskLevel::High));
    }
}
