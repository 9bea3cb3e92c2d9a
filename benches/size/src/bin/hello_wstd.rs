//! asyncio's hello world on wstd, the WASI 0.2 runtime: the peer of
//! `examples/hello.rs` on wasm32-wasip2 (`cargo xtask size`).
#[cfg(all(target_os = "wasi", target_env = "p2"))]
#[wstd::main]
async fn main() {
    println!("Hello ...");
    wstd::task::sleep(wstd::time::Duration::from_secs(1)).await;
    println!("... World!");
}

/// wstd runs on WASI 0.2 only: `hello_tokio` and `hello_wbg` are the peers
/// elsewhere.
#[cfg(not(all(target_os = "wasi", target_env = "p2")))]
fn main() {}
