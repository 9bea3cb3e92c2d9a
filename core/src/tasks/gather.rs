//! `gather`: run futures concurrently, results in argument order.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::ready::ReadySet;
use crate::task::{dropping_cancels_awaited, set_cancel_awaited};

/// Guards of the `gather!` macros: futures declared after a `DropScope`
/// and before its [`Armed`] guard are dropped (when the gather is dropped
/// unfinished) so that awaited [`Task`](crate::Task) handles among them
/// cancel their tasks. Public for the macros only.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct DropScope {
    prev: std::cell::Cell<Option<bool>>,
}

impl DropScope {
    #[doc(hidden)]
    pub fn new() -> Self {
        DropScope::default()
    }

    /// The guard to declare after the futures.
    #[doc(hidden)]
    pub fn arm(&self) -> Armed<'_> {
        Armed {
            scope: self,
            on: true,
        }
    }
}

impl Drop for DropScope {
    fn drop(&mut self) {
        if let Some(prev) = self.prev.get() {
            set_cancel_awaited(prev);
        }
    }
}

/// See [`DropScope`].
#[doc(hidden)]
#[derive(Debug)]
pub struct Armed<'a> {
    scope: &'a DropScope,
    on: bool,
}

impl Armed<'_> {
    /// The gather finished: its leftovers are not cancelled.
    #[doc(hidden)]
    pub fn disarm(&mut self) {
        self.on = false;
    }
}

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        if self.on {
            self.scope.prev.set(Some(set_cancel_awaited(true)));
        }
    }
}

