use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::shim::lock::Mutex;

use super::{sleep_until, Instant, Sleep};

/// Runs `fut` with a time limit: asyncio's `wait_for(aw, timeout)` and
/// `async with asyncio.timeout(delay)`. When the limit passes first, `fut`
/// is dropped (cancelled) and the result is `Err(Elapsed)`.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use std::time::Duration;
/// let slow = anyloop::sleep(Duration::from_secs(10));
/// let res = anyloop::timeout(Duration::from_millis(10), slow).await;
/// assert!(res.is_err());
/// let fast = async { 5 };
/// assert_eq!(anyloop::timeout(Duration::from_secs(1), fast).await, Ok(5));
/// # });
/// ```
#[doc(alias = "wait_for")]
#[track_caller]
pub fn timeout<F: Future>(dur: Duration, fut: F) -> Timeout<F> {
    timeout_at(Instant::now() + dur, fut)
}

/// Like [`timeout`] with an absolute deadline: asyncio's `timeout_at(when)`.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use anyloop::time::Instant;
/// use std::time::Duration;
/// let deadline = Instant::now() + Duration::from_millis(10);
/// let res = anyloop::timeout_at(deadline, anyloop::sleep(Duration::from_secs(1))).await;
/// assert_eq!(res.unwrap_err().deadline(), deadline);
/// # });
/// ```
#[doc(alias = "wait_for")]
pub fn timeout_at<F: Future>(deadline: Instant, fut: F) -> Timeout<F> {
    Timeout {
        fut,
        sleep: sleep_until(deadline),
        scope: None,
    }
}

pin_project_lite::pin_project! {
    /// Future of [`timeout`]: a deadline scope that can be read and moved while
    /// it runs ([`deadline`](Self::deadline), [`reschedule`](Self::reschedule)),
    /// like asyncio's `Timeout.when()` / `reschedule()`. To move the deadline
    /// from inside the future, use a [`TimeoutScope`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use anyloop::time::Instant;
    /// use std::{pin::pin, time::Duration};
    /// let mut t = pin!(anyloop::timeout(Duration::from_millis(10), async { 5 }));
    /// let later = Instant::now() + Duration::from_secs(1);
    /// t.as_mut().reschedule(later);
    /// assert_eq!(t.deadline(), later);
    /// assert_eq!(t.await, Ok(5));
    /// # });
    /// ```
    #[derive(Debug)]
    #[must_use = "futures do nothing unless awaited"]
    pub struct Timeout<F> {
        #[pin]
        fut: F,
        sleep: Sleep,
        // Set by [`TimeoutScope::run`]: the deadline lives there.
        scope: Option<TimeoutScope>,
    }
}

impl<F> Timeout<F> {
    /// The current deadline (asyncio's `when()`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use std::time::Duration;
    /// let t = anyloop::timeout(Duration::from_millis(10), async {});
    /// assert_eq!(t.deadline(), anyloop::time::Instant::now() + Duration::from_millis(10));
    /// # });
    /// ```
    #[doc(alias = "when")]
    pub fn deadline(&self) -> Instant {
        match &self.scope {
            Some(scope) => scope.when().unwrap_or(Instant::from_nanos(NEVER)),
            None => self.sleep.deadline(),
        }
    }

    /// Moves the deadline (asyncio's `reschedule()`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use std::{pin::pin, time::Duration};
    /// let mut t = pin!(anyloop::timeout(Duration::from_secs(60), anyloop::sleep(Duration::from_secs(1))));
    /// t.as_mut().reschedule(anyloop::time::Instant::now());
    /// assert!(t.await.is_err());
    /// # });
    /// ```
    pub fn reschedule(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.project();
        match this.scope {
            Some(scope) => scope.reschedule(Some(deadline)),
            None => this.sleep.reset(deadline),
        }
    }

    /// The wrapped future.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let t = anyloop::timeout(std::time::Duration::from_secs(1), std::future::ready(3));
    /// assert_eq!(t.get_ref().clone().into_inner(), 3);
    /// # });
    /// ```
    pub fn get_ref(&self) -> &F {
        &self.fut
    }

