//! Unix domain sockets on epoll/kqueue.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::{self, SocketAddr};
use std::path::Path;
use std::task::{Context, Poll};

use crate::reactor::{Async, Direction};

/// A listening Unix domain socket (asyncio's `start_unix_server` socket).
///
/// # Examples
///
/// ```
/// # use anyloop_native::__doctest as anyloop;
/// # anyloop_native::doc_run(async {
/// use anyloop::net::{UnixListener, UnixStream};
/// let path = std::env::temp_dir().join(format!("anyloop-doc-{}.sock", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// let listener = UnixListener::bind(&path)?;
/// let client = UnixStream::connect(&path).await?;
/// let (server, _) = listener.accept().await?;
/// client.write_all(b"hi").await?;
/// let mut buf = [0u8; 2];
/// assert_eq!(server.read(&mut buf).await?, 2);
/// std::fs::remove_file(&path)?;
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct UnixListener {
    inner: Async<net::UnixListener>,
}

impl UnixListener {
    /// Binds to the socket file `path` (which must not exist).
    ///
    /// # Errors
    ///
    /// The OS error of `bind`/`listen` (`AddrInUse` if `path` exists).
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        UnixListener::from_std(net::UnixListener::bind(path)?)
    }

    /// Wraps a bound std listener (puts it in non-blocking mode).
    ///
    /// # Errors
    ///
    /// The OS error of registering the socket with the poller.
    pub fn from_std(listener: net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        Ok(UnixListener {
            inner: Async::new_nonblocking(listener)?,
        })
    }

    /// Accepts a connection.
    ///
    /// # Errors
    ///
    /// The OS error of `accept`.
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: dropping the future loses no connection.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection.
    ///
    /// # Errors
    ///
    /// The OS error of `accept`.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        match self.inner.poll_io(Direction::Read, cx, |l| l.accept()) {
            Poll::Ready(Ok((s, a))) => Poll::Ready(UnixStream::from_std(s).map(|s| (s, a))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

/// A Unix domain stream connection; implements `futures-io`'s `AsyncRead`
/// and `AsyncWrite` (also through `&UnixStream`).
///
/// # Examples
///
/// ```
/// # use anyloop_native::__doctest as anyloop;
/// # anyloop_native::doc_run(async {
/// use anyloop::net::UnixStream;
/// let (a, b) = UnixStream::pair()?;
/// a.write_all(b"ping").await?;
/// let mut buf = [0u8; 4];
/// assert_eq!(b.read(&mut buf).await?, 4);
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct UnixStream {
    inner: Async<net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket file `path` with a non-blocking `connect`.
    ///
    /// # Errors
    ///
    /// The OS error of `connect` (`NotFound`, `ConnectionRefused`).
    pub async fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
        let addr = SocketAddrUnix::new(path.as_ref())?;
        let fd = rustix::net::socket_with(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
            None,
        )?;
        let pending = match rustix::net::connect(&fd, &addr) {
            Ok(()) => false,
            Err(e) if e == rustix::io::Errno::INPROGRESS || e == rustix::io::Errno::AGAIN => true,
            Err(e) => return Err(e.into()),
        };
        let inner = Async::new_nonblocking(net::UnixStream::from(fd))?;
        if pending {
            inner.ready(Direction::Write).await?;
            if let Err(e) = rustix::net::sockopt::socket_error(inner.get_ref())? {
                return Err(e.into());
            }
        }
        Ok(UnixStream { inner })
    }

    /// A connected pair of sockets (`socketpair`).
    ///
    /// # Errors
    ///
    /// The OS error of `socketpair`.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = net::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    /// Wraps a connected std stream (puts it in non-blocking mode).
    ///
    /// # Errors
    ///
    /// The OS error of registering the socket with the poller.
    pub fn from_std(stream: net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        Ok(UnixStream {
            inner: Async::new_nonblocking(stream)?,
        })
    }

    /// Reads into `buf`; `Ok(0)` at end of stream.
    ///
    /// # Errors
    ///
    /// The OS error of `read`.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_stream(buf).await
    }

    /// Writes some of `buf`.
    ///
    /// # Errors
    ///
    /// The OS error of `write`.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_stream(buf).await
    }

    /// Writes all of `buf`.
    ///
    /// # Errors
    ///
    /// The OS error of `write`; `WriteZero` if the socket accepts nothing.
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all_stream(buf).await
    }

    /// Shuts down one or both directions.
    ///
    /// # Errors
    ///
    /// The OS error of `shutdown`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// The remote address.
    ///
    /// # Errors
    ///
    /// The OS error of `getpeername`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The underlying std stream (non-blocking).
    pub fn get_ref(&self) -> &net::UnixStream {
        self.inner.get_ref()
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

stream_io_traits!(UnixStream);
