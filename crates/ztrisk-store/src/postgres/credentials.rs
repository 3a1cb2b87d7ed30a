use super::accounts::{ensure_exist, parse_account_id};
use super::{Result, execute, query, query_opt};
use crate::StoreError;
use crate::model::{ApiUser, NewToken, TokenRecord};
use crate::time::{from_ms, now_ms, to_ms};
use deadpool_postgres::ClientWrapper;
use tokio_postgres::Row;
use ztrisk_core::credentials::SecretHash;
use ztrisk_core::ids::random_token_id;
use ztrisk_core::{AccountId, Permission, PermissionSet};

pub async fn insert_token(c: &ClientWrapper, token: NewToken) -> Result<TokenRecord> {
    if token.accounts.is_empty() {
        return Err(StoreError::Conflict("a token needs at least one account".into()).into());
    }
    ensure_exist(c, &token.accounts).await?;
    let id = random_token_id();
    let created_at = now_ms();
    let accounts: Vec<String> = token.accounts.iter().map(ToString::to_string).collect();
    execute(
        c,
        "INSERT INTO api_tokens (id, name, secret_hash, permissions, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &id,
            &token.name,
            &&token.secret_hash.0[..],
            &permissions_to_json(token.permissions),
            &created_at,
            &token.expires_at.map(to_ms),
        ],
    )
    .await?;
    execute(
        c,
        "INSERT INTO api_token_accounts (token_id, account_id)
         SELECT $1, a FROM unnest($2::text[]) AS a ON CONFLICT DO NOTHING",
        &[&id, &accounts],
    )
    .await?;
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

/// A token's columns and its accounts (sorted), in one row.
const TOKEN_SELECT: &str = "SELECT t.id, t.name, t.secret_hash, t.permissions, t.created_at,
        t.expires_at, t.revoked_at,
        ARRAY(SELECT a.account_id FROM api_token_accounts a WHERE a.token_id = t.id
              ORDER BY a.account_id)
    FROM api_tokens t";

pub async fn token_by_hash(c: &ClientWrapper, hash: &SecretHash) -> Result<Option<TokenRecord>> {
    let row = query_opt(
        c,
        &format!("{TOKEN_SELECT} WHERE t.secret_hash = $1"),
        &[&&hash.0[..]],
    )
    .await?;
    row.as_ref().map(read_token_row).transpose()
}

pub async fn list_tokens(c: &ClientWrapper) -> Result<Vec<TokenRecord>> {
    let rows = query(
        c,
        &format!("{TOKEN_SELECT} ORDER BY t.created_at, t.id"),
        &[],
    )
    .await?;
    rows.iter().map(read_token_row).collect()
}

/// The accounts a token acts on (empty for an unknown token).
pub async fn token_accounts(c: &ClientWrapper, id: &str) -> Result<Vec<AccountId>> {
    let rows = query(
        c,
        "SELECT account_id FROM api_token_accounts WHERE token_id = $1 ORDER BY account_id",
        &[&id],
    )
    .await?;
    rows.iter()
        .map(|r| Ok(parse_account_id(r.get(0))?))
        .collect()
}

pub async fn revoke_token(c: &ClientWrapper, id: &str) -> Result<bool> {
    let changed = execute(
        c,
        "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1",
        &[&id, &now_ms()],
    )
    .await?;
    Ok(changed > 0)
}

fn read_token_row(row: &Row) -> Result<TokenRecord> {
    let hash: &[u8] = row.get(2);
    let permissions: serde_json::Value = row.get(3);
    let accounts: Vec<&str> = row.get(7);
    Ok(TokenRecord {
        id: row.get(0),
        name: row.get(1),
        accounts: accounts
            .into_iter()
            .map(parse_account_id)
            .collect::<Result<_, _>>()?,
        permissions: permissions_from_json(&permissions)?,
        created_at: from_ms(row.get(4)),
        expires_at: row.get::<_, Option<i64>>(5).map(from_ms),
        revoked_at: row.get::<_, Option<i64>>(6).map(from_ms),
        secret_hash: hash_from_bytes(hash)?,
    })
}

pub async fn set_api_key(
    c: &ClientWrapper,
    email: &str,
    key_hash: &SecretHash,
    accounts: &[AccountId],
) -> Result<ApiUser> {
    ensure_exist(c, accounts).await?;
    let now = now_ms();
    let ids: Vec<String> = accounts.iter().map(ToString::to_string).collect();
    execute(
        c,
        "INSERT INTO api_users (email, key_hash, created_at, key_created_at) VALUES ($1, $2, $3, $3)
         ON CONFLICT (email) DO UPDATE SET key_hash = excluded.key_hash,
           key_created_at = excluded.key_created_at",
        &[&email, &&key_hash.0[..], &now],
    )
    .await?;
    execute(
        c,
        "INSERT INTO api_user_accounts (email, account_id)
         SELECT $1, a FROM unnest($2::text[]) AS a ON CONFLICT DO NOTHING",
        &[&email, &ids],
    )
    .await?;
    api_user(c, email)
        .await?
        .ok_or_else(|| StoreError::Backend("api user vanished".into()).into())
}

const API_USER_SELECT: &str = "SELECT u.email, u.key_hash, u.created_at,
        ARRAY(SELECT a.account_id FROM api_user_accounts a WHERE a.email = u.email
              ORDER BY a.account_id)
    FROM api_users u";

pub async fn api_user(c: &ClientWrapper, email: &str) -> Result<Option<ApiUser>> {
    let row = query_opt(
        c,
        &format!("{API_USER_SELECT} WHERE u.email = $1"),
        &[&email],
    )
    .await?;
    row.as_ref().map(read_api_user).transpose()
}

pub async fn list_api_users(c: &ClientWrapper) -> Result<Vec<ApiUser>> {
    let rows = query(c, &format!("{API_USER_SELECT} ORDER BY u.email"), &[]).await?;
    rows.iter().map(read_api_user).collect()
}

fn read_api_user(row: &Row) -> Result<ApiUser> {
    let hash: Option<&[u8]> = row.get(1);
    let accounts: Vec<&str> = row.get(3);
    Ok(ApiUser {
        email: row.get(0),
        key_hash: hash.map(hash_from_bytes).transpose()?,
        accounts: accounts
            .into_iter()
            .map(parse_account_id)
            .collect::<Result<_, _>>()?,
        created_at: from_ms(row.get(2)),
    })
}

pub async fn revoke_api_key(c: &ClientWrapper, email: &str) -> Result<bool> {
    let changed = execute(
        c,
        "UPDATE api_users SET key_hash = NULL WHERE email = $1 AND key_hash IS NOT NULL",
        &[&email],
    )
    .await?;
    Ok(changed > 0)
}

fn permissions_to_json(set: PermissionSet) -> serde_json::Value {
    let names: Vec<&str> = set.iter().map(Permission::name).collect();
    serde_json::Value::from(names)
}

fn permissions_from_json(value: &serde_json::Value) -> Result<PermissionSet, StoreError> {
    let names = value
        .as_array()
        .ok_or_else(|| StoreError::Backend("stored permissions are not an array".into()))?;
    // A name this binary does not know (written by a newer one) grants nothing here.
    Ok(names
        .iter()
        .filter_map(|n| n.as_str())
        .filter_map(|n| n.parse().ok())
        .collect())
}

fn hash_from_bytes(bytes: &[u8]) -> Result<SecretHash, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map(SecretHash)
        .map_err(|_| StoreError::Backend("stored secret hash has the wrong length".into()))
}
