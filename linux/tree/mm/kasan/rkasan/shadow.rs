// SPDX-License-Identifier: GPL-2.0

//! Shadow memory of generic KASAN: its encoding and the functions that write it.
//!
//! The Rust twin of [`mm/kasan/shadow.c`](srctree/mm/kasan/shadow.c) (the poisoning part) and of
//! the generic-mode shadow constants of [`mm/kasan/kasan.h`](srctree/mm/kasan/kasan.h) and
//! [`include/linux/kasan.h`](srctree/include/linux/kasan.h).
//!
//! Every [`KASAN_GRANULE_SIZE`] bytes of memory (a granule) are described by one shadow byte:
//!
//! - `0`: all bytes of the granule are accessible;
//! - `1..=7` (`k`): the first `k` bytes are accessible, the others are not;
//! - anything else (negative as an `i8`): no byte is accessible, and the value says why
//!   ([`KASAN_SLAB_REDZONE`], [`KASAN_SLAB_FREE`], ...).
//!
//! All shadow memory is reached through the [`Shadow`] trait, statically dispatched, so that the
//! same logic runs on the kernel's real shadow (`(addr >> 3) + KASAN_SHADOW_OFFSET`, filled with
//! the uninstrumented `__memset()`) and on an in-memory [`Arena`] in host tests.
//!
//! Everything here is on KASAN's hot path (every allocation and free poisons or unpoisons): no
//! panics, no overflow-checked arithmetic on addresses or sizes, no `core::fmt`, and no
//! `core::ptr::write_bytes` (it would become a call to the instrumented `memset()` in the kernel).

use core::marker::PhantomData;

/// Log2 of [`KASAN_GRANULE_SIZE`]: `KASAN_SHADOW_SCALE_SHIFT` of the arch's `asm/kasan.h`.
pub const KASAN_SHADOW_SCALE_SHIFT: u32 = 3;

/// Bytes of memory described by one shadow byte: `KASAN_GRANULE_SIZE` in mm/kasan/kasan.h.
pub const KASAN_GRANULE_SIZE: usize = 1 << KASAN_SHADOW_SCALE_SHIFT;

/// Mask of the offset inside a granule: `KASAN_GRANULE_MASK` in mm/kasan/kasan.h.
pub const KASAN_GRANULE_MASK: usize = KASAN_GRANULE_SIZE - 1;

/// Value of never-poisoned shadow in generic mode: `KASAN_SHADOW_INIT` in include/linux/kasan.h.
pub const KASAN_SHADOW_INIT: u8 = 0;

/// Shadow value of a freed page: `KASAN_PAGE_FREE` in mm/kasan/kasan.h.
pub const KASAN_PAGE_FREE: u8 = 0xFF;

/// Shadow value of the redzone of a `kmalloc_large()` allocation: `KASAN_PAGE_REDZONE`.
pub const KASAN_PAGE_REDZONE: u8 = 0xFE;

/// Shadow value of the redzone of a slab object: `KASAN_SLAB_REDZONE` in mm/kasan/kasan.h.
pub const KASAN_SLAB_REDZONE: u8 = 0xFC;

/// Shadow value of a freed slab object: `KASAN_SLAB_FREE` in mm/kasan/kasan.h.
pub const KASAN_SLAB_FREE: u8 = 0xFB;

/// Shadow value of the first granule of a freed slab object whose free meta is valid:
/// `KASAN_SLAB_FREE_META` in mm/kasan/kasan.h.
pub const KASAN_SLAB_FREE_META: u8 = 0xFA;

/// Shadow value of the redzone of a global variable: `KASAN_GLOBAL_REDZONE` in mm/kasan/kasan.h.
pub const KASAN_GLOBAL_REDZONE: u8 = 0xF9;

/// Shadow value of inaccessible space in a vmap area: `KASAN_VMALLOC_INVALID` in
/// mm/kasan/kasan.h.
pub const KASAN_VMALLOC_INVALID: u8 = 0xF8;

/// Left stack redzone: `KASAN_STACK_LEFT` in mm/kasan/kasan.h (compiler ABI).
pub const KASAN_STACK_LEFT: u8 = 0xF1;

