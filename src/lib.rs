//! Python's asyncio, rebuilt in Rust: one event-loop API that runs the same
//! program natively (epoll/kqueue), as a WASI program under `wasmtime run`,
//! and in a web page.
//!
//! # Examples
//!
//! asyncio's hello world (`examples/hello.rs`):
//!
//! ```no_run
#![doc = include_str!("../examples/hello.rs")]
//! ```
//!
//! Tasks, timeouts and cancellation:
//!
//! ```
//! use std::time::Duration;
//!
//! anyloop::run(async {
//!     let slow = anyloop::spawn(async {
//!         anyloop::sleep(Duration::from_secs(3600)).await;
//!     });
//!     let quick = anyloop::task::Builder::new().name("quick").spawn(async { 42 });
//!     assert_eq!(quick.await.unwrap(), 42);
//!
//!     let res = anyloop::timeout(Duration::from_millis(10), anyloop::sleep(Duration::from_secs(1))).await;
//!     assert!(res.is_err());
//!
//!     slow.cancel();
//!     assert!(slow.await.unwrap_err().is_cancelled());
//! });
//! ```
//!
//! # asyncio → anyloop
//!
//! | asyncio | anyloop |
//! |---|---|
//! | `asyncio.run(main())` | [`run`]`(main())`, [`Runner`]; browser: [`spawn_root`] / [`#[anyloop::main]`](main) |
//! | `asyncio.create_task(coro, name=)` | [`spawn`]`(fut)`, [`task::Builder`]`::new().name(..).spawn(fut)` |
//! | `asyncio.ensure_future(aw)`; `create_task(coro, eager_start=True)`, `asyncio.eager_task_factory` | [`spawn`]; [`task::Builder::eager`] (per task: there is no loop-wide task factory) |
//! | `Task.cancel()`, `Task.done()`, `Task.get_name()` | [`Task::cancel`], [`Task::is_finished`], [`Task::name`] |
//! | `Task.cancelling()`, `Task.uncancel()` | [`Task::cancelling`], [`Task::uncancel`] |
//! | `try: await aw` / `except CancelledError: ...; raise` | [`catch_cancel`]`(aw).await` → `Err(`[`Cancelled`]`)`, [`Cancelled::propagate`] ([two cancellation styles](tasks#cancellation-two-styles)) |
//! | `await asyncio.sleep(0)` | [`yield_now`]`().await` |
//! | `await asyncio.sleep(s)` | [`sleep`]`(Duration)`, [`sleep_until`]`(Instant)` |
//! | `asyncio.wait_for(aw, t)`, `asyncio.timeout(t)` | [`timeout`]`(dur, fut)`, [`timeout_at`]`(deadline, fut)` |
//! | `except TimeoutError` (from `wait_for` / `timeout`) | `Err(`[`Elapsed`]`)` |
//! | `asyncio.wait_for(task, t)` (cancels the task, waits for it) | [`wait_for`]`(task, dur)` |
//! | `task.cancelled()`, `task.result()`, `task.exception()` | [`Task::is_cancelled`], [`Task::outcome`], [`Task::exception`] ([`InvalidState`] while pending) |
//! | `except CancelledError` (the task's result), `InvalidStateError` | [`TaskError::is_cancelled`], [`Cancelled`]; [`InvalidState`] |
//! | `await t` from several tasks, or twice | [`Task::shared`] → [`tasks::SharedTask`] |
//! | `task.add_done_callback(cb)`, `fut.add_done_callback(cb)` | [`Task::add_done_callback`], [`future::Promise::add_done_callback`] |
//! | `asyncio.current_task()`, `asyncio.all_tasks()` | [`current_task`], [`all_tasks`] |
//! | `asyncio.gather(a, b)`, `gather(*aws)` | [`gather!`]`(a, b)`, [`gather()`]`(iter)`, [`try_gather()`] |
//! | `asyncio.wait`, `as_completed`, `shield` | [`wait`]`(tasks, `[`ReturnWhen`]`::…)`, [`as_completed`], [`shield`] |
//! | `asyncio.TaskGroup`, `asyncio.timeout` (`cm.reschedule`) | [`TaskGroup`], [`time::TimeoutScope`] |
//! | `tg.create_task(coro)`; after the group raised, `t.exception()` (the object its `ExceptionGroup` holds) | [`TaskGroup::spawn`] → [`GroupTask`]; [`GroupTask::exception`] / `t.await` → [`GroupTaskError::error`], the same value as in [`GroupError`] |
//! | `contextvars.ContextVar` | [`task_local!`] |
//! | `loop.call_soon/call_later/call_at` | [`call_soon`], [`call_later`], [`call_at`] → [`TimerHandle`] |
//! | `asyncio.capture_call_graph()`, `print_call_graph()` | [`capture_call_graph`], [`print_call_graph`] |
//! | the whole "Coroutines and Tasks" chapter | [`tasks`] (full table) |
//! | `loop.call_soon_threadsafe(cb)` | [`Handle::call_soon_threadsafe`] |
//! | `asyncio.run_coroutine_threadsafe(coro, loop)` | [`Handle::spawn`] |
//! | `asyncio.wrap_future(fut)` | [`wrap_future`], [`RunningLoop::wrap_future`] → a [`future::Promise`] |
//! | `loop.set_debug`, `loop.get_debug`, `loop.slow_callback_duration` | [`RunningLoop::set_debug`], [`RunningLoop::is_debug`], [`RunningLoop::set_slow_callback_duration`] |
//! | `loop.set_exception_handler`, `get_exception_handler`, `call_exception_handler`, `default_exception_handler` | [`RunningLoop::set_exception_handler`], [`RunningLoop::exception_handler`], [`RunningLoop::call_exception_handler`], [`RunningLoop::default_exception_handler`] |
//! | `asyncio.to_thread(f)` | [`to_thread`]`(f)` |
//! | `fut = loop.create_future()`, `fut.set_result(x)`, `await fut` | [`future::Promise`]: `Promise::new()`, `p.set(x)`, `p.wait().await` |
//! | `concurrent.futures.Future` (across threads) | [`oneshot::channel`]`()` |
//! | `loop.time()` | [`time::Instant::now`], [`RunningLoop::time`] |
//! | `asyncio.get_running_loop()`, `get_event_loop()` (the loop object) | [`get_running_loop`] → [`RunningLoop`] (design notes in [`event_loop`]) |
//! | `loop.create_future()`, `loop.create_task(coro)` | [`RunningLoop::create_future`], [`RunningLoop::create_task`] |
//! | `loop.run_in_executor(executor, f)`, `set_default_executor`, `shutdown_default_executor()` | [`RunningLoop::run_in_executor`] with an [`Executor`], [`RunningLoop::set_default_executor`], [`RunningLoop::shutdown_default_executor`] |
//! | `loop.add_reader/add_writer/remove_reader/remove_writer(fd, ...)` | [`RunningLoop::add_reader`], [`RunningLoop::add_writer`], [`RunningLoop::remove_reader`], [`RunningLoop::remove_writer`] |
//! | `loop.sock_recv/sock_recv_into/sock_sendall/sock_accept/sock_connect`, `sock_recvfrom/sock_recvfrom_into/sock_sendto` | [`RunningLoop::sock_recv`], [`RunningLoop::sock_recv_into`], [`RunningLoop::sock_sendall`], [`RunningLoop::sock_accept`], [`RunningLoop::sock_connect`], [`RunningLoop::sock_recvfrom`], [`RunningLoop::sock_recvfrom_into`], [`RunningLoop::sock_sendto`] |
//! | `asyncio.Runner(loop_factory=...)`, `new_event_loop()`, `loop.run_until_complete(aw)` | [`Runner::with_host`] (any [`Host`]), [`Runner::new`], [`Runner::run`] |
//! | `asyncio.Protocol`, `BufferedProtocol`, `DatagramProtocol`, `Transport` (`BaseTransport`), `DatagramTransport` | [`net::Protocol`], [`net::BufferedProtocol`] (as [`net::Buffered`]), [`net::DatagramProtocol`], [`net::Transport`], [`net::DatagramTransport`] |
//! | `loop.create_connection`, `create_server`, `create_unix_connection`, `create_unix_server`, `create_datagram_endpoint`, `connect_accepted_socket` | [`net::create_connection`], [`net::create_server`] (the same [`net::Server`]), [`net::create_unix_connection`], [`net::create_unix_server`], [`net::create_datagram_endpoint`], [`net::connect_accepted_socket`] |
//! | `asyncio.Lock`, `Event`, `Condition`, `Semaphore`, `BoundedSemaphore`, `Barrier` | [`sync::Lock`], [`sync::Event`], [`sync::Condition`], [`sync::Semaphore`], [`sync::BoundedSemaphore`], [`sync::Barrier`] (FIFO-fair; full table in [`sync`]) |
//! | `BrokenBarrierError` | [`sync::BrokenBarrier`] |
//! | `asyncio.Queue`, `PriorityQueue`, `LifoQueue` | [`queue::Queue`], [`queue::PriorityQueue`], [`queue::LifoQueue`] (full table in [`queue`]) |
//! | `QueueEmpty`, `QueueFull`, `QueueShutDown` | [`queue::QueueEmpty`], [`queue::QueueFull`] (gives the item back), [`queue::QueueShutDown`], inside [`queue::TryGetError`] / [`queue::TryPutError`] |
//! | `asyncio.open_connection`, `start_server`, `Server` (`AbstractServer`) | [`net::open_connection`], [`net::start_server`], [`net::Server`] (full table in [`net`]) |
//! | `loop.getaddrinfo(host, port)` | [`net::lookup_host`] |
//! | `asyncio.open_unix_connection`, `start_unix_server` | [`net::open_unix_connection`], [`net::start_unix_server`] |
//! | `StreamReader.readline/readuntil/readexactly`, `StreamWriter.write/drain` | [`net::StreamReader`], [`net::StreamWriter`] |
//! | `IncompleteReadError`, `LimitOverrunError` | [`net::IncompleteReadError`], [`net::LimitOverrunError`] (inside `io::Error`) |
//! | `create_subprocess_exec`, `create_subprocess_shell`, `Process.communicate/wait/returncode` | [`process::Command`], [`process::Command::shell`], [`process::Process`] (full table in [`process`]) |
//! | `loop.subprocess_exec`, `loop.subprocess_shell`, `SubprocessProtocol`, `SubprocessTransport` | [`process::subprocess_exec`], [`process::subprocess_shell`], [`process::SubprocessProtocol`], [`process::SubprocessTransport`] |
//! | `loop.add_signal_handler`, `remove_signal_handler` | [`signal::add_signal_handler`], [`signal::remove_signal_handler`], awaitable [`signal::ctrl_c`] (full table in [`signal`]) |
//! | aiofiles (`aiofiles.open`, `aiofiles.os.*`) | [`fs::File`], [`fs::read`], [`fs::write`], [`fs::read_dir`], ... (full table in [`fs`]) |
//! | `KeyboardInterrupt` out of `asyncio.run` | [`run`] cancels the main task on Ctrl-C; [`Runner::try_run`] returns [`signal::Interrupted`] |
//! | `PYTHONASYNCIODEBUG=1`, `asyncio.Runner(debug=True)` | `ANYLOOP_DEBUG=1`, [`Runner::set_debug`], [`debug::set_debug`] |
//! | "Task exception was never retrieved" | the same report, through the exception handler (see [`debug`]) |
//! | `python -m asyncio` (REPL), aiomonitor | [`monitor::serve`] + `cargo run --example console -- HOST:PORT`; in process [`monitor::tasks`], [`monitor::execute`] |
//! | `open_connection(ssl=)`, `start_server(ssl=)`, `writer.start_tls()` | [`net::ConnectOptions::ssl`], [`net::ServerOptions::ssl`], [`net::StreamWriter::start_tls`] ([`net::tls`]) |
//! | `open_connection(sock=)` | [`net::wrap`] |
//!
//! # Debugging
//!
//! Debug mode (`ANYLOOP_DEBUG=1`, [`Runner::set_debug`]) warns about each
//! task poll slower than the slow-callback duration, naming the task and
//! where it was spawned, and about tasks still pending when the loop
//! closes; a panicked task whose handle nobody awaited is reported once
//! ("Task exception was never retrieved") with debug mode on or off.
//! What each message means: [`debug`]. The monitor console looks inside a
//! running program (`ps`, `where ID`, `cancel ID`, `stats`): [`monitor`],
//! with a recorded session.
//!
//! ## Tracing
//!
//! With the cargo feature `tracing`, anyloop instruments every task for
//! [`tracing`](https://docs.rs/tracing) subscribers. The names follow
//! tokio's instrumentation, so that subscribers and filters written for it
//! read anyloop's tasks the same way:
//!
//! | what | target, level | fields |
//! |---|---|---|
//! | span `runtime.spawn`, one per task: entered around each poll and while its future is dropped, closed when the future is gone | `anyloop::task`, DEBUG, no parent | `kind` (`"task"`; `"block_on"` for [`run`]'s main task), `task.name` (when named), `task.id`, where it was spawned: `loc.file`, `loc.line`, `loc.col` |
//! | event `task spawned` | `anyloop::task`, DEBUG, in the task's span | `task.id` |
//! | event: a wake-up scheduled the task | `anyloop::task::waker`, TRACE, in the waker's span | `op = "waker.wake"`, `task.id` |
//! | event `task cancel requested` | `anyloop::task`, DEBUG, in the canceller's span | `task.id`, `cancel.message`, `force` (loop shutdown) |
//! | event `task finished` | `anyloop::task`, DEBUG, in the task's span | `task.id`, `outcome`: `"ok"`, `"error"` (a [`TaskGroup`] child returned an error), `"cancelled"`, `"panicked"`; `cancel.message` or `panic.message` |
//! | event `slow task poll` | `anyloop::task`, WARN, in the task's span | `task.id`, `task.name`, `loc`, `poll.duration`: a poll slower than the [slow-callback duration](debug::set_slow_callback_duration) (100 ms by default), as debug mode's warning |
//!
//! Every event carries `task.id`, so it reads on its own where the DEBUG
//! spans are filtered out (an `info` filter still shows slow polls).
//! `cargo run --example tracing_tasks --features tracing` shows them all; the
//! README's Debugging section has its output.
//!
//! ```
//! use std::time::Duration;
//! use tracing::Level;
//!
//! fn main() {
//!     // Print anyloop's task spans and events next to the program's own lines.
//!     tracing_subscriber::fmt().with_max_level(Level::DEBUG).init();
//!     anyloop::run(async {
//!         let worker = anyloop::task::Builder::new().name("worker").spawn(async {
//!             tracing::info!("fetching"); // printed inside the worker's span
//!             anyloop::sleep(Duration::from_millis(10)).await;
//!             42
//!         });
//!         assert_eq!(worker.await.unwrap(), 42);
//!     });
//! }
//! // As src/main.rs of a package my_app, with the feature on, it prints (after the time):
//! // DEBUG runtime.spawn{kind="task" task.name="worker" task.id=2 loc.file="src/main.rs" loc.line=8 loc.col=67}: anyloop::task: task spawned task.id=2
//! //  INFO runtime.spawn{kind="task" task.name="worker" task.id=2 loc.file="src/main.rs" loc.line=8 loc.col=67}: my_app: fetching
//! // DEBUG runtime.spawn{kind="task" task.name="worker" task.id=2 loc.file="src/main.rs" loc.line=8 loc.col=67}: anyloop::task: task finished task.id=2 outcome="ok"
//! ```
//!
//! Design: without the feature none of this is compiled in (the task
//! code's instruction counts are unchanged; `benches/callgrind.sh`). With
//! it, the span lives in the task's future, so it closes when the task
//! finishes, as tokio's does, not when the last handle drops; the wake
//! event marks a wake-up that queued the task on its loop (a wake of a
//! task already queued changes nothing and is not an event); polls are timed for the slow-poll event only while a
//! subscriber wants WARN events of `anyloop::task` (two clock reads per
//! poll); `"error"` is known only for [`TaskGroup`] children, whose error
//! goes to the group (any other task's output, `Err` or not, is `"ok"`).
//!
//! # tokio → anyloop
//!
//! | tokio | anyloop |
//! |---|---|
//! | `#[tokio::main]` (current_thread), `Runtime::block_on` | [`#[anyloop::main]`](main), [`run`], [`Runner::run`] |
//! | `#[tokio::test]` | [`#[anyloop::test]`](test) (also runs on WASI and in the browser) |
//! | `tokio::spawn`, `task::spawn_local`, `JoinHandle` | [`spawn`] → [`Task`] (no `Send` bound; dropping detaches like tokio) |
//! | `JoinHandle::abort`, `JoinError::is_cancelled` | [`Task::cancel`], [`TaskError::is_cancelled`] |
//! | `tokio::task::yield_now` | [`yield_now`] |
//! | `tokio::time::{sleep, sleep_until, timeout, Instant}` | [`sleep`], [`sleep_until`], [`timeout`], [`time::Instant`] |
//! | `tokio::join!`, `try_join!`, `JoinSet` | [`gather!`], [`try_gather()`], [`TaskGroup`] |
//! | `tokio::select!` | [`wait`] / [`as_completed`], or `futures_lite::future::or` |
//! | `task::spawn_blocking` | [`to_thread`] |
//! | `Handle::current().spawn` from another thread | [`Handle::spawn`], [`Handle::call_soon_threadsafe`] |
//! | `tokio::sync::{Mutex, Notify, Semaphore, Barrier, oneshot}` | [`sync::Lock`], [`sync::Event`] / [`sync::Condition`], [`sync::Semaphore`], [`sync::Barrier`], [`oneshot`] |
//! | `tokio::sync::mpsc` | [`queue::Queue`] (or async-channel, see [`ecosystem`]) |
//! | `tokio::task_local!` | [`task_local!`] |
//! | `tokio::net::{TcpListener, TcpStream, UdpSocket, UnixStream}` | [`net::TcpListener`], [`net::TcpStream`], [`net::UdpSocket`], [`net::UnixStream`] (`futures-io` traits) |
//! | `tokio::io::{BufReader, AsyncBufReadExt::read_line}` + `split` | [`net::StreamReader`] / [`net::StreamWriter`] ([`net::wrap`] for any transport) |
//! | `AsyncReadExt::read(&mut buf)` on a split read half | [`net::StreamReader::read_into`] |
//! | tokio-rustls | [`net::tls`] (rustls through futures-rustls) |
//! | hyper-util's `TokioIo`, `TokioExecutor`, `TokioTimer` | `anyloop::hyper::{Io, Executor, Timer}` (feature `hyper`) |
//! | tokio's `tracing` instrumentation (`runtime.spawn` spans) | feature `tracing`: the same span per task, and lifecycle events (see [Tracing](#tracing)) |
//! | a tokio-only crate (reqwest, ...) | `async_compat::Compat::new(fut)` around the call: see [`ecosystem`] |
//!
//! Searching these docs for an asyncio name finds its anyloop item: every
//! item whose name differs from asyncio's carries the asyncio name alone as
//! a doc alias (`create_task`, `wait_for`, `run_until_complete`,
//! `add_done_callback`, `get_extra_info`, ...), without an `asyncio.` or
//! `loop.` prefix. Misuse panics (spawning or reading the clock outside a
//! loop, a nested [`run`], ...) are `#[track_caller]`: their message points
//! at your line.
//!
//! # Ecosystem
//!
//! TLS, WebSocket, hyper HTTP/1 and HTTP/2, channels and tokio-only
//! crates, with recipes that the test suite compiles and runs: see
//! [`ecosystem`].
//!
//! # Hosts
//!
//! | host | target | clock | waits in | I/O |
//! |---|---|---|---|---|
//! | native | Linux, macOS, BSD | `clock_gettime` | `epoll_wait` (through rustix) / `kevent` ([`polling`](https://docs.rs/polling)) | sockets, blocking pool, subprocesses, signals |
//! | native | Windows | `QueryPerformanceCounter` | `GetQueuedCompletionStatusEx` on IOCP + AFD ([`polling`](https://docs.rs/polling)) | sockets, blocking pool, subprocesses, Ctrl-C / Ctrl-Break |
//! | WASI 0.2 | `wasm32-wasip2` | `wasi:clocks/monotonic-clock` | `wasi:io/poll.poll` | `wasi:sockets` TCP, UDP, name lookup; `wasi:cli` stdio; files on preopened dirs |
//! | WASI preview 1 | `wasm32-wasip1` | `clock_time_get` | `poll_oneoff` | stdio, preopened listeners, files on preopened dirs |
//! | web | `wasm32-unknown-unknown` | `performance.now()` | never blocks: microtask ticks, `setTimeout` | JS promises |
//!
//! [`capabilities`] tells what the current host can do; features it lacks
//! return `io::ErrorKind::Unsupported` errors that name the feature and host.
//!
//! # Platform support
//!
//! asyncio's "Platform Support" chapter for anyloop: `—` means the call
//! compiles there and returns `io::ErrorKind::Unsupported` naming the
//! feature and the host. Generated from [`platform::PLATFORMS`]; a test
//! (`tests/platform_support.rs`) compares it with these docs and the README
//! and, on every host the suite runs on, with [`capabilities`].
//!
//! | host | target | `run` (blocks) | `to_thread`, threads | panics caught | TCP listen | TCP connect | UDP | Unix sockets | subprocesses | signals | Ctrl-C | files | async stdio | notes |
//! |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
//! | Linux | `x86_64`/`aarch64-unknown-linux-gnu`, ... | yes | yes | yes | yes | yes | yes | yes | yes | yes | yes | yes | yes | epoll; child exits through an io_uring `waitid` (6.7+, glibc), a pidfd (5.3+) or `SIGCHLD` |
//! | macOS, BSD | `*-apple-darwin`, `*-unknown-freebsd`, ... | yes | yes | yes | yes | yes | yes | yes | yes | yes | yes | yes | yes | kqueue; child exits through `SIGCHLD` |
//! | Windows | `x86_64-pc-windows-gnu`/`-msvc` | yes | yes | yes | yes | yes | yes | — | yes | — | yes | yes | yes | IOCP + AFD (`polling`); `add_reader`/`sock_*` on sockets only; child exits on the IOCP, child pipes on the blocking pool; Ctrl-C and Ctrl-Break through the console, no other signals; tested under Wine |
//! | WASI 0.2 | `wasm32-wasip2` | yes | — | — | yes | yes | yes | — | — | — | — | yes | yes | `wasi:io/poll`; sockets as the runtime grants (`-S inherit-network`) |
//! | WASI preview 1 | `wasm32-wasip1` | yes | — | — | preopened | — | — | — | — | — | — | yes | yes | `poll_oneoff`; listeners preopened by the runtime (`--tcplisten`) |
//! | browser, main thread | `wasm32-unknown-unknown` | — | — | — | — | — | — | — | — | — | — | — | — | never blocks: `spawn_root` / `#[anyloop::main]`; JS promises |
//! | browser, Worker | `wasm32-unknown-unknown` | — | — | — | — | — | — | — | — | — | — | — | — | as on the main thread |
#![deny(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

