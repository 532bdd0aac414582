// SPDX-License-Identifier: GPL-2.0

//! `cargo xtask kunit`: builds a kernel with kunit.py for one configuration and runtime (UML, or
//! arm64 run under QEMU for the tag-based KASAN modes), runs its KUnit suites, saves the console
//! and results, and prints the result table.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::results::{parse_ktap, Results, Status};
use crate::setup;
use crate::tree::Tree;
use crate::util::{self, bail, Context, Result, Step};

/// The architecture a configuration's kernel is built for (kunit.py's `--arch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// User-mode Linux: the kernel runs as a host process, no emulator needed.
    Um,
    /// arm64 under QEMU (`qemu-system-aarch64`): the tag-based KASAN modes exist only there.
    Arm64,
    /// x86_64 under QEMU (`qemu-system-x86_64`), booted by the lab itself ([`boot_for_kunit`]).
    X86_64,
}

impl Arch {
    /// kunit.py's (and the kernel's) name for it.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Um => "um",
            Arch::Arm64 => "arm64",
            Arch::X86_64 => "x86_64",
        }
    }
}

/// The `rkasan` case that compares KASAN's state after boot with what the command line asks.
pub const BOOT_STATE_CASE: &str = "rkasan.boot_state_matches_command_line";

/// Whether `ci` runs a config ([`Config::ci_tier`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CiTier {
    /// Always: its cold build fits a fresh machine's CI run.
    Always,
    /// When its build dir already holds a kernel built from this tree ([`is_built`]): then it
    /// costs incremental builds only; otherwise `ci` lists it as not run.
    WhenBuilt,
    /// Only with `matrix --all`.
    AllOnly,
}

/// A kunitconfig of `linux/kunitconfigs/`, or an extra boot of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Config {
    /// Generic KASAN with its defaults (inline checks).
    Generic,
    /// Generic KASAN, outline checks, vmalloc, extra info, SMP with 2 CPUs.
    Full,
    /// `full` without SMP, plus `STATIC_LINK` (UML defers enabling KASAN).
    Static,
    /// Generic KASAN on x86_64 under QEMU as syzbot runs it: inline checks, stack and vmalloc
    /// instrumentation, SMP with 2 vCPUs.
    X86_64,
    /// Generic KASAN on x86_64 under QEMU with outline checks (every access calls the runtime),
    /// vmalloc support, extra info, and SMP with 4 vCPUs, which CPU hotplug needs to take
    /// CPUs offline while others run.
    X86_64Outline,
    /// Generic KASAN on arm64 under QEMU (syzbot's upstream-arm64-kasan): inline checks, SMP
    /// with 2 vCPUs.
    Arm64Generic,
    /// Software tag-based KASAN on arm64 (QEMU).
    SwTags,
    /// Hardware tag-based KASAN on arm64 (QEMU with MTE).
    HwTags,
    /// The `hw-tags` kernel booted with `kasan.mode=async`, running only the suite `rkasan`.
    HwTagsAsync,
    /// The `hw-tags` kernel booted with `kasan=off`, running only the suite `rkasan`.
    HwTagsOff,
}

impl Config {
    /// Every configuration, in matrix order (an extra boot after the config it boots).
    pub const ALL: [Config; 10] = [
        Config::Generic,
        Config::Full,
        Config::Static,
        Config::X86_64,
        Config::X86_64Outline,
        Config::Arm64Generic,
        Config::SwTags,
        Config::HwTags,
        Config::HwTagsAsync,
        Config::HwTagsOff,
    ];

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Config::Generic => "generic",
            Config::Full => "full",
            Config::Static => "static",
            Config::X86_64 => "x86_64",
            Config::X86_64Outline => "x86_64-outline",
            Config::Arm64Generic => "arm64-generic",
            Config::SwTags => "sw-tags",
            Config::HwTags => "hw-tags",
            Config::HwTagsAsync => "hw-tags-async",
            Config::HwTagsOff => "hw-tags-off",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Config> {
        Config::ALL.into_iter().find(|c| c.name() == s)
    }

    /// The names of every configuration, for help and error texts: `generic, full, ... or
    /// hw-tags-off`.
    pub fn names() -> String {
        let names: Vec<&str> = Config::ALL.iter().map(|c| c.name()).collect();
        let (last, rest) = names.split_last().expect("Config::ALL is not empty");
        format!("{} or {last}", rest.join(", "))
    }

    /// The configuration whose kernel it boots: itself, except for the extra boots of
    /// `hw-tags`, which differ only in kernel arguments and so need no build of their own.
    pub fn base(self) -> Config {
        match self {
            Config::HwTagsAsync | Config::HwTagsOff => Config::HwTags,
            c => c,
        }
    }

    /// The name of its build directory (`$CACHE/build/<name>`) and kunitconfig: its base's.
    pub fn build_name(self) -> &'static str {
        self.base().name()
    }

    /// The architecture it builds for: the tag-based modes exist only on arm64.
    pub fn arch(self) -> Arch {
        match self {
            Config::Generic | Config::Full | Config::Static => Arch::Um,
            Config::X86_64 | Config::X86_64Outline => Arch::X86_64,
            Config::Arm64Generic
            | Config::SwTags
            | Config::HwTags
            | Config::HwTagsAsync
            | Config::HwTagsOff => Arch::Arm64,
        }
    }

    /// Kernel arguments its boots need: UML runs SMP only with seccomp userspace and an explicit
    /// CPU count ("SMP is not supported with PTRACE userspace"), so `full` asks for both CPUs;
    /// the extra boots of `hw-tags` are those arguments.
    pub fn kernel_args(self) -> &'static [&'static str] {
        match self {
            Config::Full => &["seccomp=on", "ncpus=2"],
            Config::HwTagsAsync => &["kasan.mode=async"],
            Config::HwTagsOff => &["kasan=off"],
            Config::Generic
            | Config::Static
            | Config::X86_64
            | Config::X86_64Outline
            | Config::Arm64Generic
            | Config::SwTags
            | Config::HwTags => &[],
        }
    }

    /// Extra QEMU arguments of an arm64 boot (kunit.py's `--qemu_args`, split like a shell
    /// would): hardware tags need MTE, which QEMU's `virt` machine only emulates when asked
    /// (kunit.py's arm64 config already passes `-machine virt`; QEMU merges the repeated
    /// `-machine` options), and kunit.py's arm64 config boots one CPU unless `-smp` asks for
    /// [`Config::cpus`]. The lab boots x86_64 itself ([`x86_64_qemu_args`]).
    pub fn qemu_args(self) -> Option<String> {
        if self.arch() != Arch::Arm64 {
            return None;
        }
        let mut args = Vec::new();
        if matches!(self.base(), Config::HwTags) {
            args.push("-machine virt,mte=on".to_string());
        }
        if self.cpus() > 1 {
            args.push(format!("-smp {}", self.cpus()));
        }
        (!args.is_empty()).then(|| args.join(" "))
    }

    /// The filter glob its runs use when `--filter` gives none: the extra boots check how the
    /// Rust runtime behaves under their boot arguments, which its own suite `rkasan` covers
    /// (rerunning the whole `kasan` suite would add minutes of emulation per boot). With
    /// `kasan=off` the kernel hands out no tags, so only the case about the boot's state
    /// applies there; the tag cases need KASAN on.
    pub fn default_filter(self) -> Option<&'static str> {
        match self {
            Config::HwTagsAsync => Some("rkasan"),
            Config::HwTagsOff => Some(BOOT_STATE_CASE),
            _ => None,
        }
    }

    /// True for the tag-based KASAN modes (and their extra boots), whose random memory tags
    /// can collide.
    pub fn tag_based(self) -> bool {
        matches!(self.base(), Config::SwTags | Config::HwTags)
    }

    /// True when, without `--filter`, it only runs suites of the Rust runtime: the C runtime
    /// has nothing to run there, so the matrix shows its C column as n/a.
    pub fn rust_only(self) -> bool {
        self.default_filter().is_some()
    }

    /// The `.config` lines its build must end with: kunit.py only warns when kconfig drops an
    /// option of the fragment (an unmet dependency), and a tag-based config without its mode,
    /// or without Rust, would test something else.
    pub fn required_options(self) -> &'static [&'static str] {
        match self.base() {
            Config::SwTags => &["CONFIG_KASAN_SW_TAGS=y", "CONFIG_RUST=y"],
            Config::HwTags => &[
                "CONFIG_KASAN_HW_TAGS=y",
                "CONFIG_ARM64_MTE=y",
                "CONFIG_RUST=y",
            ],
            // The hotplug case of rkasan_quarantine skips without it.
            Config::X86_64 | Config::X86_64Outline | Config::Arm64Generic => &[
                "CONFIG_KASAN_GENERIC=y",
                "CONFIG_HOTPLUG_CPU=y",
                "CONFIG_RUST=y",
            ],
            _ => &["CONFIG_KASAN_GENERIC=y", "CONFIG_RUST=y"],
        }
    }

    /// The `KASAN_RUST_*` components of its KASAN mode: each replaces one C file of the runtime
    /// (see lib/Kconfig.kasan), and a Rust build must have each set as asked (`=y` unless the
    /// build turns it off), else that part silently stays C. The order is the order of the
    /// component-off builds ([`Config::off_builds`]).
    pub fn components(self) -> &'static [&'static str] {
        match self.base() {
            Config::SwTags => SW_TAGS_COMPONENTS,
            Config::HwTags => HW_TAGS_COMPONENTS,
            _ => GENERIC_COMPONENTS,
        }
    }

    /// Every `KASAN_RUST_*` option a Rust build of it must set `=y` (unless turned off): its
    /// [`Config::components`] and the Rust runtime's own KUnit suites.
    pub fn rust_options(self) -> Vec<&'static str> {
        let mut opts = self.components().to_vec();
        opts.push(KUNIT_TEST_OPTION);
        opts
    }

    /// How `matrix` without `--all`, and so `ci`, treats it (see [`CiTier`];
    /// [`Config::ci_off_builds`] says whether its component-off builds run too). Extra boots
    /// follow their base config.
    ///
    /// A fresh machine builds every build dir from nothing, and cold builds dominate: measured
    /// on this 2-core machine (cold `ci` of 10b5f2c), 12 minutes for a UML config (the first
    /// bisect commit's, in `generic`'s dir, 14.5 with other load), 20 for `x86_64`, about as
    /// long for each arm64 config. Everything would take about 2.5 hours, and CI allows 90
    /// minutes. So `ci` always runs what fits cold with a margin, one config for each thing the
    /// runtime claims on Generic KASAN: UML inline (`generic`, with its component-off builds,
    /// cheap on UML, and the build dir bisect uses), the deferred enabling of `STATIC_LINK`
    /// (`static`), and Generic where its users run it (`x86_64`, syzbot's shape, which e2e's
    /// kernel shares). `x86_64-outline` (every access through the runtime, CPU hotplug on 4
    /// vCPUs) and the tag-based configs with their extra boots run when their build dir already
    /// holds a kernel of this tree (any earlier `ci` or `matrix` there built it), so on a
    /// machine that has run the lab once `ci` runs them all, incrementally; on a fresh one it
    /// names them as not run. `full` (outline and SMP on UML, which `x86_64-outline` covers on a
    /// real kernel) and `arm64-generic` (Generic on arm64, whose Generic code is x86_64's but
    /// for the shadow offset and bound, which `rkasan.shadow_layout_matches_c` checks) run only
    /// with `--all`.
    pub fn ci_tier(self) -> CiTier {
        match self.base() {
            Config::Generic | Config::Static | Config::X86_64 => CiTier::Always,
            Config::X86_64Outline | Config::SwTags | Config::HwTags => CiTier::WhenBuilt,
            _ => CiTier::AllOnly,
        }
    }

    /// Whether `ci` runs its [`Config::off_builds`]: on UML only, where a build and a run take
    /// half a minute; `matrix --all` runs every config's.
    pub fn ci_off_builds(self) -> bool {
        self.arch() == Arch::Um
    }

    /// The components the matrix builds off, one Rust build each, in the config's build dir
    /// after its C and Rust runs: one config per KASAN mode.
    pub fn off_builds(self) -> &'static [&'static str] {
        match self {
            Config::Generic | Config::SwTags | Config::HwTags => self.components(),
            _ => &[],
        }
    }

    /// How long kunit.py waits for a boot's KTAP to finish (its `--timeout`, default 300 s),
    /// sized to the config's slowest run on a loaded 2-CPU machine: a UML run takes seconds to
    /// a minute (the `rkasan_quarantine` stress case about a minute on `full`, SMP with 2 CPUs);
    /// the arm64 configs run the whole `kasan` suite under QEMU's TCG emulation in 1-2 minutes
    /// (hw-tags also emulates MTE), and their extra boots run only `rkasan`.
    pub fn timeout_secs(self) -> u32 {
        match self {
            Config::Generic | Config::Static | Config::HwTagsOff => 300,
            Config::Full | Config::X86_64 | Config::HwTagsAsync => 600,
            Config::X86_64Outline | Config::Arm64Generic | Config::SwTags | Config::HwTags => 900,
        }
    }

    /// The suites a run of it must report and their case counts, when `--filter` picks none:
    /// see [`EXPECTED_SUITES`]. Empty for the C runtime on a Rust-only boot (n/a).
    pub fn expected_suites(self, runtime: Runtime) -> &'static [(&'static str, usize)] {
        EXPECTED_SUITES
            .iter()
            .find(|(c, r, _)| *c == self && *r == runtime)
            .map_or(&[], |(_, _, suites)| suites)
    }

    /// [`Config::expected_suites`] of a build with the component `off` turned off: without its
    /// suite ([`SUITE_OPTIONS`]).
    pub fn expected_suites_off(
        self,
        runtime: Runtime,
        off: Option<&str>,
    ) -> Vec<(&'static str, usize)> {
        self.expected_suites(runtime)
            .iter()
            .filter(|(suite, _)| {
                !SUITE_OPTIONS
                    .iter()
                    .any(|(s, opt)| s == suite && Some(*opt) == off)
            })
            .copied()
            .collect()
    }

    /// The vCPUs QEMU gives its kernel: the one place of each QEMU config's CPU count (UML
    /// takes its count as the kernel argument `ncpus=`, see [`Config::kernel_args`]).
    pub fn cpus(self) -> u32 {
        match self {
            Config::X86_64 | Config::Arm64Generic => 2,
            Config::X86_64Outline => 4,
            Config::Generic
            | Config::Full
            | Config::Static
            | Config::SwTags
            | Config::HwTags
            | Config::HwTagsAsync
            | Config::HwTagsOff => 1,
        }
    }

    /// The kunitconfig fragment (its base's: the extra boots have none of their own).
    pub fn fragment(self) -> PathBuf {
        util::workspace_root()
            .join("linux/kunitconfigs")
            .join(format!("{}.config", self.build_name()))
    }
}

