// SPDX-License-Identifier: GPL-2.0

//! `cargo xtask bisect`: builds the generic config at every commit of the branch `rkasan`, so
//! that the series stays bisectable.
//!
//! Each commit is checked out in turn and built with `kunit.py build` (no run) in the generic
//! config's build directory, `$RKASAN_CACHE/build/generic`: a checkout rewrites only the files
//! that differ from the previous commit, so every build after the first is incremental, and the
//! matrix's generic builds that follow start from the series' last commit (a directory of its
//! own cost a cold UML build, 7 minutes here, on a fresh machine). A commit is
//! built with the C runtime until the series has added `config KASAN_RUST` to
//! `lib/Kconfig.kasan`, with the Rust runtime from that commit on. The branch is checked out
//! again at the end, whatever happened.
//!
//! The build directory records what built: a commit whose tree already built there with the
//! same runtime, kunitconfig and make options is neither checked out nor built again (the same
//! inputs give the same build), so a run after a change to one commit builds from that commit
//! on.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::build::{self, Build};
use crate::config::{Arch, Config, Runtime};
use crate::series::BRANCH;
use crate::tree::Tree;
use crate::util::{self, bail, Result, Step};

/// One commit of the branch and the runtime it is built with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    /// Its full hash.
    pub commit: String,
    /// Its subject.
    pub subject: String,
    /// The runtime it is built with.
    pub runtime: Runtime,
}

/// True when the Kconfig text defines `symbol`: a line `config SYMBOL` or `menuconfig SYMBOL`
/// at the start of the line (an indented one is help text).
fn defines(kconfig: &str, symbol: &str) -> bool {
    kconfig.lines().any(|l| {
        let mut words = l.split_whitespace();
        if l.starts_with(char::is_whitespace) {
            return false;
        }
        matches!(words.next(), Some("config" | "menuconfig")) && words.next() == Some(symbol)
    })
}

/// The commits of `base..branch`, oldest first, each with the runtime to build it with: C before
/// the first commit whose `lib/Kconfig.kasan` has `config KASAN_RUST`, Rust from it on. A later
/// commit that loses the option is an error: the series would no longer build the Rust runtime.
pub fn plan(tree: &Tree, base: &str, branch: &str) -> Result<Vec<Planned>> {
    let log = tree.git_out(&[
        "log",
        "--reverse",
        "--format=%H %s",
        &format!("{base}..{branch}"),
    ])?;
    let mut out = Vec::new();
    let mut rust_from: Option<String> = None;
    for line in log.lines() {
        let (commit, subject) = line.split_once(' ').unwrap_or((line, ""));
        let kconfig = tree
            .git_out(&["show", &format!("{commit}:lib/Kconfig.kasan")])
            .unwrap_or_default();
        let has = defines(&kconfig, "KASAN_RUST");
        let runtime = match (&rust_from, has) {
            (_, true) => {
                rust_from.get_or_insert_with(|| subject.to_string());
                Runtime::Rust
            }
            (None, false) => Runtime::C,
            (Some(first), false) => bail!(
                "commit {} `{subject}` has no `config KASAN_RUST` in lib/Kconfig.kasan, which \
                 `{first}` added",
                &commit[..12.min(commit.len())]
            ),
        };
        out.push(Planned {
            commit: commit.to_string(),
            subject: subject.to_string(),
            runtime,
        });
    }
    if out.is_empty() {
        bail!("branch {branch} has no commits over the base {base}");
    }
    Ok(out)
}

/// The outcome of one commit's build.
#[derive(Clone, Debug)]
pub struct Built {
    /// The commit.
    pub planned: Planned,
    /// `None` if it built, else the first error.
    pub error: Option<String>,
    /// True when its tree had built before with the same inputs (see [`Record`]): not built again.
    pub cached: bool,
    /// The build's wall time.
    pub time: Duration,
}

