//! The peers: anyloop, tokio (current_thread runtime + `LocalSet`,
//! `spawn_local`) and smol (`async-executor` `LocalExecutor`).
//!
//! Natively smol's executor is driven by `async_io::block_on(ex.run(..))`
//! with `async-io` timers. On wasm32-wasip1 (`cargo xtask bench --host
//! wasi`) `async-io` does not build (no wasm reactor), so smol's
//! `LocalExecutor` is driven by [`smol_wasi::block_on`], a copy of what
//! `async_io::block_on` does with timers only: poll, fire due timers from an
//! ordered map (`BTreeMap<(Instant, id), Waker>`, as async-io's reactor
//! keeps them), else sleep until the earliest deadline (one `poll_oneoff`
//! via `std::thread::sleep`). anyloop and tokio (its wasip1 support:
//! current_thread + `time` + `sync`, `LocalSet`) are the same code on both.
//!
//! On wasm32-wasip2 a fourth peer joins: [`Wstd`], the Bytecode Alliance's
//! WASI 0.2 runtime (`wstd::runtime::block_on`, its `wasi:io/poll`
//! reactor and timers), with `async-channel` and `async-lock` as smol
//! uses (wstd has no channels or locks of its own).
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::workloads::{Locks, Runtime};

// ---------------------------------------------------------------- anyloop

/// anyloop on its native host (`anyloop::run`).
pub struct Anyloop;

/// `anyloop::Task<T>` unwrapped (the bench never cancels).
pub struct AnyloopJoin<T>(anyloop::Task<T>);

impl<T> Future for AnyloopJoin<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match Pin::new(&mut self.0).poll(cx) {
            Poll::Ready(Ok(v)) => Poll::Ready(v),
            Poll::Ready(Err(e)) => panic!("bench task failed: {e}"),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Runtime for Anyloop {
    const NAME: &'static str = "anyloop";
    type Join<T: 'static> = AnyloopJoin<T>;

    fn block_on<F>(fut: F) -> F::Output
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        anyloop::run(fut)
    }

    fn spawn<F>(fut: F) -> Self::Join<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        AnyloopJoin(anyloop::spawn(fut))
    }

    fn spawn_detached<F>(fut: F)
    where
        F: Future<Output = ()> + 'static,
    {
        anyloop::spawn(fut).detach();
    }

    fn sleep(dur: Duration) -> impl Future<Output = ()> {
        anyloop::sleep(dur)
    }

    type Tx<T: 'static> = QueueTx<T>;
    type Rx<T: 'static> = anyloop::queue::Queue<T>;

    fn channel<T: 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        let q = anyloop::queue::Queue::new(cap.max(1));
        (QueueTx(q.clone()), q)
    }

    async fn send<T: 'static>(tx: &mut Self::Tx<T>, v: T) {
        if tx.0.put(v).await.is_err() {
            panic!("bench queue shut down");
        }
    }

    async fn recv<T: 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.get().await.ok()
    }
}

/// The sending side of an `anyloop::queue::Queue`: dropping it shuts the
/// queue down (getters drain what is left, then see the shutdown), like
/// dropping the last sender of a channel.
pub struct QueueTx<T>(anyloop::queue::Queue<T>);

impl<T> Drop for QueueTx<T> {
    fn drop(&mut self) {
        self.0.shutdown(false);
    }
}

impl Locks for Anyloop {
    type Mutex = anyloop::sync::Lock<u64>;
    type Semaphore = anyloop::sync::Semaphore;

    fn mutex() -> Self::Mutex {
        anyloop::sync::Lock::new(0)
    }

    async fn lock_incr(m: &Self::Mutex) {
        *m.lock().await += 1;
    }

    fn semaphore(permits: usize) -> Self::Semaphore {
        anyloop::sync::Semaphore::new(permits)
    }

    async fn acquire_release(s: &Self::Semaphore) {
        drop(s.acquire().await);
    }
}

// ---------------------------------------------------------------- tokio

/// tokio: a current_thread runtime (timers enabled) and a `LocalSet`.
pub struct Tokio;

/// `tokio::task::JoinHandle<T>` unwrapped.
pub struct TokioJoin<T>(tokio::task::JoinHandle<T>);

