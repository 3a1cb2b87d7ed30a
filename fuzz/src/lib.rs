//! What the fuzz targets check. Each target hands its input to one parser that the server runs
//! on untrusted bytes, the way the server's route does, and asserts more than "no panic":
//!
//! - Ingest (native events and every adapter): the body is listed as the route lists it
//!   (`body::decode`, then `Records` over a JSON array or NDJSON); each record is mapped from
//!   the filtered parse the server uses and from a whole parse, and both must agree (ids
//!   derived from the whole record aside); every event a record gives must be one that
//!   `POST /events` accepts as it is, and must parse back to itself once written as a native
//!   event; the events of one record never share an (id, timestamp), which would make the
//!   second a "duplicate".
//! - `PUT /behaviors` (and a behavior's `settings` object): an accepted update applied twice
//!   changes nothing more; the rows the store writes read back as the same configuration; the
//!   answer GET then serves is accepted by PUT and configures the same thing; what the store
//!   reads back from any settings object is a fixed point.
//!
//! A failed assertion is a crash for libFuzzer: the input lands in `fuzz/artifacts/<target>/`.

use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::HashSet;
use ztrisk_core::BehaviorId;
use ztrisk_core::FieldError;
use ztrisk_core::behaviors::{AccountBehaviors, BehaviorUpdate, Controls, Predefined, Settings};
use ztrisk_core::events::{Event, EventKind, LocationSource, PostureProvider, format_timestamp};
use ztrisk_ingest::body::{self, Encoding, Layout, Records};
use ztrisk_ingest::{Locator, Mapped, Source, map_record, okta_hook_events, record};

/// Decoded bodies larger than this teach the fuzzer nothing and slow it down.
const MAX_DECODED: usize = 1 << 20;

/// A request body of `source`'s ingest route (`POST /events`, `/ingest/cloudflare/<dataset>`,
/// `/ingest/okta`, `/ingest/ocsf`).
pub fn ingest(source: Source, data: &[u8]) {
    let Ok(body) = body::decode(data, Encoding::Identity, MAX_DECODED) else {
        return;
    };
    match source {
        Source::Okta => okta(&body),
        // `POST /events` takes NDJSON by its Content-Type, whatever the first character.
        Source::Native => {
            records(source, &body, Layout::sniff(&body));
            if Layout::sniff(&body) == Layout::JsonArray {
                records(source, &body, Layout::NdJson);
            }
        }
        _ => records(source, &body, Layout::sniff(&body)),
    }
}

/// The Okta route: a JSON array, an event hook delivery or one LogEvent, or NDJSON.
fn okta(body: &[u8]) {
    if Layout::sniff(body) == Layout::JsonArray {
        return records(Source::Okta, body, Layout::JsonArray);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => {
            let values = okta_hook_events(value).unwrap_or_else(|single| vec![single]);
            for whole in &values {
                let text = whole.to_string();
                let filtered = record::parse(text.as_bytes(), Source::Okta.fields())
                    .unwrap_or_else(|e| {
                        panic!("a parsed LogEvent does not parse again: {e}\n{text}")
                    });
                check_record(Source::Okta, &filtered, Some(whole), &text);
            }
            assert_eq!(Records::from_values(values.clone()).count(), values.len());
        }
        Err(_) => records(Source::Okta, body, Layout::NdJson),
    }
}

