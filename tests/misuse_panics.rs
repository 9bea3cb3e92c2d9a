//! Panics for misuse point at the caller's line (`#[track_caller]`), not
//! into anyloop's driver. Native only: wasm builds abort on panic.
#![cfg(not(target_family = "wasm"))]

use std::sync::{Arc, Mutex};

/// Runs `f`, which must panic; returns the file of the panic's location.
fn panic_file(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let seen = Arc::new(Mutex::new(String::new()));
    let s = seen.clone();
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(loc) = info.location() {
            *s.lock().unwrap() = loc.file().to_owned();
        }
    }));
    let res = std::panic::catch_unwind(f);
    std::panic::set_hook(prev);
    assert!(res.is_err(), "expected a panic");
    let file = seen.lock().unwrap().clone();
    file
}

/// A call that must panic for misuse.
type Misuse = Box<dyn FnOnce() + std::panic::UnwindSafe>;

// One #[test] so that no other test of this binary sees the panic hook.
#[test]
fn misuse_panics_point_at_the_callers_line() {
    let here = file!();
    let cases: Vec<(&str, Misuse)> = vec![
        (
            "spawn outside a loop",
            Box::new(|| drop(anyloop::spawn(async {}))),
        ),
        (
            "Builder::spawn outside a loop",
            Box::new(|| drop(anyloop::task::Builder::new().spawn(async {}))),
        ),
        (
            "call_soon outside a loop",
            Box::new(|| drop(anyloop::call_soon(|| ()))),
        ),
        (
            "Handle::current outside a loop",
            Box::new(|| drop(anyloop::Handle::current())),
        ),
        (
            "nested run",
            Box::new(|| anyloop::run(async { anyloop::run(async {}) })),
        ),
        (
            "get_running_loop outside a loop",
            Box::new(|| drop(anyloop::get_running_loop())),
        ),
        (
            "wrap_future outside a loop",
            Box::new(|| drop(anyloop::wrap_future(async { 1 }))),
        ),
        (
            "a Barrier of no parties",
            Box::new(|| drop(anyloop::sync::Barrier::new(0))),
        ),
    ];
    for (what, f) in cases {
        assert_eq!(panic_file(f), here, "{what}: the panic points elsewhere");
    }
}
