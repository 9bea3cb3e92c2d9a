//! The event loop: ready queue, injection queue, timers and the task registry.
//!
//! One loop per thread, as in asyncio. Tasks are [`raw`] allocations (one
//! per spawn). Waking a task on the loop's own thread pushes it onto a
//! plain `VecDeque` (no atomics, no locks); waking it from another thread
//! pushes a counted reference onto the injection queue (a mutex-protected
//! queue behind an `AtomicBool` "non-empty" flag the loop reads without
//! locking) and unparks the host.

mod blocks;
pub(crate) mod lock;
pub(crate) mod raw;
mod registry;
pub(crate) mod timers;

use std::cell::{Cell, RefCell, UnsafeCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::{self, NonNull};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::debug::{Handlers, LoopDebug};
use crate::host::{Host, Unpark};
use crate::shim::{thread_local, AtomicBool, Mutex};
use crate::task::{self, Task, TaskError};
use crate::time::Instant;
use timers::Timers;

use raw::RemoteRef;
pub(crate) use raw::Runnable;
pub(crate) use registry::{Links, Registry};

/// Task polls between two clock reads of a tick's time budget. A clock read
/// is a host call (`performance.now()` costs ~0.5 µs from wasm in Chromium,
/// ~7× a `yield_now` round); a batch of many ready tasks is one check anyway.
const CLOCK_EVERY: usize = 32;

/// The most task polls between two clock reads of a time budget, reached
/// while polls are cheap (see [`EventLoop::tick`]). In the browser a clock
/// read costs ~0.25 µs, a `yield_now` round ~15 ns: at 256 the reads were
/// ~6 % of a tick of cheap polls, at 1024 they are ~1.5 %. Higher would
/// also let a tick overrun its budget further when cheap polls give way
/// to heavy ones (up to this many heavy polls before the next check).
const CLOCK_EVERY_MAX: usize = 1024;

/// How often (in task polls) a busy loop still polls the host for I/O.
const IO_INTERVAL: u32 = 61;

/// How many task polls old a clock reading may be for [`Local::recent_now`].
const RECENT_POLLS: u64 = 64;

#[cfg(not(loom))]
thread_local! {
    /// The loop entered on this thread, if any.
    static CURRENT: Cell<*const Local> = const { Cell::new(ptr::null()) };
    /// A loop installed for the thread's lifetime (browser, guest mode).
    static INSTALLED: RefCell<Option<EventLoop>> = const { RefCell::new(None) };
}

// loom runs its threads on one OS thread: std thread-locals would be
// shared between them (and its macro takes no `const` initializer).
#[cfg(loom)]
thread_local! {
    static CURRENT: Cell<*const Local> = Cell::new(ptr::null());
    static INSTALLED: RefCell<Option<EventLoop>> = RefCell::new(None);
}

/// The part of a loop other threads can reach.
pub(crate) struct Shared {
    inject: Mutex<VecDeque<RemoteRef>>,
    inject_pending: AtomicBool,
    closed: AtomicBool,
    unpark: Arc<dyn Unpark>,
    /// The exception and warning handlers (`debug`).
    pub(crate) handlers: Handlers,
}

impl Shared {
    /// Queues a task woken on a foreign thread and wakes the loop.
    pub(crate) fn inject(&self, runnable: RemoteRef) {
        let mut queue = match self.inject.lock() {
            Ok(q) => q,
            Err(poisoned) => poisoned.into_inner(),
        };
        if self.closed.load(Ordering::Acquire) {
            drop(queue);
            // The loop is gone and dropped every future it had; giving up
            // the reference may free the task here, which drops a future
            // only if it is `Send` (see `raw`'s `dealloc`).
            drop(runnable);
            return;
        }
        queue.push_back(runnable);
        self.inject_pending.store(true, Ordering::Release);
        drop(queue);
        self.unpark.unpark();
    }

    pub(crate) fn wake_loop(&self) {
        self.unpark.unpark();
    }
}

/// The loop entered on this thread, null outside a loop (the wake-up
/// path of [`raw`] compares it with a task's loop).
///
/// CURRENT is only non-null while the `Local` it points to is alive: it is
/// set by `enter`/`install` and reset before the `Local` is dropped (see
/// `EnterGuard::drop` and `EventLoop::drop`).
#[inline]
pub(crate) fn current_local() -> *const Local {
    CURRENT.with(Cell::get)
}

/// The ready queue: a `VecDeque` in an `UnsafeCell`, not a `RefCell`.
///
/// Every poll pops once and most wake-ups push once; a `RefCell` paid a
/// borrow-flag check, set and reset for each (with a panic branch; on wasm
/// ~10 instructions per operation). Instead each method below does one
/// `VecDeque` operation and hands out no reference, so no two accesses can
/// overlap: the queue lives in a [`Local`] (not `Sync`: one thread), and
/// none of these operations runs code that could reach the queue again (a
/// [`Runnable`] has no destructor; growing the deque only calls the global
/// allocator).
struct ReadyQueue(UnsafeCell<VecDeque<Runnable>>);

impl ReadyQueue {
    fn with_capacity(n: usize) -> Self {
        ReadyQueue(UnsafeCell::new(VecDeque::with_capacity(n)))
    }

    #[inline]
    fn push(&self, r: Runnable) {
        // SAFETY: one operation, no reference kept, no re-entry (see the
        // type's doc).
        unsafe { (*self.0.get()).push_back(r) }
    }

    #[inline]
    fn pop(&self) -> Option<Runnable> {
        // SAFETY: as in `push`.
        unsafe { (*self.0.get()).pop_front() }
    }

    #[inline]
    fn len(&self) -> usize {
        // SAFETY: as in `push`.
        unsafe { (*self.0.get()).len() }
    }
}

/// The loop-thread half of an event loop.
pub(crate) struct Local {
    pub(crate) shared: Arc<Shared>,
    ready: ReadyQueue,
    /// Borrowed through [`Local::timers`] only.
    timers: RefCell<Timers>,
    pub(crate) registry: Registry,
    pub(crate) host: Box<dyn Host>,
    idle: Cell<bool>,
    wake_requested: Cell<bool>,
    next_id: Cell<u64>,
    polls_since_io: Cell<u32>,
    /// Task polls since the loop started (wrapping).
    polls: Cell<u64>,
    /// The latest clock reading, and `polls` when it was taken.
    last_now: Cell<u64>,
    last_now_polls: Cell<u64>,
    /// Debug mode and task statistics.
    pub(crate) debug: LoopDebug,
}

impl Local {
    #[inline]
    pub(crate) fn push_ready(&self, runnable: Runnable) {
        self.ready.push(runnable);
        if self.idle.get() && !self.wake_requested.get() {
            self.wake_requested.set(true);
            self.shared.unpark.unpark();
        }
    }

    #[inline]
    pub(crate) fn next_task_id(&self) -> u64 {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        id
    }

    /// The timer store, borrowed for one operation. Its `RefCell` panics
    /// only if a waker's clone or drop reaches the store during one (a
    /// foreign waker's code), through one shared cold panic instead of
    /// the `RefCell`'s own with a `Location` at each site (issue 17).
    #[inline]
    pub(crate) fn timers(&self) -> std::cell::RefMut<'_, Timers> {
        match self.timers.try_borrow_mut() {
            Ok(t) => t,
            Err(_) => timers_in_use(),
        }
    }

    /// Reads the host clock.
    pub(crate) fn now(&self) -> u64 {
        let now = self.host.now_ns();
        self.last_now.set(now);
        self.last_now_polls.set(self.polls.get());
        now
    }

    /// The latest clock reading (no clock read). A reading greater than
    /// one seen earlier was taken after that moment (see `time::sleep`).
    #[inline]
    pub(crate) fn last_now(&self) -> u64 {
        self.last_now.get()
    }

    /// The time now, give or take the last few task polls: the latest
    /// clock reading if it is at most [`RECENT_POLLS`] task polls old,
    /// else a fresh one. Registering a sleep uses it (a deadline that
    /// passed in between fires at the next timer check, right after the
    /// current batch), which spares most sleeps a second clock read.
    #[inline]
    pub(crate) fn recent_now(&self) -> u64 {
        if self.polls.get().wrapping_sub(self.last_now_polls.get()) <= RECENT_POLLS {
            self.last_now.get()
        } else {
            self.now()
        }
    }

    #[inline]
    fn take_injected(&self) {
        if self.shared.inject_pending.load(Ordering::Acquire) {
            self.take_injected_slow();
        }
    }

    #[cold]
    fn take_injected_slow(&self) {
        self.drain_injected(false);
    }

    /// Schedules the tasks woken from other threads (and, if `close`,
    /// refuses further ones: they are dropped where they are woken).
    fn drain_injected(&self, close: bool) {
        let woken = {
            let mut queue = match self.shared.inject.lock() {
                Ok(q) => q,
                Err(poisoned) => poisoned.into_inner(),
            };
            self.shared.inject_pending.store(false, Ordering::Relaxed);
            if close {
                self.shared.closed.store(true, Ordering::Release);
            }
            std::mem::take(&mut *queue)
        };
        // Outside the lock: giving up a reference may free a task.
        for r in woken {
            r.wake_on(self);
        }
    }

    /// Drops the futures of every queued task without polling them.
    fn cancel_ready(&self) {
        while let Some(r) = self.ready.pop() {
            r.cancel();
        }
    }

    pub(crate) fn ready_len(&self) -> usize {
        self.ready.len()
    }

    /// Runs the tasks that are ready now (not those they wake), at most
    /// `max`; timed in debug mode or while statistics are collected.
    ///
    /// One loop for both: the flag is read once per batch and tested per
    /// poll (a register compare), where a loop per mode put two copies of
    /// the pop, dequeue and indirect call into every program.
    #[inline]
    fn run_batch(&self, max: usize) -> usize {
        self.take_injected();
        let timing = self.debug.timing();
        let n = self.ready.len().min(max);
        for _ in 0..n {
            match self.ready.pop() {
                Some(runnable) => {
                    self.polls.set(self.polls.get().wrapping_add(1));
                    if timing {
                        self.debug.run_timed(self, runnable);
                    } else {
                        runnable.run();
                    }
                }
                None => return n,
            }
        }
        self.polls_since_io
            .set(self.polls_since_io.get().saturating_add(n as u32));
        n
    }

    #[inline]
    fn fire_timers(&self) {
        self.fire_timers_at(None);
    }

    /// Fires the timers due at `now` (a clock reading just taken), or at a
    /// fresh reading if `None` (taken only if a timer is pending).
    #[inline]
    fn fire_timers_at(&self, now: Option<u64>) {
        if self.timers().len() != 0 {
            self.fire_due_timers(now.unwrap_or_else(|| self.now()));
        }
    }

    fn fire_due_timers(&self, now: u64) {
        loop {
            let due = self.timers().pop_due(now);
            match due {
                Some(waker) => waker.wake(),
                None => break,
            }
        }
    }

    #[inline]
    fn has_ready(&self) -> bool {
        self.ready.len() != 0 || self.shared.inject_pending.load(Ordering::Acquire)
    }

    fn next_deadline(&self) -> Option<u64> {
        self.timers().next_deadline()
    }

    /// Blocks in the host until the next deadline, I/O, or an unpark.
    fn park(&self) {
        let timeout = if self.has_ready() {
            Some(Duration::ZERO)
        } else {
            self.next_deadline()
                .map(|d| Duration::from_nanos(d.saturating_sub(self.now())))
        };
        // Not `idle` while parked: a wake on this thread during
        // `host.park` comes from the host itself (ready I/O), which returns
        // after delivering its wakes (`Host::park`'s contract), so it needs
        // no unpark (on the native host that was an eventfd write and one
        // more `epoll_wait` per wake-up). Wakes from other threads unpark
        // through the injection queue.
        self.idle.set(false);
        let res = self.host.park(timeout);
        self.wake_requested.set(false);
        self.polls_since_io.set(0);
        if let Err(e) = res {
            park_failed(self.host.name(), &e);
        }
    }
}