/// The components of Generic KASAN in Rust (lib/Kconfig.kasan).
pub const GENERIC_COMPONENTS: &[&str] = &[
    "KASAN_RUST_SHADOW",
    "KASAN_RUST_REPORT",
    "KASAN_RUST_QUARANTINE",
    "KASAN_RUST_PARAMS",
];

/// The components of software tag-based KASAN in Rust.
pub const SW_TAGS_COMPONENTS: &[&str] = &[
    "KASAN_RUST_TAGS",
    "KASAN_RUST_SW_TAGS",
    "KASAN_RUST_STACK_RING",
    "KASAN_RUST_TAGS_REPORT",
    "KASAN_RUST_PARAMS",
];

/// The components of hardware tag-based KASAN in Rust.
pub const HW_TAGS_COMPONENTS: &[&str] = &[
    "KASAN_RUST_TAGS",
    "KASAN_RUST_STACK_RING",
    "KASAN_RUST_TAGS_REPORT",
    "KASAN_RUST_PARAMS",
];

/// The Rust runtime's KUnit suites (`rkasan`, `rkasan_quarantine`): every Rust build has it.
pub const KUNIT_TEST_OPTION: &str = "KASAN_RUST_KUNIT_TEST";

/// `KASAN_RUST*` options that are neither a component nor required: the runtime switch itself
/// (the runtime's kconfig) and the bench's suite (`cargo xtask bench` turns it on).
pub const NOT_COMPONENTS: &[&str] = &["KASAN_RUST", "KASAN_RUST_BENCH"];

/// The case count of upstream's suite `kasan` (mm/kasan/kasan_test_c.c and kasan_test_rust.rs):
/// the cases another mode needs are reported as SKIP, so every config runs all of them.
pub const KASAN_CASES: usize = 76;
/// The case count of the Rust runtime's suite `rkasan` (mm/kasan/rkasan_test.rs): cases of the
/// other modes are compiled out and reported as SKIP, so the count is the same everywhere.
pub const RKASAN_CASES: usize = 21;
/// The case count of `rkasan_quarantine` (mm/kasan/rkasan_quarantine_test.c, Generic KASAN).
pub const RKASAN_QUARANTINE_CASES: usize = 6;

/// THE table of what each run must report: per (config, runtime), every suite and its case
/// count. A missing suite, another case count, a suite that reported no case or an undeclared
/// suite fails the run (see [`check_expected`]). Rust-only boots have no C entry (n/a).
pub const EXPECTED_SUITES: &[(Config, Runtime, Suites)] = &[
    (Config::Generic, Runtime::C, &[("kasan", KASAN_CASES)]),
    (Config::Generic, Runtime::Rust, GENERIC_RUST),
    (Config::Full, Runtime::C, &[("kasan", KASAN_CASES)]),
    (Config::Full, Runtime::Rust, GENERIC_RUST),
    (Config::Static, Runtime::C, &[("kasan", KASAN_CASES)]),
    (Config::Static, Runtime::Rust, GENERIC_RUST),
    (Config::X86_64, Runtime::C, &[("kasan", KASAN_CASES)]),
    (Config::X86_64, Runtime::Rust, GENERIC_RUST),
    (Config::X86_64Outline, Runtime::C, &[("kasan", KASAN_CASES)]),
    (Config::X86_64Outline, Runtime::Rust, GENERIC_RUST),
    (Config::Arm64Generic, Runtime::C, &[("kasan", KASAN_CASES)]),
    (Config::Arm64Generic, Runtime::Rust, GENERIC_RUST),
    (Config::SwTags, Runtime::C, &[("kasan", KASAN_CASES)]),
    (Config::SwTags, Runtime::Rust, ARM64_RUST),
    (Config::HwTags, Runtime::C, &[("kasan", KASAN_CASES)]),
    (Config::HwTags, Runtime::Rust, ARM64_RUST),
    // The extra boots' filters: the suite rkasan, and its one boot-state case.
    (
        Config::HwTagsAsync,
        Runtime::Rust,
        &[("rkasan", RKASAN_CASES)],
    ),
    (Config::HwTagsOff, Runtime::Rust, &[("rkasan", 1)]),
];

/// (suite, case count) pairs.
pub type Suites = &'static [(&'static str, usize)];

/// A Rust build of Generic KASAN: upstream's suite, the runtime's and the quarantine's.
const GENERIC_RUST: Suites = &[
    ("kasan", KASAN_CASES),
    ("rkasan", RKASAN_CASES),
    ("rkasan_quarantine", RKASAN_QUARANTINE_CASES),
];
/// A Rust build of a tag-based mode (no quarantine there).
const ARM64_RUST: Suites = &[("kasan", KASAN_CASES), ("rkasan", RKASAN_CASES)];

/// Suites built only with a component: a build with it off has no such suite.
pub const SUITE_OPTIONS: &[(&str, &str)] = &[("rkasan_quarantine", "KASAN_RUST_QUARANTINE")];

/// The name of the case the KTAP parser adds where the kernel's output ended inside a suite.
const OUTPUT_ENDED: &str = "(no result: output ended)";

/// What is wrong with `results` against `expected` (suite, case count) pairs: every missing
/// KTAP plan, missing suite, suite that reported no case, case count that differs, crash inside
/// a suite, and suite that ran without being declared. Empty when the run is complete.
pub fn check_expected(results: &Results, expected: &[(&str, usize)]) -> Vec<String> {
    let mut problems: Vec<String> = results
        .missing_plans
        .iter()
        .map(|p| format!("no KTAP plan (1..N) for {p}"))
        .collect();
    for &(name, count) in expected {
        let Some(suite) = results.suites.iter().find(|s| s.name == name) else {
            problems.push(format!("suite {name} did not run ({count} cases expected)"));
            continue;
        };
        if suite.cases.is_empty() {
            let verdict = suite.verdict.map_or("no verdict", Status::word);
            problems.push(format!(
                "suite {name} reported no case ({verdict}: its init failed?), {count} expected"
            ));
            continue;
        }
        if suite.cases.iter().any(|c| c.name == OUTPUT_ENDED) {
            problems.push(format!(
                "suite {name}: the kernel's output ended inside it (a crash or a hang)"
            ));
        }
        let ran = suite
            .cases
            .iter()
            .filter(|c| c.name != OUTPUT_ENDED)
            .count();
        if ran != count {
            problems.push(format!("suite {name}: {ran} cases, {count} expected"));
        }
    }
    for s in &results.suites {
        if !expected.iter().any(|(name, _)| *name == s.name) {
            problems.push(format!(
                "suite {} ran but EXPECTED_SUITES (xtask/src/kunit.rs) does not declare it",
                s.name
            ));
        }
    }
    problems
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
    /// What the run lacks against [`Config::expected_suites`] (see [`check_expected`]): a
    /// non-empty list fails the run. Empty when `--filter` chose the suites.
    pub problems: Vec<String>,
    /// `target/rkasan/<config>-<runtime>[-no-<component>]/`.
    pub dir: PathBuf,
}

/// The `--kconfig_add` options of a build of `config` with `runtime` in `tree`, with the
/// component `off` (one of [`Config::components`]) turned off: the runtime's own, then, for
/// Rust, each component the tree defines, `=y` or off. Every component is asked for explicitly:
/// a build dir keeps its `.config` when the options are a subset of it, so a component turned
/// off by the previous build there would stay off.
pub(crate) fn kconfig_options(
    tree: &Tree,
    config: Config,
    runtime: Runtime,
    off: Option<&str>,
) -> Result<Vec<String>> {
    let mut opts: Vec<String> = runtime
        .kconfig(tree)?
        .into_iter()
        .map(str::to_string)
        .collect();
    if runtime == Runtime::Rust {
        let kconfig = util::read(&tree.path.join("lib/Kconfig.kasan"))?;
        for c in config.components() {
            if Some(*c) == off {
                opts.push(format!("# CONFIG_{c} is not set"));
            } else if kconfig_has(&kconfig, c) {
                opts.push(format!("CONFIG_{c}=y"));
            }
        }
    }
    Ok(opts)
}

