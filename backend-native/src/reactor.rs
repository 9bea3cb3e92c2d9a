//! The readiness reactor: one poller per loop thread (epoll on Linux,
//! `polling::Poller` elsewhere).
//!
//! Where the poller supports it (epoll, kqueue) sources are registered
//! once in edge-triggered mode for both directions, and each source keeps
//! a readiness flag per direction (tokio's approach): set by an event,
//! cleared when an operation returns `WouldBlock`. An operation is only
//! attempted while its flag is set, so waiting costs no speculative
//! `recv` returning `EAGAIN` and no `epoll_ctl` re-arm. An anyloop reactor
//! belongs to one loop thread, so no event can slip in between the
//! `WouldBlock` and the clearing of the flag.
//!
//! On Linux epoll is called directly (the `epoll` module), with
//! `EPOLLRDHUP`: each event also says which directions are closed for good
//! (end of stream, hang-up, error), and that mark is sticky. Byte streams
//! (TCP and Unix streams, pipes) then also treat a partial read or write as
//! the kernel buffer drained or filled, as tokio does: the flag is cleared
//! without the `recv`/`send` that would only return `EAGAIN`. A later
//! arrival (or the peer's FIN, which comes with `EPOLLRDHUP`) is a new edge.
//! Where the end of a stream cannot be seen in the event (kqueue, through
//! `polling`) only `WouldBlock` clears the flag.
//!
//! A new source starts with both flags set but only *assumed* (try the
//! operation first: an accepted socket usually has its first bytes
//! waiting). An epoll event carries the source's whole state at the time
//! of `epoll_wait`, so the first event also settles the assumed flags: a
//! direction it does not report is not ready (a freshly connected client
//! socket gets no `recv` that could only return `EAGAIN`). kqueue reports
//! one filter per event, so there only an event or `WouldBlock` settles a
//! flag.
//!
//! Elsewhere sources are registered in oneshot mode: a task that hits
//! `WouldBlock` stores its waker and re-arms the interest (async-io's
//! reactor, without its cross-thread machinery). In both modes `park`
//! waits in `epoll_wait`/`kevent` and wakes the wakers of the sources that
//! became ready.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::sys::{self, AsSource, BorrowedSource, RawSource};

#[cfg(any(target_os = "linux", target_os = "android"))]
mod epoll;
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) use epoll::{Event, Events, PollMode, Poller};
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) use polling::{Event, Events, PollMode, Poller};

#[cfg(kqueue)]
pub(crate) mod proc;
#[cfg(windows)]
pub(crate) mod waitable;

/// Whether reported events say which directions are closed (the `closed`
/// bits of the `epoll` module's events), so a partial transfer on a byte
/// stream may clear the readiness flag.
const CLOSE_REPORTED: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// The directions an event reports closed for good.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn closed(ev: &Event) -> u8 {
    ev.closed
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn closed(_: &Event) -> u8 {
    0
}

thread_local! {
    static REACTOR: RefCell<Option<Rc<Reactor>>> = const { RefCell::new(None) };
}

pub(crate) struct Reactor {
    pub(crate) poller: Arc<Poller>,
    sources: RefCell<Vec<Option<Rc<Source>>>>,
    free: RefCell<Vec<usize>>,
    events: RefCell<Events>,
    /// The wakers a `poll` wakes, kept between polls so that one with
    /// events allocates nothing (empty between polls).
    to_wake: RefCell<Vec<Waker>>,
    /// Edge-triggered registrations with readiness flags (epoll, kqueue).
    edge: bool,
}

/// I/O sources registered with this thread's reactor (the monitor's
/// `stats`); 0 before the first registration.
pub(crate) fn registered_sources() -> usize {
    REACTOR.with(|r| {
        r.borrow()
            .as_ref()
            .map_or(0, |r| r.sources.borrow().len() - r.free.borrow().len())
    })
}

