//! Tasks: asyncio's `create_task`, `Task`, `current_task`, `all_tasks`.

use std::any::Any;
use std::borrow::Cow;
use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::rc::Rc;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::debug;
use crate::driver::{self, raw, Links, Local, Shared};
use crate::shim::lock::{Mutex, MutexGuard};
use crate::tasks::local::Context as LocalContext;

thread_local! {
    /// The task being polled on this thread.
    static RUNNING: Cell<*const raw::Header> = const { Cell::new(ptr::null()) };
}

/// The metadata of the task being polled (or whose future is being
/// dropped) on this thread, if any.
///
/// # Safety
///
/// The result must not be used after that poll (or drop) ends.
#[inline]
unsafe fn running_meta<'a>() -> Option<&'a TaskMeta> {
    let task = NonNull::new(RUNNING.with(Cell::get) as *mut raw::Header)?;
    // SAFETY: RUNNING points to the task being polled or dropped on this
    // thread, alive for the whole poll (forwarded from the caller).
    Some(unsafe { raw::meta_of(task) })
}

/// [`Task::phase`]: the handle was never polled while its task ran...
const FRESH: u8 = 0;
/// ...was (its task may have an awaiter recorded)...
const AWAITED: u8 = 1;
/// ...or its output was taken out of the `JoinHandle`.
const TAKEN: u8 = 2;

thread_local! {
    /// Set while a cancelled `gather` drops its futures: a [`Task`] handle
    /// dropped then, unfinished and being awaited, cancels its task
    /// (asyncio: cancelling a gather cancels its children).
    static CANCEL_AWAITED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` (which drops futures) so that every unfinished, awaited
/// [`Task`] handle it drops cancels its task.
pub(crate) fn dropping_cancels_awaited<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            CANCEL_AWAITED.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CANCEL_AWAITED.with(|c| c.replace(true)));
    f()
}

/// Sets the flag of [`dropping_cancels_awaited`] and returns its previous
/// value (for the `gather!` macros' guards).
pub(crate) fn set_cancel_awaited(on: bool) -> bool {
    CANCEL_AWAITED.with(|c| c.replace(on))
}

/// Where a task is in its life, for introspection (`all_tasks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskState {
    /// Spawned, not polled yet.
    Scheduled,
    /// Being polled right now.
    Running,
    /// Waiting for something (a timer, I/O, another task).
    Waiting,
    /// Finished with a value.
    Done,
    /// Cancelled.
    Cancelled,
    /// Panicked.
    Failed,
}

impl TaskState {
    #[inline]
    fn from_u8(v: u8) -> Self {
        match v {
            0 => TaskState::Scheduled,
            1 => TaskState::Running,
            2 => TaskState::Waiting,
            3 => TaskState::Done,
            4 => TaskState::Cancelled,
            _ => TaskState::Failed,
        }
    }

    /// Finished one way or another.
    #[inline]
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            TaskState::Done | TaskState::Cancelled | TaskState::Failed
        )
    }
}

/// The task-local context of a task (`task_local!` values), touched only
/// by the thread that polls the task.
struct LocalsCell(UnsafeCell<Option<Rc<LocalContext>>>);

// SAFETY: the cell is read and written only (a) while the task's `Wrapped`
// future is being polled or dropped, through `RUNNING` on the polling
// thread, (b) when the task is created, before anything else can see it,
// and (c) when `Wrapped` is dropped on a thread other than its loop's,
// where the context is leaked instead of dropped (see `Wrapped::drop`).
// A task is polled by its loop's thread only (see `driver::raw`), so
// accesses never overlap and the `Rc` never crosses threads.
unsafe impl Sync for LocalsCell {}
// SAFETY: as above: the `Rc` inside is only touched on the polling thread.
unsafe impl Send for LocalsCell {}

/// The rarely used parts of a task, allocated on first use: the message
/// of [`Task::cancel_with`] and the armed [`catch_cancel`](crate::catch_cancel)
/// points. Every task carries 8 bytes (a null pointer) instead of them,
/// which keeps the task allocation small and spawn at one allocation.
struct Cold(AtomicPtr<Mutex<ColdData>>);

#[derive(Default)]
struct ColdData {
    msg: Option<String>,
    /// Armed catch points: key and the waker that reaches each.
    catch: Vec<(u64, Waker)>,
    next_key: u64,
    /// `add_done_callback`s, with their keys.
    callbacks: Callbacks,
    /// What runs them when the task finishes: set by `add_done_callback`,
    /// so a program that never adds a done callback links none of the
    /// code that schedules them (a `call_soon` task of its own).
    fire: Option<fn(&TaskMeta, NonNull<raw::Header>, Callbacks)>,
}

/// A task's done callbacks, with their keys.
type Callbacks = Vec<(u64, LocalCallback)>;

/// A done callback: it may hold `!Send` values, so it is only ever
/// stored, run and dropped on its task's loop thread.
struct LocalCallback(Box<dyn FnOnce(&TaskRef)>);

// SAFETY: a `LocalCallback` is created by `add_done_callback`, which
// refuses to run anywhere but on the task's loop thread, and is taken out
// of its task (to run or drop it) on that thread when the task finishes
// or its future is dropped; a future dropped on a foreign thread leaks
// its callbacks instead (see `TaskMeta::fire_done_callbacks`). The value
// never moves to, runs or drops on another thread.
unsafe impl Send for LocalCallback {}

impl Cold {
    const fn new() -> Self {
        Cold(AtomicPtr::new(ptr::null_mut()))
    }

    fn lock(m: &Mutex<ColdData>) -> MutexGuard<'_, ColdData> {
        match m.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The data, allocated now if needed.
    fn get_or_init(&self) -> &Mutex<ColdData> {
        let mut p = self.0.load(Ordering::Acquire);
        if p.is_null() {
            let new = Box::into_raw(Box::new(Mutex::new(ColdData::default())));
            match self
                .0
                .compare_exchange(ptr::null_mut(), new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => p = new,
                Err(cur) => {
                    // SAFETY: `new` came from `Box::into_raw` above and was
                    // never shared (the exchange failed).
                    drop(unsafe { Box::from_raw(new) });
                    p = cur;
                }
            }
        }
        // SAFETY: a non-null pointer was installed once (above) from a
        // `Box` and is freed only in `Drop`, which has `&mut self`.
        unsafe { &*p }
    }

    /// The data, if it was ever allocated.
    fn get(&self) -> Option<&Mutex<ColdData>> {
        let p = self.0.load(Ordering::Acquire);
        // SAFETY: as in `get_or_init`: installed once, freed only in `Drop`.
        (!p.is_null()).then(|| unsafe { &*p })
    }

    /// Sets the cancel message (the last one set wins, from any thread).
    fn set_msg(&self, msg: String) {
        Self::lock(self.get_or_init()).msg = Some(msg);
    }

    fn msg(&self) -> Option<String> {
        self.get().and_then(|m| Self::lock(m).msg.clone())
    }
}

impl Drop for Cold {
    #[inline]
    fn drop(&mut self) {
        let p = *self.0.get_mut();
        if !p.is_null() {
            Self::free(p);
        }
    }
}

impl Cold {
    /// Frees the data (out of line: most tasks never allocate it).
    #[cold]
    #[inline(never)]
    fn free(p: *mut Mutex<ColdData>) {
        // SAFETY: installed from `Box::into_raw` and never freed before
        // (called once, from `Drop`).
        drop(unsafe { Box::from_raw(p) });
    }
}

/// Bits of [`TaskMeta::cancel`]: a request not delivered yet (asyncio's
/// `_must_cancel`)...
const CANCEL_PENDING: u32 = 1;
/// ...that drops the task even at a catch point (loop shutdown, unwinding
/// out of `block_on`)...
const CANCEL_FORCE: u32 = 2;
/// ...or that was offered to the armed catch points in the last poll,
/// which took it not: the next poll drops the future...
const CANCEL_TRIED: u32 = 4;
/// Not a cancel bit: done callbacks are registered.
const DONE_CALLBACKS: u32 = 8;
/// ...and the count of requests, in steps of this (asyncio's `cancelling()`).
const CANCEL_ONE: u32 = 16;

/// Per-task data stored inside the task allocation (`driver::raw`).
pub(crate) struct TaskMeta {
    shared: Arc<Shared>,
    id: u64,
    name: Option<Cow<'static, str>>,
    send: bool,
    /// `CANCEL_*` bits and the request count.
    cancel: AtomicU32,
    cold: Cold,
    state: AtomicU8,
    /// The task's place in its loop's registry (loop thread only).
    pub(crate) links: Links,
    /// Id of the task awaiting this one's `Task` handle (0: none).
    awaiter: AtomicU64,
    locals: LocalsCell,
    /// Where the task was spawned (`#[track_caller]`): one pointer.
    location: &'static Location<'static>,
    /// The task header's own bytes, in this struct's padding (see
    /// `raw::HeaderBytes`).
    pub(crate) raw: raw::HeaderBytes,
    /// The task (a `TaskGroup` child) returned an error: its `tracing`
    /// outcome is `"error"`.
    #[cfg(feature = "tracing")]
    returned_error: std::sync::atomic::AtomicBool,
}

impl TaskMeta {
    #[inline]
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub(crate) fn is_send(&self) -> bool {
        self.send
    }

