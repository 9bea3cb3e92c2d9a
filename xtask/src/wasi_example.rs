//! `cargo xtask wasi-example NAME [ARGS]...`: runs an example under
//! wasmtime as a WASI 0.2 component.
//!
//! Installs what is missing (the `wasm32-wasip2` target, wasmtime), builds
//! `examples/NAME.rs` for `wasm32-wasip2` (release) and runs it with
//! `wasmtime run -S inherit-network -S allow-ip-name-lookup`, passing
//! `ARGS` on (the network examples take their port first). The same as the
//! README's `cargo build ... && wasmtime run ...`, on a machine that has
//! neither yet.

use std::process::Command;

use crate::util::{self, Result};
use crate::wasi;

const TARGET: &str = "wasm32-wasip2";

/// `cargo xtask wasi-example NAME [ARGS]...`; exits with the program's status.
pub(crate) fn run(args: &[String]) -> Result<()> {
    let Some((name, rest)) = args.split_first() else {
        return Err("usage: cargo xtask wasi-example NAME [ARGS]...".into());
    };
    wasi::install()?;
    let dir = wasi::build_examples(TARGET, &[name.as_str()])?;
    let wasm = dir.join(format!("{name}.wasm"));
    let mut cmd = Command::new(wasi::wasmtime()?);
    cmd.arg("run").args(wasi::P2_NETWORK).arg(&wasm).args(rest);
    println!("$ {}", util::show(&cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {}: {e}", util::show(&cmd)))?;
    if !status.success() {
        // The program's own status (a server stopped by Ctrl-C, an error it
        // reported), not an xtask failure.
        std::process::exit(status.code().unwrap_or(1));
    }
    Ok(())
}
