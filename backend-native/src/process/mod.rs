//! Child processes (Unix): spawning through `std::process::Command` or,
//! on Linux with glibc, through one `clone` of our own (the `clone`
//! module: [`spawn_cloned`]), waiting without a thread per child,
//! non-blocking pipes.
//!
//! # How an exit is noticed
//!
//! - Linux 6.7+ with glibc, for children of our own `clone`: a `waitid`
//!   in an io_uring the thread keeps (the `uring` module), whose eventfd
//!   is registered with the loop's epoll once; the completion reaps the
//!   child. Per child the parent makes `clone`, two `io_uring_enter`s and
//!   the `epoll_wait` instead of a pidfd's `epoll_ctl` add and delete,
//!   `waitpid` and `close`.
//! - Linux 5.3+: a pidfd (`pidfd_open`) registered with the loop's epoll;
//!   it becomes readable when the child exits.
//! - macOS and the BSDs: kqueue's `EVFILT_PROC` / `NOTE_EXIT` filter on
//!   the loop's own kqueue (`polling`'s kqueue extension; the reactor's
//!   `proc` module), registered once per child (oneshot) and deleted
//!   right after the child is reaped, before its pid can be reused.
//! - Elsewhere, or where those fail (old kernels, seccomp filters, macOS
//!   refusing to watch a child that already exited): a `SIGCHLD`
//!   subscription (see [`crate::signal`]); every `SIGCHLD` makes each
//!   waiting child try `waitpid(pid, WNOHANG)`.
//!
//! Every route starts with a `waitpid(WNOHANG)`, so an exit before the
//! registration is never missed, and no route needs a thread per child;
//! except the pidfd's and io_uring's, which need none (a `waitid` in
//! flight sees an exit that came before it): a pidfd of a child that exited
//! already is readable, and epoll reports that when it is registered, so
//! `waitpid` runs once per child, after the exit.
//! A child dropped before it was reaped goes to the `reap` table, where
//! a `SIGCHLD` action reaps it as soon as it exits: no zombie is left.
//!
//! # What is tested where
//!
//! `cargo xtask test` runs on Linux: the io_uring route (where the kernel
//! has it; `io_uring_waits_report_and_reap_every_child`), the pidfd
//! route, and the `SIGCHLD`
//! route forced with [`force_sigchld`] (this module's tests and
//! `tests/process.rs`). The kqueue route is built and linted for
//! FreeBSD (`cargo clippy -p anyloop-native --target
//! x86_64-unknown-freebsd`) but not run on these machines; its test here
//! (`ExitNotifier::Kqueue`) and the whole suite run on macOS/BSD.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod clone;
mod reap;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod uring;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub use clone::ChildStdio;
pub use reap::pending_orphans;

use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

#[cfg(kqueue)]
use crate::reactor::proc::ProcExit;
use crate::reactor::{Async, Direction};
use crate::signal::{self, Signals};

/// How the loop learns that the child exited.
enum Exit {
    /// Linux: the child's pidfd, readable once it exits.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    Pidfd(Async<OwnedFd>),
    /// macOS and the BSDs: kqueue's `EVFILT_PROC` / `NOTE_EXIT` filter.
    #[cfg(kqueue)]
    Kqueue(ProcExit),
    /// Linux 6.7+ (glibc, children of our own `clone`): a `waitid` in the
    /// thread's io_uring.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    Uring(uring::Wait),
    /// Any Unix: `SIGCHLD` deliveries.
    Sigchld(Signals),
    /// Reaped: the notifier is released (a pidfd closed, a kqueue filter
    /// deleted, a `SIGCHLD` subscription ended).
    Done,
}

/// Which mechanism a child uses to report its exit (for tests and docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitNotifier {
    /// A Linux pidfd.
    Pidfd,
    /// kqueue's process filter (macOS, BSD).
    Kqueue,
    /// A `waitid` in the thread's io_uring (Linux 6.7+).
    IoUring,
    /// `SIGCHLD`.
    Sigchld,
}

/// Set when pidfds or kqueue process filters are unavailable (or forced
/// off): every later child uses `SIGCHLD`.
static SIGCHLD_ONLY: AtomicBool = AtomicBool::new(false);

/// Makes every child spawned from now on wait through `SIGCHLD` (to test
/// the fallback where pidfds exist).
#[doc(hidden)]
pub fn force_sigchld(on: bool) {
    SIGCHLD_ONLY.store(on, Ordering::SeqCst);
}

/// A child's process, as it was started.
enum Proc {
    /// By `std::process::Command::spawn`.
    Std(std::process::Child),
    /// By this crate's `clone` (Linux, glibc): its pid.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    Cloned(rustix::process::Pid),
}

impl Proc {
    fn id(&self) -> u32 {
        match self {
            Proc::Std(c) => c.id(),
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            Proc::Cloned(pid) => pid.as_raw_nonzero().get() as u32,
        }
    }

