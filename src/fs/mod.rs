//! Files and directories without blocking the loop (Python's aiofiles,
//! tokio's `fs`): whole-file helpers ([`read`], [`write`](write()), [`append`],
//! ...), an async [`File`] with read/write/seek through `futures-io`'s
//! traits, and directory calls ([`read_dir`], [`create_dir_all`],
//! [`metadata`], [`rename`], [`remove_file`], ...).
//!
//! # Examples
//!
//! ```
//! use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
//! use std::io::SeekFrom;
//!
//! anyloop::run(async {
//! # if !anyloop::capabilities().fs { return Ok(()) }
//!     let dir = std::env::temp_dir().join(format!("anyloop-fs-doc-{}", std::process::id()));
//!     anyloop::fs::create_dir_all(&dir).await?;
//!     let path = dir.join("notes.txt");
//!
//!     anyloop::fs::write(&path, "one\n").await?;
//!     anyloop::fs::append(&path, "two\n").await?;
//!     assert_eq!(anyloop::fs::read_to_string(&path).await?, "one\ntwo\n");
//!
//!     let mut f = anyloop::fs::File::open(&path).await?;
//!     f.seek(SeekFrom::Start(4)).await?;
//!     let mut rest = String::new();
//!     f.read_to_string(&mut rest).await?;
//!     assert_eq!(rest, "two\n");
//!
//!     let mut names = Vec::new();
//!     let mut entries = anyloop::fs::read_dir(&dir).await?;
//!     while let Some(e) = entries.next_entry().await? {
//!         names.push(e.file_name().to_string_lossy().into_owned());
//!     }
//!     assert_eq!(names, ["notes.txt"]);
//!     anyloop::fs::remove_dir_all(&dir).await
//! })
//! .unwrap();
//! ```
//!
//! # asyncio / aiofiles → anyloop
//!
//! | Python | anyloop |
//! |---|---|
//! | `async with aiofiles.open(p, "rb") as f: await f.read()` | [`File::open`], then `futures-io` reads (`AsyncReadExt::read_to_end`) |
//! | `aiofiles.open(p, "wb")`, `"ab"`, `"r+b"` | [`File::create`], [`OpenOptions`] (`append`, `read`+`write`) |
//! | `await f.seek(n)`, `f.tell()` | `AsyncSeekExt::seek` |
//! | `pathlib.Path.read_bytes/read_text/write_bytes` (in a thread) | [`read`], [`read_to_string`], [`write`](write()), [`append`] |
//! | `aiofiles.os.listdir/scandir` | [`read_dir`] |
//! | `aiofiles.os.stat`, `makedirs`, `mkdir`, `remove`, `rmdir`, `rename` | [`metadata`], [`create_dir_all`], [`create_dir`], [`remove_file`], [`remove_dir`], [`rename`] |
//! | `shutil.copyfile`, `shutil.rmtree` | [`copy`], [`remove_dir_all`] |
//!
//! # Hosts
//!
//! | host | how |
//! |---|---|
//! | native | each call runs `std::fs` on the blocking pool ([`to_thread`](crate::to_thread)'s), as aiofiles and tokio::fs do: the loop never waits for a disk |
//! | WASI preview 1 (`wasip1`) and WASI 0.2 (`wasip2`) | `std::fs` directly (preview 1's `path_open`/`fd_read`; on 0.2 `wasi:filesystem` through wasi-libc), on the directories the runtime preopened (`wasmtime run --dir .`, Node's `node:wasi` `preopens`); no threads exist there, and a preopened file system answers at once. Paths outside the preopens fail with the host's own error (`NotFound`/`PermissionDenied`), not `Unsupported` |
//! | web | every call returns `io::ErrorKind::Unsupported` naming the host |
//!
//! [`capabilities`](crate::capabilities)`().fs` tells which.
//!
//! # Implementation
//!
//! This module is written once over `std::fs`; the only host switch is
//! how a blocking call runs (pool, inline, or `Unsupported`), so WASI
//! preview 2 reuses it as it is. A [`File`] keeps one operation in flight
//! (tokio's design): reads fill a buffer of up to 64 KiB on the pool,
//! writes are copied and written behind (an error surfaces on the next
//! operation or on `flush`), a seek after a read-ahead accounts for the
//! unread bytes.

