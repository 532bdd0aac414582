// SPDX-License-Identifier: GPL-2.0

//! `cargo xtask setup`: installs the Debian packages, QEMU and `bindgen` the kernel builds and
//! boots need, and checks the tree's `make rustavailable`. Where those tools are and the
//! environment every kernel `make` runs in are [`crate::toolchain`]'s.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::{Arch, QEMU_X86_64};
use crate::toolchain::{apt_update, bindgen, kernel_env, make_options, LIBCLANG_PATH};
use crate::tree::Tree;
use crate::util::{self, bail, Result, Step};

/// Debian packages the lab needs: the kernel's Rust toolchain (rustc-web, rust-web-src, and
/// its clippy and rustfmt for `CLIPPY=1` and `rustfmtcheck`), clang /
/// lld / llvm 19 for `LLVM=1`, libclang for bindgen, the usual kernel build tools, and what the
/// lab itself runs (python3 for kunit.py, git, dpkg-deb's xz).
pub const PACKAGES: &[&str] = &[
    "rustc-web",
    "rust-web-src",
    "rust-web-clippy",
    "rustfmt-web",
    "clang-19",
    "lld-19",
    "llvm-19",
    "libclang-19-dev",
    "libc6-dev",
    "make",
    "flex",
    "bison",
    "bc",
    "libelf-dev",
    "libssl-dev",
    "python3",
    "binutils",
    "busybox-static",
    "cpio",
    "git",
    "xz-utils",
    "fonts-dejavu-core",
];

/// Debian packages from `wanted` that are not installed.
fn missing_packages(wanted: &[&str]) -> Result<Vec<String>> {
    // dpkg-query exits non-zero when a package is unknown: read its stdout either way.
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Package} ${db:Status-Abbrev}\\n"])
        .args(wanted)
        .stdin(std::process::Stdio::null())
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) => bail!("cannot run dpkg-query ({e}): the lab needs a Debian system"),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let installed: Vec<&str> = stdout
        .lines()
        .filter_map(|l| {
            let (name, status) = l.split_once(' ')?;
            status.starts_with("ii").then_some(name)
        })
        .collect();
    Ok(wanted
        .iter()
        .filter(|p| !installed.contains(p))
        .map(|p| p.to_string())
        .collect())
}

fn install_packages() -> Result<()> {
    let missing = missing_packages(PACKAGES)?;
    if missing.is_empty() {
        eprintln!("    Debian packages: all {} present", PACKAGES.len());
        return Ok(());
    }
    if !util::is_root() {
        bail!(
            "setup must install Debian packages but is not running as root: run it as root, or \
             install them yourself: apt-get install --no-install-recommends {}",
            missing.join(" ")
        );
    }
    let log = util::fresh_log("setup-apt")?;
    let step = Step::start(
        format!("apt-get install {}", missing.join(" ")),
        Some(&format!("log: {}", log.display())),
    );
    apt_update(
        Command::new("apt-get").env("DEBIAN_FRONTEND", "noninteractive"),
        &log,
        "system sources",
    )?;
    util::run_logged(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&missing),
        &log,
    )?;
    step.done();
    let still = missing_packages(PACKAGES)?;
    if !still.is_empty() {
        bail!("apt-get install left these missing: {}", still.join(" "));
    }
    Ok(())
}

