//! `cargo xtask size [--check]`: hello world's size on every host, next to
//! the peers' same program, and the runtime's dependency graph checked for
//! test-only crates.
//!
//! # What is built
//!
//! Every program is built with `--profile size`, the profile the peers'
//! published size figures use (the workspace `Cargo.toml`):
//! `opt-level = "s"`, `lto = true` (fat), `codegen-units = 1`,
//! `panic = "abort"`, `strip = true`, no debug info.
//!
//! | host | anyloop | peer |
//! |---|---|---|
//! | native | `examples/hello.rs` | tokio `current_thread` (`benches/size/src/bin/hello_tokio.rs`) |
//! | wasip1 | `examples/hello.rs` | the same tokio program (tokio's wasip1 support: `rt`, `time`, `macros`) |
//! | wasip2 | `examples/hello.rs` (a component) | wstd's `#[wstd::main]` + `wstd::task::sleep` (`benches/size/src/bin/hello_wstd.rs`) |
//! | web | `examples/hello.rs` | wasm-bindgen-futures' `spawn_local` + gloo-timers (`benches/size/src/bin/hello_wbg.rs`) |
//!
//! In the browser a program is the `.wasm` plus the JS glue that
//! `wasm-bindgen --target web` writes (what `cargo xtask web-example`
//! serves); both count. There anyloop's default feature `web-talc` makes
//! talc the program's global allocator, while the peer keeps Rust's
//! default dlmalloc: that accounts for ~6.2 KB of anyloop's wasm (see
//! `anyloop_web`'s crate docs, "memory"). Each wasm file is measured as cargo (and
//! wasm-bindgen) leave it and after binaryen's `wasm-opt -Oz`, the usual
//! last step of a wasm release build: xtask installs binaryen from npm
//! (the `binaryen` package, pinned to [`BINARYEN`]) into
//! `target/tools/binaryen`. The peers get exactly the same treatment.
//! WASI 0.2 programs are components, which `wasm-opt` cannot read: they
//! are measured as built, for anyloop and wstd alike.
//!
//! The JS glue is measured as wasm-bindgen writes it and, for information,
//! minified as a page ships it (bundlers minify their JS as `wasm-opt`
//! shrinks the wasm): terser's `--module --compress --mangle` (npm package
//! `terser`, pinned to [`TERSER`], in `target/tools/terser`), the same for
//! both programs.
//!
//! # Goals (issue 17)
//!
//! The web hello at most 30,000 bytes of wasm + JS (after `wasm-opt`, the
//! JS as wasm-bindgen writes it), the wasip1 hello at most 60,000 bytes
//! after `wasm-opt`. `--check` fails when a goal is
//! missed, or when a test-only crate (`wasm-bindgen-test`, `serde`,
//! `serde_json`, …) is in the normal (non-dev) dependency graph of the
//! `anyloop` crate on any target (`cargo tree -e normal --target …`).
//! `cargo xtask test` without `--host` (what CI runs) fails on such a
//! crate too ([`dependency_gate`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{self, Result};

/// The binaryen release `wasm-opt` comes from (npm package `binaryen`).
const BINARYEN: &str = "132.0.0";

/// The terser release that minifies the web programs' JS glue (npm
/// package `terser`).
const TERSER: &str = "5.44.1";

/// The web hello's goal, wasm + JS, after `wasm-opt` (bytes; the JS as
/// wasm-bindgen writes it).
const WEB_GOAL: u64 = 30_000;
/// The wasip1 hello's goal, after `wasm-opt` (bytes).
const WASI_GOAL: u64 = 60_000;

/// Crates only tests need; none may be a normal dependency of `anyloop`.
const TEST_ONLY: &[&str] = &[
    "wasm-bindgen-test",
    "wasm-bindgen-test-macro",
    "wasm-bindgen-test-shared",
    "serde",
    "serde_json",
    "serde_derive",
    "tokio",
    "async-executor",
    "async-io",
    "smol",
    // The `tracing` feature's tests and docs subscribe with it.
    "tracing-subscriber",
];

/// The wasm features Rust's wasm32 targets enable by default, which
/// `wasm-opt` must accept (and may use) in the modules it rewrites.
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-bulk-memory-opt",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// One program's sizes, in bytes.
struct Row {
    host: &'static str,
    program: &'static str,
    /// The binary (native executable or `.wasm`) as built.
    bin: u64,
    /// The JS glue (web only).
    js: u64,
    /// The JS glue minified (web only).
    js_min: Option<u64>,
    /// The `.wasm` after `wasm-opt -Oz` (wasm only).
    opt: Option<u64>,
}