mod file;

pub use file::{File, OpenOptions};

use std::ffi::OsString;
use std::fmt;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A `std::fs` call started the host's way (see the module docs).
pub(crate) enum Blocking<T> {
    #[cfg(not(target_family = "wasm"))]
    Pool(crate::backend::blocking::Unblock<io::Result<T>>),
    Done(Option<io::Result<T>>),
}

/// Starts `f`: on the blocking pool natively, at once on WASI; the
/// `Unsupported` error where the host has no file system.
pub(crate) fn start<T, F>(f: F) -> Blocking<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let caps = crate::capabilities();
    if !caps.fs {
        return Blocking::Done(Some(Err(caps.unsupported("the file system (anyloop::fs)"))));
    }
    #[cfg(not(target_family = "wasm"))]
    return Blocking::Pool(crate::backend::blocking::unblock(f));
    #[cfg(target_family = "wasm")]
    Blocking::Done(Some(f()))
}

// Nothing in it is pinned in place (the pool's future is `Unpin`).
impl<T> Unpin for Blocking<T> {}

impl<T> Future for Blocking<T> {
    type Output = io::Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        match self.get_mut() {
            #[cfg(not(target_family = "wasm"))]
            Blocking::Pool(u) => Pin::new(u).poll(cx),
            Blocking::Done(v) => {
                let _ = cx;
                match v.take() {
                    Some(v) => Poll::Ready(v),
                    None => Poll::Ready(Err(io::Error::other(
                        "anyloop::fs: polled after completion",
                    ))),
                }
            }
        }
    }
}

/// Runs `f` with an owned copy of `path` (the host's way).
async fn with_path<T, F>(path: &Path, f: F) -> io::Result<T>
where
    F: FnOnce(PathBuf) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let path = path.to_path_buf();
    start(move || f(path)).await
}

/// Reads the whole file.
///
/// # Errors
///
/// `Unsupported` on hosts without a file system (web); the OS error
/// (`NotFound`, `PermissionDenied`, ...).
///
/// # Examples
///
/// See the [module docs](self).
#[doc(alias = "read_bytes")]
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    with_path(path.as_ref(), std::fs::read).await
}

/// Reads the whole file as UTF-8.
///
/// # Errors
///
/// As [`read`]; `InvalidData` if the file is not UTF-8.
#[doc(alias = "read_text")]
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    with_path(path.as_ref(), std::fs::read_to_string).await
}

/// Creates or truncates the file and writes `contents`.
///
/// # Errors
///
/// As [`read`].
#[doc(alias = "write_bytes")]
#[doc(alias = "write_text")]
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let data = contents.as_ref().to_vec();
    with_path(path.as_ref(), move |p| std::fs::write(p, data)).await
}

/// Appends `contents` to the file, creating it if needed.
///
/// # Errors
///
/// As [`read`].
pub async fn append(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    use std::io::Write;
    let data = contents.as_ref().to_vec();
    with_path(path.as_ref(), move |p| {
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(p)?
            .write_all(&data)
    })
    .await
}

/// Copies a file's contents (and permissions); returns the bytes copied.
///
/// # Errors
///
/// As [`read`].
#[doc(alias = "copyfile")]
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    let to = to.as_ref().to_path_buf();
    with_path(from.as_ref(), move |from| std::fs::copy(from, to)).await
}

/// Renames (moves) a file or directory, replacing `to` if it is a file.
///
/// # Errors
///
/// As [`read`].
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let to = to.as_ref().to_path_buf();
    with_path(from.as_ref(), move |from| std::fs::rename(from, to)).await
}

/// Removes a file.
///
/// # Errors
///
/// As [`read`].
#[doc(alias = "remove")]
#[doc(alias = "unlink")]
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    with_path(path.as_ref(), std::fs::remove_file).await
}

