//! Settable one-shot futures: asyncio's `Future` ([`Promise`]) and a
//! one-shot channel ([`oneshot`]).
//!
//! | asyncio | anyloop |
//! |---|---|
//! | `fut = loop.create_future()` | `let p = Promise::new()` |
//! | `fut.set_result(x)` | `p.set(x)` |
//! | `fut.cancel()` | `p.cancel()` |
//! | `fut.done()`, `fut.cancelled()` | `p.is_done()`, `p.is_cancelled()` |
//! | `await fut` | `p.wait().await` (`Ok(value)` or `Err(Cancelled)`) |
//! | `concurrent.futures.Future` across threads | `oneshot::channel()` |

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::task::DoneCallback;
use std::task::{Context, Poll, Waker};

/// Runs `f` soon on the running loop (asyncio schedules done callbacks
/// with `call_soon`), or now outside a loop.
fn schedule(f: impl FnOnce() + 'static) {
    if crate::in_loop() {
        let _ = crate::call_soon(f);
    } else {
        f();
    }
}

/// The error of awaiting a [`Promise`] that was cancelled, or a
/// [`oneshot::Receiver`] whose sender was dropped without sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the future was cancelled before it got a value")
    }
}

impl std::error::Error for Cancelled {}

/// A done callback of a [`Promise`], with its key: given the promise, it
/// makes the call to schedule (which owns a clone of the promise).
type PromiseCallback<T> = (u64, MakeCall<T>);
type MakeCall<T> = Box<dyn FnOnce(&Promise<T>) -> Box<dyn FnOnce()>>;

enum PromiseState<T> {
    Pending(Vec<Waker>, Vec<PromiseCallback<T>>),
    Done(T),
    Cancelled,
}

/// asyncio's `Future`: a value that some code sets once and any number of
/// tasks await. Cheap to clone (all clones share the value); single-loop
/// (`!Send`), like asyncio's futures. Awaiting clones the value, so `T: Clone`
/// (wrap it in an `Rc` if it is big).
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use anyloop::future::Promise;
/// let p = Promise::new();
/// let waiter = anyloop::spawn({
///     let p = p.clone();
///     async move { p.wait().await }
/// });
/// anyloop::yield_now().await;
/// assert!(p.set("ready").is_ok());
/// assert_eq!(waiter.await.unwrap(), Ok("ready"));
/// assert_eq!(p.set("again"), Err("again")); // only once
/// # });
/// ```
#[doc(alias = "Future")]
#[doc(alias = "create_future")]
pub struct Promise<T> {
    state: Rc<RefCell<PromiseState<T>>>,
}

impl<T> Clone for Promise<T> {
    fn clone(&self) -> Self {
        Promise {
            state: self.state.clone(),
        }
    }
}

impl<T> Default for Promise<T> {
    fn default() -> Self {
        Promise::new()
    }
}

impl<T> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &*self.state.borrow() {
            PromiseState::Pending(..) => "pending",
            PromiseState::Done(_) => "done",
            PromiseState::Cancelled => "cancelled",
        };
        f.debug_struct("Promise").field("state", &state).finish()
    }
}

impl<T> Promise<T> {
    /// A pending promise (asyncio's `loop.create_future()`).
    pub fn new() -> Self {
        Promise {
            state: Rc::new(RefCell::new(PromiseState::Pending(Vec::new(), Vec::new()))),
        }
    }

    fn settle(&self, new: PromiseState<T>) -> Result<(), PromiseState<T>> {
        let (wakers, callbacks) = {
            let mut s = self.state.borrow_mut();
            match &mut *s {
                PromiseState::Pending(w, c) => {
                    let taken = (std::mem::take(w), std::mem::take(c));
                    *s = new;
                    taken
                }
                _ => return Err(new),
            }
        };
        wakers.into_iter().for_each(Waker::wake);
        if !callbacks.is_empty() {
            let calls: Vec<_> = callbacks.into_iter().map(|(_, cb)| cb(self)).collect();
            schedule(move || calls.into_iter().for_each(|call| call()));
        }
        Ok(())
    }

