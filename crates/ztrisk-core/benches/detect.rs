//! Detection throughput and per-user memory.
//!
//! Run with: `taskset -c 0 cargo bench -p ztrisk-core --bench detect`
//! (`ZTRISK_BENCH_EVENTS` and `ZTRISK_BENCH_MEMORY_USERS` change the sizes).
//!
//! 1. Throughput: a realistic, pre-parsed stream over 100,000 users (logins with locations and
//!    some travel, failed logins, DLP matches, posture checks, DNS queries, file scans, a few
//!    bursts and late events), all nine behaviors enabled, through `detect` on one core; once
//!    with the states in a `Vec` (detection alone) and once keyed by email in a `HashMap` as a
//!    server would. Then `Event::parse` from pre-built `serde_json::Value`s, for reference.
//! 2. Memory: a counting global allocator around `System`; a `HashMap<String, UserState>` of
//!    1,000,000 users, each fed its own realistic mix of events; live bytes / users.

use serde_json::{Value, json};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;
use ztrisk_core::behaviors::{AccountBehaviors, BehaviorUpdate, Predefined};
use ztrisk_core::detect::{UserState, detect};
use ztrisk_core::events::{Event, EventKind, Location, PostureProvider, UserRef, format_timestamp};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const T0: i64 = 1_795_514_400_000; // 2026-11-24T10:00:00Z
const CITIES: &[(f64, f64, &str, &str)] = &[
    (51.5074, -0.1278, "GB", "London"),
    (48.8566, 2.3522, "FR", "Paris"),
    (52.5200, 13.4050, "DE", "Berlin"),
    (40.7128, -74.0060, "US", "New York"),
    (34.0522, -118.2437, "US", "Los Angeles"),
    (41.8781, -87.6298, "US", "Chicago"),
    (37.7749, -122.4194, "US", "San Francisco"),
    (43.6532, -79.3832, "CA", "Toronto"),
    (-23.5505, -46.6333, "BR", "Sao Paulo"),
    (19.4326, -99.1332, "MX", "Mexico City"),
    (35.6762, 139.6503, "JP", "Tokyo"),
    (1.3521, 103.8198, "SG", "Singapore"),
    (-33.8688, 151.2093, "AU", "Sydney"),
    (28.6139, 77.2090, "IN", "New Delhi"),
    (12.9716, 77.5946, "IN", "Bengaluru"),
    (25.2048, 55.2708, "AE", "Dubai"),
    (55.7558, 37.6173, "RU", "Moscow"),
    (59.3293, 18.0686, "SE", "Stockholm"),
    (40.4168, -3.7038, "ES", "Madrid"),
    (45.4642, 9.1900, "IT", "Milan"),
    (-26.2041, 28.0473, "ZA", "Johannesburg"),
    (30.0444, 31.2357, "EG", "Cairo"),
    (37.5665, 126.9780, "KR", "Seoul"),
    (22.3193, 114.1694, "HK", "Hong Kong"),
];
const BENIGN: &[&str] = &[
    "Technology",
    "Business",
    "News",
    "Education",
    "Shopping",
    "Social Networks",
    "Streaming Video",
    "Search Engines",
];

/// SplitMix64: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, per_million: u64) -> bool {
        self.below(1_000_000) < per_million
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn email(user: u32) -> String {
    format!("user{user}@example.com")
}

fn home(user: u32) -> usize {
    (user as usize).wrapping_mul(2_654_435_761) % CITIES.len()
}

fn event(rng: &mut Rng, user: u32, ts: i64, kind: EventKind) -> Event {
    Event {
        id: rng
            .chance(500_000)
            .then(|| format!("evt-{:016x}", rng.next())),
        timestamp: ts,
        user: UserRef {
            email: email(user),
            id: None,
            name: None,
            external_id: None,
        },
        kind,
    }
}

fn login_at(rng: &mut Rng, city: usize, success: bool) -> EventKind {
    let (lat, lon, country, name) = CITIES[city];
    EventKind::AccessLogin {
        success,
        ip: Some(std::net::IpAddr::from([
            203,
            0,
            113,
            (rng.below(254) + 1) as u8,
        ])),
        location: Some(Location {
            lat: lat + (rng.unit() - 0.5) * 0.2,
            lon: lon + (rng.unit() - 0.5) * 0.2,
            country: Some(country.into()),
            city: Some(name.into()),
            source: Default::default(),
        }),
        app: Some("intranet".into()),
    }
}

