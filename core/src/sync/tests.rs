use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::*;
use crate::testing::MockHost;
use crate::{spawn, yield_now, EventLoop};

fn run<F: Future>(fut: F) -> F::Output {
    EventLoop::new(MockHost::new()).block_on(fut)
}

/// Lets every ready task run a few times.
async fn settle() {
    for _ in 0..8 {
        yield_now().await;
    }
}

fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    std::pin::Pin::new(f).poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn lock_waiters_are_served_fifo() {
    run(async {
        let lock = Rc::new(Lock::new(Vec::new()));
        let g = lock.lock().await;
        let tasks: Vec<_> = (0..5)
            .map(|i| {
                let lock = lock.clone();
                spawn(async move { lock.lock().await.push(i) })
            })
            .collect();
        settle().await;
        drop(g);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*lock.lock().await, [0, 1, 2, 3, 4]);
    });
}

#[test]
fn lock_release_hands_off_no_barging() {
    let lock = Lock::new(());
    let g = lock.try_lock().unwrap();
    let mut waiter = lock.lock();
    assert!(poll_once(&mut waiter).is_pending());
    drop(g);
    // Reserved for the waiter: a newcomer cannot take it.
    assert!(lock.is_locked());
    assert!(lock.try_lock().is_none());
    let g = match poll_once(&mut waiter) {
        Poll::Ready(g) => g,
        Poll::Pending => panic!("waiter not served"),
    };
    drop(g);
    assert!(!lock.is_locked());
}

#[test]
fn lock_dropped_waiter_passes_the_lock_on() {
    let lock = Lock::new(0);
    let g = lock.try_lock().unwrap();
    let mut a = lock.lock();
    let mut b = lock.lock();
    let mut c = lock.lock();
    assert!(poll_once(&mut a).is_pending());
    assert!(poll_once(&mut b).is_pending());
    assert!(poll_once(&mut c).is_pending());
    drop(b); // waiting: just leaves
    drop(g); // handed to `a`
    drop(a); // served but dropped: passes to `c`
    assert!(lock.is_locked());
    let Poll::Ready(mut g) = poll_once(&mut c) else {
        panic!("c not served")
    };
    *g += 1;
    drop(g);
    drop(c);
    assert!(!lock.is_locked());
    assert_eq!(lock.into_inner().ok(), Some(1));
}

#[test]
fn lock_cancelled_task_after_hand_off() {
    run(async {
        let lock = Rc::new(Lock::new(()));
        let order = Rc::new(RefCell::new(Vec::new()));
        let g = lock.lock().await;
        let mk = |name: &'static str| {
            let (lock, order) = (lock.clone(), order.clone());
            spawn(async move {
                let _g = lock.lock().await;
                order.borrow_mut().push(name);
            })
        };
        let b = mk("b");
        let c = mk("c");
        settle().await;
        drop(g); // handed to b, which has not run yet
        b.cancel();
        assert!(b.await.unwrap_err().is_cancelled());
        c.await.unwrap();
        assert_eq!(*order.borrow(), ["c"]);
        assert!(!lock.is_locked());
    });
}

#[test]
fn event_set_wakes_all_and_clear_blocks_again() {
    run(async {
        let ev = Rc::new(Event::new());
        let woken = Rc::new(Cell::new(0));
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let (ev, woken) = (ev.clone(), woken.clone());
                spawn(async move {
                    ev.wait().await;
                    woken.set(woken.get() + 1);
                })
            })
            .collect();
        settle().await;
        assert_eq!(woken.get(), 0);
        ev.set();
        ev.clear(); // woken waiters still return
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(woken.get(), 3);
        let mut w = ev.wait();
        assert!(poll_once(&mut w).is_pending());
        drop(w);
        ev.set();
        ev.wait().await;
    });
}

#[test]
fn condition_notify_one_wakes_exactly_one_in_fifo_order() {
    run(async {
        let cond = Rc::new(Condition::new(()));
        let order = Rc::new(RefCell::new(Vec::new()));
        let tasks: Vec<_> = (0..3)
            .map(|i| {
                let (cond, order) = (cond.clone(), order.clone());
                spawn(async move {
                    let g = cond.lock().await;
                    let _g = cond.wait(g).await;
                    order.borrow_mut().push(i);
                })
            })
            .collect();
        settle().await;
        assert_eq!(cond.notify(1), 1);
        settle().await;
        assert_eq!(*order.borrow(), [0]);
        assert_eq!(cond.notify(1), 1);
        settle().await;
        assert_eq!(*order.borrow(), [0, 1]);
        assert_eq!(cond.notify_all(), 1);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.borrow(), [0, 1, 2]);
    });
}

#[test]
fn condition_dropped_notified_waiter_passes_notification_on() {
    run(async {
        let cond = Condition::new(());
        let g = cond.lock().await;
        let mut a = cond.wait(g);
        assert!(poll_once(&mut a).is_pending());
        let g = cond.lock().await;
        let mut b = cond.wait(g);
        assert!(poll_once(&mut b).is_pending());
        assert_eq!(cond.notify(1), 1); // for a
        drop(a); // a never returns: b gets the notification
        assert!(poll_once(&mut b).is_ready());
    });
}

