//! The ingest adapters over HTTP (spec section 5): Logpush, Okta and OCSF records score users
//! exactly as the equivalent native events do; gzip, validation, retries and bad records.

use crate::support::{enable, summary, user_by_email};
use flate2::Compression;
use flate2::write::GzEncoder;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::io::Write;
use ztrisk_core::Permission;
use ztrisk_server::testing::{TestServer, assert_error};

/// 2026-11-20T10:00:00Z and `seconds` after it.
const T0: i64 = 1_795_168_800;

fn rfc3339(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(T0 + seconds, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Logpush's default `unixnano`, as a string (as some jobs write it).
fn unixnano(seconds: i64) -> String {
    ((T0 + seconds) as i128 * 1_000_000_000).to_string()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(bytes)
        .unwrap_or_else(|e| panic!("gzip: {e}"));
    encoder.finish().unwrap_or_else(|e| panic!("gzip: {e}"))
}

fn ndjson(records: &[Value]) -> Vec<u8> {
    records
        .iter()
        .map(|r| format!("{r}\n"))
        .collect::<String>()
        .into_bytes()
}

/// POSTs `records` as Logpush does: gzip NDJSON with `Content-Encoding: gzip`.
async fn logpush(
    server: &TestServer,
    account: &str,
    token: &str,
    dataset: &str,
    records: &[Value],
) -> (StatusCode, Value) {
    let path = format!("/client/v4/accounts/{account}/zt_risk_scoring/ingest/cloudflare/{dataset}");
    let headers = [
        ("content-encoding", "gzip"),
        ("content-type", "text/plain; charset=utf-8"),
    ];
    server
        .call_bytes(&path, token, &headers, gzip(&ndjson(records)))
        .await
}

fn ok_result(response: (StatusCode, Value)) -> Value {
    let (status, body) = response;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["result"].clone()
}

/// One case of the comparison: records of a dataset, and the native events they mean.
struct Case {
    dataset: &'static str,
    records: Vec<Value>,
    native: Vec<Value>,
    /// The behaviors each path must have detected for `who`, by name.
    expected: &'static [&'static str],
}

const WHO: &str = "pat@example.com";

/// One address per country: two logins from one IP are never travel (spec 6.1).
fn ip_of(country: &str) -> &'static str {
    if country == "GB" {
        "81.2.69.160"
    } else {
        "203.0.113.7"
    }
}

fn centroid(code: &str) -> Value {
    let c = ztrisk_ingest::centroids::of(code).unwrap_or_else(|| panic!("{code}"));
    json!({"lat": c.lat, "lon": c.lon, "country": code})
}

