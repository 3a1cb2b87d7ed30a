//! Decoding of real Cloudflare bodies, errors and successes, including the odd ones.

use crate::support::{ACCOUNT, Canned, Fake, ok_body};
use serde_json::json;
use ztrisk_client::types::RiskLevel;
use ztrisk_client::{ApiError, ApiErrorKind, Client, Error};

/// Answers every request with `canned`, through a client that does not retry.
async fn refusal(canned: Canned) -> Box<ApiError> {
    let fake = Fake::start(vec![canned]).await;
    let client = fake.client(|b| b.max_retries(0));
    match client
        .zero_trust()
        .risk_scoring()
        .behaviours()
        .get(ACCOUNT)
        .await
    {
        Err(Error::Api(e)) => e,
        other => panic!("expected an API error, got {other:?}"),
    }
}

async fn fake_client(body: String) -> (Fake, Client) {
    let fake = Fake::start(vec![Canned::new(200, body)]).await;
    let client = fake.client(|b| b.max_retries(0));
    (fake, client)
}

#[tokio::test]
async fn header_errors_with_error_chain() {
    // What api.cloudflare.com answers to `Authorization: Bearer` with a malformed token.
    let error = refusal(Canned::new(
        400,
        r#"{"success":false,"errors":[{"code":6003,"message":"Invalid request headers","error_chain":[{"code":6111,"message":"Invalid format for Authorization header"}]}],"messages":[],"result":null}"#,
    ).header("cf-ray", "8f1e2d3c4b5a6978-LHR"))
    .await;
    assert_eq!(
        (error.status, error.kind()),
        (400, ApiErrorKind::BadRequest)
    );
    assert_eq!(error.errors.len(), 1);
    assert_eq!(error.errors[0].code, 6003);
    assert_eq!(error.errors[0].error_chain.len(), 1);
    assert_eq!(error.errors[0].error_chain[0].code, 6111);
    assert_eq!(
        error.errors[0].error_chain[0].message,
        "Invalid format for Authorization header"
    );
    assert_eq!(error.request_id.as_deref(), Some("8f1e2d3c4b5a6978-LHR"));
    assert!(
        error.to_string().ends_with(
            "HTTP 400: 6003 Invalid request headers [6111 Invalid format for Authorization header]"
        ),
        "{error}"
    );

    // Several causes, for a malformed global key.
    let error = refusal(Canned::new(
        400,
        r#"{"success":false,"errors":[{"code":6003,"message":"Invalid request headers","error_chain":[{"code":6103,"message":"Invalid format for X-Auth-Key header"},{"code":6102,"message":"Invalid format for X-Auth-Email header"}]}],"messages":[],"result":null}"#,
    ))
    .await;
    assert!(error.has_code(6103) && error.has_code(6102));
}

#[tokio::test]
async fn authentication_and_routing_errors() {
    // No `messages`, no `result`: some Cloudflare answers leave them out.
    let error = refusal(Canned::new(
        403,
        r#"{"success":false,"errors":[{"code":10000,"message":"Authentication error"}]}"#,
    ))
    .await;
    assert_eq!(
        (error.kind(), error.codes()),
        (ApiErrorKind::PermissionDenied, vec![10000])
    );
    assert!(error.messages.is_empty());

    let error = refusal(Canned::new(
        403,
        r#"{"success":false,"errors":[{"code":9109,"message":"Unauthorized to access requested resource"}],"messages":[],"result":null}"#,
    ))
    .await;
    assert_eq!(error.codes(), vec![9109]);

    let error = refusal(Canned::new(
        400,
        r#"{"success":false,"errors":[{"code":9106,"message":"Missing X-Auth-Key, X-Auth-Email or Authorization headers"}],"messages":[],"result":null}"#,
    ))
    .await;
    assert_eq!(error.codes(), vec![9106]);

    // `result` first, as api.cloudflare.com orders this one.
    let error = refusal(Canned::new(
        404,
        r#"{"result":null,"success":false,"errors":[{"code":7003,"message":"Could not route to /accounts/abc/zt_risk_scoring/behaviors, perhaps your object identifier is invalid?"},{"code":7000,"message":"No route for that URI"}],"messages":[]}"#,
    ))
    .await;
    assert_eq!(
        (error.kind(), error.codes()),
        (ApiErrorKind::NotFound, vec![7003, 7000])
    );
}

#[tokio::test]
async fn validation_errors_with_pointers_and_documentation() {
    // The schema of Cloudflare's reference (the seed page), `null` lists tolerated.
    let error = refusal(Canned::new(
        400,
        r#"{"errors":[{"code":1001,"message":"Invalid risk level","documentation_url":"https://developers.cloudflare.com/api/","source":{"pointer":"/behaviors/foo/risk_level"}},{"code":1001,"message":"Missing field","source":{"pointer":"/behaviors/bar/enabled"}}],"messages":null,"success":false,"result":null,"result_info":null}"#,
    ))
    .await;
    assert_eq!(error.codes(), vec![1001, 1001]);
    assert_eq!(
        error.pointers(),
        vec!["/behaviors/foo/risk_level", "/behaviors/bar/enabled"]
    );
    assert_eq!(
        error.errors[0].documentation_url.as_deref(),
        Some("https://developers.cloudflare.com/api/")
    );
    assert!(
        error.to_string().contains("(at /behaviors/foo/risk_level)"),
        "{error}"
    );
}

