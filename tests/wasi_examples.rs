//! The WASI examples under wasmtime, driven from the native side: `hello`,
//! the `echo` server with concurrent clients, 10,000 stdin lines through
//! `lines`, the protocol echo server and a protocol on stdio; on WASI 0.2
//! also the `chat` server and the `fetch` client.
//!
//! `cargo xtask test --host wasi` builds the examples for `wasm32-wasip1`
//! and `wasm32-wasip2` and runs this file with:
//! - `ANYLOOP_WASI_EXAMPLES`: the directory holding the wasip1 `hello.wasm`, `echo.wasm`, `lines.wasm`,
//!   `protocol_echo_server.wasm`, `protocol_stdio.wasm`;
//! - `ANYLOOP_WASIP2_EXAMPLES`: the directory holding the wasip2 components
//!   `hello.wasm`, `echo.wasm`, `lines.wasm`, `chat.wasm`, `fetch.wasm`,
//!   `protocol_echo_server.wasm`, `protocol_stdio.wasm`
//!   (run with `-S inherit-network -S allow-ip-name-lookup`; they bind and
//!   connect on 127.0.0.1 only);
//! - `ANYLOOP_WASMTIME`: the wasmtime to run them with (default `wasmtime`);
//! - `ANYLOOP_WASMTIME_TCPLISTEN`: a wasmtime with the legacy preview-1
//!   implementation (`-S preview2=n -S tcplisten=...`, removed after
//!   wasmtime 43) for `echo` (default: `ANYLOOP_WASMTIME`).
//!
//! Without `ANYLOOP_WASI_EXAMPLES` (a plain `cargo test`) the tests say why
//! and pass.
#![cfg(not(target_family = "wasm"))]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, KillOnDrop};

/// The built wasip1 example `name.wasm`, or `None` (with the reason printed).
fn example(name: &str) -> Option<PathBuf> {
    built("ANYLOOP_WASI_EXAMPLES", name)
}

/// The built wasip2 example `name.wasm`, or `None` (with the reason printed).
fn example_p2(name: &str) -> Option<PathBuf> {
    built("ANYLOOP_WASIP2_EXAMPLES", name)
}

fn built(var: &str, name: &str) -> Option<PathBuf> {
    let Some(dir) = std::env::var_os(var) else {
        println!(
            "skipped: {var} is not set (run `cargo xtask test --host wasi`, \
             which builds the examples for wasm32-wasip1 and wasm32-wasip2)"
        );
        return None;
    };
    let path = PathBuf::from(dir).join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{var} is set but {} does not exist",
        path.display()
    );
    Some(path)
}

/// `wasmtime run` with the network a WASI 0.2 program needs.
fn wasmtime_p2() -> Command {
    let mut c = Command::new(wasmtime());
    c.args(["run", "-S", "inherit-network", "-S", "allow-ip-name-lookup"]);
    c
}

fn wasmtime() -> String {
    std::env::var("ANYLOOP_WASMTIME").unwrap_or_else(|_| "wasmtime".into())
}

#[test]
fn hello_prints_and_sleeps_one_second() {
    let Some(wasm) = example("hello") else { return };
    let mut cmd = Command::new(wasmtime());
    hello_in(cmd.arg("run").arg(&wasm));
}

#[test]
fn hello_p2_prints_and_sleeps_one_second() {
    let Some(wasm) = example_p2("hello") else {
        return;
    };
    hello_in(wasmtime_p2().arg(&wasm));
}

fn hello_in(cmd: &mut Command) {
    let start = Instant::now();
    let out = cmd.output().expect("run wasmtime");
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
    let mut cmd = Command::new(wasmtime());
    lines_in(cmd.arg("run").arg(&wasm));
}

#[test]
fn lines_p2_processes_ten_thousand_stdin_lines_in_order() {
    let Some(wasm) = example_p2("lines") else {
        return;
    };
    lines_in(wasmtime_p2().arg(&wasm));
}

fn lines_in(cmd: &mut Command) {
    let input: Vec<String> = (1..=10_000)
        .map(|i| format!("line {i} says {} words", "hi ".repeat(i % 7)))
        .collect();
    let mut child = KillOnDrop(
        cmd.stdin(Stdio::piped())
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

/// A server started by `cmd`: its process, its first line of output, and
/// a thread draining the rest (a closed stdout would fail its `println!`).
fn start_server(cmd: &mut Command, name: &str) -> (KillOnDrop, String, Log) {
    let mut server = KillOnDrop(
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run wasmtime"),
    );
    // The example says when it serves.
    let mut first = String::new();
    let mut log = BufReader::new(server.0.stdout.take().expect("piped stdout"));
    log.read_line(&mut first).expect("read the server's output");
    if first.is_empty() {
        let mut err = String::new();
        let _ = server
            .0
            .stderr
            .take()
            .map(|mut e| e.read_to_string(&mut err));
        panic!("{name} exited before serving: {err}");
    }
    let log = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = log.read_to_string(&mut rest);
        rest
    });
    (server, first, log)
}

