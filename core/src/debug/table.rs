//! Debug mode's per-task counters, keyed by task id: a small open
//! addressing table (linear probing, backward-shift deletion) kept by the
//! loop, so that tasks carry no index of their own (a word in every task,
//! debug mode or not).
//!
//! Not `std`'s `HashMap`: its table code and a hasher would be linked into
//! every program (the loop's batch reaches this module), for a map that
//! only ever holds `u64` keys which are already spread by one multiply.

/// Key of an empty slot: task ids start at 1 (local) or count down from
/// `u64::MAX` (remote), so no task has it.
const EMPTY: u64 = 0;

/// Values by task id. Lookups, inserts and removals are O(1) expected; the
/// table doubles when three quarters full and only shrinks on
/// [`clear`](Self::clear) (which keeps its memory, like `Vec::clear`).
pub(super) struct Table<V> {
    /// `len()` is the capacity: 0 or a power of two.
    slots: Vec<(u64, V)>,
    len: usize,
}

impl<V: Copy + Default> Table<V> {
    pub(super) const fn new() -> Self {
        Table {
            slots: Vec::new(),
            len: 0,
        }
    }

    /// The home slot of `id` in a table of `mask + 1` slots (Fibonacci
    /// hashing: the top bits of the product, so consecutive ids spread).
    #[inline]
    fn home(id: u64, mask: usize) -> usize {
        let shift = 64 - (mask + 1).trailing_zeros();
        ((id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (shift & 63)) as usize) & mask
    }

    /// The slot holding `id`, if any.
    fn find(&self, id: u64) -> Option<usize> {
        if self.slots.is_empty() || id == EMPTY {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = Self::home(id, mask);
        // At least one slot is empty (the load stays under 3/4), so the
        // probe ends.
        loop {
            let k = self.slots.get(i)?.0;
            if k == id {
                return Some(i);
            }
            if k == EMPTY {
                return None;
            }
            i = (i + 1) & mask;
        }
    }

    /// The value of `id`.
    pub(super) fn get(&self, id: u64) -> Option<&V> {
        let i = self.find(id)?;
        self.slots.get(i).map(|e| &e.1)
    }

    /// The value of `id`, made by `fresh` if there is none. `None` only
    /// for the id no task has (0).
    pub(super) fn get_or_insert(&mut self, id: u64, fresh: impl FnOnce() -> V) -> Option<&mut V> {
        if id == EMPTY {
            return None;
        }
        if let Some(i) = self.find(id) {
            return self.slots.get_mut(i).map(|e| &mut e.1);
        }
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = Self::home(id, mask);
        while self.slots.get(i)?.0 != EMPTY {
            i = (i + 1) & mask;
        }
        self.len += 1;
        let e = self.slots.get_mut(i)?;
        *e = (id, fresh());
        Some(&mut e.1)
    }

    /// Doubles the table (16 slots at first) and places the entries again.
    #[cold]
    fn grow(&mut self) {
        let cap = (self.slots.len() * 2).max(16);
        let old = std::mem::replace(&mut self.slots, vec![(EMPTY, V::default()); cap]);
        let mask = cap - 1;
        for (id, v) in old.into_iter().filter(|e| e.0 != EMPTY) {
            let mut i = Self::home(id, mask);
            while let Some(e) = self.slots.get_mut(i) {
                if e.0 == EMPTY {
                    *e = (id, v);
                    break;
                }
                i = (i + 1) & mask;
            }
        }
    }

    /// Removes `id`'s entry, if any.
    pub(super) fn remove(&mut self, id: u64) {
        let Some(mut hole) = self.find(id) else {
            return;
        };
        self.len -= 1;
        let mask = self.slots.len() - 1;
        // Backward shift: each following entry of the run moves into the
        // hole unless its home lies cyclically after the hole (then the
        // probe from its home would not cross the hole).
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let Some(&(k, v)) = self.slots.get(j) else {
                return;
            };
            if k == EMPTY {
                break;
            }
            let home = Self::home(k, mask);
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                if let Some(h) = self.slots.get_mut(hole) {
                    *h = (k, v);
                }
                hole = j;
            }
        }
        if let Some(h) = self.slots.get_mut(hole) {
            h.0 = EMPTY;
        }
    }

    /// Removes every entry, keeping the memory.
    pub(super) fn clear(&mut self) {
        if self.len > 0 {
            self.slots.fill((EMPTY, V::default()));
            self.len = 0;
        }
    }

    /// Entries held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::Table;

    /// Against a `BTreeMap`, through growth, collisions and removals in
    /// every order (ids consecutive as a loop's are, and spread).
    #[test]
    fn behaves_as_a_map() {
        use std::collections::BTreeMap;
        let mut t = Table::<u64>::new();
        let mut m = BTreeMap::new();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let rounds = if cfg!(miri) { 600 } else { 20_000 };
        for n in 0..rounds {
            let id = if n % 3 == 0 {
                rnd() | 1
            } else {
                1 + rnd() % 200
            };
            match rnd() % 3 {
                0 => {
                    t.remove(id);
                    m.remove(&id);
                }
                _ => {
                    *t.get_or_insert(id, || 0).unwrap() += n;
                    *m.entry(id).or_insert(0) += n;
                }
            }
            if n % 97 == 0 {
                for (k, v) in &m {
                    assert_eq!(t.get(*k), Some(v));
                }
            }
            assert_eq!(t.len(), m.len());
            assert_eq!(t.get(id), m.get(&id));
        }
        for (k, v) in &m {
            assert_eq!(t.get(*k), Some(v));
        }
        t.clear();
        assert_eq!(t.len(), 0);
        assert!(m.keys().all(|k| t.get(*k).is_none()));
        assert_eq!(t.get_or_insert(0, || 1), None);
        assert_eq!(t.get(0), None);
        *t.get_or_insert(7, || 1).unwrap() += 1;
        assert_eq!(t.get(7), Some(&2));
    }
}
