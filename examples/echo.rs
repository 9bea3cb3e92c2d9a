//! TCP echo server on 127.0.0.1 (port from the first argument, default 8888).
//! Serves many clients concurrently, one task each, and logs connects and
//! disconnects.
//!
//! ```text
//! cargo run --example echo -- 8888
//! ```
//!
//! WASI preview 1 programs cannot bind sockets; the runtime preopens the
//! listener instead, and the same program serves it:
//!
//! ```text
//! cargo build --release --target wasm32-wasip1 --example echo
//! wasmtime run -S preview2=n -S tcplisten=127.0.0.1:8888 target/wasm32-wasip1/release/examples/echo.wasm
//! ```

#[anyloop::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p.parse().map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("bad port {p:?}: {e}"),
            )
        })?,
        None => 8888,
    };
    let listener = listen(port)?;
    loop {
        let (stream, peer) = listener.accept().await?;
        println!("echo: {peer} connected");
        anyloop::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            let res: std::io::Result<u64> = async {
                let mut total = 0u64;
                loop {
                    let n = stream.read(&mut buf).await?;
                    if n == 0 {
                        return Ok(total);
                    }
                    stream.write_all(&buf[..n]).await?;
                    total += n as u64;
                }
            }
            .await;
            match res {
                Ok(total) => println!("echo: {peer} disconnected after {total} bytes"),
                Err(e) => println!("echo: {peer} failed: {e}"),
            }
        })
        .detach();
    }
}

/// Natively: bind 127.0.0.1:`port`.
#[cfg(not(target_os = "wasi"))]
fn listen(port: u16) -> std::io::Result<anyloop::net::TcpListener> {
    let listener = anyloop::net::TcpListener::bind(("127.0.0.1", port))?;
    println!("echo: listening on {}", listener.local_addr()?);
    Ok(listener)
}

/// On WASI: the listener the runtime preopened (`-S tcplisten=ADDR`); the
/// port argument is unused there.
#[cfg(target_os = "wasi")]
fn listen(_port: u16) -> std::io::Result<anyloop::net::TcpListener> {
    let listener = anyloop::net::TcpListener::from_preopened()?;
    println!("echo: serving the preopened listener");
    Ok(listener)
}
