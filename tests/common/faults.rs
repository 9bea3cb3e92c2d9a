//! Helpers of the fault-injection tests (`net_faults*.rs`, native): a
//! server speaking a tiny protocol, and a check that it still serves.
#![allow(dead_code)]

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use anyloop::net::{open_connection, start_server, Server, StreamReader, StreamWriter, TcpStream};

use super::common;

/// Open file descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// The server's protocol: `flood\n` makes it write until the connection
/// fails (and record that error); `sum\n` then numbers, one a line, until
/// end of stream, answers `count total\n`; any other line is echoed.
pub async fn serve(
    mut r: StreamReader,
    w: StreamWriter,
    errors: Rc<RefCell<Vec<io::ErrorKind>>>,
) -> io::Result<()> {
    loop {
        let line = r.readline().await?;
        match &line[..] {
            b"" => break,
            b"flood\n" => {
                let chunk = vec![b'f'; 256 * 1024];
                let err = loop {
                    w.write(&chunk);
                    if let Err(e) = w.drain().await {
                        break e;
                    }
                };
                errors.borrow_mut().push(err.kind());
                return Err(err);
            }
            b"sum\n" => {
                let (mut count, mut total) = (0u64, 0u64);
                loop {
                    let n = r.readline().await?;
                    if n.is_empty() {
                        break;
                    }
                    let text = String::from_utf8_lossy(&n);
                    let v: u64 = text
                        .trim()
                        .parse()
                        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not a number"))?;
                    count += 1;
                    total += v;
                }
                // The peer has half-closed: our direction still works.
                w.write(format!("{count} {total}\n").as_bytes());
                break;
            }
            _ => {
                w.write(&line);
                w.drain().await?;
            }
        }
    }
    w.close();
    w.wait_closed().await
}

pub struct Fixture {
    pub server: Server,
    pub addr: SocketAddr,
    pub errors: Rc<RefCell<Vec<io::ErrorKind>>>,
}

pub async fn fixture() -> Fixture {
    let errors: Rc<RefCell<Vec<io::ErrorKind>>> = Rc::default();
    let e = errors.clone();
    let server = start_server(move |r, w| serve(r, w, e.clone()), "127.0.0.1", 0)
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    Fixture {
        server,
        addr,
        errors,
    }
}

/// One line there and back on a new connection: the server still serves.
pub async fn round_trip(addr: SocketAddr, msg: &str) {
    let (mut r, w) = open_connection("127.0.0.1", addr.port()).await.unwrap();
    w.write(msg.as_bytes());
    w.drain().await.unwrap();
    let back = common::deadline("an echo", r.readline()).await.unwrap();
    assert_eq!(back, msg.as_bytes());
}

/// Closing `stream` sends RST instead of FIN (SO_LINGER 0).
pub fn reset_on_close(stream: &TcpStream) {
    rustix::net::sockopt::set_socket_linger(stream.get_ref(), Some(Duration::ZERO)).unwrap();
}
