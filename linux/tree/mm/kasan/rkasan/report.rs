// SPDX-License-Identifier: GPL-2.0

//! The text of a generic KASAN report, and the logic that decides what it says.
//!
//! The Rust twin of the pure parts of [`mm/kasan/report.c`](srctree/mm/kasan/report.c) and
//! [`mm/kasan/report_generic.c`](srctree/mm/kasan/report_generic.c): the bug-type
//! classification, the allocation-size inference from the shadow, and every line of the report
//! that does not come from another kernel subsystem, formatted into any [`fmt::Write`] with
//! upstream's exact layout. The kernel-owned parts of a report (the stack dump, stack depot
//! traces, the page dump, symbol names, locking, taint, `panic_on_warn`) stay in the kernel glue,
//! which supplies them through [`ReportEnv`].
//!
//! Each printing function is named after the upstream function whose `pr_err()`s it reproduces
//! and writes whole lines, each ending in `'\n'`. Report code runs with reports suppressed for the
//! current task, so it may use `core::fmt`; it still never panics or indexes.

use core::fmt::{self, Write};

use crate::check::{byte_accessible, find_first_bad_addr};
use crate::shadow::{
    Shadow, KASAN_ALLOCA_LEFT, KASAN_ALLOCA_RIGHT, KASAN_GLOBAL_REDZONE, KASAN_GRANULE_MASK,
    KASAN_GRANULE_SIZE, KASAN_PAGE_FREE, KASAN_PAGE_REDZONE, KASAN_SLAB_FREE, KASAN_SLAB_FREE_META,
    KASAN_SLAB_REDZONE, KASAN_STACK_LEFT, KASAN_STACK_MID, KASAN_STACK_PARTIAL, KASAN_STACK_RIGHT,
    KASAN_VMALLOC_INVALID,
};

/// Shadow bytes per block of the memory-state dump: `META_BYTES_PER_BLOCK` in mm/kasan/kasan.h.
pub const META_BYTES_PER_BLOCK: usize = 1;

/// Blocks per row of the memory-state dump: `META_BLOCKS_PER_ROW` in mm/kasan/kasan.h.
pub const META_BLOCKS_PER_ROW: usize = 16;

/// Shadow bytes per row of the memory-state dump: `META_BYTES_PER_ROW` in mm/kasan/kasan.h.
pub const META_BYTES_PER_ROW: usize = META_BLOCKS_PER_ROW * META_BYTES_PER_BLOCK;

/// Memory bytes described by one row: `META_MEM_BYTES_PER_ROW` in mm/kasan/kasan.h.
pub const META_MEM_BYTES_PER_ROW: usize = META_BYTES_PER_ROW * KASAN_GRANULE_SIZE;

/// Rows printed on each side of the row of the bad address: `META_ROWS_AROUND_ADDR`.
pub const META_ROWS_AROUND_ADDR: usize = 2;

/// The line that opens and closes every report (`start_report()` / `end_report()`): 66 `'='`.
pub const REPORT_SEPARATOR: &str =
    "==================================================================";

const _: () = assert!(REPORT_SEPARATOR.len() == 66);

/// Hex digits of a `%px` pointer: `BITS_PER_LONG / 4`.
const PX_WIDTH: usize = 2 * core::mem::size_of::<usize>();

/// Formats an address like the kernel's `%px`: zero-padded lowercase hex, 16 digits on 64-bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Px(pub usize);

impl fmt::Display for Px {
    // Inline: compiled only into the kernels whose reports format it.
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Literal widths: a width passed as an argument is range-checked at run time by
        // `core::fmt`, which brings in a panic path.
        if cfg!(target_pointer_width = "64") {
            write!(f, "{:016x}", self.0)
        } else {
            write!(f, "{:08x}", self.0)
        }
    }
}

/// What is being reported: `enum kasan_report_type` in mm/kasan/kasan.h.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportType {
    /// A bad memory access (`KASAN_REPORT_ACCESS`).
    Access,
    /// A free of a pointer that is not the start of an object (`KASAN_REPORT_INVALID_FREE`).
    InvalidFree,
    /// A free of an object that is not accessible (`KASAN_REPORT_DOUBLE_FREE`).
    DoubleFree,
    /// A write into a freed slab object that `kasan.free_check` found when the object left the
    /// quarantine (rkasan; no C twin, see the `free_check` module). Classified by the shadow as an
    /// access is, which says the object is freed.
    WriteAfterFree,
}

/// The bug title of a report, the `%s` of `BUG: KASAN: %s in %pS`.
///
/// Every string that mm/kasan/report_generic.c and report.c can put there in generic mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BugType {
    /// `"out-of-bounds"`: a shadow value in `0..8` (a race), or an access whose end wraps.
    OutOfBounds,
    /// `"slab-out-of-bounds"`: [`KASAN_SLAB_REDZONE`] or [`KASAN_PAGE_REDZONE`].
    SlabOutOfBounds,
    /// `"global-out-of-bounds"`: [`KASAN_GLOBAL_REDZONE`].
    GlobalOutOfBounds,
    /// `"stack-out-of-bounds"`: one of the `KASAN_STACK_*` redzones.
    StackOutOfBounds,
    /// `"use-after-free"`: [`KASAN_PAGE_FREE`].
    UseAfterFree,
    /// `"slab-use-after-free"`: [`KASAN_SLAB_FREE`] or [`KASAN_SLAB_FREE_META`].
    SlabUseAfterFree,
    /// `"alloca-out-of-bounds"`: [`KASAN_ALLOCA_LEFT`] or [`KASAN_ALLOCA_RIGHT`].
    AllocaOutOfBounds,
    /// `"vmalloc-out-of-bounds"`: [`KASAN_VMALLOC_INVALID`].
    VmallocOutOfBounds,
    /// `"unknown-crash"`: any other shadow value.
    UnknownCrash,
    /// `"null-ptr-deref"`: an address without shadow below `PAGE_SIZE`.
    NullPtrDeref,
    /// `"user-memory-access"`: an address without shadow below `TASK_SIZE`.
    UserMemoryAccess,
    /// `"wild-memory-access"`: any other address without shadow.
    WildMemoryAccess,
    /// `"invalid-free"`: a [`ReportType::InvalidFree`] report.
    InvalidFree,
    /// `"double-free"`: a [`ReportType::DoubleFree`] report.
    DoubleFree,
}

