//! start_server / open_connection: many clients, resets, panics and
//! graceful shutdown. Native (and any host with TCP listen + connect);
//! `Unsupported` asserted elsewhere.

mod common;

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::time::Duration;

use anyloop::net::{open_connection, start_server, Server, StreamReader, StreamWriter};

/// Echoes lines until end of stream.
async fn echo(mut r: StreamReader, w: StreamWriter) -> io::Result<()> {
    loop {
        let line = r.readline().await?;
        if line.is_empty() {
            break;
        }
        w.write(&line);
        w.drain().await?;
    }
    w.close();
    w.wait_closed().await
}

/// An echo server, or `None` (after checking `Unsupported`) on hosts
/// without TCP listeners and outgoing connections.
async fn echo_server() -> Option<Server> {
    let caps = anyloop::capabilities();
    let server = common::supported(
        start_server(echo, "127.0.0.1", 0).await,
        caps.tcp_listen,
        "start_server",
    )?;
    let port = server.local_addr().unwrap().port();
    common::supported(
        open_connection("127.0.0.1", port).await,
        caps.tcp_connect,
        "open_connection",
    )?;
    Some(server)
}

async fn round_trip(port: u16, msg: &[u8]) -> io::Result<Vec<u8>> {
    let (mut r, w) = open_connection("127.0.0.1", port).await?;
    w.write(msg);
    w.drain().await?;
    r.readline().await
}

#[anyloop::test]
async fn thousand_clients_echo_hundred_lines_each() {
    const CLIENTS: usize = 1000;
    const LINES: usize = 100;
    // Two descriptors per connection (client and server side) + slack.
    let limit = common::raise_fd_limit(2 * CLIENTS as u64 + 200);
    assert!(
        limit >= 2 * CLIENTS as u64 + 100,
        "open-file limit {limit} too low for {CLIENTS} clients; raise `ulimit -n`"
    );
    let Some(server) = echo_server().await else {
        return;
    };
    let port = server.local_addr().unwrap().port();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            anyloop::spawn(async move {
                let (mut r, w) = open_connection("127.0.0.1", port).await?;
                let line = |i: usize| {
                    // Lines of varying length so packets split differently.
                    let pad = "x".repeat((c * 7 + i * 13) % 61);
                    format!("client {c:04} line {i:03} {pad}\n").into_bytes()
                };
                let send = async {
                    for i in 0..LINES {
                        w.write(&line(i));
                        w.drain().await?;
                    }
                    w.write_eof();
                    io::Result::Ok(())
                };
                let check = async {
                    for i in 0..LINES {
                        let got = r.readline().await?;
                        assert_eq!(got, line(i), "client {c} line {i}");
                    }
                    assert_eq!(r.readline().await?, b"", "client {c}: data after the echo");
                    io::Result::Ok(())
                };
                let (a, b) = futures_lite::future::zip(send, check).await;
                a.and(b)
            })
        })
        .collect();
    common::deadline("1000 clients", async {
        for (c, t) in clients.into_iter().enumerate() {
            t.await
                .unwrap()
                .unwrap_or_else(|e| panic!("client {c}: {e}"));
        }
    })
    .await;
    common::shut_down(&server).await;
}

/// Makes closing `stream` reset the connection (SO_LINGER 0: RST instead
/// of FIN) where the host has the option; returns whether it does.
#[cfg(not(target_family = "wasm"))]
fn reset_on_close(stream: &anyloop::net::TcpStream) -> bool {
    rustix::net::sockopt::set_socket_linger(stream.get_ref(), Some(Duration::ZERO)).unwrap();
    true
}

/// WASI sockets have no SO_LINGER: the close sends a FIN mid-line.
#[cfg(target_family = "wasm")]
fn reset_on_close(_stream: &anyloop::net::TcpStream) -> bool {
    false
}

