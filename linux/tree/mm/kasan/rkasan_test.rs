// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the Rust KASAN runtime, in the running kernel.
//!
//! The upstream suite (`kasan_test_c.c`) proves that bugs are caught; these check the runtime's
//! own contracts on real kernel memory without triggering a report: the shadow of real `kmalloc`
//! and `vmalloc` objects, poison and unpoison round trips at granule edges, the bug type chosen
//! for real poisoned memory, the boot-parameter parsers through the entry points the kernel
//! uses, and the `kasan_enabled()` gate. The runtime is reached through the functions
//! `mm/kasan/rkasan_entry.c` exports for KUnit.

use core::ffi::c_void;
use kernel::error::code::EINVAL;
use kernel::ffi::{c_char, c_int};
use kernel::prelude::*;

/// The prefix of this crate's `pr_*!()` messages (there is no `module!` to define it).
#[cfg(any(CONFIG_KASAN_SW_TAGS, CONFIG_KASAN_HW_TAGS))]
const __LOG_PREFIX: &[u8] = b"rkasan_test\0";

#[cfg(CONFIG_KASAN_GENERIC)]
extern "C" {
    fn rkasan_is_poisoned(addr: *const c_void, size: usize) -> bool;
    fn rkasan_bug_type(addr: *const c_void, size: usize, buf: *mut u8, len: usize) -> usize;
    fn rkasan_poison(addr: *const c_void, size: usize, value: u8) -> bool;
    fn rkasan_unpoison(addr: *const c_void, size: usize) -> bool;
}

extern "C" {
    fn rkasan_parse_fault(arg: *const c_char, mode: *mut c_int) -> c_int;
    fn rkasan_parse_multi_shot(arg: *const c_char) -> bool;
    fn rkasan_test_kasan_enabled() -> bool;
}

/// `enum kasan_arg_fault` of mm/kasan/report.c.
const FAULT_DEFAULT: c_int = 0;
const FAULT_REPORT: c_int = 1;
const FAULT_PANIC: c_int = 2;
const FAULT_PANIC_ON_WRITE: c_int = 3;

/// Whether any byte of `size` bytes at `p` is poisoned (no report is made).
#[cfg(CONFIG_KASAN_GENERIC)]
fn poisoned(p: *const u8, size: usize) -> bool {
    // SAFETY: `rkasan_is_poisoned` only reads the shadow of the range, which every kernel
    // address has on UML.
    unsafe { rkasan_is_poisoned(p.cast(), size) }
}

/// The bug type the runtime would report for an access of `size` bytes at `p`.
#[cfg(CONFIG_KASAN_GENERIC)]
fn bug_type(p: *const u8, size: usize, buf: &mut [u8; 32]) -> &[u8] {
    // SAFETY: `buf` is valid for 32 bytes; the function writes at most that many.
    let len = unsafe { rkasan_bug_type(p.cast(), size, buf.as_mut_ptr(), buf.len()) };
    &buf[..len.min(buf.len())]
}

/// `struct rkasan_quarantine_stats` of mm/kasan/rkasan.h.
#[cfg(CONFIG_KASAN_RUST_QUARANTINE)]
#[repr(C)]
#[derive(Default)]
struct QuarantineStats {
    held_bytes: usize,
    held_objects: usize,
    percpu_bytes: usize,
    percpu_objects: usize,
    size: usize,
    max_size: usize,
    batch_size: usize,
    batches: usize,
    batches_in_use: usize,
    peak_bytes: usize,
    puts: usize,
    spilled: usize,
    evicted: usize,
    removed: usize,
    offlined: usize,
    freed: usize,
    cache_removals: usize,
    ring_full: usize,
    consistent: bool,
}

#[cfg(CONFIG_KASAN_RUST_QUARANTINE)]
extern "C" {
    fn rkasan_quarantine_object_qlink(object: *const c_void) -> *const c_void;
    fn rkasan_quarantine_holds(qlink: *const c_void) -> bool;
    fn rkasan_quarantine_stats(stats: *mut QuarantineStats);
    fn rkasan_parse_quarantine_size(
        arg: *const c_char,
        kind: *mut c_int,
        value: *mut usize,
    ) -> c_int;
}

/// The quarantine's sizes and counters.
#[cfg(CONFIG_KASAN_RUST_QUARANTINE)]
fn quarantine_stats() -> QuarantineStats {
    let mut stats = QuarantineStats::default();
    // SAFETY: `stats` is valid for writes; the call sends IPIs, fine in a test.
    unsafe { rkasan_quarantine_stats(&mut stats) };
    stats
}

