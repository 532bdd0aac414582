// SPDX-License-Identifier: GPL-2.0

//! A reference model of the kernel's boot-parameter handling for KASAN, written from the C
//! sources and independent of `rkasan::params` (nothing here calls it).
//!
//! The style is deliberately that of the C: strings live in a NUL-terminated buffer, `next_arg()`
//! writes NULs into it, numbers are parsed by a digit loop with a sticky overflow flag, handlers
//! return C error codes and update a set of "globals". Sources (Linux 7.2):
//! - `lib/kstrtox.c`: `_parse_integer_fixup_radix()`, `_parse_integer_limit()`, `kstrtoull()`,
//!   `kstrtouint()` (`kstrtoul()` is `kstrtoull()` on 64-bit);
//! - `lib/cmdline.c`: `next_arg()`; `lib/string_helpers.c`: `skip_spaces()`;
//! - `kernel/params.c`: `parameqn()`, `parameq()`, `parse_args()` (stops at `--`);
//! - `init/main.c`: `do_early_param()`, `repair_env_string()`, `obsolete_checksetup()`;
//! - `mm/kasan/hw_tags.c`, `mm/kasan/tags.c`, `mm/kasan/report.c`: the `early_param()` handlers;
//! - rkasan's own `kasan.quarantine_size=<size>|<percent>%` and `kasan.free_check=off|on`, as
//!   documented in `linux/tree/mm/kasan/rkasan/params.rs` and `Documentation/dev-tools/kasan.rst` of the series.
//!
//! Only 64-bit hosts are modelled (`unsigned long` is 64 bits).

/// `-EINVAL`.
pub const EINVAL: i32 = -22;
/// `-ERANGE`.
pub const ERANGE: i32 = -34;

/// `const char *s` as C reads it: up to the first NUL (or the end of the slice).
pub fn cstr(s: &[u8]) -> &[u8] {
    let mut n = 0;
    while n < s.len() && s[n] != 0 {
        n += 1;
    }
    &s[..n]
}

/// `s[i]` of a C string, 0 past its end.
fn ch(s: &[u8], i: usize) -> u8 {
    if i < s.len() {
        s[i]
    } else {
        0
    }
}

/// `isspace()`: the `_S` entries of `_ctype[]` in `lib/ctype.c` are HT, LF, VT, FF, CR (9-13),
/// space (32) and, the table being Latin-1, NBSP (160).
fn isspace(c: u8) -> bool {
    matches!(c, 9..=13 | 32 | 160)
}

/// `isxdigit()` of `lib/ctype.c`.
fn isxdigit(c: u8) -> bool {
    c.is_ascii_digit() || (b'a'..=b'f').contains(&c) || (b'A'..=b'F').contains(&c)
}

/// `kstrtoull(s, base, &res)`: 0 and the value, or `-EINVAL` / `-ERANGE`.
pub fn kstrtoull(s: &[u8], base: u32) -> Result<u64, i32> {
    let s = cstr(s);
    let mut i = 0;
    // kstrtoull(): one optional '+'.
    if ch(s, i) == b'+' {
        i += 1;
    }
    // _parse_integer_fixup_radix().
    let mut base = base;
    if base == 0 {
        base = if ch(s, i) == b'0' {
            if (ch(s, i + 1) | 0x20) == b'x' && isxdigit(ch(s, i + 2)) {
                16
            } else {
                8
            }
        } else {
            10
        };
    }
    if base == 16 && ch(s, i) == b'0' && (ch(s, i + 1) | 0x20) == b'x' {
        i += 2;
    }
    // _parse_integer_limit(): digits until the first non-digit of this base.
    let mut value: u128 = 0;
    let mut digits = 0usize;
    let mut overflow = false;
    loop {
        let c = ch(s, i);
        let d = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'a'..=b'f' => u32::from(c - b'a') + 10,
            b'A'..=b'F' => u32::from(c - b'A') + 10,
            _ => break,
        };
        if d >= base {
            break;
        }
        if !overflow {
            value = value * u128::from(base) + u128::from(d);
            if value > u128::from(u64::MAX) {
                overflow = true;
            }
        }
        digits += 1;
        i += 1;
    }
    // _kstrtoull().
    if overflow {
        return Err(ERANGE);
    }
    if digits == 0 {
        return Err(EINVAL);
    }
    if ch(s, i) == b'\n' {
        i += 1;
    }
    if ch(s, i) != 0 {
        return Err(EINVAL);
    }
    Ok(value as u64)
}

