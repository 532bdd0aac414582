// SPDX-License-Identifier: GPL-2.0

//! Software tag-based KASAN: the memory-tag shadow, its poisoning and the access check.
//!
//! The Rust twin of the check path of [`mm/kasan/sw_tags.c`](srctree/mm/kasan/sw_tags.c)
//! (`kasan_check_range()`, `kasan_byte_accessible()`), of the tag-mode poisoning in
//! [`mm/kasan/shadow.c`](srctree/mm/kasan/shadow.c) (`kasan_poison()`, `kasan_unpoison()`) and
//! of the shadow walk of [`mm/kasan/report_sw_tags.c`](srctree/mm/kasan/report_sw_tags.c)
//! (`kasan_find_first_bad_addr()`; `kasan_get_alloc_size()` is [`crate::tags::alloc_size`],
//! shared with hardware tags).
//!
//! Every [`SW_TAGS_GRANULE_SIZE`] (16) bytes of memory have one shadow byte: the memory tag. A
//! pointer may access a granule when its top byte (the pointer tag, see [`crate::tags`]) equals
//! the memory tag, or when it is [`KASAN_TAG_KERNEL`] (0xFF), which matches everything. Freed
//! memory and redzones carry [`KASAN_TAG_INVALID`](crate::tags::KASAN_TAG_INVALID) (0xFE),
//! which no allocation is ever given.
//!
//! Shadow memory is reached through [`Shadow`] as in generic mode; here
//! [`Shadow::mem_to_shadow`] is `(untagged_addr >> 4) + KASAN_SHADOW_OFFSET` and every address
//! handed to it has been through [`reset_tag`]. Like [`crate::check`], this runs uninstrumented
//! on every checked access (`__hwasan_load*` / `__hwasan_store*`): no panics, only wrapping
//! arithmetic, no `core::fmt`.

use crate::check::BadAccess;
use crate::shadow::{PoisonError, Shadow};
use crate::tags::{get_tag, reset_tag, KASAN_TAG_KERNEL};

/// Log2 of [`SW_TAGS_GRANULE_SIZE`]: `KASAN_SHADOW_SCALE_SHIFT` of arm64 with
/// `CONFIG_KASAN_SW_TAGS` (`arch/arm64/include/asm/kasan.h`).
pub const SW_TAGS_SCALE_SHIFT: u32 = 4;

/// Bytes of memory per memory tag: `KASAN_GRANULE_SIZE` in tag-based modes
/// (`mm/kasan/kasan.h`; `MTE_GRANULE_SIZE` for hardware tags).
pub const SW_TAGS_GRANULE_SIZE: usize = 1 << SW_TAGS_SCALE_SHIFT;

/// `KASAN_GRANULE_MASK` in tag-based modes.
pub const SW_TAGS_GRANULE_MASK: usize = SW_TAGS_GRANULE_SIZE - 1;

/// `round_up(size, KASAN_GRANULE_SIZE)`, wrapping at the top of the address space.
pub const fn round_up_granule(size: usize) -> usize {
    size.wrapping_add(SW_TAGS_GRANULE_MASK) & !SW_TAGS_GRANULE_MASK
}

/// `kasan_reset_tag()` of an address held in a `usize` (arm64: 64 bits).
#[inline(always)]
fn untag(addr: usize) -> usize {
    reset_tag(addr as u64) as usize
}

/// `get_tag()` of an address held in a `usize`.
#[inline(always)]
fn tag_of(addr: usize) -> u8 {
    get_tag(addr as u64)
}

/// Checks an access of `size` bytes at the tagged address `addr`.
///
/// Follows `kasan_check_range()` of `mm/kasan/sw_tags.c`: an empty access is valid, a range that
/// wraps around the address space is not, a pointer tagged [`KASAN_TAG_KERNEL`] is never checked
/// (kmap and `page_address()` hand out such pointers for tagged memory), an untagged address
/// without shadow is invalid, and otherwise every memory tag of the range must equal the pointer
/// tag. The `kasan_enabled()` check is the caller's.
///
/// # Errors
///
/// The kind of [`BadAccess`]; the caller reports it with `kasan_report()` on the tagged `addr`.
///
/// # Safety
///
/// If `size != 0`, the range does not wrap, the tag is not 0xFF and the untagged address has
/// metadata, the shadow of every byte of `untagged..untagged + size` must be readable.
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
    if addr.wrapping_add(size) < addr {
        return Err(BadAccess::Overflow);
    }
    let tag = tag_of(addr);
    if tag == KASAN_TAG_KERNEL {
        return Ok(());
    }
    let untagged = untag(addr);
    if !shadow.has_metadata(untagged) {
        return Err(BadAccess::NoMetadata);
    }
    let mut p = shadow.mem_to_shadow(untagged);
    let last = shadow.mem_to_shadow(untagged.wrapping_add(size).wrapping_sub(1));
    while p <= last {
        // SAFETY: `p` is the shadow of a byte of the range, readable per the caller.
        if unsafe { p.read() } != tag {
            return Err(BadAccess::Poisoned);
        }
        p = p.wrapping_add(1);
    }
    Ok(())
}

