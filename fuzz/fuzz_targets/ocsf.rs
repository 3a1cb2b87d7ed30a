//! OCSF bodies, a JSON array or NDJSON (see fuzz/src/lib.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ztrisk_fuzz::ingest(ztrisk_ingest::Source::Ocsf, data));
