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
//! Where each C file's logic went (module, the option that selects it, what that C file keeps
//! under the option; the glue is `linux/tree/mm/kasan/rkasan/kernel_*.rs`):
//!
//! | C file (`mm/kasan/`) | Rust module | `CONFIG_` | stays C |
//! |---|---|---|---|
//! | `generic.c` | [`check`] | `KASAN_RUST_SHADOW` | metadata (`kasan_cache_create()`, alloc/free info) |
//! | `shadow.c` | [`shadow`], [`sw_tags`] | `KASAN_RUST_SHADOW`, `KASAN_RUST_SW_TAGS` | vmalloc shadow population, page-level helpers |
//! | `report.c` | [`report`], [`params`] | `KASAN_RUST_REPORT`, `KASAN_RUST_PARAMS` | locking, tracing, taint, the `kasan.fault` policy, `early_param()` |
//! | `report_generic.c` | [`report`], [`check`] | `KASAN_RUST_REPORT` | the stack-frame printer (`kasan_print_address_stack_frame()`) |
//! | `quarantine.c` | [`quarantine`] | `KASAN_RUST_QUARANTINE` | per-CPU storage, locks, SRCU, IPIs, hotplug callbacks, debugfs (`rkasan_quarantine.c`) |
//! | `tags.c` | [`stack_ring`], [`params`] | `KASAN_RUST_STACK_RING`, `KASAN_RUST_PARAMS` | the ring's lock and stack depot |
//! | `report_tags.c` | [`stack_ring`] | `KASAN_RUST_STACK_RING` | |
//! | `sw_tags.c` | [`sw_tags`], [`tags`] | `KASAN_RUST_SW_TAGS`, `KASAN_RUST_TAGS` | the per-CPU PRNG state, the other `__hwasan_*()` |
//! | `hw_tags.c` | [`params`], [`tags`] | `KASAN_RUST_PARAMS`, `KASAN_RUST_TAGS` | MTE setup |
//! | `report_sw_tags.c`, `report_hw_tags.c` | [`sw_tags`], [`tags`] | `KASAN_RUST_TAGS_REPORT` | |
//! | (none) | [`free_check`] | `KASAN_RUST_QUARANTINE`, `KASAN_RUST_REPORT`, `kasan.free_check=on` | |
//!
//! `common.c` and `init.c` (the allocation hooks, the early shadow) are C for both runtimes.
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
