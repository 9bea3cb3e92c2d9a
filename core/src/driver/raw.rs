//! The task allocation: one per spawn, holding the task's header (state,
//! metadata, the awaiter's waker) and its future, later its output.
//!
//! # Why not `async-task`
//!
//! `async-task` (and tokio's task core) keep the scheduling state in one
//! atomic word, so that any thread can wake a task: every poll pays a
//! compare-and-swap to start, one to finish and one per wake-up. Those
//! locked instructions were ~80 % of a `yield` round trip (perf), whatever
//! the loop did around them. An anyloop task is polled on its loop's
//! thread only, and almost every wake-up comes from that thread, so the
//! state is split by who may touch it:
//!
//! - [`Header::sched`] (`QUEUED`, `DONE`): read and written on the loop
//!   thread only, with plain loads and stores. A wake-up on the loop thread
//!   (found by comparing the thread's current loop with the task's) sets
//!   `QUEUED` and pushes the task onto the ready queue; a poll clears it.
//!   No atomic operation on the poll/wake path.
//! - [`Header::state`] (atomic): the reference count and the hand-off of
//!   the output to the [`JoinHandle`], which may live on any thread:
//!   `COMPLETED`/`CLOSED` (the output is there / never will be), `HANDLE`
//!   (a handle still wants it), `AWAITER` + `LOCKED` (the handle's waker
//!   slot and its lock bit). Touched once or twice per task life.
//! - A wake-up from another thread takes a reference (`REF`) and pushes a
//!   [`RemoteRef`] onto the loop's injection queue; the loop thread turns
//!   it into a local wake-up (ignored if the task is already queued or
//!   done).
//!
//! # References
//!
//! The loop holds one reference while the future is alive or the task is
//! queued (released, on the loop thread, when both are over); the handle
//! holds one; every `Waker` holds one. The last one frees the allocation.
//! The ready queue's entries ([`Runnable`]) are not counted: `QUEUED` keeps
//! the loop's reference.

use std::alloc::{handle_alloc_error, Layout};
use std::cell::{Cell, UnsafeCell};
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use super::Local;
use crate::task::TaskMeta;

// `Header::state` bits.
/// The output is stored (or was dropped for want of a handle).
const COMPLETED: usize = 1;
/// The future was dropped without an output (loop shutdown).
const CLOSED: usize = 2;
/// The awaiter slot holds the handle's waker.
const AWAITER: usize = 4;
/// The handle is writing the awaiter slot.
const LOCKED: usize = 8;
/// The [`JoinHandle`] is alive and has not taken the output.
const HANDLE: usize = 16;
/// One reference.
const REF: usize = 64;

// `Header::sched` bits (loop thread only).
/// The task is on the ready queue (once at most).
const QUEUED: u8 = 1;
/// The future is gone (finished or dropped).
const DONE: u8 = 2;

// `Header::stage` values: what the task's body holds.
/// The future.
const RUNNING: u8 = 0;
/// The output, for the handle.
const FINISHED: u8 = 1;
/// Nothing (the future is gone, the output taken or dropped, or none).
const CONSUMED: u8 = 2;

/// What the type-erased code needs from the typed task.
struct TaskVTable {
    /// Polls the future once (the task is dequeued and not `DONE`); when
    /// it finishes, stores or drops the output, publishes it and gives up
    /// the loop's reference, all in the typed code (see [`TaskCell::run`]).
    run: unsafe fn(NonNull<Header>),
    /// Drops the future in place (the task never finishes).
    drop_future: unsafe fn(NonNull<Header>),
    /// Where the body (the future, then the output) starts, in bytes
    /// from the header: the handle, which knows the output's type but not
    /// the future's, reads the output there without an indirect call.
    body: usize,
    /// Drops the output in place.
    drop_output: unsafe fn(NonNull<Header>),
    /// Drops what is left and frees the allocation.
    dealloc: unsafe fn(NonNull<Header>),
}

/// The start of every task allocation (the first field of the `repr(C)`
/// [`TaskCell`], so its address is the allocation's). Only words and the
/// metadata: its two one-byte fields live in the metadata's padding
/// ([`HeaderBytes`]); nothing reads the header by offset, so it needs no
/// `repr(C)` of its own.
pub(crate) struct Header {
    state: AtomicUsize,
    vtable: &'static TaskVTable,
    awaiter: UnsafeCell<Option<Waker>>,
    /// The task's metadata, with the header's own two bytes in it
    /// ([`HeaderBytes`], reached through [`sched`](Self::sched) and
    /// [`stage`](Self::stage)).
    meta: TaskMeta,
}

/// The header's two one-byte fields, kept inside the metadata
/// (`TaskMeta::raw`), where the metadata's own layout leaves two bytes of
/// padding: in the header, next to its words, they padded every task by
/// 8 bytes (wasm32 and 64-bit alike).
pub(crate) struct HeaderBytes {
    /// `QUEUED`, `DONE`: loop thread only.
    sched: Cell<u8>,
    /// `RUNNING`, `FINISHED` or `CONSUMED`: written by whoever owns the
    /// body at the time (the loop thread while the future lives and when
    /// it ends; the handle once `COMPLETED` is published; the last
    /// reference), like the body itself.
    stage: UnsafeCell<u8>,
}