/// rkasan's `<size>`: [`kstrtoull`] with base 0, where one of `memparse()`'s suffixes
/// (`lib/cmdline.c`: K, M, G, T, P, E in either case, each a factor of 1024) may come right
/// after the digits; an `e`/`E` that the base reads as a digit is a digit. A product above
/// `ULONG_MAX` is `-ERANGE` (memparse() would wrap); anything after the suffix but one `\n` is
/// `-EINVAL`.
pub fn size(s: &[u8]) -> Result<u64, i32> {
    let s = cstr(s);
    // Where the digits end, found as kstrtoull() finds them.
    let mut i = 0;
    if ch(s, i) == b'+' {
        i += 1;
    }
    let hex = ch(s, i) == b'0' && (ch(s, i + 1) | 0x20) == b'x' && isxdigit(ch(s, i + 2));
    let octal = !hex && ch(s, i) == b'0';
    if hex {
        i += 2;
    }
    let start = i;
    loop {
        let c = ch(s, i);
        let digit = if hex {
            isxdigit(c)
        } else if octal {
            (b'0'..=b'7').contains(&c)
        } else {
            c.is_ascii_digit()
        };
        if !digit {
            break;
        }
        i += 1;
    }
    let factor: u128 = match ch(s, i) | 0x20 {
        b'k' => 1 << 10,
        b'm' => 1 << 20,
        b'g' => 1 << 30,
        b't' => 1 << 40,
        b'p' => 1 << 50,
        b'e' => 1 << 60,
        _ => 1,
    };
    let tail_ok = ch(s, i + 1) == 0 || (ch(s, i + 1) == b'\n' && ch(s, i + 2) == 0);
    if factor == 1 || i == start || !tail_ok {
        return kstrtoull(s, 0);
    }
    let value = kstrtoull(&s[..i], 0)?;
    let bytes = u128::from(value) * factor;
    if bytes > u128::from(u64::MAX) {
        return Err(ERANGE);
    }
    Ok(bytes as u64)
}

/// `kstrtouint()`: [`kstrtoull`], `-ERANGE` above `UINT_MAX`.
pub fn kstrtouint(s: &[u8], base: u32) -> Result<u32, i32> {
    let v = kstrtoull(s, base)?;
    if v > u64::from(u32::MAX) {
        return Err(ERANGE);
    }
    Ok(v as u32)
}

/// `dash2underscore()` of `kernel/params.c`.
fn dash2underscore(c: u8) -> u8 {
    if c == b'-' {
        b'_'
    } else {
        c
    }
}

/// `parameqn(a, b, n)`: C reads `a[i]` and `b[i]` for every `i < n`, NULs included.
pub fn parameqn(a: &[u8], b: &[u8], n: usize) -> bool {
    let (a, b) = (cstr(a), cstr(b));
    (0..n).all(|i| dash2underscore(ch(a, i)) == dash2underscore(ch(b, i)))
}

/// `parameq(a, b)`: `parameqn(a, b, strlen(a) + 1)`.
pub fn parameq(a: &[u8], b: &[u8]) -> bool {
    parameqn(a, b, cstr(a).len() + 1)
}

/// The C `enum kasan_arg*` values: `*_DEFAULT` is 0, then in declaration order.
pub mod arg {
    /// `KASAN_ARG_DEFAULT`, `KASAN_ARG_MODE_DEFAULT`, ...
    pub const DEFAULT: u8 = 0;
    /// `KASAN_ARG_OFF`, `KASAN_ARG_VMALLOC_OFF`, `KASAN_ARG_STACKTRACE_OFF`.
    pub const OFF: u8 = 1;
    /// `KASAN_ARG_ON`, `KASAN_ARG_VMALLOC_ON`, `KASAN_ARG_STACKTRACE_ON`.
    pub const ON: u8 = 2;
    /// `KASAN_ARG_MODE_SYNC`.
    pub const SYNC: u8 = 1;
    /// `KASAN_ARG_MODE_ASYNC`.
    pub const ASYNC: u8 = 2;
    /// `KASAN_ARG_MODE_ASYMM`.
    pub const ASYMM: u8 = 3;
    /// `KASAN_ARG_FAULT_REPORT`.
    pub const REPORT: u8 = 1;
    /// `KASAN_ARG_FAULT_PANIC`.
    pub const PANIC: u8 = 2;
    /// `KASAN_ARG_FAULT_PANIC_ON_WRITE`.
    pub const PANIC_ON_WRITE: u8 = 3;
}

/// The `kasan.quarantine_size` setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quarantine {
    /// Not given.
    Default,
    /// `<bytes>`.
    Bytes(u64),
    /// `<percent>%`.
    Percent(u32),
}

