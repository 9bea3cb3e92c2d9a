//! macOS and the BSDs: a child's exit as a kqueue event (`EVFILT_PROC`
//! with `NOTE_EXIT`) on the loop's own kqueue, through `polling`'s
//! kqueue extension.
//!
//! The filter is a source of the reactor like a descriptor (its event
//! counts as "readable"), so waiting for an exit is the same
//! readiness-flag dance as waiting for a socket.

use std::io;
use std::num::NonZeroI32;
use std::rc::Rc;
use std::task::{Context, Poll};

use polling::os::kqueue::{PollerKqueueExt, Process, ProcessOps};
use polling::PollMode;

use super::{Direction, Reactor, Source};

/// The exit filter of one child, registered with this thread's kqueue
/// until dropped.
pub(crate) struct ProcExit {
    source: Rc<Source>,
    pid: NonZeroI32,
}

impl ProcExit {
    /// Watches the exit of `child`, which must not have been reaped.
    ///
    /// # Errors
    ///
    /// The kqueue error: `ESRCH` on macOS if the child has exited already
    /// (a zombie cannot be watched there; FreeBSD reports its exit at
    /// once), `Unsupported` where the poller is not edge-triggered (the
    /// filter is registered once and never re-armed).
    pub(crate) fn new(child: &std::process::Child) -> io::Result<ProcExit> {
        let reactor = Reactor::current()?;
        if !reactor.edge {
            return Err(io::ErrorKind::Unsupported.into());
        }
        let pid = NonZeroI32::new(child.id() as i32)
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        let source = reactor.register_with(-1, |key| {
            // Oneshot: a process exits once; the kernel drops the knote
            // after delivering NOTE_EXIT either way.
            let added = reactor
                .poller
                .add_filter(filter(pid), key, PollMode::Oneshot);
            if added.is_err() {
                // `add_filter` records the pid before the kevent call;
                // forget it again so a later registration can succeed.
                let _ = reactor.poller.delete_filter(filter(pid));
            }
            added
        })?;
        Ok(ProcExit { source, pid })
    }

    /// Runs `try_wait` until it does not return `WouldBlock`, waiting for
    /// the exit event in between.
    pub(crate) fn poll_exit<R>(
        &self,
        cx: &mut Context<'_>,
        try_wait: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.source.poll_op(Direction::Read, cx, try_wait)
    }
}

/// The exit filter of `pid`.
fn filter(pid: NonZeroI32) -> Process<'static> {
    // SAFETY: `pid` is a child of this process: registered before it was
    // reaped (`ProcExit::new`'s contract), and `Child` drops its
    // `ProcExit` (deleting the filter) right after reaping, before this
    // thread can register a new child that might reuse the pid.
    unsafe { Process::from_pid(pid, ProcessOps::Exit) }
}

impl Drop for ProcExit {
    fn drop(&mut self) {
        let reactor = &self.source.reactor;
        // ENOENT (the kernel already dropped the knote) is not an error
        // to `polling`; this also forgets the pid in its table.
        let _ = reactor.poller.delete_filter(filter(self.pid));
        reactor.deregister(&self.source);
    }
}