impl HeaderBytes {
    /// A fresh task's: queued (to be), its future in the body.
    pub(crate) const fn new() -> Self {
        HeaderBytes {
            sched: Cell::new(QUEUED),
            stage: UnsafeCell::new(RUNNING),
        }
    }
}

// SAFETY: the fields are private to this module, which reads and writes
// `sched` only on the loop thread of the task (every access below checks
// it is there, or runs where only that thread can be: polls, the ready
// queue, a fresh task not yet shared), and `stage` only as the owner of
// the body at the time, which the `state` word hands over (see the
// field). Other modules only hold `&TaskMeta`, which reaches neither.
// (`Send` is automatic: nothing in them is tied to a thread.)
unsafe impl Sync for HeaderBytes {}

// SAFETY: `state` is atomic; `meta` is `Sync` (with `sched` and `stage`
// in it, see `HeaderBytes`); `awaiter` is written only by the holder of
// the `LOCKED` bit (the handle) before `COMPLETED`/`CLOSED` is set, and
// taken only by the one that sets them while `LOCKED` is clear (see
// `finish`).
unsafe impl Sync for Header {}
// SAFETY: as above; nothing in the header is tied to a thread.
unsafe impl Send for Header {}

/// The task's future, then its output, in the same bytes (the header's
/// `stage` says which, if any, is there). A union rather than an enum:
/// the output's offset is then the same for every state, and recorded in
/// the vtable (`TaskVTable::body`) for the handle.
#[repr(C)]
union Body<F, T> {
    future: ManuallyDrop<F>,
    output: ManuallyDrop<T>,
}

#[repr(C)]
struct TaskCell<F, T> {
    header: Header,
    body: UnsafeCell<Body<F, T>>,
}

impl Header {
    /// `QUEUED`, `DONE` (loop thread only; see [`HeaderBytes`]).
    #[inline(always)]
    fn sched(&self) -> &Cell<u8> {
        &self.meta.raw.sched
    }

    /// What the body holds (see [`HeaderBytes`]).
    #[inline(always)]
    fn stage(&self) -> &UnsafeCell<u8> {
        &self.meta.raw.stage
    }

    /// The header of the task a waker of this module points to.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a live task allocation.
    #[inline]
    unsafe fn of<'a>(ptr: NonNull<Header>) -> &'a Header {
        // SAFETY: forwarded from the caller.
        unsafe { ptr.as_ref() }
    }

    /// The loop of this task, if it is the current loop of this thread.
    #[inline]
    fn home(&self) -> Option<&Local> {
        let cur = super::current_local();
        if cur.is_null() {
            return None;
        }
        // SAFETY: CURRENT points to a live `Local` while it is set (see
        // `driver::current_local`); it stays set for longer than a wake-up.
        let l = unsafe { &*cur };
        std::sync::Arc::ptr_eq(&l.shared, self.meta.shared()).then_some(l)
    }
}

/// The metadata of the task at `ptr`.
///
/// # Safety
///
/// The allocation must stay alive for `'a`.
#[inline]
pub(crate) unsafe fn meta_of<'a>(ptr: NonNull<Header>) -> &'a TaskMeta {
    // SAFETY: forwarded from the caller.
    unsafe { &Header::of(ptr).meta }
}

/// A borrowed [`Waker`] of the task at `ptr` (no reference of its own).
///
/// # Safety
///
/// The allocation must stay alive while the result is used.
#[inline]
pub(crate) unsafe fn borrow_waker(ptr: NonNull<Header>) -> ManuallyDrop<Waker> {
    // SAFETY: `ptr` and the vtable make a valid waker for a live task; the
    // `ManuallyDrop` keeps the borrowed count untouched.
    ManuallyDrop::new(unsafe { Waker::from_raw(RawWaker::new(ptr.as_ptr() as *const (), &WAKER)) })
}

/// A new [`Waker`] (one reference) of the task at `ptr`.
///
/// # Safety
///
/// The allocation must be alive (someone holds a reference).
#[inline]
pub(crate) unsafe fn waker(ptr: NonNull<Header>) -> Waker {
    // SAFETY: forwarded from the caller.
    let w = unsafe { borrow_waker(ptr) };
    (*w).clone()
}

static WAKER: RawWakerVTable = RawWakerVTable::new(clone_waker, wake, wake_by_ref, drop_waker);

unsafe fn clone_waker(p: *const ()) -> RawWaker {
    // SAFETY: a waker of this module points to a live task (it holds a
    // reference).
    let h = unsafe { &*(p as *const Header) };
    let prev = h.state.fetch_add(REF, Ordering::Relaxed);
    if prev > isize::MAX as usize {
        std::process::abort();
    }
    RawWaker::new(p, &WAKER)
}

