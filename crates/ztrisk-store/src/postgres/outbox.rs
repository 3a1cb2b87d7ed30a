//! The outbox on PostgreSQL: deliveries queued in the transaction of each change; any replica
//! claims due ones with `FOR UPDATE SKIP LOCKED` and a lease (`claimed_until`), so one
//! delivery is in flight on at most one replica at a time.

use super::{LOCK_CLASS_CLAIMS, Result, execute, query, query_opt};
use crate::model::{
    DeliveryRecord, DeliveryStatus, DeliveryTask, Destination, OutboxStats, Page, Paging, Settled,
    StreamEvent,
};
use crate::outbox::{
    ChangedUser, DestinationColumns, GONE, STREAM_EVENT_USER_KEY, Subscriber,
    integration_subscribes, new_delivery_id, status_of, stored_outcome, target,
};
use crate::rank::{level_of, rank_or_zero};
use crate::time::{from_ms, now_ms, to_ms};
use chrono::{DateTime, Utc};
use deadpool_postgres::ClientWrapper;
use tokio_postgres::Row;
use ztrisk_core::AccountId;

/// The account's active destinations that hear of level changes.
async fn subscribers(c: &ClientWrapper, account: AccountId) -> Result<Vec<Subscriber>> {
    let account = account.to_string();
    let params: &[&(dyn tokio_postgres::types::ToSql + Sync)] = &[&account];
    let (integrations, webhooks) = tokio::try_join!(
        query(
            c,
            "SELECT i.id, i.integration_type, s.status, coalesce(s.delivers_risk, false)
             FROM integrations i LEFT JOIN ssf_streams s ON s.integration_id = i.id
             WHERE i.account_id = $1 AND i.active",
            params
        ),
        query(
            c,
            "SELECT id, min_rank FROM webhooks WHERE account_id = $1 AND active",
            params
        ),
    )?;
    let mut out = Vec::new();
    let mut with_stream = Vec::new();
    for row in &integrations {
        let id: &str = row.get(0);
        let stream_status: Option<&str> = row.get(2);
        if !integration_subscribes(row.get(1), stream_status, row.get(3)) {
            continue;
        }
        if let Ok(parsed) = id.parse() {
            if stream_status.is_some() {
                with_stream.push(id.to_owned());
            }
            out.push(Subscriber::new(Destination::Integration(parsed), None));
        }
    }
    if !with_stream.is_empty() {
        let removed = query(
            c,
            "SELECT integration_id, email FROM ssf_removed_subjects
             WHERE integration_id = ANY($1::text[])",
            &[&with_stream],
        )
        .await?;
        for row in &removed {
            let Ok(id) = row.get::<_, &str>(0).parse() else {
                continue;
            };
            if let Some(subscriber) = out
                .iter_mut()
                .find(|s| s.destination == Destination::Integration(id))
            {
                subscriber.removed.insert(row.get(1));
            }
        }
    }
    for row in &webhooks {
        if let Ok(id) = row.get::<_, &str>(0).parse() {
            out.push(Subscriber::new(
                Destination::Webhook(id),
                level_of(row.get(1)),
            ));
        }
    }
    Ok(out)
}

/// Queues one delivery per change and interested destination, in the caller's transaction:
/// one insert (older changes of the same user are superseded when this one is claimed).
pub async fn enqueue(
    c: &ClientWrapper,
    account: AccountId,
    changes: &[ChangedUser],
) -> Result<u64> {
    if changes.is_empty() {
        return Ok(0);
    }
    let subscribers = subscribers(c, account).await?;
    if subscribers.is_empty() {
        return Ok(0);
    }
    let now = now_ms();
    let mut rows = Rows::default();
    for changed in changes {
        for subscriber in subscribers.iter().filter(|s| s.wants(changed)) {
            let destination = subscriber.destination;
            rows.ids.push(new_delivery_id());
            rows.kinds.push(destination.kind());
            rows.destinations.push(destination.id().to_string());
            rows.users.push(changed.user_id.as_str());
            rows.user_keys.push(changed.user_key);
            rows.emails.push(changed.email.as_str());
            rows.names.push(changed.name.as_str());
            rows.previous.push(rank_or_zero(changed.change.previous));
            rows.current.push(rank_or_zero(changed.change.current));
            rows.causes.push(changed.change.cause.code().to_owned());
            rows.changed_at.push(changed.change.at);
        }
    }
    if rows.ids.is_empty() {
        return Ok(0);
    }
    let account = account.to_string();
    let queued = execute(
        c,
        "INSERT INTO deliveries (id, account_id, destination_kind, destination_id, user_id,
            user_key, email, name, previous_rank, current_rank, cause, changed_at, status,
            created_at, next_attempt_at)
         SELECT v.id, $1, v.kind, v.dest, v.usr, v.ukey, v.email, v.name, v.prev, v.cur, v.cause,
                v.at, 'pending', $13, $13
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[],
                     $8::text[], $9::bigint[], $10::bigint[], $11::text[], $12::bigint[])
              WITH ORDINALITY AS v(id, kind, dest, usr, ukey, email, name, prev, cur, cause, at, n)
         ORDER BY v.n",
        &[
            &account,
            &rows.ids,
            &rows.kinds,
            &rows.destinations,
            &rows.users,
            &rows.user_keys,
            &rows.emails,
            &rows.names,
            &rows.previous,
            &rows.current,
            &rows.causes,
            &rows.changed_at,
            &now,
        ],
    )
    .await?;
    Ok(queued)
}

