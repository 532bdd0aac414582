// SPDX-License-Identifier: GPL-2.0

//! The random tags of the tag-based modes (arm64), for `mm/kasan/rkasan_tags_entry.c`.
//!
//! Twin of `kasan_random_tag()` of [`mm/kasan/sw_tags.c`](srctree/mm/kasan/sw_tags.c) and
//! [`mm/kasan/kasan.h`](srctree/mm/kasan/kasan.h) (hardware tags). The rest of the tag-based
//! modes' glue is in `kernel_sw_tags` (the shadow and check path of software tags),
//! `kernel_stack_ring` and `kernel_tag_report`.

use crate::tags;
use core::ffi::c_void;

/// `kasan_random_tag()` of software tag-based KASAN: one LCG step of this CPU's `prng_state`.
///
/// The state stays a per-CPU variable of `sw_tags.c`, read and written without disabling
/// preemption as upstream does: a task moved to another CPU in between at worst gives two
/// objects the same tag. Relaxed atomics make that race defined behaviour here.
///
/// # Safety
///
/// `prng_state` points to a live, aligned `u32` that is only accessed atomically or by this
/// function.
#[cfg(CONFIG_KASAN_SW_TAGS)]
#[no_mangle]
pub unsafe extern "C" fn rkasan_sw_random_tag(prng_state: *mut u32) -> u8 {
    use core::sync::atomic::{AtomicU32, Ordering::Relaxed};
    // SAFETY: Valid and aligned per the caller; all accesses in Rust are atomic.
    let state = unsafe { AtomicU32::from_ptr(prng_state) };
    let next = tags::sw_prng_next(state.load(Relaxed));
    state.store(next, Relaxed);
    tags::sw_tag_from_state(next)
}

/// `kasan_random_tag()` of hardware tag-based KASAN, `mte_get_random_tag()`: the MTE `IRG`
/// instruction draws a tag the kernel's `GCR_EL1.Exclude` allows (never 0xE or 0xF), and
/// [`tags::mte_get_ptr_tag`] turns it into KASAN's `0xF<x>` form.
#[cfg(CONFIG_KASAN_HW_TAGS)]
#[no_mangle]
pub extern "C" fn rkasan_hw_random_tag() -> u8 {
    let mut addr: u64 = 0;
    // SAFETY: `IRG` only writes its destination register (and the random seed in RGSR_EL1);
    // it accesses no memory. HW_TAGS is only enabled on CPUs with MTE (`kasan_init_hw_tags()`
    // checks `system_supports_mte()`), which is when allocations ask for tags.
    unsafe {
        core::arch::asm!(
            ".arch_extension memtag",
            "irg {0}, {0}",
            inout(reg) addr,
            options(nomem, nostack, preserves_flags)
        )
    };
    tags::mte_get_ptr_tag(addr)
}

/// `get_tag()` of the core ([`tags::get_tag`]), for the KUnit suite to compare with C's.
#[no_mangle]
pub extern "C" fn rkasan_tag_get(addr: *const c_void) -> u8 {
    tags::get_tag_ptr(addr)
}

/// `set_tag()` of the core ([`tags::set_tag_ptr`]), for the KUnit suite.
#[no_mangle]
pub extern "C" fn rkasan_tag_set(addr: *mut c_void, tag: u8) -> *mut c_void {
    tags::set_tag_ptr(addr, tag)
}

/// `kasan_reset_tag()` of the core ([`tags::reset_tag_ptr`]), for the KUnit suite.
#[no_mangle]
pub extern "C" fn rkasan_tag_reset(addr: *mut c_void) -> *mut c_void {
    tags::reset_tag_ptr(addr)
}
