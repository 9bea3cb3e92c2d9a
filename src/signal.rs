//! OS signals: asyncio's `loop.add_signal_handler` /
//! `remove_signal_handler`, and awaitable forms ([`recv`], [`ctrl_c`],
//! [`Signal`]).
//!
//! # Examples
//!
//! ```
//! use anyloop::signal::{self, SIGUSR1};
//!
//! anyloop::run(async {
//! # if !anyloop::capabilities().signals { return Ok(()) }
//!     let mut usr1 = signal::Signal::new(SIGUSR1)?;
//!     signal::raise_signal(SIGUSR1)?;
//!     usr1.recv().await?;
//!
//!     // asyncio: loop.add_signal_handler(signal.SIGUSR1, callback)
//!     let got = std::rc::Rc::new(std::cell::Cell::new(0));
//!     let g = got.clone();
//!     signal::add_signal_handler(SIGUSR1, move || g.set(g.get() + 1))?;
//!     signal::raise_signal(SIGUSR1)?;
//!     while got.get() == 0 {
//!         anyloop::sleep(std::time::Duration::from_millis(1)).await;
//!     }
//!     assert!(signal::remove_signal_handler(SIGUSR1));
//!     std::io::Result::Ok(())
//! })
//! .unwrap();
//! ```
//!
//! # Ctrl-C and [`run`](crate::run)
//!
//! As `asyncio.run` (3.11+) does, [`run`](crate::run) on the main thread
//! handles `SIGINT` while no user code does: the first Ctrl-C cancels the
//! main task, whose destructors (and, with asyncio-style cancellation,
//! its cleanup code) run; `run` then ends the process as an unhandled
//! `SIGINT` would (exit status 130 in a shell), and
//! [`Runner::try_run`](crate::Runner::try_run) returns [`Interrupted`]
//! instead. A second Ctrl-C ends the process at once, even if the
//! cleanup hangs. A program that listens for `SIGINT` itself
//! ([`ctrl_c`], [`add_signal_handler`]) takes over: its listeners get the
//! signal and the main task is left alone.
//!
//! On Windows the same happens for the console's Ctrl-C
//! (`CTRL_C_EVENT`); the process then ends with exit code
//! `STATUS_CONTROL_C_EXIT` (0xC000013A), as an unhandled Ctrl-C (and
//! Python) ends it there.
//!
//! # asyncio → anyloop
//!
//! | asyncio | anyloop |
//! |---|---|
//! | `loop.add_signal_handler(sig, cb)` | [`add_signal_handler`]`(sig, cb)` |
//! | `loop.remove_signal_handler(sig)` | [`remove_signal_handler`]`(sig)` |
//! | `signal.SIGINT`, ... | [`SIGINT`], ... |
//! | `signal.raise_signal(sig)` | [`raise_signal`] |
//! | `signal.Signals(n).name` | [`name`] |
//! | `KeyboardInterrupt` out of `asyncio.run` | [`Interrupted`] from [`Runner::try_run`](crate::Runner::try_run) |
//! | (tokio) `signal::ctrl_c()`, `signal(kind)` | [`ctrl_c`], [`recv`], [`Signal`] |
//! | `signal.SIGBREAK` (Windows), (tokio) `signal::windows::ctrl_break()` | [`SIGBREAK`], [`ctrl_break`] |
//!
//! # Hosts
//!
//! - Native Unix: every signal ([`capabilities`](crate::capabilities)`().signals`).
//! - Windows has no signals, only the console's Ctrl-C and Ctrl-Break
//!   events (`capabilities().ctrl_c`, while `signals` is false): [`SIGINT`]
//!   and [`SIGBREAK`] work with [`Signal`], [`recv`], [`ctrl_c`],
//!   [`ctrl_break`], [`add_signal_handler`] and [`raise_signal`] (which,
//!   like the C runtime's `raise`, delivers in-process only); every other
//!   signal returns `io::ErrorKind::Unsupported` (`"signal 15 (signals
//!   other than Ctrl-C, SIGINT, and Ctrl-Break, SIGBREAK) is not supported
//!   on windows"`).
//! - WASI (preview 1 and 0.2: neither interface has signals) and the web
//!   have none: [`Signal::new`], [`recv`], [`ctrl_c`],
//!   [`add_signal_handler`] and [`raise_signal`] return
//!   `io::ErrorKind::Unsupported` naming the feature and the host
//!   (`"signals (anyloop::signal) is not supported on wasip2"`).
//!
//! [`ctrl_break`] is `Unsupported` everywhere but Windows. `tests/signal.rs`
//! proves all of it on each host (Windows under Wine).
//!
//! # Implementation
//!
//! Unix: `signal-hook-registry` installs the handlers; a handler marks its
//! signal pending and writes a byte to a self-pipe that every listening
//! loop watches (see the `anyloop-native` crate's `signal` module).
//! While nobody listens for a signal any more, its handler performs the
//! default action, as `remove_signal_handler` restoring `SIG_DFL` would.
//!
//! Windows: one console control routine (`SetConsoleCtrlHandler`, through
//! `windows-sys`) takes `CTRL_C_EVENT` and `CTRL_BREAK_EVENT`. The system
//! runs it on a thread of its own, so it wakes the listening loops
//! directly (no self-pipe); while nobody listens it returns `FALSE`, and
//! the default routine ends the process.
//!
//! # Design decisions
//!
//! - **One process-wide handler per signal, one self-pipe per loop.**
//!   Signal handlers are process-global; `signal-hook-registry` chains
//!   ours with any other library's. The handler only sets atomics and
//!   writes a byte, so everything a user callback does runs on the loop
//!   (asyncio's `add_signal_handler` callbacks also run on the loop,
//!   never in signal context).
//! - **Counted deliveries.** A [`Signal`] sees every delivery after it was
//!   created (coalesced as the OS does while nobody looks), so `recv` in a
//!   loop misses nothing between two awaits.
//! - **Ctrl-C is asyncio's.** [`run`](crate::run) cancels the main task,
//!   so destructors and [`catch_cancel`](crate::catch_cancel) cleanups
//!   run, then ends the process by `SIGINT` itself (what a shell reports
//!   as 130), not by `exit(130)`: a parent sees the same status as from a
//!   program without handlers. `tests/signal.rs` runs `examples/echo.rs`
//!   (a plain `#[anyloop::main]` server) and checks all of it.
//! - **Windows: the console routine itself, not a crate that owns it.**
//!   The `ctrlc` crate takes one closure for the whole process and always
//!   handles the event, so a program could no longer be stopped by Ctrl-C
//!   once nobody listens; `signal-hook` on Windows goes through the C
//!   runtime's `signal()`, which resets each handler to `SIG_DFL` after a
//!   delivery. The routine here is ~20 lines over `windows-sys` (the
//!   binding `polling` already uses; tokio does the same) and returns
//!   `FALSE` when nobody listens, which keeps the default action.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::io;