/// The deliveries of a batch, as the columns of one `UNNEST` insert.
#[derive(Default)]
struct Rows<'a> {
    ids: Vec<String>,
    kinds: Vec<&'static str>,
    destinations: Vec<String>,
    users: Vec<&'a str>,
    user_keys: Vec<i64>,
    emails: Vec<&'a str>,
    names: Vec<&'a str>,
    previous: Vec<i64>,
    current: Vec<i64>,
    causes: Vec<String>,
    changed_at: Vec<i64>,
}

/// Deletes a destination (`integrations` or `webhooks`, an account's row) and fails its pending
/// deliveries, in the caller's transaction: the one way a destination goes away. `false` when
/// the account has no such destination.
pub async fn delete_destination(
    c: &ClientWrapper,
    table: &'static str,
    account: AccountId,
    id: uuid::Uuid,
) -> Result<bool> {
    let deleted = execute(
        c,
        &format!("DELETE FROM {table} WHERE account_id = $1 AND id = $2"),
        &[&account.to_string(), &id.to_string()],
    )
    .await?;
    if deleted > 0 {
        fail_pending(c, &id.to_string(), crate::outbox::DELETED).await?;
    }
    Ok(deleted > 0)
}

/// Fails a destination's pending deliveries (deactivated or deleted).
pub async fn fail_pending(c: &ClientWrapper, destination_id: &str, reason: &str) -> Result<()> {
    execute(
        c,
        "UPDATE deliveries SET status = 'failed', last_error = $2, claimed_until = 0
         WHERE destination_id = $1 AND status = 'pending'",
        &[&destination_id, &reason],
    )
    .await?;
    Ok(())
}

pub(super) const RECORD_COLUMNS: &str =
    "d.id, d.account_id, d.destination_kind, d.destination_id, d.user_id,
    d.email, d.name, d.previous_rank, d.current_rank, d.cause, d.changed_at, d.status,
    d.attempts, d.created_at, d.last_attempt_at, d.next_attempt_at, d.last_error";

pub(super) fn record(r: &Row) -> Option<DeliveryRecord> {
    let account = r.get::<_, &str>(1).parse().ok()?;
    let destination = Destination::parse(r.get(2), r.get(3))?;
    let user_id = r.get::<_, &str>(4).parse().ok()?;
    let status = status_of(r.get(11));
    Some(DeliveryRecord {
        id: r.get(0),
        account,
        destination,
        user_id,
        email: r.get(5),
        name: r.get(6),
        previous: level_of(r.get(7)),
        current: level_of(r.get(8)),
        cause: r.get(9),
        changed_at: from_ms(r.get(10)),
        attempts: u32::try_from(r.get::<_, i64>(12)).unwrap_or(u32::MAX),
        created_at: from_ms(r.get(13)),
        last_attempt_at: r.get::<_, Option<i64>>(14).map(from_ms),
        next_attempt_at: (status == DeliveryStatus::Pending).then(|| from_ms(r.get(15))),
        last_error: r.get(16),
        status,
    })
}

