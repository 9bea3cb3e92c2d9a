//! `cargo bench --bench process`: anyloop's subprocesses vs tokio::process
//! (current_thread runtime) and async-process (on async-io's `block_on`),
//! in one process: interleaved rounds, medians, ratio anyloop / best peer.
//!
//! - `spawn_seq`: 1,000 × (spawn `true`, wait for it), one after another
//!   (ms, lower is better);
//! - `spawn_path`: `spawn_seq` with `PATH` set on each command (std
//!   forks for a bare name then; anyloop looks the name up itself and
//!   keeps `posix_spawn`) (ms, lower is better);
//! - `spawn_par`: 1,000 `true`s, 50 running at a time (ms, lower is
//!   better);
//! - `cat_pipe`: bytes written into `cat`'s stdin and read back from its
//!   stdout at the same time, 64 KiB writes (MB/s, higher is better).
//!
//! Arguments: `--rounds N` (default 5), `--quick` (smaller sizes, 3
//! rounds), `--peer NAME` (one peer only), `--cpu` (this process's CPU
//! time, all threads, instead of wall time; the children excluded), name
//! filters.
#![cfg_attr(not(all(unix, not(target_family = "wasm"))), no_main)]
#![cfg(all(unix, not(target_family = "wasm")))]

mod stopwatch;
use stopwatch::Clock;

const CHUNK: usize = 64 * 1024;
const AT_ONCE: usize = 50;

#[derive(Clone, Copy)]
struct Sizes {
    spawns: usize,
    cat_bytes: usize,
}

const FULL: Sizes = Sizes {
    spawns: 1000,
    cat_bytes: 256 << 20,
};
const QUICK: Sizes = Sizes {
    spawns: 200,
    cat_bytes: 32 << 20,
};

fn ms(start: Clock) -> f64 {
    start.secs() * 1e3
}

fn mbps(bytes: usize, start: Clock) -> f64 {
    bytes as f64 / (1 << 20) as f64 / start.secs()
}

mod anyloop_peer {
    use super::*;
    use anyloop::process::{Command, Stdio};

    pub(crate) fn spawn_seq(s: Sizes) -> f64 {
        one_by_one(s, None)
    }

    pub(crate) fn spawn_path(s: Sizes) -> f64 {
        one_by_one(s, Some(std::env::var_os("PATH").unwrap_or_default()))
    }

    /// `spawn_seq`, with `PATH` set on each command if `path` is given.
    fn one_by_one(s: Sizes, path: Option<std::ffi::OsString>) -> f64 {
        anyloop::run(async {
            let start = Clock::start();
            for _ in 0..s.spawns {
                let mut cmd = Command::new("true");
                if let Some(path) = &path {
                    cmd.env("PATH", path);
                }
                let mut p = cmd.spawn().expect("spawn");
                assert!(p.wait().await.expect("wait").success());
            }
            ms(start)
        })
    }

    pub(crate) fn spawn_par(s: Sizes) -> f64 {
        anyloop::run(async {
            let start = Clock::start();
            for _ in 0..s.spawns / AT_ONCE {
                let mut procs: Vec<_> = (0..AT_ONCE)
                    .map(|_| Command::new("true").spawn().expect("spawn"))
                    .collect();
                for p in &mut procs {
                    assert!(p.wait().await.expect("wait").success());
                }
            }
            ms(start)
        })
    }

    pub(crate) fn cat(s: Sizes) -> f64 {
        anyloop::run(async {
            let mut p = Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("spawn cat");
            let w = p.stdin.take().expect("stdin");
            let mut r = p.stdout.take().expect("stdout");
            let start = Clock::start();
            let chunk = vec![7u8; CHUNK];
            let writer = async {
                for _ in 0..s.cat_bytes / CHUNK {
                    w.write(&chunk);
                    w.drain().await.expect("drain");
                }
                w.close();
                w.wait_closed().await.expect("close");
            };
            let reader = async {
                let mut got = 0;
                loop {
                    let b = r.read(CHUNK).await.expect("read");
                    if b.is_empty() {
                        break got;
                    }
                    got += b.len();
                }
            };
            let ((), got) = futures_lite::future::zip(writer, reader).await;
            assert_eq!(got, s.cat_bytes);
            let v = mbps(got, start);
            assert!(p.wait().await.expect("wait").success());
            v
        })
    }
}

