//! `run`, `Runner`, `Handle` and host capabilities.

use std::time::Duration;

use anyloop::time::Instant;

#[anyloop::test]
async fn nested_run_gives_clear_error() {
    if !anyloop::capabilities().catch_panic {
        // The nested-run panic cannot be observed where panics abort; the
        // message is still checked on native.
        return;
    }
    let err = std::panic::catch_unwind(|| anyloop::run(async {})).unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    assert!(
        msg.contains("cannot be called from a running event loop"),
        "{msg}"
    );
}

#[anyloop::test]
async fn call_soon_threadsafe_wakes_a_parked_loop_at_once() {
    let handle = anyloop::Handle::current();
    let start = Instant::now();
    // The only thing the loop has to do is a 10 s timer: it parks on it.
    let sleeper = anyloop::spawn(anyloop::sleep(Duration::from_secs(10)));
    let target = sleeper.task_ref();
    let spawned = std::thread::Builder::new().spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        handle.call_soon_threadsafe(move || {
            target.cancel_with("woken from another thread");
        })
    });
    if !anyloop::capabilities().threads {
        // No threads on this host: std says so, and so do the capabilities.
        assert!(spawned.is_err());
        sleeper.cancel();
        return;
    }
    let err = sleeper.await.unwrap_err();
    assert_eq!(err.cancel_message(), Some("woken from another thread"));
    // Generous bound: far less than the 10 s timer the loop was parked on.
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let call = spawned.unwrap().join().unwrap();
    call.await.unwrap();
}

// Blocking `Runner` behaviour: the browser cannot block (see
// `runner_is_unsupported_where_the_loop_cannot_block` in run.rs).
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
#[test]
fn runner_is_reusable_and_handle_spawns_from_threads() {
    if !anyloop::capabilities().threads {
        return;
    }
    let runner = anyloop::Runner::new().unwrap();
    let handle = runner.handle();
    let out = runner.run(async move {
        let t = std::thread::spawn(move || handle.spawn(async { 6 * 7 }))
            .join()
            .unwrap();
        t.await.unwrap()
    });
    assert_eq!(out, 42);
    assert_eq!(runner.run(async { 1 }), 1);
}

#[anyloop::test]
async fn to_thread_runs_off_loop_or_is_unsupported() {
    let res = anyloop::to_thread(|| 2 + 2).await;
    if anyloop::capabilities().threads {
        assert_eq!(res.unwrap(), 4);
    } else {
        let err = res.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
        assert!(
            err.to_string().contains(anyloop::capabilities().host),
            "{err}"
        );
    }
}

#[anyloop::test]
async fn runner_is_unsupported_where_the_loop_cannot_block() {
    let caps = anyloop::capabilities();
    if caps.blocking {
        return;
    }
    // `anyloop::run` panics with this message; `Runner::new` returns it.
    let err = anyloop::Runner::new().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
    let msg = err.to_string();
    assert!(
        msg.contains(caps.host) && msg.contains("spawn_root") && msg.contains("anyloop::main"),
        "{msg}"
    );
}
