//! A protocol on standard input and output (asyncio's `connect_read_pipe`
//! / `connect_write_pipe`): upper-cases what it reads, and at the end of
//! input writes how many bytes it saw. Runs natively and under wasmtime.
//!
//! ```text
//! printf 'hello\nworld\n' | cargo run --example protocol_stdio
//! cargo build --release --target wasm32-wasip1 --example protocol_stdio
//! printf 'hello\n' | wasmtime run target/wasm32-wasip1/release/examples/protocol_stdio.wasm
//! ```

use std::io;

use anyloop::future::Promise;
use anyloop::net::{Protocol, Transport};

struct Upper {
    transport: Option<Transport>,
    seen: usize,
    done: Promise<()>,
}

impl Protocol for Upper {
    fn connection_made(&mut self, transport: Transport) {
        self.transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        self.seen += data.len();
        if let Some(t) = &self.transport {
            t.write(&data.to_ascii_uppercase());
        }
    }

    fn eof_received(&mut self) -> bool {
        if let Some(t) = &self.transport {
            t.write(format!("{} bytes\n", self.seen).as_bytes());
        }
        // Close: the buffered output is written first.
        false
    }

    fn connection_lost(&mut self, _exc: Option<io::Error>) {
        let _ = self.done.set(());
    }
}

#[anyloop::main]
async fn main() -> io::Result<()> {
    let done = Promise::new();
    let d = done.clone();
    anyloop::net::connect_stdio(move || Upper {
        transport: None,
        seen: 0,
        done: d,
    })?;
    let _ = done.wait().await;
    Ok(())
}
