//! [`Server`]: the accept loops and connection bookkeeping behind
//! `start_server` / `start_unix_server`, for any listener type.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use anyloop_core::TaskRef;

use super::writer::AbortHandle;
use super::{transport, StreamReader, StreamWriter, TcpStream, UnixStream};

/// An accepted connection, before a handler turns it into streams or a
/// protocol's transport.
pub(crate) enum Accepted {
    /// A TCP connection and its peer's address when `accept` gave it.
    Tcp(TcpStream, Option<SocketAddr>),
    Unix(UnixStream),
}

/// A listener the server accepts from.
pub(crate) trait Accept {
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<Accepted>>;
}

/// What a server runs for each connection, as its own task: the handler's
/// future, and the abort handle of its stream writer if it has one. The
/// connection counts (`active_connections`, `wait_closed`) while the
/// task or a clone of `guard` is alive.
pub(crate) type BoxHandler = Box<
    dyn Fn(Accepted, &Rc<ConnGuard>) -> (Pin<Box<dyn Future<Output = ()>>>, Option<AbortHandle>),
>;

/// What a connection handler may return. `()` is fine; an `Err` is
/// reported on standard error (asyncio logs "Unhandled exception in
/// client_connected_cb") and closes only that connection.
///
/// # Examples
///
/// ```
/// # anyloop::run(async {
/// // A handler may use `?`:
/// let server = anyloop::net::start_server(|mut r, w| async move {
///     let line = r.readline().await?;
///     w.write(&line);
///     w.drain().await
/// }, "127.0.0.1", 0).await.unwrap();
/// server.close();
/// # });
/// ```
pub trait HandlerResult {
    /// Reports a failure (called once, when the handler returns).
    fn report(self);
}

impl HandlerResult for () {
    fn report(self) {}
}

impl<T, E: fmt::Display> HandlerResult for Result<T, E> {
    fn report(self) {
        if let Err(e) = self {
            eprintln!("anyloop::net: connection handler failed: {e}");
        }
    }
}

/// A streams handler: splits each connection into a reader (with
/// `limit`) and a writer that holds the connection's guard until it has
/// flushed.
pub(crate) fn box_handler<H, F>(handler: H, limit: usize) -> BoxHandler
where
    H: Fn(StreamReader, StreamWriter) -> F + 'static,
    F: Future + 'static,
    F::Output: HandlerResult,
{
    Box::new(move |conn, guard| {
        let (r, w) = match conn {
            Accepted::Tcp(stream, _) => {
                let _ = stream.set_nodelay(true);
                transport::split_tcp(stream, limit)
            }
            Accepted::Unix(stream) => transport::split_shared(stream, limit),
        };
        // The connection counts until the handler has ended AND its
        // writer has sent what it buffered (the flush outlives a handler
        // that returns right after `write`).
        w.hold_until_released(guard.clone());
        let abort = w.abort_handle();
        let fut = handler(r, w);
        (Box::pin(async move { fut.await.report() }), Some(abort))
    })
}

/// A listening server started by [`start_server`](super::start_server),
/// [`start_server_on`](super::start_server_on) or
/// [`start_unix_server`](super::start_unix_server): asyncio's `Server`
/// (an `AbstractServer`).
///
/// It accepts from the start, as asyncio's servers with their default
/// `start_serving=True`, so there is no `start_serving()` to call;
/// [`serve_forever`](Self::serve_forever) waits until it is closed.
///
/// Each accepted connection runs the handler as its own task with a
/// [`StreamReader`] and a [`StreamWriter`]. A handler that fails or
/// panics ends only its own connection (its reader and writer are
/// dropped, which closes the connection); the server keeps accepting.
///
/// Shutdown is graceful: [`close`](Self::close) stops accepting at once
/// (the listening sockets are closed, so new connections are refused)
/// while running handlers go on; [`wait_closed`](Self::wait_closed)
/// waits for them. [`abort_clients`](Self::abort_clients) cancels them.
/// Dropping the `Server` closes it too (handlers keep running).
///
/// # Examples
///
/// ```
/// use anyloop::net::{open_connection, start_server};
///
/// anyloop::run(async {
///     let server = start_server(|_r, w| async move {
///         w.write(b"hello\n");
///         w.drain().await
///     }, "127.0.0.1", 0).await?;
///     let port = server.local_addr()?.port();
///
///     let (mut r, _w) = open_connection("127.0.0.1", port).await?;
///     assert_eq!(r.readline().await?, b"hello\n");
///
///     server.close();
///     server.wait_closed().await;
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
#[doc(alias = "AbstractServer")]
#[doc(alias = "start_serving")]
pub struct Server {
    state: Rc<ServerState>,
}

