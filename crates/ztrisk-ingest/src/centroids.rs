//! Where a country is, roughly: one point per ISO 3166-1 alpha-2 code, for logins whose record
//! names a country but has no coordinates (Cloudflare Access's `Country`) when ztrisk has no
//! GeoIP database.
//!
//! The table (`country_centroids.csv`: `iso2,lat,lon,name`) is computed from Natural Earth's
//! 1:10m Admin 0 countries (public domain; "Made with Natural Earth"), as redistributed in the
//! npm package world-atlas 2.0.2: the planar centroid of each country's largest polygon, so
//! the United States is the contiguous states and France is metropolitan France. How it was
//! made is in `docs/research/ingest-adapters.md` section 4.
//!
//! A centroid cannot tell two places in one country apart: two logins located this way in the
//! same country are 0 km apart, so impossible travel within a country is not seen.

use std::sync::OnceLock;

const TABLE: &str = include_str!("country_centroids.csv");

/// One country's point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Centroid {
    /// Upper case, e.g. `US`.
    pub code: [u8; 2],
    pub lat: f64,
    pub lon: f64,
}

impl Centroid {
    /// The code as text (`"US"`).
    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.code).unwrap_or_default()
    }
}

fn table() -> &'static [Centroid] {
    static TABLE_ROWS: OnceLock<Vec<Centroid>> = OnceLock::new();
    TABLE_ROWS.get_or_init(|| {
        let mut rows: Vec<Centroid> = TABLE.lines().skip(1).filter_map(row).collect();
        rows.sort_by_key(|c| c.code);
        rows
    })
}

/// `iso2,lat,lon,name` (the name may be quoted and hold commas; it is not needed here).
fn row(line: &str) -> Option<Centroid> {
    let mut fields = line.splitn(4, ',');
    let code = fields.next()?.as_bytes();
    let lat = fields.next()?.parse().ok()?;
    let lon = fields.next()?.parse().ok()?;
    Some(Centroid {
        code: [*code.first()?, *code.get(1)?],
        lat,
        lon,
    })
}

/// The centroid of the country with this alpha-2 code, in any case (Logpush writes `us`).
/// `None` for anything else, including Cloudflare's `XX` (unknown) and `T1` (Tor).
pub fn of(code: &str) -> Option<Centroid> {
    let code = code.trim().as_bytes();
    let [a, b] = code else {
        return None;
    };
    let key = [a.to_ascii_uppercase(), b.to_ascii_uppercase()];
    let rows = table();
    rows.binary_search_by_key(&key, |c| c.code)
        .ok()
        .map(|i| rows[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_reads_and_is_a_place_on_earth() {
        let rows = table();
        assert_eq!(rows.len(), TABLE.lines().count() - 1, "a row did not parse");
        assert!(rows.len() >= 249);
        for c in rows {
            assert!(c.code.iter().all(u8::is_ascii_uppercase), "{c:?}");
            assert!(
                (-90.0..=90.0).contains(&c.lat) && (-180.0..=180.0).contains(&c.lon),
                "{c:?}"
            );
        }
        assert!(
            rows.windows(2).all(|w| w[0].code < w[1].code),
            "codes repeat"
        );
    }

    #[test]
    fn lookups_ignore_case_and_know_only_countries() {
        let us = of("us").unwrap_or_else(|| panic!("US"));
        assert_eq!(us.code(), "US");
        // The contiguous United States, somewhere in Kansas.
        assert!(
            (us.lat - 39.5).abs() < 1.0 && (us.lon + 99.1).abs() < 1.0,
            "{us:?}"
        );
        assert_eq!(of(" FR ").map(|c| c.code), Some(*b"FR"));
        assert!(of("BQ").is_some(), "a quoted name with a comma");
        for unknown in ["XX", "T1", "", "U", "USA", "zz"] {
            assert_eq!(of(unknown), None, "{unknown}");
        }
    }
}
