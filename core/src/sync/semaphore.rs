use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::waiters::WaitList;

const NIL: usize = usize::MAX;

/// A counter of permits tasks acquire and release: asyncio's `Semaphore`.
///
/// [`acquire`](Self::acquire) waits while no permit is left and returns a
/// [`SemaphorePermit`] that gives the permit back when dropped (asyncio's
/// `async with sem:`). Waiters are served in FIFO order: a released permit
/// goes straight to the oldest waiter, so later arrivals cannot barge.
///
/// [`release`](Self::release) adds a permit without a guard, as asyncio's
/// `release()` does; [`BoundedSemaphore`] refuses to go above its initial
/// value.
///
/// # Examples
///
/// Run at most two downloads at a time:
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use anyloop::sync::Semaphore;
/// use std::{cell::Cell, rc::Rc, time::Duration};
///
/// let sem = Rc::new(Semaphore::new(2));
/// let running = Rc::new(Cell::new(0));
/// let mut tasks = Vec::new();
/// for _ in 0..5 {
///     let (sem, running) = (sem.clone(), running.clone());
///     tasks.push(anyloop::spawn(async move {
///         let _permit = sem.acquire().await;
///         running.set(running.get() + 1);
///         assert!(running.get() <= 2);
///         anyloop::sleep(Duration::from_millis(10)).await;
///         running.set(running.get() - 1);
///     }));
/// }
/// for t in tasks {
///     t.await.unwrap();
/// }
/// # });
/// ```
pub struct Semaphore {
    inner: Rc<SemaphoreInner>,
}

struct SemaphoreInner {
    permits: Cell<usize>,
    waiters: RefCell<WaitList<()>>,
    /// Releases beyond this are refused (`usize::MAX`: unbounded).
    bound: usize,
}

impl Clone for Semaphore {
    /// Another handle on the same semaphore (cheap: a reference count).
    fn clone(&self) -> Self {
        Semaphore {
            inner: self.inner.clone(),
        }
    }
}

impl Semaphore {
    /// A semaphore with `permits` permits.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let sem = anyloop::sync::Semaphore::new(3);
    /// assert_eq!(sem.available_permits(), 3);
    /// ```
    pub fn new(permits: usize) -> Self {
        Semaphore::with_bound(permits, usize::MAX)
    }

    fn with_bound(permits: usize, bound: usize) -> Self {
        Semaphore {
            inner: Rc::new(SemaphoreInner {
                permits: Cell::new(permits),
                waiters: RefCell::new(WaitList::new()),
                bound,
            }),
        }
    }

    /// Waits for a permit and takes it; it is given back when the returned
    /// [`SemaphorePermit`] drops.
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: a dropped acquire leaves the queue; if a permit had
    /// already been handed to it, the permit passes to the next waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let sem = anyloop::sync::Semaphore::new(1);
    /// let permit = sem.acquire().await;
    /// assert!(sem.is_locked());
    /// drop(permit);
    /// assert_eq!(sem.available_permits(), 1);
    /// # });
    /// ```
    pub fn acquire(&self) -> SemaphoreAcquire<'_> {
        SemaphoreAcquire {
            sem: self,
            key: NIL,
        }
    }

    /// Takes a permit if one is free and nobody waits for one.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let sem = anyloop::sync::Semaphore::new(1);
    /// let p = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_none());
    /// drop(p);
    /// ```
    #[inline]
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        let n = self.inner.permits.get();
        if n == 0 {
            None
        } else {
            // Free permits imply no waiters: a release hands permits on.
            self.inner.permits.set(n - 1);
            Some(SemaphorePermit { sem: self })
        }
    }

    /// Adds a permit (asyncio's `release()`), waking the oldest waiter if
    /// any. Use it to give back a permit taken with
    /// [`SemaphorePermit::forget`], or to raise the count.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let sem = anyloop::sync::Semaphore::new(0);
    /// sem.release();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn release(&self) {
        self.add_permit();
    }

    /// Permits that can be taken right now.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let sem = anyloop::sync::Semaphore::new(2);
    /// let _p = sem.try_acquire();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.inner.permits.get()
    }

    /// Whether [`acquire`](Self::acquire) would wait: asyncio's `locked()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let sem = anyloop::sync::Semaphore::new(0);
    /// assert!(sem.is_locked());
    /// ```
    #[doc(alias = "locked")]
    pub fn is_locked(&self) -> bool {
        self.inner.permits.get() == 0
    }

    /// Gives a permit to the oldest waiter, or back to the count (capped
    /// at the bound). Returns false if the count was at its bound.
    #[inline]
    fn add_permit(&self) -> bool {
        let n = self.inner.permits.get();
        if n >= self.inner.bound {
            return false;
        }
        if n == 0 && self.inner.waiters.borrow().waiting() > 0 {
            let next = self.inner.waiters.borrow_mut().notify_first(());
            if let Ok(waker) = next {
                if let Some(w) = waker {
                    w.wake();
                }
                return true;
            }
        }
        self.inner.permits.set(n + 1);
        true
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("permits", &self.inner.permits.get())
            .field("waiters", &self.inner.waiters.borrow().waiting())
            .finish()
    }
}

/// A permit of a [`Semaphore`] or [`BoundedSemaphore`]; gives it back when
/// dropped.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let sem = anyloop::sync::Semaphore::new(1);
/// {
///     let _permit = sem.acquire().await;
///     assert_eq!(sem.available_permits(), 0);
/// }
/// assert_eq!(sem.available_permits(), 1);
/// # });
/// ```
#[must_use = "the permit is given back as soon as it is dropped"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
}

