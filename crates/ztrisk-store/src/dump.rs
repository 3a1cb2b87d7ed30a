//! Moving an installation between backends (`ztrisk export` / `ztrisk import`).
//!
//! Both backends keep the same tables and column names, so a dump is those tables copied row
//! by row, in an order that respects their references. Values are typed by [`TABLES`]; the
//! dump file is JSON Lines (see `ztrisk export --help`).

use serde_json::Value;

/// Column types as the dump knows them; each backend maps them to its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Int,
    Text,
    Bytes,
    Bool,
    /// A JSON document (TEXT in SQLite, jsonb in PostgreSQL).
    Json,
}

#[derive(Debug, PartialEq, Eq)]
pub struct TableSpec {
    pub name: &'static str,
    /// The columns, the first ones forming the order rows are exported in.
    pub columns: &'static [(&'static str, ColumnType)],
    /// Columns that order the rows (a key), listed in `columns` too.
    pub order_by: &'static str,
}

use ColumnType::{Bool, Bytes, Int, Json, Text};

/// Every table, parents before children. `accounts.key` is SQLite's rowid.
pub const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "accounts",
        columns: &[
            ("key", Int),
            ("id", Text),
            ("name", Text),
            ("created_at", Int),
        ],
        order_by: "key",
    },
    TableSpec {
        name: "api_tokens",
        columns: &[
            ("id", Text),
            ("name", Text),
            ("secret_hash", Bytes),
            ("permissions", Json),
            ("created_at", Int),
            ("expires_at", Int),
            ("revoked_at", Int),
        ],
        order_by: "id",
    },
    TableSpec {
        name: "api_token_accounts",
        columns: &[("token_id", Text), ("account_id", Text)],
        order_by: "token_id, account_id",
    },
    TableSpec {
        name: "api_users",
        columns: &[
            ("email", Text),
            ("key_hash", Bytes),
            ("created_at", Int),
            ("key_created_at", Int),
        ],
        order_by: "email",
    },
    TableSpec {
        name: "api_user_accounts",
        columns: &[("email", Text), ("account_id", Text)],
        order_by: "email, account_id",
    },
    TableSpec {
        name: "behaviors",
        columns: &[
            ("account_id", Text),
            ("behavior_id", Text),
            ("enabled", Bool),
            ("risk_level", Text),
            ("settings", Json),
            ("updated_at", Int),
        ],
        order_by: "account_id, behavior_id",
    },
    TableSpec {
        name: "behavior_changes",
        columns: &[
            ("seq", Int),
            ("account_id", Text),
            ("behavior_id", Text),
            ("enabled", Bool),
            ("risk_level", Text),
            ("settings", Json),
            ("changed_at", Int),
        ],
        order_by: "seq",
    },
    TableSpec {
        name: "users",
        columns: &[
            ("key", Int),
            ("account_key", Int),
            ("user_id", Text),
            ("email", Text),
            ("name", Text),
            ("last_reset_at", Int),
            ("risk_rank", Int),
            ("risk_event_count", Int),
            ("last_risk_event_at", Int),
            ("next_expiry_at", Int),
        ],
        order_by: "key",
    },
    TableSpec {
        name: "user_states",
        columns: &[("user_key", Int), ("state", Bytes)],
        order_by: "user_key",
    },
    TableSpec {
        name: "account_stats",
        columns: &[("account_key", Int), ("scored_users", Int)],
        order_by: "account_key",
    },
    TableSpec {
        name: "event_ids",
        columns: &[("account_key", Int), ("ts", Int), ("id_hash", Bytes)],
        order_by: "account_key, ts, id_hash",
    },
    TableSpec {
        name: "risk_events",
        columns: &[
            ("key", Int),
            ("id", Text),
            ("account_key", Int),
            ("user_key", Int),
            ("behavior_id", Text),
            ("risk_rank", Int),
            ("ts", Int),
            ("detected_at", Int),
            ("details", Json),
            ("counts", Bool),
            ("expires_at", Int),
        ],
        order_by: "key",
    },
    TableSpec {
        name: "integrations",
        columns: &[
            ("id", Text),
            ("account_id", Text),
            ("integration_type", Text),
            ("tenant_url", Text),
            ("reference_id", Text),
            ("active", Bool),
            ("created_at", Int),
        ],
        order_by: "id",
    },
    TableSpec {
        name: "signing_keys",
        columns: &[
            ("kid", Text),
            ("private_key", Bytes),
            ("status", Text),
            ("created_at", Int),
            ("retired_at", Int),
        ],
        order_by: "kid",
    },
    TableSpec {
        name: "webhooks",
        columns: &[
            ("id", Text),
            ("account_id", Text),
            ("url", Text),
            ("active", Bool),
            ("format", Text),
            ("min_rank", Int),
            ("secret", Text),
            ("created_at", Int),
        ],
        order_by: "id",
    },
    TableSpec {
        name: "deliveries",
        columns: &[
            ("seq", Int),
            ("id", Text),
            ("account_id", Text),
            ("destination_kind", Text),
            ("destination_id", Text),
            ("user_id", Text),
            ("user_key", Int),
            ("email", Text),
            ("name", Text),
            ("previous_rank", Int),
            ("current_rank", Int),
            ("cause", Text),
            ("changed_at", Int),
            ("status", Text),
            ("attempts", Int),
            ("created_at", Int),
            ("last_attempt_at", Int),
            ("next_attempt_at", Int),
            ("claimed_until", Int),
            ("payload", Bytes),
            ("last_error", Text),
            ("detail", Text),
        ],
        order_by: "seq",
    },
    TableSpec {
        name: "ssf_streams",
        columns: &[
            ("integration_id", Text),
            ("account_id", Text),
            ("stream_id", Text),
            ("delivery_method", Text),
            ("endpoint_url", Text),
            ("authorization_header", Text),
            ("events_requested", Text),
            ("delivers_risk", Bool),
            ("description", Text),
            ("status", Text),
            ("reason", Text),
            ("created_at", Int),
            ("updated_at", Int),
        ],
        order_by: "integration_id",
    },
    TableSpec {
        name: "ssf_removed_subjects",
        columns: &[("integration_id", Text), ("email", Text)],
        order_by: "integration_id, email",
    },
    TableSpec {
        name: "audit_log",
        columns: &[
            ("id", Int),
            ("account_id", Text),
            ("at", Int),
            ("actor", Text),
            ("action", Text),
            ("target", Text),
            ("change", Json),
        ],
        order_by: "id",
    },
];

