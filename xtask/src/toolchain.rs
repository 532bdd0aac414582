// SPDX-License-Identifier: GPL-2.0

//! The toolchain every kernel build uses: where LLVM 19, Debian's rustc and the lab's bindgen
//! are, the `make` options and environment of each build, and the apt helper `setup` and
//! `source` share. Apart from setup.rs, which installs them, so that builds need no installer.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::Arch;
use crate::util::{self, bail, Result};

/// Where Debian's clang-19 keeps the unversioned `clang`, `ld.lld`, `llvm-ar` that `LLVM=1` wants.
pub const LLVM_BIN: &str = "/usr/lib/llvm-19/bin";
/// libclang for building bindgen.
pub(crate) const LIBCLANG_PATH: &str = "/usr/lib/llvm-19/lib";
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

/// The `make` variables every kernel build for `arch` gets (for `make` itself or kunit.py's
/// `--make_options`). `LLVM=1` also cross-compiles: clang and ld.lld take the target from
/// `ARCH`, so arm64 needs no `CROSS_COMPILE`.
pub fn make_options(arch: Arch) -> Result<Vec<String>> {
    let mut opts = vec![
        "LLVM=1".to_string(),
        format!("RUSTC={RUSTC}"),
        format!("RUSTDOC={RUSTDOC}"),
        format!("RUST_LIB_SRC={RUST_LIB_SRC}"),
    ];
    if arch == Arch::Um {
        // llvm-objcopy 19 fails on UML's STATIC_LINK link; GNU objcopy works for all UML
        // configs. Not for arm64: the host's GNU objcopy knows no aarch64 ELF.
        opts.push("OBJCOPY=objcopy".into());
    }
    opts.push(format!("BINDGEN={}", bindgen()?.display()));
    Ok(opts)
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let opts = make_options(Arch::Um).unwrap();
        assert!(opts.contains(&"LLVM=1".to_string()));
        assert!(opts.contains(&format!("RUSTC={RUSTC}")));
        assert!(opts.contains(&"OBJCOPY=objcopy".to_string()));
        let arm64 = make_options(Arch::Arm64).unwrap();
        assert!(arm64.contains(&"LLVM=1".to_string()));
        assert!(
            !arm64.iter().any(|o| o.starts_with("OBJCOPY=")),
            "{arm64:?}"
        );
        assert!(
            !arm64.iter().any(|o| o.starts_with("CROSS_COMPILE=")),
            "{arm64:?}"
        );
    }
}
