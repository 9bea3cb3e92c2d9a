//! Synchronization primitives for tasks: asyncio's "Synchronization
//! Primitives" chapter.
//!
//! All of them are cheap-`Clone` handles, like the queues: clones share
//! one primitive (a reference count), so tasks share a lock or an event
//! without `Rc` boilerplate. They are single-loop, fair (waiters are served in FIFO order: a released lock
//! or permit goes straight to the oldest waiter, so later arrivals cannot
//! barge in) and cancel-safe (a waiter whose future is dropped never takes
//! the lock or permit and never swallows a wake-up meant for another
//! waiter). They never lock a mutex or touch an atomic, and a steady state
//! allocates nothing: waiters live in a recycled slab.
//!
//! # asyncio → anyloop
//!
//! | asyncio | anyloop |
//! |---|---|
//! | `asyncio.Lock()` | [`Lock::new`]`(())`, or `Lock::new(value)` to guard a value |
//! | `async with lock:` / `await lock.acquire()` … `lock.release()` | `let guard = lock.`[`lock`](Lock::lock)`().await;` … `drop(guard)` |
//! | `lock.locked()` | [`Lock::is_locked`] |
//! | `asyncio.Event()`, `set()`, `clear()`, `is_set()`, `await wait()` | [`Event::new`], [`Event::set`], [`Event::clear`], [`Event::is_set`], [`Event::wait`] |
//! | `asyncio.Condition()` | [`Condition::new`]`(())` (the condition owns its lock and the value it guards) |
//! | `async with cond:` | `let guard = cond.`[`lock`](Condition::lock)`().await;` |
//! | `await cond.wait()` | `guard = cond.`[`wait`](Condition::wait)`(guard).await;` |
//! | `await cond.wait_for(predicate)` | `guard = cond.`[`wait_for`](Condition::wait_for)`(guard, \|v\| ...).await;` |
//! | `cond.notify(n)`, `cond.notify_all()` | [`Condition::notify`]`(n)`, [`Condition::notify_all`] |
//! | `asyncio.Semaphore(n)` | [`Semaphore::new`]`(n)` |
//! | `async with sem:` / `await sem.acquire()` | `let permit = sem.`[`acquire`](Semaphore::acquire)`().await;` ([`SemaphorePermit`] gives it back on drop) |
//! | `sem.release()` (without a prior acquire) | [`Semaphore::release`]; keep a permit with [`SemaphorePermit::forget`] |
//! | `sem.locked()` | [`Semaphore::is_locked`] |
//! | `asyncio.BoundedSemaphore(n)` | [`BoundedSemaphore::new`]`(n)`; over-release → `Err(`[`ReleaseError`]`)` instead of `ValueError` |
//! | `asyncio.Barrier(parties)` | [`Barrier::new`]`(parties)` |
//! | `await barrier.wait()` → index | [`Barrier::wait`]`().await` → `Ok(index)` |
//! | `barrier.reset()`, `barrier.abort()` | [`Barrier::reset`], [`Barrier::abort`] |
//! | `barrier.parties`, `n_waiting`, `broken` | [`Barrier::parties`], [`Barrier::n_waiting`], [`Barrier::is_broken`] |
//! | `BrokenBarrierError` | [`BrokenBarrier`] |
//!
//! # Threads
//!
//! The primitives belong to one loop: they are neither `Send` nor `Sync`
//! (a clone is a reference count shared with the loop's tasks, like the
//! queues). Create them inside the loop, or share between threads with
//! [`Handle`](crate::Handle) and channels instead. (Design decision: cheap
//! `Clone` was chosen over `Send`, which they were before they became
//! clonable; a `Send` + `Clone` primitive would need atomics on every
//! operation.)
//!
//! ```compile_fail
//! # use anyloop_core::__doctest as anyloop;
//! fn assert_sync<T: Sync>() {}
//! assert_sync::<anyloop::sync::Lock<u32>>();
//! ```
//!
//! ```compile_fail
//! # use anyloop_core::__doctest as anyloop;
//! fn assert_send<T: Send>() {}
//! assert_send::<anyloop::sync::Semaphore>();
//! ```
//!
//! ```
//! # use anyloop_core::__doctest as anyloop;
//! fn assert_clone<T: Clone>() {}
//! assert_clone::<anyloop::sync::Lock<u32>>();
//! assert_clone::<anyloop::sync::Event>();
//! assert_clone::<anyloop::sync::Condition>();
//! assert_clone::<anyloop::sync::Semaphore>();
//! assert_clone::<anyloop::sync::BoundedSemaphore>();
//! assert_clone::<anyloop::sync::Barrier>();
//! ```
//!
//! # Examples
//!
//! ```
//! # use anyloop_core::__doctest as anyloop;
//! # anyloop_core::doctest_run(async {
//! use anyloop::sync::{Event, Lock};
//! use std::rc::Rc;
//!
//! let log = Rc::new(Lock::new(Vec::new()));
//! let go = Rc::new(Event::new());
//! let workers: Vec<_> = (0..3)
//!     .map(|i| {
//!         let (log, go) = (log.clone(), go.clone());
//!         anyloop::spawn(async move {
//!             go.wait().await;
//!             log.lock().await.push(i);
//!         })
//!     })
//!     .collect();
//! go.set();
//! for w in workers {
//!     w.await.unwrap();
//! }
//! assert_eq!(*log.lock().await, [0, 1, 2]);
//! # });
//! ```

mod barrier;
mod condition;
mod event;
mod lock;
mod semaphore;
pub(crate) mod waiters;

pub use barrier::{Barrier, BarrierWait, BrokenBarrier};
pub use condition::{Condition, ConditionWait};
pub use event::{Event, EventWait};
pub use lock::{Lock, LockFuture, LockGuard};
pub use semaphore::{BoundedSemaphore, ReleaseError, Semaphore, SemaphoreAcquire, SemaphorePermit};

#[cfg(test)]
mod tests;
