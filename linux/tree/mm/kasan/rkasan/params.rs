// SPDX-License-Identifier: GPL-2.0

//! KASAN boot parameters: one parser per parameter, with upstream semantics.
//!
//! Each `early_*` function is the twin of the C `early_param()` handler of the same name and takes
//! its argument the way `do_early_param()` (`init/main.c`) hands it over: `None` when the parameter
//! was given without `=value` (the C handler sees `arg == NULL`), otherwise the bytes of the value.
//! The result is `Ok(value)` when the C handler returns 0 after storing `value`, or a
//! [`ParamError`] whose [`ParamError::to_errno`] is the C return value. On error the C handlers
//! leave their variable untouched (`kstrto*()` never writes its result on failure), except for the
//! two handlers that explicitly reset it to the default first: see [`ParamError::InvalidReset`].
//! [`BootArgs`] applies all of this to a set of variables exactly as the C globals evolve,
//! including repeated parameters (the last one wins).
//!
//! A non-zero return from an early parameter handler only makes `do_early_param()` print
//! `Malformed early option '<param>'`; parsing of the command line goes on.
//!
//! Values are C strings: a value containing a NUL byte is seen up to its first NUL, as the C
//! handler would see it. Keywords compare case-sensitively and exactly, like `strcmp()`.
//!
//! The enums that mirror a C enum are `#[repr(i32)]` with the C values, which the kernel glue
//! hands to C with `as c_int`.
//!
//! This is boot-time code, yet it may not panic either, and so it uses `get()`, `unwrap_or()` and
//! wrapping arithmetic where indexing, `unwrap()` or a plain `+` would read more simply: a
//! malformed parameter must end in upstream's warning and the default, never in a panic before
//! the console is up, and the lab's gate on `rkasan.o` (no `panic`, `unwrap` or `expect` symbol
//! in it) covers the whole object, not only the hot paths.
//!
//! C sources: [`mm/kasan/hw_tags.c`](srctree/mm/kasan/hw_tags.c),
//! [`mm/kasan/tags.c`](srctree/mm/kasan/tags.c), [`mm/kasan/report.c`](srctree/mm/kasan/report.c),
//! [`lib/kstrtox.c`](srctree/lib/kstrtox.c), [`init/main.c`](srctree/init/main.c),
//! [`kernel/params.c`](srctree/kernel/params.c).

use crate::quarantine::QuarantineSize;

/// `EINVAL` from `include/uapi/asm-generic/errno-base.h`.
pub const EINVAL: i32 = 22;

/// `ERANGE` from `include/uapi/asm-generic/errno-base.h`.
pub const ERANGE: i32 = 34;

/// `PAGE_ALLOC_SAMPLE_DEFAULT` (`mm/kasan/hw_tags.c`): no sampling.
pub const PAGE_ALLOC_SAMPLE_DEFAULT: usize = 1;

/// `PAGE_ALLOC_SAMPLE_ORDER_DEFAULT` (`mm/kasan/hw_tags.c`).
pub const PAGE_ALLOC_SAMPLE_ORDER_DEFAULT: u32 = 3;

/// `KASAN_STACK_RING_SIZE_DEFAULT` (`mm/kasan/tags.c`): `32 << 10` entries.
pub const KASAN_STACK_RING_SIZE_DEFAULT: usize = 32 << 10;

/// `INT_MAX` as the `unsigned int` it is compared with in
/// `early_kasan_flag_page_alloc_sample_order()`.
const INT_MAX: u32 = 0x7fff_ffff;

/// `LONG_MAX` as the `unsigned long` it is compared with in
/// `early_kasan_flag_page_alloc_sample()`.
const LONG_MAX: usize = usize::MAX >> 1;

/// `KSTRTOX_OVERFLOW` bound of `_parse_integer()` (`lib/kstrtox.h`): it converts at most
/// `INT_MAX` characters.
const PARSE_INTEGER_MAX_CHARS: usize = 0x7fff_ffff;

/// The error returned by a parameter handler; [`ParamError::to_errno`] gives the C return value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamError {
    /// `-EINVAL`: no value, an unknown keyword or a malformed number. The handler's variable is
    /// left untouched.
    Invalid,
    /// `-ERANGE`: the number does not fit its type (from `kstrtoul()` / `kstrtouint()`). The
    /// handler's variable is left untouched.
    Range,
    /// `-EINVAL` after the handler reset its variable to the default: a well-formed number that
    /// is out of the accepted range in `early_kasan_flag_page_alloc_sample()` (0 or above
    /// `LONG_MAX`) or `early_kasan_flag_page_alloc_sample_order()` (above `INT_MAX`).
    InvalidReset,
}

