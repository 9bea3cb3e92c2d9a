use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::Instant;
use crate::driver::{self, timers::TimerKey};

/// Waits for `dur`: asyncio's `await asyncio.sleep(seconds)`.
///
/// `sleep(Duration::ZERO)` yields to the loop once, like `asyncio.sleep(0)`
/// (and never pays a browser's 4 ms `setTimeout` clamp).
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
    match Instant::try_now() {
        Some(now) => sleep_until(now + dur),
        // Created before any loop or clock exists: start counting at the
        // first poll.
        None => Sleep {
            deadline: Deadline::After(dur),
            key: None,
            yielded: false,
        },
    }
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
    Sleep {
        deadline: Deadline::At(deadline),
        key: None,
        yielded: false,
    }
}

#[derive(Debug, Clone, Copy)]
enum Deadline {
    At(Instant),
    After(Duration),
}

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
    /// The deadline.
    ///
    /// # Panics
    ///
    /// Panics if the sleep was created before any clock existed and was
    /// never polled, and there is still no clock.
    pub fn deadline(&self) -> Instant {
        match self.deadline {
            Deadline::At(d) => d,
            Deadline::After(dur) => Instant::now() + dur,
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
            driver::try_with_current(|l| l.timers.borrow_mut().remove(key));
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        driver::with_current(|l| {
            if let Some(key) = this.key {
                if l.timers.borrow_mut().update(key, cx.waker()) {
                    return Poll::Pending;
                }
                this.key = None;
                return Poll::Ready(());
            }
            let (deadline, now) = match this.deadline {
                // `sleep` read the clock for the deadline just before, as a
                // rule: a reading a few polls old will do (see `recent_now`).
                Deadline::At(d) => (d, l.recent_now()),
                Deadline::After(dur) => {
                    let now = l.now();
                    let d = Instant::from_nanos(now) + dur;
                    this.deadline = Deadline::At(d);
                    (d, now)
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
            let key = l
                .timers
                .borrow_mut()
                .insert(deadline.as_nanos(), cx.waker().clone());
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
