//! Cancellation, asyncio style and Rust style: `catch_cancel` (asyncio's
//! `except CancelledError`), `cancelling()` / `uncancel()`, a task that
//! cancels itself, timeouts against cancellation. Each test names the
//! CPython behaviour it mirrors.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use anyloop::time::TimeoutScope;
use anyloop::{catch_cancel, current_task, sleep, spawn, timeout, yield_now};

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

fn push(log: &Log, s: impl Into<String>) {
    log.borrow_mut().push(s.into());
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// The asyncio docs' "Task Cancellation" example (`Task.cancel()`):
/// `cancel_me` catches CancelledError, prints, re-raises; `finally` runs;
/// `main` then sees the task cancelled.
#[anyloop::test]
async fn docs_example_cancel_me_catches_and_reraises() {
    let l = log();
    let l2 = l.clone();
    let task = spawn(async move {
        push(&l2, "cancel_me(): before sleep");
        // try:
        let res = catch_cancel(sleep(Duration::from_secs(3600))).await;
        if let Err(cancelled) = res {
            // except asyncio.CancelledError:
            push(&l2, "cancel_me(): cancel sleep");
            // finally:
            push(&l2, "cancel_me(): after sleep");
            cancelled.propagate(); // raise
            return;
        }
        push(&l2, "cancel_me(): after sleep");
    });
    sleep(ms(10)).await;
    assert!(task.cancel());
    let err = task.await.unwrap_err();
    assert!(err.is_cancelled());
    push(&l, "main(): cancel_me is cancelled now");
    assert_eq!(
        *l.borrow(),
        [
            "cancel_me(): before sleep",
            "cancel_me(): cancel sleep",
            "cancel_me(): after sleep",
            "main(): cancel_me is cancelled now",
        ]
    );
}

/// CPython `test_cancel_with_async_cleanup`-style: after CancelledError the
/// coroutine may await (a flush), then re-raise; the awaiter waits for the
/// cleanup and sees the task cancelled with the cancel message.
#[anyloop::test]
async fn caught_cancel_runs_async_cleanup_then_reraises_with_message() {
    let flushed = Rc::new(Cell::new(false));
    let inner_dropped = Rc::new(Cell::new(false));
    let (f, d) = (flushed.clone(), inner_dropped.clone());
    let task = spawn(async move {
        let guard = DropFlag(d);
        let res = catch_cancel(async move {
            let _g = guard;
            std::future::pending::<()>().await
        })
        .await;
        let c = res.unwrap_err();
        assert_eq!(c.message(), Some("stop"));
        sleep(ms(20)).await; // async cleanup (`await flush()`)
        f.set(true);
        c.propagate();
    });
    yield_now().await;
    task.cancel_with("stop");
    let err = task.await.unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(err.cancel_message(), Some("stop"));
    assert!(flushed.get(), "the cleanup ran before the task ended");
    assert!(inner_dropped.get(), "the awaited future was dropped");
}

/// asyncio: a coroutine that catches CancelledError and returns a value
/// finishes normally (`task.cancelled()` is False, `result()` the value).
#[anyloop::test]
async fn swallowed_cancel_returns_a_value() {
    let task = spawn(async {
        match catch_cancel(sleep(Duration::from_secs(3600))).await {
            Ok(()) => "slept",
            Err(_) => "cancelled, but carried on",
        }
    });
    yield_now().await;
    assert!(task.cancel());
    assert_eq!(task.cancelling(), 1);
    assert_eq!(task.await.unwrap(), "cancelled, but carried on");
}

/// asyncio 3.11: `cancelling()` counts `cancel()` calls, `uncancel()`
/// decrements and returns the remaining count.
#[anyloop::test]
async fn cancelling_counts_requests_and_uncancel_takes_one_back() {
    let task = spawn(async {
        let me = current_task().unwrap();
        let first = catch_cancel(std::future::pending::<()>()).await;
        assert!(first.is_err());
        let n = me.cancelling();
        let left = me.uncancel();
        (n, left, me.cancelling())
    });
    yield_now().await;
    assert_eq!(task.cancelling(), 0);
    assert!(task.cancel());
    assert!(task.cancel());
    assert_eq!(task.cancelling(), 2);
    assert_eq!(task.await.unwrap(), (2, 1, 1));
}

/// asyncio 3.13: when `uncancel()` brings the count to zero, a request not
/// yet delivered is withdrawn and the task runs on.
#[anyloop::test]
async fn uncancel_to_zero_withdraws_the_pending_request() {
    let task = spawn(async {
        yield_now().await;
        sleep(ms(5)).await;
        "ran to the end"
    });
    assert!(task.cancel());
    assert_eq!(task.uncancel(), 0);
    assert!(!task.is_cancel_requested());
    assert_eq!(task.await.unwrap(), "ran to the end");
}

/// asyncio: a task that calls `cancel()` on itself and returns without
/// awaiting ends cancelled (`Task.__step` cancels on `_must_cancel`).
#[anyloop::test]
async fn task_that_cancels_itself_and_returns_ends_cancelled() {
    let task = spawn(async {
        assert!(current_task().unwrap().cancel());
        42
    });
    assert!(task.await.unwrap_err().is_cancelled());
}

/// Rust's default stays: without a catch point a cancel drops the future
/// at its next poll and destructors run (asyncio would raise at the await;
/// the task ends cancelled either way).
#[anyloop::test]
async fn without_a_catch_point_cancel_drops_the_task() {
    let dropped = Rc::new(Cell::new(false));
    let d = dropped.clone();
    let reached = Rc::new(Cell::new(false));
    let r = reached.clone();
    let task = spawn(async move {
        // A catch point that finished earlier does not catch later requests.
        assert_eq!(catch_cancel(async { 1 }).await, Ok(1));
        let _g = DropFlag(d);
        sleep(Duration::from_secs(3600)).await;
        r.set(true);
    });
    yield_now().await;
    task.cancel();
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(dropped.get());
    assert!(!reached.get());
}

/// asyncio: a second `cancel()` while the task cleans up after catching
/// the first interrupts the cleanup (here, with no catch point around the
/// cleanup, by dropping it).
#[anyloop::test]
async fn second_cancel_during_cleanup_ends_the_task() {
    let cleanup_done = Rc::new(Cell::new(false));
    let c = cleanup_done.clone();
    let task = spawn(async move {
        let _ = catch_cancel(std::future::pending::<()>()).await;
        sleep(Duration::from_secs(3600)).await; // long cleanup
        c.set(true);
    });
    yield_now().await;
    task.cancel();
    yield_now().await;
    yield_now().await;
    assert!(!task.is_finished(), "the first cancel was caught");
    task.cancel();
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(!cleanup_done.get());
}

/// asyncio: nested `try/except CancelledError`: the innermost handler gets
/// the CancelledError; if it swallows it, the outer one sees nothing.
#[anyloop::test]
async fn innermost_catch_point_takes_the_request_once() {
    let task = spawn(async {
        catch_cancel(async {
            let inner = catch_cancel(std::future::pending::<()>()).await;
            assert!(inner.is_err());
            sleep(ms(5)).await;
            "inner handled it"
        })
        .await
    });
    yield_now().await;
    task.cancel();
    assert_eq!(task.await.unwrap(), Ok("inner handled it"));
}

/// asyncio 3.12 `wait_for`/`timeout`: a zero (or past) timeout raises
/// TimeoutError for anything that suspends, and returns the result of
/// something that completes without suspending.
#[anyloop::test]
async fn zero_and_past_timeouts_expire_on_anything_that_suspends() {
    assert!(timeout(Duration::ZERO, yield_now()).await.is_err());
    assert!(timeout(Duration::ZERO, sleep(Duration::ZERO))
        .await
        .is_err());
    assert_eq!(timeout(Duration::ZERO, async { 7 }).await, Ok(7));
    let past = anyloop::time::Instant::now();
    sleep(ms(2)).await;
    assert!(anyloop::timeout_at(past, yield_now()).await.is_err());
    assert_eq!(anyloop::timeout_at(past, async { 8 }).await, Ok(8));
    let scope = TimeoutScope::new(Some(past));
    assert!(scope.run(yield_now()).await.is_err());
    assert!(scope.expired());
}

/// asyncio.timeout: when the task is cancelled from outside while its
/// timeout also fires, the CancelledError propagates (not TimeoutError)
/// and `expired()` stays False.
#[anyloop::test]
async fn outside_cancel_wins_over_an_expiring_timeout() {
    let task = spawn(async {
        let scope = TimeoutScope::new(Some(anyloop::time::Instant::now()));
        // The cancel request (here from the task itself) and the deadline
        // are both due at this await.
        current_task().unwrap().cancel_with("from outside");
        let res = catch_cancel(scope.run(sleep(Duration::from_secs(3600)))).await;
        (
            res.map_err(|c| c.message().map(String::from)),
            scope.expired(),
        )
    });
    let (res, expired) = task.await.unwrap();
    assert_eq!(res, Err(Some("from outside".to_string())));
    assert!(!expired);
}

/// asyncio.timeout inside a task: an outside cancel arriving while the
/// timeout is pending ends the task cancelled, not timed out.
#[anyloop::test]
async fn outside_cancel_inside_a_timeout_reports_cancel() {
    let task =
        spawn(async { timeout(Duration::from_secs(3600), sleep(Duration::from_secs(7200))).await });
    sleep(ms(5)).await;
    task.cancel();
    assert!(task.await.unwrap_err().is_cancelled());
}

/// asyncio.TaskGroup: a failing child cancels its siblings, and the group
/// waits for their cleanup (`except CancelledError: await ...`) before it
/// raises the ExceptionGroup with the failure only.
#[anyloop::test]
async fn task_group_waits_for_a_sibling_cleanup() {
    let cleaned = Rc::new(Cell::new(false));
    let c = cleaned.clone();
    let group = anyloop::TaskGroup::new();
    let sibling = group
        .spawn(async move {
            if let Err(cancelled) = catch_cancel(sleep(Duration::from_secs(3600))).await {
                sleep(ms(10)).await;
                c.set(true);
                cancelled.propagate();
            }
            Ok(())
        })
        .unwrap();
    group
        .spawn(async {
            sleep(ms(5)).await;
            Err::<(), _>("boom")
        })
        .unwrap();
    let err = group.join().await.unwrap_err();
    assert_eq!(err.errors().collect::<Vec<_>>(), [&"boom"]);
    assert!(cleaned.get(), "join returned after the sibling's cleanup");
    assert!(sibling.await.unwrap_err().is_cancelled());
}