#[tokio::test]
async fn rate_limit_and_edge_pages() {
    let error = refusal(
        Canned::new(
            429,
            r#"{"success":false,"errors":[{"code":971,"message":"Please wait and consider throttling your request speed"}],"messages":[],"result":null}"#,
        )
        .header("retry-after", "30"),
    )
    .await;
    assert_eq!(
        (error.kind(), error.codes()),
        (ApiErrorKind::RateLimited, vec![971])
    );

    // Cloudflare's edge answers some failures with an HTML page.
    let error = refusal(
        Canned::new(
            502,
            "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n",
        )
        .header("content-type", "text/html"),
    )
    .await;
    assert_eq!(error.kind(), ApiErrorKind::InternalServer);
    assert!(error.errors.is_empty());
    assert!(
        error
            .body
            .as_deref()
            .is_some_and(|b| b.contains("502 Bad Gateway"))
    );

    // `success: false` on a 200 is a refusal too.
    let error = refusal(Canned::new(
        200,
        r#"{"success":false,"errors":[{"code":1000,"message":"message"}],"messages":[],"result":{"behaviors":{}}}"#,
    ))
    .await;
    assert_eq!((error.status, error.kind()), (200, ApiErrorKind::Other));
    assert_eq!(error.codes(), vec![1000]);
}

#[tokio::test]
async fn cloudflare_successes() {
    // The seed page's PUT answer: messages present, no name or description.
    let (_fake, client) = fake_client(
        r#"{"errors":[],"messages":[{"code":1000,"message":"message","documentation_url":"documentation_url","source":{"pointer":"pointer"}}],"success":true,"result":{"behaviors":{"foo":{"enabled":true,"risk_level":"low"}}}}"#.into(),
    )
    .await;
    let behaviors = client
        .zero_trust()
        .risk_scoring()
        .behaviours()
        .update(
            ACCOUNT,
            ztrisk_client::types::BehaviourUpdateParams::new().behavior(
                "foo",
                true,
                RiskLevel::Low,
            ),
        )
        .await
        .unwrap_or_else(|e| panic!("seed answer: {e}"));
    let foo = behaviors.get("foo").unwrap_or_else(|| panic!("foo"));
    assert_eq!(
        (foo.enabled, foo.risk_level, foo.name.clone()),
        (true, RiskLevel::Low, None)
    );

    // A user never reset and unscored: null level and reset time; no messages at all.
    let (_fake, client) = fake_client(
        json!({"success": true, "errors": [], "result": {
            "email": "a@example.com", "name": "a", "risk_level": null, "last_reset_time": null,
            "events": [{"id": "e1", "name": "Impossible Travel", "risk_level": "high",
                        "timestamp": "2026-01-10T10:00:00.123456789Z", "event_details": null}]}})
        .to_string(),
    )
    .await;
    let user = client
        .zero_trust()
        .risk_scoring()
        .get(ACCOUNT, "6b3e5f7c-0d8a-4c1e-9a2b-3c4d5e6f7a8b")
        .await
        .unwrap_or_else(|e| panic!("user: {e}"));
    assert_eq!((user.risk_level, user.last_reset_time), (None, None));
    assert_eq!(user.events[0].risk_level, Some(RiskLevel::High));
    assert_eq!(user.events[0].event_details, None);

    // A summary without result_info, with an offset time.
    let (_fake, client) = fake_client(ok_body(json!({"users": [{
        "user_id": "6b3e5f7c-0d8a-4c1e-9a2b-3c4d5e6f7a8b", "name": "a", "email": "a@example.com",
        "event_count": 3, "last_event": "2026-01-10T11:00:00+01:00", "max_risk_level": "medium"}]})))
    .await;
    let page = client
        .zero_trust()
        .risk_scoring()
        .summary()
        .get_with(ACCOUNT, Default::default())
        .await
        .unwrap_or_else(|e| panic!("summary: {e}"));
    assert_eq!(page.result_info, None);
    assert_eq!(
        page.result.users[0].last_event.to_rfc3339(),
        "2026-01-10T10:00:00+00:00"
    );

    // A list answered with `null`.
    let (_fake, client) = fake_client(ok_body(json!(null))).await;
    let list = client
        .zero_trust()
        .risk_scoring()
        .integrations()
        .list(ACCOUNT)
        .await
        .unwrap_or_else(|e| panic!("list: {e}"));
    assert!(list.is_empty());
    // Reset answered with `null` (and no messages).
    let (_fake, client) = fake_client(r#"{"success":true,"errors":[],"result":null}"#.into()).await;
    assert!(
        client
            .zero_trust()
            .risk_scoring()
            .reset(ACCOUNT, "6b3e5f7c-0d8a-4c1e-9a2b-3c4d5e6f7a8b")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn unexpected_bodies() {
    let (_fake, client) = fake_client("not json".into()).await;
    let result = client.user().tokens().verify().await;
    assert!(
        matches!(&result, Err(Error::Decode { status: 200, body, .. }) if body == "not json"),
        "{result:?}"
    );
    let (_fake, client) = fake_client(ok_body(json!(null))).await;
    let result = client.user().tokens().verify().await;
    assert!(
        matches!(&result, Err(Error::Decode { message, .. }) if message.contains("no `result`")),
        "{result:?}"
    );
    let (_fake, client) = fake_client(ok_body(json!({"users": [{"user_id": 5}]}))).await;
    let result = client
        .zero_trust()
        .risk_scoring()
        .summary()
        .get(ACCOUNT)
        .await;
    assert!(matches!(&result, Err(Error::Decode { .. })), "{result:?}");
}
