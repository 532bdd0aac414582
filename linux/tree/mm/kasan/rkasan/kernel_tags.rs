// SPDX-License-Identifier: GPL-2.0

//! The tag-based modes on arm64, exported to the C entry layer `mm/kasan/rkasan_tags_entry.c`
//! and the C files that keep the locks: tag generation, the stack ring, what a report reads
//! from memory tags, and the check and poison paths of software tag-based KASAN.
//!
//! Twin of `kasan_random_tag()` of [`mm/kasan/sw_tags.c`](srctree/mm/kasan/sw_tags.c) and
//! [`mm/kasan/kasan.h`](srctree/mm/kasan/kasan.h) (hardware tags), of the stack ring of
//! [`mm/kasan/tags.c`](srctree/mm/kasan/tags.c) and
//! [`mm/kasan/report_tags.c`](srctree/mm/kasan/report_tags.c), of
//! [`mm/kasan/report_sw_tags.c`](srctree/mm/kasan/report_sw_tags.c) /
//! [`mm/kasan/report_hw_tags.c`](srctree/mm/kasan/report_hw_tags.c), and of the check path of
//! `sw_tags.c` and the tag-mode poisoning of [`mm/kasan/shadow.c`](srctree/mm/kasan/shadow.c).
//! The entry layer calls the check and poison functions after `kasan_enabled()`, passing
//! `_RET_IP_` where a report may follow. They run on every instrumented access: no panics,
//! wrapping arithmetic only, nothing instrumented called but `kasan_report()` on a bad access.

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

#[cfg(CONFIG_KASAN_RUST_STACK_RING)]
pub use ring::*;

/// The stack ring: records of allocations and frees, walked by reports.
#[cfg(CONFIG_KASAN_RUST_STACK_RING)]
mod ring {
    use crate::stack_ring::{self, Entry};
    use core::ffi::c_void;
    use core::sync::atomic::AtomicU64;
    use kernel::ffi::c_char;

    /// `struct kasan_track` (`mm/kasan/kasan.h`): copied whole, only `stack` is read here.
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct Track {
        /// `pid`.
        pub pid: u32,
        /// `stack`: the stack depot handle.
        pub stack: u32,
        /// `cpu:20` and `timestamp:44` (`CONFIG_KASAN_EXTRA_INFO`).
        #[cfg(CONFIG_KASAN_EXTRA_INFO)]
        pub extra: u64,
    }

    // `RKASAN_TRACK_SIZE` and `RKASAN_STACK_RING_ENTRY_SIZE` of mm/kasan/rkasan.h, which
    // tags.c checks against the C structures.
    const _: () = assert!(
        core::mem::size_of::<Track>() == if cfg!(CONFIG_KASAN_EXTRA_INFO) { 16 } else { 8 }
    );
    const _: () =
        assert!(core::mem::size_of::<Entry<Track>>() == 16 + core::mem::size_of::<Track>() + 8);

    /// The ring's entries as a slice; empty when it was never allocated (stack collection off).
    ///
    /// # Safety
    ///
    /// `entries` is null or points to `size` live entries.
    unsafe fn entries<'a>(entries: *mut Entry<Track>, size: usize) -> &'a [Entry<Track>] {
        if entries.is_null() {
            return &[];
        }
        // SAFETY: Per the caller.
        unsafe { core::slice::from_raw_parts(entries, size) }
    }

    /// `save_stack_info()` minus the lock and the stack depot: claims a slot of the ring and
    /// records the tagged `object`, its cache's `object_size`, `track` and `is_free` there.
    /// Returns the stack handle the slot held before (0 if none), for `stack_depot_put()`.
    ///
    /// # Safety
    ///
    /// `entries`/`size`/`pos` are `stack_ring`'s, and the caller holds its lock for reading;
    /// `track` is valid for reads.
    #[no_mangle]
    pub unsafe extern "C" fn rkasan_stack_ring_save(
        entries_ptr: *mut Entry<Track>,
        size: usize,
        pos: *mut i64,
        object: *const c_void,
        object_size: usize,
        is_free: bool,
        track: *const Track,
    ) -> u32 {
        // SAFETY: Per the caller; `atomic64_t` is an aligned `s64` only accessed atomically.
        let (ring, pos, track) = unsafe {
            (
                entries(entries_ptr, size),
                AtomicU64::from_ptr(pos.cast()),
                track.read(),
            )
        };
        let Some(entry) = stack_ring::claim(ring, pos) else {
            return 0;
        };
        // SAFETY: Just claimed by this thread.
        unsafe { stack_ring::record(entry, object as usize, object_size, track, is_free) }.stack
    }

