//! The streams examples, run natively as the programs they are: `echo`,
//! `chat` and `fetch` (against an HTTP server started here). `cargo test`
//! builds the examples next to this test binary.
#![cfg(not(target_family = "wasm"))]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::time::Duration;

use common::{free_port, KillOnDrop};

/// Starts a server example and waits for its "listening" line.
fn start(name: &str, port: u16) -> (KillOnDrop, BufReader<std::process::ChildStdout>) {
    let mut child = KillOnDrop(
        common::example(name)
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start example"),
    );
    let mut out = BufReader::new(child.0.stdout.take().expect("stdout"));
    let mut first = String::new();
    out.read_line(&mut first).expect("read output");
    assert!(first.contains("listening on"), "{name}: {first:?}");
    (child, out)
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s
}

#[test]
fn echo_example_echoes_lines_and_logs() {
    let port = free_port();
    let (_child, mut log) = start("echo", port);
    let mut s = connect(port);
    let mut r = BufReader::new(s.try_clone().expect("clone"));
    for i in 0..10 {
        let line = format!("line {i}\n");
        s.write_all(line.as_bytes()).expect("write");
        let mut got = String::new();
        r.read_line(&mut got).expect("read");
        assert_eq!(got, line);
    }
    // A line longer than the 64 KiB limit still comes back whole.
    let long: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    s.write_all(&long).expect("write");
    s.shutdown(std::net::Shutdown::Write).expect("shutdown");
    let mut back = Vec::new();
    r.read_to_end(&mut back).expect("read");
    assert!(back == long, "long line: {} bytes back", back.len());
    let mut logged = String::new();
    for _ in 0..2 {
        log.read_line(&mut logged).expect("log");
    }
    assert!(logged.contains(" connected"), "{logged}");
    assert!(
        logged.contains("disconnected after 200070 bytes"),
        "{logged}"
    );
}

#[test]
fn chat_example_broadcasts_to_the_others() {
    let port = free_port();
    let (_child, _log) = start("chat", port);
    let read_line = |r: &mut BufReader<TcpStream>| {
        let mut l = String::new();
        r.read_line(&mut l).expect("read");
        l
    };
    let id_of = |welcome: String| welcome.trim().rsplit(' ').next().expect("id").to_string();
    let mut a = connect(port);
    let mut ar = BufReader::new(a.try_clone().expect("clone"));
    let a_id = id_of(read_line(&mut ar));
    let mut b = connect(port);
    let mut br = BufReader::new(b.try_clone().expect("clone"));
    let b_id = id_of(read_line(&mut br));
    assert_eq!(read_line(&mut ar), format!("* {b_id} joined\n"));

    a.write_all(b"hello from a\n").expect("write");
    assert_eq!(read_line(&mut br), format!("{a_id}: hello from a\n"));
    b.write_all(b"hi a\n").expect("write");
    assert_eq!(read_line(&mut ar), format!("{b_id}: hi a\n"));

    // A client that never reads is cut off once its kernel buffers, its
    // writer's buffer and its queue are full; the others go on.
    let slow = connect(port);
    let joined = read_line(&mut ar);
    let slow_id = joined
        .strip_prefix("* ")
        .and_then(|l| l.strip_suffix(" joined\n"))
        .expect("joined line")
        .to_string();
    assert_eq!(read_line(&mut br), joined);
    let big = format!("{}\n", "x".repeat(60_000));
    let expected = format!("{a_id}: {big}");
    for i in 0..400 {
        a.write_all(big.as_bytes()).expect("write");
        let mut got = read_line(&mut br);
        if got == format!("* {slow_id} left\n") {
            got = read_line(&mut br);
        }
        assert!(got == expected, "line {i}: {:?}", &got[..got.len().min(40)]);
    }
    b.write_all(b"still here\n").expect("write");
    let mut seen_left = false;
    loop {
        let l = read_line(&mut ar);
        if l == format!("{b_id}: still here\n") {
            break;
        }
        seen_left |= l == format!("* {slow_id} left\n");
    }
    assert!(seen_left, "the slow client was not disconnected");
    drop(slow);
}

#[test]
fn fetch_example_prints_the_status_line() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept().expect("accept");
        let mut r = BufReader::new(s.try_clone().expect("clone"));
        let mut request = String::new();
        loop {
            let mut l = String::new();
            r.read_line(&mut l).expect("read request");
            if l == "\r\n" || l.is_empty() {
                break;
            }
            request.push_str(&l);
        }
        let mut s = s;
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            .expect("respond");
        request
    });
    let out = common::example("fetch")
        .arg(format!("127.0.0.1:{port}"))
        .arg("/hello")
        .output()
        .expect("run fetch");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "HTTP/1.1 200 OK\n");
    let request = server.join().expect("server thread");
    assert!(request.starts_with("GET /hello HTTP/1.1\r\n"), "{request}");
    assert!(
        request.contains(&format!("Host: 127.0.0.1:{port}\r\n")),
        "{request}"
    );
}

/// A malformed port or an unreachable server is reported by its message
/// (`Error: bad port "x": ...`), not by `io::Error`'s `Debug` form
/// (`Custom { kind: InvalidInput, ... }`).
#[test]
fn the_network_examples_report_errors_as_sentences() {
    let closed = free_port();
    let cases = [
        (
            "echo",
            vec!["http".to_string()],
            "Error: bad port \"http\": ",
        ),
        ("chat", vec!["70000".into()], "Error: bad port \"70000\": "),
        (
            "protocol_echo_client",
            vec!["x".into()],
            "Error: bad port \"x\": ",
        ),
        (
            "udp_echo_server",
            vec!["-1".into()],
            "Error: bad port \"-1\": ",
        ),
        ("fetch", vec![], "Error: usage: fetch HOST:PORT"),
        (
            "fetch",
            vec![format!("127.0.0.1:{closed}")],
            "Error: could not connect to 127.0.0.1:",
        ),
    ];
    for (name, args, want) in cases {
        let out = common::example(name)
            .args(&args)
            .output()
            .expect("run the example");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name} {args:?}: {err}");
        assert!(err.starts_with(want), "{name} {args:?}: {err}");
        assert!(!err.contains("kind:"), "{name} {args:?}: {err}");
    }
}

/// `examples/http_server.rs` (feature `hyper`): a GET and an echoed POST.
#[cfg(feature = "hyper")]
#[test]
fn http_server_example_answers_get_and_echoes_post() {
    let port = free_port();
    let (_child, _log) = start("http_server", port);
    let ask = |req: &str| {
        let mut s = connect(port);
        s.write_all(req.as_bytes()).expect("write");
        let mut resp = String::new();
        s.read_to_string(&mut resp).expect("read");
        resp
    };
    let get = ask("GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    assert!(get.starts_with("HTTP/1.1 200 OK"), "{get}");
    assert!(get.ends_with("Hello from anyloop + hyper!\n"), "{get}");
    let post = ask(
        "POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 9\r\nconnection: close\r\n\r\nsome data",
    );
    assert!(post.starts_with("HTTP/1.1 200 OK"), "{post}");
    assert!(post.ends_with("\r\n\r\nsome data"), "{post}");
}
