//! Networking with asyncio's Streams API: [`open_connection`],
//! [`start_server`], [`StreamReader`], [`StreamWriter`], plus the sockets
//! underneath ([`TcpListener`], [`TcpStream`], [`UdpSocket`],
//! [`UnixListener`], [`UnixStream`]).
//!
//! The stream logic (buffering, `readline`/`readuntil`, limits, errors,
//! `drain`'s water marks, server bookkeeping) is written once here over
//! `futures-io`'s `AsyncRead`/`AsyncWrite`, and serves every socket type
//! of every host.
//!
//! # Examples
//!
//! An echo server and a client (asyncio's "TCP echo" example):
//!
//! ```
//! use anyloop::net::{open_connection, start_server};
//!
//! anyloop::run(async {
//!     let server = start_server(|mut reader, writer| async move {
//!         while let Some(line) = Some(reader.readline().await?).filter(|l| !l.is_empty()) {
//!             writer.write(&line);
//!             writer.drain().await?;
//!         }
//!         writer.close();
//!         writer.wait_closed().await
//!     }, "127.0.0.1", 0).await?;
//!
//!     let (mut reader, writer) = open_connection("127.0.0.1", server.local_addr()?.port()).await?;
//!     writer.write(b"Hello World!\n");
//!     writer.drain().await?;
//!     assert_eq!(reader.readline().await?, b"Hello World!\n");
//!     std::io::Result::Ok(())
//! })
//! .unwrap();
//! ```
//!
//! # asyncio → anyloop
//!
//! | asyncio | anyloop |
//! |---|---|
//! | `open_connection(host, port, limit=)` | [`open_connection`], [`ConnectOptions`] (`limit`, `timeout`) |
//! | `start_server(cb, host, port, limit=)` | [`start_server`], [`ServerOptions`]; `start_server(cb, sock=)`: [`start_server_on`] |
//! | `open_unix_connection(path)`, `start_unix_server(cb, path)` | [`open_unix_connection`], [`start_unix_server`] |
//! | `Server` (`AbstractServer`), `start_serving()` | [`Server`]; it serves from the start (asyncio's default `start_serving=True`) |
//! | `Server.sockets`, `is_serving()` | [`Server::local_addrs`], [`Server::is_serving`] |
//! | `Server.close()`, `wait_closed()`, `serve_forever()`, `abort_clients()` | [`Server::close`], [`Server::wait_closed`], [`Server::serve_forever`], [`Server::abort_clients`] |
//! | `StreamReader.read(n)`, `read()` | [`StreamReader::read`], [`StreamReader::read_to_eof`] |
//! | `sock_recv_into(sock, buf)`, `socket.recv_into(buf)` (bulk data into your buffer) | [`StreamReader::read_into`] |
//! | `readline()`, `readuntil(sep)`, `readexactly(n)`, `at_eof()` | [`StreamReader::readline`], [`StreamReader::readuntil`], [`StreamReader::readexactly`], [`StreamReader::at_eof`] |
//! | `async for line in reader` | `StreamReader` is a `Stream` of lines |
//! | `IncompleteReadError(partial, expected)` | [`IncompleteReadError`] (`io::ErrorKind::UnexpectedEof`) |
//! | `LimitOverrunError(consumed)` | [`LimitOverrunError`] (`io::ErrorKind::InvalidData`); the data stays buffered |
//! | `StreamWriter.write`, `writelines`, `drain()` | [`StreamWriter::write`], [`StreamWriter::writelines`], [`StreamWriter::drain`] |
//! | `write_eof()`, `can_write_eof()`, `close()`, `is_closing()`, `wait_closed()` | the same names on [`StreamWriter`] |
//! | `transport.abort()`, `set_write_buffer_limits`, `get_write_buffer_limits`, `get_write_buffer_size` | [`StreamWriter::abort`], [`StreamWriter::set_write_buffer_limits`], [`StreamWriter::write_buffer_limits`] (`(high, low)`), [`StreamWriter::write_buffer_size`] |
//! | `get_extra_info('peername' / 'sockname')` | [`StreamWriter::peer_addr`], [`StreamWriter::local_addr`] |
//! | `loop.getaddrinfo(host, port)` | [`lookup_host`] (socket addresses); `getnameinfo` (reverse lookup): none |
//! | `create_datagram_endpoint` | [`UdpSocket`] (`bind`, `connect`, `send_to`/`recv_from`, `send`/`recv`) |
//! | `loop.create_connection`, `create_server`, `create_unix_*`, `connect_accepted_socket` | [`create_connection`], [`create_server`], [`create_server_on`], [`create_unix_connection`], [`create_unix_server`], [`connect_accepted_socket`] with a [`Protocol`] / [`BufferedProtocol`] and a [`Transport`] |
//! | `loop.create_datagram_endpoint` with a `DatagramProtocol` | [`create_datagram_endpoint`], [`DatagramProtocol`], [`DatagramTransport`] |
//! | `BaseTransport`, `get_write_buffer_limits()` (`(low, high)`) | [`Transport`], [`Transport::write_buffer_limits`] |
//! | `transport.get_protocol()`, `set_protocol()` | none: a protocol belongs to its connection's task; switch behaviour inside it, or use [`wrap`] and streams |
//! | `loop.sendfile(transport, file)`, `sock_sendfile` | none yet: read the file with [`fs`](crate::fs) and [`StreamWriter::write`] + [`drain`](StreamWriter::drain) |
//! | `open_connection(sock=)`, `StreamReader` + `StreamWriter` over your own transport | [`wrap`], [`ConnectOptions::wrap`] (any `futures-io` `AsyncRead + AsyncWrite`) |
//! | `open_connection(ssl=, server_hostname=, ssl_handshake_timeout=)` | [`ConnectOptions::ssl`], [`ConnectOptions::server_hostname`], [`ConnectOptions::ssl_handshake_timeout`] |
//! | `start_server(ssl=, ssl_handshake_timeout=)` | [`ServerOptions::ssl`], [`ServerOptions::ssl_handshake_timeout`] |
//! | `ssl.create_default_context()`, `load_verify_locations`, `load_cert_chain`, `set_alpn_protocols` | [`tls::ClientConfig::new`], [`tls::ClientConfig::with_root_certificates`], [`tls::ServerConfig::new`] / [`from_pem`](tls::ServerConfig::from_pem), `alpn_protocols` |
//! | `await writer.start_tls(ctx, server_hostname=)` | [`StreamWriter::start_tls`], [`StreamWriter::start_tls_server`] |
//! | `get_extra_info('ssl_object')`, `selected_alpn_protocol()`, `getpeercert()` | [`StreamWriter::tls_info`] → [`tls::TlsInfo`] |
//!
//! # Hosts
//!
//! | | native | WASI 0.2 (`wasm32-wasip2`) | WASI p1 | web |
//! |---|---|---|---|---|
//! | [`open_connection`] | yes | yes (names through `ip-name-lookup`) | `Unsupported` | `Unsupported` |
//! | [`start_server`] | yes | yes | `Unsupported`: use [`start_server_on`] with a preopened listener | `Unsupported` |
//! | [`StreamReader`] / [`StreamWriter`] | yes | yes | over accepted sockets | over any `AsyncRead`/`AsyncWrite` |
//! | [`UdpSocket`] | yes | yes | `Unsupported` | `Unsupported` |
//! | [`UnixStream`], [`UnixListener`] | Unix | `Unsupported` | `Unsupported` | `Unsupported` |
//! | TLS ([`tls`], feature `tls`) | yes | `Unsupported` | `Unsupported` | `Unsupported` (the browser owns TLS) |
//! | [`wrap`] | yes | yes | yes | yes |
//!
//! WASI 0.2 programs reach only what the runtime grants: `wasmtime run -S
//! inherit-network` (and `-S allow-ip-name-lookup` for names); without
//! it, socket calls fail with `PermissionDenied` errors that say so.
//!
//! [`capabilities`](crate::capabilities) tells which (`tcp_connect`,
//! `tcp_listen`, `tcp_preopened`, `udp`, `unix_sockets`); the errors name
//! the feature and the host.
//!
//! # Design notes
//!
//! - Reading: [`StreamReader::read`] returns an owned vector, as
//!   asyncio's `read(n)` returns `bytes`, so it copies out of the
//!   reader's buffer (it hands the buffer itself over when the read takes
//!   all of it and at least half its size). For bulk data,
//!   [`StreamReader::read_into`] reads into the caller's buffer: bytes
//!   already buffered first, and with an empty buffer and a request of at
//!   least 8 KiB (or the reader's buffer size, up to 64 KiB) the
//!   transport reads straight into it, as std's `BufReader` bypasses its
//!   buffer. The line methods keep their buffered semantics; `read_into`
//!   never reads ahead past what it returns. It is what tokio's
//!   `read(&mut buf)` is: the `streams` bench's TLS echo spent its whole
//!   gap to tokio (callgrind: 647 M vs 581 M instructions, memcpy 272 M vs
//!   203 M) copying each 16 KiB TLS record out of the reader's buffer;
//!   with `read_into` anyloop runs 578 M.
//! - Writing: [`StreamWriter::write`] hands bytes to the transport at
//!   once; a transport that keeps part of what it accepted (a TLS stream
//!   whose socket refused some records, a user's buffered writer) is then
//!   flushed, by the writer's background task if the flush has to wait.
//!   Sockets of `anyloop::net` buffer nothing and are never flushed.

