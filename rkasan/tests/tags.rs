// SPDX-License-Identifier: GPL-2.0

//! Host tests of `rkasan::tags`.

use rkasan::tags::*;

mod common;
use common::Rng;

#[test]
fn tag_constants_match_upstream() {
    assert_eq!(KASAN_TAG_KERNEL, 0xFF);
    assert_eq!(KASAN_TAG_INVALID, 0xFE);
    assert_eq!(KASAN_TAG_MAX, 0xFD);
    assert_eq!(KASAN_TAG_MIN_SW, 0x00);
    assert_eq!(KASAN_TAG_MIN_HW, 0xF0);
    assert_eq!(TAG_SHIFT, 56);
    // __MTE_TAG_INCL = GENMASK(0xD, 0x0); KERNEL_GCR_EL1_EXCL excludes 0xE and 0xF.
    assert_eq!(MTE_TAG_INCL, 0x3FFF);
    assert_eq!(KERNEL_GCR_EL1_EXCL, 0xC000);
}

#[test]
fn sw_prng_is_the_upstream_lcg() {
    // From state 0: 1664525 * s + 1013904223 (mod 2^32), tag = state % 254.
    let expected = [
        (0x3c6e_f35f_u32, 231u8),
        (0x4750_2932, 4),
        (0xd1cc_f6e9, 165),
        (0xaaf9_5334, 34),
        (0x6252_e503, 49),
    ];
    let mut state = 0u32;
    for (s, t) in expected {
        assert_eq!(sw_random_tag(&mut state), t);
        assert_eq!(state, s);
    }
    assert_eq!(
        sw_prng_next(u32::MAX),
        1_013_904_223u32.wrapping_sub(1_664_525)
    );
    assert_eq!(sw_tag_from_state(u32::MAX), 15);
    assert_eq!(sw_tag_from_state(253), 0xFD);
    assert_eq!(sw_tag_from_state(254), 0);
}

#[test]
fn sw_random_tag_covers_range_never_reserved() {
    for seed in [0u32, 1, 0xdead_beef, u32::MAX] {
        let mut state = seed;
        let mut seen = [0u32; 256];
        for _ in 0..200_000 {
            let t = sw_random_tag(&mut state);
            seen[usize::from(t)] += 1;
        }
        for (tag, &n) in seen.iter().enumerate() {
            if tag <= usize::from(KASAN_TAG_MAX) {
                assert!(n > 0, "seed {seed:#x}: tag {tag:#x} never drawn");
            } else {
                assert_eq!(n, 0, "seed {seed:#x}: reserved tag {tag:#x} drawn");
            }
        }
    }
}

#[test]
fn sw_tag_from_state_never_reserved_on_sampled_states() {
    let mut rng = Rng(7);
    for _ in 0..1_000_000 {
        let t = sw_tag_from_state(rng.next() as u32);
        assert!(t <= KASAN_TAG_MAX);
    }
}

#[test]
fn hw_random_tag_covers_range_never_reserved() {
    let mut seen = [false; 256];
    let mut rng = Rng(42);
    for i in 0..10_000u64 {
        let r = if i < 64 { i } else { rng.next() };
        let t = hw_random_tag(r);
        assert!((KASAN_TAG_MIN_HW..=KASAN_TAG_MAX).contains(&t), "{t:#x}");
        seen[usize::from(t)] = true;
    }
    for t in KASAN_TAG_MIN_HW..=KASAN_TAG_MAX {
        assert!(seen[usize::from(t)], "tag {t:#x} never drawn");
    }
    assert_eq!(hw_random_tag(0), 0xF0);
    assert_eq!(hw_random_tag(13), 0xFD);
    assert_eq!(hw_random_tag(14), 0xF0);
    assert_eq!(hw_random_tag(u64::MAX), 0xF0 | (u64::MAX % 14) as u8);
}

#[test]
fn irg_model() {
    // Nothing excluded: any of the 16 tags.
    for r in 0..32u64 {
        assert_eq!(u64::from(irg_tag(r, 0)), r % 16);
    }
    // Everything excluded: 0, as the architecture specifies.
    assert_eq!(irg_tag(5, 0xFFFF), 0);
    // Only tag 7 allowed.
    for r in 0..10 {
        assert_eq!(irg_tag(r, !(1 << 7)), 7);
    }
    // Never an excluded tag.
    let mut rng = Rng(3);
    for _ in 0..10_000 {
        let excl = rng.next() as u16;
        if excl == 0xFFFF {
            continue;
        }
        let t = irg_tag(rng.next(), excl);
        assert!(t < 16);
        assert_eq!(excl & (1 << t), 0);
    }
    assert_eq!(mte_get_ptr_tag(0x0300_0000_0000_0000), 0xF3);
    // The top nibble of the address does not matter (0xF0 | ...).
    assert_eq!(mte_get_ptr_tag(0xA300_0000_1234_0000), 0xF3);
}

