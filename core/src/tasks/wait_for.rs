//! `wait_for`: a timeout on a [`Task`] that cancels it and waits for it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::task::{running_cancel_pending, Task, TaskError};
use crate::time::{sleep_until, Elapsed, Instant, Sleep};

/// Waits for `task` with a time limit: asyncio's `await
/// asyncio.wait_for(task, timeout)`.
///
/// If the task finishes first, its outcome comes back as
/// `Ok(Result<T, TaskError>)`. When the limit passes first, the task is
/// **cancelled, and `wait_for` waits until it has finished** (its
/// destructors ran, or its [`catch_cancel`](crate::catch_cancel) cleanup
/// did) before it returns `Err(Elapsed)`. A task that catches the cancel
/// and returns a value anyway gives `Ok(Ok(value))`, as in asyncio.
///
/// A zero or past limit behaves as in asyncio 3.12: a finished task gives
/// its outcome; an unfinished one is cancelled. For a plain future, use
/// [`timeout`](crate::timeout), which drops it on expiry (that is what
/// cancelling means for a future that is not a task).
///
/// # Cancellation
///
/// Dropping the `WaitFor` before it finished (e.g. when the awaiting task
/// is cancelled) cancels the task, as cancelling asyncio's `wait_for`
/// cancels the awaitable; it does not wait for the task's cleanup then.
/// A cancel request for the awaiting task that arrives in the same poll as
/// the deadline wins over the timeout (asyncio reports the
/// `CancelledError`).
///
/// # Examples
///
/// The asyncio docs' `wait_for` example (`eternity` sleeps an hour; the
/// wait gives up after a second):
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use std::time::Duration;
/// let eternity = anyloop::spawn(async {
///     anyloop::sleep(Duration::from_secs(3600)).await;
///     "yay!"
/// });
/// let probe = eternity.task_ref();
/// match anyloop::wait_for(eternity, Duration::from_secs(1)).await {
///     Ok(res) => println!("{}", res.unwrap()),
///     Err(_) => println!("timeout!"),
/// }
/// // The task was cancelled and has finished by the time wait_for returned.
/// assert!(probe.is_finished());
/// # });
/// ```
pub fn wait_for<T>(task: Task<T>, limit: Duration) -> WaitFor<T> {
    let deadline = Instant::try_now().map(|now| now + limit);
    WaitFor {
        task,
        sleep: deadline.map(sleep_until),
        limit,
        expired: None,
        done: false,
    }
}

/// Future of [`wait_for`].
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let t = anyloop::spawn(async { 1 });
/// anyloop::yield_now().await; // the task runs and finishes
/// let w: anyloop::tasks::WaitFor<i32> = anyloop::wait_for(t, std::time::Duration::ZERO);
/// assert_eq!(w.await.unwrap().unwrap(), 1); // a done task: its result, even at zero
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct WaitFor<T> {
    task: Task<T>,
    /// `None` until the first poll when created before a clock existed.
    sleep: Option<Sleep>,
    limit: Duration,
    /// The deadline that passed; the task was cancelled then.
    expired: Option<Instant>,
    done: bool,
}

impl<T> Future for WaitFor<T> {
    type Output = Result<Result<T, TaskError>, Elapsed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if this.done {
            panic!("anyloop: a WaitFor was polled after it completed");
        }
        if let Poll::Ready(res) = Pin::new(&mut this.task).poll(cx) {
            this.done = true;
            return Poll::Ready(match (this.expired, res) {
                // Cancelled by the timeout (or also by someone else).
                (Some(deadline), Err(e)) if e.is_cancelled() => Err(Elapsed::new(deadline)),
                (_, res) => Ok(res),
            });
        }
        if this.expired.is_some() {
            // Cancelled; waiting for the task to finish.
            return Poll::Pending;
        }
        let limit = this.limit;
        let sleep = this
            .sleep
            .get_or_insert_with(|| sleep_until(Instant::now() + limit));
        let due = !sleep.is_armed() && sleep.is_elapsed();
        if !(due || Pin::new(&mut *sleep).poll(cx).is_ready()) {
            return Poll::Pending;
        }
        if running_cancel_pending() {
            // The awaiting task is being cancelled as well: that wins.
            return Poll::Pending;
        }
        this.expired = Some(sleep.deadline());
        this.task.cancel();
        // The task's end wakes us: `cx` is registered with it above.
        Poll::Pending
    }
}

impl<T> Drop for WaitFor<T> {
    fn drop(&mut self) {
        if !self.done {
            self.task.cancel();
        }
    }
}

impl<T> fmt::Debug for WaitFor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitFor")
            .field("task", &self.task)
            .field("expired", &self.expired.is_some())
            .finish()
    }
}
