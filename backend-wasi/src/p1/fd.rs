//! Readiness of a descriptor the caller owns (stdio, a preopened socket):
//! the WASI side of asyncio's `loop.add_reader` / `add_writer` and the
//! `loop.sock_*` methods, through the park's `poll_oneoff`
//! `fd_read`/`fd_write` subscriptions.

use std::io;
pub use std::os::fd::RawFd;
use std::task::{Context, Poll};

use super::reactor::{self, Direction};

/// Watches a descriptor for readiness, level-triggered (`poll_oneoff`
/// reports a descriptor as long as it is ready).
///
/// Descriptors the runtime cannot watch (Node: regular files) count as
/// always ready, as with epoll's refusal natively.
#[derive(Debug)]
pub struct FdWatch {
    fd: wasi::Fd,
}

impl FdWatch {
    /// Watches `fd`, which must stay open while the watch exists.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a negative descriptor.
    pub fn new(fd: RawFd) -> io::Result<FdWatch> {
        let fd = wasi::Fd::try_from(fd).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid descriptor {fd}"),
            )
        })?;
        Ok(FdWatch { fd })
    }

    /// The descriptor.
    pub fn fd(&self) -> RawFd {
        self.fd as RawFd
    }

    /// Ready once a park's `poll_oneoff` has reported `fd` readable.
    ///
    /// # Errors
    ///
    /// None on WASI; the signature matches the other hosts.
    pub fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        reactor::poll_ready(self.fd, Direction::Read, cx).map(Ok)
    }

    /// Ready once a park's `poll_oneoff` has reported `fd` writable.
    ///
    /// # Errors
    ///
    /// None on WASI; the signature matches the other hosts.
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        reactor::poll_ready(self.fd, Direction::Write, cx).map(Ok)
    }
}

impl Drop for FdWatch {
    fn drop(&mut self) {
        reactor::forget(self.fd);
    }
}
