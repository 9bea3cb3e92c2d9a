//! [`StreamWriter`]: asyncio's writer with a write buffer and `drain()`.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_io::AsyncWrite;

use super::tls::{self, TlsInfo};
use super::transport::Conn;

/// Default high-water mark of a [`StreamWriter`]'s buffer (asyncio: 64 KiB).
pub const DEFAULT_HIGH_WATER: usize = 64 * 1024;

/// Addresses of the socket under a stream (TCP streams provide them).
pub(crate) trait SocketInfo {
    fn peer_addr(&self) -> io::Result<SocketAddr>;
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

/// The writing half of a connection, with asyncio's `StreamWriter` API.
///
/// [`write`](Self::write) never waits: it hands the bytes to the socket
/// at once if the socket takes them, and buffers the rest, which a
/// background task sends as the socket becomes writable.
/// [`drain`](Self::drain) is the backpressure point: it returns at once
/// while the buffer is at or below the high-water mark (64 KiB by
/// default), and otherwise waits until the buffer has drained to the
/// low-water mark. A writer that calls `drain` after its writes therefore
/// holds at most about `high` bytes in memory, however slow the peer.
///
/// Any `futures-io` [`AsyncWrite`] can be wrapped with
/// [`StreamWriter::new`]; the writer also implements [`AsyncWrite`]
/// itself (`poll_write` waits while the buffer is above the high-water
/// mark, `poll_flush` until it is empty, `poll_close` closes).
///
/// Dropping a writer [`close`](Self::close)s it: buffered data is still
/// sent (while the event loop runs), then the write side is shut down.
///
/// # Examples
///
/// ```
/// use anyloop::net::{start_server, open_connection};
///
/// anyloop::run(async {
///     let server = start_server(|mut r, w| async move {
///         while let Ok(line) = r.readline().await {
///             if line.is_empty() { break }
///             w.write(&line.to_ascii_uppercase());
///             w.drain().await?;
///         }
///         std::io::Result::Ok(())
///     }, "127.0.0.1", 0).await?;
///
///     let (mut r, w) = open_connection("127.0.0.1", server.local_addr()?.port()).await?;
///     w.write(b"hello\n");
///     w.drain().await?;
///     assert_eq!(r.readline().await?, b"HELLO\n");
///     w.close();
///     w.wait_closed().await?;
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub struct StreamWriter {
    shared: Rc<Shared>,
    info: Option<Rc<dyn SocketInfo>>,
    /// The connection shared with the reader (for `start_tls`); `None`
    /// for a writer made by [`StreamWriter::new`].
    conn: Option<Rc<Conn>>,
}

struct Shared {
    state: RefCell<State>,
    /// Released when the writer is gone and its last flush has ended (a
    /// server counts the connection until then).
    hold: Cell<Option<Rc<dyn Any>>>,
}

struct State {
    transport: Option<Pin<Box<dyn AsyncWrite>>>,
    /// `buf[pos..]` is waiting to be written.
    buf: Vec<u8>,
    pos: usize,
    high: usize,
    low: usize,
    /// A background task is driving the writes.
    driver: bool,
    /// That task's waker, for [`StreamWriter::abort`].
    driver_waker: Option<Waker>,
    /// The transport may keep part of what it accepted in a buffer of
    /// its own until flushed (a TLS stream's records when the socket is
    /// full, a user's buffered writer); a plain socket does not.
    buffering: bool,
    /// The transport accepted bytes since its last completed flush.
    unflushed: bool,
    eof_wanted: bool,
    eof_sent: bool,
    closing: bool,
    closed: bool,
    error: Option<(io::ErrorKind, String)>,
    waiters: Vec<Waker>,
}

impl State {
    fn pending(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn error(&self) -> Option<io::Error> {
        self.error
            .as_ref()
            .map(|(kind, msg)| io::Error::new(*kind, msg.clone()))
    }

    fn fail(&mut self, e: &io::Error) {
        if self.error.is_none() {
            self.error = Some((e.kind(), e.to_string()));
        }
        self.buf = Vec::new();
        self.pos = 0;
        self.transport = None;
        self.closed = true;
    }

    /// Nothing left for a driver to do.
    fn idle(&self) -> bool {
        self.closed
            || (self.sent() && !(self.eof_wanted || self.closing))
            || (self.sent() && self.eof_sent && !self.closing)
    }

    /// Everything written has left through the transport (nothing
    /// buffered here, nothing left unflushed there).
    fn sent(&self) -> bool {
        self.pending() == 0 && !self.unflushed
    }
}

impl Shared {
    /// Writes the buffer, then performs a requested `write_eof`/`close`.
    /// `Ready` when there is nothing left to do (or on error).
    fn poll_drive(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut wake = Vec::new();
        let res = {
            let mut st = self.state.borrow_mut();
            let res = Self::drive(&mut st, cx);
            if st.pending() <= st.low || st.closed || res.is_ready() {
                wake = std::mem::take(&mut st.waiters);
            }
            res
        };
        wake.into_iter().for_each(Waker::wake);
        res
    }