impl ParamError {
    /// The value the C handler returns.
    pub const fn to_errno(self) -> i32 {
        match self {
            ParamError::Invalid | ParamError::InvalidReset => -EINVAL,
            ParamError::Range => -ERANGE,
        }
    }
}

/// `enum kasan_arg` (`mm/kasan/hw_tags.c`), set by `kasan=`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(i32)]
pub enum KasanArg {
    /// `KASAN_ARG_DEFAULT`: not given.
    #[default]
    Default = 0,
    /// `KASAN_ARG_OFF`: `kasan=off`.
    Off = 1,
    /// `KASAN_ARG_ON`: `kasan=on`.
    On = 2,
}

/// `enum kasan_arg_mode` (`mm/kasan/hw_tags.c`), set by `kasan.mode=`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(i32)]
pub enum KasanArgMode {
    /// `KASAN_ARG_MODE_DEFAULT`: not given (the mode stays `KASAN_MODE_SYNC`).
    #[default]
    Default = 0,
    /// `KASAN_ARG_MODE_SYNC`: `kasan.mode=sync`.
    Sync = 1,
    /// `KASAN_ARG_MODE_ASYNC`: `kasan.mode=async`.
    Async = 2,
    /// `KASAN_ARG_MODE_ASYMM`: `kasan.mode=asymm`.
    Asymm = 3,
}

/// `enum kasan_arg_vmalloc` (`mm/kasan/hw_tags.c`), set by `kasan.vmalloc=`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(i32)]
pub enum KasanArgVmalloc {
    /// `KASAN_ARG_VMALLOC_DEFAULT`: not given (on with `CONFIG_KASAN_VMALLOC`).
    #[default]
    Default = 0,
    /// `KASAN_ARG_VMALLOC_OFF`: `kasan.vmalloc=off`.
    Off = 1,
    /// `KASAN_ARG_VMALLOC_ON`: `kasan.vmalloc=on`.
    On = 2,
}

/// `enum kasan_arg_stacktrace` (`mm/kasan/tags.c`), set by `kasan.stacktrace=`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(i32)]
pub enum KasanArgStacktrace {
    /// `KASAN_ARG_STACKTRACE_DEFAULT`: not given (collection stays on).
    #[default]
    Default = 0,
    /// `KASAN_ARG_STACKTRACE_OFF`: `kasan.stacktrace=off`.
    Off = 1,
    /// `KASAN_ARG_STACKTRACE_ON`: `kasan.stacktrace=on`.
    On = 2,
}

/// `enum kasan_arg_fault` (`mm/kasan/report.c`), set by `kasan.fault=`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(i32)]
pub enum KasanArgFault {
    /// `KASAN_ARG_FAULT_DEFAULT`: not given (behaves as `report`, unless `panic_on_warn`).
    #[default]
    Default = 0,
    /// `KASAN_ARG_FAULT_REPORT`: `kasan.fault=report`.
    Report = 1,
    /// `KASAN_ARG_FAULT_PANIC`: `kasan.fault=panic`.
    Panic = 2,
    /// `KASAN_ARG_FAULT_PANIC_ON_WRITE`: `kasan.fault=panic_on_write`.
    PanicOnWrite = 3,
}

/// The value as the C handler sees it: the bytes before the first NUL, if any.
///
/// A plain loop: `Iterator::position()` on a slice asserts its index with
/// `hint::assert_unchecked()`, which with debug assertions (`CONFIG_RUST_DEBUG_ASSERTIONS`)
/// becomes a `panic_nounwind` call.
fn c_str(s: &[u8]) -> &[u8] {
    let mut n: usize = 0;
    while let Some(&c) = s.get(n) {
        if c == 0 {
            break;
        }
        n = n.wrapping_add(1);
    }
    s.get(..n).unwrap_or(s)
}

/// `s[i]` of a C string: the NUL terminator (0) past the end.
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// `s + n` of a C string, clamped to its terminator.
fn skip(s: &[u8], n: usize) -> &[u8] {
    s.get(n..).unwrap_or(&[])
}

/// `_tolower()` of `include/linux/ctype.h`: sets bit 5, nothing else.
const fn fast_tolower(c: u8) -> u8 {
    c | 0x20
}

/// `strcmp(arg, keyword) == 0` on the C string `arg`.
fn streq(arg: &[u8], keyword: &[u8]) -> bool {
    c_str(arg) == keyword
}

/// `_parse_integer_fixup_radix()` of `lib/kstrtox.c`: base 0 picks 16 for `0x<xdigit>`, 8 for a
/// leading `0` and 10 otherwise; with base 16 a `0x`/`0X` prefix is skipped.
fn parse_integer_fixup_radix<'a>(mut s: &'a [u8], base: &mut u32) -> &'a [u8] {
    if *base == 0 {
        *base = if at(s, 0) == b'0' {
            if fast_tolower(at(s, 1)) == b'x' && at(s, 2).is_ascii_hexdigit() {
                16
            } else {
                8
            }
        } else {
            10
        };
    }
    if *base == 16 && at(s, 0) == b'0' && fast_tolower(at(s, 1)) == b'x' {
        s = skip(s, 2);
    }
    s
}

