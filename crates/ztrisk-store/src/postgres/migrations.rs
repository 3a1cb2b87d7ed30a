//! Schema migrations, embedded in the binary and recorded in `schema_migrations`.
//!
//! They run on one dedicated connection holding a session advisory lock, so replicas that
//! start together take turns: the first applies what is missing, the others find it done.
//! Each migration runs in its own transaction together with its `schema_migrations` row, so
//! an interrupted upgrade leaves the schema at the last complete version.

use super::{Failure, LOCK_CLASS_MIGRATE};
use crate::StoreError;
use tokio_postgres::Client;

const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_accounts_and_credentials",
        include_str!("../../migrations/postgres/0001_accounts_and_credentials.sql"),
    ),
    (
        "0002_behaviors",
        include_str!("../../migrations/postgres/0002_behaviors.sql"),
    ),
    (
        "0003_risk_engine",
        include_str!("../../migrations/postgres/0003_risk_engine.sql"),
    ),
    (
        "0004_risk_sharing",
        include_str!("../../migrations/postgres/0004_risk_sharing.sql"),
    ),
    (
        "0005_detection_controls",
        include_str!("../../migrations/postgres/0005_detection_controls.sql"),
    ),
    (
        "0006_ssf_streams",
        include_str!("../../migrations/postgres/0006_ssf_streams.sql"),
    ),
    (
        "0007_audit_log",
        include_str!("../../migrations/postgres/0007_audit_log.sql"),
    ),
    (
        "0008_dashboard",
        include_str!("../../migrations/postgres/0008_dashboard.sql"),
    ),
];

/// The oldest server this backend runs on (`server_version_num`).
pub const MIN_SERVER_VERSION: i32 = 130_000;

/// The schema version this binary writes.
pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

/// What [`apply`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrationReport {
    /// Schema version before.
    pub from: i64,
    /// Schema version after.
    pub to: i64,
}

/// Refuses servers older than PostgreSQL 13, naming the version found.
pub(super) async fn check_server(client: &Client, target: &str) -> Result<(), Failure> {
    let row = client
        .query_one(
            "SELECT current_setting('server_version_num')::int, current_setting('server_version')",
            &[],
        )
        .await?;
    let num: i32 = row.get(0);
    let text: String = row.get(1);
    server_version_ok(num, &text, target).map_err(Failure::from)
}

pub(super) fn server_version_ok(num: i32, text: &str, target: &str) -> Result<(), StoreError> {
    if num < MIN_SERVER_VERSION {
        return Err(StoreError::Backend(format!(
            "PostgreSQL at {target} is version {text}; ztrisk needs PostgreSQL 13 or newer"
        )));
    }
    Ok(())
}

/// The schema the store's tables live in (the first existing schema of `search_path`).
pub(super) async fn current_schema(client: &Client) -> Result<String, Failure> {
    let row = client.query_one("SELECT current_schema()", &[]).await?;
    let schema: Option<String> = row.get(0);
    schema.ok_or_else(|| {
        Failure::from(StoreError::Backend(
            "no schema of the connection's search_path exists; create it, or fix `search_path` \
             (e.g. `?options=-c%20search_path%3Dztrisk` in the URL)"
                .into(),
        ))
    })
}

/// The recorded schema version, 0 when nothing was ever applied.
async fn recorded_version(client: &Client) -> Result<i64, Failure> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass(quote_ident(current_schema()) || '.schema_migrations') IS NOT NULL",
            &[],
        )
        .await?
        .get(0);
    if !exists {
        return Ok(0);
    }
    Ok(client
        .query_one(
            "SELECT coalesce(max(version), 0)::bigint FROM schema_migrations",
            &[],
        )
        .await?
        .get(0))
}

/// Brings the schema up to date (`migrate`) or only checks that it is (`!migrate`).
pub(super) async fn apply(client: &mut Client, migrate: bool) -> Result<MigrationReport, Failure> {
    client
        .execute(
            "SELECT pg_advisory_lock($1, hashtext(current_schema()))",
            &[&LOCK_CLASS_MIGRATE],
        )
        .await?;
    let result = apply_locked(client, migrate).await;
    // Also released when the connection closes, which the caller does next anyway.
    let unlocked = client
        .execute(
            "SELECT pg_advisory_unlock($1, hashtext(current_schema()))",
            &[&LOCK_CLASS_MIGRATE],
        )
        .await;
    let report = result?;
    unlocked?;
    Ok(report)
}

async fn apply_locked(client: &mut Client, migrate: bool) -> Result<MigrationReport, Failure> {
    let current = recorded_version(client).await?;
    if current > latest() {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known: latest(),
        }
        .into());
    }
    if !migrate {
        if current < latest() {
            return Err(StoreError::Backend(format!(
                "the database schema is at version {current} and this ztrisk needs version {}; \
                 run `ztrisk migrate` first",
                latest()
            ))
            .into());
        }
        return Ok(MigrationReport {
            from: current,
            to: current,
        });
    }
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version     bigint PRIMARY KEY,
                name        text NOT NULL,
                applied_at  bigint NOT NULL
            )",
        )
        .await?;
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate() {
        let version = index as i64 + 1;
        if version <= current {
            continue;
        }
        let tx = client.transaction().await?;
        tx.batch_execute(sql).await.map_err(|e| {
            Failure::from(StoreError::Backend(format!(
                "migration {name} failed: {}",
                super::describe(&e)
            )))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[&version, name, &crate::time::now_ms()],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(migration = name, version, "applied schema migration");
    }
    Ok(MigrationReport {
        from: current,
        to: latest(),
    })
}
