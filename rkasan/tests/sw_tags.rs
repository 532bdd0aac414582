// SPDX-License-Identifier: GPL-2.0

//! Host tests of `rkasan::sw_tags`: the tag shadow against a byte-per-byte model, on an arena
//! placed where arm64 kernel memory is (bit 55 set, so `kasan_reset_tag()` gives 0xFF).

use rkasan::check::BadAccess;
use rkasan::shadow::{PoisonError, Shadow};
use rkasan::sw_tags::*;
use rkasan::tags::{
    alloc_size, reset_tag, set_tag, KASAN_TAG_INVALID, KASAN_TAG_KERNEL, KASAN_TAG_MAX,
};

mod common;
use common::Rng;

/// Where the arena's memory is: an arm64 linear-map address (top byte 0xFF untagged).
const BASE: usize = 0xffff_0000_1000_0000;
/// Granules in the arena.
const GRANULES: usize = 256;

/// A shadow of `GRANULES` tags for `BASE..`; the memory itself never exists (checks only read
/// tags). Addresses outside the arena have no metadata. The tags are leaked: a test's lifetime.
struct TagArena {
    tags: *mut u8,
}

impl TagArena {
    fn new(init: u8) -> Self {
        Self {
            tags: Box::leak(vec![init; GRANULES].into_boxed_slice()).as_mut_ptr(),
        }
    }

    fn tag(&self, granule: usize) -> u8 {
        assert!(granule < GRANULES);
        // SAFETY: in bounds of the leaked allocation.
        unsafe { self.tags.add(granule).read() }
    }
}

impl Shadow for TagArena {
    fn mem_to_shadow(&self, addr: usize) -> *mut u8 {
        self.tags
            .wrapping_add(addr.wrapping_sub(BASE) >> SW_TAGS_SCALE_SHIFT)
    }

    fn shadow_to_mem(&self, shadow: *const u8) -> usize {
        BASE + ((shadow as usize - self.tags as usize) << SW_TAGS_SCALE_SHIFT)
    }

    fn has_metadata(&self, addr: usize) -> bool {
        (BASE..BASE + GRANULES * SW_TAGS_GRANULE_SIZE).contains(&addr)
    }

    unsafe fn fill(&self, shadow: *mut u8, value: u8, len: usize) {
        for i in 0..len {
            // SAFETY: the caller guarantees `shadow..shadow + len` is in the arena.
            unsafe { shadow.add(i).write(value) };
        }
    }
}

/// Safe wrappers: each checks that what the function may touch is inside the arena.
impl TagArena {
    fn in_arena(&self, addr: usize, size: usize) -> bool {
        let a = reset_tag(addr as u64) as usize;
        size == 0 || (self.has_metadata(a) && self.has_metadata(a + size - 1))
    }

    fn check(&self, addr: usize, size: usize) -> Result<(), BadAccess> {
        let a = reset_tag(addr as u64) as usize;
        let reads = size != 0 && a.checked_add(size).is_some() && self.has_metadata(a);
        assert!(!reads || self.in_arena(addr, size));
        // SAFETY: `check_range()` reads tags only for a non-empty, non-wrapping range whose
        // start has metadata; such a range is in the arena (asserted above).
        unsafe { check_range(self, addr, size) }
    }

    fn accessible(&self, addr: usize) -> bool {
        // SAFETY: Reads the tag of an address only if it has metadata (is in the arena).
        unsafe { byte_accessible(self, addr) }
    }

    fn poison(&self, addr: usize, size: usize, value: u8) -> Result<(), PoisonError> {
        assert!(self.in_arena(addr & !SW_TAGS_GRANULE_MASK, size));
        // SAFETY: The range is in the arena.
        unsafe { poison(self, addr, size, value) }
    }

    fn unpoison(&self, addr: usize, size: usize) -> Result<(), PoisonError> {
        assert!(self.in_arena(addr & !SW_TAGS_GRANULE_MASK, round_up_granule(size)));
        // SAFETY: The rounded-up range is in the arena.
        unsafe { unpoison(self, addr, size) }
    }

    fn first_bad(&self, addr: usize, size: usize) -> usize {
        let a = reset_tag(addr as u64) as usize;
        assert!(!self.has_metadata(a) || self.in_arena(addr, size));
        // SAFETY: Reads only tags of the range, which is in the arena if it has metadata.
        unsafe { find_first_bad_addr(self, addr, size) }
    }

    fn alloc_size(&self, object: usize, object_size: usize) -> usize {
        let first = (object - BASE) / SW_TAGS_GRANULE_SIZE;
        alloc_size(|i| self.tag(first + i), SW_TAGS_GRANULE_SIZE, object_size)
    }
}

fn tagged(offset: usize, tag: u8) -> usize {
    set_tag((BASE + offset) as u64, tag) as usize
}