    fn drive(st: &mut State, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if st.closed {
                return Poll::Ready(());
            }
            let Some(t) = st.transport.as_mut() else {
                st.closed = true;
                return Poll::Ready(());
            };
            if st.pos < st.buf.len() {
                match t.as_mut().poll_write(cx, &st.buf[st.pos..]) {
                    Poll::Ready(Ok(0)) => {
                        st.fail(&io::ErrorKind::WriteZero.into());
                        return Poll::Ready(());
                    }
                    Poll::Ready(Ok(n)) => {
                        st.pos += n;
                        st.unflushed = st.buffering;
                        if st.pos == st.buf.len() {
                            st.buf.clear();
                            st.pos = 0;
                        } else if st.pos > 64 * 1024 && st.pos * 2 > st.buf.len() {
                            st.buf.drain(..st.pos);
                            st.pos = 0;
                        }
                        continue;
                    }
                    Poll::Ready(Err(e)) => {
                        st.fail(&e);
                        return Poll::Ready(());
                    }
                    Poll::Pending => return Poll::Pending,
                }
            }
            if st.unflushed {
                match t.as_mut().poll_flush(cx) {
                    Poll::Ready(Ok(())) => st.unflushed = false,
                    Poll::Ready(Err(e)) => {
                        st.fail(&e);
                        return Poll::Ready(());
                    }
                    Poll::Pending => return Poll::Pending,
                }
            }
            if (st.eof_wanted || st.closing) && !st.eof_sent {
                match t.as_mut().poll_close(cx) {
                    Poll::Ready(Ok(())) => st.eof_sent = true,
                    Poll::Ready(Err(e)) => {
                        if st.closing && e.kind() == io::ErrorKind::NotConnected {
                            // The peer is already gone: closed is closed.
                            st.eof_sent = true;
                        } else {
                            st.fail(&e);
                            return Poll::Ready(());
                        }
                    }
                    Poll::Pending => return Poll::Pending,
                }
            }
            if st.closing {
                st.transport = None;
                st.closed = true;
            }
            return Poll::Ready(());
        }
    }

    /// Makes progress without waiting; starts a background driver task if
    /// work remains.
    fn kick(self: &Rc<Self>) {
        {
            let st = self.state.borrow();
            if st.driver || st.idle() {
                return;
            }
        }
        let mut cx = Context::from_waker(Waker::noop());
        if self.poll_drive(&mut cx).is_ready() {
            return;
        }
        if anyloop_core::in_loop() {
            self.state.borrow_mut().driver = true;
            let shared = self.clone();
            anyloop_core::task::Builder::new()
                .name("anyloop::net::StreamWriter flush")
                .spawn(async move {
                    poll_fn(|cx| {
                        {
                            let mut st = shared.state.borrow_mut();
                            match &mut st.driver_waker {
                                Some(w) if w.will_wake(cx.waker()) => {}
                                w => *w = Some(cx.waker().clone()),
                            }
                        }
                        shared.poll_drive(cx)
                    })
                    .await;
                    shared.state.borrow_mut().driver_waker = None;
                    shared.state.borrow_mut().driver = false;
                    // Work queued between the last poll and now.
                    shared.kick();
                })
                .detach();
        }
        // Outside a loop, `drain`/`wait_closed` drive the writes themselves.
    }

