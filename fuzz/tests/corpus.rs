//! The fuzz targets on a deterministic corpus of pseudo-random inputs:
//! the bounded run of `cargo test` / `cargo xtask test` (no nightly, no
//! libFuzzer). `ANYLOOP_FUZZ_CASES=N` changes the number of inputs per
//! target and `ANYLOOP_FUZZ_SEED=S` the corpus; a failure names the case
//! and the input bytes, which `cargo xtask fuzz TARGET` can replay.

/// splitmix64: a tiny, well-mixed deterministic generator.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `target` on `cases` inputs of 0..=max_len bytes.
fn corpus(name: &str, target: fn(&[u8]), default_cases: u64, max_len: usize) {
    let cases = env("ANYLOOP_FUZZ_CASES", default_cases);
    let seed = env("ANYLOOP_FUZZ_SEED", 0x0061_6e79_6c6f_6f70);
    let mut rng = SplitMix(seed ^ name.len() as u64);
    let mut input = Vec::with_capacity(max_len);
    for case in 0..cases {
        input.clear();
        let len = (rng.next() % (max_len as u64 + 1)) as usize;
        while input.len() < len {
            input.extend_from_slice(&rng.next().to_le_bytes());
        }
        input.truncate(len);
        let res = std::panic::catch_unwind(|| target(&input));
        if let Err(panic) = res {
            eprintln!("{name}: case {case} (seed {seed:#x}) failed on input {input:?}");
            std::panic::resume_unwind(panic);
        }
    }
}

#[test]
fn stream_reader_corpus() {
    corpus("stream_reader", anyloop_fuzz::stream_reader, 20_000, 1024);
}

#[test]
fn queue_corpus() {
    corpus("queue", anyloop_fuzz::queue, 20_000, 512);
}

#[test]
fn semaphore_corpus() {
    corpus("semaphore", anyloop_fuzz::semaphore, 20_000, 512);
}