    pub(crate) fn id(&self) -> TaskId {
        TaskId(self.id)
    }

    pub(crate) fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub(crate) fn location(&self) -> &'static Location<'static> {
        self.location
    }

    #[inline]
    fn set_state(&self, s: TaskState) {
        self.state.store(s as u8, Ordering::Relaxed);
    }

    #[inline]
    fn state(&self) -> TaskState {
        TaskState::from_u8(self.state.load(Ordering::Relaxed))
    }

    /// Requests cancellation; false if the task already finished.
    /// `force`: drop the future even where a catch point is armed.
    fn request_cancel(&self, msg: Option<String>, waker: &Waker, force: bool) -> bool {
        if self.state().is_finished() {
            return false;
        }
        #[cfg(feature = "tracing")]
        crate::trace::cancel_requested(self.id, msg.as_deref(), force);
        if let Some(msg) = msg {
            self.cold.set_msg(msg);
        }
        let bits = CANCEL_PENDING | if force { CANCEL_FORCE } else { 0 };
        let _ = self
            .cancel
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                Some(c.saturating_add(CANCEL_ONE) | bits)
            });
        waker.wake_by_ref();
        true
    }

    fn cancel_message(&self) -> Option<String> {
        self.cold.msg()
    }

    /// asyncio's `cancelling()`: requests not taken back by `uncancel`.
    fn cancelling(&self) -> u32 {
        self.cancel.load(Ordering::Acquire) / CANCEL_ONE
    }

    /// asyncio's `uncancel()`: one request fewer; at zero, a request not
    /// delivered yet is withdrawn (asyncio 3.13).
    fn uncancel(&self) -> u32 {
        let prev = self
            .cancel
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                if c < CANCEL_ONE {
                    return None;
                }
                let n = c - CANCEL_ONE;
                Some(if n < CANCEL_ONE {
                    n & DONE_CALLBACKS
                } else {
                    n
                })
            });
        match prev {
            Ok(c) => c / CANCEL_ONE - 1,
            Err(_) => 0,
        }
    }

    /// Wakes the armed catch points (so that their futures are polled even
    /// inside combinators that poll only woken children); false if none
    /// is armed.
    #[cold]
    fn wake_catch_points(&self) -> bool {
        let Some(m) = self.cold.get() else {
            return false;
        };
        let wakers: Vec<Waker> = Cold::lock(m).catch.iter().map(|(_, w)| w.clone()).collect();
        let armed = !wakers.is_empty();
        for w in wakers {
            w.wake();
        }
        armed
    }

    /// Takes a pending (not forced) request for a catch point: its
    /// message, or `None` if there is no such request.
    fn take_request(&self) -> Option<Option<String>> {
        let c = self.cancel.load(Ordering::Acquire);
        if c & (CANCEL_PENDING | CANCEL_FORCE) != CANCEL_PENDING {
            return None;
        }
        self.cancel
            .compare_exchange(
                c,
                c & !(CANCEL_PENDING | CANCEL_TRIED),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .ok()?;
        Some(self.cancel_message())
    }

    /// Makes a delivered request pending again (asyncio's bare `raise` in
    /// `except CancelledError`); the count stays.
    fn repend(&self, msg: Option<String>) {
        if let Some(msg) = msg {
            self.cold.set_msg(msg);
        }
        self.cancel.fetch_or(CANCEL_PENDING, Ordering::AcqRel);
    }

    /// Runs the done callbacks (soon, each with the task's reference, in
    /// the order they were added), if there are any. Called once the task
    /// `task` (this metadata's) has finished, on its loop thread, while it
    /// is still in the registry.
    #[cold]
    #[inline(never)]
    fn fire_done_callbacks(&self, task: NonNull<raw::Header>) {
        if self.cancel.load(Ordering::Acquire) & DONE_CALLBACKS == 0 {
            return;
        }
        self.cancel.fetch_and(!DONE_CALLBACKS, Ordering::AcqRel);
        let Some(m) = self.cold.get() else {
            return;
        };
        let (fire, callbacks) = {
            let mut d = Cold::lock(m);
            (d.fire, std::mem::take(&mut d.callbacks))
        };
        if let Some(fire) = fire {
            fire(self, task, callbacks);
        }
    }

    /// Schedules `callbacks` (the finished task's done callbacks) to run
    /// soon on its loop; reached only through the pointer that
    /// `add_done_callback` stores.
    fn schedule_done_callbacks(&self, task: NonNull<raw::Header>, callbacks: Callbacks) {
        let me = driver::try_with_current(|l| {
            // Linked: on its loop, with its future (and the loop's
            // reference) alive.
            if !Arc::ptr_eq(&l.shared, &self.shared) || !self.links.is_linked() {
                return None;
            }
            Some(TaskRef {
                // SAFETY: alive (see above); the waker takes a reference.
                waker: unsafe { raw::waker(task) },
                meta: NonNull::from(self),
            })
        })
        .flatten();
        match me {
            Some(me) => {
                let _ = crate::call_soon(move || {
                    for (_, cb) in callbacks {
                        (cb.0)(&me);
                    }
                });
            }
            // Not on the task's loop (a `Send` task dropped elsewhere):
            // the callbacks may hold that loop's `Rc`s; leak them.
            None if driver::try_with_current(|l| Arc::ptr_eq(&l.shared, &self.shared))
                != Some(true) =>
            {
                std::mem::forget(callbacks)
            }
            None => drop(callbacks),
        }
    }

    /// Adds a done callback (see [`Task::add_done_callback`]).
    #[track_caller]
    fn add_done_callback(&self, me: TaskRef, f: Box<dyn FnOnce(&TaskRef)>) -> DoneCallback {
        let home = driver::try_with_current(|l| Arc::ptr_eq(&l.shared, &self.shared));
        if home != Some(true) {
            panic!(
                "anyloop: add_done_callback must be called on the task's own loop thread \
                 (done callbacks run there and may hold its `Rc`s)"
            );
        }
        if self.state().is_finished() {
            // asyncio: a callback added to a done future is scheduled at once.
            let _ = crate::call_soon(move || f(&me));
            return DoneCallback(u64::MAX);
        }
        let mut d = Cold::lock(self.cold.get_or_init());
        let key = d.next_key;
        d.next_key += 1;
        d.callbacks.push((key, LocalCallback(f)));
        d.fire = Some(Self::schedule_done_callbacks);
        self.cancel.fetch_or(DONE_CALLBACKS, Ordering::AcqRel);
        DoneCallback(key)
    }

    /// Removes a done callback that has not run; false if there is none.
    fn remove_done_callback(&self, cb: DoneCallback) -> bool {
        // A removed callback is dropped here: only on its loop thread
        // (elsewhere none is found).
        let home = driver::try_with_current(|l| Arc::ptr_eq(&l.shared, &self.shared));
        let (Some(true), Some(m)) = (home, self.cold.get()) else {
            return false;
        };
        let removed = {
            let mut d = Cold::lock(m);
            let pos = d.callbacks.iter().position(|(k, _)| *k == cb.0);
            pos.map(|i| d.callbacks.remove(i))
        };
        removed.is_some()
    }

    /// A cancel request is waiting to be delivered.
    #[inline]
    fn cancel_pending(&self) -> bool {
        self.cancel.load(Ordering::Acquire) & CANCEL_PENDING != 0
    }

    /// A wake-up scheduled the task: the `tracing` wake event (not for
    /// the first scheduling, at spawn).
    #[cfg(feature = "tracing")]
    #[inline]
    pub(crate) fn trace_wake(&self) {
        if self.state() != TaskState::Scheduled {
            crate::trace::woken(self.id);
        }
    }
}

/// The running task (a `TaskGroup` child) returned an error, which went
/// to its group: its `tracing` outcome is `"error"`, not `"ok"`.
#[cfg(feature = "tracing")]
pub(crate) fn running_returned_error() {
    // SAFETY: used at once, during the poll.
    if let Some(meta) = unsafe { running_meta() } {
        meta.returned_error.store(true, Ordering::Relaxed);
    }
}

/// Runs `f` with the task-local context of the running task; `None`
/// outside a task.
pub(crate) fn with_running_locals<R>(
    f: impl FnOnce(&mut Option<Rc<LocalContext>>) -> R,
) -> Option<R> {
    // SAFETY: the metadata of the task being polled or dropped on this
    // thread, used within this call; see `LocalsCell` for why this thread
    // has exclusive access to the cell. The callers (`tasks::local`) pass
    // closures that run no user code (values they replace or remove are
    // returned and dropped after), so this function is never re-entered
    // while the borrow is live.
    let cell = unsafe { &mut *running_meta()?.locals.0.get() };
    Some(f(cell))
}

/// Dropping a [`Task`] handle that a task awaits: no awaiter any more, and
/// a cancelled gather dropping it cancels the task (not generic: one copy).
#[cold]
#[inline(never)]
fn release_awaited(meta: &TaskMeta, raw: NonNull<raw::Header>) {
    if CANCEL_AWAITED.with(Cell::get) {
        // SAFETY: the caller's `JoinHandle` keeps the allocation alive.
        let waker = unsafe { raw::borrow_waker(raw) };
        meta.request_cancel(None, &waker, false);
    }
    meta.awaiter.store(0, Ordering::Relaxed);
}

