//! Stage 1: the suite natively.

use crate::util::{self, Result};

pub(crate) fn test() -> Result<String> {
    println!("\n== native: cargo test --workspace ==");
    let out = util::run_capture(util::cargo().args(["test", "--workspace"]))?;
    let (p, f, i) = util::count_tests(&out);
    Ok(format!("native: {p} passed, {f} failed, {i} ignored"))
}
