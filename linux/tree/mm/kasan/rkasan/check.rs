// SPDX-License-Identifier: GPL-2.0

//! The access check of generic KASAN: is any byte of `addr..addr + size` poisoned?
//!
//! The Rust twin of the check path of [`mm/kasan/generic.c`](srctree/mm/kasan/generic.c)
//! (`memory_is_poisoned*()`, `check_region_inline()`, `kasan_byte_accessible()`) and of
//! `kasan_find_first_bad_addr()` in
//! [`mm/kasan/report_generic.c`](srctree/mm/kasan/report_generic.c).
//!
//! This runs, uninstrumented, on every instrumented memory access of the kernel: nothing here may
//! panic (only wrapping arithmetic on addresses and sizes, no indexing, no `core::fmt`), and the
//! functions are `#[inline(always)]` so that a constant access size folds
//! [`memory_is_poisoned`] down to its per-size check, as upstream's `__builtin_constant_p()` does.
//!
//! An access of a constant size is split in three: [`fast_path`], all that runs inline on every
//! `__asan_load<N>()` / `__asan_store<N>()`, settles a good access inside granules whose shadow
//! is 0; [`partial_granule_accepts`], out of line, one inside a single partial granule;
//! anything else (crossing granules, near the top of the address space, bad) takes
//! [`check_access`], upstream's exact check. C gets the same layout from `likely()` /
//! `unlikely()`, which Rust 1.85 (the kernel's minimum) cannot express.
//!
//! All functions read shadow memory through raw pointers obtained from a [`Shadow`]; their safety
//! contract is that the shadow of the bytes they look at is readable.

use core::ptr::NonNull;

use crate::shadow::{Shadow, KASAN_GRANULE_MASK, KASAN_GRANULE_SIZE};

/// Why an access is invalid. On `Err`, the kernel glue calls `kasan_report(addr, size, write,
/// ip)`, which prints the report (`crate::report`) unless reports are suppressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadAccess {
    /// `addr + size` wraps around the address space (e.g. a negative size passed to `memmove()`).
    Overflow,
    /// `addr` has no shadow memory: a wild, user or NULL pointer.
    NoMetadata,
    /// At least one byte of the range is poisoned.
    Poisoned,
}

/// Reads the shadow byte of `addr` as a signed value, as upstream's `*(s8 *)` does.
///
/// # Safety
///
/// The shadow byte of `addr` must be readable.
#[inline(always)]
unsafe fn read_shadow_s8<S: Shadow>(shadow: &S, addr: usize) -> i8 {
    // SAFETY: the caller guarantees that the shadow byte of `addr` is readable; `u8` reads need
    // no alignment.
    let byte = unsafe { shadow.mem_to_shadow(addr).read() };
    byte as i8
}

/// Returns whether the byte at `addr` is poisoned.
///
/// Follows `memory_is_poisoned_1()` in mm/kasan/generic.c: a non-zero shadow `k` makes the byte
/// at granule offset `o` inaccessible iff `o >= k` as signed bytes (so every negative shadow
/// value poisons the whole granule).
///
/// # Safety
///
/// The shadow byte of `addr` must be readable.
#[inline(always)]
pub unsafe fn memory_is_poisoned_1<S: Shadow>(shadow: &S, addr: usize) -> bool {
    // SAFETY: the caller guarantees that the shadow byte of `addr` is readable.
    let shadow_value = unsafe { read_shadow_s8(shadow, addr) };
    if shadow_value != 0 {
        // The offset in the granule is in 0..8, so the cast is exact.
        let last_accessible_byte = (addr & KASAN_GRANULE_MASK) as i8;
        return last_accessible_byte >= shadow_value;
    }
    false
}

