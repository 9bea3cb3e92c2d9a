//! `TaskGroup`: structured concurrency, asyncio style. The group and its
//! shared state live here; a child's handle in `child.rs`, the group's
//! errors in `error.rs`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::future::{poll_fn, Future};
use std::panic::{resume_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};

use futures_lite::FutureExt as _;

use crate::task::{Builder, TaskError, TaskRef};

mod child;
mod error;

pub use child::{GroupTask, GroupTaskError};
pub use error::{ChildFailure, GroupClosed, GroupError};

/// A group of child tasks that succeed or fail together: asyncio's
/// `async with asyncio.TaskGroup() as tg: tg.create_task(...)`.
///
/// - [`spawn`](Self::spawn) starts a child; a child returns `Result<T, E>`.
/// - [`join`](Self::join) waits until every child finished and returns
///   `Ok(())`, or a [`GroupError`] with **every** child failure.
/// - The first failure (an `Err`, or a panic) cancels all other children
///   and closes the group to new children; children cancelled that way
///   are not failures.
/// - Dropping the group (or cancelling the task that owns it, which drops
///   it) cancels every child.
/// - Spawning into a closed group (finished, failing, dropped) returns
///   [`GroupClosed`].
///
/// Children may spawn siblings through a [`GroupHandle`].
///
/// A failure does not interrupt the owner's own code between `new` and
/// [`join`](Self::join) (asyncio cancels the body of the `async with`):
/// the owner learns of it from `join` (or [`has_failed`](Self::has_failed)),
/// which returns as soon as the cancelled siblings are gone. For asyncio's
/// behaviour, run the body inside [`TaskGroup::scope`].
///
/// # Errors: one error, two views
///
/// A child that returns `Err(e)` reports that `e` both to the group
/// ([`GroupError`], asyncio's `ExceptionGroup`) and through its own
/// handle: awaiting its [`GroupTask`], or its
/// [`outcome`](GroupTask::outcome) / [`exception`](GroupTask::exception),
/// gives a [`GroupTaskError`] whose [`error`](GroupTaskError::error) is
/// that `e` (asyncio: after the group raised, `t.exception()` is the very
/// object the `ExceptionGroup` holds).
///
/// Design decision: the error is put in an [`Arc<E>`](std::sync::Arc)
/// shared by the two, allocated only when a child fails. The other ways
/// were weighed and rejected:
///
/// - `E: Clone` would shut out the most common error types
///   (`std::io::Error`, `anyhow::Error`, `Box<dyn Error>`), and copy.
/// - `Rc<E>` would make every [`GroupError`] `!Send`, so it could not go
///   into `anyhow::Error` or `Box<dyn Error + Send + Sync>` with `?`;
///   `Arc`'s atomic count costs nothing measurable on a failure path.
/// - Keeping `e` in the handle and giving the group a view of it would
///   lose it from the group when the handle is dropped (handles are
///   often dropped at once), or make the group's list depend on which
///   handles are still alive.
///
/// So [`GroupError::errors`], [`ChildFailure::error`] and
/// [`GroupTaskError::error`] all give `&E` (the same address);
/// [`ChildFailure::into_error`] and [`GroupTaskError::into_error`] give
/// the `Arc`, and [`Arc::try_unwrap`](std::sync::Arc::try_unwrap) /
/// [`Arc::unwrap_or_clone`](std::sync::Arc::unwrap_or_clone) give `E` back
/// once the other side is dropped. A child that succeeds pays nothing for
/// this. A panic is reported to the group as its message and to the
/// handle as the panic ([`GroupTaskError::is_panic`]); a child cancelled
/// because a sibling failed is not a failure of the group, and its handle
/// reports [`GroupTaskError::is_cancelled`].
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let group = anyloop::TaskGroup::new();
/// let mut t = group.spawn(async { Err::<(), _>(std::io::Error::other("disk full")) }).unwrap();
/// let err = group.join().await.unwrap_err();
/// let own = t.exception().unwrap().unwrap(); // asyncio's t.exception()
/// assert_eq!(own.error().unwrap().to_string(), "disk full");
/// assert!(std::ptr::eq(own.error().unwrap(), err.errors().next().unwrap()));
/// # });
/// ```
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use std::time::Duration;
/// let group = anyloop::TaskGroup::<String>::new();
/// let a = group.spawn(async { Ok(1) }).unwrap();
/// let b = group.spawn(async {
///     anyloop::sleep(Duration::from_millis(10)).await;
///     Ok("two")
/// }).unwrap();
/// group.join().await.unwrap();
/// assert_eq!((a.await.unwrap(), b.await.unwrap()), (1, "two"));
/// # });
/// ```
///
/// A failing child cancels its siblings:
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use std::time::Duration;
/// let group = anyloop::TaskGroup::new();
/// let slow = group.spawn(async {
///     anyloop::sleep(Duration::from_secs(60)).await;
///     Ok(())
/// }).unwrap();
/// group.spawn(async { Err::<(), _>("boom") }).unwrap();
/// let err = group.join().await.unwrap_err();
/// assert_eq!(err.errors().collect::<Vec<_>>(), [&"boom"]);
/// assert!(slow.await.unwrap_err().is_cancelled());
/// # });
/// ```
#[doc(alias = "nursery")]
#[must_use = "a TaskGroup cancels its children when dropped; `.join().await` it"]
pub struct TaskGroup<E = ()> {
    state: Rc<State<E>>,
}