impl BugType {
    /// Returns the exact upstream title.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::OutOfBounds => "out-of-bounds",
            Self::SlabOutOfBounds => "slab-out-of-bounds",
            Self::GlobalOutOfBounds => "global-out-of-bounds",
            Self::StackOutOfBounds => "stack-out-of-bounds",
            Self::UseAfterFree => "use-after-free",
            Self::SlabUseAfterFree => "slab-use-after-free",
            Self::AllocaOutOfBounds => "alloca-out-of-bounds",
            Self::VmallocOutOfBounds => "vmalloc-out-of-bounds",
            Self::UnknownCrash => "unknown-crash",
            Self::NullPtrDeref => "null-ptr-deref",
            Self::UserMemoryAccess => "user-memory-access",
            Self::WildMemoryAccess => "wild-memory-access",
            Self::InvalidFree => "invalid-free",
            Self::DoubleFree => "double-free",
        }
    }
}

impl fmt::Display for BugType {
    // Inline: compiled only into the kernels whose reports format it.
    #[inline]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The arch constants that classify an address without shadow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressLayout {
    /// `PAGE_SIZE`: below it, a NULL-pointer dereference.
    pub page_size: usize,
    /// `TASK_SIZE`: below it, a user-memory access.
    pub task_size: usize,
}

/// Classifies a shadow value: the `switch` of `get_shadow_bug_type()` in
/// mm/kasan/report_generic.c.
pub const fn shadow_bug_type(value: u8) -> BugType {
    match value {
        // In theory still possible due to a data race in the kernel code.
        0..=7 => BugType::OutOfBounds,
        KASAN_PAGE_REDZONE | KASAN_SLAB_REDZONE => BugType::SlabOutOfBounds,
        KASAN_GLOBAL_REDZONE => BugType::GlobalOutOfBounds,
        KASAN_STACK_LEFT | KASAN_STACK_MID | KASAN_STACK_RIGHT | KASAN_STACK_PARTIAL => {
            BugType::StackOutOfBounds
        }
        KASAN_PAGE_FREE => BugType::UseAfterFree,
        KASAN_SLAB_FREE | KASAN_SLAB_FREE_META => BugType::SlabUseAfterFree,
        KASAN_ALLOCA_LEFT | KASAN_ALLOCA_RIGHT => BugType::AllocaOutOfBounds,
        KASAN_VMALLOC_INVALID => BugType::VmallocOutOfBounds,
        _ => BugType::UnknownCrash,
    }
}

const _: () = assert!(KASAN_GRANULE_SIZE - 1 == 7);

/// Classifies a bad access by the shadow of its first bad address.
///
/// Follows `get_shadow_bug_type()` in mm/kasan/report_generic.c: a partial granule (shadow in
/// `1..8`) says nothing, so the next granule's shadow byte decides.
///
/// # Safety
///
/// The shadow bytes of `first_bad_addr` and of the next granule must be readable.
pub unsafe fn get_shadow_bug_type<S: Shadow>(shadow: &S, first_bad_addr: usize) -> BugType {
    let mut shadow_addr = shadow.mem_to_shadow(first_bad_addr);
    // SAFETY: the caller guarantees that the shadow byte of `first_bad_addr` is readable.
    let mut value = unsafe { shadow_addr.read() };
    if value > 0 && usize::from(value) <= KASAN_GRANULE_MASK {
        shadow_addr = shadow_addr.wrapping_add(1);
        // SAFETY: the caller guarantees that the next granule's shadow byte is readable.
        value = unsafe { shadow_addr.read() };
    }
    shadow_bug_type(value)
}

/// Classifies a bad access to an address without shadow.
///
/// Follows `get_wild_bug_type()` in mm/kasan/report_generic.c.
pub const fn get_wild_bug_type(access_addr: usize, layout: &AddressLayout) -> BugType {
    if access_addr < layout.page_size {
        BugType::NullPtrDeref
    } else if access_addr < layout.task_size {
        BugType::UserMemoryAccess
    } else {
        BugType::WildMemoryAccess
    }
}

/// Classifies a bad access.
///
/// Follows `get_bug_type()` in mm/kasan/report_generic.c: an access whose end wraps (such as a
/// negative size cast to `size_t`) is `"out-of-bounds"` whatever the shadow says; otherwise the
/// shadow of `first_bad_addr` decides if the address has shadow, the address itself if not.
///
/// # Safety
///
/// If `shadow.has_metadata(access_addr)` and the access does not wrap, the shadow bytes of
/// `first_bad_addr` and of the next granule must be readable.
pub unsafe fn get_bug_type<S: Shadow>(
    shadow: &S,
    access_addr: usize,
    access_size: usize,
    first_bad_addr: usize,
    layout: &AddressLayout,
) -> BugType {
    if access_addr.wrapping_add(access_size) < access_addr {
        return BugType::OutOfBounds;
    }
    if shadow.has_metadata(access_addr) {
        // SAFETY: the address has shadow, so the caller guarantees it is readable.
        return unsafe { get_shadow_bug_type(shadow, first_bad_addr) };
    }
    get_wild_bug_type(access_addr, layout)
}

