//! Subprocesses: `anyloop::process` (asyncio's `create_subprocess_exec` /
//! `create_subprocess_shell`, `communicate`, `returncode`), natively (on
//! Windows with `examples/stdio_tool.rs` as the child: see
//! `common::script`); the `Unsupported` error on hosts without
//! subprocesses.

mod common;

use std::io;
use std::time::Duration;

use anyloop::process::{Command, Stdio};
use common::{cat, deadline, script, sleep, supported, supported_feature, true_};

fn subprocess() -> bool {
    anyloop::capabilities().subprocess
}

#[anyloop::test]
async fn spawn_is_unsupported_exactly_where_the_capability_is_off() {
    let res = true_().spawn();
    if let Some(mut p) = supported_feature(res, subprocess(), "spawning `true`", "subprocesses") {
        assert!(p.wait().await.unwrap().success());
    }
    // The shell: /bin/sh, or cmd.exe on Windows.
    let res = Command::shell("exit 0").output().await;
    supported_feature(res, subprocess(), "Command::output", "subprocesses");
    let res = true_().status().await;
    supported_feature(res, subprocess(), "Command::status", "subprocesses");
}

#[anyloop::test]
async fn stdin_to_stdout_through_cat() {
    let res = cat().stdin(Stdio::piped()).stdout(Stdio::piped()).spawn();
    let Some(mut cat) = supported(res, subprocess(), "cat") else {
        return;
    };
    let stdin = cat.stdin.take().unwrap();
    let mut stdout = cat.stdout.take().unwrap();
    for i in 0..100 {
        stdin.write(format!("line {i}\n").as_bytes());
        stdin.drain().await.unwrap();
        let line = deadline("a line back from cat", stdout.readline()).await;
        assert_eq!(line.unwrap(), format!("line {i}\n").as_bytes());
    }
    stdin.write(b"no newline at the end");
    stdin.close();
    stdin.wait_closed().await.unwrap();
    assert_eq!(stdout.readline().await.unwrap(), b"no newline at the end");
    assert_eq!(stdout.readline().await.unwrap(), b"");
    assert!(stdout.at_eof());
    let status = deadline("cat exits", cat.wait()).await.unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(cat.returncode(), Some(0));
}

/// A deterministic byte pattern that is not all one value.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i >> 12) as u8)
        .collect()
}

