//! One behavior's settings object: thresholds and detection controls, in a PUT and as stored (see fuzz/src/lib.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ztrisk_fuzz::settings(data));