#[anyloop::test]
async fn peer_reset_fails_only_that_connection() {
    let caps = anyloop::capabilities();
    let results: Rc<RefCell<Vec<io::Result<()>>>> = Rc::default();
    let res2 = results.clone();
    let server = common::supported(
        start_server(
            move |r, w| {
                let results = res2.clone();
                async move {
                    let res = echo(r, w).await;
                    results.borrow_mut().push(match &res {
                        Ok(()) => Ok(()),
                        Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
                    });
                    res
                }
            },
            "127.0.0.1",
            0,
        )
        .await,
        caps.tcp_listen,
        "start_server",
    );
    let Some(server) = server else { return };
    let port = server.local_addr().unwrap().port();
    let Some(_) = common::supported(
        anyloop::net::TcpStream::connect_addr(server.local_addr().unwrap()).await,
        caps.tcp_connect,
        "TcpStream::connect_addr",
    ) else {
        return;
    };
    wait_for_results(&results, 1).await;

    // A healthy client, connected before the reset.
    let (mut healthy_r, healthy_w) = open_connection("127.0.0.1", port).await.unwrap();
    healthy_w.write(b"before\n");
    healthy_w.drain().await.unwrap();
    assert_eq!(healthy_r.readline().await.unwrap(), b"before\n");

    // The rude client: one line, half a line, then RST.
    let rude = anyloop::net::TcpStream::connect_addr(server.local_addr().unwrap())
        .await
        .unwrap();
    rude.write_all(b"hello\n").await.unwrap();
    let mut buf = [0u8; 6];
    let mut got = 0;
    while got < 6 {
        got += rude.read(&mut buf[got..]).await.unwrap();
    }
    assert_eq!(&buf, b"hello\n");
    rude.write_all(b"half a li").await.unwrap();
    let reset = reset_on_close(&rude);
    drop(rude);

    // Its handler ends: with the reset's error where the host could send
    // one (after a FIN it may end either way: echoing the half line to a
    // closed peer can fail).
    wait_for_results(&results, 2).await;
    if reset {
        let results = results.borrow();
        let err = results[1].as_ref().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
    }

    // The healthy connection and new ones still work.
    healthy_w.write(b"after\n");
    healthy_w.drain().await.unwrap();
    assert_eq!(healthy_r.readline().await.unwrap(), b"after\n");
    assert_eq!(round_trip(port, b"new\n").await.unwrap(), b"new\n");
    assert!(server.is_serving());
    common::shut_down(&server).await;
}

async fn wait_for_results(results: &Rc<RefCell<Vec<io::Result<()>>>>, n: usize) {
    common::wait_until("handler results", Duration::from_secs(30), || {
        results.borrow().len() >= n
    })
    .await;
}

#[anyloop::test]
async fn panicking_handler_closes_only_its_connection() {
    let caps = anyloop::capabilities();
    if !caps.catch_panic {
        // wasm32 builds with panic=abort: a panicking handler would take the
        // whole instance down; the flag says so.
        return;
    }
    let server = common::supported(
        start_server(
            |mut r: StreamReader, w: StreamWriter| async move {
                let line = r.readline().await?;
                if line == b"panic\n" {
                    panic!("handler panics on purpose (expected by the test)");
                }
                w.write(&line);
                w.drain().await
            },
            "127.0.0.1",
            0,
        )
        .await,
        caps.tcp_listen,
        "start_server",
    );
    let Some(server) = server else { return };
    let port = server.local_addr().unwrap().port();
    let Some((mut r, w)) = common::supported(
        open_connection("127.0.0.1", port).await,
        caps.tcp_connect,
        "open_connection",
    ) else {
        return;
    };
    w.write(b"panic\n");
    w.drain().await.unwrap();
    // The panicking connection is closed: end of stream (or a reset).
    match r.readline().await {
        Ok(line) => assert_eq!(line, b""),
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
    }
    assert_eq!(round_trip(port, b"fine\n").await.unwrap(), b"fine\n");
    assert!(server.is_serving());
    common::shut_down(&server).await;
}