/// [`EventLoop::install`]'s panic.
#[cold]
#[inline(never)]
#[track_caller]
fn already_installed() -> ! {
    panic!("anyloop: an event loop is already installed or running on this thread")
}

/// [`Local::timers`]'s panic: the store was borrowed already.
#[cold]
#[inline(never)]
fn timers_in_use() -> ! {
    panic!("anyloop: the timer store is in use (a waker's clone or drop reached it)")
}

/// The loop's panic when its host cannot wait for events (nothing can run
/// after that). Cold and out of line: the error's text is built only here.
#[cold]
#[inline(never)]
fn park_failed(host: &str, e: &std::io::Error) -> ! {
    panic!(
        "anyloop: the {host} host failed to wait for events: {}",
        HostError(e)
    )
}

/// An `io::Error`'s text, without `io::Error`'s `Display` on wasm.
///
/// There that `Display` links libc's `strerror` table (WASI), every
/// `ErrorKind` description and a `Utf8Error` `Debug`: ~5 KB of a hello
/// world, for a panic that should never happen. The text instead
/// ([`HostError::lean`]): the error's payload (a host's own message, e.g.
/// the deadlock report or the failed call and its errno), else
/// `os error N`, else the kind's name. Elsewhere it is the error's
/// `Display` (with the OS's description of the code).
struct HostError<'a>(&'a std::io::Error);

