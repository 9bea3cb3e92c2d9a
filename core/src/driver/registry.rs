//! The task registry: every live task of a loop (`all_tasks`, shutdown
//! cancellation, `task_count`), as an intrusive doubly linked list
//! through the tasks' own headers.
//!
//! # Why a list
//!
//! A task enters the registry at spawn and leaves it in its last poll, so
//! both ends are on every spawn's path. A slab (the registry's first
//! form) wrote a three-word entry into a `Vec` behind a `RefCell` each
//! way, and grew the `Vec` with the number of live tasks: measured under
//! wasmtime (`TARGET=wasm32-wasip2 benches/callgrind.sh`), ~108
//! instructions per task of `spawn_join` (20,000 live tasks) and ~48 of
//! `chained_spawn`. Linking a task in or out writes a few pointers that
//! live in the task allocation itself (no allocation, no borrow flag, no
//! bounds check), and the list keeps the tasks in spawn order.

use std::cell::Cell;
use std::ptr::NonNull;

use super::raw::{self, Header};
use crate::task::TaskRef;

/// A task's place in its loop's registry, and its debug statistics'
/// index. Read and written on the task's loop thread only.
pub(crate) struct Links {
    prev: Cell<Option<NonNull<Header>>>,
    /// The next task (`None`: the last), or [`unlinked`]'s mark while the
    /// task is not in the registry: no separate flag, which (a `bool`
    /// padded to a word) made every task 8 bytes larger natively, 4 on
    /// wasm32.
    next: Cell<Option<NonNull<Header>>>,
    /// Where debug mode keeps this task's counters (see `debug`), or
    /// `usize::MAX`.
    stat: Cell<usize>,
}

/// What [`unlinked`] points to: a static's address, which no task's can
/// be. Never read through the mark.
static UNLINKED: u8 = 0;

/// [`Links::next`] of a task that is not linked. Only compared, never
/// dereferenced.
#[inline(always)]
fn unlinked() -> Option<NonNull<Header>> {
    Some(NonNull::from(&UNLINKED).cast())
}

// SAFETY: the cells are touched only on the task's loop thread: a task is
// linked when it is spawned there or taken in from the injection queue
// there, unlinked in its last poll or when its future is dropped there
// (a future dropped on another thread leaves its links alone, see
// `task::Wrapped::dropped_unfinished`), and the list is walked by its loop
// (`Registry`, reached only through that loop's `Local`). Readers on other
// threads first check that the current loop is the task's.
unsafe impl Sync for Links {}
// SAFETY: as above: nothing here is tied to a thread but its accesses.
unsafe impl Send for Links {}

impl Links {
    pub(crate) fn new() -> Self {
        Links {
            prev: Cell::new(None),
            next: Cell::new(unlinked()),
            stat: Cell::new(usize::MAX),
        }
    }

    /// In its loop's registry (on that loop's thread only).
    #[inline]
    pub(crate) fn is_linked(&self) -> bool {
        self.next.get() != unlinked()
    }

    /// The index of the task's debug counters (`usize::MAX`: none).
    #[inline]
    pub(crate) fn stat(&self) -> usize {
        self.stat.get()
    }

    pub(crate) fn set_stat(&self, i: usize) {
        self.stat.set(i);
    }
}

/// The links of the task at `task`.
///
/// # Safety
///
/// The task is alive for `'a`.
#[inline]
unsafe fn links<'a>(task: NonNull<Header>) -> &'a Links {
    // SAFETY: forwarded from the caller.
    unsafe { &raw::meta_of(task).links }
}

/// Live tasks of a loop, oldest first. Not a reference of its own: a task
/// is linked while its future lives, which keeps the loop's reference to
/// the task.
pub(crate) struct Registry {
    head: Cell<Option<NonNull<Header>>>,
    tail: Cell<Option<NonNull<Header>>>,
    len: Cell<usize>,
}

impl Registry {
    pub(crate) const fn new() -> Self {
        Registry {
            head: Cell::new(None),
            tail: Cell::new(None),
            len: Cell::new(0),
        }
    }

    /// Links `task` at the end.
    ///
    /// # Safety
    ///
    /// On the loop thread; `task` is a live task of this loop, not
    /// linked, whose future is alive (it stays linked until
    /// [`remove`](Self::remove)d, at the latest when its future goes).
    #[inline]
    pub(crate) unsafe fn insert(&self, task: NonNull<Header>) {
        // SAFETY: alive (forwarded from the caller).
        let l = unsafe { links(task) };
        let tail = self.tail.get();
        l.prev.set(tail);
        l.next.set(None);
        match tail {
            // SAFETY: a linked task is alive (see the type's doc).
            Some(t) => unsafe { links(t) }.next.set(Some(task)),
            None => self.head.set(Some(task)),
        }
        self.tail.set(Some(task));
        self.len.set(self.len.get() + 1);
    }

    /// Unlinks `task` if it is linked.
    ///
    /// # Safety
    ///
    /// On the loop thread; `task` is alive and, if linked, linked here.
    #[inline]
    pub(crate) unsafe fn remove(&self, task: NonNull<Header>) {
        // SAFETY: alive (forwarded from the caller).
        let l = unsafe { links(task) };
        let next = l.next.get();
        if next == unlinked() {
            return;
        }
        l.next.set(unlinked());
        let prev = l.prev.get();
        match prev {
            // SAFETY: its neighbours are linked, hence alive.
            Some(p) => unsafe { links(p) }.next.set(next),
            None => self.head.set(next),
        }
        match next {
            // SAFETY: as above.
            Some(n) => unsafe { links(n) }.prev.set(prev),
            None => self.tail.set(prev),
        }
        self.len.set(self.len.get() - 1);
    }

    pub(crate) fn len(&self) -> usize {
        self.len.get()
    }

    /// Calls `f` with every linked task, oldest first. `f` must not
    /// link or unlink tasks.
    fn for_each(&self, mut f: impl FnMut(NonNull<Header>)) {
        let mut cur = self.head.get();
        while let Some(t) = cur {
            // SAFETY: a linked task is alive; `f` changes no links.
            cur = unsafe { links(t) }.next.get();
            f(t);
        }
    }

    /// Snapshot of every live task.
    pub(crate) fn snapshot(&self) -> Vec<TaskRef> {
        let mut v = Vec::with_capacity(self.len());
        self.for_each(|t| {
            // SAFETY: a linked task is alive; the new waker keeps it
            // alive after, and the metadata lives in its allocation.
            v.push(unsafe { TaskRef::new(raw::waker(t), NonNull::from(raw::meta_of(t))) })
        });
        v
    }

    /// The tasks linked now (uncounted: see the type's doc).
    pub(crate) fn tasks(&self) -> Vec<NonNull<Header>> {
        let mut v = Vec::with_capacity(self.len());
        self.for_each(|t| v.push(t));
        v
    }
}
