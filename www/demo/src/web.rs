//! The wasm-bindgen API the pages call (`www/src/*.js`), and the browser
//! benchmark's peers: wasm-bindgen-futures' `spawn_local` and
//! async-executor's `LocalExecutor` driven from it.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_executor::LocalExecutor;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::bench::{self, Anyloop, Runtime};
use crate::{board, scenarios};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn perf_now() -> f64;

    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(cb: &js_sys::Function, ms: f64) -> JsValue;

    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(msg: &str);
}

/// Reports Rust panics on the console (wasm32 aborts on panic; without
/// this the page would only see "unreachable").
#[wasm_bindgen(start)]
pub fn init() {
    std::panic::set_hook(Box::new(|info| {
        console_error(&format!("anyloop demo: {info}"))
    }));
    board::seed(perf_now().to_bits() ^ 0x5DEE_CE66_D1CE_4E5B);
}

// ---- the demo page ----

fn start<F: Future<Output = board::GroupId> + 'static>(fut: F) {
    anyloop::spawn_root(fut).detach();
}

/// Starts `n` tasks with random sleeps of up to `max_sleep_ms`.
#[wasm_bindgen]
pub fn start_sleepers(n: u32, max_sleep_ms: u32) {
    start(scenarios::sleepers(n, u64::from(max_sleep_ms)));
}

/// Starts a task group of `fetchers` children and one that fails after
/// `fail_after_ms`.
#[wasm_bindgen]
pub fn start_task_group(fetchers: u32, sleep_ms: u32, fail_after_ms: u32) {
    start(scenarios::task_group(
        fetchers,
        u64::from(sleep_ms),
        u64::from(fail_after_ms),
    ));
}

/// Starts a producer and `consumers` consumers over a queue of `maxsize`.
#[wasm_bindgen]
pub fn start_queue(items: u32, maxsize: u32, consumers: u32) {
    start(scenarios::producer_consumer(
        items,
        maxsize as usize,
        consumers,
    ));
}

/// Spawns `n` CPU-heavy tasks of `work` rounds each.
#[wasm_bindgen]
pub fn start_cpu_storm(n: u32, work: u32) {
    start(scenarios::cpu_storm(n, work));
}

/// Cancels the task of row `id`.
#[wasm_bindgen]
pub fn cancel_row(id: u32) -> bool {
    scenarios::cancel(id)
}

/// Removes finished groups from the board.
#[wasm_bindgen]
pub fn clear_finished() {
    board::clear_finished();
}

/// The board as JSON (see [`board::snapshot_json`]).
#[wasm_bindgen]
pub fn snapshot() -> String {
    board::snapshot_json()
}

thread_local! {
    /// Keeps the loop's per-task statistics on while the page lives.
    static STATS: std::cell::OnceCell<anyloop::debug::StatsGuard> =
        const { std::cell::OnceCell::new() };
}

/// The live task panel's data: the `limit` oldest tasks and the live count
/// ([`board::tasks_json`]), with the loop's per-task statistics switched on
/// (from the first call on).
#[wasm_bindgen]
pub fn monitor_tasks(limit: u32) -> String {
    if anyloop::EventLoop::with_installed(|_| ()).is_none() {
        // No scenario ran yet: install the page's loop (empty).
        anyloop::spawn_root(async {}).detach();
    }
    STATS.with(|s| {
        s.get_or_init(anyloop::debug::collect_task_stats);
    });
    board::tasks_json(limit as usize)
}

// ---- the benchmark page ----

/// One `setTimeout` as a future (what a program on `spawn_local` uses to
/// sleep).
fn js_sleep(dur: Duration) -> impl Future<Output = ()> + 'static {
    let ms = dur.as_secs_f64() * 1e3;
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        set_timeout(&resolve, ms);
    });
    async move {
        let _ = JsFuture::from(promise).await;
    }
}

/// `futures_lite::future::yield_now`: wake self, return pending once.
struct YieldOnce(bool);