/// Lists the records of `body` as the server does, and checks each.
fn records(source: Source, body: &[u8], layout: Layout) {
    let Ok(listed) = Records::new(body, layout, source.fields()) else {
        return;
    };
    // The same records, split here independently of `Records`.
    let raws: Vec<&[u8]> = match layout {
        Layout::JsonArray => serde_json::from_slice::<Vec<&RawValue>>(body)
            .unwrap_or_else(|e| panic!("Records listed a body that is no JSON array: {e}"))
            .into_iter()
            .map(|raw| raw.get().as_bytes())
            .collect(),
        Layout::NdJson => body
            .split(|b| *b == b'\n')
            .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
            .collect(),
    };
    let listed: Vec<Result<Value, String>> = listed.collect();
    assert_eq!(
        listed.len(),
        raws.len(),
        "Records gives one item per record"
    );
    for (raw, filtered) in raws.into_iter().zip(listed) {
        let text = String::from_utf8_lossy(raw);
        let whole = serde_json::from_slice::<Value>(raw).ok();
        match filtered {
            Ok(filtered) => check_record(source, &filtered, whole.as_ref(), &text),
            // Skipping unread fields never makes parsing stricter.
            Err(e) => assert!(
                whole.is_none(),
                "the filtered parse refused a record that is JSON ({e}): {text}"
            ),
        }
    }
}

/// One record: the filtered and whole mappings agree, and what it gives is sound.
fn check_record(source: Source, filtered: &Value, whole: Option<&Value>, text: &str) {
    let locator = Locator::default();
    let mapped = map_record(source, filtered, &locator);
    if let Some(whole) = whole {
        let from_whole = map_record(source, whole, &locator);
        match (&mapped, &from_whole) {
            (Ok(a), Ok(b)) => assert_eq!(
                without_digest_ids(a),
                without_digest_ids(b),
                "{source}: the filtered and the whole record map differently: {text}"
            ),
            _ => assert_eq!(
                mapped, from_whole,
                "{source}: the filtered and the whole record map differently: {text}"
            ),
        }
    }
    match mapped {
        Ok(mapped) => {
            if let Mapped::Many(events) = &mapped {
                assert!(
                    events.len() > 1,
                    "{source}: Many with {} events",
                    events.len()
                );
            }
            let events = mapped.into_events();
            let mut keys = HashSet::new();
            for event in &events {
                round_trip(source, event);
                assert!(
                    keys.insert((event.id.clone(), event.timestamp)),
                    "{source}: two events of one record share id {:?} and timestamp, so the second \
                     would count as a duplicate: {text}",
                    event.id
                );
            }
        }
        Err(errors) => check_errors(&errors, "", text),
    }
}

/// Ids an adapter derives from the record's content depend on which fields were kept.
fn without_digest_ids(mapped: &Mapped) -> Vec<Event> {
    let mut events = mapped.clone().into_events();
    for event in &mut events {
        if event
            .id
            .as_deref()
            .is_some_and(|id| id.contains(':') && !id.starts_with("posture:"))
        {
            event.id = None;
        }
    }
    events
}

/// At least one error, each with a pointer under `prefix` (RFC 6901: empty or `/...`).
fn check_errors(errors: &[FieldError], prefix: &str, text: &str) {
    assert!(!errors.is_empty(), "rejected without a reason: {text}");
    for e in errors {
        assert!(
            e.pointer.starts_with(prefix) && (e.pointer.is_empty() || e.pointer.starts_with('/')),
            "pointer {:?} is not under {prefix:?}: {text}",
            e.pointer
        );
        assert!(!e.message.is_empty(), "an error without a message: {text}");
    }
}

/// `event`, written as a native event, parses back to itself: whatever an adapter gives is
/// what `POST /events` would accept, and the native parser's output is a fixed point.
fn round_trip(source: Source, event: &Event) {
    let native = native_json(event);
    let parsed = Event::parse(&native).unwrap_or_else(|errors| {
        panic!("{source} gave an event that POST /events refuses: {errors:?}\n{native}\n{event:?}")
    });
    // The native form has no external user id and no location source.
    let mut expected = event.clone();
    expected.user.external_id = None;
    if let EventKind::AccessLogin {
        location: Some(location),
        ..
    } = &mut expected.kind
    {
        location.source = LocationSource::Sender;
    }
    assert_eq!(
        parsed, expected,
        "{source}: an event does not parse back to itself: {native}"
    );
}

