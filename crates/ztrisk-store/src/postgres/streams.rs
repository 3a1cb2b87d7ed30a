//! SSF streams on PostgreSQL (spec 4.5): their configuration, removed subjects, own events,
//! and polls. Their SETs are rows of `deliveries` (see `outbox.rs`). Every write is one
//! transaction of the caller; polls of one stream on several replicas never hand out the same
//! SET (candidate rows are locked `FOR UPDATE SKIP LOCKED`, then leased by `claimed_until`).

use super::outbox::{RECORD_COLUMNS, fail_pending, record};
use super::{Failure, Result, execute, is_unique_violation, query, query_opt};
use crate::StoreError;
use crate::model::{
    DeliveryTask, PollOutcome, PollRequest, Stream, StreamBacklog, StreamDelivery, StreamEvent,
    StreamFields, StreamStatus, Target,
};
use crate::outbox::{STREAM_DELETED, STREAM_DISABLED, STREAM_EVENT_USER_KEY, new_delivery_id};
use crate::time::{from_ms, now_ms, to_ms};
use chrono::{DateTime, Utc};
use deadpool_postgres::ClientWrapper;
use tokio_postgres::Row;
use uuid::Uuid;
use ztrisk_core::AccountId;

const COLUMNS: &str = "integration_id, stream_id, delivery_method, endpoint_url,
    authorization_header, events_requested, description, status, reason, created_at, updated_at";

/// How a read of the stream row locks it (in the caller's transaction).
#[derive(Clone, Copy)]
pub enum Lock {
    None,
    /// Keeps the stream (and its status) as read until the transaction ends.
    Share,
    /// Changes to the stream wait for this transaction.
    Update,
}

impl Lock {
    fn clause(self) -> &'static str {
        match self {
            Lock::None => "",
            Lock::Share => " FOR SHARE",
            Lock::Update => " FOR UPDATE",
        }
    }
}

fn read(account: AccountId, r: &Row) -> Option<Stream> {
    let integration_id = r.get::<_, &str>(0).parse().ok()?;
    let delivery = StreamDelivery::from_stored(r.get(2), r.get(3), r.get(4))?;
    let events_requested = serde_json::from_str(r.get(5)).ok()?;
    let status = StreamStatus::parse(r.get(7))?;
    Some(Stream {
        integration_id,
        account,
        stream_id: r.get(1),
        fields: StreamFields {
            delivery,
            events_requested,
            description: r.get(6),
        },
        status,
        reason: r.get(8),
        removed_subjects: Vec::new(),
        created_at: from_ms(r.get(9)),
        updated_at: from_ms(r.get(10)),
    })
}

/// The account's stream of the integration, locked as asked.
pub async fn get_locked(
    c: &ClientWrapper,
    account: AccountId,
    integration: Uuid,
    lock: Lock,
) -> Result<Option<Stream>> {
    let row = query_opt(
        c,
        &format!(
            "SELECT {COLUMNS} FROM ssf_streams WHERE account_id = $1 AND integration_id = $2{}",
            lock.clause()
        ),
        &[&account.to_string(), &integration.to_string()],
    )
    .await?;
    let Some(mut stream) = row.as_ref().and_then(|r| read(account, r)) else {
        return Ok(None);
    };
    stream.removed_subjects = query(
        c,
        "SELECT email FROM ssf_removed_subjects WHERE integration_id = $1 ORDER BY email",
        &[&integration.to_string()],
    )
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect();
    Ok(Some(stream))
}

pub async fn get(
    c: &ClientWrapper,
    account: AccountId,
    integration: Uuid,
) -> Result<Option<Stream>> {
    get_locked(c, account, integration, Lock::None).await
}

fn conflict() -> Failure {
    StoreError::Conflict("this integration has a stream already: update or delete it".into()).into()
}

