//! The host contract: what a platform gives the portable core.
//!
//! A [`Host`] is small on purpose (compare tokio's `Park`/`Unpark` and
//! embassy's `Pender`): a monotonic clock, a way to wait until something
//! happens, a thread-safe way to interrupt that wait, and a statement of what
//! the platform can do ([`Capabilities`]).

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::time::Duration;

/// A platform the event loop runs on: native (epoll/kqueue), WASI, the
/// browser, or one you write yourself (an embedded board, a GUI toolkit).
///
/// This is asyncio's "extending" chapter: implement `Host`, hand it to
/// [`EventLoop::new`](crate::EventLoop::new) and every anyloop API works on
/// your platform.
///
/// # Examples
///
/// A host that can only sleep (no I/O), built on `std`:
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// use anyloop::{Capabilities, EventLoop, Host, Unpark};
/// use std::sync::{Arc, Condvar, Mutex};
/// use std::time::Duration;
///
/// #[derive(Default)]
/// struct Signal { woken: Mutex<bool>, cv: Condvar }
/// impl Unpark for Signal {
///     fn unpark(&self) {
///         *self.woken.lock().unwrap() = true;
///         self.cv.notify_one();
///     }
/// }
///
/// struct SleepyHost { start: std::time::Instant, signal: Arc<Signal> }
/// impl Host for SleepyHost {
///     fn name(&self) -> &'static str { "sleepy" }
///     fn now_ns(&self) -> u64 { self.start.elapsed().as_nanos() as u64 }
///     fn park(&self, timeout: Option<Duration>) -> std::io::Result<()> {
///         let mut woken = self.signal.woken.lock().unwrap();
///         if !*woken {
///             woken = match timeout {
///                 Some(t) => self.signal.cv.wait_timeout(woken, t).unwrap().0,
///                 None => self.signal.cv.wait(woken).unwrap(),
///             };
///         }
///         *woken = false;
///         Ok(())
///     }
///     fn unparker(&self) -> Arc<dyn Unpark> { self.signal.clone() }
///     fn capabilities(&self) -> Capabilities {
///         Capabilities { blocking: true, threads: true, ..Capabilities::none("sleepy") }
///     }
/// }
///
/// let host = SleepyHost { start: std::time::Instant::now(), signal: Arc::default() };
/// let answer = EventLoop::new(host).block_on(async {
///     anyloop::sleep(Duration::from_millis(5)).await;
///     42
/// });
/// assert_eq!(answer, 42);
/// ```
pub trait Host: 'static {
    /// Short host name used in error messages, e.g. `"native"`, `"wasi"`, `"web"`.
    fn name(&self) -> &'static str;

    /// Monotonic clock in nanoseconds since an arbitrary, fixed origin.
    fn now_ns(&self) -> u64;

    /// Blocks the thread until I/O is ready, [`Unpark::unpark`] is called, or
    /// `timeout` passes (`None` = no timeout, `Some(ZERO)` = just poll I/O).
    ///
    /// The host wakes the wakers of ready I/O sources before it returns.
    /// Spurious returns are allowed. Hosts that cannot block (the browser)
    /// return `io::ErrorKind::Unsupported`; they drive the loop with
    /// [`EventLoop::tick`](crate::EventLoop::tick) instead.
    fn park(&self, timeout: Option<Duration>) -> io::Result<()>;

    /// A thread-safe handle that interrupts [`park`](Host::park) (native, WASI)
    /// or schedules a tick (browser, guest loops).
    fn unparker(&self) -> std::sync::Arc<dyn Unpark>;

    /// What this host can do.
    fn capabilities(&self) -> Capabilities;
}

/// Wakes a parked loop. Called from any thread, so it must be cheap and
/// thread-safe. See [`Host::unparker`].
pub trait Unpark: Send + Sync + 'static {
    /// Interrupts the host's current or next [`Host::park`].
    fn unpark(&self);
}

