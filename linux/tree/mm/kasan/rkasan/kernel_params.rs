// SPDX-License-Identifier: GPL-2.0

//! The boot parameters of every KASAN mode, `kasan.fault=` and `kasan_multi_shot`, parsed by the
//! core crate for the handlers that `mm/kasan/report.c` registers with `early_param()` and
//! `__setup()`; those of the tag-based modes are [`crate::kernel_tag_params`]'s.
//!
//! The handlers stay in C because the registration macros are C; each one hands its raw
//! argument to a function here. A rejected value returns `-EINVAL`, which makes `init/main.c`
//! print upstream's `Malformed early option` warning, and the setting keeps its default.

use crate::kernel_cstr;
use crate::params::{self, KasanArgFault};
use kernel::ffi::{c_char, c_int};

/// The bytes of a handler's argument: `None` when the option had no `=value` (`arg == NULL`).
///
/// # Safety
///
/// `arg` is null or points to a NUL-terminated string.
pub(crate) unsafe fn arg_bytes<'a>(arg: *const c_char) -> Option<&'a [u8]> {
    if arg.is_null() {
        return None;
    }
    // SAFETY: Non-null, and NUL-terminated per the caller.
    Some(unsafe { kernel_cstr::bytes(arg) })
}

/// `early_kasan_fault()`: parses `kasan.fault=report|panic|panic_on_write`.
///
/// On success stores the `enum kasan_arg_fault` value (report 1, panic 2, panic_on_write 3, as
/// `report.c` asserts) to `mode` and returns 0; otherwise returns `-EINVAL` and leaves `mode`
/// alone.
///
/// # Safety
///
/// `arg` is null or a NUL-terminated string; `mode` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn rkasan_parse_fault(arg: *const c_char, mode: *mut c_int) -> c_int {
    // SAFETY: Guaranteed by the caller.
    match params::early_kasan_fault(unsafe { arg_bytes(arg) }) {
        Ok(fault) => {
            let value = match fault {
                KasanArgFault::Default => 0,
                KasanArgFault::Report => 1,
                KasanArgFault::Panic => 2,
                KasanArgFault::PanicOnWrite => 3,
            };
            // SAFETY: Guaranteed by the caller.
            unsafe { *mode = value };
            0
        }
        Err(err) => err.to_errno(),
    }
}

/// The name `kasan_set_multi_shot()` is registered under.
const MULTI_SHOT: &[u8] = b"kasan_multi_shot";

/// `kasan_set_multi_shot()`: whether the option `kasan_multi_shot<rest>` turns multi-shot
/// reporting on.
///
/// `init/main.c` calls the handler for every option that starts with the name, passing what
/// follows it; the core decides on the whole option, rebuilt here (a `rest` too long for the
/// buffer is cut, which cannot change the answer: only the name is matched).
///
/// # Safety
///
/// `rest` is null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rkasan_parse_multi_shot(rest: *const c_char) -> bool {
    let mut line = [0u8; 64];
    let mut len: usize = 0;
    // SAFETY: Guaranteed by the caller.
    let rest = unsafe { arg_bytes(rest) }.unwrap_or(&[]);
    for (slot, byte) in line.iter_mut().zip(MULTI_SHOT.iter().chain(rest.iter())) {
        *slot = *byte;
        len = len.wrapping_add(1);
    }
    params::kasan_set_multi_shot(line.get(..len).unwrap_or(MULTI_SHOT))
}

/// For the KUnit suite: whether the core runs `kasan_set_multi_shot()` for the whole option
/// `line` (`param` or `param=value`, as `obsolete_checksetup()` sees it), the decision that
/// [`rkasan_parse_multi_shot`] only ever gets to make for options that already matched.
///
/// # Safety
///
/// `line` is a NUL-terminated string.
#[cfg(CONFIG_KASAN_RUST_KUNIT_TEST)]
#[no_mangle]
pub unsafe extern "C" fn rkasan_test_multi_shot_option(line: *const c_char) -> bool {
    // SAFETY: Guaranteed by the caller.
    unsafe { arg_bytes(line) }.is_some_and(params::kasan_set_multi_shot)
}
