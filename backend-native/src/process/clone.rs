//! Linux (glibc): a child started with one
//! `clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD)`, its pidfd coming back
//! with the spawn, on a stack this thread keeps for its spawns.
//!
//! What glibc's `posix_spawn` (std's route) does, without the parts a
//! parent pays for per child: it `mmap`s a fresh child stack and
//! `munmap`s it afterwards (the unmap is a TLB shootdown, since the child
//! ran on that memory on another CPU), and `pidfd_open` follows as its
//! own syscall. Here the parent makes `rt_sigprocmask` (block all),
//! `clone`, `rt_sigprocmask` (restore), and nothing else; the child does
//! what `posix_spawn`'s child does for std: signal handlers back to the
//! default (a handler must not run in a child that shares our memory),
//! `SIGPIPE` to the default (std's `SETSIGDEF`), the stdio `dup2`s, the
//! `chdir`, an empty signal mask (std's `SETSIGMASK`), then `execve` —
//! for a bare name once per `PATH` entry with `execvpe`'s rules
//! (`posix_spawnp`'s; no `/bin/sh` retry on `ENOEXEC`, as there). An
//! error before or in `execve` is written to memory the parent reads
//! after `clone` returns (`CLONE_VFORK` returns only once the child has
//! exec'd or exited), so `spawn` reports it, as std does.
//!
//! Used for what std would `posix_spawn` (a program path, or a bare name
//! searched in the inherited `PATH`), with stdio inherited, null, piped
//! or merged into stdout; anything else (a custom `std::process::Stdio`, a
//! `PATH` of the command's own that anyloop could not resolve, a NUL byte
//! in a string, a kernel or seccomp filter refusing `clone`) goes to
//! std's `Command::spawn`.

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use rustix::process::Pid;

/// What a child's stdin, stdout or stderr is connected to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildStdio {
    /// The parent's own descriptor.
    Inherit,
    /// `/dev/null`.
    Null,
    /// A new pipe; the parent's end comes back.
    Piped,
    /// stderr only: wherever the child's stdout goes (`2>&1`).
    Stdout,
}

/// A started child: its pid, its pidfd (`None` where the kernel has no
/// `CLONE_PIDFD`, or it was not asked for), and the parent's ends of the
/// piped stdio (stdin's write end, stdout's and stderr's read ends).
pub(super) struct Started {
    pub(super) pid: Pid,
    pub(super) pidfd: Option<OwnedFd>,
    pub(super) pipes: [Option<OwnedFd>; 3],
}

/// Set once `clone` was refused (seccomp, a sandbox): std spawns from
/// then on.
static REFUSED: AtomicBool = AtomicBool::new(false);

/// glibc's `execvpe` default when `PATH` is unset (`_CS_PATH`).
const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

/// The child's stack, this thread's, reused from spawn to spawn: the
/// parent thread is suspended (`CLONE_VFORK`) while the child runs on it.
const STACK_WORDS: usize = 64 * 1024 / 16;

thread_local! {
    static STACK: Cell<Option<Box<[u128]>>> = const { Cell::new(None) };
}