/// What a host can do. Features a host lacks still compile; calling them
/// returns an `io::ErrorKind::Unsupported` error built by
/// [`Capabilities::unsupported`].
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// let caps = anyloop::Capabilities::none("my-board");
/// assert!(!caps.subprocess);
/// let err = caps.unsupported("subprocesses");
/// assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
/// assert!(err.to_string().contains("my-board"));
/// ```
/// Construct one with struct-update syntax from [`Capabilities::none`], so
/// fields added later keep their safe default (`false`):
/// `Capabilities { blocking: true, ..Capabilities::none("my-host") }`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Capabilities {
    /// Host name, as in [`Host::name`].
    pub host: &'static str,
    /// The loop can block the thread (`anyloop::run`); false in the browser.
    pub blocking: bool,
    /// OS threads exist (`Handle` from other threads, `to_thread`).
    pub threads: bool,
    /// A panicking task is caught and reported (false where `panic=abort`, i.e. wasm32).
    pub catch_panic: bool,
    /// Child processes can be spawned.
    pub subprocess: bool,
    /// OS signals can be received (`anyloop::signal` for any signal).
    pub signals: bool,
    /// Ctrl-C can be received: `anyloop::signal::ctrl_c()`, and `run`
    /// cancels its main task on Ctrl-C. True on Unix (`SIGINT`) and on
    /// Windows (the console's `CTRL_C_EVENT`, where `signals` is false).
    pub ctrl_c: bool,
    /// TCP listeners can be created with `bind` (WASI p1: only preopened ones).
    pub tcp_listen: bool,
    /// Listeners handed in by the runtime (WASI `--tcplisten`) can be used.
    pub tcp_preopened: bool,
    /// Outgoing TCP connections.
    pub tcp_connect: bool,
    /// UDP sockets.
    pub udp: bool,
    /// Unix domain sockets.
    pub unix_sockets: bool,
    /// A file system.
    pub fs: bool,
    /// Standard input/output without blocking other tasks.
    pub async_stdio: bool,
}

impl Capabilities {
    /// A host that can do nothing beyond tasks and timers.
    pub const fn none(host: &'static str) -> Self {
        Capabilities {
            host,
            blocking: false,
            threads: false,
            catch_panic: false,
            subprocess: false,
            signals: false,
            ctrl_c: false,
            tcp_listen: false,
            tcp_preopened: false,
            tcp_connect: false,
            udp: false,
            unix_sockets: false,
            fs: false,
            async_stdio: false,
        }
    }

    /// The error for a feature this host does not have:
    /// `io::ErrorKind::Unsupported`, naming the feature and the host.
    pub fn unsupported(&self, feature: &str) -> io::Error {
        unsupported(feature, self.host, "")
    }
}

/// Builds the `io::ErrorKind::Unsupported` error anyloop returns for a
/// feature a host lacks: `"<feature> is not supported on <host><hint>"`.
pub fn unsupported(feature: &str, host: &str, hint: &str) -> io::Error {
    const MID: &str = " is not supported on ";
    let mut msg = String::with_capacity(feature.len() + MID.len() + host.len() + hint.len());
    for part in [feature, MID, host, hint] {
        msg.push_str(part);
    }
    io_error(io::ErrorKind::Unsupported, msg)
}

/// An `io::Error` of `kind` whose message is `msg`, for errors a host
/// reports: what `io::Error::new(kind, msg)` gives, minus its cost in
/// wasm. A `String` or `&str` payload's `Debug` escapes every char, which
/// links `core::fmt`'s escaping and Unicode tables into every program
/// that can build the error (hosts build theirs behind `dyn Host`, so
/// every program can); this payload's `Debug` prints the text as is.
///
/// # Examples
///
/// ```
/// // For hosts built on this crate; the `anyloop` facade does not re-export it.
/// let e = anyloop_core::io_error(std::io::ErrorKind::Other, "the reactor is gone");
/// assert_eq!(e.to_string(), "the reactor is gone");
/// assert_eq!(e.kind(), std::io::ErrorKind::Other);
/// ```
pub fn io_error(kind: io::ErrorKind, msg: impl Into<Cow<'static, str>>) -> io::Error {
    io::Error::new(kind, Message(msg.into()))
}

/// The payload of [`io_error`]: its message.
struct Message(Cow<'static, str>);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

impl fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Capabilities")
            .field("host", &self.host)
            .field("blocking", &self.blocking)
            .field("threads", &self.threads)
            .field("catch_panic", &self.catch_panic)
            .field("subprocess", &self.subprocess)
            .field("signals", &self.signals)
            .field("ctrl_c", &self.ctrl_c)
            .field("tcp_listen", &self.tcp_listen)
            .field("tcp_preopened", &self.tcp_preopened)
            .field("tcp_connect", &self.tcp_connect)
            .field("udp", &self.udp)
            .field("unix_sockets", &self.unix_sockets)
            .field("fs", &self.fs)
            .field("async_stdio", &self.async_stdio)
            .finish()
    }
}
