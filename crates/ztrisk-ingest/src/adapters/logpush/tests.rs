//! Record by record, from realistic samples of each dataset (shapes from Cloudflare's field
//! lists and the public test fixtures in `docs/research/ingest-adapters.md`).

use super::super::test_support::{ms, one, rejected, skipped, with};
use crate::adapters::{Dataset, Source};
use crate::{Locator, Mapped, map_record};
use serde_json::{Value, json};
use ztrisk_core::events::{EventKind, LocationSource, PostureProvider};

const ACCESS: Source = Source::Cloudflare(Dataset::AccessRequests);
const DNS: Source = Source::Cloudflare(Dataset::GatewayDns);
const HTTP: Source = Source::Cloudflare(Dataset::GatewayHttp);
const POSTURE: Source = Source::Cloudflare(Dataset::DevicePostureResults);

fn access() -> Value {
    json!({"Action": "login", "Allowed": true, "AppDomain": "partner-zt-logs.cloudflareaccess.com/warp",
           "AppUUID": "123e4567-e89b-12d3-a456-426614174000", "Connection": "onetimepin", "Country": "us",
           "CreatedAt": "2023-05-24T02:48:33+09:30", "Email": "User@Example.com", "IPAddress": "67.43.156.93",
           "PurposeJustificationPrompt": "", "PurposeJustificationResponse": "", "RayID": "00c0ffeeabc12345",
           "TemporaryAccessApprovers": [], "TemporaryAccessDuration": 0,
           "UserUID": "166befbb-00e3-5e20-bd6e-27245333949f"})
}

#[test]
fn access_login_maps_every_field_and_is_located_at_the_country_centroid() {
    let event = one(ACCESS, access());
    assert_eq!(event.id.as_deref(), Some("00c0ffeeabc12345"));
    assert_eq!(event.timestamp, ms("2023-05-23T17:18:33Z"));
    assert_eq!(event.user.email, "user@example.com");
    assert_eq!(
        event.user.id.map(|u| u.to_string()).as_deref(),
        Some("166befbb-00e3-5e20-bd6e-27245333949f")
    );
    let EventKind::AccessLogin {
        success,
        ip,
        location,
        app,
    } = event.kind
    else {
        panic!("{:?}", event.kind)
    };
    assert!(success);
    assert_eq!(ip.map(|ip| ip.to_string()).as_deref(), Some("67.43.156.93"));
    assert_eq!(
        app.as_deref(),
        Some("partner-zt-logs.cloudflareaccess.com/warp")
    );
    let location = location.unwrap_or_else(|| panic!("no location"));
    assert_eq!(location.source, LocationSource::CountryCentroid);
    assert_eq!(location.country.as_deref(), Some("US"));
    assert!((location.lat - 39.5).abs() < 1.0, "{location:?}");
}

#[test]
fn access_timestamps_in_every_logpush_format_agree() {
    let expected = ms("2023-05-23T17:18:33Z");
    for created in [
        json!("2023-05-23T17:18:33Z"),
        json!(1_684_862_313u64),
        json!("1684862313"),
        json!(1_684_862_313_000_000_000u64),
        json!("1684862313000000000"),
    ] {
        let event = one(ACCESS, with(access(), "CreatedAt", created.clone()));
        assert_eq!(event.timestamp, expected, "{created}");
    }
}

#[test]
fn access_awkward_records() {
    // A denied login is a failed login.
    let event = one(ACCESS, with(access(), "Allowed", json!(false)));
    assert!(matches!(
        event.kind,
        EventKind::AccessLogin { success: false, .. }
    ));
    // Not a login, no email, a service token, a non-user: skipped.
    skipped(ACCESS, with(access(), "Action", json!("logout")));
    skipped(ACCESS, with(access(), "Action", Value::Null));
    skipped(ACCESS, with(access(), "Email", Value::Null));
    skipped(ACCESS, with(access(), "Email", json!("")));
    skipped(ACCESS, with(access(), "Email", json!("service-token-name")));
    // A user id that is no UUID is kept aside, and Tor or unknown countries have no place.
    let event = one(ACCESS, with(access(), "UserUID", json!("user-abcdefgh")));
    assert_eq!(
        (event.user.id, event.user.external_id.as_deref()),
        (None, Some("user-abcdefgh"))
    );
    for country in [json!("XX"), json!("T1"), Value::Null] {
        let event = one(ACCESS, with(access(), "Country", country));
        assert!(matches!(
            event.kind,
            EventKind::AccessLogin { location: None, .. }
        ));
    }
    // No RayID: an id from the record's content, the same every time.
    let a = one(ACCESS, with(access(), "RayID", Value::Null));
    let b = one(ACCESS, with(access(), "RayID", Value::Null));
    assert_eq!(a.id, b.id);
    assert!(a.id.is_some_and(|id| id.starts_with("access:")));
    // Broken fields are pointed at, all at once.
    assert_eq!(
        rejected(ACCESS, with(access(), "CreatedAt", json!("soon"))),
        ["/CreatedAt"]
    );
    let record = with(
        with(access(), "Allowed", json!("maybe")),
        "IPAddress",
        json!("999.1.1.1"),
    );
    assert_eq!(rejected(ACCESS, record), ["/Allowed", "/IPAddress"]);
    assert_eq!(
        rejected(ACCESS, with(access(), "Email", json!(5))),
        ["/Email"]
    );
    assert_eq!(rejected(ACCESS, json!([1])), [""]);
}

