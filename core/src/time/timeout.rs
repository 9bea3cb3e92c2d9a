use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{sleep_until, Instant, Sleep};

/// Runs `fut` with a time limit: asyncio's `wait_for(aw, timeout)` and
/// `async with asyncio.timeout(delay)`. When the limit passes first, `fut`
/// is dropped (cancelled) and the result is `Err(Elapsed)`.
///
/// # Examples
///
/// ```
/// # anyloop_core::doctest_run(async {
/// use std::time::Duration;
/// let slow = anyloop_core::sleep(Duration::from_secs(10));
/// let res = anyloop_core::timeout(Duration::from_millis(10), slow).await;
/// assert!(res.is_err());
/// let fast = async { 5 };
/// assert_eq!(anyloop_core::timeout(Duration::from_secs(1), fast).await, Ok(5));
/// # });
/// ```
#[doc(alias = "wait_for")]
pub fn timeout<F: Future>(dur: Duration, fut: F) -> Timeout<F> {
    timeout_at(Instant::now() + dur, fut)
}

/// Like [`timeout`] with an absolute deadline: asyncio's `timeout_at(when)`.
#[doc(alias = "wait_for")]
pub fn timeout_at<F: Future>(deadline: Instant, fut: F) -> Timeout<F> {
    Timeout {
        fut,
        sleep: sleep_until(deadline),
    }
}

/// Future of [`timeout`]: a deadline scope that can be read and moved while
/// it runs ([`deadline`](Self::deadline), [`reschedule`](Self::reschedule)),
/// like asyncio's `Timeout.when()` / `reschedule()`.
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Timeout<F> {
    fut: F,
    sleep: Sleep,
}

impl<F> Timeout<F> {
    /// The current deadline (asyncio's `when()`).
    #[doc(alias = "when")]
    pub fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }

    /// Moves the deadline (asyncio's `reschedule()`).
    pub fn reschedule(self: Pin<&mut Self>, deadline: Instant) {
        // SAFETY: `sleep` is `Unpin`; `fut` is not touched.
        unsafe { self.get_unchecked_mut() }.sleep.reset(deadline);
    }

    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.fut
    }

    /// Unwraps the future.
    pub fn into_inner(self) -> F {
        self.fut
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `fut` is structurally pinned (never moved out while pinned);
        // `sleep` is `Unpin` and accessed by `&mut` only.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above.
        let fut = unsafe { Pin::new_unchecked(&mut this.fut) };
        if let Poll::Ready(v) = fut.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match Pin::new(&mut this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed {
                deadline: this.sleep.deadline(),
            })),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The error of a [`timeout`] whose deadline passed: asyncio's `TimeoutError`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Elapsed {
    deadline: Instant,
}

impl Elapsed {
    /// The deadline that passed.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

impl fmt::Debug for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Elapsed").finish_non_exhaustive()
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(e: Elapsed) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}
