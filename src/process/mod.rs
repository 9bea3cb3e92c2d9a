//! Subprocesses with asyncio's API (`create_subprocess_exec`,
//! `create_subprocess_shell`, `communicate`, `returncode`) in the shape of
//! `std::process`: [`Command`], [`Process`], [`Stdio`].
//!
//! A child's pipes are the streams chapter's [`StreamWriter`] (stdin) and
//! [`StreamReader`] (stdout, stderr): `readline`, `readuntil`, limits and
//! `drain` work on them as on sockets.
//!
//! # Examples
//!
//! ```
//! use anyloop::process::{Command, Stdio};
//!
//! anyloop::run(async {
//! # if !anyloop::capabilities().subprocess || cfg!(windows) { return Ok(()) } // Unix tools
//!     // asyncio: await create_subprocess_exec("echo", "hi", stdout=PIPE)
//!     let mut p = Command::new("echo").arg("hello").stdout(Stdio::piped()).spawn()?;
//!     let mut out = p.stdout.take().unwrap();
//!     assert_eq!(out.readline().await?, b"hello\n");
//!     assert!(p.wait().await?.success());
//!
//!     // communicate: stdin written while stdout and stderr are read.
//!     let out = Command::shell("tr a-z A-Z; echo done >&2")
//!         .stdin(Stdio::piped())
//!         .stdout(Stdio::piped())
//!         .stderr(Stdio::piped())
//!         .spawn()?
//!         .communicate(b"shout")
//!         .await?;
//!     assert_eq!(out.stdout, b"SHOUT");
//!     assert_eq!(out.stderr, b"done\n");
//!     assert_eq!(out.status.code(), Some(0));
//!     std::io::Result::Ok(())
//! })
//! .unwrap();
//! ```
//!
//! # asyncio → anyloop
//!
//! | asyncio | anyloop |
//! |---|---|
//! | `await create_subprocess_exec(prog, *args, stdin=PIPE, ...)` | [`Command::new`]`(prog).args(..).stdin(`[`Stdio::piped`]`()).spawn()` |
//! | `await create_subprocess_shell(cmd, ...)` | [`Command::shell`]`(cmd)....spawn()` |
//! | `PIPE`, `DEVNULL`, `STDOUT`, `None` | [`Stdio::piped`], [`Stdio::null`], [`Stdio::stdout`] (stderr only), [`Stdio::inherit`] |
//! | `limit=` | [`Command::limit`] |
//! | `proc.pid`, `proc.returncode` | [`Process::id`], [`Process::returncode`] |
//! | `await proc.wait()` | [`Process::wait`] |
//! | `await proc.communicate(input)` | [`Process::communicate`] → [`Output`] |
//! | `proc.send_signal(sig)`, `terminate()`, `kill()` | [`Process::send_signal`], [`Process::terminate`], [`Process::kill`] |
//! | `proc.stdin`, `proc.stdout`, `proc.stderr` | [`Process::stdin`] ([`StreamWriter`]), [`Process::stdout`], [`Process::stderr`] ([`StreamReader`]) |
//! | `subprocess.run(..., capture_output=True)` | [`Command::output`] |
//! | `await loop.subprocess_exec(factory, prog, *args)`, `loop.subprocess_shell(factory, cmd)` | [`subprocess_exec`]`(factory, &mut Command::new(prog))`, [`subprocess_shell`]`(factory, cmd)` → [`SubprocessTransport`] |
//! | `SubprocessProtocol.pipe_data_received(fd, data)`, `pipe_connection_lost`, `process_exited` | [`SubprocessProtocol`]'s methods of the same names |
//! | `transport.get_pipe_transport(fd)`, `get_pid()`, `get_returncode()`, `close()` | [`SubprocessTransport::pipe_transport`], [`SubprocessTransport::pid`], [`SubprocessTransport::returncode`], [`SubprocessTransport::close`] |
//!
//! # Transports and protocols
//!
//! asyncio's callback style is here too: [`subprocess_exec`] and
//! [`subprocess_shell`] start a child and drive a [`SubprocessProtocol`]
//! (`pipe_data_received(fd, data)`, `pipe_connection_lost`,
//! `process_exited`, `connection_lost` last) with a
//! [`SubprocessTransport`] whose pipes are `anyloop::net`
//! [`Transport`](crate::net::Transport)s (write buffer, water marks,
//! `pause_reading`). One task per pipe drives it with the same code as a
//! socket's; the protocol is shared by them (and the exit watcher) in a
//! `RefCell` that no callback can re-enter, since transport methods only
//! set flags and wake a task.
//!
//! # Hosts
//!
//! Native Unix and Windows ([`capabilities`](crate::capabilities)`().subprocess`);
//! on WASI (preview 1 and 0.2: a component cannot start another program)
//! and the web every spawn returns `io::ErrorKind::Unsupported` naming the
//! feature and the host (`"subprocesses (anyloop::process) is not supported
//! on wasip2"`); `tests/process.rs` proves it on each host. (The examples
//! in these docs run Unix tools; on Windows they return early.)
//!
//! On Windows: [`Command::shell`] runs `cmd.exe /c`; [`Process::kill`]
//! and [`Process::terminate`] end the child with `TerminateProcess` (exit
//! code 1, as Python's `kill()` and `terminate()` there: no signal exit);
//! `send_signal(SIGINT)` and `send_signal(SIGBREAK)` send the console's
//! Ctrl-C / Ctrl-Break to a child started in its own process group
//! (`CREATE_NEW_PROCESS_GROUP`, as Python's `send_signal(CTRL_BREAK_EVENT)`);
//! other signals are `Unsupported`.
//!
//! # Implementation
//!
//! On Linux with glibc the native backend spawns with one `clone` of its
//! own (see [Design decisions](#design-decisions)), elsewhere
//! `std::process::Command` does (posix_spawn or fork/exec); the parent's
//! pipe ends are made non-blocking and registered with the loop. The exit
//! is noticed without a thread per child: a `waitid` in the thread's
//! io_uring on Linux 6.7+ (glibc), a pidfd on Linux 5.3+, kqueue's
//! `EVFILT_PROC` filter on macOS and the BSDs, otherwise `SIGCHLD` (see
//! the `anyloop-native` crate's `process` module). A [`Process`] dropped
//! before its child exited hands the pid to a reaper that a `SIGCHLD`
//! handler runs, so no zombie is ever left behind.
//!
//! Windows: the child's process handle is a waitable registered with the
//! loop's completion port (`polling`'s `add_waitable`, i.e.
//! `RegisterWaitForSingleObject`): no thread of ours per child. std's
//! pipes to a child are synchronous handles, which IOCP's AFD polling
//! cannot watch, so every read and write runs on the blocking pool (as
//! async-process does); a read in flight holds a pool thread until the
//! child writes or closes the pipe.
//!
//! Tested on Linux by `cargo xtask test` (pidfd and the forced `SIGCHLD`
//! route) and for Windows under Wine (`--host windows`); the kqueue route
//! is compiled and linted for FreeBSD (`x86_64-unknown-freebsd`) here and
//! runs the same suite on macOS/BSD.
//!
//! # Design decisions
//!
//! - **std's builder underneath.** [`Command`] wraps
//!   `std::process::Command`, so the rules are std's (close-on-exec
//!   everywhere, the same error for a missing program, the same `PATH`
//!   search), whether std or the backend's own `clone` spawns; a std
//!   `Stdio` or `File` converts into [`Stdio`].
//! - **Pipes are streams.** A child's pipes are the streams chapter's
//!   [`StreamReader`] / [`StreamWriter`], as in asyncio (`proc.stdout` is
//!   a `StreamReader` there too): `readline`, limits and `drain` work
//!   unchanged, and `communicate` is written once on top of them.
//! - **No thread per child, no zombie.** The loop's own poller reports the
//!   exit (pidfd, kqueue) or a `SIGCHLD` subscription does; an orphan is
//!   reaped from the `SIGCHLD` handler itself (only atomics and
//!   `waitpid(WNOHANG)`, async-signal-safe), so it is reaped when it
//!   exits even if no loop runs any more. tokio instead reaps orphans at
//!   the next spawn or signal; async-process uses a thread.
//! - **A `PATH` of the command's own is searched by anyloop** (Unix).
//!   std spawns with `posix_spawn` (one `clone(CLONE_VM | CLONE_VFORK)`)
//!   unless a bare program name must be searched in a `PATH` the command
//!   sets (`env("PATH", ..)`, also after `env_clear`): then it forks
//!   (copying the parent's page tables) and the child runs `execvp`.
//!   anyloop looks the name up in that `PATH` itself with `execvp`'s rules
//!   (entries in order; skipped: nothing there, not a directory, no
//!   search permission, not a regular file with an execute bit) and
//!   spawns the file found, argv\[0\] unchanged, so std keeps
//!   `posix_spawn`. What it cannot decide without exec'ing is left to
//!   std's own search: an empty or relative entry (the child's
//!   directory), an unusual error, no match, and a match the kernel then
//!   refuses (permission, `ENOEXEC`: glibc's `execvp` runs such a file
//!   with `/bin/sh`). Bench `spawn_path` (`--cpu`): 83.5 ms per 1,000
//!   vs tokio's 186.8 (0.45×). An inherited `PATH` is left to std's
//!   `posix_spawnp`: looking it up in the parent would only move the
//!   child's failed `execve`s (one per `PATH` entry before the match,
//!   while the parent waits in `vfork`) into the parent as `stat`s, and
//!   a cache of the results would miss a program installed later in an
//!   earlier directory, which `execvp` finds.
//! - **A spawn of our own on Linux (glibc).** What std would start with
//!   `posix_spawn` (a program path, or a bare name searched in the
//!   inherited `PATH`; stdio inherited, null, piped or `2>&1`) is started
//!   by one `clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD)` on a stack the
//!   thread keeps. Per child the parent makes 8 syscalls
//!   (`rt_sigprocmask` ×2, `clone`, `epoll_ctl` add and delete,
//!   `epoll_wait`, `wait4`, `close`) where tokio::process makes 11 (std's
//!   `posix_spawn` adds an `mmap` and `munmap` of a fresh child stack —
//!   the unmap is a TLB shootdown, ~8% of the parent's CPU — and the
//!   pidfd needs its own `pidfd_open`). The child does what glibc's
//!   `posix_spawn` child does for std (handlers back to the default,
//!   `SIGPIPE` to the default, the `dup2`s, `chdir`, an empty signal mask,
//!   `execve`, for a bare name once per `PATH` entry by `execvpe`'s rules)
//!   and leaves the errno of a failure where the parent reads it, so
//!   `spawn` reports `NotFound` & co. as std does. A custom std `Stdio`, a
//!   `PATH` of the command's own that anyloop cannot resolve, a NUL in a
//!   string, or a kernel/seccomp filter refusing `clone` go to std's
//!   `spawn`; a kernel without `CLONE_PIDFD` (before 5.2) ignores the
//!   flag and the child is waited for through `SIGCHLD`. Bench `--cpu`:
//!   `spawn_seq` 0.95× → 0.84× tokio's time, `spawn_par` 1.02× → 0.85×.
//! - **Exits through io_uring, not a pidfd per child** (Linux 6.7+,
//!   glibc, children of that `clone`). The parent's CPU per spawn-and-wait
//!   is mostly the kernel's: medians of 7-11 interleaved rounds, per
//!   1,000 `true`s (load ~6): tokio 105.7 ms; the bare syscalls with no
//!   loop and no API, blocking `clone` + `wait4` 60.4 (0.57×), with a
//!   pidfd in epoll (`clone` + pidfd, `epoll_ctl` add, `epoll_wait`,
//!   `wait4`, `epoll_ctl` delete, `close`) 76.9 (0.73×), with a `waitid`
//!   in an io_uring whose eventfd is in epoll 67.8 (0.64×). The pidfd
//!   (a file made and released per child, its two `epoll_ctl`s) alone put
//!   0.7× out of reach, so the thread keeps a ring
//!   (`IORING_SETUP_DEFER_TASKRUN`: a child is reaped only inside our own
//!   `io_uring_enter`, so a pid whose status we do not know is still
//!   ours). Per child the parent makes 6 syscalls (`rt_sigprocmask` ×2,
//!   `clone`, `io_uring_enter` to submit, `epoll_wait`, `io_uring_enter`
//!   to complete; the eventfd is muted while we complete, so the
//!   completions do not signal it again) and allocates nothing for the
//!   wait (slots are reused). A dropped, still-running child's `waitid`
//!   is cancelled and the child goes to the reaper as before. Where the
//!   ring cannot be had (no io_uring, a seccomp filter, an older kernel)
//!   the pidfd route stays. Bench `--cpu` (load 4-6): `spawn_seq` 0.83× →
//!   0.73× tokio's time, `spawn_par` 0.84× → 0.75×; in an interleaved
//!   run with the floors above, anyloop 0.69× against the 0.64× of the
//!   bare io_uring syscalls: what is left above them is the builder, the
//!   loop and the waker (~10% of the parent's CPU) and the two
//!   `rt_sigprocmask`s. Wall time cannot approach 0.7×: the child's own
//!   CPU (exec, dynamic loading, exit: ~1 ms per `true` here) is ~10× the
//!   parent's and the same for every runtime.
//! - **Pipes grow when they fill** (Linux). A child's pipe starts at the
//!   kernel's 64 KiB and grows to 1 MiB (`F_SETPIPE_SZ`) the first time
//!   it is found full (a read that empties a whole 64 KiB, a short
//!   write), as Python's `Popen(pipesize=)` allows by hand: a bulk
//!   transfer then costs fewer wake-ups on both sides (`cat` pipe bench:
//!   `epoll_wait`s per 512 MiB 6,773 → 503, ~10% more MB per CPU second)
//!   and a pipe that carries a few lines costs no extra syscall. At most
//!   16 pipes of a process are grown at once (16 MiB of the 64 MiB
//!   `pipe-user-pages-soft` quota beyond which Linux gives every new pipe
//!   of the user 8 KiB); a refusal leaves the pipe as it was.
//! - **Dropping is not killing** (asyncio, std): a dropped [`Process`]
//!   keeps running unless [`Command::kill_on_drop`] asked otherwise.
//! - **Windows pipes on the blocking pool, not overlapped I/O.** Making
//!   the parent's ends overlapped named pipes and completing reads on the
//!   loop's IOCP would save the thread hand-off per 64 KiB chunk, but
//!   `polling` owns that port and has no API for file completions; the
//!   pool costs one hand-off per chunk (measured in the README).
//! - **Capabilities tell the truth.** `capabilities().subprocess` is true
//!   on Unix and Windows; elsewhere the same API compiles and every spawn
//!   returns `Unsupported` naming the feature and the host.