/// `_parse_integer_limit()` of `lib/kstrtox.c`: converts the leading digits of `s` (at most
/// `max_chars`) and returns `(characters consumed, overflowed, value)`; on overflow the value is
/// `ULLONG_MAX`.
fn parse_integer_limit(s: &[u8], base: u32, max_chars: usize) -> (usize, bool, u64) {
    let base64 = u64::from(base);
    let mut res: u64 = 0;
    let mut overflow = false;
    let mut rv = 0usize;
    for &c in s.iter().take(max_chars) {
        let lc = fast_tolower(c);
        let val = if c.is_ascii_digit() {
            c.wrapping_sub(b'0')
        } else if (b'a'..=b'f').contains(&lc) {
            lc.wrapping_sub(b'a').wrapping_add(10)
        } else {
            break;
        };
        if u32::from(val) >= base {
            break;
        }
        // Check for overflow only if we are within range of it in the max base we support (16).
        if res & (!0u64 << 60) != 0 {
            match res
                .checked_mul(base64)
                .and_then(|r| r.checked_add(u64::from(val)))
            {
                Some(r) => res = r,
                None => {
                    res = u64::MAX;
                    overflow = true;
                }
            }
        } else {
            // Below 2^60, times at most 16 plus at most 15 cannot wrap.
            res = res.wrapping_mul(base64).wrapping_add(u64::from(val));
        }
        rv = rv.wrapping_add(1);
    }
    (rv, overflow, res)
}

/// `kstrtoull()` of `lib/kstrtox.c` (including `_kstrtoull()`): an optional single `+`, the radix
/// prefix (see [`parse_integer_fixup_radix`]), at least one digit, an optional single `\n`, and
/// nothing else. Overflow gives `-ERANGE` and takes precedence over trailing garbage.
fn kstrtoull(s: &[u8], base: u32) -> Result<u64, ParamError> {
    let s = c_str(s);
    let s = if at(s, 0) == b'+' { skip(s, 1) } else { s };
    let mut base = base;
    let s = parse_integer_fixup_radix(s, &mut base);
    let (rv, overflow, res) = parse_integer_limit(s, base, PARSE_INTEGER_MAX_CHARS);
    if overflow {
        return Err(ParamError::Range);
    }
    if rv == 0 {
        return Err(ParamError::Invalid);
    }
    let mut rest = skip(s, rv);
    if at(rest, 0) == b'\n' {
        rest = skip(rest, 1);
    }
    if !rest.is_empty() {
        return Err(ParamError::Invalid);
    }
    Ok(res)
}

/// `kstrtoul()` of `include/linux/kstrtox.h` / `_kstrtoul()` of `lib/kstrtox.c`: [`kstrtoull`],
/// then `-ERANGE` if the value does not fit an `unsigned long` (only possible on 32-bit).
fn kstrtoul(s: &[u8], base: u32) -> Result<usize, ParamError> {
    let v = kstrtoull(s, base)?;
    usize::try_from(v).map_err(|_| ParamError::Range)
}

/// `kstrtouint()` of `lib/kstrtox.c`: [`kstrtoull`], then `-ERANGE` above `UINT_MAX`.
fn kstrtouint(s: &[u8], base: u32) -> Result<u32, ParamError> {
    let v = kstrtoull(s, base)?;
    u32::try_from(v).map_err(|_| ParamError::Range)
}

/// The `if (!arg) return -EINVAL;` every KASAN handler starts with.
fn require(arg: Option<&[u8]>) -> Result<&[u8], ParamError> {
    arg.map(c_str).ok_or(ParamError::Invalid)
}

/// A `off`/`on` keyword pair as the handlers compare them.
fn off_on<T>(arg: Option<&[u8]>, off: T, on: T) -> Result<T, ParamError> {
    let arg = require(arg)?;
    if streq(arg, b"off") {
        Ok(off)
    } else if streq(arg, b"on") {
        Ok(on)
    } else {
        Err(ParamError::Invalid)
    }
}

/// `kasan=off|on`: `early_kasan_flag()` in `mm/kasan/hw_tags.c`.
///
/// `NULL` and any other value give `-EINVAL`.
pub fn early_kasan_flag(arg: Option<&[u8]>) -> Result<KasanArg, ParamError> {
    off_on(arg, KasanArg::Off, KasanArg::On)
}