#[anyloop::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    const CLIENTS: usize = 50;
    let caps = anyloop::capabilities();
    let started = Rc::new(Cell::new(0usize));
    let release = Rc::new(Cell::new(false));
    let (s2, r2) = (started.clone(), release.clone());
    let server = common::supported(
        start_server(
            move |mut r: StreamReader, w: StreamWriter| {
                let (started, release) = (s2.clone(), r2.clone());
                async move {
                    let req = r.readline().await?;
                    started.set(started.get() + 1);
                    while !release.get() {
                        anyloop::sleep(Duration::from_millis(1)).await;
                    }
                    w.write(b"done:");
                    w.write(&req);
                    w.drain().await?;
                    w.close();
                    w.wait_closed().await
                }
            },
            "127.0.0.1",
            0,
        )
        .await,
        caps.tcp_listen,
        "start_server",
    );
    let Some(server) = server else { return };
    let addr = server.local_addr().unwrap();
    let server = Rc::new(server);
    let Some(_) = common::supported(
        anyloop::net::TcpStream::connect_addr(addr).await,
        caps.tcp_connect,
        "TcpStream::connect_addr",
    ) else {
        return;
    };
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            anyloop::spawn(async move {
                let (mut r, w) = open_connection("127.0.0.1", addr.port()).await?;
                w.write(format!("req{i}\n").as_bytes());
                w.drain().await?;
                let resp = r.readline().await?;
                io::Result::Ok((i, resp))
            })
        })
        .collect();
    // 50 requests in flight (plus the probe connection, which sent nothing).
    common::wait_until("50 requests in flight", Duration::from_secs(30), || {
        started.get() > CLIENTS
    })
    .await;

    server.close();
    assert!(!server.is_serving());
    // New connections are refused at once.
    let refused = anyloop::net::TcpStream::connect_addr(addr).await;
    assert_eq!(
        refused.map(drop).unwrap_err().kind(),
        io::ErrorKind::ConnectionRefused
    );

    let s = server.clone();
    let closed = anyloop::spawn(async move { s.wait_closed().await });
    anyloop::sleep(Duration::from_millis(20)).await;
    assert!(
        !closed.is_finished(),
        "wait_closed returned with handlers running"
    );
    assert!(server.active_connections() >= CLIENTS);

    release.set(true);
    common::deadline("clients", async {
        for c in clients {
            let (i, resp) = c.await.unwrap().unwrap();
            assert_eq!(resp, format!("done:req{i}\n").as_bytes());
        }
    })
    .await;
    common::deadline("wait_closed", closed).await.unwrap();
    assert_eq!(server.active_connections(), 0);
}