#[cfg(all(not(target_family = "wasm"), any(unix, windows)))]
use anyloop_native as backend;
#[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
use anyloop_wasi as backend;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use anyloop_web as backend;
#[cfg(not(any(
    all(not(target_family = "wasm"), any(unix, windows)),
    all(target_arch = "wasm32", any(target_os = "wasi", target_os = "unknown"))
)))]
compile_error!(
    "anyloop: unsupported target (supported: native Unix, Windows, wasm32-wasip2, wasm32-wasip1, wasm32-unknown-unknown)"
);

use std::future::Future;

pub use anyloop_core::debug;
pub use anyloop_core::future;
pub use anyloop_core::future::oneshot;
/// The platform table: what each host can do (see [Platform support](crate#platform-support)).
pub use anyloop_core::platform;
pub use anyloop_core::queue;
pub use anyloop_core::sync;
pub use anyloop_core::task;
pub use anyloop_core::tasks;
pub use anyloop_core::testing;
pub use anyloop_core::time;
pub use anyloop_core::{
    all_tasks, current_task, sleep, sleep_until, spawn, timeout, timeout_at, yield_now, Budget,
    Capabilities, DoneCallback, Elapsed, EventLoop, Handle, Host, InvalidState, Task, TaskError,
    TaskId, TaskRef, TaskState, Tick, Unpark,
};
// asyncio's "Coroutines and Tasks" chapter (see [`tasks`] for the table).
pub use anyloop_core::{
    as_completed, call_at, call_later, call_soon, capture_call_graph, catch_cancel, gather,
    print_call_graph, shield, task_local, try_gather, wait, wait_for, CallGraph, Cancelled,
    ChildFailure, GroupClosed, GroupError, GroupHandle, GroupTask, GroupTaskError, LocalKey,
    ReturnWhen, TaskGroup, TimerHandle,
};
pub use anyloop_macros::{main, test};

