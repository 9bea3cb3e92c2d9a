//! asyncio's loop object: `get_running_loop()` and its methods (callback
//! order, futures, executors, `add_reader`/`add_writer`, `sock_*`), and
//! `Runner` on a user host.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyloop::{Executor, Job};

mod common;

#[anyloop::test]
async fn callbacks_run_in_asyncio_order() {
    let lp = anyloop::get_running_loop();
    let log: Rc<RefCell<Vec<&str>>> = Rc::default();
    let push = |name: &'static str| {
        let log = log.clone();
        move || log.borrow_mut().push(name)
    };
    let now = lp.time();
    // Timers by deadline, equal deadlines first-in first-out; soon
    // callbacks in call order, before any timer.
    lp.call_later(Duration::from_millis(30), push("later 30"));
    lp.call_at(now + Duration::from_millis(10), push("at 10 a"));
    lp.call_soon(push("soon 1"));
    lp.call_at(now + Duration::from_millis(10), push("at 10 b"));
    let cancelled = lp.call_soon(push("cancelled"));
    lp.call_soon(push("soon 2"));
    assert!(cancelled.cancel());
    let done = lp.create_future();
    let d = done.clone();
    lp.call_later(Duration::from_millis(40), move || {
        let _ = d.set(());
    });
    done.wait().await.unwrap();
    assert_eq!(
        *log.borrow(),
        ["soon 1", "soon 2", "at 10 a", "at 10 b", "later 30"]
    );
    assert!(lp.time() - now >= Duration::from_millis(40));
}

#[anyloop::test]
async fn create_task_and_create_future() {
    let lp = anyloop::get_running_loop();
    let fut = lp.create_future::<u32>();
    let waiter = lp.create_task({
        let fut = fut.clone();
        async move { fut.wait().await.unwrap() * 2 }
    });
    anyloop::yield_now().await;
    fut.set(21).unwrap();
    assert_eq!(waiter.await.unwrap(), 42);
    assert_eq!(lp.handle(), anyloop::Handle::current());
}

/// An executor whose jobs wait in a queue until the loop drains it: works
/// on every host, threads or not.
#[derive(Clone, Default)]
struct QueueExecutor(Arc<Mutex<VecDeque<Job>>>);

impl Executor for QueueExecutor {
    fn execute(&self, job: Job) -> io::Result<()> {
        self.0.lock().unwrap().push_back(job);
        Ok(())
    }
}

impl QueueExecutor {
    fn run_all(&self) -> usize {
        let jobs: Vec<Job> = self.0.lock().unwrap().drain(..).collect();
        let n = jobs.len();
        jobs.into_iter().for_each(|j| j());
        n
    }
}

/// Refuses work, or drops it.
struct Broken {
    refuse: bool,
}

impl Executor for Broken {
    fn execute(&self, job: Job) -> io::Result<()> {
        if self.refuse {
            return Err(io::Error::new(io::ErrorKind::WouldBlock, "executor full"));
        }
        drop(job);
        Ok(())
    }
}

#[anyloop::test]
async fn run_in_executor_hands_off_to_a_custom_executor() {
    let lp = anyloop::get_running_loop();
    let ex = QueueExecutor::default();
    let ex2 = ex.clone();
    let result = anyloop::spawn(async move {
        let lp = anyloop::get_running_loop();
        lp.run_in_executor(Some(&ex2), || "from the executor").await
    });
    anyloop::yield_now().await;
    assert!(!result.is_finished(), "the job has not run yet");
    assert_eq!(ex.run_all(), 1);
    assert_eq!(result.await.unwrap().unwrap(), "from the executor");

    let err = lp
        .run_in_executor(Some(&Broken { refuse: true }), || ())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    let err = lp
        .run_in_executor(Some(&Broken { refuse: false }), || ())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("dropped"), "{err}");

    // As the default executor. (In the browser the tests share one loop:
    // leave its default executor alone there.)
    if !anyloop::capabilities().blocking {
        return;
    }
    lp.set_default_executor(ex.clone());
    let t = anyloop::spawn(async move {
        let lp = anyloop::get_running_loop();
        lp.run_in_executor(None, || 5).await
    });
    anyloop::yield_now().await;
    assert_eq!(ex.run_all(), 1);
    assert_eq!(t.await.unwrap().unwrap(), 5);
}

