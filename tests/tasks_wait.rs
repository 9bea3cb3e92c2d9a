//! `wait` and `as_completed` (CPython's `test_wait*`, `test_as_completed*`).

use std::time::Duration;

use anyloop::time::Instant;
use anyloop::{as_completed, sleep, spawn, wait, ReturnWhen, Task};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn delayed<T: 'static>(d: u64, v: T) -> Task<T> {
    spawn(async move {
        sleep(ms(d)).await;
        v
    })
}

async fn cancel_all<T>(tasks: Vec<Task<T>>) {
    for t in tasks {
        t.cancel();
        let _ = t.await;
    }
}

#[anyloop::test]
async fn first_exception_splits_done_and_pending() {
    let tasks = vec![
        delayed(2000, Ok::<u32, String>(1)),
        spawn(async {
            sleep(ms(20)).await;
            Err::<u32, _>("bad".to_string())
        }),
        delayed(5, Ok(3)),
        delayed(1500, Ok(4)),
    ];
    let ids: Vec<_> = tasks.iter().map(|t| t.id()).collect();
    let (done, pending) = wait(tasks, ReturnWhen::FirstException)
        .fail_if(Result::is_err)
        .await;
    // The failure and the task that finished before it; the others run on.
    assert_eq!(
        done.iter().map(|t| t.id()).collect::<Vec<_>>(),
        [ids[1], ids[2]]
    );
    assert_eq!(
        pending.iter().map(|t| t.id()).collect::<Vec<_>>(),
        [ids[0], ids[3]]
    );
    assert!(pending
        .iter()
        .all(|t| !t.is_finished() && !t.is_cancel_requested()));
    let mut results = Vec::new();
    for t in done {
        results.push(t.await.unwrap());
    }
    assert_eq!(results, [Err("bad".to_string()), Ok(3)]);
    cancel_all(pending).await;
}

#[anyloop::test]
async fn first_exception_counts_panics_but_not_cancellation() {
    if !anyloop::capabilities().catch_panic {
        assert!(!anyloop::capabilities().catch_panic);
        return;
    }
    let cancelled = spawn(std::future::pending::<()>());
    cancelled.cancel();
    let panics = spawn(async {
        sleep(ms(10)).await;
        panic!("boom")
    });
    let slow = spawn(sleep(ms(5000)));
    let (done, pending) = wait([cancelled, panics, slow], ReturnWhen::FirstException).await;
    assert_eq!((done.len(), pending.len()), (2, 1));
    cancel_all(pending).await;
}

#[anyloop::test]
async fn first_exception_without_failure_waits_for_all() {
    let tasks = vec![delayed(10, Ok::<_, ()>(1)), delayed(20, Ok(2))];
    let (done, pending) = wait(tasks, ReturnWhen::FirstException)
        .fail_if(Result::is_err)
        .await;
    assert_eq!((done.len(), pending.len()), (2, 0));
}

#[anyloop::test]
async fn first_completed_returns_the_earliest() {
    let tasks = vec![delayed(2000, 'a'), delayed(10, 'b'), delayed(3000, 'c')];
    let (done, pending) = wait(tasks, ReturnWhen::FirstCompleted).await;
    assert_eq!(done.len(), 1);
    assert_eq!(pending.len(), 2);
    for t in done {
        assert_eq!(t.await.unwrap(), 'b');
    }
    cancel_all(pending).await;
}

#[anyloop::test]
async fn all_completed_with_timeout_does_not_cancel() {
    let tasks = vec![delayed(5, 1), delayed(5000, 2)];
    let start = Instant::now();
    let (done, pending) = wait(tasks, ReturnWhen::AllCompleted).timeout(ms(50)).await;
    assert!(start.elapsed() >= ms(50));
    assert_eq!((done.len(), pending.len()), (1, 1));
    assert!(!pending[0].is_cancel_requested());
    cancel_all(pending).await;
    let (done, pending) = wait(vec![delayed(5, 1)], ReturnWhen::AllCompleted).await;
    assert_eq!((done.len(), pending.len()), (1, 0));
}

#[anyloop::test]
async fn as_completed_yields_in_completion_order() {
    let tasks = [40, 10, 30, 0, 20].map(|d| delayed(d, d));
    let mut it = as_completed(tasks);
    assert_eq!(it.len(), 5);
    let mut order = Vec::new();
    while let Some(v) = it.next().await {
        order.push(v.unwrap());
    }
    assert_eq!(order, [0, 10, 20, 30, 40]);
}

#[anyloop::test]
async fn as_completed_of_plain_futures() {
    let mut it = as_completed([30u64, 10, 20].map(|d| async move {
        sleep(ms(d)).await;
        d
    }));
    let mut order = Vec::new();
    while let Some(v) = it.next().await {
        order.push(v);
    }
    assert_eq!(order, [10, 20, 30]);
}

#[anyloop::test]
async fn as_completed_timeout_raises_then_ends() {
    let slow = delayed(2000, 2);
    let slow_ref = slow.task_ref();
    let mut it = as_completed([delayed(1, 1), slow]).timeout(ms(50));
    assert_eq!(it.next().await.unwrap().unwrap().unwrap(), 1);
    let start = Instant::now();
    assert!(it.next().await.unwrap().is_err());
    assert!(start.elapsed() > Duration::ZERO);
    assert!(it.next().await.is_none());
    // The timed-out task is still running (detached), as in asyncio.
    assert!(!slow_ref.is_finished());
    slow_ref.cancel();
    while !slow_ref.is_finished() {
        anyloop::yield_now().await;
    }
}