    /// Waits until `done(state)`; drives the writes itself when no
    /// background task does.
    fn poll_until(
        &self,
        cx: &mut Context<'_>,
        done: impl Fn(&State) -> bool,
    ) -> Poll<io::Result<()>> {
        {
            let st = self.state.borrow();
            if let Some(e) = st.error() {
                return Poll::Ready(Err(e));
            }
            if done(&st) {
                return Poll::Ready(Ok(()));
            }
        }
        let driver = self.state.borrow().driver;
        if !driver {
            let _ = self.poll_drive(cx);
        }
        let mut st = self.state.borrow_mut();
        if let Some(e) = st.error() {
            return Poll::Ready(Err(e));
        }
        if done(&st) {
            return Poll::Ready(Ok(()));
        }
        if st.closed {
            // Nothing will make progress: closed without error.
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the stream writer is closed",
            )));
        }
        // Woken by the driver task, or by `close`/`write_eof` (via `kick`).
        if !st.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            st.waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl Shared {
    fn abort(&self) {
        let (waiters, driver) = {
            let mut st = self.state.borrow_mut();
            st.buf = Vec::new();
            st.pos = 0;
            st.transport = None;
            st.closing = true;
            st.closed = true;
            (std::mem::take(&mut st.waiters), st.driver_waker.take())
        };
        waiters.into_iter().for_each(Waker::wake);
        // The flush task waits for the socket, which will never signal
        // now: wake it so that it ends (and releases the writer).
        if let Some(w) = driver {
            w.wake();
        }
    }
}

/// Aborts a [`StreamWriter`] from outside (the server's `abort_clients`),
/// also after the writer was dropped while its flush task still runs.
#[derive(Clone)]
pub(crate) struct AbortHandle(Weak<Shared>);

impl AbortHandle {
    pub(crate) fn abort(&self) {
        if let Some(shared) = self.0.upgrade() {
            shared.abort();
        }
    }
}

impl StreamWriter {
    /// Wraps a transport. [`peer_addr`](Self::peer_addr) and
    /// [`local_addr`](Self::local_addr) are only known for sockets opened
    /// by `anyloop::net`.
    ///
    /// # Examples
    ///
    /// ```
    /// use anyloop::net::StreamWriter;
    ///
    /// anyloop::run(async {
    ///     let w = StreamWriter::new(futures_lite::io::sink());
    ///     w.write(b"into the void");
    ///     w.drain().await.unwrap();
    /// });
    /// ```
    pub fn new(transport: impl AsyncWrite + 'static) -> StreamWriter {
        StreamWriter::with_conn(Box::pin(transport), None, None)
    }

    pub(crate) fn with_conn(
        transport: Pin<Box<dyn AsyncWrite>>,
        info: Option<Rc<dyn SocketInfo>>,
        conn: Option<Rc<Conn>>,
    ) -> StreamWriter {
        StreamWriter {
            shared: Rc::new(Shared {
                state: RefCell::new(State {
                    transport: Some(transport),
                    buf: Vec::new(),
                    pos: 0,
                    high: DEFAULT_HIGH_WATER,
                    low: DEFAULT_HIGH_WATER / 4,
                    buffering: conn.as_ref().is_none_or(|c| c.buffering()),
                    unflushed: false,
                    driver: false,
                    driver_waker: None,
                    eof_wanted: false,
                    eof_sent: false,
                    closing: false,
                    closed: false,
                    error: None,
                    waiters: Vec::new(),
                }),
                hold: Cell::new(None),
            }),
            info,
            conn,
        }
    }

