//! Readiness of a descriptor the caller owns: the native side of asyncio's
//! `loop.add_reader` / `add_writer` and the `loop.sock_*` methods.
//!
//! On Windows the "descriptor" is a socket (`RawSocket`), as with asyncio's
//! `SelectorEventLoop` there: IOCP/AFD and `WSAPoll` only poll sockets.

use std::io;
use std::task::{Context, Poll};

use rustix::event::{PollFd, PollFlags};

use crate::reactor::{Async, Direction};
use crate::sys::{self, AsSource, BorrowedSource};

/// A descriptor number: `RawFd` on Unix, a socket's `RawSocket` on Windows.
pub type RawFd = crate::sys::RawSource;

/// A raw descriptor number the reactor watches without owning it.
struct Borrowed(RawFd);

impl AsSource for Borrowed {
    #[cfg(unix)]
    fn as_fd(&self) -> BorrowedSource<'_> {
        self.borrow()
    }

    #[cfg(windows)]
    fn as_socket(&self) -> BorrowedSource<'_> {
        self.borrow()
    }
}

impl Borrowed {
    fn borrow(&self) -> BorrowedSource<'_> {
        // SAFETY: `FdWatch::new` documents that the caller keeps `fd` open
        // while the watch exists (asyncio's rule for `add_reader`); the
        // reactor deletes it from the poller when the watch is dropped.
        // A descriptor closed too early only makes epoll/kqueue forget it.
        unsafe { sys::borrow_raw(self.0) }
    }
}

/// Watches a descriptor the caller owns (a pipe, a socket, a tty) for
/// readiness, level-triggered: [`poll_readable`](Self::poll_readable) is
/// ready whenever reading would not block, as with `poll(2)`.
///
/// The descriptor must stay open until the watch is dropped, and must not
/// be registered with this thread's reactor otherwise (an anyloop socket).
pub struct FdWatch {
    inner: Async<Borrowed>,
}

impl std::fmt::Debug for FdWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FdWatch")
            .field("fd", &self.inner.get_ref().0)
            .finish()
    }
}

impl FdWatch {
    /// Registers `fd` with this thread's reactor.
    ///
    /// # Errors
    ///
    /// The poller's error: `AlreadyExists` if `fd` is an anyloop socket
    /// (registered already), `PermissionDenied` for a regular file.
    pub fn new(fd: RawFd) -> io::Result<FdWatch> {
        Ok(FdWatch {
            inner: Async::new_nonblocking(Borrowed(fd))?,
        })
    }

    /// The descriptor.
    pub fn fd(&self) -> RawFd {
        self.inner.get_ref().0
    }

    /// Ready when reading would not block (data, end of file or an error).
    ///
    /// # Errors
    ///
    /// The OS error of `poll(2)` (Windows: `WSAPoll`) or of arming the poller.
    pub fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_dir(Direction::Read, cx)
    }

    /// Ready when writing would not block (buffer space, or an error).
    ///
    /// # Errors
    ///
    /// The OS error of `poll(2)` (Windows: `WSAPoll`) or of arming the poller.
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_dir(Direction::Write, cx)
    }

    fn poll_dir(&self, dir: Direction, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let flags = match dir {
            Direction::Read => PollFlags::IN,
            Direction::Write => PollFlags::OUT,
        };
        // The level first: an edge-triggered registration alone would miss
        // data a callback left unread.
        let fd = self.inner.get_ref();
        let mut fds = [PollFd::from_borrowed_fd(fd.borrow(), flags)];
        let zero = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        match rustix::event::poll(&mut fds, Some(&zero)) {
            Ok(n) if n > 0 => return Poll::Ready(Ok(())),
            Ok(_) => {}
            Err(e) if e == rustix::io::Errno::INTR => {}
            Err(e) => return Poll::Ready(Err(e.into())),
        }
        // Not ready now: any later change produces an event that wakes us.
        self.inner.source_interest(dir, cx)
    }
}
