//! A recording host with a virtual clock, for tests of the core and of
//! code built on it (embassy's mock-driver style).
//!
//! `park(Some(t))` advances the virtual clock by `t` at once instead of
//! sleeping, so timer tests are exact and instant (and run under miri).
//! `park(None)` blocks on a condition variable until [`Unpark::unpark`].
//! Every park is logged, e.g. `"park 10ms"`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::host::{Capabilities, Host, Unpark};

#[derive(Default)]
struct State {
    unparked: Mutex<bool>,
    cv: Condvar,
    now: AtomicU64,
    log: Mutex<Vec<String>>,
}

impl Unpark for State {
    fn unpark(&self) {
        let mut u = self.unparked.lock().unwrap_or_else(|p| p.into_inner());
        *u = true;
        self.cv.notify_one();
    }
}

/// A host with a virtual clock that records what the loop asks of it.
///
/// # Examples
///
/// ```
/// # use anyloop_core::__doctest as anyloop;
/// use anyloop::{testing::MockHost, EventLoop};
/// use std::time::Duration;
/// let host = MockHost::new();
/// let log = host.log_handle();
/// EventLoop::new(host).block_on(anyloop::sleep(Duration::from_millis(10)));
/// assert_eq!(log.take(), vec!["park 10ms"]);
/// ```
#[derive(Default)]
pub struct MockHost {
    state: Arc<State>,
}

impl std::fmt::Debug for MockHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockHost")
            .field("now_ns", &self.state.now.load(Ordering::Relaxed))
            .finish()
    }
}

/// Reads the park log of a [`MockHost`] after it moved into a loop.
#[derive(Clone)]
pub struct LogHandle(Arc<State>);

impl std::fmt::Debug for LogHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogHandle").finish_non_exhaustive()
    }
}

impl LogHandle {
    /// Takes the recorded entries.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.log.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl MockHost {
    /// A mock host whose clock starts at zero.
    pub fn new() -> Self {
        MockHost::default()
    }

    /// A handle to read the park log later.
    pub fn log_handle(&self) -> LogHandle {
        LogHandle(self.state.clone())
    }
}

impl Host for MockHost {
    fn name(&self) -> &'static str {
        "mock"
    }

    fn now_ns(&self) -> u64 {
        self.state.now.load(Ordering::Relaxed)
    }

    fn park(&self, timeout: Option<Duration>) -> std::io::Result<()> {
        let mut unparked = self
            .state
            .unparked
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if *unparked {
            *unparked = false;
            return Ok(());
        }
        match timeout {
            Some(t) => {
                if !t.is_zero() {
                    self.state
                        .log
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(format!("park {t:?}"));
                }
                self.state
                    .now
                    .fetch_add(t.as_nanos() as u64, Ordering::Relaxed);
            }
            None => {
                self.state
                    .log
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push("park forever".into());
                while !*unparked {
                    unparked = self
                        .state
                        .cv
                        .wait(unparked)
                        .unwrap_or_else(|p| p.into_inner());
                }
                *unparked = false;
            }
        }
        Ok(())
    }

    fn unparker(&self) -> Arc<dyn Unpark> {
        self.state.clone()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            blocking: true,
            threads: true,
            catch_panic: true,
            ..Capabilities::none("mock")
        }
    }
}