/// Records the running task (if any, on the same loop as `meta`'s task)
/// as the one awaiting that task, for `capture_call_graph`.
fn note_awaiter(meta: &TaskMeta) {
    // SAFETY: used at once, during the poll.
    let Some(cur) = (unsafe { running_meta() }) else {
        return;
    };
    if ptr::eq(cur, meta) {
        return;
    }
    if Arc::ptr_eq(&cur.shared, &meta.shared) {
        meta.awaiter.store(cur.id, Ordering::Relaxed);
    }
}

/// The context a task spawned now inherits: a copy (a reference count) of
/// the running task's.
#[inline]
fn inherited_locals() -> LocalsCell {
    let ctx = with_running_locals(|c| c.clone()).flatten();
    LocalsCell(UnsafeCell::new(ctx))
}

/// Why a task produced no value: it was cancelled or it panicked.
///
/// `TaskError` is `Send + Sync + 'static` (as tokio's `JoinError`), so `?`
/// turns it into `Box<dyn Error + Send + Sync>` or `anyhow::Error`; a
/// panic's payload is reachable by reference only as its message
/// ([`panic_message`](Self::panic_message)) and whole only by value
/// ([`try_into_panic`](Self::try_into_panic)).
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let task = anyloop::spawn(std::future::pending::<()>());
/// task.cancel();
/// let err = task.await.unwrap_err();
/// assert!(err.is_cancelled());
/// # });
/// ```
pub struct TaskError {
    repr: Repr,
}

enum Repr {
    Cancelled(Option<String>),
    /// Boxed with the never-retrieved report (see [`debug::Panicked`]),
    /// which keeps `TaskError` (and every task's output slot) small.
    Panicked(Box<debug::Panicked>),
}

impl TaskError {
    pub(crate) fn cancelled(msg: Option<String>) -> Self {
        TaskError {
            repr: Repr::Cancelled(msg),
        }
    }

    /// A panic of the task `meta`, armed to report "Task exception was
    /// never retrieved" if nobody takes it from the `Task` handle.
    #[cold]
    fn panicked(payload: Box<dyn Any + Send + 'static>, meta: &TaskMeta) -> Self {
        TaskError {
            repr: Repr::Panicked(debug::Panicked::new(payload, meta)),
        }
    }

    /// A panic nobody needs to hear about again.
    pub(crate) fn panicked_quiet(payload: Box<dyn Any + Send + 'static>) -> Self {
        TaskError {
            repr: Repr::Panicked(debug::Panicked::quiet(payload)),
        }
    }

    /// The error reached its owner: it will not be reported as never
    /// retrieved.
    #[inline]
    fn retrieved(&mut self) {
        if let Repr::Panicked(p) = &mut self.repr {
            p.retrieved();
        }
    }

    /// The task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled(_))
    }

    /// The task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panicked(_))
    }

    /// The message given to [`Task::cancel_with`], if any.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let task = anyloop::spawn(std::future::pending::<()>());
    /// task.cancel_with("shutting down");
    /// let err = task.await.unwrap_err();
    /// assert_eq!(err.cancel_message(), Some("shutting down"));
    /// # });
    /// ```
    pub fn cancel_message(&self) -> Option<&str> {
        match &self.repr {
            Repr::Cancelled(m) => m.as_deref(),
            Repr::Panicked(_) => None,
        }
    }

    /// The panic message, when the payload is a string (as from `panic!`).
    pub fn panic_message(&self) -> Option<&str> {
        match &self.repr {
            Repr::Panicked(p) => p.message(),
            Repr::Cancelled(_) => None,
        }
    }

    pub(crate) fn panic_text(payload: &(dyn Any + Send)) -> String {
        payload
            .downcast_ref::<&'static str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "<non-string panic payload>".to_string())
    }

    /// The panic payload, to `std::panic::resume_unwind` it; `Err(self)` if
    /// the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, TaskError> {
        match self.repr {
            Repr::Panicked(mut p) => Ok(p.take_payload()),
            Repr::Cancelled(_) => Err(self),
        }
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled(m) => f.debug_tuple("Cancelled").field(m).finish(),
            Repr::Panicked(_) => f
                .debug_tuple("Panicked")
                .field(&self.panic_message())
                .finish(),
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled(None) => f.write_str("task was cancelled"),
            Repr::Cancelled(Some(m)) => write!(f, "task was cancelled: {m}"),
            Repr::Panicked(_) => match self.panic_message() {
                Some(m) => write!(f, "task panicked: {m}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

impl std::error::Error for TaskError {}

/// A clone of a panic error carries the panic's message (a `String`
/// payload), not the original payload, which need not be `Clone`.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let t = anyloop::spawn(async { panic!("boom") });
/// # if !std::panic::catch_unwind(|| ()).is_ok() { return; }
/// let e = t.await.unwrap_err();
/// # if !e.is_panic() { return; }
/// assert_eq!(e.clone().panic_message(), Some("boom"));
/// # });
/// ```
impl Clone for TaskError {
    fn clone(&self) -> Self {
        TaskError {
            repr: match &self.repr {
                Repr::Cancelled(m) => Repr::Cancelled(m.clone()),
                Repr::Panicked(p) => Repr::Panicked(debug::Panicked::quiet(Box::new(
                    p.message()
                        .unwrap_or("<non-string panic payload>")
                        .to_string(),
                ))),
            },
        }
    }
}

/// Asking a task for its outcome before it finished, or after its output
/// was taken: asyncio's `InvalidStateError`.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let mut t = anyloop::spawn(async { 1 });
/// let err = t.outcome().unwrap_err();
/// assert!(err.is_pending());
/// assert_eq!(err.to_string(), "the task has not finished yet");
/// # t.await.unwrap();
/// # });
/// ```
#[doc(alias = "InvalidStateError")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidState {
    taken: bool,
}

impl InvalidState {
    /// The task has not finished yet.
    pub(crate) fn pending() -> Self {
        InvalidState { taken: false }
    }

    /// The task has not finished yet.
    pub fn is_pending(&self) -> bool {
        !self.taken
    }

    /// The output was already taken (by awaiting the handle).
    pub fn is_taken(&self) -> bool {
        self.taken
    }
}

impl fmt::Display for InvalidState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.taken {
            "the task's output was already taken (awaited)"
        } else {
            "the task has not finished yet"
        })
    }
}

impl std::error::Error for InvalidState {}

/// The key of a done callback, for [`Task::remove_done_callback`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DoneCallback(u64);

impl DoneCallback {
    pub(crate) fn new(key: u64) -> Self {
        DoneCallback(key)
    }

    pub(crate) fn key(self) -> u64 {
        self.0
    }
}

/// The future stored in the task allocation: cancellation, panic capture,
/// registry bookkeeping and introspection around the user's future.
struct Wrapped<'a, F> {
    fut: FutSlot<'a, F>,
    /// The task's `runtime.spawn` span: entered around each poll and the
    /// drop of the future, closed with the future.
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

/// The user's future inside [`Wrapped`], and whether it is still there.
///
/// Not an `Option<F>`: a task's end dropped through `Option`'s drop glue
/// twice, the future when it finished and the `None` left behind once
/// more with the `Wrapped` (under wasmtime two calls, ~60 instructions
/// per `chained_spawn` link). Here the second is a flag test.
///
/// Only `&mut self` methods: a shared reference to the slot would retag
/// the pinned future and invalidate its self-references (Stacked Borrows
/// exempts only `&mut` to `!Unpin` data).
///
/// The task this future is the body of sits here too, next to the flag:
/// together they fill the word before a future aligned to 8 (apart, the
/// flag took a word of its own, padding included, and the task another:
/// 8 bytes more per task, 25 % of a small task's body).
struct FutSlot<'a, F> {
    live: bool,
    /// The task this future is the body of.
    task: TaskPtr<'a>,
    fut: ManuallyDrop<F>,
}

impl<'a, F> FutSlot<'a, F> {
    #[inline(always)]
    fn new(fut: F, task: TaskPtr<'a>) -> Self {
        FutSlot {
            live: true,
            task,
            fut: ManuallyDrop::new(fut),
        }
    }

    /// The future, unless it was dropped.
    #[inline(always)]
    fn as_mut(&mut self) -> Option<&mut F> {
        if self.live {
            Some(&mut *self.fut)
        } else {
            None
        }
    }

    /// Drops the future in place, if it is there. Marked gone first: a
    /// destructor that panics leaves nothing to drop twice (as assigning
    /// `None` to an `Option` does).
    #[inline(always)]
    fn clear(&mut self) {
        if self.live {
            self.live = false;
            // SAFETY: the future was there (`live`) and is dropped once,
            // in place (it is pinned), and never used again.
            unsafe { ManuallyDrop::drop(&mut self.fut) }
        }
    }
}

impl<F> Drop for FutSlot<'_, F> {
    #[inline(always)]
    fn drop(&mut self) {
        self.clear();
    }
}

/// A task, alive for `'a`: held by the task's own [`Wrapped`] future (the
/// allocation is freed only after the future is dropped, see `raw`'s
/// `dealloc`). A copyable field rather than a `&self` method: a shared
/// reference to the whole `Wrapped` would retag its pinned future and
/// invalidate the future's self-references (Stacked Borrows).
#[derive(Clone, Copy)]
struct TaskPtr<'a>(NonNull<raw::Header>, PhantomData<&'a TaskMeta>);

