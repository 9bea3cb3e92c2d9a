//! A small child process for the subprocess chapter that runs on every OS
//! with subprocesses: `cat`, `tee` (stdout and stderr), `wc -c`, `echo`,
//! `sleep` and `exit` in one program, written with anyloop's async stdio.
//! Windows has none of those commands, so `tests/process.rs` spawns this
//! there.
//!
//! Steps are separated by `;` and run in order:
//!
//! ```text
//! cargo run --example stdio_tool -- echo hi ';' echo-err oops ';' exit 3
//! printf 'a\nb\n' | cargo run --example stdio_tool -- tee
//! cargo run --example stdio_tool -- sleep 0.5 ';' env HOME ';' cwd
//! ```
//!
//! - `echo WORDS...`, `echo-err WORDS...`: the words and a newline, to
//!   stdout or stderr;
//! - `cat`: stdin to stdout until end of input; `tee`: to stderr as well;
//!   `wc`: reads stdin to its end and prints how many bytes came;
//! - `sleep SECS`: waits (fractions allowed);
//! - `env NAME`: prints the variable (empty line if unset); `cwd`: the
//!   working directory;
//! - `exit CODE`: ends with that status (flushing stdout first).
use std::io::Write;
use std::time::Duration;

#[anyloop::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    for step in args.split(|a| a == ";") {
        let Some((cmd, rest)) = step.split_first() else {
            continue;
        };
        match cmd.as_str() {
            // One write per line, as `echo` does (a reader sees it in one
            // piece; `eprintln!` may write it in two).
            "echo" => std::io::stdout().write_all(format!("{}\n", rest.join(" ")).as_bytes())?,
            "echo-err" => {
                std::io::stderr().write_all(format!("{}\n", rest.join(" ")).as_bytes())?
            }
            "cat" | "tee" => copy_stdin(cmd == "tee").await?,
            "wc" => {
                let mut stdin = anyloop::io::stdin();
                let mut buf = vec![0u8; 64 * 1024];
                let mut total = 0;
                loop {
                    match stdin.read(&mut buf).await? {
                        0 => break,
                        n => total += n,
                    }
                }
                println!("{total}");
            }
            "sleep" => {
                let secs: f64 = rest.first().and_then(|s| s.parse().ok()).unwrap_or(0.0);
                anyloop::sleep(Duration::from_secs_f64(secs.max(0.0))).await;
            }
            "env" => {
                let name = rest.first().map(String::as_str).unwrap_or("");
                println!("{}", std::env::var(name).unwrap_or_default());
            }
            "cwd" => println!("{}", std::env::current_dir()?.display()),
            "exit" => {
                std::io::stdout().flush()?;
                std::process::exit(rest.first().and_then(|s| s.parse().ok()).unwrap_or(0));
            }
            other => {
                eprintln!("stdio_tool: unknown step {other:?}");
                std::process::exit(2);
            }
        }
    }
    std::io::stdout().flush()
}

/// Copies stdin to stdout (and to stderr for `tee`) until end of input.
async fn copy_stdin(tee: bool) -> std::io::Result<()> {
    let mut stdin = anyloop::io::stdin();
    let mut stdout = anyloop::io::stdout();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = stdin.read(&mut buf).await?;
        if n == 0 {
            return stdout.flush().await;
        }
        stdout.write_all(&buf[..n]).await?;
        if tee {
            std::io::stderr().write_all(&buf[..n])?;
        }
    }
}
