//! Linux 6.7+: a child's exit through io_uring's `IORING_OP_WAITID`, on a
//! ring this thread keeps for its children, instead of a pidfd per child.
//!
//! The pidfd route costs the parent, per child, a file (made by `clone`'s
//! `CLONE_PIDFD`, released by `close`), its `epoll_ctl` add and delete,
//! and a `waitpid` after the wake-up. Here a child costs one
//! `io_uring_enter` that submits its `waitid` (with `WEXITED`: it reaps),
//! and one more after the exit that runs the completion; the ring's
//! eventfd, registered with the loop once, says when that is due.
//!
//! The ring is made with `IORING_SETUP_DEFER_TASKRUN`: a completion runs
//! (and the child is reaped) only inside this thread's `io_uring_enter`
//! calls, never at an arbitrary return to user space, so while a child's
//! status is not known its pid is still ours (a zombie at worst), and
//! `kill` cannot hit a reused pid. A child dropped while its `waitid` is
//! in flight has it cancelled there and then, and goes to the `reap`
//! table as before, so it is reaped even if no loop runs any more.
//!
//! Where the ring cannot be had (no io_uring, a seccomp filter, a kernel
//! before 6.7 without `IORING_OP_WAITID`) every child uses a pidfd, as
//! before.

use std::cell::{Cell, RefCell, UnsafeCell};
use std::ffi::c_void;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use rustix::io_uring::{
    io_uring_cqe, io_uring_enter, io_uring_params, io_uring_ptr, io_uring_register, io_uring_setup,
    io_uring_sqe, io_uring_user_data, IoringCqFlags, IoringEnterFlags, IoringOp, IoringRegisterOp,
    IoringSetupFlags, IoringSqFlags, IORING_OFF_CQ_RING, IORING_OFF_SQES, IORING_OFF_SQ_RING,
};
use rustix::mm::{mmap, munmap, MapFlags, ProtFlags};

use crate::reactor::{Async, Direction};

/// Set once a ring could not be made (or `IORING_OP_WAITID` is missing):
/// pidfds from then on.
static UNAVAILABLE: AtomicBool = AtomicBool::new(false);

/// Submission queue entries: each `waitid` is submitted on its own.
const ENTRIES: u32 = 8;

/// Completion queue entries: exits that complete together beyond this
/// wait in the kernel's overflow list until [`Ring::pump`] moves them.
const CQ_ENTRIES: u32 = 256;

/// `user_data` of a cancellation's own completion (not a slot).
const CANCEL: u64 = u64::MAX;

thread_local! {
    static RING: RefCell<Option<Rc<Ring>>> = const { RefCell::new(None) };
}

/// Set by [`force_off`] (tests): pidfds while it is.
#[cfg(test)]
static FORCED_OFF: AtomicBool = AtomicBool::new(false);

/// Makes children spawned from now on use a pidfd (to test that route
/// where the ring exists).
#[cfg(test)]
pub(super) fn force_off(on: bool) {
    FORCED_OFF.store(on, Ordering::SeqCst);
}

/// This thread's ring, made on first use; `None` where io_uring or its
/// `waitid` is unavailable.
pub(super) fn current() -> Option<Rc<Ring>> {
    #[cfg(test)]
    if FORCED_OFF.load(Ordering::SeqCst) {
        return None;
    }
    if UNAVAILABLE.load(Ordering::Relaxed) {
        return None;
    }
    RING.with(|r| {
        let mut r = r.borrow_mut();
        if r.is_none() {
            match Ring::new() {
                Ok(ring) => *r = Some(Rc::new(ring)),
                Err(_) => UNAVAILABLE.store(true, Ordering::Relaxed),
            }
        }
        r.clone()
    })
}

/// Where a slot's `waitid` is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Free,
    InFlight,
    /// Completed: `res` and `info` hold the result.
    Done,
}

/// One child's `waitid`: boxed, so the `siginfo_t` the kernel fills in
/// stays where it was given to it.
struct Slot {
    info: UnsafeCell<MaybeUninit<libc::siginfo_t>>,
    state: Cell<State>,
    /// The completion's result: 0, or minus an errno.
    res: Cell<i32>,
    pid: Cell<i32>,
    waker: Cell<Option<Waker>>,
}

