//! `SharedTask`: one task, awaited by many, and again after it finished.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use crate::shim::lock::{Mutex, MutexGuard};
use crate::task::{InvalidState, Task, TaskError, TaskId, TaskRef};

/// A cheap, clonable handle on a task whose output is `Clone`: any number
/// of tasks may await it, at the same time or after it finished, and each
/// gets the outcome (asyncio's `await task` from several coroutines, or
/// twice). Made by [`Task::shared`].
///
/// Each await gives a clone of the output, or of the [`TaskError`] (a
/// panic's payload is cloned as its message). Dropping handles never
/// cancels the task; [`cancel`](Self::cancel) does.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let t = anyloop::spawn(async { String::from("shared") }).shared();
/// let a = anyloop::spawn({ let t = t.clone(); async move { t.await.unwrap() } });
/// let b = anyloop::spawn({ let t = t.clone(); async move { t.await.unwrap() } });
/// assert_eq!(a.await.unwrap(), "shared");
/// assert_eq!(b.await.unwrap(), "shared");
/// assert_eq!(t.clone().await.unwrap(), "shared"); // and again, after it finished
/// # });
/// ```
pub struct SharedTask<T> {
    inner: Arc<Mutex<Inner<T>>>,
    waiters: Arc<Waiters>,
}

struct Inner<T> {
    task: Task<T>,
    out: Option<Result<T, TaskError>>,
}

/// The wakers of every awaiting handle; the task wakes them all.
struct Waiters(Mutex<Vec<Waker>>);

impl Waiters {
    fn lock(&self) -> MutexGuard<'_, Vec<Waker>> {
        match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

impl Wake for Waiters {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let wakers = std::mem::take(&mut *self.lock());
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl<T> SharedTask<T> {
    pub(crate) fn new(task: Task<T>) -> Self {
        SharedTask {
            inner: Arc::new(Mutex::new(Inner { task, out: None })),
            waiters: Arc::new(Waiters(Mutex::new(Vec::new()))),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Requests cancellation of the task; see [`Task::cancel`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let t = anyloop::spawn(std::future::pending::<()>()).shared();
    /// assert!(t.cancel());
    /// assert!(t.clone().await.unwrap_err().is_cancelled());
    /// assert!(t.is_cancelled());
    /// # });
    /// ```
    pub fn cancel(&self) -> bool {
        self.lock().task.cancel()
    }

    /// Whether the task has finished (asyncio's `done()`).
    #[doc(alias = "done")]
    pub fn is_finished(&self) -> bool {
        let g = self.lock();
        g.out.is_some() || g.task.is_finished()
    }

    /// Whether the task finished cancelled (asyncio's `cancelled()`).
    #[doc(alias = "cancelled")]
    pub fn is_cancelled(&self) -> bool {
        let g = self.lock();
        match &g.out {
            Some(out) => out.as_ref().is_err_and(TaskError::is_cancelled),
            None => g.task.is_cancelled(),
        }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.lock().task.id()
    }

    /// A reference for introspection and cancellation.
    pub fn task_ref(&self) -> TaskRef {
        self.lock().task.task_ref()
    }
}

impl<T: Clone> SharedTask<T> {
    /// The outcome without waiting (asyncio's `result()` /
    /// `exception()`): a clone of the output or error once the task
    /// finished.
    ///
    /// # Errors
    ///
    /// [`InvalidState`] while the task is still running (asyncio's
    /// `InvalidStateError`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let t = anyloop::spawn(async { 7 }).shared();
    /// assert!(t.outcome().unwrap_err().is_pending());
    /// t.clone().await.unwrap();
    /// assert_eq!(t.outcome().unwrap().unwrap(), 7);
    /// # });
    /// ```
    #[doc(alias = "result")]
    #[doc(alias = "exception")]
    pub fn outcome(&self) -> Result<Result<T, TaskError>, InvalidState> {
        let mut g = self.lock();
        if g.out.is_none() {
            let out = g.task.outcome()?;
            let out = clone_outcome(out);
            g.out = Some(out);
        }
        match &g.out {
            Some(out) => Ok(clone_outcome(out)),
            None => unreachable!("set above"),
        }
    }
}

fn clone_outcome<T: Clone>(out: &Result<T, TaskError>) -> Result<T, TaskError> {
    match out {
        Ok(v) => Ok(v.clone()),
        Err(e) => Err(e.clone()),
    }
}

impl<T> Clone for SharedTask<T> {
    fn clone(&self) -> Self {
        SharedTask {
            inner: self.inner.clone(),
            waiters: self.waiters.clone(),
        }
    }
}

impl<T: Clone> Future for SharedTask<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut g = self.lock();
        if let Some(out) = &g.out {
            return Poll::Ready(clone_outcome(out));
        }
        {
            let mut w = self.waiters.lock();
            if !w.iter().any(|w| w.will_wake(cx.waker())) {
                w.push(cx.waker().clone());
            }
        }
        // The task wakes every waiter, not only the last one to poll.
        let all = Waker::from(self.waiters.clone());
        match Pin::new(&mut g.task).poll(&mut Context::from_waker(&all)) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(out) => {
                let mine = clone_outcome(&out);
                g.out = Some(out);
                drop(g);
                self.waiters.wake_by_ref();
                Poll::Ready(mine)
            }
        }
    }
}

impl<T> fmt::Debug for SharedTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = self.lock();
        f.debug_struct("SharedTask")
            .field("task", &g.task)
            .field("finished", &(g.out.is_some() || g.task.is_finished()))
            .finish()
    }
}
