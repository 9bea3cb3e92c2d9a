//! Socket types for hosts that lack them: the same API, every constructor
//! returns `io::ErrorKind::Unsupported` naming the feature and the host.
//! Written once for every such host: TCP in the browser (a page cannot
//! open raw sockets: use `fetch` or a `WebSocket` through JS promises),
//! UDP on WASI preview 1 and in the browser, Unix sockets wherever they
//! are missing.

use std::convert::Infallible;
use std::fmt;
use std::io;
use std::net::Shutdown;
#[cfg(all(
    target_family = "wasm",
    not(all(target_os = "wasi", target_env = "p2"))
))]
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

fn unsupported(feature: &str) -> io::Error {
    crate::capabilities().unsupported(feature)
}

/// `Debug` and `Drop` for stand-ins (`never: Infallible`): unreachable,
/// as no value exists; the `Drop` is there so that `drop(x)` reads the
/// same on every host.
macro_rules! never_exists {
    ($($ty:ty),*) => {$(
        impl fmt::Debug for $ty {
            fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.never {}
            }
        }

        /// Closes the socket, as on hosts that have one.
        impl Drop for $ty {
            fn drop(&mut self) {
                match self.never {}
            }
        }
    )*};
}

/// `futures-io`'s `AsyncRead` and `AsyncWrite` for a stand-in stream and
/// a shared reference to it, as on hosts that have the stream.
macro_rules! never_io {
    (@impl $t:ty) => {
        impl AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                _: &mut Context<'_>,
                _: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                match self.never {}
            }
        }

        impl AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                _: &mut Context<'_>,
                _: &[u8],
            ) -> Poll<io::Result<usize>> {
                match self.never {}
            }

            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.never {}
            }

            fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.never {}
            }
        }
    };
    ($($ty:ty),*) => {$(
        never_io!(@impl $ty);
        never_io!(@impl &$ty);
    )*};
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub use tcp::{TcpListener, TcpStream};

/// TCP in the browser.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod tcp {
    use super::*;
    use std::net::{self, ToSocketAddrs};

    /// A TCP listener; cannot exist in the browser.
    ///
    /// # Examples
    ///
    /// ```ignore
    /// let err = anyloop::net::TcpListener::bind("127.0.0.1:0").unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
    /// ```
    pub struct TcpListener {
        never: Infallible,
    }

    impl TcpListener {
        /// # Errors
        ///
        /// Always `Unsupported` ("TCP listeners … web").
        pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
            drop(addr);
            Err(unsupported("TCP listeners"))
        }

        /// # Errors
        ///
        /// Always `Unsupported`.
        pub fn from_std(listener: net::TcpListener) -> io::Result<TcpListener> {
            let _ = listener;
            Err(unsupported("TCP listeners"))
        }

        /// Accepts a connection (unreachable: no listener exists).
        pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
            match self.never {}
        }

        /// Polls for a connection (unreachable: no listener exists).
        pub fn poll_accept(
            &self,
            _cx: &mut Context<'_>,
        ) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
            match self.never {}
        }

        /// The bound address (unreachable: no listener exists).
        pub fn local_addr(&self) -> io::Result<SocketAddr> {
            match self.never {}
        }
    }

    /// A TCP connection; cannot exist in the browser.
    pub struct TcpStream {
        never: Infallible,
    }

    impl TcpStream {
        /// # Errors
        ///
        /// Always `Unsupported` ("outgoing TCP connections … web").
        pub async fn connect<A: ToSocketAddrs + Send + 'static>(addr: A) -> io::Result<TcpStream> {
            drop(addr);
            Err(unsupported("outgoing TCP connections"))
        }

        /// # Errors
        ///
        /// Always `Unsupported`.
        pub async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
            let _ = addr;
            Err(unsupported("outgoing TCP connections"))
        }

        /// # Errors
        ///
        /// Always `Unsupported`.
        pub fn from_std(stream: net::TcpStream) -> io::Result<TcpStream> {
            let _ = stream;
            Err(unsupported("TCP streams"))
        }

        /// Reads into `buf` (unreachable: no stream exists).
        pub async fn read(&self, _buf: &mut [u8]) -> io::Result<usize> {
            match self.never {}
        }

        /// Writes some of `buf` (unreachable).
        pub async fn write(&self, _buf: &[u8]) -> io::Result<usize> {
            match self.never {}
        }

        /// Writes all of `buf` (unreachable).
        pub async fn write_all(&self, _buf: &[u8]) -> io::Result<()> {
            match self.never {}
        }

        /// Waits until readable (unreachable).
        pub async fn readable(&self) -> io::Result<()> {
            match self.never {}
        }

        /// Waits until writable (unreachable).
        pub async fn writable(&self) -> io::Result<()> {
            match self.never {}
        }

        /// Shuts down one or both directions (unreachable).
        pub fn shutdown(&self, _how: Shutdown) -> io::Result<()> {
            match self.never {}
        }

        /// The remote address (unreachable).
        pub fn peer_addr(&self) -> io::Result<SocketAddr> {
            match self.never {}
        }

        /// The local address (unreachable).
        pub fn local_addr(&self) -> io::Result<SocketAddr> {
            match self.never {}
        }

        /// Sets `TCP_NODELAY` (unreachable).
        pub fn set_nodelay(&self, _on: bool) -> io::Result<()> {
            match self.never {}
        }

        /// The underlying std stream (unreachable).
        pub fn get_ref(&self) -> &net::TcpStream {
            match self.never {}
        }
    }

    never_exists!(TcpListener, TcpStream);
    never_io!(TcpStream);
}

