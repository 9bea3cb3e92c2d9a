//! The blocking pool: asyncio's `to_thread` / `run_in_executor`.
//!
//! Threads start on demand (up to [`MAX_THREADS`]) and exit after
//! [`IDLE_TIMEOUT`] without work. The result travels back through core's
//! one-shot channel, whose waker wakes the loop through its injection queue.

use std::collections::VecDeque;
use std::future::Future;
#[cfg(windows)]
use std::io::Write;
use std::io::{self, Read};
use std::pin::Pin;
use std::sync::{Condvar, Mutex, OnceLock};
#[cfg(windows)]
use std::task::ready;
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

/// Bytes one blocking read or write on the pool moves at most.
const CHUNK: usize = 64 * 1024;

/// A blocking reader driven from the loop: each read runs on the pool
/// with the reader moved into the job and back, so nothing is shared
/// between threads (`io::stdin`, a Windows child's stdout pipe).
///
/// A read in flight finishes even if its future is dropped; its bytes
/// stay here for the next read.
#[derive(Debug)]
pub(crate) struct ReadOnPool<R> {
    /// `None` while a read is in flight.
    src: Option<R>,
    buf: Vec<u8>,
    pos: usize,
    busy: Option<Unblock<ReadDone<R>>>,
}

/// What a read job gives back: the reader, the buffer, the result.
type ReadDone<R> = (R, Vec<u8>, io::Result<usize>);

impl<R: Read + Send + 'static> ReadOnPool<R> {
    pub(crate) fn new(src: R) -> Self {
        ReadOnPool {
            src: Some(src),
            buf: Vec::new(),
            pos: 0,
            busy: None,
        }
    }

    /// Reads into `out` once bytes are available; `Ok(0)` at end of input
    /// (a broken pipe counts as its end).
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            if self.pos < self.buf.len() {
                let n = out.len().min(self.buf.len() - self.pos);
                out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
                self.pos += n;
                return Poll::Ready(Ok(n));
            }
            if out.is_empty() {
                return Poll::Ready(Ok(0));
            }
            if self.busy.is_none() {
                let Some(mut src) = self.src.take() else {
                    return Poll::Ready(Ok(0));
                };
                let mut chunk = std::mem::take(&mut self.buf);
                self.busy = Some(unblock(move || {
                    chunk.resize(CHUNK, 0);
                    let res = src.read(&mut chunk);
                    (src, chunk, res)
                }));
            }
            let Some(busy) = self.busy.as_mut() else {
                unreachable!("a read was just started");
            };
            let (src, chunk, res) = match Pin::new(busy).poll(cx) {
                Poll::Ready(v) => v,
                Poll::Pending => return Poll::Pending,
            };
            self.busy = None;
            self.src = Some(src);
            self.buf = chunk;
            self.pos = 0;
            match res {
                Ok(n) if n > 0 => self.buf.truncate(n),
                Ok(_) => {
                    self.buf.clear();
                    return Poll::Ready(Ok(0));
                }
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                    self.buf.clear();
                    return Poll::Ready(Ok(0));
                }
                Err(e) => {
                    self.buf.clear();
                    return Poll::Ready(Err(e));
                }
            }
        }
    }
}

/// A blocking writer driven from the loop (a Windows child's stdin pipe;
/// Unix pipes are non-blocking and registered with the reactor instead):
/// `poll_write` hands a copy of up to 64 KiB to a pool job and returns at
/// once, as a kernel pipe buffer would; the next write, `poll_flush` and
/// `poll_close` wait for that job and report its error.
#[cfg(windows)]
#[derive(Debug)]
pub(crate) struct WriteOnPool<W> {
    /// `None` while a write is in flight, and after `poll_close`.
    dst: Option<W>,
    busy: Option<Unblock<(W, io::Result<()>)>>,
    closed: bool,
}

#[cfg(windows)]
impl<W: Write + Send + 'static> WriteOnPool<W> {
    pub(crate) fn new(dst: W) -> Self {
        WriteOnPool {
            dst: Some(dst),
            busy: None,
            closed: false,
        }
    }

    /// Waits for the write in flight, if any, and returns its result.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(busy) = self.busy.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let (dst, res) = match Pin::new(busy).poll(cx) {
            Poll::Ready(v) => v,
            Poll::Pending => return Poll::Pending,
        };
        self.busy = None;
        self.dst = Some(dst);
        Poll::Ready(res)
    }

    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Err(e) = ready!(self.poll_idle(cx)) {
            return Poll::Ready(Err(e));
        }
        let Some(mut dst) = self.dst.take().filter(|_| !self.closed) else {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the pipe is closed",
            )));
        };
        let data = buf[..buf.len().min(CHUNK)].to_vec();
        let n = data.len();
        self.busy = Some(unblock(move || {
            let res = dst.write_all(&data);
            (dst, res)
        }));
        Poll::Ready(Ok(n))
    }

    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_idle(cx)
    }

    /// Waits for the write in flight, then closes the writer (a pipe: the
    /// reader sees end of file).
    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let res = ready!(self.poll_idle(cx));
        self.closed = true;
        self.dst = None;
        Poll::Ready(res)
    }
}
