//! The wasm side of anyloop's browser demo (`www/`): "asyncio in your
//! browser".
//!
//! The scenarios ([`scenarios`]) are plain anyloop programs: sleepers with
//! random sleeps, a task group whose failing child cancels its siblings, a
//! producer/consumer over a bounded queue, and a storm of CPU-heavy tasks.
//! Every task they start is a row of the [`board`], which records the
//! task's phase (pending, running, sleeping, waiting, done, cancelled,
//! failed) over time. The page polls [`board::snapshot_json`] once per
//! animation frame and draws each row as a timeline.
//!
//! [`bench`](mod@bench) holds the browser benchmark's workloads, written once against
//! a tiny [`bench::Runtime`] trait so that anyloop, wasm-bindgen-futures'
//! `spawn_local` and async-executor's `LocalExecutor` run the same code.
//!
//! Natively (the workspace's `cargo test`) the scenarios and the anyloop
//! side of the benchmark run on the native host; the wasm-bindgen API the
//! page calls is compiled only for `wasm32`.
//!
//! # Examples
//!
//! ```
//! use anyloop_www_demo::{board, scenarios};
//!
//! anyloop::run(async {
//!     let g = scenarios::sleepers(3, 20).await;
//!     assert!(board::rows_of(g).iter().all(|r| r.1 == board::Phase::Done));
//! });
//! ```
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
#![deny(unsafe_code)]

pub mod bench;
pub mod board;
pub mod mini;
pub mod scenarios;

#[cfg(target_arch = "wasm32")]
pub mod web;
