//! The dashboard's store (issue 14): the counters the overview reads, filtered user lists, and
//! sign-in sessions. Every counter check also compares the counter tables with a `GROUP BY` of
//! the rows they count, read behind the store's back.

use crate::{Harness, at, event, signal, update};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;
use ztrisk_core::credentials::SecretHash;
use ztrisk_core::events::Event;
use ztrisk_core::{AccountId, RiskLevel};
use ztrisk_store::dump::{self, DumpChunk};
use ztrisk_store::model::{
    DailyRisk, DashboardSession, Direction, LevelCounts, Paging, RiskOverview, SessionCredential,
    SummaryOrder, SummaryQuery, UserFilter,
};
use ztrisk_store::prelude::*;
use ztrisk_store::{Store, StoreError};

type R = Result<(), StoreError>;

const DAY_MS: i64 = 86_400_000;
/// 2026-01-01T00:00:00Z, what `at(0)` is.
const BASE_MS: i64 = 1_767_225_600_000;
/// 2100-01-01: every expiry is due by then.
const FAR_FUTURE: i64 = 4_102_444_800_000;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_else(|| panic!("bad date"))
}

fn counts(low: u64, medium: u64, high: u64) -> LevelCounts {
    LevelCounts { low, medium, high }
}

fn day(date: NaiveDate, counts: LevelCounts) -> DailyRisk {
    DailyRisk { day: date, counts }
}

/// Every day there is.
fn all_days() -> NaiveDate {
    date(1970, 1, 1)
}

/// The behaviors the tests fire, one per kind of risk event.
async fn dashboard_account(store: &dyn Store, name: &str) -> Result<AccountId, StoreError> {
    let a = store.create_account(name, &Actor::Cli).await?.id;
    store
        .update_behaviors(
            a,
            update(json!({"behaviors": {
                "low_b": {"enabled": true, "risk_level": "low"},
                "med_b": {"enabled": true, "risk_level": "medium"},
                "high_b": {"enabled": true, "risk_level": "high"},
                "mon_b": {"enabled": true, "risk_level": "high",
                          "settings": {"monitor_only": true}},
                "exp_b": {"enabled": true, "risk_level": "medium",
                          "settings": {"expire_after_days": 1}},
            }})),
            &Actor::Cli,
        )
        .await?;
    Ok(a)
}

async fn ingest(store: &dyn Store, account: AccountId, events: &[(&str, i64, &str)]) -> R {
    let events = events
        .iter()
        .map(|(email, seconds, behavior)| signal(email, *seconds, behavior, None))
        .collect();
    store.ingest(account, events, &Actor::Cli).await?;
    Ok(())
}

