//! asyncio's transports and protocols: callback-style networking for
//! library and framework authors ([`Protocol`], [`BufferedProtocol`],
//! [`DatagramProtocol`], [`Transport`], [`DatagramTransport`]).
//! asyncio's `SubprocessProtocol` is
//! [`anyloop::process::SubprocessProtocol`](crate::process::SubprocessProtocol);
//! a child's pipes are [`Transport`]s there too.
//!
//! A protocol is an object whose methods the loop calls as things happen
//! on a connection (`connection_made`, `data_received`, `eof_received`,
//! `connection_lost`, `pause_writing`/`resume_writing`); it writes through
//! the [`Transport`] it was handed in `connection_made`.
//!
//! # Examples
//!
//! asyncio's "TCP echo server using protocols" and its client (the full
//! programs are `examples/protocol_echo_server.rs` and
//! `examples/protocol_echo_client.rs`):
//!
//! ```
//! use anyloop::net::{create_connection, create_server, Protocol, Transport};
//!
//! struct EchoServer(Option<Transport>);
//! impl Protocol for EchoServer {
//!     fn connection_made(&mut self, transport: Transport) {
//!         self.0 = Some(transport);
//!     }
//!     fn data_received(&mut self, data: &[u8]) {
//!         if let Some(t) = &self.0 {
//!             t.write(data);
//!             t.close();
//!         }
//!     }
//! }
//!
//! struct EchoClient { got: anyloop::future::Promise<Vec<u8>>, buf: Vec<u8> }
//! impl Protocol for EchoClient {
//!     fn connection_made(&mut self, transport: Transport) {
//!         transport.write(b"Hello World!");
//!     }
//!     fn data_received(&mut self, data: &[u8]) {
//!         self.buf.extend_from_slice(data);
//!     }
//!     fn connection_lost(&mut self, _exc: Option<std::io::Error>) {
//!         let _ = self.got.set(std::mem::take(&mut self.buf));
//!     }
//! }
//!
//! anyloop::run(async {
//!     let server = create_server(|| EchoServer(None), "127.0.0.1", 0).await?;
//!     let got = anyloop::future::Promise::new();
//!     let g = got.clone();
//!     let port = server.local_addr()?.port();
//!     create_connection(move || EchoClient { got: g, buf: Vec::new() }, "127.0.0.1", port).await?;
//!     assert_eq!(got.wait().await.unwrap(), b"Hello World!");
//!     std::io::Result::Ok(())
//! })
//! .unwrap();
//! ```
//!
//! # Design
//!
//! - One task per connection drives the socket and calls the protocol; the
//!   protocol is owned by that task (no `RefCell`, no `Rc` around it), so
//!   `create_connection` returns the [`Transport`] only. Keep what the rest
//!   of the program needs from the protocol behind an `Rc` or a
//!   [`Promise`](crate::future::Promise) it holds (asyncio's
//!   `on_con_lost` future).
//! - [`Transport::write`] appends to the write buffer; the task sends it as
//!   soon as the callback returns (asyncio sends at once inside `write`;
//!   the bytes reach the socket in the same loop iteration either way).
//! - `pause_writing` is called when the buffer goes above the high-water
//!   mark, right after the callback (or task) that filled it yields to the
//!   connection task, and `resume_writing` once it drains to the low mark.
//! - [`Server`] is the same type as for
//!   [`start_server`](super::start_server): `close`, `wait_closed`,
//!   `abort_clients` work on protocol connections too.
//!
//! # Hosts
//!
//! | | native | WASI (p1) | web |
//! |---|---|---|---|
//! | [`create_connection`] | yes | `Unsupported` | `Unsupported` |
//! | [`create_server`] | yes | `Unsupported`: [`create_server_on`] with a preopened listener | `Unsupported` |
//! | [`create_unix_connection`], [`create_unix_server`] | Unix | `Unsupported` | `Unsupported` |
//! | [`create_datagram_endpoint`] | yes | `Unsupported` | `Unsupported` |
//! | [`connect_accepted_socket`] | yes | accepted sockets | `Unsupported` |
//! | [`connect_stdio`] | yes | yes | `Unsupported` |

mod datagram;
mod stream;

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::task::Waker;

