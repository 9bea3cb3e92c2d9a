//! [`StreamReader`]: asyncio's buffered reader over any `AsyncRead`.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead};
use futures_lite::Stream;

use super::{IncompleteReadError, LimitOverrunError};

/// Default [`StreamReader`] limit: 64 KiB, as in asyncio.
pub const DEFAULT_LIMIT: usize = 64 * 1024;

/// First buffer allocation of a reader.
const INITIAL_CAPACITY: usize = 8 * 1024;

/// The reading half of a connection, with asyncio's `StreamReader` API:
/// [`read`](Self::read), [`readline`](Self::readline),
/// [`readuntil`](Self::readuntil), [`readexactly`](Self::readexactly),
/// [`at_eof`](Self::at_eof); it is also a [`Stream`] of lines.
///
/// It buffers what the transport delivers, so every method works whatever
/// the packet boundaries are. Line and separator searches stop at the
/// reader's [`limit`](Self::limit) (default [`DEFAULT_LIMIT`], 64 KiB) with
/// a [`LimitOverrunError`]; the data stays buffered.
///
/// Any `futures-io` [`AsyncRead`] can be wrapped with
/// [`StreamReader::new`]; it also implements [`AsyncRead`] and
/// [`AsyncBufRead`] itself, so ecosystem crates read through its buffer.
///
/// # Examples
///
/// ```
/// use anyloop::net::StreamReader;
///
/// anyloop::run(async {
///     let mut r = StreamReader::new(&b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody"[..]);
///     assert_eq!(r.readline().await?, b"GET / HTTP/1.1\r\n");
///     assert_eq!(r.readuntil(b"\r\n\r\n").await?, b"Host: x\r\n\r\n");
///     assert_eq!(r.readexactly(2).await?, b"bo");
///     assert_eq!(r.read(100).await?, b"dy");
///     assert_eq!(r.read(100).await?, b"");
///     assert!(r.at_eof());
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
///
/// # Cancellation
///
/// Every method is cancel-safe: bytes are removed from the buffer only
/// when a method returns, so a dropped `readline()` (e.g. by
/// [`timeout`](crate::timeout)) loses nothing.
#[doc(alias = "__aiter__")]
pub struct StreamReader {
    transport: Pin<Box<dyn AsyncRead>>,
    /// `buf[start..end]` is the buffered data; `buf.len()` is the
    /// initialized capacity.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes after `start` already searched for `scanned_sep` (a
    /// cancelled search resumes there; a search for another separator
    /// starts over).
    scanned: usize,
    scanned_sep: Vec<u8>,
    eof: bool,
    limit: usize,
}

impl StreamReader {
    /// Wraps a transport with the default limit ([`DEFAULT_LIMIT`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let r = anyloop::net::StreamReader::new(futures_lite::io::empty());
    /// assert_eq!(r.limit(), 64 * 1024);
    /// ```
    pub fn new(transport: impl AsyncRead + 'static) -> StreamReader {
        StreamReader::with_limit(transport, DEFAULT_LIMIT)
    }

    /// Wraps a transport with a line/separator limit of `limit` bytes
    /// (asyncio's `limit=` argument).
    ///
    /// # Examples
    ///
    /// ```
    /// let r = anyloop::net::StreamReader::with_limit(futures_lite::io::empty(), 1024);
    /// assert_eq!(r.limit(), 1024);
    /// ```
    pub fn with_limit(transport: impl AsyncRead + 'static, limit: usize) -> StreamReader {
        StreamReader {
            transport: Box::pin(transport),
            buf: Vec::new(),
            start: 0,
            end: 0,
            scanned: 0,
            scanned_sep: Vec::new(),
            eof: false,
            limit: limit.max(1),
        }
    }

