//! The demo's scenarios: ordinary anyloop programs whose tasks are rows of
//! the [`board`]. Each returns its group's id once every task
//! it started has finished.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::hint::black_box;
use std::rc::Rc;
use std::time::Duration;

use anyloop::time::Instant;

use anyloop::queue::Queue;
use anyloop::task::Builder;
use anyloop::{GroupTask, TaskGroup};

use crate::board::{self, nap, spawn_row, waiting, GroupId, Phase, RowId};

use crate::mini::{spin, Latch};

/// Keeps the CPU busy for about `ms`, yielding to the loop every 2 ms:
/// the row shows as running meanwhile.
async fn busy(ms: u64) {
    let end = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < end {
        let chunk = Instant::now() + Duration::from_millis(2);
        while Instant::now() < chunk && Instant::now() < end {
            black_box(spin(black_box(200)));
        }
        anyloop::yield_now().await;
    }
}

fn secs(ms: f64) -> String {
    format!("{} s", board::Fixed(ms / 1e3, 2))
}

/// `n` tasks, each doing three rounds of a little CPU work followed by a
/// random sleep of up to `max_sleep_ms`.
pub async fn sleepers(n: u32, max_sleep_ms: u64) -> GroupId {
    let g = board::new_group("sleepers", format!("{n} tasks with random sleeps"));
    let t0 = board::now_ms();
    board::log(format!("spawn({n} sleepers)"));
    let mut tasks = Vec::new();
    for i in 1..=n {
        let (_, task) = spawn_row(g, &format!("sleeper-{i}"), move |row| async move {
            let mut slept = 0;
            for round in 1..=3 {
                board::set_detail(row, format!("round {round}/3"));
                busy(board::rand_range(max_sleep_ms / 40, max_sleep_ms / 15)).await;
                let ms = board::rand_range(max_sleep_ms / 5, max_sleep_ms);
                slept += ms;
                nap(row, ms).await;
            }
            board::set_detail(row, format!("slept {slept} ms"));
            Ok::<_, String>(slept)
        });
        tasks.push(task);
    }
    let (mut done, mut cancelled, mut failed) = (0, 0, 0);
    for t in tasks {
        match t.await {
            Ok(Ok(_)) => done += 1,
            Ok(Err(_)) => failed += 1,
            Err(e) if e.is_cancelled() => cancelled += 1,
            Err(_) => failed += 1,
        }
    }
    let took = board::now_ms() - t0;
    board::set_summary(
        g,
        format!(
            "{n} tasks: {done} done, {cancelled} cancelled, {failed} failed in {}",
            secs(took)
        ),
    );
    board::finish_group(g, Phase::Done);
    board::log(format!(
        "sleepers finished: {done} done, {cancelled} cancelled"
    ));
    g
}

/// `tg.spawn_with(..)` with its own [`track`](board::track)ed row in `g`.
fn spawn_child<T, F>(
    tg: &TaskGroup<String>,
    g: GroupId,
    name: &str,
    body: impl FnOnce(RowId) -> F,
) -> Result<GroupTask<T, String>, String>
where
    T: 'static,
    F: Future<Output = Result<T, String>> + 'static,
{
    let row = board::add_row(g, name);
    let task = tg
        .spawn_with(
            Builder::new().name(name.to_owned()),
            board::track(row, body(row)),
        )
        .map_err(|e| e.to_string())?;
    board::set_task(row, task.task_ref());
    Ok(task)
}

