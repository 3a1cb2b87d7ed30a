//! Throughput figures, SQLite and PostgreSQL side by side in one run. Ignored by default:
//!
//! ```text
//! cargo test -p ztrisk-store --release --test store bench -- --ignored --nocapture --test-threads=1
//! ```
//!
//! PostgreSQL is measured with the server's own `synchronous_commit` and, as an observation of
//! what the WAL flush costs, with `synchronous_commit=off` set for the benchmark's sessions only
//! (never on the server).

use crate::postgres_only::{enable_everything, mixed_events};
use crate::{new_token, pg_options};
use std::sync::Arc;
use std::time::{Duration, Instant};
use ztrisk_core::credentials::SecretHash;
use ztrisk_store::model::{Paging, SummaryQuery};
use ztrisk_store::prelude::*;
use ztrisk_store::testing::{PgSchema, with_option};
use ztrisk_store::{PostgresStore, SqliteOptions, SqliteStore, Store};

const BATCH: usize = 10_000;
const BATCHES: usize = 5;
const USERS: usize = 2_000;

fn must<T>(r: Result<T, impl std::fmt::Display>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

fn rate(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

async fn measure(name: &str, store: Arc<dyn Store>) {
    let account = must(store.create_account("bench", &Actor::Cli).await).id;
    enable_everything(&*store, account).await;
    // Creates the users (and warms caches and prepared statements).
    must(
        store
            .ingest(account, mixed_events(BATCH, USERS, 1, 0), &Actor::Cli)
            .await,
    );

    let mut times = Vec::new();
    let mut risk = 0;
    for i in 0..BATCHES {
        let events = mixed_events(BATCH, USERS, 100 + i as u64, (i as i64 + 1) * 1_000_000_000);
        let start = Instant::now();
        let out = must(store.ingest(account, events, &Actor::Cli).await);
        times.push(start.elapsed());
        risk += out.risk_events;
    }
    let total: Duration = times.iter().sum();
    let best = times.iter().min().copied().unwrap_or_default();

    // Commit-bound: one event per call, one after the other.
    let singles = 200;
    let start = Instant::now();
    for i in 0..singles {
        let e = mixed_events(1, USERS, 5000 + i as u64, 9_000_000_000 + i as i64 * 1000);
        must(store.ingest(account, e, &Actor::Cli).await);
    }
    let single = start.elapsed() / singles;
    // The same, 8 callers at once (each its own users): can commits be grouped?
    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..8u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50u64 {
                let e = mixed_events(1, USERS, 9000 + t * 100 + i, 9_500_000_000 + i as i64);
                must(store.ingest(account, e, &Actor::Cli).await);
            }
        }));
    }
    for t in tasks {
        must(t.await);
    }
    let singles_par = rate(400, start.elapsed());

    // Point reads, one at a time and 8 at a time.
    must(
        store
            .create_token(new_token("bench-token", vec![account]), &Actor::Cli)
            .await,
    );
    let hash = SecretHash::of("bench-token");
    let reads = 5_000;
    let start = Instant::now();
    for _ in 0..reads {
        must(store.token_by_hash(&hash).await);
    }
    let token_seq = rate(reads, start.elapsed());
    let start = Instant::now();
    for _ in 0..reads {
        must(store.behaviors(account).await);
    }
    let behaviors_seq = rate(reads, start.elapsed());
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..reads / 8 {
                must(store.token_by_hash(&hash).await);
            }
        }));
    }
    for t in tasks {
        must(t.await);
    }
    let token_par = rate(reads / 8 * 8, start.elapsed());

    let full = must(store.summary(account, SummaryQuery::default()).await);
    let n = 200;
    let start = Instant::now();
    for _ in 0..n {
        must(store.summary(account, SummaryQuery::default()).await);
    }
    let summary_full = rate(n, start.elapsed());
    let paged = SummaryQuery {
        paging: Some(Paging {
            page: 3,
            per_page: 100,
        }),
        ..SummaryQuery::default()
    };
    let start = Instant::now();
    for _ in 0..n * 5 {
        must(store.summary(account, paged).await);
    }
    let summary_page = rate(n * 5, start.elapsed());

    println!(
        "{name:<28} ingest {:>8.0} ev/s (best batch {:>8.0} ev/s, {risk} risk events) | \
         1-event ingest {:>6.0} µs, x8 {:>6.0}/s | token_by_hash {:>6.0}/s seq {:>6.0}/s x8 | \
         behaviors {:>6.0}/s | summary all {} users {:>5.0}/s, page of 100 {:>5.0}/s",
        rate(BATCH * BATCHES, total),
        rate(BATCH, best),
        single.as_secs_f64() * 1e6,
        singles_par,
        token_seq,
        token_par,
        behaviors_seq,
        full.items.len(),
        summary_full,
        summary_page,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored --nocapture in release mode"]
async fn bench_backends() {
    let dir = must(tempfile::tempdir());
    let sqlite: Arc<dyn Store> = Arc::new(must(SqliteStore::open(
        dir.path().join("bench.db"),
        SqliteOptions::default(),
    )));
    measure("sqlite (synchronous=FULL)", sqlite).await;

    let Some(schema) = PgSchema::create_or_skip("bench_backends").await else {
        return;
    };
    let store: Arc<dyn Store> = Arc::new(must(
        PostgresStore::connect(schema.url(), pg_options()).await,
    ));
    measure("postgres", store.clone()).await;
    drop(store);
    schema.drop_schema().await;

    let Some(schema) = PgSchema::create_or_skip("bench_backends").await else {
        return;
    };
    let url = with_option(schema.url(), "-c synchronous_commit=off");
    let store: Arc<dyn Store> = Arc::new(must(PostgresStore::connect(&url, pg_options()).await));
    measure("postgres (sync_commit=off)", store.clone()).await;
    drop(store);
    schema.drop_schema().await;
}

/// What one round trip and one durable commit cost on this machine, for reading the above.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored --nocapture in release mode"]
async fn bench_postgres_round_trips() {
    let Some(schema) = PgSchema::create_or_skip("bench_postgres_round_trips").await else {
        return;
    };
    for (label, url) in [
        ("synchronous_commit=on ", schema.url().to_owned()),
        (
            "synchronous_commit=off",
            with_option(schema.url(), "-c synchronous_commit=off"),
        ),
    ] {
        let (client, conn) = must(tokio_postgres::connect(&url, tokio_postgres::NoTls).await);
        tokio::spawn(conn);
        must(
            client
                .batch_execute("CREATE TABLE IF NOT EXISTS t (x bigint)")
                .await,
        );
        let select = must(client.prepare("SELECT 1").await);
        let n = 5_000;
        let start = Instant::now();
        for _ in 0..n {
            must(client.query_one(&select, &[]).await);
        }
        let rtt = start.elapsed() / n;
        let insert = must(client.prepare("INSERT INTO t VALUES (1)").await);
        let commits = 500;
        let start = Instant::now();
        for _ in 0..commits {
            must(client.execute(&insert, &[]).await);
        }
        let commit = start.elapsed() / commits;
        println!(
            "postgres {label}: round trip {:>5.0} µs, 1-row autocommit insert {:>6.0} µs",
            rtt.as_secs_f64() * 1e6,
            commit.as_secs_f64() * 1e6
        );
        // 8 sessions committing at once, with and without a NOTIFY in each transaction:
        // notifying commits take a database-wide lock that also serializes their WAL flushes.
        for notify in [false, true] {
            let tail = if notify {
                "SELECT pg_notify('ztrisk_bench', 'x'); COMMIT"
            } else {
                "COMMIT"
            };
            let mut tasks = Vec::new();
            let start = Instant::now();
            for _ in 0..8 {
                let url = url.clone();
                tasks.push(tokio::spawn(async move {
                    let (client, conn) =
                        must(tokio_postgres::connect(&url, tokio_postgres::NoTls).await);
                    tokio::spawn(conn);
                    for _ in 0..100 {
                        must(
                            client
                                .batch_execute(&format!("BEGIN; INSERT INTO t VALUES (1); {tail}"))
                                .await,
                        );
                    }
                }));
            }
            for t in tasks {
                must(t.await);
            }
            println!(
                "postgres {label}: 8 sessions, {} commits/s {}",
                rate(800, start.elapsed()) as u64,
                if notify {
                    "with NOTIFY"
                } else {
                    "without NOTIFY"
                }
            );
        }
    }
    schema.drop_schema().await;
}

/// Where a point read's time goes: the raw protocol, the pool, the statement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored --nocapture in release mode"]
async fn bench_postgres_read_path() {
    let Some(schema) = PgSchema::create_or_skip("bench_postgres_read_path").await else {
        return;
    };
    let store = must(PostgresStore::connect(schema.url(), pg_options()).await);
    let account = must(store.create_account("a", &Actor::Cli).await).id;
    must(
        store
            .create_token(new_token("t", vec![account]), &Actor::Cli)
            .await,
    );
    let hash = SecretHash::of("t");
    let (client, conn) = must(tokio_postgres::connect(schema.url(), tokio_postgres::NoTls).await);
    tokio::spawn(conn);
    let select1 = must(client.prepare("SELECT 1").await);
    let token = must(
        client
            .prepare(
                "SELECT t.id, t.name, t.secret_hash, t.permissions, t.created_at,
                    t.expires_at, t.revoked_at,
                    ARRAY(SELECT a.account_id FROM api_token_accounts a WHERE a.token_id = t.id
                          ORDER BY a.account_id)
                 FROM api_tokens t WHERE t.secret_hash = $1",
            )
            .await,
    );
    let n = 5_000;
    for round in 0..2 {
        let start = Instant::now();
        for _ in 0..n {
            must(client.query_one(&select1, &[]).await);
        }
        let raw = rate(n, start.elapsed());
        let start = Instant::now();
        for _ in 0..n {
            must(client.query_one(&token, &[&&hash.0[..]]).await);
        }
        let raw_token = rate(n, start.elapsed());
        let start = Instant::now();
        for _ in 0..n {
            must(store.ping().await);
        }
        let ping = rate(n, start.elapsed());
        let start = Instant::now();
        for _ in 0..n {
            must(store.token_by_hash(&hash).await);
        }
        let store_token = rate(n, start.elapsed());
        println!(
            "round {round}: raw SELECT 1 {raw:.0}/s, raw token query {raw_token:.0}/s, \
             store.ping (pool + SELECT 1) {ping:.0}/s, store.token_by_hash {store_token:.0}/s"
        );
    }
    drop(store);
    schema.drop_schema().await;
}