/// Claims due deliveries (in the caller's transaction): the newest pending one of each
/// (destination, user) whose older ones are not in flight, skipping rows another replica is
/// claiming right now; the older pending ones it replaces are superseded in the same statement.
/// A stream's own events (user key 0) go out in order and supersede nothing. SSF streams that
/// are polled are not claimed here, nor level changes for a paused (or disabled) stream.
pub async fn claim(
    c: &ClientWrapper,
    now: DateTime<Utc>,
    lease: std::time::Duration,
    limit: usize,
) -> Result<Vec<DeliveryTask>> {
    // One claim at a time across replicas (held until this transaction ends; claims are short):
    // two concurrent claims could each see the other's older row as unclaimed and put two
    // changes of one user in flight at once, or lock older rows in opposite orders.
    execute(
        c,
        "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
        &[&LOCK_CLASS_CLAIMS],
    )
    .await?;
    let now = to_ms(now);
    let until = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = query(
        c,
        &format!(
            "WITH due AS (
               SELECT d.seq FROM deliveries d
               WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND d.claimed_until <= $1
                 AND d.destination_kind IN ('integration', 'webhook')
                 AND NOT EXISTS (
                   SELECT 1 FROM ssf_streams s
                   WHERE d.destination_kind = 'integration' AND s.integration_id = d.destination_id
                     AND (s.delivery_method <> 'push'
                          OR (d.user_key <> $4 AND s.status <> 'enabled')))
                 AND NOT EXISTS (
                   SELECT 1 FROM deliveries e
                   WHERE e.destination_id = d.destination_id AND e.user_key = d.user_key
                     AND e.status = 'pending' AND e.seq < d.seq AND e.claimed_until > $1)
                 AND NOT EXISTS (
                   SELECT 1 FROM deliveries n
                   WHERE n.destination_id = d.destination_id AND n.user_key = d.user_key
                     AND d.user_key <> $4 AND n.status = 'pending' AND n.seq > d.seq)
                 AND NOT EXISTS (
                   SELECT 1 FROM deliveries o
                   WHERE o.destination_id = d.destination_id AND o.user_key = d.user_key
                     AND d.user_key = $4 AND o.status = 'pending' AND o.seq < d.seq)
               ORDER BY d.next_attempt_at, d.seq
               LIMIT $2
               FOR UPDATE OF d SKIP LOCKED),
             claimed AS (
               UPDATE deliveries SET claimed_until = $3 FROM due WHERE deliveries.seq = due.seq
               RETURNING deliveries.*),
             superseded AS (
               UPDATE deliveries o SET status = 'superseded' FROM claimed c
               WHERE o.destination_id = c.destination_id AND o.user_key = c.user_key
                 AND c.user_key <> $4
                 AND o.status = 'pending' AND o.seq < c.seq AND o.claimed_until <= $1)
             SELECT {RECORD_COLUMNS}, d.payload, i.tenant_url, w.url, w.format, w.secret, d.seq,
                    i.integration_type, s.stream_id, s.delivery_method, s.endpoint_url,
                    s.authorization_header, d.detail
             FROM claimed d
             LEFT JOIN integrations i
               ON d.destination_kind = 'integration' AND i.id = d.destination_id AND i.active
             LEFT JOIN ssf_streams s
               ON d.destination_kind = 'integration' AND s.integration_id = d.destination_id
             LEFT JOIN webhooks w
               ON d.destination_kind = 'webhook' AND w.id = d.destination_id AND w.active
             ORDER BY d.next_attempt_at, d.seq"
        ),
        &[&now, &limit, &until, &STREAM_EVENT_USER_KEY],
    )
    .await?;
    let mut tasks = Vec::with_capacity(rows.len());
    for row in &rows {
        let Some(record) = record(row) else { continue };
        let columns = DestinationColumns {
            tenant_url: row.get(18),
            url: row.get(19),
            format: row.get(20),
            secret: row.get(21),
            integration_type: row.get(23),
            stream_id: row.get(24),
            stream_method: row.get(25),
            endpoint_url: row.get(26),
            authorization_header: row.get(27),
        };
        let found = target(record.destination, columns);
        let Some(target) = found else {
            // Its destination is gone or inactive (changed while the row was being queued).
            execute(
                c,
                "UPDATE deliveries SET status = 'failed', last_error = $2 WHERE seq = $1",
                &[&row.get::<_, i64>(22), &GONE],
            )
            .await?;
            continue;
        };
        tasks.push(DeliveryTask {
            seq: row.get(22),
            stream_event: StreamEvent::from_stored(&record.cause, row.get(28)),
            record,
            target,
            payload: row.get(17),
        });
    }
    Ok(tasks)
}

/// Records a batch of attempts in one statement.
pub async fn finish_all(c: &ClientWrapper, now: DateTime<Utc>, settled: &[Settled]) -> Result<()> {
    if settled.is_empty() {
        return Ok(());
    }
    let mut seqs = Vec::with_capacity(settled.len());
    let mut statuses = Vec::with_capacity(settled.len());
    let mut nexts = Vec::with_capacity(settled.len());
    let mut errors: Vec<Option<&str>> = Vec::with_capacity(settled.len());
    let mut payloads: Vec<Option<&[u8]>> = Vec::with_capacity(settled.len());
    for one in settled {
        let (status, next, error) = stored_outcome(&one.result, now);
        seqs.push(one.seq);
        statuses.push(status);
        nexts.push(next);
        errors.push(error);
        payloads.push(one.payload.as_deref());
    }
    execute(
        c,
        "UPDATE deliveries d SET status = v.status, attempts = d.attempts + 1,
            last_attempt_at = $6, next_attempt_at = v.next, last_error = v.error,
            claimed_until = 0, payload = coalesce(d.payload, v.payload)
         FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::bytea[])
              AS v(seq, status, next, error, payload)
         WHERE d.seq = v.seq AND d.status = 'pending'",
        &[&seqs, &statuses, &nexts, &errors, &payloads, &to_ms(now)],
    )
    .await?;
    Ok(())
}

