//! Sockets on WASI 0.2 (`wasi:sockets`): [`TcpListener`], [`TcpStream`],
//! [`UdpSocket`] and name lookup ([`lookup_host`]).
//!
//! Every operation is non-blocking; a task that would block waits on the
//! socket's or stream's pollable in the loop's single `poll` call. The
//! runtime decides what the program may reach: under wasmtime, run with
//! `-S inherit-network` (and `-S allow-ip-name-lookup` for names);
//! without it, socket calls fail with `PermissionDenied` errors that say
//! so.

mod udp;

pub use udp::UdpSocket;

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::ToSocketAddrs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::task::{Context, Poll};

use wasip2::io::streams::{InputStream, OutputStream};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup;
use wasip2::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};
use wasip2::sockets::tcp::{ShutdownType, TcpSocket};
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

use super::io::{flush_some, read_some, write_some, StreamFailure};
use super::reactor::{self, Registration};
use super::HOST;

/// Listen backlog of [`TcpListener::bind`] (as natively).
pub const LISTEN_BACKLOG: u64 = 1024;

/// Converts a `wasi:sockets` error code of operation `op` into an
/// `io::Error` of the matching kind.
pub(crate) fn error(op: &str, code: ErrorCode) -> io::Error {
    use io::ErrorKind as K;
    let kind = match code {
        ErrorCode::AccessDenied => K::PermissionDenied,
        ErrorCode::NotSupported => K::Unsupported,
        ErrorCode::InvalidArgument | ErrorCode::DatagramTooLarge => K::InvalidInput,
        ErrorCode::OutOfMemory => K::OutOfMemory,
        ErrorCode::Timeout => K::TimedOut,
        ErrorCode::WouldBlock => K::WouldBlock,
        ErrorCode::AddressNotBindable => K::AddrNotAvailable,
        ErrorCode::AddressInUse => K::AddrInUse,
        ErrorCode::RemoteUnreachable => K::HostUnreachable,
        ErrorCode::ConnectionRefused => K::ConnectionRefused,
        ErrorCode::ConnectionReset => K::ConnectionReset,
        ErrorCode::ConnectionAborted => K::ConnectionAborted,
        ErrorCode::NameUnresolvable => K::NotFound,
        ErrorCode::InvalidState | ErrorCode::NotInProgress => K::InvalidInput,
        _ => K::Other,
    };
    let hint = if code == ErrorCode::AccessDenied {
        " (the WASI runtime did not grant the network: run `wasmtime run -S inherit-network \
         -S allow-ip-name-lookup ...`)"
    } else {
        ""
    };
    // The binding's message: a sentence, then the POSIX equivalents.
    let message = code.message();
    let sentence = message.lines().next().unwrap_or(code.name());
    io::Error::new(kind, format!("{op}: {sentence}{hint}"))
}

/// Converts the error a TCP stream operation left. Stable WASI 0.2 gives
/// stream errors only as text (`network-error-code` is `@unstable`), so
/// the kind comes from the runtime's description of the OS error.
fn stream_error(op: &'static str) -> impl FnOnce(StreamFailure) -> io::Error {
    move |e| {
        let text = e.to_debug_string();
        let lower = text.to_ascii_lowercase();
        let kind = if lower.contains("reset") {
            io::ErrorKind::ConnectionReset
        } else if lower.contains("broken pipe") {
            io::ErrorKind::BrokenPipe
        } else if lower.contains("aborted") {
            io::ErrorKind::ConnectionAborted
        } else if lower.contains("timed out") {
            io::ErrorKind::TimedOut
        } else {
            io::ErrorKind::Other
        };
        io::Error::new(kind, format!("{op}: {text}"))
    }
}

pub(crate) fn to_wasi(addr: SocketAddr) -> IpSocketAddress {
    match addr {
        SocketAddr::V4(a) => {
            let [x, y, z, w] = a.ip().octets();
            IpSocketAddress::Ipv4(Ipv4SocketAddress {
                port: a.port(),
                address: (x, y, z, w),
            })
        }
        SocketAddr::V6(a) => {
            let s = a.ip().segments();
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port: a.port(),
                flow_info: a.flowinfo(),
                address: (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
                scope_id: a.scope_id(),
            })
        }
    }
}

