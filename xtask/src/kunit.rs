// SPDX-License-Identifier: GPL-2.0

//! `cargo xtask kunit`: builds a UML kernel with kunit.py for one configuration and runtime,
//! runs its KUnit suites, saves the console and results, and prints the result table.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::results::{parse_ktap, Results};
use crate::setup;
use crate::tree::Tree;
use crate::util::{self, bail, Context, Result, Step};

/// A kunitconfig of `linux/kunitconfigs/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Config {
    /// Generic KASAN with its defaults (inline checks).
    Generic,
    /// Generic KASAN, outline checks, vmalloc, extra info, SMP with 2 CPUs.
    Full,
    /// `full` without SMP, plus `STATIC_LINK` (UML defers enabling KASAN).
    Static,
}

impl Config {
    /// Every configuration, in matrix order.
    pub const ALL: [Config; 3] = [Config::Generic, Config::Full, Config::Static];

    /// Its name (and file name without `.config`).
    pub fn name(self) -> &'static str {
        match self {
            Config::Generic => "generic",
            Config::Full => "full",
            Config::Static => "static",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Config> {
        Config::ALL.into_iter().find(|c| c.name() == s)
    }

    /// Kernel arguments its boots need: UML runs SMP only with seccomp userspace and an explicit
    /// CPU count ("SMP is not supported with PTRACE userspace"), so `full` asks for both CPUs.
    pub fn kernel_args(self) -> &'static [&'static str] {
        match self {
            Config::Full => &["seccomp=on", "ncpus=2"],
            Config::Generic | Config::Static => &[],
        }
    }

    /// The kunitconfig fragment.
    pub fn fragment(self) -> PathBuf {
        util::workspace_root()
            .join("linux/kunitconfigs")
            .join(format!("{}.config", self.name()))
    }
}

impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which KASAN runtime the kernel is built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// Upstream's C runtime (`CONFIG_KASAN_RUST` not set).
    C,
    /// rkasan (`CONFIG_KASAN_RUST=y`).
    Rust,
}

impl Runtime {
    /// Both, in the order the matrix builds them.
    pub const ALL: [Runtime; 2] = [Runtime::C, Runtime::Rust];

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::C => "c",
            Runtime::Rust => "rust",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Runtime> {
        Runtime::ALL.into_iter().find(|r| r.name() == s)
    }

