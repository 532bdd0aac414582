// SPDX-License-Identifier: GPL-2.0

//! The stack ring of the tag-based modes: who allocated and freed an object, for its report.
//!
//! The Rust twin of `save_stack_info()` in [`mm/kasan/tags.c`](srctree/mm/kasan/tags.c) and of
//! `kasan_complete_mode_report_info()` in
//! [`mm/kasan/report_tags.c`](srctree/mm/kasan/report_tags.c).
//!
//! Tag-based KASAN keeps no per-object metadata. Every allocation and free appends a record
//! (the tagged object pointer, the cache's object size, the stack track, alloc or free) to one
//! global ring of `kasan.stack_ring_size` entries, overwriting the oldest. A report walks the
//! ring backwards from the newest record to find the last free and alloc of the buggy object
//! with the pointer's tag; which one comes first suggests the bug type.
//!
//! Writers claim a slot without a lock: a global position counter hands out slots, and a slot
//! being written holds [`STACK_RING_BUSY_PTR`] in its pointer, which other writers skip. The
//! kernel's reader-writer lock (taken by the C glue) only keeps writers, who share it, out while
//! a report walks the ring with it held exclusively.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::tags::{get_tag, reset_tag};

/// `STACK_RING_BUSY_PTR` (`mm/kasan/tags.c`): the pointer of a slot being written. Non-zero,
/// as never-written slots hold 0.
pub const STACK_RING_BUSY_PTR: usize = 1;

/// One record: `struct kasan_stack_ring_entry` (`mm/kasan/kasan.h`), with the kernel's
/// `struct kasan_track` as `T`. The layout is the C one.
#[repr(C)]
pub struct Entry<T> {
    /// `ptr`: the tagged object, 0 if never written, [`STACK_RING_BUSY_PTR`] while written.
    pub ptr: AtomicUsize,
    /// `size`: the object size of its cache.
    pub size: UnsafeCell<usize>,
    /// `track`: pid and stack (and CPU and time with `CONFIG_KASAN_EXTRA_INFO`).
    pub track: UnsafeCell<T>,
    /// `is_free`: a free (or an allocation).
    pub is_free: UnsafeCell<bool>,
}

// SAFETY: `ptr` is atomic; the other fields are written only by the writer that claimed the
// slot (`claim()` / `record()`) and read only by it or by a report walking the ring while no
// writer runs (`find()`), as their safety contracts require.
unsafe impl<T: Send> Sync for Entry<T> {}

impl<T: Default> Default for Entry<T> {
    fn default() -> Self {
        Self {
            ptr: AtomicUsize::new(0),
            size: UnsafeCell::new(0),
            track: UnsafeCell::new(T::default()),
            is_free: UnsafeCell::new(false),
        }
    }
}

/// Claims a slot for a new record: the loop of `save_stack_info()`. Takes the next position,
/// skips a slot another writer holds ([`STACK_RING_BUSY_PTR`]) or takes from under us, and
/// returns the slot, now marked busy; `None` for an empty ring (stack collection off).
///
/// As upstream, it loops for as long as every slot it is handed is busy.
pub fn claim<'a, T>(entries: &'a [Entry<T>], pos: &AtomicU64) -> Option<&'a Entry<T>> {
    let len = entries.len() as u64;
    if len == 0 {
        return None;
    }
    loop {
        // `atomic64_fetch_add()` and `try_cmpxchg()` are fully ordered.
        let p = pos.fetch_add(1, Ordering::SeqCst);
        let Some(entry) = entries.get((p % len) as usize) else {
            continue;
        };
        let old = entry.ptr.load(Ordering::Relaxed);
        if old == STACK_RING_BUSY_PTR {
            continue;
        }
        if entry
            .ptr
            .compare_exchange(
                old,
                STACK_RING_BUSY_PTR,
                Ordering::SeqCst,
                Ordering::Relaxed,
            )
            .is_ok()
        {
            return Some(entry);
        }
    }
}

/// Fills a slot [`claim`] returned and publishes it: records the tagged `object` of a cache of
/// `object_size`-byte objects, its `track` and whether this `is_free`. Returns the track the
/// slot held before, whose stack depot reference the caller drops.
///
/// # Safety
///
/// `entry` was returned by [`claim`] and not recorded since: this thread owns it, until its
/// pointer is published here.
pub unsafe fn record<T: Copy>(
    entry: &Entry<T>,
    object: usize,
    object_size: usize,
    track: T,
    is_free: bool,
) -> T {
    // SAFETY: This thread owns the slot (busy pointer), per the caller; readers wait for the
    // writers' lock to be free before walking the ring.
    let old = unsafe {
        let old = entry.track.get().read();
        entry.size.get().write(object_size);
        entry.track.get().write(track);
        entry.is_free.get().write(is_free);
        old
    };
    entry.ptr.store(object, Ordering::Release);
    old
}