impl Reactor {
    /// This thread's reactor, created on first use.
    pub(crate) fn current() -> io::Result<Rc<Reactor>> {
        REACTOR.with(|r| {
            let mut r = r.borrow_mut();
            if let Some(reactor) = r.as_ref() {
                return Ok(reactor.clone());
            }
            let poller = Poller::new()?;
            let edge = poller.supports_edge();
            let reactor = Rc::new(Reactor {
                poller: Arc::new(poller),
                sources: RefCell::new(Vec::new()),
                free: RefCell::new(Vec::new()),
                events: RefCell::new(Events::new()),
                to_wake: RefCell::new(Vec::new()),
                edge,
            });
            *r = Some(reactor.clone());
            Ok(reactor)
        })
    }

    pub(crate) fn register(self: &Rc<Self>, fd: BorrowedSource<'_>) -> io::Result<Rc<Source>> {
        self.register_with(
            sys::raw(fd),
            #[cfg(windows)]
            false,
            |key| {
                // SAFETY: the source is deleted from the poller in `Async::drop`
                // before the owning `Async` closes the descriptor.
                unsafe {
                    if self.edge {
                        self.poller
                            .add_with_mode(sys::raw(fd), Event::all(key), PollMode::Edge)
                    } else {
                        self.poller.add(sys::raw(fd), Event::none(key))
                    }
                }
            },
        )
    }

    /// Allocates a key, lets `add` register it with the poller and, if
    /// that worked, records a source under it (`fd` is -1 for a kqueue
    /// filter, which is never re-armed: see the `proc` module; on Windows
    /// a `waitable` handle is re-armed through `modify_waitable`: see the
    /// `waitable` module).
    fn register_with(
        self: &Rc<Self>,
        fd: RawSource,
        #[cfg(windows)] waitable: bool,
        add: impl FnOnce(usize) -> io::Result<()>,
    ) -> io::Result<Rc<Source>> {
        let key = self.free.borrow_mut().pop().unwrap_or_else(|| {
            let mut s = self.sources.borrow_mut();
            s.push(None);
            s.len() - 1
        });
        if let Err(e) = add(key) {
            self.free.borrow_mut().push(key);
            return Err(e);
        }
        let source = Rc::new(Source {
            reactor: self.clone(),
            fd,
            key,
            wakers: RefCell::new(Wakers::default()),
            // Unknown until an operation says otherwise: try it first.
            ready: Cell::new(READ | WRITE),
            assumed: Cell::new(READ | WRITE),
            closed: Cell::new(0),
            edge: self.edge,
            #[cfg(windows)]
            waitable,
        });
        self.sources.borrow_mut()[key] = Some(source.clone());
        Ok(source)
    }

    /// Forgets `source` (its registration is already deleted from the
    /// poller) and wakes anyone still waiting on it.
    fn deregister(&self, source: &Source) {
        self.sources.borrow_mut()[source.key] = None;
        self.free.borrow_mut().push(source.key);
        let w = std::mem::take(&mut *source.wakers.borrow_mut());
        w.readers.into_iter().chain(w.writers).for_each(Waker::wake);
    }

