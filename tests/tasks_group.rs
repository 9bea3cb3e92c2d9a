//! `TaskGroup` (CPython's `test_taskgroups`): sibling cancellation, the
//! full error list, owner cancellation, closed groups.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use anyloop::task::Builder;
use anyloop::time::Instant;
use anyloop::{catch_cancel, sleep, spawn, GroupError, GroupTaskError, TaskGroup};

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
    let mut p = group
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
    // CPython: the task's exception() is what its coroutine raised.
    let own = p.exception().unwrap().unwrap();
    assert!(own.is_panic() && !own.is_failed());
    assert_eq!(own.panic_message(), Some("child panic"));
    assert!(own.error().is_none());
    let payload = p.await.unwrap_err().try_into_panic().unwrap();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"child panic"));
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

#[anyloop::test]
async fn a_childs_handle_yields_its_own_error() {
    // CPython: `t = tg.create_task(fail())`; after the group raised,
    // `t.exception()` is the child's exception, the very object in the
    // ExceptionGroup's `exceptions`; `t.result()` raises it; a sibling
    // cancelled by the failure is `cancelled()`; `t.exception()` on a task
    // still pending raises InvalidStateError.
    let group = TaskGroup::<String>::new();
    let mut ok = group.spawn(async { Ok(7) }).unwrap();
    let mut sibling = group
        .spawn(async {
            sleep(ms(5000)).await;
            Ok(0)
        })
        .unwrap();
    let mut failing = group
        .spawn_with(Builder::new().name("failing"), async {
            sleep(ms(10)).await;
            Err::<i32, _>("boom".to_string())
        })
        .unwrap();
    assert!(failing.outcome().unwrap_err().is_pending());
    assert!(failing.exception().unwrap_err().is_pending());

    let err = group.join().await.unwrap_err();
    assert_eq!(err.len(), 1);

    let own = failing.exception().unwrap().expect("the child failed");
    assert!(own.is_failed() && !own.is_cancelled() && !own.is_panic());
    assert_eq!(own.error().map(String::as_str), Some("boom"));
    assert_eq!(own.to_string(), "task failed: boom");
    assert!(own.task_error().is_none());
    // One error, two views: the same object, not a copy.
    assert!(std::ptr::eq(
        own.error().unwrap(),
        err.failures()[0].error().unwrap()
    ));
    assert_eq!(err.failures()[0].task_id(), failing.id());
    assert!(!failing.is_cancelled());

    // Reading it does not consume it: `await t` then raises it too.
    let awaited = failing.await.unwrap_err();
    assert!(std::ptr::eq(
        awaited.error().unwrap(),
        err.errors().next().unwrap()
    ));

    assert!(sibling.is_cancelled());
    let cancelled = sibling.exception().unwrap().unwrap();
    assert!(cancelled.is_cancelled() && !cancelled.is_failed());
    assert!(cancelled.error().is_none());
    assert!(cancelled.cancel_message().unwrap().contains("sibling"));

    assert_eq!(ok.outcome().unwrap().as_ref().ok(), Some(&7));
    assert!(ok.exception().unwrap().is_none());
    assert_eq!(ok.await.unwrap(), 7);
}

#[anyloop::test]
async fn the_output_is_taken_once_by_await() {
    // CPython returns the exception again on every `t.exception()`; a
    // Rust handle gives its output away when awaited, after which
    // reading it is an InvalidState error (taken), as for any `Task`.
    let group = TaskGroup::<&'static str>::new();
    let mut t = group.spawn(async { Err::<(), _>("x") }).unwrap();
    assert!(group.join().await.is_err());
    assert!(t.is_finished());
    assert_eq!(
        t.outcome().unwrap().as_ref().unwrap_err().error(),
        Some(&"x")
    );
    // Awaiting by `&mut` keeps the handle to look at afterwards.
    let e = (&mut t).await.unwrap_err();
    assert_eq!(e.error(), Some(&"x"));
    assert!(t.outcome().unwrap_err().is_taken());
    assert!(t.exception().unwrap_err().is_taken());
}

