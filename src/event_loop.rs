//! asyncio's event loop object: [`get_running_loop`] and [`RunningLoop`],
//! the low-level half of asyncio for library and framework authors.
//!
//! # Design
//!
//! - A [`RunningLoop`] is a cheap-`Clone`, single-thread (`!Send`) handle to
//!   the loop running on this thread; [`Handle`] is its `Send` counterpart
//!   for other threads ([`RunningLoop::handle`]).
//! - Most of asyncio's loop methods already exist as free functions
//!   ([`call_soon`](crate::call_soon), [`spawn`](crate::spawn), ...): the
//!   methods here call them, so code ported from asyncio can keep its
//!   `loop.method(...)` shape.
//! - The per-loop state asyncio keeps on the loop object (the default
//!   executor, the `add_reader` callbacks) lives in a thread-local slot
//!   tied to the running loop's identity (one loop per thread, as in
//!   asyncio): it is created on first use and replaced when another loop
//!   runs on the thread.
//! - `add_reader`/`add_writer` callbacks are level-triggered, as in
//!   asyncio: a callback that leaves data unread is called again on the
//!   next loop iteration. Each runs as a small task, so a panicking
//!   callback ends only its own watch.
//! - `sock_*` work on non-blocking std sockets the caller owns; they wait
//!   through the same descriptor watch (asyncio implements them with
//!   `add_reader` too).
//!
//! # Hosts
//!
//! | | native (Unix) | Windows | WASI (p1) | web |
//! |---|---|---|---|---|
//! | `add_reader` / `add_writer` | any pollable fd (`epoll`/`kqueue` + `poll(2)`) | sockets (`RawSocket`; IOCP/AFD + `WSAPoll`), as asyncio's `SelectorEventLoop` | stdio and preopened sockets (`poll_oneoff`) | `Unsupported` |
//! | `sock_recv` / `sock_sendall` / `sock_accept` | yes | yes | over preopened listeners | `Unsupported` |
//! | `sock_connect` | yes | yes | `Unsupported` | `Unsupported` |
//! | `sock_sendto` / `sock_recvfrom` / `sock_recvfrom_into` | yes | yes | no UDP socket to pass in (std cannot bind one there) | `Unsupported` |
//! | `run_in_executor(None, f)` | blocking pool | blocking pool | `Unsupported` (no threads) | `Unsupported` |

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use crate::backend::fd::FdWatch;
pub use crate::backend::fd::RawFd;
use crate::future::Promise;
use crate::time::Instant;
use crate::{Handle, Task, TimerHandle};

/// The loop running on this thread: asyncio's `asyncio.get_running_loop()`.
///
/// # Examples
///
/// ```
/// anyloop::run(async {
///     let lp = anyloop::get_running_loop();
///     let fut = lp.create_future();
///     let f2 = fut.clone();
///     lp.call_soon(move || { let _ = f2.set(7); });
///     assert_eq!(fut.wait().await, Ok(7));
/// });
/// ```
///
/// # Panics
///
/// Outside a running loop (asyncio raises `RuntimeError: no running event
/// loop`); use [`try_get_running_loop`] to test for one.
#[track_caller]
#[doc(alias = "get_event_loop")]
pub fn get_running_loop() -> RunningLoop {
    match try_get_running_loop() {
        Some(lp) => lp,
        None => panic!(
            "anyloop::get_running_loop: no event loop is running on this thread; call it \
             inside `anyloop::run(async {{ ... }})`, `#[anyloop::main]`, or a task"
        ),
    }
}

/// The loop running on this thread, or `None`.
///
/// # Examples
///
/// ```
/// assert!(anyloop::try_get_running_loop().is_none());
/// anyloop::run(async { assert!(anyloop::try_get_running_loop().is_some()) });
/// ```
pub fn try_get_running_loop() -> Option<RunningLoop> {
    let handle = Handle::try_current()?;
    let state = STATE.with(|slot| {
        let mut slot = slot.borrow_mut();
        match &*slot {
            Some((h, st)) if *h == handle => st.clone(),
            _ => {
                let st = Rc::new(LoopState::default());
                *slot = Some((handle.clone(), st.clone()));
                st
            }
        }
    });
    Some(RunningLoop { handle, state })
}

