//! Subprocess transports and protocols (asyncio's `loop.subprocess_exec`
//! / `subprocess_shell` with a `SubprocessProtocol`): callback order, the
//! pipes as transports (stdin flow control), `close` killing the child,
//! and the `Unsupported` error on hosts without subprocesses.

mod common;

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use anyloop::future::Promise;
use anyloop::process::{
    subprocess_exec, subprocess_shell, Stdio, SubprocessProtocol, SubprocessTransport,
};
use common::{deadline, supported_feature};

fn subprocess() -> bool {
    anyloop::capabilities().subprocess
}

/// Records every callback; `done` is set by `connection_lost`.
struct Recorder {
    log: Rc<RefCell<Vec<String>>>,
    out: Rc<RefCell<[Vec<u8>; 3]>>,
    t: Option<SubprocessTransport>,
    done: Promise<()>,
    /// Written to stdin in `connection_made`, then `write_eof`.
    input: Vec<u8>,
}

impl Recorder {
    fn new(input: &[u8]) -> (Recorder, Probe) {
        let probe = Probe {
            log: Rc::default(),
            out: Rc::default(),
            done: Promise::new(),
        };
        let rec = Recorder {
            log: probe.log.clone(),
            out: probe.out.clone(),
            t: None,
            done: probe.done.clone(),
            input: input.to_vec(),
        };
        (rec, probe)
    }

    fn push(&self, s: String) {
        self.log.borrow_mut().push(s);
    }
}

/// What the test keeps of a [`Recorder`].
struct Probe {
    log: Rc<RefCell<Vec<String>>>,
    out: Rc<RefCell<[Vec<u8>; 3]>>,
    done: Promise<()>,
}

impl Probe {
    async fn finished(&self) -> Vec<String> {
        deadline("connection_lost", self.done.wait()).await.unwrap();
        self.log.borrow().clone()
    }

    fn out(&self, fd: usize) -> Vec<u8> {
        self.out.borrow()[fd].clone()
    }
}

impl SubprocessProtocol for Recorder {
    fn connection_made(&mut self, t: SubprocessTransport) {
        self.push("connection_made".into());
        if let Some(stdin) = t.pipe_transport(0) {
            stdin.write(&self.input);
            stdin.write_eof();
        }
        self.t = Some(t);
    }

    fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
        // One entry per pipe, however the data is chunked.
        let entry = format!("data {fd}");
        if self.log.borrow().last() != Some(&entry) {
            self.push(entry);
        }
        self.out.borrow_mut()[fd as usize].extend_from_slice(data);
    }

    fn pipe_connection_lost(&mut self, fd: i32, exc: Option<io::Error>) {
        self.push(format!("pipe_lost {fd} {}", exc.is_some()));
    }

    fn process_exited(&mut self) {
        let code = self.t.as_ref().and_then(|t| t.returncode());
        self.push(format!("exited {code:?}"));
    }

    fn connection_lost(&mut self, exc: Option<io::Error>) {
        self.push(format!("connection_lost {}", exc.is_some()));
        let _ = self.done.set(());
    }
}

#[anyloop::test]
async fn subprocess_exec_is_unsupported_exactly_where_the_capability_is_off() {
    let (rec, probe) = Recorder::new(b"");
    let res = subprocess_exec(move || rec, &mut common::true_()).await;
    if supported_feature(res, subprocess(), "subprocess_exec", "subprocesses").is_some() {
        probe.finished().await;
    }
    let (rec, probe) = Recorder::new(b"");
    let res = subprocess_shell(move || rec, "exit 0").await;
    if supported_feature(res, subprocess(), "subprocess_shell", "subprocesses").is_some() {
        probe.finished().await;
    }
}

#[anyloop::test]
async fn callbacks_come_in_asyncio_order() {
    let (rec, probe) = Recorder::new(b"");
    let mut cmd = common::script(
        "echo out; echo err >&2; exit 3",
        &["echo", "out", ";", "echo-err", "err", ";", "exit", "3"],
    );
    let res = subprocess_exec(move || rec, &mut cmd).await;
    let Some(t) = supported_feature(res, subprocess(), "subprocess_shell", "subprocesses") else {
        return;
    };
    assert!(t.pid() > 0);
    let log = probe.finished().await;
    assert_eq!(
        log.first().map(String::as_str),
        Some("connection_made"),
        "{log:?}"
    );
    assert_eq!(
        log.last().map(String::as_str),
        Some("connection_lost false"),
        "{log:?}"
    );
    for want in [
        "data 1",
        "data 2",
        "pipe_lost 0 false",
        "pipe_lost 1 false",
        "pipe_lost 2 false",
        "exited Some(3)",
    ] {
        assert_eq!(
            log.iter().filter(|l| *l == want).count(),
            1,
            "{want:?} once in {log:?}"
        );
    }
    // Each pipe's data comes before its end.
    let at = |s: &str| log.iter().position(|l| l == s).unwrap();
    assert!(at("data 1") < at("pipe_lost 1 false"), "{log:?}");
    assert!(at("data 2") < at("pipe_lost 2 false"), "{log:?}");
    assert_eq!(probe.out(1), b"out\n");
    assert_eq!(probe.out(2), b"err\n");
    assert_eq!(t.returncode(), Some(3));
    assert!(t.status().is_some_and(|s| s.code() == Some(3)));
}

