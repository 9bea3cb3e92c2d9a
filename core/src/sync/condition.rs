use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::lock::{Lock, LockFuture, LockGuard};
use super::waiters::WaitList;

/// A condition variable with its lock: asyncio's `Condition`.
///
/// Tasks take the lock with [`lock`](Self::lock), then
/// [`wait`](Self::wait) releases it, sleeps until
/// [`notify`](Self::notify)/[`notify_all`](Self::notify_all), and takes it
/// again before returning the guard. Like asyncio's, the lock guards a
/// value (`Condition<T>`; a plain `Condition` guards `()`). Waiters are
/// notified in FIFO order.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use anyloop::sync::Condition;
/// use std::rc::Rc;
///
/// let jobs = Rc::new(Condition::new(Vec::<u32>::new()));
/// let consumer = anyloop::spawn({
///     let jobs = jobs.clone();
///     async move {
///         let guard = jobs.lock().await;
///         let mut guard = jobs.wait_for(guard, |v| !v.is_empty()).await;
///         guard.pop().unwrap()
///     }
/// });
/// anyloop::yield_now().await;
/// jobs.lock().await.push(7);
/// jobs.notify(1);
/// assert_eq!(consumer.await.unwrap(), 7);
/// # });
/// ```
pub struct Condition<T = ()> {
    inner: Rc<ConditionInner<T>>,
}

struct ConditionInner<T> {
    lock: Lock<T>,
    waiters: RefCell<WaitList<()>>,
}

impl<T> Clone for Condition<T> {
    /// Another handle on the same condition (cheap: a reference count).
    fn clone(&self) -> Self {
        Condition {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Condition<T> {
    /// A condition whose lock guards `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let cond = anyloop::sync::Condition::new(0_u64);
    /// # let _ = cond;
    /// ```
    pub fn new(value: T) -> Self {
        Condition {
            inner: Rc::new(ConditionInner {
                lock: Lock::new(value),
                waiters: RefCell::new(WaitList::new()),
            }),
        }
    }

    /// Takes the condition's lock: asyncio's `async with cond:` /
    /// `await cond.acquire()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let cond = anyloop::sync::Condition::new(1);
    /// assert_eq!(*cond.lock().await, 1);
    /// # });
    /// ```
    #[doc(alias = "acquire")]
    pub fn lock(&self) -> LockFuture<'_, T> {
        self.inner.lock.lock()
    }

    /// Takes the lock if it is free; see [`Lock::try_lock`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let cond = anyloop::sync::Condition::new(());
    /// assert!(cond.try_lock().is_some());
    /// ```
    pub fn try_lock(&self) -> Option<LockGuard<'_, T>> {
        self.inner.lock.try_lock()
    }

    /// Whether the lock is held: asyncio's `locked()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let cond = anyloop::sync::Condition::new(());
    /// let _g = cond.try_lock();
    /// assert!(cond.is_locked());
    /// ```
    #[doc(alias = "locked")]
    pub fn is_locked(&self) -> bool {
        self.inner.lock.is_locked()
    }

    /// Releases the lock held by `guard`, waits to be notified, then takes
    /// the lock again and returns the new guard.
    ///
    /// Like every condition variable, re-check the predicate after waking
    /// (or use [`wait_for`](Self::wait_for)).
    ///
    /// # Panics
    ///
    /// If `guard` belongs to another lock.
    ///
    /// # Cancellation
    ///
    /// Dropping the future drops the guard (the lock stays released). If it
    /// was notified but dropped before returning, the notification passes
    /// to the next waiter, as asyncio does.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use std::rc::Rc;
    /// let cond = Rc::new(anyloop::sync::Condition::new(false));
    /// let waiter = anyloop::spawn({
    ///     let cond = cond.clone();
    ///     async move {
    ///         let mut ready = cond.lock().await;
    ///         while !*ready {
    ///             ready = cond.wait(ready).await;
    ///         }
    ///     }
    /// });
    /// anyloop::yield_now().await;
    /// *cond.lock().await = true;
    /// cond.notify_all();
    /// waiter.await.unwrap();
    /// # });
    /// ```
    #[track_caller]
    pub fn wait<'a>(&'a self, guard: LockGuard<'a, T>) -> ConditionWait<'a, T> {
        assert!(
            guard.lock().is_same(&self.inner.lock),
            "anyloop: Condition::wait was given the guard of another lock"
        );
        ConditionWait {
            cond: self,
            state: WaitState::Start(Some(guard)),
        }
    }

    /// Waits until `predicate` holds for the guarded value, then returns
    /// the guard: asyncio's `wait_for(predicate)`. Checks the predicate
    /// first, so it may return without waiting.
    ///
    /// # Panics
    ///
    /// If `guard` belongs to another lock.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use std::rc::Rc;
    /// let count = Rc::new(anyloop::sync::Condition::new(0));
    /// let bumper = count.clone();
    /// anyloop::spawn(async move {
    ///     for _ in 0..3 {
    ///         *bumper.lock().await += 1;
    ///         bumper.notify_all();
    ///         anyloop::yield_now().await;
    ///     }
    /// })
    /// .detach();
    /// let g = count.lock().await;
    /// let g = count.wait_for(g, |n| *n == 3).await;
    /// assert_eq!(*g, 3);
    /// # });
    /// ```
    pub async fn wait_for<'a, F>(
        &'a self,
        mut guard: LockGuard<'a, T>,
        mut predicate: F,
    ) -> LockGuard<'a, T>
    where
        F: FnMut(&mut T) -> bool,
    {
        while !predicate(&mut guard) {
            guard = self.wait(guard).await;
        }
        guard
    }

