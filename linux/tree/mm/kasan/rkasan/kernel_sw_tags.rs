// SPDX-License-Identifier: GPL-2.0

//! Software tag-based KASAN: its shadow of memory tags, and the check and poison paths exported
//! to the C entry layer `mm/kasan/rkasan_tags_entry.c`.
//!
//! Twin of the check path of [`mm/kasan/sw_tags.c`](srctree/mm/kasan/sw_tags.c) and of the
//! tag-mode poisoning of [`mm/kasan/shadow.c`](srctree/mm/kasan/shadow.c). The entry layer calls
//! these after `kasan_enabled()`, passing `_RET_IP_` where a report may follow. They run on every
//! instrumented access: no panics, wrapping arithmetic only, nothing instrumented called but
//! `kasan_report()` on a bad access.

use crate::shadow::Shadow;
use crate::sw_tags::{self, SW_TAGS_SCALE_SHIFT};
use core::ffi::c_void;
use kernel::ffi::{c_int, c_ulong};

/// `KASAN_SHADOW_OFFSET`: the tag of untagged address `a` is at `(a >> 4) + offset`.
// Kconfig's hex value is emitted by bindgen as an unsigned integer of the width it needs.
const KASAN_SHADOW_OFFSET: usize = kernel::bindings::CONFIG_KASAN_SHADOW_OFFSET as usize;

/// `VA_BITS`: the kernel's largest virtual address width.
const VA_BITS: u32 = kernel::bindings::CONFIG_ARM64_VA_BITS;

/// `vabits_actual` (`arch/arm64/include/asm/memory.h`): `VA_BITS`, or with 52-bit VAs the
/// width the boot chose, read from `TCR_EL1.T1SZ` as upstream does on every check.
#[inline(always)]
fn vabits_actual() -> u32 {
    if VA_BITS <= 48 {
        return VA_BITS;
    }
    let tcr: u64;
    // SAFETY: Reading TCR_EL1 at EL1 has no side effect; like C's non-volatile `asm`, it
    // may be merged with other reads (the value is fixed after boot).
    unsafe {
        core::arch::asm!(
            "mrs {}, tcr_el1",
            out(reg) tcr,
            options(pure, nomem, nostack, preserves_flags)
        )
    };
    64 - ((tcr >> 16) & 63) as u32
}

/// `KASAN_SHADOW_END` of `arch/arm64/include/asm/memory.h`.
const KASAN_SHADOW_END: usize =
    (1usize << (64 - SW_TAGS_SCALE_SHIFT)).wrapping_add(KASAN_SHADOW_OFFSET);

/// `kasan_shadow_to_mem((void *)KASAN_SHADOW_START)`, with `KASAN_SHADOW_START` =
/// `_KASAN_SHADOW_START(vabits_actual)`: the lowest address with a memory tag
/// (`addr_has_metadata()`), the start of the kernel's half of the address space.
#[inline(always)]
pub fn meta_start() -> usize {
    let shadow_size = 1usize.wrapping_shl(vabits_actual().wrapping_sub(SW_TAGS_SCALE_SHIFT));
    let shadow_start = KASAN_SHADOW_END.wrapping_sub(shadow_size);
    shadow_start.wrapping_sub(KASAN_SHADOW_OFFSET) << SW_TAGS_SCALE_SHIFT
}

extern "C" {
    /// The architecture's uninstrumented memset.
    fn __memset(s: *mut c_void, c: c_int, n: usize) -> *mut c_void;
    fn kasan_report(addr: *const c_void, size: usize, is_write: bool, ip: c_ulong) -> bool;
}

/// The memory tags of the running kernel, one per 16 bytes at `KASAN_SHADOW_OFFSET`.
pub struct KernelTagShadow;

impl Shadow for KernelTagShadow {
    #[inline(always)]
    fn mem_to_shadow(&self, addr: usize) -> *mut u8 {
        ((addr >> SW_TAGS_SCALE_SHIFT).wrapping_add(KASAN_SHADOW_OFFSET)) as *mut u8
    }

    #[inline(always)]
    fn shadow_to_mem(&self, shadow: *const u8) -> usize {
        (shadow as usize).wrapping_sub(KASAN_SHADOW_OFFSET) << SW_TAGS_SCALE_SHIFT
    }

    #[inline(always)]
    fn has_metadata(&self, addr: usize) -> bool {
        addr >= meta_start()
    }

    #[inline(always)]
    unsafe fn fill(&self, shadow: *mut u8, value: u8, len: usize) {
        // SAFETY: The caller guarantees that `shadow..shadow + len` is mapped shadow.
        unsafe { __memset(shadow.cast(), c_int::from(value), len) };
    }
}

/// Reports a bad access unless reports are suppressed; returns whether it reported.
#[cold]
#[inline(never)]
fn report(addr: usize, size: usize, write: bool, ret_ip: c_ulong) -> bool {
    // SAFETY: `kasan_report()` takes any address and size; it only reads the tags of
    // addresses that have them.
    unsafe { kasan_report(addr as *const c_void, size, write, ret_ip) }
}

