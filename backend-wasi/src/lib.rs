//! anyloop's WASI host: the same anyloop programs run under `wasmtime run`
//! unchanged, as `wasm32-wasip2` components (WASI 0.2, through the
//! [`wasip2`](https://docs.rs/wasip2) bindings) or as `wasm32-wasip1`
//! modules (WASI preview 1, through the [`wasi`](https://docs.rs/wasi/0.11)
//! crate; these also run under Node's `node:wasi`).
//!
//! Applications use the `anyloop` facade; this crate provides its
//! [`WasiHost`], [`net`] (sockets) and [`io`] (stdio).
//!
//! # Examples
//!
//! An anyloop program, built with `cargo build --target wasm32-wasip2`
//! (or `wasm32-wasip1`) and run with `wasmtime run`, gets this host:
//!
//! ```no_run
//! # #[cfg(all(target_arch = "wasm32", target_os = "wasi"))] {
//! # use anyloop_wasi::__doctest as anyloop;
//! anyloop::run(async {
//!     anyloop::sleep(std::time::Duration::from_millis(10)).await;
//! });
//! # }
//! ```
//!
//! # Implementation
//!
//! One `cfg(target_env = "p2")` switch below picks the WASI version; the
//! loop logic ([`WasiHost`]: clock, park, unpark) is shared.
//!
//! `wasm32-wasip2` (`p2/`, host name `"wasip2"`):
//! - clock: `wasi:clocks/monotonic-clock.now`;
//! - park: ONE `wasi:io/poll.poll` per park over a `subscribe-duration`
//!   pollable for the next timer deadline plus the pollable of every
//!   stream, socket or name lookup a task waits on; wakes the ready ones'
//!   wakers;
//! - I/O: `wasi:sockets` TCP (bind, listen, accept, connect), UDP and
//!   `ip-name-lookup` (the runtime must grant the network: `wasmtime run
//!   -S inherit-network`), stdio through `wasi:cli` streams; files through
//!   `std::fs` on preopened directories;
//! - `to_thread`: `Unsupported` (no threads).
//!
//! `wasm32-wasip1` (`p1/`, host name `"wasi"`):
//! - clock: `clock_time_get(CLOCKID_MONOTONIC)`;
//! - park: ONE `poll_oneoff` per park, subscribed to a relative monotonic
//!   clock for the next timer deadline plus an `fd_read`/`fd_write`
//!   subscription for every descriptor a task waits on; the instance
//!   sleeps in the runtime, no busy loop, no `thread::sleep`;
//! - I/O: `sock_accept`/`sock_recv`/`sock_send` on non-blocking sockets the
//!   runtime preopened (the legacy route: `wasmtime run -S preview2=n -S
//!   tcplisten=ADDR`, wasmtime 43 and older), `fd_read` on stdin after
//!   readiness;
//! - `to_thread`: `Unsupported` (no threads on wasip1).
//!
//! On both, unpark can only come from the loop thread itself (no threads):
//! it sets a flag the next park sees (and then only polls).
//!
//! Code size: the park's errors (which the loop only prints, in its panic)
//! carry their text through `anyloop_core::io_error`, whose payload prints
//! as is. `io::Error::other("...")`'s string payload has a `Debug` that
//! escapes the text: it linked `str`'s escaping, its Unicode tables and
//! slice panics, 8.4 KB of the wasip2 hello component. On wasip1 a failed
//! `poll_oneoff` names the call and its errno ("poll_oneoff failed with
//! errno 28"), since the loop prints no `io::Error` `Display` on wasm
//! (anyloop-core's "Code size").
//!
//! # Speed: where the time goes on WASI
//!
//! A call into the host (a clock read, a `poll`) crosses the component
//! model on wasip2 and costs far more than natively, so the loop makes
//! none while tasks are ready: the core reads the clock only when timers
//! are pending (and reuses a reading for the sleeps registered in the
//! next polls), and a park with a zero timeout and nothing registered
//! returns without calling the host (every 61 polls a busy loop parks
//! that way). Counted under wasmtime (`TARGET=wasm32-wasip2
//! benches/callgrind.sh`), the spawn, yield, channel and lock rows of
//! `cargo xtask bench --host wasi` spend no instructions in the host that
//! grow with the work: their cost is the core's guest code and the guest
//! allocator, identical on wasip1 and wasip2 (within 0.5 %). The guest
//! allocator (a `dlmalloc` compiled to wasm) costs ~230 instructions per
//! task allocated and freed, so on single-threaded wasm the core keeps
//! freed task blocks for the next spawn of the same size (anyloop-core's
//! `driver/blocks.rs`).
//!
//! # Timers on WASI: where the lateness comes from
//!
//! Measured with the `timers` row of `cargo xtask bench --host wasi`
//! (100,000 tasks sleeping 0-50 ms, ms past the longest sleep), under
//! wasmtime 49, each run alone on a core (`chrt -f 10`):
//!
//! - The park is exact. A park with only a clock subscription is one
//!   `poll_oneoff` with a relative monotonic clock of the remaining
//!   nanoseconds (`precision` 0, no rounding to ms); wasmtime sleeps for
//!   it with one `clock_nanosleep` of that many nanoseconds (seen with
//!   `strace -f`), and the loop fires the due timers right after it, with
//!   no extra turn. On wasip2 it is one `subscribe-duration` pollable.
//! - The row is bound by the time it takes to *spawn* the sleepers: the
//!   last sleeper's deadline is at least 50 ms after the spawning loop
//!   ends, so the lateness can never be below that loop's length. A clock
//!   read is a host call costing ~90 ns under wasmtime (a component-model
//!   call on wasip2), more than the ~40 ns of a spawn; tokio reads the
//!   clock in every `sleep`, and anyloop did too, which was ~9 of the
//!   ~12 ms it measured. On WASI `anyloop::sleep` reads no clock: at its
//!   first poll a sleep counts from the loop's latest clock reading if
//!   that was taken after the sleep was created (one reading serves a
//!   whole batch of first polls), else from a fresh one; never from before
//!   the call (see `anyloop_core::sleep`, "When the time starts"). Timers
//!   still never fire early: a sleep ends at least its duration after
//!   `sleep` was called. The row went from 12.2 to 5.7 ms (tokio 16.0,
//!   ratio 0.76 → 0.35).
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    clippy::undocumented_unsafe_blocks
)]
// Off its target the crate is empty, so the links of the docs above have
// nothing to point to (`cargo doc --workspace` on a native host); on its
// target every link resolves (`cargo doc --target …` is warning-free).
#![cfg_attr(
    not(all(target_arch = "wasm32", target_os = "wasi")),
    allow(rustdoc::broken_intra_doc_links)
)]
#![cfg(all(target_arch = "wasm32", target_os = "wasi"))]

