use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::error::{QueueEmpty, QueueFull, QueueShutDown, TaskDoneError, TryGetError, TryPutError};
use super::kind::{Fifo, Kind, Lifo, Priority};
use crate::sync::waiters::WaitList;

const NIL: usize = usize::MAX;

/// What a served getter or putter was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
    /// An item (getter) or a free slot (putter) is reserved for it.
    Go,
    /// The queue was shut down.
    ShutDown,
}

struct State<T, K: Kind<T>> {
    items: K::Store,
    /// `maxsize`, with 0 (unbounded) as `usize::MAX`.
    cap: usize,
    maxsize: usize,
    getters: WaitList<Wake>,
    putters: WaitList<Wake>,
    joiners: WaitList<()>,
    /// Items promised to served getters that have not run yet.
    reserved_items: usize,
    /// Slots promised to served putters that have not run yet.
    reserved_slots: usize,
    unfinished: usize,
    shutdown: bool,
}

impl<T, K: Kind<T>> State<T, K> {
    #[inline]
    fn len(&self) -> usize {
        K::len(&self.items)
    }

    /// Items nobody has a claim on.
    #[inline]
    fn free_items(&self) -> bool {
        self.len() > self.reserved_items
    }

    #[inline]
    fn has_room(&self) -> bool {
        self.len() + self.reserved_slots < self.cap
    }

    /// Reserves an unclaimed item for the oldest waiting getter.
    #[inline]
    fn serve_getter(&mut self) -> Option<Waker> {
        if self.getters.waiting() > 0 && self.free_items() {
            self.reserved_items += 1;
            return self.getters.notify_first(Wake::Go).ok().flatten();
        }
        None
    }

    /// Reserves a free slot for the oldest waiting putter.
    #[inline]
    fn serve_putter(&mut self) -> Option<Waker> {
        if self.putters.waiting() > 0 && self.has_room() && !self.shutdown {
            self.reserved_slots += 1;
            return self.putters.notify_first(Wake::Go).ok().flatten();
        }
        None
    }

    #[inline]
    fn push(&mut self, item: T) -> Option<Waker> {
        K::push(&mut self.items, item);
        self.unfinished += 1;
        self.serve_getter()
    }

    /// Takes an item (the caller checked there is one for it).
    #[inline]
    fn pop(&mut self) -> Option<(T, Option<Waker>)> {
        let item = K::pop(&mut self.items)?;
        Some((item, self.serve_putter()))
    }
}

#[inline]
fn wake(w: Option<Waker>) {
    if let Some(w) = w {
        w.wake();
    }
}

/// A queue of items between tasks, in the order given by its [`Kind`]:
/// asyncio's `Queue`, `LifoQueue` and `PriorityQueue`. Use it through the
/// aliases [`Queue`](super::Queue), [`LifoQueue`](super::LifoQueue) and
/// [`PriorityQueue`](super::PriorityQueue).
///
/// A handle is cheap to clone (an `Rc`); every clone is the same queue.
/// With a `maxsize` above 0, [`put`](Self::put) waits while the queue is
/// full; [`get`](Self::get) waits while it is empty. Waiting getters and
/// putters are served in FIFO order: an item put while getters wait is
/// reserved for the oldest of them (and a slot freed while putters wait is
/// reserved for the oldest putter), so a task arriving later cannot take
/// it. Each put or get wakes at most the one waiter it serves.
///
/// It belongs to one event loop thread (`!Send`); it never locks a mutex
/// and, once its buffers have grown, never allocates.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use anyloop::queue::Queue;
///
/// let q = Queue::new(2);
/// let producer = anyloop::spawn({
///     let q = q.clone();
///     async move {
///         for i in 0..5 {
///             q.put(i).await.unwrap(); // waits while 2 items are queued
///         }
///     }
/// });
/// let mut got = Vec::new();
/// for _ in 0..5 {
///     got.push(q.get().await.unwrap());
/// }
/// producer.await.unwrap();
/// assert_eq!(got, [0, 1, 2, 3, 4]);
/// # });
/// ```
pub struct GenericQueue<T, K: Kind<T>> {
    state: Rc<RefCell<State<T, K>>>,
}

