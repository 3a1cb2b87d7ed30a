//! Detection: turns a user's events into risk events, one behavior at a time.
//!
//! Pure and synchronous: a [`UserState`] per user, the account's [`AccountBehaviors`], and an
//! [`Event`] in; [`Detection`]s out. The caller persists the state and the detections in the
//! same transaction as the event, which is what makes ingestion exactly-once.
//!
//! # Semantics (binding)
//!
//! **Configuration.** Detection uses the configuration passed in: the server passes the one in
//! force when it processes the event, so a level change applies from the moment of the update,
//! and risk events already recorded keep their level. A disabled (or unknown) behavior emits
//! nothing, but the state is still updated (logins remembered, windows filled), so enabling it
//! later works on recent history.
//!
//! **Time** is always the *event* time ([`Event::timestamp`]), never the clock; events may
//! arrive late and out of order.
//!
//! **`imp_travel`** — a successful `access_login` with a `location`. It is compared with the
//! user's remembered login (the one with the latest event time among those seen). The distance
//! is the haversine great-circle distance ([`haversine_km`], mean Earth radius
//! [`EARTH_RADIUS_KM`]); the speed is distance / |Δt|. It fires when distance ≥
//! `min_distance_km` and speed > `max_speed_kmh`; Δt = 0 with a non-zero distance ≥
//! `min_distance_km` counts as an infinite speed (the same place at the same time is not
//! travel, even with `min_distance_km` = 0). Then the newer of the two logins is remembered: a
//! late login is compared with the remembered one using |Δt| and does not replace it.
//! Coordinates are compared at the precision the state keeps them, `f32` (about a metre).
//!
//! **`high_dlp`** (`dlp_match`) and **`failed_logins`** (`access_login` with `success: false`)
//! are windowed. The state keeps the most recent `threshold` event times, sorted; a late event
//! is inserted in order, and an event older than all kept ones when the buffer is full is
//! dropped. The behavior fires when `threshold` kept times span (newest − oldest) at most
//! `window_seconds` (inclusive: exactly `window_seconds` apart fires, one millisecond more does
//! not). When that happens the buffer is cleared, so the next detection needs `threshold` new
//! events. In addition, as `spec/api.md` 3.2 asks, a windowed behavior fires again only after
//! its window has passed since it last fired: a detection whose triggering event is within
//! `window_seconds` (inclusive, either way) of the last firing is not emitted, and its counted
//! events are consumed all the same. Together: one burst (events within `window_seconds` of
//! each other) gives exactly one risk event however many events it has, and a sustained stream
//! gives about one per window. If `threshold` changed, the buffer is cut to the newest
//! `threshold` times; `threshold` is at most [`MAX_WINDOW_LEN`]. While the behavior is disabled
//! the buffer keeps rolling (it is neither cleared nor does it record firings).
//!
//! The other detectors look at one event each:
//!
//! - **`sentinel_one`**: `device_posture` from `sentinel_one` with `active_threats` > 0.
//! - **`crowdstrike_low_zta`**: `crowdstrike` with `zta_score` ≤ its `max_score`.
//! - **`crowdstrike_medium_zta`**: `zta_score` above `crowdstrike_low_zta`'s `max_score` and ≤
//!   its own `max_score`. Only medium is considered for such a score, and only low for a score
//!   in the low band, whether or not the other is enabled.
//! - **`malicious_file`**: `gateway_file` with verdict `malicious` (any case, surrounding
//!   spaces ignored), whatever the action (blocked too).
//! - **`suspicious_security_domain`**: `gateway_dns` with a category of the Security Threats or
//!   Security Risks family; **`high_risk_domain`**: Questionable Content, Violence or CIPA.
//!   A family is its parent and its subcategories (Phishing, Spam, DGA Domains, Hacking,
//!   Weapons, ...), as listed in [`crate::categories`]. Categories are compared ignoring ASCII
//!   case and surrounding spaces; both behaviors can fire for one query, whatever its action.
//! - **`behavior`** events fire that behavior (predefined or custom) if it is configured and
//!   enabled.
//!
//! **Repeat suppression.** Every behavior except the windowed `high_dlp`/`failed_logins`
//! detectors (which follow the window rule above) fires at most once per user per
//! [`REPEAT_SUPPRESSION_MS`] of event time: an occurrence with |ts − last fired| < 3600 s is
//! suppressed, which handles late events symmetrically. The state remembers, per behavior, the
//! latest time it fired. Externally signalled `behavior` events are always subject to
//! repeat suppression, including for `high_dlp`/`failed_logins` (which share the last firing
//! time with their window rule). At most [`MAX_CUSTOM_SUPPRESSIONS`] custom behaviors are
//! remembered per user (the one that fired longest ago is forgotten first). Because only the
//! latest firing is remembered, a very late event (over an hour before it) is compared with
//! that one alone.
//!
//! **Reset.** [`UserState::reset`] clears the windows and the suppression memory but keeps the
//! remembered login.
//!
//! **Evidence** ([`Detection::details`]): always `"behavior"` and `"events"` (the input events
//! that triggered it: `id` if any, `type`, `timestamp` as RFC 3339 UTC with `Z`, and the
//! event's own fields), plus the measured values and thresholds: `distance_km`,
//! `elapsed_seconds`, `speed_kmh` (null when infinite), `max_speed_kmh`, `min_distance_km` for
//! impossible travel (the earlier login appears as detection remembers it: its time and
//! coordinates); `count`, `threshold`, `window_seconds`, `first_timestamp`, `last_timestamp`,
//! `span_seconds` and `timestamps` (every counted event) for windowed behaviors, whose
//! `events` holds the triggering event; `active_threats`; `zta_score`, `max_score` (and
//! `above_score` for the medium band); `verdict`; `matched_categories`; `"source":
//! "external"` for `behavior` events.

