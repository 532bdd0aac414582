// SPDX-License-Identifier: GPL-2.0

//! Proof that the hot path (`shadow.rs` and `check.rs`) cannot panic in a kernel build.
//!
//! The kernel builds Rust with overflow checks on and runs these functions on every
//! instrumented access, so a single reachable panic (an overflow check, a bounds check, an
//! `unwrap()`, a `core` precondition check) would be a `core::panicking` call on that path. This
//! test compiles the two files unchanged, like the kernel does, into a `no_std` object with a
//! kernel-like `Shadow` (`(addr >> 3) + KASAN_SHADOW_OFFSET`, filled with `__memset()`) and
//! `extern "C"` wrappers that instantiate every hot function, then reads the object's symbol
//! table: the only undefined symbol may be `__memset`, and no symbol may look like a panic.
//!
//! It runs for `-C opt-level=2` and `s` (CONFIG_CC_OPTIMIZE_FOR_PERFORMANCE / _SIZE) and with
//! debug assertions off and on (CONFIG_RUST_DEBUG_ASSERTIONS), always with overflow checks.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The generated crate root. `{SRC}` is replaced by the path of the core modules,
/// `linux/tree/mm/kasan/rkasan`.
const CRATE_ROOT: &str = r#"
#![no_std]
#![allow(missing_docs, unreachable_pub, dead_code)]

#[path = "{SRC}/shadow.rs"]
pub mod shadow;
#[path = "{SRC}/check.rs"]
pub mod check;

use check::*;
use shadow::*;

extern "C" {
    fn __memset(s: *mut u8, c: i32, n: usize) -> *mut u8;
}

const KASAN_SHADOW_OFFSET: usize = 0xdfff_fc00_0000_0000;
const KASAN_SHADOW_START: usize = 0xffff_ec00_0000_0000;

pub struct KernelShadow;

impl Shadow for KernelShadow {
    #[inline(always)]
    fn mem_to_shadow(&self, addr: usize) -> *mut u8 {
        core::ptr::with_exposed_provenance_mut((addr >> 3).wrapping_add(KASAN_SHADOW_OFFSET))
    }
    #[inline(always)]
    fn shadow_to_mem(&self, shadow: *const u8) -> usize {
        shadow.addr().wrapping_sub(KASAN_SHADOW_OFFSET) << 3
    }
    #[inline(always)]
    fn has_metadata(&self, addr: usize) -> bool {
        addr >= KASAN_SHADOW_START.wrapping_sub(KASAN_SHADOW_OFFSET) << 3
    }
    #[inline(always)]
    unsafe fn fill(&self, shadow: *mut u8, value: u8, len: usize) {
        unsafe { __memset(shadow, i32::from(value), len) };
    }
}

const K: KernelShadow = KernelShadow;

macro_rules! load_store {
    ($($name:ident = $size:literal),*) => {$(
        #[no_mangle]
        pub unsafe extern "C" fn $name(addr: usize) -> bool {
            unsafe {
                match fast_path::<_, $size>(&K, addr) {
                    FastPath::Good => true,
                    FastPath::Partial(k) if partial_granule_accepts::<$size>(addr, k) => true,
                    _ => check_access::<_, $size>(&K, addr).is_ok(),
                }
            }
        }
    )*};
}

load_store!(rk_load1 = 1, rk_load2 = 2, rk_load4 = 4, rk_load8 = 8, rk_load16 = 16);

#[no_mangle]
pub unsafe extern "C" fn rk_load_n(addr: usize, size: usize) -> i32 {
    match unsafe { check_range(&K, addr, size) } {
        Ok(()) => 0,
        Err(BadAccess::Overflow) => 1,
        Err(BadAccess::NoMetadata) => 2,
        Err(BadAccess::Poisoned) => 3,
    }
}

#[no_mangle]
pub unsafe extern "C" fn rk_poisoned_1(addr: usize) -> bool {
    unsafe { memory_is_poisoned_1(&K, addr) }
}

#[no_mangle]
pub unsafe extern "C" fn rk_poisoned_2_4_8(addr: usize, size: usize) -> bool {
    unsafe { memory_is_poisoned_2_4_8(&K, addr, size) }
}

#[no_mangle]
pub unsafe extern "C" fn rk_poisoned_16(addr: usize) -> bool {
    unsafe { memory_is_poisoned_16(&K, addr) }
}

