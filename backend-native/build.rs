//! `cfg(kqueue)`: the targets where `polling` drives kqueue (macOS, iOS and
//! the BSDs), so the code for kqueue's extra filters names one cfg.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(kqueue)");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let vendor = std::env::var("CARGO_CFG_TARGET_VENDOR").unwrap_or_default();
    if vendor == "apple" || matches!(os.as_str(), "freebsd" | "netbsd" | "openbsd" | "dragonfly") {
        println!("cargo::rustc-cfg=kqueue");
    }
}
