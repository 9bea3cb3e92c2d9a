//! TCP in the browser: the same types as natively, but a page cannot open
//! raw sockets, so every constructor returns `io::ErrorKind::Unsupported`
//! (use `fetch` or a `WebSocket` through JS promises instead).

use std::convert::Infallible;
use std::fmt;
use std::io;
use std::net::{self, Shutdown, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::CAPABILITIES;

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
        Err(CAPABILITIES.unsupported("TCP listeners"))
    }

    /// # Errors
    ///
    /// Always `Unsupported`.
    pub fn from_std(listener: net::TcpListener) -> io::Result<TcpListener> {
        let _ = listener;
        Err(CAPABILITIES.unsupported("TCP listeners"))
    }

    /// Accepts a connection (unreachable: no listener exists).
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        match self.never {}
    }

    /// Polls for a connection (unreachable: no listener exists).
    pub fn poll_accept(&self, _cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        match self.never {}
    }

    /// The bound address (unreachable: no listener exists).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match self.never {}
    }
}

/// Closes the socket, as natively (so `drop(x)` reads the same on every host).
impl Drop for TcpListener {
    fn drop(&mut self) {
        match self.never {}
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
        Err(CAPABILITIES.unsupported("outgoing TCP connections"))
    }

    /// # Errors
    ///
    /// Always `Unsupported`.
    pub async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let _ = addr;
        Err(CAPABILITIES.unsupported("outgoing TCP connections"))
    }

    /// # Errors
    ///
    /// Always `Unsupported`.
    pub fn from_std(stream: net::TcpStream) -> io::Result<TcpStream> {
        let _ = stream;
        Err(CAPABILITIES.unsupported("TCP streams"))
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

/// Closes the socket, as natively (so `drop(x)` reads the same on every host).
impl Drop for TcpStream {
    fn drop(&mut self) {
        match self.never {}
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, _f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.never {}
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.never {}
    }
}

impl AsyncRead for &TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.never {}
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
        match self.never {}
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.never {}
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.never {}
    }
}

impl AsyncWrite for &TcpStream {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
        match self.never {}
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.never {}
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.never {}
    }
}
