//! The `tracing` feature: a `runtime.spawn` span per task (name, id, spawn
//! location) entered around its polls, and events for spawn, wake,
//! cancel, finish and slow polls, seen by real subscribers (a collecting
//! `tracing_subscriber` layer, and `tracing_subscriber::fmt`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyloop::task::Builder;
use anyloop::{debug, yield_now, TaskGroup};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::subscriber::DefaultGuard;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

mod common;
use common::block_for;

/// Field values as text (strings without quotes, numbers in decimal).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Fields(BTreeMap<String, String>);

impl Fields {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.to_string());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}"));
    }
}

/// What the collector saw, in order.
#[derive(Debug, Clone)]
enum Rec {
    /// A new span: name, target, level, fields.
    NewSpan(&'static str, &'static str, Level, Fields),
    /// An event: target, level, fields, and the fields of its span (the
    /// explicit parent, else the current span), if any.
    Event(&'static str, Level, Fields, Option<Fields>),
    /// A span (by its `task.id`) was entered, exited, closed.
    Enter(String),
    Exit(String),
    Close(String),
}

type Log = Arc<Mutex<Vec<Rec>>>;

/// A `tracing_subscriber` layer that records every span and event.
struct Collector(Log);

impl Collector {
    fn task_id<S>(id: &Id, ctx: &Context<'_, S>) -> String
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        ctx.span(id)
            .and_then(|s| {
                s.extensions()
                    .get::<Fields>()
                    .and_then(|f| f.get("task.id").map(String::from))
            })
            .unwrap_or_default()
    }
}

impl<S> Layer<S> for Collector
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let m = attrs.metadata();
        self.0.lock().unwrap().push(Rec::NewSpan(
            m.name(),
            m.target(),
            *m.level(),
            fields.clone(),
        ));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let span = ctx
            .event_span(event)
            .and_then(|s| s.extensions().get::<Fields>().cloned());
        let m = event.metadata();
        self.0
            .lock()
            .unwrap()
            .push(Rec::Event(m.target(), *m.level(), fields, span));
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let t = Self::task_id(id, &ctx);
        self.0.lock().unwrap().push(Rec::Enter(t));
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        let t = Self::task_id(id, &ctx);
        self.0.lock().unwrap().push(Rec::Exit(t));
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let t = Self::task_id(&id, &ctx);
        self.0.lock().unwrap().push(Rec::Close(t));
    }
}

/// Installs a collector as this thread's subscriber until the guard drops.
fn collect() -> (Log, DefaultGuard) {
    let log: Log = Arc::default();
    let subscriber = tracing_subscriber::registry().with(Collector(log.clone()));
    (log, tracing::subscriber::set_default(subscriber))
}

/// The task's own records (its span, its events, entries into its span),
/// as short strings: `span`, `enter`, `exit`, `close`, or the event's
/// message (`task spawned`, ...; `wake` for waker events).
fn life(log: &Log, id: u64) -> Vec<String> {
    let id = id.to_string();
    let mine = |f: &Fields| f.get("task.id") == Some(&id);
    log.lock()
        .unwrap()
        .iter()
        .filter_map(|r| match r {
            Rec::NewSpan(_, _, _, f) if mine(f) => Some("span".to_string()),
            Rec::Event(target, _, f, _) if target.starts_with("anyloop") && mine(f) => {
                Some(match f.get("message") {
                    Some(m) => m.to_string(),
                    None => format!("op={}", f.get("op").unwrap_or("?")),
                })
            }
            Rec::Enter(t) if *t == id => Some("enter".into()),
            Rec::Exit(t) if *t == id => Some("exit".into()),
            Rec::Close(t) if *t == id => Some("close".into()),
            _ => None,
        })
        .collect()
}

/// The `anyloop::task` events of task `id` with message `msg`.
fn events(log: &Log, id: u64, msg: &str) -> Vec<(Level, Fields, Option<Fields>)> {
    let id = id.to_string();
    log.lock()
        .unwrap()
        .iter()
        .filter_map(|r| match r {
            Rec::Event("anyloop::task", level, f, span)
                if f.get("task.id") == Some(&id) && f.get("message") == Some(msg) =>
            {
                Some((*level, f.clone(), span.clone()))
            }
            _ => None,
        })
        .collect()
}

