//! The portable core of [anyloop](https://docs.rs/anyloop): Python's asyncio
//! event loop, tasks and timers, independent of any platform.
//!
//! Applications use the `anyloop` facade, which picks a host for the
//! target. This crate is for embedders and for people writing a new
//! [`Host`] (asyncio's "extending" chapter).
//!
//! # Examples
//!
//! A loop over a host with virtual time ([`testing::MockHost`]):
//!
//! ```
//! # use anyloop_core::__doctest as anyloop;
//! use anyloop::{testing::MockHost, EventLoop};
//! use std::time::Duration;
//!
//! let lp = EventLoop::new(MockHost::new());
//! let out = lp.block_on(async {
//!     let a = anyloop::spawn(async {
//!         anyloop::sleep(Duration::from_millis(20)).await;
//!         "world"
//!     });
//!     format!("hello {}", a.await.unwrap())
//! });
//! assert_eq!(out, "hello world");
//! ```
//!
//! The examples use the facade's paths (`anyloop::spawn`,
//! `anyloop::sync::Lock`), since most readers meet these items through
//! `anyloop`, which re-exports them under the same names; depending on this
//! crate alone, write `anyloop_core::` instead.
//!
//! # Implementation
//!
//! A task is one allocation per spawn (header, metadata, future, then
//! output), its own rather than `async-task`'s: a task runs on its loop's
//! thread only, so its scheduling state (queued, done) is plain memory that
//! only that thread touches, and a poll or a wake-up on the loop thread
//! costs no atomic operation (async-task's and tokio's pay three
//! compare-and-swaps per yield, which were ~80 % of a yield's time). Only
//! the reference count and the output's hand-off to the `Task` handle
//! (which may live on any thread) are atomic. A task's poll is one
//! indirect call into code typed for its future, which also ends a task
//! that finished: a detached task's output is dropped there and never
//! stored, and the allocation is freed there, without further vtable
//! calls (on wasm an indirect call pays a table and a signature check;
//! on wasip1 this was ~20 % of a chained spawn). The future and then its
//! output share the task's body (a union; a byte in the header says which
//! is there) at an offset the vtable records, so the `Task` handle, which
//! knows the output's type but not the future's, takes the output with a
//! plain read instead of an indirect call (~6 % of a `spawn_join` round
//! on wasip2). The `Task` handle is that one pointer (its metadata is
//! read through it) plus a phase byte and the slot of an output taken
//! early: spawn returns three words instead of five, and awaiting or
//! dropping the handle tests no `Option` around it (~7 % of a
//! `spawn_join` round on wasip2). A task's end is
//! bookkept in its last poll, where the loop thread is known (it leaves
//! the registry and drops its task-local context there): the drop of a
//! finished task's future is then one null check, and only a future
//! dropped unfinished asks which thread and loop it is on (a `Send`
//! task's future may be dropped on a thread running another loop, whose
//! registry it must not touch). The registry of live tasks (`all_tasks`,
//! shutdown) is an intrusive doubly linked list through the tasks' own
//! headers, in spawn order: entering and leaving it writes a few pointers
//! in memory the task already has, where a slab behind a `RefCell` wrote
//! an entry into a growing `Vec` each way (~65 of a `spawn_join` round's
//! ~1,136 instructions on wasip2). The ready queue is a FIFO `VecDeque`
//! touched only by the loop thread, in an `UnsafeCell` rather than a
//! `RefCell` (each access is one queue operation that hands out no
//! reference, so a borrow flag would only cost every push and pop; ~10 %
//! of a `yield` round trip on wasm); wake-ups from other threads
//! take a reference and go through a mutex-protected injection queue
//! flagged by an atomic, and unpark the host. Timers live in
//! an indexed binary heap ordered by `(deadline, seq)`: earliest deadline
//! first, equal deadlines in FIFO order, cancelled timers removed
//! immediately (a `BTreeMap` did the same with ~6 KB more code in wasm).
//!
//! ## Code size
//!
//! Every program links the loop, so what only some programs use is
//! reachable only from the functions that use it (`cargo xtask size`
//! measures hello world on every host):
//!
//! - done callbacks: `add_done_callback` stores the function that
//!   schedules them in the task; a task's finish only calls it through that
//!   pointer, so a program without done callbacks links none of that code;
//! - debug-mode statistics live in a `Vec` at an index each task keeps
//!   in its registry links (given out while statistics are on) (no hash map and no hasher in every program);
//! - debug-mode warnings (which every program links: `ANYLOOP_DEBUG`
//!   switches debug mode on at run time) build their line with
//!   `String::push_str` and hand-written decimal digits, not `core::fmt`:
//!   a browser program that formats nothing else links no `fmt::write`,
//!   padding or integer `Display` (~3 KB). `TaskInfo`'s and `Warning`'s
//!   `Display` write the same text (a unit test compares it with
//!   `format!`'s);
//! - in a browser the default diagnostic output writes nothing (std's
//!   stderr discards everything there; the web host sets `console.error`),
//!   so no std stdio, reentrant lock or thread-id code is linked for it;
//! - `EventLoop::install` moves the loop into an empty slot without a drop
//!   of the slot's old value, so a program that never closes its loop (a
//!   browser's) links no loop shutdown;
//! - with `panic = "abort"` no task's panic is caught, so the "Task
//!   exception was never retrieved" report (and its formatting) is left
//!   out (`cfg!(panic = "unwind")`);
//! - no `u128` or float formatting (durations print in integer ms), no
//!   UTF-8 check of the `ANYLOOP_DEBUG` flag (`var_os`);
//! - on wasm the loop's panic when its host cannot wait for events
//!   prints the error without `io::Error`'s `Display`, which links
//!   wasi-libc's `strerror` table, every `ErrorKind` description and a
//!   `Utf8Error` `Debug` (~5.6 KB of a WASI hello world, ~6.5 KB of a
//!   wasip2 component): the error's payload (the host's own message), else
//!   `os error N`, else the kind's name. The WASI preview 1 host puts the
//!   failed call and its errno in that payload ("poll_oneoff failed with
//!   errno 28"), built with `push_str`. Natively the panic prints the
//!   error's `Display`.
//!
//! # Features
//!
//! `tracing`: a `runtime.spawn` span per task (name, id, spawn location)
//! entered around its polls, and events for spawn, wake, cancel, finish
//! and slow polls, for [`tracing`](https://docs.rs/tracing) subscribers;
//! the names, levels and fields are listed in the `anyloop` crate docs
//! ("Tracing"). Without the feature none of it is compiled in.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    clippy::undocumented_unsafe_blocks
)]

