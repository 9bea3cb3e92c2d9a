//! Readiness on WASI preview 1: one `poll_oneoff` per park.
//!
//! An I/O object whose operation returns `EAGAIN` registers its waker for
//! `(fd, direction)`. [`park`] turns every registered interest into an
//! `fd_read`/`fd_write` subscription, adds a relative monotonic clock
//! subscription for the loop's next deadline, waits in ONE `poll_oneoff`
//! call, and wakes the wakers of the descriptors that became ready. Interests
//! are oneshot (like the native reactor): a task that still cannot make
//! progress registers again.
//!
//! There are no threads on wasip1, so everything here is thread-local.

use std::cell::RefCell;
use std::io;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use wasi::{Errno, Event, Fd, Subscription, SubscriptionClock, SubscriptionFdReadwrite};

/// Userdata of the clock subscription (fd interests use their index).
const CLOCK: u64 = u64::MAX;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Direction {
    Read,
    Write,
}

struct Interest {
    fd: Fd,
    dir: Direction,
    wakers: Vec<Waker>,
}

struct Reactor {
    interests: Vec<Interest>,
    /// Readiness reported by `poll_oneoff` and not yet consumed by
    /// [`poll_when_ready`] (for descriptors that cannot be non-blocking).
    ready: Vec<(Fd, Direction)>,
    /// Descriptors the runtime refuses to watch (Node: regular files,
    /// `/dev/null`): like epoll, anyloop treats them as always ready.
    unpollable: Vec<Fd>,
    subs: Vec<Subscription>,
    events: Vec<Event>,
}

thread_local! {
    // `const`: no lazy initialization code for it.
    static REACTOR: RefCell<Reactor> = const {
        RefCell::new(Reactor {
            interests: Vec::new(),
            ready: Vec::new(),
            unpollable: Vec::new(),
            subs: Vec::new(),
            events: Vec::new(),
        })
    };
}

/// Converts a WASI errno into an `io::Error` (std's raw OS errors on wasip1
/// are WASI errnos, so `kind()` is meaningful).
pub(crate) fn errno(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(i32::from(e.raw()))
}

/// `e` from WASI call `call`, for the loop's park panic: names the call and
/// the errno, e.g. "poll_oneoff failed with errno 28". Built with
/// `push_str`, not `format!`, and the loop prints no `io::Error` `Display`
/// on wasm (see `anyloop_core`'s "Code size"). The kind is `Other`: the
/// loop reads only the message.
#[cold]
fn call_failed(call: &str, e: io::Error) -> io::Error {
    let Some(code) = e.raw_os_error() else {
        return e;
    };
    const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    let mut digits = [0u8; 10];
    let mut n = code.unsigned_abs();
    let mut len = 0;
    while len == 0 || n > 0 {
        digits[len] = (n % 10) as u8;
        n /= 10;
        len += 1;
    }
    let mut msg = String::with_capacity(call.len() + 30);
    msg.push_str(call);
    msg.push_str(" failed with errno ");
    for &d in digits[..len].iter().rev() {
        msg.push_str(DIGITS[usize::from(d)]);
    }
    anyloop_core::io_error(io::ErrorKind::Other, msg)
}

fn fd_subscription(userdata: u64, fd: Fd, dir: Direction) -> Subscription {
    let tag = match dir {
        Direction::Read => wasi::EVENTTYPE_FD_READ,
        Direction::Write => wasi::EVENTTYPE_FD_WRITE,
    };
    let rw = SubscriptionFdReadwrite {
        file_descriptor: fd,
    };
    Subscription {
        userdata,
        u: wasi::SubscriptionU {
            tag: tag.raw(),
            u: match dir {
                Direction::Read => wasi::SubscriptionUU { fd_read: rw },
                Direction::Write => wasi::SubscriptionUU { fd_write: rw },
            },
        },
    }
}

