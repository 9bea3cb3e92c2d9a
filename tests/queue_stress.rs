//! Randomized cancellation stress of `anyloop::queue::Queue`: producers
//! and consumers are spawned and cancelled at random points (fixed seed);
//! every item put is received exactly once, nothing is invented, and no
//! waiter is left stuck.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use anyloop::queue::Queue;
use anyloop::Task;

/// xorshift64: tiny, deterministic, good enough to pick actions.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[derive(Default)]
struct Ledger {
    sent: Vec<u64>,
    received: Vec<u64>,
}

const OPS: usize = 12_000;
const MAXSIZE: usize = 4;

#[anyloop::test]
async fn random_cancellation_loses_and_duplicates_nothing() {
    let q = Queue::new(MAXSIZE);
    let ledger = Rc::new(RefCell::new(Ledger::default()));
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut next_id = 0_u64;
    let mut tasks: Vec<Task<()>> = Vec::new();
    let mut cancelled = 0;

    for _ in 0..OPS {
        match rng.below(10) {
            // A producer putting a few fresh ids.
            0 | 1 => {
                let n = 1 + rng.below(4) as u64;
                let ids = next_id..next_id + n;
                next_id += n;
                let (q, ledger) = (q.clone(), ledger.clone());
                tasks.push(anyloop::spawn(async move {
                    for id in ids {
                        if q.put(id).await.is_err() {
                            return;
                        }
                        ledger.borrow_mut().sent.push(id);
                    }
                }));
            }
            // A consumer taking a few items.
            2 | 3 => {
                let n = 1 + rng.below(4);
                let (q, ledger) = (q.clone(), ledger.clone());
                tasks.push(anyloop::spawn(async move {
                    for _ in 0..n {
                        match q.get().await {
                            Ok(id) => {
                                ledger.borrow_mut().received.push(id);
                                q.task_done().unwrap();
                            }
                            Err(_) => return,
                        }
                    }
                }));
            }
            // Cancel a random task, wherever it is.
            4 | 5 if !tasks.is_empty() => {
                let t = tasks.swap_remove(rng.below(tasks.len()));
                if t.cancel() {
                    cancelled += 1;
                }
            }
            6 => {
                let id = next_id;
                next_id += 1;
                if q.put_nowait(id).is_ok() {
                    ledger.borrow_mut().sent.push(id);
                }
            }
            7 => {
                if let Ok(id) = q.get_nowait() {
                    ledger.borrow_mut().received.push(id);
                    q.task_done().unwrap();
                }
            }
            // Let the tasks run for a while.
            _ => {
                for _ in 0..rng.below(3) + 1 {
                    anyloop::yield_now().await;
                }
            }
        }
        tasks.retain(|t| !t.is_finished());
    }
    assert!(
        cancelled > 500,
        "the stress must cancel a lot ({cancelled})"
    );

    // Wind down: no more puts; consumers drain what is left, then stop.
    // Every task must finish: nobody may be stuck.
    q.shutdown(false);
    let rest = async {
        for t in tasks {
            let _ = t.await;
        }
        while let Ok(id) = q.get_nowait() {
            ledger.borrow_mut().received.push(id);
            q.task_done().unwrap();
        }
        q.join().await;
    };
    anyloop::timeout(Duration::from_secs(60), rest)
        .await
        .expect("a waiter is stuck");

    let ledger = ledger.borrow();
    eprintln!(
        "STAT cancelled={cancelled} sent={} received={}",
        ledger.sent.len(),
        ledger.received.len()
    );
    let sent: BTreeSet<u64> = ledger.sent.iter().copied().collect();
    let received: BTreeSet<u64> = ledger.received.iter().copied().collect();
    assert_eq!(sent.len(), ledger.sent.len(), "an id was put twice");
    assert_eq!(
        received.len(),
        ledger.received.len(),
        "an item was received twice"
    );
    assert_eq!(sent, received, "items lost or invented");
    assert!(
        sent.len() > 2_000,
        "the stress must move items ({})",
        sent.len()
    );
    assert!(q.is_empty());
}

/// The same with a Lock and a Semaphore: cancelled waiters never keep the
/// lock or a permit.
#[anyloop::test]
async fn random_cancellation_keeps_lock_and_permits_balanced() {
    use anyloop::sync::{Lock, Semaphore};
    let lock = Rc::new(Lock::new(0_u64));
    let sem = Rc::new(Semaphore::new(3));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut tasks: Vec<Task<()>> = Vec::new();
    for _ in 0..OPS / 2 {
        match rng.below(4) {
            0 => {
                let (lock, sem) = (lock.clone(), sem.clone());
                let hold = rng.below(3);
                tasks.push(anyloop::spawn(async move {
                    let _p = sem.acquire().await;
                    let mut g = lock.lock().await;
                    for _ in 0..hold {
                        anyloop::yield_now().await;
                    }
                    *g += 1;
                }));
            }
            1 if !tasks.is_empty() => {
                tasks.swap_remove(rng.below(tasks.len())).cancel();
            }
            _ => anyloop::yield_now().await,
        }
        tasks.retain(|t| !t.is_finished());
    }
    let rest = async {
        for t in tasks {
            let _ = t.await;
        }
    };
    anyloop::timeout(Duration::from_secs(60), rest)
        .await
        .expect("a waiter is stuck");
    assert!(!lock.is_locked());
    assert_eq!(sem.available_permits(), 3);
    assert!(*lock.lock().await > 100);
}
