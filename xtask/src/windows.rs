//! Stage 5: Windows, without a Windows machine.
//!
//! 1. `cargo clippy --all-targets --target x86_64-pc-windows-gnu` of the
//!    runtime's crates (type-checks everything, tests included). Nothing
//!    is linked, but `ring` (the default TLS provider, and `rcgen`'s, a
//!    dev-dependency) compiles C for the target, so this needs the
//!    mingw-w64 C compiler too; without it only the libraries are checked
//!    (`--lib`, TLS without a provider), which needs just the rustup target;
//! 2. the suite of `anyloop` (`tests/`) cross-compiled with Debian's
//!    mingw-w64 linker and run under Wine (`wine64` as the cargo runner):
//!    the loop, timers, `Handle` wake-ups, TCP/UDP through `polling`'s
//!    IOCP/AFD backend, stdio, `to_thread`, and the `Unsupported` errors of
//!    what Windows lacks.
//!
//! The stage installs `gcc-mingw-w64-x86-64` and `wine64` with apt
//! (`--no-install-recommends`, 21 packages, ~40 s) when missing; where apt
//! cannot run (not root, no password-less sudo, not Debian) it says so,
//! checks the libraries only and skips step 2. The Wine prefix lives in `target/wine-prefix` (created on
//! first use, ~700 MB; a clean clone has none), with the
//! `bcryptprimitives.dll` shim of `xtask/wine/` that Wine 8 lacks.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::util::{self, Result};

pub(crate) const TARGET: &str = "x86_64-pc-windows-gnu";
const RUNNER_VAR: &str = "CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER";
const LINKER: &str = "x86_64-w64-mingw32-gcc";
/// Debian packages: the mingw-w64 C toolchain (linker, and C compiler for
/// `ring`) and 64-bit Wine.
const PACKAGES: [&str; 2] = ["gcc-mingw-w64-x86-64", "wine64"];
/// The crates that build for Windows (xtask, the fuzz harness and the web
/// demo are host tools or wasm-only).
const CRATES: [&str; 4] = [
    "anyloop",
    "anyloop-core",
    "anyloop-native",
    "anyloop-macros",
];

/// `rustup target add x86_64-pc-windows-gnu` unless installed.
fn rust_target() -> Result<()> {
    let installed = util::output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if installed.lines().any(|l| l.trim() == TARGET) {
        return Ok(());
    }
    util::run(Command::new("rustup").args(["target", "add", TARGET]))
}

/// The Wine loader: `wine64` or `wine` on `PATH`, else Debian's
/// `/usr/lib/wine/wine64` (the `wine64` package puts nothing on `PATH`).
fn wine() -> Option<PathBuf> {
    util::which("wine64")
        .or_else(|| util::which("wine"))
        .or_else(|| Some(PathBuf::from("/usr/lib/wine/wine64")).filter(|p| p.is_file()))
}

/// The linker and Wine, installed with apt when missing. `Err` with the
/// reason when they are missing and apt cannot run.
fn toolchain() -> Result<PathBuf> {
    if util::which(LINKER).is_none() || wine().is_none() {
        if let Some(why) = util::apt_unusable() {
            return Err(why);
        }
        println!("\n== windows: installing the mingw-w64 linker and Wine (apt) ==");
        let t = Instant::now();
        util::apt_install(&PACKAGES, true)?;
        println!("windows: apt install took {:.0?}", t.elapsed());
    }
    if util::which(LINKER).is_none() {
        return Err(format!(
            "{LINKER} is not on PATH after installing {PACKAGES:?}"
        ));
    }
    wine().ok_or_else(|| format!("no wine64 after installing {PACKAGES:?}"))
}

/// `target/wine-prefix`, initialised (`wineboot --init`) with the
/// `bcryptprimitives.dll` shim in its `system32`.
fn prefix(wine: &Path) -> Result<PathBuf> {
    let prefix = util::target_dir().join("wine-prefix");
    let system32 = prefix.join("drive_c/windows/system32");
    if !system32.join("kernel32.dll").is_file() {
        println!(
            "\n== windows: creating the Wine prefix {} ==",
            prefix.display()
        );
        let t = Instant::now();
        util::run(
            Command::new(wine)
                .args(["wineboot", "--init"])
                .env("WINEPREFIX", &prefix)
                .env("WINEDEBUG", "-all"),
        )?;
        println!("windows: wineboot took {:.0?}", t.elapsed());
    }
    let dll = system32.join("bcryptprimitives.dll");
    if !dll.is_file() {
        let src = util::root().join("xtask/wine/bcryptprimitives.c");
        util::run(
            Command::new(LINKER)
                .args(["-O2", "-shared", "-s", "-o"])
                .arg(&dll)
                .arg(&src)
                .arg("-ladvapi32"),
        )?;
    }
    Ok(prefix)
}

