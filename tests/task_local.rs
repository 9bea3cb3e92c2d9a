//! `task_local!`: asyncio's contextvars as seen by tasks (copied on spawn).

use std::time::Duration;

use anyloop::{sleep, spawn, TaskGroup};

anyloop::task_local! {
    static REQUEST_ID: u64;
    static DEPTH: u32 = 0;
}

#[anyloop::test]
async fn children_inherit_a_copy() {
    assert_eq!(REQUEST_ID.get(), None);
    REQUEST_ID.set(1);
    let child = spawn(async {
        let inherited = REQUEST_ID.get();
        sleep(Duration::from_millis(10)).await;
        // The parent's later change is not seen...
        let still = REQUEST_ID.get();
        // ...and this one does not leak to the parent.
        REQUEST_ID.set(2);
        (inherited, still)
    });
    REQUEST_ID.set(100);
    assert_eq!(child.await.unwrap(), (Some(1), Some(1)));
    assert_eq!(REQUEST_ID.get(), Some(100));
}

#[anyloop::test]
async fn grandchildren_and_defaults() {
    assert_eq!(DEPTH.get(), Some(0));
    let depth = spawn(async {
        DEPTH.set(DEPTH.get().unwrap() + 1);
        spawn(async {
            DEPTH.set(DEPTH.get().unwrap() + 1);
            DEPTH.get()
        })
        .await
        .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(depth, Some(2));
    assert_eq!(DEPTH.get(), Some(0));
    DEPTH.set(5);
    DEPTH.remove();
    assert_eq!(DEPTH.get(), Some(0));
    assert!(!DEPTH.is_set());
}

#[anyloop::test]
async fn task_group_children_and_callbacks_inherit() {
    REQUEST_ID.set(7);
    let group = TaskGroup::<()>::new();
    let t = group.spawn(async { Ok(REQUEST_ID.get()) }).unwrap();
    group.join().await.unwrap();
    assert_eq!(t.await.unwrap(), Some(7));

    let seen = std::rc::Rc::new(std::cell::Cell::new(None));
    let s = seen.clone();
    anyloop::call_soon(move || s.set(REQUEST_ID.get()));
    anyloop::yield_now().await;
    assert_eq!(seen.get(), Some(7));
}

#[anyloop::test]
async fn with_borrows_without_cloning() {
    anyloop::task_local!(static NAMES: Vec<String>);
    NAMES.set(vec!["a".into(), "b".into()]);
    assert_eq!(NAMES.with(|v| v.map(Vec::len)), Some(2));
    let n = spawn(async { NAMES.with(|v| v.map_or(0, Vec::len)) })
        .await
        .unwrap();
    assert_eq!(n, 2);
}
