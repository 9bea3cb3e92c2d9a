//! A live monitor console for a running program: asyncio's REPL chapter
//! (`python -m asyncio`) for a compiled program, like aiomonitor and
//! tokio-console.
//!
//! [`serve`] starts a line-protocol server on the program's own loop
//! (natively: 127.0.0.1 TCP or a Unix socket). Connect with the console
//! example (line editing and history) or any line client (`nc`):
//!
//! ```text
//! cargo run --example console -- 127.0.0.1:PORT
//! ```
//!
//! | command | answer |
//! |---|---|
//! | `ps` | every task: id, name, state, age, polls, time in poll, where it was spawned |
//! | `where ID` | the task's call graph ([`capture_call_graph`](crate::capture_call_graph)'s format) and spawn location |
//! | `cancel ID` | cancels the task (its awaiter sees the message "cancelled from the monitor") |
//! | `stats` | loop iterations, ready tasks, timers, live tasks, I/O sources, blocking-pool threads |
//! | `help` | the commands |
//! | `quit` | closes the connection |
//!
//! Every answer ends with the prompt `anyloop> ` (no newline), so a
//! client reads until it sees the prompt. While a monitor serves, the
//! loop times task polls to fill in `ps` (see [`debug::collect_task_stats`]).
//!
//! The same introspection works in process on every host: [`tasks`] (what
//! the browser demo's live task panel shows) and [`execute`] (one command's
//! answer as text).
//!
//! # Examples
//!
//! ```no_run
//! anyloop::run(async {
//!     let monitor = anyloop::monitor::serve("127.0.0.1:20101").await?;
//!     println!("monitor on {}", monitor.local_addr()?);
//!     // ... the program runs; `cargo run --example console -- 127.0.0.1:20101`
//!     monitor.serve_forever().await;
//!     std::io::Result::Ok(())
//! })
//! .unwrap();
//! ```
//!
//! A recorded session (against `examples/console.rs --demo`):
//!
//! ```text
//! anyloop monitor on the native host; `help` lists the commands
//! anyloop> ps
//!    ID  NAME                             STATE        AGE    POLLS     BUSY  SPAWNED AT
//!     1  main                             waiting     0.0s        0    0.0ms  examples/console.rs:101:9
//!     2  anyloop::net::Server accept      waiting     4.0s        2    0.1ms  src/net/server.rs:278:18
//!     3  ticker                           waiting     4.0s       40    0.8ms  examples/console.rs:107:72
//!     4  sleeper                          waiting     4.0s        1    0.0ms  examples/console.rs:114:18
//!     5  worker                           waiting     4.0s        2    0.0ms  examples/console.rs:119:18
//!     6  anyloop::net::Server connection  running     0.0s        0    0.0ms  src/net/server.rs:193:14
//! anyloop> where 4
//! * Task(name='sleeper', id=4)
//!   + Awaited by:
//!     * Task(name='main', id=1)
//! spawned at examples/console.rs:114:18
//! anyloop> stats
//! iterations 57
//! ready 0
//! timers 2
//! tasks 6
//! io_sources 3
//! blocking_threads 0 (0 idle)
//! anyloop> cancel 4
//! cancelled task 4 (sleeper)
//! anyloop> quit
//! ```

use std::fmt::Write as _;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use crate::debug;
use crate::net::{Server, StreamReader, StreamWriter};
use crate::{all_tasks, CallGraph, TaskId, TaskRef, TaskState};

/// What every answer ends with.
pub const PROMPT: &str = "anyloop> ";

/// One row of [`tasks`]: what `ps` prints.
#[derive(Debug, Clone)]
pub struct TaskRow {
    /// The task's id.
    pub id: TaskId,
    /// Its name, if any.
    pub name: Option<String>,
    /// Its state.
    pub state: TaskState,
    /// Time since it was spawned (`None` while statistics are off).
    pub age: Option<Duration>,
    /// Polls counted (0 while statistics are off).
    pub polls: u64,
    /// Time spent in its polls.
    pub busy: Duration,
    /// Where it was spawned.
    pub spawned_at: &'static std::panic::Location<'static>,
}

/// Every live task of the running loop, by id, with its statistics when
/// they are collected ([`debug::collect_task_stats`], on while a monitor
/// serves or in debug mode). Empty outside a loop.
///
/// # Examples
///
/// ```
/// anyloop::run(async {
///     let _stats = anyloop::debug::collect_task_stats();
///     let rows = anyloop::monitor::tasks();
///     assert_eq!(rows[0].name.as_deref(), Some("main"));
/// });
/// ```
pub fn tasks() -> Vec<TaskRow> {
    tasks_head(usize::MAX).1
}

