//! A FIFO list of waiting futures, stored in a slab.
//!
//! Every waiting future owns one slot, addressed by its index (its "key"),
//! from its first `Pending` until it completes or is dropped. Waiting slots
//! are linked in arrival order; serving a waiter unlinks it and leaves a
//! value (the lock, a permit, an item reservation, ...) in its slot for the
//! future to pick up at its next poll, or to hand back when it is dropped.
//! Slots are recycled through a free list, so a steady state allocates
//! nothing.

use std::fmt;
use std::task::Waker;

const NIL: usize = usize::MAX;

enum State<V> {
    /// Unused; the index of the next free slot.
    Free(usize),
    /// Linked into the FIFO, not served yet.
    Waiting,
    /// Served: unlinked, holding what it was given.
    Notified(V),
}

struct Slot<V> {
    state: State<V>,
    waker: Option<Waker>,
    prev: usize,
    next: usize,
}

/// FIFO waiters of one primitive. Single-threaded: lives in a `RefCell`.
pub(crate) struct WaitList<V> {
    slots: Vec<Slot<V>>,
    head: usize,
    tail: usize,
    free: usize,
    waiting: usize,
}

impl<V> Default for WaitList<V> {
    fn default() -> Self {
        WaitList::new()
    }
}

impl<V> fmt::Debug for WaitList<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitList")
            .field("waiting", &self.waiting)
            .finish()
    }
}

impl<V> WaitList<V> {
    pub(crate) const fn new() -> Self {
        WaitList {
            slots: Vec::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
            waiting: 0,
        }
    }

    /// Number of waiters not served yet.
    #[inline]
    pub(crate) fn waiting(&self) -> usize {
        self.waiting
    }

    /// Appends a waiter; returns its key.
    pub(crate) fn push(&mut self, waker: &Waker) -> usize {
        let tail = self.tail;
        let key = self.free;
        let key = match self.slots.get_mut(key) {
            Some(slot) => {
                // A free slot holds no waker and no value: overwrite in place.
                if let State::Free(next) = slot.state {
                    self.free = next;
                }
                slot.state = State::Waiting;
                slot.waker = Some(waker.clone());
                slot.prev = tail;
                slot.next = NIL;
                key
            }
            None => {
                self.slots.push(Slot {
                    state: State::Waiting,
                    waker: Some(waker.clone()),
                    prev: tail,
                    next: NIL,
                });
                self.slots.len() - 1
            }
        };
        if self.tail == NIL {
            self.head = key;
        } else {
            self.slots[self.tail].next = key;
        }
        self.tail = key;
        self.waiting += 1;
        key
    }

    fn unlink(&mut self, key: usize) {
        let (prev, next) = (self.slots[key].prev, self.slots[key].next);
        if prev == NIL {
            self.head = next;
        } else {
            self.slots[prev].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.slots[next].prev = prev;
        }
        self.waiting -= 1;
    }

    fn release(&mut self, key: usize) -> State<V> {
        let slot = &mut self.slots[key];
        slot.waker = None;
        let old = std::mem::replace(&mut slot.state, State::Free(self.free));
        self.free = key;
        old
    }

    /// Serves the oldest waiter with `value`; returns its waker to wake
    /// (after the caller released its borrow), or gives `value` back if
    /// nobody waits.
    pub(crate) fn notify_first(&mut self, value: V) -> Result<Option<Waker>, V> {
        let key = self.head;
        if key == NIL {
            return Err(value);
        }
        self.unlink(key);
        let slot = &mut self.slots[key];
        slot.state = State::Notified(value);
        Ok(slot.waker.take())
    }

    /// At a poll of the waiter `key`: takes its value if it was served
    /// (freeing the slot), else stores the newest waker.
    pub(crate) fn poll(&mut self, key: usize, waker: &Waker) -> Option<V> {
        match self.slots[key].state {
            State::Notified(_) => match self.release(key) {
                State::Notified(v) => Some(v),
                _ => unreachable!(),
            },
            State::Waiting => {
                let slot = &mut self.slots[key];
                match &mut slot.waker {
                    Some(w) if w.will_wake(waker) => {}
                    w => *w = Some(waker.clone()),
                }
                None
            }
            State::Free(_) => unreachable!("anyloop: waiter polled after it was released"),
        }
    }

    /// The waiter `key` goes away (its future is dropped): frees its slot
    /// and returns the value it was served with, if any, to hand back.
    pub(crate) fn remove(&mut self, key: usize) -> Option<V> {
        if let State::Waiting = self.slots[key].state {
            self.unlink(key);
        }
        match self.release(key) {
            State::Notified(v) => Some(v),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_and_reuse() {
        let w = Waker::noop();
        let mut l = WaitList::<u32>::default();
        let a = l.push(w);
        let b = l.push(w);
        let c = l.push(w);
        assert_eq!(l.waiting(), 3);
        assert_eq!(l.remove(b), None);
        assert!(l.notify_first(1).is_ok());
        assert!(l.notify_first(2).is_ok());
        assert_eq!(l.notify_first(3).unwrap_err(), 3);
        assert_eq!(l.poll(a, w), Some(1));
        assert_eq!(l.remove(c), Some(2));
        assert_eq!(l.waiting(), 0);
        let d = l.push(w);
        assert!(d <= 2, "slots are reused");
        assert_eq!(l.poll(d, w), None);
        assert_eq!(l.slots.len(), 3);
    }
}
