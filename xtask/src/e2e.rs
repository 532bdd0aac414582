// SPDX-License-Identifier: GPL-2.0

//! `cargo xtask e2e`: end-to-end runs of a kernel with modules, for each runtime, on UML and on
//! x86_64 under QEMU ([`Target`]).
//!
//! The kernel (UML: `linux/kunitconfigs/e2e.config`, build dir `$CACHE/build/e2e`; x86_64: the
//! `x86_64` config with the KASAN tests as modules, in that config's build dir; both runtimes)
//! boots an initramfs of Debian's busybox-static, `kasan_test.ko` and `rkasan_trigger.ko`, whose
//! `/init` reads what to do from the kernel command line (`rkasan_e2e.run=` and
//! `rkasan_e2e.bugs=`). First `insmod kasan_test.ko` runs the upstream suite as a module; its
//! results must match the built-in run's. Then one boot per [`scenarios()`] entry loads the
//! trigger module under boot parameters (`kasan.fault=`, `kasan_multi_shot`,
//! `kasan.quarantine_size=`) and checks what the console shows against the scenario's expected
//! outcome; the C and the Rust runtime's reports must be the same line by line once addresses,
//! pids and stack frames are masked.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::build::{self, Build};
use crate::config::{Arch, Config, Runtime, QEMU_X86_64};
use crate::kunit;
use crate::reports::{first_difference, mask, report_lines, strip_time};
use crate::results::{parse_ktap, Results, Status};
use crate::tree::Tree;
use crate::util::{self, bail, Context, Result, Step};

/// Where an e2e kernel runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// UML: `e2e.config`, the generic config's shape with modules, in a build dir of its own.
    Um,
    /// x86_64 under QEMU: the `x86_64` config (syzbot's shape, which has modules) with the KASAN
    /// tests as modules ([`Target::kconfig_add`]), built in that config's build dir, where only
    /// the tests and the link change: a first build there costs a cold x86_64 build (11.5
    /// minutes here) otherwise.
    X86_64,
}

impl Target {
    /// Every target, in the order `e2e` runs them.
    pub const ALL: [Target; 2] = [Target::Um, Target::X86_64];

    /// Whether `e2e` without `--all`, and so `ci`, runs it: x86_64, whose kernel is the
    /// `x86_64` config's build, while UML's needs a build dir of its own, 12 minutes cold here,
    /// which a fresh machine's `ci` cannot afford (see [`Config::ci_tier`]).
    pub fn in_ci(self) -> bool {
        self == Target::X86_64
    }

    /// Its name, which names its output directories.
    pub fn name(self) -> &'static str {
        match self {
            Target::Um => "e2e",
            Target::X86_64 => "e2e-x86_64",
        }
    }

    /// The name of its build directory.
    pub fn build_name(self) -> &'static str {
        match self {
            Target::Um => "e2e",
            Target::X86_64 => Config::X86_64.build_name(),
        }
    }

    /// Its kunitconfig.
    pub fn fragment(self) -> PathBuf {
        match self {
            Target::Um => util::workspace_root().join("linux/kunitconfigs/e2e.config"),
            Target::X86_64 => Config::X86_64.fragment(),
        }
    }

    /// Options on top of its kunitconfig (after the runtime's): the upstream suite and the
    /// trigger as modules.
    pub fn kconfig_add(self) -> &'static [&'static str] {
        match self {
            Target::Um => &[],
            Target::X86_64 => &["CONFIG_KASAN_KUNIT_TEST=m", "CONFIG_KASAN_TRIGGER=m"],
        }
    }

    /// The architecture it builds for.
    pub fn arch(self) -> Arch {
        match self {
            Target::Um => Arch::Um,
            Target::X86_64 => Arch::X86_64,
        }
    }

    /// The matrix config whose built-in `kasan` run the module run must match: the same KASAN
    /// options without modules.
    pub fn builtin(self) -> Config {
        match self {
            Target::Um => Config::Generic,
            Target::X86_64 => Config::X86_64,
        }
    }

    /// Its CPUs: the built-in config's vCPUs on x86_64; UML boots one CPU without `ncpus=`.
    pub fn cpus(self) -> u32 {
        match self {
            Target::Um => 1,
            Target::X86_64 => self.builtin().cpus(),
        }
    }

    /// The name of its output directory for `runtime` under `target/rkasan/`.
    pub fn out_name(self, runtime: Runtime) -> String {
        format!("{}-{runtime}", self.name())
    }

    /// The kernel parameters of every boot: memory, the console (UML's `tty`, the PC's
    /// serial port) and `/init`; x86_64 reboots at once on a panic, which QEMU's `-no-reboot`
    /// turns into an exit (UML exits on a panic by itself).
    pub fn boot_params(self) -> &'static [&'static str] {
        match self {
            Target::Um => &["mem=512M", "console=tty", "rdinit=/init"],
            Target::X86_64 => &["mem=512M", "console=ttyS0", "rdinit=/init", "panic=-1"],
        }
    }

    /// How `/init` ends the boot: UML powers off; a PC without firmware power management
    /// reboots, which QEMU's `-no-reboot` turns into an exit.
    pub fn shutdown(self) -> &'static str {
        match self {
            Target::Um => "poweroff -f",
            Target::X86_64 => "reboot -f",
        }
    }

    /// The kernel's command-line limit (`COMMAND_LINE_SIZE`: 4 KiB on UML, 2 KiB on x86_64,
    /// where QEMU refuses a longer one).
    pub fn command_line_size(self) -> usize {
        match self {
            Target::Um => 4096,
            Target::X86_64 => 2048,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Debian's busybox-static (`cargo xtask setup` installs it).
const BUSYBOX: &str = "/bin/busybox";

/// The busybox applets `/init` uses, linked in `/bin`.
pub const APPLETS: &[&str] = &[
    "sh", "mount", "mkdir", "cat", "insmod", "poweroff", "reboot",
];

/// The modules the initramfs carries, by their path in the build directory.
pub const MODULES: &[&str] = &["mm/kasan/kasan_test.ko", "mm/kasan/rkasan_trigger.ko"];

/// The line `/init` prints when it is done (before `poweroff -f`).
pub const DONE: &str = "rkasan-e2e: done";

/// The `/init` script: mounts proc, sysfs, devtmpfs and debugfs, takes the console, reads
/// `rkasan_e2e.run=` (`kasan_test`, `trigger` or `none`) and `rkasan_e2e.bugs=` (the trigger's
/// `bugs=`) from /proc/cmdline, loads the module, shows the quarantine's debugfs file when there
/// is one, prints [`DONE`] and ends the boot ([`Target::shutdown`]).
pub fn init_script(target: Target) -> String {
    format!(
        r#"#!/bin/sh
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t debugfs debugfs /sys/kernel/debug
run=kasan_test
bugs=r
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	rkasan_e2e.run=*) run="${{arg#*=}}" ;;
	rkasan_e2e.bugs=*) bugs="${{arg#*=}}" ;;
	esac
done
echo "rkasan-e2e: run $run"
case "$run" in
kasan_test) insmod /kasan_test.ko ;;
trigger) insmod /rkasan_trigger.ko bugs="$bugs" ;;
esac
echo "rkasan-e2e: insmod status $?"
if [ -r /sys/kernel/debug/kasan/quarantine ]; then
	echo "rkasan-e2e: quarantine"
	cat /sys/kernel/debug/kasan/quarantine
fi
echo "{DONE}"
{shutdown}
"#,
        shutdown = target.shutdown()
    )
}