/// Returns the allocation size of a slab object, inferred from its shadow, or 0 for a freed
/// object.
///
/// Follows `kasan_get_alloc_size()` in mm/kasan/report_generic.c: counts the accessible granules
/// from the start of the object, up to `object_size` (`cache->object_size`).
///
/// # Safety
///
/// The shadow of `object..object + object_size` must be readable.
#[doc(alias = "kasan_get_alloc_size")]
pub unsafe fn get_alloc_size<S: Shadow>(shadow: &S, object: usize, object_size: u32) -> usize {
    let object_size = object_size as usize;
    let mut size: usize = 0;
    let mut shadow_addr = shadow.mem_to_shadow(object);
    while size < object_size {
        // SAFETY: `size < object_size`, so this is the shadow of a granule of the object, which
        // the caller guarantees is readable.
        let value = unsafe { shadow_addr.read() };
        if value == 0 {
            size = size.wrapping_add(KASAN_GRANULE_SIZE);
        } else if value >= 1 && usize::from(value) <= KASAN_GRANULE_MASK {
            return size.wrapping_add(usize::from(value));
        } else {
            return size;
        }
        shadow_addr = shadow_addr.wrapping_add(1);
    }
    object_size
}

/// Returns whether the free meta of a slab object is valid, i.e. whether the report can print
/// its free track.
///
/// The test of `kasan_complete_mode_report_info()` in mm/kasan/report_generic.c: the shadow
/// byte of the object's first granule is [`KASAN_SLAB_FREE_META`].
///
/// # Safety
///
/// The shadow byte of `object` must be readable.
pub unsafe fn object_has_free_meta<S: Shadow>(shadow: &S, object: usize) -> bool {
    // SAFETY: the caller guarantees that the shadow byte of `object` is readable.
    unsafe { shadow.mem_to_shadow(object).read() == KASAN_SLAB_FREE_META }
}

/// Decides whether freeing `ptr` must be reported, and as what.
///
/// The decision of `check_slab_allocation()` and `check_page_allocation()` in
/// mm/kasan/common.c (they then call `kasan_report_invalid_free()`): `ptr` not at the start of
/// its object (`object_start`: `nearest_obj()` for slab, `page_address()` for pages) is an
/// [`ReportType::InvalidFree`]; an inaccessible first granule (`!kasan_byte_accessible()`, e.g.
/// [`KASAN_SLAB_FREE`], [`KASAN_SLAB_FREE_META`] or [`KASAN_PAGE_FREE`]) a
/// [`ReportType::DoubleFree`]. `None` means the free is fine.
///
/// # Safety
///
/// If `ptr == object_start`, the shadow byte of `ptr` must be readable.
pub unsafe fn invalid_free_type<S: Shadow>(
    shadow: &S,
    ptr: usize,
    object_start: usize,
) -> Option<ReportType> {
    if ptr != object_start {
        return Some(ReportType::InvalidFree);
    }
    // SAFETY: `ptr == object_start`, so the caller guarantees its shadow byte is readable.
    if !unsafe { byte_accessible(shadow, ptr) } {
        return Some(ReportType::DoubleFree);
    }
    None
}

/// The slab object that contains the bad address, as found by the kernel glue
/// (`kasan_addr_to_slab()` and `nearest_obj()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlabObject<'a> {
    /// Start of the object (`info->object`).
    pub object: usize,
    /// Name of its cache (`cache->name`).
    pub cache_name: &'a str,
    /// `cache->object_size`.
    pub object_size: u32,
}

/// An allocation or free track: `struct kasan_track` of mm/kasan/kasan.h.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Track {
    /// PID of the task that allocated or freed.
    pub pid: u32,
    /// Stack depot handle (`depot_stack_handle_t`), 0 if none.
    pub stack: u32,
    /// The `CONFIG_KASAN_EXTRA_INFO` fields, when the kernel records them.
    pub extra: Option<TrackExtra>,
}

/// The `CONFIG_KASAN_EXTRA_INFO` fields of `struct kasan_track`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrackExtra {
    /// The CPU the allocation or free ran on.
    pub cpu: u32,
    /// `local_clock() >> 9`, as `save_extra_info()` in mm/kasan/common.c stores it.
    pub timestamp: u64,
}

/// Everything a report says: `struct kasan_report_info` of mm/kasan/kasan.h.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportInfo<'a> {
    /// What is reported.
    pub report_type: ReportType,
    /// The accessed (or freed) address.
    pub access_addr: usize,
    /// The access size, 0 for frees.
    pub access_size: usize,
    /// Whether the access was a write.
    pub is_write: bool,
    /// The address whose shadow classifies the bug, and around which the shadow is dumped.
    pub first_bad_addr: usize,
    /// The slab object the address belongs to, if any (`info->cache` and `info->object`).
    pub object: Option<SlabObject<'a>>,
    /// The allocation size of `object` (its object size if the shadow does not tell).
    pub alloc_size: usize,
    /// The title of the report.
    pub bug_type: BugType,
    /// The object's allocation track, filled in by the glue from the alloc meta.
    pub alloc_track: Track,
    /// The object's free track, filled in by the glue from the free meta.
    pub free_track: Track,
    /// The alloc meta's `aux_stack` handles (`kasan_record_aux_stack()`), 0 if none.
    pub aux_stack: [u32; 2],
}