impl<T> GenericQueue<T, Fifo> {
    /// A first-in, first-out queue holding at most `maxsize` items (0:
    /// unbounded): asyncio's `Queue(maxsize)`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let q = anyloop::queue::Queue::<String>::new(10);
    /// assert_eq!(q.maxsize(), 10);
    /// ```
    pub fn new(maxsize: usize) -> Self {
        GenericQueue::with_maxsize(maxsize)
    }
}

impl<T> GenericQueue<T, Lifo> {
    /// A last-in, first-out queue (a stack) holding at most `maxsize`
    /// items (0: unbounded): asyncio's `LifoQueue(maxsize)`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let q = anyloop::queue::LifoQueue::new(0);
    /// q.put_nowait(1).unwrap();
    /// q.put_nowait(2).unwrap();
    /// assert_eq!(q.get_nowait().unwrap(), 2);
    /// ```
    pub fn new(maxsize: usize) -> Self {
        GenericQueue::with_maxsize(maxsize)
    }
}

impl<T: Ord> GenericQueue<T, Priority> {
    /// A queue that hands out the smallest item first, holding at most
    /// `maxsize` items (0: unbounded): asyncio's `PriorityQueue(maxsize)`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let q = anyloop::queue::PriorityQueue::new(0);
    /// q.put_nowait((2, "low")).unwrap();
    /// q.put_nowait((1, "high")).unwrap();
    /// assert_eq!(q.get_nowait().unwrap(), (1, "high"));
    /// ```
    pub fn new(maxsize: usize) -> Self {
        GenericQueue::with_maxsize(maxsize)
    }
}

impl<T, K: Kind<T>> GenericQueue<T, K> {
    fn with_maxsize(maxsize: usize) -> Self {
        GenericQueue {
            state: Rc::new(RefCell::new(State {
                items: K::store(),
                cap: if maxsize == 0 { usize::MAX } else { maxsize },
                maxsize,
                getters: WaitList::new(),
                putters: WaitList::new(),
                joiners: WaitList::new(),
                reserved_items: 0,
                reserved_slots: 0,
                unfinished: 0,
                shutdown: false,
            })),
        }
    }

