//! Fuzz targets of anyloop, each checked against a simple model.
//!
//! Every target takes arbitrary bytes, reads them as a program of
//! operations (with [`arbitrary`]) and panics when anyloop's behaviour
//! departs from the model:
//!
//! - [`stream_reader`]: a [`StreamReader`] over a transport that delivers
//!   the data in arbitrary chunks, with `readline` / `readuntil` /
//!   `readexactly` / `read` / `read_into` / `read_to_eof` under an
//!   arbitrary limit, each
//!   cancelled (dropped) after an arbitrary number of polls or run to the
//!   end. The model is the remaining byte string: every result must be the
//!   one the model computes from it, and a cancelled call consumes nothing.
//! - [`queue`]: a FIFO [`Queue`] (bounded or not) under interleaved
//!   `put` / `get` futures (polled only when woken, like an executor
//!   does), `put_nowait` / `get_nowait`, and cancellation of waiting
//!   futures. Items are never lost, duplicated or reordered, the size
//!   stays within `maxsize`, and no waiter sleeps while it could proceed.
//! - [`semaphore`]: a [`Semaphore`] under `acquire` futures,
//!   `try_acquire`, permits dropped, forgotten and released, and
//!   cancelled acquires. Permits are conserved, waiters are served in
//!   FIFO order, and no waiter sleeps while a permit is free.
//!
//! `cargo test -p anyloop-fuzz` runs each target on a deterministic
//! corpus of pseudo-random inputs (bounded, for CI); `cargo xtask fuzz`
//! runs them under libFuzzer (`fuzz/libfuzzer`, nightly) for as long as
//! asked.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use anyloop::net::{IncompleteReadError, LimitOverrunError, StreamReader};
use anyloop::queue::Queue;
use anyloop::sync::Semaphore;
use arbitrary::{Result, Unstructured};

/// A waker that records that it was woken (the "ready" bit of a task).
#[derive(Default)]
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Flag {
    fn take(&self) -> bool {
        self.0.swap(false, Ordering::SeqCst)
    }
}

/// A future under test with its own waker.
struct Pending<F> {
    fut: Pin<Box<F>>,
    flag: Arc<Flag>,
    waker: Waker,
}

impl<F: Future> Pending<F> {
    fn new(fut: F) -> Self {
        let flag = Arc::new(Flag::default());
        Pending {
            fut: Box::pin(fut),
            waker: Waker::from(flag.clone()),
            flag,
        }
    }

    fn poll(&mut self) -> Poll<F::Output> {
        self.flag.take();
        self.fut
            .as_mut()
            .poll(&mut Context::from_waker(&self.waker))
    }

    fn woken(&self) -> bool {
        self.flag.0.load(Ordering::SeqCst)
    }
}

// ---------------------------------------------------------------------
// Stream reader
// ---------------------------------------------------------------------

/// The transport of [`stream_reader`]: `data[..fed]` has arrived;
/// reads return at most `chunk` bytes, `Pending` when nothing arrived.
struct Wire {
    data: Vec<u8>,
    fed: usize,
    pos: usize,
    chunk: usize,
}

#[derive(Clone)]
struct WireRef(Rc<RefCell<Wire>>);

impl futures_io::AsyncRead for WireRef {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut w = self.0.borrow_mut();
        if w.pos == w.data.len() {
            return Poll::Ready(Ok(0));
        }
        if w.pos == w.fed {
            // The test polls again after feeding more.
            return Poll::Pending;
        }
        let n = buf.len().min(w.fed - w.pos).min(w.chunk.max(1));
        let start = w.pos;
        buf[..n].copy_from_slice(&w.data[start..start + n]);
        w.pos += n;
        Poll::Ready(Ok(n))
    }
}

#[derive(Debug, Clone, Copy)]
enum ReadOp {
    Line,
    Until(u8),
    Exactly(u8),
    Read(u8),
    /// `read_into` a buffer of [`into_len`] bytes.
    Into(u8),
    ToEof,
}