    /// `waitpid(WNOHANG)`: the status once the child has exited (reaped
    /// then; not to be asked again).
    fn try_wait(&mut self) -> io::Result<Option<std::process::ExitStatus>> {
        match self {
            Proc::Std(c) => c.try_wait(),
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            Proc::Cloned(pid) => {
                use std::os::unix::process::ExitStatusExt;
                let st =
                    rustix::process::waitpid(Some(*pid), rustix::process::WaitOptions::NOHANG)?;
                Ok(st.map(|(_, st)| std::process::ExitStatus::from_raw(st.as_raw())))
            }
        }
    }

    fn kill(&mut self) -> io::Result<()> {
        match self {
            Proc::Std(c) => c.kill(),
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            Proc::Cloned(pid) => Ok(rustix::process::kill_process(
                *pid,
                rustix::process::Signal::KILL,
            )?),
        }
    }
}

/// A running (or finished, not yet reaped) child process.
pub struct Child {
    child: Option<Proc>,
    exit: Exit,
    notifier: ExitNotifier,
    status: Option<std::process::ExitStatus>,
    kill_on_drop: bool,
}

impl std::fmt::Debug for Child {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.id())
            .field("status", &self.status)
            .field("notifier", &self.notifier())
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
/// its pipes, which are switched to non-blocking mode and registered with
/// this thread's reactor.
///
/// # Errors
///
/// The spawn error (program not found, permission denied, ...), or the OS
/// error of setting up the pipes.
pub fn spawn(cmd: &mut std::process::Command, kill_on_drop: bool) -> io::Result<(Child, Pipes)> {
    let mut std_child = cmd.spawn()?;
    let ends = [
        std_child.stdin.take().map(OwnedFd::from),
        std_child.stdout.take().map(OwnedFd::from),
        std_child.stderr.take().map(OwnedFd::from),
    ];
    let exit = exit_notifier(&std_child);
    finish(Proc::Std(std_child), exit, ends, kill_on_drop)
}

/// Spawns `cmd` (program, arguments, environment, directory; its own
/// stdio settings are not used) with `stdio`, through this crate's
/// `clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD)` (Linux, glibc): the
/// parent's ends of the pipes as [`spawn`] returns them, and a merged
/// stderr ([`ChildStdio::Stdout`]) needing no extra descriptor. `exe`: for
/// a bare program name, the file to run instead of searching `PATH`
/// (argv\[0\] stays the name). `env_cleared`: `cmd.env_clear()` was
/// called (std has no getter for it).
///
/// `None` where this route does not apply (a bare name with a `PATH` of
/// the command's own and no `exe`, a NUL byte in a string, `clone`
/// refused by the kernel or a seccomp filter): spawn with [`spawn`].
///
/// # Errors
///
/// As [`spawn`]: the error of `execve` (`NotFound` for a missing
/// program), of `chdir`, or of creating the pipes.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn spawn_cloned(
    cmd: &std::process::Command,
    exe: Option<&Path>,
    env_cleared: bool,
    stdio: [ChildStdio; 3],
    kill_on_drop: bool,
) -> Option<io::Result<(Child, Pipes)>> {
    let sigchld_only = SIGCHLD_ONLY.load(Ordering::Relaxed);
    // The thread's io_uring where it has `waitid`, else a pidfd.
    let ring = if sigchld_only { None } else { uring::current() };
    let want_pidfd = !sigchld_only && ring.is_none();
    let started = match clone::spawn(cmd, exe, env_cleared, stdio, want_pidfd)? {
        Ok(s) => s,
        Err(e) => return Some(Err(e)),
    };
    let exit = match (ring, started.pidfd) {
        (Some(ring), _) => match uring::Wait::new(ring, started.pid.as_raw_nonzero().get()) {
            Some(wait) => Some(Exit::Uring(wait)),
            None => pidfd_exit(started.pid),
        },
        (None, Some(fd)) => Async::new_unready(fd).ok().map(Exit::Pidfd),
        // A kernel before 5.2 (CLONE_PIDFD ignored): SIGCHLD from now on.
        (None, None) if want_pidfd => {
            SIGCHLD_ONLY.store(true, Ordering::Relaxed);
            None
        }
        (None, None) => None,
    };
    Some(finish(
        Proc::Cloned(started.pid),
        exit,
        started.pipes,
        kill_on_drop,
    ))
}