/// A scored user's id.
async fn user_id(store: &dyn Store, account: AccountId, email: &str) -> Uuid {
    let users = store
        .summary(account, SummaryQuery::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .items;
    users
        .into_iter()
        .find(|u| u.email == email)
        .map(|u| u.user_id)
        .unwrap_or_else(|| panic!("{email} is not scored"))
}

/// A behavior signal for a user with a known id.
fn signal_as(email: &str, id: Uuid, seconds: i64, behavior: &str) -> Event {
    event(json!({
        "type": "behavior", "timestamp": at(seconds),
        "user": {"email": email, "id": id.to_string()}, "behavior": behavior
    }))
}

// ---- looking behind the store's back -----------------------------------------------------

/// Integer rows of a query, on either backend (`sqlite` and `postgres` spell it).
async fn ints(h: &Harness, sqlite: &str, postgres: &str) -> Vec<Vec<i64>> {
    match h {
        Harness::Sqlite(dir) => {
            let conn = rusqlite::Connection::open(dir.path().join("store.db"))
                .unwrap_or_else(|e| panic!("open: {e}"));
            let mut stmt = conn
                .prepare(sqlite)
                .unwrap_or_else(|e| panic!("{sqlite}: {e}"));
            let width = stmt.column_count();
            stmt.query_map([], |r| (0..width).map(|i| r.get::<_, i64>(i)).collect())
                .and_then(|rows| rows.collect())
                .unwrap_or_else(|e| panic!("{sqlite}: {e}"))
        }
        Harness::Postgres(schema) => {
            let (client, conn) = tokio_postgres::connect(schema.url(), tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("connect: {e}"));
            tokio::spawn(conn);
            let rows = client
                .query(postgres, &[])
                .await
                .unwrap_or_else(|e| panic!("{postgres}: {e}"));
            rows.iter()
                .map(|r| (0..r.len()).map(|i| r.get::<_, i64>(i)).collect())
                .collect()
        }
    }
}

/// The account behind each account key.
async fn account_keys(store: &dyn Store, h: &Harness) -> BTreeMap<i64, AccountId> {
    let rows = ints(
        h,
        "SELECT rowid FROM accounts ORDER BY id",
        "SELECT key FROM accounts ORDER BY id",
    )
    .await;
    let mut accounts = store
        .list_accounts()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    accounts.sort_by_key(|a| a.id.to_string());
    rows.iter()
        .map(|r| r[0])
        .zip(accounts.into_iter().map(|a| a.id))
        .collect()
}

/// Asserts that `level_counts` and `risk_daily` hold exactly what a `GROUP BY` of the users and
/// risk events they count gives (days computed here, independently of the triggers), and that
/// each account's overview says the same.
pub async fn counters_match_rows(store: &dyn Store, h: &Harness) {
    let kept = ints(
        h,
        "SELECT account_key, risk_rank, users FROM level_counts WHERE users <> 0 ORDER BY 1, 2",
        "SELECT account_key, risk_rank, users FROM level_counts WHERE users <> 0 ORDER BY 1, 2",
    )
    .await;
    let counted = ints(
        h,
        "SELECT account_key, risk_rank, count(*) FROM users WHERE risk_event_count > 0
         GROUP BY 1, 2 ORDER BY 1, 2",
        "SELECT account_key, risk_rank, count(*) FROM users WHERE risk_event_count > 0
         GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .await;
    assert_eq!(kept, counted, "level_counts against users");

    let kept = ints(
        h,
        "SELECT account_key, day, risk_rank, events FROM risk_daily WHERE events <> 0
         ORDER BY 1, 2, 3",
        "SELECT account_key, day, risk_rank, events FROM risk_daily WHERE events <> 0
         ORDER BY 1, 2, 3",
    )
    .await;
    let events = ints(
        h,
        "SELECT account_key, ts, risk_rank FROM risk_events WHERE counts = 1",
        "SELECT account_key, ts, risk_rank FROM risk_events WHERE counts",
    )
    .await;
    let mut by_day: BTreeMap<(i64, i64, i64), i64> = BTreeMap::new();
    for e in &events {
        *by_day
            .entry((e[0], e[1].div_euclid(DAY_MS), e[2]))
            .or_default() += 1;
    }
    let counted: Vec<Vec<i64>> = by_day
        .into_iter()
        .map(|((a, d, r), n)| vec![a, d, r, n])
        .collect();
    assert_eq!(kept, counted, "risk_daily against risk_events");

    // What the API reads is the same.
    let levels = kept_levels(h).await;
    for (key, account) in account_keys(store, h).await {
        let overview = store
            .risk_overview(account, all_days())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut users = LevelCounts::default();
        for row in kept_users(&levels, key) {
            users = add(users, row.0, row.1);
        }
        assert_eq!(overview.users, users, "users of account {key}");
        let mut daily: BTreeMap<i64, LevelCounts> = BTreeMap::new();
        for row in counted.iter().filter(|r| r[0] == key) {
            let entry = daily.entry(row[1]).or_default();
            *entry = add(*entry, row[2], row[3]);
        }
        let expected: Vec<DailyRisk> = daily
            .into_iter()
            .map(|(d, c)| day(all_days() + TimeDelta::days(d), c))
            .collect();
        assert_eq!(overview.daily, expected, "daily of account {key}");
        let summary = store
            .summary(account, SummaryQuery::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            overview.users.low + overview.users.medium + overview.users.high,
            summary.items.len() as u64,
            "the overview counts the summary's users"
        );
    }
}

async fn kept_levels(h: &Harness) -> Vec<Vec<i64>> {
    ints(
        h,
        "SELECT account_key, risk_rank, users FROM level_counts",
        "SELECT account_key, risk_rank, users FROM level_counts",
    )
    .await
}

fn kept_users(rows: &[Vec<i64>], key: i64) -> Vec<(i64, i64)> {
    rows.iter()
        .filter(|r| r[0] == key)
        .map(|r| (r[1], r[2]))
        .collect()
}

fn add(mut c: LevelCounts, rank: i64, n: i64) -> LevelCounts {
    let n = u64::try_from(n).unwrap_or_else(|_| panic!("negative count {n}"));
    match rank {
        1 => c.low += n,
        2 => c.medium += n,
        3 => c.high += n,
        _ => {}
    }
    c
}

// ---- the overview -------------------------------------------------------------------------

pub async fn overview_counters_follow_every_change(h: &Harness) -> R {
    let store = h.open().await;
    let a = dashboard_account(&*store, "a").await?;
    let b = dashboard_account(&*store, "b").await?;
    let (jan1, jan2, jan3) = (date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3));
    assert_eq!(
        store.risk_overview(a, all_days()).await?,
        RiskOverview::default()
    );
    assert_eq!(
        store.risk_overview(AccountId::random(), all_days()).await?,
        RiskOverview::default(),
        "an unknown account has nothing"
    );

    // Users become scored; events fall on the UTC day of their time; monitor-only events count
    // nowhere; the other account's are its own.
    let u3 = Uuid::new_v4();
    ingest(
        &*store,
        a,
        &[
            ("u1@x.io", 86_399, "low_b"), // 2026-01-01T23:59:59Z
            ("u2@x.io", 86_400, "med_b"), // 2026-01-02T00:00:00Z
            ("u4@x.io", 90_000, "exp_b"),
        ],
    )
    .await?;
    let monitored = vec![signal_as("u3@x.io", u3, 100, "mon_b")];
    store.ingest(a, monitored, &Actor::Cli).await?;
    ingest(&*store, b, &[("u1@x.io", 100, "high_b")]).await?;
    let overview = store.risk_overview(a, all_days()).await?;
    assert_eq!(overview.users, counts(1, 2, 0));
    assert_eq!(
        overview.daily,
        vec![day(jan1, counts(1, 0, 0)), day(jan2, counts(0, 2, 0))]
    );
    assert_eq!(
        store.risk_overview(a, jan2).await?.daily,
        vec![day(jan2, counts(0, 2, 0))],
        "only days >= since"
    );
    assert_eq!(store.risk_overview(a, jan3).await?.daily, vec![]);
    assert_eq!(
        store.risk_overview(b, all_days()).await?,
        RiskOverview {
            users: counts(0, 0, 1),
            daily: vec![day(jan1, counts(0, 0, 1))]
        }
    );
    counters_match_rows(&*store, h).await;

    // A scored user's level rises: one user moves from low to high.
    ingest(&*store, a, &[("u1@x.io", 2 * 86_400 + 5, "high_b")]).await?;
    let overview = store.risk_overview(a, all_days()).await?;
    assert_eq!(overview.users, counts(0, 2, 1));
    assert_eq!(overview.daily.last(), Some(&day(jan3, counts(0, 0, 1))));
    // More events at the same level change no user count.
    ingest(&*store, a, &[("u2@x.io", 2 * 86_400 + 6, "low_b")]).await?;
    let overview = store.risk_overview(a, all_days()).await?;
    assert_eq!(overview.users, counts(0, 2, 1));
    assert_eq!(overview.daily.last(), Some(&day(jan3, counts(1, 0, 1))));

    // A reset takes the user out; the events stay where they happened.
    let u2 = user_id(&*store, a, "u2@x.io").await;
    let daily_before = store.risk_overview(a, all_days()).await?.daily;
    assert!(store.reset_user(a, u2, &Actor::Cli).await?);
    let overview = store.risk_overview(a, all_days()).await?;
    assert_eq!(overview.users, counts(0, 1, 1));
    assert_eq!(overview.daily, daily_before);
    counters_match_rows(&*store, h).await;

    // Confirmed compromised: an unscored user (only monitor-only events) goes to high, and
    // the confirmation is a risk event of today.
    let before = Utc::now().date_naive();
    assert!(
        store
            .confirm_compromised(a, u3, json!({"reason": "phished"}), &Actor::Cli)
            .await?
    );
    let after = Utc::now().date_naive();
    let overview = store.risk_overview(a, all_days()).await?;
    assert_eq!(overview.users, counts(0, 1, 2));
    let today = overview
        .daily
        .iter()
        .find(|d| d.day == before || d.day == after)
        .unwrap_or_else(|| panic!("no day for the confirmation: {overview:?}"));
    assert_eq!(today.counts, counts(0, 0, 1));
    // Confirming a user already high changes no user count.
    assert!(
        store
            .confirm_compromised(a, u3, json!({"again": true}), &Actor::Cli)
            .await?
    );
    assert_eq!(
        store.risk_overview(a, all_days()).await?.users,
        counts(0, 1, 2)
    );
    counters_match_rows(&*store, h).await;

    // Expiry: u4's only event expires, so u4 is unscored; the event still happened.
    let daily_before = store.risk_overview(a, all_days()).await?.daily;
    let swept = store.expire_risk(FAR_FUTURE, 100).await?;
    assert_eq!(swept.level_changes, 1, "{swept:?}");
    let overview = store.risk_overview(a, all_days()).await?;
    assert_eq!(overview.users, counts(0, 0, 2));
    assert_eq!(overview.daily, daily_before);
    // An expiring event above the user's other ones: the level drops back when it expires.
    ingest(
        &*store,
        a,
        &[("u5@x.io", 10, "low_b"), ("u5@x.io", 20, "exp_b")],
    )
    .await?;
    assert_eq!(
        store.risk_overview(a, all_days()).await?.users,
        counts(0, 1, 2)
    );
    store.expire_risk(FAR_FUTURE, 100).await?;
    assert_eq!(
        store.risk_overview(a, all_days()).await?.users,
        counts(1, 0, 2)
    );
    // Monitor-only events of a scored user count neither as users nor as events.
    let daily_before = store.risk_overview(a, all_days()).await?.daily;
    ingest(&*store, a, &[("u5@x.io", 30, "mon_b")]).await?;
    let overview = store.risk_overview(a, all_days()).await?;
    assert_eq!(overview.users, counts(1, 0, 2));
    assert_eq!(overview.daily, daily_before);

    // The other account never moved; the metrics over all accounts add both up.
    assert_eq!(
        store.risk_overview(b, all_days()).await?.users,
        counts(0, 0, 1)
    );
    let mut by_level = store.users_by_level().await?;
    by_level.sort();
    assert_eq!(by_level, vec![(RiskLevel::Low, 1), (RiskLevel::High, 3)]);
    counters_match_rows(&*store, h).await;
    Ok(())
}

/// The dashboard marks expired events: every read of a user's risk events says when each stops
/// counting.
pub async fn risk_events_carry_their_expiry(h: &Harness) -> R {
    let store = h.open().await;
    let a = dashboard_account(&*store, "a").await?;
    let before = Utc::now();
    ingest(
        &*store,
        a,
        &[("u@x.io", 0, "low_b"), ("u@x.io", 10, "exp_b")],
    )
    .await?;
    let after = Utc::now();
    let u = user_id(&*store, a, "u@x.io").await;
    let expiries = |events: &[ztrisk_store::model::RiskEventRecord]| {
        let mut found: Vec<(String, Option<DateTime<Utc>>)> = events
            .iter()
            .map(|e| (e.behavior_id.clone(), e.expires_at))
            .collect();
        found.sort();
        found
    };
    let read = store
        .user_risk(a, u, Default::default())
        .await?
        .unwrap_or_else(|| panic!("no user"));
    let found = expiries(&read.events.items);
    assert_eq!(found.len(), 2);
    let (exp, low) = (&found[0], &found[1]);
    assert_eq!((exp.0.as_str(), low.0.as_str()), ("exp_b", "low_b"));
    assert_eq!(low.1, None, "never expires");
    // One day after its detection, which happened during the ingest (ms precision).
    let at = exp.1.unwrap_or_else(|| panic!("no expiry"));
    let day = TimeDelta::days(1);
    let ms = TimeDelta::milliseconds(1);
    assert!(at >= before + day - ms && at <= after + day + ms, "{at}");

    let (sink, mut chunks) = tokio::sync::mpsc::channel(8);
    let streamed = {
        let store = store.clone();
        tokio::spawn(async move { store.stream_user_risk(a, u, Default::default(), sink).await })
    };
    let mut events = Vec::new();
    while let Some(chunk) = chunks.recv().await {
        if let ztrisk_store::model::UserRiskChunk::Events(mut more) = chunk {
            events.append(&mut more);
        }
    }
    streamed.await.unwrap_or_else(|e| panic!("{e}"))?;
    assert_eq!(expiries(&events), found);
    Ok(())
}

/// A small deterministic generator (xorshift), so a failure repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub async fn counters_match_rows_after_random_changes(h: &Harness) -> R {
    let store = h.open().await;
    let accounts = [
        dashboard_account(&*store, "a").await?,
        dashboard_account(&*store, "b").await?,
    ];
    let behaviors = ["low_b", "med_b", "high_b", "mon_b", "exp_b", "unknown_b"];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for step in 0..60 {
        let account = accounts[rng.below(2) as usize];
        match rng.below(10) {
            0 | 1 => {
                // Reset someone scored.
                let users = store.summary(account, SummaryQuery::default()).await?.items;
                if !users.is_empty() {
                    let user = &users[rng.below(users.len() as u64) as usize];
                    store.reset_user(account, user.user_id, &Actor::Cli).await?;
                }
            }
            2 => {
                let users = store.summary(account, SummaryQuery::default()).await?.items;
                if !users.is_empty() {
                    let user = &users[rng.below(users.len() as u64) as usize];
                    let evidence = json!({"step": step});
                    store
                        .confirm_compromised(account, user.user_id, evidence, &Actor::Cli)
                        .await?;
                }
            }
            3 => {
                store
                    .expire_risk(FAR_FUTURE, 1 + rng.below(4) as usize)
                    .await?;
            }
            _ => {
                // A batch over a few users, days and levels (some on the day before the base
                // day), with duplicates that repeat suppression drops.
                let n = 1 + rng.below(12);
                let mut events = Vec::new();
                for _ in 0..n {
                    let user = format!("u{}@x.io", rng.below(8));
                    let seconds = rng.below(6 * 86_400) as i64 - 3_600;
                    let behavior = behaviors[rng.below(behaviors.len() as u64) as usize];
                    events.push(signal(&user, seconds, behavior, None));
                }
                store.ingest(account, events, &Actor::Cli).await?;
            }
        }
        if step % 6 == 5 {
            counters_match_rows(&*store, h).await;
        }
    }
    counters_match_rows(&*store, h).await;
    Ok(())
}