    /// The walk of `kasan_complete_mode_report_info()`: finds the last allocation and free of
    /// the untagged `object` (accessed with pointer tag `tag`), copies their tracks to `alloc`
    /// and `free` when found, and returns the bug type they suggest.
    ///
    /// # Safety
    ///
    /// `entries`/`size`/`pos` are `stack_ring`'s and the caller holds its lock for writing;
    /// `alloc` and `free` are valid for writes.
    #[no_mangle]
    #[allow(clippy::too_many_arguments)]
    pub unsafe extern "C" fn rkasan_stack_ring_find(
        entries_ptr: *mut Entry<Track>,
        size: usize,
        pos: u64,
        object: *const c_void,
        tag: u8,
        object_size: usize,
        access_addr: *const c_void,
        access_size: usize,
        alloc: *mut Track,
        free: *mut Track,
    ) -> *const c_char {
        // SAFETY: Per the caller: the ring is live and no writer runs.
        let found = unsafe {
            stack_ring::find(
                entries(entries_ptr, size),
                pos,
                object as usize,
                tag,
                object_size,
            )
        };
        // SAFETY: Valid for writes, per the caller.
        unsafe {
            if let Some(t) = found.alloc {
                alloc.write(t);
            }
            if let Some(t) = found.free {
                free.write(t);
            }
        }
        stack_ring::bug_type(&found, access_addr as usize, access_size)
            .name()
            .as_ptr()
            .cast()
    }

    /// `get_common_bug_type()` of `report_tags.c`, NUL-terminated for `info->bug_type`.
    #[no_mangle]
    pub extern "C" fn rkasan_tags_common_bug_type(
        access_addr: *const c_void,
        access_size: usize,
    ) -> *const c_char {
        stack_ring::common_bug_type(access_addr as usize, access_size)
            .name()
            .as_ptr()
            .cast()
    }
}

#[cfg(CONFIG_KASAN_RUST_TAGS_REPORT)]
pub use report::*;

/// What a tag-mode report reads from memory tags: `report_sw_tags.c` / `report_hw_tags.c`.
#[cfg(CONFIG_KASAN_RUST_TAGS_REPORT)]
mod report {
    use crate::tags;
    use core::ffi::c_void;
    use kernel::ffi::{c_char, c_int, c_uint};
    use kernel::str::CStrExt;

    /// `KASAN_GRANULE_SIZE`: 16 bytes per tag in both tag-based modes.
    const GRANULE_SIZE: usize = 16;

    /// `META_BYTES_PER_ROW` (`mm/kasan/kasan.h`): tags per row of the report's tag dump.
    const META_BYTES_PER_ROW: usize = 16;

    extern "C" {
        fn _printk(fmt: *const c_char, ...) -> c_int;
    }

    /// The memory tag of the granule of `addr`: its shadow byte with software tags.
    #[cfg(CONFIG_KASAN_SW_TAGS)]
    fn mem_tag(addr: usize) -> u8 {
        use crate::shadow::Shadow;
        let untagged = tags::reset_tag(addr as u64) as usize;
        // SAFETY: The report only asks for tags of memory that has them (slab objects and
        // the rows around a bad address with metadata), like the C functions it replaces.
        unsafe { super::KernelTagShadow.mem_to_shadow(untagged).read() }
    }