/// A UDP socket; this host has none (see [`crate::Capabilities::udp`]):
/// [`bind`](Self::bind) returns `Unsupported`.
///
/// # Examples
///
/// ```ignore
/// let err = anyloop::net::UdpSocket::bind("127.0.0.1:0").unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
/// ```
#[cfg(all(
    target_family = "wasm",
    not(all(target_os = "wasi", target_env = "p2"))
))] // natively and on WASI 0.2: real UDP
#[doc(alias = "create_datagram_endpoint")]
pub struct UdpSocket {
    never: Infallible,
}

#[cfg(all(
    target_family = "wasm",
    not(all(target_os = "wasi", target_env = "p2"))
))] // natively and on WASI 0.2: real UDP
impl UdpSocket {
    /// Returns `Unsupported`.
    ///
    /// # Errors
    ///
    /// Always `Unsupported` on this host.
    pub fn bind<A>(_addr: A) -> io::Result<UdpSocket> {
        Err(unsupported("UDP sockets"))
    }

    /// Unreachable: no `UdpSocket` exists on this host.
    ///
    /// # Errors
    ///
    /// Never returns.
    pub fn connect(&self, _addr: SocketAddr) -> io::Result<()> {
        match self.never {}
    }

    /// Unreachable: no `UdpSocket` exists on this host.
    ///
    /// # Errors
    ///
    /// Never returns.
    pub async fn send_to(&self, _buf: &[u8], _addr: SocketAddr) -> io::Result<usize> {
        match self.never {}
    }

    /// Unreachable: no `UdpSocket` exists on this host.
    ///
    /// # Errors
    ///
    /// Never returns.
    pub async fn recv_from(&self, _buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        match self.never {}
    }

    /// Unreachable: no `UdpSocket` exists on this host.
    ///
    /// # Errors
    ///
    /// Never returns.
    pub async fn send(&self, _buf: &[u8]) -> io::Result<usize> {
        match self.never {}
    }

    /// Unreachable: no `UdpSocket` exists on this host.
    ///
    /// # Errors
    ///
    /// Never returns.
    pub async fn recv(&self, _buf: &mut [u8]) -> io::Result<usize> {
        match self.never {}
    }