/// One event of the realistic mix for `user` at about `ts` (some arrive up to ten minutes
/// late); a few are bursts, appended whole.
fn mixed(rng: &mut Rng, user: u32, ts: i64, out: &mut Vec<(u32, Event)>) {
    let ts = if rng.chance(50_000) {
        ts - rng.below(600_000) as i64
    } else {
        ts
    };
    let roll = rng.below(1000);
    let kind = match roll {
        // 40%: successful logins, from home; 0.2% of them from somewhere else.
        0..400 => {
            let city = if rng.chance(2_000) {
                rng.below(CITIES.len() as u64) as usize
            } else {
                home(user)
            };
            login_at(rng, city, true)
        }
        // 10%: failed logins; a burst of 25 in two minutes for 0.5% of them.
        400..500 => {
            if rng.chance(5_000) {
                for i in 0..25 {
                    let k = login_at(rng, home(user), false);
                    out.push((user, event(rng, user, ts + i * 5_000, k)));
                }
                return;
            }
            login_at(rng, home(user), false)
        }
        // 20%: DLP matches; a burst of 40 in a minute for 0.5% of them.
        500..700 => {
            let dlp = |rng: &mut Rng| EventKind::DlpMatch {
                profile: ["Credit cards", "SSN", "Source code"][rng.below(3) as usize].into(),
                policy: Some("block-uploads".into()),
            };
            if rng.chance(5_000) {
                for i in 0..40 {
                    let k = dlp(rng);
                    out.push((user, event(rng, user, ts + i * 1_500, k)));
                }
                return;
            }
            dlp(rng)
        }
        // 10%: posture checks, 1% with threats; CrowdStrike scores mostly healthy.
        700..800 => {
            if rng.below(2) == 0 {
                EventKind::DevicePosture {
                    provider: PostureProvider::SentinelOne,
                    device_id: format!("dev-{user}"),
                    active_threats: Some(u32::from(rng.chance(10_000))),
                    zta_score: None,
                }
            } else {
                let score = if rng.chance(20_000) {
                    rng.below(80)
                } else {
                    80 + rng.below(21)
                };
                EventKind::DevicePosture {
                    provider: PostureProvider::CrowdStrike,
                    device_id: format!("dev-{user}"),
                    active_threats: None,
                    zta_score: Some(score as u8),
                }
            }
        }
        // 15%: DNS, 1% security, 1% high risk.
        800..950 => {
            let mut categories = vec![BENIGN[rng.below(BENIGN.len() as u64) as usize].to_string()];
            if rng.chance(10_000) {
                categories.push("Security Threats".into());
                categories.push("Phishing".into());
            }
            if rng.chance(10_000) {
                categories.push("Questionable Content".into());
            }
            EventKind::GatewayDns {
                query: format!("host{}.example.net", rng.below(10_000)),
                categories,
                action: "allow".into(),
            }
        }
        // 5%: file scans, 0.5% malicious.
        _ => EventKind::GatewayFile {
            verdict: if rng.chance(5_000) {
                "malicious"
            } else {
                "clean"
            }
            .into(),
            action: "allow".into(),
            file_name: Some("report.pdf".into()),
            sha256: None,
        },
    };
    out.push((user, event(rng, user, ts, kind)));
}

fn all_enabled() -> AccountBehaviors {
    let behaviors: serde_json::Map<String, Value> = Predefined::ALL
        .iter()
        .map(|p| {
            (
                p.id().to_string(),
                json!({"enabled": true, "risk_level": p.default_level().as_str()}),
            )
        })
        .collect();
    let mut config = AccountBehaviors::default();
    match BehaviorUpdate::parse(&json!({ "behaviors": behaviors })) {
        Ok(update) => {
            config.apply(&update);
        }
        Err(e) => panic!("{e:?}"),
    }
    config
}

