// SPDX-License-Identifier: GPL-2.0

//! `cargo xtask bench`, which runs this binary with its own arguments: the lab's command line
//! (`cargo xtask --help`), of which this reads the `bench` command's options.

use std::process::ExitCode;

use xtask::cli::{Cli, Cmd};
use xtask::series;
use xtask::tree::Tree;
use xtask::util::{self, Result};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cli = match Cli::parse(&args) {
        Ok(cli) if cli.cmd == Cmd::Bench => cli,
        Ok(_) => {
            eprintln!("error: this is the bench: run it as `cargo xtask bench [OPTIONS]`");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("error: {e}\n(see `cargo xtask --help`)");
            return ExitCode::from(2);
        }
    };
    util::exit_code(run(&cli))
}

/// The bench; `Ok(false)` is a completed run with a failing verdict.
fn run(cli: &Cli) -> Result<bool> {
    let tree = Tree::resolve(cli.tree.as_deref())?;
    let jobs = cli.jobs_or_cpus();
    let _lock = util::lock_lab()?;
    if !cli.no_apply {
        series::prepare(&tree)?;
    }
    rkasan_bench::bench::bench(&tree, cli.mode, cli.rounds, jobs)
}