impl Row {
    fn total(&self) -> u64 {
        self.bin + self.js
    }

    fn total_opt(&self) -> Option<u64> {
        self.opt.map(|o| o + self.js)
    }

    /// The optimized wasm plus the minified JS (web only).
    fn total_min(&self) -> Option<u64> {
        Some(self.opt? + self.js_min?)
    }
}

/// `cargo xtask size [--check]`.
pub(crate) fn run(args: &[String]) -> Result<()> {
    let mut check = false;
    for a in args {
        match a.as_str() {
            "--check" => check = true,
            other => {
                return Err(format!(
                    "size: unknown argument {other:?} (expected --check)"
                ))
            }
        }
    }
    crate::install::rust_targets()?;
    crate::www::wasm_bindgen_cli()?;
    let wasm_opt = install_wasm_opt()?;
    let terser = install_terser()?;

    let out = util::target_dir().join("size");
    let mut rows = Vec::new();
    // native
    let anyloop = build("native", None, &["--example", "hello"], "examples/hello")?;
    let tokio = build("native", None, &PEER_TOKIO, "hello_tokio")?;
    rows.push(native_row("anyloop", &anyloop)?);
    rows.push(native_row("tokio current_thread", &tokio)?);
    // wasm32-wasip1
    let wasi = Some("wasm32-wasip1");
    let anyloop = build(
        "wasip1",
        wasi,
        &["--example", "hello"],
        "examples/hello.wasm",
    )?;
    let tokio = build("wasip1", wasi, &PEER_TOKIO, "hello_tokio.wasm")?;
    rows.push(wasi_row("anyloop", &anyloop, &wasm_opt, &out)?);
    rows.push(wasi_row("tokio current_thread", &tokio, &wasm_opt, &out)?);
    // wasm32-wasip2 (components)
    let p2 = Some("wasm32-wasip2");
    let anyloop = build("wasip2", p2, &["--example", "hello"], "examples/hello.wasm")?;
    let wstd = build("wasip2", p2, &PEER_WSTD, "hello_wstd.wasm")?;
    rows.push(p2_row("anyloop", &anyloop)?);
    rows.push(p2_row("wstd", &wstd)?);
    // the browser
    let web = Some("wasm32-unknown-unknown");
    let anyloop = build("web", web, &["--example", "hello"], "examples/hello.wasm")?;
    let wbg = build("web", web, &PEER_WBG, "hello_wbg.wasm")?;
    let tools = [&wasm_opt, &terser];
    rows.push(web_row(
        "anyloop",
        &anyloop,
        tools,
        &out.join("web-anyloop"),
    )?);
    rows.push(web_row(
        "wasm-bindgen-futures + gloo-timers",
        &wbg,
        tools,
        &out.join("web-peer"),
    )?);

    let deps = dependency_check()?;

    println!("\n== size: hello world (profile `size`: opt-level \"s\", fat LTO, codegen-units 1, panic=abort, strip) ==");
    println!(
        "{:<7} {:<36} {:>10} {:>8} {:>10} {:>14} {:>12} {:>8} {:>16}",
        "host",
        "program",
        "binary",
        "JS",
        "total",
        "wasm-opt -Oz",
        "total (opt)",
        "JS min",
        "total (opt, min)"
    );
    for r in &rows {
        let dash = || "-".to_string();
        println!(
            "{:<7} {:<36} {:>10} {:>8} {:>10} {:>14} {:>12} {:>8} {:>16}",
            r.host,
            r.program,
            r.bin,
            if r.js > 0 { r.js.to_string() } else { dash() },
            r.total(),
            r.opt.map_or_else(dash, |o| o.to_string()),
            r.total_opt().map_or_else(dash, |o| o.to_string()),
            r.js_min.map_or_else(dash, |o| o.to_string()),
            r.total_min().map_or_else(dash, |o| o.to_string()),
        );
    }
    println!(
        "(bytes; web: wasm-bindgen --target web, the .wasm plus its JS glue; \
         JS min: terser {TERSER} --module --compress --mangle, both programs)"
    );

    let mut missed = Vec::new();
    for (host, goal) in [("wasip1", WASI_GOAL), ("web", WEB_GOAL)] {
        let Some(r) = rows
            .iter()
            .find(|r| r.host == host && r.program == "anyloop")
        else {
            continue;
        };
        let got = r.total_opt().unwrap_or(r.total());
        let verdict = if got <= goal { "ok" } else { "MISSED" };
        let how = match r.total_min() {
            Some(min) => format!(" (wasm-opt -Oz; {min} B with the JS minified)"),
            None => " (wasm-opt -Oz)".to_string(),
        };
        println!("goal {host}: anyloop hello {got} B{how} <= {goal} B: {verdict}");
        if got > goal {
            missed.push(format!("{host} hello is {got} B (goal {goal} B)"));
        }
    }
    for line in &deps {
        println!("{line}");
    }
    let bad: Vec<&String> = deps.iter().filter(|l| l.contains("TEST-ONLY")).collect();
    if check && (!missed.is_empty() || !bad.is_empty()) {
        let mut why = missed;
        why.extend(bad.into_iter().cloned());
        return Err(format!("size check failed: {}", why.join("; ")));
    }
    Ok(())
}

