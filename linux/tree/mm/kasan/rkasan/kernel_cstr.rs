// SPDX-License-Identifier: GPL-2.0

//! NUL-terminated strings from C, read without `core::ffi::CStr::from_ptr()`.
//!
//! `CStr::from_ptr()` is generic code compiled into this crate, and its `len + 1` carries an
//! overflow check that would link `core::panicking` into the runtime object; this scan cannot
//! panic.

use kernel::ffi::c_char;

/// The bytes of the NUL-terminated string at `s`, without the NUL.
///
/// # Safety
///
/// `s` points to a NUL-terminated string that stays valid and unchanged for `'a`.
pub unsafe fn bytes<'a>(s: *const c_char) -> &'a [u8] {
    let mut len: usize = 0;
    // SAFETY: Every byte up to and including the NUL is readable, per the caller.
    while unsafe { s.wrapping_add(len).read() } != 0 {
        len = len.wrapping_add(1);
    }
    // SAFETY: The `len` bytes before the NUL are readable and unchanged for `'a`.
    unsafe { core::slice::from_raw_parts(s, len) }
}
