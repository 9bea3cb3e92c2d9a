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
//!
//! A malformed step (`sleep abc`, `exit x`, an unknown name) is reported
//! on stderr and ends the tool with status 2.
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
                let secs = rest.first().map(String::as_str).unwrap_or("");
                match secs.parse().map(Duration::try_from_secs_f64) {
                    Ok(Ok(d)) => anyloop::sleep(d).await,
                    _ => usage(&format!("sleep: not a number of seconds: {secs:?}")),
                }
            }
            "env" => {
                let name = rest.first().map(String::as_str).unwrap_or("");
                println!("{}", std::env::var(name).unwrap_or_default());
            }
            "cwd" => println!("{}", std::env::current_dir()?.display()),
            "exit" => {
                let code = rest.first().map(String::as_str).unwrap_or("0");
                let Ok(code) = code.parse() else {
                    usage(&format!("exit: not an exit code: {code:?}"))
                };
                std::io::stdout().flush()?;
                std::process::exit(code);
            }
            other => usage(&format!("unknown step {other:?}")),
        }
    }
    std::io::stdout().flush()
}

/// Reports a malformed step and ends with status 2.
fn usage(msg: &str) -> ! {
    eprintln!("stdio_tool: {msg}");
    std::process::exit(2)
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
