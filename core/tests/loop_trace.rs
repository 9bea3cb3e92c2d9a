//! The core against the recording mock host: what the loop asks of its host.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use anyloop_core::testing::MockHost;
use anyloop_core::time::Instant;
use anyloop_core::{Budget, EventLoop};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn loop_parks_exactly_until_each_deadline() {
    let host = MockHost::new();
    let log = host.log_handle();
    let lp = EventLoop::new(host);
    let order = lp.block_on(async {
        let order = Rc::new(RefCell::new(Vec::new()));
        let tasks: Vec<_> = [30u64, 10, 20]
            .into_iter()
            .map(|d| {
                let order = order.clone();
                anyloop_core::spawn(async move {
                    anyloop_core::sleep(ms(d)).await;
                    order.borrow_mut().push(d);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        Rc::try_unwrap(order).unwrap().into_inner()
    });
    assert_eq!(order, [10, 20, 30]);
    assert_eq!(log.take(), ["park 10ms", "park 10ms", "park 10ms"]);
}

#[test]
fn ready_work_never_parks_and_idle_loop_parks_forever_until_unparked() {
    let host = MockHost::new();
    let log = host.log_handle();
    let lp = EventLoop::new(host);
    let handle = lp.handle();
    lp.block_on(async move {
        for _ in 0..100 {
            anyloop_core::yield_now().await;
        }
        assert!(log.take().is_empty(), "busy tasks never park");
        // Nothing to do until another thread sends work: the loop parks
        // with no timeout and the remote spawn unparks it.
        let t = std::thread::spawn(move || handle.spawn(async { 9 }));
        let task = t.join().unwrap();
        assert_eq!(task.await.unwrap(), 9);
        let entries = log.take();
        assert!(entries.iter().all(|e| e == "park forever"), "{entries:?}");
    });
}

#[test]
fn virtual_time_moves_only_when_parked() {
    let lp = EventLoop::new(MockHost::new());
    lp.block_on(async {
        let start = Instant::now();
        anyloop_core::sleep(ms(1500)).await;
        assert_eq!(start.elapsed(), ms(1500));
        let r = anyloop_core::timeout(ms(5), std::future::pending::<()>()).await;
        assert!(r.is_err());
        assert_eq!(start.elapsed(), ms(1505));
    });
}

#[test]
fn tick_runs_ready_work_within_budget_and_reports_next_deadline() {
    let lp = EventLoop::new(MockHost::new());
    let counter = Rc::new(RefCell::new(0u32));
    let (spinner, sleeper) = {
        let _g = lp.enter();
        let c = counter.clone();
        let spinner = anyloop_core::spawn(async move {
            loop {
                *c.borrow_mut() += 1;
                anyloop_core::yield_now().await;
            }
        });
        let sleeper = anyloop_core::spawn(anyloop_core::sleep(ms(40)));
        (spinner, sleeper)
    };
    let t = lp.tick(Budget::new(10, None));
    assert_eq!(t.polls, 10);
    assert!(t.ready, "the spinner is still ready");
    assert_eq!(t.next_deadline, Some(Instant::from_nanos(40_000_000)));
    assert!(*counter.borrow() >= 8);
    spinner.cancel();
    let t = lp.tick(Budget::default());
    assert!(!t.ready);
    assert!(spinner.is_finished());
    assert!(!sleeper.is_finished());
}

#[test]
fn dropping_the_loop_cancels_and_drops_every_task() {
    struct Flag(Rc<RefCell<u32>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            *self.0.borrow_mut() += 1;
        }
    }
    let dropped = Rc::new(RefCell::new(0));
    let lp = EventLoop::new(MockHost::new());
    {
        let _g = lp.enter();
        for _ in 0..10 {
            let f = Flag(dropped.clone());
            anyloop_core::spawn(async move {
                let _f = f;
                anyloop_core::sleep(Duration::from_secs(3600)).await;
            })
            .detach();
        }
    }
    lp.tick(Budget::default());
    assert_eq!(lp.task_count(), 10);
    drop(lp);
    assert_eq!(*dropped.borrow(), 10);
}

#[test]
fn spawn_outside_a_loop_panics_with_advice() {
    let err = std::panic::catch_unwind(|| anyloop_core::spawn(async {})).unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(msg.contains("no event loop is running"), "{msg}");
    assert!(msg.contains("anyloop::run"), "{msg}");
}

#[test]
fn panicking_main_task_resumes_after_cleanup() {
    let lp = EventLoop::new(MockHost::new());
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        lp.block_on(async { panic!("main failed") })
    }))
    .unwrap_err();
    assert_eq!(err.downcast_ref::<&str>().copied(), Some("main failed"));
    // The loop is still usable.
    assert_eq!(lp.block_on(async { 3 }), 3);
}

#[test]
fn block_on_accepts_borrowing_futures() {
    let lp = EventLoop::new(MockHost::new());
    let mut local = vec![1, 2, 3];
    let sum: i32 = lp.block_on(async {
        local.push(4);
        anyloop_core::yield_now().await;
        local.iter().sum()
    });
    assert_eq!(sum, 10);
}
