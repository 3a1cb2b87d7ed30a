//! Ingestion: events in, detector state and risk events out, in one transaction.
//!
//! The same steps as the SQLite engine, made safe for several replicas and batched so that a
//! batch costs a handful of round trips whatever its size:
//!
//! 1. the account's key and behavior configuration (pipelined);
//! 2. users of the batch that do not exist yet are inserted (`ON CONFLICT DO NOTHING`, in email
//!    order, so two transactions creating the same users cannot deadlock);
//! 3. every user of the batch is locked (`SELECT ... ORDER BY email FOR UPDATE`), then read
//!    with their detector state by a second statement, whose fresh snapshot sees whatever the
//!    previous holder of a lock committed; the event ids are remembered in the same round
//!    trip (`INSERT ... ON CONFLICT DO NOTHING RETURNING`): those not returned are duplicates;
//! 4. detection runs in memory (`ztrisk_core::detect`), event by event in batch order;
//! 5. detector states, user rows, risk events and the scored-user count are written back
//!    with one `UNNEST` statement each, pipelined.
//!
//! Two replicas ingesting events of one user therefore take turns on that user's row: the
//! second runs detection on the state the first committed, so a threshold crossed across the
//! two batches fires exactly once and an impossible travel split across them is seen.

use super::{Result, account_key, behaviors, outbox, query};
use crate::StoreError;
use crate::encoding::{decode_state, event_id_hash};
use crate::model::IngestOutcome;
use crate::rank::{level_of, rank_of, rank_of_score};
use crate::time::now_ms;
use deadpool_postgres::ClientWrapper;
use std::collections::{HashMap, HashSet};
use tokio_postgres::types::ToSql;
use uuid::Uuid;
use ztrisk_core::AccountId;
use ztrisk_core::events::{Event, UserRef};
use ztrisk_core::scoring::{ScoringUser, Touched, UserScore, default_name};

/// Rounds of creating users whose requested id turned out to be taken (each round gives the
/// rest fresh random ids, so one round is all it ever takes in practice).
const CREATE_ROUNDS: usize = 4;

pub async fn ingest(
    c: &ClientWrapper,
    account: AccountId,
    events: &[Event],
) -> Result<IngestOutcome> {
    let (account_key, config) =
        tokio::try_join!(account_key(c, account), behaviors::load(c, account))?;
    let now = now_ms();
    let mut outcome = IngestOutcome::default();

    // The batch's users, in order of first appearance.
    let mut seen = HashSet::new();
    let firsts: Vec<&UserRef> = events
        .iter()
        .map(|e| &e.user)
        .filter(|u| seen.insert(u.email.as_str()))
        .collect();
    let mut users = load_users(c, account_key, &firsts).await?;

    // Event ids, deduplicated, sorted (a deterministic insertion order).
    let keyed: Vec<Option<(i64, [u8; 16])>> = events
        .iter()
        .map(|e| e.id.as_ref().map(|id| (e.timestamp, event_id_hash(id))))
        .collect();
    let mut fresh = remember_ids(c, account_key, &keyed).await?;

    let mut risk = RiskRows::default();
    for (event, key) in events.iter().zip(&keyed) {
        let Some(touched) = users.get_mut(event.user.email.as_str()) else {
            return Err(StoreError::Backend(format!(
                "user {} was not loaded for ingest",
                event.user.email
            ))
            .into());
        };
        touched.rename(event);
        if let Some(key) = key
            && !fresh.remove(key)
        {
            outcome.duplicates += 1;
            continue;
        }
        outcome.accepted += 1;

        let (detected_at, detections) = touched.detect(event, &config, now);
        for detection in detections {
            risk.ids.push(Uuid::new_v4().to_string());
            risk.user_keys.push(touched.key);
            risk.behaviors.push(detection.behavior.as_str().to_owned());
            risk.ranks.push(rank_of(detection.risk_level));
            risk.timestamps.push(detection.timestamp);
            risk.detected_at.push(detected_at);
            risk.counts.push(!detection.monitor_only);
            risk.expires_at.push(detection.expires_at(detected_at));
            outcome.count_risk(detection.behavior.as_str(), detection.risk_level);
            risk.details.push(detection.details);
        }
    }

    save(c, account_key, &users, risk).await?;
    outcome.deliveries_queued = queue_changes(c, account, &users, now).await?;
    Ok(outcome)
}

