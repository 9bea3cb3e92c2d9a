//! Time on every host from one clock: [`Instant`], [`sleep`], [`timeout`].
//!
//! The clock is the host's monotonic clock (`clock_gettime` natively,
//! `clock_time_get` on WASI, `performance.now()` in the browser), never
//! `std::time::Instant` (which panics on `wasm32-unknown-unknown`).

mod sleep;
mod timeout;

pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Elapsed, Timeout, TimeoutScope};

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use crate::driver;

/// A point on the host's monotonic clock, in nanoseconds.
///
/// Works like `std::time::Instant`, on every host.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use anyloop::time::Instant;
/// use std::time::Duration;
/// let start = Instant::now();
/// anyloop::sleep(Duration::from_millis(10)).await;
/// assert!(start.elapsed() >= Duration::from_millis(10));
/// # });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

/// The clock [`Instant::try_now`] reads outside a loop; the last one set.
static FALLBACK_CLOCK: RwLock<Option<fn() -> u64>> = RwLock::new(None);

/// Sets the clock [`Instant::now`] reads outside a running loop. Backends
/// call this when they create their host; it must agree with the host's
/// [`Host::now_ns`](crate::Host::now_ns).
pub fn set_fallback_clock(clock: fn() -> u64) {
    *FALLBACK_CLOCK
        .write()
        .unwrap_or_else(PoisonError::into_inner) = Some(clock);
}

impl Instant {
    /// The current time of the running loop's host (or of the platform's
    /// clock outside a loop).
    ///
    /// # Panics
    ///
    /// Panics outside a loop if no backend registered a clock.
    #[track_caller]
    pub fn now() -> Instant {
        match Instant::try_now() {
            Some(now) => now,
            None => panic!(
                "anyloop: no clock outside a running loop; run inside `anyloop::run` or \
                 create a loop (which registers the platform clock) first"
            ),
        }
    }

    /// The current time, or `None` outside a loop when no backend
    /// registered a clock.
    pub fn try_now() -> Option<Instant> {
        if let Some(ns) = driver::try_with_current(|l| l.now()) {
            return Some(Instant(ns));
        }
        let clock = *FALLBACK_CLOCK
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        clock.map(|clock| Instant(clock()))
    }

    /// The instant `ns` nanoseconds after the clock's origin.
    pub const fn from_nanos(ns: u64) -> Instant {
        Instant(ns)
    }

    /// Nanoseconds since the clock's origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// Same as [`duration_since`](Self::duration_since).
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        self.duration_since(earlier)
    }

    /// Time passed since `self`.
    pub fn elapsed(self) -> Duration {
        Instant::now().duration_since(self)
    }

    /// `self + d`, or `None` on overflow.
    pub fn checked_add(self, d: Duration) -> Option<Instant> {
        self.0.checked_add(nanos(d)?).map(Instant)
    }

    /// `self - d`, or `None` before the origin.
    pub fn checked_sub(self, d: Duration) -> Option<Instant> {
        self.0.checked_sub(nanos(d)?).map(Instant)
    }

    /// `self + d`, saturating at the far future.
    pub fn saturating_add(self, d: Duration) -> Instant {
        self.checked_add(d).unwrap_or(Instant(u64::MAX))
    }
}

/// `d` in nanoseconds, `None` past `u64::MAX` (584 years). In 64-bit
/// arithmetic with the overflow tested by a compare: `Duration::as_nanos`'s
/// `u128` product (and `u64::checked_mul`) link a 128-bit multiply
/// (`__multi3`) into every wasm32 program (issue 17).
#[inline]
pub(crate) fn nanos(d: Duration) -> Option<u64> {
    const NS: u64 = 1_000_000_000;
    let secs = d.as_secs();
    if secs > u64::MAX / NS {
        return None;
    }
    (secs * NS).checked_add(u64::from(d.subsec_nanos()))
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturates at the far future instead of overflowing.
    fn add(self, d: Duration) -> Instant {
        self.saturating_add(d)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    /// Saturates at the clock's origin.
    fn sub(self, d: Duration) -> Instant {
        self.checked_sub(d).unwrap_or(Instant(0))
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, d: Duration) {
        *self = *self - d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.duration_since(earlier)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instant({:?})", Duration::from_nanos(self.0))
    }
}
