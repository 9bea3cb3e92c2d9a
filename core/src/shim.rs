//! The thread-safety primitives of the core's cross-thread paths — the
//! injection queue and its flags ([`crate::driver`]), the one-shot
//! channel ([`crate::future::oneshot`], also the hand-off of the
//! blocking pool and `run_in_executor`) and the loop's thread-local
//! "current loop": std's, or [loom](https://docs.rs/loom)'s when built
//! with `RUSTFLAGS="--cfg loom"`, so that `core/tests/loom.rs` can check
//! every interleaving of those paths (`cargo xtask loom`).

#[cfg(loom)]
pub(crate) use loom::sync::atomic::AtomicBool;
#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};
#[cfg(loom)]
pub(crate) use loom::thread_local;

#[cfg(not(loom))]
pub(crate) use crate::driver::lock::{Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::AtomicBool;
#[cfg(not(loom))]
pub(crate) use std::thread_local;

/// The core's mutex for its other shared state (never loom's): std's, or
/// on wasm without threads a lighter one (see [`crate::driver::lock`]).
pub(crate) use crate::driver::lock;