/// A mapping of the ring's memory.
struct Map {
    ptr: *mut c_void,
    len: usize,
}

impl Map {
    fn new(fd: &OwnedFd, len: usize, offset: u64) -> io::Result<Map> {
        // SAFETY: a fresh shared mapping of the ring's memory at `offset`
        // (the kernel's layout, sizes from `io_uring_setup`); unmapped in
        // `Drop`, never aliased by Rust references but through atomics
        // and raw pointers.
        let ptr = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED | MapFlags::POPULATE,
                fd,
                offset,
            )?
        };
        Ok(Map { ptr, len })
    }

    /// The `u32` at byte `off` of the mapping.
    fn u32_at(&self, off: u32) -> &AtomicU32 {
        debug_assert!(off as usize + 4 <= self.len);
        // SAFETY: `off` is one of the kernel's offsets into this mapping
        // (4-byte aligned, in bounds), shared with the kernel: accessed
        // atomically only; lives as long as `self`.
        unsafe { &*self.ptr.cast::<u8>().add(off as usize).cast::<AtomicU32>() }
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: our own mapping, no longer used.
        let _ = unsafe { munmap(self.ptr, self.len) };
    }
}

/// This thread's ring (see the module docs).
pub(super) struct Ring {
    // Dropped in this order: the mappings, then the ring itself.
    sq: Map,
    cq: Map,
    sqes: Map,
    params: io_uring_params,
    fd: OwnedFd,
    /// Signalled by the kernel when a completion is due (registered with
    /// the ring; edge-triggered in the loop, never read).
    event: Async<OwnedFd>,
    /// Boxed: the kernel holds the address of each slot's `siginfo_t`
    /// while the vector grows.
    #[allow(clippy::vec_box)]
    slots: RefCell<Vec<Box<Slot>>>,
    free: RefCell<Vec<u32>>,
    in_flight: Cell<usize>,
    /// Runs [`Ring::pump`] when the eventfd is signalled.
    pump: Waker,
}

impl Ring {
    fn new() -> io::Result<Ring> {
        let mut params = io_uring_params::default();
        params.flags = IoringSetupFlags::SINGLE_ISSUER
            | IoringSetupFlags::DEFER_TASKRUN
            | IoringSetupFlags::TASKRUN_FLAG
            | IoringSetupFlags::CQSIZE;
        params.cq_entries = CQ_ENTRIES;
        // SAFETY: `params` is a valid, zeroed parameter block.
        let fd = unsafe { io_uring_setup(ENTRIES, &mut params)? };
        if !supports_waitid(&fd) {
            return Err(io::ErrorKind::Unsupported.into());
        }
        let sq_len = params.sq_off.array as usize + params.sq_entries as usize * 4;
        let cq_len = params.cq_off.cqes as usize
            + params.cq_entries as usize * std::mem::size_of::<io_uring_cqe>();
        let sqes_len = params.sq_entries as usize * std::mem::size_of::<io_uring_sqe>();
        let sq = Map::new(&fd, sq_len, IORING_OFF_SQ_RING)?;
        let cq = Map::new(&fd, cq_len, IORING_OFF_CQ_RING)?;
        let sqes = Map::new(&fd, sqes_len, IORING_OFF_SQES)?;
        let efd = rustix::event::eventfd(
            0,
            rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK,
        )?;
        let raw = efd.as_raw_fd();
        // SAFETY: registers the eventfd (one descriptor, read by the
        // kernel during the call).
        unsafe {
            io_uring_register(
                &fd,
                IoringRegisterOp::RegisterEventfd,
                (&raw as *const i32).cast(),
                1,
            )?
        };
        Ok(Ring {
            sq,
            cq,
            sqes,
            params,
            fd,
            event: Async::new_unready(efd)?,
            slots: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
            in_flight: Cell::new(0),
            pump: Waker::from(Arc::new(Pump)),
        })
    }

