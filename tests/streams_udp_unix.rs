//! UDP and Unix domain sockets: round trips natively, `Unsupported`
//! (naming the feature and host) elsewhere.

mod common;

use std::time::Duration;

use anyloop::net::{open_unix_connection, start_unix_server, UdpSocket, UnixStream};

#[anyloop::test]
async fn udp_round_trip() {
    let caps = anyloop::capabilities();
    let Some(a) = common::supported(UdpSocket::bind("127.0.0.1:0"), caps.udp, "UdpSocket::bind")
    else {
        return;
    };
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    // SO_BROADCAST: natively it works; wasi:sockets 0.2 has no such option.
    let what = "UdpSocket::set_broadcast";
    common::supported_feature(a.set_broadcast(true), caps.host != "wasip2", what, what);
    let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());

    // An echo peer on its own task.
    let echo = anyloop::spawn(async move {
        let mut buf = [0u8; 1500];
        for _ in 0..3 {
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            b.send_to(&buf[..n], from).await.unwrap();
        }
    });

    let mut buf = [0u8; 1500];
    for msg in [&b"ping"[..], &[7u8; 1400], b""] {
        a.send_to(msg, b_addr).await.unwrap();
        let (n, from) = common::deadline("udp reply", a.recv_from(&mut buf))
            .await
            .unwrap();
        assert_eq!((&buf[..n], from), (msg, b_addr));
    }
    echo.await.unwrap();

    // Connected sockets: send/recv.
    let c = UdpSocket::bind("127.0.0.1:0").unwrap();
    c.connect(a_addr).unwrap();
    a.connect(c.local_addr().unwrap()).unwrap();
    assert_eq!(c.peer_addr().unwrap(), a_addr);
    c.send(b"connected").await.unwrap();
    let n = common::deadline("udp recv", a.recv(&mut buf))
        .await
        .unwrap();
    assert_eq!(&buf[..n], b"connected");
}

#[cfg(not(target_family = "wasm"))]
fn socket_path(name: &str) -> std::path::PathBuf {
    if !anyloop::capabilities().unix_sockets {
        // No file system or process id here (`temp_dir`/`process::id`
        // panic in the browser); the bind is `Unsupported` anyway.
        return format!("anyloop-{name}.sock").into();
    }
    std::env::temp_dir().join(format!("anyloop-{name}-{}.sock", std::process::id()))
}

/// std's `temp_dir` and `process::id` panic on wasm32; Unix sockets are
/// unsupported there anyway (the test asserts the error).
#[cfg(target_family = "wasm")]
fn socket_path(name: &str) -> std::path::PathBuf {
    format!("anyloop-{name}.sock").into()
}

#[anyloop::test]
async fn unix_socket_round_trip() {
    let caps = anyloop::capabilities();
    let path = socket_path("streams");
    let server = start_unix_server(
        |mut r, w| async move {
            while let Some(line) = Some(r.readline().await?).filter(|l| !l.is_empty()) {
                w.write(&line);
                w.drain().await?;
            }
            std::io::Result::Ok(())
        },
        &path,
    )
    .await;
    let Some(server) = common::supported(server, caps.unix_sockets, "start_unix_server") else {
        let err = open_unix_connection(&path).await.map(drop).unwrap_err();
        common::supported::<()>(Err(err), false, "open_unix_connection");
        return;
    };
    assert!(server.local_addrs().is_empty());

    let (mut r, w) = open_unix_connection(&path).await.unwrap();
    assert!(w.peer_addr().is_err());
    for i in 0..100 {
        let line = format!("unix line {i}\n");
        w.write(line.as_bytes());
        w.drain().await.unwrap();
        let got = common::deadline("unix echo", r.readline()).await.unwrap();
        assert_eq!(got, line.as_bytes());
    }
    w.write_eof();
    assert_eq!(r.readline().await.unwrap(), b"");

    // Raw sockets too.
    let (a, b) = UnixStream::pair().unwrap();
    a.write_all(b"pair").await.unwrap();
    let mut buf = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        got += b.read(&mut buf[got..]).await.unwrap();
    }
    assert_eq!(&buf, b"pair");

    // Closing the server removes its socket file; new connections fail.
    server.close();
    common::deadline("wait_closed", server.wait_closed()).await;
    assert!(!path.exists());
    assert!(open_unix_connection(&path).await.is_err());
    // A stale socket file is replaced by the next server.
    let stale = anyloop::net::UnixListener::bind(&path).unwrap();
    drop(stale);
    let again = start_unix_server(|_r, _w| async {}, &path).await.unwrap();
    again.close();
    let _ = anyloop::sleep(Duration::ZERO).await;
}
