//! SSF streams on SQLite (spec 4.5): their configuration, removed subjects, own events, and
//! polls. Their SETs are rows of `deliveries` (see `outbox.rs`).

use super::outbox::{RECORD_COLUMNS, record};
use crate::StoreError;
use crate::model::{
    DeliveryTask, PollOutcome, PollRequest, Stream, StreamBacklog, StreamDelivery, StreamEvent,
    StreamFields, StreamStatus, Target,
};
use crate::outbox::{STREAM_DELETED, STREAM_DISABLED, STREAM_EVENT_USER_KEY, new_delivery_id};
use crate::time::{from_ms, now_ms, to_ms};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::collections::HashSet;
use uuid::Uuid;
use ztrisk_core::AccountId;

const COLUMNS: &str = "integration_id, stream_id, delivery_method, endpoint_url,
    authorization_header, events_requested, description, status, reason, created_at, updated_at";

fn row_to_stream(account: AccountId) -> impl Fn(&Row<'_>) -> rusqlite::Result<Option<Stream>> {
    move |r| {
        let integration: String = r.get(0)?;
        let method: String = r.get(2)?;
        let events: String = r.get(5)?;
        let status: String = r.get(7)?;
        let (Ok(integration_id), Some(delivery), Ok(events_requested), Some(status)) = (
            integration.parse(),
            StreamDelivery::from_stored(&method, r.get(3)?, r.get(4)?),
            serde_json::from_str(&events),
            StreamStatus::parse(&status),
        ) else {
            return Ok(None);
        };
        Ok(Some(Stream {
            integration_id,
            account,
            stream_id: r.get(1)?,
            fields: StreamFields {
                delivery,
                events_requested,
                description: r.get(6)?,
            },
            status,
            reason: r.get(8)?,
            removed_subjects: Vec::new(),
            created_at: from_ms(r.get(9)?),
            updated_at: from_ms(r.get(10)?),
        }))
    }
}

pub fn get(
    conn: &Connection,
    account: AccountId,
    integration: Uuid,
) -> Result<Option<Stream>, StoreError> {
    let found = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM ssf_streams WHERE account_id = ?1 AND integration_id = ?2"
        ))?
        .query_row(
            params![account.to_string(), integration.to_string()],
            row_to_stream(account),
        )
        .optional()?
        .flatten();
    let Some(mut stream) = found else {
        return Ok(None);
    };
    stream.removed_subjects = removed_subjects(conn, &integration.to_string())?
        .into_iter()
        .collect();
    stream.removed_subjects.sort();
    Ok(Some(stream))
}

/// The subjects removed from an integration's stream.
pub fn removed_subjects(
    conn: &Connection,
    integration: &str,
) -> Result<HashSet<String>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT email FROM ssf_removed_subjects WHERE integration_id = ?1")?;
    let emails = stmt
        .query_map([integration], |r| r.get::<_, String>(0))?
        .collect::<Result<HashSet<_>, _>>()?;
    Ok(emails)
}

/// Whether the account has this SSF integration.
fn is_ssf_integration(
    conn: &Connection,
    account: AccountId,
    integration: Uuid,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM integrations
             WHERE account_id = ?1 AND id = ?2 AND integration_type = 'SSF'",
        )?
        .exists(params![account.to_string(), integration.to_string()])?)
}

pub fn create(
    conn: &Connection,
    account: AccountId,
    integration: Uuid,
    fields: StreamFields,
) -> Result<Stream, StoreError> {
    if !is_ssf_integration(conn, account, integration)? {
        return Err(StoreError::NotFound("integration"));
    }
    if get(conn, account, integration)?.is_some() {
        return Err(StoreError::Conflict(
            "this integration has a stream already: update or delete it".into(),
        ));
    }
    let now = now_ms();
    let (endpoint_url, authorization_header) = fields.delivery.push_columns();
    conn.prepare_cached(
        "INSERT INTO ssf_streams (integration_id, account_id, stream_id, delivery_method,
            endpoint_url, authorization_header, events_requested, delivers_risk, description,
            status, reason, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'enabled', NULL, ?10, ?10)",
    )?
    .execute(params![
        integration.to_string(),
        account.to_string(),
        Uuid::new_v4().to_string(),
        fields.delivery.stored(),
        endpoint_url,
        authorization_header,
        serde_json::to_string(&fields.events_requested)?,
        fields.delivers_risk(),
        fields.description,
        now
    ])?;
    get(conn, account, integration)?.ok_or(StoreError::NotFound("stream"))
}