fn clock_subscription(timeout: Duration) -> Subscription {
    Subscription {
        userdata: CLOCK,
        u: wasi::SubscriptionU {
            tag: wasi::EVENTTYPE_CLOCK.raw(),
            u: wasi::SubscriptionUU {
                clock: SubscriptionClock {
                    id: wasi::CLOCKID_MONOTONIC,
                    timeout: u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX),
                    precision: 0,
                    flags: 0, // relative to now
                },
            },
        },
    }
}

/// Calls `poll_oneoff` on `subs`, filling `events`.
fn poll_oneoff(subs: &[Subscription], events: &mut Vec<Event>) -> io::Result<()> {
    events.clear();
    events.reserve(subs.len());
    // SAFETY: `subs` points to `subs.len()` initialized subscriptions and
    // `events` has capacity for as many events; the host writes at most
    // `nsubscriptions` events and returns how many it wrote.
    let n = unsafe { wasi::poll_oneoff(subs.as_ptr(), events.as_mut_ptr(), subs.len()) }
        .map_err(errno)?;
    // SAFETY: the host initialized the first `n <= subs.len()` events.
    unsafe { events.set_len(n.min(subs.len())) };
    Ok(())
}

/// Stores `waker` to be woken when `fd` is ready in `dir`.
pub(crate) fn register(fd: Fd, dir: Direction, waker: &Waker) {
    REACTOR.with(|r| {
        let mut r = r.borrow_mut();
        if r.unpollable.contains(&fd) {
            // Always ready: retry at once.
            if !r.ready.contains(&(fd, dir)) {
                r.ready.push((fd, dir));
            }
            waker.wake_by_ref();
            return;
        }
        let i = match r.interests.iter().position(|i| i.fd == fd && i.dir == dir) {
            Some(i) => i,
            None => {
                r.interests.push(Interest {
                    fd,
                    dir,
                    wakers: Vec::new(),
                });
                r.interests.len() - 1
            }
        };
        let wakers = &mut r.interests[i].wakers;
        if !wakers.iter().any(|w| w.will_wake(waker)) {
            wakers.push(waker.clone());
        }
    });
}

/// Drops every interest in `fd` (before it is closed) and wakes the waiters
/// so they observe the closed object.
pub(crate) fn forget(fd: Fd) {
    let mut woken = Vec::new();
    REACTOR.with(|r| {
        let mut r = r.borrow_mut();
        r.ready.retain(|&(f, _)| f != fd);
        r.unpollable.retain(|&f| f != fd);
        r.interests.retain_mut(|i| {
            if i.fd == fd {
                woken.append(&mut i.wakers);
                false
            } else {
                true
            }
        });
    });
    woken.into_iter().for_each(Waker::wake);
}

/// Waits in one `poll_oneoff` until a registered descriptor is ready or
/// `timeout` passes, then wakes the ready descriptors' wakers.
pub(crate) fn park(timeout: Option<Duration>) -> io::Result<()> {
    let mut to_wake: Vec<Waker> = Vec::new();
    REACTOR.with(|r| -> io::Result<()> {
        let mut r = r.borrow_mut();
        let r = &mut *r;
        if r.interests.is_empty() {
            match timeout {
                Some(t) if t.is_zero() => return Ok(()),
                Some(_) => {}
                None => {
                    return Err(anyloop_core::io_error(
                        io::ErrorKind::Other,
                        "every task waits, but no timer is pending and no I/O is \
                         registered: nothing can ever wake the loop (deadlock)",
                    ))
                }
            }
        }
        r.subs.clear();
        for (i, int) in r.interests.iter().enumerate() {
            r.subs.push(fd_subscription(i as u64, int.fd, int.dir));
        }
        if let Some(t) = timeout {
            r.subs.push(clock_subscription(t));
        }
        let mut fired = vec![false; r.interests.len()];
        if let Err(e) = poll_oneoff(&r.subs, &mut r.events) {
            // Some runtimes fail the whole call for a descriptor they cannot
            // watch. Find those, mark them always ready, and return (their
            // waiters retry without waiting).
            let mut any = false;
            for (i, int) in r.interests.iter().enumerate() {
                if probe(int.fd, int.dir).is_err() {
                    fired[i] = true;
                    any = true;
                    if !r.unpollable.contains(&int.fd) {
                        r.unpollable.push(int.fd);
                    }
                }
            }
            if !any {
                return Err(call_failed("poll_oneoff", e));
            }
            r.events.clear();
        }
        for ev in &r.events {
            // An event with `error` set (e.g. a closed descriptor) wakes its
            // waiters too: their retried operation reports the error.
            if let Some(f) = usize::try_from(ev.userdata)
                .ok()
                .and_then(|i| fired.get_mut(i))
            {
                *f = true;
            }
        }
        let mut idx = 0;
        let ready = &mut r.ready;
        r.interests.retain_mut(|int| {
            let keep = !fired[idx];
            idx += 1;
            if !keep {
                to_wake.append(&mut int.wakers);
                if !ready.contains(&(int.fd, int.dir)) {
                    ready.push((int.fd, int.dir));
                }
            }
            keep
        });
        Ok(())
    })?;
    to_wake.into_iter().for_each(Waker::wake);
    Ok(())
}

