//! The outbox on SQLite: deliveries queued in the writer's transaction of each change, claimed
//! and settled by the delivery worker through the writer too.

use crate::StoreError;
use crate::model::StreamEvent;
use crate::model::{
    AttemptResult, DeliveryRecord, DeliveryTask, Destination, OutboxStats, Page, Paging,
};
use crate::outbox::{
    ChangedUser, DestinationColumns, STREAM_EVENT_USER_KEY, Subscriber, integration_subscribes,
    new_delivery_id, status_of, stored_outcome, target,
};
use crate::rank::{level_of, rank_or_zero};
use crate::time::{from_ms, now_ms, to_ms};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use ztrisk_core::AccountId;

/// The account's active destinations that hear of level changes.
fn subscribers(conn: &Connection, account: AccountId) -> Result<Vec<Subscriber>, StoreError> {
    let account = account.to_string();
    let mut out = Vec::new();
    let mut integrations = conn.prepare_cached(
        "SELECT i.id, i.integration_type, s.status, coalesce(s.delivers_risk, 0)
         FROM integrations i LEFT JOIN ssf_streams s ON s.integration_id = i.id
         WHERE i.account_id = ?1 AND i.active = 1",
    )?;
    let rows = integrations
        .query_map([&account], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, bool>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for (id, integration_type, stream_status, delivers_risk) in rows {
        if !integration_subscribes(&integration_type, stream_status.as_deref(), delivers_risk) {
            continue;
        }
        if let Ok(parsed) = id.parse() {
            let mut subscriber = Subscriber::new(Destination::Integration(parsed), None);
            if stream_status.is_some() {
                subscriber.removed = super::streams::removed_subjects(conn, &id)?;
            }
            out.push(subscriber);
        }
    }
    let mut webhooks = conn
        .prepare_cached("SELECT id, min_rank FROM webhooks WHERE account_id = ?1 AND active = 1")?;
    for row in webhooks.query_map([&account], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))? {
        let (id, min_rank) = row?;
        if let Ok(id) = id.parse() {
            out.push(Subscriber::new(
                Destination::Webhook(id),
                level_of(min_rank),
            ));
        }
    }
    Ok(out)
}

