//! The platform table (`anyloop::platform`, shown in the README and the
//! crate docs) against what each host reports: this file runs on every
//! host of the suite (Linux, Windows under Wine, wasmtime for WASI 0.2 and
//! preview 1, headless Chromium), so a host whose `Capabilities` change
//! fails here until its row does too.

/// The row of the platform table for the target this test was built for.
fn this_host() -> &'static str {
    if cfg!(all(target_arch = "wasm32", target_os = "unknown")) {
        "browser, main thread"
    } else if cfg!(all(target_os = "wasi", target_env = "p2")) {
        "WASI 0.2"
    } else if cfg!(target_os = "wasi") {
        "WASI preview 1"
    } else if cfg!(windows) {
        "Windows"
    } else if cfg!(target_os = "linux") {
        "Linux"
    } else {
        "macOS, BSD"
    }
}

#[anyloop::test]
async fn capabilities_are_this_hosts_row_of_the_platform_table() {
    let row = anyloop::platform::platform(this_host()).expect("a row for this host");
    assert_eq!(
        anyloop::capabilities(),
        row.capabilities,
        "anyloop::capabilities() on {} differs from its row of the platform table \
         (core/src/platform.rs): update the row, then README.md and src/lib.rs",
        row.name
    );
}

#[cfg(unix)]
#[test]
fn readme_and_crate_docs_show_the_generated_table() {
    let table = anyloop::platform::markdown_table();
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    assert!(
        readme.contains(&table),
        "README.md's \"Platform support\" table is not anyloop::platform::markdown_table(); \
         it should read:\n{table}"
    );
    let lib = std::fs::read_to_string(format!("{root}/src/lib.rs")).expect("src/lib.rs");
    let doc: String = table.lines().map(|l| format!("//! {l}\n")).collect();
    assert!(
        lib.contains(&doc),
        "src/lib.rs's \"Platform support\" table is not anyloop::platform::markdown_table(); \
         it should read:\n{doc}"
    );
}