    /// Puts `item`, waiting while the queue is full: asyncio's
    /// `await queue.put(item)`.
    ///
    /// # Errors
    ///
    /// [`QueueShutDown`] with the item if the queue is (or, while waiting,
    /// gets) shut down.
    ///
    /// # Cancellation
    ///
    /// Dropping the future before it completes drops the item unput; a
    /// free slot reserved for it passes to the next waiting putter.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let q = anyloop::queue::Queue::new(1);
    /// q.put("a").await.unwrap();
    /// assert!(q.is_full());
    /// # });
    /// ```
    pub fn put(&self, item: T) -> Put<'_, T, K> {
        Put {
            queue: self,
            item: Some(item),
            key: NIL,
        }
    }

    /// Puts `item` if there is room: asyncio's `put_nowait`.
    ///
    /// # Errors
    ///
    /// [`TryPutError::Full`] if the queue is full (or its free slots are
    /// reserved for waiting putters), [`TryPutError::ShutDown`] after
    /// [`shutdown`](Self::shutdown); both give the item back.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let q = anyloop::queue::Queue::new(1);
    /// assert!(q.put_nowait(1).is_ok());
    /// assert_eq!(q.put_nowait(2).unwrap_err().into_inner(), 2);
    /// ```
    pub fn put_nowait(&self, item: T) -> Result<(), TryPutError<T>> {
        let mut st = self.state.borrow_mut();
        if st.shutdown {
            return Err(TryPutError::ShutDown(QueueShutDown(item)));
        }
        if !st.has_room() {
            return Err(TryPutError::Full(QueueFull(item)));
        }
        let w = st.push(item);
        drop(st);
        wake(w);
        Ok(())
    }

    /// Takes the next item, waiting while the queue is empty: asyncio's
    /// `await queue.get()`.
    ///
    /// # Errors
    ///
    /// [`QueueShutDown`] once the queue is shut down and has no item left
    /// for this getter.
    ///
    /// # Cancellation
    ///
    /// Cancel-safe: an item reserved for a getter that is dropped before
    /// taking it stays in the queue and goes to the next getter.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let q = anyloop::queue::Queue::new(0);
    /// q.put_nowait(7).unwrap();
    /// assert_eq!(q.get().await, Ok(7));
    /// # });
    /// ```
    pub fn get(&self) -> Get<'_, T, K> {
        Get {
            queue: self,
            key: NIL,
        }
    }

    /// Takes the next item if there is one: asyncio's `get_nowait`.
    ///
    /// # Errors
    ///
    /// [`TryGetError::Empty`] if no item is available (items already
    /// promised to waiting getters do not count);
    /// [`TryGetError::ShutDown`] if moreover the queue is shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let q = anyloop::queue::Queue::new(0);
    /// assert!(q.get_nowait().is_err());
    /// q.put_nowait('a').unwrap();
    /// assert_eq!(q.get_nowait(), Ok('a'));
    /// ```
    pub fn get_nowait(&self) -> Result<T, TryGetError> {
        let mut st = self.state.borrow_mut();
        if st.free_items() {
            if let Some((item, w)) = st.pop() {
                drop(st);
                wake(w);
                return Ok(item);
            }
        }
        if st.shutdown {
            Err(TryGetError::ShutDown(QueueShutDown(())))
        } else {
            Err(TryGetError::Empty(QueueEmpty))
        }
    }

    /// Marks one item taken from the queue as processed: asyncio's
    /// `task_done()`. When every item put has been marked done,
    /// [`join`](Self::join) returns.
    ///
    /// # Errors
    ///
    /// [`TaskDoneError`] if called more times than items were put.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let q = anyloop::queue::Queue::new(0);
    /// q.put_nowait(()).unwrap();
    /// q.get_nowait().unwrap();
    /// assert!(q.task_done().is_ok());
    /// assert!(q.task_done().is_err());
    /// ```
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        let mut st = self.state.borrow_mut();
        if st.unfinished == 0 {
            return Err(TaskDoneError(()));
        }
        st.unfinished -= 1;
        if st.unfinished == 0 {
            drop(st);
            self.wake_joiners();
        }
        Ok(())
    }

    fn wake_joiners(&self) {
        loop {
            let next = self.state.borrow_mut().joiners.notify_first(());
            match next {
                Ok(w) => wake(w),
                Err(()) => break,
            }
        }
    }

    /// Waits until every item put has been taken and marked done with
    /// [`task_done`](Self::task_done): asyncio's `await queue.join()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let q = anyloop::queue::Queue::new(0);
    /// let worker = anyloop::spawn({
    ///     let q = q.clone();
    ///     async move {
    ///         while let Ok(job) = q.get().await {
    ///             let _: u32 = job; // ... process it ...
    ///             q.task_done().unwrap();
    ///         }
    ///     }
    /// });
    /// for job in 0..10 {
    ///     q.put_nowait(job).unwrap();
    /// }
    /// q.join().await; // all 10 processed
    /// q.shutdown(false);
    /// worker.await.unwrap();
    /// # });
    /// ```
    pub fn join(&self) -> Join<'_, T, K> {
        Join {
            queue: self,
            key: NIL,
        }
    }

    /// Shuts the queue down (asyncio 3.13's `shutdown(immediate)`): later
    /// puts fail with [`QueueShutDown`], and so do waiting ones.
    ///
    /// - `immediate = false`: getters still receive the items left in the
    ///   queue; once it is empty, gets fail with [`QueueShutDown`].
    /// - `immediate = true`: the items left are dropped (each counting as
    ///   done for [`join`](Self::join)) and every get fails at once.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// # anyloop_core::doctest_run(async {
    /// let q = anyloop::queue::Queue::new(0);
    /// q.put_nowait(1).unwrap();
    /// q.shutdown(false);
    /// assert_eq!(q.get().await, Ok(1)); // drained first
    /// assert!(q.get().await.is_err());
    ///
    /// let q = anyloop::queue::Queue::new(0);
    /// q.put_nowait(1).unwrap();
    /// q.shutdown(true);
    /// assert!(q.get().await.is_err()); // dropped
    /// q.join().await; // counted as done
    /// # });
    /// ```
    pub fn shutdown(&self, immediate: bool) {
        let drained = {
            let mut st = self.state.borrow_mut();
            st.shutdown = true;
            if immediate {
                let drained = std::mem::replace(&mut st.items, K::store());
                st.unfinished = st.unfinished.saturating_sub(K::len(&drained));
                Some((drained, st.unfinished == 0))
            } else {
                None
            }
        };
        if let Some((_, true)) = drained {
            self.wake_joiners();
        }
        loop {
            let mut st = self.state.borrow_mut();
            let w = match st.getters.notify_first(Wake::ShutDown) {
                Ok(w) => w,
                Err(_) => match st.putters.notify_first(Wake::ShutDown) {
                    Ok(w) => w,
                    Err(_) => break,
                },
            };
            drop(st);
            wake(w);
        }
        // Items are dropped last, outside any borrow: their destructors
        // may use the queue.
        drop(drained);
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let q = anyloop::queue::Queue::<()>::new(0);
    /// q.shutdown(false);
    /// assert!(q.is_shutdown());
    /// ```
    pub fn is_shutdown(&self) -> bool {
        self.state.borrow().shutdown
    }

    /// Number of items in the queue: asyncio's `qsize()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let q = anyloop::queue::Queue::new(0);
    /// q.put_nowait(1).unwrap();
    /// assert_eq!(q.qsize(), 1);
    /// ```
    #[doc(alias = "len")]
    pub fn qsize(&self) -> usize {
        self.state.borrow().len()
    }

    /// Whether the queue holds no item: asyncio's `empty()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// assert!(anyloop::queue::Queue::<u8>::new(0).is_empty());
    /// ```
    #[doc(alias = "empty")]
    pub fn is_empty(&self) -> bool {
        self.state.borrow().len() == 0
    }

    /// Whether the queue holds `maxsize` items: asyncio's `full()`. An
    /// unbounded queue is never full.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// let q = anyloop::queue::Queue::new(1);
    /// q.put_nowait(1).unwrap();
    /// assert!(q.is_full());
    /// ```
    #[doc(alias = "full")]
    pub fn is_full(&self) -> bool {
        let st = self.state.borrow();
        st.len() >= st.cap
    }

    /// The capacity given to `new` (0: unbounded): asyncio's `maxsize`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// assert_eq!(anyloop::queue::Queue::<u8>::new(0).maxsize(), 0);
    /// ```
    pub fn maxsize(&self) -> usize {
        self.state.borrow().maxsize
    }
}