/// Whether the byte at the tagged `addr` may be accessed, for the double-free check of the free
/// path: `kasan_byte_accessible()` of `mm/kasan/sw_tags.c`. The shadow byte is read once,
/// volatile like `READ_ONCE()`; an address without shadow is not accessible.
///
/// # Safety
///
/// If the untagged address has metadata, its shadow byte must be readable.
#[doc(alias = "kasan_byte_accessible")]
#[inline(always)]
pub unsafe fn byte_accessible<S: Shadow>(shadow: &S, addr: usize) -> bool {
    let tag = tag_of(addr);
    let untagged = untag(addr);
    if !shadow.has_metadata(untagged) {
        return false;
    }
    // SAFETY: `untagged` has metadata, so its shadow byte is readable per the caller.
    let memory_tag = unsafe { shadow.mem_to_shadow(untagged).read_volatile() };
    tag == KASAN_TAG_KERNEL || tag == memory_tag
}

/// Sets the memory tag of `addr..addr + size` to `value`: `kasan_poison()` of
/// `mm/kasan/shadow.c` in software tag mode, which also serves `__hwasan_tag_memory()`.
///
/// The tag of `addr` is dropped first (callers pass tagged pointers). The `kasan_enabled()`
/// check and `init` (hardware tags only) are the caller's.
///
/// # Errors
///
/// [`PoisonError::UnalignedAddr`] / [`PoisonError::UnalignedSize`], upstream's `WARN_ON()`s,
/// with the shadow untouched.
///
/// # Safety
///
/// The shadow of every granule of the untagged range must be valid for writes.
#[doc(alias = "kasan_poison")]
#[inline]
pub unsafe fn poison<S: Shadow>(
    shadow: &S,
    addr: usize,
    size: usize,
    value: u8,
) -> Result<(), PoisonError> {
    let addr = untag(addr);
    if addr & SW_TAGS_GRANULE_MASK != 0 {
        return Err(PoisonError::UnalignedAddr);
    }
    if size & SW_TAGS_GRANULE_MASK != 0 {
        return Err(PoisonError::UnalignedSize);
    }
    // SAFETY: aligned, so these are exactly the shadow bytes of the range, writable per the
    // caller.
    unsafe {
        shadow.fill(
            shadow.mem_to_shadow(addr),
            value,
            size >> SW_TAGS_SCALE_SHIFT,
        )
    };
    Ok(())
}

/// Gives `addr..addr + size` the tag of the pointer `addr`: `kasan_unpoison()` of
/// `mm/kasan/shadow.c` in software tag mode. Every granule that covers the range gets the tag
/// (the tail of the last granule is accessible too: tags have no partial granules).
///
/// # Errors
///
/// [`PoisonError::UnalignedAddr`], upstream's `WARN_ON()`, with the shadow untouched.
///
/// # Safety
///
/// The shadow of every granule of the untagged `addr..addr + round_up(size, 16)` must be valid
/// for writes.
#[doc(alias = "kasan_unpoison")]
#[inline]
pub unsafe fn unpoison<S: Shadow>(shadow: &S, addr: usize, size: usize) -> Result<(), PoisonError> {
    let tag = tag_of(addr);
    if untag(addr) & SW_TAGS_GRANULE_MASK != 0 {
        return Err(PoisonError::UnalignedAddr);
    }
    // SAFETY: as the caller guarantees.
    unsafe { poison(shadow, addr, round_up_granule(size), tag) }
}

/// The first untagged address of `addr..addr + size`, stepping by granules, whose memory tag
/// differs from the pointer tag; the untagged end (or beyond) if there is none, the untagged
/// `addr` if it has no shadow. `kasan_find_first_bad_addr()` of `mm/kasan/report_sw_tags.c`,
/// which the report prints as the buggy address. The walk stops at the top of the address space
/// instead of wrapping.
///
/// # Safety
///
/// If the untagged `addr` has metadata, the shadow of the untagged range must be readable.
#[doc(alias = "kasan_find_first_bad_addr")]
pub unsafe fn find_first_bad_addr<S: Shadow>(shadow: &S, addr: usize, size: usize) -> usize {
    let tag = tag_of(addr);
    let mut p = untag(addr);
    if !shadow.has_metadata(p) {
        return p;
    }
    let end = p.wrapping_add(size);
    // SAFETY: `p` stays inside the range, whose shadow is readable per the caller.
    while p < end && unsafe { shadow.mem_to_shadow(p).read() } == tag {
        let next = p.wrapping_add(SW_TAGS_GRANULE_SIZE);
        if next < p {
            break;
        }
        p = next;
    }
    p
}
