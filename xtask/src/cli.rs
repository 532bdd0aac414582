// SPDX-License-Identifier: GPL-2.0

//! Command-line parsing (by hand: a handful of subcommands and options).

use std::path::PathBuf;

use crate::config::{Config, Instrumentation, Runtime};

/// Usage text.
pub const USAGE: &str = "\
usage: cargo xtask [COMMAND] [OPTIONS]

With no command: setup, source, apply, then build the generic config with the Rust runtime and
run its KUnit suites (the same as `cargo xtask kunit`).

commands:
  setup     install the Debian packages, QEMU >= 10 (arm64, x86_64) and bindgen the kernel
            builds need (root for apt)
  source    get Debian's linux-source-7.2 into the cache as a git repository (or adopt --tree)
  apply     put linux/series on a fresh branch `rkasan` of the tree and check it out
  export    write branch `rkasan` as a format-patch series into target/rkasan/series/
  kunit     setup, source, apply, then build and run one config with one runtime
  matrix    setup, source, apply, then the configs `ci` runs (with --all: every config) with
            both runtimes; C-vs-Rust table
  e2e       setup, source, apply, then an x86_64 kernel (with --all: also a UML kernel)
            with modules per runtime: kasan_test.ko from an initramfs, and boot-parameter
            scenarios compared between C and Rust
  bench     setup, source, apply, then KASAN off / C runtime / Rust runtime kernels, run
            interleaved: ns per op of the rkasan_bench suite, table and chart (the crate
            bench/, built on first use)
  bisect    setup, source, apply, then build (kunit.py build, no run) the generic config at
            every commit of branch `rkasan`, incrementally: C runtime before the commit that
            adds CONFIG_KASAN_RUST, Rust from it on; fails if any commit does not build
  ci        cargo fmt --check, clippy, cargo test, the params fuzzer (30 s), then bisect,
            matrix and e2e

options:
  --tree PATH          use this Linux 7.2 tree instead of the cache's (also: RKASAN_TREE)
  --config NAME        kunit: generic (default), full, static (UML), x86_64, x86_64-outline
                       (QEMU: KVM where a probe boot works, else TCG), arm64-generic, sw-tags,
                       hw-tags (arm64 under QEMU), hw-tags-async, hw-tags-off (the hw-tags
                       kernel booted with kasan.mode=async or kasan=off, running the suite
                       rkasan); matrix:
                       only the runs of that config's build dir (with its extra boots and
                       component-off builds)
  --runtime NAME       kunit: rust (default) or c
  --off OPTION         kunit: a Rust build with this KASAN_RUST_* component of the config's
                       KASAN mode off (that part stays C), e.g. --off KASAN_RUST_SHADOW
  --all                matrix, e2e: also what `ci` leaves out (full, arm64-generic, the
                       tag-based configs' component-off builds; UML's e2e kernel), which a
                       fresh machine could not build within CI's 90 minutes
  --filter GLOB        kunit, matrix: run only the suites/cases matching GLOB (kunit.py's
                       filter_glob, e.g. kasan or kasan.kmalloc*)
  --no-apply           kunit, matrix, e2e, bench, bisect: build the tree as it is (skip setup,
                       source and apply)
  --mode MODE          bench: outline (default) or inline instrumentation
  --rounds N           bench: interleaved rounds (default 11)
  -j, --jobs N         parallel make jobs (default: the number of CPUs)
  -h, --help           this help

environment: RKASAN_CACHE (default ~/.cache/rkasan), RKASAN_TREE.";

/// A subcommand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmd {
    /// `setup`.
    Setup,
    /// `source`.
    Source,
    /// `apply`.
    Apply,
    /// `export`.
    Export,
    /// `kunit` (also the default).
    Kunit,
    /// `matrix`.
    Matrix,
    /// `e2e`.
    E2e,
    /// `bench`.
    Bench,
    /// `bisect`.
    Bisect,
    /// `ci`.
    Ci,
    /// `help`, `-h`, `--help`.
    Help,
}

/// The parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cli {
    /// The subcommand.
    pub cmd: Cmd,
    /// `--tree`.
    pub tree: Option<PathBuf>,
    /// `--config`.
    pub config: Config,
    /// `matrix --config`: only the runs of this config's build directory.
    pub matrix_config: Option<Config>,
    /// `--runtime`.
    pub runtime: Runtime,
    /// `--off`: the `KASAN_RUST_*` component a Rust build turns off.
    pub off: Option<&'static str>,
    /// `--filter`.
    pub filter: Option<String>,
    /// `--no-apply`.
    pub no_apply: bool,
    /// `--jobs`.
    pub jobs: Option<usize>,
    /// `--mode` (bench).
    pub mode: Instrumentation,
    /// `--rounds` (bench).
    pub rounds: usize,
    /// `matrix --all`: every config, not only those `ci` runs ([`Config::ci_tier`]).
    pub all: bool,
}

