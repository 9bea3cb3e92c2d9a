//! anyloop's platform table (asyncio's "Platform Support" chapter): what
//! each host can do, as [`Capabilities`] values, and the Markdown table the
//! crate docs and the README show.
//!
//! The table is generated from [`PLATFORMS`] (a test compares it with the
//! README and the facade's crate docs), and the suite checks on every host
//! it runs on (Linux, Windows under Wine, wasmtime for both WASI targets,
//! headless Chromium) that `anyloop::capabilities()` is that host's row, so
//! the table cannot drift from what the hosts report.

use crate::Capabilities;

/// One host in the platform table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform {
    /// The row's name, e.g. `"Windows"`.
    pub name: &'static str,
    /// The Rust target(s).
    pub target: &'static str,
    /// What the host reports as `anyloop::capabilities()`.
    pub capabilities: Capabilities,
    /// How it waits and what the flags do not say.
    pub notes: &'static str,
}

/// Native Unix: Linux, macOS, the BSDs.
const UNIX: Capabilities = Capabilities {
    host: "native",
    blocking: true,
    threads: true,
    catch_panic: true,
    subprocess: true,
    signals: true,
    ctrl_c: true,
    tcp_listen: true,
    tcp_preopened: false,
    tcp_connect: true,
    udp: true,
    unix_sockets: true,
    fs: true,
    async_stdio: true,
};

/// Native Windows.
const WINDOWS: Capabilities = Capabilities {
    host: "windows",
    signals: false,
    unix_sockets: false,
    ..UNIX
};

/// WASI 0.2 (`wasm32-wasip2`).
const WASIP2: Capabilities = Capabilities {
    host: "wasip2",
    blocking: true,
    tcp_listen: true,
    tcp_connect: true,
    udp: true,
    fs: true,
    async_stdio: true,
    ..Capabilities::none("wasip2")
};

/// WASI preview 1 (`wasm32-wasip1`).
const WASIP1: Capabilities = Capabilities {
    host: "wasi",
    blocking: true,
    tcp_preopened: true,
    fs: true,
    async_stdio: true,
    ..Capabilities::none("wasi")
};

/// The browser (`wasm32-unknown-unknown`): tasks and timers only.
const WEB: Capabilities = Capabilities::none("web");

/// Every host anyloop runs on, in the table's order.
pub const PLATFORMS: &[Platform] = &[
    Platform {
        name: "Linux",
        target: "`x86_64`/`aarch64-unknown-linux-gnu`, ...",
        capabilities: UNIX,
        notes: "epoll; child exits through an io_uring `waitid` (6.7+, glibc), a pidfd (5.3+) or `SIGCHLD`",
    },
    Platform {
        name: "macOS, BSD",
        target: "`*-apple-darwin`, `*-unknown-freebsd`, ...",
        capabilities: UNIX,
        notes: "kqueue; child exits through `SIGCHLD`",
    },
    Platform {
        name: "Windows",
        target: "`x86_64-pc-windows-gnu`/`-msvc`",
        capabilities: WINDOWS,
        notes: "IOCP + AFD (`polling`); `add_reader`/`sock_*` on sockets only; \
                child exits on the IOCP, child pipes on the blocking pool; \
                Ctrl-C and Ctrl-Break through the console, no other signals; \
                tested under Wine",
    },
    Platform {
        name: "WASI 0.2",
        target: "`wasm32-wasip2`",
        capabilities: WASIP2,
        notes: "`wasi:io/poll`; sockets as the runtime grants (`-S inherit-network`)",
    },
    Platform {
        name: "WASI preview 1",
        target: "`wasm32-wasip1`",
        capabilities: WASIP1,
        notes: "`poll_oneoff`; listeners preopened by the runtime (`--tcplisten`)",
    },
    Platform {
        name: "browser, main thread",
        target: "`wasm32-unknown-unknown`",
        capabilities: WEB,
        notes: "never blocks: `spawn_root` / `#[anyloop::main]`; JS promises",
    },
    Platform {
        name: "browser, Worker",
        target: "`wasm32-unknown-unknown`",
        capabilities: WEB,
        notes: "as on the main thread",
    },
];

/// The row of [`PLATFORMS`] named `name`.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// let w = anyloop::platform::platform("Windows").unwrap();
/// assert!(!w.capabilities.unix_sockets);
/// ```
pub fn platform(name: &str) -> Option<&'static Platform> {
    PLATFORMS.iter().find(|p| p.name == name)
}

/// The platform table as Markdown: hosts × features, `yes` or `—` (the
/// feature returns `io::ErrorKind::Unsupported` there).
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// let table = anyloop::platform::markdown_table();
/// assert!(table.lines().any(|l| l.starts_with("| Windows |")));
/// ```
pub fn markdown_table() -> String {
    let yes = |b: bool| if b { "yes" } else { "—" };
    let mut out = String::from(
        "| host | target | `run` (blocks) | `to_thread`, threads | panics caught | \
         TCP listen | TCP connect | UDP | Unix sockets | subprocesses | signals | \
         Ctrl-C | files | async stdio | notes |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for p in PLATFORMS {
        let c = &p.capabilities;
        let listen = if c.tcp_listen {
            "yes"
        } else if c.tcp_preopened {
            "preopened"
        } else {
            "—"
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            p.name,
            p.target,
            yes(c.blocking),
            yes(c.threads),
            yes(c.catch_panic),
            listen,
            yes(c.tcp_connect),
            yes(c.udp),
            yes(c.unix_sockets),
            yes(c.subprocess),
            yes(c.signals),
            yes(c.ctrl_c),
            yes(c.fs),
            yes(c.async_stdio),
            p.notes,
        ));
    }
    out
}
