//! OS signals delivered to event loops: Unix signals, and on Windows the
//! console's Ctrl-C and Ctrl-Break events.
//!
//! # Design
//!
//! One process-wide handler per signal (Unix: installed through
//! `signal-hook-registry`; Windows: one `SetConsoleCtrlHandler` routine)
//! marks the signal pending and has it *broadcast*: for every pending
//! signal the delivery count goes up and every waiter on every thread is
//! woken (wakers are thread-safe). A [`Signals`] subscription remembers
//! the count it has seen, so deliveries are never missed, and several
//! close together coalesce into one (as the kernel does for a signal that
//! is already pending).
//!
//! How the broadcast happens is the one thing the OSes differ in:
//!
//! - Unix: a signal handler may only touch atomics and async-signal-safe
//!   calls, so it writes one byte to a process-wide non-blocking pipe (the
//!   self-pipe trick). Each loop thread that listens registers its own
//!   duplicate of the pipe's read end with its reactor; whichever loop
//!   wakes first drains the pipe and broadcasts.
//! - Windows: the console control routine runs on a thread the system
//!   starts for the event, where locks and wakers are allowed: it
//!   broadcasts itself.
//!
//! While nobody listens for a signal (its subscriptions are all dropped),
//! the handler performs the signal's default action (Windows: passes the
//! event on to the default routine, which ends the process), so a program
//! whose `ctrl_c()` has finished can still be stopped with Ctrl-C
//! (asyncio's `remove_signal_handler` restores `SIG_DFL` for the same
//! reason).
//!
//! `SIGINT` (Ctrl-C) has one more client: a loop started by the facade's
//! `run` counts presses here ([`Interrupts`]). The first press (while no
//! user code listens for `SIGINT`) cancels the main task; a second one
//! performs the default action right inside the handler, so it ends the
//! process even if the loop is stuck.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as os;
#[cfg(unix)]
pub(crate) use unix::send;
#[cfg(unix)]
pub use unix::{check, consts, exit_by_sigint, name, raise, SIGCHLD};

#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as os;
#[cfg(windows)]
pub use windows::{check, exit_by_sigint, generate_ctrl_event, raise, SIGBREAK};

/// Signal numbers this module accepts: `1..NSIG`.
const NSIG: usize = 65;

/// `SIGINT` (Ctrl-C).
pub const SIGINT: i32 = 2;

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
    /// What the OS's handler needs to reach the loops (Unix: the pipe;
    /// Windows: nothing).
    #[cfg_attr(windows, allow(dead_code))]
    os: os::Wakeup,
}

static GLOBALS: OnceLock<Globals> = OnceLock::new();

fn globals() -> io::Result<&'static Globals> {
    static INIT: Mutex<()> = Mutex::new(());
    if let Some(g) = GLOBALS.get() {
        return Ok(g);
    }
    let _init = INIT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(g) = GLOBALS.get() {
        return Ok(g);
    }
    let os = os::Wakeup::new()?;
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
    Ok(GLOBALS.get_or_init(|| Globals { slots, os }))
}

/// Runners (`anyloop::run` loops) handling Ctrl-C right now.
static RUNNERS: AtomicUsize = AtomicUsize::new(0);
/// `SIGINT`s taken by runners since the first runner started.
static PRESSES: AtomicUsize = AtomicUsize::new(0);

/// What a handler does with one delivery (see [`arrive`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Arrival {
    /// Nobody listens: the signal's default action applies.
    Unheard,
    /// Marked pending for the listeners.
    Pending,
    /// Marked pending, and it is the second Ctrl-C while `run` cleans up:
    /// the default action (ending the process) applies too.
    SecondPress,
}

/// The handler's part of a delivery of `sig`, on every OS. Atomics only,
/// so it is safe in a Unix signal handler.
fn arrive(g: &Globals, sig: i32) -> Arrival {
    let slot = &g.slots[sig as usize];
    if slot.listeners.load(Ordering::SeqCst) == 0 {
        return Arrival::Unheard;
    }
    // Pending before anything else can observe this delivery, so a later
    // subscription's `broadcast` attributes it to the listeners of this
    // moment.
    slot.pending.store(true, Ordering::SeqCst);
    if sig == SIGINT
        && RUNNERS.load(Ordering::SeqCst) > 0
        && slot.user.load(Ordering::SeqCst) == 0
        && PRESSES.fetch_add(1, Ordering::SeqCst) >= 1
    {
        return Arrival::SecondPress;
    }
    Arrival::Pending
}

fn broadcast(g: &Globals) {
    for slot in &g.slots {
        // A plain load first: the swap is a locked instruction, and most
        // of the 65 slots are never pending.
        if slot.pending.load(Ordering::SeqCst) && slot.pending.swap(false, Ordering::SeqCst) {
            slot.count.fetch_add(1, Ordering::SeqCst);
            let waiters =
                std::mem::take(&mut *slot.waiters.lock().unwrap_or_else(|e| e.into_inner()));
            waiters.into_iter().for_each(Waker::wake);
        }
    }
}

/// Installs the OS handler of `sig` once.
fn install(g: &'static Globals, sig: i32) -> io::Result<()> {
    let slot = &g.slots[sig as usize];
    let mut installed = slot.installed.lock().unwrap_or_else(|e| e.into_inner());
    if !*installed {
        os::install(g, sig)?;
        *installed = true;
    }
    Ok(())
}

/// A subscription to one signal: [`poll_recv`](Self::poll_recv) is ready
/// once per delivery (deliveries close together coalesce) after the
/// subscription was made.
pub struct Signals {
    g: &'static Globals,
    sig: i32,
    seen: u64,
    user: bool,
    relay: os::Relay,
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
    /// on Windows `Unsupported` for anything but `SIGINT` and `SIGBREAK`;
    /// the OS error if the handler (or the pipe) cannot be set up.
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
        let relay = os::relay(g)?;
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
        os::drain(self.g, &self.relay, cx)?;
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