/// Queues one delivery per change and interested destination, in the caller's transaction;
/// an older change of the same user still waiting for the same destination is superseded when
/// this one is claimed (see [`claim`]): the ingest path only inserts.
pub fn enqueue(
    conn: &Connection,
    account: AccountId,
    changes: &[ChangedUser],
) -> Result<u64, StoreError> {
    if changes.is_empty() {
        return Ok(0);
    }
    let subscribers = subscribers(conn, account)?;
    if subscribers.is_empty() {
        return Ok(0);
    }
    let now = now_ms();
    let mut insert = conn.prepare_cached(
        "INSERT INTO deliveries (id, account_id, destination_kind, destination_id, user_id,
            user_key, email, name, previous_rank, current_rank, cause, changed_at, status,
            created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'pending', ?13, ?13)",
    )?;
    let account = account.to_string();
    let mut queued = 0;
    for changed in changes {
        for subscriber in subscribers.iter().filter(|s| s.wants(changed)) {
            let destination = subscriber.destination;
            let destination_id = destination.id().to_string();
            insert.execute(params![
                new_delivery_id(),
                account,
                destination.kind(),
                destination_id,
                changed.user_id,
                changed.user_key,
                changed.email,
                changed.name,
                rank_or_zero(changed.change.previous),
                rank_or_zero(changed.change.current),
                changed.change.cause.code(),
                changed.change.at,
                now
            ])?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// Deletes a destination (`integrations` or `webhooks`, an account's row) and fails its pending
/// deliveries, in the caller's transaction: the one way a destination goes away. `false` when
/// the account has no such destination.
pub fn delete_destination(
    conn: &Connection,
    table: &'static str,
    account: AccountId,
    id: uuid::Uuid,
) -> Result<bool, StoreError> {
    let deleted = conn
        .prepare_cached(&format!(
            "DELETE FROM {table} WHERE account_id = ?1 AND id = ?2"
        ))?
        .execute(params![account.to_string(), id.to_string()])?;
    if deleted > 0 {
        fail_pending(conn, &id.to_string(), crate::outbox::DELETED)?;
    }
    Ok(deleted > 0)
}

/// Fails a destination's pending deliveries (deactivated or deleted), in the caller's
/// transaction.
pub fn fail_pending(
    conn: &Connection,
    destination_id: &str,
    reason: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE deliveries SET status = 'failed', last_error = ?2, claimed_until = 0
         WHERE destination_id = ?1 AND status = 'pending'",
    )?
    .execute(params![destination_id, reason])?;
    Ok(())
}

pub(super) const RECORD_COLUMNS: &str =
    "d.id, d.account_id, d.destination_kind, d.destination_id, d.user_id,
    d.email, d.name, d.previous_rank, d.current_rank, d.cause, d.changed_at, d.status,
    d.attempts, d.created_at, d.last_attempt_at, d.next_attempt_at, d.last_error";

pub(super) fn record(r: &Row<'_>) -> rusqlite::Result<Option<DeliveryRecord>> {
    let account: String = r.get(1)?;
    let kind: String = r.get(2)?;
    let destination: String = r.get(3)?;
    let user_id: String = r.get(4)?;
    let status: String = r.get(11)?;
    let (Ok(account), Some(destination), Ok(user_id)) = (
        account.parse(),
        Destination::parse(&kind, &destination),
        user_id.parse(),
    ) else {
        return Ok(None);
    };
    let status = status_of(&status);
    let next: i64 = r.get(15)?;
    Ok(Some(DeliveryRecord {
        id: r.get(0)?,
        account,
        destination,
        user_id,
        email: r.get(5)?,
        name: r.get(6)?,
        previous: level_of(r.get(7)?),
        current: level_of(r.get(8)?),
        cause: r.get(9)?,
        changed_at: from_ms(r.get(10)?),
        attempts: u32::try_from(r.get::<_, i64>(12)?).unwrap_or(u32::MAX),
        created_at: from_ms(r.get(13)?),
        last_attempt_at: r.get::<_, Option<i64>>(14)?.map(from_ms),
        next_attempt_at: (status == crate::model::DeliveryStatus::Pending).then(|| from_ms(next)),
        last_error: r.get(16)?,
        status,
    }))
}

/// Claims due deliveries: the newest pending one of each (destination, user) whose older ones
/// are not in flight (a user's changes go out in order); the older pending ones it replaces
/// are superseded here, off the ingest path. A stream's own events (user key 0) go out one
/// at a time, in order, and supersede nothing. SSF streams that are polled are not claimed here, nor level
/// changes for a paused stream.
pub fn claim(
    conn: &Connection,
    now: DateTime<Utc>,
    lease: std::time::Duration,
    limit: usize,
) -> Result<Vec<DeliveryTask>, StoreError> {
    let now = to_ms(now);
    let until = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RECORD_COLUMNS}, d.payload, i.tenant_url, w.url, w.format, w.secret, d.seq,
                d.user_key, i.integration_type, s.stream_id, s.delivery_method, s.endpoint_url,
                s.authorization_header, d.detail
         FROM deliveries d
         LEFT JOIN integrations i
           ON d.destination_kind = 'integration' AND i.id = d.destination_id AND i.active = 1
         LEFT JOIN ssf_streams s
           ON d.destination_kind = 'integration' AND s.integration_id = d.destination_id
         LEFT JOIN webhooks w
           ON d.destination_kind = 'webhook' AND w.id = d.destination_id AND w.active = 1
         WHERE d.status = 'pending' AND d.next_attempt_at <= ?1 AND d.claimed_until <= ?1
           AND d.destination_kind IN ('integration', 'webhook')
           AND (s.integration_id IS NULL
                OR (s.delivery_method = 'push' AND (d.user_key = ?3 OR s.status = 'enabled')))
           AND NOT EXISTS (
             SELECT 1 FROM deliveries e
             WHERE e.destination_id = d.destination_id AND e.user_key = d.user_key
               AND e.status = 'pending' AND e.seq < d.seq AND e.claimed_until > ?1)
           AND NOT EXISTS (
             SELECT 1 FROM deliveries n
             WHERE n.destination_id = d.destination_id AND n.user_key = d.user_key
               AND d.user_key <> ?3 AND n.status = 'pending' AND n.seq > d.seq)
           AND NOT EXISTS (
             SELECT 1 FROM deliveries o
             WHERE o.destination_id = d.destination_id AND o.user_key = d.user_key
               AND d.user_key = ?3 AND o.status = 'pending' AND o.seq < d.seq)
         ORDER BY d.next_attempt_at, d.seq
         LIMIT ?2"
    ))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![now, limit, STREAM_EVENT_USER_KEY], |r| {
        let record = record(r)?;
        let payload: Option<Vec<u8>> = r.get(17)?;
        let columns = DestinationColumns {
            tenant_url: r.get(18)?,
            url: r.get(19)?,
            format: r.get(20)?,
            secret: r.get(21)?,
            integration_type: r.get(24)?,
            stream_id: r.get(25)?,
            stream_method: r.get(26)?,
            endpoint_url: r.get(27)?,
            authorization_header: r.get(28)?,
        };
        let seq: i64 = r.get(22)?;
        let user_key: i64 = r.get(23)?;
        let detail: Option<String> = r.get(29)?;
        Ok((record, payload, columns, seq, user_key, detail))
    })?;
    let mut claim =
        conn.prepare_cached("UPDATE deliveries SET claimed_until = ?2 WHERE seq = ?1")?;
    let mut supersede = conn.prepare_cached(
        "UPDATE deliveries SET status = 'superseded'
         WHERE destination_id = ?1 AND user_key = ?2 AND status = 'pending' AND seq < ?3
           AND claimed_until <= ?4",
    )?;
    let mut orphan = conn.prepare_cached(
        "UPDATE deliveries SET status = 'failed', last_error = ?2 WHERE seq = ?1",
    )?;
    let mut tasks = Vec::new();
    for row in rows {
        let (record, payload, columns, seq, user_key, detail) = row?;
        let Some(record) = record else { continue };
        let Some(target) = target(record.destination, columns) else {
            // Its destination is gone or inactive (changed while the row was being queued).
            orphan.execute(params![seq, crate::outbox::GONE])?;
            continue;
        };
        claim.execute(params![seq, until])?;
        if user_key != STREAM_EVENT_USER_KEY {
            supersede.execute(params![
                record.destination.id().to_string(),
                user_key,
                seq,
                now
            ])?;
        }
        tasks.push(DeliveryTask {
            seq,
            stream_event: StreamEvent::from_stored(&record.cause, detail.as_deref()),
            record,
            target,
            payload,
        });
    }
    Ok(tasks)
}