/// `kasan.quarantine_size=` through the parser of its early parameter: (return value, kind,
/// value), kind 0 default, 1 bytes, 2 percent (-1 and 0 if untouched).
#[cfg(CONFIG_KASAN_RUST_QUARANTINE)]
fn parse_quarantine_size(arg: Option<&core::ffi::CStr>) -> (c_int, c_int, usize) {
    let (mut kind, mut value) = (-1, 0);
    let arg = arg.map_or(core::ptr::null(), |a| a.as_char_ptr());
    // SAFETY: `arg` is null or a NUL-terminated string, `kind` and `value` are valid.
    let ret = unsafe { rkasan_parse_quarantine_size(arg, &mut kind, &mut value) };
    (ret, kind, value)
}

fn parse_fault(arg: Option<&core::ffi::CStr>) -> (c_int, c_int) {
    let mut mode = FAULT_DEFAULT;
    let arg = arg.map_or(core::ptr::null(), |a| a.as_char_ptr());
    // SAFETY: `arg` is null or a NUL-terminated string, `mode` a valid `int`.
    let ret = unsafe { rkasan_parse_fault(arg, &mut mode) };
    (ret, mode)
}

/// `struct rkasan_boot_state` of mm/kasan/rkasan.h.
#[cfg(any(CONFIG_KASAN_SW_TAGS, CONFIG_KASAN_HW_TAGS))]
#[repr(C)]
struct BootState {
    cmdline: *const c_char,
    enabled: bool,
    stacktrace: bool,
    vmalloc: bool,
    write_only: bool,
    mode: c_int,
    page_alloc_sample_order: u32,
    page_alloc_sample: usize,
    stack_ring_size: usize,
}

#[cfg(any(CONFIG_KASAN_SW_TAGS, CONFIG_KASAN_HW_TAGS))]
extern "C" {
    fn rkasan_test_random_tag() -> u8;
    fn rkasan_test_reset_tag(addr: *const c_void) -> *mut c_void;
    fn rkasan_test_set_tag(addr: *const c_void, tag: u8) -> *mut c_void;
    fn rkasan_test_get_tag(addr: *const c_void) -> u8;
    fn rkasan_test_boot_state(state: *mut BootState);
    fn rkasan_tag_get(addr: *const c_void) -> u8;
    fn rkasan_tag_set(addr: *const c_void, tag: u8) -> *mut c_void;
    fn rkasan_tag_reset(addr: *const c_void) -> *mut c_void;
}

/// `struct kasan_track` of mm/kasan/kasan.h.
#[cfg(CONFIG_KASAN_RUST_STACK_RING)]
#[repr(C)]
#[derive(Default)]
struct Track {
    pid: u32,
    stack: u32,
    #[cfg(CONFIG_KASAN_EXTRA_INFO)]
    extra: u64,
}

#[cfg(CONFIG_KASAN_RUST_STACK_RING)]
extern "C" {
    fn rkasan_test_stack_ring_lookup(
        addr: *const c_void,
        alloc: *mut Track,
        free: *mut Track,
    ) -> *const c_char;
    fn rkasan_test_current_pid() -> u32;
}

/// The bytes of a NUL-terminated string from C.
#[cfg(CONFIG_KASAN_RUST_STACK_RING)]
fn c_bytes(s: *const c_char) -> &'static [u8] {
    use kernel::str::CStrExt;
    // SAFETY: The runtime returns static NUL-terminated bug type names.
    unsafe { core::ffi::CStr::from_char_ptr(s) }.to_bytes()
}

#[cfg(CONFIG_KASAN_RUST_TAGS_REPORT)]
extern "C" {
    fn rkasan_tags_find_first_bad_addr(addr: *const c_void, size: usize) -> *const c_void;
    fn rkasan_tags_get_alloc_size(object: *const c_void, object_size: usize) -> usize;
    fn rkasan_tags_fetch_row(buffer: *mut u8, row: *const c_void);
}

#[cfg(CONFIG_KASAN_SW_TAGS)]
extern "C" {
    fn rkasan_sw_is_poisoned(addr: *const c_void, size: usize) -> bool;
    fn rkasan_sw_mem_to_shadow(addr: *const c_void) -> *mut u8;
    fn rkasan_sw_has_metadata(addr: *const c_void) -> bool;
    fn rkasan_test_mem_to_shadow(addr: *const c_void) -> *mut c_void;
    fn rkasan_test_addr_has_metadata(addr: *const c_void) -> bool;
}

/// The tags `kasan_random_tag()` may return: `KASAN_TAG_MIN..=KASAN_TAG_MAX`.
#[cfg(CONFIG_KASAN_SW_TAGS)]
const RANDOM_TAGS: core::ops::RangeInclusive<u8> = 0x00..=0xfd;
#[cfg(CONFIG_KASAN_HW_TAGS)]
const RANDOM_TAGS: core::ops::RangeInclusive<u8> = 0xf0..=0xfd;

