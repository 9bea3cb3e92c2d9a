//! Signals: `anyloop::signal` (asyncio's `add_signal_handler` /
//! `remove_signal_handler`, awaitable `recv`/`ctrl_c`) and Ctrl-C in
//! `Runner::try_run` (asyncio.run's `KeyboardInterrupt`); the
//! `Unsupported` error on hosts without signals.

mod common;

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::sync::Mutex;
use std::time::Duration;

use anyloop::signal::{self, Signal, SIGINT, SIGUSR1, SIGUSR2};
use common::{deadline, supported, supported_feature};

fn signals() -> bool {
    anyloop::capabilities().signals
}

/// Ctrl-C works (Unix, and Windows through its console).
fn ctrl_c() -> bool {
    anyloop::capabilities().ctrl_c
}

/// Tests that send or listen for SIGINT take turns: a listener decides
/// whether `run` reacts to it.
static SIGINT_TURN: Mutex<()> = Mutex::new(());

#[anyloop::test]
async fn signal_calls_are_unsupported_exactly_where_the_capability_is_off() {
    let res = Signal::new(SIGUSR2);
    supported_feature(res, signals(), "Signal::new", "signals");
    supported_feature(
        signal::add_signal_handler(SIGUSR2, || {}),
        signals(),
        "add_signal_handler",
        "signals",
    );
    assert_eq!(signal::remove_signal_handler(SIGUSR2), signals());
    if !signals() {
        supported_feature(
            signal::raise_signal(SIGUSR2),
            false,
            "raise_signal",
            "signals",
        );
        supported_feature(signal::recv(SIGUSR2).await, false, "recv", "signals");
        // Windows: only Ctrl-C and Ctrl-Break; every other signal is
        // Unsupported, whatever the call.
        for sig in [signal::SIGTERM, signal::SIGHUP, SIGUSR1, signal::SIGKILL] {
            supported_feature(Signal::new(sig), false, "Signal::new", "signals");
            supported_feature(signal::raise_signal(sig), false, "raise_signal", "signals");
        }
    }
    if !ctrl_c() {
        supported_feature(signal::ctrl_c().await, false, "ctrl_c", "signals");
        supported_feature(Signal::new(SIGINT), false, "Signal::new(SIGINT)", "signals");
    }
}

/// Ctrl-Break is Windows' alone (Unix's signal 21 is `SIGTTIN`).
// The lock orders tests on different threads (each has its own loop);
// nothing on this loop waits for it.
#[allow(clippy::await_holding_lock)]
#[anyloop::test]
async fn ctrl_break_is_awaitable_on_windows_and_unsupported_elsewhere() {
    if !cfg!(windows) {
        supported_feature(
            signal::ctrl_break().await,
            false,
            "ctrl_break",
            "Ctrl-Break",
        );
        return;
    }
    let _turn = SIGINT_TURN.lock().unwrap_or_else(|e| e.into_inner());
    let waiter = anyloop::spawn(signal::ctrl_break());
    for _ in 0..3 {
        anyloop::yield_now().await;
    }
    signal::raise_signal(signal::SIGBREAK).unwrap();
    deadline("ctrl_break", waiter).await.unwrap().unwrap();
    assert_eq!(signal::name(signal::SIGBREAK), Some("SIGBREAK"));
    // A handler of SIGBREAK, as of any signal Windows delivers.
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    signal::add_signal_handler(signal::SIGBREAK, move || c.set(c.get() + 1)).unwrap();
    anyloop::yield_now().await;
    signal::raise_signal(signal::SIGBREAK).unwrap();
    common::wait_until("the SIGBREAK handler", Duration::from_secs(30), || {
        calls.get() == 1
    })
    .await;
    assert!(signal::remove_signal_handler(signal::SIGBREAK));
}

#[anyloop::test]
async fn a_subscription_sees_each_delivery() {
    let Some(mut usr1) = supported(Signal::new(SIGUSR1), signals(), "Signal::new") else {
        return;
    };
    for _ in 0..5 {
        signal::raise_signal(SIGUSR1).unwrap();
        deadline("SIGUSR1", usr1.recv()).await.unwrap();
    }
    // Nothing more is pending.
    let res = anyloop::timeout(Duration::from_millis(20), usr1.recv()).await;
    assert!(res.is_err(), "a delivery appeared from nowhere");
}

#[anyloop::test]
async fn handlers_run_on_the_loop_until_removed() {
    if !signals() {
        return;
    }
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    signal::add_signal_handler(SIGUSR2, move || c.set(c.get() + 1)).unwrap();
    // A second subscription to know when a delivery has been broadcast.
    let mut probe = Signal::new(SIGUSR2).unwrap();
    for n in 1..=3 {
        signal::raise_signal(SIGUSR2).unwrap();
        deadline("probe", probe.recv()).await.unwrap();
        common::wait_until("the handler", Duration::from_secs(30), || calls.get() == n).await;
    }
    // Replacing the handler.
    let c = calls.clone();
    signal::add_signal_handler(SIGUSR2, move || c.set(c.get() + 100)).unwrap();
    signal::raise_signal(SIGUSR2).unwrap();
    deadline("probe", probe.recv()).await.unwrap();
    common::wait_until("the new handler", Duration::from_secs(30), || {
        calls.get() == 103
    })
    .await;
    assert!(signal::remove_signal_handler(SIGUSR2));
    assert!(!signal::remove_signal_handler(SIGUSR2));
    signal::raise_signal(SIGUSR2).unwrap();
    deadline("probe", probe.recv()).await.unwrap();
    for _ in 0..5 {
        anyloop::yield_now().await;
    }
    assert_eq!(calls.get(), 103, "a removed handler ran");
}

