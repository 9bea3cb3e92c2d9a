//! Reaping children nobody waits for any more (tokio's "orphan queue",
//! without a thread and without waiting for the next spawn).
//!
//! A dropped, still-running child's pid goes into a fixed table of
//! atomics. A `SIGCHLD` action reaps the table's exited children right in
//! the signal handler (`waitpid(pid, WNOHANG)` is async-signal-safe), so an
//! orphan is reaped the moment it exits, whether a loop runs or not.
//!
//! A slot is claimed (`pid` → [`CLAIMED`]) before its `waitpid` and
//! released afterwards, so only one thread ever waits for a given pid (a
//! reaped pid may be reused by the next child; it must not be waited for
//! twice). A handler that finds a slot claimed skips it; [`GENERATION`],
//! bumped by every `SIGCHLD`, makes the claimer look again, so an exit
//! between its `waitpid` and its release is not missed.

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Mutex;

use rustix::process::{Pid, WaitOptions};

/// Orphans the table holds; more fall back to a pool thread each.
const SLOTS: usize = 4096;
const FREE: i32 = 0;
const CLAIMED: i32 = -1;

static TABLE: [AtomicI32; SLOTS] = [const { AtomicI32::new(FREE) }; SLOTS];
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Tries to reap the child in slot `i`; true if the slot is free after.
fn reap_slot(slot: &AtomicI32) -> bool {
    let pid = slot.load(Ordering::SeqCst);
    if pid <= 0 {
        return pid == FREE;
    }
    if slot
        .compare_exchange(pid, CLAIMED, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        return false;
    }
    let reaped = match Pid::from_raw(pid) {
        // `Ok(None)`: still running. An error (ECHILD: someone else reaped
        // it) also ends our interest in the pid.
        Some(p) => !matches!(
            rustix::process::waitpid(Some(p), WaitOptions::NOHANG),
            Ok(None)
        ),
        None => true,
    };
    slot.store(if reaped { FREE } else { pid }, Ordering::SeqCst);
    reaped
}

/// The `SIGCHLD` action: reaps every exited orphan.
fn on_sigchld() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
    loop {
        let seen = GENERATION.load(Ordering::SeqCst);
        for slot in &TABLE {
            reap_slot(slot);
        }
        if GENERATION.load(Ordering::SeqCst) == seen {
            return;
        }
    }
}

fn install() -> std::io::Result<()> {
    static INSTALLED: Mutex<bool> = Mutex::new(false);
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if !*installed {
        // SAFETY: `on_sigchld` only uses atomics and `waitpid(WNOHANG)`
        // (async-signal-safe); it neither allocates, locks nor panics.
        unsafe { signal_hook_registry::register(super::super::signal::SIGCHLD, on_sigchld) }?;
        *installed = true;
    }
    Ok(())
}

/// Hands a child nobody will wait for to the reaper: it is reaped as soon
/// as it exits (at once if it already has).
pub(crate) fn orphan(pid: i32) {
    let slot = match install() {
        Ok(()) => TABLE.iter().find(|s| {
            s.compare_exchange(FREE, pid, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        }),
        Err(_) => None,
    };
    let Some(slot) = slot else {
        // No table slot (thousands of orphans) or no handler: a pool
        // thread waits for this one.
        if let Some(p) = Pid::from_raw(pid) {
            // The job runs whether or not its future is awaited.
            drop(crate::blocking::unblock(move || {
                rustix::process::waitpid(Some(p), WaitOptions::empty())
            }));
        }
        return;
    };
    loop {
        let seen = GENERATION.load(Ordering::SeqCst);
        if reap_slot(slot) || GENERATION.load(Ordering::SeqCst) == seen {
            return;
        }
    }
}

/// Orphans not yet reaped (for tests).
pub fn pending_orphans() -> usize {
    TABLE
        .iter()
        .filter(|s| s.load(Ordering::SeqCst) != FREE)
        .count()
}
