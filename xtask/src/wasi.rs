//! Stage 2: the suite on WASI (wasmtime and Node's `node:wasi`).

use crate::util::Result;

/// Installs wasmtime when missing.
pub(crate) fn install() -> Result<()> {
    crate::install::rust_targets()
}

pub(crate) fn test() -> Result<String> {
    install()?;
    Err("the WASI stage is not implemented yet".into())
}