#[cfg(not(target_family = "wasm"))]
use crate::backend::process as sys;
#[cfg(target_family = "wasm")]
mod unsupported;
#[cfg(target_family = "wasm")]
use unsupported as sys;

mod protocol;

pub use protocol::{subprocess_exec, subprocess_shell, SubprocessProtocol, SubprocessTransport};

use std::ffi::OsStr;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::path::Path;

use crate::net::{StreamReader, StreamWriter, DEFAULT_LIMIT};

/// What to connect to a child's stdin, stdout or stderr (asyncio's `PIPE`,
/// `DEVNULL`, `STDOUT`, `None`).
///
/// # Examples
///
/// ```
/// use anyloop::process::{Command, Stdio};
/// let mut cmd = Command::new("ls");
/// cmd.stdout(Stdio::piped()).stderr(Stdio::stdout());
/// ```
#[derive(Debug)]
pub struct Stdio(StdioKind);

#[derive(Debug)]
enum StdioKind {
    Inherit,
    Null,
    Piped,
    Stdout,
    Std(std::process::Stdio),
}

impl Stdio {
    /// A new pipe: the parent's end appears as [`Process::stdin`],
    /// [`Process::stdout`] or [`Process::stderr`] (asyncio's `PIPE`).
    #[doc(alias = "PIPE")]
    pub fn piped() -> Stdio {
        Stdio(StdioKind::Piped)
    }

