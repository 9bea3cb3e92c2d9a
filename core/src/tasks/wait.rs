//! `wait` and `as_completed`.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::ready::ReadySet;
use crate::task::{Task, TaskError};
use crate::time::{sleep_until, Elapsed, Instant, Sleep};

/// When [`wait`] returns: asyncio's `FIRST_COMPLETED`, `FIRST_EXCEPTION`,
/// `ALL_COMPLETED`.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// use anyloop::ReturnWhen;
/// assert_ne!(ReturnWhen::FirstCompleted, ReturnWhen::AllCompleted);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReturnWhen {
    /// As soon as any task finishes (or is cancelled).
    #[doc(alias = "FIRST_COMPLETED")]
    FirstCompleted,
    /// As soon as any task fails: it panicked, or its output matches the
    /// [`Wait::fail_if`] predicate (say, `Result::is_err`). A cancelled
    /// task is not a failure (as in asyncio). Same as `AllCompleted` if
    /// none fails.
    #[doc(alias = "FIRST_EXCEPTION")]
    FirstException,
    /// When every task has finished.
    #[doc(alias = "ALL_COMPLETED")]
    AllCompleted,
}

/// Waits for the tasks until `when` says so, or until the optional
/// [`timeout`](Wait::timeout), and returns `(done, pending)`: asyncio's
/// `done, pending = await asyncio.wait(tasks, return_when=...)`.
///
/// Nothing is cancelled: pending tasks keep running (cancel them, await
/// them again, or drop the handles to detach them). Both lists keep the
/// input order. Awaiting a task from `done` returns its output at once.
/// A timeout is not an error: it returns the split at that moment.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use anyloop::{spawn, sleep, wait, ReturnWhen};
/// use std::time::Duration;
/// let tasks = vec![
///     spawn(async { sleep(Duration::from_millis(30)).await; Ok::<_, String>(1) }),
///     spawn(async { sleep(Duration::from_millis(10)).await; Err("bad".to_string()) }),
///     spawn(async { sleep(Duration::from_millis(20)).await; Ok(3) }),
/// ];
/// let (done, pending) = wait(tasks, ReturnWhen::FirstException).fail_if(Result::is_err).await;
/// assert_eq!((done.len(), pending.len()), (1, 2));
/// for t in done {
///     assert_eq!(t.await.unwrap(), Err("bad".to_string()));
/// }
/// for t in pending {
///     t.cancel();
/// }
/// # });
/// ```
pub fn wait<T, I>(tasks: I, when: ReturnWhen) -> Wait<T>
where
    I: IntoIterator<Item = Task<T>>,
{
    let tasks: Vec<Task<T>> = tasks.into_iter().collect();
    Wait {
        done: vec![false; tasks.len()],
        n_done: 0,
        failed: false,
        set: ReadySet::new(tasks.len()),
        tasks,
        when,
        timer: None,
        fail_if: |_| false,
    }
}

/// Future of [`wait`]; configure it before awaiting.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use anyloop::{spawn, wait, ReturnWhen};
/// let w: anyloop::tasks::Wait<u8> = wait([spawn(async { 1 })], ReturnWhen::AllCompleted);
/// let (done, pending) = w.await;
/// assert_eq!((done.len(), pending.len()), (1, 0));
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Wait<T> {
    tasks: Vec<Task<T>>,
    done: Vec<bool>,
    n_done: usize,
    failed: bool,
    set: ReadySet,
    when: ReturnWhen,
    timer: Option<Sleep>,
    fail_if: fn(&T) -> bool,
}

impl<T> Wait<T> {
    /// Returns after `dur` at the latest (asyncio's `timeout=`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use anyloop::{spawn, sleep, wait, ReturnWhen};
    /// use std::time::Duration;
    /// let t = spawn(sleep(Duration::from_secs(60)));
    /// let (done, pending) = wait([t], ReturnWhen::AllCompleted)
    ///     .timeout(Duration::from_millis(10))
    ///     .await;
    /// assert!(done.is_empty());
    /// pending[0].cancel();
    /// # });
    /// ```
    pub fn timeout(self, dur: Duration) -> Self {
        self.deadline(Instant::now() + dur)
    }

