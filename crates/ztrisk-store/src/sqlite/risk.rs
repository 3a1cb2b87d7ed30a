//! Reading and resetting users' risk.

use super::engine::adjust_scored;
use super::user_cache::UserCache;
use super::{account_key, outbox};
use crate::StoreError;
use crate::audit::UserChange;
use crate::model::{
    Direction, ExpiryOutcome, Page, RiskEventOrder, RiskEventRecord, SummaryOrder, SummaryQuery,
    UserEventsQuery, UserRisk, UserSummary,
};
use crate::outbox::{ChangedUser, UserRow, stored_level};
use crate::rank::{level_of, rank_of};
use crate::time::{from_ms, now_ms};
use rusqlite::{Connection, OptionalExtension, params};
use std::sync::Mutex;
use uuid::Uuid;
use ztrisk_core::AccountId;
use ztrisk_core::RiskLevel;
use ztrisk_core::detect::UserState;
use ztrisk_core::scoring::{CONFIRMED_COMPROMISED, ChangeCause};

fn parse_uuid(text: &str) -> Result<Uuid, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Backend(format!("stored uuid {text:?} is malformed")))
}

pub(super) fn limit_offset(paging: Option<crate::model::Paging>) -> (i64, i64) {
    match paging {
        Some(p) => (
            i64::from(p.per_page),
            i64::from(p.page.saturating_sub(1)) * i64::from(p.per_page),
        ),
        None => (-1, 0),
    }
}

/// The columns [`summary_row`] reads.
pub(super) const SUMMARY_COLUMNS: &str =
    "user_id, name, email, risk_event_count, last_risk_event_at, risk_rank";

/// A row of [`SUMMARY_COLUMNS`], as read.
pub(super) type SummaryRow = (String, String, String, i64, Option<i64>, i64);

pub(super) fn summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SummaryRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

/// A summary line; `None` for a level this version does not know.
pub(super) fn summary_user(row: SummaryRow) -> Result<Option<UserSummary>, StoreError> {
    let (user_id, name, email, count, last, rank) = row;
    let Some(max_risk_level) = level_of(rank) else {
        return Ok(None);
    };
    Ok(Some(UserSummary {
        user_id: parse_uuid(&user_id)?,
        name,
        email,
        event_count: count.max(0) as u64,
        last_event: from_ms(last.unwrap_or_default()),
        max_risk_level,
    }))
}

/// The summary's `ORDER BY` (the users table's `key` breaks ties).
pub(super) fn summary_order(query: SummaryQuery) -> String {
    let dir = match query.direction {
        Direction::Desc => "DESC",
        Direction::Asc => "ASC",
    };
    match query.order_by {
        SummaryOrder::MaxRiskLevel => {
            format!("risk_rank {dir}, last_risk_event_at {dir}, key {dir}")
        }
        SummaryOrder::Timestamp => format!("last_risk_event_at {dir}, key {dir}"),
        SummaryOrder::EventCount => {
            format!("risk_event_count {dir}, last_risk_event_at {dir}, key {dir}")
        }
    }
}

/// The account's scored users (`account_stats`, kept so paging never counts a million rows).
pub(super) fn scored_users(conn: &Connection, account_key: i64) -> Result<u64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT scored_users FROM account_stats WHERE account_key = ?1")?
        .query_row([account_key], |r| r.get::<_, i64>(0))
        .optional()?
        .unwrap_or(0)
        .max(0) as u64)
}

pub fn summary(
    conn: &Connection,
    account: AccountId,
    query: SummaryQuery,
) -> Result<Page<UserSummary>, StoreError> {
    let mut items = Vec::new();
    let Some(account_key) = summary_each(conn, account, query, |user| {
        items.push(user);
        true
    })?
    else {
        return Ok(Page {
            items,
            total_count: 0,
        });
    };
    let total_count = match query.paging {
        None => items.len() as u64,
        Some(_) => scored_users(conn, account_key)?,
    };
    Ok(Page { items, total_count })
}

