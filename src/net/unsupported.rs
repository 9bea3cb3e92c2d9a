//! Socket types for hosts that lack them: the same API, every constructor
//! returns `io::ErrorKind::Unsupported` naming the feature and the host.

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
impl fmt::Debug for UdpSocket {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.never {}
    }
}

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

impl fmt::Debug for UnixListener {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

impl fmt::Debug for UnixStream {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.never {}
    }
}

impl AsyncRead for &UnixStream {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        _buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.never {}
    }
}

impl AsyncWrite for &UnixStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        _buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.never {}
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.never {}
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.never {}
    }
}

/// Closes the socket, as on hosts that have one (so `drop(x)` reads the
/// same on every host).
#[cfg(all(
    target_family = "wasm",
    not(all(target_os = "wasi", target_env = "p2"))
))] // natively and on WASI 0.2: real UDP
impl Drop for UdpSocket {
    fn drop(&mut self) {
        match self.never {}
    }
}

/// Closes the socket, as on hosts that have one (so `drop(x)` reads the
/// same on every host).
impl Drop for UnixListener {
    fn drop(&mut self) {
        match self.never {}
    }
}

/// Closes the socket, as on hosts that have one (so `drop(x)` reads the
/// same on every host).
impl Drop for UnixStream {
    fn drop(&mut self) {
        match self.never {}
    }
}