/// Computes the generic parts of a report's information.
///
/// Follows `complete_report_info()` in mm/kasan/report.c and the bug-type part of
/// `kasan_complete_mode_report_info()` in mm/kasan/report_generic.c: the first bad address is
/// found for accesses (for frees it is the freed address), the allocation size is inferred from
/// the shadow with the object size as fallback, and the bug type comes from the report type or
/// from [`get_bug_type`]. The tracks are left empty for the glue to fill in from the object's
/// metadata.
///
/// # Safety
///
/// If `shadow.has_metadata(access_addr)`: for an access that does not wrap, the shadow of
/// `access_addr..access_addr + access_size` and of the granule after it must be readable; for a
/// free, the shadow of `access_addr` and of the next granule. If `object` is given, the shadow of
/// the whole object must be readable.
pub unsafe fn complete_report_info<'a, S: Shadow>(
    shadow: &S,
    report_type: ReportType,
    access_addr: usize,
    access_size: usize,
    is_write: bool,
    object: Option<SlabObject<'a>>,
    layout: &AddressLayout,
) -> ReportInfo<'a> {
    let first_bad_addr = match report_type {
        // SAFETY: the caller guarantees that the shadow of the access is readable.
        ReportType::Access => unsafe { find_first_bad_addr(shadow, access_addr, access_size) },
        ReportType::InvalidFree | ReportType::DoubleFree | ReportType::WriteAfterFree => {
            access_addr
        }
    };
    let alloc_size = match object {
        Some(o) => {
            // SAFETY: the caller guarantees that the shadow of the object is readable.
            let size = unsafe { get_alloc_size(shadow, o.object, o.object_size) };
            if size == 0 {
                o.object_size as usize
            } else {
                size
            }
        }
        None => 0,
    };
    let bug_type = match report_type {
        ReportType::InvalidFree => BugType::InvalidFree,
        ReportType::DoubleFree => BugType::DoubleFree,
        // SAFETY: `first_bad_addr` is in the access (or one granule past it, whose shadow the
        // caller guarantees is readable as well).
        ReportType::Access | ReportType::WriteAfterFree => unsafe {
            get_bug_type(shadow, access_addr, access_size, first_bad_addr, layout)
        },
    };
    ReportInfo {
        report_type,
        access_addr,
        access_size,
        is_write,
        first_bad_addr,
        object,
        alloc_size,
        bug_type,
        alloc_track: Track::default(),
        free_track: Track::default(),
        aux_stack: [0; 2],
    }
}

/// Who made the bad access: the caller's symbol and the current task.
#[derive(Clone, Copy)]
pub struct ReportCaller<'a> {
    /// `%pS` of the caller's return address, e.g. `kmalloc_oob_right+0x68d/0x7f0`.
    pub symbol: &'a dyn fmt::Display,
    /// `current->comm`.
    pub comm: &'a str,
    /// `task_pid_nr(current)`.
    pub pid: i32,
}

/// The parts of a report that the kernel prints itself.
pub trait ReportEnv {
    /// `dump_stack_lvl(KERN_ERR)`: the `CPU: ...` header and the call trace.
    fn dump_stack<W: Write>(&mut self, w: &mut W) -> fmt::Result;

    /// `stack_depot_print(handle)`: the stack trace saved under a non-zero depot handle.
    fn stack_depot_print<W: Write>(&mut self, w: &mut W, handle: u32) -> fmt::Result;

    /// The tail of `print_address_description()`, after the object: the
    /// `The buggy address belongs to the variable:` / stack frame / vmalloc / physical page
    /// sections of `addr`, each followed by its blank line.
    fn describe_address<W: Write>(&mut self, w: &mut W, addr: usize) -> fmt::Result;
}

/// Writes the opening separator: the printing part of `start_report()` in mm/kasan/report.c.
pub fn start_report<W: Write>(w: &mut W) -> fmt::Result {
    writeln!(w, "{}", REPORT_SEPARATOR)
}

/// Writes the closing separator: the printing part of `end_report()` in mm/kasan/report.c.
pub fn end_report<W: Write>(w: &mut W) -> fmt::Result {
    writeln!(w, "{}", REPORT_SEPARATOR)
}

/// Writes the title and access lines.
///
/// Follows `print_error_description()` in mm/kasan/report.c:
///
/// ```text
/// BUG: KASAN: slab-out-of-bounds in kmalloc_oob_right+0x68d/0x7f0
/// Write of size 1 at addr 0000000061db2073 by task kunit_try_catch/18
/// ```
///
/// or `Free of addr %px by task %s/%d` for frees, and `Read at addr ...` for a zero size. A
/// [`ReportType::WriteAfterFree`] says `Write of size N at addr X after free, found by task
/// T/P as the object left the quarantine`: syzkaller reads `Write of size N at addr X` as it
/// reads an access.
pub fn print_error_description<W: Write>(
    w: &mut W,
    info: &ReportInfo<'_>,
    caller: &ReportCaller<'_>,
) -> fmt::Result {
    writeln!(w, "BUG: KASAN: {} in {}", info.bug_type, caller.symbol)?;

    if info.report_type == ReportType::WriteAfterFree {
        // Who wrote is not known: the task is the one that found the write.
        return writeln!(
            w,
            concat!(
                "Write of size {} at addr {} after free, found by task {}/{} ",
                "as the object left the quarantine"
            ),
            info.access_size,
            Px(info.access_addr),
            caller.comm,
            caller.pid
        );
    }
    if info.report_type != ReportType::Access {
        return writeln!(
            w,
            "Free of addr {} by task {}/{}",
            Px(info.access_addr),
            caller.comm,
            caller.pid
        );
    }

    let rw = if info.is_write { "Write" } else { "Read" };
    if info.access_size != 0 {
        writeln!(
            w,
            "{} of size {} at addr {} by task {}/{}",
            rw,
            info.access_size,
            Px(info.access_addr),
            caller.comm,
            caller.pid
        )
    } else {
        writeln!(
            w,
            "{} at addr {} by task {}/{}",
            rw,
            Px(info.access_addr),
            caller.comm,
            caller.pid
        )
    }
}