    /// The parent's own stream (asyncio's `None`, the default of
    /// [`Command::spawn`] and [`Command::status`]).
    pub fn inherit() -> Stdio {
        Stdio(StdioKind::Inherit)
    }

    /// `/dev/null` (asyncio's `DEVNULL`).
    #[doc(alias = "DEVNULL")]
    pub fn null() -> Stdio {
        Stdio(StdioKind::Null)
    }

    /// For stderr only: the same destination as stdout (asyncio's
    /// `stderr=STDOUT`, the shell's `2>&1`). With a piped stdout both
    /// streams arrive, interleaved, on [`Process::stdout`].
    #[doc(alias = "STDOUT")]
    pub fn stdout() -> Stdio {
        Stdio(StdioKind::Stdout)
    }
}

impl From<std::process::Stdio> for Stdio {
    /// Any destination std supports (a `File`, an `OwnedFd`, ...).
    fn from(s: std::process::Stdio) -> Stdio {
        Stdio(StdioKind::Std(s))
    }
}

impl From<std::fs::File> for Stdio {
    fn from(f: std::fs::File) -> Stdio {
        Stdio(StdioKind::Std(f.into()))
    }
}

/// How a child process ended.
///
/// # Examples
///
/// ```
/// # anyloop::run(async {
/// # if !anyloop::capabilities().subprocess || cfg!(windows) { return Ok(()) } // Unix tools
/// let status = anyloop::process::Command::shell("exit 3").status().await?;
/// assert_eq!(status.code(), Some(3));
/// assert_eq!(status.returncode(), 3);
/// assert!(!status.success());
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExitStatus {
    code: Option<i32>,
    signal: Option<i32>,
}

