use crate::StoreError;
use crate::model::Account;
use crate::time::{from_ms, now_ms};
use rusqlite::{Connection, Row};
use ztrisk_core::AccountId;

pub fn insert(conn: &Connection, name: &str) -> Result<Account, StoreError> {
    let id = AccountId::random();
    let created_at = now_ms();
    conn.execute(
        "INSERT INTO accounts (id, name, created_at) VALUES (?1, ?2, ?3)",
        (id.to_string(), name, created_at),
    )?;
    Ok(Account {
        id,
        name: name.to_owned(),
        created_at: from_ms(created_at),
    })
}

pub fn list(conn: &Connection) -> Result<Vec<Account>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT id, name, created_at FROM accounts ORDER BY created_at, id")?;
    let rows = stmt.query_map([], row_to_account)?;
    rows.map(|r| r.map_err(StoreError::from).and_then(|r| r))
        .collect()
}

fn row_to_account(row: &Row<'_>) -> rusqlite::Result<Result<Account, StoreError>> {
    let id: String = row.get(0)?;
    let name: String = row.get(1)?;
    let created_at: i64 = row.get(2)?;
    Ok(parse_account_id(&id).map(|id| Account {
        id,
        name,
        created_at: from_ms(created_at),
    }))
}

pub fn parse_account_id(text: &str) -> Result<AccountId, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Backend(format!("stored account id {text:?} is malformed")))
}

/// Fails with [`StoreError::UnknownAccount`] unless every account exists.
pub fn ensure_exist(conn: &Connection, accounts: &[AccountId]) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached("SELECT 1 FROM accounts WHERE id = ?1")?;
    for id in accounts {
        if !stmt.exists([id.to_string()])? {
            return Err(StoreError::UnknownAccount(*id));
        }
    }
    Ok(())
}
