//! Risk sharing end to end (spec 4): level changes leave ztrisk as signed SETs that a real
//! Shared Signals receiver (`easyssf-receiver`, not ours) verifies against ztrisk's published
//! keys, and as webhooks; receivers that fail are retried, refused deliveries fail, and the
//! deliveries API shows it all.

use crate::support::{Http, LONDON, NEW_YORK, PARIS, enable_impossible_travel, login, send};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::response::IntoResponse;
use easyssf_core::SsfDeliveryMethod;
use easyssf_receiver::SsfReceiver;
use easyssf_receiver::config::{SsfReceiverConfig, SsfSubjectCompatibility};
use easyssf_receiver::event::{SsfEventContext, for_event};
use easyssf_receiver::metrics::{SsfReceiverMetrics, SsfSetOutcome};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use ztrisk_server::testing::{TestServer, listen};

const OKTA_EVENT: &str = "https://schemas.okta.com/secevent/okta/event-type/user-risk-change";
const OKTA_PATH: &str = "/security/api/v1/security-events";
/// In a peer's script: hang instead of answering.
const HANG: u16 = 0;

#[derive(Default, Clone)]
struct Outcomes(Arc<Mutex<Vec<SsfSetOutcome>>>);

impl SsfReceiverMetrics for Outcomes {
    fn set_received(&self, _: Option<&str>, _: SsfDeliveryMethod, outcome: SsfSetOutcome) {
        if let Ok(mut all) = self.0.lock() {
            all.push(outcome);
        }
    }
}

/// What the peer got: one POST.
#[derive(Debug, Clone)]
struct Push {
    path: String,
    headers: HeaderMap,
    body: Bytes,
    answered: u16,
}

/// A receiver on loopback: records every POST, answers the statuses of `script` first, then
/// lets the easyssf receiver (when there is one) judge, or answers 202.
#[derive(Clone)]
struct Peer {
    url: String,
    pushes: Arc<Mutex<Vec<Push>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
    ssf: Arc<Mutex<Option<Arc<SsfReceiver>>>>,
}

