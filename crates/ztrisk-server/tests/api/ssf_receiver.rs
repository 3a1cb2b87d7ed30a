//! ztrisk's SSF 1.0 transmitter (spec 4.5) driven by a real Shared Signals receiver
//! (`easyssf-receiver`, not ours) exactly as one is deployed: it knows the integration's
//! well-known URL and an API token, discovers the transmitter, creates its own stream (push or
//! poll), asks for a verification, and receives and verifies risk-level-change events for a
//! raise, a reset, and none for a subject it removed.

use crate::support::{Http, LONDON, NEW_YORK, PARIS, enable_impossible_travel, login, send};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::response::IntoResponse;
use easyssf_core::SsfDeliveryMethod;
use easyssf_core::event::subjects;
use easyssf_receiver::SsfReceiver;
use easyssf_receiver::config::{
    SsfDeliveryMethodConfig, SsfReceiverConfig, SsfStreamManagement, SsfSubjectCompatibility,
};
use easyssf_receiver::event::SsfEventContext;
use easyssf_receiver::metrics::{SsfReceiverMetrics, SsfSetOutcome};
use easyssf_receiver::poll::SsfPoller;
use easyssf_receiver::receiver::SsfHealthStatus;
use easyssf_receiver::stream::SsfStreamRegistrarState;
use easyssf_receiver::transmitter::{SsfTransmitter, SsfTransmitterMetadataResolver};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;
use ztrisk_core::Permission;
use ztrisk_server::testing::{TestServer, listen};

/// The receiver's audience: the integration's `tenant_url`.
const AUDIENCE: &str = "https://receiver.example";
const RISK_LEVEL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/risk-level-change";
const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";
const PUSH_PATH: &str = "/ssf/push";