    /// Queues `data` for sending and returns at once (asyncio's
    /// `write`). Follow writes with [`drain`](Self::drain) to respect
    /// backpressure.
    ///
    /// Writes after [`close`](Self::close), [`write_eof`](Self::write_eof)
    /// or a connection error are ignored (the error is reported by
    /// `drain`).
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let w = anyloop::net::StreamWriter::new(futures_lite::io::sink());
    /// w.write(b"GET / HTTP/1.1\r\n");
    /// w.write(b"\r\n");
    /// w.drain().await.unwrap();
    /// # });
    /// ```
    pub fn write(&self, mut data: &[u8]) {
        if data.is_empty() {
            return;
        }
        {
            let mut st = self.shared.state.borrow_mut();
            let st = &mut *st;
            if st.closing || st.eof_wanted || st.closed {
                return;
            }
            if st.pending() == 0 && !st.driver {
                // Fast path: straight to the socket, no copy.
                let mut cx = Context::from_waker(Waker::noop());
                if let Some(t) = st.transport.as_mut() {
                    match t.as_mut().poll_write(&mut cx, data) {
                        Poll::Ready(Ok(0)) => {
                            st.fail(&io::ErrorKind::WriteZero.into());
                            return;
                        }
                        Poll::Ready(Ok(n)) => {
                            data = &data[n..];
                            st.unflushed = st.buffering;
                        }
                        Poll::Ready(Err(e)) => {
                            st.fail(&e);
                            return;
                        }
                        Poll::Pending => {}
                    }
                    if data.is_empty() && st.unflushed {
                        // All taken, maybe not all sent (a TLS stream
                        // keeps the records a full socket refused): push
                        // it on, or leave it to the driver below.
                        match t.as_mut().poll_flush(&mut cx) {
                            Poll::Ready(Ok(())) => st.unflushed = false,
                            Poll::Ready(Err(e)) => {
                                st.fail(&e);
                                return;
                            }
                            Poll::Pending => {}
                        }
                    }
                }
                if data.is_empty() && !st.unflushed {
                    return;
                }
            }
            st.buf.extend_from_slice(data);
        }
        self.shared.kick();
    }

