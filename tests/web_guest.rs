//! Guest mode in the browser: the page drives the loop itself, one
//! `EventLoop::tick` per `requestAnimationFrame`, on a `WebHost::guest()`
//! host that schedules nothing on its own.
//!
//! A separate test binary (its own wasm instance), because the guest loop
//! is installed for the thread's lifetime. The tests are plain
//! `wasm_bindgen_test`s: `#[anyloop::test]` would start the host's own loop.
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use anyloop::{Budget, EventLoop};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = globalThis, js_name = requestAnimationFrame)]
    fn request_animation_frame(cb: &Closure<dyn FnMut(f64)>) -> i32;
}

type FrameCallback = Closure<dyn FnMut(f64)>;

/// Resolves after `frames` animation frames, ticking the loop in each
/// (the guest-mode driver of the crate docs); returns the polls done.
async fn tick_frames(frames: u32) -> usize {
    let polls = Rc::new(Cell::new(0));
    let left = Rc::new(Cell::new(frames));
    let mut done = None;
    let finished = js_sys::Promise::new(&mut |resolve, _| done = Some(resolve));
    let done = done.unwrap();
    let cb: Rc<RefCell<Option<FrameCallback>>> = Rc::default();
    let again = cb.clone();
    let p2 = polls.clone();
    *cb.borrow_mut() = Some(Closure::new(move |_ts: f64| {
        let tick = EventLoop::with_installed(|lp| {
            lp.tick(Budget::new(1024, Some(Duration::from_millis(4))))
        });
        p2.set(p2.get() + tick.map_or(0, |t| t.polls));
        left.set(left.get() - 1);
        if left.get() == 0 {
            again.borrow_mut().take();
            done.call0(&JsValue::UNDEFINED).unwrap();
        } else if let Some(f) = again.borrow().as_ref() {
            request_animation_frame(f);
        }
    }));
    if let Some(f) = cb.borrow().as_ref() {
        request_animation_frame(f);
    };
    anyloop::web::promise(finished).await.unwrap();
    polls.get()
}

#[wasm_bindgen_test]
async fn a_page_drives_the_loop_from_request_animation_frame() {
    EventLoop::new(anyloop::web::WebHost::guest()).install();
    let steps = Rc::new(Cell::new(0u32));
    let s2 = steps.clone();
    let task = anyloop::spawn(async move {
        for _ in 0..3 {
            anyloop::sleep(Duration::from_millis(1)).await;
            s2.set(s2.get() + 1);
        }
        "done"
    });
    // Nobody ticks: the guest host schedules nothing by itself.
    anyloop::web::promise(js_sys::Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        let set_timeout: js_sys::Function = js_sys::Reflect::get(&global, &"setTimeout".into())
            .unwrap()
            .into();
        set_timeout.call2(&global, &resolve, &10.into()).unwrap();
    }))
    .await
    .unwrap();
    assert_eq!(steps.get(), 0);
    assert!(!task.is_finished());
    // One tick per frame: a 1 ms sleep completes in the next frame or so.
    let mut polls = 0;
    while !task.is_finished() {
        polls += tick_frames(1).await;
    }
    assert_eq!(steps.get(), 3);
    assert!(polls >= 4, "{polls}");
    assert_eq!(task.await.unwrap(), "done");
}