/// Stack redzone between two variables: `KASAN_STACK_MID` in mm/kasan/kasan.h (compiler ABI).
pub const KASAN_STACK_MID: u8 = 0xF2;

/// Right stack redzone: `KASAN_STACK_RIGHT` in mm/kasan/kasan.h (compiler ABI).
pub const KASAN_STACK_RIGHT: u8 = 0xF3;

/// Partial stack redzone: `KASAN_STACK_PARTIAL` in mm/kasan/kasan.h (compiler ABI).
pub const KASAN_STACK_PARTIAL: u8 = 0xF4;

/// Left redzone of an `alloca()` area: `KASAN_ALLOCA_LEFT` in mm/kasan/kasan.h.
pub const KASAN_ALLOCA_LEFT: u8 = 0xCA;

/// Right redzone of an `alloca()` area: `KASAN_ALLOCA_RIGHT` in mm/kasan/kasan.h.
pub const KASAN_ALLOCA_RIGHT: u8 = 0xCB;

/// Size of an `alloca()` redzone: `KASAN_ALLOCA_REDZONE_SIZE` in mm/kasan/kasan.h (compiler ABI).
pub const KASAN_ALLOCA_REDZONE_SIZE: usize = 32;

/// Marker at the start of an instrumented stack frame: `KASAN_CURRENT_STACK_FRAME_MAGIC` in
/// mm/kasan/kasan.h (compiler ABI).
pub const KASAN_CURRENT_STACK_FRAME_MAGIC: usize = 0x41B5_8AB3;

// The encoding above relies on these: a partial granule's shadow must be a positive `i8`.
const _: () = assert!(KASAN_GRANULE_SIZE == 8);
const _: () = assert!(KASAN_SHADOW_INIT == 0);

/// Rounds `size` up to a multiple of [`KASAN_GRANULE_SIZE`], wrapping to 0 near `usize::MAX`
/// as the C `round_up()` does.
#[inline(always)]
pub const fn round_up_granule(size: usize) -> usize {
    size.wrapping_add(KASAN_GRANULE_MASK) & !KASAN_GRANULE_MASK
}

/// Rounds `addr` down to the start of its granule (`round_down(addr, KASAN_GRANULE_SIZE)`).
#[inline(always)]
pub const fn round_down_granule(addr: usize) -> usize {
    addr & !KASAN_GRANULE_MASK
}

/// Access to shadow memory.
///
/// The only way the rest of the crate reaches shadow memory. It is always a generic parameter
/// (never `dyn`) so that in the kernel each call inlines to the arithmetic of
/// `kasan_mem_to_shadow()`. Addresses are plain `usize`s: in generic mode
/// `kasan_reset_tag()` is the identity, so no tag is ever stripped.
///
/// The functions that dereference what [`Shadow::mem_to_shadow`] returns are `unsafe` and state
/// which shadow bytes must be valid; implementors only have to document where their shadow is.
pub trait Shadow {
    /// Returns the shadow byte that describes the granule of `addr`.
    ///
    /// `kasan_mem_to_shadow()` of include/linux/kasan.h: `(addr >> 3) + KASAN_SHADOW_OFFSET` in
    /// the kernel. Must not panic; the pointer may be dangling if `addr` has no shadow.
    fn mem_to_shadow(&self, addr: usize) -> *mut u8;

    /// Returns the first address of the granule that `shadow` describes.
    ///
    /// The inverse of [`Shadow::mem_to_shadow`]: `kasan_shadow_to_mem()` of mm/kasan/kasan.h.
    fn shadow_to_mem(&self, shadow: *const u8) -> usize;

    /// Returns whether `addr` is covered by shadow memory at all.
    ///
    /// `addr_has_metadata()` of mm/kasan/kasan.h; upstream only checks that `addr` is not below
    /// the memory that the shadow region describes.
    fn has_metadata(&self, addr: usize) -> bool;

    /// Sets the `len` shadow bytes starting at `shadow` to `value`.
    ///
    /// The kernel implementation calls the uninstrumented `__memset()`; it must never go through
    /// `memset()`, which KASAN instruments.
    ///
    /// # Safety
    ///
    /// `shadow..shadow + len` must be shadow memory of this `Shadow`, valid for writes.
    unsafe fn fill(&self, shadow: *mut u8, value: u8, len: usize);
}