#[no_mangle]
pub unsafe extern "C" fn rk_poisoned_n(addr: usize, size: usize) -> bool {
    unsafe { memory_is_poisoned_n(&K, addr, size) }
}

#[no_mangle]
pub unsafe extern "C" fn rk_poisoned_8(addr: usize) -> bool {
    unsafe { memory_is_poisoned::<_, 8>(&K, addr) }
}

#[no_mangle]
pub unsafe extern "C" fn rk_bytes_is_nonzero(start: *const u8, size: usize) -> *const u8 {
    match unsafe { bytes_is_nonzero(start, size) } {
        Some(p) => p.as_ptr(),
        None => core::ptr::null(),
    }
}

#[no_mangle]
pub unsafe extern "C" fn rk_memory_is_nonzero(start: *const u8, end: *const u8) -> *const u8 {
    match unsafe { memory_is_nonzero(start, end) } {
        Some(p) => p.as_ptr(),
        None => core::ptr::null(),
    }
}

#[no_mangle]
pub unsafe extern "C" fn rk_byte_accessible(addr: usize) -> bool {
    unsafe { byte_accessible(&K, addr) }
}

#[no_mangle]
pub unsafe extern "C" fn rk_find_first_bad_addr(addr: usize, size: usize) -> usize {
    unsafe { find_first_bad_addr(&K, addr, size) }
}

#[no_mangle]
pub unsafe extern "C" fn rk_poison(addr: usize, size: usize, value: u8) -> i32 {
    match unsafe { poison(&K, addr, size, value) } {
        Ok(()) => 0,
        Err(PoisonError::UnalignedAddr) => 1,
        Err(PoisonError::UnalignedSize) => 2,
    }
}

#[no_mangle]
pub unsafe extern "C" fn rk_unpoison(addr: usize, size: usize) -> bool {
    unsafe { unpoison(&K, addr, size).is_ok() }
}

#[no_mangle]
pub unsafe extern "C" fn rk_poison_last_granule(addr: usize, size: usize) {
    unsafe { poison_last_granule(&K, addr, size) }
}

#[no_mangle]
pub extern "C" fn rk_round_up_granule(size: usize) -> usize {
    round_up_granule(size)
}

#[no_mangle]
pub extern "C" fn rk_shadow_to_mem(shadow: *const u8) -> usize {
    K.shadow_to_mem(shadow)
}
"#;

/// Appended to [`CRATE_ROOT`] for the report path: `report.rs` may call `core::fmt` (it runs with
/// reports suppressed), but must not panic either.
const REPORT_PART: &str = r#"
#[path = "{SRC}/report.rs"]
pub mod report;

use core::fmt;
use report::*;

struct Count(usize);

impl fmt::Write for Count {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 = self.0.wrapping_add(s.len());
        Ok(())
    }
}

struct Env;

impl ReportEnv for Env {
    fn dump_stack<W: fmt::Write>(&mut self, w: &mut W) -> fmt::Result {
        w.write_str("stack\n")
    }
    fn stack_depot_print<W: fmt::Write>(&mut self, w: &mut W, _handle: u32) -> fmt::Result {
        w.write_str("depot\n")
    }
    fn describe_address<W: fmt::Write>(&mut self, w: &mut W, _addr: usize) -> fmt::Result {
        w.write_str("page\n")
    }
}

const LAYOUT: AddressLayout = AddressLayout { page_size: 4096, task_size: 0x7fff_ffff_f000 };

#[no_mangle]
pub unsafe extern "C" fn rk_report(
    kind: u8,
    addr: usize,
    size: usize,
    is_write: bool,
    object: usize,
    object_size: u32,
) -> usize {
    let report_type = match kind {
        0 => ReportType::Access,
        1 => ReportType::InvalidFree,
        _ => ReportType::DoubleFree,
    };
    let object = if object != 0 {
        Some(SlabObject { object, cache_name: "kmalloc-128", object_size })
    } else {
        None
    };
    let info =
        unsafe { complete_report_info(&K, report_type, addr, size, is_write, object, &LAYOUT) };
    let caller = ReportCaller { symbol: &"f+0x1/0x2", comm: "task", pid: 1 };
    let mut w = Count(0);
    let _ = start_report(&mut w);
    let _ = unsafe { print_report(&mut w, &K, &mut Env, &info, &caller) };
    let _ = end_report(&mut w);
    w.0
}

