//! Line echo server (asyncio's "TCP echo server using streams") on
//! 127.0.0.1 (port from the first argument, default 8888, on every host).
//! Every client gets its own task; connects and disconnects are logged.
//! Ctrl-C closes the server and its connections, then ends the program
//! as an interrupted `asyncio.run` does (exit status 130).
//!
//! ```text
//! cargo run --example echo -- 8888
//! ```
//!
//! As a WASI 0.2 component under today's wasmtime, which must grant the
//! network (`-S inherit-network`):
//!
//! ```text
//! cargo build --release --target wasm32-wasip2 --example echo
//! wasmtime run -S inherit-network target/wasm32-wasip2/release/examples/echo.wasm 8888
//! ```
//!
//! Legacy route: WASI preview 1 programs cannot bind sockets; the runtime
//! preopens the listener on the port (wasmtime 43 and older), and the
//! program serves it:
//!
//! ```text
//! cargo build --release --target wasm32-wasip1 --example echo
//! wasmtime run -S preview2=n -S tcplisten=127.0.0.1:8888 target/wasm32-wasip1/release/examples/echo.wasm 8888
//! ```

mod common;

use std::io;

use anyloop::net::{LimitOverrunError, Server, StreamReader, StreamWriter};

/// Echoes lines back until the client closes; returns the bytes echoed.
async fn echo(mut reader: StreamReader, writer: StreamWriter) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        let chunk = match reader.readline().await {
            Ok(line) => line,
            // A line longer than the reader's limit: pass it on in pieces.
            Err(e) if LimitOverrunError::downcast_ref(&e).is_some() => {
                reader.read(reader.limit()).await?
            }
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        writer.write(&chunk);
        writer.drain().await?;
        total += chunk.len() as u64;
    }
    writer.close();
    writer.wait_closed().await?;
    Ok(total)
}

async fn handle(reader: StreamReader, writer: StreamWriter) {
    let peer = match writer.peer_addr() {
        Ok(a) => a.to_string(),
        Err(_) => "a client".to_string(),
    };
    println!("echo: {peer} connected");
    match echo(reader, writer).await {
        Ok(total) => println!("echo: {peer} disconnected after {total} bytes"),
        Err(e) => println!("echo: {peer} failed: {e}"),
    }
}

#[anyloop::main]
async fn main() -> common::Result {
    let port = common::port_arg(8888)?;
    let server = serve(port).await?;
    // Ctrl-C: `anyloop::run` cancels this main task as `asyncio.run` does;
    // the cancel comes back here (asyncio's `except CancelledError`), the
    // open connections are ended, and the program then ends interrupted.
    if let Err(cancelled) = anyloop::catch_cancel(server.serve_forever()).await {
        server.close();
        server.abort_clients();
        server.wait_closed().await;
        println!(
            "echo: shut down ({})",
            cancelled.message().unwrap_or("cancelled")
        );
        cancelled.propagate();
    }
    Ok(())
}

/// Natively and on WASI 0.2: listen on 127.0.0.1:`port`.
#[cfg(not(all(target_os = "wasi", target_env = "p1")))]
async fn serve(port: u16) -> io::Result<Server> {
    let server = anyloop::net::start_server(handle, "127.0.0.1", port).await?;
    println!("echo: listening on {}", server.local_addr()?);
    Ok(server)
}

/// On WASI preview 1: the listener the runtime preopened (`-S
/// tcplisten=127.0.0.1:PORT`), which must be on `port`.
#[cfg(all(target_os = "wasi", target_env = "p1"))]
async fn serve(port: u16) -> io::Result<Server> {
    let _ = port; // preview 1 cannot tell the preopened listener's port
    let listener = anyloop::net::TcpListener::from_preopened()?;
    let server = anyloop::net::start_server_on(handle, listener)?;
    println!("echo: serving the preopened listener");
    Ok(server)
}