/// Two replicas write to one account at once: ingest batches that move users between levels on
/// both, while resets, confirmations and expiry sweeps run. Every write succeeds (no deadlock
/// on the counter rows outlives the retries) and the counters end up exact.
pub async fn replicas_keep_the_counters_under_concurrent_writes(h: &Harness) -> R {
    let one = h.open().await;
    let two = h.open().await;
    let a = dashboard_account(&*one, "a").await?;
    let behaviors = ["low_b", "med_b", "high_b", "exp_b", "mon_b"];
    let mut tasks = Vec::new();
    for (seed, store) in [(1u64, one.clone()), (2, two.clone())] {
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ seed);
            for batch in 0..25i64 {
                let events = (0..20)
                    .map(|i| {
                        let user = format!("u{}@x.io", rng.below(30));
                        let behavior = behaviors[rng.below(behaviors.len() as u64) as usize];
                        signal(&user, batch * 7_200 + i, behavior, None)
                    })
                    .collect();
                store.ingest(a, events, &Actor::Cli).await?;
            }
            Ok::<_, StoreError>(())
        }));
    }
    for (seed, store) in [(3u64, one.clone()), (4, two.clone())] {
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed);
            for round in 0..15 {
                let users = store.summary(a, SummaryQuery::default()).await?.items;
                if let Some(user) = users.get(rng.below(users.len().max(1) as u64) as usize) {
                    if round % 2 == 0 {
                        store.reset_user(a, user.user_id, &Actor::Cli).await?;
                    } else {
                        let evidence = json!({"round": round});
                        store
                            .confirm_compromised(a, user.user_id, evidence, &Actor::Cli)
                            .await?;
                    }
                }
                store.expire_risk(FAR_FUTURE, 5).await?;
            }
            Ok::<_, StoreError>(())
        }));
    }
    for task in tasks {
        task.await.unwrap_or_else(|e| panic!("task: {e}"))?;
    }
    counters_match_rows(&*one, h).await;
    Ok(())
}

