//! `call_soon`, `call_later`, `call_at`: callbacks on the loop.

use std::fmt;
use std::time::Duration;

use crate::task::{Builder, TaskRef};
use crate::time::{sleep_until, Instant};

/// A scheduled callback from [`call_soon`], [`call_later`] or [`call_at`]:
/// asyncio's `Handle` / `TimerHandle`. Dropping it leaves the callback
/// scheduled; [`cancel`](Self::cancel) unschedules it.
///
/// (Named `TimerHandle` because [`Handle`](crate::Handle) is the loop handle.)
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use std::time::Duration;
/// let h = anyloop::call_later(Duration::from_secs(5), || unreachable!());
/// assert!(h.cancel());
/// assert!(h.is_cancelled());
/// # });
/// ```
#[derive(Clone)]
pub struct TimerHandle {
    task: TaskRef,
    when: Option<Instant>,
}

impl TimerHandle {
    /// Unschedules the callback; false if it already ran (or was
    /// cancelled). asyncio's `Handle.cancel()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let h = anyloop::call_soon(|| println!("never"));
    /// assert!(h.cancel());
    /// # });
    /// ```
    pub fn cancel(&self) -> bool {
        !self.task.is_cancel_requested() && self.task.cancel()
    }

    /// Whether [`cancel`](Self::cancel) was called in time (asyncio's
    /// `cancelled()`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let h = anyloop::call_soon(|| {});
    /// assert!(!h.is_cancelled());
    /// # });
    /// ```
    #[doc(alias = "cancelled")]
    pub fn is_cancelled(&self) -> bool {
        self.task.is_cancel_requested()
    }

    /// Whether the callback has run (or was cancelled).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let h = anyloop::call_soon(|| {});
    /// anyloop::yield_now().await;
    /// assert!(h.is_finished());
    /// # });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// When a timer callback is due (asyncio's `TimerHandle.when()`);
    /// `None` for [`call_soon`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// use anyloop::time::Instant;
    /// let at = Instant::now() + std::time::Duration::from_millis(5);
    /// let h = anyloop::call_at(at, || {});
    /// assert_eq!(h.when(), Some(at));
    /// # });
    /// ```
    pub fn when(&self) -> Option<Instant> {
        self.when
    }
}

impl fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerHandle")
            .field("when", &self.when)
            .field("cancelled", &self.is_cancelled())
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Runs `f` on the loop soon, after the callbacks and tasks already
/// scheduled (FIFO): asyncio's `loop.call_soon(callback)`.
///
/// The callback runs as a small task named `"call_soon"` (it appears in
/// [`all_tasks`](crate::all_tasks) until it has run), with a copy of the
/// caller's task-local context, like asyncio's `context=` default.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use std::{cell::RefCell, rc::Rc};
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let l = log.clone();
/// anyloop::call_soon(move || l.borrow_mut().push("callback"));
/// log.borrow_mut().push("caller");
/// anyloop::yield_now().await;
/// assert_eq!(*log.borrow(), ["caller", "callback"]);
/// # });
/// ```
///
/// # Panics
///
/// Panics outside a running loop, naming the fix.
#[track_caller]
pub fn call_soon(f: impl FnOnce() + 'static) -> TimerHandle {
    let task = Builder::new().name("call_soon").spawn(async move { f() });
    TimerHandle {
        task: task.task_ref(),
        when: None,
    }
}

/// Runs `f` after `delay`: asyncio's `loop.call_later(delay, callback)`.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// let fired = Rc::new(Cell::new(false));
/// let f = fired.clone();
/// anyloop::call_later(Duration::from_millis(10), move || f.set(true));
/// anyloop::sleep(Duration::from_millis(5)).await;
/// assert!(!fired.get());
/// anyloop::sleep(Duration::from_millis(10)).await;
/// assert!(fired.get());
/// # });
/// ```
///
/// # Panics
///
/// Panics outside a running loop, naming the fix.
#[track_caller]
pub fn call_later(delay: Duration, f: impl FnOnce() + 'static) -> TimerHandle {
    call_at(Instant::now() + delay, f)
}

/// Runs `f` at `when` (on the loop's clock, [`Instant::now`]): asyncio's
/// `loop.call_at(when, callback)`. Callbacks due at the same instant run
/// in the order they were scheduled.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use anyloop::time::Instant;
/// use std::{cell::RefCell, rc::Rc, time::Duration};
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let at = Instant::now() + Duration::from_millis(10);
/// for i in 0..3 {
///     let l = log.clone();
///     anyloop::call_at(at, move || l.borrow_mut().push(i));
/// }
/// anyloop::sleep(Duration::from_millis(20)).await;
/// assert_eq!(*log.borrow(), [0, 1, 2]);
/// # });
/// ```
///
/// # Panics
///
/// Panics outside a running loop, naming the fix.
#[track_caller]
pub fn call_at(when: Instant, f: impl FnOnce() + 'static) -> TimerHandle {
    let task = Builder::new().name("call_later").spawn(async move {
        sleep_until(when).await;
        f()
    });
    TimerHandle {
        task: task.task_ref(),
        when: Some(when),
    }
}