#[test]
fn get_set_reset_round_trips() {
    let kernel = 0xffff_8000_1234_5678u64;
    let user = 0x0000_7fff_dead_beefu64;
    assert_eq!(get_tag(kernel), 0xff);
    assert_eq!(get_tag(user), 0x00);
    assert_eq!(set_tag(kernel, 0x3a), 0x3aff_8000_1234_5678);
    assert_eq!(set_tag(user, 0x5a), 0x5a00_7fff_dead_beef);
    // __tag_reset() sign-extends bit 55.
    assert_eq!(reset_tag(0x3aff_8000_1234_5678), kernel);
    assert_eq!(reset_tag(0x5a00_7fff_dead_beef), user);
    assert_eq!(reset_tag(0x0080_0000_0000_0000), 0xff80_0000_0000_0000);
    assert_eq!(reset_tag(0xff7f_ffff_ffff_ffff), 0x007f_ffff_ffff_ffff);
    // untagged_addr() leaves kernel pointers (bit 55 set) alone, tag included.
    assert_eq!(untagged_addr(0x3aff_8000_1234_5678), 0x3aff_8000_1234_5678);
    assert_eq!(untagged_addr(0x5a00_7fff_dead_beef), user);

    let mut rng = Rng(99);
    for _ in 0..100_000 {
        let a = rng.next();
        let t = rng.next() as u8;
        let tagged = set_tag(a, t);
        assert_eq!(get_tag(tagged), t);
        assert_eq!(tagged & ((1 << 56) - 1), a & ((1 << 56) - 1));
        assert_eq!(set_tag(tagged, get_tag(a)), a);
        assert_eq!(set_tag(a, get_tag(a)), a);
        assert_eq!(reset_tag(tagged), reset_tag(a));
        let r = reset_tag(a);
        assert_eq!(r & ((1 << 56) - 1), a & ((1 << 56) - 1));
        let expected_top = if a & (1 << 55) != 0 { 0xff } else { 0x00 };
        assert_eq!(get_tag(r), expected_top);
        assert_eq!(reset_tag(r), r);
        let u = untagged_addr(a);
        if a & (1 << 55) != 0 {
            assert_eq!(u, a);
        } else {
            assert_eq!(u, r);
        }
    }
}

#[test]
fn pointer_variants_keep_address_bits() {
    let mut x = 5u64;
    let p: *mut u64 = &mut x;
    let tagged = set_tag_ptr(p, 0xab);
    assert_eq!(get_tag_ptr(tagged), 0xab);
    assert_eq!(tagged.addr() as u64 & ((1 << 56) - 1), p.addr() as u64);
    // A host (user) pointer has bit 55 clear: resetting gives it back.
    let back = reset_tag_ptr(tagged);
    assert_eq!(back, p);
    // SAFETY: `back` is `p`, derived from `&mut x`, with its address and provenance unchanged.
    assert_eq!(unsafe { *back }, 5);
}

#[test]
fn assign_tag_follows_common_c() {
    let random = || 0x42u8;
    let never = || -> u8 { panic!("kasan_random_tag() must not be called") };
    // Generic KASAN: always 0xff.
    assert_eq!(assign_tag(true, false, false, 0x11, never), 0xff);
    assert_eq!(assign_tag(true, true, true, 0x11, never), 0xff);
    // No ctor, not SLAB_TYPESAFE_BY_RCU: KERNEL at slab creation, random at allocation.
    assert_eq!(
        assign_tag(false, false, true, 0x11, never),
        KASAN_TAG_KERNEL
    );
    assert_eq!(assign_tag(false, false, false, 0x11, random), 0x42);
    // ctor or SLAB_TYPESAFE_BY_RCU: random at slab creation, kept at allocation.
    assert_eq!(assign_tag(false, true, true, 0x11, random), 0x42);
    assert_eq!(assign_tag(false, true, false, 0x11, never), 0x11);
}

#[test]
fn sample_page_alloc_follows_kasan_h() {
    let mut skip = 0isize;
    // Sampling disabled.
    for order in 0..10 {
        assert!(sample_page_alloc(&mut skip, 1, 3, order));
    }
    assert_eq!(skip, 0);
    // Orders below the sampling order are always (un)poisoned.
    assert!(sample_page_alloc(&mut skip, 4, 3, 2));
    assert_eq!(skip, 0);
    // Every 4th allocation of order >= 3, starting with the first.
    let got: Vec<bool> = (0..9)
        .map(|_| sample_page_alloc(&mut skip, 4, 3, 3))
        .collect();
    assert_eq!(
        got,
        [true, false, false, false, true, false, false, false, true]
    );
    // Large samples do not overflow.
    let mut skip = 0isize;
    assert!(sample_page_alloc(&mut skip, isize::MAX as usize, 0, 0));
    assert_eq!(skip, isize::MAX - 1);
    assert!(!sample_page_alloc(&mut skip, isize::MAX as usize, 0, 0));
}

#[test]
fn alloc_size_counts_granules_up_to_the_first_invalid_one() {
    let tags = [0x12u8, 0x12, 0x12, KASAN_TAG_INVALID, 0x12];
    assert_eq!(alloc_size(|i| tags[i], 16, 64), 48);
    assert_eq!(alloc_size(|i| tags[i], 16, 40), 40);
    assert_eq!(alloc_size(|i| tags[i + 3], 16, 64), 0);
    assert_eq!(alloc_size(|_| unreachable!(), 16, 0), 0);
    // Granules past the object are never read.
    let mut reads = 0;
    assert_eq!(
        alloc_size(
            |_| {
                reads += 1;
                0x12
            },
            16,
            33
        ),
        33
    );
    assert_eq!(reads, 3);
}