// ---- export and import --------------------------------------------------------------------

async fn export_all(store: &Arc<dyn Store>) -> Result<Vec<DumpChunk>, StoreError> {
    let (sink, mut chunks) = tokio::sync::mpsc::channel::<DumpChunk>(64);
    let export = {
        let store = store.clone();
        tokio::spawn(async move { store.export(sink).await })
    };
    let mut all = Vec::new();
    while let Some(chunk) = chunks.recv().await {
        all.push(chunk);
    }
    export
        .await
        .unwrap_or_else(|e| panic!("export task: {e}"))?;
    Ok(all)
}

pub async fn an_import_rebuilds_the_counters(h: &Harness) -> R {
    let store = h.open().await;
    let a = dashboard_account(&*store, "a").await?;
    let b = dashboard_account(&*store, "b").await?;
    ingest(
        &*store,
        a,
        &[
            ("u1@x.io", 86_399, "low_b"),
            ("u1@x.io", 86_400 * 3, "high_b"),
            ("u2@x.io", 86_400, "med_b"),
            ("u3@x.io", 100, "mon_b"),
            ("u4@x.io", 90_000, "exp_b"),
            ("u5@x.io", 7_200, "low_b"),
        ],
    )
    .await?;
    ingest(&*store, b, &[("v@x.io", -10, "high_b")]).await?;
    let u5 = user_id(&*store, a, "u5@x.io").await;
    store.reset_user(a, u5, &Actor::Cli).await?;
    store.expire_risk(FAR_FUTURE, 100).await?;
    let session = DashboardSession {
        id_hash: SecretHash::of("exported?"),
        credential: SessionCredential::Token {
            secret_hash: SecretHash::of("t"),
        },
        created_at: Utc::now(),
        expires_at: Utc::now() + TimeDelta::hours(1),
    };
    store.create_session(session).await?;
    counters_match_rows(&*store, h).await;

    // Derived and ephemeral tables are not in the dump.
    for table in ["level_counts", "risk_daily", "dashboard_sessions"] {
        assert!(dump::table(table).is_none(), "{table} is dumped");
    }
    let chunks = export_all(&store).await?;
    let overviews = [
        store.risk_overview(a, all_days()).await?,
        store.risk_overview(b, all_days()).await?,
    ];
    assert_eq!(overviews[0].users, counts(0, 1, 1));
    assert_eq!(
        overviews[1].daily,
        vec![day(date(2025, 12, 31), counts(0, 0, 1))]
    );
    let mut by_level = store.users_by_level().await?;
    by_level.sort();

    // Into a fresh store of each backend (this one's, and the other).
    let mut targets = vec![Harness::sqlite()];
    if let Some(pg) = Harness::postgres("an_import_rebuilds_the_counters_target").await {
        targets.push(pg);
    }
    for target in targets {
        let fresh = target.open().await;
        for chunk in &chunks {
            fresh.import(chunk.clone()).await?;
        }
        fresh.import_finished().await?;
        assert_eq!(
            [
                fresh.risk_overview(a, all_days()).await?,
                fresh.risk_overview(b, all_days()).await?,
            ],
            overviews,
            "{} from {}",
            target.backend(),
            h.backend()
        );
        let mut imported = fresh.users_by_level().await?;
        imported.sort();
        assert_eq!(imported, by_level);
        assert!(
            fresh
                .session(&SecretHash::of("exported?"), Utc::now())
                .await?
                .is_none()
        );
        counters_match_rows(&*fresh, &target).await;
        // And they keep following changes after the import.
        ingest(&*fresh, a, &[("u2@x.io", 86_400 * 4, "high_b")]).await?;
        assert_eq!(
            fresh.risk_overview(a, all_days()).await?.users,
            counts(0, 0, 2)
        );
        counters_match_rows(&*fresh, &target).await;
        drop(fresh);
        target.finish().await;
    }
    Ok(())
}