pub async fn create(
    c: &ClientWrapper,
    account: AccountId,
    integration: Uuid,
    fields: StreamFields,
) -> Result<Stream> {
    // The integration row, locked: concurrent creates for it take turns (and one sees the
    // other's stream), and it cannot go away meanwhile.
    let found = query_opt(
        c,
        "SELECT integration_type FROM integrations WHERE account_id = $1 AND id = $2 FOR UPDATE",
        &[&account.to_string(), &integration.to_string()],
    )
    .await?;
    if found.is_none_or(|r| r.get::<_, &str>(0) != "SSF") {
        return Err(StoreError::NotFound("integration").into());
    }
    if get(c, account, integration).await?.is_some() {
        return Err(conflict());
    }
    let now = now_ms();
    let (endpoint_url, authorization_header) = fields.delivery.push_columns();
    let events = serde_json::to_string(&fields.events_requested).map_err(StoreError::from)?;
    let statement = c
        .prepare_cached(
            "INSERT INTO ssf_streams (integration_id, account_id, stream_id, delivery_method,
                endpoint_url, authorization_header, events_requested, delivers_risk, description,
                status, reason, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'enabled', NULL, $10, $10)",
        )
        .await?;
    c.execute(
        &statement,
        &[
            &integration.to_string(),
            &account.to_string(),
            &Uuid::new_v4().to_string(),
            &fields.delivery.stored(),
            &endpoint_url,
            &authorization_header,
            &events,
            &fields.delivers_risk(),
            &fields.description,
            &now,
        ],
    )
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            conflict()
        } else {
            e.into()
        }
    })?;
    get(c, account, integration)
        .await?
        .ok_or_else(|| StoreError::NotFound("stream").into())
}

pub async fn update(
    c: &ClientWrapper,
    account: AccountId,
    integration: Uuid,
    fields: StreamFields,
) -> Result<Option<Stream>> {
    let (endpoint_url, authorization_header) = fields.delivery.push_columns();
    let events = serde_json::to_string(&fields.events_requested).map_err(StoreError::from)?;
    let changed = execute(
        c,
        "UPDATE ssf_streams SET delivery_method = $3, endpoint_url = $4,
            authorization_header = $5, events_requested = $6, delivers_risk = $7,
            description = $8, updated_at = $9
         WHERE account_id = $1 AND integration_id = $2",
        &[
            &account.to_string(),
            &integration.to_string(),
            &fields.delivery.stored(),
            &endpoint_url,
            &authorization_header,
            &events,
            &fields.delivers_risk(),
            &fields.description,
            &now_ms(),
        ],
    )
    .await?;
    if changed == 0 {
        return Ok(None);
    }
    get(c, account, integration).await
}

pub async fn delete(c: &ClientWrapper, account: AccountId, integration: Uuid) -> Result<bool> {
    let deleted = execute(
        c,
        "DELETE FROM ssf_streams WHERE account_id = $1 AND integration_id = $2",
        &[&account.to_string(), &integration.to_string()],
    )
    .await?;
    if deleted > 0 {
        fail_pending(c, &integration.to_string(), STREAM_DELETED).await?;
    }
    Ok(deleted > 0)
}

pub async fn set_status(
    c: &ClientWrapper,
    account: AccountId,
    integration: Uuid,
    status: StreamStatus,
    reason: Option<String>,
) -> Result<Option<Stream>> {
    // Locked: a concurrent status change on another replica waits, then sees this one's.
    let Some(stream) = get_locked(c, account, integration, Lock::Update).await? else {
        return Ok(None);
    };
    execute(
        c,
        "UPDATE ssf_streams SET status = $3, reason = $4, updated_at = $5
         WHERE account_id = $1 AND integration_id = $2",
        &[
            &account.to_string(),
            &integration.to_string(),
            &status.as_str(),
            &reason,
            &now_ms(),
        ],
    )
    .await?;
    if stream.status != status {
        if status == StreamStatus::Disabled {
            execute(
                c,
                "UPDATE deliveries SET status = 'failed', last_error = $2, claimed_until = 0
                 WHERE destination_id = $1 AND status = 'pending' AND user_key <> $3",
                &[
                    &integration.to_string(),
                    &STREAM_DISABLED,
                    &STREAM_EVENT_USER_KEY,
                ],
            )
            .await?;
        }
        queue_event(
            c,
            account,
            &stream,
            &StreamEvent::Updated { status, reason },
        )
        .await?;
    }
    get(c, account, integration).await
}