pub use datagram::{create_datagram_endpoint, DatagramProtocol, DatagramTransport};
pub(crate) use stream::start_io;
pub use stream::{Buffered, StreamProtocol, Transport, DEFAULT_READ_SIZE};

use super::server::{Accepted, BoxHandler};

/// Keeps `waker` in `slot` (a transport's wake-up for its driving task),
/// cloning it only when it is not the one already there.
fn remember_waker(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(w) => w.clone_from(waker),
        None => *slot = Some(waker.clone()),
    }
}
use super::{Server, TcpListener, TcpStream, UnixStream};

/// asyncio's `asyncio.Protocol`: callbacks for a stream connection.
///
/// Only [`data_received`](Self::data_received) is required.
///
/// # Examples
///
/// See the [module docs](self).
pub trait Protocol: 'static {
    /// The connection is up; keep `transport` to write (asyncio's
    /// `connection_made`).
    fn connection_made(&mut self, transport: Transport) {
        let _ = transport;
    }

    /// Bytes arrived (asyncio's `data_received`).
    fn data_received(&mut self, data: &[u8]);

    /// The peer closed its sending side (asyncio's `eof_received`).
    /// Return `true` to keep the transport open for writing (half-close),
    /// `false` (the default) to close it.
    fn eof_received(&mut self) -> bool {
        false
    }

    /// The connection is closed: `None` after a close, an abort or the
    /// peer's end of stream, the error otherwise (asyncio's
    /// `connection_lost`). Called exactly once, last.
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        let _ = exc;
    }

    /// The transport's write buffer went above its high-water mark: stop
    /// writing (asyncio's `pause_writing`).
    fn pause_writing(&mut self) {}

    /// The write buffer drained to its low-water mark (asyncio's
    /// `resume_writing`).
    fn resume_writing(&mut self) {}
}

/// asyncio's `asyncio.BufferedProtocol`: the protocol lends the buffer
/// the transport reads into (no copy). Pass it wrapped in [`Buffered`].
///
/// # Examples
///
/// ```
/// use anyloop::net::{create_connection, create_server, Buffered, BufferedProtocol, Protocol, Transport};
///
/// /// Counts bytes into its own buffer.
/// struct Counter { buf: Vec<u8>, total: std::rc::Rc<std::cell::Cell<usize>> }
/// impl BufferedProtocol for Counter {
///     fn get_buffer(&mut self, _sizehint: usize) -> &mut [u8] {
///         &mut self.buf
///     }
///     fn buffer_updated(&mut self, nbytes: usize) {
///         self.total.set(self.total.get() + nbytes);
///     }
/// }
///
/// struct Sender;
/// impl Protocol for Sender {
///     fn connection_made(&mut self, t: Transport) {
///         t.write(&[7u8; 100_000]);
///         t.close();
///     }
///     fn data_received(&mut self, _: &[u8]) {}
/// }
///
/// anyloop::run(async {
///     let total = std::rc::Rc::new(std::cell::Cell::new(0));
///     let t = total.clone();
///     let server = create_server(
///         move || Buffered(Counter { buf: vec![0; 4096], total: t.clone() }),
///         "127.0.0.1",
///         0,
///     )
///     .await?;
///     create_connection(|| Sender, "127.0.0.1", server.local_addr()?.port()).await?;
///     while total.get() < 100_000 {
///         anyloop::sleep(std::time::Duration::from_millis(1)).await;
///     }
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub trait BufferedProtocol: 'static {
    /// As [`Protocol::connection_made`].
    fn connection_made(&mut self, transport: Transport) {
        let _ = transport;
    }

    /// The buffer the next read goes into (asyncio's `get_buffer`); at
    /// least one byte. `sizehint` is the size the transport would like.
    fn get_buffer(&mut self, sizehint: usize) -> &mut [u8];

    /// `nbytes` bytes were read into the buffer (asyncio's `buffer_updated`).
    fn buffer_updated(&mut self, nbytes: usize);

    /// As [`Protocol::eof_received`].
    fn eof_received(&mut self) -> bool {
        false
    }

    /// As [`Protocol::connection_lost`].
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        let _ = exc;
    }

    /// As [`Protocol::pause_writing`].
    fn pause_writing(&mut self) {}

    /// As [`Protocol::resume_writing`].
    fn resume_writing(&mut self) {}
}