/// The child, its exit notifier (`None`: `SIGCHLD`) and the parent's
/// ends of its pipes (stdin, stdout, stderr) made non-blocking and
/// registered; on an error the child is killed and handed to the reaper.
fn finish(
    proc: Proc,
    exit: Option<Exit>,
    [stdin, stdout, stderr]: [Option<OwnedFd>; 3],
    kill_on_drop: bool,
) -> io::Result<(Child, Pipes)> {
    let setup = || -> io::Result<Pipes> {
        Ok(Pipes {
            stdin: stdin.map(PipeWriter::new).transpose()?,
            stdout: stdout.map(PipeReader::new).transpose()?,
            stderr: stderr.map(PipeReader::new).transpose()?,
        })
    };
    let pipes = match setup() {
        Ok(pipes) => pipes,
        Err(e) => return Err(abandon(proc, exit, e)),
    };
    // The exit is noticed even if it happened already: waiting starts
    // with a `waitpid(WNOHANG)`.
    let exit = match exit {
        Some(exit) => exit,
        None => match Signals::internal(signal::SIGCHLD) {
            Ok(s) => Exit::Sigchld(s),
            Err(e) => return Err(abandon(proc, None, e)),
        },
    };
    let notifier = match &exit {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Exit::Pidfd(_) => ExitNotifier::Pidfd,
        #[cfg(kqueue)]
        Exit::Kqueue(_) => ExitNotifier::Kqueue,
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        Exit::Uring(_) => ExitNotifier::IoUring,
        _ => ExitNotifier::Sigchld,
    };
    Ok((
        Child {
            child: Some(proc),
            exit,
            notifier,
            status: None,
            kill_on_drop,
        },
        pipes,
    ))
}

/// Kills a child whose setup failed with `e` and hands it to the reaper
/// (an io_uring `waitid` does that when dropped, after the kill); returns
/// `e`.
fn abandon(mut proc: Proc, exit: Option<Exit>, e: io::Error) -> io::Error {
    let _ = proc.kill();
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if matches!(exit, Some(Exit::Uring(_))) {
        drop(exit);
        return e;
    }
    drop(exit);
    reap::orphan(proc.id() as i32);
    e
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn exit_notifier(child: &std::process::Child) -> Option<Exit> {
    pidfd_exit(rustix::process::Pid::from_child(child))
}

/// A pidfd for child `pid`, registered with the loop; `None`: `SIGCHLD`.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn pidfd_exit(pid: rustix::process::Pid) -> Option<Exit> {
    use rustix::process::{pidfd_open, PidfdFlags};
    if SIGCHLD_ONLY.load(Ordering::Relaxed) {
        return None;
    }
    match pidfd_open(pid, PidfdFlags::NONBLOCK) {
        // Waited on before any `waitpid`: see `Child::poll_wait`.
        Ok(fd) => Async::new_unready(fd).ok().map(Exit::Pidfd),
        Err(e) => {
            if e == rustix::io::Errno::NOSYS {
                // Before Linux 5.3: never try again.
                SIGCHLD_ONLY.store(true, Ordering::Relaxed);
            }
            None
        }
    }
}

#[cfg(kqueue)]
fn exit_notifier(child: &std::process::Child) -> Option<Exit> {
    if SIGCHLD_ONLY.load(Ordering::Relaxed) {
        return None;
    }
    // On failure (macOS: the child exited already, ESRCH) the `SIGCHLD`
    // route starts with a `waitpid(WNOHANG)`, which sees that exit.
    ProcExit::new(child).ok().map(Exit::Kqueue)
}

#[cfg(not(any(target_os = "linux", target_os = "android", kqueue)))]
fn exit_notifier(_child: &std::process::Child) -> Option<Exit> {
    None
}

impl Child {
    /// The child's process id.
    pub fn id(&self) -> u32 {
        match &self.child {
            Some(c) => c.id(),
            None => 0,
        }
    }

    /// How this child's exit is noticed.
    pub fn notifier(&self) -> ExitNotifier {
        self.notifier
    }

    /// The exit status if the child has exited (reaping it), without
    /// waiting.
    ///
    /// # Errors
    ///
    /// The OS error of `waitpid`.
    pub fn try_wait(&mut self) -> io::Result<Option<std::process::ExitStatus>> {
        // The ring's `waitid` reaps the child: ask it, not `waitpid`.
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        if let (None, Exit::Uring(wait)) = (self.status, &self.exit) {
            if let Some(res) = wait.try_status() {
                self.status = Some(res?);
                self.exit = Exit::Done;
            }
            return Ok(self.status);
        }
        if self.status.is_none() {
            if let Some(c) = self.child.as_mut() {
                self.status = c.try_wait()?;
                if self.status.is_some() {
                    // Reaped: release the notifier now (a kqueue filter
                    // must go before the pid can be reused).
                    self.exit = Exit::Done;
                }
            }
        }
        Ok(self.status)
    }

