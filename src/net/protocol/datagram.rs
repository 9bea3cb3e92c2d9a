//! [`DatagramProtocol`] and [`DatagramTransport`]: UDP with callbacks.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use crate::net::UdpSocket;

/// Largest UDP payload (IPv4: 65,507 bytes; this rounds up).
const MAX_DATAGRAM: usize = 64 * 1024;

/// Datagrams a transport receives before it lets other tasks run.
const RECVS_PER_POLL: usize = 16;

/// asyncio's `asyncio.DatagramProtocol`: callbacks for a UDP endpoint.
///
/// # Examples
///
/// asyncio's "UDP echo server" (the programs are `examples/udp_echo_server.rs`
/// and `examples/udp_echo_client.rs`):
///
/// ```
/// use std::net::SocketAddr;
/// use anyloop::net::{DatagramProtocol, DatagramTransport};
///
/// struct EchoServer(Option<DatagramTransport>);
/// impl DatagramProtocol for EchoServer {
///     fn connection_made(&mut self, t: DatagramTransport) {
///         self.0 = Some(t);
///     }
///     fn datagram_received(&mut self, data: &[u8], addr: SocketAddr) {
///         if let Some(t) = &self.0 {
///             t.sendto(data, Some(addr));
///         }
///     }
/// }
///
/// # anyloop::run(async {
/// let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
/// let t = anyloop::net::create_datagram_endpoint(|| EchoServer(None), Some(local), None).await?;
/// let client = anyloop::net::UdpSocket::bind("127.0.0.1:0")?;
/// client.send_to(b"ping", t.local_addr()?).await?;
/// let mut buf = [0u8; 8];
/// let (n, _) = client.recv_from(&mut buf).await?;
/// assert_eq!(&buf[..n], b"ping");
/// t.close();
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub trait DatagramProtocol: 'static {
    /// The endpoint is ready; keep `transport` to send (asyncio's
    /// `connection_made`).
    fn connection_made(&mut self, transport: DatagramTransport) {
        let _ = transport;
    }

    /// A datagram arrived from `addr` (asyncio's `datagram_received`).
    fn datagram_received(&mut self, data: &[u8], addr: SocketAddr);

    /// A send or receive failed (e.g. `ConnectionRefused` after sending to
    /// a closed port); the endpoint stays open (asyncio's `error_received`).
    fn error_received(&mut self, exc: io::Error) {
        let _ = exc;
    }

    /// The endpoint is closed (asyncio's `connection_lost`); called once,
    /// last.
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        let _ = exc;
    }
}

/// asyncio's `asyncio.DatagramTransport`: sends datagrams for a
/// [`DatagramProtocol`]. Cheap to clone.
///
/// # Examples
///
/// See [`DatagramProtocol`].
#[derive(Clone)]
pub struct DatagramTransport {
    inner: Rc<Inner>,
}

struct Inner {
    st: RefCell<State>,
    local: Option<SocketAddr>,
    peer: Option<SocketAddr>,
}

struct State {
    queue: VecDeque<(Vec<u8>, Option<SocketAddr>)>,
    queued_bytes: usize,
    closing: bool,
    aborted: bool,
    lost: bool,
    waker: Option<Waker>,
}

impl DatagramTransport {
    /// Queues `data` for `addr`, or for the connected peer with `None`
    /// (asyncio's `sendto`). Dropped after [`close`](Self::close); a
    /// failed send goes to `error_received`.
    ///
    /// # Examples
    ///
    /// See [`DatagramProtocol`].
    pub fn sendto(&self, data: &[u8], addr: Option<SocketAddr>) {
        let mut st = self.inner.st.borrow_mut();
        if st.closing || st.lost {
            return;
        }
        st.queued_bytes += data.len();
        st.queue.push_back((data.to_vec(), addr));
        if st.queue.len() == 1 {
            if let Some(w) = &st.waker {
                w.wake_by_ref();
            }
        }
    }

    /// Sends what is queued, then closes; `connection_lost(None)` follows
    /// (asyncio's `close`).
    pub fn close(&self) {
        let mut st = self.inner.st.borrow_mut();
        st.closing = true;
        if let Some(w) = &st.waker {
            w.wake_by_ref();
        }
    }

    /// Closes at once, dropping queued datagrams (asyncio's `abort`).
    pub fn abort(&self) {
        self.inner.st.borrow_mut().aborted = true;
        self.close();
    }

    /// Whether the transport is closing or closed (asyncio's `is_closing`).
    pub fn is_closing(&self) -> bool {
        let st = self.inner.st.borrow();
        st.closing || st.lost
    }

    /// Bytes queued and not yet sent (asyncio's `get_write_buffer_size`).
    #[doc(alias = "get_write_buffer_size")]
    pub fn write_buffer_size(&self) -> usize {
        self.inner.st.borrow().queued_bytes
    }

    /// The bound address (`get_extra_info('sockname')`).
    ///
    /// # Errors
    ///
    /// `NotFound` if the host could not tell.
    #[doc(alias = "get_extra_info")]
    #[doc(alias = "sockname")]
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .local
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no local address"))
    }

    /// The connected peer (`get_extra_info('peername')`), for endpoints
    /// created with a `remote_addr`.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unconnected endpoint.
    #[doc(alias = "peername")]
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .peer
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the endpoint is not connected"))
    }
}