impl SemaphorePermit<'_> {
    /// Keeps the permit taken forever (until a [`Semaphore::release`]):
    /// the manual `acquire()` without `release()` of asyncio.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let sem = anyloop::sync::Semaphore::new(1);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 0);
    /// sem.release();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphorePermit<'_> {
    #[inline]
    fn drop(&mut self) {
        self.sem.add_permit();
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit").finish_non_exhaustive()
    }
}

/// Future of [`Semaphore::acquire`] and [`BoundedSemaphore::acquire`].
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let sem = anyloop::sync::Semaphore::new(1);
/// let fut: anyloop::sync::SemaphoreAcquire<'_> = sem.acquire();
/// let _permit = fut.await;
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct SemaphoreAcquire<'a> {
    sem: &'a Semaphore,
    key: usize,
}

impl<'a> Future for SemaphoreAcquire<'a> {
    type Output = SemaphorePermit<'a>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SemaphorePermit<'a>> {
        if self.key == NIL {
            if let Some(p) = self.sem.try_acquire() {
                return Poll::Ready(p);
            }
        }
        self.poll_queued(cx)
    }
}

impl<'a> SemaphoreAcquire<'a> {
    #[inline(never)]
    fn poll_queued(&mut self, cx: &mut Context<'_>) -> Poll<SemaphorePermit<'a>> {
        let sem = self.sem;
        if self.key == NIL {
            self.key = sem.inner.waiters.borrow_mut().push(cx.waker());
            return Poll::Pending;
        }
        let served = sem.inner.waiters.borrow_mut().poll(self.key, cx.waker());
        match served {
            Some(()) => {
                self.key = NIL;
                Poll::Ready(SemaphorePermit { sem })
            }
            None => Poll::Pending,
        }
    }
}

impl SemaphoreAcquire<'_> {
    #[inline(never)]
    fn leave_queue(&mut self) {
        let served = self.sem.inner.waiters.borrow_mut().remove(self.key);
        if served.is_some() {
            // A permit was handed to us: pass it on.
            self.sem.add_permit();
        }
    }
}

impl Drop for SemaphoreAcquire<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.key != NIL {
            self.leave_queue();
        }
    }
}

impl fmt::Debug for SemaphoreAcquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreAcquire")
            .field("queued", &(self.key != NIL))
            .finish()
    }
}

/// A [`Semaphore`] that refuses to be released above its initial value:
/// asyncio's `BoundedSemaphore`.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use anyloop::sync::BoundedSemaphore;
/// let sem = BoundedSemaphore::new(1);
/// let permit = sem.acquire().await;
/// permit.forget();
/// assert!(sem.release().is_ok());
/// assert!(sem.release().is_err()); // would exceed the initial value
/// # });
/// ```
#[derive(Clone)]
pub struct BoundedSemaphore {
    sem: Semaphore,
}

impl BoundedSemaphore {
    /// A semaphore with `permits` permits, which is also its maximum.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let sem = anyloop::sync::BoundedSemaphore::new(2);
    /// assert_eq!(sem.bound(), 2);
    /// ```
    pub fn new(permits: usize) -> Self {
        BoundedSemaphore {
            sem: Semaphore::with_bound(permits, permits),
        }
    }

    /// See [`Semaphore::acquire`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let sem = anyloop::sync::BoundedSemaphore::new(1);
    /// let _permit = sem.acquire().await;
    /// assert!(sem.is_locked());
    /// # });
    /// ```
    pub fn acquire(&self) -> SemaphoreAcquire<'_> {
        self.sem.acquire()
    }

    /// See [`Semaphore::try_acquire`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let sem = anyloop::sync::BoundedSemaphore::new(1);
    /// assert!(sem.try_acquire().is_some());
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.sem.try_acquire()
    }

    /// Adds a permit back, waking the oldest waiter if any.
    ///
    /// # Errors
    ///
    /// [`ReleaseError`] if the count is already at its initial value
    /// (asyncio's `ValueError: BoundedSemaphore released too many times`).
    /// A [`SemaphorePermit`] dropped when the count is at its bound (after
    /// such extra releases) gives nothing back.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let sem = anyloop::sync::BoundedSemaphore::new(1);
    /// let err = sem.release().unwrap_err();
    /// assert_eq!(err.to_string(), "BoundedSemaphore released too many times");
    /// ```
    pub fn release(&self) -> Result<(), ReleaseError> {
        if self.sem.add_permit() {
            Ok(())
        } else {
            Err(ReleaseError(()))
        }
    }

    /// See [`Semaphore::available_permits`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let sem = anyloop::sync::BoundedSemaphore::new(4);
    /// assert_eq!(sem.available_permits(), 4);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.sem.available_permits()
    }

    /// The maximum (initial) number of permits.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// assert_eq!(anyloop::sync::BoundedSemaphore::new(3).bound(), 3);
    /// ```
    pub fn bound(&self) -> usize {
        self.sem.inner.bound
    }

    /// See [`Semaphore::is_locked`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// assert!(anyloop::sync::BoundedSemaphore::new(0).is_locked());
    /// ```
    #[doc(alias = "locked")]
    pub fn is_locked(&self) -> bool {
        self.sem.is_locked()
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("permits", &self.sem.inner.permits.get())
            .field("bound", &self.sem.inner.bound)
            .field("waiters", &self.sem.inner.waiters.borrow().waiting())
            .finish()
    }
}

/// [`BoundedSemaphore::release`] would raise the count above its initial
/// value (asyncio's `ValueError`).
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// let sem = anyloop::sync::BoundedSemaphore::new(0);
/// let err: anyloop::sync::ReleaseError = sem.release().unwrap_err();
/// # let _ = err;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseError(());

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoundedSemaphore released too many times")
    }
}

impl std::error::Error for ReleaseError {}