pub mod event_loop;
pub mod fs;
pub mod monitor;
pub mod net;
pub mod process;
pub mod signal;

#[doc(alias = "get_event_loop")]
pub use event_loop::{
    get_running_loop, try_get_running_loop, wrap_future, Executor, Job, RunningLoop,
};

#[cfg(feature = "hyper")]
pub mod hyper;

#[doc = include_str!("../docs/ecosystem.md")]
// Its links to `anyloop::hyper` resolve where the feature is on (docs.rs).
#[cfg_attr(not(feature = "hyper"), allow(rustdoc::broken_intra_doc_links))]
pub mod ecosystem {}

/// The README's Rust examples, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// Standard input and output without blocking other tasks.
///
/// # Examples
///
/// Read lines from stdin:
///
/// ```no_run
/// use futures_lite::{AsyncBufReadExt, StreamExt};
///
/// anyloop::run(async {
///     let mut lines = futures_lite::io::BufReader::new(anyloop::io::stdin()).lines();
///     while let Some(line) = lines.next().await {
///         println!("got {}", line?);
///     }
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub mod io {
    pub use crate::backend::io::{stdin, stdout, Stdin, Stdout};
}

/// Browser-only helpers: awaiting JS promises, the web host.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub mod web {
    pub use anyloop_web::{promise, JsFuture, WebHost};
}