/// Checks that `off` names a component of `config` and that only Rust builds turn one off.
pub fn check_off(config: Config, runtime: Runtime, off: Option<&str>) -> Result<()> {
    let Some(off) = off else {
        return Ok(());
    };
    if runtime != Runtime::Rust {
        bail!("--off {off}: only a Rust build has components to turn off");
    }
    if !config.components().contains(&off) {
        bail!(
            "--off {off}: not a component of the {} config's KASAN mode (one of {})",
            config.base(),
            config.components().join(", ")
        );
    }
    Ok(())
}

/// The name of a run's results dir: `<config>-<runtime>`, `-no-<component>` for an off-build
/// (`generic-rust-no-shadow`).
pub fn out_name(config: Config, runtime: Runtime, off: Option<&str>) -> String {
    match off {
        None => format!("{config}-{runtime}"),
        Some(c) => format!(
            "{config}-{runtime}-no-{}",
            c.trim_start_matches("KASAN_RUST_").to_ascii_lowercase()
        ),
    }
}

/// Whether the build directory of `config` holds a kernel built from `tree`: its marker names
/// the tree and the kernel image is there (a failed build may leave an old one, which an
/// incremental build then updates). Looks only; creates nothing.
pub fn is_built(tree: &Tree, config: Config) -> bool {
    let Ok(cache) = util::cache_dir() else {
        return false;
    };
    let dir = cache.join("build").join(config.build_name());
    let src = fs::canonicalize(&tree.path)
        .unwrap_or_else(|_| tree.path.clone())
        .to_string_lossy()
        .into_owned();
    let image = match config.arch() {
        Arch::Um => "linux",
        Arch::X86_64 => "arch/x86/boot/bzImage",
        Arch::Arm64 => "arch/arm64/boot/Image.gz",
    };
    fs::read_to_string(dir.join(".rkasan-srctree"))
        .ok()
        .as_deref()
        == Some(src.as_str())
        && dir.join(image).is_file()
}

/// The build directory of `config`, shared by both runtimes (and by the extra boots of its
/// base). It remembers the tree it was built from and is emptied when the tree changes.
fn build_dir(tree: &Tree, config: Config) -> Result<PathBuf> {
    build_dir_named(tree, config.build_name())
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

/// kunit.py with the arguments every subcommand shares, for `config`, `runtime` and a
/// component turned `off`.
fn kunit_py(
    tree: &Tree,
    sub: &str,
    config: Config,
    runtime: Runtime,
    off: Option<&str>,
    dir: &Path,
) -> Result<Command> {
    let opts = kconfig_options(tree, config, runtime, off)?;
    let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
    let mut cmd = kunit_py_with(tree, sub, config.arch(), &config.fragment(), &opts, dir);
    if let Some(args) = config.qemu_args() {
        cmd.arg(format!("--qemu_args={args}"));
    }
    Ok(cmd)
}

/// `kunit.py exec` of a run: [`kunit_py`], the config's kernel arguments and
/// [`Config::timeout_secs`], results as JSON into `json`, then the filter glob.
fn exec_command(
    tree: &Tree,
    config: Config,
    runtime: Runtime,
    off: Option<&str>,
    build: &Path,
    json: &Path,
    filter: Option<&str>,
) -> Result<Command> {
    let mut cmd = kunit_py(tree, "exec", config, runtime, off, build)?;
    for arg in config.kernel_args() {
        cmd.arg(format!("--kernel_args={arg}"));
    }
    cmd.arg(format!("--timeout={}", config.timeout_secs()));
    cmd.arg(format!("--json={}", json.display()));
    if let Some(glob) = filter {
        cmd.arg(glob);
    }
    Ok(cmd)
}

/// The arguments kunit.py gives a UML kernel (tools/testing/kunit/kunit_kernel.py:
/// `run_kernel()` and `LinuxSourceTreeOperationsUml.start()`), after the config's own.
fn uml_kunit_params(config: Config, filter: Option<&str>) -> Vec<String> {
    let mut params: Vec<String> = config.kernel_args().iter().map(|a| a.to_string()).collect();
    if let Some(glob) = filter {
        params.push(format!("kunit.filter_glob={glob}"));
    }
    params.extend(
        [
            "kunit.enable=1",
            "mem=1G",
            "console=tty",
            "kunit_shutdown=halt",
        ]
        .map(String::from),
    );
    params
}

/// The arguments of an x86_64 kernel's KUnit boot: the config's own, the filter, then those
/// kunit.py gives a QEMU kernel (`LinuxSourceTreeOperationsQemu` and qemu_configs/x86_64.py).
fn x86_64_kunit_params(config: Config, filter: Option<&str>) -> Vec<String> {
    let mut params: Vec<String> = config.kernel_args().iter().map(|a| a.to_string()).collect();
    if let Some(glob) = filter {
        params.push(format!("kunit.filter_glob={glob}"));
    }
    params.extend(["kunit.enable=1", "console=ttyS0", "kunit_shutdown=reboot"].map(String::from));
    params
}

/// The QEMU binary of the x86_64 configs.
pub const QEMU_X86_64: &str = "qemu-system-x86_64";

/// QEMU's accelerator for the x86_64 boots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    /// KVM: a probe boot got past the kernel's decompressor.
    Kvm,
    /// TCG, multi-threaded: no `/dev/kvm`, or the probe boot did not start the kernel.
    Tcg,
}

impl Accel {
    /// Its name in the lab's output.
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "KVM",
            Accel::Tcg => "TCG",
        }
    }

    /// QEMU's `-accel` value.
    pub fn arg(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg,thread=multi",
        }
    }
}

/// The QEMU command line of an x86_64 boot of `bzimage` with kernel arguments `params`:
/// kunit.py's (tools/testing/kunit/kunit_kernel.py), except the accelerator, which kunit.py
/// tries in the fixed order kvm, hvf, tcg. Where KVM initialises but the guest never starts
/// (seen here: it hangs after "Decompressing Linux..."), that order hangs every boot.
pub fn x86_64_qemu_args(bzimage: &Path, params: &[String], accel: Accel, cpus: u32) -> Vec<String> {
    let mut args: Vec<String> = ["-nodefaults", "-m", "1024", "-kernel"]
        .map(String::from)
        .to_vec();
    args.push(bzimage.display().to_string());
    args.push("-append".into());
    args.push(params.join(" "));
    args.extend(["-no-reboot", "-nographic", "-accel", accel.arg()].map(String::from));
    args.extend(["-cpu", "max", "-smp"].map(String::from));
    args.push(cpus.to_string());
    args.extend(["-serial", "stdio", "-bios", "qboot.rom"].map(String::from));
    args
}

/// Whether KVM runs the x86_64 kernel `bzimage` here: a boot with `-accel kvm` and no tests
/// must print the kernel's banner within 30 s (a KVM boot takes a second or two). Probed once
/// per lab run; no `/dev/kvm` means no probe.
pub fn x86_64_accel(bzimage: &Path, scratch: &Path) -> Accel {
    static ACCEL: std::sync::OnceLock<Accel> = std::sync::OnceLock::new();
    *ACCEL.get_or_init(|| {
        if !Path::new("/dev/kvm").exists() {
            eprintln!("    QEMU accelerator: TCG (no /dev/kvm)");
            return Accel::Tcg;
        }
        let params = ["kunit.enable=0", "console=ttyS0", "panic=-1"].map(String::from);
        let log = scratch.join("kvm-probe.log");
        let probe = boot_to_file(
            Path::new(QEMU_X86_64),
            &x86_64_qemu_args(bzimage, &params, Accel::Kvm, 1),
            scratch,
            &log,
            std::time::Duration::from_secs(30),
        );
        match probe {
            Ok(b) if b.console.contains("Linux version") => {
                eprintln!("    QEMU accelerator: KVM (a probe boot started the kernel)");
                Accel::Kvm
            }
            _ => {
                eprintln!(
                    "    QEMU accelerator: TCG (a KVM probe boot did not start the kernel: it \
                     failed or hung for 30 s; see {})",
                    log.display()
                );
                Accel::Tcg
            }
        }
    })
}

/// Boots the kernel of `build` for its KUnit suites as `kunit.py exec` would, but with its
/// console written straight to `console` instead of a pipe: a UML kernel as a process, an
/// x86_64 one under QEMU with the accelerator [`x86_64_accel`] picks. UML's console drops printk
/// output when a write to its non-blocking stdout returns EAGAIN
/// (arch/um/drivers/chan_user.c: `generic_write()`), which a pipe does as soon as kunit.py reads
/// more slowly than the kernel prints: on a loaded machine whole test cases vanish from the
/// console. A regular file never returns EAGAIN.
fn boot_for_kunit(
    config: Config,
    build: &Path,
    console: &Path,
    filter: Option<&str>,
    run_log: &Path,
) -> Result<()> {
    let (program, params) = match config.arch() {
        Arch::X86_64 => {
            let bzimage = build.join("arch/x86/boot/bzImage");
            let accel = x86_64_accel(&bzimage, build);
            let params = x86_64_kunit_params(config, filter);
            eprintln!("    QEMU: {} vCPUs, {}", config.cpus(), accel.name());
            (
                PathBuf::from(QEMU_X86_64),
                x86_64_qemu_args(&bzimage, &params, accel, config.cpus()),
            )
        }
        _ => (build.join("linux"), uml_kunit_params(config, filter)),
    };
    let timeout = std::time::Duration::from_secs(config.timeout_secs().into());
    let cwd = build.to_path_buf();
    let boot = boot_to_file(&program, &params, &cwd, console, timeout)?;
    let mut log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(run_log)
        .context(format!("cannot open {}", run_log.display()))?;
    use std::io::Write as _;
    writeln!(
        log,
        "$ {} {}\n{}",
        program.display(),
        params.join(" "),
        if boot.timed_out {
            format!("timed out after {} s: killed", timeout.as_secs())
        } else {
            "exited".to_string()
        }
    )?;
    Ok(())
}

/// How a boot (of a UML kernel, or of QEMU) ended.
pub(crate) struct Boot {
    /// The console, as written to the log.
    pub(crate) console: String,
    /// True when it ran past its timeout and was killed.
    pub(crate) timed_out: bool,
}