    /// Returns at `deadline` at the latest.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use anyloop::{spawn, wait, ReturnWhen, time::Instant};
    /// use std::time::Duration;
    /// let t = spawn(async { 1 });
    /// let deadline = Instant::now() + Duration::from_secs(1);
    /// let (done, _) = wait([t], ReturnWhen::AllCompleted).deadline(deadline).await;
    /// assert_eq!(done.len(), 1);
    /// # });
    /// ```
    pub fn deadline(mut self, deadline: Instant) -> Self {
        self.timer = Some(sleep_until(deadline));
        self
    }

    /// Which outputs count as failures for [`ReturnWhen::FirstException`]
    /// (a panic always does). For tasks returning `Result`, pass
    /// `Result::is_err`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use anyloop::{spawn, wait, ReturnWhen};
    /// let tasks = [spawn(async { -1 }), spawn(std::future::pending())];
    /// let (done, pending) = wait(tasks, ReturnWhen::FirstException)
    ///     .fail_if(|v: &i32| *v < 0)
    ///     .await;
    /// assert_eq!((done.len(), pending.len()), (1, 1));
    /// pending[0].cancel();
    /// # });
    /// ```
    pub fn fail_if(mut self, pred: fn(&T) -> bool) -> Self {
        self.fail_if = pred;
        self
    }

    fn is_failure(&self, res: &Result<T, TaskError>) -> bool {
        match res {
            Ok(v) => (self.fail_if)(v),
            Err(e) => e.is_panic(),
        }
    }
}

impl<T> Unpin for Wait<T> {}

impl<T> Future for Wait<T> {
    type Output = (Vec<Task<T>>, Vec<Task<T>>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.set.register(cx);
        while let Some(i) = this.set.next() {
            if this.done[i] {
                continue;
            }
            if this.tasks[i]
                .poll_finished(&mut this.set.context(i))
                .is_ready()
            {
                this.done[i] = true;
                this.n_done += 1;
                if let Some(res) = this.tasks[i].finished_output() {
                    this.failed |= this.is_failure(res);
                }
            }
        }
        let (n_done, failed) = (this.n_done, this.failed);
        let ready = match this.when {
            ReturnWhen::FirstCompleted => n_done > 0,
            ReturnWhen::FirstException => failed,
            ReturnWhen::AllCompleted => false,
        } || n_done == this.tasks.len();
        let timed_out = !ready
            && this
                .timer
                .as_mut()
                .is_some_and(|t| Pin::new(t).poll(cx).is_ready());
        if !ready && !timed_out {
            return Poll::Pending;
        }
        let mut done = Vec::with_capacity(n_done);
        let mut pending = Vec::with_capacity(this.tasks.len() - n_done);
        for (t, d) in this.tasks.drain(..).zip(this.done.drain(..)) {
            if d {
                done.push(t);
            } else {
                pending.push(t);
            }
        }
        Poll::Ready((done, pending))
    }
}

impl<T> fmt::Debug for Wait<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("tasks", &self.tasks.len())
            .field("when", &self.when)
            .finish_non_exhaustive()
    }
}

/// Yields the outputs of the futures in the order they complete: asyncio's
/// `for coro in asyncio.as_completed(aws): result = await coro`.
///
/// The futures run concurrently inside the calling task while it awaits
/// [`next`](AsCompleted::next); pass [`spawn`](crate::spawn)ed tasks to
/// run them as tasks of their own (then they also progress between
/// `next` calls, and keep running if the iterator is dropped). Outputs of
/// futures that complete in the same loop iteration come in input order.
/// It is also a `futures_core::Stream`.
///
/// # Cancellation
///
/// Dropping it drops the futures still running; `Task`s are detached.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use std::time::Duration;
/// let delays = [30u64, 10, 20];
/// let mut it = anyloop::as_completed(delays.map(|ms| async move {
///     anyloop::sleep(Duration::from_millis(ms)).await;
///     ms
/// }));
/// let mut order = Vec::new();
/// while let Some(ms) = it.next().await {
///     order.push(ms);
/// }
/// assert_eq!(order, [10, 20, 30]);
/// # });
/// ```
pub fn as_completed<I>(iter: I) -> AsCompleted<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    let futs: Vec<_> = iter
        .into_iter()
        .map(|f| Some(Box::pin(f.into_future())))
        .collect();
    AsCompleted {
        left: futs.len(),
        set: ReadySet::new(futs.len()),
        futs,
        ready: VecDeque::new(),
    }
}

