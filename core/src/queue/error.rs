use std::fmt;

/// `put_nowait` on a full queue: asyncio's `QueueFull`. Gives the item
/// back.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// use anyloop::queue::{Queue, QueueFull, TryPutError};
/// let q = Queue::new(1);
/// q.put_nowait("a").unwrap();
/// match q.put_nowait("b") {
///     Err(TryPutError::Full(QueueFull(item))) => assert_eq!(item, "b"),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct QueueFull<T>(pub T);

impl<T> QueueFull<T> {
    /// The item that did not fit.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// use anyloop::queue::{Queue, TryPutError};
    /// let q = Queue::new(1);
    /// q.put_nowait(1).unwrap();
    /// let Err(TryPutError::Full(full)) = q.put_nowait(2) else { panic!() };
    /// assert_eq!(full.into_inner(), 2);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for QueueFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueFull(..)")
    }
}

impl<T> fmt::Display for QueueFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is full")
    }
}

impl<T> std::error::Error for QueueFull<T> {}

/// `get_nowait` on an empty queue: asyncio's `QueueEmpty`.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// use anyloop::queue::{Queue, QueueEmpty, TryGetError};
/// let q = Queue::<u8>::new(0);
/// assert!(matches!(q.get_nowait(), Err(TryGetError::Empty(QueueEmpty))));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueEmpty;

impl fmt::Display for QueueEmpty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is empty")
    }
}

impl std::error::Error for QueueEmpty {}

/// The queue was shut down: asyncio's `QueueShutDown`. From a put, it
/// carries the item back (`QueueShutDown<T>`); from a get, nothing
/// (`QueueShutDown<()>`).
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use anyloop::queue::{Queue, QueueShutDown};
/// let q = Queue::new(0);
/// q.shutdown(false);
/// assert_eq!(q.put(5).await, Err(QueueShutDown(5)));
/// assert_eq!(q.get().await, Err(QueueShutDown(())));
/// # });
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct QueueShutDown<T = ()>(pub T);

impl<T> QueueShutDown<T> {
    /// The item that was not put.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let q = anyloop::queue::Queue::new(0);
    /// q.shutdown(false);
    /// assert_eq!(q.put('x').await.unwrap_err().into_inner(), 'x');
    /// # });
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueShutDown(..)")
    }
}

impl<T> fmt::Display for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is shut down")
    }
}

impl<T> std::error::Error for QueueShutDown<T> {}

/// Why [`put_nowait`](super::GenericQueue::put_nowait) failed; either way
/// the item comes back.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// let q = anyloop::queue::Queue::new(1);
/// q.put_nowait(1).unwrap();
/// let err = q.put_nowait(2).unwrap_err();
/// assert!(err.is_full());
/// assert_eq!(err.into_inner(), 2);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TryPutError<T> {
    /// The queue is full.
    Full(QueueFull<T>),
    /// The queue was shut down.
    ShutDown(QueueShutDown<T>),
}

impl<T> TryPutError<T> {
    /// The item that was not put.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let q = anyloop::queue::Queue::new(0);
    /// q.shutdown(true);
    /// assert_eq!(q.put_nowait(3).unwrap_err().into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TryPutError::Full(e) => e.0,
            TryPutError::ShutDown(e) => e.0,
        }
    }

    /// The queue was full.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let q = anyloop::queue::Queue::new(1);
    /// q.put_nowait(()).unwrap();
    /// assert!(q.put_nowait(()).unwrap_err().is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, TryPutError::Full(_))
    }

    /// The queue was shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let q = anyloop::queue::Queue::new(0);
    /// q.shutdown(false);
    /// assert!(q.put_nowait(()).unwrap_err().is_shutdown());
    /// ```
    pub fn is_shutdown(&self) -> bool {
        matches!(self, TryPutError::ShutDown(_))
    }
}

impl<T> From<QueueFull<T>> for TryPutError<T> {
    fn from(e: QueueFull<T>) -> Self {
        TryPutError::Full(e)
    }
}

impl<T> From<QueueShutDown<T>> for TryPutError<T> {
    fn from(e: QueueShutDown<T>) -> Self {
        TryPutError::ShutDown(e)
    }
}

impl<T> fmt::Debug for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPutError::Full(e) => f.debug_tuple("Full").field(e).finish(),
            TryPutError::ShutDown(e) => f.debug_tuple("ShutDown").field(e).finish(),
        }
    }
}

impl<T> fmt::Display for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPutError::Full(e) => e.fmt(f),
            TryPutError::ShutDown(e) => e.fmt(f),
        }
    }
}

impl<T> std::error::Error for TryPutError<T> {}

/// Why [`get_nowait`](super::GenericQueue::get_nowait) failed.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// let q = anyloop::queue::Queue::<u8>::new(0);
/// assert!(q.get_nowait().unwrap_err().is_empty());
/// q.shutdown(false);
/// assert!(q.get_nowait().unwrap_err().is_shutdown());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryGetError {
    /// The queue is empty.
    Empty(QueueEmpty),
    /// The queue is empty and shut down.
    ShutDown(QueueShutDown),
}

impl TryGetError {
    /// The queue was empty (and not shut down).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let q = anyloop::queue::Queue::<u8>::new(0);
    /// assert!(q.get_nowait().unwrap_err().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        matches!(self, TryGetError::Empty(_))
    }

    /// The queue was empty and shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let q = anyloop::queue::Queue::<u8>::new(0);
    /// q.shutdown(false);
    /// assert!(q.get_nowait().unwrap_err().is_shutdown());
    /// ```
    pub fn is_shutdown(&self) -> bool {
        matches!(self, TryGetError::ShutDown(_))
    }
}

impl From<QueueEmpty> for TryGetError {
    fn from(e: QueueEmpty) -> Self {
        TryGetError::Empty(e)
    }
}

impl From<QueueShutDown> for TryGetError {
    fn from(e: QueueShutDown) -> Self {
        TryGetError::ShutDown(e)
    }
}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryGetError::Empty(e) => e.fmt(f),
            TryGetError::ShutDown(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TryGetError {}

/// [`task_done`](super::GenericQueue::task_done) was called more times
/// than items were put (asyncio's `ValueError`).
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// let q = anyloop::queue::Queue::<u8>::new(0);
/// let err = q.task_done().unwrap_err();
/// assert_eq!(err.to_string(), "task_done() called too many times");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError(pub(crate) ());

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called too many times")
    }
}

impl std::error::Error for TaskDoneError {}
