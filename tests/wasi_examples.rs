//! The WASI examples under wasmtime, driven from the native side: `hello`,
//! the `echo` server on a preopened listener with concurrent clients, and
//! 10,000 stdin lines through `lines`.
//!
//! `cargo xtask test --host wasi` builds the examples for `wasm32-wasip1`
//! and runs this file with:
//! - `ANYLOOP_WASI_EXAMPLES`: the directory holding `hello.wasm`, `echo.wasm`, `lines.wasm`;
//! - `ANYLOOP_WASMTIME`: the wasmtime to run them with (default `wasmtime`);
//! - `ANYLOOP_WASMTIME_TCPLISTEN`: a wasmtime with the legacy preview-1
//!   implementation (`-S preview2=n -S tcplisten=...`, removed after
//!   wasmtime 43) for `echo` (default: `ANYLOOP_WASMTIME`).
//!
//! Without `ANYLOOP_WASI_EXAMPLES` (a plain `cargo test`) the tests say why
//! and pass.
#![cfg(not(target_family = "wasm"))]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The built example `name.wasm`, or `None` (with the reason printed).
fn example(name: &str) -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("ANYLOOP_WASI_EXAMPLES") else {
        println!(
            "skipped: ANYLOOP_WASI_EXAMPLES is not set (run `cargo xtask test --host wasi`, \
             which builds the examples for wasm32-wasip1)"
        );
        return None;
    };
    let path = PathBuf::from(dir).join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "ANYLOOP_WASI_EXAMPLES is set but {} does not exist",
        path.display()
    );
    Some(path)
}

fn wasmtime() -> String {
    std::env::var("ANYLOOP_WASMTIME").unwrap_or_else(|_| "wasmtime".into())
}

/// Kills the child on drop, so a failing assertion leaves no server behind.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn hello_prints_and_sleeps_one_second() {
    let Some(wasm) = example("hello") else { return };
    let start = Instant::now();
    let out = Command::new(wasmtime())
        .arg("run")
        .arg(&wasm)
        .output()
        .expect("run wasmtime");
    let took = start.elapsed();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Hello ...\n... World!\n"
    );
    assert!(took >= Duration::from_secs(1), "{took:?}");
}

/// What `examples/lines.rs` prints for input line `n`.
fn expected_line(n: usize, line: &str) -> String {
    let words = line.split_whitespace().count();
    let reversed: String = line.chars().rev().collect();
    format!("{n}\t{words}\t{reversed}")
}

#[test]
fn lines_processes_ten_thousand_stdin_lines_in_order() {
    let Some(wasm) = example("lines") else { return };
    let input: Vec<String> = (1..=10_000)
        .map(|i| format!("line {i} says {} words", "hi ".repeat(i % 7)))
        .collect();
    let mut child = KillOnDrop(
        Command::new(wasmtime())
            .arg("run")
            .arg(&wasm)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run wasmtime"),
    );
    let mut stdin = child.0.stdin.take().expect("piped stdin");
    let feed = input.clone();
    // Written from a thread: the pipe would fill while nobody reads stdout.
    let writer = std::thread::spawn(move || {
        for line in feed {
            writeln!(stdin, "{line}").expect("write to lines.wasm");
        }
    });
    let mut out = String::new();
    child
        .0
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_string(&mut out)
        .expect("read lines.wasm output");
    writer.join().expect("writer thread");
    let status = child.0.wait().expect("wait for wasmtime");
    assert!(status.success(), "{status}");
    let got: Vec<&str> = out.lines().collect();
    assert_eq!(got.len(), input.len());
    for (i, (got, line)) in got.iter().zip(&input).enumerate() {
        assert_eq!(*got, expected_line(i + 1, line));
    }
}

