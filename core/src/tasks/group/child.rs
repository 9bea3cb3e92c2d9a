//! A child's handle: [`GroupTask`] and its error, [`GroupTaskError`].

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::task::{DoneCallback, InvalidState, Task, TaskError, TaskId, TaskRef, TaskState};

#[cfg(doc)]
use super::{GroupError, TaskGroup};

/// A child of a [`TaskGroup`]: a [`Task`] whose awaited value is the
/// child's `Ok` value, and whose error is the child's own: its `Err(e)`
/// ([`GroupTaskError::error`], the same `e` the group's [`GroupError`]
/// lists), its panic, or its cancellation. Dropping it detaches (the
/// group still owns the child).
///
/// As for a [`Task`], the outcome can be read without consuming the
/// handle ([`outcome`](Self::outcome), [`exception`](Self::exception):
/// asyncio's `t.result()` / `t.exception()` after the group raised).
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let group = anyloop::TaskGroup::new();
/// let ok = group.spawn(async { Ok::<_, &str>(5) }).unwrap();
/// let bad = group.spawn(async { Err::<u8, _>("no") }).unwrap();
/// let err = group.join().await.unwrap_err();
/// assert_eq!(err.errors().collect::<Vec<_>>(), [&"no"]);
/// assert_eq!(ok.await.unwrap(), 5);
/// let own = bad.await.unwrap_err();
/// assert!(own.is_failed());
/// assert_eq!(own.error(), Some(&"no"));
/// # });
/// ```
pub struct GroupTask<T, E = ()> {
    task: Task<Result<T, Arc<E>>>,
    /// The outcome taken out by [`outcome`](Self::outcome), for the next
    /// `.await`. Boxed: awaiting without asking first pays a null check.
    done: Option<Box<Result<T, GroupTaskError<E>>>>,
}

impl<T, E> GroupTask<T, E> {
    pub(super) fn new(task: Task<Result<T, Arc<E>>>) -> Self {
        GroupTask { task, done: None }
    }

    /// See [`Task::cancel`]. A cancelled child is not a group failure.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::<()>::new();
    /// let t = group.spawn(std::future::pending::<Result<(), ()>>()).unwrap();
    /// t.cancel();
    /// group.join().await.unwrap();
    /// # });
    /// ```
    pub fn cancel(&self) -> bool {
        self.task.cancel()
    }

    /// See [`Task::cancel_with`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::<()>::new();
    /// let t = group.spawn(std::future::pending::<Result<(), ()>>()).unwrap();
    /// t.cancel_with("enough");
    /// group.join().await.unwrap();
    /// assert_eq!(t.await.unwrap_err().cancel_message(), Some("enough"));
    /// # });
    /// ```
    pub fn cancel_with(&self, msg: impl Into<String>) -> bool {
        self.task.cancel_with(msg)
    }

    /// See [`Task::is_finished`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::<()>::new();
    /// let t = group.spawn(async { Ok(()) }).unwrap();
    /// group.join().await.unwrap();
    /// assert!(t.is_finished());
    /// # });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// See [`Task::id`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::<()>::new();
    /// let t = group.spawn(async { Ok(()) }).unwrap();
    /// assert_eq!(t.id(), t.task_ref().id());
    /// group.join().await.unwrap();
    /// # });
    /// ```
    pub fn id(&self) -> TaskId {
        self.task.id()
    }

    /// See [`Task::name`].
    ///
    /// # Examples
    ///
    /// See [`TaskGroup::spawn_with`].
    pub fn name(&self) -> Option<&str> {
        self.task.name()
    }

    /// See [`Task::state`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::<()>::new();
    /// let t = group.spawn(async { Ok(()) }).unwrap();
    /// assert_eq!(t.state(), anyloop::TaskState::Scheduled);
    /// group.join().await.unwrap();
    /// # });
    /// ```
    pub fn state(&self) -> TaskState {
        self.task.state()
    }

    /// See [`Task::task_ref`].
    ///
    /// # Examples
    ///
    /// See [`id`](Self::id).
    pub fn task_ref(&self) -> TaskRef {
        self.task.task_ref()
    }