    /// Queues every buffer of `lines` (asyncio's `writelines`).
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let w = anyloop::net::StreamWriter::new(futures_lite::io::sink());
    /// w.writelines([&b"a\n"[..], b"b\n"]);
    /// # });
    /// ```
    pub fn writelines<I>(&self, lines: I)
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        for l in lines {
            self.write(l.as_ref());
        }
    }

    /// Waits until it is appropriate to write again: returns at once while
    /// the buffer holds at most the high-water mark, otherwise waits until
    /// it has drained to the low-water mark.
    ///
    /// # Errors
    ///
    /// The connection's error (e.g. `ConnectionReset`, `BrokenPipe`) if a
    /// write failed; `NotConnected` if the writer was closed and the data
    /// cannot be sent.
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: the buffered data stays queued.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let w = anyloop::net::StreamWriter::new(futures_lite::io::sink());
    /// for _ in 0..1000 {
    ///     w.write(&[0u8; 1024]);
    ///     w.drain().await.unwrap(); // memory stays bounded
    /// }
    /// # });
    /// ```
    pub async fn drain(&self) -> io::Result<()> {
        let mut waiting = false;
        poll_fn(|cx| {
            let res = self.shared.poll_until(cx, |st| {
                let mark = if waiting { st.low } else { st.high };
                st.pending() <= mark
            });
            waiting = true;
            res
        })
        .await
    }

    /// Sends the buffered data, then shuts down the write side (the peer
    /// reads end of stream); reading goes on (asyncio's `write_eof`).
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let w = anyloop::net::StreamWriter::new(futures_lite::io::sink());
    /// w.write(b"request");
    /// w.write_eof();
    /// assert!(w.can_write_eof());
    /// # });
    /// ```
    pub fn write_eof(&self) {
        {
            let mut st = self.shared.state.borrow_mut();
            if st.closing || st.closed {
                return;
            }
            st.eof_wanted = true;
        }
        self.shared.kick();
    }

    /// Whether [`write_eof`](Self::write_eof) is possible: true for
    /// stream sockets.
    pub fn can_write_eof(&self) -> bool {
        true
    }

    /// Starts closing: the buffered data is still sent, then the write
    /// side is shut down and the transport released (asyncio's `close`).
    /// Await [`wait_closed`](Self::wait_closed) to know when it is done.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let w = anyloop::net::StreamWriter::new(futures_lite::io::sink());
    /// w.write(b"bye");
    /// w.close();
    /// assert!(w.is_closing());
    /// w.wait_closed().await.unwrap();
    /// # });
    /// ```
    pub fn close(&self) {
        {
            let mut st = self.shared.state.borrow_mut();
            if st.closing || st.closed {
                return;
            }
            st.closing = true;
        }
        self.shared.kick();
    }

    /// Closes at once, dropping the buffered data (asyncio's
    /// `transport.abort()`): for a peer that is not worth waiting for.
    /// Pending [`drain`](Self::drain)s fail with `NotConnected`; the
    /// socket closes when the reader half is dropped too.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let w = anyloop::net::StreamWriter::new(futures_lite::io::sink());
    /// w.write(b"never sent");
    /// w.abort();
    /// assert!(w.is_closing());
    /// w.wait_closed().await.unwrap();
    /// # });
    /// ```
    pub fn abort(&self) {
        self.shared.abort();
    }

    /// Keeps `hold` alive until the writer is dropped and its buffered
    /// data is sent (or aborted): a server counts the connection as open
    /// until then.
    pub(crate) fn hold_until_released(&self, hold: Rc<dyn Any>) {
        self.shared.hold.set(Some(hold));
    }

    /// A handle that aborts this writer (and its background flush) while
    /// it lives, without keeping it alive.
    pub(crate) fn abort_handle(&self) -> AbortHandle {
        AbortHandle(Rc::downgrade(&self.shared))
    }

    /// True after [`close`](Self::close) or a connection error.
    pub fn is_closing(&self) -> bool {
        let st = self.shared.state.borrow();
        st.closing || st.closed
    }

    /// Waits until the writer is closed: the buffer is sent and the
    /// transport released. Call [`close`](Self::close) first.
    ///
    /// # Errors
    ///
    /// The connection's error if sending failed.
    ///
    /// # Examples
    ///
    /// See [`close`](Self::close).
    pub async fn wait_closed(&self) -> io::Result<()> {
        poll_fn(|cx| self.shared.poll_until(cx, |st| st.closed)).await
    }

    /// Sets the buffer's high- and low-water marks used by
    /// [`drain`](Self::drain) (asyncio's
    /// `transport.set_write_buffer_limits`). `low` is capped at `high`.
    ///
    /// # Examples
    ///
    /// ```
    /// let w = anyloop::net::StreamWriter::new(futures_lite::io::sink());
    /// w.set_write_buffer_limits(1 << 20, 256 << 10);
    /// assert_eq!(w.write_buffer_limits(), (1 << 20, 256 << 10));
    /// ```
    pub fn set_write_buffer_limits(&self, high: usize, low: usize) {
        let mut st = self.shared.state.borrow_mut();
        st.high = high;
        st.low = low.min(high);
    }

    /// The `(high, low)` water marks, in the order
    /// [`set_write_buffer_limits`](Self::set_write_buffer_limits) takes
    /// them (asyncio's `transport.get_write_buffer_limits()` returns
    /// `(low, high)`).
    #[doc(alias = "get_write_buffer_limits")]
    pub fn write_buffer_limits(&self) -> (usize, usize) {
        let st = self.shared.state.borrow();
        (st.high, st.low)
    }

    /// Bytes buffered and not yet handed to the socket (asyncio's
    /// `transport.get_write_buffer_size()`).
    ///
    /// # Examples
    ///
    /// ```
    /// let w = anyloop::net::StreamWriter::new(futures_lite::io::sink());
    /// assert_eq!(w.write_buffer_size(), 0);
    /// ```
    pub fn write_buffer_size(&self) -> usize {
        self.shared.state.borrow().pending()
    }

    /// Upgrades the connection to TLS as its client (asyncio 3.11's
    /// `await writer.start_tls(sslcontext, server_hostname=...)`): for
    /// protocols that switch to TLS midway (SMTP/IMAP `STARTTLS`,
    /// PostgreSQL's `SSLRequest`). The buffered data is sent first; then
    /// the handshake runs (verifying the server's certificate for
    /// `server_hostname`, a DNS name or an IP address), and the reader
    /// and this writer go on over TLS. Bytes the reader had already
    /// buffered stay in its buffer, ahead of the decrypted data.
    ///
    /// The handshake fails with `TimedOut` after
    /// [`tls::DEFAULT_HANDSHAKE_TIMEOUT`] (60 s, as asyncio); wrap the
    /// call in [`anyloop::timeout`](crate::timeout) for another bound.
    ///
    /// # Errors
    ///
    /// - `Unsupported` where TLS is not available (see [`tls`]);
    /// - `InvalidInput` for a writer made by [`StreamWriter::new`] (only
    ///   pairs from `anyloop::net`, including [`wrap`](super::wrap), can
    ///   switch transports), or if the writer is closing;
    /// - the handshake's error (`InvalidData` for a certificate that does
    ///   not verify, ...): the connection is then closed, and both halves
    ///   report the error.
    ///
    /// # Cancellation
    ///
    /// Dropping the future during the handshake closes the connection
    /// (`ConnectionAborted` on both halves): a half-done handshake cannot
    /// be resumed.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(all(feature = "tls", not(target_family = "wasm")))]
    /// # {
    /// use anyloop::net::{open_connection, start_server, tls};
    ///
    /// let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// let (cert_der, key_der) = (cert.cert.der().to_vec(), cert.signing_key.serialize_der());
    /// let server_cfg = tls::ServerConfig::new([cert_der.clone()], key_der).unwrap();
    ///
    /// anyloop::run(async move {
    ///     // A STARTTLS server: a plain greeting, then TLS.
    ///     let server = start_server(move |mut r, w| {
    ///         let cfg = server_cfg.clone();
    ///         async move {
    ///             assert_eq!(r.readline().await?, b"STARTTLS\r\n");
    ///             w.write(b"220 go ahead\r\n");
    ///             w.start_tls_server(&cfg).await?;
    ///             w.write(b"secret\r\n");
    ///             w.drain().await
    ///         }
    ///     }, "127.0.0.1", 0).await?;
    ///
    ///     let (mut r, w) = open_connection("127.0.0.1", server.local_addr()?.port()).await?;
    ///     w.write(b"STARTTLS\r\n");
    ///     assert_eq!(r.readline().await?, b"220 go ahead\r\n");
    ///     let client_cfg = tls::ClientConfig::with_root_certificates([cert_der])?;
    ///     w.start_tls(&client_cfg, "localhost").await?;
    ///     assert_eq!(r.readline().await?, b"secret\r\n");
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// # }
    /// ```
    pub async fn start_tls(
        &self,
        config: &tls::ClientConfig,
        server_hostname: &str,
    ) -> io::Result<()> {
        self.upgrade_client(config, server_hostname, tls::DEFAULT_HANDSHAKE_TIMEOUT)
            .await
    }

    pub(crate) async fn upgrade_client(
        &self,
        config: &tls::ClientConfig,
        server_hostname: &str,
        limit: Duration,
    ) -> io::Result<()> {
        let conn = self.prepare_upgrade().await?;
        let fut = conn.upgrade(|io| tls::connect(config, server_hostname, io));
        self.shared.state.borrow_mut().buffering = true;
        handshake_timeout(limit, server_hostname, fut).await
    }

    /// Upgrades the connection to TLS as its server (asyncio's
    /// `loop.start_tls(..., server_side=True)`): the server's side of
    /// [`start_tls`](Self::start_tls), with the same rules.
    ///
    /// # Errors
    ///
    /// As [`start_tls`](Self::start_tls).
    ///
    /// # Cancellation
    ///
    /// As [`start_tls`](Self::start_tls).
    ///
    /// # Examples
    ///
    /// See [`start_tls`](Self::start_tls).
    pub async fn start_tls_server(&self, config: &tls::ServerConfig) -> io::Result<()> {
        self.upgrade_server(config, tls::DEFAULT_HANDSHAKE_TIMEOUT)
            .await
    }

    pub(crate) async fn upgrade_server(
        &self,
        config: &tls::ServerConfig,
        limit: Duration,
    ) -> io::Result<()> {
        let conn = self.prepare_upgrade().await?;
        let fut = conn.upgrade(|io| tls::accept(config, io));
        self.shared.state.borrow_mut().buffering = true;
        handshake_timeout(limit, "the client", fut).await
    }

    /// Sends the buffer and returns the connection to upgrade.
    async fn prepare_upgrade(&self) -> io::Result<Rc<Conn>> {
        let Some(conn) = self.conn.clone() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "start_tls needs a stream pair from anyloop::net (open_connection, \
                 start_server, wrap), not a StreamWriter::new",
            ));
        };
        poll_fn(|cx| self.shared.poll_until(cx, State::sent)).await?;
        let st = self.shared.state.borrow();
        if st.closing || st.eof_wanted || st.closed {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "start_tls on a closing stream writer",
            ));
        }
        Ok(conn)
    }

    /// What the TLS handshake negotiated: ALPN protocol, version, the
    /// peer's certificates (asyncio's `get_extra_info('ssl_object')`);
    /// `None` before TLS.
    ///
    /// # Examples
    ///
    /// See [`tls`].
    #[doc(alias = "ssl_object")]
    #[doc(alias = "peercert")]
    pub fn tls_info(&self) -> Option<Rc<TlsInfo>> {
        self.conn.as_ref().and_then(|c| c.tls_info())
    }

    /// The address of the peer (asyncio's `get_extra_info('peername')`).
    ///
    /// # Errors
    ///
    /// `Unsupported` for transports without socket addresses (Unix
    /// sockets, wrapped transports); the OS error otherwise.
    ///
    /// # Examples
    ///
    /// See [`open_connection`](super::open_connection).
    #[doc(alias = "get_extra_info")]
    #[doc(alias = "peername")]
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        match &self.info {
            Some(i) => i.peer_addr(),
            None => Err(no_addr()),
        }
    }

    /// The local address of the socket (asyncio's
    /// `get_extra_info('sockname')`).
    ///
    /// # Errors
    ///
    /// As [`peer_addr`](Self::peer_addr).
    #[doc(alias = "sockname")]
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match &self.info {
            Some(i) => i.local_addr(),
            None => Err(no_addr()),
        }
    }
}

