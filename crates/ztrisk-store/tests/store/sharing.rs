//! Risk sharing in the store (spec 4): level changes queue deliveries in their own transaction,
//! workers claim them in order, settle them, and several replicas never claim one twice.

use crate::{Harness, signal, update};
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;
use ztrisk_core::{AccountId, RiskLevel};
use ztrisk_store::model::{
    AttemptResult, DeliveryStatus, Destination, IntegrationFields, IntegrationType, Paging,
    RetireOutcome, SigningKeyStatus, Target, WebhookFields, WebhookFormat,
};
use ztrisk_store::prelude::*;
use ztrisk_store::{Store, StoreError};

type R = Result<(), StoreError>;

const LEASE: Duration = Duration::from_secs(30);

fn page() -> Paging {
    Paging {
        page: 1,
        per_page: 100,
    }
}

fn okta(active: bool) -> IntegrationFields {
    IntegrationFields {
        integration_type: IntegrationType::Okta,
        active,
        reference_id: String::new(),
        tenant_url: "https://tenant.example".into(),
    }
}

fn hook(min_level: RiskLevel) -> WebhookFields {
    WebhookFields {
        url: "https://hooks.example/x".into(),
        active: true,
        format: WebhookFormat::Standard,
        min_level,
    }
}

/// An account with two custom behaviors, `sig_low` (low) and `sig_high` (high).
async fn account(store: &dyn Store) -> Result<AccountId, StoreError> {
    let a = store.create_account("a", &Actor::Cli).await?.id;
    store
        .update_behaviors(
            a,
            update(json!({"behaviors": {
                "sig_low": {"enabled": true, "risk_level": "low"},
                "sig_high": {"enabled": true, "risk_level": "high"}
            }})),
            &Actor::Cli,
        )
        .await?;
    Ok(a)
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

pub async fn level_changes_queue_deliveries(h: &Harness) -> R {
    let store = h.open().await;
    let a = account(&*store).await?;
    let integration = store
        .create_integration(a, okta(true), &Actor::Cli)
        .await?
        .id;
    store
        .create_integration(a, okta(false), &Actor::Cli)
        .await?;
    let webhook = store
        .create_webhook(a, hook(RiskLevel::High), "whsec_x".into(), &Actor::Cli)
        .await?
        .id;
    // One batch: unscored -> low -> high is one change, to high, caused by sig_high.
    let out = store
        .ingest(
            a,
            vec![
                signal("a@x.io", 0, "sig_low", None),
                signal("a@x.io", 1, "sig_high", None),
                signal("b@x.io", 2, "sig_low", None),
            ],
            &Actor::Cli,
        )
        .await?;
    // a: the integration and the high webhook; b (low): the integration only.
    assert_eq!(out.deliveries_queued, 3);
    // No change of level, no delivery.
    let out = store
        .ingest(a, vec![signal("b@x.io", 3, "sig_low", None)], &Actor::Cli)
        .await?;
    assert_eq!(out.deliveries_queued, 0);

    let to_okta = store
        .deliveries(a, Destination::Integration(integration), page())
        .await?
        .unwrap_or_else(|| panic!("no integration"));
    assert_eq!(to_okta.total_count, 2);
    let a_raise = to_okta
        .items
        .iter()
        .find(|d| d.email == "a@x.io")
        .unwrap_or_else(|| panic!("no delivery for a"));
    assert_eq!(
        (a_raise.previous, a_raise.current),
        (None, Some(RiskLevel::High))
    );
    assert_eq!(a_raise.cause, "sig_high");
    assert_eq!(a_raise.status, DeliveryStatus::Pending);
    assert_eq!(a_raise.id.len(), 32);
    let to_hook = store
        .deliveries(a, Destination::Webhook(webhook), page())
        .await?
        .unwrap_or_else(|| panic!("no webhook"));
    assert_eq!(to_hook.total_count, 1);

    // A reset is a change to unscored; when it is claimed, it supersedes a's raise, still
    // waiting: the receiver gets only the user's current level.
    let a_id = a_raise.user_id;
    assert!(store.reset_user(a, a_id, &Actor::Cli).await?);
    let to_okta = store
        .deliveries(a, Destination::Integration(integration), page())
        .await?
        .unwrap_or_else(|| panic!("no integration"));
    assert_eq!(to_okta.total_count, 3);
    let newest = &to_okta.items[0];
    assert_eq!(
        (newest.previous, newest.current),
        (Some(RiskLevel::High), None)
    );
    assert_eq!(newest.cause, "reset");
    let claimed = store.claim_deliveries(now(), LEASE, 10).await?;
    let for_a: Vec<_> = claimed
        .iter()
        .filter(|t| t.record.user_id == a_id)
        .map(|t| t.record.cause.as_str())
        .collect();
    assert_eq!(for_a, ["reset", "reset"], "the reset, to both destinations");
    let to_okta = store
        .deliveries(a, Destination::Integration(integration), page())
        .await?
        .unwrap_or_else(|| panic!("no integration"));
    let raise = to_okta.items.iter().find(|d| d.id == a_raise.id);
    assert_eq!(raise.map(|d| d.status), Some(DeliveryStatus::Superseded));
    // Resetting an unscored user changes nothing.
    assert!(store.reset_user(a, a_id, &Actor::Cli).await?);
    let to_okta = store
        .deliveries(a, Destination::Integration(integration), page())
        .await?;
    assert_eq!(to_okta.map(|p| p.total_count), Some(3));
    // Another account cannot read them; unknown destinations are None.
    let other = store.create_account("other", &Actor::Cli).await?.id;
    assert!(
        store
            .deliveries(other, Destination::Integration(integration), page())
            .await?
            .is_none()
    );
    Ok(())
}

pub async fn deliveries_are_claimed_in_order_and_settled(h: &Harness) -> R {
    let store = h.open().await;
    let a = account(&*store).await?;
    let integration = store
        .create_integration(a, okta(true), &Actor::Cli)
        .await?
        .id;
    store
        .ingest(a, vec![signal("a@x.io", 0, "sig_low", None)], &Actor::Cli)
        .await?;
    let first = store.claim_deliveries(now(), LEASE, 10).await?;
    assert_eq!(first.len(), 1);
    assert!(matches!(
        &first[0].target,
        Target::Okta { integration_id, tenant_url }
            if *integration_id == integration && tenant_url == "https://tenant.example"
    ));
    assert_eq!(first[0].payload, None);
    // Claimed: nobody else gets it.
    assert!(store.claim_deliveries(now(), LEASE, 10).await?.is_empty());
    // A retry keeps its place and its bytes.
    let id = first[0].record.id.clone();
    let seq = first[0].seq;
    store
        .finish_delivery(
            seq,
            now(),
            AttemptResult::Retry {
                next_at: now(),
                error: "HTTP 503".into(),
            },
            Some(b"signed-set".to_vec()),
        )
        .await?;
    let again = store.claim_deliveries(now(), LEASE, 10).await?;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].record.id, id);
    assert_eq!(again[0].record.attempts, 1);
    assert_eq!(again[0].payload.as_deref(), Some(&b"signed-set"[..]));
    // A newer change of the same user waits behind the one in flight (and does not supersede
    // it).
    store
        .ingest(a, vec![signal("a@x.io", 1, "sig_high", None)], &Actor::Cli)
        .await?;
    assert!(store.claim_deliveries(now(), LEASE, 10).await?.is_empty());
    store
        .finish_delivery(seq, now(), AttemptResult::Delivered, None)
        .await?;
    let second = store.claim_deliveries(now(), LEASE, 10).await?;
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].record.current, Some(RiskLevel::High));
    store
        .finish_delivery(
            second[0].seq,
            now(),
            AttemptResult::Failed {
                error: "HTTP 400: invalid_request".into(),
            },
            Some(b"x".to_vec()),
        )
        .await?;
    assert!(store.claim_deliveries(now(), LEASE, 10).await?.is_empty());
    assert_eq!(store.next_delivery_due().await?, None);
    let list = store
        .deliveries(a, Destination::Integration(integration), page())
        .await?
        .unwrap_or_else(|| panic!("no integration"));
    let statuses: Vec<_> = list.items.iter().map(|d| d.status).collect();
    assert_eq!(
        statuses,
        [DeliveryStatus::Failed, DeliveryStatus::Delivered]
    );
    assert_eq!(
        list.items[0].last_error.as_deref(),
        Some("HTTP 400: invalid_request")
    );
    assert_eq!(list.items[1].attempts, 2);
    assert!(list.items[1].next_attempt_at.is_none());
    // Settled rows are pruned after their time.
    assert_eq!(
        store
            .prune_deliveries(now() - chrono::Duration::days(7))
            .await?,
        0
    );
    assert_eq!(
        store
            .prune_deliveries(now() + chrono::Duration::seconds(1))
            .await?,
        2
    );
    Ok(())
}

