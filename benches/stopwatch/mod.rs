//! The benches' stopwatch (Unix): wall time, or with `--cpu` a CPU-time
//! clock, steadier than wall time when other jobs share the cores. Each
//! bench picks the clock that counts what its runtime spends: this
//! thread's (`CLOCK_THREAD_CPUTIME_ID`: every peer runs on this one
//! thread) or the whole process's (`CLOCK_PROCESS_CPUTIME_ID`: a peer's
//! helper threads count, child processes do not).
#![allow(dead_code)]

use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Instant;

/// The CPU clock `--cpu` chose; `WALL` until then.
static CPU_CLOCK: AtomicI32 = AtomicI32::new(WALL);
const WALL: i32 = -1;

/// Measures with CPU clock `clock` from now on (`--cpu`).
pub fn use_cpu_clock(clock: libc::clockid_t) {
    CPU_CLOCK.store(clock, Ordering::Relaxed);
}

/// Whether `--cpu` chose a CPU clock.
pub fn cpu() -> bool {
    CPU_CLOCK.load(Ordering::Relaxed) != WALL
}

/// Nanoseconds on the CPU clock `clock`.
pub fn cpu_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; `clock` is one of libc's
    // CPU-time clock ids.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime({clock})");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// This thread's CPU time in nanoseconds.
pub fn thread_cpu_ns() -> u64 {
    cpu_ns(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// A stopwatch on the wall clock, or on the clock `--cpu` chose.
#[derive(Clone, Copy)]
pub struct Clock(Instant, u64);

impl Clock {
    pub fn start() -> Clock {
        let cpu = match CPU_CLOCK.load(Ordering::Relaxed) {
            WALL => 0,
            c => cpu_ns(c),
        };
        Clock(Instant::now(), cpu)
    }

    pub fn secs(&self) -> f64 {
        match CPU_CLOCK.load(Ordering::Relaxed) {
            WALL => self.0.elapsed().as_secs_f64(),
            c => (cpu_ns(c) - self.1) as f64 / 1e9,
        }
    }
}
