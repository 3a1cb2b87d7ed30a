//! The backend-generic suite: each test is written once against `dyn Store` and runs on every
//! backend (see `on_every_backend!` in main.rs). Tests named `replicas_*` open two stores on
//! one database, as two processes or replicas would.

use crate::{
    Harness, enable, event, eventually, failed_login, login_at, new_token, signal, update,
};
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use ztrisk_core::behaviors::AccountBehaviors;
use ztrisk_core::credentials::SecretHash;
use ztrisk_core::{AccountId, PermissionSet, RiskLevel};
use ztrisk_store::model::{
    Direction, IngestOutcome, IntegrationFields, IntegrationType, NewToken, Paging, RiskEventOrder,
    SummaryOrder, SummaryQuery, UserEventsQuery,
};
use ztrisk_store::prelude::*;
use ztrisk_store::{Store, StoreError};

pub use crate::audit::*;
pub use crate::dashboard::*;
pub use crate::sharing::*;
pub use crate::streams::*;

type R = Result<(), StoreError>;

fn admin_token() -> NewToken {
    NewToken {
        permissions: PermissionSet::all(),
        ..new_token("admin", vec![])
    }
}

pub async fn bootstrap_happens_once(h: &Harness) -> R {
    let store = h.open().await;
    let first = store.bootstrap("Default", admin_token()).await?;
    let (account, token) = first.unwrap_or_else(|| panic!("no bootstrap"));
    assert_eq!(token.accounts, vec![account.id]);
    assert_eq!(account.name, "Default");
    assert!(store.bootstrap("Again", admin_token()).await?.is_none());
    assert_eq!(store.list_accounts().await?.len(), 1);
    let found = store.token_by_hash(&SecretHash::of("admin")).await?;
    assert_eq!(found.map(|t| t.permissions), Some(PermissionSet::all()));
    Ok(())
}

pub async fn tokens_and_keys(h: &Harness) -> R {
    let store = h.open().await;
    let a = store.create_account("a", &Actor::Cli).await?;
    let b = store.create_account("b", &Actor::Cli).await?;
    let missing = AccountId::random();
    assert!(matches!(
        store.create_token(new_token("x", vec![a.id, missing]), &Actor::Cli).await,
        Err(StoreError::UnknownAccount(id)) if id == missing
    ));
    assert!(matches!(
        store
            .create_token(new_token("x", vec![]), &Actor::Cli)
            .await,
        Err(StoreError::Conflict(_))
    ));
    let token = store
        .create_token(new_token("s1", vec![b.id, a.id, a.id]), &Actor::Cli)
        .await?;
    let found = store
        .token_by_hash(&SecretHash::of("s1"))
        .await?
        .unwrap_or_else(|| panic!("token not found"));
    assert_eq!(found.id, token.id);
    let mut sorted = vec![a.id, b.id];
    sorted.sort_by_key(|id| id.to_string());
    assert_eq!(found.accounts, sorted);
    assert_eq!(found.permissions, token.permissions);
    assert_eq!(found.created_at, token.created_at);
    assert!(found.revoked_at.is_none() && found.expires_at.is_none());
    assert!(
        store
            .token_by_hash(&SecretHash::of("nope"))
            .await?
            .is_none()
    );
    let expiring = NewToken {
        expires_at: Some(
            chrono::DateTime::from_timestamp_millis(1_900_000_000_123).unwrap_or_default(),
        ),
        ..new_token("s2", vec![a.id])
    };
    let expiring = store.create_token(expiring, &Actor::Cli).await?;
    let found = store.token_by_hash(&SecretHash::of("s2")).await?;
    assert_eq!(found.and_then(|t| t.expires_at), expiring.expires_at);

    assert!(store.revoke_token(&token.id, &Actor::Cli).await?);
    assert!(
        store.revoke_token(&token.id, &Actor::Cli).await?,
        "revoking twice is fine"
    );
    assert!(!store.revoke_token("unknown", &Actor::Cli).await?);
    let revoked = store.token_by_hash(&SecretHash::of("s1")).await?;
    assert!(revoked.is_some_and(|t| t.revoked_at.is_some()));
    let listed: HashSet<String> = store
        .list_tokens()
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(
        listed,
        HashSet::from([token.id.clone(), expiring.id.clone()])
    );

    assert!(matches!(
        store
            .set_api_key(
                "x@example.com",
                SecretHash::of("k"),
                &[missing],
                &Actor::Cli
            )
            .await,
        Err(StoreError::UnknownAccount(_))
    ));
    let user = store
        .set_api_key(
            "Admin@Example.com",
            SecretHash::of("k"),
            &[a.id],
            &Actor::Cli,
        )
        .await?;
    assert_eq!(user.email, "admin@example.com");
    assert_eq!(user.key_hash.map(|k| k.0), Some(SecretHash::of("k").0));
    let user = store
        .set_api_key(
            "admin@example.com",
            SecretHash::of("k2"),
            &[b.id],
            &Actor::Cli,
        )
        .await?;
    assert_eq!(user.accounts, sorted, "accounts are added, not replaced");
    assert_eq!(user.key_hash.map(|k| k.0), Some(SecretHash::of("k2").0));
    store
        .set_api_key(
            "other@example.com",
            SecretHash::of("k3"),
            &[b.id],
            &Actor::Cli,
        )
        .await?;
    let user = store.api_user("ADMIN@example.com").await?;
    assert!(user.as_ref().is_some_and(|u| u.accounts == sorted));
    assert!(store.api_user("nobody@example.com").await?.is_none());
    let emails: Vec<String> = store
        .list_api_users()
        .await?
        .into_iter()
        .map(|u| u.email)
        .collect();
    assert_eq!(emails, vec!["admin@example.com", "other@example.com"]);
    assert!(
        store
            .revoke_api_key("admin@example.com", &Actor::Cli)
            .await?
    );
    assert!(
        !store
            .revoke_api_key("admin@example.com", &Actor::Cli)
            .await?
    );
    let user = store.api_user("admin@example.com").await?;
    assert!(user.is_some_and(|u| u.key_hash.is_none()));
    Ok(())
}