pub(crate) fn from_wasi(addr: IpSocketAddress) -> SocketAddr {
    match addr {
        IpSocketAddress::Ipv4(a) => {
            let (x, y, z, w) = a.address;
            SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(x, y, z, w), a.port))
        }
        IpSocketAddress::Ipv6(a) => {
            let (s0, s1, s2, s3, s4, s5, s6, s7) = a.address;
            SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::new(s0, s1, s2, s3, s4, s5, s6, s7),
                a.port,
                a.flow_info,
                a.scope_id,
            ))
        }
    }
}

fn ip_from_wasi(ip: IpAddress) -> IpAddr {
    match ip {
        IpAddress::Ipv4((x, y, z, w)) => IpAddr::V4(Ipv4Addr::new(x, y, z, w)),
        IpAddress::Ipv6((s0, s1, s2, s3, s4, s5, s6, s7)) => {
            IpAddr::V6(Ipv6Addr::new(s0, s1, s2, s3, s4, s5, s6, s7))
        }
    }
}

pub(crate) fn family(addr: SocketAddr) -> IpAddressFamily {
    match addr {
        SocketAddr::V4(_) => IpAddressFamily::Ipv4,
        SocketAddr::V6(_) => IpAddressFamily::Ipv6,
    }
}

/// The first success of `f` over the addresses `addr` resolves to, else
/// the last error.
pub(crate) fn first_ok<A: ToSocketAddrs, T>(
    addr: A,
    f: impl Fn(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in addr.to_socket_addrs()? {
        match f(a) {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(no_address))
}

fn no_address() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "address resolved to no socket address",
    )
}

/// Finishes a two-phase operation (`finish-bind`, `finish-listen`) that
/// completes locally, waiting on `socket`'s pollable while it would block.
fn finish<T>(
    op: &str,
    subscribe: impl Fn() -> wasip2::io::poll::Pollable,
    mut f: impl FnMut() -> Result<T, ErrorCode>,
) -> io::Result<T> {
    loop {
        match f() {
            Err(ErrorCode::WouldBlock) => subscribe().block(),
            res => return res.map_err(|e| error(op, e)),
        }
    }
}

/// Resolves `host` to socket addresses with port `port`, without blocking
/// the loop (`wasi:sockets/ip-name-lookup`; tokio's `lookup_host`).
///
/// # Errors
///
/// `NotFound` if the name does not exist; `PermissionDenied` if the
/// runtime does not allow name lookups (`wasmtime run -S
/// allow-ip-name-lookup`); `InvalidInput` for an empty or malformed name.
///
/// # Examples
///
/// ```no_run
/// # anyloop_wasi::doc_run(async {
/// let addrs = anyloop_wasi::net::lookup_host("localhost", 80).await?;
/// assert!(addrs.iter().any(|a| a.ip().is_loopback()));
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub async fn lookup_host(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let op = || format!("resolving {host:?}");
    let stream = ip_name_lookup::resolve_addresses(&instance_network(), host)
        .map_err(|e| error(&op(), e))?;
    let reg = Registration::new(stream.subscribe());
    let mut found = Vec::new();
    poll_fn(|cx| {
        reg.poll_io(cx, || loop {
            match stream.resolve_next_address() {
                Ok(Some(ip)) => found.push(SocketAddr::new(ip_from_wasi(ip), port)),
                Ok(None) => return Ok(Some(())),
                Err(ErrorCode::WouldBlock) => return Ok(None),
                Err(e) => return Err(error(&op(), e)),
            }
        })
    })
    .await?;
    if found.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{host:?} resolved to no address"),
        ));
    }
    Ok(found)
}

/// A TCP listening socket.
///
/// # Examples
///
/// ```no_run
/// # use anyloop_wasi::__doctest as anyloop;
/// # anyloop_wasi::doc_run(async {
/// use anyloop::net::TcpListener;
/// // wasmtime run -S inherit-network app.wasm
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let (stream, peer) = listener.accept().await?;
/// # drop((stream, peer));
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct TcpListener {
    // The pollable first: it must be dropped before its socket.
    reg: Registration,
    socket: TcpSocket,
    local: SocketAddr,
}

