// SPDX-License-Identifier: GPL-2.0

//! The check and poison paths of Generic KASAN, exported to the C entry layer.
//!
//! Twin of the check path of [`mm/kasan/generic.c`](srctree/mm/kasan/generic.c) and of the
//! poisoning in [`mm/kasan/shadow.c`](srctree/mm/kasan/shadow.c). `mm/kasan/rkasan_entry.c`
//! calls these after `kasan_enabled()`, passing `_RET_IP_` where a report may follow.
//!
//! These run on every instrumented access: no panics, wrapping arithmetic only, and nothing
//! instrumented is called except `kasan_report()`, which only runs on a bad access.

use crate::check;
use crate::kernel_shadow::KernelShadow;
use crate::shadow::{self, Shadow, KASAN_ALLOCA_LEFT, KASAN_ALLOCA_RIGHT, KASAN_GLOBAL_REDZONE};
use core::ffi::c_void;
use kernel::ffi::c_ulong;

extern "C" {
    fn kasan_report(addr: *const c_void, size: usize, is_write: bool, ip: c_ulong) -> bool;
}

/// Reports a bad access unless the report is suppressed.
///
/// Always inlined: x86_64's objtool allows the check path to be entered with UACCESS enabled
/// (a user copy's instrumented access) only if it calls nothing but `kasan_report()`, which
/// saves and clears the flag itself, or functions on its list, which cannot name Rust's
/// mangled ones.
#[inline(always)]
fn report(addr: usize, size: usize, write: bool, ret_ip: c_ulong) -> bool {
    // SAFETY: `kasan_report()` accepts any address and size: it only reads the shadow of
    // addresses that have metadata and describes the rest.
    unsafe { kasan_report(addr as *const c_void, size, write, ret_ip) }
}

/// Checks the access of `size` bytes at `addr` and reports it if it is bad.
///
/// Returns whether the access is good (`check_region_inline()` minus the `kasan_enabled()`
/// test, which the C caller did).
#[inline(always)]
fn check_region(addr: usize, size: usize, write: bool, ret_ip: c_ulong) -> bool {
    // SAFETY: `KernelShadow` maps every address to its shadow, which is mapped whenever KASAN
    // is enabled.
    match unsafe { check::check_range(&KernelShadow, addr, size) } {
        Ok(()) => true,
        Err(_) => !report(addr, size, write, ret_ip),
    }
}

/// `kasan_check_range()`: checks `size` bytes at `addr`, reporting a bad access as made from
/// `ret_ip`. Returns `false` if the access was bad and reported.
#[no_mangle]
pub extern "C" fn rkasan_check_range(
    addr: *const c_void,
    size: usize,
    write: bool,
    ret_ip: c_ulong,
) -> bool {
    check_region(addr as usize, size, write, ret_ip)
}

/// The out-of-line part of `__asan_load<SIZE>()` / `__asan_store<SIZE>()`: upstream's exact
/// check of an access that [`check::fast_path`] and [`check::partial_granule_accepts`] did not
/// settle, and its report.
///
/// Cold. Under `ARCH_DEFER_KASAN` never inlined, reached by a tail call from
/// `rkasan_<kind><N>()`; otherwise inlined into `rkasan_<kind><N>_slow()` (behind C's
/// `_RET_IP_` taker), which x86_64's objtool must see call `kasan_report()` only (see
/// [`report`]).
#[cfg(CONFIG_KASAN_RUST_SHADOW)]
#[cold]
#[cfg_attr(CONFIG_ARCH_DEFER_KASAN, inline(never))]
#[cfg_attr(not(CONFIG_ARCH_DEFER_KASAN), inline(always))]
fn check_access_slow<const SIZE: usize>(addr: usize, write: bool, ret_ip: c_ulong) {
    // SAFETY: `KernelShadow` maps every address to its shadow, which is mapped whenever KASAN
    // is enabled; `check_access()` reads it only for a non-wrapping access with metadata.
    if unsafe { check::check_access::<_, SIZE>(&KernelShadow, addr) }.is_err() {
        report(addr, SIZE, write, ret_ip);
    }
}