    /// Submits a `waitid` for child `pid`; the slot it uses, or `None` if
    /// the kernel refused the submission.
    pub(super) fn watch(&self, pid: i32) -> Option<u32> {
        let idx = self.free.borrow_mut().pop().unwrap_or_else(|| {
            let mut slots = self.slots.borrow_mut();
            slots.push(Box::new(Slot {
                info: UnsafeCell::new(MaybeUninit::zeroed()),
                state: Cell::new(State::Free),
                res: Cell::new(0),
                pid: Cell::new(0),
                waker: Cell::new(None),
            }));
            slots.len() as u32 - 1
        });
        let info = self.slots.borrow()[idx as usize].info.get();
        let mut sqe = io_uring_sqe {
            opcode: IoringOp::Waitid,
            fd: pid,
            user_data: io_uring_user_data::from_u64(idx.into()),
            ..Default::default()
        };
        sqe.len.len = libc::P_PID;
        sqe.splice_fd_in_or_file_index_or_addr_len.file_index = libc::WEXITED as u32;
        sqe.off_or_addr2.addr2 = io_uring_ptr::new(info.cast());
        if !self.submit(&sqe) {
            self.free.borrow_mut().push(idx);
            return None;
        }
        let slot = &self.slots.borrow()[idx as usize];
        slot.state.set(State::InFlight);
        slot.pid.set(pid);
        self.in_flight.set(self.in_flight.get() + 1);
        self.arm();
        Some(idx)
    }

    /// Queues `sqe` and submits it; false if the kernel took nothing.
    fn submit(&self, sqe: &io_uring_sqe) -> bool {
        let off = &self.params.sq_off;
        let tail = self.sq.u32_at(off.tail).load(Ordering::Relaxed);
        let mask = self.sq.u32_at(off.ring_mask).load(Ordering::Relaxed);
        let i = tail & mask;
        // SAFETY: entry `i` of the SQE array and of the index array (both
        // `sq_entries` long, `mask` = entries - 1): not the kernel's until
        // the tail moves past it; nothing else of ours is queued (every
        // submission is entered at once, and withdrawn if refused).
        unsafe {
            self.sqes
                .ptr
                .cast::<io_uring_sqe>()
                .add(i as usize)
                .write(*sqe);
            self.sq
                .ptr
                .cast::<u8>()
                .add(off.array as usize)
                .cast::<u32>()
                .add(i as usize)
                .write(i);
        }
        self.sq
            .u32_at(off.tail)
            .store(tail.wrapping_add(1), Ordering::Release);
        // SAFETY: the queued entry points at a slot's boxed `siginfo_t`,
        // which lives until its completion is read.
        match unsafe { io_uring_enter(&self.fd, 1, 0, IoringEnterFlags::empty()) } {
            Ok(1) => true,
            _ => {
                // Not consumed (SINGLE_ISSUER from another thread after a
                // fork, out of memory): take it back.
                self.sq.u32_at(off.tail).store(tail, Ordering::Release);
                false
            }
        }
    }

    /// Runs the completions that are due (the kernel reaps those children
    /// now) and records their results; wakes their waiters.
    ///
    /// The eventfd is muted meanwhile (`IORING_CQ_EVENTFD_DISABLED`): the
    /// completions posted here would signal it once more and cost the
    /// loop a wake-up with nothing to do. An exit whose completion became
    /// due while it was muted shows in `IORING_SQ_TASKRUN` (set by the
    /// kernel before it looks at the mute, cleared when it runs them), so
    /// it is run here too rather than lost.
    fn pump(&self) {
        let cq_flags = self.cq.u32_at(self.params.cq_off.flags);
        let sq_flags = self.sq.u32_at(self.params.sq_off.flags);
        loop {
            cq_flags.fetch_or(IoringCqFlags::EVENTFD_DISABLED.bits(), Ordering::SeqCst);
            // SAFETY: no submission; completions write only into slots'
            // boxed `siginfo_t`s of waits in flight.
            let _ = unsafe { io_uring_enter(&self.fd, 0, 0, IoringEnterFlags::GETEVENTS) };
            cq_flags.fetch_and(!IoringCqFlags::EVENTFD_DISABLED.bits(), Ordering::SeqCst);
            std::sync::atomic::fence(Ordering::SeqCst);
            self.reap_completions();
            // Completions that did not fit in the queue wait in the
            // kernel's overflow list (flagged): the next enter moves them.
            let again = IoringSqFlags::TASKRUN | IoringSqFlags::CQ_OVERFLOW;
            if sq_flags.load(Ordering::SeqCst) & again.bits() == 0 {
                break;
            }
        }
        if self.in_flight.get() > 0 {
            self.arm();
        }
    }