impl<T, K: Kind<T>> Clone for GenericQueue<T, K> {
    /// Another handle to the same queue.
    fn clone(&self) -> Self {
        GenericQueue {
            state: self.state.clone(),
        }
    }
}

impl<T, K: Kind<T>> fmt::Debug for GenericQueue<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.borrow();
        f.debug_struct("Queue")
            .field("qsize", &st.len())
            .field("maxsize", &st.maxsize)
            .field("getters", &st.getters.waiting())
            .field("putters", &st.putters.waiting())
            .field("unfinished", &st.unfinished)
            .field("shutdown", &st.shutdown)
            .finish()
    }
}

/// Future of [`GenericQueue::put`].
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let q = anyloop::queue::Queue::new(0);
/// let fut: anyloop::queue::Put<'_, i32, _> = q.put(1);
/// fut.await.unwrap();
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Put<'a, T, K: Kind<T>> {
    queue: &'a GenericQueue<T, K>,
    item: Option<T>,
    key: usize,
}

// The item is never pinned: it only moves into the queue.
impl<T, K: Kind<T>> Unpin for Put<'_, T, K> {}

impl<T, K: Kind<T>> Future for Put<'_, T, K> {
    type Output = Result<(), QueueShutDown<T>>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut st = this.queue.state.borrow_mut();
        if this.key == NIL {
            let Some(item) = this.item.take() else {
                panic!("anyloop: queue Put polled after completion");
            };
            if st.shutdown {
                return Poll::Ready(Err(QueueShutDown(item)));
            }
            if st.has_room() {
                let w = st.push(item);
                drop(st);
                wake(w);
                return Poll::Ready(Ok(()));
            }
            this.item = Some(item);
            this.key = st.putters.push(cx.waker());
            return Poll::Pending;
        }
        let Some(wake_kind) = st.putters.poll(this.key, cx.waker()) else {
            return Poll::Pending;
        };
        this.key = NIL;
        let Some(item) = this.item.take() else {
            unreachable!("a waiting Put holds its item")
        };
        if wake_kind == Wake::Go {
            st.reserved_slots -= 1;
        }
        if st.shutdown {
            return Poll::Ready(Err(QueueShutDown(item)));
        }
        let w = st.push(item);
        drop(st);
        wake(w);
        Poll::Ready(Ok(()))
    }
}

