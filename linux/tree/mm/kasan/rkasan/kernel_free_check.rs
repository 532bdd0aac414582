// SPDX-License-Identifier: GPL-2.0

//! `kasan.free_check=on`: writes to freed objects, found as they leave the quarantine.
//!
//! The kernel side of [`crate::free_check`] (no C twin; the kernel's KASAN bug 216657). The C
//! quarantine (`mm/kasan/rkasan_quarantine.c`) decides which objects are filled, under a static
//! key, and calls [`rkasan_free_check_fill`] as an object enters the quarantine and
//! [`rkasan_free_check_verify`] as it leaves, evicted, removed with its cache or freed when its
//! CPU went offline. A changed byte is a `slab-use-after-free` report
//! ([`crate::kernel_report::report_write_after_free`]) titled with the function that freed the
//! object.
//!
//! Fill and scan run on every free and eviction: no panics, wrapping arithmetic, and no call
//! to the instrumented `memset()` (the freed object is poisoned); the zeroing for
//! `init_on_free` uses the uninstrumented `__memset()`.

use crate::free_check::{self, checked_region, CheckedRegion, Finding};
use crate::params;
use core::ffi::c_void;
use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::ffi::{c_char, c_int, c_uint, c_ulong};

extern "C" {
    /// The architecture's uninstrumented memset.
    fn __memset(s: *mut c_void, c: c_int, n: usize) -> *mut c_void;
}

/// Objects filled as they entered the quarantine.
static FILLED: AtomicUsize = AtomicUsize::new(0);
/// Objects checked as they left it.
static CHECKED: AtomicUsize = AtomicUsize::new(0);
/// Objects found written after their free.
static WRITTEN: AtomicUsize = AtomicUsize::new(0);

/// `struct rkasan_free_check_stats` of `mm/kasan/rkasan.h`.
#[repr(C)]
pub struct RawStats {
    filled: c_ulong,
    checked: c_ulong,
    written: c_ulong,
}

/// The checked bytes of an object of `object_size` bytes that starts with `meta_bytes` of free
/// metadata.
fn region(object_size: c_uint, meta_bytes: usize) -> Option<CheckedRegion> {
    checked_region(object_size as usize, meta_bytes != 0, meta_bytes)
}

/// `early_kasan_free_check()`: parses `kasan.free_check=off|on` into `on`. Returns 0, or
/// `-EINVAL` for anything else (the kernel then warns `Malformed early option`).
///
/// # Safety
///
/// `arg` is null or a NUL-terminated string; `on` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn rkasan_free_check_param(arg: *const c_char, on: *mut bool) -> c_int {
    // SAFETY: Null or NUL-terminated, per the caller.
    let arg = unsafe { crate::kernel_quarantine::arg_bytes(arg) };
    match params::early_kasan_free_check(arg) {
        Ok(value) => {
            // SAFETY: Valid for writes, per the caller.
            unsafe { *on = value };
            0
        }
        Err(err) => err.to_errno(),
    }
}

/// Fills the checked bytes of `object` (`object_size` bytes, the first `meta_bytes` of them
/// free metadata) with the pattern, as it enters the quarantine.
///
/// # Safety
///
/// `object` is a slab object being freed, which nothing else uses.
#[no_mangle]
pub unsafe extern "C" fn rkasan_free_check_fill(
    object: *mut c_void,
    object_size: c_uint,
    meta_bytes: usize,
) {
    let Some(r) = region(object_size, meta_bytes) else {
        return;
    };
    // SAFETY: The region is inside the object, which is ours, per the caller.
    unsafe { free_check::fill(object.cast::<u8>().wrapping_add(r.offset), r.len) };
    FILLED.fetch_add(1, Ordering::Relaxed);
}

/// Zeroes the checked bytes of `object`, which [`rkasan_free_check_fill`] filled: for
/// `init_on_free`, whose zeroing of the freed object the pattern replaced.
///
/// # Safety
///
/// As for [`rkasan_free_check_fill`].
#[no_mangle]
pub unsafe extern "C" fn rkasan_free_check_clear(
    object: *mut c_void,
    object_size: c_uint,
    meta_bytes: usize,
) {
    if let Some(r) = region(object_size, meta_bytes) {
        // SAFETY: The region is inside the object, per the caller; `__memset()` is not
        // instrumented, and the object is poisoned.
        unsafe { __memset(object.wrapping_byte_add(r.offset), 0, r.len) };
    }
}

