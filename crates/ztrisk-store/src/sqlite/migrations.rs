//! Schema migrations, embedded in the binary. `PRAGMA user_version` records how many have been
//! applied; each one runs in its own transaction, so an interrupted upgrade leaves the file at
//! the last complete version.

use crate::StoreError;
use rusqlite::Connection;

const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_accounts_and_credentials",
        include_str!("../../migrations/sqlite/0001_accounts_and_credentials.sql"),
    ),
    (
        "0002_behaviors",
        include_str!("../../migrations/sqlite/0002_behaviors.sql"),
    ),
    (
        "0003_risk_engine",
        include_str!("../../migrations/sqlite/0003_risk_engine.sql"),
    ),
    (
        "0004_risk_sharing",
        include_str!("../../migrations/sqlite/0004_risk_sharing.sql"),
    ),
    (
        "0005_detection_controls",
        include_str!("../../migrations/sqlite/0005_detection_controls.sql"),
    ),
    (
        "0006_ssf_streams",
        include_str!("../../migrations/sqlite/0006_ssf_streams.sql"),
    ),
    (
        "0007_audit_log",
        include_str!("../../migrations/sqlite/0007_audit_log.sql"),
    ),
    (
        "0008_dashboard",
        include_str!("../../migrations/sqlite/0008_dashboard.sql"),
    ),
];

/// The schema version this binary writes.
pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the schema to `target` (at most [`latest`]); refuses a database from a newer binary.
pub fn apply(conn: &mut Connection, target: i64) -> Result<(), StoreError> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > latest() {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known: latest(),
        });
    }
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate() {
        let version = index as i64 + 1;
        if version <= current || version > target {
            continue;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .map_err(|e| StoreError::Backend(format!("migration {name} failed: {e}")))?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(migration = name, version, "applied schema migration");
    }
    Ok(())
}