/// `kasan.mode=sync|async|asymm`: `early_kasan_mode()` in `mm/kasan/hw_tags.c`.
///
/// `NULL` and any other value give `-EINVAL`.
pub fn early_kasan_mode(arg: Option<&[u8]>) -> Result<KasanArgMode, ParamError> {
    let arg = require(arg)?;
    if streq(arg, b"sync") {
        Ok(KasanArgMode::Sync)
    } else if streq(arg, b"async") {
        Ok(KasanArgMode::Async)
    } else if streq(arg, b"asymm") {
        Ok(KasanArgMode::Asymm)
    } else {
        Err(ParamError::Invalid)
    }
}

/// `kasan.vmalloc=off|on`: `early_kasan_flag_vmalloc()` in `mm/kasan/hw_tags.c`.
///
/// `config_kasan_vmalloc` is `IS_ENABLED(CONFIG_KASAN_VMALLOC)`. Without it upstream accepts (and
/// ignores) *any* non-`NULL` value, returning 0 without touching `kasan_arg_vmalloc`; this
/// returns `Ok(KasanArgVmalloc::Default)` then, which is the value the variable keeps. `NULL`
/// gives `-EINVAL` in both configurations (the check comes first upstream).
pub fn early_kasan_flag_vmalloc(
    arg: Option<&[u8]>,
    config_kasan_vmalloc: bool,
) -> Result<KasanArgVmalloc, ParamError> {
    let arg = require(arg)?;
    if !config_kasan_vmalloc {
        return Ok(KasanArgVmalloc::Default);
    }
    off_on(Some(arg), KasanArgVmalloc::Off, KasanArgVmalloc::On)
}

/// `kasan.write_only=off|on`: `early_kasan_flag_write_only()` in `mm/kasan/hw_tags.c`.
///
/// Returns the new `kasan_flag_write_only`. `NULL` and any other value give `-EINVAL`.
pub fn early_kasan_flag_write_only(arg: Option<&[u8]>) -> Result<bool, ParamError> {
    off_on(arg, false, true)
}

/// `kasan.page_alloc.sample=<interval>`: `early_kasan_flag_page_alloc_sample()` in
/// `mm/kasan/hw_tags.c`.
///
/// `kstrtoul(arg, 0, ...)`: decimal, `0x` hex or `0` octal, optional `+` and trailing `\n`.
/// Malformed or overflowing values give [`ParamError::Invalid`] / [`ParamError::Range`] and keep
/// the previous value. A parsed value of 0 or above `LONG_MAX` gives
/// [`ParamError::InvalidReset`]: upstream resets `kasan_page_alloc_sample` to
/// [`PAGE_ALLOC_SAMPLE_DEFAULT`] and returns `-EINVAL`.
pub fn early_kasan_flag_page_alloc_sample(arg: Option<&[u8]>) -> Result<usize, ParamError> {
    let v = kstrtoul(require(arg)?, 0)?;
    if v == 0 || v > LONG_MAX {
        return Err(ParamError::InvalidReset);
    }
    Ok(v)
}

/// `kasan.page_alloc.sample.order=<order>`: `early_kasan_flag_page_alloc_sample_order()` in
/// `mm/kasan/hw_tags.c`.
///
/// `kstrtouint(arg, 0, ...)`; malformed or overflowing values keep the previous value. A parsed
/// value above `INT_MAX` gives [`ParamError::InvalidReset`]: upstream resets
/// `kasan_page_alloc_sample_order` to [`PAGE_ALLOC_SAMPLE_ORDER_DEFAULT`] and returns `-EINVAL`.
/// Order 0 is accepted (every allocation is then subject to sampling).
pub fn early_kasan_flag_page_alloc_sample_order(arg: Option<&[u8]>) -> Result<u32, ParamError> {
    let v = kstrtouint(require(arg)?, 0)?;
    if v > INT_MAX {
        return Err(ParamError::InvalidReset);
    }
    Ok(v)
}

/// `kasan.fault=report|panic|panic_on_write`: `early_kasan_fault()` in `mm/kasan/report.c`.
///
/// `NULL` and any other value (including `PANIC` and `panic_x`) give `-EINVAL` and keep the
/// previous setting.
pub fn early_kasan_fault(arg: Option<&[u8]>) -> Result<KasanArgFault, ParamError> {
    let arg = require(arg)?;
    if streq(arg, b"report") {
        Ok(KasanArgFault::Report)
    } else if streq(arg, b"panic") {
        Ok(KasanArgFault::Panic)
    } else if streq(arg, b"panic_on_write") {
        Ok(KasanArgFault::PanicOnWrite)
    } else {
        Err(ParamError::Invalid)
    }
}