/// The state the boot left KASAN in, as `rkasan_test_boot_state()` reads it.
#[cfg(any(CONFIG_KASAN_SW_TAGS, CONFIG_KASAN_HW_TAGS))]
fn boot_state() -> BootState {
    let mut state = BootState {
        cmdline: core::ptr::null(),
        enabled: false,
        stacktrace: false,
        vmalloc: false,
        write_only: false,
        mode: -1,
        page_alloc_sample_order: 0,
        page_alloc_sample: 0,
        stack_ring_size: 0,
    };
    // SAFETY: Fills `state`, which is valid for writes.
    unsafe { rkasan_test_boot_state(&mut state) };
    state
}

/// The tag in the top byte of `p`.
#[cfg(any(CONFIG_KASAN_SW_TAGS, CONFIG_KASAN_HW_TAGS))]
fn ptr_tag<T>(p: *const T) -> u8 {
    (p.addr() >> 56) as u8
}

#[kunit_tests(rkasan)]
mod tests {
    use super::*;

    /// A 13-byte `kmalloc` object: bytes 0..13 accessible, 13.. poisoned (the last granule
    /// partially, then the redzone of `kmalloc-16`).
    #[cfg(CONFIG_KASAN_GENERIC)]
    #[test]
    fn kmalloc_object_shadow() -> Result {
        let v = KVec::<u8>::with_capacity(13, GFP_KERNEL)?;
        let p = v.as_ptr();
        assert!(!poisoned(p, 13));
        assert!(!poisoned(p.wrapping_add(12), 1));
        assert!(poisoned(p.wrapping_add(13), 1));
        assert!(poisoned(p, 14));
        assert!(poisoned(p.wrapping_add(16), 8));
        let mut buf = [0u8; 32];
        assert_eq!(
            bug_type(p.wrapping_add(13), 1, &mut buf),
            b"slab-out-of-bounds"
        );
        Ok(())
    }

    /// The Rust `__asan_load<N>()` / `__asan_store<N>()` reach their slow path with the
    /// instrumented caller's return address, the one a report names: the fast path's jump to
    /// C's `_RET_IP_` taker must be a tail call. The accesses are good ones that cross a granule
    /// boundary of a 20-byte object, which only the slow path checks. (A good 1-byte access
    /// never takes the slow path; the lab checks every entry's tail calls in the object code.)
    #[cfg(all(CONFIG_KASAN_RUST_SHADOW, not(CONFIG_ARCH_DEFER_KASAN)))]
    #[test]
    fn slow_path_sees_the_caller() -> Result {
        extern "C" {
            fn rkasan_test_slow_path_caller(p: *mut c_void, size: usize, write: bool) -> c_int;
        }
        let mut v = KVec::<u8>::with_capacity(20, GFP_KERNEL)?;
        let p = v.as_mut_ptr();
        for size in [2usize, 4, 8, 16] {
            // Straddles the boundary of granules 0 and 1 (16 bytes: from byte 2 to byte 17).
            let addr = p.wrapping_add(if size == 16 { 2 } else { 8 - size / 2 });
            assert!(!poisoned(addr, size));
            for write in [false, true] {
                // SAFETY: A good access of `size` bytes inside the object.
                let ret = unsafe { rkasan_test_slow_path_caller(addr.cast(), size, write) };
                assert_eq!(ret, 0);
            }
        }
        Ok(())
    }

    /// A freed object stays poisoned in the quarantine and is classified as freed.
    #[cfg(CONFIG_KASAN_GENERIC)]
    #[test]
    fn kfree_poisons_object() -> Result {
        let v = KVec::<u8>::with_capacity(64, GFP_KERNEL)?;
        let p = v.as_ptr();
        assert!(!poisoned(p, 64));
        drop(v);
        assert!(poisoned(p, 1));
        let mut buf = [0u8; 32];
        assert_eq!(bug_type(p, 1, &mut buf), b"slab-use-after-free");
        Ok(())
    }

    /// With KASAN_VMALLOC, a vmalloc area is accessible up to its size and poisoned after.
    /// (Without it the vmalloc shadow is not tracked: the case is left out and reported as
    /// skipped.)
    #[cfg(all(CONFIG_KASAN_GENERIC, CONFIG_KASAN_VMALLOC))]
    #[test]
    fn vmalloc_object_shadow() -> Result {
        let v = VVec::<u8>::with_capacity(5000, GFP_KERNEL)?;
        let p = v.as_ptr();
        assert!(!poisoned(p, 5000));
        assert!(poisoned(p.wrapping_add(5000), 1));
        let mut buf = [0u8; 32];
        assert_eq!(
            bug_type(p.wrapping_add(5000), 1, &mut buf),
            b"vmalloc-out-of-bounds"
        );
        Ok(())
    }