/// The native (`POST /events`) form of an event.
pub fn native_json(event: &Event) -> Value {
    let mut m = Map::new();
    let mut put = |key: &str, value: Value| {
        m.insert(key.to_owned(), value);
    };
    if let Some(id) = &event.id {
        put("id", id.as_str().into());
    }
    put("type", event.kind.type_name().into());
    let timestamp = format_timestamp(event.timestamp)
        .unwrap_or_else(|| panic!("timestamp {} has no RFC 3339 form", event.timestamp));
    put("timestamp", timestamp.into());
    let mut user = Map::new();
    user.insert("email".into(), event.user.email.as_str().into());
    if let Some(id) = event.user.id {
        user.insert("id".into(), id.to_string().into());
    }
    if let Some(name) = &event.user.name {
        user.insert("name".into(), name.as_str().into());
    }
    put("user", user.into());
    let opt = |v: &Option<String>| v.as_deref().map_or(Value::Null, Value::from);
    match &event.kind {
        EventKind::AccessLogin {
            success,
            ip,
            location,
            app,
        } => {
            put("success", (*success).into());
            put("ip", ip.map_or(Value::Null, |ip| ip.to_string().into()));
            if let Some(l) = location {
                let mut loc = Map::new();
                loc.insert("lat".into(), number(l.lat));
                loc.insert("lon".into(), number(l.lon));
                loc.insert("country".into(), opt(&l.country));
                loc.insert("city".into(), opt(&l.city));
                put("location", loc.into());
            }
            put("app", opt(app));
        }
        EventKind::DlpMatch { profile, policy } => {
            put("profile", profile.as_str().into());
            put("policy", opt(policy));
        }
        EventKind::DevicePosture {
            provider,
            device_id,
            active_threats,
            zta_score,
        } => {
            let provider = match provider {
                PostureProvider::SentinelOne => "sentinel_one",
                PostureProvider::CrowdStrike => "crowdstrike",
            };
            put("provider", provider.into());
            put("device_id", device_id.as_str().into());
            put(
                "active_threats",
                active_threats.map_or(Value::Null, Value::from),
            );
            put("zta_score", zta_score.map_or(Value::Null, Value::from));
        }
        EventKind::GatewayFile {
            verdict,
            action,
            file_name,
            sha256,
        } => {
            put("verdict", verdict.as_str().into());
            put("action", action.as_str().into());
            put("file_name", opt(file_name));
            put("sha256", opt(sha256));
        }
        EventKind::GatewayDns {
            query,
            categories,
            action,
        } => {
            put("query", query.as_str().into());
            put(
                "categories",
                categories.iter().map(|c| Value::from(c.as_str())).collect(),
            );
            put("action", action.as_str().into());
        }
        EventKind::Behavior { behavior, details } => {
            put("behavior", behavior.as_str().into());
            put("details", details.clone().unwrap_or(Value::Null));
        }
    }
    Value::Object(m)
}

fn number(x: f64) -> Value {
    serde_json::Number::from_f64(x)
        .map(Value::Number)
        .unwrap_or_else(|| panic!("a coordinate that is not finite: {x}"))
}

/// A `PUT /behaviors` body.
pub fn behaviors(data: &[u8]) {
    if let Ok(body) = serde_json::from_slice::<Value>(data) {
        behaviors_body(&body);
    }
}

