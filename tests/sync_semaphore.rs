//! `anyloop::sync::{Semaphore, BoundedSemaphore}`: permits, FIFO fairness,
//! cancel-safety, the bounded over-release error.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use anyloop::sync::{BoundedSemaphore, Semaphore};

async fn settle() {
    for _ in 0..8 {
        anyloop::yield_now().await;
    }
}

#[anyloop::test]
async fn semaphore_limits_concurrency() {
    let sem = Rc::new(Semaphore::new(2));
    let running = Rc::new(Cell::new(0));
    let peak = Rc::new(Cell::new(0));
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (sem, running, peak) = (sem.clone(), running.clone(), peak.clone());
            anyloop::spawn(async move {
                let _p = sem.acquire().await;
                running.set(running.get() + 1);
                peak.set(peak.get().max(running.get()));
                settle().await;
                running.set(running.get() - 1);
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(peak.get(), 2);
    assert_eq!(sem.available_permits(), 2);
}

#[anyloop::test]
async fn semaphore_waiters_are_served_in_fifo_order() {
    let sem = Rc::new(Semaphore::new(1));
    let order = Rc::new(RefCell::new(Vec::new()));
    let held = sem.acquire().await;
    let tasks: Vec<_> = (0..5)
        .map(|i| {
            let (sem, order) = (sem.clone(), order.clone());
            anyloop::spawn(async move {
                let _p = sem.acquire().await;
                order.borrow_mut().push(i);
                anyloop::yield_now().await;
            })
        })
        .collect();
    settle().await;
    assert!(sem.is_locked());
    drop(held);
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*order.borrow(), [0, 1, 2, 3, 4]);
}

#[anyloop::test]
async fn cancelled_semaphore_waiter_never_keeps_a_permit() {
    let sem = Rc::new(Semaphore::new(1));
    let got = Rc::new(RefCell::new(Vec::new()));
    let held = sem.acquire().await;
    let tasks: Vec<_> = (0..3)
        .map(|i| {
            let (sem, got) = (sem.clone(), got.clone());
            anyloop::spawn(async move {
                let _p = sem.acquire().await;
                got.borrow_mut().push(i);
            })
        })
        .collect();
    settle().await;
    drop(held); // handed to task 0
    tasks[0].cancel(); // cancelled before it runs
    tasks[1].cancel(); // cancelled while waiting
    let results: Vec<_> = {
        let mut v = Vec::new();
        for t in tasks {
            v.push(t.await.is_ok());
        }
        v
    };
    assert_eq!(results, [false, false, true]);
    assert_eq!(*got.borrow(), [2]);
    assert_eq!(sem.available_permits(), 1);
}

#[anyloop::test]
async fn semaphore_release_adds_permits() {
    let sem = Rc::new(Semaphore::new(0));
    let waiter = anyloop::spawn({
        let sem = sem.clone();
        async move { sem.acquire().await.forget() }
    });
    settle().await;
    assert!(!waiter.is_finished());
    sem.release();
    waiter.await.unwrap();
    assert_eq!(sem.available_permits(), 0);
    sem.release();
    sem.release();
    assert_eq!(sem.available_permits(), 2);
}

#[anyloop::test]
async fn bounded_semaphore_over_release_is_an_error() {
    let sem = BoundedSemaphore::new(2);
    let err = sem.release().unwrap_err();
    assert_eq!(err.to_string(), "BoundedSemaphore released too many times");
    let p = sem.acquire().await;
    p.forget();
    assert_eq!(sem.available_permits(), 1);
    sem.release().unwrap();
    assert!(sem.release().is_err());
    assert_eq!(sem.available_permits(), 2);
    {
        let _a = sem.acquire().await;
        let _b = sem.acquire().await;
        assert!(sem.is_locked());
    }
    assert_eq!(sem.available_permits(), 2);
}