/// Writes an allocation or free track.
///
/// Follows `print_track()` in mm/kasan/report.c: `<prefix> by task <pid>:`, or with
/// `CONFIG_KASAN_EXTRA_INFO` `<prefix> by task <pid> on cpu <cpu> at <sec>.<usec>s:`, then the
/// stack trace, or `(stack is not available)`.
pub fn print_track<W: Write, E: ReportEnv>(
    w: &mut W,
    env: &mut E,
    track: &Track,
    prefix: &str,
) -> fmt::Result {
    match track.extra {
        Some(extra) => {
            // Upstream: ts_nsec = timestamp << 9; rem_usec = do_div(ts_nsec, NSEC_PER_SEC) / 1000.
            let ts_nsec = extra.timestamp.wrapping_shl(9);
            writeln!(
                w,
                "{} by task {} on cpu {} at {}.{:06}s:",
                prefix,
                track.pid,
                extra.cpu as i32,
                ts_nsec / 1_000_000_000,
                ts_nsec % 1_000_000_000 / 1000
            )?;
        }
        None => writeln!(w, "{} by task {}:", prefix, track.pid)?,
    }
    if track.stack != 0 {
        env.stack_depot_print(w, track.stack)
    } else {
        writeln!(w, "(stack is not available)")
    }
}

/// Writes the auxiliary stacks of an object.
///
/// Follows `kasan_print_aux_stacks()` in mm/kasan/report_generic.c.
pub fn print_aux_stacks<W: Write, E: ReportEnv>(
    w: &mut W,
    env: &mut E,
    aux_stack: &[u32; 2],
) -> fmt::Result {
    let [last, second_to_last] = *aux_stack;
    if last != 0 {
        writeln!(w, "Last potentially related work creation:")?;
        env.stack_depot_print(w, last)?;
        writeln!(w)?;
    }
    if second_to_last != 0 {
        writeln!(w, "Second to last potentially related work creation:")?;
        env.stack_depot_print(w, second_to_last)?;
        writeln!(w)?;
    }
    Ok(())
}

/// Writes the allocation, free and auxiliary stacks of the object.
///
/// Follows `describe_object_stacks()` in mm/kasan/report.c: a track is printed only if it has a
/// stack.
pub fn describe_object_stacks<W: Write, E: ReportEnv>(
    w: &mut W,
    env: &mut E,
    info: &ReportInfo<'_>,
) -> fmt::Result {
    if info.alloc_track.stack != 0 {
        print_track(w, env, &info.alloc_track, "Allocated")?;
        writeln!(w)?;
    }
    if info.free_track.stack != 0 {
        print_track(w, env, &info.free_track, "Freed")?;
        writeln!(w)?;
    }
    print_aux_stacks(w, env, &info.aux_stack)
}

/// Writes where `addr` lies relative to the object.
///
/// Follows `describe_object_addr()` in mm/kasan/report.c, generic mode:
///
/// ```text
/// The buggy address belongs to the object at 0000000061db2000
///  which belongs to the cache kmalloc-128 of size 128
/// The buggy address is located 0 bytes to the right of
///  allocated 115-byte region [0000000061db2000, 0000000061db2073)
/// ```
///
/// The region is `allocated ` for slab-out-of-bounds, `freed ` for slab-use-after-free, and
/// unqualified otherwise. Like upstream, the object size and the distance are printed as C
/// `int`s (truncated to 32 bits).
pub fn describe_object_addr<W: Write>(
    w: &mut W,
    addr: usize,
    object: &SlabObject<'_>,
    alloc_size: usize,
    bug_type: BugType,
) -> fmt::Result {
    let access_addr = addr;
    let object_addr = object.object;
    let object_end = object_addr.wrapping_add(alloc_size);

    writeln!(
        w,
        "The buggy address belongs to the object at {}",
        Px(object_addr)
    )?;
    writeln!(
        w,
        " which belongs to the cache {} of size {}",
        object.cache_name, object.object_size as i32
    )?;

    let (rel_type, rel_bytes) = if access_addr < object_addr {
        ("to the left", object_addr.wrapping_sub(access_addr))
    } else if access_addr >= object_end {
        ("to the right", access_addr.wrapping_sub(object_end))
    } else {
        ("inside", access_addr.wrapping_sub(object_addr))
    };

    let region_state = match bug_type {
        BugType::SlabOutOfBounds => "allocated ",
        BugType::SlabUseAfterFree => "freed ",
        _ => "",
    };

    writeln!(
        w,
        "The buggy address is located {} bytes {} of",
        rel_bytes as i32, rel_type
    )?;
    writeln!(
        w,
        " {}{}-byte region [{}, {})",
        region_state,
        alloc_size,
        Px(object_addr),
        Px(object_end)
    )
}