mod error;
mod pair;
pub mod protocol;
mod reader;
mod server;
pub mod tls;
mod transport;
#[cfg(any(target_family = "wasm", not(unix)))]
mod unsupported;
mod writer;

use std::future::{poll_fn, Future};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};

pub use error::{IncompleteReadError, LimitOverrunError};
pub use pair::StreamPair;
pub use protocol::{
    connect_accepted_socket, connect_stdio, create_connection, create_datagram_endpoint,
    create_server, create_server_on, create_unix_connection, create_unix_server, Buffered,
    BufferedProtocol, DatagramProtocol, DatagramTransport, Protocol, StreamProtocol, Transport,
    DEFAULT_READ_SIZE,
};
pub use reader::{StreamReader, DEFAULT_LIMIT};
pub use server::{HandlerResult, Server};
pub use writer::{StreamWriter, DEFAULT_HIGH_WATER};

// UDP: natively and on WASI 0.2; the `Unsupported` stand-in elsewhere.
#[cfg(any(
    not(target_family = "wasm"),
    all(target_os = "wasi", target_env = "p2")
))]
pub use crate::backend::net::UdpSocket;
// TCP: everywhere but in the browser (the `Unsupported` stand-ins there).
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub use crate::backend::net::{TcpListener, TcpStream};
#[cfg(all(not(target_family = "wasm"), unix))]
pub use crate::backend::net::{UnixListener, UnixStream};
#[cfg(all(
    target_family = "wasm",
    not(all(target_os = "wasi", target_env = "p2"))
))]
pub use unsupported::UdpSocket;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub use unsupported::{TcpListener, TcpStream};
#[cfg(any(target_family = "wasm", not(unix)))]
pub use unsupported::{UnixListener, UnixStream};

