//! The audit log on SQLite (see [`crate::audit`]): entries are inserted by the writer's
//! closure of the change they record, so both are in one savepoint of one transaction.

use super::accounts::parse_account_id;
use crate::StoreError;
use crate::audit::Entry;
use crate::model::{AuditQuery, AuditRecord, Page};
use crate::time::{from_ms, now_ms, to_ms};
use rusqlite::{Connection, params};
use ztrisk_core::AccountId;

pub fn insert(conn: &Connection, entry: &Entry) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO audit_log (account_id, at, actor, action, target, change)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        entry.account.map(|a| a.to_string()),
        now_ms(),
        entry.actor,
        entry.action.as_str(),
        entry.target,
        entry.change_text()
    ])?;
    Ok(())
}

pub fn insert_all(conn: &Connection, entries: &[Entry]) -> Result<(), StoreError> {
    entries.iter().try_for_each(|e| insert(conn, e))
}

pub fn list(
    conn: &Connection,
    account: AccountId,
    query: AuditQuery,
) -> Result<Page<AuditRecord>, StoreError> {
    let account_text = account.to_string();
    let since = query.since.map_or(i64::MIN, to_ms);
    let action = query.action.map(|a| a.as_str());
    const FILTER: &str = "account_id = ?1 AND at >= ?2 AND (?3 IS NULL OR action = ?3)";
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM audit_log WHERE {FILTER}"))?
        .query_row(params![account_text, since, action], |r| r.get(0))?;
    let paging = query.paging;
    let offset = i64::from(paging.page.saturating_sub(1)) * i64::from(paging.per_page);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, account_id, at, actor, action, target, change FROM audit_log
         WHERE {FILTER} ORDER BY at DESC, id DESC LIMIT ?4 OFFSET ?5"
    ))?;
    let rows = stmt.query_map(
        params![
            account_text,
            since,
            action,
            i64::from(paging.per_page),
            offset
        ],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
            ))
        },
    )?;
    let mut items = Vec::new();
    for row in rows {
        let (id, account, at, actor, action, target, change) = row?;
        items.push(AuditRecord {
            id,
            account: account.as_deref().map(parse_account_id).transpose()?,
            at: from_ms(at),
            actor,
            action,
            target,
            // Written by this store as JSON; anything else reads as null rather than failing
            // the whole page.
            change: serde_json::from_str(&change).unwrap_or_default(),
        });
    }
    Ok(Page {
        items,
        total_count: u64::try_from(total).unwrap_or_default(),
    })
}