impl ExitStatus {
    /// Exited with code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The exit code, if the child exited (rather than being killed).
    pub fn code(&self) -> Option<i32> {
        self.code
    }

    /// The signal that killed the child, if one did.
    pub fn signal(&self) -> Option<i32> {
        self.signal
    }

    /// asyncio's `returncode`: the exit code, or `-N` if signal `N`
    /// killed the child.
    pub fn returncode(&self) -> i32 {
        match (self.code, self.signal) {
            (Some(c), _) => c,
            (None, Some(s)) => -s,
            (None, None) => i32::MIN,
        }
    }

    fn from_std(s: std::process::ExitStatus) -> ExitStatus {
        #[cfg(unix)]
        let signal = std::os::unix::process::ExitStatusExt::signal(&s);
        #[cfg(not(unix))]
        let signal = None;
        ExitStatus {
            code: s.code(),
            signal,
        }
    }
}

impl fmt::Debug for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code, self.signal) {
            (Some(c), _) => write!(f, "exit status: {c}"),
            (None, Some(s)) => match crate::signal::name(s) {
                Some(name) => write!(f, "signal: {s} ({name})"),
                None => write!(f, "signal: {s}"),
            },
            (None, None) => f.write_str("unknown exit status"),
        }
    }
}

/// What a finished child produced: [`Command::output`],
/// [`Process::communicate`].
#[derive(Clone, PartialEq, Eq)]
pub struct Output {
    /// How it ended.
    pub status: ExitStatus,
    /// Everything it wrote to stdout (empty if stdout was not piped).
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr (empty if stderr was not piped).
    pub stderr: Vec<u8>,
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Output")
            .field("status", &self.status)
            .field("stdout", &String::from_utf8_lossy(&self.stdout))
            .field("stderr", &String::from_utf8_lossy(&self.stderr))
            .finish()
    }
}