#[cfg(not(target_family = "wasm"))]
use crate::backend::signal as sys;

/// Hangup.
pub const SIGHUP: i32 = 1;
/// Interrupt (Ctrl-C).
pub const SIGINT: i32 = 2;
/// Quit (Ctrl-\\).
pub const SIGQUIT: i32 = 3;
/// Kill (cannot be caught).
pub const SIGKILL: i32 = 9;
/// Broken pipe.
pub const SIGPIPE: i32 = 13;
/// Alarm clock.
pub const SIGALRM: i32 = 14;
/// Termination request.
pub const SIGTERM: i32 = 15;
/// User-defined signal 1.
#[cfg(all(not(target_family = "wasm"), unix))]
pub const SIGUSR1: i32 = signal_consts::SIGUSR1;
/// User-defined signal 1 (Linux's number on hosts without signals).
#[cfg(not(all(not(target_family = "wasm"), unix)))]
pub const SIGUSR1: i32 = 10;
/// User-defined signal 2.
#[cfg(all(not(target_family = "wasm"), unix))]
pub const SIGUSR2: i32 = signal_consts::SIGUSR2;
/// User-defined signal 2 (Linux's number on hosts without signals).
#[cfg(not(all(not(target_family = "wasm"), unix)))]
pub const SIGUSR2: i32 = 12;
/// A child stopped or exited.
#[cfg(all(not(target_family = "wasm"), unix))]
pub const SIGCHLD: i32 = signal_consts::SIGCHLD;
/// A child stopped or exited (Linux's number on hosts without signals).
#[cfg(not(all(not(target_family = "wasm"), unix)))]
pub const SIGCHLD: i32 = 17;
/// The terminal window changed size.
pub const SIGWINCH: i32 = 28;
/// Ctrl-Break (Windows' `CTRL_BREAK_EVENT`; Python's `signal.SIGBREAK`).
/// Only Windows has it: see [`ctrl_break`].
pub const SIGBREAK: i32 = 21;

#[cfg(all(not(target_family = "wasm"), unix))]
use anyloop_native::signal::consts as signal_consts;

