use super::{LOCK_CLASS_ACCOUNTS, Result, execute, query, query_one};
use crate::StoreError;
use crate::model::Account;
use crate::time::{from_ms, now_ms};
use deadpool_postgres::ClientWrapper;
use ztrisk_core::AccountId;

/// Serializes bootstrap with account creation across every process on the database: a
/// bootstrap that finds no account is sure no account appears before it commits.
pub async fn lock_accounts(c: &ClientWrapper) -> Result<()> {
    execute(
        c,
        "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
        &[&LOCK_CLASS_ACCOUNTS],
    )
    .await?;
    Ok(())
}

pub async fn any(c: &ClientWrapper) -> Result<bool> {
    Ok(query_one(c, "SELECT EXISTS (SELECT 1 FROM accounts)", &[])
        .await?
        .get(0))
}

pub async fn insert(c: &ClientWrapper, name: &str) -> Result<Account> {
    let id = AccountId::random();
    let created_at = now_ms();
    execute(
        c,
        "INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)",
        &[&id.to_string(), &name, &created_at],
    )
    .await?;
    Ok(Account {
        id,
        name: name.to_owned(),
        created_at: from_ms(created_at),
    })
}

pub async fn list(c: &ClientWrapper) -> Result<Vec<Account>> {
    let rows = query(
        c,
        "SELECT id, name, created_at FROM accounts ORDER BY created_at, id",
        &[],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Account {
                id: parse_account_id(r.get(0))?,
                name: r.get(1),
                created_at: from_ms(r.get(2)),
            })
        })
        .collect()
}

pub fn parse_account_id(text: &str) -> Result<AccountId, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Backend(format!("stored account id {text:?} is malformed")))
}

/// Fails with [`StoreError::UnknownAccount`] (naming the first missing one) unless every
/// account exists.
pub async fn ensure_exist(c: &ClientWrapper, accounts: &[AccountId]) -> Result<()> {
    if accounts.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = accounts.iter().map(ToString::to_string).collect();
    let rows = query(
        c,
        "SELECT id FROM accounts WHERE id = ANY($1::text[])",
        &[&ids],
    )
    .await?;
    let found: std::collections::HashSet<String> = rows.iter().map(|r| r.get(0)).collect();
    for (id, text) in accounts.iter().zip(&ids) {
        if !found.contains(text) {
            return Err(StoreError::UnknownAccount(*id).into());
        }
    }
    Ok(())
}
