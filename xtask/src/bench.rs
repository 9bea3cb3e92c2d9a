//! `cargo xtask bench`: side-by-side benchmarks vs tokio and smol.

use crate::util::{self, Result};

pub(crate) fn run(hosts: &[String]) -> Result<()> {
    let _ = hosts;
    util::run(util::cargo().args(["bench", "--bench", "runtime"]))
}