/// The C globals the KASAN boot parameters set, with their initial values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Globals {
    /// `IS_ENABLED(CONFIG_KASAN_VMALLOC)`.
    pub config_vmalloc: bool,
    /// `kasan_arg`.
    pub kasan: u8,
    /// `kasan_arg_mode`.
    pub mode: u8,
    /// `kasan_arg_vmalloc`.
    pub vmalloc: u8,
    /// `kasan_flag_write_only`.
    pub write_only: bool,
    /// `kasan_page_alloc_sample`.
    pub sample: u64,
    /// `kasan_page_alloc_sample_order`.
    pub order: u32,
    /// `kasan_arg_fault`.
    pub fault: u8,
    /// `KASAN_BIT_MULTI_SHOT`.
    pub multi_shot: bool,
    /// `kasan_arg_stacktrace`.
    pub stacktrace: u8,
    /// `stack_ring.size`.
    pub ring: u64,
    /// rkasan's quarantine size.
    pub quarantine: Quarantine,
    /// rkasan's `kasan.free_check`.
    pub free_check: bool,
}

/// `PAGE_ALLOC_SAMPLE_DEFAULT`.
const SAMPLE_DEFAULT: u64 = 1;
/// `PAGE_ALLOC_SAMPLE_ORDER_DEFAULT`.
const ORDER_DEFAULT: u32 = 3;

