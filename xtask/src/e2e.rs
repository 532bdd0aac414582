// SPDX-License-Identifier: GPL-2.0

//! `cargo xtask e2e`: end-to-end runs of a UML kernel with modules, for each runtime.
//!
//! The kernel (`linux/kunitconfigs/e2e.config`, build dir `$CACHE/build/e2e`, both runtimes)
//! boots an initramfs of Debian's busybox-static, `kasan_test.ko` and `rkasan_trigger.ko`, whose
//! `/init` reads what to do from the kernel command line (`rkasan_e2e.run=` and
//! `rkasan_e2e.bugs=`). First `insmod kasan_test.ko` runs the upstream suite as a module; its
//! results must match the built-in run's. Then one boot per [`SCENARIOS`] entry loads the
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

use crate::kunit::{self, Arch, Runtime};
use crate::results::{parse_ktap, Results, Status};
use crate::tree::Tree;
use crate::util::{self, bail, Context, Result, Step};

/// The kunitconfig of the e2e kernel.
pub fn fragment() -> PathBuf {
    util::workspace_root().join("linux/kunitconfigs/e2e.config")
}

/// Debian's busybox-static (`cargo xtask setup` installs it).
const BUSYBOX: &str = "/bin/busybox";

/// The busybox applets `/init` uses, linked in `/bin`.
pub const APPLETS: &[&str] = &["sh", "mount", "mkdir", "cat", "insmod", "poweroff"];

/// The modules the initramfs carries, by their path in the build directory.
pub const MODULES: &[&str] = &["mm/kasan/kasan_test.ko", "mm/kasan/rkasan_trigger.ko"];

/// The line `/init` prints when it is done (before `poweroff -f`).
pub const DONE: &str = "rkasan-e2e: done";

