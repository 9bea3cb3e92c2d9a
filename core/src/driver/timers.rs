//! The timer store: earliest deadline first, equal deadlines in FIFO order.
//!
//! A `BTreeMap<(deadline, seq), Waker>` (as in async-io): insert, cancel and
//! "pop the earliest due" are O(log n), a cancelled timer is removed at once
//! (no tombstones that grow without bound) and the map's order is exactly the
//! firing order.

use std::collections::BTreeMap;
use std::task::Waker;

/// Identifies one registered timer: its deadline (ns) and insertion sequence.
pub(crate) type TimerKey = (u64, u64);

#[derive(Default)]
pub(crate) struct Timers {
    map: BTreeMap<TimerKey, Waker>,
    seq: u64,
}

impl Timers {
    pub(crate) fn insert(&mut self, deadline: u64, waker: Waker) -> TimerKey {
        let key = (deadline, self.seq);
        self.seq += 1;
        self.map.insert(key, waker);
        key
    }

    /// Replaces the waker of a live timer; returns false if it already fired.
    pub(crate) fn update(&mut self, key: TimerKey, waker: &Waker) -> bool {
        match self.map.get_mut(&key) {
            Some(w) => {
                if !w.will_wake(waker) {
                    w.clone_from(waker);
                }
                true
            }
            None => false,
        }
    }

    pub(crate) fn remove(&mut self, key: TimerKey) {
        self.map.remove(&key);
    }

    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.map.first_key_value().map(|(k, _)| k.0)
    }

    /// Removes and returns the earliest timer due at `now`.
    pub(crate) fn pop_due(&mut self, now: u64) -> Option<Waker> {
        let entry = self.map.first_entry()?;
        if entry.key().0 <= now {
            Some(entry.remove())
        } else {
            None
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn take_all(&mut self) -> BTreeMap<TimerKey, Waker> {
        std::mem::take(&mut self.map)
    }
}
