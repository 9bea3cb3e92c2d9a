//! The connection under a [`StreamReader`]/[`StreamWriter`] pair.
//!
//! Both halves hold an `Rc<Conn>` and read or write through it. A socket
//! that reads and writes through shared references (`&TcpStream`,
//! `&UnixStream`) is polled by each half on its own, with its own waker
//! per direction, as before any wrapping. Any other transport (a TLS
//! stream, a user's type) is polled through `&mut`, one half at a time;
//! such a transport may store the waker it is polled with for either
//! direction (a TLS read can write), so it is given a waker that wakes
//! both halves. The connection can be swapped under both halves while
//! they live: [`StreamWriter::start_tls`] takes the transport out, runs
//! the handshake and puts the TLS stream back.

use std::any::Any;
use std::cell::RefCell;
use std::future::Future;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use futures_io::{AsyncRead, AsyncWrite};

use super::tls::TlsInfo;
use super::writer::SocketInfo;
use super::{StreamReader, StreamWriter, TcpStream, UnixStream};

/// A transport owned by a connection.
pub(crate) trait Duplex: AsyncRead + AsyncWrite {
    /// The transport itself, for [`Conn::tls_info`] to find the TLS
    /// stream behind the box.
    fn as_any(&self) -> &dyn Any;
}
impl<T: AsyncRead + AsyncWrite + 'static> Duplex for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A transport owned by a connection, type-erased.
pub(crate) type BoxIo = Pin<Box<dyn Duplex>>;

/// A socket read and written through shared references.
trait SharedIo {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;
    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
    fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>>;
    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    fn poll_close(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

impl<T> SharedIo for T
where
    for<'a> &'a T: AsyncRead + AsyncWrite,
{
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_read(cx, buf)
    }
    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_write_vectored(cx, bufs)
    }
    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self).poll_flush(cx)
    }
    fn poll_close(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self).poll_close(cx)
    }
}

/// A shared socket as an owned transport (what a TLS stream wraps).
struct SharedOwned(Rc<dyn SharedIo>);

impl AsyncRead for SharedOwned {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_read(cx, buf)
    }
}

impl AsyncWrite for SharedOwned {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_write(cx, buf)
    }
    /// Forwarded, so a TLS stream's queued records leave in one
    /// `writev` (one TCP segment) instead of one write each.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_write_vectored(cx, bufs)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_flush(cx)
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_close(cx)
    }
}

const READ: usize = 0;
const WRITE: usize = 1;

/// The wakers of both halves; waking it wakes both.
///
/// A `Waker` must be `Send + Sync`, so the slots sit behind a `Mutex`;
/// but a half is polled again and again with the same waker, and the
/// lock is only needed when the slot changes. [`Conn`] keeps, unshared,
/// the waker each half last stored ([`Io::Owned`]'s `last`) with the
/// count of wakes then; a wake empties the slots and bumps the count. A
/// poll with the stored waker and no wake since costs one atomic load, no
/// lock (the TLS handshake profile showed the lock on every poll).
#[derive(Default)]
struct BothWaker {
    slots: Mutex<[Option<Waker>; 2]>,
    /// Bumped by every wake (inside the lock).
    wakes: AtomicUsize,
}

impl BothWaker {
    /// Stores `waker` for `dir`. `last` is what this half stored last and
    /// the wake count then: when the waker is the same and no wake has
    /// emptied the slots since, it is still there.
    fn set(&self, dir: usize, waker: &Waker, last: &mut Option<(Waker, usize)>) {
        // The writer's non-waiting fast path polls with a no-op waker: it
        // must not replace a real waiter.
        if waker.will_wake(Waker::noop()) {
            return;
        }
        if let Some((w, wakes)) = last {
            if *wakes == self.wakes.load(Ordering::Acquire) && w.will_wake(waker) {
                return;
            }
        }
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        match &slots[dir] {
            Some(w) if w.will_wake(waker) => {}
            _ => slots[dir] = Some(waker.clone()),
        }
        *last = Some((waker.clone(), self.wakes.load(Ordering::Relaxed)));
    }
}

impl Wake for BothWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let [r, w] = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            self.wakes.fetch_add(1, Ordering::Release);
            [slots[READ].take(), slots[WRITE].take()]
        };
        r.into_iter().chain(w).for_each(Waker::wake);
    }
}