/// Iterator-like future source of [`as_completed`].
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let mut it: anyloop::tasks::AsCompleted<_> =
///     anyloop::as_completed([anyloop::spawn(async { 1 })]);
/// assert_eq!(it.next().await.map(Result::unwrap), Some(1));
/// # });
/// ```
#[must_use = "it does nothing unless its `next()` is awaited"]
pub struct AsCompleted<F: Future> {
    futs: Vec<Option<Pin<Box<F>>>>,
    /// Outputs come in wake order: the order the futures completed in,
    /// even if several complete before the iterator runs again.
    set: ReadySet,
    left: usize,
    ready: VecDeque<F::Output>,
}

impl<F: Future> AsCompleted<F> {
    /// Polls future `i` with its own waker; queues its output if ready.
    fn poll_one(&mut self, i: usize) {
        let Some(f) = self.futs.get_mut(i).and_then(Option::as_mut) else {
            return;
        };
        if let Poll::Ready(v) = f.as_mut().poll(&mut self.set.context(i)) {
            self.futs[i] = None;
            self.left -= 1;
            self.ready.push_back(v);
        }
    }

    /// How many outputs are still to come.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let mut it = anyloop::as_completed([1, 2].map(|i| async move { i }));
    /// assert_eq!(it.len(), 2);
    /// it.next().await;
    /// assert_eq!(it.len(), 1);
    /// # });
    /// ```
    pub fn len(&self) -> usize {
        self.left + self.ready.len()
    }

    /// Whether every output was yielded.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let it = anyloop::as_completed(Vec::<std::future::Ready<()>>::new());
    /// assert!(it.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next output in completion order, `None` when all were yielded.
    ///
    /// # Examples
    ///
    /// See [`as_completed`].
    #[allow(clippy::should_implement_trait)] // an async `next`, like `StreamExt::next`
    pub fn next(&mut self) -> Next<'_, F> {
        Next { it: self }
    }

    /// Stops waiting after `dur`: each later item is
    /// `Err(Elapsed)` once the deadline passed (asyncio's `timeout=`, which
    /// raises `TimeoutError` from the iteration), then the stream ends.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use std::time::Duration;
    /// let fast = anyloop::spawn(async {});
    /// let slow = anyloop::spawn(anyloop::sleep(Duration::from_secs(60)));
    /// let slow_ref = slow.task_ref();
    /// let mut it = anyloop::as_completed([fast, slow]).timeout(Duration::from_millis(10));
    /// assert!(it.next().await.unwrap().is_ok());
    /// assert!(it.next().await.unwrap().is_err()); // Elapsed
    /// assert!(it.next().await.is_none());
    /// slow_ref.cancel();
    /// # });
    /// ```
    pub fn timeout(self, dur: Duration) -> AsCompletedTimeout<F> {
        self.deadline(Instant::now() + dur)
    }

    /// Like [`timeout`](Self::timeout) with an absolute deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use anyloop::time::Instant;
    /// use std::time::Duration;
    /// let mut it = anyloop::as_completed([async { 1 }])
    ///     .deadline(Instant::now() + Duration::from_secs(1));
    /// assert_eq!(it.next().await, Some(Ok(1)));
    /// # });
    /// ```
    pub fn deadline(self, deadline: Instant) -> AsCompletedTimeout<F> {
        AsCompletedTimeout {
            inner: self,
            timer: sleep_until(deadline),
            expired: false,
        }
    }

    fn poll_next_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        if let Some(v) = self.ready.pop_front() {
            return Poll::Ready(Some(v));
        }
        if self.left == 0 {
            return Poll::Ready(None);
        }
        self.set.register(cx);
        while self.ready.is_empty() {
            match self.set.next() {
                Some(i) => self.poll_one(i),
                None => break,
            }
        }
        if self.left == 0 {
            self.futs = Vec::new();
        }
        match self.ready.pop_front() {
            Some(v) => Poll::Ready(Some(v)),
            None => Poll::Pending,
        }
    }
}