#[anyloop::test]
async fn open_connection_errors_and_timeout() {
    let caps = anyloop::capabilities();
    if !caps.tcp_connect {
        let err = open_connection("127.0.0.1", 9).await.map(drop).unwrap_err();
        common::supported::<()>(Err(err), false, "open_connection");
        return;
    }
    if !caps.tcp_listen {
        return;
    }
    // A port nobody listens on: bind one, note it, close it.
    let port = {
        let l = anyloop::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = open_connection("127.0.0.1", port)
        .await
        .map(drop)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");

    // Names resolve off the loop; every address is tried.
    let Some(server) = echo_server().await else {
        return;
    };
    let port = server.local_addr().unwrap().port();
    let (mut r, w) = anyloop::net::ConnectOptions::new()
        .timeout(Duration::from_secs(10))
        .open_connection("localhost", port)
        .await
        .unwrap();
    assert_eq!(w.peer_addr().unwrap().port(), port);
    assert!(w.local_addr().unwrap().ip().is_loopback());
    w.write(b"by name\n");
    w.drain().await.unwrap();
    assert_eq!(r.readline().await.unwrap(), b"by name\n");
    drop((r, w));
    common::shut_down(&server).await;

    connect_timeout().await;
}

/// A listener whose accept queue is full drops new SYNs (Linux), so a
/// connect hangs: the timeout must end it.
#[cfg(target_os = "linux")]
async fn connect_timeout() {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    let fd = rustix::net::socket_with(
        AddressFamily::INET,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .unwrap();
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    rustix::net::bind(&fd, &any).unwrap();
    rustix::net::listen(&fd, 0).unwrap();
    let listener = std::net::TcpListener::from(fd);
    let addr = listener.local_addr().unwrap();
    // Fill the accept queue until a connect stalls.
    let mut fillers = Vec::new();
    for _ in 0..16 {
        match anyloop::timeout(
            Duration::from_millis(200),
            anyloop::net::TcpStream::connect_addr(addr),
        )
        .await
        {
            Ok(s) => fillers.push(s.unwrap()),
            Err(_) => break,
        }
    }
    let err = anyloop::net::ConnectOptions::new()
        .timeout(Duration::from_millis(100))
        .open_connection("127.0.0.1", addr.port())
        .await
        .map(drop)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    drop(listener);
}

#[cfg(not(target_os = "linux"))]
async fn connect_timeout() {}

#[anyloop::test]
async fn reader_and_writer_as_futures_io() {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    let caps = anyloop::capabilities();
    let server = common::supported(
        start_server(
            |mut r: StreamReader, w: StreamWriter| async move {
                // futures-io on both halves: read to the end, answer the count.
                let mut all = Vec::new();
                r.read_to_end(&mut all).await?;
                assert!(all.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
                let mut w = w;
                w.write_all(format!("{}\n", all.len()).as_bytes()).await?;
                AsyncWriteExt::close(&mut w).await
            },
            "127.0.0.1",
            0,
        )
        .await,
        caps.tcp_listen,
        "start_server",
    );
    let Some(server) = server else { return };
    let port = server.local_addr().unwrap().port();
    let Some((mut r, mut w)) = common::supported(
        open_connection("127.0.0.1", port).await,
        caps.tcp_connect,
        "open_connection",
    ) else {
        return;
    };
    let data: Vec<u8> = (0..3_000_000usize).map(|i| (i % 251) as u8).collect();
    // poll_write waits while the buffer is above the high-water mark, so
    // this does not buffer 3 MB; poll_close flushes and sends FIN.
    w.write_all(&data).await.unwrap();
    w.flush().await.unwrap();
    assert_eq!(w.write_buffer_size(), 0);
    AsyncWriteExt::close(&mut w).await.unwrap();
    assert!(w.write_all(b"late").await.is_err());
    assert_eq!(r.readline().await.unwrap(), b"3000000\n");
    assert_eq!(r.readline().await.unwrap(), b"");
    common::shut_down(&server).await;
}

/// A server whose handler writes `size` bytes and returns at once (the
/// writer keeps sending in the background), and a connected client that
/// has been accepted; `None` on hosts without TCP (after checking
/// `Unsupported`).
async fn write_and_return_server(size: usize) -> Option<(Server, anyloop::net::TcpStream)> {
    let caps = anyloop::capabilities();
    let accepted = Rc::new(Cell::new(0));
    let acc = accepted.clone();
    let server = common::supported(
        start_server(
            move |_r: StreamReader, w: StreamWriter| {
                let accepted = acc.clone();
                async move {
                    accepted.set(accepted.get() + 1);
                    w.write(&vec![b'x'; size]);
                }
            },
            "127.0.0.1",
            0,
        )
        .await,
        caps.tcp_listen,
        "start_server",
    )?;
    let client = common::supported(
        anyloop::net::TcpStream::connect_addr(server.local_addr().unwrap()).await,
        caps.tcp_connect,
        "TcpStream::connect_addr",
    )?;
    // (Closing the listener before the accept would reset the connection.)
    common::wait_until("the accept", Duration::from_secs(30), || {
        accepted.get() == 1
    })
    .await;
    Some((server, client))
}

/// Reads until end of stream (or an error); returns the byte count.
async fn count_to_eof(client: &anyloop::net::TcpStream) -> usize {
    let mut total = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    common::deadline("the end of the stream", async {
        loop {
            match client.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    })
    .await;
    total
}

#[anyloop::test]
async fn abort_clients_closes_connections_with_buffered_data() {
    // Regression: a handler that wrote more than the socket takes and
    // returned left a flush task nobody tracked. `wait_closed` returned,
    // `active_connections()` said 0, and the socket stayed open (the
    // client later received everything). Now the connection counts until
    // its writer is done, and `abort_clients` drops the buffer and closes.
    const BIG: usize = 32 << 20;
    let Some((server, client)) = write_and_return_server(BIG).await else {
        return;
    };
    // The client reads nothing, so most of the 32 MiB stays buffered.
    anyloop::sleep(Duration::from_millis(20)).await;
    server.close();
    assert_eq!(server.active_connections(), 1, "the flush is still running");
    let server = Rc::new(server);
    let s = server.clone();
    let closed = anyloop::spawn(async move { s.wait_closed().await });
    anyloop::sleep(Duration::from_millis(20)).await;
    assert!(
        !closed.is_finished(),
        "wait_closed returned while a connection still had data to send"
    );

    server.abort_clients();
    common::deadline("wait_closed after abort_clients", closed)
        .await
        .unwrap();
    assert_eq!(server.active_connections(), 0);

    // The client sees the end of the stream (what the kernel had already
    // accepted still arrives), not the whole 32 MiB.
    let total = count_to_eof(&client).await;
    assert!(
        total < BIG,
        "the aborted writer still sent all {total} bytes"
    );
}

#[anyloop::test]
async fn wait_closed_waits_for_a_returned_handlers_flush() {
    // A handler that writes and returns: the connection stays counted
    // until the peer has read everything, and then it is closed.
    const SIZE: usize = 4 << 20;
    let Some((server, client)) = write_and_return_server(SIZE).await else {
        return;
    };
    server.close();
    assert_eq!(count_to_eof(&client).await, SIZE);
    common::deadline("wait_closed", server.wait_closed()).await;
    assert_eq!(server.active_connections(), 0);
}
