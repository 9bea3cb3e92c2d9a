//! `cargo bench --bench streams`: anyloop's Streams vs the same TCP servers
//! written with tokio (current_thread + `LocalSet`) and smol
//! (`LocalExecutor` and `async-net`), all on 127.0.0.1 in one process:
//! interleaved rounds, medians, ratio anyloop / best peer.
//!
//! - `echo_64k`: one client streams 64 KiB messages through an echo server
//!   and reads them back (MB/s echoed, higher is better);
//! - `requests`: 1,000 clients each send small lines one at a time and wait
//!   for the echo (requests/s, higher is better; connects included);
//! - `proto_echo_64k`, `proto_requests`: the same, with anyloop's server
//!   written as an asyncio `Protocol` (`create_server_on`) instead of
//!   Streams (the clients and the peers' rows are the same).
//!
//! Every peer's listener is the same socket setup (`SO_REUSEADDR`, backlog
//! 1024) so no one loses SYNs in the connect burst. Arguments: `--rounds N`
//! (default 5), `--cpu` (thread CPU time instead of wall time), `--quick` (smaller sizes, 3 rounds), `--peer NAME` (one
//! peer only, e.g. under strace or callgrind), name filters.
//!
//! Unix only (the listener setup and the thread CPU clock are Unix calls).
#![cfg_attr(not(unix), no_main)]
#![cfg(unix)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Instant;

const MSG: usize = 64 * 1024;

static CPU_CLOCK: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A stopwatch on the wall clock, or on this thread's CPU time with `--cpu`
/// (steadier when other jobs share the cores; every peer runs client and
/// server on this one thread).
struct Clock(Instant, u64);

impl Clock {
    fn start() -> Clock {
        Clock(Instant::now(), thread_cpu_ns())
    }

    fn secs(&self) -> f64 {
        if CPU_CLOCK.load(std::sync::atomic::Ordering::Relaxed) {
            (thread_cpu_ns() - self.1) as f64 / 1e9
        } else {
            self.0.elapsed().as_secs_f64()
        }
    }
}

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[derive(Clone, Copy)]
struct Sizes {
    echo_bytes: usize,
    clients: usize,
    requests: usize,
}

const FULL: Sizes = Sizes {
    echo_bytes: 256 << 20,
    clients: 1000,
    requests: 50,
};
const QUICK: Sizes = Sizes {
    echo_bytes: 32 << 20,
    clients: 200,
    requests: 10,
};

