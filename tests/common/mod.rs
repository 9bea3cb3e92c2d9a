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
pub async fn deadline<F: Future>(what: &str, fut: F) -> F::Output {
    match anyloop::timeout(Duration::from_secs(60), fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within 60 s"),
    }
}

/// Raises the soft limit on open files to at least `want` (native, where
/// the hard limit allows). Returns the soft limit now in force.
#[cfg(not(target_family = "wasm"))]
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

#[cfg(target_family = "wasm")]
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
