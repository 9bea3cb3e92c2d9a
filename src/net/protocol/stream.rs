//! [`Transport`] and the task that drives a stream connection for a
//! protocol.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use futures_io::{AsyncRead, AsyncWrite};

use super::{BufferedProtocol, Protocol};
use crate::net::server::Accepted;
use crate::net::{TcpStream, DEFAULT_HIGH_WATER};

/// How much a [`Protocol`]'s transport reads at once (asyncio's
/// `max_size`, 256 KiB, is sized for Python's per-call cost). The buffer is
/// one per thread, shared by all its connections: `data_received` only
/// borrows the bytes.
pub const DEFAULT_READ_SIZE: usize = 64 * 1024;

thread_local! {
    /// The read buffer of the thread's [`Protocol`] transports.
    static READ_BUF: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Reads a connection does before it lets other tasks run.
const READS_PER_POLL: usize = 16;

/// A protocol a stream [`Transport`] can drive: every [`Protocol`], and a
/// [`BufferedProtocol`] wrapped in [`Buffered`]. Sealed.
pub trait StreamProtocol: sealed::Sealed + 'static {
    #[doc(hidden)]
    fn connection_made(&mut self, transport: Transport);
    #[doc(hidden)]
    fn eof_received(&mut self) -> bool;
    #[doc(hidden)]
    fn connection_lost(&mut self, exc: Option<io::Error>);
    #[doc(hidden)]
    fn pause_writing(&mut self);
    #[doc(hidden)]
    fn resume_writing(&mut self);
    /// Reads from `sock` into the protocol's buffer (or the thread's
    /// read buffer) and hands the bytes over; `Ok(0)` at end of stream.
    #[doc(hidden)]
    fn poll_receive(
        &mut self,
        sock: &mut (dyn AsyncRead + Unpin),
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>>;
}

mod sealed {
    pub trait Sealed {}
}

impl<P: Protocol> sealed::Sealed for P {}

impl<P: Protocol> StreamProtocol for P {
    fn connection_made(&mut self, transport: Transport) {
        Protocol::connection_made(self, transport)
    }
    fn eof_received(&mut self) -> bool {
        Protocol::eof_received(self)
    }
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        Protocol::connection_lost(self, exc)
    }
    fn pause_writing(&mut self) {
        Protocol::pause_writing(self)
    }
    fn resume_writing(&mut self) {
        Protocol::resume_writing(self)
    }
    fn poll_receive(
        &mut self,
        sock: &mut (dyn AsyncRead + Unpin),
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        // `data_received` borrows the bytes only for the call, so every
        // connection of the thread reads into one buffer (a 64 KiB buffer
        // per connection cost 1,000 connections 64 MiB, zeroed).
        let mut scratch = READ_BUF.take();
        if scratch.is_empty() {
            scratch.resize(DEFAULT_READ_SIZE, 0);
        }
        let res = match Pin::new(sock).poll_read(cx, &mut scratch) {
            Poll::Ready(Ok(n)) if n > 0 => {
                self.data_received(&scratch[..n]);
                Poll::Ready(Ok(n))
            }
            other => other,
        };
        // (A callback that read on another transport re-entrantly used a
        // buffer of its own; one is kept.)
        READ_BUF.set(scratch);
        res
    }
}

/// Wraps a [`BufferedProtocol`] for the functions that take a protocol
/// factory: `create_server(|| Buffered(MyProto::new()), ..)`.
#[derive(Debug, Default, Clone)]
pub struct Buffered<P>(pub P);

impl<P: BufferedProtocol> sealed::Sealed for Buffered<P> {}