    /// The memory tag of the granule of `addr`: `hw_get_mem_tag()`, the MTE `LDG`
    /// instruction, in KASAN's `0xF<x>` form.
    #[cfg(CONFIG_KASAN_HW_TAGS)]
    fn mem_tag(addr: usize) -> u8 {
        let mut tagged = addr as u64;
        // SAFETY: `LDG` reads the allocation tag of a granule the report asks about (slab
        // objects, the rows around a bad address), as `mte_get_mem_tag()` does; it changes no
        // memory and only writes its register.
        unsafe {
            core::arch::asm!(
                ".arch_extension memtag",
                "ldg {0}, [{0}]",
                inout(reg) tagged,
                options(nostack, preserves_flags, readonly)
            )
        };
        tags::mte_get_ptr_tag(tagged)
    }

    /// The untagged address of the first granule of `size` bytes at the tagged `addr` whose
    /// memory tag differs from the pointer tag.
    #[cfg(CONFIG_KASAN_SW_TAGS)]
    fn first_bad_addr(addr: usize, size: usize) -> usize {
        // SAFETY: Tags are read only from an address with metadata on; the report passes the
        // range of the access being reported.
        unsafe { crate::sw_tags::find_first_bad_addr(&super::KernelTagShadow, addr, size) }
    }

    /// With hardware tags the fault address is the bad granule already: the untagged `addr`.
    #[cfg(CONFIG_KASAN_HW_TAGS)]
    fn first_bad_addr(addr: usize, _size: usize) -> usize {
        tags::reset_tag(addr as u64) as usize
    }

    /// `kasan_find_first_bad_addr()`: where the report says the bad access is.
    #[no_mangle]
    pub extern "C" fn rkasan_tags_find_first_bad_addr(
        addr: *const c_void,
        size: usize,
    ) -> *const c_void {
        first_bad_addr(addr as usize, size) as *const c_void
    }

    /// `kasan_get_alloc_size()`: how much of the slab object at `object` (of a cache of
    /// `object_size`-byte objects) is allocated, from its memory tags.
    #[no_mangle]
    pub extern "C" fn rkasan_tags_get_alloc_size(
        object: *const c_void,
        object_size: usize,
    ) -> usize {
        let object = object as usize;
        tags::alloc_size(
            |i| mem_tag(object.wrapping_add(i.wrapping_mul(GRANULE_SIZE))),
            GRANULE_SIZE,
            object_size,
        )
    }

    /// `kasan_metadata_fetch_row()`: the memory tags of the `META_BYTES_PER_ROW` granules from
    /// `row`, into `buffer`, for the report's tag dump.
    ///
    /// # Safety
    ///
    /// `buffer` is valid for writes of `META_BYTES_PER_ROW` bytes.
    #[no_mangle]
    pub unsafe extern "C" fn rkasan_tags_fetch_row(buffer: *mut u8, row: *const c_void) {
        let row = row as usize;
        for i in 0..META_BYTES_PER_ROW {
            let tag = mem_tag(row.wrapping_add(i.wrapping_mul(GRANULE_SIZE)));
            // SAFETY: `i < META_BYTES_PER_ROW`, and `buffer` is that long, per the caller.
            unsafe { buffer.wrapping_add(i).write(tag) };
        }
    }

    /// `kasan_print_tags()`: the report line comparing the pointer tag `addr_tag` with the
    /// memory tag at `addr`.
    #[no_mangle]
    pub extern "C" fn rkasan_tags_print_tags(addr_tag: u8, addr: *const c_void) {
        let memory_tag = mem_tag(addr as usize);
        // SAFETY: The format takes two `unsigned int`s, which are passed.
        unsafe {
            _printk(
                c"\x013Pointer tag: [%02x], memory tag: [%02x]\n".as_char_ptr(),
                c_uint::from(addr_tag),
                c_uint::from(memory_tag),
            )
        };
    }
}

#[cfg(CONFIG_KASAN_SW_TAGS)]
pub use sw::*;

/// Software tag-based KASAN: the shadow of memory tags and its check.
#[cfg(CONFIG_KASAN_SW_TAGS)]
mod sw {
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
}