/// Connects to `host:port` and runs the protocol `factory()` makes on the
/// connection: asyncio's `loop.create_connection(protocol_factory, host,
/// port)`. `connection_made` has run when this returns.
///
/// Resolution and happy eyeballs as in
/// [`open_connection`](super::open_connection); `TCP_NODELAY` is set.
///
/// # Errors
///
/// As [`open_connection`](super::open_connection) (`Unsupported` on WASI
/// p1 and in the browser).
///
/// # Examples
///
/// See the [module docs](self).
pub async fn create_connection<P, F>(factory: F, host: &str, port: u16) -> io::Result<Transport>
where
    P: StreamProtocol,
    F: FnOnce() -> P,
{
    let caps = crate::capabilities();
    if !caps.tcp_connect {
        return Err(caps.unsupported("outgoing TCP connections (create_connection)"));
    }
    let (stream, peer) = super::connect_any(host, port).await?;
    Ok(run_on_tcp(factory, stream, Some(peer)))
}

/// Runs the protocol `factory()` makes on a connected socket (asyncio's
/// `loop.connect_accepted_socket`, and `create_connection(sock=...)`).
///
/// # Errors
///
/// None so far; `io::Result` leaves room for hosts that must check the
/// socket.
///
/// # Examples
///
/// ```
/// # anyloop::run(async {
/// use anyloop::net::{connect_accepted_socket, Protocol, TcpListener, TcpStream, Transport};
/// struct Hello;
/// impl Protocol for Hello {
///     fn connection_made(&mut self, t: Transport) { t.write(b"hi"); t.close(); }
///     fn data_received(&mut self, _: &[u8]) {}
/// }
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let client = TcpStream::connect(listener.local_addr()?).await?;
/// let (accepted, _) = listener.accept().await?;
/// connect_accepted_socket(|| Hello, accepted)?;
/// let mut buf = [0u8; 2];
/// assert_eq!(client.read(&mut buf).await?, 2);
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub fn connect_accepted_socket<P, F>(factory: F, sock: TcpStream) -> io::Result<Transport>
where
    P: StreamProtocol,
    F: FnOnce() -> P,
{
    // Asked now, as asyncio does when it makes the transport, so that
    // `peer_addr` still answers after `connection_lost`.
    let peer = sock.peer_addr().ok().and_then(super::known_peer);
    Ok(run_on_tcp(factory, sock, peer))
}

/// Runs the protocol on a connected socket whose peer is `peer` (if
/// known).
fn run_on_tcp<P, F>(factory: F, sock: TcpStream, peer: Option<SocketAddr>) -> Transport
where
    P: StreamProtocol,
    F: FnOnce() -> P,
{
    let _ = sock.set_nodelay(true);
    let (transport, driver) = stream::start(Accepted::Tcp(sock, peer), factory());
    crate::task::Builder::new()
        .name("anyloop::net transport")
        .spawn(driver)
        .detach();
    transport
}

/// Connects to the Unix socket `path` and runs the protocol on it
/// (asyncio's `loop.create_unix_connection`).
///
/// # Errors
///
/// `Unsupported` on hosts without Unix sockets (WASI, web); the OS error
/// of `connect`.
///
/// # Examples
///
/// See [`create_unix_server`].
pub async fn create_unix_connection<P, F>(
    factory: F,
    path: impl AsRef<Path>,
) -> io::Result<Transport>
where
    P: StreamProtocol,
    F: FnOnce() -> P,
{
    let caps = crate::capabilities();
    if !caps.unix_sockets {
        return Err(caps.unsupported("Unix domain sockets (create_unix_connection)"));
    }
    let stream = UnixStream::connect(path.as_ref()).await?;
    let (transport, driver) = stream::start(Accepted::Unix(stream), factory());
    crate::task::Builder::new()
        .name("anyloop::net transport")
        .spawn(driver)
        .detach();
    Ok(transport)
}

