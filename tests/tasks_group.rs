//! `TaskGroup` (CPython's `test_taskgroups`): sibling cancellation, the
//! full error list, owner cancellation, closed groups.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use anyloop::task::Builder;
use anyloop::time::Instant;
use anyloop::{sleep, spawn, TaskGroup};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

#[anyloop::test]
async fn join_waits_for_every_child() {
    let group = TaskGroup::<()>::new();
    let tasks: Vec<_> = [30, 10, 20]
        .map(|d| {
            group
                .spawn(async move {
                    sleep(ms(d)).await;
                    Ok(d)
                })
                .unwrap()
        })
        .into();
    let start = Instant::now();
    group.join().await.unwrap();
    assert!(start.elapsed() >= ms(30));
    let mut values = Vec::new();
    for t in tasks {
        assert!(t.is_finished());
        values.push(t.await.unwrap());
    }
    assert_eq!(values, [30, 10, 20]);
}

#[anyloop::test]
async fn first_failure_cancels_siblings() {
    let l = log();
    let group = TaskGroup::<String>::new();
    let siblings: Vec<_> = (0..3)
        .map(|i| {
            let l = l.clone();
            group
                .spawn(async move {
                    sleep(ms(5000)).await;
                    l.borrow_mut().push(format!("sibling {i} finished"));
                    Ok(())
                })
                .unwrap()
        })
        .collect();
    group
        .spawn_with(Builder::new().name("failing"), async {
            sleep(ms(10)).await;
            Err::<(), _>("boom".to_string())
        })
        .unwrap();
    let start = Instant::now();
    let err = group.join().await.unwrap_err();
    assert!(start.elapsed() < ms(5000), "siblings were not cancelled");
    assert_eq!(err.len(), 1);
    assert_eq!(err.failures()[0].name(), Some("failing"));
    assert_eq!(err.errors().collect::<Vec<_>>(), [&"boom".to_string()]);
    assert!(err.to_string().contains("boom"));
    for s in siblings {
        assert!(s.await.unwrap_err().is_cancelled());
    }
    assert!(l.borrow().is_empty());
}

#[anyloop::test]
async fn every_failure_is_reported() {
    // A child fails; a sibling fails while being cancelled (its cleanup
    // panics, like an exception raised in a `finally:`): both are listed.
    if !anyloop::capabilities().catch_panic {
        assert!(!anyloop::capabilities().catch_panic);
        return;
    }
    struct PanicOnCancel;
    impl Drop for PanicOnCancel {
        fn drop(&mut self) {
            panic!("cleanup failed");
        }
    }
    let group = TaskGroup::<&'static str>::new();
    group
        .spawn_with(Builder::new().name("cleanup"), async {
            let _guard = PanicOnCancel;
            sleep(ms(1000)).await;
            Ok(())
        })
        .unwrap();
    group
        .spawn_with(Builder::new().name("a"), async {
            sleep(ms(10)).await;
            Err::<(), _>("a failed")
        })
        .unwrap();
    let err = group.join().await.unwrap_err();
    assert_eq!(err.len(), 2, "{err:?}");
    assert_eq!(err.failures()[0].name(), Some("a"));
    assert_eq!(err.failures()[0].error(), Some(&"a failed"));
    assert_eq!(err.failures()[1].name(), Some("cleanup"));
    assert!(err.failures()[1].is_panic());
}

#[anyloop::test]
async fn a_panicking_child_is_a_failure() {
    if !anyloop::capabilities().catch_panic {
        assert!(!anyloop::capabilities().catch_panic);
        return;
    }
    let group = TaskGroup::<()>::new();
    let other = group
        .spawn(std::future::pending::<Result<(), ()>>())
        .unwrap();
    let p = group
        .spawn(async {
            sleep(ms(5)).await;
            if true {
                panic!("child panic");
            }
            Ok(())
        })
        .unwrap();
    let err = group.join().await.unwrap_err();
    assert_eq!(err.failures()[0].panic_message(), Some("child panic"));
    assert!(p.await.unwrap_err().is_panic());
    assert!(other.await.unwrap_err().is_cancelled());
}