pin_project! {
    /// One future of a `gather`, then its output. Public for the macros only.
    #[doc(hidden)]
    #[project = MaybeDoneProj]
    #[project_replace = MaybeDoneReplace]
    pub enum MaybeDone<F: Future> {
        Running { #[pin] fut: F },
        Done { out: F::Output },
        Gone,
    }
}

impl<F: Future> MaybeDone<F> {
    #[doc(hidden)]
    pub fn new(fut: F) -> Self {
        MaybeDone::Running { fut }
    }

    /// Polls the future if it still runs; true once it has an output.
    #[doc(hidden)]
    pub fn poll_step(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        let out = match self.as_mut().project() {
            MaybeDoneProj::Running { fut } => match fut.poll(cx) {
                Poll::Ready(out) => out,
                Poll::Pending => return false,
            },
            MaybeDoneProj::Done { .. } => return true,
            MaybeDoneProj::Gone => return false,
        };
        self.set(MaybeDone::Done { out });
        true
    }

    /// The output, if it is there.
    #[doc(hidden)]
    pub fn output(self: Pin<&mut Self>) -> Option<&mut F::Output> {
        match self.project() {
            MaybeDoneProj::Done { out } => Some(out),
            _ => None,
        }
    }

    /// Takes the output.
    ///
    /// # Panics
    ///
    /// If there is no output (a bug in the macros).
    #[doc(hidden)]
    pub fn take(self: Pin<&mut Self>) -> F::Output {
        match self.project_replace(MaybeDone::Gone) {
            MaybeDoneReplace::Done { out } => out,
            _ => unreachable!("anyloop: gather output taken twice"),
        }
    }
}

/// For `try_gather!`: whether an output is an `Err`, and the error.
#[doc(hidden)]
pub trait TryOutput {
    type Ok;
    type Err;
    fn is_err(&self) -> bool;
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
}

impl<T, E> TryOutput for Result<T, E> {
    type Ok = T;
    type Err = E;
    fn is_err(&self) -> bool {
        Result::is_err(self)
    }
    fn into_result(self) -> Result<T, E> {
        self
    }
}

/// Runs futures concurrently in the current task and returns their outputs
/// as a tuple, in argument order whatever the completion order: asyncio's
/// `await asyncio.gather(a, b, c)`.
///
/// Each argument is anything `IntoFuture`: an `async` block, a call of an
/// `async fn`, a [`Task`](crate::Task). The futures run inside the calling
/// task (no task is spawned, so they may borrow locals); pass
/// [`spawn`](crate::spawn)ed tasks to run them as separate tasks. A future's output that is
/// an error does not stop the others: every future runs to completion
/// (asyncio's `return_exceptions=True`; see [`try_gather!`](crate::try_gather!)
/// to stop at the first error).
///
/// # Cancellation
///
/// Dropping the gather unfinished (e.g. when the awaiting task is
/// cancelled) drops the futures it still runs, which cancels them, and
/// cancels the unfinished [`Task`](crate::Task)s it awaits (also those
/// awaited inside its futures), as cancelling asyncio's `gather()` cancels
/// its children. (A `Task` handle dropped anywhere else detaches.)
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use std::time::Duration;
/// let slow = async {
///     anyloop::sleep(Duration::from_millis(20)).await;
///     "slow"
/// };
/// let fast = async { 1 };
/// let (a, b) = anyloop::gather!(slow, fast).await;
/// assert_eq!((a, b), ("slow", 1));
/// # });
/// ```
#[doc(alias = "join")]
#[macro_export]
macro_rules! gather {
    ($($fut:expr),+ $(,)?) => {
        $crate::__gather_impl!(@gather [] $($fut,)+)
    };
}

/// Like [`gather!`](crate::gather!) for futures whose outputs are
/// `Result`s: returns `Ok` of the tuple of values, or the first error as
/// soon as it happens (in completion order).
///
/// # Cancellation
///
/// On the first error the other futures are dropped when the returned
/// future is, which cancels plain futures and detaches [`Task`](crate::Task)s:
/// spawned tasks keep running, as in asyncio (where the others are not
/// cancelled when `gather` raises). Dropped before it finished, it cancels
/// like [`gather!`](crate::gather!).
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let ok = async { Ok::<_, String>(1) };
/// let bad = async { Err::<u8, _>("boom".to_string()) };
/// assert_eq!(anyloop::try_gather!(ok, bad).await, Err("boom".to_string()));
/// let (a, b) = anyloop::try_gather!(async { Ok::<_, ()>(1) }, async { Ok(2) })
///     .await
///     .unwrap();
/// assert_eq!(a + b, 3);
/// # });
/// ```
#[doc(alias = "gather")]
#[doc(alias = "try_join")]
#[macro_export]
macro_rules! try_gather {
    ($($fut:expr),+ $(,)?) => {
        $crate::__gather_impl!(@try [] $($fut,)+)
    };
}

// Each recursion step names its future `fut`; macro hygiene makes those
// names distinct, one per argument.
#[doc(hidden)]
#[macro_export]
macro_rules! __gather_impl {
    (@$mode:ident [$($acc:tt)*] $head:expr, $($tail:expr,)*) => {
        $crate::__gather_impl!(@$mode [$($acc)* (fut $head)] $($tail,)*)
    };
    (@gather [$(($name:ident $e:expr))*]) => {
        async {
            let scope = $crate::tasks::__private::DropScope::new();
            $(
                let mut $name = ::core::pin::pin!($crate::tasks::__private::MaybeDone::new(
                    ::core::future::IntoFuture::into_future($e),
                ));
            )*
            let mut armed = scope.arm();
            let out = ::core::future::poll_fn(|cx| {
                let mut all = true;
                $( all &= $name.as_mut().poll_step(cx); )*
                if all {
                    ::core::task::Poll::Ready(($( $name.as_mut().take(), )*))
                } else {
                    ::core::task::Poll::Pending
                }
            })
            .await;
            armed.disarm();
            out
        }
    };
    (@try [$(($name:ident $e:expr))*]) => {
        async {
            let scope = $crate::tasks::__private::DropScope::new();
            $(
                let mut $name = ::core::pin::pin!($crate::tasks::__private::MaybeDone::new(
                    ::core::future::IntoFuture::into_future($e),
                ));
            )*
            let mut armed = scope.arm();
            let out = ::core::future::poll_fn(|cx| {
                use $crate::tasks::__private::TryOutput as _;
                let mut all = true;
                $(
                    if $name.as_mut().poll_step(cx) {
                        if $name.as_mut().output().is_some_and(|o| o.is_err()) {
                            if let ::core::result::Result::Err(e) = $name.as_mut().take().into_result() {
                                return ::core::task::Poll::Ready(::core::result::Result::Err(e));
                            }
                        }
                    } else {
                        all = false;
                    }
                )*
                if all {
                    ::core::task::Poll::Ready(::core::result::Result::Ok((
                        $( match $name.as_mut().take().into_result() {
                            ::core::result::Result::Ok(v) => v,
                            ::core::result::Result::Err(_) => unreachable!(),
                        }, )*
                    )))
                } else {
                    ::core::task::Poll::Pending
                }
            })
            .await;
            armed.disarm();
            out
        }
    };
}

/// Runs every future of `iter` concurrently in the current task; the
/// outputs come back in iteration order, whatever the completion order:
/// asyncio's `await asyncio.gather(*aws)`.
///
/// Errors in outputs do not stop the others (asyncio's
/// `return_exceptions=True`); see [`try_gather`](try_gather()) to stop at the first.
/// Gather [`Task`](crate::Task)s to get `Result<T, TaskError>` per task, a
/// panic or cancellation included.
///
/// # Cancellation
///
/// Dropping the gather unfinished (e.g. when the awaiting task is
/// cancelled) drops the futures it still runs, which cancels them, and
/// cancels the unfinished [`Task`](crate::Task)s it awaits, as cancelling
/// asyncio's `gather()` cancels its children.
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use std::time::Duration;
/// let child = anyloop::spawn(anyloop::sleep(Duration::from_secs(3600)));
/// let probe = child.task_ref();
/// let g = anyloop::timeout(Duration::from_millis(5), anyloop::gather([child]));
/// assert!(g.await.is_err()); // the gather was dropped unfinished...
/// anyloop::yield_now().await;
/// assert!(probe.is_cancelled()); // ...and cancelled its child
/// # });
/// ```
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use std::time::Duration;
/// let tasks = (1..=3u64).rev().map(|i| {
///     anyloop::spawn(async move {
///         anyloop::sleep(Duration::from_millis(10 * i)).await;
///         i
///     })
/// });
/// let out: Vec<u64> = anyloop::gather(tasks)
///     .await
///     .into_iter()
///     .map(Result::unwrap)
///     .collect();
/// assert_eq!(out, [3, 2, 1]); // argument order, not completion order
/// # });
/// ```
#[doc(alias = "join_all")]
pub fn gather<I>(iter: I) -> Gather<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    let futs: Vec<_> = iter
        .into_iter()
        .map(|f| MaybeDone::new(Box::pin(f.into_future())))
        .collect();
    Gather {
        set: ReadySet::new(futs.len()),
        left: futs.len(),
        futs,
        finished: false,
    }
}

