//! The permissions table, checked against the running server: every route answers with the
//! decision the table records for it, so a handler that names another operation than its row
//! (or none) fails here.

use reqwest::StatusCode;
use ztrisk_server::operations::{Access, ROUTES, accepted};
use ztrisk_server::testing::{TestServer, assert_error, message};

/// The route's path with its parameters filled in; `integration` names an existing one (the
/// public discovery documents answer only for those).
fn concrete(path: &str, server: &TestServer, integration: &str) -> String {
    path.replace("{account_id}", &server.account.to_string())
        .replace("{user_id}", "6d1a3a3c-8f5e-4b55-9a59-0f5b8f8a6d11")
        .replace("{integration_id}", integration)
        .replace("{webhook_id}", "4b2e8c1a-9d3f-4e6a-8b7c-1d2e3f4a5b6c")
        .replace("{reference_id}", "some-reference")
        .replace("{dataset}", "gateway_dns")
}

#[tokio::test]
async fn every_route_answers_with_its_decision() {
    let server = TestServer::start().await;
    let (powerless, _) = server.token(&[server.account], &[], None).await;
    let (_, created) = server
        .admin_call(
            reqwest::Method::POST,
            "/integrations",
            Some(r#"{"integration_type": "Okta", "tenant_url": "https://tenant.example"}"#),
        )
        .await;
    let integration = created["result"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (_, created) = server
        .admin_call(
            reqwest::Method::POST,
            "/integrations",
            Some(r#"{"integration_type": "SSF", "tenant_url": "https://receiver.example"}"#),
        )
        .await;
    let ssf_integration = created["result"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for route in ROUTES {
        let path = match route.access {
            Access::Integration(_) => concrete(route.path, &server, &ssf_integration),
            _ => concrete(route.path, &server, &integration),
        };
        let path = match route.access {
            // The operations, discovery and SSF endpoints are at the root only.
            Access::Public | Access::Integration(_) => path,
            _ => format!("/client/v4{path}"),
        };
        let body = matches!(route.method.as_str(), "POST" | "PUT").then_some("{}");
        match route.access {
            Access::Public => {
                // Not all of them answer JSON (`/metrics` is Prometheus text).
                let status = server
                    .request(route.method.clone(), &path, &[], None)
                    .await
                    .status();
                assert_eq!(status, StatusCode::OK, "{route:?} without credentials");
            }
            Access::AnyToken => {
                let (status, _) = server
                    .call(route.method.clone(), &path, &powerless, body)
                    .await;
                assert_eq!(status, StatusCode::OK, "{route:?} with a powerless token");
            }
            Access::Integration(operation) => {
                let anonymous = server
                    .request(route.method.clone(), &path, &[], body.map(String::from))
                    .await;
                assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{route:?}");
                let refused = server
                    .call(route.method.clone(), &path, &powerless, body)
                    .await;
                assert_error(&refused, StatusCode::FORBIDDEN, &[9109], None);
                let needed = accepted(operation).unwrap_or_else(|| panic!("{operation}"));
                for permission in needed {
                    let (token, _) = server.token(&[server.account], &[*permission], None).await;
                    let (status, answer) =
                        server.call(route.method.clone(), &path, &token, body).await;
                    assert!(
                        status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
                        "{route:?} with {permission}: {status} {answer}"
                    );
                }
            }
            Access::Account(operation) => {
                let needed = accepted(operation).unwrap_or_else(|| panic!("{operation}"));
                let refused = server
                    .call(route.method.clone(), &path, &powerless, body)
                    .await;
                assert_error(&refused, StatusCode::FORBIDDEN, &[9109], None);
                let names: Vec<&str> = needed.iter().map(|p| p.name()).collect();
                let text = message(&refused.1);
                assert!(
                    text.ends_with(&format!(
                        "requires one of these permissions: {}",
                        names.join(", ")
                    )),
                    "{route:?}: {text}"
                );
                // Each accepted permission alone is enough.
                for permission in needed {
                    let (token, _) = server.token(&[server.account], &[*permission], None).await;
                    let (status, answer) =
                        server.call(route.method.clone(), &path, &token, body).await;
                    assert_ne!(
                        status,
                        StatusCode::FORBIDDEN,
                        "{route:?} with {permission}: {answer}"
                    );
                }
            }
        }
    }
    server.shutdown().await;
}