impl HostError<'_> {
    fn lean(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.0;
        if let Some(payload) = e.get_ref() {
            return fmt::Display::fmt(payload, f);
        }
        match e.raw_os_error() {
            Some(code) => write!(f, "os error {code}"),
            None => write!(f, "{:?}", e.kind()),
        }
    }
}

impl fmt::Display for HostError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if cfg!(target_family = "wasm") {
            self.lean(f)
        } else {
            fmt::Display::fmt(self.0, f)
        }
    }
}

/// Returns the loop entered on this thread.
///
/// # Panics
///
/// Panics with a message naming the fix when no loop runs on this thread.
#[inline]
#[track_caller]
pub(crate) fn with_current<R>(f: impl FnOnce(&Local) -> R) -> R {
    match try_with_current(f) {
        Some(r) => r,
        None => no_loop(),
    }
}

/// The loop entered on this thread, as a pointer: for a caller that must
/// not move its arguments into a closure first (`spawn` passes the user's
/// future straight on; see `raw::spawn`). It points to a live `Local`
/// while the loop is entered (see [`current_local`]).
///
/// # Panics
///
/// As [`with_current`].
#[inline]
#[track_caller]
pub(crate) fn current() -> NonNull<Local> {
    match NonNull::new(current_local() as *mut Local) {
        Some(l) => l,
        None => no_loop(),
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn no_loop() -> ! {
    panic!(
        "anyloop: no event loop is running on this thread; call this inside \
         `anyloop::run(async {{ ... }})`, a `#[anyloop::main]`/`#[anyloop::test]` \
         function, or a task spawned from one (browser: `anyloop::spawn_root`)"
    )
}

/// Like [`with_current`], but `None` outside a loop.
#[inline]
pub(crate) fn try_with_current<R>(f: impl FnOnce(&Local) -> R) -> Option<R> {
    let cur = CURRENT.with(Cell::get);
    if cur.is_null() {
        None
    } else {
        // SAFETY: see `current_local`: CURRENT points to a live `Local`.
        Some(f(unsafe { &*cur }))
    }
}

/// Whether an event loop is entered on this thread.
pub fn in_loop() -> bool {
    !CURRENT.with(Cell::get).is_null()
}

/// A budget for one [`EventLoop::tick`]: how many task polls and how much
/// host time it may use before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Maximum task polls in this tick.
    pub max_polls: usize,
    /// Maximum time spent in this tick (checked between batches, after at
    /// least 32 polls since the last check, up to 1024 while polls are cheap).
    pub max_time: Option<Duration>,
}

impl Budget {
    /// Runs what is ready now and what that wakes, up to `max_polls` polls
    /// and `max_time`.
    pub const fn new(max_polls: usize, max_time: Option<Duration>) -> Self {
        Budget {
            max_polls,
            max_time,
        }
    }
}

impl Default for Budget {
    /// 4096 polls or 8 ms, whichever comes first: half a 60 Hz frame.
    fn default() -> Self {
        Budget::new(4096, Some(Duration::from_millis(8)))
    }
}

/// What a [`EventLoop::tick`] left behind; the driver of a guest loop uses
/// it to decide when to tick next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    /// Task polls performed.
    pub polls: usize,
    /// Tasks are still ready: tick again soon (after yielding to the host).
    pub ready: bool,
    /// The earliest timer deadline, if any: tick again then.
    pub next_deadline: Option<Instant>,
}

