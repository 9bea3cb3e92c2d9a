//! The native peers: anyloop, tokio (current_thread runtime + `LocalSet`,
//! `spawn_local`) and smol (`async-executor` `LocalExecutor` + `async-io`
//! timers, driven by `async_io::block_on(ex.run(..))`).
//!
//! `--host wasi` builds the same workloads for wasm32-wasip1: anyloop and
//! tokio (its wasip1 support: current_thread + `LocalSet`) compile there as
//! they are; smol's `async-io` has no wasm reactor, so a wasi harness gives
//! smol's `LocalExecutor` another driver/timer (or leaves its timer rows `-`).

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

    fn yield_now() -> impl Future<Output = ()> {
        anyloop::yield_now()
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

    fn yield_now() -> impl Future<Output = ()> {
        tokio::task::yield_now()
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
/// `async_io::block_on(ex.run(..))`, `async-channel`.
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
        async_io::block_on(ex.run(fut))
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

    fn yield_now() -> impl Future<Output = ()> {
        futures_lite::future::yield_now()
    }

    async fn sleep(dur: Duration) {
        async_io::Timer::after(dur).await;
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

            fn yield_now() -> impl Future<Output = ()> {
                Anyloop::yield_now()
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
