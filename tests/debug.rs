//! Debug mode (slow-poll warnings, tasks pending at close), the loop's
//! exception handler and "Task exception was never retrieved".

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyloop::debug::{self, ExceptionContext, Warning, WarningKind};
use anyloop::task::Builder;
use anyloop::{yield_now, Handle};

mod common;
use common::block_for;

type Log<T> = Arc<Mutex<Vec<T>>>;

/// Records the loop's warnings (as text and kind) until `reset` runs.
fn record_warnings() -> Log<(WarningKind, String, Option<u32>)> {
    let log: Log<_> = Arc::default();
    let l = log.clone();
    Handle::current().set_warning_handler(Some(move |w: &Warning| {
        let line = w.task().map(|t| t.spawned_at().line());
        l.lock().unwrap().push((w.kind(), w.to_string(), line));
    }));
    log
}

/// Records the loop's exception-handler calls (message, task name, error).
fn record_exceptions() -> Log<(String, Option<String>, String)> {
    let log: Log<_> = Arc::default();
    let l = log.clone();
    Handle::current().set_exception_handler(Some(move |ctx: &ExceptionContext| {
        let err = ctx.error().map(|e| e.to_string()).unwrap_or_default();
        let task = ctx.task().and_then(|t| t.name().map(String::from));
        l.lock()
            .unwrap()
            .push((ctx.message().to_string(), task, err));
    }));
    log
}

/// Puts the loop back as the tests found it (the browser's loop is shared
/// by every test of the page).
fn reset() {
    let h = Handle::current();
    h.set_warning_handler(None::<fn(&Warning)>);
    h.set_exception_handler(None::<fn(&ExceptionContext)>);
    debug::set_debug(false);
    debug::set_slow_callback_duration(Duration::from_millis(100));
}

#[anyloop::test]
async fn slow_poll_warning_names_the_task_and_where_it_was_spawned() {
    let log = record_warnings();
    debug::set_debug(true);
    debug::set_slow_callback_duration(Duration::from_millis(10));
    let spawn_line = line!() + 1;
    let t = Builder::new().name("blocker").spawn(async {
        block_for(Duration::from_millis(60));
    });
    let id = t.id();
    t.await.unwrap();
    let warnings = log.lock().unwrap().clone();
    reset();
    let ours: Vec<_> = warnings
        .iter()
        .filter(|(_, text, _)| text.contains("name='blocker'"))
        .collect();
    assert_eq!(ours.len(), 1, "{warnings:?}");
    let (kind, text, line) = ours[0];
    match kind {
        WarningKind::SlowPoll(took) => assert!(*took >= Duration::from_millis(60), "{took:?}"),
        other => panic!("expected a slow poll, got {other:?}"),
    }
    assert_eq!(*line, Some(spawn_line), "{text}");
    assert!(
        text.starts_with(&format!(
            // `file!()`: the path as the compiler saw it (`tests/debug.rs`
            // when cross-compiled for Windows on Linux, `tests\debug.rs`
            // when built on Windows), which is what `Location` carries.
            "Executing <Task name='blocker' id={id} spawned at {}:{spawn_line}:",
            file!()
        )),
        "{text}"
    );
    assert!(text.ends_with(" seconds"), "{text}");
}

#[anyloop::test]
async fn no_slow_poll_warnings_with_debug_off() {
    let log = record_warnings();
    debug::set_debug(false);
    debug::set_slow_callback_duration(Duration::from_millis(1));
    Builder::new()
        .name("blocker")
        .spawn(async { block_for(Duration::from_millis(20)) })
        .await
        .unwrap();
    let warnings = log.lock().unwrap().clone();
    reset();
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[anyloop::test]
async fn debug_mode_can_be_switched_and_read() {
    assert!(!debug::is_debug(), "ANYLOOP_DEBUG is not set for the tests");
    debug::set_debug(true);
    assert!(debug::is_debug());
    debug::set_slow_callback_duration(Duration::from_millis(250));
    assert_eq!(debug::slow_callback_duration(), Duration::from_millis(250));
    reset();
    assert!(!debug::is_debug());
}

#[anyloop::test]
async fn never_retrieved_is_reported_exactly_once() {
    if !anyloop::capabilities().catch_panic {
        // Panics abort the instance here: there is no failed task to report.
        return;
    }
    let log = record_exceptions();
    // 1. Handle dropped before the task fails.
    Builder::new()
        .name("dropped-early")
        .spawn(async {
            yield_now().await;
            panic!("boom early");
        })
        .detach();
    // 2. Handle kept until after the failure, then dropped unread.
    let late = Builder::new()
        .name("dropped-late")
        .spawn(async { panic!("boom late") });
    // 3. Awaited: retrieved, not reported.
    let awaited = Builder::new()
        .name("awaited")
        .spawn(async { panic!("boom awaited") });
    // 4. Cancelled: not an exception.
    let cancelled = Builder::new()
        .name("cancelled")
        .spawn(std::future::pending::<()>());
    cancelled.cancel();
    for _ in 0..5 {
        yield_now().await;
    }
    assert!(late.is_finished());
    drop(late);
    assert!(awaited.await.unwrap_err().is_panic());
    assert!(cancelled.await.unwrap_err().is_cancelled());
    for _ in 0..5 {
        yield_now().await;
    }
    let seen = log.lock().unwrap().clone();
    reset();
    let mut names: Vec<_> = seen.iter().map(|(_, n, _)| n.clone()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            Some("dropped-early".to_string()),
            Some("dropped-late".to_string())
        ],
        "{seen:?}"
    );
    for (msg, name, err) in &seen {
        assert_eq!(msg, "Task exception was never retrieved");
        let expected = match name.as_deref() {
            Some("dropped-early") => "task panicked: boom early",
            _ => "task panicked: boom late",
        };
        assert_eq!(err, expected);
    }
}