    /// Calls `f` with the promise once it is set or cancelled (asyncio's
    /// `Future.add_done_callback`): soon after, as a
    /// [`call_soon`](crate::call_soon) callback, in the order callbacks
    /// were added (at once when no loop runs); soon if it is already done.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use anyloop::future::Promise;
    /// use std::{cell::Cell, rc::Rc};
    /// let p = Promise::new();
    /// let seen = Rc::new(Cell::new(0));
    /// let s = seen.clone();
    /// p.add_done_callback(move |p: &Promise<u32>| s.set(p.result().unwrap().unwrap()));
    /// p.set(5).unwrap();
    /// anyloop::yield_now().await;
    /// assert_eq!(seen.get(), 5);
    /// # });
    /// ```
    pub fn add_done_callback(&self, f: impl FnOnce(&Promise<T>) + 'static) -> DoneCallback
    where
        T: 'static,
    {
        static KEYS: AtomicU64 = AtomicU64::new(0);
        let key = KEYS.fetch_add(1, Ordering::Relaxed);
        let pending = matches!(&*self.state.borrow(), PromiseState::Pending(..));
        if !pending {
            let me = self.clone();
            schedule(move || f(&me));
            return DoneCallback::new(key);
        }
        let cb: MakeCall<T> = Box::new(move |p| {
            let me = p.clone();
            Box::new(move || f(&me))
        });
        if let PromiseState::Pending(_, c) = &mut *self.state.borrow_mut() {
            c.push((key, cb));
        }
        DoneCallback::new(key)
    }

    /// Removes a callback that has not been scheduled; false if there is
    /// none (asyncio's `remove_done_callback`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let p = anyloop::future::Promise::<()>::new();
    /// let cb = p.add_done_callback(|_| unreachable!());
    /// assert!(p.remove_done_callback(cb));
    /// p.cancel();
    /// ```
    pub fn remove_done_callback(&self, cb: DoneCallback) -> bool {
        let removed = match &mut *self.state.borrow_mut() {
            PromiseState::Pending(_, c) => c
                .iter()
                .position(|(k, _)| *k == cb.key())
                .map(|i| c.remove(i)),
            _ => None,
        };
        removed.is_some()
    }

    /// Sets the value and wakes every waiter (asyncio's `set_result`).
    ///
    /// # Errors
    ///
    /// Gives `value` back if the promise was already set or cancelled
    /// (asyncio raises `InvalidStateError`).
    #[doc(alias = "set_result")]
    pub fn set(&self, value: T) -> Result<(), T> {
        self.settle(PromiseState::Done(value)).map_err(|s| match s {
            PromiseState::Done(v) => v,
            _ => unreachable!("settle returns the state it was given"),
        })
    }

    /// Cancels a pending promise: waiters get `Err(Cancelled)`. Returns
    /// false if it was already done or cancelled.
    pub fn cancel(&self) -> bool {
        self.settle(PromiseState::Cancelled).is_ok()
    }

    /// Set or cancelled (asyncio's `done()`).
    #[doc(alias = "done")]
    pub fn is_done(&self) -> bool {
        !matches!(&*self.state.borrow(), PromiseState::Pending(..))
    }

    /// Cancelled (asyncio's `cancelled()`).
    #[doc(alias = "cancelled")]
    pub fn is_cancelled(&self) -> bool {
        matches!(&*self.state.borrow(), PromiseState::Cancelled)
    }
}

impl<T: Clone> Promise<T> {
    /// The value if set (asyncio's `result()`, without raising): `None`
    /// while pending, `Some(Err(Cancelled))` when cancelled.
    pub fn result(&self) -> Option<Result<T, Cancelled>> {
        match &*self.state.borrow() {
            PromiseState::Pending(..) => None,
            PromiseState::Done(v) => Some(Ok(v.clone())),
            PromiseState::Cancelled => Some(Err(Cancelled)),
        }
    }

