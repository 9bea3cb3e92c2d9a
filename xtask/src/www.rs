//! Stage 4, `www/`: the npm demo's end-to-end test (`npm test`: the bundle
//! built, served on 127.0.0.1 and clicked through in headless Chromium),
//! and the browser benchmark (`cargo xtask bench --host web`).
//!
//! Installs what is missing first: the `wasm32-unknown-unknown` target,
//! `wasm-bindgen-cli` of the exact version in `Cargo.lock`, Debian's
//! Chromium, and `www/node_modules` (`npm ci`).

use std::path::PathBuf;
use std::process::Command;

use crate::util::{self, Result};

fn www() -> PathBuf {
    util::root().join("www")
}

fn npm() -> Command {
    let mut c = Command::new("npm");
    c.current_dir(www());
    c
}

/// The `wasm-bindgen` version `Cargo.lock` pins.
fn locked_wasm_bindgen() -> Result<String> {
    let lock = std::fs::read_to_string(util::root().join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l == "name = \"wasm-bindgen\"" {
            if let Some(v) = lines.next().and_then(|v| v.strip_prefix("version = \"")) {
                return Ok(v.trim_end_matches('"').to_string());
            }
        }
    }
    Err("wasm-bindgen is not in Cargo.lock".into())
}

/// `cargo install wasm-bindgen-cli --version <Cargo.lock's>` unless that
/// version is on `$PATH` (without `--locked`, which fails here).
pub(crate) fn wasm_bindgen_cli() -> Result<()> {
    let want = locked_wasm_bindgen()?;
    let have = util::which("wasm-bindgen").and_then(|p| {
        let out = Command::new(p).arg("--version").output().ok()?;
        let s = String::from_utf8_lossy(&out.stdout).into_owned();
        s.split_whitespace().nth(1).map(str::to_string)
    });
    if have.as_deref() == Some(want.as_str()) {
        return Ok(());
    }
    util::run(util::cargo().args(["install", "wasm-bindgen-cli", "--version", &want]))
}

/// `npm ci` unless `node_modules` matches `package-lock.json` already.
fn node_modules() -> Result<()> {
    if util::which("npm").is_none() {
        return Err(
            "npm not found: install Node.js 20+ and npm (Debian: apt-get install -y nodejs npm)"
                .into(),
        );
    }
    let lock = www().join("package-lock.json");
    let installed = www().join("node_modules/.package-lock.json");
    let fresh = match (std::fs::metadata(&lock), std::fs::metadata(&installed)) {
        (Ok(a), Ok(b)) => match (a.modified(), b.modified()) {
            (Ok(a), Ok(b)) => b >= a,
            _ => false,
        },
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    util::run(npm().arg("ci"))
}

/// Everything `npm test` and the bench page need: the browser stage's
/// tools ([`crate::web::install`]: the wasm32 target, `wasm-bindgen-cli`
/// of the lock's version, Chromium) and `www/node_modules` (`npm ci`).
pub(crate) fn install() -> Result<()> {
    crate::web::install()?;
    node_modules()
}

/// `npm test` in `www/`; the summary line counts the node test runner's
/// `ℹ pass N` / `ℹ fail N` lines.
pub(crate) fn test() -> Result<String> {
    println!("\n== www: npm test (demo bundle in headless Chromium) ==");
    install()?;
    let out = util::run_capture(npm().arg("test"));
    let out = out?;
    let count = |key: &str| -> u64 {
        out.lines()
            .filter_map(|l| {
                let l = l.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
                l.strip_prefix(key)?.trim().parse().ok()
            })
            .next_back()
            .unwrap_or(0)
    };
    let (pass, fail) = (count("pass "), count("fail "));
    if pass == 0 || fail > 0 {
        return Err(format!("www: npm test: {pass} passed, {fail} failed"));
    }
    Ok(format!(
        "www: {pass} passed, {fail} failed (npm test, headless Chromium)"
    ))
}

/// `cargo xtask bench --host web`: builds the bundle and runs its bench
/// page headless; ARGS (`--rounds N`, `--scale S`) go to `scripts/bench.mjs`.
pub(crate) fn bench(args: &[String]) -> Result<()> {
    println!("\n== bench: web (headless Chromium) ==");
    install()?;
    util::run(npm().args(["run", "bench", "--"]).args(args))
}
