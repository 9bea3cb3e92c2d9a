//! Helpers shared by the streams tests.
#![allow(dead_code)]

use std::future::Future;
use std::io;
use std::time::Duration;

/// `Some(value)` if the host has the feature (`cap`), else asserts that
/// `res` is the `Unsupported` error naming the host and returns `None`.
pub fn supported<T>(res: io::Result<T>, cap: bool, what: &str) -> Option<T> {
    let host = anyloop::capabilities().host;
    match res {
        Ok(v) => {
            assert!(
                cap,
                "{what} worked on {host} although its capability is off"
            );
            Some(v)
        }
        Err(e) => {
            assert!(!cap, "{what} failed on {host}: {e}");
            assert_eq!(e.kind(), io::ErrorKind::Unsupported, "{what}: {e}");
            assert!(e.to_string().contains(host), "{what}: {e}");
            None
        }
    }
}

/// [`supported`], and where the feature is missing, the error also names
/// `feature` (`"subprocesses"`), so a user reading it knows what failed.
pub fn supported_feature<T>(res: io::Result<T>, cap: bool, what: &str, feature: &str) -> Option<T> {
    if let Err(e) = &res {
        assert!(
            e.to_string().contains(feature),
            "{what}: the error does not name {feature:?}: {e}"
        );
    }
    supported(res, cap, what)
}

/// Whether this Windows program runs under Wine (`cargo xtask test --host
/// windows`), where a few Windows behaviours differ; see the callers.
pub fn under_wine() -> bool {
    cfg!(windows) && std::path::Path::new(r"C:\windows\system32\winecfg.exe").exists()
}

/// The path of `examples/<name>.rs` built as the program it is: `cargo test`
/// builds the examples next to the test binaries (`target/<profile>/examples/`).
#[cfg(not(target_family = "wasm"))]
pub fn example_path(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let path = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: run the tests with `cargo test` (which builds the examples) \
         or `cargo build --example {name}` first",
        path.display()
    );
    path
}

/// `examples/<name>.rs` as the program it is, ready to run (see [`example_path`]).
#[cfg(not(target_family = "wasm"))]
pub fn example(name: &str) -> std::process::Command {
    std::process::Command::new(example_path(name))
}

/// A child process killed and reaped on drop, so a failing assertion leaves
/// no server behind.
#[cfg(not(target_family = "wasm"))]
pub struct KillOnDrop(pub std::process::Child);

#[cfg(not(target_family = "wasm"))]
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free port on 127.0.0.1 (bound, noted, closed).
#[cfg(not(target_family = "wasm"))]
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("find a free port");
    l.local_addr().expect("local addr").port()
}

/// A child for the subprocess tests: on Unix `sh -c unix`; on Windows
/// (which has no `cat`, `sleep`, `tee`, `true`, `printf`)
/// `examples/stdio_tool.rs` running `windows`, its `;`-separated steps
/// (`echo`, `echo-err`, `cat`, `tee`, `sleep`, `env`, `cwd`, `exit`).
pub fn script(unix: &str, windows: &[&str]) -> anyloop::process::Command {
    #[cfg(windows)]
    {
        let _ = unix;
        let mut cmd = anyloop::process::Command::new(example_path("stdio_tool"));
        cmd.args(windows);
        cmd
    }
    #[cfg(not(windows))]
    {
        let _ = windows;
        anyloop::process::Command::shell(unix)
    }
}

/// `cat`: stdin to stdout (see [`script`]).
pub fn cat() -> anyloop::process::Command {
    script("exec cat", &["cat"])
}

/// `true`: exits with 0 at once (see [`script`]).
pub fn true_() -> anyloop::process::Command {
    script("exec true", &["exit", "0"])
}

/// `sleep secs` (see [`script`]).
pub fn sleep(secs: &str) -> anyloop::process::Command {
    script(&format!("exec sleep {secs}"), &["sleep", secs])
}

/// Whether TCP servers and clients can both run in this process.
pub fn tcp_loopback() -> bool {
    let caps = anyloop::capabilities();
    caps.tcp_listen && caps.tcp_connect
}

