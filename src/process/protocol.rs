//! asyncio's subprocess transports and protocols: `loop.subprocess_exec`
//! / `loop.subprocess_shell` with a [`SubprocessProtocol`], on top of
//! [`Command`] and the stream [`Transport`] of `anyloop::net`.
//!
//! # Design
//!
//! - Each of the child's pipes is an ordinary [`Transport`] driven by its
//!   own task (the same driver as a socket's: write buffer, water marks,
//!   `pause_reading`), reached through
//!   [`SubprocessTransport::pipe_transport`] (asyncio's
//!   `get_pipe_transport(fd)`): fd 0 writes (reading stays paused), fd 1
//!   and 2 read (a write to them fails the pipe).
//! - Four event sources (three pipes and the exit) call one protocol, so
//!   the protocol sits in a `RefCell` shared by their tasks. No callback
//!   can re-enter it: transport methods only set flags and wake a task.
//! - Order, as in asyncio: `connection_made` before anything else;
//!   `pipe_data_received(fd, ..)` until that pipe's
//!   `pipe_connection_lost(fd, ..)`; `process_exited` once the child has
//!   exited (stdin is closed then: nobody reads it any more);
//!   `connection_lost` last, once the child has exited and every pipe is
//!   closed.
//! - [`SubprocessTransport::close`] closes the pipes and kills a child
//!   still running (asyncio's `close`).

use std::cell::{Cell, RefCell};
use std::ffi::OsStr;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use super::{sys, Command, ExitStatus, Kind};
use crate::net::{Protocol, Transport};

/// asyncio's `asyncio.SubprocessProtocol`: callbacks for a child process
/// started by [`subprocess_exec`] or [`subprocess_shell`]. Every method
/// has a default that does nothing.
///
/// `fd` is 0 for the child's stdin, 1 for its stdout, 2 for its stderr
/// (its stderr arrives as 1 with `stderr(Stdio::stdout())`).
///
/// # Examples
///
/// See [`subprocess_exec`].
pub trait SubprocessProtocol: 'static {
    /// The child runs and its pipes are connected.
    fn connection_made(&mut self, transport: SubprocessTransport) {
        let _ = transport;
    }

    /// The child wrote `data` to its stdout (`fd` 1) or stderr (`fd` 2).
    fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
        let _ = (fd, data);
    }

    /// Pipe `fd` closed: end of file on 1 or 2, stdin closed on 0; `exc`
    /// is the error that ended it, if any.
    fn pipe_connection_lost(&mut self, fd: i32, exc: Option<io::Error>) {
        let _ = (fd, exc);
    }

    /// The child exited ([`SubprocessTransport::returncode`] tells how).
    fn process_exited(&mut self) {}

    /// The child has exited and every pipe is closed: the last callback.
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        let _ = exc;
    }

    /// The stdin pipe's write buffer went above its high-water mark.
    fn pause_writing(&mut self) {}

    /// The stdin pipe's write buffer drained to its low-water mark.
    fn resume_writing(&mut self) {}
}

/// asyncio's `SubprocessTransport`: the child of a [`SubprocessProtocol`]
/// (cheap to clone).
///
/// # Examples
///
/// See [`subprocess_exec`].
#[derive(Clone)]
pub struct SubprocessTransport {
    inner: Rc<Inner>,
}

struct Inner {
    child: RefCell<sys::Child>,
    pid: u32,
    status: Cell<Option<ExitStatus>>,
    /// Transports of fd 0, 1, 2 (those that are piped).
    pipes: RefCell<[Option<Transport>; 3]>,
    /// Pipes not yet closed.
    open: Cell<usize>,
    /// `close()` was called.
    closing: Cell<bool>,
    /// `connection_lost` has run.
    lost: Cell<bool>,
}

impl SubprocessTransport {
    /// The child's process id (asyncio's `get_pid`).
    #[doc(alias = "get_pid")]
    pub fn pid(&self) -> u32 {
        self.inner.pid
    }

