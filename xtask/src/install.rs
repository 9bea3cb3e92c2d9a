//! Installs what the test and bench stages need, skipping what is present.

use crate::util::{self, Result};

/// Installs everything (`cargo xtask install`).
pub(crate) fn all() -> Result<()> {
    rust_targets()?;
    crate::wasi::install()?;
    crate::web::install()?;
    crate::windows::install()
}

/// `rustup target add wasm32-wasip1 wasm32-wasip2 wasm32-unknown-unknown`
/// unless installed.
pub(crate) fn rust_targets() -> Result<()> {
    let installed =
        util::output(std::process::Command::new("rustup").args(["target", "list", "--installed"]))?;
    let missing: Vec<&str> = ["wasm32-wasip1", "wasm32-wasip2", "wasm32-unknown-unknown"]
        .into_iter()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    util::run(
        std::process::Command::new("rustup")
            .args(["target", "add"])
            .args(&missing),
    )
}
