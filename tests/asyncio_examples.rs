//! The code examples of asyncio's "Coroutines and Tasks" chapter, translated.
//!
//! Each example collects what the Python version prints into a `Vec` and
//! compares it with the order the docs show. Durations are scaled down
//! (1 s → 100 ms); timings are checked with anyloop's clock, with lower
//! bounds only: where the docs make a point of concurrency (it saves a
//! whole "second"), the order of events proves it (the second task starts
//! sleeping before the first wakes), which no stall of a loaded machine
//! can change, while a deadline on the total could. Delays that only need
//! to be "later" are made much longer than in the docs so that a stalled
//! machine cannot reorder them.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use anyloop::time::{Instant, TimeoutScope};
use anyloop::{sleep, spawn, task::Builder, ReturnWhen, TaskGroup};

type Out = Rc<RefCell<Vec<String>>>;

fn out() -> Out {
    Rc::new(RefCell::new(Vec::new()))
}

fn print(out: &Out, s: impl Into<String>) {
    out.borrow_mut().push(s.into());
}

/// One "second" of the Python examples.
const S: Duration = Duration::from_millis(100);

fn secs(n: f64) -> Duration {
    S.mul_f64(n)
}

async fn say_after(out: Out, delay: Duration, what: &'static str) {
    sleep(delay).await;
    print(&out, what);
}

/// [`say_after`] that also prints when it starts sleeping, so that a test
/// can see two of them sleep at the same time.
async fn say_after_traced(out: Out, delay: Duration, what: &'static str) {
    print(&out, format!("{what}: sleeping"));
    say_after(out, delay, what).await;
}

/// Both sleeps began before either ended: the two tasks ran concurrently
/// (run one after the other, the first would print its word before the
/// second starts sleeping; the total would be the sum of the delays).
const CONCURRENT: [&str; 4] = ["hello: sleeping", "world: sleeping", "hello", "world"];

// async def main():
//     print('hello')
//     await asyncio.sleep(1)
//     print('world')
#[anyloop::test]
async fn hello_world() {
    let out = out();
    let start = Instant::now();
    print(&out, "hello");
    sleep(secs(1.0)).await;
    print(&out, "world");
    assert_eq!(*out.borrow(), ["hello", "world"]);
    assert!(start.elapsed() >= secs(1.0));
}

// print(f"started at {time.strftime('%X')}")
// await say_after(1, 'hello')
// await say_after(2, 'world')
// print(f"finished at {time.strftime('%X')}")
#[anyloop::test]
async fn say_after_sequential_takes_three_seconds() {
    let out = out();
    let start = Instant::now();
    print(&out, "started");
    say_after(out.clone(), secs(1.0), "hello").await;
    say_after(out.clone(), secs(2.0), "world").await;
    print(&out, "finished");
    assert_eq!(*out.borrow(), ["started", "hello", "world", "finished"]);
    assert!(start.elapsed() >= secs(3.0));
}

// task1 = asyncio.create_task(say_after(1, 'hello'))
// task2 = asyncio.create_task(say_after(2, 'world'))
// print(f"started at ..."); await task1; await task2; print(f"finished at ...")
#[anyloop::test]
async fn say_after_concurrent_tasks_take_two_seconds() {
    let out = out();
    let start = Instant::now();
    let task1 = spawn(say_after_traced(out.clone(), secs(1.0), "hello"));
    let task2 = spawn(say_after_traced(out.clone(), secs(2.0), "world"));
    print(&out, "started");
    task1.await.unwrap();
    task2.await.unwrap();
    print(&out, "finished");
    // "1 second faster than before": concurrent, not one after the other.
    assert_eq!(out.borrow()[0], "started");
    assert_eq!(out.borrow()[1..5], CONCURRENT);
    assert_eq!(out.borrow()[5..], ["finished"]);
    let took = start.elapsed();
    assert!(took >= secs(2.0), "{took:?}");
}

// async with asyncio.TaskGroup() as tg:
//     task1 = tg.create_task(say_after(1, 'hello'))
//     task2 = tg.create_task(say_after(2, 'world'))
//     print(f"started at ...")
// print(f"Both tasks have completed now: {task1.result()}, {task2.result()}")
#[anyloop::test]
async fn say_after_task_group() {
    let out = out();
    let start = Instant::now();
    let tg = TaskGroup::<()>::new();
    let o = out.clone();
    let task1 = tg
        .spawn(async move {
            say_after_traced(o, secs(1.0), "hello").await;
            Ok(())
        })
        .unwrap();
    let o = out.clone();
    let task2 = tg
        .spawn(async move {
            say_after_traced(o, secs(2.0), "world").await;
            Ok(())
        })
        .unwrap();
    print(&out, "started");
    tg.join().await.unwrap();
    let (r1, r2) = (task1.await.unwrap(), task2.await.unwrap());
    print(
        &out,
        format!("Both tasks have completed now: {r1:?}, {r2:?}"),
    );
    assert_eq!(out.borrow()[0], "started");
    assert_eq!(out.borrow()[1..5], CONCURRENT);
    assert_eq!(out.borrow()[5..], ["Both tasks have completed now: (), ()"]);
    let took = start.elapsed();
    assert!(took >= secs(2.0), "{took:?}");
}

