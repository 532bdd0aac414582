// SPDX-License-Identifier: GPL-2.0

//! Writes to freed slab objects, found when they leave the quarantine (`kasan.free_check=on`).
//!
//! This module has no C twin. Generic KASAN catches a use-after-free only when instrumented code
//! makes the access; a write by code it does not instrument (assembly, `noinstr` code, DMA,
//! `__memset()` and the other uninstrumented helpers) into an object in the quarantine goes
//! unnoticed (the kernel's KASAN bug 216657). With `kasan.free_check=on` rkasan fills the bytes
//! of each object entering the quarantine with [`FREE_CHECK_PATTERN`] and checks them when the
//! object leaves it, at eviction or when its cache is destroyed: a changed byte is reported as a
//! use-after-free.
//!
//! [`checked_region`] says which bytes of an object are filled: all of its `object_size` but the
//! free metadata KASAN keeps inside small objects, which the quarantine itself writes.
//! [`fill`] and [`find_changed`] do the work word by word with volatile accesses: they run on
//! every free and every eviction, and must not become calls to the instrumented `memset()` or
//! `memcmp()` of the kernel, which would report the freed object. No panics, wrapping
//! arithmetic only.

/// The byte each checked byte of a quarantined object holds: `KASAN_SLAB_FREE`'s value, so that
/// a pointer read from a freed object (`0xfbfbfbfbfbfbfbfb`) is non-canonical on x86_64 and
/// faults where it is used, as SLUB's `POISON_FREE` does.
pub const FREE_CHECK_PATTERN: u8 = 0xFB;

/// [`FREE_CHECK_PATTERN`] in every byte of a word.
const PATTERN_WORD: usize = usize::from_ne_bytes([FREE_CHECK_PATTERN; size_of::<usize>()]);

/// Bytes of a word.
const WORD: usize = size_of::<usize>();

/// The bytes of an object that [`fill`] fills and [`find_changed`] checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckedRegion {
    /// Offset of the first checked byte from the object's start.
    pub offset: usize,
    /// Number of checked bytes.
    pub len: usize,
}

/// The checked bytes of an object of `object_size` bytes whose free metadata (`struct
/// kasan_free_meta`, `free_meta_size` bytes) is at its start when `free_meta_in_object` (its
/// `free_meta_offset` is 0), or elsewhere. `None` if no byte is left to check.
pub const fn checked_region(
    object_size: usize,
    free_meta_in_object: bool,
    free_meta_size: usize,
) -> Option<CheckedRegion> {
    let offset = if free_meta_in_object {
        free_meta_size
    } else {
        0
    };
    if object_size <= offset {
        return None;
    }
    Some(CheckedRegion {
        offset,
        len: object_size.wrapping_sub(offset),
    })
}

/// Fills `len` bytes at `start` with [`FREE_CHECK_PATTERN`].
///
/// # Safety
///
/// `start..start + len` is valid for writes.
pub unsafe fn fill(start: *mut u8, len: usize) {
    let end = (start as usize).wrapping_add(len);
    let mut p = start;
    // Up to the first word boundary, then whole words, then the tail.
    while (p as usize) < end && (p as usize) & (WORD - 1) != 0 {
        // SAFETY: `p` is in `start..start + len`, valid for writes per the caller.
        unsafe { p.write_volatile(FREE_CHECK_PATTERN) };
        p = p.wrapping_add(1);
    }
    while end.wrapping_sub(p as usize) >= WORD {
        // SAFETY: The word is in `start..start + len` and aligned.
        unsafe { p.cast::<usize>().write_volatile(PATTERN_WORD) };
        p = p.wrapping_add(WORD);
    }
    while (p as usize) < end {
        // SAFETY: As above.
        unsafe { p.write_volatile(FREE_CHECK_PATTERN) };
        p = p.wrapping_add(1);
    }
}

