//! Okta System Log events (LogEvent objects), from an event hook or an export
//! (`spec/api.md` 5.2).
//!
//! | LogEvent field | event field |
//! |---|---|
//! | `eventType` `user.session.start`, `user.authentication.sso`, `user.authentication.auth_via_mfa`, `user.authentication.verify` | `access_login` (other types skipped) |
//! | `outcome.result` `SUCCESS` / `FAILURE` | `success` true / false (others, e.g. `CHALLENGE`, skipped) |
//! | `uuid` | `id` |
//! | `published` | `timestamp` |
//! | `actor.alternateId` | `user.email` (not an email: skipped) |
//! | `actor.id` | the user's external id, kept in the evidence |
//! | `actor.displayName` | `user.name` |
//! | `client.ipAddress` | `ip` |
//! | `client.geographicalContext.geolocation.{lat,lon}`, `.city`, `.country` | `location` (else GeoIP by IP) |
//! | the `target` of type `AppInstance`: `displayName` | `app` |

use super::Login;
use crate::fields::{self, Fields, digest_id, fit_id};
use crate::{Locator, Mapped, locate};
use serde_json::Value;
use ztrisk_core::FieldError;
use ztrisk_core::events::Location;

/// The sign-in event types that become logins.
const LOGIN_TYPES: [&str; 4] = [
    "user.session.start",
    "user.authentication.sso",
    "user.authentication.auth_via_mfa",
    "user.authentication.verify",
];

/// The LogEvents of an event hook delivery (`{"data": {"events": [...]}}`); `Err` gives the
/// value back when it is not one (then it is a single LogEvent).
pub fn hook_events(body: Value) -> Result<Vec<Value>, Value> {
    match body {
        Value::Object(mut obj) => match obj.get_mut("data").and_then(|d| d.get_mut("events")) {
            Some(Value::Array(events)) => Ok(std::mem::take(events)),
            _ => Err(Value::Object(obj)),
        },
        other => Err(other),
    }
}

/// The LogEvent fields the mapping reads (`debugContext`, `securityContext`, `request` and the
/// rest are skipped as they are parsed).
pub(super) const FIELDS: &[&str] = &[
    "actor",
    "client",
    "eventType",
    "outcome",
    "published",
    "target",
    "uuid",
];

pub(super) fn map(record: &Value, locator: &Locator<'_>) -> Result<Mapped, Vec<FieldError>> {
    let mut f = Fields::of(record, "one Okta LogEvent")?;
    let event_type = f.str(&["eventType"]);
    if !event_type.is_some_and(|t| LOGIN_TYPES.contains(&t)) {
        return f.finish(Some(Mapped::Skipped));
    }
    let success = match f.str(&["outcome", "result"]) {
        Some(r) if r.eq_ignore_ascii_case("SUCCESS") => true,
        Some(r) if r.eq_ignore_ascii_case("FAILURE") => false,
        _ => return f.finish(Some(Mapped::Skipped)),
    };
    let email = f.str(&["actor", "alternateId"]);
    let actor_id = f.str(&["actor", "id"]);
    let name = f.str(&["actor", "displayName"]);
    let Some(user) = fields::user(email, actor_id, name) else {
        return f.finish(Some(Mapped::Skipped));
    };
    let timestamp = f.timestamp(&["published"]);
    let id = match f.str(&["uuid"]) {
        Some(id) => fit_id(id.to_owned()),
        None => digest_id("okta", &[record.to_string().as_bytes()]),
    };
    let ip = f.ip(&["client", "ipAddress"]);
    let location = reported_location(&mut f).or_else(|| locator.by_ip(ip));
    let app = app_instance(&f);
    let login = Login {
        id,
        user,
        success,
        ip,
        location,
        app,
    };
    let event = timestamp.map(|timestamp| login.at(timestamp));
    f.finish(event).map(Mapped::One)
}

/// Okta's own geolocation of the client, when it has coordinates in range.
fn reported_location(f: &mut Fields<'_>) -> Option<Location> {
    const GEO: [&str; 2] = ["client", "geographicalContext"];
    let lat = f.get(&[GEO[0], GEO[1], "geolocation", "lat"])?.as_f64()?;
    let lon = f.get(&[GEO[0], GEO[1], "geolocation", "lon"])?.as_f64()?;
    let country = f.str(&[GEO[0], GEO[1], "country"]);
    locate::reported(lat, lon, country, f.str(&[GEO[0], GEO[1], "city"]))
}

/// The application signed in to: the `AppInstance` among the targets.
fn app_instance(f: &Fields<'_>) -> Option<String> {
    let targets = f.get(&["target"])?.as_array()?;
    let app = targets
        .iter()
        .find(|t| t.get("type").and_then(Value::as_str) == Some("AppInstance"))?;
    ["displayName", "alternateId"]
        .iter()
        .find_map(|key| app.get(*key)?.as_str().filter(|s| !s.is_empty()))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests;
