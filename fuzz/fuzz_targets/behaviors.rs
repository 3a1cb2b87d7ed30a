//! PUT /behaviors bodies (see fuzz/src/lib.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ztrisk_fuzz::behaviors(data));