// async def nested(): return 42
// task = asyncio.create_task(nested()); await task
#[anyloop::test]
async fn awaitables_coroutines_and_tasks() {
    async fn nested() -> i32 {
        42
    }
    // `nested()` alone does nothing (a future is lazy, like a coroutine).
    let _lazy = nested();
    assert_eq!(nested().await, 42);
    let task = spawn(nested());
    assert_eq!(task.await.unwrap(), 42);
}

// loop = asyncio.get_running_loop(); end_time = loop.time() + 5.0
// while True:
//     print(datetime.datetime.now())
//     if (loop.time() + 1.0) >= end_time: break
//     await asyncio.sleep(1)
#[anyloop::test]
async fn sleep_display_date() {
    let out = out();
    let start = Instant::now();
    let end_time = start + secs(5.0);
    loop {
        print(&out, format!("tick {}", out.borrow().len()));
        if Instant::now() + secs(1.0) >= end_time {
            break;
        }
        sleep(secs(1.0)).await;
    }
    // Each sleep lasts at least a second: at most five lines.
    let n = out.borrow().len();
    assert!((1..=5).contains(&n), "{n}");
    assert!(start.elapsed() >= secs(1.0) * (n as u32 - 1));
}

// async def factorial(name, number): ... print(f"Task {name}: Compute factorial({number}), currently i={i}...")
// L = await asyncio.gather(factorial("A", 2), factorial("B", 3), factorial("C", 4))
#[anyloop::test]
async fn gather_factorial() {
    async fn factorial(out: Out, name: &str, number: u64) -> u64 {
        let mut f = 1;
        for i in 2..=number {
            print(
                &out,
                format!("Task {name}: Compute factorial({number}), currently i={i}..."),
            );
            sleep(secs(1.0)).await;
            f *= i;
        }
        print(&out, format!("Task {name}: factorial({number}) = {f}"));
        f
    }
    let out = out();
    let l = anyloop::gather!(
        factorial(out.clone(), "A", 2),
        factorial(out.clone(), "B", 3),
        factorial(out.clone(), "C", 4),
    )
    .await;
    assert_eq!(l, (2, 6, 24));
    assert_eq!(
        *out.borrow(),
        [
            "Task A: Compute factorial(2), currently i=2...",
            "Task B: Compute factorial(3), currently i=2...",
            "Task C: Compute factorial(4), currently i=2...",
            "Task A: factorial(2) = 2",
            "Task B: Compute factorial(3), currently i=3...",
            "Task C: Compute factorial(4), currently i=3...",
            "Task B: factorial(3) = 6",
            "Task C: Compute factorial(4), currently i=4...",
            "Task C: factorial(4) = 24",
        ]
    );
}

// Terminating a Task Group: job(1, 0.5), job(2, 1.5), sleep(1),
// create_task(force_terminate_task_group()) -> except* TerminateTaskGroup
#[anyloop::test]
async fn terminate_task_group() {
    #[derive(Debug, PartialEq)]
    struct TerminateTaskGroup;
    async fn job(out: Out, task_id: u32, sleep_time: f64) -> Result<(), TerminateTaskGroup> {
        print(&out, format!("Task {task_id}: start"));
        sleep(secs(sleep_time)).await;
        print(&out, format!("Task {task_id}: done"));
        Ok(())
    }
    let out = out();
    let group = TaskGroup::new();
    group.spawn(job(out.clone(), 1, 0.5)).unwrap();
    // Docs: 1.5 s; anything well after the termination at 1 s shows the same.
    group.spawn(job(out.clone(), 2, 10.0)).unwrap();
    sleep(secs(1.0)).await;
    group
        .spawn(async { Err::<(), _>(TerminateTaskGroup) })
        .unwrap();
    let err = group.join().await.unwrap_err();
    assert_eq!(err.errors().collect::<Vec<_>>(), [&TerminateTaskGroup]);
    assert_eq!(
        *out.borrow(),
        ["Task 1: start", "Task 2: start", "Task 1: done"]
    );
}

// async with asyncio.timeout(10): await long_running_task()
// -> TimeoutError
#[anyloop::test]
async fn timeouts() {
    let long_running_task = sleep(Duration::from_secs(3600));
    let res = anyloop::timeout(secs(1.0), long_running_task).await;
    assert!(res.is_err());
}

// async with asyncio.timeout(None) as cm:
//     new_deadline = get_running_loop().time() + 10
//     cm.reschedule(new_deadline)
//     await long_running_task()
// if cm.expired(): print("Looks like we haven't finished on time.")
#[anyloop::test]
async fn timeout_reschedule() {
    let out = out();
    let cm = TimeoutScope::new(None);
    let c = cm.clone();
    let res = cm
        .run(async move {
            assert_eq!(c.when(), None);
            let new_deadline = Instant::now() + secs(1.0);
            c.reschedule(Some(new_deadline));
            assert_eq!(c.when(), Some(new_deadline));
            sleep(Duration::from_secs(3600)).await; // long_running_task()
        })
        .await;
    assert!(res.is_err());
    if cm.expired() {
        print(&out, "Looks like we haven't finished on time.");
    }
    assert_eq!(*out.borrow(), ["Looks like we haven't finished on time."]);
}

