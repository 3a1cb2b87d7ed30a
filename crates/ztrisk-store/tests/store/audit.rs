//! The audit log (spec 7): every change made with a credential or the CLI writes its entry in
//! the change's own transaction, on every backend; ingest and expiry write none; no entry
//! ever holds a secret.

use crate::{Harness, signal, update};
use serde_json::{Value, json};
use std::collections::HashMap;
use ztrisk_core::credentials::SecretHash;
use ztrisk_core::{AccountId, Permission};
use ztrisk_store::dump::{DumpChunk, DumpValue};
use ztrisk_store::model::{
    AuditAction, AuditQuery, AuditRecord, IntegrationFields, IntegrationType, NewToken, Page,
    Paging, RetireOutcome, StreamDelivery, StreamEvent, StreamFields, StreamStatus, WebhookFields,
    WebhookFormat,
};
use ztrisk_store::prelude::*;
use ztrisk_store::{Store, StoreError};

type R = Result<(), StoreError>;

/// Secrets the tests hand the store: none may appear in any entry.
const TOKEN_SECRET: &str = "tok-secret-never-logged-0123456789abcdef";
const KEY_SECRET: &str = "key-secret-never-logged-0123456789";
const WEBHOOK_SECRET: &str = "whsec_d2VibmV2ZXJsb2dnZWQxMjM0NTY3ODkw";
const SLACK_PATH: &str = "/services/T0000/B0000/slackpathsecret";
const RECEIVER_AUTH: &str = "Bearer receiver-credential-never-logged";
const PRIVATE_KEY: &[u8] = b"private-key-bytes-never-logged";

fn all(paging: Paging) -> AuditQuery {
    AuditQuery {
        since: None,
        action: None,
        paging,
    }
}

const PAGE: Paging = Paging {
    page: 1,
    per_page: 1000,
};

async fn entries(store: &dyn Store, account: AccountId) -> Result<Vec<AuditRecord>, StoreError> {
    Ok(store.audit_log(account, all(PAGE)).await?.items)
}

fn token(name: &str, accounts: Vec<AccountId>) -> NewToken {
    NewToken {
        name: name.into(),
        accounts,
        permissions: [Permission::ZeroTrustWrite].into_iter().collect(),
        expires_at: None,
        secret_hash: SecretHash::of(TOKEN_SECRET),
    }
}

