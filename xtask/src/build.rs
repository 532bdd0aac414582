// SPDX-License-Identifier: GPL-2.0

//! One kernel build, the lab's only way to make a kernel: `kunit.py build` in a build directory
//! of the cache with the lab's make options, then the checks every kernel passes before the lab
//! boots it. `kunit`, `e2e` and the bench build through [`Build::run`]; `bisect`, which only asks
//! whether each commit of the series compiles, through [`Build::make`].
//!
//! The checks, in order: the build's `.config` (the caller's check, which also says whether the
//! Rust runtime is in), then, with the Rust runtime, the gates on `mm/kasan/rkasan.o`
//! ([`objcheck::check_runtime_object`]), then objtool's warnings about the runtime in the log of
//! a build that ran.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::{Arch, Config};
use crate::objcheck::{check_runtime_object, objtool_warnings};
use crate::toolchain;
use crate::tree::Tree;
use crate::util::{self, bail, Context, Result, Step};

/// A kernel to build: what kunit.py needs, and where the build writes its log.
pub struct Build<'a> {
    /// The tree to build.
    pub tree: &'a Tree,
    /// Its architecture.
    pub arch: Arch,
    /// The kunitconfig.
    pub fragment: &'a Path,
    /// kunit.py's `--kconfig_add` options.
    pub kconfig_add: &'a [&'a str],
    /// The build directory (from [`dir`]).
    pub dir: &'a Path,
    /// The build's log.
    pub log: &'a Path,
    /// What is built, for the progress line and the errors ("generic config, rust runtime").
    pub what: &'a str,
}

impl Build<'_> {
    /// Runs `kunit.py build` with the lab's make options and `jobs`, its output in the log; on
    /// failure the error names what was built and the log's first error.
    pub fn make(&self, jobs: usize) -> Result<()> {
        let mut cmd = kunit_py(
            self.tree,
            "build",
            self.arch,
            self.fragment,
            self.kconfig_add,
            self.dir,
        );
        for opt in toolchain::make_options(self.arch)? {
            cmd.arg(format!("--make_options={opt}"));
        }
        cmd.arg(format!("--jobs={jobs}"));
        if util::run_logged(&mut cmd, self.log).is_err() {
            let first = first_error(&util::read(self.log).unwrap_or_default())
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            bail!(
                "the {} build failed{first}; full log: {}",
                self.what,
                self.log.display()
            );
        }
        Ok(())
    }

    /// Checks the kernel in the build directory: `dot_config` reads its `.config` and returns
    /// whether the Rust runtime is in, or what is wrong; a Rust kernel's `rkasan.o` must pass the
    /// object gates; and when `made` (this run built it), the log must have no objtool warning
    /// about the runtime. Returns the `.config`.
    pub fn verify(
        &self,
        made: bool,
        dot_config: impl FnOnce(&str) -> std::result::Result<bool, String>,
    ) -> Result<String> {
        let text = util::read(&self.dir.join(".config"))?;
        let rust = dot_config(&text).map_err(|e| {
            util::Error(format!(
                "{}/.config {e}; see {}",
                self.dir.display(),
                self.log.display()
            ))
        })?;
        if rust {
            check_runtime_object(self.dir)?;
        }
        if made {
            let warnings = objtool_warnings(&util::read(self.log)?);
            if let Some(first) = warnings.first() {
                bail!(
                    "objtool warns about the KASAN runtime ({} warning(s); first: {first}); see {}",
                    warnings.len(),
                    self.log.display()
                );
            }
        }
        Ok(text)
    }

    /// [`Build::make`], then [`Build::verify`], as one step of the lab's progress output.
    pub fn run(
        &self,
        jobs: usize,
        dot_config: impl FnOnce(&str) -> std::result::Result<bool, String>,
    ) -> Result<String> {
        let step = Step::start(
            format!("build: {}", self.what),
            Some(&format!(
                "build dir: {}\n    log: {}",
                self.dir.display(),
                self.log.display()
            )),
        );
        self.make(jobs)?;
        let text = self.verify(true, dot_config)?;
        step.done();
        Ok(text)
    }
}

