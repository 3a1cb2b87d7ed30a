//! ztrisk's ingest adapters, pure and synchronous: the logs people already have, turned into
//! [`Event`]s with the same meaning as native ones (`spec/api.md` section 5).
//!
//! - [`body`]: what a request body is: gzip or not (bounded, so a decompression bomb is
//!   refused), then a JSON array or NDJSON of records.
//! - [`Source`] and [`map_record`]: one vendor record to events, or skipped (well-formed but
//!   without a signal), or rejected with a pointer to the field at fault. Each vendor's mapping
//!   table is one module under `adapters/`: Cloudflare Logpush, Okta System Log, OCSF.
//! - [`Locator`]: coordinates for logins that have none, from a GeoIP database ([`geoip`]) or
//!   else the centroid of the record's country ([`centroids`]).
//!
//! Nothing here does IO beyond reading a GeoIP file at startup.

mod adapters;
pub mod body;
pub mod centroids;
mod fields;
pub mod geoip;
pub mod locate;
pub mod record;
pub mod time;

pub use adapters::{Dataset, Source, map_record, okta_hook_events};
pub use geoip::GeoIp;
pub use locate::Locator;
use ztrisk_core::events::Event;

/// What one well-formed record gives.
///
/// `One` is as large as an [`Event`] on purpose: it is nearly every record, and it moves into
/// the batch without the allocation a box would cost per record.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Mapped {
    /// The usual case: one event.
    One(Event),
    /// A record that carries several signals (a Gateway HTTP request that matched two DLP
    /// profiles and a malware verdict); never empty.
    Many(Vec<Event>),
    /// Well-formed but carrying no signal: a logout, a DNS query in no scored category, a
    /// record without a user email, an OCSF class other than Authentication.
    Skipped,
}

impl Mapped {
    /// The events, in record order.
    pub fn into_events(self) -> Vec<Event> {
        match self {
            Mapped::One(event) => vec![event],
            Mapped::Many(events) => events,
            Mapped::Skipped => Vec::new(),
        }
    }
}
