//! The group's errors: [`GroupError`] (every [`ChildFailure`]) and
//! [`GroupClosed`].

use std::fmt;
use std::sync::Arc;

use super::{Closed, Outcome};
use crate::task::TaskId;

#[cfg(doc)]
use super::{GroupTask, TaskGroup};

/// Spawning into a [`TaskGroup`] that no longer accepts children (asyncio's
/// `RuntimeError: TaskGroup ... is finished / shutting down`).
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let group = anyloop::TaskGroup::<()>::new();
/// let handle = group.handle();
/// group.join().await.unwrap();
/// let err = handle.spawn(async { Ok(()) }).unwrap_err();
/// assert!(err.is_finished());
/// # });
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct GroupClosed {
    pub(super) reason: Closed,
}

impl GroupClosed {
    /// The group was joined to the end.
    ///
    /// # Examples
    ///
    /// See [`GroupClosed`].
    pub fn is_finished(&self) -> bool {
        self.reason == Closed::Finished
    }

    /// The group is cancelling its children (a child failed, or
    /// [`TaskGroup::cancel`]), or it was dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::<()>::new();
    /// group.cancel();
    /// assert!(group.spawn(async { Ok(()) }).unwrap_err().is_shutting_down());
    /// # });
    /// ```
    pub fn is_shutting_down(&self) -> bool {
        self.reason != Closed::Finished
    }
}

impl fmt::Debug for GroupClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupClosed")
            .field("reason", &self.reason)
            .finish()
    }
}

impl fmt::Display for GroupClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            Closed::Finished => f.write_str("the TaskGroup is finished"),
            Closed::ShuttingDown => f.write_str("the TaskGroup is shutting down"),
            Closed::Dropped => f.write_str("the TaskGroup was dropped"),
        }
    }
}

impl std::error::Error for GroupClosed {}

/// Every failure of a [`TaskGroup`]'s children: asyncio's
/// `ExceptionGroup` raised by the `async with` block.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use std::time::Duration;
/// struct PanicOnCancel;
/// impl Drop for PanicOnCancel {
///     fn drop(&mut self) {
///         panic!("cleanup failed");
///     }
/// }
/// let group = anyloop::TaskGroup::new();
/// group.spawn(async {
///     let _cleanup = PanicOnCancel;
///     anyloop::sleep(Duration::from_secs(60)).await;
///     Ok(())
/// }).unwrap();
/// group.spawn(async { Err::<(), _>("a") }).unwrap();
/// let err = group.join().await.unwrap_err();
/// // The first failure, then the sibling that failed while being cancelled.
/// assert_eq!(err.len(), 2);
/// assert_eq!(err.failures()[0].error(), Some(&"a"));
/// assert!(err.failures()[1].is_panic());
/// # });
/// ```
#[doc(alias = "ExceptionGroup")]
pub struct GroupError<E> {
    pub(super) failures: Vec<ChildFailure<E>>,
}

impl<E> GroupError<E> {
    /// Every failure, in the order they happened.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::new();
    /// group.spawn(async { Err::<(), _>(7) }).unwrap();
    /// let err = group.join().await.unwrap_err();
    /// assert_eq!(err.failures()[0].error(), Some(&7));
    /// # });
    /// ```
    pub fn failures(&self) -> &[ChildFailure<E>] {
        &self.failures
    }

    /// The failures, by value.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::new();
    /// group.spawn(async { Err::<(), _>(String::from("x")) }).unwrap();
    /// let err = group.join().await.unwrap_err();
    /// let first = err.into_failures().remove(0);
    /// // The child's handle was dropped: the group holds the only reference.
    /// let e = std::sync::Arc::try_unwrap(first.into_error().unwrap()).unwrap();
    /// assert_eq!(e, "x");
    /// # });
    /// ```
    pub fn into_failures(self) -> Vec<ChildFailure<E>> {
        self.failures
    }

    /// The `Err` values of the children that returned one (panics left out).
    ///
    /// # Examples
    ///
    /// See [`GroupError`].
    pub fn errors(&self) -> impl Iterator<Item = &E> {
        self.failures.iter().filter_map(ChildFailure::error)
    }

