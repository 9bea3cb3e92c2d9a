//! Sockets on epoll/kqueue: [`TcpListener`], [`TcpStream`], [`UdpSocket`],
//! and on Unix [`UnixListener`], [`UnixStream`].

/// `futures-io`'s `AsyncRead`/`AsyncWrite` for a stream type with an
/// `inner: Async<_>` of a std stream and a `shutdown(Shutdown)` method, on
/// both the type and a shared reference to it (so that one task can read
/// while another writes).
macro_rules! stream_io_traits {
    ($ty:ty) => {
        impl ::futures_io::AsyncRead for &$ty {
            fn poll_read(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &mut [u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                self.inner.poll_read_stream(cx, buf)
            }
        }

        impl ::futures_io::AsyncWrite for &$ty {
            fn poll_write(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &[u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                self.inner.poll_write_stream(cx, buf)
            }

            /// One `writev`/`sendmsg` for all of `bufs` (a TLS stream
            /// hands over its queued records at once: one TCP segment
            /// instead of one per record).
            fn poll_write_vectored(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                bufs: &[::std::io::IoSlice<'_>],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                self.inner.poll_write_stream_vectored(cx, bufs)
            }

            fn poll_flush(
                self: ::std::pin::Pin<&mut Self>,
                _cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: ::std::pin::Pin<&mut Self>,
                _cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::task::Poll::Ready(self.shutdown(::std::net::Shutdown::Write))
            }
        }

        impl ::futures_io::AsyncRead for $ty {
            fn poll_read(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &mut [u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                ::std::pin::Pin::new(&mut &*self).poll_read(cx, buf)
            }
        }

        impl ::futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &[u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                ::std::pin::Pin::new(&mut &*self).poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                bufs: &[::std::io::IoSlice<'_>],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                ::std::pin::Pin::new(&mut &*self).poll_write_vectored(cx, bufs)
            }

            fn poll_flush(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::pin::Pin::new(&mut &*self).poll_flush(cx)
            }

            fn poll_close(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::pin::Pin::new(&mut &*self).poll_close(cx)
            }
        }
    };
}

mod udp;
#[cfg(unix)]
mod unix;

pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixListener, UnixStream};

use std::fmt;
use std::io;
use std::net::{self, Shutdown, SocketAddr, ToSocketAddrs};
use std::task::{Context, Poll};

use crate::reactor::{Async, Direction};
use crate::sys::OwnedSource;

/// Listen backlog of [`TcpListener::bind`] (tokio and asyncio's
/// `start_server` use similar values; the kernel caps it at `somaxconn`).
pub const LISTEN_BACKLOG: i32 = 1024;

/// A non-blocking, close-on-exec TCP socket of `addr`'s family.
#[cfg(unix)]
fn tcp_socket(addr: SocketAddr) -> io::Result<OwnedSource> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    let family = if addr.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    Ok(rustix::net::socket_with(
        family,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?)
}

/// A non-blocking, non-inheritable TCP socket of `addr`'s family (what
/// std's sockets are on Windows: `WSASocketW` with
/// `WSA_FLAG_NO_HANDLE_INHERIT`, so child processes do not inherit it).
#[cfg(windows)]
fn tcp_socket(addr: SocketAddr) -> io::Result<OwnedSource> {
    use std::os::windows::io::FromRawSocket;
    use windows_sys::Win32::Networking::WinSock::{
        WSASocketW, AF_INET, AF_INET6, INVALID_SOCKET, IPPROTO_TCP, SOCK_STREAM,
        WSA_FLAG_NO_HANDLE_INHERIT, WSA_FLAG_OVERLAPPED,
    };
    wsa_startup()?;
    let family = if addr.is_ipv4() { AF_INET } else { AF_INET6 };
    // SAFETY: plain arguments and no protocol-info pointer (null is allowed).
    let raw = unsafe {
        WSASocketW(
            family.into(),
            SOCK_STREAM,
            IPPROTO_TCP,
            std::ptr::null(),
            0,
            WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT,
        )
    };
    if raw == INVALID_SOCKET {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a socket this call just created and owns alone.
    let socket = unsafe { OwnedSource::from_raw_socket(raw as _) };
    rustix::io::ioctl_fionbio(&socket, true)?;
    Ok(socket)
}

/// Initializes Winsock once for this process (std does the same lazily
/// before its first socket call; sockets made here come before any).
#[cfg(windows)]
fn wsa_startup() -> io::Result<()> {
    static STARTED: std::sync::OnceLock<Result<(), i32>> = std::sync::OnceLock::new();
    let res = STARTED.get_or_init(|| {
        // Never cleaned up: Winsock lives as long as the process, as with std.
        rustix::net::wsa_startup()
            .map(drop)
            .map_err(|e| e.raw_os_error())
    });
    res.map_err(io::Error::from_raw_os_error)
}

/// A TCP listening socket (asyncio's `Server` socket).
///
/// # Examples
///
/// ```no_run
/// # use anyloop_native::__doctest as anyloop;
/// # anyloop_native::doc_run(async {
/// use anyloop::net::TcpListener;
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let (stream, peer) = listener.accept().await?;
/// # drop((stream, peer));
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct TcpListener {
    inner: Async<net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (port 0 picks a free port).
    ///
    /// # Errors
    ///
    /// The OS error of `bind`/`listen`.
    ///
    /// Tries each resolved address in order (resolution is synchronous
    /// here; pass a [`SocketAddr`] to avoid it). The listen backlog is
    /// [`LISTEN_BACKLOG`] (capped by the kernel's `somaxconn`), so bursts of
    /// connections are not dropped while the loop is busy.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let mut last = None;
        for a in addr.to_socket_addrs()? {
            match TcpListener::bind_addr(a) {
                Ok(l) => return Ok(l),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "address resolved to no socket address",
            )
        }))
    }

    /// Binds to one socket address (`SO_REUSEADDR`, backlog [`LISTEN_BACKLOG`]).
    pub fn bind_addr(addr: SocketAddr) -> io::Result<TcpListener> {
        let fd = tcp_socket(addr)?;
        // Windows' SO_REUSEADDR lets another socket steal the port; its
        // default already allows rebinding a port in TIME_WAIT.
        #[cfg(unix)]
        rustix::net::sockopt::set_socket_reuseaddr(&fd, true)?;
        if addr.is_ipv6() {
            // Like asyncio: an IPv6 listener does not also take IPv4.
            rustix::net::sockopt::set_ipv6_v6only(&fd, true)?;
        }
        rustix::net::bind(&fd, &addr)?;
        rustix::net::listen(&fd, LISTEN_BACKLOG)?;
        TcpListener::from_std(net::TcpListener::from(fd))
    }

    /// Wraps a bound std listener (puts it in non-blocking mode).
    pub fn from_std(listener: net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener {
            inner: Async::new_nonblocking(listener)?,
        })
    }

    /// Accepts a connection.
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: dropping the future loses no connection.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        match self.inner.poll_io(Direction::Read, cx, accept_nonblocking) {
            Poll::Ready(Ok((s, a))) => Poll::Ready(TcpStream::from_nonblocking(s).map(|s| (s, a))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

/// Accepts a connection that is non-blocking and close-on-exec from the
/// start: one `accept4(SOCK_NONBLOCK | SOCK_CLOEXEC)`, no `ioctl(FIONBIO)`
/// after it (tokio's and mio's way on Linux).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn accept_nonblocking(l: &net::TcpListener) -> io::Result<(net::TcpStream, SocketAddr)> {
    use rustix::net::SocketFlags;
    let (fd, addr) = rustix::net::acceptfrom_with(l, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC)?;
    let addr = addr
        .and_then(|a| SocketAddr::try_from(a).ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "accept returned no IP address for a TCP connection",
            )
        })?;
    Ok((net::TcpStream::from(fd), addr))
}