use server::{Accept, Accepted, BoxHandler};

/// Wraps any full-duplex `futures-io` transport into a [`StreamReader`]
/// and a [`StreamWriter`]: asyncio's `open_connection(sock=...)` /
/// `StreamReader` + `StreamWriter` over a transport of your own.
///
/// Use it for a [`TcpStream`] from [`TcpListener::accept`], a
/// [`UnixStream`], a TLS stream built by hand, an in-memory pipe, or any
/// ecosystem type that implements `AsyncRead + AsyncWrite`. Both halves
/// share the transport; a [`TcpStream`] keeps its addresses
/// ([`StreamWriter::peer_addr`]) and its per-direction wakeups, and every
/// pair can be upgraded with [`StreamWriter::start_tls`]. Use
/// [`ConnectOptions::wrap`] for another reader limit.
///
/// # Examples
///
/// An accepted socket as a stream pair:
///
/// ```
/// use anyloop::net::{open_connection, wrap, TcpListener};
///
/// anyloop::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let port = listener.local_addr()?.port();
///     let client = anyloop::spawn(async move {
///         let (mut r, w) = open_connection("127.0.0.1", port).await?;
///         w.write(b"ping\n");
///         r.readline().await
///     });
///     let (stream, _peer) = listener.accept().await?;
///     let (mut r, w) = wrap(stream);
///     assert_eq!(r.readline().await?, b"ping\n");
///     assert_eq!(w.local_addr()?.port(), port);
///     w.write(b"pong\n");
///     assert_eq!(client.await.unwrap()?, b"pong\n");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
#[doc(alias = "sock")]
#[doc(alias = "open_connection")]
pub fn wrap<T>(transport: T) -> (StreamReader, StreamWriter)
where
    T: AsyncRead + AsyncWrite + 'static,
{
    transport::split_any(transport, DEFAULT_LIMIT)
}

/// The socket addresses of `host:port`, as [`open_connection`] and
/// [`start_server`] resolve them: asyncio's `loop.getaddrinfo` (what it
/// returns as `sockaddr`s), tokio's `lookup_host`.
///
/// `host` is an IP address (IPv6 with or without brackets), returned
/// as is without a lookup, or a name, resolved on the blocking pool
/// (WASI 0.2: with the runtime's non-blocking `ip-name-lookup`), never on
/// the loop.
///
/// # Errors
///
/// - `Unsupported` for names on hosts without a resolver (WASI preview 1,
///   web), naming the host; IP addresses work everywhere;
/// - `NotFound` if the name resolved to no address; the resolver's error.
///
/// # Examples
///
/// ```
/// # anyloop::run(async {
/// let addrs = anyloop::net::lookup_host("127.0.0.1", 8080).await?;
/// assert_eq!(addrs, ["127.0.0.1:8080".parse().unwrap()]);
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[doc(alias = "getaddrinfo")]
pub async fn lookup_host(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    resolve(host, port).await
}

