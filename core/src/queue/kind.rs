use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// The order a queue hands out items in: [`Fifo`], [`Lifo`] or
/// [`Priority`]. Sealed: implemented only by those three.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// use anyloop::queue::{GenericQueue, Lifo};
/// let q: GenericQueue<u8, Lifo> = anyloop::queue::LifoQueue::new(0);
/// # let _ = q;
/// ```
pub trait Kind<T>: sealed::Buffer<T> {}

pub(crate) mod sealed {
    /// The item store of a queue kind.
    pub trait Buffer<T> {
        type Store;
        fn store() -> Self::Store;
        fn push(store: &mut Self::Store, item: T);
        fn pop(store: &mut Self::Store) -> Option<T>;
        fn len(store: &Self::Store) -> usize;
    }
}

/// First in, first out: [`Queue`](super::Queue).
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// let q: anyloop::queue::GenericQueue<u8, anyloop::queue::Fifo> =
///     anyloop::queue::Queue::new(0);
/// # let _ = q;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Fifo;

/// Last in, first out: [`LifoQueue`](super::LifoQueue).
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// let q: anyloop::queue::GenericQueue<u8, anyloop::queue::Lifo> =
///     anyloop::queue::LifoQueue::new(0);
/// # let _ = q;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Lifo;

/// Smallest first: [`PriorityQueue`](super::PriorityQueue).
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// let q: anyloop::queue::GenericQueue<u8, anyloop::queue::Priority> =
///     anyloop::queue::PriorityQueue::new(0);
/// # let _ = q;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Priority;

impl<T> Kind<T> for Fifo {}
impl<T> Kind<T> for Lifo {}
impl<T: Ord> Kind<T> for Priority {}

impl<T> sealed::Buffer<T> for Fifo {
    type Store = VecDeque<T>;
    #[inline]
    fn store() -> VecDeque<T> {
        VecDeque::new()
    }
    #[inline]
    fn push(store: &mut VecDeque<T>, item: T) {
        store.push_back(item);
    }
    #[inline]
    fn pop(store: &mut VecDeque<T>) -> Option<T> {
        store.pop_front()
    }
    #[inline]
    fn len(store: &VecDeque<T>) -> usize {
        store.len()
    }
}

impl<T> sealed::Buffer<T> for Lifo {
    type Store = Vec<T>;
    #[inline]
    fn store() -> Vec<T> {
        Vec::new()
    }
    #[inline]
    fn push(store: &mut Vec<T>, item: T) {
        store.push(item);
    }
    #[inline]
    fn pop(store: &mut Vec<T>) -> Option<T> {
        store.pop()
    }
    #[inline]
    fn len(store: &Vec<T>) -> usize {
        store.len()
    }
}

impl<T: Ord> sealed::Buffer<T> for Priority {
    type Store = BinaryHeap<Reverse<T>>;
    #[inline]
    fn store() -> BinaryHeap<Reverse<T>> {
        BinaryHeap::new()
    }
    #[inline]
    fn push(store: &mut BinaryHeap<Reverse<T>>, item: T) {
        store.push(Reverse(item));
    }
    #[inline]
    fn pop(store: &mut BinaryHeap<Reverse<T>>) -> Option<T> {
        store.pop().map(|Reverse(v)| v)
    }
    #[inline]
    fn len(store: &BinaryHeap<Reverse<T>>) -> usize {
        store.len()
    }
}
