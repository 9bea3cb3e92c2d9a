//! The blocking pool: asyncio's `to_thread` / `run_in_executor`.
//!
//! Threads start on demand (up to [`MAX_THREADS`]) and exit after
//! [`IDLE_TIMEOUT`] without work. The result travels back through core's
//! one-shot channel, whose waker wakes the loop through its injection queue.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Condvar, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use anyloop_core::future::oneshot;

/// Most threads the pool runs at once.
pub const MAX_THREADS: usize = 64;
/// How long an idle pool thread waits for work before it exits.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    state: Mutex<PoolState>,
    cv: Condvar,
}

struct PoolState {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        state: Mutex::new(PoolState {
            queue: VecDeque::new(),
            threads: 0,
            idle: 0,
        }),
        cv: Condvar::new(),
    })
}

/// Threads in the blocking pool now, and how many of them are idle (the
/// monitor's `stats`).
pub fn pool_threads() -> (usize, usize) {
    let st = lock(pool());
    (st.threads, st.idle)
}

fn lock(p: &Pool) -> std::sync::MutexGuard<'_, PoolState> {
    p.state.lock().unwrap_or_else(|e| e.into_inner())
}

fn submit(job: Job) {
    let p = pool();
    let mut st = lock(p);
    st.queue.push_back(job);
    if st.idle > 0 {
        p.cv.notify_one();
    } else if st.threads < MAX_THREADS {
        st.threads += 1;
        let spawned = thread::Builder::new()
            .name("anyloop-blocking".into())
            .spawn(worker);
        if spawned.is_err() {
            st.threads -= 1;
        }
    }
}

fn worker() {
    let p = pool();
    let mut st = lock(p);
    loop {
        if let Some(job) = st.queue.pop_front() {
            drop(st);
            // A panicking job is reported through its channel (see `unblock`).
            job();
            st = lock(p);
            continue;
        }
        st.idle += 1;
        let (guard, res) =
            p.cv.wait_timeout(st, IDLE_TIMEOUT)
                .unwrap_or_else(|e| e.into_inner());
        st = guard;
        st.idle -= 1;
        if res.timed_out() && st.queue.is_empty() {
            st.threads -= 1;
            return;
        }
    }
}

/// Runs `f` on the blocking pool and awaits its result, without blocking
/// the loop (asyncio's `to_thread`).
///
/// The result travels back through core's one-shot channel (the path
/// `core/tests/loom.rs` model-checks): the worker's send wakes the
/// awaiting task through the loop's injection queue.
///
/// # Panics
///
/// Awaiting panics (resumes the panic) if `f` panicked.
pub fn unblock<T, F>(f: F) -> Unblock<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    submit(Box::new(move || {
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        // An `Err` means the awaiting future is gone: nobody wants it.
        let _ = tx.send(res);
    }));
    Unblock { rx }
}

/// Future of [`unblock`].
#[must_use = "futures do nothing unless awaited"]
pub struct Unblock<T> {
    rx: oneshot::Receiver<thread::Result<T>>,
}

impl<T> std::fmt::Debug for Unblock<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unblock").finish_non_exhaustive()
    }
}

impl<T> Future for Unblock<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match Pin::new(&mut self.rx).poll(cx) {
            Poll::Ready(Ok(Ok(v))) => Poll::Ready(v),
            Poll::Ready(Ok(Err(panic))) => std::panic::resume_unwind(panic),
            // The job is dropped unrun only if its thread could not start
            // and the process is going down; there is no value to give.
            Poll::Ready(Err(_)) => panic!("anyloop::to_thread: the blocking job was dropped unrun"),
            Poll::Pending => Poll::Pending,
        }
    }
}