/// One file of the initramfs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A directory.
    Dir(&'static str),
    /// A copy of a host file (`mode` 0755 or 0644).
    File(String, PathBuf, u32),
    /// A symbolic link: path, target.
    Link(String, String),
    /// A file with the given text (mode 0755).
    Script(&'static str, String),
}

impl Entry {
    /// Its path in the initramfs (relative, as cpio wants it).
    pub fn path(&self) -> &str {
        match self {
            Entry::Dir(p) | Entry::Script(p, _) => p,
            Entry::File(p, ..) | Entry::Link(p, _) => p,
        }
    }
}

/// What the initramfs holds, in cpio order (directories first).
pub fn initramfs_entries(target: Target, build: &Path) -> Vec<Entry> {
    let mut entries: Vec<Entry> = ["bin", "dev", "proc", "sys"]
        .into_iter()
        .map(Entry::Dir)
        .collect();
    entries.push(Entry::File(
        "bin/busybox".into(),
        PathBuf::from(BUSYBOX),
        0o755,
    ));
    for applet in APPLETS {
        entries.push(Entry::Link(format!("bin/{applet}"), "busybox".into()));
    }
    for module in MODULES {
        let name = Path::new(module).file_name().unwrap_or_default();
        entries.push(Entry::File(
            name.to_string_lossy().into_owned(),
            build.join(module),
            0o644,
        ));
    }
    entries.push(Entry::Script("init", init_script(target)));
    entries
}

/// Stages `entries` in `stage` and packs them with `cpio -o -H newc | gzip` into `out`.
fn pack_initramfs(entries: &[Entry], stage: &Path, out: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if stage.exists() {
        fs::remove_dir_all(stage).context(format!("cannot remove {}", stage.display()))?;
    }
    util::mkdir(stage)?;
    for entry in entries {
        let dest = stage.join(entry.path());
        match entry {
            Entry::Dir(_) => util::mkdir(&dest)?,
            Entry::File(_, src, mode) => {
                if !src.is_file() {
                    bail!(
                        "{} is missing{}",
                        src.display(),
                        if src.starts_with(BUSYBOX) {
                            " (Debian's busybox-static: run `cargo xtask setup`)"
                        } else {
                            ""
                        }
                    );
                }
                fs::copy(src, &dest).context(format!("cannot copy {}", src.display()))?;
                fs::set_permissions(&dest, fs::Permissions::from_mode(*mode))?;
            }
            Entry::Link(_, target) => std::os::unix::fs::symlink(target, &dest)
                .context(format!("cannot link {}", dest.display()))?,
            Entry::Script(_, text) => {
                util::write(&dest, text)?;
                fs::set_permissions(&dest, fs::Permissions::from_mode(0o755))?;
            }
        }
    }
    let list: String = entries.iter().map(|e| format!("{}\n", e.path())).collect();
    let file = fs::File::create(out).context(format!("cannot create {}", out.display()))?;
    let mut cpio = Command::new("cpio")
        .args(["-o", "-H", "newc", "-R", "0:0", "--quiet"])
        .current_dir(stage)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run cpio (Debian package cpio: run `cargo xtask setup`)")?;
    let cpio_out = cpio.stdout.take().expect("piped");
    let mut gzip = Command::new("gzip")
        .arg("-1")
        .stdin(Stdio::from(cpio_out))
        .stdout(Stdio::from(file))
        .spawn()
        .context("cannot run gzip")?;
    cpio.stdin
        .take()
        .expect("piped")
        .write_all(list.as_bytes())?;
    let cpio_status = cpio.wait()?;
    let gzip_status = gzip.wait()?;
    if !cpio_status.success() || !gzip_status.success() {
        bail!("cpio -o -H newc | gzip failed ({cpio_status}, {gzip_status})");
    }
    Ok(())
}

/// What a boot should show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expect {
    /// KASAN reports (`BUG: KASAN:` lines).
    pub reports: usize,
    /// The panic message (after `Kernel panic - not syncing: `), if the boot must panic.
    pub panic: Option<&'static str>,
    /// The option named by a `Malformed early option '...'` warning (exactly one), if any.
    pub malformed: Option<&'static str>,
    /// The quarantine's `bytes_bound:`: a number, or [`Bound::Default`] (as in the `one-shot`
    /// scenario of the same runtime).
    pub bound: Option<Bound>,
    /// `kasan.free_check` on, as debugfs `kasan/quarantine` says, with objects checked.
    pub free_check: bool,
    /// The line of `kasan_non_canonical_hook()` (`KASAN: null-ptr-deref in range [...]`) the
    /// oops of a bogus pointer's shadow check must carry, if any; none may appear otherwise.
    pub non_canonical: Option<&'static str>,
}

/// An expected quarantine bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// This many bytes.
    Bytes(u64),
    /// The bound of a boot without `kasan.quarantine_size=`.
    Default,
}

/// One boot-parameter scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Its name.
    pub name: &'static str,
    /// Extra kernel parameters.
    pub params: Vec<String>,
    /// The trigger module's `bugs=` (`r` read, `w` write, `n` NULL pointer read, `l` large
    /// kmalloc use-after-free), or empty for no module.
    pub bugs: &'static str,
    /// Only with the Rust runtime (a parameter the C runtime does not have).
    pub rust_only: bool,
    /// The outcome with the C runtime where it is not [`Scenario::expect`]: a bug that only the
    /// Rust runtime catches. The two runtimes' reports are then not compared.
    pub c_expect: Option<Expect>,
    /// The outcome.
    pub expect: Expect,
}

const REPORT: Expect = Expect {
    reports: 1,
    panic: None,
    malformed: None,
    bound: None,
    free_check: false,
    non_canonical: None,
};

/// The quarantine size the `quarantine-size` scenario sets, in MiB: it passes it with the `M`
/// suffix, as users write sizes on the command line (`mem=`).
const QUARANTINE_SIZE_MIB: u64 = 8;

/// [`QUARANTINE_SIZE_MIB`] in bytes.
const QUARANTINE_SIZE: u64 = QUARANTINE_SIZE_MIB << 20;

/// The bound [`QUARANTINE_SIZE`] gives: the size less the per-CPU queues' 1 MiB per CPU.
fn quarantine_bound(target: Target) -> u64 {
    QUARANTINE_SIZE - (u64::from(target.cpus()) << 20)
}

/// A long `kasan.fault=` value: the longest that fits the target's command line with the
/// lab's other parameters, about 4 KiB on UML (a longer one makes UML exit before booting)
/// and 2 KiB on x86_64.
fn long_value(target: Target) -> String {
    "x".repeat(target.command_line_size() - 296)
}

impl Scenario {
    /// Its kernel parameters after those of every boot: no built-in KUnit suite (one could
    /// take the one report of a boot without `kasan_multi_shot`), what `/init` does, its own.
    pub fn boot_params(&self) -> Vec<String> {
        let mut params = vec!["kunit.enable=0".to_string()];
        if self.bugs.is_empty() {
            params.push("rkasan_e2e.run=none".into());
        } else {
            params.push("rkasan_e2e.run=trigger".into());
            params.push(format!("rkasan_e2e.bugs={}", self.bugs));
        }
        params.extend(self.params.iter().cloned());
        params
    }
}