/// Queues the batch's level changes (one per user at most) in the same transaction.
async fn queue_changes(
    c: &ClientWrapper,
    account: AccountId,
    users: &HashMap<&str, Touched<i64>>,
    now: i64,
) -> Result<u64> {
    let keys = crate::outbox::changed_keys(users, now);
    if keys.is_empty() {
        return Ok(0);
    }
    let ids = outbox::user_ids(c, &keys).await?;
    let rows = crate::outbox::changed_users(users, &ids, now);
    outbox::enqueue(c, account, &rows).await
}

/// Stores the batch's event ids; returns those that were new (the others are duplicates).
async fn remember_ids(
    c: &ClientWrapper,
    account_key: i64,
    keyed: &[Option<(i64, [u8; 16])>],
) -> Result<HashSet<(i64, [u8; 16])>> {
    let mut keys: Vec<(i64, [u8; 16])> = keyed.iter().flatten().copied().collect();
    if keys.is_empty() {
        return Ok(HashSet::new());
    }
    keys.sort_unstable();
    keys.dedup();
    let ts: Vec<i64> = keys.iter().map(|k| k.0).collect();
    let hashes: Vec<&[u8]> = keys.iter().map(|k| &k.1[..]).collect();
    let rows = query(
        c,
        "INSERT INTO event_ids (account_key, ts, id_hash)
         SELECT $1, v.ts, v.h FROM unnest($2::bigint[], $3::bytea[]) AS v(ts, h)
         ON CONFLICT DO NOTHING RETURNING ts, id_hash",
        &[&account_key, &ts, &hashes],
    )
    .await?;
    let mut fresh = HashSet::with_capacity(rows.len());
    for row in &rows {
        let hash: &[u8] = row.get(1);
        let hash = <[u8; 16]>::try_from(hash)
            .map_err(|_| StoreError::Backend("stored event id hash has the wrong length".into()))?;
        fresh.insert((row.get::<_, i64>(0), hash));
    }
    Ok(fresh)
}

/// Creates the batch's missing users, then locks and loads all of them.
async fn load_users<'e>(
    c: &ClientWrapper,
    account_key: i64,
    firsts: &[&'e UserRef],
) -> Result<HashMap<&'e str, Touched<i64>>> {
    let mut emails: Vec<&str> = firsts.iter().map(|u| u.email.as_str()).collect();
    emails.sort_unstable();
    let existing: HashSet<String> = query(
        c,
        "SELECT email FROM users WHERE account_key = $1 AND email = ANY($2::text[])",
        &[&account_key, &emails],
    )
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect();

    // A user id is kept when the client gives one that is free: in the batch (first come,
    // first served, as SQLite creates users in event order) and in the account (the insert
    // skips a taken one, and the next round gives that user a fresh id).
    let mut claimed = HashSet::new();
    let mut new_users: Vec<NewUser<'e>> = firsts
        .iter()
        .filter(|u| !existing.contains(&u.email))
        .map(|u| NewUser {
            user: u,
            id: match u.id {
                Some(id) if claimed.insert(id) => id,
                _ => Uuid::new_v4(),
            },
        })
        .collect();

    let mut loaded = HashMap::with_capacity(firsts.len());
    let mut wanted: Vec<&str> = emails;
    for round in 0..CREATE_ROUNDS {
        insert_users(c, account_key, &mut new_users).await?;
        lock_and_load(c, account_key, &wanted, &mut loaded).await?;
        // Emails still missing: their requested id belongs to another email.
        new_users.retain(|n| !loaded.contains_key(n.user.email.as_str()));
        if new_users.is_empty() {
            return Ok(loaded);
        }
        tracing::debug!(
            round,
            users = new_users.len(),
            "requested user ids taken; using fresh ids"
        );
        for n in &mut new_users {
            n.id = Uuid::new_v4();
        }
        wanted = new_users.iter().map(|n| n.user.email.as_str()).collect();
        wanted.sort_unstable();
    }
    Err(StoreError::Backend("could not create the batch's users".into()).into())
}

