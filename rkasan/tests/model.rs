// SPDX-License-Identifier: GPL-2.0

//! Property tests of `shadow` + `check` against a byte-per-byte reference model.
//!
//! The model keeps one `accessible` flag per byte of a small arena, plus the shadow byte it
//! expects KASAN to have written. Random sequences of `poison()`, `unpoison()`,
//! `poison_last_granule()` and checks are applied to both; every check of every size (the
//! constant-size fast paths and the `_n` path) must agree with "all bytes accessible", and
//! `find_first_bad_addr()` with a granule-by-granule scan of the model.

use rkasan::check::{
    byte_accessible, check_access, check_range, fast_path, find_first_bad_addr, memory_is_poisoned,
    memory_is_poisoned_1, memory_is_poisoned_16, memory_is_poisoned_2_4_8, memory_is_poisoned_n,
    partial_granule_accepts, BadAccess, FastPath,
};
use rkasan::shadow::{
    poison, poison_last_granule, unpoison, Arena, PoisonError, Shadow, KASAN_ALLOCA_LEFT,
    KASAN_ALLOCA_RIGHT, KASAN_GLOBAL_REDZONE, KASAN_GRANULE_SIZE, KASAN_PAGE_FREE,
    KASAN_PAGE_REDZONE, KASAN_SLAB_FREE, KASAN_SLAB_FREE_META, KASAN_SLAB_REDZONE,
    KASAN_STACK_LEFT, KASAN_STACK_MID, KASAN_STACK_PARTIAL, KASAN_STACK_RIGHT,
    KASAN_VMALLOC_INVALID,
};

const G: usize = KASAN_GRANULE_SIZE;

/// Every generic shadow value that marks a whole granule inaccessible.
const POISON_VALUES: [u8; 14] = [
    KASAN_PAGE_FREE,
    KASAN_PAGE_REDZONE,
    KASAN_SLAB_REDZONE,
    KASAN_SLAB_FREE,
    KASAN_SLAB_FREE_META,
    KASAN_GLOBAL_REDZONE,
    KASAN_VMALLOC_INVALID,
    KASAN_STACK_LEFT,
    KASAN_STACK_MID,
    KASAN_STACK_RIGHT,
    KASAN_STACK_PARTIAL,
    KASAN_ALLOCA_LEFT,
    KASAN_ALLOCA_RIGHT,
    0x80,
];

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The reference: what each byte's accessibility and each granule's shadow should be.
struct Model {
    base: usize,
    accessible: Vec<bool>,
    shadow: Vec<u8>,
}

impl Model {
    fn new(base: usize, granules: usize) -> Self {
        Self {
            base,
            accessible: vec![true; granules * G],
            shadow: vec![0; granules],
        }
    }

    fn poison(&mut self, addr: usize, size: usize, value: u8) {
        let off = addr - self.base;
        for b in off..off + size {
            // Shadow 0 is "unpoison"; every other value used here is negative.
            self.accessible[b] = value == 0;
        }
        for g in off / G..(off + size) / G {
            self.shadow[g] = value;
        }
    }

    fn poison_last_granule(&mut self, addr: usize, size: usize) {
        let k = size % G;
        if k != 0 {
            let g = (addr - self.base + size) / G;
            for i in 0..G {
                self.accessible[g * G + i] = i < k;
            }
            self.shadow[g] = k as u8;
        }
    }

    fn unpoison(&mut self, addr: usize, size: usize) {
        self.poison(addr, size.div_ceil(G) * G, 0);
        self.poison_last_granule(addr, size);
    }

    fn is_bad(&self, addr: usize, size: usize) -> bool {
        let off = addr - self.base;
        self.accessible[off..off + size].iter().any(|a| !a)
    }

    fn granule_fully_accessible(&self, addr: usize) -> bool {
        let g = (addr - self.base) / G;
        self.accessible[g * G..(g + 1) * G].iter().all(|a| *a)
    }

    fn first_bad_addr(&self, addr: usize, size: usize) -> usize {
        let mut p = addr;
        while p < addr + size && self.granule_fully_accessible(p) {
            p += G;
        }
        p
    }
}

fn shadow_of(arena: &Arena<'_>, granules: usize) -> Vec<u8> {
    (0..granules)
        .map(|g| arena.shadow_byte(arena.start() + g * G).unwrap())
        .collect()
}