    /// Unwraps the future.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let t = anyloop::timeout(std::time::Duration::from_secs(1), async { 3 });
    /// assert_eq!(t.into_inner().await, 3);
    /// # });
    /// ```
    pub fn into_inner(self) -> F {
        self.fut
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.fut.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        if let Some(scope) = &this.scope {
            // The body (or anyone) may have moved the deadline meanwhile.
            scope.register(cx.waker());
            let d = scope.shared.deadline.load(Ordering::Acquire);
            if d == NEVER {
                return Poll::Pending;
            }
            if this.sleep.deadline().as_nanos() != d {
                this.sleep.reset(Instant::from_nanos(d));
            }
        }
        // A deadline already due when the timer is not armed yet (first
        // poll, or just rescheduled) expires now: asyncio raises
        // TimeoutError for a zero or past timeout on anything that suspends.
        let due = !this.sleep.is_armed() && this.sleep.is_elapsed();
        let fired = due || Pin::new(&mut *this.sleep).poll(cx).is_ready();
        match fired {
            true if crate::task::running_cancel_pending() => {
                // The task is being cancelled too: the cancel wins (asyncio's
                // timeout reports the outer CancelledError, not
                // TimeoutError). A `catch_cancel` around this future takes
                // it; otherwise the task is dropped at its next poll.
                Poll::Pending
            }
            true => {
                if let Some(scope) = &this.scope {
                    scope.shared.expired.store(true, Ordering::Release);
                }
                Poll::Ready(Err(Elapsed {
                    deadline: this.sleep.deadline(),
                }))
            }
            false => Poll::Pending,
        }
    }
}

const NEVER: u64 = u64::MAX;

/// A deadline scope: asyncio's `async with asyncio.timeout(delay) as cm`.
///
/// A cheap, clonable handle on a deadline that can be read
/// ([`when`](Self::when)) and moved ([`reschedule`](Self::reschedule))
/// while the future it limits ([`run`](Self::run)) runs, including from
/// inside that future. When the deadline passes, the future is dropped
/// (cancelled) and the run gives `Err(Elapsed)`; [`expired`](Self::expired)
/// then says so. Scopes nest: an inner scope's deadline firing ends only
/// the inner run. A scope limits one run at a time.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use anyloop::{sleep, time::{Instant, TimeoutScope}};
/// use std::time::Duration;
/// let scope = TimeoutScope::new(None); // no deadline yet
/// let cm = scope.clone();
/// let res = scope
///     .run(async move {
///         // Decide the deadline from inside, like `cm.reschedule(...)`.
///         cm.reschedule(Some(Instant::now() + Duration::from_millis(10)));
///         sleep(Duration::from_secs(1)).await;
///     })
///     .await;
/// assert!(res.is_err());
/// assert!(scope.expired());
/// # });
/// ```
#[doc(alias = "timeout")]
#[doc(alias = "Timeout")]
#[derive(Clone)]
pub struct TimeoutScope {
    shared: Arc<ScopeShared>,
}

