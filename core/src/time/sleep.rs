use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::Instant;
use crate::driver::{self, timers::TimerKey, Local};

/// Waits for `dur`: asyncio's `await asyncio.sleep(seconds)`.
///
/// `sleep(Duration::ZERO)` yields to the loop once, like `asyncio.sleep(0)`
/// (and never pays a browser's 4 ms `setTimeout` clamp).
///
/// # When the time starts
///
/// Never before the call: the sleep ends at least `dur` after `sleep` was
/// called (as tokio's does), and at most `dur` after its first poll plus
/// the loop's usual lateness (as asyncio's coroutine, which starts counting
/// when it is first awaited). Where in that window depends on what a clock
/// read costs:
///
/// - Natively it is a vDSO call (~20 ns): `sleep` reads the clock and the
///   time starts at the call. So it does in the browser.
/// - On WASI it is a call into the host (~90 ns under wasmtime, more than
///   spawning a task): `sleep` reads no clock, and at the first poll the
///   deadline is `dur` after the loop's latest clock reading if that was
///   taken after the call, else after a fresh one. A task that creates
///   100,000 sleeps in a row thus makes one clock read for all of them
///   instead of one each (the `timers` row of `cargo xtask bench --host
///   wasi`: 12.2 → 5.7 ms past the longest sleep). Natively that trade
///   loses: sleeps created together then share one start, so their
///   deadlines no longer follow their creation order, which cost more
///   than the reads it saved (the same row, 100,000 sleepers: 7.4-8.1 →
///   9.5-9.7 ms). The browser was not measured.
///
/// To pin the start at the call on every host, use
/// [`sleep_until`]`(Instant::now() + dur)`.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use std::time::Duration;
/// anyloop::sleep(Duration::from_millis(20)).await;
/// # });
/// ```
///
/// # Panics
///
/// Polling the future outside a running loop panics, naming the fix.
pub fn sleep(dur: Duration) -> Sleep {
    // On WASI, no clock read here: see "When the time starts". (Also in
    // the core's own tests, so that this path is tested natively.)
    #[cfg(any(test, target_os = "wasi"))]
    if let Some((origin, seen)) = driver::try_with_current(|l| (loop_id(l), l.last_now())) {
        return Sleep::new(Deadline::After { dur, origin, seen });
    }
    match Instant::try_now() {
        Some(now) => sleep_until(now + dur),
        // Created before any loop or clock exists: start counting at the
        // first poll.
        None => Sleep::new(Deadline::After {
            dur,
            origin: NO_LOOP,
            seen: 0,
        }),
    }
}

/// A loop's identity for [`Deadline::After`].
#[inline]
fn loop_id(l: &Local) -> usize {
    l as *const Local as usize
}

/// Waits until `deadline` (asyncio's `loop.call_at` time base).
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// # anyloop_core::doctest_run(async {
/// use anyloop::time::Instant;
/// use std::time::Duration;
/// let deadline = Instant::now() + Duration::from_millis(5);
/// anyloop::sleep_until(deadline).await;
/// assert!(Instant::now() >= deadline);
/// # });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(Deadline::At(deadline))
}

#[derive(Debug, Clone, Copy)]
enum Deadline {
    At(Instant),
    /// `dur` after a clock reading taken after `sleep` was called: a
    /// reading of loop `origin` greater than `seen` (its latest reading
    /// when the sleep was created; clock readings never decrease, so a
    /// greater one was taken later), else a fresh one.
    After {
        dur: Duration,
        /// The creating loop's address ([`NO_LOOP`]: none). A loop at the
        /// same address is that loop, or one created after it was dropped
        /// (so after the sleep was): its readings qualify either way.
        origin: usize,
        seen: u64,
    },
}

/// `Deadline::After::origin` of a sleep created outside any loop.
const NO_LOOP: usize = 0;

/// Future of [`sleep`] and [`sleep_until`]. It is `Send` and `Unpin`: it
/// holds only its deadline and a key into the loop's timer store, and
/// removes its timer when dropped.
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    deadline: Deadline,
    key: Option<TimerKey>,
    yielded: bool,
}

impl Sleep {
    fn new(deadline: Deadline) -> Sleep {
        Sleep {
            deadline,
            key: None,
            yielded: false,
        }
    }

