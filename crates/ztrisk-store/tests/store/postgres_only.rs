//! What only the PostgreSQL backend has: migrations, errors at connect, LISTEN/NOTIFY, and an
//! equivalence check of a large mixed batch against SQLite.

use crate::{Harness, enable, eventually, pg_options, signal, update};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;
use ztrisk_core::events::Event;
use ztrisk_store::model::{SummaryQuery, UserEventsQuery};
use ztrisk_store::prelude::*;
use ztrisk_store::testing::{PgSchema, url_with_search_path};
use ztrisk_store::{PostgresOptions, PostgresStore, SqliteOptions, SqliteStore, Store, StoreError};

async fn schema(test: &str) -> Option<PgSchema> {
    PgSchema::create_or_skip(test).await
}

/// A plain connection to the schema, for looking behind the store's back.
async fn admin(schema: &PgSchema) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(schema.url(), tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("admin connect: {e}"));
    tokio::spawn(conn);
    client
}

async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
    PostgresStore::connect(url, pg_options()).await
}

fn must<T>(r: Result<T, impl std::fmt::Display>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_create_the_schema_once() {
    let Some(schema) = schema("migrations_create_the_schema_once").await else {
        return;
    };
    // Three replicas starting together on an empty schema: one migrates, all start.
    let (x, y, z) = tokio::join!(
        connect(schema.url()),
        connect(schema.url()),
        connect(schema.url())
    );
    let stores = [must(x), must(y), must(z)];
    let db = admin(&schema).await;
    let rows = must(
        db.query(
            "SELECT version, name FROM schema_migrations ORDER BY version",
            &[],
        )
        .await,
    );
    let applied: Vec<(i64, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        applied,
        vec![
            (1, "0001_accounts_and_credentials".to_owned()),
            (2, "0002_behaviors".to_owned()),
            (3, "0003_risk_engine".to_owned()),
            (4, "0004_risk_sharing".to_owned()),
            (5, "0005_detection_controls".to_owned()),
            (6, "0006_ssf_streams".to_owned()),
            (7, "0007_audit_log".to_owned()),
            (8, "0008_dashboard".to_owned())
        ]
    );
    assert_eq!(PostgresStore::schema_version(), 8);
    let report = must(PostgresStore::migrate(schema.url(), &PostgresOptions::default()).await);
    assert_eq!((report.from, report.to), (8, 8));
    // The tables are in the test's schema, not in public.
    let in_schema: i64 = must(
        db.query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1",
            &[&schema.name()],
        )
        .await,
    )
    .get(0);
    assert_eq!(in_schema, 23, "22 tables and schema_migrations");
    drop(stores);
    schema.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_alone_and_check_only_mode() {
    let Some(schema) = schema("migrate_alone_and_check_only_mode").await else {
        return;
    };
    let check_only = PostgresOptions {
        migrate: false,
        ..pg_options()
    };
    let err = PostgresStore::connect(schema.url(), check_only.clone())
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("ztrisk migrate") && err.contains("version 0"),
        "{err}"
    );
    let report = must(PostgresStore::migrate(schema.url(), &PostgresOptions::default()).await);
    assert_eq!((report.from, report.to), (0, 8));
    let store = must(PostgresStore::connect(schema.url(), check_only).await);
    must(store.create_account("a", &Actor::Cli).await);
    drop(store);
    schema.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newer_schemas_are_refused() {
    let Some(schema) = schema("newer_schemas_are_refused").await else {
        return;
    };
    drop(must(connect(schema.url()).await));
    let db = admin(&schema).await;
    must(
        db.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 0)",
            &[],
        )
        .await,
    );
    let err = connect(schema.url()).await.err();
    assert!(
        matches!(
            err,
            Some(StoreError::SchemaTooNew {
                found: 99,
                known: 8
            })
        ),
        "{err:?}"
    );
    let err = PostgresStore::migrate(schema.url(), &PostgresOptions::default())
        .await
        .err();
    assert!(
        matches!(err, Some(StoreError::SchemaTooNew { .. })),
        "{err:?}"
    );
    schema.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_explained() {
    let started = std::time::Instant::now();
    let err = connect("postgres://postgres@127.0.0.1:1/test")
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert!(err.contains("pg_isready -h 127.0.0.1 -p 1"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let err = connect("not a url at all ://")
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("URL"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_database_is_explained() {
    let Some(schema) = schema("a_missing_database_is_explained").await else {
        return;
    };
    let base = schema.base_url();
    let Some((server, _db)) = base.rsplit_once('/') else {
        panic!("unexpected test URL {base}");
    };
    let err = connect(&format!("{server}/ztrisk_no_such_database"))
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("ztrisk_no_such_database") && err.contains("refused the connection"),
        "{err}"
    );
    schema.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generation_ignores_other_schemas() {
    let (Some(mine), Some(theirs)) = (
        schema("generation_ignores_other_schemas").await,
        schema("generation_ignores_other_schemas").await,
    ) else {
        return;
    };
    let store = must(connect(mine.url()).await);
    let other = must(connect(theirs.url()).await);
    let g = store.generation();
    must(other.create_account("b", &Actor::Cli).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.generation(), g);
    // A change made with plain SQL by any other process is seen as soon as it notifies.
    let db = admin(&mine).await;
    must(
        db.batch_execute("SELECT pg_notify('ztrisk_changes', current_schema())")
            .await,
    );
    assert!(eventually(Duration::from_secs(1), || store.generation() != g).await);
    drop((store, other));
    mine.drop_schema().await;
    theirs.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_reconnects_and_caches_are_bypassed_meanwhile() {
    let Some(schema) = schema("the_listener_reconnects").await else {
        return;
    };
    let store = must(connect(schema.url()).await);
    let writer = must(connect(schema.url()).await);
    let pid = store
        .listener_backend_pid()
        .unwrap_or_else(|| panic!("not listening"));
    let db = admin(&schema).await;
    let killed: bool = must(
        db.query_one("SELECT pg_terminate_backend($1)", &[&pid])
            .await,
    )
    .get(0);
    assert!(killed);
    // While it is down, every call gives a new value (caches are bypassed).
    assert!(
        eventually(Duration::from_secs(5), || store
            .listener_backend_pid()
            .is_none())
        .await,
        "the listener did not notice"
    );
    let (a, b) = (store.generation(), store.generation());
    let back = eventually(Duration::from_secs(10), || {
        store.listener_backend_pid().is_some()
    })
    .await;
    assert!(back, "the listener did not come back");
    if store.listener_backend_pid().is_none() {
        assert_ne!(a, b);
    }
    assert_ne!(store.listener_backend_pid(), Some(pid));
    let g = store.generation();
    assert_eq!(g, store.generation(), "stable again once listening");
    assert!(
        g > a.max(b),
        "never goes back to a value handed out while deaf"
    );
    must(writer.create_account("a", &Actor::Cli).await);
    assert!(eventually(Duration::from_secs(1), || store.generation() != g).await);
    drop((store, writer));
    schema.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_and_columns_match_sqlite() {
    let Some(schema) = schema("tables_and_columns_match_sqlite").await else {
        return;
    };
    let dir = must(tempfile::tempdir());
    let path = dir.path().join("t.db");
    drop(must(SqliteStore::open(&path, SqliteOptions::default())));
    let lite = must(rusqlite::Connection::open(&path));
    let mut sqlite: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let tables: Vec<String> = must(
        must(lite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"))
            .query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect()),
    );
    for table in tables {
        let columns: Vec<String> = must(
            must(lite.prepare(&format!("SELECT name FROM pragma_table_info('{table}')")))
                .query_map([], |r| r.get(0))
                .and_then(|rows| rows.collect()),
        );
        sqlite.insert(table, columns);
    }
    drop(must(connect(schema.url()).await));
    let db = admin(&schema).await;
    let rows = must(
        db.query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = $1 ORDER BY table_name, ordinal_position",
            &[&schema.name()],
        )
        .await,
    );
    let mut pg: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in &rows {
        pg.entry(row.get(0)).or_default().push(row.get(1));
    }
    // PostgreSQL's own additions: the migrations table and the account key (SQLite's rowid).
    pg.remove("schema_migrations");
    if let Some(columns) = pg.get_mut("accounts") {
        columns.retain(|c| c != "key");
    }
    assert_eq!(pg, sqlite);
    schema.drop_schema().await;
}

/// A deterministic mixed workload: `n` events over `users` users.
pub fn mixed_events(n: usize, users: usize, seed: u64, t0: i64) -> Vec<Event> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let places = [
        (48.85, 2.35),
        (40.71, -74.0),
        (35.68, 139.69),
        (-33.87, 151.2),
        (51.5, -0.12),
    ];
    (0..n)
        .map(|i| {
            let r = next();
            let email = format!("user{}@example.com", r % users as u64);
            let ts = t0 + i as i64 * 50 + (r >> 40) as i64 % 1000;
            let timestamp = ztrisk_core::events::format_timestamp(ts)
                .unwrap_or_else(|| panic!("time out of range"));
            let id = format!("ev-{seed}-{}", if r % 17 == 0 { i / 2 } else { i });
            let mut v = match (r >> 8) % 6 {
                0 | 1 => json!({"type": "access_login", "success": false}),
                2 => {
                    let (lat, lon) = places[((r >> 16) % 5) as usize];
                    json!({"type": "access_login", "success": true,
                           "location": {"lat": lat, "lon": lon}})
                }
                3 => json!({"type": "dlp_match", "profile": "pii"}),
                4 => json!({"type": "gateway_dns", "query": "x.example", "action": "block",
                            "categories": if r % 3 == 0 { vec!["Malware"] } else { vec!["News"] }}),
                _ => json!({"type": "behavior", "behavior": "custom_x"}),
            };
            v["timestamp"] = json!(timestamp);
            v["user"] = json!({"email": email});
            v["id"] = json!(id);
            crate::event(v)
        })
        .collect()
}

pub async fn enable_everything(store: &dyn Store, account: ztrisk_core::AccountId) {
    must(
        store
            .update_behaviors(
                account,
                update(json!({"behaviors": {
                    "failed_logins": {"enabled": true, "risk_level": "medium",
                                      "settings": {"threshold": 5, "window_seconds": 60}},
                    "high_dlp": {"enabled": true, "risk_level": "medium",
                                 "settings": {"threshold": 3, "window_seconds": 60}},
                    "imp_travel": {"enabled": true, "risk_level": "high"},
                    "suspicious_security_domain": {"enabled": true, "risk_level": "low"},
                    "custom_x": {"enabled": true, "risk_level": "high"},
                }})),
                &Actor::Cli,
            )
            .await,
    );
}

/// The same batches give the same outcomes, summary and per-user risk events on both backends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_mixed_workload_matches_sqlite() {
    let Some(pg) = Harness::postgres("a_large_mixed_workload_matches_sqlite").await else {
        return;
    };
    let lite = Harness::sqlite();
    let mut results = Vec::new();
    for harness in [&lite, &pg] {
        let store = harness.open().await;
        let a = must(store.create_account("a", &Actor::Cli).await).id;
        enable_everything(&*store, a).await;
        let mut outcomes = Vec::new();
        let first = mixed_events(4000, 300, 7, 0);
        // The last batch repeats half of the first (a client retrying) with new events.
        let mut last = first[..2000].to_vec();
        last.extend(mixed_events(2000, 300, 9, 400_000));
        for events in [first, mixed_events(4000, 300, 8, 200_000), last] {
            outcomes.push(must(store.ingest(a, events, &Actor::Cli).await));
        }
        let summary = must(store.summary(a, SummaryQuery::default()).await);
        let mut users = Vec::new();
        for user in &summary.items {
            let risk = must(
                store
                    .user_risk(a, user.user_id, UserEventsQuery::default())
                    .await,
            )
            .unwrap_or_else(|| panic!("user vanished"));
            let events: Vec<_> = risk
                .events
                .items
                .iter()
                .map(|e| {
                    (
                        e.behavior_id.clone(),
                        e.risk_level,
                        e.timestamp,
                        e.details.clone(),
                    )
                })
                .collect();
            users.push((
                user.email.clone(),
                user.event_count,
                user.max_risk_level,
                user.last_event,
                events,
            ));
        }
        results.push((outcomes, users));
    }
    let (lite_result, pg_result) = (&results[0], &results[1]);
    let last = lite_result.0[2].clone();
    assert!(last.duplicates >= 2000 && last.risk_events > 0, "{last:?}");
    assert_eq!(lite_result.0, pg_result.0, "ingest outcomes differ");
    assert_eq!(lite_result.1.len(), pg_result.1.len());
    assert_eq!(lite_result.1, pg_result.1, "summaries differ");
    lite.finish().await;
    pg.finish().await;
}

/// A second URL form: options already present in the URL are kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_options_are_kept() {
    let Some(schema) = schema("url_options_are_kept").await else {
        return;
    };
    let url = url_with_search_path(
        &format!(
            "{}?application_name=ztrisk_test&options=-c%20statement_timeout%3D12345",
            schema.base_url()
        ),
        schema.name(),
    );
    let store = must(connect(&url).await);
    let a = must(store.create_account("a", &Actor::Cli).await).id;
    must(
        store
            .update_behaviors(a, enable(&["custom_x"]), &Actor::Cli)
            .await,
    );
    must(
        store
            .ingest(a, vec![signal("u@x.io", 0, "custom_x", None)], &Actor::Cli)
            .await,
    );
    let db = admin(&schema).await;
    let n: i64 = must(db.query_one("SELECT count(*) FROM users", &[]).await).get(0);
    assert_eq!(n, 1);
    drop(store);
    schema.drop_schema().await;
}

/// Connections of `app` sitting inside a transaction with nothing running: a transaction
/// nobody will finish (its half-done writes would be committed by the next request's COMMIT).
async fn idle_in_transaction(db: &tokio_postgres::Client, app: &str) -> i64 {
    must(
        db.query_one(
            "SELECT count(*) FROM pg_stat_activity
             WHERE application_name = $1 AND state LIKE 'idle in transaction%'",
            &[&app],
        )
        .await,
    )
    .get(0)
}

/// Requests abandoned mid-transaction (a client that hangs up) must not leave a pooled
/// connection inside an open transaction holding locks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_writes_leave_no_transaction_open() {
    let Some(schema) = schema("abandoned_writes_leave_no_transaction_open").await else {
        return;
    };
    let app = format!("abandoned_{}", &schema.name()[9..21]);
    let url = format!("{}&application_name={app}", schema.url());
    let store = std::sync::Arc::new(must(connect(&url).await));
    let a = must(store.create_account("a", &Actor::Cli).await).id;
    must(
        store
            .update_behaviors(a, enable(&["failed_logins"]), &Actor::Cli)
            .await,
    );
    let db = admin(&schema).await;
    let mut cut = 0;
    let mut left_open = 0;
    for i in 0..200u64 {
        // Cut off after a varying delay: before, during and after the transaction.
        let delay = Duration::from_micros(i * 37 % 3000);
        let id = format!("custom_{i}");
        let cut_update = tokio::time::timeout(
            delay,
            store.update_behaviors(
                a,
                update(json!({"behaviors": {id: {"enabled": true, "risk_level": "low"}}})),
                &Actor::Cli,
            ),
        )
        .await;
        let email = format!("u{}@x.io", i % 7);
        let cut_ingest = tokio::time::timeout(
            delay,
            store.ingest(a, vec![crate::failed_login(&email, i as i64)], &Actor::Cli),
        )
        .await;
        cut += usize::from(cut_update.is_err()) + usize::from(cut_ingest.is_err());
        // An abandoned transaction's rollback is on its way; one that stays open is a leak.
        let mut open = idle_in_transaction(&db, &app).await;
        for _ in 0..100 {
            if open == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            open = idle_in_transaction(&db, &app).await;
        }
        left_open = left_open.max(open);
    }
    assert!(cut > 50, "only {cut} of 400 writes were cut off");
    assert_eq!(
        left_open, 0,
        "connections went back to the pool inside a transaction"
    );
    // Every connection is usable and no lock is left behind: these would block otherwise.
    let done = tokio::time::timeout(Duration::from_secs(20), async {
        for _ in 0..20 {
            must(
                store
                    .update_behaviors(a, enable(&["imp_travel"]), &Actor::Cli)
                    .await,
            );
            must(
                store
                    .ingest(
                        a,
                        (0..7)
                            .map(|u| crate::failed_login(&format!("u{u}@x.io"), 999))
                            .collect(),
                        &Actor::Cli,
                    )
                    .await,
            );
        }
    })
    .await;
    assert!(done.is_ok(), "a lock or a transaction was left behind");
    drop(store);
    schema.drop_schema().await;
}

/// The interleaving that would deadlock on `level_counts` if each statement locked only the
/// rows it changes: the expiry sweep updates one user per statement (high -> medium locks 2
/// and 3; then medium -> low wants 1 and 2) while an ingest batch's one statement moves users
/// low -> medium and to high (1, then 2 and 3). Because a statement locks all of the account's
/// level rows, the batch waits for the sweep instead, and both commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn level_counts_locks_never_deadlock_sweep_and_batch() {
    let Some(schema) = schema("level_counts_locks_never_deadlock_sweep_and_batch").await else {
        return;
    };
    drop(must(connect(schema.url()).await));
    let db = admin(&schema).await;
    must(
        db.batch_execute(
            "INSERT INTO users (key, account_key, user_id, email, name, risk_rank, risk_event_count)
             VALUES (1, 1, 'a', 'a@x.io', 'a', 3, 1), (2, 1, 'b', 'b@x.io', 'b', 2, 1),
                    (3, 1, 'c', 'c@x.io', 'c', 1, 1), (4, 1, 'd', 'd@x.io', 'd', 0, 0)",
        )
        .await,
    );
    let sweep = admin(&schema).await;
    let batch = admin(&schema).await;
    let batch_pid: i32 = must(batch.query_one("SELECT pg_backend_pid()", &[]).await).get(0);

    must(sweep.batch_execute("BEGIN").await);
    must(
        sweep
            .batch_execute("UPDATE users SET risk_rank = 2 WHERE key = 1")
            .await,
    );
    let batch_done = tokio::spawn(async move {
        batch
            .batch_execute(
                "BEGIN;
                 UPDATE users SET risk_rank = CASE key WHEN 3 THEN 2 ELSE 3 END,
                                  risk_event_count = 1
                 WHERE key IN (3, 4);
                 COMMIT",
            )
            .await
    });
    // The batch is waiting for a lock the sweep holds.
    let waiting = async {
        loop {
            let row = must(
                db.query_one(
                    "SELECT wait_event_type IS NOT DISTINCT FROM 'Lock'
                     FROM pg_stat_activity WHERE pid = $1",
                    &[&batch_pid],
                )
                .await,
            );
            if row.get::<_, bool>(0) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    must(tokio::time::timeout(Duration::from_secs(10), waiting).await);
    // The sweep's next user; waiting for the batch here would be a deadlock (reported after
    // deadlock_timeout, 1 s by default).
    must(
        sweep
            .batch_execute("UPDATE users SET risk_rank = 1 WHERE key = 2; COMMIT")
            .await,
    );
    must(must(batch_done.await));
    let rows = must(
        db.query(
            "SELECT risk_rank, users FROM level_counts WHERE account_key = 1 ORDER BY 1",
            &[],
        )
        .await,
    );
    let counts: Vec<(i64, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    // a: medium, b: low, c: medium, d: high.
    assert_eq!(counts, vec![(1, 1), (2, 2), (3, 1)]);
    drop((sweep, db));
    schema.drop_schema().await;
}