#[anyloop::test]
async fn uncatchable_and_unknown_signals_are_invalid_input() {
    if !signals() {
        return;
    }
    for sig in [signal::SIGKILL, 19 /* SIGSTOP on Linux */, 0, -1, 1000] {
        if sig == 19 && signal::name(19) != Some("SIGSTOP") {
            continue;
        }
        let err = Signal::new(sig).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{sig}: {err}");
        let err = signal::add_signal_handler(sig, || {}).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{sig}: {err}");
    }
    assert_eq!(signal::name(SIGINT), Some("SIGINT"));
}

// The lock orders tests on different threads (each has its own loop);
// nothing on this loop waits for it.
#[allow(clippy::await_holding_lock)]
#[anyloop::test]
async fn ctrl_c_is_awaitable() {
    if !ctrl_c() {
        return;
    }
    let _turn = SIGINT_TURN.lock().unwrap_or_else(|e| e.into_inner());
    let waiter = anyloop::spawn(signal::ctrl_c());
    // Let it subscribe, then press Ctrl-C.
    for _ in 0..3 {
        anyloop::yield_now().await;
    }
    signal::raise_signal(SIGINT).unwrap();
    deadline("ctrl_c", waiter).await.unwrap().unwrap();
}

/// `asyncio.run` semantics: Ctrl-C cancels the main task, its cleanup
/// runs, and the runner reports the interruption.
#[cfg(not(target_family = "wasm"))]
#[test]
fn ctrl_c_cancels_the_main_task_runs_its_cleanup_and_is_reported() {
    let _turn = SIGINT_TURN.lock().unwrap_or_else(|e| e.into_inner());
    struct Cleanup(Rc<Cell<bool>>);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    let cleaned = Rc::new(Cell::new(false));
    let child_cleaned = Rc::new(Cell::new(false));
    let mut runner = anyloop::Runner::new().unwrap();
    runner.handle_ctrl_c(true);
    let res = runner.try_run(async {
        let _cleanup = Cleanup(cleaned.clone());
        let child_flag = child_cleaned.clone();
        let child = anyloop::spawn(async move {
            let _c = Cleanup(child_flag);
            anyloop::sleep(Duration::from_secs(3600)).await;
        });
        signal::raise_signal(SIGINT).unwrap();
        anyloop::sleep(Duration::from_secs(3600)).await;
        let _ = child.await;
        "finished"
    });
    assert_eq!(res, Err(signal::Interrupted));
    assert!(cleaned.get(), "the main task's cleanup did not run");
    assert!(
        res.unwrap_err().to_string().contains("Ctrl-C"),
        "the error says what happened"
    );
    // The runner works on; the main task's child is still there until
    // the runner is dropped (asyncio's Runner.close cancels it).
    assert_eq!(runner.try_run(async { 5 }), Ok(5));
    drop(runner);
    assert!(child_cleaned.get());
}

/// While user code listens for SIGINT, it gets the signal and the main
/// task is left alone.
#[cfg(not(target_family = "wasm"))]
#[test]
fn a_program_that_listens_for_ctrl_c_handles_it_itself() {
    let _turn = SIGINT_TURN.lock().unwrap_or_else(|e| e.into_inner());
    let mut runner = anyloop::Runner::new().unwrap();
    runner.handle_ctrl_c(true);
    let res = runner.try_run(async {
        let mut ctrl_c = Signal::new(SIGINT).unwrap();
        signal::raise_signal(SIGINT).unwrap();
        deadline("ctrl_c", ctrl_c.recv()).await.unwrap();
        "handled"
    });
    assert_eq!(res, Ok("handled"));
}

