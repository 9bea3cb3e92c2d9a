//! The board: every demo task as a row with its phase history, grouped by
//! the scenario run that started it.
//!
//! The board lives in a thread-local (the loop is single-threaded). Nothing
//! here calls into the event loop while the board is borrowed, so a task
//! dropped by cancellation can always record its last phase.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt::{self, Write as _};
use std::future::Future;

use anyloop::time::Instant;
use anyloop::{Task, TaskRef};

/// Where a demo task is, as drawn on the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Spawned, not started yet.
    Pending,
    /// Computing (between two awaits, or ready to go on).
    Running,
    /// Awaiting a `sleep`.
    Sleeping,
    /// Awaiting something else: a queue, another task.
    Waiting,
    /// Finished with a value.
    Done,
    /// Cancelled: its future was dropped at an await point.
    Cancelled,
    /// Finished with an error.
    Failed,
}

impl Phase {
    /// The name the page shows (and the CSS class it uses).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "pending",
            Phase::Running => "running",
            Phase::Sleeping => "sleeping",
            Phase::Waiting => "waiting",
            Phase::Done => "done",
            Phase::Cancelled => "cancelled",
            Phase::Failed => "failed",
        }
    }

    /// Done, cancelled or failed.
    pub fn is_final(self) -> bool {
        matches!(self, Phase::Done | Phase::Cancelled | Phase::Failed)
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A row's id (unique for the page's life).
pub type RowId = u32;
/// A group's id: one scenario run.
pub type GroupId = u32;

struct Row {
    id: RowId,
    group: GroupId,
    name: String,
    phase: Phase,
    detail: String,
    /// `(start ms, phase)`: the phase history; each span ends where the next begins.
    spans: Vec<(f64, Phase)>,
    task: Option<TaskRef>,
}

struct Group {
    id: GroupId,
    kind: &'static str,
    title: String,
    summary: String,
    status: Phase,
    start: f64,
    end: Option<f64>,
    /// For the CPU storm: tasks finished / total.
    progress: Option<(u64, u64)>,
}

#[derive(Default)]
struct Board {
    groups: Vec<Group>,
    rows: Vec<Row>,
    log: VecDeque<(f64, String)>,
    next_id: u32,
    origin: Option<Instant>,
}

const LOG_LINES: usize = 80;

thread_local! {
    static BOARD: RefCell<Board> = RefCell::new(Board::default());
    static RNG: Cell<u64> = const { Cell::new(0x9E37_79B9_7F4A_7C15) };
}

fn with<R>(f: impl FnOnce(&mut Board) -> R) -> Option<R> {
    BOARD
        .try_with(|b| b.try_borrow_mut().ok().map(|mut b| f(&mut b)))
        .ok()
        .flatten()
}

impl Board {
    fn now(&mut self) -> f64 {
        let Some(now) = Instant::try_now() else {
            return 0.0;
        };
        let origin = *self.origin.get_or_insert(now);
        now.duration_since(origin).as_secs_f64() * 1e3
    }

    fn row(&mut self, id: RowId) -> Option<&mut Row> {
        self.rows.iter_mut().find(|r| r.id == id)
    }

    fn group(&mut self, id: GroupId) -> Option<&mut Group> {
        self.groups.iter_mut().find(|g| g.id == id)
    }

    fn next_id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }
}

/// Milliseconds since the board's first use, on the loop's clock.
pub fn now_ms() -> f64 {
    with(Board::now).unwrap_or(0.0)
}

/// A small xorshift random number in `lo..=hi` (the demo needs no more).
pub fn rand_range(lo: u64, hi: u64) -> u64 {
    let x = RNG.with(|r| {
        let mut x = r.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        r.set(x);
        x
    });
    lo + x % (hi - lo + 1)
}

/// Seeds [`rand_range`].
pub fn seed(s: u64) {
    RNG.with(|r| r.set(s | 1));
}

/// Appends a line to the event log the page shows.
pub fn log(msg: impl Into<String>) {
    let msg = msg.into();
    with(|b| {
        let t = b.now();
        if b.log.len() == LOG_LINES {
            b.log.pop_front();
        }
        b.log.push_back((t, msg));
    });
}

/// Starts a group (one scenario run) of `kind` (`"sleepers"`, `"taskgroup"`,
/// `"queue"`, `"cpu"`), shown under `title`.
pub fn new_group(kind: &'static str, title: impl Into<String>) -> GroupId {
    with(|b| {
        let id = b.next_id();
        let start = b.now();
        b.groups.push(Group {
            id,
            kind,
            title: title.into(),
            summary: String::new(),
            status: Phase::Running,
            start,
            end: None,
            progress: None,
        });
        id
    })
    .unwrap_or(0)
}