/// A listening socket on 127.0.0.1 with a 1024 backlog, as std.
fn listener() -> std::net::TcpListener {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    let fd = rustix::net::socket_with(
        AddressFamily::INET,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .expect("socket");
    rustix::net::sockopt::set_socket_reuseaddr(&fd, true).expect("SO_REUSEADDR");
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    rustix::net::bind(&fd, &addr).expect("bind");
    rustix::net::listen(&fd, 1024).expect("listen");
    let l = std::net::TcpListener::from(fd);
    l.set_nonblocking(true).expect("nonblocking");
    l
}

fn line(i: usize) -> Vec<u8> {
    format!("request {i:05} hello\n").into_bytes()
}

// ---------------------------------------------------------------- anyloop

mod anyloop_peer {
    use super::*;
    use anyloop::net::{
        open_connection, start_server_on, Protocol, StreamReader, StreamWriter, Transport,
    };

    async fn echo_bytes(mut r: StreamReader, w: StreamWriter) -> std::io::Result<()> {
        loop {
            let chunk = r.read(MSG).await?;
            if chunk.is_empty() {
                return Ok(());
            }
            w.write(&chunk);
            w.drain().await?;
        }
    }

    async fn echo_lines(mut r: StreamReader, w: StreamWriter) -> std::io::Result<()> {
        loop {
            let l = r.readline().await?;
            if l.is_empty() {
                return Ok(());
            }
            w.write(&l);
            w.drain().await?;
        }
    }

    /// asyncio's protocol echo server, with flow control: stops reading
    /// while the peer is slow to take the echo.
    struct Echo(Option<Transport>);

    impl Protocol for Echo {
        fn connection_made(&mut self, t: Transport) {
            self.0 = Some(t);
        }
        fn data_received(&mut self, data: &[u8]) {
            if let Some(t) = &self.0 {
                t.write(data);
            }
        }
        fn pause_writing(&mut self) {
            if let Some(t) = &self.0 {
                t.pause_reading();
            }
        }
        fn resume_writing(&mut self) {
            if let Some(t) = &self.0 {
                t.resume_reading();
            }
        }
    }

    /// The echo server: streams (`lines`: line by line) or a protocol.
    fn serve_echo(protocol: bool, lines: bool) -> (anyloop::net::Server, u16) {
        if protocol {
            let l = anyloop::net::TcpListener::from_std(listener()).expect("listener");
            let port = l.local_addr().expect("addr").port();
            let server = anyloop::net::create_server_on(|| Echo(None), l).expect("server");
            (server, port)
        } else if lines {
            serve(echo_lines)
        } else {
            serve(echo_bytes)
        }
    }

    fn serve<H, F>(h: H) -> (anyloop::net::Server, u16)
    where
        H: Fn(StreamReader, StreamWriter) -> F + 'static,
        F: Future<Output = std::io::Result<()>> + 'static,
    {
        let l = anyloop::net::TcpListener::from_std(listener()).expect("listener");
        let port = l.local_addr().expect("addr").port();
        (start_server_on(h, l).expect("server"), port)
    }

    pub(crate) fn echo(total: usize) -> f64 {
        echo_with(total, false)
    }

    pub(crate) fn proto_echo(total: usize) -> f64 {
        echo_with(total, true)
    }

    fn echo_with(total: usize, protocol: bool) -> f64 {
        anyloop::run(async move {
            let (server, port) = serve_echo(protocol, false);
            let (mut r, w) = open_connection("127.0.0.1", port).await.expect("connect");
            let start = Clock::start();
            let msg = vec![0x5Au8; MSG];
            let send = async {
                for _ in 0..total / MSG {
                    w.write(&msg);
                    w.drain().await.expect("drain");
                }
            };
            let recv = async {
                let mut got = 0;
                while got < total {
                    got += r.read(MSG).await.expect("read").len();
                }
            };
            futures_lite::future::zip(send, recv).await;
            let secs = start.secs();
            server.close();
            total as f64 / secs / 1e6
        })
    }

    pub(crate) fn requests(s: Sizes) -> f64 {
        requests_with(s, false)
    }

    pub(crate) fn proto_requests(s: Sizes) -> f64 {
        requests_with(s, true)
    }

    fn requests_with(s: Sizes, protocol: bool) -> f64 {
        anyloop::run(async move {
            let (server, port) = serve_echo(protocol, true);
            let start = Clock::start();
            let clients: Vec<_> = (0..s.clients)
                .map(|_| {
                    anyloop::spawn(async move {
                        let (mut r, w) = open_connection("127.0.0.1", port).await.expect("connect");
                        for i in 0..s.requests {
                            let l = line(i);
                            w.write(&l);
                            w.drain().await.expect("drain");
                            assert_eq!(r.readline().await.expect("read"), l);
                        }
                    })
                })
                .collect();
            for c in clients {
                c.await.expect("client");
            }
            let secs = start.secs();
            server.close();
            server.abort_clients();
            (s.clients * s.requests) as f64 / secs
        })
    }
}

// ---------------------------------------------------------------- tokio

mod tokio_peer {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::net::{TcpListener, TcpStream};

    fn run<F: Future>(fut: F) -> F::Output {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        tokio::task::LocalSet::new().block_on(&rt, fut)
    }

    fn serve(lines: bool) -> u16 {
        let l = TcpListener::from_std(listener()).expect("listener");
        let port = l.local_addr().expect("addr").port();
        tokio::task::spawn_local(async move {
            loop {
                let (s, _) = l.accept().await.expect("accept");
                s.set_nodelay(true).expect("nodelay");
                tokio::task::spawn_local(async move {
                    let (rd, mut wr) = s.into_split();
                    if lines {
                        let mut rd = BufReader::new(rd);
                        let mut buf = String::new();
                        loop {
                            buf.clear();
                            if rd.read_line(&mut buf).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if wr.write_all(buf.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    } else {
                        let mut rd = rd;
                        let mut buf = vec![0u8; MSG];
                        loop {
                            let n = rd.read(&mut buf).await.unwrap_or(0);
                            if n == 0 || wr.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        port
    }

    pub(crate) fn echo(total: usize) -> f64 {
        run(async move {
            let port = serve(false);
            let s = TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            s.set_nodelay(true).expect("nodelay");
            let (mut rd, mut wr) = s.into_split();
            let start = Clock::start();
            let msg = vec![0x5Au8; MSG];
            let send = async {
                for _ in 0..total / MSG {
                    wr.write_all(&msg).await.expect("write");
                }
            };
            let recv = async {
                let mut buf = vec![0u8; MSG];
                let mut got = 0;
                while got < total {
                    got += rd.read(&mut buf).await.expect("read");
                }
            };
            futures_lite::future::zip(send, recv).await;
            total as f64 / start.secs() / 1e6
        })
    }

    pub(crate) fn requests(s: Sizes) -> f64 {
        run(async move {
            let port = serve(true);
            let start = Clock::start();
            let clients: Vec<_> = (0..s.clients)
                .map(|_| {
                    tokio::task::spawn_local(async move {
                        let st = TcpStream::connect(("127.0.0.1", port))
                            .await
                            .expect("connect");
                        st.set_nodelay(true).expect("nodelay");
                        let (rd, mut wr) = st.into_split();
                        let mut rd = BufReader::new(rd);
                        let mut buf = String::new();
                        for i in 0..s.requests {
                            let l = line(i);
                            wr.write_all(&l).await.expect("write");
                            buf.clear();
                            rd.read_line(&mut buf).await.expect("read");
                            assert_eq!(buf.as_bytes(), l);
                        }
                    })
                })
                .collect();
            for c in clients {
                c.await.expect("client");
            }
            (s.clients * s.requests) as f64 / start.secs()
        })
    }
}

// ---------------------------------------------------------------- smol

mod smol_peer {
    use super::*;
    use async_executor::LocalExecutor;
    use async_net::{TcpListener, TcpStream};
    use futures_lite::io::BufReader;
    use futures_lite::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    use std::rc::Rc;

    fn run<T>(f: impl FnOnce(Rc<LocalExecutor<'static>>) -> T) -> T {
        f(Rc::new(LocalExecutor::new()))
    }

    fn serve(ex: &Rc<LocalExecutor<'static>>, lines: bool) -> u16 {
        let l = TcpListener::try_from(listener()).expect("listener");
        let port = l.local_addr().expect("addr").port();
        let ex2 = ex.clone();
        ex.spawn(async move {
            loop {
                let (s, _) = l.accept().await.expect("accept");
                s.set_nodelay(true).expect("nodelay");
                ex2.spawn(async move {
                    let mut wr = s.clone();
                    if lines {
                        let mut rd = BufReader::new(s);
                        let mut buf = String::new();
                        loop {
                            buf.clear();
                            if rd.read_line(&mut buf).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if wr.write_all(buf.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    } else {
                        let mut rd = s;
                        let mut buf = vec![0u8; MSG];
                        loop {
                            let n = rd.read(&mut buf).await.unwrap_or(0);
                            if n == 0 || wr.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                })
                .detach();
            }
        })
        .detach();
        port
    }

    pub(crate) fn echo(total: usize) -> f64 {
        run(|ex| {
            let port = serve(&ex, false);
            async_io::block_on(ex.run(async move {
                let s = TcpStream::connect(("127.0.0.1", port))
                    .await
                    .expect("connect");
                s.set_nodelay(true).expect("nodelay");
                let (mut rd, mut wr) = (s.clone(), s);
                let start = Clock::start();
                let msg = vec![0x5Au8; MSG];
                let send = async {
                    for _ in 0..total / MSG {
                        wr.write_all(&msg).await.expect("write");
                    }
                };
                let recv = async {
                    let mut buf = vec![0u8; MSG];
                    let mut got = 0;
                    while got < total {
                        got += rd.read(&mut buf).await.expect("read");
                    }
                };
                futures_lite::future::zip(send, recv).await;
                total as f64 / start.secs() / 1e6
            }))
        })
    }

    pub(crate) fn requests(s: Sizes) -> f64 {
        run(|ex| {
            let port = serve(&ex, true);
            let ex2 = ex.clone();
            async_io::block_on(ex.run(async move {
                let start = Clock::start();
                let clients: Vec<_> = (0..s.clients)
                    .map(|_| {
                        ex2.spawn(async move {
                            let st = TcpStream::connect(("127.0.0.1", port))
                                .await
                                .expect("connect");
                            st.set_nodelay(true).expect("nodelay");
                            let mut wr = st.clone();
                            let mut rd = BufReader::new(st);
                            let mut buf = String::new();
                            for i in 0..s.requests {
                                let l = line(i);
                                wr.write_all(&l).await.expect("write");
                                buf.clear();
                                rd.read_line(&mut buf).await.expect("read");
                                assert_eq!(buf.as_bytes(), l);
                            }
                        })
                    })
                    .collect();
                for c in clients {
                    c.await;
                }
                (s.clients * s.requests) as f64 / start.secs()
            }))
        })
    }
}

// ---------------------------------------------------------------- harness

type Peer = (&'static str, fn(Sizes) -> f64);

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let mut rounds = None;
    let mut sizes = FULL;
    let mut filters = Vec::new();
    let mut only_peer: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bench" => {}
            "--quick" => sizes = QUICK,
            "--rounds" => rounds = args.next().and_then(|n| n.parse::<usize>().ok()),
            "--peer" => only_peer = args.next(),
            "--cpu" => CPU_CLOCK.store(true, std::sync::atomic::Ordering::Relaxed),
            f if !f.starts_with('-') => filters.push(f.to_string()),
            other => eprintln!("streams bench: ignoring argument {other:?}"),
        }
    }
    let rounds = rounds.unwrap_or(if filters.is_empty() && sizes.clients == QUICK.clients {
        3
    } else {
        5
    });
    let rows: Vec<(&str, &str, [Peer; 3])> = vec![
        (
            "echo_64k",
            "MB/s",
            [
                ("anyloop", |s| anyloop_peer::echo(s.echo_bytes)),
                ("tokio", |s| tokio_peer::echo(s.echo_bytes)),
                ("smol", |s| smol_peer::echo(s.echo_bytes)),
            ],
        ),
        (
            "requests",
            "req/s",
            [
                ("anyloop", anyloop_peer::requests),
                ("tokio", tokio_peer::requests),
                ("smol", smol_peer::requests),
            ],
        ),
        // The same clients against anyloop's protocol echo server
        // (`create_server_on` + `Protocol`) instead of the Streams one.
        (
            "proto_echo_64k",
            "MB/s",
            [
                ("anyloop", |s| anyloop_peer::proto_echo(s.echo_bytes)),
                ("tokio", |s| tokio_peer::echo(s.echo_bytes)),
                ("smol", |s| smol_peer::echo(s.echo_bytes)),
            ],
        ),
        (
            "proto_requests",
            "req/s",
            [
                ("anyloop", anyloop_peer::proto_requests),
                ("tokio", tokio_peer::requests),
                ("smol", smol_peer::requests),
            ],
        ),
    ];
    println!(
        "anyloop Streams vs tokio (current_thread + LocalSet) vs smol (LocalExecutor + async-net), \
         127.0.0.1, one thread each, median of {rounds} interleaved rounds after a warm-up{}",
        if CPU_CLOCK.load(std::sync::atomic::Ordering::Relaxed) {
            "; per thread CPU second (--cpu)"
        } else {
            ""
        }
    );
    println!(
        "sizes: echo_64k {} MiB in 64 KiB messages; requests {} clients x {} lines",
        sizes.echo_bytes >> 20,
        sizes.clients,
        sizes.requests
    );
    println!(
        "\n{:<14} {:>6} {:>12} {:>12} {:>12} {:>8}",
        "workload", "unit", "anyloop", "tokio", "smol", "ratio"
    );
    for (name, unit, peers) in rows {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let mut samples = vec![Vec::new(); peers.len()];
        for round in 0..=rounds {
            for (i, (peer, f)) in peers.iter().enumerate() {
                if only_peer.as_deref().is_some_and(|p| p != *peer) {
                    samples[i].push(f64::NAN);
                    continue;
                }
                let v = f(sizes);
                if round > 0 {
                    samples[i].push(v);
                }
            }
        }
        let med: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();
        let best_peer = med[1..].iter().cloned().fold(f64::MIN, f64::max);
        println!(
            "{:<14} {:>6} {:>12.0} {:>12.0} {:>12.0} {:>8.2}",
            name,
            unit,
            med[0],
            med[1],
            med[2],
            med[0] / best_peer
        );
    }
    println!("\nratio = anyloop / best peer (higher is better here: > 1 means anyloop is faster)");
}
