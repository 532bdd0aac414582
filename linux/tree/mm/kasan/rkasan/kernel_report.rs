// SPDX-License-Identifier: GPL-2.0

//! KASAN reports: what a report says, decided and printed in Rust.
//!
//! Twin of the report path of [`mm/kasan/report.c`](srctree/mm/kasan/report.c) and
//! [`mm/kasan/report_generic.c`](srctree/mm/kasan/report_generic.c). `kasan_report()` and
//! `kasan_report_invalid_free()` (C, for `user_access_save()`) call [`rkasan_report`], which
//! finds the first bad address, the slab object and the bug type with the core crate and prints
//! the header, the access line, the object description and the shadow dump with it. What stays in
//! C is what the kernel prints or decides itself: locking, tracing, tainting and the
//! `kasan.fault` policy (`start_report()` / `end_report()`), the stack dump, stack depot traces,
//! and the variable, stack frame, vmalloc and page sections.
//!
//! Reports run with KASAN suppressed for the current task (`start_report()`), so this path may
//! call the instrumented `core::fmt`.

use crate::kernel_cstr;
use crate::kernel_query::address_layout;
use crate::kernel_shadow::KernelShadow;
use crate::report::{self, ReportCaller, ReportEnv, ReportType, SlabObject, Track, TrackExtra};
use core::ffi::c_void;
use core::fmt::{self, Write};
use kernel::ffi::{c_char, c_int, c_uint, c_ulong};
use kernel::str::CStrExt;

/// `struct rkasan_track` of mm/kasan/rkasan.h.
#[repr(C)]
#[derive(Default)]
struct RawTrack {
    pid: u32,
    stack: u32,
    has_extra: bool,
    cpu: u32,
    timestamp: u64,
}

/// `struct rkasan_report_object` of mm/kasan/rkasan.h.
#[repr(C)]
struct RawObject {
    object: *const c_void,
    cache_name: *const c_char,
    object_size: c_uint,
    alloc: RawTrack,
    free: RawTrack,
    aux_stack: [u32; 2],
}

/// `RKASAN_KSYM_SYMBOL_LEN` of mm/kasan/rkasan.h.
const KSYM_SYMBOL_LEN: usize = 768;

extern "C" {
    fn rkasan_report_start(access: bool, flags: *mut c_ulong) -> bool;
    fn rkasan_report_end(flags: *mut c_ulong, addr: *const c_void, is_write: bool);
    fn rkasan_report_find_object(addr: *const c_void, obj: *mut RawObject) -> bool;
    fn rkasan_report_dump_stack();
    fn rkasan_report_describe_address(addr: *const c_void);
    fn rkasan_report_task(comm: *mut *const c_char, pid: *mut c_int);
    fn rkasan_report_symbol(buf: *mut c_char, ip: c_ulong) -> c_int;
    fn stack_depot_print(handle: u32);
    fn _printk(fmt: *const c_char, ...) -> c_int;
}

/// A [`Write`] that prints whole lines at `KERN_ERR`, as the C runtime's `pr_err()` calls do.
struct ErrWriter {
    line: [u8; 160],
    len: usize,
}

impl ErrWriter {
    fn new() -> Self {
        Self {
            line: [0; 160],
            len: 0,
        }
    }

    /// Prints the buffered bytes as one line.
    fn flush(&mut self) {
        // SAFETY: `%.*s` prints `len` bytes of `line`, which holds at least that many; `len` is at
        // most 160, so the cast is lossless.
        unsafe {
            _printk(
                c"\x013%.*s\n".as_char_ptr(),
                self.len as c_int,
                self.line.as_ptr(),
            )
        };
        self.len = 0;
    }
}