struct ServerState {
    listeners: RefCell<Vec<Option<Rc<dyn Accept>>>>,
    addrs: Vec<SocketAddr>,
    unix_path: Option<PathBuf>,
    handler: BoxHandler,
    closed: Cell<bool>,
    active: Cell<usize>,
    conns: RefCell<Vec<Option<Conn>>>,
    free: RefCell<Vec<usize>>,
    waiters: RefCell<Vec<Waker>>,
}

impl ServerState {
    fn wake_all(&self) {
        let w = std::mem::take(&mut *self.waiters.borrow_mut());
        w.into_iter().for_each(Waker::wake);
    }

    fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        // Dropping the listeners closes their sockets now: new
        // connections are refused, and the accept tasks see `None`.
        let listeners = std::mem::take(&mut *self.listeners.borrow_mut());
        drop(listeners);
        if let Some(p) = &self.unix_path {
            let _ = std::fs::remove_file(p);
        }
        self.wake_all();
    }

    fn listener(&self, i: usize) -> Option<Rc<dyn Accept>> {
        self.listeners.borrow().get(i).cloned().flatten()
    }

    fn spawn_handler(self: &Rc<Self>, conn: Accepted) {
        let slot = self.free.borrow_mut().pop().unwrap_or_else(|| {
            let mut c = self.conns.borrow_mut();
            c.push(None);
            c.len() - 1
        });
        self.active.set(self.active.get() + 1);
        let guard = Rc::new(ConnGuard {
            state: self.clone(),
            slot,
        });
        let (fut, writer) = (self.handler)(conn, &guard);
        self.conns.borrow_mut()[slot] = Some(Conn { task: None, writer });
        let task = anyloop_core::task::Builder::new()
            .name("anyloop::net::Server connection")
            .spawn(async move {
                let _guard = guard;
                fut.await
            });
        if let Some(conn) = &mut self.conns.borrow_mut()[slot] {
            conn.task = Some(task.task_ref());
        }
        task.detach();
    }
}

/// A connection as the server sees it: its handler task and its writer.
struct Conn {
    task: Option<TaskRef>,
    writer: Option<AbortHandle>,
}

/// Counts an open connection; dropped when its handler task has ended
/// (returned, panicked or was cancelled) and its writer has finished
/// sending (or was aborted).
pub(crate) struct ConnGuard {
    state: Rc<ServerState>,
    slot: usize,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let st = &self.state;
        st.conns.borrow_mut()[self.slot] = None;
        st.free.borrow_mut().push(self.slot);
        st.active.set(st.active.get() - 1);
        if st.active.get() == 0 && st.closed.get() {
            st.wake_all();
        }
    }
}

async fn accept_loop(state: Rc<ServerState>, index: usize) {
    let mut accepted = 0u32;
    loop {
        let next = poll_fn(|cx| match state.listener(index) {
            None => Poll::Ready(None),
            Some(l) => l.poll_accept(cx).map(Some),
        })
        .await;
        match next {
            None => return,
            Some(Ok(conn)) => {
                state.spawn_handler(conn);
                accepted = accepted.wrapping_add(1);
                if accepted % 128 == 0 {
                    // Let the handlers run during an accept burst.
                    anyloop_core::yield_now().await;
                }
            }
            Some(Err(_)) if state.closed.get() => return,
            // Out of descriptors, connection aborted before accept, ...:
            // back off briefly and go on serving (asyncio does the same).
            Some(Err(_)) => anyloop_core::sleep(Duration::from_millis(10)).await,
        }
    }
}

impl Server {
    pub(crate) fn start(
        listeners: Vec<Rc<dyn Accept>>,
        addrs: Vec<SocketAddr>,
        unix_path: Option<PathBuf>,
        handler: BoxHandler,
    ) -> Server {
        let n = listeners.len();
        let state = Rc::new(ServerState {
            listeners: RefCell::new(listeners.into_iter().map(Some).collect()),
            addrs,
            unix_path,
            handler,
            closed: Cell::new(false),
            active: Cell::new(0),
            conns: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
            waiters: RefCell::new(Vec::new()),
        });
        for i in 0..n {
            anyloop_core::task::Builder::new()
                .name("anyloop::net::Server accept")
                .spawn(accept_loop(state.clone(), i))
                .detach();
        }
        Server { state }
    }

