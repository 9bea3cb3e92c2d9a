//! Standard input and output in the browser: a page has no stdin, so reads
//! return `Unsupported`; stdout writes go to `console.log`, one call per
//! line (a partial last line waits for its newline or a flush).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::CAPABILITIES;

/// Standard input; in the browser every read fails with `Unsupported`.
#[derive(Debug, Default)]
pub struct Stdin {
    _private: (),
}

/// Standard input (see [`Stdin`]).
pub fn stdin() -> Stdin {
    Stdin::default()
}

impl Stdin {
    /// # Errors
    ///
    /// Always `Unsupported` ("standard input … web").
    pub async fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        Err(CAPABILITIES.unsupported("standard input"))
    }
}

impl AsyncRead for Stdin {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(CAPABILITIES.unsupported("standard input")))
    }
}

/// Standard output, written to the console with `console.log` line by line.
#[derive(Debug, Default)]
pub struct Stdout {
    line: Vec<u8>,
}

/// Standard output (see [`Stdout`]).
pub fn stdout() -> Stdout {
    Stdout::default()
}

impl Stdout {
    /// Writes all of `buf` (complete lines go to the console at once).
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.push(buf);
        Ok(())
    }

    /// Logs a pending partial line.
    pub async fn flush(&mut self) -> io::Result<()> {
        self.flush_line();
        Ok(())
    }

    fn push(&mut self, mut buf: &[u8]) {
        while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            self.line.extend_from_slice(&buf[..nl]);
            self.flush_line();
            buf = &buf[nl + 1..];
        }
        self.line.extend_from_slice(buf);
    }

    fn flush_line(&mut self) {
        if !self.line.is_empty() {
            crate::console_log(&String::from_utf8_lossy(&self.line));
            self.line.clear();
        }
    }
}

impl Drop for Stdout {
    fn drop(&mut self) {
        self.flush_line();
    }
}

impl AsyncWrite for Stdout {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().flush_line();
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().flush_line();
        Poll::Ready(Ok(()))
    }
}

/// Logs one line with `console.log` (what `anyloop::println!` does in a browser).
pub fn console_line(line: &str) {
    crate::console_log(line);
}
