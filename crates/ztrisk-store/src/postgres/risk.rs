//! Reading and resetting users' risk.

use super::Failure;
use super::engine::ADJUST_SCORED;
use super::outbox;
use super::{Result, account_key, account_key_opt, execute, query, query_opt};
use crate::StoreError;
use crate::audit::UserChange;
use crate::model::{
    Direction, ExpiryOutcome, Page, Paging, RiskEventOrder, RiskEventRecord, STREAM_CHUNK,
    SummaryOrder, SummaryQuery, UserEventsQuery, UserRisk, UserRiskChunk, UserSummary,
};
use crate::outbox::{ChangedUser, UserRow, stored_level};
use crate::rank::{level_of, rank_of};
use crate::time::{from_ms, now_ms};
use deadpool_postgres::ClientWrapper;
use tokio::sync::mpsc;
use tokio_postgres::Row;
use uuid::Uuid;
use ztrisk_core::AccountId;
use ztrisk_core::RiskLevel;
use ztrisk_core::detect::UserState;
use ztrisk_core::scoring::{CONFIRMED_COMPROMISED, ChangeCause};

fn parse_uuid(text: &str) -> Result<Uuid, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Backend(format!("stored uuid {text:?} is malformed")))
}

/// `LIMIT` (`NULL`: all) and `OFFSET`.
pub(super) fn limit_offset(paging: Option<Paging>) -> (Option<i64>, i64) {
    match paging {
        Some(p) => (
            Some(i64::from(p.per_page)),
            i64::from(p.page.saturating_sub(1)) * i64::from(p.per_page),
        ),
        None => (None, 0),
    }
}

fn direction(d: Direction) -> &'static str {
    match d {
        Direction::Desc => "DESC",
        Direction::Asc => "ASC",
    }
}

/// The summary's `SELECT` in `query`'s order; `$1` is the account key, then `LIMIT` and
/// `OFFSET` when `paged`. Each order matches one partial index, so a page is an index range
/// scan.
fn summary_sql(query_: SummaryQuery, paged: bool) -> String {
    let order = summary_order(query_);
    let page = if paged { " LIMIT $2 OFFSET $3" } else { "" };
    format!(
        "SELECT {SUMMARY_COLUMNS}
         FROM users WHERE account_key = $1 AND risk_event_count > 0
         ORDER BY {order}{page}"
    )
}

/// The columns [`summary_user`] reads.
pub(super) const SUMMARY_COLUMNS: &str =
    "user_id, name, email, risk_event_count, last_risk_event_at, risk_rank";