    /// Reads the completion queue; wakes the waiters of those that ended.
    fn reap_completions(&self) {
        let off = &self.params.cq_off;
        let mask = self.cq.u32_at(off.ring_mask).load(Ordering::Relaxed);
        loop {
            let head = self.cq.u32_at(off.head).load(Ordering::Relaxed);
            if head == self.cq.u32_at(off.tail).load(Ordering::Acquire) {
                return;
            }
            // SAFETY: entry `head & mask` of the CQE array, published by the
            // kernel (tail read with Acquire), ours until the head moves.
            let (user_data, res) = unsafe {
                let cqe = self
                    .cq
                    .ptr
                    .cast::<u8>()
                    .add(off.cqes as usize)
                    .cast::<io_uring_cqe>()
                    .add((head & mask) as usize);
                ((*cqe).user_data.u64_(), (*cqe).res)
            };
            // Consumed before anything runs: a waker may get back here.
            self.cq
                .u32_at(off.head)
                .store(head.wrapping_add(1), Ordering::Release);
            if user_data == CANCEL {
                continue;
            }
            let waker = match self.slots.borrow().get(user_data as usize) {
                Some(slot) if slot.state.get() == State::InFlight => {
                    slot.res.set(res);
                    slot.state.set(State::Done);
                    self.in_flight.set(self.in_flight.get() - 1);
                    slot.waker.take()
                }
                _ => None,
            };
            if let Some(w) = waker {
                w.wake();
            }
        }
    }

    /// Makes the next signal of the eventfd run [`pump`](Self::pump).
    fn arm(&self) {
        let mut cx = Context::from_waker(&self.pump);
        let _ = self.event.source_interest(Direction::Read, &mut cx);
    }

    fn slot(&self, idx: u32) -> std::cell::Ref<'_, Slot> {
        std::cell::Ref::map(self.slots.borrow(), |s| &*s[idx as usize])
    }

    /// The exit status once slot `idx`'s child has exited (reaped then).
    fn status(&self, idx: u32) -> Option<io::Result<std::process::ExitStatus>> {
        use std::os::unix::process::ExitStatusExt;
        let slot = self.slot(idx);
        if slot.state.get() != State::Done {
            return None;
        }
        let res = slot.res.get();
        if res < 0 {
            return Some(Err(io::Error::from_raw_os_error(-res)));
        }
        // SAFETY: the kernel filled in the `siginfo_t` before the
        // completion was posted (zeroed before that: a valid value).
        let info = unsafe { (*slot.info.get()).assume_init_ref() };
        // SAFETY: a `waitid` result for an exited child: `si_status` is
        // the exit code or the signal.
        let status = unsafe { info.si_status() };
        let raw = match info.si_code {
            libc::CLD_EXITED => (status & 0xff) << 8,
            libc::CLD_DUMPED => status | 0x80,
            _ => status,
        };
        Some(Ok(std::process::ExitStatus::from_raw(raw)))
    }
}

/// Wakes the ring's pump (the eventfd's waiter).
struct Pump;

impl Wake for Pump {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Only this thread's reactor holds the waker; elsewhere there is
        // no ring of this thread to pump.
        // (None either while the thread's locals are being destroyed.)
        if let Ok(Some(ring)) = RING.try_with(|r| r.borrow().clone()) {
            ring.pump();
        }
    }
}

