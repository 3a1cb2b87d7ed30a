//! Ingestion: events in, detector state and risk events out, in the writer's transaction.

use super::user_cache::{CachedUser, UserCache};
use super::{account_key, behaviors, outbox};
use crate::StoreError;
use crate::encoding::{decode_state, event_id_hash};
use crate::model::IngestOutcome;
use crate::rank::{level_of, rank_of, rank_of_score};
use crate::time::now_ms;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;
use ztrisk_core::AccountId;
use ztrisk_core::detect::UserState;
use ztrisk_core::events::{Event, UserRef};
use ztrisk_core::scoring::{ScoringUser, Touched, UserScore, default_name};

pub fn ingest(
    conn: &Connection,
    cache: &Mutex<UserCache>,
    account: AccountId,
    events: &[Event],
) -> Result<IngestOutcome, StoreError> {
    let account_key = account_key(conn, account)?;
    let config = behaviors::load(conn, account)?;
    let now = now_ms();
    let mut outcome = IngestOutcome::default();
    let mut users: HashMap<&str, Touched<i64>> = HashMap::new();

    let mut remember_id = conn.prepare_cached(
        "INSERT OR IGNORE INTO event_ids (account_key, ts, id_hash) VALUES (?1, ?2, ?3)",
    )?;
    // `OR FAIL` on the statements that fire the dashboard's counter triggers (migration 0008):
    // a statement that may abort midway after writing through a trigger keeps a statement
    // journal, a copy of every page it touches, per row; with FAIL nothing needs undoing at the
    // statement level. What a failed statement wrote is still undone, with the rest of this
    // write, by the writer's savepoint.
    let mut insert_risk = conn.prepare_cached(
        "INSERT OR FAIL INTO risk_events (id, account_key, user_key, behavior_id, risk_rank, ts, detected_at, details, counts, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    // The earliest expiry each user gained in this batch (spec 6.1).
    let mut expiries: HashMap<i64, i64> = HashMap::new();

    for event in events {
        let touched = match users.entry(event.user.email.as_str()) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                let cached = cache
                    .lock()
                    .ok()
                    .and_then(|mut c| c.take(account_key, &event.user.email));
                let (key, user) = match cached {
                    Some(cached) => (cached.key, cached.user),
                    None => load_or_create(conn, account_key, &event.user)?,
                };
                entry.insert(Touched::new(key, user))
            }
        };
        touched.rename(event);
        if let Some(id) = &event.id
            && remember_id.execute(params![
                account_key,
                event.timestamp,
                &event_id_hash(id)[..]
            ])? == 0
        {
            outcome.duplicates += 1;
            continue;
        }
        outcome.accepted += 1;

        let (detected_at, detections) = touched.detect(event, &config, now);
        for detection in detections {
            let details = serde_json::to_string(&detection.details)
                .map_err(|e| StoreError::Backend(format!("serializing evidence: {e}")))?;
            let expires_at = detection.expires_at(detected_at);
            if let Some(at) = expires_at {
                let earliest = expiries.entry(touched.key).or_insert(at);
                *earliest = (*earliest).min(at);
            }
            insert_risk.execute(params![
                Uuid::new_v4().to_string(),
                account_key,
                touched.key,
                detection.behavior.as_str(),
                rank_of(detection.risk_level),
                detection.timestamp,
                detected_at,
                details,
                !detection.monitor_only,
                expires_at
            ])?;
            outcome.count_risk(detection.behavior.as_str(), detection.risk_level);
        }
    }

    let mut save_state = conn.prepare_cached(
        "INSERT INTO user_states (user_key, state) VALUES (?1, ?2)
         ON CONFLICT (user_key) DO UPDATE SET state = excluded.state",
    )?;
    let mut save_user = conn.prepare_cached(
        "UPDATE OR FAIL users SET name = ?2, risk_rank = ?3, risk_event_count = ?4,
         last_risk_event_at = ?5 WHERE key = ?1",
    )?;
    let mut save_expiry = conn.prepare_cached(
        "UPDATE users SET next_expiry_at = MIN(COALESCE(next_expiry_at, ?2), ?2) WHERE key = ?1",
    )?;
    for (key, at) in &expiries {
        save_expiry.execute(params![key, at])?;
    }
    let mut newly_scored = 0i64;
    for touched in users.values() {
        let user = &touched.user;
        if touched.state_dirty {
            save_state.execute(params![touched.key, user.state.encode()])?;
        }
        if touched.row_dirty {
            save_user.execute(params![
                touched.key,
                user.name,
                rank_of_score(&user.score),
                user.score.event_count,
                user.score.last_event_at
            ])?;
        }
        if touched.newly_scored() {
            newly_scored += 1;
        }
    }
    if newly_scored > 0 {
        adjust_scored(conn, account_key, newly_scored)?;
    }
    outcome.deliveries_queued = queue_changes(conn, account, &users, now)?;
    // Everything is written: hand the users back to the cache (undone if the commit fails).
    if let Ok(mut cache) = cache.lock() {
        for (email, touched) in users {
            cache.put(
                account_key,
                email.to_owned(),
                CachedUser {
                    key: touched.key,
                    user: touched.user,
                },
            );
        }
    }
    Ok(outcome)
}