impl<P: BufferedProtocol> StreamProtocol for Buffered<P> {
    fn connection_made(&mut self, transport: Transport) {
        self.0.connection_made(transport)
    }
    fn eof_received(&mut self) -> bool {
        self.0.eof_received()
    }
    fn connection_lost(&mut self, exc: Option<io::Error>) {
        self.0.connection_lost(exc)
    }
    fn pause_writing(&mut self) {
        self.0.pause_writing()
    }
    fn resume_writing(&mut self) {
        self.0.resume_writing()
    }
    fn poll_receive(
        &mut self,
        sock: &mut (dyn AsyncRead + Unpin),
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        let buf = self.0.get_buffer(DEFAULT_READ_SIZE);
        if buf.is_empty() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "BufferedProtocol::get_buffer returned an empty buffer",
            )));
        }
        match Pin::new(sock).poll_read(cx, buf) {
            Poll::Ready(Ok(n)) if n > 0 => {
                self.0.buffer_updated(n);
                Poll::Ready(Ok(n))
            }
            other => other,
        }
    }
}

/// asyncio's `asyncio.Transport` for a stream connection: handed to
/// [`Protocol::connection_made`]; cheap to clone (all clones are the same
/// connection).
///
/// # Examples
///
/// ```
/// use anyloop::net::{Protocol, Transport};
///
/// /// Answers each chunk in upper case, stops reading when too much is
/// /// queued for the peer, and closes on "bye".
/// struct Shout(Option<Transport>);
/// impl Protocol for Shout {
///     fn connection_made(&mut self, t: Transport) {
///         t.set_write_buffer_limits(Some(64 * 1024), None);
///         self.0 = Some(t);
///     }
///     fn data_received(&mut self, data: &[u8]) {
///         let Some(t) = &self.0 else { return };
///         if data.starts_with(b"bye") {
///             t.close();
///         } else {
///             t.write(&data.to_ascii_uppercase());
///         }
///     }
///     fn pause_writing(&mut self) {
///         if let Some(t) = &self.0 { t.pause_reading() }
///     }
///     fn resume_writing(&mut self) {
///         if let Some(t) = &self.0 { t.resume_reading() }
///     }
/// }
/// ```
#[derive(Clone)]
#[doc(alias = "BaseTransport")]
#[doc(alias = "WriteTransport")]
#[doc(alias = "ReadTransport")]
pub struct Transport {
    inner: Rc<Inner>,
}

struct Inner {
    st: RefCell<State>,
    addrs: Addrs,
}

/// A transport's `peername` and `sockname`: the peer as `accept` gave it,
/// the rest asked of the socket on first use and then kept, so a
/// connection that never asks costs no `getpeername`/`getsockname` (asyncio
/// reads both when the transport is made).
#[derive(Default)]
struct Addrs {
    /// The TCP socket while the connection lives (the driver owns it).
    sock: Option<Weak<TcpStream>>,
    peer: Cell<Option<SocketAddr>>,
    local: Cell<Option<SocketAddr>>,
}

impl Addrs {
    fn get(
        &self,
        slot: &Cell<Option<SocketAddr>>,
        ask: fn(&TcpStream) -> io::Result<SocketAddr>,
    ) -> io::Result<SocketAddr> {
        if let Some(a) = slot.get() {
            return Ok(a);
        }
        let Some(sock) = &self.sock else {
            return Err(no_addr());
        };
        let Some(sock) = sock.upgrade() else {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the transport's connection is closed (its addresses are kept once asked for, \
                 e.g. in connection_made or connection_lost)",
            ));
        };
        let a = ask(&sock).map_err(|_| no_addr())?;
        slot.set(Some(a));
        Ok(a)
    }
}

struct State {
    wbuf: Vec<u8>,
    /// Bytes of `wbuf` already sent.
    wpos: usize,
    high: usize,
    low: usize,
    /// `close()` called: finish writing, then close.
    closing: bool,
    aborted: bool,
    /// `write_eof()` called.
    eof_requested: bool,
    reading_paused: bool,
    /// `connection_lost` has run.
    lost: bool,
    /// The driving task, woken when another task changes the state.
    waker: Option<Waker>,
    /// The driving task is running a callback: no need to wake it.
    in_driver: bool,
}

impl State {
    fn buffered(&self) -> usize {
        self.wbuf.len() - self.wpos
    }
}

impl Transport {
    fn wake(&self, st: &mut State) {
        if !st.in_driver {
            if let Some(w) = &st.waker {
                w.wake_by_ref();
            }
        }
    }

