//! `anyloop::sync::Lock`: mutual exclusion, FIFO fairness, cancel-safety.

use std::cell::RefCell;
use std::rc::Rc;

use anyloop::sync::Lock;

async fn settle() {
    for _ in 0..8 {
        anyloop::yield_now().await;
    }
}

#[anyloop::test]
async fn lock_excludes_across_await_points() {
    let lock = Rc::new(Lock::new(0_u32));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let lock = lock.clone();
            anyloop::spawn(async move {
                let mut g = lock.lock().await;
                let read = *g;
                anyloop::yield_now().await;
                *g = read + 1;
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*lock.lock().await, 10);
}

#[anyloop::test]
async fn lock_waiters_are_served_in_fifo_order() {
    let lock = Rc::new(Lock::new(Vec::new()));
    let held = lock.lock().await;
    let tasks: Vec<_> = (0..5)
        .map(|i| {
            let lock = lock.clone();
            anyloop::spawn(async move { lock.lock().await.push(i) })
        })
        .collect();
    settle().await;
    drop(held);
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*lock.lock().await, [0, 1, 2, 3, 4]);
}

#[anyloop::test]
async fn lock_release_cannot_be_stolen_by_a_latecomer() {
    let lock = Rc::new(Lock::new(()));
    let held = lock.lock().await;
    let waiter = anyloop::spawn({
        let lock = lock.clone();
        async move {
            let _g = lock.lock().await;
        }
    });
    settle().await;
    drop(held);
    assert!(lock.is_locked(), "handed to the waiter");
    assert!(lock.try_lock().is_none());
    waiter.await.unwrap();
    assert!(!lock.is_locked());
}

#[anyloop::test]
async fn cancelled_lock_waiter_never_takes_the_lock() {
    let lock = Rc::new(Lock::new(()));
    let order = Rc::new(RefCell::new(Vec::new()));
    let held = lock.lock().await;
    let spawn_waiter = |name: &'static str| {
        let (lock, order) = (lock.clone(), order.clone());
        anyloop::spawn(async move {
            let _g = lock.lock().await;
            order.borrow_mut().push(name);
        })
    };
    let a = spawn_waiter("a");
    let b = spawn_waiter("b");
    let c = spawn_waiter("c");
    settle().await;
    b.cancel(); // waiting: leaves the queue
    drop(held); // handed to a ...
    a.cancel(); // ... which is cancelled before it runs: c gets it
    assert!(a.await.unwrap_err().is_cancelled());
    assert!(b.await.unwrap_err().is_cancelled());
    c.await.unwrap();
    assert_eq!(*order.borrow(), ["c"]);
    assert!(!lock.is_locked());
}

#[anyloop::test]
async fn lock_with_timeout_gives_up_cleanly() {
    use std::time::Duration;
    let lock = Rc::new(Lock::new(()));
    let held = lock.lock().await;
    let res = anyloop::timeout(Duration::from_millis(5), lock.lock()).await;
    assert!(res.is_err());
    drop(held);
    assert!(!lock.is_locked());
    let _g = lock.lock().await;
}
