//! Windows: a waitable handle (a child process) as a source of the
//! reactor, through `polling`'s IOCP extension: `RegisterWaitForSingleObject`
//! posts to the loop's completion port once the handle is signalled, so
//! waiting for a child's exit costs no thread of ours.
//!
//! The handle's signal counts as "readable"; registrations are oneshot
//! and re-armed by the reactor like a socket's.

use std::io;
use std::os::windows::io::{AsRawHandle, OwnedHandle};
use std::rc::Rc;
use std::task::{Context, Poll};

use polling::os::iocp::PollerIocpExt;
use polling::{Event, PollMode};

use super::{Direction, Reactor, Source};

/// A waitable handle registered with this thread's reactor until dropped.
pub(crate) struct Waitable {
    source: Rc<Source>,
    handle: OwnedHandle,
}

impl Waitable {
    /// Registers `handle` (e.g. a duplicate of a child's process handle).
    ///
    /// # Errors
    ///
    /// The poller's error.
    pub(crate) fn new(handle: OwnedHandle) -> io::Result<Waitable> {
        let reactor = Reactor::current()?;
        let raw = handle.as_raw_handle();
        let source = reactor.register_with(raw as usize as u64, true, |key| {
            // SAFETY: `handle` is owned by the `Waitable`, whose `Drop`
            // removes the registration before the handle is closed.
            unsafe {
                reactor
                    .poller
                    .add_waitable(raw, Event::none(key), PollMode::Oneshot)
            }
        })?;
        Ok(Waitable { source, handle })
    }

    /// Runs `op` until it does not return `WouldBlock`, waiting for the
    /// handle to be signalled in between.
    pub(crate) fn poll_signalled<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.source.poll_op(Direction::Read, cx, op)
    }
}

impl Drop for Waitable {
    fn drop(&mut self) {
        let reactor = &self.source.reactor;
        let _ = reactor.poller.remove_waitable(&self.handle);
        reactor.deregister(&self.source);
    }
}
