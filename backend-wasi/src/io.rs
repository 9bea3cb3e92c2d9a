//! Standard input and output without blocking other tasks.
//!
//! `wasm32-wasip2`: through the `wasi:cli/stdin` and `wasi:cli/stdout`
//! streams. [`stdin`] reads with the non-blocking `input-stream.read`;
//! when no input is available the task waits on the stream's pollable in
//! the loop's `poll`. [`stdout`] writes what `output-stream.check-write`
//! permits and waits on the stream's pollable when it permits nothing.
//!
//! `wasm32-wasip1`: [`stdin`] reads descriptor 0 with `fd_read`, but only
//! after the loop's `poll_oneoff` reported it readable, so a task waiting
//! for input never blocks the others (a regular file redirected to stdin
//! is always readable and read directly). [`stdout`] writes descriptor 1
//! with `fd_write`, waiting for writability when the runtime made it
//! non-blocking (Node does for pipes).

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::sys::io::{poll_flush_stdout, poll_read_stdin, poll_write_stdout};

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
/// Writes go to the host's stdout (after flushing what `print!` buffered,
/// so output stays in order); while it accepts nothing (a slow reader),
/// the writing task waits in the loop's park instead of failing or
/// blocking the other tasks.
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
    pub async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = poll_fn(|cx| poll_write_stdout(cx, buf)).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Flushes std's `print!` buffer (and on `wasm32-wasip2` the output
    /// stream; this type itself does not buffer).
    pub async fn flush(&mut self) -> io::Result<()> {
        poll_fn(poll_flush_stdout).await
    }
}

impl AsyncWrite for Stdout {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        poll_write_stdout(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        poll_flush_stdout(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        poll_flush_stdout(cx)
    }
}