    /// Waits for the value (asyncio's `await fut`).
    ///
    /// # Cancellation
    ///
    /// Dropping the wait future leaves the promise as it is.
    pub fn wait(&self) -> PromiseWait<T> {
        PromiseWait {
            promise: self.clone(),
        }
    }
}

/// Future of [`Promise::wait`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct PromiseWait<T> {
    promise: Promise<T>,
}

impl<T: Clone> Future for PromiseWait<T> {
    type Output = Result<T, Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = self.promise.state.borrow_mut();
        match &mut *s {
            PromiseState::Pending(wakers, _) => {
                if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
            PromiseState::Done(v) => Poll::Ready(Ok(v.clone())),
            PromiseState::Cancelled => Poll::Ready(Err(Cancelled)),
        }
    }
}

/// A one-shot channel that works across threads: one value from a
/// [`Sender`](oneshot::Sender) to a [`Receiver`](oneshot::Receiver) (which
/// any executor can await). The `concurrent.futures.Future` of asyncio's
/// `run_coroutine_threadsafe`, in both directions.
pub mod oneshot {
    use super::*;
    use crate::shim::{Mutex, MutexGuard};

    struct Slot<T> {
        value: Option<T>,
        waker: Option<Waker>,
        sender_gone: bool,
        receiver_gone: bool,
    }

    type Shared<T> = Arc<Mutex<Slot<T>>>;

    fn lock<T>(s: &Shared<T>) -> MutexGuard<'_, Slot<T>> {
        s.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates a one-shot channel.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let (tx, rx) = anyloop::future::oneshot::channel();
    /// std::thread::spawn(move || tx.send(6 * 7).unwrap());
    /// assert_eq!(rx.await, Ok(42));
    /// # });
    /// ```
    pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
        let shared = Arc::new(Mutex::new(Slot {
            value: None,
            waker: None,
            sender_gone: false,
            receiver_gone: false,
        }));
        (
            Sender {
                shared: shared.clone(),
            },
            Receiver { shared },
        )
    }

    /// Sends the one value.
    pub struct Sender<T> {
        shared: Shared<T>,
    }

    impl<T> fmt::Debug for Sender<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Sender").finish_non_exhaustive()
        }
    }

    impl<T> Sender<T> {
        /// Sends `value` and wakes the receiver.
        ///
        /// # Errors
        ///
        /// Gives `value` back if the receiver was dropped.
        pub fn send(self, value: T) -> Result<(), T> {
            let waker = {
                let mut s = lock(&self.shared);
                if s.receiver_gone {
                    return Err(value);
                }
                s.value = Some(value);
                s.waker.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
            Ok(())
        }

        /// Whether the receiver was dropped (sending would fail).
        pub fn is_closed(&self) -> bool {
            lock(&self.shared).receiver_gone
        }
    }

    impl<T> Drop for Sender<T> {
        fn drop(&mut self) {
            let waker = {
                let mut s = lock(&self.shared);
                s.sender_gone = true;
                s.waker.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
        }
    }

    /// Receives the one value: a future giving `Ok(value)`, or
    /// `Err(Cancelled)` if the sender was dropped without sending.
    pub struct Receiver<T> {
        shared: Shared<T>,
    }

    impl<T> fmt::Debug for Receiver<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Receiver").finish_non_exhaustive()
        }
    }

    impl<T> Receiver<T> {
        /// Takes the value if it has arrived, without waiting.
        pub fn try_recv(&mut self) -> Option<T> {
            lock(&self.shared).value.take()
        }
    }

    impl<T> Future for Receiver<T> {
        type Output = Result<T, Cancelled>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let mut s = lock(&self.shared);
            if let Some(v) = s.value.take() {
                return Poll::Ready(Ok(v));
            }
            if s.sender_gone {
                return Poll::Ready(Err(Cancelled));
            }
            match &mut s.waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                w => *w = Some(cx.waker().clone()),
            }
            Poll::Pending
        }
    }

    impl<T> Drop for Receiver<T> {
        fn drop(&mut self) {
            lock(&self.shared).receiver_gone = true;
        }
    }
}
