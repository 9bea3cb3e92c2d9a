//! The core's mutex (the injection queue, a task's cold data, the debug
//! handlers, `gather`'s and `shared`'s state, a timeout's waker): std's,
//! except on wasm without the `atomics` target feature (browser, wasip1,
//! wasip2), where a program has one thread. There std's mutex is a flag
//! too, but its re-entry check is an `assert_eq!` whose failure path links
//! `core::fmt` (`assert_failed`, `bool`'s `Debug`: 537 B of the browser's
//! hello world after `wasm-opt`); here re-entry panics with a plain
//! message. Poisoning never happens on these targets (a panic aborts), so
//! `lock` always returns `Ok`.
//!
//! It lives with the scheduler, the core's one place for `unsafe`;
//! `crate::shim::lock` re-exports it.

#[cfg(not(all(target_family = "wasm", not(target_feature = "atomics"))))]
pub(crate) use std::sync::{Mutex, MutexGuard};

#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
pub(crate) use single::{Mutex, MutexGuard};

#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
mod single {
    use std::cell::{Cell, UnsafeCell};
    use std::ops::{Deref, DerefMut};
    use std::sync::LockResult;

    /// A mutex for a program with one thread: a "locked" flag and the
    /// value (see [`super`]).
    pub(crate) struct Mutex<T> {
        locked: Cell<bool>,
        value: UnsafeCell<T>,
    }

    // SAFETY: without the `atomics` target feature a wasm program runs
    // on one thread (std cannot spawn another), so no two threads ever
    // reach the flag or the value; within the thread `lock` hands out
    // one guard at a time.
    unsafe impl<T: Send> Sync for Mutex<T> {}

    impl<T> Mutex<T> {
        pub(crate) const fn new(value: T) -> Mutex<T> {
            Mutex {
                locked: Cell::new(false),
                value: UnsafeCell::new(value),
            }
        }

        /// Locks the mutex; panics if this thread holds it already
        /// (with threads that would deadlock).
        #[inline]
        pub(crate) fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
            if self.locked.replace(true) {
                relocked();
            }
            Ok(MutexGuard { mutex: self })
        }

        /// The value (never poisoned: see [`super`]).
        pub(crate) fn into_inner(self) -> LockResult<T> {
            Ok(self.value.into_inner())
        }
    }

    impl<T: Default> Default for Mutex<T> {
        fn default() -> Mutex<T> {
            Mutex::new(T::default())
        }
    }

    #[cold]
    #[inline(never)]
    fn relocked() -> ! {
        panic!("cannot recursively acquire mutex")
    }

    /// The access [`Mutex::lock`] grants; unlocks when dropped.
    pub(crate) struct MutexGuard<'a, T> {
        mutex: &'a Mutex<T>,
    }

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;

        #[inline]
        fn deref(&self) -> &T {
            // SAFETY: the flag is set while this guard lives, so no
            // other guard (and no `&mut`) reaches the value.
            unsafe { &*self.mutex.value.get() }
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        #[inline]
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: as in `deref`; `&mut self` makes this the only
            // reference taken through the guard.
            unsafe { &mut *self.mutex.value.get() }
        }
    }

    impl<T> Drop for MutexGuard<'_, T> {
        #[inline]
        fn drop(&mut self) {
            self.mutex.locked.set(false);
        }
    }
}
