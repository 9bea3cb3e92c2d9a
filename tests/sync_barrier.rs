//! `anyloop::sync::Barrier`: arrival indices, rounds, abort and reset.

use std::rc::Rc;

use anyloop::sync::Barrier;

async fn settle() {
    for _ in 0..8 {
        anyloop::yield_now().await;
    }
}

fn spawn_parties(
    b: &Rc<Barrier>,
    n: usize,
) -> Vec<anyloop::Task<Result<usize, anyloop::sync::BrokenBarrier>>> {
    (0..n)
        .map(|_| {
            let b = b.clone();
            anyloop::spawn(async move { b.wait().await })
        })
        .collect()
}

#[anyloop::test]
async fn barrier_indices_over_two_rounds() {
    let b = Rc::new(Barrier::new(3));
    for _round in 0..2 {
        let tasks = spawn_parties(&b, 2);
        settle().await;
        assert_eq!(b.n_waiting(), 2);
        // The last to arrive gets parties - 1 and releases the others.
        assert_eq!(b.wait().await, Ok(2));
        let mut got = Vec::new();
        for t in tasks {
            got.push(t.await.unwrap().unwrap());
        }
        assert_eq!(got, [0, 1]);
        assert_eq!(b.n_waiting(), 0);
    }
}

#[anyloop::test]
async fn barrier_abort_breaks_current_and_later_waits() {
    let b = Rc::new(Barrier::new(3));
    let tasks = spawn_parties(&b, 2);
    settle().await;
    b.abort();
    assert!(b.is_broken());
    for t in tasks {
        assert!(t.await.unwrap().is_err());
    }
    assert!(b.wait().await.is_err());
    b.reset();
    assert!(!b.is_broken());
    let tasks = spawn_parties(&b, 3);
    let mut got = Vec::new();
    for t in tasks {
        got.push(t.await.unwrap().unwrap());
    }
    assert_eq!(got, [0, 1, 2]);
}

#[anyloop::test]
async fn barrier_reset_fails_waiters_and_empties_it() {
    let b = Rc::new(Barrier::new(2));
    let tasks = spawn_parties(&b, 1);
    settle().await;
    b.reset();
    assert!(tasks.into_iter().next().unwrap().await.unwrap().is_err());
    assert_eq!(b.n_waiting(), 0);
    assert!(!b.is_broken());
}

#[anyloop::test]
async fn cancelled_party_leaves_the_barrier() {
    let b = Rc::new(Barrier::new(2));
    let tasks = spawn_parties(&b, 1);
    settle().await;
    assert_eq!(b.n_waiting(), 1);
    for t in &tasks {
        t.cancel();
    }
    for t in tasks {
        assert!(t.await.unwrap_err().is_cancelled());
    }
    assert_eq!(b.n_waiting(), 0);
    let tasks = spawn_parties(&b, 1);
    settle().await;
    assert_eq!(b.wait().await, Ok(1));
    for t in tasks {
        assert_eq!(t.await.unwrap(), Ok(0));
    }
}

#[anyloop::test]
async fn barrier_of_one_never_waits() {
    let b = Barrier::new(1);
    assert_eq!(b.wait().await, Ok(0));
    assert_eq!(b.wait().await, Ok(0));
}