#[test]
fn unpoison_gives_the_pointer_tag_to_whole_granules() {
    let arena = TagArena::new(KASAN_TAG_INVALID);
    // 20 bytes: two granules, the tail of the second one is accessible too.
    arena.unpoison(tagged(32, 0x2a), 20).unwrap();
    assert_eq!(
        (0..5).map(|g| arena.tag(g)).collect::<Vec<_>>(),
        [0xfe, 0xfe, 0x2a, 0x2a, 0xfe]
    );
    for (offset, size, ok) in [
        (32, 20, true),
        (32, 32, true),
        (63, 1, true),
        (64, 1, false),
        (31, 2, false),
        (40, 30, false),
    ] {
        let r = arena.check(tagged(offset, 0x2a), size);
        assert_eq!(r.is_ok(), ok, "access of {size} at +{offset}");
        if !ok {
            assert_eq!(r, Err(BadAccess::Poisoned));
        }
    }
    // The wrong tag sees nothing; the kernel tag sees everything, even freed memory.
    assert_eq!(arena.check(tagged(32, 0x2b), 1), Err(BadAccess::Poisoned));
    assert!(arena.check(tagged(0, KASAN_TAG_KERNEL), 4096).is_ok());
    assert!(arena.accessible(tagged(40, 0x2a)));
    assert!(!arena.accessible(tagged(40, 0x2b)));
    assert!(arena.accessible(tagged(0, KASAN_TAG_KERNEL)));
}

#[test]
fn edge_cases_follow_upstream() {
    let arena = TagArena::new(0x11);
    // Empty accesses are valid anywhere, even without metadata.
    assert!(arena.check(0x10, 0).is_ok());
    // A wrapping range is an overflow before anything else.
    assert_eq!(
        arena.check(tagged(0, 0x11), usize::MAX),
        Err(BadAccess::Overflow)
    );
    // An address below the shadow region (here: outside the arena).
    assert_eq!(
        arena.check(set_tag(0x1000, 0x11) as usize, 1),
        Err(BadAccess::NoMetadata)
    );
    assert!(!arena.accessible(set_tag(0x1000, 0x11) as usize));
    // Misaligned requests are refused and change nothing.
    assert_eq!(
        arena.poison(tagged(8, 0x11), 16, 0xfe),
        Err(PoisonError::UnalignedAddr)
    );
    assert_eq!(
        arena.poison(tagged(16, 0x11), 8, 0xfe),
        Err(PoisonError::UnalignedSize)
    );
    assert_eq!(
        arena.unpoison(tagged(4, 0x22), 16),
        Err(PoisonError::UnalignedAddr)
    );
    assert!((0..GRANULES).all(|g| arena.tag(g) == 0x11));
    // poison() drops the pointer's tag before computing the shadow address.
    arena
        .poison(tagged(16, 0x77), 32, KASAN_TAG_INVALID)
        .unwrap();
    assert_eq!(
        (0..4).map(|g| arena.tag(g)).collect::<Vec<_>>(),
        [0x11, 0xfe, 0xfe, 0x11]
    );
}

#[test]
fn report_walks() {
    let arena = TagArena::new(KASAN_TAG_INVALID);
    arena.unpoison(tagged(0, 0x05), 48).unwrap();
    // The first granule whose tag differs, untagged.
    assert_eq!(arena.first_bad(tagged(0, 0x05), 64), BASE + 48);
    assert_eq!(arena.first_bad(tagged(0, 0x06), 64), BASE);
    // No bad granule: the walk ends at or past the end.
    assert!(arena.first_bad(tagged(8, 0x05), 16) >= BASE + 24);
    // Outside the shadow: the untagged address itself.
    assert_eq!(arena.first_bad(set_tag(0x1000, 5) as usize, 8), 0x1000);
    // Allocated size: up to the first invalid granule, 0 when freed, all when none.
    assert_eq!(arena.alloc_size(BASE, 64), 48);
    assert_eq!(arena.alloc_size(BASE, 40), 40);
    assert_eq!(arena.alloc_size(BASE + 64, 64), 0);
}

/// Random poison / unpoison / check sequences against a model with one tag per byte.
#[test]
fn matches_byte_model() {
    let arena = TagArena::new(KASAN_TAG_INVALID);
    let mut model = vec![KASAN_TAG_INVALID; GRANULES * SW_TAGS_GRANULE_SIZE];
    let mut rng = Rng(0x5eed_7a65);
    for _ in 0..20_000 {
        let granule = rng.below(GRANULES);
        let offset = granule * SW_TAGS_GRANULE_SIZE;
        let room = model.len() - offset;
        match rng.below(3) {
            0 => {
                let tag = rng.below(KASAN_TAG_MAX as usize + 1) as u8;
                let size = 1 + rng.below(room.min(100));
                arena.unpoison(tagged(offset, tag), size).unwrap();
                let end = (offset + round_up_granule(size)).min(model.len());
                model[offset..end].fill(tag);
            }
            1 => {
                let size = round_up_granule(rng.below(room.min(64))).min(room);
                arena
                    .poison(tagged(offset, 0x33), size, KASAN_TAG_INVALID)
                    .unwrap();
                model[offset..offset + size].fill(KASAN_TAG_INVALID);
            }
            _ => {
                let start = rng.below(model.len());
                let size = 1 + rng.below((model.len() - start).min(40));
                let tag = model[start];
                let expect = model[start..start + size].iter().all(|&t| t == tag);
                let r = arena.check(tagged(start, tag), size);
                assert_eq!(r.is_ok(), expect, "access of {size} at +{start}");
                if !expect {
                    let bad = arena.first_bad(tagged(start, tag), size);
                    let first = (start..start + size).find(|&b| model[b] != tag).unwrap();
                    // The walk steps by granules from the unaligned start.
                    assert!(
                        bad - BASE <= first + SW_TAGS_GRANULE_SIZE,
                        "{bad:#x} vs {first}"
                    );
                    if bad - BASE < start + size {
                        assert_ne!(model[bad - BASE], tag, "{bad:#x} is not bad");
                    }
                }
            }
        }
    }
}
