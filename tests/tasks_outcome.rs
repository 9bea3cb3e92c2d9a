//! A task's outcome without consuming its handle (`done`, `cancelled`,
//! `result`, `exception`, InvalidStateError), a task awaited by several
//! tasks and again after it finished, done callbacks on tasks and
//! promises. Each test names the CPython behaviour it mirrors.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use anyloop::future::Promise;
use anyloop::time::Instant;
use anyloop::{shield, sleep, spawn, yield_now};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// asyncio `Task.result()` / `exception()`: InvalidStateError while
/// pending; then the value (or the exception) as often as asked.
#[anyloop::test]
async fn result_and_exception_without_consuming_the_handle() {
    let mut t = spawn(async {
        sleep(ms(5)).await;
        "value"
    });
    let err = t.outcome().unwrap_err();
    assert!(err.is_pending());
    assert!(t.exception().is_err());
    assert!(!t.is_finished() && !t.is_cancelled());
    // Wait for the end (not a fixed sleep: the task's 5 ms start when it is
    // first polled, after this task's own sleep began).
    let start = Instant::now();
    while !t.is_finished() && start.elapsed() < Duration::from_secs(30) {
        sleep(ms(5)).await;
    }
    assert!(t.is_finished());
    assert_eq!(t.outcome().unwrap().as_ref().ok(), Some(&"value"));
    assert_eq!(t.outcome().unwrap().as_ref().ok(), Some(&"value"));
    assert!(t.exception().unwrap().is_none());
    assert_eq!(t.await.unwrap(), "value");
}

/// asyncio `Task.cancelled()` is True and `exception()` reports the
/// cancellation once a cancelled task is done.
#[anyloop::test]
async fn cancelled_task_reports_cancelled() {
    let mut t = spawn(sleep(Duration::from_secs(3600)));
    t.cancel_with("bye");
    assert!(!t.is_cancelled(), "requested, not done yet");
    yield_now().await;
    assert!(t.is_cancelled());
    let e = t.exception().unwrap().unwrap();
    assert!(e.is_cancelled());
    assert_eq!(e.cancel_message(), Some("bye"));
}

/// asyncio: several coroutines `await` the same task, and a finished task
/// can be awaited again (`r = await t; await shield(t)`).
#[anyloop::test]
async fn a_task_awaited_by_many_and_again() {
    let t = spawn(async {
        sleep(ms(5)).await;
        String::from("shared")
    })
    .shared();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let t = t.clone();
            spawn(async move { t.await.unwrap() })
        })
        .collect();
    for w in waiters {
        assert_eq!(w.await.unwrap(), "shared");
    }
    let r = t.clone().await.unwrap();
    let again = shield(t.clone()).await.unwrap().unwrap();
    assert_eq!((r.as_str(), again.as_str()), ("shared", "shared"));
    assert!(t.is_finished() && !t.is_cancelled());
    assert_eq!(t.outcome().unwrap().unwrap(), "shared");
}

/// asyncio: a cancelled task raises CancelledError to every awaiter; a
/// task that raised gives the same exception to every awaiter.
#[anyloop::test]
async fn shared_task_errors_reach_every_awaiter() {
    let t = spawn(sleep(Duration::from_secs(3600))).shared();
    let a = spawn({
        let t = t.clone();
        async move { t.await.unwrap_err().is_cancelled() }
    });
    yield_now().await;
    assert!(t.cancel());
    assert!(a.await.unwrap());
    assert!(t.clone().await.unwrap_err().is_cancelled());
    assert!(t.is_cancelled());

    if anyloop::capabilities().catch_panic {
        let p = spawn(async {
            yield_now().await;
            if true {
                panic!("boom");
            }
        })
        .shared();
        let e1 = p.clone().await.unwrap_err();
        let e2 = p.clone().await.unwrap_err();
        assert_eq!(e1.panic_message(), Some("boom"));
        assert_eq!(e2.panic_message(), Some("boom"));
    }
}