/// The body of the Rust `__asan_<kind><SIZE>()` entries: the fast path, then a tail call to
/// `granule` for a partial granule or to `caller` for anything else (see `define_load_store!`).
/// Always inlined, so that both calls are direct jumps.
#[cfg(all(CONFIG_KASAN_RUST_SHADOW, not(CONFIG_ARCH_DEFER_KASAN)))]
#[inline(always)]
fn entry_check<const SIZE: usize>(
    addr: *const c_void,
    granule: unsafe extern "C" fn(*const c_void),
    caller: unsafe extern "C" fn(*const c_void),
) {
    // SAFETY: `KernelShadow` maps every address to its shadow, which is mapped from before any
    // instrumented code runs (`kasan_enabled()` is constant true).
    match unsafe { check::fast_path::<_, SIZE>(&KernelShadow, addr as usize) } {
        check::FastPath::Good => {}
        // `granule` reads the shadow byte again: passing it would need a register move before
        // the branch, which LLVM puts after it, on the good path's way to the return.
        // SAFETY: The access lies inside one granule that has shadow.
        check::FastPath::Partial(_) => unsafe { granule(addr) },
        // SAFETY: Any address may be passed.
        check::FastPath::Undecided => unsafe { caller(addr) },
    }
}

/// Defines the checks of `__asan_load<N>()` and `__asan_store<N>()`.
///
/// Under `ARCH_DEFER_KASAN`, `kasan_enabled()` is a static key: the C entry layer tests it and
/// calls `rkasan_load<N>(addr, ret_ip)`, defined here. Otherwise `kasan_enabled()` is constant
/// true and the entries themselves are defined here, with their `_noabort` twins (which the
/// compiler calls): a C entry in front would add a jump, measurably, to every instrumented
/// access. An access their fast path cannot settle goes by a tail call to
/// `rkasan_load<N>_granule(addr)` if it lies inside one granule of non-zero shadow, and
/// from there, or directly for anything else, to C's `rkasan_load<N>_caller(addr)`: entered by
/// jumps only, that function's `_RET_IP_` is still the instrumented caller, and it passes it to
/// `rkasan_load<N>_slow(addr, ret_ip)`, upstream's full check, defined here.
///
/// All of them only with `KASAN_RUST_SHADOW`: without it, `generic.c` defines the entries and
/// its own check path.
macro_rules! define_load_store {
    ($size:literal, $kind:literal, $write:literal,
     $deferred:ident, $entry:ident, $noabort:ident, $granule:ident, $caller:ident, $slow:ident) => {
        #[cfg(all(CONFIG_KASAN_RUST_SHADOW, CONFIG_ARCH_DEFER_KASAN))]
        #[doc = concat!("Checks a ", $kind, " of ", stringify!($size), " bytes at `addr`.")]
        #[no_mangle]
        pub extern "C" fn $deferred(addr: *const c_void, ret_ip: c_ulong) {
            let addr = addr as usize;
            // SAFETY: `KernelShadow` maps every address to its shadow, which is mapped whenever
            // KASAN is enabled, as the C caller checked.
            let good = match unsafe { check::fast_path::<_, $size>(&KernelShadow, addr) } {
                check::FastPath::Good => true,
                check::FastPath::Partial(k) => check::partial_granule_accepts::<$size>(addr, k),
                check::FastPath::Undecided => false,
            };
            if !good {
                check_access_slow::<$size>(addr, $write, ret_ip);
            }
        }

        #[cfg(all(CONFIG_KASAN_RUST_SHADOW, not(CONFIG_ARCH_DEFER_KASAN)))]
        extern "C" {
            fn $caller(addr: *const c_void);
        }

        #[cfg(all(CONFIG_KASAN_RUST_SHADOW, not(CONFIG_ARCH_DEFER_KASAN)))]
        #[doc = concat!("`__asan_", $kind, stringify!($size), "()`: checks a ", $kind, ".")]
        #[no_mangle]
        pub extern "C" fn $entry(addr: *const c_void) {
            entry_check::<$size>(addr, $granule, $caller);
        }

        #[cfg(all(CONFIG_KASAN_RUST_SHADOW, not(CONFIG_ARCH_DEFER_KASAN)))]
        #[doc = concat!("`__asan_", $kind, stringify!($size), "_noabort()`: the same check.")]
        #[no_mangle]
        pub extern "C" fn $noabort(addr: *const c_void) {
            entry_check::<$size>(addr, $granule, $caller);
        }

        #[cfg(all(CONFIG_KASAN_RUST_SHADOW, not(CONFIG_ARCH_DEFER_KASAN)))]
        #[doc = concat!("The check of a ", $kind, " at `addr` inside one partial granule.")]
        ///
        /// # Safety
        ///
        /// The access lies inside one granule that has shadow, as for [`check::FastPath::Partial`].
        #[no_mangle]
        #[inline(never)]
        pub unsafe extern "C" fn $granule(addr: *const c_void) {
            let addr = addr as usize;
            // SAFETY: The shadow of `addr` is mapped, per the function's contract.
            let k = unsafe { KernelShadow.mem_to_shadow(addr).read() } as i8;
            if !check::partial_granule_accepts::<$size>(addr, k) {
                // SAFETY: Any address may be passed. In tail position, so `_RET_IP_` in the
                // callee is the entry's caller (checked by the lab in the object code).
                unsafe { $caller(addr as *const c_void) }
            }
        }

        #[cfg(all(CONFIG_KASAN_RUST_SHADOW, not(CONFIG_ARCH_DEFER_KASAN)))]
        #[doc = concat!("The full check of a ", $kind, " at `addr` made from `ret_ip`.")]
        #[no_mangle]
        pub extern "C" fn $slow(addr: *const c_void, ret_ip: c_ulong) {
            check_access_slow::<$size>(addr as usize, $write, ret_ip);
        }
    };
}

