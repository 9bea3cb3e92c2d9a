//! Stage 1: the suite natively.

use crate::util::{self, Result};

/// The optional features the native suite turns on.
const FEATURES: &str = "anyloop/hyper,anyloop/tracing";

pub(crate) fn test() -> Result<String> {
    // `hyper` and `tracing` are optional features: on here so that their
    // recipes and tests (tests/tracing.rs) run too.
    println!("\n== native: cargo test --workspace --features {FEATURES} ==");
    let out =
        util::run_capture(util::cargo().args(["test", "--workspace", "--features", FEATURES]))?;
    let (p, f, i) = util::count_tests(&out);
    Ok(format!("native: {p} passed, {f} failed, {i} ignored"))
}