    /// Poison and unpoison round trips at every size around granule edges.
    #[cfg(CONFIG_KASAN_GENERIC)]
    #[test]
    fn poison_unpoison_round_trip() -> Result {
        let v = KVec::<u8>::with_capacity(64, GFP_KERNEL)?;
        let p = v.as_ptr();
        for size in 0..=40usize {
            // SAFETY: `p..p + 64` is this test's own allocation; it is unpoisoned again below.
            unsafe {
                assert!(rkasan_poison(p.cast(), 64, 0xfc));
                assert!(rkasan_unpoison(p.cast(), size));
            }
            assert!(size == 0 || !poisoned(p, size));
            assert!(poisoned(p.wrapping_add(size), 1));
        }
        // SAFETY: As above; restores the object's own shadow before it is freed.
        assert!(unsafe { rkasan_unpoison(p.cast(), 64) });
        assert!(!poisoned(p, 64));
        Ok(())
    }

    /// Misaligned poisoning is refused and leaves the shadow alone (the C entry warns).
    #[cfg(CONFIG_KASAN_GENERIC)]
    #[test]
    fn misaligned_poison_is_refused() -> Result {
        let v = KVec::<u8>::with_capacity(64, GFP_KERNEL)?;
        let p = v.as_ptr();
        // SAFETY: The calls are refused before touching anything.
        unsafe {
            assert!(!rkasan_poison(p.wrapping_add(1).cast(), 8, 0xfc));
            assert!(!rkasan_poison(p.cast(), 7, 0xfc));
            assert!(!rkasan_unpoison(p.wrapping_add(3).cast(), 8));
        }
        assert!(!poisoned(p, 64));
        Ok(())
    }

    /// `kasan.fault=` through the parser `early_kasan_fault()` calls.
    #[test]
    fn fault_parameter() {
        assert_eq!(parse_fault(Some(c"report")), (0, FAULT_REPORT));
        assert_eq!(parse_fault(Some(c"panic")), (0, FAULT_PANIC));
        assert_eq!(
            parse_fault(Some(c"panic_on_write")),
            (0, FAULT_PANIC_ON_WRITE)
        );
        let einval = EINVAL.to_errno();
        for bad in [c"", c"PANIC", c"panic_x", c"report ", c"panic_on_writ"] {
            assert_eq!(parse_fault(Some(bad)), (einval, FAULT_DEFAULT));
        }
        assert_eq!(parse_fault(None), (einval, FAULT_DEFAULT));
    }

    /// `kasan_multi_shot` is a `__setup` matched by prefix, `-` and `_` alike: every option
    /// that starts with the name turns multi-shot on, whatever follows; nothing else does. The
    /// answers are written out; each is also the one `init/main.c`'s own matcher, `parameqn()`,
    /// gives, and for the options it matches the glue the C handler calls answers yes for what
    /// follows the name (the argument the kernel passes it).
    #[test]
    fn multi_shot_parameter() {
        extern "C" {
            fn parameqn(a: *const c_char, b: *const c_char, n: usize) -> bool;
            fn rkasan_test_multi_shot_option(line: *const c_char) -> bool;
        }
        const NAME: &core::ffi::CStr = c"kasan_multi_shot";
        let options = [
            (c"kasan_multi_shot", true),
            (c"kasan_multi_shot=0", true),
            (c"kasan_multi_shot=off", true),
            (c"kasan-multi-shot", true),
            (c"kasan_multi-shot=1", true),
            (c"kasan_multi_shotXYZ", true),
            (c"kasan_multi_sho", false),
            (c"kasan_multishot", false),
            (c"kasan.multi_shot", false),
            (c"Kasan_multi_shot", false),
            (c"xkasan_multi_shot", false),
            (c"kasan", false),
            (c"", false),
        ];
        let n = NAME.to_bytes().len();
        for (line, on) in options {
            // SAFETY: Both strings are NUL-terminated.
            let kernel = unsafe { parameqn(line.as_char_ptr(), NAME.as_char_ptr(), n) };
            assert_eq!(kernel, on);
            // SAFETY: `line` is NUL-terminated.
            assert_eq!(
                unsafe { rkasan_test_multi_shot_option(line.as_char_ptr()) },
                on
            );
            if on {
                // SAFETY: `line` is at least `n` bytes long: what follows the name, with its NUL.
                let rest = unsafe { line.as_char_ptr().add(n) };
                // SAFETY: `rest` is NUL-terminated.
                assert!(unsafe { rkasan_parse_multi_shot(rest) });
            }
        }
    }

