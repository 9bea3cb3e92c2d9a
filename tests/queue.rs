//! `anyloop::queue`: order of the three kinds, backpressure, FIFO waiters,
//! errors, task_done/join and shutdown.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use anyloop::queue::{LifoQueue, PriorityQueue, Queue, QueueFull, QueueShutDown, TryPutError};

async fn settle() {
    for _ in 0..8 {
        anyloop::yield_now().await;
    }
}

#[anyloop::test]
async fn queue_is_first_in_first_out() {
    let q = Queue::new(0);
    for i in 0..5 {
        q.put(i).await.unwrap();
    }
    for i in 0..5 {
        assert_eq!(q.get().await, Ok(i));
    }
}

#[anyloop::test]
async fn priority_queue_gives_smallest_first() {
    let q = PriorityQueue::new(0);
    for (p, name) in [(3, "c"), (1, "a"), (4, "d"), (2, "b")] {
        q.put((p, name)).await.unwrap();
    }
    let mut got = Vec::new();
    while let Ok((_, name)) = q.get_nowait() {
        got.push(name);
    }
    assert_eq!(got, ["a", "b", "c", "d"]);
}

#[anyloop::test]
async fn lifo_queue_gives_last_first() {
    let q = LifoQueue::new(0);
    for i in 0..4 {
        q.put(i).await.unwrap();
    }
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(q.get().await.unwrap());
    }
    assert_eq!(got, [3, 2, 1, 0]);
}

#[anyloop::test]
async fn put_blocks_at_maxsize() {
    let q = Queue::new(2);
    q.put(1).await.unwrap();
    q.put(2).await.unwrap();
    assert!(q.is_full());
    let putter = anyloop::spawn({
        let q = q.clone();
        async move { q.put(3).await }
    });
    settle().await;
    assert!(
        !putter.is_finished(),
        "put must wait while the queue is full"
    );
    assert_eq!(q.qsize(), 2);
    assert_eq!(q.get().await, Ok(1));
    putter.await.unwrap().unwrap();
    assert_eq!(q.qsize(), 2);
    assert_eq!(q.get().await, Ok(2));
    assert_eq!(q.get().await, Ok(3));
    assert!(q.is_empty());
}

#[anyloop::test]
async fn get_blocks_while_empty() {
    let q = Queue::new(0);
    let getter = anyloop::spawn({
        let q = q.clone();
        async move { q.get().await }
    });
    settle().await;
    assert!(!getter.is_finished());
    q.put_nowait("x").unwrap();
    assert_eq!(getter.await.unwrap(), Ok("x"));
}

#[anyloop::test]
async fn waiting_getters_and_putters_are_served_fifo() {
    let q = Queue::new(1);
    let got = Rc::new(RefCell::new(Vec::new()));
    let getters: Vec<_> = (0..3)
        .map(|i| {
            let (q, got) = (q.clone(), got.clone());
            anyloop::spawn(async move {
                let v = q.get().await.unwrap();
                got.borrow_mut().push((i, v));
            })
        })
        .collect();
    settle().await;
    for v in ["a", "b", "c"] {
        q.put(v).await.unwrap();
    }
    for g in getters {
        g.await.unwrap();
    }
    assert_eq!(*got.borrow(), [(0, "a"), (1, "b"), (2, "c")]);

    q.put_nowait("first").unwrap();
    let putters: Vec<_> = ["p0", "p1", "p2"]
        .into_iter()
        .map(|v| {
            let q = q.clone();
            anyloop::spawn(async move { q.put(v).await.unwrap() })
        })
        .collect();
    settle().await;
    let mut out = Vec::new();
    for _ in 0..4 {
        out.push(q.get().await.unwrap());
    }
    for p in putters {
        p.await.unwrap();
    }
    assert_eq!(out, ["first", "p0", "p1", "p2"]);
}

#[anyloop::test]
async fn queue_full_and_queue_empty() {
    let q = Queue::new(1);
    assert!(q.get_nowait().unwrap_err().is_empty());
    q.put_nowait(10).unwrap();
    match q.put_nowait(11) {
        Err(TryPutError::Full(QueueFull(item))) => assert_eq!(item, 11),
        other => panic!("expected QueueFull, got {other:?}"),
    }
    assert_eq!(q.put_nowait(12).unwrap_err().into_inner(), 12);
    assert_eq!(q.get_nowait(), Ok(10));
    assert!(q.get_nowait().unwrap_err().is_empty());
}

#[anyloop::test]
async fn unbounded_queue_is_never_full() {
    let q = Queue::new(0);
    for i in 0..1000 {
        q.put_nowait(i).unwrap();
    }
    assert!(!q.is_full());
    assert_eq!(q.qsize(), 1000);
    assert_eq!(q.maxsize(), 0);
}

