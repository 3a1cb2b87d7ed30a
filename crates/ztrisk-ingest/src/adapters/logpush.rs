//! Cloudflare Logpush records (`spec/api.md` 5.1), one dataset per function.
//!
//! Field names and types are Cloudflare's dataset field lists (`cloudflare-docs`,
//! `src/content/docs/logs/logpush/logpush-job/datasets/account/<dataset>.md`); the research
//! behind each choice is in `docs/research/ingest-adapters.md` section 1. The mapping tables:
//!
//! | dataset | event | id | timestamp | other fields |
//! |---|---|---|---|---|
//! | `access_requests` | `access_login` when `Action` is `login` | `RayID` | `CreatedAt` | `Email`, `UserUID`, `Allowed` → success, `IPAddress`, `Country` → location (GeoIP, else the country's centroid), `AppDomain` → app |
//! | `gateway_dns` | `gateway_dns` when a category is scored | `QueryID` | `Datetime` | `Email`, `QueryName`, `QueryCategoryNames` ∪ names of `QueryCategoryIDs`, `ResolverDecision` → action |
//! | `gateway_http` | `dlp_match` per profile, `gateway_file` for malware | `RequestID` + `/dlp/<profile>` or `/file` | `Datetime` | `Upload`/`DownloadMatchedDlpProfiles`, `PolicyName`; `BlockedFileReason` `malware` → verdict malicious, `Action`, `BlockedFileName` (else `FileInfo.files[0].name`), `BlockedFileHash` when it is a SHA-256 |
//! | `device_posture_results` | `device_posture` for `crowdstrike_s2s` / `sentinelone_s2s` | digest of `DeviceID`, `PolicyID`, `Timestamp` | `Timestamp` | `Email`, `UserUID`, `DeviceID`, `PostureReceivedJSON.overall` → zta_score, `.active_threats` |
//!
//! Skipped (well-formed, no signal): a record without an email-shaped `Email` (service tokens,
//! devices enrolled without a user), `Action` other than `login`, a DNS query in no scored
//! category, an HTTP request with no DLP match and no malware, a posture result of another
//! check type or without a score.

use super::{Dataset, Login};
use crate::fields::{self, Fields, digest_id, fit_id};
use crate::{Locator, Mapped};
use serde_json::Value;
use ztrisk_core::FieldError;
use ztrisk_core::categories;
use ztrisk_core::events::{Event, EventKind, PostureProvider, UserRef};

/// The fields each dataset's mapping reads (the rest of a record is skipped as it is parsed).
pub(super) fn fields(dataset: Dataset) -> &'static [&'static str] {
    match dataset {
        Dataset::AccessRequests => &[
            "Action",
            "Allowed",
            "AppDomain",
            "Country",
            "CreatedAt",
            "Email",
            "IPAddress",
            "RayID",
            "UserUID",
        ],
        Dataset::GatewayDns => &[
            "Datetime",
            "Email",
            "QueryCategoryIDs",
            "QueryCategoryNames",
            "QueryID",
            "QueryName",
            "ResolverDecision",
            "UserUID",
        ],
        Dataset::GatewayHttp => &[
            "Action",
            "BlockedFileHash",
            "BlockedFileName",
            "BlockedFileReason",
            "Datetime",
            "DownloadMatchedDlpProfiles",
            "Email",
            "FileInfo",
            "PolicyName",
            "RequestID",
            "UploadMatchedDlpProfiles",
            "UserUID",
        ],
        Dataset::DevicePostureResults => &[
            "DeviceID",
            "Email",
            "PolicyID",
            "PostureCheckType",
            "PostureReceivedJSON",
            "Timestamp",
            "UserUID",
        ],
    }
}

pub(super) fn map(
    dataset: Dataset,
    record: &Value,
    locator: &Locator<'_>,
) -> Result<Mapped, Vec<FieldError>> {
    let mut f = Fields::of(record, "one Logpush record")?;
    let Some(user) = email_user(&mut f) else {
        return skip_unless_malformed(f);
    };
    match dataset {
        Dataset::AccessRequests => access_request(f, user, record, locator),
        Dataset::GatewayDns => gateway_dns(f, user, record),
        Dataset::GatewayHttp => gateway_http(f, user, record),
        Dataset::DevicePostureResults => device_posture(f, user),
    }
}