/// Starts `cmd` (program, arguments, environment changes, directory; its
/// stdio is ignored) with `stdio` and, for a bare program name, `exe` (the
/// file anyloop found in the command's own `PATH`) instead of a search.
/// `None`: this route does not apply; spawn with std.
pub(super) fn spawn(
    cmd: &std::process::Command,
    exe: Option<&Path>,
    env_cleared: bool,
    stdio: [ChildStdio; 3],
    want_pidfd: bool,
) -> Option<io::Result<Started>> {
    if REFUSED.load(Ordering::Relaxed) {
        return None;
    }
    let program = cmd.get_program().as_bytes();
    let envs_changed = env_cleared || cmd.get_envs().next().is_some();
    // Where the program is: a path, a file found for us, or a search of
    // the inherited `PATH`, which the child reads (as `posix_spawnp`'s
    // child does, std's route); a bare name with a `PATH` of the
    // command's own that anyloop did not resolve is std's (it forks and
    // runs `execvp` with the child's environment).
    let search = exe.is_none() && !program.contains(&b'/');
    if search && (env_cleared || cmd.get_envs().any(|(k, _)| k == OsStr::new("PATH"))) {
        return None;
    }
    let exe = exe.map(|p| p.as_os_str().as_bytes());
    let cwd = cmd.get_current_dir().map(|d| d.as_os_str().as_bytes());
    // std replaces a program, argument or directory holding a NUL with
    // this placeholder and fails the spawn with `InvalidInput`: let std
    // report it.
    const NUL_PLACEHOLDER: &[u8] = b"<string-with-nul>";
    if program == NUL_PLACEHOLDER
        || cwd == Some(NUL_PLACEHOLDER)
        || cmd.get_args().any(|a| a.as_bytes() == NUL_PLACEHOLDER)
    {
        return None;
    }
    // One buffer for every string, sized first: the pointers into it
    // stay valid (`Strings::push` refuses to grow it).
    let size = program.len()
        + 1
        + cmd.get_args().map(|a| a.len() + 1).sum::<usize>()
        + exe.map_or(0, |e| e.len() + 1)
        + cwd.map_or(0, |d| d.len() + 1);
    let mut strings = Strings(Vec::with_capacity(size));
    let mut argv = Vec::with_capacity(cmd.get_args().len() + 2);
    argv.push(strings.push(&[program])?);
    for a in cmd.get_args() {
        argv.push(strings.push(&[a.as_bytes()])?);
    }
    argv.push(std::ptr::null());
    let path = match exe {
        Some(e) => strings.push(&[e])?,
        None if search => std::ptr::null(),
        None => argv[0],
    };
    let cwd = match cwd {
        Some(d) => strings.push(&[d])?,
        None => std::ptr::null(),
    };
    let mut env_strings = Strings(Vec::new());
    let envp = if envs_changed {
        Some(environment(cmd, env_cleared, &mut env_strings)?)
    } else {
        None
    };
    start(StartArgs {
        path,
        name: program,
        argv: &argv,
        envp: envp.as_deref(),
        cwd,
        stdio,
        want_pidfd,
    })
}

/// NUL-terminated strings in one buffer that never grows.
struct Strings(Vec<u8>);

impl Strings {
    /// Appends the concatenation of `parts` and a NUL and returns where it
    /// starts; `None` if a part holds a NUL (std reports that error) or
    /// the buffer is too small (it would move).
    fn push(&mut self, parts: &[&[u8]]) -> Option<*const c_char> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if self.0.capacity() - self.0.len() < len + 1 {
            return None;
        }
        let at = self.0.len();
        for p in parts {
            if p.contains(&0) {
                return None;
            }
            self.0.extend_from_slice(p);
        }
        self.0.push(0);
        Some(self.0[at..].as_ptr().cast())
    }
}

/// The child's environment as a NULL-terminated array of `KEY=VALUE`
/// strings (in `strings`): the parent's (unless cleared) with the
/// command's changes, as std builds it.
fn environment(
    cmd: &std::process::Command,
    env_cleared: bool,
    strings: &mut Strings,
) -> Option<Vec<*const c_char>> {
    let mut vars: Vec<(std::ffi::OsString, std::ffi::OsString)> = if env_cleared {
        Vec::new()
    } else {
        std::env::vars_os().collect()
    };
    for (k, v) in cmd.get_envs() {
        vars.retain(|(key, _)| key != k);
        if let Some(v) = v {
            vars.push((k.to_owned(), v.to_owned()));
        }
    }
    let size = vars.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    *strings = Strings(Vec::with_capacity(size));
    let mut envp = Vec::with_capacity(vars.len() + 1);
    for (k, v) in &vars {
        envp.push(strings.push(&[k.as_bytes(), b"=", v.as_bytes()])?);
    }
    envp.push(std::ptr::null());
    Some(envp)
}

struct StartArgs<'a> {
    /// The file to `execve`; NULL: search the inherited `PATH` for `name`.
    path: *const c_char,
    name: &'a [u8],
    argv: &'a [*const c_char],
    /// `None`: the parent's `environ`.
    envp: Option<&'a [*const c_char]>,
    /// NULL: the parent's.
    cwd: *const c_char,
    stdio: [ChildStdio; 3],
    want_pidfd: bool,
}