    /// Wakes up to `n` waiting tasks (the oldest first); returns how many
    /// were woken. asyncio requires holding the lock here; anyloop does
    /// not (a single-threaded loop has no race), but the usual pattern is
    /// to change the guarded state under the lock, then notify.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let cond = anyloop::sync::Condition::new(());
    /// assert_eq!(cond.notify(1), 0); // nobody waits
    /// ```
    pub fn notify(&self, n: usize) -> usize {
        let mut woken = 0;
        while woken < n {
            let next = self.inner.waiters.borrow_mut().notify_first(());
            match next {
                Ok(w) => {
                    woken += 1;
                    if let Some(w) = w {
                        w.wake();
                    }
                }
                Err(()) => break,
            }
        }
        woken
    }

    /// Wakes every waiting task; returns how many were woken.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let cond = anyloop::sync::Condition::new(());
    /// assert_eq!(cond.notify_all(), 0);
    /// ```
    pub fn notify_all(&self) -> usize {
        self.notify(usize::MAX)
    }

    /// The value, through exclusive access (no locking needed): `None`
    /// while other clones of the condition exist.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let mut cond = anyloop::sync::Condition::new(1);
    /// *cond.get_mut().unwrap() = 2;
    /// assert_eq!(cond.into_inner().ok(), Some(2));
    /// ```
    pub fn get_mut(&mut self) -> Option<&mut T> {
        Rc::get_mut(&mut self.inner).and_then(|i| i.lock.get_mut())
    }

    /// Consumes the condition, returning the value; gives the condition
    /// back while other clones of it exist.
    ///
    /// # Errors
    ///
    /// `Err(self)` if the condition is shared with other clones.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// assert_eq!(anyloop::sync::Condition::new(5).into_inner().ok(), Some(5));
    /// ```
    pub fn into_inner(self) -> Result<T, Self> {
        match Rc::try_unwrap(self.inner) {
            Ok(inner) => match inner.lock.into_inner() {
                Ok(v) => Ok(v),
                Err(_) => unreachable!("the condition owns its lock alone"),
            },
            Err(inner) => Err(Condition { inner }),
        }
    }
}

impl<T: Default> Default for Condition<T> {
    /// A condition guarding `T::default()`.
    fn default() -> Self {
        Condition::new(T::default())
    }
}

impl<T: fmt::Debug> fmt::Debug for Condition<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("lock", &self.inner.lock)
            .field("waiters", &self.inner.waiters.borrow().waiting())
            .finish()
    }
}

enum WaitState<'a, T> {
    Start(Option<LockGuard<'a, T>>),
    Waiting(usize),
    Relocking(LockFuture<'a, T>),
    Done,
}

/// Future of [`Condition::wait`]: resolves to the lock's guard again.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use anyloop::sync::{Condition, ConditionWait};
/// use std::rc::Rc;
/// let cond = Rc::new(Condition::new(()));
/// let c2 = cond.clone();
/// let t = anyloop::spawn(async move {
///     let g = c2.lock().await;
///     let fut: ConditionWait<'_, ()> = c2.wait(g);
///     drop(fut.await);
/// });
/// anyloop::yield_now().await;
/// assert_eq!(cond.notify(1), 1);
/// t.await.unwrap();
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct ConditionWait<'a, T> {
    cond: &'a Condition<T>,
    state: WaitState<'a, T>,
}

impl<'a, T> Future for ConditionWait<'a, T> {
    type Output = LockGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard<'a, T>> {
        let cond = self.cond;
        loop {
            match &mut self.state {
                WaitState::Start(guard) => {
                    let key = cond.inner.waiters.borrow_mut().push(cx.waker());
                    // Queue first, then release: nobody can notify in between.
                    drop(guard.take());
                    self.state = WaitState::Waiting(key);
                    return Poll::Pending;
                }
                WaitState::Waiting(key) => {
                    let notified = cond.inner.waiters.borrow_mut().poll(*key, cx.waker());
                    match notified {
                        Some(()) => self.state = WaitState::Relocking(cond.inner.lock.lock()),
                        None => return Poll::Pending,
                    }
                }
                WaitState::Relocking(fut) => match Pin::new(fut).poll(cx) {
                    Poll::Ready(guard) => {
                        self.state = WaitState::Done;
                        return Poll::Ready(guard);
                    }
                    Poll::Pending => return Poll::Pending,
                },
                WaitState::Done => panic!("anyloop: ConditionWait polled after completion"),
            }
        }
    }
}

impl<T> Drop for ConditionWait<'_, T> {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.state, WaitState::Done) {
            WaitState::Waiting(key) => {
                let notified = self.cond.inner.waiters.borrow_mut().remove(key);
                if notified.is_some() {
                    // Do not swallow a notification meant for a waiter.
                    self.cond.notify(1);
                }
            }
            WaitState::Relocking(fut) => {
                drop(fut);
                self.cond.notify(1);
            }
            WaitState::Start(_) | WaitState::Done => {}
        }
    }
}

impl<T> fmt::Debug for ConditionWait<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            WaitState::Start(_) => "start",
            WaitState::Waiting(_) => "waiting",
            WaitState::Relocking(_) => "relocking",
            WaitState::Done => "done",
        };
        f.debug_struct("ConditionWait")
            .field("state", &state)
            .finish()
    }
}