    /// See [`Task::cancelling`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::<()>::new();
    /// let t = group.spawn(std::future::pending::<Result<(), ()>>()).unwrap();
    /// t.cancel();
    /// assert_eq!(t.cancelling(), 1);
    /// group.join().await.unwrap();
    /// # });
    /// ```
    pub fn cancelling(&self) -> u32 {
        self.task.cancelling()
    }

    /// See [`Task::uncancel`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::<()>::new();
    /// let t = group.spawn(async { anyloop::yield_now().await; Ok(3) }).unwrap();
    /// t.cancel();
    /// assert_eq!(t.uncancel(), 0);
    /// group.join().await.unwrap();
    /// assert_eq!(t.await.unwrap(), 3); // the request was withdrawn
    /// # });
    /// ```
    pub fn uncancel(&self) -> u32 {
        self.task.uncancel()
    }

    /// Whether the child finished cancelled (asyncio's `cancelled()`),
    /// e.g. because a sibling failed. See [`Task::is_cancelled`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::new();
    /// let sibling = group.spawn(std::future::pending::<Result<(), &str>>()).unwrap();
    /// group.spawn(async { Err::<(), _>("boom") }).unwrap();
    /// assert!(group.join().await.is_err());
    /// assert!(sibling.is_cancelled());
    /// # });
    /// ```
    #[doc(alias = "cancelled")]
    pub fn is_cancelled(&self) -> bool {
        self.task.is_cancelled()
    }

    /// The child's outcome without consuming the handle (asyncio's
    /// `result()` and `exception()` in one): `Ok(value)`, or its own
    /// [`GroupTaskError`]. Awaiting the handle afterwards still returns it.
    ///
    /// # Errors
    ///
    /// [`InvalidState`] while the child runs (asyncio's
    /// `InvalidStateError`), or after the output was taken by awaiting.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::new();
    /// let mut t = group.spawn(async { Err::<u8, _>("bad input") }).unwrap();
    /// assert!(t.outcome().unwrap_err().is_pending());
    /// assert!(group.join().await.is_err());
    /// assert_eq!(t.outcome().unwrap().as_ref().unwrap_err().error(), Some(&"bad input"));
    /// assert!(t.await.unwrap_err().is_failed()); // still there
    /// # });
    /// ```
    #[doc(alias = "result")]
    pub fn outcome(&mut self) -> Result<&Result<T, GroupTaskError<E>>, InvalidState> {
        if self.done.is_none() {
            // `InvalidState` while pending or after an await took it.
            self.task.outcome()?;
            // Finished and still in the task: take it (returns at once).
            match Pin::new(&mut self.task).poll(&mut Context::from_waker(Waker::noop())) {
                Poll::Ready(out) => self.done = Some(Box::new(flatten(out))),
                Poll::Pending => return Err(InvalidState::pending()),
            }
        }
        self.done.as_deref().ok_or(InvalidState::pending())
    }

    /// The child's own error, `None` if it returned a value (asyncio's
    /// `exception()`): for a child that returned `Err(e)`, the same `e`
    /// as in the group's [`GroupError`].
    ///
    /// # Errors
    ///
    /// As [`outcome`](Self::outcome).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::new();
    /// let mut t = group.spawn(async { Err::<(), _>(String::from("no")) }).unwrap();
    /// let err = group.join().await.unwrap_err();
    /// let own = t.exception().unwrap().unwrap().error().unwrap();
    /// let listed = err.errors().next().unwrap();
    /// assert!(std::ptr::eq(own, listed)); // one error, two views
    /// # });
    /// ```
    pub fn exception(&mut self) -> Result<Option<&GroupTaskError<E>>, InvalidState> {
        Ok(self.outcome()?.as_ref().err())
    }