    /// Waits for I/O or `timeout`, then wakes the tasks whose sources are ready.
    pub(crate) fn poll(&self, timeout: Option<Duration>) -> io::Result<()> {
        if timeout == Some(Duration::ZERO)
            && self.sources.borrow().len() == self.free.borrow().len()
        {
            // A busy loop's periodic I/O check with no source registered: no
            // event can be pending, and a `notify` from another thread may
            // stay set until the next real wait (which then returns early,
            // as spurious wake-ups may). `Poller::wait` would cost five
            // syscalls here (timerfd_settime, epoll_ctl, epoll_wait, the
            // eventfd read and re-arm).
            return Ok(());
        }
        let mut events = self.events.borrow_mut();
        events.clear();
        match self.poller.wait(&mut events, timeout) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e),
        }
        // Taken out, not borrowed: a waker may run anything, this
        // reactor's `poll` included.
        let mut to_wake = std::mem::take(&mut *self.to_wake.borrow_mut());
        for ev in events.iter() {
            let source = match self.sources.borrow().get(ev.key) {
                Some(Some(s)) => s.clone(),
                _ => continue,
            };
            let mut w = source.wakers.borrow_mut();
            source.closed.set(source.closed.get() | closed(&ev));
            let bits = if ev.readable { READ } else { 0 } | if ev.writable { WRITE } else { 0 };
            if CLOSE_REPORTED && self.edge {
                // epoll fills each event with the source's whole current
                // state, so a direction only assumed ready (a new source)
                // that the event leaves out is not ready: a socket just
                // connected gets no `recv` that could only say `EAGAIN`.
                let unknown = source.assumed.get() & !bits;
                source.ready.set(source.ready.get() & !unknown);
                source.assumed.set(0);
            } else {
                source.assumed.set(source.assumed.get() & !bits);
            }
            if ev.readable {
                source.ready.set(source.ready.get() | READ);
                to_wake.append(&mut w.readers);
            }
            if ev.writable {
                source.ready.set(source.ready.get() | WRITE);
                to_wake.append(&mut w.writers);
            }
            // Oneshot mode disarmed the source; re-arm what is still wanted.
            if !self.edge && (!w.readers.is_empty() || !w.writers.is_empty()) {
                let interest = Event::new(source.key, !w.readers.is_empty(), !w.writers.is_empty());
                drop(w);
                source.modify(interest)?;
            }
        }
        drop(events);
        for w in to_wake.drain(..) {
            w.wake();
        }
        let mut kept = self.to_wake.borrow_mut();
        if kept.capacity() < to_wake.capacity() {
            *kept = to_wake;
        }
        Ok(())
    }
}

#[derive(Default)]
struct Wakers {
    readers: Vec<Waker>,
    writers: Vec<Waker>,
}

pub(crate) const READ: u8 = 1;
pub(crate) const WRITE: u8 = 2;