#[no_mangle]
pub unsafe extern "C" fn rk_invalid_free_type(ptr: usize, object: usize) -> i32 {
    match unsafe { invalid_free_type(&K, ptr, object) } {
        None => 0,
        Some(ReportType::InvalidFree) => 1,
        Some(_) => 2,
    }
}

#[no_mangle]
pub extern "C" fn rk_non_canonical(addr: usize, in_shadow: bool) -> usize {
    let mut w = Count(0);
    if let Some(nc) = non_canonical_bug_type(&K, addr, in_shadow, &LAYOUT) {
        let _ = print_non_canonical(&mut w, &nc);
    }
    w.0
}
"#;

/// Appended to [`CRATE_ROOT`] for the other core modules, with wrappers shaped like the kernel
/// glue's calls (`linux/tree/mm/kasan/rkasan/kernel_*.rs`): boot parameters (`kernel_params.rs`,
/// `kernel_quarantine.rs`), the quarantine (`kernel_quarantine.rs`), the stack ring, the tag
/// helpers and the software tag checks (`kernel_stack_ring.rs`, `kernel_tags.rs`,
/// `kernel_sw_tags.rs` over `kernel_shadow.rs`'s `KernelShadow`).
const CORE_PART: &str = r#"
#[path = "{SRC}/params.rs"]
pub mod params;
#[path = "{SRC}/quarantine.rs"]
pub mod quarantine;
#[path = "{SRC}/stack_ring.rs"]
pub mod stack_ring;
#[path = "{SRC}/sw_tags.rs"]
pub mod sw_tags;
#[path = "{SRC}/tags.rs"]
pub mod tags;

use core::ffi::c_void;
use core::ptr::NonNull;
use core::sync::atomic::AtomicU64;
use params::*;
use quarantine::*;
use stack_ring::Entry;

fn errno<T>(r: Result<T, ParamError>) -> i32 {
    match r {
        Ok(_) => 0,
        Err(e) => e.to_errno(),
    }
}

#[no_mangle]
pub fn rk_early_param(which: u8, arg: Option<&[u8]>) -> i32 {
    match which {
        0 => errno(early_kasan_flag(arg)),
        1 => errno(early_kasan_mode(arg)),
        2 => errno(early_kasan_flag_vmalloc(arg, true)),
        3 => errno(early_kasan_flag_vmalloc(arg, false)),
        4 => errno(early_kasan_flag_write_only(arg)),
        5 => errno(early_kasan_flag_page_alloc_sample(arg)),
        6 => errno(early_kasan_flag_page_alloc_sample_order(arg)),
        7 => errno(early_kasan_fault(arg)),
        8 => errno(early_kasan_flag_stacktrace(arg)),
        9 => errno(early_kasan_flag_stack_ring_size(arg)),
        _ => errno(early_kasan_quarantine_size(arg)),
    }
}

#[no_mangle]
pub fn rk_multi_shot(line: &[u8]) -> bool {
    kasan_set_multi_shot(line)
}

#[no_mangle]
pub fn rk_boot_args(cmdline: &[u8], param: &[u8], val: Option<&[u8]>, out: &mut BootArgs) -> usize {
    let mut b = BootArgs::default();
    let malformed = b.parse_command_line(cmdline);
    let _ = b.early_param(param, val);
    let _ = b.setup(param);
    *out = b;
    malformed.wrapping_add(stack_ring_size_or_default(b.stack_ring_size))
}

const BATCHES: usize = quarantine_batches(64);
static QUARANTINE: Quarantine<BATCHES> = Quarantine::new();

extern "C" {
    fn rk_qlink_to_cache(node: *mut QNode, size: *mut usize) -> *mut c_void;
    fn rk_qlink_free(node: *mut QNode, cache: *mut c_void);
}

fn qlink_to_cache(node: NonNull<QNode>) -> (*mut c_void, usize) {
    let mut size = 0;
    let cache = unsafe { rk_qlink_to_cache(node.as_ptr(), &mut size) };
    (cache, size)
}

fn free_all(list: QList, cache: *mut c_void) -> usize {
    let n = list.len();
    for node in list {
        unsafe { rk_qlink_free(node.as_ptr(), cache) };
    }
    n
}