/// Future of [`gather`](gather()).
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let g: anyloop::tasks::Gather<_> = anyloop::gather([1, 2].map(|i| async move { i }));
/// assert_eq!(g.await, [1, 2]);
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Gather<F: Future> {
    futs: Vec<MaybeDone<Pin<Box<F>>>>,
    /// Only woken futures are polled again.
    set: ReadySet,
    /// Futures without an output yet.
    left: usize,
    /// Returned its output (`try_gather`: its first error).
    finished: bool,
}

impl<F: Future> Drop for Gather<F> {
    fn drop(&mut self) {
        if self.left > 0 && !self.finished {
            // Cancelled unfinished: awaited tasks among the futures are
            // cancelled with them (asyncio cancels a gather's children).
            let futs = std::mem::take(&mut self.futs);
            dropping_cancels_awaited(|| drop(futs));
        }
    }
}

impl<F: Future> Gather<F> {
    /// Polls the woken futures; the index of the first output matching
    /// `stop`, if any.
    fn poll_woken(
        &mut self,
        cx: &mut Context<'_>,
        stop: impl Fn(&mut F::Output) -> bool,
    ) -> Option<usize> {
        self.set.register(cx);
        while let Some(i) = self.set.next() {
            let mut f = Pin::new(&mut self.futs[i]);
            if f.as_mut().output().is_some() {
                continue;
            }
            if f.as_mut().poll_step(&mut self.set.context(i)) {
                self.left -= 1;
                if f.output().is_some_and(&stop) {
                    return Some(i);
                }
            }
        }
        None
    }
}

// The futures are boxed; outputs are moved, never pinned.
impl<F: Future> Unpin for Gather<F> {}

impl<F: Future> Future for Gather<F> {
    type Output = Vec<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.poll_woken(cx, |_| false);
        if this.left > 0 {
            return Poll::Pending;
        }
        Poll::Ready(this.futs.iter_mut().map(|f| Pin::new(f).take()).collect())
    }
}

impl<F: Future> fmt::Debug for Gather<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("len", &self.futs.len())
            .finish()
    }
}

/// Like [`gather`](gather()) for futures whose outputs are `Result`s: `Ok` with every
/// value in iteration order, or the first error as soon as it happens.
///
/// # Cancellation
///
/// On the first error the remaining futures are dropped with the returned
/// future: plain futures are cancelled, [`Task`](crate::Task)s detached
/// (they keep running, as in asyncio). Dropped before it finished, it
/// cancels like [`gather`](gather()).
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let ok = anyloop::try_gather((1..=3).map(|i| async move { Ok::<_, String>(i) })).await;
/// assert_eq!(ok, Ok(vec![1, 2, 3]));
/// let bad = anyloop::try_gather((1..=3).map(|i| async move {
///     if i == 2 { Err(format!("{i} failed")) } else { Ok(i) }
/// }))
/// .await;
/// assert_eq!(bad, Err("2 failed".to_string()));
/// # });
/// ```
#[doc(alias = "gather")]
#[doc(alias = "try_join_all")]
pub fn try_gather<I, T, E>(iter: I) -> TryGather<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture<Output = Result<T, E>>,
{
    TryGather {
        inner: gather(iter),
    }
}

/// Future of [`try_gather`](try_gather()).
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let g: anyloop::tasks::TryGather<_> =
///     anyloop::try_gather([async { Ok::<_, ()>(1) }]);
/// assert_eq!(g.await, Ok(vec![1]));
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct TryGather<F: Future> {
    inner: Gather<F>,
}

impl<F, T, E> Future for TryGather<F>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<Vec<T>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.inner;
        if let Some(i) = inner.poll_woken(cx, |o| o.is_err()) {
            if let Err(e) = Pin::new(&mut inner.futs[i]).take() {
                // The others keep running (asyncio's gather does not
                // cancel them when it raises).
                inner.finished = true;
                return Poll::Ready(Err(e));
            }
        }
        if inner.left > 0 {
            return Poll::Pending;
        }
        let mut out = Vec::with_capacity(inner.futs.len());
        for f in inner.futs.iter_mut() {
            match Pin::new(f).take() {
                Ok(v) => out.push(v),
                Err(_) => unreachable!("errors return early"),
            }
        }
        Poll::Ready(Ok(out))
    }
}

impl<F: Future> fmt::Debug for TryGather<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryGather")
            .field("len", &self.inner.futs.len())
            .finish()
    }
}
