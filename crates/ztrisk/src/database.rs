//! `--database`: a SQLite file path or a PostgreSQL URL, opened as a [`Store`].

use anyhow::Context;
use std::sync::Arc;
use ztrisk_store::{
    PostgresOptions, PostgresStore, SqliteOptions, SqliteStore, Store, Synchronous,
};

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Database {
    pub fn parse(text: &str) -> Self {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Database::Postgres(text.to_owned())
        } else {
            Database::Sqlite(text.into())
        }
    }

    /// For logs and messages: a URL's password is never shown.
    pub fn display(&self) -> String {
        match self {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres(url) => redact_password(url),
        }
    }

    /// Opens (creating and migrating as needed) the store.
    pub async fn open(&self, sync: Synchronous) -> anyhow::Result<Arc<dyn Store>> {
        let store: Arc<dyn Store> = match self {
            Database::Sqlite(path) => Arc::new(
                SqliteStore::open(path, SqliteOptions { synchronous: sync })
                    .with_context(|| format!("opening the database {}", self.display()))?,
            ),
            Database::Postgres(url) => Arc::new(
                PostgresStore::connect(url, PostgresOptions::default())
                    .await
                    .with_context(|| format!("connecting to {}", self.display()))?,
            ),
        };
        Ok(store)
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            let hidden = if credentials.contains(':') {
                ":***"
            } else {
                ""
            };
            format!("{scheme}://{user}{hidden}@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_redacts() {
        assert_eq!(
            Database::parse("./ztrisk.db"),
            Database::Sqlite("./ztrisk.db".into())
        );
        let pg = Database::parse("postgres://app:s3cret@db.internal:5432/ztrisk?sslmode=disable");
        assert!(matches!(pg, Database::Postgres(_)));
        assert_eq!(
            pg.display(),
            "postgres://app:***@db.internal:5432/ztrisk?sslmode=disable"
        );
        assert_eq!(
            Database::parse("postgresql://postgres@127.0.0.1/test").display(),
            "postgresql://postgres@127.0.0.1/test"
        );
    }
}
