//! TCP: an echo round trip through the loop (native), `Unsupported` elsewhere.

mod common;

use futures_lite::AsyncReadExt;

#[anyloop::test]
async fn tcp_echo_round_trip_or_unsupported() {
    let caps = anyloop::capabilities();
    let listener = match anyloop::net::TcpListener::bind("127.0.0.1:0") {
        Ok(l) => l,
        Err(e) => {
            assert!(
                !caps.tcp_listen,
                "bind failed although tcp_listen is set: {e}"
            );
            assert_eq!(e.kind(), std::io::ErrorKind::Unsupported);
            assert!(e.to_string().contains(caps.host), "{e}");
            if caps.tcp_preopened {
                // The error names the way that works there.
                assert!(e.to_string().contains("tcplisten"), "{e}");
            }
            return;
        }
    };
    let addr = listener.local_addr().unwrap();
    let server = anyloop::spawn(async move {
        let mut served = 0;
        while served < 3 {
            let (s, _) = listener.accept().await.unwrap();
            anyloop::spawn(async move {
                let mut buf = [0u8; 1024];
                loop {
                    let n = s.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    s.write_all(&buf[..n]).await.unwrap();
                }
            })
            .detach();
            served += 1;
        }
    });
    let clients: Vec<_> = (0..3u8)
        .map(|i| {
            anyloop::spawn(async move {
                let c = anyloop::net::TcpStream::connect(addr).await.unwrap();
                // TCP_NODELAY: natively it works; WASI preview 1 has no
                // socket options, wasi:sockets 0.2 no TCP_NODELAY.
                let no_options = anyloop::capabilities().host.starts_with("wasi");
                let what = "TcpStream::set_nodelay";
                common::supported_feature(c.set_nodelay(true), !no_options, what, what);
                let msg = vec![b'a' + i; 100_000];
                let (mut r, w) = (&c, &c);
                let writer = async {
                    w.write_all(&msg).await.unwrap();
                    c.shutdown(std::net::Shutdown::Write).unwrap();
                };
                let reader = async {
                    let mut got = Vec::new();
                    r.read_to_end(&mut got).await.unwrap();
                    got
                };
                let ((), got) = futures_lite::future::zip(writer, reader).await;
                assert_eq!(got, msg);
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    server.await.unwrap();
}

/// The last bytes and the end of stream arriving together (before the
/// reader looks) are both seen: a short read of the bytes must not be
/// taken as "nothing more to read" when the peer's FIN came with them.
/// Same for a peer that closed the whole socket.
#[anyloop::test]
async fn data_and_end_of_stream_that_arrive_together_are_both_read() {
    let Ok(listener) = anyloop::net::TcpListener::bind("127.0.0.1:0") else {
        // `Unsupported` is asserted by tcp_echo_round_trip_or_unsupported.
        return;
    };
    let addr = listener.local_addr().unwrap();
    let listener = std::rc::Rc::new(listener);
    for full_close in [false, true] {
        let l = listener.clone();
        let server = anyloop::spawn(async move {
            let (s, _) = l.accept().await.unwrap();
            s.write_all(b"last words").await.unwrap();
            if full_close {
                drop(s);
                None
            } else {
                s.shutdown(std::net::Shutdown::Write).unwrap();
                Some(s)
            }
        });
        let c = anyloop::net::TcpStream::connect(addr).await.unwrap();
        // Both the bytes and the FIN are in before the first read.
        let _keep_open = server.await.unwrap();
        anyloop::sleep(std::time::Duration::from_millis(50)).await;
        let mut buf = vec![0u8; 64 * 1024];
        let n = common::deadline("the first read", c.read(&mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"last words");
        let n = common::deadline("the read at end of stream", c.read(&mut buf))
            .await
            .unwrap();
        assert_eq!(n, 0, "full_close: {full_close}");
    }
}

#[anyloop::test]
async fn tcp_connect_without_the_capability_is_unsupported() {
    let caps = anyloop::capabilities();
    if caps.tcp_connect {
        // Proven by the round trip above.
        return;
    }
    let err = anyloop::net::TcpStream::connect("127.0.0.1:9")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
    assert!(err.to_string().contains(caps.host), "{err}");
}

/// `lookup_host` (asyncio's `getaddrinfo`): IP literals on every host,
/// names where the host has a resolver (threads for std's, or WASI 0.2's
/// `ip-name-lookup`), `Unsupported` naming the host elsewhere.
#[anyloop::test]
async fn lookup_host_resolves_literals_everywhere_and_names_where_supported() {
    use std::net::SocketAddr;
    let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
    let v4 = anyloop::net::lookup_host("127.0.0.1", 80).await.unwrap();
    assert_eq!(v4, [addr("127.0.0.1:80")]);
    for host in ["::1", "[::1]"] {
        let v6 = anyloop::net::lookup_host(host, 443).await.unwrap();
        assert_eq!(v6, [addr("[::1]:443")], "{host}");
    }
    let caps = anyloop::capabilities();
    let resolver = caps.threads || cfg!(all(target_os = "wasi", target_env = "p2"));
    let res = anyloop::net::lookup_host("localhost", 8080).await;
    if let Some(addrs) = common::supported(res, resolver, "lookup_host(\"localhost\")") {
        assert!(!addrs.is_empty());
        for a in addrs {
            assert!(a.ip().is_loopback() && a.port() == 8080, "{a}");
        }
    }
}