/// Opens a TCP connection to `host:port` and returns its reader and
/// writer: asyncio's `open_connection`.
///
/// `host` is an IP address or a name; names are resolved on the blocking
/// pool (WASI 0.2: with the runtime's non-blocking `ip-name-lookup`;
/// never on the loop), and every resolved address is tried in order,
/// happy-eyeballs style: the next attempt starts when the previous ones
/// failed or after 250 ms, and the first connection wins. `TCP_NODELAY` is set, as asyncio does. For a
/// connect timeout or another reader limit use [`ConnectOptions`].
///
/// # Errors
///
/// - `Unsupported` on hosts without outgoing TCP (WASI preview 1, web);
/// - the resolver's error, or the connection error of every address
///   (the last error's kind; the message lists each attempt).
///
/// # Examples
///
/// ```
/// # anyloop::run(async {
/// # let server = anyloop::net::start_server(|_r, _w| async {}, "127.0.0.1", 0).await?;
/// # let port = server.local_addr()?.port();
/// let (reader, writer) = anyloop::net::open_connection("127.0.0.1", port).await?;
/// assert_eq!(writer.peer_addr()?.port(), port);
/// # drop(reader);
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub async fn open_connection(host: &str, port: u16) -> io::Result<(StreamReader, StreamWriter)> {
    ConnectOptions::new().open_connection(host, port).await
}

/// Starts a TCP server on `host:port` that runs `handler(reader, writer)`
/// as a task for every connection: asyncio's `start_server`.
///
/// It serves at once; the returned [`Server`] closes it. `host` may name
/// several addresses (`"localhost"`): the server listens on each. An
/// empty `host` means every interface (`0.0.0.0` and `::`). Port 0 picks
/// a free port: see [`Server::local_addr`].
///
/// # Errors
///
/// - `Unsupported` on hosts that cannot create listeners (WASI p1: use
///   [`start_server_on`] with a preopened listener; web);
/// - the resolver's or `bind`'s error.
///
/// # Examples
///
/// See [`Server`].
pub async fn start_server<H, F>(handler: H, host: &str, port: u16) -> io::Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> F + 'static,
    F: Future + 'static,
    F::Output: HandlerResult,
{
    ServerOptions::new().start_server(handler, host, port).await
}

/// Serves `listener` with `handler`, like [`start_server`] (asyncio's
/// `start_server(sock=...)`). On WASI this is how a preopened listener
/// (`wasmtime run -S preview2=n -S tcplisten=127.0.0.1:8888`) is served.
///
/// [`Server::local_addrs`] is empty where the host cannot tell the
/// listener's address (WASI p1).
///
/// # Errors
///
/// None so far; `io::Result` leaves room for hosts that must check the
/// listener.
///
/// # Examples
///
/// ```
/// # anyloop::run(async {
/// let listener = anyloop::net::TcpListener::bind("127.0.0.1:0")?;
/// let server = anyloop::net::start_server_on(|_r, w| async move {
///     w.write(b"hi\n");
/// }, listener)?;
/// # drop(server);
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub fn start_server_on<H, F>(handler: H, listener: TcpListener) -> io::Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> F + 'static,
    F: Future + 'static,
    F::Output: HandlerResult,
{
    ServerOptions::new().start_server_on(handler, listener)
}

/// Connects to the Unix domain socket at `path` (asyncio's
/// `open_unix_connection`).
///
/// # Errors
///
/// `Unsupported` on hosts without Unix sockets (WASI, web); the OS error
/// of `connect`.
///
/// # Examples
///
/// ```
/// # anyloop::run(async {
/// # if !anyloop::capabilities().unix_sockets { return Ok(()); } // Windows
/// let path = std::env::temp_dir().join(format!("anyloop-oc-{}.sock", std::process::id()));
/// let server = anyloop::net::start_unix_server(|_r, w| async move { w.write(b"hi\n") }, &path).await?;
/// let (mut r, _w) = anyloop::net::open_unix_connection(&path).await?;
/// assert_eq!(r.readline().await?, b"hi\n");
/// server.close(); // also removes the socket file
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub async fn open_unix_connection(
    path: impl AsRef<Path>,
) -> io::Result<(StreamReader, StreamWriter)> {
    ConnectOptions::new().open_unix_connection(path).await
}

/// Starts a server on the Unix domain socket `path` (asyncio's
/// `start_unix_server`). A stale socket file at `path` is replaced;
/// [`Server::close`] removes the file.
///
/// # Errors
///
/// `Unsupported` on hosts without Unix sockets (WASI, web); the OS error
/// of `bind`.
///
/// # Examples
///
/// See [`open_unix_connection`].
pub async fn start_unix_server<H, F>(handler: H, path: impl AsRef<Path>) -> io::Result<Server>
where
    H: Fn(StreamReader, StreamWriter) -> F + 'static,
    F: Future + 'static,
    F::Output: HandlerResult,
{
    ServerOptions::new().start_unix_server(handler, path).await
}