pub async fn behaviors_merge_and_persist(h: &Harness) -> R {
    let store = h.open().await;
    let a = store.create_account("a", &Actor::Cli).await?;
    let b = store.create_account("b", &Actor::Cli).await?;
    store
        .update_behaviors(
            a.id,
            update(json!({"behaviors": {"foo": {"enabled": true, "risk_level": "low"}}})),
            &Actor::Cli,
        )
        .await?;
    let after = store
        .update_behaviors(
            a.id,
            update(json!({"behaviors": {
                "imp_travel": {"enabled": true, "risk_level": "medium",
                               "settings": {"max_speed_kmh": 500}},
                "failed_logins": {"enabled": true, "risk_level": "high"}
            }})),
            &Actor::Cli,
        )
        .await?;
    assert_eq!(after.get("foo").map(|c| c.risk_level), Some(RiskLevel::Low));
    assert_eq!(
        after.get("imp_travel").map(|c| (c.enabled, c.risk_level)),
        Some((true, RiskLevel::Medium))
    );
    assert_eq!(store.behaviors(a.id).await?, after);
    assert_eq!(store.behaviors(b.id).await?, AccountBehaviors::default());
    // An empty update changes nothing and returns the configuration.
    assert_eq!(
        store
            .update_behaviors(a.id, update(json!({"behaviors": {}})), &Actor::Cli)
            .await?,
        after
    );
    drop(store);
    let reopened = h.open().await;
    assert_eq!(reopened.behaviors(a.id).await?, after);
    Ok(())
}

pub async fn concurrent_behavior_updates_all_survive(h: &Harness) -> R {
    let store = h.open().await;
    let a = store.create_account("a", &Actor::Cli).await?;
    let mut tasks = Vec::new();
    for i in 0..64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("custom_{i}");
            store
                .update_behaviors(
                    a.id,
                    update(json!({"behaviors": {id: {"enabled": true, "risk_level": "high"}}})),
                    &Actor::Cli,
                )
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap_or_else(|e| panic!("join: {e}"))?;
    }
    assert_eq!(store.behaviors(a.id).await?.iter().count(), 9 + 64);
    Ok(())
}

pub async fn a_failing_write_is_rolled_back_alone(h: &Harness) -> R {
    let store = h.open().await;
    let a = store.create_account("a", &Actor::Cli).await?;
    // Writes to an account that does not exist violate a foreign key: that one fails, the
    // others stand.
    let ghost = AccountId::random();
    let ok = update(json!({"behaviors": {"foo": {"enabled": true, "risk_level": "low"}}}));
    let (x, y, z) = tokio::join!(
        store.update_behaviors(a.id, ok.clone(), &Actor::Cli),
        store.update_behaviors(ghost, ok.clone(), &Actor::Cli),
        store.create_account("c", &Actor::Cli),
    );
    assert!(x.is_ok() && z.is_ok(), "{x:?} {z:?}");
    assert!(matches!(y, Err(StoreError::Backend(_))), "{y:?}");
    assert!(store.behaviors(ghost).await?.get("foo").is_none());
    assert!(store.behaviors(a.id).await?.get("foo").is_some());
    // The store still works after a failed transaction (its connection was cleaned up).
    for _ in 0..20 {
        assert!(
            store
                .update_behaviors(ghost, ok.clone(), &Actor::Cli)
                .await
                .is_err()
        );
    }
    assert_eq!(store.list_accounts().await?.len(), 2);
    Ok(())
}