/// The QEMU binaries the configs boot with, and the Debian package of each: kunit.py runs the
/// arm64 configs with `qemu-system-aarch64`, the lab the x86_64 ones with `qemu-system-x86_64`.
pub const QEMUS: &[(&str, &str)] = &[
    ("qemu-system-aarch64", "qemu-system-arm"),
    (QEMU_X86_64, "qemu-system-x86"),
];
/// The oldest QEMU major version the QEMU configs work with: bookworm's 7.2 prints a false
/// KASAN report at boot and hangs with MTE (hw-tags); 10.0 boots both tag-based modes. Both
/// binaries come from the same version: bookworm's 7.2 `qemu-system-x86` conflicts with the
/// backports `qemu-system-common` that `qemu-system-arm` 10 needs.
pub const QEMU_MIN_MAJOR: u32 = 10;
/// The keyring Debian's own sources are signed with, when the system's sources name none.
const DEBIAN_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// The version in `qemu-system-* --version` output (`QEMU emulator version 10.0.2 (Debian
/// 1:10.0.2+ds-2~bpo12+1)`) as (major, minor, micro).
pub fn parse_qemu_version(text: &str) -> Option<(u32, u32, u32)> {
    let rest = text.lines().next()?.split("version ").nth(1)?;
    let version = rest.split_whitespace().next()?;
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

/// The installed `qemu`'s version, or None when it is missing or says something unexpected.
fn qemu_version(qemu: &str) -> Option<(u32, u32, u32)> {
    let out = Command::new(qemu)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    parse_qemu_version(&String::from_utf8_lossy(&out.stdout))
}

/// `VERSION_CODENAME` of `/etc/os-release` text (`bookworm`, `trixie`, ...).
pub fn os_codename(os_release: &str) -> Option<&str> {
    os_release.lines().find_map(|l| {
        let v = l
            .strip_prefix("VERSION_CODENAME=")?
            .trim()
            .trim_matches('"');
        (!v.is_empty()).then_some(v)
    })
}

/// The first `Signed-By:` keyring of deb822 sources text.
pub fn signed_by(sources: &str) -> Option<&str> {
    sources.lines().find_map(|l| {
        let (key, value) = l.split_once(':')?;
        let value = value.trim();
        (key.trim().eq_ignore_ascii_case("signed-by") && value.starts_with('/')).then_some(value)
    })
}

/// The deb822 sources of the private apt configuration QEMU is installed with on `codename`
/// (bookworm): the system's suites (so dependencies resolve as usual) plus backports, which
/// has QEMU 10.
pub fn backports_sources(codename: &str, keyring: &str) -> String {
    format!(
        "# Written by the rkasan lab (cargo xtask setup) for installing QEMU from\n\
         # {codename}-backports; the system's own sources are left alone.\n\
         Types: deb\n\
         URIs: http://deb.debian.org/debian\n\
         Suites: {codename} {codename}-updates {codename}-backports\n\
         Components: main\n\
         Signed-By: {keyring}\n\
         \n\
         Types: deb\n\
         URIs: http://deb.debian.org/debian-security\n\
         Suites: {codename}-security\n\
         Components: main\n\
         Signed-By: {keyring}\n"
    )
}

/// Writes the private apt configuration for installing QEMU from backports under
/// `$CACHE/apt-qemu` and returns its `APT_CONFIG` file. Unlike `source`'s, which only downloads,
/// it keeps the system's dpkg status, so `apt-get install` really installs; its package lists
/// and cache are its own, so the system's apt never sees backports.
fn backports_apt_config(codename: &str) -> Result<PathBuf> {
    let a = util::cache_dir()?.join("apt-qemu");
    for dir in [
        "lists/partial",
        "cache/archives/partial",
        "etc/sources.list.d",
    ] {
        util::mkdir(&a.join(dir))?;
    }
    let system =
        std::fs::read_to_string("/etc/apt/sources.list.d/debian.sources").unwrap_or_default();
    let keyring = signed_by(&system).unwrap_or(DEBIAN_KEYRING);
    util::write(&a.join("etc/sources.list"), "# see sources.list.d/\n")?;
    util::write(
        &a.join("etc/sources.list.d/debian.sources"),
        backports_sources(codename, keyring),
    )?;
    let d = a.display();
    let conf = format!(
        "Dir::Etc::SourceList \"{d}/etc/sources.list\";\n\
         Dir::Etc::SourceParts \"{d}/etc/sources.list.d\";\n\
         Dir::State::Lists \"{d}/lists\";\n\
         Dir::Cache \"{d}/cache\";\n\
         Acquire::Languages \"none\";\n\
         APT::Sandbox::User \"root\";\n"
    );
    let path = a.join("apt.conf");
    util::write(&path, conf)?;
    Ok(path)
}

/// Installs each of [`QEMUS`] that is missing or older than [`QEMU_MIN_MAJOR`]: on bookworm
/// from bookworm-backports through a private apt configuration, elsewhere (trixie and later ship
/// QEMU 10) from the system's sources.
fn install_qemu() -> Result<()> {
    let enough = |qemu: &str| qemu_version(qemu).filter(|v| v.0 >= QEMU_MIN_MAJOR);
    let missing: Vec<&str> = QEMUS
        .iter()
        .filter(|(qemu, _)| enough(qemu).is_none())
        .map(|(_, package)| *package)
        .collect();
    let report = || {
        for (qemu, _) in QEMUS {
            if let Some((major, minor, micro)) = enough(qemu) {
                eprintln!("    QEMU: {qemu} {major}.{minor}.{micro}");
            }
        }
    };
    if missing.is_empty() {
        report();
        return Ok(());
    }
    let packages = missing.join(" ");
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let codename = os_codename(&os_release).unwrap_or("unknown").to_string();
    let backports = codename == "bookworm";
    let target = if backports {
        vec!["-t".to_string(), format!("{codename}-backports")]
    } else {
        Vec::new()
    };
    if !util::is_root() {
        let how = if backports {
            format!(
                "apt-get install --no-install-recommends -t {codename}-backports {packages} \
                 (with {codename}-backports in the apt sources)"
            )
        } else {
            format!("apt-get install --no-install-recommends {packages}")
        };
        bail!(
            "setup must install QEMU >= {QEMU_MIN_MAJOR} ({packages}) for the QEMU configs but \
             is not running as root: run it as root, or install it yourself: {how}"
        );
    }
    let log = util::fresh_log("setup-qemu")?;
    let from = if backports {
        format!("{codename}-backports")
    } else {
        "the system sources".to_string()
    };
    let step = Step::start(
        format!("apt-get install {packages} (QEMU >= {QEMU_MIN_MAJOR}, from {from})"),
        Some(&format!("log: {}", log.display())),
    );
    let mut update = Command::new("apt-get");
    let mut install = Command::new("apt-get");
    if backports {
        let conf = backports_apt_config(&codename)?;
        update.env("APT_CONFIG", &conf);
        install.env("APT_CONFIG", &conf);
    }
    apt_update(update.env("DEBIAN_FRONTEND", "noninteractive"), &log, &from)?;
    util::run_logged(
        install
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&target)
            .args(&missing),
        &log,
    )?;
    step.done();
    if let Some((qemu, _)) = QEMUS.iter().find(|(qemu, _)| enough(qemu).is_none()) {
        let found = qemu_version(qemu);
        bail!(
            "after installing {packages} from {from}, {qemu} is {}, but the QEMU configs need \
             QEMU >= {QEMU_MIN_MAJOR} (older ones print false KASAN reports and hang with MTE); \
             install a newer QEMU. Log: {}",
            found.map_or("missing".to_string(), |(a, b, c)| format!("{a}.{b}.{c}")),
            log.display()
        );
    }
    report();
    Ok(())
}