    /// `None` while the child runs; then its exit code, or `-N` if signal
    /// `N` killed it (asyncio's `get_returncode`).
    #[doc(alias = "get_returncode")]
    pub fn returncode(&self) -> Option<i32> {
        self.status().map(|s| s.returncode())
    }

    /// How the child ended, once it has.
    pub fn status(&self) -> Option<ExitStatus> {
        self.inner.status.get()
    }

    /// The transport of the child's pipe `fd` (0 stdin, 1 stdout, 2
    /// stderr) if it is piped (asyncio's `get_pipe_transport`): write to
    /// 0 (`write`, `write_eof`, water marks); pause or resume reading 1
    /// and 2.
    #[doc(alias = "get_pipe_transport")]
    pub fn pipe_transport(&self, fd: i32) -> Option<Transport> {
        let i = usize::try_from(fd).ok()?;
        self.inner.pipes.borrow().get(i)?.clone()
    }

    /// Sends signal `sig` to the child (asyncio's `send_signal`); nothing
    /// once it has exited.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an unknown signal; the OS error of `kill`.
    pub fn send_signal(&self, sig: i32) -> io::Result<()> {
        if self.status().is_some() {
            return Ok(());
        }
        self.inner.child.borrow_mut().send_signal(sig)
    }

    /// Sends `SIGTERM` (asyncio's `terminate`).
    ///
    /// # Errors
    ///
    /// As [`send_signal`](Self::send_signal).
    pub fn terminate(&self) -> io::Result<()> {
        self.send_signal(crate::signal::SIGTERM)
    }

    /// Sends `SIGKILL` (asyncio's `kill`).
    ///
    /// # Errors
    ///
    /// As [`send_signal`](Self::send_signal).
    pub fn kill(&self) -> io::Result<()> {
        self.send_signal(crate::signal::SIGKILL)
    }

    /// Closes the pipes and kills the child if it still runs (asyncio's
    /// `close`); `connection_lost` follows once it has exited.
    pub fn close(&self) {
        self.inner.closing.set(true);
        for t in self.inner.pipes.borrow().iter().flatten() {
            t.close();
        }
        let _ = self.kill();
    }

    /// Whether [`close`](Self::close) was called or the connection is
    /// lost (asyncio's `is_closing`).
    pub fn is_closing(&self) -> bool {
        self.inner.closing.get() || self.inner.lost.get()
    }
}

impl fmt::Debug for SubprocessTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubprocessTransport")
            .field("pid", &self.inner.pid)
            .field("status", &self.inner.status.get())
            .field("open_pipes", &self.inner.open.get())
            .finish()
    }
}

/// What the pipe and exit tasks share: the protocol and the transport.
struct Shared<P> {
    proto: RefCell<P>,
    t: SubprocessTransport,
}

impl<P: SubprocessProtocol> Shared<P> {
    /// Calls `connection_lost` once the child has exited and every pipe
    /// is closed.
    fn try_finish(&self) {
        let inner = &self.t.inner;
        if inner.status.get().is_some() && inner.open.get() == 0 && !inner.lost.replace(true) {
            self.proto.borrow_mut().connection_lost(None);
        }
    }
}

/// One pipe's side of the protocol: forwards to the subprocess protocol
/// with the pipe's fd.
struct PipeProto<P> {
    fd: i32,
    shared: Rc<Shared<P>>,
}

impl<P: SubprocessProtocol> Protocol for PipeProto<P> {
    fn data_received(&mut self, data: &[u8]) {
        self.shared
            .proto
            .borrow_mut()
            .pipe_data_received(self.fd, data);
    }

    fn eof_received(&mut self) -> bool {
        // The pipe is done: close its transport.
        false
    }

    fn connection_lost(&mut self, exc: Option<io::Error>) {
        self.shared
            .proto
            .borrow_mut()
            .pipe_connection_lost(self.fd, exc);
        let open = &self.shared.t.inner.open;
        open.set(open.get() - 1);
        self.shared.try_finish();
    }

