//! Raw descriptors on WASI 0.2: the descriptors `wasi-libc` keeps for
//! std's files and sockets stand for WASI resources the loop cannot reach
//! through the component's imports, so asyncio's `loop.add_reader` /
//! `add_writer` and the `loop.sock_*` methods are `Unsupported` here (use
//! `anyloop::net`'s sockets, which wait on their own pollables).

use std::convert::Infallible;
use std::io;
use std::task::{Context, Poll};

pub use std::os::fd::RawFd;

use super::CAPABILITIES;

/// Readiness of a file descriptor; cannot exist on WASI 0.2.
#[derive(Debug)]
pub struct FdWatch {
    never: Infallible,
}

impl FdWatch {
    /// # Errors
    ///
    /// Always `Unsupported`, naming the feature and "wasip2".
    pub fn new(fd: RawFd) -> io::Result<FdWatch> {
        let _ = fd;
        Err(anyloop_core::unsupported(
            "file descriptors (add_reader, add_writer, sock_*)",
            CAPABILITIES.host,
            "; use anyloop::net's sockets, which wait on their WASI 0.2 pollables",
        ))
    }

    /// The descriptor.
    pub fn fd(&self) -> RawFd {
        match self.never {}
    }

    /// Never called: no `FdWatch` exists on WASI 0.2.
    ///
    /// # Errors
    ///
    /// None.
    pub fn poll_readable(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.never {}
    }

    /// Never called: no `FdWatch` exists on WASI 0.2.
    ///
    /// # Errors
    ///
    /// None.
    pub fn poll_writable(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.never {}
    }
}