/// An event loop: asyncio's `loop`, bound to a [`Host`].
///
/// Most programs never see it: `anyloop::run` and `#[anyloop::main]` create
/// one with the platform's host. Embedders use it directly, either blocking
/// ([`block_on`](Self::block_on)) or driven from another loop as a guest
/// ([`tick`](Self::tick)).
///
/// # Examples
///
/// See [`Host`] for a complete host; with one, `EventLoop::new(host).block_on(fut)`.
pub struct EventLoop {
    local: Rc<Local>,
    _not_send: PhantomData<*const ()>,
}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLoop")
            .field("host", &self.local.host.name())
            .field("ready", &self.local.ready.len())
            .field("timers", &self.local.timers().len())
            .field("tasks", &self.local.registry.len())
            .finish()
    }
}

impl EventLoop {
    /// Creates a loop on `host`. The loop runs on the thread that creates it.
    pub fn new(host: impl Host) -> Self {
        let unpark = host.unparker();
        let shared = Arc::new(Shared {
            inject: Mutex::new(VecDeque::new()),
            inject_pending: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            unpark,
            handlers: Handlers::default(),
        });
        EventLoop {
            local: Rc::new(Local {
                shared,
                ready: ReadyQueue::with_capacity(256),
                timers: RefCell::new(Timers::default()),
                registry: Registry::new(),
                host: Box::new(host),
                idle: Cell::new(true),
                wake_requested: Cell::new(false),
                next_id: Cell::new(0),
                polls_since_io: Cell::new(0),
                polls: Cell::new(0),
                last_now: Cell::new(0),
                last_now_polls: Cell::new(0),
                debug: LoopDebug::from_env(),
            }),
            _not_send: PhantomData,
        }
    }