    /// See [`Task::add_done_callback`].
    ///
    /// # Panics
    ///
    /// Off the child's loop thread.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use std::{cell::Cell, rc::Rc};
    /// let done = Rc::new(Cell::new(false));
    /// let group = anyloop::TaskGroup::<()>::new();
    /// let t = group.spawn(async { Ok(()) }).unwrap();
    /// let d = done.clone();
    /// t.add_done_callback(move |_| d.set(true));
    /// group.join().await.unwrap();
    /// anyloop::yield_now().await;
    /// assert!(done.get());
    /// # });
    /// ```
    #[track_caller]
    pub fn add_done_callback(&self, f: impl FnOnce(&TaskRef) + 'static) -> DoneCallback {
        self.task.add_done_callback(f)
    }

    /// See [`Task::remove_done_callback`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::<()>::new();
    /// let t = group.spawn(async { Ok(()) }).unwrap();
    /// let cb = t.add_done_callback(|_| unreachable!());
    /// assert!(t.remove_done_callback(cb));
    /// group.join().await.unwrap();
    /// # });
    /// ```
    pub fn remove_done_callback(&self, cb: DoneCallback) -> bool {
        self.task.remove_done_callback(cb)
    }
}

impl<T, E> Future for GroupTask<T, E> {
    type Output = Result<T, GroupTaskError<E>>;

    /// # Panics
    ///
    /// If polled again after it returned the outcome, as a [`Task`].
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Some(done) = this.done.take() {
            return Poll::Ready(*done);
        }
        Pin::new(&mut this.task).poll(cx).map(flatten)
    }
}

/// The task's output (its body's `Result`, or why it has none) as the
/// child's own outcome.
fn flatten<T, E>(out: Result<Result<T, Arc<E>>, TaskError>) -> Result<T, GroupTaskError<E>> {
    match out {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(GroupTaskError {
            repr: Repr::Failed(e),
        }),
        Err(e) => Err(GroupTaskError {
            repr: Repr::Task(e),
        }),
    }
}

impl<T, E> fmt::Debug for GroupTask<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupTask")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("state", &self.state())
            .finish()
    }
}

/// Why a [`TaskGroup`] child produced no value, as its own [`GroupTask`]
/// reports it: it returned `Err(e)` ([`is_failed`](Self::is_failed),
/// [`error`](Self::error)), panicked, or was cancelled (for instance
/// because a sibling failed).
///
/// The `e` is shared, not copied: the group's [`GroupError`] lists the
/// same value (asyncio's task and `ExceptionGroup` hold one exception
/// object). It is kept in an [`Arc`]: see [`TaskGroup`]'s "Errors"
/// section for why. `Clone` for any `E` (a clone shares the `Arc`).
///
/// # Examples
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
/// let bad = group.spawn(async { Err::<(), _>(std::io::Error::other("disk full")) }).unwrap();
/// let err = group.join().await.unwrap_err();
/// let own = bad.await.unwrap_err();
/// assert_eq!(own.error().unwrap().to_string(), "disk full");
/// assert_eq!(own.to_string(), "task failed: disk full");
/// assert!(std::ptr::eq(own.error().unwrap(), err.errors().next().unwrap()));
/// assert!(slow.await.unwrap_err().is_cancelled());
/// # });
/// ```
pub struct GroupTaskError<E> {
    repr: Repr<E>,
}

enum Repr<E> {
    /// The child returned `Err`; the group's `GroupError` holds it too.
    Failed(Arc<E>),
    /// Cancelled or panicked.
    Task(TaskError),
}

impl<E> GroupTaskError<E> {
    /// The child returned `Err` (see [`error`](Self::error)).
    ///
    /// # Examples
    ///
    /// See [`GroupTaskError`].
    pub fn is_failed(&self) -> bool {
        matches!(self.repr, Repr::Failed(_))
    }

    /// The child was cancelled.
    ///
    /// # Examples
    ///
    /// See [`GroupTaskError`].
    pub fn is_cancelled(&self) -> bool {
        matches!(&self.repr, Repr::Task(e) if e.is_cancelled())
    }