/// The summary's users in `query`'s order, each given to `each` as it is read (`false` stops
/// the read): one statement, so one snapshot, and nothing held but the current row. Returns
/// the account's key, `None` for an account without users.
pub fn summary_each(
    conn: &Connection,
    account: AccountId,
    query: SummaryQuery,
    mut each: impl FnMut(UserSummary) -> bool,
) -> Result<Option<i64>, StoreError> {
    let Some(account_key) = account_key_opt(conn, account)? else {
        return Ok(None);
    };
    // Each order has its own partial index, named explicitly: left to itself the planner
    // prefers the one that turns `risk_event_count > 0` into a range, then sorts a million
    // rows for every page.
    let index = match query.order_by {
        SummaryOrder::MaxRiskLevel => "users_by_level",
        SummaryOrder::Timestamp => "users_by_time",
        SummaryOrder::EventCount => "users_by_count",
    };
    let (limit, offset) = limit_offset(query.paging);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM users INDEXED BY {index}
         WHERE account_key = ?1 AND risk_event_count > 0 ORDER BY {} LIMIT ?2 OFFSET ?3",
        summary_order(query)
    ))?;
    let rows = stmt.query_map(params![account_key, limit, offset], summary_row)?;
    for row in rows {
        let Some(user) = summary_user(row?)? else {
            continue;
        };
        if !each(user) {
            break;
        }
    }
    Ok(Some(account_key))
}

pub fn user_risk(
    conn: &Connection,
    account: AccountId,
    user_id: Uuid,
    query: UserEventsQuery,
) -> Result<Option<UserRisk>, StoreError> {
    let mut events = Vec::new();
    let user = user_risk_each(
        conn,
        account,
        user_id,
        query,
        |_| true,
        |event| {
            events.push(event);
            true
        },
    )?;
    Ok(user.map(|mut user| {
        user.events.items = events;
        user
    }))
}

/// A user (with no events in it, and their count), given to `user` first, then their risk
/// events in `query`'s order, each given to `each` as it is read; either returning `false`
/// stops the read. One snapshot (the caller's connection), nothing held but the current row.
/// `None` for an unknown user.
pub fn user_risk_each(
    conn: &Connection,
    account: AccountId,
    user_id: Uuid,
    query: UserEventsQuery,
    user: impl FnOnce(&UserRisk) -> bool,
    mut each: impl FnMut(RiskEventRecord) -> bool,
) -> Result<Option<UserRisk>, StoreError> {
    let Some(account_key) = account_key_opt(conn, account)? else {
        return Ok(None);
    };
    let found = conn
        .prepare_cached(
            "SELECT key, email, name, risk_rank, last_reset_at, risk_event_count FROM users
             WHERE account_key = ?1 AND user_id = ?2",
        )?
        .query_row(params![account_key, user_id.to_string()], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })
        .optional()?;
    let Some((key, email, name, rank, last_reset_at, count)) = found else {
        return Ok(None);
    };
    let head = UserRisk {
        user_id,
        email,
        name,
        risk_level: level_of(rank),
        last_reset_time: last_reset_at.map(from_ms),
        events: Page {
            items: Vec::new(),
            total_count: count.max(0) as u64,
        },
    };
    if !user(&head) {
        return Ok(Some(head));
    }
    let dir = match query.direction {
        Direction::Desc => "DESC",
        Direction::Asc => "ASC",
    };
    let order = match query.order_by {
        RiskEventOrder::Timestamp => format!("ts {dir}, key {dir}"),
        RiskEventOrder::RiskLevel => format!("risk_rank {dir}, ts {dir}, key {dir}"),
    };
    let (limit, offset) = limit_offset(query.paging);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, behavior_id, risk_rank, ts, details, expires_at FROM risk_events
         WHERE user_key = ?1 AND detected_at > ?2 ORDER BY {order} LIMIT ?3 OFFSET ?4"
    ))?;
    let rows = stmt.query_map(
        params![key, last_reset_at.unwrap_or(i64::MIN), limit, offset],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<i64>>(5)?,
            ))
        },
    )?;
    for row in rows {
        let (id, behavior_id, rank, ts, details, expires_at) = row?;
        let Some(risk_level) = level_of(rank) else {
            continue;
        };
        let event = RiskEventRecord {
            id: parse_uuid(&id)?,
            behavior_id,
            risk_level,
            timestamp: from_ms(ts),
            details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
            expires_at: expires_at.map(from_ms),
        };
        if !each(event) {
            break;
        }
    }
    Ok(Some(head))
}