#[anyloop::test]
async fn communicate_moves_10_mb_through_stdin_stdout_and_stderr_at_once() {
    // tee writes every chunk it reads to stdout and to stderr: with 10 MB
    // in and 10 MB out on each pipe, a parent that does not do all three
    // at once deadlocks (pipes hold 64 KiB).
    let res = script("tee /dev/fd/2", &["tee"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Some(mut p) = supported(res, subprocess(), "tee") else {
        return;
    };
    let input = pattern(10 << 20);
    let out = deadline("communicate", p.communicate(&input))
        .await
        .unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(out.stdout.len(), input.len());
    assert!(out.stdout == input, "stdout differs from the input");
    assert!(out.stderr == input, "stderr differs from the input");
}

#[anyloop::test]
async fn output_captures_and_status_inherits() {
    let res = script(
        "echo out; echo err >&2; exit 3",
        &["echo", "out", ";", "echo-err", "err", ";", "exit", "3"],
    )
    .output()
    .await;
    let Some(out) = supported(res, subprocess(), "output") else {
        return;
    };
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(out.status.returncode(), 3);
    assert!(!out.status.success());

    // stdin of `output` is /dev/null: cat ends at once.
    let out = cat().output().await.unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());

    let status = script("false", &["exit", "1"]).status().await.unwrap();
    assert_eq!(status.code(), Some(1));
    assert_eq!(status.to_string(), "exit status: 1");
}

#[anyloop::test]
async fn exit_codes() {
    if !subprocess() {
        return;
    }
    for code in [0, 1, 2, 42, 255] {
        let mut p = Command::shell(format!("exit {code}")).spawn().unwrap();
        let status = p.wait().await.unwrap();
        assert_eq!(status.code(), Some(code));
        assert_eq!(status.signal(), None);
        assert_eq!(status.success(), code == 0);
        assert_eq!(p.returncode(), Some(code));
        // Waiting again gives the same answer.
        assert_eq!(p.wait().await.unwrap(), status);
    }
}

#[cfg(not(windows))]
#[anyloop::test]
async fn kill_and_terminate_are_signal_exits() {
    if !subprocess() {
        return;
    }
    let mut p = sleep("60").spawn().unwrap();
    assert_eq!(p.returncode(), None);
    assert!(p.id() > 0);
    p.kill().unwrap();
    let status = deadline("killed sleep", p.wait()).await.unwrap();
    assert_eq!(status.code(), None);
    assert_eq!(status.signal(), Some(anyloop::signal::SIGKILL));
    assert_eq!(p.returncode(), Some(-anyloop::signal::SIGKILL));
    assert!(status.to_string().contains("SIGKILL"), "{status}");
    // Signalling a reaped child does nothing (its pid may be reused).
    p.kill().unwrap();
    p.terminate().unwrap();

    let mut p = sleep("60").spawn().unwrap();
    p.terminate().unwrap();
    let status = deadline("terminated sleep", p.wait()).await.unwrap();
    assert_eq!(status.signal(), Some(anyloop::signal::SIGTERM));
    assert_eq!(status.returncode(), -anyloop::signal::SIGTERM);

    let mut p = sleep("60").spawn().unwrap();
    p.send_signal(anyloop::signal::SIGUSR1).unwrap();
    let status = deadline("sleep after SIGUSR1", p.wait()).await.unwrap();
    assert_eq!(status.signal(), Some(anyloop::signal::SIGUSR1));

    let err = p.send_signal(12345);
    // Reaped: nothing is sent, so nothing fails.
    assert!(err.is_ok());
    let mut p = sleep("60").kill_on_drop(true).spawn().unwrap();
    let err = p.send_signal(12345).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

/// Windows: `kill` and `terminate` are `TerminateProcess` (exit code 1,
/// as Python's); signals other than Ctrl-C / Ctrl-Break are
/// `Unsupported`.
#[cfg(windows)]
#[anyloop::test]
async fn kill_and_terminate_end_the_child_with_exit_code_1() {
    let mut p = sleep("60").spawn().unwrap();
    assert_eq!(p.returncode(), None);
    assert!(p.id() > 0);
    p.kill().unwrap();
    let status = deadline("killed sleep", p.wait()).await.unwrap();
    assert_eq!(status.code(), Some(1));
    assert_eq!(status.signal(), None);
    assert_eq!(p.returncode(), Some(1));
    // An exited child: nothing is sent, so nothing fails.
    p.kill().unwrap();
    p.terminate().unwrap();
    p.send_signal(12345).unwrap();

    let mut p = sleep("60").kill_on_drop(true).spawn().unwrap();
    for sig in [anyloop::signal::SIGUSR1, anyloop::signal::SIGHUP, 12345] {
        let err = p.send_signal(sig).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported, "{err}");
        assert!(err.to_string().contains("windows"), "{err}");
    }
    assert_eq!(p.returncode(), None, "an unsupported signal did something");
    p.terminate().unwrap();
    let status = deadline("terminated sleep", p.wait()).await.unwrap();
    assert_eq!(status.returncode(), 1);
}

#[anyloop::test]
async fn a_timeout_kills_its_process() {
    if !subprocess() {
        return;
    }
    // asyncio: wait_for(proc.wait(), t), then proc.kill() on TimeoutError.
    let mut p = sleep("60").spawn().unwrap();
    let res = anyloop::timeout(Duration::from_millis(50), p.wait()).await;
    assert!(res.is_err(), "sleep 60 finished within 50 ms");
    p.kill().unwrap();
    let status = deadline("killed after timeout", p.wait()).await.unwrap();
    assert!(!status.success(), "{status}");
    #[cfg(unix)]
    assert_eq!(status.signal(), Some(anyloop::signal::SIGKILL));

    // kill_on_drop: the timeout drops the process, which kills it.
    let mut cmd = sleep("60");
    cmd.kill_on_drop(true);
    let mut pid = 0;
    let res = anyloop::timeout(Duration::from_millis(50), async {
        let mut p = cmd.spawn().unwrap();
        pid = p.id();
        p.wait().await
    })
    .await;
    assert!(res.is_err());
    assert!(pid > 0);
    #[cfg(target_os = "linux")]
    common::wait_until(
        "the dropped child to be killed and reaped",
        Duration::from_secs(30),
        || !std::path::Path::new(&format!("/proc/{pid}")).exists(),
    )
    .await;
}

#[anyloop::test]
async fn stderr_to_stdout_and_null() {
    if !subprocess() {
        return;
    }
    let out = script(
        "echo one; echo two >&2; echo three",
        &["echo", "one", ";", "echo-err", "two", ";", "echo", "three"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::stdout())
    .output()
    .await
    .unwrap();
    assert_eq!(out.stdout, b"one\ntwo\nthree\n");
    assert!(out.stderr.is_empty());

    let out = script(
        "echo hidden; echo hidden >&2",
        &["echo", "hidden", ";", "echo-err", "hidden"],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::stdout())
    .output()
    .await
    .unwrap();
    assert!(out.stdout.is_empty() && out.stderr.is_empty());

    let err = true_().stdout(Stdio::stdout()).spawn().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[cfg(not(windows))]
#[anyloop::test]
async fn arguments_environment_and_directory() {
    if !subprocess() {
        return;
    }
    let dir = std::env::temp_dir();
    let out = Command::new("sh")
        .args([
            "-c",
            "printf '%s|' \"$1\" \"$A\" \"$B\" \"$(pwd -P)\"",
            "sh",
            "arg with spaces",
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("A", "alpha")
        .envs([("B", "beta")])
        .current_dir(&dir)
        .output()
        .await
        .unwrap();
    let dir = std::fs::canonicalize(&dir).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("arg with spaces|alpha|beta|{}|", dir.display())
    );
    let out = Command::new("sh")
        .args(["-c", "echo \"${HOME:-unset}\""])
        .env_remove("HOME")
        .output()
        .await
        .unwrap();
    assert_eq!(out.stdout, b"unset\n");
}

/// A bare program name with a `PATH` set on the command: found as
/// `execvp` finds it (anyloop looks it up itself so that std can spawn
/// with `posix_spawn` instead of `fork`; whatever it cannot decide, std's
/// own search decides).
#[cfg(unix)]
#[anyloop::test]
async fn a_path_of_the_commands_own_finds_programs_as_execvp_does() {
    use std::os::unix::fs::PermissionsExt;
    if !subprocess() {
        return;
    }
    let base = std::env::temp_dir().join(format!("anyloop-own-path-{}", std::process::id()));
    let (first, second) = (base.join("first"), base.join("second"));
    std::fs::create_dir_all(first.join("dir-tool")).unwrap();
    std::fs::create_dir_all(&second).unwrap();
    let put = |path: std::path::PathBuf, text: &str, mode: u32| {
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    // Skipped: not executable; a directory.
    put(first.join("tool"), "#!/bin/sh\necho first\n", 0o644);
    put(second.join("dir-tool"), "#!/bin/sh\necho dir-tool\n", 0o755);
    put(
        second.join("tool"),
        "#!/bin/sh\necho \"second $1 $GREETING\"\n",
        0o755,
    );
    let path = format!("/no/such/dir:{}:{}", first.display(), second.display());
    let run = |program: &str, path: &str| {
        let mut cmd = Command::new(program);
        cmd.env("PATH", path);
        cmd
    };
    let out = run("tool", &path)
        .arg("x")
        .env("GREETING", "hi")
        .output()
        .await
        .unwrap();
    assert_eq!(out.stdout, b"second x hi\n");
    let out = run("dir-tool", &path).output().await.unwrap();
    assert_eq!(out.stdout, b"dir-tool\n");
    // argv[0] stays the name given; a cleared environment keeps the PATH
    // set after it.
    let sys_path = std::env::var_os("PATH").unwrap_or_default();
    let out = Command::new("sh")
        .args(["-c", "echo \"$0 ${HOME:-unset}\""])
        .env_clear()
        .env("PATH", &sys_path)
        .output()
        .await
        .unwrap();
    assert_eq!(out.stdout, b"sh unset\n");
    // Empty entries are the child's directory.
    let out = run("tool", ":")
        .arg("y")
        .current_dir(&second)
        .output()
        .await
        .unwrap();
    assert_eq!(out.stdout, b"second y \n");
    // execvp's errors: nothing at all; only a file without permission.
    let err = run("no-such-tool-anywhere", &path).spawn().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains("no-such-tool-anywhere"), "{err}");
    let err = run("tool", &first.display().to_string())
        .spawn()
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
    // glibc's execvp runs an executable file without `#!` with /bin/sh.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        put(second.join("plain"), "echo plain script\n", 0o755);
        let out = run("plain", &path).output().await.unwrap();
        assert_eq!(out.stdout, b"plain script\n");
    }
    std::fs::remove_dir_all(&base).unwrap();
}

/// Windows: arguments with spaces (std quotes them for the child's
/// command line), the environment and the directory.
#[cfg(windows)]
#[anyloop::test]
async fn arguments_environment_and_directory() {
    let dir = std::env::temp_dir();
    let out = script(
        "",
        &[
            "echo",
            "arg with spaces",
            ";",
            "env",
            "A",
            ";",
            "env",
            "B",
            ";",
            "env",
            "GONE",
            ";",
            "cwd",
        ],
    )
    .env_clear()
    // A Windows program needs SystemRoot to start its sockets.
    .env(
        "SystemRoot",
        std::env::var_os("SystemRoot").unwrap_or_default(),
    )
    .env("A", "alpha")
    .envs([("B", "beta")])
    .env("GONE", "here")
    .env_remove("GONE")
    .current_dir(&dir)
    .output()
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..4],
        ["arg with spaces", "alpha", "beta", ""],
        "{text}"
    );
    assert_eq!(
        std::fs::canonicalize(lines[4]).unwrap(),
        std::fs::canonicalize(&dir).unwrap()
    );
}

#[anyloop::test]
async fn spawn_errors_name_the_program() {
    if !subprocess() {
        return;
    }
    let err = Command::new("/no/such/program").spawn().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(err.to_string().contains("/no/such/program"), "{err}");
    let err = true_().current_dir("/no/such/dir").spawn().unwrap_err();
    // Windows: ERROR_DIRECTORY.
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
        ),
        "{err}"
    );
}