define_load_store!(
    1,
    "load",
    false,
    rkasan_load1,
    __asan_load1,
    __asan_load1_noabort,
    rkasan_load1_granule,
    rkasan_load1_caller,
    rkasan_load1_slow
);
define_load_store!(
    1,
    "store",
    true,
    rkasan_store1,
    __asan_store1,
    __asan_store1_noabort,
    rkasan_store1_granule,
    rkasan_store1_caller,
    rkasan_store1_slow
);
define_load_store!(
    2,
    "load",
    false,
    rkasan_load2,
    __asan_load2,
    __asan_load2_noabort,
    rkasan_load2_granule,
    rkasan_load2_caller,
    rkasan_load2_slow
);
define_load_store!(
    2,
    "store",
    true,
    rkasan_store2,
    __asan_store2,
    __asan_store2_noabort,
    rkasan_store2_granule,
    rkasan_store2_caller,
    rkasan_store2_slow
);
define_load_store!(
    4,
    "load",
    false,
    rkasan_load4,
    __asan_load4,
    __asan_load4_noabort,
    rkasan_load4_granule,
    rkasan_load4_caller,
    rkasan_load4_slow
);
define_load_store!(
    4,
    "store",
    true,
    rkasan_store4,
    __asan_store4,
    __asan_store4_noabort,
    rkasan_store4_granule,
    rkasan_store4_caller,
    rkasan_store4_slow
);
define_load_store!(
    8,
    "load",
    false,
    rkasan_load8,
    __asan_load8,
    __asan_load8_noabort,
    rkasan_load8_granule,
    rkasan_load8_caller,
    rkasan_load8_slow
);
define_load_store!(
    8,
    "store",
    true,
    rkasan_store8,
    __asan_store8,
    __asan_store8_noabort,
    rkasan_store8_granule,
    rkasan_store8_caller,
    rkasan_store8_slow
);
define_load_store!(
    16,
    "load",
    false,
    rkasan_load16,
    __asan_load16,
    __asan_load16_noabort,
    rkasan_load16_granule,
    rkasan_load16_caller,
    rkasan_load16_slow
);
define_load_store!(
    16,
    "store",
    true,
    rkasan_store16,
    __asan_store16,
    __asan_store16_noabort,
    rkasan_store16_granule,
    rkasan_store16_caller,
    rkasan_store16_slow
);

/// `kasan_poison()`: marks `size` bytes at `addr` with the shadow `value`.
///
/// Returns `false`, touching nothing, if `addr` or `size` is not granule-aligned; the C
/// caller turns that into upstream's `WARN_ON()`.
#[no_mangle]
pub extern "C" fn rkasan_poison(addr: *const c_void, size: usize, value: u8) -> bool {
    // SAFETY: KASAN callers poison memory that has shadow.
    unsafe { shadow::poison(&KernelShadow, addr as usize, size, value) }.is_ok()
}

/// `kasan_unpoison()`: makes `size` bytes at `addr` accessible, the last granule partially.
///
/// Returns `false`, touching nothing, if `addr` is not granule-aligned.
#[no_mangle]
pub extern "C" fn rkasan_unpoison(addr: *const c_void, size: usize) -> bool {
    // SAFETY: KASAN callers unpoison memory that has shadow.
    unsafe { shadow::unpoison(&KernelShadow, addr as usize, size) }.is_ok()
}

/// `kasan_poison_last_granule()`: makes only the first `size % 8` bytes of the granule that
/// holds `addr + size` accessible.
#[no_mangle]
pub extern "C" fn rkasan_poison_last_granule(addr: *const c_void, size: usize) {
    // SAFETY: KASAN callers pass memory that has shadow.
    unsafe { shadow::poison_last_granule(&KernelShadow, addr as usize, size) }
}

