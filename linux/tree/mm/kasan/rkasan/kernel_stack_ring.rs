// SPDX-License-Identifier: GPL-2.0

//! The stack ring of the tag-based modes (`CONFIG_KASAN_RUST_STACK_RING`): records of slab
//! allocations and frees, walked by reports.
//!
//! Twin of the stack ring of [`mm/kasan/tags.c`](srctree/mm/kasan/tags.c) and of its walk in
//! [`mm/kasan/report_tags.c`](srctree/mm/kasan/report_tags.c). The C files keep the ring's
//! storage, its lock and the stack depot; [`crate::stack_ring`] has the logic.

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
const _: () =
    assert!(core::mem::size_of::<Track>() == if cfg!(CONFIG_KASAN_EXTRA_INFO) { 16 } else { 8 });
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
