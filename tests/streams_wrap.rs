//! `anyloop::net::wrap`: any futures-io transport as a
//! `StreamReader`/`StreamWriter` pair (asyncio's `open_connection(sock=)`),
//! on every host: an in-memory pipe everywhere, accepted TCP sockets where
//! the host has them.

mod common;

use std::io;

use anyloop::net::{wrap, ConnectOptions, TcpListener};

#[anyloop::test]
async fn wrapped_pipe_echoes_lines_and_bulk_data_both_ways_at_once() {
    let (a, b) = common::pipe();
    let (r, w) = wrap(b);
    let server = anyloop::spawn(common::echo_until_eof(r, w));

    let (mut r, w) = wrap(a);
    w.write(b"hello\n");
    assert_eq!(r.readline().await.unwrap(), b"hello\n");
    assert_eq!(
        w.peer_addr().unwrap_err().kind(),
        io::ErrorKind::Unsupported
    );

    // 1 MiB through a 16 KiB pipe: the writer waits on the pipe while the
    // reader (another task) drains the echo, both on one shared transport.
    let data: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    let sent = data.clone();
    let w = std::rc::Rc::new(w);
    let writer = {
        let w = w.clone();
        anyloop::spawn(async move {
            for chunk in sent.chunks(10_000) {
                w.write(chunk);
                w.drain().await?;
            }
            w.write_eof();
            io::Result::Ok(())
        })
    };
    let echoed = common::deadline("echo of 1 MiB", r.read_to_eof())
        .await
        .unwrap();
    assert_eq!(echoed.len(), data.len());
    assert!(echoed == data, "the echo differs from what was sent");
    writer.await.unwrap().unwrap();
    server.await.unwrap().unwrap();
}

#[anyloop::test]
async fn wrap_keeps_the_reader_limit_of_its_options() {
    let (a, _b) = common::pipe();
    let (r, _w) = ConnectOptions::new().limit(10).wrap(a);
    assert_eq!(r.limit(), 10);
}

#[anyloop::test]
async fn a_closed_peer_is_end_of_stream_and_a_broken_pipe() {
    let (a, b) = common::pipe();
    let (mut r, w) = wrap(a);
    drop(b);
    assert_eq!(r.read(10).await.unwrap(), b"");
    assert!(r.at_eof());
    w.write(b"nobody listens");
    assert_eq!(
        w.drain().await.unwrap_err().kind(),
        io::ErrorKind::BrokenPipe
    );
}

#[anyloop::test]
async fn wrapped_accepted_tcp_stream_keeps_its_addresses() {
    let caps = anyloop::capabilities();
    let Some(listener) = common::supported(
        TcpListener::bind("127.0.0.1:0"),
        caps.tcp_listen,
        "TcpListener::bind",
    ) else {
        return;
    };
    let port = listener.local_addr().unwrap().port();
    if !caps.tcp_connect {
        return;
    }
    let client = anyloop::spawn(async move {
        let (mut r, w) = anyloop::net::open_connection("127.0.0.1", port).await?;
        w.write(b"ping\n");
        let reply = r.readline().await?;
        io::Result::Ok((reply, w.local_addr()?))
    });
    let (stream, peer) = listener.accept().await.unwrap();
    let (mut r, w) = wrap(stream);
    assert_eq!(r.readline().await.unwrap(), b"ping\n");
    assert_eq!(w.peer_addr().unwrap(), peer);
    assert_eq!(w.local_addr().unwrap().port(), port);
    w.write(b"pong\n");
    let (reply, client_addr) = client.await.unwrap().unwrap();
    assert_eq!(reply, b"pong\n");
    assert_eq!(client_addr, peer);
}
