//! TCP on WASI preview 1: listeners preopened by the runtime.
//!
//! WASI preview 1 cannot create sockets: there is no `bind`, `listen` or
//! `connect`. A runtime can hand a program listening sockets instead:
//!
//! ```text
//! wasmtime run -S preview2=n -S tcplisten=127.0.0.1:8080 app.wasm
//! ```
//!
//! [`TcpListener::from_preopened`] finds such a listener (fd 3 or the next
//! descriptor after the preopened directories); `accept`, reads and writes
//! then work as natively (`sock_accept`, `sock_recv`, `sock_send` on
//! non-blocking descriptors, readiness through the loop's `poll_oneoff`).
//! [`TcpListener::bind`] and [`TcpStream::connect`] return
//! `io::ErrorKind::Unsupported` naming the preopen alternative.

use std::cell::RefCell;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4, ToSocketAddrs};
use std::task::{Context, Poll};

use wasi::Fd;

use super::reactor::{self, Direction};
use super::HOST;

/// How to get a listener on WASI preview 1, appended to `Unsupported` errors.
const PREOPEN_HINT: &str = "; WASI preview 1 programs can only use listening sockets the runtime \
     preopens: run `wasmtime run -S preview2=n -S tcplisten=127.0.0.1:PORT app.wasm` and use \
     `TcpListener::from_preopened()`";

/// The peer address WASI preview 1 reports for accepted connections (it has
/// no `getpeername`).
const UNKNOWN_ADDR: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));

/// Highest descriptor probed for preopened listeners.
const MAX_PROBE_FD: Fd = 64;

thread_local! {
    /// Preopened listener descriptors found at the first probe, and whether
    /// each has been taken by a `TcpListener` (which owns and closes it).
    static PREOPENED: RefCell<Option<Vec<(Fd, bool)>>> = const { RefCell::new(None) };
}