/// Skipped, unless a field read so far was of the wrong type.
fn skip_unless_malformed(f: Fields<'_>) -> Result<Mapped, Vec<FieldError>> {
    f.finish(Some(Mapped::Skipped))
}

/// `Email` and `UserUID`; `None` when there is no user to score.
fn email_user(f: &mut Fields<'_>) -> Option<UserRef> {
    let email = f.str(&["Email"]);
    let uid = f.str(&["UserUID"]);
    fields::user(email, uid, None)
}

/// The record's own id, or one derived from its whole content when the field is empty.
fn record_id(f: &mut Fields<'_>, key: &str, kind: &str, record: &Value) -> String {
    match f.str(&[key]) {
        Some(id) => fit_id(id.to_owned()),
        None => digest_id(kind, &[record.to_string().as_bytes()]),
    }
}

fn access_request(
    mut f: Fields<'_>,
    user: UserRef,
    record: &Value,
    locator: &Locator<'_>,
) -> Result<Mapped, Vec<FieldError>> {
    let action = f.str(&["Action"]);
    if !action.is_some_and(|a| a.eq_ignore_ascii_case("login")) {
        return skip_unless_malformed(f);
    }
    let timestamp = f.timestamp(&["CreatedAt"]);
    let id = record_id(&mut f, "RayID", "access", record);
    let success = f.required_bool(&["Allowed"]);
    let ip = f.ip(&["IPAddress"]);
    let country = f.str(&["Country"]);
    let app = f.str(&["AppDomain"]).map(str::to_owned);
    let location = locator.by_ip_or_country(ip, country);
    let event = timestamp.zip(success).map(|(timestamp, success)| {
        let login = Login {
            id,
            user,
            success,
            ip,
            location,
            app,
        };
        login.at(timestamp)
    });
    f.finish(event).map(Mapped::One)
}

fn gateway_dns(
    mut f: Fields<'_>,
    user: UserRef,
    record: &Value,
) -> Result<Mapped, Vec<FieldError>> {
    let mut names: Vec<String> = f
        .strings(&["QueryCategoryNames"])
        .into_iter()
        .map(str::to_owned)
        .collect();
    // An id adds its category's name when the names do not already hold it, so detection
    // sees the same thing whichever of the two fields a job was set to send.
    for id in f.integers(&["QueryCategoryIDs"]) {
        if let Some(category) = categories::by_id(id)
            && !names.iter().any(|n| n.eq_ignore_ascii_case(category.name))
        {
            names.push(category.name.to_owned());
        }
    }
    if !names
        .iter()
        .any(|n| categories::family_of_name(n).is_some())
    {
        return skip_unless_malformed(f);
    }
    let timestamp = f.timestamp(&["Datetime"]);
    let id = record_id(&mut f, "QueryID", "dns", record);
    let query = f.required_str(&["QueryName"]).map(str::to_owned);
    // `ResolverDecision` is optional in a job's field list; its absence is no reason to lose
    // the query.
    let action = f.str(&["ResolverDecision"]).unwrap_or("unknown").to_owned();
    let event = timestamp.zip(query).map(|(timestamp, query)| Event {
        id: Some(id),
        timestamp,
        user,
        kind: EventKind::GatewayDns {
            query,
            categories: names,
            action,
        },
    });
    f.finish(event).map(Mapped::One)
}