/// Options of [`open_connection`]: connect timeout and reader limit.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use anyloop::net::ConnectOptions;
///
/// # anyloop::run(async {
/// # let server = anyloop::net::start_server(|_r, _w| async {}, "127.0.0.1", 0).await?;
/// # let port = server.local_addr()?.port();
/// let (reader, _writer) = ConnectOptions::new()
///     .timeout(Duration::from_secs(5))
///     .limit(1 << 20)
///     .open_connection("127.0.0.1", port)
///     .await?;
/// assert_eq!(reader.limit(), 1 << 20);
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    timeout: Option<Duration>,
    limit: usize,
    ssl: Option<tls::ClientConfig>,
    server_hostname: Option<String>,
    handshake_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions::new()
    }
}

impl ConnectOptions {
    /// No timeout, the default limit.
    pub fn new() -> ConnectOptions {
        ConnectOptions {
            timeout: None,
            limit: DEFAULT_LIMIT,
            ssl: None,
            server_hostname: None,
            handshake_timeout: tls::DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// Speaks TLS with `config` once connected (asyncio's `ssl=`): the
    /// handshake verifies the server's certificate for the host name
    /// (or [`server_hostname`](Self::server_hostname)). See [`tls`].
    ///
    /// # Examples
    ///
    /// See [`tls`].
    pub fn ssl(mut self, config: tls::ClientConfig) -> ConnectOptions {
        self.ssl = Some(config);
        self
    }

    /// The name to verify the server's certificate against and to send
    /// as SNI, when it differs from the host connected to (asyncio's
    /// `server_hostname=`); only used with [`ssl`](Self::ssl).
    pub fn server_hostname(mut self, name: impl Into<String>) -> ConnectOptions {
        self.server_hostname = Some(name.into());
        self
    }

    /// How long the TLS handshake may take (asyncio's
    /// `ssl_handshake_timeout=`, default
    /// [`tls::DEFAULT_HANDSHAKE_TIMEOUT`], 60 s); then `TimedOut`.
    pub fn ssl_handshake_timeout(mut self, timeout: Duration) -> ConnectOptions {
        self.handshake_timeout = timeout;
        self
    }

    /// Gives up after `timeout` (resolution and every attempt together),
    /// with a `TimedOut` error; built on [`timeout`](crate::timeout).
    pub fn timeout(mut self, timeout: Duration) -> ConnectOptions {
        self.timeout = Some(timeout);
        self
    }

    /// The reader's line/separator limit (default [`DEFAULT_LIMIT`]).
    pub fn limit(mut self, limit: usize) -> ConnectOptions {
        self.limit = limit;
        self
    }

    /// [`open_connection`] with these options.
    ///
    /// # Errors
    ///
    /// As [`open_connection`]; `TimedOut` after the timeout.
    pub async fn open_connection(
        &self,
        host: &str,
        port: u16,
    ) -> io::Result<(StreamReader, StreamWriter)> {
        let caps = crate::capabilities();
        if !caps.tcp_connect {
            return Err(caps.unsupported("outgoing TCP connections (open_connection)"));
        }
        let (stream, _) = with_timeout(self.timeout, host, port, connect_any(host, port)).await?;
        // Small writes go out at once (asyncio sets TCP_NODELAY too).
        let _ = stream.set_nodelay(true);
        let (r, w) = transport::split_tcp(stream, self.limit);
        if let Some(cfg) = &self.ssl {
            let name = self.server_hostname.as_deref().unwrap_or(host);
            w.upgrade_client(cfg, name, self.handshake_timeout).await?;
        }
        Ok((r, w))
    }

    /// [`open_unix_connection`] with these options (with
    /// [`ssl`](Self::ssl), TLS over the Unix socket: then
    /// [`server_hostname`](Self::server_hostname) is required).
    ///
    /// # Errors
    ///
    /// As [`open_unix_connection`]; `TimedOut` after the timeout;
    /// `InvalidInput` for `ssl` without `server_hostname`.
    pub async fn open_unix_connection(
        &self,
        path: impl AsRef<Path>,
    ) -> io::Result<(StreamReader, StreamWriter)> {
        let caps = crate::capabilities();
        if !caps.unix_sockets {
            return Err(caps.unsupported("Unix domain sockets (open_unix_connection)"));
        }
        let path = path.as_ref();
        let stream = match self.timeout {
            None => UnixStream::connect(path).await?,
            Some(d) => crate::timeout(d, UnixStream::connect(path))
                .await
                .map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("connecting to {} timed out after {d:?}", path.display()),
                    )
                })??,
        };
        let (r, w) = transport::split_shared(stream, self.limit);
        if let Some(cfg) = &self.ssl {
            let Some(name) = self.server_hostname.as_deref() else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "open_unix_connection with ssl needs a server_hostname",
                ));
            };
            w.upgrade_client(cfg, name, self.handshake_timeout).await?;
        }
        Ok((r, w))
    }

    /// [`wrap`] with these options' limit (the timeout does not apply).
    ///
    /// # Examples
    ///
    /// ```
    /// let (r, _w) = anyloop::net::ConnectOptions::new()
    ///     .limit(100)
    ///     .wrap(futures_lite::io::Cursor::new(Vec::new()));
    /// assert_eq!(r.limit(), 100);
    /// ```
    pub fn wrap<T>(&self, transport: T) -> (StreamReader, StreamWriter)
    where
        T: AsyncRead + AsyncWrite + 'static,
    {
        transport::split_any(transport, self.limit)
    }
}