/// asyncio's `asyncio.wrap_future(fut)`: a [`Promise`] of the running loop
/// that gets `fut`'s output, wherever `fut` is completed from; cancelling
/// the promise drops `fut`. See [`RunningLoop::wrap_future`].
///
/// # Panics
///
/// Outside a running loop, naming the fix.
///
/// # Examples
///
/// ```
/// # anyloop::run(async {
/// // A result produced on another thread, awaited by two tasks.
/// let (tx, rx) = anyloop::oneshot::channel();
/// let p = anyloop::wrap_future(rx);
/// let other = anyloop::spawn({
///     let p = p.clone();
///     async move { p.wait().await }
/// });
/// std::thread::spawn(move || tx.send("done").unwrap());
/// assert_eq!(p.wait().await, Ok(Ok("done")));
/// assert_eq!(other.await.unwrap(), Ok(Ok("done")));
/// # });
/// ```
#[track_caller]
pub fn wrap_future<F>(fut: F) -> Promise<F::Output>
where
    F: Future + 'static,
    F::Output: Clone + 'static,
{
    let promise = Promise::new();
    // Cancels the promise if the task ends without a value (`fut`
    // panicked, or the loop closed), so no waiter hangs.
    struct Settle<T>(Promise<T>);
    impl<T> Drop for Settle<T> {
        fn drop(&mut self) {
            self.0.cancel();
        }
    }
    let p = Settle(promise.clone());
    let mut cancelled = promise.wait();
    let mut fut = Box::pin(fut);
    // The task ends (dropping `fut`) when `fut` finishes or the promise is
    // cancelled; it needs no handle.
    drop(
        crate::task::Builder::new()
            .name("wrap_future")
            .spawn(poll_fn(move |cx| {
                if Pin::new(&mut cancelled).poll(cx).is_ready() {
                    return Poll::Ready(());
                }
                let v = std::task::ready!(fut.as_mut().poll(cx));
                let _ = p.0.set(v);
                Poll::Ready(())
            })),
    );
    promise
}

thread_local! {
    static STATE: RefCell<Option<(Handle, Rc<LoopState>)>> = const { RefCell::new(None) };
}

#[derive(Default)]
struct LoopState {
    /// Watched descriptors (`add_reader`, `add_writer`, `sock_*` waits).
    fds: RefCell<HashMap<RawFd, FdEntry>>,
    executor: RefCell<Option<Rc<dyn Executor>>>,
    executor_shut: Cell<bool>,
    jobs: Arc<Jobs>,
}

#[derive(Default)]
struct FdEntry {
    /// Held strongly by the callback tasks and `sock_*` waits; weak here so
    /// that the registration ends with its last user.
    watch: Weak<FdWatch>,
    reader: Option<Task<()>>,
    writer: Option<Task<()>>,
}

/// Jobs of the default executor still running (for
/// `shutdown_default_executor`).
#[derive(Default)]
struct Jobs {
    running: AtomicUsize,
    idle: Mutex<Vec<Waker>>,
}

/// Counts one running job; dropped on the executor's thread when it ends.
struct JobGuard(Arc<Jobs>);

impl Drop for JobGuard {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            let wakers =
                std::mem::take(&mut *self.0.idle.lock().unwrap_or_else(|e| e.into_inner()));
            wakers.into_iter().for_each(Waker::wake);
        }
    }
}

/// Where [`RunningLoop::run_in_executor`] runs blocking functions: asyncio's
/// `concurrent.futures.Executor`. Implement it to hand work to your own
/// thread pool (rayon, a GUI toolkit's worker, a dedicated thread).
///
/// # Examples
///
/// An executor with one thread per job:
///
/// ```
/// use anyloop::{Executor, Job};
///
/// struct ThreadPerJob;
/// impl Executor for ThreadPerJob {
///     fn execute(&self, job: Job) -> std::io::Result<()> {
///         std::thread::Builder::new().spawn(job).map(drop)
///     }
/// }
///
/// anyloop::run(async {
///     let lp = anyloop::get_running_loop();
///     let n = lp.run_in_executor(Some(&ThreadPerJob), || 6 * 7).await.unwrap();
///     assert_eq!(n, 42);
/// });
/// ```
pub trait Executor: 'static {
    /// Runs `job` soon, typically on another thread. Dropping `job`
    /// without running it fails the caller's `run_in_executor` with an
    /// error.
    ///
    /// # Errors
    ///
    /// An executor that cannot take the job (shut down, full) says why;
    /// `run_in_executor` returns the error.
    fn execute(&self, job: Job) -> io::Result<()>;
}

/// A function [`Executor::execute`] runs once.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// A handle to the event loop running on this thread: asyncio's loop
/// object (`AbstractEventLoop`), from [`get_running_loop`].
///
/// Cheap to clone; stays on its thread (use [`handle`](Self::handle) for
/// other threads).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// anyloop::run(async {
///     let lp = anyloop::get_running_loop();
///     let start = lp.time();
///     let done = lp.create_future();
///     let d = done.clone();
///     lp.call_later(Duration::from_millis(10), move || { let _ = d.set(()); });
///     done.wait().await.unwrap();
///     assert!(lp.time() - start >= Duration::from_millis(10));
/// });
/// ```
#[derive(Clone)]
#[doc(alias = "AbstractEventLoop")]
pub struct RunningLoop {
    handle: Handle,
    state: Rc<LoopState>,
}