// Outputs are moved, never pinned; the futures are boxed.
impl<F: Future> Unpin for AsCompleted<F> {}

impl<F: Future> futures_lite::Stream for AsCompleted<F> {
    type Item = F::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        self.get_mut().poll_next_item(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

impl<F: Future> fmt::Debug for AsCompleted<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("left", &self.len())
            .finish()
    }
}

/// Future of [`AsCompleted::next`].
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let mut it = anyloop::as_completed([async { 'x' }]);
/// let next: anyloop::tasks::Next<'_, _> = it.next();
/// assert_eq!(next.await, Some('x'));
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Next<'a, F: Future> {
    it: &'a mut AsCompleted<F>,
}

impl<F: Future> Future for Next<'_, F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().it.poll_next_item(cx)
    }
}

impl<F: Future> fmt::Debug for Next<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Next").finish_non_exhaustive()
    }
}

/// [`as_completed`] with a deadline: see [`AsCompleted::timeout`].
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use std::time::Duration;
/// let mut it: anyloop::tasks::AsCompletedTimeout<_> =
///     anyloop::as_completed([async { 1 }]).timeout(Duration::from_secs(1));
/// assert_eq!(it.next().await, Some(Ok(1)));
/// assert_eq!(it.next().await, None);
/// # });
/// ```
#[must_use = "it does nothing unless its `next()` is awaited"]
pub struct AsCompletedTimeout<F: Future> {
    inner: AsCompleted<F>,
    timer: Sleep,
    expired: bool,
}

impl<F: Future> AsCompletedTimeout<F> {
    /// The next output in completion order, `Some(Err(Elapsed))` once the
    /// deadline passed, then `None`.
    ///
    /// # Examples
    ///
    /// See [`AsCompleted::timeout`].
    #[allow(clippy::should_implement_trait)] // an async `next`, like `StreamExt::next`
    pub fn next(&mut self) -> NextTimeout<'_, F> {
        NextTimeout { it: self }
    }

    /// How many outputs are still to come (if the deadline allows).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let it = anyloop::as_completed([async { 1 }]).timeout(std::time::Duration::from_secs(1));
    /// assert_eq!(it.len(), 1);
    /// # });
    /// ```
    pub fn len(&self) -> usize {
        if self.expired {
            0
        } else {
            self.inner.len()
        }
    }

    /// Whether nothing more will come.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let it = anyloop::as_completed([async { 1 }]).timeout(std::time::Duration::from_secs(1));
    /// assert!(!it.is_empty());
    /// # });
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn poll_next_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<F::Output, Elapsed>>> {
        if self.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(v) = self.inner.poll_next_item(cx) {
            return Poll::Ready(v.map(Ok));
        }
        match Pin::new(&mut self.timer).poll(cx) {
            Poll::Ready(()) => {
                self.expired = true;
                // Drop what still runs: Tasks are detached, futures cancelled.
                self.inner.futs = Vec::new();
                self.inner.left = 0;
                Poll::Ready(Some(Err(Elapsed::new(self.timer.deadline()))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F: Future> futures_lite::Stream for AsCompletedTimeout<F> {
    type Item = Result<F::Output, Elapsed>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_item(cx)
    }
}

impl<F: Future> fmt::Debug for AsCompletedTimeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompletedTimeout")
            .field("left", &self.len())
            .finish()
    }
}

/// Future of [`AsCompletedTimeout::next`].
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use std::time::Duration;
/// let mut it = anyloop::as_completed([async { 1 }]).timeout(Duration::from_secs(1));
/// let next: anyloop::tasks::NextTimeout<'_, _> = it.next();
/// assert_eq!(next.await, Some(Ok(1)));
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct NextTimeout<'a, F: Future> {
    it: &'a mut AsCompletedTimeout<F>,
}

impl<F: Future> Future for NextTimeout<'_, F> {
    type Output = Option<Result<F::Output, Elapsed>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().it.poll_next_item(cx)
    }
}

impl<F: Future> fmt::Debug for NextTimeout<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NextTimeout").finish_non_exhaustive()
    }
}