/// The preopened listening sockets: stream-socket descriptors from fd 3 on,
/// probed with `fd_fdstat_get` until the first closed descriptor.
fn probe_preopened() -> Vec<(Fd, bool)> {
    let mut found = Vec::new();
    for fd in 3..MAX_PROBE_FD {
        // SAFETY: `fd_fdstat_get` only reads the descriptor table and
        // writes its out-parameter, which the `wasi` crate manages.
        match unsafe { wasi::fd_fdstat_get(fd) } {
            Ok(st) if st.fs_filetype == wasi::FILETYPE_SOCKET_STREAM => found.push((fd, false)),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    found
}

/// An owned descriptor, closed on drop (after its interests are dropped).
struct OwnedFd(Fd);

impl Drop for OwnedFd {
    fn drop(&mut self) {
        reactor::forget(self.0);
        // SAFETY: this `OwnedFd` is the only owner of the descriptor; nothing
        // uses it after this point. A close error has no one to report to.
        let _ = unsafe { wasi::fd_close(self.0) };
    }
}

fn set_nonblocking(fd: Fd) -> io::Result<()> {
    // SAFETY: fdstat calls only touch the descriptor table; `fd` is open.
    let st = unsafe { wasi::fd_fdstat_get(fd) }.map_err(reactor::errno)?;
    if st.fs_flags & wasi::FDFLAGS_NONBLOCK == 0 {
        // SAFETY: as above.
        unsafe { wasi::fd_fdstat_set_flags(fd, st.fs_flags | wasi::FDFLAGS_NONBLOCK) }
            .map_err(reactor::errno)?;
    }
    Ok(())
}

/// A TCP listening socket. On WASI preview 1 only listeners preopened by
/// the runtime exist: see [`TcpListener::from_preopened`].
///
/// # Examples
///
/// ```no_run
/// # use anyloop_wasi::__doctest as anyloop;
/// # anyloop_wasi::doc_run(async {
/// use anyloop::net::TcpListener;
/// // wasmtime run -S preview2=n -S tcplisten=127.0.0.1:8080 app.wasm
/// let listener = TcpListener::from_preopened()?;
/// let (stream, _) = listener.accept().await?;
/// stream.write_all(b"hello\n").await?;
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct TcpListener {
    fd: OwnedFd,
}

impl TcpListener {
    /// Creating listeners is not possible on WASI preview 1.
    ///
    /// # Errors
    ///
    /// Always `io::ErrorKind::Unsupported`, with a message naming the
    /// feature, the host and the preopen alternative
    /// ([`from_preopened`](Self::from_preopened)).
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let _ = addr;
        Err(anyloop_core::unsupported(
            "TcpListener::bind (creating TCP listeners)",
            HOST,
            PREOPEN_HINT,
        ))
    }

    /// The first listening socket preopened by the runtime
    /// (`wasmtime run -S preview2=n -S tcplisten=ADDR`): `preopened(0)`.
    ///
    /// # Errors
    ///
    /// `NotFound` if the runtime preopened no listener, `AlreadyExists` if a
    /// `TcpListener` already owns it.
    pub fn from_preopened() -> io::Result<TcpListener> {
        TcpListener::preopened(0)
    }

    /// The `n`-th (0-based) listening socket preopened by the runtime, in
    /// descriptor order (one per `-S tcplisten=...`).
    ///
    /// # Errors
    ///
    /// `NotFound` if there are not that many preopened listeners,
    /// `AlreadyExists` if a `TcpListener` already owns this one, or the
    /// error of making it non-blocking.
    pub fn preopened(n: usize) -> io::Result<TcpListener> {
        let fd = PREOPENED.with(|p| {
            let mut p = p.borrow_mut();
            let list = p.get_or_insert_with(probe_preopened);
            let count = list.len();
            match list.get_mut(n) {
                None => Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!(
                        "no preopened TCP listener #{n} (the runtime preopened {count}); \
                         run `wasmtime run -S preview2=n -S tcplisten=127.0.0.1:PORT app.wasm`"
                    ),
                )),
                Some((_, true)) => Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("preopened TCP listener #{n} is already owned by a TcpListener"),
                )),
                Some((fd, taken)) => {
                    *taken = true;
                    Ok(*fd)
                }
            }
        })?;
        let listener = TcpListener { fd: OwnedFd(fd) };
        set_nonblocking(fd)?;
        Ok(listener)
    }

    /// Accepts a connection. WASI preview 1 has no `getpeername`, so the
    /// returned address is always `0.0.0.0:0`.
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: dropping the future loses no connection.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection (see [`accept`](Self::accept)).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let fd = self.fd.0;
        reactor::poll_io(fd, Direction::Read, cx, || {
            // SAFETY: `fd` is open while `self` lives; the new descriptor
            // is owned by the returned `TcpStream`.
            unsafe { wasi::sock_accept(fd, wasi::FDFLAGS_NONBLOCK) }
        })
        .map_ok(|fd| (TcpStream { fd: OwnedFd(fd) }, UNKNOWN_ADDR))
    }

    /// The bound address: not available on WASI preview 1.
    ///
    /// # Errors
    ///
    /// Always `Unsupported` (preview 1 has no `getsockname`).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Err(anyloop_core::unsupported(
            "TcpListener::local_addr",
            HOST,
            " (WASI preview 1 has no getsockname)",
        ))
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("fd", &self.fd.0)
            .finish()
    }
}

/// A TCP connection accepted from a preopened listener; implements
/// `futures-io`'s `AsyncRead` and `AsyncWrite`.
pub struct TcpStream {
    fd: OwnedFd,
}