/// `read_into`'s buffer: small (through the reader's buffer) or at least
/// 8 KiB (straight from the transport when nothing is buffered).
fn into_len(n: u8) -> usize {
    if n % 2 == 0 {
        n as usize % 100
    } else {
        8 * 1024 + n as usize
    }
}

impl ReadOp {
    fn arbitrary(u: &mut Unstructured<'_>) -> Result<ReadOp> {
        Ok(match u.int_in_range(0..=5)? {
            0 => ReadOp::Line,
            1 => ReadOp::Until(u.arbitrary()?),
            2 => ReadOp::Exactly(u.arbitrary()?),
            3 => ReadOp::Read(u.arbitrary()?),
            4 => ReadOp::Into(u.arbitrary()?),
            _ => ReadOp::ToEof,
        })
    }
}

/// Separators, chosen to overlap each other and the data alphabet.
const SEPARATORS: [&[u8]; 6] = [b"\n", b"\r\n", b"\r\n\r\n", b"ab", b"aab", b":"];

/// Runs the stream reader target on `input`.
///
/// # Panics
///
/// When the reader departs from the model (that is the finding).
pub fn stream_reader(input: &[u8]) {
    let _ = run_stream_reader(&mut Unstructured::new(input));
}

fn run_stream_reader(u: &mut Unstructured<'_>) -> Result<()> {
    // Data over a small alphabet, so separators are frequent.
    let len = u.int_in_range(0..=600)?;
    let mut data = Vec::with_capacity(len);
    for _ in 0..len {
        data.push(*u.choose(b"ab\r\n:x")?);
    }
    let limit = u.int_in_range(1..=80)?;
    let wire = WireRef(Rc::new(RefCell::new(Wire {
        data: data.clone(),
        fed: 0,
        pos: 0,
        chunk: u.int_in_range(1..=64)?,
    })));
    let mut reader = StreamReader::with_limit(wire.clone(), limit);
    // The model: everything not yet returned is `data[consumed..]`.
    let mut consumed = 0usize;

    {
        for _ in 0..64 {
            if u.is_empty() {
                break;
            }
            let op = ReadOp::arbitrary(u)?;
            // Polls before the call is dropped; 0 = run to completion.
            let cancel_after: u8 = u.int_in_range(0..=6)?;
            let feed: usize = u.int_in_range(0..=40)?;
            let outcome = drive(&mut reader, &wire, op, cancel_after, feed);
            if let Some(res) = outcome {
                consumed += check(op, limit, &data[consumed..], res);
            }
            // Cancelled or not, the buffer holds the next bytes: a
            // cancelled call consumed nothing.
            let rest = &data[consumed..];
            assert!(
                rest.starts_with(reader.buffered()),
                "{op:?}: the buffer {:?} is not the next data {rest:?}",
                reader.buffered()
            );
        }
        Ok(())
    }
}

/// Polls one reader call, feeding `feed` more bytes after each `Pending`;
/// `None` if it was dropped after `cancel_after` polls.
fn drive(
    reader: &mut StreamReader,
    wire: &WireRef,
    op: ReadOp,
    cancel_after: u8,
    feed: usize,
) -> Option<io::Result<Vec<u8>>> {
    let mut fut: Pin<Box<dyn Future<Output = io::Result<Vec<u8>>> + '_>> = match op {
        ReadOp::Line => Box::pin(reader.readline()),
        ReadOp::Until(i) => Box::pin(reader.readuntil(SEPARATORS[i as usize % SEPARATORS.len()])),
        ReadOp::Exactly(n) => Box::pin(reader.readexactly(n as usize % 100)),
        ReadOp::Read(n) => Box::pin(reader.read(n as usize % 100)),
        ReadOp::Into(n) => Box::pin(async move {
            let mut buf = vec![0u8; into_len(n)];
            let k = reader.read_into(&mut buf).await?;
            buf.truncate(k);
            Ok(buf)
        }),
        ReadOp::ToEof => Box::pin(reader.read_to_eof()),
    };
    let mut cx = Context::from_waker(Waker::noop());
    let mut polls = 0u32;
    loop {
        if let Poll::Ready(res) = fut.as_mut().poll(&mut cx) {
            return Some(res);
        }
        polls += 1;
        if cancel_after != 0 && polls >= u32::from(cancel_after) {
            return None;
        }
        let mut w = wire.0.borrow_mut();
        // Always make progress when running to completion.
        let more = if cancel_after == 0 { feed.max(1) } else { feed };
        w.fed = (w.fed + more).min(w.data.len());
    }
}

