//! Introspection: `current_task`, `all_tasks`, names, ids, states,
//! cancel messages, the call graph, `call_soon`/`call_later`/`call_at`.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use anyloop::task::Builder;
use anyloop::time::Instant;
use anyloop::{all_tasks, current_task, sleep, spawn, yield_now, TaskState};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[anyloop::test]
async fn names_ids_and_states() {
    let t = Builder::new().name("worker").spawn(async {
        let me = current_task().unwrap();
        assert_eq!(me.state(), TaskState::Running);
        sleep(ms(10)).await;
        me.name().map(String::from)
    });
    assert_eq!(t.name(), Some("worker"));
    assert_eq!(t.state(), TaskState::Scheduled);
    yield_now().await;
    assert_eq!(t.state(), TaskState::Waiting);
    let r = t.task_ref();
    assert!(all_tasks().contains(&r));
    assert_ne!(r.id(), current_task().unwrap().id());
    assert_eq!(t.await.unwrap().as_deref(), Some("worker"));
    assert_eq!(r.state(), TaskState::Done);
    assert!(!all_tasks().contains(&r));
}

#[anyloop::test]
async fn cancel_message_reaches_the_awaiter() {
    let t = spawn(sleep(ms(1000)));
    yield_now().await;
    assert!(t.cancel_with("shutting down"));
    assert!(t.is_cancel_requested());
    assert_eq!(
        t.task_ref().cancel_message().as_deref(),
        Some("shutting down")
    );
    let err = t.await.unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(err.cancel_message(), Some("shutting down"));
    assert_eq!(err.to_string(), "task was cancelled: shutting down");
}

#[anyloop::test]
async fn call_graph_follows_awaiting_tasks() {
    let main = current_task().unwrap().id();
    let captured = Rc::new(RefCell::new(None));
    let c = captured.clone();
    let outer = Builder::new().name("outer").spawn(async move {
        Builder::new()
            .name("inner")
            .spawn(async move {
                yield_now().await;
                *c.borrow_mut() = anyloop::capture_call_graph();
            })
            .await
            .unwrap();
    });
    let outer_id = outer.id();
    outer.await.unwrap();
    let graph = captured.borrow_mut().take().unwrap();
    assert_eq!(graph.task().name(), Some("inner"));
    assert_eq!(graph.chain()[1..], [outer_id, main]);
    let text = graph.to_string();
    assert!(text.starts_with("* Task(name='inner'"), "{text}");
    assert!(
        text.contains("  + Awaited by:\n    * Task(name='outer'"),
        "{text}"
    );
    assert!(text.contains("\n        * Task(name='main'"), "{text}");
    assert!(anyloop::capture_call_graph()
        .unwrap()
        .awaited_by()
        .is_empty());
}

#[anyloop::test]
async fn eager_tasks_run_before_spawn_returns() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let t = Builder::new().eager(true).name("eager").spawn(async move {
        l.borrow_mut()
            .push(current_task().unwrap().name().unwrap().to_string());
        yield_now().await;
        l.borrow_mut().push("resumed".into());
    });
    log.borrow_mut()
        .push(current_task().unwrap().name().unwrap().to_string());
    t.await.unwrap();
    assert_eq!(*log.borrow(), ["eager", "main", "resumed"]);
    let done = Builder::new().eager(true).spawn(async { 1 });
    assert!(done.is_finished());
    assert_eq!(done.await.unwrap(), 1);
}

#[anyloop::test]
async fn call_soon_later_at() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let push = |s: &'static str| {
        let l = log.clone();
        move || l.borrow_mut().push(s)
    };
    let at = Instant::now() + ms(20);
    anyloop::call_later(ms(40), push("later"));
    anyloop::call_at(at, push("at 1"));
    let cancelled = anyloop::call_at(at, push("cancelled"));
    anyloop::call_at(at, push("at 2"));
    anyloop::call_soon(push("soon 1"));
    anyloop::call_soon(push("soon 2"));
    assert!(cancelled.cancel());
    assert_eq!(cancelled.when(), Some(at));
    sleep(ms(60)).await;
    assert_eq!(*log.borrow(), ["soon 1", "soon 2", "at 1", "at 2", "later"]);
    assert!(cancelled.is_cancelled() && cancelled.is_finished());
}

/// `#[anyloop::test]` fails a test that leaves tasks running.
#[cfg(not(target_family = "wasm"))]
#[test]
#[should_panic(expected = "left 1 task(s) running")]
fn a_leaked_task_fails_the_test() {
    anyloop::__private::run_test(async {
        anyloop::spawn(sleep(Duration::from_secs(3600))).detach();
    });
}