impl TcpStream {
    /// Outgoing connections are not possible on WASI preview 1.
    ///
    /// # Errors
    ///
    /// Always `io::ErrorKind::Unsupported`, naming the feature, the host and
    /// the alternative (serve a preopened listener instead).
    pub async fn connect<A: ToSocketAddrs + Send + 'static>(addr: A) -> io::Result<TcpStream> {
        let _ = addr;
        Err(connect_unsupported())
    }

    /// Outgoing connections are not possible on WASI preview 1.
    ///
    /// # Errors
    ///
    /// Always `io::ErrorKind::Unsupported` (see [`connect`](Self::connect)).
    pub async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let _ = addr;
        Err(connect_unsupported())
    }

    fn poll_read_priv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let fd = self.fd.0;
        reactor::poll_io(fd, Direction::Read, cx, || {
            let iov = wasi::Iovec {
                buf: buf.as_mut_ptr(),
                buf_len: buf.len(),
            };
            // SAFETY: `iov` describes `buf`, which is valid for writes of
            // its length for the duration of the call; `fd` is open.
            unsafe { wasi::sock_recv(fd, &[iov], 0) }.map(|(n, _)| n)
        })
    }

    fn poll_flush_priv(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close_priv(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(Shutdown::Write))
    }

    fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let fd = self.fd.0;
        reactor::poll_io(fd, Direction::Write, cx, || {
            let iov = wasi::Ciovec {
                buf: buf.as_ptr(),
                buf_len: buf.len(),
            };
            // SAFETY: `iov` describes `buf`, valid for reads of its length
            // for the duration of the call; `fd` is open.
            unsafe { wasi::sock_send(fd, &[iov], 0) }
        })
    }

    /// Waits until the socket is readable.
    pub async fn readable(&self) -> io::Result<()> {
        self.ready(Direction::Read).await
    }

    /// Waits until the socket is writable.
    pub async fn writable(&self) -> io::Result<()> {
        self.ready(Direction::Write).await
    }

    async fn ready(&self, dir: Direction) -> io::Result<()> {
        let fd = self.fd.0;
        poll_fn(|cx| reactor::poll_ready(fd, dir, cx)).await;
        Ok(())
    }

    /// Shuts down one or both directions (`sock_shutdown`).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let flags = match how {
            Shutdown::Read => wasi::SDFLAGS_RD,
            Shutdown::Write => wasi::SDFLAGS_WR,
            Shutdown::Both => wasi::SDFLAGS_RD | wasi::SDFLAGS_WR,
        };
        // SAFETY: `fd` is open while `self` lives.
        unsafe { wasi::sock_shutdown(self.fd.0, flags) }.map_err(reactor::errno)
    }

    /// The remote address: not available on WASI preview 1.
    ///
    /// # Errors
    ///
    /// Always `Unsupported` (preview 1 has no `getpeername`).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Err(anyloop_core::unsupported(
            "TcpStream::peer_addr",
            HOST,
            " (WASI preview 1 has no getpeername)",
        ))
    }

    /// The local address: not available on WASI preview 1.
    ///
    /// # Errors
    ///
    /// Always `Unsupported` (preview 1 has no `getsockname`).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Err(anyloop_core::unsupported(
            "TcpStream::local_addr",
            HOST,
            " (WASI preview 1 has no getsockname)",
        ))
    }

    /// Sets `TCP_NODELAY`: not available on WASI preview 1.
    ///
    /// # Errors
    ///
    /// Always `Unsupported` (preview 1 has no socket options).
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        let _ = on;
        Err(anyloop_core::unsupported(
            "TcpStream::set_nodelay",
            HOST,
            " (WASI preview 1 has no socket options)",
        ))
    }
}

fn connect_unsupported() -> io::Error {
    anyloop_core::unsupported(
        "TcpStream::connect (outgoing TCP connections)",
        HOST,
        " (WASI preview 1 cannot open sockets; serve a listener the runtime preopens \
         instead: `wasmtime run -S preview2=n -S tcplisten=127.0.0.1:PORT app.wasm` \
         and `TcpListener::from_preopened()`)",
    )
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream").field("fd", &self.fd.0).finish()
    }
}

stream_methods!(TcpStream);