impl Write for ErrWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &byte in s.as_bytes() {
            if byte == b'\n' {
                self.flush();
                continue;
            }
            match self.line.get_mut(self.len) {
                Some(slot) => {
                    *slot = byte;
                    self.len = self.len.wrapping_add(1);
                }
                None => {
                    // An over-long line is printed in pieces rather than cut.
                    self.flush();
                    if let Some(first) = self.line.first_mut() {
                        *first = byte;
                        self.len = 1;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The kernel's own printers, for the parts of a report the core leaves to it.
struct KernelEnv;

impl ReportEnv for KernelEnv {
    fn dump_stack<W: Write>(&mut self, _w: &mut W) -> fmt::Result {
        // SAFETY: Prints the current stack.
        unsafe { rkasan_report_dump_stack() };
        Ok(())
    }

    fn stack_depot_print<W: Write>(&mut self, _w: &mut W, handle: u32) -> fmt::Result {
        // SAFETY: `handle` comes from the object's KASAN metadata, as upstream passes it.
        unsafe { stack_depot_print(handle) };
        Ok(())
    }

    fn describe_address<W: Write>(&mut self, _w: &mut W, addr: usize) -> fmt::Result {
        // SAFETY: The C helper accepts any address with shadow, as `print_address_description()`.
        unsafe { rkasan_report_describe_address(addr as *const c_void) };
        Ok(())
    }
}

/// `%pS` of an instruction address.
struct Symbol {
    buf: [u8; KSYM_SYMBOL_LEN],
    len: usize,
}

impl Symbol {
    fn new(ip: c_ulong) -> Self {
        let mut buf = [0u8; KSYM_SYMBOL_LEN];
        // SAFETY: `buf` has room for `KSYM_SYMBOL_LEN` bytes, which report.c asserts is enough.
        let len = unsafe { rkasan_report_symbol(buf.as_mut_ptr().cast(), ip) };
        Self {
            buf,
            len: usize::try_from(len).unwrap_or(0).min(KSYM_SYMBOL_LEN),
        }
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.buf.get(..self.len).unwrap_or(&[]);
        f.write_str(core::str::from_utf8(bytes).unwrap_or("?"))
    }
}

impl From<&RawTrack> for Track {
    fn from(raw: &RawTrack) -> Self {
        Track {
            pid: raw.pid,
            stack: raw.stack,
            extra: raw.has_extra.then_some(TrackExtra {
                cpu: raw.cpu,
                timestamp: raw.timestamp,
            }),
        }
    }
}

/// Reads a NUL-terminated kernel string, `"?"` if it is not UTF-8.
///
/// # Safety
///
/// `s` is a valid NUL-terminated string that outlives `'a`.
unsafe fn kernel_str<'a>(s: *const c_char) -> &'a str {
    // SAFETY: Guaranteed by the caller.
    core::str::from_utf8(unsafe { kernel_cstr::bytes(s) }).unwrap_or("?")
}

/// Reports a bad access or free: the body of `kasan_report()` (`report_type` 0,
/// `KASAN_REPORT_ACCESS`) and `kasan_report_invalid_free()` (1, `KASAN_REPORT_INVALID_FREE`, or
/// 2, `KASAN_REPORT_DOUBLE_FREE`).
///
/// Returns whether a report was printed: `false` when reports are suppressed for the current task
/// (accesses only, as upstream) or already made without `kasan_multi_shot`.
///
/// # Safety
///
/// None beyond C's: `addr` may be any value; it is only described, and only the shadow of an
/// address with metadata is read.
#[no_mangle]
pub unsafe extern "C" fn rkasan_report(
    addr: *const c_void,
    size: usize,
    is_write: bool,
    ip: c_ulong,
    report_type: c_int,
) -> bool {
    let report_type = match report_type {
        1 => ReportType::InvalidFree,
        2 => ReportType::DoubleFree,
        _ => ReportType::Access,
    };
    let access = report_type == ReportType::Access;
    let mut flags: c_ulong = 0;
    // SAFETY: `flags` is valid for writes; it is handed back to `rkasan_report_end()`.
    if !unsafe { rkasan_report_start(access, &mut flags) } {
        return false;
    }

    let mut raw = RawObject {
        object: core::ptr::null(),
        cache_name: core::ptr::null(),
        object_size: 0,
        alloc: RawTrack::default(),
        free: RawTrack::default(),
        aux_stack: [0; 2],
    };
    // SAFETY: `raw` is valid for writes; the helper accepts any address.
    let object = unsafe { rkasan_report_find_object(addr, &mut raw) }.then(|| SlabObject {
        object: raw.object as usize,
        // SAFETY: The cache name lives as long as the cache, which has an object in use here.
        cache_name: unsafe { kernel_str(raw.cache_name) },
        object_size: raw.object_size,
    });

    // SAFETY: The shadow of every address is mapped while KASAN is enabled (UML), which it is
    // when anything reports.
    let mut info = unsafe {
        report::complete_report_info(
            &KernelShadow,
            report_type,
            addr as usize,
            size,
            is_write,
            object,
            &address_layout(),
        )
    };
    if object.is_some() {
        info.alloc_track = Track::from(&raw.alloc);
        info.free_track = Track::from(&raw.free);
        info.aux_stack = raw.aux_stack;
    }

    let mut comm: *const c_char = core::ptr::null();
    let mut pid: c_int = 0;
    // SAFETY: Both are valid for writes.
    unsafe { rkasan_report_task(&mut comm, &mut pid) };
    let symbol = Symbol::new(ip);
    let caller = ReportCaller {
        symbol: &symbol,
        // SAFETY: `current->comm` lives as long as the current task.
        comm: unsafe { kernel_str(comm) },
        pid,
    };

    let mut w = ErrWriter::new();
    // SAFETY: As for `complete_report_info()`: the rows around the first bad address have shadow.
    let _ = unsafe { report::print_report(&mut w, &KernelShadow, &mut KernelEnv, &info, &caller) };
    if w.len != 0 {
        w.flush();
    }

    // Invalid frees count as writes for kasan.fault=panic_on_write, as upstream.
    // SAFETY: `flags` comes from `rkasan_report_start()`.
    unsafe { rkasan_report_end(&mut flags, addr, is_write || !access) };
    true
}
