//! asyncio's transports and protocols: callback order, flow control
//! (pause_writing at the high mark, resume_writing at the low mark),
//! half-close, abort, buffered protocols, datagrams, and `Unsupported` on
//! hosts without sockets.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use anyloop::future::Promise;
use anyloop::net::{
    connect_accepted_socket, create_connection, create_datagram_endpoint, create_server, Buffered,
    BufferedProtocol, DatagramProtocol, DatagramTransport, Protocol, TcpListener, TcpStream,
    Transport,
};

mod common;

type Log = Rc<RefCell<Vec<String>>>;

/// Records every callback; echoes data; optionally keeps the connection
/// open after the peer's EOF.
struct Recorder {
    log: Log,
    t: Option<Transport>,
    echo: bool,
    keep_open_on_eof: bool,
    lost: Promise<()>,
}

impl Recorder {
    fn new(log: &Log, echo: bool) -> (Recorder, Promise<()>) {
        let lost = Promise::new();
        (
            Recorder {
                log: log.clone(),
                t: None,
                echo,
                keep_open_on_eof: false,
                lost: lost.clone(),
            },
            lost,
        )
    }
}

impl Protocol for Recorder {
    fn connection_made(&mut self, t: Transport) {
        self.log.borrow_mut().push("made".into());
        self.t = Some(t);
    }
    fn data_received(&mut self, data: &[u8]) {
        self.log
            .borrow_mut()
            .push(format!("data {}", String::from_utf8_lossy(data)));
        if self.echo {
            if let Some(t) = &self.t {
                t.write(data);
            }
        }
    }
    fn eof_received(&mut self) -> bool {
        self.log.borrow_mut().push("eof".into());
        if self.keep_open_on_eof {
            if let Some(t) = &self.t {
                t.write(b"bye");
                t.close();
            }
        }
        self.keep_open_on_eof
    }
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        self.log.borrow_mut().push(match exc {
            None => "lost".into(),
            Some(e) => format!("lost {:?}", e.kind()),
        });
        let _ = self.lost.set(());
    }
}

fn unsupported_everywhere_else<T: std::fmt::Debug>(res: io::Result<T>, what: &str) {
    common::supported(res, false, what);
}