#[anyloop::test]
async fn cloned_handles_share_one_queue() {
    let q = Queue::new(0);
    let q2 = q.clone();
    q.put_nowait(1).unwrap();
    assert_eq!(q2.qsize(), 1);
    assert_eq!(q2.get_nowait(), Ok(1));
    assert!(q.is_empty());
}

#[anyloop::test]
async fn task_done_and_join_accounting() {
    let q = Queue::new(0);
    q.join().await; // nothing put: returns at once
    for i in 0..3 {
        q.put_nowait(i).unwrap();
    }
    let joined = Rc::new(Cell::new(false));
    let joiner = anyloop::spawn({
        let (q, joined) = (q.clone(), joined.clone());
        async move {
            q.join().await;
            joined.set(true);
        }
    });
    for _ in 0..3 {
        q.get().await.unwrap();
    }
    settle().await;
    assert!(!joined.get(), "items taken but not done");
    q.task_done().unwrap();
    q.task_done().unwrap();
    settle().await;
    assert!(!joined.get());
    q.task_done().unwrap();
    joiner.await.unwrap();
    assert!(joined.get());
    let err = q.task_done().unwrap_err();
    assert_eq!(err.to_string(), "task_done() called too many times");
}

#[anyloop::test]
async fn shutdown_not_immediate_lets_getters_drain() {
    let q = Queue::new(1);
    q.put_nowait(1).unwrap();
    let putter = anyloop::spawn({
        let q = q.clone();
        async move { q.put(2).await }
    });
    settle().await;
    q.shutdown(false);
    assert_eq!(
        putter.await.unwrap(),
        Err(QueueShutDown(2)),
        "waiting put fails"
    );
    assert!(q.put_nowait(3).unwrap_err().is_shutdown());
    assert_eq!(q.put(4).await.unwrap_err().into_inner(), 4);
    assert_eq!(q.get().await, Ok(1), "items left are still delivered");
    assert_eq!(q.get().await, Err(QueueShutDown(())));
    assert!(q.get_nowait().unwrap_err().is_shutdown());
}

#[anyloop::test]
async fn shutdown_wakes_waiting_getters() {
    let q = Queue::<u32>::new(0);
    let getters: Vec<_> = (0..3)
        .map(|_| {
            let q = q.clone();
            anyloop::spawn(async move { q.get().await })
        })
        .collect();
    settle().await;
    q.shutdown(false);
    for g in getters {
        assert_eq!(g.await.unwrap(), Err(QueueShutDown(())));
    }
}

#[anyloop::test]
async fn shutdown_immediate_drops_items_and_releases_join() {
    let q = Queue::new(0);
    for i in 0..5 {
        q.put_nowait(i).unwrap();
    }
    let taken = q.get().await.unwrap();
    assert_eq!(taken, 0);
    let joiner = anyloop::spawn({
        let q = q.clone();
        async move { q.join().await }
    });
    settle().await;
    q.shutdown(true);
    assert!(q.is_empty(), "items dropped");
    assert!(q.get().await.is_err());
    settle().await;
    assert!(!joiner.is_finished(), "the item taken is not done yet");
    q.task_done().unwrap();
    joiner.await.unwrap();
}

#[anyloop::test]
async fn cancelled_getter_does_not_lose_its_item() {
    let q = Queue::new(0);
    let spawn_getter = || {
        let q = q.clone();
        anyloop::spawn(async move { q.get().await.unwrap() })
    };
    let a = spawn_getter();
    let b = spawn_getter();
    settle().await;
    q.put_nowait(42).unwrap(); // reserved for a
    a.cancel(); // before a runs: the item goes to b
    assert!(a.await.unwrap_err().is_cancelled());
    assert_eq!(b.await.unwrap(), 42);

    let c = spawn_getter();
    settle().await;
    q.put_nowait(43).unwrap();
    c.cancel(); // nobody else waits: the item stays queued
    assert!(c.await.unwrap_err().is_cancelled());
    assert_eq!(q.get_nowait(), Ok(43));
}

#[anyloop::test]
async fn cancelled_putter_frees_its_slot_for_the_next() {
    let q = Queue::new(1);
    q.put_nowait(0).unwrap();
    let spawn_putter = |v: i32| {
        let q = q.clone();
        anyloop::spawn(async move { q.put(v).await.unwrap() })
    };
    let a = spawn_putter(1);
    let b = spawn_putter(2);
    settle().await;
    assert_eq!(q.get().await, Ok(0)); // slot reserved for a
    a.cancel();
    assert!(a.await.unwrap_err().is_cancelled());
    b.await.unwrap();
    assert_eq!(q.get_nowait(), Ok(2));
    assert!(q.get_nowait().is_err());
}
