// SPDX-License-Identifier: GPL-2.0

//! Host tests of `rkasan::free_check`: the fill and the scan over every size and alignment,
//! against a byte-by-byte model, with guard bytes around the region.

use rkasan::free_check::{checked_region, fill, find_changed, Changed, CheckedRegion};

/// Guard bytes on each side of the region.
const GUARD: usize = 24;
/// The guards' byte, different from the pattern.
const GUARD_BYTE: u8 = 0x5a;

/// A buffer with `align` bytes of slack, guards, and a region of `len` bytes at an address whose
/// offset in its word is `align % 8`.
struct Buf {
    bytes: Vec<u64>,
    start: usize,
    len: usize,
}

impl Buf {
    fn new(align: usize, len: usize) -> Self {
        let words = (len + 2 * GUARD + 16) / 8 + 1;
        let mut b = Buf {
            bytes: vec![0; words],
            start: GUARD + align,
            len,
        };
        b.as_bytes_mut().fill(GUARD_BYTE);
        b
    }
    fn as_bytes_mut(&mut self) -> &mut [u8] {
        let n = self.bytes.len() * 8;
        // SAFETY: The Vec<u64> holds `n` initialised bytes.
        unsafe { std::slice::from_raw_parts_mut(self.bytes.as_mut_ptr().cast(), n) }
    }
    fn region(&mut self) -> *mut u8 {
        let start = self.start;
        self.as_bytes_mut()[start..].as_mut_ptr()
    }
    /// Checks that every byte outside the region is still the guard byte.
    fn guards_intact(&mut self) -> bool {
        let (start, len) = (self.start, self.len);
        let b = self.as_bytes_mut();
        b[..start].iter().all(|&c| c == GUARD_BYTE)
            && b[start + len..].iter().all(|&c| c == GUARD_BYTE)
    }
}

/// The model: the changed bytes of `region`, byte by byte.
fn model(region: &[u8]) -> Option<Changed> {
    let changed: Vec<usize> = (0..region.len()).filter(|&i| region[i] != 0xFB).collect();
    Some(Changed {
        first: *changed.first()?,
        last: *changed.last()?,
        count: changed.len(),
    })
}

#[test]
fn fill_writes_exactly_the_region_with_the_pattern() {
    for align in 0..16 {
        for len in 0..=200 {
            let mut b = Buf::new(align, len);
            let p = b.region();
            // SAFETY: `p..p + len` is inside the buffer.
            unsafe { fill(p, len) };
            assert!(b.guards_intact(), "align {align} len {len}");
            let start = b.start;
            let region = &b.as_bytes_mut()[start..start + len];
            assert!(region.iter().all(|&c| c == 0xFB), "align {align} len {len}");
            // SAFETY: As above.
            let found = unsafe { find_changed(p, len) };
            assert_eq!(found, None, "align {align} len {len}");
        }
    }
}

#[test]
fn every_changed_byte_is_found_at_every_size_and_alignment() {
    for align in 0..16 {
        for len in 1..=130 {
            for at in 0..len {
                for value in [0x00, 0xFA, 0xFF] {
                    let mut b = Buf::new(align, len);
                    let p = b.region();
                    // SAFETY: `p..p + len` is inside the buffer.
                    unsafe { fill(p, len) };
                    let start = b.start;
                    b.as_bytes_mut()[start + at] = value;
                    // SAFETY: As above.
                    let found = unsafe { find_changed(p, len) };
                    assert_eq!(
                        found,
                        Some(Changed {
                            first: at,
                            last: at,
                            count: 1
                        }),
                        "align {align} len {len} at {at}"
                    );
                }
            }
        }
    }
}

#[test]
fn scan_matches_the_model_on_random_writes() {
    // A small xorshift generator: reproducible, no dependency.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..20_000 {
        let align = (next() % 16) as usize;
        let len = (next() % 600) as usize;
        let mut b = Buf::new(align, len);
        let p = b.region();
        // SAFETY: `p..p + len` is inside the buffer.
        unsafe { fill(p, len) };
        let start = b.start;
        let writes = next() % 4;
        for _ in 0..writes {
            if len == 0 {
                break;
            }
            let at = (next() as usize) % len;
            let n = 1 + (next() as usize) % 16;
            let value = next() as u8;
            for i in at..(at + n).min(len) {
                b.as_bytes_mut()[start + i] = value;
            }
        }
        let want = model(&b.as_bytes_mut()[start..start + len]);
        // SAFETY: As above.
        let found = unsafe { find_changed(p, len) };
        assert_eq!(found, want, "align {align} len {len}");
    }
}

