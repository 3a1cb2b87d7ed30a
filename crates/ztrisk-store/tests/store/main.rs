//! The store's integration tests: one suite written once against `dyn Store` and run on every
//! backend (SQLite in a temporary directory, PostgreSQL in a schema of its own), plus tests of
//! what only PostgreSQL has (migrations, errors at connect, replicas and LISTEN/NOTIFY).
//!
//! PostgreSQL comes from `ZTRISK_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/test`). Without it the PostgreSQL tests are skipped with a
//! note, except under CI (`CI=true`), where they fail and say how to start it.

mod audit;
mod bench;
mod dashboard;
mod generic;
mod postgres_only;
mod postgres_tls;
mod sharing;
mod streams;

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use ztrisk_core::behaviors::BehaviorUpdate;
use ztrisk_core::credentials::SecretHash;
use ztrisk_core::events::Event;
use ztrisk_core::{AccountId, Permission};
use ztrisk_store::model::NewToken;
use ztrisk_store::testing::PgSchema;
use ztrisk_store::{PostgresOptions, PostgresStore, SqliteOptions, SqliteStore, Store};

/// One database, and the means to open any number of stores on it (as several processes or
/// replicas would).
pub enum Harness {
    Sqlite(tempfile::TempDir),
    Postgres(PgSchema),
}

impl Harness {
    pub fn sqlite() -> Self {
        Harness::Sqlite(tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}")))
    }

    /// `None` (test skipped) when PostgreSQL is unreachable outside CI.
    pub async fn postgres(test: &str) -> Option<Self> {
        PgSchema::create_or_skip(test).await.map(Harness::Postgres)
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Harness::Sqlite(_) => "sqlite",
            Harness::Postgres(_) => "postgres",
        }
    }

    /// A new store on this database.
    pub async fn open(&self) -> Arc<dyn Store> {
        match self {
            Harness::Sqlite(dir) => Arc::new(
                SqliteStore::open(dir.path().join("store.db"), SqliteOptions::default())
                    .unwrap_or_else(|e| panic!("open sqlite: {e}")),
            ),
            Harness::Postgres(schema) => Arc::new(
                PostgresStore::connect(schema.url(), pg_options())
                    .await
                    .unwrap_or_else(|e| panic!("connect postgres: {e}")),
            ),
        }
    }

    pub async fn finish(self) {
        match self {
            Harness::Sqlite(_) => {}
            Harness::Postgres(schema) => schema.drop_schema().await,
        }
    }
}

pub fn pg_options() -> PostgresOptions {
    PostgresOptions {
        max_connections: 8,
        ..PostgresOptions::default()
    }
}

/// Runs each named test of `generic` on every backend.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let harness = crate::Harness::sqlite();
                    crate::generic::$name(&harness)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    harness.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(harness) = crate::Harness::postgres(stringify!($name)).await else {
                        return;
                    };
                    crate::generic::$name(&harness)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    harness.finish().await;
                }
            )*
        }
    };
}

on_every_backend!(
    bootstrap_happens_once,
    tokens_and_keys,
    behaviors_merge_and_persist,
    concurrent_behavior_updates_all_survive,
    a_failing_write_is_rolled_back_alone,
    unknown_accounts,
    ingest_is_idempotent,
    failed_logins_fire_once_per_burst,
    impossible_travel_is_detected,
    user_ids_are_kept_only_when_free,
    summary_orders_and_pages,
    user_risk_orders_and_pages,
    reset_clears_risk_until_the_next_event,
    integrations_and_conflicts,
    generation_moves_on_every_cached_write,
    replicas_bootstrap_once,
    replicas_keep_every_behavior_update,
    replicas_split_failed_logins_fire_once,
    replicas_see_impossible_travel,
    replicas_see_revocations_at_once,
    replicas_ingest_many_users_concurrently,
    level_changes_queue_deliveries,
    deliveries_are_claimed_in_order_and_settled,
    deactivated_destinations_fail_their_queue,
    webhooks_are_scoped_to_their_account,
    signing_keys_rotate_and_retire,
    replicas_claim_each_delivery_once,
    first_signing_key_is_kept_once_across_replicas,
    streams_are_created_once_per_ssf_integration,
    stream_status_changes_queue_one_event,
    level_changes_reach_streams_that_want_them,
    polls_hand_out_each_set_until_acknowledged,
    paused_streams_hold_level_changes,
    push_streams_are_claimed_poll_streams_are_not,
    replicas_poll_each_set_once,
    audit_log_records_every_change,
    audit_log_filters_and_pages,
    a_failed_change_writes_no_audit_entry,
    overview_counters_follow_every_change,
    risk_events_carry_their_expiry,
    counters_match_rows_after_random_changes,
    replicas_keep_the_counters_under_concurrent_writes,
    an_import_rebuilds_the_counters,
    find_users_filters_orders_and_pages,
    dashboard_sessions_expire_and_are_deleted,
);

// ---- building inputs ----------------------------------------------------------------------

pub fn new_token(secret: &str, accounts: Vec<AccountId>) -> NewToken {
    NewToken {
        name: "t".into(),
        accounts,
        permissions: [Permission::ZeroTrustRead].into_iter().collect(),
        expires_at: None,
        secret_hash: SecretHash::of(secret),
    }
}

pub fn update(body: Value) -> BehaviorUpdate {
    BehaviorUpdate::parse(&body).unwrap_or_else(|e| panic!("{e:?}"))
}

pub fn enable(ids: &[&str]) -> BehaviorUpdate {
    let mut behaviors = serde_json::Map::new();
    for id in ids {
        behaviors.insert(
            (*id).to_owned(),
            json!({"enabled": true, "risk_level": "high"}),
        );
    }
    update(json!({ "behaviors": behaviors }))
}

pub fn event(value: Value) -> Event {
    Event::parse(&value).unwrap_or_else(|e| panic!("bad test event {value}: {e:?}"))
}

/// RFC 3339 for `2026-01-01T00:00:00Z` plus `seconds`.
pub fn at(seconds: i64) -> String {
    let base = 1_767_225_600_000i64; // 2026-01-01T00:00:00Z
    ztrisk_core::events::format_timestamp(base + seconds * 1000)
        .unwrap_or_else(|| panic!("timestamp out of range"))
}

pub fn failed_login(email: &str, seconds: i64) -> Event {
    event(json!({
        "type": "access_login", "timestamp": at(seconds),
        "user": {"email": email}, "success": false
    }))
}

pub fn login_at(email: &str, seconds: i64, lat: f64, lon: f64) -> Event {
    event(json!({
        "type": "access_login", "timestamp": at(seconds),
        "user": {"email": email}, "success": true,
        "location": {"lat": lat, "lon": lon}
    }))
}

pub fn signal(email: &str, seconds: i64, behavior: &str, id: Option<&str>) -> Event {
    let mut v = json!({
        "type": "behavior", "timestamp": at(seconds),
        "user": {"email": email}, "behavior": behavior
    });
    if let Some(id) = id {
        v["id"] = json!(id);
    }
    event(v)
}

/// Waits up to `limit` for `check` to hold.
pub async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    loop {
        if check() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