/// A file descriptor (Windows: a socket) registered with the reactor.
pub(crate) struct Source {
    reactor: Rc<Reactor>,
    fd: RawSource,
    key: usize,
    wakers: RefCell<Wakers>,
    /// Readiness per direction (`READ | WRITE` bits), edge mode only.
    ready: Cell<u8>,
    /// Bits of `ready` that are the initial guess, not an observed event.
    assumed: Cell<u8>,
    /// Directions an event reported closed for good (`READ | WRITE` bits;
    /// sticky; only where `CLOSE_REPORTED`).
    closed: Cell<u8>,
    edge: bool,
    /// Windows: `fd` is a waitable handle (a process), not a socket.
    #[cfg(windows)]
    waitable: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Source {
    fn modify(&self, interest: Event) -> io::Result<()> {
        #[cfg(windows)]
        if self.waitable {
            use polling::os::iocp::PollerIocpExt;
            // SAFETY: as below; a `Waitable` removes its registration
            // before it closes the handle.
            let handle = unsafe {
                std::os::windows::io::BorrowedHandle::borrow_raw(
                    self.fd as usize as std::os::windows::io::RawHandle,
                )
            };
            return self
                .reactor
                .poller
                .modify_waitable(handle, interest, PollMode::Oneshot);
        }
        // SAFETY: `fd` stays open while its `Async` exists, and sources are
        // only reached through their `Async` or the reactor's table, from
        // which `Async::drop` removes them before closing the descriptor.
        let fd = unsafe { sys::borrow_raw(self.fd) };
        self.reactor.poller.modify(fd, interest)
    }

    fn bit(dir: Direction) -> u8 {
        match dir {
            Direction::Read => READ,
            Direction::Write => WRITE,
        }
    }

    /// Edge mode: an event in `dir` was seen and not yet used up by a
    /// `WouldBlock`.
    fn has_event(&self, dir: Direction) -> bool {
        self.edge && (self.ready.get() & !self.assumed.get()) & Self::bit(dir) != 0
    }

    /// Whether an operation in `dir` is worth trying (always in oneshot mode).
    fn is_ready(&self, dir: Direction) -> bool {
        !self.edge || self.ready.get() & Self::bit(dir) != 0
    }

    /// Runs `op` until it does not return `WouldBlock`, waiting for
    /// readiness in `dir` in between.
    fn poll_op<R>(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            if !self.is_ready(dir) {
                // Edge mode, no event since the last `WouldBlock`: the
                // operation would fail again; wait for the next edge.
                self.push_waker(dir, cx.waker());
                return Poll::Pending;
            }
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    match self.register_interest(dir, cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Ready(Ok(())) => continue,
                    }
                }
                res => return Poll::Ready(res),
            }
        }
    }

    /// [`poll_op`](Self::poll_op) for a byte stream's read or write of
    /// `len` bytes: a partial transfer means the kernel buffer was drained
    /// (read) or filled (write), so in edge mode the flag is cleared and
    /// the next call waits for an event instead of failing with `EAGAIN`
    /// (tokio's rule). Not after the direction was reported closed: the
    /// end of stream (or the error) that follows must still be read.
    fn poll_stream_op(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        len: usize,
        op: impl FnMut() -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let res = self.poll_op(dir, cx, op);
        if let Poll::Ready(Ok(n)) = res {
            let bit = Self::bit(dir);
            if CLOSE_REPORTED && self.edge && n > 0 && n < len && self.closed.get() & bit == 0 {
                self.ready.set(self.ready.get() & !bit);
                self.assumed.set(self.assumed.get() & !bit);
            }
        }
        res
    }

    /// Stores `waker` among the waiters in `dir`, unless it is there already.
    fn push_waker(&self, dir: Direction, waker: &Waker) {
        let mut w = self.wakers.borrow_mut();
        let list = match dir {
            Direction::Read => &mut w.readers,
            Direction::Write => &mut w.writers,
        };
        if !list.iter().any(|x| x.will_wake(waker)) {
            list.push(waker.clone());
        }
    }

    /// Registers interest after an operation returned `WouldBlock` (or was
    /// skipped as not ready): stores the waker and, in oneshot mode, arms
    /// the poller; in edge mode clears the readiness flag (the next edge
    /// sets it). Always `Pending` unless arming fails.
    pub(crate) fn register_interest(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        if self.edge {
            self.ready.set(self.ready.get() & !Self::bit(dir));
            self.assumed.set(self.assumed.get() & !Self::bit(dir));
            self.push_waker(dir, cx.waker());
            return Poll::Pending;
        }
        self.push_waker(dir, cx.waker());
        let interest = {
            let w = self.wakers.borrow();
            Event::new(self.key, !w.readers.is_empty(), !w.writers.is_empty())
        };
        match self.modify(interest) {
            Ok(()) => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

/// An I/O object registered with the reactor (async-io's `Async<T>`).
pub(crate) struct Async<T: AsSource> {
    source: Rc<Source>,
    io: Option<T>,
}

impl<T: AsSource> Async<T> {
    /// Registers `io`, which must already be in non-blocking mode.
    pub(crate) fn new_nonblocking(io: T) -> io::Result<Self> {
        let reactor = Reactor::current()?;
        let source = reactor.register(sys::as_source(&io))?;
        Ok(Async {
            source,
            io: Some(io),
        })
    }

    /// Registers `io` (non-blocking) with no direction assumed ready: in
    /// edge mode the first operation waits for an event (the registration
    /// itself reports the readiness the object has already). For objects
    /// whose operation is worth trying only once they are ready (a pidfd:
    /// `waitpid` before the exit only costs a syscall).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) fn new_unready(io: T) -> io::Result<Self> {
        let a = Self::new_nonblocking(io)?;
        a.source.ready.set(0);
        a.source.assumed.set(0);
        Ok(a)
    }

    /// The inner I/O object.
    pub(crate) fn get_ref(&self) -> &T {
        match &self.io {
            Some(io) => io,
            None => unreachable!("Async used after drop"),
        }
    }

    /// Deregisters and returns the I/O object (still non-blocking).
    pub(crate) fn into_inner(mut self) -> io::Result<T> {
        match self.io.take() {
            Some(io) => {
                let r = self.source.reactor.poller.delete(sys::as_source(&io));
                // `Drop` frees the key and wakes any waiter.
                drop(self);
                r.map(|()| io)
            }
            None => unreachable!("Async used after drop"),
        }
    }

    /// Runs `op` until it does not return `WouldBlock`, waiting for
    /// readiness in `dir` in between.
    pub(crate) fn poll_io<R>(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.source.poll_op(dir, cx, || op(self.get_ref()))
    }

    /// [`poll_io`](Self::poll_io) for a read or write of `len` bytes on a
    /// byte stream (TCP, Unix stream, pipe; never datagrams): a partial
    /// transfer counts as the readiness used up (see the module docs).
    pub(crate) fn poll_stream_io(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        len: usize,
        mut op: impl FnMut(&T) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        self.source
            .poll_stream_op(dir, cx, len, || op(self.get_ref()))
    }

    /// Waits for the next readiness event in `dir` (oneshot: arms the
    /// poller; edge: forgets the last edge). Always `Pending` unless
    /// arming fails.
    pub(crate) fn source_interest(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        self.source.register_interest(dir, cx)
    }

    /// Async version of [`poll_io`](Self::poll_io).
    pub(crate) async fn io<R>(
        &self,
        dir: Direction,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        std::future::poll_fn(|cx| self.poll_io(dir, cx, &mut op)).await
    }

    /// Waits until the poller reports readiness in `dir` (at once in edge
    /// mode if an event was seen and not used up by a `WouldBlock`).
    /// Waits for a readiness event in `dir` from the poller itself (edge
    /// mode): unlike [`ready`](Self::ready), a wake-up from elsewhere
    /// does not end the wait.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) async fn event(&self, dir: Direction) -> io::Result<()> {
        std::future::poll_fn(|cx| {
            if self.source.has_event(dir) {
                return Poll::Ready(Ok(()));
            }
            self.source.register_interest(dir, cx)
        })
        .await
    }

    pub(crate) async fn ready(&self, dir: Direction) -> io::Result<()> {
        let mut armed = false;
        std::future::poll_fn(|cx| {
            if armed || self.source.has_event(dir) {
                return Poll::Ready(Ok(()));
            }
            armed = true;
            self.source.register_interest(dir, cx)
        })
        .await
    }
}