/// What the current host can do.
///
/// # Examples
///
/// ```
/// let caps = anyloop::capabilities();
/// if !caps.subprocess {
///     println!("no subprocesses on {}", caps.host);
/// }
/// ```
pub fn capabilities() -> Capabilities {
    backend::CAPABILITIES
}

/// Runs `fut` on a new event loop until it completes and returns its output:
/// asyncio's `asyncio.run(main())`.
///
/// When `fut` completes, every task still running is cancelled and its
/// destructors run before `run` returns.
///
/// On the main thread, Ctrl-C is handled as `asyncio.run` does: the first
/// `SIGINT` cancels `fut` (its destructors and cleanup run), then the
/// process ends as an unhandled `SIGINT` would (exit status 130 in a
/// shell; on Windows exit code `STATUS_CONTROL_C_EXIT`, for the console's
/// Ctrl-C); a second `SIGINT` ends it at once. See [`signal`] for the
/// details and [`Runner::try_run`] to get [`signal::Interrupted`] back
/// instead.
///
/// # Examples
///
/// ```
/// let n = anyloop::run(async {
///     anyloop::spawn(async { 21 * 2 }).await.unwrap()
/// });
/// assert_eq!(n, 42);
/// ```
///
/// # Panics
///
/// - Inside a running loop (asyncio: "asyncio.run() cannot be called from a
///   running event loop"): `.await` the future or `spawn` it instead.
/// - In the browser, where nothing may block: use [`spawn_root`] or
///   `#[anyloop::main]` (or [`Runner::new`], which returns the error).
/// - If `fut` panics, the panic resumes here after cleanup.
#[track_caller]
pub fn run<F: Future>(fut: F) -> F::Output {
    let runner = match Runner::new() {
        Ok(runner) => runner,
        Err(e) => panic!("anyloop::run: {e}"),
    };
    match runner.try_run(fut) {
        Ok(v) => v,
        Err(signal::Interrupted) => {
            drop(runner);
            exit_interrupted()
        }
    }
}