/// What [`find_changed`] found in a checked region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Changed {
    /// Offset of the first byte that is not [`FREE_CHECK_PATTERN`], from the region's start.
    pub first: usize,
    /// Offset of the last such byte.
    pub last: usize,
    /// How many bytes of `first..=last` are not the pattern.
    pub count: usize,
}

impl Changed {
    /// Bytes from the first changed byte to the last, both included.
    pub const fn span(&self) -> usize {
        self.last.wrapping_sub(self.first).wrapping_add(1)
    }
}

/// Adds the changed bytes of `word`, read at offset `at` of the region, to `changed`.
fn note_word(changed: &mut Option<Changed>, at: usize, word: usize) {
    let diff = word ^ PATTERN_WORD;
    if diff == 0 {
        return;
    }
    // A counted loop: `enumerate()` would bring core's overflow-checked counter, and a panic
    // path, into the kernel's runtime.
    let mut i: usize = 0;
    for byte in diff.to_ne_bytes() {
        if byte != 0 {
            note_byte(changed, at.wrapping_add(i));
        }
        i = i.wrapping_add(1);
    }
}

/// Adds the changed byte at offset `at` to `changed`.
fn note_byte(changed: &mut Option<Changed>, at: usize) {
    match changed {
        Some(c) => {
            c.last = at;
            c.count = c.count.wrapping_add(1);
        }
        None => {
            *changed = Some(Changed {
                first: at,
                last: at,
                count: 1,
            })
        }
    }
}

/// Finds the bytes of `start..start + len` that are not [`FREE_CHECK_PATTERN`].
///
/// # Safety
///
/// `start..start + len` is valid for reads. Another CPU may write it meanwhile (that is the bug
/// this looks for): the reads are volatile, and a byte changed during the scan may or may not be
/// seen.
pub unsafe fn find_changed(start: *const u8, len: usize) -> Option<Changed> {
    let mut changed = None;
    let base = start as usize;
    let end = base.wrapping_add(len);
    let mut p = start;
    while (p as usize) < end && (p as usize) & (WORD - 1) != 0 {
        // SAFETY: `p` is in `start..start + len`, valid for reads per the caller.
        if unsafe { p.read_volatile() } != FREE_CHECK_PATTERN {
            note_byte(&mut changed, (p as usize).wrapping_sub(base));
        }
        p = p.wrapping_add(1);
    }
    while end.wrapping_sub(p as usize) >= WORD {
        // SAFETY: The word is in `start..start + len` and aligned.
        let word = unsafe { p.cast::<usize>().read_volatile() };
        note_word(&mut changed, (p as usize).wrapping_sub(base), word);
        p = p.wrapping_add(WORD);
    }
    while (p as usize) < end {
        // SAFETY: As above.
        if unsafe { p.read_volatile() } != FREE_CHECK_PATTERN {
            note_byte(&mut changed, (p as usize).wrapping_sub(base));
        }
        p = p.wrapping_add(1);
    }
    changed
}

/// Most bytes of a changed range a [`Finding`] shows.
pub const FINDING_BYTES: usize = 32;

/// What a report says about the changed bytes of an object: the range, relative to the
/// object's start, and the bytes found there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Offset of the first changed byte from the object's start.
    pub offset: usize,
    /// The changed bytes, as [`find_changed`] counted them.
    pub changed: Changed,
    /// The first bytes of the range (at most [`FINDING_BYTES`]), as found.
    pub found: [u8; FINDING_BYTES],
}

impl Finding {
    /// The finding for `changed` in the region `region` of the object at `object`: copies the
    /// first bytes of the range.
    ///
    /// # Safety
    ///
    /// The region's bytes at `object + region.offset` are valid for reads, and `changed` came
    /// from [`find_changed`] over them.
    pub unsafe fn read(object: *const u8, region: CheckedRegion, changed: Changed) -> Self {
        let mut found = [0u8; FINDING_BYTES];
        let start = object
            .wrapping_add(region.offset)
            .wrapping_add(changed.first);
        let mut i: usize = 0;
        for byte in found.iter_mut().take(changed.span()) {
            // SAFETY: `first + i` is within `first..=last`, inside the region, per the caller.
            *byte = unsafe { start.wrapping_add(i).read_volatile() };
            i = i.wrapping_add(1);
        }
        Self {
            offset: region.offset.wrapping_add(changed.first),
            changed,
            found,
        }
    }
}

