// SPDX-License-Identifier: GPL-2.0

//! What a configuration is: the architectures, the kunitconfigs and their extra boots, the two
//! runtimes, each mode's Rust components and the suites each run must report. Kept apart from
//! kunit.rs, which builds and boots them, so that everything else can name a config without Tree.

use std::fmt;
use std::path::PathBuf;

use crate::util::{self, bail, Result};

/// The architecture a configuration's kernel is built for (kunit.py's `--arch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// User-mode Linux: the kernel runs as a host process, no emulator needed.
    Um,
    /// arm64 under QEMU (`qemu-system-aarch64`): the tag-based KASAN modes exist only there.
    Arm64,
    /// x86_64 under QEMU (`qemu-system-x86_64`), booted by the lab itself (kunit.rs's
    /// `boot_for_kunit`).
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
    ///
    /// [`is_built`]: crate::build::is_built
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
    ///
    /// [`x86_64_qemu_args`]: crate::kunit::x86_64_qemu_args
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
/// (the runtime's kconfig), the bench's suite and the bench's floor kernel (`cargo xtask bench`
/// turns them on; the floor must never be on in a tested kernel).
pub const NOT_COMPONENTS: &[&str] = &["KASAN_RUST", "KASAN_RUST_BENCH", "KASAN_RUST_BENCH_FLOOR"];

/// The case count of upstream's suite `kasan` (mm/kasan/kasan_test_c.c and kasan_test_rust.rs):
/// the cases another mode needs are reported as SKIP, so every config runs all of them.
pub const KASAN_CASES: usize = 76;
/// The case count of the Rust runtime's suite `rkasan` (mm/kasan/rkasan_test.rs): cases of the
/// other modes are compiled out and reported as SKIP, so the count is the same everywhere.
pub const RKASAN_CASES: usize = 22;
/// The case count of `rkasan_quarantine` (mm/kasan/rkasan_quarantine_test.c, Generic KASAN).
pub const RKASAN_QUARANTINE_CASES: usize = 8;

/// THE table of what each run must report: per (config, runtime), every suite and its case
/// count. A missing suite, another case count, a suite that reported no case or an undeclared
/// suite fails the run (see [`check_expected`]). Rust-only boots have no C entry (n/a).
///
/// [`check_expected`]: crate::kunit::check_expected
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

    /// The `.config` line (and `--kconfig_add` option) that selects it.
    pub fn selection(self) -> &'static str {
        match self {
            Runtime::C => "# CONFIG_KASAN_RUST is not set",
            Runtime::Rust => "CONFIG_KASAN_RUST=y",
        }
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How KASAN instruments accesses (the bench builds each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Instrumentation {
    /// `CONFIG_KASAN_OUTLINE`: every access calls `__asan_loadN` / `__asan_storeN`.
    Outline,
    /// `CONFIG_KASAN_INLINE`: the shadow check is inlined, the runtime only reports.
    Inline,
}

impl Instrumentation {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Instrumentation::Outline => "outline",
            Instrumentation::Inline => "inline",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Instrumentation> {
        [Instrumentation::Outline, Instrumentation::Inline]
            .into_iter()
            .find(|m| m.name() == s)
    }

    /// Its `.config` line.
    pub fn option(self) -> &'static str {
        match self {
            Instrumentation::Outline => "CONFIG_KASAN_OUTLINE=y",
            Instrumentation::Inline => "CONFIG_KASAN_INLINE=y",
        }
    }
}

impl fmt::Display for Instrumentation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
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

/// The QEMU binary of the x86_64 configs.
pub const QEMU_X86_64: &str = "qemu-system-x86_64";

#[cfg(test)]
mod tests {
    use std::fs;

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
                 xtask/src/config.rs (or to NOT_COMPONENTS)"
            );
        }
        // And each listed option exists.
        for c in Config::ALL {
            for o in c.rust_options().iter().chain(NOT_COMPONENTS) {
                assert!(opts.iter().any(|p| p == o), "{c}: {o} is in no patch");
            }
        }
    }

    /// The lines for which `is_item` holds of the kernel file `file` as the series leaves it:
    /// the overlay's, plus those the patches add to it, less those they remove.
    fn items_after_series(file: &str, is_item: impl Fn(&str) -> bool) -> usize {
        let root = util::workspace_root();
        let text = fs::read_to_string(root.join("linux/tree").join(file)).unwrap();
        let mut items = text.lines().filter(|l| is_item(l)).count();
        for patch in fs::read_dir(root.join("linux/patches")).unwrap() {
            let patch = fs::read_to_string(patch.unwrap().path()).unwrap();
            let mut in_file = false;
            for line in patch.lines() {
                if let Some(path) = line.strip_prefix("diff --git a/") {
                    in_file = path.starts_with(&format!("{file} "));
                } else if in_file && line.starts_with('+') && is_item(&line[1..]) {
                    items += 1;
                } else if in_file && line.starts_with('-') && is_item(&line[1..]) {
                    items -= 1;
                }
            }
        }
        items
    }

    /// The test functions of the `#[kunit_tests(rkasan)]` module of rkasan_test.rs: its
    /// `#[test]` attributes, the file's only ones.
    fn rkasan_test_fns() -> usize {
        items_after_series("mm/kasan/rkasan_test.rs", |l| l == "    #[test]")
    }

    /// The `KUNIT_CASE*(` entries of rkasan_quarantine_test.c as the series leaves it: the
    /// overlay's, plus those the patches add to it, less those they remove.
    fn quarantine_test_cases() -> usize {
        items_after_series("mm/kasan/rkasan_quarantine_test.c", |l| {
            let t = l.trim_start();
            t.starts_with("KUNIT_CASE") && t.contains('(')
        })
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
    fn timeouts() {
        for c in Config::ALL {
            // kunit.py's default is 300 s; no config waits less, the emulated ones longer.
            assert!(c.timeout_secs() >= 300, "{c}");
        }
        assert!(Config::HwTags.timeout_secs() > Config::Generic.timeout_secs());
        assert!(Config::SwTags.timeout_secs() > Config::Generic.timeout_secs());
    }
}
