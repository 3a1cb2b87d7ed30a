use super::accounts::{ensure_exist, parse_account_id};
use crate::StoreError;
use crate::model::{ApiUser, NewToken, TokenRecord};
use crate::time::{from_ms, now_ms, to_ms};
use rusqlite::{Connection, OptionalExtension, params};
use ztrisk_core::credentials::SecretHash;
use ztrisk_core::ids::random_token_id;
use ztrisk_core::{AccountId, Permission, PermissionSet};

pub fn insert_token(conn: &Connection, token: NewToken) -> Result<TokenRecord, StoreError> {
    if token.accounts.is_empty() {
        return Err(StoreError::Conflict(
            "a token needs at least one account".into(),
        ));
    }
    ensure_exist(conn, &token.accounts)?;
    let id = random_token_id();
    let created_at = now_ms();
    conn.execute(
        "INSERT INTO api_tokens (id, name, secret_hash, permissions, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            id,
            token.name,
            &token.secret_hash.0[..],
            permissions_to_text(token.permissions),
            created_at,
            token.expires_at.map(to_ms),
        ],
    )?;
    let mut link = conn.prepare_cached(
        "INSERT OR IGNORE INTO api_token_accounts (token_id, account_id) VALUES (?1, ?2)",
    )?;
    for account in &token.accounts {
        link.execute((&id, account.to_string()))?;
    }
    Ok(TokenRecord {
        id,
        name: token.name,
        accounts: token.accounts,
        permissions: token.permissions,
        created_at: from_ms(created_at),
        expires_at: token.expires_at,
        revoked_at: None,
        secret_hash: token.secret_hash,
    })
}

const TOKEN_COLUMNS: &str =
    "id, name, secret_hash, permissions, created_at, expires_at, revoked_at";

pub fn token_by_hash(
    conn: &Connection,
    hash: &SecretHash,
) -> Result<Option<TokenRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE secret_hash = ?1"
    ))?;
    let row = stmt.query_row([&hash.0[..]], read_token_row).optional()?;
    match row {
        Some(partial) => Ok(Some(with_accounts(conn, partial?)?)),
        None => Ok(None),
    }
}

pub fn list_tokens(conn: &Connection) -> Result<Vec<TokenRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, id"
    ))?;
    let partials: Vec<_> = stmt
        .query_map([], read_token_row)?
        .collect::<Result<_, _>>()?;
    partials
        .into_iter()
        .map(|p| p.and_then(|p| with_accounts(conn, p)))
        .collect()
}

/// The accounts a token acts on (empty for an unknown token).
pub fn token_accounts(conn: &Connection, id: &str) -> Result<Vec<AccountId>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT account_id FROM api_token_accounts WHERE token_id = ?1 ORDER BY account_id",
    )?;
    let ids: Vec<String> = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    ids.iter().map(|id| parse_account_id(id)).collect()
}

pub fn revoke_token(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    let changed = conn.execute(
        "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
        (id, now_ms()),
    )?;
    Ok(changed > 0)
}

fn read_token_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<TokenRecord, StoreError>> {
    let hash: Vec<u8> = row.get(2)?;
    let permissions: String = row.get(3)?;
    let record = || -> Result<TokenRecord, StoreError> {
        Ok(TokenRecord {
            id: row.get(0)?,
            name: row.get(1)?,
            accounts: Vec::new(),
            permissions: permissions_from_text(&permissions)?,
            created_at: from_ms(row.get(4)?),
            expires_at: row.get::<_, Option<i64>>(5)?.map(from_ms),
            revoked_at: row.get::<_, Option<i64>>(6)?.map(from_ms),
            secret_hash: hash_from_blob(&hash)?,
        })
    };
    Ok(record())
}

fn with_accounts(conn: &Connection, mut token: TokenRecord) -> Result<TokenRecord, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT account_id FROM api_token_accounts WHERE token_id = ?1 ORDER BY account_id",
    )?;
    let ids: Vec<String> = stmt
        .query_map([&token.id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    token.accounts = ids
        .iter()
        .map(|id| parse_account_id(id))
        .collect::<Result<_, _>>()?;
    Ok(token)
}

pub fn set_api_key(
    conn: &Connection,
    email: &str,
    key_hash: &SecretHash,
    accounts: &[AccountId],
) -> Result<ApiUser, StoreError> {
    ensure_exist(conn, accounts)?;
    let now = now_ms();
    conn.execute(
        "INSERT INTO api_users (email, key_hash, created_at, key_created_at) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (email) DO UPDATE SET key_hash = excluded.key_hash, key_created_at = excluded.key_created_at",
        params![email, &key_hash.0[..], now],
    )?;
    let mut link = conn.prepare_cached(
        "INSERT OR IGNORE INTO api_user_accounts (email, account_id) VALUES (?1, ?2)",
    )?;
    for account in accounts {
        link.execute((email, account.to_string()))?;
    }
    api_user(conn, email)?.ok_or_else(|| StoreError::Backend("api user vanished".into()))
}

pub fn api_user(conn: &Connection, email: &str) -> Result<Option<ApiUser>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT email, key_hash, created_at FROM api_users WHERE email = ?1")?;
    let row = stmt
        .query_row([email], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<Vec<u8>>>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .optional()?;
    let Some((email, hash, created_at)) = row else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT account_id FROM api_user_accounts WHERE email = ?1 ORDER BY account_id",
    )?;
    let ids: Vec<String> = stmt
        .query_map([&email], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(Some(ApiUser {
        accounts: ids
            .iter()
            .map(|id| parse_account_id(id))
            .collect::<Result<_, _>>()?,
        key_hash: hash.as_deref().map(hash_from_blob).transpose()?,
        created_at: from_ms(created_at),
        email,
    }))
}

pub fn list_api_users(conn: &Connection) -> Result<Vec<ApiUser>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT email FROM api_users ORDER BY email")?;
    let emails: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    emails
        .iter()
        .filter_map(|e| api_user(conn, e).transpose())
        .collect()
}

pub fn revoke_api_key(conn: &Connection, email: &str) -> Result<bool, StoreError> {
    let changed = conn.execute(
        "UPDATE api_users SET key_hash = NULL WHERE email = ?1 AND key_hash IS NOT NULL",
        [email],
    )?;
    Ok(changed > 0)
}

fn permissions_to_text(set: PermissionSet) -> String {
    let names: Vec<&str> = set.iter().map(Permission::name).collect();
    serde_json::Value::from(names).to_string()
}

fn permissions_from_text(text: &str) -> Result<PermissionSet, StoreError> {
    let names: Vec<String> = serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("stored permissions are malformed: {e}")))?;
    // A name this binary does not know (written by a newer one) grants nothing here.
    Ok(names.iter().filter_map(|n| n.parse().ok()).collect())
}

fn hash_from_blob(blob: &[u8]) -> Result<SecretHash, StoreError> {
    <[u8; 32]>::try_from(blob)
        .map(SecretHash)
        .map_err(|_| StoreError::Backend("stored secret hash has the wrong length".into()))
}
