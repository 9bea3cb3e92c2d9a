//! `cargo xtask loom` and `cargo xtask miri`: the model checker on the
//! core's cross-thread paths and the UB checker on the core.
//!
//! - loom: `RUSTFLAGS="--cfg loom" cargo test --release -p anyloop-core
//!   --test loom` in its own target directory (`target/loom`, so the
//!   normal build is not invalidated), with `LOOM_MAX_PREEMPTIONS`
//!   (default 2 in `cargo xtask test`, 3 for `cargo xtask loom`; pass
//!   `--preemptions N` for deeper runs). Runs on the stable toolchain.
//! - miri: `MIRIFLAGS=-Zmiri-disable-isolation cargo +nightly miri test
//!   -p anyloop-core --lib` (nightly with the miri component).

use crate::fuzz::nightly_cargo;
use crate::util::{self, Result};

/// The bounded loom run of `cargo xtask test`.
pub(crate) const TEST_PREEMPTIONS: u32 = 2;

pub(crate) fn loom(preemptions: u32) -> Result<String> {
    println!("\n== loom: core/tests/loom.rs, LOOM_MAX_PREEMPTIONS={preemptions} ==");
    let target = util::root().join("target").join("loom");
    let out = util::run_capture(
        util::cargo()
            .args(["test", "--release", "-p", "anyloop-core", "--test", "loom"])
            .env("RUSTFLAGS", "--cfg loom")
            .env("CARGO_TARGET_DIR", target)
            .env("LOOM_MAX_PREEMPTIONS", preemptions.to_string()),
    )?;
    let (p, f, i) = util::count_tests(&out);
    Ok(format!(
        "loom (max {preemptions} preemptions): {p} passed, {f} failed, {i} ignored"
    ))
}

pub(crate) fn miri() -> Result<String> {
    let Some(mut cargo) = nightly_cargo() else {
        return Err("cargo xtask miri needs the nightly toolchain with miri: \
             rustup toolchain install nightly --component miri rust-src"
            .into());
    };
    println!("\n== miri: anyloop-core unit tests (nightly) ==");
    let out = util::run_capture(
        cargo
            .args(["miri", "test", "-p", "anyloop-core", "--lib"])
            .env("MIRIFLAGS", "-Zmiri-disable-isolation"),
    )?;
    let (p, f, i) = util::count_tests(&out);
    Ok(format!(
        "miri (anyloop-core --lib): {p} passed, {f} failed, {i} ignored"
    ))
}

/// Parses `[--preemptions N]`.
pub(crate) fn loom_args(args: &[String]) -> Result<u32> {
    match args {
        [] => Ok(3),
        [flag, n] if flag == "--preemptions" => n
            .parse()
            .map_err(|_| "--preemptions takes a number".to_string()),
        _ => Err("usage: cargo xtask loom [--preemptions N]".into()),
    }
}
