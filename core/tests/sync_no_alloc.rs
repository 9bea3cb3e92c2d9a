//! The hot paths of the queues and sync primitives allocate nothing once
//! warmed up: a counting global allocator around pingpong and contended
//! lock / semaphore hand-offs between two tasks.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::rc::Rc;

use anyloop_core::queue::Queue;
use anyloop_core::sync::{Lock, Semaphore};
use anyloop_core::testing::MockHost;
use anyloop_core::{spawn, yield_now, EventLoop};

struct Counting;

thread_local! {
    /// Allocations made by this thread: libtest's own threads (its timer
    /// for slow tests, output capture) allocate too, and must not count.
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: allocations during thread teardown are not ours.
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: forwards to the system allocator; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> usize {
    ALLOCS.with(Cell::get)
}

// The loop and both tasks run on the test's thread, so a per-thread count
// sees every allocation of the hot paths and nothing else.
#[test]
fn warmed_up_hot_paths_do_not_allocate() {
    let n = if cfg!(miri) { 20 } else { 2_000 };
    EventLoop::new(MockHost::new()).block_on(async move {
        // Queue pingpong.
        let (a, b) = (Queue::new(1), Queue::new(1));
        let pong = spawn({
            let (a, b) = (a.clone(), b.clone());
            async move {
                while let Ok(x) = a.get().await {
                    b.put(x + 1).await.unwrap();
                }
            }
        });
        let trips = |count: u64| {
            let (a, b) = (a.clone(), b.clone());
            async move {
                let mut x = 0;
                for _ in 0..count {
                    a.put(x).await.unwrap();
                    x = b.get().await.unwrap();
                }
                x
            }
        };
        assert_eq!(trips(100).await, 100);
        let before = allocs();
        assert_eq!(trips(n).await, n);
        assert_eq!(allocs() - before, 0, "queue pingpong allocated");
        a.shutdown(false);
        pong.await.unwrap();

        // Contended Lock and Semaphore: two tasks handing them back and forth.
        let lock = Rc::new(Lock::new(0_u64));
        let sem = Rc::new(Semaphore::new(1));
        let worker = |lock: Rc<Lock<u64>>, sem: Rc<Semaphore>, rounds: u64| async move {
            for _ in 0..rounds {
                {
                    let mut g = lock.lock().await;
                    *g += 1;
                    yield_now().await;
                }
                let _p = sem.acquire().await;
                yield_now().await;
            }
        };
        let t1 = spawn(worker(lock.clone(), sem.clone(), n + 10));
        let t2 = spawn(worker(lock.clone(), sem.clone(), n + 10));
        for _ in 0..40 {
            yield_now().await;
        }
        let before = allocs();
        for _ in 0..n {
            yield_now().await;
        }
        assert_eq!(allocs() - before, 0, "lock/semaphore hand-offs allocated");
        t1.await.unwrap();
        t2.await.unwrap();
        assert_eq!(*lock.lock().await, 2 * (n + 10));
    });
}
