//! UDP on epoll/kqueue.

use std::fmt;
use std::io;
use std::net::{self, SocketAddr, ToSocketAddrs};

use crate::reactor::{Async, Direction};

/// A UDP socket (asyncio's `create_datagram_endpoint`, as a socket you
/// await on instead of a protocol with callbacks).
///
/// # Examples
///
/// ```
/// # use anyloop_native::__doctest as anyloop;
/// # anyloop_native::doc_run(async {
/// use anyloop::net::UdpSocket;
/// let a = UdpSocket::bind("127.0.0.1:0")?;
/// let b = UdpSocket::bind("127.0.0.1:0")?;
/// a.send_to(b"ping", b.local_addr()?).await?;
/// let mut buf = [0u8; 16];
/// let (n, from) = b.recv_from(&mut buf).await?;
/// assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[doc(alias = "create_datagram_endpoint")]
pub struct UdpSocket {
    inner: Async<net::UdpSocket>,
}

impl UdpSocket {
    /// Binds to `addr` (port 0 picks a free port). Name resolution is
    /// synchronous here; pass a [`SocketAddr`] to avoid it.
    ///
    /// # Errors
    ///
    /// The OS error of `bind`.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        let socket = net::UdpSocket::bind(addr)?;
        UdpSocket::from_std(socket)
    }

    /// Wraps a bound std socket (puts it in non-blocking mode).
    ///
    /// # Errors
    ///
    /// The OS error of registering the socket with the poller.
    pub fn from_std(socket: net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket {
            inner: Async::new_nonblocking(socket)?,
        })
    }

    /// Sets the default peer: [`send`](Self::send) goes there and
    /// [`recv`](Self::recv) only receives from it.
    ///
    /// # Errors
    ///
    /// The OS error of `connect`.
    pub fn connect(&self, addr: SocketAddr) -> io::Result<()> {
        self.inner.get_ref().connect(addr)
    }

    /// Sends one datagram to `addr`; returns the bytes sent.
    ///
    /// # Errors
    ///
    /// The OS error of `sendto`.
    pub async fn send_to(&self, buf: &[u8], addr: SocketAddr) -> io::Result<usize> {
        self.inner
            .io(Direction::Write, |s| s.send_to(buf, addr))
            .await
    }

    /// Receives one datagram; returns its length and sender. A datagram
    /// longer than `buf` is truncated.
    ///
    /// # Errors
    ///
    /// The OS error of `recvfrom`.
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: no datagram is lost if the future is dropped.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.io(Direction::Read, |s| s.recv_from(buf)).await
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// `NotConnected` before [`connect`](Self::connect); the OS error of `send`.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.io(Direction::Write, |s| s.send(buf)).await
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Errors
    ///
    /// The OS error of `recv` (e.g. `ConnectionRefused` after an ICMP
    /// port-unreachable on Linux).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.io(Direction::Read, |s| s.recv(buf)).await
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The connected peer.
    ///
    /// # Errors
    ///
    /// `NotConnected` before [`connect`](Self::connect).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// Enables sending to broadcast addresses.
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.inner.get_ref().set_broadcast(on)
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