pub async fn unknown_accounts(h: &Harness) -> R {
    let store = h.open().await;
    store.create_account("a", &Actor::Cli).await?;
    let ghost = AccountId::random();
    assert!(matches!(
        store.ingest(ghost, vec![failed_login("a@x.io", 0)], &Actor::Cli).await,
        Err(StoreError::UnknownAccount(id)) if id == ghost
    ));
    assert!(matches!(
        store.ingest(ghost, vec![], &Actor::Cli).await,
        Err(StoreError::UnknownAccount(_))
    ));
    assert_eq!(store.behaviors(ghost).await?, AccountBehaviors::default());
    let page = store.summary(ghost, SummaryQuery::default()).await?;
    assert!(page.items.is_empty() && page.total_count == 0);
    let user = uuid::Uuid::new_v4();
    assert!(
        store
            .user_risk(ghost, user, UserEventsQuery::default())
            .await?
            .is_none()
    );
    assert!(matches!(
        store.reset_user(ghost, user, &Actor::Cli).await,
        Err(StoreError::UnknownAccount(_))
    ));
    assert!(store.list_integrations(ghost).await?.is_empty());
    Ok(())
}

pub async fn ingest_is_idempotent(h: &Harness) -> R {
    let store = h.open().await;
    let a = store.create_account("a", &Actor::Cli).await?.id;
    store
        .update_behaviors(a, enable(&["custom_x"]), &Actor::Cli)
        .await?;
    let batch = vec![
        signal("u@x.io", 0, "custom_x", Some("e1")),
        signal("u@x.io", 10, "custom_x", Some("e2")),
        // The same id and time again in the same batch: a duplicate.
        signal("u@x.io", 10, "custom_x", Some("e2")),
        // No id: never a duplicate.
        signal("v@x.io", 20, "custom_x", None),
    ];
    let first = store.ingest(a, batch.clone(), &Actor::Cli).await?;
    assert_eq!(
        first,
        IngestOutcome {
            accepted: 3,
            duplicates: 1,
            risk_events: 2,
            deliveries_queued: 0,
            risk_by_behavior: [(("custom_x".to_owned(), RiskLevel::High), 2)].into(),
        }
    );
    let again = store.ingest(a, batch, &Actor::Cli).await?;
    assert_eq!(
        again,
        IngestOutcome {
            accepted: 1,
            duplicates: 3,
            risk_events: 0,
            deliveries_queued: 0,
            risk_by_behavior: Default::default(),
        }
    );
    // An id reused with another timestamp is a new event; an id is per account.
    let b = store.create_account("b", &Actor::Cli).await?.id;
    let reused = vec![signal("u@x.io", 99, "custom_x", Some("e1"))];
    assert_eq!(
        store.ingest(a, reused.clone(), &Actor::Cli).await?.accepted,
        1
    );
    assert_eq!(store.ingest(b, reused, &Actor::Cli).await?.accepted, 1);
    assert_eq!(
        store.ingest(a, vec![], &Actor::Cli).await?,
        IngestOutcome::default()
    );
    // Duplicates still create their user (as the first sighting would).
    let dup_only = vec![signal("new@x.io", 0, "custom_x", Some("e1"))];
    assert_eq!(store.ingest(a, dup_only, &Actor::Cli).await?.duplicates, 1);
    let summary = store.summary(a, SummaryQuery::default()).await?;
    assert_eq!(summary.items.len(), 2);
    Ok(())
}

pub async fn failed_logins_fire_once_per_burst(h: &Harness) -> R {
    let store = h.open().await;
    let a = store.create_account("a", &Actor::Cli).await?.id;
    store
        .update_behaviors(a, enable(&["failed_logins"]), &Actor::Cli)
        .await?;
    // 25 failed logins within the 300 s window: one risk event.
    let burst: Vec<_> = (0..25).map(|i| failed_login("u@x.io", i)).collect();
    assert_eq!(store.ingest(a, burst, &Actor::Cli).await?.risk_events, 1);
    // Nine more after the window: below the threshold again.
    let later: Vec<_> = (0..9).map(|i| failed_login("u@x.io", 1000 + i)).collect();
    assert_eq!(store.ingest(a, later, &Actor::Cli).await?.risk_events, 0);
    // The tenth, in a batch of its own: fires.
    assert_eq!(
        store
            .ingest(a, vec![failed_login("u@x.io", 1010)], &Actor::Cli)
            .await?
            .risk_events,
        1
    );
    let summary = store.summary(a, SummaryQuery::default()).await?;
    assert_eq!(summary.items.len(), 1);
    assert_eq!(summary.items[0].event_count, 2);
    assert_eq!(summary.items[0].max_risk_level, RiskLevel::High);
    assert_eq!(summary.items[0].email, "u@x.io");
    assert_eq!(summary.items[0].name, "u");
    Ok(())
}