/// Ends the process as an unhandled `SIGINT` does (Python's exit on an
/// uncaught `KeyboardInterrupt`; Windows: exit code
/// `STATUS_CONTROL_C_EXIT`).
fn exit_interrupted() -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    #[cfg(not(target_family = "wasm"))]
    backend::signal::exit_by_sigint();
    std::process::exit(130)
}

/// A reusable event loop: asyncio's `asyncio.Runner`.
///
/// # Examples
///
/// ```
/// let runner = anyloop::Runner::new().unwrap();
/// assert_eq!(runner.run(async { 1 }), 1);
/// assert_eq!(runner.run(async { 2 }), 2);
/// ```
#[derive(Debug)]
pub struct Runner {
    lp: EventLoop,
    ctrl_c: bool,
    /// On this platform's own host (whose reactor watches signals).
    native: bool,
}

impl Runner {
    /// Creates a loop on this platform's host. It handles Ctrl-C (see
    /// [`try_run`](Self::try_run)) if created on the main thread, as
    /// asyncio's `Runner` does; [`handle_ctrl_c`](Self::handle_ctrl_c)
    /// changes that.
    ///
    /// # Errors
    ///
    /// `Unsupported` in the browser (use [`spawn_root`]); the OS error if
    /// the host cannot be created.
    pub fn new() -> std::io::Result<Runner> {
        if !backend::CAPABILITIES.blocking {
            return Err(anyloop_core::unsupported(
                "anyloop::run / Runner (blocking the thread)",
                backend::CAPABILITIES.host,
                "; start the program with `anyloop::spawn_root(fut)` or `#[anyloop::main]`",
            ));
        }
        Ok(Runner {
            lp: EventLoop::new(backend::new_host()?),
            // No signals on wasm: not asking for the thread's name there
            // keeps std's thread handle machinery out of the program.
            ctrl_c: !cfg!(target_family = "wasm") && std::thread::current().name() == Some("main"),
            native: true,
        })
    }