#[anyloop::test]
async fn errors_raised_while_being_cancelled_reach_both_views() {
    // CPython: a sibling that catches the CancelledError and raises
    // another exception from its cleanup is in the ExceptionGroup too,
    // and its own task's exception() is that exception.
    let group = TaskGroup::<String>::new();
    let mut cleanup = group
        .spawn_with(Builder::new().name("cleanup"), async {
            match catch_cancel(sleep(ms(5000))).await {
                Ok(()) => Ok(()),
                Err(_cancelled) => {
                    sleep(ms(1)).await; // async cleanup, then it fails
                    Err("cleanup failed".to_string())
                }
            }
        })
        .unwrap();
    let mut first = group
        .spawn_with(Builder::new().name("first"), async {
            sleep(ms(10)).await;
            Err::<(), _>("first failed".to_string())
        })
        .unwrap();
    let err = group.join().await.unwrap_err();
    let listed: Vec<_> = err.failures().iter().map(|f| f.name()).collect();
    assert_eq!(listed, [Some("first"), Some("cleanup")]);
    for (handle_err, failure) in [
        (
            first.exception().unwrap().unwrap().clone(),
            &err.failures()[0],
        ),
        (
            cleanup.exception().unwrap().unwrap().clone(),
            &err.failures()[1],
        ),
    ] {
        assert!(handle_err.is_failed());
        assert!(std::ptr::eq(
            handle_err.error().unwrap(),
            failure.error().unwrap()
        ));
    }
    assert_eq!(
        cleanup.await.unwrap_err().error().map(String::as_str),
        Some("cleanup failed")
    );
}

#[anyloop::test]
async fn the_error_is_shared_not_copied() {
    // An error type that is not Clone (std::io::Error) is shared by the
    // child's handle and the group (asyncio: one exception object); once
    // one side is gone, the other owns it and can take it by value.
    let group = TaskGroup::<std::io::Error>::new();
    let t = group
        .spawn(async { Err::<(), _>(std::io::Error::other("disk full")) })
        .unwrap();
    let err = group.join().await.unwrap_err();
    let own = t.await.unwrap_err().into_error().unwrap();
    let listed = err.into_failures().remove(0).into_error().unwrap();
    assert!(Arc::ptr_eq(&own, &listed));
    drop(listed);
    let owned: std::io::Error = Arc::try_unwrap(own).unwrap();
    assert_eq!(owned.to_string(), "disk full");

    // A handle dropped before the failure: the group is the only owner.
    let group = TaskGroup::<std::io::Error>::new();
    drop(
        group
            .spawn(async { Err::<(), _>(std::io::Error::other("gone")) })
            .unwrap(),
    );
    let err = group.join().await.unwrap_err();
    let e = err.into_failures().remove(0).into_error().unwrap();
    assert_eq!(Arc::try_unwrap(e).unwrap().to_string(), "gone");
}

#[anyloop::test]
async fn both_errors_go_through_question_mark_into_boxed_errors() {
    // Python code lets the ExceptionGroup or the task's exception
    // propagate; in Rust both fit `?` into the usual boxed errors. The
    // group's error is Send + Sync (the reason the shared error is an Arc,
    // not an Rc); a handle's error is Send, as `TaskError` (a panic
    // payload is `Send` only).
    fn assert_send_sync<T: Send + Sync + 'static>(_: &T) {}
    fn assert_send<T: Send + 'static>(_: &T) {}

    async fn via_group() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let group = TaskGroup::<std::io::Error>::new();
        group
            .spawn(async { Err::<(), _>(std::io::Error::other("a")) })
            .unwrap();
        let joined: Result<(), GroupError<std::io::Error>> = group.join().await;
        if let Err(e) = &joined {
            assert_send_sync(e);
        }
        joined?;
        Ok(())
    }
    async fn via_handle() -> Result<u8, Box<dyn std::error::Error>> {
        let group = TaskGroup::<std::io::Error>::new();
        let t = group
            .spawn(async { Err::<u8, _>(std::io::Error::other("b")) })
            .unwrap();
        let _ = group.join().await;
        let out: Result<u8, GroupTaskError<std::io::Error>> = t.await;
        if let Err(e) = &out {
            assert_send(e);
        }
        Ok(out?)
    }
    let e = via_group().await.unwrap_err();
    assert!(e.to_string().contains("failed: a"), "{e}");
    let e = via_handle().await.unwrap_err();
    assert_eq!(e.to_string(), "task failed: b");
}
