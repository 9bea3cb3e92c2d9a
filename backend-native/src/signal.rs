//! OS signals delivered to event loops (Unix).
//!
//! # Design
//!
//! A signal handler may only touch atomics and async-signal-safe calls, so
//! the handler installed through `signal-hook-registry` does two things:
//! it marks the signal pending and writes one byte to a process-wide
//! non-blocking pipe (the self-pipe trick). Each loop thread that listens
//! registers its own duplicate of the pipe's read end with its reactor.
//! Whichever loop wakes first drains the pipe and *broadcasts*: for every
//! pending signal it bumps the signal's delivery count and wakes every
//! waiter on every thread (wakers are thread-safe). A [`Signals`]
//! subscription remembers the count it has seen, so deliveries are never
//! missed, and several close together coalesce into one (as the kernel
//! does for a signal that is already pending).
//!
//! While nobody listens for a signal (its subscriptions are all dropped),
//! the handler performs the signal's default action, so a program whose
//! `ctrl_c()` has finished can still be stopped with Ctrl-C (asyncio's
//! `remove_signal_handler` restores `SIG_DFL` for the same reason).
//!
//! `SIGINT` has one more client: a loop started by the facade's `run`
//! counts presses here ([`Interrupts`]). The first press (while no user
//! code listens for `SIGINT`) cancels the main task; a second one performs
//! the default action right inside the handler, so it ends the process
//! even if the loop is stuck.

use std::cell::RefCell;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use crate::reactor::{Async, Direction};

/// Signal numbers this module accepts: `1..NSIG`.
const NSIG: usize = 65;

pub use signal_hook::consts;

/// `SIGINT`.
pub const SIGINT: i32 = signal_hook::consts::SIGINT;
/// `SIGCHLD`.
pub const SIGCHLD: i32 = signal_hook::consts::SIGCHLD;

struct Slot {
    /// Set by the handler, consumed by [`broadcast`].
    pending: AtomicBool,
    /// Deliveries broadcast so far.
    count: AtomicU64,
    /// Live subscriptions (user and internal).
    listeners: AtomicUsize,
    /// Live subscriptions made by user code (not by `run` itself).
    user: AtomicUsize,
    /// The handler is installed (installation happens once per signal).
    installed: Mutex<bool>,
    waiters: Mutex<Vec<Waker>>,
}

struct Globals {
    slots: Vec<Slot>,
    /// The pipe's read end (each loop thread registers a duplicate).
    read: OwnedFd,
    /// The pipe's write end (written in signal context).
    write: OwnedFd,
}

fn globals() -> io::Result<&'static Globals> {
    static GLOBALS: OnceLock<Globals> = OnceLock::new();
    static INIT: Mutex<()> = Mutex::new(());
    if let Some(g) = GLOBALS.get() {
        return Ok(g);
    }
    let _init = INIT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(g) = GLOBALS.get() {
        return Ok(g);
    }
    let (read, write) = crate::process::cloexec_pipe()?;
    rustix::io::ioctl_fionbio(&read, true)?;
    rustix::io::ioctl_fionbio(&write, true)?;
    let slots = (0..NSIG)
        .map(|_| Slot {
            pending: AtomicBool::new(false),
            count: AtomicU64::new(0),
            listeners: AtomicUsize::new(0),
            user: AtomicUsize::new(0),
            installed: Mutex::new(false),
            waiters: Mutex::new(Vec::new()),
        })
        .collect();
    Ok(GLOBALS.get_or_init(|| Globals { slots, read, write }))
}

/// Runners (`anyloop::run` loops) handling Ctrl-C right now.
static RUNNERS: AtomicUsize = AtomicUsize::new(0);
/// `SIGINT`s taken by runners since the first runner started.
static PRESSES: AtomicUsize = AtomicUsize::new(0);

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

fn install(g: &'static Globals, sig: i32) -> io::Result<()> {
    let slot = &g.slots[sig as usize];
    let mut installed = slot.installed.lock().unwrap_or_else(|e| e.into_inner());
    if *installed {
        return Ok(());
    }
    let action = move || {
        // Signal context: atomics and write(2) only.
        let slot = &g.slots[sig as usize];
        if slot.listeners.load(Ordering::SeqCst) == 0 {
            // Nobody listens (any more): behave as if no handler were set.
            let _ = signal_hook::low_level::emulate_default_handler(sig);
            return;
        }
        // Pending before anything else can observe this delivery, so a
        // later subscription's `broadcast` attributes it to the listeners
        // of this moment.
        slot.pending.store(true, Ordering::SeqCst);
        if sig == SIGINT
            && RUNNERS.load(Ordering::SeqCst) > 0
            && slot.user.load(Ordering::SeqCst) == 0
            && PRESSES.fetch_add(1, Ordering::SeqCst) >= 1
        {
            // The second Ctrl-C while `run` is cleaning up: end the process
            // as an unhandled SIGINT would.
            let _ = signal_hook::low_level::emulate_default_handler(sig);
        }
        // Last: a loop woken by this byte (possibly on another thread,
        // while this handler is preempted) must find the press counted
        // already, or a runner would check `PRESSES` too early and wait
        // for a wake-up that never comes.
        let _ = rustix::io::write(&g.write, &[sig as u8]);
    };
    // SAFETY: `action` only uses atomics, `write(2)` on a non-blocking pipe
    // and signal-hook's `emulate_default_handler` (documented for use in
    // signal handlers: sigaction, sigprocmask, raise); it does not allocate,
    // lock or panic.
    unsafe { signal_hook_registry::register(sig, action) }?;
    *installed = true;
    Ok(())
}