    /// A runner on a host you wrote (asyncio 3.12's
    /// `Runner(loop_factory=...)`): every anyloop API that the host's
    /// [`Capabilities`] allow works on it, through the same
    /// [`run`](Self::run).
    ///
    /// # Examples
    ///
    /// A host with virtual time ([`testing::MockHost`]), so a one-hour sleep
    /// returns at once:
    ///
    /// ```
    /// use std::time::Duration;
    /// let runner = anyloop::Runner::with_host(anyloop::testing::MockHost::new());
    /// runner.run(async { anyloop::sleep(Duration::from_secs(3600)).await });
    /// ```
    ///
    /// See [`Host`] for a host written from scratch.
    #[doc(alias = "loop_factory")]
    #[doc(alias = "new_event_loop")]
    pub fn with_host(host: impl Host) -> Runner {
        Runner {
            lp: EventLoop::new(host),
            ctrl_c: false,
            native: false,
        }
    }

    /// Whether [`run`](Self::run) and [`try_run`](Self::try_run) handle
    /// Ctrl-C (`SIGINT`) by cancelling the main task (default: on the main
    /// thread only). Without signals (WASI, web), and on a
    /// [`with_host`](Self::with_host) runner (whose host decides what
    /// signals are), this changes nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut runner = anyloop::Runner::new().unwrap();
    /// runner.handle_ctrl_c(true);
    /// assert_eq!(runner.try_run(async { 7 }), Ok(7));
    /// ```
    pub fn handle_ctrl_c(&mut self, on: bool) -> &mut Runner {
        self.ctrl_c = on && self.native;
        self
    }

