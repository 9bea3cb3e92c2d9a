//! Windows: the console's Ctrl-C and Ctrl-Break events through one
//! `SetConsoleCtrlHandler` routine.
//!
//! Windows has no signals beyond these console events (and the C
//! runtime's emulation of a few, in-process only). The routine runs on a
//! thread the system starts for each event, so it can lock and wake
//! loops directly: no self-pipe. Returning `FALSE` passes the event on to
//! the next routine, in the end the default one, which ends the process
//! with `STATUS_CONTROL_C_EXIT`: that is the "default action" here.

use std::io;
use std::task::Context;

use windows_sys::core::BOOL;
use windows_sys::Win32::Foundation::STATUS_CONTROL_C_EXIT;
use windows_sys::Win32::System::Console::{
    GenerateConsoleCtrlEvent, SetConsoleCtrlHandler, CTRL_BREAK_EVENT, CTRL_C_EVENT,
};

use super::{arrive, broadcast, Arrival, Globals, GLOBALS, SIGINT};

/// `SIGBREAK`: Ctrl-Break (`CTRL_BREAK_EVENT`), the number of Python's
/// `signal.SIGBREAK` and of the C runtime's on Windows.
pub const SIGBREAK: i32 = 21;

/// Nothing: the routine reaches the loops through their wakers.
pub(super) struct Wakeup;

impl Wakeup {
    pub(super) fn new() -> io::Result<Wakeup> {
        Ok(Wakeup)
    }
}

/// Nothing per loop thread either.
#[derive(Debug)]
pub(super) struct Relay;

pub(super) fn relay(_g: &Globals) -> io::Result<Relay> {
    Ok(Relay)
}

/// Broadcast already happened in the routine.
pub(super) fn drain(_g: &Globals, _relay: &Relay, _cx: &mut Context<'_>) -> io::Result<()> {
    Ok(())
}

/// The console event of `sig`, if Windows has one.
fn event(sig: i32) -> Option<u32> {
    match sig {
        SIGINT => Some(CTRL_C_EVENT),
        SIGBREAK => Some(CTRL_BREAK_EVENT),
        _ => None,
    }
}

/// Checks that `sig` is one Windows can deliver: `SIGINT` (Ctrl-C) or
/// `SIGBREAK` (Ctrl-Break).
///
/// # Errors
///
/// `Unsupported` for any other number, naming it and the host.
pub fn check(sig: i32) -> io::Result<()> {
    match event(sig) {
        Some(_) => Ok(()),
        None => Err(anyloop_core::unsupported(
            &format!("signal {sig} (signals other than Ctrl-C, SIGINT, and Ctrl-Break, SIGBREAK)"),
            crate::HOST,
            "",
        )),
    }
}

/// The handler's work for one event: true if a listener took it.
fn deliver(g: &Globals, sig: i32) -> bool {
    match arrive(g, sig) {
        Arrival::Pending => {
            broadcast(g);
            true
        }
        // Nobody listens: the next routine (in the end the default one,
        // which ends the process) gets the event.
        Arrival::Unheard => false,
        // The second Ctrl-C while `run` cleans up: end the process here,
        // with the status Windows' default routine uses (Wine's exits
        // with 0 instead).
        Arrival::SecondPress => {
            exit_by_sigint();
            false
        }
    }
}

/// The console control routine (`HandlerRoutine`).
unsafe extern "system" fn routine(ctrl_type: u32) -> BOOL {
    let sig = match ctrl_type {
        CTRL_C_EVENT => SIGINT,
        CTRL_BREAK_EVENT => SIGBREAK,
        // Close, logoff, shutdown: not ours.
        _ => return 0,
    };
    let Some(g) = GLOBALS.get() else {
        return 0;
    };
    // A panic must not unwind into the system's thread.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| deliver(g, sig))) {
        Ok(true) => 1,
        _ => 0,
    }
}

pub(super) fn install(_g: &'static Globals, _sig: i32) -> io::Result<()> {
    static INSTALLED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if !*installed {
        // SAFETY: `routine` is a `HandlerRoutine` that lives as long as the
        // process (it is never removed) and only touches `'static` data.
        if unsafe { SetConsoleCtrlHandler(Some(routine), 1) } == 0 {
            return Err(io::Error::last_os_error());
        }
        *installed = true;
    }
    Ok(())
}

/// Delivers `sig` (`SIGINT` or `SIGBREAK`) to this process as the console
/// would, but in-process only (as the C runtime's `raise` does): the
/// listeners get it, or if there are none, the process ends as by an
/// unhandled Ctrl-C. Other processes of the console are not involved.
///
/// # Errors
///
/// `Unsupported` for other signals.
pub fn raise(sig: i32) -> io::Result<()> {
    check(sig)?;
    if !deliver(super::globals()?, sig) {
        exit_by_sigint();
    }
    Ok(())
}

/// Ends the process as an unhandled Ctrl-C does: exit code
/// `STATUS_CONTROL_C_EXIT` (0xC000013A), what Python reports too.
pub fn exit_by_sigint() {
    std::process::exit(STATUS_CONTROL_C_EXIT)
}

/// Sends the console event of `sig` (`SIGINT`: Ctrl-C, `SIGBREAK`:
/// Ctrl-Break) through the console, as a key press would
/// (`GenerateConsoleCtrlEvent`): to every process attached to this
/// process's console for `process_group` 0, else to the process group
/// `process_group` (a child started with `CREATE_NEW_PROCESS_GROUP`: its
/// pid). Windows delivers Ctrl-C to group 0 only; a new process group
/// starts with Ctrl-C ignored.
///
/// # Errors
///
/// `Unsupported` for other signals; the OS error, e.g. when this process
/// has no console (`ERROR_INVALID_ACCESS` under Wine when started without
/// one).
pub fn generate_ctrl_event(sig: i32, process_group: u32) -> io::Result<()> {
    check(sig)?;
    let Some(ev) = event(sig) else {
        return Err(io::ErrorKind::Unsupported.into());
    };
    // SAFETY: a plain Win32 call with two integers.
    if unsafe { GenerateConsoleCtrlEvent(ev, process_group) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