/// What the child reads, and the error it writes back. Lives in the
/// parent's frame; the child shares the memory (`CLONE_VM`) and the
/// parent is suspended until the child has exec'd or exited.
#[repr(C)]
struct Shared {
    path: *const c_char,
    name: *const u8,
    name_len: usize,
    argv: *const *const c_char,
    envp: *const *const c_char,
    cwd: *const c_char,
    /// The descriptor to `dup2` onto 0, 1, 2: [`KEEP`], [`OUT`] (the
    /// child's fd 1), or a descriptor ≥ 3.
    fds: [c_int; 3],
    /// The `errno` of the step that failed; 0 if `execve` succeeded.
    err: AtomicI32,
}

const KEEP: c_int = -1;
const OUT: c_int = -2;

/// `None` if `clone` is refused (then for good: see [`REFUSED`]).
fn start(a: StartArgs<'_>) -> Option<io::Result<Started>> {
    // The parent's ends, and the child's ends to `dup2`, each ≥ 3 so no
    // `dup2` onto 0, 1 or 2 overwrites another's source (Rust opens 0-2 at
    // startup, but a program may close them later).
    let mut ours: [Option<OwnedFd>; 3] = [None, None, None];
    let mut theirs: [Option<OwnedFd>; 3] = [None, None, None];
    let mut fds = [KEEP; 3];
    for (i, s) in a.stdio.iter().enumerate() {
        match s {
            ChildStdio::Inherit => {}
            ChildStdio::Stdout => fds[i] = OUT,
            ChildStdio::Null => {
                let null = rustix::fs::open(
                    "/dev/null",
                    rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
                    rustix::fs::Mode::empty(),
                );
                match null.map_err(io::Error::from).and_then(above_stdio) {
                    Ok(fd) => theirs[i] = Some(fd),
                    Err(e) => return Some(Err(e)),
                }
            }
            ChildStdio::Piped => {
                let ends = super::cloexec_pipe().and_then(|(r, w)| {
                    let (mine, child) = if i == 0 { (w, r) } else { (r, w) };
                    Ok((above_stdio(mine)?, above_stdio(child)?))
                });
                match ends {
                    Ok((mine, child)) => {
                        ours[i] = Some(mine);
                        theirs[i] = Some(child);
                    }
                    Err(e) => return Some(Err(e)),
                }
            }
        }
        if let Some(fd) = &theirs[i] {
            fds[i] = fd.as_raw_fd();
        }
    }
    let shared = Shared {
        path: a.path,
        name: a.name.as_ptr(),
        name_len: a.name.len(),
        argv: a.argv.as_ptr(),
        // SAFETY: reading the `environ` pointer (glibc's, exported by the
        // libc crate); the child reads the array as `posix_spawn`'s child
        // and `getenv` do.
        envp: a.envp.map_or_else(
            || unsafe { libc::environ }.cast_const().cast(),
            |e| e.as_ptr(),
        ),
        cwd: a.cwd,
        fds,
        err: AtomicI32::new(0),
    };
    let mut stack = STACK
        .with(Cell::take)
        .unwrap_or_else(|| vec![0u128; STACK_WORDS].into_boxed_slice());
    let (pid, pidfd) = clone_child(&shared, &mut stack, a.want_pidfd);
    STACK.with(|s| s.set(Some(stack)));
    // The child has exec'd or exited: its ends of the pipes are its own.
    drop(theirs);
    let pid = match pid {
        Ok(pid) => pid,
        Err(e) if refused(&e) => return None,
        Err(e) => return Some(Err(e)),
    };
    Some(match shared.err.load(Ordering::Relaxed) {
        0 => Ok(Started {
            pid,
            pidfd,
            pipes: ours,
        }),
        err => {
            // It failed before or in `execve` and exits (127): reap it.
            let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
            Err(io::Error::from_raw_os_error(err))
        }
    })
}

/// `fd`, moved to a descriptor ≥ 3 if it is 0, 1 or 2.
fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    Ok(rustix::io::fcntl_dupfd_cloexec(&fd, 3)?)
}

