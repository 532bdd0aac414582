// SPDX-License-Identifier: GPL-2.0

//! The rkasan lab: gets a Linux 7.2 tree, puts rkasan into it, builds UML and arm64 (QEMU)
//! kernels with kunit.py and runs the KASAN KUnit suites with the C and the Rust runtime. The `xtask` binary
//! (`cargo xtask`) is its command line; see `cargo xtask --help` and the repository's README.

pub mod bisect;
pub mod build;
pub mod cli;
pub mod config;
pub mod e2e;
pub mod kunit;
pub mod matrix;
pub mod objcheck;
pub mod reports;
pub mod results;
pub mod series;
pub mod setup;
pub mod toolchain;
pub mod tree;
pub mod util;
