//! UDP on WASI 0.2: `wasi:sockets/udp` datagram streams.

use std::cell::RefCell;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::task::Poll;

use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::ErrorCode;
use wasip2::sockets::udp::{
    IncomingDatagramStream, OutgoingDatagram, OutgoingDatagramStream, UdpSocket as WasiUdp,
};
use wasip2::sockets::udp_create_socket::create_udp_socket;

use super::{error, family, first_ok, from_wasi, to_wasi};
use crate::sys::reactor::Registration;
use crate::sys::HOST;

/// The datagram streams of a socket with their pollables (declared first:
/// pollables are dropped before their streams).
struct Streams {
    recv_reg: Registration,
    send_reg: Registration,
    incoming: IncomingDatagramStream,
    outgoing: OutgoingDatagramStream,
    /// The peer given to `udp-socket.stream`, if any.
    peer: Option<SocketAddr>,
}

impl Streams {
    fn open(socket: &WasiUdp, peer: Option<SocketAddr>) -> io::Result<Streams> {
        let (incoming, outgoing) = socket.stream(peer.map(to_wasi)).map_err(|e| {
            let op = match peer {
                Some(p) => format!("connect to {p}"),
                None => "opening the datagram streams".to_string(),
            };
            error(&op, e)
        })?;
        Ok(Streams {
            recv_reg: Registration::new(incoming.subscribe()),
            send_reg: Registration::new(outgoing.subscribe()),
            incoming,
            outgoing,
            peer,
        })
    }
}

/// A UDP socket (asyncio's `create_datagram_endpoint`, as a socket you
/// await on instead of a protocol with callbacks).
///
/// # Examples
///
/// ```no_run
/// # use anyloop_wasi::__doctest as anyloop;
/// # anyloop_wasi::doc_run(async {
/// use anyloop::net::UdpSocket;
/// // wasmtime run -S inherit-network app.wasm
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
    // The streams (children) before the socket. `None` only if reopening
    // them after a failed `connect` failed too.
    streams: RefCell<Option<Streams>>,
    socket: WasiUdp,
    local: SocketAddr,
}