#[anyloop::test]
async fn run_in_executor_default_pool_and_shutdown() {
    let lp = anyloop::get_running_loop();
    let caps = anyloop::capabilities();
    let res = lp
        .run_in_executor(None, || {
            std::thread::sleep(Duration::from_millis(30));
            std::thread::current().id()
        })
        .await;
    let Some(id) = common::supported(res, caps.threads, "run_in_executor(None)") else {
        return;
    };
    assert_ne!(id, std::thread::current().id());

    // shutdown waits for running jobs, then refuses new ones.
    let finished = Arc::new(Mutex::new(false));
    let f2 = finished.clone();
    let job = anyloop::spawn(async move {
        anyloop::get_running_loop()
            .run_in_executor(None, move || {
                std::thread::sleep(Duration::from_millis(50));
                *f2.lock().unwrap() = true;
            })
            .await
    });
    anyloop::sleep(Duration::from_millis(5)).await;
    lp.shutdown_default_executor().await;
    assert!(
        *finished.lock().unwrap(),
        "shutdown returned before the job ended"
    );
    job.await.unwrap().unwrap();
    let err = lp.run_in_executor(None, || ()).await.unwrap_err();
    assert!(err.to_string().contains("shut down"), "{err}");
}

#[cfg(unix)]
#[anyloop::test]
async fn add_reader_on_a_pipe_is_level_triggered() {
    use std::io::Write;
    use std::os::fd::AsRawFd;

    let (rx, tx) = rustix::pipe::pipe().unwrap();
    rustix::io::ioctl_fionbio(&rx, true).unwrap();
    let mut tx = std::fs::File::from(tx);
    let lp = anyloop::get_running_loop();
    let fd = rx.as_raw_fd();
    let got: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
    let g = got.clone();
    lp.add_reader(fd, move || {
        // Reads 2 bytes per call: the rest must bring the callback back.
        let mut buf = [0u8; 2];
        match rustix::io::read(&rx, &mut buf) {
            Ok(n) => g.borrow_mut().push(buf[..n].to_vec()),
            Err(e) => assert_eq!(e, rustix::io::Errno::AGAIN),
        }
    })
    .unwrap();
    tx.write_all(b"abcdef").unwrap();
    common::wait_until("three reads", Duration::from_secs(10), || {
        got.borrow().len() >= 3
    })
    .await;
    assert_eq!(
        got.borrow()[..3],
        [b"ab".to_vec(), b"cd".to_vec(), b"ef".to_vec()]
    );
    // Drained: no more calls until new data.
    anyloop::sleep(Duration::from_millis(20)).await;
    assert_eq!(got.borrow().len(), 3);
    tx.write_all(b"gh").unwrap();
    common::wait_until("fourth read", Duration::from_secs(10), || {
        got.borrow().len() >= 4
    })
    .await;
    assert!(lp.remove_reader(fd));
    assert!(!lp.remove_reader(fd));
    tx.write_all(b"ij").unwrap();
    anyloop::sleep(Duration::from_millis(20)).await;
    assert_eq!(got.borrow().len(), 4, "a removed reader was called");

    // A writer on the same pipe, and a reader again (the watch is shared).
    let fd_w = tx.as_raw_fd();
    let writable = lp.create_future();
    let w = writable.clone();
    lp.add_writer(fd_w, move || {
        let _ = w.set(());
    })
    .unwrap();
    writable.wait().await.unwrap();
    assert!(lp.remove_writer(fd_w));
}

#[cfg(unix)]
#[anyloop::test]
async fn add_reader_refuses_a_regular_file() {
    use std::os::fd::AsRawFd;
    let path = std::env::temp_dir().join(format!("anyloop-addreader-{}", std::process::id()));
    let f = std::fs::File::create(&path).unwrap();
    let lp = anyloop::get_running_loop();
    let err = lp.add_reader(f.as_raw_fd(), || {}).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
    assert!(!lp.remove_reader(f.as_raw_fd()));
    std::fs::remove_file(&path).unwrap();
}

/// WASI: stdout is watched through `poll_oneoff` (or counts as always
/// ready where the runtime cannot watch it); web: no descriptors.
#[cfg(target_family = "wasm")]
#[anyloop::test]
async fn add_writer_on_stdout_or_unsupported() {
    let lp = anyloop::get_running_loop();
    let caps = anyloop::capabilities();
    let writable = lp.create_future();
    let w = writable.clone();
    let res = lp.add_writer(1, move || {
        let _ = w.set(());
    });
    if common::supported(res, caps.host == "wasi", "add_writer(stdout)").is_some() {
        common::deadline("stdout writable", writable.wait())
            .await
            .unwrap();
        assert!(lp.remove_writer(1));
    }
    let res = lp.add_reader(0, || {});
    if common::supported(res, caps.host == "wasi", "add_reader(stdin)").is_some() {
        assert!(lp.remove_reader(0));
    }
}

