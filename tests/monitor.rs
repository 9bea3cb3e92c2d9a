//! The monitor console (`anyloop::monitor`): `ps`, `where`, `cancel`,
//! `stats` through a real 127.0.0.1 socket against the running program;
//! `Unsupported` where the host has no socket server.

mod common;

use std::time::Duration;

use anyloop::monitor;
use anyloop::task::Builder;
use anyloop::{sleep, yield_now};

#[anyloop::test]
async fn in_process_introspection_works_on_every_host() {
    let _stats = anyloop::debug::collect_task_stats();
    let t = Builder::new()
        .name("napper")
        .spawn(sleep(Duration::from_secs(3600)));
    yield_now().await;
    let rows = monitor::tasks();
    let row = rows.iter().find(|r| r.id == t.id()).expect("napper listed");
    assert_eq!(row.name.as_deref(), Some("napper"));
    assert_eq!(monitor::state_name(row.state), "waiting");
    assert_eq!(row.polls, 1);
    assert!(row.age.is_some());
    let ps = monitor::execute("ps");
    assert!(ps.contains("napper"), "{ps}");
    let out = monitor::execute(&format!("cancel {}", t.id()));
    assert_eq!(out, format!("cancelled task {} (napper)\n", t.id()));
    let err = t.await.unwrap_err();
    assert_eq!(err.cancel_message(), Some("cancelled from the monitor"));
    assert!(monitor::execute("where 999999").starts_with("no task 999999"));
    assert!(monitor::execute("cancel x").starts_with("not a task id"));
    assert!(monitor::execute("bogus").starts_with("unknown command"));
}

/// `ps` keeps its columns under their headings whatever the task names'
/// lengths (a name longer than the column used to push the rest of its row
/// right).
#[anyloop::test]
async fn ps_columns_stay_aligned_with_long_task_names() {
    let long = "a task name longer than the name column was";
    let tasks: Vec<_> = [long, "short"]
        .into_iter()
        .map(|name| {
            Builder::new()
                .name(name)
                .spawn(sleep(Duration::from_secs(3600)))
        })
        .collect();
    yield_now().await;
    let ps = monitor::execute("ps");
    let mut lines = ps.lines();
    let header = lines.next().expect("header");
    let state_col = header.find("STATE").expect("STATE heading");
    let spawned_col = header.find("SPAWNED AT").expect("SPAWNED AT heading");
    for line in lines.filter(|l| l.contains(long) || l.contains("short")) {
        assert_eq!(line.find("waiting"), Some(state_col), "{ps}");
        assert_eq!(line.find("tests/monitor.rs"), Some(spawned_col), "{ps}");
    }
    for t in tasks {
        t.cancel();
        assert!(t.await.unwrap_err().is_cancelled());
    }
}

#[cfg(target_family = "wasm")]
#[anyloop::test]
async fn serve_is_unsupported_without_a_socket_server() {
    let err = monitor::serve("127.0.0.1:0").await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
    let host = anyloop::capabilities().host;
    assert!(err.to_string().contains(host), "{err}");
    assert!(err.to_string().contains("monitor::serve"), "{err}");
}

#[cfg(not(target_family = "wasm"))]
mod native {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpStream;

    use anyloop::monitor::PROMPT;

    use super::*;

    /// A console client on its own thread, as `examples/console.rs` is.
    struct Client {
        reader: BufReader<TcpStream>,
        writer: TcpStream,
    }

