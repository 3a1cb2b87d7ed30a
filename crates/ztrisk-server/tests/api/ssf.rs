//! SSF 1.0 streams as a receiver's HTTP client sees them (spec 4.5): discovery, who may manage
//! a stream, bad configurations refused with nothing changed, status changes, and RFC 8936
//! polls (acknowledged SETs never come back, unacknowledged ones do, across a restart and
//! across replicas). `ssf_receiver.rs` drives the same endpoints with a real receiver.

use crate::support::{LONDON, NEW_YORK, PARIS, enable_impossible_travel, login, send};
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use ztrisk_core::Permission;
use ztrisk_server::ServerConfig;
use ztrisk_server::testing::TestServer;

const RISK: &str = "https://schemas.openid.net/secevent/caep/event-type/risk-level-change";
const UPDATED: &str = "https://schemas.openid.net/secevent/ssf/event-type/stream-updated";
const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";
const AUDIENCE: &str = "https://receiver.example";

/// A call to an SSF endpoint with a Bearer token; an empty body reads as `null`.
async fn ssf(
    server: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut headers = Vec::new();
    if let Some(token) = token {
        headers.push(("authorization", format!("Bearer {token}")));
    }
    if body.is_some() {
        headers.push(("content-type", "application/json".to_owned()));
    }
    let response = server
        .request(method, path, &headers, body.map(|b| b.to_string()))
        .await;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
    };
    (status, body)
}

