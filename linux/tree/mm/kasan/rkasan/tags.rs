// SPDX-License-Identifier: GPL-2.0

//! Pointer tags of the tag-based KASAN modes: tag values, the arm64 Top Byte Ignore pointer
//! helpers and the random tag generators.
//!
//! Addresses are `u64` as in the arm64 macros (`(u64)(addr)`); the `*_ptr` variants keep pointer
//! provenance. The helpers are those of the tag-based modes (`CONFIG_KASAN_SW_TAGS` /
//! `CONFIG_KASAN_HW_TAGS`); with generic KASAN `__tag_get()` is 0 and `__tag_set()` /
//! `__tag_reset()` are the identity, which the glue handles by not calling them.
//!
//! C sources: [`include/linux/kasan-tags.h`](srctree/include/linux/kasan-tags.h),
//! [`arch/arm64/include/asm/memory.h`](srctree/arch/arm64/include/asm/memory.h),
//! [`arch/arm64/include/asm/mte-kasan.h`](srctree/arch/arm64/include/asm/mte-kasan.h),
//! [`arch/arm64/include/asm/sysreg.h`](srctree/arch/arm64/include/asm/sysreg.h),
//! [`mm/kasan/sw_tags.c`](srctree/mm/kasan/sw_tags.c),
//! [`mm/kasan/kasan.h`](srctree/mm/kasan/kasan.h),
//! [`mm/kasan/common.c`](srctree/mm/kasan/common.c).

/// `KASAN_TAG_KERNEL` (`include/linux/kasan-tags.h`): the native kernel pointer tag, which
/// matches any memory tag.
pub const KASAN_TAG_KERNEL: u8 = 0xFF;

/// `KASAN_TAG_INVALID` (`include/linux/kasan-tags.h`): the tag of inaccessible (freed, redzone)
/// memory.
pub const KASAN_TAG_INVALID: u8 = 0xFE;

/// `KASAN_TAG_MAX` (`include/linux/kasan-tags.h`): the largest random tag.
pub const KASAN_TAG_MAX: u8 = 0xFD;

/// `KASAN_TAG_MIN` with `CONFIG_KASAN_SW_TAGS` (`include/linux/kasan-tags.h`): the smallest
/// random tag.
pub const KASAN_TAG_MIN_SW: u8 = 0x00;

/// `KASAN_TAG_MIN` with `CONFIG_KASAN_HW_TAGS` (`include/linux/kasan-tags.h`): MTE tags are 4
/// bits, KASAN keeps them as `0xF<x>`.
pub const KASAN_TAG_MIN_HW: u8 = 0xF0;

/// The bit position of the tag in a pointer: arm64 Top Byte Ignore, bits 56..63
/// (`__tag_shifted()` in `arch/arm64/include/asm/memory.h`, `MTE_TAG_SHIFT`).
pub const TAG_SHIFT: u32 = 56;

/// `MTE_TAG_SIZE` (`arch/arm64/include/asm/mte-def.h`): MTE allocation tags are 4 bits.
pub const MTE_TAG_SIZE: u32 = 4;

/// `__MTE_TAG_INCL` (`arch/arm64/include/asm/sysreg.h`): the 4-bit tags IRG may generate for the
/// kernel, `GENMASK(KASAN_TAG_MAX & 0xf, KASAN_TAG_MIN & 0xf)` = tags 0x0..=0xD.
pub const MTE_TAG_INCL: u16 = 0x3FFF;

/// `KERNEL_GCR_EL1_EXCL` (`arch/arm64/include/asm/sysreg.h`): the GCR_EL1.Exclude mask the kernel
/// runs with, `SYS_GCR_EL1_EXCL_MASK & ~__MTE_TAG_INCL`. It excludes 0xE and 0xF, so IRG never
/// produces [`KASAN_TAG_INVALID`] or [`KASAN_TAG_KERNEL`].
pub const KERNEL_GCR_EL1_EXCL: u16 = !MTE_TAG_INCL;

/// `__tag_shifted()` (`arch/arm64/include/asm/memory.h`): `tag` in the top byte.
pub const fn tag_shifted(tag: u8) -> u64 {
    (tag as u64) << TAG_SHIFT
}

/// `__tag_get()` (`arch/arm64/include/asm/memory.h`), i.e. `get_tag()` /
/// `arch_kasan_get_tag()`: the top byte.
pub const fn get_tag(addr: u64) -> u8 {
    (addr >> TAG_SHIFT) as u8
}