/// Sets the line of output shown under a group's title.
pub fn set_summary(g: GroupId, summary: impl Into<String>) {
    let summary = summary.into();
    with(|b| {
        if let Some(g) = b.group(g) {
            g.summary = summary;
        }
    });
}

/// Sets a group's progress counter (the CPU storm's finished/total).
pub fn set_progress(g: GroupId, done: u64, total: u64) {
    with(|b| {
        if let Some(g) = b.group(g) {
            g.progress = Some((done, total));
        }
    });
}

/// Marks a group finished with `status`.
pub fn finish_group(g: GroupId, status: Phase) {
    with(|b| {
        let now = b.now();
        if let Some(g) = b.group(g) {
            g.status = status;
            g.end = Some(now);
        }
    });
}

/// Adds a row in `Pending` phase.
pub fn add_row(g: GroupId, name: impl Into<String>) -> RowId {
    let name = name.into();
    with(|b| {
        let id = b.next_id();
        let t = b.now();
        b.rows.push(Row {
            id,
            group: g,
            name,
            phase: Phase::Pending,
            detail: String::new(),
            spans: vec![(t, Phase::Pending)],
            task: None,
        });
        id
    })
    .unwrap_or(0)
}

/// Moves a row to `phase` (a final phase is never left).
pub fn set_phase(id: RowId, phase: Phase) {
    with(|b| {
        let t = b.now();
        if let Some(r) = b.row(id) {
            if r.phase == phase || r.phase.is_final() {
                return;
            }
            r.phase = phase;
            r.spans.push((t, phase));
        }
    });
}

/// Sets the text shown beside a row's timeline.
pub fn set_detail(id: RowId, detail: impl Into<String>) {
    let detail = detail.into();
    with(|b| {
        if let Some(r) = b.row(id) {
            r.detail = detail;
        }
    });
}

/// A row's phase.
pub fn phase(id: RowId) -> Option<Phase> {
    with(|b| b.row(id).map(|r| r.phase)).flatten()
}

/// The rows of a group: `(name, phase, detail)`.
pub fn rows_of(g: GroupId) -> Vec<(String, Phase, String)> {
    with(|b| {
        b.rows
            .iter()
            .filter(|r| r.group == g)
            .map(|r| (r.name.clone(), r.phase, r.detail.clone()))
            .collect()
    })
    .unwrap_or_default()
}

/// A group's summary line.
pub fn summary(g: GroupId) -> String {
    with(|b| b.group(g).map(|g| g.summary.clone()))
        .flatten()
        .unwrap_or_default()
}

/// Cancels the task of row `id` (the page's cancel button). `false` if the
/// row has no live task.
pub fn cancel(id: RowId) -> bool {
    // Take the task reference out first: cancelling must not happen while
    // the board is borrowed.
    let task = with(|b| b.row(id).and_then(|r| r.task.clone())).flatten();
    match task {
        Some(t) if !t.is_finished() => {
            log(format!(
                "{}.cancel() from the page",
                t.name().unwrap_or("task")
            ));
            t.cancel()
        }
        _ => false,
    }
}

/// Removes the groups whose rows have all finished.
pub fn clear_finished() {
    with(|b| {
        let live: Vec<GroupId> = b
            .groups
            .iter()
            .filter(|g| {
                g.end.is_none()
                    || b.rows
                        .iter()
                        .any(|r| r.group == g.id && !r.phase.is_final())
            })
            .map(|g| g.id)
            .collect();
        b.groups.retain(|g| live.contains(&g.id));
        b.rows.retain(|r| live.contains(&r.group));
    });
}

/// Marks its row cancelled when the task's future is dropped before it
/// finished: that is what cancellation is in Rust.
struct RowGuard {
    id: RowId,
    finished: bool,
}

impl Drop for RowGuard {
    fn drop(&mut self) {
        if !self.finished {
            let id = self.id;
            let name = with(|b| {
                let now = b.now();
                let r = b.row(id)?;
                let started = r.spans.first().map_or(now, |s| s.0);
                r.detail = format!("cancelled after {} s", Fixed((now - started) / 1e3, 2));
                Some(r.name.clone())
            })
            .flatten()
            .unwrap_or_default();
            set_phase(id, Phase::Cancelled);
            log(format!(
                "{name} cancelled: its future was dropped, destructors ran"
            ));
        }
    }
}