/// Why a poisoning request was refused.
///
/// Upstream `WARN_ON()`s and returns without touching the shadow; the kernel glue turns these
/// into the same `WARN_ON()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoisonError {
    /// The start address is not aligned to [`KASAN_GRANULE_SIZE`].
    UnalignedAddr,
    /// The size is not a multiple of [`KASAN_GRANULE_SIZE`].
    UnalignedSize,
}

/// Marks `addr..addr + size` inaccessible by writing `value` to its shadow.
///
/// Follows `kasan_poison()` in mm/kasan/shadow.c, generic mode. Left to the caller: the
/// `kasan_enabled()` check (the kernel glue does it), the `init` argument (only meaningful for
/// hardware tags) and `kasan_reset_tag()` (the identity in generic mode). The shadow is written
/// with a single [`Shadow::fill`] of `size >> KASAN_SHADOW_SCALE_SHIFT` bytes, which is
/// upstream's `shadow_end - shadow_start` for every range that does not wrap.
///
/// # Errors
///
/// [`PoisonError::UnalignedAddr`] or [`PoisonError::UnalignedSize`] (upstream's `WARN_ON()`s),
/// in which case the shadow is left untouched.
///
/// # Safety
///
/// The shadow of every granule of `addr..addr + size` must be valid for writes.
#[doc(alias = "kasan_poison")]
#[inline]
pub unsafe fn poison<S: Shadow>(
    shadow: &S,
    addr: usize,
    size: usize,
    value: u8,
) -> Result<(), PoisonError> {
    if addr & KASAN_GRANULE_MASK != 0 {
        return Err(PoisonError::UnalignedAddr);
    }
    if size & KASAN_GRANULE_MASK != 0 {
        return Err(PoisonError::UnalignedSize);
    }
    let shadow_start = shadow.mem_to_shadow(addr);
    // SAFETY: `addr` and `size` are granule-aligned, so these are exactly the shadow bytes of
    // `addr..addr + size`, which the caller guarantees are writable.
    unsafe { shadow.fill(shadow_start, value, size >> KASAN_SHADOW_SCALE_SHIFT) };
    Ok(())
}

/// Makes the tail of the last granule of `addr..addr + size` inaccessible, if that granule is
/// partial.
///
/// Follows `kasan_poison_last_granule()` in mm/kasan/shadow.c: writes `size & KASAN_GRANULE_MASK`
/// (the number of accessible bytes) to the shadow of `addr + size`. Like upstream, `addr` is
/// expected to be granule-aligned but this is not checked.
///
/// # Safety
///
/// If `size` is not granule-aligned, the shadow byte of `addr + size` must be valid for writes.
#[doc(alias = "kasan_poison_last_granule")]
#[inline]
pub unsafe fn poison_last_granule<S: Shadow>(shadow: &S, addr: usize, size: usize) {
    let partial = size & KASAN_GRANULE_MASK;
    if partial != 0 {
        let last = shadow.mem_to_shadow(addr.wrapping_add(size));
        // `partial` is in 1..8, so the cast is exact.
        let value = partial as u8;
        // SAFETY: the caller guarantees that the shadow of `addr + size` is writable; a single
        // byte store needs no alignment.
        unsafe { last.write(value) };
    }
}

/// Marks `addr..addr + size` accessible; `size` may be unaligned.
///
/// Follows `kasan_unpoison()` in mm/kasan/shadow.c, generic mode: zeroes the shadow of every
/// granule that covers the range (`kasan_poison(addr, round_up(size), 0)`), then writes
/// `size & KASAN_GRANULE_MASK` to the last one if it is partial. As for [`poison`], the
/// `kasan_enabled()` check and `init` are left to the caller.
///
/// # Errors
///
/// [`PoisonError::UnalignedAddr`] (upstream's `WARN_ON()`), in which case the shadow is left
/// untouched.
///
/// # Safety
///
/// The shadow of every granule of `addr..addr + round_up(size, KASAN_GRANULE_SIZE)` must be
/// valid for writes.
#[doc(alias = "kasan_unpoison")]
#[inline]
pub unsafe fn unpoison<S: Shadow>(shadow: &S, addr: usize, size: usize) -> Result<(), PoisonError> {
    if addr & KASAN_GRANULE_MASK != 0 {
        return Err(PoisonError::UnalignedAddr);
    }
    // SAFETY: the caller guarantees that the shadow of the rounded-up range is writable. (With
    // `addr` and the rounded-up size aligned, this cannot fail.)
    unsafe { poison(shadow, addr, round_up_granule(size), KASAN_SHADOW_INIT) }?;
    // SAFETY: if `size` is unaligned, the granule of `addr + size` is the last one of the
    // rounded-up range, whose shadow the caller guarantees is writable.
    unsafe { poison_last_granule(shadow, addr, size) };
    Ok(())
}