#[anyloop::test]
async fn pipes_are_stream_readers_with_limits() {
    if !subprocess() {
        return;
    }
    let long = format!("key=value;{}", "x".repeat(300));
    let mut p = script(
        "printf 'key=value;'; head -c 300 /dev/zero | tr '\\0' x; echo",
        &["echo", &long],
    )
    .stdout(Stdio::piped())
    .limit(100)
    .spawn()
    .unwrap();
    let mut out = p.stdout.take().unwrap();
    assert_eq!(out.limit(), 100);
    assert_eq!(out.readuntil(b"=").await.unwrap(), b"key=");
    assert_eq!(out.readuntil(b";").await.unwrap(), b"value;");
    let err = out.readline().await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
    out.set_limit(1000);
    assert_eq!(out.readline().await.unwrap().len(), 301);
    assert!(p.wait().await.unwrap().success());
}

#[anyloop::test]
async fn a_thousand_short_processes_leave_no_zombie() {
    if !subprocess() {
        return;
    }
    // In waves of 50: half awaited, half dropped while running (orphans
    // the reaper must collect), some dropped after exiting.
    // Under Wine a spawn costs ~0.1 s and hundreds in a row can fail with
    // ERROR_INTERNAL_ERROR (see README): 100 there.
    let waves = if common::under_wine() { 2 } else { 20 };
    for wave in 0..waves {
        let mut procs = Vec::new();
        for _ in 0..50 {
            procs.push(true_().spawn().unwrap());
        }
        for (i, mut p) in procs.into_iter().enumerate() {
            match (i + wave) % 3 {
                0 => drop(p),
                1 => assert!(p.wait().await.unwrap().success()),
                _ => {
                    let _ = p.returncode();
                }
            }
        }
    }
    #[cfg(target_os = "linux")]
    common::wait_until("every child to be reaped", Duration::from_secs(60), || {
        zombies().is_empty()
    })
    .await;
}

