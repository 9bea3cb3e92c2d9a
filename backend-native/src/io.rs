//! Standard input and output without blocking other tasks.
//!
//! [`stdin`] reads on the blocking pool (a regular file, pipe or terminal
//! all work the same, and the shared descriptor 0 is never switched to
//! non-blocking mode under the parent shell). [`stdout`] writes through
//! std's `Stdout` (the same buffer as `println!`, so output stays in order).

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::blocking::ReadOnPool;

/// Standard input of the program; implements `futures-io`'s `AsyncRead`.
///
/// For lines, wrap it in a buffered reader, e.g.
/// `futures_lite::io::BufReader::new(stdin()).lines()`.
///
/// # Cancellation
///
/// A read in flight on the blocking pool finishes even if its future is
/// dropped; its bytes stay in this `Stdin` for the next read.
#[derive(Debug)]
pub struct Stdin {
    inner: ReadOnPool<StdinSource>,
}

impl Default for Stdin {
    fn default() -> Self {
        Stdin {
            inner: ReadOnPool::new(StdinSource),
        }
    }
}

/// The process's stdin, locked for each read (on a pool thread).
#[derive(Debug)]
struct StdinSource;

impl Read for StdinSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        io::stdin().lock().read(buf)
    }
}

/// Standard input (see [`Stdin`]).
pub fn stdin() -> Stdin {
    Stdin::default()
}

impl Stdin {
    /// Reads some bytes into `buf` once input is available; `Ok(0)` at end
    /// of input.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.inner.poll_read(cx, buf)).await
    }
}

impl AsyncRead for Stdin {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().inner.poll_read(cx, buf)
    }
}

/// Standard output of the program; implements `futures-io`'s `AsyncWrite`.
///
/// Writes go through std's `Stdout` (shared with `println!`); a write into
/// a full pipe blocks the loop until the reader catches up.
#[derive(Debug, Default)]
pub struct Stdout {
    _private: (),
}

/// Standard output (see [`Stdout`]).
pub fn stdout() -> Stdout {
    Stdout::default()
}

impl Stdout {
    /// Writes all of `buf`.
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        io::stdout().lock().write_all(buf)
    }

    /// Flushes std's buffer.
    pub async fn flush(&mut self) -> io::Result<()> {
        io::stdout().flush()
    }
}

impl AsyncWrite for Stdout {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(io::stdout().write(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(io::stdout().flush())
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(io::stdout().flush())
    }
}