pub fn finish(
    conn: &Connection,
    seq: i64,
    now: DateTime<Utc>,
    result: &AttemptResult,
    payload: Option<&[u8]>,
) -> Result<(), StoreError> {
    let (status, next, error) = stored_outcome(result, now);
    conn.prepare_cached(
        "UPDATE deliveries SET status = ?2, attempts = attempts + 1, last_attempt_at = ?3,
            next_attempt_at = ?4, last_error = ?5, claimed_until = 0,
            payload = coalesce(payload, ?6)
         WHERE seq = ?1 AND status = 'pending'",
    )?
    .execute(params![seq, status, to_ms(now), next, error, payload])?;
    Ok(())
}

/// Whether the account has this destination.
fn destination_exists(
    conn: &Connection,
    account: AccountId,
    destination: Destination,
) -> Result<bool, StoreError> {
    let table = match destination {
        Destination::Integration(_) => "integrations",
        Destination::Webhook(_) => "webhooks",
    };
    Ok(conn
        .prepare_cached(&format!(
            "SELECT 1 FROM {table} WHERE account_id = ?1 AND id = ?2"
        ))?
        .exists(params![account.to_string(), destination.id().to_string()])?)
}

pub fn list(
    conn: &Connection,
    account: AccountId,
    destination: Destination,
    paging: Paging,
) -> Result<Option<Page<DeliveryRecord>>, StoreError> {
    if !destination_exists(conn, account, destination)? {
        return Ok(None);
    }
    let destination_id = destination.id().to_string();
    let total: i64 = conn
        .prepare_cached("SELECT count(*) FROM deliveries WHERE destination_id = ?1")?
        .query_row([&destination_id], |r| r.get(0))?;
    let offset = i64::from(paging.page.saturating_sub(1)) * i64::from(paging.per_page);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RECORD_COLUMNS} FROM deliveries d WHERE d.destination_id = ?1
         ORDER BY d.seq DESC LIMIT ?2 OFFSET ?3"
    ))?;
    let mut items = Vec::new();
    for row in stmt.query_map(
        params![destination_id, i64::from(paging.per_page), offset],
        record,
    )? {
        items.extend(row?);
    }
    Ok(Some(Page {
        items,
        total_count: u64::try_from(total).unwrap_or_default(),
    }))
}

