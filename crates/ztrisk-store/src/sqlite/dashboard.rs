//! The dashboard's reads (counters, filtered users) and its sessions.

use super::risk::{
    SUMMARY_COLUMNS, account_key_opt, limit_offset, scored_users, summary_order, summary_row,
    summary_user,
};
use crate::StoreError;
use crate::dashboard::{
    credential_columns, credential_from_columns, day_number, normalize_prefix, overview,
    prefix_bound,
};
use crate::model::{
    DashboardSession, Page, RiskOverview, SummaryOrder, SummaryQuery, UserFilter, UserSummary,
};
use crate::rank::rank_of;
use crate::time::{from_ms, to_ms};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use ztrisk_core::AccountId;
use ztrisk_core::credentials::SecretHash;

/// Read from the counters the triggers of migration 0008 keep: a few rows, whatever the
/// number of users and events.
pub fn risk_overview(
    conn: &Connection,
    account: AccountId,
    since: NaiveDate,
) -> Result<RiskOverview, StoreError> {
    let Some(account_key) = account_key_opt(conn, account)? else {
        return Ok(RiskOverview::default());
    };
    let users = conn
        .prepare_cached("SELECT risk_rank, users FROM level_counts WHERE account_key = ?1")?
        .query_map([account_key], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    let daily = conn
        .prepare_cached(
            "SELECT day, risk_rank, events FROM risk_daily
             WHERE account_key = ?1 AND day >= ?2 AND events > 0 ORDER BY day, risk_rank",
        )?
        .query_map(params![account_key, day_number(since)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(overview(users, daily))
}

/// The summary, filtered. Each filter reads an index range (see the index chosen below), so a
/// page costs what matches, not what the account has.
pub fn find_users(
    conn: &Connection,
    account: AccountId,
    filter: UserFilter,
    query: SummaryQuery,
) -> Result<Page<UserSummary>, StoreError> {
    let Some(account_key) = account_key_opt(conn, account)? else {
        return Ok(Page {
            items: Vec::new(),
            total_count: 0,
        });
    };
    let rank = filter.level.map(rank_of);
    let prefix = normalize_prefix(filter.email_prefix);

    let mut conditions = String::from("account_key = ?1 AND risk_event_count > 0");
    let mut values = vec![Value::Integer(account_key)];
    if let Some(rank) = rank {
        values.push(Value::Integer(rank));
        conditions.push_str(&format!(" AND risk_rank = ?{}", values.len()));
    }
    if let Some(prefix) = &prefix {
        // A range of the email index, BINARY collation: literal, and no LIKE (whose `%` and
        // `_` would need escaping, and which is case-insensitive for ASCII by default).
        values.push(Value::Text(prefix.clone()));
        conditions.push_str(&format!(" AND email >= ?{}", values.len()));
        if let Some(bound) = prefix_bound(prefix) {
            values.push(Value::Text(bound));
            conditions.push_str(&format!(" AND email < ?{}", values.len()));
        }
    }
    // A prefix reads the users whose email has it from the UNIQUE (account_key, email) index
    // (SQLite's automatic index of the first UNIQUE constraint of `users`), then sorts them; a
    // level alone reads that level's range of users_by_level, in time order; no filter, the
    // summary's index for the order.
    let index = match (&prefix, rank, query.order_by) {
        (Some(_), _, _) => "sqlite_autoindex_users_1",
        (None, Some(_), _) | (None, None, SummaryOrder::MaxRiskLevel) => "users_by_level",
        (None, None, SummaryOrder::Timestamp) => "users_by_time",
        (None, None, SummaryOrder::EventCount) => "users_by_count",
    };
    let counted = values.clone();
    let (limit, offset) = limit_offset(query.paging);
    values.push(Value::Integer(limit));
    values.push(Value::Integer(offset));
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM users INDEXED BY {index} WHERE {conditions}
         ORDER BY {} LIMIT ?{} OFFSET ?{}",
        summary_order(query),
        values.len() - 1,
        values.len()
    );
    let mut items = Vec::new();
    let mut stmt = conn.prepare_cached(&sql)?;
    for row in stmt.query_map(params_from_iter(values), summary_row)? {
        items.extend(summary_user(row?)?);
    }
    let total_count = match (query.paging, &prefix, rank) {
        (None, _, _) => items.len() as u64,
        (Some(_), None, None) => scored_users(conn, account_key)?,
        (Some(_), None, Some(rank)) => conn
            .prepare_cached(
                "SELECT users FROM level_counts WHERE account_key = ?1 AND risk_rank = ?2",
            )?
            .query_row(params![account_key, rank], |r| r.get::<_, i64>(0))
            .optional()?
            .unwrap_or(0)
            .max(0) as u64,
        // The prefix's range, counted: as many rows as the prefix matches, never the account.
        (Some(_), Some(_), _) => conn
            .prepare_cached(&format!(
                "SELECT count(*) FROM users INDEXED BY sqlite_autoindex_users_1 WHERE {conditions}"
            ))?
            .query_row(params_from_iter(counted), |r| r.get::<_, i64>(0))?
            .max(0) as u64,
    };
    Ok(Page { items, total_count })
}

pub fn create_session(conn: &Connection, session: &DashboardSession) -> Result<(), StoreError> {
    let stored = credential_columns(&session.credential);
    let inserted = conn
        .prepare_cached(
            "INSERT INTO dashboard_sessions
               (id_hash, kind, secret_hash, email, key_hash, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id_hash) DO NOTHING",
        )?
        .execute(params![
            &session.id_hash.0[..],
            stored.kind,
            stored.secret_hash,
            stored.email,
            stored.key_hash,
            to_ms(session.created_at),
            to_ms(session.expires_at),
        ])?;
    if inserted == 0 {
        return Err(StoreError::Conflict("this session id is taken".into()));
    }
    Ok(())
}

pub fn session(
    conn: &Connection,
    id_hash: &SecretHash,
    now: DateTime<Utc>,
) -> Result<Option<DashboardSession>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT kind, secret_hash, email, key_hash, created_at, expires_at
             FROM dashboard_sessions WHERE id_hash = ?1 AND expires_at > ?2",
        )?
        .query_row(params![&id_hash.0[..], to_ms(now)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<Vec<u8>>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<Vec<u8>>>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })
        .optional()?;
    let Some((kind, secret_hash, email, key_hash, created_at, expires_at)) = row else {
        return Ok(None);
    };
    Ok(Some(DashboardSession {
        id_hash: *id_hash,
        credential: credential_from_columns(
            &kind,
            secret_hash.as_deref(),
            email,
            key_hash.as_deref(),
        )?,
        created_at: from_ms(created_at),
        expires_at: from_ms(expires_at),
    }))
}

pub fn delete_session(conn: &Connection, id_hash: &SecretHash) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM dashboard_sessions WHERE id_hash = ?1")?
        .execute([&id_hash.0[..]])?;
    Ok(())
}

pub fn prune_sessions(conn: &Connection, now: DateTime<Utc>) -> Result<u64, StoreError> {
    let deleted = conn
        .prepare_cached("DELETE FROM dashboard_sessions WHERE expires_at <= ?1")?
        .execute([to_ms(now)])?;
    Ok(deleted as u64)
}