/// `kasan.stacktrace=off|on`: `early_kasan_flag_stacktrace()` in `mm/kasan/tags.c`.
///
/// `NULL` and any other value give `-EINVAL`.
pub fn early_kasan_flag_stacktrace(arg: Option<&[u8]>) -> Result<KasanArgStacktrace, ParamError> {
    off_on(arg, KasanArgStacktrace::Off, KasanArgStacktrace::On)
}

/// `kasan.stack_ring_size=<entries>`: `early_kasan_flag_stack_ring_size()` in `mm/kasan/tags.c`.
///
/// Plain `kstrtoul(arg, 0, &stack_ring.size)`: any `unsigned long` is accepted, including 0,
/// which [`stack_ring_size_or_default`] turns into [`KASAN_STACK_RING_SIZE_DEFAULT`] at init
/// time. Malformed or overflowing values keep the previous value.
pub fn early_kasan_flag_stack_ring_size(arg: Option<&[u8]>) -> Result<usize, ParamError> {
    kstrtoul(require(arg)?, 0)
}

/// The stack ring size `kasan_init_tags()` (`mm/kasan/tags.c`) allocates: `stack_ring.size`, or
/// [`KASAN_STACK_RING_SIZE_DEFAULT`] if it is 0.
pub const fn stack_ring_size_or_default(size: usize) -> usize {
    if size == 0 {
        KASAN_STACK_RING_SIZE_DEFAULT
    } else {
        size
    }
}

/// `parameqn()` of `kernel/params.c`: the first `n` bytes of `a` and `b` are equal, `-` and `_`
/// being the same character. Past their ends the C strings read as NUL.
pub fn parameqn(a: &[u8], b: &[u8], n: usize) -> bool {
    let (a, b) = (c_str(a), c_str(b));
    let dash2underscore = |c: u8| if c == b'-' { b'_' } else { c };
    for i in 0..n {
        let (ca, cb) = (at(a, i), at(b, i));
        if dash2underscore(ca) != dash2underscore(cb) {
            return false;
        }
        if ca == 0 {
            // Both reached their terminators: C would stop reading here as well.
            return true;
        }
    }
    true
}

/// `parameq()` of `kernel/params.c`: the whole names are equal, `-` and `_` being the same
/// character. This is how `do_early_param()` matches an early parameter: exactly, so
/// `kasan.faultX=panic` is not `kasan.fault`, but `kasan.page-alloc.sample` is
/// `kasan.page_alloc.sample`.
pub fn parameq(a: &[u8], b: &[u8]) -> bool {
    let a = c_str(a);
    parameqn(a, b, a.len().wrapping_add(1))
}

/// The name `__setup("kasan_multi_shot", kasan_set_multi_shot)` registers (`mm/kasan/report.c`).
pub const KASAN_MULTI_SHOT: &[u8] = b"kasan_multi_shot";

/// `kasan_multi_shot`: whether `obsolete_checksetup()` (`init/main.c`) runs
/// `kasan_set_multi_shot()` (`mm/kasan/report.c`) for the command-line option `line`, which then
/// sets `KASAN_BIT_MULTI_SHOT`.
///
/// `line` is the option as `obsolete_checksetup()` sees it: `param` or `param=value` (after
/// `repair_env_string()`); passing only `param` gives the same answer. `__setup` options match by
/// *prefix* (`parameqn(line, "kasan_multi_shot", strlen("kasan_multi_shot"))`, `-` and `_`
/// interchangeable), and `kasan_set_multi_shot()` ignores its argument and returns 1. So
/// `kasan_multi_shot`, `kasan_multi_shot=0`, `kasan_multi_shot=off`, `kasan-multi-shot` and
/// `kasan_multi_shotXYZ` all turn multi-shot reporting on; it cannot be turned off from the
/// command line. No early parameter or other `__setup` name shadows it.
pub fn kasan_set_multi_shot(line: &[u8]) -> bool {
    parameqn(line, KASAN_MULTI_SHOT, KASAN_MULTI_SHOT.len())
}

/// `kasan.quarantine_size=<size>|<percent>%` (new in rkasan, generic KASAN): the quarantine's
/// share of memory, replacing `totalram / QUARANTINE_FRACTION`; see
/// [`crate::quarantine::quarantine_limits`].
///
/// `<size>` is a number of bytes as `kstrtoul(arg, 0, ...)` reads them (decimal,
/// `0x` hex, `0` octal, optional `+` and trailing `\n`), optionally followed by one of the
/// suffixes `memparse()` takes (`K`, `M`, `G`, `T`, `P`, `E`, either case), as in `mem=64M`;
/// 0 is accepted and leaves only the per-CPU queues. `<percent>%` is a `kstrtouint(.., 10, ..)`
/// number from 0 to 100 followed by a final `%`. `NULL`, malformed values and percentages above
/// 100 give [`ParamError::Invalid`], a size that does not fit an `unsigned long`
/// [`ParamError::Range`]; the previous setting (by default [`QuarantineSize::Default`]) is kept.
pub fn early_kasan_quarantine_size(arg: Option<&[u8]>) -> Result<QuarantineSize, ParamError> {
    let arg = require(arg)?;
    match arg.split_last() {
        Some((&b'%', number)) => {
            let percent = kstrtouint(number, 10)?;
            match u8::try_from(percent) {
                Ok(p) if p <= 100 => Ok(QuarantineSize::Percent(p)),
                _ => Err(ParamError::Invalid),
            }
        }
        _ => Ok(QuarantineSize::Bytes(kstrtoul_size(arg)?)),
    }
}