/// Runs `linux` (a UML kernel, or QEMU) with `params` in `cwd`, its console (stdout and
/// stderr) written to the file `log` (see [`boot_for_kunit`] for why a file), within `timeout`.
pub(crate) fn boot_to_file(
    linux: &Path,
    params: &[String],
    cwd: &Path,
    log: &Path,
    timeout: std::time::Duration,
) -> Result<Boot> {
    let file = fs::File::create(log).context(format!("cannot create {}", log.display()))?;
    let err = file.try_clone()?;
    // No core dump from a panicking UML (it aborts).
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("ulimit -c 0; exec \"$0\" \"$@\"")
        .arg(linux)
        .args(params)
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::from(file))
        .stderr(std::process::Stdio::from(err));
    let mut child = cmd
        .spawn()
        .context(format!("cannot run {}", linux.display()))?;
    let start = std::time::Instant::now();
    let mut timed_out = false;
    loop {
        if child.try_wait()?.is_some() {
            break;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            timed_out = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let raw = fs::read(log).unwrap_or_default();
    Ok(Boot {
        console: String::from_utf8_lossy(&raw).into_owned(),
        timed_out,
    })
}

/// `kunit.py parse` of a console file, writing its `--json`.
fn parse_command(tree: &Tree, console: &Path, json: &Path) -> Command {
    let mut cmd = Command::new("python3");
    cmd.current_dir(&tree.path)
        .arg(tree.path.join("tools/testing/kunit/kunit.py"))
        .arg("parse")
        .arg(format!("--json={}", json.display()))
        .arg(console);
    cmd
}

/// kunit.py `sub` for `arch` with a kunitconfig `fragment`, `--kconfig_add` options and a build
/// dir.
pub(crate) fn kunit_py_with(
    tree: &Tree,
    sub: &str,
    arch: Arch,
    fragment: &Path,
    kconfig_add: &[&str],
    dir: &Path,
) -> Command {
    let mut cmd = Command::new("python3");
    setup::kernel_env(&mut cmd)
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

/// Runs `kunit.py build` (`cmd`, from [`kunit_py_with`] for `arch`) with the lab's make options
/// and `jobs`, its output in `log`; on failure the error names `what` was built and the log's
/// first error.
pub(crate) fn build_kernel(
    mut cmd: Command,
    arch: Arch,
    jobs: usize,
    log: &Path,
    what: &str,
) -> Result<()> {
    for opt in setup::make_options(arch)? {
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
    off: Option<&str>,
    filter: Option<&str>,
    jobs: usize,
) -> Result<Outcome> {
    run_inner(tree, config, runtime, off, filter, jobs, true)
}

/// Like [`run`], but boots the kernel the build directory already holds instead of building:
/// for an extra boot ([`Config::base`] is another config) right after the base config's run with
/// the same runtime built that kernel from the same tree (`matrix` does so). The `.config` is
/// still checked against `runtime`.
pub fn run_prebuilt(
    tree: &Tree,
    config: Config,
    runtime: Runtime,
    off: Option<&str>,
    filter: Option<&str>,
) -> Result<Outcome> {
    run_inner(tree, config, runtime, off, filter, 1, false)
}

/// The filter glob a run of `config` uses: `--filter` when given, else the config's default.
/// Without `--filter`, a C run of a Rust-only config is refused: it would boot a kernel to run
/// nothing.
pub fn effective_filter<'a>(
    config: Config,
    runtime: Runtime,
    filter: Option<&'a str>,
) -> Result<Option<&'a str>> {
    if filter.is_none() && runtime == Runtime::C && config.rust_only() {
        bail!(
            "the {config} config boots the {} kernel only to run the Rust runtime's suite {}, \
             which the C runtime does not have: use --runtime rust, or pick suites with --filter \
             (for example --filter kasan)",
            config.base(),
            config.default_filter().unwrap_or_default()
        );
    }
    Ok(filter.or(config.default_filter()))
}

/// Checks a build's `.config` text: every [`Config::required_options`] line is there,
/// `CONFIG_KASAN_RUST=y` is there exactly for the Rust runtime, and a Rust build has each of
/// [`Config::rust_options`] `=y`, except those in `off`, which must read `# CONFIG_X is not
/// set`. Returns whether the runtime is Rust, or what is wrong.
pub fn check_dot_config(
    dot_config: &str,
    config: Config,
    runtime: Runtime,
    off: &[&str],
) -> std::result::Result<bool, String> {
    let has = |line: &str| dot_config.lines().any(|l| l == line);
    if let Some(missing) = config.required_options().iter().find(|o| !has(o)) {
        return Err(format!(
            "does not have {missing}, which the {} config needs for {}: kconfig dropped an \
             option of linux/kunitconfigs/{}.config (unmet dependencies; kunit.py only warns)",
            config.base(),
            config.arch().name(),
            config.build_name()
        ));
    }
    let rust_on = has("CONFIG_KASAN_RUST=y");
    match runtime {
        Runtime::Rust if !rust_on => {
            return Err(format!(
                "does not have CONFIG_KASAN_RUST=y (unmet dependencies? lib/Kconfig.kasan must \
                 allow KASAN_RUST with the {} config's KASAN mode on {})",
                config.base(),
                config.arch().name()
            ))
        }
        Runtime::C if rust_on => {
            return Err("has CONFIG_KASAN_RUST=y for a C-runtime build".to_string())
        }
        Runtime::C if !off.is_empty() => {
            return Err(format!(
                "a C-runtime build cannot turn off {}",
                off.join(", ")
            ))
        }
        _ => {}
    }
    if runtime == Runtime::Rust {
        let options = config.rust_options();
        if let Some(bad) = off.iter().find(|o| !options.contains(o)) {
            return Err(format!(
                "{bad} is not a Rust component of the {} config",
                config.base()
            ));
        }
        for opt in options {
            if off.contains(&opt) {
                if !has(&format!("# CONFIG_{opt} is not set")) {
                    return Err(format!(
                        "does not have `# CONFIG_{opt} is not set`, which this build asked for"
                    ));
                }
            } else if !has(&format!("CONFIG_{opt}=y")) {
                return Err(format!(
                    "does not have CONFIG_{opt}=y: that part of the Rust runtime would silently \
                     be C (kconfig dropped it: unmet dependencies?)"
                ));
            }
        }
    }
    Ok(rust_on)
}

fn run_inner(
    tree: &Tree,
    config: Config,
    runtime: Runtime,
    off: Option<&str>,
    filter: Option<&str>,
    jobs: usize,
    build_it: bool,
) -> Result<Outcome> {
    tree.version()?;
    if runtime == Runtime::Rust && !has_kasan_rust(tree)? {
        return Err(no_kasan_rust(tree));
    }
    check_off(config, runtime, off)?;
    let expected = if filter.is_none() {
        config.expected_suites_off(runtime, off)
    } else {
        Vec::new()
    };
    let user_filter = filter.is_some();
    let filter = effective_filter(config, runtime, filter)?;
    let what = match off {
        Some(c) => format!("{config} config, {runtime} runtime with {c} off"),
        None => format!("{config} config, {runtime} runtime"),
    };
    let fragment = config.fragment();
    if !fragment.is_file() {
        bail!("no kunitconfig at {}", fragment.display());
    }
    let build = build_dir(tree, config)?;
    let out = util::out_dir().join(out_name(config, runtime, off));
    if out.exists() {
        fs::remove_dir_all(&out).context(format!("cannot remove {}", out.display()))?;
    }
    util::mkdir(&out)?;

    let build_log = out.join("build.log");
    if build_it {
        let step = Step::start(
            format!("build: {what}"),
            Some(&format!(
                "build dir: {}\n    log: {}",
                build.display(),
                build_log.display()
            )),
        );
        build_kernel(
            kunit_py(tree, "build", config, runtime, off, &build)?,
            config.arch(),
            jobs,
            &build_log,
            &what,
        )?;
        step.done();
    } else {
        let note = format!(
            "no build: booting the {} kernel ({runtime} runtime) already in {}",
            config.base(),
            build.display()
        );
        eprintln!("==> {note}");
        util::write(&build_log, note + "\n")?;
    }
    let dot_config = util::read(&build.join(".config"))?;
    let off_list: Vec<&str> = off.into_iter().collect();
    let rust_on = check_dot_config(&dot_config, config, runtime, &off_list).map_err(|e| {
        util::Error(format!(
            "{}/.config {e}; see {}",
            build.display(),
            build_log.display()
        ))
    })?;
    if rust_on {
        check_runtime_object(&build)?;
    }
    if build_it {
        let warnings = objtool_warnings(&util::read(&build_log)?);
        if let Some(first) = warnings.first() {
            bail!(
                "objtool warns about the KASAN runtime ({} warning(s); first: {first}); see {}",
                warnings.len(),
                build_log.display()
            );
        }
    }

    let run_log = out.join("run.log");
    let json = out.join("results.json");
    let args = config.kernel_args().join(" ");
    let step = Step::start(
        format!(
            "run: {what}{}",
            if args.is_empty() {
                String::new()
            } else {
                format!(" (kernel arguments: {args})")
            }
        ),
        Some(&format!("log: {}", run_log.display())),
    );
    let console = build.join("test.log");
    let results = run_until_complete(|| {
        let _ = fs::remove_file(&console);
        let _ = fs::remove_file(&json);
        let mut cmd = match config.arch() {
            Arch::Um | Arch::X86_64 => {
                boot_for_kunit(config, &build, &console, filter, &run_log)?;
                parse_command(tree, &console, &json)
            }
            Arch::Arm64 => exec_command(tree, config, runtime, off, &build, &json, filter)?,
        };
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
    // With --filter the user chose the suites: nothing to expect.
    let problems = if user_filter {
        Vec::new()
    } else {
        check_expected(&results, &expected)
    };
    Ok(Outcome {
        results,
        problems,
        dir: out,
    })
}

/// The objtool warnings of a build log about the KASAN runtime (either one): x86_64's objtool
/// checks every object and vmlinux.o, and a warning there (a call with UACCESS enabled, a
/// missing return thunk or ENDBR) is a bug of the runtime, however the build ends.
pub fn objtool_warnings(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("objtool:") && l.contains("warning"))
        .filter(|l| {
            ["rkasan", "kasan_", "__asan_"]
                .iter()
                .any(|k| l.contains(k))
        })
        .map(|l| l.trim().to_string())
        .collect()
}

/// The Rust runtime object, which runs uninstrumented on every checked access.
const RUNTIME_OBJECT: &str = "mm/kasan/rkasan.o";

/// Substrings of undefined symbols the runtime object must not reference: a panic path, the
/// host gate's list (rkasan/tests/no_panic.rs: `core::panicking::*`, `unwrap_failed`,
/// `expect_failed`, `slice_*_fail`, `panic_already_borrowed`; the kernel builds Rust with
/// overflow checks on), a call back into KASAN's instrumentation, or a Rust helper from
/// rust/helpers (those are instrumented).
const FORBIDDEN_SYMBOLS: &[&str] = &[
    "panic",
    "fail",
    "unwrap",
    "expect",
    "__asan_",
    "__hwasan_",
    "rust_helper_",
];

/// Kernel symbols the runtime object may reference although their names contain a
/// [`FORBIDDEN_SYMBOLS`] substring: exact names, each one checked to be no panic path.
const ALLOWED_SYMBOLS: &[&str] = &[];

/// The kernel's instrumented string functions: under KASAN, `memcpy()`, `memset()` and
/// `memmove()` check their range before they copy (mm/kasan/shadow.c), so the runtime may call
/// them only while it reports (the report path formats and copies, with reports of the current
/// task suppressed). Their `__`-prefixed twins are the architecture's uninstrumented versions,
/// which the poisoning paths use on the shadow as generic.c does.
const MEM_FUNCTIONS: &[&str] = &["memcpy", "memset", "memmove"];

/// Substrings naming the functions of the report path (mangled or not), the only ones that may
/// call [`MEM_FUNCTIONS`]: `rkasan_report` (kernel_report.rs) and the core's `report` module,
/// `rkasan_bug_type` (kernel_query.rs) and the tag modes' `rkasan_tags_*` report details and
/// `rkasan_tags_common_bug_type` / `rkasan_stack_ring_find` (kernel_tags.rs).
const REPORT_PATH: &[&str] = &["report", "bug_type", "rkasan_tags_", "stack_ring_find"];

/// Returns the forbidden symbols among `nm -u` output lines.
pub fn forbidden_symbols(nm_undefined: &str) -> Vec<String> {
    nm_undefined
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|sym| FORBIDDEN_SYMBOLS.iter().any(|f| sym.contains(f)))
        .filter(|sym| !ALLOWED_SYMBOLS.contains(sym))
        .map(str::to_string)
        .collect()
}

/// The function an `llvm-objdump -d` line `0000000000002c40 <name>:` starts, if it is one.
fn function_label(line: &str) -> Option<&str> {
    line.trim_end()
        .strip_suffix(">:")
        .and_then(|l| l.split_once(" <"))
        .map(|(_, n)| n)
}

/// The functions of an `llvm-objdump -d -r` listing that reference one of [`MEM_FUNCTIONS`]
/// (a call or a jump relocated to it), with the function referenced.
pub fn mem_callers(disasm: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut current: Option<&str> = None;
    for line in disasm.lines() {
        if let Some(name) = function_label(line) {
            current = Some(name);
            continue;
        }
        // `\t\t00000000000029c6:  R_X86_64_PLT32\tmemcpy-0x4`, `R_AARCH64_CALL26\tmemset`.
        let Some((kind, target)) = line
            .trim()
            .split_once(|c: char| c.is_whitespace())
            .and_then(|(_, rest)| rest.trim().split_once(|c: char| c.is_whitespace()))
        else {
            continue;
        };
        if !kind.starts_with("R_") {
            continue;
        }
        let symbol = target.trim().split(['+', '-']).next().unwrap_or("");
        if let (Some(f), true) = (current, MEM_FUNCTIONS.contains(&symbol)) {
            let pair = (f.to_string(), symbol.to_string());
            if !out.contains(&pair) {
                out.push(pair);
            }
        }
    }
    out
}

/// The gate on the runtime's calls of the kernel's instrumented `memcpy()`/`memset()`: only
/// functions of the report path ([`REPORT_PATH`]) make them. Returns those functions, or the
/// first that is not on the report path.
pub fn check_mem_callers(disasm: &str) -> std::result::Result<Vec<String>, String> {
    let mut allowed = Vec::new();
    for (f, mem) in mem_callers(disasm) {
        if !REPORT_PATH.iter().any(|r| f.contains(r)) {
            return Err(format!(
                "{f} calls the instrumented {mem}(), which only the report path may (an \
                 instrumented call from the check path recurses into KASAN)"
            ));
        }
        if !allowed.contains(&f) {
            allowed.push(f);
        }
    }
    Ok(allowed)
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
    eprintln!(
        "    nm -u {RUNTIME_OBJECT}: no symbol containing {}",
        FORBIDDEN_SYMBOLS.join(", ")
    );
    let disasm = util::capture(
        Command::new(Path::new(setup::LLVM_BIN).join("llvm-objdump"))
            .args(["-d", "-r", "--no-show-raw-insn"])
            .arg(&obj),
    )?;
    match check_mem_callers(&disasm) {
        Ok(callers) => eprintln!(
            "    objdump {RUNTIME_OBJECT}: memcpy/memset called only on the report path ({})",
            if callers.is_empty() {
                "by none".to_string()
            } else {
                callers.join(", ")
            }
        ),
        Err(e) => bail!("{}: {e}", obj.display()),
    }
    match check_entry_tail_calls(&disasm) {
        Ok(0) => {}
        Ok(n) => eprintln!(
            "    objdump {RUNTIME_OBJECT}: {n} __asan_load/store entries and granule checks, each \
             frameless, reaching the _RET_IP_ taker by jumps only"
        ),
        Err(e) => bail!("{}: {e}", obj.display()),
    }
    Ok(())
}

/// The `(kind, size)` pairs of the entries the Rust runtime defines itself when
/// `kasan_enabled()` is constant true: `__asan_<kind><size>` and its `_noabort` twin.
const RUST_ENTRIES: [(&str, u32); 10] = [
    ("load", 1),
    ("load", 2),
    ("load", 4),
    ("load", 8),
    ("load", 16),
    ("store", 1),
    ("store", 2),
    ("store", 4),
    ("store", 8),
    ("store", 16),
];

/// The gate on the Rust `__asan_load<N>()` / `__asan_store<N>()` entries in `llvm-objdump -d -r`
/// output of the runtime object. An entry's fast path hands a partial granule to
/// `rkasan_<kind><N>_granule` and anything else to C's `rkasan_<kind><N>_caller`, as the granule
/// step does what it cannot settle; the `_RET_IP_` of the C function must be the instrumented
/// caller a report names. So each entry and each granule function must leave the stack alone
/// (no call, push or `%rsp` operand) and reach the next steps only by jumps. LLVM folds an entry and its identical `_noabort` twin into one body
/// under one of the two names, so each pair needs one. Returns how many bodies were checked: 0
/// when the object defines no entry (C entries under ARCH_DEFER_KASAN, or the tag modes).
pub fn check_entry_tail_calls(disasm: &str) -> std::result::Result<usize, String> {
    // The function a body belongs to: its (kind, size), and whether it is the granule step.
    let role_of = |name: &str| {
        RUST_ENTRIES.iter().copied().find_map(|(kind, size)| {
            let entry = format!("__asan_{kind}{size}");
            if name == entry || name.strip_prefix(&entry) == Some("_noabort") {
                Some((kind, size, false))
            } else if name == format!("rkasan_{kind}{size}_granule") {
                Some((kind, size, true))
            } else {
                None
            }
        })
    };
    let mut bodies: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in disasm.lines() {
        if let Some(name) = function_label(line) {
            current = role_of(name).map(|_| name.to_string());
            if let Some(n) = &current {
                bodies.insert(n.clone(), Vec::new());
            }
        } else if let Some(body) = current.as_ref().and_then(|n| bodies.get_mut(n)) {
            body.push(line);
        }
    }
    if bodies.is_empty() {
        return Ok(0);
    }
    for (kind, size) in RUST_ENTRIES {
        for granule in [false, true] {
            if !bodies
                .keys()
                .any(|n| role_of(n) == Some((kind, size, granule)))
            {
                let want = if granule {
                    format!("rkasan_{kind}{size}_granule")
                } else {
                    format!("__asan_{kind}{size}(_noabort)")
                };
                return Err(format!("defines Rust __asan_ entries but not {want}"));
            }
        }
    }
    for (name, body) in &bodies {
        let Some((kind, size, granule)) = role_of(name) else {
            continue;
        };
        let caller = format!("rkasan_{kind}{size}_caller");
        // The step each body must jump to, and every step it may reach.
        // A 16-byte access has no partial-granule step: its entry goes to C directly.
        let (next, steps) = if granule || size == 16 {
            (caller.clone(), vec![caller])
        } else {
            let granule = format!("rkasan_{kind}{size}_granule");
            (granule.clone(), vec![granule, caller])
        };
        let isa = Isa::of(disasm);
        let insns: Vec<(usize, &str)> = body
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.split('\t').nth(1).map(|insn| (i, insn)))
            .filter(|(_, insn)| !insn.is_empty())
            .collect();
        if let Some((_, bad)) = insns
            .iter()
            .find(|(i, insn)| isa.touches_the_frame(insn, body[*i]))
        {
            return Err(format!(
                "{name} is not frameless (`{bad}`): _RET_IP_ would not name its caller"
            ));
        }
        let reaches = |i: usize, step: &str| {
            body.get(i + 1)
                .is_some_and(|r| r.contains(isa.jump_relocation()) && r.contains(step))
        };
        // arm64 builds with frame pointers: a frame record is pushed and must be popped before
        // each jump to the next step, so that x30 and sp are the caller's again.
        if insns.iter().any(|&(i, _)| Isa::is_frame_push(body[i])) {
            for &(i, insn) in &insns {
                if !(isa.is_jump(insn) && steps.iter().any(|s| reaches(i, s))) {
                    continue;
                }
                let popped = insns
                    .iter()
                    .rev()
                    .filter(|&&(j, m)| j < i && m != "autiasp")
                    .map(|&(j, _)| body[j])
                    .next()
                    .is_some_and(Isa::is_frame_pop);
                if !popped {
                    return Err(format!(
                        "{name} jumps on with its frame record on the stack (`{insn}`): \
                         _RET_IP_ would not name its caller"
                    ));
                }
            }
        }
        if !insns
            .iter()
            .any(|&(i, insn)| isa.is_jump(insn) && reaches(i, &next))
        {
            return Err(format!("{name} does not jump to {next}"));
        }
        for step in &steps {
            if let Some((_, bad)) = insns
                .iter()
                .find(|&&(i, insn)| reaches(i, step) && !isa.is_jump(insn))
            {
                return Err(format!(
                    "{name} reaches {step} other than by a jump (`{bad}`)"
                ));
            }
        }
    }
    Ok(bodies.len())
}

