//! Queues between tasks: asyncio's "Queues" chapter.
//!
//! [`Queue`] (first in, first out), [`LifoQueue`] (last in, first out) and
//! [`PriorityQueue`] (smallest first) are one type, [`GenericQueue`], with
//! a different [`Kind`]. A queue handle is a cheap `Clone` (an `Rc`); all
//! clones are the same queue. Queues are single-loop (`!Send`), fair
//! (waiting getters and putters are served in FIFO order) and cancel-safe
//! (an item reserved for a getter whose future is dropped stays queued for
//! the next getter; nothing is lost or duplicated). A put or get wakes at
//! most the one task it serves, takes no lock and, once the buffers have
//! grown, allocates nothing.
//!
//! # asyncio → anyloop
//!
//! | asyncio | anyloop |
//! |---|---|
//! | `asyncio.Queue(maxsize=0)` | [`Queue::new`]`(maxsize)` (0 = unbounded) |
//! | `asyncio.LifoQueue(maxsize)` | [`LifoQueue::new`]`(maxsize)` |
//! | `asyncio.PriorityQueue(maxsize)` | [`PriorityQueue::new`]`(maxsize)`: smallest first, as `heapq` (wrap items in `std::cmp::Reverse` for largest first) |
//! | `await q.put(item)` | `q.`[`put`](GenericQueue::put)`(item).await?` |
//! | `q.put_nowait(item)` | `q.`[`put_nowait`](GenericQueue::put_nowait)`(item)?` |
//! | `await q.get()` | `q.`[`get`](GenericQueue::get)`().await?` |
//! | `q.get_nowait()` | `q.`[`get_nowait`](GenericQueue::get_nowait)`()?` |
//! | `q.task_done()` | [`GenericQueue::task_done`] (too many calls: `Err(`[`TaskDoneError`]`)` instead of `ValueError`) |
//! | `await q.join()` | `q.`[`join`](GenericQueue::join)`().await` |
//! | `q.shutdown(immediate=False)` | `q.`[`shutdown`](GenericQueue::shutdown)`(false)` |
//! | `q.qsize()`, `q.empty()`, `q.full()`, `q.maxsize` | [`GenericQueue::qsize`], [`GenericQueue::is_empty`], [`GenericQueue::is_full`], [`GenericQueue::maxsize`] |
//! | `QueueFull` | [`QueueFull`]`(item)` inside [`TryPutError::Full`] (the item comes back) |
//! | `QueueEmpty` | [`QueueEmpty`] inside [`TryGetError::Empty`] |
//! | `QueueShutDown` | [`QueueShutDown`] (from a put it carries the item back) |
//!
//! # Threads
//!
//! A queue handle is an `Rc`: it stays on its loop's thread.
//!
//! ```compile_fail
//! # use anyloop_core::__doctest as anyloop;
//! fn assert_send<T: Send>() {}
//! assert_send::<anyloop::queue::Queue<u32>>();
//! ```
//!
//! # Examples
//!
//! A pool of workers, asyncio's queue example:
//!
//! ```
//! # use anyloop_core::__doctest as anyloop;
//! # anyloop_core::doctest_run(async {
//! use anyloop::queue::Queue;
//! use std::{cell::Cell, rc::Rc, time::Duration};
//!
//! let q = Queue::new(0);
//! let total = Rc::new(Cell::new(Duration::ZERO));
//! for ms in [30, 10, 20, 40, 50] {
//!     q.put_nowait(Duration::from_millis(ms)).unwrap();
//! }
//! let workers: Vec<_> = (0..3)
//!     .map(|_| {
//!         let (q, total) = (q.clone(), total.clone());
//!         anyloop::spawn(async move {
//!             while let Ok(d) = q.get().await {
//!                 anyloop::sleep(d).await;
//!                 total.set(total.get() + d);
//!                 q.task_done().unwrap();
//!             }
//!         })
//!     })
//!     .collect();
//! q.join().await;
//! q.shutdown(false);
//! for w in workers {
//!     w.await.unwrap();
//! }
//! assert_eq!(total.get(), Duration::from_millis(150));
//! # });
//! ```

mod error;
mod generic;
mod kind;

pub use error::{QueueEmpty, QueueFull, QueueShutDown, TaskDoneError, TryGetError, TryPutError};
pub use generic::{GenericQueue, Get, Join, Put};
pub use kind::{Fifo, Kind, Lifo, Priority};

/// A first-in, first-out queue: asyncio's `Queue`.
///
/// See [`GenericQueue`] for its methods.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let q = anyloop::queue::Queue::new(0);
/// q.put(1).await.unwrap();
/// q.put(2).await.unwrap();
/// assert_eq!(q.get().await, Ok(1));
/// # });
/// ```
pub type Queue<T> = GenericQueue<T, Fifo>;

/// A last-in, first-out queue: asyncio's `LifoQueue`.
///
/// See [`GenericQueue`] for its methods.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let q = anyloop::queue::LifoQueue::new(0);
/// for i in 0..3 {
///     q.put(i).await.unwrap();
/// }
/// assert_eq!(q.get().await, Ok(2));
/// # });
/// ```
pub type LifoQueue<T> = GenericQueue<T, Lifo>;

/// A queue that hands out its smallest item first: asyncio's
/// `PriorityQueue` (a min-heap, as `heapq`). Items are often
/// `(priority, data)` tuples.
///
/// See [`GenericQueue`] for its methods.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let q = anyloop::queue::PriorityQueue::new(0);
/// q.put((3, "three")).await.unwrap();
/// q.put((1, "one")).await.unwrap();
/// q.put((2, "two")).await.unwrap();
/// assert_eq!(q.get().await, Ok((1, "one")));
/// # });
/// ```
pub type PriorityQueue<T> = GenericQueue<T, Priority>;

#[cfg(test)]
mod tests;