impl fmt::Debug for RunningLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningLoop")
            .field("watched_fds", &self.state.fds.borrow().len())
            .field("executor_shut_down", &self.state.executor_shut.get())
            .finish_non_exhaustive()
    }
}

impl RunningLoop {
    /// The loop's clock (asyncio's `loop.time()`): a monotonic
    /// [`Instant`], the clock timers use.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let lp = anyloop::get_running_loop();
    /// assert!(lp.time() <= anyloop::time::Instant::now());
    /// # });
    /// ```
    pub fn time(&self) -> Instant {
        Instant::now()
    }

    /// The thread-safe [`Handle`] of this loop (`call_soon_threadsafe`,
    /// `run_coroutine_threadsafe` from other threads).
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let h = anyloop::get_running_loop().handle();
    /// let t = std::thread::spawn(move || h.spawn(async { 1 + 1 })).join().unwrap();
    /// assert_eq!(t.await.unwrap(), 2);
    /// # });
    /// ```
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Runs `f` on the next loop iteration (asyncio's `loop.call_soon`);
    /// see [`crate::call_soon`].
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let h = anyloop::get_running_loop().call_soon(|| println!("soon"));
    /// anyloop::yield_now().await;
    /// assert!(h.is_finished());
    /// # });
    /// ```
    pub fn call_soon<F: FnOnce() + 'static>(&self, f: F) -> TimerHandle {
        crate::call_soon(f)
    }