impl<T> Future for TokioJoin<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match Pin::new(&mut self.0).poll(cx) {
            Poll::Ready(Ok(v)) => Poll::Ready(v),
            Poll::Ready(Err(e)) => panic!("bench task failed: {e}"),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Runtime for Tokio {
    const NAME: &'static str = "tokio";
    type Join<T: 'static> = TokioJoin<T>;

    fn block_on<F>(fut: F) -> F::Output
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("tokio runtime");
        let local = tokio::task::LocalSet::new();
        rt.block_on(local.run_until(fut))
    }

    fn spawn<F>(fut: F) -> Self::Join<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        TokioJoin(tokio::task::spawn_local(fut))
    }

    fn spawn_detached<F>(fut: F)
    where
        F: Future<Output = ()> + 'static,
    {
        drop(tokio::task::spawn_local(fut));
    }

    fn sleep(dur: Duration) -> impl Future<Output = ()> {
        tokio::time::sleep(dur)
    }

    type Tx<T: 'static> = tokio::sync::mpsc::Sender<T>;
    type Rx<T: 'static> = tokio::sync::mpsc::Receiver<T>;

    fn channel<T: 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        tokio::sync::mpsc::channel(cap)
    }

    async fn send<T: 'static>(tx: &mut Self::Tx<T>, v: T) {
        if tx.send(v).await.is_err() {
            panic!("bench channel closed");
        }
    }

    fn recv<T: 'static>(rx: &mut Self::Rx<T>) -> impl Future<Output = Option<T>> {
        rx.recv()
    }
}

impl Locks for Tokio {
    type Mutex = tokio::sync::Mutex<u64>;
    type Semaphore = tokio::sync::Semaphore;

    fn mutex() -> Self::Mutex {
        tokio::sync::Mutex::new(0)
    }

    async fn lock_incr(m: &Self::Mutex) {
        *m.lock().await += 1;
    }

    fn semaphore(permits: usize) -> Self::Semaphore {
        tokio::sync::Semaphore::new(permits)
    }

    async fn acquire_release(s: &Self::Semaphore) {
        drop(s.acquire().await.expect("semaphore closed"));
    }
}

// ---------------------------------------------------------------- smol

/// smol's pieces: `async-executor`'s `LocalExecutor`, `async-io` timers,
/// `async_io::block_on(ex.run(..))`, `async-channel` (on wasip1:
/// [`smol_wasi`]'s driver and timers instead of async-io's).
pub struct Smol;

thread_local! {
    // One executor per thread for the whole run (tasks never outlive a
    // measurement), so `spawn` reaches it without a context parameter.
    static SMOL: &'static async_executor::LocalExecutor<'static> =
        Box::leak(Box::new(async_executor::LocalExecutor::new()));
}

impl Runtime for Smol {
    const NAME: &'static str = "smol";
    type Join<T: 'static> = async_executor::Task<T>;

    fn block_on<F>(fut: F) -> F::Output
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let ex = SMOL.with(|ex| *ex);
        #[cfg(not(target_family = "wasm"))]
        return async_io::block_on(ex.run(fut));
        #[cfg(target_family = "wasm")]
        return smol_wasi::block_on(ex.run(fut));
    }

    fn spawn<F>(fut: F) -> Self::Join<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        SMOL.with(|ex| ex.spawn(fut))
    }

    fn spawn_detached<F>(fut: F)
    where
        F: Future<Output = ()> + 'static,
    {
        SMOL.with(|ex| ex.spawn(fut).detach());
    }

    async fn sleep(dur: Duration) {
        #[cfg(not(target_family = "wasm"))]
        async_io::Timer::after(dur).await;
        #[cfg(target_family = "wasm")]
        smol_wasi::Timer::after(dur).await;
    }

    type Tx<T: 'static> = async_channel::Sender<T>;
    type Rx<T: 'static> = async_channel::Receiver<T>;

    fn channel<T: 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        async_channel::bounded(cap)
    }

    async fn send<T: 'static>(tx: &mut Self::Tx<T>, v: T) {
        if tx.send(v).await.is_err() {
            panic!("bench channel closed");
        }
    }

    async fn recv<T: 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.recv().await.ok()
    }
}

impl Locks for Smol {
    type Mutex = async_lock::Mutex<u64>;
    type Semaphore = async_lock::Semaphore;

    fn mutex() -> Self::Mutex {
        async_lock::Mutex::new(0)
    }

