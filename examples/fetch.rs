//! Minimal HTTP/1.1 client on `open_connection` (asyncio's "get HTTP
//! headers" example): sends `GET` and prints the status line, then the
//! headers with `-v`.
//!
//! ```text
//! cargo run --example fetch -- 127.0.0.1:8000 [/path] [-v]
//! cargo run --example fetch -- http://127.0.0.1:8000/path
//! ```

use std::io;

mod common;

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// `host:port[/path]` or `http://host[:port][/path]` → (host, port, path).
fn parse_target(arg: &str) -> io::Result<(String, u16, String)> {
    let rest = arg.strip_prefix("http://").unwrap_or(arg);
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse()
                .map_err(|e| bad(format!("bad port in {arg:?}: {e}")))?,
        ),
        None => (authority, 80),
    };
    if host.is_empty() {
        return Err(bad(format!("no host in {arg:?}")));
    }
    Ok((host.to_string(), port, path.to_string()))
}

#[anyloop::main]
async fn main() -> common::Result {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "-v");
    let mut positional = args.iter().filter(|a| *a != "-v");
    let target = positional
        .next()
        .ok_or_else(|| bad("usage: fetch HOST:PORT[/path] [/path] [-v]".into()))?;
    let (host, port, mut path) = parse_target(target)?;
    if let Some(p) = positional.next() {
        path = p.clone();
    }

    let (mut reader, writer) = anyloop::net::ConnectOptions::new()
        .timeout(std::time::Duration::from_secs(10))
        .open_connection(&host, port)
        .await?;
    writer.write(
        format!("GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    writer.drain().await?;

    let status = reader.readline().await?;
    if status.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the connection without a response",
        )
        .into());
    }
    println!("{}", String::from_utf8_lossy(&status).trim_end());
    if verbose {
        loop {
            let line = reader.readline().await?;
            if line.is_empty() || line == b"\r\n" {
                break;
            }
            println!("{}", String::from_utf8_lossy(&line).trim_end());
        }
    }
    writer.close();
    Ok(writer.wait_closed().await?)
}
