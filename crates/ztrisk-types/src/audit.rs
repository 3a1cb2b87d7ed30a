//! The audit log (spec 7): who changed what, and when.

use crate::lenient::{null_as_default, rfc3339};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One entry of GET `/audit` (ztrisk): a change made with a credential or the CLI. Never
/// carries a secret (token secrets, keys, webhook secrets, receivers' credentials).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Increasing in the order entries were written.
    pub id: u64,
    /// When the change was made.
    #[serde(with = "rfc3339")]
    pub at: DateTime<Utc>,
    /// Who made it: `token:<token id>`, `key:<email>` (a global API key), `cli` (an admin
    /// command on the server's machine) or `system` (ztrisk itself, e.g. at first start).
    pub actor: String,
    /// An [`AuditAction`](crate::AuditAction) spelling, e.g. `"behaviors.update"`.
    pub action: String,
    /// The id of what changed: a user, integration, webhook or token id, an email (global
    /// API keys), behavior ids (comma-separated), an account id.
    #[serde(default, deserialize_with = "null_as_default")]
    pub target: String,
    /// What was set; for `behaviors.update`, `before` and `after` of each behavior that
    /// changed.
    #[serde(default)]
    pub change: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_and_tolerates_nulls() {
        let entry: AuditEntry = serde_json::from_value(json!({
            "id": 7, "at": "2026-01-10T10:00:00.000Z", "actor": "cli",
            "action": "token.create", "target": null, "change": {"name": "ci"}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(entry.target, "");
        let back = serde_json::to_value(&entry).unwrap_or_default();
        assert_eq!(back["at"], "2026-01-10T10:00:00.000Z");
        assert_eq!(back["change"]["name"], "ci");
    }
}
