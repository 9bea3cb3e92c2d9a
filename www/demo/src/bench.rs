//! The browser benchmark's workloads (issue 3's set, with smaller counts),
//! written once against [`Runtime`] so anyloop and its peers run the same
//! code. Each workload returns its figure: ns per operation, or for
//! `timers` the ms the last timer fired beyond the longest sleep.
//!
//! Every runtime uses the same [`Latch`] to join and the same
//! `anyloop::queue::Queue(1)` pair to ping pong (anyloop's queue is plain
//! wakers, usable from any executor), so the figures compare executors.

use std::future::Future;
use std::hint::black_box;
use std::rc::Rc;
use std::time::Duration;

use anyloop::queue::Queue;

use crate::mini::{spin, Latch};

/// What a workload needs from an executor.
pub trait Runtime: Clone + 'static {
    /// Spawns `fut` detached on the current executor.
    fn spawn_detached<F: Future<Output = ()> + 'static>(&self, fut: F);
    /// Sleeps for `dur`.
    fn sleep(&self, dur: Duration) -> impl Future<Output = ()> + 'static;
    /// Lets every other ready task run once.
    fn yield_now(&self) -> impl Future<Output = ()> + 'static;
    /// Milliseconds on a monotonic clock.
    fn now_ms(&self) -> f64;
}

/// anyloop itself.
#[derive(Clone, Copy, Debug)]
pub struct Anyloop;

impl Runtime for Anyloop {
    fn spawn_detached<F: Future<Output = ()> + 'static>(&self, fut: F) {
        anyloop::spawn(fut).detach();
    }

    fn sleep(&self, dur: Duration) -> impl Future<Output = ()> + 'static {
        anyloop::sleep(dur)
    }

    fn yield_now(&self) -> impl Future<Output = ()> + 'static {
        anyloop::yield_now()
    }

    fn now_ms(&self) -> f64 {
        anyloop::time::Instant::now().as_nanos() as f64 / 1e6
    }
}

/// The workloads, by name.
pub const WORKLOADS: &[&str] = &["spawn_join", "yield", "pingpong", "chained_spawn", "timers"];

/// Default sizes in the browser: `(workload, n, unit)`.
pub const SIZES: &[(&str, u32, &str)] = &[
    ("spawn_join", 100_000, "ns/task"),
    ("yield", 300, "ns/yield"),
    ("pingpong", 100_000, "ns/round trip"),
    ("chained_spawn", 100_000, "ns/spawn"),
    ("timers", 10_000, "ms beyond 50"),
];

/// Runs workload `name` with size `n` on `rt` (from inside `rt`'s own
/// executor) and returns its figure.
///
/// # Errors
///
/// An unknown workload name.
pub async fn run<R: Runtime>(rt: R, name: &str, n: u32) -> Result<f64, String> {
    match name {
        "spawn_join" => Ok(spawn_join(rt, n).await),
        "yield" => Ok(yields(rt, n, 1000).await),
        "pingpong" => Ok(pingpong(rt, n).await),
        "chained_spawn" => Ok(chained_spawn(rt, n).await),
        "timers" => Ok(timers(rt, n, 50).await),
        other => Err(format!("unknown workload {other:?}")),
    }
}

/// spawn `n` tasks returning `i`, join them all; ns per task.
pub async fn spawn_join<R: Runtime>(rt: R, n: u32) -> f64 {
    let t0 = rt.now_ms();
    let latch = Latch::new(n as usize);
    let sum = Rc::new(std::cell::Cell::new(0u64));
    for i in 0..n {
        let latch = latch.clone();
        let sum = sum.clone();
        rt.spawn_detached(async move {
            sum.set(sum.get() + u64::from(i));
            latch.count_down();
        });
    }
    latch.wait().await;
    assert_eq!(sum.get(), u64::from(n) * u64::from(n.saturating_sub(1)) / 2);
    (rt.now_ms() - t0) * 1e6 / f64::from(n)
}

/// `tasks` tasks × `per_task` `yield_now`s; ns per yield.
pub async fn yields<R: Runtime>(rt: R, tasks: u32, per_task: u32) -> f64 {
    let t0 = rt.now_ms();
    let latch = Latch::new(tasks as usize);
    for _ in 0..tasks {
        let latch = latch.clone();
        let r = rt.clone();
        rt.spawn_detached(async move {
            for _ in 0..per_task {
                r.yield_now().await;
            }
            latch.count_down();
        });
    }
    latch.wait().await;
    (rt.now_ms() - t0) * 1e6 / (f64::from(tasks) * f64::from(per_task))
}