    /// Ready with the exit status once the child has exited.
    ///
    /// # Errors
    ///
    /// The OS error of `waitpid` or of the exit notification.
    pub fn poll_wait(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<std::process::ExitStatus>> {
        loop {
            // With a pidfd, `waitpid` only once it is readable (the child
            // has exited; one that exited before the registration makes
            // it readable at once): one `waitpid` per child, as tokio.
            // The same with io_uring: its completion is the reap.
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            let look_first = !matches!(self.exit, Exit::Pidfd(_) | Exit::Uring(_));
            #[cfg(all(
                any(target_os = "linux", target_os = "android"),
                not(all(target_os = "linux", target_env = "gnu"))
            ))]
            let look_first = !matches!(self.exit, Exit::Pidfd(_));
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            let look_first = true;
            if let Some(s) = self.status {
                return Poll::Ready(Ok(s));
            }
            if look_first {
                if let Some(s) = self.try_wait()? {
                    return Poll::Ready(Ok(s));
                }
            }
            // For the event-driven notifiers: `WouldBlock` means "not
            // exited yet, wait for the event".
            let child = &mut self.child;
            let mut reap = || match child.as_mut() {
                Some(c) => c.try_wait()?.ok_or(io::ErrorKind::WouldBlock.into()),
                None => Err(io::ErrorKind::NotFound.into()),
            };
            let res = match &mut self.exit {
                // Readable once the child has exited.
                #[cfg(any(target_os = "linux", target_os = "android"))]
                Exit::Pidfd(fd) => fd.poll_io(Direction::Read, cx, |_| reap()),
                // Fires once, when the child has exited.
                #[cfg(kqueue)]
                Exit::Kqueue(k) => k.poll_exit(cx, &mut reap),
                // Completed (and reaped) once the child has exited.
                #[cfg(all(target_os = "linux", target_env = "gnu"))]
                Exit::Uring(wait) => wait.poll(cx),
                Exit::Sigchld(s) => match s.poll_recv(cx) {
                    Poll::Ready(Ok(())) => continue,
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    // A SIGCHLD between `try_wait` and the subscription's
                    // check is counted; one before it was seen by
                    // `try_wait`. Look once more for an exit that raced
                    // with registering the waker.
                    Poll::Pending => {
                        return self
                            .try_wait()?
                            .map_or(Poll::Pending, |s| Poll::Ready(Ok(s)))
                    }
                },
                // `try_wait` above returned the status.
                Exit::Done => Poll::Ready(Err(io::Error::other("child reaped without a status"))),
            };
            if let Poll::Ready(Ok(s)) = res {
                self.status = Some(s);
                self.exit = Exit::Done;
            }
            return res;
        }
    }

    /// Sends signal `sig` to the child; does nothing once the child has
    /// been reaped (its pid may belong to another process by then).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an unknown signal; the OS error of `kill`.
    pub fn send_signal(&mut self, sig: i32) -> io::Result<()> {
        if self.try_wait()?.is_some() {
            return Ok(());
        }
        match self.child.as_ref().map(Proc::id) {
            Some(pid) => match rustix::process::Pid::from_raw(pid as i32) {
                Some(pid) => signal::send(pid, sig),
                None => Ok(()),
            },
            None => Ok(()),
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        if let Exit::Uring(wait) = &self.exit {
            // Not reaped before `wait.try_status()` says so: the pid is
            // still the child's.
            if self.status.is_none() && self.kill_on_drop && wait.try_status().is_none() {
                let _ = child.kill();
            }
            // Dropping the wait (after this) cancels it if the child still
            // runs and hands the child to the reaper.
            return;
        }
        if self.status.is_some() || matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        if self.kill_on_drop {
            let _ = child.kill();
        }
        // A std `Child` without its pipes (taken at spawn) is just the
        // pid: dropping it neither waits nor kills.
        reap::orphan(child.id() as i32);
    }
}

/// The parent's read end of a child's stdout or stderr, non-blocking and
/// registered with the loop; implements `futures-io`'s `AsyncRead`.
pub struct PipeReader {
    inner: Async<OwnedFd>,
    grow: Grow,
}

impl std::fmt::Debug for PipeReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipeReader").finish_non_exhaustive()
    }
}

impl PipeReader {
    /// Wraps a pipe's read end (switching it to non-blocking mode).
    ///
    /// # Errors
    ///
    /// The OS error of `ioctl(FIONBIO)` or of the registration.
    pub fn new(fd: OwnedFd) -> io::Result<PipeReader> {
        rustix::io::ioctl_fionbio(&fd, true)?;
        Ok(PipeReader {
            inner: Async::new_nonblocking(fd)?,
            grow: Grow::default(),
        })
    }
}

impl AsyncRead for PipeReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let len = buf.len();
        let res = this.inner.poll_stream_io(Direction::Read, cx, len, |fd| {
            Ok(rustix::io::read(fd, &mut *buf)?)
        });
        if let Poll::Ready(Ok(n)) = res {
            // A read of a whole default pipe: the child fills it faster
            // than we empty it.
            if n >= DEFAULT_PIPE_SIZE {
                this.grow.full(this.inner.get_ref());
            }
        }
        res
    }
}

