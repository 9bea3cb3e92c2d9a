//! The OS handle types the reactor registers: file descriptors on Unix,
//! sockets on Windows (where `polling` waits through IOCP and AFD, which
//! only poll sockets). One set of names for both, so the reactor and the
//! socket types are written once.

#[cfg(unix)]
pub(crate) use std::os::fd::{
    AsFd as AsSource, AsRawFd as AsRawSource, BorrowedFd as BorrowedSource, OwnedFd as OwnedSource,
    RawFd as RawSource,
};
#[cfg(windows)]
pub(crate) use std::os::windows::io::{
    AsRawSocket as AsRawSource, AsSocket as AsSource, BorrowedSocket as BorrowedSource,
    OwnedSocket as OwnedSource, RawSocket as RawSource,
};

/// The borrowed handle of `io`.
pub(crate) fn as_source<T: AsSource + ?Sized>(io: &T) -> BorrowedSource<'_> {
    #[cfg(unix)]
    return io.as_fd();
    #[cfg(windows)]
    return io.as_socket();
}

/// The raw number of a borrowed handle.
pub(crate) fn raw(source: BorrowedSource<'_>) -> RawSource {
    #[cfg(unix)]
    return source.as_raw_fd();
    #[cfg(windows)]
    return source.as_raw_socket();
}

/// Borrows a raw handle.
///
/// # Safety
///
/// `raw` must be open for the lifetime `'a` (see `BorrowedFd::borrow_raw`
/// and `BorrowedSocket::borrow_raw`).
pub(crate) unsafe fn borrow_raw<'a>(raw: RawSource) -> BorrowedSource<'a> {
    // SAFETY: the caller's contract is the one of `borrow_raw`.
    unsafe { BorrowedSource::borrow_raw(raw) }
}
