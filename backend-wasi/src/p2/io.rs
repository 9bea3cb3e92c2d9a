//! Standard input and output without blocking other tasks, through the
//! `wasi:cli/stdin` and `wasi:cli/stdout` streams.
//!
//! [`stdin`] reads with the non-blocking `input-stream.read`; when no
//! input is available the task waits on the stream's pollable in the
//! loop's `poll`. [`stdout`] writes what `output-stream.check-write`
//! permits and waits on the stream's pollable when it permits nothing.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use wasip2::io::streams::{InputStream, OutputStream, StreamError};

use super::reactor::Registration;

/// A stream of the program and its pollable (declared first: the pollable
/// is a child resource and must be dropped before the stream).
struct Watched<S> {
    reg: Registration,
    stream: S,
}

thread_local! {
    static STDIN: RefCell<Option<Watched<InputStream>>> = const { RefCell::new(None) };
    static STDOUT: RefCell<Option<Watched<OutputStream>>> = const { RefCell::new(None) };
}

/// Converts a stream error of stdio; `Closed` is the caller's business.
fn stdio_error(what: &str, e: StreamFailure) -> io::Error {
    io::Error::other(format!("{what}: {}", e.to_debug_string()))
}

/// The error a failed stream operation left (`wasi:io/error.error`).
pub(crate) type StreamFailure = wasip2::io::error::Error;

/// Reads at most `buf.len()` bytes from `stream` without blocking:
/// `Ok(Some(0))` at end of stream, `Ok(None)` when nothing is available.
pub(crate) fn read_some(
    stream: &InputStream,
    buf: &mut [u8],
    error: impl FnOnce(StreamFailure) -> io::Error,
) -> io::Result<Option<usize>> {
    if buf.is_empty() {
        return Ok(Some(0));
    }
    match stream.read(buf.len() as u64) {
        Ok(chunk) if chunk.is_empty() => Ok(None),
        Ok(chunk) => {
            let n = chunk.len().min(buf.len());
            buf[..n].copy_from_slice(&chunk[..n]);
            Ok(Some(n))
        }
        Err(StreamError::Closed) => Ok(Some(0)),
        Err(StreamError::LastOperationFailed(e)) => Err(error(e)),
    }
}

/// Writes what `stream` permits of `buf` without blocking: `Ok(None)` when
/// it permits nothing now.
pub(crate) fn write_some(
    stream: &OutputStream,
    buf: &[u8],
    error: impl FnOnce(StreamFailure) -> io::Error,
) -> io::Result<Option<usize>> {
    let closed = || io::Error::new(io::ErrorKind::BrokenPipe, "the output stream is closed");
    let res = stream.check_write().and_then(|permit| {
        if permit == 0 {
            return Ok(None);
        }
        let n = buf.len().min(usize::try_from(permit).unwrap_or(usize::MAX));
        stream.write(&buf[..n]).map(|()| Some(n))
    });
    match res {
        Ok(v) => Ok(v),
        Err(StreamError::Closed) => Err(closed()),
        Err(StreamError::LastOperationFailed(e)) => Err(error(e)),
    }
}

/// Flushes `stream` without blocking: `Ok(None)` until the flush is done
/// (`output-stream.flush`, then `check-write` permits writes again).
pub(crate) fn flush_some(
    stream: &OutputStream,
    error: impl FnOnce(StreamFailure) -> io::Error,
) -> io::Result<Option<()>> {
    match stream.flush().and_then(|()| stream.check_write()) {
        Ok(0) => Ok(None),
        Ok(_) | Err(StreamError::Closed) => Ok(Some(())),
        Err(StreamError::LastOperationFailed(e)) => Err(error(e)),
    }
}

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
    STDIN.with(|s| {
        let mut s = s.borrow_mut();
        let w = s.get_or_insert_with(|| {
            let stream = wasip2::cli::stdin::get_stdin();
            Watched {
                reg: Registration::new(stream.subscribe()),
                stream,
            }
        });
        w.reg.poll_io(cx, || {
            read_some(&w.stream, buf, |e| stdio_error("stdin", e))
        })
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
/// Writes go to the `wasi:cli/stdout` stream (after flushing what
/// `print!` buffered, so output stays in order); while the stream accepts
/// nothing (a slow reader), the writing task waits in the loop's `poll`.
#[derive(Debug, Default)]
pub struct Stdout {
    _private: (),
}

/// Standard output (see [`Stdout`]).
pub fn stdout() -> Stdout {
    Stdout::default()
}

fn with_stdout<R>(f: impl FnOnce(&Watched<OutputStream>) -> R) -> R {
    STDOUT.with(|s| {
        let mut s = s.borrow_mut();
        let w = s.get_or_insert_with(|| {
            let stream = wasip2::cli::stdout::get_stdout();
            Watched {
                reg: Registration::new(stream.subscribe()),
                stream,
            }
        });
        f(w)
    })
}

fn poll_write_stdout(cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
    // Best effort: an error here shows up again on our own write.
    let _ = io::stdout().flush();
    if buf.is_empty() {
        return Poll::Ready(Ok(0));
    }
    with_stdout(|w| {
        w.reg.poll_io(cx, || {
            write_some(&w.stream, buf, |e| stdio_error("stdout", e))
        })
    })
}

/// Flushes std's buffer, then the stream: `output-stream.flush` and a wait
/// until it accepts writes again.
fn poll_flush_stdout(cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    io::stdout().flush()?;
    with_stdout(|w| {
        w.reg
            .poll_io(cx, || flush_some(&w.stream, |e| stdio_error("stdout", e)))
    })
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

    /// Flushes std's `print!` buffer and the output stream.
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
