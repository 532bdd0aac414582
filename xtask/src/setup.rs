// SPDX-License-Identifier: GPL-2.0

//! `cargo xtask setup`: the Debian packages and `bindgen` the kernel build needs, and the
//! environment every kernel `make` runs in.

use std::path::{Path, PathBuf};
use std::process::Command;

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

/// Where Debian's clang-19 keeps the unversioned `clang`, `ld.lld`, `llvm-ar` that `LLVM=1` wants.
pub const LLVM_BIN: &str = "/usr/lib/llvm-19/bin";
/// libclang for building bindgen.
const LIBCLANG_PATH: &str = "/usr/lib/llvm-19/lib";
/// The kernel's rustc (Debian's rustc-web), never rustup's.
pub const RUSTC: &str = "/usr/bin/rustc";
/// The matching rustdoc.
pub const RUSTDOC: &str = "/usr/bin/rustdoc";
/// The matching standard library sources (rust-web-src).
pub const RUST_LIB_SRC: &str = "/usr/lib/rustlib/src/rust/library";

/// The bindgen that `setup` installs into the cache.
pub fn bindgen() -> Result<PathBuf> {
    Ok(util::cache_dir()?.join("cargo").join("bin").join("bindgen"))
}

/// The `make` variables every kernel build gets (for `make` itself or kunit.py's
/// `--make_options`).
pub fn make_options() -> Result<Vec<String>> {
    Ok(vec![
        "LLVM=1".into(),
        format!("RUSTC={RUSTC}"),
        format!("RUSTDOC={RUSTDOC}"),
        format!("RUST_LIB_SRC={RUST_LIB_SRC}"),
        // llvm-objcopy 19 fails on UML's STATIC_LINK link; GNU objcopy works for all configs.
        "OBJCOPY=objcopy".into(),
        format!("BINDGEN={}", bindgen()?.display()),
    ])
}

/// Makes `cmd` run in the kernel build's environment: LLVM 19 first on PATH, no rustup or cargo
/// on PATH or in the environment (the kernel must use Debian's rustc), no inherited make flags.
pub fn kernel_env(cmd: &mut Command) -> &mut Command {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![PathBuf::from(LLVM_BIN)];
    dirs.extend(std::env::split_paths(&path).filter(|d| {
        let d = d.to_string_lossy();
        !d.contains("/.cargo/") && !d.contains("/.rustup/") && d != LLVM_BIN
    }));
    if let Ok(joined) = std::env::join_paths(dirs) {
        cmd.env("PATH", joined);
    }
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO")
            || key.starts_with("RUSTUP")
            || key.starts_with("RUSTC")
            || key.starts_with("RUSTDOC")
            || key == "RUSTFLAGS"
            || key == "MAKEFLAGS"
            || key == "MFLAGS"
            || key == "MAKELEVEL"
        {
            cmd.env_remove(key.as_ref());
        }
    }
    cmd.env("PYTHONDONTWRITEBYTECODE", "1")
}

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

/// `apt-get update` that fails when a source could not be fetched.
pub fn apt_update(cmd: &mut Command, log: &Path, what: &str) -> Result<()> {
    cmd.args(["update", "--error-on=any"]);
    if let Err(e) = util::run_logged(cmd, log) {
        bail!(
            "cannot reach Debian's package registry ({what}: apt-get update failed); \
             check the network. {e}"
        );
    }
    Ok(())
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
        .args(make_options()?)
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
    fn kernel_env_hides_rustup() {
        let mut cmd = Command::new("true");
        kernel_env(&mut cmd);
        let path = cmd
            .get_envs()
            .find(|(k, _)| *k == "PATH")
            .and_then(|(_, v)| v)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(path.starts_with(LLVM_BIN), "{path}");
        assert!(!path.contains("/.cargo/"), "{path}");
        let opts = make_options().unwrap();
        assert!(opts.contains(&"LLVM=1".to_string()));
        assert!(opts.contains(&format!("RUSTC={RUSTC}")));
    }
}
