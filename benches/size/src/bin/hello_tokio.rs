//! asyncio's hello world on tokio's current-thread runtime: the peer of
//! `examples/hello.rs` natively and on wasm32-wasip1 (`cargo xtask size`).
#[cfg(not(any(
    all(target_arch = "wasm32", target_os = "unknown"),
    all(target_os = "wasi", target_env = "p2")
)))]
#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!("Hello ...");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    println!("... World!");
}

/// tokio does not run in a browser (`hello_wbg` is the peer there); on
/// WASI 0.2 wstd is (`hello_wstd`).
#[cfg(any(
    all(target_arch = "wasm32", target_os = "unknown"),
    all(target_os = "wasi", target_env = "p2")
))]
fn main() {}
