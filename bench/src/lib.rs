// SPDX-License-Identifier: GPL-2.0

//! The rkasan bench, `cargo xtask bench`: four UML kernels (KASAN off, C runtime, Rust runtime,
//! the floor) built from one tree and run in paired, interleaved rounds, with 95% intervals of
//! the ratios ([`stats`]), a replay of their hot loops
//! outside UML and, in outline mode, a listing of each runtime's check path. A crate of its own,
//! with the chart dependency, so that `cargo xtask ci` does not build it; it builds and checks
//! its kernels through the lab's ([`xtask::build`]).

pub mod bench;
pub mod hotpath;
pub mod replay;
pub mod rounds;
pub mod stats;