pub fn table(name: &str) -> Option<&'static TableSpec> {
    TABLES.iter().find(|t| t.name == name)
}

/// One value of a row, typed by its column.
#[derive(Debug, Clone, PartialEq)]
pub enum DumpValue {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
    Json(Value),
}

/// Rows of one table, as exported or to import.
#[derive(Debug, Clone, PartialEq)]
pub struct DumpChunk {
    pub table: &'static TableSpec,
    pub rows: Vec<Vec<DumpValue>>,
}

/// Rows per chunk, both ways.
pub const CHUNK_ROWS: usize = 5_000;

impl DumpValue {
    /// The JSON form in a dump file (bytes as base64).
    pub fn to_json(&self) -> Value {
        use base64::Engine;
        match self {
            DumpValue::Null => Value::Null,
            DumpValue::Int(i) => Value::from(*i),
            DumpValue::Text(s) => Value::from(s.as_str()),
            DumpValue::Bytes(b) => Value::from(base64::engine::general_purpose::STANDARD.encode(b)),
            DumpValue::Bool(b) => Value::from(*b),
            DumpValue::Json(v) => v.clone(),
        }
    }

    /// Reads a value of type `kind` from a dump file.
    pub fn from_json(kind: ColumnType, value: Value) -> Result<Self, String> {
        use base64::Engine;
        if value.is_null() && kind != ColumnType::Json {
            return Ok(DumpValue::Null);
        }
        match (kind, value) {
            (ColumnType::Int, Value::Number(n)) => n
                .as_i64()
                .map(DumpValue::Int)
                .ok_or_else(|| format!("{n} is not a 64-bit integer")),
            (ColumnType::Text, Value::String(s)) => Ok(DumpValue::Text(s)),
            (ColumnType::Bytes, Value::String(s)) => base64::engine::general_purpose::STANDARD
                .decode(s)
                .map(DumpValue::Bytes)
                .map_err(|e| format!("bad base64: {e}")),
            (ColumnType::Bool, Value::Bool(b)) => Ok(DumpValue::Bool(b)),
            (ColumnType::Json, v) => Ok(DumpValue::Json(v)),
            (kind, v) => Err(format!("expected {kind:?}, got {v}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_json() {
        let cases = [
            (ColumnType::Int, DumpValue::Int(-5)),
            (ColumnType::Text, DumpValue::Text("é".into())),
            (ColumnType::Bytes, DumpValue::Bytes(vec![0, 255, 7])),
            (ColumnType::Bool, DumpValue::Bool(true)),
            (
                ColumnType::Json,
                DumpValue::Json(serde_json::json!({"a": [1]})),
            ),
            (ColumnType::Int, DumpValue::Null),
        ];
        for (kind, value) in cases {
            assert_eq!(DumpValue::from_json(kind, value.to_json()), Ok(value));
        }
        assert!(DumpValue::from_json(ColumnType::Int, Value::from("x")).is_err());
    }

    #[test]
    fn every_table_orders_by_its_own_columns() {
        for table in TABLES {
            for column in table.order_by.split(", ") {
                assert!(
                    table.columns.iter().any(|(c, _)| *c == column),
                    "{}.{column}",
                    table.name
                );
            }
        }
    }
}