/// Checks and, if bad, reports an access; returns whether it was good.
#[inline(always)]
fn check(addr: usize, size: usize, write: bool, ret_ip: c_ulong) -> bool {
    // SAFETY: Every kernel address at or above `meta_start()` has a mapped memory tag while
    // KASAN is enabled (`kasan_init_shadow()` maps the early shadow before any check).
    match unsafe { sw_tags::check_range(&KernelTagShadow, addr, size) } {
        Ok(()) => true,
        Err(_) => !report(addr, size, write, ret_ip),
    }
}

/// `kasan_check_range()`: checks `size` bytes at the tagged `addr`, reporting a bad access
/// as made from `ret_ip`. Returns `false` if it was bad and reported.
#[no_mangle]
pub extern "C" fn rkasan_sw_check_range(
    addr: *const c_void,
    size: usize,
    write: bool,
    ret_ip: c_ulong,
) -> bool {
    check(addr as usize, size, write, ret_ip)
}

/// Defines `rkasan_sw_load<N>()` / `rkasan_sw_store<N>()`, the bodies of
/// `__hwasan_load<N>_noabort()` / `__hwasan_store<N>_noabort()`, each with its size
/// folded in.
macro_rules! define_load_store {
    ($size:literal, $load:ident, $store:ident) => {
        #[doc = concat!("Checks a load of ", stringify!($size), " bytes at `addr`.")]
        #[no_mangle]
        pub extern "C" fn $load(addr: *const c_void, ret_ip: c_ulong) {
            check(addr as usize, $size, false, ret_ip);
        }

        #[doc = concat!("Checks a store of ", stringify!($size), " bytes at `addr`.")]
        #[no_mangle]
        pub extern "C" fn $store(addr: *const c_void, ret_ip: c_ulong) {
            check(addr as usize, $size, true, ret_ip);
        }
    };
}

define_load_store!(1, rkasan_sw_load1, rkasan_sw_store1);
define_load_store!(2, rkasan_sw_load2, rkasan_sw_store2);
define_load_store!(4, rkasan_sw_load4, rkasan_sw_store4);
define_load_store!(8, rkasan_sw_load8, rkasan_sw_store8);
define_load_store!(16, rkasan_sw_load16, rkasan_sw_store16);

/// `kasan_byte_accessible()`: whether the byte at the tagged `addr` may be accessed.
#[no_mangle]
pub extern "C" fn rkasan_sw_byte_accessible(addr: *const c_void) -> bool {
    // SAFETY: As in `check()`; an address below `meta_start()` is not read.
    unsafe { sw_tags::byte_accessible(&KernelTagShadow, addr as usize) }
}

/// `kasan_poison()`: sets the memory tag of `size` bytes at `addr` to `value`. Returns
/// `false`, touching nothing, if `addr` or `size` is not granule-aligned (the C caller
/// turns that into upstream's `WARN_ON()`).
#[no_mangle]
pub extern "C" fn rkasan_sw_poison(addr: *const c_void, size: usize, value: u8) -> bool {
    // SAFETY: KASAN poisons memory that has tags: slab, page and vmalloc memory.
    unsafe { sw_tags::poison(&KernelTagShadow, addr as usize, size, value) }.is_ok()
}

/// `kasan_unpoison()`: gives `size` bytes at `addr` the tag of `addr`. Returns `false`,
/// touching nothing, if `addr` is not granule-aligned.
#[no_mangle]
pub extern "C" fn rkasan_sw_unpoison(addr: *const c_void, size: usize) -> bool {
    // SAFETY: As for `rkasan_sw_poison()`.
    unsafe { sw_tags::unpoison(&KernelTagShadow, addr as usize, size) }.is_ok()
}

/// `kasan_mem_to_shadow()` as Rust computes it, for the KUnit suite.
#[no_mangle]
pub extern "C" fn rkasan_sw_mem_to_shadow(addr: *const c_void) -> *mut u8 {
    KernelTagShadow.mem_to_shadow(addr as usize)
}

/// `addr_has_metadata()` as Rust computes it (on the untagged address), for the KUnit
/// suite.
#[no_mangle]
pub extern "C" fn rkasan_sw_has_metadata(addr: *const c_void) -> bool {
    KernelTagShadow.has_metadata(crate::tags::reset_tag(addr as u64) as usize)
}

/// Whether an access of `size` bytes at the tagged `addr` is bad — what
/// `kasan_check_range()` decides, without a report. For the KUnit tests.
#[no_mangle]
pub extern "C" fn rkasan_sw_is_poisoned(addr: *const c_void, size: usize) -> bool {
    // SAFETY: As in `check()`.
    unsafe { sw_tags::check_range(&KernelTagShadow, addr as usize, size) }.is_err()
}
