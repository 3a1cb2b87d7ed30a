//! The dashboard over HTTP, as a browser uses it: sessions, forms and their protections, and
//! that its actions are the API's (same permissions, same data, same audit log). The real
//! browser tests are tests/compat/test_dashboard.py.

use crate::support::{LONDON, enable_impossible_travel, login, send, user, user_by_email};
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::json;
use ztrisk_core::Permission;
use ztrisk_server::ServerConfig;
use ztrisk_server::testing::TestServer;

const SINGAPORE: (f64, f64) = (1.3521, 103.8198);

/// A browser: no automatic redirects, so each answer is seen as sent.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"))
}

/// A signed-in browser session on a server.
struct Session {
    base: String,
    cookie: String,
    csrf: String,
    http: reqwest::Client,
}

/// Signs in with `token`; panics unless the server opens a session.
async fn sign_in(server: &TestServer, token: &str) -> Session {
    let http = browser();
    let response = http
        .post(format!("{}/dashboard/sign-in", server.base_url))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("sign-in: {e}"));
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set_cookie = response
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no session cookie"))
        .to_owned();
    let cookie = set_cookie.split(';').next().unwrap_or_default().to_owned();
    let mut session = Session {
        base: server.base_url.clone(),
        cookie,
        csrf: String::new(),
        http,
    };
    let (_, page) = session
        .get(&format!("/dashboard/{}/users", server.account))
        .await;
    session.csrf = hidden_csrf(&page);
    session
}

/// The form token of a page (every signed-in page has the sign-out form).
fn hidden_csrf(page: &str) -> String {
    let marker = r#"name="_csrf" value=""#;
    let start = page
        .find(marker)
        .unwrap_or_else(|| panic!("no form token in {page}"))
        + marker.len();
    page[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

impl Session {
    async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = response.status();
        (status, response.text().await.unwrap_or_default())
    }

    /// Posts a form as the dashboard's own page would (same origin, with its token).
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = vec![("_csrf", &self.csrf)];
        form.extend_from_slice(fields);
        self.post_raw(path, &form, "same-origin").await
    }

    async fn post_raw(&self, path: &str, fields: &[(&str, &str)], site: &str) -> reqwest::Response {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", site)
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// ana@example.com travels from London to Singapore in 45 minutes; returns her user id.
async fn plant_traveller(server: &TestServer) -> String {
    enable_impossible_travel(server).await;
    send(
        server,
        &[
            login("d1", "ana@example.com", 0, LONDON),
            login("d2", "ana@example.com", 45, SINGAPORE),
        ],
    )
    .await;
    user_by_email(server, "ana@example.com")
        .await
        .unwrap_or_else(|| panic!("ana is not scored"))["user_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_browser_is_sent_to_the_dashboard_and_signs_in_to_a_protected_session() {
    let server = TestServer::start().await;
    let http = browser();
    let root = http
        .get(format!("{}/", server.base_url))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(root.status().is_redirection());
    assert_eq!(location(&root), "/dashboard");
    // An API client still gets the API's answer for a path that is not a route.
    let api = http
        .get(format!("{}/", server.base_url))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert!(
        api.text()
            .await
            .unwrap_or_default()
            .contains("\"success\":false")
    );

    let page = http
        .get(format!("{}/dashboard", server.base_url))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(
        page.headers().get("strict-transport-security").is_none(),
        "no HSTS over plain HTTP"
    );
    assert!(
        page.text()
            .await
            .unwrap_or_default()
            .contains("Sign in to ztrisk")
    );

    let response = http
        .post(format!("{}/dashboard/sign-in", server.base_url))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("token={}", server.admin))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    for attribute in [
        "ztrisk_session=",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=",
    ] {
        assert!(
            cookie.contains(attribute),
            "{attribute} missing from {cookie}"
        );
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    // The session id is not the token, and the token is in no page or URL.
    assert!(!cookie.contains(&server.admin));
    let session = sign_in(&server, &server.admin).await;
    let (status, page) = session
        .get(&format!("/dashboard/{}/users", server.account))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(&server.admin));
    assert!(
        page.contains("No one is at risk yet"),
        "an empty account says what to do next"
    );
    assert!(page.contains("ztrisk demo"));
}

#[tokio::test]
async fn wrong_credentials_open_no_session() {
    let server = TestServer::start().await;
    let http = browser();
    for body in [
        "token=not-a-token".to_owned(),
        format!("token={}x", &server.admin[..39]),
        format!(
            "email={}&api_key=0000000000000000000000000000000000000",
            server.key_email
        ),
        String::new(),
    ] {
        let response = http
            .post(format!("{}/dashboard/sign-in", server.base_url))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            response.status().is_client_error(),
            "{body}: {}",
            response.status()
        );
        assert!(response.headers().get(SET_COOKIE).is_none(), "{body}");
        let page = response.text().await.unwrap_or_default();
        assert!(
            page.contains("role=\"alert\""),
            "{body}: the error is announced"
        );
    }
    // A made-up session cookie is no session.
    let response = http
        .get(format!(
            "{}/dashboard/{}/users",
            server.base_url, server.account
        ))
        .header(COOKIE, format!("ztrisk_session={}", "A".repeat(43)))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/dashboard/sign-in");
    let cleared = response
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        cleared.contains("Max-Age=0"),
        "a dead session's cookie is forgotten: {cleared}"
    );
    // Without a cookie (how a link from another site arrives: the cookie is SameSite=Strict),
    // nothing is cleared: that would sign the person out.
    let response = http
        .get(format!(
            "{}/dashboard/{}/users",
            server.base_url, server.account
        ))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(location(&response), "/dashboard/sign-in");
    assert!(response.headers().get(SET_COOKIE).is_none());
}