/// The scenarios, in the order they boot.
pub fn scenarios(target: Target) -> Vec<Scenario> {
    let p = |s: &str| vec![s.to_string()];
    let malformed = |name: &'static str, value: String| Scenario {
        name,
        params: vec![format!("kasan.fault={value}")],
        bugs: "w",
        rust_only: false,
        c_expect: None,
        expect: Expect {
            malformed: Some("kasan.fault"),
            ..REPORT
        },
    };
    let mut all = vec![
        Scenario {
            name: "one-shot",
            params: vec![],
            bugs: "rr",
            rust_only: false,
            c_expect: None,
            expect: REPORT,
        },
        Scenario {
            name: "multi-shot",
            params: p("kasan_multi_shot"),
            bugs: "rr",
            rust_only: false,
            c_expect: None,
            expect: Expect {
                reports: 2,
                ..REPORT
            },
        },
        Scenario {
            name: "fault-panic",
            params: p("kasan.fault=panic"),
            bugs: "r",
            rust_only: false,
            c_expect: None,
            expect: Expect {
                panic: Some("kasan.fault=panic set ..."),
                ..REPORT
            },
        },
        Scenario {
            name: "fault-panic-on-write",
            params: vec![
                "kasan.fault=panic_on_write".into(),
                "kasan_multi_shot".into(),
            ],
            bugs: "rw",
            rust_only: false,
            c_expect: None,
            expect: Expect {
                reports: 2,
                panic: Some("kasan.fault=panic_on_write set ..."),
                ..REPORT
            },
        },
        malformed("fault-empty", String::new()),
        malformed("fault-PANIC", "PANIC".into()),
        malformed("fault-panic_x", "panic_x".into()),
        malformed("fault-long", long_value(target)),
        Scenario {
            name: "multi-shot=0",
            params: p("kasan_multi_shot=0"),
            bugs: "rr",
            rust_only: false,
            c_expect: None,
            expect: Expect {
                reports: 2,
                ..REPORT
            },
        },
        Scenario {
            name: "quarantine-size",
            params: vec![format!("kasan.quarantine_size={QUARANTINE_SIZE_MIB}M")],
            bugs: "",
            rust_only: true,
            c_expect: None,
            expect: Expect {
                reports: 0,
                bound: Some(Bound::Bytes(quarantine_bound(target))),
                ..REPORT
            },
        },
        Scenario {
            // Every object of the boot is filled and checked; with only the per-CPU queues
            // (a bound of 0), every spill evicts, so the boot checks many.
            name: "free-check",
            params: vec![
                "kasan.free_check=on".into(),
                "kasan.quarantine_size=0".into(),
            ],
            bugs: "",
            rust_only: true,
            c_expect: None,
            expect: Expect {
                reports: 0,
                bound: Some(Bound::Bytes(0)),
                free_check: true,
                ..REPORT
            },
        },
        Scenario {
            name: "free-check-bad",
            params: p("kasan.free_check=1"),
            bugs: "",
            rust_only: true,
            c_expect: None,
            expect: Expect {
                reports: 0,
                malformed: Some("kasan.free_check"),
                bound: Some(Bound::Default),
                ..REPORT
            },
        },
        Scenario {
            name: "quarantine-size-bad",
            params: p("kasan.quarantine_size=8MB"),
            bugs: "",
            rust_only: true,
            c_expect: None,
            expect: Expect {
                reports: 0,
                malformed: Some("kasan.quarantine_size"),
                bound: Some(Bound::Default),
                ..REPORT
            },
        },
    ];
    // A large kmalloc object read after its free and 64 more allocations of its size: the C
    // runtime gave its pages back at once and one of the 64 got them, so the read hits a live
    // object; the Rust quarantine still holds them (the kernel's KASAN bug 218316).
    all.push(Scenario {
        name: "large-uaf",
        params: vec![],
        bugs: "l",
        rust_only: false,
        c_expect: Some(Expect {
            reports: 0,
            ..REPORT
        }),
        expect: REPORT,
    });
    if target == Target::X86_64 {
        // The x86_64 kernel has inline checks: the check of `*(NULL + 16)` loads the shadow
        // byte at `KASAN_SHADOW_OFFSET + 2`, a non-canonical address, and the general
        // protection fault's oops decodes it. UML's outline checks have shadow for every
        // address, so there the read itself faults and no hook runs.
        all.push(Scenario {
            name: "null-ptr-deref",
            params: vec![],
            bugs: "n",
            rust_only: false,
            c_expect: None,
            expect: Expect {
                reports: 0,
                non_canonical: Some(
                    "KASAN: null-ptr-deref in range [0x0000000000000010-0x0000000000000017]",
                ),
                ..REPORT
            },
        });
    }
    all
}

/// What a console shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// `BUG: KASAN:` lines.
    pub reports: usize,
    /// The options of `Malformed early option '...'` warnings.
    pub malformed: Vec<String>,
    /// The panic message.
    pub panic: Option<String>,
    /// `/init` printed [`DONE`].
    pub done: bool,
    /// The trigger module finished (`rkasan_trigger: done`).
    pub trigger_done: bool,
    /// The quarantine's `bytes_bound:`.
    pub bound: Option<u64>,
    /// The `BUG: KASAN:` lines of reports that the trigger module did not cause.
    pub outside: Vec<String>,
    /// The quarantine's `free_check:` (`on` or `off`).
    pub free_check: Option<String>,
    /// The quarantine's `objects_checked:`.
    pub checked: Option<u64>,
    /// The lines of `kasan_non_canonical_hook()`: `KASAN: <type> in range [...]`.
    pub non_canonical: Vec<String>,
}

/// Reads the facts off a console.
pub fn facts(console: &str) -> Facts {
    let mut f = Facts::default();
    for line in console.lines() {
        let line = strip_time(line);
        if line.contains("BUG: KASAN: ") {
            f.reports += 1;
            if !line.contains("[rkasan_trigger]") {
                f.outside.push(line.trim().to_string());
            }
        }
        if let Some(rest) = line.split("Malformed early option '").nth(1) {
            f.malformed
                .push(rest.split('\'').next().unwrap_or("").to_string());
        }
        if let Some(rest) = line.split("Kernel panic - not syncing: ").nth(1) {
            f.panic.get_or_insert_with(|| rest.trim().to_string());
        }
        if line.trim() == DONE {
            f.done = true;
        }
        if line.contains("rkasan_trigger: done") {
            f.trigger_done = true;
        }
        if let Some(v) = line.trim().strip_prefix("bytes_bound:") {
            f.bound = v.trim().parse().ok();
        }
        if let Some(v) = line.trim().strip_prefix("free_check:") {
            f.free_check = Some(v.trim().to_string());
        }
        if let Some(v) = line.trim().strip_prefix("objects_checked:") {
            f.checked = v.trim().parse().ok();
        }
        if line.trim().starts_with("KASAN: ") && line.contains(" in range [") {
            f.non_canonical.push(line.trim().to_string());
        }
    }
    f
}