#[anyloop::test]
async fn each_task_has_a_runtime_spawn_span_with_its_name_id_and_spawn_location() {
    let (log, _guard) = collect();
    let line = line!() + 1;
    let t = Builder::new().name("worker").spawn(async { 6 * 7 });
    let id = t.id().as_u64();
    let col = t.spawned_at().column().to_string();
    assert_eq!(t.await.unwrap(), 42);
    let spans: Vec<_> = log
        .lock()
        .unwrap()
        .iter()
        .filter_map(|r| match r {
            Rec::NewSpan(name, target, level, f) if f.get("task.id") == Some(&id.to_string()) => {
                Some((*name, *target, *level, f.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(spans.len(), 1, "{spans:?}");
    let (name, target, level, f) = &spans[0];
    assert_eq!(*name, "runtime.spawn");
    assert_eq!(*target, "anyloop::task");
    assert_eq!(*level, Level::DEBUG);
    assert_eq!(f.get("kind"), Some("task"));
    assert_eq!(f.get("task.name"), Some("worker"));
    assert_eq!(f.get("loc.file"), Some(file!()));
    assert_eq!(f.get("loc.line"), Some(line.to_string().as_str()));
    assert_eq!(f.get("loc.col"), Some(col.as_str()), "{f:?}");
    // An unnamed task has no `task.name`.
    let t = anyloop::spawn(async {});
    let id = t.id().as_u64();
    t.await.unwrap();
    let unnamed = log.lock().unwrap().iter().find_map(|r| match r {
        Rec::NewSpan(_, _, _, f) if f.get("task.id") == Some(&id.to_string()) => Some(f.clone()),
        _ => None,
    });
    let unnamed = unnamed.expect("the unnamed task's span");
    assert_eq!(unnamed.get("task.name"), None, "{unnamed:?}");
    assert_eq!(unnamed.get("kind"), Some("task"));
}

#[anyloop::test]
async fn the_span_is_entered_around_each_poll_and_user_events_inside_carry_it() {
    let (log, _guard) = collect();
    let t = Builder::new().name("chatty").spawn(async {
        tracing::info!("first poll");
        yield_now().await;
        tracing::info!("second poll");
    });
    let id = t.id().as_u64();
    t.await.unwrap();
    assert_eq!(
        life(&log, id),
        [
            "span",
            "task spawned",
            "enter",
            "op=waker.wake", // yield_now wakes its own task, inside its poll
            "exit",
            "enter",
            "exit",
            "task finished",
            "close"
        ],
        "{:#?}",
        log.lock().unwrap()
    );
    let ours: Vec<_> = log
        .lock()
        .unwrap()
        .iter()
        .filter_map(|r| match r {
            Rec::Event(target, Level::INFO, f, span) if *target == module_path!() => Some((
                f.get("message").map(String::from),
                span.as_ref()
                    .and_then(|s| s.get("task.name").map(String::from)),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        ours,
        [
            (Some("first poll".into()), Some("chatty".into())),
            (Some("second poll".into()), Some("chatty".into()))
        ]
    );
}

#[anyloop::test]
async fn events_run_spawn_then_wake_then_finish_with_outcome_ok() {
    let (log, _guard) = collect();
    let t = anyloop::spawn(async {
        anyloop::sleep(Duration::from_millis(5)).await;
    });
    let id = t.id().as_u64();
    t.await.unwrap();
    let msgs: Vec<_> = life(&log, id)
        .into_iter()
        .filter(|m| !matches!(m.as_str(), "span" | "enter" | "exit" | "close"))
        .collect();
    assert_eq!(msgs, ["task spawned", "op=waker.wake", "task finished"]);
    let finished = events(&log, id, "task finished");
    let (level, fields, span) = &finished[0];
    assert_eq!(*level, Level::DEBUG);
    assert_eq!(fields.get("outcome"), Some("ok"));
    // In the task's own span.
    let span = span.as_ref().expect("the finish event's span");
    assert_eq!(span.get("task.id"), Some(id.to_string().as_str()));
    // The waker event, tokio's shape: target `…::waker`, `op`, `task.id`.
    let wakes: Vec<_> = log
        .lock()
        .unwrap()
        .iter()
        .filter_map(|r| match r {
            Rec::Event(target, level, f, _) if f.get("task.id") == Some(&id.to_string()) => {
                f.get("op").map(|op| (*target, *level, op.to_string()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        wakes,
        [("anyloop::task::waker", Level::TRACE, "waker.wake".into())]
    );
}

#[anyloop::test]
async fn cancel_emits_a_cancel_event_then_finish_with_outcome_cancelled() {
    let (log, _guard) = collect();
    let t = anyloop::spawn(std::future::pending::<()>());
    let id = t.id().as_u64();
    yield_now().await; // it waits now
    let r = t.task_ref();
    let canceller = Builder::new()
        .name("canceller")
        .spawn(async move { r.cancel_with("enough") });
    assert!(canceller.await.unwrap());
    assert!(t.await.unwrap_err().is_cancelled());
    let msgs: Vec<_> = life(&log, id)
        .into_iter()
        .filter(|m| m.starts_with("task") || m.starts_with("op="))
        .collect();
    assert_eq!(
        msgs,
        [
            "task spawned",
            "task cancel requested",
            "op=waker.wake",
            "task finished"
        ]
    );
    let (level, cancel, span) = &events(&log, id, "task cancel requested")[0];
    assert_eq!(*level, Level::DEBUG);
    assert_eq!(cancel.get("cancel.message"), Some("enough"));
    assert_eq!(cancel.get("force"), Some("false"));
    // Emitted where the cancel came from: the canceller's span.
    assert_eq!(
        span.as_ref().and_then(|s| s.get("task.name")),
        Some("canceller")
    );
    let (_, finished, _) = &events(&log, id, "task finished")[0];
    assert_eq!(finished.get("outcome"), Some("cancelled"));
    assert_eq!(finished.get("cancel.message"), Some("enough"));
}

#[anyloop::test]
async fn a_task_group_child_that_returns_an_error_finishes_with_outcome_error() {
    let (log, _guard) = collect();
    let group = TaskGroup::new();
    let ok = group.spawn(async { Ok(()) }).unwrap();
    let bad = group.spawn(async { Err::<(), _>("no") }).unwrap();
    let (ok, bad) = (ok.id().as_u64(), bad.id().as_u64());
    assert!(group.join().await.is_err());
    let outcome = |id| {
        events(&log, id, "task finished")[0]
            .1
            .get("outcome")
            .map(String::from)
    };
    assert_eq!(outcome(ok).as_deref(), Some("ok"));
    assert_eq!(outcome(bad).as_deref(), Some("error"));
}

#[anyloop::test]
async fn a_panicking_task_finishes_with_outcome_panicked() {
    if !anyloop::capabilities().catch_panic {
        // wasm: a panic aborts the instance (see Capabilities::catch_panic).
        return;
    }
    let (log, _guard) = collect();
    let t = anyloop::spawn(async { panic!("boom") });
    let id = t.id().as_u64();
    assert!(t.await.unwrap_err().is_panic());
    let (_, finished, _) = &events(&log, id, "task finished")[0];
    assert_eq!(finished.get("outcome"), Some("panicked"));
    assert_eq!(finished.get("panic.message"), Some("boom"));
}

#[anyloop::test]
async fn a_poll_slower_than_the_slow_callback_duration_emits_a_warning() {
    let (log, _guard) = collect();
    // A threshold far above a scheduler stall on a loaded machine (the
    // first poll and `fast` must stay under it), far below the blocking poll.
    debug::set_slow_callback_duration(Duration::from_millis(50));
    let slow = Builder::new().name("blocker").spawn(async {
        yield_now().await;
        block_for(Duration::from_millis(300));
    });
    let fast = anyloop::spawn(async {});
    let (slow_id, fast_id) = (slow.id().as_u64(), fast.id().as_u64());
    let at = slow.spawned_at().to_string();
    slow.await.unwrap();
    fast.await.unwrap();
    debug::set_slow_callback_duration(Duration::from_millis(100));
    let warnings = events(&log, slow_id, "slow task poll");
    assert_eq!(warnings.len(), 1, "{:#?}", log.lock().unwrap());
    let (level, f, span) = &warnings[0];
    assert_eq!(*level, Level::WARN);
    assert_eq!(f.get("task.name"), Some("blocker"));
    assert_eq!(f.get("loc"), Some(at.as_str()), "{f:?}");
    let took = f.get("poll.duration").unwrap_or_default();
    assert!(took.ends_with("ms") || took.ends_with('s'), "{took}");
    assert_eq!(
        span.as_ref().and_then(|s| s.get("task.name")),
        Some("blocker")
    );
    assert!(events(&log, fast_id, "slow task poll").is_empty());
    // The slow poll was the second one: after the wake, before the finish.
    let msgs: Vec<_> = life(&log, slow_id)
        .into_iter()
        .filter(|m| m.starts_with("task") || m.starts_with("op=") || m.starts_with("slow"))
        .collect();
    assert_eq!(
        msgs,
        [
            "task spawned",
            "op=waker.wake",
            "slow task poll",
            "task finished"
        ]
    );
}

/// A `fmt` writer into a shared buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[anyloop::test]
async fn tracing_subscriber_fmt_prints_the_task_span_and_its_events() {
    let buf = Buffer::default();
    let out = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(Level::DEBUG)
        .without_time()
        .with_ansi(false)
        .with_writer(move || out.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    let t = Builder::new().name("worker").spawn(async {
        tracing::info!(answer = 42, "working");
    });
    let id = t.id();
    let at = t.spawned_at();
    t.await.unwrap();
    drop(guard);
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let span = format!(
        "runtime.spawn{{kind=\"task\" task.name=\"worker\" task.id={id} loc.file=\"{}\" \
         loc.line={} loc.col={}}}",
        at.file(),
        at.line(),
        at.column()
    );
    assert_eq!(at.file(), file!());
    for want in [
        format!("DEBUG {span}: anyloop::task: task spawned task.id={id}"),
        format!("INFO {span}: {}: working answer=42", module_path!()),
        format!("DEBUG {span}: anyloop::task: task finished task.id={id} outcome=\"ok\""),
    ] {
        assert!(
            text.lines().any(|l| l.trim_start() == want),
            "no line {want:?} in:\n{text}"
        );
    }
}