/// A child process builder in std's shape (asyncio's
/// `create_subprocess_exec` / `create_subprocess_shell` arguments).
///
/// # Examples
///
/// ```
/// use anyloop::process::{Command, Stdio};
///
/// # anyloop::run(async {
/// # if !anyloop::capabilities().subprocess || cfg!(windows) { return Ok(()) } // Unix tools
/// let out = Command::new("sh")
///     .args(["-c", "echo $GREETING from $(pwd)"])
///     .env("GREETING", "hi")
///     .current_dir("/")
///     .output()
///     .await?;
/// assert_eq!(out.stdout, b"hi from /\n");
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct Command {
    inner: std::process::Command,
    stdin: Option<Kind>,
    stdout: Option<Kind>,
    stderr: Option<Kind>,
    kill_on_drop: bool,
    limit: usize,
    /// [`env_clear`](Self::env_clear) was called (std has no getter).
    env_cleared: bool,
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl Command {
    /// A command running `program` (looked up in `PATH` unless it contains
    /// a `/`), with no arguments, the parent's environment and directory,
    /// and inherited stdio.
    #[doc(alias = "create_subprocess_exec")]
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command {
            inner: std::process::Command::new(program),
            stdin: None,
            stdout: None,
            stderr: None,
            kill_on_drop: false,
            limit: DEFAULT_LIMIT,
            env_cleared: false,
        }
    }

    /// A command running `cmdline` through the shell, `/bin/sh -c
    /// cmdline` (asyncio's `create_subprocess_shell`); on Windows
    /// `%COMSPEC% /c cmdline` (`cmd.exe`), with `cmdline` passed as is, as
    /// Python does. The shell parses it: quote anything that comes from
    /// outside.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// # if !anyloop::capabilities().subprocess || cfg!(windows) { return Ok(()) } // Unix tools
    /// let out = anyloop::process::Command::shell("echo one two | wc -w").output().await?;
    /// assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2");
    /// # std::io::Result::Ok(()) }).unwrap();
    /// ```
    #[doc(alias = "create_subprocess_shell")]
    pub fn shell(cmdline: impl AsRef<OsStr>) -> Command {
        #[cfg(windows)]
        {
            use std::os::windows::process::CommandExt;
            let comspec = std::env::var_os("COMSPEC").unwrap_or_else(|| "cmd.exe".into());
            let mut cmd = Command::new(comspec);
            cmd.arg("/c");
            cmd.inner.raw_arg(cmdline);
            cmd
        }
        #[cfg(not(windows))]
        {
            let mut cmd = Command::new("/bin/sh");
            cmd.arg("-c").arg(cmdline);
            cmd
        }
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.inner.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.inner.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Command {
        self.inner.env(key, val);
        self
    }

    /// Sets several environment variables.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.inner.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.inner.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus what [`env`](Self::env) adds).
    pub fn env_clear(&mut self) -> &mut Command {
        self.inner.env_clear();
        self.env_cleared = true;
        self
    }

    /// The child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.inner.current_dir(dir);
        self
    }

    /// The child's stdin (default: inherited; [`output`](Self::output):
    /// `/dev/null`).
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.stdin = Some(self.choose(cfg.into(), std::process::Command::stdin));
        self
    }

    /// The child's stdout (default: inherited; [`output`](Self::output):
    /// piped).
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.stdout = Some(self.choose(cfg.into(), std::process::Command::stdout));
        self
    }

    /// The child's stderr (default: inherited; [`output`](Self::output):
    /// piped). [`Stdio::stdout`] sends it where stdout goes.
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.stderr = Some(self.choose(cfg.into(), std::process::Command::stderr));
        self
    }

    /// Remembers `cfg`; a custom std `Stdio` goes into the std command
    /// through `set` at once.
    fn choose(&mut self, cfg: Stdio, set: SetStdio) -> Kind {
        match cfg.0 {
            StdioKind::Std(s) => {
                set(&mut self.inner, s);
                Kind::Custom
            }
            k => Kind::of(k),
        }
    }

    /// Kill the child (`SIGKILL`; Windows: `TerminateProcess`) if its
    /// [`Process`] is dropped while it runs (default: false, the child
    /// goes on and is reaped when it exits).
    pub fn kill_on_drop(&mut self, kill: bool) -> &mut Command {
        self.kill_on_drop = kill;
        self
    }

    /// The [`StreamReader`] limit of the stdout/stderr pipes (asyncio's
    /// `limit=`, default 64 KiB).
    pub fn limit(&mut self, limit: usize) -> &mut Command {
        self.limit = limit;
        self
    }

    /// The program this command runs.
    pub fn get_program(&self) -> &OsStr {
        self.inner.get_program()
    }

    /// Starts the child (asyncio's `create_subprocess_exec`). The command
    /// can be spawned again.
    ///
    /// # Errors
    ///
    /// - `Unsupported` on hosts without subprocesses (WASI, web);
    /// - `NotFound`, `PermissionDenied`, ... from the OS, with the program
    ///   named in the message;
    /// - `InvalidInput` for [`Stdio::stdout`] given as stdin or stdout, or
    ///   as stderr while stdout is a custom `std::process::Stdio`.
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// # if !anyloop::capabilities().subprocess || cfg!(windows) { return Ok(()) } // Unix tools
    /// let err = anyloop::process::Command::new("no-such-program-here").spawn().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// assert!(err.to_string().contains("no-such-program-here"));
    /// # std::io::Result::Ok(()) }).unwrap();
    /// ```
    pub fn spawn(&mut self) -> io::Result<Process> {
        self.spawn_with(Kind::Inherit, Kind::Inherit)
    }

    /// Runs the child to completion with stdout and stderr captured (and
    /// stdin from `/dev/null`, unless configured otherwise): std's
    /// `output`, Python's `subprocess.run(capture_output=True)`.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Self::spawn), and the errors of reading the pipes.
    #[doc(alias = "capture_output")]
    #[doc(alias = "check_output")]
    pub async fn output(&mut self) -> io::Result<Output> {
        let mut p = self.spawn_with(Kind::Null, Kind::Piped)?;
        p.communicate(b"").await
    }

    /// Runs the child to completion with inherited stdio (unless
    /// configured otherwise) and returns how it ended.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Self::spawn).
    ///
    /// # Examples
    ///
    /// See [`ExitStatus`].
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        let mut p = self.spawn_with(Kind::Inherit, Kind::Inherit)?;
        // Pipes the caller asked for are of no use here: close them so
        // the child does not block on them.
        p.stdin = None;
        p.stdout = None;
        p.stderr = None;
        p.wait().await
    }

    fn spawn_with(&mut self, din: Kind, dout: Kind) -> io::Result<Process> {
        let (child, pipes) = self.spawn_raw(din, dout)?;
        let limit = self.limit;
        Ok(Process {
            child,
            stdin: pipes.stdin.map(StreamWriter::new),
            stdout: pipes.stdout.map(|r| StreamReader::with_limit(r, limit)),
            stderr: pipes.stderr.map(|r| StreamReader::with_limit(r, limit)),
        })
    }

    /// Spawns with `din` for an unset stdin and `dout` for unset stdout
    /// and stderr; a merged stderr comes back as the stdout pipe.
    fn spawn_raw(&mut self, din: Kind, dout: Kind) -> io::Result<(sys::Child, sys::Pipes)> {
        if !crate::capabilities().subprocess {
            return Err(crate::capabilities().unsupported("subprocesses (anyloop::process)"));
        }
        let stdin = self.stdin.unwrap_or(din);
        let stdout = self.stdout.unwrap_or(dout);
        let stderr = self.stderr.unwrap_or(dout);
        if stdin == Kind::Stdout || stdout == Kind::Stdout {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Stdio::stdout() is only valid for stderr (asyncio's stderr=STDOUT)",
            ));
        }
        let stdio = [stdin, stdout, stderr];
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        if let Some(spawned) = self.spawn_cloned(stdio) {
            return spawned;
        }
        #[cfg(all(unix, not(target_family = "wasm")))]
        if let Some(mut found) = self.found_in_own_path(stdio) {
            // Refused by the kernel (see `lookup_program`): std's own
            // search below decides what runs, or which error is reported.
            if let Ok(spawned) = spawn_configured(&mut found, stdio, self.kill_on_drop) {
                return Ok(spawned);
            }
        }
        spawn_configured(&mut self.inner, stdio, self.kill_on_drop)
    }

    /// For a bare program name and a `PATH` of the command's own: a std
    /// command running the program found in that `PATH` (argv\[0\]
    /// unchanged), so std spawns it with `posix_spawn` rather than
    /// `fork` + `execvp` (see [Design decisions](self#design-decisions)).
    /// `None` when std would use `posix_spawn` anyway, or cannot here.
    #[cfg(all(unix, not(target_family = "wasm")))]
    fn found_in_own_path(&self, stdio: [Kind; 3]) -> Option<std::process::Command> {
        use std::os::unix::process::CommandExt;
        // A custom std `Stdio` lives in `self.inner` and cannot be moved.
        if stdio.contains(&Kind::Custom) {
            return None;
        }
        let program = self.inner.get_program();
        let exe = self.own_path_exe()?;
        let mut cmd = std::process::Command::new(exe);
        cmd.arg0(program).args(self.inner.get_args());
        if self.env_cleared {
            cmd.env_clear();
        }
        for (k, v) in self.inner.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        if let Some(dir) = self.inner.get_current_dir() {
            cmd.current_dir(dir);
        }
        Some(cmd)
    }
}

