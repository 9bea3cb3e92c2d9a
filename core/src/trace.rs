//! [`tracing`](https://docs.rs/tracing) instrumentation of tasks (cargo
//! feature `tracing`; without it none of this is compiled).
//!
//! Names follow tokio's instrumentation, so that subscribers written for
//! it show anyloop's tasks the same way:
//!
//! - every task has a span named `runtime.spawn` (target `anyloop::task`,
//!   level DEBUG, no parent: a task outlives the code that spawned it) with
//!   the fields `kind` (`"task"`, or `"block_on"` for the main task of
//!   `run`), `task.name` (when the task has one), `task.id`, and where it
//!   was spawned: `loc.file`, `loc.line`, `loc.col`. The span is entered
//!   around each poll of the task and while its future is dropped, and
//!   closes when the future is gone (the task finished or was cancelled);
//! - events, each with the task's `task.id`:
//!   - DEBUG `task spawned` (in the task's span);
//!   - TRACE `op = "waker.wake"` (target `anyloop::task::waker`) when a
//!     wake-up schedules the task, in the span of whoever woke it;
//!   - DEBUG `task cancel requested` (fields `cancel.message`, `force`),
//!     in the span of whoever cancelled it;
//!   - DEBUG `task finished` (in the task's span) with `outcome`: `"ok"`,
//!     `"error"` (a [`TaskGroup`](crate::TaskGroup) child returned an
//!     error, which went to its group), `"cancelled"` or `"panicked"`, and
//!     the `cancel.message` or `panic.message` if there is one;
//!   - WARN `slow task poll` (in the task's span, with `task.name` and
//!     `loc` too, so it reads on its own where DEBUG spans are filtered
//!     out) for each poll slower than the loop's
//!     [slow-callback duration](crate::debug::set_slow_callback_duration)
//!     (100 ms by default), with its `poll.duration`. Polls are timed (two
//!     clock reads each) only while a subscriber wants WARN events of
//!     target `anyloop::task`.

use std::panic::Location;
use std::time::Duration;

use tracing::{Level, Span};

use crate::driver;

/// The span of a new task.
#[inline]
pub(crate) fn task_span(
    kind: &'static str,
    id: u64,
    name: Option<&str>,
    at: &'static Location<'static>,
) -> Span {
    tracing::debug_span!(
        target: "anyloop::task",
        parent: None,
        "runtime.spawn",
        kind,
        task.name = name,
        task.id = id,
        loc.file = at.file(),
        loc.line = at.line(),
        loc.col = at.column(),
    )
}

/// The task was spawned.
#[inline]
pub(crate) fn spawned(span: &Span, id: u64) {
    tracing::event!(target: "anyloop::task", parent: span, Level::DEBUG, task.id = id, "task spawned");
}

/// A wake-up scheduled the task.
#[inline]
pub(crate) fn woken(id: u64) {
    tracing::trace!(target: "anyloop::task::waker", op = "waker.wake", task.id = id);
}

/// Someone asked to cancel the task (`force`: through catch points, as at
/// loop shutdown).
#[inline]
pub(crate) fn cancel_requested(id: u64, msg: Option<&str>, force: bool) {
    tracing::event!(
        target: "anyloop::task",
        Level::DEBUG,
        task.id = id,
        cancel.message = msg,
        force,
        "task cancel requested"
    );
}

/// How a task ended, for the `task finished` event.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Outcome<'a> {
    Ok,
    /// A `TaskGroup` child returned an error (it went to the group).
    Error,
    Cancelled(Option<&'a str>),
    Panicked(Option<&'a str>),
}

/// The task finished.
#[inline(never)]
pub(crate) fn finished(span: &Span, id: u64, outcome: Outcome<'_>) {
    let (outcome, cancel, panic) = match outcome {
        Outcome::Ok => ("ok", None, None),
        Outcome::Error => ("error", None, None),
        Outcome::Cancelled(m) => ("cancelled", m, None),
        Outcome::Panicked(m) => ("panicked", None, m),
    };
    tracing::event!(
        target: "anyloop::task",
        parent: span,
        Level::DEBUG,
        task.id = id,
        outcome,
        cancel.message = cancel,
        panic.message = panic,
        "task finished"
    );
}

/// Times one poll for the `slow task poll` event: the start and the
/// loop's slow-callback duration (ns), if a subscriber wants the event.
#[inline]
pub(crate) fn poll_start() -> Option<(u64, u64)> {
    if !tracing::enabled!(target: "anyloop::task", Level::WARN) {
        return None;
    }
    poll_start_slow()
}

#[cold]
#[inline(never)]
fn poll_start_slow() -> Option<(u64, u64)> {
    driver::try_with_current(|l| (l.now(), l.debug.slow_ns()))
}

/// The poll timed by [`poll_start`] ended: warn if it was slow.
#[cold]
#[inline(never)]
pub(crate) fn poll_end(
    (start, slow): (u64, u64),
    span: &Span,
    id: u64,
    name: Option<&str>,
    at: &'static Location<'static>,
) {
    let Some(end) = driver::try_with_current(|l| l.now()) else {
        return;
    };
    let took = end.saturating_sub(start);
    if took < slow {
        return;
    }
    tracing::event!(
        target: "anyloop::task",
        parent: span,
        Level::WARN,
        task.id = id,
        task.name = name,
        loc = %at,
        poll.duration = ?Duration::from_nanos(took),
        "slow task poll"
    );
}
