use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::waiters::WaitList;

const NIL: usize = usize::MAX;

/// Lets a fixed number of tasks wait for each other: asyncio's `Barrier`.
///
/// Each of the `parties` tasks calls [`wait`](Self::wait); the last to
/// arrive releases them all, and every one of them gets its arrival index
/// (`0..inner.parties`, the last arrival gets `parties - 1`). The barrier then
/// starts over for the next round.
///
/// [`abort`](Self::abort) breaks the barrier: current and later waits fail
/// with [`BrokenBarrier`] until [`reset`](Self::reset).
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use anyloop::sync::Barrier;
/// use std::rc::Rc;
///
/// let barrier = Rc::new(Barrier::new(3));
/// let tasks: Vec<_> = (0..3)
///     .map(|_| {
///         let b = barrier.clone();
///         anyloop::spawn(async move { b.wait().await.unwrap() })
///     })
///     .collect();
/// let mut indices = Vec::new();
/// for t in tasks {
///     indices.push(t.await.unwrap());
/// }
/// assert_eq!(indices, [0, 1, 2]);
/// # });
/// ```
pub struct Barrier {
    inner: Rc<BarrierInner>,
}

struct BarrierInner {
    parties: usize,
    broken: Cell<bool>,
    waiters: RefCell<WaitList<Result<usize, BrokenBarrier>>>,
}

impl Clone for Barrier {
    /// Another handle on the same barrier (cheap: a reference count).
    fn clone(&self) -> Self {
        Barrier {
            inner: self.inner.clone(),
        }
    }
}

impl Barrier {
    /// A barrier for `parties` tasks.
    ///
    /// # Panics
    ///
    /// If `parties` is 0 (asyncio raises `ValueError`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let b = anyloop::sync::Barrier::new(2);
    /// assert_eq!(b.parties(), 2);
    /// ```
    #[track_caller]
    pub fn new(parties: usize) -> Self {
        assert!(parties > 0, "anyloop: a Barrier needs at least one party");
        Barrier {
            inner: Rc::new(BarrierInner {
                parties,
                broken: Cell::new(false),
                waiters: RefCell::new(WaitList::new()),
            }),
        }
    }

    /// Waits until `parties` tasks are waiting, then returns this task's
    /// arrival index in `0..inner.parties`.
    ///
    /// # Errors
    ///
    /// [`BrokenBarrier`] if the barrier is broken ([`abort`](Self::abort)),
    /// or is reset or aborted while this task waits.
    ///
    /// # Cancellation
    ///
    /// A dropped wait leaves the barrier: it no longer counts as arrived.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let b = anyloop::sync::Barrier::new(1);
    /// assert_eq!(b.wait().await, Ok(0));
    /// # });
    /// ```
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            key: NIL,
        }
    }

    /// Returns the barrier to its empty state. Tasks waiting on it fail
    /// with [`BrokenBarrier`]; a broken barrier works again.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let b = anyloop::sync::Barrier::new(2);
    /// b.abort();
    /// b.reset();
    /// assert!(!b.is_broken());
    /// ```
    pub fn reset(&self) {
        self.fail_waiters();
        self.inner.broken.set(false);
    }

    /// Breaks the barrier: waiting tasks and later [`wait`](Self::wait)s
    /// fail with [`BrokenBarrier`] until [`reset`](Self::reset).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let b = anyloop::sync::Barrier::new(2);
    /// b.abort();
    /// assert!(b.wait().await.is_err());
    /// # });
    /// ```
    pub fn abort(&self) {
        self.inner.broken.set(true);
        self.fail_waiters();
    }

    fn fail_waiters(&self) {
        loop {
            let next = self
                .inner
                .waiters
                .borrow_mut()
                .notify_first(Err(BrokenBarrier(())));
            match next {
                Ok(Some(w)) => w.wake(),
                Ok(None) => {}
                Err(_) => break,
            }
        }
    }

    /// Number of tasks needed to pass the barrier.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// assert_eq!(anyloop::sync::Barrier::new(4).parties(), 4);
    /// ```
    pub fn parties(&self) -> usize {
        self.inner.parties
    }

    /// Number of tasks waiting right now: asyncio's `n_waiting`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// assert_eq!(anyloop::sync::Barrier::new(4).n_waiting(), 0);
    /// ```
    pub fn n_waiting(&self) -> usize {
        self.inner.waiters.borrow().waiting()
    }

    /// Whether the barrier is broken: asyncio's `broken`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let b = anyloop::sync::Barrier::new(2);
    /// b.abort();
    /// assert!(b.is_broken());
    /// ```
    #[doc(alias = "broken")]
    pub fn is_broken(&self) -> bool {
        self.inner.broken.get()
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.inner.parties)
            .field("n_waiting", &self.n_waiting())
            .field("broken", &self.inner.broken.get())
            .finish()
    }
}

/// Future of [`Barrier::wait`]: resolves to the arrival index.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let b = anyloop::sync::Barrier::new(1);
/// let w: anyloop::sync::BarrierWait<'_> = b.wait();
/// assert_eq!(w.await, Ok(0));
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    key: usize,
}

impl Future for BarrierWait<'_> {
    type Output = Result<usize, BrokenBarrier>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let b = self.barrier;
        if self.key != NIL {
            let res = b.inner.waiters.borrow_mut().poll(self.key, cx.waker());
            if res.is_some() {
                self.key = NIL;
            }
            return res.map_or(Poll::Pending, Poll::Ready);
        }
        if b.inner.broken.get() {
            return Poll::Ready(Err(BrokenBarrier(())));
        }
        if b.inner.waiters.borrow().waiting() + 1 < b.inner.parties {
            self.key = b.inner.waiters.borrow_mut().push(cx.waker());
            return Poll::Pending;
        }
        // The last party: release the others in arrival order.
        for index in 0..b.inner.parties - 1 {
            let next = b.inner.waiters.borrow_mut().notify_first(Ok(index));
            if let Ok(Some(w)) = next {
                w.wake();
            }
        }
        Poll::Ready(Ok(b.inner.parties - 1))
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        if self.key != NIL {
            self.barrier.inner.waiters.borrow_mut().remove(self.key);
        }
    }
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait")
            .field("queued", &(self.key != NIL))
            .finish()
    }
}

/// The [`Barrier`] was aborted or reset: asyncio's `BrokenBarrierError`.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let b = anyloop::sync::Barrier::new(2);
/// b.abort();
/// let err: anyloop::sync::BrokenBarrier = b.wait().await.unwrap_err();
/// assert_eq!(err.to_string(), "barrier is broken");
/// # });
/// ```
#[doc(alias = "BrokenBarrierError")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokenBarrier(());

impl fmt::Display for BrokenBarrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("barrier is broken")
    }
}

impl std::error::Error for BrokenBarrier {}