    /// Runs `fut` to completion on this loop (asyncio's `Runner.run`,
    /// `loop.run_until_complete`). Tasks it leaves running stay for the
    /// next `run`; dropping the `Runner` cancels them (`Runner.close`).
    /// asyncio's `loop.run_forever()` is `run` of a future that waits for
    /// your stop signal (e.g. [`sync::Event::wait`]).
    ///
    /// If Ctrl-C interrupts `fut` (see [`try_run`](Self::try_run)), the
    /// process ends after the cleanup, as with [`run`].
    ///
    /// # Panics
    ///
    /// See [`run`].
    #[doc(alias = "run_until_complete")]
    #[doc(alias = "run_forever")]
    #[track_caller]
    pub fn run<F: Future>(&self, fut: F) -> F::Output {
        match self.try_run(fut) {
            Ok(v) => v,
            Err(signal::Interrupted) => exit_interrupted(),
        }
    }

    /// Runs `fut` to completion like [`run`](Self::run), but reports Ctrl-C:
    /// if this runner handles Ctrl-C ([`handle_ctrl_c`](Self::handle_ctrl_c))
    /// and a `SIGINT` arrives that no user code listens for, the main task
    /// is cancelled (its destructors run; with asyncio-style cancellation
    /// its cleanup code runs) and `Err(Interrupted)` comes back, asyncio's
    /// `KeyboardInterrupt`. A second `SIGINT` before that ends the process.
    /// If the main task swallows the cancellation and returns a value,
    /// that value comes back.
    ///
    /// # Errors
    ///
    /// [`signal::Interrupted`] as described.
    ///
    /// # Panics
    ///
    /// See [`run`].
    #[track_caller]
    pub fn try_run<F: Future>(&self, fut: F) -> Result<F::Output, signal::Interrupted> {
        #[cfg(not(target_family = "wasm"))]
        if self.ctrl_c {
            if let Ok(mut presses) = backend::signal::Interrupts::new() {
                let hit = std::cell::Cell::new(false);
                let res = self.lp.try_block_on(async {
                    let watch = async {
                        if presses.pressed().await.is_ok() {
                            hit.set(true);
                            if let Some(me) = current_task() {
                                me.cancel_with("interrupted by Ctrl-C (SIGINT)");
                            }
                        }
                        std::future::pending().await
                    };
                    futures_lite::future::or(fut, watch).await
                });
                // `presses` lives until the cleanup is over: a second
                // Ctrl-C during it ends the process.
                drop(presses);
                return match res {
                    Ok(v) => Ok(v),
                    Err(_) if hit.get() => Err(signal::Interrupted),
                    Err(e) => panic!("anyloop: the main task was cancelled: {e}"),
                };
            }
        }
        Ok(self.lp.block_on(fut))
    }

    /// A handle for other threads.
    pub fn handle(&self) -> Handle {
        self.lp.handle()
    }

    /// Switches debug mode on or off (asyncio's `Runner(debug=True)`;
    /// `ANYLOOP_DEBUG=1` in the environment does it for every loop): see
    /// [`debug`].
    ///
    /// # Examples
    ///
    /// ```
    /// let runner = anyloop::Runner::new().unwrap();
    /// runner.set_debug(true);
    /// runner.run(async { assert!(anyloop::debug::is_debug()) });
    /// ```
    #[doc(alias = "debug")]
    pub fn set_debug(&self, on: bool) {
        self.lp.set_debug(on);
    }

    /// Sets how long one task poll may take before debug mode warns about
    /// it (asyncio's `loop.slow_callback_duration`, default 100 ms).
    #[doc(alias = "slow_callback_duration")]
    pub fn set_slow_callback_duration(&self, d: std::time::Duration) {
        self.lp.set_slow_callback_duration(d);
    }
}

/// Runs `f` on a thread of the blocking pool and awaits its result:
/// asyncio's `asyncio.to_thread(f)`.
///
/// # Errors
///
/// `Unsupported` on hosts without threads (WASI, web).
///
/// # Examples
///
/// ```
/// anyloop::run(async {
///     match anyloop::to_thread(|| (1..=10u64).product::<u64>()).await {
///         Ok(n) => assert_eq!(n, 3_628_800),
///         // Hosts without threads (WASI, web) say so instead.
///         Err(e) => {
///             assert!(!anyloop::capabilities().threads);
///             assert_eq!(e.kind(), std::io::ErrorKind::Unsupported);
///         }
///     }
/// });
/// ```
#[doc(alias = "run_in_executor")]
pub async fn to_thread<T, F>(f: F) -> std::io::Result<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    backend::to_thread(f).await
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub use backend::spawn_root;

