// SPDX-License-Identifier: GPL-2.0

//! `cargo xtask kunit`: builds a kernel with kunit.py for one configuration and runtime (UML, or
//! arm64 run under QEMU for the tag-based KASAN modes), runs its KUnit suites, saves the console
//! and results, and prints the result table. What a configuration is, is [`crate::config`]'s;
//! the gates on the built object code are [`crate::objcheck`]'s.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::build::{self, Build};
use crate::config::{check_off, out_name, Arch, Config, Runtime, QEMU_X86_64};
use crate::results::{parse_ktap, Results, Status};
use crate::tree::Tree;
use crate::util::{self, bail, Context, Result, Step};

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
                "suite {} ran but EXPECTED_SUITES (xtask/src/config.rs) does not declare it",
                s.name
            ));
        }
    }
    problems
}

// Here rather than in config.rs with the rest of `Runtime`: it reads the tree.
impl Runtime {
    /// The `--kconfig_add` options that select it in `tree`: Rust also turns on its own KUnit
    /// suite (`KASAN_RUST_KUNIT_TEST`) when the tree defines it.
    pub(crate) fn kconfig(self, tree: &Tree) -> Result<Vec<&'static str>> {
        let mut opts = vec![self.selection()];
        if self == Runtime::Rust {
            let kconfig = util::read(&tree.path.join("lib/Kconfig.kasan"))?;
            if kconfig_has(&kconfig, "KASAN_RUST_KUNIT_TEST") {
                opts.push("CONFIG_KASAN_RUST_KUNIT_TEST=y");
            }
        }
        Ok(opts)
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
    let mut cmd = build::kunit_py(tree, sub, config.arch(), &config.fragment(), &opts, dir);
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
/// console. A regular file never returns EAGAIN. A kernel that hangs in early boot is booted
/// again ([`EARLY_HANG_BOOTS`]), and the run log says so.
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
    let mut boot = boot_to_file(&program, &params, &cwd, console, timeout)?;
    for attempt in 2..=EARLY_HANG_BOOTS {
        if !boot.hung_early {
            break;
        }
        eprintln!(
            "    the kernel hung in early boot (no console output for {} s before its first \
             test): booting it again ({attempt} of {EARLY_HANG_BOOTS})",
            EARLY_STALL.as_secs()
        );
        append_run_log(run_log, &program, &params, &boot, timeout)?;
        boot = boot_to_file(&program, &params, &cwd, console, timeout)?;
    }
    append_run_log(run_log, &program, &params, &boot, timeout)
}

/// How often a kernel that hangs in early boot ([`Boot::hung_early`]) is booted. Once seen
/// under TCG with the C runtime's x86_64-outline kernel, whose next boot ran the suites; a
/// runtime that hangs the boot hangs every one of them.
const EARLY_HANG_BOOTS: u32 = 2;

