// SPDX-License-Identifier: GPL-2.0

//! rkasan: the KASAN runtime in Rust.
//!
//! The modules `check`, `params`, `quarantine`, `report` and `shadow` are the rkasan core crate,
//! copied here unchanged: the logic of each KASAN component, independent of the kernel. The
//! `kernel_*` modules are the glue that puts that logic behind the C ABI of the runtime:
//! `kernel_shadow` maps it onto the real shadow, `kernel_generic` exports the check and poison
//! paths called by `mm/kasan/rkasan_entry.c`, `kernel_report` decides and prints reports, and
//! [`kernel_params`] parses the boot parameters for the handlers in `mm/kasan/report.c`.
//!
//! The object is built without KASAN instrumentation (`KASAN_SANITIZE := n` in the Makefile):
//! it runs on the hot path of every instrumented access and must neither recurse into KASAN nor
//! panic. Everything monomorphised into it is uninstrumented; it calls no non-generic `core`
//! function on the check and poison paths.
//!
//! C header: [`mm/kasan/rkasan.h`](srctree/mm/kasan/rkasan.h).

/// The prefix of this crate's `pr_*!` messages, as `pr_fmt` gives the C files of KASAN.
const __LOG_PREFIX: &[u8] = b"kasan\0";

#[path = "rkasan/check.rs"]
pub mod check;
#[path = "rkasan/params.rs"]
pub mod params;
#[path = "rkasan/quarantine.rs"]
pub mod quarantine;
#[path = "rkasan/report.rs"]
pub mod report;
#[path = "rkasan/shadow.rs"]
pub mod shadow;

#[path = "rkasan/kernel_cstr.rs"]
pub mod kernel_cstr;
#[path = "rkasan/kernel_params.rs"]
pub mod kernel_params;
#[cfg(CONFIG_KASAN_GENERIC)]
#[path = "rkasan/kernel_query.rs"]
pub mod kernel_query;
#[cfg(CONFIG_KASAN_GENERIC)]
#[path = "rkasan/kernel_shadow.rs"]
pub mod kernel_shadow;

// Built even without KASAN_RUST_SHADOW: the KUnit suite poisons through it.
#[cfg(CONFIG_KASAN_GENERIC)]
#[path = "rkasan/kernel_generic.rs"]
pub mod kernel_generic;
#[cfg(CONFIG_KASAN_RUST_REPORT)]
#[path = "rkasan/kernel_report.rs"]
pub mod kernel_report;