/// The wire form of an event, to measure parsing.
fn to_json(e: &Event) -> Value {
    let mut v = json!({
        "type": e.kind.type_name(),
        "timestamp": format_timestamp(e.timestamp),
        "user": {"email": e.user.email},
    });
    if let Some(id) = &e.id {
        v["id"] = json!(id);
    }
    match &e.kind {
        EventKind::AccessLogin {
            success,
            ip,
            location,
            app,
        } => {
            v["success"] = json!(success);
            v["ip"] = json!(ip.map(|ip| ip.to_string()));
            if let Some(l) = location {
                v["location"] =
                    json!({"lat": l.lat, "lon": l.lon, "country": l.country, "city": l.city});
            }
            v["app"] = json!(app);
        }
        EventKind::DlpMatch { profile, policy } => {
            v["profile"] = json!(profile);
            v["policy"] = json!(policy);
        }
        EventKind::DevicePosture {
            provider,
            device_id,
            active_threats,
            zta_score,
        } => {
            v["provider"] = json!(match provider {
                PostureProvider::SentinelOne => "sentinel_one",
                PostureProvider::CrowdStrike => "crowdstrike",
            });
            v["device_id"] = json!(device_id);
            v["active_threats"] = json!(active_threats);
            v["zta_score"] = json!(zta_score);
        }
        EventKind::GatewayFile {
            verdict,
            action,
            file_name,
            sha256,
        } => {
            v["verdict"] = json!(verdict);
            v["action"] = json!(action);
            v["file_name"] = json!(file_name);
            v["sha256"] = json!(sha256);
        }
        EventKind::GatewayDns {
            query,
            categories,
            action,
        } => {
            v["query"] = json!(query);
            v["categories"] = json!(categories);
            v["action"] = json!(action);
        }
        EventKind::Behavior { behavior, details } => {
            v["behavior"] = json!(behavior.as_str());
            v["details"] = json!(details);
        }
    }
    v
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn throughput(config: &AccountBehaviors) {
    const USERS: u32 = 100_000;
    let target = env_usize("ZTRISK_BENCH_EVENTS", 6_000_000);
    let mut rng = Rng(42);
    let started = Instant::now();
    let mut events: Vec<(u32, Event)> = Vec::with_capacity(target + 1_000);
    // Twelve hours of event time: about one event per user every twelve minutes.
    let step_ms = 12.0 * 3_600_000.0 / target.max(1) as f64;
    let mut clock = 0.0f64;
    let mut ts = T0;
    while events.len() < target {
        let user = rng.below(u64::from(USERS)) as u32;
        clock += step_ms;
        ts = T0 + clock as i64;
        mixed(&mut rng, user, ts, &mut events);
    }
    println!(
        "throughput: generated {} events for {USERS} users in {:.1?} (event time span {:.1} h)",
        events.len(),
        started.elapsed(),
        (ts - T0) as f64 / 3.6e6
    );

    let n = events.len() as f64;
    let rate = |secs: f64| n / secs;

    // Detection alone: states indexed by user number. Three rounds from empty states; the
    // first also warms the caches and the allocator.
    let mut best = f64::MAX;
    let mut detections = 0usize;
    let mut states = Vec::new();
    for round in 1..=3 {
        states = vec![UserState::default(); USERS as usize];
        detections = 0;
        let started = Instant::now();
        for (user, e) in &events {
            detections += detect(&mut states[*user as usize], e, config).len();
        }
        let secs = started.elapsed().as_secs_f64();
        best = best.min(secs);
        println!(
            "throughput: detect, states in a Vec, round {round}:      {:>10.0} events/s ({:.0} ns/event)",
            rate(secs),
            secs * 1e9 / n
        );
    }
    println!(
        "throughput: detect, states in a Vec, best:         {:>10.0} events/s ({:.0} ns/event; {} risk events, {:.3}% of events)",
        rate(best),
        best * 1e9 / n,
        detections,
        detections as f64 * 100.0 / n,
    );

    // As a server would: the state looked up by email.
    let mut best = f64::MAX;
    for round in 1..=3 {
        let mut by_email: HashMap<String, UserState> = HashMap::new();
        let started = Instant::now();
        for (_, e) in &events {
            let state = match by_email.get_mut(e.user.email.as_str()) {
                Some(s) => s,
                None => by_email.entry(e.user.email.clone()).or_default(),
            };
            black_box(detect(state, e, config));
        }
        let secs = started.elapsed().as_secs_f64();
        best = best.min(secs);
        println!(
            "throughput: detect, states in a HashMap, round {round}:  {:>10.0} events/s ({:.0} ns/event)",
            rate(secs),
            secs * 1e9 / n
        );
    }
    println!(
        "throughput: detect, states in a HashMap, best:     {:>10.0} events/s ({:.0} ns/event)",
        rate(best),
        best * 1e9 / n
    );

    // Encoding (what a server persists with each event), for reference.
    let started = Instant::now();
    let mut bytes = 0usize;
    for (user, _) in events.iter().take(1_000_000) {
        bytes += states[*user as usize].encode().len();
    }
    let k = events.len().min(1_000_000) as f64;
    println!(
        "throughput: UserState::encode:                     {:>10.0} states/s (average {:.1} bytes)",
        k / started.elapsed().as_secs_f64(),
        bytes as f64 / k
    );

    // Parsing, from pre-built JSON values.
    let values: Vec<Value> = events
        .iter()
        .take(300_000)
        .map(|(_, e)| to_json(e))
        .collect();
    drop(events);
    let mut best = f64::MAX;
    for round in 1..=3 {
        let mut ok = 0usize;
        let started = Instant::now();
        for v in &values {
            // Parsed, then dropped, as an ingest loop does once the event is processed.
            ok += usize::from(black_box(Event::parse(v)).is_ok());
        }
        let secs = started.elapsed().as_secs_f64();
        best = best.min(secs);
        assert_eq!(ok, values.len(), "every generated event parses");
        println!(
            "throughput: Event::parse, round {round}:                 {:>10.0} events/s ({:.0} ns/event)",
            values.len() as f64 / secs,
            secs * 1e9 / values.len() as f64
        );
    }
    println!(
        "throughput: Event::parse from serde_json::Value, best: {:>6.0} events/s ({:.0} ns/event)",
        values.len() as f64 / best,
        best * 1e9 / values.len() as f64
    );
}

fn live(region: &Region<'_, System>) -> isize {
    let change = region.change();
    change.bytes_allocated as isize - change.bytes_deallocated as isize
}

fn memory(config: &AccountBehaviors) {
    let users = env_usize("ZTRISK_BENCH_MEMORY_USERS", 1_000_000) as u32;
    let mut rng = Rng(7);
    let region = Region::new(GLOBAL);
    let mut states: HashMap<String, UserState> = HashMap::new();
    let mut batch: Vec<(u32, Event)> = Vec::new();
    let mut detections = 0usize;
    let (mut with_login, mut with_extra) = (0usize, 0usize);
    for user in 0..users {
        // Each user's own mix over a day: logins for most, windows for some, firings for few.
        let mut ts = T0 + rng.below(3_600_000) as i64;
        if rng.chance(900_000) {
            let k = login_at(&mut rng, home(user), true);
            batch.push((user, event(&mut rng, user, ts, k)));
        }
        let extra_events = rng.below(6);
        for _ in 0..extra_events {
            ts += rng.below(4 * 3_600_000) as i64;
            mixed(&mut rng, user, ts, &mut batch);
        }
        // A few users have just tripped a detector (suppression entries remain).
        if rng.chance(30_000) {
            let k = login_at(&mut rng, (home(user) + 7) % CITIES.len(), true);
            batch.push((user, event(&mut rng, user, ts + 60_000, k)));
        }
        let state = states.entry(email(user)).or_default();
        for (_, e) in batch.drain(..) {
            detections += detect(state, &e, config).len();
        }
        with_login += usize::from(state.last_login_time().is_some());
        with_extra += usize::from(state.heap_bytes() > 0);
    }
    drop(batch);
    let total = live(&region);
    let heap: usize = states.values().map(UserState::heap_bytes).sum();
    let keys: usize = states.keys().map(String::capacity).sum();
    println!(
        "memory: {users} users in HashMap<String, UserState>: {:.1} MiB live, {:.1} bytes/user \
         (size_of UserState {}, table capacity {}, keys {:.1} bytes/user, state heap {:.1} bytes/user; \
         {:.1}% with a remembered login, {:.1}% with windows or suppression, {detections} risk events)",
        total as f64 / (1 << 20) as f64,
        total as f64 / f64::from(users),
        size_of::<UserState>(),
        states.capacity(),
        keys as f64 / f64::from(users),
        heap as f64 / f64::from(users),
        with_login as f64 * 100.0 / f64::from(users),
        with_extra as f64 * 100.0 / f64::from(users),
    );
    let encoded: usize = states.values().map(|s| s.encode().len()).sum();
    println!(
        "memory: encoded states average {:.1} bytes/user",
        encoded as f64 / f64::from(users)
    );
    black_box(states);
}

fn main() {
    // `cargo bench` passes `--bench`; accept and ignore any arguments.
    let config = all_enabled();
    throughput(&config);
    memory(&config);
}
