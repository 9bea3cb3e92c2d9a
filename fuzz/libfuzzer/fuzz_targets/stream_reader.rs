//! libFuzzer entry point of `anyloop_fuzz::stream_reader` (see fuzz/src/lib.rs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| anyloop_fuzz::stream_reader(data));
