//! libFuzzer entry point of `anyloop_fuzz::queue` (see fuzz/src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| anyloop_fuzz::queue(data));
