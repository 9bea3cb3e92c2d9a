//! Readiness on WASI 0.2: one `wasi:io/poll.poll` per park.
//!
//! Every stream, socket or name lookup owns a [`Registration`]: its
//! pollable, kept in the reactor for the object's lifetime (pollables are
//! child resources and must go before their parent, so owners declare the
//! registration before the resource it watches). An operation that would
//! block calls [`Registration::poll_io`]/[`Registration::register`], which
//! stores the task's waker. [`park`] passes the pollable of every waited-on
//! registration plus a `subscribe-duration` pollable for the loop's next
//! deadline to ONE `poll` call and wakes the wakers of the ready ones.
//! Interests are oneshot (like the native reactor): a task that still
//! cannot make progress registers again.
//!
//! There are no threads on wasip2, so everything here is thread-local.

use std::any::Any;
use std::cell::RefCell;
use std::io;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use wasip2::clocks::monotonic_clock;
use wasip2::io::poll::{self, Pollable};

struct Entry {
    pollable: Pollable,
    wakers: Vec<Waker>,
}

struct Reactor {
    /// Slots of live registrations (`None`: free, listed in `free`).
    entries: Vec<Option<Entry>>,
    free: Vec<usize>,
    /// Keys of the registrations with waiters (in no order, no repeats).
    waiting: Vec<usize>,
    /// Resources dropped while the runtime still works on them (see
    /// [`bury`]), each with the registration that says when it is done.
    graveyard: Vec<(Registration, Box<dyn Any>)>,
}

thread_local! {
    // `const`: no lazy initialization code (and its "during or after
    // destruction" panics) for it, as on wasip1.
    static REACTOR: RefCell<Reactor> = const {
        RefCell::new(Reactor {
            entries: Vec::new(),
            free: Vec::new(),
            waiting: Vec::new(),
            graveyard: Vec::new(),
        })
    };
}

/// A pollable owned by the reactor on behalf of an I/O object; dropping it
/// drops the pollable and wakes its waiters (they observe the closed
/// object).
#[derive(Debug)]
pub(crate) struct Registration {
    key: usize,
}

impl Registration {
    /// Hands `pollable` to the reactor.
    pub(crate) fn new(pollable: Pollable) -> Registration {
        REACTOR.with(|r| {
            let mut r = r.borrow_mut();
            let entry = Some(Entry {
                pollable,
                wakers: Vec::new(),
            });
            let key = match r.free.pop() {
                Some(k) => {
                    r.entries[k] = entry;
                    k
                }
                None => {
                    r.entries.push(entry);
                    r.entries.len() - 1
                }
            };
            Registration { key }
        })
    }

    /// Stores `waker`, woken by the next park that finds the pollable ready.
    pub(crate) fn register(&self, waker: &Waker) {
        REACTOR.with(|r| {
            let mut r = r.borrow_mut();
            let r = &mut *r;
            if let Some(e) = r.entries.get_mut(self.key).and_then(Option::as_mut) {
                if e.wakers.is_empty() {
                    r.waiting.push(self.key);
                }
                if !e.wakers.iter().any(|w| w.will_wake(waker)) {
                    e.wakers.push(waker.clone());
                }
            }
        });
    }