    /// A `Send + Clone` handle for other threads.
    pub fn handle(&self) -> crate::Handle {
        crate::Handle::from_shared(self.local.shared.clone())
    }

    /// The host's name, e.g. `"native"`.
    pub fn host_name(&self) -> &'static str {
        self.local.host.name()
    }

    /// Makes this the current loop of the thread until the guard drops, so
    /// that `spawn`, `sleep` and friends work (e.g. to spawn tasks before
    /// driving the loop with [`tick`](Self::tick)).
    ///
    /// # Panics
    ///
    /// Panics if another loop is already entered on this thread.
    #[track_caller]
    pub fn enter(&self) -> EnterGuard<'_> {
        let me = Rc::as_ptr(&self.local);
        let prev = CURRENT.with(Cell::get);
        if !prev.is_null() && prev != me {
            panic!(
                "anyloop: cannot enter an event loop while another one is running on this \
                 thread; `.await` the future or `anyloop::spawn` it instead of nesting loops"
            );
        }
        CURRENT.with(|c| c.set(me));
        EnterGuard {
            prev,
            _loop: PhantomData,
        }
    }

    /// Runs `fut` as the loop's main task until it completes, then returns
    /// its output. Other tasks keep their state for the next `block_on`;
    /// dropping the loop cancels them (asyncio's `Runner.close`).
    ///
    /// # Panics
    ///
    /// - If a loop is already running on this thread (nested `run`): asyncio
    ///   raises "cannot be called from a running event loop"; this panics with
    ///   the same advice.
    /// - If `fut` panics, the panic resumes here after the loop is cleaned up.
    /// - If the host cannot block (the browser): use `spawn_root` there.
    #[track_caller]
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        match self.try_block_on(fut) {
            Ok(v) => v,
            Err(e) => panic!("anyloop: the main task was cancelled: {e}"),
        }
    }

    /// [`block_on`](Self::block_on), except that a main task cancelled
    /// (through [`current_task`](crate::current_task)`().cancel()`, e.g. by
    /// a Ctrl-C handler) returns its `Err(TaskError)` instead of panicking.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # use anyloop_core::{testing::MockHost, EventLoop};
    /// let lp = EventLoop::new(MockHost::new());
    /// let res = lp.try_block_on(async {
    ///     anyloop::current_task().unwrap().cancel();
    ///     std::future::pending::<()>().await
    /// });
    /// assert!(res.unwrap_err().is_cancelled());
    /// ```
    ///
    /// # Panics
    ///
    /// As [`block_on`](Self::block_on), except for cancellation.
    #[track_caller]
    pub fn try_block_on<F: Future>(&self, fut: F) -> Result<F::Output, TaskError> {
        if in_loop() {
            panic!(
                "anyloop::run() cannot be called from a running event loop: `.await` the \
                 future, or `anyloop::spawn` it, instead of starting a nested loop"
            );
        }
        if !self.local.host.capabilities().blocking {
            panic!(
                "anyloop::run() cannot block on the {} host: start the program with \
                 `anyloop::spawn_root(fut)` or `#[anyloop::main]` instead",
                self.local.host.name()
            );
        }
        let _enter = self.enter();
        // SAFETY: the main task may borrow from this stack frame (`F` is not
        // `'static`). The guard below cancels it and runs the loop until its
        // future is dropped before this function returns or unwinds, and the
        // loop never polls it after that (see `MainGuard::drop`).
        let main: Task<F::Output> = unsafe { task::spawn_main(&self.local, fut) };
        let guard = MainGuard {
            local: &self.local,
            task: Some(main),
        };
        let local = &*self.local;
        loop {
            local.debug.iteration();
            local.run_batch(usize::MAX);
            if guard.task.as_ref().is_some_and(Task::is_finished) {
                break;
            }
            local.fire_timers();
            if local.has_ready() && local.polls_since_io.get() < IO_INTERVAL {
                continue;
            }
            local.park();
            local.fire_timers();
        }
        guard.finish()
    }

    /// Runs one bounded slice of work without blocking, for hosts that
    /// cannot block (the browser) and for guest mode, where another loop
    /// (a GUI's, `requestAnimationFrame`, a game loop) drives anyloop.
    ///
    /// Fires due timers, then runs ready tasks (and the tasks they wake)
    /// until none is ready or `budget` is spent, then fires timers again.
    /// The returned [`Tick`] says whether work remains and when the next
    /// timer is due. Between ticks, a task woken by the outside world calls
    /// the host's [`Unpark`], which should schedule the next tick.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # use anyloop_core::{Budget, EventLoop, Capabilities, Host, Unpark};
    /// # use std::sync::Arc;
    /// # struct Guest;
    /// # struct NoUnpark;
    /// # impl Unpark for NoUnpark { fn unpark(&self) {} }
    /// # impl Host for Guest {
    /// #     fn name(&self) -> &'static str { "guest" }
    /// #     fn now_ns(&self) -> u64 { 0 }
    /// #     fn park(&self, _: Option<std::time::Duration>) -> std::io::Result<()> {
    /// #         Err(std::io::ErrorKind::Unsupported.into())
    /// #     }
    /// #     fn unparker(&self) -> Arc<dyn Unpark> { Arc::new(NoUnpark) }
    /// #     fn capabilities(&self) -> Capabilities { Capabilities::none("guest") }
    /// # }
    /// let lp = EventLoop::new(Guest);
    /// let task = {
    ///     let _g = lp.enter();
    ///     anyloop::spawn(async { anyloop::yield_now().await; 7 })
    /// };
    /// // e.g. once per animation frame:
    /// while !task.is_finished() {
    ///     lp.tick(Budget::default());
    /// }
    /// ```
    pub fn tick(&self, budget: Budget) -> Tick {
        let me = Rc::as_ptr(&self.local);
        let _enter = if CURRENT.with(Cell::get) == me {
            None
        } else {
            Some(self.enter())
        };
        let local = &*self.local;
        local.debug.iteration();
        local.idle.set(false);
        local.wake_requested.set(false);
        // One clock reading serves the budget and the first timer check: in
        // the browser each is a JS call (`performance.now()`, ~0.25 µs).
        let start = budget.max_time.map(|_| local.now());
        local.fire_timers_at(start);
        let mut polls = 0;
        // With a time budget, run at most `every` polls between clock
        // reads, so that CPU-heavy tasks cannot overrun it by a whole batch.
        // `every` starts at CLOCK_EVERY and doubles (up to CLOCK_EVERY_MAX)
        // while the polls between two reads take under 1/64 of the budget:
        // cheap polls then pay for fewer clock reads.
        let mut every = if start.is_some() {
            CLOCK_EVERY
        } else {
            usize::MAX
        };
        let mut next_check = CLOCK_EVERY;
        let mut last = start.unwrap_or(0);
        while polls < budget.max_polls {
            let n = local.run_batch((budget.max_polls - polls).min(every));
            if n == 0 {
                break;
            }
            polls += n;
            if polls < next_check {
                continue;
            }
            if let (Some(start), Some(max)) = (start, budget.max_time) {
                let max = crate::time::nanos(max).unwrap_or(u64::MAX);
                let now = local.now();
                if now.saturating_sub(start) >= max {
                    break;
                }
                every = if now.saturating_sub(last).saturating_mul(64) < max {
                    (every * 2).min(CLOCK_EVERY_MAX)
                } else {
                    CLOCK_EVERY
                };
                last = now;
            }
            next_check = polls.saturating_add(every);
        }
        if polls > 0 {
            // Timers that fell due while the tasks ran (with no poll, the
            // first check covered them).
            local.fire_timers();
        }
        local.idle.set(true);
        Tick {
            polls,
            ready: local.has_ready(),
            next_deadline: local.next_deadline().map(Instant::from_nanos),
        }
    }

    /// Makes this loop the thread's loop for the rest of the thread's life
    /// (the browser backend and guest embedders use this). Afterwards
    /// `spawn` works anywhere on the thread; drive the loop with
    /// [`EventLoop::with_installed`] and [`tick`](Self::tick).
    ///
    /// # Panics
    ///
    /// Panics if a loop is already entered on this thread.
    #[track_caller]
    pub fn install(self) {
        if in_loop() {
            already_installed();
        }
        // The slot is empty (no loop is entered, so none is installed) and
        // not borrowed (only a running loop's tick borrows it): `replace` +
        // `forget` drops nothing, and keeps the loop's shutdown code out of
        // programs that never close their loop (the browser's).
        // `try_borrow_mut`, and the loop not dropped if that (impossibly)
        // fails: no `RefCell` panic site, no shutdown code.
        let this = ManuallyDrop::new(self);
        let installed = INSTALLED.with(|i| match i.try_borrow_mut() {
            Ok(mut slot) => {
                let lp = ManuallyDrop::into_inner(this);
                CURRENT.with(|c| c.set(Rc::as_ptr(&lp.local)));
                let old = slot.replace(lp);
                debug_assert!(old.is_none(), "a loop was installed but not entered");
                std::mem::forget(old);
                true
            }
            Err(_) => false,
        });
        if !installed {
            already_installed();
        }
    }

    /// Runs `f` with the loop [`install`](Self::install)ed on this thread.
    pub fn with_installed<R>(f: impl FnOnce(&EventLoop) -> R) -> Option<R> {
        // `try_borrow`: the slot is borrowed mutably only inside `install`,
        // which runs no other code meanwhile, so this never fails (and
        // needs no `RefCell` panic site where it is inlined).
        INSTALLED.with(|i| i.try_borrow().ok()?.as_ref().map(f))
    }

    /// Switches debug mode on or off (asyncio's `loop.set_debug`); see
    /// [`debug`](crate::debug).
    pub fn set_debug(&self, on: bool) {
        self.local.debug.set_enabled(on);
    }

    /// Whether debug mode is on (asyncio's `loop.get_debug`).
    #[doc(alias = "get_debug")]
    pub fn is_debug(&self) -> bool {
        self.local.debug.enabled()
    }

    /// Sets the slow-callback duration of debug mode (asyncio's
    /// `loop.slow_callback_duration`, default 100 ms).
    #[doc(alias = "slow_callback_duration")]
    pub fn set_slow_callback_duration(&self, d: Duration) {
        self.local.debug.set_slow(d);
    }

    /// Number of live tasks.
    pub fn task_count(&self) -> usize {
        self.local.registry.len()
    }

    /// Cancels every task and runs the loop until their futures are dropped.
    fn shutdown(&self) {
        let _enter = self.enter();
        let local = &*self.local;
        local.debug.closing(local, &local.registry.snapshot());
        for round in 0..16 {
            let tasks = local.registry.snapshot();
            if tasks.is_empty() && !local.has_ready() {
                break;
            }
            for t in &tasks {
                // The first round lets `catch_cancel` points clean up (what
                // runs without timers or I/O); later ones drop the futures.
                if round == 0 {
                    t.cancel();
                } else {
                    t.cancel_forced();
                }
            }
            drop(tasks);
            while local.run_batch(usize::MAX) > 0 {}
        }
        // Drop whatever is left on this thread, then refuse new wake-ups.
        let timers = local.timers().take_all();
        drop(timers);
        local.drain_injected(true);
        local.cancel_ready();
        // Tasks still alive (not woken by 16 rounds of cancellation): drop
        // their futures here, on the loop thread.
        let left = local.registry.tasks();
        for t in left {
            // SAFETY: on the loop thread; each task is alive until its own
            // future is dropped (dropping another's cannot free it).
            unsafe { raw::abandon(t) };
        }
        local.cancel_ready();
    }
}