/// Checks the bytes [`rkasan_free_check_fill`] filled as `object` leaves the quarantine: a
/// changed byte is reported as a write after free. Then zeroes them if `zero`
/// (`init_on_free`). `ip` titles the report if the object's free stack has no frame outside
/// the allocator.
///
/// # Safety
///
/// `object` is a slab object that the quarantine held since [`rkasan_free_check_fill`] filled
/// it, about to go back to the slab allocator.
#[no_mangle]
pub unsafe extern "C" fn rkasan_free_check_verify(
    object: *mut c_void,
    object_size: c_uint,
    meta_bytes: usize,
    zero: bool,
    ip: c_ulong,
) {
    let Some(r) = region(object_size, meta_bytes) else {
        return;
    };
    let start = object.cast::<u8>().wrapping_add(r.offset);
    CHECKED.fetch_add(1, Ordering::Relaxed);
    // SAFETY: The region is inside the object, still allocated as the slab sees it.
    if let Some(changed) = unsafe { free_check::find_changed(start, r.len) } {
        WRITTEN.fetch_add(1, Ordering::Relaxed);
        // SAFETY: As above; `changed` comes from `find_changed()` over the region.
        let finding = unsafe { Finding::read(object.cast::<u8>(), r, changed) };
        #[cfg(CONFIG_KASAN_RUST_KUNIT_TEST)]
        kunit_hooks::note(&finding);
        // SAFETY: `object` is a quarantined slab object, poisoned as freed.
        unsafe { crate::kernel_report::report_write_after_free(object, &finding, ip) };
    }
    if zero {
        // SAFETY: As for `rkasan_free_check_clear()`.
        unsafe { __memset(start.cast(), 0, r.len) };
    }
}

/// The counters of the debugfs file `kasan/quarantine`.
///
/// # Safety
///
/// `stats` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn rkasan_free_check_stats(stats: *mut RawStats) {
    let raw = RawStats {
        filled: FILLED.load(Ordering::Relaxed),
        checked: CHECKED.load(Ordering::Relaxed),
        written: WRITTEN.load(Ordering::Relaxed),
    };
    // SAFETY: Valid for writes, per the caller.
    unsafe { stats.write(raw) };
}

/// What the KUnit test reads back: the last finding.
#[cfg(CONFIG_KASAN_RUST_KUNIT_TEST)]
pub mod kunit_hooks {
    use super::*;
    use core::sync::atomic::AtomicBool;

    /// Whether a finding was noted since the last [`rkasan_free_check_last`].
    static NOTED: AtomicBool = AtomicBool::new(false);
    /// The last finding's offset in its object.
    static OFFSET: AtomicUsize = AtomicUsize::new(0);
    /// Its bytes from the first changed to the last.
    static SPAN: AtomicUsize = AtomicUsize::new(0);
    /// Its changed bytes.
    static COUNT: AtomicUsize = AtomicUsize::new(0);

    /// Notes `finding` for [`rkasan_free_check_last`].
    pub(super) fn note(finding: &Finding) {
        OFFSET.store(finding.offset, Ordering::Relaxed);
        SPAN.store(finding.changed.span(), Ordering::Relaxed);
        COUNT.store(finding.changed.count, Ordering::Relaxed);
        NOTED.store(true, Ordering::Release);
    }

    /// The last finding since the previous call, if any: its offset in the object, its span
    /// and how many bytes in it changed.
    ///
    /// # Safety
    ///
    /// The three pointers are valid for writes.
    #[no_mangle]
    pub unsafe extern "C" fn rkasan_free_check_last(
        offset: *mut c_ulong,
        span: *mut c_ulong,
        count: *mut c_ulong,
    ) -> bool {
        if !NOTED.swap(false, Ordering::Acquire) {
            return false;
        }
        // SAFETY: Valid for writes, per the caller.
        unsafe {
            *offset = OFFSET.load(Ordering::Relaxed);
            *span = SPAN.load(Ordering::Relaxed);
            *count = COUNT.load(Ordering::Relaxed);
        }
        true
    }
}