// deadline = loop.time() + 20
// async with asyncio.timeout_at(deadline): await long_running_task()
#[anyloop::test]
async fn timeout_at() {
    let deadline = Instant::now() + secs(1.0);
    let err = anyloop::timeout_at(deadline, sleep(Duration::from_secs(3600)))
        .await
        .unwrap_err();
    assert_eq!(err.deadline(), deadline);
    assert!(Instant::now() >= deadline);
}

// async def eternity(): await asyncio.sleep(3600); print('yay!')
// try: await asyncio.wait_for(eternity(), timeout=1.0)
// except TimeoutError: print('timeout!')
#[anyloop::test]
async fn wait_for_eternity() {
    let out = out();
    let o = out.clone();
    let eternity = async move {
        sleep(Duration::from_secs(3600)).await;
        print(&o, "yay!");
    };
    if anyloop::timeout(secs(1.0), eternity).await.is_err() {
        print(&out, "timeout!");
    }
    assert_eq!(*out.borrow(), ["timeout!"]);
}

// task = asyncio.create_task(something())
// try: res = await shield(task)
// except CancelledError: res = None
#[anyloop::test]
async fn shield_from_cancellation() {
    let out = out();
    let o = out.clone();
    let inner = Rc::new(RefCell::new(None));
    let i = inner.clone();
    let waiter = spawn(async move {
        let o2 = o.clone();
        let task = anyloop::shield(async move {
            sleep(secs(3.0)).await;
            print(&o2, "something() finished");
            "result"
        });
        *i.borrow_mut() = Some(task.task_ref());
        let res = task.await;
        print(&o, format!("res = {res:?}")); // never reached: cancelled
    });
    sleep(secs(0.5)).await;
    waiter.cancel();
    // The awaiter sees CancelledError (res = None)...
    let res = waiter.await.ok();
    assert!(res.is_none());
    // ...while something() runs to completion.
    let inner = inner.borrow_mut().take().unwrap();
    assert!(!inner.is_finished());
    while !inner.is_finished() {
        sleep(secs(0.5)).await;
    }
    assert_eq!(*out.borrow(), ["something() finished"]);
}

// done, pending = await asyncio.wait(tasks, return_when=FIRST_COMPLETED)
#[anyloop::test]
async fn wait_first_completed() {
    let tasks = vec![spawn(sleep(secs(20.0))), spawn(sleep(secs(0.5)))];
    let fast = tasks[1].id();
    let (done, pending) = anyloop::wait(tasks, ReturnWhen::FirstCompleted).await;
    assert_eq!(done.iter().map(|t| t.id()).collect::<Vec<_>>(), [fast]);
    assert_eq!(pending.len(), 1);
    for t in pending {
        t.cancel();
        assert!(t.await.unwrap_err().is_cancelled());
    }
}

// for coro in as_completed(aws): earliest_result = await coro
#[anyloop::test]
async fn as_completed_earliest_first() {
    let aws = [3.0, 1.0, 2.0].map(|n| {
        spawn(async move {
            sleep(secs(n)).await;
            n as u32
        })
    });
    let mut results = Vec::new();
    let mut it = anyloop::as_completed(aws);
    while let Some(earliest_result) = it.next().await {
        results.push(earliest_result.unwrap());
    }
    assert_eq!(results, [1, 2, 3]);
}

// Eager task factory (3.12): the coroutine runs until its first await
// inside create_task.
#[anyloop::test]
async fn eager_start() {
    let out = out();
    let o = out.clone();
    let t = Builder::new().eager(true).spawn(async move {
        print(&o, "eager: started in create_task");
        sleep(secs(0.1)).await;
        print(&o, "eager: resumed");
    });
    print(&out, "create_task returned");
    t.await.unwrap();
    assert_eq!(
        *out.borrow(),
        [
            "eager: started in create_task",
            "create_task returned",
            "eager: resumed"
        ]
    );
}

// async def test(): asyncio.print_call_graph()
// async with asyncio.TaskGroup() as g: g.create_task(test(), name='test')
#[anyloop::test]
async fn call_graph_introspection() {
    let g = TaskGroup::<()>::new();
    let t = g
        .spawn_with(Builder::new().name("test"), async {
            anyloop::yield_now().await;
            anyloop::print_call_graph();
            Ok(anyloop::capture_call_graph().unwrap().to_string())
        })
        .unwrap();
    g.join().await.unwrap();
    let text = t.await.unwrap();
    let main = anyloop::current_task().unwrap().id();
    assert!(text.starts_with("* Task(name='test', id="), "{text}");
    assert!(
        text.ends_with(&format!(
            "  + Awaited by:\n    * Task(name='main', id={main})\n"
        )),
        "{text}"
    );
}
