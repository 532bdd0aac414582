// SPDX-License-Identifier: GPL-2.0

//! The bench's access and mem cases replayed outside UML: `replay.md` beside the bench figures.
//!
//! `bench/replay/replay.c` maps a UML kernel binary at its link address and calls the kernel's
//! own `bench_access()`, `bench_memset()` and `bench_memcpy()`: the same machine code as in the
//! kernel run, including the KASAN runtime, without UML's timer signals and host page faults and
//! with the fastest of several samples. The machine's noisy neighbour still slows whole runs, so
//! the kernels are replayed interleaved, round by round, and compared as the bench compares them.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::rounds::{record, round_order, Kernel, Samples};
use xtask::toolchain;
use xtask::util::{self, bail, Result};

/// The functions of `mm/rkasan_bench.c` the replay calls, in its argument order.
const FUNCTIONS: [&str; 3] = ["bench_access", "bench_memset", "bench_memcpy"];

/// Compiles the replay program into `out`.
pub fn build(out: &Path) -> Result<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("replay/replay.c");
    let bin = out.join("replay");
    util::capture(
        Command::new(Path::new(toolchain::LLVM_BIN).join("clang"))
            .args(["-O2", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(&bin)
            .arg(&src),
    )?;
    Ok(bin)
}

/// The addresses of [`FUNCTIONS`] in `llvm-nm` output, in that order.
pub fn addresses(nm: &str) -> std::result::Result<Vec<String>, String> {
    FUNCTIONS
        .iter()
        .map(|f| {
            nm.lines()
                .find_map(|l| {
                    let mut w = l.split_whitespace();
                    let (addr, _, name) = (w.next()?, w.next()?, w.next()?);
                    (name == *f).then(|| addr.to_string())
                })
                .ok_or_else(|| format!("no {f}"))
        })
        .collect()
}

/// The `name ns` lines of the replay program's output.
pub fn parse(output: &str) -> Vec<(String, f64)> {
    output
        .lines()
        .filter_map(|l| {
            let (name, v) = l.split_once(' ')?;
            Some((name.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// Replays every kernel of `bins` `rounds` times, interleaved as the bench runs them. Returns
/// the figures and the order of the cases.
pub fn run(
    bins: &[(Kernel, PathBuf)],
    rounds: usize,
    out: &Path,
) -> Result<(Samples, Vec<String>)> {
    let replay = build(out)?;
    let mut args = Vec::new();
    for (kernel, bin) in bins {
        let nm =
            util::capture(Command::new(Path::new(toolchain::LLVM_BIN).join("llvm-nm")).arg(bin))?;
        match addresses(&nm) {
            Ok(a) => args.push((*kernel, bin.clone(), a)),
            Err(e) => bail!("{}: {e} (not a bench kernel?)", bin.display()),
        }
    }
    let mut samples = Samples::new();
    let mut order = Vec::new();
    for round in 1..=rounds {
        for (kernel, bin, addrs) in &round_order(&args, round) {
            let output = util::capture(Command::new(&replay).arg(bin).args(addrs))?;
            for (name, v) in parse(&output) {
                record(&mut samples, &mut order, *kernel, round, name, v);
            }
        }
    }
    Ok((samples, order))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_bench_functions() {
        let nm = "00000000602f5120 t bench_access\n\
                  00000000602f61e0 t bench_memset\n\
                  00000000602f6220 t bench_memcpy\n\
                  0000000060034da0 T __asan_load8\n";
        assert_eq!(
            addresses(nm),
            Ok(vec![
                "00000000602f5120".to_string(),
                "00000000602f61e0".to_string(),
                "00000000602f6220".to_string()
            ])
        );
        assert_eq!(
            addresses("00000000602f5120 t bench_access\n"),
            Err("no bench_memset".to_string())
        );
    }

    #[test]
    fn parses_the_output() {
        assert_eq!(
            parse("load1_seq 2.501\nmemset_64 11.694\nnoise\n"),
            vec![
                ("load1_seq".to_string(), 2.501),
                ("memset_64".to_string(), 11.694)
            ]
        );
    }

    /// The program builds warning-free with the lab's clang, which `cargo xtask setup` installs
    /// (CI's `cargo test` runs before it; `cargo xtask bench` builds it with `-Werror` anyway).
    #[test]
    #[ignore = "needs clang-19 from `cargo xtask setup`: cargo test -- --ignored"]
    fn builds() {
        let dir = std::env::temp_dir().join(format!("xtask-replay-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bin = build(&dir).unwrap();
        assert!(bin.is_file());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