/// Fails when an entry shows any secret, or the hash of one.
fn assert_no_secret(records: &[AuditRecord]) {
    let hashes = [
        hex(&SecretHash::of(TOKEN_SECRET).0),
        hex(&SecretHash::of(KEY_SECRET).0),
    ];
    for record in records {
        let text = serde_json::to_string(&record.change).unwrap_or_default()
            + &record.target
            + &record.actor;
        for secret in [
            TOKEN_SECRET,
            KEY_SECRET,
            WEBHOOK_SECRET,
            SLACK_PATH,
            RECEIVER_AUTH,
        ] {
            assert!(!text.contains(secret), "{secret} in {record:?}");
        }
        assert!(
            !text.contains("private-key-bytes"),
            "key material in {record:?}"
        );
        for hash in &hashes {
            assert!(
                !text.contains(hash.as_str()),
                "a secret's hash in {record:?}"
            );
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn audit_log_records_every_change(h: &Harness) -> R {
    let store = h.open().await;
    let cli = Actor::Cli;
    let a = store.create_account("a", &cli).await?.id;
    let b = store.create_account("b", &cli).await?.id;
    let admin = store.create_token(token("admin", vec![a, b]), &cli).await?;
    let who = Actor::Token {
        id: admin.id.clone(),
    };
    let key = Actor::ApiKey {
        email: "ops@example.com".into(),
    };

    // Behaviors: before and after of what changed, and nothing for a write that changes
    // nothing.
    let put = update(json!({"behaviors": {
        "imp_travel": {"enabled": true, "risk_level": "medium"},
        "sig": {"enabled": true, "risk_level": "high"}
    }}));
    store.update_behaviors(a, put.clone(), &who).await?;
    store.update_behaviors(a, put, &who).await?;

    // A user, reset and confirmed compromised; ingest and expiry write nothing.
    let expiring = update(json!({"behaviors": {
        "sig_exp": {"enabled": true, "risk_level": "high", "settings": {"expire_after_days": 1}}
    }}));
    store.update_behaviors(a, expiring, &key).await?;
    let before_ingest = entries(&*store, a).await?.len();
    store
        .ingest(a, vec![signal("x@example.com", 0, "sig_exp", None)], &who)
        .await?;
    let far_future = 4_102_444_800_000; // 2100-01-01
    let swept = store.expire_risk(far_future, 100).await?;
    assert_eq!(swept.level_changes, 1, "{swept:?}");
    store
        .ingest(a, vec![signal("u@example.com", 10, "sig", None)], &who)
        .await?;
    assert_eq!(entries(&*store, a).await?.len(), before_ingest);
    let user = store
        .summary(a, Default::default())
        .await?
        .items
        .first()
        .map(|u| u.user_id)
        .unwrap_or_else(|| panic!("no user at risk"));
    assert!(store.reset_user(a, user, &who).await?);
    let evidence = json!({"behavior": "confirmed_compromised", "reason": "phished"});
    assert!(store.confirm_compromised(a, user, evidence, &who).await?);
    assert!(!store.reset_user(a, uuid::Uuid::new_v4(), &who).await?);

    // Integrations, webhooks, a stream and its receiver's changes.
    let fields = |reference: &str, integration_type| IntegrationFields {
        integration_type,
        active: true,
        reference_id: reference.into(),
        tenant_url: "https://acme.okta.com".into(),
    };
    let okta = store
        .create_integration(a, fields("okta", IntegrationType::Okta), &who)
        .await?;
    let mut changed = fields("okta-2", IntegrationType::Okta);
    changed.active = false;
    store.update_integration(a, okta.id, changed, &who).await?;
    assert!(store.delete_integration(a, okta.id, &who).await?);
    let hook = WebhookFields {
        url: format!("https://hooks.slack.com{SLACK_PATH}"),
        active: true,
        format: WebhookFormat::Slack,
        min_level: ztrisk_core::RiskLevel::Medium,
    };
    let webhook = store
        .create_webhook(a, hook.clone(), WEBHOOK_SECRET.into(), &who)
        .await?;
    store.update_webhook(a, webhook.id, hook, &who).await?;
    assert!(store.delete_webhook(a, webhook.id, &who).await?);
    let ssf = store
        .create_integration(a, fields("", IntegrationType::Ssf), &who)
        .await?;
    let receiver = Actor::Token {
        id: "receiver".into(),
    };
    let stream_fields = StreamFields {
        delivery: StreamDelivery::Push {
            endpoint_url: "https://receiver.example/ssf/events?token=abc".into(),
            authorization_header: Some(RECEIVER_AUTH.into()),
        },
        events_requested: vec![ztrisk_types::ssf::CAEP_RISK_LEVEL_CHANGE.into()],
        description: Some("mine".into()),
    };
    let stream = store
        .create_stream(a, ssf.id, stream_fields.clone(), &receiver)
        .await?;
    store
        .update_stream(a, ssf.id, stream_fields, &receiver)
        .await?;
    let paused = StreamStatus::Paused;
    store
        .set_stream_status(a, ssf.id, paused, Some("maintenance".into()), &receiver)
        .await?;
    let verify = StreamEvent::Verification {
        state: Some("s1".into()),
    };
    store
        .queue_stream_event(a, ssf.id, verify, &receiver)
        .await?;
    store
        .set_subject_removed(a, ssf.id, "u@example.com", true, &receiver)
        .await?;
    store
        .set_subject_removed(a, ssf.id, "u@example.com", false, &receiver)
        .await?;
    assert!(store.delete_stream(a, ssf.id, &receiver).await?);

    // Credentials: a key for both accounts, then revocations.
    store
        .set_api_key("Ops@Example.com", SecretHash::of(KEY_SECRET), &[a, b], &cli)
        .await?;
    assert!(store.revoke_api_key("ops@example.com", &cli).await?);
    assert!(store.revoke_token(&admin.id, &cli).await?);

    // Signing keys belong to no account.
    assert!(
        store
            .add_first_signing_key("kid-1", PRIVATE_KEY.to_vec(), &Actor::System)
            .await?
    );
    store
        .rotate_signing_key("kid-2", PRIVATE_KEY.to_vec(), &cli)
        .await?;
    assert_eq!(
        store.retire_signing_key("kid-1", &cli).await?,
        RetireOutcome::Retired
    );

    let log = entries(&*store, a).await?;
    assert_no_secret(&log);
    // Newest first.
    assert!(
        log.windows(2)
            .all(|w| (w[0].at, w[0].id) > (w[1].at, w[1].id)),
        "{log:#?}"
    );
    let mut oldest_first = log.clone();
    oldest_first.reverse();
    let actions: Vec<&str> = oldest_first.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "account.create",
            "token.create",
            "behaviors.update",
            "behaviors.update",
            "user.reset",
            "user.confirm_compromised",
            "integration.create",
            "integration.update",
            "integration.delete",
            "webhook.create",
            "webhook.update",
            "webhook.delete",
            "integration.create",
            "stream.create",
            "stream.update",
            "stream.status",
            "stream.verify",
            "stream.subject_remove",
            "stream.subject_add",
            "stream.delete",
            "api_key.set",
            "api_key.revoke",
            "token.revoke",
        ]
    );
    for entry in &log {
        assert_eq!(entry.account, Some(a));
        assert!(AuditAction::parse(&entry.action).is_some(), "{entry:?}");
    }
    let by: HashMap<&str, &AuditRecord> = oldest_first
        .iter()
        .rev()
        .map(|e| (e.action.as_str(), e))
        .collect();
    let first_behaviors = oldest_first[2].clone();
    assert_eq!(first_behaviors.actor, format!("token:{}", admin.id));
    assert_eq!(first_behaviors.target, "imp_travel,sig");
    assert_eq!(
        first_behaviors.change["before"]["imp_travel"]["enabled"],
        false
    );
    assert_eq!(
        first_behaviors.change["after"]["imp_travel"]["risk_level"],
        "medium"
    );
    assert_eq!(first_behaviors.change["before"]["sig"], Value::Null);
    let second_behaviors = oldest_first[3].clone();
    assert_eq!(second_behaviors.actor, "key:ops@example.com");
    assert_eq!(second_behaviors.target, "sig_exp");
    assert_eq!(
        second_behaviors.change["after"]["sig_exp"]["settings"]["expire_after_days"],
        1
    );

    let reset = by["user.reset"];
    assert_eq!(reset.target, user.to_string());
    assert_eq!(reset.actor, format!("token:{}", admin.id));
    assert_eq!(reset.change["email"], "u@example.com");
    assert_eq!(
        reset.change["risk_level"],
        json!({"before": "high", "after": null})
    );
    let confirmed = by["user.confirm_compromised"];
    assert_eq!(
        confirmed.change["risk_level"],
        json!({"before": null, "after": "high"})
    );
    assert_eq!(confirmed.change["reason"], "phished");

    assert_eq!(by["integration.update"].target, okta.id.to_string());
    assert_eq!(by["integration.update"].change["active"], false);
    assert_eq!(by["integration.delete"].change["reference_id"], "okta-2");
    let created_hook = by["webhook.create"];
    assert_eq!(created_hook.target, webhook.id.to_string());
    assert_eq!(
        created_hook.change,
        json!({"url_origin": "https://hooks.slack.com", "active": true,
               "format": "slack", "min_level": "medium"})
    );
    let created_stream = by["stream.create"];
    assert_eq!(created_stream.target, ssf.id.to_string());
    assert_eq!(created_stream.actor, "token:receiver");
    assert_eq!(created_stream.change["stream_id"], stream.stream_id);
    assert_eq!(
        created_stream.change["endpoint_origin"],
        "https://receiver.example"
    );
    assert_eq!(
        by["stream.status"].change,
        json!({"status": "paused", "reason": "maintenance"})
    );
    assert_eq!(by["stream.verify"].change, json!({"state": "s1"}));
    assert_eq!(by["stream.subject_remove"].change["email"], "u@example.com");
    let token_created = by["token.create"];
    assert_eq!(token_created.target, admin.id);
    assert_eq!(token_created.actor, "cli");
    assert_eq!(token_created.change["name"], "admin");
    assert_eq!(
        token_created.change["permissions"],
        json!(["Zero Trust Write"])
    );
    assert_eq!(by["api_key.set"].target, "ops@example.com");
    assert_eq!(by["token.revoke"].target, admin.id);

    // The other account sees only what concerns it: itself, and the credentials that act on
    // it.
    let other = entries(&*store, b).await?;
    let actions: Vec<&str> = other.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "account.create",
            "token.create",
            "api_key.set",
            "api_key.revoke",
            "token.revoke"
        ]
    );
    assert!(other.iter().all(|e| e.account == Some(b)));

    // Signing keys are in no account's log, but in the export, as all entries are.
    let (sink, mut chunks) = tokio::sync::mpsc::channel::<DumpChunk>(64);
    let export = {
        let store = store.clone();
        tokio::spawn(async move { store.export(sink).await })
    };
    let mut exported = Vec::new();
    while let Some(chunk) = chunks.recv().await {
        if chunk.table.name == "audit_log" {
            exported.extend(chunk.rows);
        }
    }
    export
        .await
        .unwrap_or_else(|e| panic!("export task: {e}"))?;
    let installation_wide: Vec<&Vec<DumpValue>> = exported
        .iter()
        .filter(|row| row[1] == DumpValue::Null)
        .collect();
    let actions: Vec<&DumpValue> = installation_wide.iter().map(|row| &row[4]).collect();
    assert_eq!(
        actions,
        [
            &DumpValue::Text("signing_key.create".into()),
            &DumpValue::Text("signing_key.rotate".into()),
            &DumpValue::Text("signing_key.retire".into()),
        ]
    );
    assert_eq!(exported.len(), log.len() + other.len() + 3);
    let dumped = format!("{exported:?}");
    assert!(!dumped.contains("private-key-bytes") && !dumped.contains(TOKEN_SECRET));
    Ok(())
}

