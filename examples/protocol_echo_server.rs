//! asyncio's "TCP Echo Server" using protocols: each connection echoes the
//! first data it receives and closes. Port from the first argument
//! (default 8888).
//!
//! ```text
//! cargo run --example protocol_echo_server -- 8888
//! ```
//!
//! As a WASI 0.2 component under today's wasmtime, which must grant the
//! network:
//!
//! ```text
//! wasmtime run -S inherit-network target/wasm32-wasip2/release/examples/protocol_echo_server.wasm 8888
//! ```
//!
//! On WASI preview 1 the runtime preopens the listener (wasmtime 43 and
//! older) and the same program serves it:
//!
//! ```text
//! wasmtime run -S preview2=n -S tcplisten=127.0.0.1:8888 target/wasm32-wasip1/release/examples/protocol_echo_server.wasm
//! ```

mod common;

use std::io;

use anyloop::net::{Protocol, Server, Transport};

struct EchoServerProtocol {
    transport: Option<Transport>,
}

impl Protocol for EchoServerProtocol {
    fn connection_made(&mut self, transport: Transport) {
        match transport.peer_addr() {
            Ok(peer) => anyloop::println!("Connection from {peer}"),
            Err(_) => anyloop::println!("Connection from a client"),
        }
        self.transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        let message = String::from_utf8_lossy(data);
        anyloop::println!("Data received: {message:?}");
        let Some(transport) = &self.transport else {
            return;
        };
        anyloop::println!("Send: {message:?}");
        transport.write(data);
        anyloop::println!("Close the client socket");
        transport.close();
    }
}

#[anyloop::main]
async fn main() -> common::Result {
    let port = common::port_arg(8888)?;
    let server = serve(port).await?;
    server.serve_forever().await;
    Ok(())
}

fn factory() -> EchoServerProtocol {
    EchoServerProtocol { transport: None }
}

/// Natively and on WASI 0.2: listen on 127.0.0.1:`port`.
#[cfg(not(all(target_os = "wasi", target_env = "p1")))]
async fn serve(port: u16) -> io::Result<Server> {
    let server = anyloop::net::create_server(factory, "127.0.0.1", port).await?;
    anyloop::println!("listening on {}", server.local_addr()?);
    Ok(server)
}

/// On WASI preview 1: the listener the runtime preopened (`-S tcplisten=ADDR`).
#[cfg(all(target_os = "wasi", target_env = "p1"))]
async fn serve(_port: u16) -> io::Result<Server> {
    let listener = anyloop::net::TcpListener::from_preopened()?;
    let server = anyloop::net::create_server_on(factory, listener)?;
    anyloop::println!("listening on the preopened listener");
    Ok(server)
}
