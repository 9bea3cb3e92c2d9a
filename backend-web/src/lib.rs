//! anyloop's browser host (`wasm32-unknown-unknown`): the event loop runs on
//! the page's own event loop, on the main thread or in a Web Worker.
//!
//! Applications use the `anyloop` facade: `#[anyloop::main]` or
//! `anyloop::spawn_root(fut)` start a program, everything else
//! (`spawn`, `sleep`, `timeout`, …) works as on the other hosts. JS promises
//! are awaited with [`promise`] (or [`JsFuture`]).
//!
//! # Examples
//!
//! ```ignore
//! // Browser only (wasm32-unknown-unknown).
//! #[anyloop::main]
//! async fn main() {
//!     anyloop::sleep(std::time::Duration::from_millis(10)).await;
//!     let p = js_sys::Promise::resolve(&42.into());
//!     assert_eq!(anyloop_web::promise(p).await.unwrap(), 42);
//! }
//! ```
//!
//! # Implementation
//!
//! The browser cannot block, so [`WebHost::park`](anyloop_core::Host::park)
//! is `Unsupported` and the loop is driven by [`EventLoop::tick`]:
//!
//! - wake-up: one tick per batch on the microtask queue, through a single
//!   reusable resolved `Promise` and one `then` callback, no allocation per
//!   hop. In headless Chromium 156 a `then` hop from wasm costs ~0.1 µs and
//!   a `queueMicrotask` hop ~1 µs (release build; `tests/web.rs` logs both
//!   as `anyloop-measure-hops`). A flag keeps at most one hop queued;
//! - fairness: a tick spends at most 8 ms (a time-only budget, no poll
//!   cap: the core reads the clock every 32 to 1024 polls); if work remains the
//!   next tick is a `MessageChannel` macrotask, so input and rendering run
//!   in between (`setTimeout(0)` would be clamped to 4 ms). A poll cap
//!   would hand back to the browser after every few thousand cheap polls,
//!   and each hand-back costs far more than the polls it bounds;
//! - timers: one `setTimeout` for the earliest deadline, re-armed only when
//!   that deadline changes. Deadlines past `setTimeout`'s 2³¹−1 ms limit are
//!   re-armed in chunks; a timer never fires before its deadline (the core
//!   compares it with the clock);
//! - clock: `globalThis.performance.now()` (windows and workers alike).
//!   Each reading is a call out of wasm (~0.25 µs in headless Chromium
//!   156, ~15 `yield_now` rounds), so a tick reads it once at its start
//!   (budget and due timers alike), then every 32 to 1024 polls (the
//!   stride doubles while polls are cheap), and once more at its end only
//!   if tasks ran;
//! - code size: every JS import and closure type adds wasm-bindgen glue to
//!   the program's JS and a shim to its wasm. The three callbacks are no
//!   closures but raw wasm exports, which are JS functions already (looked
//!   up once in `wasm_bindgen::exports()`): a `Closure` type costs its JS
//!   machinery (reference counts, a `FinalizationRegistry`, a cast
//!   intrinsic), invoke shims and a destructor export, 1.5 KB of hello
//!   world (1,327 B of JS, 186 B of wasm after `wasm-opt`); the debug flag
//!   is one `globalThis.ANYLOOP_DEBUG` property read whose truthiness the
//!   glue returns as an `Option<bool>`, where `js_sys::global()` and
//!   `Reflect.get` cost four global-object probes and an exception shim
//!   (~1.7 KB of JS, ~0.5 KB of wasm in hello world), and a
//!   `thread_local_v2` static of the value its lazy cell, a handle in the
//!   externref table and an `is_falsy` import (522 B). The driver is leaked on first use and found
//!   through a `const`-initialized thread-local `Cell`: std's lazily
//!   initialized thread-locals add code to drop a value replaced during
//!   initialization and their "during or after destruction" panics (125 B
//!   of hello world after `wasm-opt`), a `OnceCell` its re-entrancy check,
//!   which drops a second driver (381 B);
//! - memory: with the `talc` feature (which `anyloop`'s default feature
//!   `web-talc` turns on) the program's global allocator is
//!   [talc](https://docs.rs/talc)'s single-threaded wasm allocator instead
//!   of Rust's default dlmalloc: hello world's wasm is 6,167 B smaller
//!   after `wasm-opt` (31,726 -> 25,559 B), and talc's own wasm benchmarks
//!   find it faster than dlmalloc. A program that declares its own
//!   `#[global_allocator]` turns the feature off (`anyloop` with
//!   `default-features = false`). Not on builds with the `atomics` target
//!   feature (shared-memory threads), which keep the default allocator.
//!
//! ## Design decisions (issue 17)
//!
//! wasm-bindgen-futures' `spawn_local` runs, per microtask, the tasks
//! queued before it began and queues another microtask for those they
//! wake; it never reads the clock and never hands the page back. anyloop
//! drains the ready queue within one tick instead (a hop per batch would
//! cost more than the polls: ping-pong costs 1/20 or less of what it
//! costs on `spawn_local`), and bounds the tick by time so that the page still
//! draws: `cargo xtask bench --host web` has a frame-gap row, the longest
//! gap between `requestAnimationFrame` callbacks while 100,000 short
//! CPU-bound tasks run. On a loaded 2-core machine: anyloop 43 ms (the
//! spawner's single poll plus a tick), `spawn_local` 568 ms: the page is
//! frozen for the whole run. The price is a clock reading per stride and
//! a `MessageChannel` hop (plus whatever rendering the browser does) per
//! 8 ms of work. What remains between anyloop and `spawn_local` on the
//! spawn and yield rows is the core's per-task work (a task id, state and
//! registry entry for `all_tasks`, a join handle), not this backend: in
//! one page, 100,000 tasks take ~12 ns each to spawn and ~33 ns to run
//! and free on anyloop against ~8 and ~24 ns on `spawn_local`.
//!
//! # Guest mode
//!
//! A page, game or GUI that already has a frame loop can drive anyloop
//! itself: install a loop on a [`WebHost::guest`] host (which schedules
//! nothing on its own) and call [`EventLoop::tick`] once per frame, e.g. from
//! `requestAnimationFrame`. Each tick fires due timers and runs ready tasks
//! within its [`Budget`]; the returned [`Tick`](anyloop_core::Tick) says
//! whether work is left and when the next timer is due.
//!
//! ```ignore
//! // Browser only (wasm32-unknown-unknown).
//! use std::{cell::RefCell, rc::Rc, time::Duration};
//! use anyloop::{Budget, EventLoop};
//! use wasm_bindgen::prelude::*;
//!
//! #[wasm_bindgen]
//! extern "C" {
//!     #[wasm_bindgen(js_name = requestAnimationFrame)]
//!     fn request_animation_frame(cb: &Closure<dyn FnMut(f64)>) -> i32;
//! }
//!
//! #[wasm_bindgen(start)]
//! fn start() {
//!     EventLoop::new(anyloop::web::WebHost::guest()).install();
//!     anyloop::spawn(async {
//!         loop {
//!             anyloop::sleep(Duration::from_millis(500)).await;
//!             // update the game state …
//!         }
//!     })
//!     .detach();
//!     // Tick once per frame, at most 4 ms of it.
//!     let cb: Rc<RefCell<Option<Closure<dyn FnMut(f64)>>>> = Rc::default();
//!     let again = cb.clone();
//!     *cb.borrow_mut() = Some(Closure::new(move |_ts: f64| {
//!         EventLoop::with_installed(|lp| lp.tick(Budget::new(1024, Some(Duration::from_millis(4)))));
//!         if let Some(f) = again.borrow().as_ref() {
//!             request_animation_frame(f);
//!         }
//!     }));
//!     if let Some(f) = cb.borrow().as_ref() {
//!         request_animation_frame(f);
//!     };
//! }
//! ```
// Off its target the crate is empty, so the links of the docs above have
// nothing to point to (`cargo doc --workspace` on a native host); on its
// target every link resolves (`cargo doc --target …` is warning-free).
#![cfg_attr(
    not(all(target_arch = "wasm32", target_os = "unknown")),
    allow(rustdoc::broken_intra_doc_links)
)]
#![cfg(all(target_arch = "wasm32", target_os = "unknown"))]
#![deny(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

