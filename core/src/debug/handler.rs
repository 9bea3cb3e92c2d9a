//! The loop's exception handler (asyncio's `loop.set_exception_handler`,
//! `call_exception_handler`, `default_exception_handler`) and the
//! debug-mode warnings.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use crate::driver::Shared;
use crate::shim::lock::{Mutex, MutexGuard};
use crate::task::{TaskError, TaskId, TaskMeta, TaskRef};

/// A loop's exception handler: see [`Handle::set_exception_handler`](crate::Handle::set_exception_handler).
pub type ExceptionHandler = Arc<dyn Fn(&ExceptionContext) + Send + Sync + 'static>;

/// A loop's warning handler: see [`Handle::set_warning_handler`](crate::Handle::set_warning_handler).
pub type WarningHandler = Arc<dyn Fn(&Warning) + Send + Sync + 'static>;

/// Which task a report is about: id, name and where it was spawned.
///
/// Its `Display` is `<Task name='worker' id=3 spawned at src/main.rs:10:5>`.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let t = anyloop::task::Builder::new().name("worker").spawn(async {});
/// let info = anyloop::debug::TaskInfo::of(&t.task_ref());
/// assert_eq!(info.name(), Some("worker"));
/// assert!(info.to_string().starts_with("<Task name='worker' id="));
/// t.await.unwrap();
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    id: TaskId,
    name: Option<String>,
    spawned_at: &'static Location<'static>,
}

impl TaskInfo {
    /// The id, name and spawn location of `task`.
    pub fn of(task: &TaskRef) -> TaskInfo {
        TaskInfo {
            id: task.id(),
            name: task.name().map(String::from),
            spawned_at: task.spawned_at(),
        }
    }

    pub(crate) fn of_meta(meta: &TaskMeta) -> TaskInfo {
        TaskInfo {
            id: meta.id(),
            name: meta.name().map(String::from),
            spawned_at: meta.location(),
        }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task's name, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Where the task was spawned (the caller of `spawn`).
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.spawned_at
    }
}

impl TaskInfo {
    /// Appends the `Display` text to `out`, without `core::fmt` (see
    /// [`Warning::line`]).
    fn push_to(&self, out: &mut String) {
        match &self.name {
            Some(n) => push_all(out, &["<Task name='", n, "' id="]),
            None => push_all(out, &["<Task id="]),
        }
        push_decimal(out, self.id.as_u64());
        // `Location`'s `Display` is `file:line:column`.
        let at = self.spawned_at;
        push_all(out, &[" spawned at ", at.file(), ":"]);
        push_decimal(out, at.line().into());
        push_all(out, &[":"]);
        push_decimal(out, at.column().into());
        push_all(out, &[">"]);
    }
}

/// Appends `parts` to `out`: one copy of `push_str`'s code for every
/// piece of a report line instead of one inlined at each.
#[inline(never)]
fn push_all(out: &mut String, parts: &[&str]) {
    for p in parts {
        out.push_str(p);
    }
}

impl fmt::Display for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.push_to(&mut s);
        f.write_str(&s)
    }
}

/// Appends `n` in decimal, at least `width` digits (zero-padded, at most
/// 20: `u64::MAX` has 20). The digits are filled in from the end of an
/// array of `""`s, which are pushed whole: no index the compiler cannot
/// bound (a bounds-check panic links `usize`'s `Display`).
fn push_decimal_width(out: &mut String, mut n: u64, width: usize) {
    const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    let mut digits = [""; 20];
    for (len, d) in digits.iter_mut().rev().enumerate() {
        if n == 0 && len >= width.max(1) {
            break;
        }
        *d = DIGITS[(n % 10) as usize];
        n /= 10;
    }
    push_all(out, &digits);
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut String, n: u64) {
    push_decimal_width(out, n, 1);
}

/// What [`call_exception_handler`](crate::Handle::call_exception_handler)
/// passes to the handler: asyncio's context dict (`message`, `task`,
/// `exception`).
///
/// Its `Display` is what [`default_exception_handler`] writes:
///
/// ```text
/// Task exception was never retrieved
/// task: <Task name='worker' id=3 spawned at src/main.rs:10:5>
/// error: task panicked: boom
/// ```
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// use anyloop::debug::ExceptionContext;
/// let ctx = ExceptionContext::new("connection lost")
///     .with_error(std::io::Error::other("peer reset"));
/// assert_eq!(ctx.message(), "connection lost");
/// assert_eq!(ctx.to_string(), "connection lost\nerror: peer reset");
/// ```
#[derive(Debug)]
pub struct ExceptionContext {
    message: String,
    task: Option<TaskInfo>,
    error: Option<Box<dyn Error + Send + 'static>>,
}