    /// Queues `data` to be sent (asyncio's `write`). Never blocks; data
    /// written after [`close`](Self::close), [`abort`](Self::abort),
    /// [`write_eof`](Self::write_eof) or the connection's loss is dropped.
    ///
    /// # Examples
    ///
    /// See [`Transport`].
    pub fn write(&self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let mut st = self.inner.st.borrow_mut();
        if st.closing || st.aborted || st.eof_requested || st.lost {
            return;
        }
        let was_empty = st.buffered() == 0;
        st.wbuf.extend_from_slice(data);
        if was_empty {
            self.wake(&mut st);
        }
    }

    /// Queues each buffer of `data` (asyncio's `writelines`).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn f(t: &anyloop::net::Transport) {
    /// t.writelines([&b"GET / HTTP/1.0\r\n"[..], b"\r\n"]);
    /// # }
    /// ```
    pub fn writelines<'a>(&self, data: impl IntoIterator<Item = &'a [u8]>) {
        for d in data {
            self.write(d);
        }
    }

    /// Closes the sending side once the buffer is flushed (asyncio's
    /// `write_eof`); reading goes on.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn f(t: &anyloop::net::Transport) {
    /// t.write(b"last words");
    /// t.write_eof();
    /// # }
    /// ```
    pub fn write_eof(&self) {
        let mut st = self.inner.st.borrow_mut();
        if !st.eof_requested {
            st.eof_requested = true;
            self.wake(&mut st);
        }
    }

    /// Whether [`write_eof`](Self::write_eof) is possible: true for TCP and
    /// Unix sockets (asyncio's `can_write_eof`).
    pub fn can_write_eof(&self) -> bool {
        true
    }

    /// Stops reading, sends what is buffered, then closes and calls
    /// `connection_lost(None)` (asyncio's `close`).
    ///
    /// # Examples
    ///
    /// See [`Transport`].
    pub fn close(&self) {
        let mut st = self.inner.st.borrow_mut();
        if !st.closing {
            st.closing = true;
            self.wake(&mut st);
        }
    }

    /// Closes at once, dropping buffered data; `connection_lost(None)`
    /// follows (asyncio's `abort`).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn f(t: &anyloop::net::Transport) {
    /// t.abort();
    /// assert!(t.is_closing());
    /// # }
    /// ```
    pub fn abort(&self) {
        let mut st = self.inner.st.borrow_mut();
        if !st.aborted {
            st.aborted = true;
            st.closing = true;
            self.wake(&mut st);
        }
    }

    /// Whether the transport is closing or closed (asyncio's `is_closing`).
    pub fn is_closing(&self) -> bool {
        let st = self.inner.st.borrow();
        st.closing || st.lost
    }

    /// Stops calling `data_received` until
    /// [`resume_reading`](Self::resume_reading) (asyncio's
    /// `pause_reading`); the peer is slowed down by TCP flow control.
    pub fn pause_reading(&self) {
        self.inner.st.borrow_mut().reading_paused = true;
    }

    /// Resumes reading (asyncio's `resume_reading`).
    pub fn resume_reading(&self) {
        let mut st = self.inner.st.borrow_mut();
        if st.reading_paused {
            st.reading_paused = false;
            self.wake(&mut st);
        }
    }

    /// Whether the transport is reading (asyncio's `is_reading`).
    pub fn is_reading(&self) -> bool {
        let st = self.inner.st.borrow();
        !st.reading_paused && !st.closing && !st.lost
    }

    /// Sets the write-buffer water marks (asyncio's
    /// `set_write_buffer_limits(high, low)`): `pause_writing` above
    /// `high`, `resume_writing` at or below `low`. Defaults: `high` 64 KiB
    /// (as [`StreamWriter`](crate::net::StreamWriter)), `low` a quarter of
    /// `high`; `low` is capped at `high`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn f(t: &anyloop::net::Transport) {
    /// t.set_write_buffer_limits(Some(1 << 20), Some(1 << 16));
    /// assert_eq!(t.write_buffer_limits(), (1 << 16, 1 << 20));
    /// # }
    /// ```
    pub fn set_write_buffer_limits(&self, high: Option<usize>, low: Option<usize>) {
        let mut st = self.inner.st.borrow_mut();
        let (high, low) = water_marks(high, low);
        st.high = high;
        st.low = low;
        self.wake(&mut st);
    }

    /// `(low, high)` water marks (asyncio's `get_write_buffer_limits`).
    #[doc(alias = "get_write_buffer_limits")]
    pub fn write_buffer_limits(&self) -> (usize, usize) {
        let st = self.inner.st.borrow();
        (st.low, st.high)
    }

    /// Bytes queued and not yet sent (asyncio's `get_write_buffer_size`).
    #[doc(alias = "get_write_buffer_size")]
    pub fn write_buffer_size(&self) -> usize {
        self.inner.st.borrow().buffered()
    }

    /// The peer's address (`get_extra_info('peername')`).
    ///
    /// # Errors
    ///
    /// `NotFound` for Unix sockets and where the host cannot tell (WASI);
    /// `NotConnected` after the connection was lost if the address was
    /// never asked for while it lived. The peer of an accepted connection
    /// (from `accept`), of [`create_connection`](super::create_connection)
    /// (the address it connected to) and of
    /// [`connect_accepted_socket`](super::connect_accepted_socket) (asked
    /// once when the transport is made, as asyncio does) is always
    /// known.
    #[doc(alias = "get_extra_info")]
    #[doc(alias = "peername")]
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        let a = &self.inner.addrs;
        a.get(&a.peer, TcpStream::peer_addr)
    }

    /// The local address (`get_extra_info('sockname')`).
    ///
    /// # Errors
    ///
    /// As [`peer_addr`](Self::peer_addr).
    #[doc(alias = "sockname")]
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let a = &self.inner.addrs;
        a.get(&a.local, TcpStream::local_addr)
    }
}

