//! [hyper](https://docs.rs/hyper) 1.x on anyloop (feature `hyper`): its
//! runtime traits implemented for anyloop, so an HTTP/1 or HTTP/2 client
//! or server is a few lines.
//!
//! - [`Executor`]: hyper's `rt::Executor`, spawning on the current loop
//!   (no `Send` bound: connections may hold `Rc`s);
//! - [`Timer`]: hyper's `rt::Timer` on anyloop's timers (header read
//!   timeouts, HTTP/2 keep-alive);
//! - [`Io`]: hyper's `rt::Read`/`rt::Write` for any `futures-io`
//!   transport: a [`TcpStream`](crate::net::TcpStream), a
//!   [`StreamPair`](crate::net::StreamPair) (e.g. a TLS connection from
//!   [`ConnectOptions::ssl`](crate::net::ConnectOptions::ssl)), ...
//!
//! anyloop enables no hyper feature itself: add `hyper` to your own
//! `Cargo.toml` with the ones you use (`http1`, `http2`, `client`,
//! `server`).
//!
//! # Examples
//!
//! An HTTP/1 server and a client request (`examples/http_server.rs` is
//! the runnable server):
//!
//! ```
//! use anyloop::hyper::{Executor, Io};
//! use anyloop::net::TcpListener;
//! use http_body_util::{BodyExt, Full};
//! use hyper::body::Bytes;
//!
//! anyloop::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     let addr = listener.local_addr()?;
//!     let server = anyloop::spawn(async move {
//!         let (stream, _) = listener.accept().await?;
//!         let service = hyper::service::service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
//!             let body = format!("hello from {}", req.uri().path());
//!             Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::from(body))))
//!         });
//!         hyper::server::conn::http1::Builder::new()
//!             .serve_connection(Io::new(stream), service)
//!             .await
//!             .map_err(std::io::Error::other)
//!     });
//!
//!     let stream = anyloop::net::TcpStream::connect_addr(addr).await?;
//!     let (mut sender, conn) = hyper::client::conn::http1::handshake(Io::new(stream))
//!         .await
//!         .map_err(std::io::Error::other)?;
//!     anyloop::spawn(conn).detach();
//!     let req = hyper::Request::get("/anyloop")
//!         .header("host", "localhost")
//!         .body(Full::new(Bytes::new()))
//!         .unwrap();
//!     let res = sender.send_request(req).await.map_err(std::io::Error::other)?;
//!     let body = res.into_body().collect().await.map_err(std::io::Error::other)?.to_bytes();
//!     assert_eq!(body, "hello from /anyloop");
//!     drop(sender);
//!     server.await.unwrap()
//! })
//! .unwrap();
//! # let _ = Executor;
//! ```
//!
//! # Hosts
//!
//! [`Executor`] and [`Io`] work on every host. [`Timer`] needs
//! `std::time::Instant` (hyper's timer API uses it), which panics in the
//! browser: it is not built for `wasm32-unknown-unknown`.

// The links to `Timer` above resolve on every host but the browser.
#![cfg_attr(
    all(target_arch = "wasm32", target_os = "unknown"),
    allow(rustdoc::broken_intra_doc_links)
)]

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

/// hyper's executor: spawns each future on the current loop
/// ([`anyloop::spawn`](crate::spawn)) and detaches it. Futures need not
/// be `Send`.
///
/// # Examples
///
/// HTTP/2 needs an executor for its streams:
///
/// ```
/// # fn _f(stream: anyloop::net::TcpStream) {
/// let builder = hyper::server::conn::http2::Builder::new(anyloop::hyper::Executor);
/// # let _ = (builder, stream);
/// # }
/// ```
///
/// # Panics
///
/// `execute` panics outside a running loop, like [`anyloop::spawn`](crate::spawn).
#[derive(Clone, Copy, Debug, Default)]
pub struct Executor;

impl<F> ::hyper::rt::Executor<F> for Executor
where
    F: Future + 'static,
    F::Output: 'static,
{
    #[track_caller]
    fn execute(&self, fut: F) {
        crate::spawn(fut).detach();
    }
}

/// hyper's timer on anyloop's clock and timers.
///
/// # Examples
///
/// ```
/// let mut builder = hyper::server::conn::http1::Builder::new();
/// builder
///     .timer(anyloop::hyper::Timer)
///     .header_read_timeout(std::time::Duration::from_secs(30));
/// ```
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
#[derive(Clone, Copy, Debug, Default)]
pub struct Timer;

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
impl ::hyper::rt::Timer for Timer {
    fn sleep(&self, duration: std::time::Duration) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(Sleep(crate::sleep(duration)))
    }

    fn sleep_until(&self, deadline: std::time::Instant) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        self.sleep(deadline.saturating_duration_since(std::time::Instant::now()))
    }
}

/// A hyper sleep: anyloop's [`Sleep`](crate::time::Sleep), which is
/// `Send + Sync`.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
struct Sleep(crate::time::Sleep);

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx)
    }
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
impl ::hyper::rt::Sleep for Sleep {}

/// A `futures-io` transport as hyper's `rt::Read + rt::Write` (what
/// hyper-util's `TokioIo` is for tokio).
///
/// Reads go through a 16 KiB stack buffer into hyper's (possibly
/// uninitialized) buffer: anyloop keeps `unsafe` out of its facade, and
/// the copy is small next to the system call.
///
/// # Examples
///
/// See the [module docs](self).
#[derive(Debug)]
pub struct Io<T> {
    inner: T,
}

impl<T> Io<T> {
    /// Wraps a transport.
    pub fn new(inner: T) -> Io<T> {
        Io { inner }
    }

    /// The transport.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The transport.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the transport.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: AsyncRead + Unpin> ::hyper::rt::Read for Io<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ::hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let mut tmp = [0u8; 16 * 1024];
        let want = buf.remaining().min(tmp.len());
        let n = ready!(Pin::new(&mut self.inner).poll_read(cx, &mut tmp[..want]))?;
        buf.put_slice(&tmp[..n]);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> ::hyper::rt::Write for Io<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}