    async fn lock_incr(m: &Self::Mutex) {
        *m.lock().await += 1;
    }

    fn semaphore(permits: usize) -> Self::Semaphore {
        async_lock::Semaphore::new(permits)
    }

    async fn acquire_release(s: &Self::Semaphore) {
        drop(s.acquire().await);
    }
}

// ---------------------------------------------------------------- wstd

/// wstd (WASI 0.2 only): `wstd::runtime::block_on` / `spawn`, wstd's
/// timers; `async-channel`, `async-lock`.
#[cfg(all(target_os = "wasi", target_env = "p2"))]
pub struct Wstd;

#[cfg(all(target_os = "wasi", target_env = "p2"))]
impl Runtime for Wstd {
    const NAME: &'static str = "wstd";
    type Join<T: 'static> = wstd::runtime::Task<T>;

    fn block_on<F>(fut: F) -> F::Output
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        wstd::runtime::block_on(fut)
    }

    fn spawn<F>(fut: F) -> Self::Join<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        wstd::runtime::spawn(fut)
    }

    fn spawn_detached<F>(fut: F)
    where
        F: Future<Output = ()> + 'static,
    {
        wstd::runtime::spawn(fut).detach();
    }

    async fn sleep(dur: Duration) {
        wstd::task::sleep(dur.into()).await;
    }

    type Tx<T: 'static> = async_channel::Sender<T>;
    type Rx<T: 'static> = async_channel::Receiver<T>;

    fn channel<T: 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        async_channel::bounded(cap)
    }

    async fn send<T: 'static>(tx: &mut Self::Tx<T>, v: T) {
        if tx.send(v).await.is_err() {
            panic!("bench channel closed");
        }
    }

    async fn recv<T: 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.recv().await.ok()
    }
}

#[cfg(all(target_os = "wasi", target_env = "p2"))]
impl Locks for Wstd {
    type Mutex = async_lock::Mutex<u64>;
    type Semaphore = async_lock::Semaphore;

    fn mutex() -> Self::Mutex {
        async_lock::Mutex::new(0)
    }

    async fn lock_incr(m: &Self::Mutex) {
        *m.lock().await += 1;
    }

    fn semaphore(permits: usize) -> Self::Semaphore {
        async_lock::Semaphore::new(permits)
    }

    async fn acquire_release(s: &Self::Semaphore) {
        drop(s.acquire().await);
    }
}

// ------------------------------------------------ channels on anyloop's loop

/// anyloop's loop with another peer's channel: the `pingpong_chan` row
/// compares the channels alone (anyloop `Queue` vs tokio `mpsc` vs
/// `async-channel`) on one executor.
macro_rules! anyloop_with_channel {
    ($name:ident, $label:expr, { $($chan:tt)* }) => {
        #[doc = concat!("anyloop's loop with ", $label, ".")]
        pub struct $name;

        impl Runtime for $name {
            const NAME: &'static str = $label;
            type Join<T: 'static> = AnyloopJoin<T>;

            fn block_on<F>(fut: F) -> F::Output
            where
                F: Future + 'static,
                F::Output: 'static,
            {
                Anyloop::block_on(fut)
            }

            fn spawn<F>(fut: F) -> Self::Join<F::Output>
            where
                F: Future + 'static,
                F::Output: 'static,
            {
                Anyloop::spawn(fut)
            }

            fn spawn_detached<F>(fut: F)
            where
                F: Future<Output = ()> + 'static,
            {
                Anyloop::spawn_detached(fut)
            }


            fn sleep(dur: Duration) -> impl Future<Output = ()> {
                Anyloop::sleep(dur)
            }

            $($chan)*
        }
    };
}

anyloop_with_channel!(AnyloopTokioMpsc, "tokio mpsc on anyloop", {
    type Tx<T: 'static> = tokio::sync::mpsc::Sender<T>;
    type Rx<T: 'static> = tokio::sync::mpsc::Receiver<T>;

    fn channel<T: 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        tokio::sync::mpsc::channel(cap)
    }

    async fn send<T: 'static>(tx: &mut Self::Tx<T>, v: T) {
        if tx.send(v).await.is_err() {
            panic!("bench channel closed");
        }
    }

    fn recv<T: 'static>(rx: &mut Self::Rx<T>) -> impl Future<Output = Option<T>> {
        rx.recv()
    }
});

