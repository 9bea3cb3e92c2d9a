//! Catchable cancellation: asyncio's `try: await x; except CancelledError:`.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::task::{repend_running, CatchPoint, TaskError};

/// Awaits `fut` so that a cancel request for the running task, arriving
/// while `fut` is pending, comes back here as `Err(Cancelled)` instead of
/// dropping the whole task: asyncio's `try: await fut` /
/// `except CancelledError:`.
///
/// When the request arrives, `fut` is dropped (its destructors run) and
/// the body gets `Err(`[`Cancelled`]`)`. The body may then await cleanup,
/// return a value (the task then finishes normally, as in asyncio), or end
/// cancelled with [`Cancelled::propagate`] (asyncio's bare `raise`). Each
/// request is delivered once, to the first catch point that sees it; a
/// request that arrives while no catch point is pending drops the task, as
/// usual (see [the two styles](crate::tasks#cancellation-two-styles)).
///
/// If `fut` finishes in the poll in which the request is seen, its output
/// wins and the request stays pending for the next await (asyncio delivers
/// `CancelledError` at the next suspension). Outside a task (a foreign
/// executor), `catch_cancel` only awaits `fut`.
///
/// Tasks that never use `catch_cancel` pay nothing for it: the check
/// happens on the cancel path only.
///
/// # Examples
///
/// Async cleanup after a cancel, then end cancelled (asyncio's
/// `except CancelledError: await flush(); raise`):
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// let flushed = Rc::new(Cell::new(false));
/// let f = flushed.clone();
/// let task = anyloop::spawn(async move {
///     let res = anyloop::catch_cancel(anyloop::sleep(Duration::from_secs(3600))).await;
///     if let Err(cancelled) = res {
///         anyloop::sleep(Duration::from_millis(5)).await; // async cleanup
///         f.set(true);
///         cancelled.propagate(); // `raise`
///     }
/// });
/// anyloop::yield_now().await;
/// task.cancel();
/// assert!(task.await.unwrap_err().is_cancelled());
/// assert!(flushed.get());
/// # });
/// ```
///
/// Swallow the cancel and return a value:
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let task = anyloop::spawn(async {
///     match anyloop::catch_cancel(std::future::pending::<u32>()).await {
///         Ok(v) => v,
///         Err(_) => 0, // cancelled: return a default instead
///     }
/// });
/// anyloop::yield_now().await;
/// task.cancel();
/// assert_eq!(task.await.unwrap(), 0);
/// # });
/// ```
#[doc(alias = "CancelledError")]
#[doc(alias = "except CancelledError")]
pub fn catch_cancel<F: IntoFuture>(fut: F) -> CatchCancel<F::IntoFuture> {
    CatchCancel {
        fut: Some(fut.into_future()),
        point: None,
    }
}

pin_project! {
    /// Future of [`catch_cancel`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let c: anyloop::tasks::CatchCancel<_> = anyloop::catch_cancel(async { 1 });
    /// assert_eq!(c.await, Ok(1));
    /// # });
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct CatchCancel<F> {
        #[pin]
        fut: Option<F>,
        // Armed while `fut` is pending inside a task.
        point: Option<CatchPoint>,
    }
}

impl<F: Future> Future for CatchCancel<F> {
    type Output = Result<F::Output, Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let Some(fut) = this.fut.as_mut().as_pin_mut() else {
            panic!("anyloop: a CatchCancel was polled after it completed")
        };
        if let Poll::Ready(v) = fut.poll(cx) {
            this.fut.set(None);
            *this.point = None;
            return Poll::Ready(Ok(v));
        }
        // Pending: armed in the running task (again, if it moved to
        // another task since the last poll).
        match this.point.as_ref() {
            Some(p) if p.is_running() => p.update(cx.waker()),
            _ => *this.point = CatchPoint::arm(cx.waker()),
        }
        let msg = match this.point.as_ref().and_then(CatchPoint::take_request) {
            Some(msg) => msg,
            None => return Poll::Pending,
        };
        *this.point = None;
        // Rust's cancellation of the inner future: its destructors run now.
        this.fut.set(None);
        Poll::Ready(Err(Cancelled { msg }))
    }
}

impl<F> fmt::Debug for CatchCancel<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CatchCancel")
            .field("finished", &self.fut.is_none())
            .field("armed", &self.point.is_some())
            .finish()
    }
}

/// A cancel request delivered to a [`catch_cancel`] point: asyncio's
/// `CancelledError`, caught.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let task = anyloop::spawn(async {
///     let err = anyloop::catch_cancel(std::future::pending::<()>()).await.unwrap_err();
///     err.message().map(String::from)
/// });
/// anyloop::yield_now().await;
/// task.cancel_with("closing");
/// assert_eq!(task.await.unwrap().as_deref(), Some("closing"));
/// # });
/// ```
#[doc(alias = "CancelledError")]
#[derive(Clone, PartialEq, Eq)]
pub struct Cancelled {
    msg: Option<String>,
}

impl Cancelled {
    /// The message given to [`Task::cancel_with`](crate::Task::cancel_with),
    /// if any (asyncio's `CancelledError.args`).
    pub fn message(&self) -> Option<&str> {
        self.msg.as_deref()
    }

    /// Re-raises the cancellation in the running task (asyncio's bare
    /// `raise` in `except CancelledError`): the task ends cancelled when
    /// its future returns or at its next await, whichever comes first
    /// (a later catch point would catch it again). The request count
    /// ([`Task::cancelling`](crate::Task::cancelling)) is unchanged.
    ///
    /// # Examples
    ///
    /// See [`catch_cancel`].
    #[doc(alias = "raise")]
    pub fn propagate(self) {
        repend_running(None);
    }
}

impl From<Cancelled> for TaskError {
    fn from(c: Cancelled) -> Self {
        TaskError::cancelled(c.msg)
    }
}

impl fmt::Debug for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Cancelled").field(&self.msg).finish()
    }
}

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.msg {
            None => f.write_str("cancelled"),
            Some(m) => write!(f, "cancelled: {m}"),
        }
    }
}

impl std::error::Error for Cancelled {}
