//! `cargo xtask web-example NAME [--check]`: runs an example in the browser.
//!
//! Builds `examples/NAME.rs` for `wasm32-unknown-unknown`, runs
//! `wasm-bindgen --target web` into `target/web-examples/NAME/`, writes an
//! `index.html` that shows the program's `console.log` lines (what
//! `anyloop::println!` prints there), and serves the folder on
//! `http://127.0.0.1:8000/` with Python's `http.server`. With `--check` it
//! instead loads the page in headless Chromium and returns the lines the
//! page shows, so `cargo xtask test` proves the README's browser command.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{self, Result};

/// Builds the example and its page; returns the page's folder.
fn build(name: &str) -> Result<PathBuf> {
    crate::web::install()?;
    util::run(util::cargo().args([
        "build",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
        "--example",
        name,
    ]))?;
    let root = util::root();
    let wasm = root.join(format!(
        "target/wasm32-unknown-unknown/release/examples/{name}.wasm"
    ));
    let out = root.join("target/web-examples").join(name);
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    util::run(
        Command::new(util::cargo_bin("wasm-bindgen")?)
            .arg("--target")
            .arg("web")
            .arg("--out-dir")
            .arg(&out)
            .arg(&wasm),
    )?;
    let html = format!(
        r#"<!doctype html>
<meta charset="utf-8">
<title>anyloop example: {name}</title>
<style>body {{ font: 16px/1.4 system-ui, sans-serif; margin: 2rem; }} pre {{ background: #f4f4f4; padding: 1rem; }}</style>
<h1>anyloop example: <code>{name}</code></h1>
<p>The program's output (<code>anyloop::println!</code> prints to <code>console.log</code> in a browser):</p>
<pre id="out"></pre>
<script type="module">
  const out = document.getElementById('out');
  for (const level of ['log', 'error']) {{
    const orig = console[level].bind(console);
    console[level] = (...args) => {{ out.textContent += args.join(' ') + '\n'; orig(...args); }};
  }}
  const {{ default: init }} = await import('./{name}.js');
  await init();
</script>
"#
    );
    let page = out.join("index.html");
    std::fs::write(&page, html).map_err(|e| format!("cannot write {}: {e}", page.display()))?;
    Ok(out)
}

fn serve(dir: &PathBuf, port: u16) -> Result<Child> {
    Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start python3 -m http.server: {e}"))
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `cargo xtask web-example NAME [--check]`.
pub(crate) fn run(args: &[String]) -> Result<()> {
    let Some(name) = args.first() else {
        return Err("usage: cargo xtask web-example NAME [--check]".into());
    };
    if args.iter().any(|a| a == "--check") {
        let lines = check(name)?;
        println!("{lines}");
        return Ok(());
    }
    let dir = build(name)?;
    println!(
        "\nserving {} on http://127.0.0.1:8000/ (Ctrl-C to stop)",
        dir.display()
    );
    let mut server = serve(&dir, 8000)?;
    server
        .wait()
        .map_err(|e| format!("http.server failed: {e}"))?;
    Ok(())
}

/// Loads the example's page in headless Chromium; returns what it printed.
pub(crate) fn check(name: &str) -> Result<String> {
    let dir = build(name)?;
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let _server = KillOnDrop(serve(&dir, port)?);
    let url = format!("http://127.0.0.1:{port}/index.html");
    // Wait until the server answers.
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if start.elapsed() > Duration::from_secs(20) {
            return Err("http.server did not start within 20 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let profile = std::env::temp_dir().join(format!("anyloop-web-example-{}", std::process::id()));
    let chromium =
        util::which("chromium").ok_or("chromium is not installed (cargo xtask install)")?;
    // Chromium's stderr (D-Bus and GPU complaints of a headless machine)
    // is shown only if it fails.
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        // Lets the page's timers (hello sleeps 1 s) run before the dump.
        "--virtual-time-budget=10000",
        "--dump-dom",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg(&url);
    println!("$ {}", util::show(&cmd));
    let out = cmd.output();
    let _ = std::fs::remove_dir_all(&profile);
    let out = out.map_err(|e| format!("cannot start {}: {e}", util::show(&cmd)))?;
    if !out.status.success() {
        return Err(format!(
            "`{}` failed with {}:\n{}",
            util::show(&cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let dom = String::from_utf8_lossy(&out.stdout);
    let text = dom
        .split("<pre id=\"out\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .ok_or_else(|| {
            format!(
                "the page has no output block:\n{dom}\nChromium's stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    Ok(text
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">"))
}

/// The `test` stage: hello in headless Chromium prints asyncio's two lines.
pub(crate) fn test_hello() -> Result<String> {
    println!("\n== web: examples/hello.rs in headless Chromium (cargo xtask web-example hello) ==");
    let out = check("hello")?;
    print!("{out}");
    let lines: Vec<&str> = out.lines().collect();
    if lines != ["Hello ...", "... World!"] {
        return Err(format!(
            "hello in the browser printed {lines:?}, expected [\"Hello ...\", \"... World!\"]"
        ));
    }
    Ok("web example: hello printed \"Hello ...\" then \"... World!\" in headless Chromium".into())
}
