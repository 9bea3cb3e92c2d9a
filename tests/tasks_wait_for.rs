//! `wait_for` on a task (asyncio's `wait_for` cancels the task on expiry
//! and waits for it), `shield`, and gathers that cancel their children.
//! Each test names the CPython behaviour it mirrors.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use anyloop::{catch_cancel, gather, shield, sleep, spawn, wait_for, yield_now};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The asyncio docs' `wait_for` example: `eternity()` sleeps an hour,
/// `wait_for(eternity(), timeout=1.0)` prints "timeout!"; the task was
/// cancelled and has finished when `wait_for` returns.
#[anyloop::test]
async fn docs_example_wait_for_eternity_times_out() {
    let eternity = spawn(async {
        sleep(Duration::from_secs(3600)).await;
        "yay!"
    });
    let probe = eternity.task_ref();
    let printed = match wait_for(eternity, Duration::from_secs(1)).await {
        Ok(res) => res.unwrap().to_string(),
        Err(_) => "timeout!".to_string(),
    };
    assert_eq!(printed, "timeout!");
    assert!(probe.is_finished());
    assert!(probe.is_cancelled());
}

/// asyncio 3.12 `wait_for`: on timeout the task is cancelled and
/// `wait_for` returns only after the task has handled the cancellation
/// (here: an async cleanup).
#[anyloop::test]
async fn wait_for_waits_for_the_task_cleanup() {
    let cleaned = Rc::new(Cell::new(false));
    let c = cleaned.clone();
    let task = spawn(async move {
        if let Err(cancelled) = catch_cancel(sleep(Duration::from_secs(3600))).await {
            sleep(ms(30)).await;
            c.set(true);
            cancelled.propagate();
        }
    });
    let res = wait_for(task, ms(10)).await;
    assert!(res.is_err(), "timed out");
    assert!(cleaned.get(), "returned after the cleanup");
}

/// asyncio `wait_for`: a task that swallows the cancellation and returns
/// a value makes `wait_for` return that value (no TimeoutError).
#[anyloop::test]
async fn wait_for_returns_the_value_of_a_task_that_swallows_the_cancel() {
    let task = spawn(async {
        match catch_cancel(sleep(Duration::from_secs(3600))).await {
            Ok(()) => 1,
            Err(_) => 2,
        }
    });
    assert_eq!(wait_for(task, ms(5)).await.unwrap().unwrap(), 2);
}