async fn create_ssf(server: &TestServer) -> String {
    let (status, body) = server
        .admin_call(
            Method::POST,
            "/integrations",
            Some(&json!({"integration_type": "SSF", "tenant_url": AUDIENCE}).to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["integration_type"], "SSF");
    body["result"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned()
}

async fn receiver_token(server: &TestServer) -> String {
    server
        .token(&[server.account], &[Permission::ZeroTrustRiskSharing], None)
        .await
        .0
}

/// The claims of a compact JWS (not verified here: `ssf_receiver.rs` verifies them).
fn claims(jws: &Value) -> Value {
    let text = jws.as_str().unwrap_or_else(|| panic!("not a JWS: {jws}"));
    let payload = text.split('.').nth(1).unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap_or_else(|e| panic!("payload: {e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("claims: {e}"))
}

/// Polls without waiting; returns the SETs by jti, as claims.
async fn poll(server: &TestServer, id: &str, token: &str, body: Value) -> Vec<(String, Value)> {
    let mut body = body;
    if let Some(object) = body.as_object_mut() {
        object.insert("returnImmediately".into(), true.into());
    }
    let (status, answer) = ssf(
        server,
        Method::POST,
        &format!("/ssf/{id}/poll"),
        Some(token),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["sets"]
        .as_object()
        .unwrap_or_else(|| panic!("no sets: {answer}"))
        .iter()
        .map(|(jti, jws)| (jti.clone(), claims(jws)))
        .collect()
}

fn event_types(sets: &[(String, Value)]) -> Vec<String> {
    sets.iter()
        .flat_map(|(_, c)| c["events"].as_object().cloned().unwrap_or_default())
        .map(|(k, _)| k)
        .collect()
}

async fn raise(server: &TestServer, email: &str, first: &str) {
    send(
        server,
        &[
            login(&format!("{first}a"), email, 0, PARIS),
            login(&format!("{first}b"), email, 10, NEW_YORK),
        ],
    )
    .await;
}

async fn create_poll_stream(server: &TestServer, id: &str, token: &str) -> String {
    let (status, stream) = ssf(
        server,
        Method::POST,
        &format!("/ssf/{id}/stream"),
        Some(token),
        Some(json!({"events_requested": [RISK]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{stream}");
    stream["stream_id"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn discovery_advertises_the_stream_endpoints() {
    let server = TestServer::start().await;
    let id = create_ssf(&server).await;
    let (status, listed) = server
        .admin_call(Method::GET, &format!("/integrations/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let well_known = format!("{}/.well-known/ssf-configuration/{id}", server.base_url);
    assert_eq!(listed["result"]["well_known_url"], well_known.as_str());
    let (status, doc) = ssf(
        &server,
        Method::GET,
        &format!("/.well-known/ssf-configuration/{id}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let stream = format!("{}/ssf/{id}/stream", server.base_url);
    assert_eq!(doc["issuer"], format!("{}/{id}", server.base_url));
    assert_eq!(
        doc["delivery_methods_supported"],
        json!(["urn:ietf:rfc:8935", "urn:ietf:rfc:8936"])
    );
    assert_eq!(doc["configuration_endpoint"], stream.as_str());
    assert_eq!(doc["status_endpoint"], format!("{stream}/status"));
    assert_eq!(doc["verification_endpoint"], format!("{stream}/verify"));
    assert_eq!(
        doc["add_subject_endpoint"],
        format!("{stream}/subjects/add")
    );
    assert_eq!(
        doc["remove_subject_endpoint"],
        format!("{stream}/subjects/remove")
    );
    assert_eq!(
        doc["authorization_schemes"],
        json!([{"spec_urn": "urn:ietf:rfc:6750"}])
    );
    assert_eq!(doc["default_subjects"], "ALL");
    // An SSF integration's audience need not be a URL ztrisk could call.
    let (status, body) = server
        .admin_call(
            Method::POST,
            "/integrations",
            Some(r#"{"integration_type": "SSF", "tenant_url": "urn:example:receiver"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server.shutdown().await;
}

#[tokio::test]
async fn only_a_risk_sharing_token_of_the_account_manages_a_stream() {
    let server = TestServer::start().await;
    let id = create_ssf(&server).await;
    let path = format!("/ssf/{id}/stream");
    let token = receiver_token(&server).await;

    // No token, a malformed or unknown one, a global API key: 401, as OAuth answers.
    let key = [
        ("x-auth-email", server.key_email.clone()),
        ("x-auth-key", server.key.clone()),
    ];
    let unknown = "a".repeat(40);
    for headers in [
        vec![],
        vec![("authorization", "Basic abc".to_owned())],
        vec![("authorization", format!("Bearer {unknown}"))],
        key.to_vec(),
    ] {
        let response = server.request(Method::GET, &path, &headers, None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{headers:?}");
        assert!(
            response
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("Bearer")),
        );
        let body: Value = response.json().await.unwrap_or_default();
        assert_eq!(body["err"], "authentication_failed");
        assert_eq!(body["success"], false);
        assert_eq!(body["errors"][0]["code"], 10001);
    }

    // The same 403 for: an administrator's token without Risk Sharing, another account's
    // receiver, an integration that does not exist, and an Okta integration.
    let (administrator, _) = server
        .token(
            &[server.account],
            &[
                Permission::ZeroTrustRead,
                Permission::ZeroTrustWrite,
                Permission::ZeroTrustPiiRead,
            ],
            None,
        )
        .await;
    let other = server.create_account("other").await;
    let (foreign, _) = server
        .token(&[other], &[Permission::ZeroTrustRiskSharing], None)
        .await;
    let (status, okta) = server
        .admin_call(
            Method::POST,
            "/integrations",
            Some(r#"{"integration_type": "Okta", "tenant_url": "https://acme.okta.example"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let okta = okta["result"]["id"].as_str().unwrap_or_default().to_owned();
    let missing = "00000000-0000-4000-8000-000000000000";
    let mut answers = Vec::new();
    for (who, target) in [
        (administrator.as_str(), id.as_str()),
        (foreign.as_str(), id.as_str()),
        (token.as_str(), missing),
        (token.as_str(), okta.as_str()),
    ] {
        let (status, body) = ssf(
            &server,
            Method::GET,
            &format!("/ssf/{target}/stream"),
            Some(who),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["err"], "access_denied");
        assert_eq!(body["errors"][0]["code"], 9109);
        answers.push(
            body["errors"][0]["message"]
                .as_str()
                .unwrap_or_default()
                .replace(target, "ID"),
        );
    }
    answers.dedup();
    assert_eq!(answers.len(), 1, "the refusals differ: {answers:?}");

    // The receiver's token is for its stream only: no other API.
    let (status, _) = server
        .call(Method::GET, &server.api_path("/summary"), &token, None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, streams) = ssf(&server, Method::GET, &path, Some(&token), None).await;
    assert_eq!((status, streams), (StatusCode::OK, json!([])));
    server.shutdown().await;
}

#[tokio::test]
async fn stream_configurations_are_validated_and_managed() {
    let server = TestServer::start().await;
    let id = create_ssf(&server).await;
    let path = format!("/ssf/{id}/stream");
    let token = receiver_token(&server).await;

    let refused = [
        (
            json!({"delivery": {"method": "urn:example:carrier-pigeon"}}),
            "/delivery/method",
        ),
        (
            json!({"delivery": {"method": "urn:ietf:rfc:8935"}}),
            "/delivery/endpoint_url",
        ),
        (
            json!({"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": "http://example.com/x"}}),
            "/delivery/endpoint_url",
        ),
        (
            json!({"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": format!("{}/x", server.base_url)}}),
            "/delivery/endpoint_url",
        ),
        (
            json!({"events_requested": ["https://schemas.openid.net/secevent/caep/event-type/session-revoked"]}),
            "/events_requested",
        ),
        (json!({"events_requested": [42]}), "/events_requested/0"),
        (json!({"events_requested": "all"}), "/events_requested"),
        (json!({"iss": "https://impostor.example"}), "/iss"),
        (json!({"aud": "https://someone-else.example"}), "/aud"),
        (json!({"description": 7}), "/description"),
    ];
    for (body, pointer) in refused {
        let (status, answer) = ssf(
            &server,
            Method::POST,
            &path,
            Some(&token),
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["err"], "invalid_request", "{answer}");
        assert_eq!(answer["errors"][0]["code"], 1001);
        assert_eq!(
            answer["errors"][0]["source"]["pointer"], pointer,
            "{body}: {answer}"
        );
    }
    let (status, malformed) = server
        .request(
            Method::POST,
            &path,
            &[("authorization", format!("Bearer {token}"))],
            Some("{not json".into()),
        )
        .await
        .json::<Value>()
        .await
        .map(|b| (StatusCode::BAD_REQUEST, b))
        .unwrap_or((StatusCode::OK, Value::Null));
    assert_eq!(
        (status, malformed["err"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_request"))
    );
    // Nothing was created by any of them.
    let (_, streams) = ssf(&server, Method::GET, &path, Some(&token), None).await;
    assert_eq!(streams, json!([]));

    // A poll stream by default; unknown event types are listed but not delivered.
    let (status, created) = ssf(
        &server,
        Method::POST,
        &path,
        Some(&token),
        Some(json!({"events_requested": [RISK, "urn:example:unknown"], "description": "SOAR"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let stream_id = created["stream_id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(created["iss"], format!("{}/{id}", server.base_url));
    assert_eq!(created["aud"], AUDIENCE);
    assert_eq!(created["events_delivered"], json!([RISK]));
    assert_eq!(
        created["delivery"],
        json!({"method": "urn:ietf:rfc:8936", "endpoint_url": format!("{}/ssf/{id}/poll", server.base_url)})
    );
    assert_eq!(created["description"], "SOAR");
    let (status, again) = ssf(&server, Method::POST, &path, Some(&token), Some(json!({}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");

    // Read: by id, as the list, and 404 for another id.
    let (status, one) = ssf(
        &server,
        Method::GET,
        &format!("{path}?stream_id={stream_id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!((status, one.clone()), (StatusCode::OK, created.clone()));
    let (_, all) = ssf(&server, Method::GET, &path, Some(&token), None).await;
    assert_eq!(all, json!([created]));
    let (status, _) = ssf(
        &server,
        Method::GET,
        &format!("{path}?stream_id=nope"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // PATCH changes what it names; PUT replaces; the authorization header is never shown.
    let (status, patched) = ssf(
        &server,
        Method::PATCH,
        &path,
        Some(&token),
        Some(
            json!({"stream_id": stream_id, "delivery": {"method": "urn:ietf:rfc:8935",
            "endpoint_url": "http://127.0.0.1:9/push", "authorization_header": "Bearer s3cr3t"}}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["description"], "SOAR");
    assert_eq!(
        patched["delivery"]["endpoint_url"],
        "http://127.0.0.1:9/push"
    );
    assert!(!patched.to_string().contains("s3cr3t"));
    let (status, missing_id) =
        ssf(&server, Method::PATCH, &path, Some(&token), Some(json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{missing_id}");
    let (status, replaced) = ssf(
        &server,
        Method::PUT,
        &path,
        Some(&token),
        Some(json!({"stream_id": stream_id})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["delivery"]["method"], "urn:ietf:rfc:8936");
    assert!(replaced.get("description").is_none(), "{replaced}");

    // The administrator's view (`ztrisk integrations stream`).
    let (status, view) = server
        .admin_call(Method::GET, &format!("/integrations/{id}/stream"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["result"]["stream_id"], stream_id.as_str());
    assert_eq!(view["result"]["status"], "enabled");
    assert_eq!(view["result"]["backlog"]["pending"], 0);

    // DELETE needs the id; then the stream is gone.
    let (status, _) = ssf(&server, Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, gone) = ssf(
        &server,
        Method::DELETE,
        &format!("{path}?stream_id={stream_id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!((status, gone), (StatusCode::NO_CONTENT, Value::Null));
    let (_, streams) = ssf(&server, Method::GET, &path, Some(&token), None).await;
    assert_eq!(streams, json!([]));
    server.shutdown().await;
}

#[tokio::test]
async fn polls_hand_out_sets_until_acknowledged() {
    let server = TestServer::start().await;
    enable_impossible_travel(&server).await;
    let id = create_ssf(&server).await;
    let token = receiver_token(&server).await;
    let stream_id = create_poll_stream(&server, &id, &token).await;

    // A verification: 204, then a SET naming the stream, with the receiver's state.
    let (status, body) = ssf(
        &server,
        Method::POST,
        &format!("/ssf/{id}/stream/verify"),
        Some(&token),
        Some(json!({"stream_id": stream_id, "state": "c3RhdGU"})),
    )
    .await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    raise(&server, "jane@example.com", "j").await;
    let sets = poll(&server, &id, &token, json!({})).await;
    assert_eq!(sets.len(), 2, "{sets:?}");
    let verification = sets
        .iter()
        .find(|(_, c)| c["events"].get(VERIFICATION).is_some())
        .unwrap_or_else(|| panic!("{sets:?}"));
    assert_eq!(
        verification.1["sub_id"],
        json!({"format": "opaque", "id": stream_id})
    );
    assert_eq!(verification.1["events"][VERIFICATION]["state"], "c3RhdGU");
    let (jti, risk) = sets
        .iter()
        .find(|(_, c)| c["events"].get(RISK).is_some())
        .cloned()
        .unwrap_or_else(|| panic!("{sets:?}"));
    assert_eq!(risk["jti"], jti.as_str());
    assert_eq!(risk["iss"], format!("{}/{id}", server.base_url));
    assert_eq!(risk["aud"], AUDIENCE);
    assert_eq!(
        risk["sub_id"],
        json!({"format": "email", "email": "jane@example.com"})
    );
    assert!(risk.get("sub").is_none() && risk.get("exp").is_none());
    let event = &risk["events"][RISK];
    assert_eq!(event["principal"], "USER");
    assert_eq!(event["current_level"], "HIGH");
    assert_eq!(event["previous_level"], "LOW");
    assert_eq!(event["risk_reason"], "imp_travel");
    assert_eq!(event["initiating_entity"], "policy");

    // Handed out, not acknowledged: held from other polls for the lease.
    assert!(poll(&server, &id, &token, json!({})).await.is_empty());
    // An acknowledgement of a SET this stream never had changes nothing, not even the
    // genuine acknowledgement beside it.
    let (status, answer) = ssf(
        &server,
        Method::POST,
        &format!("/ssf/{id}/poll"),
        Some(&token),
        Some(json!({"ack": [jti, "ffffffffffffffffffffffffffffffff"], "returnImmediately": true})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["err"], "invalid_request");
    for bad in [
        json!({"maxEvents": -1}),
        json!({"ack": "x"}),
        json!({"setErrs": {"x": 1}}),
        json!({"returnImmediately": "yes"}),
    ] {
        let (status, answer) = ssf(
            &server,
            Method::POST,
            &format!("/ssf/{id}/poll"),
            Some(&token),
            Some(bad.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {answer}");
        assert!(
            answer["errors"][0]["source"]["pointer"].is_string(),
            "{answer}"
        );
    }
    let (_, listed) = server
        .admin_call(Method::GET, &format!("/integrations/{id}/deliveries"), None)
        .await;
    let risk_delivery = listed["result"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["id"] == jti.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(risk_delivery["status"], "pending");
    assert_eq!(risk_delivery["attempts"], 1);

    // Acknowledge the risk SET, refuse the verification: both settled, neither comes back.
    let verification_jti = verification.0.clone();
    let sets = poll(
        &server,
        &id,
        &token,
        json!({"ack": [jti], "setErrs": {verification_jti.clone(): {"err": "invalid_state", "description": "unexpected"}}, "maxEvents": 0}),
    )
    .await;
    assert!(sets.is_empty());
    let (_, listed) = server
        .admin_call(Method::GET, &format!("/integrations/{id}/deliveries"), None)
        .await;
    let status_of = |jti: &str| {
        listed["result"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["id"] == jti)
            .map(|d| (d["status"].clone(), d["last_error"].clone()))
    };
    assert_eq!(status_of(&jti).map(|s| s.0), Some(json!("delivered")));
    let refused = status_of(&verification_jti).unwrap_or_default();
    assert_eq!(refused.0, "failed");
    assert!(
        refused
            .1
            .as_str()
            .unwrap_or_default()
            .contains("invalid_state")
    );
    // Re-acknowledging what was acknowledged is harmless.
    assert!(
        poll(&server, &id, &token, json!({"ack": [jti]}))
            .await
            .is_empty()
    );

    // A reset is one more change; the next poll has it, and `maxEvents` bounds a poll.
    raise(&server, "joe@example.com", "o").await;
    raise(&server, "ann@example.com", "a").await;
    let (status, answer) = ssf(
        &server,
        Method::POST,
        &format!("/ssf/{id}/poll"),
        Some(&token),
        Some(json!({"maxEvents": 1, "returnImmediately": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["sets"].as_object().map(|s| s.len()), Some(1));
    assert_eq!(answer["moreAvailable"], true);
    let rest = poll(&server, &id, &token, json!({})).await;
    assert_eq!(rest.len(), 1);

    // A push stream cannot be polled.
    let (status, _) = ssf(
        &server,
        Method::PATCH,
        &format!("/ssf/{id}/stream"),
        Some(&token),
        Some(json!({"stream_id": stream_id, "delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": "http://127.0.0.1:9/push"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = ssf(
        &server,
        Method::POST,
        &format!("/ssf/{id}/poll"),
        Some(&token),
        Some(json!({"returnImmediately": true})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_long_poll_returns_when_a_change_is_queued() {
    let server = TestServer::start().await;
    enable_impossible_travel(&server).await;
    let id = create_ssf(&server).await;
    let token = receiver_token(&server).await;
    create_poll_stream(&server, &id, &token).await;
    let waiting = {
        let (server, id, token) = (server.clone(), id.clone(), token.clone());
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let answer = ssf(
                &server,
                Method::POST,
                &format!("/ssf/{id}/poll"),
                Some(&token),
                Some(json!({})),
            )
            .await;
            (answer, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    raise(&server, "jane@example.com", "j").await;
    let ((status, answer), waited) = waiting.await.unwrap_or_else(|e| panic!("poll task: {e}"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        answer["sets"].as_object().map(|s| s.len()),
        Some(1),
        "{answer}"
    );
    assert!(waited < Duration::from_secs(10), "waited {waited:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn paused_streams_hold_disabled_streams_drop_removed_subjects_get_nothing() {
    let server = TestServer::start().await;
    enable_impossible_travel(&server).await;
    let id = create_ssf(&server).await;
    let token = receiver_token(&server).await;
    let stream_id = create_poll_stream(&server, &id, &token).await;
    let status_path = format!("/ssf/{id}/stream/status");
    let set_status = |status: &'static str| {
        let (server, path, token, stream_id) = (
            server.clone(),
            status_path.clone(),
            token.clone(),
            stream_id.clone(),
        );
        async move {
            ssf(
                &server,
                Method::POST,
                &path,
                Some(&token),
                Some(json!({"stream_id": stream_id, "status": status, "reason": "maintenance"})),
            )
            .await
        }
    };

    let (status, answer) = set_status("paused").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!({"stream_id": stream_id, "status": "paused", "reason": "maintenance"})
    );
    let (status, read) = ssf(
        &server,
        Method::GET,
        &format!("{status_path}?stream_id={stream_id}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        (status, read["status"].clone()),
        (StatusCode::OK, json!("paused"))
    );
    let (status, bad) = ssf(
        &server,
        Method::POST,
        &status_path,
        Some(&token),
        Some(json!({"stream_id": stream_id, "status": "asleep"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert_eq!(bad["errors"][0]["source"]["pointer"], "/status");

    // Paused: the change is held; the stream-updated event is not.
    raise(&server, "jane@example.com", "j").await;
    let sets = poll(&server, &id, &token, json!({})).await;
    assert_eq!(event_types(&sets), vec![UPDATED.to_owned()], "{sets:?}");
    assert_eq!(sets[0].1["events"][UPDATED]["status"], "paused");
    let acks: Vec<String> = sets.iter().map(|(j, _)| j.clone()).collect();
    assert!(
        poll(&server, &id, &token, json!({"ack": acks}))
            .await
            .is_empty()
    );
    let (_, view) = server
        .admin_call(Method::GET, &format!("/integrations/{id}/stream"), None)
        .await;
    assert_eq!(view["result"]["backlog"]["pending"], 1, "{view}");

    // Resumed: stream-updated, then the held change.
    let (status, _) = set_status("enabled").await;
    assert_eq!(status, StatusCode::OK);
    let sets = poll(&server, &id, &token, json!({})).await;
    let mut types = event_types(&sets);
    types.sort();
    assert_eq!(types, vec![RISK.to_owned(), UPDATED.to_owned()], "{sets:?}");
    let acks: Vec<String> = sets.iter().map(|(j, _)| j.clone()).collect();
    poll(&server, &id, &token, json!({"ack": acks, "maxEvents": 0})).await;

    // A removed subject gets nothing; one added back gets its next change.
    let (status, body) = ssf(
        &server,
        Method::POST,
        &format!("/ssf/{id}/stream/subjects/remove"),
        Some(&token),
        Some(json!({"stream_id": stream_id, "subject": {"format": "email", "email": "Joe@Example.com"}})),
    )
    .await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    for bad in [
        json!({"stream_id": stream_id, "subject": {"format": "opaque", "id": "x"}}),
        json!({"stream_id": stream_id, "subject": {"format": "email", "email": "nobody"}}),
        json!({"stream_id": stream_id}),
    ] {
        let (status, answer) = ssf(
            &server,
            Method::POST,
            &format!("/ssf/{id}/stream/subjects/add"),
            Some(&token),
            Some(bad.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {answer}");
    }
    raise(&server, "joe@example.com", "o").await;
    assert!(poll(&server, &id, &token, json!({})).await.is_empty());
    let (_, view) = server
        .admin_call(Method::GET, &format!("/integrations/{id}/stream"), None)
        .await;
    assert_eq!(
        view["result"]["removed_subjects"],
        json!(["joe@example.com"])
    );
    let (status, _) = ssf(
        &server,
        Method::POST,
        &format!("/ssf/{id}/stream/subjects/add"),
        Some(&token),
        Some(json!({"stream_id": stream_id, "subject": {"format": "email", "email": "joe@example.com"}, "verified": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    send(&server, &[login("o3", "joe@example.com", 20, LONDON)]).await;
    let user_id = crate::support::user_by_email(&server, "joe@example.com")
        .await
        .unwrap_or_else(|| panic!("joe"))["user_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, _) = server
        .admin_call(Method::POST, &format!("/{user_id}/reset"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let sets = poll(&server, &id, &token, json!({})).await;
    assert_eq!(sets.len(), 1, "{sets:?}");
    assert_eq!(sets[0].1["events"][RISK]["risk_reason"], "reset");
    assert_eq!(sets[0].1["events"][RISK]["initiating_entity"], "admin");
    assert_eq!(sets[0].1["events"][RISK]["current_level"], "LOW");
    let acks: Vec<String> = sets.iter().map(|(j, _)| j.clone()).collect();
    poll(&server, &id, &token, json!({"ack": acks, "maxEvents": 0})).await;

    // Disabled: held changes are dropped, new ones not queued.
    let (status, _) = set_status("paused").await;
    assert_eq!(status, StatusCode::OK);
    raise(&server, "ann@example.com", "a").await;
    let (status, _) = set_status("disabled").await;
    assert_eq!(status, StatusCode::OK);
    raise(&server, "bob@example.com", "b").await;
    let sets = poll(&server, &id, &token, json!({})).await;
    let types = event_types(&sets);
    assert_eq!(
        types,
        vec![UPDATED.to_owned(), UPDATED.to_owned()],
        "{sets:?}"
    );
    let (_, view) = server
        .admin_call(Method::GET, &format!("/integrations/{id}/stream"), None)
        .await;
    assert_eq!(view["result"]["status"], "disabled");
    server.shutdown().await;
}

#[tokio::test]
async fn unacknowledged_sets_come_back_after_a_restart() {
    // A short lease stands in for the time a PostgreSQL replica's claim outlives the replica
    // (SQLite drops claims when it opens).
    let short = || ServerConfig {
        poll_lease: Duration::from_millis(300),
        ..ServerConfig::default()
    };
    let server = TestServer::start_with(short()).await;
    enable_impossible_travel(&server).await;
    let id = create_ssf(&server).await;
    let token = receiver_token(&server).await;
    create_poll_stream(&server, &id, &token).await;
    raise(&server, "jane@example.com", "j").await;
    let first = poll(&server, &id, &token, json!({})).await;
    assert_eq!(first.len(), 1);
    // The receiver crashed before acknowledging; so did ztrisk.
    let server = server.restart_with(short()).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = poll(&server, &id, &token, json!({})).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].0, first[0].0, "the same jti");
    assert_eq!(again[0].1, first[0].1, "the same SET");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let acked = poll(&server, &id, &token, json!({"ack": [again[0].0.clone()]})).await;
    assert!(acked.is_empty());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(poll(&server, &id, &token, json!({})).await.is_empty());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_hand_out_each_set_once_until_acknowledged() {
    let first = TestServer::start().await;
    enable_impossible_travel(&first).await;
    let second = first.replica().await;
    let id = create_ssf(&first).await;
    let token = receiver_token(&first).await;
    create_poll_stream(&second, &id, &token).await;
    for (i, email) in [
        "a@example.com",
        "b@example.com",
        "c@example.com",
        "d@example.com",
    ]
    .iter()
    .enumerate()
    {
        raise(
            if i % 2 == 0 { &first } else { &second },
            email,
            &format!("u{i}"),
        )
        .await;
    }
    // Concurrent polls on both replicas, two SETs at a time, until nothing is left.
    let mut seen = Vec::new();
    for _ in 0..4 {
        let (a, b) = tokio::join!(
            poll(&first, &id, &token, json!({"maxEvents": 2})),
            poll(&second, &id, &token, json!({"maxEvents": 2})),
        );
        seen.extend(a.into_iter().chain(b).map(|(jti, _)| jti));
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a SET was handed out twice: {seen:?}"
    );
    assert_eq!(seen.len(), 4);
    // Acknowledged on one replica, they never come back on the other.
    assert!(
        poll(&second, &id, &token, json!({"ack": seen}))
            .await
            .is_empty()
    );
    assert!(poll(&first, &id, &token, json!({})).await.is_empty());
    second.shutdown().await;
    first.shutdown().await;
}