fn bindgen_works(bindgen: &Path) -> bool {
    Command::new(bindgen)
        .arg("--version")
        .env("LIBCLANG_PATH", LIBCLANG_PATH)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn install_bindgen() -> Result<()> {
    let bindgen = bindgen()?;
    if bindgen_works(&bindgen) {
        eprintln!("    bindgen: {}", bindgen.display());
        return Ok(());
    }
    let root = util::cache_dir()?.join("cargo");
    let log = util::fresh_log("setup-bindgen")?;
    let step = Step::start(
        "cargo install --locked bindgen-cli",
        Some(&format!("log: {}", log.display())),
    );
    // The cargo running the lab (rustup's is fine for a host tool).
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["install", "--locked", "bindgen-cli", "--root"])
        .arg(&root)
        .env("LIBCLANG_PATH", LIBCLANG_PATH)
        .env_remove("CARGO_TARGET_DIR");
    if let Err(e) = util::run_logged(&mut cmd, &log) {
        let text = util::read(&log).unwrap_or_default();
        if [
            "failed to get",
            "Couldn't resolve",
            "failed to download",
            "network",
        ]
        .iter()
        .any(|needle| text.contains(needle))
        {
            bail!("cannot reach crates.io to install bindgen-cli; check the network. {e}");
        }
        return Err(e);
    }
    step.done();
    if !bindgen_works(&bindgen) {
        bail!("{} does not run after cargo install", bindgen.display());
    }
    Ok(())
}