/// The `limit` oldest live tasks (lowest ids) as [`tasks`] gives them, and
/// how many live tasks there are in all: for a panel that shows a few rows
/// while many tasks run, without building a row for every one of them.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// anyloop::run(async {
///     let sleepers: Vec<_> = (0..10)
///         .map(|_| anyloop::spawn(anyloop::sleep(Duration::from_millis(50))))
///         .collect();
///     let (total, rows) = anyloop::monitor::tasks_head(3);
///     assert_eq!(total, 11); // main and the ten sleepers
///     assert_eq!(rows.len(), 3);
///     assert_eq!(rows[0].name.as_deref(), Some("main"));
///     assert!(rows.windows(2).all(|w| w[0].id < w[1].id));
///     anyloop::gather(sleepers).await;
/// });
/// ```
pub fn tasks_head(limit: usize) -> (usize, Vec<TaskRow>) {
    let mut all = all_tasks();
    let total = all.len();
    if limit < total {
        all.select_nth_unstable_by_key(limit, |t| t.id());
        all.truncate(limit);
    }
    let mut rows: Vec<TaskRow> = all
        .iter()
        .map(|t| {
            let stats = debug::task_stats(t);
            TaskRow {
                id: t.id(),
                name: t.name().map(String::from),
                state: t.state(),
                age: stats.map(|s| s.age()),
                polls: stats.map_or(0, |s| s.polls()),
                busy: stats.map_or(Duration::ZERO, |s| s.busy()),
                spawned_at: t.spawned_at(),
            }
        })
        .collect();
    rows.sort_by_key(|r| r.id);
    (total, rows)
}

/// The lowercase name `ps` and the www panel show for a state
/// (`scheduled`, `running`, `waiting`, `done`, `cancelled`, `failed`).
///
/// # Examples
///
/// ```
/// assert_eq!(anyloop::monitor::state_name(anyloop::TaskState::Waiting), "waiting");
/// ```
pub fn state_name(s: TaskState) -> &'static str {
    match s {
        TaskState::Scheduled => "scheduled",
        TaskState::Running => "running",
        TaskState::Waiting => "waiting",
        TaskState::Done => "done",
        TaskState::Cancelled => "cancelled",
        _ => "failed",
    }
}

fn find(id: &str) -> Result<TaskRef, String> {
    let id: u64 = id
        .trim()
        .parse()
        .map_err(|_| format!("not a task id: {id:?} (see `ps`)"))?;
    all_tasks()
        .into_iter()
        .find(|t| t.id().as_u64() == id)
        .ok_or_else(|| format!("no task {id} (it may have finished; see `ps`)"))
}

fn ps() -> String {
    let rows = tasks();
    // The name column is as wide as the longest name: a long one
    // (`anyloop::net::Server connection`) shifts no other column.
    let width = rows
        .iter()
        .map(|r| r.name.as_deref().map_or(1, |n| n.chars().count()))
        .fold(20, usize::max);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>5}  {:<width$}  {:<9} {:>6} {:>8} {:>8}  SPAWNED AT",
        "ID", "NAME", "STATE", "AGE", "POLLS", "BUSY",
    );
    for r in rows {
        let age = r
            .age
            .map_or_else(|| "-".to_string(), |a| format!("{:.1}s", a.as_secs_f64()));
        let _ = writeln!(
            out,
            "{:>5}  {:<width$}  {:<9} {:>6} {:>8} {:>6.1}ms  {}",
            r.id.as_u64(),
            r.name.as_deref().unwrap_or("-"),
            state_name(r.state),
            age,
            r.polls,
            r.busy.as_secs_f64() * 1e3,
            r.spawned_at,
        );
    }
    out
}

fn stats() -> String {
    let Some(s) = debug::loop_stats() else {
        return "no loop is running\n".into();
    };
    #[cfg(not(target_family = "wasm"))]
    let (io, (threads, idle)) = (
        anyloop_native::io_sources(),
        anyloop_native::blocking::pool_threads(),
    );
    #[cfg(target_family = "wasm")]
    let (io, (threads, idle)) = (0, (0, 0));
    format!(
        "iterations {}\nready {}\ntimers {}\ntasks {}\nio_sources {io}\nblocking_threads {threads} ({idle} idle)\n",
        s.iterations, s.ready, s.timers, s.tasks
    )
}

const HELP: &str = "\
ps          every task: id, name, state, age, polls, time in poll, spawn location
where ID    the task's call graph (who awaits it) and where it was spawned
cancel ID   cancel the task
stats       loop iterations, ready tasks, timers, tasks, I/O sources, blocking threads
help        this text
quit        close the connection
";