#[anyloop::test]
async fn callbacks_come_in_asyncio_order() {
    if !common::tcp_loopback() {
        let err =
            create_connection(|| Recorder::new(&Log::default(), false).0, "127.0.0.1", 1).await;
        unsupported_everywhere_else(err, "create_connection");
        let err = create_server(|| Recorder::new(&Log::default(), false).0, "127.0.0.1", 0).await;
        unsupported_everywhere_else(err, "create_server");
        return;
    }
    let server_log = Log::default();
    let server_lost: Rc<RefCell<Vec<Promise<()>>>> = Rc::default();
    let (sl, slost) = (server_log.clone(), server_lost.clone());
    let server = create_server(
        move || {
            let (mut p, lost) = Recorder::new(&sl, true);
            p.keep_open_on_eof = true;
            slost.borrow_mut().push(lost);
            p
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let port = server.local_addr().unwrap().port();

    let client_log = Log::default();
    let (client, client_lost) = Recorder::new(&client_log, false);
    let t = create_connection(move || client, "127.0.0.1", port)
        .await
        .unwrap();
    assert_eq!(
        *client_log.borrow(),
        ["made"],
        "connection_made runs before the return"
    );
    assert_eq!(t.peer_addr().unwrap().port(), port);
    assert_eq!(t.local_addr().unwrap().ip(), t.peer_addr().unwrap().ip());
    assert!(t.can_write_eof());
    t.write(b"hello");
    common::wait_until("echo", Duration::from_secs(10), || {
        client_log.borrow().len() >= 2
    })
    .await;
    t.write_eof();
    common::deadline("client lost", client_lost.wait())
        .await
        .unwrap();
    let server_lost = server_lost.borrow()[0].clone();
    common::deadline("server lost", server_lost.wait())
        .await
        .unwrap();
    assert_eq!(
        *client_log.borrow(),
        ["made", "data hello", "data bye", "eof", "lost"]
    );
    assert_eq!(*server_log.borrow(), ["made", "data hello", "eof", "lost"]);
    assert!(t.is_closing());
    t.write(b"after close is dropped");
    server.close();
    server.wait_closed().await;
}

/// Queues `FLOOD` bytes at once; records the flow-control callbacks.
struct Flooder {
    t: Option<Transport>,
    events: Log,
}

/// More than a loopback connection's kernel buffers hold.
const FLOOD: usize = 32 << 20;

impl Protocol for Flooder {
    fn connection_made(&mut self, t: Transport) {
        t.set_write_buffer_limits(Some(64 * 1024), Some(16 * 1024));
        assert_eq!(t.write_buffer_limits(), (16 * 1024, 64 * 1024));
        let chunk = vec![b'x'; 32 * 1024];
        for _ in 0..FLOOD / chunk.len() {
            t.write(&chunk);
        }
        self.t = Some(t);
    }
    fn data_received(&mut self, _data: &[u8]) {}
    fn pause_writing(&mut self) {
        let size = self.t.as_ref().map_or(0, Transport::write_buffer_size);
        self.events.borrow_mut().push(format!("pause {size}"));
    }
    fn resume_writing(&mut self) {
        let size = self.t.as_ref().map_or(0, Transport::write_buffer_size);
        self.events.borrow_mut().push(format!("resume {size}"));
    }
}

#[anyloop::test]
async fn a_peer_that_stops_reading_pauses_and_resumes_writing() {
    if !common::tcp_loopback() {
        return;
    }
    let listener = anyloop::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let events = Log::default();
    let ev = events.clone();
    let t = create_connection(
        move || Flooder {
            t: None,
            events: ev,
        },
        "127.0.0.1",
        addr.port(),
    )
    .await
    .unwrap();
    // The peer accepts but does not read: the kernel buffers fill, then
    // the transport's buffer passes the high mark.
    let (peer, _) = listener.accept().await.unwrap();
    common::wait_until("pause_writing", Duration::from_secs(30), || {
        !events.borrow().is_empty()
    })
    .await;
    {
        let ev = events.borrow();
        assert_eq!(ev.len(), 1, "{ev:?}");
        let size: usize = ev[0].strip_prefix("pause ").unwrap().parse().unwrap();
        assert!(size > 64 * 1024, "paused at {size}");
    }
    anyloop::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        events.borrow().len(),
        1,
        "paused once while the peer sleeps"
    );
    assert!(t.write_buffer_size() > 64 * 1024);

    // The peer reads again: the buffer drains to the low mark.
    let reader = anyloop::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0usize;
        loop {
            match peer.read(&mut buf).await {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n,
            }
        }
    });
    common::wait_until("resume_writing", Duration::from_secs(30), || {
        events.borrow().len() >= 2
    })
    .await;
    {
        let ev = events.borrow();
        let size: usize = ev[1].strip_prefix("resume ").unwrap().parse().unwrap();
        assert!(size <= 16 * 1024, "resumed at {size}: {ev:?}");
    }
    t.close();
    let total = common::deadline("peer drains", reader).await.unwrap();
    assert_eq!(total, FLOOD);
}

#[anyloop::test]
async fn abort_drops_the_buffer_and_reports_lost() {
    if !common::tcp_loopback() {
        return;
    }
    let listener = anyloop::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let log = Log::default();
    let (p, lost) = Recorder::new(&log, false);
    let t = create_connection(
        move || p,
        "127.0.0.1",
        listener.local_addr().unwrap().port(),
    )
    .await
    .unwrap();
    let (peer, _) = listener.accept().await.unwrap();
    t.pause_reading();
    assert!(!t.is_reading());
    t.resume_reading();
    assert!(t.is_reading());
    t.abort();
    assert!(t.is_closing());
    common::deadline("lost", lost.wait()).await.unwrap();
    assert_eq!(*log.borrow(), ["made", "lost"]);
    let mut buf = [0u8; 8];
    assert_eq!(peer.read(&mut buf).await.unwrap_or(0), 0);
}

/// Reads into its own small buffer.
struct Collect {
    buf: Vec<u8>,
    got: Rc<RefCell<Vec<u8>>>,
    lost: Promise<()>,
}

impl BufferedProtocol for Collect {
    fn get_buffer(&mut self, sizehint: usize) -> &mut [u8] {
        assert!(sizehint > 0);
        &mut self.buf
    }
    fn buffer_updated(&mut self, nbytes: usize) {
        self.got.borrow_mut().extend_from_slice(&self.buf[..nbytes]);
    }
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        assert!(exc.is_none(), "{exc:?}");
        let _ = self.lost.set(());
    }
}

/// Sends `data` and closes.
struct SendAll(Vec<u8>);

impl Protocol for SendAll {
    fn connection_made(&mut self, t: Transport) {
        t.writelines([&self.0[..10], &self.0[10..]]);
        t.close();
    }
    fn data_received(&mut self, _: &[u8]) {}
}