fn cases() -> Vec<Case> {
    let user = json!({"email": WHO});
    let access = |ray: &str, s: i64, allowed: bool, country: &str, action: &str| {
        json!({"Action": action, "Allowed": allowed, "AppDomain": "wiki.example.com", "Country": country.to_lowercase(),
               "CreatedAt": unixnano(s), "Email": WHO, "IPAddress": ip_of(country), "RayID": ray,
               "UserUID": "166befbb-00e3-5e20-bd6e-27245333949f"})
    };
    let login = |id: &str, s: i64, success: bool, country: &str| {
        json!({"id": id, "type": "access_login", "timestamp": rfc3339(s), "user": {"email": WHO, "id": "166befbb-00e3-5e20-bd6e-27245333949f"},
               "success": success, "ip": ip_of(country), "location": centroid(country), "app": "wiki.example.com"})
    };
    let mut access_records = vec![
        access("r-gb", 0, true, "GB", "login"),
        access("r-logout", 60, true, "GB", "logout"),
        access("r-us", 1800, true, "US", "login"),
    ];
    let mut access_native = vec![
        login("r-gb", 0, true, "GB"),
        login("r-us", 1800, true, "US"),
    ];
    for i in 0..10 {
        access_records.push(access(&format!("r-f{i}"), 3600 + i, false, "US", "login"));
        access_native.push(login(&format!("r-f{i}"), 3600 + i, false, "US"));
    }

    let dns = |id: &str, s: i64, names: Value, ids: Value| {
        json!({"Datetime": rfc3339(s), "Email": WHO, "QueryID": id, "QueryName": format!("{id}.example"),
               "QueryCategoryNames": names, "QueryCategoryIDs": ids, "ResolverDecision": "blockedByCategory"})
    };
    let dns_native = |id: &str, s: i64, categories: Value| {
        json!({"id": id, "type": "gateway_dns", "timestamp": rfc3339(s), "user": user, "query": format!("{id}.example"),
               "categories": categories, "action": "blockedByCategory"})
    };

    let http = |id: &str, s: i64, profiles: Value, reason: &str| {
        json!({"Action": "block", "BlockedFileHash": "", "BlockedFileName": "invoice.exe", "BlockedFileReason": reason,
               "Datetime": (T0 + s).to_string(), "DownloadMatchedDlpProfiles": [], "Email": WHO, "PolicyName": "Uploads",
               "RequestID": id, "UploadMatchedDlpProfiles": profiles})
    };
    let mut http_records = Vec::new();
    let mut http_native = Vec::new();
    for i in 0..15 {
        http_records.push(http(&format!("h{i}"), i, json!(["Credentials"]), ""));
        http_native.push(json!({"id": format!("h{i}/dlp/Credentials"), "type": "dlp_match", "timestamp": rfc3339(i),
                                "user": user, "profile": "Credentials", "policy": "Uploads"}));
    }
    http_records.push(http("h-file", 30, json!([]), "malware"));
    http_native.push(
        json!({"id": "h-file/file", "type": "gateway_file", "timestamp": rfc3339(30), "user": user,
                            "verdict": "malicious", "action": "block", "file_name": "invoice.exe"}),
    );
    http_records.push(http("h-quiet", 40, json!([]), ""));

    let posture = |check: &str, s: i64, received: Value| {
        json!({"DeviceID": "dev-1", "Email": WHO, "PolicyID": check, "PostureCheckType": check,
               "PostureReceivedJSON": received, "Timestamp": rfc3339(s)})
    };
    let posture_native = |s: i64, fields: Value| {
        let mut event = json!({"type": "device_posture", "timestamp": rfc3339(s), "user": user, "device_id": "dev-1"});
        if let (Some(e), Some(f)) = (event.as_object_mut(), fields.as_object()) {
            e.extend(f.clone());
        }
        event
    };

    vec![
        Case {
            dataset: "access_requests",
            records: access_records,
            native: access_native,
            expected: &["Impossible Travel", "Multiple Failed Login Attempts"],
        },
        Case {
            dataset: "gateway_dns",
            records: vec![
                dns("q1", 0, json!(["Technology"]), json!([26, 117])),
                dns("q2", 10, json!(["Questionable Content"]), json!(null)),
                dns("q3", 20, json!(["Technology"]), json!([26])),
            ],
            native: vec![
                dns_native("q1", 0, json!(["Technology", "Malware"])),
                dns_native("q2", 10, json!(["Questionable Content"])),
            ],
            expected: &[
                "Suspicious Security Domain Visited",
                "High Risk Domain Visited",
            ],
        },
        Case {
            dataset: "gateway_http",
            records: http_records,
            native: http_native,
            expected: &[
                "High Number of DLP Policies Triggered",
                "Interaction with Malicious File",
            ],
        },
        Case {
            dataset: "device_posture_results",
            records: vec![
                posture("crowdstrike_s2s", 0, json!({"overall": 30})),
                posture("sentinelone_s2s", 10, json!({"active_threats": "2"})),
                posture("crowdstrike_s2s", 20, json!({"os": 90})),
            ],
            native: vec![
                posture_native(0, json!({"provider": "crowdstrike", "zta_score": 30})),
                posture_native(10, json!({"provider": "sentinel_one", "active_threats": 2})),
            ],
            expected: &[
                "CrowdStrike Low ZTA Security Score",
                "SentinelOne Threat Detected on Machine",
            ],
        },
    ]
}

/// Every predefined behavior, enabled at its default level.
fn all_behaviors() -> Value {
    let levels = [
        ("imp_travel", "high"),
        ("high_dlp", "medium"),
        ("failed_logins", "medium"),
        ("sentinel_one", "high"),
        ("crowdstrike_low_zta", "high"),
        ("crowdstrike_medium_zta", "medium"),
        ("malicious_file", "high"),
        ("suspicious_security_domain", "medium"),
        ("high_risk_domain", "low"),
    ];
    let map: serde_json::Map<String, Value> = levels
        .iter()
        .map(|(id, level)| {
            (
                id.to_string(),
                json!({"enabled": true, "risk_level": level}),
            )
        })
        .collect();
    json!({"behaviors": map})
}

