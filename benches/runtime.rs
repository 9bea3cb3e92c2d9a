//! `cargo bench --bench runtime` (what `cargo xtask bench` runs natively):
//! anyloop vs tokio vs smol, in one process, interleaved rounds, medians.
//!
//! Arguments (after `--`): `--rounds N` (default 9; 0 = the warm-up run
//! only), `--quick` (a tenth of the sizes, 3 rounds), `--cpu` (time the
//! CPU-bound rows in thread CPU time: steadier when other jobs share the
//! cores), `--peer NAME` (run
//! one peer only, e.g. under callgrind), and substrings selecting workloads
//! by name (`=NAME`: that row only).
//!
//! The workloads live in `workloads/` (std only, generic over
//! `workloads::Runtime`); the peers in `peers/`. See `xtask/src/bench.rs`
//! for how other hosts reuse them.
//!
//! # The rows
//!
//! Every peer runs the same generic workload code through its public API,
//! compiled into this one binary (the `bench` profile: release, same
//! codegen for every peer), in interleaved rounds.
//!
//! - `spawn_join` (ns/task): the main task spawns N tasks that return their
//!   index, then awaits their handles in order: spawn, first poll,
//!   completion and join of one task.
//! - `yield` (ns/yield): 1,000 tasks each await `workloads::RawYield` 1,000
//!   times (the waker's `wake_by_ref` and `Pending`, then `Ready` at the
//!   next poll): one wake-up and one re-poll through each scheduler.
//! - `pingpong` (ns/round trip): two tasks, a capacity-1 channel each way
//!   (anyloop `Queue`, tokio `mpsc`, `async-channel` for smol and wstd).
//! - `pingpong_chan`: the three channels alone, all on anyloop's loop.
//! - `chained_spawn` (ns/spawn): each task spawns the next, detached, N
//!   deep; the last one sends on a channel the main task awaits.
//! - `timers` (ms beyond the longest sleep): N tasks sleeping uniform
//!   0-50 ms on each peer's own timers.
//! - `lock`, `semaphore` (ns/op): one task acquiring and releasing an
//!   uncontended lock or permit (anyloop `Lock`/`Semaphore`, tokio's,
//!   `async-lock`'s for smol and wstd).
//!
//! # wstd (wasm32-wasip2)
//!
//! wstd 0.6's `spawn` is `async_task::spawn_unchecked` with a schedule
//! function pushing onto its ready list (a `VecDeque`); its `block_on`
//! runs that list in FIFO order and, while a pollable is registered,
//! checks pollables without blocking after each task (none are in these
//! rows). Dropping a wstd `Task` cancels it, so the detached spawns of
//! `chained_spawn` call `.detach()` (anyloop's `Task` detaches on drop;
//! the peer calls `.detach()` too). wstd has no channels or locks: it uses
//! `async-channel` and `async-lock`, as smol does. It has no `timers` row
//! (see `wstd_column`).
//!
//! None of these rows makes a host call on either runtime besides the
//! timing clock (checked by counting instructions: the host side of a
//! run does not grow with the workload); the figures are guest code and
//! the guest allocator. Exact counts, without the noise of a shared
//! machine: `TARGET=wasm32-wasip2 benches/callgrind.sh wstd` (and
//! `anyloop`).

#[macro_use]
mod workloads;
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
mod peers;
#[cfg(unix)]
mod stopwatch;

/// Where this harness runs, for the table's title.
#[cfg(not(target_family = "wasm"))]
const HOST: &str = "native";
#[cfg(all(target_os = "wasi", not(target_env = "p2")))]
const HOST: &str = "wasm32-wasip1 (cargo xtask bench --host wasi: wasmtime)";
#[cfg(all(target_os = "wasi", target_env = "p2"))]
const HOST: &str = "wasm32-wasip2 (cargo xtask bench --host wasi: wasmtime)";