/// A clonable handle that spawns into a [`TaskGroup`], e.g. from inside
/// its children. It does not keep the group open: once the group is
/// closed, spawning returns [`GroupClosed`].
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let group = anyloop::TaskGroup::<()>::new();
/// let handle = group.handle();
/// group.spawn(async move {
///     handle.spawn(async { Ok(()) }).unwrap(); // a sibling
///     Ok(())
/// }).unwrap();
/// group.join().await.unwrap();
/// # });
/// ```
pub struct GroupHandle<E = ()> {
    state: Rc<State<E>>,
}

impl<E> Clone for GroupHandle<E> {
    fn clone(&self) -> Self {
        GroupHandle {
            state: self.state.clone(),
        }
    }
}

struct State<E> {
    inner: RefCell<Inner<E>>,
}

struct Inner<E> {
    /// Live children, by spawn index.
    children: BTreeMap<u64, TaskRef>,
    next: u64,
    failures: Vec<ChildFailure<E>>,
    closed: Option<Closed>,
    joiner: Option<Waker>,
    /// The task running a [`TaskGroup::scope`] body, woken on the first failure.
    owner: Option<Waker>,
    /// Children that exited before `spawn` registered them (eager ones).
    early: Vec<(u64, Option<Outcome<E>>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closed {
    Finished,
    ShuttingDown,
    Dropped,
}

/// How a child failed. The error is shared with the child's own handle
/// (see [`TaskGroup`]'s "Errors" section).
enum Outcome<E> {
    Error(Arc<E>),
    Panic(String),
}

impl<E> State<E> {
    #[track_caller]
    fn spawn<F, T>(
        self: &Rc<Self>,
        builder: Builder,
        fut: F,
    ) -> Result<GroupTask<T, E>, GroupClosed>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
        E: 'static,
    {
        let idx = {
            let mut inner = self.inner.borrow_mut();
            if let Some(reason) = inner.closed {
                return Err(GroupClosed { reason });
            }
            inner.next += 1;
            inner.next
        };
        let guard = Child {
            state: self.clone(),
            idx,
            outcome: None,
        };
        let task = builder.spawn(async move {
            match AssertUnwindSafe(fut).catch_unwind().await {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(e)) => {
                    // One allocation, on failure only: the group and the
                    // child's handle report the same error.
                    let e = Arc::new(e);
                    guard.fail(Outcome::Error(e.clone()));
                    #[cfg(feature = "tracing")]
                    crate::task::running_returned_error();
                    Err(e)
                }
                Err(payload) => {
                    // Report before the task counts as finished.
                    guard.fail(Outcome::Panic(TaskError::panic_text(&*payload)));
                    // The group reports it: no "never retrieved" as well.
                    crate::debug::panic_handled();
                    resume_unwind(payload)
                }
            }
        });
        let me = task.task_ref();
        let early = {
            let mut inner = self.inner.borrow_mut();
            match inner.early.iter().position(|(i, _)| *i == idx) {
                // An eager child that finished inside `spawn`.
                Some(pos) => Some(inner.early.swap_remove(pos).1),
                None => {
                    inner.children.insert(idx, me.clone());
                    None
                }
            }
        };
        if let Some(outcome) = early {
            self.record_exit(me, outcome);
        }
        Ok(GroupTask::new(task))
    }

    /// A child finished (or was dropped): record how, cancel the siblings
    /// on the first failure, wake the joiner after the last child.
    fn child_exit(&self, idx: u64, outcome: Option<Outcome<E>>) {
        let me = {
            let mut inner = self.inner.borrow_mut();
            match inner.children.remove(&idx) {
                Some(me) => me,
                None => {
                    // Not registered yet: an eager child finished inside
                    // `spawn`, which records the exit when it registers it.
                    inner.early.push((idx, outcome));
                    return;
                }
            }
        };
        self.record_exit(me, outcome);
    }

    /// See [`child_exit`](Self::child_exit); `me` is no longer in `children`.
    fn record_exit(&self, me: TaskRef, outcome: Option<Outcome<E>>) {
        let mut cancel = Vec::new();
        let waker;
        let mut owner = None;
        {
            let mut inner = self.inner.borrow_mut();
            if let Some(outcome) = outcome {
                inner.failures.push(ChildFailure {
                    id: me.id(),
                    name: me.name().map(String::from),
                    outcome,
                });
                if inner.closed.is_none() || inner.closed == Some(Closed::Finished) {
                    inner.closed = Some(Closed::ShuttingDown);
                }
                if inner.failures.len() == 1 {
                    cancel.extend(inner.children.values().cloned());
                    owner = inner.owner.take();
                }
            }
            waker = if inner.children.is_empty() {
                inner.joiner.take()
            } else {
                None
            };
            // `me` (a waker clone) drops here, after the borrow ends below.
            cancel.push(me);
        }
        let me = cancel.pop();
        for t in &cancel {
            t.cancel_with("a sibling in its TaskGroup failed");
        }
        drop(me);
        if let Some(w) = waker {
            w.wake();
        }
        if let Some(w) = owner {
            w.wake();
        }
    }

    fn cancel_all(&self, reason: Closed, msg: &str) {
        let children: Vec<TaskRef> = {
            let mut inner = self.inner.borrow_mut();
            if inner.closed.is_none() || reason == Closed::Dropped {
                inner.closed = Some(reason);
            }
            inner.children.values().cloned().collect()
        };
        for t in children {
            t.cancel_with(msg);
        }
    }
}

/// Reports a child's end to the group, also when its future is dropped
/// (cancellation) instead of finishing.
struct Child<E> {
    state: Rc<State<E>>,
    idx: u64,
    outcome: Option<Outcome<E>>,
}

impl<E> Child<E> {
    fn fail(mut self, outcome: Outcome<E>) {
        self.outcome = Some(outcome);
        // `drop` reports it.
    }
}

impl<E> Drop for Child<E> {
    fn drop(&mut self) {
        let mut outcome = self.outcome.take();
        if outcome.is_none() && std::thread::panicking() {
            // The child's future panicked while being dropped (cancelled):
            // a failure too, like an exception raised during cleanup.
            outcome = Some(Outcome::Panic("panicked while being cancelled".into()));
            crate::debug::panic_handled();
        }
        self.state.child_exit(self.idx, outcome);
    }
}

impl<E> Default for TaskGroup<E> {
    fn default() -> Self {
        TaskGroup::new()
    }
}

impl<E> TaskGroup<E> {
    /// An empty, open group (asyncio's `TaskGroup()`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::<std::io::Error>::new();
    /// assert_eq!(group.len(), 0);
    /// group.join().await.unwrap();
    /// # });
    /// ```
    pub fn new() -> Self {
        TaskGroup {
            state: Rc::new(State {
                inner: RefCell::new(Inner {
                    children: BTreeMap::new(),
                    next: 0,
                    failures: Vec::new(),
                    closed: None,
                    joiner: None,
                    owner: None,
                    early: Vec::new(),
                }),
            }),
        }
    }

