use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::*;
use crate::testing::MockHost;
use crate::{spawn, yield_now, EventLoop};

fn run<F: Future>(fut: F) -> F::Output {
    EventLoop::new(MockHost::new()).block_on(fut)
}

fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    std::pin::Pin::new(f).poll(&mut Context::from_waker(Waker::noop()))
}

async fn settle() {
    for _ in 0..8 {
        yield_now().await;
    }
}

#[test]
fn orders_of_the_three_kinds() {
    let fifo = Queue::new(0);
    let lifo = LifoQueue::new(0);
    let prio = PriorityQueue::new(0);
    for x in [3, 1, 2] {
        fifo.put_nowait(x).unwrap();
        lifo.put_nowait(x).unwrap();
        prio.put_nowait(x).unwrap();
    }
    let drain =
        |f: &dyn Fn() -> Result<i32, TryGetError>| (0..3).map(|_| f().unwrap()).collect::<Vec<_>>();
    assert_eq!(drain(&|| fifo.get_nowait()), [3, 1, 2]);
    assert_eq!(drain(&|| lifo.get_nowait()), [2, 1, 3]);
    assert_eq!(drain(&|| prio.get_nowait()), [1, 2, 3]);
}

#[test]
fn full_and_empty_errors_give_items_back() {
    let q = Queue::new(1);
    assert!(q.get_nowait().unwrap_err().is_empty());
    q.put_nowait("a").unwrap();
    assert!(q.is_full());
    let err = q.put_nowait("b").unwrap_err();
    assert!(err.is_full());
    assert_eq!(err.into_inner(), "b");
    assert_eq!(q.qsize(), 1);
    assert_eq!(q.maxsize(), 1);
}

#[test]
fn put_blocks_at_maxsize_and_putters_are_served_fifo() {
    run(async {
        let q = Queue::new(2);
        q.put(0).await.unwrap();
        q.put(1).await.unwrap();
        let putters: Vec<_> = (2..5)
            .map(|i| {
                let q = q.clone();
                spawn(async move { q.put(i).await.unwrap() })
            })
            .collect();
        settle().await;
        assert_eq!(q.qsize(), 2);
        assert!(putters.iter().all(|p| !p.is_finished()));
        let mut got = Vec::new();
        for _ in 0..5 {
            got.push(q.get().await.unwrap());
        }
        assert_eq!(got, [0, 1, 2, 3, 4]);
        for p in putters {
            p.await.unwrap();
        }
    });
}

#[test]
fn getters_are_served_fifo_and_reserved_items_cannot_be_stolen() {
    let q = Queue::new(0);
    let mut a = q.get();
    let mut b = q.get();
    assert!(poll_once(&mut a).is_pending());
    assert!(poll_once(&mut b).is_pending());
    q.put_nowait(1).unwrap();
    // Promised to `a`: a newcomer cannot take it.
    assert!(q.get_nowait().unwrap_err().is_empty());
    let mut c = q.get();
    assert!(poll_once(&mut c).is_pending());
    q.put_nowait(2).unwrap(); // for `b`; `c` still waits
    assert_eq!(poll_once(&mut c), Poll::Pending);
    q.put_nowait(3).unwrap();
    // Served getters take the items in the order they run (as in asyncio,
    // where the loop runs them in the order they were woken).
    assert_eq!(poll_once(&mut a), Poll::Ready(Ok(1)));
    assert_eq!(poll_once(&mut b), Poll::Ready(Ok(2)));
    assert_eq!(poll_once(&mut c), Poll::Ready(Ok(3)));
}

#[test]
fn item_of_a_dropped_getter_is_not_lost() {
    let q = Queue::new(0);
    let mut a = q.get();
    let mut b = q.get();
    assert!(poll_once(&mut a).is_pending());
    assert!(poll_once(&mut b).is_pending());
    q.put_nowait(7).unwrap(); // reserved for `a`
    drop(a); // passes to `b`
    assert_eq!(poll_once(&mut b), Poll::Ready(Ok(7)));

    let mut c = q.get();
    assert!(poll_once(&mut c).is_pending());
    q.put_nowait(8).unwrap();
    drop(c); // nobody else waits: the item stays queued
    assert_eq!(q.qsize(), 1);
    assert_eq!(q.get_nowait(), Ok(8));
}