/// Checks every check-path function on `addr..addr + size` against the model.
fn check_against_model(arena: &Arena<'_>, model: &Model, addr: usize, size: usize) {
    assert!(addr >= arena.start() && addr + size <= arena.end());
    let expect_bad = size != 0 && model.is_bad(addr, size);
    // SAFETY: `addr..addr + size` is inside the arena, whose shadow is readable.
    unsafe {
        let got = check_range(arena, addr, size);
        assert_eq!(
            got,
            if expect_bad {
                Err(BadAccess::Poisoned)
            } else {
                Ok(())
            },
            "check_range({:#x}, {size}) on shadow {:02x?}",
            addr - arena.start(),
            model.shadow
        );
        if size == 0 {
            return;
        }
        assert_eq!(memory_is_poisoned_n(arena, addr, size), expect_bad);
        match size {
            1 => assert_eq!(memory_is_poisoned_1(arena, addr), expect_bad),
            2 | 4 | 8 => assert_eq!(memory_is_poisoned_2_4_8(arena, addr, size), expect_bad),
            16 => assert_eq!(memory_is_poisoned_16(arena, addr), expect_bad),
            _ => {}
        }
        // `find_first_bad_addr()` may step one granule past the range: stay inside the arena.
        if addr + size + G <= arena.end() {
            assert_eq!(
                find_first_bad_addr(arena, addr, size),
                model.first_bad_addr(addr, size)
            );
        }
        let g_start = addr - (addr - arena.start()) % G;
        assert_eq!(
            byte_accessible(arena, addr),
            model.accessible[g_start - arena.start()]
        );
    }
}

/// One constant-size access, as `__asan_load<N>()` checks it: the inline fast path accepts
/// exactly the accesses inside granules whose shadow is 0 (one, or two whole ones for 16
/// bytes), hands on exactly those inside one granule with non-zero shadow, where the partial
/// granule check agrees with the model, and the exact check agrees with the model.
fn check_constant_size<const N: usize>(arena: &Arena<'_>, model: &Model, addr: usize) {
    if arena.end() - addr < N {
        return;
    }
    let bad = model.is_bad(addr, N);
    let g = (addr - arena.start()) / G;
    let offset = (addr - arena.start()) % G;
    let expect = if N == 16 {
        if offset == 0 && model.shadow[g] == 0 && model.shadow[g + 1] == 0 {
            FastPath::Good
        } else {
            FastPath::Undecided
        }
    } else if offset + N > G {
        FastPath::Undecided
    } else if model.shadow[g] == 0 {
        FastPath::Good
    } else {
        FastPath::Partial(model.shadow[g] as i8)
    };
    // SAFETY: the access is inside the arena.
    unsafe {
        let fast = fast_path::<_, N>(arena, addr);
        assert_eq!(
            fast, expect,
            "fast path of {N} bytes at {offset} on shadow {:02x?}",
            model.shadow
        );
        match fast {
            FastPath::Good => assert!(!bad, "the fast path accepted a bad access"),
            FastPath::Partial(k) => assert_eq!(partial_granule_accepts::<N>(addr, k), !bad),
            FastPath::Undecided => {}
        }
        assert_eq!(check_access::<_, N>(arena, addr).is_err(), bad);
        assert_eq!(memory_is_poisoned::<_, N>(arena, addr), bad);
    }
}

/// The constant-size checks of every `__asan_load<N>()` size at `addr`.
fn check_constant_sizes(arena: &Arena<'_>, model: &Model, addr: usize) {
    check_constant_size::<1>(arena, model, addr);
    check_constant_size::<2>(arena, model, addr);
    check_constant_size::<4>(arena, model, addr);
    check_constant_size::<8>(arena, model, addr);
    check_constant_size::<16>(arena, model, addr);
}