impl fmt::Debug for DatagramTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.st.borrow();
        f.debug_struct("DatagramTransport")
            .field("local", &self.inner.local)
            .field("peer", &self.inner.peer)
            .field("queued", &st.queue.len())
            .field("closing", &st.closing)
            .finish()
    }
}

/// Creates a UDP endpoint bound to `local_addr` (default: an ephemeral
/// port on the wildcard address of `remote_addr`'s family) and connected
/// to `remote_addr` if given, running the protocol `factory()` makes on it:
/// asyncio's `loop.create_datagram_endpoint(protocol_factory, local_addr,
/// remote_addr)`. `connection_made` has run when this returns.
///
/// # Errors
///
/// `Unsupported` on hosts without UDP (WASI p1, web); `InvalidInput`
/// without either address; the OS error of `bind`/`connect`.
///
/// # Examples
///
/// See [`DatagramProtocol`].
pub async fn create_datagram_endpoint<P, F>(
    factory: F,
    local_addr: Option<SocketAddr>,
    remote_addr: Option<SocketAddr>,
) -> io::Result<DatagramTransport>
where
    P: DatagramProtocol,
    F: FnOnce() -> P,
{
    let caps = crate::capabilities();
    if !caps.udp {
        return Err(caps.unsupported("UDP sockets (create_datagram_endpoint)"));
    }
    let local = match (local_addr, remote_addr) {
        (Some(l), _) => l,
        (None, Some(SocketAddr::V4(_))) => "0.0.0.0:0".parse().map_err(io::Error::other)?,
        (None, Some(SocketAddr::V6(_))) => "[::]:0".parse().map_err(io::Error::other)?,
        (None, None) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "create_datagram_endpoint needs a local_addr or a remote_addr",
            ))
        }
    };
    let sock = UdpSocket::bind(local)?;
    if let Some(r) = remote_addr {
        sock.connect(r)?;
    }
    let transport = DatagramTransport {
        inner: Rc::new(Inner {
            st: RefCell::new(State {
                queue: VecDeque::new(),
                queued_bytes: 0,
                closing: false,
                aborted: false,
                lost: false,
                waker: None,
            }),
            local: sock.local_addr().ok(),
            peer: remote_addr,
        }),
    };
    let mut proto = factory();
    proto.connection_made(transport.clone());
    let mut d = Driver {
        sock: Some(sock),
        proto,
        t: transport.clone(),
        buf: vec![0u8; MAX_DATAGRAM],
    };
    crate::task::Builder::new()
        .name("anyloop::net datagram transport")
        .spawn(async move { poll_fn(|cx| d.poll_drive(cx)).await })
        .detach();
    Ok(transport)
}

struct Driver<P: DatagramProtocol> {
    sock: Option<UdpSocket>,
    proto: P,
    t: DatagramTransport,
    buf: Vec<u8>,
}

impl<P: DatagramProtocol> Drop for Driver<P> {
    fn drop(&mut self) {
        self.finish(None);
    }
}

impl<P: DatagramProtocol> Driver<P> {
    fn finish(&mut self, exc: Option<io::Error>) {
        {
            let mut st = self.t.inner.st.borrow_mut();
            if st.lost {
                return;
            }
            st.lost = true;
            st.closing = true;
            st.waker = None;
            st.queue.clear();
            st.queued_bytes = 0;
        }
        drop(self.sock.take());
        self.proto.connection_lost(exc);
    }

    fn poll_drive(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        super::remember_waker(&mut self.t.inner.st.borrow_mut().waker, cx.waker());
        let mut recvs = 0;
        loop {
            let Some(sock) = &self.sock else {
                return Poll::Ready(());
            };
            if self.t.inner.st.borrow().aborted {
                self.finish(None);
                return Poll::Ready(());
            }
            let mut progress = false;
            // Send what is queued, in order.
            let mut send_errors = Vec::new();
            loop {
                let st = self.t.inner.st.borrow();
                let Some((data, addr)) = st.queue.front() else {
                    break;
                };
                let res = match addr {
                    Some(a) => pin!(sock.send_to(data, *a)).poll(cx),
                    None => pin!(sock.send(data)).poll(cx),
                };
                drop(st);
                match res {
                    Poll::Pending => break,
                    Poll::Ready(res) => {
                        let mut st = self.t.inner.st.borrow_mut();
                        if let Some((d, _)) = st.queue.pop_front() {
                            st.queued_bytes -= d.len();
                        }
                        if let Err(e) = res {
                            send_errors.push(e);
                        }
                    }
                }
            }
            for e in send_errors {
                self.proto.error_received(e);
                progress = true;
            }
            let Some(sock) = &self.sock else {
                return Poll::Ready(());
            };
            let (closing, empty) = {
                let st = self.t.inner.st.borrow();
                (st.closing, st.queue.is_empty())
            };
            if closing {
                if empty {
                    self.finish(None);
                    return Poll::Ready(());
                }
            } else {
                if recvs == RECVS_PER_POLL {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                let res = pin!(sock.recv_from(&mut self.buf)).poll(cx);
                match res {
                    Poll::Ready(Ok((n, from))) => {
                        recvs += 1;
                        self.proto.datagram_received(&self.buf[..n], from);
                        progress = true;
                    }
                    Poll::Ready(Err(e)) => {
                        // ICMP errors (port unreachable) and the like: the
                        // endpoint stays open, as in asyncio.
                        recvs += 1;
                        self.proto.error_received(e);
                        progress = true;
                    }
                    Poll::Pending => {}
                }
            }
            if !progress {
                return Poll::Pending;
            }
        }
    }
}