impl ExceptionContext {
    /// A context with `message` (asyncio's `context['message']`).
    pub fn new(message: impl Into<String>) -> Self {
        ExceptionContext {
            message: message.into(),
            task: None,
            error: None,
        }
    }

    /// Names the task concerned (asyncio's `context['task']`).
    pub fn with_task(mut self, task: TaskInfo) -> Self {
        self.task = Some(task);
        self
    }

    /// Attaches the error (asyncio's `context['exception']`).
    pub fn with_error(mut self, error: impl Error + Send + 'static) -> Self {
        self.error = Some(Box::new(error));
        self
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The task concerned, if any.
    pub fn task(&self) -> Option<&TaskInfo> {
        self.task.as_ref()
    }

    /// The error, if any; downcast it to [`TaskError`] for a task's panic.
    pub fn error(&self) -> Option<&(dyn Error + Send + 'static)> {
        self.error.as_deref()
    }
}

impl fmt::Display for ExceptionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(t) = &self.task {
            write!(f, "\ntask: {t}")?;
        }
        if let Some(e) = &self.error {
            write!(f, "\nerror: {e}")?;
        }
        Ok(())
    }
}

/// What a [`Warning`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WarningKind {
    /// Debug mode: one poll of a task took longer than the slow-callback
    /// duration (how long it took). The loop ran nothing else meanwhile.
    SlowPoll(Duration),
    /// Debug mode: the task was still pending when its loop closed, and
    /// was cancelled (asyncio's "Task was destroyed but it is pending!").
    PendingAtClose,
}

/// A debug-mode warning (asyncio logs these on the `asyncio` logger).
///
/// The default (no [warning handler](crate::Handle::set_warning_handler))
/// writes its `Display` to the host's diagnostic output (see
/// [`set_output`]), e.g.:
///
/// ```text
/// Executing <Task name='blocker' id=2 spawned at src/main.rs:7:5> took 0.501 seconds
/// ```
#[derive(Debug, Clone)]
pub struct Warning {
    kind: WarningKind,
    task: Option<TaskInfo>,
}

impl Warning {
    pub(crate) fn new(kind: WarningKind, task: Option<TaskInfo>) -> Self {
        Warning { kind, task }
    }

    /// What happened.
    pub fn kind(&self) -> WarningKind {
        self.kind
    }

    /// The task concerned, if any.
    pub fn task(&self) -> Option<&TaskInfo> {
        self.task.as_ref()
    }
}

impl Warning {
    /// The `Display` text, built without `core::fmt`: every program links
    /// the default warning output (debug mode is switched on at run time),
    /// and a wasm program that formats nothing else then links none of
    /// `core::fmt`'s machinery (`fmt::write`, padding, integer `Display`:
    /// ~3 KB).
    ///
    /// Out of line, and the task written at one place: `warn` builds the
    /// line on two paths.
    #[inline(never)]
    fn line(&self) -> String {
        let mut out = String::with_capacity(96);
        let prefix = match self.kind {
            WarningKind::SlowPoll(_) => "Executing ",
            WarningKind::PendingAtClose => {
                "Task was destroyed but it is pending (the loop closed): "
            }
        };
        push_all(&mut out, &[prefix]);
        match &self.task {
            Some(t) => t.push_to(&mut out),
            None => push_all(&mut out, &["<unknown task>"]),
        }
        if let WarningKind::SlowPoll(d) = self.kind {
            // Whole milliseconds (truncated) in integer arithmetic, as
            // asyncio prints `%.3f`: float formatting would link ~13 KB
            // of code into every wasm program, debug mode on or off, and
            // `u128` (`as_millis`) another ~3 KB of division code.
            let ms = d
                .as_secs()
                .saturating_mul(1000)
                .saturating_add(u64::from(d.subsec_millis()));
            push_all(&mut out, &[" took "]);
            push_decimal(&mut out, ms / 1000);
            push_all(&mut out, &["."]);
            push_decimal_width(&mut out, ms % 1000, 3);
            push_all(&mut out, &[" seconds"]);
        }
        out
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line())
    }
}

