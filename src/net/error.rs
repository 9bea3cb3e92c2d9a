//! asyncio's stream errors, carried inside `io::Error`.

use std::error::Error;
use std::fmt;
use std::io;

/// The stream ended before a read was satisfied: asyncio's
/// `IncompleteReadError`.
///
/// [`StreamReader::readexactly`](super::StreamReader::readexactly) and
/// [`readuntil`](super::StreamReader::readuntil) return it inside an
/// `io::Error` of kind [`UnexpectedEof`](io::ErrorKind::UnexpectedEof);
/// the bytes read before the end are in [`partial`](Self::partial), so
/// nothing is lost.
///
/// # Examples
///
/// ```
/// use anyloop::net::{IncompleteReadError, StreamReader};
///
/// anyloop::run(async {
///     let mut r = StreamReader::new(&b"abc"[..]);
///     let err = r.readexactly(5).await.unwrap_err();
///     let inc = IncompleteReadError::downcast(err).unwrap();
///     assert_eq!(inc.partial, b"abc");
///     assert_eq!(inc.expected, Some(5));
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncompleteReadError {
    /// The bytes read before the end of the stream.
    pub partial: Vec<u8>,
    /// How many bytes were expected (`None` for a separator search).
    pub expected: Option<usize>,
}

impl IncompleteReadError {
    /// Gets the `IncompleteReadError` out of an `io::Error`, or gives the
    /// error back if it is something else.
    ///
    /// # Errors
    ///
    /// Returns `err` unchanged if it does not carry an `IncompleteReadError`.
    pub fn downcast(err: io::Error) -> Result<IncompleteReadError, io::Error> {
        downcast(err)
    }

    /// A reference to the `IncompleteReadError` inside `err`, if any.
    pub fn downcast_ref(err: &io::Error) -> Option<&IncompleteReadError> {
        err.get_ref()?.downcast_ref()
    }

    pub(crate) fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::UnexpectedEof, self)
    }
}

impl fmt::Display for IncompleteReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.expected {
            Some(n) => write!(
                f,
                "{} bytes read on a total of {n} expected bytes",
                self.partial.len()
            ),
            None => write!(
                f,
                "{} bytes read before the end of the stream, separator not found",
                self.partial.len()
            ),
        }
    }
}

impl Error for IncompleteReadError {}

/// A line or separator search went past the reader's limit: asyncio's
/// `LimitOverrunError`.
///
/// Returned inside an `io::Error` of kind
/// [`InvalidData`](io::ErrorKind::InvalidData). The data stays in the
/// reader's buffer: read it with [`read`](super::StreamReader::read) or
/// [`readexactly`](super::StreamReader::readexactly)`(consumed)`.
///
/// # Examples
///
/// ```
/// use anyloop::net::{LimitOverrunError, StreamReader};
///
/// anyloop::run(async {
///     let mut r = StreamReader::with_limit(&b"a very long line\n"[..], 4);
///     let err = r.readline().await.unwrap_err();
///     let over = LimitOverrunError::downcast_ref(&err).unwrap();
///     assert!(over.consumed >= 4);
///     // Nothing was lost.
///     assert_eq!(r.read_to_eof().await.unwrap(), b"a very long line\n");
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitOverrunError {
    /// How many bytes are buffered without the separator (asyncio: the
    /// number of bytes to consume to get past the overrun).
    pub consumed: usize,
    /// The limit that was exceeded.
    pub limit: usize,
}

impl LimitOverrunError {
    /// Gets the `LimitOverrunError` out of an `io::Error`, or gives the
    /// error back if it is something else.
    ///
    /// # Errors
    ///
    /// Returns `err` unchanged if it does not carry a `LimitOverrunError`.
    pub fn downcast(err: io::Error) -> Result<LimitOverrunError, io::Error> {
        downcast(err)
    }

    /// A reference to the `LimitOverrunError` inside `err`, if any.
    pub fn downcast_ref(err: &io::Error) -> Option<&LimitOverrunError> {
        err.get_ref()?.downcast_ref()
    }

    pub(crate) fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }
}

impl fmt::Display for LimitOverrunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "separator not found within the stream limit ({} bytes buffered, limit {})",
            self.consumed, self.limit
        )
    }
}

impl Error for LimitOverrunError {}

fn downcast<E: Error + Send + Sync + 'static>(err: io::Error) -> Result<E, io::Error> {
    if err.get_ref().is_some_and(|e| e.is::<E>()) {
        let kind = err.kind();
        match err.into_inner().map(|b| b.downcast::<E>()) {
            Some(Ok(e)) => Ok(*e),
            Some(Err(other)) => Err(io::Error::new(kind, other)),
            None => Err(io::Error::from(kind)),
        }
    } else {
        Err(err)
    }
}
