//! Browser-only behaviour: awaiting JS promises, yielding to the page while
//! tasks are busy, timers past `setTimeout`'s 32-bit limit, and the cost of
//! `yield_now` (logged, not asserted).
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use anyloop::time::Instant;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = globalThis, js_name = setTimeout)]
    fn set_timeout(cb: &js_sys::Function, ms: i32) -> JsValue;

    #[wasm_bindgen(js_namespace = ["globalThis", "console"], js_name = log)]
    fn console_log(msg: &str);
}

/// A promise the browser resolves from a `setTimeout(ms)` macrotask.
fn js_timeout(ms: i32) -> js_sys::Promise {
    js_sys::Promise::new(&mut |resolve, _reject| {
        set_timeout(&resolve, ms);
    })
}

#[anyloop::test]
async fn js_promises_can_be_awaited() {
    let v = anyloop::web::promise(js_sys::Promise::resolve(&JsValue::from(42)))
        .await
        .unwrap();
    assert_eq!(v, 42);
    let err = anyloop::web::promise(js_sys::Promise::reject(&JsValue::from("no")))
        .await
        .unwrap_err();
    assert_eq!(err, "no");
    // Resolved later by a browser macrotask, while the loop idles.
    anyloop::web::promise(js_timeout(5)).await.unwrap();
}

#[anyloop::test]
async fn busy_tasks_let_the_browser_run() {
    // Two tasks that never stop yielding: without a yield to the browser
    // between batches, the setTimeout below would never get to run.
    let stop = Rc::new(Cell::new(false));
    let spins = Rc::new(Cell::new(0u64));
    let busy: Vec<_> = (0..2)
        .map(|_| {
            let (stop, spins) = (stop.clone(), spins.clone());
            anyloop::spawn(async move {
                while !stop.get() {
                    spins.set(spins.get() + 1);
                    anyloop::yield_now().await;
                }
            })
        })
        .collect();
    anyloop::web::promise(js_timeout(0)).await.unwrap();
    stop.set(true);
    for t in busy {
        t.await.unwrap();
    }
    assert!(spins.get() > 0);
}

#[anyloop::test]
async fn timers_past_the_set_timeout_limit_do_not_fire_early() {
    // 2^31 ms is where setTimeout's delay wraps (to ~1 ms): the host must
    // arm a shorter timer and re-arm, never fire early.
    let start = Instant::now();
    let far = anyloop::spawn(anyloop::sleep(Duration::from_millis(1 << 31)));
    let farther = anyloop::spawn(anyloop::sleep(Duration::from_secs(100 * 365 * 86_400)));
    anyloop::sleep(Duration::from_millis(30)).await;
    assert!(!far.is_finished() && !farther.is_finished());
    far.cancel();
    farther.cancel();
    assert!(far.await.unwrap_err().is_cancelled());
    assert!(farther.await.unwrap_err().is_cancelled());
    // The loop still serves short timers after the long ones are gone.
    anyloop::sleep(Duration::from_millis(5)).await;
    assert!(start.elapsed() >= Duration::from_millis(35));
}

#[anyloop::test]
async fn tasks_spawned_from_js_callbacks_run() {
    let ran = Rc::new(Cell::new(false));
    let r2 = ran.clone();
    let task = Rc::new(Cell::new(None));
    let tx = task.clone();
    let cb = Closure::once_into_js(move || {
        // Outside any tick: spawn_root reaches the installed loop.
        tx.set(Some(anyloop::spawn_root(async move { r2.set(true) })));
    });
    set_timeout(cb.unchecked_ref(), 1);
    while task.take().is_none() {
        anyloop::sleep(Duration::from_millis(2)).await;
    }
    anyloop::sleep(Duration::from_millis(1)).await;
    assert!(ran.get());
}

/// 1,000 sequential `yield_now`s (asyncio's `sleep(0)`): logged, not
/// asserted, as wall-clock time varies between machines.
#[anyloop::test]
async fn yield_now_1000_sequential_logged() {
    const N: u32 = 1000;
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..N {
            anyloop::yield_now().await;
        }
        best = best.min(start.elapsed());
        // Let the page breathe between rounds.
        anyloop::sleep(Duration::from_millis(1)).await;
    }
    let mut zero = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        for _ in 0..N {
            anyloop::sleep(Duration::ZERO).await;
        }
        zero = zero.min(start.elapsed());
    }
    console_log(&format!(
        "anyloop-measure: {N} sequential yield_now: {:.3} ms; {N} sleep(0): {:.3} ms (best of rounds)",
        best.as_secs_f64() * 1e3,
        zero.as_secs_f64() * 1e3
    ));
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = globalThis, js_name = queueMicrotask)]
    fn queue_microtask(cb: &JsValue);

    #[wasm_bindgen(js_name = Promise)]
    type Resolved;

    #[wasm_bindgen(static_method_of = Resolved, js_class = Promise, js_name = resolve)]
    fn resolved() -> Resolved;

    #[wasm_bindgen(method)]
    fn then(this: &Resolved, cb: &JsValue);
}

/// Runs `n` microtask hops, each scheduled from wasm by `hop`, and returns
/// the total time.
async fn time_hops(n: u32, hop: fn(&JsValue)) -> Duration {
    use std::cell::RefCell;
    type Cb = Rc<RefCell<Option<Closure<dyn FnMut(JsValue)>>>>;
    let mut done = None;
    let finished = js_sys::Promise::new(&mut |resolve, _| done = Some(resolve));
    let done = done.unwrap();
    let left = Rc::new(Cell::new(n));
    let cb: Cb = Rc::default();
    let me = cb.clone();
    *cb.borrow_mut() = Some(Closure::new(move |_| {
        let l = left.get();
        if l == 0 {
            done.call0(&JsValue::UNDEFINED).unwrap();
            return;
        }
        left.set(l - 1);
        if let Some(f) = me.borrow().as_ref() {
            hop(f.as_ref());
        }
    }));
    let start = Instant::now();
    if let Some(f) = cb.borrow().as_ref() {
        hop(f.as_ref());
    }
    anyloop::web::promise(finished).await.unwrap();
    let took = start.elapsed();
    cb.borrow_mut().take();
    took
}

thread_local! {
    static RESOLVED: Resolved = Resolved::resolved();
}

/// The two ways to queue a microtask from wasm, timed in the same page
/// (the backend uses the first): logged, not asserted.
#[anyloop::test]
async fn microtask_hop_cost_logged() {
    const N: u32 = 20_000;
    fn then_hop(cb: &JsValue) {
        RESOLVED.with(|p| p.then(cb));
    }
    let (mut then_ns, mut qm_ns) = (f64::MAX, f64::MAX);
    for _ in 0..5 {
        then_ns = then_ns.min(time_hops(N, then_hop).await.as_nanos() as f64 / f64::from(N));
        qm_ns = qm_ns.min(time_hops(N, queue_microtask).await.as_nanos() as f64 / f64::from(N));
    }
    // End to end: awaiting an already-resolved JS promise (JS settles it,
    // wakes the task, the loop hops back in).
    let start = Instant::now();
    for _ in 0..N {
        anyloop::web::promise(js_sys::Promise::resolve(&JsValue::NULL))
            .await
            .unwrap();
    }
    let await_ns = start.elapsed().as_nanos() as f64 / f64::from(N);
    console_log(&format!(
        "anyloop-measure-hops: Promise.then hop {then_ns:.0} ns, queueMicrotask hop {qm_ns:.0} ns, \
         await of a resolved JS promise {await_ns:.0} ns (best of 5 rounds of {N})"
    ));
}