    /// The child panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::<()>::new();
    /// let t = group.spawn(async { panic!("oops"); #[allow(unreachable_code)] Ok(()) }).unwrap();
    /// assert!(group.join().await.unwrap_err().failures()[0].is_panic());
    /// let own = t.await.unwrap_err();
    /// assert!(own.is_panic());
    /// assert_eq!(own.panic_message(), Some("oops"));
    /// # });
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(&self.repr, Repr::Task(e) if e.is_panic())
    }

    /// The child's `Err` value: the one the group's [`GroupError`] lists
    /// (the same object, not a copy). `None` if it panicked or was
    /// cancelled.
    ///
    /// # Examples
    ///
    /// See [`GroupTaskError`].
    pub fn error(&self) -> Option<&E> {
        match &self.repr {
            Repr::Failed(e) => Some(&**e),
            Repr::Task(_) => None,
        }
    }

    /// The child's `Err` value, shared with the group's [`GroupError`].
    /// [`Arc::try_unwrap`] / [`Arc::unwrap_or_clone`] give `E` by value
    /// once the group's error is dropped.
    ///
    /// # Errors
    ///
    /// `Err(TaskError)` if the child panicked or was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use std::sync::Arc;
    /// let group = anyloop::TaskGroup::new();
    /// let t = group.spawn(async { Err::<(), _>(String::from("x")) }).unwrap();
    /// drop(group.join().await); // the group's view of the error is gone
    /// let e = t.await.unwrap_err().into_error().unwrap();
    /// assert_eq!(Arc::try_unwrap(e).unwrap(), "x");
    /// # });
    /// ```
    pub fn into_error(self) -> Result<Arc<E>, TaskError> {
        match self.repr {
            Repr::Failed(e) => Ok(e),
            Repr::Task(e) => Err(e),
        }
    }

    /// The cancellation or panic, as a [`TaskError`]; `None` if the child
    /// returned `Err`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::<()>::new();
    /// let t = group.spawn(std::future::pending::<Result<(), ()>>()).unwrap();
    /// t.cancel_with("enough");
    /// group.join().await.unwrap();
    /// let own = t.await.unwrap_err();
    /// assert_eq!(own.task_error().unwrap().cancel_message(), Some("enough"));
    /// # });
    /// ```
    pub fn task_error(&self) -> Option<&TaskError> {
        match &self.repr {
            Repr::Task(e) => Some(e),
            Repr::Failed(_) => None,
        }
    }

    /// See [`TaskError::cancel_message`].
    ///
    /// # Examples
    ///
    /// See [`task_error`](Self::task_error).
    pub fn cancel_message(&self) -> Option<&str> {
        self.task_error().and_then(TaskError::cancel_message)
    }

    /// See [`TaskError::panic_message`].
    ///
    /// # Examples
    ///
    /// See [`is_panic`](Self::is_panic).
    pub fn panic_message(&self) -> Option<&str> {
        self.task_error().and_then(TaskError::panic_message)
    }

    /// The panic payload, to `std::panic::resume_unwind` it; `Err(self)`
    /// otherwise. See [`TaskError::try_into_panic`].
    ///
    /// # Errors
    ///
    /// `Err(self)` if the child did not panic.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::new();
    /// let t = group.spawn(async { Err::<(), _>(1) }).unwrap();
    /// assert!(group.join().await.is_err());
    /// assert!(t.await.unwrap_err().try_into_panic().is_err());
    /// # });
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, Self> {
        match self.repr {
            Repr::Task(e) => e.try_into_panic().map_err(|e| GroupTaskError {
                repr: Repr::Task(e),
            }),
            Repr::Failed(_) => Err(self),
        }
    }
}

/// A clone shares the child's error (an `Arc` clone; `E` need not be
/// `Clone`); a panic is cloned as its message, as [`TaskError`]'s.
impl<E> Clone for GroupTaskError<E> {
    fn clone(&self) -> Self {
        GroupTaskError {
            repr: match &self.repr {
                Repr::Failed(e) => Repr::Failed(e.clone()),
                Repr::Task(e) => Repr::Task(e.clone()),
            },
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for GroupTaskError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
            Repr::Task(e) => fmt::Debug::fmt(e, f),
        }
    }
}

impl<E: fmt::Display> fmt::Display for GroupTaskError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Failed(e) => write!(f, "task failed: {e}"),
            Repr::Task(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for GroupTaskError<E> {}