/// Wraps a task body so that its row tracks it: pending until the first
/// poll, then running, and at the end done (`Ok`), failed (`Err`, shown as
/// the row's detail) or cancelled (the future was dropped before it
/// finished). On its first poll it records [`anyloop::current_task`] as the
/// row's task, which the cancel button cancels.
pub fn track<T, F>(id: RowId, fut: F) -> impl Future<Output = Result<T, String>>
where
    F: Future<Output = Result<T, String>>,
{
    // Created now, so that a task cancelled before its first poll still
    // drops it and shows as cancelled.
    let guard = RowGuard {
        id,
        finished: false,
    };
    async move {
        let mut guard = guard;
        if let Some(me) = anyloop::current_task() {
            set_task(id, me);
        }
        set_phase(id, Phase::Running);
        let out = fut.await;
        guard.finished = true;
        match &out {
            Ok(_) => set_phase(id, Phase::Done),
            Err(e) => {
                set_detail(id, e.clone());
                set_phase(id, Phase::Failed);
            }
        }
        out
    }
}

/// Records the task the cancel button of row `id` cancels.
pub fn set_task(id: RowId, task: TaskRef) {
    with(|b| {
        if let Some(r) = b.row(id) {
            r.task = Some(task);
        }
    });
}

/// Spawns `body(row)` as an anyloop task named `name` with its own
/// [`track`]ed row in group `g`.
pub fn spawn_row<T, F>(
    g: GroupId,
    name: &str,
    body: impl FnOnce(RowId) -> F,
) -> (RowId, Task<Result<T, String>>)
where
    T: 'static,
    F: Future<Output = Result<T, String>> + 'static,
{
    let id = add_row(g, name);
    let task = anyloop::task::Builder::new()
        .name(name.to_owned())
        .spawn(track(id, body(id)));
    set_task(id, task.task_ref());
    (id, task)
}

/// `sleep(ms)` with the row shown as sleeping meanwhile.
pub async fn nap(id: RowId, ms: u64) {
    set_phase(id, Phase::Sleeping);
    anyloop::sleep(std::time::Duration::from_millis(ms)).await;
    set_phase(id, Phase::Running);
}

/// Awaits `fut` with the row shown as waiting meanwhile.
pub async fn waiting<F: Future>(id: RowId, fut: F) -> F::Output {
    set_phase(id, Phase::Waiting);
    let out = fut.await;
    set_phase(id, Phase::Running);
    out
}

/// `self.0` with `self.1` (at most 9) fractional digits, rounded half
/// away from zero, written with integer arithmetic: `{:.1}` on an `f64`
/// links core's float formatting (flt2dec, ~15 KB) into the page's wasm.
/// A non-finite value (never a clock difference) prints as `0`.
#[derive(Clone, Copy)]
pub(crate) struct Fixed(pub(crate) f64, pub(crate) u32);

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Fixed(x, d) = *self;
        if !x.is_finite() {
            return f.write_str("0");
        }
        let scale = 10u64.pow(d.min(9));
        // `as` saturates: values past u64::MAX / scale print as that.
        let v = (x.abs() * scale as f64 + 0.5) as u64;
        if x < 0.0 && v != 0 {
            f.write_str("-")?;
        }
        write!(f, "{}", v / scale)?;
        if d > 0 {
            write!(f, ".{:0w$}", v % scale, w = d.min(9) as usize)?;
        }
        Ok(())
    }
}

fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The `limit` oldest tasks of the running loop from
/// `anyloop::monitor::tasks_head()` (the monitor console's `ps`, cut
/// short) and the number of live tasks, as JSON for the page's live task
/// panel:
///
/// ```text
/// {"count":12,"rows":[{"id":1,"name":"sleeper-1"|null,"state":"waiting","age_ms":812.5|null,
///   "polls":4,"busy_ms":0.3,"at":"www/demo/src/board.rs:411:10"},..]}
/// ```
///
/// Only `limit` rows are built: during the CPU storm 100,000 tasks are
/// alive, and a row for each, five times a second, would slow the storm.
///
/// # Examples
///
/// ```
/// anyloop::run(async {
///     let json = anyloop_www_demo::board::tasks_json(40);
///     assert!(
///         json.starts_with("{\"count\":1,\"rows\":[{\"id\":1,\"name\":\"main\",\"state\":\"running\""),
///         "{json}"
///     );
/// });
/// ```
pub fn tasks_json(limit: usize) -> String {
    let (count, rows) = anyloop::monitor::tasks_head(limit);
    let mut o = format!("{{\"count\":{count},\"rows\":[");
    for (i, r) in rows.into_iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        let _ = write!(o, "{{\"id\":{},\"name\":", r.id);
        match &r.name {
            Some(n) => json_str(&mut o, n),
            None => o.push_str("null"),
        }
        let _ = write!(
            o,
            ",\"state\":\"{}\",\"age_ms\":",
            anyloop::monitor::state_name(r.state)
        );
        match r.age {
            Some(a) => {
                let _ = write!(o, "{}", Fixed(a.as_secs_f64() * 1e3, 1));
            }
            None => o.push_str("null"),
        }
        let _ = write!(
            o,
            ",\"polls\":{},\"busy_ms\":{},\"at\":",
            r.polls,
            Fixed(r.busy.as_secs_f64() * 1e3, 3)
        );
        json_str(&mut o, &r.spawned_at.to_string());
        o.push('}');
    }
    o.push_str("]}");
    o
}