use crate::behaviors::{AccountBehaviors, BehaviorConfig, Predefined, SettingKey};
use crate::categories::{self, Family};
use crate::events::{Event, EventKind, Location, PostureProvider};
use crate::{BehaviorId, RiskLevel};
use serde_json::{Map, Value};

mod evidence;
mod geo;
mod state;

pub use geo::{EARTH_RADIUS_KM, haversine_km};
pub use state::UserState;

/// A risk event: one behavior detected for one user.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub behavior: BehaviorId,
    /// The level the behavior had when it was detected; it never changes afterwards.
    pub risk_level: RiskLevel,
    /// Time of the event that completed the detection (unix ms).
    pub timestamp: i64,
    /// The evidence: behavior id, the input events that triggered it, measured values and the
    /// thresholds they were compared with.
    pub details: serde_json::Value,
    /// The behavior was monitor-only: the detection is recorded and shown, never counted.
    pub monitor_only: bool,
    /// The behavior's `expire_after_days` when detected (0: never).
    pub expire_after_days: u32,
}

impl Detection {
    /// When the risk event stops counting, if it ever counts and ever expires.
    pub fn expires_at(&self, detected_at: i64) -> Option<i64> {
        (!self.monitor_only && self.expire_after_days > 0)
            .then(|| detected_at.saturating_add(i64::from(self.expire_after_days) * 86_400_000))
    }
}

/// A non-windowed behavior fires at most once per user in this much event time (ms).
pub const REPEAT_SUPPRESSION_MS: i64 = 3_600_000;
/// The largest `threshold` a windowed behavior keeps timestamps for (bounds per-user memory).
pub const MAX_WINDOW_LEN: usize = 1_000;
/// How many custom behaviors' last firing times one user's state remembers at most.
pub const MAX_CUSTOM_SUPPRESSIONS: usize = 64;