impl Future for YieldOnce {
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

/// wasm-bindgen-futures' `spawn_local`.
#[derive(Clone, Copy)]
struct SpawnLocal;

impl Runtime for SpawnLocal {
    fn spawn_detached<F: Future<Output = ()> + 'static>(&self, fut: F) {
        wasm_bindgen_futures::spawn_local(fut);
    }
    fn sleep(&self, dur: Duration) -> impl Future<Output = ()> + 'static {
        js_sleep(dur)
    }
    fn yield_now(&self) -> impl Future<Output = ()> + 'static {
        YieldOnce(false)
    }
    fn now_ms(&self) -> f64 {
        perf_now()
    }
}

/// async-executor's `LocalExecutor`, itself run by `spawn_local`.
#[derive(Clone)]
struct Executor(Rc<LocalExecutor<'static>>);

impl Runtime for Executor {
    fn spawn_detached<F: Future<Output = ()> + 'static>(&self, fut: F) {
        self.0.spawn(fut).detach();
    }
    fn sleep(&self, dur: Duration) -> impl Future<Output = ()> + 'static {
        js_sleep(dur)
    }
    fn yield_now(&self) -> impl Future<Output = ()> + 'static {
        YieldOnce(false)
    }
    fn now_ms(&self) -> f64 {
        perf_now()
    }
}

/// The benchmark's runtimes, in the table's column order.
#[wasm_bindgen]
pub fn bench_runtimes() -> Vec<String> {
    ["anyloop", "spawn_local", "async-executor"]
        .map(String::from)
        .to_vec()
}

/// The workloads with their default browser sizes and units:
/// `[[name, n, unit], ..]` as JSON.
#[wasm_bindgen]
pub fn bench_workloads() -> String {
    let rows: Vec<String> = bench::SIZES
        .iter()
        .map(|(w, n, u)| format!("[\"{w}\",{n},\"{u}\"]"))
        .collect();
    format!("[{}]", rows.join(","))
}

fn err(e: impl std::fmt::Display) -> JsValue {
    JsValue::from_str(&e.to_string())
}

/// Runs `$body`, an async expression over `$rt` (a [`Runtime`]), on the
/// runtime named `$name`: `Ok` with its output, `Err` for an unknown name
/// (or a failed anyloop task).
macro_rules! on_runtime {
    ($name:expr, |$rt:ident| $body:expr) => {
        match $name {
            "anyloop" => {
                let $rt = Anyloop;
                anyloop::spawn_root(async move { $body.await })
                    .await
                    .map_err(err)
            }
            "spawn_local" => {
                let $rt = SpawnLocal;
                Ok($body.await)
            }
            "async-executor" => {
                let ex = Rc::new(LocalExecutor::new());
                let $rt = Executor(ex.clone());
                Ok(ex.run($body).await)
            }
            other => Err(err(format!("unknown runtime {other:?}"))),
        }
    };
}

/// Runs workload `workload` of size `n` on `runtime`; its figure.
#[wasm_bindgen]
pub async fn bench_run(runtime: String, workload: String, n: u32) -> Result<f64, JsValue> {
    on_runtime!(runtime.as_str(), |rt| bench::run(rt, &workload, n))?.map_err(err)
}

/// `n` sequential `yield_now`s (or `sleep(0)`s when `sleep0`) on `runtime`
/// in one task; total ms.
#[wasm_bindgen]
pub async fn bench_sequential(runtime: String, n: u32, sleep0: bool) -> Result<f64, JsValue> {
    on_runtime!(runtime.as_str(), |rt| bench::sequential(rt, n, sleep0))
}

/// [`bench::busy_tasks`] on `runtime`: `n` tasks of `work` xorshift rounds
/// each; ms until all finished. The page measures the longest gap between
/// animation frames around it (the frame-gap row).
#[wasm_bindgen]
pub async fn bench_busy(runtime: String, n: u32, work: u32) -> Result<f64, JsValue> {
    on_runtime!(runtime.as_str(), |rt| bench::busy_tasks(rt, n, work))
}

/// The frame-gap row's task count and work per task: `[n, work]`.
#[wasm_bindgen]
pub fn bench_busy_size() -> Vec<u32> {
    vec![bench::FRAME_GAP_TASKS, bench::FRAME_GAP_WORK]
}