/// The report: one line per commit (number, hash, runtime, result, time, subject), then the
/// totals.
pub fn report(built: &[Built], total: Duration) -> String {
    let mut s = String::new();
    let n = built.len();
    for (i, b) in built.iter().enumerate() {
        let result = match (&b.error, b.cached) {
            (Some(_), _) => "FAILED",
            (None, true) => "cached",
            (None, false) => "ok",
        };
        let _ = writeln!(
            s,
            "  {:>2}/{n} {} {:<4} {:<6} {:>6}  {}",
            i + 1,
            &b.planned.commit[..12.min(b.planned.commit.len())],
            b.planned.runtime.name(),
            result,
            util::fmt_duration(b.time),
            b.planned.subject
        );
        if let Some(e) = &b.error {
            let _ = writeln!(s, "         {e}");
        }
    }
    let failed = built.iter().filter(|b| b.error.is_some()).count();
    let cached = built.iter().filter(|b| b.cached).count();
    let _ = writeln!(
        s,
        "bisect: {} of {n} commit(s) built ({cached} unchanged since they last built), {failed} \
         failed, in {}",
        n - failed,
        util::fmt_duration(total)
    );
    s
}

/// What built in a build directory: one line `<tree> <runtime> <inputs>` per build that
/// succeeded, `<inputs>` a hash of the kunitconfig and the make options (the `--kconfig_add`
/// options follow from the tree and the runtime).
#[derive(Debug, Default)]
pub struct Record {
    lines: Vec<String>,
}

impl Record {
    /// The record file of `dir`.
    fn path(dir: &std::path::Path) -> std::path::PathBuf {
        dir.join(".rkasan-bisect-built")
    }

    /// Reads the record of `dir` (empty if there is none).
    pub fn load(dir: &std::path::Path) -> Record {
        let text = std::fs::read_to_string(Record::path(dir)).unwrap_or_default();
        Record {
            lines: text.lines().map(str::to_string).collect(),
        }
    }

    /// The key of a build of `tree` (a tree hash) with `runtime` and `inputs`.
    pub fn key(tree: &str, runtime: Runtime, inputs: &[&str]) -> String {
        // FNV-1a, 64 bits: a stable fingerprint of the inputs (not a defence against collisions
        // made on purpose).
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for part in inputs {
            for b in part.bytes().chain([0]) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        format!("{tree} {} {h:016x}", runtime.name())
    }

    /// True when `key` built before.
    pub fn has(&self, key: &str) -> bool {
        self.lines.iter().any(|l| l == key)
    }

    /// Adds `key` and writes the record to `dir`.
    pub fn add(&mut self, dir: &std::path::Path, key: String) -> Result<()> {
        if !self.has(&key) {
            self.lines.push(key);
        }
        util::write(&Record::path(dir), self.lines.join("\n") + "\n")
    }
}

/// Checks the branch out again when dropped (after the last commit, an error or a panic).
struct Restore<'a> {
    tree: &'a Tree,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.tree.git_out(&["checkout", "-q", BRANCH]) {
            eprintln!("    warning: cannot check out {BRANCH} again: {e}");
        }
    }
}

