// SPDX-License-Identifier: GPL-2.0

//! Host tests of `rkasan::stack_ring`: records and the report's walk, sequential against a
//! model and concurrent.

use std::sync::atomic::{AtomicU64, Ordering};

use rkasan::stack_ring::*;
use rkasan::tags::set_tag;

mod common;
use common::Rng;

/// A stand-in for `struct kasan_track`: pid and stack handle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Track {
    pid: u32,
    stack: u32,
}

const OBJ: usize = 0xffff_0000_0040_0000;

fn ring(n: usize) -> Vec<Entry<Track>> {
    (0..n).map(|_| Entry::default()).collect()
}

fn save(
    ring: &[Entry<Track>],
    pos: &AtomicU64,
    obj: usize,
    size: usize,
    stack: u32,
    free: bool,
) -> Track {
    let entry = claim(ring, pos).expect("non-empty ring");
    // SAFETY: Just claimed.
    unsafe { record(entry, obj, size, Track { pid: 1, stack }, free) }
}

fn walk(ring: &[Entry<Track>], pos: &AtomicU64, obj: usize, tag: u8, size: usize) -> Found<Track> {
    // SAFETY: No writer runs.
    unsafe { find(ring, pos.load(Ordering::SeqCst), obj, tag, size) }
}

#[test]
fn report_finds_last_alloc_and_free() {
    let r = ring(8);
    let pos = AtomicU64::new(0);
    let p = set_tag(OBJ as u64, 0x2a) as usize;
    save(&r, &pos, p, 64, 10, false);
    save(&r, &pos, set_tag(OBJ as u64, 0x2b) as usize, 64, 11, false); // another tag
    save(&r, &pos, p, 128, 12, false); // another cache
    let f = walk(&r, &pos, OBJ, 0x2a, 64);
    assert_eq!(f.alloc.map(|t| t.stack), Some(10));
    assert_eq!(f.free, None);
    assert_eq!(bug_type(&f, p, 1), TagBugType::SlabOutOfBounds);

    save(&r, &pos, p, 64, 13, true);
    let f = walk(&r, &pos, OBJ, 0x2a, 64);
    assert_eq!(
        (f.alloc.map(|t| t.stack), f.free.map(|t| t.stack)),
        (Some(10), Some(13))
    );
    assert_eq!(bug_type(&f, p, 1), TagBugType::SlabUseAfterFree);

    // A double free: the walk gives up at the second free, without the allocation.
    save(&r, &pos, p, 64, 14, true);
    let f = walk(&r, &pos, OBJ, 0x2a, 64);
    assert_eq!((f.alloc, f.free.map(|t| t.stack)), (None, Some(14)));

    // Nothing recorded for this tag: the common bug types.
    let f = walk(&r, &pos, OBJ, 0x33, 64);
    assert_eq!(f, Found::default());
    assert_eq!(bug_type(&f, p, 8), TagBugType::InvalidAccess);
    assert_eq!(bug_type(&f, p, usize::MAX), TagBugType::OutOfBounds);
    assert_eq!(TagBugType::InvalidAccess.name(), b"invalid-access\0");
}

#[test]
fn old_records_are_overwritten_and_returned() {
    let r = ring(4);
    let pos = AtomicU64::new(0);
    for stack in 1..=4 {
        assert_eq!(
            save(&r, &pos, OBJ + stack as usize * 64, 64, stack, false).stack,
            0
        );
    }
    // The fifth record replaces the first, whose track comes back for stack_depot_put().
    assert_eq!(save(&r, &pos, OBJ, 64, 5, false).stack, 1);
    assert_eq!(walk(&r, &pos, OBJ + 64, 0xff, 64).alloc, None);
    assert_eq!(
        walk(&r, &pos, OBJ, 0xff, 64).alloc.map(|t| t.stack),
        Some(5)
    );
    // A busy slot is skipped by writers.
    let busy = claim(&r, &pos).unwrap();
    let next = claim(&r, &pos).unwrap();
    assert!(!std::ptr::eq(busy, next));
    // An empty ring (stack collection off) has no slot, and its walk finds nothing.
    assert!(claim(&ring(0), &pos).is_none());
    assert_eq!(walk(&ring(0), &pos, OBJ, 0, 64), Found::default());
}

/// Random alloc/free histories against a model: the walk returns the newest matching records.
#[test]
fn walk_matches_model() {
    let mut rng = Rng(0x57ac_41a6);
    for _ in 0..200 {
        let n = 1 + rng.below(32);
        let r = ring(n);
        let pos = AtomicU64::new(rng.next() >> 8);
        let mut log: Vec<(usize, usize, u32, bool)> = Vec::new();
        for stack in 0..rng.below(80) as u32 {
            let obj = set_tag((OBJ + rng.below(3) * 64) as u64, rng.below(3) as u8) as usize;
            let size = 64 << rng.below(2);
            let free = rng.below(2) == 0;
            save(&r, &pos, obj, size, stack, free);
            log.push((obj, size, stack, free));
        }
        let obj = OBJ + rng.below(3) * 64;
        let tag = rng.below(3) as u8;
        let f = walk(&r, &pos, obj, tag, 64);
        // Model: the last `n` records, newest first.
        let mut want = Found::default();
        for &(p, size, stack, free) in log.iter().rev().take(n) {
            if want.alloc.is_some() && want.free.is_some() {
                break;
            }
            if p != set_tag(obj as u64, tag) as usize || size != 64 {
                continue;
            }
            let slot = if free {
                &mut want.free
            } else {
                &mut want.alloc
            };
            if slot.is_some() {
                break;
            }
            *slot = Some(Track { pid: 1, stack });
            want.free_first.get_or_insert(free);
        }
        assert_eq!(f, want);
    }
}

/// Writers on several threads: every record lands in its own slot, none is lost or torn.
#[test]
fn concurrent_writers() {
    let r = ring(4096);
    let pos = AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let (r, pos) = (&r, &pos);
            s.spawn(move || {
                for i in 0..1000u32 {
                    let obj = OBJ + (t as usize * 1000 + i as usize) * 64;
                    save(r, pos, obj, 64, t << 16 | i, i % 2 == 1);
                }
            });
        }
    });
    assert_eq!(pos.load(Ordering::SeqCst), 4000);
    for t in 0..4u32 {
        for i in 0..1000u32 {
            let obj = OBJ + (t as usize * 1000 + i as usize) * 64;
            let f = walk(&r, &pos, obj, 0xff, 64);
            let track = if i % 2 == 1 { f.free } else { f.alloc };
            assert_eq!(track.map(|t| t.stack), Some(t << 16 | i));
        }
    }
}
