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
use std::time::Duration;

#[anyloop::main]
async fn main() {
    println!("Hello ...");
    anyloop::sleep(Duration::from_secs(1)).await;
    println!("... World!");
}
