//! What every PostgreSQL call goes through: the error type that knows a retryable failure,
//! prepared-statement helpers, and the write transaction that always ends (commit, or
//! rollback when dropped).

use super::listener::Generation;
use crate::StoreError;
use deadpool_postgres::{ClientWrapper, Object, PoolError};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

/// How a write transaction ends: the change notification, then the commit, in one round trip.
pub(super) const NOTIFY_AND_COMMIT: &str =
    "SELECT pg_notify('ztrisk_changes', current_schema()); COMMIT";

// ---- errors -------------------------------------------------------------------------------

/// An error inside this backend: the [`StoreError`] it becomes, and whether trying the whole
/// transaction again may succeed (deadlock victim, serialization failure).
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) error: StoreError,
    pub(crate) transient: bool,
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Self {
            error,
            transient: false,
        }
    }
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        let transient = matches!(
            e.code(),
            Some(&SqlState::T_R_DEADLOCK_DETECTED) | Some(&SqlState::T_R_SERIALIZATION_FAILURE)
        );
        Self {
            error: StoreError::Backend(describe(&e)),
            transient,
        }
    }
}

impl From<PoolError> for Failure {
    fn from(e: PoolError) -> Self {
        let error = match e {
            PoolError::Backend(e) => StoreError::Backend(format!(
                "cannot open a PostgreSQL connection: {}",
                describe(&e)
            )),
            other => StoreError::Backend(format!("no PostgreSQL connection available: {other}")),
        };
        error.into()
    }
}

impl From<Failure> for StoreError {
    fn from(f: Failure) -> Self {
        f.error
    }
}

/// A database error with its SQLSTATE and detail, for logs.
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text.push_str(": ");
                text.push_str(detail);
            }
            text
        }
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            text
        }
    }
}

pub(crate) fn is_unique_violation(f: &tokio_postgres::Error) -> bool {
    f.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

pub(crate) type Result<T, E = Failure> = std::result::Result<T, E>;

// ---- statements ---------------------------------------------------------------------------

pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Prepared (once per connection) and run.
pub(crate) async fn query(c: &ClientWrapper, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.query(&statement, params).await?)
}

pub(crate) async fn query_opt(
    c: &ClientWrapper,
    sql: &str,
    params: Params<'_>,
) -> Result<Option<Row>> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.query_opt(&statement, params).await?)
}

pub(crate) async fn query_one(c: &ClientWrapper, sql: &str, params: Params<'_>) -> Result<Row> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.query_one(&statement, params).await?)
}

pub(crate) async fn execute(c: &ClientWrapper, sql: &str, params: Params<'_>) -> Result<u64> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.execute(&statement, params).await?)
}

// ---- transactions -------------------------------------------------------------------------

/// A write transaction on a pooled connection. Dropped without [`Tx::commit`] (an error
/// returned with `?`), it is rolled back before the connection goes back to the pool.
pub(crate) struct Tx {
    client: Option<Object>,
}

impl Tx {
    pub(super) async fn begin(client: Object) -> Result<Self> {
        // Owned by the Tx before BEGIN is sent: a caller that gives up (a client hanging up)
        // while BEGIN is in flight still gets its ROLLBACK from `drop`.
        let tx = Self {
            client: Some(client),
        };
        tx.client().batch_execute("BEGIN").await?;
        Ok(tx)
    }

    pub(crate) fn client(&self) -> &ClientWrapper {
        match &self.client {
            Some(client) => client,
            // `client` is only taken by `finish` and `drop`, which consume the Tx.
            None => unreachable!("transaction used after it ended"),
        }
    }

    /// Commits, telling every replica (and ourselves, at once) that data changed.
    pub(super) async fn commit(self, generation: &Generation) -> Result<()> {
        let result = self.finish(NOTIFY_AND_COMMIT).await;
        // Even a commit whose outcome is unknown (connection lost) may have changed data.
        generation.bump();
        result
    }

    /// Commits a transaction that wrote nothing, or nothing that is cached above the store
    /// (events, users' risk): no notification. A NOTIFY takes a database-wide lock at commit,
    /// which would serialize the flushes of concurrent ingests.
    pub(super) async fn commit_unchanged(self) -> Result<()> {
        self.finish("COMMIT").await
    }

    async fn finish(mut self, sql: &str) -> Result<()> {
        // Dropped while this is in flight, the Tx still sends a ROLLBACK behind the COMMIT: a
        // harmless warning if the COMMIT went through, and no transaction left open if not.
        self.client().batch_execute(sql).await?;
        // Back to the pool, outside any transaction.
        self.client = None;
        Ok(())
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if client.batch_execute("ROLLBACK").await.is_err() {
                        // Never hand a connection in an unknown state to the next request.
                        drop(Object::take(client));
                    }
                });
            }
            Err(_) => drop(Object::take(client)),
        }
    }
}