    /// Globals registered by constructors have their redzones poisoned, also on
    /// ARCH_DEFER_KASAN kernels where those constructors run before `kasan_enabled()`.
    #[cfg(CONFIG_KASAN_GENERIC)]
    #[test]
    fn global_redzone_poisoned() {
        static GLOBAL: [u8; 3] = [1, 2, 3];
        let p = core::hint::black_box(GLOBAL.as_ptr());
        assert!(!poisoned(p, 3));
        assert!(poisoned(p.wrapping_add(3), 1));
        let mut buf = [0u8; 32];
        assert_eq!(
            bug_type(p.wrapping_add(3), 1, &mut buf),
            b"global-out-of-bounds"
        );
    }

    /// A freed object waits in the quarantine, poisoned: a use-after-free on it is caught.
    #[cfg(CONFIG_KASAN_RUST_QUARANTINE)]
    #[test]
    fn quarantine_holds_freed_object() -> Result {
        let v = KVec::<u8>::with_capacity(128, GFP_KERNEL)?;
        let p = v.as_ptr();
        // SAFETY: `p` is a live kmalloc object.
        let qlink = unsafe { rkasan_quarantine_object_qlink(p.cast()) };
        assert!(!qlink.is_null());
        drop(v);
        assert!(poisoned(p, 1));
        assert!(poisoned(p.wrapping_add(64), 64));
        let mut buf = [0u8; 32];
        assert_eq!(
            bug_type(p.wrapping_add(8), 8, &mut buf),
            b"slab-use-after-free"
        );
        // SAFETY: Only compares addresses.
        assert!(unsafe { rkasan_quarantine_holds(qlink) });
        Ok(())
    }

    /// The counters follow `kfree()`: objects are put into the per-CPU queues, which spill
    /// into the global ring beyond 1 MiB; the ledgers add up.
    #[cfg(CONFIG_KASAN_RUST_QUARANTINE)]
    #[test]
    fn quarantine_stats_follow_kfree() -> Result {
        let before = quarantine_stats();
        assert!(before.consistent);
        assert!(before.held_bytes <= before.size);
        assert!(before.batches >= 1024);

        let mut objs = KVec::with_capacity(64, GFP_KERNEL)?;
        for _ in 0..64 {
            objs.push(KVec::<u8>::with_capacity(4096, GFP_KERNEL)?, GFP_KERNEL)?;
        }
        drop(objs);
        let mid = quarantine_stats();
        assert!(mid.puts - before.puts >= 64);
        assert!(mid.consistent);

        // 8 MiB more: the queue of every CPU this runs on spills at least once.
        for _ in 0..2048 {
            drop(KVec::<u8>::with_capacity(4096, GFP_KERNEL)?);
        }
        let after = quarantine_stats();
        assert!(after.puts - mid.puts >= 2048);
        assert!(after.spilled > mid.spilled);
        assert!(after.peak_bytes > 0);
        assert!(after.held_bytes <= after.size);
        assert!(after.freed >= mid.freed);
        assert!(after.consistent);
        Ok(())
    }

    /// `kasan.quarantine_size=<size>|<percent>%` through the parser its early parameter uses.
    #[cfg(CONFIG_KASAN_RUST_QUARANTINE)]
    #[test]
    fn quarantine_size_parameter() {
        assert_eq!(parse_quarantine_size(Some(c"0")), (0, 1, 0));
        assert_eq!(parse_quarantine_size(Some(c"1048576")), (0, 1, 1 << 20));
        assert_eq!(parse_quarantine_size(Some(c"0x100000")), (0, 1, 1 << 20));
        assert_eq!(parse_quarantine_size(Some(c"1024K")), (0, 1, 1 << 20));
        assert_eq!(parse_quarantine_size(Some(c"64M")), (0, 1, 64 << 20));
        assert_eq!(parse_quarantine_size(Some(c"1g")), (0, 1, 1 << 30));
        assert_eq!(parse_quarantine_size(Some(c"0x1e")), (0, 1, 0x1e));
        assert_eq!(parse_quarantine_size(Some(c"10%")), (0, 2, 10));
        assert_eq!(parse_quarantine_size(Some(c"100%")), (0, 2, 100));
        let einval = EINVAL.to_errno();
        for bad in [
            c"", c"%", c"101%", c"-1", c"M", c"8MB", c"1e6", c"10 %", c"0x10%",
        ] {
            assert_eq!(parse_quarantine_size(Some(bad)), (einval, -1, 0));
        }
        assert_eq!(parse_quarantine_size(None), (einval, -1, 0));
        let erange = kernel::error::code::ERANGE.to_errno();
        for huge in [c"18446744073709551616", c"16E"] {
            assert_eq!(parse_quarantine_size(Some(huge)), (erange, -1, 0));
        }
    }