#[test]
fn slot_of_a_dropped_putter_passes_on() {
    let q = Queue::new(1);
    q.put_nowait(0).unwrap();
    let mut a = q.put(1);
    let mut b = q.put(2);
    assert!(poll_once(&mut a).is_pending());
    assert!(poll_once(&mut b).is_pending());
    assert_eq!(q.get_nowait(), Ok(0)); // slot reserved for `a`
    assert!(q.put_nowait(9).unwrap_err().is_full());
    drop(a); // its item is dropped, its slot goes to `b`
    assert_eq!(poll_once(&mut b), Poll::Ready(Ok(())));
    assert_eq!(q.get_nowait(), Ok(2));
    assert!(q.get_nowait().is_err());
}

#[test]
fn getter_tasks_receive_items_in_arrival_order() {
    run(async {
        let q = Queue::new(0);
        let got = Rc::new(RefCell::new(Vec::new()));
        let getters: Vec<_> = (0..4)
            .map(|i| {
                let (q, got) = (q.clone(), got.clone());
                spawn(async move {
                    let v = q.get().await.unwrap();
                    got.borrow_mut().push((i, v));
                })
            })
            .collect();
        settle().await;
        for x in 10..14 {
            q.put(x).await.unwrap();
        }
        for g in getters {
            g.await.unwrap();
        }
        assert_eq!(*got.borrow(), [(0, 10), (1, 11), (2, 12), (3, 13)]);
    });
}

#[test]
fn task_done_and_join_accounting() {
    run(async {
        let q = Queue::new(0);
        assert!(q.task_done().is_err());
        q.join().await; // nothing put yet
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        let joined = Rc::new(Cell::new(false));
        let joiner = spawn({
            let (q, joined) = (q.clone(), joined.clone());
            async move {
                q.join().await;
                joined.set(true);
            }
        });
        q.get().await.unwrap();
        q.get().await.unwrap();
        q.task_done().unwrap();
        settle().await;
        assert!(!joined.get());
        q.task_done().unwrap();
        joiner.await.unwrap();
        assert!(joined.get());
        assert!(q.task_done().is_err());
    });
}

#[test]
fn shutdown_not_immediate_drains_then_fails() {
    run(async {
        let q = Queue::new(1);
        q.put_nowait(1).unwrap();
        let putter = spawn({
            let q = q.clone();
            async move { q.put(2).await }
        });
        settle().await;
        q.shutdown(false);
        assert_eq!(putter.await.unwrap(), Err(QueueShutDown(2)));
        assert!(q.put_nowait(3).unwrap_err().is_shutdown());
        assert_eq!(q.put(4).await, Err(QueueShutDown(4)));
        assert_eq!(q.get().await, Ok(1));
        assert_eq!(q.get().await, Err(QueueShutDown(())));
        assert!(q.get_nowait().unwrap_err().is_shutdown());
        assert!(q.is_shutdown());
    });
}

#[test]
fn shutdown_wakes_waiting_getters() {
    run(async {
        let q = Queue::<u8>::new(0);
        let getters: Vec<_> = (0..3)
            .map(|_| {
                let q = q.clone();
                spawn(async move { q.get().await })
            })
            .collect();
        settle().await;
        q.shutdown(false);
        for g in getters {
            assert_eq!(g.await.unwrap(), Err(QueueShutDown(())));
        }
    });
}