/// Returns whether any byte of the `size`-byte access at `addr` is poisoned, for `size` 2, 4 or 8.
///
/// Follows `memory_is_poisoned_2_4_8()` in mm/kasan/generic.c: an access that crosses a granule
/// boundary is bad if its first granule has any poisoned byte (it touches the last byte of that
/// granule) or if its last byte is poisoned.
///
/// # Safety
///
/// `size` must be in `1..=KASAN_GRANULE_SIZE` and the shadow bytes of `addr` and
/// `addr + size - 1` must be readable.
#[inline(always)]
pub unsafe fn memory_is_poisoned_2_4_8<S: Shadow>(shadow: &S, addr: usize, size: usize) -> bool {
    let last_byte = addr.wrapping_add(size).wrapping_sub(1);
    // Access crosses the 8-byte granule boundary: it maps to two shadow bytes.
    if (last_byte & KASAN_GRANULE_MASK) < size.wrapping_sub(1) {
        // SAFETY: the caller guarantees that the shadow of `addr` and of `last_byte` is readable.
        return unsafe {
            shadow.mem_to_shadow(addr).read() != 0 || memory_is_poisoned_1(shadow, last_byte)
        };
    }
    // SAFETY: the caller guarantees that the shadow of `last_byte` is readable.
    unsafe { memory_is_poisoned_1(shadow, last_byte) }
}

/// Returns whether any byte of the 16-byte access at `addr` is poisoned.
///
/// Follows `memory_is_poisoned_16()` in mm/kasan/generic.c: the two shadow bytes of the first
/// two granules are read as one `u16`; an unaligned access also touches a third granule, checked
/// through its last byte.
///
/// # Safety
///
/// The shadow bytes of `addr`, `addr + 8` and `addr + 15` must be readable.
#[inline(always)]
pub unsafe fn memory_is_poisoned_16<S: Shadow>(shadow: &S, addr: usize) -> bool {
    let shadow_addr = shadow.mem_to_shadow(addr);
    // SAFETY: the caller guarantees that the shadow bytes of `addr` and `addr + 8`, which are
    // consecutive, are readable. Two byte reads instead of upstream's unaligned `*(u16 *)`:
    // LLVM merges them into one 16-bit load, and unlike `read_unaligned()` they carry no
    // `copy_nonoverlapping()` precondition check (a `panic_nounwind` call) when the kernel is
    // built with CONFIG_RUST_DEBUG_ASSERTIONS.
    let first_two =
        unsafe { u16::from_ne_bytes([shadow_addr.read(), shadow_addr.wrapping_add(1).read()]) };
    // Unaligned 16-bytes access maps into 3 shadow bytes.
    if addr & KASAN_GRANULE_MASK != 0 {
        // SAFETY: the caller guarantees that the shadow byte of `addr + 15` is readable.
        return first_two != 0 || unsafe { memory_is_poisoned_1(shadow, addr.wrapping_add(15)) };
    }
    first_two != 0
}

/// Returns the first non-zero byte of `start..start + size`, if any.
///
/// Follows `bytes_is_nonzero()` in mm/kasan/generic.c, which returns its address or 0.
///
/// # Safety
///
/// `start..start + size` must be readable.
#[inline(always)]
pub unsafe fn bytes_is_nonzero(start: *const u8, size: usize) -> Option<NonNull<u8>> {
    let mut start = start;
    let mut size = size;
    while size != 0 {
        // SAFETY: `start` is inside the readable range given by the caller.
        if unsafe { start.read() } != 0 {
            return NonNull::new(start.cast_mut());
        }
        start = start.wrapping_add(1);
        size = size.wrapping_sub(1);
    }
    None
}

/// Returns the first non-zero byte of `start..end`, if any, scanning a word at a time.
///
/// Follows `memory_is_nonzero()` in mm/kasan/generic.c: ranges of up to 16 bytes are scanned
/// bytewise; longer ones bytewise up to 8-byte alignment, then by aligned `u64`s, then bytewise
/// for the tail. Upstream counts the words in an `unsigned int`, which would truncate a range of
/// more than 32 GiB of shadow; this counts them in a `usize`.
///
/// # Safety
///
/// `start..end` must be readable and `start <= end`.
#[inline(always)]
pub unsafe fn memory_is_nonzero(start: *const u8, end: *const u8) -> Option<NonNull<u8>> {
    let mut start = start;
    let len = end.addr().wrapping_sub(start.addr());
    if len <= 16 {
        // SAFETY: `start..end` is readable.
        return unsafe { bytes_is_nonzero(start, len) };
    }

    let prefix = start.addr() % 8;
    if prefix != 0 {
        let prefix = 8usize.wrapping_sub(prefix);
        // SAFETY: `prefix < 8 < len`, so this stays inside `start..end`.
        let ret = unsafe { bytes_is_nonzero(start, prefix) };
        if ret.is_some() {
            return ret;
        }
        start = start.wrapping_add(prefix);
    }

    let mut words = end.addr().wrapping_sub(start.addr()) / 8;
    while words != 0 {
        // SAFETY: `start` is 8-byte aligned (after the prefix) and `start..start + 8` is inside
        // `start..end`, which is readable.
        if unsafe { start.cast::<u64>().read() } != 0 {
            // SAFETY: as above.
            return unsafe { bytes_is_nonzero(start, 8) };
        }
        start = start.wrapping_add(8);
        words = words.wrapping_sub(1);
    }

    // SAFETY: the tail `start..end` is readable.
    unsafe { bytes_is_nonzero(start, end.addr().wrapping_sub(start.addr()) % 8) }
}

