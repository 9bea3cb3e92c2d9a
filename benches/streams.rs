//! `cargo bench --bench streams`: anyloop's Streams vs the same TCP servers
//! written with tokio (current_thread + `LocalSet`) and smol
//! (`LocalExecutor` and `async-net`), all on 127.0.0.1 in one process:
//! interleaved rounds, medians, ratio anyloop / best peer.
//!
//! - `echo_64k`: one client streams 64 KiB messages through an echo server
//!   and reads them back (MB/s echoed, higher is better);
//! - `requests`: 1,000 clients each send small lines one at a time and wait
//!   for the echo (requests/s, higher is better; connects included);
//! - `proto_echo_64k`, `proto_requests`: the same, with anyloop's server
//!   written as an asyncio `Protocol` (`create_server_on`) instead of
//!   Streams (the clients and the peers' rows are the same);
//! - `tls_echo`: `echo_64k` over TLS 1.3 (rustls with ring everywhere:
//!   anyloop's `ssl=` streams vs tokio + tokio-rustls vs smol +
//!   futures-rustls; MB/s);
//! - `tls_handshakes`: connections one after another, each a TLS
//!   handshake, one echoed line and a clean close (handshakes/s; the same
//!   rustls configurations, session resumption as rustls' default).
//!   Every peer closes as TLS wants (RFC 8446 §6.1) and as asyncio does:
//!   the client sends close_notify when it is done, the server answers
//!   the client's close_notify with its own. anyloop's writers do that
//!   when closed or dropped; the tokio and smol peers do it with their
//!   stream's `shutdown()`/`close()`, which a correct program calls (a
//!   tokio-rustls stream dropped without it sends no close_notify, and
//!   its peer reads "peer closed connection without sending TLS
//!   close_notify"). Without it those peers would do two writes per
//!   connection fewer than a clean close needs.
//!
//! Every peer's listener is the same socket setup (`SO_REUSEADDR`, backlog
//! 1024) so no one loses SYNs in the connect burst. Arguments: `--rounds N`
//! (default 5), `--cpu` (thread CPU time instead of wall time), `--quick` (smaller sizes, 3 rounds), `--peer NAME` (one
//! peer only, e.g. under strace or callgrind), name filters.
//!
//! Unix only (the listener setup and the thread CPU clock are Unix calls).
#![cfg_attr(not(unix), no_main)]
#![cfg(unix)]

use std::future::Future;
use std::net::SocketAddr;

mod stopwatch;
use stopwatch::Clock;

const MSG: usize = 64 * 1024;

#[derive(Clone, Copy)]
struct Sizes {
    echo_bytes: usize,
    clients: usize,
    requests: usize,
    tls_bytes: usize,
    handshakes: usize,
}

const FULL: Sizes = Sizes {
    echo_bytes: 256 << 20,
    clients: 1000,
    requests: 50,
    tls_bytes: 128 << 20,
    handshakes: 500,
};
const QUICK: Sizes = Sizes {
    echo_bytes: 32 << 20,
    clients: 200,
    requests: 10,
    tls_bytes: 16 << 20,
    handshakes: 100,
};

/// The rustls configurations every peer uses: a self-signed certificate
/// for "localhost", ring's crypto.
mod certs {
    use std::sync::{Arc, OnceLock};

    use futures_rustls::rustls::{self, pki_types::PrivateKeyDer};

    pub(crate) struct Configs {
        pub(crate) client: Arc<rustls::ClientConfig>,
        pub(crate) server: Arc<rustls::ServerConfig>,
    }

    pub(crate) fn get() -> &'static Configs {
        static CONFIGS: OnceLock<Configs> = OnceLock::new();
        CONFIGS.get_or_init(|| {
            let c = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("rcgen");
            let der = c.cert.der().clone();
            let key = PrivateKeyDer::try_from(c.signing_key.serialize_der()).expect("key");
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut roots = rustls::RootCertStore::empty();
            roots.add(der.clone()).expect("root");
            let client = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            let server = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_no_client_auth()
                .with_single_cert(vec![der], key)
                .expect("cert");
            Configs {
                client: Arc::new(client),
                server: Arc::new(server),
            }
        })
    }
}