anyloop_with_channel!(AnyloopAsyncChannel, "async-channel on anyloop", {
    type Tx<T: 'static> = async_channel::Sender<T>;
    type Rx<T: 'static> = async_channel::Receiver<T>;

    fn channel<T: 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        async_channel::bounded(cap)
    }

    async fn send<T: 'static>(tx: &mut Self::Tx<T>, v: T) {
        if tx.send(v).await.is_err() {
            panic!("bench channel closed");
        }
    }

    async fn recv<T: 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.recv().await.ok()
    }
});

// ------------------------------------------------ smol's driver on wasip1

/// `async_io::block_on` and `async_io::Timer` reduced to what wasip1 can
/// do (no reactor, no threads): the same ordered timer map, the same
/// "poll, else fire due timers, else sleep until the next one" loop. The
/// sleep is `std::thread::sleep`, i.e. one `poll_oneoff` on a clock
/// subscription, as anyloop's and tokio's parks are.
#[cfg(target_family = "wasm")]
pub mod smol_wasi {
    use std::cell::{Cell, RefCell};
    use std::collections::BTreeMap;
    use std::future::Future;
    use std::pin::{pin, Pin};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    use std::time::{Duration, Instant};

    thread_local! {
        static TIMERS: RefCell<BTreeMap<(Instant, u64), Waker>> =
            const { RefCell::new(BTreeMap::new()) };
        static NEXT_ID: Cell<u64> = const { Cell::new(0) };
    }

    /// A timer firing at a deadline (async-io's `Timer::after`).
    #[derive(Debug)]
    pub struct Timer {
        when: Instant,
        id: Option<u64>,
    }

    impl Timer {
        /// Fires `dur` from now.
        pub fn after(dur: Duration) -> Timer {
            Timer {
                when: Instant::now() + dur,
                id: None,
            }
        }
    }

    impl Future for Timer {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if Instant::now() >= self.when {
                if let Some(id) = self.id.take() {
                    let when = self.when;
                    TIMERS.with(|t| t.borrow_mut().remove(&(when, id)));
                }
                return Poll::Ready(());
            }
            let when = self.when;
            match self.id {
                None => {
                    let id = NEXT_ID.with(|n| {
                        let id = n.get();
                        n.set(id + 1);
                        id
                    });
                    TIMERS.with(|t| t.borrow_mut().insert((when, id), cx.waker().clone()));
                    self.id = Some(id);
                }
                Some(id) => TIMERS.with(|t| {
                    let mut t = t.borrow_mut();
                    match t.get_mut(&(when, id)) {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        Some(w) => *w = cx.waker().clone(),
                        // Fired (removed) but polled before its deadline
                        // by a spurious wake: register again.
                        None => {
                            t.insert((when, id), cx.waker().clone());
                        }
                    }
                }),
            }
            Poll::Pending
        }
    }

    impl Drop for Timer {
        fn drop(&mut self) {
            if let Some(id) = self.id {
                let when = self.when;
                TIMERS.with(|t| t.borrow_mut().remove(&(when, id)));
            }
        }
    }

    /// Wakes the due timers; returns the time until the next one.
    fn fire_due() -> Option<Duration> {
        let now = Instant::now();
        let mut due = Vec::new();
        let next = TIMERS.with(|t| {
            let mut t = t.borrow_mut();
            // Everything at or before `now` (ids are never `u64::MAX`).
            let later = t.split_off(&(now, u64::MAX));
            due.extend(std::mem::replace(&mut *t, later).into_values());
            t.keys().next().map(|&(when, _)| when - now)
        });
        for w in due {
            w.wake();
        }
        next
    }

    struct Flag(AtomicBool);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::Release);
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.store(true, Ordering::Release);
        }
    }

    /// Runs `fut` to completion on this thread, firing timers and sleeping
    /// until the next deadline when nothing else can make progress.
    pub fn block_on<F: Future>(fut: F) -> F::Output {
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut fut = pin!(fut);
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            loop {
                let next = fire_due();
                if flag.0.swap(false, Ordering::Acquire) {
                    break;
                }
                match next {
                    Some(d) => std::thread::sleep(d),
                    None => panic!("smol_wasi::block_on: deadlock (no task ready, no timer)"),
                }
            }
        }
    }
}