#[anyloop::test]
async fn stdin_through_cat_comes_back_on_stdout() {
    let input: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    let (rec, probe) = Recorder::new(&input);
    let mut cmd = common::cat();
    cmd.stderr(Stdio::null());
    let res = subprocess_exec(move || rec, &mut cmd).await;
    let Some(t) = supported_feature(res, subprocess(), "subprocess_exec", "subprocesses") else {
        return;
    };
    assert!(t.pipe_transport(2).is_none(), "stderr is not piped");
    assert!(t.pipe_transport(3).is_none() && t.pipe_transport(-1).is_none());
    let log = probe.finished().await;
    assert!(
        probe.out(1) == input,
        "cat echoed {} of {} bytes",
        probe.out(1).len(),
        input.len()
    );
    assert!(log.contains(&"exited Some(0)".to_string()), "{log:?}");
}

#[anyloop::test]
async fn close_kills_a_running_child() {
    let (rec, probe) = Recorder::new(b"");
    let res = subprocess_exec(move || rec, &mut common::sleep("30")).await;
    let Some(t) = supported_feature(res, subprocess(), "subprocess_exec", "subprocesses") else {
        return;
    };
    assert_eq!(t.returncode(), None);
    assert!(!t.is_closing());
    t.close();
    assert!(t.is_closing());
    let log = probe.finished().await;
    // Killed: by SIGKILL, or on Windows by TerminateProcess (exit code 1).
    let killed = if cfg!(windows) { 1 } else { -9 };
    assert!(log.contains(&format!("exited Some({killed})")), "{log:?}");
    assert_eq!(t.returncode(), Some(killed));
    // Signals after the exit do nothing.
    t.terminate().unwrap();
}

/// A child that reads slowly fills its stdin pipe: `pause_writing` above
/// the high-water mark, `resume_writing` once it has drained.
#[anyloop::test]
async fn stdin_flow_control_pauses_and_resumes_writing() {
    struct Flow {
        log: Rc<RefCell<Vec<String>>>,
        done: Promise<()>,
    }
    impl SubprocessProtocol for Flow {
        fn connection_made(&mut self, t: SubprocessTransport) {
            let stdin = t.pipe_transport(0).unwrap();
            stdin.set_write_buffer_limits(Some(64 * 1024), Some(16 * 1024));
            // Far more than the pipe holds: most of it waits in the buffer.
            stdin.write(&vec![b'x'; 4 << 20]);
            stdin.write_eof();
        }
        fn pause_writing(&mut self) {
            self.log.borrow_mut().push("pause".into());
        }
        fn resume_writing(&mut self) {
            self.log.borrow_mut().push("resume".into());
        }
        fn pipe_data_received(&mut self, _fd: i32, data: &[u8]) {
            self.log
                .borrow_mut()
                .push(String::from_utf8_lossy(data).into_owned());
        }
        fn connection_lost(&mut self, _exc: Option<io::Error>) {
            let _ = self.done.set(());
        }
    }
    let log = Rc::new(RefCell::new(Vec::new()));
    let done = Promise::new();
    let (l, d) = (log.clone(), done.clone());
    // `sleep` first: the pipe fills and stays full for a while.
    let mut cmd = common::script("sleep 0.2; wc -c | tr -d ' '", &["sleep", "0.2", ";", "wc"]);
    let res = subprocess_exec(move || Flow { log: l, done: d }, &mut cmd).await;
    if supported_feature(res, subprocess(), "subprocess_shell", "subprocesses").is_none() {
        return;
    }
    deadline("connection_lost", done.wait()).await.unwrap();
    let log = log.borrow();
    let pause = log.iter().position(|l| l == "pause");
    let resume = log.iter().position(|l| l == "resume");
    assert!(
        pause.is_some() && resume.is_some() && pause < resume,
        "{log:?}"
    );
    // wc counted every byte: nothing was lost while paused.
    assert_eq!(log.last().map(String::as_str), Some("4194304\n"), "{log:?}");
}