/// `cargo xtask install`: the rustup target, and the linker and Wine where
/// apt can install them (else says why not).
pub(crate) fn install() -> Result<()> {
    rust_target()?;
    match toolchain() {
        Ok(_) => Ok(()),
        Err(why) => {
            println!("windows: not installing mingw-w64 and Wine: {why}");
            Ok(())
        }
    }
}

/// Step 1: clippy for Windows, warnings denied: every target, or with no
/// C cross-compiler (`full == false`) the libraries without `ring`.
fn clippy(full: bool) -> Result<()> {
    let mut c = util::cargo();
    c.args(["clippy", "--target", TARGET]);
    for p in CRATES {
        c.args(["-p", p]);
    }
    if full {
        println!("\n== windows: cargo clippy --all-targets --target {TARGET} ==");
        c.arg("--all-targets");
    } else {
        println!("\n== windows: cargo clippy --lib --target {TARGET} (no C cross-compiler: TLS without ring) ==");
        c.args([
            "--lib",
            "--no-default-features",
            "--features",
            "anyloop/tls",
        ]);
    }
    util::run(c.args(["--", "-D", "warnings"]))
}

/// Runs `wineserver FLAG` for `prefix` (the one next to the loader).
fn wineserver(wine: &Path, prefix: &Path, flag: &str) {
    let server = wine.with_file_name("wineserver");
    let server = if server.is_file() {
        server
    } else {
        "wineserver".into()
    };
    let _ = Command::new(server)
        .arg(flag)
        .env("WINEPREFIX", prefix)
        .status();
}

/// Step 2: `tests/` under Wine; returns the counts.
fn suite(wine: &Path, prefix: &Path) -> Result<(u64, u64, u64)> {
    // The examples tests/streams_examples.rs runs (`--tests` builds none).
    util::run(util::cargo().args(["build", "--target", TARGET, "-p", "anyloop", "--examples"]))?;
    // One Wine server for the whole run (`-p`: persistent until `-k`): left
    // to itself it exits 3 s after each test program and the next one
    // may connect while it is going ("wine client error:0: recvmsg:
    // Connection reset by peer", exit status 1, seen once in ~40 programs).
    wineserver(wine, prefix, "-p");
    println!("\n== windows: cargo test --target {TARGET} -p anyloop --tests (under Wine) ==");
    // `--tests`: not the doctests, which cargo now runs cross too (through
    // the runner): 68 programs to link, ~110 s under Wine, for examples
    // the native stage already runs.
    let out = util::run_capture(
        util::cargo()
            .args([
                "test",
                "--target",
                TARGET,
                "-p",
                "anyloop",
                "--tests",
                "--no-fail-fast",
            ])
            .env(RUNNER_VAR, wine)
            .env("WINEPREFIX", prefix)
            .env("WINEDEBUG", "-all"),
    );
    wineserver(wine, prefix, "-k");
    Ok(util::count_tests(&out?))
}

/// Stage 5 (`--host windows`).
pub(crate) fn test() -> Result<String> {
    rust_target()?;
    let wine = match toolchain() {
        Ok(w) => w,
        Err(why) => {
            let t = Instant::now();
            clippy(false)?;
            println!(
                "\nwindows: SKIPPING clippy --all-targets and the Wine run of the suite: {why}.\n\
                 windows: they need `apt-get install {}` (as root); clippy --lib for {TARGET} ran.",
                PACKAGES.join(" ")
            );
            return Ok(format!(
                "windows: clippy --lib --target {TARGET} ok ({:.0?}); \
                 clippy --all-targets and the Wine run SKIPPED ({why})",
                t.elapsed()
            ));
        }
    };
    let t = Instant::now();
    clippy(true)?;
    let clippy_time = t.elapsed();
    let t = Instant::now();
    let prefix = prefix(&wine)?;
    let (p, f, i) = suite(&wine, &prefix)?;
    if p == 0 {
        return Err("the Windows stage ran no tests".into());
    }
    Ok(format!(
        "windows: clippy --all-targets --target {TARGET} ok ({clippy_time:.0?}); \
         under Wine {p} passed, {f} failed, {i} ignored ({:.0?} build + run)",
        t.elapsed()
    ))
}