pub mod fd;
pub mod io;

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyloop_core::time::Instant;
use anyloop_core::{unsupported, Budget, Capabilities, EventLoop, Host, Task, Unpark};
use wasm_bindgen::prelude::*;

pub use wasm_bindgen_futures::JsFuture;

/// The program's global allocator (see the crate docs, "memory"):
/// talc's allocator for single-threaded wasm, which grows the linear
/// memory as needed.
#[cfg(all(feature = "talc", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// What the browser host can do: tasks, timers and JS promises; no
/// blocking, threads, processes, signals, raw sockets or file system.
pub const CAPABILITIES: Capabilities = Capabilities::none("web");

/// `setTimeout`'s largest delay (a signed 32-bit number of milliseconds).
const MAX_DELAY_MS: f64 = 2_147_483_647.0;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["globalThis", "performance"], js_name = now)]
    fn performance_now() -> f64;

    #[wasm_bindgen(js_namespace = globalThis, js_name = setTimeout)]
    fn set_timeout(cb: &JsValue, ms: f64) -> JsValue;

    #[wasm_bindgen(js_namespace = globalThis, js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);

    #[wasm_bindgen(js_name = Promise)]
    type ResolvedPromise;

    #[wasm_bindgen(static_method_of = ResolvedPromise, js_class = Promise, js_name = resolve)]
    fn resolved() -> ResolvedPromise;

    #[wasm_bindgen(method)]
    fn then(this: &ResolvedPromise, cb: &JsValue);

    #[wasm_bindgen(js_namespace = ["globalThis", "console"], js_name = error)]
    fn console_error_js(msg: &str);

    #[wasm_bindgen(js_namespace = ["globalThis", "console"], js_name = log)]
    fn console_log(msg: &str);

    /// Read through [`Object::get`] (`port1`, `port2`): one import for
    /// every property read, where a getter each costs its own glue.
    type MessageChannel;

    #[wasm_bindgen(constructor, js_namespace = globalThis)]
    fn new() -> MessageChannel;

    type MessagePort;

    #[wasm_bindgen(method, setter)]
    fn set_onmessage(this: &MessagePort, cb: &JsValue);

    #[wasm_bindgen(method, js_name = postMessage)]
    fn post_message(this: &MessagePort, msg: &JsValue);

    /// A JS object whose properties are read by name: the module's raw
    /// wasm exports (`wasm_bindgen::exports()`), a `MessageChannel`.
    type Object;

    /// `object[name]` (a raw wasm export is a plain JS function).
    #[wasm_bindgen(method, structural, indexing_getter)]
    fn get(this: &Object, name: &str) -> JsValue;

    /// `globalThis`, for its static getter below.
    #[wasm_bindgen(js_name = globalThis)]
    type Global;

    /// `globalThis.ANYLOOP_DEBUG`'s truthiness, `None` when it is
    /// `undefined` or `null`: one plain property read, which the glue
    /// converts (`isLikeNone(v) ? none : v ? 1 : 0`).
    #[wasm_bindgen(static_method_of = Global, js_class = "globalThis", getter = ANYLOOP_DEBUG)]
    fn anyloop_debug() -> Option<bool>;
}