/// `kasan_byte_accessible()`: whether the byte at `addr` may be accessed.
#[no_mangle]
pub extern "C" fn rkasan_byte_accessible(addr: *const c_void) -> bool {
    // SAFETY: Callers (`__kasan_slab_free()` and friends) pass slab addresses, which have shadow.
    unsafe { check::byte_accessible(&KernelShadow, addr as usize) }
}

/// `__asan_set_shadow_<value>()`: the compiler writes `value` over `size` shadow bytes at
/// `shadow` (a shadow address) to poison or unpoison stack variables.
#[no_mangle]
pub extern "C" fn rkasan_set_shadow(shadow: *mut c_void, value: u8, size: usize) {
    // SAFETY: The compiler passes the shadow of the current stack frame.
    unsafe { shadow::Shadow::fill(&KernelShadow, shadow.cast(), value, size) }
}

/// `__asan_alloca_poison()`: poisons the redzones around an `alloca()`ed object of `size`
/// bytes at `addr`. Returns `false` if `addr` is not aligned to `KASAN_ALLOCA_REDZONE_SIZE`.
#[no_mangle]
pub extern "C" fn rkasan_alloca_poison(addr: *const c_void, size: usize) -> bool {
    const REDZONE: usize = shadow::KASAN_ALLOCA_REDZONE_SIZE;
    let addr = addr as usize;
    let rounded_up = round_up(size, shadow::KASAN_GRANULE_SIZE);
    let padding = round_up(size, REDZONE).wrapping_sub(rounded_up);
    let rounded_down = size & !shadow::KASAN_GRANULE_MASK;
    let aligned = addr & (REDZONE - 1) == 0;

    // SAFETY: The compiler passes a stack object with its redzones, which have shadow. Like
    // upstream, a misaligned `addr` is warned about but still poisoned (alignment of the
    // redzones below is then checked by `poison()`).
    unsafe {
        let _ = shadow::unpoison(
            &KernelShadow,
            addr.wrapping_add(rounded_down),
            size.wrapping_sub(rounded_down),
        );
        let _ = shadow::poison(
            &KernelShadow,
            addr.wrapping_sub(REDZONE),
            REDZONE,
            KASAN_ALLOCA_LEFT,
        );
        let _ = shadow::poison(
            &KernelShadow,
            addr.wrapping_add(rounded_up),
            padding.wrapping_add(REDZONE),
            KASAN_ALLOCA_RIGHT,
        );
    }
    aligned
}

/// `__asan_allocas_unpoison()`: unpoisons the stack between `stack_top` and `stack_bottom`
/// when a frame with `alloca()`s unwinds.
#[no_mangle]
pub extern "C" fn rkasan_allocas_unpoison(stack_top: *const c_void, stack_bottom: *const c_void) {
    let (top, bottom) = (stack_top as usize, stack_bottom as usize);
    if top == 0 || top > bottom {
        return;
    }
    // SAFETY: The range is part of the current task's stack, which has shadow.
    let _ = unsafe { shadow::unpoison(&KernelShadow, top, bottom.wrapping_sub(top)) };
}

#[inline(always)]
fn round_up(x: usize, align: usize) -> usize {
    x.wrapping_add(align - 1) & !(align - 1)
}

/// The head of `struct kasan_global` (mm/kasan/kasan.h): the fields registration reads. The C
/// caller passes the real stride, so fields added by newer ABI versions do not matter here.
#[repr(C)]
struct KasanGlobal {
    beg: usize,
    size: usize,
    size_with_redzone: usize,
}

/// `register_global()`: unpoisons a global and poisons its redzone.
///
/// # Safety
///
/// `global` points to a valid `struct kasan_global` whose variable has shadow.
unsafe fn register_global(global: *const KasanGlobal) {
    // SAFETY: Guaranteed by the caller.
    let g = unsafe { &*global };
    let aligned_size = round_up(g.size, shadow::KASAN_GRANULE_SIZE);
    // SAFETY: The compiler aligns globals and their redzones to the granule, and the shadow of
    // the kernel image is mapped.
    unsafe {
        let _ = shadow::unpoison(&KernelShadow, g.beg, g.size);
        let _ = shadow::poison(
            &KernelShadow,
            g.beg.wrapping_add(aligned_size),
            g.size_with_redzone.wrapping_sub(aligned_size),
            KASAN_GLOBAL_REDZONE,
        );
    }
}

/// Registers `count` globals described by the array at `globals` with elements `stride` bytes
/// apart.
///
/// # Safety
///
/// `globals` points to `count` valid `struct kasan_global`s, `stride` bytes apart, whose
/// variables have mapped shadow.
unsafe fn register_globals(globals: usize, count: usize, stride: usize) {
    let mut g = globals;
    for _ in 0..count {
        // SAFETY: Guaranteed by the caller.
        unsafe { register_global(g as *const KasanGlobal) };
        g = g.wrapping_add(stride);
    }
}