/// Checks `make LLVM=1 rustavailable` against `tree`, building in a scratch directory so the
/// tree stays clean.
pub fn check_rust_available(tree: &Tree) -> Result<()> {
    let log = util::fresh_log("setup-rustavailable")?;
    let out = util::cache_dir()?.join("build").join("rustavailable");
    util::mkdir(&out)?;
    let mut cmd = Command::new("make");
    kernel_env(&mut cmd)
        .arg("-C")
        .arg(&tree.path)
        .arg(format!("O={}", out.display()))
        .arg("ARCH=um")
        .args(make_options(Arch::Um)?)
        .arg("rustavailable");
    if let Err(e) = util::run_logged(&mut cmd, &log) {
        bail!("the kernel's Rust toolchain check failed: {e}");
    }
    if !util::read(&log)?.contains("Rust is available!") {
        bail!(
            "`make rustavailable` did not say \"Rust is available!\"; see {}",
            log.display()
        );
    }
    eprintln!(
        "    make rustavailable: Rust is available! ({})",
        tree.path.display()
    );
    Ok(())
}

/// `cargo xtask setup`.
pub fn setup(tree: Option<&Tree>) -> Result<()> {
    let step = Step::start("setup", None);
    install_packages()?;
    install_qemu()?;
    install_bindgen()?;
    match tree {
        Some(tree) => check_rust_available(tree)?,
        None => eprintln!("    no kernel tree yet: `cargo xtask source` gets one"),
    }
    step.done();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_missing_packages() {
        let missing = missing_packages(&["dpkg", "no-such-package-rkasan"]).unwrap();
        assert_eq!(missing, ["no-such-package-rkasan"]);
    }

    #[test]
    fn qemu_versions() {
        assert_eq!(
            parse_qemu_version(
                "QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)\n\
                 Copyright (c) 2003-2025 Fabrice Bellard and the QEMU Project developers\n"
            ),
            Some((10, 0, 2))
        );
        assert_eq!(
            parse_qemu_version("QEMU emulator version 7.2.15 (Debian 1:7.2+dfsg-7+deb12u13)\n"),
            Some((7, 2, 15))
        );
        assert_eq!(
            parse_qemu_version("QEMU emulator version 9.1\n"),
            Some((9, 1, 0))
        );
        assert_eq!(parse_qemu_version(""), None);
        assert_eq!(parse_qemu_version("bash: qemu: command not found\n"), None);
    }

    #[test]
    fn os_release_and_keyring() {
        let os = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\n\
                  VERSION_CODENAME=bookworm\nID=debian\n";
        assert_eq!(os_codename(os), Some("bookworm"));
        assert_eq!(os_codename("ID=debian\n"), None);
        let system = "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n\
                      Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n";
        assert_eq!(signed_by(system), Some(DEBIAN_KEYRING));
        assert_eq!(signed_by("Types: deb\n"), None);
    }

    #[test]
    fn backports_sources_text() {
        let text = backports_sources("bookworm", DEBIAN_KEYRING);
        assert!(text.contains(
            "Types: deb\nURIs: http://deb.debian.org/debian\n\
             Suites: bookworm bookworm-updates bookworm-backports\nComponents: main\n\
             Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        ));
        assert!(text
            .contains("URIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n"));
        assert_eq!(text.matches("Signed-By: ").count(), 2);
        // deb822: stanzas are separated by one empty line, comments start with #.
        assert_eq!(text.matches("\n\n").count(), 1);
        assert!(text
            .lines()
            .filter(|l| !l.is_empty())
            .all(|l| l.starts_with('#') || l.split_once(": ").is_some()));
    }
}