/// Checks `facts` against `expect`; `default_bound` is the bound of the same runtime's boot
/// without `kasan.quarantine_size=`. Returns the problems, empty when the outcome is as expected.
pub fn verdict(expect: &Expect, facts: &Facts, default_bound: Option<u64>) -> Vec<String> {
    let mut bad = Vec::new();
    if facts.reports != expect.reports {
        bad.push(format!(
            "{} KASAN report(s), expected {}",
            facts.reports, expect.reports
        ));
    }
    match (expect.panic, &facts.panic) {
        (Some(want), Some(got)) if got != want => {
            bad.push(format!("panicked with `{got}`, expected `{want}`"))
        }
        (Some(want), None) => bad.push(format!("no panic, expected `{want}`")),
        (None, Some(got)) => bad.push(format!("unexpected panic: `{got}`")),
        _ => {}
    }
    if expect.panic.is_some() {
        if facts.done || facts.trigger_done {
            bad.push("kept running after the panic".into());
        }
    } else if !facts.done {
        bad.push(format!("the boot did not complete (no `{DONE}`)"));
    }
    let want: Vec<&str> = expect.malformed.into_iter().collect();
    if facts.malformed != want {
        bad.push(format!(
            "malformed-option warnings {:?}, expected {want:?}",
            facts.malformed
        ));
    }
    match expect.bound {
        Some(Bound::Bytes(n)) if facts.bound != Some(n) => bad.push(format!(
            "quarantine bytes_bound {:?}, expected {n}",
            facts.bound
        )),
        Some(Bound::Default) if !near_default(facts.bound, default_bound) => bad.push(format!(
            "quarantine bytes_bound {:?}, expected about the default {default_bound:?}",
            facts.bound
        )),
        _ => {}
    }
    if expect.free_check {
        if facts.free_check.as_deref() != Some("on") {
            bad.push(format!(
                "quarantine free_check {:?}, expected on",
                facts.free_check
            ));
        }
        if facts.checked.unwrap_or(0) == 0 {
            bad.push(format!(
                "quarantine objects_checked {:?}, expected some",
                facts.checked
            ));
        }
    } else if facts.free_check.as_deref() == Some("on") {
        bad.push("quarantine free_check on, expected off".into());
    }
    let want: Vec<&str> = expect.non_canonical.into_iter().collect();
    if facts.non_canonical != want {
        bad.push(format!(
            "non-canonical-address lines {:?}, expected {want:?}",
            facts.non_canonical
        ));
    }
    bad
}

/// The default bound is 1/32 of the memory the kernel counts as installed when the quarantine
/// is trimmed, less the per-CPU queues; that count moves a little from boot to boot (what was
/// loaded, freed init memory): within 1% is the default, an explicit size is far from it.
fn near_default(bound: Option<u64>, default: Option<u64>) -> bool {
    match (bound, default) {
        (Some(b), Some(d)) => b.abs_diff(d) <= d / 100,
        _ => false,
    }
}

/// Boots the target's kernel in `build` with the initramfs and `params`, console to `log`,
/// within `timeout`: UML's `linux` with `initrd=`, or the x86_64 `bzImage` under QEMU with
/// `-initrd`.
fn boot(
    target: Target,
    build: &Path,
    initrd: &Path,
    params: &[String],
    log: &Path,
    timeout: Duration,
) -> Result<kunit::Boot> {
    let mut all: Vec<String> = target.boot_params().iter().map(|p| p.to_string()).collect();
    let cwd = log.parent().unwrap_or(Path::new("."));
    let (program, args) = match target {
        Target::Um => {
            all.push(format!("initrd={}", initrd.display()));
            all.extend(params.iter().cloned());
            (build.join("linux"), all)
        }
        Target::X86_64 => {
            all.extend(params.iter().cloned());
            let bzimage = build.join("arch/x86/boot/bzImage");
            let accel = kunit::x86_64_accel(&bzimage, cwd);
            let mut args = kunit::x86_64_qemu_args(&bzimage, &all, accel, target.cpus());
            args.extend(["-initrd".to_string(), initrd.display().to_string()]);
            (PathBuf::from(QEMU_X86_64), args)
        }
    };
    kunit::boot_to_file(&program, &args, cwd, log, timeout)
}

fn build(
    tree: &Tree,
    target: Target,
    runtime: Runtime,
    dir: &Path,
    out: &Path,
    jobs: usize,
) -> Result<()> {
    let log = out.join("build.log");
    let mut options = runtime.kconfig(tree)?;
    options.extend(target.kconfig_add());
    Build {
        tree,
        arch: target.arch(),
        fragment: &target.fragment(),
        kconfig_add: &options,
        dir,
        log: &log,
        what: &format!("{target} config, {runtime} runtime"),
    }
    .run(jobs, |config| {
        let rust = config.lines().any(|l| l == Runtime::Rust.selection());
        if rust == (runtime == Runtime::Rust) {
            Ok(rust)
        } else {
            Err(format!("does not select the {runtime} runtime"))
        }
    })?;
    for module in MODULES {
        if !dir.join(module).is_file() {
            bail!("the e2e build has no {module} (is the trigger patch in linux/series?)",);
        }
    }
    Ok(())
}

/// The module run's expected kasan results (pass, fail, skip) when the lab has no built-in run
/// to compare with: the built-in config's, less `copy_to_kernel_nofault_oob`, which a module
/// cannot run (it is not in the module's suite).
fn expected_module(target: Target) -> (usize, usize, usize) {
    match target {
        Target::Um => (60, 1, 14),
        Target::X86_64 => (64, 1, 10),
    }
}

/// Compares the module run's `kasan` suite with the built-in run's
/// (`target/rkasan/<built-in config>-<runtime>`), or with [`expected_module`]. Returns the
/// problems and what it compared with.
pub fn compare_module(
    target: Target,
    module: &Results,
    builtin: Option<&Results>,
) -> (Vec<String>, String) {
    let mut bad = Vec::new();
    let Some(kasan) = module.suites.iter().find(|s| s.name == "kasan") else {
        return (
            vec!["no `kasan` suite in the module run".into()],
            String::new(),
        );
    };
    let builtin_kasan = builtin.and_then(|b| b.suites.iter().find(|s| s.name == "kasan"));
    match builtin_kasan {
        Some(b) => {
            for case in &kasan.cases {
                match b.cases.iter().find(|c| c.name == case.name) {
                    Some(c) if c.status != case.status => bad.push(format!(
                        "kasan.{}: {} as a module, {} built in",
                        case.name,
                        case.status.word(),
                        c.status.word()
                    )),
                    None => bad.push(format!("kasan.{}: not in the built-in run", case.name)),
                    _ => {}
                }
            }
            for c in &b.cases {
                if c.name != "copy_to_kernel_nofault_oob"
                    && !kasan.cases.iter().any(|m| m.name == c.name)
                {
                    bad.push(format!("kasan.{}: missing from the module run", c.name));
                }
            }
            (bad, "the built-in run's results".into())
        }
        None => {
            let c = crate::results::Counts::of(&kasan.cases);
            let (pass, fail, skip) = expected_module(target);
            if (c.pass, c.fail, c.skip) != (pass, fail, skip) {
                bad.push(format!(
                    "kasan: {} pass / {} fail / {} skip, expected {pass} / {fail} / {skip}",
                    c.pass, c.fail, c.skip
                ));
            }
            (bad, format!("the expected {pass} / {fail} / {skip}"))
        }
    }
}

/// The line `/init` prints before it loads kasan_test.ko.
const RUN_KASAN_TEST: &str = "rkasan-e2e: run kasan_test";

/// The results of a kasan_test boot: the built-in suites that ran at boot (the Rust runtime's),
/// then the module's, whose KTAP has no top-level header of its own (kunit numbers a module's
/// suites from 1 again).
pub fn module_results(console: &str) -> Results {
    let (boot, module) = match console.find(RUN_KASAN_TEST) {
        Some(at) => console.split_at(at),
        None => ("", console),
    };
    let mut results = if boot.contains("TAP version") {
        parse_ktap(boot)
    } else {
        Results::default()
    };
    let module = parse_ktap(&format!("KTAP version 1\n{module}"));
    results.suites.extend(module.suites);
    results.lost.extend(module.lost);
    results
}