/// A [`TaskGroup`] of `fetchers` children sleeping up to `sleep_ms` and one
/// `flaky` child that fails after `fail_after_ms`: the failure cancels the
/// siblings still running, and `join` reports the error (asyncio's
/// `TaskGroup` raising an `ExceptionGroup`). The group's owner is a row too:
/// cancelling it drops the group, which cancels every child.
pub async fn task_group(fetchers: u32, sleep_ms: u64, fail_after_ms: u64) -> GroupId {
    let g = board::new_group(
        "taskgroup",
        "TaskGroup: one child fails, siblings cancelled",
    );
    let (_, owner) = spawn_row(g, "async with TaskGroup()", move |main| async move {
        let tg = TaskGroup::<String>::new();
        let mut children = Vec::new();
        for i in 1..=fetchers {
            let ms = board::rand_range(sleep_ms / 2, sleep_ms);
            children.push(spawn_child(
                &tg,
                g,
                &format!("fetch-{i}"),
                |row| async move {
                    board::set_detail(row, format!("downloading ({ms} ms)"));
                    nap(row, ms).await;
                    board::set_detail(row, "downloaded");
                    Ok(())
                },
            )?);
        }
        children.push(spawn_child(&tg, g, "flaky", |row| async move {
            board::set_detail(row, "connecting…");
            nap(row, fail_after_ms).await;
            Err("ConnectionError: upstream returned 503".to_string())
        })?);
        board::set_detail(main, "join()");
        let joined = waiting(main, tg.join()).await;
        let mut cancelled = 0;
        for c in children {
            if matches!(c.await, Err(e) if e.is_cancelled()) {
                cancelled += 1;
            }
        }
        match joined {
            Ok(()) => Ok("TaskGroup finished: no child failed".to_string()),
            Err(e) => {
                let errors: Vec<&String> = e.errors().collect();
                let list: Vec<&str> = errors.iter().map(|s| s.as_str()).collect();
                Err(format!(
                    "TaskGroup raised: {} child failed ({}); {cancelled} siblings cancelled",
                    errors.len(),
                    list.join("; ")
                ))
            }
        }
    });
    let (summary, status) = match owner.await {
        Ok(Ok(s)) => (s, Phase::Done),
        Ok(Err(s)) => (s, Phase::Failed),
        Err(e) if e.is_cancelled() => (
            "the owner was cancelled: dropping the TaskGroup cancelled every child".into(),
            Phase::Cancelled,
        ),
        Err(e) => (e.to_string(), Phase::Failed),
    };
    board::log(summary.clone());
    board::set_summary(g, summary);
    board::finish_group(g, status);
    g
}

/// One producer putting `1..=items` into a queue of `maxsize`, and
/// `consumers` consumers taking them out; the summary lists the items in
/// the order they left the queue.
pub async fn producer_consumer(items: u32, maxsize: usize, consumers: u32) -> GroupId {
    let g = board::new_group(
        "queue",
        format!("producer/consumer over Queue(maxsize={maxsize})"),
    );
    let queue: Queue<u32> = Queue::new(maxsize);
    let order = Rc::new(RefCell::new(Vec::new()));
    let mut tasks = Vec::new();
    let q = queue.clone();
    let (_, producer) = spawn_row(g, "producer", move |row| async move {
        for i in 1..=items {
            nap(row, board::rand_range(40, 160)).await;
            board::set_detail(row, format!("put {i} (queue {}/{maxsize})", q.qsize()));
            waiting(row, q.put(i)).await.map_err(|e| e.to_string())?;
        }
        // asyncio 3.13's Queue.shutdown(): getters drain what is left, then
        // get() fails with QueueShutDown.
        q.shutdown(false);
        board::set_detail(row, format!("put {items} items, then shutdown()"));
        Ok::<_, String>(())
    });
    tasks.push(producer);
    for c in 1..=consumers {
        let q = queue.clone();
        let order = order.clone();
        let (_, consumer) = spawn_row(g, &format!("consumer-{c}"), move |row: RowId| async move {
            let mut got = 0;
            while let Ok(i) = waiting(row, q.get()).await {
                order.borrow_mut().push(i);
                got += 1;
                board::set_detail(row, format!("got {i}"));
                nap(row, board::rand_range(150, 450)).await;
            }
            board::set_detail(row, format!("consumed {got} items"));
            Ok::<_, String>(())
        });
        tasks.push(consumer);
    }
    for t in tasks {
        let _ = t.await;
    }
    let order = order.borrow();
    let in_order = order.iter().copied().eq(1..=items);
    let list: Vec<String> = order.iter().map(u32::to_string).collect();
    board::set_summary(
        g,
        format!(
            "consumed {} items{}: {}",
            order.len(),
            if in_order {
                " in order"
            } else {
                " OUT OF ORDER"
            },
            list.join(", ")
        ),
    );
    board::finish_group(g, if in_order { Phase::Done } else { Phase::Failed });
    board::log(format!("Queue: {} items consumed", order.len()));
    g
}