/// Monotonic nanoseconds from `performance.now()` (the page's time origin).
pub fn now_ns() -> u64 {
    // performance.now() is in ms, non-negative and far below 2^53.
    (performance_now() * 1e6) as u64
}

/// Logs `msg` with `console.error` (what `#[anyloop::main]` does with an
/// error it returns).
pub fn console_error(msg: &str) {
    console_error_js(msg);
}

/// Which tick, if any, is queued.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hop {
    /// Nothing queued: the next wake-up queues a microtask.
    Idle,
    /// A microtask tick is queued.
    Micro,
    /// The last tick ran out of budget: a `MessageChannel` tick is queued
    /// and wake-ups wait for it (the browser gets its turn first).
    Yield,
}

/// A `setTimeout` armed for `deadline` (ns).
struct Armed {
    deadline: u64,
    id: JsValue,
}

/// The callbacks and state that schedule ticks on this thread.
struct Driver {
    hop: Cell<Hop>,
    resolved: ResolvedPromise,
    /// [`__anyloop_web_micro`], the `then` callback.
    on_micro: JsValue,
    /// Kept alive: it receives the yield messages.
    _rx: MessagePort,
    tx: MessagePort,
    /// [`__anyloop_web_timer`], the `setTimeout` callback.
    on_timer: JsValue,
    /// A `Cell` (taken and put back), not a `RefCell`: no borrow flag and
    /// no "already borrowed" panic sites (nothing here re-enters).
    timer: Cell<Option<Armed>>,
}

thread_local! {
    /// Created on first use (see the crate docs, "code size").
    static DRIVER: Cell<Option<&'static Driver>> = const { Cell::new(None) };
}

/// Runs `f` with this thread's [`Driver`], creating it on first use. The
/// driver lives as long as the thread (the page or worker), as the
/// callbacks it armed do: it is leaked, not kept in a `OnceCell`, whose
/// re-entrancy check would drop a second driver ("reentrant init"; nothing
/// here re-enters: `Driver::new` only calls JS).
fn with_driver<R>(f: impl FnOnce(&Driver) -> R) -> R {
    let d = match DRIVER.get() {
        Some(d) => d,
        None => new_driver(),
    };
    f(d)
}