impl TcpListener {
    /// Binds to the first address of `addr` that can be bound and listens
    /// (port 0 picks a free port). Names are resolved synchronously here;
    /// pass a [`SocketAddr`] to avoid it.
    ///
    /// # Errors
    ///
    /// The error of the last address tried (`AddrInUse`,
    /// `PermissionDenied` when the runtime grants no network, ...).
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        first_ok(addr, TcpListener::bind_addr)
    }

    /// Binds to `addr` and listens (`start-bind`/`finish-bind`,
    /// `start-listen`/`finish-listen`).
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind).
    pub fn bind_addr(addr: SocketAddr) -> io::Result<TcpListener> {
        let socket = create_tcp_socket(family(addr)).map_err(|e| error("creating a socket", e))?;
        let op = format!("bind {addr}");
        socket
            .start_bind(&instance_network(), to_wasi(addr))
            .map_err(|e| error(&op, e))?;
        finish(&op, || socket.subscribe(), || socket.finish_bind())?;
        // Best effort: runtimes may not support it (the default stays).
        let _ = socket.set_listen_backlog_size(LISTEN_BACKLOG);
        let op = format!("listen on {addr}");
        socket.start_listen().map_err(|e| error(&op, e))?;
        finish(&op, || socket.subscribe(), || socket.finish_listen())?;
        let local = socket
            .local_address()
            .map(from_wasi)
            .map_err(|e| error("local address", e))?;
        Ok(TcpListener {
            reg: Registration::new(socket.subscribe()),
            socket,
            local,
        })
    }

    /// Accepts a connection.
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: dropping the future loses no connection.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection (see [`accept`](Self::accept)).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        self.reg.poll_io(cx, || match self.socket.accept() {
            Ok((socket, input, output)) => {
                let stream = TcpStream::new(socket, input, output);
                let peer = stream.peer_addr()?;
                Ok(Some((stream, peer)))
            }
            Err(ErrorCode::WouldBlock) => Ok(None),
            Err(e) => Err(error("accept", e)),
        })
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// None: the address is read once at [`bind`](Self::bind).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.local)
            .finish()
    }
}

/// A TCP connection; implements `futures-io`'s `AsyncRead` and
/// `AsyncWrite` (also on `&TcpStream`, so one task can read while another
/// writes).
pub struct TcpStream {
    /// Always `Some` but in `drop`, which may hand it to the reactor.
    parts: Option<Parts>,
}

/// A connection's resources, in drop order: WASI child resources
/// (pollables, then streams) go before their parents.
struct Parts {
    write_reg: Registration,
    rest: Rest,
}

struct Rest {
    read_reg: Registration,
    input: InputStream,
    output: OutputStream,
    socket: TcpSocket,
}

impl TcpStream {
    fn new(socket: TcpSocket, input: InputStream, output: OutputStream) -> TcpStream {
        TcpStream {
            parts: Some(Parts {
                write_reg: Registration::new(output.subscribe()),
                rest: Rest {
                    read_reg: Registration::new(input.subscribe()),
                    input,
                    output,
                    socket,
                },
            }),
        }
    }

    fn parts(&self) -> &Parts {
        match &self.parts {
            Some(p) => p,
            None => unreachable!("TcpStream used during its drop"),
        }
    }

    fn rest(&self) -> &Rest {
        &self.parts().rest
    }

    /// Connects to `addr`, trying each resolved address in order. Names
    /// are resolved synchronously here (std's resolver); resolve them with
    /// [`lookup_host`] first to keep the loop running meanwhile.
    ///
    /// # Errors
    ///
    /// The last connection error, or `InvalidInput` if `addr` resolves to nothing.
    pub async fn connect<A: ToSocketAddrs + Send + 'static>(addr: A) -> io::Result<TcpStream> {
        let mut last = None;
        for a in addr.to_socket_addrs()? {
            match TcpStream::connect_addr(a).await {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(no_address))
    }

