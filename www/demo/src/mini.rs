//! Small single-threaded building blocks shared by the scenarios and the
//! benchmark: a countdown [`Latch`] and a stand-in for `anyloop::TaskGroup`
//! used until it lands in the facade.
//!
//! The benchmark uses [`Latch`] for every runtime alike, so the figures
//! compare executors, not join implementations.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{poll_fn, Future};
use std::rc::Rc;
use std::task::{Poll, Waker};

use anyloop::TaskRef;

/// Counts down from `n`; [`wait`](Latch::wait) completes at zero.
#[derive(Clone)]
pub struct Latch(Rc<LatchInner>);

struct LatchInner {
    left: Cell<usize>,
    waker: RefCell<Option<Waker>>,
}

impl fmt::Debug for Latch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Latch")
            .field("left", &self.0.left.get())
            .finish()
    }
}

impl Latch {
    /// A latch that opens after `n` [`count_down`](Latch::count_down)s.
    pub fn new(n: usize) -> Self {
        Latch(Rc::new(LatchInner {
            left: Cell::new(n),
            waker: RefCell::new(None),
        }))
    }

    /// One fewer to go; wakes the waiter at zero.
    pub fn count_down(&self) {
        let left = self.0.left.get() - 1;
        self.0.left.set(left);
        if left == 0 {
            if let Some(w) = self.0.waker.borrow_mut().take() {
                w.wake();
            }
        }
    }

    /// Completes when the count reaches zero.
    pub fn wait(&self) -> impl Future<Output = ()> + '_ {
        poll_fn(move |cx| {
            if self.0.left.get() == 0 {
                Poll::Ready(())
            } else {
                *self.0.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
    }
}

/// Stand-in for `anyloop::TaskGroup` until it lands: children registered
/// with [`add`](TaskGroup::add); the first child to fail (through
/// [`guard`](TaskGroup::guard)) cancels all the others.
#[derive(Clone, Default)]
pub struct TaskGroup(Rc<GroupInner>);

#[derive(Default)]
struct GroupInner {
    children: RefCell<Vec<TaskRef>>,
    errors: RefCell<Vec<String>>,
}

impl fmt::Debug for TaskGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("children", &self.0.children.borrow().len())
            .field("errors", &self.0.errors.borrow().len())
            .finish()
    }
}

impl TaskGroup {
    /// An empty group.
    pub fn new() -> Self {
        TaskGroup::default()
    }

    /// Registers a child task.
    pub fn add(&self, child: TaskRef) {
        self.0.children.borrow_mut().push(child);
    }

    /// Wraps a child's body: if it returns `Err`, the error goes to the
    /// group and every other child is cancelled.
    pub fn guard<T, F>(&self, fut: F) -> impl Future<Output = Result<T, String>>
    where
        F: Future<Output = Result<T, String>>,
    {
        let group = self.clone();
        async move {
            let out = fut.await;
            if let Err(e) = &out {
                group.0.errors.borrow_mut().push(e.clone());
                let me = anyloop::current_task().map(|t| t.id());
                let others: Vec<TaskRef> = group.0.children.borrow().clone();
                for t in others {
                    if Some(t.id()) != me {
                        t.cancel();
                    }
                }
            }
            out
        }
    }

    /// The errors of the children that failed.
    pub fn errors(&self) -> Vec<String> {
        self.0.errors.borrow().clone()
    }
}