pub async fn audit_log_filters_and_pages(h: &Harness) -> R {
    let store = h.open().await;
    let a = store.create_account("a", &Actor::Cli).await?.id;
    let b = store.create_account("b", &Actor::Cli).await?.id;
    for i in 0..5 {
        let body = json!({"behaviors": {"sig": {"enabled": i % 2 == 0, "risk_level": "low"}}});
        store.update_behaviors(a, update(body), &Actor::Cli).await?;
    }
    store
        .update_behaviors(
            b,
            update(json!({"behaviors": {"other": {"enabled": true, "risk_level": "low"}}})),
            &Actor::Cli,
        )
        .await?;
    let everything = entries(&*store, a).await?;
    assert_eq!(everything.len(), 6, "{everything:#?}");

    // Paging: newest first, with the total.
    let page = |page, per_page| AuditQuery {
        paging: Paging { page, per_page },
        ..all(PAGE)
    };
    let first: Page<AuditRecord> = store.audit_log(a, page(1, 4)).await?;
    let second = store.audit_log(a, page(2, 4)).await?;
    assert_eq!((first.total_count, second.total_count), (6, 6));
    assert_eq!((first.items.len(), second.items.len()), (4, 2));
    let ids: Vec<i64> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|e| e.id)
        .collect();
    let expected: Vec<i64> = everything.iter().map(|e| e.id).collect();
    assert_eq!(ids, expected);
    assert!(store.audit_log(a, page(3, 4)).await?.items.is_empty());

    // By action.
    let behaviors = store
        .audit_log(
            a,
            AuditQuery {
                action: Some(AuditAction::BehaviorsUpdate),
                ..all(PAGE)
            },
        )
        .await?;
    assert_eq!(behaviors.total_count, 5);
    assert!(
        behaviors
            .items
            .iter()
            .all(|e| e.action == "behaviors.update")
    );
    let none = store
        .audit_log(
            a,
            AuditQuery {
                action: Some(AuditAction::TokenRevoke),
                ..all(PAGE)
            },
        )
        .await?;
    assert_eq!((none.total_count, none.items.len()), (0, 0));

    // Since: inclusive.
    let third_newest = everything[2].at;
    let since = store
        .audit_log(
            a,
            AuditQuery {
                since: Some(third_newest),
                ..all(PAGE)
            },
        )
        .await?;
    assert!(since.items.len() >= 3, "{since:?}");
    assert!(since.items.iter().all(|e| e.at >= third_newest));
    let later = store
        .audit_log(
            a,
            AuditQuery {
                since: Some(chrono::Utc::now() + chrono::Duration::hours(1)),
                ..all(PAGE)
            },
        )
        .await?;
    assert_eq!(later.total_count, 0);
    // An account without entries, or unknown, lists nothing.
    assert_eq!(entries(&*store, AccountId::random()).await?.len(), 0);
    Ok(())
}