/// `clone`s the child on `stack`; returns its pid and pidfd.
fn clone_child(
    shared: &Shared,
    stack: &mut [u128],
    want_pidfd: bool,
) -> (io::Result<Pid>, Option<OwnedFd>) {
    let mut flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
    if want_pidfd {
        flags |= libc::CLONE_PIDFD;
    }
    let mut pidfd: c_int = -1;
    let top = stack.as_mut_ptr_range().end.cast::<c_void>();
    // Every signal blocked (glibc's internal ones too, which
    // `pthread_sigmask` would leave open), so no handler of ours runs in
    // the child, which shares our memory, before it resets them.
    let old = set_signal_mask(!0);
    // SAFETY: `child_main` runs on `stack` (16-byte aligned top, 64 KiB,
    // unused by anyone else: this thread is suspended until the child has
    // exec'd or exited, `CLONE_VFORK`) with `shared`, which outlives the
    // call for the same reason; it only makes async-signal-safe libc
    // calls, never allocates, panics or unwinds. `pidfd` receives the
    // pidfd (`CLONE_PIDFD` uses the parent_tid argument).
    let pid = unsafe {
        libc::clone(
            child_main,
            top,
            flags,
            (shared as *const Shared).cast_mut().cast(),
            &mut pidfd as *mut c_int,
        )
    };
    let clone_err = io::Error::last_os_error();
    set_signal_mask(old);
    if pid < 0 {
        return (Err(clone_err), None);
    }
    // A kernel before 5.2 ignores CLONE_PIDFD and leaves `pidfd` as it was.
    let pidfd = (want_pidfd && pidfd >= 0).then(|| {
        // SAFETY: the kernel just installed this descriptor for us
        // (close-on-exec), and nothing else owns it.
        unsafe { OwnedFd::from_raw_fd(pidfd as RawFd) }
    });
    match Pid::from_raw(pid) {
        Some(p) => (Ok(p), pidfd),
        None => (Err(io::Error::other("clone returned pid 0")), pidfd),
    }
}

/// Sets this thread's signal mask (the kernel's 64-bit set: bit `n - 1`
/// for signal `n`) with the raw `rt_sigprocmask`; returns the previous
/// one. Async-signal-safe (the child calls it).
fn set_signal_mask(mask: u64) -> u64 {
    let mut old: u64 = 0;
    // SAFETY: `rt_sigprocmask` with 8-byte kernel sigsets that live for
    // the call; it cannot fail with these arguments.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &mask as *const u64,
            &mut old as *mut u64,
            8usize,
        )
    };
    old
}

/// Marks `clone` as refused for good if `e` says so (seccomp, a sandbox,
/// a kernel without it): std spawns instead.
fn refused(e: &io::Error) -> bool {
    let refused = matches!(
        e.raw_os_error(),
        Some(libc::ENOSYS | libc::EPERM | libc::EINVAL)
    );
    if refused {
        REFUSED.store(true, Ordering::Relaxed);
    }
    refused
}

/// The child, between `clone` and `execve`: on the parent's memory, with
/// every signal blocked. Only raw, async-signal-safe libc calls; no
/// allocation, no panic (no indexing that could fail).
extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the parent's `Shared`, alive and unchanged while
    // the parent is suspended (see `clone_child`).
    let s = unsafe { &*arg.cast::<Shared>() };
    // Handlers back to the default: ours would run here, on memory we
    // share with the parent. SIGPIPE back to the default (std's
    // posix_spawn attribute); ignored signals stay ignored, as exec keeps
    // them. Blocked signals cannot run a handler meanwhile.
    for sig in 1..libc::SIGRTMAX() + 1 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: zeroed `sigaction` is a valid value (SIG_DFL, no flags).
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: queries the disposition into `old`; glibc refuses its
        // internal signals (EINVAL), which are skipped.
        if unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) } != 0 {
            continue;
        }
        let default = old.sa_sigaction == libc::SIG_DFL;
        if default || (old.sa_sigaction == libc::SIG_IGN && sig != libc::SIGPIPE) {
            continue;
        }
        // SAFETY: as above.
        let dfl: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: sets SIG_DFL for `sig` in the child's own handler table
        // (no CLONE_SIGHAND).
        unsafe { libc::sigaction(sig, &dfl, std::ptr::null_mut()) };
    }
    for (target, fd) in (0..3).zip(s.fds) {
        let src = match fd {
            KEEP => continue,
            OUT => 1,
            fd => fd,
        };
        // SAFETY: descriptor calls on the child's own descriptor table.
        let r = unsafe {
            if src == target {
                // `dup2` onto itself would keep close-on-exec.
                libc::fcntl(target, libc::F_SETFD, 0)
            } else {
                libc::dup2(src, target)
            }
        };
        if r < 0 {
            fail(s);
        }
    }
    // SAFETY: `cwd` is NULL or a NUL-terminated string of the parent's.
    if !s.cwd.is_null() && unsafe { libc::chdir(s.cwd) } != 0 {
        fail(s);
    }
    // std starts children with an empty mask.
    set_signal_mask(0);
    if !s.path.is_null() {
        // SAFETY: NUL-terminated path, NULL-terminated argv and envp
        // arrays of the parent's, alive while it is suspended.
        unsafe { libc::execve(s.path, s.argv, s.envp) };
        fail(s);
    }
    search_and_exec(s);
    fail(s)
}