#[tokio::test]
async fn a_global_api_key_signs_in_too() {
    let server = TestServer::start().await;
    let http = browser();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("email", &server.key_email)
        .append_pair("api_key", &server.key)
        .finish();
    let response = http
        .post(format!("{}/dashboard/sign-in", server.base_url))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(response.headers().get(SET_COOKIE).is_some());
}

#[tokio::test]
async fn the_users_page_and_a_user_show_risk_and_evidence() {
    let server = TestServer::start().await;
    let ana = plant_traveller(&server).await;
    // Names come from events: markup in them is shown, never run.
    send(
        &server,
        &[json!({"id": "x1", "type": "access_login", "timestamp": crate::support::t(0), "success": true,
                 "user": {"email": "eve@example.com", "name": "<script>alert(1)</script>"},
                 "ip": "203.0.113.9", "location": {"lat": 51.5, "lon": -0.12}}),
          json!({"id": "x2", "type": "access_login", "timestamp": crate::support::t(30), "success": true,
                 "user": {"email": "eve@example.com", "name": "<script>alert(1)</script>"},
                 "ip": "203.0.113.10", "location": {"lat": 40.7, "lon": -74.0}})],
    )
    .await;
    let session = sign_in(&server, &server.admin).await;
    let base = format!("/dashboard/{}", server.account);
    let (status, page) = session.get(&format!("{base}/users")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("ana@example.com"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.contains("<script>alert(1)"));
    assert!(
        page.contains(r#"<span class="n">2</span><span class="label">High risk</span>"#),
        "{page}"
    );
    // Filters: by level, by the start of an email.
    let (_, high) = session.get(&format!("{base}/users?level=high&q=ANA")).await;
    assert!(high.contains("ana@example.com") && !high.contains("eve@example.com"));
    let (_, none) = session.get(&format!("{base}/users?level=low")).await;
    assert!(none.contains("No scored user matches"));

    let (status, page) = session.get(&format!("{base}/users/{ana}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Impossible Travel"));
    assert!(
        page.contains("Logged in from 51.51°N 0.13°W, then 1.35°N 103.82°E: 10,"),
        "{page}"
    );
    assert!(page.contains("faster than 900 km/h"));
    assert!(page.contains("45 min"));
    // Unknown users and malformed ids are pages that say so.
    let (status, _) = session
        .get(&format!("{base}/users/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, page) = session.get(&format!("{base}/users/not-a-uuid")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("<html"));
    let (status, page) = session.get("/dashboard/nowhere/at/all").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("<html"));
}

#[tokio::test]
async fn reset_from_the_dashboard_is_the_apis_reset() {
    let server = TestServer::start().await;
    let ana = plant_traveller(&server).await;
    let session = sign_in(&server, &server.admin).await;
    let path = format!("/dashboard/{}/users/{ana}", server.account);
    let (_, page) = session.get(&format!("{path}?confirm=reset")).await;
    assert!(
        page.contains("Reset this user&#39;s risk?") || page.contains("Reset this user's risk?"),
        "{page}"
    );
    let response = session.post(&format!("{path}/reset"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("{path}?done=reset"));
    assert_eq!(
        user(&server, &ana).await["risk_level"],
        serde_json::Value::Null
    );
    let (_, audit) = server
        .admin_call(Method::GET, "/audit?action=user.reset", None)
        .await;
    let entries = audit["result"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1, "{audit}");
    assert!(
        entries[0]["actor"]
            .as_str()
            .unwrap_or_default()
            .starts_with("token:")
    );

    // Confirm compromised, with a reason, shows up as evidence.
    let response = session
        .post(
            &format!("{path}/confirm-compromised"),
            &[("reason", "phished <b>hard</b>")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(user(&server, &ana).await["risk_level"], "high");
    let (_, page) = session.get(&path).await;
    assert!(page.contains("Confirmed compromised by API token"));
    assert!(page.contains("phished &lt;b&gt;hard&lt;/b&gt;"));
}

#[tokio::test]
async fn forms_from_anywhere_but_the_session_s_own_pages_are_refused() {
    let server = TestServer::start().await;
    let ana = plant_traveller(&server).await;
    let session = sign_in(&server, &server.admin).await;
    let reset = format!("/dashboard/{}/users/{ana}/reset", server.account);
    for (fields, site) in [
        (vec![], "same-origin"),
        (vec![("_csrf", "forged")], "same-origin"),
        (vec![("_csrf", session.csrf.as_str())], "cross-site"),
        (vec![("_csrf", session.csrf.as_str())], "same-site"),
    ] {
        let response = session.post_raw(&reset, &fields, site).await;
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "{fields:?} {site}"
        );
        assert!(
            response
                .text()
                .await
                .unwrap_or_default()
                .contains("Nothing was changed")
        );
    }
    // Another session's token is no good either.
    let other = sign_in(&server, &server.admin).await;
    let response = session
        .post_raw(&reset, &[("_csrf", other.csrf.as_str())], "same-origin")
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(user(&server, &ana).await["risk_level"], "high");
    // Without the cookie (what SameSite=Strict makes of a cross-site post), back to sign-in.
    let response = browser()
        .post(format!("{}{reset}", server.base_url))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("_csrf={}", session.csrf))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(location(&response), "/dashboard/sign-in");
    assert_eq!(user(&server, &ana).await["risk_level"], "high");
}

#[tokio::test]
async fn a_read_only_credential_sees_no_controls_and_cannot_forge_them() {
    let server = TestServer::start().await;
    let ana = plant_traveller(&server).await;
    let (token, _) = server
        .token(
            &[server.account],
            &[Permission::ZeroTrustRead, Permission::ZeroTrustPiiRead],
            None,
        )
        .await;
    let session = sign_in(&server, &token).await;
    let base = format!("/dashboard/{}", server.account);
    let (status, page) = session.get(&format!("{base}/users/{ana}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("Reset risk") && !page.contains("Confirm compromised…"));
    let (_, page) = session.get(&format!("{base}/behaviors")).await;
    assert!(!page.contains(">Save"), "no save buttons");
    assert!(page.contains("can read behaviors but not change them"));
    let response = session
        .post(&format!("{base}/users/{ana}/reset"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response
            .text()
            .await
            .unwrap_or_default()
            .contains("Zero Trust Write")
    );
    assert_eq!(user(&server, &ana).await["risk_level"], "high");
    let response = session
        .post(
            &format!("{base}/behaviors/imp_travel"),
            &[("risk_level", "low")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Without PII Read there are no users to see, and no navigation to them.
    let (token, _) = server
        .token(&[server.account], &[Permission::ZeroTrustRead], None)
        .await;
    let session = sign_in(&server, &token).await;
    let (status, page) = session.get(&format!("{base}/users")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("cannot read users"));
    assert!(!page.contains("ana@example.com"));
    assert!(!page.contains("Audit log"));
    let (status, _) = session.get(&format!("{base}/users/{ana}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // It starts where it can read.
    let response = session
        .http
        .get(format!("{}/dashboard", server.base_url))
        .header(COOKIE, &session.cookie)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(location(&response), format!("{base}/behaviors"));
    // Another account's pages do not exist for it.
    let other = server.create_account("other").await;
    let (status, _) = session.get(&format!("/dashboard/{other}/users")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_refused_action_shows_no_user_data_to_a_credential_that_may_not_read_it() {
    let server = TestServer::start().await;
    let ana = plant_traveller(&server).await;
    let (token, _) = server
        .token(&[server.account], &[Permission::ZeroTrustWrite], None)
        .await;
    let session = sign_in(&server, &token).await;
    let path = format!("/dashboard/{}/users/{ana}", server.account);
    // The API refuses the reason (too long); the page that says so must not be the user's.
    let reason = "x".repeat(2000);
    let response = session
        .post(
            &format!("{path}/confirm-compromised"),
            &[("reason", reason.as_str())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let page = response.text().await.unwrap_or_default();
    assert!(
        !page.contains("ana@example.com") && !page.contains("Impossible Travel"),
        "{page}"
    );
    assert_eq!(user(&server, &ana).await["risk_level"], "high");
    // A reload of a form's address leads to its page, not to an API error.
    let response = session
        .http
        .get(format!("{}{path}/reset", server.base_url))
        .header(COOKIE, &session.cookie)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(location(&response), path);
}

#[tokio::test]
async fn behaviors_are_saved_through_the_api_and_its_errors_shown_at_their_fields() {
    let server = TestServer::start().await;
    let session = sign_in(&server, &server.admin).await;
    let path = format!("/dashboard/{}/behaviors/imp_travel", server.account);
    let response = session
        .post(
            &path,
            &[
                ("risk_level", "medium"),
                ("settings.max_speed_kmh", "0"),
                ("settings.min_distance_km", "100"),
                ("settings.trusted_networks", "10.0.0.0/8\r\nnope"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap_or_default();
    assert!(
        page.contains(r#"id="imp_travel-max_speed_kmh-error""#),
        "{page}"
    );
    assert!(page.contains(r#"id="imp_travel-trusted_networks-error""#));
    assert!(page.contains("expected a number from 1 to 100000, got 0"));
    assert!(page.contains("aria-invalid=\"true\""));
    // What was typed is kept, and nothing changed.
    assert!(page.contains("nope"));
    let (_, behaviors) = server.get_behaviors(&server.admin).await;
    assert_eq!(
        behaviors["result"]["behaviors"]["imp_travel"]["risk_level"],
        "high"
    );

    let response = session
        .post(
            &path,
            &[
                ("enabled", "on"),
                ("risk_level", "medium"),
                ("settings.max_speed_kmh", "800"),
                ("settings.min_distance_km", "100"),
                ("settings.same_ip_is_same_place", "on"),
                ("settings.expire_after_days", "30"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, behaviors) = server.get_behaviors(&server.admin).await;
    let imp = &behaviors["result"]["behaviors"]["imp_travel"];
    assert_eq!(imp["enabled"], true);
    assert_eq!(imp["risk_level"], "medium");
    assert_eq!(imp["settings"]["max_speed_kmh"], 800);
    assert_eq!(imp["settings"]["expire_after_days"], 30);
    assert_eq!(imp["settings"]["monitor_only"], false);
}

#[tokio::test]
async fn integrations_and_webhooks_are_managed_from_the_page() {
    let server = TestServer::start().await;
    let session = sign_in(&server, &server.admin).await;
    let base = format!("/dashboard/{}", server.account);
    let response = session
        .post(
            &format!("{base}/integrations"),
            &[("integration_type", "Okta"), ("tenant_url", "ftp://nope")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap_or_default()
            .contains(r#"id="integration-tenant_url-error""#)
    );
    let response = session
        .post(
            &format!("{base}/integrations"),
            &[
                ("integration_type", "SSF"),
                ("tenant_url", "https://receiver.example"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, list) = server.admin_call(Method::GET, "/integrations", None).await;
    let id = list["result"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(list["result"][0]["active"], true);
    let response = session
        .post(
            &format!("{base}/integrations/{id}/active"),
            &[("active", "false")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, list) = server.admin_call(Method::GET, "/integrations", None).await;
    assert_eq!(list["result"][0]["active"], false);

    let response = session
        .post(
            &format!("{base}/webhooks"),
            &[
                ("url", "https://hooks.example/risk"),
                ("format", "standard"),
                ("min_level", "medium"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap_or_default();
    assert!(page.contains("whsec_"), "the secret is shown once");
    let (_, page) = session.get(&format!("{base}/integrations")).await;
    assert!(!page.contains("whsec_"), "and never again");
    assert!(page.contains("hooks.example") && page.contains("No deliveries yet."));
    let (_, hooks) = server.admin_call(Method::GET, "/webhooks", None).await;
    let hook = hooks["result"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let response = session
        .post(
            &format!("{base}/webhooks/{hook}/active"),
            &[("active", "false")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, hooks) = server.admin_call(Method::GET, "/webhooks", None).await;
    assert_eq!(hooks["result"][0]["active"], false);
    assert_eq!(
        hooks["result"][0]["min_level"], "medium",
        "the rest is kept"
    );
    for (path, kind) in [
        (format!("{base}/webhooks/{hook}/delete"), "/webhooks"),
        (format!("{base}/integrations/{id}/delete"), "/integrations"),
    ] {
        let response = session.post(&path, &[]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let (_, list) = server.admin_call(Method::GET, kind, None).await;
        assert_eq!(list["result"], json!([]), "{kind}");
    }
    let (_, page) = session.get(&format!("{base}/audit")).await;
    assert!(
        page.contains("webhook.create") && page.contains("integration.delete"),
        "{page}"
    );
}

#[tokio::test]
async fn a_session_ends_with_sign_out_and_with_its_token_and_is_shared_by_replicas() {
    let server = TestServer::start().await;
    let (token, token_id) = server
        .token(&[server.account], &[Permission::ZeroTrustPiiRead], None)
        .await;
    let session = sign_in(&server, &token).await;
    let users = format!("/dashboard/{}/users", server.account);
    // Another replica on the same data knows the session.
    let replica = server.replica().await;
    let on_replica = Session {
        base: replica.base_url.clone(),
        cookie: session.cookie.clone(),
        csrf: session.csrf.clone(),
        http: browser(),
    };
    assert_eq!(on_replica.get(&users).await.0, StatusCode::OK);

    server
        .store
        .revoke_token(&token_id, &ztrisk_store::model::Actor::Cli)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Where it was revoked: at once.
    assert_eq!(
        session.get(&users).await.0,
        StatusCode::SEE_OTHER,
        "a revoked token's session ends"
    );
    // Another replica learns of it as it learns of any revocation (SQLite: within its 10 ms
    // poll of the file; PostgreSQL: by NOTIFY): soon, not necessarily before the next request.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (status, _) = on_replica.get(&users).await;
        if status == StatusCode::SEE_OTHER {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the replica still serves a revoked token's session"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let session = sign_in(&server, &server.admin).await;
    let response = session.post("/dashboard/sign-out", &[]).await;
    assert_eq!(location(&response), "/dashboard/sign-in");
    assert!(
        response
            .headers()
            .get(SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .contains("Max-Age=0")
    );
    assert_eq!(session.get(&users).await.0, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn over_https_the_cookie_is_secure_and_host_bound() {
    use tower::ServiceExt;
    // Served in-process: a test server's public URL is its own plain-HTTP address.
    let server = TestServer::start().await;
    let config = ServerConfig {
        public_url: "https://risk.example".into(),
        ..ServerConfig::default()
    };
    let app = ztrisk_server::router(ztrisk_server::AppState::new(server.store.clone(), config));
    let request = http::Request::post("/dashboard/sign-in")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(format!("token={}", server.admin)))
        .unwrap_or_else(|e| panic!("{e}"));
    let response = app.oneshot(request).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        cookie.starts_with("__Host-ztrisk_session=") && cookie.contains("; Secure"),
        "{cookie}"
    );
    assert_eq!(
        response
            .headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok()),
        Some("max-age=31536000")
    );
}