// ---- finding users ------------------------------------------------------------------------

pub async fn find_users_filters_orders_and_pages(h: &Harness) -> R {
    let store = h.open().await;
    let a = dashboard_account(&*store, "a").await?;
    let b = dashboard_account(&*store, "b").await?;
    ingest(
        &*store,
        a,
        &[
            ("a%b@x.io", 100, "med_b"),     // medium, 1, t=100
            ("axb@x.io", 200, "low_b"),     // low, 2, t=4000
            ("axb@x.io", 4_000, "low_b"),   //
            ("a_b@x.io", 300, "high_b"),    // high, 1, t=300
            ("a\\b@x.io", 400, "low_b"),    // low, 1, t=400
            ("ab@x.io", 500, "high_b"),     // high, 2, t=600
            ("ab@x.io", 600, "med_b"),      //
            ("bob@x.io", 700, "med_b"),     // medium, 1, t=700
            ("Ana@X.io", 800, "low_b"),     // low, 1, t=800 (stored lowercased)
            ("éa@x.io", 850, "low_b"),      // low, 1, t=850
            ("aun@x.io", 900, "unknown_b"), // never scored
            ("amon@x.io", 900, "mon_b"),    // monitor-only: never scored
        ],
    )
    .await?;
    ingest(&*store, b, &[("a%z@x.io", 100, "high_b")]).await?;

    let page = |page, per_page| Some(Paging { page, per_page });
    let q = |order_by, direction, paging| SummaryQuery {
        paging,
        order_by,
        direction,
    };
    let default = q(SummaryOrder::MaxRiskLevel, Direction::Desc, page(1, 50));
    let filter = |level: Option<RiskLevel>, prefix: Option<&str>| UserFilter {
        level,
        email_prefix: prefix.map(str::to_owned),
    };
    let find = |account: AccountId, filter: UserFilter, query: SummaryQuery| {
        let store = store.clone();
        async move {
            let found = store.find_users(account, filter, query).await?;
            let emails: Vec<String> = found
                .items
                .iter()
                .map(|u| u.email.trim_end_matches("@x.io").to_owned())
                .collect();
            Ok::<_, StoreError>((emails.join(" "), found.total_count))
        }
    };
    let s = |v: &str, n: u64| (v.to_owned(), n);

    // No filter: the summary, paged the same way.
    let all = "ab a_b bob a%b axb éa ana a\\b";
    assert_eq!(find(a, filter(None, None), default).await?, s(all, 8));
    let summary = store.summary(a, default).await?;
    assert_eq!(
        store.find_users(a, UserFilter::default(), default).await?,
        summary
    );
    assert_eq!(
        find(
            a,
            filter(None, None),
            q(SummaryOrder::MaxRiskLevel, Direction::Asc, page(1, 50))
        )
        .await?,
        s("a\\b ana éa axb a%b bob a_b ab", 8)
    );
    assert_eq!(
        find(
            a,
            filter(None, None),
            q(SummaryOrder::MaxRiskLevel, Direction::Desc, page(2, 3))
        )
        .await?,
        s("a%b axb éa", 8)
    );
    assert_eq!(
        find(a, filter(None, Some("")), default).await?,
        s(all, 8),
        "an empty prefix is no filter"
    );

    // A level alone: its users, in each order, counted from the counters.
    assert_eq!(
        find(a, filter(Some(RiskLevel::High), None), default).await?,
        s("ab a_b", 2)
    );
    assert_eq!(
        find(a, filter(Some(RiskLevel::Low), None), default).await?,
        s("axb éa ana a\\b", 4)
    );
    assert_eq!(
        find(
            a,
            filter(Some(RiskLevel::Low), None),
            q(SummaryOrder::Timestamp, Direction::Asc, page(1, 50))
        )
        .await?,
        s("a\\b ana éa axb", 4)
    );
    assert_eq!(
        find(
            a,
            filter(Some(RiskLevel::Low), None),
            q(SummaryOrder::EventCount, Direction::Desc, page(1, 50))
        )
        .await?,
        s("axb éa ana a\\b", 4)
    );
    assert_eq!(
        find(
            a,
            filter(Some(RiskLevel::Medium), None),
            q(SummaryOrder::Timestamp, Direction::Desc, page(2, 1))
        )
        .await?,
        s("a%b", 2)
    );

    // A prefix alone: literal, lowercased, never an unscored user or another account's.
    assert_eq!(
        find(a, filter(None, Some("a")), default).await?,
        s("ab a_b a%b axb ana a\\b", 6)
    );
    assert_eq!(
        find(a, filter(None, Some("A")), default).await?,
        s("ab a_b a%b axb ana a\\b", 6)
    );
    assert_eq!(
        find(a, filter(None, Some("a%")), default).await?,
        s("a%b", 1)
    );
    assert_eq!(
        find(a, filter(None, Some("a_")), default).await?,
        s("a_b", 1)
    );
    assert_eq!(
        find(a, filter(None, Some("a\\")), default).await?,
        s("a\\b", 1)
    );
    assert_eq!(find(a, filter(None, Some("%")), default).await?, s("", 0));
    assert_eq!(find(a, filter(None, Some("É")), default).await?, s("éa", 1));
    assert_eq!(
        find(a, filter(None, Some("b")), default).await?,
        s("bob", 1)
    );
    assert_eq!(find(a, filter(None, Some("au")), default).await?, s("", 0));
    assert_eq!(find(a, filter(None, Some("zzz")), default).await?, s("", 0));
    assert_eq!(
        find(
            a,
            filter(None, Some("a")),
            q(SummaryOrder::EventCount, Direction::Desc, page(1, 2))
        )
        .await?,
        s("axb ab", 6)
    );
    assert_eq!(
        find(
            a,
            filter(None, Some("a")),
            q(SummaryOrder::Timestamp, Direction::Asc, page(2, 2))
        )
        .await?,
        s("a\\b ab", 6)
    );

    // Both.
    assert_eq!(
        find(a, filter(Some(RiskLevel::Low), Some("a")), default).await?,
        s("axb ana a\\b", 3)
    );
    assert_eq!(
        find(
            a,
            filter(Some(RiskLevel::Low), Some("a")),
            q(SummaryOrder::MaxRiskLevel, Direction::Desc, page(2, 2))
        )
        .await?,
        s("a\\b", 3)
    );
    assert_eq!(
        find(a, filter(Some(RiskLevel::Medium), Some("a_")), default).await?,
        s("", 0)
    );

    // Other accounts.
    assert_eq!(
        find(b, filter(None, Some("a")), default).await?,
        s("a%z", 1)
    );
    assert_eq!(
        find(b, filter(Some(RiskLevel::Medium), None), default).await?,
        s("", 0)
    );
    assert_eq!(
        find(AccountId::random(), filter(None, Some("a")), default).await?,
        s("", 0)
    );

    // Without paging, the count is what was found.
    assert_eq!(
        find(
            a,
            filter(None, Some("a")),
            q(SummaryOrder::MaxRiskLevel, Direction::Desc, None)
        )
        .await?,
        s("ab a_b a%b axb ana a\\b", 6)
    );
    // The rows are the summary's.
    let found = store
        .find_users(a, filter(None, Some("ab")), default)
        .await?;
    let ab = summary.items.iter().find(|u| u.email == "ab@x.io").cloned();
    assert_eq!(found.items, ab.into_iter().collect::<Vec<_>>());
    Ok(())
}

