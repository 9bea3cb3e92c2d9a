//! asyncio's "TCP Echo Client" using protocols: sends a message to the
//! echo server on 127.0.0.1 (port from the first argument, default 8888),
//! prints the answer and waits until the server closes the connection.
//!
//! ```text
//! cargo run --example protocol_echo_server -- 8888 &
//! cargo run --example protocol_echo_client -- 8888 "Hello World!"
//! ```

mod common;

use std::io;

use anyloop::future::Promise;
use anyloop::net::{Protocol, Transport};

struct EchoClientProtocol {
    message: String,
    on_con_lost: Promise<()>,
}

impl Protocol for EchoClientProtocol {
    fn connection_made(&mut self, transport: Transport) {
        transport.write(self.message.as_bytes());
        anyloop::println!("Data sent: {:?}", self.message);
    }

    fn data_received(&mut self, data: &[u8]) {
        anyloop::println!("Data received: {:?}", String::from_utf8_lossy(data));
    }

    fn connection_lost(&mut self, _exc: Option<io::Error>) {
        anyloop::println!("The server closed the connection");
        let _ = self.on_con_lost.set(());
    }
}

#[anyloop::main]
async fn main() -> common::Result {
    let (port, message) = common::port_and_message(8888)?;

    let lp = anyloop::get_running_loop();
    let on_con_lost = lp.create_future();
    let lost = on_con_lost.clone();
    let transport = anyloop::net::create_connection(
        move || EchoClientProtocol {
            message,
            on_con_lost: lost,
        },
        "127.0.0.1",
        port,
    )
    .await?;
    // Wait until the protocol signals that the connection is lost.
    let _ = on_con_lost.wait().await;
    transport.close();
    Ok(())
}
