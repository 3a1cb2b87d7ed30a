//! Cloudflare Logpush `gateway_http` bodies (NDJSON, as Logpush posts them; see fuzz/src/lib.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ztrisk_fuzz::ingest(
        ztrisk_ingest::Source::Cloudflare(ztrisk_ingest::Dataset::GatewayHttp),
        data,
    )
});