    /// The addresses the server listens on (asyncio's `Server.sockets`);
    /// empty for Unix socket servers and WASI preopened listeners.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let server = anyloop::net::start_server(|_r, _w| async {}, "127.0.0.1", 0).await.unwrap();
    /// assert_eq!(server.local_addrs().len(), 1);
    /// # });
    /// ```
    #[doc(alias = "sockets")]
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.state.addrs
    }

    /// The first listening address: handy with port 0.
    ///
    /// # Errors
    ///
    /// `NotFound` for a Unix socket server or a WASI preopened listener.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let server = anyloop::net::start_server(|_r, _w| async {}, "127.0.0.1", 0).await.unwrap();
    /// assert_ne!(server.local_addr().unwrap().port(), 0);
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.state
            .addrs
            .first()
            .copied()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the server has no IP address"))
    }

    /// Whether the server accepts connections (asyncio's `is_serving`).
    pub fn is_serving(&self) -> bool {
        !self.state.closed.get()
    }

    /// Connections still open: handlers running, or whose writer is
    /// still sending what the handler wrote before it returned.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let server = anyloop::net::start_server(|_r, _w| async {}, "127.0.0.1", 0).await.unwrap();
    /// assert_eq!(server.active_connections(), 0);
    /// # });
    /// ```
    pub fn active_connections(&self) -> usize {
        self.state.active.get()
    }

    /// Stops accepting: closes the listening sockets now (new connections
    /// are refused) and leaves running handlers alone. A Unix socket
    /// server also removes its socket file.
    ///
    /// # Examples
    ///
    /// See [`Server`].
    pub fn close(&self) {
        self.state.close();
    }

    /// Waits until the server is closed and every connection is done: its
    /// handler has finished and its writer has sent its buffered data
    /// (asyncio 3.12's `wait_closed`). A peer that stops reading keeps its
    /// connection open; [`abort_clients`](Self::abort_clients) ends it.
    ///
    /// # Examples
    ///
    /// See [`Server`].
    pub async fn wait_closed(&self) {
        poll_fn(|cx| {
            let st = &self.state;
            if st.closed.get() && st.active.get() == 0 {
                return Poll::Ready(());
            }
            let mut w = st.waiters.borrow_mut();
            if !w.iter().any(|x| x.will_wake(cx.waker())) {
                w.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }

    /// Serves until [`close`](Self::close) is called (from another task),
    /// then waits for running handlers like
    /// [`wait_closed`](Self::wait_closed).
    ///
    /// # Cancellation
    ///
    /// Dropping the future (e.g. cancelling the task) closes the server,
    /// as in asyncio.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let server = std::rc::Rc::new(
    ///     anyloop::net::start_server(|_r, _w| async {}, "127.0.0.1", 0).await.unwrap(),
    /// );
    /// let s = server.clone();
    /// anyloop::spawn(async move { s.close() }).detach();
    /// server.serve_forever().await;
    /// assert!(!server.is_serving());
    /// # });
    /// ```
    pub async fn serve_forever(&self) {
        struct CloseOnDrop<'a>(&'a ServerState);
        impl Drop for CloseOnDrop<'_> {
            fn drop(&mut self) {
                self.0.close();
            }
        }
        let _guard = CloseOnDrop(&self.state);
        poll_fn(|cx| {
            if self.state.closed.get() {
                return Poll::Ready(());
            }
            let mut w = self.state.waiters.borrow_mut();
            if !w.iter().any(|x| x.will_wake(cx.waker())) {
                w.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await;
        self.wait_closed().await;
    }

    /// Closes every connection at once (asyncio 3.13's `abort_clients`):
    /// data still buffered in the writers is dropped, flushes in progress
    /// stop, and running handlers are cancelled; each socket closes as its
    /// handler is dropped. [`wait_closed`](Self::wait_closed) then returns
    /// as soon as the handlers are gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// let server = anyloop::net::start_server(|_r, _w| async {}, "127.0.0.1", 0).await.unwrap();
    /// server.close();
    /// server.abort_clients();
    /// server.wait_closed().await;
    /// # });
    /// ```
    #[doc(alias = "close_clients")]
    pub fn abort_clients(&self) {
        let conns: Vec<(Option<TaskRef>, Option<AbortHandle>)> = self
            .state
            .conns
            .borrow()
            .iter()
            .flatten()
            .map(|c| (c.task.clone(), c.writer.clone()))
            .collect();
        for (task, writer) in conns {
            // Writer first: the handler's drop must not start a flush.
            if let Some(w) = writer {
                w.abort();
            }
            if let Some(t) = task {
                t.cancel();
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state.close();
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("addrs", &self.state.addrs)
            .field("unix_path", &self.state.unix_path)
            .field("serving", &self.is_serving())
            .field("active", &self.state.active.get())
            .finish()
    }
}
