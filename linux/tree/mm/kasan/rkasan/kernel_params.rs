// SPDX-License-Identifier: GPL-2.0

//! The boot parameters of KASAN, parsed by the core crate for the handlers that
//! `mm/kasan/report.c` (every mode), `mm/kasan/hw_tags.c` and `mm/kasan/tags.c` (tag-based
//! modes) register with `early_param()` and `__setup()`.
//!
//! The handlers stay in C because the registration macros are C; each one hands its raw
//! argument to a function here. A rejected value returns `-EINVAL`, which makes `init/main.c`
//! print upstream's `Malformed early option` warning, and the setting keeps its default.

use crate::kernel_cstr;
use crate::params::{
    self, KasanArg, KasanArgFault, KasanArgMode, KasanArgStacktrace, KasanArgVmalloc, ParamError,
};
use kernel::ffi::{c_char, c_int, c_uint, c_ulong};

/// The bytes of a handler's argument: `None` when the option had no `=value` (`arg == NULL`).
///
/// # Safety
///
/// `arg` is null or points to a NUL-terminated string.
unsafe fn arg_bytes<'a>(arg: *const c_char) -> Option<&'a [u8]> {
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

/// Runs a parser for a handler that stores into `out`: the value on success, `default` when
/// upstream resets the variable before failing ([`ParamError::InvalidReset`]), nothing on any
/// other error. Returns the C handler's return value.
///
/// # Safety
///
/// `out` is valid for writes.
unsafe fn store<T>(r: Result<T, ParamError>, out: *mut T, default: T) -> c_int {
    match r {
        Ok(v) => {
            // SAFETY: Guaranteed by the caller.
            unsafe { out.write(v) };
            0
        }
        Err(ParamError::InvalidReset) => {
            // SAFETY: Guaranteed by the caller.
            unsafe { out.write(default) };
            ParamError::InvalidReset.to_errno()
        }
        Err(err) => err.to_errno(),
    }
}

/// Defines an `extern "C"` parser for the handler `$c` of `$file`: `$parse` turns the argument
/// into the `enum` value `$value` maps to `c_int` (`Default` being 0, as in every KASAN
/// `enum kasan_arg_*`).
macro_rules! define_enum_parser {
    ($name:ident, $c:literal, $file:literal, $parse:expr, $value:expr) => {
        #[doc = concat!("`", $c, "()` of `", $file, "`: parses its argument and, on success, ")]
        #[doc = "stores the value of its `enum` to `value` and returns 0; otherwise returns"]
        #[doc = "`-EINVAL` and leaves `value` alone."]
        ///
        /// # Safety
        ///
        /// `arg` is null or a NUL-terminated string; `value` is valid for writes.
        #[no_mangle]
        pub unsafe extern "C" fn $name(arg: *const c_char, value: *mut c_int) -> c_int {
            // SAFETY: Guaranteed by the caller.
            let r = $parse(unsafe { arg_bytes(arg) }).map($value);
            // SAFETY: Guaranteed by the caller.
            unsafe { store(r, value, 0) }
        }
    };
}

define_enum_parser!(
    rkasan_parse_kasan,
    "early_kasan_flag",
    "mm/kasan/hw_tags.c",
    params::early_kasan_flag,
    |v| match v {
        KasanArg::Default => 0,
        KasanArg::Off => 1,
        KasanArg::On => 2,
    }
);

define_enum_parser!(
    rkasan_parse_kasan_mode,
    "early_kasan_mode",
    "mm/kasan/hw_tags.c",
    params::early_kasan_mode,
    |v| match v {
        KasanArgMode::Default => 0,
        KasanArgMode::Sync => 1,
        KasanArgMode::Async => 2,
        KasanArgMode::Asymm => 3,
    }
);

define_enum_parser!(
    rkasan_parse_kasan_vmalloc,
    "early_kasan_flag_vmalloc",
    "mm/kasan/hw_tags.c",
    |arg| params::early_kasan_flag_vmalloc(arg, cfg!(CONFIG_KASAN_VMALLOC)),
    |v| match v {
        KasanArgVmalloc::Default => 0,
        KasanArgVmalloc::Off => 1,
        KasanArgVmalloc::On => 2,
    }
);

define_enum_parser!(
    rkasan_parse_stacktrace,
    "early_kasan_flag_stacktrace",
    "mm/kasan/tags.c",
    params::early_kasan_flag_stacktrace,
    |v| match v {
        KasanArgStacktrace::Default => 0,
        KasanArgStacktrace::Off => 1,
        KasanArgStacktrace::On => 2,
    }
);

/// `early_kasan_flag_write_only()` of `mm/kasan/hw_tags.c`: `kasan.write_only=off|on` into
/// `value` (`kasan_flag_write_only`); `-EINVAL` otherwise, `value` untouched.
///
/// # Safety
///
/// `arg` is null or a NUL-terminated string; `value` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn rkasan_parse_write_only(arg: *const c_char, value: *mut bool) -> c_int {
    // SAFETY: Guaranteed by the caller.
    unsafe {
        store(
            params::early_kasan_flag_write_only(arg_bytes(arg)),
            value,
            false,
        )
    }
}