/// Checks a completed call against the model; returns the bytes it
/// consumed.
fn check(op: ReadOp, limit: usize, rest: &[u8], res: io::Result<Vec<u8>>) -> usize {
    match op {
        ReadOp::Read(_) | ReadOp::Into(_) => {
            let n = match op {
                ReadOp::Into(n) => into_len(n),
                ReadOp::Read(n) => n as usize % 100,
                _ => unreachable!("matched above"),
            };
            let got = res.expect("read failed");
            assert!(
                got.len() <= n && rest.starts_with(&got),
                "read({n}) gave {got:?}"
            );
            if n > 0 && !rest.is_empty() {
                assert!(!got.is_empty(), "read({n}) returned nothing before the end");
            }
            got.len()
        }
        ReadOp::ToEof => {
            assert_eq!(res.expect("read_to_eof failed"), rest);
            rest.len()
        }
        ReadOp::Exactly(n) => {
            let n = n as usize % 100;
            match res {
                Ok(got) => {
                    assert_eq!(got, rest[..n], "readexactly({n})");
                    n
                }
                Err(e) => {
                    let inc = IncompleteReadError::downcast(e).expect("readexactly: other error");
                    assert!(
                        rest.len() < n,
                        "readexactly({n}) failed with {} left",
                        rest.len()
                    );
                    assert_eq!(inc.partial, rest);
                    rest.len()
                }
            }
        }
        ReadOp::Line | ReadOp::Until(_) => {
            let sep = match op {
                ReadOp::Until(i) => SEPARATORS[i as usize % SEPARATORS.len()],
                _ => b"\n",
            };
            let found = rest.windows(sep.len()).position(|w| w == sep);
            match found {
                Some(i) if i <= limit => {
                    assert_eq!(
                        res.expect("separator within the limit"),
                        rest[..i + sep.len()]
                    );
                    i + sep.len()
                }
                _ => match res {
                    Ok(got) => {
                        // Only readline turns the end of stream into Ok.
                        assert!(matches!(op, ReadOp::Line), "{op:?} gave {got:?}");
                        assert!(found.is_none() && rest.len() < limit + sep.len());
                        assert_eq!(got, rest);
                        rest.len()
                    }
                    Err(e) => match LimitOverrunError::downcast(e) {
                        Ok(_) => 0, // The data stays buffered.
                        Err(e) => {
                            let inc = IncompleteReadError::downcast(e)
                                .unwrap_or_else(|e| panic!("{op:?}: unexpected error {e}"));
                            assert!(found.is_none(), "{op:?}: separator missed in {rest:?}");
                            assert_eq!(inc.partial, rest);
                            rest.len()
                        }
                    },
                },
            }
        }
    }
}

// ---------------------------------------------------------------------
// Queue
// ---------------------------------------------------------------------

#[derive(Debug)]
enum QueueOp {
    Put,
    Get,
    PutNowait,
    GetNowait,
    /// Cancel the n-th waiting future.
    Cancel(u8),
    /// Poll every woken future.
    Run,
}

impl QueueOp {
    fn arbitrary(u: &mut Unstructured<'_>) -> Result<QueueOp> {
        Ok(match u.int_in_range(0..=5)? {
            0 => QueueOp::Put,
            1 => QueueOp::Get,
            2 => QueueOp::PutNowait,
            3 => QueueOp::GetNowait,
            4 => QueueOp::Cancel(u.arbitrary()?),
            _ => QueueOp::Run,
        })
    }
}