pub async fn deactivated_destinations_fail_their_queue(h: &Harness) -> R {
    let store = h.open().await;
    let a = account(&*store).await?;
    let integration = store
        .create_integration(a, okta(true), &Actor::Cli)
        .await?
        .id;
    let webhook = store
        .create_webhook(a, hook(RiskLevel::Low), "whsec_x".into(), &Actor::Cli)
        .await?;
    store
        .ingest(a, vec![signal("a@x.io", 0, "sig_low", None)], &Actor::Cli)
        .await?;
    store
        .update_integration(a, integration, okta(false), &Actor::Cli)
        .await?;
    let list = store
        .deliveries(a, Destination::Integration(integration), page())
        .await?
        .unwrap_or_else(|| panic!("no integration"));
    assert_eq!(list.items[0].status, DeliveryStatus::Failed);
    assert_eq!(
        list.items[0].last_error.as_deref(),
        Some("the destination was deactivated")
    );
    // The webhook's own delivery is claimable, with its secret; deleting it fails the rest.
    let tasks = store.claim_deliveries(now(), LEASE, 10).await?;
    assert_eq!(tasks.len(), 1);
    assert!(matches!(&tasks[0].target, Target::Webhook { secret, .. } if secret == "whsec_x"));
    store
        .ingest(a, vec![signal("b@x.io", 1, "sig_low", None)], &Actor::Cli)
        .await?;
    assert!(store.delete_webhook(a, webhook.id, &Actor::Cli).await?);
    assert!(store.claim_deliveries(now(), LEASE, 10).await?.is_empty());
    assert!(
        store
            .deliveries(a, Destination::Webhook(webhook.id), page())
            .await?
            .is_none()
    );
    Ok(())
}

