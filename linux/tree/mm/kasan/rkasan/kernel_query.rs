// SPDX-License-Identifier: GPL-2.0

//! Questions about the shadow that make no report, for the Rust KUnit suite
//! (`mm/kasan/rkasan_test.rs`), which reaches them through `EXPORT_SYMBOL_IF_KUNIT`.

use crate::check;
use crate::kernel_shadow::KernelShadow;
use crate::report::{self, AddressLayout};
use core::ffi::c_void;

extern "C" {
    /// `TASK_SIZE`, a run-time value on some architectures (UML).
    fn rkasan_task_size() -> usize;
}

/// The arch constants that classify an address without shadow.
pub fn address_layout() -> AddressLayout {
    AddressLayout {
        page_size: kernel::page::PAGE_SIZE,
        // SAFETY: Reads an arch constant.
        task_size: unsafe { rkasan_task_size() },
    }
}

/// Whether any byte of `addr..addr + size` is poisoned (or the range is bad) — what
/// `kasan_check_range()` decides, without reporting.
#[no_mangle]
pub extern "C" fn rkasan_is_poisoned(addr: *const c_void, size: usize) -> bool {
    // SAFETY: `KernelShadow` maps every address to its shadow, which is mapped while KASAN is
    // enabled, as it is whenever KUnit tests run.
    unsafe { check::check_range(&KernelShadow, addr as usize, size) }.is_err()
}

/// Writes the bug type a report of an access of `size` bytes at `addr` would carry to `buf`
/// (at most `len` bytes, not NUL-terminated) and returns its length.
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
