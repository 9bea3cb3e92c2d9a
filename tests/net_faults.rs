//! Fault injection against a real server on 127.0.0.1 (native): a reset
//! in the middle of a write, a peer
//! that half-closes, a full accept backlog, a wave of 10,000 resets, and
//! writes after the peer closed with SIGPIPE at its default (deadly)
//! disposition. Each test checks that nothing is lost on the healthy
//! connections and that the server keeps serving.
//!
//! Several of these change process-wide state (the open-files limit, the
//! SIGPIPE disposition), so the tests of this file run one at a time.
//! Running out of descriptors has a file of its own
//! (`net_faults_emfile.rs`): no other test may start a loop meanwhile.
#![cfg(not(target_family = "wasm"))]
// `serial()`'s guard is held across awaits on purpose: it serializes the
// tests (each runs its own loop on its own thread), not tasks of one loop.
#![allow(clippy::await_holding_lock)]

mod common;
#[path = "common/faults.rs"]
mod faults;

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use anyloop::net::{open_connection, start_server_on, TcpListener, TcpStream};
use faults::{fixture, open_fds, reset_on_close, round_trip, serve};

/// One test of this file at a time (they change process-wide state).
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[anyloop::test]
async fn reset_in_the_middle_of_a_write_fails_only_that_connection() {
    let _serial = serial();
    let f = fixture().await;
    // A healthy connection, open across the reset.
    let (mut hr, hw) = open_connection("127.0.0.1", f.addr.port()).await.unwrap();
    hw.write(b"before\n");
    hw.drain().await.unwrap();
    assert_eq!(hr.readline().await.unwrap(), b"before\n");

    // The rude client asks for a flood, reads a little of it, then resets.
    let rude = TcpStream::connect_addr(f.addr).await.unwrap();
    rude.write_all(b"flood\n").await.unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = 0;
    while got < 1 << 20 {
        let n = rude.read(&mut buf).await.unwrap();
        assert!(n > 0);
        got += n;
    }
    reset_on_close(&rude);
    drop(rude);

    let errors = f.errors.clone();
    common::wait_until("the writer's error", Duration::from_secs(30), || {
        !errors.borrow().is_empty()
    })
    .await;
    let kind = f.errors.borrow()[0];
    assert!(
        matches!(
            kind,
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
        ),
        "{kind:?}"
    );
    hw.write(b"after\n");
    hw.drain().await.unwrap();
    assert_eq!(hr.readline().await.unwrap(), b"after\n");
    round_trip(f.addr, "new\n").await;
    common::shut_down(&f.server).await;
}

#[anyloop::test]
async fn peer_half_close_still_gets_the_answer() {
    let _serial = serial();
    let f = fixture().await;
    let mut clients = Vec::new();
    for c in 0..20u64 {
        let port = f.addr.port();
        clients.push(anyloop::spawn(async move {
            let (mut r, w) = open_connection("127.0.0.1", port).await?;
            w.write(b"sum\n");
            for v in 0..1000u64 {
                w.write(format!("{}\n", v * c).as_bytes());
                w.drain().await?;
            }
            // Half-close: no more requests, but the answer must come.
            w.write_eof();
            let answer = r.read_to_eof().await?;
            io::Result::Ok((c, answer))
        }));
    }
    for client in clients {
        let (c, answer) = common::deadline("a half-closed client", client)
            .await
            .unwrap()
            .unwrap();
        let total: u64 = (0..1000u64).map(|v| v * c).sum();
        assert_eq!(answer, format!("1000 {total}\n").as_bytes());
    }
    round_trip(f.addr, "still serving\n").await;
    common::shut_down(&f.server).await;
}

async fn backlog_client(addr: SocketAddr, i: usize) -> io::Result<Vec<u8>> {
    let s = TcpStream::connect_addr(addr).await?;
    s.write_all(format!("client {i}\n").as_bytes()).await?;
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while !got.ends_with(b"\n") {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    Ok(got)
}

#[anyloop::test]
async fn full_accept_backlog_is_served_once_the_server_accepts() {
    let _serial = serial();
    // A listener with a backlog of 1 that nobody accepts from yet: the
    // kernel queues one or two handshakes and drops the other SYNs, which
    // the clients send again (after about a second). (More clients make
    // the kernel back off for minutes; six show the same thing.)
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    rustix::net::listen(&std_listener, 1).unwrap();
    let listener = TcpListener::from_std(std_listener).unwrap();
    let addr = listener.local_addr().unwrap();
    const CLIENTS: usize = 6;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            anyloop::spawn(async move {
                // The kernel may reset a handshake it had no room for
                // (syncookies); a client then tries again, as real ones do.
                let mut resets = 0;
                loop {
                    match backlog_client(addr, i).await {
                        Err(e) if e.kind() == io::ErrorKind::ConnectionReset && resets < 5 => {
                            resets += 1;
                        }
                        res => return res.map(|got| (i, got)),
                    }
                }
            })
        })
        .collect();
    anyloop::sleep(Duration::from_millis(50)).await;

    let errors: Rc<RefCell<Vec<io::ErrorKind>>> = Rc::default();
    let server = start_server_on(move |r, w| serve(r, w, errors.clone()), listener).unwrap();
    for c in clients {
        let (i, got) = common::deadline("a client of the full backlog", c)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, format!("client {i}\n").as_bytes());
    }
    round_trip(addr, "after the burst\n").await;
    common::shut_down(&server).await;
}

