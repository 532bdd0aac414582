// SPDX-License-Identifier: GPL-2.0

//! The kernel's shadow memory, as the core crate's [`Shadow`] sees it.
//!
//! C header: [`mm/kasan/kasan.h`](srctree/mm/kasan/kasan.h) (`kasan_mem_to_shadow()`,
//! `addr_has_metadata()`).

use crate::shadow::{Shadow, KASAN_SHADOW_SCALE_SHIFT};
use kernel::ffi::{c_int, c_void};

/// `KASAN_SHADOW_OFFSET`: shadow byte of address `a` is at `(a >> 3) + KASAN_SHADOW_OFFSET`.
// The cast is lossless: Kconfig's hex value is emitted by bindgen as an unsigned integer of
// the width it needs.
const KASAN_SHADOW_OFFSET: usize = kernel::bindings::CONFIG_KASAN_SHADOW_OFFSET as usize;

extern "C" {
    /// The architecture's uninstrumented memset (`__memset`), as generic.c uses on the shadow.
    fn __memset(s: *mut c_void, c: c_int, n: usize) -> *mut c_void;
}

/// The shadow of the running kernel, at `KASAN_SHADOW_OFFSET`.
pub struct KernelShadow;

impl Shadow for KernelShadow {
    #[inline(always)]
    fn mem_to_shadow(&self, addr: usize) -> *mut u8 {
        ((addr >> KASAN_SHADOW_SCALE_SHIFT).wrapping_add(KASAN_SHADOW_OFFSET)) as *mut u8
    }

    #[inline(always)]
    fn shadow_to_mem(&self, shadow: *const u8) -> usize {
        (shadow as usize).wrapping_sub(KASAN_SHADOW_OFFSET) << KASAN_SHADOW_SCALE_SHIFT
    }

    #[inline(always)]
    fn has_metadata(&self, _addr: usize) -> bool {
        // `addr >= kasan_shadow_to_mem(KASAN_SHADOW_START)`: on UML the shadow starts at
        // `KASAN_SHADOW_OFFSET` (arch/um/include/asm/kasan.h), so every address has shadow.
        // Other architectures are not wired in yet (Kconfig: KASAN_RUST depends on UML).
        true
    }

    #[inline(always)]
    unsafe fn fill(&self, shadow: *mut u8, value: u8, len: usize) {
        // SAFETY: The caller guarantees that `shadow..shadow + len` is mapped shadow memory.
        unsafe { __memset(shadow.cast(), c_int::from(value), len) };
    }
}