enum Io {
    /// Polled by each half through a shared reference.
    Shared(Rc<dyn SharedIo>),
    /// Polled through `&mut` with a waker that wakes both halves.
    Owned {
        io: BoxIo,
        both: Arc<BothWaker>,
        waker: Waker,
        /// Per direction: the waker last stored in `both` and
        /// `both.wakes` then.
        last: [Option<(Waker, usize)>; 2],
    },
    /// `start_tls` holds the transport: the halves wait.
    Upgrading,
    /// The upgrade failed or was cancelled: the transport is gone.
    Failed(io::ErrorKind, String),
}

impl Io {
    fn owned(io: BoxIo) -> Io {
        let both = Arc::new(BothWaker::default());
        let waker = Waker::from(both.clone());
        Io::Owned {
            io,
            both,
            waker,
            last: [None, None],
        }
    }
}

/// The connection shared by a reader and a writer.
pub(crate) struct Conn {
    io: RefCell<Io>,
    /// Halves waiting while `start_tls` runs.
    waiting: RefCell<Vec<Waker>>,
    /// [`tls_info`](Conn::tls_info)'s answer, built on the first call.
    tls: RefCell<Option<Rc<TlsInfo>>>,
}

impl Conn {
    fn new(io: Io) -> Rc<Conn> {
        Rc::new(Conn {
            io: RefCell::new(io),
            waiting: RefCell::new(Vec::new()),
            tls: RefCell::new(None),
        })
    }

    /// Polls the transport for one direction.
    fn poll<T>(
        &self,
        dir: usize,
        cx: &mut Context<'_>,
        op: impl FnOnce(Target<'_>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        // No reentrancy: a transport's poll never calls back into its Conn.
        let mut io = self.io.borrow_mut();
        match &mut *io {
            Io::Shared(s) => op(Target::Shared(&**s), cx),
            Io::Owned {
                io,
                both,
                waker,
                last,
            } => {
                both.set(dir, cx.waker(), &mut last[dir]);
                op(Target::Owned(io.as_mut()), &mut Context::from_waker(waker))
            }
            Io::Upgrading => {
                if !cx.waker().will_wake(Waker::noop()) {
                    self.waiting.borrow_mut().push(cx.waker().clone());
                }
                Poll::Pending
            }
            Io::Failed(kind, msg) => Poll::Ready(Err(io::Error::new(*kind, msg.clone()))),
        }
    }

    /// Whether the transport may hold written bytes until flushed: any
    /// owned transport (a TLS stream, a user's type) may, a shared socket
    /// does not.
    pub(crate) fn buffering(&self) -> bool {
        !matches!(&*self.io.borrow(), Io::Shared(_))
    }

    /// TLS parameters once `start_tls` (or a TLS `open_connection` /
    /// `start_server`) has completed.
    ///
    /// Built from the TLS stream on the first call, not after each
    /// handshake: its strings and certificate copies cost a connection
    /// that never asks nothing.
    pub(crate) fn tls_info(&self) -> Option<Rc<TlsInfo>> {
        if let Some(info) = &*self.tls.borrow() {
            return Some(info.clone());
        }
        let info = match &*self.io.try_borrow().ok()? {
            Io::Owned { io, .. } => Rc::new(super::tls::info(io.as_ref().get_ref().as_any())?),
            _ => return None,
        };
        *self.tls.borrow_mut() = Some(info.clone());
        Some(info)
    }

    /// Replaces the transport with `handshake(transport)`'s result; the
    /// halves wait meanwhile. If the handshake fails or the future is
    /// dropped, the connection is gone and both halves report the error.
    pub(crate) async fn upgrade<F, Fut>(&self, handshake: F) -> io::Result<()>
    where
        F: FnOnce(BoxIo) -> Fut,
        Fut: Future<Output = io::Result<BoxIo>>,
    {
        let old = std::mem::replace(&mut *self.io.borrow_mut(), Io::Upgrading);
        let transport: BoxIo = match old {
            Io::Shared(s) => Box::pin(SharedOwned(s)),
            Io::Owned { io, .. } => io,
            Io::Upgrading => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "start_tls is already running on this stream",
                ))
            }
            Io::Failed(kind, msg) => {
                *self.io.borrow_mut() = Io::Failed(kind, msg.clone());
                return Err(io::Error::new(kind, msg));
            }
        };
        /// Fails the connection unless the handshake finished.
        struct Guard<'a>(&'a Conn, bool);
        impl Drop for Guard<'_> {
            fn drop(&mut self) {
                if !self.1 {
                    self.0.finish(Io::Failed(
                        io::ErrorKind::ConnectionAborted,
                        "the TLS handshake (start_tls) was cancelled; the connection is closed"
                            .into(),
                    ));
                }
            }
        }
        let mut guard = Guard(self, false);
        let res = handshake(transport).await;
        guard.1 = true;
        match res {
            Ok(io) => {
                *self.tls.borrow_mut() = None;
                self.finish(Io::owned(io));
                Ok(())
            }
            Err(e) => {
                self.finish(Io::Failed(e.kind(), e.to_string()));
                Err(e)
            }
        }
    }

    fn finish(&self, io: Io) {
        *self.io.borrow_mut() = io;
        let waiting = std::mem::take(&mut *self.waiting.borrow_mut());
        waiting.into_iter().for_each(Waker::wake);
    }
}