impl<'a> TaskPtr<'a> {
    /// # Safety
    ///
    /// The task at `task` stays alive for `'a`.
    unsafe fn new(task: NonNull<raw::Header>) -> Self {
        TaskPtr(task, PhantomData)
    }

    /// The task's metadata.
    #[inline(always)]
    fn meta(self) -> &'a TaskMeta {
        // SAFETY: alive for `'a` (see `new`).
        unsafe { raw::meta_of(self.0) }
    }

    #[inline(always)]
    fn ptr(self) -> NonNull<raw::Header> {
        self.0
    }
}

impl<F> Wrapped<'_, F> {
    /// The task ended as `state`; `msg`: the cancel or panic message.
    #[inline(always)]
    fn set_finished(&self, state: TaskState, msg: Option<&str>) {
        self.fut.task.meta().set_state(state);
        #[cfg(feature = "tracing")]
        self.trace_finished(state, msg);
        #[cfg(not(feature = "tracing"))]
        let _ = msg;
    }

    /// The `task finished` event.
    #[cfg(feature = "tracing")]
    fn trace_finished(&self, state: TaskState, msg: Option<&str>) {
        use crate::trace::{finished, Outcome};
        let outcome = match state {
            TaskState::Cancelled => Outcome::Cancelled(msg),
            TaskState::Failed => Outcome::Panicked(msg),
            _ if self.fut.task.meta().returned_error.load(Ordering::Relaxed) => Outcome::Error,
            _ => Outcome::Ok,
        };
        finished(&self.span, self.fut.task.meta().id, outcome);
    }
}

impl<F> Wrapped<'_, F> {
    /// Drops the future (cancelled, or the loop shut down): its
    /// destructors run with the task as current (and inside its span).
    #[inline(never)]
    fn drop_future(&mut self) {
        let prev = RUNNING.with(|r| r.replace(self.fut.task.ptr().as_ptr()));
        #[cfg(feature = "tracing")]
        let entered = self.span.enter();
        self.fut.clear();
        #[cfg(feature = "tracing")]
        drop(entered);
        RUNNING.with(|r| r.set(prev));
    }

    /// Drops the future now (a cancel no catch point took): destructors
    /// run with the task as current, and a panicking destructor fails the
    /// task instead of taking the loop down.
    #[cold]
    fn cancel_now(&mut self) -> TaskError {
        let meta = self.fut.task.meta();
        let prev = RUNNING.with(|r| r.replace(self.fut.task.ptr().as_ptr()));
        #[cfg(feature = "tracing")]
        let entered = self.span.enter();
        let res = catch_unwind(AssertUnwindSafe(|| self.fut.clear()));
        #[cfg(feature = "tracing")]
        drop(entered);
        RUNNING.with(|r| r.set(prev));
        let err = match res {
            Ok(()) => {
                let err = TaskError::cancelled(meta.cancel_message());
                self.set_finished(TaskState::Cancelled, err.cancel_message());
                err
            }
            Err(payload) => {
                let err = TaskError::panicked(payload, meta);
                self.set_finished(TaskState::Failed, err.panic_message());
                err
            }
        };
        meta.fire_done_callbacks(self.fut.task.ptr());
        err
    }

    /// The future panicked (out of line, like the other ends but the
    /// common one, so that they cost the poll nothing).
    #[cold]
    #[inline(never)]
    fn panicked(&mut self, payload: Box<dyn Any + Send>) -> TaskError {
        // Dropping a future that panicked may panic again: contain it.
        #[cfg(feature = "tracing")]
        let entered = self.span.enter();
        let _ = catch_unwind(AssertUnwindSafe(|| self.fut.clear()));
        #[cfg(feature = "tracing")]
        drop(entered);
        let err = TaskError::panicked(payload, self.fut.task.meta());
        self.set_finished(TaskState::Failed, err.panic_message());
        let task = self.fut.task;
        task.meta().fire_done_callbacks(task.ptr());
        err
    }

    /// The future returned a value with a cancel request pending (the
    /// task cancelled itself and returned without awaiting: as in asyncio,
    /// it ends cancelled) or with done callbacks to run.
    #[cold]
    #[inline(never)]
    fn finish_slow<T>(&self, out: T) -> Result<T, TaskError> {
        let meta = self.fut.task.meta();
        let res = if meta.cancel_pending() {
            let prev = RUNNING.with(|r| r.replace(self.fut.task.ptr().as_ptr()));
            #[cfg(feature = "tracing")]
            let entered = self.span.enter();
            let res = catch_unwind(AssertUnwindSafe(|| drop(out)));
            #[cfg(feature = "tracing")]
            drop(entered);
            RUNNING.with(|r| r.set(prev));
            match res {
                Ok(()) => {
                    let err = TaskError::cancelled(meta.cancel_message());
                    self.set_finished(TaskState::Cancelled, err.cancel_message());
                    Err(err)
                }
                Err(payload) => {
                    let err = TaskError::panicked(payload, meta);
                    self.set_finished(TaskState::Failed, err.panic_message());
                    Err(err)
                }
            }
        } else {
            self.set_finished(TaskState::Done, None);
            Ok(out)
        };
        meta.fire_done_callbacks(self.fut.task.ptr());
        res
    }
}

impl<F> Wrapped<'_, F> {
    /// A cancel request is pending at the start of a poll: true to drop
    /// the future now (Rust's cancellation), false to poll it once more
    /// because a [`catch_cancel`](crate::catch_cancel) point is armed and
    /// may deliver the request to the body (asyncio's CancelledError).
    /// The task is then woken for the next poll, which drops the future
    /// if no catch point took the request.
    #[cold]
    #[inline(never)]
    fn cancel_requested(&mut self, cx: &Context<'_>) -> bool {
        let meta = self.fut.task.meta();
        let c = meta.cancel.load(Ordering::Acquire);
        if c & (CANCEL_FORCE | CANCEL_TRIED) != 0
            || self.fut.as_mut().is_none()
            || !meta.wake_catch_points()
        {
            return true;
        }
        meta.cancel.fetch_or(CANCEL_TRIED, Ordering::AcqRel);
        cx.waker().wake_by_ref();
        false
    }
}

impl<F: Future> Future for Wrapped<'_, F> {
    type Output = Result<F::Output, TaskError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `fut` is structurally pinned: it is never moved out, only
        // dropped in place (`FutSlot::clear` below or in `Drop`).
        let this = unsafe { self.get_unchecked_mut() };
        let meta = this.fut.task.meta();
        // Registered already: at spawn, or (spawned from another thread)
        // when its loop took it from the injection queue, before any poll.
        if meta.cancel_pending() && this.cancel_requested(cx) {
            let err = this.cancel_now();
            this.ended();
            return Poll::Ready(Err(err));
        }
        // `as_mut`, not `is_none`: a shared reference to the whole pinned
        // future would retag it and invalidate its self-references
        // (Stacked Borrows exempts only `&mut` to `!Unpin` data).
        if this.fut.as_mut().is_none() {
            // Polled after it ended (the loop never does): nothing to end.
            return Poll::Ready(Err(TaskError::cancelled(meta.cancel_message())));
        }
        meta.set_state(TaskState::Running);
        let prev = RUNNING.with(|r| r.replace(this.fut.task.ptr().as_ptr()));
        #[cfg(feature = "tracing")]
        let timed = crate::trace::poll_start();
        #[cfg(feature = "tracing")]
        let entered = this.span.enter();
        let slot = &mut this.fut;
        let res = catch_unwind(AssertUnwindSafe(|| {
            // There (checked above, nothing since touched the slot); were it
            // gone, `Pending` leaves the ended task be, where a panic
            // message and its `Location` cost every program (issue 17).
            let Some(fut) = slot.as_mut() else {
                return Poll::Pending;
            };
            // SAFETY: see above; `fut` stays in place until dropped below.
            let out = unsafe { Pin::new_unchecked(fut) }.poll(cx);
            if out.is_ready() {
                // Drop the finished future here, with the task current and
                // inside `catch_unwind`: a panicking destructor fails the
                // task instead of unwinding through the loop.
                slot.clear();
            }
            out
        }));
        #[cfg(feature = "tracing")]
        {
            drop(entered);
            if let Some(timed) = timed {
                crate::trace::poll_end(timed, &this.span, meta.id, meta.name(), meta.location);
            }
        }
        RUNNING.with(|r| r.set(prev));
        let out = match res {
            Ok(Poll::Pending) => {
                meta.set_state(TaskState::Waiting);
                return Poll::Pending;
            }
            Ok(Poll::Ready(v)) => {
                if meta.cancel.load(Ordering::Acquire) & (CANCEL_PENDING | DONE_CALLBACKS) != 0 {
                    this.finish_slow(v)
                } else {
                    meta.set_state(TaskState::Done);
                    #[cfg(feature = "tracing")]
                    this.trace_finished(TaskState::Done, None);
                    Ok(v)
                }
            }
            Err(payload) => Err(this.panicked(payload)),
        };
        this.ended();
        Poll::Ready(out)
    }
}

impl<F> Drop for Wrapped<'_, F> {
    #[inline]
    fn drop(&mut self) {
        // A future that ended was dropped in `poll`, which also did the
        // rest (`Wrapped::ended`): nothing left here, the common case.
        if self.fut.as_mut().is_some() {
            self.dropped_unfinished();
        }
    }
}