unsafe fn wake(p: *const ()) {
    // SAFETY: the waker owns a reference to a live task.
    let ptr = unsafe { NonNull::new_unchecked(p as *mut Header) };
    // SAFETY: as above.
    let h = unsafe { Header::of(ptr) };
    match h.home() {
        Some(local) => {
            // SAFETY: on the task's loop thread, with its reference.
            unsafe { wake_local(ptr, local) };
            // SAFETY: this waker's reference, given up.
            unsafe { drop_ref(ptr) };
        }
        // Hands this waker's reference to the injection queue.
        None => h.meta.shared().inject(RemoteRef(ptr)),
    }
}

unsafe fn wake_by_ref(p: *const ()) {
    // SAFETY: the waker holds a reference to a live task.
    let ptr = unsafe { NonNull::new_unchecked(p as *mut Header) };
    // SAFETY: as above.
    let h = unsafe { Header::of(ptr) };
    match h.home() {
        // SAFETY: on the task's loop thread; the waker keeps it alive.
        Some(local) => unsafe { wake_local(ptr, local) },
        None => {
            h.state.fetch_add(REF, Ordering::Relaxed);
            h.meta.shared().inject(RemoteRef(ptr));
        }
    }
}

unsafe fn drop_waker(p: *const ()) {
    // SAFETY: the waker owns a reference, given up here.
    unsafe { drop_ref(NonNull::new_unchecked(p as *mut Header)) }
}

/// Schedules the task on its loop: pushes it onto the ready queue unless
/// it is there already or its future is gone.
///
/// # Safety
///
/// On the task's loop thread (`local` is its loop), task alive.
#[inline]
unsafe fn wake_local(ptr: NonNull<Header>, local: &Local) {
    // SAFETY: forwarded from the caller.
    let h = unsafe { Header::of(ptr) };
    let s = h.sched().get();
    if s & (QUEUED | DONE) == 0 {
        h.sched().set(s | QUEUED);
        #[cfg(feature = "tracing")]
        h.meta.trace_wake();
        local.push_ready(Runnable(ptr));
    }
}

/// Gives up one reference; the last one frees the task.
///
/// # Safety
///
/// The caller owns a reference to the live task at `ptr`.
#[inline]
unsafe fn drop_ref(ptr: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    let h = unsafe { Header::of(ptr) };
    if h.state.fetch_sub(REF, Ordering::AcqRel) < 2 * REF {
        // SAFETY: that was the last reference: nobody can reach the task.
        unsafe { (h.vtable.dealloc)(ptr) }
    }
}