    fn pause_writing(&mut self) {
        self.shared.proto.borrow_mut().pause_writing();
    }

    fn resume_writing(&mut self) {
        self.shared.proto.borrow_mut().resume_writing();
    }
}

/// A child's pipe as the duplex object a [`Transport`] drives.
enum PipeIo {
    /// stdin: written; a read never completes (the transport starts with
    /// reading paused, so it is not even tried).
    In(RefCell<sys::PipeWriter>),
    /// stdout or stderr: read; a write fails.
    Out(RefCell<sys::PipeReader>),
}

impl AsyncRead for &PipeIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match *self {
            PipeIo::In(_) => Poll::Pending,
            PipeIo::Out(r) => Pin::new(&mut *r.borrow_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for &PipeIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match *self {
            PipeIo::In(w) => Pin::new(&mut *w.borrow_mut()).poll_write(cx, buf),
            PipeIo::Out(_) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the child's stdout and stderr pipes cannot be written to",
            ))),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match *self {
            PipeIo::In(w) => Pin::new(&mut *w.borrow_mut()).poll_flush(cx),
            PipeIo::Out(_) => Poll::Ready(Ok(())),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match *self {
            PipeIo::In(w) => Pin::new(&mut *w.borrow_mut()).poll_close(cx),
            PipeIo::Out(_) => Poll::Ready(Ok(())),
        }
    }
}

/// Starts `cmd` and runs the protocol `factory()` makes on it: asyncio's
/// `loop.subprocess_exec(protocol_factory, program, *args, ...)`. The
/// child's stdin, stdout and stderr are pipes unless `cmd` sets them
/// (asyncio's defaults). `connection_made` has run when this returns.
///
/// # Errors
///
/// As [`Command::spawn`] (`Unsupported`, naming the feature and the host,
/// where there are no subprocesses).
///
/// # Examples
///
/// ```
/// use anyloop::process::{subprocess_exec, Command, SubprocessProtocol, SubprocessTransport};
/// use anyloop::future::Promise;
///
/// struct Collect { out: Vec<u8>, done: Promise<(Vec<u8>, Option<i32>)>, t: Option<SubprocessTransport> }
/// impl SubprocessProtocol for Collect {
///     fn connection_made(&mut self, t: SubprocessTransport) {
///         let stdin = t.pipe_transport(0).unwrap();
///         stdin.write(b"hello\n");
///         stdin.write_eof();
///         self.t = Some(t);
///     }
///     fn pipe_data_received(&mut self, _fd: i32, data: &[u8]) {
///         self.out.extend_from_slice(data);
///     }
///     fn connection_lost(&mut self, _exc: Option<std::io::Error>) {
///         let code = self.t.as_ref().and_then(|t| t.returncode());
///         let _ = self.done.set((std::mem::take(&mut self.out), code));
///     }
/// }
///
/// anyloop::run(async {
/// # if !anyloop::capabilities().subprocess || cfg!(windows) { return Ok(()) } // Unix tools
///     let done = Promise::new();
///     let d = done.clone();
///     subprocess_exec(move || Collect { out: Vec::new(), done: d, t: None }, &mut Command::new("cat")).await?;
///     assert_eq!(done.wait().await.unwrap(), (b"hello\n".to_vec(), Some(0)));
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub async fn subprocess_exec<P, F>(factory: F, cmd: &mut Command) -> io::Result<SubprocessTransport>
where
    P: SubprocessProtocol,
    F: FnOnce() -> P,
{
    let (child, pipes) = cmd.spawn_raw(Kind::Piped, Kind::Piped)?;
    let ios: Vec<(i32, PipeIo)> = [
        (0, pipes.stdin.map(|w| PipeIo::In(RefCell::new(w)))),
        (1, pipes.stdout.map(|r| PipeIo::Out(RefCell::new(r)))),
        (2, pipes.stderr.map(|r| PipeIo::Out(RefCell::new(r)))),
    ]
    .into_iter()
    .filter_map(|(fd, io)| Some((fd, io?)))
    .collect();
    let t = SubprocessTransport {
        inner: Rc::new(Inner {
            pid: child.id(),
            child: RefCell::new(child),
            status: Cell::new(None),
            pipes: RefCell::new([None, None, None]),
            open: Cell::new(ios.len()),
            closing: Cell::new(false),
            lost: Cell::new(false),
        }),
    };
    let shared = Rc::new(Shared {
        proto: RefCell::new(factory()),
        t: t.clone(),
    });
    let mut drivers = Vec::with_capacity(ios.len());
    for (fd, io) in ios {
        let proto = PipeProto {
            fd,
            shared: shared.clone(),
        };
        let (pipe, driver) = crate::net::protocol::start_io(io, proto);
        if fd == 0 {
            // Nothing to read from the child's stdin.
            pipe.pause_reading();
        }
        t.inner.pipes.borrow_mut()[fd as usize] = Some(pipe);
        drivers.push(driver);
    }
    shared.proto.borrow_mut().connection_made(t.clone());
    for driver in drivers {
        crate::task::Builder::new()
            .name("anyloop::process pipe")
            .spawn(driver)
            .detach();
    }
    crate::task::Builder::new()
        .name("anyloop::process exit")
        .spawn(watch_exit(shared))
        .detach();
    Ok(t)
}