/// `early_kasan_flag_page_alloc_sample()` of `mm/kasan/hw_tags.c`: `kstrtoul()` into `value`
/// (`kasan_page_alloc_sample`); 0 or a value above `LONG_MAX` resets it to the default and
/// returns `-EINVAL`, a malformed one returns `-EINVAL` / `-ERANGE` and leaves it.
///
/// # Safety
///
/// `arg` is null or a NUL-terminated string; `value` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn rkasan_parse_page_alloc_sample(
    arg: *const c_char,
    value: *mut c_ulong,
) -> c_int {
    // SAFETY: Guaranteed by the caller.
    let r = params::early_kasan_flag_page_alloc_sample(unsafe { arg_bytes(arg) });
    // `c_ulong` is `usize` in the kernel's Rust.
    // SAFETY: Guaranteed by the caller.
    unsafe { store(r, value, params::PAGE_ALLOC_SAMPLE_DEFAULT) }
}

/// `early_kasan_flag_page_alloc_sample_order()` of `mm/kasan/hw_tags.c`: `kstrtouint()` into
/// `value` (`kasan_page_alloc_sample_order`); above `INT_MAX` resets it to the default and
/// returns `-EINVAL`.
///
/// # Safety
///
/// `arg` is null or a NUL-terminated string; `value` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn rkasan_parse_page_alloc_sample_order(
    arg: *const c_char,
    value: *mut c_uint,
) -> c_int {
    // SAFETY: Guaranteed by the caller.
    let r = params::early_kasan_flag_page_alloc_sample_order(unsafe { arg_bytes(arg) });
    // SAFETY: Guaranteed by the caller.
    unsafe { store(r, value, params::PAGE_ALLOC_SAMPLE_ORDER_DEFAULT) }
}

/// `early_kasan_flag_stack_ring_size()` of `mm/kasan/tags.c`: `kstrtoul()` into `value`
/// (`stack_ring.size`; 0 means the default, chosen at init); a malformed value returns
/// `-EINVAL` / `-ERANGE` and leaves it.
///
/// # Safety
///
/// `arg` is null or a NUL-terminated string; `value` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn rkasan_parse_stack_ring_size(
    arg: *const c_char,
    value: *mut c_ulong,
) -> c_int {
    // SAFETY: Guaranteed by the caller.
    let r = params::early_kasan_flag_stack_ring_size(unsafe { arg_bytes(arg) });
    // SAFETY: Guaranteed by the caller.
    unsafe { store(r, value, 0) }
}

/// The boot parameters of the tag-based modes as a command line sets them, `struct
/// rkasan_boot_args` of `mm/kasan/rkasan.h`: the `enum kasan_arg_*` values as stored by the
/// parsers above.
#[repr(C)]
pub struct BootArgsC {
    /// `kasan_arg`.
    pub kasan: c_int,
    /// `kasan_arg_mode`.
    pub mode: c_int,
    /// `kasan_arg_vmalloc`.
    pub vmalloc: c_int,
    /// `kasan_arg_stacktrace`.
    pub stacktrace: c_int,
    /// `kasan_flag_write_only` as requested.
    pub write_only: bool,
    /// `kasan_page_alloc_sample_order`.
    pub page_alloc_sample_order: c_uint,
    /// `kasan_page_alloc_sample`.
    pub page_alloc_sample: c_ulong,
    /// `stack_ring.size` as given (0: the default).
    pub stack_ring_size: c_ulong,
}

/// Parses a whole kernel command line (`saved_command_line`) the way the kernel's two passes
/// apply KASAN's parameters to it, into `args`, and returns how many were malformed. For the
/// KUnit suite, which compares the result with the state the boot left behind.
///
/// # Safety
///
/// `cmdline` is a NUL-terminated string; `args` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn rkasan_parse_command_line(
    cmdline: *const c_char,
    args: *mut BootArgsC,
) -> c_int {
    let mut boot = params::BootArgs::new(cfg!(CONFIG_KASAN_VMALLOC));
    // SAFETY: Guaranteed by the caller.
    let malformed = boot.parse_command_line(unsafe { kernel_cstr::bytes(cmdline) });
    let out = BootArgsC {
        kasan: match boot.kasan {
            KasanArg::Default => 0,
            KasanArg::Off => 1,
            KasanArg::On => 2,
        },
        mode: match boot.mode {
            KasanArgMode::Default => 0,
            KasanArgMode::Sync => 1,
            KasanArgMode::Async => 2,
            KasanArgMode::Asymm => 3,
        },
        vmalloc: match boot.vmalloc {
            KasanArgVmalloc::Default => 0,
            KasanArgVmalloc::Off => 1,
            KasanArgVmalloc::On => 2,
        },
        stacktrace: match boot.stacktrace {
            KasanArgStacktrace::Default => 0,
            KasanArgStacktrace::Off => 1,
            KasanArgStacktrace::On => 2,
        },
        write_only: boot.write_only,
        page_alloc_sample_order: boot.page_alloc_sample_order,
        page_alloc_sample: boot.page_alloc_sample,
        stack_ring_size: boot.stack_ring_size,
    };
    // SAFETY: Guaranteed by the caller.
    unsafe { args.write(out) };
    c_int::try_from(malformed).unwrap_or(c_int::MAX)
}
