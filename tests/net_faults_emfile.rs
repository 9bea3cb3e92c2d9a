//! Fault injection (native): the server runs out of file descriptors on
//! accept, backs off, and serves the waiting clients once descriptors come
//! back. A file of its own: while the descriptor table is full no other
//! test of the process may start (a new loop needs descriptors too).
// Unix: Windows has no descriptor table limit to fill (sockets are
// handles, bounded by memory).
#![cfg(unix)]

mod common;
#[path = "common/faults.rs"]
mod faults;

use std::io;
use std::os::fd::OwnedFd;
use std::time::Duration;

use anyloop::net::TcpStream;
use faults::{fixture, open_fds, round_trip};

#[anyloop::test]
async fn out_of_descriptors_on_accept_backs_off_and_recovers() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let f = fixture().await;
    round_trip(f.addr, "warm up\n").await;
    let server = &f.server;
    common::wait_until(
        "the warm-up connection to end",
        Duration::from_secs(30),
        || server.active_connections() == 0,
    )
    .await;

    // Clients connect while every descriptor of the process is in use:
    // the kernel completes their handshakes, the server's accept fails
    // with EMFILE.
    const CLIENTS: usize = 8;
    struct Restore(rustix::process::Rlimit);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = setrlimit(Resource::Nofile, self.0);
        }
    }
    let saved = Restore(getrlimit(Resource::Nofile));
    let mut low = saved.0;
    low.current = Some((open_fds() + CLIENTS + 16) as u64);
    setrlimit(Resource::Nofile, low).unwrap();
    let mut filler: Vec<OwnedFd> = Vec::new();
    let emfile = loop {
        match rustix::io::dup(std::io::stderr()) {
            Ok(fd) => filler.push(fd),
            Err(e) => break io::Error::from(e),
        }
    };
    assert_eq!(emfile.raw_os_error(), Some(libc::EMFILE), "{emfile}");
    filler.truncate(filler.len() - CLIENTS);
    // Blocking connects: the loop does not run (and so cannot accept)
    // until the table is full again; the kernel completes the handshakes.
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let mut s = std::net::TcpStream::connect(f.addr).unwrap();
        std::io::Write::write_all(&mut s, format!("client {i}\n").as_bytes()).unwrap();
        clients.push(TcpStream::from_std(s).unwrap());
    }
    assert!(
        rustix::io::dup(std::io::stderr()).is_err(),
        "the table is full"
    );
    // The server retries (backing off) but cannot accept yet.
    anyloop::sleep(Duration::from_millis(100)).await;
    assert!(f.server.is_serving());
    assert_eq!(f.server.active_connections(), 0);

    // Descriptors come back: every waiting client is served, nothing lost.
    drop(filler);
    drop(saved);
    for (i, s) in clients.iter().enumerate() {
        let want = format!("client {i}\n");
        let mut got = vec![0u8; want.len()];
        let mut n = 0;
        common::deadline("the echo after EMFILE", async {
            while n < got.len() {
                let k = s.read(&mut got[n..]).await.unwrap();
                assert_ne!(k, 0, "client {i}: closed without an echo");
                n += k;
            }
        })
        .await;
        assert_eq!(got, want.as_bytes());
    }
    round_trip(f.addr, "after\n").await;
    common::shut_down(&f.server).await;
}