/// Our zombie children (state `Z` in `/proc/PID/stat`, parent = us).
#[cfg(target_os = "linux")]
fn zombies() -> Vec<u32> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) S ppid ...": comm may hold spaces; split after ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let mut f = rest.split_whitespace();
        if f.next() == Some("Z") && f.next() == Some(me.as_str()) {
            found.push(pid);
        }
    }
    found
}

#[anyloop::test]
async fn wait_closes_stdin_so_cat_can_finish() {
    if !subprocess() {
        return;
    }
    let mut p = cat()
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    p.stdin.as_ref().unwrap().write(b"data");
    let status = deadline("cat after stdin closed", p.wait()).await.unwrap();
    assert!(status.success());
    assert!(p.stdin.is_none());
}

#[anyloop::test]
async fn communicate_ignores_a_child_that_does_not_read() {
    if !subprocess() {
        return;
    }
    let mut p = true_()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = deadline("communicate", p.communicate(&pattern(1 << 20)))
        .await
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
}

#[anyloop::test]
async fn many_processes_at_once() {
    if !subprocess() {
        return;
    }
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            anyloop::spawn(async move {
                let delay = format!("0.0{}", i % 10);
                let n = i.to_string();
                let out = script(
                    &format!("sleep {delay}; echo {n}"),
                    &["sleep", &delay, ";", "echo", &n],
                )
                .output()
                .await?;
                io::Result::Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
            })
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(t.await.unwrap().unwrap(), i.to_string());
    }
}