impl<F> Wrapped<'_, F> {
    /// The task ended (every `Ready` of `poll` comes here, on the task's
    /// loop thread, after its done callbacks were scheduled, which find
    /// the task through its registry slot): drops its task-local context
    /// and leaves the registry. Done here, where the loop thread is
    /// known, rather than in `Drop`, which must first find out where it
    /// runs: a completed task's `Drop` is one null check.
    #[inline(always)]
    fn ended(&self) {
        let meta = self.fut.task.meta();
        if meta.links.is_linked() {
            let cur = driver::current_local();
            debug_assert!(
                // SAFETY: CURRENT points to a live `Local` while set.
                !cur.is_null() && Arc::ptr_eq(unsafe { &(*cur).shared }, &meta.shared),
                "a task is polled by its own loop only"
            );
            // SAFETY: a task is polled on its loop's thread by that loop
            // (see `driver::raw`), which is entered (CURRENT) meanwhile;
            // the task is alive and linked there.
            unsafe { (*cur).registry.remove(self.fut.task.ptr()) };
        }
        // SAFETY: the last access to the task's context (the future is
        // gone, RUNNING no longer points here), on the polling thread; see
        // `LocalsCell`. Dropped last: its values' destructors may run user
        // code, which finds the task finished and unregistered.
        drop(unsafe { (*meta.locals.0.get()).take() });
    }

    /// The future is dropped unfinished (cancelled at loop shutdown, or
    /// the allocation freed with it): destructors run with the task as
    /// current, then the task ends `Cancelled`.
    #[cold]
    #[inline(never)]
    fn dropped_unfinished(&mut self) {
        self.drop_future();
        let meta = self.fut.task.meta();
        // Only the task's own loop, on its thread, may touch its registry
        // entry and its task-local context: a `Send` task's future may be
        // dropped on another thread (its loop closed, the last waker
        // dropped there), whose current loop, if any, is another one.
        let home = driver::try_with_current(|l| Arc::ptr_eq(&l.shared, &meta.shared)) == Some(true);
        // SAFETY: this is the last access to the task's context (the future
        // is gone, RUNNING no longer points here); see `LocalsCell`.
        let locals = unsafe { (*meta.locals.0.get()).take() };
        if locals.is_some() && !home {
            // Dropped on a foreign thread (a `Send` task of a closed
            // loop): the `Rc` may be shared with tasks of that loop.
            std::mem::forget(locals);
        } else {
            drop(locals);
        }
        if !meta.state().is_finished() {
            #[cfg(feature = "tracing")]
            let msg = meta.cancel_message();
            #[cfg(not(feature = "tracing"))]
            let msg: Option<String> = None;
            self.set_finished(TaskState::Cancelled, msg.as_deref());
            meta.fire_done_callbacks(self.fut.task.ptr());
        }
        if home {
            // SAFETY: on the task's loop thread (`home`), task alive; if
            // linked, then in this loop's registry.
            driver::with_current(|l| unsafe { l.registry.remove(self.fut.task.ptr()) });
        }
    }
}

/// Enters the task in `local`'s registry (`all_tasks`): at spawn, or for
/// a task spawned from another thread, when its loop takes it from the
/// injection queue (see `raw::RemoteRef::wake_on`), so that no poll has
/// to check.
///
/// # Safety
///
/// On `local`'s thread; `task` is a fresh task of `local`'s loop, alive
/// and not linked.
#[inline]
pub(crate) unsafe fn register(local: &Local, task: NonNull<raw::Header>) {
    // SAFETY: forwarded from the caller; its future is alive and unlinks
    // the task when it goes (`Wrapped::ended`, `dropped_unfinished`).
    unsafe { local.registry.insert(task) };
}

/// Options for spawning a task: asyncio's `create_task(coro, name=...)`.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let task = anyloop::task::Builder::new()
///     .name("worker-1")
///     .spawn(async { 1 + 1 });
/// assert_eq!(task.name(), Some("worker-1"));
/// assert_eq!(task.await.unwrap(), 2);
/// # });
/// ```
#[derive(Debug, Default, Clone)]
#[must_use = "a Builder does nothing until you call `spawn`"]
pub struct Builder {
    name: Option<Cow<'static, str>>,
    eager: bool,
}

impl Builder {
    /// A builder with default options.
    pub fn new() -> Self {
        Builder::default()
    }

    /// Names the task (asyncio's `name=`), shown by introspection and in errors.
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Starts the task eagerly (asyncio 3.12's `eager_task_factory` /
    /// `eager_start=True`): `spawn` polls it at once, inside the caller,
    /// until its first suspension. A task that finishes without suspending
    /// is done before `spawn` returns and never goes through the loop's
    /// ready queue.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// let ran = Rc::new(Cell::new(false));
    /// let r = ran.clone();
    /// let task = anyloop::task::Builder::new()
    ///     .eager(true)
    ///     .spawn(async move { r.set(true); 7 });
    /// assert!(ran.get() && task.is_finished());
    /// assert_eq!(task.await.unwrap(), 7);
    /// # });
    /// ```
    #[doc(alias = "eager_task_factory")]
    #[doc(alias = "eager_start")]
    pub fn eager(mut self, eager: bool) -> Self {
        self.eager = eager;
        self
    }

    /// Spawns `fut` on the current loop.
    ///
    /// # Panics
    ///
    /// Panics outside a running loop, naming the fix.
    #[doc(alias = "create_task")]
    #[track_caller]
    pub fn spawn<F>(mut self, fut: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let at = Location::caller();
        let local = driver::current();
        // SAFETY: the loop entered on this thread stays alive for this
        // call (see `driver::current`). `F: 'static`, so the future
        // borrows nothing; it is polled and dropped on this loop's thread
        // only.
        unsafe {
            spawn_on(
                local.as_ref(),
                Some(&mut self.name),
                false,
                self.eager,
                KIND_TASK,
                at,
                fut,
            )
        }
    }
}

/// Spawns a task on the current loop: asyncio's `create_task`.
///
/// The task starts at the loop's next iteration, after the current task
/// yields, in FIFO order with other newly spawned tasks. Dropping the
/// returned [`Task`] detaches it (it keeps running); cancel with
/// [`Task::cancel`].
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let task = anyloop::spawn(async { 6 * 7 });
/// assert_eq!(task.await.unwrap(), 42);
/// # });
/// ```
///
/// # Panics
///
/// Panics outside a running loop with a message saying how to start one.
#[doc(alias = "create_task")]
#[doc(alias = "ensure_future")]
#[track_caller]
pub fn spawn<F>(fut: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let at = Location::caller();
    let local = driver::current();
    // SAFETY: as in `Builder::spawn` (no closure: the future goes straight
    // on, and is read only after the task is allocated; see `raw::spawn`).
    unsafe { spawn_on(local.as_ref(), None, false, false, KIND_TASK, at, fut) }
}

/// The `kind` of a spawned task, for `tracing` (and nothing else).
const KIND_TASK: &str = "task";
/// The `kind` of `block_on`'s main task.
const KIND_BLOCK_ON: &str = "block_on";

/// Builds a task for `shared`'s loop: its metadata (and, with the
/// `tracing` feature, its span and `spawned` event) and its allocation,
/// not yet registered or scheduled. The one place both spawn paths
/// ([`spawn_on`], [`spawn_remote`]) build a task.
///
/// # Safety
///
/// As [`raw::spawn`]: `fut` (and its output) must stay valid until the
/// task's future is dropped, and, unless `send`, be polled and dropped on
/// the loop thread.
#[inline]
#[allow(clippy::too_many_arguments)]
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
unsafe fn new_task<F: Future>(
    shared: &Arc<Shared>,
    id: u64,
    name: Option<Cow<'static, str>>,
    send: bool,
    locals: LocalsCell,
    kind: &'static str,
    location: &'static Location<'static>,
    fut: F,
) -> (raw::Runnable, raw::JoinHandle<Result<F::Output, TaskError>>) {
    #[cfg(feature = "tracing")]
    let span = crate::trace::task_span(kind, id, name.as_deref(), location);
    #[cfg(feature = "tracing")]
    crate::trace::spawned(&span, id);
    let meta = TaskMeta {
        shared: shared.clone(),
        id,
        name,
        send,
        cancel: AtomicU32::new(0),
        cold: Cold::new(),
        state: AtomicU8::new(TaskState::Scheduled as u8),
        links: Links::new(),
        awaiter: AtomicU64::new(0),
        locals,
        location,
        raw: raw::HeaderBytes::new(),
        #[cfg(feature = "tracing")]
        returned_error: std::sync::atomic::AtomicBool::new(false),
    };
    // SAFETY: forwarded from the caller.
    unsafe {
        raw::spawn(meta, fut, move |fut, task| Wrapped {
            // SAFETY: the future lives in the task's allocation.
            fut: FutSlot::new(fut, TaskPtr::new(task)),
            #[cfg(feature = "tracing")]
            span,
        })
    }
}

/// Spawns on `local`; `kind` is the `kind` field of its `tracing` span.
/// `name` is taken from the `Option` it points to, if any: a pointer, not
/// the name itself, so that a plain [`spawn`] passes nothing through
/// memory (on wasm32 an `Option<Cow<str>>` argument is passed by
/// reference, and reading it back right after the caller wrote it cost a
/// store-forwarding stall per spawn).
///
/// # Safety
///
/// `fut` (and its output) must stay valid until the task's future is
/// dropped, and, unless `send`, be polled and dropped on the loop thread.
pub(crate) unsafe fn spawn_on<F>(
    local: &Local,
    name: Option<&mut Option<Cow<'static, str>>>,
    send: bool,
    eager: bool,
    kind: &'static str,
    location: &'static Location<'static>,
    fut: F,
) -> Task<F::Output>
where
    F: Future,
{
    let id = local.next_task_id();
    let name = name.and_then(Option::take);
    // SAFETY: forwarded from the caller: polled and dropped on this loop's
    // thread (wake-ups from elsewhere go through the injection queue).
    let (runnable, task) = unsafe {
        new_task(
            &local.shared,
            id,
            name,
            send,
            inherited_locals(),
            kind,
            location,
            fut,
        )
    };
    let raw = task.raw();
    // The registry does not count: the loop's reference keeps the task
    // alive as long as its future, and the handle's as long as the handle.
    // SAFETY: on the loop thread, a fresh task of this loop.
    unsafe { register(local, raw) };
    local.debug.spawned(local, runnable.metadata());
    if eager {
        // Poll it now, inside the caller; `Wrapped::poll` saves and
        // restores RUNNING, so the caller stays the current task after.
        runnable.run();
    } else {
        runnable.schedule_on(local);
    }
    Task::new(task)
}

/// Spawns `block_on`'s main task.
///
/// # Safety
///
/// The caller must drop the task's future (cancel and run it) before
/// anything `fut` borrows goes away.
#[track_caller]
pub(crate) unsafe fn spawn_main<F: Future>(local: &Local, fut: F) -> Task<F::Output> {
    let at = Location::caller();
    // SAFETY: forwarded from the caller.
    unsafe {
        spawn_on(
            local,
            Some(&mut Some(Cow::Borrowed("main"))),
            false,
            false,
            KIND_BLOCK_ON,
            at,
            fut,
        )
    }
}

/// Spawns a `Send` future from any thread onto `shared`'s loop.
pub(crate) fn spawn_remote<F>(
    shared: &Arc<Shared>,
    name: Option<Cow<'static, str>>,
    location: &'static Location<'static>,
    fut: F,
) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    static REMOTE_IDS: AtomicUsize = AtomicUsize::new(1);
    // Remote ids count down from the top so they never collide with the
    // loop's own counter.
    let id = u64::MAX - REMOTE_IDS.fetch_add(1, Ordering::Relaxed) as u64;
    // SAFETY: the future is `Send + 'static`: nothing borrowed, any
    // thread may drop it; it is polled on the loop thread. Other threads
    // have no task-local context to pass on.
    let (runnable, task) = unsafe {
        new_task(
            shared,
            id,
            name,
            true,
            LocalsCell(UnsafeCell::new(None)),
            KIND_TASK,
            location,
            fut,
        )
    };
    shared.inject(runnable.into_remote());
    Task::new(task)
}