mod tokio_peer {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::process::Command;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
    }

    pub(crate) fn spawn_seq(s: Sizes) -> f64 {
        one_by_one(s, None)
    }

    pub(crate) fn spawn_path(s: Sizes) -> f64 {
        one_by_one(s, Some(std::env::var_os("PATH").unwrap_or_default()))
    }

    /// `spawn_seq`, with `PATH` set on each command if `path` is given.
    fn one_by_one(s: Sizes, path: Option<std::ffi::OsString>) -> f64 {
        rt().block_on(async {
            let start = Clock::start();
            for _ in 0..s.spawns {
                let mut cmd = Command::new("true");
                if let Some(path) = &path {
                    cmd.env("PATH", path);
                }
                let mut p = cmd.spawn().expect("spawn");
                assert!(p.wait().await.expect("wait").success());
            }
            ms(start)
        })
    }

    pub(crate) fn spawn_par(s: Sizes) -> f64 {
        rt().block_on(async {
            let start = Clock::start();
            for _ in 0..s.spawns / AT_ONCE {
                let mut procs: Vec<_> = (0..AT_ONCE)
                    .map(|_| Command::new("true").spawn().expect("spawn"))
                    .collect();
                for p in &mut procs {
                    assert!(p.wait().await.expect("wait").success());
                }
            }
            ms(start)
        })
    }

    pub(crate) fn cat(s: Sizes) -> f64 {
        rt().block_on(async {
            let mut p = Command::new("cat")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("spawn cat");
            let mut w = p.stdin.take().expect("stdin");
            let mut r = p.stdout.take().expect("stdout");
            let start = Clock::start();
            let chunk = vec![7u8; CHUNK];
            let writer = async {
                for _ in 0..s.cat_bytes / CHUNK {
                    w.write_all(&chunk).await.expect("write");
                }
                drop(w);
            };
            let reader = async {
                let mut got = 0;
                let mut buf = vec![0u8; CHUNK];
                loop {
                    let n = r.read(&mut buf).await.expect("read");
                    if n == 0 {
                        break got;
                    }
                    got += n;
                }
            };
            let ((), got) = tokio::join!(writer, reader);
            assert_eq!(got, s.cat_bytes);
            let v = mbps(got, start);
            assert!(p.wait().await.expect("wait").success());
            v
        })
    }
}

mod async_process_peer {
    use super::*;
    use async_process::{Command, Stdio};
    use futures_lite::{AsyncReadExt, AsyncWriteExt};

    pub(crate) fn spawn_seq(s: Sizes) -> f64 {
        one_by_one(s, None)
    }

    pub(crate) fn spawn_path(s: Sizes) -> f64 {
        one_by_one(s, Some(std::env::var_os("PATH").unwrap_or_default()))
    }

    /// `spawn_seq`, with `PATH` set on each command if `path` is given.
    fn one_by_one(s: Sizes, path: Option<std::ffi::OsString>) -> f64 {
        async_io::block_on(async {
            let start = Clock::start();
            for _ in 0..s.spawns {
                let mut cmd = Command::new("true");
                if let Some(path) = &path {
                    cmd.env("PATH", path);
                }
                let mut p = cmd.spawn().expect("spawn");
                assert!(p.status().await.expect("wait").success());
            }
            ms(start)
        })
    }

    pub(crate) fn spawn_par(s: Sizes) -> f64 {
        async_io::block_on(async {
            let start = Clock::start();
            for _ in 0..s.spawns / AT_ONCE {
                let mut procs: Vec<_> = (0..AT_ONCE)
                    .map(|_| Command::new("true").spawn().expect("spawn"))
                    .collect();
                for p in &mut procs {
                    assert!(p.status().await.expect("wait").success());
                }
            }
            ms(start)
        })
    }