/// A [`Shadow`] over a borrowed byte buffer, for host tests and benchmarks.
///
/// It describes the memory `start()..end()` (`shadow.len() * KASAN_GRANULE_SIZE` bytes from a
/// granule-aligned `base`) that need not exist: KASAN's checks only ever read the shadow. Unlike
/// upstream's `addr_has_metadata()`, which only has a lower bound, [`Shadow::has_metadata`] is
/// bounded on both sides here, so that a check of an address outside the arena fails before
/// anything is read.
///
/// Host-only: its [`Shadow::fill`] is a plain loop, which LLVM may turn into a `memset()` call,
/// so it must never stand for the kernel's shadow.
///
/// # Invariants
///
/// 1. `shadow` points to `len` bytes, borrowed mutably for `'a`.
/// 2. `base` is granule-aligned and `base + len * KASAN_GRANULE_SIZE` does not overflow.
pub struct Arena<'a> {
    base: usize,
    shadow: *mut u8,
    len: usize,
    _buffer: PhantomData<&'a mut [u8]>,
}

impl<'a> Arena<'a> {
    /// Creates an arena whose first granule starts at `base` and whose shadow is `shadow`.
    ///
    /// Returns `None` if `base` is not granule-aligned or the described memory would wrap around
    /// the address space.
    pub fn new(base: usize, shadow: &'a mut [u8]) -> Option<Self> {
        if base & KASAN_GRANULE_MASK != 0 {
            return None;
        }
        let bytes = shadow.len().checked_mul(KASAN_GRANULE_SIZE)?;
        base.checked_add(bytes)?;
        // INVARIANT: `shadow` comes from a mutable borrow for `'a`; `base` was checked above.
        Some(Self {
            base,
            shadow: shadow.as_mut_ptr(),
            len: shadow.len(),
            _buffer: PhantomData,
        })
    }

    /// First address of the memory the arena describes.
    pub fn start(&self) -> usize {
        self.base
    }

    /// One past the last address of the memory the arena describes.
    pub fn end(&self) -> usize {
        // By the invariant this does not wrap.
        self.base
            .wrapping_add(self.len.wrapping_mul(KASAN_GRANULE_SIZE))
    }

    /// Returns the shadow byte of `addr`, or `None` if `addr` is outside the arena.
    pub fn shadow_byte(&self, addr: usize) -> Option<u8> {
        if !self.has_metadata(addr) {
            return None;
        }
        // SAFETY: `addr` is inside the arena, so its shadow byte is one of the `len` bytes at
        // `self.shadow` (invariant 1).
        Some(unsafe { self.mem_to_shadow(addr).read() })
    }
}