pub fn update(
    conn: &Connection,
    account: AccountId,
    integration: Uuid,
    fields: StreamFields,
) -> Result<Option<Stream>, StoreError> {
    let (endpoint_url, authorization_header) = fields.delivery.push_columns();
    let changed = conn
        .prepare_cached(
            "UPDATE ssf_streams SET delivery_method = ?3, endpoint_url = ?4,
                authorization_header = ?5, events_requested = ?6, delivers_risk = ?7,
                description = ?8, updated_at = ?9
             WHERE account_id = ?1 AND integration_id = ?2",
        )?
        .execute(params![
            account.to_string(),
            integration.to_string(),
            fields.delivery.stored(),
            endpoint_url,
            authorization_header,
            serde_json::to_string(&fields.events_requested)?,
            fields.delivers_risk(),
            fields.description,
            now_ms()
        ])?;
    if changed == 0 {
        return Ok(None);
    }
    get(conn, account, integration)
}

pub fn delete(
    conn: &Connection,
    account: AccountId,
    integration: Uuid,
) -> Result<bool, StoreError> {
    let deleted = conn
        .prepare_cached("DELETE FROM ssf_streams WHERE account_id = ?1 AND integration_id = ?2")?
        .execute(params![account.to_string(), integration.to_string()])?;
    if deleted > 0 {
        super::outbox::fail_pending(conn, &integration.to_string(), STREAM_DELETED)?;
    }
    Ok(deleted > 0)
}

pub fn set_status(
    conn: &Connection,
    account: AccountId,
    integration: Uuid,
    status: StreamStatus,
    reason: Option<String>,
) -> Result<Option<Stream>, StoreError> {
    let Some(stream) = get(conn, account, integration)? else {
        return Ok(None);
    };
    conn.prepare_cached(
        "UPDATE ssf_streams SET status = ?3, reason = ?4, updated_at = ?5
         WHERE account_id = ?1 AND integration_id = ?2",
    )?
    .execute(params![
        account.to_string(),
        integration.to_string(),
        status.as_str(),
        reason,
        now_ms()
    ])?;
    if stream.status != status {
        if status == StreamStatus::Disabled {
            conn.prepare_cached(
                "UPDATE deliveries SET status = 'failed', last_error = ?2, claimed_until = 0
                 WHERE destination_id = ?1 AND status = 'pending' AND user_key <> ?3",
            )?
            .execute(params![
                integration.to_string(),
                STREAM_DISABLED,
                STREAM_EVENT_USER_KEY
            ])?;
        }
        queue_event(
            conn,
            account,
            &stream,
            &StreamEvent::Updated { status, reason },
        )?;
    }
    get(conn, account, integration)
}

/// Queues one of the stream's own events, in the caller's transaction.
fn queue_event(
    conn: &Connection,
    account: AccountId,
    stream: &Stream,
    event: &StreamEvent,
) -> Result<(), StoreError> {
    let now = now_ms();
    conn.prepare_cached(
        "INSERT INTO deliveries (id, account_id, destination_kind, destination_id, user_id,
            user_key, email, name, previous_rank, current_rank, cause, changed_at, status,
            created_at, next_attempt_at, detail)
         VALUES (?1, ?2, 'integration', ?3, ?4, ?5, '', '', 0, 0, ?6, ?7, 'pending', ?7, ?7, ?8)",
    )?
    .execute(params![
        new_delivery_id(),
        account.to_string(),
        stream.integration_id.to_string(),
        stream.stream_id,
        STREAM_EVENT_USER_KEY,
        event.cause(),
        now,
        event.members().to_string()
    ])?;
    Ok(())
}

pub fn queue(
    conn: &Connection,
    account: AccountId,
    integration: Uuid,
    event: &StreamEvent,
) -> Result<bool, StoreError> {
    let Some(stream) = get(conn, account, integration)? else {
        return Ok(false);
    };
    queue_event(conn, account, &stream, event)?;
    Ok(true)
}

pub fn set_subject_removed(
    conn: &Connection,
    account: AccountId,
    integration: Uuid,
    email: &str,
    removed: bool,
) -> Result<bool, StoreError> {
    if get(conn, account, integration)?.is_none() {
        return Ok(false);
    }
    let sql = if removed {
        "INSERT OR IGNORE INTO ssf_removed_subjects (integration_id, email) VALUES (?1, ?2)"
    } else {
        "DELETE FROM ssf_removed_subjects WHERE integration_id = ?1 AND email = ?2"
    };
    conn.prepare_cached(sql)?
        .execute(params![integration.to_string(), email])?;
    Ok(true)
}