struct NewUser<'e> {
    user: &'e UserRef,
    id: Uuid,
}

async fn insert_users(c: &ClientWrapper, account_key: i64, new: &mut [NewUser<'_>]) -> Result<()> {
    if new.is_empty() {
        return Ok(());
    }
    new.sort_unstable_by(|a, b| a.user.email.cmp(&b.user.email));
    let ids: Vec<String> = new.iter().map(|n| n.id.to_string()).collect();
    let emails: Vec<&str> = new.iter().map(|n| n.user.email.as_str()).collect();
    let names: Vec<String> = new
        .iter()
        .map(|n| {
            n.user
                .name
                .clone()
                .unwrap_or_else(|| default_name(&n.user.email))
        })
        .collect();
    query(
        c,
        "INSERT INTO users (account_key, user_id, email, name)
         SELECT $1, v.i, v.e, v.n
         FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS v(i, e, n, o)
         ORDER BY v.o
         ON CONFLICT DO NOTHING",
        &[&account_key, &ids, &emails, &names],
    )
    .await?;
    Ok(())
}

/// Locks the users (sorted emails) and then reads them with their state. Both statements go in
/// one round trip: PostgreSQL runs them in order, and the read's snapshot is taken after the
/// locks are held.
async fn lock_and_load<'e>(
    c: &ClientWrapper,
    account_key: i64,
    emails: &[&'e str],
    into: &mut HashMap<&'e str, Touched<i64>>,
) -> Result<()> {
    let (lock, load) = tokio::try_join!(
        c.prepare_cached(
            "SELECT key FROM users WHERE account_key = $1 AND email = ANY($2::text[])
             ORDER BY email FOR UPDATE"
        ),
        c.prepare_cached(
            "SELECT u.email, u.key, s.state, u.name, u.last_reset_at, u.risk_rank,
                    u.risk_event_count, u.last_risk_event_at
             FROM users u LEFT JOIN user_states s ON s.user_key = u.key
             WHERE u.account_key = $1 AND u.email = ANY($2::text[])"
        ),
    )?;
    let params: &[&(dyn ToSql + Sync)] = &[&account_key, &emails];
    // Sent together; `try_join` polls (and so sends) them in this order.
    let (_, rows) = tokio::try_join!(c.execute(&lock, params), c.query(&load, params))?;
    let batch: HashSet<&'e str> = emails.iter().copied().collect();
    for row in &rows {
        let Some(&email) = batch.get(row.get::<_, &str>(0)) else {
            continue;
        };
        let user_key: i64 = row.get(1);
        let user = ScoringUser {
            state: decode_state(user_key, row.get(2)),
            name: row.get(3),
            last_reset_at: row.get(4),
            score: UserScore {
                level: level_of(row.get(5)),
                event_count: row.get(6),
                last_event_at: row.get(7),
            },
        };
        into.insert(email, Touched::new(user_key, user));
    }
    Ok(())
}

/// Risk events detected in the batch, as the columns of one `UNNEST` insert.
#[derive(Default)]
struct RiskRows {
    ids: Vec<String>,
    user_keys: Vec<i64>,
    behaviors: Vec<String>,
    ranks: Vec<i64>,
    timestamps: Vec<i64>,
    detected_at: Vec<i64>,
    details: Vec<serde_json::Value>,
    counts: Vec<bool>,
    expires_at: Vec<Option<i64>>,
}

const SAVE_STATES: &str = "INSERT INTO user_states (user_key, state)
     SELECT v.k, v.s FROM unnest($1::bigint[], $2::bytea[]) AS v(k, s)
     ON CONFLICT (user_key) DO UPDATE SET state = excluded.state";
const SAVE_USERS: &str = "UPDATE users AS u SET name = v.name, risk_rank = v.rank,
       risk_event_count = v.cnt, last_risk_event_at = v.last
     FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[])
       AS v(key, name, rank, cnt, last)
     WHERE u.key = v.key";