/// Writes the stacks and the position of the bad address in its object.
///
/// Follows `describe_object()` in mm/kasan/report.c (stack collection is always enabled in
/// generic mode).
pub fn describe_object<W: Write, E: ReportEnv>(
    w: &mut W,
    env: &mut E,
    addr: usize,
    info: &ReportInfo<'_>,
    object: &SlabObject<'_>,
) -> fmt::Result {
    describe_object_stacks(w, env, info)?;
    describe_object_addr(w, addr, object, info.alloc_size, info.bug_type)
}

/// Writes the stack dump and what the bad address belongs to.
///
/// Follows `print_address_description()` in mm/kasan/report.c: the stack, a blank line, the
/// object (if in a slab) and its blank line, then the kernel's own sections via
/// [`ReportEnv::describe_address`].
pub fn print_address_description<W: Write, E: ReportEnv>(
    w: &mut W,
    env: &mut E,
    addr: usize,
    info: &ReportInfo<'_>,
) -> fmt::Result {
    env.dump_stack(w)?;
    writeln!(w)?;
    if let Some(object) = &info.object {
        describe_object(w, env, addr, info, object)?;
        writeln!(w)?;
    }
    env.describe_address(w, addr)
}

/// Returns whether the dump row starting at `row` contains `addr`.
///
/// Follows `meta_row_is_guilty()` in mm/kasan/report.c.
pub const fn meta_row_is_guilty(row: usize, addr: usize) -> bool {
    row <= addr && addr < row.wrapping_add(META_MEM_BYTES_PER_ROW)
}

/// Returns the field width of the `^` marker under the shadow byte of `addr` in the row
/// starting at `row`.
///
/// Follows `meta_pointer_offset()` in mm/kasan/report.c: the prefix `">%px: "` is
/// `3 + BITS_PER_LONG / 4` characters and each shadow byte takes 3 (two digits and a space);
/// the marker is printed with `%*c`, so it lands in column `offset - 1`, under the first digit of
/// the byte.
pub const fn meta_pointer_offset(row: usize, addr: usize) -> usize {
    (addr.wrapping_sub(row) / KASAN_GRANULE_SIZE)
        .wrapping_mul(3)
        .wrapping_add(3 + PX_WIDTH + 1)
}

/// Copies the shadow bytes of one dump row.
///
/// Follows `kasan_metadata_fetch_row()` in mm/kasan/report_generic.c (a `memcpy()` there; a
/// byte-wise copy here).
///
/// # Safety
///
/// The shadow of `row..row + META_MEM_BYTES_PER_ROW` must be readable.
#[doc(alias = "kasan_metadata_fetch_row")]
pub unsafe fn metadata_fetch_row<S: Shadow>(shadow: &S, row: usize) -> [u8; META_BYTES_PER_ROW] {
    let mut buffer = [0u8; META_BYTES_PER_ROW];
    let mut src = shadow.mem_to_shadow(row).cast_const();
    for byte in buffer.iter_mut() {
        // SAFETY: `src` walks the `META_BYTES_PER_ROW` shadow bytes of the row, which the caller
        // guarantees are readable.
        *byte = unsafe { src.read() };
        src = src.wrapping_add(1);
    }
    buffer
}

/// Writes the shadow around `addr`.
///
/// Follows `print_memory_metadata()` in mm/kasan/report.c (with `print_hex_dump()`'s
/// `DUMP_PREFIX_NONE`, 16 one-byte groups, no ASCII): five rows of 16 shadow bytes, the middle
/// one prefixed with `>`, each led by the `%px` of the memory it describes, and a `^` under the
/// byte of `addr`:
///
/// ```text
/// Memory state around the buggy address:
///  0000000061db1f00: fc fc fc fc fc fc fc fc fc fc fc fc fc fc fc fc
///  0000000061db1f80: fc fc fc fc fc fc fc fc fc fc fc fc fc fc fc fc
/// >0000000061db2000: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 03 fc
///                                                              ^
///  0000000061db2080: fc fc fc fc fc fc fc fc fc fc fc fc fc fc fc fc
///  0000000061db2100: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
/// ```
///
/// Like upstream (which reads the rows with a plain `memcpy()`, not `copy_from_kernel_nofault()`)
/// nothing checks that the rows have shadow: upstream relies on the whole shadow region being
/// mapped. Upstream calls this only for an address with metadata (see [`print_report`]).
///
/// # Safety
///
/// The shadow of the `2 * META_ROWS_AROUND_ADDR + 1` rows of `META_MEM_BYTES_PER_ROW` bytes
/// around `addr` must be readable.
pub unsafe fn print_memory_metadata<W: Write, S: Shadow>(
    w: &mut W,
    shadow: &S,
    addr: usize,
) -> fmt::Result {
    let mut row = (addr & !(META_MEM_BYTES_PER_ROW - 1))
        .wrapping_sub(META_ROWS_AROUND_ADDR * META_MEM_BYTES_PER_ROW);

    writeln!(w, "Memory state around the buggy address:")?;

    for i in 0..=2 * META_ROWS_AROUND_ADDR {
        let marker = if i == META_ROWS_AROUND_ADDR { '>' } else { ' ' };
        write!(w, "{}{}: ", marker, Px(row))?;

        // SAFETY: `row` is one of the rows around `addr`, whose shadow the caller guarantees is
        // readable.
        let metadata = unsafe { metadata_fetch_row(shadow, row) };
        let mut sep = "";
        for byte in metadata.iter() {
            write!(w, "{}{:02x}", sep, byte)?;
            sep = " ";
        }
        writeln!(w)?;

        if meta_row_is_guilty(row, addr) {
            // `pr_err("%*c\n", offset, '^')`, padded by hand: a run-time width in `core::fmt`
            // is range-checked, which brings in a panic path.
            for _ in 1..meta_pointer_offset(row, addr) {
                w.write_char(' ')?;
            }
            writeln!(w, "^")?;
        }

        row = row.wrapping_add(META_MEM_BYTES_PER_ROW);
    }
    Ok(())
}

