// SPDX-License-Identifier: GPL-2.0

//! Errors, paths, progress reporting and running commands with their output in a log file.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// An error meant for the user: a message that says what went wrong and what to do.
#[derive(Debug)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error(e.to_string())
    }
}

/// The lab's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Returns early with an [`Error`] built like `format!`.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::util::Error(format!($($arg)*)))
    };
}
pub use crate::bail;

/// The exit status of a lab binary for a command's verdict: success, failure for a completed
/// run with a failing verdict (`Ok(false)`), failure with the error printed.
pub fn exit_code(verdict: Result<bool>) -> ExitCode {
    match verdict {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Adds context (usually a path) to I/O errors.
pub trait Context<T> {
    /// Prefixes the error with `what`.
    fn context(self, what: impl fmt::Display) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl fmt::Display) -> Result<T> {
        self.map_err(|e| Error(format!("{what}: {e}")))
    }
}

/// The workspace root (the directory holding the workspace's `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// Where the lab writes results and logs: `target/rkasan/` of the workspace.
pub fn out_dir() -> PathBuf {
    workspace_root().join("target").join("rkasan")
}

/// The directory for log files.
pub fn log_dir() -> PathBuf {
    out_dir().join("logs")
}

/// The cache: `$RKASAN_CACHE`, else `~/.cache/rkasan`.
pub fn cache_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("RKASAN_CACHE").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".cache").join("rkasan")),
        None => {
            bail!("neither RKASAN_CACHE nor HOME is set: set RKASAN_CACHE to a cache directory")
        }
    }
}

/// Creates `dir` and its parents.
pub fn mkdir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).context(format!("cannot create {}", dir.display()))
}

/// Reads a file to a string, naming the file on error.
pub fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).context(format!("cannot read {}", path.display()))
}

/// Writes a file, creating its directory, naming the file on error.
pub fn write(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    if let Some(parent) = path.parent() {
        mkdir(parent)?;
    }
    fs::write(path, contents).context(format!("cannot write {}", path.display()))
}

/// Holds the lab's lock (`$CACHE/lab.lock`) while alive: one `cargo xtask` at a time changes
/// the tree and the build directories.
pub struct LabLock {
    _file: File,
}

