//! asyncio's "Coroutines and Tasks" chapter: concurrency helpers on top of
//! [`spawn`](crate::spawn) and [`Task`](crate::Task).
//!
//! Everything here is re-exported at the crate root.
//!
//! # asyncio → anyloop
//!
//! | asyncio | anyloop |
//! |---|---|
//! | `async def f(): ...`, `await f()` | `async fn f() {}`, `f().await` |
//! | `asyncio.run(main())` | `anyloop::run(main())` (facade), [`EventLoop::block_on`](crate::EventLoop::block_on) |
//! | `asyncio.create_task(coro, name=n)` | [`spawn`](crate::spawn)`(fut)`, [`task::Builder`](crate::task::Builder)`::new().name(n).spawn(fut)` |
//! | `create_task(coro, eager_start=True)`, `eager_task_factory` | [`Builder::eager`](crate::task::Builder::eager)`(true)` |
//! | `Task.cancel(msg=m)` | [`Task::cancel`](crate::Task::cancel), [`Task::cancel_with`](crate::Task::cancel_with)`(m)`; the awaiter reads [`TaskError::cancel_message`](crate::TaskError::cancel_message) |
//! | `Task.cancelled()` | [`TaskError::is_cancelled`](crate::TaskError::is_cancelled) |
//! | `Task.cancelling()`, `Task.uncancel()` | [`Task::cancelling`](crate::Task::cancelling), [`Task::uncancel`](crate::Task::uncancel) (also on [`TaskRef`](crate::TaskRef), e.g. [`current_task`](crate::current_task)) |
//! | `try: await aw` / `except CancelledError:` | [`catch_cancel`]`(aw).await` → `Err(`[`Cancelled`]`)` (see [below](#cancellation-two-styles)) |
//! | `raise` (re-raise the `CancelledError`) | [`Cancelled::propagate`] |
//! | `asyncio.CancelledError` | [`Cancelled`] (caught in the body), [`TaskError::is_cancelled`](crate::TaskError::is_cancelled) (from the `Task`) |
//! | `Task.done()`, `Task.cancelled()` | [`Task::is_finished`](crate::Task::is_finished), [`Task::is_cancelled`](crate::Task::is_cancelled) |
//! | `Task.result()`, `Task.exception()`, `InvalidStateError` | [`Task::outcome`](crate::Task::outcome) → `&Result<T, TaskError>`, [`Task::exception`](crate::Task::exception); [`InvalidState`](crate::InvalidState) while pending (the handle is not consumed); `task.await` → `Ok(value)` / `Err(TaskError)` |
//! | `await t` from several coroutines, or twice | [`Task::shared`](crate::Task::shared) → [`SharedTask`] (cheap `Clone`, `T: Clone`) |
//! | `Task.add_done_callback(cb)`, `remove_done_callback(cb)` | [`Task::add_done_callback`](crate::Task::add_done_callback) → [`DoneCallback`](crate::DoneCallback), [`Task::remove_done_callback`](crate::Task::remove_done_callback) (also on [`TaskRef`](crate::TaskRef) and [`Promise`](crate::future::Promise::add_done_callback)) |
//! | `Task.get_name()`, `Task.get_coro()`, task id | [`Task::name`](crate::Task::name), —, [`Task::id`](crate::Task::id) |
//! | `asyncio.current_task()`, `asyncio.all_tasks()` | [`current_task`](crate::current_task), [`all_tasks`](crate::all_tasks) ([`TaskRef`](crate::TaskRef): id, name, [`state`](crate::TaskRef::state), cancel) |
//! | `await asyncio.sleep(0)`, `asyncio.sleep(s)` | [`yield_now`](crate::yield_now), [`sleep`](crate::sleep)`(Duration)`, [`sleep_until`](crate::sleep_until) |
//! | `await asyncio.gather(a, b, c)` | [`gather!`](crate::gather!)`(a, b, c).await` → tuple |
//! | `await asyncio.gather(*aws)` | [`gather`](gather())`(iter).await` → `Vec` (results in argument order) |
//! | `gather(..., return_exceptions=True)` | [`gather`](gather()) / [`gather!`](crate::gather!) (every output, errors included) |
//! | `gather(..., return_exceptions=False)` | [`try_gather`](try_gather())`(iter)`, [`try_gather!`](crate::try_gather!): first `Err` |
//! | cancelling `gather()` cancels its awaitables | cancelling (dropping) an unfinished gather drops its futures and cancels the [`Task`](crate::Task)s it awaits |
//! | `await asyncio.wait_for(task, t)` | [`wait_for`]`(task, dur)`: cancels the task on expiry and returns `Err(Elapsed)` after it finished |
//! | `await asyncio.wait_for(coro, t)` | [`timeout`](crate::timeout)`(dur, fut)` → `Result<T, Elapsed>` (drops `fut` on expiry) |
//! | `async with asyncio.timeout(t) as cm:` | [`timeout`](crate::timeout)`(dur, fut)`, or [`TimeoutScope::after`](crate::time::TimeoutScope::after)`(dur).run(fut)` |
//! | `asyncio.timeout_at(when)` | [`timeout_at`](crate::timeout_at), [`TimeoutScope::new`](crate::time::TimeoutScope::new)`(Some(when))` |
//! | `cm.when()`, `cm.reschedule(t)`, `cm.expired()` | [`TimeoutScope::when`](crate::time::TimeoutScope::when), [`reschedule`](crate::time::TimeoutScope::reschedule), [`expired`](crate::time::TimeoutScope::expired) |
//! | `asyncio.TimeoutError` | [`Elapsed`](crate::Elapsed) |
//! | `await asyncio.shield(aw)` | [`shield`]`(fut).await` (any [`Task`](crate::Task) handle is already shielded: dropping it detaches) |
//! | `asyncio.wait(aws, timeout, return_when)` | [`wait`]`(tasks, ReturnWhen::…)` [`.timeout(dur)`](Wait::timeout) → `(done, pending)` |
//! | `FIRST_COMPLETED`, `FIRST_EXCEPTION`, `ALL_COMPLETED` | [`ReturnWhen::FirstCompleted`], [`ReturnWhen::FirstException`] (+ [`Wait::fail_if`]), [`ReturnWhen::AllCompleted`] |
//! | `for c in asyncio.as_completed(aws, timeout=t)` | `let mut it = `[`as_completed`]`(iter)`[`.timeout(t)`](AsCompleted::timeout)`; while let Some(v) = it.next().await` |
//! | `async with asyncio.TaskGroup() as tg:` | `let tg = `[`TaskGroup`]`::new(); ...; tg.join().await` |
//! | the same, where a failure also cancels the body | [`TaskGroup::scope`]`(\|tg\| async move { ... }).await` |
//! | `tg.create_task(coro)` | [`TaskGroup::spawn`]`(fut)` (child returns `Result<T, E>`) |
//! | `ExceptionGroup` from a task group | [`GroupError`] (every [`ChildFailure`]) |
//! | a child's `t.result()`, `t.exception()`, `await t` after the group raised | [`GroupTask::outcome`], [`GroupTask::exception`], `t.await` → `Err(`[`GroupTaskError`]`)`: the child's own error, the same `e` its group lists ([`GroupTaskError::error`]) |
//! | `contextvars.ContextVar`, copied by `create_task` | [`task_local!`](crate::task_local!), [`LocalKey`] |
//! | `loop.call_soon(cb)`, `call_later(d, cb)`, `call_at(t, cb)` | [`call_soon`], [`call_later`], [`call_at`] → [`TimerHandle`] |
//! | `loop.call_soon_threadsafe(cb)`, `run_coroutine_threadsafe` | [`Handle::call_soon_threadsafe`](crate::Handle::call_soon_threadsafe), [`Handle::spawn`](crate::Handle::spawn) |
//! | `asyncio.to_thread(f)` | `anyloop::to_thread(f)` (facade) |
//! | `asyncio.capture_call_graph()`, `print_call_graph()` | [`capture_call_graph`] → [`CallGraph`], [`print_call_graph`] |
//! | `asyncio.iscoroutine`, `run_coroutine_threadsafe` | — (Rust's type system), [`Handle::spawn`](crate::Handle::spawn) |
//!
//! # Cancellation: two styles
//!
//! **Rust's, the default.** [`Task::cancel`](crate::Task::cancel) drops the
//! task's future at its next poll: destructors run, nothing else of the
//! task's code does, and awaiting the `Task` gives
//! `Err(TaskError)` with [`is_cancelled`](crate::TaskError::is_cancelled).
//! This is what Rust code expects of a dropped future, and it costs
//! nothing: a task that never asks for more pays one flag test per poll,
//! as before.
//!
//! **asyncio's, where a task asks for it.** A task wraps an await in
//! [`catch_cancel`]: a cancel request arriving while that await is pending
//! drops the awaited future and comes back to the body as
//! `Err(`[`Cancelled`]`)`, asyncio's `except CancelledError`. The body may
//! then await cleanup, return a value (the task finishes normally), or
//! end cancelled with [`Cancelled::propagate`] (asyncio's `raise`).
//!
//! The rules, as in asyncio (3.12/3.13) where they apply:
//!
//! - Every request counts: [`Task::cancelling`](crate::Task::cancelling)
//!   is their number, [`Task::uncancel`](crate::Task::uncancel) takes one
//!   back; at zero a request not delivered yet is withdrawn.
//! - A request is delivered once, to the first pending catch point that
//!   sees it (nested catch points: the innermost). If no catch point is
//!   pending when it arrives, the task is dropped as in Rust's style, so a
//!   request never goes unanswered.
//! - If the awaited future finishes in the same poll, its value wins and
//!   the request stays for the next await (asyncio delivers
//!   `CancelledError` at the next suspension). A task that cancels itself
//!   and returns without awaiting ends cancelled.
//! - Timeouts: a [`timeout`](crate::timeout) whose deadline passes in the
//!   same poll as a cancel request yields to the cancel (the task sees
//!   `Cancelled`, not [`Elapsed`](crate::Elapsed), and
//!   [`TimeoutScope::expired`](crate::time::TimeoutScope::expired) stays
//!   false). A zero or past deadline gives `Elapsed` for anything that
//!   suspends and the value for anything that does not.
//! - [`TaskGroup`]: a failing child cancels its siblings; siblings that
//!   catch the cancel run their cleanup and `join` waits for it.
//! - Loop shutdown (end of `run`, a dropped loop) cancels every task once
//!   catchably (cleanup that needs no timer or I/O runs), then drops what
//!   is left; unwinding out of `block_on` drops the main task at once.
//!
//! ```
//! # use anyloop_core::__doctest as anyloop;
//! # anyloop_core::doctest_run(async {
//! use std::{cell::RefCell, rc::Rc, time::Duration};
//! use anyloop::{catch_cancel, sleep, spawn};
//!
//! let log = Rc::new(RefCell::new(Vec::new()));
//! // Rust's style: the future is dropped, its destructors run.
//! struct Guard(Rc<RefCell<Vec<&'static str>>>);
//! impl Drop for Guard {
//!     fn drop(&mut self) { self.0.borrow_mut().push("rust: dropped"); }
//! }
//! let l = log.clone();
//! let rust_style = spawn(async move {
//!     let _g = Guard(l);
//!     sleep(Duration::from_secs(3600)).await;
//! });
//! // asyncio's style: the body catches the cancel and cleans up.
//! let l = log.clone();
//! let asyncio_style = spawn(async move {
//!     if let Err(cancelled) = catch_cancel(sleep(Duration::from_secs(3600))).await {
//!         sleep(Duration::from_millis(10)).await; // e.g. flush a buffer
//!         l.borrow_mut().push("asyncio: cleaned up");
//!         cancelled.propagate();
//!     }
//! });
//! sleep(Duration::from_millis(1)).await;
//! rust_style.cancel();
//! asyncio_style.cancel();
//! assert!(rust_style.await.unwrap_err().is_cancelled());
//! assert!(asyncio_style.await.unwrap_err().is_cancelled());
//! assert_eq!(*log.borrow(), ["rust: dropped", "asyncio: cleaned up"]);
//! # });
//! ```
//!
//! # Differences from asyncio
//!
//! What stays different, on purpose:
//!
//! - **Dropping a `Task` handle detaches the task** (it keeps running);
//!   in asyncio an unreferenced task may be garbage-collected. Cancel
//!   explicitly with [`Task::cancel`](crate::Task::cancel).
//! - **Cancelling a task that awaits a `Task` handle does not cancel the
//!   awaited task** (the handle is dropped, which detaches it); asyncio's
//!   `await task` forwards the cancellation. [`gather`](gather()),
//!   [`gather!`](crate::gather!), [`try_gather`](try_gather()) and
//!   [`wait_for`] do forward it to the tasks they await, as asyncio's do;
//!   for anything else use a [`TaskGroup`] (dropping it cancels its
//!   children) or [`catch_cancel`] and cancel by hand.
//! - [`wait`]: as asyncio's, it never cancels anything (on timeout either);
//!   it takes `Task` handles (asyncio 3.11+ refuses coroutines too) and
//!   returns `(done, pending)` as `Vec`s in input order instead of sets.
//!   Dropping the `Wait` future detaches the tasks.
//! - [`as_completed`]: yields outputs in completion order from
//!   `next().await` (asyncio 3.13 also yields the original tasks when
//!   iterated asynchronously); plain futures run inside the calling task,
//!   so they progress only while it awaits `next`; its timeout ends the
//!   iteration with [`Elapsed`](crate::Elapsed) (asyncio raises
//!   `TimeoutError` from the iterator) and, like asyncio's, cancels
//!   nothing: dropping the iterator drops plain futures (cancelling them)
//!   and detaches tasks.
//! - [`shield`]: takes a future and runs it as a new task, whose handle
//!   is the shield; passing a `Task` wraps it in a second task (any `Task`
//!   is already shielded, since dropping its handle does not cancel it).
//!   As in asyncio, cancelling the awaiter leaves the work running, and
//!   cancelling the inner work itself (from inside, or through its handle)
//!   makes the shield end cancelled.
//! - [`wait_for`] waits for the task's cleanup after a timeout (asyncio
//!   3.12); cancelling the awaiter of a `wait_for` cancels the task
//!   without waiting for its cleanup (asyncio waits).
//! - A [`catch_cancel`] point catches requests only while it is pending;
//!   an `await` outside one ends the task (Rust's cancellation), where
//!   asyncio would raise `CancelledError` at any `await` and let any
//!   enclosing `try` see it.
//! - A [`TaskGroup`] child's error is shared as an `Arc<E>` between its
//!   own handle ([`GroupTaskError::error`]) and the group's [`GroupError`],
//!   where asyncio shares one exception object; [`TaskGroup`]'s "Errors"
//!   section says why `Arc` (and not `E: Clone`, `Rc` or a view).
//!
//! # Examples
//!
//! asyncio's `gather` example, with the same output order:
//!
//! ```
//! # use anyloop_core::__doctest as anyloop;
//! # anyloop_core::doctest_run(async {
//! use std::time::Duration;
//! async fn factorial(name: &str, n: u64, log: &std::cell::RefCell<Vec<String>>) -> u64 {
//!     let mut f = 1;
//!     for i in 2..=n {
//!         log.borrow_mut().push(format!("Task {name}: Compute factorial({n}), currently i={i}..."));
//!         anyloop::sleep(Duration::from_secs(1)).await;
//!         f *= i;
//!     }
//!     log.borrow_mut().push(format!("Task {name}: factorial({n}) = {f}"));
//!     f
//! }
//! let log = std::cell::RefCell::new(Vec::new());
//! let (a, b, c) = anyloop::gather!(
//!     factorial("A", 2, &log),
//!     factorial("B", 3, &log),
//!     factorial("C", 4, &log),
//! )
//! .await;
//! assert_eq!((a, b, c), (2, 6, 24));
//! assert_eq!(log.borrow()[..3], [
//!     "Task A: Compute factorial(2), currently i=2...",
//!     "Task B: Compute factorial(3), currently i=2...",
//!     "Task C: Compute factorial(4), currently i=2...",
//! ]);
//! # });
//! ```

mod callbacks;
mod cancel;
mod gather;
mod graph;
mod group;
pub(crate) mod local;
mod ready;
mod shared;
mod shield;
mod wait;
mod wait_for;

pub use callbacks::{call_at, call_later, call_soon, TimerHandle};
pub use cancel::{catch_cancel, Cancelled, CatchCancel};
pub use gather::{gather, try_gather, Gather, TryGather};
pub use graph::{capture_call_graph, print_call_graph, CallGraph};
pub use group::{
    ChildFailure, GroupClosed, GroupError, GroupHandle, GroupTask, GroupTaskError, TaskGroup,
};
pub use local::LocalKey;
pub use shared::SharedTask;
pub use shield::shield;
pub use wait::{
    as_completed, wait, AsCompleted, AsCompletedTimeout, Next, NextTimeout, ReturnWhen, Wait,
};
pub use wait_for::{wait_for, WaitFor};

#[doc(hidden)]
pub mod __private {
    pub use super::gather::{Armed, DropScope, MaybeDone, TryOutput};
}

#[cfg(test)]
mod tests;