/// Every SET easyssf saw, with how it came and what became of it.
#[derive(Default, Clone)]
struct Outcomes(Arc<Mutex<Vec<(&'static str, SsfSetOutcome)>>>);

impl SsfReceiverMetrics for Outcomes {
    fn set_received(&self, _: Option<&str>, delivery: SsfDeliveryMethod, outcome: SsfSetOutcome) {
        if let Ok(mut all) = self.0.lock() {
            all.push((delivery.as_str(), outcome));
        }
    }
}

impl Outcomes {
    fn all(&self) -> Vec<(&'static str, SsfSetOutcome)> {
        self.0.lock().map(|o| o.clone()).unwrap_or_default()
    }
}

/// What the peer got: one push.
#[derive(Debug, Clone)]
struct Push {
    authorization: Option<String>,
    content_type: Option<String>,
    answered: u16,
}

/// The receiver's web server on loopback: hands every push to easyssf's push handler, as the
/// route of a web framework would, and records it.
#[derive(Clone)]
struct Peer {
    url: String,
    pushes: Arc<Mutex<Vec<Push>>>,
    ssf: Arc<Mutex<Option<Arc<SsfReceiver>>>>,
}

impl Peer {
    async fn start() -> Self {
        let (listener, addr) = listen().await;
        let peer = Peer {
            url: format!("http://{addr}"),
            pushes: Arc::default(),
            ssf: Arc::default(),
        };
        let app = Router::new()
            .route(PUSH_PATH, axum::routing::post(receive))
            .with_state(peer.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        peer
    }

    fn pushes(&self) -> Vec<Push> {
        self.pushes.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

async fn receive(
    State(peer): State<Peer>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let authorization = header("authorization");
    let ssf = peer.ssf.lock().ok().and_then(|s| s.clone());
    let (status, answer) = match ssf {
        Some(ssf) => {
            let response = ssf
                .push_handler()
                .handle(authorization.as_deref(), &body)
                .await;
            (response.status, response.body.unwrap_or_default())
        }
        None => (503, String::new()),
    };
    if let Ok(mut pushes) = peer.pushes.lock() {
        pushes.push(Push {
            authorization,
            content_type: header("content-type"),
            answered: status,
        });
    }
    let status = AxumStatus::from_u16(status).unwrap_or(AxumStatus::INTERNAL_SERVER_ERROR);
    (status, answer).into_response()
}

/// An SSF integration for [`AUDIENCE`]: its id and well-known URL.
async fn create_ssf(server: &TestServer) -> (String, String) {
    let (status, body) = server
        .admin_call(
            Method::POST,
            "/integrations",
            Some(&json!({"integration_type": "SSF", "tenant_url": AUDIENCE}).to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let field = |name: &str| {
        body["result"][name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name}: {body}"))
            .to_owned()
    };
    (field("id"), field("well_known_url"))
}

/// A token that may manage the streams of the account's integrations, and nothing else.
async fn receiver_token(server: &TestServer) -> String {
    server
        .token(&[server.account], &[Permission::ZeroTrustRiskSharing], None)
        .await
        .0
}

/// What an operator configures easyssf with, knowing only the well-known URL: the issuer the
/// document names (easyssf requires it), the document's URL, and the token.
async fn discover(well_known_url: &str) -> (String, Value) {
    let response = reqwest::get(well_known_url)
        .await
        .unwrap_or_else(|e| panic!("GET {well_known_url}: {e}"));
    assert_eq!(response.status(), StatusCode::OK);
    let metadata: Value = response
        .json()
        .await
        .unwrap_or_else(|e| panic!("metadata: {e}"));
    let issuer = metadata["issuer"]
        .as_str()
        .unwrap_or_else(|| panic!("no issuer: {metadata}"))
        .to_owned();
    // SSF 1.0 section 7.2: the document sits where a receiver derives it from the issuer.
    let derived = SsfTransmitterMetadataResolver::derive_metadata_uris(&issuer)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(derived[0].as_str(), well_known_url, "{metadata}");
    (issuer, metadata)
}

type Events = UnboundedReceiver<SsfEventContext>;

/// An easyssf receiver managing its own stream at ztrisk, with every verified SET in `Events`.
fn easyssf(
    issuer: &str,
    well_known_url: &str,
    token: &str,
    delivery: Delivery<'_>,
) -> (Arc<SsfReceiver>, Events, Outcomes) {
    let mut config = SsfReceiverConfig::for_transmitter(issuer);
    let transmitter = &mut config.transmitter;
    transmitter.transmitter_metadata_url =
        Some(url::Url::parse(well_known_url).unwrap_or_else(|e| panic!("{e}")));
    transmitter.transmitter_access_token = Some(token.to_owned());
    // No expected audience: easyssf takes the stream's `aud` once it has the stream.
    transmitter.stream.management = SsfStreamManagement::Receiver;
    transmitter.stream.events_requested = vec!["CaepRiskLevelChange".to_owned()];
    transmitter.set_validation.subject_compatibility = SsfSubjectCompatibility::Strict;
    match delivery {
        Delivery::Push {
            endpoint,
            authorization,
        } => {
            transmitter.delivery_method = SsfDeliveryMethodConfig::Push;
            transmitter.push.delivery_endpoint_url =
                Some(url::Url::parse(endpoint).unwrap_or_else(|e| panic!("{e}")));
            transmitter.push.expected_auth_header = Some(authorization.to_owned());
        }
        Delivery::Poll => {
            transmitter.delivery_method = SsfDeliveryMethodConfig::Poll;
            transmitter.poll.auto_startup = false;
        }
    }
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let outcomes = Outcomes::default();
    let receiver = SsfReceiver::builder(config)
        .http_client(Http(reqwest::Client::new()))
        .metrics(outcomes.clone())
        .handler(move |ctx: SsfEventContext| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(ctx);
                Ok::<(), easyssf_receiver::BoxError>(())
            }
        })
        .build()
        .unwrap_or_else(|e| panic!("receiver: {e}"));
    (Arc::new(receiver), rx, outcomes)
}

enum Delivery<'a> {
    Push {
        endpoint: &'a str,
        authorization: &'a str,
    },
    Poll,
}

/// Waits until easyssf has created (or found) its stream; the transmitter and the stream id.
async fn registered(ssf: &SsfReceiver) -> (Arc<SsfTransmitter>, String) {
    let transmitter = ssf
        .transmitters()
        .primary()
        .cloned()
        .unwrap_or_else(|| panic!("no transmitter"));
    let registrar = transmitter
        .stream_registrar()
        .cloned()
        .unwrap_or_else(|| panic!("the stream is not managed"));
    let start = std::time::Instant::now();
    loop {
        if registrar.state() == SsfStreamRegistrarState::Registered
            && let Some(stream_id) = transmitter.receiver_stream().stream_id()
        {
            return (transmitter, stream_id);
        }
        if registrar.state() == SsfStreamRegistrarState::Failed
            || start.elapsed() > Duration::from_secs(10)
        {
            panic!(
                "easyssf could not set up its stream ({:?}): {:?}",
                registrar.state(),
                registrar.last_error()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The receiver's stream as ztrisk's configuration endpoint lists it to the receiver's token.
async fn stream_at_ztrisk(server: &TestServer, id: &str, token: &str) -> Value {
    let (status, streams) = server
        .call(Method::GET, &format!("/ssf/{id}/stream"), token, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{streams}");
    assert_eq!(
        streams.as_array().map(Vec::len),
        Some(1),
        "one stream: {streams}"
    );
    streams[0].clone()
}

async fn next_event(events: &mut Events) -> SsfEventContext {
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .unwrap_or_else(|_| panic!("no SET reached easyssf's handler within 10 s"))
        .unwrap_or_else(|| panic!("receiver gone"))
}

/// Asks for a verification through easyssf's own API; the state the SET has to echo.
async fn request_verification(transmitter: &SsfTransmitter, stream_id: &str) -> String {
    let client = transmitter
        .stream_client()
        .unwrap_or_else(|| panic!("no stream client"));
    transmitter
        .stream_verification()
        .request_verification(client, stream_id)
        .await
        .unwrap_or_else(|e| panic!("verification request: {e}"))
}

/// A verification SET about the stream, echoing `state`, that easyssf accepted.
fn assert_verification(ctx: &SsfEventContext, stream_id: &str, state: &str) {
    assert_eq!(
        ctx.event_types().into_iter().collect::<Vec<_>>(),
        [VERIFICATION],
        "{ctx:?}"
    );
    assert_eq!(
        ctx.event_for(VERIFICATION).and_then(|e| e.get("state")),
        Some(&json!(state))
    );
    assert_eq!(
        ctx.event_token().subject_id().cloned().map(Value::Object),
        Some(json!({"format": "opaque", "id": stream_id}))
    );
}

/// A CAEP risk-level-change SET about `email`, `previous` -> `current`; the event's members.
#[track_caller]
fn assert_risk(
    ctx: &SsfEventContext,
    issuer: &str,
    email: &str,
    (previous, current): (&str, &str),
) -> Value {
    let token = ctx.event_token();
    assert_eq!(token.issuer(), issuer);
    assert_eq!(token.audience(), [AUDIENCE]);
    assert!(ctx.has_event("CaepRiskLevelChange"), "{ctx:?}");
    assert_eq!(ctx.event_types().len(), 1, "{ctx:?}");
    assert_eq!(
        token.subject_id().cloned().map(Value::Object),
        Some(json!({"format": "email", "email": email}))
    );
    assert_eq!(ctx.subject().email(), Some(email));
    let event = ctx
        .event_for(RISK_LEVEL_CHANGE)
        .cloned()
        .map(Value::Object)
        .unwrap_or_else(|| panic!("not a risk-level-change: {ctx:?}"));
    assert_eq!(event["principal"], "USER", "{event}");
    assert_eq!(
        (
            event["previous_level"].clone(),
            event["current_level"].clone()
        ),
        (json!(previous), json!(current)),
        "{event}"
    );
    assert!(event["event_timestamp"].is_i64(), "{event}");
    event
}

fn assert_all_handled(outcomes: &Outcomes, delivery: &str, count: usize) {
    let all = outcomes.all();
    assert!(
        all.iter()
            .all(|(how, outcome)| *how == delivery && *outcome == SsfSetOutcome::Handled),
        "every SET verified and handled: {all:?}"
    );
    assert_eq!(all.len(), count, "{all:?}");
}

/// Polls (each poll asks to be answered at once) until a SET reached the handler.
async fn poll_event(poller: &SsfPoller, events: &mut Events) -> SsfEventContext {
    let start = std::time::Instant::now();
    loop {
        poller
            .poll_now()
            .await
            .unwrap_or_else(|e| panic!("poll: {e}"));
        if let Ok(ctx) = events.try_recv() {
            return ctx;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no SET polled within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn user_id(server: &TestServer, email: &str) -> String {
    crate::support::user_by_email(server, email)
        .await
        .unwrap_or_else(|| panic!("no user {email}"))["user_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn reset(server: &TestServer, email: &str) {
    let user = user_id(server, email).await;
    let (status, body) = server
        .admin_call(Method::POST, &format!("/{user}/reset"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn raise(server: &TestServer, email: &str, prefix: &str) {
    send(
        server,
        &[
            login(&format!("{prefix}1"), email, 0, PARIS),
            login(&format!("{prefix}2"), email, 10, NEW_YORK),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn easyssf_manages_a_push_stream_and_verifies_its_events() {
    let server = TestServer::start().await;
    let peer = Peer::start().await;
    let (id, well_known_url) = create_ssf(&server).await;
    let token = receiver_token(&server).await;
    let (issuer, metadata) = discover(&well_known_url).await;
    assert_eq!(issuer, format!("{}/{id}", server.base_url));
    assert_eq!(
        metadata["configuration_endpoint"],
        format!("{}/ssf/{id}/stream", server.base_url)
    );

    let endpoint = format!("{}{PUSH_PATH}", peer.url);
    let authorization = "Bearer receiver-secret-7f3a";
    let (ssf, mut events, outcomes) = easyssf(
        &issuer,
        &well_known_url,
        &token,
        Delivery::Push {
            endpoint: &endpoint,
            authorization,
        },
    );
    if let Ok(mut slot) = peer.ssf.lock() {
        *slot = Some(ssf.clone());
    }
    ssf.start();
    let (transmitter, stream_id) = registered(&ssf).await;

    // The stream easyssf created is there, as it asked for it; the credential is not shown back.
    let stream = stream_at_ztrisk(&server, &id, &token).await;
    assert_eq!(stream["stream_id"], stream_id.as_str());
    assert_eq!(stream["iss"], issuer.as_str());
    assert_eq!(stream["aud"], AUDIENCE);
    assert_eq!(
        stream["delivery"],
        json!({"method": "urn:ietf:rfc:8935", "endpoint_url": endpoint})
    );
    assert_eq!(stream["events_requested"], json!([RISK_LEVEL_CHANGE]));
    assert_eq!(stream["events_delivered"], json!([RISK_LEVEL_CHANGE]));
    assert!(!stream.to_string().contains("receiver-secret"), "{stream}");
    let client = transmitter
        .stream_client()
        .cloned()
        .unwrap_or_else(|| panic!("no stream client"));
    let status = client
        .status(&stream_id)
        .await
        .unwrap_or_else(|e| panic!("status: {e}"));
    assert_eq!(
        (status.stream_id.as_str(), status.status.as_str()),
        (stream_id.as_str(), "enabled")
    );
    assert_eq!(ssf.health().await.status, SsfHealthStatus::Healthy);

    // Verification, through easyssf's API: the SET echoes the state and names the stream.
    let state = request_verification(&transmitter, &stream_id).await;
    let verification = next_event(&mut events).await;
    assert_verification(&verification, &stream_id, &state);
    assert!(!transmitter.stream_verification().is_pending());

    // A raise: unscored (sent as LOW) -> HIGH, by policy.
    enable_impossible_travel(&server).await;
    raise(&server, "jane@example.com", "j").await;
    let raised = next_event(&mut events).await;
    let event = assert_risk(&raised, &issuer, "jane@example.com", ("LOW", "HIGH"));
    assert_eq!(event["risk_reason"], "imp_travel");
    assert_eq!(event["initiating_entity"], "policy");

    // A removed subject hears nothing; a subject still in does.
    client
        .remove_subject(&stream_id, &subjects::email("bob@example.com"))
        .await
        .unwrap_or_else(|e| panic!("remove subject: {e}"));
    raise(&server, "bob@example.com", "b").await;
    send(
        &server,
        &[
            login("c1", "carl@example.com", 0, LONDON),
            login("c2", "carl@example.com", 5, NEW_YORK),
        ],
    )
    .await;
    let carl = next_event(&mut events).await;
    assert_risk(&carl, &issuer, "carl@example.com", ("LOW", "HIGH"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    if let Ok(extra) = events.try_recv() {
        panic!("a SET for a removed subject (or another one): {extra:?}");
    }
    let (status, deliveries) = server
        .admin_call(Method::GET, &format!("/integrations/{id}/deliveries"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{deliveries}");
    assert!(
        !deliveries.to_string().contains("bob@example.com"),
        "nothing queued for the removed subject: {deliveries}"
    );

    // A reset: HIGH -> LOW, by an administrator.
    reset(&server, "jane@example.com").await;
    let lowered = next_event(&mut events).await;
    let event = assert_risk(&lowered, &issuer, "jane@example.com", ("HIGH", "LOW"));
    assert_eq!(event["risk_reason"], "reset");
    assert_eq!(event["initiating_entity"], "admin");

    // Added back, the subject hears of its next change.
    client
        .add_subject(&stream_id, &subjects::email("bob@example.com"), true)
        .await
        .unwrap_or_else(|e| panic!("add subject: {e}"));
    reset(&server, "bob@example.com").await;
    let bob = next_event(&mut events).await;
    assert_risk(&bob, &issuer, "bob@example.com", ("HIGH", "LOW"));

    // Every push carried the receiver's credential and was verified and accepted.
    let start = std::time::Instant::now();
    while peer.pushes().len() < 5 && start.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pushes = peer.pushes();
    assert_eq!(pushes.len(), 5, "{pushes:?}");
    for push in &pushes {
        assert_eq!(
            push.authorization.as_deref(),
            Some(authorization),
            "{push:?}"
        );
        assert_eq!(
            push.content_type.as_deref(),
            Some("application/secevent+jwt")
        );
        assert_eq!(push.answered, 202, "{push:?}");
    }
    assert_all_handled(&outcomes, "push", 5);
    ssf.shutdown().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn easyssf_manages_a_poll_stream_and_acknowledges_its_events() {
    let server = TestServer::start().await;
    let (id, well_known_url) = create_ssf(&server).await;
    let token = receiver_token(&server).await;
    let (issuer, _) = discover(&well_known_url).await;
    let (ssf, mut events, outcomes) = easyssf(&issuer, &well_known_url, &token, Delivery::Poll);
    ssf.start();
    let (transmitter, stream_id) = registered(&ssf).await;
    let poll_url = format!("{}/ssf/{id}/poll", server.base_url);
    let stream = stream_at_ztrisk(&server, &id, &token).await;
    assert_eq!(stream["stream_id"], stream_id.as_str());
    assert_eq!(
        stream["delivery"],
        json!({"method": "urn:ietf:rfc:8936", "endpoint_url": poll_url})
    );
    assert_eq!(stream["events_delivered"], json!([RISK_LEVEL_CHANGE]));
    let poller = transmitter
        .poller()
        .cloned()
        .unwrap_or_else(|| panic!("no poller"));
    assert!(!poller.is_running(), "polled by the test only");

    let state = request_verification(&transmitter, &stream_id).await;
    let verification = poll_event(&poller, &mut events).await;
    assert_verification(&verification, &stream_id, &state);

    enable_impossible_travel(&server).await;
    raise(&server, "jane@example.com", "j").await;
    let raised = poll_event(&poller, &mut events).await;
    let event = assert_risk(&raised, &issuer, "jane@example.com", ("LOW", "HIGH"));
    assert_eq!(
        (
            event["risk_reason"].clone(),
            event["initiating_entity"].clone()
        ),
        (json!("imp_travel"), json!("policy"))
    );

    reset(&server, "jane@example.com").await;
    let lowered = poll_event(&poller, &mut events).await;
    let event = assert_risk(&lowered, &issuer, "jane@example.com", ("HIGH", "LOW"));
    assert_eq!(
        (
            event["risk_reason"].clone(),
            event["initiating_entity"].clone()
        ),
        (json!("reset"), json!("admin"))
    );

    // easyssf acknowledged everything it handled: nothing owed, nothing left at ztrisk.
    assert_eq!(poller.pending_ack_count().await, 0);
    assert_eq!(poller.last_poll_error(), None);
    let (status, left) = server
        .call(
            Method::POST,
            &format!("/ssf/{id}/poll"),
            &token,
            Some(r#"{"returnImmediately": true}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{left}");
    assert_eq!(left, json!({"sets": {}}));
    assert!(events.try_recv().is_err(), "no other SET was handled");
    assert_all_handled(&outcomes, "poll", 3);
    ssf.shutdown().await;

    // Restarted, the receiver finds its stream again rather than making another.
    let (again, _, _) = easyssf(&issuer, &well_known_url, &token, Delivery::Poll);
    again.start();
    let (_, found) = registered(&again).await;
    assert_eq!(found, stream_id);
    assert_eq!(
        stream_at_ztrisk(&server, &id, &token).await["stream_id"],
        stream_id.as_str()
    );
    again.shutdown().await;
    server.shutdown().await;
}
