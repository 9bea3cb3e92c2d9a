//! Unix: `signal-hook-registry` handlers and the self-pipe.

use std::cell::RefCell;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;
use std::task::{Context, Poll};

use super::{arrive, broadcast, Arrival, Globals, NSIG, SIGINT};
use crate::reactor::{Async, Direction};

pub use signal_hook::consts;

/// `SIGCHLD`.
pub const SIGCHLD: i32 = signal_hook::consts::SIGCHLD;

/// The self-pipe: handlers write a byte, loops read.
pub(super) struct Wakeup {
    /// The pipe's read end (each loop thread registers a duplicate).
    read: OwnedFd,
    /// The pipe's write end (written in signal context).
    write: OwnedFd,
}

impl Wakeup {
    pub(super) fn new() -> io::Result<Wakeup> {
        let (read, write) = crate::process::cloexec_pipe()?;
        rustix::io::ioctl_fionbio(&read, true)?;
        rustix::io::ioctl_fionbio(&write, true)?;
        Ok(Wakeup { read, write })
    }
}

/// A loop thread's registration of the pipe's read end.
pub(super) type Relay = Rc<Async<OwnedFd>>;

thread_local! {
    static RELAY: RefCell<Option<Relay>> = const { RefCell::new(None) };
}

/// This thread's registration of the pipe's read end.
pub(super) fn relay(g: &Globals) -> io::Result<Relay> {
    RELAY.with(|r| {
        let mut r = r.borrow_mut();
        if let Some(relay) = r.as_ref() {
            return Ok(relay.clone());
        }
        let fd = g.os.read.as_fd().try_clone_to_owned()?;
        let relay = Rc::new(Async::new_nonblocking(fd)?);
        *r = Some(relay.clone());
        Ok(relay)
    })
}

/// Reads the pipe empty, then wakes the listeners of every pending signal
/// if it held anything. (A handler marks its signal pending before it
/// writes the pipe, and whichever loop reads that byte broadcasts; a
/// drain that found the pipe empty has nothing to announce. `run` polls
/// its Ctrl-C subscription with every poll of the main task, so this path
/// must stay cheap.)
pub(super) fn drain(g: &Globals, relay: &Relay, cx: &mut Context<'_>) -> io::Result<()> {
    let mut got = false;
    loop {
        let mut buf = [0u8; 64];
        match relay.poll_io(Direction::Read, cx, |fd| {
            rustix::io::read(fd, &mut buf).map_err(io::Error::from)
        }) {
            Poll::Ready(Ok(0)) | Poll::Pending => break,
            Poll::Ready(Ok(_)) => got = true,
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Poll::Ready(Err(e)) => return Err(e),
        }
    }
    if got {
        broadcast(g);
    }
    Ok(())
}

/// Checks that `sig` can be handled: a known signal number that is not
/// one of those no program may catch (`SIGKILL`, `SIGSTOP`) or must not
/// (`SIGSEGV`, `SIGILL`, `SIGFPE`, ...).
///
/// # Errors
///
/// `InvalidInput` naming the signal.
pub fn check(sig: i32) -> io::Result<()> {
    let name = signal_hook::low_level::signal_name(sig);
    if sig <= 0 || sig as usize >= NSIG {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal number {sig} is out of range (1..{NSIG})"),
        ));
    }
    if signal_hook::consts::FORBIDDEN.contains(&sig) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "signal {} ({sig}) cannot be handled (SIGKILL and SIGSTOP cannot be caught; \
                 SIGSEGV, SIGILL, SIGFPE and SIGBUS must not be)",
                name.unwrap_or("?")
            ),
        ));
    }
    Ok(())
}

/// The signal's name (`"SIGINT"`), if it has one.
pub fn name(sig: i32) -> Option<&'static str> {
    signal_hook::low_level::signal_name(sig)
}

pub(super) fn install(g: &'static Globals, sig: i32) -> io::Result<()> {
    let action = move || {
        // Signal context: atomics and write(2) only.
        match arrive(g, sig) {
            // Nobody listens (any more): behave as if no handler were set.
            Arrival::Unheard => {
                let _ = signal_hook::low_level::emulate_default_handler(sig);
                return;
            }
            // The second Ctrl-C while `run` is cleaning up: end the process
            // as an unhandled SIGINT would.
            Arrival::SecondPress => {
                let _ = signal_hook::low_level::emulate_default_handler(sig);
            }
            Arrival::Pending => {}
        }
        // Last: a loop woken by this byte (possibly on another thread,
        // while this handler is preempted) must find the press counted
        // already, or a runner would check `PRESSES` too early and wait
        // for a wake-up that never comes.
        let _ = rustix::io::write(&g.os.write, &[sig as u8]);
    };
    // SAFETY: `action` only uses atomics, `write(2)` on a non-blocking pipe
    // and signal-hook's `emulate_default_handler` (documented for use in
    // signal handlers: sigaction, sigprocmask, raise); it does not allocate,
    // lock or panic.
    unsafe { signal_hook_registry::register(sig, action) }?;
    Ok(())
}

/// Sends `sig` to this process (for tests and examples: `kill -INT $$`).
///
/// # Errors
///
/// `InvalidInput` for an unknown signal number; the OS error of `kill`.
pub fn raise(sig: i32) -> io::Result<()> {
    send(rustix::process::getpid(), sig)
}

/// Sends `sig` to `pid`.
pub(crate) fn send(pid: rustix::process::Pid, sig: i32) -> io::Result<()> {
    let s = rustix::process::Signal::from_named_raw(sig).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown signal number {sig}"),
        )
    })?;
    Ok(rustix::process::kill_process(pid, s)?)
}

/// Ends the process as an unhandled `SIGINT` does (the shell sees "killed
/// by SIGINT", status 130); returns only if that failed.
pub fn exit_by_sigint() {
    let _ = signal_hook::low_level::emulate_default_handler(SIGINT);
}