    /// The longest line or separator search (in bytes) before
    /// [`LimitOverrunError`].
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Changes the limit (at least 1).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut r = anyloop::net::StreamReader::new(futures_lite::io::empty());
    /// r.set_limit(1 << 20);
    /// assert_eq!(r.limit(), 1 << 20);
    /// ```
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.max(1);
    }

    /// The data buffered and not yet returned.
    ///
    /// # Examples
    ///
    /// ```
    /// anyloop::run(async {
    ///     let mut r = anyloop::net::StreamReader::new(&b"a\nb"[..]);
    ///     r.readline().await.unwrap();
    ///     assert_eq!(r.buffered(), b"b");
    /// });
    /// ```
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// True when the transport has reported end of stream and the buffer
    /// is empty (asyncio's `at_eof()`). The end is noticed by a read, so
    /// this is `false` until a method has seen it.
    ///
    /// # Examples
    ///
    /// ```
    /// anyloop::run(async {
    ///     let mut r = anyloop::net::StreamReader::new(&b"x"[..]);
    ///     assert_eq!(r.read(10).await.unwrap(), b"x");
    ///     assert!(!r.at_eof());
    ///     assert_eq!(r.read(10).await.unwrap(), b"");
    ///     assert!(r.at_eof());
    /// });
    /// ```
    pub fn at_eof(&self) -> bool {
        self.eof && self.start == self.end
    }

    /// Reads up to `n` bytes: waits until at least one byte is buffered
    /// (or the stream ends) and returns at most `n`. Returns an empty
    /// vector at end of stream or if `n == 0`. For asyncio's `read(-1)` use
    /// [`read_to_eof`](Self::read_to_eof).
    ///
    /// # Errors
    ///
    /// The transport's error.
    ///
    /// # Examples
    ///
    /// ```
    /// anyloop::run(async {
    ///     let mut r = anyloop::net::StreamReader::new(&b"hello"[..]);
    ///     assert_eq!(r.read(3).await.unwrap(), b"hel");
    ///     assert_eq!(r.read(3).await.unwrap(), b"lo");
    ///     assert_eq!(r.read(3).await.unwrap(), b"");
    /// });
    /// ```
    pub async fn read(&mut self, n: usize) -> io::Result<Vec<u8>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        poll_fn(|cx| {
            while self.start == self.end && !self.eof {
                // Room for the whole request (up to 64 KiB) in one read.
                self.reserve(n.min(DEFAULT_LIMIT));
                ready!(self.poll_fill(cx))?;
            }
            let k = n.min(self.end - self.start);
            if self.start == 0 && k == self.end && k >= self.buf.len() / 2 {
                // All that is buffered, and at least half the buffer:
                // hand the buffer itself over instead of copying it out
                // (the next read allocates a new one; a bulk reader pays
                // one allocation per read either way).
                let mut out = std::mem::take(&mut self.buf);
                out.truncate(k);
                self.consume_n(k);
                return Poll::Ready(Ok(out));
            }
            Poll::Ready(Ok(self.take(k)))
        })
        .await
    }

    /// Reads up to `buf.len()` bytes into `buf` and returns how many:
    /// the socket's `recv_into` for a stream (asyncio's streams have no
    /// such method; its sockets and `BufferedProtocol` do). Returns `0` at
    /// end of stream or if `buf` is empty.
    ///
    /// Buffered bytes come first (a line read ahead by
    /// [`readline`](Self::readline) is not lost). When nothing is
    /// buffered and `buf` is large (at least 8 KiB, or as large as the
    /// reader's buffer), the transport reads straight into `buf`, as
    /// std's `BufReader` does: no copy through the reader's buffer. Use it
    /// for bulk data where [`read`](Self::read) would allocate a vector per
    /// call; it is the reader's [`AsyncRead`] implementation as a method.
    ///
    /// # Errors
    ///
    /// The transport's error.
    ///
    /// # Examples
    ///
    /// ```
    /// anyloop::run(async {
    ///     let mut r = anyloop::net::StreamReader::new(&b"header\npayload"[..]);
    ///     assert_eq!(r.readline().await?, b"header\n");
    ///     let mut buf = [0u8; 64 * 1024];
    ///     let mut payload = Vec::new();
    ///     loop {
    ///         let n = r.read_into(&mut buf).await?;
    ///         if n == 0 {
    ///             break;
    ///         }
    ///         payload.extend_from_slice(&buf[..n]);
    ///     }
    ///     assert_eq!(payload, b"payload");
    ///     assert!(r.at_eof());
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    #[doc(alias = "readinto")]
    #[doc(alias = "recv_into")]
    #[doc(alias = "sock_recv_into")]
    pub async fn read_into(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| Pin::new(&mut *self).poll_read(cx, buf)).await
    }

    /// Reads until the end of the stream and returns everything
    /// (asyncio's `read(-1)` / `read()`).
    ///
    /// # Errors
    ///
    /// The transport's error; the data read so far stays buffered.
    ///
    /// # Examples
    ///
    /// ```
    /// anyloop::run(async {
    ///     let mut r = anyloop::net::StreamReader::new(&b"all of it"[..]);
    ///     assert_eq!(r.read_to_eof().await.unwrap(), b"all of it");
    /// });
    /// ```
    #[doc(alias = "read")]
    pub async fn read_to_eof(&mut self) -> io::Result<Vec<u8>> {
        poll_fn(|cx| {
            while !self.eof {
                ready!(self.poll_fill(cx))?;
            }
            let k = self.end - self.start;
            Poll::Ready(Ok(self.take(k)))
        })
        .await
    }

    /// Reads exactly `n` bytes.
    ///
    /// # Errors
    ///
    /// [`IncompleteReadError`] (kind `UnexpectedEof`) with the bytes read
    /// so far if the stream ends first; the transport's error.
    ///
    /// # Examples
    ///
    /// ```
    /// anyloop::run(async {
    ///     let mut r = anyloop::net::StreamReader::new(&b"\x00\x03abc"[..]);
    ///     let len = r.readexactly(2).await.unwrap();
    ///     let n = u16::from_be_bytes([len[0], len[1]]) as usize;
    ///     assert_eq!(r.readexactly(n).await.unwrap(), b"abc");
    /// });
    /// ```
    pub async fn readexactly(&mut self, n: usize) -> io::Result<Vec<u8>> {
        poll_fn(|cx| {
            while self.end - self.start < n {
                if self.eof {
                    let k = self.end - self.start;
                    let partial = self.take(k);
                    return Poll::Ready(Err(IncompleteReadError {
                        partial,
                        expected: Some(n),
                    }
                    .into_io()));
                }
                self.reserve(n - (self.end - self.start));
                ready!(self.poll_fill(cx))?;
            }
            Poll::Ready(Ok(self.take(n)))
        })
        .await
    }

    /// Reads one line, up to and including `\n`. At the end of the stream
    /// returns the partial last line (without `\n`), then empty vectors.
    ///
    /// # Errors
    ///
    /// [`LimitOverrunError`] (kind `InvalidData`) if no `\n` is found
    /// within [`limit`](Self::limit) bytes — unlike asyncio, the data is
    /// kept in the buffer; the transport's error.
    ///
    /// # Examples
    ///
    /// ```
    /// anyloop::run(async {
    ///     let mut r = anyloop::net::StreamReader::new(&b"one\ntwo"[..]);
    ///     assert_eq!(r.readline().await.unwrap(), b"one\n");
    ///     assert_eq!(r.readline().await.unwrap(), b"two");
    ///     assert_eq!(r.readline().await.unwrap(), b"");
    /// });
    /// ```
    pub async fn readline(&mut self) -> io::Result<Vec<u8>> {
        poll_fn(|cx| self.poll_readline(cx)).await
    }

    /// Reads up to and including `separator`.
    ///
    /// # Errors
    ///
    /// - [`IncompleteReadError`] (kind `UnexpectedEof`, `expected: None`)
    ///   with the buffered bytes if the stream ends first;
    /// - [`LimitOverrunError`] (kind `InvalidData`) if the separator does
    ///   not start within [`limit`](Self::limit) bytes; the data stays
    ///   buffered;
    /// - `InvalidInput` if `separator` is empty; the transport's error.
    ///
    /// # Examples
    ///
    /// ```
    /// anyloop::run(async {
    ///     let mut r = anyloop::net::StreamReader::new(&b"key=value;rest"[..]);
    ///     assert_eq!(r.readuntil(b"=").await.unwrap(), b"key=");
    ///     assert_eq!(r.readuntil(b";").await.unwrap(), b"value;");
    ///     assert!(r.readuntil(b";").await.is_err()); // "rest" then EOF
    /// });
    /// ```
    pub async fn readuntil(&mut self, separator: &[u8]) -> io::Result<Vec<u8>> {
        poll_fn(|cx| self.poll_readuntil(cx, separator)).await
    }

    /// Polls for one line; see [`readline`](Self::readline).
    ///
    /// # Errors
    ///
    /// As [`readline`](Self::readline).
    pub fn poll_readline(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Vec<u8>>> {
        // At the end of the stream: what is left, maybe nothing (no
        // `IncompleteReadError` built and dropped, an allocation each).
        let (Ok(line) | Err(line)) = ready!(self.poll_until(cx, b"\n"))?;
        Poll::Ready(Ok(line))
    }

    /// Polls for data up to and including `separator`; see
    /// [`readuntil`](Self::readuntil).
    ///
    /// # Errors
    ///
    /// As [`readuntil`](Self::readuntil).
    pub fn poll_readuntil(
        &mut self,
        cx: &mut Context<'_>,
        separator: &[u8],
    ) -> Poll<io::Result<Vec<u8>>> {
        Poll::Ready(ready!(self.poll_until(cx, separator))?.map_err(|partial| {
            IncompleteReadError {
                partial,
                expected: None,
            }
            .into_io()
        }))
    }

    /// [`poll_readuntil`](Self::poll_readuntil)'s search: `Ok(Ok(data))`
    /// up to and including `separator`, `Ok(Err(partial))` when the
    /// stream ended before it (what was left is taken).
    fn poll_until(
        &mut self,
        cx: &mut Context<'_>,
        separator: &[u8],
    ) -> Poll<io::Result<Result<Vec<u8>, Vec<u8>>>> {
        if separator.is_empty() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "readuntil: the separator must not be empty",
            )));
        }
        let seplen = separator.len();
        if self.scanned_sep != separator {
            // The bytes scanned so far were searched for another separator
            // (e.g. by a cancelled `readuntil`): this one may be in them.
            self.scanned = 0;
            self.scanned_sep.clear();
            self.scanned_sep.extend_from_slice(separator);
        }
        loop {
            let avail = &self.buf[self.start..self.end];
            // Resume the search where the last one stopped, minus a partial
            // separator that may straddle the old end.
            let from = self.scanned.saturating_sub(seplen - 1);
            if let Some(i) = find(&avail[from..], separator) {
                let isep = from + i;
                if isep > self.limit {
                    self.scanned = 0;
                    return Poll::Ready(Err(LimitOverrunError {
                        consumed: isep,
                        limit: self.limit,
                    }
                    .into_io()));
                }
                self.scanned = 0;
                return Poll::Ready(Ok(Ok(self.take(isep + seplen))));
            }
            self.scanned = avail.len();
            let offset = (avail.len() + 1).saturating_sub(seplen);
            if offset > self.limit {
                self.scanned = 0;
                return Poll::Ready(Err(LimitOverrunError {
                    consumed: offset,
                    limit: self.limit,
                }
                .into_io()));
            }
            if self.eof {
                let k = self.end - self.start;
                return Poll::Ready(Ok(Err(self.take(k))));
            }
            ready!(self.poll_fill(cx))?;
        }
    }

    /// Removes and returns the first `k` buffered bytes.
    fn take(&mut self, k: usize) -> Vec<u8> {
        let out = self.buf[self.start..self.start + k].to_vec();
        self.consume_n(k);
        out
    }

    fn consume_n(&mut self, k: usize) {
        self.start += k;
        self.scanned = self.scanned.saturating_sub(k);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            self.scanned = 0;
        }
    }

    /// Makes room for at least `more` bytes after `end` (bounded: big
    /// requests grow the buffer as data arrives).
    fn reserve(&mut self, more: usize) {
        let want = self.end - self.start + more.min(1 << 20);
        if self.buf.len() < want {
            self.compact();
            if self.buf.len() < want {
                self.buf.resize(want, 0);
            }
        }
    }

    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }

    /// Reads more data from the transport into the buffer. `Ok(0)` means
    /// end of stream (also remembered in `self.eof`).
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.eof {
            return Poll::Ready(Ok(0));
        }
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.compact();
            } else {
                let new_len = (self.buf.len() * 2).max(INITIAL_CAPACITY);
                self.buf.resize(new_len, 0);
            }
        }
        let n = ready!(self
            .transport
            .as_mut()
            .poll_read(cx, &mut self.buf[self.end..]))?;
        if n == 0 {
            self.eof = true;
        }
        self.end += n;
        Poll::Ready(Ok(n))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() == 1 {
        return haystack.iter().position(|&b| b == needle[0]);
    }
    if haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamReader")
            .field("buffered", &(self.end - self.start))
            .field("eof", &self.eof)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl AsyncRead for StreamReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if out.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if this.start == this.end
            && out.len() >= this.buf.len().clamp(INITIAL_CAPACITY, DEFAULT_LIMIT)
        {
            // Large read on an empty buffer: bypass the buffer (std's
            // `BufReader` rule; a buffer grown past 64 KiB by a big
            // `readexactly` does not force later reads through it).
            if this.eof {
                return Poll::Ready(Ok(0));
            }
            let n = ready!(this.transport.as_mut().poll_read(cx, out))?;
            if n == 0 {
                this.eof = true;
            }
            return Poll::Ready(Ok(n));
        }
        let avail = ready!(Pin::new(&mut *this).poll_fill_buf(cx))?;
        let k = avail.len().min(out.len());
        out[..k].copy_from_slice(&avail[..k]);
        this.consume_n(k);
        Poll::Ready(Ok(k))
    }
}

impl AsyncBufRead for StreamReader {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        if this.start == this.end && !this.eof {
            ready!(this.poll_fill(cx))?;
        }
        Poll::Ready(Ok(&this.buf[this.start..this.end]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        let amt = amt.min(this.end - this.start);
        this.consume_n(amt);
    }
}

/// The reader is a [`Stream`] of lines (asyncio's
/// `async for line in reader`): each item is what
/// [`readline`](StreamReader::readline) returns; the stream ends at end of
/// input.
///
/// # Examples
///
/// ```
/// use futures_lite::StreamExt;
///
/// anyloop::run(async {
///     let mut r = anyloop::net::StreamReader::new(&b"a\nb\nc"[..]);
///     let lines: Vec<Vec<u8>> = (&mut r).try_collect().await.unwrap();
///     assert_eq!(lines, [&b"a\n"[..], b"b\n", b"c"]);
/// });
/// ```
impl Stream for StreamReader {
    type Item = io::Result<Vec<u8>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match ready!(self.get_mut().poll_readline(cx)) {
            Ok(line) if line.is_empty() => Poll::Ready(None),
            res => Poll::Ready(Some(res)),
        }
    }
}