/// Waits for the child to exit, then tells the protocol.
async fn watch_exit<P: SubprocessProtocol>(shared: Rc<Shared<P>>) {
    let inner = &shared.t.inner;
    let res = poll_fn(|cx| inner.child.borrow_mut().poll_wait(cx)).await;
    match res {
        Ok(status) => {
            inner.status.set(Some(ExitStatus::from_std(status)));
            // Nobody reads the child's stdin any more.
            if let Some(stdin) = &inner.pipes.borrow()[0] {
                stdin.close();
            }
            shared.proto.borrow_mut().process_exited();
            shared.try_finish();
        }
        Err(e) => {
            // Waiting failed (not expected): the connection is lost.
            for t in inner.pipes.borrow().iter().flatten() {
                t.abort();
            }
            if !inner.lost.replace(true) {
                shared.proto.borrow_mut().connection_lost(Some(e));
            }
        }
    }
}

/// [`subprocess_exec`] of a shell command line (`sh -c cmd`): asyncio's
/// `loop.subprocess_shell(protocol_factory, cmd, ...)`.
///
/// # Errors
///
/// As [`subprocess_exec`].
///
/// # Examples
///
/// ```
/// use anyloop::process::{subprocess_shell, SubprocessProtocol, SubprocessTransport};
///
/// struct Exit(anyloop::future::Promise<Option<i32>>, Option<SubprocessTransport>);
/// impl SubprocessProtocol for Exit {
///     fn connection_made(&mut self, t: SubprocessTransport) { self.1 = Some(t) }
///     fn process_exited(&mut self) {
///         let _ = self.0.set(self.1.as_ref().and_then(|t| t.returncode()));
///     }
/// }
///
/// anyloop::run(async {
/// # if !anyloop::capabilities().subprocess || cfg!(windows) { return Ok(()) } // Unix tools
///     let code = anyloop::future::Promise::new();
///     let c = code.clone();
///     subprocess_shell(move || Exit(c, None), "exit 7").await?;
///     assert_eq!(code.wait().await.unwrap(), Some(7));
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub async fn subprocess_shell<P, F>(
    factory: F,
    cmd: impl AsRef<OsStr>,
) -> io::Result<SubprocessTransport>
where
    P: SubprocessProtocol,
    F: FnOnce() -> P,
{
    subprocess_exec(factory, &mut Command::shell(cmd)).await
}