/// Queues the batch's level changes (one per user at most) in the same transaction.
fn queue_changes(
    conn: &Connection,
    account: AccountId,
    users: &HashMap<&str, Touched<i64>>,
    now: i64,
) -> Result<u64, StoreError> {
    let keys = crate::outbox::changed_keys(users, now);
    if keys.is_empty() {
        return Ok(0);
    }
    let ids = outbox::user_ids(conn, keys)?;
    let rows = crate::outbox::changed_users(users, &ids, now);
    outbox::enqueue(conn, account, &rows)
}

pub fn adjust_scored(conn: &Connection, account_key: i64, delta: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO account_stats (account_key, scored_users) VALUES (?1, ?2)
         ON CONFLICT (account_key) DO UPDATE SET scored_users = max(0, scored_users + excluded.scored_users)",
    )?
    .execute(params![account_key, delta])?;
    Ok(())
}

fn load_or_create(
    conn: &Connection,
    account_key: i64,
    user: &UserRef,
) -> Result<(i64, ScoringUser), StoreError> {
    let existing = conn
        .prepare_cached(
            "SELECT u.key, s.state, u.name, u.last_reset_at, u.risk_rank, u.risk_event_count, u.last_risk_event_at
             FROM users u LEFT JOIN user_states s ON s.user_key = u.key
             WHERE u.account_key = ?1 AND u.email = ?2",
        )?
        .query_row(params![account_key, user.email], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<Vec<u8>>>(1)?,
                ScoringUser {
                    state: UserState::default(),
                    name: r.get(2)?,
                    last_reset_at: r.get(3)?,
                    score: UserScore {
                        level: level_of(r.get(4)?),
                        event_count: r.get(5)?,
                        last_event_at: r.get(6)?,
                    },
                },
            ))
        })
        .optional()?;
    if let Some((key, state, mut found)) = existing {
        found.state = decode_state(key, state.as_deref());
        return Ok((key, found));
    }

    // A user id already taken by another email in the account is not reused: the email is the
    // key, the id only a label the client may choose once.
    let wanted = user.id.map(|id| id.to_string());
    let taken = match &wanted {
        Some(id) => conn
            .prepare_cached("SELECT 1 FROM users WHERE account_key = ?1 AND user_id = ?2")?
            .exists(params![account_key, id])?,
        None => true,
    };
    let user_id = match wanted {
        Some(id) if !taken => id,
        _ => Uuid::new_v4().to_string(),
    };
    let name = user
        .name
        .clone()
        .unwrap_or_else(|| default_name(&user.email));
    // `OR FAIL`: see `insert_risk` above.
    conn.prepare_cached(
        "INSERT OR FAIL INTO users (account_key, user_id, email, name) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![account_key, user_id, user.email, name])?;
    Ok((conn.last_insert_rowid(), ScoringUser::new(name)))
}