impl Shadow for Arena<'_> {
    #[inline(always)]
    fn mem_to_shadow(&self, addr: usize) -> *mut u8 {
        let index =
            (addr >> KASAN_SHADOW_SCALE_SHIFT).wrapping_sub(self.base >> KASAN_SHADOW_SCALE_SHIFT);
        self.shadow.wrapping_add(index)
    }

    #[inline(always)]
    fn shadow_to_mem(&self, shadow: *const u8) -> usize {
        let index = shadow.addr().wrapping_sub(self.shadow.addr());
        self.base
            .wrapping_add(index.wrapping_mul(KASAN_GRANULE_SIZE))
    }

    #[inline(always)]
    fn has_metadata(&self, addr: usize) -> bool {
        addr >= self.base && addr < self.end()
    }

    #[inline]
    unsafe fn fill(&self, shadow: *mut u8, value: u8, len: usize) {
        let mut p = shadow;
        let mut left = len;
        while left != 0 {
            // SAFETY: the caller guarantees that `shadow..shadow + len` is writable.
            unsafe { p.write(value) };
            p = p.wrapping_add(1);
            left = left.wrapping_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: usize = 0x6000_0000;

    #[test]
    fn constants_match_kasan_h() {
        assert_eq!(KASAN_GRANULE_SIZE, 8);
        assert_eq!(KASAN_GRANULE_MASK, 7);
        assert_eq!(
            [
                KASAN_PAGE_FREE,
                KASAN_PAGE_REDZONE,
                KASAN_SLAB_REDZONE,
                KASAN_SLAB_FREE
            ],
            [0xFF, 0xFE, 0xFC, 0xFB]
        );
        assert_eq!(
            [
                KASAN_VMALLOC_INVALID,
                KASAN_SLAB_FREE_META,
                KASAN_GLOBAL_REDZONE
            ],
            [0xF8, 0xFA, 0xF9]
        );
        assert_eq!(
            [
                KASAN_STACK_LEFT,
                KASAN_STACK_MID,
                KASAN_STACK_RIGHT,
                KASAN_STACK_PARTIAL
            ],
            [0xF1, 0xF2, 0xF3, 0xF4]
        );
        assert_eq!([KASAN_ALLOCA_LEFT, KASAN_ALLOCA_RIGHT], [0xCA, 0xCB]);
    }

    #[test]
    fn arena_mapping_round_trips() {
        let mut buf = [0u8; 16];
        let arena = Arena::new(BASE, &mut buf).unwrap();
        assert_eq!(arena.end(), BASE + 128);
        for addr in BASE..BASE + 128 {
            let s = arena.mem_to_shadow(addr);
            assert_eq!(arena.shadow_to_mem(s), addr & !7);
            assert!(arena.has_metadata(addr));
        }
        assert!(!arena.has_metadata(BASE - 1));
        assert!(!arena.has_metadata(BASE + 128));
        assert!(Arena::new(BASE + 1, &mut [0u8; 4]).is_none());
        assert!(Arena::new(usize::MAX - 7, &mut [0u8; 2]).is_none());
    }

    #[test]
    fn poison_rejects_unaligned_and_leaves_shadow() {
        let mut buf = [0u8; 8];
        let arena = Arena::new(BASE, &mut buf).unwrap();
        // SAFETY: the ranges are inside the arena.
        unsafe {
            assert_eq!(
                poison(&arena, BASE + 1, 8, KASAN_SLAB_FREE),
                Err(PoisonError::UnalignedAddr)
            );
            assert_eq!(
                poison(&arena, BASE, 9, KASAN_SLAB_FREE),
                Err(PoisonError::UnalignedSize)
            );
            assert_eq!(
                unpoison(&arena, BASE + 4, 8),
                Err(PoisonError::UnalignedAddr)
            );
        }
        assert!((0..8).all(|i| arena.shadow_byte(BASE + i * 8) == Some(0)));
    }

    #[test]
    fn unpoison_writes_partial_last_granule() {
        let mut buf = [0u8; 8];
        let arena = Arena::new(BASE, &mut buf).unwrap();
        // SAFETY: the ranges are inside the arena.
        unsafe {
            poison(&arena, BASE, 64, KASAN_SLAB_REDZONE).unwrap();
            unpoison(&arena, BASE + 8, 19).unwrap();
        }
        let got: Vec<u8> = (0..8)
            .map(|i| arena.shadow_byte(BASE + i * 8).unwrap())
            .collect();
        assert_eq!(got, [0xFC, 0, 0, 3, 0xFC, 0xFC, 0xFC, 0xFC]);
        // SAFETY: as above.
        unsafe {
            unpoison(&arena, BASE + 32, 0).unwrap();
            poison_last_granule(&arena, BASE + 40, 16);
        }
        assert_eq!(arena.shadow_byte(BASE + 32), Some(0xFC));
        assert_eq!(arena.shadow_byte(BASE + 56), Some(0xFC));
    }
}