    /// Runs `f` after `delay` (asyncio's `loop.call_later`); see
    /// [`crate::call_later`].
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let h = anyloop::get_running_loop().call_later(std::time::Duration::from_secs(60), || {});
    /// assert!(h.cancel());
    /// # });
    /// ```
    pub fn call_later<F: FnOnce() + 'static>(&self, delay: Duration, f: F) -> TimerHandle {
        crate::call_later(delay, f)
    }

    /// Runs `f` at `when` on the loop's clock (asyncio's `loop.call_at`);
    /// see [`crate::call_at`].
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let lp = anyloop::get_running_loop();
    /// let h = lp.call_at(lp.time() + std::time::Duration::from_secs(60), || {});
    /// assert!(h.cancel());
    /// # });
    /// ```
    pub fn call_at<F: FnOnce() + 'static>(&self, when: Instant, f: F) -> TimerHandle {
        crate::call_at(when, f)
    }

    /// A new pending [`Promise`] (asyncio's `loop.create_future()`).
    ///
    /// # Examples
    ///
    /// See [`RunningLoop`].
    pub fn create_future<T>(&self) -> Promise<T> {
        Promise::new()
    }

    /// Spawns `fut` as a task (asyncio's `loop.create_task`); see
    /// [`crate::spawn`].
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let t = anyloop::get_running_loop().create_task(async { 5 });
    /// assert_eq!(t.await.unwrap(), 5);
    /// # });
    /// ```
    #[track_caller]
    pub fn create_task<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        crate::spawn(fut)
    }

    /// Runs the blocking function `f` on `executor`, or with `None` on the
    /// loop's default executor (the one set by
    /// [`set_default_executor`](Self::set_default_executor), else
    /// anyloop's blocking pool, as [`to_thread`](crate::to_thread)), and
    /// awaits its result: asyncio's `loop.run_in_executor(executor, f)`.
    ///
    /// # Errors
    ///
    /// - `Unsupported` for the default pool on hosts without threads (WASI,
    ///   web); a custom executor works there;
    /// - the executor's own error, or `Other` if it dropped the job or the
    ///   job panicked;
    /// - `Other` after [`shutdown_default_executor`](Self::shutdown_default_executor)
    ///   (for `None`).
    ///
    /// # Cancellation
    ///
    /// Dropping the future does not stop `f` (threads cannot be
    /// cancelled); its result is discarded.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let lp = anyloop::get_running_loop();
    /// match lp.run_in_executor(None, || std::thread::current().id()).await {
    ///     Ok(id) => assert_ne!(id, std::thread::current().id()),
    ///     Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::Unsupported), // WASI, web
    /// }
    /// # });
    /// ```
    pub async fn run_in_executor<T, F>(
        &self,
        executor: Option<&dyn Executor>,
        f: F,
    ) -> io::Result<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if let Some(ex) = executor {
            return execute_on(ex, f).await;
        }
        if self.state.executor_shut.get() {
            return Err(io::Error::other(
                "run_in_executor: the default executor was shut down \
                 (shutdown_default_executor)",
            ));
        }
        self.state.jobs.running.fetch_add(1, Ordering::AcqRel);
        let guard = JobGuard(self.state.jobs.clone());
        let job = move || {
            let _guard = guard;
            f()
        };
        let custom = self.state.executor.borrow().clone();
        match custom {
            Some(ex) => execute_on(&*ex, job).await,
            None => crate::to_thread(job).await,
        }
    }

    /// Makes `executor` the default of [`run_in_executor`](Self::run_in_executor)
    /// on this loop (asyncio's `loop.set_default_executor`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop::{Executor, Job};
    /// struct Inline;
    /// impl Executor for Inline {
    ///     fn execute(&self, job: Job) -> std::io::Result<()> { job(); Ok(()) }
    /// }
    /// anyloop::run(async {
    ///     let lp = anyloop::get_running_loop();
    ///     lp.set_default_executor(Inline);
    ///     // Works on every host, even without threads.
    ///     assert_eq!(lp.run_in_executor(None, || 3).await.unwrap(), 3);
    /// });
    /// ```
    pub fn set_default_executor(&self, executor: impl Executor) {
        *self.state.executor.borrow_mut() = Some(Rc::new(executor));
    }

    /// Refuses new default-executor jobs and waits until the running ones
    /// have finished (asyncio's `loop.shutdown_default_executor()`, which
    /// `asyncio.run` calls at the end). Later `run_in_executor(None, ..)`
    /// calls fail.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let lp = anyloop::get_running_loop();
    /// let lp2 = lp.clone();
    /// let job = anyloop::spawn(async move {
    ///     lp2.run_in_executor(None, || std::thread::sleep(std::time::Duration::from_millis(20))).await
    /// });
    /// anyloop::yield_now().await;
    /// lp.shutdown_default_executor().await;
    /// assert!(lp.run_in_executor(None, || ()).await.is_err());
    /// # let _ = job.await;
    /// # });
    /// ```
    pub async fn shutdown_default_executor(&self) {
        self.state.executor_shut.set(true);
        let jobs = self.state.jobs.clone();
        poll_fn(|cx| {
            let mut idle = jobs.idle.lock().unwrap_or_else(|e| e.into_inner());
            if jobs.running.load(Ordering::Acquire) == 0 {
                return Poll::Ready(());
            }
            if !idle.iter().any(|w| w.will_wake(cx.waker())) {
                idle.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }

    /// Switches debug mode on or off for this loop (asyncio's
    /// `loop.set_debug`): see [`debug`](crate::debug).
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let lp = anyloop::get_running_loop();
    /// lp.set_debug(true);
    /// assert!(lp.is_debug());
    /// lp.set_debug(false);
    /// assert!(!lp.is_debug());
    /// # });
    /// ```
    pub fn set_debug(&self, on: bool) {
        crate::debug::set_debug(on);
    }

    /// Whether debug mode is on for this loop (asyncio's `loop.get_debug`).
    ///
    /// # Examples
    ///
    /// See [`set_debug`](Self::set_debug).
    #[doc(alias = "get_debug")]
    pub fn is_debug(&self) -> bool {
        crate::debug::is_debug()
    }

    /// Sets how long one task poll may take before debug mode warns about
    /// it (asyncio's `loop.slow_callback_duration`, default 100 ms).
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// use std::time::Duration;
    /// let lp = anyloop::get_running_loop();
    /// lp.set_slow_callback_duration(Duration::from_millis(20));
    /// assert_eq!(lp.slow_callback_duration(), Duration::from_millis(20));
    /// # });
    /// ```
    #[doc(alias = "slow_callback_duration")]
    pub fn set_slow_callback_duration(&self, d: Duration) {
        crate::debug::set_slow_callback_duration(d);
    }

    /// The slow-callback duration of debug mode (asyncio's
    /// `loop.slow_callback_duration`).
    pub fn slow_callback_duration(&self) -> Duration {
        crate::debug::slow_callback_duration()
    }

    /// Sets this loop's exception handler (asyncio's
    /// `loop.set_exception_handler`); `None` restores the default,
    /// [`default_exception_handler`](Self::default_exception_handler). The
    /// loop calls it for errors nobody else receives, such as "Task
    /// exception was never retrieved"; see [`Handle::set_exception_handler`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use anyloop::debug::ExceptionContext;
    /// # anyloop::run(async {
    /// let lp = anyloop::get_running_loop();
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let s = seen.clone();
    /// lp.set_exception_handler(Some(move |ctx: &ExceptionContext| {
    ///     s.lock().unwrap().push(ctx.message().to_string());
    /// }));
    /// assert!(lp.exception_handler().is_some());
    /// lp.call_exception_handler(ExceptionContext::new("oops"));
    /// assert_eq!(*seen.lock().unwrap(), ["oops"]);
    /// lp.set_exception_handler(None::<fn(&ExceptionContext)>);
    /// assert!(lp.exception_handler().is_none());
    /// # });
    /// ```
    pub fn set_exception_handler<F>(&self, handler: Option<F>)
    where
        F: Fn(&crate::debug::ExceptionContext) + Send + Sync + 'static,
    {
        self.handle.set_exception_handler(handler);
    }

    /// The handler set by [`set_exception_handler`](Self::set_exception_handler),
    /// if any (asyncio's `loop.get_exception_handler`).
    ///
    /// # Examples
    ///
    /// See [`set_exception_handler`](Self::set_exception_handler).
    #[doc(alias = "get_exception_handler")]
    pub fn exception_handler(&self) -> Option<crate::debug::ExceptionHandler> {
        self.handle.exception_handler()
    }

    /// Reports `ctx` to this loop's exception handler, or to the default
    /// one (asyncio's `loop.call_exception_handler`). Never panics.
    ///
    /// # Examples
    ///
    /// See [`set_exception_handler`](Self::set_exception_handler).
    pub fn call_exception_handler(&self, ctx: crate::debug::ExceptionContext) {
        self.handle.call_exception_handler(ctx);
    }

    /// The default exception handler (asyncio's
    /// `loop.default_exception_handler`): writes `ctx` to the diagnostic
    /// output ([`debug::set_output`](crate::debug::set_output)). A custom
    /// handler can call it for the contexts it does not handle itself.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyloop::debug::ExceptionContext;
    /// # anyloop::run(async {
    /// let lp = anyloop::get_running_loop();
    /// lp.set_exception_handler(Some(|ctx: &ExceptionContext| {
    ///     if !ctx.message().starts_with("expected") {
    ///         anyloop::debug::default_exception_handler(ctx);
    ///     }
    /// }));
    /// lp.default_exception_handler(&ExceptionContext::new("printed (expected in the doc test)"));
    /// # });
    /// ```
    pub fn default_exception_handler(&self, ctx: &crate::debug::ExceptionContext) {
        crate::debug::default_exception_handler(ctx);
    }

    /// Turns `fut`, a future completed from anywhere (another thread,
    /// another loop, another runtime: a [`oneshot::Receiver`](crate::oneshot::Receiver),
    /// a [`Handle::spawn`]ed [`Task`]), into a [`Promise`] of this loop
    /// (asyncio's `asyncio.wrap_future`): its value is set when `fut`
    /// finishes, any number of tasks await it, and cancelling the promise
    /// drops `fut` (asyncio's wrapper cancels the concurrent future too).
    ///
    /// `fut` is polled by a task of this loop; a wake from any thread
    /// reaches it through the loop's injection queue.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let (tx, rx) = anyloop::oneshot::channel();
    /// let p = anyloop::get_running_loop().wrap_future(rx);
    /// std::thread::spawn(move || tx.send(6 * 7).unwrap());
    /// assert_eq!(p.wait().await, Ok(Ok(42)));
    /// # });
    /// ```
    #[track_caller]
    pub fn wrap_future<F>(&self, fut: F) -> Promise<F::Output>
    where
        F: Future + 'static,
        F::Output: Clone + 'static,
    {
        wrap_future(fut)
    }

    /// Calls `callback` whenever `fd` is readable (asyncio's
    /// `loop.add_reader`), until [`remove_reader`](Self::remove_reader).
    /// Level-triggered: a callback that leaves data unread runs again on
    /// the next iteration. A second `add_reader` on `fd` replaces the
    /// callback.
    ///
    /// `fd` must stay open until `remove_reader`, and must not be an
    /// anyloop socket (those are watched already).
    ///
    /// # Errors
    ///
    /// - `Unsupported` in the browser (no descriptors);
    /// - the poller's error natively (`PermissionDenied` for regular files,
    ///   which epoll cannot watch; `AlreadyExists` for anyloop sockets).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(unix)]
    /// anyloop::run(async {
    ///     use std::io::{Read, Write};
    ///     use std::os::fd::AsRawFd;
    ///     let (mut rx, mut tx) = std::os::unix::net::UnixStream::pair()?;
    ///     let lp = anyloop::get_running_loop();
    ///     let got = lp.create_future();
    ///     let g = got.clone();
    ///     let fd = rx.as_raw_fd();
    ///     lp.add_reader(fd, move || {
    ///         let mut buf = [0u8; 16];
    ///         let n = rx.read(&mut buf).unwrap();
    ///         let _ = g.set(buf[..n].to_vec());
    ///     })?;
    ///     tx.write_all(b"ping")?;
    ///     assert_eq!(got.wait().await.unwrap(), b"ping");
    ///     assert!(lp.remove_reader(fd));
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn add_reader<F: FnMut() + 'static>(&self, fd: RawFd, callback: F) -> io::Result<()> {
        self.add_watch(fd, false, callback)
    }

    /// Calls `callback` whenever `fd` is writable (asyncio's
    /// `loop.add_writer`); see [`add_reader`](Self::add_reader).
    ///
    /// # Errors
    ///
    /// As [`add_reader`](Self::add_reader).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(unix)]
    /// anyloop::run(async {
    ///     use std::os::fd::AsRawFd;
    ///     let (_rx, tx) = std::os::unix::net::UnixStream::pair()?;
    ///     let lp = anyloop::get_running_loop();
    ///     let writable = lp.create_future();
    ///     let w = writable.clone();
    ///     lp.add_writer(tx.as_raw_fd(), move || { let _ = w.set(()); })?;
    ///     writable.wait().await.unwrap();
    ///     assert!(lp.remove_writer(tx.as_raw_fd()));
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn add_writer<F: FnMut() + 'static>(&self, fd: RawFd, callback: F) -> io::Result<()> {
        self.add_watch(fd, true, callback)
    }

    /// Stops calling the `add_reader` callback of `fd`; false if there was
    /// none (asyncio's `loop.remove_reader`).
    ///
    /// # Examples
    ///
    /// See [`add_reader`](Self::add_reader).
    pub fn remove_reader(&self, fd: RawFd) -> bool {
        self.remove_watch(fd, false)
    }

    /// Stops calling the `add_writer` callback of `fd`; false if there was
    /// none (asyncio's `loop.remove_writer`).
    ///
    /// # Examples
    ///
    /// See [`add_writer`](Self::add_writer).
    pub fn remove_writer(&self, fd: RawFd) -> bool {
        self.remove_watch(fd, true)
    }

    /// The watch of `fd`, shared by its reader, writer and `sock_*` waits.
    fn watch(&self, fd: RawFd) -> io::Result<Rc<FdWatch>> {
        let mut fds = self.state.fds.borrow_mut();
        let entry = fds.entry(fd).or_default();
        if let Some(w) = entry.watch.upgrade() {
            return Ok(w);
        }
        let w = Rc::new(FdWatch::new(fd)?);
        entry.watch = Rc::downgrade(&w);
        Ok(w)
    }

    fn add_watch<F: FnMut() + 'static>(
        &self,
        fd: RawFd,
        write: bool,
        mut callback: F,
    ) -> io::Result<()> {
        let watch = match self.watch(fd) {
            Ok(w) => w,
            Err(e) => {
                self.forget_if_unused(fd);
                return Err(e);
            }
        };
        let name = if write { "add_writer" } else { "add_reader" };
        let task = crate::task::Builder::new()
            .name(format!("anyloop {name}({fd})"))
            .spawn(async move {
                loop {
                    let ready = poll_fn(|cx| {
                        if write {
                            watch.poll_writable(cx)
                        } else {
                            watch.poll_readable(cx)
                        }
                    })
                    .await;
                    if let Err(e) = ready {
                        eprintln!("anyloop: {name}({fd}): {e}; the callback is removed");
                        return;
                    }
                    callback();
                    // Level-triggered, but never starving the other tasks.
                    crate::yield_now().await;
                }
            });
        let mut fds = self.state.fds.borrow_mut();
        let entry = fds.entry(fd).or_default();
        let slot = if write {
            &mut entry.writer
        } else {
            &mut entry.reader
        };
        if let Some(old) = slot.replace(task) {
            old.cancel();
        }
        Ok(())
    }

    fn remove_watch(&self, fd: RawFd, write: bool) -> bool {
        let task = {
            let mut fds = self.state.fds.borrow_mut();
            match fds.get_mut(&fd) {
                Some(e) if write => e.writer.take(),
                Some(e) => e.reader.take(),
                None => None,
            }
        };
        self.forget_if_unused(fd);
        match task {
            Some(t) => {
                t.cancel();
                true
            }
            None => false,
        }
    }

    fn forget_if_unused(&self, fd: RawFd) {
        let mut fds = self.state.fds.borrow_mut();
        if let Some(e) = fds.get(&fd) {
            if e.reader.is_none() && e.writer.is_none() && e.watch.strong_count() == 0 {
                fds.remove(&fd);
            }
        }
    }

    /// Runs the non-blocking `op` on `fd` until it does not return
    /// `WouldBlock`, waiting for readiness in between.
    async fn sock_io<R>(
        &self,
        fd: RawFd,
        write: bool,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        let mut watch = None;
        loop {
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                res => return res,
            }
            let w = match &watch {
                Some(w) => w,
                None => watch.insert(self.watch(fd)?),
            };
            poll_fn(|cx| {
                if write {
                    w.poll_writable(cx)
                } else {
                    w.poll_readable(cx)
                }
            })
            .await?;
        }
    }

    /// Receives up to `n` bytes from a non-blocking socket (asyncio's
    /// `loop.sock_recv`); empty at end of stream.
    ///
    /// # Errors
    ///
    /// The OS error of `recv`; `Unsupported` in the browser.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let lp = anyloop::get_running_loop();
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let client = lp.sock_connect(listener.local_addr()?).await?;
    /// listener.set_nonblocking(true)?;
    /// let (server, _) = lp.sock_accept(&listener).await?;
    /// lp.sock_sendall(&client, b"hello").await?;
    /// assert_eq!(lp.sock_recv(&server, 16).await?, b"hello");
    /// # std::io::Result::Ok(()) }).unwrap();
    /// ```
    pub async fn sock_recv<S: Socket>(&self, sock: &S, n: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; n];
        let got = self.sock_recv_into(sock, &mut buf).await?;
        buf.truncate(got);
        Ok(buf)
    }

    /// Receives into `buf` from a non-blocking socket (asyncio's
    /// `loop.sock_recv_into`); 0 at end of stream.
    ///
    /// # Errors
    ///
    /// The OS error of `recv`; `Unsupported` in the browser.
    ///
    /// # Examples
    ///
    /// See [`sock_recv`](Self::sock_recv).
    pub async fn sock_recv_into<S: Socket>(&self, sock: &S, buf: &mut [u8]) -> io::Result<usize> {
        no_sockets_here()?;
        self.sock_io(sock.raw_fd(), false, || sock.recv(buf)).await
    }

    /// Sends all of `data` on a non-blocking socket (asyncio's
    /// `loop.sock_sendall`).
    ///
    /// # Errors
    ///
    /// The OS error of `send`; `WriteZero` if the socket takes nothing;
    /// `Unsupported` in the browser.
    ///
    /// # Cancellation
    ///
    /// Dropping the future may leave part of `data` sent.
    ///
    /// # Examples
    ///
    /// See [`sock_recv`](Self::sock_recv).
    pub async fn sock_sendall<S: Socket>(&self, sock: &S, mut data: &[u8]) -> io::Result<()> {
        no_sockets_here()?;
        while !data.is_empty() {
            let n = self
                .sock_io(sock.raw_fd(), true, || sock.send(data))
                .await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            data = &data[n..];
        }
        Ok(())
    }

    /// Receives one datagram of up to `n` bytes and its sender from a
    /// non-blocking UDP socket (asyncio's `loop.sock_recvfrom`); a longer
    /// datagram is cut to `n` bytes, as `recvfrom` does (Windows may report
    /// it as an error, `WSAEMSGSIZE`, instead).
    ///
    /// # Errors
    ///
    /// The OS error of `recvfrom`; `Unsupported` in the browser.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let lp = anyloop::get_running_loop();
    /// let a = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let b = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// a.set_nonblocking(true)?;
    /// b.set_nonblocking(true)?;
    /// lp.sock_sendto(&a, b"ping", b.local_addr()?).await?;
    /// let (data, from) = lp.sock_recvfrom(&b, 64).await?;
    /// assert_eq!((&data[..], from), (&b"ping"[..], a.local_addr()?));
    /// # std::io::Result::Ok(()) }).unwrap();
    /// ```
    pub async fn sock_recvfrom(
        &self,
        sock: &std::net::UdpSocket,
        n: usize,
    ) -> io::Result<(Vec<u8>, SocketAddr)> {
        let mut buf = vec![0u8; n];
        let (got, from) = self.sock_recvfrom_into(sock, &mut buf).await?;
        buf.truncate(got);
        Ok((buf, from))
    }

    /// Receives one datagram into `buf` (cut to its length) and its sender
    /// from a non-blocking UDP socket (asyncio's `loop.sock_recvfrom_into`).
    ///
    /// # Errors
    ///
    /// The OS error of `recvfrom`; `Unsupported` in the browser.
    ///
    /// # Examples
    ///
    /// See [`sock_recvfrom`](Self::sock_recvfrom).
    pub async fn sock_recvfrom_into(
        &self,
        sock: &std::net::UdpSocket,
        buf: &mut [u8],
    ) -> io::Result<(usize, SocketAddr)> {
        no_sockets_here()?;
        self.sock_io(sock.raw_fd(), false, || sock.recv_from(buf))
            .await
    }

    /// Sends `data` as one datagram to `addr` on a non-blocking UDP socket
    /// (asyncio's `loop.sock_sendto`); returns the bytes sent.
    ///
    /// # Errors
    ///
    /// The OS error of `sendto` (a datagram too large for the network is
    /// an error, not cut); `Unsupported` in the browser.
    ///
    /// # Examples
    ///
    /// See [`sock_recvfrom`](Self::sock_recvfrom).
    pub async fn sock_sendto(
        &self,
        sock: &std::net::UdpSocket,
        data: &[u8],
        addr: SocketAddr,
    ) -> io::Result<usize> {
        no_sockets_here()?;
        self.sock_io(sock.raw_fd(), true, || sock.send_to(data, addr))
            .await
    }

    /// Accepts a connection on a non-blocking std listener (asyncio's
    /// `loop.sock_accept`); the new socket is non-blocking too.
    ///
    /// # Errors
    ///
    /// The OS error of `accept`; `Unsupported` in the browser.
    ///
    /// # Examples
    ///
    /// See [`sock_recv`](Self::sock_recv).
    pub async fn sock_accept(
        &self,
        listener: &std::net::TcpListener,
    ) -> io::Result<(std::net::TcpStream, SocketAddr)> {
        no_sockets_here()?;
        let (s, a) = self
            .sock_io(listener.raw_fd(), false, || listener.accept())
            .await?;
        s.set_nonblocking(true)?;
        Ok((s, a))
    }

    /// Connects a new non-blocking std TCP socket to `addr` (asyncio's
    /// `loop.sock_connect`, which takes an unconnected socket; std has no
    /// such type, so this creates it).
    ///
    /// # Errors
    ///
    /// The OS error of `connect`; `Unsupported` where outgoing TCP is not
    /// available (WASI p1, web).
    ///
    /// # Examples
    ///
    /// See [`sock_recv`](Self::sock_recv).
    pub async fn sock_connect(&self, addr: SocketAddr) -> io::Result<std::net::TcpStream> {
        let caps = crate::capabilities();
        if !caps.tcp_connect {
            return Err(caps.unsupported("outgoing TCP connections (sock_connect)"));
        }
        #[cfg(not(target_family = "wasm"))]
        return crate::net::TcpStream::connect_addr(addr).await?.into_std();
        #[cfg(target_family = "wasm")]
        {
            let _ = addr;
            Err(caps.unsupported("outgoing TCP connections (sock_connect)"))
        }
    }
}

