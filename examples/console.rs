//! The monitor console: an interactive client for `anyloop::monitor::serve`
//! with line editing and history (rustyline), and a demo program to try it on.
//!
//! ```text
//! cargo run --example console -- --demo 20101        # a program with a monitor on 127.0.0.1:20101
//! cargo run --example console -- 127.0.0.1:20101     # the console (another terminal)
//! ```
//!
//! Then `ps`, `where ID`, `cancel ID`, `stats`, `help`; Ctrl-D or `quit`
//! leaves. History is kept in `~/.anyloop_console_history`.

#[cfg(not(target_family = "wasm"))]
mod native {
    use std::io::{self, BufRead, BufReader, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    use anyloop::monitor::PROMPT;
    use rustyline::error::ReadlineError;

    /// Reads one answer: everything up to the prompt.
    fn answer(r: &mut impl BufRead) -> io::Result<Option<String>> {
        let mut buf = Vec::new();
        loop {
            let n = r.read_until(b' ', &mut buf)?;
            if n == 0 {
                return Ok(None); // the program closed the connection
            }
            if buf.ends_with(PROMPT.as_bytes()) {
                buf.truncate(buf.len() - PROMPT.len());
                return Ok(Some(String::from_utf8_lossy(&buf).into_owned()));
            }
        }
    }

    /// Whether `e` says the program at the other end is gone.
    fn gone(e: &io::Error) -> bool {
        matches!(
            e.kind(),
            io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
        )
    }

    pub(crate) fn console(addr: &str) -> Result<(), Box<dyn std::error::Error>> {
        let stream = TcpStream::connect(addr)
            .map_err(|e| format!("cannot connect to the monitor at {addr}: {e}"))?;
        let mut writer = stream.try_clone()?;
        let mut reader = BufReader::new(stream);
        match answer(&mut reader)? {
            Some(greeting) => print!("{greeting}"),
            None => return Err("the monitor closed the connection".into()),
        }
        let mut rl = rustyline::DefaultEditor::new()?;
        let history = std::env::var_os("HOME")
            .map(|h| std::path::PathBuf::from(h).join(".anyloop_console_history"));
        if let Some(h) = &history {
            let _ = rl.load_history(h);
        }
        loop {
            let line = match rl.readline(PROMPT) {
                Ok(line) => line,
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => "quit".to_string(),
                Err(e) => return Err(e.into()),
            };
            if !line.trim().is_empty() {
                let _ = rl.add_history_entry(line.as_str());
            }
            if matches!(line.trim(), "quit" | "exit") {
                // The program may already be gone: nothing to report.
                let _ = writeln!(writer, "quit");
                break;
            }
            let reply = writeln!(writer, "{}", line.trim()).and_then(|()| answer(&mut reader));
            match reply {
                Ok(Some(text)) => print!("{text}"),
                // The program ended (`cancel` of the task it waits for ends
                // the demo): a closed, reset or broken connection.
                Ok(None) => {
                    println!("(the program closed the connection)");
                    break;
                }
                Err(e) if gone(&e) => {
                    println!("(the program closed the connection)");
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(h) = &history {
            let _ = rl.save_history(h);
        }
        Ok(())
    }

    /// A small program worth looking at: a ticker, a task awaiting a slow
    /// one, and a queue worker; the monitor on 127.0.0.1:`port`.
    pub(crate) fn demo(port: u16) -> io::Result<()> {
        anyloop::run(async move {
            let monitor = anyloop::monitor::serve(&format!("127.0.0.1:{port}")).await?;
            println!(
                "monitor on {0}; connect with: cargo run --example console -- {0}",
                monitor.local_addr()?
            );
            let _ticker = anyloop::task::Builder::new().name("ticker").spawn(async {
                loop {
                    anyloop::sleep(Duration::from_millis(100)).await;
                }
            });
            let sleeper = anyloop::task::Builder::new()
                .name("sleeper")
                .spawn(anyloop::sleep(Duration::from_secs(3600)));
            let q = anyloop::queue::Queue::<u32>::new(0);
            let q2 = q.clone();
            let _worker = anyloop::task::Builder::new()
                .name("worker")
                .spawn(async move {
                    while let Ok(n) = q2.get().await {
                        anyloop::sleep(Duration::from_millis(u64::from(n))).await;
                    }
                });
            let _ = q.put_nowait(50);
            // Cancel `sleeper` from the console (`cancel ID`) to end the demo.
            match sleeper.await {
                Ok(()) => println!("sleeper woke up"),
                Err(e) => println!("sleeper: {e}; the demo ends"),
            }
            monitor.close();
            Ok(())
        })
    }
}

#[cfg(not(target_family = "wasm"))]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let res = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["--demo"] => native::demo(20101).map_err(Into::into),
        ["--demo", port] => match port.parse() {
            Ok(p) => native::demo(p).map_err(Into::into),
            Err(_) => Err(format!("not a port: {port}").into()),
        },
        [addr] => native::console(addr),
        _ => Err("usage: console HOST:PORT | console --demo [PORT]".into()),
    };
    if let Err(e) = res {
        eprintln!("console: {e}");
        std::process::exit(1);
    }
}

#[cfg(target_family = "wasm")]
fn main() {
    // The console is a terminal client; WASI and the browser have no
    // monitor server (anyloop::monitor::serve is Unsupported there).
    println!("the monitor console runs natively: cargo run --example console -- HOST:PORT");
}