#[anyloop::test]
async fn buffered_protocol_reads_into_its_buffer() {
    if !common::tcp_loopback() {
        return;
    }
    let got: Rc<RefCell<Vec<u8>>> = Rc::default();
    let lost = Promise::new();
    let (g, l) = (got.clone(), lost.clone());
    let server = create_server(
        move || {
            Buffered(Collect {
                buf: vec![0; 7],
                got: g.clone(),
                lost: l.clone(),
            })
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    let d = data.clone();
    create_connection(
        move || SendAll(d),
        "127.0.0.1",
        server.local_addr().unwrap().port(),
    )
    .await
    .unwrap();
    common::deadline("server side lost", lost.wait())
        .await
        .unwrap();
    assert!(*got.borrow() == data, "data corrupted");
    server.close();
    server.abort_clients();
    server.wait_closed().await;
}

/// asyncio's UDP echo server.
struct UdpEcho(Option<DatagramTransport>);

impl DatagramProtocol for UdpEcho {
    fn connection_made(&mut self, t: DatagramTransport) {
        self.0 = Some(t);
    }
    fn datagram_received(&mut self, data: &[u8], addr: SocketAddr) {
        if let Some(t) = &self.0 {
            t.sendto(data, Some(addr));
        }
    }
}

/// Sends on connect, records replies and errors.
struct UdpClient {
    log: Log,
    lost: Promise<()>,
}

impl DatagramProtocol for UdpClient {
    fn connection_made(&mut self, t: DatagramTransport) {
        t.sendto(b"one", None);
        t.sendto(b"two", None);
    }
    fn datagram_received(&mut self, data: &[u8], _addr: SocketAddr) {
        self.log
            .borrow_mut()
            .push(String::from_utf8_lossy(data).into_owned());
    }
    fn error_received(&mut self, exc: io::Error) {
        self.log
            .borrow_mut()
            .push(format!("error {:?}", exc.kind()));
    }
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        assert!(exc.is_none());
        let _ = self.lost.set(());
    }
}

#[anyloop::test]
async fn datagram_echo_and_errors() {
    let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let caps = anyloop::capabilities();
    let res = create_datagram_endpoint(|| UdpEcho(None), Some(local), None).await;
    let Some(server) = common::supported(res, caps.udp, "create_datagram_endpoint") else {
        return;
    };
    let server_addr = server.local_addr().unwrap();
    let log = Log::default();
    let lost = Promise::new();
    let (l, lo) = (log.clone(), lost.clone());
    let client = create_datagram_endpoint(
        move || UdpClient { log: l, lost: lo },
        None,
        Some(server_addr),
    )
    .await
    .unwrap();
    assert_eq!(client.peer_addr().unwrap(), server_addr);
    common::wait_until("two echoes", Duration::from_secs(10), || {
        log.borrow().len() >= 2
    })
    .await;
    assert_eq!(*log.borrow(), ["one", "two"]);

    // The server goes away: sending to its closed port is refused (ICMP),
    // which error_received reports; the endpoint stays open.
    server.close();
    anyloop::sleep(Duration::from_millis(20)).await;
    assert!(server.is_closing());
    client.sendto(b"three", None);
    // Wine 8 reports no error for the ICMP reply on a UDP socket (nothing
    // arrives within the 10 s); Windows says WSAECONNRESET, Unix
    // ECONNREFUSED.
    if !common::under_wine() {
        common::wait_until("error_received", Duration::from_secs(10), || {
            log.borrow().len() >= 3
        })
        .await;
        let expected = if cfg!(windows) {
            "error ConnectionReset"
        } else {
            "error ConnectionRefused"
        };
        assert_eq!(log.borrow()[2], expected);
    }
    assert!(!client.is_closing());
    client.close();
    common::deadline("lost", lost.wait()).await.unwrap();
    let err = create_datagram_endpoint(|| UdpEcho(None), None, None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[anyloop::test]
async fn unix_protocols_or_unsupported() {
    let caps = anyloop::capabilities();
    // (WASI has no temporary directory; the path is not used there.)
    let path = if cfg!(target_family = "wasm") {
        std::path::PathBuf::from("anyloop-proto.sock")
    } else {
        std::env::temp_dir().join(format!("anyloop-proto-{}.sock", std::process::id()))
    };
    let log = Log::default();
    let sl = log.clone();
    let res = anyloop::net::create_unix_server(move || Recorder::new(&sl, true).0, &path).await;
    let Some(server) = common::supported(res, caps.unix_sockets, "create_unix_server") else {
        let res =
            anyloop::net::create_unix_connection(|| Recorder::new(&Log::default(), false).0, &path)
                .await;
        common::supported(res, false, "create_unix_connection");
        return;
    };
    let client_log = Log::default();
    let (p, lost) = Recorder::new(&client_log, false);
    let t = anyloop::net::create_unix_connection(move || p, &path)
        .await
        .unwrap();
    assert!(t.peer_addr().is_err());
    t.write(b"unix");
    common::wait_until("echo", Duration::from_secs(10), || {
        client_log.borrow().len() >= 2
    })
    .await;
    t.close();
    common::deadline("lost", lost.wait()).await.unwrap();
    assert_eq!(*client_log.borrow(), ["made", "data unix", "lost"]);
    server.close();
    server.wait_closed().await;
}

#[anyloop::test]
async fn stdio_transport_is_unsupported_without_async_stdio() {
    let caps = anyloop::capabilities();
    if caps.async_stdio {
        // Natively and on WASI the examples test it (the test's own stdin
        // belongs to the harness).
        return;
    }
    let res = anyloop::net::connect_stdio(|| Recorder::new(&Log::default(), false).0);
    common::supported(res, false, "connect_stdio");
}

/// A transport's (peer, local) addresses, or why they are unknown.
type AddrLog = Rc<RefCell<Vec<io::Result<(SocketAddr, SocketAddr)>>>>;

/// Records the transport's addresses when the connection is lost, without
/// having asked for them before.
struct AddrsAtLoss {
    t: Option<Transport>,
    seen: AddrLog,
}

impl Protocol for AddrsAtLoss {
    fn connection_made(&mut self, t: Transport) {
        self.t = Some(t);
    }
    fn data_received(&mut self, _data: &[u8]) {}
    fn connection_lost(&mut self, _exc: Option<io::Error>) {
        if let Some(t) = &self.t {
            let addrs = t.peer_addr().and_then(|p| Ok((p, t.local_addr()?)));
            self.seen.borrow_mut().push(addrs);
        }
    }
}

#[anyloop::test]
async fn addresses_are_known_until_connection_lost_returns() {
    if !common::tcp_loopback() {
        return;
    }
    // The server side never asks before connection_lost: peername comes
    // from accept, sockname from the socket, still open in that callback.
    let seen = AddrLog::default();
    let s = seen.clone();
    let server = create_server(
        move || AddrsAtLoss {
            t: None,
            seen: s.clone(),
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let server_addr = server.local_addr().unwrap();
    let (client, _lost) = Recorder::new(&Log::default(), false);
    let t = create_connection(move || client, "127.0.0.1", server_addr.port())
        .await
        .unwrap();
    // The client asks while connected; the answer outlives the connection.
    let client_local = t.local_addr().unwrap();
    assert_eq!(t.peer_addr().unwrap(), server_addr);
    t.close();
    common::wait_until("server's connection_lost", Duration::from_secs(10), || {
        !seen.borrow().is_empty()
    })
    .await;
    let (peer, local) = seen.borrow_mut().remove(0).unwrap();
    assert_eq!(peer, client_local);
    assert_eq!(local, server_addr);
    common::wait_until("client closed", Duration::from_secs(10), || t.is_closing()).await;
    anyloop::sleep(Duration::from_millis(10)).await;
    assert_eq!(t.local_addr().unwrap(), client_local);
    assert_eq!(t.peer_addr().unwrap(), server_addr);
    server.close();
}

#[anyloop::test]
async fn a_client_transport_knows_its_peer_after_connection_lost() {
    if !common::tcp_loopback() {
        return;
    }
    // Never asked while connected: create_connection knows the address it
    // connected to, connect_accepted_socket asks when it makes the
    // transport (as asyncio does), so both still answer once the socket
    // is closed.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server_addr = listener.local_addr().unwrap();
    let (p, lost) = Recorder::new(&Log::default(), false);
    let t = create_connection(move || p, "127.0.0.1", server_addr.port())
        .await
        .unwrap();
    let (accepted, _) = listener.accept().await.unwrap();
    t.close();
    common::deadline("create_connection's connection_lost", lost.wait())
        .await
        .unwrap();
    anyloop::sleep(Duration::from_millis(10)).await;
    assert_eq!(t.peer_addr().unwrap(), server_addr);
    drop(accepted);

    let stream = TcpStream::connect(server_addr).await.unwrap();
    // WASI p1 cannot tell a socket's peer (it reports 0.0.0.0:0).
    let known = stream
        .peer_addr()
        .is_ok_and(|a| !a.ip().is_unspecified() || a.port() != 0);
    let (p, lost) = Recorder::new(&Log::default(), false);
    let t = connect_accepted_socket(move || p, stream).unwrap();
    let (accepted, _) = listener.accept().await.unwrap();
    t.close();
    common::deadline("connect_accepted_socket's connection_lost", lost.wait())
        .await
        .unwrap();
    anyloop::sleep(Duration::from_millis(10)).await;
    if known {
        assert_eq!(t.peer_addr().unwrap(), server_addr);
    }
    drop(accepted);
}