type Log = std::thread::JoinHandle<String>;

/// Starts the wasip1 server `wasm` under a wasmtime that preopens a
/// listener on a free port (see [`start_server`]); returns the port too.
fn start_preopened(wasm: &std::path::Path, name: &str) -> (KillOnDrop, String, Log, u16) {
    let port = free_port();
    let runtime = std::env::var("ANYLOOP_WASMTIME_TCPLISTEN").unwrap_or_else(|_| wasmtime());
    let (server, first, log) = start_server(
        Command::new(runtime)
            .args(["run", "-S", "preview2=n", "-S"])
            .arg(format!("tcplisten=127.0.0.1:{port}"))
            .arg(wasm)
            .arg(port.to_string()),
        name,
    );
    (server, first, log, port)
}

#[test]
fn echo_serves_concurrent_clients_on_a_preopened_listener() {
    let Some(wasm) = example("echo") else { return };
    let (server, first, log, port) = start_preopened(&wasm, "echo.wasm (wasip1)");
    assert_eq!(first.trim(), "echo: serving the preopened listener");
    echo_clients(port, server, log);
}

#[test]
fn echo_p2_binds_its_port_and_serves_concurrent_clients() {
    let Some(wasm) = example_p2("echo") else {
        return;
    };
    let port = free_port();
    let (server, first, log) = start_server(
        wasmtime_p2().arg(&wasm).arg(port.to_string()),
        "echo.wasm (wasip2)",
    );
    assert_eq!(first.trim(), format!("echo: listening on 127.0.0.1:{port}"));
    echo_clients(port, server, log);
}

/// Without `-S inherit-network` the runtime grants no network: the bind
/// fails with an error that says how to grant it.
#[test]
fn echo_p2_without_network_says_how_to_grant_it() {
    let Some(wasm) = example_p2("echo") else {
        return;
    };
    let out = Command::new(wasmtime())
        .arg("run")
        .arg(&wasm)
        .arg(free_port().to_string())
        .output()
        .expect("run wasmtime");
    assert!(!out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    // Printed as a sentence (examples/common's `Failure`), not io::Error's
    // `Debug` form.
    assert!(err.starts_with("Error: "), "{err}");
    assert!(err.contains("did not grant the network"), "{err}");
    assert!(err.contains("-S inherit-network"), "{err}");
}

/// 8 concurrent clients, 150,000 bytes each, echoed intact.
fn echo_clients(port: u16, server: KillOnDrop, log: Log) {
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

/// asyncio's protocol echo server (`create_server_on` with a `Protocol`)
/// on a preopened listener: every client gets its message back, then EOF.
#[test]
fn protocol_echo_server_on_a_preopened_listener() {
    let Some(wasm) = example("protocol_echo_server") else {
        return;
    };
    let (server, first, log, port) = start_preopened(&wasm, "protocol_echo_server.wasm (wasip1)");
    assert_eq!(first.trim(), "listening on the preopened listener");
    protocol_echo_clients(port, server, log);
}

/// The same server as a WASI 0.2 component: `create_server` binds the port.
#[test]
fn protocol_echo_server_p2_binds_its_port() {
    let Some(wasm) = example_p2("protocol_echo_server") else {
        return;
    };
    let port = free_port();
    let (server, first, log) = start_server(
        wasmtime_p2().arg(&wasm).arg(port.to_string()),
        "protocol_echo_server.wasm (wasip2)",
    );
    assert_eq!(first.trim(), format!("listening on 127.0.0.1:{port}"));
    protocol_echo_clients(port, server, log);
}

/// 4 concurrent clients: each gets its message back, then EOF.
fn protocol_echo_clients(port: u16, server: KillOnDrop, log: Log) {
    let clients: Vec<_> = (0..4u8)
        .map(|i| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
                s.set_read_timeout(Some(Duration::from_secs(30)))
                    .expect("set timeout");
                let msg = format!("Hello {i}");
                s.write_all(msg.as_bytes()).expect("send");
                let mut got = String::new();
                s.read_to_string(&mut got).expect("read the echo");
                assert_eq!(got, msg, "client {i}");
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client thread");
    }
    drop(server);
    let log = log.join().expect("log thread");
    assert_eq!(log.matches("Close the client socket").count(), 4, "{log}");
}

/// A line from `r`, with a deadline so a bug fails instead of hanging.
fn read_line(r: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    r.read_line(&mut line).expect("read a chat line");
    line
}

#[test]
fn chat_p2_relays_lines_between_clients() {
    let Some(wasm) = example_p2("chat") else {
        return;
    };
    let port = free_port();
    let (server, first, log) =
        start_server(wasmtime_p2().arg(&wasm).arg(port.to_string()), "chat.wasm");
    assert_eq!(first.trim(), format!("chat: listening on 127.0.0.1:{port}"));
    let connect = || {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect to chat.wasm");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("set timeout");
        let w = s.try_clone().expect("clone stream");
        (BufReader::new(s), w)
    };
    let (mut a, _a_w) = connect();
    assert_eq!(read_line(&mut a), "* welcome, you are 1\n");
    let (mut b, mut b_w) = connect();
    assert_eq!(read_line(&mut b), "* welcome, you are 2\n");
    assert_eq!(read_line(&mut a), "* 2 joined\n");
    b_w.write_all(b"hello from b\n").expect("send to chat.wasm");
    assert_eq!(read_line(&mut a), "2: hello from b\n");
    b_w.shutdown(std::net::Shutdown::Both).expect("shutdown");
    assert_eq!(read_line(&mut a), "* 2 left\n");
    drop(server);
    let log = log.join().expect("log thread");
    assert!(log.contains("joined as 2"), "{log}");
}

#[test]
fn fetch_p2_resolves_localhost_and_prints_the_response() {
    let Some(wasm) = example_p2("fetch") else {
        return;
    };
    // A one-shot HTTP server on 127.0.0.1; fetch connects by name.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept().expect("accept fetch.wasm");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("set timeout");
        let mut r = BufReader::new(s.try_clone().expect("clone stream"));
        let mut request = String::new();
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).expect("read request") == 0 || line == "\r\n" {
                break;
            }
            request.push_str(&line);
        }
        let mut s = s;
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Anyloop: p2\r\n\r\nok")
            .expect("respond");
        request
    });
    let out = wasmtime_p2()
        .arg(&wasm)
        .arg(format!("localhost:{port}/wasi?p2"))
        .arg("-v")
        .output()
        .expect("run wasmtime");
    let request = server.join().expect("server thread");
    assert!(out.status.success(), "{out:?}");
    assert!(
        request.starts_with("GET /wasi?p2 HTTP/1.1\r\n"),
        "{request}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "HTTP/1.1 200 OK\nContent-Length: 2\nX-Anyloop: p2\n"
    );
}