/// Two tasks passing a value back and forth through capacity-1 channels,
/// `n` round trips; ns per round trip.
pub async fn pingpong<R: Runtime>(rt: R, n: u32) -> f64 {
    let t0 = rt.now_ms();
    let (ping, pong) = (Queue::new(1), Queue::new(1));
    let latch = Latch::new(2);
    {
        let (ping, pong, latch) = (ping.clone(), pong.clone(), latch.clone());
        rt.spawn_detached(async move {
            for i in 0..n {
                ping.put(i).await.unwrap();
                let back = pong.get().await.unwrap();
                debug_assert_eq!(back, i);
            }
            latch.count_down();
        });
    }
    {
        let latch = latch.clone();
        rt.spawn_detached(async move {
            for _ in 0..n {
                let v = ping.get().await.unwrap();
                pong.put(v).await.unwrap();
            }
            latch.count_down();
        });
    }
    latch.wait().await;
    (rt.now_ms() - t0) * 1e6 / f64::from(n)
}

/// Each task spawns the next, `n` deep; ns per spawn.
pub async fn chained_spawn<R: Runtime>(rt: R, n: u32) -> f64 {
    fn link<R: Runtime>(rt: R, left: u32, latch: Latch) {
        let r = rt.clone();
        rt.spawn_detached(async move {
            if left == 0 {
                latch.count_down();
            } else {
                link(r, left - 1, latch);
            }
        });
    }
    let t0 = rt.now_ms();
    let latch = Latch::new(1);
    link(rt.clone(), n, latch.clone());
    latch.wait().await;
    (rt.now_ms() - t0) * 1e6 / f64::from(n)
}

/// `n` tasks sleeping uniformly over `0..=max_ms`; ms from the start
/// until the last woke, beyond `max_ms`.
pub async fn timers<R: Runtime>(rt: R, n: u32, max_ms: u32) -> f64 {
    let t0 = rt.now_ms();
    let latch = Latch::new(n as usize);
    for i in 0..n {
        let latch = latch.clone();
        let us = u64::from(i) * u64::from(max_ms) * 1000 / u64::from(n.max(1));
        let sleep = rt.sleep(Duration::from_micros(us));
        rt.spawn_detached(async move {
            sleep.await;
            latch.count_down();
        });
    }
    latch.wait().await;
    rt.now_ms() - t0 - f64::from(max_ms)
}

/// The frame-gap row's size: this many [`busy_tasks`] of
/// [`FRAME_GAP_WORK`] xorshift rounds each (a few hundred ms in all).
pub const FRAME_GAP_TASKS: u32 = 100_000;

/// Xorshift rounds per task of the frame-gap row (half before its yield,
/// half after).
pub const FRAME_GAP_WORK: u32 = 2_000;

/// `n` tasks that each spin `work / 2` rounds, yield once and spin again
/// (the demo's CPU storm, smaller); ms until the last finished. The page
/// records the longest gap between animation frames meanwhile: what the
/// runtime costs the page's responsiveness.
pub async fn busy_tasks<R: Runtime>(rt: R, n: u32, work: u32) -> f64 {
    let t0 = rt.now_ms();
    let latch = Latch::new(n as usize);
    for _ in 0..n {
        let latch = latch.clone();
        let r = rt.clone();
        rt.spawn_detached(async move {
            black_box(spin(black_box(work / 2)));
            r.yield_now().await;
            black_box(spin(black_box(work - work / 2)));
            latch.count_down();
        });
    }
    latch.wait().await;
    rt.now_ms() - t0
}

/// `n` sequential `yield_now`s (`sleep0 = false`) or `sleep(0)`s in one
/// task; total ms.
pub async fn sequential<R: Runtime>(rt: R, n: u32, sleep0: bool) -> f64 {
    let t0 = rt.now_ms();
    for _ in 0..n {
        if sleep0 {
            rt.sleep(Duration::ZERO).await;
        } else {
            rt.yield_now().await;
        }
    }
    rt.now_ms() - t0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_runs_on_anyloop() {
        anyloop::run(async {
            for w in WORKLOADS {
                let n = if *w == "yield" { 10 } else { 2_000 };
                let v = run(Anyloop, w, n).await.unwrap();
                assert!(v.is_finite(), "{w}: {v}");
            }
            assert!(run(Anyloop, "nope", 1).await.is_err());
            let ms = sequential(Anyloop, 1000, false).await;
            assert!(ms < 1000.0, "{ms}");
            let ms = sequential(Anyloop, 100, true).await;
            assert!(ms < 1000.0, "{ms}");
            let ms = busy_tasks(Anyloop, 1000, 100).await;
            assert!(ms.is_finite() && ms >= 0.0, "{ms}");
        });
    }
}
