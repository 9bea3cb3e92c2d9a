//! asyncio's `Future` (`anyloop::future::Promise`) and the one-shot channel.

use anyloop::future::{Cancelled, Promise};

#[anyloop::test]
async fn promise_wakes_every_waiter_once_set() {
    let p = Promise::new();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let p = p.clone();
            anyloop::spawn(async move { p.wait().await })
        })
        .collect();
    anyloop::yield_now().await;
    assert!(!p.is_done());
    assert_eq!(p.result(), None);
    p.set(7).unwrap();
    for w in waiters {
        assert_eq!(w.await.unwrap(), Ok(7));
    }
    assert!(p.is_done() && !p.is_cancelled());
    assert_eq!(p.result(), Some(Ok(7)));
    // Set only once, the value comes back; cancel is refused.
    assert_eq!(p.set(8), Err(8));
    assert!(!p.cancel());
}

#[anyloop::test]
async fn cancelled_promise_gives_cancelled() {
    let p: Promise<String> = Promise::new();
    let w = anyloop::spawn({
        let p = p.clone();
        async move { p.wait().await }
    });
    anyloop::yield_now().await;
    assert!(p.cancel());
    assert_eq!(w.await.unwrap(), Err(Cancelled));
    assert!(p.is_cancelled());
    assert_eq!(p.set("late".into()), Err("late".into()));
}

#[anyloop::test]
async fn oneshot_delivers_once_and_reports_a_dropped_sender() {
    let (tx, rx) = anyloop::oneshot::channel();
    let t = anyloop::spawn(rx);
    anyloop::yield_now().await;
    tx.send("hi").unwrap();
    assert_eq!(t.await.unwrap(), Ok("hi"));

    let (tx, rx) = anyloop::oneshot::channel::<u8>();
    drop(tx);
    assert_eq!(rx.await, Err(Cancelled));

    let (tx, rx) = anyloop::oneshot::channel::<u8>();
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(1), Err(1));
}

#[anyloop::test]
async fn oneshot_from_another_thread_or_unsupported() {
    let (tx, rx) = anyloop::oneshot::channel();
    match std::thread::Builder::new().spawn(move || tx.send(42u32)) {
        Ok(worker) => {
            assert_eq!(rx.await, Ok(42));
            worker.join().unwrap().unwrap();
        }
        Err(_) => assert!(!anyloop::capabilities().threads),
    }
}