    /// Spawns a child (asyncio's `tg.create_task(coro)`). The child's
    /// `Err(e)` or panic is a failure of the group: see [`TaskGroup`].
    ///
    /// The returned [`GroupTask`] gives the child's value, or its own
    /// [`GroupTaskError`]: the `Err(e)` it returned (the same `e` that
    /// [`join`](Self::join)'s [`GroupError`] lists), its panic, or its
    /// cancellation.
    ///
    /// # Errors
    ///
    /// [`GroupClosed`] if the group finished, is shutting down after a
    /// failure, or was dropped.
    ///
    /// # Panics
    ///
    /// Panics outside a running loop, like [`spawn`](crate::spawn).
    ///
    /// # Examples
    ///
    /// See [`TaskGroup`].
    #[doc(alias = "create_task")]
    #[track_caller]
    pub fn spawn<F, T>(&self, fut: F) -> Result<GroupTask<T, E>, GroupClosed>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
        E: 'static,
    {
        self.state.spawn(Builder::new(), fut)
    }

    /// Like [`spawn`](Self::spawn) with task options (a name, eager start).
    ///
    /// # Errors
    ///
    /// [`GroupClosed`], as for [`spawn`](Self::spawn).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use anyloop::{task::Builder, TaskGroup};
    /// let group = TaskGroup::<()>::new();
    /// let t = group.spawn_with(Builder::new().name("fetch"), async { Ok(1) }).unwrap();
    /// assert_eq!(t.name(), Some("fetch"));
    /// group.join().await.unwrap();
    /// # });
    /// ```
    #[track_caller]
    pub fn spawn_with<F, T>(&self, builder: Builder, fut: F) -> Result<GroupTask<T, E>, GroupClosed>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
        E: 'static,
    {
        self.state.spawn(builder, fut)
    }