impl Drop for EventLoop {
    fn drop(&mut self) {
        let me = Rc::as_ptr(&self.local);
        let cur = CURRENT.with(Cell::get);
        if !cur.is_null() && cur != me {
            // Another loop is current (misuse); do not touch its state.
            return;
        }
        CURRENT.with(|c| c.set(ptr::null()));
        self.shutdown();
        CURRENT.with(|c| c.set(ptr::null()));
    }
}

/// Guard returned by [`EventLoop::enter`].
#[derive(Debug)]
pub struct EnterGuard<'a> {
    prev: *const Local,
    _loop: PhantomData<&'a EventLoop>,
}

impl Drop for EnterGuard<'_> {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.prev));
    }
}

/// Cancels and drains the main task of `block_on` even on unwind.
struct MainGuard<'a, T> {
    local: &'a Rc<Local>,
    task: Option<Task<T>>,
}

impl<T> MainGuard<'_, T> {
    fn finish(mut self) -> Result<T, TaskError> {
        let Some(mut task) = self.task.take() else {
            unreachable!("main task taken twice")
        };
        let mut cx = Context::from_waker(Waker::noop());
        match Future::poll(std::pin::Pin::new(&mut task), &mut cx) {
            Poll::Ready(Ok(v)) => Ok(v),
            Poll::Ready(Err(e)) => match e.try_into_panic() {
                Ok(payload) => std::panic::resume_unwind(payload),
                Err(e) => Err(e),
            },
            Poll::Pending => unreachable!("main task finished but its output is not ready"),
        }
    }
}