/// Runs every detector the event can trigger and updates the user's state.
pub fn detect(state: &mut UserState, event: &Event, config: &AccountBehaviors) -> Vec<Detection> {
    let mut out = Vec::new();
    match &event.kind {
        EventKind::AccessLogin {
            success: true,
            location: Some(location),
            ..
        } => imp_travel(state, event, location, config, &mut out),
        EventKind::AccessLogin { success: true, .. } => {}
        EventKind::AccessLogin { success: false, .. } => {
            windowed(state, Predefined::FailedLogins, event, config, &mut out)
        }
        EventKind::DlpMatch { .. } => windowed(state, Predefined::HighDlp, event, config, &mut out),
        EventKind::DevicePosture {
            provider,
            active_threats,
            zta_score,
            ..
        } => posture(
            state,
            event,
            *provider,
            *active_threats,
            *zta_score,
            config,
            &mut out,
        ),
        EventKind::GatewayFile { verdict, .. } => {
            if verdict.trim().eq_ignore_ascii_case("malicious") {
                let p = Predefined::MaliciousFile;
                let cfg = config.predefined(p);
                if applies(cfg, event) && state.fire_predefined(p, event.timestamp) {
                    let mut d = evidence::base(p.id(), [evidence::event(event)]);
                    d.insert("verdict".into(), Value::from(verdict.as_str()));
                    emit(&mut out, p, cfg, event, d);
                }
            }
        }
        EventKind::GatewayDns { categories, .. } => dns(state, event, categories, config, &mut out),
        EventKind::Behavior { behavior, .. } => external(state, event, behavior, config, &mut out),
    }
    state.compact();
    out
}

/// Whether a behavior may detect anything in this user's event: enabled, and the user not
/// excluded from it.
fn applies(cfg: &BehaviorConfig, event: &Event) -> bool {
    cfg.enabled && !cfg.controls.excludes(&event.user.email)
}

/// The detection of `behavior`, marked when the behavior is monitor-only.
fn detection(
    behavior: BehaviorId,
    cfg: &BehaviorConfig,
    event: &Event,
    mut details: Map<String, Value>,
) -> Detection {
    if cfg.controls.monitor_only {
        details.insert("monitor_only".into(), Value::Bool(true));
    }
    Detection {
        behavior,
        risk_level: cfg.risk_level,
        timestamp: event.timestamp,
        details: Value::Object(details),
        monitor_only: cfg.controls.monitor_only,
        expire_after_days: cfg.controls.expire_after_days,
    }
}

/// A predefined behavior's setting, or its catalog default.
fn setting(cfg: &BehaviorConfig, p: Predefined, key: SettingKey) -> f64 {
    cfg.settings.get(key).unwrap_or_else(|| {
        p.setting_specs()
            .iter()
            .find(|s| s.key == key)
            .map_or(0.0, |s| s.default)
    })
}

fn emit(
    out: &mut Vec<Detection>,
    p: Predefined,
    cfg: &BehaviorConfig,
    event: &Event,
    details: Map<String, Value>,
) {
    // Predefined ids always parse; the `if let` only keeps this free of `unwrap`.
    if let Ok(behavior) = p.id().parse::<BehaviorId>() {
        out.push(detection(behavior, cfg, event, details));
    }
}