pub fn backlog(
    conn: &Connection,
    account: AccountId,
    integration: Uuid,
) -> Result<StreamBacklog, StoreError> {
    let (pending, oldest): (i64, Option<i64>) = conn
        .prepare_cached(
            "SELECT count(*), min(created_at) FROM deliveries
             WHERE destination_id = ?1 AND account_id = ?2 AND status = 'pending'",
        )?
        .query_row(params![integration.to_string(), account.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    Ok(StreamBacklog {
        pending: u64::try_from(pending).unwrap_or_default(),
        oldest_pending_at: oldest.map(from_ms),
    })
}

/// A poll (see [`crate::StreamStore::poll_stream`]), in the writer's transaction.
pub fn poll(
    conn: &Connection,
    account: AccountId,
    integration: Uuid,
    request: PollRequest,
    now: DateTime<Utc>,
) -> Result<PollOutcome, StoreError> {
    let Some(stream) = get(conn, account, integration)? else {
        return Ok(PollOutcome::NoStream);
    };
    let destination = integration.to_string();
    let answered: Vec<&str> = request
        .ack
        .iter()
        .map(String::as_str)
        .chain(request.refused.iter().map(|(jti, _)| jti.as_str()))
        .collect();
    if let Some(unknown) = unknown_jti(conn, &destination, &answered)? {
        return Ok(PollOutcome::UnknownJti(unknown));
    }
    let now_ms = to_ms(now);
    let mut settle = conn.prepare_cached(
        "UPDATE deliveries SET status = ?3, last_error = ?4, claimed_until = 0,
            last_attempt_at = coalesce(last_attempt_at, ?5)
         WHERE destination_id = ?1 AND id = ?2 AND status = 'pending'",
    )?;
    for jti in &request.ack {
        settle.execute(params![
            destination,
            jti,
            "delivered",
            None::<String>,
            now_ms
        ])?;
    }
    for (jti, why) in &request.refused {
        settle.execute(params![destination, jti, "failed", why, now_ms])?;
    }
    if request.max_events == 0 {
        return Ok(PollOutcome::Served {
            sets: Vec::new(),
            more_available: false,
        });
    }
    let until = now_ms.saturating_add(i64::try_from(request.lease.as_millis()).unwrap_or(i64::MAX));
    let enabled = stream.status == StreamStatus::Enabled;
    let audience: String = conn
        .prepare_cached("SELECT tenant_url FROM integrations WHERE id = ?1")?
        .query_row([&destination], |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RECORD_COLUMNS}, d.payload, d.seq, d.user_key, d.detail
         FROM deliveries d
         WHERE d.destination_id = ?1 AND d.status = 'pending' AND d.claimed_until <= ?2
           AND (d.user_key = ?3 OR ?4)
           AND NOT EXISTS (
             SELECT 1 FROM deliveries n
             WHERE n.destination_id = d.destination_id AND n.user_key = d.user_key
               AND d.user_key <> ?3 AND n.status = 'pending' AND n.seq > d.seq)
         ORDER BY d.seq
         LIMIT ?5"
    ))?;
    let limit = i64::try_from(request.max_events.saturating_add(1)).unwrap_or(i64::MAX);
    let rows = stmt
        .query_map(
            params![destination, now_ms, STREAM_EVENT_USER_KEY, enabled, limit],
            |r| {
                Ok((
                    record(r)?,
                    r.get::<_, Option<Vec<u8>>>(17)?,
                    r.get::<_, i64>(18)?,
                    r.get::<_, i64>(19)?,
                    r.get::<_, Option<String>>(20)?,
                ))
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    let more_available = rows.len() > request.max_events;
    let mut claim = conn.prepare_cached(
        "UPDATE deliveries SET claimed_until = ?2, attempts = attempts + 1, last_attempt_at = ?3
         WHERE seq = ?1",
    )?;
    let mut supersede = conn.prepare_cached(
        "UPDATE deliveries SET status = 'superseded', claimed_until = 0
         WHERE destination_id = ?1 AND user_key = ?2 AND status = 'pending' AND seq < ?3",
    )?;
    let mut sets = Vec::new();
    for (record, payload, seq, user_key, detail) in rows.into_iter().take(request.max_events) {
        let Some(record) = record else { continue };
        claim.execute(params![seq, until, now_ms])?;
        if user_key != STREAM_EVENT_USER_KEY {
            supersede.execute(params![destination, user_key, seq])?;
        }
        sets.push(DeliveryTask {
            seq,
            stream_event: StreamEvent::from_stored(&record.cause, detail.as_deref()),
            target: Target::SsfPoll {
                integration_id: integration,
                audience: audience.clone(),
                stream_id: stream.stream_id.clone(),
            },
            record,
            payload,
        });
    }
    Ok(PollOutcome::Served {
        sets,
        more_available,
    })
}

/// The first of `jtis` that no delivery of the destination has, if any.
fn unknown_jti(
    conn: &Connection,
    destination: &str,
    jtis: &[&str],
) -> Result<Option<String>, StoreError> {
    let mut known = conn
        .prepare_cached("SELECT 1 FROM deliveries WHERE destination_id = ?1 AND id = ?2 LIMIT 1")?;
    for jti in jtis {
        if !known.exists(params![destination, jti])? {
            return Ok(Some((*jti).to_owned()));
        }
    }
    Ok(None)
}

pub fn keep_payloads(conn: &Connection, payloads: &[(i64, Vec<u8>)]) -> Result<(), StoreError> {
    let mut keep = conn
        .prepare_cached("UPDATE deliveries SET payload = coalesce(payload, ?2) WHERE seq = ?1")?;
    for (seq, payload) in payloads {
        keep.execute(params![seq, payload])?;
    }
    Ok(())
}