/// Creates and leaks this thread's driver: once, out of line (one copy,
/// not one in every caller of [`with_driver`]).
#[cold]
#[inline(never)]
fn new_driver() -> &'static Driver {
    let d: &'static Driver = Box::leak(Box::new(Driver::new()));
    DRIVER.set(Some(d));
    d
}

// The three callbacks are raw wasm exports, which are plain JS functions
// the page calls directly: a wasm-bindgen `Closure` would add its JS
// machinery (reference counting, a `FinalizationRegistry`, a cast
// intrinsic), an invoke shim per argument type and a destructor export
// (see the crate docs, "code size"). JS passes them an argument (the
// promise's value, a `MessageEvent`); a wasm function without parameters
// ignores it.

/// The microtask tick (`Promise.then`).
// SAFETY: the symbol is unique to this crate (`__anyloop_web_` prefix); the
// function takes and returns nothing, so any JS call matches its signature.
#[allow(unsafe_code)]
#[no_mangle]
extern "C" fn __anyloop_web_micro() {
    // A microtask queued before the loop decided to yield is stale.
    let go = with_driver(|d| {
        let micro = d.hop.get() == Hop::Micro;
        if micro {
            d.hop.set(Hop::Idle);
        }
        micro
    });
    if go {
        run_tick();
    }
}

/// The `MessageChannel` tick (after the browser's turn).
// SAFETY: as for `__anyloop_web_micro`.
#[allow(unsafe_code)]
#[no_mangle]
extern "C" fn __anyloop_web_yielded() {
    with_driver(|d| d.hop.set(Hop::Idle));
    run_tick();
}

/// The `setTimeout` tick.
// SAFETY: as for `__anyloop_web_micro`.
#[allow(unsafe_code)]
#[no_mangle]
extern "C" fn __anyloop_web_timer() {
    with_driver(|d| d.timer.take());
    run_tick();
}

impl Driver {
    fn new() -> Driver {
        let exports: Object = wasm_bindgen::exports().unchecked_into();
        let channel: Object = MessageChannel::new().unchecked_into();
        let rx: MessagePort = channel.get("port1").unchecked_into();
        let tx: MessagePort = channel.get("port2").unchecked_into();
        rx.set_onmessage(&exports.get("__anyloop_web_yielded"));
        Driver {
            hop: Cell::new(Hop::Idle),
            resolved: ResolvedPromise::resolved(),
            on_micro: exports.get("__anyloop_web_micro"),
            _rx: rx,
            tx,
            on_timer: exports.get("__anyloop_web_timer"),
            timer: Cell::new(None),
        }
    }

    /// Queues one microtask tick unless a tick is already queued.
    fn wake(&self) {
        if self.hop.get() == Hop::Idle {
            self.hop.set(Hop::Micro);
            self.resolved.then(&self.on_micro);
        }
    }

    /// Queues a macrotask tick (the browser renders and handles input first).
    fn yield_to_browser(&self) {
        if self.hop.replace(Hop::Yield) != Hop::Yield {
            self.tx.post_message(&JsValue::UNDEFINED);
        }
    }

    /// Keeps one `setTimeout` armed for `next` (the earliest deadline).
    fn arm(&self, next: Option<Instant>) {
        let want = next.map(Instant::as_nanos);
        let armed = self.timer.take();
        if armed.as_ref().map(|a| a.deadline) == want {
            self.timer.set(armed);
            return;
        }
        if let Some(old) = armed {
            clear_timeout(&old.id);
        }
        let Some(deadline) = want else {
            return;
        };
        let left_ns = deadline.saturating_sub(now_ns());
        if left_ns == 0 {
            // Already due (the clock moved on since the tick): tick again
            // now rather than through a (possibly 4 ms-clamped) setTimeout(0).
            self.wake();
            return;
        }
        // Round up: firing a little late is fine, early never is (and a
        // deadline past the 32-bit limit is re-armed when this fires).
        let ms = (left_ns as f64 / 1e6).ceil().min(MAX_DELAY_MS);
        let id = set_timeout(&self.on_timer, ms);
        self.timer.set(Some(Armed { deadline, id }));
    }
}

/// What one scheduled tick may spend: 8 ms, half a 60 Hz frame, and no
/// poll cap (see the crate docs, "fairness").
const TICK_BUDGET: Budget = Budget::new(usize::MAX, Some(Duration::from_millis(8)));

