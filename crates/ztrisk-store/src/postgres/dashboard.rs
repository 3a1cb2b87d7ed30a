//! The dashboard's reads (counters, filtered users) and its sessions.

use super::risk::{SUMMARY_COLUMNS, limit_offset, scored_users, summary_order, summary_user};
use super::{Result, account_key_opt, execute, query, query_opt};
use crate::StoreError;
use crate::dashboard::{
    credential_columns, credential_from_columns, day_number, normalize_prefix, overview,
    prefix_bound,
};
use crate::model::{DashboardSession, Page, RiskOverview, SummaryQuery, UserFilter, UserSummary};
use crate::rank::rank_of;
use crate::time::{from_ms, to_ms};
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::ClientWrapper;
use tokio_postgres::types::ToSql;

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];
use ztrisk_core::AccountId;
use ztrisk_core::credentials::SecretHash;

/// Read from the counters the triggers of migration 0008 keep: a few rows, whatever the
/// number of users and events.
pub async fn risk_overview(
    c: &ClientWrapper,
    account: AccountId,
    since: NaiveDate,
) -> Result<RiskOverview> {
    let Some(account_key) = account_key_opt(c, account).await? else {
        return Ok(RiskOverview::default());
    };
    let since = day_number(since);
    let (by_account, by_day): (Params, Params) = (&[&account_key], &[&account_key, &since]);
    // Both in one round trip.
    let (users, daily) = tokio::try_join!(
        query(
            c,
            "SELECT risk_rank, users FROM level_counts WHERE account_key = $1",
            by_account,
        ),
        query(
            c,
            "SELECT day, risk_rank, events FROM risk_daily
             WHERE account_key = $1 AND day >= $2 AND events > 0 ORDER BY day, risk_rank",
            by_day,
        ),
    )?;
    Ok(overview(
        users.iter().map(|r| (r.get(0), r.get(1))),
        daily.iter().map(|r| (r.get(0), r.get(1), r.get(2))),
    ))
}

/// The summary, filtered. Each filter reads an index range, so a page costs what matches, not
/// what the account has.
pub async fn find_users(
    c: &ClientWrapper,
    account: AccountId,
    filter: UserFilter,
    query_: SummaryQuery,
) -> Result<Page<UserSummary>> {
    let Some(account_key) = account_key_opt(c, account).await? else {
        return Ok(Page {
            items: Vec::new(),
            total_count: 0,
        });
    };
    let rank = filter.level.map(rank_of);
    let prefix = normalize_prefix(filter.email_prefix);
    let bound = prefix.as_deref().and_then(prefix_bound);

    let mut conditions = String::from("account_key = $1 AND risk_event_count > 0");
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&account_key];
    if let Some(rank) = &rank {
        params.push(rank);
        conditions.push_str(&format!(" AND risk_rank = ${}", params.len()));
    }
    if let Some(prefix) = &prefix {
        // A range of the UNIQUE (account_key, email) index: `email` is COLLATE "C" (migration
        // 0001), so the range is bytewise whatever the database's locale, and literal (no LIKE
        // pattern to escape).
        params.push(prefix);
        conditions.push_str(&format!(" AND email >= ${}", params.len()));
        if let Some(bound) = &bound {
            params.push(bound);
            conditions.push_str(&format!(" AND email < ${}", params.len()));
        }
    }
    let counted = params.clone();
    let (limit, offset) = limit_offset(query_.paging);
    params.push(&limit);
    params.push(&offset);
    let page = format!(
        "ORDER BY {} LIMIT ${} OFFSET ${}",
        summary_order(query_),
        params.len() - 1,
        params.len()
    );
    let sql = if prefix.is_some() {
        // The users with the prefix first, then sorted: without the fence the planner may walk
        // an order's index (users_by_level...) through the whole account, betting that the
        // page fills early, which a rare prefix never does.
        format!(
            "WITH matching AS MATERIALIZED (
                 SELECT key, {SUMMARY_COLUMNS} FROM users WHERE {conditions})
             SELECT {SUMMARY_COLUMNS} FROM matching {page}"
        )
    } else {
        format!("SELECT {SUMMARY_COLUMNS} FROM users WHERE {conditions} {page}")
    };
    let rows = query(c, &sql, &params).await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        items.extend(summary_user(row)?);
    }
    let total_count = match (query_.paging, &prefix, rank) {
        (None, _, _) => items.len() as u64,
        (Some(_), None, None) => scored_users(c, account_key).await?,
        (Some(_), None, Some(rank)) => query_opt(
            c,
            "SELECT users FROM level_counts WHERE account_key = $1 AND risk_rank = $2",
            &[&account_key, &rank],
        )
        .await?
        .map_or(0, |r| r.get::<_, i64>(0))
        .max(0) as u64,
        // The prefix's range, counted: as many rows as the prefix matches, never the account.
        (Some(_), Some(_), _) => query(
            c,
            &format!("SELECT count(*) FROM users WHERE {conditions}"),
            &counted,
        )
        .await?
        .first()
        .map_or(0, |r| r.get::<_, i64>(0))
        .max(0) as u64,
    };
    Ok(Page { items, total_count })
}

pub async fn create_session(c: &ClientWrapper, session: &DashboardSession) -> Result<()> {
    let stored = credential_columns(&session.credential);
    let inserted = execute(
        c,
        "INSERT INTO dashboard_sessions
           (id_hash, kind, secret_hash, email, key_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id_hash) DO NOTHING",
        &[
            &&session.id_hash.0[..],
            &stored.kind,
            &stored.secret_hash,
            &stored.email,
            &stored.key_hash,
            &to_ms(session.created_at),
            &to_ms(session.expires_at),
        ],
    )
    .await?;
    if inserted == 0 {
        return Err(StoreError::Conflict("this session id is taken".into()).into());
    }
    Ok(())
}

pub async fn session(
    c: &ClientWrapper,
    id_hash: &SecretHash,
    now: DateTime<Utc>,
) -> Result<Option<DashboardSession>> {
    let row = query_opt(
        c,
        "SELECT kind, secret_hash, email, key_hash, created_at, expires_at
         FROM dashboard_sessions WHERE id_hash = $1 AND expires_at > $2",
        &[&&id_hash.0[..], &to_ms(now)],
    )
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(DashboardSession {
        id_hash: *id_hash,
        credential: credential_from_columns(row.get(0), row.get(1), row.get(2), row.get(3))?,
        created_at: from_ms(row.get(4)),
        expires_at: from_ms(row.get(5)),
    }))
}

pub async fn delete_session(c: &ClientWrapper, id_hash: &SecretHash) -> Result<u64> {
    execute(
        c,
        "DELETE FROM dashboard_sessions WHERE id_hash = $1",
        &[&&id_hash.0[..]],
    )
    .await
}

pub async fn prune_sessions(c: &ClientWrapper, now: DateTime<Utc>) -> Result<u64> {
    execute(
        c,
        "DELETE FROM dashboard_sessions WHERE expires_at <= $1",
        &[&to_ms(now)],
    )
    .await
}