/// Runs the protocol `factory()` makes on standard input and output:
/// `data_received` gets stdin, [`Transport::write`] goes to stdout,
/// `eof_received` comes at the end of stdin and
/// [`Transport::write_eof`] flushes stdout. asyncio's
/// `loop.connect_read_pipe(factory, sys.stdin)` and
/// `connect_write_pipe(factory, sys.stdout)` as one transport; on WASI this
/// is how a protocol talks to the host.
///
/// # Errors
///
/// `Unsupported` where the host has no asynchronous stdio (the browser).
///
/// # Examples
///
/// `examples/protocol_stdio.rs`:
///
/// ```no_run
#[doc = include_str!("../../../examples/protocol_stdio.rs")]
/// ```
#[doc(alias = "connect_read_pipe")]
#[doc(alias = "connect_write_pipe")]
pub fn connect_stdio<P, F>(factory: F) -> io::Result<Transport>
where
    P: StreamProtocol,
    F: FnOnce() -> P,
{
    let caps = crate::capabilities();
    if !caps.async_stdio {
        return Err(caps.unsupported("standard input and output (connect_stdio)"));
    }
    let (transport, driver) = stream::start_stdio(factory());
    crate::task::Builder::new()
        .name("anyloop::net stdio transport")
        .spawn(driver)
        .detach();
    Ok(transport)
}

fn protocol_handler<P, F>(factory: F) -> BoxHandler
where
    P: StreamProtocol,
    F: Fn() -> P + 'static,
{
    Box::new(move |conn, _guard| {
        if let Accepted::Tcp(s, _) = &conn {
            let _ = s.set_nodelay(true);
        }
        // Cancelling the task (abort_clients) drops the socket at once.
        let (_transport, driver) = stream::start(conn, factory());
        (driver, None)
    })
}

/// Starts a TCP server on `host:port` that runs a protocol from `factory`
/// on every connection: asyncio's `loop.create_server(protocol_factory,
/// host, port)`. Returns the same [`Server`] as
/// [`start_server`](super::start_server).
///
/// # Errors
///
/// As [`start_server`](super::start_server).
///
/// # Examples
///
/// See the [module docs](self).
pub async fn create_server<P, F>(factory: F, host: &str, port: u16) -> io::Result<Server>
where
    P: StreamProtocol,
    F: Fn() -> P + 'static,
{
    super::serve_tcp(protocol_handler(factory), host, port, "create_server").await
}

/// Serves `listener` with protocols from `factory` (asyncio's
/// `create_server(sock=...)`); on WASI this serves a preopened listener.
///
/// # Errors
///
/// None so far.
///
/// # Examples
///
/// ```
/// # anyloop::run(async {
/// # struct P;
/// # impl anyloop::net::Protocol for P { fn data_received(&mut self, _: &[u8]) {} }
/// let listener = anyloop::net::TcpListener::bind("127.0.0.1:0")?;
/// let server = anyloop::net::create_server_on(|| P, listener)?;
/// assert!(server.is_serving());
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub fn create_server_on<P, F>(factory: F, listener: TcpListener) -> io::Result<Server>
where
    P: StreamProtocol,
    F: Fn() -> P + 'static,
{
    super::serve_listener(protocol_handler(factory), listener)
}

/// A server on the Unix socket `path` running protocols from `factory`
/// (asyncio's `loop.create_unix_server`).
///
/// # Errors
///
/// `Unsupported` on hosts without Unix sockets (WASI, web); the OS error
/// of `bind`.
///
/// # Examples
///
/// ```
/// # anyloop::run(async {
/// use anyloop::net::{create_unix_connection, create_unix_server, Protocol, Transport};
/// struct Bye;
/// impl Protocol for Bye {
///     fn connection_made(&mut self, t: Transport) { t.write(b"bye\n"); t.close(); }
///     fn data_received(&mut self, _: &[u8]) {}
/// }
/// struct Got(anyloop::future::Promise<Vec<u8>>);
/// impl Protocol for Got {
///     fn data_received(&mut self, d: &[u8]) { let _ = self.0.set(d.to_vec()); }
/// }
/// let path = std::env::temp_dir().join(format!("anyloop-cus-{}.sock", std::process::id()));
/// let server = create_unix_server(|| Bye, &path).await?;
/// let got = anyloop::future::Promise::new();
/// let g = got.clone();
/// create_unix_connection(move || Got(g), &path).await?;
/// assert_eq!(got.wait().await.unwrap(), b"bye\n");
/// server.close();
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub async fn create_unix_server<P, F>(factory: F, path: impl AsRef<Path>) -> io::Result<Server>
where
    P: StreamProtocol,
    F: Fn() -> P + 'static,
{
    super::serve_unix(
        protocol_handler(factory),
        path.as_ref(),
        "create_unix_server",
    )
}
