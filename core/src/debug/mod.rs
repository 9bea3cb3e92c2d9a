//! Developing with anyloop: debug mode, the loop's exception handler and
//! per-task statistics (asyncio's "Developing with asyncio" chapter).
//!
//! # Debug mode
//!
//! Switched on by `ANYLOOP_DEBUG=1` in the environment when the loop is
//! created (native, WASI; in a browser `globalThis.ANYLOOP_DEBUG = 1`
//! before the program starts), by `Runner::set_debug(true)`, or by
//! [`set_debug`] on the running loop (asyncio's `loop.set_debug(True)`).
//! Then the loop:
//!
//! - times every task poll and warns about each one slower than the
//!   [slow-callback duration](set_slow_callback_duration) (100 ms by
//!   default), naming the task and where it was spawned: a poll that long
//!   blocked every other task:
//!   `Executing <Task name='blocker' id=2 spawned at src/main.rs:7:5> took 0.501 seconds`;
//! - reports every task still pending when the loop closes (it is then
//!   cancelled): `Task was destroyed but it is pending (the loop closed): <Task id=4 spawned at …>`.
//!
//! Warnings go to the loop's [warning handler](crate::Handle::set_warning_handler)
//! if one is set, else to the diagnostic output: stderr natively and on
//! WASI, `console.error` in a browser ([`set_output`]).
//!
//! Cross-thread misuse that asyncio's debug mode checks at run time
//! (calling loop methods from another thread) does not compile here:
//! loop-bound values (`EventLoop`, `Rc`-based primitives) are `!Send`, and
//! the thread-safe entry points ([`Handle`](crate::Handle)) are the only
//! way in from other threads.
//!
//! # "Task exception was never retrieved"
//!
//! With debug mode on or off, a task that panicked and whose error nobody
//! took from its [`Task`](crate::Task) handle (the handle was dropped or
//! detached) is reported once, when the error is dropped, through the
//! loop's [exception handler](crate::Handle::set_exception_handler) (by
//! default [`default_exception_handler`]). A task's `Err` return value is
//! its output, not an exception: it is not reported. Panics in
//! [`TaskGroup`](crate::TaskGroup) children went to the group and are not
//! reported again.
//!
//! # Statistics
//!
//! While debug mode is on or a [`collect_task_stats`] guard lives (the
//! monitor holds one), the loop counts each task's polls and time spent in
//! them ([`task_stats`]). Otherwise polls are not timed: a task poll costs
//! the same as without this module (one branch per batch of polls).
//!
//! # Examples
//!
//! ```no_run
//! # use anyloop_core::__doctest as anyloop;
//! use std::time::Duration;
//! # let run = anyloop_core::doctest_run;
//!
//! run(async { // anyloop::run
//!     anyloop::debug::set_debug(true); // or ANYLOOP_DEBUG=1
//!     anyloop::debug::set_slow_callback_duration(Duration::from_millis(50));
//!     anyloop::task::Builder::new().name("blocker").spawn(async {
//!         std::thread::sleep(Duration::from_millis(200)); // blocks the loop
//!     }).await.unwrap();
//!     // stderr: Executing <Task name='blocker' id=2 spawned at src/main.rs:8:49> took 0.200 seconds
//! });
//! ```
//!
//! Collecting reports instead of printing them:
//!
//! ```
//! # use anyloop_core::__doctest as anyloop;
//! use std::sync::{Arc, Mutex};
//! use anyloop::debug::ExceptionContext;
//!
//! # anyloop_core::doctest_run(async {
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let s = seen.clone();
//! anyloop::Handle::current().set_exception_handler(Some(move |ctx: &ExceptionContext| {
//!     s.lock().unwrap().push(ctx.to_string())
//! }));
//! # if cfg!(panic = "unwind") {
//! // A task fails and nobody awaits its handle:
//! anyloop::task::Builder::new().name("worker").spawn(async { panic!("boom") }).detach();
//! anyloop::yield_now().await;
//! let seen = seen.lock().unwrap();
//! assert!(seen[0].starts_with("Task exception was never retrieved\ntask: <Task name='worker'"));
//! assert!(seen[0].ends_with("error: task panicked: boom"));
//! # }
//! # });
//! ```

mod handler;

use std::cell::{Cell, RefCell};
use std::time::Duration;