/// A handle to a spawned task: asyncio's `Task`.
///
/// Awaiting it gives `Ok(output)`, or `Err(TaskError)` if the task was
/// cancelled or panicked. Dropping the handle detaches the task: it keeps
/// running, as in asyncio. Cancel explicitly with [`cancel`](Task::cancel).
///
/// A `Task` can be awaited from any executor and any thread.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use std::time::Duration;
/// let slow = anyloop::spawn(anyloop::sleep(Duration::from_secs(3600)));
/// assert!(slow.cancel());
/// assert!(slow.await.unwrap_err().is_cancelled());
/// # });
/// ```
#[must_use = "dropping a Task detaches it; `.await` it or call `.detach()` to make that explicit"]
pub struct Task<T> {
    /// Given up once, when the handle is dropped or detached
    /// ([`release`](Self::release)). It is kept after the output was
    /// taken: it keeps the task allocation (and with it the metadata, read
    /// through the same pointer) alive as long as the handle.
    handle: ManuallyDrop<raw::JoinHandle<Result<T, TaskError>>>,
    /// [`FRESH`], [`AWAITED`] or [`TAKEN`]: one byte, so that releasing
    /// the handle tests one value for all of them.
    phase: u8,
    /// The output taken out by [`Task::poll_finished`] (`wait`,
    /// `as_completed`), not yet returned. Boxed so that the common path
    /// (spawn, await) pays one null check for it, not an enum's drop glue.
    done: Option<Box<Result<T, TaskError>>>,
}

// SAFETY: the handle only reads the metadata (atomics, a mutex and
// immutable fields: `TaskMeta` is `Sync`) and holds the raw parts of a
// `Waker` (`Send + Sync`) and a `JoinHandle` whose output `T` crosses
// threads only if `T: Send`.
unsafe impl<T: Send> Send for Task<T> {}
// SAFETY: as above; `&Task` exposes no `T`.
unsafe impl<T> Sync for Task<T> {}

impl<T> Task<T> {
    /// The handle of a fresh task: one pointer (the `JoinHandle`'s) and
    /// two small fields, which spawn writes and the handle's owner reads.
    #[inline]
    fn new(handle: raw::JoinHandle<Result<T, TaskError>>) -> Self {
        Task {
            handle: ManuallyDrop::new(handle),
            phase: FRESH,
            done: None,
        }
    }

    #[inline]
    fn meta(&self) -> &TaskMeta {
        // SAFETY: the `JoinHandle` keeps the allocation, and with it the
        // metadata, alive as long as this handle.
        unsafe { raw::meta_of(self.handle.raw()) }
    }

    fn waker(&self) -> ManuallyDrop<Waker> {
        // SAFETY: the `JoinHandle` keeps the allocation alive as long as
        // this handle, and the result does not outlive `&self`'s use.
        unsafe { raw::borrow_waker(self.handle.raw()) }
    }

    /// Requests cancellation (asyncio's `Task.cancel()`); false if the task
    /// had already finished.
    ///
    /// By default the task's future is dropped at its next poll (Rust's
    /// cancellation: destructors run) and awaiting this handle gives
    /// `Err(TaskError::is_cancelled)`. If the task is awaiting inside a
    /// [`catch_cancel`](crate::catch_cancel), the request is delivered
    /// there as `Err(Cancelled)` instead, and the task decides (asyncio's
    /// `except CancelledError`); see [the cancellation
    /// guide](crate::tasks#cancellation-two-styles). Every call counts one
    /// request ([`cancelling`](Self::cancelling)).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let t = anyloop::spawn(std::future::pending::<()>());
    /// assert!(t.cancel());
    /// assert_eq!(t.cancelling(), 1);
    /// assert!(t.await.unwrap_err().is_cancelled());
    /// # });
    /// ```
    pub fn cancel(&self) -> bool {
        self.meta().request_cancel(None, &self.waker(), false)
    }

    /// Like [`cancel`](Self::cancel), with a message the awaiter can read
    /// from [`TaskError::cancel_message`] (asyncio's `cancel(msg=...)`).
    pub fn cancel_with(&self, msg: impl Into<String>) -> bool {
        self.meta()
            .request_cancel(Some(msg.into()), &self.waker(), false)
    }

    /// Cancels even through catch points (loop shutdown, unwinding).
    pub(crate) fn cancel_forced(&self) -> bool {
        self.meta().request_cancel(None, &self.waker(), true)
    }

    /// The number of cancel requests not taken back by
    /// [`uncancel`](Self::uncancel) (asyncio 3.11's `Task.cancelling()`).
    ///
    /// # Examples
    ///
    /// See [`cancel`](Self::cancel).
    pub fn cancelling(&self) -> u32 {
        self.meta().cancelling()
    }

    /// Takes one cancel request back and returns how many remain (asyncio
    /// 3.11's `Task.uncancel()`). When none remain, a request not yet
    /// delivered is withdrawn: the task goes on as if never cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let t = anyloop::spawn(async { anyloop::yield_now().await; 5 });
    /// t.cancel();
    /// assert_eq!(t.uncancel(), 0);
    /// assert_eq!(t.await.unwrap(), 5); // the request was withdrawn
    /// # });
    /// ```
    pub fn uncancel(&self) -> u32 {
        self.meta().uncancel()
    }

    /// Whether the task has finished (asyncio's `done()`).
    #[doc(alias = "done")]
    #[inline]
    pub fn is_finished(&self) -> bool {
        self.phase == TAKEN || self.handle.is_finished()
    }

    /// Whether a cancellation was requested and not taken back
    /// (`cancelling() > 0`).
    pub fn is_cancel_requested(&self) -> bool {
        self.meta().cancelling() > 0
    }

    /// The task's name, if it was given one (asyncio's `get_name()`).
    #[doc(alias = "get_name")]
    pub fn name(&self) -> Option<&str> {
        self.meta().name.as_deref()
    }

    /// The task's id, unique within its loop.
    pub fn id(&self) -> TaskId {
        TaskId(self.meta().id)
    }