struct ScopeShared {
    deadline: AtomicU64,
    expired: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl TimeoutScope {
    /// A scope with `deadline`, or none (`None`: runs until
    /// [`reschedule`](Self::reschedule)d, asyncio's `timeout(None)`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// use anyloop::time::{Instant, TimeoutScope};
    /// let at = Instant::from_nanos(5_000);
    /// assert_eq!(TimeoutScope::new(Some(at)).when(), Some(at));
    /// assert_eq!(TimeoutScope::new(None).when(), None);
    /// ```
    pub fn new(deadline: Option<Instant>) -> Self {
        TimeoutScope {
            shared: Arc::new(ScopeShared {
                deadline: AtomicU64::new(deadline.map_or(NEVER, |d| d.as_nanos().min(NEVER - 1))),
                expired: AtomicBool::new(false),
                waker: Mutex::new(None),
            }),
        }
    }

    /// A scope whose deadline is `dur` from now (asyncio's `timeout(delay)`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use anyloop::time::TimeoutScope;
    /// use std::time::Duration;
    /// let scope = TimeoutScope::after(Duration::from_millis(10));
    /// assert!(scope.run(anyloop::sleep(Duration::from_secs(1))).await.is_err());
    /// # });
    /// ```
    ///
    /// # Panics
    ///
    /// Panics outside a loop when no clock is registered (see [`Instant::now`]).
    pub fn after(dur: Duration) -> Self {
        TimeoutScope::new(Some(Instant::now() + dur))
    }

    /// The deadline, if any (asyncio's `Timeout.when()`).
    ///
    /// # Examples
    ///
    /// See [`new`](Self::new).
    pub fn when(&self) -> Option<Instant> {
        match self.shared.deadline.load(Ordering::Acquire) {
            NEVER => None,
            d => Some(Instant::from_nanos(d)),
        }
    }

    /// Moves (or removes) the deadline, also while the scope runs, from
    /// inside or outside its future (asyncio's `Timeout.reschedule()`). A
    /// deadline in the past ends the run at its next poll.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use anyloop::time::{Instant, TimeoutScope};
    /// use std::time::Duration;
    /// let scope = TimeoutScope::after(Duration::from_millis(10));
    /// let cm = scope.clone();
    /// let res = scope.run(async move {
    ///     cm.reschedule(Some(Instant::now() + Duration::from_millis(100)));
    ///     anyloop::sleep(Duration::from_millis(50)).await; // now fits
    ///     "done"
    /// });
    /// assert_eq!(res.await, Ok("done"));
    /// # });
    /// ```
    pub fn reschedule(&self, deadline: Option<Instant>) {
        let d = deadline.map_or(NEVER, |d| d.as_nanos().min(NEVER - 1));
        self.shared.deadline.store(d, Ordering::Release);
        let waker = match self.shared.waker.lock() {
            Ok(mut w) => w.take(),
            Err(p) => p.into_inner().take(),
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Whether the deadline passed and cancelled the run (asyncio's
    /// `Timeout.expired()`).
    ///
    /// # Examples
    ///
    /// See [`TimeoutScope`].
    pub fn expired(&self) -> bool {
        self.shared.expired.load(Ordering::Acquire)
    }

    /// Runs `fut` within this scope: `Ok(output)`, or `Err(Elapsed)` if the
    /// deadline passed first (then `fut` is dropped).
    ///
    /// # Examples
    ///
    /// Nested scopes: the inner one fires, the outer one keeps running.
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use anyloop::{sleep, time::TimeoutScope};
    /// use std::time::Duration;
    /// let outer = TimeoutScope::after(Duration::from_millis(100));
    /// let inner = TimeoutScope::after(Duration::from_millis(10));
    /// let i = inner.clone();
    /// let res = outer
    ///     .run(async move {
    ///         let r = i.run(sleep(Duration::from_secs(1))).await;
    ///         assert!(r.is_err());
    ///         sleep(Duration::from_millis(20)).await;
    ///         "outer finished"
    ///     })
    ///     .await;
    /// assert_eq!(res, Ok("outer finished"));
    /// assert!(inner.expired() && !outer.expired());
    /// # });
    /// ```
    pub fn run<F: Future>(&self, fut: F) -> Timeout<F> {
        let d = self.shared.deadline.load(Ordering::Acquire);
        self.shared.expired.store(false, Ordering::Release);
        Timeout {
            fut,
            sleep: sleep_until(Instant::from_nanos(d)),
            scope: Some(self.clone()),
        }
    }

    fn register(&self, waker: &Waker) {
        let mut slot = match self.shared.waker.lock() {
            Ok(w) => w,
            Err(p) => p.into_inner(),
        };
        match &mut *slot {
            Some(w) if w.will_wake(waker) => {}
            w => *w = Some(waker.clone()),
        }
    }
}

impl fmt::Debug for TimeoutScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeoutScope")
            .field("when", &self.when())
            .field("expired", &self.expired())
            .finish()
    }
}

/// The error of a [`timeout`] whose deadline passed: asyncio's `TimeoutError`.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use std::time::Duration;
/// let err = anyloop::timeout(Duration::ZERO, std::future::pending::<()>()).await.unwrap_err();
/// assert_eq!(err.to_string(), "deadline has elapsed");
/// let io: std::io::Error = err.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
/// # });
/// ```
#[doc(alias = "TimeoutError")]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Elapsed {
    deadline: Instant,
}

impl Elapsed {
    pub(crate) fn new(deadline: Instant) -> Self {
        Elapsed { deadline }
    }

    /// The deadline that passed.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use std::time::Duration;
    /// let t = anyloop::timeout(Duration::from_millis(5), std::future::pending::<()>());
    /// let d = t.deadline();
    /// assert_eq!(t.await.unwrap_err().deadline(), d);
    /// # });
    /// ```
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
