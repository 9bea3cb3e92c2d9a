//! Standard input and output without blocking other tasks.
//!
//! [`stdin`] reads descriptor 0 with `fd_read`, but only after the loop's
//! `poll_oneoff` reported it readable, so a task waiting for input never
//! blocks the others (a regular file redirected to stdin is always
//! readable and read directly). [`stdout`] writes descriptor 1 with
//! `fd_write`, waiting for writability when the runtime made it
//! non-blocking.

use std::future::poll_fn;
use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use super::reactor::{self, Direction};

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

/// Whether stdin is a regular file (`< file`): always readable, and
/// `poll_oneoff` may refuse to watch it (Node's uvwasi: `EPERM`).
fn stdin_is_file() -> bool {
    thread_local! {
        static IS_FILE: bool = {
            // SAFETY: `fd_fdstat_get` only reads the descriptor table and
            // writes its out-parameter, which the `wasi` crate manages.
            let st = unsafe { wasi::fd_fdstat_get(STDIN) };
            st.is_ok_and(|st| st.fs_filetype == wasi::FILETYPE_REGULAR_FILE)
        };
    }
    IS_FILE.with(|f| *f)
}

fn poll_read_stdin(cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
    if buf.is_empty() {
        return Poll::Ready(Ok(0));
    }
    let read = || {
        let iov = wasi::Iovec {
            buf: buf.as_mut_ptr(),
            buf_len: buf.len(),
        };
        // SAFETY: `iov` describes `buf`, valid for writes of its length for
        // the duration of the call. Descriptor 0 is never closed by anyloop.
        unsafe { wasi::fd_read(STDIN, &[iov]) }
    };
    if stdin_is_file() {
        reactor::poll_io(STDIN, Direction::Read, cx, read)
    } else {
        reactor::poll_when_ready(STDIN, Direction::Read, cx, read)
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
/// Writes go straight to descriptor 1 with `fd_write` (after flushing what
/// `print!` buffered, so output stays in order). When the runtime made
/// stdout non-blocking (Node does for pipes) and the reader is slow, the
/// writing task waits for `poll_oneoff` instead of failing with `EAGAIN`.
#[derive(Debug, Default)]
pub struct Stdout {
    _private: (),
}

/// Standard output (see [`Stdout`]).
pub fn stdout() -> Stdout {
    Stdout::default()
}

const STDOUT: wasi::Fd = 1;

fn poll_write_stdout(cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
    // Best effort: an error here shows up again on our own write.
    let _ = io::stdout().flush();
    reactor::poll_io(STDOUT, Direction::Write, cx, || {
        let iov = wasi::Ciovec {
            buf: buf.as_ptr(),
            buf_len: buf.len(),
        };
        // SAFETY: `iov` describes `buf`, valid for reads of its length for
        // the duration of the call. Descriptor 1 is never closed by anyloop.
        unsafe { wasi::fd_write(STDOUT, &[iov]) }
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

    /// Flushes std's `print!` buffer (this type itself does not buffer).
    pub async fn flush(&mut self) -> io::Result<()> {
        io::stdout().flush()
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

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(io::stdout().flush())
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(io::stdout().flush())
    }
}