/// Whether the kernel has `IORING_OP_WAITID` (`IORING_REGISTER_PROBE`).
fn supports_waitid(fd: &OwnedFd) -> bool {
    // struct io_uring_probe: last_op (u8), ops_len, resv, resv2[3], then
    // 8-byte ops { op, resv, flags (u16), resv2 }; flag 1: supported.
    const OPS: usize = 256;
    let mut buf = [0u64; 2 + OPS];
    // SAFETY: a zeroed probe with room for `OPS` entries, written by the
    // kernel during the call.
    let probed = unsafe {
        io_uring_register(
            fd.as_fd(),
            IoringRegisterOp::RegisterProbe,
            buf.as_mut_ptr().cast::<c_void>().cast_const(),
            OPS as u32,
        )
    };
    if probed.is_err() {
        return false;
    }
    let op = IoringOp::Waitid as usize;
    let last_op = (buf[0] & 0xff) as usize;
    let flags = (buf[2 + op] >> 16) & 0xffff;
    op <= last_op && flags & 1 != 0
}

/// A child's `waitid` in this thread's ring.
pub(super) struct Wait {
    ring: Rc<Ring>,
    slot: u32,
}

impl Wait {
    /// Starts waiting for child `pid` in `ring`; `None` if the kernel
    /// refused.
    pub(super) fn new(ring: Rc<Ring>, pid: i32) -> Option<Wait> {
        let slot = ring.watch(pid)?;
        Some(Wait { ring, slot })
    }

    /// Ready with the status once the child has exited.
    pub(super) fn poll(&self, cx: &mut Context<'_>) -> Poll<io::Result<std::process::ExitStatus>> {
        if let Some(res) = self.ring.status(self.slot) {
            return Poll::Ready(res);
        }
        let slot = self.ring.slot(self.slot);
        let waker = slot.waker.take();
        slot.waker.set(Some(match waker {
            Some(w) if w.will_wake(cx.waker()) => w,
            _ => cx.waker().clone(),
        }));
        Poll::Pending
    }

    /// The status if the child has exited, without waiting (runs the
    /// completions that are due: one `io_uring_enter`).
    pub(super) fn try_status(&self) -> Option<io::Result<std::process::ExitStatus>> {
        if self.ring.status(self.slot).is_none() {
            self.ring.pump();
        }
        self.ring.status(self.slot)
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        let ring = &self.ring;
        let (state, pid) = {
            let slot = ring.slot(self.slot);
            (slot.state.get(), slot.pid.get())
        };
        if state == State::InFlight {
            // Nobody waits any more: cancel the `waitid`, so the child
            // goes to the reaper, which reaps it even with no loop running.
            // Its completion (cancelled, or the exit that won the race)
            // comes within the same calls.
            let sqe = io_uring_sqe {
                opcode: IoringOp::AsyncCancel,
                fd: -1,
                user_data: io_uring_user_data::from_u64(CANCEL),
                addr_or_splice_off_in: rustix::io_uring::addr_or_splice_off_in_union {
                    user_data: io_uring_user_data::from_u64(self.slot.into()),
                },
                ..Default::default()
            };
            if ring.submit(&sqe) {
                while ring.slot(self.slot).state.get() == State::InFlight {
                    // SAFETY: as in `Ring::pump`; blocks until a
                    // completion is posted.
                    let r = unsafe { io_uring_enter(&ring.fd, 0, 1, IoringEnterFlags::GETEVENTS) };
                    ring.reap_completions();
                    if r.is_err() && ring.slot(self.slot).state.get() == State::InFlight {
                        break;
                    }
                }
            }
            let slot = ring.slot(self.slot);
            if slot.state.get() == State::InFlight {
                // The cancellation failed: the slot (and its `siginfo_t`)
                // stays the kernel's; the reaper takes the child as well
                // (a second reap only finds it gone).
                drop(slot);
                super::reap::orphan(pid);
                return;
            }
            if slot.res.get() == -libc::ECANCELED {
                super::reap::orphan(pid);
            }
        }
        let slot = ring.slot(self.slot);
        slot.state.set(State::Free);
        slot.waker.set(None);
        drop(slot);
        ring.free.borrow_mut().push(self.slot);
    }
}
