//! The protocol examples, run natively as the programs they are: asyncio's
//! TCP echo server/client using protocols, the UDP echo pair with
//! `DatagramProtocol`, and a protocol on stdio. `cargo test` builds the examples next to this test
//! binary.
#![cfg(not(target_family = "wasm"))]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use common::KillOnDrop;

/// Starts a server example on port 0 and returns it with the port it
/// reports in its "listening on ADDR" line.
fn start(name: &str) -> (KillOnDrop, BufReader<std::process::ChildStdout>, u16) {
    let mut child = KillOnDrop(
        common::example(name)
            .arg("0")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start example"),
    );
    let mut out = BufReader::new(child.0.stdout.take().expect("stdout"));
    let mut line = String::new();
    loop {
        line.clear();
        assert_ne!(
            out.read_line(&mut line).expect("read output"),
            0,
            "{name} exited"
        );
        if let Some(addr) = line.trim().strip_prefix("listening on ") {
            let port = addr.rsplit(':').next().and_then(|p| p.parse().ok());
            return (child, out, port.expect("port in the listening line"));
        }
    }
}

fn run_client(name: &str, port: u16) -> String {
    let out = common::example(name)
        .args([port.to_string().as_str(), "Hello World!"])
        .output()
        .expect("run client");
    assert!(out.status.success(), "{name}: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8")
}

fn read_lines(out: &mut impl BufRead, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let mut l = String::new();
            out.read_line(&mut l).expect("server output");
            l.trim_end().to_string()
        })
        .collect()
}

#[test]
fn tcp_echo_with_protocols() {
    let (_server, mut log, port) = start("protocol_echo_server");
    let out = run_client("protocol_echo_client", port);
    assert_eq!(
        out,
        "Data sent: \"Hello World!\"\nData received: \"Hello World!\"\nThe server closed the connection\n"
    );
    let lines = read_lines(&mut log, 4);
    assert!(
        lines[0].starts_with("Connection from 127.0.0.1:"),
        "{lines:?}"
    );
    assert_eq!(
        lines[1..],
        [
            "Data received: \"Hello World!\"",
            "Send: \"Hello World!\"",
            "Close the client socket"
        ]
    );
}

#[test]
fn udp_echo_with_datagram_protocol() {
    let (_server, mut log, port) = start("udp_echo_server");
    let out = run_client("udp_echo_client", port);
    assert_eq!(
        out,
        "Send: \"Hello World!\"\nReceived: \"Hello World!\"\nClose the socket\nConnection closed\n"
    );
    let lines = read_lines(&mut log, 2);
    assert!(
        lines[0].starts_with("Received \"Hello World!\" from 127.0.0.1:"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("Send \"Hello World!\" to 127.0.0.1:"),
        "{lines:?}"
    );
}

#[test]
fn stdio_protocol_upper_cases_stdin() {
    let mut child = KillOnDrop(
        common::example("protocol_stdio")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start protocol_stdio"),
    );
    let input: String = (0..2000).map(|i| format!("line {i}\n")).collect();
    let mut stdin = child.0.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.0.stdout.take().expect("stdout"), &mut out)
        .expect("read stdout");
    writer.join().expect("writer").expect("write stdin");
    let expected: String = (0..2000).map(|i| format!("LINE {i}\n")).collect();
    assert_eq!(out, format!("{expected}{} bytes\n", expected.len()));
    assert!(child.0.wait().expect("wait").success());
}
