//! `anyloop::net::wrap`: any futures-io transport as a
//! `StreamReader`/`StreamWriter` pair (asyncio's `open_connection(sock=)`),
//! on every host: an in-memory pipe everywhere, accepted TCP sockets where
//! the host has them; a writer flushes what its transport holds.

mod common;

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use anyloop::net::{wrap, ConnectOptions, StreamWriter, TcpListener};
use futures_lite::AsyncWriteExt;

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

/// A transport that keeps what it accepts until flushed, and whose flush
/// waits (`Pending`) while its gate is shut: what a TLS stream does with
/// the records a full socket refused. Reads end at once.
#[derive(Clone, Default)]
struct Held(Rc<RefCell<HeldState>>);

#[derive(Default)]
struct HeldState {
    held: Vec<u8>,
    sent: Vec<u8>,
    open: bool,
    waker: Option<Waker>,
}

impl Held {
    fn set_open(&self, open: bool) {
        let mut st = self.0.borrow_mut();
        st.open = open;
        if let Some(w) = st.waker.take() {
            w.wake();
        }
    }

    fn sent(&self) -> Vec<u8> {
        self.0.borrow().sent.clone()
    }
}

impl futures_lite::AsyncRead for Held {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        _buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(0))
    }
}

impl futures_lite::AsyncWrite for Held {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0.borrow_mut().held.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut st = self.0.borrow_mut();
        if !st.open {
            st.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let held = std::mem::take(&mut st.held);
        st.sent.extend_from_slice(&held);
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

#[anyloop::test]
async fn a_writer_flushes_what_its_transport_holds() {
    // Regression: bytes a TLS stream took but could not send at once (a
    // full socket) stayed in it until the next write, so a peer waiting
    // for the rest of a record and a writer with an empty buffer waited
    // for each other.
    for wrapped in [false, true] {
        let t = Held::default();
        let mut w = if wrapped {
            wrap(t.clone()).1
        } else {
            StreamWriter::new(t.clone())
        };
        w.write(b"hello");
        // Nothing is buffered in the writer: drain returns at once...
        common::deadline("drain", w.drain()).await.unwrap();
        assert_eq!(w.write_buffer_size(), 0);
        assert_eq!(t.sent(), b"");
        // ...and the writer flushes the transport once it can.
        t.set_open(true);
        common::wait_until("the held bytes to leave", Duration::from_secs(60), || {
            t.sent() == b"hello"
        })
        .await;

        // `flush` (AsyncWrite) waits for the transport's flush too.
        t.set_open(false);
        w.write(b" world");
        let flush = anyloop::timeout(Duration::from_millis(20), w.flush()).await;
        assert!(
            flush.is_err(),
            "flush returned while the transport held data"
        );
        t.set_open(true);
        common::deadline("flush", w.flush()).await.unwrap();
        assert_eq!(t.sent(), b"hello world");
        w.close();
        common::deadline("close", w.wait_closed()).await.unwrap();
    }
}