/// Returns whether any byte of `addr..addr + size` is poisoned, for any `size`.
///
/// Follows `memory_is_poisoned_n()` in mm/kasan/generic.c: any non-zero shadow byte in the
/// range's shadow is bad, unless the only one is the last granule's and it still makes the last
/// accessed byte accessible.
///
/// # Safety
///
/// `size` must be non-zero, `addr + size` must not wrap, and the shadow of every byte of
/// `addr..addr + size` must be readable.
#[inline(always)]
pub unsafe fn memory_is_poisoned_n<S: Shadow>(shadow: &S, addr: usize, size: usize) -> bool {
    let last_byte = addr.wrapping_add(size).wrapping_sub(1);
    let last_shadow = shadow.mem_to_shadow(last_byte);
    // SAFETY: these are the shadow bytes of `addr..addr + size`, readable per the caller.
    let ret = unsafe { memory_is_nonzero(shadow.mem_to_shadow(addr), last_shadow.wrapping_add(1)) };

    if let Some(ret) = ret {
        // A non-zero shadow byte before the last one: some granule is (partly) poisoned.
        if ret.as_ptr() != last_shadow {
            return true;
        }
        // The offset in the granule is in 0..8, so the cast is exact.
        let last_accessible_byte = (last_byte & KASAN_GRANULE_MASK) as i8;
        // SAFETY: `last_shadow` is the shadow byte of `last_byte`, readable per the caller.
        let last_shadow_value = unsafe { last_shadow.read() } as i8;
        if last_accessible_byte >= last_shadow_value {
            return true;
        }
    }
    false
}

/// Returns whether any byte of the `SIZE`-byte access at `addr` is poisoned, for an access size
/// known at build time.
///
/// Follows `memory_is_poisoned()` in mm/kasan/generic.c, whose `__builtin_constant_p()` switch
/// picks the fast path for sizes 1, 2, 4, 8 and 16; here the match on the const parameter folds
/// away at build time in the same way. Other sizes take [`memory_is_poisoned_n`].
///
/// # Safety
///
/// `SIZE` must be non-zero, `addr + SIZE` must not wrap, and the shadow of every byte of
/// `addr..addr + SIZE` must be readable.
#[inline(always)]
pub unsafe fn memory_is_poisoned<S: Shadow, const SIZE: usize>(shadow: &S, addr: usize) -> bool {
    // SAFETY: the caller guarantees that the shadow of the whole access is readable, which
    // covers every shadow byte the fast paths read, and that `SIZE` is non-zero.
    unsafe {
        match SIZE {
            1 => memory_is_poisoned_1(shadow, addr),
            2 | 4 | 8 => memory_is_poisoned_2_4_8(shadow, addr, SIZE),
            16 => memory_is_poisoned_16(shadow, addr),
            _ => memory_is_poisoned_n(shadow, addr, SIZE),
        }
    }
}

/// The checks of `check_region_inline()` in mm/kasan/generic.c that come before the shadow is
/// read, in its order: a range that wraps, then an address without shadow, is bad.
#[inline(always)]
fn check_bounds<S: Shadow>(shadow: &S, addr: usize, size: usize) -> Result<(), BadAccess> {
    if addr.wrapping_add(size) < addr {
        return Err(BadAccess::Overflow);
    }
    if !shadow.has_metadata(addr) {
        return Err(BadAccess::NoMetadata);
    }
    Ok(())
}