    /// Where the task was spawned (the caller of `spawn`), as shown by
    /// debug-mode warnings and the monitor.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let t = anyloop::spawn(async {});
    /// assert_eq!(t.spawned_at().line(), line!() - 1);
    /// t.await.unwrap();
    /// # });
    /// ```
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.meta().location
    }

    /// Introspection state.
    pub fn state(&self) -> TaskState {
        self.meta().state()
    }

    /// A cheap, clonable reference for introspection and cancellation.
    pub fn task_ref(&self) -> TaskRef {
        TaskRef {
            waker: (*self.waker()).clone(),
            meta: NonNull::from(self.meta()),
        }
    }

    /// Detaches the task explicitly (same as dropping the handle).
    #[inline]
    pub fn detach(self) {
        // Released here; the handle's `Drop` would only find it empty
        // (an out-of-line call per detach).
        let mut this = ManuallyDrop::new(self);
        this.release();
        drop(this.done.take());
    }

    /// Detaches the task. Only a handle that was polled while its task ran
    /// ([`AWAITED`]) has more to do (its task has an awaiter to forget, and
    /// a cancelled gather dropping it cancels the task): one byte compare
    /// on the common paths (a handle never polled, or one whose output was
    /// taken), where the awaiter is already clear.
    ///
    /// Called once per handle (by `Drop` or `detach`), which then no
    /// longer uses the `JoinHandle`. The cold call comes before the
    /// `JoinHandle` is taken out, so that nothing between the take and
    /// the detach can unwind (no spill for a landing pad).
    #[inline]
    fn release(&mut self) {
        if self.phase == AWAITED {
            self.phase = FRESH;
            release_awaited(self.meta(), self.handle.raw());
        }
        // SAFETY: taken once (see above); the handle is not used after.
        unsafe { ManuallyDrop::take(&mut self.handle) }.detach();
    }

    /// Whether the task finished cancelled (asyncio's `cancelled()`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let mut t = anyloop::spawn(std::future::pending::<()>());
    /// t.cancel();
    /// assert!(!t.is_cancelled()); // requested, not finished yet
    /// anyloop::yield_now().await;
    /// assert!(t.is_cancelled());
    /// assert!(t.outcome().unwrap().as_ref().unwrap_err().is_cancelled());
    /// # });
    /// ```
    #[doc(alias = "cancelled")]
    pub fn is_cancelled(&self) -> bool {
        self.state() == TaskState::Cancelled
    }

    /// The task's outcome without consuming the handle (asyncio's
    /// `result()` and `exception()` in one): `Ok(value)` or the
    /// [`TaskError`]. Awaiting the handle afterwards still returns it.
    ///
    /// # Errors
    ///
    /// [`InvalidState`] while the task runs (asyncio's
    /// `InvalidStateError`), or after the output was taken by awaiting.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let mut t = anyloop::spawn(async { 6 * 7 });
    /// assert!(t.outcome().unwrap_err().is_pending());
    /// anyloop::yield_now().await;
    /// assert_eq!(t.outcome().unwrap().as_ref().ok(), Some(&42));
    /// assert!(t.exception().unwrap().is_none());
    /// assert_eq!(t.await.unwrap(), 42); // still there
    /// # });
    /// ```
    #[doc(alias = "result")]
    pub fn outcome(&mut self) -> Result<&Result<T, TaskError>, InvalidState> {
        if self.phase != TAKEN {
            if !self.is_finished() {
                return Err(InvalidState { taken: false });
            }
            let _ = self.poll_finished(&mut Context::from_waker(Waker::noop()));
        }
        if let Some(Err(e)) = self.done.as_deref_mut() {
            // Read through the handle: not "never retrieved".
            e.retrieved();
        }
        self.done.as_deref().ok_or(InvalidState { taken: true })
    }

    /// The task's error, `None` if it returned a value (asyncio's
    /// `exception()`; a cancelled task gives its cancellation error here
    /// where asyncio raises `CancelledError`).
    ///
    /// # Errors
    ///
    /// As [`outcome`](Self::outcome).
    ///
    /// # Examples
    ///
    /// See [`outcome`](Self::outcome).
    pub fn exception(&mut self) -> Result<Option<&TaskError>, InvalidState> {
        Ok(self.outcome()?.as_ref().err())
    }

    /// A cheap, clonable handle that any number of tasks can await, also
    /// after the task finished (each gets a clone of the outcome): for
    /// asyncio code that awaits one task from several places, or twice.
    ///
    /// # Examples
    ///
    /// See [`SharedTask`](crate::tasks::SharedTask).
    pub fn shared(self) -> crate::tasks::SharedTask<T>
    where
        T: Clone,
    {
        crate::tasks::SharedTask::new(self)
    }

    /// Calls `f` with the task's reference once the task has finished,
    /// however it finished (asyncio's `add_done_callback`): soon after, as
    /// a [`call_soon`](crate::call_soon) callback, in the order callbacks
    /// were added; at once (soon) if the task has already finished.
    ///
    /// # Panics
    ///
    /// Off the task's loop thread (callbacks may hold its `Rc`s).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use std::{cell::RefCell, rc::Rc};
    /// let log = Rc::new(RefCell::new(Vec::new()));
    /// let t = anyloop::spawn(async { 1 });
    /// let l = log.clone();
    /// t.add_done_callback(move |task| l.borrow_mut().push(format!("{:?}", task.state())));
    /// t.await.unwrap();
    /// anyloop::yield_now().await;
    /// assert_eq!(*log.borrow(), ["Done"]);
    /// # });
    /// ```
    #[track_caller]
    pub fn add_done_callback(&self, f: impl FnOnce(&TaskRef) + 'static) -> DoneCallback {
        self.meta().add_done_callback(self.task_ref(), Box::new(f))
    }

    /// Removes a callback added by [`add_done_callback`](Self::add_done_callback)
    /// that has not been scheduled yet; false if there is none (asyncio's
    /// `remove_done_callback`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let t = anyloop::spawn(async {});
    /// let cb = t.add_done_callback(|_| unreachable!());
    /// assert!(t.remove_done_callback(cb));
    /// assert!(!t.remove_done_callback(cb));
    /// t.await.unwrap();
    /// # });
    /// ```
    pub fn remove_done_callback(&self, cb: DoneCallback) -> bool {
        self.meta().remove_done_callback(cb)
    }

    /// Records the running task (if any, on the same loop) as the one
    /// awaiting this task, for `capture_call_graph`.
    fn note_awaiter(&self) {
        note_awaiter(self.meta());
    }

    /// The output taken by [`poll_finished`](Self::poll_finished), if any.
    pub(crate) fn finished_output(&self) -> Option<&Result<T, TaskError>> {
        self.done.as_deref()
    }

    /// Waits for the task to finish without taking its output: `Ready`
    /// once it finished, the output then stays in the handle for the next
    /// `.await` (which returns at once). `wait` and `as_completed` use it.
    pub(crate) fn poll_finished(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.phase == TAKEN {
            return Poll::Ready(());
        }
        let out = match self.handle.poll_output(cx) {
            Poll::Pending => {
                self.phase = AWAITED;
                self.note_awaiter();
                return Poll::Pending;
            }
            Poll::Ready(out) => out,
        };
        let meta = self.meta();
        meta.awaiter.store(0, Ordering::Relaxed);
        // `None`: the loop shut down before the task could finish.
        let res = out.unwrap_or_else(|| Err(TaskError::cancelled(meta.cancel_message())));
        self.phase = TAKEN;
        self.done = Some(Box::new(res));
        Poll::Ready(())
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T, TaskError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let out = if this.phase != TAKEN {
            match this.handle.poll_output(cx) {
                Poll::Pending => {
                    this.phase = AWAITED;
                    this.note_awaiter();
                    return Poll::Pending;
                }
                Poll::Ready(out) => out,
            }
        } else {
            match this.done.take() {
                Some(mut res) => {
                    if let Err(e) = &mut *res {
                        e.retrieved();
                    }
                    return Poll::Ready(*res);
                }
                None => panic!("anyloop: a Task was polled after it completed"),
            }
        };
        this.phase = TAKEN;
        let meta = this.meta();
        meta.awaiter.store(0, Ordering::Relaxed);
        // `None`: the loop shut down before the task could finish.
        let mut out = out.unwrap_or_else(|| Err(TaskError::cancelled(meta.cancel_message())));
        if let Err(e) = &mut out {
            e.retrieved();
        }
        Poll::Ready(out)
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.release();
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("state", &self.state())
            .finish()
    }
}

/// A task's id, unique within its loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(u64);

