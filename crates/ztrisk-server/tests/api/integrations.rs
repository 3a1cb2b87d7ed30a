//! Integrations (spec 2.6) over HTTP.

use crate::support::{TestServer, codes};
use reqwest::{Method, StatusCode};
use serde_json::json;
use ztrisk_core::Permission;

fn path(server: &TestServer, rest: &str) -> String {
    format!(
        "/client/v4/accounts/{}/zt_risk_scoring/integrations{rest}",
        server.account
    )
}

#[tokio::test]
async fn crud_and_reference_lookup() {
    let server = TestServer::start().await;
    let (status, body) = server
        .call(Method::GET, &path(&server, ""), &server.admin, None)
        .await;
    assert_eq!(
        (status, body["result"].clone()),
        (StatusCode::OK, json!([]))
    );

    let create = json!({"integration_type": "Okta", "tenant_url": "https://example.okta.com", "reference_id": "okta-1"});
    let (status, created) = server
        .call(
            Method::POST,
            &path(&server, ""),
            &server.admin,
            Some(&create.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let item = created["result"].clone();
    let id = item["id"].as_str().unwrap_or_default().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok());
    assert_eq!(item["account_tag"], server.account.to_string());
    assert_eq!(item["active"], true);
    assert_eq!(item["integration_type"], "Okta");
    assert_eq!(item["reference_id"], "okta-1");
    assert_eq!(item["tenant_url"], "https://example.okta.com");
    assert!(
        item["created_at"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z'))
    );
    let well_known = item["well_known_url"].as_str().unwrap_or_default();
    assert!(
        well_known.starts_with("http")
            && well_known.ends_with(&format!("/.well-known/sse-configuration/{id}/")),
        "{well_known}"
    );

    let (_, listed) = server
        .call(Method::GET, &path(&server, ""), &server.admin, None)
        .await;
    assert_eq!(listed["result"], json!([item.clone()]));
    let (_, fetched) = server
        .call(
            Method::GET,
            &path(&server, &format!("/{id}")),
            &server.admin,
            None,
        )
        .await;
    assert_eq!(fetched["result"], item);
    let (_, by_ref) = server
        .call(
            Method::GET,
            &path(&server, "/reference_id/okta-1"),
            &server.admin,
            None,
        )
        .await;
    assert_eq!(by_ref["result"], item);

    // Update overwrites; an omitted reference_id becomes "" (and unknown fields are ignored).
    let update = json!({"active": false, "tenant_url": "https://other.okta.com", "integration_type": "Okta"});
    let (status, updated) = server
        .call(
            Method::PUT,
            &path(&server, &format!("/{id}")),
            &server.admin,
            Some(&update.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["result"]["active"], false);
    assert_eq!(updated["result"]["reference_id"], "");
    assert_eq!(updated["result"]["tenant_url"], "https://other.okta.com");
    assert_eq!(updated["result"]["created_at"], item["created_at"]);
    let (status, body) = server
        .call(
            Method::GET,
            &path(&server, "/reference_id/okta-1"),
            &server.admin,
            None,
        )
        .await;
    assert_eq!((status, codes(&body)), (StatusCode::NOT_FOUND, vec![1404]));

    let (status, deleted) = server
        .call(
            Method::DELETE,
            &path(&server, &format!("/{id}")),
            &server.admin,
            None,
        )
        .await;
    assert_eq!(
        (status, deleted["result"].clone()),
        (StatusCode::OK, json!({}))
    );
    for method in [Method::GET, Method::DELETE] {
        let (status, body) = server
            .call(
                method,
                &path(&server, &format!("/{id}")),
                &server.admin,
                None,
            )
            .await;
        assert_eq!((status, codes(&body)), (StatusCode::NOT_FOUND, vec![1404]));
    }
}

#[tokio::test]
async fn duplicate_reference_ids_conflict() {
    let server = TestServer::start().await;
    let create = json!({"integration_type": "Okta", "tenant_url": "https://a.okta.com", "reference_id": "same"}).to_string();
    assert_eq!(
        server
            .call(
                Method::POST,
                &path(&server, ""),
                &server.admin,
                Some(&create)
            )
            .await
            .0,
        StatusCode::OK
    );
    let (status, body) = server
        .call(
            Method::POST,
            &path(&server, ""),
            &server.admin,
            Some(&create),
        )
        .await;
    assert_eq!((status, codes(&body)), (StatusCode::CONFLICT, vec![1409]));
    // Empty reference ids never conflict.
    let blank = json!({"integration_type": "Okta", "tenant_url": "https://a.okta.com", "reference_id": null}).to_string();
    for _ in 0..2 {
        let (status, body) = server
            .call(
                Method::POST,
                &path(&server, ""),
                &server.admin,
                Some(&blank),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["result"]["reference_id"], "");
    }
}

#[tokio::test]
async fn validation_and_permissions() {
    let server = TestServer::start().await;
    let bad =
        json!({"integration_type": "Azure", "tenant_url": "http://example.com", "reference_id": 5})
            .to_string();
    let (status, body) = server
        .call(Method::POST, &path(&server, ""), &server.admin, Some(&bad))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut pointers: Vec<_> = body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            e["source"]["pointer"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    pointers.sort();
    assert_eq!(
        pointers,
        ["/integration_type", "/reference_id", "/tenant_url"]
    );
    let (status, body) = server
        .call(
            Method::PUT,
            &path(&server, &format!("/{}", uuid::Uuid::new_v4())),
            &server.admin,
            Some("{\"tenant_url\": \"https://a.okta.com\"}"),
        )
        .await;
    assert_eq!(
        (status, codes(&body)),
        (StatusCode::BAD_REQUEST, vec![1001])
    );
    assert_eq!(body["errors"][0]["source"]["pointer"], "/active");
    let (status, body) = server
        .call(
            Method::GET,
            &path(&server, "/not-a-uuid"),
            &server.admin,
            None,
        )
        .await;
    assert_eq!(
        (status, codes(&body)),
        (StatusCode::NOT_FOUND, vec![7003, 7000])
    );

    let (reader, _) = server
        .token(&[server.account], &[Permission::ZeroTrustRead], None)
        .await;
    assert_eq!(
        server
            .call(Method::GET, &path(&server, ""), &reader, None)
            .await
            .0,
        StatusCode::OK
    );
    let create =
        json!({"integration_type": "Okta", "tenant_url": "https://a.okta.com"}).to_string();
    let (status, body) = server
        .call(Method::POST, &path(&server, ""), &reader, Some(&create))
        .await;
    assert_eq!((status, codes(&body)), (StatusCode::FORBIDDEN, vec![9109]));

    // Another account's integrations are invisible.
    let (_, created) = server
        .call(
            Method::POST,
            &path(&server, ""),
            &server.admin,
            Some(&create),
        )
        .await;
    let id = created["result"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let other = server.store_create_account("other").await;
    let (other_admin, _) = server
        .token(&[other], &[Permission::ZeroTrustWrite], None)
        .await;
    let other_path = format!("/client/v4/accounts/{other}/zt_risk_scoring/integrations/{id}");
    let (status, body) = server
        .call(Method::GET, &other_path, &other_admin, None)
        .await;
    assert_eq!((status, codes(&body)), (StatusCode::NOT_FOUND, vec![1404]));
}
