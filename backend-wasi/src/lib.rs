//! anyloop's WASI host (`wasm32-wasip1`, WASI preview 1 through the
//! [`wasi`](https://docs.rs/wasi/0.11) crate): the same anyloop programs run
//! under `wasmtime run` (or Node's `node:wasi`) unchanged.
//!
//! Applications use the `anyloop` facade; this crate provides its
//! [`WasiHost`], [`net`] (preopened TCP listeners) and [`io`] (stdio).
//!
//! # Examples
//!
//! ```no_run
//! # #[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
//! anyloop_wasi::doc_run(async {
//!     anyloop_core::sleep(std::time::Duration::from_millis(10)).await;
//! });
//! ```
//!
//! # Implementation
//!
//! - clock: `clock_time_get(CLOCKID_MONOTONIC)`;
//! - park: ONE `poll_oneoff` per park, subscribed to a relative monotonic
//!   clock for the next timer deadline plus an `fd_read`/`fd_write`
//!   subscription for every descriptor a task waits on (`reactor.rs`); the
//!   instance sleeps in the runtime, no busy loop, no `thread::sleep`;
//! - unpark: wasip1 has no threads, so an unpark can only come from the loop
//!   thread itself; it sets a flag the next park sees (and then only polls);
//! - I/O: `sock_accept`/`sock_recv`/`sock_send` on non-blocking sockets the
//!   runtime preopened, `fd_read` on stdin after readiness;
//! - `to_thread`: `Unsupported` (no threads on wasip1).
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    clippy::undocumented_unsafe_blocks
)]
#![cfg(all(target_arch = "wasm32", target_os = "wasi"))]

pub mod fd;
pub mod io;
pub mod net;
mod reactor;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyloop_core::{Capabilities, Host, Unpark};

/// The host name used in capabilities and error messages.
pub const HOST: &str = "wasi";

/// What the WASI preview 1 host can do.
pub const CAPABILITIES: Capabilities = Capabilities {
    host: HOST,
    blocking: true,
    threads: false,
    catch_panic: false,
    subprocess: false,
    signals: false,
    tcp_listen: false,
    tcp_preopened: true,
    tcp_connect: false,
    udp: false,
    unix_sockets: false,
    fs: true,
    async_stdio: true,
};

/// Monotonic nanoseconds (`clock_time_get(CLOCKID_MONOTONIC)`).
pub fn now_ns() -> u64 {
    // SAFETY: `clock_time_get` only writes its out-parameter, which the
    // `wasi` crate manages.
    match unsafe { wasi::clock_time_get(wasi::CLOCKID_MONOTONIC, 1) } {
        Ok(t) => t,
        Err(e) => panic!("anyloop: the WASI runtime has no monotonic clock: {e}"),
    }
}

/// The unpark flag (see the crate docs: no threads on wasip1).
#[derive(Debug, Default)]
struct Flag(AtomicBool);

impl Unpark for Flag {
    fn unpark(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// The WASI preview 1 host: `clock_time_get` and `poll_oneoff`.
#[derive(Debug)]
pub struct WasiHost {
    unparked: Arc<Flag>,
}

impl WasiHost {
    /// Creates the host (registers its clock as the fallback clock).
    pub fn new() -> WasiHost {
        anyloop_core::time::set_fallback_clock(now_ns);
        WasiHost {
            unparked: Arc::default(),
        }
    }
}

impl Default for WasiHost {
    fn default() -> Self {
        WasiHost::new()
    }
}

impl Host for WasiHost {
    fn name(&self) -> &'static str {
        HOST
    }

    fn now_ns(&self) -> u64 {
        now_ns()
    }

    fn park(&self, timeout: Option<Duration>) -> std::io::Result<()> {
        let timeout = if self.unparked.0.swap(false, Ordering::Acquire) {
            Some(Duration::ZERO)
        } else {
            timeout
        };
        reactor::park(timeout)
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        self.unparked.clone()
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
}

/// Runs `fut` on a fresh WASI loop, for doctests.
#[doc(hidden)]
pub fn doc_run<F: std::future::Future>(fut: F) -> F::Output {
    anyloop_core::EventLoop::new(WasiHost::new()).block_on(fut)
}

/// Creates the host for a new loop.
///
/// # Errors
///
/// None today; the signature matches the other backends.
pub fn new_host() -> std::io::Result<WasiHost> {
    Ok(WasiHost::new())
}

/// `to_thread` on WASI: always `io::ErrorKind::Unsupported` (wasip1 has no
/// threads).
///
/// # Errors
///
/// Always `Unsupported`, naming the feature and the host.
pub async fn to_thread<T, F>(f: F) -> std::io::Result<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    drop(f);
    Err(anyloop_core::unsupported(
        "to_thread (running a function on another OS thread)",
        HOST,
        " (wasm32-wasip1 has no threads)",
    ))
}