pub async fn list(
    c: &ClientWrapper,
    account: AccountId,
    destination: Destination,
    paging: Paging,
) -> Result<Option<Page<DeliveryRecord>>> {
    let table = match destination {
        Destination::Integration(_) => "integrations",
        Destination::Webhook(_) => "webhooks",
    };
    let destination_id = destination.id().to_string();
    let exists = query_opt(
        c,
        &format!("SELECT 1 FROM {table} WHERE account_id = $1 AND id = $2"),
        &[&account.to_string(), &destination_id],
    )
    .await?;
    if exists.is_none() {
        return Ok(None);
    }
    let offset = i64::from(paging.page.saturating_sub(1)) * i64::from(paging.per_page);
    let per_page = i64::from(paging.per_page);
    let page_sql = format!(
        "SELECT {RECORD_COLUMNS} FROM deliveries d WHERE d.destination_id = $1
         ORDER BY d.seq DESC LIMIT $2 OFFSET $3"
    );
    let count_params: &[&(dyn tokio_postgres::types::ToSql + Sync)] = &[&destination_id];
    let page_params: &[&(dyn tokio_postgres::types::ToSql + Sync)] =
        &[&destination_id, &per_page, &offset];
    let (total, rows) = tokio::try_join!(
        query(
            c,
            "SELECT count(*) FROM deliveries WHERE destination_id = $1",
            count_params
        ),
        query(c, &page_sql, page_params),
    )?;
    let total: i64 = total.first().map(|r| r.get(0)).unwrap_or_default();
    Ok(Some(Page {
        items: rows.iter().filter_map(record).collect(),
        total_count: u64::try_from(total).unwrap_or_default(),
    }))
}

pub async fn prune(c: &ClientWrapper, before: DateTime<Utc>) -> Result<u64> {
    execute(
        c,
        "DELETE FROM deliveries WHERE status <> 'pending'
         AND coalesce(last_attempt_at, created_at) < $1",
        &[&to_ms(before)],
    )
    .await
}

pub async fn next_due(c: &ClientWrapper) -> Result<Option<DateTime<Utc>>> {
    let row = query_opt(
        c,
        // The partial index on next_attempt_at answers this by walking the pending rows in
        // order (rows in flight, few, are stepped over, and so are those a poll hands out or a
        // paused stream holds).
        "SELECT d.next_attempt_at FROM deliveries d
         WHERE d.status = 'pending' AND d.claimed_until <= $1
           AND NOT EXISTS (
             SELECT 1 FROM ssf_streams s WHERE s.integration_id = d.destination_id
               AND (s.delivery_method = 'poll' OR (s.status <> 'enabled' AND d.user_key <> $2)))
         ORDER BY d.next_attempt_at LIMIT 1",
        &[&now_ms(), &STREAM_EVENT_USER_KEY],
    )
    .await?;
    Ok(row.and_then(|r| r.get::<_, Option<i64>>(0)).map(from_ms))
}

/// The user ids of the given user row keys.
pub async fn user_ids(
    c: &ClientWrapper,
    keys: &[i64],
) -> Result<std::collections::HashMap<i64, String>> {
    let rows = query(
        c,
        "SELECT key, user_id FROM users WHERE key = ANY($1::bigint[])",
        &[&keys],
    )
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// The outbox at a glance (see [`OutboxStats`]).
pub async fn stats(c: &ClientWrapper) -> Result<OutboxStats> {
    let rows = query(
        c,
        "SELECT destination_kind, status, count(*) FROM deliveries GROUP BY 1, 2 ORDER BY 1, 2",
        &[],
    )
    .await?;
    let by_kind_and_status = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get::<_, i64>(2).max(0) as u64))
        .collect();
    let pending = query_opt(
        c,
        "SELECT count(*), min(created_at) FROM deliveries WHERE status = 'pending'",
        &[],
    )
    .await?;
    let (n, oldest): (i64, Option<i64>) = pending.map_or((0, None), |r| (r.get(0), r.get(1)));
    Ok(OutboxStats {
        by_kind_and_status,
        pending: n.max(0) as u64,
        oldest_pending_at: oldest.map(from_ms),
    })
}