/// Elsewhere: std's `accept` (close-on-exec or non-inheritable), then
/// non-blocking mode.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn accept_nonblocking(l: &net::TcpListener) -> io::Result<(net::TcpStream, SocketAddr)> {
    let (s, a) = l.accept()?;
    s.set_nonblocking(true)?;
    Ok((s, a))
}

/// A TCP connection; implements `futures-io`'s `AsyncRead` and `AsyncWrite`.
pub struct TcpStream {
    inner: Async<net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each resolved address in order.
    ///
    /// Name resolution runs on the blocking pool, never on the loop.
    ///
    /// # Errors
    ///
    /// The last connection error, or `InvalidInput` if `addr` resolves to nothing.
    pub async fn connect<A: ToSocketAddrs + Send + 'static>(addr: A) -> io::Result<TcpStream> {
        let addrs: Vec<SocketAddr> =
            crate::blocking::unblock(move || addr.to_socket_addrs().map(Iterator::collect)).await?;
        let mut last = None;
        for a in addrs {
            match TcpStream::connect_addr(a).await {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "address resolved to no socket address",
            )
        }))
    }

    /// Connects to one socket address with a non-blocking `connect`.
    pub async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let fd = tcp_socket(addr)?;
        match rustix::net::connect(&fd, &addr) {
            Ok(()) => {}
            // In progress: EINPROGRESS on Unix, WSAEWOULDBLOCK on Windows.
            Err(e) if e == rustix::io::Errno::INPROGRESS || e == rustix::io::Errno::WOULDBLOCK => {}
            Err(e) => return Err(e.into()),
        }
        let stream = net::TcpStream::from(fd);
        let inner = Async::new_nonblocking(stream)?;
        // epoll reports a connecting socket writable only once the
        // connection is established or has failed (then `SO_ERROR` says
        // why), as mio and tokio rely on: wait for that event, and no
        // `getpeername` to confirm it.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            inner.event(Direction::Write).await?;
            if let Err(e) = rustix::net::sockopt::socket_error(inner.get_ref())? {
                return Err(e.into());
            }
            Ok(TcpStream { inner })
        }
        // Elsewhere a wake-up may come early: confirm with `getpeername`.
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        Self::confirm_connected(inner).await
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    async fn confirm_connected(inner: Async<net::TcpStream>) -> io::Result<TcpStream> {
        inner.ready(Direction::Write).await?;
        loop {
            if let Err(e) = rustix::net::sockopt::socket_error(inner.get_ref())? {
                return Err(e.into());
            }
            match inner.get_ref().peer_addr() {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    inner.ready(Direction::Write).await?
                }
                Err(e) => return Err(e),
            }
        }
        Ok(TcpStream { inner })
    }

    /// Wraps a connected std stream (puts it in non-blocking mode).
    pub fn from_std(stream: net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        Ok(TcpStream {
            inner: Async::new_nonblocking(stream)?,
        })
    }

    /// Wraps a connected stream already in non-blocking mode.
    fn from_nonblocking(stream: net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            inner: Async::new_nonblocking(stream)?,
        })
    }

    /// Reads into `buf`; `Ok(0)` at end of stream.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_stream(buf).await
    }

    /// Writes some of `buf`.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_stream(buf).await
    }

    /// Writes all of `buf`.
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all_stream(buf).await
    }

    /// Waits until the socket is readable.
    pub async fn readable(&self) -> io::Result<()> {
        self.inner.ready(Direction::Read).await
    }

    /// Waits until the socket is writable.
    pub async fn writable(&self) -> io::Result<()> {
        self.inner.ready(Direction::Write).await
    }

    /// Shuts down one or both directions.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.inner.get_ref().set_nodelay(on)
    }

    /// The underlying std stream (non-blocking).
    pub fn get_ref(&self) -> &net::TcpStream {
        self.inner.get_ref()
    }

    /// Deregisters the stream from the reactor and returns the std stream
    /// (still in non-blocking mode).
    ///
    /// # Errors
    ///
    /// The poller's error when deregistering.
    pub fn into_std(self) -> io::Result<net::TcpStream> {
        self.inner.into_inner()
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

stream_io_traits!(TcpStream);