/// The instruction set of an `llvm-objdump -d` listing, as the frameless-entry gate
/// ([`check_entry_tail_calls`]) reads it: `_RET_IP_` is the return address, on the stack on
/// x86_64 (UML included) and in x30 on arm64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    /// x86_64 (`file format elf64-x86-64`).
    X86_64,
    /// arm64 (`file format elf64-littleaarch64`).
    Arm64,
}

impl Isa {
    fn of(disasm: &str) -> Isa {
        if disasm.contains("elf64-littleaarch64") {
            Isa::Arm64
        } else {
            Isa::X86_64
        }
    }

    /// The operands of a disassembly line.
    fn operands(line: &str) -> &str {
        line.split('\t').nth(2).unwrap_or("").trim()
    }

    /// arm64's frame-record push, `stp x29, x30, [sp, #-0x10]!`.
    fn is_frame_push(line: &str) -> bool {
        line.split('\t').nth(1) == Some("stp") && Isa::operands(line) == "x29, x30, [sp, #-0x10]!"
    }

    /// arm64's frame-record pop, `ldp x29, x30, [sp], #0x10`.
    fn is_frame_pop(line: &str) -> bool {
        line.split('\t').nth(1) == Some("ldp") && Isa::operands(line) == "x29, x30, [sp], #0x10"
    }

    /// Whether the instruction with mnemonic `insn` (on the disassembly line `line`) calls,
    /// builds a frame or touches the return address: x86_64's `call`, `push` or a `%rsp`
    /// operand; arm64's `bl`/`blr` (which overwrite x30), or an `sp`, x29 or x30 operand other
    /// than the frame record's push, `mov x29, sp` and pop (whose placement
    /// [`check_entry_tail_calls`] checks).
    fn touches_the_frame(self, insn: &str, line: &str) -> bool {
        match self {
            Isa::X86_64 => {
                insn.starts_with("call") || insn.starts_with("push") || line.contains("%rsp")
            }
            Isa::Arm64 => {
                if Isa::is_frame_push(line)
                    || Isa::is_frame_pop(line)
                    || (insn == "mov" && Isa::operands(line) == "x29, sp")
                {
                    return false;
                }
                let operands = Isa::operands(line);
                matches!(insn, "bl" | "blr")
                    || operands
                        .split([' ', ',', '[', ']', '!', '#'])
                        .any(|t| matches!(t, "sp" | "x29" | "x30" | "w30"))
            }
        }
    }