#[no_mangle]
pub extern "C" fn rk_quarantine_limits(pages: usize, online: u32, kind: u8, value: usize) -> usize {
    let size = match kind {
        0 => QuarantineSize::Default,
        1 => QuarantineSize::Bytes(value),
        _ => QuarantineSize::Percent(u8::try_from(value).unwrap_or(100)),
    };
    let l = quarantine_limits(totalram_bytes(pages, 12), online, BATCHES, size);
    let l2 = quarantine_limits(totalram_bytes(pages, 12), online, BATCHES, QuarantineSize::Default);
    l.max_size.wrapping_add(l.batch_size).wrapping_add(l2.max_size)
        .wrapping_add(size.total_size(pages))
}

#[no_mangle]
pub unsafe extern "C" fn rk_quarantine_put(
    q: *mut CpuQuarantine,
    node: *mut QNode,
    size: usize,
    pages: usize,
    online: u32,
) -> usize {
    let Some(node) = NonNull::new(node) else {
        return 0;
    };
    let q = unsafe { &mut *q };
    let to_free = match unsafe { q.put(node, size) } {
        PutOutcome::Offline => return 1,
        PutOutcome::Queued => return 2,
        PutOutcome::Spill(batch) => {
            let mut ring = unsafe { QUARANTINE.assume_locked() };
            ring.put_batch(batch);
            if !QUARANTINE.needs_reduce() {
                return 3;
            }
            let limits =
                quarantine_limits(totalram_bytes(pages, 12), online, BATCHES, QuarantineSize::Default);
            ring.reduce(limits)
        }
    };
    free_all(to_free, core::ptr::null_mut()).wrapping_add(q.puts())
}

#[no_mangle]
pub unsafe extern "C" fn rk_quarantine_remove_cache(
    q: *mut CpuQuarantine,
    shrink: *mut QList,
    cache: *mut c_void,
) -> usize {
    let (q, shrink) = unsafe { (&mut *q, &mut *shrink) };
    let mut to_free = QList::new();
    if !q.is_offline() {
        q.remove_cache(shrink, &cache, qlink_to_cache);
    }
    QList::move_cache(shrink, &mut to_free, &cache, qlink_to_cache);
    let mut n = free_all(to_free.take(), cache);
    let mut ring = unsafe { QUARANTINE.assume_locked() };
    for i in 0..BATCHES {
        if ring.remove_cache_batch(i, &mut to_free, &cache, qlink_to_cache) {
            n = n.wrapping_add(to_free.bytes());
        }
    }
    ring.count_cache_removal();
    n.wrapping_add(free_all(to_free, cache))
}