/// Starts `fut` as the root task of the program and returns at once: the
/// browser's replacement for [`run`] (the page's event loop drives it).
///
/// On blocking hosts this runs `fut` to completion on a new loop, so the
/// same `spawn_root` call works everywhere.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub fn spawn_root<F>(fut: F) -> Result<F::Output, TaskError>
where
    F: Future + 'static,
    F::Output: 'static,
{
    Ok(run(fut))
}

#[doc(hidden)]
pub mod __private {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    pub use {wasm_bindgen, wasm_bindgen_futures};

    /// Body of [`crate::println!`]. Inlined at each call site, where a
    /// message without arguments folds to [`print_str`]: a program whose
    /// lines are plain text links no formatting code for them.
    #[inline(always)]
    pub fn print_line(args: std::fmt::Arguments<'_>) {
        match args.as_str() {
            Some(s) => print_str(s),
            None => print_fmt(args),
        }
    }

    /// Prints `line` and a newline (see [`crate::println!`]).
    pub fn print_str(line: &str) {
        #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
        crate::backend::io::console_line(line);
        #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
        {
            use std::io::Write;
            // One locked write, like `std::println!`, minus its panic when
            // stdout is closed.
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(line.as_bytes());
            let _ = out.write_all(b"\n");
        }
    }

    /// Formats `args` and prints them as one line.
    #[inline(never)]
    fn print_fmt(args: std::fmt::Arguments<'_>) {
        #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
        crate::backend::io::console_line(&args.to_string());
        #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
        {
            use std::io::Write;
            let _ = writeln!(std::io::stdout().lock(), "{args}");
        }
    }

    /// Body of `#[anyloop::test]` natively and on WASI: runs the test, then
    /// checks that it left no task behind (asyncio's "Task was destroyed
    /// but it is pending!", as a test failure).
    pub fn run_test<F: std::future::Future>(fut: F) -> F::Output {
        let runner = match crate::Runner::new() {
            Ok(r) => r,
            Err(e) => panic!("anyloop::test: {e}"),
        };
        let out = runner.run(fut);
        assert_no_leaks(&runner.run(leaked_tasks()));
        out
    }

    /// Fails the test if it left tasks running.
    fn assert_no_leaks(leaked: &[crate::TaskRef]) {
        assert!(
            leaked.is_empty(),
            "anyloop::test: the test left {} task(s) running when it returned: {leaked:?}; \
             await or cancel them (and await the cancelled ones) before returning",
            leaked.len()
        );
    }

    /// Tasks still alive once cancelled ones have had a few loop
    /// iterations to unwind, besides the caller.
    async fn leaked_tasks() -> Vec<crate::TaskRef> {
        for _ in 0..3 {
            crate::yield_now().await;
        }
        let me = crate::current_task().map(|t| t.id());
        crate::all_tasks()
            .into_iter()
            .filter(|t| Some(t.id()) != me)
            .collect()
    }

    /// Body of `#[anyloop::test]` in the browser.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    pub async fn run_test_web<F>(fut: F) -> F::Output
    where
        F: std::future::Future + 'static,
        F::Output: 'static,
    {
        let out = match crate::spawn_root(fut).await {
            Ok(v) => v,
            Err(e) => panic!("anyloop test task failed: {e}"),
        };
        // The page's loop is shared by the tests: check this one left none.
        match crate::spawn_root(leaked_tasks()).await {
            Ok(leaked) => assert_no_leaks(&leaked),
            Err(e) => panic!("anyloop test leak check failed: {e}"),
        }
        out
    }

    /// Body of `#[anyloop::main]` in the browser.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    pub fn start_main<F>(fut: F)
    where
        F: std::future::Future + 'static,
        F::Output: MainOutput + 'static,
    {
        crate::spawn_root(async move { fut.await.report() }).detach();
    }

    /// What `#[anyloop::main]` may return in the browser: `()` or a
    /// `Result` whose error is logged with `console.error`.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    pub trait MainOutput {
        /// Reports an error result.
        fn report(self);
    }

    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    impl MainOutput for () {
        fn report(self) {}
    }

    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    impl<E: std::fmt::Debug> MainOutput for Result<(), E> {
        fn report(self) {
            if let Err(e) = self {
                anyloop_web::console_error(&format!("anyloop main returned an error: {e:?}"));
            }
        }
    }
}

/// Prints a line on every host: to stdout natively and on WASI, with
/// `console.log` in a browser, where `std::println!` output is discarded.
/// asyncio's `print()`, for programs that run everywhere.
///
/// # Examples
///
/// ```
/// anyloop::println!("Hello {}", "...");
/// ```
#[doc(alias = "print")]
#[macro_export]
macro_rules! println {
    () => {
        $crate::__private::print_line(::core::format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::__private::print_line(::core::format_args!($($arg)*))
    };
}