/// A plain `anyloop::run` program (`examples/echo.rs` through
/// `#[anyloop::main]`: no signal code of its own) ends on Ctrl-C as a
/// Python program does on an uncaught `KeyboardInterrupt` out of
/// `asyncio.run`: its main task is cancelled and its cleanup runs (echo
/// catches the cancel, closes its connections and says so), then it is
/// killed by `SIGINT`: exit status 130 in a shell.
#[cfg(all(unix, not(target_family = "wasm")))]
#[test]
fn a_plain_run_program_exits_130_on_ctrl_c() {
    use std::io::{BufRead, Read, Write};
    use std::os::unix::process::ExitStatusExt;

    let mut child = common::example("echo")
        .arg("0")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start examples/echo");
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).expect("read the first line");
    let addr = first
        .trim()
        .strip_prefix("echo: listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    // The loop is serving: a client gets its line back.
    let mut client = std::net::TcpStream::connect(&addr).expect("connect");
    client.write_all(b"ping\n").unwrap();
    let mut back = [0u8; 5];
    client.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"ping\n");

    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    // The cleanup ended the connection and printed its line.
    let mut rest = Vec::new();
    let n = client.read_to_end(&mut rest).unwrap_or(0);
    assert_eq!(n, 0, "no more data after the shutdown: {rest:?}");
    let lines: Vec<String> = out.lines().map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l == "echo: shut down (interrupted by Ctrl-C (SIGINT))"),
        "{lines:?}"
    );
    assert_eq!(status.signal(), Some(SIGINT), "{status}");
    let shell_status = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    assert_eq!(shell_status, 130);
}

/// Windows: the console's own Ctrl-C (`GenerateConsoleCtrlEvent`, what a
/// key press in a console window sends), end to end. The program is this
/// test binary in a console of its own (`CREATE_NO_WINDOW`: a console
/// without a window, so the event reaches nothing else), running
/// [`console_child`]. It checks, through the OS's console control
/// routine: `ctrl_c()` gets the event; `Runner::run` cancels its main
/// task, the cleanup runs and the process ends with
/// `STATUS_CONTROL_C_EXIT`; a second Ctrl-C during a hanging cleanup
/// ends the process by the default routine.
#[cfg(windows)]
#[test]
fn the_consoles_ctrl_c_reaches_ctrl_c_and_run() {
    use std::os::windows::process::CommandExt;
    const CREATE_NO_WINDOW: u32 = 0x0800_0000;
    const STATUS_CONTROL_C_EXIT: i32 = 0xC000_013A_u32 as i32;
    for mode in ["first", "second"] {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "console_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("ANYLOOP_CONSOLE_CHILD", mode)
            .creation_flags(CREATE_NO_WINDOW)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start the console child");
        // Bounded: a child whose Ctrl-C went nowhere would hang.
        let start = std::time::Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if start.elapsed() > Duration::from_secs(120) {
                let _ = child.kill();
                panic!("{mode}: the console child did not end within 120 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut out = String::new();
        let mut err = String::new();
        use std::io::Read;
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let lines = format!("{mode}: status {status}\nstdout:\n{out}\nstderr:\n{err}");
        assert!(
            out.contains("console child: ctrl_c() got the console's Ctrl-C"),
            "{lines}"
        );
        assert!(
            out.contains("console child: main task cancelled, cleanup runs"),
            "{lines}"
        );
        if mode == "first" {
            assert!(out.contains("console child: cleanup done"), "{lines}");
        } else {
            assert!(!out.contains("console child: cleanup done"), "{lines}");
        }
        assert!(!out.contains("console child: run returned"), "{lines}");
        assert_eq!(status.code(), Some(STATUS_CONTROL_C_EXIT), "{lines}");
    }
}

/// The program of [`the_consoles_ctrl_c_reaches_ctrl_c_and_run`] (run
/// only by it: ignored, and a no-op without its variable).
#[cfg(windows)]
#[test]
#[ignore = "run by the_consoles_ctrl_c_reaches_ctrl_c_and_run in a console of its own"]
fn console_child() {
    use std::io::Write;
    let Ok(mode) = std::env::var("ANYLOOP_CONSOLE_CHILD") else {
        return;
    };
    let say = |line: &str| {
        println!("console child: {line}");
        let _ = std::io::stdout().flush();
    };
    let press = || {
        anyloop_native::signal::generate_ctrl_event(SIGINT, 0).expect("GenerateConsoleCtrlEvent")
    };
    let mut runner = anyloop::Runner::new().unwrap();
    runner.handle_ctrl_c(true);
    // A listener takes the event: run leaves its main task alone.
    let res = runner.try_run(async {
        let mut ctrl_c = Signal::new(SIGINT).unwrap();
        press();
        deadline("the console's Ctrl-C", ctrl_c.recv())
            .await
            .unwrap();
        "listened"
    });
    assert_eq!(res, Ok("listened"));
    say("ctrl_c() got the console's Ctrl-C");
    // Nobody listens: run cancels the main task and ends the process.
    struct Cleanup<F: Fn(&str)>(F);
    impl<F: Fn(&str)> Drop for Cleanup<F> {
        fn drop(&mut self) {
            (self.0)("main task cancelled, cleanup runs");
            (self.0)("cleanup done");
        }
    }
    runner.run(async {
        if mode == "first" {
            let _cleanup = Cleanup(say);
            press();
            anyloop::sleep(Duration::from_secs(3600)).await;
        } else {
            let caught = anyloop::catch_cancel(async {
                press();
                anyloop::sleep(Duration::from_secs(3600)).await;
            })
            .await;
            assert!(caught.is_err());
            say("main task cancelled, cleanup runs");
            // A cleanup that hangs: the second Ctrl-C ends the process.
            press();
            std::future::pending::<()>().await;
        }
    });
    say("run returned");
}
