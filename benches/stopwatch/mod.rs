//! The benches' stopwatch (Unix): wall time, or with `--cpu` a CPU-time
//! clock, steadier than wall time when other jobs share the cores. Each
//! bench picks the clock that counts what its runtime spends: this
//! thread's (`CLOCK_THREAD_CPUTIME_ID`: every peer runs on this one
//! thread) or the whole process's (`CLOCK_PROCESS_CPUTIME_ID`: a peer's
//! helper threads count, child processes do not).
#![allow(dead_code)]

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use rustix::time::ClockId;

/// The CPU clock `--cpu` chose (`THREAD`, `PROCESS`); `WALL` until then.
static CPU_CLOCK: AtomicU8 = AtomicU8::new(WALL);
const WALL: u8 = 0;
const THREAD: u8 = 1;
const PROCESS: u8 = 2;

/// A CPU-time clock for [`use_cpu_clock`].
#[derive(Clone, Copy)]
pub enum CpuClock {
    /// `CLOCK_THREAD_CPUTIME_ID`: this thread's CPU time.
    Thread,
    /// `CLOCK_PROCESS_CPUTIME_ID`: all threads of the process.
    Process,
}

/// Measures with CPU clock `clock` from now on (`--cpu`).
pub fn use_cpu_clock(clock: CpuClock) {
    let c = match clock {
        CpuClock::Thread => THREAD,
        CpuClock::Process => PROCESS,
    };
    CPU_CLOCK.store(c, Ordering::Relaxed);
}

/// Whether `--cpu` chose a CPU clock.
pub fn cpu() -> bool {
    CPU_CLOCK.load(Ordering::Relaxed) != WALL
}

/// Nanoseconds on the CPU clock `c` (`THREAD` or `PROCESS`).
fn cpu_ns(c: u8) -> u64 {
    let id = if c == PROCESS {
        ClockId::ProcessCPUTime
    } else {
        ClockId::ThreadCPUTime
    };
    let ts = rustix::time::clock_gettime(id);
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// This thread's CPU time in nanoseconds.
pub fn thread_cpu_ns() -> u64 {
    cpu_ns(THREAD)
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
