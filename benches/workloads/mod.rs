//! The benchmark workloads, written once, generic over a tiny [`Runtime`]
//! trait, so that the same code measures anyloop and its peers natively,
//! under wasmtime (`--host wasi`) and in a browser (`--host web`).
//!
//! This module depends on `std` only: no peer crate, no OS call beyond the
//! clock. A host-specific harness (`benches/runtime.rs` natively) implements
//! [`Runtime`] for each peer it can build, lists the workloads with
//! `row!` and prints [`report`].
//!
//! Timing uses [`now_ns`], which reads `std::time::Instant` unless a harness
//! installed another clock with [`set_clock`] (the browser, where
//! `std::time::Instant` panics, installs `performance.now()`) or a CPU-time
//! clock for the CPU-bound rows with [`set_work_clock`] (`--cpu` natively).
//!
//! Adding a workload: write `pub fn name<R: Runtime>() -> f64` here (it
//! returns the figure in its unit, lower is better) and add a row to the
//! harness's table. A workload that needs more than [`Runtime`] offers gets
//! its own trait (see [`Locks`]); a peer without an implementation shows
//! `-` in its column.

#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::{OnceLock, PoisonError, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

/// One peer (anyloop, tokio, smol, ...) as the workloads see it.
pub trait Runtime: 'static {
    /// Column header.
    const NAME: &'static str;

    /// What `spawn` returns: awaiting it gives the task's output.
    type Join<T: 'static>: Future<Output = T> + 'static;

    /// Runs `fut` on a fresh runtime of this peer and returns its output.
    fn block_on<F>(fut: F) -> F::Output
    where
        F: Future + 'static,
        F::Output: 'static;

    /// Spawns a task on the current runtime (not `Send`: a local task).
    fn spawn<F>(fut: F) -> Self::Join<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static;

    /// Spawns a task whose handle is not kept (the task keeps running).
    fn spawn_detached<F>(fut: F)
    where
        F: Future<Output = ()> + 'static;

    /// Sleeps for `dur` on the peer's own timers.
    fn sleep(dur: Duration) -> impl Future<Output = ()>;

    /// Sending half of a bounded channel.
    type Tx<T: 'static>: 'static;
    /// Receiving half of a bounded channel.
    type Rx<T: 'static>: 'static;

    /// A bounded channel of capacity `cap` (at least 1).
    fn channel<T: 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>);

    /// Sends `v`, waiting while the channel is full.
    fn send<T: 'static>(tx: &mut Self::Tx<T>, v: T) -> impl Future<Output = ()>;

    /// Receives the next value; `None` once every sender is gone.
    fn recv<T: 'static>(rx: &mut Self::Rx<T>) -> impl Future<Output = Option<T>>;
}

/// Sync primitives, for the `lock` and `semaphore` rows (uncontended:
/// one task acquires and releases in a loop).
pub trait Locks: Runtime {
    /// A mutex guarding a `u64` (tokio `Mutex`, async-lock `Mutex`, anyloop `Lock`).
    type Mutex: 'static;
    /// A counting semaphore.
    type Semaphore: 'static;

    /// A new mutex holding 0.
    fn mutex() -> Self::Mutex;
    /// Locks, increments the value, unlocks.
    fn lock_incr(m: &Self::Mutex) -> impl Future<Output = ()>;
    /// A semaphore with `permits` permits.
    fn semaphore(permits: usize) -> Self::Semaphore;
    /// Acquires one permit and releases it.
    fn acquire_release(s: &Self::Semaphore) -> impl Future<Output = ()>;
}

// ---------------------------------------------------------------- clock

static CLOCK: OnceLock<fn() -> u64> = OnceLock::new();
static WORK_CLOCK: OnceLock<fn() -> u64> = OnceLock::new();

/// Installs the wall clock (monotonic nanoseconds) that [`wall_ns`] and,
/// by default, [`now_ns`] read. Needed where `std::time::Instant` does not
/// work (wasm32-unknown-unknown). Once per process: later calls are
/// ignored.
pub fn set_clock(clock: fn() -> u64) {
    let _ = CLOCK.set(clock);
}

