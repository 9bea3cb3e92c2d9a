//! Child processes (Windows): spawning through `std::process::Command`,
//! the exit as a waitable handle on the loop's completion port, pipes
//! read and written on the blocking pool.
//!
//! # Design
//!
//! - **Exit.** A duplicate of the child's process handle is registered
//!   with the reactor through `polling`'s `add_waitable`
//!   (`RegisterWaitForSingleObject` posting to the loop's IOCP): no thread
//!   of ours waits for a child. Waiting starts with a `try_wait`, so an
//!   exit before the registration is never missed.
//! - **Pipes.** std's pipes to a child are synchronous handles (IOCP's
//!   AFD polling covers sockets only), so each read and write runs on the
//!   blocking pool with the pipe moved into the job and back, as
//!   async-process does with `blocking::Unblock` (and tokio with its
//!   blocking `ChildStdout` on Windows). A read in flight holds a pool
//!   thread until the child writes or closes the pipe.
//! - **Signals.** `SIGTERM` and `SIGKILL` terminate the child
//!   (`TerminateProcess`, exit code 1, as Python's `terminate()` and
//!   `kill()` on Windows); `SIGINT` and `SIGBREAK` send the console's
//!   Ctrl-C / Ctrl-Break to the child's process group
//!   (`GenerateConsoleCtrlEvent`, Python's `send_signal(CTRL_BREAK_EVENT)`;
//!   the child must have been started in a new process group); anything
//!   else is `Unsupported`.
//! - No zombies exist on Windows: dropping a `Child` closes its handles;
//!   the child runs on (unless `kill_on_drop`).

use std::fs::File;
use std::io;
use std::os::windows::io::{AsHandle, OwnedHandle};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use windows_sys::Win32::System::Pipes::CreatePipe;

use crate::blocking::{ReadOnPool, WriteOnPool};
use crate::reactor::waitable::Waitable;
use crate::signal::{self, SIGBREAK, SIGINT};

/// `SIGKILL` and `SIGTERM` (Linux numbers, as the facade's constants).
const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;

/// A running (or finished) child process.
pub struct Child {
    child: std::process::Child,
    /// The registration of the child's process handle; `None` once the
    /// exit was seen.
    exit: Option<Waitable>,
    status: Option<std::process::ExitStatus>,
    kill_on_drop: bool,
}

impl std::fmt::Debug for Child {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.id())
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// The parent's ends of the child's pipes (those set to `Stdio::piped()`).
#[derive(Debug)]
pub struct Pipes {
    /// The child's stdin.
    pub stdin: Option<PipeWriter>,
    /// The child's stdout.
    pub stdout: Option<PipeReader>,
    /// The child's stderr.
    pub stderr: Option<PipeReader>,
}

/// Spawns `cmd` (its stdio already configured) and returns the child with
/// its pipes, and its exit registered with this thread's reactor.
///
/// # Errors
///
/// The spawn error (program not found, ...), or the OS error of
/// duplicating or registering the process handle.
pub fn spawn(cmd: &mut std::process::Command, kill_on_drop: bool) -> io::Result<(Child, Pipes)> {
    let mut child = cmd.spawn()?;
    let exit = child
        .as_handle()
        .try_clone_to_owned()
        .and_then(Waitable::new);
    let exit = match exit {
        Ok(e) => e,
        Err(e) => {
            let _ = child.kill();
            return Err(e);
        }
    };
    let pipes = Pipes {
        stdin: child
            .stdin
            .take()
            .map(|p| PipeWriter::new(OwnedHandle::from(p))),
        stdout: child
            .stdout
            .take()
            .map(|p| PipeReader::new(OwnedHandle::from(p))),
        stderr: child
            .stderr
            .take()
            .map(|p| PipeReader::new(OwnedHandle::from(p))),
    };
    Ok((
        Child {
            child,
            exit: Some(exit),
            status: None,
            kill_on_drop,
        },
        pipes,
    ))
}

impl Child {
    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if the child has exited, without waiting.
    ///
    /// # Errors
    ///
    /// The OS error of `GetExitCodeProcess`.
    pub fn try_wait(&mut self) -> io::Result<Option<std::process::ExitStatus>> {
        if self.status.is_none() {
            self.status = self.child.try_wait()?;
            if self.status.is_some() {
                self.exit = None;
            }
        }
        Ok(self.status)
    }