#[anyloop::test]
async fn sock_methods_round_trip() {
    let lp = anyloop::get_running_loop();
    let caps = anyloop::capabilities();
    // Raw std sockets need descriptor readiness, which WASI 0.2 lacks (its
    // sockets are component resources: anyloop::net's types serve there).
    if !common::tcp_loopback() || caps.host == "wasip2" {
        let err = lp
            .sock_connect("127.0.0.1:9".parse().unwrap())
            .await
            .unwrap_err();
        common::supported::<()>(Err(err), false, "sock_connect");
        return;
    }
    assert!(caps.tcp_connect);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, accepted) =
        anyloop::gather!(lp.sock_connect(addr), lp.sock_accept(&listener)).await;
    let (client, (server, peer)) = (client.unwrap(), accepted.unwrap());
    assert_eq!(peer, client.local_addr().unwrap());

    // Bigger than the socket buffers: sendall must wait for the reader.
    let data: Vec<u8> = (0..4 << 20).map(|i| (i % 251) as u8).collect();
    let reader = async {
        let mut got = Vec::new();
        let mut buf = vec![0u8; 64 << 10];
        while got.len() < data.len() {
            let n = lp.sock_recv_into(&server, &mut buf).await.unwrap();
            assert_ne!(n, 0, "early end of stream");
            got.extend_from_slice(&buf[..n]);
        }
        got
    };
    let (sent, got) = anyloop::gather!(lp.sock_sendall(&client, &data), reader).await;
    sent.unwrap();
    assert!(got == data, "data corrupted");
    client.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(lp.sock_recv(&server, 10).await.unwrap(), b"");

    let err = lp.sock_recv(&listener, 1).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let err = lp.sock_connect(refused).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
}

/// asyncio's datagram socket methods: `sock_sendto`, `sock_recvfrom`,
/// `sock_recvfrom_into` on non-blocking std UDP sockets.
#[anyloop::test]
async fn sock_datagram_methods_round_trip() {
    let lp = anyloop::get_running_loop();
    let caps = anyloop::capabilities();
    // As for the stream methods: std sockets with descriptor readiness.
    if !common::tcp_loopback() || !caps.udp || caps.host == "wasip2" {
        let Ok(sock) = std::net::UdpSocket::bind("127.0.0.1:0") else {
            return; // no std UDP socket to pass in on this host
        };
        if sock.set_nonblocking(true).is_err() {
            return;
        }
        let res = lp.sock_recvfrom(&sock, 1).await.map(drop);
        common::supported(res, false, "sock_recvfrom");
        return;
    }
    let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());

    // The receive waits for the datagram sent after it started.
    let recv = lp.sock_recvfrom(&b, 64);
    let send = async {
        anyloop::yield_now().await;
        lp.sock_sendto(&a, b"ping", b_addr).await
    };
    let (got, sent) = anyloop::gather!(recv, send).await;
    assert_eq!(sent.unwrap(), 4);
    assert_eq!(got.unwrap(), (b"ping".to_vec(), a_addr));

    // One datagram per receive; a longer one is cut to the buffer (on
    // Windows `recvfrom` may fail with WSAEMSGSIZE instead).
    lp.sock_sendto(&b, b"pong, long", a_addr).await.unwrap();
    lp.sock_sendto(&b, b"second", a_addr).await.unwrap();
    let mut buf = [0u8; 4];
    let cut = lp.sock_recvfrom_into(&a, &mut buf).await;
    if !cfg!(windows) {
        let (n, from) = cut.unwrap();
        assert_eq!((&buf[..n], from), (&b"pong"[..], b_addr));
    }
    let (data, _) = lp.sock_recvfrom(&a, 64).await.unwrap();
    assert_eq!(data, b"second");
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
#[test]
fn runner_on_a_user_host() {
    // Virtual time: the hour passes at once.
    let runner = anyloop::Runner::with_host(anyloop_core::testing::MockHost::new());
    let out = runner.run(async {
        let lp = anyloop::get_running_loop();
        let start = lp.time();
        anyloop::sleep(Duration::from_secs(3600)).await;
        lp.time() - start
    });
    assert_eq!(out, Duration::from_secs(3600));
    assert!(anyloop::try_get_running_loop().is_none());
}

