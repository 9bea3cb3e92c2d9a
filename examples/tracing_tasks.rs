//! anyloop's tasks seen through `tracing` (cargo feature `tracing`):
//!
//! ```text
//! cargo run --example tracing_tasks --features tracing
//! ```
//!
//! A `tracing_subscriber::fmt` subscriber prints each task's
//! `runtime.spawn` span (name, id, where it was spawned) around the lines
//! logged inside it, and anyloop's events: spawned, woken, cancel
//! requested, finished (with its outcome), and a slow poll. Without the
//! feature only the program's own `info!` lines appear. The same program
//! runs under WASI (`cargo build --target wasm32-wasip1 --example tracing_tasks
//! --features tracing`, then `wasmtime run`).
use std::time::Duration;

use anyloop::task::Builder;
use anyloop::time::Instant;
use tracing::Level;

#[anyloop::main]
async fn main() {
    // anyloop's task spans and lifecycle events are DEBUG, wake-ups TRACE,
    // slow polls WARN. (`without_time`: short lines; the clock is also
    // unavailable to it in a browser.)
    tracing_subscriber::fmt()
        .with_max_level(Level::DEBUG)
        .without_time()
        .init();
    // A poll over 50 ms is slow (the default is 100 ms).
    anyloop::debug::set_slow_callback_duration(Duration::from_millis(50));

    let worker = Builder::new().name("worker").spawn(async {
        tracing::info!("fetching"); // inside the worker's span
        anyloop::sleep(Duration::from_millis(10)).await;
        42
    });
    let blocker = Builder::new().name("blocker").spawn(async {
        // Blocks the loop for 80 ms (no `.await`): a slow poll.
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(80) {
            std::hint::spin_loop();
        }
    });
    let idle = Builder::new()
        .name("idle")
        .spawn(std::future::pending::<()>());
    anyloop::yield_now().await;
    idle.cancel_with("not needed");

    let answer = worker.await.unwrap();
    tracing::info!(answer, "worker done");
    blocker.await.unwrap();
    assert!(idle.await.unwrap_err().is_cancelled());
}
