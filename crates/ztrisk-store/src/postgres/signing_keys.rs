//! Signing keys (spec 4.4), shared by every replica: one active, the previous ones published
//! until retired. Changes take an advisory lock so concurrent first starts keep one key.

use super::{LOCK_CLASS_KEYS, Result, execute, query, query_opt};
use crate::model::{RetireOutcome, SigningKeyStatus, StoredSigningKey};
use crate::time::{from_ms, now_ms};
use deadpool_postgres::ClientWrapper;

pub async fn list(c: &ClientWrapper) -> Result<Vec<StoredSigningKey>> {
    let rows = query(
        c,
        "SELECT kid, private_key, status, created_at, retired_at FROM signing_keys
         ORDER BY created_at DESC, kid",
        &[],
    )
    .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some(StoredSigningKey {
                kid: r.get(0),
                private_key: r.get(1),
                status: SigningKeyStatus::parse(r.get(2))?,
                created_at: from_ms(r.get(3)),
                retired_at: r.get::<_, Option<i64>>(4).map(from_ms),
            })
        })
        .collect())
}

async fn lock(c: &ClientWrapper) -> Result<()> {
    execute(
        c,
        "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
        &[&LOCK_CLASS_KEYS],
    )
    .await?;
    Ok(())
}

async fn insert_active(c: &ClientWrapper, kid: &str, private_key: &[u8]) -> Result<()> {
    execute(
        c,
        "INSERT INTO signing_keys (kid, private_key, status, created_at)
         VALUES ($1, $2, 'active', $3)",
        &[&kid, &private_key, &now_ms()],
    )
    .await?;
    Ok(())
}

pub async fn add_first(c: &ClientWrapper, kid: &str, private_key: &[u8]) -> Result<bool> {
    lock(c).await?;
    if query_opt(c, "SELECT 1 FROM signing_keys LIMIT 1", &[])
        .await?
        .is_some()
    {
        return Ok(false);
    }
    insert_active(c, kid, private_key).await?;
    Ok(true)
}

pub async fn rotate(c: &ClientWrapper, kid: &str, private_key: &[u8]) -> Result<()> {
    lock(c).await?;
    execute(
        c,
        "UPDATE signing_keys SET status = 'published' WHERE status = 'active'",
        &[],
    )
    .await?;
    insert_active(c, kid, private_key).await
}

pub async fn retire(c: &ClientWrapper, kid: &str) -> Result<RetireOutcome> {
    lock(c).await?;
    let row = query_opt(c, "SELECT status FROM signing_keys WHERE kid = $1", &[&kid]).await?;
    match row.and_then(|r| SigningKeyStatus::parse(r.get(0))) {
        None => Ok(RetireOutcome::NotFound),
        Some(SigningKeyStatus::Active) => Ok(RetireOutcome::Active),
        Some(_) => {
            execute(
                c,
                "UPDATE signing_keys SET status = 'retired', retired_at = coalesce(retired_at, $2)
                 WHERE kid = $1",
                &[&kid, &now_ms()],
            )
            .await?;
            // SETs waiting for a retry may be signed with the retired key: they are signed
            // again (same `jti`) at their next attempt.
            execute(
                c,
                "UPDATE deliveries SET payload = NULL
                 WHERE status = 'pending' AND destination_kind = 'integration'",
                &[],
            )
            .await?;
            Ok(RetireOutcome::Retired)
        }
    }
}