    /// Unreachable: no `UdpSocket` exists on this host.
    ///
    /// # Errors
    ///
    /// Never returns.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match self.never {}
    }

    /// Unreachable: no `UdpSocket` exists on this host.
    ///
    /// # Errors
    ///
    /// Never returns.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        match self.never {}
    }

    /// Unreachable: no `UdpSocket` exists on this host.
    ///
    /// # Errors
    ///
    /// Never returns.
    pub fn set_broadcast(&self, _on: bool) -> io::Result<()> {
        match self.never {}
    }
}

#[cfg(all(
    target_family = "wasm",
    not(all(target_os = "wasi", target_env = "p2"))
))] // natively and on WASI 0.2: real UDP
never_exists!(UdpSocket);

/// The address of a Unix socket peer; never constructed on this host.
pub struct UnixSocketAddr {
    never: Infallible,
}

impl fmt::Debug for UnixSocketAddr {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.never {}
    }
}

/// A Unix domain socket listener; this host has none (see
/// [`crate::Capabilities::unix_sockets`]): [`bind`](Self::bind) returns
/// `Unsupported`.
///
/// # Examples
///
/// ```ignore
/// let err = anyloop::net::UnixListener::bind("/tmp/x.sock").unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
/// ```
pub struct UnixListener {
    never: Infallible,
}

impl UnixListener {
    /// Returns `Unsupported`.
    ///
    /// # Errors
    ///
    /// Always `Unsupported` on this host.
    pub fn bind<P: AsRef<Path>>(_path: P) -> io::Result<UnixListener> {
        Err(unsupported("Unix domain sockets"))
    }

    /// Unreachable: no `UnixListener` exists on this host.
    ///
    /// # Errors
    ///
    /// Never returns.
    pub async fn accept(&self) -> io::Result<(UnixStream, UnixSocketAddr)> {
        match self.never {}
    }

    /// Unreachable: no `UnixListener` exists on this host.
    ///
    /// # Errors
    ///
    /// Never returns.
    pub fn poll_accept(
        &self,
        _cx: &mut Context<'_>,
    ) -> Poll<io::Result<(UnixStream, UnixSocketAddr)>> {
        match self.never {}
    }
}

/// A Unix domain stream; this host has none (see
/// [`crate::Capabilities::unix_sockets`]): [`connect`](Self::connect)
/// returns `Unsupported`.
///
/// # Examples
///
/// ```ignore
/// # anyloop::run(async {
/// let err = anyloop::net::UnixStream::connect("/tmp/x.sock").await.unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
/// # });
/// ```
pub struct UnixStream {
    never: Infallible,
}

impl UnixStream {
    /// Returns `Unsupported`.
    ///
    /// # Errors
    ///
    /// Always `Unsupported` on this host.
    pub async fn connect<P: AsRef<Path>>(_path: P) -> io::Result<UnixStream> {
        Err(unsupported("Unix domain sockets"))
    }

    /// Returns `Unsupported`.
    ///
    /// # Errors
    ///
    /// Always `Unsupported` on this host.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        Err(unsupported("Unix domain sockets"))
    }

    /// Unreachable: no `UnixStream` exists on this host.
    ///
    /// # Errors
    ///
    /// Never returns.
    pub async fn read(&self, _buf: &mut [u8]) -> io::Result<usize> {
        match self.never {}
    }

    /// Unreachable: no `UnixStream` exists on this host.
    ///
    /// # Errors
    ///
    /// Never returns.
    pub async fn write(&self, _buf: &[u8]) -> io::Result<usize> {
        match self.never {}
    }

    /// Unreachable: no `UnixStream` exists on this host.
    ///
    /// # Errors
    ///
    /// Never returns.
    pub async fn write_all(&self, _buf: &[u8]) -> io::Result<()> {
        match self.never {}
    }

    /// Unreachable: no `UnixStream` exists on this host.
    ///
    /// # Errors
    ///
    /// Never returns.
    pub fn shutdown(&self, _how: Shutdown) -> io::Result<()> {
        match self.never {}
    }
}

never_exists!(UnixListener, UnixStream);
never_io!(UnixStream);