    /// Connects to one socket address (`start-connect`, then
    /// `finish-connect` once the socket's pollable is ready).
    ///
    /// # Errors
    ///
    /// `ConnectionRefused`, `TimedOut`, `HostUnreachable`, or
    /// `PermissionDenied` when the runtime grants no network.
    ///
    /// # Cancellation
    ///
    /// Dropping the future drops the half-open socket.
    pub async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let op = || format!("connect to {addr}");
        let socket = create_tcp_socket(family(addr)).map_err(|e| error("creating a socket", e))?;
        socket
            .start_connect(&instance_network(), to_wasi(addr))
            .map_err(|e| error(&op(), e))?;
        let reg = Registration::new(socket.subscribe());
        let (input, output) = poll_fn(|cx| {
            reg.poll_io(cx, || match socket.finish_connect() {
                Ok(streams) => Ok(Some(streams)),
                Err(ErrorCode::WouldBlock) => Ok(None),
                Err(e) => Err(error(&op(), e)),
            })
        })
        .await?;
        drop(reg);
        Ok(TcpStream::new(socket, input, output))
    }

    fn poll_read_priv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let r = self.rest();
        r.read_reg
            .poll_io(cx, || read_some(&r.input, buf, stream_error("TCP read")))
    }

    fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let p = self.parts();
        p.write_reg.poll_io(cx, || {
            write_some(&p.rest.output, buf, stream_error("TCP write"))
        })
    }

    fn poll_flush_priv(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let p = self.parts();
        p.write_reg
            .poll_io(cx, || flush_some(&p.rest.output, stream_error("TCP flush")))
    }

    fn poll_close_priv(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.poll_flush_priv(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(self.shutdown(Shutdown::Write)),
            other => other,
        }
    }

    /// Waits until the socket is readable.
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| ready(&self.rest().read_reg, cx)).await
    }

    /// Waits until the socket is writable.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| ready(&self.parts().write_reg, cx)).await
    }

    /// Shuts down one or both directions (`tcp-socket.shutdown`). Data
    /// already written is still sent before the end of stream.
    ///
    /// # Errors
    ///
    /// The runtime's error (`InvalidInput` when not connected).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let how = match how {
            Shutdown::Read => ShutdownType::Receive,
            Shutdown::Write => ShutdownType::Send,
            Shutdown::Both => ShutdownType::Both,
        };
        self.rest()
            .socket
            .shutdown(how)
            .map_err(|e| error("shutdown", e))
    }

    /// The remote address.
    ///
    /// # Errors
    ///
    /// The runtime's error (`InvalidInput` when not connected).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.rest()
            .socket
            .remote_address()
            .map(from_wasi)
            .map_err(|e| error("peer address", e))
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The runtime's error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.rest()
            .socket
            .local_address()
            .map(from_wasi)
            .map_err(|e| error("local address", e))
    }

    /// Sets `TCP_NODELAY`: WASI 0.2 has no such option.
    ///
    /// # Errors
    ///
    /// Always `Unsupported`, naming the option and the host.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        let _ = on;
        Err(anyloop_core::unsupported(
            "TcpStream::set_nodelay",
            HOST,
            " (wasi:sockets 0.2 has no TCP_NODELAY option)",
        ))
    }
}

impl Drop for TcpStream {
    /// Closes the stream; with a write still in flight, it closes once
    /// that write is done, and the loop keeps running meanwhile.
    fn drop(&mut self) {
        // Dropping an output stream with a write in flight blocks the
        // whole instance in wasmtime until the peer reads it (forever if
        // the peer is a task of this loop): such a stream is handed to the
        // reactor, which closes it once the write is done (`reactor::bury`).
        if !matches!(self.parts().rest.output.check_write(), Ok(0)) {
            return; // the fields drop in order, nothing is in flight
        }
        // Move the resources out, keeping their drop order: the pollables
        // (but the output stream's, which says when the write is done),
        // then the streams, then the socket.
        let Some(parts) = self.parts.take() else {
            return;
        };
        reactor::bury(parts.write_reg, Box::new(parts.rest));
    }
}

fn ready(reg: &Registration, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    if reg.is_ready() {
        Poll::Ready(Ok(()))
    } else {
        reg.register(cx.waker());
        Poll::Pending
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

stream_methods!(TcpStream);
