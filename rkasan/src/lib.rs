// SPDX-License-Identifier: GPL-2.0

//! The logic of KASAN, the Kernel Address Sanitizer, in `no_std` Rust.
//!
//! Each module is the Rust twin of one file of the C runtime in `mm/kasan/` and follows its
//! semantics exactly, but for [`free_check`], which goes beyond upstream and has no twin. The same module files are compiled twice, unchanged: here, as a host crate
//! tested under `cargo test`, and inside the kernel, where the lab copies them into
//! `mm/kasan/rkasan/` and the kernel's crate root `mm/kasan/rkasan.rs` declares them next to its
//! thin glue. Modules therefore refer to each other only through `crate::<module>` paths and use
//! nothing but `core`.
//!
//! C sources: [`mm/kasan/`](srctree/mm/kasan/).

#![cfg_attr(not(test), no_std)]

pub mod check;
pub mod free_check;
pub mod params;
pub mod quarantine;
pub mod report;
pub mod shadow;
pub mod stack_ring;
pub mod sw_tags;
pub mod tags;
