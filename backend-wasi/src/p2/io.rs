//! Standard input and output on WASI 0.2 (the public types are in
//! [`crate::io`]), through the `wasi:cli/stdin` and `wasi:cli/stdout`
//! streams; and the non-blocking stream operations sockets share.

use std::cell::RefCell;
use std::io::{self, Write};
use std::task::{Context, Poll};

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

pub(crate) fn poll_read_stdin(cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
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

pub(crate) fn poll_write_stdout(cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
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
pub(crate) fn poll_flush_stdout(cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    io::stdout().flush()?;
    with_stdout(|w| {
        w.reg
            .poll_io(cx, || flush_some(&w.stream, |e| stdio_error("stdout", e)))
    })
}