/// Resets a user: their risk events stop counting, their detector state starts over, and a
/// scored user's level change (to unscored) is queued for the account's destinations. `None`
/// for an unknown user.
pub fn reset(
    conn: &Connection,
    cache: &Mutex<UserCache>,
    account: AccountId,
    user_id: Uuid,
) -> Result<Option<UserChange>, StoreError> {
    let account_key = account_key(conn, account)?;
    let user = conn
        .prepare_cached(
            "SELECT u.key, s.state, u.risk_event_count, u.email, u.name, u.risk_rank FROM users u
             LEFT JOIN user_states s ON s.user_key = u.key
             WHERE u.account_key = ?1 AND u.user_id = ?2",
        )?
        .query_row(params![account_key, user_id.to_string()], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<Vec<u8>>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })
        .optional()?;
    let Some((key, state, count, email, name, rank)) = user else {
        return Ok(None);
    };
    // The writer's copy is now outdated; the next batch reads the reset state back.
    if let Ok(mut cache) = cache.lock() {
        cache.forget(account_key, &email);
    }
    let mut state = state
        .as_deref()
        .and_then(UserState::decode)
        .unwrap_or_default();
    state.reset();
    let now = now_ms();
    conn.prepare_cached(
        "UPDATE users SET last_reset_at = ?2, risk_rank = 0, risk_event_count = 0,
         last_risk_event_at = NULL WHERE key = ?1",
    )?
    .execute(params![key, now])?;
    conn.prepare_cached(
        "INSERT INTO user_states (user_key, state) VALUES (?1, ?2)
         ON CONFLICT (user_key) DO UPDATE SET state = excluded.state",
    )?
    .execute(params![key, state.encode()])?;
    if count > 0 {
        adjust_scored(conn, account_key, -1)?;
    }
    let before = stored_level(rank, count);
    let change = UserChange {
        email: email.clone(),
        before,
        after: None,
    };
    let user = UserRow {
        key,
        user_id: user_id.to_string(),
        email,
        name,
    };
    if let Some(changed) = ChangedUser::after(user, before, None, ChangeCause::Reset, now) {
        outbox::enqueue(conn, account, &[changed])?;
    }
    Ok(Some(change))
}

/// Spec 6.1's expiry, for the users whose next expiry is due (see the trait's documentation).
pub fn expire(
    conn: &Connection,
    cache: &Mutex<UserCache>,
    now: i64,
    limit: usize,
) -> Result<ExpiryOutcome, StoreError> {
    let due = conn
        .prepare_cached(
            "SELECT u.key, u.account_key, a.id, u.user_id, u.email, u.name, u.last_reset_at,
                    u.risk_rank, u.risk_event_count
             FROM users u JOIN accounts a ON a.rowid = u.account_key
             WHERE u.next_expiry_at <= ?1 LIMIT ?2",
        )?
        .query_map(params![now, limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<i64>>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, i64>(8)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut outcome = ExpiryOutcome::default();
    for (key, account_key, account, user_id, email, name, reset, rank, count) in due {
        // What still counts: since the last reset, not monitor-only, not expired.
        let (new_rank, new_count, last, next) = conn
            .prepare_cached(
                "SELECT COALESCE(MAX(risk_rank), 0), COUNT(*), MAX(ts), MIN(expires_at)
                 FROM risk_events
                 WHERE user_key = ?1 AND detected_at > ?2 AND counts = 1
                   AND (expires_at IS NULL OR expires_at > ?3)",
            )?
            .query_row(params![key, reset.unwrap_or(i64::MIN), now], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                ))
            })?;
        if let Ok(mut cache) = cache.lock() {
            cache.forget(account_key, &email);
        }
        conn.prepare_cached(
            "UPDATE users SET risk_rank = ?2, risk_event_count = ?3, last_risk_event_at = ?4,
             next_expiry_at = ?5 WHERE key = ?1",
        )?
        .execute(params![key, new_rank, new_count, last, next])?;
        if count > 0 && new_count == 0 {
            adjust_scored(conn, account_key, -1)?;
        }
        outcome.users += 1;
        let Ok(account) = account.parse::<AccountId>() else {
            continue;
        };
        let user = UserRow {
            key,
            user_id,
            email,
            name,
        };
        let (before, after) = (stored_level(rank, count), stored_level(new_rank, new_count));
        if let Some(changed) = ChangedUser::after(user, before, after, ChangeCause::Expiry, now) {
            outcome.level_changes += 1;
            outcome.deliveries_queued += outbox::enqueue(conn, account, &[changed])?;
        }
    }
    Ok(outcome)
}

