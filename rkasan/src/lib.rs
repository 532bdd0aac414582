// SPDX-License-Identifier: GPL-2.0

//! The logic of KASAN, the Kernel Address Sanitizer, in `no_std` Rust.
//!
//! Each module is the Rust twin of one file of the C runtime in `mm/kasan/` and follows its
//! semantics exactly, but for [`free_check`], which goes beyond upstream and has no twin. The
//! module files live where they land in the kernel, `linux/tree/mm/kasan/rkasan/`, next to the
//! glue (`kernel_*.rs`) that the kernel's crate root `mm/kasan/rkasan.rs` declares with them;
//! this crate compiles the same files, unchanged, for `cargo test`. Modules therefore refer to
//! each other only through `crate::<module>` paths and use nothing but `core`.
//!
//! C sources: [`mm/kasan/`](srctree/mm/kasan/).

#![cfg_attr(not(test), no_std)]

#[path = "../../linux/tree/mm/kasan/rkasan/check.rs"]
pub mod check;
#[path = "../../linux/tree/mm/kasan/rkasan/free_check.rs"]
pub mod free_check;
#[path = "../../linux/tree/mm/kasan/rkasan/params.rs"]
pub mod params;
#[path = "../../linux/tree/mm/kasan/rkasan/quarantine.rs"]
pub mod quarantine;
#[path = "../../linux/tree/mm/kasan/rkasan/report.rs"]
pub mod report;
#[path = "../../linux/tree/mm/kasan/rkasan/shadow.rs"]
pub mod shadow;
#[path = "../../linux/tree/mm/kasan/rkasan/stack_ring.rs"]
pub mod stack_ring;
#[path = "../../linux/tree/mm/kasan/rkasan/sw_tags.rs"]
pub mod sw_tags;
#[path = "../../linux/tree/mm/kasan/rkasan/tags.rs"]
pub mod tags;
