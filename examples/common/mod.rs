//! What the network examples share: reading the port (and an optional
//! message) from the command line, and an error type for `main` that
//! prints as a sentence. Not an example itself (Cargo builds only
//! `examples/*.rs` and `examples/*/main.rs`).
#![allow(dead_code)]

use std::{fmt, io};

/// What `main` returns: `Err` ends the program with exit status 1 and
/// `Error: MESSAGE` on stderr.
pub type Result<T = ()> = std::result::Result<T, Failure>;

/// An `io::Error` that `main` reports by its message (`Error: bad port
/// "x": invalid digit found in string`, `Error: Address already in use (os
/// error 98)`) instead of the `Debug` form `io::Error` gives
/// (`Custom { kind: InvalidInput, error: ... }`). `?` turns any
/// `io::Error` into one.
pub struct Failure(io::Error);

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure(e)
    }
}

// `main`'s `Termination` prints its error with `Debug`: show the message.
impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The port given as the first command-line argument, or `default`; a
/// malformed port is an `InvalidInput` error naming it.
pub fn port_arg(default: u16) -> io::Result<u16> {
    parse_port(std::env::args().nth(1), default)
}

/// The port (first argument, else `default`) and the message to send (second
/// argument, else asyncio's example's `"Hello World!"`).
pub fn port_and_message(default: u16) -> io::Result<(u16, String)> {
    let mut args = std::env::args().skip(1);
    let port = parse_port(args.next(), default)?;
    let message = args.next().unwrap_or_else(|| "Hello World!".to_string());
    Ok((port, message))
}

fn parse_port(arg: Option<String>, default: u16) -> io::Result<u16> {
    match arg {
        Some(p) => p.parse().map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("bad port {p:?}: {e}"))
        }),
        None => Ok(default),
    }
}