/// Whether the runtime can watch `fd` in `dir`: one zero-timeout
/// `poll_oneoff` with just this descriptor.
fn probe(fd: Fd, dir: Direction) -> io::Result<()> {
    let subs = [
        fd_subscription(0, fd, dir),
        clock_subscription(Duration::ZERO),
    ];
    let mut events = Vec::with_capacity(subs.len());
    poll_oneoff(&subs, &mut events)
}

/// Consumes the readiness of `fd` in `dir` that a park reported, if any.
fn take_ready(fd: Fd, dir: Direction) -> bool {
    REACTOR.with(|r| {
        let mut r = r.borrow_mut();
        match r.ready.iter().position(|&x| x == (fd, dir)) {
            Some(i) => {
                r.ready.swap_remove(i);
                true
            }
            None => false,
        }
    })
}

/// Waits once for `poll_oneoff` to report `fd` ready in `dir`: `Pending`
/// (interest registered) until a park has reported it, then `Ready` once.
pub(crate) fn poll_ready(fd: Fd, dir: Direction, cx: &mut Context<'_>) -> Poll<()> {
    if take_ready(fd, dir) {
        Poll::Ready(())
    } else {
        register(fd, dir, cx.waker());
        Poll::Pending
    }
}

/// Runs a non-blocking `op`; on `EAGAIN` registers interest in `dir` and
/// returns `Pending`.
pub(crate) fn poll_io<R>(
    fd: Fd,
    dir: Direction,
    cx: &mut Context<'_>,
    op: impl FnOnce() -> Result<R, Errno>,
) -> Poll<io::Result<R>> {
    match op() {
        Ok(v) => Poll::Ready(Ok(v)),
        Err(wasi::ERRNO_AGAIN) => {
            register(fd, dir, cx.waker());
            Poll::Pending
        }
        Err(e) => Poll::Ready(Err(errno(e))),
    }
}

/// Runs a possibly blocking `op` only after a park reported `fd` ready in
/// `dir`, so that it does not block the loop. (A zero-timeout
/// `poll_oneoff` cannot tell: wasmtime and Node report only the expired
/// clock then.)
pub(crate) fn poll_when_ready<R>(
    fd: Fd,
    dir: Direction,
    cx: &mut Context<'_>,
    op: impl FnOnce() -> Result<R, Errno>,
) -> Poll<io::Result<R>> {
    match poll_ready(fd, dir, cx) {
        Poll::Ready(()) => poll_io(fd, dir, cx, op),
        Poll::Pending => Poll::Pending,
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    #[test]
    fn call_failed_names_the_call_and_errno() {
        for (errno, text) in [(28, "28"), (0, "0"), (6, "6"), (76, "76")] {
            let e = super::call_failed("poll_oneoff", io::Error::from_raw_os_error(errno));
            assert_eq!(
                e.to_string(),
                format!("poll_oneoff failed with errno {text}")
            );
        }
        let other = io::Error::other("kept");
        assert_eq!(super::call_failed("poll_oneoff", other).to_string(), "kept");
    }
}