/// Runs the queue target on `input`.
///
/// # Panics
///
/// When the queue departs from the model.
pub fn queue(input: &[u8]) {
    let _ = run_queue(&mut Unstructured::new(input));
}

fn run_queue(u: &mut Unstructured<'_>) -> Result<()> {
    let maxsize = u.int_in_range(0..=4)?;
    let q: Queue<u32> = Queue::new(maxsize);
    let mut next = 0u32;
    // The model: items put and not yet got, in order.
    let mut model: VecDeque<u32> = VecDeque::new();
    let mut puts: Vec<(u32, Pending<_>)> = Vec::new();
    let mut gets: Vec<Pending<_>> = Vec::new();
    let got_one = |v: u32, model: &mut VecDeque<u32>| {
        assert_eq!(
            model.pop_front(),
            Some(v),
            "items out of order, lost or duplicated"
        );
    };
    for _ in 0..256 {
        if u.is_empty() {
            break;
        }
        match QueueOp::arbitrary(u)? {
            QueueOp::Put => {
                next += 1;
                let mut p = Pending::new(q.put(next));
                match p.poll() {
                    Poll::Ready(r) => {
                        r.expect("put on a live queue");
                        model.push_back(next);
                    }
                    Poll::Pending => puts.push((next, p)),
                }
            }
            QueueOp::Get => {
                let mut g = Pending::new(q.get());
                match g.poll() {
                    Poll::Ready(r) => got_one(r.expect("get on a live queue"), &mut model),
                    Poll::Pending => gets.push(g),
                }
            }
            QueueOp::PutNowait => {
                next += 1;
                if q.put_nowait(next).is_ok() {
                    model.push_back(next);
                }
            }
            QueueOp::GetNowait => {
                if let Ok(v) = q.get_nowait() {
                    got_one(v, &mut model);
                }
            }
            QueueOp::Cancel(i) => {
                let n = puts.len() + gets.len();
                if n > 0 {
                    let i = i as usize % n;
                    if i < puts.len() {
                        puts.remove(i);
                    } else {
                        gets.remove(i - puts.len());
                    }
                }
            }
            QueueOp::Run => {}
        }
        // Like an executor: poll what was woken until nothing is.
        loop {
            let mut progress = false;
            let mut i = 0;
            while i < puts.len() {
                if puts[i].1.woken() {
                    progress = true;
                    if let Poll::Ready(r) = puts[i].1.poll() {
                        r.expect("put on a live queue");
                        model.push_back(puts.remove(i).0);
                        continue;
                    }
                }
                i += 1;
            }
            let mut i = 0;
            while i < gets.len() {
                if gets[i].woken() {
                    progress = true;
                    if let Poll::Ready(r) = gets[i].poll() {
                        gets.remove(i);
                        got_one(r.expect("get on a live queue"), &mut model);
                        continue;
                    }
                }
                i += 1;
            }
            if !progress {
                break;
            }
        }
        assert_eq!(q.qsize(), model.len(), "qsize differs from the model");
        if maxsize > 0 {
            assert!(q.qsize() <= maxsize);
            assert!(
                puts.is_empty() || q.qsize() == maxsize,
                "a put sleeps while the queue has room"
            );
        } else {
            assert!(puts.is_empty(), "a put waits on an unbounded queue");
        }
        assert!(
            gets.is_empty() || q.qsize() == 0,
            "a get sleeps while items wait"
        );
    }
    // Cancel everything, then what the model holds is exactly what is left.
    drop(puts);
    drop(gets);
    let mut rest = Vec::new();
    while let Ok(v) = q.get_nowait() {
        rest.push(v);
    }
    assert_eq!(
        rest,
        Vec::from(model),
        "the queue's remains differ from the model"
    );
    Ok(())
}

// ---------------------------------------------------------------------
// Semaphore
// ---------------------------------------------------------------------