/// What the walk of the ring found for the buggy object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Found<T> {
    /// The track of its last allocation.
    pub alloc: Option<T>,
    /// The track of its last free.
    pub free: Option<T>,
    /// Whether the newest matching record is a free (`Some(true)`) or an allocation.
    pub free_first: Option<bool>,
}

/// Walks the ring from the newest record (`pos - 1`) back over all `entries.len()` slots for
/// the last allocation and free of the untagged `object` of a cache of `object_size`-byte
/// objects, accessed through a pointer tagged `tag`: the loop of
/// `kasan_complete_mode_report_info()`. A record matches when its untagged pointer, its tag
/// and its object size do. It stops at the second free (a double free: the allocation before
/// it is not this one's) or the second allocation.
///
/// # Safety
///
/// No writer changes the ring during the walk (the caller holds the lock exclusively).
pub unsafe fn find<T: Copy>(
    entries: &[Entry<T>],
    pos: u64,
    object: usize,
    tag: u8,
    object_size: usize,
) -> Found<T> {
    let mut found = Found {
        alloc: None,
        free: None,
        free_first: None,
    };
    let len = entries.len() as u64;
    // An empty ring (stack collection off) holds nothing; returning here also tells the
    // compiler that `i % len` below cannot divide by zero (no `panic_const_rem_by_zero`).
    if len == 0 {
        return found;
    }
    let mut i = pos.wrapping_sub(1);
    let stop = i.wrapping_sub(len);
    while i != stop {
        if found.alloc.is_some() && found.free.is_some() {
            break;
        }
        let Some(entry) = entries.get((i % len) as usize) else {
            break;
        };
        i = i.wrapping_sub(1);
        let ptr = entry.ptr.load(Ordering::Relaxed) as u64;
        // SAFETY: No writer runs, per the caller.
        let (size, is_free, track) = unsafe {
            (
                entry.size.get().read(),
                entry.is_free.get().read(),
                entry.track.get().read(),
            )
        };
        if reset_tag(ptr) as usize != object || get_tag(ptr) != tag || size != object_size {
            continue;
        }
        if is_free {
            // Second free of the same object: give up on the allocation.
            if found.free.is_some() {
                break;
            }
            found.free = Some(track);
        } else {
            // Second allocation of the same object: give up.
            if found.alloc.is_some() {
                break;
            }
            found.alloc = Some(track);
        }
        found.free_first.get_or_insert(is_free);
    }
    found
}

/// The bug type of a tag-mode report (`info->bug_type` of `mm/kasan/report_tags.c`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagBugType {
    /// The newest record of the object is a free.
    SlabUseAfterFree,
    /// The newest record of the object is an allocation.
    SlabOutOfBounds,
    /// No record, and the access range wraps (a negative size).
    OutOfBounds,
    /// No record: a tag mismatch, nothing more known.
    InvalidAccess,
}

impl TagBugType {
    /// The name the report prints, NUL-terminated for C.
    pub const fn name(self) -> &'static [u8] {
        match self {
            TagBugType::SlabUseAfterFree => b"slab-use-after-free\0",
            TagBugType::SlabOutOfBounds => b"slab-out-of-bounds\0",
            TagBugType::OutOfBounds => b"out-of-bounds\0",
            TagBugType::InvalidAccess => b"invalid-access\0",
        }
    }
}

/// `get_common_bug_type()` of `mm/kasan/report_tags.c`: without ring records, an access whose
/// range wraps (a negative size cast to `size_t`) is out-of-bounds, anything else an invalid
/// access.
pub const fn common_bug_type(access_addr: usize, access_size: usize) -> TagBugType {
    if access_addr.wrapping_add(access_size) < access_addr {
        TagBugType::OutOfBounds
    } else {
        TagBugType::InvalidAccess
    }
}

/// The bug type a walk suggests: that of the newest matching record, or
/// [`common_bug_type`] without one.
pub fn bug_type<T>(found: &Found<T>, access_addr: usize, access_size: usize) -> TagBugType {
    match found.free_first {
        Some(true) => TagBugType::SlabUseAfterFree,
        Some(false) => TagBugType::SlabOutOfBounds,
        None => common_bug_type(access_addr, access_size),
    }
}
