//! Stage 1: the suite natively.

use crate::util::{self, Result};

pub(crate) fn test() -> Result<String> {
    // `hyper` is an optional feature: on here so its recipes run too.
    println!("\n== native: cargo test --workspace --features anyloop/hyper ==");
    let out = util::run_capture(util::cargo().args([
        "test",
        "--workspace",
        "--features",
        "anyloop/hyper",
    ]))?;
    let (p, f, i) = util::count_tests(&out);
    Ok(format!("native: {p} passed, {f} failed, {i} ignored"))
}