use crate::driver::{self, Local, Runnable};
use crate::task::{TaskMeta, TaskRef};

pub use handler::{
    default_exception_handler, set_output, ExceptionContext, ExceptionHandler, TaskInfo, Warning,
    WarningHandler, WarningKind,
};
pub(crate) use handler::{panic_handled, Handlers, Panicked};

/// asyncio's default `loop.slow_callback_duration`.
const DEFAULT_SLOW: Duration = Duration::from_millis(100);

/// Counters of one task, kept while statistics are collected.
#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    /// When the task was spawned (ns), if statistics were on then.
    spawned_ns: Option<u64>,
    /// When statistics first saw the task (ns).
    seen_ns: u64,
    polls: u64,
    busy_ns: u64,
}

/// The debug state of one loop (loop thread only).
pub(crate) struct LoopDebug {
    enabled: Cell<bool>,
    /// Live [`StatsGuard`]s.
    collectors: Cell<u32>,
    /// `enabled || collectors > 0`: polls are timed.
    timing: Cell<bool>,
    slow_ns: Cell<u64>,
    /// Per-task counters, at the index a task keeps in its registry links
    /// (`Links::stat`), tagged with the task's id: a task whose index
    /// holds another id (statistics were switched off and on since) gets
    /// a new entry. No hash map: the indices are dense (freed entries are
    /// reused), and a `Vec` costs no hashing code in every program.
    counters: RefCell<Vec<(u64, Counters)>>,
    /// Entries free for reuse (their tasks finished).
    free: RefCell<Vec<usize>>,
    /// Loop iterations (park cycles of a blocking loop, ticks of a guest).
    iterations: Cell<u64>,
}

impl LoopDebug {
    /// Debug mode as the environment asks (`ANYLOOP_DEBUG` set to
    /// anything but `""` or `"0"`).
    pub(crate) fn from_env() -> Self {
        // `var_os`, not `var`: no UTF-8 check (and its code) for a flag.
        let on = std::env::var_os("ANYLOOP_DEBUG").is_some_and(|v| !v.is_empty() && v != "0");
        LoopDebug {
            enabled: Cell::new(on),
            collectors: Cell::new(0),
            timing: Cell::new(on),
            slow_ns: Cell::new(DEFAULT_SLOW.as_nanos() as u64),
            counters: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
            iterations: Cell::new(0),
        }
    }

    /// Polls are timed (debug mode or statistics).
    #[inline]
    pub(crate) fn timing(&self) -> bool {
        self.timing.get()
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled.get()
    }

    fn update(&self) {
        let on = self.enabled.get() || self.collectors.get() > 0;
        self.timing.set(on);
        if !on {
            // Never borrowed here (nothing else runs while they are);
            // `try_` spares every program RefCell's panic site.
            if let (Ok(mut c), Ok(mut f)) =
                (self.counters.try_borrow_mut(), self.free.try_borrow_mut())
            {
                c.clear();
                f.clear();
            }
        }
    }

    pub(crate) fn set_enabled(&self, on: bool) {
        self.enabled.set(on);
        self.update();
    }

    /// The slow-callback duration (ns).
    #[cfg(feature = "tracing")]
    pub(crate) fn slow_ns(&self) -> u64 {
        self.slow_ns.get()
    }