/// What smol's executor is driven by here.
#[cfg(not(target_family = "wasm"))]
const SMOL: &str = "LocalExecutor + async-io";
#[cfg(target_os = "wasi")]
const SMOL: &str = "LocalExecutor + peers::smol_wasi timers";

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn main() {
    use peers::{Anyloop, AnyloopAsyncChannel, AnyloopTokioMpsc, Smol, Tokio};
    use workloads::{Runtime, Workload};

    let mut rounds = None;
    let mut quick = false;
    let mut cpu = false;
    let mut filters = Vec::new();
    let mut only_peer = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bench" => {} // added by `cargo bench`
            "--quick" => quick = true,
            "--cpu" => cpu = true,
            "--rounds" => rounds = args.next().and_then(|n| n.parse::<usize>().ok()),
            "--peer" => only_peer = args.next(),
            f if !f.starts_with('-') => filters.push(f.to_string()),
            other => eprintln!("runtime bench: ignoring argument {other:?}"),
        }
    }
    if quick {
        workloads::set_sizes(workloads::Sizes::QUICK);
    }
    let rounds = rounds.unwrap_or(if quick { 3 } else { 9 });
    if cpu {
        #[cfg(unix)]
        workloads::set_work_clock(stopwatch::thread_cpu_ns);
        #[cfg(not(unix))]
        {
            eprintln!("runtime bench: --cpu is Unix only (no thread CPU clock on wasip1 or here)");
            cpu = false;
        }
    }

    #[allow(unused_mut)] // wasip2 adds wstd
    let mut peer_names = vec![Anyloop::NAME, Tokio::NAME, Smol::NAME];
    let mut table: Vec<Workload> = vec![
        row!("spawn_join", "ns/task", spawn_join; Anyloop, Tokio, Smol),
        row!("yield", "ns/yield", yield_many; Anyloop, Tokio, Smol),
        row!("pingpong", "ns/trip", pingpong; Anyloop, Tokio, Smol),
        // The channels alone, all on anyloop's loop: Queue(1) vs tokio
        // mpsc(1) (tokio column) vs async-channel bounded(1) (smol column).
        row!("pingpong_chan", "ns/trip", pingpong; Anyloop, AnyloopTokioMpsc, AnyloopAsyncChannel),
        row!("chained_spawn", "ns/spawn", chained_spawn; Anyloop, Tokio, Smol),
        row!("timers", "ms>50", timers; Anyloop, Tokio, Smol),
        row!("lock", "ns/op", lock; Anyloop, Tokio, Smol),
        row!("semaphore", "ns/op", semaphore; Anyloop, Tokio, Smol),
    ];
    #[cfg(all(target_os = "wasi", target_env = "p2"))]
    {
        peer_names.push(peers::Wstd::NAME);
        for w in &mut table {
            w.peers.push(wstd_column(w.name));
        }
    }
    if !filters.is_empty() {
        // `name` selects rows containing it, `=name` the row named so.
        table.retain(|w| {
            filters.iter().any(|f| match f.strip_prefix('=') {
                Some(exact) => w.name == exact,
                None => w.name.contains(f.as_str()),
            })
        });
    }
    if let Some(p) = &only_peer {
        // e.g. under callgrind: `--peer anyloop --rounds 0 --quick spawn_join`
        for w in &mut table {
            for (name, m) in peer_names.iter().zip(&mut w.peers) {
                if name != p {
                    *m = None;
                }
            }
        }
    }

    let s = workloads::sizes();
    println!(
        "anyloop vs tokio (current_thread + LocalSet) vs smol ({SMOL}), \
         {HOST}, {} CPUs, median of {rounds} interleaved rounds after a warm-up{}",
        // wasip1 cannot tell (no threads): "?".
        std::thread::available_parallelism().map_or("?".to_string(), |n| n.to_string()),
        if cpu {
            "; CPU-bound rows in thread CPU time (--cpu)"
        } else {
            ""
        }
    );
    println!(
        "sizes: spawn_join {} tasks; yield {}x{}; pingpong {} round trips (capacity-1 channels); \
         chained_spawn {} deep; timers {} sleepers 0-{} ms; lock/semaphore {} ops",
        s.spawn,
        s.yield_tasks,
        s.yields,
        s.round_trips,
        s.chain,
        s.sleepers,
        s.max_sleep_ms,
        s.lock_ops
    );
    let samples = workloads::measure(&table, rounds, |r| eprintln!("  {r}"));
    println!();
    print!("{}", workloads::report(&table, &peer_names, &samples));
    println!(
        "\nratio = anyloop / best peer (< 1: anyloop faster); spread = (max - min) / median \
         of anyloop's samples"
    );
}

/// wstd's measure of row `name` (wasip2 only); `None` for the rows that
/// compare channels on anyloop's loop, and for `timers`: wstd 0.6 gives
/// every sleep its own `subscribe-duration` pollable and hands all pending
/// pollables to each `wasi:io/poll.poll` call (`check_pollables` in its
/// `runtime/reactor.rs`), so `timers` (10,000-100,000 concurrent sleepers)
/// is quadratic there and did not finish; anyloop keeps its timers in the
/// loop and passes one clock pollable per park.
#[cfg(all(target_os = "wasi", target_env = "p2"))]
fn wstd_column(name: &str) -> Option<workloads::Measure> {
    use peers::Wstd;
    use workloads::*;
    let m: Measure = match name {
        "spawn_join" => spawn_join::<Wstd>,
        "yield" => yield_many::<Wstd>,
        "pingpong" => pingpong::<Wstd>,
        "chained_spawn" => chained_spawn::<Wstd>,
        "lock" => lock::<Wstd>,
        "semaphore" => semaphore::<Wstd>,
        _ => return None,
    };
    Some(m)
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn main() {
    // The browser harness (`cargo xtask bench --host web`) builds its own
    // peers on `workloads`; see xtask/src/bench.rs.
    let _ = workloads::sizes();
}