    /// The `--kconfig_add` options that select it in `tree`: Rust also turns on its own KUnit
    /// suite (`KASAN_RUST_KUNIT_TEST`) when the tree defines it.
    pub(crate) fn kconfig(self, tree: &Tree) -> Result<Vec<&'static str>> {
        Ok(match self {
            Runtime::C => vec!["# CONFIG_KASAN_RUST is not set"],
            Runtime::Rust => {
                let mut opts = vec!["CONFIG_KASAN_RUST=y"];
                let kconfig = util::read(&tree.path.join("lib/Kconfig.kasan"))?;
                if kconfig_has(&kconfig, "KASAN_RUST_KUNIT_TEST") {
                    opts.push("CONFIG_KASAN_RUST_KUNIT_TEST=y");
                }
                opts
            }
        })
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// True when the tree's lib/Kconfig.kasan has `config KASAN_RUST`.
pub fn has_kasan_rust(tree: &Tree) -> Result<bool> {
    let kconfig = util::read(&tree.path.join("lib/Kconfig.kasan"))?;
    Ok(kconfig_has(&kconfig, "KASAN_RUST"))
}

fn kconfig_has(text: &str, symbol: &str) -> bool {
    text.lines().any(|l| {
        let mut words = l.split_whitespace();
        matches!(words.next(), Some("config" | "menuconfig")) && words.next() == Some(symbol)
    })
}

/// The error when the Rust runtime is asked for but the tree cannot build it.
pub fn no_kasan_rust(tree: &Tree) -> util::Error {
    util::Error(format!(
        "the Rust runtime is not available in {}: lib/Kconfig.kasan has no `config KASAN_RUST` \
         (the patch adding it is not in linux/series yet). Not falling back to C: use --runtime c \
         to test the C runtime.",
        tree.path.display()
    ))
}

/// What one run left behind.
pub struct Outcome {
    /// Its results.
    pub results: Results,
    /// `target/rkasan/<config>-<runtime>/`.
    pub dir: PathBuf,
}

/// The build directory of `config`, shared by both runtimes. It remembers the tree it was
/// built from and is emptied when the tree changes.
fn build_dir(tree: &Tree, config: Config) -> Result<PathBuf> {
    build_dir_named(tree, config.name())
}

/// The build directory `$CACHE/build/<name>`, emptied when it was built from another tree.
pub(crate) fn build_dir_named(tree: &Tree, name: &str) -> Result<PathBuf> {
    let dir = util::cache_dir()?.join("build").join(name);
    let marker = dir.join(".rkasan-srctree");
    let src = fs::canonicalize(&tree.path)
        .unwrap_or_else(|_| tree.path.clone())
        .to_string_lossy()
        .into_owned();
    if dir.exists() && fs::read_to_string(&marker).ok().as_deref() != Some(src.as_str()) {
        eprintln!(
            "    {} was built from another tree: starting it afresh",
            dir.display()
        );
        fs::remove_dir_all(&dir).context(format!("cannot remove {}", dir.display()))?;
    }
    util::mkdir(&dir)?;
    util::write(&marker, &src)?;
    Ok(dir)
}

/// kunit.py with the arguments every subcommand shares.
fn kunit_py(
    tree: &Tree,
    sub: &str,
    config: Config,
    runtime: Runtime,
    dir: &Path,
) -> Result<Command> {
    Ok(kunit_py_with(
        tree,
        sub,
        &config.fragment(),
        &runtime.kconfig(tree)?,
        dir,
    ))
}

/// kunit.py `sub` with a kunitconfig `fragment`, `--kconfig_add` options and a build dir.
pub(crate) fn kunit_py_with(
    tree: &Tree,
    sub: &str,
    fragment: &Path,
    kconfig_add: &[&str],
    dir: &Path,
) -> Command {
    let mut cmd = Command::new("python3");
    setup::kernel_env(&mut cmd)
        .current_dir(&tree.path)
        .arg(tree.path.join("tools/testing/kunit/kunit.py"))
        .arg(sub)
        .arg("--arch=um")
        .arg(format!("--kunitconfig={}", fragment.display()));
    for opt in kconfig_add {
        cmd.arg(format!("--kconfig_add={opt}"));
    }
    cmd.arg(format!("--build_dir={}", dir.display()));
    cmd
}

/// Runs `kunit.py build` (`cmd`, from [`kunit_py_with`]) with the lab's make options and `jobs`,
/// its output in `log`; on failure the error names `what` was built and the log's first error.
pub(crate) fn build_kernel(mut cmd: Command, jobs: usize, log: &Path, what: &str) -> Result<()> {
    for opt in setup::make_options()? {
        cmd.arg(format!("--make_options={opt}"));
    }
    cmd.arg(format!("--jobs={jobs}"));
    if util::run_logged(&mut cmd, log).is_err() {
        let first = first_error(&util::read(log).unwrap_or_default())
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        bail!(
            "the {what} build failed{first}; full log: {}",
            log.display()
        );
    }
    Ok(())
}

/// Builds and runs one configuration with one runtime.
pub fn run(
    tree: &Tree,
    config: Config,
    runtime: Runtime,
    filter: Option<&str>,
    jobs: usize,
) -> Result<Outcome> {
    tree.version()?;
    if runtime == Runtime::Rust && !has_kasan_rust(tree)? {
        return Err(no_kasan_rust(tree));
    }
    let fragment = config.fragment();
    if !fragment.is_file() {
        bail!("no kunitconfig at {}", fragment.display());
    }
    let build = build_dir(tree, config)?;
    let out = util::out_dir().join(format!("{config}-{runtime}"));
    if out.exists() {
        fs::remove_dir_all(&out).context(format!("cannot remove {}", out.display()))?;
    }
    util::mkdir(&out)?;

    let build_log = out.join("build.log");
    let step = Step::start(
        format!("build: {config} config, {runtime} runtime"),
        Some(&format!(
            "build dir: {}\n    log: {}",
            build.display(),
            build_log.display()
        )),
    );
    build_kernel(
        kunit_py(tree, "build", config, runtime, &build)?,
        jobs,
        &build_log,
        &format!("{config} config with the {runtime} runtime"),
    )?;
    let dot_config = util::read(&build.join(".config"))?;
    let rust_on = dot_config.lines().any(|l| l == "CONFIG_KASAN_RUST=y");
    match runtime {
        Runtime::Rust if !rust_on => bail!(
            "{}/.config does not have CONFIG_KASAN_RUST=y (unmet dependencies?); see {}",
            build.display(),
            build_log.display()
        ),
        Runtime::C if rust_on => bail!(
            "{}/.config has CONFIG_KASAN_RUST=y for a C-runtime build; see {}",
            build.display(),
            build_log.display()
        ),
        _ => {}
    }
    if rust_on {
        check_runtime_object(&build)?;
    }
    step.done();

    let run_log = out.join("run.log");
    let json = out.join("results.json");
    let step = Step::start(
        format!("run: {config} config, {runtime} runtime"),
        Some(&format!("log: {}", run_log.display())),
    );
    let console = build.join("test.log");
    let results = run_until_complete(|| {
        let _ = fs::remove_file(&console);
        let _ = fs::remove_file(&json);
        let mut cmd = kunit_py(tree, "exec", config, runtime, &build)?;
        for arg in config.kernel_args() {
            cmd.arg(format!("--kernel_args={arg}"));
        }
        cmd.arg(format!("--json={}", json.display()));
        if let Some(glob) = filter {
            cmd.arg(glob);
        }
        // kunit.py exits 1 when a test fails: the results decide, not its status.
        let status = util::spawn_logged(&mut cmd, &run_log)?;
        if console.is_file() {
            fs::copy(&console, out.join("console.log"))
                .context(format!("cannot copy {}", console.display()))?;
        }
        if !json.is_file() {
            return Err(util::failed(&cmd, &status.to_string(), &run_log));
        }
        let mut results = Results::from_kunit_json(&util::read(&json)?)
            .map_err(|e| util::Error(format!("{}: {e}", json.display())))?;
        let raw = fs::read(out.join("console.log")).unwrap_or_default();
        results.merge_console(&parse_ktap(&String::from_utf8_lossy(&raw)));
        Ok(results)
    })?;
    step.done();
    Ok(Outcome { results, dir: out })
}

/// The Rust runtime object, which runs uninstrumented on every checked access.
const RUNTIME_OBJECT: &str = "mm/kasan/rkasan.o";

/// Undefined symbols the runtime object must not reference: a panic path (the kernel builds Rust
/// with overflow checks on), a call back into KASAN's instrumentation, or a Rust helper from
/// rust/helpers (those are instrumented).
const FORBIDDEN_SYMBOLS: &[&str] = &["9panicking", "__asan_", "__hwasan_", "rust_helper_"];

/// Returns the forbidden symbols among `nm -u` output lines.
pub fn forbidden_symbols(nm_undefined: &str) -> Vec<String> {
    nm_undefined
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|sym| FORBIDDEN_SYMBOLS.iter().any(|f| sym.contains(f)))
        .map(str::to_string)
        .collect()
}