/// The power of 1024 of a `memparse()` suffix (`lib/cmdline.c`): `K` 1 to `E` 6, either case.
fn size_suffix_shift(c: u8) -> Option<u32> {
    match fast_tolower(c) {
        b'k' => Some(10),
        b'm' => Some(20),
        b'g' => Some(30),
        b't' => Some(40),
        b'p' => Some(50),
        b'e' => Some(60),
        _ => None,
    }
}

/// A size in bytes: [`kstrtoul`] with base 0, except that one `memparse()` suffix may follow the
/// digits (before the optional `\n`) and multiplies the value by its power of 1024.
///
/// The digits are read as `memparse()`'s `simple_strtoull()` reads them, so in hex an `e` or `E`
/// is a digit, not the exa suffix (`0x1e` is 30, `0x1k` is 1024). Unlike `memparse()`, which
/// lets a shift wrap silently and ignores what follows the suffix, a size that does not fit is
/// [`ParamError::Range`] and anything after the suffix (`8MB`, `8M8`) is [`ParamError::Invalid`].
fn kstrtoul_size(s: &[u8]) -> Result<usize, ParamError> {
    let s = c_str(s);
    let unsigned = if at(s, 0) == b'+' { skip(s, 1) } else { s };
    let mut base = 0;
    let digits = parse_integer_fixup_radix(unsigned, &mut base);
    let (rv, _, _) = parse_integer_limit(digits, base, PARSE_INTEGER_MAX_CHARS);
    let rest = skip(digits, rv);
    let (number, shift) = match size_suffix_shift(at(rest, 0)) {
        // The suffix must be the last character but an optional `\n`, and follow a digit.
        Some(shift) if rv != 0 && matches!(skip(rest, 1), [] | [b'\n']) => {
            let end = s.len().wrapping_sub(rest.len());
            (s.get(..end).unwrap_or(s), shift)
        }
        _ => (s, 0),
    };
    let value = kstrtoul(number, 0)?;
    if value.leading_zeros() < shift {
        return Err(ParamError::Range);
    }
    Ok(value << shift)
}

/// `kasan.free_check=off|on` (new in rkasan, generic KASAN): whether objects entering the
/// quarantine are filled with a pattern that is checked when they leave it (see
/// [`crate::free_check`]). Off by default: it costs a fill on every free and a scan on every
/// eviction. `NULL` and any other value give [`ParamError::Invalid`] and keep the setting.
pub fn early_kasan_free_check(arg: Option<&[u8]>) -> Result<bool, ParamError> {
    off_on(arg, false, true)
}

/// The boot-time variables the KASAN parameters set, with their upstream initial values, and the
/// command-line dispatch to the handlers above.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootArgs {
    /// `IS_ENABLED(CONFIG_KASAN_VMALLOC)`, for [`early_kasan_flag_vmalloc`].
    pub config_kasan_vmalloc: bool,
    /// `kasan_arg` (`mm/kasan/hw_tags.c`).
    pub kasan: KasanArg,
    /// `kasan_arg_mode` (`mm/kasan/hw_tags.c`).
    pub mode: KasanArgMode,
    /// `kasan_arg_vmalloc` (`mm/kasan/hw_tags.c`).
    pub vmalloc: KasanArgVmalloc,
    /// `kasan_flag_write_only` (`mm/kasan/hw_tags.c`).
    pub write_only: bool,
    /// `kasan_page_alloc_sample` (`mm/kasan/hw_tags.c`).
    pub page_alloc_sample: usize,
    /// `kasan_page_alloc_sample_order` (`mm/kasan/hw_tags.c`).
    pub page_alloc_sample_order: u32,
    /// `kasan_arg_fault` (`mm/kasan/report.c`).
    pub fault: KasanArgFault,
    /// `KASAN_BIT_MULTI_SHOT` of `kasan_flags` (`mm/kasan/report.c`).
    pub multi_shot: bool,
    /// `kasan_arg_stacktrace` (`mm/kasan/tags.c`).
    pub stacktrace: KasanArgStacktrace,
    /// `stack_ring.size` (`mm/kasan/tags.c`); 0 means [`KASAN_STACK_RING_SIZE_DEFAULT`].
    pub stack_ring_size: usize,
    /// The `kasan.quarantine_size` setting (rkasan).
    pub quarantine_size: QuarantineSize,
    /// The `kasan.free_check` setting (rkasan).
    pub free_check: bool,
}

