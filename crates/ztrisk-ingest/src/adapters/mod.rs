//! The sources ztrisk reads, and the one entry point that maps a record of any of them.

mod logpush;
mod ocsf;
mod okta;
#[cfg(test)]
mod test_support;

use crate::{Locator, Mapped};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;
use ztrisk_core::FieldError;
use ztrisk_core::events::{Event, EventKind};

pub use okta::hook_events as okta_hook_events;

/// A Cloudflare Logpush dataset ztrisk reads (`spec/api.md` 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dataset {
    AccessRequests,
    GatewayDns,
    GatewayHttp,
    DevicePostureResults,
}

impl Dataset {
    pub const ALL: [Dataset; 4] = [
        Dataset::AccessRequests,
        Dataset::GatewayDns,
        Dataset::GatewayHttp,
        Dataset::DevicePostureResults,
    ];

    /// Cloudflare's name for it, as in a Logpush job and ztrisk's path.
    pub fn name(self) -> &'static str {
        match self {
            Dataset::AccessRequests => "access_requests",
            Dataset::GatewayDns => "gateway_dns",
            Dataset::GatewayHttp => "gateway_http",
            Dataset::DevicePostureResults => "device_posture_results",
        }
    }
}

impl FromStr for Dataset {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Dataset::ALL.into_iter().find(|d| d.name() == s).ok_or(())
    }
}

/// Where records come from, which decides how they are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// ztrisk's own events (`POST /events`).
    Native,
    Cloudflare(Dataset),
    /// Okta System Log events (LogEvent objects), from an event hook or an export.
    Okta,
    Ocsf,
}

impl Source {
    /// The top-level fields its mapping reads, so that parsing can skip the others
    /// (`None`: native events are read whole).
    pub fn fields(self) -> crate::record::Keep {
        match self {
            Source::Native => None,
            Source::Cloudflare(dataset) => Some(logpush::fields(dataset)),
            Source::Okta => Some(okta::FIELDS),
            Source::Ocsf => Some(ocsf::FIELDS),
        }
    }

    /// Every source, for help texts and tests.
    pub fn all() -> impl Iterator<Item = Source> {
        [Source::Native, Source::Okta, Source::Ocsf]
            .into_iter()
            .chain(Dataset::ALL.map(Source::Cloudflare))
    }
}

/// `ztrisk`, `cloudflare/<dataset>`, `okta`, `ocsf`: the names `events import --format` takes.
impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Native => f.write_str("ztrisk"),
            Source::Cloudflare(d) => write!(f, "cloudflare/{}", d.name()),
            Source::Okta => f.write_str("okta"),
            Source::Ocsf => f.write_str("ocsf"),
        }
    }
}

impl FromStr for Source {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Source::all()
            .find(|source| source.to_string() == s)
            .ok_or_else(|| {
                let names: Vec<String> = Source::all().map(|s| s.to_string()).collect();
                format!("unknown format {s:?}: expected one of {}", names.join(", "))
            })
    }
}

/// Maps one record of `source`. Pointers in the errors are relative to the record.
pub fn map_record(
    source: Source,
    record: &Value,
    locator: &Locator<'_>,
) -> Result<Mapped, Vec<FieldError>> {
    match source {
        Source::Native => native(record, locator),
        Source::Cloudflare(dataset) => logpush::map(dataset, record, locator),
        Source::Okta => okta::map(record, locator),
        Source::Ocsf => ocsf::map(record, locator),
    }
}

/// A login as a vendor record describes it; [`Login::at`] makes it an event once its time is
/// known.
pub(super) struct Login {
    pub id: String,
    pub user: ztrisk_core::events::UserRef,
    pub success: bool,
    pub ip: Option<std::net::IpAddr>,
    pub location: Option<ztrisk_core::events::Location>,
    pub app: Option<String>,
}

impl Login {
    pub(super) fn at(self, timestamp: i64) -> Event {
        Event {
            id: Some(self.id),
            timestamp,
            user: self.user,
            kind: EventKind::AccessLogin {
                success: self.success,
                ip: self.ip,
                location: self.location,
                app: self.app,
            },
        }
    }
}

/// A native event: validated as `POST /events` always did, and located by IP when it has no
/// location and ztrisk has a GeoIP database.
fn native(record: &Value, locator: &Locator<'_>) -> Result<Mapped, Vec<FieldError>> {
    let mut event = Event::parse(record)?;
    if let EventKind::AccessLogin { ip, location, .. } = &mut event.kind
        && location.is_none()
    {
        *location = locator.by_ip(*ip);
    }
    Ok(Mapped::One(event))
}
