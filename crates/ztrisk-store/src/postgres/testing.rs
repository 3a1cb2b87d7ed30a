//! Isolated PostgreSQL schemas for tests, here and in other crates (feature `testing`).
//!
//! ```no_run
//! # async fn t() {
//! use ztrisk_store::testing::PgSchema;
//! let Some(schema) = PgSchema::create_or_skip("my_test").await else { return };
//! let store = ztrisk_store::PostgresStore::connect(schema.url(), Default::default()).await;
//! // ...
//! drop(store);
//! schema.drop_schema().await;
//! # }
//! ```
//!
//! The server comes from `ZTRISK_TEST_POSTGRES` (default [`DEFAULT_URL`]). When it cannot be
//! reached, tests are skipped with a note, except under CI (`CI=true`), where they fail and
//! say how to start it.

use super::connect;
use crate::StoreError;
use std::time::Duration;

pub const URL_ENV: &str = "ZTRISK_TEST_POSTGRES";
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// How to start the Debian cluster this project's machines have.
pub const START_HINT: &str =
    "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start";

/// The server tests use: `ZTRISK_TEST_POSTGRES` or [`DEFAULT_URL`].
pub fn base_url() -> String {
    std::env::var(URL_ENV)
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_owned())
}

/// Whether this runs under CI, where a missing server is a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// A schema of its own on the test server, dropped (with everything in it) when this value is
/// dropped or by [`PgSchema::drop_schema`].
#[derive(Debug)]
pub struct PgSchema {
    base: String,
    name: String,
    url: String,
    dropped: bool,
}

impl PgSchema {
    /// A new empty schema; `None` after printing a note when the server cannot be reached and
    /// this is not CI. Under CI that panics, saying how to start PostgreSQL.
    pub async fn create_or_skip(test: &str) -> Option<Self> {
        let base = base_url();
        match Self::create(&base).await {
            Ok(schema) => Some(schema),
            Err(e) if in_ci() => panic!(
                "{test}: PostgreSQL is needed for this test and is not reachable at {base} \
                 ({e}). Start it with `{START_HINT}`, or point {URL_ENV} at a server."
            ),
            Err(e) => {
                // Straight to stderr: the test harness captures `eprintln!`, and a skip must be
                // seen.
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "note: skipping {test}: no PostgreSQL at {base} ({e}); start it with \
                     `{START_HINT}` or set {URL_ENV}"
                );
                None
            }
        }
    }

    /// A new empty schema on the server at `base`.
    pub async fn create(base: &str) -> Result<Self, StoreError> {
        let name = format!("ztrisk_t_{}", uuid::Uuid::new_v4().simple());
        let client = admin(base).await?;
        client
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .await
            .map_err(|e| StoreError::Backend(super::describe(&e)))?;
        Ok(Self {
            url: url_with_search_path(base, &name),
            base: base.to_owned(),
            name,
            dropped: false,
        })
    }

    /// The URL of the server with this schema as `search_path`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL of the server itself (for admin connections in tests).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Drops the schema now (close the stores using it first).
    pub async fn drop_schema(mut self) {
        self.dropped = true;
        if let Err(e) = drop_named(&self.base, &self.name).await {
            eprintln!("note: could not drop test schema {}: {e}", self.name);
        }
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // A test that failed (panicked) before dropping it: drop it from a thread of its own,
        // which works inside or outside a runtime.
        let base = self.base.clone();
        let name = self.name.clone();
        let done = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            match runtime {
                Ok(runtime) => runtime.block_on(drop_named(&base, &name)),
                Err(e) => Err(StoreError::Backend(e.to_string())),
            }
        })
        .join();
        if let Ok(Err(e)) = done {
            eprintln!("note: could not drop test schema {}: {e}", self.name);
        }
    }
}

async fn admin(base: &str) -> Result<tokio_postgres::Client, StoreError> {
    let config = connect::parse(base, Duration::from_secs(3))?;
    Ok(connect::connect_spawned(&config).await?)
}

async fn drop_named(base: &str, name: &str) -> Result<(), StoreError> {
    let client = admin(base).await?;
    client
        .batch_execute(&format!(
            "SET lock_timeout = '20s'; DROP SCHEMA IF EXISTS {name} CASCADE"
        ))
        .await
        .map_err(|e| StoreError::Backend(super::describe(&e)))
}

/// `base` with `-c search_path=<schema>` added to its `options` parameter.
pub fn url_with_search_path(base: &str, schema: &str) -> String {
    with_option(base, &format!("-c search_path={schema}"))
}

/// `base` with `option` (e.g. `-c synchronous_commit=off`) added to its `options` parameter.
pub fn with_option(base: &str, option: &str) -> String {
    let (head, query) = match base.split_once('?') {
        Some((head, query)) => (head, query),
        None => (base, ""),
    };
    let mut params: Vec<String> = Vec::new();
    let mut options = String::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("options=") {
            Some(value) => options = connect::percent_decode(value),
            None => params.push(pair.to_owned()),
        }
    }
    if !options.is_empty() {
        options.push(' ');
    }
    options.push_str(option);
    params.push(format!("options={}", percent_encode(&options)));
    format!("{head}?{}", params.join("&"))
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_path_is_added_to_the_url() {
        assert_eq!(
            url_with_search_path("postgres://u@h:5432/db", "s1"),
            "postgres://u@h:5432/db?options=-c%20search_path%3Ds1"
        );
        assert_eq!(
            url_with_search_path(
                "postgres://u@h/db?sslmode=disable&options=-c%20work_mem%3D8MB",
                "s1"
            ),
            "postgres://u@h/db?sslmode=disable&options=-c%20work_mem%3D8MB%20-c%20search_path%3Ds1"
        );
    }
}