/// Reads the pipe empty, then wakes the listeners of every pending signal.
fn drain(g: &Globals, relay: &Async<OwnedFd>, cx: &mut Context<'_>) -> io::Result<()> {
    loop {
        let mut buf = [0u8; 64];
        match relay.poll_io(Direction::Read, cx, |fd| {
            rustix::io::read(fd, &mut buf).map_err(io::Error::from)
        }) {
            Poll::Ready(Ok(0)) | Poll::Pending => break,
            Poll::Ready(Ok(_)) => {}
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Poll::Ready(Err(e)) => return Err(e),
        }
    }
    broadcast(g);
    Ok(())
}

fn broadcast(g: &Globals) {
    for slot in &g.slots {
        if slot.pending.swap(false, Ordering::SeqCst) {
            slot.count.fetch_add(1, Ordering::SeqCst);
            let waiters =
                std::mem::take(&mut *slot.waiters.lock().unwrap_or_else(|e| e.into_inner()));
            waiters.into_iter().for_each(Waker::wake);
        }
    }
}

thread_local! {
    static RELAY: RefCell<Option<Rc<Async<OwnedFd>>>> = const { RefCell::new(None) };
}

/// This thread's registration of the pipe's read end.
fn relay(g: &Globals) -> io::Result<Rc<Async<OwnedFd>>> {
    RELAY.with(|r| {
        let mut r = r.borrow_mut();
        if let Some(relay) = r.as_ref() {
            return Ok(relay.clone());
        }
        let fd = g.read.as_fd().try_clone_to_owned()?;
        let relay = Rc::new(Async::new_nonblocking(fd)?);
        *r = Some(relay.clone());
        Ok(relay)
    })
}

/// A subscription to one signal: [`poll_recv`](Self::poll_recv) is ready
/// once per delivery (deliveries close together coalesce) after the
/// subscription was made.
pub struct Signals {
    g: &'static Globals,
    sig: i32,
    seen: u64,
    user: bool,
    relay: Rc<Async<OwnedFd>>,
}

impl std::fmt::Debug for Signals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signals")
            .field("signal", &self.sig)
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

impl Signals {
    /// Starts listening for `sig` on behalf of user code.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a signal that cannot be handled (see [`check`]);
    /// the OS error if the handler or the pipe cannot be set up.
    pub fn new(sig: i32) -> io::Result<Signals> {
        Self::with_kind(sig, true)
    }

    /// Starts listening for `sig` on behalf of the runtime (the child
    /// reaper's `SIGCHLD`, `run`'s `SIGINT`): does not count as user code
    /// handling the signal.
    pub(crate) fn internal(sig: i32) -> io::Result<Signals> {
        Self::with_kind(sig, false)
    }

    fn with_kind(sig: i32, user: bool) -> io::Result<Signals> {
        check(sig)?;
        let g = globals()?;
        let relay = relay(g)?;
        let slot = &g.slots[sig as usize];
        // Deliveries from before this subscription that no loop has
        // broadcast yet belong to the listeners of that time.
        broadcast(g);
        slot.listeners.fetch_add(1, Ordering::SeqCst);
        if user {
            slot.user.fetch_add(1, Ordering::SeqCst);
        }
        let me = Signals {
            g,
            sig,
            seen: slot.count.load(Ordering::SeqCst),
            user,
            relay,
        };
        install(g, sig)?;
        Ok(me)
    }

    /// The signal number.
    pub fn signal(&self) -> i32 {
        self.sig
    }

    /// Ready once the signal has been delivered since the last `Ready`
    /// (or since the subscription was made).
    ///
    /// # Errors
    ///
    /// The OS error of reading the signal pipe (not expected).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let slot = &self.g.slots[self.sig as usize];
        {
            let mut w = slot.waiters.lock().unwrap_or_else(|e| e.into_inner());
            if !w.iter().any(|x| x.will_wake(cx.waker())) {
                w.push(cx.waker().clone());
            }
        }
        drain(self.g, &self.relay, cx)?;
        let count = slot.count.load(Ordering::SeqCst);
        if count != self.seen {
            self.seen = count;
            return Poll::Ready(Ok(()));
        }
        Poll::Pending
    }

    /// Waits for the next delivery.
    ///
    /// # Errors
    ///
    /// See [`poll_recv`](Self::poll_recv).
    pub async fn recv(&mut self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        let slot = &self.g.slots[self.sig as usize];
        if self.user {
            slot.user.fetch_sub(1, Ordering::SeqCst);
        }
        slot.listeners.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Ctrl-C handling of a loop started by `run` (asyncio's `Runner`): while
/// it lives, `SIGINT`s that no user code listens for are counted as
/// presses; the second press ends the process from the signal handler.
#[derive(Debug)]
pub struct Interrupts {
    signals: Signals,
    taken: usize,
}

impl Interrupts {
    /// Starts counting Ctrl-C presses (the count starts at zero).
    ///
    /// # Errors
    ///
    /// The OS error if the handler cannot be installed.
    pub fn new() -> io::Result<Interrupts> {
        let signals = Signals::internal(SIGINT)?;
        if RUNNERS.fetch_add(1, Ordering::SeqCst) == 0 {
            PRESSES.store(0, Ordering::SeqCst);
        }
        Ok(Interrupts { signals, taken: 0 })
    }

    /// Waits for a Ctrl-C that no user code listened for (a `SIGINT`
    /// handled by an `add_signal_handler` callback or a `ctrl_c()` waiter
    /// does not count).
    ///
    /// # Errors
    ///
    /// See [`Signals::poll_recv`].
    pub async fn pressed(&mut self) -> io::Result<()> {
        loop {
            if PRESSES.load(Ordering::SeqCst) > self.taken {
                self.taken = PRESSES.load(Ordering::SeqCst);
                return Ok(());
            }
            self.signals.recv().await?;
        }
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        RUNNERS.fetch_sub(1, Ordering::SeqCst);
    }
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
