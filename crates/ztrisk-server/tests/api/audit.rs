//! The audit log (spec 7) over HTTP: changes made through the API with a token (or a global
//! key) are listed with who, what and which target; filters, paging, permissions, accounts
//! that never see each other's entries, and no secret anywhere.

use crate::support::{send, t, user_by_email};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use ztrisk_core::Permission;
use ztrisk_server::testing::{TestServer, assert_error, message};

const SLACK_PATH: &str = "/services/T0AUDIT/B0AUDIT/slackpathissecret";
const RECEIVER_AUTH: &str = "Bearer receiver-s3cr3t-for-audit";

/// GET `/audit<query>` with `token`.
async fn audit(server: &TestServer, token: &str, query: &str) -> (StatusCode, Value) {
    let path = server.api_path(&format!("/audit{query}"));
    server.call(Method::GET, &path, token, None).await
}

/// The entries of a successful GET.
fn entries(body: &Value) -> Vec<Value> {
    body["result"].as_array().cloned().unwrap_or_default()
}

fn actions(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_are_listed_with_who_what_and_target() {
    let server = TestServer::start().await;
    let (writer, writer_id) = server
        .token(&[server.account], &[Permission::ZeroTrustWrite], None)
        .await;
    let (reader, _) = server
        .token(&[server.account], &[Permission::ZeroTrustPiiRead], None)
        .await;
    let (receiver, receiver_id) = server
        .token(&[server.account], &[Permission::ZeroTrustRiskSharing], None)
        .await;
    let call = |method, rest: &str, body: Option<Value>| {
        let path = server.api_path(rest);
        let body = body.map(|b| b.to_string());
        let server = server.clone();
        let writer = writer.clone();
        async move { server.call(method, &path, &writer, body.as_deref()).await }
    };

    // Behaviors, then a user at risk (ingest is not audited), reset and confirmed.
    let (status, body) = call(
        Method::PUT,
        "/behaviors",
        Some(json!({"behaviors": {
            "imp_travel": {"enabled": true, "risk_level": "medium"},
            "sig": {"enabled": true, "risk_level": "high"}
        }})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    send(
        &server,
        &[
            json!({"type": "behavior", "behavior": "sig", "timestamp": t(0),
                 "user": {"email": "ana@example.com"}}),
        ],
    )
    .await;
    let user = user_by_email(&server, "ana@example.com")
        .await
        .unwrap_or_else(|| panic!("ana is not at risk"));
    let user_id = user["user_id"].as_str().unwrap_or_default().to_owned();
    let (status, body) = call(Method::POST, &format!("/{user_id}/reset"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(
        Method::POST,
        &format!("/{user_id}/confirm_compromised"),
        Some(json!({"reason": "phished"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // An integration, a webhook (its secret is shown once, and never logged).
    let (_, created) = call(
        Method::POST,
        "/integrations",
        Some(json!({"integration_type": "Okta", "tenant_url": "https://acme.okta.com"})),
    )
    .await;
    let okta = created["result"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, body) = call(
        Method::PUT,
        &format!("/integrations/{okta}"),
        Some(json!({"tenant_url": "https://acme.okta.com", "active": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(Method::DELETE, &format!("/integrations/{okta}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, created) = call(
        Method::POST,
        "/webhooks",
        Some(
            json!({"url": format!("https://hooks.slack.com{SLACK_PATH}"),
                    "format": "slack", "active": false}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let webhook = created["result"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let webhook_secret = created["result"]["secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(webhook_secret.starts_with("whsec_"), "{created}");

    // A receiver creates its stream with a credential of its own.
    let (_, created) = call(
        Method::POST,
        "/integrations",
        Some(json!({"integration_type": "SSF", "tenant_url": "https://receiver.example"})),
    )
    .await;
    let ssf = created["result"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, body) = server
        .call(
            Method::POST,
            &format!("/ssf/{ssf}/stream"),
            &receiver,
            Some(
                &json!({"events_requested": [ztrisk_types::ssf::CAEP_RISK_LEVEL_CHANGE],
                         "delivery": {"method": "urn:ietf:rfc:8935",
                                      "endpoint_url": "http://127.0.0.1:9/push",
                                      "authorization_header": RECEIVER_AUTH}})
                .to_string(),
            ),
        )
        .await;
    assert!(status.is_success(), "{status} {body}");

    // And the global API key changes a behavior.
    let (status, body) = server
        .call_with(
            Method::PUT,
            &server.behaviors_path(),
            &[
                ("x-auth-email", server.key_email.clone()),
                ("x-auth-key", server.key.clone()),
                ("content-type", "application/json".into()),
            ],
            Some(
                json!({"behaviors": {"sig": {"enabled": false, "risk_level": "high"}}}).to_string(),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, body) = audit(&server, &reader, "?per_page=100").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let log = entries(&body);
    let mut oldest_first = actions(&log);
    oldest_first.reverse();
    // The test server's own start (bootstrap, its key) comes first.
    assert_eq!(
        oldest_first,
        [
            "account.create",
            "token.create",
            "api_key.set",
            "token.create",
            "token.create",
            "token.create",
            "behaviors.update",
            "user.reset",
            "user.confirm_compromised",
            "integration.create",
            "integration.update",
            "integration.delete",
            "webhook.create",
            "integration.create",
            "stream.create",
            "behaviors.update",
        ]
    );
    assert_eq!(body["result_info"]["total_count"], log.len());
    let by_writer = format!("token:{writer_id}");
    for entry in &log[..log.len() - 6] {
        let expected = match entry["action"].as_str() {
            Some("stream.create") => format!("token:{receiver_id}"),
            Some("behaviors.update") if entry == &log[0] => format!("key:{}", server.key_email),
            _ => by_writer.clone(),
        };
        assert_eq!(entry["actor"], expected.as_str(), "{entry}");
    }

    // Who reset this user? The writer's token.
    let (_, resets) = audit(&server, &reader, "?action=user.reset").await;
    let resets = entries(&resets);
    assert_eq!(resets.len(), 1, "{resets:?}");
    assert_eq!(resets[0]["target"], user_id.as_str());
    assert_eq!(resets[0]["actor"], by_writer.as_str());
    assert_eq!(resets[0]["change"]["email"], "ana@example.com");
    assert_eq!(
        resets[0]["change"]["risk_level"],
        json!({"before": "high", "after": null})
    );

    // PUT behaviors: before and after of what changed.
    let (_, puts) = audit(&server, &reader, "?action=behaviors.update").await;
    let puts = entries(&puts);
    assert_eq!(puts.len(), 2);
    let first = &puts[1];
    assert_eq!(first["target"], "imp_travel,sig");
    assert_eq!(first["change"]["before"]["imp_travel"]["enabled"], false);
    assert_eq!(
        first["change"]["before"]["imp_travel"]["risk_level"],
        "high"
    );
    assert_eq!(first["change"]["after"]["imp_travel"]["enabled"], true);
    assert_eq!(
        first["change"]["after"]["imp_travel"]["risk_level"],
        "medium"
    );
    assert_eq!(first["change"]["before"]["sig"], Value::Null);
    assert_eq!(puts[0]["actor"], format!("key:{}", server.key_email));
    assert_eq!(puts[0]["change"]["before"]["sig"]["enabled"], true);
    assert_eq!(puts[0]["change"]["after"]["sig"]["enabled"], false);

    let hook = log
        .iter()
        .find(|e| e["action"] == "webhook.create")
        .unwrap_or_else(|| panic!("no webhook.create"));
    assert_eq!(hook["target"], webhook.as_str());
    assert_eq!(hook["change"]["url_origin"], "https://hooks.slack.com");
    let stream = log
        .iter()
        .find(|e| e["action"] == "stream.create")
        .unwrap_or_else(|| panic!("no stream.create"));
    assert_eq!(stream["target"], ssf.as_str());
    assert_eq!(stream["change"]["endpoint_origin"], "http://127.0.0.1:9");

    // Never a secret: no token, key, webhook secret, receiver credential or Slack path.
    let text = body.to_string();
    for secret in [
        writer.as_str(),
        reader.as_str(),
        receiver.as_str(),
        server.admin.as_str(),
        server.key.as_str(),
        webhook_secret.as_str(),
        RECEIVER_AUTH,
        SLACK_PATH,
    ] {
        assert!(!text.contains(secret), "{secret} is in the audit log");
    }
    assert!(
        !text.contains("s3cr3t") && !text.contains("whsec_"),
        "{text}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_paging_errors_and_permissions() {
    let server = TestServer::start().await;
    for level in ["low", "medium", "high"] {
        let body = json!({"behaviors": {"sig": {"enabled": true, "risk_level": level}}});
        let (status, answer) = server
            .admin_call(Method::PUT, "/behaviors", Some(&body.to_string()))
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let admin = server.admin.clone();

    // Paging: newest first, 25 a page by default, result_info always.
    let (status, all) = audit(&server, &admin, "").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let total = entries(&all).len();
    assert_eq!(
        all["result_info"],
        json!({"page": 1, "per_page": 25, "count": total, "total_count": total, "total_pages": 1})
    );
    assert_eq!(
        entries(&all)[0]["change"]["after"]["sig"]["risk_level"],
        "high"
    );
    let (_, second) = audit(&server, &admin, "?page=2&per_page=2").await;
    assert_eq!(second["result_info"]["page"], 2);
    assert_eq!(second["result_info"]["count"], 2);
    assert_eq!(second["result_info"]["total_pages"], total.div_ceil(2));
    assert_eq!(entries(&second)[0], entries(&all)[2]);
    let ids: Vec<u64> = entries(&all)
        .iter()
        .filter_map(|e| e["id"].as_u64())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");

    // since: inclusive; an offset unencoded in the URL still reads as one.
    let newest_at = entries(&all)[0]["at"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (_, since) = audit(&server, &admin, &format!("?since={newest_at}")).await;
    assert!(!entries(&since).is_empty());
    assert!(
        entries(&since)
            .iter()
            .all(|e| e["at"].as_str().unwrap_or_default() >= newest_at.as_str())
    );
    let (status, later) = audit(&server, &admin, "?since=2999-01-01T00:00:00+01:00").await;
    assert_eq!(status, StatusCode::OK, "{later}");
    assert_eq!(later["result_info"]["total_count"], 0);
    let (_, behaviors) = audit(&server, &admin, "?action=behaviors.update&per_page=2").await;
    assert_eq!(behaviors["result_info"]["total_count"], 3);

    // Bad filters: 400 1001, pointing at the parameter; the vocabulary is listed.
    let (status, bad) = audit(&server, &admin, "?action=behaviors.delete").await;
    assert_error(
        &(status, bad.clone()),
        StatusCode::BAD_REQUEST,
        &[1001],
        Some("/action"),
    );
    assert!(
        message(&bad).contains("\"behaviors.update\"")
            && message(&bad).contains("\"token.revoke\""),
        "{bad}"
    );
    let (status, bad) = audit(&server, &admin, "?since=yesterday").await;
    assert_error(
        &(status, bad),
        StatusCode::BAD_REQUEST,
        &[1001],
        Some("/since"),
    );
    let (status, bad) = audit(&server, &admin, "?per_page=0").await;
    assert_error(
        &(status, bad),
        StatusCode::BAD_REQUEST,
        &[1001],
        Some("/per_page"),
    );

    // Zero Trust: PII Read only.
    let (write_only, _) = server
        .token(
            &[server.account],
            &[Permission::ZeroTrustWrite, Permission::ZeroTrustRead],
            None,
        )
        .await;
    let (status, refused) = audit(&server, &write_only, "").await;
    assert_error(&(status, refused), StatusCode::FORBIDDEN, &[9109], None);

    // Another account's entries never show, and its token cannot read this account's.
    let other = server.create_account("other").await;
    let (other_token, _) = server
        .token(
            &[other],
            &[Permission::ZeroTrustWrite, Permission::ZeroTrustPiiRead],
            None,
        )
        .await;
    let other_path = |rest: &str| format!("/client/v4/accounts/{other}/zt_risk_scoring{rest}");
    let body = json!({"behaviors": {"elsewhere": {"enabled": true, "risk_level": "low"}}});
    let (status, answer) = server
        .call(
            Method::PUT,
            &other_path("/behaviors"),
            &other_token,
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, theirs) = server
        .call(Method::GET, &other_path("/audit"), &other_token, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{theirs}");
    assert_eq!(
        actions(&entries(&theirs)),
        ["behaviors.update", "token.create", "account.create"]
    );
    assert!(!theirs.to_string().contains("\"sig\""));
    let (_, ours) = audit(&server, &admin, "?per_page=100").await;
    assert!(!ours.to_string().contains("elsewhere"), "{ours}");
    assert_eq!(
        entries(&ours).len(),
        total + 1,
        "only the new write-only token"
    );
    let (status, refused) = audit(&server, &other_token, "").await;
    assert_error(&(status, refused), StatusCode::FORBIDDEN, &[9109], None);
    server.shutdown().await;
}
