// SPDX-License-Identifier: GPL-2.0

//! The rkasan lab: `cargo xtask` gets a Linux 7.2 tree, puts rkasan into it, builds UML and arm64
//! (QEMU) kernels with kunit.py and runs the KASAN KUnit suites with the C and the Rust runtime.
//!
//! See `cargo xtask --help` and the repository's README.

use std::process::{Command, ExitCode};

use xtask::cli::{self, Cli, Cmd};
use xtask::tree::{self, Tree};
use xtask::util::{self, Result, Step};
use xtask::{bisect, e2e, kunit, matrix, series, setup};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cli = match Cli::parse(&args) {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("error: {e}\n(see `cargo xtask --help`)");
            return ExitCode::from(2);
        }
    };
    util::exit_code(run(&cli, &args))
}

/// Runs the command; `Ok(false)` is a completed run with a failing verdict.
fn run(cli: &Cli, args: &[String]) -> Result<bool> {
    let tree = Tree::resolve(cli.tree.as_deref())?;
    let jobs = cli.jobs_or_cpus();
    // Everything but help, export (read-only), ci's cargo stages and bench (whose own binary
    // takes the lock) changes the cache, the tree or the build dirs.
    let _lock = match cli.cmd {
        Cmd::Help | Cmd::Export | Cmd::Ci | Cmd::Bench => None,
        _ => Some(util::lock_lab()?),
    };
    match cli.cmd {
        Cmd::Help => println!("{}", cli::USAGE),
        Cmd::Setup => {
            // A tree the user named must be a 7.2 tree; the lab's own may not exist yet.
            if tree.custom || tree.exists() {
                tree.version()?;
            }
            setup::setup(tree.exists().then_some(&tree))?;
        }
        Cmd::Source => tree::source(&tree)?,
        Cmd::Apply => series::apply(&tree)?,
        Cmd::Export => series::export(&tree)?,
        Cmd::Kunit => {
            if !cli.no_apply {
                series::prepare(&tree)?;
            }
            let outcome = kunit::run(
                &tree,
                cli.config,
                cli.runtime,
                cli.off,
                cli.filter.as_deref(),
                jobs,
            )?;
            println!(
                "\nkunit: {} config, {} runtime{} ({})",
                cli.config,
                cli.runtime,
                cli.off.map(|o| format!(", {o} off")).unwrap_or_default(),
                tree.path.display()
            );
            print!("{}", outcome.results.table());
            for p in &outcome.problems {
                println!("error: incomplete run: {p}");
            }
            println!(
                "results: {} (console.log, results.json, build.log, run.log)",
                outcome.dir.display()
            );
            return Ok(outcome.problems.is_empty());
        }
        Cmd::Matrix => {
            if !cli.no_apply {
                series::prepare(&tree)?;
            }
            return matrix::matrix(
                &tree,
                cli.filter.as_deref(),
                cli.matrix_config,
                cli.all,
                jobs,
            );
        }
        Cmd::E2e => {
            if !cli.no_apply {
                series::prepare(&tree)?;
            }
            return e2e::e2e(&tree, cli.all, jobs);
        }
        Cmd::Bench => return bench(args),
        Cmd::Bisect => {
            if !cli.no_apply {
                series::prepare(&tree)?;
            }
            return bisect::bisect(&tree, jobs);
        }
        Cmd::Ci => return ci(&tree, jobs),
    }
    Ok(true)
}

/// `cargo xtask bench`: the bench and its chart dependency are a crate of their own (`bench/`,
/// which `ci` does not build); its binary parses the same command line and takes the lab lock.
fn bench(args: &[String]) -> Result<bool> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "run",
            "--quiet",
            "--release",
            "--package",
            "rkasan-bench",
            "--",
        ])
        .args(args)
        .current_dir(util::workspace_root())
        .status()?;
    Ok(status.success())
}

/// `cargo xtask ci`: the repository's test command.
fn ci(tree: &Tree, jobs: usize) -> Result<bool> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // The bench crate (bench/, `cargo xtask bench`) is left out: it builds the chart library,
    // and no verdict of ci rests on it. fmt reads it without compiling it.
    let stages: [(&str, &[&str]); 3] = [
        ("cargo fmt --all --check", &["fmt", "--all", "--check"]),
        (
            "cargo clippy --workspace --exclude rkasan-bench --all-targets -- -D warnings",
            &[
                "clippy",
                "--workspace",
                "--exclude",
                "rkasan-bench",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
        (
            "cargo test --workspace --exclude rkasan-bench",
            &["test", "--workspace", "--exclude", "rkasan-bench"],
        ),
    ];
    for (name, args) in stages {
        let step = Step::start(name, None);
        let status = Command::new(&cargo)
            .args(args)
            .current_dir(util::workspace_root())
            .stdin(std::process::Stdio::null())
            .status()?;
        if !status.success() {
            return Err(util::Error(format!("ci: `{name}` failed ({status})")));
        }
        step.done();
    }
    // The boot-parameter fuzzer against its C reference model, 30 s (no kernel needed).
    let fuzz = "rkasan/fuzz/run.sh 30";
    let step = Step::start(fuzz, None);
    let status = Command::new("sh")
        .args(["rkasan/fuzz/run.sh", "30"])
        .env("CARGO", &cargo)
        .current_dir(util::workspace_root())
        .stdin(std::process::Stdio::null())
        .status()?;
    if !status.success() {
        return Err(util::Error(format!("ci: `{fuzz}` failed ({status})")));
    }
    step.done();
    let _lock = util::lock_lab()?;
    series::prepare(tree)?;
    // Every commit of the series builds; then the matrix and e2e test its last.
    let bisect_ok = bisect::bisect(tree, jobs)?;
    if !bisect_ok {
        println!("ci: a commit of the series does not build (see above)");
    }
    let matrix_ok = matrix::matrix(tree, None, None, false, jobs)?;
    if !matrix_ok {
        println!("ci: the matrix found regressions or failed runs (see above)");
    }
    let e2e_ok = e2e::e2e(tree, false, jobs)?;
    if !e2e_ok {
        println!("ci: e2e found a wrong verdict or a C-vs-Rust difference (see above)");
    }
    let failed = usize::from(!bisect_ok) + usize::from(!matrix_ok) + usize::from(!e2e_ok);
    if failed == 0 {
        println!("ci: fmt, clippy, test, fuzz, bisect, matrix and e2e all passed");
    }
    // fmt, clippy, test and fuzz passed: they stop ci when they fail.
    println!("ci: {} passed, {failed} failed", 7 - failed);
    Ok(failed == 0)
}