/// One runtime's scenario outcomes: name, problems, masked report lines.
/// Per scenario: its name, its verdict's problems, its report lines, and for a C boot that a
/// report outside the trigger module disturbed, that report's BUG line (the verdict and the
/// comparison then do not count).
type Outcomes = Vec<(&'static str, Vec<String>, Vec<String>, Option<String>)>;

/// Runs everything for one runtime; returns whether the module run matched, and the scenarios.
fn run_runtime(
    tree: &Tree,
    target: Target,
    runtime: Runtime,
    dir: &Path,
    jobs: usize,
) -> Result<(bool, Outcomes)> {
    let out = util::out_dir().join(target.out_name(runtime));
    if out.exists() {
        fs::remove_dir_all(&out).context(format!("cannot remove {}", out.display()))?;
    }
    util::mkdir(&out)?;
    build(tree, target, runtime, dir, &out, jobs)?;

    let initrd = out.join("initramfs.cpio.gz");
    let step = Step::start("initramfs: busybox, kasan_test.ko, rkasan_trigger.ko", None);
    pack_initramfs(
        &initramfs_entries(target, dir),
        &out.join("initramfs"),
        &initrd,
    )?;
    step.done();

    // The upstream suite as a module.
    let log = out.join("kasan_test.console.log");
    let step = Step::start(
        format!("insmod kasan_test.ko: {target}, {runtime} runtime"),
        Some(&format!("console: {}", log.display())),
    );
    let results = kunit::run_until_complete(|| {
        let b = boot(
            target,
            dir,
            &initrd,
            &["kunit.enable=1".into(), "rkasan_e2e.run=kasan_test".into()],
            &log,
            Duration::from_secs(900),
        )?;
        let results = module_results(&b.console);
        if b.timed_out {
            bail!("the kasan_test boot timed out; console: {}", log.display());
        }
        Ok(results)
    })?;
    step.done();
    println!("\ne2e: kasan_test.ko, {target}, {runtime} runtime");
    print!("{}", results.table());
    let builtin = fs::read_to_string(
        util::out_dir()
            .join(format!("{}-{runtime}", target.builtin()))
            .join("results.json"),
    )
    .ok()
    .and_then(|t| Results::from_kunit_json(&t).ok());
    let (bad, against) = compare_module(target, &results, builtin.as_ref());
    if bad.is_empty() {
        println!("module run: same as {against}");
    } else {
        println!("module run: differs from {against}:");
        for b in &bad {
            println!("  {b}");
        }
    }
    let module_ok = bad.is_empty()
        && results
            .suites
            .iter()
            .flat_map(|s| &s.cases)
            .all(|c| c.status != Status::Error);

    // The boot-parameter scenarios.
    let mut outcomes = Outcomes::new();
    let mut default_bound = None;
    for sc in scenarios(target) {
        if sc.rust_only && runtime != Runtime::Rust {
            continue;
        }
        let log = out.join(format!("{}.console.log", sc.name));
        let step = Step::start(
            format!("boot: {} ({target}, {runtime} runtime)", sc.name),
            None,
        );
        let params = sc.boot_params();
        let b = boot(
            target,
            dir,
            &initrd,
            &params,
            &log,
            Duration::from_secs(300),
        )?;
        step.done();
        let f = facts(&b.console);
        if sc.name == "one-shot" {
            default_bound = f.bound;
        }
        // Only the trigger module makes reports here. The C runtime sometimes reports
        // `wild-memory-access in _raw_spin_lock` from an interrupt during early boot (x86_64,
        // TCG with `-cpu max`), which then takes the one report a boot may make: not the
        // runtime under test, so that boot is not counted. With Rust it is a failure.
        let outside = f.outside.first().cloned();
        let disturbed = if runtime == Runtime::C { outside } else { None };
        let expect = match (runtime, &sc.c_expect) {
            (Runtime::C, Some(c)) => c,
            _ => &sc.expect,
        };
        let mut bad = if disturbed.is_some() {
            Vec::new()
        } else {
            verdict(expect, &f, default_bound)
        };
        if let (Runtime::Rust, Some(line)) = (runtime, f.outside.first()) {
            bad.push(format!("a report outside the trigger module: `{line}`"));
        }
        if b.timed_out {
            bad.push("timed out".into());
        }
        // What the C-vs-Rust comparison sees, for `diff e2e-c/X.report.txt e2e-rust/X.report.txt`.
        let report = report_lines(&b.console);
        util::write(
            &out.join(format!("{}.report.txt", sc.name)),
            report.iter().map(|l| format!("{l}\n")).collect::<String>(),
        )?;
        outcomes.push((sc.name, bad, report, disturbed));
    }
    Ok((module_ok, outcomes))
}

/// `cargo xtask e2e`: `ci`'s targets ([`Target::in_ci`]), every [`Target`] with `all`, each
/// runtime. Returns false when a verdict fails.
pub fn e2e(tree: &Tree, all: bool, jobs: usize) -> Result<bool> {
    tree.version()?;
    let runtimes: Vec<Runtime> = if kunit::has_kasan_rust(tree)? {
        Runtime::ALL.to_vec()
    } else {
        eprintln!("    the tree has no KASAN_RUST: only the C runtime runs");
        vec![Runtime::C]
    };
    let mut ok = true;
    let mut text = String::new();
    for target in Target::ALL.into_iter().filter(|t| all || t.in_ci()) {
        if !target.fragment().is_file() {
            bail!("no kunitconfig at {}", target.fragment().display());
        }
        let dir = build::dir(tree, target.build_name())?;
        let mut all: Vec<(Runtime, Outcomes)> = Vec::new();
        for &runtime in &runtimes {
            let (module_ok, outcomes) = run_runtime(tree, target, runtime, &dir, jobs)?;
            ok &= module_ok;
            all.push((runtime, outcomes));
        }
        let (table, verdicts_ok) = summary(target, &all);
        print!("{table}");
        text.push_str(&table);
        ok &= verdicts_ok;
    }
    util::write(&util::out_dir().join("e2e.txt"), &text)?;
    Ok(ok)
}

/// The scenario table and the C-vs-Rust comparison of the reports of one target.
fn summary(target: Target, all: &[(Runtime, Outcomes)]) -> (String, bool) {
    let mut out = String::new();
    let mut ok = true;
    let _ = writeln!(out, "\ne2e: boot-parameter scenarios, {target}");
    let list = scenarios(target);
    let names: Vec<&str> = list.iter().map(|s| s.name).collect();
    let width = names.iter().map(|n| n.len()).max().unwrap_or(8);
    let _ = write!(out, "{:<width$}", "scenario");
    for (rt, _) in all {
        let _ = write!(out, "  {:<6}", rt.name());
    }
    let _ = writeln!(out, "  C = Rust");
    let mut problems = Vec::new();
    for name in &names {
        let _ = write!(out, "{name:<width$}");
        let mut lines: Vec<Option<&Vec<String>>> = Vec::new();
        for (rt, outcomes) in all {
            match outcomes.iter().find(|o| o.0 == *name) {
                Some((_, _, _, Some(line))) => {
                    let _ = write!(out, "  {:<6}", "n/c");
                    problems.push(format!(
                        "{name} ({rt}): not counted: the boot showed a report outside the \
                         trigger, `{}`",
                        mask(line)
                    ));
                    lines.push(None);
                }
                Some((_, bad, report, None)) => {
                    let _ = write!(out, "  {:<6}", if bad.is_empty() { "ok" } else { "FAIL" });
                    ok &= bad.is_empty();
                    for b in bad {
                        problems.push(format!("{name} ({rt}): {b}"));
                    }
                    lines.push(Some(report));
                }
                None => {
                    let _ = write!(out, "  {:<6}", "-");
                    lines.push(None);
                }
            }
        }
        let rust_catches = list.iter().any(|s| s.name == *name && s.c_expect.is_some());
        let same = match lines.as_slice() {
            [Some(_), Some(_)] if rust_catches => "only Rust reports it".to_string(),
            [Some(c), Some(r)] => match first_difference(c, r) {
                None => format!("same ({} lines)", c.len()),
                Some(d) => {
                    ok = false;
                    problems.push(format!("{name}: C and Rust differ: {d}"));
                    "DIFFERENT".to_string()
                }
            },
            _ => "-".to_string(),
        };
        let _ = writeln!(out, "  {same}");
    }
    for p in &problems {
        let _ = writeln!(out, "  {p}");
    }
    (out, ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::{is_frame, shadow_window};

    #[test]
    fn initramfs_list() {
        let entries = initramfs_entries(Target::Um, Path::new("/b"));
        let paths: Vec<&str> = entries.iter().map(Entry::path).collect();
        assert_eq!(
            paths,
            [
                "bin",
                "dev",
                "proc",
                "sys",
                "bin/busybox",
                "bin/sh",
                "bin/mount",
                "bin/mkdir",
                "bin/cat",
                "bin/insmod",
                "bin/poweroff",
                "bin/reboot",
                "kasan_test.ko",
                "rkasan_trigger.ko",
                "init"
            ]
        );
        assert!(entries.contains(&Entry::File(
            "kasan_test.ko".into(),
            PathBuf::from("/b/mm/kasan/kasan_test.ko"),
            0o644
        )));
        assert!(entries.contains(&Entry::Link("bin/sh".into(), "busybox".into())));
        // Every command the script runs is an applet or a shell builtin.
        for target in Target::ALL {
            let script = init_script(target);
            let off = target.shutdown().split(' ').next().unwrap();
            for cmd in ["mount", "cat", "insmod", off] {
                assert!(script.contains(&format!("{cmd} ")), "{cmd}");
                assert!(APPLETS.contains(&cmd));
            }
        }
    }

    #[test]
    fn init() {
        let s = init_script(Target::Um);
        assert!(s.starts_with("#!/bin/sh\nmount -t devtmpfs devtmpfs /dev\n"));
        assert!(s.contains("exec </dev/console >/dev/console 2>&1\n"));
        assert!(s.contains("mount -t debugfs debugfs /sys/kernel/debug\n"));
        assert!(s.contains("kasan_test) insmod /kasan_test.ko ;;"));
        assert!(s.contains("trigger) insmod /rkasan_trigger.ko bugs=\"$bugs\" ;;"));
        assert!(s.contains("rkasan_e2e.run=*) run=\"${arg#*=}\" ;;"));
        assert!(s.ends_with("echo \"rkasan-e2e: done\"\npoweroff -f\n"));
        // QEMU's PC has no power-off without firmware support: it reboots, and -no-reboot exits.
        let s = init_script(Target::X86_64);
        assert!(s.ends_with("echo \"rkasan-e2e: done\"\nreboot -f\n"));
    }

    const ONE_REPORT: &str = "\
[    1.000000] rkasan_trigger: out-of-bounds read
==================================================================
BUG: KASAN: slab-out-of-bounds in rkasan_trigger_init+0x8d/0x120 [rkasan_trigger]
Read of size 1 at addr 000000006a1b2c10 by task insmod/31

CPU: 0 UID: 0 PID: 31 Comm: insmod Tainted: G           O        7.2.13 #2 NONE
Call Trace:
 dump_stack_lvl+0x45/0x60
 ? kasan_report+0x12/0x30
Allocated by task 31:
 __kasan_kmalloc+0x8c/0xa0
The buggy address is located 0 bytes to the right of
 allocated 16-byte region [000000006a1b2c00, 000000006a1b2c10)
Memory state around the buggy address:
 000000006a1b2b00: fa fb fc fc 00 00 fc fc
>000000006a1b2c00: 00 00 fc fc fc fc fc fc
                         ^
 000000006a1b2c80: fc fc fc fc fc fc fc fc
==================================================================
Disabling lock debugging due to kernel taint
rkasan_trigger: out-of-bounds read
rkasan_trigger: done
rkasan-e2e: insmod status 0
rkasan-e2e: done
";

    /// The x86_64 oops of `bugs=n` (Rust runtime), as QEMU's console shows it.
    const NULL_READ: &str = "\
[    2.100000] rkasan_trigger: NULL pointer read
[    2.100100] Oops: general protection fault, probably for non-canonical address 0xdffffc0000000002: 0000 [#1] SMP KASAN NOPTI
[    2.100200] KASAN: null-ptr-deref in range [0x0000000000000010-0x0000000000000017]
[    2.100300] CPU: 1 UID: 0 PID: 52 Comm: insmod Tainted: G           O        7.2.13 #3 PREEMPT(voluntary)
[    2.100400] RIP: 0010:rkasan_trigger_init+0x4b/0x1a0 [rkasan_trigger]
[    2.100500] ---[ end trace 0000000000000000 ]---
Segmentation fault
rkasan-e2e: insmod status 139
rkasan-e2e: done
";

    #[test]
    fn null_pointer_read_is_decoded() {
        let scenario = scenarios(Target::X86_64)
            .into_iter()
            .find(|s| s.name == "null-ptr-deref")
            .unwrap();
        assert_eq!(scenario.bugs, "n");
        assert!(scenarios(Target::Um)
            .iter()
            .all(|s| s.name != "null-ptr-deref"));
        let f = facts(NULL_READ);
        assert_eq!(f.reports, 0);
        assert!(f.done && !f.trigger_done);
        assert_eq!(verdict(&scenario.expect, &f, None), Vec::<String>::new());
        // Another range, or no line, is wrong.
        let wide = NULL_READ.replace("0x0000000000000017]", "0x000000000000001f]");
        assert_eq!(verdict(&scenario.expect, &facts(&wide), None).len(), 1);
        let none = NULL_READ.replace("KASAN: null-ptr-deref", "nothing");
        assert_eq!(verdict(&scenario.expect, &facts(&none), None).len(), 1);
        // The one-shot scenario has no such line.
        let one_shot = &scenarios(Target::X86_64)[0];
        assert!(verdict(&one_shot.expect, &facts(NULL_READ), None)
            .iter()
            .any(|p| p.starts_with("non-canonical-address lines")));
        // Both lines are compared C vs Rust, masked.
        let lines = report_lines(NULL_READ);
        assert_eq!(
            lines[1..],
            [
                "Oops: general protection fault, probably for non-canonical address 0x?: 0000 [#?] \
                 SMP KASAN NOPTI",
                "KASAN: null-ptr-deref in range [0x?-0x?]",
            ]
        );
    }

    #[test]
    fn verdicts() {
        let f = facts(ONE_REPORT);
        assert_eq!(f.reports, 1);
        assert!(f.done && f.trigger_done && f.panic.is_none());
        let one_shot = &scenarios(Target::Um)[0];
        assert_eq!(one_shot.name, "one-shot");
        assert!(verdict(&one_shot.expect, &f, None).is_empty());
        let multi = &scenarios(Target::Um)[1];
        assert_eq!(
            verdict(&multi.expect, &f, None),
            ["1 KASAN report(s), expected 2"]
        );

        let panic = ONE_REPORT.replace(
            "Disabling lock debugging due to kernel taint\nrkasan_trigger: out-of-bounds read\n\
             rkasan_trigger: done\nrkasan-e2e: insmod status 0\nrkasan-e2e: done\n",
            "Kernel panic - not syncing: kasan.fault=panic set ...\n",
        );
        let f = facts(&panic);
        assert_eq!(f.panic.as_deref(), Some("kasan.fault=panic set ..."));
        assert!(!f.done);
        let fault_panic = scenarios(Target::Um)
            .into_iter()
            .find(|s| s.name == "fault-panic")
            .unwrap();
        assert!(verdict(&fault_panic.expect, &f, None).is_empty());
        // A panic where none is expected, and the boot that did not complete.
        let bad = verdict(&one_shot.expect, &f, None);
        assert_eq!(
            bad,
            [
                "unexpected panic: `kasan.fault=panic set ...`",
                "the boot did not complete (no `rkasan-e2e: done`)"
            ]
        );

        let malformed = format!("Malformed early option 'kasan.fault'\n{ONE_REPORT}");
        let f = facts(&malformed);
        let s = scenarios(Target::Um)
            .into_iter()
            .find(|s| s.name == "fault-PANIC")
            .unwrap();
        assert!(verdict(&s.expect, &f, None).is_empty());
        assert_eq!(
            verdict(&s.expect, &facts(ONE_REPORT), None),
            ["malformed-option warnings [], expected [\"kasan.fault\"]"]
        );

        let q = "Malformed early option 'kasan.quarantine_size'\nrkasan-e2e: quarantine\n\
                 bytes_held:       100\nbytes_bound:      15728640\nrkasan-e2e: done\n";
        let s = scenarios(Target::Um)
            .into_iter()
            .find(|s| s.name == "quarantine-size-bad")
            .unwrap();
        assert!(verdict(&s.expect, &facts(q), Some(15728640)).is_empty());
        // Recorded: 14373760 after a boot that loaded the trigger, 14410624 after one that did not.
        let q2 = q.replace("15728640", "14373760");
        assert!(verdict(&s.expect, &facts(&q2), Some(14410624)).is_empty());
        assert_eq!(
            verdict(&s.expect, &facts(q), Some(7340032)),
            ["quarantine bytes_bound Some(15728640), expected about the default Some(7340032)"]
        );
        assert!(!verdict(&s.expect, &facts("rkasan-e2e: done\n"), Some(7340032)).is_empty());
    }

    #[test]
    fn masking() {
        assert_eq!(
            mask("Read of size 1 at addr 000000006a1b2c10 by task insmod/31"),
            "Read of size 1 at addr ? by task insmod/?"
        );
        assert_eq!(
            mask("[    2.5] CPU: 0 UID: 0 PID: 31 Comm: insmod Tainted: G O 7.2.13 #2 NONE"),
            "CPU: 0 UID: 0 PID: ? Comm: insmod Tainted: G O 7.2.13 #? NONE"
        );
        assert_eq!(mask("Allocated by task 31:"), "Allocated by task ?:");
        assert_eq!(mask(">000000006a1b2c00: 00 00 fc fc"), ">?: 00 00 fc fc");
        assert_eq!(mask("flags: 0x4000(zone=0)"), "flags: 0x?(zone=0)");
        let lines = report_lines(ONE_REPORT);
        assert_eq!(
            lines[2],
            "BUG: KASAN: slab-out-of-bounds in rkasan_trigger_init+0x?/0x? [rkasan_trigger]"
        );
        assert!(lines[3..].iter().all(|l| !l.contains("+0x")), "{lines:?}");
        assert!(is_frame(" [<60447600>] ? kasan_report+0x187/0x1c0"));
        assert!(is_frame(" dump_stack_lvl+0x45/0x60"));
        assert!(is_frame(
            " [<8080e1a1>] ? init_module+0x1a1/0x1000 [rkasan_trigger]"
        ));
        assert!(
            lines.contains(&"shadow: 00 00 [fc] fc".to_string()),
            "{lines:?}"
        );
        assert_eq!(lines[0], "rkasan_trigger: out-of-bounds read");
        assert_eq!(lines[1], "=".repeat(66));
        assert!(lines.contains(&"Allocated by task ?:".to_string()));
        // The same report at other addresses, pids and frames is the same.
        let other = ONE_REPORT
            .replace("6a1b2", "7c3d4")
            .replace("31", "47")
            .replace("0x8d/0x120", "0x9e/0x130")
            .replace(" ? kasan_report+0x12/0x30\n", " rkasan_report+0x10/0x20\n");
        assert_eq!(first_difference(&lines, &report_lines(&other)), None);
        // What the unwinder finds below a syscall entry does not count.
        let unreliable = ONE_REPORT.replace(
            " ? kasan_report+0x12/0x30\n",
            " ? kasan_report+0x12/0x30\n <TASK>\n ? 0xffffffff81000000\nRIP: 0033:0x7f00\n",
        );
        assert_eq!(first_difference(&lines, &report_lines(&unreliable)), None);
        let wrong = ONE_REPORT.replace("Read of size 1", "Read of size 8");
        assert!(first_difference(&lines, &report_lines(&wrong))
            .unwrap()
            .contains("Read of size 8"));
    }

    #[test]
    fn a_disturbed_c_boot_is_not_counted() {
        let lines = report_lines(ONE_REPORT);
        let c: Outcomes = vec![(
            "one-shot",
            Vec::new(),
            Vec::new(),
            Some("BUG: KASAN: wild-memory-access in _raw_spin_lock+0x7e/0xe0".into()),
        )];
        let rust: Outcomes = vec![("one-shot", Vec::new(), lines.clone(), None)];
        let (table, ok) = summary(Target::X86_64, &[(Runtime::C, c), (Runtime::Rust, rust)]);
        assert!(ok, "{table}");
        assert!(
            table.contains("one-shot              n/c     ok      -"),
            "{table}"
        );
        assert!(table.contains(
            "not counted: the boot showed a report outside the trigger, \
                                `BUG: KASAN: wild-memory-access in _raw_spin_lock+0x?/0x?`"
        ));
        // A Rust boot with such a report fails; so does a Rust verdict.
        let f = facts(&ONE_REPORT.replace("[rkasan_trigger]", ""));
        assert_eq!(f.outside.len(), 1);
        let rust_bad: Outcomes = vec![("one-shot", vec!["x".into()], lines.clone(), None)];
        let c_ok: Outcomes = vec![("one-shot", Vec::new(), lines, None)];
        let (_, ok) = summary(
            Target::X86_64,
            &[(Runtime::C, c_ok), (Runtime::Rust, rust_bad)],
        );
        assert!(!ok);
    }

    #[test]
    fn free_check_verdict() {
        let s = scenarios(Target::X86_64)
            .into_iter()
            .find(|s| s.name == "free-check")
            .unwrap();
        let q = "rkasan-e2e: quarantine\nbytes_bound:      0\nfree_check:       on\n\
                 objects_checked:  1234\nrkasan-e2e: done\n";
        assert!(verdict(&s.expect, &facts(q), None).is_empty());
        assert_eq!(
            verdict(&s.expect, &facts(&q.replace("1234", "0")), None),
            ["quarantine objects_checked Some(0), expected some"]
        );
        assert_eq!(
            verdict(&s.expect, &facts(&q.replace("on\n", "off\n")), None),
            ["quarantine free_check Some(\"off\"), expected on"]
        );
        // Elsewhere the check stays off.
        let one_shot = scenarios(Target::X86_64)
            .into_iter()
            .find(|s| s.name == "free-check-bad")
            .unwrap();
        let f = facts(&format!("Malformed early option 'kasan.free_check'\n{q}"));
        assert_eq!(
            verdict(&one_shot.expect, &f, Some(0)),
            ["quarantine free_check on, expected off"]
        );
    }

    #[test]
    fn scenario_list() {
        let all = scenarios(Target::Um);
        let mut names: Vec<&str> = all.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        // Only rkasan's own parameters are Rust-only.
        assert!(all.iter().all(|s| s.rust_only
            == (s.name.starts_with("quarantine") || s.name.starts_with("free-check"))));
        // Only the large kmalloc use-after-free expects the C runtime to miss the bug, and a
        // C boot that reports it fails.
        let large = all.iter().find(|s| s.c_expect.is_some()).unwrap();
        assert_eq!(large.name, "large-uaf");
        assert_eq!(all.iter().filter(|s| s.c_expect.is_some()).count(), 1);
        let c = large.c_expect.as_ref().unwrap();
        assert!(verdict(&large.expect, &facts(ONE_REPORT), None).is_empty());
        assert_eq!(
            verdict(c, &facts(ONE_REPORT), None),
            ["1 KASAN report(s), expected 0"]
        );
        let long = all.iter().find(|s| s.name == "fault-long").unwrap();
        assert_eq!(
            long.boot_params()[..3],
            [
                "kunit.enable=0",
                "rkasan_e2e.run=trigger",
                "rkasan_e2e.bugs=w"
            ]
        );
        // The longest command line fits UML's 4 KiB (COMMAND_LINE_SIZE; UML exits when the
        // arguments do not fit), even with a 150-character initrd path and UML's root=98:0.
        let line: Vec<String> = Target::Um
            .boot_params()
            .iter()
            .map(|p| p.to_string())
            .chain([format!("initrd={}", "x".repeat(150)), "root=98:0".into()])
            .chain(long.boot_params())
            .collect();
        let len = line.join(" ").len();
        assert!(len < 4096 && len > 3900, "{len}");

        // x86_64: COMMAND_LINE_SIZE is 2 KiB (QEMU refuses a longer line); no initrd= there.
        let all = scenarios(Target::X86_64);
        let long = all.iter().find(|s| s.name == "fault-long").unwrap();
        let line: Vec<String> = Target::X86_64
            .boot_params()
            .iter()
            .map(|p| p.to_string())
            .chain(long.boot_params())
            .collect();
        let len = line.join(" ").len();
        assert!(len < 2048 && len > 1800, "{len}");
        assert!(Target::X86_64.boot_params().contains(&"panic=-1"));
        assert!(Target::X86_64.boot_params().contains(&"console=ttyS0"));
    }

    #[test]
    fn targets() {
        assert_eq!(Target::Um.build_name(), "e2e");
        // x86_64 shares the x86_64 config's build dir and kunitconfig, tests as modules.
        assert_eq!(Target::X86_64.build_name(), "x86_64");
        assert_eq!(Target::X86_64.fragment(), Config::X86_64.fragment());
        assert!(Target::X86_64
            .kconfig_add()
            .contains(&"CONFIG_KASAN_KUNIT_TEST=m"));
        let fragment = std::fs::read_to_string(Target::X86_64.fragment()).unwrap();
        for opt in [
            "CONFIG_MODULES=y",
            "CONFIG_BLK_DEV_INITRD=y",
            "CONFIG_DEVTMPFS=y",
        ] {
            assert!(fragment.lines().any(|l| l == opt), "{opt}");
        }
        assert_eq!(Target::Um.out_name(Runtime::Rust), "e2e-rust");
        assert_eq!(Target::X86_64.out_name(Runtime::C), "e2e-x86_64-c");
        for t in Target::ALL {
            assert!(t.fragment().is_file(), "{}", t.fragment().display());
            assert_eq!(t.builtin().arch(), t.arch());
        }
        assert_eq!(Target::X86_64.cpus(), 2);
        assert!(Target::X86_64.in_ci() && !Target::Um.in_ci());
        // The quarantine-size scenario's bound: 1 MiB less per CPU.
        let bound = |t: Target| {
            scenarios(t)
                .into_iter()
                .find(|s| s.name == "quarantine-size")
                .and_then(|s| s.expect.bound)
        };
        assert_eq!(bound(Target::Um), Some(Bound::Bytes(7 << 20)));
        assert_eq!(bound(Target::X86_64), Some(Bound::Bytes(6 << 20)));
    }

    #[test]
    fn shadow_dump() {
        // A recorded dump: the object's shadow starts at the row's fifth byte.
        let rows = [
            " 0000000062416a00: fc fc fc fc fc fc fc fc fc fc fc fc fc fc fc fc",
            ">0000000062416a80: fc fc fc fc 00 00 fc fc 00 04 fc fc 00 04 fc fc",
            "                                     ^",
            " 0000000062416b00: 00 02 fc fc 00 06 fc fc 00 00 fc fc 00 01 fc fc",
        ];
        assert_eq!(shadow_window(&rows), "shadow: 00 00 [fc] fc");
        // The same object at the end of its row: the window goes on in the next row.
        let rows = [
            ">0000000062416a80: fc fc fc fc fc fc fc fc fc fc fc fc fc 00 00 fc",
            "                                                                ^",
            " 0000000062416b00: fc fc fc fc 00 06 fc fc 00 00 fc fc 00 01 fc fc",
        ];
        assert_eq!(shadow_window(&rows), "shadow: 00 00 [fc] fc");
        assert!(shadow_window(&rows[..1]).starts_with("shadow: no marked byte"));
    }

    #[test]
    fn module_console() {
        let console = "KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: rkasan\n    1..1\n    \
                       ok 1 shadow\nok 1 rkasan\nrkasan-e2e: run kasan_test\n    KTAP version 1\n    \
                       # Subtest: kasan\n    # module: kasan_test\n    1..2\n    ok 1 kmalloc_oob_right\n\
                       ==================\nBUG: KASAN: x\n    not ok 2 kasan_strings\nnot ok 1 kasan\n\
                       rkasan-e2e: done\n";
        let r = module_results(console);
        assert!(r.lost.is_empty(), "{:?}", r.lost);
        let names: Vec<&str> = r.suites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["rkasan", "kasan"]);
        assert_eq!(r.suites[1].cases.len(), 2);
        assert_eq!(r.suites[1].cases[1].status, Status::Fail);
        // The C runtime has no built-in suite: an empty plan at boot.
        let c = module_results(&console.replace(
            "1..1\n    KTAP version 1\n    # Subtest: rkasan\n    1..1\n    ok 1 shadow\nok 1 rkasan\n",
            "1..0\n",
        ));
        assert!(c.lost.is_empty(), "{:?}", c.lost);
        assert_eq!(c.suites.len(), 1);
    }

    #[test]
    fn module_comparison() {
        let console =
            "KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: kasan\n    1..2\n    \
                       ok 1 kmalloc_oob_right\n    not ok 2 kasan_strings\nnot ok 1 kasan\n";
        let module = parse_ktap(console);
        let (bad, _) = compare_module(Target::Um, &module, None);
        assert_eq!(
            bad,
            ["kasan: 1 pass / 1 fail / 0 skip, expected 60 / 1 / 14"]
        );
        let builtin = parse_ktap(&console.replace("1..2", "1..3").replace(
            "not ok 2 kasan_strings",
            "not ok 2 kasan_strings\n    ok 3 copy_to_kernel_nofault_oob",
        ));
        let (bad, against) = compare_module(Target::Um, &module, Some(&builtin));
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(against, "the built-in run's results");
        let builtin =
            parse_ktap(&console.replace("ok 1 kmalloc_oob_right", "not ok 1 kmalloc_oob_right"));
        let (bad, _) = compare_module(Target::Um, &module, Some(&builtin));
        assert_eq!(
            bad,
            ["kasan.kmalloc_oob_right: PASS as a module, FAIL built in"]
        );
    }
}