pub async fn impossible_travel_is_detected(h: &Harness) -> R {
    let store = h.open().await;
    let a = store.create_account("a", &Actor::Cli).await?.id;
    store
        .update_behaviors(a, enable(&["imp_travel"]), &Actor::Cli)
        .await?;
    // Paris, then New York ten minutes later.
    let out = store
        .ingest(
            a,
            vec![
                login_at("u@x.io", 0, 48.85, 2.35),
                login_at("u@x.io", 600, 40.71, -74.0),
                // Close by, much later: nothing.
                login_at("v@x.io", 0, 48.85, 2.35),
                login_at("v@x.io", 36_000, 48.86, 2.36),
            ],
            &Actor::Cli,
        )
        .await?;
    assert_eq!(out.risk_events, 1);
    // Across batches too: the state is kept.
    let out = store
        .ingest(
            a,
            vec![login_at("v@x.io", 36_060, -33.87, 151.2)],
            &Actor::Cli,
        )
        .await?;
    assert_eq!(out.risk_events, 1);
    let summary = store.summary(a, SummaryQuery::default()).await?;
    let user = &summary.items[0];
    let risk = store
        .user_risk(a, user.user_id, UserEventsQuery::default())
        .await?
        .unwrap_or_else(|| panic!("no user"));
    assert_eq!(risk.events.items.len(), 1);
    assert_eq!(risk.events.items[0].behavior_id, "imp_travel");
    assert_eq!(
        risk.events.items[0].details["behavior"],
        json!("imp_travel")
    );
    Ok(())
}

pub async fn user_ids_are_kept_only_when_free(h: &Harness) -> R {
    let store = h.open().await;
    let a = store.create_account("a", &Actor::Cli).await?.id;
    store
        .update_behaviors(a, enable(&["custom_x"]), &Actor::Cli)
        .await?;
    let wanted = uuid::Uuid::new_v4();
    let with_user = |email: &str, id: uuid::Uuid, name: Option<&str>, seconds: i64| {
        let mut user = json!({"email": email, "id": id.to_string()});
        if let Some(name) = name {
            user["name"] = json!(name);
        }
        event(json!({"type": "behavior", "timestamp": crate::at(seconds),
                     "user": user, "behavior": "custom_x"}))
    };
    // Two new emails asking for one id in one batch: the first gets it.
    store
        .ingest(
            a,
            vec![
                with_user("first@x.io", wanted, Some("First"), 0),
                with_user("second@x.io", wanted, None, 0),
            ],
            &Actor::Cli,
        )
        .await?;
    // A later batch asking for it again for a third email: taken.
    store
        .ingest(
            a,
            vec![with_user("third@x.io", wanted, None, 0)],
            &Actor::Cli,
        )
        .await?;
    let summary = store.summary(a, SummaryQuery::default()).await?;
    assert_eq!(summary.items.len(), 3);
    let by_email = |email: &str| {
        summary
            .items
            .iter()
            .find(|u| u.email == email)
            .cloned()
            .unwrap_or_else(|| panic!("{email} missing"))
    };
    assert_eq!(by_email("first@x.io").user_id, wanted);
    assert_eq!(by_email("first@x.io").name, "First");
    assert_ne!(by_email("second@x.io").user_id, wanted);
    assert_eq!(by_email("second@x.io").name, "second");
    assert_ne!(by_email("third@x.io").user_id, wanted);
    let ids: HashSet<_> = summary.items.iter().map(|u| u.user_id).collect();
    assert_eq!(ids.len(), 3);
    // A known user keeps their id whatever later events say; a new name is taken.
    store
        .ingest(
            a,
            vec![with_user(
                "second@x.io",
                uuid::Uuid::new_v4(),
                Some("Renamed"),
                7200,
            )],
            &Actor::Cli,
        )
        .await?;
    let risk = store
        .user_risk(
            a,
            by_email("second@x.io").user_id,
            UserEventsQuery::default(),
        )
        .await?
        .unwrap_or_else(|| panic!("second missing"));
    assert_eq!(risk.name, "Renamed");
    assert_eq!(risk.events.total_count, 2);
    Ok(())
}