impl<T> Drop for MainGuard<'_, T> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            // Unwinding out of `block_on`: drop the main future now.
            task.cancel_forced();
            let local = &**self.local;
            for _ in 0..64 {
                if task.is_finished() {
                    break;
                }
                local.run_batch(usize::MAX);
            }
            if !task.is_finished() {
                // Cannot happen (cancellation drops the future at its next
                // poll); aborting is the only sound option left.
                std::process::abort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::HostError;
    use std::fmt;
    use std::io;

    /// [`HostError::lean`]'s text (what the park panic prints on wasm).
    struct Lean<'a>(&'a io::Error);

    impl fmt::Display for Lean<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            HostError(self.0).lean(f)
        }
    }

    #[test]
    fn park_error_text_without_io_error_display() {
        let deadlock = crate::io_error(io::ErrorKind::Other, "nothing can ever wake the loop");
        assert_eq!(
            Lean(&deadlock).to_string(),
            "nothing can ever wake the loop"
        );
        let os = io::Error::from_raw_os_error(28);
        assert_eq!(Lean(&os).to_string(), "os error 28");
        let kind = io::Error::from(io::ErrorKind::TimedOut);
        assert_eq!(Lean(&kind).to_string(), "TimedOut");
        // Natively the panic prints the error's own `Display`.
        if !cfg!(target_family = "wasm") {
            assert_eq!(HostError(&os).to_string(), os.to_string());
        }
    }
}