/// The user's risk events as (behavior name, level, time), oldest first, and max level.
async fn risk_of(
    server: &TestServer,
    account: &str,
    token: &str,
) -> (Vec<(String, String, String)>, Value) {
    let base = format!("/client/v4/accounts/{account}/zt_risk_scoring");
    let (status, list) = server
        .call(Method::GET, &format!("{base}/summary"), token, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let entry = list["result"]["users"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["email"] == WHO)
        .cloned()
        .unwrap_or_else(|| panic!("{WHO} not scored in {account}: {list}"));
    let id = entry["user_id"].as_str().unwrap_or_default();
    let (status, detail) = server
        .call(Method::GET, &format!("{base}/{id}"), token, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let mut events: Vec<(String, String, String)> = detail["result"]["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (text("name"), text("risk_level"), text("timestamp"))
        })
        .collect();
    events.reverse();
    (events, entry["max_risk_level"].clone())
}

#[tokio::test]
async fn logpush_batches_score_exactly_as_the_equivalent_native_events() {
    let server = TestServer::start().await;
    let all = Permission::ALL;
    for case in cases() {
        // Two fresh accounts: one fed through Logpush, one with native events.
        let mut results = Vec::new();
        for path in ["logpush", "native"] {
            let account = server
                .create_account(&format!("{}-{path}", case.dataset))
                .await;
            let (token, _) = server.token(&[account], &all, None).await;
            let account = account.to_string();
            let behaviors = format!("/client/v4/accounts/{account}/zt_risk_scoring/behaviors");
            let (status, body) = server
                .call(
                    Method::PUT,
                    &behaviors,
                    &token,
                    Some(&all_behaviors().to_string()),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let result = if path == "logpush" {
                ok_result(logpush(&server, &account, &token, case.dataset, &case.records).await)
            } else {
                let events = format!("/client/v4/accounts/{account}/zt_risk_scoring/events");
                ok_result(
                    server
                        .call(
                            Method::POST,
                            &events,
                            &token,
                            Some(&Value::from(case.native.clone()).to_string()),
                        )
                        .await,
                )
            };
            assert_eq!(
                result["accepted"],
                case.native.len(),
                "{}: {path}: {result}",
                case.dataset
            );
            assert_eq!(
                result["rejected"],
                json!([]),
                "{}: {path}: {result}",
                case.dataset
            );
            results.push((result, risk_of(&server, &account, &token).await));
        }
        let (logpush_result, logpush_risk) = &results[0];
        let (native_result, native_risk) = &results[1];
        assert_eq!(logpush_risk, native_risk, "{}", case.dataset);
        assert_eq!(
            logpush_result["risk_events"], native_result["risk_events"],
            "{}",
            case.dataset
        );
        assert_eq!(
            logpush_result["skipped"],
            case.records.len() - logpush_records_mapped(&case),
            "{}: {logpush_result}",
            case.dataset
        );
        assert!(
            native_result.get("skipped").is_none(),
            "the native answer is unchanged"
        );
        let names: Vec<&str> = logpush_risk
            .0
            .iter()
            .map(|(name, _, _)| name.as_str())
            .collect();
        assert_eq!(names, case.expected, "{}", case.dataset);
    }
    server.shutdown().await;
}

/// How many of a case's records map to events (one HTTP record can give several).
fn logpush_records_mapped(case: &Case) -> usize {
    match case.dataset {
        "access_requests" => case.records.len() - 1,
        "gateway_http" => 16,
        _ => case.native.len(),
    }
}

#[tokio::test]
async fn logpush_validation_retries_and_bad_bodies() {
    let server = TestServer::start().await;
    let admin = server.admin.clone();
    let path = server.api_path("/ingest/cloudflare/gateway_dns");
    let gz = [("content-encoding", "gzip")];

    // Logpush's destination check: a gzip `{"content":"tests"}`, stored as nothing.
    let check = server
        .call_bytes(&path, &admin, &gz, gzip(br#"{"content":"tests"}"#))
        .await;
    assert_eq!(
        ok_result(check),
        json!({"accepted": 0, "duplicates": 0, "skipped": 0, "risk_events": 0, "rejected": []})
    );

    // A batch with a bad line: that line alone is rejected, with its index and pointer.
    enable(
        &server,
        json!({"suspicious_security_domain": {"enabled": true, "risk_level": "medium"}}),
    )
    .await;
    let good = |id: &str| {
        json!({"Datetime": unixnano(0), "Email": "lee@example.com", "QueryID": id,
                                 "QueryName": "x.example", "QueryCategoryIDs": [131]})
    };
    let records = [
        good("g1"),
        json!({"Datetime": "never", "Email": "lee@example.com", "QueryCategoryIDs": [131]}),
        good("g2"),
    ];
    let mut body = ndjson(&records);
    body.extend_from_slice(b"{not json\n");
    let first = ok_result(server.call_bytes(&path, &admin, &gz, gzip(&body)).await);
    assert_eq!(
        (first["accepted"].clone(), first["risk_events"].clone()),
        (json!(2), json!(1)),
        "{first}"
    );
    let rejected = first["rejected"].as_array().cloned().unwrap_or_default();
    assert_eq!(rejected.len(), 2, "{first}");
    assert_eq!(rejected[0]["index"], 1);
    let pointers: Vec<&str> = rejected[0]["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["source"]["pointer"].as_str())
        .collect();
    assert_eq!(pointers, ["/1/Datetime", "/1/QueryName"]);
    assert_eq!(rejected[1]["index"], 3);
    assert!(
        rejected[1]["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("malformed JSON")
    );

    // The same batch again (Logpush retries): only duplicates, nothing counted twice.
    let again = ok_result(server.call_bytes(&path, &admin, &gz, gzip(&body)).await);
    assert_eq!(
        (
            again["accepted"].clone(),
            again["duplicates"].clone(),
            again["risk_events"].clone()
        ),
        (json!(0), json!(2), json!(0)),
        "{again}"
    );
    let lee = user_by_email(&server, "lee@example.com")
        .await
        .unwrap_or_else(|| panic!("not scored"));
    assert_eq!(lee["event_count"], 1);

    // Plain NDJSON (no gzip) is fine too, and gzip without the header is recognised.
    let plain = ok_result(
        server
            .call_bytes(&path, &admin, &[], ndjson(&[good("g3")]))
            .await,
    );
    assert_eq!(plain["accepted"], 1, "{plain}");
    let unlabelled = ok_result(
        server
            .call_bytes(&path, &admin, &[], gzip(&ndjson(&[good("g4")])))
            .await,
    );
    assert_eq!(unlabelled["accepted"], 1, "{unlabelled}");

    // Gzip that is not gzip, an encoding ztrisk does not speak, a bomb, an unknown dataset.
    let not_gzip = server
        .call_bytes(&path, &admin, &gz, ndjson(&[good("g5")]))
        .await;
    assert_error(&not_gzip, StatusCode::BAD_REQUEST, &[1001], None);
    assert!(
        not_gzip.1["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not valid gzip"),
        "{}",
        not_gzip.1
    );
    let brotli = server
        .call_bytes(&path, &admin, &[("content-encoding", "br")], b"x".to_vec())
        .await;
    assert_error(&brotli, StatusCode::BAD_REQUEST, &[1001], None);
    let bomb = gzip(&vec![b' '; 65 * 1024 * 1024]);
    assert!(bomb.len() < 1024 * 1024);
    let bombed = server.call_bytes(&path, &admin, &gz, bomb).await;
    assert_error(&bombed, StatusCode::PAYLOAD_TOO_LARGE, &[1413], None);
    let unknown = server.api_path("/ingest/cloudflare/http_requests");
    let unknown = server
        .call_bytes(&unknown, &admin, &[], b"{}".to_vec())
        .await;
    assert_error(&unknown, StatusCode::NOT_FOUND, &[7003, 7000], None);
    // Nothing of the refused bodies was stored.
    let lee = user_by_email(&server, "lee@example.com")
        .await
        .unwrap_or_else(|| panic!("not scored"));
    assert_eq!(lee["event_count"], 1);
    server.shutdown().await;
}

fn okta_event(uuid: &str, seconds: i64, result: &str) -> Value {
    json!({"uuid": uuid, "published": rfc3339(seconds), "eventType": "user.session.start", "version": "0",
           "actor": {"id": "00uttidj01jqL21aM1d6", "type": "User", "alternateId": "jane.doe@example.com", "displayName": "Jane Doe"},
           "client": {"ipAddress": "203.0.113.9", "geographicalContext": {"city": "Lagos", "country": "Nigeria",
                      "geolocation": {"lat": 6.4541, "lon": 3.3947}}},
           "outcome": {"result": result, "reason": if result == "FAILURE" { "INVALID_CREDENTIALS" } else { "" }},
           "target": null})
}

#[tokio::test]
async fn okta_hooks_verify_and_deliver_and_exports_backfill() {
    let server = TestServer::start().await;
    let path = server.api_path("/ingest/okta");
    let bearer = format!("Bearer {}", server.admin);

    // The one-time verification: the challenge comes back in Okta's shape, not the envelope.
    let challenge = "yN8adGQWSFUqkE72wqKDhArzbrxbZ-QcfqUnmXGLy98";
    let verified = server
        .request(
            Method::GET,
            &path,
            &[
                ("authorization", bearer.clone()),
                ("x-okta-verification-challenge", challenge.into()),
            ],
            None,
        )
        .await;
    assert_eq!(verified.status(), StatusCode::OK);
    let verified: Value = verified.json().await.unwrap_or_default();
    assert_eq!(verified, json!({"verification": challenge}));
    let missing = server.call(Method::GET, &path, &server.admin, None).await;
    assert_error(&missing, StatusCode::BAD_REQUEST, &[1001], None);
    let anonymous = server
        .call_with(
            Method::GET,
            &path,
            &[("x-okta-verification-challenge", challenge.into())],
            None,
        )
        .await;
    assert_error(&anonymous, StatusCode::BAD_REQUEST, &[9106], None);

    // A hook delivery of ten failures: failed_logins fires once.
    enable(
        &server,
        json!({"failed_logins": {"enabled": true, "risk_level": "medium"}}),
    )
    .await;
    let failures: Vec<Value> = (0..10)
        .map(|i| okta_event(&format!("f{i}"), i, "FAILURE"))
        .collect();
    let delivery = json!({"eventType": "com.okta.event_hook", "eventTypeVersion": "1.0", "cloudEventsVersion": "0.1",
                          "contentType": "application/json", "eventId": "b5a188b9", "eventTime": rfc3339(11),
                          "source": "https://example.okta.com/api/v1/eventHooks/whoql0HfiLGPWc8Jx0g3",
                          "data": {"events": failures}});
    // Okta delivers at least once: the same delivery again counts nothing.
    let body = delivery.to_string();
    for (accepted, duplicates, risk_events) in [(10, 0, 1), (0, 10, 0)] {
        let posted = server.call(Method::POST, &path, &server.admin, Some(&body));
        let result = ok_result(posted.await);
        let counts = [
            &result["accepted"],
            &result["duplicates"],
            &result["risk_events"],
        ];
        assert_eq!(
            counts,
            [accepted, duplicates, risk_events]
                .map(|n| json!(n))
                .each_ref(),
            "{result}"
        );
    }

    // A System Log export as NDJSON, with a challenge (skipped) and a logout (skipped).
    let mut logout = okta_event("o1", 100, "SUCCESS");
    logout["eventType"] = json!("user.session.end");
    let export = [
        okta_event("s1", 90, "SUCCESS"),
        okta_event("c1", 95, "CHALLENGE"),
        logout,
    ];
    let result = ok_result(
        server
            .call_bytes(
                &path,
                &server.admin,
                &[("content-type", "application/x-ndjson")],
                ndjson(&export),
            )
            .await,
    );
    assert_eq!(
        (result["accepted"].clone(), result["skipped"].clone()),
        (json!(1), json!(2)),
        "{result}"
    );
    let jane = user_by_email(&server, "jane.doe@example.com")
        .await
        .unwrap_or_else(|| panic!("not scored"));
    assert_eq!(jane["max_risk_level"], "medium");
    assert_eq!(jane["name"], "Jane Doe");
    server.shutdown().await;
}

#[tokio::test]
async fn ocsf_failed_logins_score_and_other_classes_are_skipped() {
    let server = TestServer::start().await;
    enable(
        &server,
        json!({"failed_logins": {"enabled": true, "risk_level": "high"}}),
    )
    .await;
    let mut records: Vec<Value> = (0..10)
        .map(|i| {
            json!({"class_uid": 3002, "activity_id": 1, "time": (T0 + i) * 1000, "status_id": 2,
                        "metadata": {"uid": format!("o{i}"), "version": "1.3.0"},
                        "user": {"email_addr": "sam@example.com", "uid": "S-1-5-21"},
                        "src_endpoint": {"ip": "198.51.100.4"}, "service": {"name": "VPN"}})
        })
        .collect();
    records.push(json!({"class_uid": 4001, "time": T0 * 1000, "metadata": {"uid": "net-1"}}));
    let path = server.api_path("/ingest/ocsf");
    let result = ok_result(
        server
            .call_bytes(&path, &server.admin, &[], ndjson(&records))
            .await,
    );
    assert_eq!(
        result,
        json!({"accepted": 10, "duplicates": 0, "skipped": 1, "risk_events": 1, "rejected": []})
    );
    let sam = user_by_email(&server, "sam@example.com")
        .await
        .unwrap_or_else(|| panic!("not scored"));
    assert_eq!(sam["max_risk_level"], "high");
    // A JSON array works the same.
    let array = ok_result(
        server
            .call(
                Method::POST,
                &path,
                &server.admin,
                Some(&Value::from(records.clone()).to_string()),
            )
            .await,
    );
    assert_eq!(array["duplicates"], 10, "{array}");
    let users = summary(&server, "").await;
    assert_eq!(users["result"]["users"].as_array().map(Vec::len), Some(1));
    server.shutdown().await;
}