/// Options of [`start_server`]: the readers' limit.
///
/// # Examples
///
/// ```
/// use anyloop::net::ServerOptions;
///
/// # anyloop::run(async {
/// let server = ServerOptions::new()
///     .limit(1 << 20)
///     .start_server(|r, _w| async move { assert_eq!(r.limit(), 1 << 20) }, "127.0.0.1", 0)
///     .await?;
/// # drop(server);
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct ServerOptions {
    limit: usize,
    ssl: Option<tls::ServerConfig>,
    handshake_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions::new()
    }
}

impl ServerOptions {
    /// The default limit.
    pub fn new() -> ServerOptions {
        ServerOptions {
            limit: DEFAULT_LIMIT,
            ssl: None,
            handshake_timeout: tls::DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// Serves TLS with `config` (asyncio's `ssl=`): every accepted
    /// connection's handshake runs in its own task before the handler
    /// gets the reader and writer; a failed handshake is reported like a
    /// failed handler and closes only that connection. See [`tls`].
    ///
    /// # Examples
    ///
    /// See [`tls`].
    pub fn ssl(mut self, config: tls::ServerConfig) -> ServerOptions {
        self.ssl = Some(config);
        self
    }

    /// How long a client's TLS handshake may take (asyncio's
    /// `ssl_handshake_timeout=`, default
    /// [`tls::DEFAULT_HANDSHAKE_TIMEOUT`], 60 s).
    pub fn ssl_handshake_timeout(mut self, timeout: Duration) -> ServerOptions {
        self.handshake_timeout = timeout;
        self
    }

    /// The boxed handler, behind a TLS handshake when `ssl` is set.
    fn handler<H, F>(&self, handler: H) -> server::BoxHandler
    where
        H: Fn(StreamReader, StreamWriter) -> F + 'static,
        F: Future + 'static,
        F::Output: HandlerResult,
    {
        let Some(cfg) = self.ssl.clone() else {
            return server::box_handler(handler, self.limit);
        };
        let limit = self.handshake_timeout;
        let handler = Rc::new(handler);
        server::box_handler(
            move |r, w: StreamWriter| {
                let (handler, cfg) = (handler.clone(), cfg.clone());
                async move {
                    match w.upgrade_server(&cfg, limit).await {
                        Ok(()) => handler(r, w).await.report(),
                        Err(e) => Err::<(), _>(e).report(),
                    }
                }
            },
            self.limit,
        )
    }

    /// The readers' line/separator limit (default [`DEFAULT_LIMIT`]).
    pub fn limit(mut self, limit: usize) -> ServerOptions {
        self.limit = limit;
        self
    }

    /// [`start_server`] with these options.
    ///
    /// # Errors
    ///
    /// As [`start_server`].
    pub async fn start_server<H, F>(&self, handler: H, host: &str, port: u16) -> io::Result<Server>
    where
        H: Fn(StreamReader, StreamWriter) -> F + 'static,
        F: Future + 'static,
        F::Output: HandlerResult,
    {
        serve_tcp(self.handler(handler), host, port, "start_server").await
    }

    /// [`start_server_on`] with these options.
    ///
    /// # Errors
    ///
    /// As [`start_server_on`].
    pub fn start_server_on<H, F>(&self, handler: H, listener: TcpListener) -> io::Result<Server>
    where
        H: Fn(StreamReader, StreamWriter) -> F + 'static,
        F: Future + 'static,
        F::Output: HandlerResult,
    {
        serve_listener(self.handler(handler), listener)
    }

    /// [`start_unix_server`] with these options.
    ///
    /// # Errors
    ///
    /// As [`start_unix_server`].
    pub async fn start_unix_server<H, F>(
        &self,
        handler: H,
        path: impl AsRef<Path>,
    ) -> io::Result<Server>
    where
        H: Fn(StreamReader, StreamWriter) -> F + 'static,
        F: Future + 'static,
        F::Output: HandlerResult,
    {
        serve_unix(self.handler(handler), path.as_ref(), "start_unix_server")
    }
}

/// Binds every address of `host:port` and serves them with `handler`
/// (`start_server`, `create_server`).
pub(crate) async fn serve_tcp(
    handler: BoxHandler,
    host: &str,
    port: u16,
    what: &str,
) -> io::Result<Server> {
    let caps = crate::capabilities();
    if !caps.tcp_listen {
        let hint = if caps.tcp_preopened {
            "; serve a preopened listener with anyloop::net::start_server_on"
        } else {
            ""
        };
        return Err(anyloop_core::unsupported(
            &format!("TCP listeners ({what})"),
            caps.host,
            hint,
        ));
    }
    let addrs = if host.is_empty() {
        vec![
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
        ]
    } else {
        resolve(host, port).await?
    };
    let mut listeners: Vec<Rc<dyn Accept>> = Vec::new();
    let mut local = Vec::new();
    for a in addrs {
        match TcpListener::bind(a) {
            Ok(l) => {
                local.push(l.local_addr()?);
                listeners.push(Rc::new(l));
            }
            // The address family is not enabled (asyncio: bpo-30945).
            Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable => continue,
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("error while attempting to bind on address {a}: {e}"),
                ))
            }
        }
    }
    if listeners.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            format!("no address of {host:?} could be bound"),
        ));
    }
    Ok(Server::start(listeners, local, None, handler))
}

