//! The synchronization primitives are cheap-`Clone` handles (like the
//! queues): clones share one primitive, no `Rc` needed. Mirrors asyncio,
//! where every coroutine holding a reference to a Lock/Event shares it.

use std::time::Duration;

use anyloop::sync::{Barrier, BoundedSemaphore, Condition, Event, Lock, Semaphore};
use anyloop::{spawn, yield_now};

/// asyncio.Event shared by reference: a waiter holding a clone is woken by
/// `set()` on another clone.
#[anyloop::test]
async fn event_clones_share_the_flag() {
    let ev = Event::new();
    let waiter = spawn({
        let ev = ev.clone();
        async move { ev.wait().await }
    });
    yield_now().await;
    assert!(!waiter.is_finished());
    ev.clone().set();
    waiter.await.unwrap();
    assert!(ev.is_set());
}

/// asyncio.Lock: mutual exclusion across the tasks that share it.
#[anyloop::test]
async fn lock_clones_exclude_each_other() {
    let lock = Lock::new(0u32);
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let lock = lock.clone();
            spawn(async move {
                let mut g = lock.lock().await;
                let v = *g;
                yield_now().await;
                *g = v + 1;
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*lock.lock().await, 4);
}

/// asyncio.Semaphore / BoundedSemaphore / Condition / Barrier shared by
/// reference between tasks.
#[anyloop::test]
async fn semaphore_condition_barrier_clones() {
    let sem = Semaphore::new(1);
    let p = sem.clone().try_acquire().map(|p| p.forget());
    assert!(p.is_some());
    assert!(sem.is_locked());
    sem.clone().release();
    assert_eq!(sem.available_permits(), 1);

    let bsem = BoundedSemaphore::new(1);
    assert!(bsem.clone().release().is_err());

    let cond = Condition::new(false);
    let waiter = spawn({
        let cond = cond.clone();
        async move {
            let g = cond.lock().await;
            let g = cond.wait_for(g, |ready| *ready).await;
            *g
        }
    });
    yield_now().await;
    *cond.lock().await = true;
    cond.notify_all();
    assert!(anyloop::timeout(Duration::from_secs(60), waiter)
        .await
        .unwrap()
        .unwrap());

    let barrier = Barrier::new(2);
    let other = spawn({
        let b = barrier.clone();
        async move { b.wait().await.unwrap() }
    });
    let mine = barrier.wait().await.unwrap();
    let theirs = other.await.unwrap();
    assert_eq!(mine + theirs, 1);
}