/// `Unsupported` where the host has no sockets at all (the browser).
fn no_sockets_here() -> io::Result<()> {
    let caps = crate::capabilities();
    if caps.tcp_connect || caps.tcp_listen || caps.tcp_preopened {
        Ok(())
    } else {
        Err(caps.unsupported("raw sockets (loop.sock_*)"))
    }
}

/// Runs `f` through `ex` and awaits its result.
async fn execute_on<T, F>(ex: &dyn Executor, f: F) -> io::Result<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = crate::oneshot::channel();
    ex.execute(Box::new(move || {
        let _ = tx.send(f());
    }))?;
    rx.await.map_err(|_| {
        io::Error::other("run_in_executor: the job panicked or the executor dropped it")
    })
}

/// A non-blocking std socket the `loop.sock_*` methods can use:
/// `std::net::TcpStream`, `std::net::UdpSocket`, `std::net::TcpListener`
/// and (Unix) `std::os::unix::net::UnixStream`.
pub trait Socket: sealed::Sealed {
    /// The descriptor.
    #[doc(hidden)]
    fn raw_fd(&self) -> RawFd;
    /// One non-blocking receive.
    #[doc(hidden)]
    fn recv(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// One non-blocking send.
    #[doc(hidden)]
    fn send(&self, buf: &[u8]) -> io::Result<usize>;
}

mod sealed {
    pub trait Sealed {}
}

#[cfg(any(unix, target_os = "wasi"))]
fn fd_of(s: &impl std::os::fd::AsRawFd) -> RawFd {
    s.as_raw_fd()
}

/// Windows: the socket handle (asyncio's `SelectorEventLoop` there also
/// takes sockets only).
#[cfg(windows)]
fn fd_of(s: &impl std::os::windows::io::AsRawSocket) -> RawFd {
    s.as_raw_socket()
}

/// The browser has no descriptors; [`no_sockets_here`] stops every call first.
#[cfg(not(any(unix, windows, target_os = "wasi")))]
fn fd_of<T>(_: &T) -> RawFd {
    -1
}

macro_rules! stream_socket {
    ($ty:ty) => {
        impl sealed::Sealed for $ty {}
        impl Socket for $ty {
            fn raw_fd(&self) -> RawFd {
                fd_of(self)
            }
            fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
                io::Read::read(&mut &*self, buf)
            }
            fn send(&self, buf: &[u8]) -> io::Result<usize> {
                io::Write::write(&mut &*self, buf)
            }
        }
    };
}

stream_socket!(std::net::TcpStream);
#[cfg(unix)]
stream_socket!(std::os::unix::net::UnixStream);

impl sealed::Sealed for std::net::UdpSocket {}
impl Socket for std::net::UdpSocket {
    fn raw_fd(&self) -> RawFd {
        fd_of(self)
    }
    fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::net::UdpSocket::recv(self, buf)
    }
    fn send(&self, buf: &[u8]) -> io::Result<usize> {
        std::net::UdpSocket::send(self, buf)
    }
}

impl sealed::Sealed for std::net::TcpListener {}
impl Socket for std::net::TcpListener {
    fn raw_fd(&self) -> RawFd {
        fd_of(self)
    }
    fn recv(&self, _buf: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "sock_recv on a listening socket: use sock_accept",
        ))
    }
    fn send(&self, _buf: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "sock_sendall on a listening socket: use sock_accept",
        ))
    }
}