#[test]
fn echo_serves_concurrent_clients_on_a_preopened_listener() {
    let Some(wasm) = example("echo") else { return };
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("find a free port");
        l.local_addr().expect("local addr").port()
    };
    let runtime = std::env::var("ANYLOOP_WASMTIME_TCPLISTEN").unwrap_or_else(|_| wasmtime());
    let mut server = KillOnDrop(
        Command::new(runtime)
            .args(["run", "-S", "preview2=n", "-S"])
            .arg(format!("tcplisten=127.0.0.1:{port}"))
            .arg(&wasm)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run wasmtime"),
    );
    // The example says when it serves.
    let mut first = String::new();
    let mut log = BufReader::new(server.0.stdout.take().expect("piped stdout"));
    log.read_line(&mut first).expect("read echo.wasm output");
    if first.is_empty() {
        let mut err = String::new();
        let _ = server
            .0
            .stderr
            .take()
            .map(|mut e| e.read_to_string(&mut err));
        panic!("echo.wasm exited before serving: {err}");
    }
    assert_eq!(first.trim(), "echo: serving the preopened listener");
    // Keep draining its log: a closed stdout would make its `println!` fail.
    let log = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = log.read_to_string(&mut rest);
        rest
    });

    let clients: Vec<_> = (0..8u8)
        .map(|i| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to echo.wasm");
                s.set_read_timeout(Some(Duration::from_secs(30)))
                    .expect("set timeout");
                let msg: Vec<u8> = (0..150_000u32)
                    .map(|j| (j.wrapping_mul(31) as u8) ^ i)
                    .collect();
                let mut w = s.try_clone().expect("clone stream");
                let to_send = msg.clone();
                let writer = std::thread::spawn(move || {
                    w.write_all(&to_send).expect("send to echo.wasm");
                    w.shutdown(std::net::Shutdown::Write).expect("shutdown");
                });
                let mut got = Vec::new();
                s.read_to_end(&mut got).expect("read the echo");
                writer.join().expect("writer thread");
                assert_eq!(got.len(), msg.len(), "client {i}");
                assert!(got == msg, "client {i}: echoed bytes differ");
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client thread");
    }
    drop(server);
    let log = log.join().expect("log thread");
    assert_eq!(log.matches(" connected").count(), 8, "{log}");
}

/// CPU time (user + system) of process `pid` and all its threads, from procfs.
#[cfg(target_os = "linux")]
fn cpu_time(pid: u32) -> Duration {
    // USER_HZ: 100 on every Linux architecture (what procfs reports in).
    const TICKS_PER_SEC: u64 = 100;
    let mut ticks = 0;
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("procfs");
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue; // the thread exited meanwhile
        };
        // Fields after the `(comm)`: state is field 3; utime, stime are 14, 15.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<&str> = rest.split_whitespace().collect();
        ticks += f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0);
    }
    Duration::from_millis(ticks * 1000 / TICKS_PER_SEC)
}

/// While `hello` sleeps, the instance parks in `poll_oneoff`: it uses (far)
/// less than 5 % of one core.
#[cfg(target_os = "linux")]
#[test]
fn sleeping_program_is_idle() {
    let Some(wasm) = example("hello") else { return };
    let mut child = KillOnDrop(
        Command::new(wasmtime())
            .arg("run")
            .arg(&wasm)
            .stdout(Stdio::piped())
            .spawn()
            .expect("run wasmtime"),
    );
    let mut out = BufReader::new(child.0.stdout.take().expect("piped stdout"));
    let mut first = String::new();
    out.read_line(&mut first).expect("read hello output");
    assert_eq!(first, "Hello ...\n");
    // Now inside the 1 s sleep.
    let pid = child.0.id();
    let (c0, t0) = (cpu_time(pid), Instant::now());
    std::thread::sleep(Duration::from_millis(600));
    let (c1, t1) = (cpu_time(pid), Instant::now());
    let used = c1.saturating_sub(c0).as_secs_f64() / (t1 - t0).as_secs_f64();
    println!(
        "hello.wasm while sleeping: {:.1} % of one core",
        used * 100.0
    );
    assert!(
        used < 0.05,
        "{:.1} % of one core while sleeping",
        used * 100.0
    );
    let mut rest = String::new();
    out.read_to_string(&mut rest).expect("read hello output");
    assert_eq!(rest, "... World!\n");
}