#[no_mangle]
pub unsafe extern "C" fn rk_quarantine_cpu(q: *mut CpuQuarantine, online: bool) -> usize {
    let q = unsafe { &mut *q };
    if online {
        q.set_online();
        return q.list().len();
    }
    let mut n = free_all(q.set_offline(), core::ptr::null_mut());
    let mut ring = unsafe { QUARANTINE.assume_locked() };
    let st = ring.stats();
    n = n.wrapping_add(st.held_objects).wrapping_add(st.size);
    n = n.wrapping_add(ring.head()).wrapping_add(ring.tail());
    n = n.wrapping_add(ring.batch(3).map_or(0, QList::len));
    n.wrapping_add(free_all(ring.drain_all(), core::ptr::null_mut()))
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Track {
    pub pid: u32,
    pub stack: u32,
}

#[no_mangle]
pub unsafe fn rk_stack_ring_save(
    ring: &[Entry<Track>],
    pos: &AtomicU64,
    object: usize,
    object_size: usize,
    track: Track,
    is_free: bool,
) -> u32 {
    let Some(entry) = stack_ring::claim(ring, pos) else {
        return 0;
    };
    unsafe { stack_ring::record(entry, object, object_size, track, is_free) }.stack
}

#[no_mangle]
pub unsafe fn rk_stack_ring_find(
    ring: &[Entry<Track>],
    pos: u64,
    object: usize,
    tag: u8,
    object_size: usize,
    access_addr: usize,
    access_size: usize,
    alloc: *mut Track,
    free: *mut Track,
) -> *const u8 {
    let found = unsafe { stack_ring::find(ring, pos, object, tag, object_size) };
    unsafe {
        if let Some(t) = found.alloc {
            alloc.write(t);
        }
        if let Some(t) = found.free {
            free.write(t);
        }
    }
    let a = stack_ring::bug_type(&found, access_addr, access_size).name();
    let b = stack_ring::common_bug_type(access_addr, access_size).name();
    if access_size & 1 == 0 { a.as_ptr() } else { b.as_ptr() }
}

#[no_mangle]
pub extern "C" fn rk_tags(addr: u64, tag: u8, state: u32, random: u64, object_size: usize) -> u64 {
    let p = addr as usize as *mut u8;
    let mut t = tags::sw_tag_from_state(tags::sw_prng_next(state));
    t ^= tags::mte_get_ptr_tag(addr) ^ tags::get_tag(addr) ^ tags::get_tag_ptr(p);
    t ^= tags::hw_random_tag(random) ^ tags::irg_tag(random, tags::KERNEL_GCR_EL1_EXCL);
    let mut s = state;
    t ^= tags::assign_tag(false, tag & 1 != 0, tag & 2 != 0, tag, || tags::sw_random_tag(&mut s));
    let mut skip = state as isize;
    let sampled = tags::sample_page_alloc(&mut skip, object_size, 3, u32::from(tag));
    let size = tags::alloc_size(|i| tags::get_tag(addr.wrapping_add(i as u64)), 16, object_size);
    (tags::set_tag_ptr(tags::reset_tag_ptr(p), t) as u64)
        ^ tags::reset_tag(addr)
        ^ tags::untagged_addr(addr)
        ^ tags::set_tag(addr, t)
        ^ u64::from(sampled)
        ^ size as u64
}

const SW_KASAN_SHADOW_OFFSET: usize = 0xffff_ffc0_0000_0000;

pub struct TagShadow;

impl Shadow for TagShadow {
    #[inline(always)]
    fn mem_to_shadow(&self, addr: usize) -> *mut u8 {
        core::ptr::with_exposed_provenance_mut(
            (addr >> sw_tags::SW_TAGS_SCALE_SHIFT).wrapping_add(SW_KASAN_SHADOW_OFFSET),
        )
    }
    #[inline(always)]
    fn shadow_to_mem(&self, shadow: *const u8) -> usize {
        shadow.addr().wrapping_sub(SW_KASAN_SHADOW_OFFSET) << sw_tags::SW_TAGS_SCALE_SHIFT
    }
    #[inline(always)]
    fn has_metadata(&self, addr: usize) -> bool {
        addr >= 0xffff_8000_0000_0000
    }
    #[inline(always)]
    unsafe fn fill(&self, shadow: *mut u8, value: u8, len: usize) {
        unsafe { __memset(shadow, i32::from(value), len) };
    }
}

#[no_mangle]
pub unsafe extern "C" fn rk_sw_tags(op: u8, addr: usize, size: usize, value: u8) -> usize {
    let s = TagShadow;
    unsafe {
        match op {
            0 => usize::from(sw_tags::check_range(&s, addr, size).is_err()),
            1 => usize::from(sw_tags::byte_accessible(&s, addr)),
            2 => usize::from(sw_tags::poison(&s, addr, size, value).is_ok()),
            3 => usize::from(sw_tags::unpoison(&s, addr, size).is_ok()),
            _ => sw_tags::find_first_bad_addr(&s, addr, size)
                .wrapping_add(sw_tags::round_up_granule(size)),
        }
    }
}
"#;

/// The wrappers of [`CORE_PART`].
const CORE_WRAPPERS: &[&str] = &[
    "rk_early_param",
    "rk_multi_shot",
    "rk_boot_args",
    "rk_quarantine_limits",
    "rk_quarantine_put",
    "rk_quarantine_remove_cache",
    "rk_quarantine_cpu",
    "rk_stack_ring_save",
    "rk_stack_ring_find",
    "rk_tags",
    "rk_sw_tags",
];

/// What [`CORE_PART`] may call: the shadow fill, the glue's quarantine callbacks and, for the
/// boot parameters' keyword comparisons (at `opt-level=s`), `bcmp()` / `memcmp()` of
/// `lib/string.c`.
const CORE_ALLOWED_UNDEFINED: &[&str] = &[
    "__memset",
    "rk_qlink_to_cache",
    "rk_qlink_free",
    "bcmp",
    "memcmp",
];

/// Every wrapper above: each must be defined in the object, or the test proves nothing.
const WRAPPERS: &[&str] = &[
    "rk_load1",
    "rk_load2",
    "rk_load4",
    "rk_load8",
    "rk_load16",
    "rk_load_n",
    "rk_poisoned_1",
    "rk_poisoned_2_4_8",
    "rk_poisoned_16",
    "rk_poisoned_n",
    "rk_poisoned_8",
    "rk_bytes_is_nonzero",
    "rk_memory_is_nonzero",
    "rk_byte_accessible",
    "rk_find_first_bad_addr",
    "rk_poison",
    "rk_unpoison",
    "rk_poison_last_granule",
    "rk_round_up_granule",
    "rk_shadow_to_mem",
];

/// The only symbols the hot path may call.
const ALLOWED_UNDEFINED: &[&str] = &["__memset"];

/// Substrings of symbols that mean a panic path (`core::panicking::*`, `panic_bounds_check`,
/// `panic_const_*`, `unwrap_failed`, `slice_*_fail`, `assert_failed`, ...).
const FORBIDDEN: &[&str] = &["panic", "fail", "unwrap", "expect"];

struct Symbol {
    name: String,
    defined: bool,
}

fn u16_at(b: &[u8], off: usize) -> usize {
    u16::from_le_bytes(b[off..off + 2].try_into().unwrap()) as usize
}

fn u32_at(b: &[u8], off: usize) -> usize {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap()) as usize
}