    /// A handle to spawn into this group from elsewhere (its children).
    ///
    /// # Examples
    ///
    /// See [`GroupHandle`].
    pub fn handle(&self) -> GroupHandle<E> {
        GroupHandle {
            state: self.state.clone(),
        }
    }

    /// Number of children still running.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::<()>::new();
    /// group.spawn(async { Ok(()) }).unwrap();
    /// assert_eq!(group.len(), 1);
    /// group.join().await.unwrap();
    /// # });
    /// ```
    pub fn len(&self) -> usize {
        self.state.inner.borrow().children.len()
    }

    /// Whether no child is running.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let group = anyloop::TaskGroup::<()>::new();
    /// assert!(group.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a child failed (the group is shutting down).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::new();
    /// group.spawn(async { Err::<(), _>(1) }).unwrap();
    /// anyloop::yield_now().await;
    /// assert!(group.has_failed());
    /// assert!(group.join().await.is_err());
    /// # });
    /// ```
    pub fn has_failed(&self) -> bool {
        !self.state.inner.borrow().failures.is_empty()
    }

    /// Cancels every child and closes the group; [`join`](Self::join)
    /// then returns once they are gone (asyncio 3.14's `tg.cancel()`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::<()>::new();
    /// let t = group.spawn(async { std::future::pending::<Result<(), ()>>().await }).unwrap();
    /// group.cancel();
    /// assert!(group.spawn(async { Ok(()) }).is_err());
    /// group.join().await.unwrap();
    /// assert!(t.await.unwrap_err().is_cancelled());
    /// # });
    /// ```
    pub fn cancel(&self) {
        self.state
            .cancel_all(Closed::ShuttingDown, "its TaskGroup was cancelled");
    }

    /// Runs `body` with a handle on a new group, then joins the group:
    /// asyncio's whole `async with TaskGroup() as tg:` block, including
    /// its rule that the first child failure also cancels the body.
    ///
    /// Returns the body's output once the body and every child finished,
    /// or a [`GroupError`] with every failure (the body's output, if any,
    /// is dropped then, as asyncio raises the `ExceptionGroup`).
    ///
    /// # Errors
    ///
    /// A [`GroupError`] if any child returned `Err` or panicked.
    ///
    /// # Cancellation
    ///
    /// Dropping the future drops the body and cancels the children.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use anyloop::{sleep, time::Instant, TaskGroup};
    /// use std::time::Duration;
    /// let start = Instant::now();
    /// let res = TaskGroup::scope(|tg| async move {
    ///     tg.spawn(async {
    ///         sleep(Duration::from_millis(10)).await;
    ///         Err::<(), _>("child failed")
    ///     })
    ///     .unwrap();
    ///     sleep(Duration::from_secs(3600)).await; // cancelled by the failure
    ///     "body finished"
    /// })
    /// .await;
    /// assert_eq!(res.unwrap_err().errors().collect::<Vec<_>>(), [&"child failed"]);
    /// assert_eq!(start.elapsed(), Duration::from_millis(10));
    ///
    /// let ok = TaskGroup::<()>::scope(|tg| async move {
    ///     let t = tg.spawn(async { Ok(2) }).unwrap();
    ///     t.await.unwrap() * 21
    /// })
    /// .await;
    /// assert_eq!(ok.unwrap(), 42);
    /// # });
    /// ```
    #[doc(alias = "async with TaskGroup")]
    pub async fn scope<F, Fut>(body: F) -> Result<Fut::Output, GroupError<E>>
    where
        F: FnOnce(GroupHandle<E>) -> Fut,
        Fut: Future,
    {
        let group = TaskGroup::new();
        let out = {
            let mut body = pin!(body(group.handle()));
            poll_fn(|cx| {
                {
                    let mut inner = group.state.inner.borrow_mut();
                    if !inner.failures.is_empty() {
                        return Poll::Ready(None);
                    }
                    match &mut inner.owner {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        w => *w = Some(cx.waker().clone()),
                    }
                }
                body.as_mut().poll(cx).map(Some)
            })
            .await
            // A failure drops (cancels) the body here.
        };
        group.state.inner.borrow_mut().owner = None;
        let joined = group.join().await;
        match (out, joined) {
            (Some(v), Ok(())) => Ok(v),
            (_, Err(e)) => Err(e),
            (None, Ok(())) => unreachable!("the body stops only after a failure"),
        }
    }