pub async fn a_failed_change_writes_no_audit_entry(h: &Harness) -> R {
    let store = h.open().await;
    let a = store.create_account("a", &Actor::Cli).await?.id;
    let fields = IntegrationFields {
        integration_type: IntegrationType::Okta,
        active: true,
        reference_id: "taken".into(),
        tenant_url: "https://acme.okta.com".into(),
    };
    store
        .create_integration(a, fields.clone(), &Actor::Cli)
        .await?;
    let before = entries(&*store, a).await?.len();
    let conflict = store.create_integration(a, fields, &Actor::Cli).await;
    assert!(
        matches!(conflict, Err(StoreError::Conflict(_))),
        "{conflict:?}"
    );
    // A stream for an integration that is not SSF, a token for an unknown account.
    let okta = store.list_integrations(a).await?[0].id;
    let stream = StreamFields {
        delivery: StreamDelivery::Poll,
        events_requested: vec![],
        description: None,
    };
    assert!(
        store
            .create_stream(a, okta, stream, &Actor::Cli)
            .await
            .is_err()
    );
    let ghost = AccountId::random();
    assert!(
        store
            .create_token(token("t", vec![a, ghost]), &Actor::Cli)
            .await
            .is_err()
    );
    // Nothing found, nothing changed: no entry either.
    assert!(
        !store
            .delete_integration(a, uuid::Uuid::new_v4(), &Actor::Cli)
            .await?
    );
    assert!(!store.revoke_token("no-such-token", &Actor::Cli).await?);
    assert!(
        !store
            .revoke_api_key("nobody@example.com", &Actor::Cli)
            .await?
    );
    assert_eq!(entries(&*store, a).await?.len(), before);
    Ok(())
}
