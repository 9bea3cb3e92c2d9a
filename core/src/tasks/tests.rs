//! Unit tests of the tasks chapter on the mock host (virtual time).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use crate::testing::MockHost;
use crate::time::{Instant, TimeoutScope};
use crate::{
    all_tasks, as_completed, call_at, call_later, call_soon, capture_call_graph, current_task,
    gather, shield, sleep, spawn, task::Builder, timeout, try_gather, wait, yield_now, EventLoop,
    ReturnWhen, TaskGroup,
};

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

fn push(log: &Log, s: impl Into<String>) {
    log.borrow_mut().push(s.into());
}

/// Runs `fut` on a fresh mock loop and checks that it leaked no task.
fn run<F: std::future::Future>(fut: F) -> F::Output {
    let lp = EventLoop::new(MockHost::new());
    let out = lp.block_on(fut);
    assert_eq!(lp.task_count(), 0, "the test left tasks running");
    out
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn gather_keeps_argument_order() {
    run(async {
        let (a, b, c) = crate::gather!(
            async {
                sleep(ms(30)).await;
                'a'
            },
            async {
                sleep(ms(10)).await;
                'b'
            },
            async { 'c' },
        )
        .await;
        assert_eq!((a, b, c), ('a', 'b', 'c'));
        let v = gather([30u64, 10, 20].map(|d| async move {
            sleep(ms(d)).await;
            d
        }))
        .await;
        assert_eq!(v, [30, 10, 20]);
    });
}

#[test]
fn gather_failing_child_does_not_cancel_others() {
    run(async {
        let log = log();
        let l = log.clone();
        let tasks = vec![
            spawn(async { Err::<u8, _>("boom") }),
            spawn(async move {
                sleep(ms(10)).await;
                push(&l, "slow finished");
                Ok(2)
            }),
        ];
        let out = gather(tasks).await;
        assert_eq!(out[0].as_ref().unwrap(), &Err("boom"));
        assert_eq!(out[1].as_ref().unwrap(), &Ok(2));
        assert_eq!(*log.borrow(), ["slow finished"]);
    });
}

#[test]
fn try_gather_returns_first_error_and_tasks_keep_running() {
    run(async {
        let log = log();
        let l = log.clone();
        let slow = spawn(async move {
            sleep(ms(10)).await;
            push(&l, "slow finished");
            Ok::<_, &str>(1)
        });
        let slow_ref = slow.task_ref();
        let bad = spawn(async { Err::<i32, _>("boom") });
        let res = try_gather([slow, bad].map(|t| async move { t.await.unwrap() })).await;
        assert_eq!(res, Err("boom"));
        // The other task was detached, not cancelled (asyncio semantics).
        assert!(!slow_ref.is_finished());
        sleep(ms(20)).await;
        assert_eq!(*log.borrow(), ["slow finished"]);
        let r = crate::try_gather!(async { Ok::<_, ()>(1) }, async { Ok(2) }).await;
        assert_eq!(r, Ok((1, 2)));
    });
}

#[test]
fn wait_first_exception_splits_done_and_pending() {
    run(async {
        let tasks = vec![
            spawn(async {
                sleep(ms(30)).await;
                Ok::<_, &str>(1)
            }),
            spawn(async {
                sleep(ms(10)).await;
                Err("bad")
            }),
            spawn(async {
                sleep(ms(5)).await;
                Ok(3)
            }),
            spawn(async {
                sleep(ms(20)).await;
                Ok(4)
            }),
        ];
        let ids: Vec<_> = tasks.iter().map(|t| t.id()).collect();
        let start = Instant::now();
        let (done, pending) = wait(tasks, ReturnWhen::FirstException)
            .fail_if(Result::is_err)
            .await;
        assert_eq!(start.elapsed(), ms(10));
        assert_eq!(
            done.iter().map(|t| t.id()).collect::<Vec<_>>(),
            [ids[1], ids[2]]
        );
        assert_eq!(
            pending.iter().map(|t| t.id()).collect::<Vec<_>>(),
            [ids[0], ids[3]]
        );
        assert!(pending.iter().all(|t| !t.is_finished()));
        let mut outs = Vec::new();
        for t in done {
            outs.push(t.await.unwrap());
        }
        assert_eq!(outs, [Err("bad"), Ok(3)]);
        // Pending tasks were not cancelled: they still finish.
        let (done, pending) = wait(pending, ReturnWhen::AllCompleted).await;
        assert_eq!((done.len(), pending.len()), (2, 0));
    });
}

#[test]
fn wait_first_exception_counts_panics_not_cancellations() {
    run(async {
        let cancelled = spawn(std::future::pending::<()>());
        cancelled.cancel();
        let panics = spawn(async {
            sleep(ms(10)).await;
            panic!("boom");
        });
        let slow = spawn(sleep(ms(50)));
        let (done, pending) = wait([cancelled, panics, slow], ReturnWhen::FirstException).await;
        assert_eq!((done.len(), pending.len()), (2, 1));
        for t in pending {
            t.cancel();
            assert!(t.await.unwrap_err().is_cancelled());
        }
    });
}

#[test]
fn wait_first_completed_and_timeout() {
    run(async {
        let a = spawn(sleep(ms(20)));
        let b = spawn(sleep(ms(10)));
        let (done, pending) = wait([a, b], ReturnWhen::FirstCompleted).await;
        assert_eq!((done.len(), pending.len()), (1, 1));
        let start = Instant::now();
        let (done, pending) = wait(pending, ReturnWhen::AllCompleted).timeout(ms(5)).await;
        assert_eq!(start.elapsed(), ms(5));
        assert_eq!((done.len(), pending.len()), (0, 1));
        let (done, _) = wait(pending, ReturnWhen::AllCompleted).await;
        assert_eq!(done.len(), 1);
        let (d, p) = wait(Vec::<crate::Task<()>>::new(), ReturnWhen::AllCompleted).await;
        assert!(d.is_empty() && p.is_empty());
    });
}

#[test]
fn as_completed_yields_in_completion_order() {
    run(async {
        let tasks = [30u64, 10, 20, 10].map(|d| {
            spawn(async move {
                sleep(ms(d)).await;
                d
            })
        });
        let mut it = as_completed(tasks);
        let mut order = Vec::new();
        while let Some(v) = it.next().await {
            order.push(v.unwrap());
        }
        assert_eq!(order, [10, 10, 20, 30]);

        let slow = spawn(sleep(ms(100)));
        let slow_ref = slow.task_ref();
        let mut it = as_completed([spawn(sleep(ms(1))), slow]).timeout(ms(10));
        assert!(it.next().await.unwrap().is_ok());
        let start = Instant::now();
        assert!(it.next().await.unwrap().is_err());
        assert_eq!(start.elapsed(), ms(9));
        assert!(it.next().await.is_none());
        // Timing out detached the task; it still runs.
        assert!(!slow_ref.is_finished());
        slow_ref.cancel();
        yield_now().await;
    });
}

#[test]
fn shielded_inner_completes_after_outer_cancel() {
    run(async {
        let log = log();
        let l = log.clone();
        let outer = spawn(async move {
            let l2 = l.clone();
            let r = shield(async move {
                sleep(ms(20)).await;
                push(&l2, "inner done");
            })
            .await;
            push(&l, "outer done");
            r
        });
        sleep(ms(5)).await;
        outer.cancel();
        assert!(outer.await.unwrap_err().is_cancelled());
        sleep(ms(30)).await;
        assert_eq!(*log.borrow(), ["inner done"]);
    });
}

#[test]
fn task_group_failure_cancels_siblings_and_reports_all() {
    run(async {
        struct PanicOnDrop;
        impl Drop for PanicOnDrop {
            fn drop(&mut self) {
                panic!("cleanup");
            }
        }
        let log = log();
        let group = TaskGroup::<String>::new();
        let l = log.clone();
        let sibling = group
            .spawn(async move {
                sleep(ms(100)).await;
                push(&l, "sibling finished");
                Ok(())
            })
            .unwrap();
        group
            .spawn_with(Builder::new().name("dirty"), async {
                let _d = PanicOnDrop;
                sleep(ms(100)).await;
                Ok(())
            })
            .unwrap();
        let handle = group.handle();
        let failing = group
            .spawn_with(Builder::new().name("failing"), async {
                sleep(ms(10)).await;
                Err::<(), _>("first".to_string())
            })
            .unwrap();
        let start = Instant::now();
        let err = group.join().await.unwrap_err();
        assert_eq!(start.elapsed(), ms(10));
        assert!(log.borrow().is_empty());
        assert_eq!(err.len(), 2, "{err:?}");
        assert_eq!(err.failures()[0].name(), Some("failing"));
        assert_eq!(err.failures()[0].error().map(String::as_str), Some("first"));
        assert_eq!(err.failures()[1].name(), Some("dirty"));
        assert!(err.failures()[1].is_panic());
        let e = sibling.await.unwrap_err();
        assert!(e.is_cancelled());
        assert!(e.cancel_message().unwrap().contains("sibling"));
        let own = failing.await.unwrap_err();
        assert!(own.is_failed());
        assert_eq!(own.error().map(String::as_str), Some("first"));
        assert!(handle.spawn(async { Ok(()) }).unwrap_err().is_finished());
    });
}

#[test]
fn task_group_panic_is_a_failure() {
    run(async {
        let group = TaskGroup::<()>::new();
        let other = group
            .spawn(std::future::pending::<Result<(), ()>>())
            .unwrap();
        let p = group
            .spawn(async {
                yield_now().await;
                if true {
                    panic!("child panic");
                }
                Ok(())
            })
            .unwrap();
        let err = group.join().await.unwrap_err();
        assert_eq!(err.failures()[0].panic_message(), Some("child panic"));
        assert!(p.await.unwrap_err().is_panic());
        assert!(other.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn task_group_dropped_or_owner_cancelled_cancels_children() {
    run(async {
        let log = log();
        let l = log.clone();
        let owner = spawn(async move {
            let group = TaskGroup::<()>::new();
            for i in 0..3 {
                let l = l.clone();
                group
                    .spawn(async move {
                        sleep(ms(50)).await;
                        push(&l, format!("child {i}"));
                        Ok(())
                    })
                    .unwrap();
            }
            group.join().await
        });
        sleep(ms(10)).await;
        assert_eq!(all_tasks().len(), 5);
        owner.cancel();
        assert!(owner.await.unwrap_err().is_cancelled());
        yield_now().await;
        assert_eq!(all_tasks().len(), 1);
        assert!(log.borrow().is_empty());

        let group = TaskGroup::<()>::new();
        let t = group
            .spawn(std::future::pending::<Result<(), ()>>())
            .unwrap();
        let h = group.handle();
        drop(group);
        assert!(h.spawn(async { Ok(()) }).unwrap_err().is_shutting_down());
        assert!(t.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn task_group_children_spawn_siblings_while_joining() {
    run(async {
        let group = TaskGroup::<()>::new();
        let h = group.handle();
        let count = Rc::new(RefCell::new(0));
        let c = count.clone();
        group
            .spawn(async move {
                sleep(ms(5)).await;
                let c2 = c.clone();
                h.spawn(async move {
                    sleep(ms(5)).await;
                    *c2.borrow_mut() += 1;
                    Ok(())
                })
                .unwrap();
                *c.borrow_mut() += 1;
                Ok(())
            })
            .unwrap();
        group.join().await.unwrap();
        assert_eq!(*count.borrow(), 2);
    });
}

crate::task_local! {
    static REQUEST: u32;
    static DEPTH: u32 = 0;
}

#[test]
fn task_locals_are_copied_on_spawn() {
    run(async {
        assert_eq!(REQUEST.get(), None);
        assert_eq!(DEPTH.get(), Some(0));
        REQUEST.set(1);
        let child = spawn(async {
            let seen = REQUEST.get();
            REQUEST.set(2);
            DEPTH.set(1);
            let grandchild = spawn(async { (REQUEST.get(), DEPTH.get()) }).await.unwrap();
            (seen, REQUEST.get(), grandchild)
        });
        // Set after the spawn: the child keeps its copy.
        REQUEST.set(10);
        let (seen, own, grand) = child.await.unwrap();
        assert_eq!(seen, Some(1));
        assert_eq!(own, Some(2));
        assert_eq!(grand, (Some(2), Some(1)));
        assert_eq!(REQUEST.get(), Some(10));
        assert_eq!(DEPTH.get(), Some(0));
        REQUEST.remove();
        assert!(!REQUEST.is_set());
        // Callbacks get the caller's context too.
        REQUEST.set(5);
        let got = Rc::new(RefCell::new(None));
        let g = got.clone();
        call_soon(move || *g.borrow_mut() = REQUEST.get());
        yield_now().await;
        assert_eq!(*got.borrow(), Some(5));
    });
}

#[test]
fn eager_task_runs_until_first_suspension() {
    run(async {
        let log = log();
        let l = log.clone();
        push(&log, "before spawn");
        let t = Builder::new().eager(true).name("eager").spawn(async move {
            push(&l, "eager start");
            assert_eq!(current_task().unwrap().name(), Some("eager"));
            yield_now().await;
            push(&l, "eager resumed");
        });
        push(&log, "after spawn");
        assert_eq!(current_task().unwrap().name(), Some("main"));
        t.await.unwrap();
        assert_eq!(
            *log.borrow(),
            [
                "before spawn",
                "eager start",
                "after spawn",
                "eager resumed"
            ]
        );
        let done = Builder::new().eager(true).spawn(async { 5 });
        assert!(done.is_finished());
        assert_eq!(done.await.unwrap(), 5);
        let lazy = spawn(async { 6 });
        assert!(!lazy.is_finished());
        lazy.await.unwrap();
    });
}

#[test]
fn cancel_message_reaches_the_awaiter() {
    run(async {
        let t = spawn(sleep(ms(100)));
        yield_now().await;
        assert!(t.cancel_with("stop now"));
        assert_eq!(t.task_ref().cancel_message().as_deref(), Some("stop now"));
        let e = t.await.unwrap_err();
        assert!(e.is_cancelled());
        assert_eq!(e.cancel_message(), Some("stop now"));
        assert_eq!(e.to_string(), "task was cancelled: stop now");
    });
}

#[test]
fn call_soon_later_at_order_and_cancel() {
    run(async {
        let log = log();
        let at = Instant::now() + ms(10);
        let l = log.clone();
        call_later(ms(20), move || push(&l, "later 20"));
        let l = log.clone();
        call_at(at, move || push(&l, "at 10 #1"));
        let l = log.clone();
        let cancelled = call_at(at, move || push(&l, "cancelled"));
        let l = log.clone();
        call_at(at, move || push(&l, "at 10 #2"));
        let l = log.clone();
        call_soon(move || push(&l, "soon 1"));
        let l = log.clone();
        call_soon(move || push(&l, "soon 2"));
        assert!(cancelled.cancel());
        assert!(!cancelled.cancel());
        assert_eq!(cancelled.when(), Some(at));
        sleep(ms(30)).await;
        assert_eq!(
            *log.borrow(),
            ["soon 1", "soon 2", "at 10 #1", "at 10 #2", "later 20"]
        );
        assert!(cancelled.is_cancelled());
    });
}

#[test]
fn call_graph_follows_awaiters() {
    run(async {
        let main = current_task().unwrap().id();
        let inner = Rc::new(RefCell::new(None));
        let i = inner.clone();
        let mid = Builder::new().name("mid").spawn(async move {
            Builder::new()
                .name("leaf")
                .spawn(async move {
                    yield_now().await;
                    *i.borrow_mut() = capture_call_graph();
                })
                .await
                .unwrap();
        });
        let mid_id = mid.id();
        mid.await.unwrap();
        let g = inner.borrow_mut().take().unwrap();
        assert_eq!(g.task().name(), Some("leaf"));
        assert_eq!(g.chain()[1..], [mid_id, main]);
        let text = g.to_string();
        assert!(text.starts_with("* Task(name='leaf'"), "{text}");
        assert!(text.contains("\n    * Task(name='mid'"), "{text}");
        assert!(text.contains("\n        * Task(name='main'"), "{text}");
        // Finished awaits leave no edge behind.
        assert!(capture_call_graph().unwrap().awaited_by().is_empty());
    });
}

#[test]
fn timeout_scope_reschedule_and_nesting() {
    run(async {
        // Rescheduled from another task while it runs.
        let scope = TimeoutScope::new(None);
        let s = scope.clone();
        spawn(async move {
            sleep(ms(10)).await;
            s.reschedule(Some(Instant::now() + ms(5)));
        })
        .detach();
        let start = Instant::now();
        assert!(scope.run(sleep(ms(1000))).await.is_err());
        assert_eq!(start.elapsed(), ms(15));
        assert!(scope.expired());

        // Nested: the inner deadline fires, the outer keeps going.
        let outer = TimeoutScope::after(ms(50));
        let inner = TimeoutScope::after(ms(10));
        let i = inner.clone();
        let o = outer.clone();
        let res = outer
            .run(async move {
                assert!(i.run(sleep(ms(30))).await.is_err());
                // Extend the outer deadline from inside.
                o.reschedule(o.when().map(|w| w + ms(100)));
                sleep(ms(80)).await;
                "outer ok"
            })
            .await;
        assert_eq!(res, Ok("outer ok"));
        assert!(inner.expired() && !outer.expired());

        // `timeout` (wait_for) still works, and its deadline can be read.
        let t = timeout(ms(5), sleep(ms(10)));
        let d = t.deadline();
        assert_eq!(t.await.unwrap_err().deadline(), d);
    });
}

#[test]
fn as_completed_orders_by_completion_even_when_polled_late() {
    run(async {
        let tasks = [40u64, 10, 30, 20].map(|d| {
            spawn(async move {
                sleep(ms(d)).await;
                d
            })
        });
        let mut it = as_completed(tasks);
        // Poll once (registering the wakers), then let all of them finish
        // before the iterator runs again.
        assert!(timeout(ms(1), it.next()).await.is_err());
        sleep(ms(100)).await;
        let mut order = Vec::new();
        while let Some(v) = it.next().await {
            order.push(v.unwrap());
        }
        assert_eq!(order, [10, 20, 30, 40]);
    });
}

/// Polls the inner future, counting polls.
struct CountPolls<F> {
    fut: std::pin::Pin<Box<F>>,
    polls: Rc<std::cell::Cell<usize>>,
}

impl<F: std::future::Future> std::future::Future for CountPolls<F> {
    type Output = F::Output;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        self.polls.set(self.polls.get() + 1);
        self.fut.as_mut().poll(cx)
    }
}

#[test]
fn many_futures_are_polled_only_when_woken() {
    run(async {
        let n = if cfg!(miri) { 100 } else { 2000 };
        let polls = Rc::new(std::cell::Cell::new(0));
        let futs = (0..n as u64).map(|i| CountPolls {
            fut: Box::pin(sleep(ms(i % (n as u64 / 4) + 1))),
            polls: polls.clone(),
        });
        gather(futs).await;
        // Each future: one first poll, one when its timer fires (quadratic
        // polling would be about n * n / 8).
        assert!(polls.get() <= 2 * n, "{} polls", polls.get());

        polls.set(0);
        let futs = (0..n as u64).map(|i| CountPolls {
            fut: Box::pin(sleep(ms(i % (n as u64 / 4) + 1))),
            polls: polls.clone(),
        });
        let mut it = as_completed(futs);
        let mut k = 0;
        while it.next().await.is_some() {
            k += 1;
        }
        assert_eq!(k, n);
        assert!(polls.get() <= 2 * n, "{} polls", polls.get());

        let tasks: Vec<_> = (0..n as u64)
            .map(|i| spawn(sleep(ms(i % (n as u64 / 4) + 1))))
            .collect();
        let (done, pending) = wait(tasks, ReturnWhen::AllCompleted).await;
        assert_eq!((done.len(), pending.len()), (n, 0));
    });
}

#[test]
fn task_group_eager_children_that_finish_inside_spawn() {
    run(async {
        let group = TaskGroup::<&str>::new();
        let sibling = group
            .spawn(std::future::pending::<Result<(), _>>())
            .unwrap();
        let ok = group
            .spawn_with(Builder::new().eager(true), async { Ok(1) })
            .unwrap();
        assert!(ok.is_finished());
        let bad = group
            .spawn_with(Builder::new().eager(true).name("eager-bad"), async {
                Err::<(), _>("eager failure")
            })
            .unwrap();
        assert!(bad.is_finished());
        assert!(group.has_failed());
        let err = group.join().await.unwrap_err();
        assert_eq!(err.failures()[0].name(), Some("eager-bad"));
        assert_eq!(ok.await.unwrap(), 1);
        assert!(sibling.await.unwrap_err().is_cancelled());
    });
}

/// A task that catches every cancel and goes on waiting cannot keep the
/// loop from shutting down: later shutdown rounds drop it.
#[test]
fn shutdown_ends_a_task_that_catches_every_cancel() {
    let caught = Rc::new(std::cell::Cell::new(0u32));
    let c = caught.clone();
    let lp = EventLoop::new(MockHost::new());
    lp.block_on(async move {
        spawn(async move {
            loop {
                if crate::catch_cancel(std::future::pending::<()>())
                    .await
                    .is_err()
                {
                    c.set(c.get() + 1);
                }
            }
        })
        .detach();
        yield_now().await;
    });
    drop(lp);
    assert_eq!(caught.get(), 1, "the first shutdown round is catchable");
}

/// A catch point moved to another task is armed in the task that polls it.
#[test]
fn catch_point_follows_the_polling_task() {
    run(async {
        let mut c = Box::pin(crate::catch_cancel(std::future::pending::<()>()));
        // Armed in the main task...
        assert!(futures_lite::future::poll_once(c.as_mut()).await.is_none());
        // ...then awaited by another task, which is cancelled.
        let t = spawn(async move { c.await.map_err(|e| e.message().map(String::from)) });
        yield_now().await;
        t.cancel_with("moved");
        assert_eq!(t.await.unwrap(), Err(Some("moved".to_string())));
        assert_eq!(current_task().unwrap().cancelling(), 0);
    });
}

#[test]
fn all_tasks_lists_live_tasks_in_spawn_order() {
    run(async {
        let main = current_task().unwrap().id();
        let a = spawn(std::future::pending::<()>());
        let b = spawn(yield_now());
        let c = spawn(std::future::pending::<()>());
        let ids = |v: Vec<crate::TaskRef>| v.iter().map(|t| t.id()).collect::<Vec<_>>();
        assert_eq!(ids(all_tasks()), [main, a.id(), b.id(), c.id()]);
        // `b` ends (leaves the middle of the registry), then `a` (its head
        // after `main`), then `c` (its tail).
        let b_id = b.id();
        b.await.unwrap();
        assert!(!ids(all_tasks()).contains(&b_id));
        assert_eq!(ids(all_tasks()), [main, a.id(), c.id()]);
        a.cancel();
        let _ = a.await;
        c.cancel();
        let _ = c.await;
        assert_eq!(ids(all_tasks()), [main]);
        let d = spawn(std::future::pending::<()>());
        assert_eq!(ids(all_tasks()), [main, d.id()]);
        d.cancel();
        let _ = d.await;
    });
}

#[test]
fn task_stats_stay_per_task_when_statistics_restart() {
    use crate::debug::{collect_task_stats, task_stats};
    run(async {
        let stats = collect_task_stats();
        let a = spawn(async {
            loop {
                yield_now().await;
            }
        });
        yield_now().await;
        yield_now().await;
        assert_eq!(task_stats(&a.task_ref()).unwrap().polls(), 2);
        // Off (the counters are dropped) and on again: `b` may get the
        // index `a` had, which must not mix their counters.
        drop(stats);
        let _stats = collect_task_stats();
        let b = spawn(std::future::pending::<()>());
        yield_now().await;
        assert_eq!(task_stats(&a.task_ref()).unwrap().polls(), 1);
        assert_eq!(task_stats(&b.task_ref()).unwrap().polls(), 1);
        yield_now().await;
        assert_eq!(task_stats(&a.task_ref()).unwrap().polls(), 2);
        assert_eq!(task_stats(&b.task_ref()).unwrap().polls(), 1);
        a.cancel();
        b.cancel();
        let _ = a.await;
        let _ = b.await;
    });
}