/// Users with risk that counts, by level, over all accounts: from `level_counts` (kept by
/// triggers, see migration 0008), so a metrics scrape reads a few rows per account instead of
/// every scored user. Levels without users are left out, as a `GROUP BY` of users would.
pub fn users_by_level(conn: &Connection) -> Result<Vec<(RiskLevel, u64)>, StoreError> {
    let rows = conn
        .prepare_cached(
            "SELECT risk_rank, sum(users) FROM level_counts GROUP BY risk_rank
             HAVING sum(users) > 0 ORDER BY risk_rank",
        )?
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(rank, n)| Some((level_of(rank)?, n.max(0) as u64)))
        .collect())
}

/// A user's level, by email; `None` when unscored or unknown (also for an unknown account).
pub fn user_level(
    conn: &Connection,
    account: AccountId,
    email: &str,
) -> Result<Option<RiskLevel>, StoreError> {
    let Some(account_key) = account_key_opt(conn, account)? else {
        return Ok(None);
    };
    let rank = conn
        .prepare_cached(
            "SELECT risk_rank FROM users
             WHERE account_key = ?1 AND email = ?2 AND risk_event_count > 0",
        )?
        .query_row(params![account_key, email], |r| r.get::<_, i64>(0))
        .optional()?;
    Ok(rank.and_then(level_of))
}

/// Spec 6.2: a risk event at `high` recorded by an administrator, until the next reset.
/// `None` for an unknown user.
pub fn confirm_compromised(
    conn: &Connection,
    cache: &Mutex<UserCache>,
    account: AccountId,
    user_id: Uuid,
    evidence: &serde_json::Value,
) -> Result<Option<UserChange>, StoreError> {
    let account_key = account_key(conn, account)?;
    let user = conn
        .prepare_cached(
            "SELECT key, risk_event_count, risk_rank, email, name FROM users
             WHERE account_key = ?1 AND user_id = ?2",
        )?
        .query_row(params![account_key, user_id.to_string()], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .optional()?;
    let Some((key, count, rank, email, name)) = user else {
        return Ok(None);
    };
    // The writer's copy of the user's level is now outdated; the next batch reads it back.
    if let Ok(mut cache) = cache.lock() {
        cache.forget(account_key, &email);
    }
    let now = now_ms();
    conn.prepare_cached(
        "INSERT INTO risk_events (id, account_key, user_key, behavior_id, risk_rank, ts, detected_at, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
    )?
    .execute(params![
        Uuid::new_v4().to_string(),
        account_key,
        key,
        CONFIRMED_COMPROMISED,
        rank_of(RiskLevel::High),
        now,
        evidence.to_string(),
    ])?;
    conn.prepare_cached(
        "UPDATE users SET risk_rank = MAX(risk_rank, ?2), risk_event_count = risk_event_count + 1,
         last_risk_event_at = MAX(COALESCE(last_risk_event_at, ?3), ?3) WHERE key = ?1",
    )?
    .execute(params![key, rank_of(RiskLevel::High), now])?;
    if count == 0 {
        adjust_scored(conn, account_key, 1)?;
    }
    let (before, after) = (stored_level(rank, count), Some(RiskLevel::High));
    let change = UserChange {
        email: email.clone(),
        before,
        after,
    };
    let user = UserRow {
        key,
        user_id: user_id.to_string(),
        email,
        name,
    };
    let cause = ChangeCause::ConfirmedCompromised;
    if let Some(changed) = ChangedUser::after(user, before, after, cause, now) {
        outbox::enqueue(conn, account, &[changed])?;
    }
    Ok(Some(change))
}

pub(super) fn account_key_opt(
    conn: &Connection,
    account: AccountId,
) -> Result<Option<i64>, StoreError> {
    match account_key(conn, account) {
        Ok(key) => Ok(Some(key)),
        Err(StoreError::UnknownAccount(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
