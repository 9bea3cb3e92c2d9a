//! [`StreamPair`]: a reader and a writer joined back into one
//! `AsyncRead + AsyncWrite` value for crates that want a single transport.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};

use super::{StreamReader, StreamWriter};

/// A [`StreamReader`] and a [`StreamWriter`] as one duplex transport
/// (`AsyncRead + AsyncBufRead + AsyncWrite`): for ecosystem crates that
/// take a single stream (hyper through `anyloop::hyper::Io`, WebSocket
/// clients and servers, codecs), after
/// [`open_connection`](super::open_connection), a TLS
/// [`ConnectOptions::ssl`](super::ConnectOptions::ssl) connection or a
/// [`start_server`](super::start_server) handler got the pair.
///
/// Reads come from the reader's buffer first; writes go through the
/// writer's buffer with its backpressure, and `poll_close` closes the
/// writer.
///
/// # Examples
///
/// ```
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
/// use anyloop::net::{open_connection, start_server, StreamPair};
///
/// anyloop::run(async {
///     let server = start_server(|r, w| async move {
///         let mut s = StreamPair::new(r, w);
///         let mut buf = [0u8; 4];
///         s.read_exact(&mut buf).await?;
///         s.write_all(&buf).await?;
///         s.close().await
///     }, "127.0.0.1", 0).await?;
///     let (r, w) = open_connection("127.0.0.1", server.local_addr()?.port()).await?;
///     let mut s = StreamPair::new(r, w);
///     s.write_all(b"ping").await?;
///     let mut back = Vec::new();
///     s.read_to_end(&mut back).await?;
///     assert_eq!(back, b"ping");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Debug)]
pub struct StreamPair {
    reader: StreamReader,
    writer: StreamWriter,
}

impl StreamPair {
    /// Joins a reader and a writer (normally the two halves of one
    /// connection).
    pub fn new(reader: StreamReader, writer: StreamWriter) -> StreamPair {
        StreamPair { reader, writer }
    }

    /// The reader.
    pub fn reader(&mut self) -> &mut StreamReader {
        &mut self.reader
    }

    /// The writer (for [`StreamWriter::tls_info`], addresses, `start_tls`).
    pub fn writer(&self) -> &StreamWriter {
        &self.writer
    }

    /// Splits the pair again.
    pub fn into_parts(self) -> (StreamReader, StreamWriter) {
        (self.reader, self.writer)
    }
}

impl AsyncRead for StreamPair {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.reader).poll_read(cx, buf)
    }
}

impl AsyncBufRead for StreamPair {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Pin::new(&mut self.get_mut().reader).poll_fill_buf(cx)
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut self.reader).consume(amt)
    }
}

impl AsyncWrite for StreamPair {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.writer).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.writer).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.writer).poll_close(cx)
    }
}
