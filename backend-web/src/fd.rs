//! A page has no file descriptors: asyncio's `loop.add_reader` /
//! `add_writer` and the `loop.sock_*` methods are `Unsupported` here.

use std::convert::Infallible;
use std::io;
use std::task::{Context, Poll};

use crate::CAPABILITIES;

/// A descriptor number, as on the other hosts.
pub type RawFd = i32;

/// Readiness of a file descriptor; cannot exist in the browser.
#[derive(Debug)]
pub struct FdWatch {
    never: Infallible,
}

impl FdWatch {
    /// # Errors
    ///
    /// Always `Unsupported`, naming the feature and "web".
    pub fn new(fd: RawFd) -> io::Result<FdWatch> {
        let _ = fd;
        Err(CAPABILITIES.unsupported("file descriptors (add_reader, add_writer, sock_*)"))
    }

    /// The descriptor.
    pub fn fd(&self) -> RawFd {
        match self.never {}
    }

    /// Never called: no `FdWatch` exists in the browser.
    ///
    /// # Errors
    ///
    /// None.
    pub fn poll_readable(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.never {}
    }

    /// Never called: no `FdWatch` exists in the browser.
    ///
    /// # Errors
    ///
    /// None.
    pub fn poll_writable(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.never {}
    }
}
