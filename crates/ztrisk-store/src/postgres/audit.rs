//! The audit log on PostgreSQL (see [`crate::audit`]): entries are inserted on the
//! transaction of the change they record, so both commit together.

use super::accounts::parse_account_id;
use super::{Result, execute, query, query_one};
use crate::audit::Entry;
use crate::model::{AuditQuery, AuditRecord, Page};
use crate::time::{from_ms, now_ms, to_ms};
use deadpool_postgres::ClientWrapper;
use ztrisk_core::AccountId;

pub async fn insert(c: &ClientWrapper, entry: &Entry) -> Result<()> {
    execute(
        c,
        "INSERT INTO audit_log (account_id, at, actor, action, target, change)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &entry.account.map(|a| a.to_string()),
            &now_ms(),
            &entry.actor,
            &entry.action.as_str(),
            &entry.target,
            &entry.change,
        ],
    )
    .await?;
    Ok(())
}

pub async fn insert_all(c: &ClientWrapper, entries: &[Entry]) -> Result<()> {
    for entry in entries {
        insert(c, entry).await?;
    }
    Ok(())
}

pub async fn list(
    c: &ClientWrapper,
    account: AccountId,
    wanted: AuditQuery,
) -> Result<Page<AuditRecord>> {
    let account_text = account.to_string();
    let since = wanted.since.map_or(i64::MIN, to_ms);
    let action = wanted.action.map(|a| a.as_str());
    const FILTER: &str = "account_id = $1 AND at >= $2 AND ($3::text IS NULL OR action = $3::text)";
    let total: i64 = query_one(
        c,
        &format!("SELECT count(*) FROM audit_log WHERE {FILTER}"),
        &[&account_text, &since, &action],
    )
    .await?
    .get(0);
    let paging = wanted.paging;
    let offset = i64::from(paging.page.saturating_sub(1)) * i64::from(paging.per_page);
    let rows = query(
        c,
        &format!(
            "SELECT id, account_id, at, actor, action, target, change FROM audit_log
             WHERE {FILTER} ORDER BY at DESC, id DESC LIMIT $4 OFFSET $5"
        ),
        &[
            &account_text,
            &since,
            &action,
            &i64::from(paging.per_page),
            &offset,
        ],
    )
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let account: Option<&str> = row.get(1);
        items.push(AuditRecord {
            id: row.get(0),
            account: account.map(parse_account_id).transpose()?,
            at: from_ms(row.get(2)),
            actor: row.get(3),
            action: row.get(4),
            target: row.get(5),
            change: row.get(6),
        });
    }
    Ok(Page {
        items,
        total_count: u64::try_from(total).unwrap_or_default(),
    })
}