#[test]
fn shutdown_immediate_drops_items_and_releases_join() {
    struct Noisy(Queue<u8>, Rc<Cell<usize>>);
    impl Drop for Noisy {
        fn drop(&mut self) {
            // Dropped outside the queue's borrow: may use the queue.
            let _ = self.0.qsize();
            self.1.set(self.1.get() + 1);
        }
    }
    run(async {
        let other = Queue::new(0);
        let dropped = Rc::new(Cell::new(0));
        let q = Queue::new(0);
        for _ in 0..3 {
            q.put_nowait(Noisy(other.clone(), dropped.clone())).unwrap();
        }
        let taken = q.get().await.unwrap();
        let joiner = spawn({
            let q = q.clone();
            async move { q.join().await }
        });
        settle().await;
        q.shutdown(true);
        assert_eq!(dropped.get(), 2);
        assert!(q.is_empty());
        assert!(q.get().await.is_err());
        settle().await;
        assert!(!joiner.is_finished()); // `taken` is not done yet
        q.task_done().unwrap();
        joiner.await.unwrap();
        drop(taken);
        assert_eq!(dropped.get(), 3);
    });
}

#[test]
fn shutdown_immediate_with_a_reserved_item() {
    let q = Queue::new(0);
    let mut a = q.get();
    assert!(poll_once(&mut a).is_pending());
    q.put_nowait(1).unwrap(); // reserved for `a`
    q.shutdown(true); // ... and dropped
    assert_eq!(poll_once(&mut a), Poll::Ready(Err(QueueShutDown(()))));
    assert!(q.get_nowait().unwrap_err().is_shutdown());
}

#[test]
fn pingpong_wakes_only_the_served_task() {
    run(async {
        let (a, b) = (Queue::new(1), Queue::new(1));
        let n = if cfg!(miri) { 20 } else { 1000 };
        let pong = spawn({
            let (a, b) = (a.clone(), b.clone());
            async move {
                while let Ok(x) = a.get().await {
                    b.put(x + 1).await.unwrap();
                }
            }
        });
        let mut x = 0;
        for _ in 0..n {
            a.put(x).await.unwrap();
            x = b.get().await.unwrap();
        }
        assert_eq!(x, n);
        a.shutdown(false);
        pong.await.unwrap();
    });
}

/// Randomized cancellation: producers and consumers dropped at random
/// points; every item is received exactly once.
#[test]
fn random_cancellation_loses_nothing() {
    let ops = if cfg!(miri) { 200 } else { 5_000 };
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut rand = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let q = Queue::new(3);
    let mut puts: Vec<(u64, Put<'_, u64, Fifo>)> = Vec::new();
    let mut gets: Vec<Get<'_, u64, Fifo>> = Vec::new();
    let (mut next, mut sent, mut received) = (0_u64, RefCell::new(Vec::new()), Vec::new());
    for _ in 0..ops {
        match rand(6) {
            0 => {
                puts.push((next, q.put(next)));
                next += 1;
            }
            1 => gets.push(q.get()),
            2 if !puts.is_empty() => {
                let i = rand(puts.len() as u64) as usize;
                let (v, mut p) = puts.swap_remove(i);
                if let Poll::Ready(r) = poll_once(&mut p) {
                    r.unwrap();
                    sent.get_mut().push(v);
                } else if rand(2) == 0 {
                    drop(p); // cancelled
                } else {
                    puts.push((v, p));
                }
            }
            3 if !gets.is_empty() => {
                let i = rand(gets.len() as u64) as usize;
                let mut g = gets.swap_remove(i);
                if let Poll::Ready(r) = poll_once(&mut g) {
                    received.push(r.unwrap());
                } else if rand(2) == 0 {
                    drop(g);
                } else {
                    gets.push(g);
                }
            }
            4 => {
                if let Ok(v) = q.get_nowait() {
                    received.push(v);
                }
            }
            _ => {
                if q.put_nowait(next).is_ok() {
                    sent.get_mut().push(next);
                }
                next += 1;
            }
        }
    }
    // Finish the pending ones, then drain.
    for (v, mut p) in puts.drain(..) {
        if let Poll::Ready(r) = poll_once(&mut p) {
            r.unwrap();
            sent.get_mut().push(v);
        }
    }
    drop(gets);
    while let Ok(v) = q.get_nowait() {
        received.push(v);
    }
    let mut sent = sent.into_inner();
    sent.sort_unstable();
    received.sort_unstable();
    assert_eq!(sent, received);
    assert!(q.is_empty());
}
