//! Logins that carry only an IP are located through `--geoip` and can be impossible travel.

use crate::{AppState, ServerConfig, router};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;
use ztrisk_core::PermissionSet;
use ztrisk_core::credentials::{SecretHash, generate_token};
use ztrisk_ingest::GeoIp;
use ztrisk_ingest::geoip::writer::{MmdbWriter, Value as Mmdb};
use ztrisk_store::model::NewToken;
use ztrisk_store::prelude::*;
use ztrisk_store::{SqliteOptions, SqliteStore};

fn city(lat: f32, lon: f32, name: &str) -> Mmdb {
    Mmdb::map([
        ("city", Mmdb::str(name)),
        ("country_code", Mmdb::str("XX")),
        ("latitude", Mmdb::Float(lat)),
        ("longitude", Mmdb::Float(lon)),
    ])
}

async fn call(app: &axum::Router, method: &str, uri: &str, token: &str, body: Value) -> Value {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_else(|e| panic!("{e}"));
    let response = app
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn ip_only_logins_are_located_and_detected() {
    let db = MmdbWriter::new(4, 24, "dbip-city-lite")
        .insert("1.2.3.0/24", city(51.5074, -0.1278, "London"))
        .insert("5.6.7.0/24", city(-33.8688, 151.2093, "Sydney"))
        .build();
    let geoip = GeoIp::from_bytes(db).unwrap_or_else(|e| panic!("{e}"));

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = SqliteStore::open(dir.path().join("t.db"), SqliteOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let token = generate_token();
    let admin = NewToken {
        name: "admin".into(),
        accounts: vec![],
        permissions: PermissionSet::all(),
        expires_at: None,
        secret_hash: SecretHash::of(&token),
    };
    let (account, _) = store
        .bootstrap("t", admin)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("bootstrap"));
    let app = router(AppState::new(Arc::new(store), ServerConfig::default()).with_geoip(geoip));
    let base = format!("/client/v4/accounts/{}/zt_risk_scoring", account.id);

    let enable = json!({"behaviors": {"imp_travel": {"enabled": true, "risk_level": "high"}}});
    call(&app, "PUT", &format!("{base}/behaviors"), &token, enable).await;
    let events = json!([
        {"id": "a", "type": "access_login", "timestamp": "2026-11-20T10:00:00Z", "user": {"email": "x@example.com"}, "success": true, "ip": "1.2.3.4"},
        {"id": "b", "type": "access_login", "timestamp": "2026-11-20T12:00:00Z", "user": {"email": "x@example.com"}, "success": true, "ip": "5.6.7.8"},
        {"id": "c", "type": "access_login", "timestamp": "2026-11-20T12:05:00Z", "user": {"email": "y@example.com"}, "success": true, "ip": "9.9.9.9"}
    ]);
    let result = call(&app, "POST", &format!("{base}/events"), &token, events).await;
    assert_eq!(result["result"]["accepted"], 3);
    assert_eq!(result["result"]["risk_events"], 1, "{result}");

    let summary = call(&app, "GET", &format!("{base}/summary"), &token, json!(null)).await;
    let user_id = summary["result"]["users"][0]["user_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let user = call(
        &app,
        "GET",
        &format!("{base}/{user_id}"),
        &token,
        json!(null),
    )
    .await;
    let evidence = &user["result"]["events"][0]["event_details"];
    let text = evidence.to_string();
    assert!(text.contains("Sydney"), "{text}");
    assert!(
        text.contains(r#""source":"geoip""#),
        "the evidence says how: {text}"
    );
    assert!(
        text.contains("51.5074"),
        "float32 coordinates come back as written: {text}"
    );
}
