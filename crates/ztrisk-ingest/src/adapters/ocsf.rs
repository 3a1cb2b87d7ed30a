//! OCSF events (`spec/api.md` 5.3): Authentication (`class_uid` 3002) becomes a login; every
//! other class is skipped.
//!
//! | OCSF attribute | event field |
//! |---|---|
//! | `activity_id` 1 Logon (also 0 Unknown, 99 Other, or absent) | a login; 2 Logoff and the Kerberos ticket activities 3–7 are skipped |
//! | `status_id` 1 / 2 (else `status` "Success" / "Failure") | `success` true / false (others skipped) |
//! | `metadata.uid` | `id` |
//! | `time` (epoch ms; seconds from some mappers, told apart by size), else `time_dt` | `timestamp` |
//! | `user.email_addr`, else `user.name` when it is an email, else the same in `actor.user` | `user.email` (none: skipped) |
//! | `user.uid` | the user's id (a UUID) or external id |
//! | `user.full_name` | `user.name` |
//! | `src_endpoint.ip` | `ip` |
//! | `src_endpoint.location.{lat,long}` (OCSF ≥ 1.2), else `.coordinates` `[lon, lat]` (1.0, 1.1); `city`, `country` | `location`; else GeoIP by IP, else the centroid of `country` (alpha-2) |
//! | `service.name`, else `dst_endpoint.svc_name` | `app` |

use super::Login;
use crate::fields::{self, Fields, digest_id, fit_id};
use crate::{Locator, Mapped, locate};
use serde_json::Value;
use ztrisk_core::FieldError;
use ztrisk_core::credentials::is_email_shaped;
use ztrisk_core::events::Location;

const AUTHENTICATION: u64 = 3002;

/// The attributes the mapping reads.
pub(super) const FIELDS: &[&str] = &[
    "activity_id",
    "actor",
    "class_uid",
    "dst_endpoint",
    "metadata",
    "service",
    "src_endpoint",
    "status",
    "status_id",
    "time",
    "time_dt",
    "user",
];

pub(super) fn map(record: &Value, locator: &Locator<'_>) -> Result<Mapped, Vec<FieldError>> {
    let mut f = Fields::of(record, "one OCSF event")?;
    match f.get(&["class_uid"]).and_then(fields::uint) {
        Some(AUTHENTICATION) => {}
        Some(_) => return f.finish(Some(Mapped::Skipped)),
        None => {
            f.error(
                &["class_uid"],
                "is required: the OCSF event class, an integer",
            );
            return f.finish(None);
        }
    }
    let activity = f.get(&["activity_id"]).and_then(fields::uint);
    if !matches!(activity, None | Some(0 | 1 | 99)) {
        return f.finish(Some(Mapped::Skipped));
    }
    let status = f.get(&["status_id"]).and_then(fields::uint);
    let success = match status {
        Some(1) => true,
        Some(2) => false,
        Some(_) => return f.finish(Some(Mapped::Skipped)),
        None => match f.str(&["status"]) {
            Some(s) if s.eq_ignore_ascii_case("success") => true,
            Some(s) if s.eq_ignore_ascii_case("failure") => false,
            _ => return f.finish(Some(Mapped::Skipped)),
        },
    };
    let Some(user) = user(&mut f) else {
        return f.finish(Some(Mapped::Skipped));
    };
    let timestamp = match f.get(&["time"]) {
        Some(_) => f.timestamp(&["time"]),
        None => f.timestamp(&["time_dt"]),
    };
    let id = match f.str(&["metadata", "uid"]) {
        Some(id) => fit_id(id.to_owned()),
        None => digest_id("ocsf", &[record.to_string().as_bytes()]),
    };
    let ip = f.ip(&["src_endpoint", "ip"]);
    let country = f.str(&["src_endpoint", "location", "country"]);
    let location = reported_location(&mut f).or_else(|| locator.by_ip_or_country(ip, country));
    let app = f
        .str(&["service", "name"])
        .or_else(|| f.str(&["dst_endpoint", "svc_name"]))
        .map(str::to_owned);
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

/// The first email among the places OCSF producers put it (the Okta mapper fills `user`,
/// CloudTrail's only `actor.user`).
fn user(f: &mut Fields<'_>) -> Option<ztrisk_core::events::UserRef> {
    for who in [&["user"][..], &["actor", "user"][..]] {
        let at = |key: &'static str| [who, &[key][..]].concat();
        let email = f
            .str(&at("email_addr"))
            .or_else(|| f.str(&at("name")).filter(|n| is_email_shaped(n)));
        if email.is_some() {
            let uid = f.str(&at("uid"));
            let name = f.str(&at("full_name"));
            return fields::user(email, uid, name);
        }
    }
    None
}

/// The source endpoint's coordinates: `lat`/`long` (OCSF 1.2 and later), else GeoJSON-ordered
/// `coordinates` `[lon, lat]` (1.0 and 1.1).
fn reported_location(f: &mut Fields<'_>) -> Option<Location> {
    const LOC: [&str; 2] = ["src_endpoint", "location"];
    let number = |f: &Fields<'_>, key: &str| f.get(&[LOC[0], LOC[1], key])?.as_f64();
    let (lat, lon) = match (number(f, "lat"), number(f, "long")) {
        (Some(lat), Some(lon)) => (lat, lon),
        _ => {
            let pair = f.get(&[LOC[0], LOC[1], "coordinates"])?.as_array()?;
            (pair.get(1)?.as_f64()?, pair.first()?.as_f64()?)
        }
    };
    let country = f.str(&[LOC[0], LOC[1], "country"]);
    locate::reported(lat, lon, country, f.str(&[LOC[0], LOC[1], "city"]))
}

#[cfg(test)]
mod tests;