    /// Runs the non-blocking `op`; when it reports `Ok(None)` (would
    /// block), registers the task and returns `Pending`.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnOnce() -> io::Result<Option<R>>,
    ) -> Poll<io::Result<R>> {
        match op() {
            Ok(Some(v)) => Poll::Ready(Ok(v)),
            Ok(None) => {
                self.register(cx.waker());
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// Whether the pollable is ready now (`pollable.ready()`).
    pub(crate) fn is_ready(&self) -> bool {
        REACTOR.with(|r| {
            r.borrow()
                .entries
                .get(self.key)
                .and_then(Option::as_ref)
                .is_some_and(|e| e.pollable.ready())
        })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let entry = REACTOR.with(|r| {
            let mut r = r.borrow_mut();
            let entry = r.entries.get_mut(self.key).and_then(Option::take);
            if entry.is_some() {
                r.free.push(self.key);
                let key = self.key;
                r.waiting.retain(|&k| k != key);
            }
            entry
        });
        // The pollable is dropped and the waiters woken outside the borrow.
        if let Some(e) = entry {
            drop(e.pollable);
            e.wakers.into_iter().for_each(Waker::wake);
        }
    }
}

/// Keeps `resources` alive until `done`'s pollable is ready, then drops
/// `done` and `resources` (in that order) at a park.
///
/// wasmtime blocks the instance when an output stream is dropped with a
/// write in flight, until the peer has read it: if the peer is a task of
/// this loop, that is forever. So a socket dropped with a write in flight
/// is buried here instead: the loop keeps running, and the socket closes
/// once its last write is done.
pub(crate) fn bury(done: Registration, resources: Box<dyn Any>) {
    REACTOR.with(|r| r.borrow_mut().graveyard.push((done, resources)));
}

/// Waits in one `poll` until a waited-on pollable is ready or `timeout`
/// passes, then wakes the ready registrations' wakers.
/// The park's error when nothing can ever wake the loop. Built with
/// [`anyloop_core::io_error`], not `io::Error::other(&str)`: std's string
/// payload has a `Debug` that escapes the text, which links `str`'s
/// escaping, its Unicode tables and slice panics (~4 KB of a hello world).
#[cold]
fn deadlock() -> io::Error {
    anyloop_core::io_error(
        io::ErrorKind::Other,
        "every task waits, but no timer is pending and no I/O is registered: \
         nothing can ever wake the loop (deadlock)",
    )
}

pub(crate) fn park(timeout: Option<Duration>) -> io::Result<()> {
    let clock = |t: Duration| {
        monotonic_clock::subscribe_duration(u64::try_from(t.as_nanos()).unwrap_or(u64::MAX))
    };
    let mut to_wake: Vec<Waker> = Vec::new();
    let mut buried = Vec::new();
    REACTOR.with(|r| -> io::Result<()> {
        let mut r = r.borrow_mut();
        let r = &mut *r;
        if r.waiting.is_empty() && r.graveyard.is_empty() {
            return match timeout {
                Some(t) if t.is_zero() => Ok(()),
                Some(t) => {
                    clock(t).block();
                    Ok(())
                }
                None => Err(deadlock()),
            };
        }
        if r.waiting.is_empty() && timeout.is_none() {
            return Err(deadlock());
        }
        let timer = timeout.map(clock);
        // `waiting` only holds live keys (a dropped registration leaves it);
        // then the graveyard's pollables, then the timer.
        let mut targets: Vec<&Pollable> =
            Vec::with_capacity(r.waiting.len() + r.graveyard.len() + 1);
        targets.extend(
            r.waiting
                .iter()
                .filter_map(|&k| r.entries[k].as_ref().map(|e| &e.pollable)),
        );
        targets.extend(
            r.graveyard
                .iter()
                .filter_map(|(reg, _)| r.entries[reg.key].as_ref().map(|e| &e.pollable)),
        );
        targets.extend(timer.as_ref());
        let ready = poll::poll(&targets);
        drop(targets);
        let (nwait, ngrave) = (r.waiting.len(), r.graveyard.len());
        let mut done = vec![false; ngrave];
        for i in ready {
            let i = i as usize;
            if i < nwait {
                if let Some(e) = r.entries[r.waiting[i]].as_mut() {
                    to_wake.append(&mut e.wakers);
                }
            } else if i < nwait + ngrave {
                done[i - nwait] = true;
            }
        }
        let entries = &r.entries;
        r.waiting
            .retain(|&k| entries[k].as_ref().is_some_and(|e| !e.wakers.is_empty()));
        if done.contains(&true) {
            for (entry, d) in std::mem::take(&mut r.graveyard).into_iter().zip(done) {
                if d {
                    buried.push(entry);
                } else {
                    r.graveyard.push(entry);
                }
            }
        }
        Ok(())
    })?;
    // Dropped outside the borrow: the pollable first, then its resources.
    for (reg, resources) in buried {
        drop(reg);
        drop(resources);
    }
    to_wake.into_iter().for_each(Waker::wake);
    Ok(())
}