const SAVE_RISK: &str = "INSERT INTO risk_events
       (id, account_key, user_key, behavior_id, risk_rank, ts, detected_at, details, counts, expires_at)
     SELECT v.id, $1, v.u, v.b, v.r, v.ts, v.d, v.x, v.c, v.e
     FROM unnest($2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[],
                 $8::jsonb[], $9::bool[], $10::bigint[]) WITH ORDINALITY AS v(id, u, b, r, ts, d, x, c, e, n)
     ORDER BY v.n";
/// Each user's earliest new expiry (spec 6.1), kept on the row for the sweeper.
const SAVE_EXPIRIES: &str = "UPDATE users AS u
       SET next_expiry_at = LEAST(COALESCE(u.next_expiry_at, v.e), v.e)
     FROM (SELECT k, min(e) AS e FROM unnest($1::bigint[], $2::bigint[]) AS t(k, e)
           WHERE e IS NOT NULL GROUP BY k) AS v
     WHERE u.key = v.k";
pub(super) const ADJUST_SCORED: &str = "INSERT INTO account_stats (account_key, scored_users)
     VALUES ($1, $2)
     ON CONFLICT (account_key) DO UPDATE
       SET scored_users = greatest(0, account_stats.scored_users + excluded.scored_users)";

/// Writes back what detection changed: one statement per table, all in one round trip.
async fn save(
    c: &ClientWrapper,
    account_key: i64,
    users: &HashMap<&str, Touched<i64>>,
    risk: RiskRows,
) -> Result<()> {
    let mut state_keys = Vec::new();
    let mut states = Vec::new();
    let mut row_keys = Vec::new();
    let mut names = Vec::new();
    let mut ranks = Vec::new();
    let mut counts = Vec::new();
    let mut lasts = Vec::new();
    let mut newly_scored = 0i64;
    let mut dirty: Vec<&Touched<i64>> = users
        .values()
        .filter(|u| u.state_dirty || u.row_dirty)
        .collect();
    // Key order: rows are visited the same way by every writer.
    dirty.sort_unstable_by_key(|u| u.key);
    for user in dirty {
        if user.state_dirty {
            state_keys.push(user.key);
            states.push(user.user.state.encode());
        }
        if user.row_dirty {
            row_keys.push(user.key);
            names.push(user.user.name.as_str());
            ranks.push(rank_of_score(&user.user.score));
            counts.push(user.user.score.event_count);
            lasts.push(user.user.score.last_event_at);
            if user.newly_scored() {
                newly_scored += 1;
            }
        }
    }
    let (save_states, save_users, save_risk, adjust) = tokio::try_join!(
        c.prepare_cached(SAVE_STATES),
        c.prepare_cached(SAVE_USERS),
        c.prepare_cached(SAVE_RISK),
        c.prepare_cached(ADJUST_SCORED),
    )?;
    let states_done = async {
        if state_keys.is_empty() {
            return Ok(0);
        }
        c.execute(&save_states, &[&state_keys, &states]).await
    };
    let users_done = async {
        if row_keys.is_empty() {
            return Ok(0);
        }
        c.execute(&save_users, &[&row_keys, &names, &ranks, &counts, &lasts])
            .await
    };
    let risk_done = async {
        if risk.ids.is_empty() {
            return Ok(0);
        }
        c.execute(
            &save_risk,
            &[
                &account_key,
                &risk.ids,
                &risk.user_keys,
                &risk.behaviors,
                &risk.ranks,
                &risk.timestamps,
                &risk.detected_at,
                &risk.details,
                &risk.counts,
                &risk.expires_at,
            ],
        )
        .await?;
        if risk.expires_at.iter().any(Option::is_some) {
            c.execute(SAVE_EXPIRIES, &[&risk.user_keys, &risk.expires_at])
                .await?;
        }
        Ok(0)
    };
    let adjust_done = async {
        if newly_scored == 0 {
            return Ok(0);
        }
        c.execute(&adjust, &[&account_key, &newly_scored]).await
    };
    tokio::try_join!(states_done, users_done, risk_done, adjust_done)?;
    Ok(())
}