impl<T, K: Kind<T>> Put<'_, T, K> {
    #[inline(never)]
    fn leave_queue(&mut self) {
        let mut st = self.queue.state.borrow_mut();
        if st.putters.remove(self.key) == Some(Wake::Go) {
            // Pass the reserved slot on.
            st.reserved_slots -= 1;
            let w = st.serve_putter();
            drop(st);
            wake(w);
        }
    }
}

impl<T, K: Kind<T>> Drop for Put<'_, T, K> {
    #[inline]
    fn drop(&mut self) {
        if self.key != NIL {
            self.leave_queue();
        }
    }
}

impl<T, K: Kind<T>> fmt::Debug for Put<'_, T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put")
            .field("queued", &(self.key != NIL))
            .finish()
    }
}

/// Future of [`GenericQueue::get`].
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let q = anyloop::queue::Queue::new(0);
/// q.put_nowait(1).unwrap();
/// let fut: anyloop::queue::Get<'_, i32, _> = q.get();
/// assert_eq!(fut.await, Ok(1));
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Get<'a, T, K: Kind<T>> {
    queue: &'a GenericQueue<T, K>,
    key: usize,
}

impl<T, K: Kind<T>> Future for Get<'_, T, K> {
    type Output = Result<T, QueueShutDown>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = self.queue.state.borrow_mut();
        if self.key == NIL {
            if st.free_items() {
                if let Some((item, w)) = st.pop() {
                    drop(st);
                    wake(w);
                    return Poll::Ready(Ok(item));
                }
            }
            if st.shutdown {
                return Poll::Ready(Err(QueueShutDown(())));
            }
            self.key = st.getters.push(cx.waker());
            return Poll::Pending;
        }
        let Some(wake_kind) = st.getters.poll(self.key, cx.waker()) else {
            return Poll::Pending;
        };
        self.key = NIL;
        // Reserved for us, or (after a shutdown) left unclaimed.
        if wake_kind == Wake::Go || st.free_items() {
            if wake_kind == Wake::Go {
                st.reserved_items -= 1;
            }
            if let Some((item, w)) = st.pop() {
                drop(st);
                wake(w);
                return Poll::Ready(Ok(item));
            }
        }
        // Drained by `shutdown(immediate = true)`.
        Poll::Ready(Err(QueueShutDown(())))
    }
}

impl<T, K: Kind<T>> Get<'_, T, K> {
    #[inline(never)]
    fn leave_queue(&mut self) {
        let mut st = self.queue.state.borrow_mut();
        if st.getters.remove(self.key) == Some(Wake::Go) {
            // The item stays queued: pass it to the next getter.
            st.reserved_items -= 1;
            let w = st.serve_getter();
            drop(st);
            wake(w);
        }
    }
}

impl<T, K: Kind<T>> Drop for Get<'_, T, K> {
    #[inline]
    fn drop(&mut self) {
        if self.key != NIL {
            self.leave_queue();
        }
    }
}

impl<T, K: Kind<T>> fmt::Debug for Get<'_, T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get")
            .field("queued", &(self.key != NIL))
            .finish()
    }
}

/// Future of [`GenericQueue::join`].
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// let q = anyloop::queue::Queue::<u8>::new(0);
/// let fut: anyloop::queue::Join<'_, u8, _> = q.join();
/// fut.await; // nothing unfinished
/// # });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Join<'a, T, K: Kind<T>> {
    queue: &'a GenericQueue<T, K>,
    key: usize,
}

impl<T, K: Kind<T>> Future for Join<'_, T, K> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.queue.state.borrow_mut();
        if self.key == NIL {
            if st.unfinished == 0 {
                return Poll::Ready(());
            }
            self.key = st.joiners.push(cx.waker());
            return Poll::Pending;
        }
        match st.joiners.poll(self.key, cx.waker()) {
            Some(()) => {
                self.key = NIL;
                Poll::Ready(())
            }
            None => Poll::Pending,
        }
    }
}

impl<T, K: Kind<T>> Drop for Join<'_, T, K> {
    fn drop(&mut self) {
        if self.key != NIL {
            self.queue.state.borrow_mut().joiners.remove(self.key);
        }
    }
}

impl<T, K: Kind<T>> fmt::Debug for Join<'_, T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("queued", &(self.key != NIL))
            .finish()
    }
}
