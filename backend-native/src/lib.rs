//! anyloop's native host: Linux epoll (called directly through rustix),
//! macOS/BSD kqueue and Windows IOCP (with AFD socket polling) through the
//! [`polling`](https://docs.rs/polling) crate.
//!
//! Applications use the `anyloop` facade; this crate provides its
//! [`NativeHost`], sockets and the blocking pool.
//!
//! # Implementation
//!
//! - clock: `std::time::Instant` (`clock_gettime(CLOCK_MONOTONIC)`);
//! - park: `epoll_wait` (Linux; `polling`'s `Poller::wait` elsewhere)
//!   with the next timer deadline as timeout;
//! - unpark: an edge-triggered eventfd (Linux) / `EVFILT_USER` / a
//!   completion packet;
//! - I/O: edge-triggered readiness registrations with a readiness flag per
//!   direction where the poller has edges, oneshot ones elsewhere (the
//!   `reactor` module);
//! - `to_thread`: a pool of up to 64 threads ([`blocking`]);
//! - subprocesses ([`process`]): on Linux with glibc one
//!   `clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD)` of our own spawns
//!   (the pidfd comes with the child), elsewhere and for what that route
//!   does not cover `std::process::Command` does; on Unix
//!   exits are noticed through a pidfd (Linux 5.3+) or `SIGCHLD`, and
//!   dropped children are reaped by a `SIGCHLD` action, never left as
//!   zombies; on Windows the process handle is a waitable registered with
//!   the loop's IOCP and the pipes are read and written on the blocking
//!   pool;
//! - signals ([`signal`]): on Unix `signal-hook-registry` handlers and a
//!   self-pipe each listening loop watches; on Windows the console's
//!   Ctrl-C and Ctrl-Break through a `SetConsoleCtrlHandler` routine.
//!
//! On Windows the same reactor registers sockets (`RawSocket`) instead of
//! descriptors: `polling` waits in `GetQueuedCompletionStatusEx` and polls
//! sockets through AFD, in oneshot mode (it has no edge mode there); the
//! clock is `QueryPerformanceCounter`; unpark posts a completion packet.
//! Signals other than Ctrl-C / Ctrl-Break and Unix sockets are
//! `Unsupported` there (the host is named `"windows"` in the errors);
//! `add_reader`/`sock_*` take sockets, as asyncio's `SelectorEventLoop` on
//! Windows does.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    clippy::undocumented_unsafe_blocks
)]
#![cfg(not(target_family = "wasm"))]

pub mod blocking;
pub mod fd;
pub mod io;
pub mod net;
#[cfg(unix)]
pub mod process;
#[cfg(windows)]
#[path = "process/windows.rs"]
pub mod process;
mod reactor;
pub mod signal;
mod sys;

use std::rc::Rc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyloop_core::{Capabilities, Host, Unpark};

fn clock_origin() -> std::time::Instant {
    static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
    *ORIGIN.get_or_init(std::time::Instant::now)
}

/// Monotonic nanoseconds since the first use of the clock in this process.
pub fn now_ns() -> u64 {
    clock_origin().elapsed().as_nanos() as u64
}

/// The host's name in errors and [`Capabilities::host`]: `"native"` on
/// Unix, `"windows"` on Windows (where more is `Unsupported`).
pub const HOST: &str = if cfg!(windows) { "windows" } else { "native" };

/// What the native host can do.
pub const CAPABILITIES: Capabilities = Capabilities {
    host: HOST,
    blocking: true,
    threads: true,
    catch_panic: cfg!(panic = "unwind"),
    subprocess: true,
    signals: cfg!(unix),
    ctrl_c: true,
    tcp_listen: true,
    tcp_preopened: false,
    tcp_connect: true,
    udp: true,
    unix_sockets: cfg!(unix),
    fs: true,
    async_stdio: true,
};

/// The native host: epoll/kqueue readiness, the process's monotonic clock.
pub struct NativeHost {
    reactor: Rc<reactor::Reactor>,
}

impl std::fmt::Debug for NativeHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeHost").finish_non_exhaustive()
    }
}

struct PollerUnpark(Arc<reactor::Poller>);

impl Unpark for PollerUnpark {
    fn unpark(&self) {
        // A failed notify leaves the loop to its timeout; nothing to report to.
        let _ = self.0.notify();
    }
}

impl NativeHost {
    /// The host for this thread (shares the thread's reactor).
    ///
    /// # Errors
    ///
    /// The OS error if the poller cannot be created.
    pub fn new() -> std::io::Result<NativeHost> {
        anyloop_core::time::set_fallback_clock(now_ns);
        clock_origin();
        Ok(NativeHost {
            reactor: reactor::Reactor::current()?,
        })
    }
}

impl Host for NativeHost {
    fn name(&self) -> &'static str {
        HOST
    }

    fn now_ns(&self) -> u64 {
        now_ns()
    }

    fn park(&self, timeout: Option<Duration>) -> std::io::Result<()> {
        self.reactor.poll(timeout)
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        Arc::new(PollerUnpark(self.reactor.poller.clone()))
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
}

/// The facade's (`anyloop`'s) paths for this crate's items, so that doc
/// examples read `anyloop::net::…` (`# use anyloop_native::__doctest as
/// anyloop;`). Lists what `anyloop::net` re-exports from here.
#[doc(hidden)]
pub mod __doctest {
    /// `anyloop::net`'s sockets.
    pub mod net {
        pub use crate::net::{TcpListener, TcpStream, UdpSocket};
        #[cfg(unix)]
        pub use crate::net::{UnixListener, UnixStream};
    }
}

/// Runs `fut` on a fresh native loop, for this crate's doctests.
#[doc(hidden)]
pub fn doc_run<F: std::future::Future>(fut: F) -> F::Output {
    let host = match NativeHost::new() {
        Ok(h) => h,
        Err(e) => panic!("anyloop: cannot create the native poller: {e}"),
    };
    anyloop_core::EventLoop::new(host).block_on(fut)
}

/// I/O sources (sockets, pipes) registered with this thread's reactor.
pub fn io_sources() -> usize {
    reactor::registered_sources()
}

/// Creates the host for a new loop on this thread.
///
/// # Errors
///
/// The OS error if the poller cannot be created.
pub fn new_host() -> std::io::Result<NativeHost> {
    NativeHost::new()
}

/// Runs `f` on the blocking pool.
pub async fn to_thread<T, F>(f: F) -> std::io::Result<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Ok(blocking::unblock(f).await)
}