fn no_addr() -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, "the transport has no IP address")
}

/// asyncio's defaults: `low = high / 4`; `low` never above `high`.
fn water_marks(high: Option<usize>, low: Option<usize>) -> (usize, usize) {
    let high = high.unwrap_or(match low {
        Some(l) => l.saturating_mul(4),
        None => DEFAULT_HIGH_WATER,
    });
    let low = low.unwrap_or(high / 4).min(high);
    (high, low)
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.st.borrow();
        f.debug_struct("Transport")
            .field("peer", &self.inner.addrs.peer.get())
            .field("buffered", &st.buffered())
            .field("closing", &st.closing)
            .field("lost", &st.lost)
            .finish()
    }
}

/// Makes the transport for `conn`, calls `connection_made` now, and
/// returns the future that drives the connection until it closes.
pub(crate) fn start<P: StreamProtocol>(
    conn: Accepted,
    proto: P,
) -> (Transport, Pin<Box<dyn Future<Output = ()>>>) {
    match conn {
        Accepted::Tcp(s, peer) => {
            let s = Rc::new(s);
            let addrs = Addrs {
                sock: Some(Rc::downgrade(&s)),
                peer: Cell::new(peer),
                local: Cell::new(None),
            };
            let (transport, proto) = new_transport(proto, addrs);
            let fut = Box::pin(drive(s, proto, transport.clone()));
            (transport, fut)
        }
        Accepted::Unix(s) => start_io(s, proto),
    }
}

/// Standard input and output as one duplex stream (the stdio transport).
struct Stdio {
    stdin: RefCell<crate::io::Stdin>,
    stdout: RefCell<crate::io::Stdout>,
}

impl AsyncRead for &Stdio {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.stdin.borrow_mut()).poll_read(cx, buf)
    }
}

impl AsyncWrite for &Stdio {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.stdout.borrow_mut()).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.stdout.borrow_mut()).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.stdout.borrow_mut()).poll_close(cx)
    }
}

/// The transport of standard input and output, and its driving future.
pub(crate) fn start_stdio<P: StreamProtocol>(
    proto: P,
) -> (Transport, Pin<Box<dyn Future<Output = ()>>>) {
    let stdio = Stdio {
        stdin: RefCell::new(crate::io::stdin()),
        stdout: RefCell::new(crate::io::stdout()),
    };
    start_io(stdio, proto)
}