/// Sets `bit` (`COMPLETED` or `CLOSED`): hands the output (if any) to the
/// handle, or drops it if there is no handle, and wakes the awaiter;
/// then, if `release`, gives up the loop's reference. The common case
/// (nobody awaiting yet) is one compare-and-swap for all of it.
///
/// # Safety
///
/// On the loop thread, once per task, with the loop's reference held;
/// `release` only if the task is not queued.
unsafe fn finish(ptr: NonNull<Header>, bit: usize, release: bool) {
    // SAFETY: forwarded from the caller.
    let h = unsafe { Header::of(ptr) };
    let s = h.state.load(Ordering::Acquire);
    if bit == COMPLETED && s & HANDLE == 0 {
        // No handle (it never comes back): drop the output here, on the
        // loop thread.
        // SAFETY: nobody else can take the output.
        unsafe { (h.vtable.drop_output)(ptr) };
    }
    if release
        && s & (AWAITER | LOCKED) == 0
        && h.state
            .compare_exchange(s, (s | bit) - REF, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    {
        if s < 2 * REF {
            // SAFETY: that was the last reference.
            unsafe { (h.vtable.dealloc)(ptr) };
        }
        return;
    }
    let prev = h.state.fetch_or(bit, Ordering::AcqRel);
    if prev & HANDLE == 0 && bit == COMPLETED {
        // The handle went in between: the output is ours to drop (again
        // harmless if dropped above).
        // SAFETY: the handle is gone; the output is ours.
        unsafe { (h.vtable.drop_output)(ptr) };
    }
    if prev & (AWAITER | LOCKED) == AWAITER {
        // SAFETY: the handle holds no lock and can take none any more
        // (`bit` is set): the slot is ours.
        let w = unsafe { (*h.awaiter.get()).take() };
        if let Some(w) = w {
            w.wake();
        }
    }
    if release {
        // SAFETY: the loop's reference, given up once.
        unsafe { drop_ref(ptr) };
    }
}

/// A task on the ready queue (not counted: `QUEUED` keeps the loop's
/// reference). Lives on the loop thread only.
pub(crate) struct Runnable(NonNull<Header>);

impl Runnable {
    /// The task's metadata.
    #[inline]
    pub(crate) fn metadata(&self) -> &TaskMeta {
        // SAFETY: a queued task is alive (the loop's reference).
        unsafe { &Header::of(self.0).meta }
    }

    /// A new waker of the task.
    pub(crate) fn waker(&self) -> Waker {
        // SAFETY: alive, see `metadata`.
        unsafe { waker(self.0) }
    }

    /// Takes the task off the queue: its header, or `None` if its future
    /// is gone (finished while queued: the queue's hold on the loop's
    /// reference ends here).
    #[inline]
    fn dequeue(&self) -> Option<&Header> {
        // SAFETY: alive (the loop's reference, kept by QUEUED).
        let h = unsafe { Header::of(self.0) };
        let s = h.sched().get() & !QUEUED;
        h.sched().set(s);
        if s & DONE != 0 {
            // SAFETY: DONE (published), no longer queued: the loop's
            // reference, given up once.
            unsafe { drop_ref(self.0) };
            return None;
        }
        Some(h)
    }

    /// Polls the task once (on its loop thread).
    #[inline]
    pub(crate) fn run(self) {
        let ptr = self.0;
        let Some(h) = self.dequeue() else {
            return;
        };
        // SAFETY: on the loop thread, dequeued, future present (not DONE).
        unsafe { (h.vtable.run)(ptr) }
    }

    /// Pushes the fresh task onto `local`'s ready queue (its own loop).
    #[inline]
    pub(crate) fn schedule_on(self, local: &Local) {
        local.push_ready(self);
    }

    /// Drops the task's future without polling it (loop shutdown); a
    /// handle awaiting it gets `None`.
    pub(crate) fn cancel(self) {
        if self.dequeue().is_some() {
            // SAFETY: on the loop thread, future alive.
            unsafe { abandon(self.0) };
        }
    }
}

/// Drops the future of a task that will never run again (loop shutdown),
/// unless it is gone already; releases the loop's reference unless the
/// task is queued (the queue entry does that).
///
/// # Safety
///
/// On the task's loop thread; the task alive (its future, or a queue
/// entry, holds the loop's reference).
pub(crate) unsafe fn abandon(ptr: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    let h = unsafe { Header::of(ptr) };
    let s = h.sched().get();
    if s & DONE != 0 {
        // Gone already: its queue entry or `finish` holds or held the
        // loop's reference.
        return;
    }
    h.sched().set(s | DONE);
    // SAFETY: the future is present (not DONE), loop thread.
    unsafe { (h.vtable.drop_future)(ptr) };
    // A destructor may have queued the task meanwhile.
    let queued = h.sched().get() & QUEUED != 0;
    // SAFETY: once (DONE is set now), loop reference held; released only
    // if not queued (else the queue entry does it).
    unsafe { finish(ptr, CLOSED, !queued) };
}

/// A reference to a task woken from another thread, on its way to the
/// loop through the injection queue.
pub(crate) struct RemoteRef(NonNull<Header>);

// SAFETY: it holds a counted reference; the task header is `Sync`.
unsafe impl Send for RemoteRef {}

impl RemoteRef {
    /// On the loop thread: schedules the task (unless queued or done)
    /// and gives up the reference.
    pub(crate) fn wake_on(self, local: &Local) {
        let ptr = ManuallyDrop::new(self).0;
        // SAFETY: alive (our reference).
        let h = unsafe { Header::of(ptr) };
        if h.sched().get() & DONE == 0 && !h.meta.links.is_linked() {
            // A task spawned from another thread, first seen by its loop:
            // registered here, on the loop thread, before its first poll
            // (every batch drains this queue before it polls).
            // SAFETY: on its loop's thread, alive, future alive (not DONE),
            // not linked.
            unsafe { local.registry.insert(ptr) };
        }
        // SAFETY: on the loop thread (the caller drains its own queue),
        // with a reference.
        unsafe { wake_local(ptr, local) };
        // SAFETY: our reference.
        unsafe { drop_ref(ptr) };
    }
}

impl Drop for RemoteRef {
    fn drop(&mut self) {
        // SAFETY: our reference.
        unsafe { drop_ref(self.0) }
    }
}

/// The owner's handle: awaits and takes the output.
pub(crate) struct JoinHandle<T> {
    ptr: NonNull<Header>,
    /// The output was taken (or the task finished without one).
    taken: bool,
    _output: PhantomData<T>,
}

// SAFETY: the handle moves the output `T` to its own thread (`T: Send`)
// and otherwise touches only the thread-safe parts of the header.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` exposes no `T`.
unsafe impl<T> Sync for JoinHandle<T> {}
// The output lives in the task allocation, never pinned in the handle.
impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    #[inline]
    fn header(&self) -> &Header {
        // SAFETY: the handle's reference keeps the task alive.
        unsafe { Header::of(self.ptr) }
    }

    /// The task's header (for a borrowed waker, or its metadata).
    #[inline]
    pub(crate) fn raw(&self) -> NonNull<Header> {
        self.ptr
    }

    /// The task finished (with an output or without).
    #[inline]
    pub(crate) fn is_finished(&self) -> bool {
        self.header().state.load(Ordering::Acquire) & (COMPLETED | CLOSED) != 0
    }

    /// Takes the output once the task finished: `Some` if it produced
    /// one, `None` if it was dropped unfinished. Polling again after
    /// `Ready` returns `None`.
    pub(crate) fn poll_output(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let h = self.header();
        let mut s = h.state.load(Ordering::Acquire);
        if s & (COMPLETED | CLOSED) == 0 {
            if !self.register(cx.waker()) {
                return Poll::Pending;
            }
            s = self.header().state.load(Ordering::Acquire);
        }
        Poll::Ready(self.take(s))
    }

    /// Takes the output if `s` says it is there and the handle has it.
    fn take(&mut self, s: usize) -> Option<T> {
        if self.taken || s & COMPLETED == 0 {
            self.taken |= s & CLOSED != 0;
            return None;
        }
        self.taken = true;
        let h = self.header();
        // SAFETY: COMPLETED (acquired) while HANDLE was set: the loop left
        // the body to the handle, which takes the output once (`taken`);
        // `vtable.body` is the offset of the body, which holds a `T` when
        // the stage is FINISHED (`T` is the future's output type).
        unsafe {
            if *h.stage().get() != FINISHED {
                // The future ended without an output (a destructor unwound).
                return None;
            }
            *h.stage().get() = CONSUMED;
            let body = self.ptr.as_ptr().cast::<u8>().add(h.vtable.body);
            Some(ptr::read(body.cast::<T>()))
        }
    }

    /// Stores the awaiter's waker; true if the task finished meanwhile
    /// (the caller reads the state again).
    fn register(&self, waker: &Waker) -> bool {
        let h = self.header();
        let mut s = h.state.load(Ordering::Acquire);
        loop {
            if s & (COMPLETED | CLOSED) != 0 {
                return true;
            }
            match h
                .state
                .compare_exchange_weak(s, s | LOCKED, Ordering::Acquire, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(cur) => s = cur,
            }
        }
        // SAFETY: LOCKED is ours and the task has not finished: `finish`
        // leaves the slot alone until we unlock.
        let slot = unsafe { &mut *h.awaiter.get() };
        match slot {
            Some(w) if w.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
        let mut s = s | LOCKED;
        loop {
            match h.state.compare_exchange_weak(
                s,
                (s | AWAITER) & !LOCKED,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return s & (COMPLETED | CLOSED) != 0,
                Err(cur) => s = cur,
            }
        }
    }

    /// Lets the task run on without a handle: its output is dropped when
    /// it finishes.
    #[inline]
    pub(crate) fn detach(self) {
        drop(self);
    }
}

impl<T> Drop for JoinHandle<T> {
    #[inline]
    fn drop(&mut self) {
        let h = self.header();
        if !self.taken {
            let s = h.state.load(Ordering::Acquire);
            if s & COMPLETED != 0 {
                // Finished, not taken: the output is the handle's to drop.
                drop(self.take(s));
            } else {
                // Gives up the handle bit and the reference at once.
                let prev = h.state.fetch_sub(HANDLE + REF, Ordering::AcqRel);
                // A task that finished in between (on its loop's thread,
                // while this handle is on another, so `T: Send`) left its
                // output for the handle: the last reference drops it.
                if prev < 2 * REF {
                    // SAFETY: that was the last reference.
                    unsafe { (h.vtable.dealloc)(self.ptr) };
                }
                return;
            }
        }
        // SAFETY: the handle's reference.
        unsafe { drop_ref(self.ptr) }
    }
}

/// Allocates a task whose future `make` builds from `value` (the user's
/// future) and the task's header (its metadata initialized). Returns it queued-to-be (the
/// caller schedules or runs the [`Runnable`]) and its handle.
///
/// `value` is moved into `make` only after the allocation: a future the
/// caller has just written is read back once the allocator ran, not at
/// once (on wasm32 reading it right away, wider than it was written,
/// stalled on store forwarding; ~30 % of a spawn's own time).
///
/// # Safety
///
/// The future (and its output) must stay valid until dropped, and be
/// polled and dropped on the loop thread of `meta` unless it is `Send`.
/// A task spawned from another thread goes to its loop through
/// [`Runnable::into_remote`].
#[inline]
pub(crate) unsafe fn spawn<T, F, Fut>(
    meta: TaskMeta,
    value: T,
    make: F,
) -> (Runnable, JoinHandle<Fut::Output>)
where
    F: FnOnce(T, NonNull<Header>) -> Fut,
    Fut: Future,
{
    // Written field by field into the allocation: no task-sized value on
    // the stack to copy, no drop of a placeholder stage. `meta.raw` is
    // fresh (`QUEUED`, `RUNNING`): `HeaderBytes::new` is the only way to
    // make one, and one in a task is never moved out (the metadata is
    // reached by shared reference only).
    let layout = Layout::new::<TaskCell<Fut, Fut::Output>>();
    // SAFETY: the layout is not zero-sized (the header).
    let raw = unsafe { super::blocks::alloc(layout) } as *mut TaskCell<Fut, Fut::Output>;
    if raw.is_null() {
        handle_alloc_error(layout);
    }
    // SAFETY: `raw` is a fresh allocation for a `TaskCell`; the header is
    // written before anything reads it.
    unsafe {
        ptr::addr_of_mut!((*raw).header).write(Header {
            // The loop's reference and the handle's.
            state: AtomicUsize::new((2 * REF) | HANDLE),
            vtable: &TaskCell::<Fut, Fut::Output>::VTABLE,
            awaiter: UnsafeCell::new(None),
            meta,
        })
    };
    // SAFETY: `raw` is not null; the header is its first field.
    let ptr = unsafe { NonNull::new_unchecked(raw as *mut Header) };
    // The header is initialized; the metadata stays in place until the
    // allocation is freed, after the future (see `dealloc`).
    let fut = make(value, ptr);
    // SAFETY: nothing else can reach the allocation yet; `UnsafeCell` is
    // `repr(transparent)` and the union `repr(C)`, so the body's address
    // is the future's.
    unsafe { (ptr::addr_of_mut!((*raw).body) as *mut Fut).write(fut) };
    (
        Runnable(ptr),
        JoinHandle {
            ptr,
            taken: false,
            _output: PhantomData,
        },
    )
}

impl Runnable {
    /// Turns a fresh task's runnable into a reference for the injection
    /// queue (a task spawned from another thread): the loop's first
    /// drain schedules it.
    pub(crate) fn into_remote(self) -> RemoteRef {
        let ptr = self.0;
        // SAFETY: fresh, alive; not shared with the loop yet, so `sched`
        // may be written here (the queue's mutex publishes it).
        let h = unsafe { Header::of(ptr) };
        h.sched().set(0);
        h.state.fetch_add(REF, Ordering::Relaxed);
        RemoteRef(ptr)
    }
}

impl<F: Future> TaskCell<F, F::Output> {
    const VTABLE: TaskVTable = TaskVTable {
        run: Self::run,
        drop_future: Self::drop_future,
        body: std::mem::offset_of!(Self, body),
        drop_output: Self::drop_output,
        dealloc: Self::dealloc,
    };

    /// The body and the stage byte of the task at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` is a live `TaskCell<F, F::Output>`; the caller owns the body
    /// (loop thread while the future lives, the handle after `COMPLETED`,
    /// or the last reference) for as long as it uses the pointers.
    #[inline]
    unsafe fn parts(ptr: NonNull<Header>) -> (*mut Body<F, F::Output>, *mut u8) {
        let cell = ptr.as_ptr() as *mut Self;
        // SAFETY: forwarded; only places are computed, nothing is read.
        unsafe { ((*cell).body.get(), (*cell).header.meta.raw.stage.get()) }
    }

    /// Polls the task once and, if its future finished, ends it: one
    /// indirect call per poll. The common ends are written here, where the
    /// output's type is known, instead of behind more vtable calls (on
    /// wasm an indirect call costs a table check and a signature check):
    /// without a handle the output is dropped at once, never stored; a
    /// task nobody awaits yet is published with one compare-and-swap, and
    /// freed here if that was the last reference. The rest (an awaiter to
    /// wake, a handle dropped meanwhile) goes to the shared [`finish`].
    ///
    /// # Safety
    ///
    /// `ptr` is a live `TaskCell<F, F::Output>`, dequeued (not `DONE`), on
    /// its loop thread.
    unsafe fn run(ptr: NonNull<Header>) {
        /// Marks the body consumed if dropping the future unwinds.
        struct Consume(*mut u8);
        impl Drop for Consume {
            fn drop(&mut self) {
                // SAFETY: the future was (partly) dropped: never again.
                unsafe { *self.0 = CONSUMED }
            }
        }

        // SAFETY: a live cell; the loop thread polls, nothing else
        // touches a running body.
        let (body, stage) = unsafe { Self::parts(ptr) };
        // SAFETY: alive; the borrowed waker does not outlive the poll.
        let waker = unsafe { borrow_waker(ptr) };
        let mut cx = Context::from_waker(&waker);
        // SAFETY: as above.
        let out = if unsafe { *stage } == RUNNING {
            // SAFETY: RUNNING: the body holds the future, which stays in
            // place (heap) until dropped in place.
            let fut = unsafe { &mut *(*body).future };
            // SAFETY: as above.
            match unsafe { Pin::new_unchecked(&mut *fut) }.poll(&mut cx) {
                Poll::Pending => return,
                Poll::Ready(out) => {
                    // Drops the future in place (its destructor may
                    // re-enter the loop but never this body).
                    let guard = Consume(stage);
                    // SAFETY: the future is dropped once, here, in place.
                    unsafe { ptr::drop_in_place(fut as *mut F) };
                    std::mem::forget(guard);
                    Some(out)
                }
            }
        } else {
            // Its future went without an end (a destructor unwound):
            // finished, without an output.
            None
        };
        // SAFETY: alive (the loop's reference).
        let h = unsafe { Header::of(ptr) };
        let sched = h.sched().get() | DONE;
        h.sched().set(sched);
        // The loop's reference goes unless a wake-up during the poll queued
        // the task again (that entry releases it).
        let release = sched & QUEUED == 0;
        let s = h.state.load(Ordering::Acquire);
        match out {
            // No handle (it never comes back): the output is the loop's to
            // drop, here, on the loop thread.
            Some(out) if s & HANDLE == 0 => {
                // SAFETY: the future is gone; the body holds nothing.
                unsafe { *stage = CONSUMED };
                drop(out);
            }
            // SAFETY: as above; stored for the handle, which takes it once
            // `COMPLETED` is published below.
            Some(out) => unsafe {
                (body as *mut F::Output).write(out);
                *stage = FINISHED;
            },
            None => {}
        }
        if release
            && s & (AWAITER | LOCKED) == 0
            && h.state
                .compare_exchange(
                    s,
                    (s | COMPLETED) - REF,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
        {
            if s < 2 * REF {
                // SAFETY: that was the last reference.
                unsafe { Self::dealloc(ptr) };
            }
            return;
        }
        // SAFETY: the future just finished (once, DONE is set), loop
        // thread, the loop's reference held; released only if not queued.
        unsafe { finish(ptr, COMPLETED, release) };
    }

    unsafe fn drop_future(ptr: NonNull<Header>) {
        // SAFETY: loop thread, future present (RUNNING); marked consumed
        // first, so that a destructor that unwinds leaves nothing to drop
        // twice.
        unsafe {
            let (body, stage) = Self::parts(ptr);
            if *stage == RUNNING {
                *stage = CONSUMED;
                ManuallyDrop::drop(&mut (*body).future);
            }
        }
    }

    unsafe fn drop_output(ptr: NonNull<Header>) {
        // SAFETY: the caller owns the output (see `finish`); marked
        // consumed first, as in `drop_future`.
        unsafe {
            let (body, stage) = Self::parts(ptr);
            if *stage == FINISHED {
                *stage = CONSUMED;
                ManuallyDrop::drop(&mut (*body).output);
            }
        }
    }

    unsafe fn dealloc(ptr: NonNull<Header>) {
        let cell = ptr.as_ptr() as *mut Self;
        // SAFETY: the last reference is gone: the allocation is ours. A
        // future still present (the loop was dropped with the task alive
        // and nothing woke it since) is dropped here only if the task is
        // `Send`; otherwise the allocation is leaked, as the future must
        // not be dropped off its thread.
        unsafe {
            let (body, stage) = Self::parts(ptr);
            match *stage {
                RUNNING if !(*cell).header.meta.is_send() => return,
                RUNNING => {
                    *stage = CONSUMED;
                    ManuallyDrop::drop(&mut (*body).future);
                }
                FINISHED => {
                    *stage = CONSUMED;
                    ManuallyDrop::drop(&mut (*body).output);
                }
                _ => {}
            }
            ptr::drop_in_place(ptr::addr_of_mut!((*cell).header));
            super::blocks::dealloc(cell as *mut u8, Layout::new::<Self>());
        }
    }
}

#[cfg(test)]
mod tests {
    //! The task allocation's edges: wake-ups from other threads, handles
    //! on other threads, outputs nobody takes, wakers that outlive their
    //! task. Under miri these also check that nothing leaks or is freed
    //! twice.

    use std::cell::Cell;
    use std::future::Future;
    use std::pin::Pin;
    use std::rc::Rc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll, Waker};
    use std::time::Duration;

    use crate::testing::MockHost;
    use crate::{spawn, yield_now, EventLoop};

    /// Counts its drops.
    struct Counted(Rc<Cell<u32>>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    /// Pending until `flag` is set; leaves its waker in `slot`.
    struct Flag {
        flag: Arc<AtomicBool>,
        slot: Arc<Mutex<Option<Waker>>>,
    }

    impl Future for Flag {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            *self.slot.lock().unwrap() = Some(cx.waker().clone());
            if self.flag.load(Ordering::Acquire) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    /// Wakes itself, then finishes in the same poll.
    struct WakeThenDone;

    impl Future for WakeThenDone {
        type Output = u8;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u8> {
            cx.waker().wake_by_ref();
            Poll::Ready(3)
        }
    }

    #[test]
    fn outputs_are_dropped_once_whoever_drops_them() {
        let drops = Rc::new(Cell::new(0));
        let lp = EventLoop::new(MockHost::new());
        let d = drops.clone();
        lp.block_on(async move {
            // Detached before it finishes: the loop drops the output.
            spawn({
                let d = d.clone();
                async move {
                    yield_now().await;
                    Counted(d)
                }
            })
            .detach();
            // Finished, never awaited, then dropped: the handle drops it.
            let kept = spawn({
                let d = d.clone();
                async move { Counted(d) }
            });
            // Awaited: the caller drops it.
            let awaited = spawn({
                let d = d.clone();
                async move { Counted(d) }
            });
            yield_now().await;
            yield_now().await;
            assert!(kept.is_finished());
            drop(kept);
            drop(awaited.await.unwrap());
            assert_eq!(d.get(), 3);
        });
        assert_eq!(drops.get(), 3);
        assert_eq!(lp.task_count(), 0);
    }

    #[test]
    fn a_task_that_wakes_itself_and_finishes_is_freed() {
        let lp = EventLoop::new(MockHost::new());
        let out = lp.block_on(async {
            let t = spawn(WakeThenDone);
            // Its queue entry (from the wake) runs after it finished.
            yield_now().await;
            t.await.unwrap()
        });
        assert_eq!(out, 3);
        assert_eq!(lp.task_count(), 0);
    }

    #[test]
    fn a_waker_outliving_its_task_is_harmless() {
        let slot = Arc::new(Mutex::new(None));
        let lp = EventLoop::new(MockHost::new());
        let s = slot.clone();
        lp.block_on(async move {
            let flag = Arc::new(AtomicBool::new(true));
            spawn(Flag { flag, slot: s }).await.unwrap();
        });
        let w: Waker = slot.lock().unwrap().take().unwrap();
        // On the loop thread, in and out of the loop, then from another
        // thread once the loop is gone: no-ops that free nothing twice.
        lp.block_on(async { w.wake_by_ref() });
        w.wake_by_ref();
        drop(lp);
        std::thread::spawn(move || {
            w.wake_by_ref();
            let by_value = w.clone();
            by_value.wake();
            drop(w);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn wake_ups_from_other_threads_reach_the_loop() {
        let lp = EventLoop::new(MockHost::new());
        let polls = lp.block_on(async {
            let flag = Arc::new(AtomicBool::new(false));
            let slot = Arc::new(Mutex::new(None::<Waker>));
            let polls = Rc::new(Cell::new(0u32));
            let p = polls.clone();
            let (f, s) = (flag.clone(), slot.clone());
            let t = spawn(async move {
                std::future::poll_fn(|cx| {
                    p.set(p.get() + 1);
                    Pin::new(&mut Flag {
                        flag: f.clone(),
                        slot: s.clone(),
                    })
                    .poll(cx)
                })
                .await;
                9
            });
            yield_now().await;
            let waker = slot.lock().unwrap().clone().unwrap();
            let th = std::thread::spawn(move || {
                // By reference (a new reference for the queue) and by value,
                // twice: the task is queued once per loop drain at most.
                waker.wake_by_ref();
                flag.store(true, Ordering::Release);
                let by_value = waker.clone();
                by_value.wake();
                waker.wake();
            });
            let out = t.await.unwrap();
            th.join().unwrap();
            assert_eq!(out, 9);
            polls.get()
        });
        assert!((2..=4).contains(&polls), "{polls} polls");
        assert_eq!(lp.task_count(), 0);
    }

    #[test]
    fn a_handle_awaited_on_another_thread_gets_the_output() {
        let lp = EventLoop::new(MockHost::new());
        lp.block_on(async {
            let flag = Arc::new(AtomicBool::new(false));
            let slot = Arc::new(Mutex::new(None::<Waker>));
            let (f, s) = (flag.clone(), slot.clone());
            let child = spawn(async move {
                Flag { flag: f, slot: s }.await;
                String::from("done")
            });
            yield_now().await;
            let registered = Arc::new(AtomicUsize::new(0));
            let r = registered.clone();
            let th = std::thread::spawn(move || {
                let mut child = child;
                // Registers this thread's waker as the awaiter, then blocks.
                let mut cx = Context::from_waker(Waker::noop());
                assert!(Pin::new(&mut child).poll(&mut cx).is_pending());
                r.store(1, Ordering::Release);
                futures_lite::future::block_on(child).unwrap()
            });
            while registered.load(Ordering::Acquire) == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            flag.store(true, Ordering::Release);
            let w = slot.lock().unwrap().take().unwrap();
            w.wake();
            // Let the child finish, then wait for the other thread.
            while !th.is_finished() {
                yield_now().await;
            }
            assert_eq!(th.join().unwrap(), "done");
        });
        assert_eq!(lp.task_count(), 0);
    }

    #[test]
    #[allow(clippy::async_yields_async)] // the handle is the point
    fn a_loop_dropped_with_tasks_waiting_drops_their_futures() {
        let drops = Rc::new(Cell::new(0));
        let lp = EventLoop::new(MockHost::new());
        let d = drops.clone();
        let handle = lp.block_on(async move {
            let t = spawn(async move {
                let _c = Counted(d);
                std::future::pending::<()>().await
            });
            yield_now().await;
            t
        });
        drop(lp);
        assert_eq!(drops.get(), 1);
        assert!(handle.is_finished());
        assert!(futures_lite::future::block_on(handle).is_err());
    }

    /// Spawns another of itself when dropped.
    struct Respawn(Rc<Cell<u32>>);

    impl Drop for Respawn {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
            let c = self.0.clone();
            spawn(async move {
                let _r = Respawn(c);
                std::future::pending::<()>().await
            })
            .detach();
        }
    }

    #[test]
    fn tasks_left_after_the_shutdown_rounds_are_dropped_too() {
        let drops = Rc::new(Cell::new(0));
        let lp = EventLoop::new(MockHost::new());
        let d = drops.clone();
        lp.block_on(async move {
            spawn(async move {
                let _r = Respawn(d);
                std::future::pending::<()>().await
            })
            .detach();
            yield_now().await;
        });
        drop(lp);
        // One per cancellation round, then the one left over.
        assert!(drops.get() > 16, "{} drops", drops.get());
    }
}
