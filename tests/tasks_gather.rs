//! `gather!`, `gather`, `try_gather`: result order and failure semantics
//! (CPython's `test_gather` behaviours).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use anyloop::{gather, sleep, spawn, try_gather};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[anyloop::test]
async fn results_come_in_argument_order() {
    let (a, b, c) = anyloop::gather!(
        async {
            sleep(ms(30)).await;
            "a"
        },
        async { "b" },
        async {
            sleep(ms(10)).await;
            "c"
        },
    )
    .await;
    assert_eq!([a, b, c], ["a", "b", "c"]);

    let delays = [40, 0, 20, 10];
    let tasks = delays.map(|d| {
        spawn(async move {
            sleep(ms(d)).await;
            d
        })
    });
    let out: Vec<u64> = gather(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(out, delays);
}

#[anyloop::test]
async fn a_failing_child_does_not_cancel_the_others() {
    let finished = Rc::new(RefCell::new(Vec::new()));
    let f = finished.clone();
    let tasks = vec![
        spawn(async { Err::<u32, String>("boom".into()) }),
        spawn(async move {
            sleep(ms(20)).await;
            f.borrow_mut().push("slow");
            Ok(2)
        }),
    ];
    let out = gather(tasks).await;
    assert_eq!(out[0].as_ref().unwrap(), &Err("boom".to_string()));
    assert_eq!(out[1].as_ref().unwrap(), &Ok(2));
    assert_eq!(*finished.borrow(), ["slow"]);
}

#[anyloop::test]
async fn a_panicking_task_is_reported_and_others_finish() {
    if !anyloop::capabilities().catch_panic {
        // wasm32: a panic aborts the instance; nothing to observe here.
        return;
    }
    let tasks = vec![
        spawn(async {
            sleep(ms(5)).await;
            panic!("child panic")
        }),
        spawn(async {
            sleep(ms(10)).await;
            7
        }),
    ];
    let out = gather(tasks).await;
    assert_eq!(
        out[0].as_ref().unwrap_err().panic_message(),
        Some("child panic")
    );
    assert_eq!(*out[1].as_ref().unwrap(), 7);
}

#[anyloop::test]
async fn try_gather_returns_the_first_error_and_leaves_tasks_running() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let slow = spawn(async move {
        sleep(ms(300)).await;
        l.borrow_mut().push("slow finished");
        Ok::<u32, String>(1)
    });
    let slow_ref = slow.task_ref();
    let failing = spawn(async {
        sleep(ms(10)).await;
        Err::<u32, _>("second failed".to_string())
    });
    let res = try_gather([slow, failing].map(|t| async move { t.await.unwrap() })).await;
    assert_eq!(res, Err("second failed".to_string()));
    // asyncio: the other awaitables are not cancelled.
    assert!(!slow_ref.is_finished());
    while !slow_ref.is_finished() {
        sleep(ms(10)).await;
    }
    assert_eq!(*log.borrow(), ["slow finished"]);

    let ok = anyloop::try_gather!(async { Ok::<_, ()>(1) }, async { Ok("two") }).await;
    assert_eq!(ok, Ok((1, "two")));
    let all = try_gather((0..5).map(|i| async move { Ok::<_, ()>(i * i) })).await;
    assert_eq!(all, Ok(vec![0, 1, 4, 9, 16]));
}

#[anyloop::test]
async fn gather_of_nothing_is_empty() {
    let v: Vec<u8> = gather(Vec::<std::future::Ready<u8>>::new()).await;
    assert!(v.is_empty());
}

/// asyncio: "If gather() is cancelled, all submitted awaitables (that have
/// not completed yet) are also cancelled" -- tasks included.
#[anyloop::test]
async fn cancelling_the_awaiter_cancels_gathered_tasks() {
    // The children sleep far longer than the test: only the cancel can
    // end them, whatever the machine's speed.
    let done = Rc::new(RefCell::new(0));
    let d = done.clone();
    let children: Vec<_> = (0..3)
        .map(|_| {
            let d = d.clone();
            spawn(async move {
                sleep(Duration::from_secs(3600)).await;
                *d.borrow_mut() += 1;
            })
        })
        .collect();
    let refs: Vec<_> = children.iter().map(|t| t.task_ref()).collect();
    let waiter = spawn(gather(children));
    anyloop::yield_now().await; // the waiter starts awaiting the children
    waiter.cancel();
    assert!(waiter.await.unwrap_err().is_cancelled());
    for _ in 0..100 {
        if refs.iter().all(|r| r.is_finished()) {
            break;
        }
        anyloop::yield_now().await;
    }
    assert!(refs.iter().all(|r| r.is_cancelled()));
    assert_eq!(*done.borrow(), 0);
}

#[anyloop::test]
async fn cancelling_the_awaiter_cancels_gathered_futures() {
    // asyncio: "If gather() is cancelled, all submitted awaitables (that
    // have not completed yet) are also cancelled."
    struct CountDrop(Rc<RefCell<u32>>);
    impl Drop for CountDrop {
        fn drop(&mut self) {
            *self.0.borrow_mut() += 1;
        }
    }
    let dropped = Rc::new(RefCell::new(0));
    let finished = Rc::new(RefCell::new(0));
    let (d, f) = (dropped.clone(), finished.clone());
    let waiter = spawn(async move {
        gather((0..3).map(|_| {
            let (d, f) = (d.clone(), f.clone());
            async move {
                let _guard = CountDrop(d);
                sleep(ms(5000)).await;
                *f.borrow_mut() += 1;
            }
        }))
        .await
    });
    sleep(ms(5)).await;
    waiter.cancel();
    assert!(waiter.await.unwrap_err().is_cancelled());
    assert_eq!((*dropped.borrow(), *finished.borrow()), (3, 0));
}
