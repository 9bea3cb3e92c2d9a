//! The browser host inside a dedicated Web Worker (no `window`): the loop,
//! its clock (`performance.now()` via `globalThis`), timers, yields to the
//! worker's event loop and JS promises work as on the main thread.
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use anyloop::time::Instant;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[anyloop::test]
async fn runs_in_a_worker_without_window() {
    let global = js_sys::global();
    assert!(!js_sys::Reflect::has(&global, &"window".into()).unwrap());
    assert!(js_sys::Reflect::has(&global, &"importScripts".into()).unwrap());
    assert_eq!(anyloop::capabilities().host, "web");
}

#[anyloop::test]
async fn spawn_sleep_and_timeouts_work_in_a_worker() {
    let start = Instant::now();
    let tasks: Vec<_> = (0..10u64)
        .map(|i| {
            anyloop::spawn(async move {
                anyloop::sleep(Duration::from_millis(2 * i)).await;
                i
            })
        })
        .collect();
    let mut sum = 0;
    for t in tasks {
        sum += t.await.unwrap();
    }
    assert_eq!(sum, 45);
    assert!(start.elapsed() >= Duration::from_millis(18));
    let res = anyloop::timeout(
        Duration::from_millis(5),
        anyloop::sleep(Duration::from_secs(60)),
    )
    .await;
    assert!(res.is_err());
}

#[anyloop::test]
async fn busy_tasks_yield_to_the_worker_event_loop() {
    let stop = Rc::new(Cell::new(false));
    let s2 = stop.clone();
    let busy = anyloop::spawn(async move {
        while !s2.get() {
            anyloop::yield_now().await;
        }
    });
    // Resolved by a macrotask of the worker's own event loop.
    let p = js_sys::Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        let set_timeout: js_sys::Function = js_sys::Reflect::get(&global, &"setTimeout".into())
            .unwrap()
            .into();
        set_timeout.call2(&global, &resolve, &0.into()).unwrap();
    });
    anyloop::web::promise(p).await.unwrap();
    stop.set(true);
    busy.await.unwrap();
}