/// Runs one bounded tick of the installed loop and schedules what follows.
fn run_tick() {
    let Some(tick) = EventLoop::with_installed(|lp| lp.tick(TICK_BUDGET)) else {
        return;
    };
    with_driver(|d| {
        if tick.ready {
            d.yield_to_browser();
        }
        d.arm(tick.next_deadline);
    });
}

/// The browser's [`Unpark`]: queues a tick on the microtask queue, or
/// (guest mode) does nothing: the embedder ticks on its own schedule. One
/// type for both: one allocation site and one vtable.
struct WebUnpark {
    guest: bool,
}

impl Unpark for WebUnpark {
    fn unpark(&self) {
        if !self.guest {
            with_driver(Driver::wake);
        }
    }
}

/// The browser host: `performance.now()` as the clock; never blocks.
///
/// [`WebHost::new`] schedules its own ticks (microtasks, `setTimeout`,
/// `MessageChannel`); [`WebHost::guest`] leaves ticking to the embedder.
pub struct WebHost {
    guest: bool,
}

impl fmt::Debug for WebHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebHost")
            .field("guest", &self.guest)
            .finish()
    }
}

impl WebHost {
    /// The host that drives its loop from the browser's event loop (what
    /// [`spawn_root`] installs).
    ///
    /// # Examples
    ///
    /// ```ignore
    /// anyloop::EventLoop::new(anyloop::web::WebHost::new()).install();
    /// ```
    #[allow(clippy::new_without_default)]
    pub fn new() -> WebHost {
        anyloop_core::time::set_fallback_clock(now_ns);
        anyloop_core::debug::set_output(console_error);
        WebHost { guest: false }
    }

    /// A host that schedules nothing itself: the embedder calls
    /// [`EventLoop::tick`] (guest mode, see the crate docs).
    pub fn guest() -> WebHost {
        anyloop_core::time::set_fallback_clock(now_ns);
        anyloop_core::debug::set_output(console_error);
        WebHost { guest: true }
    }
}

impl Host for WebHost {
    fn name(&self) -> &'static str {
        "web"
    }

    fn now_ns(&self) -> u64 {
        now_ns()
    }

    fn park(&self, _timeout: Option<Duration>) -> std::io::Result<()> {
        Err(unsupported(
            "blocking the thread",
            "web",
            "; the browser drives the loop with `EventLoop::tick`",
        ))
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        Arc::new(WebUnpark { guest: self.guest })
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
}

/// Creates the host for a new loop on this thread.
///
/// # Errors
///
/// Never fails in the browser; the signature matches the other backends.
pub fn new_host() -> std::io::Result<WebHost> {
    Ok(WebHost::new())
}

/// Starts `fut` as a task on this thread's loop, creating and installing
/// the loop on first use, and returns at once: the browser's replacement for
/// `anyloop::run`. The page's event loop drives the task, named `"main"`
/// as `anyloop::run`'s is.
///
/// # Examples
///
/// ```ignore
/// let task = anyloop::spawn_root(async { 6 * 7 });
/// // from another task or JS-driven future:
/// assert_eq!(task.await.unwrap(), 42);
/// ```
///
/// # Panics
///
/// If another (non-installed) loop is entered on this thread.
pub fn spawn_root<F>(fut: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    if EventLoop::with_installed(|_| ()).is_none() {
        let lp = EventLoop::new(WebHost::new());
        if debug_requested() {
            lp.set_debug(true);
        }
        lp.install();
    }
    // Named like `anyloop::run`'s root task on the blocking hosts.
    anyloop_core::task::Builder::new().name("main").spawn(fut)
}

/// The page's stand-in for `ANYLOOP_DEBUG=1`: a truthy
/// `globalThis.ANYLOOP_DEBUG` when the loop is created.
fn debug_requested() -> bool {
    Global::anyloop_debug() == Some(true)
}

/// Awaits a JS `Promise`: `Ok` with its value, `Err` with its rejection.
///
/// # Examples
///
/// ```ignore
/// let v = anyloop::web::promise(js_sys::Promise::resolve(&7.into())).await.unwrap();
/// assert_eq!(v, 7);
/// ```
pub fn promise(p: js_sys::Promise) -> JsFuture {
    JsFuture::from(p)
}

/// `to_thread` in the browser: there are no threads.
///
/// # Errors
///
/// Always `Unsupported`, naming the feature and "web".
pub async fn to_thread<T, F>(f: F) -> std::io::Result<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    drop(f);
    Err(CAPABILITIES.unsupported("to_thread (threads)"))
}