impl Default for BootArgs {
    fn default() -> Self {
        Self::new(true)
    }
}

/// Stores `r`'s value into `slot` on success, `default` on [`ParamError::InvalidReset`].
fn store<T>(slot: &mut T, r: Result<T, ParamError>, default: T) -> Result<(), ParamError> {
    match r {
        Ok(v) => {
            *slot = v;
            Ok(())
        }
        Err(ParamError::InvalidReset) => {
            *slot = default;
            Err(ParamError::InvalidReset)
        }
        Err(e) => Err(e),
    }
}

impl BootArgs {
    /// The early parameter names, in the order [`BootArgs::early_param`] tries them.
    pub const EARLY_PARAMS: [&'static str; 11] = [
        "kasan",
        "kasan.mode",
        "kasan.vmalloc",
        "kasan.write_only",
        "kasan.page_alloc.sample",
        "kasan.page_alloc.sample.order",
        "kasan.fault",
        "kasan.stacktrace",
        "kasan.stack_ring_size",
        "kasan.quarantine_size",
        "kasan.free_check",
    ];

    /// The initial values of the C variables.
    pub const fn new(config_kasan_vmalloc: bool) -> Self {
        Self {
            config_kasan_vmalloc,
            kasan: KasanArg::Default,
            mode: KasanArgMode::Default,
            vmalloc: KasanArgVmalloc::Default,
            write_only: false,
            page_alloc_sample: PAGE_ALLOC_SAMPLE_DEFAULT,
            page_alloc_sample_order: PAGE_ALLOC_SAMPLE_ORDER_DEFAULT,
            fault: KasanArgFault::Default,
            multi_shot: false,
            stacktrace: KasanArgStacktrace::Default,
            stack_ring_size: 0,
            quarantine_size: QuarantineSize::Default,
            free_check: false,
        }
    }

    /// `do_early_param()` (`init/main.c`) for one `param[=val]`: runs the handler whose name
    /// [`parameq`]s `param` and updates the variable exactly as the C handler would.
    ///
    /// Returns `None` if no KASAN early parameter has that name, otherwise the handler's result;
    /// an `Err` is where the kernel prints `Malformed early option '<param>'`.
    pub fn early_param(
        &mut self,
        param: &[u8],
        val: Option<&[u8]>,
    ) -> Option<Result<(), ParamError>> {
        let name_is = |name: &[u8]| parameq(param, name);
        let r = if name_is(b"kasan") {
            store(&mut self.kasan, early_kasan_flag(val), KasanArg::Default)
        } else if name_is(b"kasan.mode") {
            store(&mut self.mode, early_kasan_mode(val), KasanArgMode::Default)
        } else if name_is(b"kasan.vmalloc") {
            let r = early_kasan_flag_vmalloc(val, self.config_kasan_vmalloc);
            match r {
                // Without CONFIG_KASAN_VMALLOC the C handler returns 0 without a store.
                Ok(_) if !self.config_kasan_vmalloc => Ok(()),
                r => store(&mut self.vmalloc, r, KasanArgVmalloc::Default),
            }
        } else if name_is(b"kasan.write_only") {
            store(
                &mut self.write_only,
                early_kasan_flag_write_only(val),
                false,
            )
        } else if name_is(b"kasan.page_alloc.sample") {
            store(
                &mut self.page_alloc_sample,
                early_kasan_flag_page_alloc_sample(val),
                PAGE_ALLOC_SAMPLE_DEFAULT,
            )
        } else if name_is(b"kasan.page_alloc.sample.order") {
            store(
                &mut self.page_alloc_sample_order,
                early_kasan_flag_page_alloc_sample_order(val),
                PAGE_ALLOC_SAMPLE_ORDER_DEFAULT,
            )
        } else if name_is(b"kasan.fault") {
            store(
                &mut self.fault,
                early_kasan_fault(val),
                KasanArgFault::Default,
            )
        } else if name_is(b"kasan.stacktrace") {
            store(
                &mut self.stacktrace,
                early_kasan_flag_stacktrace(val),
                KasanArgStacktrace::Default,
            )
        } else if name_is(b"kasan.stack_ring_size") {
            store(
                &mut self.stack_ring_size,
                early_kasan_flag_stack_ring_size(val),
                0,
            )
        } else if name_is(b"kasan.quarantine_size") {
            store(
                &mut self.quarantine_size,
                early_kasan_quarantine_size(val),
                QuarantineSize::Default,
            )
        } else if name_is(b"kasan.free_check") {
            store(&mut self.free_check, early_kasan_free_check(val), false)
        } else {
            return None;
        };
        Some(r)
    }

