// SPDX-License-Identifier: GPL-2.0

//! What a tag-mode report reads from memory tags (`CONFIG_KASAN_RUST_TAGS_REPORT`).
//!
//! Twin of [`mm/kasan/report_sw_tags.c`](srctree/mm/kasan/report_sw_tags.c) and
//! [`mm/kasan/report_hw_tags.c`](srctree/mm/kasan/report_hw_tags.c): the first bad address, the
//! allocated size of an object, the `Pointer tag: [..], memory tag: [..]` line and the tag dump.
//! The rest of a tag-mode report is `report.c`'s.

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
    unsafe {
        crate::kernel_sw_tags::KernelTagShadow
            .mem_to_shadow(untagged)
            .read()
    }
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
    unsafe {
        crate::sw_tags::find_first_bad_addr(&crate::kernel_sw_tags::KernelTagShadow, addr, size)
    }
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
pub extern "C" fn rkasan_tags_get_alloc_size(object: *const c_void, object_size: usize) -> usize {
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