    /// KASAN is enabled once tests run; on ARCH_DEFER_KASAN kernels that is the static key
    /// flipped by `kasan_init_generic()`. (Hardware tags can be turned off at boot:
    /// `boot_state_matches_command_line` checks that mode.)
    #[cfg(not(CONFIG_KASAN_HW_TAGS))]
    #[test]
    fn kasan_enabled_gate() {
        // SAFETY: Reads a static key.
        assert!(unsafe { rkasan_test_kasan_enabled() });
    }

    /// Tags drawn by `kasan_random_tag()` cover the whole allowed range and nothing else: never
    /// 0xfe (invalid) or 0xff (match-all).
    #[cfg(any(CONFIG_KASAN_SW_TAGS, CONFIG_KASAN_HW_TAGS))]
    #[test]
    fn random_tags_cover_the_range() {
        let mut seen = [0u32; 256];
        let values = RANDOM_TAGS.count();
        for _ in 0..values * 64 {
            // SAFETY: Draws a tag; no other effect.
            let tag = unsafe { rkasan_test_random_tag() };
            seen[usize::from(tag)] += 1;
        }
        for (tag, &n) in seen.iter().enumerate() {
            let allowed = RANDOM_TAGS.contains(&(tag as u8));
            let drawn = n > 0;
            assert_eq!(drawn, allowed);
        }
    }

    /// Slab objects get random tags from the allowed range: 2048 `kmalloc()` objects show
    /// (nearly) every tag, never a reserved one.
    #[cfg(any(CONFIG_KASAN_SW_TAGS, CONFIG_KASAN_HW_TAGS))]
    #[test]
    fn kmalloc_tags_are_random() -> Result {
        let mut objs = KVec::with_capacity(2048, GFP_KERNEL)?;
        let mut seen = [false; 256];
        for _ in 0..2048 {
            let v = KVec::<u8>::with_capacity(40, GFP_KERNEL)?;
            seen[usize::from(ptr_tag(v.as_ptr()))] = true;
            objs.push(v, GFP_KERNEL)?;
        }
        assert!(!seen[0xfe] && !seen[0xff]);
        let distinct = seen.iter().filter(|&&s| s).count();
        let values = RANDOM_TAGS.count();
        // 2048 draws miss a given tag of 254 with probability (253/254)^2048 < 0.0004.
        assert!(distinct * 10 >= values * 9);
        for (tag, &s) in seen.iter().enumerate() {
            assert!(!s || RANDOM_TAGS.contains(&(tag as u8)));
        }
        Ok(())
    }

    /// The core's pointer-tag helpers agree with the kernel's `get_tag()`, `set_tag()` and
    /// `kasan_reset_tag()` for every tag, on slab, stack and user addresses.
    #[cfg(any(CONFIG_KASAN_SW_TAGS, CONFIG_KASAN_HW_TAGS))]
    #[test]
    fn pointer_tag_round_trip() -> Result {
        let v = KVec::<u8>::with_capacity(16, GFP_KERNEL)?;
        let local = 0u64;
        let bases: [*const c_void; 3] = [
            v.as_ptr().cast(),
            core::ptr::from_ref(&local).cast(),
            0x1000_usize as *const c_void,
        ];
        for base in bases {
            for tag in 0..=255u8 {
                // SAFETY: Pure address arithmetic.
                unsafe {
                    let c = rkasan_test_set_tag(base, tag);
                    let rust = rkasan_tag_set(base, tag);
                    assert_eq!(c, rust);
                    assert_eq!(rkasan_tag_get(rust), tag);
                    assert_eq!(rkasan_test_get_tag(rust), tag);
                    assert_eq!(rkasan_tag_reset(rust), rkasan_test_reset_tag(rust));
                    assert_eq!(rkasan_tag_reset(rust), rkasan_test_reset_tag(base));
                }
            }
        }
        Ok(())
    }