/// kunit.py `sub` for `arch` with a kunitconfig `fragment`, `--kconfig_add` options and a build
/// dir: the arguments every kunit.py command of the lab shares.
pub fn kunit_py(
    tree: &Tree,
    sub: &str,
    arch: Arch,
    fragment: &Path,
    kconfig_add: &[&str],
    dir: &Path,
) -> Command {
    let mut cmd = Command::new("python3");
    toolchain::kernel_env(&mut cmd)
        .current_dir(&tree.path)
        .arg(tree.path.join("tools/testing/kunit/kunit.py"))
        .arg(sub)
        .arg(format!("--arch={}", arch.name()))
        .arg(format!("--kunitconfig={}", fragment.display()));
    for opt in kconfig_add {
        cmd.arg(format!("--kconfig_add={opt}"));
    }
    cmd.arg(format!("--build_dir={}", dir.display()));
    cmd
}

/// The marker file of a build directory: the canonical path of the tree built there.
const MARKER: &str = ".rkasan-srctree";

/// `tree`'s path as its build directories' markers name it.
fn marker_text(tree: &Tree) -> String {
    fs::canonicalize(&tree.path)
        .unwrap_or_else(|_| tree.path.clone())
        .to_string_lossy()
        .into_owned()
}

/// The build directory `$CACHE/build/<name>`, emptied when it was built from another tree. A
/// config's is [`Config::build_name`], shared by both runtimes (and by the extra boots of its
/// base).
pub fn dir(tree: &Tree, name: &str) -> Result<PathBuf> {
    let dir = util::cache_dir()?.join("build").join(name);
    let marker = dir.join(MARKER);
    let src = marker_text(tree);
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

/// Whether the build directory of `config` holds a kernel built from `tree`: its marker names
/// the tree and the kernel image is there (a failed build may leave an old one, which an
/// incremental build then updates). Looks only; creates nothing.
pub fn is_built(tree: &Tree, config: Config) -> bool {
    let Ok(cache) = util::cache_dir() else {
        return false;
    };
    let dir = cache.join("build").join(config.build_name());
    let image = match config.arch() {
        Arch::Um => "linux",
        Arch::X86_64 => "arch/x86/boot/bzImage",
        Arch::Arm64 => "arch/arm64/boot/Image.gz",
    };
    fs::read_to_string(dir.join(MARKER)).ok().as_deref() == Some(marker_text(tree).as_str())
        && dir.join(image).is_file()
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
    fn verify_reads_the_config_and_the_log() {
        let dir = std::env::temp_dir().join(format!("rkasan-build-verify-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        util::mkdir(&dir).unwrap();
        util::write(&dir.join(".config"), "CONFIG_KASAN=y\n").unwrap();
        let log = dir.join("build.log");
        util::write(&log, "  CC mm/kasan/report.o\n").unwrap();
        let tree = Tree {
            path: dir.clone(),
            custom: true,
        };
        let b = Build {
            tree: &tree,
            arch: Arch::Um,
            fragment: &dir,
            kconfig_add: &[],
            dir: &dir,
            log: &log,
            what: "test kernel",
        };
        // The caller's check sees the .config; its error names the file and the log.
        let text = b
            .verify(true, |c| {
                assert_eq!(c, "CONFIG_KASAN=y\n");
                Ok(false)
            })
            .unwrap();
        assert_eq!(text, "CONFIG_KASAN=y\n");
        let err = b.verify(false, |_| Err("lacks X".into())).unwrap_err().0;
        assert!(err.contains("/.config lacks X; see "), "{err}");
        assert!(err.contains("build.log"), "{err}");
        // A Rust kernel without its rkasan.o fails the object gate.
        assert!(b.verify(false, |_| Ok(true)).is_err());
        // objtool's warnings about the runtime fail a build that ran, not one booted as it is.
        util::write(
            &log,
            "mm/kasan/rkasan.o: warning: objtool: rkasan_check_range+0x1: call to x() with \
             UACCESS enabled\n",
        )
        .unwrap();
        let err = b.verify(true, |_| Ok(false)).unwrap_err().0;
        assert!(err.contains("objtool warns"), "{err}");
        assert!(b.verify(false, |_| Ok(false)).is_ok());
        let _ = fs::remove_dir_all(&dir);
    }
}