impl core::fmt::Display for Finding {
    /// Two lines: the range with how many of its bytes differ from the pattern, then the bytes
    /// found (the first [`FINDING_BYTES`], and `...` if the range is longer).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let span = self.changed.span();
        writeln!(
            f,
            "kasan.free_check: bytes {}-{} of the object changed after the free \
             ({} of {} bytes are not the pattern 0x{:02x}); found:",
            self.offset,
            self.offset.wrapping_add(span).wrapping_sub(1),
            self.changed.count,
            span,
            FREE_CHECK_PATTERN
        )?;
        for byte in self.found.iter().take(span) {
            write!(f, " {byte:02x}")?;
        }
        if span > FINDING_BYTES {
            write!(f, " ...")?;
        }
        writeln!(f)
    }
}

/// The functions of a free's stack that belong to the allocator and KASAN, not to the code that
/// freed the object: the slab's entry points, its internals that run the free hooks, and the
/// kvfree_rcu() batching that frees on the caller's behalf.
const FREE_PATH: [&str; 26] = [
    "kfree",
    "kvfree",
    "kfree_sensitive",
    "kvfree_sensitive",
    "kfree_bulk",
    "kfree_nolock",
    "kmem_cache_free",
    "kmem_cache_free_bulk",
    "__kmem_cache_free_bulk",
    "slab_free",
    "slab_free_hook",
    "slab_free_bulk",
    "slab_free_freelist_hook",
    "slab_free_after_rcu_debug",
    "do_slab_free",
    "__slab_free",
    "___cache_free",
    "free_to_pcs_bulk",
    "__rcu_free_sheaf_prepare",
    "rcu_free_sheaf",
    "memcg_alloc_abort_single",
    "poison_slab_object",
    "mempool_free",
    "mempool_free_slab",
    "kvfree_rcu_bulk",
    "kfree_rcu_work",
];

/// The function of a `%pS` symbol (`name+0x1a/0x2b0 [module]`): `name` without a compiler
/// suffix (`.isra.0`, `.cold`).
pub fn function_name(symbol: &str) -> &str {
    // A byte loop: `str::find()` with a char pattern brings overflow checks into the kernel.
    let bytes = symbol.as_bytes();
    let mut end: usize = 0;
    while let Some(&b) = bytes.get(end) {
        if matches!(b, b'+' | b'.' | b' ') {
            break;
        }
        end = end.wrapping_add(1);
    }
    symbol.get(..end).unwrap_or(symbol)
}

/// Whether `function` is part of freeing rather than the code that freed: KASAN's own functions
/// (`kasan_*`, `__kasan_*`) and the slab's free entry points and internals (`kfree`,
/// `kmem_cache_free`, `slab_free`, ...).
pub fn is_free_path(function: &str) -> bool {
    function.starts_with("kasan_")
        || function.starts_with("__kasan_")
        || function.starts_with("mempool_kfree")
        || FREE_PATH.contains(&function)
}

/// The frame of a free's stack (its `%pS` symbols, innermost first) that names the code that
/// freed the object: the first that [`is_free_path`] does not claim. A write-after-free report
/// is titled with it, the accessing code being unknown; syzkaller then groups such reports by
/// the object's owner.
pub fn free_site<'a>(frames: impl IntoIterator<Item = &'a str>) -> Option<usize> {
    // Counted by hand, as in `note_word()`: no overflow-checked `position()` in the kernel.
    let mut i: usize = 0;
    for symbol in frames {
        if !is_free_path(function_name(symbol)) {
            return Some(i);
        }
        i = i.wrapping_add(1);
    }
    None
}