impl Command {
    /// For a bare program name and a `PATH` set on the command: where
    /// `execvp` would find it, if that can be told without exec'ing (see
    /// `lookup_program`). An inherited `PATH` is searched by the spawn
    /// itself (`posix_spawnp`); a removed one means execvp's built-in
    /// default.
    #[cfg(all(unix, not(target_family = "wasm")))]
    fn own_path_exe(&self) -> Option<std::path::PathBuf> {
        let path = self
            .inner
            .get_envs()
            .find(|(k, _)| *k == OsStr::new("PATH"))?
            .1?;
        sys::lookup_program(self.inner.get_program(), path)
    }

    /// Spawns through the native backend's own `clone` (Linux, glibc; see
    /// [Design decisions](self#design-decisions)); `None` where that
    /// route does not apply (a custom std `Stdio`, a bare name in a `PATH`
    /// of the command's own that anyloop cannot resolve, ...): std spawns.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn spawn_cloned(&mut self, stdio: [Kind; 3]) -> Option<io::Result<(sys::Child, sys::Pipes)>> {
        use sys::ChildStdio;
        let to_child = |k: Kind| match k {
            Kind::Inherit => Some(ChildStdio::Inherit),
            Kind::Null => Some(ChildStdio::Null),
            Kind::Piped => Some(ChildStdio::Piped),
            Kind::Stdout => Some(ChildStdio::Stdout),
            // Lives in `self.inner`, opaque.
            Kind::Custom => None,
        };
        let child_stdio = [
            to_child(stdio[0])?,
            to_child(stdio[1])?,
            to_child(stdio[2])?,
        ];
        let exe = self.own_path_exe();
        let res = sys::spawn_cloned(
            &self.inner,
            exe.as_deref(),
            self.env_cleared,
            child_stdio,
            self.kill_on_drop,
        )?;
        Some(match res {
            // The file found in the command's `PATH` was refused by the
            // kernel (see `lookup_program`): std's own search decides what
            // runs, or which error is reported.
            Err(_) if exe.is_some() => spawn_configured(&mut self.inner, stdio, self.kill_on_drop),
            res => res.map_err(|e| named(e, self.inner.get_program())),
        })
    }
}