impl TaskId {
    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }

    #[cfg(test)]
    pub(crate) fn from_u64(id: u64) -> Self {
        TaskId(id)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A type-erased reference to a task, from [`current_task`], [`all_tasks`]
/// or [`Task::task_ref`]: read its id, name and state, or cancel it.
#[derive(Clone)]
pub struct TaskRef {
    waker: Waker,
    meta: NonNull<TaskMeta>,
}

// SAFETY: `TaskMeta` is `Sync` (atomics, a mutex, immutable fields) and
// `Waker` is `Send + Sync`; the waker keeps the allocation alive.
unsafe impl Send for TaskRef {}
// SAFETY: as above.
unsafe impl Sync for TaskRef {}

impl TaskRef {
    /// # Safety
    ///
    /// `waker` must be a waker of the task whose metadata `meta` points to.
    pub(crate) unsafe fn new(waker: Waker, meta: NonNull<TaskMeta>) -> Self {
        TaskRef { waker, meta }
    }

    pub(crate) fn meta(&self) -> &TaskMeta {
        // SAFETY: `waker` holds a reference to the task allocation.
        unsafe { self.meta.as_ref() }
    }

    /// See [`Task::cancel`].
    pub fn cancel(&self) -> bool {
        self.meta().request_cancel(None, &self.waker, false)
    }

    /// See [`Task::cancel_with`].
    pub fn cancel_with(&self, msg: impl Into<String>) -> bool {
        self.meta()
            .request_cancel(Some(msg.into()), &self.waker, false)
    }

    /// Cancels even through catch points (loop shutdown).
    pub(crate) fn cancel_forced(&self) -> bool {
        self.meta().request_cancel(None, &self.waker, true)
    }

    /// See [`Task::is_cancel_requested`].
    pub fn is_cancel_requested(&self) -> bool {
        self.meta().cancelling() > 0
    }

    /// See [`Task::cancelling`]. A task reads its own count through
    /// [`current_task`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let me = anyloop::current_task().unwrap();
    /// assert_eq!(me.cancelling(), 0);
    /// # });
    /// ```
    pub fn cancelling(&self) -> u32 {
        self.meta().cancelling()
    }

    /// See [`Task::uncancel`].
    pub fn uncancel(&self) -> u32 {
        self.meta().uncancel()
    }

    /// See [`Task::add_done_callback`].
    ///
    /// # Panics
    ///
    /// Off the task's loop thread.
    #[track_caller]
    pub fn add_done_callback(&self, f: impl FnOnce(&TaskRef) + 'static) -> DoneCallback {
        self.meta().add_done_callback(self.clone(), Box::new(f))
    }

    /// See [`Task::remove_done_callback`].
    pub fn remove_done_callback(&self, cb: DoneCallback) -> bool {
        self.meta().remove_done_callback(cb)
    }

    /// Whether the task finished cancelled (asyncio's `cancelled()`).
    pub fn is_cancelled(&self) -> bool {
        self.state() == TaskState::Cancelled
    }

    /// The message of a pending or performed [`cancel_with`](Self::cancel_with),
    /// if any: a task can read why it is being cancelled (in its
    /// destructors, via [`current_task`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let t = anyloop::spawn(std::future::pending::<()>());
    /// let r = t.task_ref();
    /// r.cancel_with("bye");
    /// assert_eq!(r.cancel_message().as_deref(), Some("bye"));
    /// assert_eq!(t.await.unwrap_err().cancel_message(), Some("bye"));
    /// # });
    /// ```
    pub fn cancel_message(&self) -> Option<String> {
        self.meta().cancel_message()
    }

    /// Marks the running task as awaiting this one (for joins that wait
    /// for tasks without polling their handles, like `TaskGroup::join`).
    pub(crate) fn note_awaiter(&self) {
        note_awaiter(self.meta());
    }

    /// The id of the task awaiting this one's [`Task`] handle, if any
    /// (what [`capture_call_graph`](crate::capture_call_graph) follows).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let child = anyloop::spawn(anyloop::yield_now());
    /// let r = child.task_ref();
    /// assert_eq!(r.awaited_by(), None);
    /// let main = anyloop::current_task().unwrap().id();
    /// let watcher = anyloop::spawn(async move { r.awaited_by() });
    /// child.await.unwrap(); // main awaits child...
    /// assert_eq!(watcher.await.unwrap(), Some(main)); // ...as the watcher saw
    /// # });
    /// ```
    pub fn awaited_by(&self) -> Option<TaskId> {
        match self.meta().awaiter.load(Ordering::Relaxed) {
            0 => None,
            id => Some(TaskId(id)),
        }
    }

    /// See [`Task::id`].
    pub fn id(&self) -> TaskId {
        TaskId(self.meta().id)
    }

    /// See [`Task::name`].
    pub fn name(&self) -> Option<&str> {
        self.meta().name.as_deref()
    }

    /// See [`Task::spawned_at`].
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.meta().location
    }

    /// A reference to the task `runnable` runs (a waker clone).
    pub(crate) fn of_runnable(runnable: &driver::Runnable) -> TaskRef {
        TaskRef {
            waker: runnable.waker(),
            meta: NonNull::from(runnable.metadata()),
        }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        self.meta().shared()
    }

    /// See [`Task::state`].
    pub fn state(&self) -> TaskState {
        self.meta().state()
    }

    /// Whether the task has finished.
    pub fn is_finished(&self) -> bool {
        self.state().is_finished()
    }

    /// A waker that schedules the task.
    pub fn waker(&self) -> &Waker {
        &self.waker
    }
}

impl PartialEq for TaskRef {
    fn eq(&self, other: &Self) -> bool {
        self.meta == other.meta
    }
}

impl Eq for TaskRef {}

impl fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskRef")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("state", &self.state())
            .finish()
    }
}

/// The task being run right now, if any (asyncio's `current_task()`).
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let t = anyloop::task::Builder::new().name("me").spawn(async {
///     anyloop::current_task().unwrap().name().map(String::from)
/// });
/// assert_eq!(t.await.unwrap().as_deref(), Some("me"));
/// # });
/// ```
pub fn current_task() -> Option<TaskRef> {
    let task = NonNull::new(RUNNING.with(Cell::get) as *mut raw::Header)?;
    // SAFETY: RUNNING is set only while the task's `Wrapped` is being polled
    // or dropped, so the task is alive.
    let meta = unsafe { raw::meta_of(task) };
    // Only while it is in its loop's registry (on that loop's thread): its
    // future, and with it the loop's reference, is alive then. A future
    // dropped elsewhere or after its task left (the allocation being
    // freed) has no task to hand out.
    let home = driver::try_with_current(|l| Arc::ptr_eq(&l.shared, &meta.shared)) == Some(true);
    if !home || !meta.links.is_linked() {
        return None;
    }
    Some(TaskRef {
        // SAFETY: alive (see above); the waker takes a reference.
        waker: unsafe { raw::waker(task) },
        meta: NonNull::from(meta),
    })
}

/// A [`catch_cancel`](crate::catch_cancel) point armed in a task: a cancel
/// request for the task wakes it, and it may take the request.
pub(crate) struct CatchPoint {
    task: TaskRef,
    key: u64,
}

impl CatchPoint {
    /// Arms a catch point in the running task, woken through `waker`;
    /// `None` outside a task.
    pub(crate) fn arm(waker: &Waker) -> Option<CatchPoint> {
        let task = current_task()?;
        let key = {
            let mut d = Cold::lock(task.meta().cold.get_or_init());
            let key = d.next_key;
            d.next_key += 1;
            d.catch.push((key, waker.clone()));
            key
        };
        Some(CatchPoint { task, key })
    }

    /// Whether the point belongs to the task being polled.
    pub(crate) fn is_running(&self) -> bool {
        // SAFETY: compared at once, during the poll.
        unsafe { running_meta() }.is_some_and(|m| ptr::eq(m, self.task.meta.as_ptr()))
    }

    /// Keeps the waker that reaches the point current.
    pub(crate) fn update(&self, waker: &Waker) {
        let Some(m) = self.task.meta().cold.get() else {
            return;
        };
        let mut d = Cold::lock(m);
        if let Some((_, w)) = d.catch.iter_mut().find(|(k, _)| *k == self.key) {
            if !w.will_wake(waker) {
                w.clone_from(waker);
            }
        }
    }

    /// Takes the task's pending (not forced) cancel request: its message,
    /// or `None` if there is no such request.
    pub(crate) fn take_request(&self) -> Option<Option<String>> {
        self.task.meta().take_request()
    }
}

impl Drop for CatchPoint {
    fn drop(&mut self) {
        if let Some(m) = self.task.meta().cold.get() {
            Cold::lock(m).catch.retain(|(k, _)| *k != self.key);
        }
    }
}

/// Whether the running task has a cancel request waiting for delivery.
pub(crate) fn running_cancel_pending() -> bool {
    // SAFETY: used at once, during the poll.
    unsafe { running_meta() }.is_some_and(TaskMeta::cancel_pending)
}

/// Makes a delivered cancel request of the running task pending again
/// (and wakes the task, which ends cancelled at its next poll or when its
/// future returns); false outside a task.
pub(crate) fn repend_running(msg: Option<String>) -> bool {
    match current_task() {
        Some(t) => {
            t.meta().repend(msg);
            t.waker.wake_by_ref();
            true
        }
        None => false,
    }
}

/// Every live task of the current loop (asyncio's `all_tasks()`),
/// including the caller. Empty outside a loop.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let t = anyloop::spawn(std::future::pending::<()>());
/// assert!(anyloop::all_tasks().iter().any(|r| r.id() == t.id()));
/// t.cancel();
/// # });
/// ```
pub fn all_tasks() -> Vec<TaskRef> {
    driver::try_with_current(|l| l.registry.snapshot()).unwrap_or_default()
}

/// Yields to the loop once, letting every other ready task run first:
/// asyncio's `await asyncio.sleep(0)`.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// anyloop::yield_now().await;
/// # });
/// ```
#[doc(alias = "sleep(0)")]
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// Future of [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    // Inline: without it the browser build (fat LTO) kept this a call of
    // its own inside every yielding task's poll.
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            Poll::Ready(())
        } else {
            self.yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}