    pub(crate) fn cat(s: Sizes) -> f64 {
        async_io::block_on(async {
            let mut p = Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("spawn cat");
            let mut w = p.stdin.take().expect("stdin");
            let mut r = p.stdout.take().expect("stdout");
            let start = Clock::start();
            let chunk = vec![7u8; CHUNK];
            let writer = async {
                for _ in 0..s.cat_bytes / CHUNK {
                    w.write_all(&chunk).await.expect("write");
                }
                w.close().await.expect("close");
                drop(w);
            };
            let reader = async {
                let mut got = 0;
                let mut buf = vec![0u8; CHUNK];
                loop {
                    let n = r.read(&mut buf).await.expect("read");
                    if n == 0 {
                        break got;
                    }
                    got += n;
                }
            };
            let ((), got) = futures_lite::future::zip(writer, reader).await;
            assert_eq!(got, s.cat_bytes);
            let v = mbps(got, start);
            assert!(p.status().await.expect("wait").success());
            v
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
            // CPU time of this process: all its threads (a peer's helper
            // threads count), not the children `true` and `cat` (the same
            // program for every peer).
            "--cpu" => stopwatch::use_cpu_clock(stopwatch::CpuClock::Process),
            f if !f.starts_with('-') => filters.push(f.to_string()),
            other => eprintln!("process bench: ignoring argument {other:?}"),
        }
    }
    let rounds = rounds.unwrap_or(if sizes.spawns == QUICK.spawns { 3 } else { 5 });
    // (name, unit, higher is better, peers)
    type Row = (&'static str, &'static str, bool, [Peer; 3]);
    let rows: Vec<Row> = vec![
        (
            "spawn_seq",
            "ms",
            false,
            [
                ("anyloop", anyloop_peer::spawn_seq),
                ("tokio", tokio_peer::spawn_seq),
                ("async-process", async_process_peer::spawn_seq),
            ],
        ),
        (
            "spawn_path",
            "ms",
            false,
            [
                ("anyloop", anyloop_peer::spawn_path),
                ("tokio", tokio_peer::spawn_path),
                ("async-process", async_process_peer::spawn_path),
            ],
        ),
        (
            "spawn_par",
            "ms",
            false,
            [
                ("anyloop", anyloop_peer::spawn_par),
                ("tokio", tokio_peer::spawn_par),
                ("async-process", async_process_peer::spawn_par),
            ],
        ),
        (
            "cat_pipe",
            "MB/s",
            true,
            [
                ("anyloop", anyloop_peer::cat),
                ("tokio", tokio_peer::cat),
                ("async-process", async_process_peer::cat),
            ],
        ),
    ];
    println!(
        "anyloop::process vs tokio::process (current_thread) vs async-process (async-io block_on), \
         median of {rounds} interleaved rounds after a warm-up{}",
        if stopwatch::cpu() {
            "; ms and MB/s per CPU second of this process (--cpu; children excluded)"
        } else {
            ""
        }
    );
    println!(
        "sizes: spawn_seq/spawn_par {} x `true` ({AT_ONCE} at a time in spawn_par); cat_pipe {} MiB in 64 KiB writes",
        sizes.spawns,
        sizes.cat_bytes >> 20
    );
    println!(
        "\n{:<10} {:>6} {:>12} {:>12} {:>14} {:>8}",
        "workload", "unit", "anyloop", "tokio", "async-process", "ratio"
    );
    for (name, unit, higher, peers) in rows {
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
        let best_peer = if higher {
            med[1..].iter().cloned().fold(f64::MIN, f64::max)
        } else {
            med[1..].iter().cloned().fold(f64::MAX, f64::min)
        };
        println!(
            "{:<10} {:>6} {:>12.1} {:>12.1} {:>14.1} {:>8.2}",
            name,
            unit,
            med[0],
            med[1],
            med[2],
            med[0] / best_peer
        );
    }
    println!(
        "\nratio = anyloop / best peer (ms rows: lower is better, goal <= 0.7; \
         MB/s rows: higher is better, goal >= 1.0)"
    );
}