const PEER_TOKIO: [&str; 4] = ["-p", "anyloop-size-peers", "--bin", "hello_tokio"];
const PEER_WSTD: [&str; 4] = ["-p", "anyloop-size-peers", "--bin", "hello_wstd"];
const PEER_WBG: [&str; 4] = ["-p", "anyloop-size-peers", "--bin", "hello_wbg"];

/// `cargo build --profile size [--target T] ARGS`; returns the artifact
/// (`file`, relative to the profile's output directory).
fn build(host: &str, target: Option<&str>, args: &[&str], file: &str) -> Result<PathBuf> {
    println!("\n== size: {host}: {} ==", args.join(" "));
    let mut cmd = util::cargo();
    cmd.args(["build", "--profile", "size"]);
    if let Some(t) = target {
        cmd.args(["--target", t]);
    }
    util::run(cmd.args(args))?;
    let mut dir = util::target_dir();
    if let Some(t) = target {
        dir = dir.join(t);
    }
    let path = dir.join("size").join(file);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("the build left no {}", path.display()))
    }
}

fn size_of(path: &Path) -> Result<u64> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn native_row(program: &'static str, bin: &Path) -> Result<Row> {
    Ok(Row {
        host: "native",
        program,
        bin: size_of(bin)?,
        js: 0,
        js_min: None,
        opt: None,
    })
}

/// A WASI 0.2 component, as built (`wasm-opt` reads no components).
fn p2_row(program: &'static str, wasm: &Path) -> Result<Row> {
    Ok(Row {
        host: "wasip2",
        program,
        bin: size_of(wasm)?,
        js: 0,
        js_min: None,
        opt: None,
    })
}

fn wasi_row(program: &'static str, wasm: &Path, wasm_opt: &Path, out: &Path) -> Result<Row> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let name = wasm
        .file_name()
        .map_or_else(|| "hello.wasm".into(), |n| n.to_string_lossy().into_owned());
    let opt = out.join(format!("wasip1-opt-{name}"));
    optimize(wasm_opt, wasm, &opt)?;
    Ok(Row {
        host: "wasip1",
        program,
        bin: size_of(wasm)?,
        js: 0,
        js_min: None,
        opt: Some(size_of(&opt)?),
    })
}

/// `wasm-bindgen --target web` into `out`, then `wasm-opt` on its wasm
/// and terser on its JS (`tools`: wasm-opt, terser).
fn web_row(program: &'static str, wasm: &Path, tools: [&PathBuf; 2], out: &Path) -> Result<Row> {
    let [wasm_opt, terser] = tools;
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    util::run(
        Command::new(util::cargo_bin("wasm-bindgen")?)
            .args(["--target", "web", "--out-dir"])
            .arg(out)
            .arg(wasm),
    )?;
    let stem = wasm
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .ok_or_else(|| format!("{}: no file name", wasm.display()))?;
    let bg = out.join(format!("{stem}_bg.wasm"));
    let js = out.join(format!("{stem}.js"));
    let opt = out.join(format!("{stem}_bg.opt.wasm"));
    optimize(wasm_opt, &bg, &opt)?;
    let min = out.join(format!("{stem}.min.js"));
    util::run(
        Command::new("node")
            .arg(terser)
            .arg(&js)
            .args(["--module", "--compress", "--mangle", "-o"])
            .arg(&min),
    )?;
    Ok(Row {
        host: "web",
        program,
        bin: size_of(&bg)?,
        js: size_of(&js)?,
        js_min: Some(size_of(&min)?),
        opt: Some(size_of(&opt)?),
    })
}

/// `wasm-opt -Oz` with the features Rust's wasm32 targets use.
fn optimize(wasm_opt: &Path, input: &Path, output: &Path) -> Result<()> {
    util::run(
        Command::new("node")
            .arg(wasm_opt)
            .arg("-Oz")
            .args(WASM_FEATURES)
            .arg(input)
            .arg("-o")
            .arg(output),
    )
}