/// Queues one of the stream's own events, in the caller's transaction.
async fn queue_event(
    c: &ClientWrapper,
    account: AccountId,
    stream: &Stream,
    event: &StreamEvent,
) -> Result<()> {
    execute(
        c,
        "INSERT INTO deliveries (id, account_id, destination_kind, destination_id, user_id,
            user_key, email, name, previous_rank, current_rank, cause, changed_at, status,
            created_at, next_attempt_at, detail)
         VALUES ($1, $2, 'integration', $3, $4, $5, '', '', 0, 0, $6, $7, 'pending', $7, $7, $8)",
        &[
            &new_delivery_id(),
            &account.to_string(),
            &stream.integration_id.to_string(),
            &stream.stream_id,
            &STREAM_EVENT_USER_KEY,
            &event.cause(),
            &now_ms(),
            &event.members().to_string(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn queue(
    c: &ClientWrapper,
    account: AccountId,
    integration: Uuid,
    event: &StreamEvent,
) -> Result<bool> {
    let Some(stream) = get_locked(c, account, integration, Lock::Share).await? else {
        return Ok(false);
    };
    queue_event(c, account, &stream, event).await?;
    Ok(true)
}

pub async fn set_subject_removed(
    c: &ClientWrapper,
    account: AccountId,
    integration: Uuid,
    email: &str,
    removed: bool,
) -> Result<bool> {
    if get_locked(c, account, integration, Lock::Share)
        .await?
        .is_none()
    {
        return Ok(false);
    }
    let sql = if removed {
        "INSERT INTO ssf_removed_subjects (integration_id, email) VALUES ($1, $2)
         ON CONFLICT DO NOTHING"
    } else {
        "DELETE FROM ssf_removed_subjects WHERE integration_id = $1 AND email = $2"
    };
    execute(c, sql, &[&integration.to_string(), &email]).await?;
    Ok(true)
}

pub async fn backlog(
    c: &ClientWrapper,
    account: AccountId,
    integration: Uuid,
) -> Result<StreamBacklog> {
    let row = query_opt(
        c,
        "SELECT count(*), min(created_at) FROM deliveries
         WHERE destination_id = $1 AND account_id = $2 AND status = 'pending'",
        &[&integration.to_string(), &account.to_string()],
    )
    .await?;
    let (pending, oldest): (i64, Option<i64>) = row.map_or((0, None), |r| (r.get(0), r.get(1)));
    Ok(StreamBacklog {
        pending: u64::try_from(pending).unwrap_or_default(),
        oldest_pending_at: oldest.map(from_ms),
    })
}

/// A poll (see [`crate::StreamStore::poll_stream`]), in the caller's transaction.
pub async fn poll(
    c: &ClientWrapper,
    account: AccountId,
    integration: Uuid,
    request: PollRequest,
    now: DateTime<Utc>,
) -> Result<PollOutcome> {
    // Shared: concurrent polls proceed together; a status change or a delete waits for them
    // (and they for it), so a poll hands out what the status it read allows.
    let Some(stream) = get_locked(c, account, integration, Lock::Share).await? else {
        return Ok(PollOutcome::NoStream);
    };
    let destination = integration.to_string();
    let answered: Vec<&str> = request
        .ack
        .iter()
        .map(String::as_str)
        .chain(request.refused.iter().map(|(jti, _)| jti.as_str()))
        .collect();
    if !answered.is_empty() {
        let unknown = query_opt(
            c,
            "SELECT u.jti FROM unnest($2::text[]) WITH ORDINALITY AS u(jti, n)
             WHERE NOT EXISTS (
               SELECT 1 FROM deliveries d WHERE d.destination_id = $1 AND d.id = u.jti)
             ORDER BY u.n LIMIT 1",
            &[&destination, &answered],
        )
        .await?;
        if let Some(row) = unknown {
            return Ok(PollOutcome::UnknownJti(row.get(0)));
        }
    }
    let now_ms = to_ms(now);
    if !request.ack.is_empty() {
        execute(
            c,
            "UPDATE deliveries SET status = 'delivered', last_error = NULL, claimed_until = 0,
                last_attempt_at = coalesce(last_attempt_at, $3)
             WHERE destination_id = $1 AND id = ANY($2::text[]) AND status = 'pending'",
            &[&destination, &request.ack, &now_ms],
        )
        .await?;
    }
    if !request.refused.is_empty() {
        let (jtis, reasons): (Vec<&str>, Vec<&str>) = request
            .refused
            .iter()
            .map(|(jti, why)| (jti.as_str(), why.as_str()))
            .unzip();
        execute(
            c,
            "UPDATE deliveries d SET status = 'failed', last_error = v.why, claimed_until = 0,
                last_attempt_at = coalesce(d.last_attempt_at, $4)
             FROM unnest($2::text[], $3::text[]) AS v(jti, why)
             WHERE d.destination_id = $1 AND d.id = v.jti AND d.status = 'pending'",
            &[&destination, &jtis, &reasons, &now_ms],
        )
        .await?;
    }
    if request.max_events == 0 {
        return Ok(PollOutcome::Served {
            sets: Vec::new(),
            more_available: false,
        });
    }
    let until = now_ms.saturating_add(i64::try_from(request.lease.as_millis()).unwrap_or(i64::MAX));
    let enabled = stream.status == StreamStatus::Enabled;
    let audience: String = query_opt(
        c,
        "SELECT tenant_url FROM integrations WHERE id = $1",
        &[&destination],
    )
    .await?
    .map(|r| r.get(0))
    .ok_or(StoreError::NotFound("integration"))?;
    // The candidates: the newest pending row of each user (and the stream's own events) that
    // no poll holds, locked; rows another poll is locking right now are skipped. Handed out
    // as they were before this claim (as the push worker gets them).
    let limit = i64::try_from(request.max_events.saturating_add(1)).unwrap_or(i64::MAX);
    let mut rows = query(
        c,
        &format!(
            "SELECT {RECORD_COLUMNS}, d.payload, d.seq, d.detail FROM deliveries d
             WHERE d.destination_id = $1 AND d.status = 'pending' AND d.claimed_until <= $2
               AND (d.user_key = $3 OR $4::boolean)
               AND NOT EXISTS (
                 SELECT 1 FROM deliveries n
                 WHERE n.destination_id = d.destination_id AND n.user_key = d.user_key
                   AND d.user_key <> $3 AND n.status = 'pending' AND n.seq > d.seq)
             ORDER BY d.seq
             LIMIT $5
             FOR UPDATE OF d SKIP LOCKED"
        ),
        &[
            &destination,
            &now_ms,
            &STREAM_EVENT_USER_KEY,
            &enabled,
            &limit,
        ],
    )
    .await?;
    let more_available = rows.len() > request.max_events;
    rows.truncate(request.max_events);
    if rows.is_empty() {
        return Ok(PollOutcome::Served {
            sets: Vec::new(),
            more_available,
        });
    }
    let handed: Vec<i64> = rows.iter().map(|r| r.get(18)).collect();
    execute(
        c,
        "UPDATE deliveries SET claimed_until = $2, attempts = attempts + 1, last_attempt_at = $3
         WHERE seq = ANY($1::bigint[])",
        &[&handed, &until, &now_ms],
    )
    .await?;
    // The older pending rows of the users handed out are superseded (even those a poll held:
    // they must not come back after the newer one).
    execute(
        c,
        "UPDATE deliveries o SET status = 'superseded', claimed_until = 0
         FROM deliveries h
         WHERE h.seq = ANY($2::bigint[]) AND h.user_key <> $3
           AND o.destination_id = $1 AND o.user_key = h.user_key
           AND o.status = 'pending' AND o.seq < h.seq",
        &[&destination, &handed, &STREAM_EVENT_USER_KEY],
    )
    .await?;
    let mut sets = Vec::with_capacity(rows.len());
    for row in &rows {
        let Some(record) = record(row) else { continue };
        sets.push(DeliveryTask {
            seq: row.get(18),
            stream_event: StreamEvent::from_stored(&record.cause, row.get(19)),
            target: Target::SsfPoll {
                integration_id: integration,
                audience: audience.clone(),
                stream_id: stream.stream_id.clone(),
            },
            record,
            payload: row.get(17),
        });
    }
    Ok(PollOutcome::Served {
        sets,
        more_available,
    })
}

pub async fn keep_payloads(c: &ClientWrapper, payloads: &[(i64, Vec<u8>)]) -> Result<()> {
    if payloads.is_empty() {
        return Ok(());
    }
    let (seqs, bytes): (Vec<i64>, Vec<&[u8]>) = payloads
        .iter()
        .map(|(seq, payload)| (*seq, payload.as_slice()))
        .unzip();
    execute(
        c,
        "UPDATE deliveries d SET payload = coalesce(d.payload, v.payload)
         FROM unnest($1::bigint[], $2::bytea[]) AS v(seq, payload)
         WHERE d.seq = v.seq",
        &[&seqs, &bytes],
    )
    .await?;
    Ok(())
}
