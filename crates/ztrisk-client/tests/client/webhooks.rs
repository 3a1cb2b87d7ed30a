//! Webhooks and deliveries (ztrisk's risk sharing) against a live ztrisk, with a loopback
//! receiver.

use crate::support::{Clients, api_error};
use axum::http::StatusCode;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use ztrisk_client::types::{
    BehaviourUpdateParams, DeliveriesParams, Delivery, DeliveryStatus, IntegrationCreate,
    RiskLevel, WebhookFields, WebhookFormat,
};
use ztrisk_client::{ApiErrorKind, Client, Error, Paged};
use ztrisk_server::testing::{TestServer, listen};

/// A receiver on loopback that answers every POST with 202 and counts them.
async fn receiver() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            StatusCode::ACCEPTED
        }
    });
    let (listener, addr) = listen().await;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), hits)
}

/// Polls a destination's deliveries until none is pending.
async fn settled<F, Fut>(fetch: F) -> Paged<Vec<Delivery>>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Paged<Vec<Delivery>>, Error>>,
{
    let start = Instant::now();
    loop {
        let page = fetch().await.unwrap_or_else(|e| panic!("deliveries: {e}"));
        let pending = page
            .result
            .iter()
            .any(|d| d.status == DeliveryStatus::Pending.as_str());
        if (!page.result.is_empty() && !pending) || start.elapsed() > Duration::from_secs(10) {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_crud_test_and_errors() {
    let server = TestServer::start().await;
    let client = server.client();
    let account = server.account_tag();
    let webhooks = client.zero_trust().risk_scoring().webhooks();
    let (url, hits) = receiver().await;

    assert!(
        webhooks
            .list(&account)
            .await
            .unwrap_or_else(|e| panic!("list: {e}"))
            .is_empty()
    );
    let created = webhooks
        .create(
            &account,
            WebhookFields {
                min_level: Some(RiskLevel::Medium),
                ..WebhookFields::new(format!("{url}/hook"))
            },
        )
        .await
        .unwrap_or_else(|e| panic!("create: {e}"));
    assert_eq!(created.url, format!("{url}/hook"));
    assert!(created.active);
    assert_eq!(created.format, WebhookFormat::Standard.as_str());
    assert_eq!(created.min_level, RiskLevel::Medium);
    // The secret only in the answer to the creation.
    let secret = created.secret.clone().unwrap_or_default();
    assert!(secret.starts_with("whsec_"), "{created:?}");
    let fetched = webhooks
        .get(&account, &created.id)
        .await
        .unwrap_or_else(|e| panic!("get: {e}"));
    assert_eq!(fetched.secret, None);
    assert_eq!(
        fetched,
        ztrisk_client::types::Webhook {
            secret: None,
            ..created.clone()
        }
    );
    assert_eq!(
        webhooks
            .list(&account)
            .await
            .unwrap_or_else(|e| panic!("list: {e}")),
        vec![fetched.clone()]
    );

    // A test delivery, now.
    let tested = webhooks
        .test(&account, &created.id)
        .await
        .unwrap_or_else(|e| panic!("test: {e}"));
    assert!(tested.delivered, "{tested:?}");
    assert_eq!(tested.status, Some(202));
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    let updated = webhooks
        .update(
            &account,
            &created.id,
            WebhookFields {
                active: Some(false),
                format: Some(WebhookFormat::Slack.as_str().into()),
                min_level: Some(RiskLevel::High),
                ..WebhookFields::new(format!("{url}/slack"))
            },
        )
        .await
        .unwrap_or_else(|e| panic!("update: {e}"));
    assert_eq!(
        (
            updated.active,
            updated.format.as_str(),
            updated.min_level,
            updated.url.as_str()
        ),
        (
            false,
            "slack",
            RiskLevel::High,
            format!("{url}/slack").as_str()
        )
    );
    assert_eq!(updated.created_at, created.created_at);
    assert_eq!(updated.secret, None);

    // Validation: every field at fault, with its pointer.
    let error = api_error(
        webhooks
            .create(
                &account,
                WebhookFields {
                    format: Some("teams".into()),
                    ..WebhookFields::new("http://example.com/x")
                },
            )
            .await,
    );
    assert_eq!(
        (error.status, error.kind()),
        (400, ApiErrorKind::BadRequest)
    );
    assert_eq!(error.codes(), vec![1001, 1001]);
    assert_eq!(error.pointers(), vec!["/url", "/format"]);

    webhooks
        .delete(&account, &created.id)
        .await
        .unwrap_or_else(|e| panic!("delete: {e}"));
    let error = api_error(webhooks.get(&account, &created.id).await);
    assert_eq!(
        (error.status, error.kind(), error.codes()),
        (404, ApiErrorKind::NotFound, vec![1404])
    );
    for error in [
        api_error(webhooks.delete(&account, &created.id).await),
        api_error(webhooks.test(&account, &created.id).await),
        api_error(
            webhooks
                .deliveries(&account, &created.id, DeliveriesParams::default())
                .await,
        ),
    ] {
        assert_eq!(error.kind(), ApiErrorKind::NotFound, "{error}");
    }
    assert!(matches!(
        webhooks.get(&account, "").await,
        Err(Error::InvalidParameter(_))
    ));
    server.shutdown().await;
}

/// Enables `bad_badge` at `high` and sends one event that scores `email`.
async fn score(client: &Client, account: &str, email: &str) {
    let risk_scoring = client.zero_trust().risk_scoring();
    risk_scoring
        .behaviours()
        .update(
            account,
            BehaviourUpdateParams::new().behavior("bad_badge", true, RiskLevel::High),
        )
        .await
        .unwrap_or_else(|e| panic!("behaviors: {e}"));
    let event = json!({"id": "b1", "type": "behavior", "behavior": "bad_badge",
                       "timestamp": "2026-01-10T10:00:00Z", "user": {"email": email}});
    let result = risk_scoring
        .events()
        .ingest(account, &[event])
        .await
        .unwrap_or_else(|e| panic!("ingest: {e}"));
    assert_eq!(result.risk_events, 1, "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_of_webhooks_and_integrations() {
    let server = TestServer::start().await;
    let client = server.client();
    let account = server.account_tag();
    let risk_scoring = client.zero_trust().risk_scoring();
    let (url, hits) = receiver().await;
    let hook = risk_scoring
        .webhooks()
        .create(&account, WebhookFields::new(format!("{url}/hook")))
        .await
        .unwrap_or_else(|e| panic!("webhook: {e}"));
    let integration = risk_scoring
        .integrations()
        .create(&account, IntegrationCreate::okta(url.clone()))
        .await
        .unwrap_or_else(|e| panic!("integration: {e}"));
    let none = risk_scoring
        .webhooks()
        .deliveries(&account, &hook.id, DeliveriesParams::default())
        .await
        .unwrap_or_else(|e| panic!("deliveries: {e}"));
    assert!(none.result.is_empty());
    assert_eq!(none.result_info.map(|i| i.total_count), Some(0));

    score(&client, &account, "dana@example.com").await;
    let webhooks = risk_scoring.webhooks();
    let integrations = risk_scoring.integrations();
    let to_hook =
        settled(|| webhooks.deliveries(&account, &hook.id, DeliveriesParams::default())).await;
    let to_okta =
        settled(|| integrations.deliveries(&account, &integration.id, DeliveriesParams::default()))
            .await;
    for page in [&to_hook, &to_okta] {
        assert_eq!(page.result.len(), 1, "{page:?}");
        let delivery = &page.result[0];
        assert_eq!(delivery.email, "dana@example.com");
        assert_eq!(
            (delivery.previous_level, delivery.current_level),
            (None, Some(RiskLevel::High))
        );
        assert_eq!(delivery.status, DeliveryStatus::Delivered.as_str());
        assert_eq!(delivery.attempts, 1);
        assert!(delivery.last_attempt_at.is_some() && delivery.next_attempt_at.is_none());
        assert_eq!(delivery.id.len(), 32, "a jti / webhook-id: {delivery:?}");
        let info = page.result_info.unwrap_or_else(|| panic!("result_info"));
        assert_eq!((info.page, info.total_count), (1, 1));
    }
    assert_ne!(to_hook.result[0].id, to_okta.result[0].id);
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    // Paging.
    let beyond = integrations
        .deliveries(
            &account,
            &integration.id,
            DeliveriesParams {
                page: Some(2),
                per_page: Some(1),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("page 2: {e}"));
    assert!(beyond.result.is_empty());
    assert_eq!(
        beyond
            .result_info
            .map(|i| (i.page, i.per_page, i.total_count)),
        Some((2, 1, 1))
    );
    let error = api_error(
        integrations
            .deliveries(
                &account,
                &integration.id,
                DeliveriesParams {
                    page: None,
                    per_page: Some(0),
                },
            )
            .await,
    );
    assert_eq!(error.pointers(), vec!["/per_page"]);
    let error = api_error(
        integrations
            .deliveries(
                &account,
                "00000000-0000-4000-8000-000000000000",
                DeliveriesParams::default(),
            )
            .await,
    );
    assert_eq!((error.status, error.codes()), (404, vec![1404]));
    server.shutdown().await;
}