fn dns() -> Value {
    json!({"ColoCode": "SJC", "Datetime": "1683067793000000000", "DeviceID": "083a8354-d56c-11ed-9771-6a842b100cff",
           "Email": "user@test.com", "Location": "Office NYC", "Policy": "", "PolicyID": "",
           "QueryCategoryIDs": [26, 155], "QueryCategoryNames": ["Technology", "Technology"],
           "QueryID": "d2bb3ed5-2d33-4f7e-9e3c-8b1e0f7a2b11", "QueryName": "bad.example", "QueryType": 1,
           "QueryTypeName": "A", "RCode": 0, "ResolverDecision": "allowedOnNoPolicyMatch", "SrcIP": "198.51.100.7"})
}

fn dns_categories(record: Value) -> Vec<String> {
    match one(DNS, record).kind {
        EventKind::GatewayDns { categories, .. } => categories,
        other => panic!("{other:?}"),
    }
}

#[test]
fn dns_queries_in_no_scored_category_are_skipped() {
    skipped(DNS, dns());
    skipped(DNS, with(dns(), "QueryCategoryIDs", Value::Null));
    skipped(
        DNS,
        with(
            with(dns(), "QueryCategoryNames", json!([])),
            "QueryCategoryIDs",
            json!([]),
        ),
    );
}

#[test]
fn dns_categories_count_by_name_and_by_id() {
    let event = one(
        DNS,
        with(
            dns(),
            "QueryCategoryNames",
            json!(["Technology", "Phishing"]),
        ),
    );
    assert_eq!(
        event.id.as_deref(),
        Some("d2bb3ed5-2d33-4f7e-9e3c-8b1e0f7a2b11")
    );
    assert_eq!(event.timestamp, ms("2023-05-02T22:49:53Z"));
    let EventKind::GatewayDns {
        query,
        categories,
        action,
    } = event.kind
    else {
        panic!()
    };
    assert_eq!(
        (query.as_str(), action.as_str()),
        ("bad.example", "allowedOnNoPolicyMatch")
    );
    assert_eq!(categories, ["Technology", "Phishing"]);
    // Ids without names: the scored ones gain their names, others stay out.
    let ids_only = with(dns(), "QueryCategoryNames", Value::Null);
    assert_eq!(
        dns_categories(with(ids_only.clone(), "QueryCategoryIDs", json!([26, 68]))),
        ["Anonymizer"]
    );
    assert_eq!(
        dns_categories(with(ids_only.clone(), "QueryCategoryIDs", json!([21]))),
        ["Security Threats"]
    );
    assert_eq!(
        dns_categories(with(ids_only.clone(), "QueryCategoryIDs", json!([182]))),
        ["CIPA Filter"]
    );
    assert_eq!(
        dns_categories(with(ids_only, "QueryCategoryIDs", json!([169, 166]))),
        ["New Domains", "Weapons"]
    );
    // An id whose name is already there adds nothing.
    let both = with(dns(), "QueryCategoryIDs", json!([131]));
    let both = with(both, "QueryCategoryNames", json!(["phishing"]));
    assert_eq!(dns_categories(both), ["phishing"]);
}

#[test]
fn dns_awkward_records() {
    let scored = with(dns(), "QueryCategoryIDs", json!([117]));
    // An old job without QueryID or ResolverDecision still counts, with a stable id.
    let bare = with(
        with(scored.clone(), "QueryID", Value::Null),
        "ResolverDecision",
        Value::Null,
    );
    let event = one(DNS, bare.clone());
    assert_eq!(event.id, one(DNS, bare).id);
    assert!(matches!(&event.kind, EventKind::GatewayDns { action, .. } if action == "unknown"));
    skipped(DNS, with(scored.clone(), "Email", json!("")));
    assert_eq!(
        rejected(DNS, with(scored.clone(), "QueryName", Value::Null)),
        ["/QueryName"]
    );
    assert_eq!(
        rejected(DNS, with(scored.clone(), "QueryCategoryIDs", json!(["x"]))),
        ["/QueryCategoryIDs"]
    );
    assert_eq!(
        rejected(DNS, with(scored, "Datetime", Value::Null)),
        ["/Datetime"]
    );
}

