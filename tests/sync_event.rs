//! `anyloop::sync::Event`: set wakes every waiter, clear re-arms.

use std::cell::Cell;
use std::rc::Rc;

use anyloop::sync::Event;

async fn settle() {
    for _ in 0..8 {
        anyloop::yield_now().await;
    }
}

#[anyloop::test]
async fn event_set_wakes_every_waiter() {
    let ev = Rc::new(Event::new());
    let woken = Rc::new(Cell::new(0));
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (ev, woken) = (ev.clone(), woken.clone());
            anyloop::spawn(async move {
                ev.wait().await;
                woken.set(woken.get() + 1);
            })
        })
        .collect();
    settle().await;
    assert_eq!(woken.get(), 0);
    ev.set();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(woken.get(), 4);
}

#[anyloop::test]
async fn event_wait_returns_at_once_when_set_and_blocks_after_clear() {
    let ev = Rc::new(Event::new());
    ev.set();
    assert!(ev.is_set());
    ev.wait().await;
    ev.clear();
    assert!(!ev.is_set());
    let waiter = anyloop::spawn({
        let ev = ev.clone();
        async move { ev.wait().await }
    });
    settle().await;
    assert!(!waiter.is_finished());
    ev.set();
    waiter.await.unwrap();
}

#[anyloop::test]
async fn event_waiter_woken_by_set_returns_even_if_cleared() {
    let ev = Rc::new(Event::new());
    let waiter = anyloop::spawn({
        let ev = ev.clone();
        async move { ev.wait().await }
    });
    settle().await;
    ev.set();
    ev.clear();
    waiter.await.unwrap();
}

#[anyloop::test]
async fn cancelled_event_waiter_does_not_disturb_others() {
    let ev = Rc::new(Event::new());
    let spawn_waiter = || {
        let ev = ev.clone();
        anyloop::spawn(async move { ev.wait().await })
    };
    let a = spawn_waiter();
    let b = spawn_waiter();
    settle().await;
    a.cancel();
    assert!(a.await.unwrap_err().is_cancelled());
    ev.set();
    b.await.unwrap();
}