#[cfg(target_family = "wasm")]
fn unsupported() -> io::Error {
    crate::capabilities().unsupported("signals (anyloop::signal)")
}

/// The name of signal `sig` (`"SIGINT"`), if this host knows it.
///
/// # Examples
///
/// ```
/// if anyloop::capabilities().signals {
///     assert_eq!(anyloop::signal::name(anyloop::signal::SIGTERM), Some("SIGTERM"));
/// }
/// ```
pub fn name(sig: i32) -> Option<&'static str> {
    #[cfg(all(not(target_family = "wasm"), unix))]
    return sys::name(sig);
    #[cfg(not(all(not(target_family = "wasm"), unix)))]
    return match sig {
        SIGHUP => Some("SIGHUP"),
        SIGINT => Some("SIGINT"),
        SIGQUIT => Some("SIGQUIT"),
        SIGKILL => Some("SIGKILL"),
        SIGTERM => Some("SIGTERM"),
        #[cfg(windows)]
        SIGBREAK => Some("SIGBREAK"),
        _ => None,
    };
}

/// A subscription to one signal: each [`recv`](Self::recv) waits for a
/// delivery after the previous one (deliveries close together may
/// coalesce, as the kernel's do). It is also a `Stream` of `()`.
///
/// While a `Signal` for `sig` exists, the signal's default action (for
/// `SIGINT` and `SIGTERM`: ending the process) does not happen.
///
/// # Examples
///
/// ```
/// # anyloop::run(async {
/// # if !anyloop::capabilities().signals { return Ok(()) }
/// let mut hup = anyloop::signal::Signal::new(anyloop::signal::SIGHUP)?;
/// anyloop::signal::raise_signal(anyloop::signal::SIGHUP)?;
/// hup.recv().await?; // e.g. reload the configuration
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct Signal {
    #[cfg(not(target_family = "wasm"))]
    inner: sys::Signals,
    #[cfg(target_family = "wasm")]
    inner: std::convert::Infallible,
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl Signal {
    /// Starts listening for `sig`.
    ///
    /// # Errors
    ///
    /// - `Unsupported` on hosts without signals (WASI, web) and, on
    ///   Windows, for every signal but `SIGINT` and `SIGBREAK`;
    /// - `InvalidInput` for `SIGKILL`, `SIGSTOP` (which cannot be caught),
    ///   `SIGSEGV`, `SIGILL`, `SIGFPE`, `SIGBUS` (which must not be) or an
    ///   unknown number.
    pub fn new(sig: i32) -> io::Result<Signal> {
        #[cfg(not(target_family = "wasm"))]
        return Ok(Signal {
            inner: sys::Signals::new(sig)?,
        });
        #[cfg(target_family = "wasm")]
        {
            let _ = sig;
            Err(unsupported())
        }
    }

    /// Waits for the next delivery.
    ///
    /// # Errors
    ///
    /// The OS error of the signal pipe (not expected).
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: a delivery that arrives while no `recv` waits is
    /// returned by the next one.
    pub async fn recv(&mut self) -> io::Result<()> {
        #[cfg(not(target_family = "wasm"))]
        return self.inner.recv().await;
        #[cfg(target_family = "wasm")]
        match self.inner {}
    }
}

impl futures_lite::Stream for Signal {
    type Item = io::Result<()>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<io::Result<()>>> {
        #[cfg(not(target_family = "wasm"))]
        return self.get_mut().inner.poll_recv(cx).map(Some);
        #[cfg(target_family = "wasm")]
        {
            let _ = cx;
            match self.inner {}
        }
    }
}

/// Waits for one delivery of `sig` (counted from this call).
///
/// # Errors
///
/// As [`Signal::new`].
///
/// # Examples
///
/// ```
/// use anyloop::signal::{recv, raise_signal, SIGUSR2};
/// # anyloop::run(async {
/// # if !anyloop::capabilities().signals { return Ok(()) }
/// let waiter = anyloop::spawn(recv(SIGUSR2));
/// anyloop::yield_now().await; // let it subscribe
/// raise_signal(SIGUSR2)?;
/// waiter.await.unwrap()?;
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub async fn recv(sig: i32) -> io::Result<()> {
    Signal::new(sig)?.recv().await
}

/// Waits for Ctrl-C (`SIGINT`; on Windows the console's `CTRL_C_EVENT`).
/// While it waits, Ctrl-C does not cancel [`run`](crate::run)'s main
/// task: the program handles it.
///
/// # Errors
///
/// `Unsupported` where [`capabilities`](crate::capabilities)`().ctrl_c`
/// is false (WASI, web).
///
/// # Examples
///
/// ```no_run
/// # anyloop::run(async {
/// let server = anyloop::spawn(async { /* serve */ });
/// anyloop::signal::ctrl_c().await?;
/// println!("shutting down");
/// server.cancel();
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    recv(SIGINT).await
}

