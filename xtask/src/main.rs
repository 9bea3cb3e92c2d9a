//! `cargo xtask test` / `cargo xtask bench` / `cargo xtask size`: installs
//! what is missing and runs every host.
//!
//! Stages of `test` (each skips nothing silently: a missing tool is installed):
//! 0. without `--host` (all hosts, as CI runs it): the dependency check of
//!    [`size`]: no test-only crate in `anyloop`'s normal dependencies on
//!    any target;
//! 1. native: `cargo test --workspace` (with the bounded fuzz corpus of
//!    `fuzz/`), then the loom models of `core/tests/loom.rs` ([`verify`]);
//! 2. WASI: the suite for `wasm32-wasip2` under wasmtime, for `wasm32-wasip1` under wasmtime and Node's `node:wasi`, the WASI examples ([`wasi`]);
//! 3. browser: the suite for `wasm32-unknown-unknown` in headless Chromium ([`web`]);
//! 4. `www/`: `npm ci && npm test` ([`web`]);
//! 5. Windows: clippy for `x86_64-pc-windows-gnu`, and the suite
//!    cross-compiled with mingw-w64 and run under Wine ([`windows`]).

mod bench;
mod fuzz;
mod install;
mod native;
mod size;
mod util;
mod verify;
mod wasi;
mod wasi_example;
mod web;
mod web_example;
mod windows;
mod www;

use std::process::ExitCode;

/// A command that parses its own arguments.
type Command = fn(&[String]) -> util::Result<()>;

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo xtask <command>\n\n\
         commands:\n  \
         test [--host native|wasi|web|www|windows]...  install what is missing, run the suite on every host (or the given ones)\n  \
         bench [--host native|wasi|web] [-- ARGS] side-by-side benchmarks vs the peers, ratios printed\n                                             \
         (ARGS: --quick, --rounds N, workload name filters)\n  \
         install                                 only install the toolchain pieces\n  \
         fuzz [TARGET]... [--time SECS] [--jobs N] [--replay FILE]\n                                             \
         libFuzzer runs (nightly) of stream_reader, queue, semaphore\n  \
         loom [--preemptions N]                  model-check the core's cross-thread paths (core/tests/loom.rs)\n  \
         miri                                    the core's unit tests under miri (nightly)\n  \
         size [--check]                          hello's size per host next to the peers' (profile `size`, wasm-opt),\n                                             \
         test-only crates in the runtime's dependencies (--check: fail on a missed goal)\n  \
         web-example NAME [--check]              run examples/NAME.rs in the browser (serves http://127.0.0.1:8000/)\n  \
         wasi-example NAME [ARGS]...             run examples/NAME.rs under wasmtime (wasm32-wasip2, network granted)"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        return usage();
    };
    let single = match cmd.as_str() {
        "loom" => Some(
            verify::loom_args(&args[1..])
                .and_then(verify::loom)
                .map(drop),
        ),
        "miri" if args.len() == 1 => Some(verify::miri().map(drop)),
        _ => None,
    };
    if let Some(res) = single {
        return exit(res);
    }
    // Commands with arguments of their own.
    let own: Option<Command> = match cmd.as_str() {
        "fuzz" => Some(fuzz::run),
        "size" => Some(size::run),
        "web-example" => Some(web_example::run),
        "wasi-example" => Some(wasi_example::run),
        _ => None,
    };
    if let Some(run) = own {
        return exit(run(&args[1..]));
    }
    let mut hosts = Vec::new();
    let mut extra = Vec::new();
    let mut rest = args[1..].iter();
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--" => {
                extra.extend(rest.by_ref().cloned());
            }
            "--host" => match rest.next() {
                Some(h) => hosts.push(h.clone()),
                None => return usage(),
            },
            other => {
                eprintln!("xtask: unknown argument {other:?}");
                return usage();
            }
        }
    }
    if !extra.is_empty() && cmd != "bench" {
        return usage();
    }
    let result = match cmd.as_str() {
        "test" => test(&hosts),
        "bench" => bench::run(&hosts, &extra),
        "install" => install::all(),
        _ => return usage(),
    };
    exit(result)
}

/// The exit code of a command's result (its error printed).
fn exit(result: util::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn test(hosts: &[String]) -> util::Result<()> {
    let all = hosts.is_empty();
    let want = |h: &str| all || hosts.iter().any(|x| x == h);
    let mut summary = Vec::new();
    if all {
        // Cheap (cargo tree only): no test-only crate (wasm-bindgen-test,
        // serde, the bench peers, ...) in the runtime's normal dependencies
        // on any target (issue 17); `cargo xtask size` prints the details.
        summary.push(size::dependency_gate()?);
    }
    if want("native") {
        // Includes the bounded fuzz corpus (fuzz/tests/corpus.rs).
        summary.push(native::test()?);
        summary.push(verify::loom(verify::TEST_PREEMPTIONS)?);
    }
    if want("wasi") {
        summary.push(wasi::test()?);
    }
    if want("web") {
        summary.push(web::test()?);
        summary.push(web_example::test_hello()?);
    }
    if want("www") {
        summary.push(web::test_www()?);
    }
    if want("windows") {
        summary.push(windows::test()?);
    }
    println!("\n== xtask test summary ==");
    for line in &summary {
        println!("{line}");
    }
    Ok(())
}