// ---- sessions -----------------------------------------------------------------------------

fn at_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_else(|| panic!("time out of range"))
}

pub async fn dashboard_sessions_expire_and_are_deleted(h: &Harness) -> R {
    let store = h.open().await;
    let now = BASE_MS;
    let token = DashboardSession {
        id_hash: SecretHash::of("session-1"),
        credential: SessionCredential::Token {
            secret_hash: SecretHash::of("token secret"),
        },
        created_at: at_ms(now),
        expires_at: at_ms(now + 3_600_000),
    };
    let key = DashboardSession {
        id_hash: SecretHash::of("session-2"),
        credential: SessionCredential::ApiKey {
            email: "admin@example.com".into(),
            key_hash: SecretHash::of("key"),
        },
        created_at: at_ms(now + 1),
        expires_at: at_ms(now + 1_800_000),
    };
    let long = DashboardSession {
        id_hash: SecretHash::of("session-3"),
        expires_at: at_ms(now + 3 * 3_600_000),
        ..token.clone()
    };
    for session in [&token, &key, &long] {
        store.create_session(session.clone()).await?;
    }
    assert!(matches!(
        store.create_session(token.clone()).await,
        Err(StoreError::Conflict(_))
    ));

    assert_eq!(
        store.session(&token.id_hash, at_ms(now)).await?,
        Some(token.clone())
    );
    assert_eq!(
        store.session(&key.id_hash, at_ms(now + 1_799_999)).await?,
        Some(key.clone())
    );
    assert_eq!(
        store.session(&key.id_hash, key.expires_at).await?,
        None,
        "expired at expires_at"
    );
    assert_eq!(
        store
            .session(&SecretHash::of("unknown"), at_ms(now))
            .await?,
        None
    );

    // Signing out: gone at once.
    store.delete_session(&token.id_hash).await?;
    assert_eq!(store.session(&token.id_hash, at_ms(now)).await?, None);
    store.delete_session(&token.id_hash).await?;

    // Pruning deletes what expired by then, and only that.
    assert_eq!(store.prune_sessions(at_ms(now)).await?, 0);
    assert_eq!(store.prune_sessions(at_ms(now + 1_800_000)).await?, 1);
    assert_eq!(store.prune_sessions(at_ms(now + 1_800_000)).await?, 0);
    assert_eq!(
        store.session(&long.id_hash, at_ms(now + 1_800_000)).await?,
        Some(long.clone())
    );
    // The pruned session is gone for any time, its row deleted.
    assert_eq!(
        store.session(&key.id_hash, at_ms(now)).await?,
        None,
        "pruned"
    );
    Ok(())
}
