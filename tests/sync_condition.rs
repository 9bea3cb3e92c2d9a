//! `anyloop::sync::Condition`: wait/notify with its lock, FIFO, and no lost
//! notifications.

use std::cell::RefCell;
use std::rc::Rc;

use anyloop::sync::Condition;

async fn settle() {
    for _ in 0..8 {
        anyloop::yield_now().await;
    }
}

fn spawn_waiters(
    cond: &Rc<Condition<()>>,
    log: &Rc<RefCell<Vec<usize>>>,
    n: usize,
) -> Vec<anyloop::Task<()>> {
    (0..n)
        .map(|i| {
            let (cond, log) = (cond.clone(), log.clone());
            anyloop::spawn(async move {
                let g = cond.lock().await;
                let _g = cond.wait(g).await;
                log.borrow_mut().push(i);
            })
        })
        .collect()
}

#[anyloop::test]
async fn condition_notify_one_wakes_exactly_one() {
    let cond = Rc::new(Condition::new(()));
    let log = Rc::new(RefCell::new(Vec::new()));
    let tasks = spawn_waiters(&cond, &log, 3);
    settle().await;
    assert_eq!(cond.notify(1), 1);
    settle().await;
    assert_eq!(log.borrow().len(), 1);
    assert_eq!(cond.notify_all(), 2);
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(log.borrow().len(), 3);
}

#[anyloop::test]
async fn condition_waiters_are_notified_in_fifo_order() {
    let cond = Rc::new(Condition::new(()));
    let log = Rc::new(RefCell::new(Vec::new()));
    let tasks = spawn_waiters(&cond, &log, 4);
    settle().await;
    for _ in 0..4 {
        cond.notify(1);
        settle().await;
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*log.borrow(), [0, 1, 2, 3]);
}

#[anyloop::test]
async fn condition_wait_for_rechecks_the_predicate() {
    let cond = Rc::new(Condition::new(0));
    let waiter = anyloop::spawn({
        let cond = cond.clone();
        async move {
            let g = cond.lock().await;
            *cond.wait_for(g, |n| *n >= 3).await
        }
    });
    for _ in 0..3 {
        settle().await;
        assert!(!waiter.is_finished());
        *cond.lock().await += 1;
        cond.notify_all();
    }
    assert_eq!(waiter.await.unwrap(), 3);
}

#[anyloop::test]
async fn condition_wait_releases_and_retakes_the_lock() {
    let cond = Rc::new(Condition::new(()));
    let waiter = anyloop::spawn({
        let cond = cond.clone();
        async move {
            let g = cond.lock().await;
            let g = cond.wait(g).await;
            drop(g);
        }
    });
    settle().await;
    assert!(!cond.is_locked(), "released while waiting");
    let g = cond.lock().await;
    cond.notify(1);
    settle().await;
    assert!(!waiter.is_finished(), "must retake the lock first");
    drop(g);
    waiter.await.unwrap();
}

#[anyloop::test]
async fn condition_notification_of_a_cancelled_waiter_is_not_lost() {
    let cond = Rc::new(Condition::new(()));
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut tasks = spawn_waiters(&cond, &log, 2);
    settle().await;
    assert_eq!(cond.notify(1), 1); // meant for task 0 ...
    tasks[0].cancel(); // ... cancelled before it runs: task 1 gets it
    let second = tasks.pop().unwrap();
    let first = tasks.pop().unwrap();
    assert!(first.await.unwrap_err().is_cancelled());
    second.await.unwrap();
    assert_eq!(*log.borrow(), [1]);
}