/// Reports errno to the parent and ends the child.
fn fail(s: &Shared) -> ! {
    // SAFETY: `__errno_location` is this thread's errno (the parent's TLS
    // block, shared: the parent ignores it); `_exit` ends the child
    // without running any of the parent's exit code.
    unsafe {
        let e = *libc::__errno_location();
        s.err
            .store(if e == 0 { libc::EINVAL } else { e }, Ordering::Relaxed);
        libc::_exit(127)
    }
}

/// glibc's `execvpe` (as `posix_spawnp` runs it): `name` tried in each
/// entry of the inherited `PATH` (unset: `/bin:/usr/bin`; an empty entry:
/// the current directory); EACCES is
/// remembered and reported if nothing runs; ENOENT, ESTALE, ENOTDIR,
/// ENODEV, ETIMEDOUT go on to the next entry; any other error stops.
/// Leaves errno set for the caller.
fn search_and_exec(s: &Shared) {
    const NAME_MAX: usize = 255;
    const PATH_MAX: usize = 4096;
    let set_errno = |e: c_int| {
        // SAFETY: this thread's errno (see `child_main`).
        unsafe { *libc::__errno_location() = e };
    };
    if s.name_len == 0 {
        set_errno(libc::ENOENT);
        return;
    }
    if s.name_len > NAME_MAX {
        set_errno(libc::ENAMETOOLONG);
        return;
    }
    // SAFETY: `getenv` reads the parent's `environ` (as `posix_spawnp`'s
    // child does) and returns NULL or a NUL-terminated string.
    let var = unsafe { libc::getenv(c"PATH".as_ptr()) };
    let path = if var.is_null() {
        DEFAULT_PATH
    } else {
        // SAFETY: a NUL-terminated string (above). Another thread of the
        // parent changing the environment meanwhile would race with this
        // read as with `posix_spawnp`'s (std's `set_var` is unsafe for
        // that reason).
        unsafe { std::ffi::CStr::from_ptr(var) }.to_bytes()
    };
    // SAFETY: the parent's `name` slice, alive while it is suspended.
    let name = unsafe { std::slice::from_raw_parts(s.name, s.name_len) };
    let mut buf = [0u8; PATH_MAX + NAME_MAX + 2];
    let mut eacces = false;
    for dir in path.split(|&b| b == b':') {
        // dir + '/' + name + NUL must fit (glibc skips longer entries).
        let len = dir.len() + usize::from(!dir.is_empty()) + name.len();
        let Some(slot) = buf.get_mut(..len + 1) else {
            continue;
        };
        let (d, rest) = slot.split_at_mut(dir.len());
        d.copy_from_slice(dir);
        let rest = if dir.is_empty() {
            rest
        } else {
            let (slash, rest) = rest.split_at_mut(1);
            slash.copy_from_slice(b"/");
            rest
        };
        let (n, nul) = rest.split_at_mut(name.len());
        n.copy_from_slice(name);
        nul.copy_from_slice(&[0]);
        // SAFETY: `buf` holds a NUL-terminated path; argv and envp as in
        // `child_main`.
        unsafe { libc::execve(buf.as_ptr().cast(), s.argv, s.envp) };
        // SAFETY: this thread's errno.
        match unsafe { *libc::__errno_location() } {
            libc::EACCES => eacces = true,
            libc::ENOENT | libc::ESTALE | libc::ENOTDIR | libc::ENODEV | libc::ETIMEDOUT => {}
            _ => return,
        }
    }
    set_errno(if eacces { libc::EACCES } else { libc::ENOENT });
}
