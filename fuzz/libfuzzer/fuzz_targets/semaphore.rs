//! libFuzzer entry point of `anyloop_fuzz::semaphore` (see fuzz/src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| anyloop_fuzz::semaphore(data));