    /// How many children failed.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::new();
    /// group.spawn(async { Err::<(), _>(()) }).unwrap();
    /// assert_eq!(group.join().await.unwrap_err().len(), 1);
    /// # });
    /// ```
    #[allow(clippy::len_without_is_empty)] // never empty
    pub fn len(&self) -> usize {
        self.failures.len()
    }
}

impl<E: fmt::Debug> fmt::Debug for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupError")
            .field("failures", &self.failures)
            .finish()
    }
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.failures.len();
        write!(
            f,
            "{n} task{} of a TaskGroup failed",
            if n == 1 { "" } else { "s" }
        )?;
        for (i, fail) in self.failures.iter().enumerate() {
            write!(f, "{} {fail}", if i == 0 { ":" } else { ";" })?;
        }
        Ok(())
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for GroupError<E> {}

/// One failed child of a [`TaskGroup`]: its id, name, and its error or
/// panic message.
///
/// # Examples
///
/// See [`GroupError::failures`].
pub struct ChildFailure<E> {
    pub(super) id: TaskId,
    pub(super) name: Option<String>,
    pub(super) outcome: Outcome<E>,
}

impl<E> ChildFailure<E> {
    /// The child's task id.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::new();
    /// let t = group.spawn(async { Err::<(), _>(()) }).unwrap();
    /// let err = group.join().await.unwrap_err();
    /// assert_eq!(err.failures()[0].task_id(), t.id());
    /// # });
    /// ```
    pub fn task_id(&self) -> TaskId {
        self.id
    }

    /// The child's name, if it had one.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use anyloop::task::Builder;
    /// let group = anyloop::TaskGroup::new();
    /// group.spawn_with(Builder::new().name("db"), async { Err::<(), _>(()) }).unwrap();
    /// let err = group.join().await.unwrap_err();
    /// assert_eq!(err.failures()[0].name(), Some("db"));
    /// # });
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The child's `Err` value; `None` if it panicked.
    ///
    /// # Examples
    ///
    /// See [`GroupError::failures`].
    pub fn error(&self) -> Option<&E> {
        match &self.outcome {
            Outcome::Error(e) => Some(&**e),
            Outcome::Panic(_) => None,
        }
    }

    /// The child's `Err` value, shared with the child's own
    /// [`GroupTask`] handle (see [`TaskGroup`]'s "Errors" section);
    /// `None` if it panicked. Once that handle is gone (dropped, or its
    /// error dropped), [`Arc::try_unwrap`] / [`Arc::unwrap_or_clone`]
    /// give `E` back by value.
    ///
    /// # Examples
    ///
    /// See [`GroupError::into_failures`].
    pub fn into_error(self) -> Option<Arc<E>> {
        match self.outcome {
            Outcome::Error(e) => Some(e),
            Outcome::Panic(_) => None,
        }
    }

    /// Whether the child panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let group = anyloop::TaskGroup::<()>::new();
    /// group.spawn(async { panic!("oops"); #[allow(unreachable_code)] Ok(()) }).unwrap();
    /// let err = group.join().await.unwrap_err();
    /// assert!(err.failures()[0].is_panic());
    /// assert_eq!(err.failures()[0].panic_message(), Some("oops"));
    /// # });
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.outcome, Outcome::Panic(_))
    }

    /// The panic message (`"<non-string panic payload>"` when the payload
    /// is not a string); `None` if the child returned an error.
    ///
    /// # Examples
    ///
    /// See [`is_panic`](Self::is_panic).
    pub fn panic_message(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Panic(m) => Some(m),
            Outcome::Error(_) => None,
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for ChildFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ChildFailure");
        d.field("id", &self.id).field("name", &self.name);
        match &self.outcome {
            Outcome::Error(e) => d.field("error", e),
            Outcome::Panic(m) => d.field("panic", m),
        };
        d.finish()
    }
}

impl<E: fmt::Display> fmt::Display for ChildFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "task '{n}' ({})", self.id)?,
            None => write!(f, "task {}", self.id)?,
        }
        match &self.outcome {
            Outcome::Error(e) => write!(f, " failed: {e}"),
            Outcome::Panic(m) => write!(f, " panicked: {m}"),
        }
    }
}
