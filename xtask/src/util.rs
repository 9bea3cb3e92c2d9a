//! Small helpers: running commands, finding tools.

use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) type Result<T> = std::result::Result<T, String>;

/// The workspace root (parent of `xtask/`).
pub(crate) fn root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(Path::to_path_buf).unwrap_or(here)
}

/// A program `cargo install` put in place: on `$PATH`, or in
/// `$CARGO_HOME/bin` / `~/.cargo/bin` when that is not on `$PATH`.
pub(crate) fn cargo_bin(name: &str) -> Result<PathBuf> {
    if let Some(p) = which(name) {
        return Ok(p);
    }
    let homes = [
        std::env::var_os("CARGO_HOME").map(PathBuf::from),
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")),
    ];
    homes
        .into_iter()
        .flatten()
        .map(|h| h.join("bin").join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("{name} not found on PATH or in ~/.cargo/bin after installing it"))
}

/// Runs `cmd`, echoing it; error if it fails.
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    println!("$ {}", show(cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {}: {e}", show(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed with {status}", show(cmd)))
    }
}

/// Runs `cmd` and returns its stdout (stderr passes through).
pub(crate) fn output(cmd: &mut Command) -> Result<String> {
    println!("$ {}", show(cmd));
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot start {}: {e}", show(cmd)))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        print!("{stdout}");
        Err(format!("`{}` failed with {}", show(cmd), out.status))
    }
}

/// Runs `cmd`, tees its stdout, and returns it.
pub(crate) fn run_capture(cmd: &mut Command) -> Result<String> {
    let out = output(cmd)?;
    print!("{out}");
    Ok(out)
}

pub(crate) fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// `cargo` as invoked by the user (respects `$CARGO`).
pub(crate) fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

/// Full path of `name` on `$PATH`, if any.
pub(crate) fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Sums `test result: ok. N passed; M failed; ...` lines of cargo test output.
pub(crate) fn count_tests(out: &str) -> (u64, u64, u64) {
    let (mut passed, mut failed, mut ignored) = (0, 0, 0);
    for line in out.lines() {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            continue;
        };
        for part in rest.split(';') {
            let words: Vec<&str> = part.split_whitespace().collect();
            let n = words
                .iter()
                .find_map(|w| w.parse::<u64>().ok())
                .unwrap_or(0);
            if part.contains(" passed") {
                passed += n;
            } else if part.contains(" failed") {
                failed += n;
            } else if part.contains(" ignored") {
                ignored += n;
            }
        }
    }
    (passed, failed, ignored)
}

/// Whether this process runs as root.
pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Why `apt-get install` cannot run here, if it cannot: no `apt-get`, or
/// neither root nor a password-less `sudo`.
pub(crate) fn apt_unusable() -> Option<String> {
    if which("apt-get").is_none() {
        return Some("no apt-get on PATH (not a Debian/Ubuntu machine)".into());
    }
    if is_root() {
        return None;
    }
    let sudo = which("sudo").is_some()
        && Command::new("sudo")
            .args(["-n", "true"])
            .output()
            .is_ok_and(|o| o.status.success());
    if sudo {
        None
    } else {
        Some("not root and no password-less sudo for apt-get".into())
    }
}

/// `apt-get update && apt-get install -y PACKAGES` (through `sudo` unless
/// root), non-interactively; `lean` adds `--no-install-recommends`.
pub(crate) fn apt_install(packages: &[&str], lean: bool) -> Result<()> {
    let sudo = !is_root();
    let apt = |args: &[&str]| {
        let mut c = if sudo {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        } else {
            Command::new("apt-get")
        };
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run(&mut apt(&["update"]))?;
    let mut install = apt(&["install", "-y"]);
    if lean {
        install.arg("--no-install-recommends");
    }
    run(install.args(packages))
}

/// Cargo's target directory (respects `CARGO_TARGET_DIR`).
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                root().join(d)
            }
        }
        None => root().join("target"),
    }
}
