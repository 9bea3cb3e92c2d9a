//! The timer store: earliest deadline first, equal deadlines in FIFO order.
//!
//! A binary min-heap of `(deadline, seq)` over a slab of timers, each
//! remembering its place in the heap (an indexed heap): insert, cancel and
//! "pop the earliest due" are O(log n), re-arming a live timer with a new
//! waker is O(1), a cancelled timer is removed at once (no tombstones that
//! grow without bound), and `(deadline, seq)` orders timers totally, so the
//! firing order is exactly deadline order with ties in insertion order.
//!
//! Why not `BTreeMap<(deadline, seq), Waker>` (what async-io uses, and
//! what this was): the B-tree's node balancing adds ~6 KB of code to every
//! wasm program, while the heap is a few hundred bytes; the heap also
//! touches one contiguous array.

use std::task::Waker;

/// Identifies one registered timer: its slot in the slab and its insertion
/// sequence number (unique per store, so a stale key never matches a timer
/// that reuses the slot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    slot: u32,
    seq: u64,
}

/// A heap entry: the order key and the timer's slot.
#[derive(Clone, Copy)]
struct HeapEntry {
    deadline: u64,
    seq: u64,
    slot: u32,
}

impl HeapEntry {
    #[inline]
    fn before(&self, other: &HeapEntry) -> bool {
        (self.deadline, self.seq) < (other.deadline, other.seq)
    }
}

/// A slab slot: a live timer (its waker, sequence and heap position), or a
/// free slot linking to the next free one.
enum Slot {
    Live { waker: Waker, seq: u64, pos: u32 },
    Free { next: u32 },
}

/// End of the free list.
const NONE: u32 = u32::MAX;

pub(crate) struct Timers {
    heap: Vec<HeapEntry>,
    slots: Vec<Slot>,
    free: u32,
    seq: u64,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            heap: Vec::new(),
            slots: Vec::new(),
            free: NONE,
            seq: 0,
        }
    }
}

/// The store's invariants broke (a bug in this module). One shared cold
/// panic without a caller location: every heap and slab access below goes
/// through it instead of an index panic (or `unreachable!`) with a
/// `Location` of its own at each site (issue 17: ~0.4 KB of the browser's
/// hello world).
#[cold]
#[inline(never)]
fn corrupt() -> ! {
    panic!("anyloop: the timer store is corrupted")
}

impl Timers {
    pub(crate) fn insert(&mut self, deadline: u64, waker: Waker) -> TimerKey {
        let seq = self.seq;
        self.seq += 1;
        let pos = self.heap.len() as u32;
        let live = Slot::Live { waker, seq, pos };
        let slot = if self.free != NONE {
            let slot = self.free;
            let s = self.slot_mut(slot);
            let Slot::Free { next } = *s else { corrupt() };
            *s = live;
            self.free = next;
            slot
        } else {
            // More than 2^32 - 1 live timers would exhaust memory first.
            self.slots.push(live);
            (self.slots.len() - 1) as u32
        };
        self.heap.push(HeapEntry {
            deadline,
            seq,
            slot,
        });
        self.sift_up(pos as usize);
        TimerKey { slot, seq }
    }

    /// The live timer `key` names: its waker and heap position.
    #[inline]
    fn live(&mut self, key: TimerKey) -> Option<(&mut Waker, usize)> {
        match self.slots.get_mut(key.slot as usize) {
            Some(Slot::Live { waker, seq, pos }) if *seq == key.seq => Some((waker, *pos as usize)),
            _ => None,
        }
    }

    /// Replaces the waker of a live timer; returns false if it already fired.
    pub(crate) fn update(&mut self, key: TimerKey, waker: &Waker) -> bool {
        match self.live(key) {
            Some((w, _)) => {
                if !w.will_wake(waker) {
                    w.clone_from(waker);
                }
                true
            }
            None => false,
        }
    }