/// Serves one listener with `handler` (`start_server_on`,
/// `create_server_on`).
pub(crate) fn serve_listener(handler: BoxHandler, listener: TcpListener) -> io::Result<Server> {
    // WASI p1 has no getsockname: serve without a known address.
    let local = listener.local_addr().ok();
    Ok(Server::start(
        vec![Rc::new(listener)],
        local.into_iter().collect(),
        None,
        handler,
    ))
}

/// Serves the Unix socket `path` with `handler` (`start_unix_server`,
/// `create_unix_server`).
pub(crate) fn serve_unix(handler: BoxHandler, path: &Path, what: &str) -> io::Result<Server> {
    let caps = crate::capabilities();
    if !caps.unix_sockets {
        return Err(caps.unsupported(&format!("Unix domain sockets ({what})")));
    }
    remove_stale_socket(path);
    let listener = UnixListener::bind(path)?;
    Ok(Server::start(
        vec![Rc::new(listener)],
        Vec::new(),
        Some(path.to_path_buf()),
        handler,
    ))
}

#[cfg(all(not(target_family = "wasm"), unix))]
fn remove_stale_socket(path: &Path) {
    use std::os::unix::fs::FileTypeExt;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_socket() {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(any(target_family = "wasm", not(unix)))]
fn remove_stale_socket(_path: &Path) {}

impl Accept for TcpListener {
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<Accepted>> {
        TcpListener::poll_accept(self, cx)
            .map_ok(|(stream, peer)| Accepted::Tcp(stream, known_peer(peer)))
    }
}

/// A peer address the host really knows: WASI p1 cannot tell the peer
/// (its accept and `getpeername` report 0.0.0.0:0).
pub(crate) fn known_peer(peer: SocketAddr) -> Option<SocketAddr> {
    (!(peer.ip().is_unspecified() && peer.port() == 0)).then_some(peer)
}

impl Accept for UnixListener {
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<Accepted>> {
        UnixListener::poll_accept(self, cx).map_ok(|(stream, _peer)| Accepted::Unix(stream))
    }
}

/// Resolves `host`: IP literals directly, names on the blocking pool (or
/// with the host's own non-blocking lookup: WASI 0.2's
/// `ip-name-lookup`).
async fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = literal.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    resolve_name(host, port).await
}

/// WASI 0.2 resolves names itself, without blocking the loop.
#[cfg(all(target_os = "wasi", target_env = "p2"))]
async fn resolve_name(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    crate::backend::net::lookup_host(host, port).await
}

/// Resolves a name with std's resolver on the blocking pool.
#[cfg(not(all(target_os = "wasi", target_env = "p2")))]
async fn resolve_name(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    use std::net::ToSocketAddrs;
    let caps = crate::capabilities();
    if !caps.threads {
        return Err(anyloop_core::unsupported(
            "resolving host names",
            caps.host,
            "; pass an IP address such as \"127.0.0.1\"",
        ));
    }
    let name = host.to_owned();
    let addrs: Vec<SocketAddr> = crate::to_thread(move || {
        (name.as_str(), port)
            .to_socket_addrs()
            .map(Iterator::collect)
    })
    .await??;
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{host:?} resolved to no address"),
        ));
    }
    Ok(addrs)
}

/// How long a connection attempt runs alone before the next address is
/// tried alongside it (RFC 8305's "Connection Attempt Delay"; asyncio's
/// `happy_eyeballs_delay=0.25`).
const HAPPY_EYEBALLS_DELAY: Duration = Duration::from_millis(250);

/// Resolves `host` and connects to the first address that answers; that
/// address is returned too (the transport's `peername`, known without a
/// `getpeername`).
async fn connect_any(host: &str, port: u16) -> io::Result<(TcpStream, SocketAddr)> {
    let addrs = resolve(host, port).await?;
    connect_addrs(&addrs).await.map_err(|(kind, errors)| {
        io::Error::new(
            kind,
            format!("could not connect to {host}:{port} ({})", errors.join("; ")),
        )
    })
}