/// Makes the CPU-bound workloads read `clock` instead of the wall clock,
/// e.g. the thread's CPU time on a machine shared with other jobs (time
/// spent descheduled then does not count). `timers` always uses the wall
/// clock: sleeping is what it measures. Once per process: later calls
/// are ignored.
pub fn set_work_clock(clock: fn() -> u64) {
    let _ = WORK_CLOCK.set(clock);
}

fn std_clock() -> u64 {
    static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
    ORIGIN
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_nanos() as u64
}

fn read(clock: &OnceLock<fn() -> u64>) -> Option<u64> {
    clock.get().map(|clock| clock())
}

/// Monotonic wall-clock nanoseconds (default `std::time::Instant`).
pub fn wall_ns() -> u64 {
    read(&CLOCK).unwrap_or_else(std_clock)
}

/// The clock of the CPU-bound workloads: [`wall_ns`] unless
/// [`set_work_clock`] installed another.
pub fn now_ns() -> u64 {
    read(&WORK_CLOCK).unwrap_or_else(wall_ns)
}

/// A fixed-seed PRNG (xorshift64*), so every peer sleeps the same durations.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// The generator for `seed` (non-zero).
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..=max`.
    pub fn below(&mut self, max: u64) -> u64 {
        self.next_u64() % (max + 1)
    }
}

// ---------------------------------------------------------------- sizes

/// Sizes of the workloads; [`Sizes::QUICK`] for smoke runs (and slow hosts).
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Tasks spawned and joined by `spawn_join`.
    pub spawn: u64,
    /// Tasks in `yield`.
    pub yield_tasks: u64,
    /// Yields ([`RawYield`]) per task in `yield`.
    pub yields: u64,
    /// Round trips in `pingpong`.
    pub round_trips: u64,
    /// Depth of `chained_spawn`.
    pub chain: u64,
    /// Sleeping tasks in `timers`.
    pub sleepers: u64,
    /// Longest sleep in `timers`, ms (uniform 0..=this).
    pub max_sleep_ms: u64,
    /// Lock / semaphore operations in `lock` and `semaphore`.
    pub lock_ops: u64,
}

impl Sizes {
    /// The sizes of the workloads.
    pub const FULL: Sizes = Sizes {
        spawn: 200_000,
        yield_tasks: 1_000,
        yields: 1_000,
        round_trips: 200_000,
        chain: 200_000,
        sleepers: 100_000,
        max_sleep_ms: 50,
        lock_ops: 1_000_000,
    };

    /// A tenth of [`Sizes::FULL`] (timers keep their 50 ms span).
    pub const QUICK: Sizes = Sizes {
        spawn: 20_000,
        yield_tasks: 100,
        yields: 1_000,
        round_trips: 20_000,
        chain: 20_000,
        sleepers: 10_000,
        max_sleep_ms: 50,
        lock_ops: 100_000,
    };
}

static SIZES: RwLock<Sizes> = RwLock::new(Sizes::FULL);

/// Chooses the sizes for the rest of the process (default [`Sizes::FULL`]).
pub fn set_sizes(s: Sizes) {
    *SIZES.write().unwrap_or_else(PoisonError::into_inner) = s;
}

/// The sizes in force.
pub fn sizes() -> Sizes {
    *SIZES.read().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------- workloads

/// Spawns `sizes().spawn` tasks returning `i`, then awaits them all. ns/task.
pub fn spawn_join<R: Runtime>() -> f64 {
    let n = sizes().spawn;
    R::block_on(async move {
        let start = now_ns();
        let handles: Vec<_> = (0..n).map(|i| R::spawn(async move { i })).collect();
        let mut sum = 0u64;
        for h in handles {
            sum = sum.wrapping_add(h.await);
        }
        assert_eq!(sum, n * (n - 1) / 2);
        (now_ns() - start) as f64 / n as f64
    })
}

/// Yields once: wakes its own task through the raw waker
/// (`cx.waker().wake_by_ref()`) and returns `Pending`, then `Ready` at the
/// next poll. The `yield` row awaits this on every runtime, so that it
/// measures each scheduler's wake-and-repoll path, not each runtime's own
/// `yield_now` (tokio's defers the wake-up to its driver, after a park).
#[derive(Debug, Default)]
pub struct RawYield(bool);

impl Future for RawYield {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// `yield_tasks` tasks each awaiting [`RawYield`] `yields` times. ns/yield.
pub fn yield_many<R: Runtime>() -> f64 {
    let s = sizes();
    let (tasks, yields) = (s.yield_tasks, s.yields);
    R::block_on(async move {
        let start = now_ns();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                R::spawn(async move {
                    for _ in 0..yields {
                        RawYield::default().await;
                    }
                })
            })
            .collect();
        for h in handles {
            h.await;
        }
        (now_ns() - start) as f64 / (tasks * yields) as f64
    })
}

/// Two tasks, a capacity-1 channel each way, `round_trips` round trips.
/// ns/round trip.
pub fn pingpong<R: Runtime>() -> f64 {
    let n = sizes().round_trips;
    R::block_on(async move {
        let start = now_ns();
        let (mut ping_tx, mut ping_rx) = R::channel::<u64>(1);
        let (mut pong_tx, mut pong_rx) = R::channel::<u64>(1);
        let ponger = R::spawn(async move {
            while let Some(v) = R::recv(&mut ping_rx).await {
                R::send(&mut pong_tx, v + 1).await;
            }
        });
        let pinger = R::spawn(async move {
            let mut v = 0;
            for _ in 0..n {
                R::send(&mut ping_tx, v).await;
                v = R::recv(&mut pong_rx).await.unwrap_or(0);
            }
            v
        });
        let v = pinger.await;
        ponger.await;
        assert_eq!(v, n);
        (now_ns() - start) as f64 / n as f64
    })
}

/// Each task spawns the next, `chain` deep; the last one reports back.
/// ns/spawn.
pub fn chained_spawn<R: Runtime>() -> f64 {
    fn link<R: Runtime>(left: u64, mut done: R::Tx<()>) {
        R::spawn_detached(async move {
            if left == 0 {
                R::send(&mut done, ()).await;
            } else {
                link::<R>(left - 1, done);
            }
        });
    }
    let n = sizes().chain;
    R::block_on(async move {
        let start = now_ns();
        let (tx, mut rx) = R::channel::<()>(1);
        link::<R>(n, tx);
        R::recv(&mut rx).await;
        (now_ns() - start) as f64 / n as f64
    })
}

/// `sleepers` tasks sleeping uniform `0..=max_sleep_ms` ms (fixed seed).
/// ms beyond the longest sleep until all are done.
pub fn timers<R: Runtime>() -> f64 {
    let s = sizes();
    let max_ns = s.max_sleep_ms * 1_000_000;
    let mut rng = Rng::new(0x5eed_0fa1_1f00_d5ee);
    let durations: Vec<u64> = (0..s.sleepers).map(|_| rng.below(max_ns)).collect();
    R::block_on(async move {
        let start = wall_ns();
        let handles: Vec<_> = durations
            .into_iter()
            .map(|ns| R::spawn(R::sleep(Duration::from_nanos(ns))))
            .collect();
        for h in handles {
            h.await;
        }
        (wall_ns() - start) as f64 / 1e6 - s.max_sleep_ms as f64
    })
}

/// Uncontended lock/increment/unlock, `lock_ops` times. ns/op.
pub fn lock<R: Locks>() -> f64 {
    let n = sizes().lock_ops;
    R::block_on(async move {
        let m = R::mutex();
        let start = now_ns();
        for _ in 0..n {
            R::lock_incr(&m).await;
        }
        (now_ns() - start) as f64 / n as f64
    })
}

/// Uncontended acquire/release of one permit, `lock_ops` times. ns/op.
pub fn semaphore<R: Locks>() -> f64 {
    let n = sizes().lock_ops;
    R::block_on(async move {
        let s = R::semaphore(1);
        let start = now_ns();
        for _ in 0..n {
            R::acquire_release(&s).await;
        }
        (now_ns() - start) as f64 / n as f64
    })
}

// ---------------------------------------------------------------- table

/// One measurement of one workload on one peer: its figure in the unit.
pub type Measure = fn() -> f64;

/// A row of the table: a workload and how to measure it on each peer.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Row name.
    pub name: &'static str,
    /// Unit of the figures (lower is better).
    pub unit: &'static str,
    /// Per peer (same order as the harness's peer names): `None` = not available.
    pub peers: Vec<Option<Measure>>,
}

/// Builds a [`Workload`] row from a generic workload fn and the peer types:
/// `row!("yield", "ns/yield", yield_many; Anyloop, Tokio, Smol)`.
#[cfg_attr(target_family = "wasm", allow(unused_macros))]
macro_rules! row {
    ($name:expr, $unit:expr, $f:ident; $($peer:ty),+ $(,)?) => {
        $crate::workloads::Workload {
            name: $name,
            unit: $unit,
            peers: vec![$(Some($crate::workloads::$f::<$peer> as $crate::workloads::Measure)),+],
        }
    };
}

/// Median of `xs` (NaN if empty).
pub fn median(xs: &[f64]) -> f64 {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Runs `rounds` interleaved rounds (after one warm-up round) of every
/// workload on every peer, rotating the peer order each round, and returns
/// `samples[workload][peer]`.
pub fn measure(
    table: &[Workload],
    rounds: usize,
    mut progress: impl FnMut(&str),
) -> Vec<Vec<Vec<f64>>> {
    let peers = table.iter().map(|w| w.peers.len()).max().unwrap_or(0);
    let mut samples = vec![vec![Vec::new(); peers]; table.len()];
    for round in 0..=rounds {
        progress(&if round == 0 {
            "warm-up".to_string()
        } else {
            format!("round {round}/{rounds}")
        });
        for (wi, w) in table.iter().enumerate() {
            for k in 0..w.peers.len() {
                let pi = (k + round) % w.peers.len();
                if let Some(f) = w.peers[pi] {
                    let x = f();
                    if round > 0 {
                        samples[wi][pi].push(x);
                    }
                }
            }
        }
    }
    samples
}

/// Formats the table: each peer's median and anyloop (peer 0) / best other peer.
pub fn report(table: &[Workload], peer_names: &[&str], samples: &[Vec<Vec<f64>>]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = write!(out, "{:<14} {:<11}", "workload", "unit");
    for p in peer_names {
        let _ = write!(out, " {p:>10}");
    }
    let _ = writeln!(out, " {:>8}  {:>6}", "ratio", "spread");
    for (wi, w) in table.iter().enumerate() {
        let _ = write!(out, "{:<14} {:<11}", w.name, w.unit);
        let meds: Vec<f64> = samples[wi].iter().map(|s| median(s)).collect();
        for pi in 0..peer_names.len() {
            match meds.get(pi) {
                Some(m) if !m.is_nan() => {
                    let _ = write!(out, " {:>10}", fmt_fig(*m));
                }
                _ => {
                    let _ = write!(out, " {:>10}", "-");
                }
            }
        }
        let best_peer = meds
            .iter()
            .skip(1)
            .copied()
            .filter(|m| !m.is_nan())
            .fold(f64::NAN, f64::min);
        let ratio = meds.first().copied().unwrap_or(f64::NAN) / best_peer;
        if ratio.is_nan() {
            let _ = write!(out, " {:>8}", "-");
        } else {
            let _ = write!(out, " {ratio:>8.2}");
        }
        // Spread of anyloop's samples: (max - min) / median.
        let s = samples[wi].first().map(Vec::as_slice).unwrap_or(&[]);
        let (lo, hi) = s
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            });
        let med = median(s);
        if s.len() > 1 && med > 0.0 {
            let _ = write!(out, "  {:>5.0}%", (hi - lo) / med * 100.0);
        }
        let _ = writeln!(out);
    }
    out
}

fn fmt_fig(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}