/// Creates a directory (its parent must exist).
///
/// # Errors
///
/// As [`read`]; `AlreadyExists` if it exists.
#[doc(alias = "mkdir")]
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    with_path(path.as_ref(), std::fs::create_dir).await
}

/// Creates a directory and its missing parents (Python's `makedirs(...,
/// exist_ok=True)`).
///
/// # Errors
///
/// As [`read`].
#[doc(alias = "makedirs")]
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    with_path(path.as_ref(), std::fs::create_dir_all).await
}

/// Removes an empty directory.
///
/// # Errors
///
/// As [`read`].
#[doc(alias = "rmdir")]
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    with_path(path.as_ref(), std::fs::remove_dir).await
}

/// Removes a directory and everything in it (`shutil.rmtree`).
///
/// # Errors
///
/// As [`read`].
#[doc(alias = "rmtree")]
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    with_path(path.as_ref(), std::fs::remove_dir_all).await
}

/// A file's or directory's metadata, following symlinks (`os.stat`).
///
/// # Errors
///
/// As [`read`].
#[doc(alias = "stat")]
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<std::fs::Metadata> {
    with_path(path.as_ref(), std::fs::metadata).await
}

/// Metadata without following a final symlink (`os.lstat`).
///
/// # Errors
///
/// As [`read`].
#[doc(alias = "lstat")]
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<std::fs::Metadata> {
    with_path(path.as_ref(), std::fs::symlink_metadata).await
}

/// Whether `path` exists: `Ok(false)` only when the OS says it does not.
///
/// # Errors
///
/// As [`read`] (e.g. `PermissionDenied` on a parent).
#[doc(alias = "exists")]
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    with_path(path.as_ref(), |p| p.try_exists()).await
}

/// The entries of a directory (Python's `os.scandir`), without `.` and
/// `..`, in the order the OS gives.
///
/// The directory is listed in one blocking call; [`ReadDir`] hands the
/// entries out.
///
/// # Errors
///
/// As [`read`]; an error reading one entry fails the call.
///
/// # Examples
///
/// See the [module docs](self).
#[doc(alias = "scandir")]
#[doc(alias = "listdir")]
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let entries = with_path(path.as_ref(), |p| {
        std::fs::read_dir(p)?
            .map(|e| {
                let e = e?;
                Ok(DirEntry {
                    path: e.path(),
                    name: e.file_name(),
                    file_type: e.file_type()?,
                })
            })
            .collect::<io::Result<Vec<_>>>()
    })
    .await?;
    Ok(ReadDir {
        entries: entries.into_iter(),
    })
}

/// The entries of a directory, from [`read_dir`]; also a `Stream`.
pub struct ReadDir {
    entries: std::vec::IntoIter<DirEntry>,
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir")
            .field("remaining", &self.entries.len())
            .finish()
    }
}

impl ReadDir {
    /// The next entry, or `None` at the end.
    ///
    /// # Errors
    ///
    /// None today (the listing was read by [`read_dir`]); the signature
    /// leaves room for reading lazily.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        Ok(self.entries.next())
    }
}

impl futures_lite::Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.get_mut().entries.next().map(Ok))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

/// One entry of a directory.
#[derive(Debug, Clone)]
pub struct DirEntry {
    path: PathBuf,
    name: OsString,
    file_type: std::fs::FileType,
}

impl DirEntry {
    /// The entry's full path (the directory joined with the name).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entry's name within its directory.
    pub fn file_name(&self) -> &std::ffi::OsStr {
        &self.name
    }

    /// The entry's type (file, directory, symlink) as listed, without
    /// following symlinks.
    pub fn file_type(&self) -> std::fs::FileType {
        self.file_type
    }

    /// The entry's metadata (not following a final symlink).
    ///
    /// # Errors
    ///
    /// As [`symlink_metadata`].
    pub async fn metadata(&self) -> io::Result<std::fs::Metadata> {
        symlink_metadata(&self.path).await
    }
}
