//! `cargo xtask fuzz [TARGET...] [--time SECS] [--jobs N]`: long fuzzing
//! runs of `fuzz/src/lib.rs` under libFuzzer (nightly: coverage
//! instrumentation and AddressSanitizer, as cargo-fuzz builds them).
//!
//! The crate is `fuzz/libfuzzer` (cargo-fuzz layout; `cargo fuzz run
//! TARGET --fuzz-dir fuzz/libfuzzer` works too where cargo-fuzz is
//! installed). Corpora grow in `fuzz/libfuzzer/corpus/TARGET`, crashes land
//! in `fuzz/libfuzzer/artifacts/TARGET`; `cargo xtask fuzz TARGET --replay
//! FILE` runs one input again. Without a nightly toolchain it falls back to
//! the stable corpus harness (`fuzz/tests/corpus.rs`) with many more cases.
//!
//! The bounded run inside `cargo xtask test` is that stable harness, part
//! of `cargo test --workspace` (20,000 inputs per target).

use std::process::Command;

use crate::util::{self, Result};

/// The targets, as named in `fuzz/libfuzzer/Cargo.toml`.
pub(crate) const TARGETS: [&str; 3] = ["stream_reader", "queue", "semaphore"];

const HOST_TRIPLE: &str = "x86_64-unknown-linux-gnu";

/// `cargo` of the nightly toolchain, or `None` when it is not installed.
pub(crate) fn nightly_cargo() -> Option<Command> {
    let ok = Command::new("rustup")
        .args(["run", "nightly", "cargo", "--version"])
        .env_remove("RUSTUP_TOOLCHAIN")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        return None;
    }
    let mut c = Command::new("rustup");
    c.args(["run", "nightly", "cargo"])
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .current_dir(util::root());
    Some(c)
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let mut targets = Vec::new();
    let mut secs = 300u64;
    let mut jobs = 1u64;
    let mut replay = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--time" => {
                secs = value("--time")?
                    .parse()
                    .map_err(|_| "--time takes seconds".to_string())?
            }
            "--jobs" => {
                jobs = value("--jobs")?
                    .parse()
                    .map_err(|_| "--jobs takes a number".to_string())?
            }
            "--replay" => replay = Some(value("--replay")?),
            t if TARGETS.contains(&t) => targets.push(t.to_string()),
            other => {
                return Err(format!(
                    "unknown fuzz argument {other:?} (targets: {})",
                    TARGETS.join(", ")
                ))
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| t.to_string()).collect();
    }

    let Some(mut cargo) = nightly_cargo() else {
        println!(
            "xtask fuzz: no nightly toolchain (rustup toolchain install nightly); \
             running the stable corpus harness instead"
        );
        let cases = (secs * 2_000).to_string();
        return util::run(
            util::cargo()
                .args([
                    "test",
                    "--release",
                    "-p",
                    "anyloop-fuzz",
                    "--test",
                    "corpus",
                ])
                .env("ANYLOOP_FUZZ_CASES", cases),
        );
    };
    let dir = util::root().join("fuzz/libfuzzer");
    let flags = [
        "-Cpasses=sancov-module",
        "-Cllvm-args=-sanitizer-coverage-level=4",
        "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
        "-Cllvm-args=-sanitizer-coverage-pc-table",
        "-Cllvm-args=-sanitizer-coverage-trace-compares",
        "--cfg=fuzzing",
        "-Zsanitizer=address",
        "-Cdebug-assertions",
        "-Coverflow-checks",
    ]
    .join(" ");
    println!(
        "\n== fuzz: building {} (nightly, libFuzzer + ASan) ==",
        targets.join(", ")
    );
    util::run(
        cargo
            .args([
                "build",
                "--release",
                "--target",
                HOST_TRIPLE,
                "--manifest-path",
            ])
            .arg(dir.join("Cargo.toml"))
            .args(targets.iter().flat_map(|t| ["--bin", t.as_str()]))
            .env("RUSTFLAGS", flags),
    )?;
    let bin_dir = dir.join("target").join(HOST_TRIPLE).join("release");
    for t in &targets {
        let mut cmd = Command::new(bin_dir.join(t));
        cmd.current_dir(&dir);
        if let Some(file) = &replay {
            cmd.arg(file);
        } else {
            let corpus = dir.join("corpus").join(t);
            let artifacts = dir.join("artifacts").join(t);
            std::fs::create_dir_all(&corpus).map_err(|e| e.to_string())?;
            std::fs::create_dir_all(&artifacts).map_err(|e| e.to_string())?;
            println!("\n== fuzz: {t} for {secs} s ==");
            cmd.arg(format!("-max_total_time={secs}"));
            if jobs > 1 {
                // Parallel workers (each logs to fuzz-N.log).
                cmd.arg(format!("-jobs={jobs}"))
                    .arg(format!("-workers={jobs}"));
            }
            cmd.arg("-print_final_stats=1")
                .arg(format!("-artifact_prefix={}/", artifacts.display()))
                .arg(&corpus);
        }
        util::run(&mut cmd)?;
    }
    Ok(())
}