impl UdpSocket {
    /// Binds to the first address of `addr` that can be bound (port 0
    /// picks a free port). Names are resolved synchronously here; pass a
    /// [`SocketAddr`] to avoid it.
    ///
    /// # Errors
    ///
    /// The error of the last address tried (`AddrInUse`,
    /// `PermissionDenied` when the runtime grants no network, ...).
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        first_ok(addr, UdpSocket::bind_addr)
    }

    fn bind_addr(addr: SocketAddr) -> io::Result<UdpSocket> {
        let socket = create_udp_socket(family(addr)).map_err(|e| error("creating a socket", e))?;
        let op = format!("bind {addr}");
        socket
            .start_bind(&instance_network(), to_wasi(addr))
            .map_err(|e| error(&op, e))?;
        loop {
            match socket.finish_bind() {
                Err(ErrorCode::WouldBlock) => socket.subscribe().block(),
                res => break res.map_err(|e| error(&op, e))?,
            }
        }
        let local = socket
            .local_address()
            .map(from_wasi)
            .map_err(|e| error("local address", e))?;
        let streams = RefCell::new(Some(Streams::open(&socket, None)?));
        Ok(UdpSocket {
            streams,
            socket,
            local,
        })
    }

    /// Sets the default peer: [`send`](Self::send) goes there and
    /// [`recv`](Self::recv) only receives from it (`udp-socket.stream`
    /// with a remote address; datagrams not yet received are dropped).
    ///
    /// # Errors
    ///
    /// The runtime's error (`InvalidInput` for an address of the other
    /// family, `PermissionDenied` without network access).
    pub fn connect(&self, addr: SocketAddr) -> io::Result<()> {
        let mut streams = self.streams.borrow_mut();
        // WASI requires the old streams to be gone before `stream` is
        // called again (dropping them wakes their waiters, who retry on
        // the new ones). On failure, unconnected streams are reopened.
        *streams = None;
        match Streams::open(&self.socket, Some(addr)) {
            Ok(s) => {
                *streams = Some(s);
                Ok(())
            }
            Err(e) => {
                *streams = Streams::open(&self.socket, None).ok();
                Err(e)
            }
        }
    }

    fn peer(&self) -> Option<SocketAddr> {
        self.streams.borrow().as_ref().and_then(|s| s.peer)
    }

    /// Sends one datagram to `addr`; returns the bytes sent.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an address the connected socket may not send
    /// to; the runtime's send error.
    pub async fn send_to(&self, buf: &[u8], addr: SocketAddr) -> io::Result<usize> {
        self.send_priv(buf, Some(addr)).await
    }

    /// Receives one datagram; returns its length and sender. A datagram
    /// longer than `buf` is truncated.
    ///
    /// # Errors
    ///
    /// The runtime's receive error.
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: no datagram is lost if the future is dropped.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| {
            let streams = self.streams.borrow();
            let Some(streams) = &*streams else {
                return Poll::Ready(Err(lost_streams()));
            };
            streams.recv_reg.poll_io(cx, || {
                let mut got = streams
                    .incoming
                    .receive(1)
                    .map_err(|e| error("UDP receive", e))?;
                Ok(got.pop().map(|d| {
                    let n = d.data.len().min(buf.len());
                    buf[..n].copy_from_slice(&d.data[..n]);
                    (n, from_wasi(d.remote_address))
                }))
            })
        })
        .await
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// `NotConnected` before [`connect`](Self::connect); the runtime's
    /// send error.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        if self.peer().is_none() {
            return Err(not_connected());
        }
        self.send_priv(buf, None).await
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Errors
    ///
    /// The runtime's receive error.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_from(buf).await.map(|(n, _)| n)
    }

    async fn send_priv(&self, buf: &[u8], to: Option<SocketAddr>) -> io::Result<usize> {
        poll_fn(|cx| {
            let streams = self.streams.borrow();
            let Some(streams) = &*streams else {
                return Poll::Ready(Err(lost_streams()));
            };
            streams.send_reg.poll_io(cx, || {
                let permit = streams
                    .outgoing
                    .check_send()
                    .map_err(|e| error("UDP send", e))?;
                if permit == 0 {
                    return Ok(None);
                }
                // A connected stream takes only its own peer (or none).
                let remote = match (to, streams.peer) {
                    (Some(a), Some(p)) if a == p => None,
                    (a, _) => a.map(to_wasi),
                };
                let datagram = OutgoingDatagram {
                    data: buf.to_vec(),
                    remote_address: remote,
                };
                let op = || match to {
                    Some(a) => format!("UDP send to {a}"),
                    None => "UDP send".to_string(),
                };
                match streams.outgoing.send(&[datagram]) {
                    Ok(0) => Ok(None),
                    Ok(_) => Ok(Some(buf.len())),
                    Err(e) => Err(error(&op(), e)),
                }
            })
        })
        .await
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// None: the address is read once at [`bind`](Self::bind).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }

    /// The connected peer.
    ///
    /// # Errors
    ///
    /// `NotConnected` before [`connect`](Self::connect).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.peer().ok_or_else(not_connected)
    }

    /// Enables sending to broadcast addresses: WASI 0.2 has no such option.
    ///
    /// # Errors
    ///
    /// Always `Unsupported`, naming the option and the host.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        let _ = on;
        Err(anyloop_core::unsupported(
            "UdpSocket::set_broadcast",
            HOST,
            " (wasi:sockets 0.2 has no SO_BROADCAST option)",
        ))
    }
}

fn lost_streams() -> io::Error {
    io::Error::other("the UDP socket lost its datagram streams in a failed connect")
}

fn not_connected() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "the UDP socket is not connected (call UdpSocket::connect first)",
    )
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local_addr", &self.local)
            .field("peer_addr", &self.peer())
            .finish()
    }
}