/// The answer to one monitor command line (`ps`, `where ID`, `cancel ID`,
/// `stats`, `help`), as the console prints it; runs on the current loop.
///
/// # Examples
///
/// ```
/// anyloop::run(async {
///     let out = anyloop::monitor::execute("ps");
///     assert!(out.contains("main"));
///     assert!(anyloop::monitor::execute("frobnicate").starts_with("unknown command"));
/// });
/// ```
pub fn execute(line: &str) -> String {
    let line = line.trim();
    let (cmd, arg) = line.split_once(' ').unwrap_or((line, ""));
    match cmd {
        "" => String::new(),
        "ps" => ps(),
        "stats" => stats(),
        "help" | "?" => HELP.into(),
        "where" => match find(arg) {
            Ok(t) => format!("{}spawned at {}\n", CallGraph::of(&t), t.spawned_at()),
            Err(e) => e + "\n",
        },
        "cancel" => match find(arg) {
            Ok(t) => {
                let name = t.name().map(|n| format!(" ({n})")).unwrap_or_default();
                if t.cancel_with("cancelled from the monitor") {
                    format!("cancelled task {}{name}\n", t.id())
                } else {
                    format!("task {}{name} has already finished\n", t.id())
                }
            }
            Err(e) => e + "\n",
        },
        other => format!("unknown command {other:?}; `help` lists the commands\n"),
    }
}

/// Serves one console connection.
async fn session(mut r: StreamReader, w: StreamWriter) -> io::Result<()> {
    w.write(
        format!(
            "anyloop monitor on the {} host; `help` lists the commands\n{PROMPT}",
            crate::capabilities().host
        )
        .as_bytes(),
    );
    w.drain().await?;
    loop {
        let line = r.readline().await?;
        if line.is_empty() {
            break; // EOF
        }
        let line = String::from_utf8_lossy(&line);
        if matches!(line.trim(), "quit" | "exit") {
            break;
        }
        let mut out = execute(&line);
        out.push_str(PROMPT);
        w.write(out.as_bytes());
        w.drain().await?;
    }
    w.close();
    w.wait_closed().await
}

/// Starts the monitor server on the running loop and returns at once:
/// `addr` is `"HOST:PORT"` (serve on 127.0.0.1 unless you mean to expose
/// the program: the console can cancel tasks) or `"unix:PATH"` for a Unix
/// domain socket. Port 0 picks a free port ([`Server::local_addr`]).
/// Close the returned [`Server`] to stop it; it stops with the loop.
///
/// # Errors
///
/// - `Unsupported` on WASI and in the browser (no socket server there;
///   use [`tasks`] / [`execute`] in process, as the www demo's task panel does);
/// - `InvalidInput` for an address that is neither `HOST:PORT` nor `unix:PATH`;
/// - the OS error of `bind`.
///
/// # Examples
///
/// ```
/// anyloop::run(async {
///     let server = anyloop::monitor::serve("127.0.0.1:0").await?;
///     let port = server.local_addr()?.port();
///     let (mut r, w) = anyloop::net::open_connection("127.0.0.1", port).await?;
///     r.readuntil(anyloop::monitor::PROMPT.as_bytes()).await?; // greeting
///     w.write(b"ps\n");
///     let ps = r.readuntil(anyloop::monitor::PROMPT.as_bytes()).await?;
///     assert!(String::from_utf8_lossy(&ps).contains("main"));
///     server.close();
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub async fn serve(addr: &str) -> io::Result<Server> {
    let caps = crate::capabilities();
    if cfg!(target_family = "wasm") {
        return Err(anyloop_core::unsupported(
            "anyloop::monitor::serve (a socket server)",
            caps.host,
            "; use anyloop::monitor::tasks / execute in process",
        ));
    }
    let guard = Rc::new(debug::collect_task_stats());
    let handler = move |r: StreamReader, w: StreamWriter| {
        // Statistics stay on while the server or a connection lives.
        let stats = guard.clone();
        async move {
            let _stats = stats;
            session(r, w).await
        }
    };
    if let Some(path) = addr.strip_prefix("unix:") {
        return crate::net::start_unix_server(handler, path).await;
    }
    let bad = |why: String| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("anyloop::monitor::serve: {why}"),
        )
    };
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| bad(format!("{addr:?} is neither HOST:PORT nor unix:PATH")))?;
    let port = port
        .parse::<u16>()
        .map_err(|e| bad(format!("bad port {port:?} in {addr:?}: {e}")))?;
    crate::net::start_server(handler, host.trim_matches(['[', ']']), port).await
}
