//! Runs shell commands concurrently, a few at a time: a small job runner
//! on `anyloop::process`, `Semaphore`, `timeout` and `signal::Signal` (Ctrl-C).
//!
//! ```text
//! cargo run --example jobs -- [--jobs N] [--timeout SECS] 'CMD' 'CMD' ...
//! cargo run --example jobs -- --jobs 2 --timeout 1 'echo hi; sleep 0.2; echo bye' 'sleep 5' 'ls /nope'
//! ```
//!
//! Every output line (stdout and stderr) is printed as it comes, prefixed
//! with its command's index. A command running longer than `--timeout`
//! (default 60 s) is killed. At the end each command's exit status is
//! printed; the runner exits with 0 if all succeeded, 1 otherwise. On
//! Ctrl-C the running commands are killed, the summary is printed and
//! the runner exits with 130.
//!
//! Python's version would use `asyncio.Semaphore`,
//! `create_subprocess_shell(cmd, stdout=PIPE, stderr=STDOUT)`,
//! `asyncio.timeout` and `loop.add_signal_handler(SIGINT, ...)`.
use std::cell::RefCell;
use std::io;
use std::time::Duration;

use anyloop::process::{Command, Stdio};
use anyloop::sync::Semaphore;

/// What became of one command.
#[derive(Clone, Debug)]
enum Outcome {
    Waiting,
    Running,
    Exited(anyloop::process::ExitStatus),
    TimedOut,
    Failed(String),
}

struct Args {
    jobs: usize,
    timeout: Duration,
    commands: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        jobs: 4,
        timeout: Duration::from_secs(60),
        commands: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--jobs" | "-j" => {
                let v = it.next().ok_or("--jobs needs a number")?;
                args.jobs = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or(format!("--jobs: not a positive number: {v}"))?;
            }
            "--timeout" | "-t" => {
                let v = it.next().ok_or("--timeout needs seconds")?;
                args.timeout = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| *s > 0.0)
                    .and_then(|s| Duration::try_from_secs_f64(s).ok())
                    .ok_or(format!("--timeout: not a positive number of seconds: {v}"))?;
            }
            "--help" | "-h" => return Err(String::new()),
            _ => args.commands.push(a),
        }
    }
    if args.commands.is_empty() {
        return Err("no command given".into());
    }
    Ok(args)
}

/// Runs command `i`, printing its lines; a timeout kills it.
async fn run_one(i: usize, cmd: &str, limit: Duration, outcome: &RefCell<Outcome>) -> Outcome {
    let mut p = match Command::shell(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::stdout())
        // Dropped on Ctrl-C: the child must not outlive us.
        .kill_on_drop(true)
        .spawn()
    {
        Ok(p) => p,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    *outcome.borrow_mut() = Outcome::Running;
    let Some(mut out) = p.stdout.take() else {
        return Outcome::Failed("no stdout pipe".into());
    };
    let lines = async {
        loop {
            match out.readline().await {
                Ok(line) if line.is_empty() => break,
                Ok(line) => {
                    let text = String::from_utf8_lossy(&line);
                    anyloop::println!("[{i}] {}", text.trim_end_matches(['\n', '\r']));
                }
                // A line longer than the reader's limit: print what is
                // buffered and go on.
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    let chunk = out.read(64 * 1024).await?;
                    anyloop::println!("[{i}] {}", String::from_utf8_lossy(&chunk));
                }
                Err(e) => return Err(e),
            }
        }
        p.wait().await
    };
    match anyloop::timeout(limit, lines).await {
        Ok(Ok(status)) => Outcome::Exited(status),
        Ok(Err(e)) => Outcome::Failed(e.to_string()),
        Err(_) => {
            let _ = p.kill();
            let _ = p.wait().await;
            Outcome::TimedOut
        }
    }
}

fn summary(commands: &[String], outcomes: &[RefCell<Outcome>], limit: Duration) -> bool {
    let mut ok = true;
    anyloop::println!("--");
    for (i, (cmd, o)) in commands.iter().zip(outcomes).enumerate() {
        let text = match &*o.borrow() {
            Outcome::Exited(s) if s.success() => "exit 0".to_string(),
            Outcome::Exited(s) => {
                ok = false;
                match (s.code(), s.signal()) {
                    (Some(c), _) => format!("exit {c}"),
                    (None, Some(sig)) => format!("killed by signal {sig}"),
                    _ => s.to_string(),
                }
            }
            Outcome::TimedOut => {
                ok = false;
                format!("killed after {limit:?} (timeout)")
            }
            Outcome::Failed(e) => {
                ok = false;
                format!("failed: {e}")
            }
            Outcome::Running => {
                ok = false;
                "killed (interrupted)".to_string()
            }
            Outcome::Waiting => {
                ok = false;
                "not started (interrupted)".to_string()
            }
        };
        anyloop::println!("[{i}] {text}: {cmd}");
    }
    ok
}

#[anyloop::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("jobs: {e}");
            }
            eprintln!("usage: jobs [--jobs N] [--timeout SECS] 'CMD' 'CMD' ...");
            std::process::exit(2);
        }
    };
    // Subscribe to Ctrl-C before any command starts: a command's first line
    // can be read (and printed) within the first poll of `all` below, and a
    // Ctrl-C that comes before the subscription would be `run`'s (which
    // cancels `main` and ends the process by SIGINT, without the summary).
    let mut ctrl_c = anyloop::signal::Signal::new(anyloop::signal::SIGINT);
    let sem = Semaphore::new(args.jobs); // a cheap `Clone` handle, like asyncio's shared object
    let outcomes: Vec<RefCell<Outcome>> = args
        .commands
        .iter()
        .map(|_| RefCell::new(Outcome::Waiting))
        .collect();
    let all = anyloop::gather(args.commands.iter().enumerate().map(|(i, cmd)| {
        let sem = sem.clone();
        let outcome = &outcomes[i];
        let limit = args.timeout;
        async move {
            let _permit = sem.acquire().await;
            let result = run_one(i, cmd, limit, outcome).await;
            *outcome.borrow_mut() = result;
        }
    }));
    // Handling Ctrl-C ourselves (rather than letting `run` cancel `main`)
    // lets us print the summary; dropping `all` kills the running commands.
    let interrupted = async {
        if let Ok(sigint) = &mut ctrl_c {
            if sigint.recv().await.is_ok() {
                return true;
            }
        }
        // No signals on this host: never interrupted.
        std::future::pending().await
    };
    let interrupted = futures_lite::future::or(
        async {
            all.await;
            false
        },
        interrupted,
    )
    .await;
    if interrupted {
        anyloop::println!("interrupted: running commands killed");
    }
    let ok = summary(&args.commands, &outcomes, args.timeout);
    std::process::exit(if interrupted {
        130
    } else if ok {
        0
    } else {
        1
    });
}