/// `n` CPU-heavy tasks (about `work` xorshift rounds each, split by one
/// `yield_now`) spawned at once. The page stays responsive meanwhile: the
/// loop yields to the browser between bounded batches.
pub async fn cpu_storm(n: u32, work: u32) -> GroupId {
    let g = board::new_group("cpu", format!("CPU storm: {n} CPU-heavy tasks"));
    let t0 = board::now_ms();
    board::set_progress(g, 0, u64::from(n));
    let (_, spawner) = spawn_row(g, "spawner", move |row| async move {
        let latch = Latch::new(n as usize);
        let done = Rc::new(Cell::new(0u64));
        for _ in 0..n {
            let latch = latch.clone();
            let done = done.clone();
            anyloop::spawn(async move {
                black_box(spin(black_box(work / 2)));
                anyloop::yield_now().await;
                black_box(spin(black_box(work / 2)));
                let d = done.get() + 1;
                done.set(d);
                if d % 1000 == 0 {
                    board::set_progress(g, d, u64::from(n));
                }
                latch.count_down();
            })
            .detach();
        }
        board::set_detail(row, format!("spawned {n} tasks"));
        waiting(row, latch.wait()).await;
        board::set_progress(g, done.get(), u64::from(n));
        board::set_detail(row, format!("all {n} tasks finished"));
        Ok::<_, String>(())
    });
    let _ = spawner.await;
    let took = board::now_ms() - t0;
    board::set_summary(g, format!("{n} tasks finished in {}", secs(took)));
    board::finish_group(g, Phase::Done);
    board::log(format!("CPU storm: {n} tasks in {}", secs(took)));
    g
}

/// Cancels the row's task (the page's cancel button).
pub fn cancel(row: RowId) -> bool {
    board::cancel(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleepers_finish() {
        anyloop::run(async {
            let g = sleepers(4, 20).await;
            let rows = board::rows_of(g);
            assert_eq!(rows.len(), 4);
            assert!(rows.iter().all(|r| r.1 == Phase::Done), "{rows:?}");
            assert!(board::summary(g).contains("4 done"));
        });
    }

    #[test]
    fn cancel_button_cancels_a_sleeper() {
        anyloop::run(async {
            let run = anyloop::spawn(sleepers(3, 200));
            anyloop::sleep(Duration::from_millis(5)).await;
            // Rows are numbered after their group; the first sleeper's row
            // is the group id + 1.
            let snapshot = board::snapshot_json();
            assert!(snapshot.contains("sleeper-1"), "{snapshot}");
            let g = run_group_id(&snapshot, "sleepers");
            assert!(cancel(g + 1));
            let g2 = run.await.unwrap();
            assert_eq!(g, g2);
            let rows = board::rows_of(g);
            assert_eq!(rows[0].1, Phase::Cancelled, "{rows:?}");
            assert!(rows[1..].iter().all(|r| r.1 == Phase::Done), "{rows:?}");
            assert!(board::summary(g).contains("1 cancelled"));
        });
    }

    fn run_group_id(snapshot: &str, kind: &str) -> u32 {
        let at = snapshot
            .find(&format!("\"kind\":\"{kind}\""))
            .expect("group in snapshot");
        let before = &snapshot[..at];
        let id_at = before.rfind("\"id\":").unwrap() + 5;
        before[id_at..].split(',').next().unwrap().parse().unwrap()
    }

    #[test]
    fn task_group_failure_cancels_siblings() {
        anyloop::run(async {
            let g = task_group(4, 200, 10).await;
            let rows = board::rows_of(g);
            let phase = |name: &str| rows.iter().find(|r| r.0 == name).unwrap().1;
            assert_eq!(phase("flaky"), Phase::Failed);
            for i in 1..=4 {
                assert_eq!(phase(&format!("fetch-{i}")), Phase::Cancelled, "{rows:?}");
            }
            assert_eq!(phase("async with TaskGroup()"), Phase::Failed);
            let s = board::summary(g);
            assert!(s.contains("4 siblings cancelled"), "{s}");
            assert!(s.contains("503"), "{s}");
        });
    }

    #[test]
    fn cancelling_the_owner_drops_the_group_and_its_children() {
        anyloop::run(async {
            let run = anyloop::spawn(task_group(3, 500, 400));
            anyloop::sleep(Duration::from_millis(10)).await;
            let g = run_group_id(&board::snapshot_json(), "taskgroup");
            // The owner's row comes first.
            assert!(cancel(g + 1));
            assert_eq!(run.await.unwrap(), g);
            let rows = board::rows_of(g);
            assert_eq!(rows.len(), 5);
            assert!(rows.iter().all(|r| r.1 == Phase::Cancelled), "{rows:?}");
            assert!(board::summary(g).contains("dropping the TaskGroup"));
        });
    }

    #[test]
    fn queue_items_consumed_in_order() {
        anyloop::run(async {
            let g = producer_consumer(8, 2, 2).await;
            let s = board::summary(g);
            assert!(s.starts_with("consumed 8 items in order: 1, 2, 3"), "{s}");
            assert!(board::rows_of(g).iter().all(|r| r.1 == Phase::Done));
        });
    }

    #[test]
    fn cpu_storm_runs_every_task() {
        anyloop::run(async {
            let g = cpu_storm(3000, 100).await;
            assert!(board::summary(g).starts_with("3000 tasks finished"));
        });
    }
}