fn u64_at(b: &[u8], off: usize) -> usize {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap()) as usize
}

/// The symbol table of a little-endian ELF64 relocatable object.
fn elf64_symbols(obj: &[u8]) -> Vec<Symbol> {
    assert_eq!(&obj[..4], b"\x7fELF", "not an ELF object");
    assert_eq!(obj[4], 2, "not ELF64");
    assert_eq!(obj[5], 1, "not little-endian");
    let shoff = u64_at(obj, 0x28);
    let shentsize = u16_at(obj, 0x3A);
    let shnum = u16_at(obj, 0x3C);
    let section = |i: usize| &obj[shoff + i * shentsize..shoff + (i + 1) * shentsize];

    let mut symbols = Vec::new();
    for i in 0..shnum {
        let sh = section(i);
        const SHT_SYMTAB: usize = 2;
        if u32_at(sh, 4) != SHT_SYMTAB {
            continue;
        }
        let (off, size, entsize) = (u64_at(sh, 0x18), u64_at(sh, 0x20), u64_at(sh, 0x38));
        let strtab = section(u32_at(sh, 0x28));
        let str_off = u64_at(strtab, 0x18);
        for sym in obj[off..off + size].chunks_exact(entsize).skip(1) {
            let name_off = str_off + u32_at(sym, 0);
            let len = obj[name_off..].iter().position(|&c| c == 0).unwrap();
            let name = String::from_utf8_lossy(&obj[name_off..name_off + len]).into_owned();
            if name.is_empty() {
                continue;
            }
            symbols.push(Symbol {
                name,
                defined: u16_at(sym, 6) != 0,
            });
        }
    }
    symbols
}

fn rustc() -> String {
    std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into())
}

fn build_object(
    dir: &Path,
    name: &str,
    source: &str,
    opt_level: &str,
    debug_assertions: &str,
) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../linux/tree/mm/kasan/rkasan");
    let root = dir.join(format!("{name}.rs"));
    std::fs::write(&root, source.replace("{SRC}", src.to_str().unwrap())).unwrap();
    let obj = dir.join(format!("{name}-O{opt_level}-da{debug_assertions}.o"));
    let out = Command::new(rustc())
        .args([
            "--edition=2021",
            "--crate-type=lib",
            "--crate-name=rkasan_hot_path",
        ])
        .args(["--emit=obj", "-o"])
        .arg(&obj)
        .args(["-C", &format!("opt-level={opt_level}")])
        .args([
            "-C",
            "overflow-checks=on",
            "-C",
            "panic=abort",
            "-C",
            "codegen-units=1",
        ])
        .args(["-C", &format!("debug-assertions={debug_assertions}")])
        .arg(&root)
        .output()
        .expect("failed to run rustc");
    assert!(
        out.status.success(),
        "rustc failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    obj
}