fn imp_travel(
    state: &mut UserState,
    event: &Event,
    location: &Location,
    config: &AccountBehaviors,
    out: &mut Vec<Detection>,
) {
    let (lat, lon) = (location.lat, location.lon);
    // Parsed events are in range; anything else (a hand-built event) cannot be compared.
    if !((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)) {
        return;
    }
    let p = Predefined::ImpTravel;
    let cfg = config.predefined(p);
    let ip = match &event.kind {
        EventKind::AccessLogin { ip, .. } => *ip,
        _ => None,
    };
    // A VPN's or an office's egress says nothing about where the user is: such logins are
    // neither compared nor remembered.
    if ip.is_some_and(|ip| cfg.controls.trusts(ip)) {
        return;
    }
    let current = state::Login {
        ts: event.timestamp,
        lat: lat as f32,
        lon: lon as f32,
        ip: state::IpTag::of(ip),
    };
    let Some(previous) = state.login else {
        state.login = Some(current);
        return;
    };
    if current.ts >= previous.ts {
        state.login = Some(current);
    }
    if !applies(cfg, event) {
        return;
    }
    // GeoIP databases move addresses between places: one IP is one place.
    if cfg.controls.same_ip_is_same_place && current.ip.same_known(previous.ip) {
        return;
    }
    let max_speed_kmh = setting(cfg, p, SettingKey::MaxSpeedKmh);
    let min_distance_km = setting(cfg, p, SettingKey::MinDistanceKm);
    // Both ends at the precision the state keeps, so the same place is exactly 0 km apart.
    let distance_km = haversine_km(
        f64::from(previous.lat),
        f64::from(previous.lon),
        f64::from(current.lat),
        f64::from(current.lon),
    );
    let elapsed_ms = event.timestamp.abs_diff(previous.ts);
    let speed_kmh = if elapsed_ms == 0 {
        if distance_km > 0.0 {
            f64::INFINITY
        } else {
            0.0
        }
    } else {
        distance_km / (elapsed_ms as f64 / 3_600_000.0)
    };
    if !(distance_km >= min_distance_km && speed_kmh > max_speed_kmh) {
        return;
    }
    if !state.fire_predefined(p, event.timestamp) {
        return;
    }
    let remembered = evidence::remembered_login(previous.ts, previous.lat, previous.lon);
    let events = if previous.ts <= event.timestamp {
        [remembered, evidence::event(event)]
    } else {
        [evidence::event(event), remembered]
    };
    let mut d = evidence::base(p.id(), events);
    d.insert("distance_km".into(), evidence::rounded(distance_km, 3));
    d.insert(
        "elapsed_seconds".into(),
        evidence::rounded(elapsed_ms as f64 / 1000.0, 3),
    );
    d.insert("speed_kmh".into(), evidence::rounded(speed_kmh, 3));
    d.insert("max_speed_kmh".into(), evidence::number(max_speed_kmh));
    d.insert("min_distance_km".into(), evidence::number(min_distance_km));
    emit(out, p, cfg, event, d);
}

fn windowed(
    state: &mut UserState,
    p: Predefined,
    event: &Event,
    config: &AccountBehaviors,
    out: &mut Vec<Detection>,
) {
    let cfg = config.predefined(p);
    let threshold =
        setting(cfg, p, SettingKey::Threshold).clamp(1.0, MAX_WINDOW_LEN as f64) as usize;
    let window_ms = (setting(cfg, p, SettingKey::WindowSeconds).max(0.0) * 1000.0) as i64;
    let ts = event.timestamp;

    let buf = state.window_mut(p);
    if buf.len() > threshold {
        let excess = buf.len() - threshold;
        buf.drain(..excess);
    }
    if buf.len() == threshold && buf.first().is_some_and(|&oldest| ts < oldest) {
        return; // older than everything kept: not counted
    }
    let at = buf.partition_point(|&t| t <= ts);
    buf.insert(at, ts);
    if buf.len() > threshold {
        buf.remove(0);
    }
    let (Some(&first), Some(&last)) = (buf.first(), buf.last()) else {
        return;
    };
    if !(applies(cfg, event) && buf.len() == threshold && last.saturating_sub(first) <= window_ms) {
        return;
    }
    // The counted events are consumed whether or not the quiet rule lets the detection out.
    let quiet_ms = window_ms.unsigned_abs().saturating_add(1);
    let allowed = state.fire_predefined_after(p, ts, quiet_ms);
    let counted = std::mem::take(state.window_mut(p));
    if !allowed {
        return;
    }
    let mut d = evidence::base(p.id(), [evidence::event(event)]);
    d.insert("count".into(), Value::from(counted.len()));
    d.insert("threshold".into(), Value::from(threshold));
    d.insert(
        "window_seconds".into(),
        evidence::number(window_ms as f64 / 1000.0),
    );
    d.insert("first_timestamp".into(), evidence::timestamp(first));
    d.insert("last_timestamp".into(), evidence::timestamp(last));
    d.insert(
        "span_seconds".into(),
        evidence::number(last.saturating_sub(first) as f64 / 1000.0),
    );
    d.insert(
        "timestamps".into(),
        Value::Array(counted.iter().map(|&t| evidence::timestamp(t)).collect()),
    );
    emit(out, p, cfg, event, d);
}

