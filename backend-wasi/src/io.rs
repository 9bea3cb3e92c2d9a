//! Standard input and output without blocking other tasks.
//!
//! [`stdin`] reads descriptor 0 with `fd_read`, but only after the loop's
//! `poll_oneoff` reported it readable, so a task waiting for input never
//! blocks the others. [`stdout`] writes through std's `Stdout` (the same
//! buffer as `println!`, so output stays in order).

use std::future::poll_fn;
use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::reactor::{self, Direction};

const STDIN: wasi::Fd = 0;

/// Standard input of the program; implements `futures-io`'s `AsyncRead`.
///
/// For lines, wrap it in a buffered reader, e.g.
/// `futures_lite::io::BufReader::new(stdin()).lines()`.
#[derive(Debug, Default)]
pub struct Stdin {
    _private: (),
}

/// Standard input (see [`Stdin`]).
pub fn stdin() -> Stdin {
    Stdin::default()
}

impl Stdin {
    /// Reads some bytes into `buf` once input is available; `Ok(0)` at end
    /// of input.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| poll_read_stdin(cx, buf)).await
    }
}

fn poll_read_stdin(cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
    if buf.is_empty() {
        return Poll::Ready(Ok(0));
    }
    reactor::poll_when_ready(STDIN, Direction::Read, cx, || {
        let iov = wasi::Iovec {
            buf: buf.as_mut_ptr(),
            buf_len: buf.len(),
        };
        // SAFETY: `iov` describes `buf`, valid for writes of its length for
        // the duration of the call. Descriptor 0 is never closed by anyloop.
        unsafe { wasi::fd_read(STDIN, &[iov]) }
    })
}

impl AsyncRead for Stdin {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        poll_read_stdin(cx, buf)
    }
}

/// Standard output of the program; implements `futures-io`'s `AsyncWrite`.
///
/// Writes go through std's `Stdout` (shared with `println!`).
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