type Attempt = (
    SocketAddr,
    Pin<Box<dyn Future<Output = io::Result<TcpStream>>>>,
);

/// Happy eyeballs over `addrs` in order: an attempt starts when the
/// previous ones have all failed or after [`HAPPY_EYEBALLS_DELAY`]; the
/// first connection wins (with its address) and the other attempts are
/// dropped. On failure: the last error's kind and one message per address.
async fn connect_addrs(
    addrs: &[SocketAddr],
) -> Result<(TcpStream, SocketAddr), (io::ErrorKind, Vec<String>)> {
    // One address (an IP literal, the common case): nothing to race, so
    // no attempt list, no boxed future and no delay timer.
    if let [only] = addrs {
        return match TcpStream::connect_addr(*only).await {
            Ok(s) => Ok((s, *only)),
            Err(e) => Err((e.kind(), vec![format!("{only}: {e}")])),
        };
    }
    let mut next = addrs.iter().copied();
    let mut attempts: Vec<Attempt> = Vec::new();
    let mut delay: Option<Pin<Box<anyloop_core::time::Sleep>>> = None;
    let mut errors = Vec::new();
    let mut last_kind = io::ErrorKind::NotFound;
    poll_fn(|cx| loop {
        let due = attempts.is_empty()
            || delay
                .as_mut()
                .is_some_and(|d| d.as_mut().poll(cx).is_ready());
        let mut progressed = false;
        if due {
            match next.next() {
                Some(a) => {
                    attempts.push((a, Box::pin(TcpStream::connect_addr(a))));
                    // The delay only matters if another address can start.
                    delay = (next.len() > 0)
                        .then(|| Box::pin(anyloop_core::sleep(HAPPY_EYEBALLS_DELAY)));
                    progressed = true;
                }
                None => {
                    delay = None;
                    if attempts.is_empty() {
                        return Poll::Ready(Err((last_kind, std::mem::take(&mut errors))));
                    }
                }
            }
        }
        let mut i = 0;
        while i < attempts.len() {
            match attempts[i].1.as_mut().poll(cx) {
                Poll::Ready(Ok(stream)) => return Poll::Ready(Ok((stream, attempts[i].0))),
                Poll::Ready(Err(e)) => {
                    last_kind = e.kind();
                    errors.push(format!("{}: {e}", attempts[i].0));
                    drop(attempts.remove(i));
                    progressed = true;
                }
                Poll::Pending => i += 1,
            }
        }
        if !progressed {
            return Poll::Pending;
        }
    })
    .await
}

async fn with_timeout<T>(
    timeout: Option<Duration>,
    host: &str,
    port: u16,
    fut: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    match timeout {
        None => fut.await,
        Some(d) => crate::timeout(d, fut).await.map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connecting to {host}:{port} timed out after {d:?}"),
            )
        })?,
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// A listener whose accept queue is full: connects to it hang (Linux
    /// drops the SYNs).
    async fn stalled_listener() -> (std::net::TcpListener, SocketAddr, Vec<TcpStream>) {
        use rustix::net::{AddressFamily, SocketFlags, SocketType};
        let fd = rustix::net::socket_with(
            AddressFamily::INET,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        rustix::net::bind(&fd, &any).unwrap();
        rustix::net::listen(&fd, 0).unwrap();
        let l = std::net::TcpListener::from(fd);
        let addr = l.local_addr().unwrap();
        let mut fillers = Vec::new();
        for _ in 0..16 {
            match crate::timeout(Duration::from_millis(200), TcpStream::connect_addr(addr)).await {
                Ok(s) => fillers.push(s.unwrap()),
                Err(_) => break,
            }
        }
        (l, addr, fillers)
    }

    #[test]
    fn happy_eyeballs_moves_on_from_a_stalled_address() {
        crate::run(async {
            let (_l, stalled, _fillers) = stalled_listener().await;
            let good = TcpListener::bind("127.0.0.1:0").unwrap();
            let good_addr = good.local_addr().unwrap();
            let start = crate::time::Instant::now();
            let (s, addr) = connect_addrs(&[stalled, good_addr]).await.unwrap();
            assert_eq!(addr, good_addr);
            assert_eq!(s.peer_addr().unwrap(), good_addr);
            // Not before the delay, and long before any TCP timeout.
            let took = start.elapsed();
            assert!(took >= HAPPY_EYEBALLS_DELAY, "{took:?}");
            assert!(took < Duration::from_secs(10), "{took:?}");
            drop(good);
        });
    }

    #[test]
    fn every_address_is_tried_and_reported() {
        crate::run(async {
            let closed = {
                let l = TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap()
            };
            let (kind, errors) = connect_addrs(&[closed, closed])
                .await
                .map(drop)
                .unwrap_err();
            assert_eq!(kind, io::ErrorKind::ConnectionRefused);
            assert_eq!(errors.len(), 2, "{errors:?}");
        });
    }
}