/// The summary's `ORDER BY` (the users table's `key` breaks ties).
pub(super) fn summary_order(query_: SummaryQuery) -> String {
    let dir = direction(query_.direction);
    match query_.order_by {
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
pub(super) async fn scored_users(c: &ClientWrapper, account_key: i64) -> Result<u64> {
    Ok(query_opt(
        c,
        "SELECT scored_users FROM account_stats WHERE account_key = $1",
        &[&account_key],
    )
    .await?
    .map_or(0, |r| r.get::<_, i64>(0))
    .max(0) as u64)
}

/// A row of [`SUMMARY_COLUMNS`]; `None` for a level this version does not know.
pub(super) fn summary_user(row: &Row) -> Result<Option<UserSummary>> {
    let Some(max_risk_level) = level_of(row.get(5)) else {
        return Ok(None);
    };
    let count: i64 = row.get(3);
    let last: Option<i64> = row.get(4);
    Ok(Some(UserSummary {
        user_id: parse_uuid(row.get(0))?,
        name: row.get(1),
        email: row.get(2),
        event_count: count.max(0) as u64,
        last_event: from_ms(last.unwrap_or_default()),
        max_risk_level,
    }))
}

pub async fn summary(
    c: &ClientWrapper,
    account: AccountId,
    query_: SummaryQuery,
) -> Result<Page<UserSummary>> {
    let Some(account_key) = account_key_opt(c, account).await? else {
        return Ok(Page {
            items: Vec::new(),
            total_count: 0,
        });
    };
    let (limit, offset) = limit_offset(query_.paging);
    let rows = query(
        c,
        &summary_sql(query_, true),
        &[&account_key, &limit, &offset],
    )
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        items.extend(summary_user(row)?);
    }
    let total_count = match query_.paging {
        None => items.len() as u64,
        Some(_) => scored_users(c, account_key).await?,
    };
    Ok(Page { items, total_count })
}

/// The user's head (no events in it, their count), and the `SELECT` of their events since the
/// last reset in `query`'s order with its two leading parameters (`$3`/`$4`: `LIMIT`, `OFFSET`
/// when `paged`). `None` for an unknown user.
async fn user_head(
    c: &ClientWrapper,
    account: AccountId,
    user_id: Uuid,
    query_: UserEventsQuery,
    paged: bool,
) -> Result<Option<(UserRisk, String, i64, i64)>> {
    let Some(account_key) = account_key_opt(c, account).await? else {
        return Ok(None);
    };
    let user = query_opt(
        c,
        "SELECT key, email, name, risk_rank, last_reset_at, risk_event_count FROM users
         WHERE account_key = $1 AND user_id = $2",
        &[&account_key, &user_id.to_string()],
    )
    .await?;
    let Some(user) = user else {
        return Ok(None);
    };
    let key: i64 = user.get(0);
    let rank: i64 = user.get(3);
    let last_reset_at: Option<i64> = user.get(4);
    let count: i64 = user.get(5);
    let dir = direction(query_.direction);
    let order = match query_.order_by {
        RiskEventOrder::Timestamp => format!("ts {dir}, key {dir}"),
        RiskEventOrder::RiskLevel => format!("risk_rank {dir}, ts {dir}, key {dir}"),
    };
    let page = if paged { " LIMIT $3 OFFSET $4" } else { "" };
    let sql = format!(
        "SELECT id, behavior_id, risk_rank, ts, details, expires_at FROM risk_events
         WHERE user_key = $1 AND detected_at > $2 ORDER BY {order}{page}"
    );
    let head = UserRisk {
        user_id,
        email: user.get(1),
        name: user.get(2),
        risk_level: level_of(rank),
        last_reset_time: last_reset_at.map(from_ms),
        events: Page {
            items: Vec::new(),
            total_count: count.max(0) as u64,
        },
    };
    Ok(Some((head, sql, key, last_reset_at.unwrap_or(i64::MIN))))
}

/// A row of the events `SELECT`; `None` for a level this version does not know.
fn risk_event(row: &Row) -> Result<Option<RiskEventRecord>> {
    let Some(risk_level) = level_of(row.get(2)) else {
        return Ok(None);
    };
    Ok(Some(RiskEventRecord {
        id: parse_uuid(row.get(0))?,
        behavior_id: row.get(1),
        risk_level,
        timestamp: from_ms(row.get(3)),
        details: row.get(4),
        expires_at: row.get::<_, Option<i64>>(5).map(from_ms),
    }))
}

pub async fn user_risk(
    c: &ClientWrapper,
    account: AccountId,
    user_id: Uuid,
    query_: UserEventsQuery,
) -> Result<Option<UserRisk>> {
    let Some((mut head, sql, key, since)) = user_head(c, account, user_id, query_, true).await?
    else {
        return Ok(None);
    };
    let (limit, offset) = limit_offset(query_.paging);
    let rows = query(c, &sql, &[&key, &since, &limit, &offset]).await?;
    for row in &rows {
        head.events.items.extend(risk_event(row)?);
    }
    Ok(Some(head))
}

/// Runs `read` in a read-only snapshot (`REPEATABLE READ`) on this connection, so a streamed
/// read sees one state of the database however long it takes, and always ends the transaction
/// (the connection goes back to the pool clean, also when the receiver left).
async fn in_snapshot<T>(
    c: &ClientWrapper,
    read: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    let result = read.await;
    let _ = c.batch_execute("ROLLBACK").await;
    result
}

/// The cursor streamed reads go through: rows are fetched from the server a chunk at a time,
/// so only one chunk is ever in memory.
const CURSOR: &str = "ztrisk_stream";

async fn fetch(c: &ClientWrapper) -> Result<Vec<Row>> {
    Ok(c.query(&format!("FETCH {STREAM_CHUNK} FROM {CURSOR}"), &[])
        .await?)
}

/// Why a streamed read stops early: its receiver is gone (the client went away).
fn abandoned() -> Failure {
    StoreError::Backend("the streamed read was abandoned".into()).into()
}

/// The summary without paging, sent to `sink` in chunks.
pub async fn stream_summary(
    c: &ClientWrapper,
    account: AccountId,
    query_: SummaryQuery,
    sink: &mpsc::Sender<Vec<UserSummary>>,
) -> Result<()> {
    in_snapshot(c, async {
        let Some(account_key) = account_key_opt(c, account).await? else {
            return Ok(());
        };
        let declare = format!(
            "DECLARE {CURSOR} NO SCROLL CURSOR FOR {}",
            summary_sql(query_, false)
        );
        c.execute(&declare, &[&account_key]).await?;
        loop {
            let rows = fetch(c).await?;
            if rows.is_empty() {
                return Ok(());
            }
            let mut chunk = Vec::with_capacity(rows.len());
            for row in &rows {
                chunk.extend(summary_user(row)?);
            }
            sink.send(chunk).await.map_err(|_| abandoned())?;
        }
    })
    .await
}

/// A user without paging: the head, then their events in chunks, as [`stream_summary`] reads.
pub async fn stream_user_risk(
    c: &ClientWrapper,
    account: AccountId,
    user_id: Uuid,
    query_: UserEventsQuery,
    sink: &mpsc::Sender<UserRiskChunk>,
) -> Result<()> {
    in_snapshot(c, async {
        let Some((head, sql, key, since)) = user_head(c, account, user_id, query_, false).await?
        else {
            return Ok(());
        };
        sink.send(UserRiskChunk::User(head))
            .await
            .map_err(|_| abandoned())?;
        c.execute(
            &format!("DECLARE {CURSOR} NO SCROLL CURSOR FOR {sql}"),
            &[&key, &since],
        )
        .await?;
        loop {
            let rows = fetch(c).await?;
            if rows.is_empty() {
                return Ok(());
            }
            let mut chunk = Vec::with_capacity(rows.len());
            for row in &rows {
                chunk.extend(risk_event(row)?);
            }
            sink.send(UserRiskChunk::Events(chunk))
                .await
                .map_err(|_| abandoned())?;
        }
    })
    .await
}

/// The user's row, locked like ingest locks it (a reset or a confirmation and a batch for the
/// same user take turns, on any replica), with its stored level and count.
async fn lock_user(
    c: &ClientWrapper,
    account_key: i64,
    user_id: Uuid,
) -> Result<Option<(UserRow, Option<RiskLevel>, i64)>> {
    let row = query_opt(
        c,
        "SELECT key, risk_event_count, risk_rank, email, name FROM users
         WHERE account_key = $1 AND user_id = $2
         FOR UPDATE",
        &[&account_key, &user_id.to_string()],
    )
    .await?;
    Ok(row.map(|r| {
        let count: i64 = r.get(1);
        let user = UserRow {
            key: r.get(0),
            user_id: user_id.to_string(),
            email: r.get(3),
            name: r.get(4),
        };
        (user, stored_level(r.get(2), count), count)
    }))
}

/// Resets a user, with their row locked like ingest locks it: a reset and a batch for the same
/// user take turns, on any replica. `None` for an unknown user.
pub async fn reset(
    c: &ClientWrapper,
    account: AccountId,
    user_id: Uuid,
) -> Result<Option<UserChange>> {
    let account_key = account_key(c, account).await?;
    let Some((user, before, count)) = lock_user(c, account_key, user_id).await? else {
        return Ok(None);
    };
    let change = UserChange {
        email: user.email.clone(),
        before,
        after: None,
    };
    let key = user.key;
    let now = now_ms();
    // Read after the lock is held: the state the last ingest of this user committed.
    let state = query_opt(
        c,
        "SELECT state FROM user_states WHERE user_key = $1",
        &[&key],
    )
    .await?;
    let mut state = state
        .as_ref()
        .and_then(|r| UserState::decode(r.get::<_, &[u8]>(0)))
        .unwrap_or_default();
    state.reset();
    execute(
        c,
        "UPDATE users SET last_reset_at = $2, risk_rank = 0, risk_event_count = 0,
         last_risk_event_at = NULL WHERE key = $1",
        &[&key, &now],
    )
    .await?;
    execute(
        c,
        "INSERT INTO user_states (user_key, state) VALUES ($1, $2)
         ON CONFLICT (user_key) DO UPDATE SET state = excluded.state",
        &[&key, &state.encode()],
    )
    .await?;
    if count > 0 {
        execute(c, ADJUST_SCORED, &[&account_key, &-1i64]).await?;
    }
    if let Some(changed) = ChangedUser::after(user, before, None, ChangeCause::Reset, now) {
        outbox::enqueue(c, account, &[changed]).await?;
    }
    Ok(Some(change))
}

/// Users with risk that counts, by level, over all accounts: from `level_counts` (kept by
/// triggers, see migration 0008), so a metrics scrape reads a few rows per account instead of
/// every scored user. Levels without users are left out, as a `GROUP BY` of users would.
pub async fn users_by_level(c: &ClientWrapper) -> Result<Vec<(RiskLevel, u64)>> {
    let rows = query(
        c,
        "SELECT risk_rank, sum(users)::bigint FROM level_counts GROUP BY risk_rank
         HAVING sum(users) > 0 ORDER BY risk_rank",
        &[],
    )
    .await?;
    Ok(rows
        .iter()
        .filter_map(|r| Some((level_of(r.get(0))?, r.get::<_, i64>(1).max(0) as u64)))
        .collect())
}

/// A user's level, by email; `None` when unscored or unknown (also for an unknown account).
pub async fn user_level(
    c: &ClientWrapper,
    account: AccountId,
    email: &str,
) -> Result<Option<RiskLevel>> {
    let Some(account_key) = account_key_opt(c, account).await? else {
        return Ok(None);
    };
    let row = query_opt(
        c,
        "SELECT risk_rank FROM users
         WHERE account_key = $1 AND email = $2 AND risk_event_count > 0",
        &[&account_key, &email],
    )
    .await?;
    Ok(row.and_then(|r| level_of(r.get(0))))
}

/// Spec 6.2: a risk event at `high` recorded by an administrator, until the next reset.
/// `None` for an unknown user.
pub async fn confirm_compromised(
    c: &ClientWrapper,
    account: AccountId,
    user_id: Uuid,
    evidence: &serde_json::Value,
) -> Result<Option<UserChange>> {
    let account_key = account_key(c, account).await?;
    let Some((user, before, count)) = lock_user(c, account_key, user_id).await? else {
        return Ok(None);
    };
    let change = UserChange {
        email: user.email.clone(),
        before,
        after: Some(RiskLevel::High),
    };
    let key = user.key;
    let now = now_ms();
    let high = rank_of(RiskLevel::High);
    // The user row before the risk event, as ingest writes them: the triggers of migration
    // 0008 then lock level_counts before risk_daily in every transaction, which keeps a
    // confirmation and a concurrent ingest from deadlocking on the two.
    execute(
        c,
        "UPDATE users SET risk_rank = GREATEST(risk_rank, $2), risk_event_count = risk_event_count + 1,
         last_risk_event_at = GREATEST(COALESCE(last_risk_event_at, $3), $3) WHERE key = $1",
        &[&key, &high, &now],
    )
    .await?;
    execute(
        c,
        "INSERT INTO risk_events (id, account_key, user_key, behavior_id, risk_rank, ts, detected_at, details)
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
        &[
            &Uuid::new_v4().to_string(),
            &account_key,
            &key,
            &CONFIRMED_COMPROMISED,
            &high,
            &now,
            evidence,
        ],
    )
    .await?;
    if count == 0 {
        execute(c, ADJUST_SCORED, &[&account_key, &1i64]).await?;
    }
    let cause = ChangeCause::ConfirmedCompromised;
    if let Some(changed) = ChangedUser::after(user, before, Some(RiskLevel::High), cause, now) {
        outbox::enqueue(c, account, &[changed]).await?;
    }
    Ok(Some(change))
}

/// Spec 6.1's expiry, for the users whose next expiry is due. Rows another replica is sweeping
/// are skipped (it does them), so no level change is queued twice. Users are updated account
/// by account (in account key order), so two sweeps take each account's counter rows
/// (`level_counts`, `account_stats`) in the same order and never wait for each other in a
/// circle.
pub async fn expire(c: &ClientWrapper, now: i64, limit: usize) -> Result<ExpiryOutcome> {
    let due = query(
        c,
        "SELECT u.key, u.account_key, a.id, u.user_id, u.email, u.name, u.last_reset_at,
                u.risk_rank, u.risk_event_count
         FROM users u JOIN accounts a ON a.key = u.account_key
         WHERE u.next_expiry_at <= $1
         ORDER BY u.account_key, u.key LIMIT $2
         FOR UPDATE OF u SKIP LOCKED",
        &[&now, &(limit as i64)],
    )
    .await?;
    let mut outcome = ExpiryOutcome::default();
    for row in due {
        let key: i64 = row.get(0);
        let account_key: i64 = row.get(1);
        let account: String = row.get(2);
        let reset: Option<i64> = row.get(6);
        let rank: i64 = row.get(7);
        let count: i64 = row.get(8);
        // What still counts: since the last reset, not monitor-only, not expired.
        let counted = query_opt(
            c,
            "SELECT COALESCE(MAX(risk_rank), 0), COUNT(*), MAX(ts), MIN(expires_at)
             FROM risk_events
             WHERE user_key = $1 AND detected_at > $2 AND counts
               AND (expires_at IS NULL OR expires_at > $3)",
            &[&key, &reset.unwrap_or(i64::MIN), &now],
        )
        .await?;
        let Some(counted) = counted else { continue };
        let (new_rank, new_count): (i64, i64) = (counted.get(0), counted.get(1));
        let (last, next): (Option<i64>, Option<i64>) = (counted.get(2), counted.get(3));
        execute(
            c,
            "UPDATE users SET risk_rank = $2, risk_event_count = $3, last_risk_event_at = $4,
             next_expiry_at = $5 WHERE key = $1",
            &[&key, &new_rank, &new_count, &last, &next],
        )
        .await?;
        if count > 0 && new_count == 0 {
            execute(c, ADJUST_SCORED, &[&account_key, &-1i64]).await?;
        }
        outcome.users += 1;
        let Ok(account) = account.parse::<AccountId>() else {
            continue;
        };
        let user = UserRow {
            key,
            user_id: row.get(3),
            email: row.get(4),
            name: row.get(5),
        };
        let (before, after) = (stored_level(rank, count), stored_level(new_rank, new_count));
        if let Some(changed) = ChangedUser::after(user, before, after, ChangeCause::Expiry, now) {
            outcome.level_changes += 1;
            outcome.deliveries_queued += outbox::enqueue(c, account, &[changed]).await?;
        }
    }
    Ok(outcome)
}
