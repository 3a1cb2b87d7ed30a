//! Cloudflare Logpush `device_posture_results` bodies (NDJSON, as Logpush posts them; see fuzz/src/lib.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ztrisk_fuzz::ingest(
        ztrisk_ingest::Source::Cloudflare(ztrisk_ingest::Dataset::DevicePostureResults),
        data,
    )
});