#[test]
fn random_sequences_match_model() {
    const GRANULES: usize = 48;
    const BASE: usize = 0x7000_0000;
    const SEQUENCES: usize = 500;
    const OPS: usize = 240;

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut cases = 0usize;

    for _ in 0..SEQUENCES {
        let mut buf = vec![0u8; GRANULES];
        let arena = Arena::new(BASE, &mut buf).unwrap();
        let mut model = Model::new(BASE, GRANULES);
        let end = arena.end();

        for _ in 0..OPS {
            cases += 1;
            match rng.below(10) {
                0 | 1 => {
                    // poison(): mostly valid, sometimes misaligned.
                    let g = rng.below(GRANULES);
                    let k = rng.below(GRANULES - g + 1);
                    let value = if rng.below(8) == 0 {
                        0
                    } else {
                        POISON_VALUES[rng.below(POISON_VALUES.len())]
                    };
                    let (mut addr, mut size) = (BASE + g * G, k * G);
                    let mut expect = Ok(());
                    match rng.below(10) {
                        0 if g < GRANULES - 1 && k > 0 => {
                            addr += 1 + rng.below(G - 1);
                            size -= G;
                            expect = Err(PoisonError::UnalignedAddr);
                        }
                        1 if k > 0 => {
                            size -= 1 + rng.below(G - 1);
                            expect = Err(PoisonError::UnalignedSize);
                        }
                        _ => {}
                    }
                    let before = shadow_of(&arena, GRANULES);
                    // SAFETY: the range is inside the arena.
                    let got = unsafe { poison(&arena, addr, size, value) };
                    assert_eq!(got, expect);
                    if got.is_ok() {
                        model.poison(addr, size, value);
                    } else {
                        assert_eq!(shadow_of(&arena, GRANULES), before);
                    }
                }
                2 | 3 => {
                    // unpoison(): any size whose rounded-up range fits.
                    let g = rng.below(GRANULES);
                    let size = rng.below((GRANULES - g) * G + 1);
                    let addr = BASE + g * G;
                    if rng.below(12) == 0 && size > 0 && g < GRANULES - 1 {
                        let before = shadow_of(&arena, GRANULES);
                        let bad = addr + 1 + rng.below(G - 1);
                        // SAFETY: the range is inside the arena.
                        let got = unsafe { unpoison(&arena, bad, size.min(G)) };
                        assert_eq!(got, Err(PoisonError::UnalignedAddr));
                        assert_eq!(shadow_of(&arena, GRANULES), before);
                    } else {
                        // SAFETY: the rounded-up range is inside the arena.
                        unsafe { unpoison(&arena, addr, size) }.unwrap();
                        model.unpoison(addr, size);
                    }
                }
                4 => {
                    // poison_last_granule(): the granule of `addr + size` must be in the arena.
                    let g = rng.below(GRANULES);
                    let size = rng.below((GRANULES - g) * G);
                    let addr = BASE + g * G;
                    // SAFETY: the shadow of `addr + size` is inside the arena.
                    unsafe { poison_last_granule(&arena, addr, size) };
                    model.poison_last_granule(addr, size);
                }
                _ => {
                    // A check: random alignment, a size from the interesting set or random.
                    let addr = BASE + rng.below(GRANULES * G);
                    let room = end - addr;
                    let size = match rng.below(8) {
                        0 => 0,
                        1 => 1,
                        2 => [2, 4, 8][rng.below(3)],
                        3 => 16,
                        4 => rng.below(room.min(40) + 1),
                        _ => rng.below(room + 1),
                    }
                    .min(room);
                    check_against_model(&arena, &model, addr, size);
                    check_constant_sizes(&arena, &model, addr);
                    cases += 6;
                }
            }
            assert_eq!(shadow_of(&arena, GRANULES), model.shadow);
        }
    }
    eprintln!("random_sequences_match_model: {cases} generated cases");
    assert!(cases >= 100_000);
}

/// Every combination of 4 granules' shadow from a representative set, every alignment within
/// the first granule, sizes 1, 2, 4, 8, 16 and every N up to 24.
#[test]
fn exhaustive_small_states() {
    const VALUES: [u8; 10] = [0, 1, 2, 3, 4, 5, 6, 7, KASAN_SLAB_REDZONE, KASAN_SLAB_FREE];
    const BASE: usize = 0x5000;
    let mut buf = [0u8; 4];
    let arena = Arena::new(BASE, &mut buf).unwrap();
    let mut cases = 0usize;

    for state in 0..VALUES.len().pow(4) {
        let mut model = Model::new(BASE, 4);
        let mut s = state;
        for g in 0..4 {
            let v = VALUES[s % VALUES.len()];
            s /= VALUES.len();
            let ptr = arena.mem_to_shadow(BASE + g * G);
            // SAFETY: the granule is inside the arena.
            unsafe { ptr.write(v) };
            model.shadow[g] = v;
            let k = if v == 0 {
                G
            } else if v < 8 {
                v as usize
            } else {
                0
            };
            for i in 0..G {
                model.accessible[g * G + i] = i < k;
            }
        }
        for offset in 0..G {
            let addr = BASE + offset;
            for size in 0..=24 {
                check_against_model(&arena, &model, addr, size);
                cases += 1;
            }
            check_constant_sizes(&arena, &model, addr);
        }
    }
    eprintln!("exhaustive_small_states: {cases} cases");
}

#[test]
fn size_zero_is_always_fine() {
    let mut buf = [KASAN_SLAB_FREE; 4];
    let arena = Arena::new(0x5000, &mut buf).unwrap();
    for addr in [0, 8, 0x5000, 0x5003, 0x5020, usize::MAX, usize::MAX - 7] {
        // SAFETY: a zero-sized check reads nothing.
        assert_eq!(unsafe { check_range(&arena, addr, 0) }, Ok(()));
    }
}