#[anyloop::test]
async fn ten_thousand_resets_leak_nothing_and_the_server_keeps_serving() {
    let _serial = serial();
    // Windows: 2,000. There is no descriptor table to watch for leaks
    // (`open_fds` counts /proc/self/fd), and under Wine every connection
    // costs several wineserver round trips (~6 ms each).
    const TOTAL: usize = if cfg!(windows) { 2_000 } else { 10_000 };
    const WAVE: usize = 500;
    common::raise_fd_limit(4 * WAVE as u64 + 256);
    let f = fixture().await;
    round_trip(f.addr, "warm up\n").await;
    let before = open_fds();
    let (mut hr, hw) = open_connection("127.0.0.1", f.addr.port()).await.unwrap();

    common::deadline("the reset wave", async {
        for wave in 0..TOTAL / WAVE {
            let conns: Vec<_> = (0..WAVE)
                .map(|i| {
                    anyloop::spawn(async move {
                        let s = TcpStream::connect_addr(f.addr).await?;
                        if i % 2 == 0 {
                            // Half a line, then the reset.
                            s.write_all(b"half a li").await?;
                        }
                        reset_on_close(&s);
                        io::Result::Ok(())
                    })
                })
                .collect();
            for c in conns {
                c.await.unwrap().unwrap();
            }
            // The healthy connection is served between the waves.
            hw.write(format!("wave {wave}\n").as_bytes());
            hw.drain().await.unwrap();
            assert_eq!(
                hr.readline().await.unwrap(),
                format!("wave {wave}\n").as_bytes()
            );
        }
    })
    .await;
    drop((hr, hw));
    let server = &f.server;
    common::wait_until(
        "every reset connection to end",
        Duration::from_secs(60),
        || server.active_connections() == 0,
    )
    .await;
    common::wait_until(
        "the descriptors to come back",
        Duration::from_secs(60),
        // (Slack for a loop another test thread may start meanwhile; a
        // leak here would be thousands.)
        || open_fds() <= before + 16,
    )
    .await;
    round_trip(f.addr, "after the wave\n").await;
    common::shut_down(&f.server).await;
}

/// Sees every SIGPIPE while it lives: a handler that sets a flag takes
/// the place of the ignored disposition Rust programs start with, so a
/// write that raises SIGPIPE (one without `MSG_NOSIGNAL`) is seen (with
/// the default disposition it would kill the process; ignored, it would
/// pass unseen). Unix; Windows has no SIGPIPE.
#[cfg(unix)]
struct SigpipeSeen {
    flag: std::sync::Arc<std::sync::atomic::AtomicBool>,
    id: signal_hook::SigId,
}

#[cfg(unix)]
impl SigpipeSeen {
    fn watch() -> SigpipeSeen {
        let flag = std::sync::Arc::default();
        let id =
            signal_hook::flag::register(signal_hook::consts::SIGPIPE, std::sync::Arc::clone(&flag))
                .expect("install a SIGPIPE handler");
        SigpipeSeen { flag, id }
    }

    /// Whether a SIGPIPE arrived (the handler runs on the thread whose
    /// write raised it, before the write returns).
    fn seen(&self) -> bool {
        self.flag.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[cfg(unix)]
impl Drop for SigpipeSeen {
    fn drop(&mut self) {
        // The handler stays, without the flag: it does nothing, as the
        // ignored disposition before it.
        signal_hook::low_level::unregister(self.id);
    }
}

#[anyloop::test]
async fn writes_after_the_peer_closed_fail_without_sigpipe() {
    let _serial = serial();
    // A write on a socket whose peer is gone raises SIGPIPE (deadly by
    // default) unless the runtime asks the kernel not to (MSG_NOSIGNAL);
    // the error must come back instead, and no SIGPIPE.
    #[cfg(unix)]
    let sigpipe = SigpipeSeen::watch();
    let f = fixture().await;
    for _ in 0..4 {
        let s = TcpStream::connect_addr(f.addr).await.unwrap();
        s.write_all(b"flood\n").await.unwrap();
        drop(s);
    }
    let errors = f.errors.clone();
    common::wait_until("the writers' errors", Duration::from_secs(30), || {
        errors.borrow().len() == 4
    })
    .await;
    for kind in f.errors.borrow().iter() {
        assert!(
            matches!(
                kind,
                // Windows: WSAECONNABORTED when the stack aborted it.
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::ConnectionAborted
            ),
            "{kind:?}"
        );
    }
    round_trip(f.addr, "alive\n").await;
    common::shut_down(&f.server).await;

    // The same over a Unix socket pair.
    #[cfg(unix)]
    {
        let (a, b) = anyloop::net::UnixStream::pair().unwrap();
        drop(b);
        let err = loop {
            if let Err(e) = a.write(&[0u8; 4096]).await {
                break e;
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");

        assert!(!sigpipe.seen(), "a write raised SIGPIPE");
        // The watch works: a SIGPIPE sent on purpose is seen.
        anyloop::signal::raise_signal(anyloop::signal::SIGPIPE).unwrap();
        common::wait_until(
            "the SIGPIPE sent on purpose",
            Duration::from_secs(30),
            || sigpipe.seen(),
        )
        .await;
    }
}
