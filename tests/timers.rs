//! Timers: deadline order, FIFO ties, timeouts, many sleepers.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use anyloop::time::Instant;

#[anyloop::test]
async fn sleep_waits_at_least_its_duration() {
    let start = Instant::now();
    anyloop::sleep(Duration::from_millis(30)).await;
    assert!(start.elapsed() >= Duration::from_millis(30));
}

#[anyloop::test]
async fn sleeps_wake_in_deadline_order_and_ties_fifo() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let base = Instant::now() + Duration::from_millis(20);
    // (name, offset ms): spawned out of order; a, b, c share a deadline.
    let plan = [("late", 30), ("a", 10), ("early", 0), ("b", 10), ("c", 10)];
    let tasks: Vec<_> = plan
        .into_iter()
        .map(|(name, off)| {
            let log = log.clone();
            anyloop::spawn(async move {
                anyloop::sleep_until(base + Duration::from_millis(off)).await;
                log.borrow_mut().push(name);
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*log.borrow(), ["early", "a", "b", "c", "late"]);
}

#[anyloop::test]
async fn timeout_elapses() {
    let res = anyloop::timeout(
        Duration::from_millis(10),
        anyloop::sleep(Duration::from_secs(3600)),
    )
    .await;
    let err = res.unwrap_err();
    assert!(Instant::now() >= err.deadline());
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
}

#[anyloop::test]
async fn timeout_not_elapsed() {
    let res = anyloop::timeout(Duration::from_secs(3600), async {
        anyloop::sleep(Duration::from_millis(1)).await;
        7
    })
    .await;
    assert_eq!(res, Ok(7));
}

#[anyloop::test]
async fn timeout_deadline_can_be_rescheduled() {
    let start = Instant::now();
    let mut scope = std::pin::pin!(anyloop::timeout(
        Duration::from_secs(3600),
        anyloop::sleep(Duration::from_secs(7200))
    ));
    assert!(scope.deadline() >= start + Duration::from_secs(3600));
    scope
        .as_mut()
        .reschedule(Instant::now() + Duration::from_millis(5));
    assert!(scope.await.is_err());
    assert!(start.elapsed() < Duration::from_secs(3600));
}

#[anyloop::test]
async fn sleep_zero_yields_once() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l2 = log.clone();
    let other = anyloop::spawn(async move { l2.borrow_mut().push("other") });
    anyloop::sleep(Duration::ZERO).await;
    log.borrow_mut().push("after sleep(0)");
    other.await.unwrap();
    assert_eq!(*log.borrow(), ["other", "after sleep(0)"]);
}

#[anyloop::test]
async fn ten_thousand_concurrent_sleepers_finish() {
    let done = Rc::new(RefCell::new(0u32));
    let tasks: Vec<_> = (0..10_000u64)
        .map(|i| {
            let done = done.clone();
            anyloop::spawn(async move {
                anyloop::sleep(Duration::from_millis(i % 50)).await;
                *done.borrow_mut() += 1;
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*done.borrow(), 10_000);
}

#[anyloop::test]
async fn dropped_sleeps_leave_no_timers_behind() {
    // Many timeouts that never fire: each one's timer is removed on drop,
    // so the loop has nothing left to wait for afterwards.
    for _ in 0..1000 {
        let r = anyloop::timeout(Duration::from_secs(3600), async { 1 }).await;
        assert_eq!(r, Ok(1));
    }
    let start = Instant::now();
    anyloop::sleep(Duration::from_millis(1)).await;
    assert!(start.elapsed() < Duration::from_secs(3600));
}

#[anyloop::test]
async fn sleeps_never_end_before_their_duration_after_creation() {
    // Sleeps created together, spawned, and first polled only after the
    // creating task has kept the loop busy for a while: each still ends at
    // least its duration after the moment it was created.
    let created = Instant::now();
    let sleeps: Vec<_> = (0..200u64)
        .map(|i| (i % 40, anyloop::sleep(Duration::from_millis(i % 40))))
        .collect();
    let busy_until = created + Duration::from_millis(15);
    while Instant::now() < busy_until {}
    let tasks: Vec<_> = sleeps
        .into_iter()
        .map(|(ms, s)| {
            anyloop::spawn(async move {
                s.await;
                assert!(
                    created.elapsed() >= Duration::from_millis(ms),
                    "a {ms} ms sleep ended after {:?}",
                    created.elapsed()
                );
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}