fn http() -> Value {
    json!({"AccountID": "0d5bb5d0b2c8d4f7c4c37c8fe3d8c64d", "Action": "block", "BlockedFileHash": "",
           "BlockedFileName": "", "BlockedFileReason": "", "BlockedFileSize": 0, "BlockedFileType": "",
           "Datetime": "1683147305", "DestinationIP": "203.0.113.80", "DeviceID": "083a8354-d56c-11ed-9771-6a842b100cff",
           "DownloadMatchedDlpProfiles": [], "Email": "user@test.com", "FileInfo": {"files": []},
           "HTTPHost": "upload.example", "HTTPMethod": "POST", "PolicyID": "6e6e0000-0000-0000-0000-000000000000",
           "PolicyName": "Block uploads", "RequestID": "1884fe9d4e000000000000000000000", "URL": "https://upload.example/u",
           "UploadMatchedDlpProfiles": [], "UserID": "166befbb-00e3-5e20-bd6e-27245333949f"})
}

#[test]
fn http_without_dlp_or_malware_is_skipped() {
    skipped(HTTP, http());
    skipped(HTTP, with(http(), "UploadMatchedDlpProfiles", Value::Null));
    skipped(HTTP, with(http(), "BlockedFileReason", json!("fileType")));
}

#[test]
fn http_gives_one_dlp_match_per_profile_and_a_file_for_malware() {
    let record = with(
        http(),
        "UploadMatchedDlpProfiles",
        json!(["Financial Information", "Credentials"]),
    );
    let record = with(
        record,
        "DownloadMatchedDlpProfiles",
        json!(["Credentials", "Source Code"]),
    );
    let record = with(record, "BlockedFileReason", json!("malware"));
    let record = with(
        record,
        "BlockedFileHash",
        json!("91dc1db739a705105e1c763bfdbdaa84c0de8"),
    );
    let record = with(
        record,
        "FileInfo",
        json!({"files": [{"name": "downloaded_file", "size": 43}]}),
    );
    let Ok(Mapped::Many(events)) = map_record(HTTP, &record, &Locator::default()) else {
        panic!("expected several events")
    };
    let ids: Vec<_> = events
        .iter()
        .map(|e| e.id.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        ids,
        [
            "1884fe9d4e000000000000000000000/dlp/Financial Information",
            "1884fe9d4e000000000000000000000/dlp/Credentials",
            "1884fe9d4e000000000000000000000/dlp/Source Code",
            "1884fe9d4e000000000000000000000/file",
        ]
    );
    assert!(
        events
            .iter()
            .all(|e| e.timestamp == ms("2023-05-03T20:55:05Z"))
    );
    assert!(
        matches!(&events[0].kind, EventKind::DlpMatch { profile, policy }
        if profile == "Financial Information" && policy.as_deref() == Some("Block uploads"))
    );
    // The 37-digit hash is not a SHA-256, so it is left out; the name comes from FileInfo.
    assert_eq!(
        events[3].kind,
        EventKind::GatewayFile {
            verdict: "malicious".into(),
            action: "block".into(),
            file_name: Some("downloaded_file".into()),
            sha256: None,
        }
    );
    let sha = "AB".repeat(32);
    let file_only = with(
        with(http(), "BlockedFileReason", json!("Malware")),
        "BlockedFileHash",
        json!(sha),
    );
    let file_only = with(file_only, "BlockedFileName", json!("invoice.exe"));
    let event = one(HTTP, with(file_only, "RequestID", json!("")));
    assert!(
        event
            .id
            .is_some_and(|id| id.starts_with("http:") && id.ends_with("/file"))
    );
    assert!(
        matches!(&event.kind, EventKind::GatewayFile { file_name: Some(n), sha256: Some(h), .. }
        if n == "invoice.exe" && *h == "ab".repeat(32))
    );
}