    pub(crate) fn remove(&mut self, key: TimerKey) {
        if let Some((_, pos)) = self.live(key) {
            drop(self.remove_at(pos));
        }
    }

    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.heap.first().map(|e| e.deadline)
    }

    /// Removes and returns the earliest timer due at `now`.
    pub(crate) fn pop_due(&mut self, now: u64) -> Option<Waker> {
        if self.heap.first()?.deadline <= now {
            Some(self.remove_at(0))
        } else {
            None
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Takes every timer out, to drop their wakers outside the store's
    /// borrow. The sequence numbers go on, so keys of the taken timers
    /// never match timers inserted later.
    pub(crate) fn take_all(&mut self) -> Timers {
        Timers {
            heap: std::mem::take(&mut self.heap),
            slots: std::mem::take(&mut self.slots),
            free: std::mem::replace(&mut self.free, NONE),
            seq: self.seq,
        }
    }

    /// Removes the heap entry at `pos`, frees its slot, returns its waker.
    fn remove_at(&mut self, pos: usize) -> Waker {
        let Some(last) = self.heap.pop() else {
            corrupt()
        };
        let removed = if pos < self.heap.len() {
            let removed = self.at(pos);
            // The moved entry may belong above or below `pos`.
            if pos > 0 && last.before(&self.at((pos - 1) / 2)) {
                self.sift_up_from(pos, last);
            } else {
                self.sift_down_from(pos, last);
            }
            removed
        } else {
            last
        };
        let next = self.free;
        match std::mem::replace(self.slot_mut(removed.slot), Slot::Free { next }) {
            Slot::Live { waker, .. } => {
                self.free = removed.slot;
                waker
            }
            Slot::Free { .. } => corrupt(),
        }
    }

    /// The heap entry at `pos`.
    #[inline]
    fn at(&self, pos: usize) -> HeapEntry {
        match self.heap.get(pos) {
            Some(e) => *e,
            None => corrupt(),
        }
    }

    #[inline]
    fn slot_mut(&mut self, slot: u32) -> &mut Slot {
        match self.slots.get_mut(slot as usize) {
            Some(s) => s,
            None => corrupt(),
        }
    }

    /// Puts `entry` at `pos` and records the position in its slot.
    #[inline]
    fn place(&mut self, pos: usize, entry: HeapEntry) {
        match self.heap.get_mut(pos) {
            Some(e) => *e = entry,
            None => corrupt(),
        }
        if let Slot::Live { pos: p, .. } = self.slot_mut(entry.slot) {
            *p = pos as u32;
        }
    }

    fn sift_up(&mut self, pos: usize) {
        let entry = self.at(pos);
        self.sift_up_from(pos, entry);
    }

    /// Moves `entry`, to be placed at `pos`, up to where it belongs.
    fn sift_up_from(&mut self, mut pos: usize, entry: HeapEntry) {
        while pos > 0 {
            let parent = (pos - 1) / 2;
            let p = self.at(parent);
            if !entry.before(&p) {
                break;
            }
            self.place(pos, p);
            pos = parent;
        }
        self.place(pos, entry);
    }

    /// Moves `entry`, to be placed at `pos`, down to where it belongs.
    fn sift_down_from(&mut self, mut pos: usize, entry: HeapEntry) {
        let len = self.heap.len();
        loop {
            let left = 2 * pos + 1;
            if left >= len {
                break;
            }
            let mut child = self.at(left);
            let mut at = left;
            if left + 1 < len {
                let right = self.at(left + 1);
                if right.before(&child) {
                    child = right;
                    at = left + 1;
                }
            }
            if !child.before(&entry) {
                break;
            }
            self.place(pos, child);
            pos = at;
        }
        self.place(pos, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A waker that records nothing: the tests compare positions only.
    fn waker() -> Waker {
        Waker::noop().clone()
    }

    /// Pops everything due at `u64::MAX` and returns the keys' order, by
    /// tagging each timer's deadline.
    fn drain_order(t: &mut Timers, keys: &[(u64, TimerKey)]) -> Vec<usize> {
        let mut out = Vec::new();
        while let Some(d) = t.next_deadline() {
            // The popped timer is the live key with the smallest (deadline, seq).
            let i = keys
                .iter()
                .enumerate()
                .filter(|(_, (_, k))| t.live(*k).is_some())
                .min_by_key(|(_, (dl, k))| (*dl, k.seq))
                .map(|(i, _)| i)
                .unwrap();
            assert_eq!(keys[i].0, d);
            assert!(t.pop_due(u64::MAX).is_some());
            assert!(
                t.live(keys[i].1).is_none(),
                "popped timer {i} is still live"
            );
            out.push(i);
        }
        out
    }

    #[test]
    fn fires_in_deadline_order_ties_fifo() {
        let mut t = Timers::default();
        let deadlines = [50, 10, 30, 10, 40, 10, 20, 30, 0, 50];
        let keys: Vec<_> = deadlines
            .iter()
            .map(|&d| (d, t.insert(d, waker())))
            .collect();
        assert_eq!(t.len(), deadlines.len());
        let order = drain_order(&mut t, &keys);
        assert_eq!(order, vec![8, 1, 3, 5, 6, 2, 7, 4, 0, 9]);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn pop_due_respects_now() {
        let mut t = Timers::default();
        t.insert(100, waker());
        t.insert(200, waker());
        assert!(t.pop_due(99).is_none());
        assert!(t.pop_due(100).is_some());
        assert!(t.pop_due(199).is_none());
        assert_eq!(t.next_deadline(), Some(200));
    }

    #[test]
    fn removal_anywhere_keeps_the_heap_ordered() {
        // A pseudo-random mix of inserts and removals against a model.
        let mut t = Timers::default();
        let mut model: Vec<(u64, u64, TimerKey)> = Vec::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for round in 0..2000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x % 3 == 0 && !model.is_empty() {
                let i = (x as usize / 3) % model.len();
                let (_, _, k) = model.swap_remove(i);
                t.remove(k);
                // Removing twice is a no-op.
                t.remove(k);
            } else {
                let d = x % 64;
                let k = t.insert(d, waker());
                model.push((d, k.seq, k));
            }
            if round % 97 == 0 {
                assert!(t.update(model.last().map(|m| m.2).unwrap(), &waker()));
            }
            assert_eq!(t.len(), model.len());
            assert_eq!(t.next_deadline(), model.iter().map(|m| m.0).min());
        }
        model.sort_by_key(|m| (m.0, m.1));
        for (d, _, k) in model {
            assert_eq!(t.next_deadline(), Some(d));
            assert!(t.live(k).is_some());
            assert!(t.pop_due(d).is_some());
            assert!(t.live(k).is_none());
            assert!(!t.update(k, &waker()));
        }
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn stale_keys_never_match_reused_slots() {
        let mut t = Timers::default();
        let a = t.insert(10, waker());
        t.remove(a);
        let b = t.insert(10, waker());
        assert_eq!(a.slot, b.slot);
        assert!(!t.update(a, &waker()));
        t.remove(a);
        assert_eq!(t.len(), 1);
        let taken = t.take_all();
        assert_eq!(taken.len(), 1);
        let c = t.insert(10, waker());
        assert_ne!(c, b);
        t.remove(b);
        assert_eq!(t.len(), 1);
    }
}
