//! The readiness reactor: one `polling::Poller` per loop thread.
//!
//! Sources are registered in oneshot mode. A task that hits `WouldBlock`
//! stores its waker in the source and re-arms the interest; `park` waits in
//! `epoll_wait`/`kevent` and wakes the wakers of the sources that became
//! ready (as async-io's reactor does, without its cross-thread machinery:
//! an anyloop reactor belongs to one loop thread).

use std::cell::RefCell;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use polling::{Event, Events, Poller};

thread_local! {
    static REACTOR: RefCell<Option<Rc<Reactor>>> = const { RefCell::new(None) };
}

pub(crate) struct Reactor {
    pub(crate) poller: Arc<Poller>,
    sources: RefCell<Vec<Option<Rc<Source>>>>,
    free: RefCell<Vec<usize>>,
    events: RefCell<Events>,
}

impl Reactor {
    /// This thread's reactor, created on first use.
    pub(crate) fn current() -> io::Result<Rc<Reactor>> {
        REACTOR.with(|r| {
            let mut r = r.borrow_mut();
            if let Some(reactor) = r.as_ref() {
                return Ok(reactor.clone());
            }
            let reactor = Rc::new(Reactor {
                poller: Arc::new(Poller::new()?),
                sources: RefCell::new(Vec::new()),
                free: RefCell::new(Vec::new()),
                events: RefCell::new(Events::new()),
            });
            *r = Some(reactor.clone());
            Ok(reactor)
        })
    }

    pub(crate) fn register(self: &Rc<Self>, fd: BorrowedFd<'_>) -> io::Result<Rc<Source>> {
        let key = self.free.borrow_mut().pop().unwrap_or_else(|| {
            let mut s = self.sources.borrow_mut();
            s.push(None);
            s.len() - 1
        });
        // SAFETY: the source is deleted from the poller in `Async::drop`
        // before the owning `Async` closes the descriptor.
        if let Err(e) = unsafe { self.poller.add(fd.as_raw_fd(), Event::none(key)) } {
            self.free.borrow_mut().push(key);
            return Err(e);
        }
        let source = Rc::new(Source {
            reactor: self.clone(),
            fd: fd.as_raw_fd(),
            key,
            wakers: RefCell::new(Wakers::default()),
        });
        self.sources.borrow_mut()[key] = Some(source.clone());
        Ok(source)
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
        let mut to_wake: Vec<Waker> = Vec::new();
        for ev in events.iter() {
            let source = match self.sources.borrow().get(ev.key) {
                Some(Some(s)) => s.clone(),
                _ => continue,
            };
            let mut w = source.wakers.borrow_mut();
            if ev.readable {
                to_wake.append(&mut w.readers);
            }
            if ev.writable {
                to_wake.append(&mut w.writers);
            }
            // Oneshot mode disarmed the source; re-arm what is still wanted.
            if !w.readers.is_empty() || !w.writers.is_empty() {
                let interest = Event::new(source.key, !w.readers.is_empty(), !w.writers.is_empty());
                drop(w);
                source.modify(interest)?;
            }
        }
        drop(events);
        for w in to_wake {
            w.wake();
        }
        Ok(())
    }
}

#[derive(Default)]
struct Wakers {
    readers: Vec<Waker>,
    writers: Vec<Waker>,
}

/// A file descriptor registered with the reactor.
pub(crate) struct Source {
    reactor: Rc<Reactor>,
    fd: RawFd,
    key: usize,
    wakers: RefCell<Wakers>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Source {
    fn modify(&self, interest: Event) -> io::Result<()> {
        // SAFETY: `fd` stays open while its `Async` exists, and sources are
        // only reached through their `Async` or the reactor's table, from
        // which `Async::drop` removes them before closing the descriptor.
        let fd = unsafe { BorrowedFd::borrow_raw(self.fd) };
        self.reactor.poller.modify(fd, interest)
    }

    /// Registers interest after an operation returned `WouldBlock`: stores
    /// the waker and arms the poller. Always `Pending` unless arming fails.
    pub(crate) fn register_interest(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let interest = {
            let mut w = self.wakers.borrow_mut();
            let list = match dir {
                Direction::Read => &mut w.readers,
                Direction::Write => &mut w.writers,
            };
            if !list.iter().any(|x| x.will_wake(cx.waker())) {
                list.push(cx.waker().clone());
            }
            Event::new(self.key, !w.readers.is_empty(), !w.writers.is_empty())
        };
        match self.modify(interest) {
            Ok(()) => Poll::Pending,
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

/// An I/O object registered with the reactor (async-io's `Async<T>`).
pub(crate) struct Async<T: AsFd> {
    source: Rc<Source>,
    io: Option<T>,
}

impl<T: AsFd> Async<T> {
    /// Registers `io`, which must already be in non-blocking mode.
    pub(crate) fn new_nonblocking(io: T) -> io::Result<Self> {
        let reactor = Reactor::current()?;
        let source = reactor.register(io.as_fd())?;
        Ok(Async {
            source,
            io: Some(io),
        })
    }

    /// The inner I/O object.
    pub(crate) fn get_ref(&self) -> &T {
        match &self.io {
            Some(io) => io,
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
        loop {
            match op(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    match self.source.register_interest(dir, cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Ready(Ok(())) => continue,
                    }
                }
                res => return Poll::Ready(res),
            }
        }
    }

    /// Async version of [`poll_io`](Self::poll_io).
    pub(crate) async fn io<R>(
        &self,
        dir: Direction,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        std::future::poll_fn(|cx| self.poll_io(dir, cx, &mut op)).await
    }

    /// Waits until the poller reports readiness in `dir` once.
    pub(crate) async fn ready(&self, dir: Direction) -> io::Result<()> {
        let mut armed = false;
        std::future::poll_fn(|cx| {
            if armed {
                return Poll::Ready(Ok(()));
            }
            armed = true;
            self.source.register_interest(dir, cx)
        })
        .await
    }
}

impl<T: AsFd> Drop for Async<T> {
    fn drop(&mut self) {
        let reactor = &self.source.reactor;
        let key = self.source.key;
        reactor.sources.borrow_mut()[key] = None;
        reactor.free.borrow_mut().push(key);
        if let Some(io) = self.io.take() {
            // Deregister before `io` closes the descriptor.
            let _ = reactor.poller.delete(io.as_fd());
            drop(io);
        }
        // Wake anyone still waiting so they observe the closed object.
        let w = std::mem::take(&mut *self.source.wakers.borrow_mut());
        w.readers.into_iter().chain(w.writers).for_each(Waker::wake);
    }
}