    /// The deadline.
    ///
    /// # Panics
    ///
    /// Panics if the sleep was created before any clock existed and was
    /// never polled, and there is still no clock.
    pub fn deadline(&self) -> Instant {
        match self.deadline {
            Deadline::At(d) => d,
            Deadline::After { dur, .. } => Instant::now() + dur,
        }
    }

    /// Whether the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline()
    }

    /// Moves the deadline (earlier or later); the sleep waits for the new one.
    pub fn reset(&mut self, deadline: Instant) {
        self.cancel_timer();
        self.deadline = Deadline::At(deadline);
        self.yielded = false;
    }

    /// A timer is registered for the deadline (it was polled and the
    /// deadline was in the future then).
    pub(crate) fn is_armed(&self) -> bool {
        self.key.is_some()
    }

    fn cancel_timer(&mut self) {
        if let Some(key) = self.key.take() {
            driver::try_with_current(|l| l.timers().remove(key));
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        driver::with_current(|l| {
            if let Some(key) = this.key {
                if l.timers().update(key, cx.waker()) {
                    return Poll::Pending;
                }
                this.key = None;
                return Poll::Ready(());
            }
            // A reading a few polls old will do to tell whether the
            // deadline has passed (see `recent_now`): if it passed since,
            // the timer fires at the next timer check.
            let (deadline, now) = match this.deadline {
                Deadline::At(d) => (d, l.recent_now()),
                Deadline::After { dur, origin, seen } => {
                    // The earliest reading known to be taken after the
                    // sleep was created (the latest one, not refreshed:
                    // sleeps created together then start together, as
                    // close to their creation as the loop can tell).
                    let last = l.last_now();
                    let start = if origin == loop_id(l) && last > seen {
                        last
                    } else {
                        l.now()
                    };
                    let d = Instant::from_nanos(start) + dur;
                    this.deadline = Deadline::At(d);
                    (d, start)
                }
            };
            if deadline.as_nanos() <= now {
                if this.yielded {
                    return Poll::Ready(());
                }
                // An expired deadline still yields once, as asyncio.sleep(0) does.
                this.yielded = true;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let key = l.timers().insert(deadline.as_nanos(), cx.waker().clone());
            this.key = Some(key);
            Poll::Pending
        })
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel_timer();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::testing::MockHost;
    use crate::EventLoop;

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Where a sleep's time starts, on the mock host's virtual clock (it
    /// moves only when the loop parks).
    #[test]
    fn a_sleep_counts_from_the_first_clock_reading_after_its_creation() {
        let host = MockHost::new();
        let log = host.log_handle();
        EventLoop::new(host).block_on(async {
            sleep(ms(10)).await;
            // Created at 10 ms; the loop reads 30 ms before its first
            // poll: it ends at 30 + 30 ms, never before 10 + 30 ms.
            let s = sleep(ms(30));
            sleep(ms(20)).await;
            s.await;
            assert_eq!(Instant::now(), Instant::from_nanos(60_000_000));
            // Created and polled with no reading in between: a fresh one.
            let s = sleep(ms(5));
            s.await;
            assert_eq!(Instant::now(), Instant::from_nanos(65_000_000));
            // `sleep_until(now + dur)` pins the start at the call.
            let s = sleep_until(Instant::now() + ms(30));
            sleep(ms(20)).await;
            s.await;
            assert_eq!(Instant::now(), Instant::from_nanos(95_000_000));
        });
        assert_eq!(
            log.take(),
            [
                "park 10ms",
                "park 20ms",
                "park 30ms",
                "park 5ms",
                "park 20ms",
                "park 10ms"
            ]
        );
    }

    /// A sleep created in one loop and first polled in another takes a
    /// fresh reading of the second loop's clock.
    #[test]
    fn a_sleep_moved_to_another_loop_reads_that_loop_s_clock() {
        let a = EventLoop::new(MockHost::new());
        let [s] = a.block_on(async {
            sleep(ms(50)).await;
            [sleep(ms(5))]
        });
        let host = MockHost::new();
        let log = host.log_handle();
        EventLoop::new(host).block_on(async {
            sleep(ms(100)).await;
            s.await;
            assert_eq!(Instant::now(), Instant::from_nanos(105_000_000));
        });
        assert_eq!(log.take(), ["park 100ms", "park 5ms"]);
    }
}