/// asyncio `Task.add_done_callback`: callbacks run after the task is done,
/// in registration order, with the task; `remove_done_callback` removes
/// one; a callback added to a done task is scheduled at once.
#[anyloop::test]
async fn task_done_callbacks() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let t = spawn(async {
        sleep(ms(5)).await;
        1
    });
    let id = t.id();
    for name in ["first", "removed", "second"] {
        let l = log.clone();
        let cb = t.add_done_callback(move |task| {
            assert_eq!(task.id(), id);
            l.borrow_mut().push(format!("{name}: {:?}", task.state()));
        });
        if name == "removed" {
            assert!(t.remove_done_callback(cb));
        }
    }
    assert!(log.borrow().is_empty());
    let r = t.task_ref();
    assert_eq!(t.await.unwrap(), 1);
    yield_now().await;
    assert_eq!(*log.borrow(), ["first: Done", "second: Done"]);
    let l = log.clone();
    r.add_done_callback(move |_| l.borrow_mut().push("late".into()));
    yield_now().await;
    assert_eq!(log.borrow().last().map(String::as_str), Some("late"));
}

/// asyncio: done callbacks also run when the task is cancelled.
#[anyloop::test]
async fn done_callbacks_run_for_a_cancelled_task() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let t = spawn(sleep(Duration::from_secs(3600)));
    let l = log.clone();
    t.add_done_callback(move |task| l.borrow_mut().push(task.is_cancelled()));
    t.cancel();
    assert!(t.await.unwrap_err().is_cancelled());
    yield_now().await;
    assert_eq!(*log.borrow(), [true]);
}

/// asyncio `Future.add_done_callback` / `remove_done_callback` on a
/// loop-created future (`anyloop::future::Promise`), set or cancelled.
#[anyloop::test]
async fn promise_done_callbacks() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let p = Promise::new();
    let l = log.clone();
    p.add_done_callback(move |p: &Promise<u32>| l.borrow_mut().push(format!("{:?}", p.result())));
    let l = log.clone();
    let gone = p.add_done_callback(move |_| l.borrow_mut().push("removed".into()));
    assert!(p.remove_done_callback(gone));
    p.set(3).unwrap();
    assert!(log.borrow().is_empty(), "scheduled, not run inline");
    yield_now().await;
    assert_eq!(*log.borrow(), ["Some(Ok(3))"]);

    let c = Promise::<u32>::new();
    let l = log.clone();
    c.add_done_callback(move |c| {
        l.borrow_mut()
            .push(format!("cancelled: {}", c.is_cancelled()))
    });
    c.cancel();
    yield_now().await;
    assert_eq!(
        log.borrow().last().map(String::as_str),
        Some("cancelled: true")
    );
}

/// A task's error is `Send + Sync + 'static`, like tokio's `JoinError`, so
/// `?` turns it into `Box<dyn Error + Send + Sync>` (and `anyhow::Error`):
/// a cancel and a panic keep their messages on the way.
#[anyloop::test]
async fn task_errors_convert_into_send_sync_boxed_errors() {
    async fn join(t: anyloop::Task<()>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        t.await?;
        Ok(())
    }
    let t = spawn(std::future::pending::<()>());
    t.cancel_with("shutting down");
    let e = join(t).await.unwrap_err();
    assert_eq!(e.to_string(), "task was cancelled: shutting down");
    let e = e.downcast::<anyloop::TaskError>().unwrap();
    assert_eq!(e.cancel_message(), Some("shutting down"));

    if anyloop::capabilities().catch_panic {
        let t = spawn(async {
            yield_now().await;
            if true {
                panic!("boom");
            }
        });
        let e = join(t).await.unwrap_err();
        assert_eq!(e.to_string(), "task panicked: boom");
        // Shared between threads by reference where the host has threads.
        let e: std::sync::Arc<anyloop::TaskError> = std::sync::Arc::new(*e.downcast().unwrap());
        assert_eq!(e.panic_message(), Some("boom"));
        #[cfg(not(target_family = "wasm"))]
        {
            let e2 = e.clone();
            let msg = std::thread::spawn(move || e2.panic_message().map(str::to_string))
                .join()
                .unwrap();
            assert_eq!(msg.as_deref(), Some("boom"));
        }
    }
}