/// Appends how `boot` of `program` with `params` ended to `run_log`.
fn append_run_log(
    run_log: &Path,
    program: &Path,
    params: &[String],
    boot: &Boot,
    timeout: std::time::Duration,
) -> Result<()> {
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
        if boot.hung_early {
            format!(
                "no console output for {} s before the first test: killed",
                EARLY_STALL.as_secs()
            )
        } else if boot.timed_out {
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
    /// True when it ran past its timeout, or hung in early boot, and was killed.
    pub(crate) timed_out: bool,
    /// True when it was killed for printing nothing for [`EARLY_STALL`] before its first KTAP
    /// line.
    pub(crate) hung_early: bool,
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
    boot_watched(linux, params, cwd, log, timeout, EARLY_STALL)
}

/// [`boot_to_file`] with `early_stall` for [`EARLY_STALL`].
fn boot_watched(
    linux: &Path,
    params: &[String],
    cwd: &Path,
    log: &Path,
    timeout: std::time::Duration,
    early_stall: std::time::Duration,
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
    let mut hung_early = false;
    // Until the first KTAP line: how long the console has been, and since when.
    let mut early: Option<(u64, std::time::Instant)> = Some((0, start));
    loop {
        if child.try_wait()?.is_some() {
            break;
        }
        if let Some((len, since)) = early {
            let now = fs::metadata(log).map_or(0, |m| m.len());
            if now != len {
                let text = fs::read(log).unwrap_or_default();
                early = (!contains(&text, KTAP_START)).then(|| (now, std::time::Instant::now()));
            } else if since.elapsed() > early_stall {
                hung_early = true;
            }
        }
        if hung_early || start.elapsed() > timeout {
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
        hung_early,
    })
}

/// The line a kernel prints before its first KUnit suite.
const KTAP_START: &[u8] = b"KTAP version";

/// How long a boot may print nothing before its first KTAP line: then it hung in early boot
/// and is killed ([`Boot::hung_early`]). A boot of ours prints its way to the tests in seconds
/// (x86_64 under TCG: about 3 s); the C kernel of x86_64-outline hung there once under TCG and
/// waited out its whole 900 s timeout. The tests themselves may be silent for longer (the
/// quarantine stress case on arm64 under TCG), so only the time before them is watched.
const EARLY_STALL: std::time::Duration = std::time::Duration::from_secs(120);

/// Whether `haystack` contains `needle`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
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
    if has("CONFIG_KASAN_RUST_BENCH_FLOOR=y") {
        return Err(
            "has CONFIG_KASAN_RUST_BENCH_FLOOR=y, the bench's floor runtime, which finds nothing"
                .to_string(),
        );
    }
    let rust_on = has(Runtime::Rust.selection());
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
    let build = build::dir(tree, config.build_name())?;
    let out = util::out_dir().join(out_name(config, runtime, off));
    if out.exists() {
        fs::remove_dir_all(&out).context(format!("cannot remove {}", out.display()))?;
    }
    util::mkdir(&out)?;

    let build_log = out.join("build.log");
    let kconfig_add = kconfig_options(tree, config, runtime, off)?;
    let kconfig_add: Vec<&str> = kconfig_add.iter().map(String::as_str).collect();
    let kernel = Build {
        tree,
        arch: config.arch(),
        fragment: &fragment,
        kconfig_add: &kconfig_add,
        dir: &build,
        log: &build_log,
        what: &what,
    };
    let off_list: Vec<&str> = off.into_iter().collect();
    let check = |text: &str| check_dot_config(text, config, runtime, &off_list);
    if build_it {
        kernel.run(jobs, check)?;
    } else {
        let note = format!(
            "no build: booting the {} kernel ({runtime} runtime) already in {}",
            config.base(),
            build.display()
        );
        eprintln!("==> {note}");
        util::write(&build_log, note + "\n")?;
        kernel.verify(false, check)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KUNIT_TEST_OPTION;

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
        // A floor kernel is never a tested one.
        let floor = format!("{with_rust}CONFIG_KASAN_RUST_BENCH_FLOOR=y\n");
        let err = check_dot_config(&floor, HwTagsOff, Rust, &[]).unwrap_err();
        assert!(err.contains("BENCH_FLOOR"), "{err}");
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
            problems[0].starts_with("suite rkasan did not run (22"),
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
        assert!(!boot.hung_early);
        // Silent before any KTAP line: hung in early boot, killed long before the timeout.
        let (long, stall) = (
            std::time::Duration::from_secs(20),
            std::time::Duration::from_secs(1),
        );
        let begun = std::time::Instant::now();
        let boot = boot_watched(&linux, &["hang".into()], &dir, &log, long, stall).unwrap();
        assert!(boot.timed_out && boot.hung_early);
        assert!(begun.elapsed() < std::time::Duration::from_secs(10));
        // Silent after its first KTAP line: the tests may be; only the timeout kills it.
        fs::write(
            &linux,
            "#!/bin/sh\necho KTAP version 1\nsleep 3\necho done\nexit 0\n",
        )
        .unwrap();
        let boot = boot_watched(&linux, &[], &dir, &log, long, stall).unwrap();
        assert!(!boot.timed_out && !boot.hung_early);
        assert!(boot.console.ends_with("done\n"));
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