/// Reads and writes of a byte stream (a TCP or Unix stream socket: `&T`
/// reads and writes it), written once for every stream type.
impl<T: AsSource> Async<T>
where
    for<'a> &'a T: io::Read + io::Write,
{
    /// Reads into `buf`; `Ok(0)` at end of stream.
    pub(crate) fn poll_read_stream(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        use io::Read;
        let len = buf.len();
        self.poll_stream_io(Direction::Read, cx, len, |mut s| s.read(buf))
    }

    /// Writes some of `buf`.
    pub(crate) fn poll_write_stream(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        use io::Write;
        self.poll_stream_io(Direction::Write, cx, buf.len(), |mut s| s.write(buf))
    }

    /// Writes some of `bufs` in one `writev`/`sendmsg`.
    pub(crate) fn poll_write_stream_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        use io::Write;
        let len = bufs.iter().map(|b| b.len()).sum();
        self.poll_stream_io(Direction::Write, cx, len, |mut s| s.write_vectored(bufs))
    }

    /// Async version of [`poll_read_stream`](Self::poll_read_stream).
    pub(crate) async fn read_stream(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_read_stream(cx, buf)).await
    }

    /// Async version of [`poll_write_stream`](Self::poll_write_stream).
    pub(crate) async fn write_stream(&self, buf: &[u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_write_stream(cx, buf)).await
    }

    /// Writes all of `buf`; `WriteZero` if the stream accepts nothing.
    pub(crate) async fn write_all_stream(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.write_stream(buf).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            buf = &buf[n..];
        }
        Ok(())
    }
}

impl<T: AsSource> Drop for Async<T> {
    fn drop(&mut self) {
        let reactor = &self.source.reactor;
        if let Some(io) = self.io.take() {
            // Deregister before `io` closes the descriptor.
            let _ = reactor.poller.delete(sys::as_source(&io));
            drop(io);
        }
        // Wake anyone still waiting so they observe the closed object.
        reactor.deregister(&self.source);
    }
}
