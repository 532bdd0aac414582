// SPDX-License-Identifier: GPL-2.0

//! The boot parameters of the tag-based KASAN modes, parsed by the core crate for the handlers
//! that `mm/kasan/hw_tags.c` and `mm/kasan/tags.c` register with `early_param()`, and the
//! whole-command-line parse the tag-mode KUnit cases compare the boot's state with.
//!
//! Built only for the tag-based modes, whose C files call it. As in [`crate::kernel_params`], a
//! rejected value returns `-EINVAL`, which makes `init/main.c` print upstream's `Malformed early
//! option` warning, and the setting keeps its default.

use crate::kernel_cstr;
use crate::kernel_params::arg_bytes;
use crate::params::{
    self, KasanArg, KasanArgMode, KasanArgStacktrace, KasanArgVmalloc, ParamError,
};
use kernel::ffi::{c_char, c_int, c_uint, c_ulong};

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