    /// The boot left KASAN in the state kasan.rst documents for the command line it was given.
    /// The expected state is written out for each boot the lab makes (hw-tags with no KASAN
    /// argument, hw-tags-async with `kasan.mode=async`, hw-tags-off with `kasan=off`, sw-tags
    /// with none), recognised by the `kasan*` words of the command line: not derived by a parser
    /// of the runtime, which would agree with whatever that parser set. A command line with other
    /// `kasan*` words fails: the case would check nothing it knows, so it must learn that boot.
    #[cfg(any(CONFIG_KASAN_SW_TAGS, CONFIG_KASAN_HW_TAGS))]
    #[test]
    fn boot_state_matches_command_line() {
        use kernel::str::{BStr, CStrExt};

        /// What one boot must leave behind.
        struct Expected {
            enabled: bool,
            stacktrace: bool,
            stack_ring_size: usize,
            /// `enum kasan_mode`: SYNC 0, ASYNC 1, ASYMM 2.
            mode: c_int,
        }
        /// `KASAN_STACK_RING_SIZE_DEFAULT` of mm/kasan/tags.c.
        const DEFAULT_RING: usize = 32 << 10;
        /// The defaults of mm/kasan/hw_tags.c's `kasan.page_alloc.sample[.order]`.
        const DEFAULT_SAMPLE: usize = 1;
        const DEFAULT_SAMPLE_ORDER: u32 = 3;

        let state = boot_state();
        assert!(!state.cmdline.is_null());
        // SAFETY: `saved_command_line` is a NUL-terminated string that lives forever.
        let cmdline = unsafe { core::ffi::CStr::from_char_ptr(state.cmdline) }.to_bytes();
        let mut words = KVec::<&[u8]>::new();
        for w in cmdline.split(|b| b.is_ascii_whitespace()) {
            if w.starts_with(b"kasan") && words.push(w, GFP_KERNEL).is_err() {
                pr_err!("out of memory\n");
                assert!(false);
            }
        }
        let hw = cfg!(CONFIG_KASAN_HW_TAGS);
        // kasan_init_tags() sizes the ring only when KASAN is enabled; the stacktrace key is
        // on by default whether or not KASAN is.
        let expected = match &words[..] {
            [] => Some(Expected {
                enabled: true,
                stacktrace: true,
                stack_ring_size: DEFAULT_RING,
                mode: 0,
            }),
            [b"kasan.mode=async"] if hw => Some(Expected {
                enabled: true,
                stacktrace: true,
                stack_ring_size: DEFAULT_RING,
                mode: 1,
            }),
            [b"kasan=off"] if hw => Some(Expected {
                enabled: false,
                stacktrace: true,
                stack_ring_size: 0,
                mode: 0,
            }),
            _ => None,
        };
        let Some(expected) = expected else {
            for w in &words {
                pr_err!("a boot this case does not know: {}\n", BStr::from_bytes(w));
            }
            assert!(false);
            return;
        };
        assert_eq!(state.enabled, expected.enabled);
        // SAFETY: Reads a static key.
        assert_eq!(unsafe { rkasan_test_kasan_enabled() }, expected.enabled);
        assert_eq!(state.stacktrace, expected.stacktrace);
        assert_eq!(state.stack_ring_size, expected.stack_ring_size);
        if hw {
            assert_eq!(state.mode, expected.mode);
            // arm64 selects KASAN_VMALLOC with KASAN; kasan.vmalloc= is not given, so it is on
            // (the static key's default also holds with kasan=off).
            assert!(cfg!(CONFIG_KASAN_VMALLOC));
            assert!(state.vmalloc);
            assert!(!state.write_only);
            assert_eq!(state.page_alloc_sample, DEFAULT_SAMPLE);
            assert_eq!(state.page_alloc_sample_order, DEFAULT_SAMPLE_ORDER);
        }
    }

    /// The Rust shadow layout is the kernel's: same shadow address and `addr_has_metadata()`
    /// for slab, stack, vmalloc, text and user addresses, tagged or not.
    #[cfg(CONFIG_KASAN_SW_TAGS)]
    #[test]
    fn sw_shadow_layout_matches_c() -> Result {
        let v = KVec::<u8>::with_capacity(64, GFP_KERNEL)?;
        let vm = VVec::<u8>::with_capacity(8192, GFP_KERNEL)?;
        let local = 0u64;
        let addrs: [*const c_void; 6] = [
            v.as_ptr().cast(),
            vm.as_ptr().cast(),
            core::ptr::from_ref(&local).cast(),
            sw_shadow_layout_matches_c as *const c_void,
            0x1000_usize as *const c_void,
            core::ptr::null(),
        ];
        for addr in addrs {
            // SAFETY: Address arithmetic and comparisons only.
            unsafe {
                assert_eq!(
                    rkasan_sw_has_metadata(addr),
                    rkasan_test_addr_has_metadata(addr)
                );
                let untagged = rkasan_test_reset_tag(addr);
                assert_eq!(
                    rkasan_sw_mem_to_shadow(untagged).cast::<c_void>(),
                    rkasan_test_mem_to_shadow(untagged)
                );
            }
        }
        Ok(())
    }