/// Checks a `size`-byte access at `addr`, `size` known only at run time.
///
/// Follows `check_region_inline()` in mm/kasan/generic.c as `kasan_check_range()` runs it
/// (`memset()`, `memcpy()`, `__asan_loadN()` ...): `size` is not a build-time constant there, so
/// upstream's `memory_is_poisoned()` always takes `memory_is_poisoned_n()`, and so does this. The
/// `kasan_enabled()` check comes first upstream and is left to the kernel glue.
///
/// # Errors
///
/// The kind of [`BadAccess`]. The caller reports it with `kasan_report(addr, size, write, ip)`
/// and, as upstream, returns `!reported` from `kasan_check_range()`.
///
/// # Safety
///
/// If `shadow.has_metadata(addr)` and `addr + size` does not wrap, the shadow of every byte of
/// `addr..addr + size` must be readable. (Nothing is read otherwise.)
#[doc(alias = "check_region_inline")]
#[doc(alias = "kasan_check_range")]
#[inline(always)]
pub unsafe fn check_range<S: Shadow>(
    shadow: &S,
    addr: usize,
    size: usize,
) -> Result<(), BadAccess> {
    if size == 0 {
        return Ok(());
    }
    check_bounds(shadow, addr, size)?;
    // SAFETY: `size != 0`, the range does not wrap and `addr` has metadata, so the caller
    // guarantees that its shadow is readable.
    if unsafe { memory_is_poisoned_n(shadow, addr, size) } {
        return Err(BadAccess::Poisoned);
    }
    Ok(())
}

/// Checks a `SIZE`-byte access at `addr`, `SIZE` known at build time: the check of
/// `__asan_load<SIZE>()` and `__asan_store<SIZE>()`.
///
/// Follows `check_region_inline()` in mm/kasan/generic.c with a constant size, which picks the
/// per-size `memory_is_poisoned_*()`. The kernel calls this only for an access that
/// [`fast_path`] and [`partial_granule_accepts`] did not accept.
///
/// # Errors
///
/// As for [`check_range`].
///
/// # Safety
///
/// As for [`check_range`].
#[inline(always)]
pub unsafe fn check_access<S: Shadow, const SIZE: usize>(
    shadow: &S,
    addr: usize,
) -> Result<(), BadAccess> {
    if SIZE == 0 {
        return Ok(());
    }
    check_bounds(shadow, addr, SIZE)?;
    // SAFETY: As in `check_range()`.
    if unsafe { memory_is_poisoned::<S, SIZE>(shadow, addr) } {
        return Err(BadAccess::Poisoned);
    }
    Ok(())
}

/// What the fast path of a `SIZE`-byte access learnt from the shadow byte of its address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FastPath {
    /// The access is good: inside granules whose shadow is 0.
    Good,
    /// The access stays inside one granule, whose shadow byte is this non-zero value: a partial
    /// granule (1..=7, the end of an object, a 4-byte stack variable or global) or a poisoned
    /// one. [`partial_granule_accepts`] decides.
    Partial(i8),
    /// Anything else (crossing granules, no metadata, near the top of the address space):
    /// [`check_access`] runs upstream's full check.
    Undecided,
}