/// Writes the body of a report, between the separators.
///
/// Follows `print_report()` in mm/kasan/report.c, generic mode (no tags to print): the error
/// description and a blank line, then, for an address with shadow, the address description and
/// the shadow dump around the first bad address; otherwise only the stack.
///
/// # Safety
///
/// If `shadow.has_metadata(info.access_addr)`, the shadow of the rows around
/// `info.first_bad_addr` must be readable (see [`print_memory_metadata`]).
pub unsafe fn print_report<W: Write, S: Shadow, E: ReportEnv>(
    w: &mut W,
    shadow: &S,
    env: &mut E,
    info: &ReportInfo<'_>,
    caller: &ReportCaller<'_>,
) -> fmt::Result {
    print_error_description(w, info, caller)?;
    // SAFETY: As guaranteed by the caller.
    unsafe { print_report_body(w, shadow, env, info) }
}

/// Everything of a report after its access line: a blank line, then the address description
/// and the shadow dump, or only the stack for an address without shadow.
///
/// # Safety
///
/// As for [`print_report`].
unsafe fn print_report_body<W: Write, S: Shadow, E: ReportEnv>(
    w: &mut W,
    shadow: &S,
    env: &mut E,
    info: &ReportInfo<'_>,
) -> fmt::Result {
    let addr = info.access_addr;
    writeln!(w)?;
    if shadow.has_metadata(addr) {
        print_address_description(w, env, addr, info)?;
        // SAFETY: `addr` has metadata, so the caller guarantees the rows are readable.
        unsafe { print_memory_metadata(w, shadow, info.first_bad_addr) }
    } else {
        env.dump_stack(w)
    }
}

/// Writes a [`ReportType::WriteAfterFree`] report: as [`print_report`], with `finding` (what
/// changed in the object, see `free_check::Finding`) after the access line.
///
/// # Safety
///
/// As for [`print_report`]; `info.access_addr` is in a slab object, so it has metadata.
pub unsafe fn print_write_after_free_report<W: Write, S: Shadow, E: ReportEnv>(
    w: &mut W,
    shadow: &S,
    env: &mut E,
    info: &ReportInfo<'_>,
    caller: &ReportCaller<'_>,
    finding: &dyn fmt::Display,
) -> fmt::Result {
    print_error_description(w, info, caller)?;
    write!(w, "{finding}")?;
    // SAFETY: As guaranteed by the caller.
    unsafe { print_report_body(w, shadow, env, info) }
}

/// Where the bogus pointer behind a fault on a shadow address probably came from.
///
/// The logic of `kasan_non_canonical_hook()` in mm/kasan/report.c, for generic mode (no tag to
/// strip).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NonCanonical {
    /// The guessed kind, e.g. `"null-ptr-deref"` or `"maybe wild-memory-access"`.
    pub bug_type: &'static str,
    /// First address of the granule whose shadow faulted.
    pub orig_addr: usize,
}

/// Decodes a faulting address that may be a shadow access for a bogus pointer.
///
/// Follows `kasan_non_canonical_hook()` in mm/kasan/report.c: `None` if `addr` is below the
/// shadow of address 0 (`KASAN_SHADOW_OFFSET`: every shadow address, even of a bogus pointer,
/// is at or above it); `in_shadow` is upstream's `addr_in_shadow(addr)` (between
/// `KASAN_SHADOW_START` and `KASAN_SHADOW_END`).
pub fn non_canonical_bug_type<S: Shadow>(
    shadow: &S,
    addr: usize,
    in_shadow: bool,
    layout: &AddressLayout,
) -> Option<NonCanonical> {
    if addr < shadow.mem_to_shadow(0).addr() {
        return None;
    }
    let orig_addr = shadow.shadow_to_mem(core::ptr::without_provenance(addr));
    let bug_type = if orig_addr < layout.page_size {
        "null-ptr-deref"
    } else if orig_addr < layout.task_size {
        "probably user-memory-access"
    } else if in_shadow {
        "probably wild-memory-access"
    } else {
        "maybe wild-memory-access"
    };
    Some(NonCanonical {
        bug_type,
        orig_addr,
    })
}