/// `fut` bounded by `limit`: a handshake that takes longer fails with
/// `TimedOut`.
async fn handshake_timeout(
    limit: Duration,
    peer: &str,
    fut: impl std::future::Future<Output = io::Result<()>>,
) -> io::Result<()> {
    match crate::timeout(limit, fut).await {
        Ok(res) => res,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("TLS handshake with {peer} timed out after {limit:?}"),
        )),
    }
}

fn no_addr() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "this stream has no IP socket address",
    )
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        self.close();
    }
}

impl fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.shared.state.borrow();
        f.debug_struct("StreamWriter")
            .field("buffered", &st.pending())
            .field("closing", &st.closing)
            .field("closed", &st.closed)
            .finish_non_exhaustive()
    }
}

impl AsyncWrite for StreamWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        {
            let st = self.shared.state.borrow();
            if st.closing || st.eof_wanted || st.closed {
                return Poll::Ready(Err(st.error().unwrap_or_else(|| {
                    io::Error::new(io::ErrorKind::BrokenPipe, "the stream writer is closed")
                })));
            }
        }
        std::task::ready!(self.shared.poll_until(cx, |st| st.pending() < st.high))?;
        self.write(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.shared.poll_until(cx, State::sent)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.close();
        self.shared.poll_until(cx, |st| st.closed)
    }
}
