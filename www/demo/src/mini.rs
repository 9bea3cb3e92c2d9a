//! Small single-threaded building blocks shared by the scenarios and the
//! benchmark: a countdown [`Latch`], a capacity-1 [`Slot`] channel, and
//! stand-ins for `anyloop::TaskGroup` and `anyloop::queue::Queue` used until
//! those land in the facade.
//!
//! The benchmark uses [`Latch`] and [`Slot`] for every runtime alike, so the
//! figures compare executors, not channel implementations.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
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

/// A one-value channel: `send` waits while the slot is full, `recv` while
/// it is empty (a bounded channel of capacity 1).
pub struct Slot<T>(Rc<SlotInner<T>>);

struct SlotInner<T> {
    value: RefCell<Option<T>>,
    tx: RefCell<Option<Waker>>,
    rx: RefCell<Option<Waker>>,
}

impl<T> Clone for Slot<T> {
    fn clone(&self) -> Self {
        Slot(self.0.clone())
    }
}

impl<T> fmt::Debug for Slot<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot")
            .field("full", &self.0.value.borrow().is_some())
            .finish()
    }
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot::new()
    }
}

impl<T> Slot<T> {
    /// An empty slot.
    pub fn new() -> Self {
        Slot(Rc::new(SlotInner {
            value: RefCell::new(None),
            tx: RefCell::new(None),
            rx: RefCell::new(None),
        }))
    }

    /// Puts `v` once the slot is empty.
    pub async fn send(&self, v: T) {
        let mut v = Some(v);
        poll_fn(|cx| {
            let mut slot = self.0.value.borrow_mut();
            if slot.is_some() {
                *self.0.tx.borrow_mut() = Some(cx.waker().clone());
                return Poll::Pending;
            }
            *slot = v.take();
            drop(slot);
            if let Some(w) = self.0.rx.borrow_mut().take() {
                w.wake();
            }
            Poll::Ready(())
        })
        .await
    }

    /// Takes the value once there is one.
    pub async fn recv(&self) -> T {
        poll_fn(|cx| match self.0.value.borrow_mut().take() {
            Some(v) => {
                if let Some(w) = self.0.tx.borrow_mut().take() {
                    w.wake();
                }
                Poll::Ready(v)
            }
            None => {
                *self.0.rx.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// A bounded FIFO queue with asyncio's `put`/`get` (stand-in for
/// `anyloop::queue::Queue` until it lands).
pub struct Queue<T>(Rc<QueueInner<T>>);

struct QueueInner<T> {
    items: RefCell<VecDeque<T>>,
    maxsize: usize,
    getters: RefCell<VecDeque<Waker>>,
    putters: RefCell<VecDeque<Waker>>,
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Queue(self.0.clone())
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("len", &self.0.items.borrow().len())
            .field("maxsize", &self.0.maxsize)
            .finish()
    }
}

impl<T> Queue<T> {
    /// A queue holding at most `maxsize` items (`0`: unbounded).
    pub fn new(maxsize: usize) -> Self {
        Queue(Rc::new(QueueInner {
            items: RefCell::new(VecDeque::new()),
            maxsize: if maxsize == 0 { usize::MAX } else { maxsize },
            getters: RefCell::new(VecDeque::new()),
            putters: RefCell::new(VecDeque::new()),
        }))
    }

    /// Items in the queue now.
    pub fn len(&self) -> usize {
        self.0.items.borrow().len()
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Puts `v` at the back, waiting while the queue is full.
    pub async fn put(&self, v: T) {
        let mut v = Some(v);
        poll_fn(|cx| {
            let mut items = self.0.items.borrow_mut();
            if items.len() >= self.0.maxsize {
                self.0.putters.borrow_mut().push_back(cx.waker().clone());
                return Poll::Pending;
            }
            items.extend(v.take());
            drop(items);
            if let Some(w) = self.0.getters.borrow_mut().pop_front() {
                w.wake();
            }
            Poll::Ready(())
        })
        .await
    }

    /// Takes the front item, waiting while the queue is empty.
    pub async fn get(&self) -> T {
        poll_fn(|cx| {
            let item = self.0.items.borrow_mut().pop_front();
            match item {
                Some(v) => {
                    if let Some(w) = self.0.putters.borrow_mut().pop_front() {
                        w.wake();
                    }
                    Poll::Ready(v)
                }
                None => {
                    self.0.getters.borrow_mut().push_back(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
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
