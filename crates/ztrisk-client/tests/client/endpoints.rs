//! Every endpoint against a live ztrisk.

use crate::support::{Clients, api_error};
use serde_json::{Value, json};
use ztrisk_client::types::{
    AuditAction, AuditParams, BehaviorSetting, BehaviourUpdateParams, Direction, IntegrationCreate,
    IntegrationUpdate, RiskEventOrder, RiskLevel, SummaryOrder, SummaryParams, UserParams,
};
use ztrisk_client::{ApiErrorKind, Client, Error};
use ztrisk_core::Permission;
use ztrisk_server::testing::TestServer;

/// A `behavior` event `minutes` after 2026-01-10 10:00 UTC. A behavior fires at most once an
/// hour per user (repeat suppression), so repeats are spaced further apart.
fn signal(id: &str, email: &str, behavior: &str, minutes: u32) -> Value {
    let (hour, minute) = (10 + minutes / 60, minutes % 60);
    json!({"id": id, "type": "behavior", "behavior": behavior,
           "timestamp": format!("2026-01-10T{hour:02}:{minute:02}:00Z"), "user": {"email": email}})
}

/// Enables two custom behaviors and sends events that score two users.
async fn scored(server: &TestServer, client: &Client) -> (String, String) {
    let params = BehaviourUpdateParams::new()
        .behavior("vpn_anomaly", true, RiskLevel::Medium)
        .behavior("bad_badge", true, RiskLevel::High);
    client
        .zero_trust()
        .risk_scoring()
        .behaviours()
        .update(&server.account_tag(), params)
        .await
        .unwrap_or_else(|e| panic!("update: {e}"));
    let events = [
        signal("e1", "alice@example.com", "vpn_anomaly", 1),
        signal("e2", "alice@example.com", "bad_badge", 2),
        signal("e3", "bob@example.com", "vpn_anomaly", 3),
    ];
    let result = client
        .zero_trust()
        .risk_scoring()
        .events()
        .ingest(&server.account_tag(), &events)
        .await
        .unwrap_or_else(|e| panic!("ingest: {e}"));
    assert_eq!((result.accepted, result.risk_events), (3, 3), "{result:?}");
    let summary = client
        .zero_trust()
        .risk_scoring()
        .summary()
        .get(&server.account_tag())
        .await
        .unwrap_or_else(|e| panic!("summary: {e}"));
    let id = |email: &str| {
        summary
            .users
            .iter()
            .find(|u| u.email == email)
            .map(|u| u.user_id.clone())
            .unwrap_or_else(|| panic!("{email} not in {summary:?}"))
    };
    (id("alice@example.com"), id("bob@example.com"))
}

#[tokio::test]
async fn behaviours_get_and_update() {
    let server = TestServer::start().await;
    let client = server.client();
    let behaviours = client.zero_trust().risk_scoring().behaviours();

    let all = behaviours
        .get(&server.account_tag())
        .await
        .unwrap_or_else(|e| panic!("get: {e}"));
    assert_eq!(all.len(), 9);
    // The server's catalog order is kept.
    assert_eq!(all.behaviors[0].0, "imp_travel");
    let travel = all
        .get("imp_travel")
        .unwrap_or_else(|| panic!("imp_travel"));
    assert_eq!(travel.name.as_deref(), Some("Impossible Travel"));
    assert!(!travel.enabled);
    assert_eq!(travel.risk_level, RiskLevel::High);
    assert!(travel.settings.is_some());

    // The seed example, verbatim.
    let updated = behaviours
        .update(
            &server.account_tag(),
            BehaviourUpdateParams::new().behavior("foo", true, RiskLevel::Low),
        )
        .await
        .unwrap_or_else(|e| panic!("update: {e}"));
    let foo = updated.get("foo").unwrap_or_else(|| panic!("foo"));
    assert!(foo.enabled);
    assert_eq!(foo.risk_level, RiskLevel::Low);
    assert_eq!(updated.len(), 10);

    // Settings of a predefined behavior.
    let updated = behaviours
        .update(
            &server.account_tag(),
            BehaviourUpdateParams::new().entry(
                "imp_travel",
                BehaviorSetting::new(true, RiskLevel::Medium).setting("max_speed_kmh", 1200),
            ),
        )
        .await
        .unwrap_or_else(|e| panic!("update settings: {e}"));
    let travel = updated
        .get("imp_travel")
        .unwrap_or_else(|| panic!("imp_travel"));
    assert_eq!(
        travel
            .settings
            .as_ref()
            .and_then(|s| s.get("max_speed_kmh"))
            .cloned(),
        Some(json!(1200))
    );

    // Atomic, and every problem with its pointer.
    let error = api_error(
        behaviours
            .update(
                &server.account_tag(),
                BehaviourUpdateParams::new()
                    .behavior("Not-An-Id", true, RiskLevel::Low)
                    .entry(
                        "imp_travel",
                        BehaviorSetting::new(true, RiskLevel::High).setting("max_speed_kmh", -5),
                    ),
            )
            .await,
    );
    assert_eq!(error.status, 400);
    assert_eq!(error.kind(), ApiErrorKind::BadRequest);
    assert_eq!(error.codes(), vec![1001, 1001]);
    let mut pointers = error.pointers();
    pointers.sort_unstable();
    assert_eq!(pointers[0], "/behaviors/Not-An-Id");
    assert!(
        pointers[1].starts_with("/behaviors/imp_travel/settings"),
        "{pointers:?}"
    );
    assert!(error.request_id.is_some());
    let after = behaviours
        .get(&server.account_tag())
        .await
        .unwrap_or_else(|e| panic!("get: {e}"));
    assert_eq!(after, updated, "a refused update changes nothing");
}