fn gateway_http(
    mut f: Fields<'_>,
    user: UserRef,
    record: &Value,
) -> Result<Mapped, Vec<FieldError>> {
    // Each profile once, though both lists (or one list twice) name it: one event per id.
    let upload = f.strings(&["UploadMatchedDlpProfiles"]);
    let download = f.strings(&["DownloadMatchedDlpProfiles"]);
    let mut profiles: Vec<&str> = Vec::with_capacity(upload.len() + download.len());
    for profile in upload.into_iter().chain(download) {
        if !profiles.contains(&profile) {
            profiles.push(profile);
        }
    }
    profiles.retain(|p| !p.trim().is_empty());
    let malware = f
        .str(&["BlockedFileReason"])
        .is_some_and(|r| r.eq_ignore_ascii_case("malware"));
    if profiles.is_empty() && !malware {
        return skip_unless_malformed(f);
    }
    let timestamp = f.timestamp(&["Datetime"]);
    // `RequestID` "might be empty on bypass action" (Cloudflare's field list).
    let base_id = match f.str(&["RequestID"]) {
        Some(id) => id.to_owned(),
        None => digest_id("http", &[record.to_string().as_bytes()]),
    };
    let policy = f.str(&["PolicyName"]).map(str::to_owned);
    let mut kinds: Vec<(String, EventKind)> = profiles
        .iter()
        .map(|profile| {
            (
                format!("{base_id}/dlp/{profile}"),
                EventKind::DlpMatch {
                    profile: (*profile).to_owned(),
                    policy: policy.clone(),
                },
            )
        })
        .collect();
    if malware {
        let action = f.str(&["Action"]).unwrap_or("block").to_owned();
        let file_name = f
            .str(&["BlockedFileName"])
            .or_else(|| {
                f.get(&["FileInfo", "files"])
                    .and_then(|files| files.get(0)?.get("name")?.as_str())
                    .filter(|name| !name.is_empty())
            })
            .map(str::to_owned);
        // Cloudflare's samples show hashes that are not SHA-256 (37 hex digits); such a hash is
        // left out rather than failing the record.
        let sha256 = f
            .str(&["BlockedFileHash"])
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_ascii_lowercase);
        kinds.push((
            format!("{base_id}/file"),
            EventKind::GatewayFile {
                verdict: "malicious".into(),
                action,
                file_name,
                sha256,
            },
        ));
    }
    let Some(timestamp) = timestamp else {
        return f.finish(None);
    };
    let mut events: Vec<Event> = kinds
        .into_iter()
        .map(|(id, kind)| Event {
            id: Some(fit_id(id)),
            timestamp,
            user: user.clone(),
            kind,
        })
        .collect();
    let mapped = if events.len() == 1 {
        events.pop().map(Mapped::One)
    } else {
        Some(Mapped::Many(events))
    };
    f.finish(mapped)
}

fn device_posture(mut f: Fields<'_>, user: UserRef) -> Result<Mapped, Vec<FieldError>> {
    let provider = match f.str(&["PostureCheckType"]) {
        Some(t) if t.eq_ignore_ascii_case("crowdstrike_s2s") => PostureProvider::CrowdStrike,
        Some(t) if t.eq_ignore_ascii_case("sentinelone_s2s") => PostureProvider::SentinelOne,
        _ => return skip_unless_malformed(f),
    };
    // Logpush writes this object as JSON; a shipper that flattened it wrote a JSON string.
    let received = match f.get(&["PostureReceivedJSON"]) {
        Some(Value::String(s)) => serde_json::from_str::<Value>(s).ok(),
        Some(v) => Some(v.clone()),
        None => None,
    };
    let (key, limit) = match provider {
        PostureProvider::CrowdStrike => ("overall", 100),
        PostureProvider::SentinelOne => ("active_threats", u64::from(u32::MAX)),
    };
    let reading = match received.as_ref().and_then(|r| r.get(key)) {
        None | Some(Value::Null) => return skip_unless_malformed(f),
        Some(v) => match fields::uint(v).filter(|n| *n <= limit) {
            Some(n) => Some(n),
            None => {
                f.error(
                    &["PostureReceivedJSON", key],
                    format!("expected an integer from 0 to {limit}, got {v}"),
                );
                None
            }
        },
    };
    let timestamp = f.timestamp(&["Timestamp"]);
    let device_id = f.required_str(&["DeviceID"]);
    let policy_id = f.str(&["PolicyID"]).unwrap_or_default();
    let event = (|| {
        let (timestamp, device_id, reading) = (timestamp?, device_id?, reading?);
        let (active_threats, zta_score) = match provider {
            PostureProvider::CrowdStrike => (None, Some(u8::try_from(reading).ok()?)),
            PostureProvider::SentinelOne => (Some(u32::try_from(reading).ok()?), None),
        };
        let id = digest_id(
            "posture",
            &[
                device_id.as_bytes(),
                policy_id.as_bytes(),
                &timestamp.to_le_bytes(),
            ],
        );
        Some(Event {
            id: Some(id),
            timestamp,
            user,
            kind: EventKind::DevicePosture {
                provider,
                device_id: device_id.to_owned(),
                active_threats,
                zta_score,
            },
        })
    })();
    f.finish(event).map(Mapped::One)
}

#[cfg(test)]
mod tests;