impl Peer {
    async fn start() -> Self {
        let (listener, addr) = listen().await;
        let peer = Peer {
            url: format!("http://{addr}"),
            pushes: Arc::default(),
            script: Arc::default(),
            ssf: Arc::default(),
        };
        let app = Router::new()
            .fallback(axum::routing::post(receive))
            .with_state(peer.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        peer
    }

    fn answer_first(&self, statuses: &[u16]) {
        if let Ok(mut script) = self.script.lock() {
            script.extend(statuses);
        }
    }

    fn pushes(&self) -> Vec<Push> {
        self.pushes.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Waits until at least `count` pushes arrived; returns them.
    async fn wait_for(&self, count: usize, within: Duration) -> Vec<Push> {
        let start = std::time::Instant::now();
        loop {
            let pushes = self.pushes();
            if pushes.len() >= count || start.elapsed() > within {
                return pushes;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn receive(
    State(peer): State<Peer>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let scripted = peer.script.lock().ok().and_then(|mut s| s.pop_front());
    if scripted == Some(HANG) {
        // A receiver that never answers (within ztrisk's 10 s timeout).
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    let ssf = peer.ssf.lock().ok().and_then(|s| s.clone());
    let (status, answer) = match (scripted, ssf) {
        (Some(status), _) => (status, String::new()),
        (None, Some(ssf)) => {
            let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
            let response = ssf.push_handler().handle(auth, &body).await;
            (response.status, response.body.unwrap_or_default())
        }
        (None, None) => (202, String::new()),
    };
    if let Ok(mut pushes) = peer.pushes.lock() {
        pushes.push(Push {
            path: uri.path().to_owned(),
            headers,
            body,
            answered: status,
        });
    }
    let status = AxumStatus::from_u16(status).unwrap_or(AxumStatus::INTERNAL_SERVER_ERROR);
    (status, answer).into_response()
}

/// An easyssf receiver that trusts the integration's issuer and expects `audience`.
fn ssf_receiver(
    issuer: &str,
    audience: &str,
) -> (
    Arc<SsfReceiver>,
    tokio::sync::mpsc::UnboundedReceiver<SsfEventContext>,
    Outcomes,
) {
    let mut config = SsfReceiverConfig::for_transmitter(issuer);
    config.transmitter.expected_audience = Some(audience.to_owned());
    config.transmitter.push.endpoint_path = OKTA_PATH.into();
    // Okta's SET names its subject inside the event, not in a top-level sub_id.
    config.transmitter.set_validation.subject_compatibility = SsfSubjectCompatibility::Legacy;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let outcomes = Outcomes::default();
    let receiver = SsfReceiver::builder(config)
        .http_client(Http(reqwest::Client::new()))
        .metrics(outcomes.clone())
        .handler(for_event(OKTA_EVENT, move |ctx: SsfEventContext| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(ctx);
                Ok(())
            }
        }))
        .build()
        .unwrap_or_else(|e| panic!("receiver: {e}"));
    receiver.start();
    (Arc::new(receiver), rx, outcomes)
}

async fn create_okta(server: &TestServer, tenant_url: &str) -> String {
    let (status, body) = server
        .admin_call(
            Method::POST,
            "/integrations",
            Some(&json!({"integration_type": "Okta", "tenant_url": tenant_url}).to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["result"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned()
}

async fn next_event(events: &mut tokio::sync::mpsc::UnboundedReceiver<SsfEventContext>) -> Value {
    let ctx = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .unwrap_or_else(|_| panic!("no SET reached the receiver within 10 s"))
        .unwrap_or_else(|| panic!("receiver gone"));
    ctx.event_for(OKTA_EVENT)
        .cloned()
        .map(Value::Object)
        .unwrap_or_else(|| panic!("not an Okta risk change"))
}

async fn deliveries(server: &TestServer, rest: &str) -> Vec<Value> {
    let (status, body) = server.admin_call(Method::GET, rest, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["result"].as_array().cloned().unwrap_or_default()
}

/// Waits until every delivery of `rest` is settled.
async fn settled(server: &TestServer, rest: &str, within: Duration) -> Vec<Value> {
    let start = std::time::Instant::now();
    loop {
        let all = deliveries(server, rest).await;
        if all.iter().all(|d| d["status"] != "pending") || start.elapsed() > within {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_sets_reach_a_standard_receiver_and_verify() {
    let server = TestServer::start().await;
    let peer = Peer::start().await;
    let id = create_okta(&server, &peer.url).await;
    let issuer = format!("{}/{id}", server.base_url);

    // Discovery, as the receiver reads it: public, both spellings, with and without slash.
    for path in [
        format!("/.well-known/sse-configuration/{id}/"),
        format!("/.well-known/sse-configuration/{id}"),
        format!("/.well-known/ssf-configuration/{id}"),
    ] {
        let (status, doc) = server.call_with(Method::GET, &path, &[], None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {doc}");
        assert_eq!(doc["issuer"], issuer.as_str());
        assert_eq!(
            doc["jwks_uri"],
            format!("{}/.well-known/jwks.json", server.base_url)
        );
        assert_eq!(doc["spec_version"], "1_0");
    }
    let (status, missing) = server
        .call_with(
            Method::GET,
            "/.well-known/sse-configuration/00000000-0000-4000-8000-000000000000",
            &[],
            None,
        )
        .await;
    assert_eq!(
        (status, missing["errors"][0]["code"].clone()),
        (StatusCode::NOT_FOUND, json!(1404))
    );
    let (status, jwks) = server
        .call_with(Method::GET, "/.well-known/jwks.json", &[], None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(1), "{jwks}");
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
    assert!(jwks["keys"][0].get("d").is_none(), "no private member");

    let (ssf, mut events, outcomes) = ssf_receiver(&issuer, &peer.url);
    if let Ok(mut slot) = peer.ssf.lock() {
        *slot = Some(ssf.clone());
    }

    // Impossible travel: one SET, unscored (sent as low) -> high, by policy.
    enable_impossible_travel(&server).await;
    send(
        &server,
        &[
            login("e1", "jane@example.com", 0, PARIS),
            login("e2", "jane@example.com", 10, NEW_YORK),
        ],
    )
    .await;
    let raised = next_event(&mut events).await;
    assert_eq!(raised["current_level"], "high");
    assert_eq!(raised["previous_level"], "low");
    assert_eq!(raised["initiating_entity"], "policy");
    assert_eq!(raised["reason_admin"]["en"], "Impossible Travel");
    assert_eq!(raised["subject"]["user"]["email"], "jane@example.com");

    // A reset: high -> low, by an administrator.
    let user_id = crate::support::user_by_email(&server, "jane@example.com")
        .await
        .unwrap_or_else(|| panic!("no user"))["user_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, _) = server
        .admin_call(Method::POST, &format!("/{user_id}/reset"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let reset = next_event(&mut events).await;
    assert_eq!(
        (
            reset["previous_level"].clone(),
            reset["current_level"].clone()
        ),
        (json!("high"), json!("low"))
    );
    assert_eq!(reset["initiating_entity"], "admin");

    // (The handler runs before the peer records the push: wait for the record.)
    let pushes = peer.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(pushes.len(), 2, "one SET per change");
    for push in &pushes {
        assert_eq!(push.path, OKTA_PATH);
        assert_eq!(push.answered, 202);
        assert_eq!(
            push.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/secevent+jwt")
        );
        assert!(push.headers.get("authorization").is_none());
    }
    let listed = settled(
        &server,
        &format!("/integrations/{id}/deliveries"),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(listed.len(), 2);
    assert!(
        listed
            .iter()
            .all(|d| d["status"] == "delivered" && d["attempts"] == 1),
        "{listed:?}"
    );
    assert_eq!(
        listed[0]["current_level"],
        Value::Null,
        "newest first: the reset"
    );
    assert_eq!(listed[1]["current_level"], "high");

    // The receiver refuses a tampered SET, and a SET meant for another audience.
    let genuine = String::from_utf8_lossy(&pushes[0].body).into_owned();
    let mut parts: Vec<String> = genuine.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].replacen('e', "f", 1);
    let tampered = ssf
        .push_handler()
        .handle(None, parts.join(".").as_bytes())
        .await;
    assert_eq!(tampered.status, 400, "{tampered:?}");
    let (elsewhere, _, _) = ssf_receiver(&issuer, "https://other-tenant.example");
    let refused = elsewhere
        .push_handler()
        .handle(None, genuine.as_bytes())
        .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused
            .body
            .unwrap_or_default()
            .contains("invalid_audience")
    );
    let handled = outcomes
        .0
        .lock()
        .map(|o| {
            o.iter()
                .filter(|x| matches!(x, SsfSetOutcome::Handled))
                .count()
        })
        .unwrap_or_default();
    assert_eq!(handled, 2);

    // An inactive integration sends nothing more.
    let (status, _) = server
        .admin_call(
            Method::PUT,
            &format!("/integrations/{id}"),
            Some(&json!({"active": false, "tenant_url": peer.url}).to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    send(
        &server,
        &[
            login("e3", "joe@example.com", 0, LONDON),
            login("e4", "joe@example.com", 5, NEW_YORK),
        ],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(peer.pushes().len(), 2, "nothing after deactivation");
    elsewhere.shutdown().await;
    ssf.shutdown().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_receivers_are_retried_in_order_and_refusals_fail() {
    let server = TestServer::start().await;
    let peer = Peer::start().await;
    // Down twice (503, then 429 with Retry-After), then back.
    peer.answer_first(&[503, 503]);
    let id = create_okta(&server, &peer.url).await;
    enable_impossible_travel(&server).await;
    send(
        &server,
        &[
            login("a1", "ann@example.com", 0, PARIS),
            login("a2", "ann@example.com", 10, NEW_YORK),
            login("b1", "bob@example.com", 0, LONDON),
            login("b2", "bob@example.com", 10, NEW_YORK),
        ],
    )
    .await;
    let all = settled(
        &server,
        &format!("/integrations/{id}/deliveries"),
        Duration::from_secs(15),
    )
    .await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all.iter().all(|d| d["status"] == "delivered"), "{all:?}");
    let retried: u64 = all
        .iter()
        .map(|d| d["attempts"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(retried, 4, "two failed attempts, two good ones: {all:?}");
    // A retry resends the same bytes: the same jti twice for whichever was refused first.
    let pushes = peer.pushes();
    assert_eq!(pushes.len(), 4);
    let failed_bodies: Vec<&Bytes> = pushes
        .iter()
        .filter(|p| p.answered == 503)
        .map(|p| &p.body)
        .collect();
    for body in failed_bodies {
        assert!(
            pushes.iter().any(|p| p.answered == 202 && p.body == *body),
            "a retry sent other bytes"
        );
    }

    // A receiver that refuses (400, RFC 8935 body): failed at once, reason kept, not retried.
    peer.answer_first(&[400]);
    send(
        &server,
        &[
            login("c1", "cid@example.com", 0, PARIS),
            login("c2", "cid@example.com", 10, NEW_YORK),
        ],
    )
    .await;
    let all = settled(
        &server,
        &format!("/integrations/{id}/deliveries"),
        Duration::from_secs(10),
    )
    .await;
    let cid = all
        .iter()
        .find(|d| d["email"] == "cid@example.com")
        .unwrap_or_else(|| panic!("{all:?}"));
    assert_eq!(cid["status"], "failed");
    assert_eq!(cid["attempts"], 1);
    assert!(
        cid["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("400"),
        "{cid}"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(peer.pushes().len(), 5, "a refusal is not retried");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_filtered_and_testable() {
    let server = TestServer::start().await;
    let peer = Peer::start().await;
    let (status, created) = server
        .admin_call(
            Method::POST,
            "/webhooks",
            Some(&json!({"url": format!("{}/hook", peer.url), "min_level": "high"}).to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let hook = &created["result"];
    let secret = hook["secret"].as_str().unwrap_or_default().to_owned();
    assert!(secret.starts_with("whsec_"), "{hook}");
    let id = hook["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        (hook["format"].clone(), hook["active"].clone()),
        (json!("standard"), json!(true))
    );
    // The secret is shown once.
    let (_, fetched) = server
        .admin_call(Method::GET, &format!("/webhooks/{id}"), None)
        .await;
    assert!(fetched["result"].get("secret").is_none(), "{fetched}");
    let (_, listed) = server.admin_call(Method::GET, "/webhooks", None).await;
    assert!(!listed.to_string().contains(&secret));

    // Bad input: pointers at the fields.
    let (status, refused) = server
        .admin_call(
            Method::POST,
            "/webhooks",
            Some(r#"{"url": "http://example.com/x", "format": "teams", "min_level": "HIGH"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let pointers: Vec<&str> = refused["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["source"]["pointer"].as_str())
        .collect();
    assert_eq!(pointers, ["/url", "/format", "/min_level"], "{refused}");
    let own = format!("{}/client/v4/accounts", server.base_url);
    let (status, refused) = server
        .admin_call(
            Method::POST,
            "/webhooks",
            Some(&json!({"url": own}).to_string()),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "ztrisk itself is no receiver: {refused}"
    );

    // The test delivery, signed.
    let (status, tested) = server
        .admin_call(Method::POST, &format!("/webhooks/{id}/test"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{tested}");
    assert_eq!(tested["result"]["delivered"], true, "{tested}");
    let test_push = peer.wait_for(1, Duration::from_secs(5)).await;
    let body: Value = serde_json::from_slice(&test_push[0].body).unwrap_or_default();
    assert_eq!(body["type"], "webhook.test");
    for header in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        assert!(test_push[0].headers.contains_key(header), "{header}");
    }

    // Only changes that reach `high`.
    enable_impossible_travel(&server).await;
    crate::support::enable(
        &server,
        json!({"low_sig": {"enabled": true, "risk_level": "low"}}),
    )
    .await;
    send(
        &server,
        &[
            json!({"type": "behavior", "timestamp": crate::support::t(0),
                   "user": {"email": "low@example.com"}, "behavior": "low_sig"}),
            login("h1", "high@example.com", 0, PARIS),
            login("h2", "high@example.com", 10, NEW_YORK),
        ],
    )
    .await;
    let all = settled(
        &server,
        &format!("/webhooks/{id}/deliveries"),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["email"], "high@example.com");
    assert_eq!(all[0]["status"], "delivered");
    let pushes = peer.wait_for(2, Duration::from_secs(5)).await;
    let change: Value = serde_json::from_slice(&pushes[1].body).unwrap_or_default();
    assert_eq!(change["type"], "user.risk_level.changed");
    assert_eq!(change["data"]["current_level"], "high");
    assert_eq!(change["data"]["previous_level"], Value::Null);
    assert_eq!(change["data"]["reason"], "imp_travel");
    assert_eq!(
        pushes[1]
            .headers
            .get("webhook-id")
            .and_then(|v| v.to_str().ok()),
        all[0]["id"].as_str()
    );

    // Delete: gone, its deliveries too.
    let (status, _) = server
        .admin_call(Method::DELETE, &format!("/webhooks/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server
        .admin_call(Method::GET, &format!("/webhooks/{id}/deliveries"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_keys_sign_and_old_ones_stay_published_until_retired() {
    let server = TestServer::start().await;
    let jwks = |server: TestServer| async move {
        let (_, jwks) = server
            .call_with(Method::GET, "/.well-known/jwks.json", &[], None)
            .await;
        jwks["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|k| k["kid"].as_str().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    let first = jwks(server.clone()).await;
    assert_eq!(first.len(), 1);
    let new_kid = ztrisk_deliver_rotate(&server).await;
    let both = jwks(server.clone()).await;
    assert_eq!(
        both,
        [new_kid.clone(), first[0].clone()],
        "the signer first"
    );

    // A SET signed after the rotation carries the new kid.
    let peer = Peer::start().await;
    create_okta(&server, &peer.url).await;
    enable_impossible_travel(&server).await;
    send(
        &server,
        &[
            login("r1", "rot@example.com", 0, PARIS),
            login("r2", "rot@example.com", 10, NEW_YORK),
        ],
    )
    .await;
    let pushes = peer.wait_for(1, Duration::from_secs(10)).await;
    let header = String::from_utf8_lossy(&pushes[0].body)
        .split('.')
        .next()
        .map(str::to_owned)
        .unwrap_or_default();
    use base64::Engine;
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    assert_eq!(header["kid"], new_kid.as_str());
    assert_eq!(header["typ"], "secevent+jwt");

    server
        .store
        .retire_signing_key(&first[0], &ztrisk_store::model::Actor::Cli)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(jwks(server.clone()).await, [new_kid]);
    server.shutdown().await;
}

async fn ztrisk_deliver_rotate(server: &TestServer) -> String {
    ztrisk_deliver::keyring::rotate(server.store.as_ref(), &ztrisk_store::model::Actor::Cli)
        .await
        .unwrap_or_else(|e| panic!("rotate: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_or_redirecting_receiver_blocks_nothing_else() {
    let server = TestServer::start().await;
    let hanging = Peer::start().await;
    let redirecting = Peer::start().await;
    let healthy = Peer::start().await;
    hanging.answer_first(&[HANG]);
    redirecting.answer_first(&[302]);
    create_okta(&server, &hanging.url).await;
    let redirect_id = create_okta(&server, &redirecting.url).await;
    create_okta(&server, &healthy.url).await;
    enable_impossible_travel(&server).await;
    let started = std::time::Instant::now();
    send(
        &server,
        &[
            login("g1", "gil@example.com", 0, PARIS),
            login("g2", "gil@example.com", 10, NEW_YORK),
        ],
    )
    .await;
    // Ingest answered at once, and the healthy receiver got its SET while the other hangs.
    let got = healthy.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1);
    assert!(started.elapsed() < Duration::from_secs(5));
    // A redirect is not followed: the delivery fails with that reason.
    let all = settled(
        &server,
        &format!("/integrations/{redirect_id}/deliveries"),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(all[0]["status"], "failed", "{all:?}");
    assert!(
        all[0]["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("redirect"),
        "{all:?}"
    );
    server.shutdown().await;
}
