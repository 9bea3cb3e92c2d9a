//! Task-local context: asyncio's `contextvars` as seen by tasks.

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;

use crate::task;

/// The values of every [`LocalKey`] set in one task. Shared (by reference
/// count) with the children spawned after the last change and copied on
/// the next write, like `contextvars.copy_context()` with copy-on-write.
#[derive(Clone, Default)]
pub(crate) struct Context {
    entries: Vec<(usize, Rc<dyn Any>)>,
}

impl Context {
    fn get(&self, key: usize) -> Option<Rc<dyn Any>> {
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    }
}

/// A task-local variable declared with [`task_local!`](crate::task_local):
/// asyncio's `contextvars.ContextVar` inside tasks.
///
/// Each task has its own context. A task spawned from another starts with
/// a copy of its parent's context as it was at the time of the spawn
/// (asyncio copies the context in `create_task`); later changes in either
/// task are not seen by the other.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// anyloop::task_local! {
///     static REQUEST_ID: u32;
/// }
/// # anyloop_core::doctest_run(async {
/// REQUEST_ID.set(7);
/// let child = anyloop::spawn(async {
///     let inherited = REQUEST_ID.get();
///     REQUEST_ID.set(8); // only the child's copy changes
///     inherited
/// });
/// assert_eq!(child.await.unwrap(), Some(7));
/// assert_eq!(REQUEST_ID.get(), Some(7));
/// # });
/// ```
pub struct LocalKey<T: 'static> {
    default: Option<fn() -> T>,
    _t: PhantomData<fn() -> T>,
}

impl<T: 'static> LocalKey<T> {
    #[doc(hidden)]
    pub const fn __new(default: Option<fn() -> T>) -> Self {
        LocalKey {
            default,
            _t: PhantomData,
        }
    }

    /// The key's identity: the address of its `static` (never a ZST: it
    /// holds an `Option<fn>`).
    fn key(&'static self) -> usize {
        self as *const Self as usize
    }

    fn value(&'static self) -> Option<Rc<dyn Any>> {
        task::with_running_locals(|c| c.as_ref().and_then(|c| c.get(self.key()))).flatten()
    }

    /// Sets the value in the running task's context (asyncio's
    /// `ContextVar.set`). Tasks spawned afterwards inherit it.
    ///
    /// # Panics
    ///
    /// Panics outside a task (there is no context to set).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// anyloop::task_local!(static USER: String);
    /// # anyloop_core::doctest_run(async {
    /// USER.set("ada".to_string());
    /// assert_eq!(USER.get().as_deref(), Some("ada"));
    /// # });
    /// ```
    #[track_caller]
    pub fn set(&'static self, value: T) {
        let key = self.key();
        let value: Rc<dyn Any> = Rc::new(value);
        // The old value is dropped after the context is released: its
        // destructor may use task-locals itself.
        let old = task::with_running_locals(move |c| {
            let ctx = Rc::make_mut(c.get_or_insert_with(Rc::default));
            match ctx.entries.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => Some(std::mem::replace(&mut slot.1, value)),
                None => {
                    ctx.entries.push((key, value));
                    None
                }
            }
        });
        let done = old.is_some();
        drop(old);
        if !done {
            panic!(
                "anyloop: a task_local! value can only be set inside a task \
                 (inside `anyloop::run`, `#[anyloop::test]` or a spawned task)"
            );
        }
    }

    /// Removes the value from the running task's context, so that
    /// [`get`](Self::get) returns the default again (asyncio's
    /// `ContextVar.reset` to the state before any `set`). Does nothing
    /// outside a task.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// anyloop::task_local!(static LEVEL: u8 = 1);
    /// # anyloop_core::doctest_run(async {
    /// LEVEL.set(3);
    /// LEVEL.remove();
    /// assert_eq!(LEVEL.get(), Some(1));
    /// # });
    /// ```
    pub fn remove(&'static self) {
        let key = self.key();
        let old = task::with_running_locals(|c| {
            let ctx = c.as_mut()?;
            let i = ctx.entries.iter().position(|(k, _)| *k == key)?;
            // Dropped after the context is released (see `set`).
            Some(Rc::make_mut(ctx).entries.swap_remove(i))
        });
        drop(old);
    }

    /// Calls `f` with the value in the running task's context, or its
    /// default, or `None` (also outside a task).
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// anyloop::task_local!(static NAMES: Vec<&'static str>);
    /// # anyloop_core::doctest_run(async {
    /// NAMES.set(vec!["a", "b"]);
    /// assert_eq!(NAMES.with(|v| v.map_or(0, |v| v.len())), 2);
    /// # });
    /// ```
    pub fn with<R>(&'static self, f: impl FnOnce(Option<&T>) -> R) -> R {
        // The value is cloned out (a reference count) before `f` runs, so
        // `f` may set or read task-locals itself.
        match self.value() {
            Some(v) => f(v.downcast_ref::<T>()),
            None => match self.default {
                Some(init) => f(Some(&init())),
                None => f(None),
            },
        }
    }

    /// A clone of the value (asyncio's `ContextVar.get()`): the running
    /// task's, or the default, or `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// anyloop::task_local!(static RETRIES: u32 = 3);
    /// # anyloop_core::doctest_run(async {
    /// assert_eq!(RETRIES.get(), Some(3));
    /// RETRIES.set(5);
    /// assert_eq!(RETRIES.get(), Some(5));
    /// # });
    /// ```
    pub fn get(&'static self) -> Option<T>
    where
        T: Clone,
    {
        self.with(|v| v.cloned())
    }

    /// Whether the running task's context holds a value for this key.
    ///
    /// # Examples
    ///
    /// ```
    /// # use anyloop_core::__doctest as anyloop;
    /// anyloop::task_local!(static FLAG: bool = false);
    /// # anyloop_core::doctest_run(async {
    /// assert!(!FLAG.is_set());
    /// FLAG.set(true);
    /// assert!(FLAG.is_set());
    /// # });
    /// ```
    pub fn is_set(&'static self) -> bool {
        self.value().is_some()
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKey").finish_non_exhaustive()
    }
}

/// Declares task-local variables ([`LocalKey`]s): asyncio's
/// `contextvars.ContextVar`, optionally with a default.
///
/// Children inherit a copy of the spawning task's values (see [`LocalKey`]).
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// anyloop::task_local! {
///     /// The id of the request being served.
///     pub static REQUEST_ID: u64;
///     static DEPTH: u32 = 0;
/// }
/// # anyloop_core::doctest_run(async {
/// assert_eq!(REQUEST_ID.get(), None);
/// assert_eq!(DEPTH.get(), Some(0));
/// REQUEST_ID.set(42);
/// let seen = anyloop::spawn(async { REQUEST_ID.get() }).await.unwrap();
/// assert_eq!(seen, Some(42));
/// # });
/// ```
#[doc(alias = "ContextVar")]
#[doc(alias = "contextvars")]
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident : $t:ty = $init:expr $(; $($rest:tt)*)?) => {
        $(#[$attr])*
        $vis static $name: $crate::tasks::LocalKey<$t> = $crate::tasks::LocalKey::__new({
            fn __anyloop_default() -> $t {
                $init
            }
            ::core::option::Option::Some(__anyloop_default)
        });
        $($crate::task_local!($($rest)*);)?
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident : $t:ty $(; $($rest:tt)*)?) => {
        $(#[$attr])*
        $vis static $name: $crate::tasks::LocalKey<$t> =
            $crate::tasks::LocalKey::__new(::core::option::Option::None);
        $($crate::task_local!($($rest)*);)?
    };
}