    pub(crate) fn set_slow(&self, d: Duration) {
        self.slow_ns
            .set(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// One more loop iteration.
    #[inline]
    pub(crate) fn iteration(&self) {
        self.iterations.set(self.iterations.get().wrapping_add(1));
    }

    /// A task was spawned: note the time if statistics are on.
    #[inline]
    pub(crate) fn spawned(&self, local: &Local, meta: &TaskMeta) {
        if self.timing.get() {
            self.spawned_slow(local, meta);
        }
    }

    #[cold]
    fn spawned_slow(&self, local: &Local, meta: &TaskMeta) {
        let now = local.now();
        if let Some(mut c) = self.entry(meta, now) {
            *c = Counters {
                spawned_ns: Some(now),
                seen_ns: now,
                ..Counters::default()
            };
        }
    }

    /// The counters of the task `meta` (on this loop's thread), created
    /// (first seen at `now`) if it has none. `Some` in practice: `None`
    /// only if the counters were borrowed already (nothing holds them
    /// while this runs) or an index pointed past them (entries are only
    /// ever cleared together with the free list). An `Option` rather than
    /// `borrow_mut` and indexing, whose panics linked RefCell's messages
    /// and `usize`'s `Display` into every program.
    fn entry(&self, meta: &TaskMeta, now: u64) -> Option<std::cell::RefMut<'_, Counters>> {
        let id = meta.id().as_u64();
        let mut counters = self.counters.try_borrow_mut().ok()?;
        let mut i = meta.links.stat();
        if counters.get(i).is_none_or(|e| e.0 != id) {
            let fresh = (
                id,
                Counters {
                    seen_ns: now,
                    ..Counters::default()
                },
            );
            i = match self.free.try_borrow_mut().ok().and_then(|mut f| f.pop()) {
                Some(i) => {
                    if let Some(e) = counters.get_mut(i) {
                        *e = fresh;
                    }
                    i
                }
                None => {
                    counters.push(fresh);
                    counters.len() - 1
                }
            };
            meta.links.set_stat(i);
        }
        std::cell::RefMut::filter_map(counters, |c| c.get_mut(i).map(|e| &mut e.1)).ok()
    }

    /// Runs one task poll, timed; warns if it was slow (debug mode). Out
    /// of line: the loop's batch calls it only while timing.
    #[inline(never)]
    pub(crate) fn run_timed(&self, local: &Local, runnable: Runnable) {
        // The reference keeps the task's metadata alive after `run`.
        let task = TaskRef::of_runnable(&runnable);
        let start = local.now();
        runnable.run();
        let end = local.now();
        let took = end.saturating_sub(start);
        if task.state().is_finished() {
            let i = task.meta().links.stat();
            let counters = self.counters.try_borrow_mut();
            if let Some(e) = counters.ok().as_mut().and_then(|c| c.get_mut(i)) {
                if e.0 == task.id().as_u64() {
                    e.0 = 0;
                    if let Ok(mut free) = self.free.try_borrow_mut() {
                        free.push(i);
                    }
                }
            }
        } else {
            if let Some(mut c) = self.entry(task.meta(), start) {
                c.polls += 1;
                c.busy_ns = c.busy_ns.saturating_add(took);
            }
        }
        if self.enabled.get() && took >= self.slow_ns.get() {
            self.slow_poll(local, &task, took);
        }
    }

    #[cold]
    #[inline(never)]
    fn slow_poll(&self, local: &Local, task: &TaskRef, took: u64) {
        local.shared.handlers.warn(Warning::new(
            WarningKind::SlowPoll(Duration::from_nanos(took)),
            Some(TaskInfo::of(task)),
        ));
    }

    /// The loop is closing with `tasks` alive: report the pending ones.
    pub(crate) fn closing(&self, local: &Local, tasks: &[TaskRef]) {
        if !self.enabled.get() {
            return;
        }
        for t in tasks.iter().filter(|t| !t.is_finished()) {
            local.shared.handlers.warn(Warning::new(
                WarningKind::PendingAtClose,
                Some(TaskInfo::of(t)),
            ));
        }
    }
}

/// Switches debug mode on or off for the running loop (asyncio's
/// `loop.set_debug`). See the [module docs](self).
///
/// # Panics
///
/// Outside a running loop, naming the fix.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// anyloop::debug::set_debug(true);
/// assert!(anyloop::debug::is_debug());
/// # });
/// ```
#[track_caller]
pub fn set_debug(on: bool) {
    driver::with_current(|l| l.debug.set_enabled(on));
}

/// Whether debug mode is on for the running loop (asyncio's
/// `loop.get_debug()`); false outside a loop.
#[doc(alias = "get_debug")]
pub fn is_debug() -> bool {
    driver::try_with_current(|l| l.debug.enabled()).unwrap_or(false)
}

/// Sets how long one task poll may take before debug mode warns about it
/// (asyncio's `loop.slow_callback_duration`; default 100 ms).
///
/// # Panics
///
/// Outside a running loop, naming the fix.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use std::time::Duration;
/// anyloop::debug::set_slow_callback_duration(Duration::from_millis(20));
/// assert_eq!(anyloop::debug::slow_callback_duration(), Duration::from_millis(20));
/// # });
/// ```
#[doc(alias = "slow_callback_duration")]
#[track_caller]
pub fn set_slow_callback_duration(d: Duration) {
    driver::with_current(|l| l.debug.set_slow(d));
}

/// The running loop's slow-callback duration (100 ms outside a loop).
pub fn slow_callback_duration() -> Duration {
    driver::try_with_current(|l| Duration::from_nanos(l.debug.slow_ns.get()))
        .unwrap_or(DEFAULT_SLOW)
}

/// Keeps per-task statistics ([`task_stats`]) on while it lives; see
/// [`collect_task_stats`].
#[must_use = "statistics stop when the guard is dropped"]
pub struct StatsGuard {
    shared: std::sync::Arc<driver::Shared>,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl std::fmt::Debug for StatsGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatsGuard")
    }
}