/// Waits for Ctrl-Break (Windows' `CTRL_BREAK_EVENT`, Python's
/// `signal.SIGBREAK`; tokio's `signal::windows::ctrl_break`). While it
/// waits, Ctrl-Break does not end the process (its default action).
/// Ctrl-Break can also be sent to a child started in its own process
/// group: [`Process::send_signal`](crate::process::Process::send_signal)`(SIGBREAK)`.
///
/// # Errors
///
/// `Unsupported` on every host but Windows (Unix has no Ctrl-Break:
/// number 21 is `SIGTTIN` there).
///
/// # Examples
///
/// ```no_run
/// # anyloop::run(async {
/// anyloop::signal::ctrl_break().await?;
/// println!("Ctrl-Break: dumping state");
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub async fn ctrl_break() -> io::Result<()> {
    #[cfg(windows)]
    return recv(SIGBREAK).await;
    #[cfg(not(windows))]
    Err(crate::capabilities().unsupported("Ctrl-Break (anyloop::signal::ctrl_break, Windows only)"))
}

/// Sends `sig` to this process (Python's `signal.raise_signal`). On
/// Windows (`SIGINT`, `SIGBREAK` only) it runs the console control
/// routine in this process, as the C runtime's `raise` does; other
/// processes of the console see nothing.
///
/// # Errors
///
/// `Unsupported` on hosts without signals (on Windows: for every signal
/// but `SIGINT` and `SIGBREAK`); `InvalidInput` for an unknown number.
pub fn raise_signal(sig: i32) -> io::Result<()> {
    #[cfg(not(target_family = "wasm"))]
    return sys::raise(sig);
    #[cfg(target_family = "wasm")]
    {
        let _ = sig;
        Err(unsupported())
    }
}

thread_local! {
    /// This thread's loop's handlers (asyncio keeps them on the loop).
    static HANDLERS: RefCell<HashMap<i32, crate::Task<()>>> = RefCell::new(HashMap::new());
}

/// Calls `callback` on the loop each time `sig` arrives, until
/// [`remove_signal_handler`]: asyncio's `loop.add_signal_handler`. A
/// handler already set for `sig` is replaced.
///
/// The callback runs as a task named `signal handler SIGxxx` (it shows in
/// [`all_tasks`](crate::all_tasks)); remove the handler before the loop
/// ends. Must be called inside a running loop.
///
/// # Errors
///
/// As [`Signal::new`].
///
/// # Examples
///
/// See the [module docs](self).
pub fn add_signal_handler<F>(sig: i32, mut callback: F) -> io::Result<()>
where
    F: FnMut() + 'static,
{
    let mut sub = Signal::new(sig)?;
    let label = match name(sig) {
        Some(n) => format!("signal handler {n}"),
        None => format!("signal handler {sig}"),
    };
    let task = crate::task::Builder::new().name(label).spawn(async move {
        while sub.recv().await.is_ok() {
            callback();
        }
    });
    if let Some(old) = HANDLERS.with(|h| h.borrow_mut().insert(sig, task)) {
        old.cancel();
    }
    Ok(())
}

/// Removes the handler of `sig` set by [`add_signal_handler`]; true if
/// there was one (asyncio's `loop.remove_signal_handler`). The signal's
/// default action applies again once nothing else listens for it.
///
/// # Examples
///
/// ```
/// # anyloop::run(async {
/// assert!(!anyloop::signal::remove_signal_handler(anyloop::signal::SIGHUP));
/// # });
/// ```
pub fn remove_signal_handler(sig: i32) -> bool {
    match HANDLERS.with(|h| h.borrow_mut().remove(&sig)) {
        Some(task) => !task.is_finished() && task.cancel(),
        None => false,
    }
}

/// [`Runner::try_run`](crate::Runner::try_run)'s error when Ctrl-C
/// (`SIGINT`) cancelled the main task: Python's `KeyboardInterrupt` out of
/// `asyncio.run`.
#[doc(alias = "KeyboardInterrupt")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted by Ctrl-C (SIGINT); the main task was cancelled")
    }
}

impl std::error::Error for Interrupted {}
