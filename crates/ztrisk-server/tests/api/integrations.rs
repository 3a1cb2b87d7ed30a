//! Integrations (spec 2.6) over HTTP.

use reqwest::{Method, StatusCode};
use serde_json::json;
use ztrisk_core::Permission;
use ztrisk_server::testing::{TestServer, assert_error, pointers};

#[tokio::test]
async fn crud_and_reference_lookup() {
    let server = TestServer::start().await;
    let (status, body) = server.admin_call(Method::GET, "/integrations", None).await;
    assert_eq!(
        (status, body["result"].clone()),
        (StatusCode::OK, json!([]))
    );

    let create = json!({"integration_type": "Okta", "tenant_url": "https://example.okta.com", "reference_id": "okta-1"});
    let (status, created) = server
        .admin_call(Method::POST, "/integrations", Some(&create.to_string()))
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

    let (_, listed) = server.admin_call(Method::GET, "/integrations", None).await;
    assert_eq!(listed["result"], json!([item.clone()]));
    let (_, fetched) = server
        .admin_call(Method::GET, &format!("/integrations/{id}"), None)
        .await;
    assert_eq!(fetched["result"], item);
    let (_, by_ref) = server
        .admin_call(Method::GET, "/integrations/reference_id/okta-1", None)
        .await;
    assert_eq!(by_ref["result"], item);

    // Update overwrites; an omitted reference_id becomes "" (and unknown fields are ignored).
    let update = json!({"active": false, "tenant_url": "https://other.okta.com", "integration_type": "Okta"});
    let (status, updated) = server
        .admin_call(
            Method::PUT,
            &format!("/integrations/{id}"),
            Some(&update.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["result"]["active"], false);
    assert_eq!(updated["result"]["reference_id"], "");
    assert_eq!(updated["result"]["tenant_url"], "https://other.okta.com");
    assert_eq!(updated["result"]["created_at"], item["created_at"]);
    let response = server
        .admin_call(Method::GET, "/integrations/reference_id/okta-1", None)
        .await;
    assert_error(&response, StatusCode::NOT_FOUND, &[1404], None);

    let (status, deleted) = server
        .admin_call(Method::DELETE, &format!("/integrations/{id}"), None)
        .await;
    assert_eq!(
        (status, deleted["result"].clone()),
        (StatusCode::OK, json!({}))
    );
    for method in [Method::GET, Method::DELETE] {
        let response = server
            .admin_call(method, &format!("/integrations/{id}"), None)
            .await;
        assert_error(&response, StatusCode::NOT_FOUND, &[1404], None);
    }
}

#[tokio::test]
async fn duplicate_reference_ids_conflict() {
    let server = TestServer::start().await;
    let create = json!({"integration_type": "Okta", "tenant_url": "https://a.okta.com", "reference_id": "same"}).to_string();
    assert_eq!(
        server
            .admin_call(Method::POST, "/integrations", Some(&create))
            .await
            .0,
        StatusCode::OK
    );
    let response = server
        .admin_call(Method::POST, "/integrations", Some(&create))
        .await;
    assert_error(&response, StatusCode::CONFLICT, &[1409], None);
    // Empty reference ids never conflict.
    let blank = json!({"integration_type": "Okta", "tenant_url": "https://a.okta.com", "reference_id": null}).to_string();
    for _ in 0..2 {
        let (status, body) = server
            .admin_call(Method::POST, "/integrations", Some(&blank))
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
        .admin_call(Method::POST, "/integrations", Some(&bad))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut pointers = pointers(&body);
    pointers.sort();
    assert_eq!(
        pointers,
        ["/integration_type", "/reference_id", "/tenant_url"]
    );
    let response = server
        .admin_call(
            Method::PUT,
            &format!("/integrations/{}", uuid::Uuid::new_v4()),
            Some("{\"tenant_url\": \"https://a.okta.com\"}"),
        )
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, &[1001], Some("/active"));
    let response = server
        .admin_call(Method::GET, "/integrations/not-a-uuid", None)
        .await;
    assert_error(&response, StatusCode::NOT_FOUND, &[7003, 7000], None);

    let (reader, _) = server
        .token(&[server.account], &[Permission::ZeroTrustRead], None)
        .await;
    assert_eq!(
        server
            .call(
                Method::GET,
                &server.api_path("/integrations"),
                &reader,
                None
            )
            .await
            .0,
        StatusCode::OK
    );
    let create =
        json!({"integration_type": "Okta", "tenant_url": "https://a.okta.com"}).to_string();
    let response = server
        .call(
            Method::POST,
            &server.api_path("/integrations"),
            &reader,
            Some(&create),
        )
        .await;
    assert_error(&response, StatusCode::FORBIDDEN, &[9109], None);

    // Another account's integrations are invisible.
    let (_, created) = server
        .admin_call(Method::POST, "/integrations", Some(&create))
        .await;
    let id = created["result"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let other = server.create_account("other").await;
    let (other_admin, _) = server
        .token(&[other], &[Permission::ZeroTrustWrite], None)
        .await;
    let other_path = format!("/client/v4/accounts/{other}/zt_risk_scoring/integrations/{id}");
    let response = server
        .call(Method::GET, &other_path, &other_admin, None)
        .await;
    assert_error(&response, StatusCode::NOT_FOUND, &[1404], None);
}