    /// Waits for every child, then closes the group: asyncio's exit from
    /// `async with TaskGroup()`. Children may still be spawned while it
    /// waits (until a failure). Returns every failure, in the order they
    /// happened.
    ///
    /// # Errors
    ///
    /// A [`GroupError`] if any child returned `Err` or panicked.
    ///
    /// # Cancellation
    ///
    /// Dropping the future (e.g. the owner task is cancelled) drops the
    /// group, which cancels the children.
    ///
    /// # Examples
    ///
    /// See [`TaskGroup`].
    pub async fn join(self) -> Result<(), GroupError<E>> {
        poll_fn(|cx| {
            let mut inner = self.state.inner.borrow_mut();
            if inner.children.is_empty() {
                inner.closed = Some(Closed::Finished);
                Poll::Ready(())
            } else {
                // The joining task awaits every child (for the call graph).
                for child in inner.children.values() {
                    child.note_awaiter();
                }
                match &mut inner.joiner {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    w => *w = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        })
        .await;
        let failures = std::mem::take(&mut self.state.inner.borrow_mut().failures);
        if failures.is_empty() {
            Ok(())
        } else {
            Err(GroupError { failures })
        }
    }
}

impl<E> Drop for TaskGroup<E> {
    fn drop(&mut self) {
        let finished = self.state.inner.borrow().closed == Some(Closed::Finished);
        if !finished {
            self.state
                .cancel_all(Closed::Dropped, "its TaskGroup was dropped");
        }
    }
}

impl<E> fmt::Debug for TaskGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.state.inner.borrow();
        f.debug_struct("TaskGroup")
            .field("children", &inner.children.len())
            .field("failures", &inner.failures.len())
            .field("closed", &inner.closed)
            .finish()
    }
}

impl<E> GroupHandle<E> {
    /// See [`TaskGroup::spawn`].
    ///
    /// # Errors
    ///
    /// [`GroupClosed`] once the group is closed.
    ///
    /// # Examples
    ///
    /// See [`GroupHandle`].
    #[track_caller]
    pub fn spawn<F, T>(&self, fut: F) -> Result<GroupTask<T, E>, GroupClosed>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
        E: 'static,
    {
        self.state.spawn(Builder::new(), fut)
    }

    /// See [`TaskGroup::spawn_with`].
    ///
    /// # Errors
    ///
    /// [`GroupClosed`] once the group is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::<()>::new();
    /// let h = group.handle();
    /// let t = h.spawn_with(anyloop::task::Builder::new().name("x"), async { Ok(()) });
    /// assert_eq!(t.unwrap().name(), Some("x"));
    /// group.join().await.unwrap();
    /// # });
    /// ```
    #[track_caller]
    pub fn spawn_with<F, T>(&self, builder: Builder, fut: F) -> Result<GroupTask<T, E>, GroupClosed>
    where
        F: Future<Output = Result<T, E>> + 'static,
        T: 'static,
        E: 'static,
    {
        self.state.spawn(builder, fut)
    }
}

impl<E> fmt::Debug for GroupHandle<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupHandle").finish_non_exhaustive()
    }
}
