//! Signing keys (spec 4.4): one active, the previous ones published until retired.

use crate::StoreError;
use crate::model::{RetireOutcome, SigningKeyStatus, StoredSigningKey};
use crate::time::{from_ms, now_ms};
use rusqlite::{Connection, OptionalExtension, params};

pub fn list(conn: &Connection) -> Result<Vec<StoredSigningKey>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT kid, private_key, status, created_at, retired_at FROM signing_keys
         ORDER BY created_at DESC, kid",
    )?;
    let rows = stmt.query_map([], |r| {
        let status: String = r.get(2)?;
        Ok(
            SigningKeyStatus::parse(&status).map(|status| StoredSigningKey {
                kid: r.get(0).unwrap_or_default(),
                private_key: r.get(1).unwrap_or_default(),
                status,
                created_at: from_ms(r.get(3).unwrap_or_default()),
                retired_at: r.get::<_, Option<i64>>(4).ok().flatten().map(from_ms),
            }),
        )
    })?;
    let mut keys = Vec::new();
    for row in rows {
        keys.extend(row?);
    }
    Ok(keys)
}

fn insert_active(conn: &Connection, kid: &str, private_key: &[u8]) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO signing_keys (kid, private_key, status, created_at) VALUES (?1, ?2, 'active', ?3)",
    )?
    .execute(params![kid, private_key, now_ms()])?;
    Ok(())
}

pub fn add_first(conn: &Connection, kid: &str, private_key: &[u8]) -> Result<bool, StoreError> {
    let any: bool = conn
        .prepare_cached("SELECT 1 FROM signing_keys LIMIT 1")?
        .exists([])?;
    if any {
        return Ok(false);
    }
    insert_active(conn, kid, private_key)?;
    Ok(true)
}

pub fn rotate(conn: &Connection, kid: &str, private_key: &[u8]) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE signing_keys SET status = 'published' WHERE status = 'active'")?
        .execute([])?;
    insert_active(conn, kid, private_key)
}

pub fn retire(conn: &Connection, kid: &str) -> Result<RetireOutcome, StoreError> {
    let status: Option<String> = conn
        .prepare_cached("SELECT status FROM signing_keys WHERE kid = ?1")?
        .query_row([kid], |r| r.get(0))
        .optional()?;
    match status.as_deref().and_then(SigningKeyStatus::parse) {
        None => Ok(RetireOutcome::NotFound),
        Some(SigningKeyStatus::Active) => Ok(RetireOutcome::Active),
        Some(_) => {
            conn.prepare_cached(
                "UPDATE signing_keys SET status = 'retired', retired_at = coalesce(retired_at, ?2)
                 WHERE kid = ?1",
            )?
            .execute(params![kid, now_ms()])?;
            forget_signed(conn)?;
            Ok(RetireOutcome::Retired)
        }
    }
}

/// SETs waiting for a retry may be signed with the retired key, which receivers can no longer
/// verify: they are signed again (same `jti`) at their next attempt.
fn forget_signed(conn: &Connection) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE deliveries SET payload = NULL
         WHERE status = 'pending' AND destination_kind = 'integration'",
    )?
    .execute([])?;
    Ok(())
}