/// asyncio's loop methods for debug mode and the exception handler, on the
/// loop object: they act on the same loop state as `anyloop::debug` and
/// `Handle`.
#[anyloop::test]
async fn debug_mode_and_exception_handler_on_the_loop_object() {
    use anyloop::debug::ExceptionContext;
    let lp = anyloop::get_running_loop();
    let was = lp.is_debug();
    lp.set_debug(true);
    assert!(lp.is_debug());
    assert!(anyloop::debug::is_debug());
    lp.set_debug(false);
    assert!(!lp.is_debug());
    lp.set_slow_callback_duration(Duration::from_millis(250));
    assert_eq!(lp.slow_callback_duration(), Duration::from_millis(250));
    assert_eq!(
        anyloop::debug::slow_callback_duration(),
        Duration::from_millis(250)
    );
    lp.set_slow_callback_duration(Duration::from_millis(100));

    /// (message, task name) of each report.
    type Reports = Arc<Mutex<Vec<(String, Option<String>)>>>;
    let seen: Reports = Arc::default();
    let s = seen.clone();
    assert!(lp.exception_handler().is_none());
    lp.set_exception_handler(Some(move |ctx: &ExceptionContext| {
        let task = ctx.task().and_then(|t| t.name()).map(str::to_string);
        s.lock().unwrap().push((ctx.message().to_string(), task));
    }));
    assert!(lp.exception_handler().is_some());
    // The handler set on the loop object is the one the Handle reaches.
    anyloop::Handle::current().call_exception_handler(ExceptionContext::new("via handle"));
    lp.call_exception_handler(ExceptionContext::new("via loop"));
    if anyloop::capabilities().catch_panic {
        // A failed task nobody awaits is reported to the loop's handler.
        drop(
            anyloop::task::Builder::new()
                .name("lost")
                .spawn(async { panic!("boom (expected by the test)") }),
        );
        common::wait_until("the report", Duration::from_secs(10), || {
            seen.lock().unwrap().len() == 3
        })
        .await;
    }
    let got = seen.lock().unwrap().clone();
    assert_eq!(got[0], ("via handle".to_string(), None));
    assert_eq!(got[1], ("via loop".to_string(), None));
    if anyloop::capabilities().catch_panic {
        assert_eq!(
            got[2],
            (
                "Task exception was never retrieved".to_string(),
                Some("lost".to_string())
            )
        );
    }
    lp.set_exception_handler(None::<fn(&ExceptionContext)>);
    assert!(lp.exception_handler().is_none());
    lp.set_debug(was);
}

/// `wrap_future`: a result produced on another thread (or, without
/// threads, by another task through the thread-safe oneshot) becomes a
/// promise of this loop that several tasks await.
#[anyloop::test]
async fn wrap_future_brings_a_result_from_elsewhere() {
    let lp = anyloop::get_running_loop();
    let (tx, rx) = anyloop::oneshot::channel::<u32>();
    let p = lp.wrap_future(rx);
    assert!(!p.is_done());
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let p = p.clone();
            anyloop::spawn(async move { p.wait().await })
        })
        .collect();
    anyloop::yield_now().await;
    if anyloop::capabilities().threads {
        std::thread::spawn(move || tx.send(42).unwrap());
    } else {
        anyloop::spawn(async move { tx.send(42).unwrap() }).detach();
    }
    for w in waiters {
        assert_eq!(w.await.unwrap(), Ok(Ok(42)));
    }
    assert_eq!(p.result(), Some(Ok(Ok(42))));
}

/// Cancelling the wrapper drops the wrapped future (asyncio cancels the
/// concurrent future), and a wrapped future that panics cancels the
/// wrapper instead of leaving its waiters hanging.
#[anyloop::test]
async fn wrap_future_cancel_drops_the_source_and_a_panic_cancels_the_wrapper() {
    struct Dropped(Rc<RefCell<bool>>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            *self.0.borrow_mut() = true;
        }
    }
    let dropped = Rc::new(RefCell::new(false));
    let guard = Dropped(dropped.clone());
    let p = anyloop::wrap_future(async move {
        let _guard = guard;
        std::future::pending::<u8>().await
    });
    anyloop::yield_now().await;
    assert!(!*dropped.borrow());
    assert!(p.cancel());
    common::wait_until("the source dropped", Duration::from_secs(10), || {
        *dropped.borrow()
    })
    .await;
    assert_eq!(p.wait().await, Err(anyloop::future::Cancelled));

    if anyloop::capabilities().catch_panic {
        anyloop::Handle::current()
            .set_exception_handler(Some(|_: &anyloop::debug::ExceptionContext| {}));
        let p = anyloop::wrap_future(async {
            anyloop::yield_now().await;
            panic!("source failed (expected by the test)");
            #[allow(unreachable_code)]
            1u8
        });
        let got = common::deadline("the wrapper", p.wait()).await;
        assert_eq!(got, Err(anyloop::future::Cancelled));
        anyloop::Handle::current()
            .set_exception_handler(None::<fn(&anyloop::debug::ExceptionContext)>);
    }
}
