use ztrisk_core::AccountId;

/// What can go wrong in a store. `Backend` carries details for the logs only: the HTTP layer
/// turns it into a bare "Internal error".
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no account {0}")]
    UnknownAccount(AccountId),
    #[error("{0}")]
    Conflict(String),
    /// What the write needs does not exist (e.g. a stream for an integration that is not an
    /// SSF integration of the account).
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error(
        "the database was written by a newer ztrisk (schema version {found}, this binary knows up to {known}); upgrade ztrisk"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("storage error: {0}")]
    Backend(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}