pub async fn webhooks_are_scoped_to_their_account(h: &Harness) -> R {
    let store = h.open().await;
    let a = account(&*store).await?;
    let b = store.create_account("b", &Actor::Cli).await?.id;
    let created = store
        .create_webhook(a, hook(RiskLevel::Medium), "whsec_s".into(), &Actor::Cli)
        .await?;
    assert_eq!(created.min_level, RiskLevel::Medium);
    assert!(store.webhook(b, created.id).await?.is_none());
    assert!(store.list_webhooks(b).await?.is_empty());
    let mut fields = hook(RiskLevel::High);
    fields.format = WebhookFormat::Slack;
    fields.url = "https://hooks.slack.example/T/B/x".into();
    assert!(
        store
            .update_webhook(b, created.id, fields.clone(), &Actor::Cli)
            .await?
            .is_none()
    );
    let updated = store
        .update_webhook(a, created.id, fields, &Actor::Cli)
        .await?
        .unwrap_or_else(|| panic!("no webhook"));
    assert_eq!(
        (updated.format, updated.min_level, updated.secret.as_str()),
        (WebhookFormat::Slack, RiskLevel::High, "whsec_s")
    );
    assert_eq!(store.list_webhooks(a).await?.len(), 1);
    assert!(!store.delete_webhook(b, created.id, &Actor::Cli).await?);
    assert!(store.delete_webhook(a, created.id, &Actor::Cli).await?);
    assert!(store.list_webhooks(a).await?.is_empty());
    Ok(())
}