    /// A 40-byte `kmalloc()` object (kmalloc-64): three granules carry the pointer's tag, the
    /// redzone granule is invalid; another tag sees nothing, the match-all tag everything; a
    /// freed object is invalid.
    #[cfg(CONFIG_KASAN_SW_TAGS)]
    #[test]
    fn sw_tag_check_follows_memory_tags() -> Result {
        let bad = |p: *const u8, size: usize| {
            // SAFETY: Reads memory tags of slab memory, which has them.
            unsafe { rkasan_sw_is_poisoned(p.cast(), size) }
        };
        let v = KVec::<u8>::with_capacity(40, GFP_KERNEL)?;
        let p = v.as_ptr();
        let tag = ptr_tag(p);
        assert!(!bad(p, 40));
        assert!(!bad(p, 48));
        assert!(bad(p.wrapping_add(48), 1));
        assert!(bad(p, 49));
        let other = if tag == 0 { 1 } else { tag - 1 };
        // SAFETY: Pure address arithmetic.
        let retagged = unsafe { rkasan_tag_set(p.cast(), other) }.cast::<u8>();
        assert!(bad(retagged, 1));
        // SAFETY: As above.
        let kernel = unsafe { rkasan_tag_set(p.cast(), 0xff) }.cast::<u8>();
        assert!(!bad(kernel.wrapping_add(48), 16));
        assert!(!bad(p, 0));
        drop(v);
        assert!(bad(p, 1));
        Ok(())
    }

    /// What a report reads from the memory tags of a 40-byte `kmalloc()` object (kmalloc-64):
    /// three granules with the pointer's tag then the invalid redzone granule, an allocated size
    /// of 48, the first bad address at the redzone (software tags walk to it; hardware tags
    /// fault on it, so the address is taken as is), and 0 once freed.
    #[cfg(CONFIG_KASAN_RUST_TAGS_REPORT)]
    #[test]
    fn report_reads_memory_tags() -> Result {
        let v = KVec::<u8>::with_capacity(40, GFP_KERNEL)?;
        let p: *const c_void = v.as_ptr().cast();
        let tag = ptr_tag(p);
        // SAFETY: Address arithmetic, and reads of the tags of this live object.
        unsafe {
            let object = rkasan_test_reset_tag(p).cast_const();
            assert_eq!(rkasan_tags_get_alloc_size(object, 64), 48);
            let mut row = [0u8; 16];
            rkasan_tags_fetch_row(row.as_mut_ptr(), object);
            assert!(row[0] == tag && row[1] == tag && row[2] == tag);
            assert_eq!(row[3], 0xfe);
            let bad = rkasan_tags_find_first_bad_addr(p, 64);
            if cfg!(CONFIG_KASAN_SW_TAGS) {
                assert_eq!(bad, object.wrapping_byte_add(48));
            } else {
                assert_eq!(bad, object);
            }
            drop(v);
            assert_eq!(rkasan_tags_get_alloc_size(object, 64), 0);
        }
        Ok(())
    }

    /// The stack ring records a `kmalloc()` and its `kfree()`: the report's walk finds the
    /// allocation first (an out-of-bounds access), then, after the free, the free and the
    /// allocation (a use-after-free), with this task's pid. With `kasan.stacktrace=off` nothing
    /// is recorded and nothing found.
    #[cfg(CONFIG_KASAN_RUST_STACK_RING)]
    #[test]
    fn stack_ring_finds_alloc_and_free() -> Result {
        let state = boot_state();
        // SAFETY: Reads `current->pid`, as `kasan_set_track()` does.
        let pid = unsafe { rkasan_test_current_pid() };
        let lookup = |p: *const u8, alloc: &mut Track, free: &mut Track| {
            // SAFETY: Walks the ring under its lock; `alloc` and `free` are valid.
            c_bytes(unsafe { rkasan_test_stack_ring_lookup(p.cast(), alloc, free) })
        };
        // kmalloc(100) is a kmalloc-128 object.
        let v = KVec::<u8>::with_capacity(100, GFP_KERNEL)?;
        let p = v.as_ptr();
        let (mut alloc, mut free) = (Track::default(), Track::default());
        let bug = lookup(p, &mut alloc, &mut free);
        if !state.stacktrace {
            assert_eq!(bug, b"invalid-access");
            assert!(alloc.stack == 0 && free.stack == 0);
            return Ok(());
        }
        assert_eq!(bug, b"slab-out-of-bounds");
        assert!(alloc.stack != 0);
        assert_eq!(alloc.pid, pid);
        // No assertion on `free` here: the walk goes on past our allocation and may meet the free
        // of an earlier object at this address that drew the same tag (1 in 14 with MTE).
        drop(v);
        let (mut alloc, mut free) = (Track::default(), Track::default());
        assert_eq!(lookup(p, &mut alloc, &mut free), b"slab-use-after-free");
        assert!(alloc.stack != 0 && free.stack != 0);
        assert_eq!(free.pid, pid);
        Ok(())
    }
}