/// The fast path of the `SIZE`-byte access at `addr`, from the shadow byte of `addr` alone (two
/// for `SIZE` 16).
///
/// This is the common case of `check_region_inline()` with a constant size, taken out so that
/// it is all that runs inline on every instrumented access. Upstream gives the same answer for a
/// [`FastPath::Good`] access (a zero shadow byte makes its whole granule accessible) and decides
/// a [`FastPath::Partial`] one from the granule's shadow byte as [`partial_granule_accepts`]
/// does. The kernel hands the two other cases to other functions by tail calls: the test of the
/// shadow byte is against zero, which LLVM's static branch prediction takes as unlikely to hold,
/// so with the partial granule decided inline the good case would jump over it to the return
/// (measured 1.7x slower on sequential 2- and 4-byte loads). Only 1, 2, 4, 8 and 16 are valid
/// sizes; others are always [`FastPath::Undecided`].
///
/// # Safety
///
/// If `shadow.has_metadata(addr)`, the shadow byte of `addr` (and for `SIZE` 16, of
/// `addr + 8`) must be readable when `addr + SIZE` does not wrap.
#[inline(always)]
pub unsafe fn fast_path<S: Shadow, const SIZE: usize>(shadow: &S, addr: usize) -> FastPath {
    // The last 16 bytes of the address space, where `addr + SIZE < addr` upstream (the access
    // wraps) for any `SIZE`, go to the exact check. One bound for all sizes: with `SIZE` 1 the
    // exact bound is `addr == usize::MAX`, a constant LLVM then passes on to the tail call,
    // which costs the good path a jump.
    if addr > usize::MAX - 16 || !shadow.has_metadata(addr) {
        return FastPath::Undecided;
    }
    let shadow_addr = shadow.mem_to_shadow(addr);
    match SIZE {
        1 | 2 | 4 | 8 => {
            if (addr & KASAN_GRANULE_MASK) > KASAN_GRANULE_SIZE.wrapping_sub(SIZE) {
                // Crosses into the next granule.
                return FastPath::Undecided;
            }
            // SAFETY: `addr` has metadata and the access does not wrap, so the caller
            // guarantees that its shadow byte is readable.
            match unsafe { read_shadow_s8(shadow, addr) } {
                0 => FastPath::Good,
                k => FastPath::Partial(k),
            }
        }
        16 => {
            // The access covers exactly two granules, whose shadow bytes must both be 0. Two
            // byte reads, as in `memory_is_poisoned_16()`, merge into one 16-bit load.
            // SAFETY: As above, for the shadow bytes of `addr` and `addr + 8`, which are
            // consecutive.
            let both = unsafe {
                u16::from_ne_bytes([shadow_addr.read(), shadow_addr.wrapping_add(1).read()])
            };
            if addr & KASAN_GRANULE_MASK == 0 && both == 0 {
                FastPath::Good
            } else {
                FastPath::Undecided
            }
        }
        _ => FastPath::Undecided,
    }
}

/// Whether the `SIZE`-byte access at `addr`, inside one granule whose shadow byte is `k`, is
/// good: upstream's `memory_is_poisoned_1()` of its last byte. `k` in 1..=7 makes the first `k`
/// bytes of the granule accessible, a negative `k` none. (For [`FastPath::Partial`].)
#[inline(always)]
pub fn partial_granule_accepts<const SIZE: usize>(addr: usize, k: i8) -> bool {
    let last_offset = (addr & KASAN_GRANULE_MASK).wrapping_add(SIZE.wrapping_sub(1));
    // `last_offset` is in 0..8 for an access inside one granule; any other value is reported
    // bad rather than truncated.
    last_offset < KASAN_GRANULE_SIZE && (last_offset as i8) < k
}

/// Returns whether the byte at `addr` is accessible.
///
/// Follows `kasan_byte_accessible()` in mm/kasan/generic.c (used by the free path to detect
/// double frees): the shadow byte is read once, volatile like `READ_ONCE()`, and must be in
/// `0..KASAN_GRANULE_SIZE`. Like upstream it only looks at the granule, not at the offset of
/// `addr` inside it, and the `kasan_enabled()` check is left to the caller.
///
/// # Safety
///
/// The shadow byte of `addr` must be readable.
#[doc(alias = "kasan_byte_accessible")]
#[inline(always)]
pub unsafe fn byte_accessible<S: Shadow>(shadow: &S, addr: usize) -> bool {
    // SAFETY: the caller guarantees that the shadow byte of `addr` is readable.
    let shadow_byte = unsafe { shadow.mem_to_shadow(addr).read_volatile() } as i8;
    // `KASAN_GRANULE_SIZE` is 8, so the cast is exact.
    shadow_byte >= 0 && shadow_byte < KASAN_GRANULE_SIZE as i8
}