#[test]
fn wrapping_ranges_are_overflow() {
    let mut buf = [0u8; 4];
    let arena = Arena::new(0x5000, &mut buf).unwrap();
    for (addr, size) in [
        (usize::MAX, 1),
        (usize::MAX - 7, 9),
        (usize::MAX - 15, 17),
        (0x5000, usize::MAX),
        (0x5008, usize::MAX - 6),
        (1, usize::MAX),
        (0x5010, (-2isize) as usize),
    ] {
        // SAFETY: a wrapping range is rejected before any shadow is read.
        let got = unsafe { check_range(&arena, addr, size) };
        assert_eq!(got, Err(BadAccess::Overflow));
        // SAFETY: with a wrapping range, only the shadow of `addr` (in the arena or not
        // covered) is looked at.
        let first = unsafe { find_first_bad_addr(&arena, addr, size) };
        assert_eq!(first, addr, "{addr:#x} + {size:#x}");
    }
    // Constant sizes: the fast path declines without reading any shadow, the exact check
    // reports the overflow, up to the last address that does not wrap.
    fn top<const N: usize>(arena: &Arena<'_>) {
        for addr in usize::MAX - N - 8..=usize::MAX {
            let wraps = addr.checked_add(N).is_none();
            // SAFETY: outside the arena, nothing is read.
            unsafe {
                assert_eq!(fast_path::<_, N>(arena, addr), FastPath::Undecided);
                let expect = if wraps {
                    BadAccess::Overflow
                } else {
                    BadAccess::NoMetadata
                };
                assert_eq!(check_access::<_, N>(arena, addr), Err(expect), "{addr:#x}");
            }
        }
    }
    top::<1>(&arena);
    top::<2>(&arena);
    top::<4>(&arena);
    top::<8>(&arena);
    top::<16>(&arena);
    // The largest non-wrapping ranges are not overflows.
    // SAFETY: outside the arena, nothing is read.
    unsafe {
        assert_eq!(check_range(&arena, usize::MAX, 0), Ok(()));
        assert_eq!(
            check_range(&arena, usize::MAX - 1, 1),
            Err(BadAccess::NoMetadata)
        );
        assert_eq!(
            check_range(&arena, 0, usize::MAX),
            Err(BadAccess::NoMetadata)
        );
    }
}

#[test]
fn addresses_without_shadow() {
    let mut buf = [0u8; 4];
    let arena = Arena::new(0x5000, &mut buf).unwrap();
    for addr in [0, 1, 0x4fff, 0x5020, 0xffff_8000_0000_0000] {
        for size in [1, 2, 4, 8, 16, 3, 100] {
            // SAFETY: outside the arena, nothing is read.
            let got = unsafe { check_range(&arena, addr, size) };
            assert_eq!(got, Err(BadAccess::NoMetadata));
        }
        // SAFETY: as above.
        unsafe {
            assert_eq!(fast_path::<_, 8>(&arena, addr), FastPath::Undecided);
            assert_eq!(
                check_access::<_, 8>(&arena, addr),
                Err(BadAccess::NoMetadata)
            );
        }
        // SAFETY: as above.
        assert_eq!(unsafe { find_first_bad_addr(&arena, addr, 4) }, addr);
    }
}

#[test]
fn word_scan_of_long_ranges() {
    // Long accessible ranges with a single bad byte at every position: exercises the prefix,
    // word and tail stages of `memory_is_nonzero()`.
    const GRANULES: usize = 96;
    const BASE: usize = 0x10_0000;
    let mut buf = vec![0u8; GRANULES];
    let arena = Arena::new(BASE, &mut buf).unwrap();
    let mut model = Model::new(BASE, GRANULES);
    for bad in 0..GRANULES * G {
        let addr = BASE + bad;
        // SAFETY: inside the arena.
        unsafe { poison(&arena, addr & !7, G, KASAN_SLAB_REDZONE) }.unwrap();
        model.poison(addr & !7, G, KASAN_SLAB_REDZONE);
        for start in [0, 1, 7, 8, 9, 63, 64, 65, 130, 200] {
            let start = BASE + start;
            for size in [17, 31, 64, 100, 129, 300, 700] {
                if start + size <= arena.end() {
                    check_against_model(&arena, &model, start, size);
                }
            }
        }
        // SAFETY: inside the arena.
        unsafe { unpoison(&arena, addr & !7, G) }.unwrap();
        model.unpoison(addr & !7, G);
    }
}