/// The handlers of one loop, reachable from any thread.
#[derive(Default)]
pub(crate) struct Handlers {
    exception: Mutex<Option<ExceptionHandler>>,
    warning: Mutex<Option<WarningHandler>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Handlers {
    pub(crate) fn set_exception(&self, h: Option<ExceptionHandler>) {
        *lock(&self.exception) = h;
    }

    pub(crate) fn exception(&self) -> Option<ExceptionHandler> {
        lock(&self.exception).clone()
    }

    pub(crate) fn set_warning(&self, h: Option<WarningHandler>) {
        *lock(&self.warning) = h;
    }

    /// Calls the exception handler, or the default one; a panicking
    /// handler is reported through the default one and never unwinds
    /// into the loop (asyncio logs "Unhandled error in exception handler").
    pub(crate) fn call_exception(&self, ctx: ExceptionContext) {
        let Some(h) = self.exception() else {
            return default_exception_handler(&ctx);
        };
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| h(&ctx))) {
            default_exception_handler(&ctx);
            default_exception_handler(
                &ExceptionContext::new("Unhandled error in exception handler")
                    .with_error(TaskError::panicked_quiet(p)),
            );
        }
    }

    pub(crate) fn warn(&self, w: Warning) {
        let h = lock(&self.warning).clone();
        match h {
            Some(h) => {
                if catch_unwind(AssertUnwindSafe(|| h(&w))).is_err() {
                    let mut line = w.line();
                    line.push_str("\n(the warning handler panicked)");
                    output(&line);
                }
            }
            None => output(&w.line()),
        }
    }
}

/// asyncio's `loop.default_exception_handler(context)`: writes the
/// context (message, task, error) to the host's diagnostic output (stderr
/// natively and on WASI, `console.error` in a browser; see [`set_output`]).
/// A handler installed with
/// [`Handle::set_exception_handler`](crate::Handle::set_exception_handler)
/// can call it to keep the default report.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// use anyloop::debug::{default_exception_handler, ExceptionContext};
/// default_exception_handler(&ExceptionContext::new("something went wrong"));
/// ```
pub fn default_exception_handler(ctx: &ExceptionContext) {
    output(&ctx.to_string());
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn stderr_line(line: &str) {
    use std::io::Write;
    // Two writes under one lock, no formatting machinery.
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(line.as_bytes());
    let _ = err.write_all(b"\n");
}

/// In a browser std's stderr discards what it is given (the web host sets
/// `console.error` as the output): the default writes nothing there, and
/// the program links no std stdio, reentrant lock or thread ids for it.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn stderr_line(_line: &str) {}

static OUTPUT: Mutex<fn(&str)> = Mutex::new(stderr_line);

/// Sets where debug-mode warnings and [`default_exception_handler`]
/// write, for the whole process: standard error by default; the browser
/// host sets `console.error` (its stderr goes nowhere). A [`Host`](crate::Host)
/// for a platform without stderr sets its own.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// fn to_stdout(line: &str) {
///     println!("{line}");
/// }
/// anyloop::debug::set_output(to_stdout);
/// ```
pub fn set_output(f: fn(&str)) {
    *lock(&OUTPUT) = f;
}

/// Writes one diagnostic report to the output chosen by [`set_output`].
pub(crate) fn output(text: &str) {
    let f = *lock(&OUTPUT);
    f(text);
}

/// The report a panic carries until its `Task` handle gives it to someone.
struct Unretrieved {
    shared: Arc<Shared>,
    task: TaskInfo,
}

/// A task's panic inside [`TaskError`]: the payload, and (until the error
/// is retrieved through the `Task` handle) what to report when it is
/// dropped unseen: asyncio's "Task exception was never retrieved", once,
/// with debug mode on or off.
pub(crate) struct Panicked {
    payload: Payload,
    unretrieved: Option<Unretrieved>,
}

/// A panic's payload, held so that `Panicked` (and so `TaskError`) is
/// `Sync`, as tokio's `JoinError`, without `unsafe`: the payloads `panic!`
/// makes (`&'static str`, `String`) are `Sync` and kept as they are, so
/// [`Panicked::message`] can lend them; any other payload (only `Send`)
/// sits behind a `Mutex`, never locked: only `self` reaches it.
enum Payload {
    Str(&'static str),
    String(String),
    Other(Mutex<Box<dyn Any + Send + 'static>>),
}

impl Payload {
    fn new(payload: Box<dyn Any + Send + 'static>) -> Self {
        match payload.downcast::<&'static str>() {
            Ok(s) => Payload::Str(*s),
            Err(p) => match p.downcast::<String>() {
                Ok(s) => Payload::String(*s),
                Err(p) => Payload::Other(Mutex::new(p)),
            },
        }
    }

    /// A stand-in left behind when the payload is taken: no message.
    fn taken() -> Self {
        Payload::Other(Mutex::new(Box::new(())))
    }

    /// The payload as `catch_unwind` gave it (same type and value).
    fn into_box(self) -> Box<dyn Any + Send + 'static> {
        match self {
            Payload::Str(s) => Box::new(s),
            Payload::String(s) => Box::new(s),
            Payload::Other(m) => m.into_inner().unwrap_or_else(PoisonError::into_inner),
        }
    }
}

thread_local! {
    /// The id of the task whose panic, now unwinding, was already
    /// reported (to its `TaskGroup`): no second report. 0: none.
    static HANDLED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Marks the panic unwinding out of the running task as reported
/// elsewhere (its `TaskGroup` got it).
#[cold]
pub(crate) fn panic_handled() {
    if let Some(t) = crate::current_task() {
        HANDLED.with(|h| h.set(t.id().as_u64()));
    }
}

impl Panicked {
    #[cold]
    pub(crate) fn new(payload: Box<dyn Any + Send + 'static>, meta: &TaskMeta) -> Box<Self> {
        let handled = HANDLED.with(|h| h.replace(0)) == meta.id().as_u64();
        Box::new(Panicked {
            payload: Payload::new(payload),
            unretrieved: (!handled).then(|| Unretrieved {
                shared: meta.shared().clone(),
                task: TaskInfo::of_meta(meta),
            }),
        })
    }

    pub(crate) fn quiet(payload: Box<dyn Any + Send + 'static>) -> Box<Self> {
        Box::new(Panicked {
            payload: Payload::new(payload),
            unretrieved: None,
        })
    }

    /// The panic message, when the payload is a string (as from `panic!`).
    pub(crate) fn message(&self) -> Option<&str> {
        match &self.payload {
            Payload::Str(s) => Some(s),
            Payload::String(s) => Some(s),
            Payload::Other(_) => None,
        }
    }

    pub(crate) fn take_payload(&mut self) -> Box<dyn Any + Send + 'static> {
        self.unretrieved = None;
        std::mem::replace(&mut self.payload, Payload::taken()).into_box()
    }

    #[inline]
    pub(crate) fn retrieved(&mut self) {
        self.unretrieved = None;
    }
}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Panicked>();
};