#[test]
fn hot_path_references_no_panic() {
    if !cfg!(all(
        target_os = "linux",
        target_endian = "little",
        target_pointer_width = "64"
    )) {
        eprintln!("skipped: the symbol check reads little-endian ELF64 objects");
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no_panic");
    std::fs::create_dir_all(&dir).unwrap();

    for opt_level in ["2", "s"] {
        for debug_assertions in ["off", "on"] {
            let obj = build_object(
                &dir,
                "rkasan_hot_path",
                CRATE_ROOT,
                opt_level,
                debug_assertions,
            );
            let symbols = elf64_symbols(&std::fs::read(&obj).unwrap());
            let config = format!("opt-level={opt_level} debug-assertions={debug_assertions}");

            for w in WRAPPERS {
                assert!(
                    symbols.iter().any(|s| s.defined && s.name == *w),
                    "{config}: wrapper {w} missing from the object"
                );
            }
            let undefined: Vec<&str> = symbols
                .iter()
                .filter(|s| !s.defined)
                .map(|s| s.name.as_str())
                .collect();
            for u in &undefined {
                assert!(
                    ALLOWED_UNDEFINED.contains(u),
                    "{config}: the hot path calls {u}"
                );
            }
            assert!(
                undefined.contains(&"__memset"),
                "{config}: poison() no longer fills through Shadow::fill()"
            );
            assert_eq!(
                has_panic_symbol(&symbols),
                None,
                "{config}: panic-like symbol"
            );
            eprintln!(
                "{config}: {} symbols, undefined: {undefined:?}",
                symbols.len()
            );
        }
    }
}

fn has_panic_symbol(symbols: &[Symbol]) -> Option<&str> {
    symbols
        .iter()
        .map(|s| s.name.as_str())
        .find(|n| FORBIDDEN.iter().any(|f| n.to_lowercase().contains(f)))
}

#[test]
fn report_path_references_no_panic() {
    if !cfg!(all(
        target_os = "linux",
        target_endian = "little",
        target_pointer_width = "64"
    )) {
        eprintln!("skipped: the symbol check reads little-endian ELF64 objects");
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no_panic");
    std::fs::create_dir_all(&dir).unwrap();
    let source = format!("{CRATE_ROOT}{REPORT_PART}");
    for debug_assertions in ["off", "on"] {
        let obj = build_object(&dir, "rkasan_report_path", &source, "2", debug_assertions);
        let symbols = elf64_symbols(&std::fs::read(&obj).unwrap());
        for w in ["rk_report", "rk_invalid_free_type", "rk_non_canonical"] {
            assert!(
                symbols.iter().any(|s| s.defined && s.name == w),
                "{w} missing"
            );
        }
        assert_eq!(
            has_panic_symbol(&symbols),
            None,
            "debug-assertions={debug_assertions}: report path may panic"
        );
        let undefined: Vec<&str> = symbols
            .iter()
            .filter(|s| !s.defined)
            .map(|s| s.name.as_str())
            .collect();
        eprintln!("report path, debug-assertions={debug_assertions}: undefined {undefined:?}");
    }
}

#[test]
fn core_modules_reference_no_panic() {
    if !cfg!(all(
        target_os = "linux",
        target_endian = "little",
        target_pointer_width = "64"
    )) {
        eprintln!("skipped: the symbol check reads little-endian ELF64 objects");
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no_panic");
    std::fs::create_dir_all(&dir).unwrap();
    let source = format!("{CRATE_ROOT}{CORE_PART}");
    for opt_level in ["2", "s"] {
        for debug_assertions in ["off", "on"] {
            let obj = build_object(&dir, "rkasan_core", &source, opt_level, debug_assertions);
            let symbols = elf64_symbols(&std::fs::read(&obj).unwrap());
            let config = format!("opt-level={opt_level} debug-assertions={debug_assertions}");
            for w in CORE_WRAPPERS {
                assert!(
                    symbols.iter().any(|s| s.defined && s.name == *w),
                    "{config}: wrapper {w} missing from the object"
                );
            }
            let undefined: Vec<&str> = symbols
                .iter()
                .filter(|s| !s.defined)
                .map(|s| s.name.as_str())
                .collect();
            for u in &undefined {
                assert!(
                    CORE_ALLOWED_UNDEFINED.contains(u),
                    "{config}: the core modules call {u}"
                );
            }
            assert_eq!(
                has_panic_symbol(&symbols),
                None,
                "{config}: panic-like symbol in quarantine, params, stack_ring, sw_tags or tags"
            );
            eprintln!(
                "core modules, {config}: {} symbols, undefined: {undefined:?}",
                symbols.len()
            );
        }
    }
}