fn posture(
    state: &mut UserState,
    event: &Event,
    provider: PostureProvider,
    active_threats: Option<u32>,
    zta_score: Option<u8>,
    config: &AccountBehaviors,
    out: &mut Vec<Detection>,
) {
    match provider {
        PostureProvider::SentinelOne => {
            let Some(threats) = active_threats.filter(|&n| n > 0) else {
                return;
            };
            let p = Predefined::SentinelOne;
            let cfg = config.predefined(p);
            if applies(cfg, event) && state.fire_predefined(p, event.timestamp) {
                let mut d = evidence::base(p.id(), [evidence::event(event)]);
                d.insert("active_threats".into(), Value::from(threats));
                emit(out, p, cfg, event, d);
            }
        }
        PostureProvider::CrowdStrike => {
            let Some(score) = zta_score else {
                return;
            };
            let score_f = f64::from(score);
            let low = Predefined::CrowdstrikeLowZta;
            let low_cfg = config.predefined(low);
            let low_max = setting(low_cfg, low, SettingKey::MaxScore);
            let (p, cfg, max, above) = if score_f <= low_max {
                (low, low_cfg, low_max, None)
            } else {
                let medium = Predefined::CrowdstrikeMediumZta;
                let medium_cfg = config.predefined(medium);
                let medium_max = setting(medium_cfg, medium, SettingKey::MaxScore);
                if score_f > medium_max {
                    return;
                }
                (medium, medium_cfg, medium_max, Some(low_max))
            };
            if applies(cfg, event) && state.fire_predefined(p, event.timestamp) {
                let mut d = evidence::base(p.id(), [evidence::event(event)]);
                d.insert("zta_score".into(), Value::from(score));
                d.insert("max_score".into(), evidence::number(max));
                if let Some(above) = above {
                    d.insert("above_score".into(), evidence::number(above));
                }
                emit(out, p, cfg, event, d);
            }
        }
    }
}

fn in_family(category: &str, family: Family) -> bool {
    categories::family_of_name(category) == Some(family)
}

fn dns(
    state: &mut UserState,
    event: &Event,
    categories: &[String],
    config: &AccountBehaviors,
    out: &mut Vec<Detection>,
) {
    for (p, family) in [
        (Predefined::SuspiciousSecurityDomain, Family::Security),
        (Predefined::HighRiskDomain, Family::HighRisk),
    ] {
        if !categories.iter().any(|c| in_family(c, family)) {
            continue;
        }
        let cfg = config.predefined(p);
        if applies(cfg, event) && state.fire_predefined(p, event.timestamp) {
            let matched: Vec<Value> = categories
                .iter()
                .filter(|c| in_family(c, family))
                .map(|c| Value::from(c.as_str()))
                .collect();
            let mut d = evidence::base(p.id(), [evidence::event(event)]);
            d.insert("matched_categories".into(), Value::Array(matched));
            emit(out, p, cfg, event, d);
        }
    }
}

fn external(
    state: &mut UserState,
    event: &Event,
    behavior: &BehaviorId,
    config: &AccountBehaviors,
    out: &mut Vec<Detection>,
) {
    let Some(cfg) = config.get(behavior.as_str()) else {
        return;
    };
    if !applies(cfg, event) {
        return;
    }
    let fire = match Predefined::from_id(behavior.as_str()) {
        Some(p) => state.fire_predefined(p, event.timestamp),
        None => state.fire_custom(behavior.as_str(), event.timestamp),
    };
    if !fire {
        return;
    }
    let mut d = evidence::base(behavior.as_str(), [evidence::event(event)]);
    d.insert("source".into(), Value::from("external"));
    out.push(detection(behavior.clone(), cfg, event, d));
}

#[cfg(test)]
mod tests;
