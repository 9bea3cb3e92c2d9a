//! WASI preview 1 (`wasm32-wasip1`, the [`wasi`](https://docs.rs/wasi/0.11)
//! crate): `clock_time_get`, one `poll_oneoff` per park, stdio and
//! preopened TCP listeners.

pub mod fd;
pub(crate) mod io;
pub mod net;
mod reactor;

use std::time::Duration;

use anyloop_core::Capabilities;

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
    ctrl_c: false,
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
        // The errno's number, not its text: `Errno`'s `Display` links a
        // 2 KB table of messages into every program.
        Err(e) => panic!(
            "anyloop: the WASI runtime has no monotonic clock (errno {})",
            e.raw()
        ),
    }
}

/// One `poll_oneoff` for the descriptors tasks wait on and `timeout`.
pub(crate) fn park(timeout: Option<Duration>) -> std::io::Result<()> {
    reactor::park(timeout)
}