    /// Ready with the exit status once the child has exited.
    ///
    /// # Errors
    ///
    /// The OS error of checking the exit or of the registration.
    pub fn poll_wait(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<std::process::ExitStatus>> {
        if let Some(s) = self.try_wait()? {
            return Poll::Ready(Ok(s));
        }
        let Some(exit) = &self.exit else {
            return Poll::Ready(Err(io::Error::other("child exited without a status")));
        };
        let child = &mut self.child;
        let res = exit.poll_signalled(cx, || {
            child.try_wait()?.ok_or(io::ErrorKind::WouldBlock.into())
        });
        if let Poll::Ready(Ok(s)) = res {
            self.status = Some(s);
            self.exit = None;
        }
        res
    }

    /// Sends `sig` to the child: `SIGTERM`, `SIGKILL`: `TerminateProcess`;
    /// `SIGINT`, `SIGBREAK`: the console's Ctrl-C / Ctrl-Break to the
    /// child's process group. Does nothing once the child has exited.
    ///
    /// # Errors
    ///
    /// `Unsupported` for other signals; the OS error.
    pub fn send_signal(&mut self, sig: i32) -> io::Result<()> {
        if self.try_wait()?.is_some() {
            return Ok(());
        }
        match sig {
            SIGKILL | SIGTERM => self.child.kill(),
            SIGINT | SIGBREAK => signal::generate_ctrl_event(sig, self.id()),
            _ => Err(anyloop_core::unsupported(
                &format!(
                    "signal {sig} to a child (Windows: SIGTERM, SIGKILL terminate it; \
                     SIGINT, SIGBREAK send the console's Ctrl-C, Ctrl-Break)"
                ),
                crate::HOST,
                "",
            )),
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.kill_on_drop && self.status.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
    }
}

/// The parent's read end of a child's stdout or stderr; reads run on the
/// blocking pool. Implements `futures-io`'s `AsyncRead`.
#[derive(Debug)]
pub struct PipeReader {
    inner: ReadOnPool<File>,
}

impl PipeReader {
    /// Wraps a pipe's read end.
    pub fn new(handle: OwnedHandle) -> PipeReader {
        PipeReader {
            inner: ReadOnPool::new(File::from(handle)),
        }
    }
}

impl AsyncRead for PipeReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().inner.poll_read(cx, buf)
    }
}

/// The parent's write end of a child's stdin; writes run on the blocking
/// pool. Implements `futures-io`'s `AsyncWrite` (`close` closes the pipe,
/// so the child reads end of file).
#[derive(Debug)]
pub struct PipeWriter {
    inner: WriteOnPool<File>,
}

impl PipeWriter {
    /// Wraps a pipe's write end.
    pub fn new(handle: OwnedHandle) -> PipeWriter {
        PipeWriter {
            inner: WriteOnPool::new(File::from(handle)),
        }
    }
}

impl AsyncWrite for PipeWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().inner.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().inner.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().inner.poll_close(cx)
    }
}

/// A duplicate of this process's stdout handle, for a child's stderr that
/// goes where an inherited stdout goes (`2>&1`).
///
/// # Errors
///
/// The OS error of `DuplicateHandle`.
pub fn dup_stdout() -> io::Result<std::process::Stdio> {
    Ok(std::io::stdout().as_handle().try_clone_to_owned()?.into())
}

/// One pipe for a child's stdout and stderr (asyncio's `stderr=STDOUT`
/// with `stdout=PIPE`): the parent's reader and the two `Stdio`s to give
/// the command.
///
/// # Errors
///
/// The OS error of `CreatePipe` or of duplicating its write end.
pub fn merged_pipe() -> io::Result<(PipeReader, std::process::Stdio, std::process::Stdio)> {
    use std::os::windows::io::{FromRawHandle, RawHandle};
    let mut r: RawHandle = std::ptr::null_mut();
    let mut w: RawHandle = std::ptr::null_mut();
    // SAFETY: two out-pointers to handles; no security attributes (the
    // handles are not inheritable: std duplicates the child's ends as
    // inheritable when it spawns); the default buffer size.
    if unsafe { CreatePipe(&mut r, &mut w, std::ptr::null(), 0) } == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `CreatePipe` succeeded: both are fresh handles owned here.
    let (r, w) = unsafe {
        (
            OwnedHandle::from_raw_handle(r),
            OwnedHandle::from_raw_handle(w),
        )
    };
    let w2 = w.try_clone()?;
    Ok((PipeReader::new(r), w.into(), w2.into()))
}