impl Cli {
    /// `--jobs`, or the number of CPUs.
    pub fn jobs_or_cpus(&self) -> usize {
        self.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
    }

    /// Parses the arguments after the program name.
    pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<Cli, String> {
        let mut cli = Cli {
            cmd: Cmd::Kunit,
            tree: None,
            config: Config::Generic,
            matrix_config: None,
            runtime: Runtime::Rust,
            off: None,
            filter: None,
            no_apply: false,
            jobs: None,
            mode: Instrumentation::Outline,
            rounds: 11,
            all: false,
        };
        let mut cmd: Option<Cmd> = None;
        let mut config_given = false;
        let mut runtime_given = false;
        let mut bench_given = false;
        let mut i = 0;
        while i < args.len() {
            let arg = args[i].as_ref();
            i += 1;
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
                _ => (arg, None),
            };
            let mut value = |what: &str| -> Result<String, String> {
                if let Some(v) = inline.clone() {
                    return Ok(v);
                }
                match args.get(i) {
                    Some(v) if !v.as_ref().starts_with('-') => {
                        i += 1;
                        Ok(v.as_ref().to_string())
                    }
                    _ => Err(format!("{name} needs a value ({what})")),
                }
            };
            match name {
                "-h" | "--help" | "help" => cmd = Some(Cmd::Help),
                "--tree" => cli.tree = Some(PathBuf::from(value("a kernel tree")?)),
                "--config" => {
                    let v = value("a config name")?;
                    cli.config = Config::parse(&v).ok_or_else(|| {
                        format!("unknown config `{v}`: expected {}", Config::names())
                    })?;
                    config_given = true;
                }
                "--runtime" => {
                    let v = value("c or rust")?;
                    cli.runtime = Runtime::parse(&v)
                        .ok_or_else(|| format!("unknown runtime `{v}`: expected c or rust"))?;
                    runtime_given = true;
                }
                "--off" => {
                    let v = value("a KASAN_RUST_* option")?;
                    let name = v.strip_prefix("CONFIG_").unwrap_or(&v);
                    cli.off = Some(
                        Config::ALL
                            .iter()
                            .flat_map(|c| c.components())
                            .find(|c| **c == name)
                            .copied()
                            .ok_or_else(|| format!("--off: `{v}` is no KASAN_RUST_* component"))?,
                    );
                }
                "--mode" => {
                    let v = value("outline or inline")?;
                    cli.mode = Instrumentation::parse(&v)
                        .ok_or_else(|| format!("unknown mode `{v}`: expected outline or inline"))?;
                    bench_given = true;
                }
                "--rounds" => {
                    let v = value("a number")?;
                    cli.rounds = v
                        .parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| format!("--rounds: `{v}` is not a positive number"))?;
                    bench_given = true;
                }
                "--filter" => cli.filter = Some(value("a glob such as kasan.kmalloc*")?),
                "--no-apply" => cli.no_apply = true,
                "--all" => cli.all = true,
                "-j" | "--jobs" => {
                    let v = value("a number")?;
                    cli.jobs = Some(
                        v.parse()
                            .ok()
                            .filter(|n| *n > 0)
                            .ok_or_else(|| format!("--jobs: `{v}` is not a positive number"))?,
                    );
                }
                _ if name.starts_with('-') => return Err(format!("unknown option `{arg}`")),
                _ if cmd.is_none() => {
                    cmd = Some(match name {
                        "setup" => Cmd::Setup,
                        "source" => Cmd::Source,
                        "apply" => Cmd::Apply,
                        "export" => Cmd::Export,
                        "kunit" => Cmd::Kunit,
                        "matrix" => Cmd::Matrix,
                        "e2e" => Cmd::E2e,
                        "bench" => Cmd::Bench,
                        "bisect" => Cmd::Bisect,
                        "ci" => Cmd::Ci,
                        _ => return Err(format!("unknown command `{arg}`")),
                    })
                }
                _ => return Err(format!("unexpected argument `{arg}`")),
            }
        }
        cli.cmd = cmd.unwrap_or(Cmd::Kunit);
        if cli.cmd != Cmd::Kunit && cli.cmd != Cmd::Help && runtime_given {
            return Err("--runtime only applies to `kunit`".to_string());
        }
        if !matches!(cli.cmd, Cmd::Kunit | Cmd::Matrix | Cmd::Help) && config_given {
            return Err("--config only applies to `kunit` and `matrix`".to_string());
        }
        cli.matrix_config = (cli.cmd == Cmd::Matrix && config_given).then_some(cli.config);
        if let Some(off) = cli.off {
            if cli.cmd != Cmd::Kunit {
                return Err("--off only applies to `kunit`".to_string());
            }
            if cli.runtime != Runtime::Rust {
                return Err(format!(
                    "--off {off}: only a Rust build has components to turn off"
                ));
            }
            if !cli.config.components().contains(&off) {
                return Err(format!(
                    "--off {off}: not a component of the {} config's KASAN mode ({})",
                    cli.config,
                    cli.config.components().join(", ")
                ));
            }
        }
        if !matches!(cli.cmd, Cmd::Matrix | Cmd::E2e | Cmd::Help) && cli.all {
            return Err("--all only applies to `matrix` and `e2e`".to_string());
        }
        if !matches!(cli.cmd, Cmd::Kunit | Cmd::Matrix | Cmd::Help) && cli.filter.is_some() {
            return Err("--filter only applies to `kunit` and `matrix`".to_string());
        }
        if !matches!(
            cli.cmd,
            Cmd::Kunit | Cmd::Matrix | Cmd::E2e | Cmd::Bench | Cmd::Bisect | Cmd::Help
        ) && cli.no_apply
        {
            return Err(
                "--no-apply only applies to `kunit`, `matrix`, `e2e` and `bench`".to_string(),
            );
        }
        if !matches!(cli.cmd, Cmd::Bench | Cmd::Help) && bench_given {
            return Err("--mode and --rounds only apply to `bench`".to_string());
        }
        Ok(cli)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let cli = Cli::parse::<&str>(&[]).unwrap();
        assert_eq!(cli.cmd, Cmd::Kunit);
        assert_eq!(cli.config, Config::Generic);
        assert_eq!(cli.runtime, Runtime::Rust);
        assert_eq!(cli.tree, None);
        assert_eq!(cli.filter, None);
        assert!(!cli.no_apply);
    }

    #[test]
    fn kunit_options() {
        let cli = Cli::parse(&[
            "kunit",
            "--config",
            "static",
            "--runtime=c",
            "--filter",
            "kasan.kmalloc*",
            "--tree=/src/linux",
            "-j",
            "3",
            "--no-apply",
        ])
        .unwrap();
        assert_eq!(cli.cmd, Cmd::Kunit);
        assert_eq!(cli.config, Config::Static);
        assert_eq!(cli.runtime, Runtime::C);
        assert_eq!(cli.filter.as_deref(), Some("kasan.kmalloc*"));
        assert_eq!(cli.tree, Some(PathBuf::from("/src/linux")));
        assert_eq!(cli.jobs, Some(3));
        assert!(cli.no_apply);
        // Options before the command work too.
        let cli = Cli::parse(&["--tree", "t", "source"]).unwrap();
        assert_eq!(cli.cmd, Cmd::Source);
        assert_eq!(cli.tree, Some(PathBuf::from("t")));
    }

    #[test]
    fn commands() {
        for (name, cmd) in [
            ("setup", Cmd::Setup),
            ("source", Cmd::Source),
            ("apply", Cmd::Apply),
            ("export", Cmd::Export),
            ("kunit", Cmd::Kunit),
            ("matrix", Cmd::Matrix),
            ("e2e", Cmd::E2e),
            ("bench", Cmd::Bench),
            ("bisect", Cmd::Bisect),
            ("ci", Cmd::Ci),
            ("help", Cmd::Help),
            ("--help", Cmd::Help),
        ] {
            assert_eq!(Cli::parse(&[name]).unwrap().cmd, cmd);
        }
    }

    #[test]
    fn bad_input() {
        let err = |args: &[&str]| Cli::parse(args).unwrap_err();
        assert_eq!(
            err(&["kunit", "--config", "sw_tags"]),
            "unknown config `sw_tags`: expected generic, full, static, x86_64, x86_64-outline, \
             arm64-generic, sw-tags, hw-tags, hw-tags-async or hw-tags-off"
        );
        assert_eq!(
            err(&["--runtime=go"]),
            "unknown runtime `go`: expected c or rust"
        );
        assert_eq!(err(&["frobnicate"]), "unknown command `frobnicate`");
        assert_eq!(err(&["kunit", "--verbose"]), "unknown option `--verbose`");
        assert_eq!(err(&["kunit", "matrix"]), "unexpected argument `matrix`");
        assert!(err(&["kunit", "--config"]).contains("needs a value"));
        assert!(err(&["kunit", "--config", "--runtime", "c"]).contains("needs a value"));
        assert!(err(&["-j", "0"]).contains("not a positive number"));
        assert!(err(&["matrix", "--runtime", "c"]).contains("only applies to `kunit`"));
        assert!(err(&["e2e", "--config", "full"]).contains("only applies to `kunit` and `matrix`"));
        let m = Cli::parse(&["matrix", "--config", "hw-tags-off"]).unwrap();
        assert_eq!(m.matrix_config, Some(Config::HwTagsOff));
        assert_eq!(Cli::parse(&["matrix"]).unwrap().matrix_config, None);
        assert_eq!(
            Cli::parse(&["kunit", "--config", "full"])
                .unwrap()
                .matrix_config,
            None
        );
        assert!(err(&["apply", "--filter", "x"]).contains("only applies"));
        assert!(err(&["e2e", "--filter", "x"]).contains("only applies"));
        assert!(err(&["apply", "--no-apply"]).contains("only applies"));
        assert!(Cli::parse(&["e2e", "--no-apply"]).unwrap().no_apply);
        assert!(Cli::parse(&["e2e", "--all"]).unwrap().all);
        assert!(Cli::parse(&["matrix", "--all"]).unwrap().all);
        assert!(!Cli::parse(&["matrix"]).unwrap().all);
        assert!(err(&["kunit", "--all"]).contains("only applies to `matrix` and `e2e`"));
        assert!(err(&["ci", "--all"]).contains("only applies"));
        assert!(Cli::parse(&["bisect", "--no-apply"]).unwrap().no_apply);
        assert!(err(&["bench", "--mode", "hybrid"]).contains("unknown mode"));
        assert!(err(&["bench", "--rounds", "0"]).contains("not a positive number"));
        assert!(err(&["kunit", "--mode", "inline"]).contains("only apply to `bench`"));
    }

    #[test]
    fn off_option() {
        let cli = Cli::parse(&["kunit", "--off", "KASAN_RUST_SHADOW"]).unwrap();
        assert_eq!(cli.off, Some("KASAN_RUST_SHADOW"));
        assert_eq!(cli.config, Config::Generic);
        let cli = Cli::parse(&[
            "kunit",
            "--config=sw-tags",
            "--off=CONFIG_KASAN_RUST_SW_TAGS",
        ]);
        assert_eq!(cli.unwrap().off, Some("KASAN_RUST_SW_TAGS"));
        assert_eq!(Cli::parse::<&str>(&[]).unwrap().off, None);
        let err = |args: &[&str]| Cli::parse(args).unwrap_err();
        assert!(err(&["kunit", "--off", "KASAN_RUST_BENCH"]).contains("no KASAN_RUST_*"));
        assert!(err(&["kunit", "--off", "KASAN_RUST_SW_TAGS"])
            .contains("not a component of the generic"));
        assert!(err(&[
            "kunit",
            "--off=KASAN_RUST_TAGS",
            "--config=hw-tags",
            "--runtime=c"
        ])
        .contains("only a Rust build"));
        assert!(err(&["matrix", "--off", "KASAN_RUST_SHADOW"]).contains("only applies to `kunit`"));
    }

    #[test]
    fn every_config_is_in_the_help() {
        for config in Config::ALL {
            assert!(USAGE.contains(config.name()), "{config}");
            let cli = Cli::parse(&["kunit", "--config", config.name()]).unwrap();
            assert_eq!(cli.config, config);
        }
    }

    #[test]
    fn bench_options() {
        let cli = Cli::parse(&["bench"]).unwrap();
        assert_eq!(
            (cli.cmd, cli.mode, cli.rounds),
            (Cmd::Bench, Instrumentation::Outline, 11)
        );
        let cli = Cli::parse(&["bench", "--mode=inline", "--rounds", "7", "--no-apply"]).unwrap();
        assert_eq!(
            (cli.mode, cli.rounds, cli.no_apply),
            (Instrumentation::Inline, 7, true)
        );
    }
}