#[anyloop::test]
async fn cancelling_the_owner_cancels_children() {
    let l = log();
    let l2 = l.clone();
    let owner = spawn(async move {
        let group = TaskGroup::<()>::new();
        for i in 0..3 {
            let l = l2.clone();
            group
                .spawn(async move {
                    sleep(ms(5000)).await;
                    l.borrow_mut().push(format!("child {i}"));
                    Ok(())
                })
                .unwrap();
        }
        group.join().await
    });
    sleep(ms(10)).await;
    let before = anyloop::all_tasks().len();
    assert_eq!(before, 5); // main, owner, 3 children
    owner.cancel();
    assert!(owner.await.unwrap_err().is_cancelled());
    while anyloop::all_tasks().len() > 1 {
        anyloop::yield_now().await;
    }
    // Every child is gone without having finished.
    assert!(l.borrow().is_empty());
}

#[anyloop::test]
async fn dropping_the_group_cancels_children() {
    let group = TaskGroup::<()>::new();
    let t = group
        .spawn(std::future::pending::<Result<(), ()>>())
        .unwrap();
    drop(group);
    assert!(t.await.unwrap_err().is_cancelled());
}

#[anyloop::test]
async fn spawning_into_a_closed_group_is_an_error() {
    let group = TaskGroup::<()>::new();
    let handle = group.handle();
    group.join().await.unwrap();
    let err = handle.spawn(async { Ok(()) }).unwrap_err();
    assert!(err.is_finished());
    assert_eq!(err.to_string(), "the TaskGroup is finished");

    let group = TaskGroup::<()>::new();
    group.spawn(async { Err::<(), _>(()) }).unwrap();
    anyloop::yield_now().await;
    assert!(group
        .spawn(async { Ok(()) })
        .unwrap_err()
        .is_shutting_down());
    assert!(group.join().await.is_err());

    let group = TaskGroup::<()>::new();
    let handle = group.handle();
    drop(group);
    assert!(handle.spawn(async { Ok(()) }).is_err());
}

#[anyloop::test]
async fn children_can_spawn_siblings_while_the_group_joins() {
    let group = TaskGroup::<()>::new();
    let h = group.handle();
    let count = Rc::new(RefCell::new(0));
    let c = count.clone();
    group
        .spawn(async move {
            sleep(ms(10)).await;
            let c2 = c.clone();
            h.spawn(async move {
                sleep(ms(10)).await;
                *c2.borrow_mut() += 1;
                Ok(())
            })
            .unwrap();
            *c.borrow_mut() += 1;
            Ok(())
        })
        .unwrap();
    group.join().await.unwrap();
    assert_eq!(*count.borrow(), 2);
}

#[anyloop::test]
async fn cancel_closes_the_group() {
    let group = TaskGroup::<()>::new();
    let t = group
        .spawn(std::future::pending::<Result<(), ()>>())
        .unwrap();
    group.cancel();
    group.join().await.unwrap();
    assert!(t.await.unwrap_err().is_cancelled());
}

#[anyloop::test]
async fn scope_cancels_the_body_on_the_first_failure() {
    // asyncio: a failing child also cancels the body of `async with`.
    let l = log();
    let l2 = l.clone();
    let start = Instant::now();
    let res = TaskGroup::scope(|tg| async move {
        tg.spawn(async {
            sleep(ms(10)).await;
            Err::<(), _>("child failed")
        })
        .unwrap();
        sleep(ms(5000)).await;
        l2.borrow_mut().push("body finished".to_string());
    })
    .await;
    assert!(start.elapsed() < ms(5000));
    let err = res.unwrap_err();
    assert_eq!(err.errors().collect::<Vec<_>>(), [&"child failed"]);
    assert!(l.borrow().is_empty());

    let ok = TaskGroup::<()>::scope(|tg| async move {
        let a = tg.spawn(async { Ok(20) }).unwrap();
        let b = tg
            .spawn(async {
                sleep(ms(10)).await;
                Ok(22)
            })
            .unwrap();
        a.await.unwrap() + b.await.unwrap()
    })
    .await;
    assert_eq!(ok.unwrap(), 42);
}