/// The transport of any duplex I/O object without addresses (stdio, a
/// child's pipe), and its driving future.
pub(crate) fn start_io<S, P>(io: S, proto: P) -> (Transport, Pin<Box<dyn Future<Output = ()>>>)
where
    S: Unpin + 'static,
    for<'a> &'a S: AsyncRead + AsyncWrite,
    P: StreamProtocol,
{
    let (transport, proto) = new_transport(proto, Addrs::default());
    // Nothing else asks this socket for anything: the driver owns it
    // outright (no `Rc`, one allocation fewer per transport).
    let fut = Box::pin(drive(Owned(io), proto, transport.clone()));
    (transport, fut)
}

/// A socket owned by its driver alone (a TCP socket is an `Rc` shared
/// weakly with the transport's [`Addrs`]).
struct Owned<S>(S);

impl<S> std::ops::Deref for Owned<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.0
    }
}

/// A new transport; `connection_made` has run.
fn new_transport<P: StreamProtocol>(mut proto: P, addrs: Addrs) -> (Transport, P) {
    let (high, low) = water_marks(None, None);
    let transport = Transport {
        inner: Rc::new(Inner {
            st: RefCell::new(State {
                wbuf: Vec::new(),
                wpos: 0,
                high,
                low,
                closing: false,
                aborted: false,
                eof_requested: false,
                reading_paused: false,
                lost: false,
                waker: None,
                in_driver: true,
            }),
            addrs,
        }),
    };
    proto.connection_made(transport.clone());
    transport.inner.st.borrow_mut().in_driver = false;
    (transport, proto)
}

/// Calls `connection_lost` if the driving task ends without doing so
/// (cancelled, e.g. by `Server::abort_clients` or the loop's shutdown).
struct Driver<H, P: StreamProtocol> {
    /// The socket: an `Rc` shared with the transport's [`Addrs`]
    /// (weakly), for `peer_addr`, or [`Owned`].
    sock: Option<H>,
    proto: P,
    t: Transport,
    protocol_paused: bool,
    eof_sent: bool,
    eof_received: bool,
}

impl<H, P: StreamProtocol> Drop for Driver<H, P> {
    fn drop(&mut self) {
        self.finish(None);
    }
}

impl<H, P: StreamProtocol> Driver<H, P> {
    /// Closes the socket and calls `connection_lost` (once).
    fn finish(&mut self, exc: Option<io::Error>) {
        let mut st = self.t.inner.st.borrow_mut();
        if st.lost {
            return;
        }
        st.lost = true;
        st.closing = true;
        st.waker = None;
        st.wbuf = Vec::new();
        st.wpos = 0;
        drop(st);
        // As asyncio: `connection_lost` runs before the socket closes (it
        // may still ask for the transport's addresses).
        let sock = self.sock.take();
        self.proto.connection_lost(exc);
        drop(sock);
    }
}

/// Runs `f` on the protocol with wakes from the transport suppressed.
fn callback<P, R>(t: &Transport, proto: &mut P, f: impl FnOnce(&mut P) -> R) -> R {
    t.inner.st.borrow_mut().in_driver = true;
    let r = f(proto);
    t.inner.st.borrow_mut().in_driver = false;
    r
}