#[anyloop::test]
async fn task_group_child_panics_are_not_reported_twice() {
    if !anyloop::capabilities().catch_panic {
        return;
    }
    let log = record_exceptions();
    let group = anyloop::TaskGroup::<()>::new();
    let child = group
        .spawn(async {
            panic!("child failed");
            #[allow(unreachable_code)]
            Ok::<(), ()>(())
        })
        .expect("group open");
    drop(child);
    let err = group.join().await.unwrap_err();
    assert!(err.failures()[0].is_panic());
    for _ in 0..3 {
        yield_now().await;
    }
    let seen = log.lock().unwrap().clone();
    reset();
    assert!(seen.is_empty(), "{seen:?}");
}

#[anyloop::test]
async fn exception_handler_gets_contexts_and_a_panicking_handler_is_contained() {
    let log = record_exceptions();
    let h = Handle::current();
    h.call_exception_handler(
        ExceptionContext::new("custom").with_error(std::io::Error::other("peer reset")),
    );
    assert_eq!(
        *log.lock().unwrap(),
        [("custom".to_string(), None, "peer reset".to_string())]
    );
    assert!(h.exception_handler().is_some());
    if anyloop::capabilities().catch_panic {
        // A handler that panics is reported by the default handler; the
        // caller (and the loop) carry on.
        h.set_exception_handler(Some(|_: &ExceptionContext| panic!("handler bug")));
        h.call_exception_handler(ExceptionContext::new("goes to the default handler"));
    }
    reset();
    assert!(h.exception_handler().is_none());
    // The default handler: message, task and error on the diagnostic output.
    debug::default_exception_handler(
        &ExceptionContext::new("default handler test (expected in the test output)")
            .with_error(std::io::Error::other("not a real error")),
    );
}

// The blocking hosts close their loops; the browser's lives with the page.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
#[test]
fn pending_tasks_are_reported_when_the_loop_closes() {
    let runner = anyloop::Runner::new().unwrap();
    runner.set_debug(true);
    let log: Log<String> = Arc::default();
    let l = log.clone();
    let spawn_line = runner.run(async move {
        Handle::current().set_warning_handler(Some(move |w: &Warning| {
            if w.kind() == WarningKind::PendingAtClose {
                l.lock().unwrap().push(w.to_string());
            }
        }));
        let builder = Builder::new().name("forgotten");
        let line = line!() + 1;
        builder.spawn(std::future::pending::<()>()).detach();
        yield_now().await;
        line
    });
    assert!(log.lock().unwrap().is_empty());
    drop(runner);
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].contains("name='forgotten'"), "{seen:?}");
    assert!(
        seen[0].contains(&format!("debug.rs:{spawn_line}:")),
        "{seen:?}"
    );
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
#[test]
fn runner_option_switches_debug_mode() {
    let runner = anyloop::Runner::new().unwrap();
    assert!(!runner.run(async { debug::is_debug() }));
    runner.set_debug(true);
    assert!(runner.run(async { debug::is_debug() }));
}

/// `ANYLOOP_DEBUG=1` in the environment: this test runs itself as a child
/// process with the variable set (environment changes in a multithreaded
/// test binary would leak into the other tests).
#[cfg(not(target_family = "wasm"))]
#[test]
fn anyloop_debug_environment_variable_switches_debug_mode_on() {
    if std::env::var_os("ANYLOOP_DEBUG_CHILD").is_some() {
        let on = anyloop::run(async { debug::is_debug() });
        println!("child debug={on}");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    for (value, expected) in [("1", true), ("0", false)] {
        let out = std::process::Command::new(&exe)
            .args([
                "--exact",
                "anyloop_debug_environment_variable_switches_debug_mode_on",
                "--nocapture",
            ])
            .env("ANYLOOP_DEBUG_CHILD", "1")
            .env("ANYLOOP_DEBUG", value)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}");
        assert!(
            stdout.contains(&format!("child debug={expected}")),
            "ANYLOOP_DEBUG={value}: {stdout}"
        );
    }
}