    /// Whether the mnemonic `insn` is a jump (conditional or not) that leaves x30 alone.
    fn is_jump(self, insn: &str) -> bool {
        match self {
            Isa::X86_64 => insn.starts_with('j'),
            Isa::Arm64 => {
                matches!(insn, "b" | "br" | "cbz" | "cbnz" | "tbz" | "tbnz")
                    || insn.starts_with("b.")
            }
        }
    }

    /// The relocation of a jump to another function.
    fn jump_relocation(self) -> &'static str {
        match self {
            Isa::X86_64 => "R_X86_64_PLT32",
            Isa::Arm64 => "R_AARCH64_JUMP26",
        }
    }
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
    fn objtool_warnings_about_the_runtime() {
        let log = "\
vmlinux.o: warning: objtool: __asan_load1_noabort+0x8: call to rkasan_load1_caller() with UACCESS enabled
lib/maple_tree.c:3514:20: warning: stack frame size (2584) exceeds limit (2048)
vmlinux.o: warning: objtool: do_foo+0x12: unreachable instruction
vmlinux.o: warning: objtool: kasan_check_range+0x4: call to rkasan_check_range() with UACCESS enabled
";
        assert_eq!(
            objtool_warnings(log),
            [
                "vmlinux.o: warning: objtool: __asan_load1_noabort+0x8: call to \
                 rkasan_load1_caller() with UACCESS enabled",
                "vmlinux.o: warning: objtool: kasan_check_range+0x4: call to rkasan_check_range() \
                 with UACCESS enabled"
            ]
        );
        assert!(objtool_warnings("  CC mm/kasan/rkasan_entry.o\n").is_empty());
    }

    /// `llvm-objdump -d -r --no-show-raw-insn` of one Rust entry, as rustc builds it for UML.
    fn entry_disasm(name: &str, caller: &str, body: &str) -> String {
        format!(
            "\n00000000000029c0 <{name}>:\n{}    29ef:      \tretq\n",
            body.replace("CALLER", caller)
        )
    }

    const TAIL_CALLS: &str = "    29c0:      \tcmpq\t$-0x9, %rdi\n\
    29c4:      \tja\t0x29ca <x+0xa>\n\
\t\t00000000000029c6:  R_X86_64_PLT32\tCALLER-0x4\n\
    29e5:      \tcmpb\t$0x0, (%rax,%rcx)\n\
    29e9:      \tjne\t0x29ef <x+0x2f>\n\
\t\t00000000000029eb:  R_X86_64_PLT32\tCALLER-0x4\n";

    fn all_entries(body_of: impl Fn(&str, u32) -> String) -> String {
        all_entries_with("elf64-x86-64", TAIL_CALLS, body_of)
    }

    /// Every entry and granule step, in a listing of `format`, the granule steps' body
    /// `granule`.
    fn all_entries_with(
        format: &str,
        granule: &str,
        body_of: impl Fn(&str, u32) -> String,
    ) -> String {
        let mut out = format!("rkasan.o:\tfile format {format}\n");
        for (kind, size) in RUST_ENTRIES {
            let next = if size == 16 { "caller" } else { "granule" };
            out += &entry_disasm(
                &format!("__asan_{kind}{size}_noabort"),
                &format!("rkasan_{kind}{size}_{next}"),
                &body_of(kind, size),
            );
            out += &entry_disasm(
                &format!("rkasan_{kind}{size}_granule"),
                &format!("rkasan_{kind}{size}_caller"),
                granule,
            );
        }
        out
    }

    #[test]
    fn entry_tail_calls() {
        let good = all_entries(|_, _| TAIL_CALLS.to_string());
        assert_eq!(check_entry_tail_calls(&good), Ok(20));
        assert_eq!(check_entry_tail_calls("rkasan.o: file format\n"), Ok(0));

        let called = all_entries(|kind, size| {
            if (kind, size) == ("store", 8) {
                TAIL_CALLS.replacen("ja\t", "callq\t", 1)
            } else {
                TAIL_CALLS.to_string()
            }
        });
        let err = check_entry_tail_calls(&called).unwrap_err();
        assert!(
            err.contains("__asan_store8_noabort is not frameless"),
            "{err}"
        );

        let framed = all_entries(|_, _| format!("    29bf:      \tpushq\t%rbx\n{TAIL_CALLS}"));
        assert!(check_entry_tail_calls(&framed)
            .unwrap_err()
            .contains("not frameless"));

        let wrong = all_entries(|kind, size| {
            if (kind, size) == ("load", 2) {
                TAIL_CALLS.replace("CALLER", "rkasan_load4_granule")
            } else {
                TAIL_CALLS.to_string()
            }
        });
        assert_eq!(
            check_entry_tail_calls(&wrong),
            Err("__asan_load2_noabort does not jump to rkasan_load2_granule".to_string())
        );

        let missing = good.replace("<__asan_load16_noabort>", "<other>");
        assert!(check_entry_tail_calls(&missing)
            .unwrap_err()
            .contains("not __asan_load16"));
        let missing = good.replace("<rkasan_store2_granule>", "<other>");
        assert!(check_entry_tail_calls(&missing)
            .unwrap_err()
            .contains("not rkasan_store2_granule"));
    }

    /// The same gate on arm64's disassembly: the return address is in x30, jumps are `b`,
    /// `b.<cond>`, `cbz`..., relocated with `R_AARCH64_JUMP26`.
    #[test]
    fn entry_tail_calls_on_arm64() {
        const ARM64_TAIL_CALLS: &str = "      0: \tbti\tc\n\
      4: \tcmn\tx0, #0x10\n\
      8: \tb.hi\t0x8 <x+0x8>\n\
\t\t0000000000000008:  R_AARCH64_JUMP26\tCALLER\n\
      c: \tldrsb\tw9, [x8, x9]\n\
     10: \tcbnz\tw9, 0x10 <x+0x10>\n\
\t\t0000000000000010:  R_AARCH64_JUMP26\tCALLER\n";
        let arm64 =
            |body: &str| all_entries_with("elf64-littleaarch64", body, |_, _| body.to_string());
        assert_eq!(check_entry_tail_calls(&arm64(ARM64_TAIL_CALLS)), Ok(20));
        // A call overwrites x30, and so does a move into it; a frame record pushed and never
        // popped leaves the caller's x30 on the stack.
        for (bad, why) in [
            (ARM64_TAIL_CALLS.replacen("b.hi", "bl", 1), "not frameless"),
            (
                format!("     -4: \tmov\tx30, x1\n{ARM64_TAIL_CALLS}"),
                "not frameless",
            ),
            (
                format!("     -4: \tstp\tx29, x30, [sp, #-0x10]!\n{ARM64_TAIL_CALLS}"),
                "frame record on the stack",
            ),
        ] {
            let err = check_entry_tail_calls(&arm64(&bad)).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        // With frame pointers: the record is pushed, and popped before each jump.
        let framed = ARM64_TAIL_CALLS
            .replace(
                "4: \tcmn",
                "2: \tpaciasp\n3: \tstp\tx29, x30, [sp, #-0x10]!\n4: \tmov\tx29, sp\n4: \tcmn",
            )
            .replace(
                "8: \tb.hi",
                "6: \tldp\tx29, x30, [sp], #0x10\n7: \tautiasp\n8: \tb.hi",
            )
            .replace("10: \tcbnz", "e: \tldp\tx29, x30, [sp], #0x10\n10: \tcbnz");
        assert!(framed.contains("stp") && framed.matches("ldp").count() == 2);
        assert_eq!(check_entry_tail_calls(&arm64(&framed)), Ok(20));
        let unpopped = framed.replacen("e: \tldp\tx29, x30, [sp], #0x10\n", "", 1);
        assert!(check_entry_tail_calls(&arm64(&unpopped))
            .unwrap_err()
            .contains("frame record on the stack"));
        let x86_relocs = ARM64_TAIL_CALLS.replace("R_AARCH64_JUMP26", "R_X86_64_PLT32");
        assert!(check_entry_tail_calls(&arm64(&x86_relocs))
            .unwrap_err()
            .contains("does not jump to"));
    }

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
        assert_eq!(Config::parse("hw-tags-async"), Some(Config::HwTagsAsync));
        assert_eq!(Runtime::parse("C"), None);
        assert_eq!(
            Config::names(),
            "generic, full, static, x86_64, x86_64-outline, arm64-generic, sw-tags, hw-tags, \
             hw-tags-async or hw-tags-off"
        );
    }

    #[test]
    fn arches_args_and_build_dirs() {
        use Config::*;
        let arches: Vec<&str> = Config::ALL.iter().map(|c| c.arch().name()).collect();
        assert_eq!(
            arches,
            ["um", "um", "um", "x86_64", "x86_64", "arm64", "arm64", "arm64", "arm64", "arm64"]
        );
        // The extra boots share hw-tags' build dir and kunitconfig, and differ in arguments.
        assert_eq!(HwTagsAsync.default_filter(), Some("rkasan"));
        assert_eq!(HwTagsOff.default_filter(), Some(BOOT_STATE_CASE));
        for extra in [HwTagsAsync, HwTagsOff] {
            assert_eq!(extra.base(), HwTags);
            assert_eq!(extra.build_name(), "hw-tags");
            assert_eq!(extra.fragment(), HwTags.fragment());
            assert!(extra.rust_only());
            assert_eq!(extra.required_options(), HwTags.required_options());
        }
        for c in [Generic, Full, Static, SwTags, HwTags] {
            assert_eq!((c.base(), c.build_name()), (c, c.name()));
            assert_eq!(c.default_filter(), None);
            assert!(!c.rust_only());
        }
        assert_eq!(HwTagsAsync.kernel_args(), ["kasan.mode=async"]);
        assert_eq!(HwTagsOff.kernel_args(), ["kasan=off"]);
        assert_eq!(Full.kernel_args(), ["seccomp=on", "ncpus=2"]);
        assert!(HwTags.kernel_args().is_empty() && SwTags.kernel_args().is_empty());
        for c in [HwTags, HwTagsAsync, HwTagsOff] {
            assert_eq!(c.qemu_args().as_deref(), Some("-machine virt,mte=on"));
        }
        assert_eq!(Arm64Generic.qemu_args().as_deref(), Some("-smp 2"));
        for c in [Generic, Full, Static, X86_64, X86_64Outline, SwTags] {
            assert_eq!(c.qemu_args(), None);
        }
        assert!(SwTags
            .required_options()
            .contains(&"CONFIG_KASAN_SW_TAGS=y"));
        assert!(HwTags
            .required_options()
            .contains(&"CONFIG_KASAN_HW_TAGS=y"));
        assert!(HwTags.required_options().contains(&"CONFIG_ARM64_MTE=y"));
        for c in Config::ALL {
            assert!(c.required_options().contains(&"CONFIG_RUST=y"), "{c}");
            // Each required option is asked for by the fragment itself.
            let fragment = fs::read_to_string(c.fragment()).unwrap();
            for opt in c.required_options() {
                assert!(fragment.lines().any(|l| l == *opt), "{c}: {opt}");
            }
        }
    }

    #[test]
    fn filters() {
        use Config::*;
        use Runtime::*;
        assert_eq!(
            effective_filter(HwTagsAsync, Rust, None).unwrap(),
            Some("rkasan")
        );
        assert_eq!(
            effective_filter(HwTagsOff, Rust, Some("rkasan.x*")).unwrap(),
            Some("rkasan.x*")
        );
        assert_eq!(
            effective_filter(HwTagsAsync, C, Some("kasan")).unwrap(),
            Some("kasan")
        );
        let err = effective_filter(HwTagsOff, C, None).unwrap_err().0;
        assert!(err.contains("does not have"), "{err}");
        assert!(err.contains("--filter"), "{err}");
        assert_eq!(effective_filter(HwTags, C, None).unwrap(), None);
        assert_eq!(
            effective_filter(Generic, Rust, Some("kasan")).unwrap(),
            Some("kasan")
        );
    }

    #[test]
    fn dot_config_checks() {
        use Config::*;
        use Runtime::*;
        let hw = "CONFIG_ARM64_MTE=y\nCONFIG_KASAN_HW_TAGS=y\nCONFIG_RUST=y\n";
        assert_eq!(check_dot_config(hw, HwTags, C, &[]), Ok(false));
        assert_eq!(check_dot_config(hw, HwTagsAsync, C, &[]), Ok(false));
        let err = check_dot_config(hw, HwTags, Rust, &[]).unwrap_err();
        assert!(err.contains("CONFIG_KASAN_RUST=y"), "{err}");
        let rust_lines = |c: Config| -> String {
            c.rust_options()
                .iter()
                .map(|o| format!("CONFIG_{o}=y\n"))
                .collect()
        };
        let with_rust = format!("{hw}CONFIG_KASAN_RUST=y\n{}", rust_lines(HwTags));
        assert_eq!(check_dot_config(&with_rust, HwTagsOff, Rust, &[]), Ok(true));
        assert!(check_dot_config(&with_rust, HwTags, C, &[]).is_err());
        // Rust dropped by kconfig (say, a rustc too old for KASAN_SW_TAGS).
        let err = check_dot_config(
            "CONFIG_KASAN_SW_TAGS=y\n# CONFIG_RUST is not set\n",
            SwTags,
            C,
            &[],
        )
        .unwrap_err();
        assert!(err.contains("does not have CONFIG_RUST=y"), "{err}");
        assert!(err.contains("sw-tags.config"), "{err}");
        let err = check_dot_config("CONFIG_KASAN_GENERIC=y\nCONFIG_RUST=y\n", SwTags, C, &[])
            .unwrap_err();
        assert!(err.contains("CONFIG_KASAN_SW_TAGS=y"), "{err}");
        assert_eq!(
            check_dot_config("CONFIG_KASAN_GENERIC=y\nCONFIG_RUST=y\n", Full, C, &[]),
            Ok(false)
        );
    }

    #[test]
    fn every_rust_component_is_checked() {
        use Runtime::*;
        for config in Config::ALL {
            let base = format!(
                "{}\nCONFIG_KASAN_RUST=y\n",
                config.required_options().join("\n")
            );
            let all: String = config
                .rust_options()
                .iter()
                .map(|o| format!("CONFIG_{o}=y\n"))
                .collect();
            assert_eq!(
                check_dot_config(&format!("{base}{all}"), config, Rust, &[]),
                Ok(true),
                "{config}"
            );
            for opt in config.rust_options() {
                // kconfig dropped it: the C twin would run.
                let dropped = all.replace(
                    &format!("CONFIG_{opt}=y\n"),
                    &format!("# CONFIG_{opt} is not set\n"),
                );
                let err =
                    check_dot_config(&format!("{base}{dropped}"), config, Rust, &[]).unwrap_err();
                assert!(err.contains(&format!("CONFIG_{opt}=y")), "{config}: {err}");
                if opt == KUNIT_TEST_OPTION {
                    continue;
                }
                // Asked off, and off: fine; asked off but on: wrong.
                assert_eq!(
                    check_dot_config(&format!("{base}{dropped}"), config, Rust, &[opt]),
                    Ok(true),
                    "{config}: {opt}"
                );
                let err =
                    check_dot_config(&format!("{base}{all}"), config, Rust, &[opt]).unwrap_err();
                assert!(
                    err.contains(&format!("# CONFIG_{opt} is not set")),
                    "{config}: {err}"
                );
            }
            // A C build turns nothing off; nothing outside the mode's components turns off.
            assert!(check_dot_config(
                config.required_options().join("\n").as_str(),
                config,
                C,
                &["KASAN_RUST_PARAMS"]
            )
            .is_err());
            assert!(
                check_dot_config(&format!("{base}{all}"), config, Rust, &["KASAN_RUST_BENCH"])
                    .is_err()
            );
        }
        assert!(Config::SwTags.components().contains(&"KASAN_RUST_SW_TAGS"));
        assert!(!Config::HwTags.components().contains(&"KASAN_RUST_SW_TAGS"));
        assert!(!Config::Full.components().contains(&"KASAN_RUST_TAGS"));
    }

    /// The `config KASAN_RUST_*` options linux/patches add to lib/Kconfig.kasan.
    fn patched_rust_options() -> Vec<String> {
        let dir = util::workspace_root().join("linux/patches");
        let mut opts = Vec::new();
        let mut patches: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "patch"))
            .collect();
        patches.sort();
        for p in patches {
            for line in fs::read_to_string(&p).unwrap().lines() {
                if let Some(opt) = line.strip_prefix("+config ") {
                    if opt.starts_with("KASAN_RUST") && !opts.iter().any(|o| o == opt.trim()) {
                        opts.push(opt.trim().to_string());
                    }
                }
            }
        }
        opts
    }

    #[test]
    fn no_kasan_rust_option_is_forgotten() {
        let opts = patched_rust_options();
        assert!(opts.len() >= 10, "{opts:?}");
        let known = |o: &str| {
            Config::ALL.iter().any(|c| c.rust_options().contains(&o)) || NOT_COMPONENTS.contains(&o)
        };
        for o in &opts {
            assert!(
                known(o),
                "linux/patches add config {o}: add it to a mode's components in \
                 xtask/src/kunit.rs (or to NOT_COMPONENTS)"
            );
        }
        // And each listed option exists.
        for c in Config::ALL {
            for o in c.rust_options().iter().chain(NOT_COMPONENTS) {
                assert!(opts.iter().any(|p| p == o), "{c}: {o} is in no patch");
            }
        }
    }

    /// The test functions of the `#[kunit_tests(rkasan)]` module of rkasan_test.rs: the `fn`
    /// items at the module's indentation.
    fn rkasan_test_fns() -> usize {
        let text =
            fs::read_to_string(util::workspace_root().join("linux/tree/mm/kasan/rkasan_test.rs"))
                .unwrap();
        let (_, module) = text.split_once("#[kunit_tests(rkasan)]").unwrap();
        module.lines().filter(|l| l.starts_with("    fn ")).count()
    }

    /// The `KUNIT_CASE*(` entries of rkasan_quarantine_test.c as the series leaves it: the
    /// overlay's, plus those the patches add to it, less those they remove.
    fn quarantine_test_cases() -> usize {
        const FILE: &str = "mm/kasan/rkasan_quarantine_test.c";
        let is_case = |l: &str| {
            let t = l.trim_start();
            t.starts_with("KUNIT_CASE") && t.contains('(')
        };
        let root = util::workspace_root();
        let text = fs::read_to_string(root.join("linux/tree").join(FILE)).unwrap();
        let mut cases = text.lines().filter(|l| is_case(l)).count();
        for patch in fs::read_dir(root.join("linux/patches")).unwrap() {
            let patch = fs::read_to_string(patch.unwrap().path()).unwrap();
            let mut in_file = false;
            for line in patch.lines() {
                if let Some(path) = line.strip_prefix("diff --git a/") {
                    in_file = path.starts_with(&format!("{FILE} "));
                } else if in_file && line.starts_with('+') && is_case(&line[1..]) {
                    cases += 1;
                } else if in_file && line.starts_with('-') && is_case(&line[1..]) {
                    cases -= 1;
                }
            }
        }
        cases
    }

    #[test]
    fn expected_counts_match_the_test_sources() {
        let count = |c: Config, r: Runtime, suite: &str| {
            c.expected_suites(r)
                .iter()
                .find(|(s, _)| *s == suite)
                .map(|(_, n)| *n)
        };
        let rkasan = rkasan_test_fns();
        let quarantine = quarantine_test_cases();
        assert!(rkasan > 0 && quarantine > 0);
        for c in Config::ALL {
            if !c.rust_only() {
                assert_eq!(count(c, Runtime::Rust, "rkasan"), Some(rkasan), "{c}");
                assert_eq!(count(c, Runtime::C, "kasan"), Some(KASAN_CASES), "{c}");
                assert_eq!(count(c, Runtime::Rust, "kasan"), Some(KASAN_CASES), "{c}");
                assert_eq!(count(c, Runtime::C, "rkasan"), None, "{c}");
            }
            let q = count(c, Runtime::Rust, "rkasan_quarantine");
            if !c.tag_based() {
                assert_eq!(q, Some(quarantine), "{c}");
            } else {
                assert_eq!(q, None, "{c}");
            }
        }
        assert_eq!(
            Config::HwTagsAsync.expected_suites(Runtime::Rust),
            [("rkasan", rkasan)]
        );
        assert_eq!(
            Config::HwTagsOff.expected_suites(Runtime::Rust),
            [("rkasan", 1)]
        );
        assert!(Config::HwTagsOff.expected_suites(Runtime::C).is_empty());
        // QUARANTINE off: no rkasan_quarantine suite.
        let off = Config::Generic.expected_suites_off(Runtime::Rust, Some("KASAN_RUST_QUARANTINE"));
        assert_eq!(off, [("kasan", KASAN_CASES), ("rkasan", rkasan)]);
        let off = Config::Generic.expected_suites_off(Runtime::Rust, Some("KASAN_RUST_SHADOW"));
        assert_eq!(off, Config::Generic.expected_suites(Runtime::Rust));
    }

    #[test]
    fn incomplete_runs_are_named() {
        let console = |text: &str| crate::results::parse_ktap(text);
        let generic = fs::read_to_string(
            util::workspace_root().join("xtask/tests/data/c-runtime-generic.console.log"),
        )
        .unwrap();
        let expected = Config::Generic.expected_suites(Runtime::C);
        assert!(check_expected(&console(&generic), expected).is_empty());
        // A boot that died before the first case.
        let problems = check_expected(&console("Kernel panic - not syncing\n"), expected);
        assert_eq!(
            problems,
            [
                "no KTAP plan (1..N) for (top level)",
                "suite kasan did not run (76 cases expected)"
            ]
        );
        // A crash inside the suite.
        let cut: String = generic
            .lines()
            .take_while(|l| !l.contains("ok 40 "))
            .map(|l| format!("{l}\n"))
            .collect();
        let problems = check_expected(&console(&cut), expected);
        assert_eq!(
            problems,
            [
                "suite kasan: the kernel's output ended inside it (a crash or a hang)",
                "suite kasan: 39 cases, 76 expected"
            ]
        );
        // The Rust suites: one missing, one whose init failed, one undeclared suite.
        let rust = Config::Generic.expected_suites(Runtime::Rust);
        let mut r = console(&generic);
        r.suites.push(crate::results::Suite {
            name: "rkasan_quarantine".into(),
            cases: Vec::new(),
            verdict: Some(Status::Fail),
        });
        r.suites.push(crate::results::Suite {
            name: "other".into(),
            cases: r.suites[0].cases[..1].to_vec(),
            verdict: None,
        });
        let problems = check_expected(&r, rust);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].starts_with("suite rkasan did not run (21"),
            "{problems:?}"
        );
        assert!(
            problems[1].starts_with("suite rkasan_quarantine reported no case (FAIL"),
            "{problems:?}"
        );
        assert!(
            problems[2].starts_with("suite other ran but"),
            "{problems:?}"
        );
        // A suite without its plan.
        let no_plan = generic.replace("    1..76\n", "");
        assert_eq!(
            check_expected(&console(&no_plan), expected),
            ["no KTAP plan (1..N) for kasan"]
        );
    }

    #[test]
    fn timeouts() {
        for c in Config::ALL {
            // kunit.py's default is 300 s; no config waits less, the emulated ones longer.
            assert!(c.timeout_secs() >= 300, "{c}");
        }
        assert!(Config::HwTags.timeout_secs() > Config::Generic.timeout_secs());
        assert!(Config::SwTags.timeout_secs() > Config::Generic.timeout_secs());
    }

    fn fake_tree(name: &str) -> Tree {
        let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        fs::create_dir_all(dir.join("lib")).unwrap();
        fs::write(
            dir.join("Makefile"),
            "VERSION = 7\nPATCHLEVEL = 2\nSUBLEVEL = 13\n",
        )
        .unwrap();
        fs::write(dir.join("lib/Kconfig.kasan"), "config KASAN_GENERIC\n").unwrap();
        Tree {
            path: dir,
            custom: true,
        }
    }

    fn args(cmd: &Command) -> Vec<String> {
        cmd.get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn kunit_py_arguments() {
        let tree = fake_tree("kunit-py");
        let dir = Path::new("/b");
        let hw =
            args(&kunit_py(&tree, "exec", Config::HwTagsAsync, Runtime::C, None, dir).unwrap());
        assert!(hw.contains(&"--arch=arm64".to_string()), "{hw:?}");
        assert!(
            hw.contains(&"--qemu_args=-machine virt,mte=on".to_string()),
            "{hw:?}"
        );
        assert!(
            hw.iter()
                .any(|a| a.ends_with("linux/kunitconfigs/hw-tags.config")),
            "{hw:?}"
        );
        assert!(hw.contains(&"--kconfig_add=# CONFIG_KASAN_RUST is not set".to_string()));
        let sw = args(&kunit_py(&tree, "build", Config::SwTags, Runtime::C, None, dir).unwrap());
        assert!(sw.contains(&"--arch=arm64".to_string()), "{sw:?}");
        assert!(!sw.iter().any(|a| a.starts_with("--qemu_args")), "{sw:?}");
        let um = args(&kunit_py(&tree, "build", Config::Full, Runtime::C, None, dir).unwrap());
        assert!(um.contains(&"--arch=um".to_string()), "{um:?}");
        // Every exec has an explicit --timeout, the config's.
        for c in Config::ALL {
            let exec = args(
                &exec_command(&tree, c, Runtime::C, None, dir, Path::new("/r.json"), None).unwrap(),
            );
            let want = format!("--timeout={}", c.timeout_secs());
            assert!(exec.contains(&want), "{c}: {exec:?}");
            assert!(exec.contains(&"--json=/r.json".to_string()), "{exec:?}");
        }
        // A Rust build asks for every component of the mode the tree has, `=y` or off.
        fs::write(
            tree.path.join("lib/Kconfig.kasan"),
            "config KASAN_RUST\nconfig KASAN_RUST_SHADOW\nconfig KASAN_RUST_REPORT\n\
             config KASAN_RUST_KUNIT_TEST\n",
        )
        .unwrap();
        let rust = args(
            &kunit_py(
                &tree,
                "build",
                Config::Generic,
                Runtime::Rust,
                Some("KASAN_RUST_REPORT"),
                dir,
            )
            .unwrap(),
        );
        let kconfig: Vec<&str> = rust
            .iter()
            .filter_map(|a| a.strip_prefix("--kconfig_add="))
            .collect();
        assert_eq!(
            kconfig,
            [
                "CONFIG_KASAN_RUST=y",
                "CONFIG_KASAN_RUST_KUNIT_TEST=y",
                "CONFIG_KASAN_RUST_SHADOW=y",
                "# CONFIG_KASAN_RUST_REPORT is not set"
            ]
        );
        assert_eq!(
            out_name(Config::Generic, Runtime::Rust, Some("KASAN_RUST_REPORT")),
            "generic-rust-no-report"
        );
        assert_eq!(out_name(Config::SwTags, Runtime::C, None), "sw-tags-c");
        assert!(check_off(Config::Generic, Runtime::Rust, Some("KASAN_RUST_TAGS")).is_err());
        assert!(check_off(Config::Generic, Runtime::C, Some("KASAN_RUST_SHADOW")).is_err());
        assert!(check_off(Config::HwTags, Runtime::Rust, Some("KASAN_RUST_TAGS")).is_ok());
        let _ = fs::remove_dir_all(&tree.path);
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
        // The host gate's list: no panic path gets through.
        for sym in [
            "_RNvNtCs1_4core6option13unwrap_failed",
            "_RNvNtCs1_4core6option13expect_failed",
            "_RNvNtCs1_4core6result13unwrap_failed",
            "_RNvNtNtCs1_4core5slice5index24slice_end_index_len_fail",
            "_RNvNtCs1_4core4cell22panic_already_borrowed",
            "__hwasan_load4",
            "rust_helper_spin_lock",
        ] {
            assert_eq!(
                forbidden_symbols(&format!("                 U {sym}\n")),
                [sym],
                "{sym}"
            );
        }
    }

    /// `llvm-objdump -d -r` of two functions: `caller` relocating to `callee`, and another.
    fn disasm_calling(caller: &str, callee: &str) -> String {
        format!(
            "rkasan.o:\tfile format elf64-x86-64\n\n\
             0000000000001000 <{caller}>:\n\
             \x20   1000:      \tpushq\t%rbx\n\
             \x20   1001:      \tcallq\t0x1006 <{caller}+0x6>\n\
             \t\t0000000000001002:  R_X86_64_PLT32\t{callee}-0x4\n\
             \x20   1006:      \tretq\n\n\
             0000000000002000 <rkasan_poison>:\n\
             \x20   2000:      \tcallq\t0x2005 <rkasan_poison+0x5>\n\
             \t\t0000000000002001:  R_X86_64_PLT32\tkasan_poison_granule-0x4\n\
             \x20   2005:      \tretq\n"
        )
    }

    #[test]
    fn mem_functions_only_on_the_report_path() {
        // Allowed: the report and the bug type, the core's report module (mangled).
        for caller in [
            "rkasan_report",
            "rkasan_bug_type",
            "_RNvNtCs9_6rkasan6report12print_report",
            "rkasan_tags_print_tags",
        ] {
            for mem in MEM_FUNCTIONS {
                assert_eq!(
                    check_mem_callers(&disasm_calling(caller, mem)),
                    Ok(vec![caller.to_string()]),
                    "{caller} {mem}"
                );
            }
        }
        // Forbidden: the check path, poisoning, the quarantine.
        for caller in [
            "rkasan_check_range",
            "rkasan_unpoison",
            "_RNvNtCs9_6rkasan10quarantine3put",
        ] {
            let err = check_mem_callers(&disasm_calling(caller, "memset")).unwrap_err();
            assert!(err.starts_with(&format!("{caller} calls the instrumented memset()")));
        }
        // arm64's relocation, and a call to something else.
        let arm = "0000000000000000 <rkasan_poison>:\n       0: \tbl\t0x0 <rkasan_poison>\n\
                   \t\t0000000000000000:  R_AARCH64_CALL26\tmemcpy\n";
        assert!(check_mem_callers(arm).is_err());
        assert_eq!(
            check_mem_callers(&disasm_calling("rkasan_check_range", "memcpy_inline")),
            Ok(vec![])
        );
        // The poisoning paths fill the shadow with the uninstrumented __memset(), as
        // generic.c does: no report path needed.
        assert_eq!(
            check_mem_callers(&disasm_calling("rkasan_poison", "__memset")),
            Ok(vec![])
        );
    }

    #[test]
    fn uml_boots_like_kunit_py() {
        // kunit_kernel.py: run_kernel() appends the filter and kunit.enable=1, then
        // LinuxSourceTreeOperationsUml.start() mem=1G, console=tty, kunit_shutdown=halt.
        assert_eq!(
            uml_kunit_params(Config::Full, Some("rkasan*")),
            [
                "seccomp=on",
                "ncpus=2",
                "kunit.filter_glob=rkasan*",
                "kunit.enable=1",
                "mem=1G",
                "console=tty",
                "kunit_shutdown=halt"
            ]
        );
        assert_eq!(
            uml_kunit_params(Config::Generic, None),
            [
                "kunit.enable=1",
                "mem=1G",
                "console=tty",
                "kunit_shutdown=halt"
            ]
        );
    }

    #[test]
    fn uml_boot_writes_the_console_and_times_out() {
        let dir = std::env::temp_dir().join(format!("xtask-boot-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let linux = dir.join("linux");
        // A "kernel" that prints its arguments, many lines fast, then sleeps when asked.
        fs::write(
            &linux,
            "#!/bin/sh\necho \"$@\"\nseq 1 100000\n[ \"$1\" = hang ] && sleep 30\nexit 0\n",
        )
        .unwrap();
        std::process::Command::new("chmod")
            .args(["+x"])
            .arg(&linux)
            .status()
            .unwrap();
        let log = dir.join("console.log");
        let second = std::time::Duration::from_secs(20);
        let boot = boot_to_file(&linux, &["a".into(), "b=c".into()], &dir, &log, second).unwrap();
        assert!(!boot.timed_out);
        assert!(boot.console.starts_with("a b=c\n1\n2\n"));
        assert_eq!(boot.console.lines().count(), 100_001);
        let short = std::time::Duration::from_millis(500);
        let boot = boot_to_file(&linux, &["hang".into()], &dir, &log, short).unwrap();
        assert!(boot.timed_out);
        let _ = fs::remove_dir_all(&dir);
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
        let tree = fake_tree("no-rust");
        let dir = tree.path.clone();
        let err = run(&tree, Config::Generic, Runtime::Rust, None, None, 1)
            .err()
            .unwrap()
            .0;
        assert!(err.contains("no `config KASAN_RUST`"), "{err}");
        assert!(err.contains("Not falling back to C"), "{err}");
        let _ = fs::remove_dir_all(&dir);
    }
}
