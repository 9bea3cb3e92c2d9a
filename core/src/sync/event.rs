use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::waiters::WaitList;

const NIL: usize = usize::MAX;

/// A flag tasks can wait for: asyncio's `Event`.
///
/// [`set`](Self::set) wakes every task waiting in [`wait`](Self::wait),
/// and later waits return at once until [`clear`](Self::clear). A waiter
/// woken by `set` returns even if the event is cleared again before it
/// runs (as in asyncio).
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use anyloop::sync::Event;
/// use std::rc::Rc;
///
/// let ready = Rc::new(Event::new());
/// let waiter = anyloop::spawn({
///     let ready = ready.clone();
///     async move {
///         ready.wait().await;
///         "started"
///     }
/// });
/// anyloop::yield_now().await;
/// assert!(!waiter.is_finished());
/// ready.set();
/// assert_eq!(waiter.await.unwrap(), "started");
/// # });
/// ```
pub struct Event {
    inner: Rc<EventInner>,
}

struct EventInner {
    set: Cell<bool>,
    waiters: RefCell<WaitList<()>>,
}

impl Clone for Event {
    /// Another handle on the same event (cheap: a reference count).
    fn clone(&self) -> Self {
        Event {
            inner: self.inner.clone(),
        }
    }
}

impl Event {
    /// A new event, not set.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let e = anyloop::sync::Event::new();
    /// assert!(!e.is_set());
    /// ```
    pub fn new() -> Self {
        Event {
            inner: Rc::new(EventInner {
                set: Cell::new(false),
                waiters: RefCell::new(WaitList::new()),
            }),
        }
    }

    /// Sets the event and wakes every waiting task.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let e = anyloop::sync::Event::new();
    /// e.set();
    /// e.wait().await; // returns at once
    /// # });
    /// ```
    pub fn set(&self) {
        if self.inner.set.replace(true) {
            return;
        }
        loop {
            let next = self.inner.waiters.borrow_mut().notify_first(());
            match next {
                Ok(Some(w)) => w.wake(),
                Ok(None) => {}
                Err(()) => break,
            }
        }
    }

    /// Resets the flag; later [`wait`](Self::wait)s block until the next
    /// [`set`](Self::set).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let e = anyloop::sync::Event::new();
    /// e.set();
    /// e.clear();
    /// assert!(!e.is_set());
    /// ```
    pub fn clear(&self) {
        self.inner.set.set(false);
    }

    /// Whether the event is set.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let e = anyloop::sync::Event::new();
    /// e.set();
    /// assert!(e.is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.inner.set.get()
    }

    /// Waits until the event is set; returns at once if it is.
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: a dropped wait just leaves the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use std::{rc::Rc, time::Duration};
    /// let e = Rc::new(anyloop::sync::Event::new());
    /// let setter = e.clone();
    /// anyloop::spawn(async move {
    ///     anyloop::sleep(Duration::from_millis(5)).await;
    ///     setter.set();
    /// })
    /// .detach();
    /// e.wait().await;
    /// assert!(e.is_set());
    /// # });
    /// ```
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            key: NIL,
        }
    }
}

impl Default for Event {
    /// Same as [`Event::new`].
    fn default() -> Self {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.inner.set.get())
            .field("waiters", &self.inner.waiters.borrow().waiting())
            .finish()
    }
}

/// Future of [`Event::wait`].
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let e = anyloop::sync::Event::new();
/// e.set();
/// let w: anyloop::sync::EventWait<'_> = e.wait();
/// w.await;
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct EventWait<'a> {
    event: &'a Event,
    key: usize,
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let event = self.event;
        if self.key == NIL {
            if event.inner.set.get() {
                return Poll::Ready(());
            }
            self.key = event.inner.waiters.borrow_mut().push(cx.waker());
            return Poll::Pending;
        }
        let woken = event.inner.waiters.borrow_mut().poll(self.key, cx.waker());
        match woken {
            Some(()) => {
                self.key = NIL;
                Poll::Ready(())
            }
            None => Poll::Pending,
        }
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        if self.key != NIL {
            self.event.inner.waiters.borrow_mut().remove(self.key);
        }
    }
}

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("queued", &(self.key != NIL))
            .finish()
    }
}
