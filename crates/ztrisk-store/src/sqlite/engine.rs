//! Ingestion: events in, detector state and risk events out, in the writer's transaction.

use super::user_cache::{CachedUser, UserCache};
use super::{account_key, behaviors};
use crate::StoreError;
use crate::model::IngestOutcome;
use crate::rank::rank_of;
use crate::time::now_ms;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;
use ztrisk_core::AccountId;
use ztrisk_core::detect::{UserState, detect};
use ztrisk_core::events::{Event, UserRef};

/// A user touched by the batch: loaded once, written back once.
struct Touched {
    user: CachedUser,
    was_scored: bool,
    /// Whether the detector state must be written back.
    state_dirty: bool,
    /// Whether the user row (name, scores) must be written back.
    row_dirty: bool,
}

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
    let mut users: HashMap<&str, Touched> = HashMap::new();

    let mut remember_id = conn.prepare_cached(
        "INSERT OR IGNORE INTO event_ids (account_key, ts, id_hash) VALUES (?1, ?2, ?3)",
    )?;
    let mut insert_risk = conn.prepare_cached(
        "INSERT INTO risk_events (id, account_key, user_key, behavior_id, risk_rank, ts, detected_at, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;

    for event in events {
        let user = match users.entry(event.user.email.as_str()) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                let cached = cache
                    .lock()
                    .ok()
                    .and_then(|mut c| c.take(account_key, &event.user.email));
                let user = match cached {
                    Some(user) => user,
                    None => load_or_create(conn, account_key, &event.user)?,
                };
                entry.insert(Touched {
                    was_scored: user.risk_event_count > 0,
                    user,
                    state_dirty: false,
                    row_dirty: false,
                })
            }
        };
        if let Some(name) = &event.user.name
            && *name != user.user.name
        {
            user.user.name.clone_from(name);
            user.row_dirty = true;
        }
        if let Some(id) = &event.id {
            let digest = Sha256::digest(id.as_bytes());
            if remember_id.execute(params![account_key, event.timestamp, &digest[..16]])? == 0 {
                outcome.duplicates += 1;
                continue;
            }
        }
        outcome.accepted += 1;

        // Detected strictly after the last reset, even within the same millisecond.
        let touched = user;
        let user = &mut touched.user;
        let detected_at = user.last_reset_at.map_or(now, |reset| now.max(reset + 1));
        let before = user.state.clone();
        let detections = detect(&mut user.state, event, &config);
        // Most events (clean DNS, healthy posture) change nothing: those users need no write.
        touched.state_dirty |= user.state != before;
        touched.row_dirty |= !detections.is_empty();
        for detection in detections {
            let rank = rank_of(detection.risk_level);
            let details = serde_json::to_string(&detection.details)
                .map_err(|e| StoreError::Backend(format!("serializing evidence: {e}")))?;
            insert_risk.execute(params![
                Uuid::new_v4().to_string(),
                account_key,
                user.key,
                detection.behavior.as_str(),
                rank,
                detection.timestamp,
                detected_at,
                details
            ])?;
            user.risk_rank = user.risk_rank.max(rank);
            user.risk_event_count += 1;
            user.last_risk_event_at = Some(
                user.last_risk_event_at
                    .map_or(detection.timestamp, |t| t.max(detection.timestamp)),
            );
            outcome.risk_events += 1;
        }
    }

    let mut save_state = conn.prepare_cached(
        "INSERT INTO user_states (user_key, state) VALUES (?1, ?2)
         ON CONFLICT (user_key) DO UPDATE SET state = excluded.state",
    )?;
    let mut save_user = conn.prepare_cached(
        "UPDATE users SET name = ?2, risk_rank = ?3, risk_event_count = ?4, last_risk_event_at = ?5
         WHERE key = ?1",
    )?;
    let mut newly_scored = 0i64;
    for touched in users.values() {
        let user = &touched.user;
        if touched.state_dirty {
            save_state.execute(params![user.key, user.state.encode()])?;
        }
        if touched.row_dirty {
            save_user.execute(params![
                user.key,
                user.name,
                user.risk_rank,
                user.risk_event_count,
                user.last_risk_event_at
            ])?;
        }
        if !touched.was_scored && user.risk_event_count > 0 {
            newly_scored += 1;
        }
    }
    if newly_scored > 0 {
        adjust_scored(conn, account_key, newly_scored)?;
    }
    // Everything is written: hand the users back to the cache (undone if the commit fails).
    if let Ok(mut cache) = cache.lock() {
        for (email, touched) in users {
            cache.put(account_key, email.to_owned(), touched.user);
        }
    }
    Ok(outcome)
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
) -> Result<CachedUser, StoreError> {
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
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, Option<i64>>(6)?,
            ))
        })
        .optional()?;
    if let Some((
        key,
        state,
        name,
        last_reset_at,
        risk_rank,
        risk_event_count,
        last_risk_event_at,
    )) = existing
    {
        let state = match state.as_deref().map(UserState::decode) {
            Some(Some(state)) => state,
            Some(None) => {
                tracing::warn!(user_key = key, "unreadable detector state; starting afresh");
                UserState::default()
            }
            None => UserState::default(),
        };
        return Ok(CachedUser {
            key,
            state,
            name,
            last_reset_at,
            risk_rank,
            risk_event_count,
            last_risk_event_at,
        });
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
        .unwrap_or_else(|| user.email.split('@').next().unwrap_or_default().to_owned());
    conn.prepare_cached(
        "INSERT INTO users (account_key, user_id, email, name) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![account_key, user_id, user.email, name])?;
    Ok(CachedUser {
        key: conn.last_insert_rowid(),
        state: UserState::default(),
        name,
        last_reset_at: None,
        risk_rank: 0,
        risk_event_count: 0,
        last_risk_event_at: None,
    })
}