/// `e`, its message naming `program`.
fn named(e: io::Error, program: &OsStr) -> io::Error {
    io::Error::new(e.kind(), format!("cannot run {program:?}: {e}"))
}

/// Sets `stdio` (stdin, stdout, stderr; [`Kind::Custom`] ones are set
/// already) on `cmd` and spawns it; a merged stderr comes back as the
/// stdout pipe.
fn spawn_configured(
    cmd: &mut std::process::Command,
    [stdin, stdout, stderr]: [Kind; 3],
    kill_on_drop: bool,
) -> io::Result<(sys::Child, sys::Pipes)> {
    stdin.apply(cmd, std::process::Command::stdin);
    stdout.apply(cmd, std::process::Command::stdout);
    let mut merged = None;
    if stderr == Kind::Stdout {
        // The same destination as stdout (`2>&1`).
        match stdout {
            Kind::Piped => {
                let (r, out, err) = sys::merged_pipe()?;
                cmd.stdout(out).stderr(err);
                merged = Some(r);
            }
            Kind::Null => {
                cmd.stderr(std::process::Stdio::null());
            }
            Kind::Inherit => {
                cmd.stderr(sys::dup_stdout()?);
            }
            Kind::Custom | Kind::Stdout => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "stderr(Stdio::stdout()) needs a piped, null or inherited stdout \
                     (for a file, give stderr its own File::try_clone())",
                ))
            }
        }
    } else {
        stderr.apply(cmd, std::process::Command::stderr);
    }
    let res = sys::spawn(cmd, kill_on_drop);
    if stderr == Kind::Stdout {
        // Release our copies of the child's ends: the command keeps
        // its stdio until reconfigured, and a reader of the merged
        // pipe would never see end of file.
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
    }
    let (child, pipes) = res.map_err(|e| named(e, cmd.get_program()))?;
    let pipes = sys::Pipes {
        stdin: pipes.stdin,
        stdout: merged.or(pipes.stdout),
        stderr: pipes.stderr,
    };
    Ok((child, pipes))
}

/// `std::process::Command::stdin`, `stdout` or `stderr`.
type SetStdio = fn(&mut std::process::Command, std::process::Stdio) -> &mut std::process::Command;

/// A [`Stdio`] choice as the command remembers it (custom std `Stdio`s
/// live in the std command itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Inherit,
    Null,
    Piped,
    Stdout,
    Custom,
}

impl Kind {
    fn of(k: StdioKind) -> Kind {
        match k {
            StdioKind::Inherit => Kind::Inherit,
            StdioKind::Null => Kind::Null,
            StdioKind::Piped => Kind::Piped,
            StdioKind::Stdout => Kind::Stdout,
            StdioKind::Std(_) => Kind::Custom,
        }
    }

    /// Sets this choice on `cmd` through `set` (`Command::stdin`, ...).
    fn apply(self, cmd: &mut std::process::Command, set: SetStdio) {
        match self {
            Kind::Inherit => {
                set(cmd, std::process::Stdio::inherit());
            }
            Kind::Null => {
                set(cmd, std::process::Stdio::null());
            }
            Kind::Piped => {
                set(cmd, std::process::Stdio::piped());
            }
            // Custom: already set; Stdout: handled by the caller.
            Kind::Custom | Kind::Stdout => {}
        }
    }
}

/// A running child process (asyncio's `asyncio.subprocess.Process`),
/// from [`Command::spawn`].
///
/// Its pipes are public fields, as in `std::process::Child`: take them
/// (`p.stdout.take()`) to use them in another task.
///
/// Dropping a `Process` does not kill the child (unless
/// [`Command::kill_on_drop`] was set) and never leaves a zombie: the
/// child is reaped when it exits.
///
/// # Examples
///
/// ```
/// use anyloop::process::{Command, Stdio};
///
/// # anyloop::run(async {
/// # if !anyloop::capabilities().subprocess || cfg!(windows) { return Ok(()) } // Unix tools
/// let mut cat = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
/// let stdin = cat.stdin.take().unwrap();
/// let mut stdout = cat.stdout.take().unwrap();
/// stdin.write(b"ping\n");
/// stdin.drain().await?;
/// assert_eq!(stdout.readline().await?, b"ping\n");
/// stdin.close();
/// assert!(cat.wait().await?.success());
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct Process {
    child: sys::Child,
    /// The child's stdin, if it was [`Stdio::piped`].
    pub stdin: Option<StreamWriter>,
    /// The child's stdout, if it was [`Stdio::piped`] (with
    /// `stderr(Stdio::stdout())`, stderr arrives here too).
    pub stdout: Option<StreamReader>,
    /// The child's stderr, if it was [`Stdio::piped`].
    pub stderr: Option<StreamReader>,
}