impl Drop for Panicked {
    fn drop(&mut self) {
        // With `panic = "abort"` no task's panic is ever caught, so no
        // `Panicked` exists: the report (and the formatting it links) is
        // left out of such programs.
        if !cfg!(panic = "unwind") {
            return;
        }
        if let Some(u) = self.unretrieved.take() {
            let payload = std::mem::replace(&mut self.payload, Payload::taken()).into_box();
            let ctx = ExceptionContext::new("Task exception was never retrieved")
                .with_task(u.task)
                .with_error(TaskError::panicked_quiet(payload));
            u.shared.handlers.call_exception(ctx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A payload comes back with its type and value; only strings have a
    /// message; a taken payload leaves none behind.
    #[test]
    fn payload_round_trips() {
        let mut p = Panicked::quiet(Box::new("static"));
        assert_eq!(p.message(), Some("static"));
        let b = p.take_payload();
        assert_eq!(b.downcast_ref::<&'static str>(), Some(&"static"));
        assert_eq!(p.message(), None);

        let mut p = Panicked::quiet(Box::new(String::from("owned")));
        assert_eq!(p.message(), Some("owned"));
        let b = p.take_payload();
        assert_eq!(
            b.downcast_ref::<String>().map(String::as_str),
            Some("owned")
        );

        let mut p = Panicked::quiet(Box::new(42_u32));
        assert_eq!(p.message(), None);
        assert_eq!(p.take_payload().downcast_ref::<u32>(), Some(&42));
    }

    /// The hand-built lines read exactly as `core::fmt` would write them.
    #[test]
    fn warning_text_matches_fmt() {
        let at = Location::caller();
        for (name, id) in [(Some("worker"), 0), (None, 7), (Some(""), u64::MAX)] {
            let task = TaskInfo {
                id: TaskId::from_u64(id),
                name: name.map(String::from),
                spawned_at: at,
            };
            let want = match name {
                Some(n) => format!("<Task name='{n}' id={id} spawned at {at}>"),
                None => format!("<Task id={id} spawned at {at}>"),
            };
            assert_eq!(task.to_string(), want);
            for (d, secs) in [
                (Duration::ZERO, "0.000"),
                (Duration::from_micros(5_999), "0.005"),
                (Duration::from_millis(42), "0.042"),
                (Duration::from_millis(501), "0.501"),
                (Duration::from_millis(12_345), "12.345"),
                (Duration::from_nanos(u64::MAX), "18446744073.709"),
            ] {
                let w = Warning::new(WarningKind::SlowPoll(d), Some(task.clone()));
                assert_eq!(
                    w.to_string(),
                    format!("Executing {want} took {secs} seconds")
                );
            }
            let w = Warning::new(WarningKind::PendingAtClose, Some(task));
            assert_eq!(
                w.to_string(),
                format!("Task was destroyed but it is pending (the loop closed): {want}")
            );
        }
        let w = Warning::new(WarningKind::PendingAtClose, None);
        assert_eq!(
            w.to_string(),
            "Task was destroyed but it is pending (the loop closed): <unknown task>"
        );
    }
}