/// The `/init` script: mounts proc, sysfs, devtmpfs and debugfs, takes the console, reads
/// `rkasan_e2e.run=` (`kasan_test`, `trigger` or `none`) and `rkasan_e2e.bugs=` (the trigger's
/// `bugs=`) from /proc/cmdline, loads the module, shows the quarantine's debugfs file when there
/// is one, prints [`DONE`] and powers off.
pub fn init_script() -> String {
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
poweroff -f
"#
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
pub fn initramfs_entries(build: &Path) -> Vec<Entry> {
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
    entries.push(Entry::Script("init", init_script()));
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
    /// The trigger module's `bugs=` (`r` read, `w` write), or empty for no module.
    pub bugs: &'static str,
    /// Only with the Rust runtime (a parameter the C runtime does not have).
    pub rust_only: bool,
    /// The outcome.
    pub expect: Expect,
}

const REPORT: Expect = Expect {
    reports: 1,
    panic: None,
    malformed: None,
    bound: None,
};

/// The quarantine size the `quarantine-size` scenario sets, and its bound: the size less the
/// per-CPU queues' 1 MiB (the e2e kernel has one CPU).
const QUARANTINE_SIZE: u64 = 8 << 20;
const QUARANTINE_BOUND: u64 = QUARANTINE_SIZE - (1 << 20);

/// A `kasan.fault=` value of about 4 KiB: the longest that fits UML's 4 KiB command line with
/// the lab's other parameters (a longer one makes UML exit before booting).
fn long_value() -> String {
    "x".repeat(3800)
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

/// The parameters of every boot, before `initrd=`.
const BOOT_PARAMS: [&str; 3] = ["mem=512M", "console=tty", "rdinit=/init"];

/// The scenarios, in the order they boot.
pub fn scenarios() -> Vec<Scenario> {
    let p = |s: &str| vec![s.to_string()];
    let malformed = |name: &'static str, value: String| Scenario {
        name,
        params: vec![format!("kasan.fault={value}")],
        bugs: "w",
        rust_only: false,
        expect: Expect {
            malformed: Some("kasan.fault"),
            ..REPORT
        },
    };
    vec![
        Scenario {
            name: "one-shot",
            params: vec![],
            bugs: "rr",
            rust_only: false,
            expect: REPORT,
        },
        Scenario {
            name: "multi-shot",
            params: p("kasan_multi_shot"),
            bugs: "rr",
            rust_only: false,
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
            expect: Expect {
                reports: 2,
                panic: Some("kasan.fault=panic_on_write set ..."),
                ..REPORT
            },
        },
        malformed("fault-empty", String::new()),
        malformed("fault-PANIC", "PANIC".into()),
        malformed("fault-panic_x", "panic_x".into()),
        malformed("fault-long", long_value()),
        Scenario {
            name: "multi-shot=0",
            params: p("kasan_multi_shot=0"),
            bugs: "rr",
            rust_only: false,
            expect: Expect {
                reports: 2,
                ..REPORT
            },
        },
        Scenario {
            name: "quarantine-size",
            params: vec![format!("kasan.quarantine_size={QUARANTINE_SIZE}")],
            bugs: "",
            rust_only: true,
            expect: Expect {
                reports: 0,
                bound: Some(Bound::Bytes(QUARANTINE_BOUND)),
                ..REPORT
            },
        },
        Scenario {
            name: "quarantine-size-bad",
            params: p("kasan.quarantine_size=8M"),
            bugs: "",
            rust_only: true,
            expect: Expect {
                reports: 0,
                malformed: Some("kasan.quarantine_size"),
                bound: Some(Bound::Default),
                ..REPORT
            },
        },
    ]
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
}

/// Reads the facts off a console.
pub fn facts(console: &str) -> Facts {
    let mut f = Facts::default();
    for line in console.lines() {
        let line = strip_time(line);
        if line.contains("BUG: KASAN: ") {
            f.reports += 1;
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

fn strip_time(line: &str) -> &str {
    let t = line.trim_start();
    if t.starts_with('[') {
        if let Some((stamp, rest)) = t.split_once("] ") {
            if stamp[1..]
                .trim()
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.')
            {
                return rest;
            }
        }
    }
    line
}

/// A stack frame line: `func+0x12/0x40`, possibly after `[<addr>]` and `?`, possibly with a
/// module name (not the `BUG: KASAN: ... in func+0x12/0x40` line, which names the same function
/// with both runtimes).
fn is_frame(line: &str) -> bool {
    let mut words = line
        .split_whitespace()
        .skip_while(|w| (w.starts_with("[<") && w.ends_with(">]")) || *w == "?");
    words
        .next()
        .is_some_and(|w| w.contains("+0x") && w.contains("/0x"))
}

/// Masks what differs between boots and runtimes: hex numbers, long hex words (addresses),
/// pid and task numbers, the build number.
pub fn mask(line: &str) -> String {
    let mut out = String::new();
    let mut rest = strip_time(line);
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        if end == 0 {
            let n = rest.chars().next().map_or(1, char::len_utf8);
            out.push_str(&rest[..n]);
            rest = &rest[n..];
            continue;
        }
        let word = &rest[..end];
        rest = &rest[end..];
        let hex = word.len() >= 8 && word.chars().all(|c| c.is_ascii_hexdigit());
        // Pids ("PID: 31", "task 31", "by task insmod/31") and the build number ("#2").
        let id = word.chars().all(|c| c.is_ascii_digit())
            && (["PID: ", "pid ", "pid: ", "task ", "#"]
                .iter()
                .any(|ctx| out.ends_with(ctx))
                || (out.ends_with('/') && out.contains("task ")));
        if word.starts_with("0x") && word.len() > 2 {
            out.push_str("0x?");
        } else if hex || id {
            out.push('?');
        } else {
            out.push_str(word);
        }
    }
    out
}

/// The lines of a console the runtimes must agree on, masked: the KASAN reports without their
/// stack frames, the malformed-option warnings, the panic line and the trigger's own lines. A
/// report's shadow dump depends on where the slab put the object (its neighbours differ from
/// boot to boot), so it is reduced to [`shadow_window`].
pub fn report_lines(console: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_report = false;
    let mut dump: Option<Vec<&str>> = None;
    for raw in console.lines() {
        let line = strip_time(raw);
        let t = line.trim();
        let rule = t.len() >= 60 && t.chars().all(|c| c == '=');
        if rule {
            if let Some(rows) = dump.take() {
                out.push(shadow_window(&rows));
            }
            in_report = !in_report;
            out.push(t.to_string());
            continue;
        }
        if let Some(rows) = dump.as_mut() {
            rows.push(line.trim_end());
            continue;
        }
        let keep = in_report
            || t.contains("Malformed early option")
            || t.contains("Kernel panic - not syncing")
            || t.starts_with("rkasan_trigger: ");
        if keep && !is_frame(t) {
            out.push(mask(t.trim_end()));
        }
        if in_report && t == "Memory state around the buggy address:" {
            dump = Some(Vec::new());
        }
    }
    if let Some(rows) = dump {
        out.push(shadow_window(&rows));
    }
    out
}

/// The shadow bytes of a report's dump from two granules before the one the `^` points at to
/// one after it (`00 00 [fc] fc` for a one-byte overflow of a 16-byte object).
pub fn shadow_window(rows: &[&str]) -> String {
    let mut bytes: Vec<&str> = Vec::new();
    let mut at = None;
    let mut marked: Option<(usize, usize)> = None; // (index of the row's first byte, its column)
    for row in rows {
        if let Some(col) = row.find('^').filter(|_| row.trim() == "^") {
            if let Some((first, start)) = marked {
                // Each byte is two characters and a space.
                at = Some(first + col.saturating_sub(start) / 3);
            }
            continue;
        }
        let Some((addr, rest)) = row.split_once(": ") else {
            continue;
        };
        let start = addr.len() + 2;
        if addr.trim_start().starts_with('>') {
            marked = Some((bytes.len(), start));
        }
        bytes.extend(rest.split_whitespace());
    }
    let Some(at) = at.filter(|&i| i < bytes.len()) else {
        return format!("shadow: no marked byte in {} rows", rows.len());
    };
    let window: Vec<String> = (at.saturating_sub(2)..(at + 2).min(bytes.len()))
        .map(|i| {
            if i == at {
                format!("[{}]", bytes[i])
            } else {
                bytes[i].to_string()
            }
        })
        .collect();
    format!("shadow: {}", window.join(" "))
}

/// Boots `<build>/linux` with the initramfs and `params`, console to `log`, within `timeout`.
fn boot(
    build: &Path,
    initrd: &Path,
    params: &[String],
    log: &Path,
    timeout: Duration,
) -> Result<kunit::Boot> {
    let mut all: Vec<String> = BOOT_PARAMS.iter().map(|p| p.to_string()).collect();
    all.push(format!("initrd={}", initrd.display()));
    all.extend(params.iter().cloned());
    kunit::boot_to_file(
        &build.join("linux"),
        &all,
        log.parent().unwrap_or(Path::new(".")),
        log,
        timeout,
    )
}

fn build(tree: &Tree, runtime: Runtime, dir: &Path, out: &Path, jobs: usize) -> Result<()> {
    let log = out.join("build.log");
    let step = Step::start(
        format!("build: e2e config, {runtime} runtime"),
        Some(&format!(
            "build dir: {}\n    log: {}",
            dir.display(),
            log.display()
        )),
    );
    kunit::build_kernel(
        kunit::kunit_py_with(
            tree,
            "build",
            Arch::Um,
            &fragment(),
            &runtime.kconfig(tree)?,
            dir,
        ),
        Arch::Um,
        jobs,
        &log,
        &format!("e2e config with the {runtime} runtime"),
    )?;
    let config = util::read(&dir.join(".config"))?;
    let rust_on = config.lines().any(|l| l == "CONFIG_KASAN_RUST=y");
    if rust_on != (runtime == Runtime::Rust) {
        bail!(
            "{}/.config does not select the {runtime} runtime; see {}",
            dir.display(),
            log.display()
        );
    }
    for module in MODULES {
        if !dir.join(module).is_file() {
            bail!("the e2e build has no {module} (is the trigger patch in linux/series?)",);
        }
    }
    step.done();
    Ok(())
}

/// The module run's expected kasan results when the lab has no built-in run to compare with.
const EXPECTED_MODULE: (usize, usize, usize) = (60, 1, 14);

/// Compares the module run's `kasan` suite with the built-in run's (`target/rkasan/generic-*`),
/// or with [`EXPECTED_MODULE`]. Returns the problems and what it compared with.
pub fn compare_module(module: &Results, builtin: Option<&Results>) -> (Vec<String>, String) {
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
            if (c.pass, c.fail, c.skip) != EXPECTED_MODULE {
                bad.push(format!(
                    "kasan: {} pass / {} fail / {} skip, expected {} / {} / {}",
                    c.pass, c.fail, c.skip, EXPECTED_MODULE.0, EXPECTED_MODULE.1, EXPECTED_MODULE.2
                ));
            }
            (bad, "the expected 60 / 1 / 14".into())
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
type Outcomes = Vec<(&'static str, Vec<String>, Vec<String>)>;

/// Runs everything for one runtime; returns whether the module run matched, and the scenarios.
fn run_runtime(tree: &Tree, runtime: Runtime, dir: &Path, jobs: usize) -> Result<(bool, Outcomes)> {
    let out = util::out_dir().join(format!("e2e-{runtime}"));
    if out.exists() {
        fs::remove_dir_all(&out).context(format!("cannot remove {}", out.display()))?;
    }
    util::mkdir(&out)?;
    build(tree, runtime, dir, &out, jobs)?;

    let initrd = out.join("initramfs.cpio.gz");
    let step = Step::start("initramfs: busybox, kasan_test.ko, rkasan_trigger.ko", None);
    pack_initramfs(&initramfs_entries(dir), &out.join("initramfs"), &initrd)?;
    step.done();

    // The upstream suite as a module.
    let log = out.join("kasan_test.console.log");
    let step = Step::start(
        format!("insmod kasan_test.ko: {runtime} runtime"),
        Some(&format!("console: {}", log.display())),
    );
    let results = kunit::run_until_complete(|| {
        let b = boot(
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
    println!("\ne2e: kasan_test.ko, {runtime} runtime");
    print!("{}", results.table());
    let builtin = fs::read_to_string(
        util::out_dir()
            .join(format!("generic-{runtime}"))
            .join("results.json"),
    )
    .ok()
    .and_then(|t| Results::from_kunit_json(&t).ok());
    let (bad, against) = compare_module(&results, builtin.as_ref());
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
    for sc in scenarios() {
        if sc.rust_only && runtime != Runtime::Rust {
            continue;
        }
        let log = out.join(format!("{}.console.log", sc.name));
        let step = Step::start(format!("boot: {} ({runtime} runtime)", sc.name), None);
        let params = sc.boot_params();
        let b = boot(dir, &initrd, &params, &log, Duration::from_secs(300))?;
        step.done();
        let f = facts(&b.console);
        if sc.name == "one-shot" {
            default_bound = f.bound;
        }
        let mut bad = verdict(&sc.expect, &f, default_bound);
        if b.timed_out {
            bad.push("timed out".into());
        }
        // What the C-vs-Rust comparison sees, for `diff e2e-c/X.report.txt e2e-rust/X.report.txt`.
        let report = report_lines(&b.console);
        util::write(
            &out.join(format!("{}.report.txt", sc.name)),
            report.iter().map(|l| format!("{l}\n")).collect::<String>(),
        )?;
        outcomes.push((sc.name, bad, report));
    }
    Ok((module_ok, outcomes))
}

/// `cargo xtask e2e`. Returns false when a verdict fails.
pub fn e2e(tree: &Tree, jobs: usize) -> Result<bool> {
    tree.version()?;
    if !fragment().is_file() {
        bail!("no kunitconfig at {}", fragment().display());
    }
    let dir = kunit::build_dir_named(tree, "e2e")?;
    let runtimes: Vec<Runtime> = if kunit::has_kasan_rust(tree)? {
        Runtime::ALL.to_vec()
    } else {
        eprintln!("    the tree has no KASAN_RUST: only the C runtime runs");
        vec![Runtime::C]
    };
    let mut ok = true;
    let mut all: Vec<(Runtime, Outcomes)> = Vec::new();
    for &runtime in &runtimes {
        let (module_ok, outcomes) = run_runtime(tree, runtime, &dir, jobs)?;
        ok &= module_ok;
        all.push((runtime, outcomes));
    }
    let (text, verdicts_ok) = summary(&all);
    print!("{text}");
    util::write(&util::out_dir().join("e2e.txt"), &text)?;
    Ok(ok && verdicts_ok)
}

/// The scenario table and the C-vs-Rust comparison of the reports.
fn summary(all: &[(Runtime, Outcomes)]) -> (String, bool) {
    let mut out = String::new();
    let mut ok = true;
    let _ = writeln!(out, "\ne2e: boot-parameter scenarios");
    let names: Vec<&str> = scenarios().iter().map(|s| s.name).collect();
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
                Some((_, bad, report)) => {
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
        let same = match lines.as_slice() {
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

/// The first differing line of two masked reports.
pub fn first_difference(c: &[String], r: &[String]) -> Option<String> {
    for i in 0..c.len().max(r.len()) {
        let (a, b) = (c.get(i), r.get(i));
        if a != b {
            return Some(format!(
                "line {}: C `{}`, Rust `{}`",
                i + 1,
                a.map_or("(end)", |s| s.as_str()),
                b.map_or("(end)", |s| s.as_str())
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initramfs_list() {
        let entries = initramfs_entries(Path::new("/b"));
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
        let script = init_script();
        for cmd in ["mount", "cat", "insmod", "poweroff"] {
            assert!(script.contains(&format!("{cmd} ")), "{cmd}");
            assert!(APPLETS.contains(&cmd));
        }
    }

    #[test]
    fn init() {
        let s = init_script();
        assert!(s.starts_with("#!/bin/sh\nmount -t devtmpfs devtmpfs /dev\n"));
        assert!(s.contains("exec </dev/console >/dev/console 2>&1\n"));
        assert!(s.contains("mount -t debugfs debugfs /sys/kernel/debug\n"));
        assert!(s.contains("kasan_test) insmod /kasan_test.ko ;;"));
        assert!(s.contains("trigger) insmod /rkasan_trigger.ko bugs=\"$bugs\" ;;"));
        assert!(s.contains("rkasan_e2e.run=*) run=\"${arg#*=}\" ;;"));
        assert!(s.ends_with("echo \"rkasan-e2e: done\"\npoweroff -f\n"));
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

    #[test]
    fn verdicts() {
        let f = facts(ONE_REPORT);
        assert_eq!(f.reports, 1);
        assert!(f.done && f.trigger_done && f.panic.is_none());
        let one_shot = &scenarios()[0];
        assert_eq!(one_shot.name, "one-shot");
        assert!(verdict(&one_shot.expect, &f, None).is_empty());
        let multi = &scenarios()[1];
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
        let fault_panic = scenarios()
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
        let s = scenarios()
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
        let s = scenarios()
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
        let wrong = ONE_REPORT.replace("Read of size 1", "Read of size 8");
        assert!(first_difference(&lines, &report_lines(&wrong))
            .unwrap()
            .contains("Read of size 8"));
    }

    #[test]
    fn scenario_list() {
        let all = scenarios();
        let mut names: Vec<&str> = all.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert!(all
            .iter()
            .all(|s| s.rust_only == s.name.starts_with("quarantine")));
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
        let line: Vec<String> = BOOT_PARAMS
            .iter()
            .map(|p| p.to_string())
            .chain([format!("initrd={}", "x".repeat(150)), "root=98:0".into()])
            .chain(long.boot_params())
            .collect();
        let len = line.join(" ").len();
        assert!(len < 4096 && len > 3900, "{len}");
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
        let (bad, _) = compare_module(&module, None);
        assert_eq!(
            bad,
            ["kasan: 1 pass / 1 fail / 0 skip, expected 60 / 1 / 14"]
        );
        let builtin = parse_ktap(&console.replace("1..2", "1..3").replace(
            "not ok 2 kasan_strings",
            "not ok 2 kasan_strings\n    ok 3 copy_to_kernel_nofault_oob",
        ));
        let (bad, against) = compare_module(&module, Some(&builtin));
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(against, "the built-in run's results");
        let builtin =
            parse_ktap(&console.replace("ok 1 kmalloc_oob_right", "not ok 1 kmalloc_oob_right"));
        let (bad, _) = compare_module(&module, Some(&builtin));
        assert_eq!(
            bad,
            ["kasan.kmalloc_oob_right: PASS as a module, FAIL built in"]
        );
    }
}
