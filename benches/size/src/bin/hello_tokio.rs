//! asyncio's hello world on tokio's current-thread runtime: the peer of
//! `examples/hello.rs` natively and on wasm32-wasip1 (`cargo xtask size`).
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!("Hello ...");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    println!("... World!");
}

/// tokio does not run in a browser: `hello_wbg` is the peer there.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn main() {}
