//! Stage 3 and 4: the suite in headless Chromium, and `www/`'s npm test.
//!
//! Stage 3 runs `cargo test --target wasm32-unknown-unknown` with
//! `wasm-bindgen-test-runner` as the target's runner in browser mode: the
//! runner serves each test binary, and chromedriver drives Debian's
//! `chromium` headless with the flags of `webdriver.json` (see DESIGN.md:
//! without the background-networking flags Chromium floods the closed
//! network) plus a fresh `--user-data-dir` per run.

use std::path::PathBuf;

use crate::util::{self, Result};

/// Installs the Rust targets, `wasm-bindgen-cli` (the lock file's exact
/// `wasm-bindgen` version) and Chromium + chromedriver, each when missing.
pub(crate) fn install() -> Result<()> {
    crate::install::rust_targets()?;
    // `cargo install wasm-bindgen-cli --version <Cargo.lock's>` (no `--locked`).
    crate::www::wasm_bindgen_cli()?;
    install_chromium()
}

/// `apt-get update && apt-get install -y chromium chromium-driver` unless
/// both are on `$PATH`.
fn install_chromium() -> Result<()> {
    if util::which("chromium").is_some() && util::which("chromedriver").is_some() {
        return Ok(());
    }
    util::apt_install(&["chromium", "chromium-driver"], false)?;
    if util::which("chromedriver").is_none() {
        return Err("apt-get installed chromium-driver but `chromedriver` is not on PATH".into());
    }
    Ok(())
}

/// Writes `target/webdriver.json`: the crate root's `webdriver.json` plus a
/// fresh `--user-data-dir` for this run. Returns the file and the profile.
fn webdriver_json() -> Result<(PathBuf, PathBuf)> {
    let root = util::root();
    let base = std::fs::read_to_string(root.join("webdriver.json"))
        .map_err(|e| format!("cannot read webdriver.json: {e}"))?;
    let profile = std::env::temp_dir().join(format!("anyloop-chromium-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    std::fs::create_dir_all(&profile)
        .map_err(|e| format!("cannot create {}: {e}", profile.display()))?;
    // The args array's first entry is "--headless=new" (see webdriver.json).
    let flag = format!("\"--user-data-dir={}\",\n      ", profile.display());
    let Some(at) = base.find("\"--headless") else {
        return Err("webdriver.json: no \"--headless\" argument to extend".into());
    };
    let json = format!("{}{flag}{}", &base[..at], &base[at..]);
    let dir = root.join("target");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create target/: {e}"))?;
    let path = dir.join("webdriver.json");
    std::fs::write(&path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok((path, profile))
}

/// `wasm-bindgen-test-runner` on `$PATH`, or where `cargo install` put it.
fn test_runner() -> Result<PathBuf> {
    util::cargo_bin("wasm-bindgen-test-runner")
}

/// Stage 3: the whole `tests/` suite in headless Chromium.
pub(crate) fn test() -> Result<String> {
    install()?;
    println!(
        "\n== web: cargo test --target wasm32-unknown-unknown --features anyloop/tracing \
         (headless Chromium) =="
    );
    let chromedriver =
        util::which("chromedriver").ok_or("chromedriver is not on PATH after installing it")?;
    let (webdriver, profile) = webdriver_json()?;
    let out = util::run_capture(
        util::cargo()
            // `tracing`: tests/tracing.rs (the rest of the suite runs with
            // the instrumentation compiled in and no subscriber).
            .args([
                "test",
                "--target",
                "wasm32-unknown-unknown",
                "--features",
                "anyloop/tracing",
                "--tests",
            ])
            .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", test_runner()?)
            .env("WASM_BINDGEN_USE_BROWSER", "1")
            .env("CHROMEDRIVER", &chromedriver)
            .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", &webdriver)
            .env("WASM_BINDGEN_TEST_TIMEOUT", "120")
            .args(["--", "--nocapture"]),
    );
    let _ = std::fs::remove_dir_all(&profile);
    let out = out?;
    let (p, f, i) = util::count_tests(&out);
    if p == 0 {
        return Err("the browser stage ran no tests".into());
    }
    let measured = out
        .lines()
        .find_map(|l| l.split("anyloop-measure: ").nth(1))
        .map(|m| format!("; {}", m.trim()))
        .unwrap_or_default();
    Ok(format!(
        "web (headless Chromium): {p} passed, {f} failed, {i} ignored{measured}"
    ))
}

/// Stage 4: `www/`'s npm build and end-to-end test ([`crate::www::test`]).
pub(crate) fn test_www() -> Result<String> {
    if !util::root().join("www/package.json").is_file() {
        return Ok("www: no package yet (www/package.json is missing), nothing to test".into());
    }
    install_chromium()?;
    crate::www::test()
}