#[test]
fn span_counts_both_ends() {
    let c = Changed {
        first: 16,
        last: 19,
        count: 4,
    };
    assert_eq!(c.span(), 4);
    let c = Changed {
        first: 7,
        last: 7,
        count: 1,
    };
    assert_eq!(c.span(), 1);
}

#[test]
fn the_region_leaves_out_free_metadata_in_the_object() {
    // kmalloc-128 with its 16-byte free meta inside: bytes 16..128.
    assert_eq!(
        checked_region(128, true, 16),
        Some(CheckedRegion {
            offset: 16,
            len: 112
        })
    );
    // Free meta after the object: all of it.
    assert_eq!(
        checked_region(128, false, 16),
        Some(CheckedRegion {
            offset: 0,
            len: 128
        })
    );
    assert_eq!(checked_region(16, true, 16), None);
    assert_eq!(checked_region(8, true, 16), None);
    assert_eq!(checked_region(0, false, 16), None);
    assert_eq!(
        checked_region(17, true, 16),
        Some(CheckedRegion { offset: 16, len: 1 })
    );
}

#[test]
fn finding_reads_the_range_and_says_what_changed() {
    use rkasan::free_check::Finding;
    let mut b = Buf::new(0, 112);
    let p = b.region();
    // SAFETY: `p..p + 112` is inside the buffer.
    unsafe { fill(p, 112) };
    let start = b.start;
    // An object whose region starts 16 bytes in: its bytes 16..128 are the buffer's region.
    b.as_bytes_mut()[start + 4..start + 8].copy_from_slice(&[0, 0x11, 0xFB, 0x22]);
    // SAFETY: As above.
    let changed = unsafe { find_changed(p, 112) }.unwrap();
    let region = checked_region(128, true, 16).unwrap();
    let object = p.wrapping_sub(16);
    // SAFETY: The region's bytes are the buffer's.
    let f = unsafe { Finding::read(object, region, changed) };
    assert_eq!(f.offset, 20);
    assert_eq!(&f.found[..4], &[0, 0x11, 0xFB, 0x22]);
    assert_eq!(
        f.to_string(),
        "kasan.free_check: bytes 20-23 of the object changed after the free (3 of 4 bytes are \
         not the pattern 0xfb); found:\n 00 11 fb 22\n"
    );

    // A long range shows its first 32 bytes.
    let mut b = Buf::new(0, 112);
    let p = b.region();
    // SAFETY: As above.
    unsafe { fill(p, 112) };
    let start = b.start;
    b.as_bytes_mut()[start..start + 40].fill(0);
    // SAFETY: As above.
    let changed = unsafe { find_changed(p, 112) }.unwrap();
    let region = checked_region(112, false, 16).unwrap();
    // SAFETY: As above.
    let f = unsafe { Finding::read(p, region, changed) };
    let text = f.to_string();
    assert!(text.starts_with(
        "kasan.free_check: bytes 0-39 of the object changed after the free (40 of 40 bytes"
    ));
    assert!(
        text.ends_with(&format!("{} ...\n", " 00".repeat(32))),
        "{text}"
    );
}

#[test]
fn the_free_site_is_the_first_frame_outside_the_allocator() {
    use rkasan::free_check::{free_site, function_name, is_free_path};
    let stack = [
        "kasan_save_stack+0x33/0x60",
        "kasan_save_track+0x14/0x30",
        "kasan_save_free_info+0x3b/0x60",
        "__kasan_slab_free+0x51/0x70",
        "kfree+0x1a4/0x3e0",
        "rkasan_free_check_case+0x8b/0x2c0 [rkasan_quarantine_test]",
        "kunit_try_run_case+0x1b3/0x490",
    ];
    assert_eq!(free_site(stack), Some(5));
    assert_eq!(
        free_site(["kmem_cache_free.cold+0x3/0x8", "foo_release+0x12/0x40"]),
        Some(1)
    );
    assert_eq!(free_site(["kfree_skb_reason+0x10/0x20"]), Some(0));
    assert_eq!(
        free_site(["kfree+0x1/0x2", "__kasan_slab_free+0x1/0x2"]),
        None
    );
    assert_eq!(free_site([]), None);
    assert_eq!(function_name("foo.isra.0+0x1/0x2"), "foo");
    assert_eq!(function_name("foo+0x1/0x2 [mod]"), "foo");
    assert_eq!(function_name("foo"), "foo");
    assert!(is_free_path("mempool_kfree"));
    assert!(is_free_path("kfree_rcu_work"));
    assert!(is_free_path("slab_free_bulk"));
    assert!(!is_free_path("rcu_do_batch"));
    assert!(!is_free_path("kfree_skb_reason"));
}
