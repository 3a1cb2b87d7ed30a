//! Where the Logpush path spends its time next to native events, per record, on one core:
//! `cargo bench -p ztrisk-ingest --bench adapters`. Figures are relative to the native parse
//! measured in the same run.

use serde_json::{Value, json};
use std::hint::black_box;
use std::io::Write;
use std::time::Instant;
use ztrisk_ingest::body::{self, Encoding, Layout, Records};
use ztrisk_ingest::{Dataset, Locator, Source, map_record};

const N: usize = 100_000;
const LIMIT: usize = 1 << 30;

fn dns_record(i: usize) -> Value {
    json!({"ColoCode": "SJC", "Datetime": 1_795_168_800_000_000_000u64 + i as u64 * 10_000_000,
           "DeviceID": "083a8354-d56c-11ed-9771-6a842b100cff", "Email": format!("user{}@example.com", i % 1000),
           "Location": "Office", "PolicyID": "", "QueryCategoryIDs": [26, 155, 169],
           "QueryCategoryNames": ["Technology", "Technology", "New Domains"], "QueryID": format!("q-{i}"),
           "QueryName": format!("site{}.example", i % 1000), "QueryType": 1, "QueryTypeName": "A", "RCode": 0,
           "ResolverDecision": "allowedOnNoPolicyMatch", "SrcIP": "198.51.100.7"})
}

fn native_event(i: usize) -> Value {
    json!({"id": format!("q-{i}"), "type": "gateway_dns", "timestamp": "2026-11-20T10:00:00.010Z",
           "user": {"email": format!("user{}@example.com", i % 1000)}, "query": format!("site{}.example", i % 1000),
           "categories": ["Technology", "Technology", "New Domains"], "action": "allowedOnNoPolicyMatch"})
}

fn ndjson(f: fn(usize) -> Value) -> Vec<u8> {
    (0..N)
        .map(|i| format!("{}\n", f(i)))
        .collect::<String>()
        .into_bytes()
}

/// Nanoseconds per record of `f` over the whole body, best of three.
fn time(label: &str, baseline: Option<f64>, mut f: impl FnMut() -> usize) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        let n = black_box(f());
        best = best.min(start.elapsed().as_nanos() as f64 / n.max(1) as f64);
    }
    match baseline {
        Some(b) => println!(
            "{label:<44} {best:>8.0} ns/record  {:>5.2}x native parse+map",
            best / b
        ),
        None => println!("{label:<44} {best:>8.0} ns/record  (baseline)"),
    }
    best
}

fn main() {
    let native = ndjson(native_event);
    let logpush = ndjson(dns_record);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&logpush).unwrap_or_else(|e| panic!("{e}"));
    let gz = gz.finish().unwrap_or_else(|e| panic!("{e}"));
    let locator = Locator::default();
    let map_all = |bytes: &[u8], source: Source| {
        Records::new(bytes, Layout::NdJson, source.fields())
            .map(|records| {
                records
                    .filter(|r| {
                        r.as_ref()
                            .is_ok_and(|v| map_record(source, v, &locator).is_ok())
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    println!(
        "{N} gateway_dns records: native {} bytes, Logpush {} bytes, {} gzipped",
        native.len(),
        logpush.len(),
        gz.len()
    );
    let base = time("native: parse + map", None, || {
        map_all(&native, Source::Native)
    });
    time("logpush: gunzip", Some(base), || {
        body::decode(&gz, Encoding::Gzip, LIMIT)
            .map(|_| N)
            .unwrap_or(0)
    });
    time("logpush: parse JSON only", Some(base), || {
        Records::new(
            &logpush,
            Layout::NdJson,
            Source::Cloudflare(Dataset::GatewayDns).fields(),
        )
        .map(|r| r.filter(Result::is_ok).count())
        .unwrap_or(0)
    });
    time("logpush: parse + map", Some(base), || {
        map_all(&logpush, Source::Cloudflare(Dataset::GatewayDns))
    });
    time("logpush: gunzip + parse + map", Some(base), || {
        body::decode(&gz, Encoding::Gzip, LIMIT)
            .map(|b| map_all(&b, Source::Cloudflare(Dataset::GatewayDns)))
            .unwrap_or(0)
    });
}