/// `examples/jobs.rs`, run as the program it is.
#[cfg(all(unix, not(target_family = "wasm")))]
fn jobs_example() -> std::process::Command {
    common::example("jobs")
}

#[cfg(all(unix, not(target_family = "wasm")))]
#[test]
fn the_jobs_example_prefixes_lines_times_out_and_reports_exit_codes() {
    let out = jobs_example()
        .args(["--jobs", "2", "--timeout", "1"])
        .args(["echo a; echo b >&2", "exit 3", "sleep 30", "echo last"])
        .output()
        .expect("run the jobs example");
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "[0] a\n",
        "[0] b\n",
        "[3] last\n",
        "[0] exit 0: echo a; echo b >&2\n",
        "[1] exit 3: exit 3\n",
        "[2] killed after 1s (timeout): sleep 30\n",
        "[3] exit 0: echo last\n",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert_eq!(out.status.code(), Some(1), "{text}");
}

/// A timeout too large for a `Duration` is a usage error, not a panic.
#[cfg(all(unix, not(target_family = "wasm")))]
#[test]
fn the_jobs_example_rejects_a_timeout_it_cannot_hold() {
    for bad in ["1e30", "inf", "-1", "soon"] {
        let out = jobs_example()
            .args(["--timeout", bad, "echo a"])
            .output()
            .expect("run the jobs example");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--timeout {bad}: {err}");
        assert!(
            err.contains(&format!(
                "--timeout: not a positive number of seconds: {bad}"
            )),
            "--timeout {bad}: {err}"
        );
    }
}

/// `examples/stdio_tool.rs` (the tests' portable child) rejects a malformed
/// step instead of reading it as 0.
#[cfg(not(target_family = "wasm"))]
#[test]
fn the_stdio_tool_example_rejects_malformed_steps() {
    for (step, want) in [
        (
            &["sleep", "abc"][..],
            "sleep: not a number of seconds: \"abc\"",
        ),
        (
            &["sleep", "1e30"][..],
            "sleep: not a number of seconds: \"1e30\"",
        ),
        (
            &["sleep", "-1"][..],
            "sleep: not a number of seconds: \"-1\"",
        ),
        (&["exit", "x"][..], "exit: not an exit code: \"x\""),
        (&["bogus"][..], "unknown step \"bogus\""),
    ] {
        let out = common::example("stdio_tool")
            .args(step)
            .output()
            .expect("run stdio_tool");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{step:?}: {err}");
        assert_eq!(err, format!("stdio_tool: {want}\n"), "{step:?}");
    }
}

#[cfg(all(unix, not(target_family = "wasm")))]
#[test]
fn the_jobs_example_kills_its_children_on_ctrl_c() {
    use std::io::BufRead;
    let mut child = jobs_example()
        .arg("echo pid $$; exec sleep 30")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the jobs example");
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("a line").expect("read");
    let pid: u32 = first
        .strip_prefix("[0] pid ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
    let jobs = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(jobs, rustix::process::Signal::INT).unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{rest:?}");
    assert!(rest.iter().any(|l| l.contains("interrupted")), "{rest:?}");
    assert!(rest.iter().any(|l| l.starts_with("[0] killed")), "{rest:?}");
    // The `sleep` (the shell exec'd into it) is gone.
    let start = std::time::Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}/cmdline")).exists()
        && std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| c.starts_with("sleep"))
    {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "the command's process {pid} survived Ctrl-C"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
