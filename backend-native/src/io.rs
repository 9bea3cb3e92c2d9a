//! Standard input and output without blocking other tasks.
//!
//! [`stdin`] reads on the blocking pool (a regular file, pipe or terminal
//! all work the same, and the shared descriptor 0 is never switched to
//! non-blocking mode under the parent shell). [`stdout`] writes through
//! std's `Stdout` (the same buffer as `println!`, so output stays in order).

use std::future::Future;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::blocking::{unblock, Unblock};

/// Bytes one blocking read asks for.
const CHUNK: usize = 64 * 1024;

/// Standard input of the program; implements `futures-io`'s `AsyncRead`.
///
/// For lines, wrap it in a buffered reader, e.g.
/// `futures_lite::io::BufReader::new(stdin()).lines()`.
///
/// # Cancellation
///
/// A read in flight on the blocking pool finishes even if its future is
/// dropped; its bytes stay in this `Stdin` for the next read.
#[derive(Debug, Default)]
pub struct Stdin {
    buf: Vec<u8>,
    pos: usize,
    busy: Option<Unblock<(Vec<u8>, io::Result<usize>)>>,
}

/// Standard input (see [`Stdin`]).
pub fn stdin() -> Stdin {
    Stdin::default()
}

impl Stdin {
    /// Reads some bytes into `buf` once input is available; `Ok(0)` at end
    /// of input.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_read_priv(cx, buf)).await
    }

    fn poll_read_priv(&mut self, cx: &mut Context<'_>, out: &mut [u8]) -> Poll<io::Result<usize>> {
        loop {
            if self.pos < self.buf.len() {
                let n = out.len().min(self.buf.len() - self.pos);
                out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
                self.pos += n;
                return Poll::Ready(Ok(n));
            }
            if out.is_empty() {
                return Poll::Ready(Ok(0));
            }
            let busy = self.busy.get_or_insert_with(|| {
                let mut chunk = std::mem::take(&mut self.buf);
                unblock(move || {
                    chunk.resize(CHUNK, 0);
                    let res = io::stdin().lock().read(&mut chunk);
                    (chunk, res)
                })
            });
            let (chunk, res) = match Pin::new(busy).poll(cx) {
                Poll::Ready(v) => v,
                Poll::Pending => return Poll::Pending,
            };
            self.busy = None;
            self.buf = chunk;
            self.pos = 0;
            match res {
                Ok(0) => {
                    self.buf.clear();
                    return Poll::Ready(Ok(0));
                }
                Ok(n) => self.buf.truncate(n),
                Err(e) => {
                    self.buf.clear();
                    return Poll::Ready(Err(e));
                }
            }
        }
    }
}

impl AsyncRead for Stdin {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_read_priv(cx, buf)
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