pub async fn signing_keys_rotate_and_retire(h: &Harness) -> R {
    let store = h.open().await;
    assert!(store.signing_keys().await?.is_empty());
    assert!(
        store
            .add_first_signing_key("k1", vec![1, 2, 3], &Actor::System)
            .await?
    );
    assert!(
        !store
            .add_first_signing_key("k2", vec![4], &Actor::System)
            .await?
    );
    store
        .rotate_signing_key("k3", vec![5, 6], &Actor::Cli)
        .await?;
    let keys = store.signing_keys().await?;
    let summary: Vec<(&str, SigningKeyStatus)> =
        keys.iter().map(|k| (k.kid.as_str(), k.status)).collect();
    assert!(summary.contains(&("k3", SigningKeyStatus::Active)));
    assert!(summary.contains(&("k1", SigningKeyStatus::Published)));
    assert_eq!(keys.len(), 2);
    assert!(
        !format!("{keys:?}").contains("[5, 6]"),
        "Debug shows no key"
    );
    assert_eq!(
        store.retire_signing_key("k3", &Actor::Cli).await?,
        RetireOutcome::Active
    );
    assert_eq!(
        store.retire_signing_key("nope", &Actor::Cli).await?,
        RetireOutcome::NotFound
    );
    assert_eq!(
        store.retire_signing_key("k1", &Actor::Cli).await?,
        RetireOutcome::Retired
    );
    let keys = store.signing_keys().await?;
    let k1 = keys.iter().find(|k| k.kid == "k1");
    assert_eq!(k1.map(|k| k.status), Some(SigningKeyStatus::Retired));
    assert!(k1.is_some_and(|k| k.retired_at.is_some()));
    Ok(())
}

pub async fn replicas_claim_each_delivery_once(h: &Harness) -> R {
    let one = h.open().await;
    let two = h.open().await;
    let a = account(&*one).await?;
    one.create_integration(a, okta(true), &Actor::Cli).await?;
    let events = (0..60)
        .map(|i| signal(&format!("u{i}@x.io"), i, "sig_low", None))
        .collect();
    assert_eq!(
        one.ingest(a, events, &Actor::Cli).await?.deliveries_queued,
        60
    );
    let claim = |store: std::sync::Arc<dyn Store>| async move {
        let mut ids = Vec::new();
        for _ in 0..20 {
            for task in store.claim_deliveries(now(), LEASE, 7).await? {
                ids.push(task.record.id);
            }
        }
        Ok::<_, StoreError>(ids)
    };
    let (from_one, from_two) = tokio::try_join!(claim(one.clone()), claim(two.clone()))?;
    let all: Vec<String> = from_one.into_iter().chain(from_two).collect();
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "a delivery was claimed twice");
    assert_eq!(all.len(), 60);
    Ok(())
}

pub async fn first_signing_key_is_kept_once_across_replicas(h: &Harness) -> R {
    let one = h.open().await;
    let two = h.open().await;
    let (x, y) = tokio::try_join!(
        one.add_first_signing_key("x", vec![1], &Actor::System),
        two.add_first_signing_key("y", vec![2], &Actor::System),
    )?;
    assert!(x ^ y, "exactly one first key");
    assert_eq!(one.signing_keys().await?.len(), 1);
    Ok(())
}