/// The whole board as JSON, for the page:
///
/// ```text
/// {"now":ms,"tasks":live anyloop tasks,
///  "groups":[{"id","kind","title","summary","status","start","end","progress":[done,total]|null,
///             "rows":[{"id","name","phase","detail","spans":[[ms,"phase"],..]}]}],
///  "log":[[ms,"line"],..]}
/// ```
pub fn snapshot_json() -> String {
    // The installed loop's count is O(1); `all_tasks()` would copy every
    // task reference (100k during the CPU storm) once per frame.
    let live = anyloop::EventLoop::with_installed(|l| l.task_count())
        .unwrap_or_else(|| anyloop::all_tasks().len());
    with(|b| {
        let now = b.now();
        let mut o = String::with_capacity(4096);
        let _ = write!(
            o,
            "{{\"now\":{},\"tasks\":{live},\"groups\":[",
            Fixed(now, 1)
        );
        for (gi, g) in b.groups.iter().enumerate() {
            if gi > 0 {
                o.push(',');
            }
            let _ = write!(o, "{{\"id\":{},\"kind\":", g.id);
            json_str(&mut o, g.kind);
            o.push_str(",\"title\":");
            json_str(&mut o, &g.title);
            o.push_str(",\"summary\":");
            json_str(&mut o, &g.summary);
            let _ = write!(
                o,
                ",\"status\":\"{}\",\"start\":{},\"end\":",
                g.status,
                Fixed(g.start, 1)
            );
            match g.end {
                Some(e) => {
                    let _ = write!(o, "{}", Fixed(e, 1));
                }
                None => o.push_str("null"),
            }
            o.push_str(",\"progress\":");
            match g.progress {
                Some((d, t)) => {
                    let _ = write!(o, "[{d},{t}]");
                }
                None => o.push_str("null"),
            }
            o.push_str(",\"rows\":[");
            for (ri, r) in b.rows.iter().filter(|r| r.group == g.id).enumerate() {
                if ri > 0 {
                    o.push(',');
                }
                let _ = write!(o, "{{\"id\":{},\"name\":", r.id);
                json_str(&mut o, &r.name);
                let _ = write!(o, ",\"phase\":\"{}\",\"detail\":", r.phase);
                json_str(&mut o, &r.detail);
                o.push_str(",\"spans\":[");
                for (si, (t, p)) in r.spans.iter().enumerate() {
                    if si > 0 {
                        o.push(',');
                    }
                    let _ = write!(o, "[{},\"{p}\"]", Fixed(*t, 1));
                }
                o.push_str("]}");
            }
            o.push_str("]}");
        }
        o.push_str("],\"log\":[");
        for (i, (t, line)) in b.log.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            let _ = write!(o, "[{},", Fixed(*t, 1));
            json_str(&mut o, line);
            o.push(']');
        }
        o.push_str("]}");
        o
    })
    .unwrap_or_else(|| "{}".into())
}

#[cfg(test)]
mod tests {
    use super::Fixed;

    #[test]
    fn fixed_prints_as_float_formatting_does() {
        for (x, d) in [
            (0.0, 1),
            (1.26, 1),
            (12.04, 1),
            (0.5, 0),
            (2.5, 0),
            (-3.14259, 2),
            (-0.001, 1),
            (1234.5678, 3),
            (0.049, 1),
            (99.96, 1),
        ] {
            let want = format!("{:.*}", d as usize, x);
            // `{:.N}` rounds half to even on exact ties; `Fixed` rounds
            // them away from zero, and never prints `-0`.
            let want = match want.as_str() {
                "0" if x == 0.5 => "1".to_string(),
                "2" if x == 2.5 => "3".to_string(),
                "-0.0" => "0.0".to_string(),
                _ => want,
            };
            assert_eq!(Fixed(x, d).to_string(), want, "{x} with {d} digits");
        }
        assert_eq!(Fixed(f64::NAN, 1).to_string(), "0");
    }
}
