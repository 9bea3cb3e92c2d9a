//! WASI 0.2 (`wasm32-wasip2`, the [`wasip2`](https://docs.rs/wasip2)
//! bindings): `wasi:clocks`, one `wasi:io/poll.poll` per park,
//! `wasi:sockets` (TCP, UDP, name lookup) and `wasi:cli` stdio.

pub mod fd;
pub(crate) mod io;
pub mod net;
mod reactor;

use std::time::Duration;

use anyloop_core::Capabilities;

/// The host name used in capabilities and error messages.
pub const HOST: &str = "wasip2";

/// What the WASI 0.2 host can do. The socket flags hold where the runtime
/// grants the network (`wasmtime run -S inherit-network`); without it,
/// socket calls fail with `PermissionDenied` errors that say so.
pub const CAPABILITIES: Capabilities = Capabilities {
    host: HOST,
    blocking: true,
    threads: false,
    catch_panic: false,
    subprocess: false,
    signals: false,
    ctrl_c: false,
    tcp_listen: true,
    tcp_preopened: false,
    tcp_connect: true,
    udp: true,
    unix_sockets: false,
    fs: true,
    async_stdio: true,
};

/// Monotonic nanoseconds (`wasi:clocks/monotonic-clock.now`).
pub fn now_ns() -> u64 {
    wasip2::clocks::monotonic_clock::now()
}

/// One `wasi:io/poll.poll` for the pollables tasks wait on and `timeout`.
pub(crate) fn park(timeout: Option<Duration>) -> std::io::Result<()> {
    reactor::park(timeout)
}