/// Four users with known levels, counts and times (see the comments).
async fn scored_account(store: &Arc<dyn Store>) -> Result<AccountId, StoreError> {
    let a = store.create_account("a", &Actor::Cli).await?.id;
    store
        .update_behaviors(
            a,
            update(json!({"behaviors": {
                "low_b": {"enabled": true, "risk_level": "low"},
                "med_b": {"enabled": true, "risk_level": "medium"},
                "high_b": {"enabled": true, "risk_level": "high"},
            }})),
            &Actor::Cli,
        )
        .await?;
    store
        .ingest(
            a,
            vec![
                signal("a@x.io", 100, "high_b", None), // a: high, 1, t=100
                signal("b@x.io", 200, "med_b", None),  // b: medium, 2, t=5000
                signal("b@x.io", 5000, "low_b", None),
                signal("c@x.io", 300, "low_b", None), // c: low, 1, t=300
                signal("d@x.io", 400, "high_b", None), // d: high, 1, t=400
                signal("e@x.io", 400, "unknown_b", None), // e: never scored
            ],
            &Actor::Cli,
        )
        .await?;
    Ok(a)
}

pub async fn summary_orders_and_pages(h: &Harness) -> R {
    let store = h.open().await;
    let a = scored_account(&store).await?;
    let order = |query: SummaryQuery| {
        let store = store.clone();
        async move {
            let page = store.summary(a, query).await?;
            let emails: Vec<String> = page
                .items
                .iter()
                .map(|u| u.email.trim_end_matches("@x.io").to_owned())
                .collect();
            Ok::<_, StoreError>((emails.join(""), page.total_count))
        }
    };
    let q = |order_by, direction, paging| SummaryQuery {
        paging,
        order_by,
        direction,
    };
    use Direction::{Asc, Desc};
    use SummaryOrder::{EventCount, MaxRiskLevel, Timestamp};
    assert_eq!(order(SummaryQuery::default()).await?, ("dabc".into(), 4));
    assert_eq!(order(q(MaxRiskLevel, Asc, None)).await?, ("cbad".into(), 4));
    assert_eq!(order(q(Timestamp, Desc, None)).await?, ("bdca".into(), 4));
    assert_eq!(order(q(Timestamp, Asc, None)).await?, ("acdb".into(), 4));
    assert_eq!(order(q(EventCount, Desc, None)).await?, ("bdca".into(), 4));
    assert_eq!(order(q(EventCount, Asc, None)).await?, ("acdb".into(), 4));
    let page = |page, per_page| Some(Paging { page, per_page });
    assert_eq!(
        order(q(MaxRiskLevel, Desc, page(2, 2))).await?,
        ("bc".into(), 4)
    );
    assert_eq!(
        order(q(MaxRiskLevel, Desc, page(2, 3))).await?,
        ("c".into(), 4)
    );
    assert_eq!(
        order(q(MaxRiskLevel, Desc, page(3, 2))).await?,
        ("".into(), 4)
    );
    let full = store.summary(a, SummaryQuery::default()).await?;
    let b = &full.items[2];
    assert_eq!(b.event_count, 2);
    assert_eq!(b.max_risk_level, RiskLevel::Medium);
    assert_eq!(
        b.last_event.timestamp_millis(),
        1_767_225_600_000 + 5_000_000
    );
    Ok(())
}

pub async fn user_risk_orders_and_pages(h: &Harness) -> R {
    let store = h.open().await;
    let a = scored_account(&store).await?;
    let full = store.summary(a, SummaryQuery::default()).await?;
    let b = full.items[2].user_id;
    let names = |query: UserEventsQuery| {
        let store = store.clone();
        async move {
            let risk = store
                .user_risk(a, b, query)
                .await?
                .unwrap_or_else(|| panic!("no user"));
            let ids: Vec<String> = risk
                .events
                .items
                .iter()
                .map(|e| e.behavior_id.clone())
                .collect();
            Ok::<_, StoreError>((ids, risk.events.total_count, risk.risk_level))
        }
    };
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    let med = Some(RiskLevel::Medium);
    assert_eq!(
        names(UserEventsQuery::default()).await?,
        (s(&["low_b", "med_b"]), 2, med)
    );
    let q = |order_by, direction, paging| UserEventsQuery {
        paging,
        order_by,
        direction,
    };
    assert_eq!(
        names(q(RiskEventOrder::Timestamp, Direction::Asc, None)).await?,
        (s(&["med_b", "low_b"]), 2, med)
    );
    assert_eq!(
        names(q(RiskEventOrder::RiskLevel, Direction::Desc, None)).await?,
        (s(&["med_b", "low_b"]), 2, med)
    );
    assert_eq!(
        names(q(
            RiskEventOrder::Timestamp,
            Direction::Desc,
            Some(Paging {
                page: 2,
                per_page: 1
            })
        ))
        .await?,
        (s(&["med_b"]), 2, med)
    );
    let risk = store
        .user_risk(a, b, UserEventsQuery::default())
        .await?
        .unwrap_or_else(|| panic!("no user"));
    assert_eq!(risk.email, "b@x.io");
    assert_eq!(risk.name, "b");
    assert!(risk.last_reset_time.is_none());
    let first = &risk.events.items[0];
    assert_eq!(first.risk_level, RiskLevel::Low);
    assert_eq!(first.details["source"], json!("external"));
    assert!(
        store
            .user_risk(a, uuid::Uuid::new_v4(), UserEventsQuery::default())
            .await?
            .is_none()
    );
    Ok(())
}