/// The transport as polled by one half.
enum Target<'a> {
    Shared(&'a dyn SharedIo),
    Owned(Pin<&'a mut dyn Duplex>),
}

impl Target<'_> {
    fn poll_read(self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        match self {
            Target::Shared(s) => s.poll_read(cx, buf),
            Target::Owned(io) => io.poll_read(cx, buf),
        }
    }
    fn poll_write(self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self {
            Target::Shared(s) => s.poll_write(cx, buf),
            Target::Owned(io) => io.poll_write(cx, buf),
        }
    }
    fn poll_flush(self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Target::Shared(s) => s.poll_flush(cx),
            Target::Owned(io) => io.poll_flush(cx),
        }
    }
    fn poll_close(self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Target::Shared(s) => s.poll_close(cx),
            Target::Owned(io) => io.poll_close(cx),
        }
    }
}

/// The reading half's transport.
struct ReadHalf(Rc<Conn>);

impl AsyncRead for ReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.0.poll(READ, cx, |t, cx| t.poll_read(cx, buf))
    }
}

/// The writing half's transport.
struct WriteHalf(Rc<Conn>);

impl AsyncWrite for WriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0.poll(WRITE, cx, |t, cx| t.poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll(WRITE, cx, |t, cx| t.poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll(WRITE, cx, |t, cx| t.poll_close(cx))
    }
}

impl SocketInfo for TcpStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        TcpStream::peer_addr(self)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        TcpStream::local_addr(self)
    }
}

fn pair(
    conn: Rc<Conn>,
    limit: usize,
    info: Option<Rc<dyn SocketInfo>>,
) -> (StreamReader, StreamWriter) {
    (
        StreamReader::with_limit(ReadHalf(conn.clone()), limit),
        StreamWriter::with_conn(Box::pin(WriteHalf(conn.clone())), info, Some(conn)),
    )
}

/// Splits a TCP stream, with its addresses available on the writer.
pub(crate) fn split_tcp(stream: TcpStream, limit: usize) -> (StreamReader, StreamWriter) {
    let s = Rc::new(stream);
    let info: Rc<dyn SocketInfo> = s.clone();
    pair(Conn::new(Io::Shared(s)), limit, Some(info))
}

/// Splits any stream whose shared reference reads and writes.
pub(crate) fn split_shared<T>(stream: T, limit: usize) -> (StreamReader, StreamWriter)
where
    T: 'static,
    for<'a> &'a T: AsyncRead + AsyncWrite,
{
    pair(Conn::new(Io::Shared(Rc::new(stream))), limit, None)
}

/// Splits any transport: sockets of `anyloop::net` keep their fast path
/// (and, for TCP, their addresses); anything else is owned by the pair.
pub(crate) fn split_any<T>(transport: T, limit: usize) -> (StreamReader, StreamWriter)
where
    T: AsyncRead + AsyncWrite + 'static,
{
    let mut slot = Some(transport);
    let any: &mut dyn Any = &mut slot;
    if let Some(tcp) = any
        .downcast_mut::<Option<TcpStream>>()
        .and_then(Option::take)
    {
        return split_tcp(tcp, limit);
    }
    if let Some(unix) = any
        .downcast_mut::<Option<UnixStream>>()
        .and_then(Option::take)
    {
        return split_shared(unix, limit);
    }
    match slot {
        Some(t) => pair(Conn::new(Io::owned(Box::pin(t))), limit, None),
        None => unreachable!("the transport was taken only by a matching downcast"),
    }
}