#[test]
fn condition_wait_reacquires_the_lock() {
    run(async {
        let cond = Rc::new(Condition::new(0));
        let g = cond.lock().await;
        let waiter = spawn({
            let cond = cond.clone();
            async move {
                let g = cond.lock().await;
                let g = cond.wait_for(g, |v| *v >= 2).await;
                *g
            }
        });
        settle().await;
        drop(g);
        settle().await;
        // The waiter released the lock while waiting.
        let mut g = cond.lock().await;
        *g = 1;
        cond.notify_all();
        settle().await; // wakes, finds the lock held: waits for it
        assert!(!waiter.is_finished());
        *g = 2;
        drop(g);
        settle().await; // predicate false at 1? it saw 2 after relocking
        assert_eq!(waiter.await.unwrap(), 2);
    });
}

#[test]
fn semaphore_fifo_and_cancel_safety() {
    run(async {
        let sem = Rc::new(Semaphore::new(1));
        let order = Rc::new(RefCell::new(Vec::new()));
        let p = sem.acquire().await;
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let (sem, order) = (sem.clone(), order.clone());
                spawn(async move {
                    let _p = sem.acquire().await;
                    order.borrow_mut().push(i);
                    yield_now().await;
                })
            })
            .collect();
        settle().await;
        assert!(sem.try_acquire().is_none());
        drop(p); // handed to task 0
        tasks[0].cancel(); // its permit passes to task 1
        tasks[2].cancel(); // waiting: leaves the queue
        for (i, t) in tasks.into_iter().enumerate() {
            let r = t.await;
            assert_eq!(r.is_err(), i == 0 || i == 2);
        }
        assert_eq!(*order.borrow(), [1, 3]);
        assert_eq!(sem.available_permits(), 1);
    });
}

#[test]
fn semaphore_release_wakes_waiter() {
    let sem = Semaphore::new(0);
    let mut a = sem.acquire();
    assert!(poll_once(&mut a).is_pending());
    sem.release();
    assert_eq!(sem.available_permits(), 0);
    let Poll::Ready(p) = poll_once(&mut a) else {
        panic!("not served")
    };
    p.forget();
    assert!(sem.is_locked());
    sem.release();
    sem.release();
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn bounded_semaphore_over_release_is_an_error() {
    let sem = BoundedSemaphore::new(2);
    assert!(sem.release().is_err());
    let p = sem.try_acquire().unwrap();
    assert_eq!(sem.available_permits(), 1);
    drop(p);
    assert_eq!(sem.available_permits(), 2);
    sem.try_acquire().unwrap().forget();
    assert!(sem.release().is_ok());
    assert!(sem.release().is_err());
    // A permit dropped after an extra release does not exceed the bound.
    let p = sem.try_acquire().unwrap();
    sem.release().unwrap();
    drop(p);
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn barrier_indices_over_two_rounds() {
    run(async {
        let b = Rc::new(Barrier::new(3));
        for _round in 0..2 {
            let tasks: Vec<_> = (0..3)
                .map(|_| {
                    let b = b.clone();
                    spawn(async move { b.wait().await })
                })
                .collect();
            let mut got = Vec::new();
            for t in tasks {
                got.push(t.await.unwrap().unwrap());
            }
            assert_eq!(got, [0, 1, 2]);
            assert_eq!(b.n_waiting(), 0);
        }
    });
}

#[test]
fn barrier_abort_reset_and_cancelled_party() {
    run(async {
        let b = Rc::new(Barrier::new(2));
        let mut w = b.wait();
        assert!(poll_once(&mut w).is_pending());
        assert_eq!(b.n_waiting(), 1);
        drop(w); // leaves: no longer counts
        assert_eq!(b.n_waiting(), 0);
        let t = spawn({
            let b = b.clone();
            async move { b.wait().await }
        });
        settle().await;
        b.abort();
        assert!(t.await.unwrap().is_err());
        assert!(b.is_broken());
        assert!(b.wait().await.is_err());
        b.reset();
        let t = spawn({
            let b = b.clone();
            async move { b.wait().await }
        });
        settle().await;
        assert_eq!(b.wait().await, Ok(1));
        assert_eq!(t.await.unwrap(), Ok(0));
    });
}

#[test]
fn pinned_futures_are_unpin_and_debug() {
    fn assert_unpin<T: Unpin + std::fmt::Debug>(_: &T) {}
    let lock = Lock::new(());
    let sem = Semaphore::new(1);
    let ev = Event::new();
    let b = Barrier::new(1);
    assert_unpin(&lock.lock());
    assert_unpin(&sem.acquire());
    assert_unpin(&ev.wait());
    assert_unpin(&b.wait());
    let mut f = pin!(async { 1 });
    assert_eq!(
        f.as_mut().poll(&mut Context::from_waker(Waker::noop())),
        Poll::Ready(1)
    );
}