/// Returns the first address of `addr..addr + size`, stepping by granules from `addr`, whose
/// shadow byte is non-zero; `addr + size` (or beyond) if there is none.
///
/// Follows `kasan_find_first_bad_addr()` in mm/kasan/report_generic.c (run by the report path
/// to pick the address whose shadow classifies the bug): an address without shadow is returned
/// as is. Like upstream, the scan steps from the unaligned `addr`, so it can miss the last
/// granule of an unaligned range and then returns an address past the range. One deviation:
/// upstream's `p += KASAN_GRANULE_SIZE` would wrap at the top of the address space (undefined
/// behaviour in C); this stops at the last granule instead.
///
/// # Safety
///
/// If `shadow.has_metadata(addr)`, the shadow of every byte of `addr..addr + size` must be
/// readable (when `addr + size` wraps, nothing else is read).
#[doc(alias = "kasan_find_first_bad_addr")]
#[inline]
pub unsafe fn find_first_bad_addr<S: Shadow>(shadow: &S, addr: usize, size: usize) -> usize {
    let mut p = addr;
    if !shadow.has_metadata(p) {
        return p;
    }
    let end = addr.wrapping_add(size);
    // SAFETY: `p` stays inside `addr..addr + size`, whose shadow is readable per the caller.
    while p < end && unsafe { shadow.mem_to_shadow(p).read() } == 0 {
        let next = p.wrapping_add(KASAN_GRANULE_SIZE);
        if next < p {
            break;
        }
        p = next;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shadow::{poison, unpoison, Arena, KASAN_SLAB_FREE, KASAN_SLAB_REDZONE};

    const BASE: usize = 0x6100_0000;

    #[test]
    fn kmalloc_oob_right_layout() {
        // A 115-byte kmalloc-128 object followed by its redzone, as in the baseline log.
        let mut buf = [0u8; 64];
        let arena = Arena::new(BASE, &mut buf).unwrap();
        // SAFETY: all ranges are inside the arena.
        unsafe {
            poison(&arena, BASE, 512, KASAN_SLAB_REDZONE).unwrap();
            unpoison(&arena, BASE + 128, 115).unwrap();
            let obj = BASE + 128;
            assert_eq!(check_range(&arena, obj, 115), Ok(()));
            assert_eq!(check_range(&arena, obj + 114, 1), Ok(()));
            assert_eq!(check_range(&arena, obj + 115, 1), Err(BadAccess::Poisoned));
            assert_eq!(check_range(&arena, obj + 120, 1), Err(BadAccess::Poisoned));
            assert_eq!(check_range(&arena, obj + 112, 4), Err(BadAccess::Poisoned));
            assert_eq!(check_range(&arena, obj + 111, 4), Ok(()));
            assert_eq!(check_range(&arena, obj - 1, 1), Err(BadAccess::Poisoned));
            assert_eq!(check_range(&arena, obj + 99, 16), Ok(()));
            assert_eq!(check_range(&arena, obj + 99, 17), Err(BadAccess::Poisoned));
            assert_eq!(check_range(&arena, obj, 0), Ok(()));
            assert_eq!(check_range(&arena, obj + 4096, 0), Ok(()));
            assert_eq!(check_range(&arena, usize::MAX, 2), Err(BadAccess::Overflow));
            assert_eq!(check_range(&arena, 16, 1), Err(BadAccess::NoMetadata));
            assert_eq!(find_first_bad_addr(&arena, obj + 115, 1), obj + 115);
            assert_eq!(find_first_bad_addr(&arena, obj + 100, 30), obj + 116);
            assert_eq!(find_first_bad_addr(&arena, 16, 1), 16);
            assert!(byte_accessible(&arena, obj));
            assert!(byte_accessible(&arena, obj + 119));
            assert!(!byte_accessible(&arena, obj + 120));
            poison(&arena, obj, 128, KASAN_SLAB_FREE).unwrap();
            assert!(!byte_accessible(&arena, obj));
        }
    }

    #[test]
    fn memory_is_nonzero_finds_first_byte() {
        let mut buf = [0u8; 100];
        for len in 0..64 {
            for start in 0..32 {
                for hit in start..start + len {
                    buf.fill(0);
                    buf[hit] = 0x80;
                    let p = buf.as_ptr();
                    // SAFETY: the range is inside `buf`.
                    let r = unsafe { memory_is_nonzero(p.add(start), p.add(start + len)) };
                    assert_eq!(r.map(|r| r.as_ptr().addr() - p.addr()), Some(hit));
                }
                buf.fill(0);
                let p = buf.as_ptr();
                // SAFETY: the range is inside `buf`.
                assert!(unsafe { memory_is_nonzero(p.add(start), p.add(start + len)) }.is_none());
            }
        }
    }
}
