//! asyncio's "UDP Echo Client" with a `DatagramProtocol`: sends a message
//! to 127.0.0.1 (port from the first argument, default 9999), prints the
//! answer and closes.
//!
//! ```text
//! cargo run --example udp_echo_server -- 9999 &
//! cargo run --example udp_echo_client -- 9999 "Hello World!"
//! ```

mod common;

use std::io;
use std::net::SocketAddr;

use anyloop::future::Promise;
use anyloop::net::{DatagramProtocol, DatagramTransport};

struct EchoClientProtocol {
    message: String,
    on_con_lost: Promise<()>,
    transport: Option<DatagramTransport>,
}

impl DatagramProtocol for EchoClientProtocol {
    fn connection_made(&mut self, transport: DatagramTransport) {
        anyloop::println!("Send: {:?}", self.message);
        transport.sendto(self.message.as_bytes(), None);
        self.transport = Some(transport);
    }

    fn datagram_received(&mut self, data: &[u8], _addr: SocketAddr) {
        anyloop::println!("Received: {:?}", String::from_utf8_lossy(data));
        anyloop::println!("Close the socket");
        if let Some(t) = &self.transport {
            t.close();
        }
    }

    fn error_received(&mut self, exc: io::Error) {
        anyloop::println!("Error received: {exc}");
    }

    fn connection_lost(&mut self, _exc: Option<io::Error>) {
        anyloop::println!("Connection closed");
        let _ = self.on_con_lost.set(());
    }
}

#[anyloop::main]
async fn main() -> common::Result {
    let (port, message) = common::port_and_message(9999)?;
    let lp = anyloop::get_running_loop();
    let on_con_lost = lp.create_future();
    let lost = on_con_lost.clone();
    let transport = anyloop::net::create_datagram_endpoint(
        move || EchoClientProtocol {
            message,
            on_con_lost: lost,
            transport: None,
        },
        None,
        Some(SocketAddr::from(([127, 0, 0, 1], port))),
    )
    .await?;
    let _ = on_con_lost.wait().await;
    transport.close();
    Ok(())
}
