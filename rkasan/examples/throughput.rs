// SPDX-License-Identifier: GPL-2.0

//! Micro-benchmark of the hot path on an in-memory shadow arena.
//!
//! Run with `cargo run --release -p rkasan --example throughput`. Prints, for `check_range()`
//! with the constant sizes of `__asan_load<N>()` and a range of run-time sizes, the time per
//! check and the checked bytes per ns; and for `poison()` / `unpoison()`, the poisoned bytes of
//! memory per ns. Host numbers only: in the kernel the shadow is reached through
//! `KASAN_SHADOW_OFFSET` and filled with `__memset()`, but the arithmetic is the same.

use std::hint::black_box;
use std::time::{Duration, Instant};

use rkasan::check::{check_access, check_range, fast_path, partial_granule_accepts, FastPath};
use rkasan::shadow::{poison, unpoison, Arena, KASAN_GRANULE_SIZE, KASAN_SLAB_REDZONE};

const BASE: usize = 0x1_0000_0000;
/// 8 MiB of memory described by 1 MiB of shadow.
const SHADOW_BYTES: usize = 1 << 20;
const MEM_BYTES: usize = SHADOW_BYTES * KASAN_GRANULE_SIZE;
const MIN_TIME: Duration = Duration::from_millis(300);

/// Runs `f` (which does `work` operations per call) until `MIN_TIME` has passed; returns the
/// time per operation in ns.
fn measure(work: usize, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < MIN_TIME {
        f();
        calls += 1;
    }
    start.elapsed().as_nanos() as f64 / (calls as f64 * work as f64)
}

/// Addresses spread over the arena, all with room for `size` bytes.
fn addresses(size: usize, count: usize, align: usize) -> Vec<usize> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    (0..count)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let off = (x as usize) % (MEM_BYTES - size);
            BASE + off / align * align
        })
        .collect()
}

/// The check of `__asan_load<N>()`: the inline fast path, then the exact check.
fn check_const<const N: usize>(arena: &Arena<'_>, addrs: &[usize]) -> f64 {
    measure(addrs.len(), || {
        let mut bad = 0usize;
        for &a in addrs {
            let a = black_box(a);
            // SAFETY: every address has room for `N` bytes inside the arena.
            let good = match unsafe { fast_path::<_, N>(arena, a) } {
                FastPath::Good => true,
                FastPath::Partial(k) if partial_granule_accepts::<N>(a, k) => true,
                // SAFETY: As above.
                _ => unsafe { check_access::<_, N>(arena, a) }.is_ok(),
            };
            bad += usize::from(!good);
        }
        black_box(bad);
    })
}

/// `check_range()` with a run-time size, as `__asan_loadN()` / `kasan_check_range()` call it.
fn check_runtime(arena: &Arena<'_>, addrs: &[usize], size: usize) -> f64 {
    measure(addrs.len(), || {
        let mut bad = 0usize;
        for &a in addrs {
            // SAFETY: every address has room for `size` bytes inside the arena.
            bad +=
                usize::from(unsafe { check_range(arena, black_box(a), black_box(size)) }.is_err());
        }
        black_box(bad);
    })
}

fn main() {
    let mut shadow = vec![0u8; SHADOW_BYTES];
    let arena = Arena::new(BASE, &mut shadow).unwrap();
    // Touch every shadow page first, so that no page fault is measured.
    // SAFETY: the whole arena.
    unsafe { unpoison(&arena, BASE, MEM_BYTES) }.unwrap();

    println!("check_range() on accessible memory (8 MiB arena, random addresses):");
    println!("{:>22} {:>10} {:>12}", "size", "ns/check", "bytes/ns");
    let report = |label: String, size: usize, ns: f64| {
        println!("{label:>22} {ns:>10.2} {:>12.2}", size as f64 / ns);
    };
    let n = 4096;
    // Warm-up (CPU frequency, caches), not reported.
    black_box(check_const::<1>(&arena, &addresses(1, n, 1)));
    report(
        "1 (const)".into(),
        1,
        check_const::<1>(&arena, &addresses(1, n, 1)),
    );
    report(
        "2 (const)".into(),
        2,
        check_const::<2>(&arena, &addresses(2, n, 1)),
    );
    report(
        "4 (const)".into(),
        4,
        check_const::<4>(&arena, &addresses(4, n, 1)),
    );
    report(
        "8 (const)".into(),
        8,
        check_const::<8>(&arena, &addresses(8, n, 1)),
    );
    report(
        "8 (const, aligned)".into(),
        8,
        check_const::<8>(&arena, &addresses(8, n, 8)),
    );
    report(
        "16 (const)".into(),
        16,
        check_const::<16>(&arena, &addresses(16, n, 1)),
    );
    for size in [1usize, 8, 16, 24, 64, 256, 4096, 65536] {
        let count = if size >= 4096 { 256 } else { n };
        let ns = check_runtime(&arena, &addresses(size, count, 1), size);
        report(format!("{size} (run-time)"), size, ns);
    }

    // A slab-like layout: 115-byte objects in 128-byte slots, 8-byte loads at random offsets,
    // about a tenth of them out of bounds.
    // SAFETY: every range is inside the arena.
    unsafe {
        for slot in (BASE..BASE + MEM_BYTES).step_by(128) {
            poison(&arena, slot, 128, KASAN_SLAB_REDZONE).unwrap();
            unpoison(&arena, slot, 115).unwrap();
        }
    }
    let slab_addrs = addresses(8, n, 1);
    let ns = check_const::<8>(&arena, &slab_addrs);
    report("8 (const, slab mix)".into(), 8, ns);

    println!();
    println!("poison() / unpoison() (memory bytes covered per ns):");
    println!("{:>22} {:>10} {:>12}", "size", "ns/call", "bytes/ns");
    for size in [16usize, 128, 4096, 65536, 1 << 20] {
        let count = (MEM_BYTES / size).min(1024);
        let addrs: Vec<usize> = (0..count).map(|i| BASE + i * size).collect();
        let ns = measure(count, || {
            for &a in &addrs {
                // SAFETY: every range is inside the arena.
                let _ = unsafe { poison(&arena, black_box(a), size, KASAN_SLAB_REDZONE) };
            }
        });
        println!(
            "{:>22} {ns:>10.2} {:>12.2}",
            format!("poison {size}"),
            size as f64 / ns
        );
        let ns = measure(count, || {
            for &a in &addrs {
                // SAFETY: every range is inside the arena.
                let _ = unsafe { unpoison(&arena, black_box(a), size - 5) };
            }
        });
        println!(
            "{:>22} {ns:>10.2} {:>12.2}",
            format!("unpoison {}", size - 5),
            (size - 5) as f64 / ns
        );
    }
}