// `unsafe` lives only in the scheduler (`driver`: the loop, the raw task
// and its registry; `task`: the handle over the raw task), each block with
// its `// SAFETY:` note; every other module is safe code.
#[deny(unsafe_code)]
pub mod debug;
mod driver;
#[deny(unsafe_code)]
pub mod future;
#[deny(unsafe_code)]
mod handle;
#[deny(unsafe_code)]
mod host;
#[deny(unsafe_code)]
pub mod platform;
#[deny(unsafe_code)]
pub mod queue;
#[deny(unsafe_code)]
mod shim;
#[deny(unsafe_code)]
pub mod sync;
pub mod task;
#[deny(unsafe_code)]
pub mod tasks;
#[deny(unsafe_code)]
pub mod testing;
#[deny(unsafe_code)]
pub mod time;
#[cfg(feature = "tracing")]
#[deny(unsafe_code)]
mod trace;

pub use driver::{in_loop, Budget, EnterGuard, EventLoop, Tick};
pub use handle::Handle;
pub use host::{io_error, unsupported, Capabilities, Host, Unpark};
pub use task::{
    all_tasks, current_task, spawn, yield_now, DoneCallback, InvalidState, Task, TaskError, TaskId,
    TaskRef, TaskState,
};
pub use tasks::{
    as_completed, call_at, call_later, call_soon, capture_call_graph, catch_cancel, gather,
    print_call_graph, shield, try_gather, wait, wait_for, CallGraph, Cancelled, ChildFailure,
    GroupClosed, GroupError, GroupHandle, GroupTask, GroupTaskError, LocalKey, ReturnWhen,
    TaskGroup, TimerHandle,
};
pub use time::{sleep, sleep_until, timeout, timeout_at, Elapsed, Instant};

/// The facade's (`anyloop`'s) names for this crate's items, so that doc
/// examples show the paths a user of `anyloop` writes: each example that
/// names an item starts with the hidden line
/// `# use anyloop_core::__doctest as anyloop;` and then reads
/// `anyloop::…` while it compiles and runs as this crate's doctest.
///
/// Keep it in step with the facade's re-exports of this crate
/// (`src/lib.rs`): a name missing here fails the doctest that uses it, a
/// name listed here that the facade lacks would let an example show a
/// path `anyloop` users cannot write.
#[doc(hidden)]
pub mod __doctest {
    pub use crate::future::oneshot;
    pub use crate::{
        all_tasks, current_task, sleep, sleep_until, spawn, timeout, timeout_at, yield_now, Budget,
        Capabilities, DoneCallback, Elapsed, EventLoop, Handle, Host, InvalidState, Task,
        TaskError, TaskId, TaskRef, TaskState, Tick, Unpark,
    };
    pub use crate::{
        as_completed, call_at, call_later, call_soon, capture_call_graph, catch_cancel, gather,
        print_call_graph, shield, task_local, try_gather, wait, wait_for, CallGraph, Cancelled,
        ChildFailure, GroupClosed, GroupError, GroupHandle, GroupTask, GroupTaskError, LocalKey,
        ReturnWhen, TaskGroup, TimerHandle,
    };
    pub use crate::{debug, future, platform, queue, sync, task, tasks, testing, time};
}

/// Runs `fut` on a fresh loop over [`testing::MockHost`] (virtual time).
/// For this crate's doctests.
#[doc(hidden)]
pub fn doctest_run<F: std::future::Future>(fut: F) -> F::Output {
    EventLoop::new(testing::MockHost::new()).block_on(fut)
}
