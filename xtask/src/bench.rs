//! `cargo xtask bench [--host native|wasi|web]... [-- ARGS]`: side-by-side
//! benchmarks of anyloop vs tokio and smol, each host in one process,
//! interleaved rounds, medians, a table with the ratio anyloop / best peer.
//!
//! # Layout (shared by every host)
//!
//! - `benches/workloads/mod.rs`: the workloads, std-only, generic over the
//!   `workloads::Runtime` trait (spawn, detached spawn, `sleep`, a bounded
//!   channel) and `workloads::Locks` (mutex, semaphore); `yield` awaits
//!   `workloads::RawYield` (a raw-waker re-wake) on every peer; the timing clock (`workloads::now_ns`, replaceable with
//!   `workloads::set_clock` where `std::time::Instant` does not work), the
//!   interleaved measuring loop and the table. Every function there
//!   compiles for wasm32 too.
//! - `benches/peers/mod.rs`: the peers (`Anyloop`, `Tokio`, `Smol`), native
//!   and on WASI (there smol's `LocalExecutor` runs on
//!   `peers::smol_wasi`: async-io's block_on/timer loop without a reactor,
//!   since async-io does not build for wasm), plus `Wstd` on wasm32-wasip2.
//! - `benches/runtime.rs`: the native and WASI harness (`cargo bench --bench
//!   runtime`; `--host wasi` runs it with `--target wasm32-wasip1`, then
//!   `--target wasm32-wasip2`, under wasmtime, ARGS as natively except
//!   `--cpu`).
//!   ARGS after `--` go to it: `--quick`, `--rounds N`, `--cpu` (time the
//!   CPU-bound rows in thread CPU time: on a shared machine wall-clock
//!   figures mostly measure preemption), `--peer NAME`, workload name
//!   filters.
//! - `benches/callgrind.sh [PEER] [WORKLOAD..]`: exact instruction counts
//!   of each workload (quick sizes, counted inside the workload function
//!   only): the figure to compare before/after a change to the hot paths.
//! - `benches/streams.rs`: native TCP through `anyloop::net` vs tokio and
//!   smol (`async-net`): `echo_64k` (MB/s) and `requests` (1,000 clients,
//!   requests/s); same ARGS, plus `--cpu`.
//! - `benches/process.rs`: `anyloop::process` vs tokio::process and
//!   async-process: spawn+wait of 1,000 `true` (one at a time, one at a
//!   time with `PATH` set on the command, 50 at a time, ms) and `cat` pipe
//!   throughput (MB/s); same ARGS.
//!
//! # Adding a host
//!
//! Add a `fn bench_<host>(args)` below and a match arm in [`run`]. The host
//! compiles `workloads` (e.g. `#[path = "../../benches/workloads/mod.rs"]`
//! from a small bench binary or test), implements `Runtime` for the peers
//! that exist there (web: anyloop vs wasm-bindgen-futures, driven by
//! `tick`), builds for its target, runs it (headless Chromium) and prints
//! `workloads::report`. WASI reuses `benches/runtime.rs` as it is.
//!
//! # Adding a workload
//!
//! A generic `pub fn name<R: Runtime>() -> f64` in `workloads`, one `row!`
//! line in each harness. Sync primitives (`lock`, `semaphore`, queue
//! ping-pong) go through `Locks`/`Runtime::channel`; a peer without an
//! implementation shows `-`.

use crate::util::{self, Result};

pub(crate) fn run(hosts: &[String], args: &[String]) -> Result<()> {
    let hosts: Vec<&str> = if hosts.is_empty() {
        vec!["native"]
    } else {
        hosts.iter().map(String::as_str).collect()
    };
    for host in hosts {
        match host {
            "native" => bench_native(args)?,
            // The browser: www/'s bench page (www/demo/src/bench.rs, async
            // workloads: nothing may block there) in headless Chromium.
            "web" => crate::www::bench(args)?,
            // wasmtime: benches/runtime.rs built for wasm32-wasip1 and
            // wasm32-wasip2, the same peers (smol's LocalExecutor on
            // peers::smol_wasi timers), plus wstd on wasip2.
            "wasi" => crate::wasi::bench("runtime", args)?,
            other => return Err(format!("unknown bench host {other:?} (native, wasi, web)")),
        }
    }
    Ok(())
}

/// `cargo bench --bench runtime -- ARGS`, then `--bench streams` (TCP
/// echo throughput and request rate through anyloop's Streams vs tokio
/// and smol/async-net); release builds, all peers in one process.
fn bench_native(args: &[String]) -> Result<()> {
    println!("\n== bench: native ==");
    util::run(
        util::cargo()
            .args(["bench", "-p", "anyloop", "--bench", "runtime", "--"])
            .args(args),
    )?;
    println!("\n== bench: native streams ==");
    util::run(
        util::cargo()
            .args(["bench", "-p", "anyloop", "--bench", "streams", "--"])
            .args(args),
    )?;
    println!("\n== bench: native subprocesses ==");
    util::run(
        util::cargo()
            .args(["bench", "-p", "anyloop", "--bench", "process", "--"])
            .args(args),
    )
}
