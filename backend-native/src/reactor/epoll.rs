//! Linux's epoll, called directly (through rustix) instead of through
//! `polling`: the subset of `polling::Poller`'s API the reactor uses, plus
//! what `polling` does not give:
//!
//! - `EPOLLRDHUP` in every registration and a `closed` report per event
//!   (the peer's FIN, a hang-up or an error). That is what lets the reactor
//!   treat a short read as "drained" (tokio's rule) without missing an end
//!   of stream that arrived together with the last data;
//! - the timeout goes to `epoll_wait` itself (milliseconds, rounded up, as
//!   tokio, mio and asyncio's selectors do) instead of costing a
//!   `timerfd_settime` and an `epoll_ctl` re-arm on every wait;
//! - the wake-up eventfd is edge-triggered and never read (mio's waker):
//!   one `write` per notify, none per wait.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::event::{eventfd, EventfdFlags, Timespec};

/// The registration key of the wake-up eventfd.
const NOTIFY_KEY: u64 = u64::MAX;

/// Interest in a source (`polling::Event`'s shape).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Event {
    pub(crate) key: usize,
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    /// Reported events only: the directions closed for good (`READ`,
    /// `WRITE` bits of the reactor): `EPOLLRDHUP` closes reading,
    /// `EPOLLHUP` and `EPOLLERR` both directions.
    pub(crate) closed: u8,
}

impl Event {
    pub(crate) fn new(key: usize, readable: bool, writable: bool) -> Event {
        Event {
            key,
            readable,
            writable,
            closed: 0,
        }
    }

    pub(crate) fn all(key: usize) -> Event {
        Event::new(key, true, true)
    }

    pub(crate) fn none(key: usize) -> Event {
        Event::new(key, false, false)
    }
}

/// How a source is registered (`polling::PollMode`'s two modes used here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PollMode {
    /// `EPOLLET`: an event per change, no re-arming.
    Edge,
    /// `EPOLLONESHOT`: one event, then re-armed with `modify`.
    Oneshot,
}

fn flags(ev: Event, mode: PollMode) -> EventFlags {
    let mut f = match mode {
        PollMode::Edge => EventFlags::ET,
        PollMode::Oneshot => EventFlags::ONESHOT,
    };
    if ev.readable {
        f |= EventFlags::IN | EventFlags::RDHUP;
    }
    if ev.writable {
        f |= EventFlags::OUT;
    }
    f
}

/// Reported events.
pub(crate) struct Events {
    list: Vec<epoll::Event>,
}

impl Events {
    pub(crate) fn new() -> Events {
        Events {
            list: Vec::with_capacity(1024),
        }
    }

    pub(crate) fn clear(&mut self) {
        self.list.clear();
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.list
            .iter()
            .filter(|e| e.data.u64() != NOTIFY_KEY)
            .map(|e| {
                let f = e.flags;
                let both = EventFlags::HUP | EventFlags::ERR;
                let closed = if f.intersects(both) {
                    super::READ | super::WRITE
                } else if f.contains(EventFlags::RDHUP) {
                    super::READ
                } else {
                    0
                };
                Event {
                    key: e.data.u64() as usize,
                    readable: f
                        .intersects(EventFlags::IN | EventFlags::PRI | EventFlags::RDHUP | both),
                    writable: f.intersects(EventFlags::OUT | both),
                    closed,
                }
            })
    }
}

/// An epoll instance with a wake-up eventfd.
#[derive(Debug)]
pub(crate) struct Poller {
    epoll: OwnedFd,
    wake: OwnedFd,
    /// A notify is pending (its `write` done, the wait not yet returned).
    notified: AtomicBool,
}

impl Poller {
    pub(crate) fn new() -> io::Result<Poller> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        epoll::add(
            &epoll,
            &wake,
            EventData::new_u64(NOTIFY_KEY),
            EventFlags::IN | EventFlags::ET,
        )?;
        Ok(Poller {
            epoll,
            wake,
            notified: AtomicBool::new(false),
        })
    }

    pub(crate) fn supports_edge(&self) -> bool {
        true
    }

    /// Registers `fd` in `mode`.
    ///
    /// # Safety
    ///
    /// `fd` must be open for this call (the same contract as
    /// `polling::Poller::add_with_mode`; epoll keeps no borrow of it).
    pub(crate) unsafe fn add_with_mode(
        &self,
        fd: RawFd,
        ev: Event,
        mode: PollMode,
    ) -> io::Result<()> {
        // SAFETY: the caller keeps `fd` open for this call.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        Ok(epoll::add(
            &self.epoll,
            fd,
            EventData::new_u64(ev.key as u64),
            flags(ev, mode),
        )?)
    }

    /// Registers `fd` in oneshot mode.
    ///
    /// # Safety
    ///
    /// As [`add_with_mode`](Self::add_with_mode).
    pub(crate) unsafe fn add(&self, fd: RawFd, ev: Event) -> io::Result<()> {
        // SAFETY: the caller's contract.
        unsafe { self.add_with_mode(fd, ev, PollMode::Oneshot) }
    }

    /// Re-arms a oneshot registration.
    pub(crate) fn modify(&self, fd: BorrowedFd<'_>, ev: Event) -> io::Result<()> {
        Ok(epoll::modify(
            &self.epoll,
            fd,
            EventData::new_u64(ev.key as u64),
            flags(ev, PollMode::Oneshot),
        )?)
    }

    pub(crate) fn delete(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        Ok(epoll::delete(&self.epoll, fd)?)
    }

    /// Waits for events, a notify or `timeout` (rounded up to whole ms).
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<usize> {
        let ts = timeout.map(|t| Timespec {
            // Beyond i32 milliseconds rustix switches to epoll_pwait2; cap
            // at a day instead (the loop waits again if nothing happened).
            tv_sec: t.as_secs().min(86_400) as _,
            tv_nsec: t.subsec_nanos() as _,
        });
        let res = epoll::wait(
            &self.epoll,
            rustix::buffer::spare_capacity(&mut events.list),
            ts.as_ref(),
        );
        // Notifies from now on write again; one that raced with this
        // return finds the loop awake anyway.
        self.notified.store(false, Ordering::SeqCst);
        Ok(res?)
    }

    /// Wakes a `wait` in progress or the next one.
    pub(crate) fn notify(&self) -> io::Result<()> {
        if self.notified.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let one = 1u64.to_ne_bytes();
        match rustix::io::write(&self.wake, &one) {
            Ok(_) => Ok(()),
            Err(rustix::io::Errno::AGAIN) => {
                // The counter is full (2^64 - 2 notifies with nothing
                // reading it): empty it, then write the edge.
                let mut buf = [0u8; 8];
                let _ = rustix::io::read(&self.wake, &mut buf);
                rustix::io::write(&self.wake, &one)?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl AsFd for Poller {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.epoll.as_fd()
    }
}