/// A `Protocol` on the stdio transport (`connect_stdio`) under wasmtime:
/// stdin upper-cased to stdout, then the byte count at end of input.
#[test]
fn protocol_on_stdio() {
    let Some(wasm) = example("protocol_stdio") else {
        return;
    };
    let mut cmd = Command::new(wasmtime());
    protocol_stdio_in(cmd.arg("run").arg(&wasm));
}

#[test]
fn protocol_p2_on_stdio() {
    let Some(wasm) = example_p2("protocol_stdio") else {
        return;
    };
    protocol_stdio_in(wasmtime_p2().arg(&wasm));
}

fn protocol_stdio_in(cmd: &mut Command) {
    let mut child = KillOnDrop(
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run wasmtime"),
    );
    let input: String = (0..2000).map(|i| format!("line {i}\n")).collect();
    let mut stdin = child.0.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut out = String::new();
    child
        .0
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read stdout");
    writer.join().expect("writer").expect("write stdin");
    let expected: String = (0..2000).map(|i| format!("LINE {i}\n")).collect();
    assert_eq!(out, format!("{expected}{} bytes\n", expected.len()));
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

/// While `hello` sleeps, the instance parks in `poll_oneoff` (wasip1): it
/// uses (far) less than 5 % of one core.
#[cfg(target_os = "linux")]
#[test]
fn sleeping_program_is_idle() {
    let Some(wasm) = example("hello") else { return };
    let mut cmd = Command::new(wasmtime());
    idle_in(cmd.arg("run").arg(&wasm));
}

/// The same for the WASI 0.2 component: it parks in `wasi:io/poll.poll`.
#[cfg(target_os = "linux")]
#[test]
fn sleeping_p2_program_is_idle() {
    let Some(wasm) = example_p2("hello") else {
        return;
    };
    idle_in(wasmtime_p2().arg(&wasm));
}

#[cfg(target_os = "linux")]
fn idle_in(cmd: &mut Command) {
    let mut child = KillOnDrop(cmd.stdout(Stdio::piped()).spawn().expect("run wasmtime"));
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
