//! `shield`: protect work from the cancellation of its awaiter.

use std::future::Future;

use crate::task::{spawn, Task};

/// Runs `fut` as its own task so that cancelling (dropping) the await
/// does not cancel it: asyncio's `await asyncio.shield(aw)`.
///
/// The returned [`Task`] is awaited like `fut`, with the task's
/// `Result<T, TaskError>`. If the awaiting task is cancelled, or a
/// [`timeout`](crate::timeout) around the await fires, only the handle is
/// dropped, which detaches the task: the inner work runs to completion.
/// Cancel it explicitly with [`Task::cancel`] if needed. (Any `Task` is
/// already shielded this way; `shield` is for plain futures.)
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// let saved = Rc::new(Cell::new(false));
/// let s = saved.clone();
/// let write = anyloop::shield(async move {
///     anyloop::sleep(Duration::from_millis(50)).await;
///     s.set(true);
/// });
/// let inner = write.task_ref();
/// // The caller gives up after 10 ms...
/// assert!(anyloop::timeout(Duration::from_millis(10), write).await.is_err());
/// // ...but the shielded work finishes anyway.
/// anyloop::sleep(Duration::from_millis(100)).await;
/// assert!(saved.get() && inner.is_finished());
/// # });
/// ```
///
/// # Panics
///
/// Panics outside a running loop, like [`spawn`].
pub fn shield<F>(fut: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn(fut)
}