/// The early parameter names of the three C files (and rkasan's quarantine).
pub const EARLY_NAMES: [&str; 11] = [
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

/// `strcmp(arg, "off") == 0` -> 0, `"on"` -> 1, else none.
fn off_on(arg: &[u8]) -> Option<bool> {
    match cstr(arg) {
        b"off" => Some(false),
        b"on" => Some(true),
        _ => None,
    }
}

impl Globals {
    /// The initial values.
    pub fn new(config_vmalloc: bool) -> Self {
        Globals {
            config_vmalloc,
            kasan: arg::DEFAULT,
            mode: arg::DEFAULT,
            vmalloc: arg::DEFAULT,
            write_only: false,
            sample: SAMPLE_DEFAULT,
            order: ORDER_DEFAULT,
            fault: arg::DEFAULT,
            multi_shot: false,
            stacktrace: arg::DEFAULT,
            ring: 0,
            quarantine: Quarantine::Default,
            free_check: false,
        }
    }

    /// The handler registered as `EARLY_NAMES[which]`, called with `arg` (`None` is `NULL`);
    /// returns what the C handler returns.
    pub fn handler(&mut self, which: usize, arg: Option<&[u8]>) -> i32 {
        let Some(arg) = arg.map(cstr) else {
            // Every one of them starts with `if (!arg) return -EINVAL;`.
            return EINVAL;
        };
        match which {
            0 => match off_on(arg) {
                Some(on) => self.kasan = if on { arg::ON } else { arg::OFF },
                None => return EINVAL,
            },
            1 => match arg {
                b"sync" => self.mode = arg::SYNC,
                b"async" => self.mode = arg::ASYNC,
                b"asymm" => self.mode = arg::ASYMM,
                _ => return EINVAL,
            },
            2 => {
                if !self.config_vmalloc {
                    return 0;
                }
                match off_on(arg) {
                    Some(on) => self.vmalloc = if on { arg::ON } else { arg::OFF },
                    None => return EINVAL,
                }
            }
            3 => match off_on(arg) {
                Some(on) => self.write_only = on,
                None => return EINVAL,
            },
            4 => {
                match kstrtoull(arg, 0) {
                    Ok(v) => self.sample = v,
                    Err(e) => return e,
                }
                if self.sample == 0 || self.sample > i64::MAX as u64 {
                    self.sample = SAMPLE_DEFAULT;
                    return EINVAL;
                }
            }
            5 => {
                match kstrtouint(arg, 0) {
                    Ok(v) => self.order = v,
                    Err(e) => return e,
                }
                if self.order > i32::MAX as u32 {
                    self.order = ORDER_DEFAULT;
                    return EINVAL;
                }
            }
            6 => match arg {
                b"report" => self.fault = arg::REPORT,
                b"panic" => self.fault = arg::PANIC,
                b"panic_on_write" => self.fault = arg::PANIC_ON_WRITE,
                _ => return EINVAL,
            },
            7 => match off_on(arg) {
                Some(on) => self.stacktrace = if on { arg::ON } else { arg::OFF },
                None => return EINVAL,
            },
            8 => match kstrtoull(arg, 0) {
                Ok(v) => self.ring = v,
                Err(e) => return e,
            },
            9 => {
                // `<percent>%`: a final '%' after a base-10 kstrtouint() number up to 100;
                // otherwise `<bytes>` as kstrtoul(arg, 0).
                if arg.last() == Some(&b'%') {
                    match kstrtouint(&arg[..arg.len() - 1], 10) {
                        Ok(p) if p <= 100 => self.quarantine = Quarantine::Percent(p),
                        Ok(_) => return EINVAL,
                        Err(e) => return e,
                    }
                } else {
                    match size(arg) {
                        Ok(v) => self.quarantine = Quarantine::Bytes(v),
                        Err(e) => return e,
                    }
                }
            }
            10 => match off_on(arg) {
                Some(on) => self.free_check = on,
                None => return EINVAL,
            },
            _ => unreachable!(),
        }
        0
    }

    /// `do_early_param(param, val)` restricted to the KASAN entries: every early entry whose
    /// name `parameq()`s `param` runs. Returns the handler's return value, `None` if no entry
    /// matched.
    pub fn do_early_param(&mut self, param: &[u8], val: Option<&[u8]>) -> Option<i32> {
        let mut ret = None;
        for (which, name) in EARLY_NAMES.iter().enumerate() {
            if parameq(param, name.as_bytes()) {
                ret = Some(self.handler(which, val));
            }
        }
        ret
    }

    /// `obsolete_checksetup(line)` for `__setup("kasan_multi_shot", kasan_set_multi_shot)`:
    /// returns whether `kasan_set_multi_shot()` ran (it sets the bit and returns 1).
    pub fn obsolete_checksetup(&mut self, line: &[u8]) -> bool {
        let name = b"kasan_multi_shot";
        if parameqn(line, name, name.len()) {
            self.multi_shot = true;
            return true;
        }
        false
    }

    /// The whole command line: `parse_early_param()` then the `unknown_bootoption()` pass of
    /// `start_kernel()`, each on its own copy of the line, each through `parse_args()` (which
    /// stops at a bare `--`). Returns how many KASAN early handlers returned non-zero.
    pub fn parse_command_line(&mut self, cmdline: &[u8]) -> usize {
        let mut malformed = 0;
        let mut buf = cstr(cmdline).to_vec();
        buf.push(0);
        for_each_arg(buf.clone(), |param, val| {
            if let Some(ret) = self.do_early_param(param, val) {
                if ret != 0 {
                    malformed += 1;
                }
            }
        });
        for_each_arg(buf, |param, val| {
            // repair_env_string(): the handler sees `param=val` again.
            let mut line = param.to_vec();
            if let Some(val) = val {
                line.push(b'=');
                line.extend_from_slice(val);
            }
            self.obsolete_checksetup(&line);
        });
        malformed
    }
}

/// `parse_args()`: calls `f(param, val)` for every argument up to a bare `--`. `buf` is the
/// NUL-terminated copy of the line that `next_arg()` cuts with NULs.
fn for_each_arg(mut buf: Vec<u8>, mut f: impl FnMut(&[u8], Option<&[u8]>)) {
    let mut args = skip_spaces(&buf, 0);
    while buf[args] != 0 {
        let (param, val, next) = next_arg(&mut buf, args);
        args = next;
        let p = cstr(&buf[param..]);
        let v = val.map(|v| cstr(&buf[v..]));
        if v.is_none() && p == b"--" {
            return;
        }
        f(p, v);
    }
}

/// `skip_spaces(buf + at)` as an offset.
fn skip_spaces(buf: &[u8], mut at: usize) -> usize {
    while isspace(buf[at]) {
        at += 1;
    }
    at
}

/// `next_arg(buf + args, &param, &val)` transliterated: returns the offsets of `param` and `val`
/// in `buf` and of the next argument. `buf` ends with a NUL.
fn next_arg(buf: &mut [u8], mut args: usize) -> (usize, Option<usize>, usize) {
    let mut equals = 0usize;
    let mut in_quote = false;
    let mut quoted = false;
    if buf[args] == b'"' {
        args += 1;
        in_quote = true;
        quoted = true;
    }
    let mut i = 0usize;
    while buf[args + i] != 0 {
        if isspace(buf[args + i]) && !in_quote {
            break;
        }
        // `equals == 0` is C's "not found yet": an '=' at index 0 does not count.
        if equals == 0 && buf[args + i] == b'=' {
            equals = i;
        }
        if buf[args + i] == b'"' {
            in_quote = !in_quote;
        }
        i += 1;
    }
    let param = args;
    let mut val = None;
    if equals != 0 {
        buf[args + equals] = 0;
        let mut v = args + equals + 1;
        if buf[v] == b'"' {
            v += 1;
            if buf[args + i - 1] == b'"' {
                buf[args + i - 1] = 0;
            }
        }
        val = Some(v);
    }
    if quoted && i > 0 && buf[args + i - 1] == b'"' {
        buf[args + i - 1] = 0;
    }
    let next = if buf[args + i] != 0 {
        buf[args + i] = 0;
        args + i + 1
    } else {
        args + i
    };
    (param, val, skip_spaces(buf, next))
}