fn behaviors_body(body: &Value) {
    let text = body.to_string();
    let update = match BehaviorUpdate::parse(body) {
        Ok(update) => update,
        Err(errors) => {
            let under = if body.get("behaviors").is_some() {
                "/behaviors"
            } else {
                ""
            };
            return check_errors(&errors, under, &text);
        }
    };
    let mut all = AccountBehaviors::default();
    let changed = all.apply(&update);
    assert_eq!(
        changed.len(),
        update.entries.len(),
        "one row per entry: {text}"
    );

    // A retried PUT changes nothing more.
    let mut again = all.clone();
    again.apply(&update);
    assert_eq!(again, all, "the same update applied twice differs: {text}");

    // The rows the store writes read back as the same configuration.
    let rows: Vec<_> = all
        .iter()
        .map(|(id, _, _, _, config)| {
            let id: BehaviorId = id
                .parse()
                .unwrap_or_else(|e| panic!("a configured id {id:?} is invalid: {e}"));
            let settings = Value::Object(config.settings_json(id.as_str()).into_iter().collect());
            (id, config.enabled, config.risk_level, settings)
        })
        .collect();
    let stored = AccountBehaviors::from_stored(rows.clone());
    assert_eq!(
        stored, all,
        "the stored rows read back differently: {text}\nrows: {rows:?}"
    );

    // GET's answer, PUT back whole (as Terraform and scripts do), configures the same thing,
    // and the SDK's type reads it as it was.
    let get = ztrisk_types::Behaviors {
        behaviors: all
            .iter()
            .map(|(id, name, description, _, config)| {
                let behavior = ztrisk_types::Behavior {
                    name: Some(name.to_owned()),
                    description: Some(description.to_owned()),
                    enabled: config.enabled,
                    risk_level: config.risk_level,
                    settings: Some(config.settings_json(id)),
                };
                (id.to_owned(), behavior)
            })
            .collect(),
    };
    // As text: a `Value` would sort the ids, and the SDK type keeps the server's order.
    let get_text = serde_json::to_string(&get).unwrap_or_else(|e| panic!("{e}"));
    let get_json: Value = serde_json::from_str(&get_text).unwrap_or_else(|e| panic!("{e}"));
    let put_back = BehaviorUpdate::parse(&get_json).unwrap_or_else(|e| {
        panic!("PUT refuses GET's answer: {e:?}\nafter {text}\nGET: {get_json}")
    });
    let mut fresh = AccountBehaviors::default();
    fresh.apply(&put_back);
    assert_eq!(
        fresh, all,
        "GET's answer PUT back configures something else: {get_json}"
    );
    let decoded: ztrisk_types::Behaviors = serde_json::from_str(&get_text)
        .unwrap_or_else(|e| panic!("the SDK type cannot read GET's answer: {e}\n{get_text}"));
    assert_eq!(decoded, get, "the SDK type reads GET's answer differently");

    // The SDK's request type says the same thing, once written again.
    if let Ok(wire) = serde_json::from_value::<ztrisk_types::BehaviorsUpdate>(body.clone()) {
        let rewritten = serde_json::to_value(&wire).unwrap_or_else(|e| panic!("{e}"));
        if let Ok(again) = BehaviorUpdate::parse(&rewritten) {
            assert_eq!(
                again, update,
                "the SDK's request type changes {text} into {rewritten}"
            );
        }
    }
}

/// One behavior's `settings` object, in a `PUT /behaviors` entry of every predefined behavior
/// and of a custom one, and as the store reads it back.
pub fn settings(data: &[u8]) {
    let Ok(settings) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let ids = Predefined::ALL.map(Predefined::id);
    for id in ids.into_iter().chain(["custom_behavior"]) {
        let mut entry = Map::new();
        entry.insert("enabled".into(), true.into());
        entry.insert("risk_level".into(), "medium".into());
        entry.insert("settings".into(), settings.clone());
        let mut behaviors = Map::new();
        behaviors.insert(id.into(), entry.into());
        let mut body = Map::new();
        body.insert("behaviors".into(), behaviors.into());
        behaviors_body(&Value::Object(body));

        // What the store reads back from any stored object is a fixed point.
        let predefined = Predefined::from_id(id);
        let specs = predefined.map_or(&[][..], Predefined::setting_specs);
        let imp_travel = predefined == Some(Predefined::ImpTravel);
        let read = Settings::from_stored(specs, &settings);
        let controls = Controls::from_stored(&settings, imp_travel);
        let mut written: Map<String, Value> = read.to_json(specs).into_iter().collect();
        written.extend(controls.to_json(imp_travel));
        let written = Value::Object(written);
        assert_eq!(
            Settings::from_stored(specs, &written),
            read,
            "{id}: {written}"
        );
        assert_eq!(
            Controls::from_stored(&written, imp_travel),
            controls,
            "{id}: {written}"
        );
    }
}
