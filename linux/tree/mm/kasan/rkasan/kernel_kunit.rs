// SPDX-License-Identifier: GPL-2.0

//! The runtime as the Rust KUnit suite (`mm/kasan/rkasan_test.rs`) reaches it: questions about
//! the shadow and the memory tags that make no report, and the Rust twins of C computations the
//! suite compares with C's.
//!
//! Compiled only with `CONFIG_KASAN_RUST_KUNIT_TEST` (rkasan.rs), as the entry layers'
//! `EXPORT_SYMBOL_IF_KUNIT()`s are: a kernel built without the suite ships none of this ABI.
//! Two groups of hooks sit behind the same option in the modules whose private state they read
//! (the quarantine's ring, queues and locks; the free check's last finding):
//! `kernel_quarantine::kunit_hooks` and `kernel_free_check::kunit_hooks`.

use crate::kernel_params::arg_bytes;
use crate::params;
use kernel::ffi::c_char;

/// Whether the core runs `kasan_set_multi_shot()` for the whole option `line` (`param` or
/// `param=value`, as `obsolete_checksetup()` sees it), the decision that
/// `rkasan_parse_multi_shot()` only ever gets to make for options that already matched.
///
/// # Safety
///
/// `line` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rkasan_test_multi_shot_option(line: *const c_char) -> bool {
    // SAFETY: `line` is NUL-terminated, per the caller.
    unsafe { arg_bytes(line) }.is_some_and(params::kasan_set_multi_shot)
}

/// Generic KASAN: the shadow.
#[cfg(CONFIG_KASAN_GENERIC)]
mod generic {
    use crate::check;
    use crate::kernel_shadow::{address_layout, KernelShadow};
    use crate::report;
    use core::ffi::c_void;

    /// Whether any byte of `addr..addr + size` is poisoned (or the range is bad): what
    /// `kasan_check_range()` decides, without reporting.
    #[no_mangle]
    pub extern "C" fn rkasan_is_poisoned(addr: *const c_void, size: usize) -> bool {
        // SAFETY: `KernelShadow` maps every address to its shadow, which is mapped while KASAN
        // is enabled, as it is whenever KUnit tests run.
        unsafe { check::check_range(&KernelShadow, addr as usize, size) }.is_err()
    }

    /// Writes the bug type a report of an access of `size` bytes at `addr` would carry to
    /// `buf` (at most `len` bytes, not NUL-terminated) and returns its length.
    ///
    /// # Safety
    ///
    /// `buf` is valid for writes of `len` bytes.
    #[no_mangle]
    pub unsafe extern "C" fn rkasan_bug_type(
        addr: *const c_void,
        size: usize,
        buf: *mut u8,
        len: usize,
    ) -> usize {
        let addr = addr as usize;
        // SAFETY: As in `rkasan_is_poisoned()`; the report path reads the same shadow.
        let bug = unsafe {
            let first_bad = check::find_first_bad_addr(&KernelShadow, addr, size);
            report::get_bug_type(&KernelShadow, addr, size, first_bad, &address_layout())
        };
        let name = bug.as_str().as_bytes();
        let n = name.len().min(len);
        // SAFETY: `n <= len`, and `buf` is valid for `len` bytes per the caller.
        unsafe { core::ptr::copy_nonoverlapping(name.as_ptr(), buf, n) };
        n
    }

    /// `kasan_mem_to_shadow()` as Rust computes it.
    #[cfg(CONFIG_KASAN_RUST_SHADOW)]
    #[no_mangle]
    pub extern "C" fn rkasan_generic_mem_to_shadow(addr: *const c_void) -> *mut u8 {
        use crate::shadow::Shadow;
        KernelShadow.mem_to_shadow(addr as usize)
    }

    /// `addr_has_metadata()` as Rust computes it.
    #[cfg(CONFIG_KASAN_RUST_SHADOW)]
    #[no_mangle]
    pub extern "C" fn rkasan_generic_has_metadata(addr: *const c_void) -> bool {
        use crate::shadow::Shadow;
        KernelShadow.has_metadata(addr as usize)
    }
}

/// The tag-based modes: pointer tags, and the shadow of memory tags of software tags.
#[cfg(any(CONFIG_KASAN_SW_TAGS, CONFIG_KASAN_HW_TAGS))]
mod tag_based {
    use crate::tags;
    use core::ffi::c_void;

    /// `get_tag()` of the core ([`tags::get_tag_ptr`]), to compare with C's.
    #[no_mangle]
    pub extern "C" fn rkasan_tag_get(addr: *const c_void) -> u8 {
        tags::get_tag_ptr(addr)
    }

    /// `set_tag()` of the core ([`tags::set_tag_ptr`]).
    #[no_mangle]
    pub extern "C" fn rkasan_tag_set(addr: *mut c_void, tag: u8) -> *mut c_void {
        tags::set_tag_ptr(addr, tag)
    }

    /// `kasan_reset_tag()` of the core ([`tags::reset_tag_ptr`]).
    #[no_mangle]
    pub extern "C" fn rkasan_tag_reset(addr: *mut c_void) -> *mut c_void {
        tags::reset_tag_ptr(addr)
    }

    /// `kasan_mem_to_shadow()` as Rust computes it.
    #[cfg(CONFIG_KASAN_SW_TAGS)]
    #[no_mangle]
    pub extern "C" fn rkasan_sw_mem_to_shadow(addr: *const c_void) -> *mut u8 {
        use crate::kernel_sw_tags::KernelTagShadow;
        use crate::shadow::Shadow;
        KernelTagShadow.mem_to_shadow(addr as usize)
    }

    /// `addr_has_metadata()` as Rust computes it (on the untagged address).
    #[cfg(CONFIG_KASAN_SW_TAGS)]
    #[no_mangle]
    pub extern "C" fn rkasan_sw_has_metadata(addr: *const c_void) -> bool {
        use crate::kernel_sw_tags::KernelTagShadow;
        use crate::shadow::Shadow;
        KernelTagShadow.has_metadata(tags::reset_tag(addr as u64) as usize)
    }

    /// Whether an access of `size` bytes at the tagged `addr` is bad: what
    /// `kasan_check_range()` decides, without a report.
    #[cfg(CONFIG_KASAN_SW_TAGS)]
    #[no_mangle]
    pub extern "C" fn rkasan_sw_is_poisoned(addr: *const c_void, size: usize) -> bool {
        use crate::kernel_sw_tags::KernelTagShadow;
        use crate::sw_tags;
        // SAFETY: Every kernel address at or above `meta_start()` has a mapped memory tag
        // while KASAN is enabled, as it is whenever KUnit tests run; `check_range()` reads no
        // tag below it.
        unsafe { sw_tags::check_range(&KernelTagShadow, addr as usize, size) }.is_err()
    }
}
