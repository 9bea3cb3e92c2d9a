//! Task behaviour: start order, results, cancellation, panics, detaching.

use std::cell::RefCell;
use std::rc::Rc;

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

fn push(log: &Log, s: impl Into<String>) {
    log.borrow_mut().push(s.into());
}

#[anyloop::test]
async fn spawned_tasks_start_in_fifo_order() {
    let l = log();
    let tasks: Vec<_> = (0..5)
        .map(|i| {
            let l = l.clone();
            anyloop::spawn(async move { push(&l, format!("t{i}")) })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*l.borrow(), ["t0", "t1", "t2", "t3", "t4"]);
}

#[anyloop::test]
async fn spawned_task_does_not_run_before_creator_awaits() {
    let l = log();
    let l2 = l.clone();
    let t = anyloop::spawn(async move { push(&l2, "child") });
    push(&l, "parent before await");
    assert!(!t.is_finished());
    t.await.unwrap();
    assert_eq!(*l.borrow(), ["parent before await", "child"]);
}

#[anyloop::test]
async fn result_comes_through_task() {
    let t = anyloop::spawn(async {
        anyloop::yield_now().await;
        String::from("value")
    });
    assert_eq!(t.await.unwrap(), "value");
}

struct DropFlag(Rc<RefCell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        *self.0.borrow_mut() = true;
    }
}

#[anyloop::test]
async fn cancel_gives_cancelled_and_runs_destructors() {
    let dropped = Rc::new(RefCell::new(false));
    let flag = DropFlag(dropped.clone());
    let t = anyloop::spawn(async move {
        let _flag = flag;
        anyloop::sleep(std::time::Duration::from_secs(3600)).await;
        "never"
    });
    anyloop::yield_now().await; // let it start and suspend
    assert!(!*dropped.borrow());
    assert!(t.cancel());
    let err = t.await.unwrap_err();
    assert!(err.is_cancelled());
    assert!(*dropped.borrow(), "the cancelled task's destructors ran");
}

#[anyloop::test]
async fn cancel_before_first_poll_never_runs_body() {
    let l = log();
    let l2 = l.clone();
    let t = anyloop::spawn(async move { push(&l2, "ran") });
    assert!(t.cancel());
    assert!(t.await.unwrap_err().is_cancelled());
    assert!(l.borrow().is_empty());
}

#[anyloop::test]
async fn cancel_after_finish_returns_false() {
    let t = anyloop::spawn(async { 1 });
    anyloop::yield_now().await;
    assert!(t.is_finished());
    assert!(!t.cancel());
    assert_eq!(t.await.unwrap(), 1);
}

#[anyloop::test]
async fn cancel_message_reaches_awaiter() {
    let t = anyloop::spawn(std::future::pending::<()>());
    t.cancel_with("shutting down");
    let err = t.await.unwrap_err();
    assert_eq!(err.cancel_message(), Some("shutting down"));
}

#[anyloop::test]
async fn panicking_task_leaves_loop_and_siblings_working() {
    if !anyloop::capabilities().catch_panic {
        // wasm32 builds with panic=abort: a panic would abort the instance.
        // The host says so instead of pretending to isolate it.
        assert_ne!(anyloop::capabilities().host, "native");
        return;
    }
    let sibling = anyloop::spawn(async {
        anyloop::yield_now().await;
        anyloop::yield_now().await;
        "sibling done"
    });
    let bad = anyloop::spawn(async {
        anyloop::yield_now().await;
        panic!("boom");
    });
    let err = bad.await.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.panic_message(), Some("boom"));
    assert_eq!(sibling.await.unwrap(), "sibling done");
    // The loop still works.
    assert_eq!(anyloop::spawn(async { 5 }).await.unwrap(), 5);
}

#[anyloop::test]
async fn dropped_task_keeps_running() {
    let l = log();
    let l2 = l.clone();
    drop(anyloop::spawn(async move {
        anyloop::yield_now().await;
        push(&l2, "detached finished");
    }));
    for _ in 0..3 {
        anyloop::yield_now().await;
    }
    assert_eq!(*l.borrow(), ["detached finished"]);
}

#[anyloop::test]
async fn yield_now_round_robin_of_three_tasks() {
    let l = log();
    let tasks: Vec<_> = ["a", "b", "c"]
        .into_iter()
        .map(|name| {
            let l = l.clone();
            anyloop::spawn(async move {
                for i in 0..3 {
                    push(&l, format!("{name}{i}"));
                    anyloop::yield_now().await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        *l.borrow(),
        ["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"]
    );
}

#[anyloop::test]
async fn names_ids_and_current_task() {
    let t = anyloop::task::Builder::new().name("worker").spawn(async {
        let me = anyloop::current_task().expect("inside a task");
        (me.name().map(String::from), me.id())
    });
    let id = t.id();
    assert_eq!(t.name(), Some("worker"));
    let (name, seen_id) = t.await.unwrap();
    assert_eq!(name.as_deref(), Some("worker"));
    assert_eq!(seen_id, id);
    let main = anyloop::current_task().expect("the test body runs as a task");
    assert_ne!(main.id(), id);
}

#[anyloop::test]
async fn all_tasks_lists_live_tasks() {
    let main = anyloop::current_task().expect("the test body runs as a task");
    let t = anyloop::spawn(std::future::pending::<()>());
    let ids: Vec<_> = anyloop::all_tasks().iter().map(|r| r.id()).collect();
    assert!(ids.contains(&t.id()) && ids.contains(&main.id()), "{ids:?}");
    t.cancel();
    assert!(t.await.unwrap_err().is_cancelled());
    let ids: Vec<_> = anyloop::all_tasks().iter().map(|r| r.id()).collect();
    assert_eq!(ids, [main.id()]);
}

// Blocking `Runner` behaviour: the browser cannot block (see
// `runner_is_unsupported_where_the_loop_cannot_block` in run.rs).
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
#[test]
fn run_cancels_leftover_tasks_and_leaks_nothing() {
    let dropped = Rc::new(RefCell::new(false));
    let flag = DropFlag(dropped.clone());
    let runner = anyloop::Runner::new().unwrap();
    runner.run(async move {
        drop(anyloop::spawn(async move {
            let _flag = flag;
            std::future::pending::<()>().await;
        }));
        anyloop::yield_now().await;
    });
    assert!(!*dropped.borrow(), "the loop keeps tasks between runs");
    drop(runner);
    assert!(*dropped.borrow(), "closing the loop cancels leftover tasks");
}

#[anyloop::test]
async fn panicking_destructor_after_completion_fails_only_that_task() {
    if !anyloop::capabilities().catch_panic {
        return;
    }
    // A future whose destructor panics after it returned `Ready`: the task
    // drops it on completion, and the panic must fail only that task.
    struct PanicOnDrop;
    impl std::future::Future for PanicOnDrop {
        type Output = i32;
        fn poll(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<i32> {
            std::task::Poll::Ready(1)
        }
    }
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("destructor panicked");
        }
    }
    let t = anyloop::spawn(PanicOnDrop);
    let err = t.await.unwrap_err();
    assert_eq!(err.panic_message(), Some("destructor panicked"));
    assert_eq!(anyloop::spawn(async { 2 }).await.unwrap(), 2);
}
