use crate::RiskLevel;
use crate::lenient::{null_as_default, rfc3339};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `result` of GET `/summary`: every user with risk events since their last reset.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SummaryResult {
    /// One entry per scored user, highest level first unless another order was asked for.
    #[serde(default, deserialize_with = "null_as_default")]
    pub users: Vec<SummaryUser>,
}

/// One user of the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SummaryUser {
    /// The user's id (a UUID).
    pub user_id: String,
    /// Display name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Email address: users are keyed by it within an account.
    #[serde(default, deserialize_with = "null_as_default")]
    pub email: String,
    /// Risk events since the last reset.
    #[serde(default, deserialize_with = "null_as_default")]
    pub event_count: u64,
    /// Time of the newest of those risk events.
    #[serde(with = "rfc3339")]
    pub last_event: DateTime<Utc>,
    /// The highest level among those risk events (`null` is tolerated and decodes as `None`).
    #[serde(default)]
    pub max_risk_level: Option<RiskLevel>,
}

/// `result` of GET `/{user_id}`: a user's level and risk events since the last reset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserRiskResult {
    /// Email address.
    #[serde(default, deserialize_with = "null_as_default")]
    pub email: String,
    /// Display name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// The highest level among `events`; `None` when the user is unscored.
    #[serde(default)]
    pub risk_level: Option<RiskLevel>,
    /// When the user was last reset; `None` if never.
    #[serde(default, with = "rfc3339::option")]
    pub last_reset_time: Option<DateTime<Utc>>,
    /// Risk events since the last reset, newest first unless another order was asked for.
    #[serde(default, deserialize_with = "null_as_default")]
    pub events: Vec<RiskEvent>,
}

/// One risk event: a behavior detected for a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskEvent {
    /// The risk event's id.
    pub id: String,
    /// The behavior's display name (e.g. "Impossible Travel").
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// The level the behavior had when the event was recorded.
    #[serde(default)]
    pub risk_level: Option<RiskLevel>,
    /// When it happened.
    #[serde(with = "rfc3339")]
    pub timestamp: DateTime<Utc>,
    /// The evidence: behavior id, triggering events, measured values and thresholds.
    #[serde(default)]
    pub event_details: Option<serde_json::Value>,
}

/// `result` of GET `/decision` when the user may pass (spec 6.3); a denial is a 403.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decision {
    pub email: String,
    /// `low`, `medium`, `high` or `unscored`.
    pub risk_level: String,
    pub allowed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lenient_user() {
        let user: UserRiskResult = serde_json::from_value(json!({
            "email": "a@example.com", "name": null, "risk_level": null,
            "last_reset_time": null, "events": null
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(user.name, "");
        assert_eq!(user.risk_level, None);
        assert_eq!(user.last_reset_time, None);
        assert!(user.events.is_empty());
        let user: UserRiskResult = serde_json::from_value(json!({
            "email": "a@example.com", "name": "a", "risk_level": "high",
            "last_reset_time": "2026-11-24T10:00:00+01:00",
            "events": [{"id": "e", "name": "Impossible Travel", "risk_level": "high",
                        "timestamp": "2026-11-24T10:00:00.123456Z"}]
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(user.risk_level, Some(RiskLevel::High));
        assert_eq!(
            serde_json::to_value(&user).unwrap_or_default()["last_reset_time"],
            "2026-11-24T09:00:00.000Z"
        );
        assert_eq!(user.events[0].event_details, None);
    }
}
