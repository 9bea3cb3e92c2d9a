//! asyncio's "UDP Echo Server" with a `DatagramProtocol`: sends every
//! datagram back to where it came from. Port from the first argument
//! (default 9999).
//!
//! ```text
//! cargo run --example udp_echo_server -- 9999
//! ```

mod common;

use std::net::SocketAddr;

use anyloop::net::{DatagramProtocol, DatagramTransport};

struct EchoServerProtocol {
    transport: Option<DatagramTransport>,
}

impl DatagramProtocol for EchoServerProtocol {
    fn connection_made(&mut self, transport: DatagramTransport) {
        self.transport = Some(transport);
    }

    fn datagram_received(&mut self, data: &[u8], addr: SocketAddr) {
        let message = String::from_utf8_lossy(data);
        anyloop::println!("Received {message:?} from {addr}");
        anyloop::println!("Send {message:?} to {addr}");
        if let Some(t) = &self.transport {
            t.sendto(data, Some(addr));
        }
    }
}

#[anyloop::main]
async fn main() -> common::Result {
    let port = common::port_arg(9999)?;
    let local = SocketAddr::from(([127, 0, 0, 1], port));
    let transport = anyloop::net::create_datagram_endpoint(
        || EchoServerProtocol { transport: None },
        Some(local),
        None,
    )
    .await?;
    anyloop::println!("listening on {}", transport.local_addr()?);
    // Serve for one hour.
    anyloop::sleep(std::time::Duration::from_secs(3600)).await;
    transport.close();
    Ok(())
}