pub async fn reset_clears_risk_until_the_next_event(h: &Harness) -> R {
    let store = h.open().await;
    let a = scored_account(&store).await?;
    let paged = SummaryQuery {
        paging: Some(Paging {
            page: 1,
            per_page: 10,
        }),
        ..SummaryQuery::default()
    };
    let full = store.summary(a, paged).await?;
    assert_eq!(full.total_count, 4);
    let d = full.items[0].user_id;
    assert!(store.reset_user(a, d, &Actor::Cli).await?);
    assert!(store.reset_user(a, d, &Actor::Cli).await?, "idempotent");
    assert!(
        !store
            .reset_user(a, uuid::Uuid::new_v4(), &Actor::Cli)
            .await?
    );
    let after = store.summary(a, paged).await?;
    assert_eq!(after.total_count, 3);
    assert!(after.items.iter().all(|u| u.user_id != d));
    let risk = store
        .user_risk(a, d, UserEventsQuery::default())
        .await?
        .unwrap_or_else(|| panic!("no user"));
    assert!(risk.risk_level.is_none());
    assert!(risk.last_reset_time.is_some());
    assert!(risk.events.items.is_empty());
    assert_eq!(risk.events.total_count, 0);
    // The reset also cleared repeat suppression: the same behavior fires again at once.
    let out = store
        .ingest(a, vec![signal("d@x.io", 401, "low_b", None)], &Actor::Cli)
        .await?;
    assert_eq!(out.risk_events, 1);
    let risk = store
        .user_risk(a, d, UserEventsQuery::default())
        .await?
        .unwrap_or_else(|| panic!("no user"));
    assert_eq!(risk.risk_level, Some(RiskLevel::Low));
    assert_eq!(risk.events.items.len(), 1);
    assert_eq!(store.summary(a, paged).await?.total_count, 4);
    Ok(())
}

