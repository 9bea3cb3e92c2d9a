use std::cell::{Cell, RefCell, RefMut};
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::waiters::WaitList;

const NIL: usize = usize::MAX;

/// A mutual-exclusion lock for tasks: asyncio's `Lock`, optionally
/// guarding a value (`Lock<T>`; a plain `Lock` guards `()`).
///
/// [`lock`](Self::lock) waits until the lock is free and returns a
/// [`LockGuard`]; dropping the guard releases the lock (asyncio's
/// `async with lock:`). Waiting tasks get the lock in the order they asked
/// for it: a release hands the lock straight to the oldest waiter, so a
/// task that arrives later cannot barge ahead.
///
/// The lock belongs to one event loop thread (it is `!Sync`); share it
/// between tasks with an `Rc`.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use anyloop::sync::Lock;
/// use std::rc::Rc;
///
/// let balance = Rc::new(Lock::new(100));
/// let mut tasks = Vec::new();
/// for _ in 0..3 {
///     let balance = balance.clone();
///     tasks.push(anyloop::spawn(async move {
///         let mut b = balance.lock().await;
///         let read = *b;
///         anyloop::yield_now().await; // still holding the lock
///         *b = read - 10;
///     }));
/// }
/// for t in tasks {
///     t.await.unwrap();
/// }
/// assert_eq!(*balance.lock().await, 70);
/// # });
/// ```
pub struct Lock<T = ()> {
    inner: Rc<LockInner<T>>,
}

struct LockInner<T> {
    locked: Cell<bool>,
    waiters: RefCell<WaitList<()>>,
    value: RefCell<T>,
}

impl<T> Clone for Lock<T> {
    /// Another handle on the same lock (cheap: a reference count).
    fn clone(&self) -> Self {
        Lock {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Lock<T> {
    /// A new, unlocked lock guarding `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// use anyloop::sync::Lock;
    /// let plain = Lock::new(());
    /// let counter = Lock::new(0_u32);
    /// # let _ = (plain, counter);
    /// ```
    pub fn new(value: T) -> Self {
        Lock {
            inner: Rc::new(LockInner {
                locked: Cell::new(false),
                waiters: RefCell::new(WaitList::new()),
                value: RefCell::new(value),
            }),
        }
    }

    /// Waits for the lock and takes it: asyncio's `await lock.acquire()`.
    /// The lock is released when the returned guard drops.
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: dropping the future while it waits gives up its place
    /// in the queue; if the lock had already been handed to it, the lock
    /// passes on to the next waiter (or is released).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let lock = anyloop::sync::Lock::new(vec![1]);
    /// lock.lock().await.push(2);
    /// assert_eq!(*lock.lock().await, [1, 2]);
    /// # });
    /// ```
    #[doc(alias = "acquire")]
    pub fn lock(&self) -> LockFuture<'_, T> {
        LockFuture {
            lock: self,
            key: NIL,
        }
    }

    /// Takes the lock if it is free and nobody waits for it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let lock = anyloop::sync::Lock::new(());
    /// let g = lock.try_lock().unwrap();
    /// assert!(lock.try_lock().is_none());
    /// drop(g);
    /// assert!(lock.try_lock().is_some());
    /// ```
    #[inline]
    pub fn try_lock(&self) -> Option<LockGuard<'_, T>> {
        if self.inner.locked.get() {
            None
        } else {
            // Unlocked implies no waiters: a release hands the lock on.
            self.inner.locked.set(true);
            Some(self.guard())
        }
    }

    /// Whether the lock is held (or handed to a waiter that has not run
    /// yet): asyncio's `locked()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let lock = anyloop::sync::Lock::new(());
    /// let g = lock.lock().await;
    /// assert!(lock.is_locked());
    /// drop(g);
    /// assert!(!lock.is_locked());
    /// # });
    /// ```
    #[doc(alias = "locked")]
    pub fn is_locked(&self) -> bool {
        self.inner.locked.get()
    }

    /// The guarded value, through exclusive access (no locking needed):
    /// `None` while other clones of the lock exist.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let mut lock = anyloop::sync::Lock::new(1);
    /// *lock.get_mut().unwrap() += 1;
    /// let other = lock.clone();
    /// assert!(lock.get_mut().is_none()); // shared
    /// drop(other);
    /// assert_eq!(lock.into_inner().ok(), Some(2));
    /// ```
    pub fn get_mut(&mut self) -> Option<&mut T> {
        Rc::get_mut(&mut self.inner).map(|i| i.value.get_mut())
    }

    /// Consumes the lock, returning the guarded value; gives the lock back
    /// while other clones of it exist.
    ///
    /// # Errors
    ///
    /// `Err(self)` if the lock is shared with other clones.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let lock = anyloop::sync::Lock::new("v");
    /// let other = lock.clone();
    /// let lock = lock.into_inner().unwrap_err(); // still shared
    /// drop(other);
    /// assert_eq!(lock.into_inner().ok(), Some("v"));
    /// ```
    pub fn into_inner(self) -> Result<T, Self> {
        match Rc::try_unwrap(self.inner) {
            Ok(inner) => Ok(inner.value.into_inner()),
            Err(inner) => Err(Lock { inner }),
        }
    }

    #[inline]
    fn guard(&self) -> LockGuard<'_, T> {
        LockGuard {
            value: self.inner.value.borrow_mut(),
            lock: self,
        }
    }

