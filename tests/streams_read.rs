//! StreamReader: readline/readuntil/readexactly/read on split and
//! coalesced data, IncompleteReadError, LimitOverrunError.
//!
//! The in-memory tests run on every host; the TCP ones where the host has
//! both listeners and outgoing connections (`Unsupported` asserted
//! elsewhere).

mod common;

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use anyloop::net::{
    open_connection, start_server, ConnectOptions, IncompleteReadError, LimitOverrunError,
    StreamReader,
};
use futures_lite::{AsyncBufReadExt, AsyncReadExt, StreamExt};

const MESSAGE: &[u8] = b"line one\nfield1\r\nfield2\r\nEXACT12345rest-of-data";

/// An in-memory transport that returns `chunk` bytes per read and is
/// `Pending` (self-woken) every other poll, like a slow network.
struct Trickle {
    data: Vec<u8>,
    pos: usize,
    chunk: usize,
    stall: bool,
}

impl Trickle {
    fn new(data: &[u8], chunk: usize) -> Trickle {
        Trickle {
            data: data.to_vec(),
            pos: 0,
            chunk,
            stall: false,
        }
    }
}

impl futures_lite::AsyncRead for Trickle {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.stall = !self.stall;
        if self.stall {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let n = self.chunk.min(buf.len()).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Poll::Ready(Ok(n))
    }
}

/// Reads MESSAGE with every method and checks each piece.
async fn check_message(r: &mut StreamReader) -> io::Result<()> {
    assert_eq!(r.readline().await?, b"line one\n");
    assert_eq!(r.readuntil(b"\r\n").await?, b"field1\r\n");
    assert_eq!(r.readuntil(b"\r\n").await?, b"field2\r\n");
    assert_eq!(r.readexactly(5).await?, b"EXACT");
    assert_eq!(r.readexactly(5).await?, b"12345");
    let mut rest = Vec::new();
    loop {
        let chunk = r.read(100).await?;
        if chunk.is_empty() {
            break;
        }
        assert!(!r.at_eof());
        rest.extend_from_slice(&chunk);
    }
    assert_eq!(rest, b"rest-of-data");
    assert!(r.at_eof());
    assert_eq!(r.readline().await?, b"");
    Ok(())
}

#[anyloop::test]
async fn reader_methods_on_split_and_coalesced_memory_input() {
    for chunk in [1, 2, 3, 7, 1000] {
        let mut r = StreamReader::new(Trickle::new(MESSAGE, chunk));
        check_message(&mut r).await.unwrap();
    }
}

#[anyloop::test]
async fn reader_methods_on_split_and_coalesced_tcp_packets() {
    let res = start_server(
        |mut r, w| async move {
            // The client says how to send: "1" = one byte at a time.
            let mode = r.readline().await?;
            if mode == b"1\n" {
                for b in MESSAGE {
                    w.write(std::slice::from_ref(b));
                    w.drain().await?;
                    // Let the byte leave as its own segment.
                    anyloop::sleep(Duration::from_millis(1)).await;
                }
            } else {
                w.write(MESSAGE);
            }
            w.close();
            w.wait_closed().await
        },
        "127.0.0.1",
        0,
    )
    .await;
    let caps = anyloop::capabilities();
    let Some(server) = common::supported(res, caps.tcp_listen, "start_server") else {
        return;
    };
    let port = server.local_addr().unwrap().port();
    let res = open_connection("127.0.0.1", port).await;
    let Some(_) = common::supported(res, caps.tcp_connect, "open_connection") else {
        return;
    };
    for mode in [&b"1\n"[..], b"all\n"] {
        let (mut r, w) = open_connection("127.0.0.1", port).await.unwrap();
        w.write(mode);
        w.drain().await.unwrap();
        common::deadline("reading the message", check_message(&mut r))
            .await
            .unwrap();
    }
}

