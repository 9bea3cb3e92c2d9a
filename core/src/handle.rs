//! [`Handle`]: reach a loop from other threads.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

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
/// # anyloop_core::doctest_run(async {
/// let handle = anyloop_core::Handle::current();
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
    pub fn spawn<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        task::spawn_remote(&self.shared, None, fut)
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
/// # anyloop_core::doctest_run(async {
/// assert_eq!(anyloop_core::Handle::current(), anyloop_core::Handle::current());
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