    /// Releases the lock: hands it to the oldest waiter, or unlocks.
    #[inline]
    fn unlock(&self) {
        if self.inner.waiters.borrow().waiting() == 0 {
            self.inner.locked.set(false);
        } else {
            self.hand_off();
        }
    }

    #[inline(never)]
    fn hand_off(&self) {
        let next = self.inner.waiters.borrow_mut().notify_first(());
        match next {
            Ok(waker) => {
                if let Some(w) = waker {
                    w.wake();
                }
            }
            Err(()) => self.inner.locked.set(false),
        }
    }

    pub(crate) fn is_same(&self, other: &Lock<T>) -> bool {
        std::ptr::eq(self, other)
    }
}

impl<T: Default> Default for Lock<T> {
    /// An unlocked lock guarding `T::default()`.
    fn default() -> Self {
        Lock::new(T::default())
    }
}

impl<T: fmt::Debug> fmt::Debug for Lock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Lock");
        match self.inner.value.try_borrow() {
            Ok(v) if !self.inner.locked.get() => d.field("value", &*v),
            _ => d.field("value", &format_args!("<locked>")),
        };
        d.field("waiters", &self.inner.waiters.borrow().waiting())
            .finish()
    }
}

/// Holds a [`Lock`]; releases it when dropped. Dereferences to the guarded
/// value.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let lock = anyloop::sync::Lock::new(String::new());
/// {
///     let mut guard = lock.lock().await;
///     guard.push_str("held");
/// } // released here
/// assert_eq!(lock.lock().await.as_str(), "held");
/// # });
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a, T> {
    // Dropped after `Drop::drop` hands the lock on; the next owner only
    // borrows the value when it is polled, later.
    value: RefMut<'a, T>,
    lock: &'a Lock<T>,
}

impl<'a, T> LockGuard<'a, T> {
    pub(crate) fn lock(&self) -> &'a Lock<T> {
        self.lock
    }
}

impl<T> Deref for LockGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for LockGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T> Drop for LockGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

impl<T: fmt::Debug> fmt::Debug for LockGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LockGuard").field(&*self.value).finish()
    }
}

/// Future of [`Lock::lock`]: resolves to the [`LockGuard`].
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let lock = anyloop::sync::Lock::new(());
/// let fut: anyloop::sync::LockFuture<'_, ()> = lock.lock();
/// let _guard = fut.await;
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct LockFuture<'a, T> {
    lock: &'a Lock<T>,
    /// The waiter slot, or `NIL` when not queued.
    key: usize,
}

impl<'a, T> Future for LockFuture<'a, T> {
    type Output = LockGuard<'a, T>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard<'a, T>> {
        if self.key == NIL {
            if let Some(g) = self.lock.try_lock() {
                return Poll::Ready(g);
            }
        }
        self.poll_queued(cx)
    }
}

impl<'a, T> LockFuture<'a, T> {
    #[inline(never)]
    fn poll_queued(&mut self, cx: &mut Context<'_>) -> Poll<LockGuard<'a, T>> {
        let lock = self.lock;
        if self.key == NIL {
            self.key = lock.inner.waiters.borrow_mut().push(cx.waker());
            return Poll::Pending;
        }
        let served = lock.inner.waiters.borrow_mut().poll(self.key, cx.waker());
        match served {
            Some(()) => {
                self.key = NIL;
                Poll::Ready(lock.guard())
            }
            None => Poll::Pending,
        }
    }
}

impl<T> LockFuture<'_, T> {
    #[inline(never)]
    fn leave_queue(&mut self) {
        let served = self.lock.inner.waiters.borrow_mut().remove(self.key);
        if served.is_some() {
            // The lock was handed to us: pass it on.
            self.lock.unlock();
        }
    }
}

impl<T> Drop for LockFuture<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if self.key != NIL {
            self.leave_queue();
        }
    }
}

impl<T> fmt::Debug for LockFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockFuture")
            .field("queued", &(self.key != NIL))
            .finish()
    }
}