pub async fn integrations_and_conflicts(h: &Harness) -> R {
    let store = h.open().await;
    let a = store.create_account("a", &Actor::Cli).await?.id;
    let b = store.create_account("b", &Actor::Cli).await?.id;
    let fields = |reference: &str, url: &str| IntegrationFields {
        integration_type: IntegrationType::Okta,
        active: true,
        reference_id: reference.into(),
        tenant_url: url.into(),
    };
    let one = store
        .create_integration(a, fields("ref-1", "https://one.okta.com"), &Actor::Cli)
        .await?;
    let two = store
        .create_integration(a, fields("", "https://two.okta.com"), &Actor::Cli)
        .await?;
    // Empty reference ids never conflict; other accounts have their own.
    store
        .create_integration(a, fields("", "https://three.okta.com"), &Actor::Cli)
        .await?;
    store
        .create_integration(b, fields("ref-1", "https://b.okta.com"), &Actor::Cli)
        .await?;
    assert!(matches!(
        store
            .create_integration(a, fields("ref-1", "https://dup.okta.com"), &Actor::Cli)
            .await,
        Err(StoreError::Conflict(_))
    ));
    let listed = store.list_integrations(a).await?;
    assert_eq!(listed.len(), 3);
    assert!(listed.contains(&one) && listed.contains(&two));
    assert_eq!(store.integration(a, two.id).await?, Some(two.clone()));
    assert!(store.integration(b, two.id).await?.is_none());
    assert_eq!(
        store.integration_by_reference(a, "ref-1").await?,
        Some(one.clone())
    );
    assert!(store.integration_by_reference(a, "").await?.is_none());
    assert!(store.integration_by_reference(a, "nope").await?.is_none());
    // Updating to a taken reference conflicts, even for an unknown id; to its own is fine.
    assert!(matches!(
        store
            .update_integration(
                a,
                two.id,
                fields("ref-1", "https://x.okta.com"),
                &Actor::Cli
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .update_integration(
                a,
                uuid::Uuid::new_v4(),
                fields("ref-1", "https://x.okta.com"),
                &Actor::Cli
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    let updated = store
        .update_integration(
            a,
            one.id,
            IntegrationFields {
                active: false,
                integration_type: IntegrationType::Okta,
                ..fields("ref-1", "https://new.okta.com")
            },
            &Actor::Cli,
        )
        .await?
        .unwrap_or_else(|| panic!("update lost"));
    assert!(!updated.active);
    assert_eq!(updated.tenant_url, "https://new.okta.com");
    assert_eq!(
        updated.integration_type,
        IntegrationType::Okta,
        "the type never changes"
    );
    assert_eq!(updated.created_at, one.created_at);
    assert!(
        store
            .update_integration(
                a,
                uuid::Uuid::new_v4(),
                fields("", "https://x.okta.com"),
                &Actor::Cli
            )
            .await?
            .is_none()
    );
    assert!(store.delete_integration(a, one.id, &Actor::Cli).await?);
    assert!(!store.delete_integration(a, one.id, &Actor::Cli).await?);
    // Its reference id is free again.
    store
        .create_integration(a, fields("ref-1", "https://again.okta.com"), &Actor::Cli)
        .await?;
    Ok(())
}

pub async fn generation_moves_on_every_cached_write(h: &Harness) -> R {
    let store = h.open().await;
    let g0 = store.generation();
    assert_eq!(g0, store.generation(), "stable without writes");
    let a = store.create_account("a", &Actor::Cli).await?.id;
    let g1 = store.generation();
    assert_ne!(g0, g1, "our own write is seen at once");
    store
        .update_behaviors(a, enable(&["custom_x"]), &Actor::Cli)
        .await?;
    let g2 = store.generation();
    assert_ne!(g1, g2);
    let (token, _) = new_token_for(&store, a).await?;
    store.revoke_token(&token, &Actor::Cli).await?;
    let g3 = store.generation();
    assert_ne!(g2, g3, "a revocation is seen at once");
    // Ingest changes nothing callers cache; it may leave the generation alone (PostgreSQL
    // does, to spare every ingest a NOTIFY).
    store
        .ingest(a, vec![signal("u@x.io", 0, "custom_x", None)], &Actor::Cli)
        .await?;
    let g3 = store.generation();
    // Another process (the admin CLI, a replica) writing to the same database is seen too.
    let other = h.open().await;
    other.create_account("b", &Actor::Cli).await?;
    assert!(
        eventually(Duration::from_secs(1), || store.generation() != g3).await,
        "{}: a write by another store was not seen within a second",
        h.backend()
    );
    Ok(())
}

/// A token on `account`; returns its id and record.
async fn new_token_for(
    store: &std::sync::Arc<dyn ztrisk_store::Store>,
    account: ztrisk_core::AccountId,
) -> Result<(String, ztrisk_store::model::TokenRecord), ztrisk_store::StoreError> {
    let mut token = admin_token();
    token.accounts = vec![account];
    let record = store.create_token(token, &Actor::Cli).await?;
    Ok((record.id.clone(), record))
}

pub async fn replicas_bootstrap_once(h: &Harness) -> R {
    let (one, two) = (h.open().await, h.open().await);
    for _ in 0..3 {
        let (x, y) = tokio::join!(
            one.bootstrap("Default", admin_token()),
            two.bootstrap("Default", admin_token()),
        );
        let made = [x?, y?].into_iter().flatten().count();
        assert!(made <= 1);
    }
    assert_eq!(one.list_accounts().await?.len(), 1);
    assert_eq!(two.list_tokens().await?.len(), 1);
    Ok(())
}

pub async fn replicas_keep_every_behavior_update(h: &Harness) -> R {
    let stores = [h.open().await, h.open().await];
    let a = stores[0].create_account("a", &Actor::Cli).await?.id;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = stores[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("custom_{i}");
            store
                .update_behaviors(
                    a,
                    update(json!({"behaviors": {id: {"enabled": true, "risk_level": "low"}}})),
                    &Actor::Cli,
                )
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap_or_else(|e| panic!("join: {e}"))?;
    }
    assert_eq!(stores[1].behaviors(a).await?.iter().count(), 9 + 40);
    assert_eq!(stores[0].behaviors(a).await?, stores[1].behaviors(a).await?);
    Ok(())
}

pub async fn replicas_split_failed_logins_fire_once(h: &Harness) -> R {
    let (one, two) = (h.open().await, h.open().await);
    let a = one.create_account("a", &Actor::Cli).await?.id;
    one.update_behaviors(a, enable(&["failed_logins"]), &Actor::Cli)
        .await?;
    for round in 0..5i64 {
        let base = round * 10_000;
        let email = format!("u{round}@x.io");
        // Ten failed logins (threshold 10) split 5/5 between the replicas, sent concurrently,
        // one event per call: exactly one risk event, whatever the interleaving.
        let mut tasks = Vec::new();
        for i in 0..10 {
            let store = if i % 2 == 0 { one.clone() } else { two.clone() };
            let e = failed_login(&email, base + i);
            tasks.push(tokio::spawn(async move {
                store.ingest(a, vec![e], &Actor::Cli).await
            }));
        }
        let mut fired = 0;
        for task in tasks {
            fired += task
                .await
                .unwrap_or_else(|e| panic!("join: {e}"))?
                .risk_events;
        }
        assert_eq!(fired, 1, "round {round}");
    }
    let summary = two.summary(a, SummaryQuery::default()).await?;
    assert_eq!(summary.items.len(), 5);
    assert!(summary.items.iter().all(|u| u.event_count == 1));
    Ok(())
}

pub async fn replicas_see_impossible_travel(h: &Harness) -> R {
    let (one, two) = (h.open().await, h.open().await);
    let a = one.create_account("a", &Actor::Cli).await?.id;
    one.update_behaviors(a, enable(&["imp_travel"]), &Actor::Cli)
        .await?;
    for round in 0..5i64 {
        let email = format!("u{round}@x.io");
        let base = round * 100_000;
        let (x, y) = tokio::join!(
            one.ingest(a, vec![login_at(&email, base, 48.85, 2.35)], &Actor::Cli),
            two.ingest(
                a,
                vec![login_at(&email, base + 600, 40.71, -74.0)],
                &Actor::Cli
            ),
        );
        assert_eq!(x?.risk_events + y?.risk_events, 1, "round {round}");
    }
    Ok(())
}

pub async fn replicas_see_revocations_at_once(h: &Harness) -> R {
    let (one, two) = (h.open().await, h.open().await);
    let a = one.create_account("a", &Actor::Cli).await?.id;
    let token = one
        .create_token(new_token("secret", vec![a]), &Actor::Cli)
        .await?;
    let seen = two.token_by_hash(&SecretHash::of("secret")).await?;
    assert!(seen.is_some_and(|t| t.revoked_at.is_none()));
    let before = two.generation();
    assert!(one.revoke_token(&token.id, &Actor::Cli).await?);
    let seen = two.token_by_hash(&SecretHash::of("secret")).await?;
    assert!(seen.is_some_and(|t| t.revoked_at.is_some()));
    assert!(
        eventually(Duration::from_secs(1), || two.generation() != before).await,
        "the other store's caches were not told within a second"
    );
    Ok(())
}

pub async fn replicas_ingest_many_users_concurrently(h: &Harness) -> R {
    let (one, two) = (h.open().await, h.open().await);
    let a = one.create_account("a", &Actor::Cli).await?.id;
    one.update_behaviors(a, enable(&["failed_logins"]), &Actor::Cli)
        .await?;
    // Overlapping batches of 20 users, in different orders, through both stores at once: no
    // deadlock, no lost event. Each user gets 20 failed logins in all: two risk events.
    let emails: Vec<String> = (0..20).map(|i| format!("user{i:02}@x.io")).collect();
    let mut tasks = Vec::new();
    for batch in 0..20i64 {
        let store = if batch % 2 == 0 {
            one.clone()
        } else {
            two.clone()
        };
        let mut events: Vec<_> = emails
            .iter()
            .map(|e| failed_login(e, batch * 1000))
            .collect();
        if batch % 3 == 0 {
            events.reverse();
        }
        tasks.push(tokio::spawn(async move {
            store.ingest(a, events, &Actor::Cli).await
        }));
    }
    let mut total = IngestOutcome::default();
    for task in tasks {
        let out = task.await.unwrap_or_else(|e| panic!("join: {e}"))?;
        total.accepted += out.accepted;
        total.risk_events += out.risk_events;
    }
    assert_eq!(total.accepted, 400);
    // Every event is 1000 s apart per user: outside the 300 s window, no risk at all...
    assert_eq!(total.risk_events, 0);
    let summary = one.summary(a, SummaryQuery::default()).await?;
    assert!(summary.items.is_empty());
    // ...and every user exists exactly once.
    let more: Vec<_> = emails
        .iter()
        .flat_map(|e| (0..10).map(move |i| failed_login(e, 100_000 + i)))
        .collect();
    assert_eq!(two.ingest(a, more, &Actor::Cli).await?.risk_events, 20);
    assert_eq!(
        one.summary(a, SummaryQuery::default()).await?.items.len(),
        20
    );
    Ok(())
}