#[anyloop::test]
async fn incomplete_read_error_carries_partial_bytes() {
    let mut r = StreamReader::new(Trickle::new(b"abc", 1));
    let err = r.readexactly(10).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    let inc = IncompleteReadError::downcast(err).unwrap();
    assert_eq!(inc.partial, b"abc");
    assert_eq!(inc.expected, Some(10));

    let mut r = StreamReader::new(Trickle::new(b"xyz\n", 2));
    let inc = IncompleteReadError::downcast(r.readuntil(b"\n\n").await.unwrap_err()).unwrap();
    assert_eq!(inc.partial, b"xyz\n");
    assert_eq!(inc.expected, None);
    assert!(r.at_eof());

    // readline is asyncio's: the end of the stream ends the last line,
    // whole or not, then every further call returns b"" (no error).
    let mut r = StreamReader::new(Trickle::new(b"one\ntail", 3));
    assert_eq!(r.readline().await.unwrap(), b"one\n");
    assert_eq!(r.readline().await.unwrap(), b"tail");
    assert_eq!(r.readline().await.unwrap(), b"");
    assert_eq!(r.readline().await.unwrap(), b"");
    assert!(r.at_eof());

    // Over TCP: the server sends "abc" and closes.
    if !common::tcp_loopback() {
        return;
    }
    let server = start_server(
        |_r, w| async move {
            w.write(b"abc");
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let (mut r, _w) = open_connection("127.0.0.1", server.local_addr().unwrap().port())
        .await
        .unwrap();
    let err = r.readexactly(10).await.unwrap_err();
    let inc = IncompleteReadError::downcast_ref(&err).unwrap();
    assert_eq!((&inc.partial[..], inc.expected), (&b"abc"[..], Some(10)));
}

#[anyloop::test]
async fn limit_overrun_keeps_the_data_readable() {
    let mut data = vec![b'a'; 100];
    data.extend_from_slice(b"\nnext\n");
    for chunk in [1, 7, 4096] {
        let mut r = StreamReader::with_limit(Trickle::new(&data, chunk), 50);
        let err = r.readline().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let over = LimitOverrunError::downcast_ref(&err).unwrap();
        assert!(over.consumed > 50, "{over:?}");
        assert_eq!(over.limit, 50);
        // Nothing was lost: the long line is still there, then the rest.
        assert_eq!(r.readexactly(100).await.unwrap(), vec![b'a'; 100]);
        assert_eq!(r.readline().await.unwrap(), b"\n");
        assert_eq!(r.readline().await.unwrap(), b"next\n");
        assert_eq!(r.readline().await.unwrap(), b"");
    }

    // Separator found, but beyond the limit (everything already buffered).
    let mut r = StreamReader::with_limit(&b"0123456789\nx"[..], 4);
    let err = r.readuntil(b"\n").await.unwrap_err();
    let over = LimitOverrunError::downcast(err).unwrap();
    assert!(over.consumed >= 4);
    assert_eq!(r.read_to_eof().await.unwrap(), b"0123456789\nx");

    // Over TCP with a configured limit.
    if !common::tcp_loopback() {
        return;
    }
    let data2 = data.clone();
    let server = start_server(
        move |_r, w| {
            let data = data2.clone();
            async move {
                w.write(&data);
            }
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let (mut r, _w) = ConnectOptions::new()
        .limit(50)
        .open_connection("127.0.0.1", server.local_addr().unwrap().port())
        .await
        .unwrap();
    let err = r.readline().await.unwrap_err();
    assert!(LimitOverrunError::downcast_ref(&err).is_some(), "{err}");
    r.set_limit(1000);
    assert_eq!(r.readline().await.unwrap().len(), 101);
    assert_eq!(r.readline().await.unwrap(), b"next\n");
}

#[anyloop::test]
async fn lines_stream_and_futures_io_traits() {
    let mut r = StreamReader::new(Trickle::new(b"a\nbb\nccc", 2));
    let lines: Vec<Vec<u8>> = (&mut r).try_collect().await.unwrap();
    assert_eq!(lines, [&b"a\n"[..], b"bb\n", b"ccc"]);

    // AsyncBufRead + AsyncRead through the same buffer.
    let mut r = StreamReader::new(Trickle::new(b"hello\nworld, and more", 3));
    let mut line = String::new();
    r.read_line(&mut line).await.unwrap();
    assert_eq!(line, "hello\n");
    let mut word = [0u8; 5];
    r.read_exact(&mut word).await.unwrap();
    assert_eq!(&word, b"world");
    assert_eq!(r.readuntil(b" ").await.unwrap(), b", ");
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).await.unwrap();
    assert_eq!(rest, b"and more");
}

#[anyloop::test]
async fn readline_is_cancel_safe() {
    // A readline cut short by a timeout loses nothing.
    let mut r = StreamReader::new(Trickle::new(b"partial line\n", 1));
    let cut = anyloop::timeout(Duration::ZERO, r.readline()).await;
    assert!(cut.is_err());
    assert_eq!(r.readline().await.unwrap(), b"partial line\n");
}

/// An in-memory transport fed by the test: reads return what was pushed,
/// and wait (`Pending`) when nothing is buffered, like an idle socket.
#[derive(Clone, Default)]
struct Feed(Rc<RefCell<FeedState>>);

#[derive(Default)]
struct FeedState {
    data: std::collections::VecDeque<u8>,
    eof: bool,
    waker: Option<std::task::Waker>,
    /// The length of the buffer the last read was given.
    last_read_len: usize,
}

impl Feed {
    fn push(&self, bytes: &[u8]) {
        let mut st = self.0.borrow_mut();
        st.data.extend(bytes);
        if let Some(w) = st.waker.take() {
            w.wake();
        }
    }

    /// The end of the stream: reads return 0 once the data is taken.
    fn close(&self) {
        let mut st = self.0.borrow_mut();
        st.eof = true;
        if let Some(w) = st.waker.take() {
            w.wake();
        }
    }

    fn last_read_len(&self) -> usize {
        self.0.borrow().last_read_len
    }
}

impl futures_lite::AsyncRead for Feed {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut st = self.0.borrow_mut();
        st.last_read_len = buf.len();
        if st.data.is_empty() && !st.eof {
            st.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.len().min(st.data.len());
        for (dst, src) in buf.iter_mut().zip(st.data.drain(..n)) {
            *dst = src;
        }
        Poll::Ready(Ok(n))
    }
}

/// Polls `fut` once: what a reader returns without waiting for the peer.
fn now<F: std::future::Future>(fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

#[anyloop::test]
async fn cancelled_readuntil_does_not_hide_a_buffered_separator() {
    // Regression: a cancelled `readuntil(b"\r\n\r\n")` left its search
    // position behind, and the next `readline()` started there, skipping
    // the "\r\n" already buffered (a peer could desynchronize headers).
    let feed = Feed::default();
    let mut r = StreamReader::new(feed.clone());
    feed.push(b"Host: a\r\nX-Y: b\r\n");
    let cut = anyloop::timeout(Duration::from_millis(5), r.readuntil(b"\r\n\r\n")).await;
    assert!(cut.is_err(), "no blank line was sent yet");
    assert_eq!(now(r.readline()).unwrap().unwrap(), b"Host: a\r\n");

    // The same with another separator, and with a one-byte one.
    assert!(now(r.readuntil(b"\r\n\r\n")).is_none());
    assert_eq!(now(r.readuntil(b"-Y")).unwrap().unwrap(), b"X-Y");
    assert!(now(r.readuntil(b"\n\n")).is_none());
    assert_eq!(now(r.readuntil(b":")).unwrap().unwrap(), b":");

    // A search cancelled and restarted with the same separator still
    // finds it when it arrives, also split across reads.
    assert!(now(r.readuntil(b"\r\n\r\n")).is_none());
    feed.push(b"\r");
    assert!(now(r.readuntil(b"\r\n\r\n")).is_none());
    feed.push(b"\nbody");
    assert_eq!(
        now(r.readuntil(b"\r\n\r\n")).unwrap().unwrap(),
        b" b\r\n\r\n"
    );
    assert_eq!(r.buffered(), b"body");
}

#[anyloop::test]
async fn read_into_takes_buffered_bytes_first_then_reads_into_the_callers_buffer() {
    let feed = Feed::default();
    let mut r = StreamReader::new(feed.clone());
    feed.push(b"head\nbody-1");
    assert_eq!(r.readline().await.unwrap(), b"head\n");

    // "body-1" was read ahead with the line: it comes first, piecewise
    // into a small buffer, and nothing is asked of the transport.
    let mut small = [0u8; 4];
    let mut big = vec![0u8; 100_000];
    assert_eq!(now(r.read_into(&mut small)).unwrap().unwrap(), 4);
    assert_eq!(&small, b"body");
    assert_eq!(now(r.read_into(&mut big)).unwrap().unwrap(), 2);
    assert_eq!(&big[..2], b"-1");

    // Nothing buffered: a large read hands the caller's buffer to the
    // transport, and a read with no data yet waits and, cancelled,
    // consumes nothing.
    assert!(now(r.read_into(&mut big)).is_none());
    feed.push(b"direct");
    assert_eq!(r.read_into(&mut big).await.unwrap(), 6);
    assert_eq!(&big[..6], b"direct");
    assert_eq!(feed.last_read_len(), 100_000);
    assert!(r.buffered().is_empty());

    // A small read goes through the reader's buffer (one transport read
    // of at least 8 KiB) and leaves the rest there for readline.
    feed.push(b"ab\ncd\n");
    assert_eq!(r.read_into(&mut small[..1]).await.unwrap(), 1);
    assert_eq!(small[0], b'a');
    assert!(feed.last_read_len() >= 8 * 1024);
    assert_eq!(r.readline().await.unwrap(), b"b\n");
    assert_eq!(r.buffered(), b"cd\n");

    // An empty buffer reads nothing, at once.
    assert_eq!(now(r.read_into(&mut [])).unwrap().unwrap(), 0);
    assert_eq!(r.readline().await.unwrap(), b"cd\n");

    // A reader whose buffer grew past 64 KiB (a big readexactly) still
    // reads 64 KiB requests straight into the caller's buffer.
    let block: Vec<u8> = (0..200_000).map(|i| (i % 251) as u8).collect();
    feed.push(&block);
    assert_eq!(r.readexactly(block.len()).await.unwrap(), block);
    feed.push(b"after");
    let mut chunk = vec![0u8; 64 * 1024];
    assert_eq!(r.read_into(&mut chunk).await.unwrap(), 5);
    assert_eq!(feed.last_read_len(), 64 * 1024);

    // The end of the stream: 0, and the reader is at EOF for every
    // method.
    feed.push(b"tail");
    feed.close();
    assert_eq!(r.read_into(&mut big).await.unwrap(), 4);
    assert!(!r.at_eof());
    assert_eq!(r.read_into(&mut big).await.unwrap(), 0);
    assert!(r.at_eof());
    assert_eq!(r.read_into(&mut small).await.unwrap(), 0);
    assert_eq!(r.readline().await.unwrap(), b"");
    assert_eq!(r.read(10).await.unwrap(), b"");
}

#[anyloop::test]
async fn read_into_and_readline_share_one_stream_on_split_input() {
    // Whatever the chunking, mixing read_into with the line methods
    // yields the bytes in order, none lost or repeated.
    for chunk in [1, 2, 3, 7, 1000] {
        let mut r = StreamReader::new(Trickle::new(MESSAGE, chunk));
        assert_eq!(r.readline().await.unwrap(), b"line one\n");
        let mut five = [0u8; 5];
        let mut got = Vec::new();
        while got.len() < 5 {
            let n = r.read_into(&mut five[..5 - got.len()]).await.unwrap();
            assert!(n > 0);
            got.extend_from_slice(&five[..n]);
        }
        assert_eq!(got, b"field");
        assert_eq!(r.readuntil(b"\r\n").await.unwrap(), b"1\r\n");
        assert_eq!(r.readuntil(b"\r\n").await.unwrap(), b"field2\r\n");
        let mut rest = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = r.read_into(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            rest.extend_from_slice(&buf[..n]);
        }
        assert_eq!(rest, b"EXACT12345rest-of-data");
        assert!(r.at_eof());
    }
}
