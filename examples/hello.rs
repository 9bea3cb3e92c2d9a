//! asyncio's hello world:
//!
//! ```python
//! async def main():
//!     print('Hello ...')
//!     await asyncio.sleep(1)
//!     print('... World!')
//!
//! asyncio.run(main())
//! ```
//!
//! Natively: `cargo run --example hello`; under wasmtime (WASI 0.2):
//! `cargo xtask wasi-example hello`; in a browser: `cargo xtask web-example
//! hello` (`anyloop::println!` prints to stdout, and to `console.log` in a
//! browser).
use std::time::Duration;

#[anyloop::main]
async fn main() {
    anyloop::println!("Hello ...");
    anyloop::sleep(Duration::from_secs(1)).await;
    anyloop::println!("... World!");
}