#[tokio::test]
async fn events_summary_user_and_reset() {
    let server = TestServer::start().await;
    let client = server.client();
    let risk = client.zero_trust().risk_scoring();
    let (alice, bob) = scored(&server, &client).await;

    // NDJSON, with a duplicate and a bad event rejected alone.
    let ndjson = format!(
        "{}\n{}\n{{\"type\": \"nope\"}}\n",
        signal("e3", "bob@example.com", "vpn_anomaly", 3),
        signal("e4", "bob@example.com", "vpn_anomaly", 70)
    );
    let result = risk
        .events()
        .ingest_raw(
            &server.account_tag(),
            ndjson,
            ztrisk_client::resources::EventsFormat::NdJson,
        )
        .await
        .unwrap_or_else(|e| panic!("ndjson: {e}"));
    assert_eq!(
        (result.accepted, result.duplicates, result.risk_events),
        (1, 1, 1)
    );
    assert_eq!(result.rejected.len(), 1);
    assert_eq!(result.rejected[0].index, 2);
    assert!(
        result.rejected[0].errors[0]
            .source
            .as_ref()
            .is_some_and(|s| s.pointer.starts_with("/2")),
        "{result:?}"
    );

    // Summary: highest level first by default.
    let summary = risk
        .summary()
        .get(&server.account_tag())
        .await
        .unwrap_or_else(|e| panic!("summary: {e}"));
    assert_eq!(summary.users.len(), 2);
    assert_eq!(summary.users[0].user_id, alice);
    assert_eq!(summary.users[0].max_risk_level, Some(RiskLevel::High));
    assert_eq!(summary.users[0].event_count, 2);
    assert_eq!(summary.users[0].name, "alice");
    assert_eq!(summary.users[1].event_count, 2);
    let paged = risk
        .summary()
        .get_with(
            &server.account_tag(),
            SummaryParams {
                page: Some(1),
                per_page: Some(1),
                order_by: Some(SummaryOrder::Timestamp),
                direction: Some(Direction::Desc),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("summary page: {e}"));
    assert_eq!(paged.result.users.len(), 1);
    assert_eq!(
        paged.result.users[0].user_id, bob,
        "bob has the newest event"
    );
    let info = paged.result_info.unwrap_or_else(|| panic!("result_info"));
    assert_eq!(
        (info.page, info.per_page, info.total_count, info.total_pages),
        (1, 1, 2, 2)
    );
    assert!(risk.summary().get(&server.account_tag()).await.is_ok());

    // One user.
    let user = risk
        .get(&server.account_tag(), &alice)
        .await
        .unwrap_or_else(|e| panic!("user: {e}"));
    assert_eq!(user.email, "alice@example.com");
    assert_eq!(user.risk_level, Some(RiskLevel::High));
    assert_eq!(user.last_reset_time, None);
    assert_eq!(user.events.len(), 2);
    assert_eq!(user.events[0].name, "bad_badge", "newest first");
    assert!(user.events[0].event_details.is_some());
    let page = risk
        .get_with(
            &server.account_tag(),
            &alice,
            UserParams {
                page: Some(2),
                per_page: Some(1),
                order_by: Some(RiskEventOrder::RiskLevel),
                direction: Some(Direction::Asc),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("user page: {e}"));
    assert_eq!(page.result.events.len(), 1);
    assert_eq!(page.result.events[0].risk_level, Some(RiskLevel::High));
    assert_eq!(page.result_info.map(|i| i.total_count), Some(2));

    // Reset.
    risk.reset(&server.account_tag(), &alice)
        .await
        .unwrap_or_else(|e| panic!("reset: {e}"));
    risk.reset(&server.account_tag(), &alice)
        .await
        .unwrap_or_else(|e| panic!("reset again: {e}"));
    let user = risk
        .get(&server.account_tag(), &alice)
        .await
        .unwrap_or_else(|e| panic!("user: {e}"));
    assert_eq!(user.risk_level, None);
    assert!(user.last_reset_time.is_some());
    assert!(user.events.is_empty());
    let summary = risk
        .summary()
        .get(&server.account_tag())
        .await
        .unwrap_or_else(|e| panic!("summary: {e}"));
    assert_eq!(summary.users.len(), 1);

    // Unknown users.
    let unknown = "00000000-0000-4000-8000-000000000000";
    let error = api_error(risk.get(&server.account_tag(), unknown).await);
    assert_eq!((error.status, error.kind()), (404, ApiErrorKind::NotFound));
    assert_eq!(error.codes(), vec![1404]);
    let error = api_error(risk.reset(&server.account_tag(), unknown).await);
    assert_eq!(error.codes(), vec![1404]);
    let error = api_error(risk.get(&server.account_tag(), "not-a-uuid").await);
    assert_eq!(error.codes(), vec![7003, 7000]);
}

#[tokio::test]
async fn integrations_crud() {
    let server = TestServer::start().await;
    let client = server.client();
    let integrations = client.zero_trust().risk_scoring().integrations();

    assert!(
        integrations
            .list(&server.account_tag())
            .await
            .unwrap_or_else(|e| panic!("list: {e}"))
            .is_empty()
    );
    let created = integrations
        .create(
            &server.account_tag(),
            IntegrationCreate::okta("https://example.okta.com").reference_id("okta idp/1"),
        )
        .await
        .unwrap_or_else(|e| panic!("create: {e}"));
    assert!(created.active);
    assert_eq!(created.integration_type, "Okta");
    assert_eq!(created.account_tag, server.account_tag());
    assert_eq!(created.reference_id, "okta idp/1");
    assert_eq!(
        created.well_known_url,
        format!(
            "{}/.well-known/sse-configuration/{}/",
            server.base_url, created.id
        )
    );
    assert_eq!(
        integrations
            .list(&server.account_tag())
            .await
            .unwrap_or_else(|e| panic!("list: {e}")),
        vec![created.clone()]
    );
    assert_eq!(
        integrations
            .get(&server.account_tag(), &created.id)
            .await
            .unwrap_or_else(|e| panic!("get: {e}")),
        created
    );
    // A reference id that needs percent-encoding in the path.
    assert_eq!(
        integrations
            .references()
            .get(&server.account_tag(), "okta idp/1")
            .await
            .unwrap_or_else(|e| panic!("by reference: {e}")),
        created
    );

    let updated = integrations
        .update(
            &server.account_tag(),
            &created.id,
            IntegrationUpdate::new(false, "https://other.okta.com").reference_id("r2"),
        )
        .await
        .unwrap_or_else(|e| panic!("update: {e}"));
    assert!(!updated.active);
    assert_eq!(
        (updated.tenant_url.as_str(), updated.reference_id.as_str()),
        ("https://other.okta.com", "r2")
    );
    assert_eq!(updated.created_at, created.created_at);

    // Conflict (409 is retried, as the official SDKs do, then reported).
    let error = api_error(
        integrations
            .create(
                &server.account_tag(),
                IntegrationCreate::okta("https://x.okta.com").reference_id("r2"),
            )
            .await,
    );
    assert_eq!((error.status, error.kind()), (409, ApiErrorKind::Conflict));
    assert_eq!(error.codes(), vec![1409]);

    // Validation.
    let error = api_error(
        integrations
            .create(
                &server.account_tag(),
                IntegrationCreate::okta("http://example.com"),
            )
            .await,
    );
    assert_eq!(error.pointers(), vec!["/tenant_url"]);

    integrations
        .delete(&server.account_tag(), &created.id)
        .await
        .unwrap_or_else(|e| panic!("delete: {e}"));
    let error = api_error(integrations.get(&server.account_tag(), &created.id).await);
    assert_eq!(error.codes(), vec![1404]);
    let error = api_error(
        integrations
            .delete(&server.account_tag(), &created.id)
            .await,
    );
    assert_eq!(error.kind(), ApiErrorKind::NotFound);
    let error = api_error(
        integrations
            .references()
            .get(&server.account_tag(), "r2")
            .await,
    );
    assert_eq!(error.codes(), vec![1404]);
}

#[tokio::test]
async fn credentials_and_base_urls() {
    let server = TestServer::start().await;

    // Token verification.
    let verified = server
        .client()
        .user()
        .tokens()
        .verify()
        .await
        .unwrap_or_else(|e| panic!("verify: {e}"));
    assert_eq!(verified.status, "active");

    // The global API key, and the root-style base URL.
    let by_key = server
        .builder()
        .base_url(&server.base_url)
        .api_key(&server.key)
        .api_email(&server.key_email)
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"));
    let all = by_key
        .zero_trust()
        .risk_scoring()
        .behaviours()
        .get(&server.account_tag())
        .await
        .unwrap_or_else(|e| panic!("get by key: {e}"));
    assert_eq!(all.len(), 9);

    // An unknown token: 403, code 10000.
    let stranger = server
        .builder()
        .api_token("a".repeat(40))
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"));
    let error = api_error(
        stranger
            .zero_trust()
            .risk_scoring()
            .behaviours()
            .get(&server.account_tag())
            .await,
    );
    assert_eq!(
        (error.status, error.kind(), error.codes()),
        (403, ApiErrorKind::PermissionDenied, vec![10000])
    );

    // A malformed token: 400, code 6003 with the cause 6111 in error_chain.
    let malformed = server
        .builder()
        .api_token("short")
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"));
    let error = api_error(malformed.user().tokens().verify().await);
    assert_eq!(error.status, 400);
    assert_eq!(error.errors[0].code, 6003);
    assert_eq!(error.errors[0].error_chain[0].code, 6111);
    assert!(error.has_code(6111));

    // A missing permission: 403, code 9109, the message naming it.
    let reader = server.client_with(&[Permission::ZeroTrustRead]).await;
    let error = api_error(
        reader
            .zero_trust()
            .risk_scoring()
            .summary()
            .get(&server.account_tag())
            .await,
    );
    assert_eq!(error.codes(), vec![9109]);
    assert!(error.errors[0].message.contains("PII"), "{error}");
    assert!(
        reader
            .zero_trust()
            .risk_scoring()
            .behaviours()
            .get(&server.account_tag())
            .await
            .is_ok()
    );

    // A malformed account id is no route.
    let error = api_error(
        server
            .client()
            .zero_trust()
            .risk_scoring()
            .behaviours()
            .get("not-an-account")
            .await,
    );
    assert_eq!(
        (error.kind(), error.codes()),
        (ApiErrorKind::NotFound, vec![7003, 7000])
    );

    // An empty id never leaves the client.
    let result = server
        .client()
        .zero_trust()
        .risk_scoring()
        .get(&server.account_tag(), "")
        .await;
    assert!(
        matches!(result, Err(Error::InvalidParameter(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn audit_list_with_filters_and_paging() {
    let server = TestServer::start().await;
    let client = server.client();
    let account = server.account_tag();
    let (alice, _) = scored(&server, &client).await;
    let scoring = client.zero_trust().risk_scoring();
    scoring
        .reset(&account, &alice)
        .await
        .unwrap_or_else(|e| panic!("reset: {e}"));

    let audit = scoring.audit();
    let all = audit
        .list(&account, AuditParams::default())
        .await
        .unwrap_or_else(|e| panic!("list: {e}"));
    let info = all.result_info.unwrap_or_else(|| panic!("no result_info"));
    assert_eq!((info.page, info.per_page), (1, 25));
    assert_eq!(info.total_count, all.result.len() as u64);
    let newest = &all.result[0];
    assert_eq!(newest.action, AuditAction::UserReset.as_str());
    assert_eq!(newest.target, alice);
    assert!(newest.actor.starts_with("token:"), "{newest:?}");
    assert_eq!(newest.change["risk_level"]["before"], "high");

    let behaviors = audit
        .list(
            &account,
            AuditParams {
                action: Some(AuditAction::BehaviorsUpdate),
                since: Some(newest.at - chrono::Duration::hours(1)),
                page: Some(1),
                per_page: Some(1),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("filtered: {e}"));
    assert_eq!(behaviors.result.len(), 1);
    assert_eq!(behaviors.result[0].target, "bad_badge,vpn_anomaly");
    assert_eq!(behaviors.result_info.map(|i| i.total_count), Some(1));

    // Reading the log takes Zero Trust: PII Read.
    let reader = server.client_with(&[Permission::ZeroTrustRead]).await;
    let refused = reader
        .zero_trust()
        .risk_scoring()
        .audit()
        .list(&account, AuditParams::default())
        .await;
    assert!(
        matches!(&refused, Err(Error::Api(e)) if e.status == 403),
        "{refused:?}"
    );
}