    impl Client {
        fn connect(port: u16) -> (Client, String) {
            let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(60)))
                .unwrap();
            let writer = stream.try_clone().unwrap();
            let mut c = Client {
                reader: BufReader::new(stream),
                writer,
            };
            let greeting = c.answer();
            (c, greeting)
        }

        fn answer(&mut self) -> String {
            let mut buf = Vec::new();
            while !buf.ends_with(PROMPT.as_bytes()) {
                let n = self.reader.read_until(b' ', &mut buf).unwrap();
                assert!(
                    n > 0,
                    "connection closed after {:?}",
                    String::from_utf8_lossy(&buf)
                );
            }
            buf.truncate(buf.len() - PROMPT.len());
            String::from_utf8(buf).unwrap()
        }

        fn ask(&mut self, cmd: &str) -> String {
            writeln!(self.writer, "{cmd}").unwrap();
            self.answer()
        }
    }

    #[anyloop::test]
    async fn ps_where_and_cancel_through_a_real_socket() {
        let server = monitor::serve("127.0.0.1:0").await.unwrap();
        let port = server.local_addr().unwrap().port();
        // The program being watched: a parent awaiting a named child.
        let child = Builder::new()
            .name("slow-child")
            .spawn(sleep(Duration::from_secs(3600)));
        let child_id = child.id();
        let parent = Builder::new().name("parent").spawn(child);
        let parent_id = parent.id();
        yield_now().await;

        let script = move || {
            let (mut c, greeting) = Client::connect(port);
            let ps = c.ask("ps");
            let where_ = c.ask(&format!("where {child_id}"));
            let stats = c.ask("stats");
            let help = c.ask("help");
            let cancel = c.ask(&format!("cancel {child_id}"));
            let again = c.ask(&format!("cancel {child_id}"));
            writeln!(c.writer, "quit").unwrap();
            (greeting, ps, where_, stats, help, cancel, again)
        };
        let (greeting, ps, where_, stats, help, cancel, again) =
            anyloop::to_thread(script).await.unwrap();

        assert!(
            greeting.starts_with(&format!(
                "anyloop monitor on the {} host",
                anyloop::capabilities().host
            )),
            "{greeting}"
        );
        let line = ps
            .lines()
            .find(|l| l.contains("slow-child"))
            .unwrap_or_else(|| panic!("{ps}"));
        assert!(
            line.trim_start().starts_with(&child_id.to_string()),
            "{line}"
        );
        assert!(line.contains("waiting"), "{line}");
        assert!(line.contains("tests/monitor.rs:"), "{line}");
        assert!(ps.contains("parent") && ps.contains("main"), "{ps}");
        assert!(ps.starts_with("   ID  NAME"), "{ps}");
        assert_eq!(
            where_.lines().take(3).collect::<Vec<_>>(),
            [
                format!("* Task(name='slow-child', id={child_id})"),
                "  + Awaited by:".to_string(),
                format!("    * Task(name='parent', id={parent_id})"),
            ],
            "{where_}"
        );
        assert!(where_.contains("spawned at tests/monitor.rs:"), "{where_}");
        for key in [
            "iterations ",
            "ready ",
            "timers ",
            "tasks ",
            "io_sources ",
            "blocking_threads ",
        ] {
            assert!(stats.contains(key), "{key} missing: {stats}");
        }
        assert!(help.contains("where ID"), "{help}");
        assert_eq!(cancel, format!("cancelled task {child_id} (slow-child)\n"));
        assert!(
            again.starts_with(&format!("no task {child_id}")) || again.contains("already finished"),
            "{again}"
        );

        // The cancel reached the program: the parent sees its child cancelled.
        let err = parent.await.unwrap().unwrap_err();
        assert_eq!(err.cancel_message(), Some("cancelled from the monitor"));
        server.close();
        server.wait_closed().await;
    }

    #[anyloop::test]
    async fn serve_on_a_unix_socket_and_bad_addresses() {
        let path =
            std::env::temp_dir().join(format!("anyloop-monitor-{}.sock", std::process::id()));
        let served = monitor::serve(&format!("unix:{}", path.display())).await;
        // Windows: no Unix sockets; the error says so and names the host.
        #[cfg(not(unix))]
        {
            let err = served.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::Unsupported, "{err}");
            assert!(
                err.to_string().contains(anyloop::capabilities().host),
                "{err}"
            );
        }
        #[cfg(unix)]
        {
            let server = served.unwrap();
            let p = path.clone();
            let ps = anyloop::to_thread(move || {
                let s = std::os::unix::net::UnixStream::connect(&p).unwrap();
                let mut w = s.try_clone().unwrap();
                let mut r = BufReader::new(s);
                let mut read = || {
                    let mut buf = Vec::new();
                    while !buf.ends_with(PROMPT.as_bytes()) {
                        assert!(r.read_until(b' ', &mut buf).unwrap() > 0);
                    }
                    String::from_utf8(buf).unwrap()
                };
                read();
                writeln!(w, "ps").unwrap();
                read()
            })
            .await
            .unwrap();
            assert!(ps.contains("main"), "{ps}");
            server.close();
            server.wait_closed().await;
        }

        let err = monitor::serve("no-port-here").await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        // A port out of range is named as such (it used to be "neither
        // HOST:PORT nor unix:PATH").
        let err = monitor::serve("127.0.0.1:99999").await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        let msg = err.to_string();
        assert!(msg.contains("bad port \"99999\""), "{msg}");
    }
}

/// `examples/console.rs` against `console --demo`: when the program dies
/// under the console (here with a command unread: stopped, then killed, so
/// the connection is reset), the console says so and exits 0 instead of
/// failing with "Connection reset by peer" / "Broken pipe".
#[cfg(all(unix, not(target_family = "wasm")))]
#[test]
fn the_console_example_ends_quietly_when_the_program_dies() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;

    use rustix::process::{kill_process, Pid, Signal};

    let port = common::free_port();
    let mut demo = common::KillOnDrop(
        common::example("console")
            .args(["--demo", &port.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the demo"),
    );
    let mut first = String::new();
    BufReader::new(demo.0.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("read the demo's first line");
    assert!(first.starts_with("monitor on"), "{first:?}");

    let mut console = common::KillOnDrop(
        common::example("console")
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the console"),
    );
    let mut input = console.0.stdin.take().expect("stdin");
    let mut output = BufReader::new(console.0.stdout.take().expect("stdout"));
    let mut read_until = |want: &str| {
        let mut seen = String::new();
        while !seen.contains(want) {
            let mut line = String::new();
            let n = output.read_line(&mut line).expect("console output");
            assert!(n > 0, "the console ended before {want:?}:\n{seen}");
            seen.push_str(&line);
        }
        seen
    };
    input.write_all(b"stats\n").expect("send stats");
    read_until("blocking_threads");

    let pid = Pid::from_raw(demo.0.id() as i32).expect("pid");
    kill_process(pid, Signal::STOP).expect("stop the demo");
    input.write_all(b"stats\n").expect("send stats");
    // The console has sent it (unread by the stopped program) and waits.
    std::thread::sleep(Duration::from_millis(200));
    demo.0.kill().expect("kill the demo");
    demo.0.wait().expect("reap the demo");

    read_until("(the program closed the connection)");
    let status = console.0.wait().expect("console status");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut console.0.stderr.take().expect("stderr"), &mut err)
        .expect("console stderr");
    assert!(status.success(), "{status}: {err}");
    drop(input);
}