impl Drop for StatsGuard {
    fn drop(&mut self) {
        driver::try_with_current(|l| {
            if std::sync::Arc::ptr_eq(&l.shared, &self.shared) {
                l.debug
                    .collectors
                    .set(l.debug.collectors.get().saturating_sub(1));
                l.debug.update();
            }
        });
    }
}

/// Starts collecting per-task statistics on the running loop (polls, time
/// in poll, age) until the guard drops, without debug mode's warnings.
/// Polls are then timed (two clock reads each).
///
/// # Panics
///
/// Outside a running loop, naming the fix.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let _stats = anyloop::debug::collect_task_stats();
/// let t = anyloop::spawn(async { anyloop::yield_now().await });
/// let r = t.task_ref();
/// anyloop::yield_now().await;
/// assert_eq!(anyloop::debug::task_stats(&r).unwrap().polls(), 1);
/// t.await.unwrap();
/// # });
/// ```
#[track_caller]
pub fn collect_task_stats() -> StatsGuard {
    driver::with_current(|l| {
        l.debug.collectors.set(l.debug.collectors.get() + 1);
        l.debug.update();
        StatsGuard {
            shared: l.shared.clone(),
            _not_send: std::marker::PhantomData,
        }
    })
}

/// What the loop counted for one task while statistics were on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskStats {
    age: Duration,
    polls: u64,
    busy: Duration,
}

impl TaskStats {
    /// Time since the task was spawned (or since statistics first saw it,
    /// for a task spawned before they were switched on).
    pub fn age(&self) -> Duration {
        self.age
    }

    /// Polls counted.
    pub fn polls(&self) -> u64 {
        self.polls
    }

    /// Time spent inside the task's polls.
    pub fn busy(&self) -> Duration {
        self.busy
    }
}

/// The statistics of `task` on the running loop; `None` if statistics are
/// off (see [`collect_task_stats`]) or the task is not of this loop.
pub fn task_stats(task: &TaskRef) -> Option<TaskStats> {
    driver::try_with_current(|l| {
        if !l.debug.timing() || !std::sync::Arc::ptr_eq(&l.shared, task.shared()) {
            return None;
        }
        let now = l.now();
        let id = task.id().as_u64();
        let c = l
            .debug
            .counters
            .try_borrow()
            .ok()
            .and_then(|c| {
                c.get(task.meta().links.stat())
                    .filter(|e| e.0 == id)
                    .copied()
            })
            .map_or(
                Counters {
                    seen_ns: now,
                    ..Counters::default()
                },
                |e| e.1,
            );
        Some(TaskStats {
            age: Duration::from_nanos(now.saturating_sub(c.spawned_ns.unwrap_or(c.seen_ns))),
            polls: c.polls,
            busy: Duration::from_nanos(c.busy_ns),
        })
    })
    .flatten()
}

/// The running loop's counters (the monitor's `stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoopStats {
    /// Loop iterations so far (waits for events, or ticks of a guest loop).
    pub iterations: u64,
    /// Tasks ready to run.
    pub ready: usize,
    /// Pending timers.
    pub timers: usize,
    /// Live tasks.
    pub tasks: usize,
}

/// The running loop's counters; `None` outside a loop.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let s = anyloop::debug::loop_stats().unwrap();
/// assert_eq!(s.tasks, 1); // the main task
/// # });
/// ```
pub fn loop_stats() -> Option<LoopStats> {
    driver::try_with_current(|l| LoopStats {
        iterations: l.debug.iterations.get(),
        ready: l.ready_len(),
        timers: l.timers().len(),
        tasks: l.registry.len(),
    })
}