/// Takes the lab's lock, waiting (and saying so) while another `cargo xtask` holds it.
pub fn lock_lab() -> Result<LabLock> {
    let cache = cache_dir()?;
    mkdir(&cache)?;
    let path = cache.join("lab.lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .context(format!("cannot open {}", path.display()))?;
    if file.try_lock().is_err() {
        eprintln!(
            "==> waiting for another cargo xtask to finish (lock {})",
            path.display()
        );
        file.lock()
            .context(format!("cannot lock {}", path.display()))?;
    }
    Ok(LabLock { _file: file })
}

/// Formats a duration as `1m02s` or `4.2s`.
pub fn fmt_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// True when the effective user is root (read from `/proc/self/status`).
pub fn is_root() -> bool {
    let Ok(status) = fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .is_some_and(|euid| euid == "0")
}

/// A long step: announces itself, shows the elapsed time while it runs and when it ends.
pub struct Step {
    name: String,
    start: Instant,
    ticker: Option<(Sender<()>, JoinHandle<()>)>,
}

impl Step {
    /// Starts a step; `detail` (for example the log's path) is printed under its name.
    pub fn start(name: impl Into<String>, detail: Option<&str>) -> Step {
        let name = name.into();
        eprintln!("==> {name}");
        if let Some(detail) = detail {
            eprintln!("    {detail}");
        }
        let (tx, rx) = mpsc::channel::<()>();
        let tty = std::io::stderr().is_terminal();
        let tick_name = name.clone();
        let start = Instant::now();
        let handle = thread::spawn(move || {
            // On a terminal, one line updated every second; elsewhere (CI logs) a line a minute.
            let period = if tty {
                Duration::from_secs(1)
            } else {
                Duration::from_secs(60)
            };
            loop {
                match rx.recv_timeout(period) {
                    Err(RecvTimeoutError::Timeout) => {
                        let elapsed = fmt_duration(start.elapsed());
                        if tty {
                            eprint!("\r    {tick_name}: {elapsed} ");
                        } else {
                            eprintln!("    {tick_name}: still running after {elapsed}");
                        }
                    }
                    _ => {
                        if tty {
                            eprint!("\r\x1b[K");
                        }
                        break;
                    }
                }
            }
        });
        Step {
            name,
            start,
            ticker: Some((tx, handle)),
        }
    }

    fn stop_ticker(&mut self) {
        if let Some((tx, handle)) = self.ticker.take() {
            let _ = tx.send(());
            let _ = handle.join();
        }
    }

    /// Ends the step successfully, printing its duration; returns the duration.
    pub fn done(mut self) -> Duration {
        self.stop_ticker();
        let elapsed = self.start.elapsed();
        eprintln!("    {}: done in {}", self.name, fmt_duration(elapsed));
        elapsed
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        if self.ticker.is_some() {
            self.stop_ticker();
            eprintln!(
                "    {}: failed after {}",
                self.name,
                fmt_duration(self.start.elapsed())
            );
        }
    }
}

/// Renders a command line for logs and messages.
pub fn show_cmd(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// The last `n` lines of a file.
pub fn tail(path: &Path, n: usize) -> String {
    let text = fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs `cmd` with stdin closed and stdout + stderr appended to `log`. On failure prints the
/// log's last 50 lines and returns an error naming the log.
pub fn run_logged(cmd: &mut Command, log: &Path) -> Result<()> {
    let status = spawn_logged(cmd, log)?;
    if status.success() {
        return Ok(());
    }
    Err(failed(cmd, &status.to_string(), log))
}

/// Like [`run_logged`], but returns the exit status instead of failing on a non-zero one.
pub fn spawn_logged(cmd: &mut Command, log: &Path) -> Result<std::process::ExitStatus> {
    if let Some(parent) = log.parent() {
        mkdir(parent)?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .context(format!("cannot open log {}", log.display()))?;
    writeln!(file, "$ {}", show_cmd(cmd))?;
    let err = file.try_clone()?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(err));
    cmd.status().context(format!(
        "cannot run {}",
        cmd.get_program().to_string_lossy()
    ))
}

/// The error for a failed logged command: prints the log's tail, names the log.
pub fn failed(cmd: &Command, why: &str, log: &Path) -> Error {
    eprintln!("---- last 50 lines of {} ----", log.display());
    eprintln!("{}", tail(log, 50));
    eprintln!("---- end of {} ----", log.display());
    Error(format!(
        "`{}` failed ({why}); full log: {}",
        shorten(&show_cmd(cmd), 200),
        log.display()
    ))
}

/// Cuts `s` to at most `max` characters, marking the cut.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(3)).collect();
    out.push_str("...");
    out
}

/// Runs `cmd` with stdin closed and returns its stdout; on failure the error quotes its stderr.
pub fn capture(cmd: &mut Command) -> Result<String> {
    let out = cmd.stdin(Stdio::null()).output().context(format!(
        "cannot run {}",
        cmd.get_program().to_string_lossy()
    ))?;
    if !out.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            shorten(&show_cmd(cmd), 200),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Opens (truncating) a fresh log file for a step and returns its path.
pub fn fresh_log(name: &str) -> Result<PathBuf> {
    let path = log_dir().join(format!("{name}.log"));
    mkdir(&log_dir())?;
    File::create(&path).context(format!("cannot create {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(fmt_duration(Duration::from_millis(4200)), "4.2s");
        assert_eq!(fmt_duration(Duration::from_secs(62)), "1m02s");
        assert_eq!(fmt_duration(Duration::from_secs(372)), "6m12s");
    }

    #[test]
    fn shortening() {
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(shorten("abcdefgh", 5), "ab...");
    }
}