/// The parent's write end of a child's stdin, non-blocking and registered
/// with the loop; implements `futures-io`'s `AsyncWrite` (`close` closes
/// the pipe, so the child reads end of file).
pub struct PipeWriter {
    inner: Option<Async<OwnedFd>>,
    grow: Grow,
}

impl std::fmt::Debug for PipeWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipeWriter").finish_non_exhaustive()
    }
}

impl PipeWriter {
    /// Wraps a pipe's write end (switching it to non-blocking mode).
    ///
    /// # Errors
    ///
    /// The OS error of `ioctl(FIONBIO)` or of the registration.
    pub fn new(fd: OwnedFd) -> io::Result<PipeWriter> {
        rustix::io::ioctl_fionbio(&fd, true)?;
        Ok(PipeWriter {
            inner: Some(Async::new_nonblocking(fd)?),
            grow: Grow::default(),
        })
    }
}

impl AsyncWrite for PipeWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match &this.inner {
            Some(a) => {
                let res = a.poll_stream_io(Direction::Write, cx, buf.len(), |fd| {
                    Ok(rustix::io::write(fd, buf)?)
                });
                // A short write or none at all: the pipe is full, the child
                // reads slower than we write.
                if matches!(res, Poll::Pending)
                    || matches!(res, Poll::Ready(Ok(n)) if n < buf.len())
                {
                    this.grow.full(a.get_ref());
                }
                res
            }
            None => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the child's stdin is closed",
            ))),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner = None;
        self.grow = Grow::default();
        Poll::Ready(Ok(()))
    }
}

/// A pipe's default capacity on Linux (16 pages).
const DEFAULT_PIPE_SIZE: usize = 64 * 1024;

/// The capacity a child's pipe grows to once it has been found full.
#[cfg(any(target_os = "linux", target_os = "android"))]
const GROWN_PIPE_SIZE: usize = 1 << 20;

/// At most this many grown pipes at once in this process: 16 MiB of the
/// 64 MiB (`/proc/sys/fs/pipe-user-pages-soft`) a user's pipes may hold
/// before Linux gives every new pipe of that user only 8 KiB.
#[cfg(any(target_os = "linux", target_os = "android"))]
const MAX_GROWN_PIPES: usize = 16;

/// Grown pipes alive in this process.
#[cfg(any(target_os = "linux", target_os = "android"))]
static GROWN_PIPES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Whether a child's pipe was grown (Linux, `F_SETPIPE_SZ`): a pipe is
/// grown from 64 KiB to 1 MiB the first time it is found full (a read
/// that empties a whole default pipe, a short write), so a bulk transfer
/// costs fewer wake-ups and context switches on both sides, and a pipe
/// that carries a few lines costs nothing extra. Best effort: a refusal
/// (the user's pipe quota, `pipe-max-size`) keeps the pipe as it is.
#[derive(Default)]
struct Grow {
    /// Growing was tried (once per pipe).
    tried: bool,
    /// This pipe holds one of the [`MAX_GROWN_PIPES`] slots.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    slot: bool,
}