    /// The KASAN part of `obsolete_checksetup()` (`init/main.c`) for the option `line`
    /// (`param` or `param=value`): runs `kasan_set_multi_shot()` if [`kasan_set_multi_shot`]
    /// matches. Returns whether the option was handled.
    pub fn setup(&mut self, line: &[u8]) -> bool {
        if kasan_set_multi_shot(line) {
            self.multi_shot = true;
            return true;
        }
        false
    }

    /// Applies a whole kernel command line (`saved_command_line`): every KASAN early parameter
    /// as `parse_early_param()` runs them, then `kasan_multi_shot` as `obsolete_checksetup()`
    /// does from `unknown_bootoption()`. Arguments are split by [`next_arg`]; both passes stop at
    /// a bare `--` (what follows is for init). Returns how many KASAN parameters were malformed
    /// (each one a `Malformed early option` warning in the kernel's log).
    pub fn parse_command_line(&mut self, cmdline: &[u8]) -> usize {
        let mut malformed: usize = 0;
        let mut rest = skip_spaces(c_str(cmdline));
        while !rest.is_empty() {
            let (arg, next) = next_arg(rest);
            rest = next;
            if arg.val.is_none() && arg.param == b"--" {
                break;
            }
            if let Some(Err(_)) = self.early_param(arg.param, arg.val) {
                malformed = malformed.wrapping_add(1);
            }
            // The `__setup()` pass sees `param=val` glued back together (`repair_env_string()`);
            // `kasan_set_multi_shot()` matches a prefix of the name, which contains no `=`, so
            // the name alone decides.
            self.setup(arg.param);
        }
        malformed
    }
}

/// One `param[=val]` of a command line, as [`next_arg`] cuts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arg<'a> {
    /// The name (with surrounding quotes of a quoted argument removed).
    pub param: &'a [u8],
    /// The value after the first `=`, without its quotes; `None` without `=`.
    pub val: Option<&'a [u8]>,
}

/// `isspace()` of `lib/ctype.c`: the `_S` entries of its Latin-1 `_ctype[]` table, which are
/// HT, LF, VT, FF, CR, space and NBSP (0xa0).
const fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0)
}

/// `skip_spaces()` of `lib/string_helpers.c`.
fn skip_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| is_space(c)).count();
    skip(s, n)
}

/// `next_arg()` of `lib/cmdline.c`: the first argument of `args` (which starts with no space)
/// and the rest after the spaces that follow it.
///
/// Double quotes group spaces into an argument (`param="a b"`); a quote right after `=` and a
/// final quote are dropped from the value, the quotes of a wholly quoted `"param=val"` from the
/// argument, as upstream, which writes NULs into the command line where this returns slices.
pub fn next_arg(args: &[u8]) -> (Arg<'_>, &[u8]) {
    let mut args = args;
    let mut in_quote = false;
    let mut quoted = false;
    if args.first() == Some(&b'"') {
        args = skip(args, 1);
        in_quote = true;
        quoted = true;
    }
    let mut i: usize = 0;
    let mut equals: Option<usize> = None;
    while let Some(&c) = args.get(i) {
        if c == 0 || (is_space(c) && !in_quote) {
            break;
        }
        if equals.is_none() && c == b'=' {
            equals = Some(i);
        }
        if c == b'"' {
            in_quote = !in_quote;
        }
        i = i.wrapping_add(1);
    }
    let word = args.get(..i).unwrap_or(args);
    // Upstream cuts the word's last byte if it is a quote and the argument was quoted or its
    // value starts with a quote (`args[i-1] = '\0'`).
    let last_is_quote = word.last() == Some(&b'"');
    let arg = match equals {
        None => {
            let param = if quoted && last_is_quote {
                word.get(..word.len().wrapping_sub(1)).unwrap_or(word)
            } else {
                word
            };
            Arg { param, val: None }
        }
        Some(eq) => {
            let param = word.get(..eq).unwrap_or(word);
            let mut val = word.get(eq.wrapping_add(1)..).unwrap_or(&[]);
            let mut cut_last = quoted && last_is_quote;
            if val.first() == Some(&b'"') {
                val = skip(val, 1);
                cut_last |= last_is_quote;
            }
            if cut_last && !val.is_empty() && val.last() == Some(&b'"') {
                val = val.get(..val.len().wrapping_sub(1)).unwrap_or(val);
            }
            Arg {
                param,
                val: Some(val),
            }
        }
    };
    let rest = skip(args, i.wrapping_add(1).min(args.len()));
    (arg, skip_spaces(rest))
}