/// Globals registered before KASAN was enabled, replayed when it is.
///
/// Under `ARCH_DEFER_KASAN` (UML with `STATIC_LINK`), the constructors of the kernel image call
/// `__asan_register_globals()` before `main()`, while `kasan_enabled()` is still false: upstream
/// drops those registrations, so global redzones are never poisoned. The shadow may not be mapped
/// yet on every architecture that defers, so instead of poisoning early we record each array
/// and poison once `kasan_init_generic()` has enabled KASAN.
#[cfg(CONFIG_ARCH_DEFER_KASAN)]
mod deferred {
    use core::cell::UnsafeCell;

    /// Room for the global arrays of every instrumented object of vmlinux (one per object
    /// file with globals; the kunit `static` UML kernel registers 646).
    const CAPACITY: usize = 8192;

    /// One recorded `__asan_register_globals()` call.
    #[derive(Clone, Copy)]
    pub(super) struct Registration {
        pub(super) globals: usize,
        pub(super) count: usize,
        pub(super) stride: usize,
    }

    /// The recorded calls.
    ///
    /// # Invariants
    ///
    /// Only accessed before KASAN is enabled and during its enabling, both of which happen on
    /// the boot CPU with nothing else running.
    pub(super) struct Log {
        pub(super) entries: UnsafeCell<[Registration; CAPACITY]>,
        pub(super) len: UnsafeCell<usize>,
        pub(super) dropped: UnsafeCell<usize>,
    }

    // SAFETY: Per the type invariant, no two CPUs ever access the log.
    unsafe impl Sync for Log {}

    pub(super) static LOG: Log = Log {
        entries: UnsafeCell::new(
            [Registration {
                globals: 0,
                count: 0,
                stride: 0,
            }; CAPACITY],
        ),
        len: UnsafeCell::new(0),
        dropped: UnsafeCell::new(0),
    };

    /// Records a registration; returns `false` if the log is full.
    pub(super) fn record(reg: Registration) -> bool {
        // SAFETY: Single-threaded early boot, per the invariant of `Log`.
        let len = unsafe { &mut *LOG.len.get() };
        // SAFETY: As above.
        let entries = unsafe { &mut *LOG.entries.get() };
        match entries.get_mut(*len) {
            Some(slot) => {
                *slot = reg;
                *len = len.wrapping_add(1);
                true
            }
            None => {
                // SAFETY: As above.
                unsafe { *LOG.dropped.get() = (*LOG.dropped.get()).wrapping_add(1) };
                false
            }
        }
    }
}

/// `__asan_register_globals()`: registers `count` globals at `globals`, `stride` bytes apart.
///
/// While KASAN is not yet `enabled`, the registration is recorded and replayed by
/// [`rkasan_replay_deferred_globals`].
///
/// # Safety
///
/// `globals` points to `count` valid `struct kasan_global`s, `stride` bytes apart (the
/// compiler-generated constructor's array).
#[no_mangle]
pub unsafe extern "C" fn rkasan_register_globals(
    globals: *const c_void,
    count: usize,
    stride: usize,
    enabled: bool,
) {
    if !enabled {
        #[cfg(CONFIG_ARCH_DEFER_KASAN)]
        deferred::record(deferred::Registration {
            globals: globals as usize,
            count,
            stride,
        });
        return;
    }
    // SAFETY: Guaranteed by the caller; KASAN is enabled, so the shadow is mapped.
    unsafe { register_globals(globals as usize, count, stride) };
}

/// Poisons the redzones of the globals registered before KASAN was enabled. Called once, by
/// `kasan_init_generic()`, right after enabling KASAN.
#[no_mangle]
pub extern "C" fn rkasan_replay_deferred_globals() {
    #[cfg(CONFIG_ARCH_DEFER_KASAN)]
    {
        // SAFETY: Called during the enabling of KASAN, per the invariant of `deferred::Log`.
        let (entries, len, dropped) = unsafe {
            (
                &*deferred::LOG.entries.get(),
                *deferred::LOG.len.get(),
                *deferred::LOG.dropped.get(),
            )
        };
        for reg in entries.iter().take(len) {
            // SAFETY: Each entry was recorded from a compiler-generated constructor, whose
            // arrays live in the kernel image; KASAN is now enabled and the shadow mapped.
            unsafe { register_globals(reg.globals, reg.count, reg.stride) };
        }
        if dropped != 0 {
            kernel::pr_warn!(
                "{} global arrays registered before KASAN was enabled were not poisoned\n",
                dropped
            );
        }
    }
}