/// Writes the line of `kasan_non_canonical_hook()` in mm/kasan/report.c (a `pr_alert()`):
/// `KASAN: <type> in range [0x<start>-0x<end>]`.
pub fn print_non_canonical<W: Write>(w: &mut W, nc: &NonCanonical) -> fmt::Result {
    writeln!(
        w,
        "KASAN: {} in range [0x{:016x}-0x{:016x}]",
        nc.bug_type,
        nc.orig_addr,
        nc.orig_addr.wrapping_add(KASAN_GRANULE_SIZE - 1)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shadow::{poison, unpoison, Arena};

    const LAYOUT: AddressLayout = AddressLayout {
        page_size: 4096,
        task_size: 0x0000_7fff_ffff_f000,
    };

    #[test]
    fn classification_of_every_shadow_value() {
        for v in 0..=255u8 {
            let expected = match v {
                0..=7 => "out-of-bounds",
                0xFE | 0xFC => "slab-out-of-bounds",
                0xF9 => "global-out-of-bounds",
                0xF1..=0xF4 => "stack-out-of-bounds",
                0xFF => "use-after-free",
                0xFB | 0xFA => "slab-use-after-free",
                0xCA | 0xCB => "alloca-out-of-bounds",
                0xF8 => "vmalloc-out-of-bounds",
                _ => "unknown-crash",
            };
            assert_eq!(shadow_bug_type(v).as_str(), expected, "shadow {v:#x}");
        }
    }

    #[test]
    fn partial_granule_looks_at_next() {
        let mut buf = [0u8; 4];
        let arena = Arena::new(0x1000, &mut buf).unwrap();
        // SAFETY: all addresses are inside the arena.
        unsafe {
            poison(&arena, 0x1000, 32, KASAN_SLAB_FREE).unwrap();
            unpoison(&arena, 0x1000, 13).unwrap();
            assert_eq!(
                get_shadow_bug_type(&arena, 0x1008),
                BugType::SlabUseAfterFree
            );
            assert_eq!(get_shadow_bug_type(&arena, 0x1000), BugType::OutOfBounds);
            assert_eq!(get_alloc_size(&arena, 0x1000, 32), 13);
            assert_eq!(get_alloc_size(&arena, 0x1010, 16), 0);
            assert_eq!(
                get_bug_type(&arena, 0x1008, usize::MAX, 0x1008, &LAYOUT),
                BugType::OutOfBounds
            );
            assert_eq!(
                get_bug_type(&arena, 8, 1, 8, &LAYOUT),
                BugType::NullPtrDeref
            );
            assert_eq!(
                get_bug_type(&arena, 0x10_0000, 1, 0, &LAYOUT),
                BugType::UserMemoryAccess
            );
            assert_eq!(
                get_bug_type(&arena, usize::MAX - 8, 1, 0, &LAYOUT),
                BugType::WildMemoryAccess
            );
            assert_eq!(
                invalid_free_type(&arena, 0x1001, 0x1000),
                Some(ReportType::InvalidFree)
            );
            assert_eq!(invalid_free_type(&arena, 0x1000, 0x1000), None);
            assert_eq!(
                invalid_free_type(&arena, 0x1010, 0x1010),
                Some(ReportType::DoubleFree)
            );
            assert!(!object_has_free_meta(&arena, 0x1010));
            poison(&arena, 0x1010, 8, KASAN_SLAB_FREE_META).unwrap();
            assert!(object_has_free_meta(&arena, 0x1010));
        }
    }

    #[test]
    fn px_and_marker_width() {
        assert_eq!(Px(0x61db2073).to_string(), "0000000061db2073");
        assert_eq!(Px(usize::MAX).to_string(), "ffffffffffffffff");
        // The byte at column 14 starts at character 19 + 14 * 3 = 61; `%*c` of width 62 puts
        // the caret there.
        assert_eq!(meta_pointer_offset(0x61db2000, 0x61db2073), 62);
        assert!(meta_row_is_guilty(0x61db2000, 0x61db207f));
        assert!(!meta_row_is_guilty(0x61db2000, 0x61db2080));
    }

    /// The shadow layout of x86_64 (`KASAN_SHADOW_OFFSET` of its defconfig), without memory.
    struct X86Shadow;

    impl Shadow for X86Shadow {
        fn mem_to_shadow(&self, addr: usize) -> *mut u8 {
            core::ptr::without_provenance_mut((addr >> 3).wrapping_add(0xdffffc0000000000))
        }
        fn shadow_to_mem(&self, shadow: *const u8) -> usize {
            shadow.addr().wrapping_sub(0xdffffc0000000000) << 3
        }
        fn has_metadata(&self, _addr: usize) -> bool {
            false
        }
        unsafe fn fill(&self, _shadow: *mut u8, _value: u8, _len: usize) {}
    }

    #[test]
    fn non_canonical() {
        let off = 0xdffffc0000000000usize;
        // The shadow load of `*(u8 *)0x10`, which the GP fault handler sees.
        let nc = non_canonical_bug_type(&X86Shadow, off + 2, true, &LAYOUT).unwrap();
        assert_eq!(nc.bug_type, "null-ptr-deref");
        let mut s = String::new();
        print_non_canonical(&mut s, &nc).unwrap();
        assert_eq!(
            s,
            "KASAN: null-ptr-deref in range [0x0000000000000010-0x0000000000000017]\n"
        );
        assert_eq!(
            non_canonical_bug_type(&X86Shadow, off - 1, false, &LAYOUT),
            None
        );
        assert_eq!(
            non_canonical_bug_type(&X86Shadow, off + (1 << 40), true, &LAYOUT)
                .unwrap()
                .bug_type,
            "probably user-memory-access"
        );
        let kernel = non_canonical_bug_type(&X86Shadow, 0xfffffbfff0000000, true, &LAYOUT);
        assert_eq!(
            kernel,
            Some(NonCanonical {
                bug_type: "probably wild-memory-access",
                orig_addr: 0xffffffff80000000,
            })
        );
        assert_eq!(
            non_canonical_bug_type(
                &X86Shadow,
                off + (0xffff_8000_0000_0000 >> 3),
                false,
                &LAYOUT
            )
            .unwrap()
            .bug_type,
            "maybe wild-memory-access"
        );
    }
}