/// asyncio `wait_for`: the task finishing first gives its result; a
/// zero timeout on a done task gives its result too (3.12), and on an
/// unfinished one raises TimeoutError.
#[anyloop::test]
async fn wait_for_result_and_zero_timeouts() {
    let quick = spawn(async {
        sleep(ms(5)).await;
        "quick"
    });
    assert_eq!(
        wait_for(quick, Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap(),
        "quick"
    );

    let done = spawn(async { 7 });
    yield_now().await;
    assert_eq!(wait_for(done, Duration::ZERO).await.unwrap().unwrap(), 7);

    let pending = spawn(async { yield_now().await });
    let probe = pending.task_ref();
    assert!(wait_for(pending, Duration::ZERO).await.is_err());
    assert!(probe.is_cancelled());
}

/// asyncio: cancelling the coroutine awaiting `wait_for(task)` cancels the
/// task too.
#[anyloop::test]
async fn cancelling_the_waiter_cancels_the_task() {
    let inner = spawn(sleep(Duration::from_secs(3600)));
    let probe = inner.task_ref();
    let waiter = spawn(async move { wait_for(inner, Duration::from_secs(60)).await });
    yield_now().await;
    waiter.cancel();
    assert!(waiter.await.unwrap_err().is_cancelled());
    yield_now().await;
    assert!(probe.is_cancelled());
}

/// The asyncio docs' `shield` example: `res = await shield(something())`;
/// if the coroutine containing it is cancelled, `something()` is not.
#[anyloop::test]
async fn docs_example_shield_protects_the_inner_work() {
    let finished = Rc::new(Cell::new(false));
    let f = finished.clone();
    let something = shield(async move {
        sleep(ms(20)).await;
        f.set(true);
        "res"
    });
    let inner = something.task_ref();
    let outer = spawn(async move { something.await.unwrap() });
    yield_now().await;
    outer.cancel();
    assert!(outer.await.unwrap_err().is_cancelled());
    sleep(ms(40)).await;
    assert!(finished.get(), "the shielded work ran to completion");
    assert!(inner.is_finished() && !inner.is_cancelled());
}

/// asyncio `gather`: "If gather() is cancelled, all submitted awaitables
/// (that have not completed yet) are also cancelled."
#[anyloop::test]
async fn cancelling_the_awaiter_of_gather_cancels_its_children() {
    let children: Vec<_> = (0..3u64)
        .map(|i| spawn(async move { sleep(ms(10 + 3_600_000 * i)).await }))
        .collect();
    let probes: Vec<_> = children.iter().map(|t| t.task_ref()).collect();
    let waiter = spawn(async move { gather(children).await });
    // Child 0 finishes (its 10 ms start at its first poll, so wait for it
    // rather than sleep a fixed time); 1 and 2 still sleep.
    let start = anyloop::time::Instant::now();
    while !probes[0].is_finished() && start.elapsed() < Duration::from_secs(30) {
        sleep(ms(5)).await;
    }
    waiter.cancel();
    assert!(waiter.await.unwrap_err().is_cancelled());
    yield_now().await;
    assert!(probes[0].is_finished() && !probes[0].is_cancelled());
    assert!(probes[1].is_cancelled());
    assert!(probes[2].is_cancelled());
}

/// The same for the tuple form (`gather(a, b)`) and for a gather dropped
/// unfinished (a timeout around it).
#[anyloop::test]
async fn gather_macro_dropped_unfinished_cancels_its_tasks() {
    let a = spawn(sleep(Duration::from_secs(3600)));
    let b = spawn(sleep(Duration::from_secs(3600)));
    let (pa, pb) = (a.task_ref(), b.task_ref());
    assert!(anyloop::timeout(ms(5), anyloop::gather!(a, b))
        .await
        .is_err());
    yield_now().await;
    assert!(pa.is_cancelled() && pb.is_cancelled());
}

/// asyncio `gather(return_exceptions=False)`: the first error propagates
/// and the other awaitables are *not* cancelled (they keep running).
#[anyloop::test]
async fn try_gather_error_leaves_the_other_tasks_running() {
    let slow = spawn(async {
        sleep(ms(20)).await;
        Ok::<_, &str>(1)
    });
    let probe = slow.task_ref();
    let bad = spawn(async { Err::<i32, _>("bad") });
    let res = anyloop::try_gather!(async move { slow.await.unwrap() }, async move {
        bad.await.unwrap()
    })
    .await;
    assert_eq!(res, Err("bad"));
    sleep(ms(40)).await;
    assert!(probe.is_finished() && !probe.is_cancelled());
}

/// A task that is gathered but never awaited elsewhere and is held, not
/// awaited, by a cancelled child is left alone: only awaited handles are
/// cancelled (asyncio cancels what the cancelled coroutine awaits).
#[anyloop::test]
async fn a_handle_merely_held_by_a_cancelled_gather_child_keeps_running() {
    let held = spawn(async {
        sleep(ms(10)).await;
        "ran"
    });
    let probe = held.task_ref();
    let waiter = spawn(async move {
        anyloop::gather!(async move {
            let _kept = held; // held, never awaited
            sleep(Duration::from_secs(3600)).await;
        })
        .await
    });
    yield_now().await;
    waiter.cancel();
    assert!(waiter.await.unwrap_err().is_cancelled());
    sleep(ms(30)).await;
    assert!(probe.is_finished() && !probe.is_cancelled());
}
