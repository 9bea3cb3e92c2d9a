//! Splitting a full-duplex transport into a [`StreamReader`] and a
//! [`StreamWriter`]: both halves share the socket through an `Rc` and use
//! the `AsyncRead`/`AsyncWrite` impls on `&Socket`.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use super::writer::SocketInfo;
use super::{StreamReader, StreamWriter, TcpStream};

/// One half of a shared transport.
pub(crate) struct Half<T>(pub(crate) Rc<T>);

impl<T> AsyncRead for Half<T>
where
    for<'a> &'a T: AsyncRead,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.0).poll_read(cx, buf)
    }
}

impl<T> AsyncWrite for Half<T>
where
    for<'a> &'a T: AsyncWrite,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self.0).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self.0).poll_close(cx)
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

/// Splits a TCP stream, with its addresses available on the writer.
pub(crate) fn split_tcp(stream: TcpStream, limit: usize) -> (StreamReader, StreamWriter) {
    let s = Rc::new(stream);
    let info: Rc<dyn SocketInfo> = s.clone();
    (
        StreamReader::with_limit(Half(s.clone()), limit),
        StreamWriter::with_info(Box::pin(Half(s)), Some(info)),
    )
}

/// Splits any stream whose shared reference reads and writes.
pub(crate) fn split_any<T>(stream: T, limit: usize) -> (StreamReader, StreamWriter)
where
    T: 'static,
    for<'a> &'a T: AsyncRead + AsyncWrite,
{
    let s = Rc::new(stream);
    (
        StreamReader::with_limit(Half(s.clone()), limit),
        StreamWriter::with_info(Box::pin(Half(s)), None),
    )
}