/// `__tag_set()` (`arch/arm64/include/asm/memory.h`), i.e. `set_tag()` /
/// `arch_kasan_set_tag()`: replaces the top byte with `tag`.
pub const fn set_tag(addr: u64, tag: u8) -> u64 {
    (addr & !tag_shifted(0xff)) | tag_shifted(tag)
}

/// `sign_extend64(value, 55)` (`include/linux/bitops.h`): copies bit 55 into bits 56..63.
const fn sign_extend_bit55(value: u64) -> u64 {
    const SHIFT: u32 = 63 - 55;
    (((value << SHIFT) as i64) >> SHIFT) as u64
}

/// `__tag_reset()` = `__untagged_addr()` (`arch/arm64/include/asm/memory.h`), i.e.
/// `kasan_reset_tag()` / `arch_kasan_reset_tag()`.
///
/// This is `sign_extend64(addr, 55)`, not "set the top byte to 0xFF": a kernel address (bit 55
/// set) gets the top byte [`KASAN_TAG_KERNEL`], a user address (bit 55 clear) gets 0x00.
pub const fn reset_tag(addr: u64) -> u64 {
    sign_extend_bit55(addr)
}

/// `untagged_addr()` (`arch/arm64/include/asm/memory.h`): `addr & __untagged_addr(addr)`.
///
/// Clears the tag of a user address (bit 55 clear) but leaves a kernel address (bit 55 set)
/// unchanged, *including its tag*: use [`reset_tag`] for kernel pointers.
pub const fn untagged_addr(addr: u64) -> u64 {
    addr & sign_extend_bit55(addr)
}

/// [`get_tag`] of a pointer.
pub fn get_tag_ptr<T>(ptr: *const T) -> u8 {
    get_tag(ptr.addr() as u64)
}

/// [`set_tag`] of a pointer, keeping its provenance.
pub fn set_tag_ptr<T>(ptr: *mut T, tag: u8) -> *mut T {
    ptr.map_addr(|a| set_tag(a as u64, tag) as usize)
}

/// [`reset_tag`] of a pointer (`kasan_reset_tag()`), keeping its provenance.
pub fn reset_tag_ptr<T>(ptr: *mut T) -> *mut T {
    ptr.map_addr(|a| reset_tag(a as u64) as usize)
}

/// One step of the `kasan_random_tag()` generator (`mm/kasan/sw_tags.c`): the 32-bit LCG
/// `1664525 * state + 1013904223` (wrapping, as `u32` arithmetic in C).
pub const fn sw_prng_next(state: u32) -> u32 {
    state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223)
}

/// The tag `kasan_random_tag()` (`mm/kasan/sw_tags.c`) returns for the new PRNG state:
/// `(u8)(state % (KASAN_TAG_MAX + 1))`.
///
/// The result is in `0x00..=0xFD` = [`KASAN_TAG_MIN_SW`]`..=`[`KASAN_TAG_MAX`]: upstream never
/// returns [`KASAN_TAG_INVALID`] or [`KASAN_TAG_KERNEL`]. The modulo 254 of a 32-bit value is
/// slightly biased, as upstream: over all 2^32 states, tags below `2^32 % 254` = 16 come up
/// 16909321 times, the others 16909320 times.
pub const fn sw_tag_from_state(state: u32) -> u8 {
    (state % (KASAN_TAG_MAX as u32 + 1)) as u8
}

/// `kasan_random_tag()` of software tag-based KASAN (`mm/kasan/sw_tags.c`) on one CPU's
/// `prng_state`: advances the state with [`sw_prng_next`] and returns [`sw_tag_from_state`].
///
/// Upstream seeds each CPU's state with `(u32)get_cycles()` in `kasan_init_sw_tags()`; a state of
/// 0 (never seeded) is valid too.
pub fn sw_random_tag(prng_state: &mut u32) -> u8 {
    let state = sw_prng_next(*prng_state);
    *prng_state = state;
    sw_tag_from_state(state)
}

/// `mte_get_ptr_tag()` (`arch/arm64/include/asm/mte-kasan.h`): the KASAN form `0xF<x>` of the MTE
/// tag in bits 56..59 of `ptr`.
pub const fn mte_get_ptr_tag(ptr: u64) -> u8 {
    0xF0 | ((ptr >> TAG_SHIFT) as u8)
}

