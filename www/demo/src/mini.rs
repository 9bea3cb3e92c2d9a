//! A countdown [`Latch`] and a CPU burner ([`spin`]), shared by the
//! scenarios and the benchmark.
//!
//! The benchmark joins with a [`Latch`] on every runtime alike
//! (`spawn_local` has no join handles), so the figures compare executors,
//! not join implementations.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{poll_fn, Future};
use std::rc::Rc;
use std::task::{Poll, Waker};

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

/// `n` rounds of a xorshift: CPU work the optimizer cannot drop (wrap the
/// argument and the result in `std::hint::black_box`).
pub fn spin(n: u32) -> u64 {
    let mut x = 0x2545_F491_4F6C_DD1D_u64;
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}
