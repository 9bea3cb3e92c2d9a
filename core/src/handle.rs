//! [`Handle`]: reach a loop from other threads.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use crate::debug::{ExceptionContext, ExceptionHandler, Warning, WarningHandler};
use crate::driver::{self, Shared};
use crate::task::{self, Task};

/// A `Send + Sync + Clone` handle to an event loop, for other threads:
/// asyncio's `loop.call_soon_threadsafe` and
/// `asyncio.run_coroutine_threadsafe`.
///
/// Work sent through a handle goes through the loop's injection queue and
/// wakes the loop at once, even while it is parked on a long timer.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let handle = anyloop::Handle::current();
/// let worker = std::thread::spawn(move || {
///     handle.spawn(async { 40 + 2 })
/// });
/// let task = worker.join().unwrap();
/// assert_eq!(task.await.unwrap(), 42);
/// # });
/// ```
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Handle {
    pub(crate) fn from_shared(shared: Arc<Shared>) -> Self {
        Handle { shared }
    }

    /// The handle of the loop running on this thread.
    ///
    /// # Panics
    ///
    /// Panics outside a running loop, naming the fix.
    #[doc(alias = "get_running_loop")]
    #[track_caller]
    pub fn current() -> Handle {
        driver::with_current(|l| Handle {
            shared: l.shared.clone(),
        })
    }

    /// The handle of the loop running on this thread, if any.
    #[doc(alias = "get_event_loop")]
    pub fn try_current() -> Option<Handle> {
        driver::try_with_current(|l| Handle {
            shared: l.shared.clone(),
        })
    }

    /// Runs `f` on the loop's thread soon, from any thread (asyncio's
    /// `call_soon_threadsafe`). The returned task can be cancelled before it runs.
    #[track_caller]
    pub fn call_soon_threadsafe<F>(&self, f: F) -> Task<()>
    where
        F: FnOnce() + Send + 'static,
    {
        self.spawn(async move { f() })
    }

    /// Spawns a `Send` future onto the loop from any thread (asyncio's
    /// `run_coroutine_threadsafe`). Await the returned [`Task`] anywhere:
    /// on this loop, on another anyloop loop, or from a plain thread with
    /// any executor (it is asyncio's thread-safe `concurrent.futures.Future`).
    #[doc(alias = "run_coroutine_threadsafe")]
    #[track_caller]
    pub fn spawn<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        task::spawn_remote(&self.shared, None, std::panic::Location::caller(), fut)
    }

    /// Sets the loop's exception handler (asyncio's
    /// `loop.set_exception_handler`); `None` restores the default,
    /// [`default_exception_handler`](crate::debug::default_exception_handler).
    /// The loop calls it with an [`ExceptionContext`](crate::debug::ExceptionContext)
    /// for errors nobody else receives, such as "Task exception was never
    /// retrieved" (see [`debug`](crate::debug)). It may run on any thread
    /// that drops such an error; a panic inside it is caught and reported
    /// by the default handler.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// use std::sync::{Arc, Mutex};
    /// use anyloop::debug::ExceptionContext;
    /// # anyloop_core::doctest_run(async {
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let s = seen.clone();
    /// anyloop::Handle::current().set_exception_handler(Some(move |ctx: &ExceptionContext| {
    ///     s.lock().unwrap().push(ctx.message().to_string());
    /// }));
    /// anyloop::Handle::current().call_exception_handler(ExceptionContext::new("oops"));
    /// assert_eq!(*seen.lock().unwrap(), ["oops"]);
    /// # });
    /// ```
    pub fn set_exception_handler<F>(&self, handler: Option<F>)
    where
        F: Fn(&ExceptionContext) + Send + Sync + 'static,
    {
        self.shared
            .handlers
            .set_exception(handler.map(|h| Arc::new(h) as ExceptionHandler));
    }

    /// The handler set by [`set_exception_handler`](Self::set_exception_handler),
    /// if any (asyncio's `loop.get_exception_handler`).
    #[doc(alias = "get_exception_handler")]
    pub fn exception_handler(&self) -> Option<ExceptionHandler> {
        self.shared.handlers.exception()
    }

    /// Reports `ctx` to the loop's exception handler, or to the default
    /// one (asyncio's `loop.call_exception_handler`). Never panics: a
    /// panicking handler is itself reported by the default handler.
    pub fn call_exception_handler(&self, ctx: ExceptionContext) {
        self.shared.handlers.call_exception(ctx);
    }

    /// Sets where the loop sends debug-mode [`Warning`](crate::debug::Warning)s
    /// (slow polls, tasks pending at close); `None` restores the default,
    /// the diagnostic output ([`set_output`](crate::debug::set_output)).
    /// Like asyncio's logging handler on the `asyncio` logger.
    ///
    /// # Examples
    ///
    /// See [`debug`](crate::debug).
    pub fn set_warning_handler<F>(&self, handler: Option<F>)
    where
        F: Fn(&Warning) + Send + Sync + 'static,
    {
        self.shared
            .handlers
            .set_warning(handler.map(|h| Arc::new(h) as WarningHandler));
    }

    /// Wakes the loop if it is parked (e.g. after changing state it polls).
    pub fn wake(&self) {
        self.shared.wake_loop();
    }
}

/// Two handles are equal when they reach the same loop.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// assert_eq!(anyloop::Handle::current(), anyloop::Handle::current());
/// # });
/// ```
impl PartialEq for Handle {
    fn eq(&self, other: &Handle) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl Eq for Handle {}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync + Clone>() {}
    is::<Handle>();
}