/// A model of the tag the arm64 `IRG` instruction inserts, for a random number `random` and
/// the GCR_EL1.Exclude mask `exclude`: one of the 4-bit tags not excluded, picked as
/// `random % (number of allowed tags)` in increasing order, or 0 if all tags are excluded (as
/// the architecture specifies for that case).
pub const fn irg_tag(random: u64, exclude: u16) -> u8 {
    let allowed = !exclude;
    let mut k = match random.checked_rem(allowed.count_ones() as u64) {
        Some(k) => k,
        // All tags excluded.
        None => return 0,
    };
    let mut tag = 0u8;
    while tag < 16 {
        if allowed & 1u16.wrapping_shl(tag as u32) != 0 {
            if k == 0 {
                return tag;
            }
            k = k.wrapping_sub(1);
        }
        tag = tag.wrapping_add(1);
    }
    0
}

/// `kasan_random_tag()` of hardware tag-based KASAN = `mte_get_random_tag()`
/// (`arch/arm64/include/asm/mte-kasan.h`), with the hardware randomness modelled by `random`:
/// `IRG` under [`KERNEL_GCR_EL1_EXCL`] (see [`irg_tag`]), then [`mte_get_ptr_tag`].
///
/// The result is in [`KASAN_TAG_MIN_HW`]`..=`[`KASAN_TAG_MAX`] (`0xF0..=0xFD`), 14 values, never
/// [`KASAN_TAG_INVALID`] or [`KASAN_TAG_KERNEL`].
pub const fn hw_random_tag(random: u64) -> u8 {
    mte_get_ptr_tag((irg_tag(random, KERNEL_GCR_EL1_EXCL) as u64) << TAG_SHIFT)
}

/// `assign_tag()` (`mm/kasan/common.c`): the tag of a slab object at slab creation (`init`) or
/// allocation (`!init`).
///
/// `generic` is `IS_ENABLED(CONFIG_KASAN_GENERIC)` (always `0xff`); `keeps_tag` is
/// `cache->ctor || cache->flags & SLAB_TYPESAFE_BY_RCU`, for which the tag is chosen once at slab
/// creation and then kept (`object_tag` is `get_tag(object)`). `random_tag` is
/// `kasan_random_tag()`; it is only called when upstream calls it.
pub fn assign_tag(
    generic: bool,
    keeps_tag: bool,
    init: bool,
    object_tag: u8,
    random_tag: impl FnOnce() -> u8,
) -> u8 {
    if generic {
        return 0xff;
    }
    if !keeps_tag {
        return if init { KASAN_TAG_KERNEL } else { random_tag() };
    }
    if init {
        random_tag()
    } else {
        object_tag
    }
}

/// `kasan_sample_page_alloc()` (`mm/kasan/kasan.h`, hardware tag-based KASAN): whether a
/// page_alloc allocation of `order` gets (un)poisoned, with `skip` being this CPU's
/// `kasan_page_alloc_skip`, `sample` `kasan_page_alloc_sample` and `sample_order`
/// `kasan_page_alloc_sample_order`.
///
/// The boot parameters keep `sample` in `1..=LONG_MAX`, so `sample - 1` fits an `isize`.
pub fn sample_page_alloc(skip: &mut isize, sample: usize, sample_order: u32, order: u32) -> bool {
    // Fast-path for when sampling is disabled.
    if sample == 1 {
        return true;
    }
    if order < sample_order {
        return true;
    }
    *skip = skip.wrapping_sub(1);
    if *skip < 0 {
        *skip = sample.wrapping_sub(1) as isize;
        return true;
    }
    false
}

/// `kasan_get_alloc_size()` of `mm/kasan/report_sw_tags.c` and `report_hw_tags.c`: how much of a
/// slab object of `object_size` bytes is allocated, counting granules of `granule_size` bytes up
/// to the first one whose memory tag (`granule_tag(i)` for the `i`-th) is [`KASAN_TAG_INVALID`].
/// A freed object gives 0, an object without an invalid granule `object_size`.
pub fn alloc_size(
    mut granule_tag: impl FnMut(usize) -> u8,
    granule_size: usize,
    object_size: usize,
) -> usize {
    let mut size: usize = 0;
    let mut i: usize = 0;
    while size < object_size {
        if granule_tag(i) == KASAN_TAG_INVALID {
            return size;
        }
        size = size.wrapping_add(granule_size);
        i = i.wrapping_add(1);
    }
    object_size
}