/// The async convenience methods (`read`, `write`, `write_all`) and
/// `futures-io`'s `AsyncRead`/`AsyncWrite` (on the type and on a shared
/// reference, so one task can read while another writes) of a stream type
/// with `poll_read_priv`, `poll_write_priv`, `poll_flush_priv` and
/// `poll_close_priv` methods: written once for both WASI versions.
macro_rules! stream_methods {
    ($ty:ty) => {
        impl $ty {
            /// Reads into `buf`; `Ok(0)` at end of stream.
            pub async fn read(&self, buf: &mut [u8]) -> ::std::io::Result<usize> {
                ::std::future::poll_fn(|cx| self.poll_read_priv(cx, buf)).await
            }

            /// Writes some of `buf`.
            pub async fn write(&self, buf: &[u8]) -> ::std::io::Result<usize> {
                ::std::future::poll_fn(|cx| self.poll_write_priv(cx, buf)).await
            }

            /// Writes all of `buf`.
            pub async fn write_all(&self, mut buf: &[u8]) -> ::std::io::Result<()> {
                while !buf.is_empty() {
                    let n = self.write(buf).await?;
                    if n == 0 {
                        return Err(::std::io::ErrorKind::WriteZero.into());
                    }
                    buf = &buf[n..];
                }
                Ok(())
            }
        }

        impl ::futures_io::AsyncRead for &$ty {
            fn poll_read(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &mut [u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                self.poll_read_priv(cx, buf)
            }
        }

        impl ::futures_io::AsyncWrite for &$ty {
            fn poll_write(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &[u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                self.poll_write_priv(cx, buf)
            }

            fn poll_flush(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                self.poll_flush_priv(cx)
            }

            fn poll_close(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                self.poll_close_priv(cx)
            }
        }

        impl ::futures_io::AsyncRead for $ty {
            fn poll_read(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &mut [u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                ::std::pin::Pin::new(&mut &*self).poll_read(cx, buf)
            }
        }

        impl ::futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &[u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                ::std::pin::Pin::new(&mut &*self).poll_write(cx, buf)
            }

            fn poll_flush(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::pin::Pin::new(&mut &*self).poll_flush(cx)
            }

            fn poll_close(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::pin::Pin::new(&mut &*self).poll_close(cx)
            }
        }
    };
}

// The one switch between WASI versions.
#[cfg(target_env = "p2")]
#[path = "p2/mod.rs"]
mod sys;
#[cfg(not(target_env = "p2"))]
#[path = "p1/mod.rs"]
mod sys;

pub mod io;
pub use sys::{fd, net, now_ns, CAPABILITIES, HOST};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyloop_core::{Capabilities, Host, Unpark};

/// The unpark flag (see the crate docs: no threads on WASI).
#[derive(Debug, Default)]
struct Flag(AtomicBool);

impl Unpark for Flag {
    fn unpark(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// The WASI host: a monotonic clock and one poll per park (see the crate
/// docs for the calls on each WASI version).
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
        sys::park(timeout)
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        self.unparked.clone()
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
}

/// The facade's (`anyloop`'s) paths for this crate's items, so that doc
/// examples read `anyloop::net::…` (`# use anyloop_wasi::__doctest as
/// anyloop;`), and `anyloop::run` (a loop on this host).
#[doc(hidden)]
pub mod __doctest {
    pub use crate::doc_run as run;
    pub use crate::net;
    pub use anyloop_core::__doctest::*;
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

/// `to_thread` on WASI: always `io::ErrorKind::Unsupported` (no threads).
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
        " (WASI programs have no threads)",
    ))
}
