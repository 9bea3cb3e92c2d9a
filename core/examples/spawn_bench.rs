//! Micro-benchmark of the spawn/wake hot path on the mock host:
//! `cargo run --release -p anyloop-core --example spawn_bench [N]`.
//!
//! Prints the median of 5 rounds for two shapes:
//! - `batch`: spawn N tasks, then await them all;
//! - `serial`: spawn and await one task at a time, N times.

use anyloop_core::{testing::MockHost, EventLoop};
use std::time::Instant;

fn batch(lp: &EventLoop, n: usize) -> u64 {
    lp.block_on(async move {
        let tasks: Vec<_> = (0..n as u64)
            .map(|i| anyloop_core::spawn(async move { i }))
            .collect();
        let mut sum = 0;
        for t in tasks {
            sum += t.await.unwrap();
        }
        sum
    })
}

fn serial(lp: &EventLoop, n: usize) -> u64 {
    lp.block_on(async move {
        let mut sum = 0;
        for i in 0..n as u64 {
            sum += anyloop_core::spawn(async move { i }).await.unwrap();
        }
        sum
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let rounds: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let lp = EventLoop::new(MockHost::new());
    let mut b = Vec::new();
    let mut s = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        std::hint::black_box(batch(&lp, n));
        b.push(t.elapsed().as_secs_f64() * 1e9 / n as f64);
        let t = Instant::now();
        std::hint::black_box(serial(&lp, n));
        s.push(t.elapsed().as_secs_f64() * 1e9 / n as f64);
    }
    println!(
        "n={n} rounds={rounds} batch: {:.1} ns/task  serial: {:.1} ns/task",
        median(b),
        median(s)
    );
}