impl<H, S, P> Driver<H, P>
where
    H: std::ops::Deref<Target = S>,
    S: Unpin,
    for<'a> &'a S: AsyncRead + AsyncWrite,
    P: StreamProtocol,
{
    fn poll_drive(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        super::remember_waker(&mut self.t.inner.st.borrow_mut().waker, cx.waker());
        let mut reads = 0;
        loop {
            let Some(sock) = &self.sock else {
                return Poll::Ready(());
            };
            let mut progress = false;
            // 1. Abort: drop everything.
            if self.t.inner.st.borrow().aborted {
                self.finish(None);
                return Poll::Ready(());
            }
            // 2. Flush the write buffer.
            let mut write_err = None;
            let buffered = {
                let mut st = self.t.inner.st.borrow_mut();
                while st.wpos < st.wbuf.len() {
                    match Pin::new(&mut &**sock).poll_write(cx, &st.wbuf[st.wpos..]) {
                        Poll::Ready(Ok(0)) => {
                            write_err = Some(io::Error::from(io::ErrorKind::WriteZero));
                            break;
                        }
                        Poll::Ready(Ok(n)) => st.wpos += n,
                        Poll::Ready(Err(e)) => {
                            write_err = Some(e);
                            break;
                        }
                        Poll::Pending => break,
                    }
                }
                if st.wpos == st.wbuf.len() && st.wpos > 0 {
                    st.wbuf.clear();
                    st.wpos = 0;
                    if st.wbuf.capacity() > 4 * DEFAULT_READ_SIZE {
                        st.wbuf.shrink_to(DEFAULT_READ_SIZE);
                    }
                } else if st.wpos > DEFAULT_READ_SIZE && st.wpos * 2 > st.wbuf.len() {
                    // Keep the unsent tail at the front.
                    let wpos = st.wpos;
                    st.wbuf.drain(..wpos);
                    st.wpos = 0;
                }
                st.buffered()
            };
            if let Some(e) = write_err {
                self.finish(Some(e));
                return Poll::Ready(());
            }
            // 3. Flow control.
            let (high, low, closing, eof_requested, reading_paused) = {
                let st = self.t.inner.st.borrow();
                (
                    st.high,
                    st.low,
                    st.closing,
                    st.eof_requested,
                    st.reading_paused,
                )
            };
            if self.protocol_paused && buffered <= low {
                self.protocol_paused = false;
                callback(&self.t, &mut self.proto, |p| p.resume_writing());
                progress = true;
            } else if !self.protocol_paused && buffered > high {
                self.protocol_paused = true;
                callback(&self.t, &mut self.proto, |p| p.pause_writing());
                progress = true;
            }
            // 4. End of writing, close.
            if buffered == 0 {
                if eof_requested && !self.eof_sent {
                    match Pin::new(&mut &**sock).poll_close(cx) {
                        Poll::Ready(Ok(())) => self.eof_sent = true,
                        Poll::Ready(Err(e)) => {
                            self.finish(Some(e));
                            return Poll::Ready(());
                        }
                        Poll::Pending => {}
                    }
                }
                if closing {
                    self.finish(None);
                    return Poll::Ready(());
                }
            }
            // 5. Read.
            if !reading_paused && !closing && !self.eof_received {
                if reads == READS_PER_POLL {
                    // Let the other connections run.
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                let mut reader: &S = sock;
                self.t.inner.st.borrow_mut().in_driver = true;
                let res = self.proto.poll_receive(&mut reader, cx);
                self.t.inner.st.borrow_mut().in_driver = false;
                match res {
                    Poll::Ready(Ok(0)) => {
                        self.eof_received = true;
                        if !callback(&self.t, &mut self.proto, |p| p.eof_received()) {
                            self.t.close();
                        }
                        progress = true;
                    }
                    Poll::Ready(Ok(_)) => {
                        reads += 1;
                        progress = true;
                    }
                    Poll::Ready(Err(e)) => {
                        self.finish(Some(e));
                        return Poll::Ready(());
                    }
                    Poll::Pending => {}
                }
            }
            // Every callback counts as progress, so whatever it asked
            // for (writes, close, write_eof) is acted on by the next pass.
            if !progress {
                return Poll::Pending;
            }
        }
    }
}

async fn drive<H, S, P>(sock: H, proto: P, t: Transport)
where
    H: std::ops::Deref<Target = S>,
    S: Unpin,
    for<'a> &'a S: AsyncRead + AsyncWrite,
    P: StreamProtocol,
{
    let mut d = Driver {
        sock: Some(sock),
        proto,
        t,
        protocol_paused: false,
        eof_sent: false,
        eof_received: false,
    };
    poll_fn(|cx| d.poll_drive(cx)).await
}
