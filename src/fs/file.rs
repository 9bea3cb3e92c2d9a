//! [`File`]: an open file whose reads, writes and seeks run the host's
//! way (blocking pool natively, inline on WASI).

use std::fmt;
use std::future::{poll_fn, Future};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};

use super::{start, Blocking};

/// Most bytes one read or write hands to the OS.
const CHUNK: usize = 64 * 1024;

/// An open file (aiofiles' file object): read, write and seek through
/// `futures-io`'s [`AsyncRead`], [`AsyncWrite`], [`AsyncSeek`] (use
/// `futures_lite::{AsyncReadExt, AsyncWriteExt, AsyncSeekExt}` for
/// `read_to_end`, `write_all`, `seek`, ...).
///
/// Writes are written behind: `write` returns once the bytes are copied,
/// an error surfaces on the next operation, and [`flush`] (or `close`)
/// waits until everything is written. Dropping a `File` with a write in
/// flight lets the write finish in the background, but its error is
/// lost: flush first.
///
/// [`flush`]: futures_lite::AsyncWriteExt::flush
///
/// # Examples
///
/// ```
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
///
/// # anyloop::run(async {
/// # if !anyloop::capabilities().fs { return Ok(()) }
/// let path = std::env::temp_dir().join(format!("anyloop-file-doc-{}", std::process::id()));
/// let mut f = anyloop::fs::File::create(&path).await?;
/// f.write_all(b"hello").await?;
/// f.flush().await?;
///
/// let mut f = anyloop::fs::File::open(&path).await?;
/// let mut text = String::new();
/// f.read_to_string(&mut text).await?;
/// assert_eq!(text, "hello");
/// anyloop::fs::remove_file(&path).await?;
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
///
/// # Cancellation
///
/// An operation in flight finishes even if its future is dropped; the
/// next operation waits for it first.
pub struct File {
    std: Arc<std::fs::File>,
    state: State,
    /// The error of a write-behind, for the next operation.
    write_err: Option<io::Error>,
}

enum State {
    Idle(Buf),
    Busy(Blocking<(Op, Buf)>),
}

/// Read-ahead (`data[pos..]` not yet returned) or bytes being written.
#[derive(Default)]
struct Buf {
    data: Vec<u8>,
    pos: usize,
}

impl Buf {
    fn unread(&self) -> usize {
        self.data.len() - self.pos
    }
}

enum Op {
    Read(io::Result<usize>),
    Write(io::Result<()>),
    /// A seek the caller asked for.
    Seek(io::Result<u64>),
    /// Moving back over unread read-ahead before a write.
    Rewind(io::Result<u64>),
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("std", &self.std)
            .field("busy", &matches!(self.state, State::Busy(_)))
            .finish_non_exhaustive()
    }
}

impl File {
    /// Opens a file for reading (Python's `open(path, "rb")`).
    ///
    /// # Errors
    ///
    /// `Unsupported` on hosts without a file system (web); the OS error.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Creates or truncates a file for writing (`open(path, "wb")`).
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Options for other modes (append, read + write, create new).
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open std file.
    pub fn from_std(file: std::fs::File) -> File {
        File {
            std: Arc::new(file),
            state: State::Idle(Buf::default()),
            write_err: None,
        }
    }

    /// Waits for the operation in flight and reports a write-behind error.
    async fn settle(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.poll_settle(cx)).await
    }

    fn poll_settle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let State::Busy(op) = &mut self.state {
            let (op, buf) = ready!(Pin::new(op).poll(cx))?;
            self.state = State::Idle(buf);
            self.note(op);
        }
        Poll::Ready(match self.write_err.take() {
            Some(e) => Err(e),
            None => Ok(()),
        })
    }

    /// Keeps the error of a background operation for later.
    fn note(&mut self, op: Op) {
        if let Op::Write(Err(e)) | Op::Rewind(Err(e)) = op {
            self.write_err.get_or_insert(e);
        }
    }

    /// Runs `f` on the std file once the operation in flight is done.
    async fn with_std<T, F>(&mut self, f: F) -> io::Result<T>
    where
        F: FnOnce(&std::fs::File) -> io::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.settle().await?;
        let std = self.std.clone();
        start(move || f(&std)).await
    }

    /// The file's metadata.
    ///
    /// # Errors
    ///
    /// A pending write's error; the OS error.
    pub async fn metadata(&mut self) -> io::Result<std::fs::Metadata> {
        self.with_std(|f| f.metadata()).await
    }

    /// Truncates or extends the file to `size` bytes.
    ///
    /// # Errors
    ///
    /// As [`metadata`](Self::metadata).
    pub async fn set_len(&mut self, size: u64) -> io::Result<()> {
        self.with_std(move |f| f.set_len(size)).await
    }

    /// Writes the file's data and metadata to the disk (`fsync`).
    ///
    /// # Errors
    ///
    /// As [`metadata`](Self::metadata).
    #[doc(alias = "fsync")]
    pub async fn sync_all(&mut self) -> io::Result<()> {
        self.with_std(|f| f.sync_all()).await
    }

    /// Writes the file's data to the disk (`fdatasync`).
    ///
    /// # Errors
    ///
    /// As [`metadata`](Self::metadata).
    pub async fn sync_data(&mut self) -> io::Result<()> {
        self.with_std(|f| f.sync_data()).await
    }

    fn begin(&mut self, f: impl FnOnce(&std::fs::File, Buf) -> (Op, Buf) + Send + 'static) {
        let buf = match std::mem::replace(&mut self.state, State::Idle(Buf::default())) {
            State::Idle(buf) => buf,
            State::Busy(_) => unreachable!("File: an operation started while another runs"),
        };
        let std = self.std.clone();
        self.state = State::Busy(start(move || Ok(f(&std, buf))));
    }
}

impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        loop {
            match &mut me.state {
                State::Idle(buf) => {
                    if buf.unread() > 0 || dst.is_empty() {
                        let n = dst.len().min(buf.unread());
                        dst[..n].copy_from_slice(&buf.data[buf.pos..buf.pos + n]);
                        buf.pos += n;
                        return Poll::Ready(Ok(n));
                    }
                    if let Some(e) = me.write_err.take() {
                        return Poll::Ready(Err(e));
                    }
                    let want = dst.len().min(CHUNK);
                    me.begin(move |mut f, mut buf| {
                        buf.data.clear();
                        buf.data.resize(want, 0);
                        buf.pos = 0;
                        let res = f.read(&mut buf.data);
                        buf.data.truncate(*res.as_ref().unwrap_or(&0));
                        (Op::Read(res), buf)
                    });
                }
                State::Busy(op) => {
                    let (op, buf) = ready!(Pin::new(op).poll(cx))?;
                    me.state = State::Idle(buf);
                    match op {
                        Op::Read(Ok(0)) => return Poll::Ready(Ok(0)),
                        Op::Read(Err(e)) => return Poll::Ready(Err(e)),
                        other => me.note(other),
                    }
                }
            }
        }
    }
}

impl AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        loop {
            match &mut me.state {
                State::Idle(buf) => {
                    if let Some(e) = me.write_err.take() {
                        return Poll::Ready(Err(e));
                    }
                    let unread = buf.unread();
                    if unread > 0 {
                        // The OS position is past the read-ahead: move it
                        // back to where the caller is before writing.
                        me.begin(move |mut f, mut buf| {
                            buf.data.clear();
                            buf.pos = 0;
                            let res = f.seek(SeekFrom::Current(-(unread as i64)));
                            (Op::Rewind(res), buf)
                        });
                        continue;
                    }
                    if src.is_empty() {
                        return Poll::Ready(Ok(0));
                    }
                    let n = src.len().min(CHUNK);
                    buf.data.clear();
                    buf.data.extend_from_slice(&src[..n]);
                    buf.pos = 0;
                    me.begin(|mut f, mut buf| {
                        let res = f.write_all(&buf.data);
                        buf.data.clear();
                        (Op::Write(res), buf)
                    });
                    return Poll::Ready(Ok(n));
                }
                State::Busy(op) => {
                    let (op, buf) = ready!(Pin::new(op).poll(cx))?;
                    me.state = State::Idle(buf);
                    me.note(op);
                }
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_settle(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_settle(cx)
    }
}

impl AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let me = self.get_mut();
        loop {
            match &mut me.state {
                State::Idle(buf) => {
                    if let Some(e) = me.write_err.take() {
                        return Poll::Ready(Err(e));
                    }
                    // Relative seeks count from the caller's position,
                    // which is behind the OS's by the unread read-ahead.
                    let pos = match pos {
                        SeekFrom::Current(off) => SeekFrom::Current(off - buf.unread() as i64),
                        other => other,
                    };
                    me.begin(move |mut f, mut buf| {
                        buf.data.clear();
                        buf.pos = 0;
                        (Op::Seek(f.seek(pos)), buf)
                    });
                }
                State::Busy(op) => {
                    let (op, buf) = ready!(Pin::new(op).poll(cx))?;
                    me.state = State::Idle(buf);
                    match op {
                        Op::Seek(res) => return Poll::Ready(res),
                        other => me.note(other),
                    }
                }
            }
        }
    }
}

/// How to open a [`File`] (std's `OpenOptions`, opened without blocking
/// the loop).
///
/// # Examples
///
/// ```
/// use futures_lite::AsyncWriteExt;
///
/// # anyloop::run(async {
/// # if !anyloop::capabilities().fs { return Ok(()) }
/// let path = std::env::temp_dir().join(format!("anyloop-log-doc-{}", std::process::id()));
/// let mut log = anyloop::fs::OpenOptions::new().append(true).create(true).open(&path).await?;
/// log.write_all(b"started\n").await?;
/// log.flush().await?;
/// # anyloop::fs::remove_file(&path).await?;
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions(std::fs::OpenOptions);

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// No access at all (set at least `read`, `write` or `append`).
    pub fn new() -> OpenOptions {
        OpenOptions(std::fs::OpenOptions::new())
    }

    /// Open for reading.
    pub fn read(&mut self, on: bool) -> &mut OpenOptions {
        self.0.read(on);
        self
    }

    /// Open for writing.
    pub fn write(&mut self, on: bool) -> &mut OpenOptions {
        self.0.write(on);
        self
    }

    /// Every write goes to the end of the file.
    pub fn append(&mut self, on: bool) -> &mut OpenOptions {
        self.0.append(on);
        self
    }

    /// Truncate the file to 0 bytes when opening it.
    pub fn truncate(&mut self, on: bool) -> &mut OpenOptions {
        self.0.truncate(on);
        self
    }

    /// Create the file if it does not exist.
    pub fn create(&mut self, on: bool) -> &mut OpenOptions {
        self.0.create(on);
        self
    }

    /// Create the file, failing with `AlreadyExists` if it exists.
    pub fn create_new(&mut self, on: bool) -> &mut OpenOptions {
        self.0.create_new(on);
        self
    }

    /// Opens `path` with these options.
    ///
    /// # Errors
    ///
    /// `Unsupported` on hosts without a file system (web); the OS error.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let opts = self.0.clone();
        let path = path.as_ref().to_path_buf();
        let std = start(move || opts.open(path)).await?;
        Ok(File::from_std(std))
    }
}