/// `cargo xtask bisect`: builds the generic config at every commit of the branch (after
/// `apply`); true if every commit built.
pub fn bisect(tree: &Tree, jobs: usize) -> Result<bool> {
    tree.ensure_clean()?;
    let base = tree.base()?;
    let planned = plan(tree, &base, BRANCH)?;
    let config = Config::Generic;
    let dir = build::dir(tree, config.build_name())?;
    let logs = util::out_dir().join("bisect");
    util::mkdir(&logs)?;
    eprintln!(
        "==> bisect: {} commit(s) of {BRANCH}, {config} config, build dir {}",
        planned.len(),
        dir.display()
    );
    let start = Instant::now();
    let fragment = util::read(&config.fragment())?;
    let make = crate::toolchain::make_options(Arch::Um)?;
    let mut record = Record::load(&dir);
    let mut built = Vec::new();
    {
        let _restore = Restore { tree };
        for (i, p) in planned.iter().enumerate() {
            let short = &p.commit[..12.min(p.commit.len())];
            let tree_hash = tree.git_out(&["rev-parse", &format!("{}^{{tree}}", p.commit)])?;
            // The `--kconfig_add` options follow from the tree and the runtime: the key need not
            // name them, and a cached commit is not checked out (a checkout would give the files
            // it changes new times, and the next build of any config would recompile them).
            let mut inputs: Vec<&str> = vec![&fragment];
            inputs.extend(make.iter().map(String::as_str));
            let key = Record::key(&tree_hash, p.runtime, &inputs);
            if record.has(&key) {
                eprintln!(
                    "==> bisect {}/{}: {short} {}: unchanged since it last built",
                    i + 1,
                    planned.len(),
                    p.subject
                );
                built.push(Built {
                    planned: p.clone(),
                    error: None,
                    cached: true,
                    time: Duration::ZERO,
                });
                continue;
            }
            tree.git_out(&["checkout", "-q", "--detach", &p.commit])?;
            let opts = p.runtime.kconfig(tree)?;
            let log = logs.join(format!("{:02}-{short}.log", i + 1));
            let step = Step::start(
                format!(
                    "bisect {}/{}: {short} {} ({} runtime)",
                    i + 1,
                    planned.len(),
                    p.subject,
                    p.runtime
                ),
                Some(&format!("log: {}", log.display())),
            );
            let t = Instant::now();
            // Only whether the commit compiles: the object gates hold for the whole series,
            // which the matrix builds, not for each step on the way.
            let result = Build {
                tree,
                arch: Arch::Um,
                fragment: &config.fragment(),
                kconfig_add: &opts,
                dir: &dir,
                log: &log,
                what: &format!("{short} {config}"),
            }
            .make(jobs);
            let time = t.elapsed();
            let error = match result {
                Ok(()) => {
                    step.done();
                    record.add(&dir, key)?;
                    None
                }
                Err(e) => {
                    drop(step);
                    Some(e.0)
                }
            };
            built.push(Built {
                planned: p.clone(),
                error,
                cached: false,
                time,
            });
        }
    }
    let total = start.elapsed();
    println!("\nbisect: {config} config at every commit of {BRANCH}");
    print!("{}", report(&built, total));
    Ok(built.iter().all(|b| b.error.is_none()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::Path;

    /// A scratch directory unique to this test process.
    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Commits `kconfig` as lib/Kconfig.kasan with `subject`.
    fn commit(dir: &Path, kconfig: &str, subject: &str) {
        fs::write(dir.join("lib/Kconfig.kasan"), kconfig).unwrap();
        fs::write(dir.join("f"), subject).unwrap();
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", subject]);
    }

    #[test]
    fn runtime_is_rust_from_the_commit_that_adds_kasan_rust() {
        let dir = scratch("bisect-plan");
        fs::create_dir_all(dir.join("lib")).unwrap();
        git(&dir, &["init", "-q", "-b", "master"]);
        commit(&dir, "config KASAN\n\tbool\n", "base");
        let base = git(&dir, &["rev-parse", "HEAD"]);
        git(&dir, &["checkout", "-q", "-b", BRANCH]);
        commit(&dir, "config KASAN\n\tbool\n", "a: core");
        // A help text that mentions the symbol does not define it.
        commit(
            &dir,
            "config KASAN\n\tbool\n\thelp\n\t  config KASAN_RUST later\n",
            "b: docs",
        );
        commit(
            &dir,
            "config KASAN\n\tbool\nconfig KASAN_RUST\n\tbool\n",
            "c: runtime",
        );
        commit(
            &dir,
            "config KASAN\n\tbool\nconfig KASAN_RUST\n\tbool\nconfig KASAN_RUST_X\n",
            "d: more",
        );
        let tree = Tree {
            path: dir.clone(),
            custom: true,
        };
        let p = plan(&tree, &base, BRANCH).unwrap();
        let got: Vec<(&str, Runtime)> = p.iter().map(|p| (p.subject.as_str(), p.runtime)).collect();
        assert_eq!(
            got,
            [
                ("a: core", Runtime::C),
                ("b: docs", Runtime::C),
                ("c: runtime", Runtime::Rust),
                ("d: more", Runtime::Rust),
            ]
        );
        assert_eq!(p[2].commit.len(), 40);

        // A commit that drops the option again is refused, naming the commit that added it.
        commit(&dir, "config KASAN\n\tbool\n", "e: lost");
        let err = plan(&tree, &base, BRANCH).unwrap_err().0;
        assert!(err.contains("`e: lost`"), "{err}");
        assert!(err.contains("`c: runtime` added"), "{err}");

        // No commit over the base.
        let err = plan(&tree, "HEAD", BRANCH).unwrap_err().0;
        assert!(err.contains("no commits"), "{err}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn restore_checks_the_branch_out_again() {
        let dir = scratch("bisect-restore");
        fs::create_dir_all(dir.join("lib")).unwrap();
        git(&dir, &["init", "-q", "-b", BRANCH]);
        commit(&dir, "x\n", "one");
        let first = git(&dir, &["rev-parse", "HEAD"]);
        commit(&dir, "y\n", "two");
        let tree = Tree {
            path: dir.clone(),
            custom: true,
        };
        {
            let _restore = Restore { tree: &tree };
            git(&dir, &["checkout", "-q", "--detach", &first]);
            assert_eq!(fs::read_to_string(dir.join("f")).unwrap(), "one");
        }
        assert_eq!(git(&dir, &["symbolic-ref", "--short", "HEAD"]), BRANCH);
        assert_eq!(fs::read_to_string(dir.join("f")).unwrap(), "two");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn report_lists_every_commit_and_the_total() {
        let b = |subject: &str, runtime, error: Option<&str>, secs| Built {
            planned: Planned {
                commit: format!("{:0<40}", subject.len()),
                subject: subject.to_string(),
                runtime,
            },
            error: error.map(str::to_string),
            cached: secs == 0,
            time: Duration::from_secs(secs),
        };
        let text = report(
            &[
                b("a: core", Runtime::C, None, 62),
                b(
                    "b: runtime",
                    Runtime::Rust,
                    Some("ld.lld: error: duplicate"),
                    30,
                ),
                b("c: tests", Runtime::Rust, None, 0),
            ],
            Duration::from_secs(95),
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[0].contains(" 1/3 ") && lines[0].contains(" c ") && lines[0].contains("ok"));
        assert!(lines[0].contains("1m02s") && lines[0].ends_with("a: core"));
        assert!(lines[1].contains("rust") && lines[1].contains("FAILED"));
        assert!(lines[2].contains("ld.lld: error: duplicate"));
        assert!(lines[3].contains(" 3/3 ") && lines[3].contains("cached"));
        assert_eq!(
            lines[4],
            "bisect: 2 of 3 commit(s) built (1 unchanged since they last built), 1 failed, in 1m35s"
        );
    }

    #[test]
    fn record_keys_every_input() {
        let dir = scratch("bisect-record");
        let key = |tree: &str, runtime, inputs: &[&str]| Record::key(tree, runtime, inputs);
        let k = key(
            "t1",
            Runtime::Rust,
            &["frag", "CONFIG_KASAN_RUST=y", "LLVM=1"],
        );
        assert!(k.starts_with("t1 rust "), "{k}");
        // Each input is part of the key, and so are the boundaries between them.
        for other in [
            key(
                "t2",
                Runtime::Rust,
                &["frag", "CONFIG_KASAN_RUST=y", "LLVM=1"],
            ),
            key("t1", Runtime::C, &["frag", "CONFIG_KASAN_RUST=y", "LLVM=1"]),
            key(
                "t1",
                Runtime::Rust,
                &["frag2", "CONFIG_KASAN_RUST=y", "LLVM=1"],
            ),
            key("t1", Runtime::Rust, &["frag", "CONFIG_KASAN_RUST=y"]),
            key(
                "t1",
                Runtime::Rust,
                &["fragC", "ONFIG_KASAN_RUST=y", "LLVM=1"],
            ),
        ] {
            assert_ne!(k, other);
        }
        let mut r = Record::load(&dir);
        assert!(!r.has(&k));
        r.add(&dir, k.clone()).unwrap();
        r.add(&dir, k.clone()).unwrap();
        let again = Record::load(&dir);
        assert!(again.has(&k), "the record survives a reload");
        assert_eq!(again.lines.len(), 1, "a key is recorded once");
        assert!(!again.has(&key("t1", Runtime::C, &["frag"])));
        let _ = fs::remove_dir_all(&dir);
    }
}