/// The gate on the built runtime object: `nm -u` lists none of [`FORBIDDEN_SYMBOLS`].
pub(crate) fn check_runtime_object(build: &Path) -> Result<()> {
    let obj = build.join(RUNTIME_OBJECT);
    let out = Command::new(Path::new(setup::LLVM_BIN).join("llvm-nm"))
        .arg("-u")
        .arg(&obj)
        .output()
        .context(format!("cannot run llvm-nm on {}", obj.display()))?;
    if !out.status.success() {
        bail!(
            "llvm-nm -u {} failed: {}",
            obj.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let bad = forbidden_symbols(&String::from_utf8_lossy(&out.stdout));
    if !bad.is_empty() {
        bail!(
            "{} references symbols the runtime must not use: {}",
            obj.display(),
            bad.join(", ")
        );
    }
    eprintln!("    nm -u {RUNTIME_OBJECT}: no panic, __asan_, __hwasan_ or rust_helper_ symbol");
    Ok(())
}

/// How often a run whose console lost lines is tried.
const RUN_ATTEMPTS: u32 = 3;

/// Runs a kernel with `run` until its results lost no console lines, at most [`RUN_ATTEMPTS`]
/// times: on a loaded machine UML's console can drop lines, results included.
pub(crate) fn run_until_complete(mut run: impl FnMut() -> Result<Results>) -> Result<Results> {
    let mut attempt = 1;
    loop {
        let results = run()?;
        if results.lost.is_empty() || attempt == RUN_ATTEMPTS {
            return Ok(results);
        }
        eprintln!(
            "    the console lost lines ({}); running again ({} of {RUN_ATTEMPTS})",
            results.lost[0],
            attempt + 1
        );
        attempt += 1;
    }
}

/// The first error in a build log, with the location line after it when there is one (rustc's
/// `--> file:line`).
pub fn first_error(log: &str) -> Option<String> {
    let lines: Vec<&str> = log
        .lines()
        .map(|l| l.strip_prefix("ERROR:root:").unwrap_or(l))
        .collect();
    let at = lines.iter().position(|l| {
        let t = l.trim_start();
        t.starts_with("error:") || t.starts_with("error[") || l.contains(": error:")
    })?;
    let mut line = lines[at].trim().to_string();
    if let Some(next) = lines.get(at + 1) {
        if let Some(location) = next.trim_start().strip_prefix("--> ") {
            line.push_str(&format!(" at {location}"));
        }
    }
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for c in Config::ALL {
            assert_eq!(Config::parse(c.name()), Some(c));
            assert!(c.fragment().is_file(), "{}", c.fragment().display());
        }
        for r in Runtime::ALL {
            assert_eq!(Runtime::parse(r.name()), Some(r));
        }
        assert_eq!(Config::parse("sw_tags"), None);
        assert_eq!(Runtime::parse("C"), None);
    }

    #[test]
    fn runtime_object_gate() {
        let nm =
            "                 U __memset\n                 U kasan_report\n                 U \
                  _RNvNtNtCs2DxGA1hvVcO_4core9panicking11panic_const24panic_const_add_overflow\n\
                  U __asan_load8\n";
        assert_eq!(
            forbidden_symbols(nm),
            [
                "_RNvNtNtCs2DxGA1hvVcO_4core9panicking11panic_const24panic_const_add_overflow",
                "__asan_load8"
            ]
        );
        assert!(forbidden_symbols(
            "                 U __memset\n                 U kasan_report\n"
        )
        .is_empty());
    }

    #[test]
    fn kconfig_symbol() {
        let text = "config KASAN_GENERIC\n\tbool \"Generic\"\n\nconfig KASAN_RUST\n\tbool\n";
        assert!(kconfig_has(text, "KASAN_RUST"));
        assert!(kconfig_has(text, "KASAN_GENERIC"));
        assert!(!kconfig_has(
            "\tdepends on KASAN_RUST\nconfig KASAN_RUSTY\n",
            "KASAN_RUST"
        ));
    }

    #[test]
    fn first_build_error() {
        let log = "\
ERROR:root:In file included from mm/kasan/report.c:15:
include/asm-generic/io.h:1209:55: warning: performing pointer arithmetic on a null pointer
error[E0425]: cannot find value `__LOG_PREFIX` in the crate root
   --> mm/kasan/rkasan/kernel_generic.rs:363:13
error: aborting due to 1 previous error
";
        assert_eq!(
            first_error(log).as_deref(),
            Some(
                "error[E0425]: cannot find value `__LOG_PREFIX` in the crate root at \
                 mm/kasan/rkasan/kernel_generic.rs:363:13"
            )
        );
        let clang = "x\nmm/kasan/rkasan_entry.c:12:3: error: use of undeclared identifier 'y'\n";
        assert_eq!(
            first_error(clang).as_deref(),
            Some("mm/kasan/rkasan_entry.c:12:3: error: use of undeclared identifier 'y'")
        );
        assert_eq!(first_error("all good\n"), None);
    }

    #[test]
    fn rust_runtime_needs_kasan_rust() {
        let dir = std::env::temp_dir().join(format!("xtask-no-rust-{}", std::process::id()));
        fs::create_dir_all(dir.join("lib")).unwrap();
        fs::write(
            dir.join("Makefile"),
            "VERSION = 7\nPATCHLEVEL = 2\nSUBLEVEL = 13\n",
        )
        .unwrap();
        fs::write(dir.join("lib/Kconfig.kasan"), "config KASAN_GENERIC\n").unwrap();
        let tree = Tree {
            path: dir.clone(),
            custom: true,
        };
        let err = run(&tree, Config::Generic, Runtime::Rust, None, 1)
            .err()
            .unwrap()
            .0;
        assert!(err.contains("no `config KASAN_RUST`"), "{err}");
        assert!(err.contains("Not falling back to C"), "{err}");
        let _ = fs::remove_dir_all(&dir);
    }
}