impl Grow {
    /// The pipe `fd` was found full: grow it, once.
    fn full(&mut self, fd: &OwnedFd) {
        if std::mem::replace(&mut self.tried, true) {
            return;
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            if GROWN_PIPES.fetch_add(1, Ordering::Relaxed) < MAX_GROWN_PIPES
                && rustix::pipe::fcntl_setpipe_size(fd, GROWN_PIPE_SIZE).is_ok()
            {
                self.slot = true;
            } else {
                GROWN_PIPES.fetch_sub(1, Ordering::Relaxed);
            }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = fd;
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
impl Drop for Grow {
    fn drop(&mut self) {
        if self.slot {
            GROWN_PIPES.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Where `execvp` would find `program` (a bare name) in the search path
/// `path`, when that can be told without exec'ing anything: the first
/// `dir/program` that is a regular file with an execute bit. Entries
/// that `execvp` skips (nothing there, not a directory, no search
/// permission, a directory or a file without execute permission) are
/// skipped; `None` — let `execvp` itself search — for an empty or
/// relative entry before a match (relative to the child's directory), an
/// unusual error (which stops `execvp`), or no match.
///
/// A match that the kernel then refuses to run (no permission for this
/// user, no interpreter, `ENOEXEC`) is only found out by the spawn: the
/// caller falls back to std's own search then, so the program that runs
/// is always the one `execvp` would run.
pub fn lookup_program(program: &std::ffi::OsStr, path: &std::ffi::OsStr) -> Option<PathBuf> {
    use rustix::io::Errno;
    use std::os::unix::ffi::OsStrExt;
    let name = program.as_bytes();
    if name.is_empty() || name.contains(&b'/') {
        return None;
    }
    for dir in path.as_bytes().split(|&b| b == b':') {
        if dir.first() != Some(&b'/') {
            return None;
        }
        let candidate = Path::new(std::ffi::OsStr::from_bytes(dir)).join(program);
        match rustix::fs::stat(&candidate) {
            Ok(st) => {
                let regular = rustix::fs::FileType::from_raw_mode(st.st_mode)
                    == rustix::fs::FileType::RegularFile;
                if regular && st.st_mode & 0o111 != 0 {
                    return Some(candidate);
                }
            }
            // glibc's execvp goes on after these (ESTALE: NFS, ENODEV,
            // ETIMEDOUT: automount); any other error ends its search.
            Err(
                Errno::NOENT
                | Errno::NOTDIR
                | Errno::ACCESS
                | Errno::STALE
                | Errno::NODEV
                | Errno::TIMEDOUT,
            ) => {}
            Err(_) => return None,
        }
    }
    None
}

/// A duplicate of this process's stdout, for a child's stderr that goes
/// where an inherited stdout goes (`2>&1`).
///
/// # Errors
///
/// The OS error of `dup`.
pub fn dup_stdout() -> io::Result<std::process::Stdio> {
    use std::os::fd::AsFd;
    Ok(std::io::stdout().as_fd().try_clone_to_owned()?.into())
}

/// A close-on-exec pipe: `(read end, write end)`.
pub(crate) fn cloexec_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    #[cfg(not(any(target_os = "macos", target_os = "ios")))]
    return Ok(rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?);
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    {
        // No pipe2 here: set the flag right after (as std does on macOS).
        let (r, w) = rustix::pipe::pipe()?;
        rustix::io::fcntl_setfd(&r, rustix::io::FdFlags::CLOEXEC)?;
        rustix::io::fcntl_setfd(&w, rustix::io::FdFlags::CLOEXEC)?;
        Ok((r, w))
    }
}

/// One pipe for a child's stdout and stderr (asyncio's `stderr=STDOUT`
/// with `stdout=PIPE`): the parent's reader and the two `Stdio`s to give
/// the command.
///
/// # Errors
///
/// The OS error of creating or registering the pipe.
pub fn merged_pipe() -> io::Result<(PipeReader, std::process::Stdio, std::process::Stdio)> {
    let (r, w) = cloexec_pipe()?;
    let w2 = w.try_clone()?;
    Ok((PipeReader::new(r)?, w.into(), w2.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(child: &mut Child) -> io::Result<std::process::ExitStatus> {
        crate::doc_run(std::future::poll_fn(|cx| child.poll_wait(cx)))
    }

    #[test]
    fn the_sigchld_fallback_and_the_pidfd_both_see_exits() {
        // Several children at once, each noticed through SIGCHLD.
        force_sigchld(true);
        let spawned: Vec<_> = (0..5)
            .map(|i| {
                let mut cmd = std::process::Command::new("sh");
                cmd.args(["-c", &format!("sleep 0.0{i}; exit {i}")]);
                spawn(&mut cmd, false).unwrap().0
            })
            .collect();
        force_sigchld(false);
        for (i, mut child) in spawned.into_iter().enumerate() {
            assert_eq!(child.notifier(), ExitNotifier::Sigchld);
            assert_eq!(wait(&mut child).unwrap().code(), Some(i as i32));
        }
        // The event-driven notifier of this OS.
        let (mut child, _) = spawn(&mut std::process::Command::new("true"), false).unwrap();
        #[cfg(any(target_os = "linux", target_os = "android"))]
        assert_eq!(child.notifier(), ExitNotifier::Pidfd);
        #[cfg(kqueue)]
        assert_eq!(child.notifier(), ExitNotifier::Kqueue);
        assert!(wait(&mut child).unwrap().success());
        // A child that is already a zombie when waited for.
        let (mut child, _) = spawn(&mut std::process::Command::new("true"), false).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(wait(&mut child).unwrap().success());
        // The same through this crate's `clone` (here, not in another test:
        // `force_sigchld` is process-wide).
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        {
            use ChildStdio::Inherit;
            let cloned = |cmd: &std::process::Command| {
                spawn_cloned(cmd, None, false, [Inherit; 3], false)
                    .expect("the clone route applies")
            };
            let mut sh = std::process::Command::new("sh");
            sh.args(["-c", "exit 7"]);
            force_sigchld(true);
            let sigchld = cloned(&sh);
            force_sigchld(false);
            let (mut child, _) = sigchld.unwrap();
            assert_eq!(child.notifier(), ExitNotifier::Sigchld);
            assert_eq!(wait(&mut child).unwrap().code(), Some(7));
            let (mut child, _) = cloned(&sh).unwrap();
            let best = if uring::current().is_some() {
                ExitNotifier::IoUring
            } else {
                ExitNotifier::Pidfd
            };
            assert_eq!(child.notifier(), best);
            assert_eq!(wait(&mut child).unwrap().code(), Some(7));
            // And with a pidfd where the ring is not used.
            uring::force_off(true);
            let pidfd = cloned(&sh);
            uring::force_off(false);
            let (mut child, _) = pidfd.unwrap();
            assert_eq!(child.notifier(), ExitNotifier::Pidfd);
            assert_eq!(wait(&mut child).unwrap().code(), Some(7));
        }
    }

    /// Children waited for in the thread's io_uring (where the kernel has
    /// its `waitid`): statuses reach the right child, `try_wait` sees an
    /// exit, and a child dropped unreaped (killed or left running) is
    /// reaped anyway.
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn io_uring_waits_report_and_reap_every_child() {
        use std::process::Command;
        use ChildStdio::Inherit;
        if uring::current().is_none() {
            eprintln!("no io_uring waitid here: the pidfd route is tested instead");
            return;
        }
        let cloned = |cmd: &Command, kill_on_drop: bool| {
            spawn_cloned(cmd, None, false, [Inherit; 3], kill_on_drop)
                .expect("the clone route applies")
                .unwrap()
                .0
        };
        let sh = |script: &str| {
            let mut c = Command::new("sh");
            c.args(["-c", script]);
            c
        };
        let gone = |pid: u32| {
            // A zombie keeps its /proc entry until it is reaped.
            let dir = format!("/proc/{pid}");
            let start = std::time::Instant::now();
            while std::path::Path::new(&dir).exists() {
                assert!(
                    start.elapsed() < std::time::Duration::from_secs(30),
                    "{dir} not reaped within 30 s"
                );
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        };
        // Twenty at once, finishing in another order than they started.
        let mut children: Vec<_> = (0..20)
            .map(|i| {
                let c = cloned(&sh(&format!("sleep 0.0{}; exit {i}", 9 - i % 10)), false);
                assert_eq!(c.notifier(), ExitNotifier::IoUring);
                c
            })
            .collect();
        for (i, child) in children.iter_mut().enumerate().rev() {
            assert_eq!(wait(child).unwrap().code(), Some(i as i32));
        }
        // More exits at once than the completion queue holds: the rest
        // come through the kernel's overflow list.
        let mut many: Vec<_> = (0..300)
            .map(|_| cloned(&Command::new("true"), false))
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(200));
        for child in many.iter_mut().rev() {
            assert!(wait(child).unwrap().success());
        }
        // A signal exit, and `try_wait` before and after the exit.
        let mut child = cloned(Command::new("sleep").arg("100"), false);
        assert!(child.try_wait().unwrap().is_none());
        child.send_signal(libc::SIGTERM).unwrap();
        let status = wait(&mut child).unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGTERM));
        let mut child = cloned(&Command::new("true"), false);
        let start = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() {
            assert!(start.elapsed() < std::time::Duration::from_secs(30));
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(child.try_wait().unwrap().unwrap().success());
        // Dropped while running: killed on drop, or left to finish; either
        // way reaped with no loop running.
        let killed = cloned(Command::new("sleep").arg("100"), true);
        let pid = killed.id();
        drop(killed);
        gone(pid);
        let left = cloned(Command::new("sleep").arg("0.1"), false);
        let pid = left.id();
        drop(left);
        gone(pid);
        // Dropped after it exited, never waited for.
        let exited = cloned(&Command::new("true"), false);
        let pid = exited.id();
        std::thread::sleep(std::time::Duration::from_millis(50));
        drop(exited);
        gone(pid);
    }

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn the_clone_route_keeps_std_semantics() {
        use futures_lite::{AsyncReadExt, AsyncWriteExt};
        use std::process::Command;
        use ChildStdio::{Inherit, Null, Piped, Stdout};
        let out = |cmd: &Command, exe: Option<&Path>, cleared: bool, stdio| {
            let (mut child, pipes) =
                spawn_cloned(cmd, exe, cleared, stdio, false).expect("the clone route applies")?;
            let mut got = Vec::new();
            if let Some(mut r) = pipes.stdout {
                crate::doc_run(r.read_to_end(&mut got))?;
            }
            let status = wait(&mut child)?;
            io::Result::Ok((status.code(), String::from_utf8_lossy(&got).into_owned()))
        };
        // Arguments, environment, directory, stderr to stdout.
        let mut sh = Command::new("sh");
        sh.args([
            "-c",
            "echo \"$0 $1 $GREETING $(pwd)\"; echo err >&2",
            "a b",
            "c",
        ])
        .env("GREETING", "hi")
        .current_dir("/");
        let stdio = [Null, Piped, Stdout];
        let (code, text) = out(&sh, None, false, stdio).unwrap();
        assert_eq!((code, text.as_str()), (Some(0), "a b c hi /\nerr\n"));
        // env_clear: only what the command sets.
        let mut env = Command::new("/usr/bin/env");
        env.env("ONLY", "1");
        let (_, text) = out(&env, None, true, stdio).unwrap();
        assert_eq!(text, "ONLY=1\n");
        // A file found for us runs with argv[0] unchanged.
        let mut sh0 = Command::new("sh-by-another-name");
        sh0.args(["-c", "echo $0"]);
        let (_, text) = out(&sh0, Some(Path::new("/bin/sh")), false, stdio).unwrap();
        assert_eq!(text, "sh-by-another-name\n");
        // Errors of execve, chdir and the search come back from the spawn.
        let missing = Command::new("no-such-program-anyloop");
        let e = out(&missing, None, false, [Inherit; 3]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        let e = out(&Command::new("/nonexistent/x"), None, false, [Inherit; 3]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        let mut bad_dir = Command::new("true");
        bad_dir.current_dir("/nonexistent-anyloop-dir");
        let e = out(&bad_dir, None, false, [Inherit; 3]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        let e = out(&Command::new("/"), None, false, [Inherit; 3]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        // Not this route: a bare name in a PATH of the command's own, a NUL.
        let mut own_path = Command::new("true");
        own_path.env("PATH", "/bin");
        assert!(spawn_cloned(&own_path, None, false, [Inherit; 3], false).is_none());
        let mut nul_arg = Command::new("echo");
        nul_arg.arg("a\0b");
        for cmd in [Command::new("tr\0ue"), nul_arg] {
            assert!(spawn_cloned(&cmd, None, false, [Inherit; 3], false).is_none());
        }
        let mut nul_env = Command::new("true");
        nul_env.env("A", "b\0c");
        assert!(spawn_cloned(&nul_env, None, false, [Inherit; 3], false).is_none());
        // stdin piped through cat, SIGPIPE back to the default in the child.
        let (mut child, pipes) = spawn_cloned(
            &Command::new("cat"),
            None,
            false,
            [Piped, Piped, Inherit],
            false,
        )
        .unwrap()
        .unwrap();
        let (mut w, mut r) = (pipes.stdin.unwrap(), pipes.stdout.unwrap());
        crate::doc_run(async {
            w.write_all(b"ping\n").await.unwrap();
            w.close().await.unwrap();
            let mut got = Vec::new();
            r.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"ping\n");
        });
        assert!(wait(&mut child).unwrap().success());
        let mut sigpipe = Command::new("sh");
        sigpipe.args(["-c", "grep SigIgn /proc/self/status"]);
        let (_, text) = out(&sigpipe, None, false, stdio).unwrap();
        let ignored = u64::from_str_radix(text.trim().trim_start_matches("SigIgn:").trim(), 16);
        assert_eq!(ignored.unwrap() & (1 << (libc::SIGPIPE - 1)), 0, "{text}");
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_full_pipe_grows_once_and_a_quiet_one_stays() {
        use futures_lite::{AsyncReadExt, AsyncWriteExt};
        let mut cmd = std::process::Command::new("cat");
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let (mut child, pipes) = spawn(&mut cmd, false).unwrap();
        let (mut w, mut r) = (pipes.stdin.unwrap(), pipes.stdout.unwrap());
        let size = |fd: &OwnedFd| rustix::pipe::fcntl_getpipe_size(fd).unwrap();
        crate::doc_run(async {
            // A line: no pipe is full, nothing grows.
            w.write_all(b"hi\n").await.unwrap();
            let mut line = [0u8; 3];
            r.read_exact(&mut line).await.unwrap();
            assert_eq!(&line, b"hi\n");
            assert_eq!(size(r.inner.get_ref()), DEFAULT_PIPE_SIZE);
            // 4 MiB through cat: both pipes fill up and grow.
            let data = vec![7u8; 4 << 20];
            let write = async {
                w.write_all(&data).await.unwrap();
                assert_eq!(size(w.inner.as_ref().unwrap().get_ref()), GROWN_PIPE_SIZE);
                w.close().await.unwrap();
            };
            let read = async {
                let mut got = Vec::new();
                r.read_to_end(&mut got).await.unwrap();
                got
            };
            let ((), got) = futures_lite::future::zip(write, read).await;
            assert_eq!(got, data);
            assert_eq!(size(r.inner.get_ref()), GROWN_PIPE_SIZE);
        });
        assert!(wait(&mut child).unwrap().success());
        drop((w, r));
        assert_eq!(GROWN_PIPES.load(Ordering::Relaxed), 0);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn orphans_are_reaped_when_they_exit() {
        let (child, _) = spawn(std::process::Command::new("sleep").arg("0.1"), false).unwrap();
        let proc_dir = format!("/proc/{}", child.id());
        drop(child);
        let start = std::time::Instant::now();
        // A zombie keeps its /proc entry until it is reaped.
        while start.elapsed() < std::time::Duration::from_secs(30) {
            if !std::path::Path::new(&proc_dir).exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("orphan {proc_dir} not reaped within 30 s");
    }
}