impl fmt::Debug for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Process")
            .field("child", &self.child)
            .finish_non_exhaustive()
    }
}

impl Process {
    /// The child's process id (asyncio's `pid`).
    #[doc(alias = "pid")]
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// asyncio's `returncode`: `None` while the child runs; its exit code,
    /// or `-N` if signal `N` killed it. Checks without waiting (and reaps
    /// the child if it has exited).
    ///
    /// # Examples
    ///
    /// ```
    /// # anyloop::run(async {
    /// # if !anyloop::capabilities().subprocess || cfg!(windows) { return Ok(()) } // Unix tools
    /// let mut p = anyloop::process::Command::new("sleep").arg("10").spawn()?;
    /// assert_eq!(p.returncode(), None);
    /// p.kill()?;
    /// p.wait().await?;
    /// assert_eq!(p.returncode(), Some(-9));
    /// # std::io::Result::Ok(()) }).unwrap();
    /// ```
    pub fn returncode(&mut self) -> Option<i32> {
        self.try_wait().ok().flatten().map(|s| s.returncode())
    }

    /// The exit status if the child has exited, without waiting.
    ///
    /// # Errors
    ///
    /// The OS error of `waitpid` (not expected).
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        Ok(self.child.try_wait()?.map(ExitStatus::from_std))
    }

    /// Waits for the child to exit (asyncio's `wait()`). Closes the
    /// child's stdin first (as std's `wait` does), so a child reading its
    /// input to the end can finish.
    ///
    /// A child that fills a stdout or stderr pipe nobody reads blocks
    /// forever: read them concurrently, or use
    /// [`communicate`](Self::communicate).
    ///
    /// # Errors
    ///
    /// The OS error of waiting (not expected).
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: dropping the future leaves the child as it was.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(stdin) = self.stdin.take() {
            stdin.close();
        }
        let child = &mut self.child;
        let status = poll_fn(|cx| child.poll_wait(cx)).await?;
        Ok(ExitStatus::from_std(status))
    }

    /// Writes `input` to the child's stdin and closes it, reads its stdout
    /// and stderr to the end, all at once, then waits for it to exit
    /// (asyncio's `communicate`). Tens of megabytes in every direction
    /// never deadlock.
    ///
    /// `input` is ignored if stdin is not piped (or was taken); a child
    /// that exits without reading all of it is not an error (asyncio
    /// ignores `BrokenPipeError` here too). Streams that are not piped
    /// (or were taken) come back empty.
    ///
    /// # Errors
    ///
    /// The errors of reading the pipes or of waiting.
    ///
    /// # Examples
    ///
    /// See the [module docs](self).
    pub async fn communicate(&mut self, input: &[u8]) -> io::Result<Output> {
        let stdin = self.stdin.take();
        let stdout = self.stdout.take();
        let stderr = self.stderr.take();
        let write = async move {
            if let Some(w) = stdin {
                w.write(input);
                w.close();
                match w.wait_closed().await {
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                        ) => {}
                    other => other?,
                }
            }
            io::Result::Ok(())
        };
        let out = read_all(stdout);
        let err = read_all(stderr);
        let ((), stdout, stderr) =
            futures_lite::future::try_zip(write, futures_lite::future::try_zip(out, err))
                .await
                .map(|((), (o, e))| ((), o, e))?;
        let status = self.wait().await?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }

    /// Sends signal `sig` to the child (asyncio's `send_signal`); does
    /// nothing if it has already been reaped. On Windows see
    /// [Hosts](self#hosts): `SIGTERM`/`SIGKILL` terminate it, `SIGINT`/
    /// `SIGBREAK` go through the console.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for an unknown signal number (Windows: `Unsupported`
    /// for other signals); the OS error of `kill`.
    pub fn send_signal(&mut self, sig: i32) -> io::Result<()> {
        self.child.send_signal(sig)
    }

    /// Sends `SIGTERM` (asyncio's `terminate`).
    ///
    /// # Errors
    ///
    /// As [`send_signal`](Self::send_signal).
    pub fn terminate(&mut self) -> io::Result<()> {
        self.send_signal(crate::signal::SIGTERM)
    }

    /// Sends `SIGKILL` (asyncio's `kill`).
    ///
    /// # Errors
    ///
    /// As [`send_signal`](Self::send_signal).
    ///
    /// # Examples
    ///
    /// See [`returncode`](Self::returncode).
    pub fn kill(&mut self) -> io::Result<()> {
        self.send_signal(crate::signal::SIGKILL)
    }
}

async fn read_all(r: Option<StreamReader>) -> io::Result<Vec<u8>> {
    match r {
        Some(mut r) => r.read_to_eof().await,
        None => Ok(Vec::new()),
    }
}
