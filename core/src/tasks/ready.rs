//! Per-child wakers for the combinators over many futures (`gather`,
//! `wait`, `as_completed`): a wake-up records which child woke, in wake
//! order, so a poll touches only the children that can make progress
//! (O(woken), not O(n)) and completion order is known even when several
//! children finish before the combinator runs again.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use crate::shim::lock::{Mutex, MutexGuard};

/// The wakers of `n` children and the queue of those woken.
pub(crate) struct ReadySet {
    woken: Arc<Woken>,
    children: Vec<(Waker, Arc<ChildWaker>)>,
    /// Every child was polled once.
    started: bool,
}

struct Woken {
    queue: Mutex<WokenQueue>,
}

#[derive(Default)]
struct WokenQueue {
    order: VecDeque<usize>,
    parent: Option<Waker>,
}

impl Woken {
    fn lock(&self) -> MutexGuard<'_, WokenQueue> {
        match self.queue.lock() {
            Ok(q) => q,
            Err(p) => p.into_inner(),
        }
    }
}

/// The waker of one child.
struct ChildWaker {
    idx: usize,
    /// Already in `WokenQueue::order`.
    queued: AtomicBool,
    woken: Arc<Woken>,
}

impl Wake for ChildWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let parent = {
            let mut q = self.woken.lock();
            q.order.push_back(self.idx);
            q.parent.clone()
        };
        if let Some(w) = parent {
            w.wake();
        }
    }
}

impl ReadySet {
    pub(crate) fn new(n: usize) -> Self {
        let woken = Arc::new(Woken {
            queue: Mutex::new(WokenQueue::default()),
        });
        let children = (0..n)
            .map(|idx| {
                let child = Arc::new(ChildWaker {
                    idx,
                    queued: AtomicBool::new(false),
                    woken: woken.clone(),
                });
                (Waker::from(child.clone()), child)
            })
            .collect();
        ReadySet {
            woken,
            children,
            started: false,
        }
    }

    /// Stores the parent's waker. Call at the start of each poll, before
    /// polling children, so that no wake-up is lost.
    pub(crate) fn register(&self, cx: &Context<'_>) {
        let mut q = self.woken.lock();
        match &mut q.parent {
            Some(w) if w.will_wake(cx.waker()) => {}
            w => *w = Some(cx.waker().clone()),
        }
    }

    /// The next child to poll: each child once, in order, on the first
    /// calls; afterwards the woken ones, in wake order.
    pub(crate) fn next(&mut self) -> Option<usize> {
        if !self.started {
            self.started = true;
            let mut q = self.woken.lock();
            q.order.clear();
            q.order.extend(0..self.children.len());
            for (_, c) in &self.children {
                c.queued.store(true, Ordering::Release);
            }
        }
        self.woken.lock().order.pop_front()
    }

    /// The context to poll child `i` with. Clears its "queued" mark first,
    /// so a wake-up during that poll queues it again.
    pub(crate) fn context(&self, i: usize) -> Context<'_> {
        let (waker, child) = &self.children[i];
        child.queued.store(false, Ordering::Release);
        Context::from_waker(waker)
    }
}
