//! Standard input and output on WASI preview 1 (the public types are in
//! [`crate::io`]): `fd_read` on descriptor 0 once `poll_oneoff` reported
//! it readable, `fd_write` on descriptor 1.

use std::io::{self, Write};
use std::task::{Context, Poll};

use super::reactor::{self, Direction};

const STDIN: wasi::Fd = 0;

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

pub(crate) fn poll_read_stdin(cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
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

const STDOUT: wasi::Fd = 1;

pub(crate) fn poll_write_stdout(cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
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

/// Flushes std's `print!` buffer (descriptor 1 itself buffers nothing).
pub(crate) fn poll_flush_stdout(_cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    Poll::Ready(io::stdout().flush())
}