/// A listening socket on 127.0.0.1 with a 1024 backlog, as std.
fn listener() -> std::net::TcpListener {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    let fd = rustix::net::socket_with(
        AddressFamily::INET,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .expect("socket");
    rustix::net::sockopt::set_socket_reuseaddr(&fd, true).expect("SO_REUSEADDR");
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    rustix::net::bind(&fd, &addr).expect("bind");
    rustix::net::listen(&fd, 1024).expect("listen");
    let l = std::net::TcpListener::from(fd);
    l.set_nonblocking(true).expect("nonblocking");
    l
}

fn line(i: usize) -> Vec<u8> {
    format!("request {i:05} hello\n").into_bytes()
}

// ---------------------------------------------------------------- anyloop

mod anyloop_peer {
    use super::*;
    use anyloop::net::{
        open_connection, start_server_on, tls, ConnectOptions, Protocol, ServerOptions,
        StreamReader, StreamWriter, Transport,
    };

    /// Echoes in chunks of up to `MSG`, read into one buffer (the
    /// peers' `read(&mut buf)`).
    async fn echo_bytes(mut r: StreamReader, w: StreamWriter) -> std::io::Result<()> {
        let mut buf = vec![0u8; MSG];
        loop {
            let n = r.read_into(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            w.write(&buf[..n]);
            w.drain().await?;
        }
    }

    async fn echo_lines(mut r: StreamReader, w: StreamWriter) -> std::io::Result<()> {
        loop {
            let l = r.readline().await?;
            if l.is_empty() {
                return Ok(());
            }
            w.write(&l);
            w.drain().await?;
        }
    }

    /// asyncio's protocol echo server, with flow control: stops reading
    /// while the peer is slow to take the echo.
    struct Echo(Option<Transport>);

    impl Protocol for Echo {
        fn connection_made(&mut self, t: Transport) {
            self.0 = Some(t);
        }
        fn data_received(&mut self, data: &[u8]) {
            if let Some(t) = &self.0 {
                t.write(data);
            }
        }
        fn pause_writing(&mut self) {
            if let Some(t) = &self.0 {
                t.pause_reading();
            }
        }
        fn resume_writing(&mut self) {
            if let Some(t) = &self.0 {
                t.resume_reading();
            }
        }
    }

    /// The echo server: streams (`lines`: line by line) or a protocol.
    fn serve_echo(protocol: bool, lines: bool) -> (anyloop::net::Server, u16) {
        if protocol {
            let l = anyloop::net::TcpListener::from_std(listener()).expect("listener");
            let port = l.local_addr().expect("addr").port();
            let server = anyloop::net::create_server_on(|| Echo(None), l).expect("server");
            (server, port)
        } else if lines {
            serve(echo_lines)
        } else {
            serve(echo_bytes)
        }
    }

    fn serve<H, F>(h: H) -> (anyloop::net::Server, u16)
    where
        H: Fn(StreamReader, StreamWriter) -> F + 'static,
        F: Future<Output = std::io::Result<()>> + 'static,
    {
        let l = anyloop::net::TcpListener::from_std(listener()).expect("listener");
        let port = l.local_addr().expect("addr").port();
        (start_server_on(h, l).expect("server"), port)
    }

    pub(crate) fn echo(total: usize) -> f64 {
        echo_with(total, false)
    }

    pub(crate) fn proto_echo(total: usize) -> f64 {
        echo_with(total, true)
    }

    fn echo_with(total: usize, protocol: bool) -> f64 {
        anyloop::run(async move {
            let (server, port) = serve_echo(protocol, false);
            let (mut r, w) = open_connection("127.0.0.1", port).await.expect("connect");
            let start = Clock::start();
            let msg = vec![0x5Au8; MSG];
            let send = async {
                for _ in 0..total / MSG {
                    w.write(&msg);
                    w.drain().await.expect("drain");
                }
            };
            let recv = async {
                let mut buf = vec![0u8; MSG];
                let mut got = 0;
                while got < total {
                    got += r.read_into(&mut buf).await.expect("read");
                }
            };
            futures_lite::future::zip(send, recv).await;
            let secs = start.secs();
            server.close();
            total as f64 / secs / 1e6
        })
    }

    fn serve_tls<H, F>(h: H) -> (anyloop::net::Server, u16)
    where
        H: Fn(StreamReader, StreamWriter) -> F + 'static,
        F: Future<Output = std::io::Result<()>> + 'static,
    {
        let l = anyloop::net::TcpListener::from_std(listener()).expect("listener");
        let port = l.local_addr().expect("addr").port();
        let cfg = tls::ServerConfig::from_rustls(certs::get().server.clone());
        let server = ServerOptions::new()
            .ssl(cfg)
            .start_server_on(h, l)
            .expect("server");
        (server, port)
    }

    fn tls_options() -> ConnectOptions {
        ConnectOptions::new()
            .ssl(tls::ClientConfig::from_rustls(certs::get().client.clone()))
            .server_hostname("localhost")
    }

    pub(crate) fn tls_echo(total: usize) -> f64 {
        anyloop::run(async move {
            let (server, port) = serve_tls(echo_bytes);
            let (mut r, w) = tls_options()
                .open_connection("127.0.0.1", port)
                .await
                .expect("connect");
            let start = Clock::start();
            let msg = vec![0x5Au8; MSG];
            let send = async {
                for _ in 0..total / MSG {
                    w.write(&msg);
                    w.drain().await.expect("drain");
                }
            };
            let recv = async {
                let mut buf = vec![0u8; MSG];
                let mut got = 0;
                while got < total {
                    got += r.read_into(&mut buf).await.expect("read");
                }
            };
            futures_lite::future::zip(send, recv).await;
            let secs = start.secs();
            server.close();
            server.abort_clients();
            total as f64 / secs / 1e6
        })
    }

    pub(crate) fn tls_handshakes(n: usize) -> f64 {
        anyloop::run(async move {
            let (server, port) = serve_tls(echo_lines);
            let opts = tls_options();
            let start = Clock::start();
            for i in 0..n {
                let (mut r, w) = opts
                    .open_connection("127.0.0.1", port)
                    .await
                    .expect("connect");
                let l = line(i);
                w.write(&l);
                assert_eq!(r.readline().await.expect("read"), l);
            }
            let secs = start.secs();
            server.close();
            server.abort_clients();
            n as f64 / secs
        })
    }

    pub(crate) fn requests(s: Sizes) -> f64 {
        requests_with(s, false)
    }

    pub(crate) fn proto_requests(s: Sizes) -> f64 {
        requests_with(s, true)
    }

    fn requests_with(s: Sizes, protocol: bool) -> f64 {
        anyloop::run(async move {
            let (server, port) = serve_echo(protocol, true);
            let start = Clock::start();
            let clients: Vec<_> = (0..s.clients)
                .map(|_| {
                    anyloop::spawn(async move {
                        let (mut r, w) = open_connection("127.0.0.1", port).await.expect("connect");
                        for i in 0..s.requests {
                            let l = line(i);
                            w.write(&l);
                            w.drain().await.expect("drain");
                            assert_eq!(r.readline().await.expect("read"), l);
                        }
                    })
                })
                .collect();
            for c in clients {
                c.await.expect("client");
            }
            let secs = start.secs();
            server.close();
            server.abort_clients();
            (s.clients * s.requests) as f64 / secs
        })
    }
}

// ---------------------------------------------------------------- tokio

mod tokio_peer {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::net::{TcpListener, TcpStream};

    fn run<F: Future>(fut: F) -> F::Output {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        tokio::task::LocalSet::new().block_on(&rt, fut)
    }

    /// Echoes a connection: line by line, or in chunks of up to `MSG`.
    ///
    /// Flushes after each write, as the smol peer does: a tokio-rustls
    /// stream whose socket is full keeps the records it made until the
    /// next write or flush ("it does not guarantee the final data to be
    /// sent"), so an echo that only writes can leave the tail of the
    /// data in rustls while its client waits for it (tokio's TLS echo
    /// hung once in about 80 runs). A plain socket's flush does nothing.
    async fn echo_conn<R, W>(rd: R, wr: &mut W, lines: bool)
    where
        R: tokio::io::AsyncRead + Unpin,
        W: tokio::io::AsyncWrite + Unpin,
    {
        if lines {
            let mut rd = BufReader::new(rd);
            let mut buf = String::new();
            loop {
                buf.clear();
                if rd.read_line(&mut buf).await.unwrap_or(0) == 0 {
                    return;
                }
                if wr.write_all(buf.as_bytes()).await.is_err() || wr.flush().await.is_err() {
                    return;
                }
            }
        } else {
            let mut rd = rd;
            let mut buf = vec![0u8; MSG];
            loop {
                let n = rd.read(&mut buf).await.unwrap_or(0);
                if n == 0 || wr.write_all(&buf[..n]).await.is_err() || wr.flush().await.is_err() {
                    return;
                }
            }
        }
    }

    fn serve(lines: bool) -> u16 {
        let l = TcpListener::from_std(listener()).expect("listener");
        let port = l.local_addr().expect("addr").port();
        tokio::task::spawn_local(async move {
            loop {
                let (s, _) = l.accept().await.expect("accept");
                s.set_nodelay(true).expect("nodelay");
                tokio::task::spawn_local(async move {
                    let (rd, mut wr) = s.into_split();
                    echo_conn(rd, &mut wr, lines).await;
                });
            }
        });
        port
    }

    pub(crate) fn echo(total: usize) -> f64 {
        run(async move {
            let port = serve(false);
            let s = TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            s.set_nodelay(true).expect("nodelay");
            let (mut rd, mut wr) = s.into_split();
            let start = Clock::start();
            let msg = vec![0x5Au8; MSG];
            let send = async {
                for _ in 0..total / MSG {
                    wr.write_all(&msg).await.expect("write");
                }
            };
            let recv = async {
                let mut buf = vec![0u8; MSG];
                let mut got = 0;
                while got < total {
                    got += rd.read(&mut buf).await.expect("read");
                }
            };
            futures_lite::future::zip(send, recv).await;
            total as f64 / start.secs() / 1e6
        })
    }

    /// A TLS echo server (`lines`: line by line, as `serve`).
    fn serve_tls(lines: bool) -> u16 {
        let l = TcpListener::from_std(listener()).expect("listener");
        let port = l.local_addr().expect("addr").port();
        let acceptor = tokio_rustls::TlsAcceptor::from(certs::get().server.clone());
        tokio::task::spawn_local(async move {
            loop {
                let (s, _) = l.accept().await.expect("accept");
                s.set_nodelay(true).expect("nodelay");
                let acceptor = acceptor.clone();
                tokio::task::spawn_local(async move {
                    let Ok(tls) = acceptor.accept(s).await else {
                        return;
                    };
                    let (rd, mut wr) = tokio::io::split(tls);
                    echo_conn(rd, &mut wr, lines).await;
                    // close_notify, as anyloop's writer sends on close.
                    let _ = wr.shutdown().await;
                });
            }
        });
        port
    }

    async fn connect_tls(port: u16) -> tokio_rustls::client::TlsStream<TcpStream> {
        let s = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        s.set_nodelay(true).expect("nodelay");
        let name = "localhost".try_into().expect("name");
        tokio_rustls::TlsConnector::from(certs::get().client.clone())
            .connect(name, s)
            .await
            .expect("handshake")
    }

    pub(crate) fn tls_echo(total: usize) -> f64 {
        run(async move {
            let port = serve_tls(false);
            let (mut rd, mut wr) = tokio::io::split(connect_tls(port).await);
            let start = Clock::start();
            let msg = vec![0x5Au8; MSG];
            let send = async {
                for _ in 0..total / MSG {
                    wr.write_all(&msg).await.expect("write");
                }
                wr.flush().await.expect("flush");
            };
            let recv = async {
                let mut buf = vec![0u8; MSG];
                let mut got = 0;
                while got < total {
                    got += rd.read(&mut buf).await.expect("read");
                }
            };
            futures_lite::future::zip(send, recv).await;
            total as f64 / start.secs() / 1e6
        })
    }

    pub(crate) fn tls_handshakes(n: usize) -> f64 {
        run(async move {
            let port = serve_tls(true);
            let start = Clock::start();
            for i in 0..n {
                let (rd, mut wr) = tokio::io::split(connect_tls(port).await);
                let mut rd = BufReader::new(rd);
                let l = line(i);
                wr.write_all(&l).await.expect("write");
                wr.flush().await.expect("flush");
                let mut buf = String::new();
                rd.read_line(&mut buf).await.expect("read");
                assert_eq!(buf.as_bytes(), l);
                // A clean TLS close (close_notify), as anyloop's dropped
                // writer does.
                wr.shutdown().await.expect("shutdown");
            }
            n as f64 / start.secs()
        })
    }

    pub(crate) fn requests(s: Sizes) -> f64 {
        run(async move {
            let port = serve(true);
            let start = Clock::start();
            let clients: Vec<_> = (0..s.clients)
                .map(|_| {
                    tokio::task::spawn_local(async move {
                        let st = TcpStream::connect(("127.0.0.1", port))
                            .await
                            .expect("connect");
                        st.set_nodelay(true).expect("nodelay");
                        let (rd, mut wr) = st.into_split();
                        let mut rd = BufReader::new(rd);
                        let mut buf = String::new();
                        for i in 0..s.requests {
                            let l = line(i);
                            wr.write_all(&l).await.expect("write");
                            buf.clear();
                            rd.read_line(&mut buf).await.expect("read");
                            assert_eq!(buf.as_bytes(), l);
                        }
                    })
                })
                .collect();
            for c in clients {
                c.await.expect("client");
            }
            (s.clients * s.requests) as f64 / start.secs()
        })
    }
}

// ---------------------------------------------------------------- smol

mod smol_peer {
    use super::*;
    use async_executor::LocalExecutor;
    use async_net::{TcpListener, TcpStream};
    use futures_lite::io::BufReader;
    use futures_lite::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    use std::rc::Rc;

    fn run<T>(f: impl FnOnce(Rc<LocalExecutor<'static>>) -> T) -> T {
        f(Rc::new(LocalExecutor::new()))
    }

    /// Echoes a connection: line by line, or in chunks of up to `MSG`;
    /// flushes every write (a TLS writer holds data until flushed).
    async fn echo_conn<R, W>(rd: R, wr: &mut W, lines: bool)
    where
        R: futures_lite::AsyncRead + Unpin,
        W: futures_lite::AsyncWrite + Unpin,
    {
        if lines {
            let mut rd = BufReader::new(rd);
            let mut buf = String::new();
            loop {
                buf.clear();
                if rd.read_line(&mut buf).await.unwrap_or(0) == 0 {
                    return;
                }
                if wr.write_all(buf.as_bytes()).await.is_err() || wr.flush().await.is_err() {
                    return;
                }
            }
        } else {
            let mut rd = rd;
            let mut buf = vec![0u8; MSG];
            loop {
                let n = rd.read(&mut buf).await.unwrap_or(0);
                if n == 0 || wr.write_all(&buf[..n]).await.is_err() || wr.flush().await.is_err() {
                    return;
                }
            }
        }
    }

    fn serve(ex: &Rc<LocalExecutor<'static>>, lines: bool) -> u16 {
        let l = TcpListener::try_from(listener()).expect("listener");
        let port = l.local_addr().expect("addr").port();
        let ex2 = ex.clone();
        ex.spawn(async move {
            loop {
                let (s, _) = l.accept().await.expect("accept");
                s.set_nodelay(true).expect("nodelay");
                ex2.spawn(async move {
                    let mut wr = s.clone();
                    echo_conn(s, &mut wr, lines).await;
                })
                .detach();
            }
        })
        .detach();
        port
    }

    pub(crate) fn echo(total: usize) -> f64 {
        run(|ex| {
            let port = serve(&ex, false);
            async_io::block_on(ex.run(async move {
                let s = TcpStream::connect(("127.0.0.1", port))
                    .await
                    .expect("connect");
                s.set_nodelay(true).expect("nodelay");
                let (mut rd, mut wr) = (s.clone(), s);
                let start = Clock::start();
                let msg = vec![0x5Au8; MSG];
                let send = async {
                    for _ in 0..total / MSG {
                        wr.write_all(&msg).await.expect("write");
                    }
                };
                let recv = async {
                    let mut buf = vec![0u8; MSG];
                    let mut got = 0;
                    while got < total {
                        got += rd.read(&mut buf).await.expect("read");
                    }
                };
                futures_lite::future::zip(send, recv).await;
                total as f64 / start.secs() / 1e6
            }))
        })
    }

    /// A TLS echo server on futures-rustls (`lines`: line by line).
    fn serve_tls(ex: &Rc<LocalExecutor<'static>>, lines: bool) -> u16 {
        let l = TcpListener::try_from(listener()).expect("listener");
        let port = l.local_addr().expect("addr").port();
        let acceptor = futures_rustls::TlsAcceptor::from(certs::get().server.clone());
        let ex2 = ex.clone();
        ex.spawn(async move {
            loop {
                let (s, _) = l.accept().await.expect("accept");
                s.set_nodelay(true).expect("nodelay");
                let acceptor = acceptor.clone();
                ex2.spawn(async move {
                    let Ok(tls) = acceptor.accept(s).await else {
                        return;
                    };
                    let (rd, mut wr) = futures_lite::io::split(tls);
                    echo_conn(rd, &mut wr, lines).await;
                    // close_notify, as anyloop's writer sends on close.
                    let _ = wr.close().await;
                })
                .detach();
            }
        })
        .detach();
        port
    }

    async fn connect_tls(port: u16) -> futures_rustls::client::TlsStream<TcpStream> {
        let s = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        s.set_nodelay(true).expect("nodelay");
        let name = "localhost".try_into().expect("name");
        futures_rustls::TlsConnector::from(certs::get().client.clone())
            .connect(name, s)
            .await
            .expect("handshake")
    }

    pub(crate) fn tls_echo(total: usize) -> f64 {
        run(|ex| {
            let port = serve_tls(&ex, false);
            async_io::block_on(ex.run(async move {
                let (mut rd, mut wr) = futures_lite::io::split(connect_tls(port).await);
                let start = Clock::start();
                let msg = vec![0x5Au8; MSG];
                let send = async {
                    for _ in 0..total / MSG {
                        wr.write_all(&msg).await.expect("write");
                        wr.flush().await.expect("flush");
                    }
                };
                let recv = async {
                    let mut buf = vec![0u8; MSG];
                    let mut got = 0;
                    while got < total {
                        got += rd.read(&mut buf).await.expect("read");
                    }
                };
                futures_lite::future::zip(send, recv).await;
                total as f64 / start.secs() / 1e6
            }))
        })
    }

    pub(crate) fn tls_handshakes(n: usize) -> f64 {
        run(|ex| {
            let port = serve_tls(&ex, true);
            async_io::block_on(ex.run(async move {
                let start = Clock::start();
                for i in 0..n {
                    let (rd, mut wr) = futures_lite::io::split(connect_tls(port).await);
                    let mut rd = BufReader::new(rd);
                    let l = line(i);
                    wr.write_all(&l).await.expect("write");
                    wr.flush().await.expect("flush");
                    let mut buf = String::new();
                    rd.read_line(&mut buf).await.expect("read");
                    assert_eq!(buf.as_bytes(), l);
                    // A clean TLS close (close_notify), as anyloop's
                    // dropped writer does.
                    wr.close().await.expect("close");
                }
                n as f64 / start.secs()
            }))
        })
    }

    pub(crate) fn requests(s: Sizes) -> f64 {
        run(|ex| {
            let port = serve(&ex, true);
            let ex2 = ex.clone();
            async_io::block_on(ex.run(async move {
                let start = Clock::start();
                let clients: Vec<_> = (0..s.clients)
                    .map(|_| {
                        ex2.spawn(async move {
                            let st = TcpStream::connect(("127.0.0.1", port))
                                .await
                                .expect("connect");
                            st.set_nodelay(true).expect("nodelay");
                            let mut wr = st.clone();
                            let mut rd = BufReader::new(st);
                            let mut buf = String::new();
                            for i in 0..s.requests {
                                let l = line(i);
                                wr.write_all(&l).await.expect("write");
                                buf.clear();
                                rd.read_line(&mut buf).await.expect("read");
                                assert_eq!(buf.as_bytes(), l);
                            }
                        })
                    })
                    .collect();
                for c in clients {
                    c.await;
                }
                (s.clients * s.requests) as f64 / start.secs()
            }))
        })
    }
}

// ---------------------------------------------------------------- harness

type Peer = (&'static str, fn(Sizes) -> f64);

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let mut rounds = None;
    let mut sizes = FULL;
    let mut filters = Vec::new();
    let mut only_peer: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bench" => {}
            "--quick" => sizes = QUICK,
            "--rounds" => rounds = args.next().and_then(|n| n.parse::<usize>().ok()),
            "--peer" => only_peer = args.next(),
            // Every peer runs client and server on this one thread.
            "--cpu" => stopwatch::use_cpu_clock(stopwatch::CpuClock::Thread),
            f if !f.starts_with('-') => filters.push(f.to_string()),
            other => eprintln!("streams bench: ignoring argument {other:?}"),
        }
    }
    let rounds = rounds.unwrap_or(if filters.is_empty() && sizes.clients == QUICK.clients {
        3
    } else {
        5
    });
    let rows: Vec<(&str, &str, [Peer; 3])> = vec![
        (
            "echo_64k",
            "MB/s",
            [
                ("anyloop", |s| anyloop_peer::echo(s.echo_bytes)),
                ("tokio", |s| tokio_peer::echo(s.echo_bytes)),
                ("smol", |s| smol_peer::echo(s.echo_bytes)),
            ],
        ),
        (
            "requests",
            "req/s",
            [
                ("anyloop", anyloop_peer::requests),
                ("tokio", tokio_peer::requests),
                ("smol", smol_peer::requests),
            ],
        ),
        // The same clients against anyloop's protocol echo server
        // (`create_server_on` + `Protocol`) instead of the Streams one.
        (
            "proto_echo_64k",
            "MB/s",
            [
                ("anyloop", |s| anyloop_peer::proto_echo(s.echo_bytes)),
                ("tokio", |s| tokio_peer::echo(s.echo_bytes)),
                ("smol", |s| smol_peer::echo(s.echo_bytes)),
            ],
        ),
        (
            "proto_requests",
            "req/s",
            [
                ("anyloop", anyloop_peer::proto_requests),
                ("tokio", tokio_peer::requests),
                ("smol", smol_peer::requests),
            ],
        ),
        (
            "tls_echo",
            "MB/s",
            [
                ("anyloop", |s| anyloop_peer::tls_echo(s.tls_bytes)),
                ("tokio", |s| tokio_peer::tls_echo(s.tls_bytes)),
                ("smol", |s| smol_peer::tls_echo(s.tls_bytes)),
            ],
        ),
        (
            "tls_handshakes",
            "hs/s",
            [
                ("anyloop", |s| anyloop_peer::tls_handshakes(s.handshakes)),
                ("tokio", |s| tokio_peer::tls_handshakes(s.handshakes)),
                ("smol", |s| smol_peer::tls_handshakes(s.handshakes)),
            ],
        ),
    ];
    println!(
        "anyloop Streams vs tokio (current_thread + LocalSet) vs smol (LocalExecutor + async-net), \
         127.0.0.1, one thread each, median of {rounds} interleaved rounds after a warm-up{}",
        if stopwatch::cpu() {
            "; per thread CPU second (--cpu)"
        } else {
            ""
        }
    );
    println!(
        "sizes: echo_64k {} MiB in 64 KiB messages; requests {} clients x {} lines; \
         tls_echo {} MiB; tls_handshakes {} connections; TLS peers: tokio + tokio-rustls, \
         smol + futures-rustls (rustls + ring for all)",
        sizes.echo_bytes >> 20,
        sizes.clients,
        sizes.requests,
        sizes.tls_bytes >> 20,
        sizes.handshakes
    );
    println!(
        "\n{:<14} {:>6} {:>12} {:>12} {:>12} {:>8}",
        "workload", "unit", "anyloop", "tokio", "smol", "ratio"
    );
    for (name, unit, peers) in rows {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let mut samples = vec![Vec::new(); peers.len()];
        for round in 0..=rounds {
            for (i, (peer, f)) in peers.iter().enumerate() {
                if only_peer.as_deref().is_some_and(|p| p != *peer) {
                    samples[i].push(f64::NAN);
                    continue;
                }
                let v = f(sizes);
                if round > 0 {
                    samples[i].push(v);
                }
            }
        }
        let med: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();
        let best_peer = med[1..].iter().cloned().fold(f64::MIN, f64::max);
        println!(
            "{:<14} {:>6} {:>12.0} {:>12.0} {:>12.0} {:>8.2}",
            name,
            unit,
            med[0],
            med[1],
            med[2],
            med[0] / best_peer
        );
    }
    println!("\nratio = anyloop / best peer (higher is better here: > 1 means anyloop is faster)");
}