/// Waits (yielding to other tasks) until `cond` holds; panics after `limit`.
pub async fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let res = anyloop::timeout(limit, async {
        while !cond() {
            anyloop::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    assert!(res.is_ok(), "timed out waiting for {what}");
}

/// Runs `fut` with a generous deadline so a bug fails instead of hanging.
/// 300 s: 1,000 clients echoing 100 lines each took over 60 s on the
/// Windows tests under Wine on a loaded 2-core CI machine; no test may
/// depend on machine speed, only a hang should reach this.
pub async fn deadline<F: Future>(what: &str, fut: F) -> F::Output {
    match anyloop::timeout(Duration::from_secs(300), fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within 300 s"),
    }
}

/// Raises the soft limit on open files to at least `want` (native, where
/// the hard limit allows). Returns the soft limit now in force.
#[cfg(unix)]
pub fn raise_fd_limit(want: u64) -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let cur = getrlimit(Resource::Nofile);
    let soft = cur.current.unwrap_or(u64::MAX);
    if soft >= want {
        return soft;
    }
    let target = match cur.maximum {
        Some(max) => want.min(max),
        None => want,
    };
    let new = Rlimit {
        current: Some(target),
        maximum: cur.maximum,
    };
    match setrlimit(Resource::Nofile, new) {
        Ok(()) => target,
        Err(_) => soft,
    }
}

/// No descriptor limit to raise here (WASI, web; Windows sockets are
/// handles, limited by memory only).
#[cfg(not(unix))]
pub fn raise_fd_limit(want: u64) -> u64 {
    want
}

/// Closes `server`, cancels its handlers and waits until they are gone,
/// so the test leaves no task behind.
pub async fn shut_down(server: &anyloop::net::Server) {
    server.close();
    server.abort_clients();
    deadline("Server::wait_closed", server.wait_closed()).await;
}

/// Echoes what `r` reads until end of stream, then closes `w`.
pub async fn echo_until_eof(
    mut r: anyloop::net::StreamReader,
    w: anyloop::net::StreamWriter,
) -> io::Result<()> {
    loop {
        let chunk = r.read(64 * 1024).await?;
        if chunk.is_empty() {
            w.close();
            return w.wait_closed().await;
        }
        w.write(&chunk);
        w.drain().await?;
    }
}

/// One end of an in-memory full-duplex byte pipe (see [`pipe`]).
pub struct PipeEnd {
    rx: std::rc::Rc<std::cell::RefCell<PipeBuf>>,
    tx: std::rc::Rc<std::cell::RefCell<PipeBuf>>,
}

#[derive(Default)]
struct PipeBuf {
    data: std::collections::VecDeque<u8>,
    closed: bool,
    reader: Option<std::task::Waker>,
    writer: Option<std::task::Waker>,
    /// Bytes buffered before writes wait.
    capacity: usize,
}

/// Bytes buffered per direction before writes wait (see [`pipe`]).
const PIPE_CAPACITY: usize = 16 * 1024;

/// An in-memory full-duplex pipe: what one end writes the other reads;
/// writes wait while `PIPE_CAPACITY` bytes are unread, reads wait for
/// data; closing one end's write side is end of stream for the other.
/// A transport that is not a socket, for `anyloop::net::wrap`.
pub fn pipe() -> (PipeEnd, PipeEnd) {
    pipe_with_capacity(PIPE_CAPACITY)
}

/// A [`pipe`] that buffers `capacity` bytes per direction before writes
/// wait.
pub fn pipe_with_capacity(capacity: usize) -> (PipeEnd, PipeEnd) {
    let buf = || {
        std::rc::Rc::new(std::cell::RefCell::new(PipeBuf {
            capacity,
            ..PipeBuf::default()
        }))
    };
    let (a, b) = (buf(), buf());
    (
        PipeEnd {
            rx: a.clone(),
            tx: b.clone(),
        },
        PipeEnd { rx: b, tx: a },
    )
}

impl futures_lite::AsyncRead for PipeEnd {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<io::Result<usize>> {
        let mut p = self.rx.borrow_mut();
        if p.data.is_empty() {
            if p.closed {
                return std::task::Poll::Ready(Ok(0));
            }
            p.reader = Some(cx.waker().clone());
            return std::task::Poll::Pending;
        }
        let n = buf.len().min(p.data.len());
        for (dst, src) in buf.iter_mut().zip(p.data.drain(..n)) {
            *dst = src;
        }
        if let Some(w) = p.writer.take() {
            w.wake();
        }
        std::task::Poll::Ready(Ok(n))
    }
}

impl futures_lite::AsyncWrite for PipeEnd {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        let mut p = self.tx.borrow_mut();
        if p.closed {
            return std::task::Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let room = p.capacity - p.data.len();
        if room == 0 {
            p.writer = Some(cx.waker().clone());
            return std::task::Poll::Pending;
        }
        let n = buf.len().min(room);
        p.data.extend(&buf[..n]);
        if let Some(w) = p.reader.take() {
            w.wake();
        }
        std::task::Poll::Ready(Ok(n))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_close(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        let mut p = self.tx.borrow_mut();
        p.closed = true;
        if let Some(w) = p.reader.take() {
            w.wake();
        }
        std::task::Poll::Ready(Ok(()))
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        for side in [&self.tx, &self.rx] {
            let mut p = side.borrow_mut();
            p.closed = true;
            let wakers = [p.reader.take(), p.writer.take()];
            drop(p);
            wakers
                .into_iter()
                .flatten()
                .for_each(std::task::Waker::wake);
        }
    }
}

/// Occupies the loop (no await) for `d` of anyloop's clock.
pub fn block_for(d: Duration) {
    let start = anyloop::time::Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}