pub fn prune(conn: &Connection, before: DateTime<Utc>) -> Result<u64, StoreError> {
    let deleted = conn
        .prepare_cached(
            "DELETE FROM deliveries WHERE status <> 'pending'
             AND coalesce(last_attempt_at, created_at) < ?1",
        )?
        .execute([to_ms(before)])?;
    Ok(deleted as u64)
}

pub fn next_due(conn: &Connection) -> Result<Option<DateTime<Utc>>, StoreError> {
    let now = now_ms();
    let next: Option<i64> = conn
        .prepare_cached(
            // The partial index on next_attempt_at answers this by walking the pending rows
            // in order; those a poll hands out, or a paused stream holds, are not due here.
            "SELECT d.next_attempt_at FROM deliveries d
             WHERE d.status = 'pending' AND d.claimed_until <= ?1
               AND NOT EXISTS (
                 SELECT 1 FROM ssf_streams s WHERE s.integration_id = d.destination_id
                   AND (s.delivery_method = 'poll' OR (s.status <> 'enabled' AND d.user_key <> ?2)))
             ORDER BY d.next_attempt_at LIMIT 1",
        )?
        .query_row(params![now, STREAM_EVENT_USER_KEY], |r| r.get(0))
        .optional()?
        .flatten();
    Ok(next.map(from_ms))
}

/// The user ids of the given user row keys (for changes: deliveries name users by id).
pub fn user_ids(
    conn: &Connection,
    keys: impl IntoIterator<Item = i64>,
) -> Result<std::collections::HashMap<i64, String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT user_id FROM users WHERE key = ?1")?;
    let mut out = std::collections::HashMap::new();
    for key in keys {
        if let Some(id) = stmt
            .query_row([key], |r| r.get::<_, String>(0))
            .optional()?
        {
            out.insert(key, id);
        }
    }
    Ok(out)
}

/// The outbox at a glance (see [`OutboxStats`]).
pub fn stats(conn: &Connection) -> Result<OutboxStats, StoreError> {
    let by_kind_and_status = conn
        .prepare_cached(
            "SELECT destination_kind, status, count(*) FROM deliveries GROUP BY 1, 2 ORDER BY 1, 2",
        )?
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?
        .map(|row| row.map(|(kind, status, n)| (kind, status, n.max(0) as u64)))
        .collect::<Result<Vec<_>, _>>()?;
    let (pending, oldest): (i64, Option<i64>) = conn
        .prepare_cached(
            "SELECT count(*), min(created_at) FROM deliveries WHERE status = 'pending'",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(OutboxStats {
        by_kind_and_status,
        pending: pending.max(0) as u64,
        oldest_pending_at: oldest.map(from_ms),
    })
}