#[derive(Debug)]
enum SemOp {
    Acquire,
    TryAcquire,
    /// Drop the n-th held permit.
    DropPermit(u8),
    /// Forget the n-th held permit.
    Forget(u8),
    Release,
    /// Cancel the n-th waiting acquire.
    Cancel(u8),
    Run,
}

impl SemOp {
    fn arbitrary(u: &mut Unstructured<'_>) -> Result<SemOp> {
        Ok(match u.int_in_range(0..=6)? {
            0 => SemOp::Acquire,
            1 => SemOp::TryAcquire,
            2 => SemOp::DropPermit(u.arbitrary()?),
            3 => SemOp::Forget(u.arbitrary()?),
            4 => SemOp::Release,
            5 => SemOp::Cancel(u.arbitrary()?),
            _ => SemOp::Run,
        })
    }
}

/// Runs the semaphore target on `input`.
///
/// # Panics
///
/// When the semaphore departs from the model.
pub fn semaphore(input: &[u8]) {
    let _ = run_semaphore(&mut Unstructured::new(input));
}

fn run_semaphore(u: &mut Unstructured<'_>) -> Result<()> {
    let initial = u.int_in_range(0..=3)?;
    let sem = Semaphore::new(initial);
    // The model: permits in existence (free + held).
    let mut total = initial;
    let mut held = Vec::new();
    // Waiting acquires in arrival order, with their arrival number.
    let mut waiting: Vec<(u32, Pending<_>)> = Vec::new();
    let mut arrivals = 0u32;
    for _ in 0..256 {
        if u.is_empty() {
            break;
        }
        match SemOp::arbitrary(u)? {
            SemOp::Acquire => {
                let had_waiters = !waiting.is_empty();
                let free = sem.available_permits();
                let mut a = Pending::new(sem.acquire());
                match a.poll() {
                    Poll::Ready(p) => {
                        assert!(!had_waiters, "acquire overtook a waiter");
                        assert!(free > 0);
                        held.push(p);
                    }
                    Poll::Pending => {
                        assert!(had_waiters || free == 0, "acquire waits with a free permit");
                        arrivals += 1;
                        waiting.push((arrivals, a));
                    }
                }
            }
            SemOp::TryAcquire => {
                let free = sem.available_permits();
                match sem.try_acquire() {
                    Some(p) => {
                        assert!(waiting.is_empty(), "try_acquire overtook a waiter");
                        held.push(p);
                    }
                    None => assert!(free == 0 || !waiting.is_empty()),
                }
            }
            SemOp::DropPermit(i) => {
                if !held.is_empty() {
                    let i = i as usize % held.len();
                    drop(held.remove(i));
                }
            }
            SemOp::Forget(i) => {
                if !held.is_empty() {
                    let i = i as usize % held.len();
                    held.remove(i).forget();
                    total -= 1;
                }
            }
            SemOp::Release => {
                sem.release();
                total += 1;
            }
            SemOp::Cancel(i) => {
                if !waiting.is_empty() {
                    let i = i as usize % waiting.len();
                    waiting.remove(i);
                }
            }
            SemOp::Run => {}
        }
        // Poll what was woken; waiters must be served in arrival order.
        loop {
            let mut progress = false;
            let mut i = 0;
            while i < waiting.len() {
                if waiting[i].1.woken() {
                    progress = true;
                    if let Poll::Ready(p) = waiting[i].1.poll() {
                        let (n, _) = waiting.remove(i);
                        assert!(
                            waiting.iter().all(|(m, _)| *m > n),
                            "acquire {n} served before an older waiter"
                        );
                        held.push(p);
                        continue;
                    }
                }
                i += 1;
            }
            if !progress {
                break;
            }
        }
        assert_eq!(
            sem.available_permits() + held.len(),
            total,
            "permits were created or lost"
        );
        assert!(
            waiting.is_empty() || sem.available_permits() == 0,
            "a waiter sleeps while a permit is free"
        );
    }
    drop(waiting);
    drop(held);
    assert_eq!(sem.available_permits(), total, "permits leaked at the end");
    Ok(())
}