/// binaryen's `wasm-opt` (a Node program in the npm package) under
/// `target/tools/binaryen`, installed with npm when missing.
fn install_wasm_opt() -> Result<PathBuf> {
    npm_tool("binaryen", BINARYEN, &["bin", "wasm-opt"])
}

/// terser's command-line program (`bin/terser` of the npm package) under
/// `target/tools/terser`, installed with npm when missing.
fn install_terser() -> Result<PathBuf> {
    npm_tool("terser", TERSER, &["bin", "terser"])
}

/// The file `exe` (a path inside the package) of npm package `name` at
/// `version`, installed under `target/tools/<name>` when missing.
fn npm_tool(name: &str, version: &str, exe: &[&str]) -> Result<PathBuf> {
    let dir = util::target_dir().join("tools").join(name);
    let pkg = dir.join("node_modules").join(name);
    let exe = exe.iter().fold(pkg.clone(), |p, c| p.join(c));
    let installed = std::fs::read_to_string(pkg.join("package.json"))
        .is_ok_and(|j| j.contains(&format!("\"version\": \"{version}\"")));
    if !(installed && exe.is_file()) {
        if util::which("npm").is_none() {
            return Err("npm not found: install Node.js 20+ and npm (Debian: apt-get install -y nodejs npm)".into());
        }
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        util::run(
            Command::new("npm")
                .args([
                    "install",
                    "--no-save",
                    "--no-audit",
                    "--no-fund",
                    "--prefix",
                ])
                .arg(&dir)
                .arg(format!("{name}@{version}")),
        )?;
    }
    if exe.is_file() {
        Ok(exe)
    } else {
        Err(format!(
            "npm installed {name} but {} is missing",
            exe.display()
        ))
    }
}

/// The dependency check alone, as `cargo xtask test` runs it (so CI,
/// which runs `cargo xtask test`, fails on a test-only crate in the
/// runtime's normal dependencies): its one-line summary, or the error
/// naming the crates and targets.
pub(crate) fn dependency_gate() -> Result<String> {
    let lines = dependency_check()?;
    let bad: Vec<&String> = lines.iter().filter(|l| l.contains("TEST-ONLY")).collect();
    if !bad.is_empty() {
        let bad: Vec<&str> = bad.iter().map(|l| l.as_str()).collect();
        return Err(format!("dependency check failed: {}", bad.join("; ")));
    }
    let targets = lines
        .iter()
        .filter(|l| l.contains("no test-only crate"))
        .count();
    Ok(format!(
        "dependencies: no test-only crate in anyloop's normal dependencies ({targets} target/feature sets, cargo tree -e normal)"
    ))
}

/// `cargo tree -e normal -p anyloop --target T` for every host: the
/// runtime's normal dependencies, with any test-only crate flagged.
fn dependency_check() -> Result<Vec<String>> {
    let host = util::output(Command::new("rustc").arg("-vV"))?
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .ok_or("rustc -vV printed no host")?;
    let mut lines = vec![
        String::new(),
        "== size: normal dependencies of anyloop ==".into(),
    ];
    for target in [
        host.as_str(),
        "wasm32-wasip1",
        "wasm32-wasip2",
        "wasm32-unknown-unknown",
    ] {
        // Default features, then with `tracing`: its tests and docs use
        // tracing-subscriber, which must stay out of the runtime's graph.
        // (Not `hyper`: hyper itself depends on tokio's `sync`.)
        for features in ["", "tracing"] {
            let mut args = vec![
                "tree", "-e", "normal", "-p", "anyloop", "--prefix", "none", "--target", target,
            ];
            if !features.is_empty() {
                args.extend(["--features", features]);
            }
            let tree = util::output(util::cargo().args(&args))?;
            let mut crates: Vec<&str> = tree
                .lines()
                .filter_map(|l| l.split_whitespace().next())
                .collect();
            crates.sort_unstable();
            crates.dedup();
            let bad: Vec<&str> = crates
                .iter()
                .copied()
                .filter(|c| TEST_ONLY.contains(c))
                .collect();
            let label = if features.is_empty() {
                target.to_string()
            } else {
                format!("{target} --features {features}")
            };
            if !bad.is_empty() {
                lines.push(format!(
                    "{label}: TEST-ONLY crates in the runtime's dependencies: {}",
                    bad.join(", ")
                ));
            } else if features.is_empty() {
                lines.push(format!(
                    "{label}: {} crates, no test-only crate: {}",
                    crates.len(),
                    crates.join(" ")
                ));
            } else {
                lines.push(format!(
                    "{label}: {} crates, no test-only crate",
                    crates.len()
                ));
            }
        }
    }
    Ok(lines)
}
