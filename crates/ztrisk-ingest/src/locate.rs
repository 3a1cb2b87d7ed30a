//! Coordinates for logins whose record has none.

use crate::centroids;
use crate::geoip::GeoIp;
use std::net::IpAddr;
use ztrisk_core::events::{Location, LocationSource};

/// Coordinates the record itself carried, when they are in range (a vendor's `0, 0` or
/// garbage gives no location rather than a wrong one far away).
pub(crate) fn reported(
    lat: f64,
    lon: f64,
    country: Option<&str>,
    city: Option<&str>,
) -> Option<Location> {
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then(|| Location {
        lat,
        lon,
        country: country.map(str::to_owned),
        city: city.map(str::to_owned),
        source: LocationSource::Sender,
    })
}

/// Finds a login's location: the GeoIP database first (`--geoip`), then, when the record names
/// its country, that country's centroid.
#[derive(Debug, Clone, Copy, Default)]
pub struct Locator<'a> {
    geoip: Option<&'a GeoIp>,
}

impl<'a> Locator<'a> {
    pub fn new(geoip: Option<&'a GeoIp>) -> Self {
        Self { geoip }
    }

    /// By IP only (native events and records with no country).
    pub fn by_ip(&self, ip: Option<IpAddr>) -> Option<Location> {
        self.geoip?.locate(ip?)
    }

    /// By IP, else at the centroid of `country` (an ISO 3166-1 alpha-2 code).
    pub fn by_ip_or_country(&self, ip: Option<IpAddr>, country: Option<&str>) -> Option<Location> {
        self.by_ip(ip).or_else(|| {
            let centroid = centroids::of(country?)?;
            Some(Location {
                lat: centroid.lat,
                lon: centroid.lon,
                country: Some(centroid.code().to_owned()),
                city: None,
                source: LocationSource::CountryCentroid,
            })
        })
    }
}