/// Caught by a fuzz target's check (fuzz/, `logpush_gateway_http`): a profile named twice in one
/// list gave two events with one id, and the second counted as a duplicate.
#[test]
fn http_profile_named_twice_in_one_list_is_one_event() {
    let record = with(
        http(),
        "UploadMatchedDlpProfiles",
        json!(["Credentials", "Credentials", "SSN"]),
    );
    let Ok(Mapped::Many(events)) = map_record(HTTP, &record, &Locator::default()) else {
        panic!("expected several events")
    };
    let ids: Vec<_> = events
        .iter()
        .map(|e| e.id.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        ids,
        [
            "1884fe9d4e000000000000000000000/dlp/Credentials",
            "1884fe9d4e000000000000000000000/dlp/SSN",
        ]
    );
}

#[test]
fn http_awkward_records() {
    let dlp = with(http(), "UploadMatchedDlpProfiles", json!(["Credentials"]));
    skipped(HTTP, with(dlp.clone(), "Email", Value::Null));
    assert_eq!(
        rejected(
            HTTP,
            with(
                dlp.clone(),
                "UploadMatchedDlpProfiles",
                json!("Credentials")
            )
        ),
        ["/UploadMatchedDlpProfiles"]
    );
    assert_eq!(
        rejected(HTTP, with(dlp, "Datetime", json!(true))),
        ["/Datetime"]
    );
}

fn posture(check: &str, received: Value) -> Value {
    json!({"ClientVersion": "2023.3.258", "DeviceID": "083a8354-d56c-11ed-9771-6a842b100cff",
           "DeviceManufacturer": "MSFT", "DeviceModel": "20L8S7WC08", "DeviceName": "laptop",
           "DeviceSerialNumber": "EXAMPLE", "DeviceType": "windows", "Email": "user@test.com",
           "OSVersion": "10.0.19045", "PolicyID": "policy-1", "PostureCheckName": "EDR",
           "PostureCheckType": check, "PostureEvaluatedResult": false,
           "PostureExpectedJSON": {"overall": 50, "operator": ">"}, "PostureReceivedJSON": received,
           "Timestamp": "1684324800", "UserUID": "user-abcdefgh"})
}

#[test]
fn posture_results_give_scores_and_threats() {
    let event = one(
        POSTURE,
        posture("crowdstrike_s2s", json!({"overall": 42, "os": 80})),
    );
    assert_eq!(event.timestamp, ms("2023-05-17T12:00:00Z"));
    assert_eq!(
        event.kind,
        EventKind::DevicePosture {
            provider: PostureProvider::CrowdStrike,
            device_id: "083a8354-d56c-11ed-9771-6a842b100cff".into(),
            active_threats: None,
            zta_score: Some(42),
        }
    );
    assert!(event.id.is_some_and(|id| id.starts_with("posture:")));
    let event = one(
        POSTURE,
        posture(
            "sentinelone_s2s",
            json!("{\"active_threats\": \"2\", \"infected\": true}"),
        ),
    );
    assert!(matches!(
        event.kind,
        EventKind::DevicePosture {
            provider: PostureProvider::SentinelOne,
            active_threats: Some(2),
            ..
        }
    ));
    // The same result sent twice has the same id; another policy's does not.
    let a = one(POSTURE, posture("crowdstrike_s2s", json!({"overall": 42})));
    let b = one(
        POSTURE,
        with(
            posture("crowdstrike_s2s", json!({"overall": 42})),
            "PolicyID",
            json!("policy-2"),
        ),
    );
    assert_eq!(
        a.id,
        one(POSTURE, posture("crowdstrike_s2s", json!({"overall": 42}))).id
    );
    assert_ne!(a.id, b.id);
}

#[test]
fn posture_awkward_records() {
    skipped(POSTURE, posture("crowdstrike_s2s", json!({"os": 80})));
    skipped(POSTURE, posture("crowdstrike_s2s", json!({})));
    skipped(POSTURE, posture("os_version", json!({"version": "10.0"})));
    skipped(
        POSTURE,
        with(
            posture("crowdstrike_s2s", json!({"overall": 42})),
            "Email",
            Value::Null,
        ),
    );
    assert_eq!(
        rejected(POSTURE, posture("crowdstrike_s2s", json!({"overall": 142}))),
        ["/PostureReceivedJSON/overall"]
    );
    assert_eq!(
        rejected(
            POSTURE,
            with(
                posture("sentinelone_s2s", json!({"active_threats": 0})),
                "DeviceID",
                Value::Null
            )
        ),
        ["/DeviceID"]
    );
}

#[test]
fn dataset_names_round_trip() {
    for dataset in Dataset::ALL {
        assert_eq!(dataset.name().parse(), Ok(dataset));
        let source = Source::Cloudflare(dataset);
        assert_eq!(source.to_string().parse(), Ok(source));
    }
    assert!("cloudflare/http_requests".parse::<Source>().is_err());
}
