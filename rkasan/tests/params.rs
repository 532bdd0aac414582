// SPDX-License-Identifier: GPL-2.0

//! Host tests of `rkasan::params`.

use rkasan::params::*;
use rkasan::quarantine::QuarantineSize;

mod common;
use common::Rng;

use ParamError::{Invalid, InvalidReset, Range};

fn s(v: &str) -> Option<&[u8]> {
    Some(v.as_bytes())
}

/// Values every keyword parameter must reject.
fn malformed_keywords() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        "",
        "PANIC",
        "Panic",
        "OFF",
        "On",
        "panic_x",
        "panicx",
        "pani",
        " panic",
        "panic ",
        "panic\n",
        "\npanic",
        "+",
        "-",
        "+on",
        "-off",
        "0",
        "1",
        "yes",
        "true",
        "o",
        "of",
        "offf",
        "onn",
        "report,panic",
        "\"on\"",
        "=on",
        "on=",
        "syncasync",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    v.push(vec![0xff, 0xfe, 0x80]);
    v.push("оn".as_bytes().to_vec()); // Cyrillic 'о'.
    v.push(vec![b'a'; 4096]);
    v.push([b"on".as_slice(), &[b' '; 4094]].concat());
    v
}

#[test]
fn errno_values() {
    assert_eq!(Invalid.to_errno(), -22);
    assert_eq!(InvalidReset.to_errno(), -22);
    assert_eq!(Range.to_errno(), -34);
    assert_eq!(EINVAL, 22);
    assert_eq!(ERANGE, 34);
}

#[test]
fn keyword_parameters_accept_exactly_their_values() {
    assert_eq!(early_kasan_flag(s("off")), Ok(KasanArg::Off));
    assert_eq!(early_kasan_flag(s("on")), Ok(KasanArg::On));
    assert_eq!(early_kasan_mode(s("sync")), Ok(KasanArgMode::Sync));
    assert_eq!(early_kasan_mode(s("async")), Ok(KasanArgMode::Async));
    assert_eq!(early_kasan_mode(s("asymm")), Ok(KasanArgMode::Asymm));
    assert_eq!(
        early_kasan_flag_vmalloc(s("off"), true),
        Ok(KasanArgVmalloc::Off)
    );
    assert_eq!(
        early_kasan_flag_vmalloc(s("on"), true),
        Ok(KasanArgVmalloc::On)
    );
    assert_eq!(early_kasan_flag_write_only(s("off")), Ok(false));
    assert_eq!(early_kasan_flag_write_only(s("on")), Ok(true));
    assert_eq!(early_kasan_fault(s("report")), Ok(KasanArgFault::Report));
    assert_eq!(early_kasan_fault(s("panic")), Ok(KasanArgFault::Panic));
    assert_eq!(
        early_kasan_fault(s("panic_on_write")),
        Ok(KasanArgFault::PanicOnWrite)
    );
    assert_eq!(
        early_kasan_flag_stacktrace(s("off")),
        Ok(KasanArgStacktrace::Off)
    );
    assert_eq!(
        early_kasan_flag_stacktrace(s("on")),
        Ok(KasanArgStacktrace::On)
    );

    // A C string ends at its first NUL.
    assert_eq!(
        early_kasan_fault(Some(b"panic\0junk")),
        Ok(KasanArgFault::Panic)
    );
    assert_eq!(early_kasan_flag(Some(b"\0on")), Err(Invalid));

    // Cross-keyword confusion.
    assert_eq!(early_kasan_mode(s("on")), Err(Invalid));
    assert_eq!(early_kasan_fault(s("panic_on_read")), Err(Invalid));
    assert_eq!(early_kasan_fault(s("panic_on_write\n")), Err(Invalid));
}

#[test]
fn keyword_parameters_reject_null_and_malformed() {
    assert_eq!(early_kasan_flag(None), Err(Invalid));
    assert_eq!(early_kasan_mode(None), Err(Invalid));
    assert_eq!(early_kasan_flag_vmalloc(None, true), Err(Invalid));
    assert_eq!(early_kasan_flag_vmalloc(None, false), Err(Invalid));
    assert_eq!(early_kasan_flag_write_only(None), Err(Invalid));
    assert_eq!(early_kasan_fault(None), Err(Invalid));
    assert_eq!(early_kasan_flag_stacktrace(None), Err(Invalid));
    for bad in malformed_keywords() {
        let b = Some(bad.as_slice());
        assert_eq!(early_kasan_flag(b), Err(Invalid), "{bad:?}");
        assert_eq!(early_kasan_mode(b), Err(Invalid), "{bad:?}");
        assert_eq!(early_kasan_flag_vmalloc(b, true), Err(Invalid), "{bad:?}");
        assert_eq!(early_kasan_flag_write_only(b), Err(Invalid), "{bad:?}");
        assert_eq!(early_kasan_fault(b), Err(Invalid), "{bad:?}");
        assert_eq!(early_kasan_flag_stacktrace(b), Err(Invalid), "{bad:?}");
    }
}

#[test]
fn vmalloc_without_config_accepts_anything_but_null() {
    for v in ["off", "on", "", "garbage", "PANIC"] {
        assert_eq!(
            early_kasan_flag_vmalloc(s(v), false),
            Ok(KasanArgVmalloc::Default)
        );
    }
    let mut args = BootArgs::new(false);
    assert_eq!(args.early_param(b"kasan.vmalloc", s("off")), Some(Ok(())));
    assert_eq!(args.vmalloc, KasanArgVmalloc::Default);
    assert_eq!(args.early_param(b"kasan.vmalloc", None), Some(Err(Invalid)));
}

/// `kasan.stack_ring_size` is a plain `kstrtoul(arg, 0, ...)`.
#[test]
fn kstrtoul_semantics() {
    let ok = |v: &str, n: usize| {
        assert_eq!(early_kasan_flag_stack_ring_size(s(v)), Ok(n), "{v:?}");
    };
    let err = |v: &[u8], e: ParamError| {
        assert_eq!(early_kasan_flag_stack_ring_size(Some(v)), Err(e), "{v:?}");
    };
    ok("0", 0);
    ok("1", 1);
    ok("32768", 32768);
    ok("+5", 5);
    ok("5\n", 5);
    ok("+5\n", 5);
    ok("0x10", 16);
    ok("0X1f", 31);
    ok("0xABCdef", 0xabcdef);
    ok("+0x10", 16);
    ok("010", 8);
    ok("0777", 0o777);
    ok("00", 0);
    ok("0\n", 0);
    ok("007", 7);
    ok("18446744073709551615", usize::MAX);
    ok("0xffffffffffffffff", usize::MAX);
    ok("01777777777777777777777", usize::MAX);
    ok(&"0".repeat(4096), 0);
    ok(&format!("{}1", "0".repeat(5000)), 1);
    ok("123\0junk", 123);

    err(b"", Invalid);
    err(b"\n", Invalid);
    err(b"+", Invalid);
    err(b"++1", Invalid);
    err(b"+-1", Invalid);
    err(b"-1", Invalid);
    err(b"-0", Invalid);
    err(b" 1", Invalid);
    err(b"1 ", Invalid);
    err(b"1\n\n", Invalid);
    err(b"\n1", Invalid);
    err(b"1x", Invalid);
    err(b"1k", Invalid);
    err(b"1.0", Invalid);
    err(b"08", Invalid);
    err(b"09", Invalid);
    // "0x" without a hex digit is octal 0 followed by junk.
    err(b"0x", Invalid);
    err(b"0xg", Invalid);
    err(b"0x\n", Invalid);
    err(b"x10", Invalid);
    err(b"0b1", Invalid);
    err(b"abc", Invalid);
    err(b"a", Invalid);
    err("１".as_bytes(), Invalid);
    err(&[b'1', 0xff], Invalid);
    err(&[0x80], Invalid);
    err(b"\0", Invalid);
    err(b"18446744073709551616", Range);
    err(b"99999999999999999999999999", Range);
    err(b"0x10000000000000000", Range);
    err(b"02000000000000000000000", Range);
    // Overflow is reported before trailing junk.
    err(b"99999999999999999999999999x", Range);
    err(&[b'1'; 4096], Range);
    err(&[b'z'; 4096], Invalid);
}

/// `kasan.page_alloc.sample.order` is `kstrtouint(arg, 0, ...)` plus the `INT_MAX` check.
#[test]
fn kstrtouint_and_sample_order() {
    let f = |v: &str| early_kasan_flag_page_alloc_sample_order(s(v));
    assert_eq!(f("0"), Ok(0));
    assert_eq!(f("3"), Ok(3));
    assert_eq!(f("+10\n"), Ok(10));
    assert_eq!(f("0x7fffffff"), Ok(0x7fff_ffff));
    assert_eq!(f("2147483647"), Ok(0x7fff_ffff));
    assert_eq!(f("2147483648"), Err(InvalidReset));
    assert_eq!(f("4294967295"), Err(InvalidReset));
    assert_eq!(f("4294967296"), Err(Range));
    assert_eq!(f("18446744073709551616"), Err(Range));
    assert_eq!(f("-1"), Err(Invalid));
    assert_eq!(f(""), Err(Invalid));
    assert_eq!(early_kasan_flag_page_alloc_sample_order(None), Err(Invalid));
}

#[test]
fn page_alloc_sample() {
    let f = |v: &str| early_kasan_flag_page_alloc_sample(s(v));
    assert_eq!(f("1"), Ok(1));
    assert_eq!(f("2"), Ok(2));
    assert_eq!(f("0x100"), Ok(256));
    assert_eq!(f("9223372036854775807"), Ok(isize::MAX as usize));
    assert_eq!(f("0"), Err(InvalidReset));
    assert_eq!(f("00"), Err(InvalidReset));
    assert_eq!(f("9223372036854775808"), Err(InvalidReset));
    assert_eq!(f("18446744073709551615"), Err(InvalidReset));
    assert_eq!(f("18446744073709551616"), Err(Range));
    assert_eq!(f("abc"), Err(Invalid));
    assert_eq!(f("-1"), Err(Invalid));
    assert_eq!(early_kasan_flag_page_alloc_sample(None), Err(Invalid));
}

#[test]
fn stack_ring_size_default() {
    assert_eq!(KASAN_STACK_RING_SIZE_DEFAULT, 32768);
    assert_eq!(stack_ring_size_or_default(0), 32768);
    assert_eq!(stack_ring_size_or_default(1), 1);
    assert_eq!(early_kasan_flag_stack_ring_size(None), Err(Invalid));
}

#[test]
fn quarantine_size_parameter() {
    let f = |v: &[u8]| early_kasan_quarantine_size(Some(v));
    assert_eq!(f(b"0"), Ok(QuarantineSize::Bytes(0)));
    assert_eq!(f(b"1048576"), Ok(QuarantineSize::Bytes(1 << 20)));
    assert_eq!(f(b"0x100000"), Ok(QuarantineSize::Bytes(1 << 20)));
    assert_eq!(f(b"+64\n"), Ok(QuarantineSize::Bytes(64)));
    assert_eq!(
        f(b"18446744073709551615"),
        Ok(QuarantineSize::Bytes(usize::MAX))
    );
    assert_eq!(f(b"0%"), Ok(QuarantineSize::Percent(0)));
    assert_eq!(f(b"50%"), Ok(QuarantineSize::Percent(50)));
    assert_eq!(f(b"100%"), Ok(QuarantineSize::Percent(100)));
    assert_eq!(f(b"+5%"), Ok(QuarantineSize::Percent(5)));
    assert_eq!(f(b"010%"), Ok(QuarantineSize::Percent(10)));
    assert_eq!(f(b"25%\0junk"), Ok(QuarantineSize::Percent(25)));
    // memparse()'s suffixes, either case, after a number of any base.
    let mib = |n: usize| Ok(QuarantineSize::Bytes(n * 1024 * 1024));
    assert_eq!(f(b"64M"), mib(64));
    assert_eq!(f(b"64m"), mib(64));
    assert_eq!(f(b"65536K"), mib(64));
    assert_eq!(f(b"65536k\n"), mib(64));
    assert_eq!(f(b"+1G"), mib(1024));
    assert_eq!(f(b"1g"), mib(1024));
    assert_eq!(f(b"2T"), mib(2 * 1024 * 1024));
    assert_eq!(f(b"3p"), mib(3 * 1024 * 1024 * 1024));
    assert_eq!(f(b"15E"), Ok(QuarantineSize::Bytes(15 << 60)));
    assert_eq!(f(b"0x40M"), mib(64));
    assert_eq!(f(b"0100M"), mib(64));
    assert_eq!(f(b"0M"), Ok(QuarantineSize::Bytes(0)));
    assert_eq!(f(b"0k"), Ok(QuarantineSize::Bytes(0)));
    assert_eq!(f(b"8M\0junk"), mib(8));
    // In hex, e and E are digits (as memparse() reads them), not the exa suffix.
    assert_eq!(f(b"0x1e"), Ok(QuarantineSize::Bytes(0x1e)));
    assert_eq!(f(b"0x1E"), Ok(QuarantineSize::Bytes(0x1e)));
    assert_eq!(f(b"0x1eK"), Ok(QuarantineSize::Bytes(0x1e << 10)));
    assert_eq!(f(b"1E"), Ok(QuarantineSize::Bytes(1 << 60)));

    assert_eq!(early_kasan_quarantine_size(None), Err(Invalid));
    for bad in [
        &b""[..],
        b"%",
        b"101%",
        b"256%",
        b"1000%",
        b"50%%",
        b"%50",
        b"-1%",
        b"-1",
        b"0x10%",
        b"10 %",
        b" 10%",
        b"50%\n",
        b"1e6",
        b"M",
        b"k",
        b"+M",
        b"0xM",
        b"8MB",
        b"8MiB",
        b"8M8",
        b"8KM",
        b"8 M",
        b"64\nK",
        b"64M\n\n",
        b"1.5M",
        b"8X",
        b"-8M",
        b"50%M",
        b"1.5%",
        b"ten",
        b"\0",
        &[0xc2, 0xa0],
    ] {
        assert_eq!(f(bad), Err(Invalid), "{bad:?}");
    }
    assert_eq!(f(b"4294967296%"), Err(Range));
    assert_eq!(f(b"99999999999999999999"), Err(Range));
    assert_eq!(f(&[b'9'; 4096]), Err(Range));
    // A suffix must not take the size past an unsigned long.
    assert_eq!(f(b"16E"), Err(Range));
    assert_eq!(f(b"16384P"), Err(Range));
    assert_eq!(f(b"17179869184G"), Err(Range));
    assert_eq!(f(b"17179869183G"), mib(17179869183 * 1024));
    assert_eq!(f(b"18014398509481984K"), Err(Range));
    assert_eq!(f(b"0xffffffffffffffffK"), Err(Range));
    assert_eq!(f(b"99999999999999999999K"), Err(Range));
}

#[test]
fn multi_shot_matches_by_prefix() {
    for yes in [
        "kasan_multi_shot",
        "kasan_multi_shot=0",
        "kasan_multi_shot=off",
        "kasan_multi_shot=",
        "kasan_multi_shotXYZ",
        "kasan_multi_shot_please",
        "kasan-multi-shot",
        "kasan_multi-shot=1",
    ] {
        assert!(kasan_set_multi_shot(yes.as_bytes()), "{yes:?}");
    }
    for no in [
        "",
        "kasan",
        "kasan_multi",
        "kasan_multi_sho",
        "kasan_multi_sho=t",
        "KASAN_MULTI_SHOT",
        "kasan_Multi_shot",
        "xkasan_multi_shot",
        " kasan_multi_shot",
        "kasan.multi_shot",
        "kasan_multi_shot\0",
    ] {
        let expected = no == "kasan_multi_shot\0";
        assert_eq!(kasan_set_multi_shot(no.as_bytes()), expected, "{no:?}");
    }
    assert!(!kasan_set_multi_shot(b"kasan_multi\0_shot"));

    let mut args = BootArgs::default();
    assert!(!args.setup(b"kasan.fault=panic"));
    assert!(!args.multi_shot);
    assert!(args.setup(b"kasan_multi_shot=0"));
    assert!(args.multi_shot);
}

#[test]
fn parameq_treats_dash_and_underscore_alike() {
    assert!(parameq(b"kasan.fault", b"kasan.fault"));
    assert!(parameq(
        b"kasan.page-alloc.sample",
        b"kasan.page_alloc.sample"
    ));
    assert!(parameq(
        b"kasan.page_alloc.sample",
        b"kasan.page-alloc.sample"
    ));
    assert!(!parameq(b"kasan.fault", b"kasan.faul"));
    assert!(!parameq(b"kasan.faul", b"kasan.fault"));
    assert!(!parameq(b"kasan.Fault", b"kasan.fault"));
    assert!(!parameq(b"kasan_fault", b"kasan.fault"));
    assert!(parameq(b"", b""));
    assert!(parameqn(b"kasan_multi_shotXYZ", b"kasan_multi_shot", 16));
    assert!(!parameqn(b"kasan", b"kasan_multi_shot", 16));
}

#[test]
fn boot_args_defaults_and_dispatch() {
    let d = BootArgs::default();
    assert_eq!(d.kasan, KasanArg::Default);
    assert_eq!(d.mode, KasanArgMode::Default);
    assert_eq!(d.vmalloc, KasanArgVmalloc::Default);
    assert!(!d.write_only);
    assert_eq!(d.page_alloc_sample, 1);
    assert_eq!(d.page_alloc_sample_order, 3);
    assert_eq!(d.fault, KasanArgFault::Default);
    assert!(!d.multi_shot);
    assert_eq!(d.stacktrace, KasanArgStacktrace::Default);
    assert_eq!(d.stack_ring_size, 0);
    assert_eq!(d.quarantine_size, QuarantineSize::Default);
    assert!(!d.free_check);
    assert!(d.config_kasan_vmalloc);

    let mut a = BootArgs::default();
    let table: &[(&str, &str)] = &[
        ("kasan", "off"),
        ("kasan.mode", "asymm"),
        ("kasan.vmalloc", "off"),
        ("kasan.write_only", "on"),
        ("kasan.page_alloc.sample", "8"),
        ("kasan.page_alloc.sample.order", "0"),
        ("kasan.fault", "panic_on_write"),
        ("kasan.stacktrace", "off"),
        ("kasan.stack_ring_size", "0x1000"),
        ("kasan.quarantine_size", "10%"),
        ("kasan.free_check", "on"),
    ];
    for (name, val) in table {
        assert_eq!(
            a.early_param(name.as_bytes(), s(val)),
            Some(Ok(())),
            "{name}"
        );
    }
    assert_eq!(a.kasan, KasanArg::Off);
    assert_eq!(a.mode, KasanArgMode::Asymm);
    assert_eq!(a.vmalloc, KasanArgVmalloc::Off);
    assert!(a.write_only);
    assert_eq!(a.page_alloc_sample, 8);
    assert_eq!(a.page_alloc_sample_order, 0);
    assert_eq!(a.fault, KasanArgFault::PanicOnWrite);
    assert_eq!(a.stacktrace, KasanArgStacktrace::Off);
    assert_eq!(a.stack_ring_size, 4096);
    assert_eq!(a.quarantine_size, QuarantineSize::Percent(10));
    assert!(a.free_check);
    assert_eq!(BootArgs::EARLY_PARAMS.len(), table.len());

    // Unknown names are not ours; early parameters match exactly (modulo '-'/'_').
    assert_eq!(a.early_param(b"kasan.faultX", s("panic")), None);
    assert_eq!(a.early_param(b"kasan_multi_shot", None), None);
    assert_eq!(a.early_param(b"KASAN", s("on")), None);
    assert_eq!(
        a.early_param(b"kasan.stack-ring-size", s("5")),
        Some(Ok(()))
    );
    assert_eq!(a.stack_ring_size, 5);
}

#[test]
fn boot_args_errors_keep_or_reset_like_upstream() {
    let mut a = BootArgs::default();
    // Errors keep the previous value (kstrto*() does not write on failure)...
    assert_eq!(a.early_param(b"kasan.fault", s("panic")), Some(Ok(())));
    assert_eq!(
        a.early_param(b"kasan.fault", s("PANIC")),
        Some(Err(Invalid))
    );
    assert_eq!(a.early_param(b"kasan.fault", None), Some(Err(Invalid)));
    assert_eq!(a.fault, KasanArgFault::Panic);
    assert_eq!(
        a.early_param(b"kasan.page_alloc.sample", s("5")),
        Some(Ok(()))
    );
    assert_eq!(
        a.early_param(b"kasan.page_alloc.sample", s("5x")),
        Some(Err(Invalid))
    );
    assert_eq!(
        a.early_param(b"kasan.page_alloc.sample", s("99999999999999999999")),
        Some(Err(Range))
    );
    assert_eq!(a.page_alloc_sample, 5);
    // ...except the range checks that reset to the default first.
    assert_eq!(
        a.early_param(b"kasan.page_alloc.sample", s("0")),
        Some(Err(InvalidReset))
    );
    assert_eq!(a.page_alloc_sample, PAGE_ALLOC_SAMPLE_DEFAULT);
    assert_eq!(
        a.early_param(b"kasan.page_alloc.sample.order", s("7")),
        Some(Ok(()))
    );
    assert_eq!(
        a.early_param(b"kasan.page_alloc.sample.order", s("0x80000000")),
        Some(Err(InvalidReset))
    );
    assert_eq!(a.page_alloc_sample_order, PAGE_ALLOC_SAMPLE_ORDER_DEFAULT);
    assert_eq!(
        a.early_param(b"kasan.stack_ring_size", s("77")),
        Some(Ok(()))
    );
    assert_eq!(
        a.early_param(b"kasan.stack_ring_size", s("-1")),
        Some(Err(Invalid))
    );
    assert_eq!(a.stack_ring_size, 77);
    assert_eq!(
        a.early_param(b"kasan.quarantine_size", s("1000")),
        Some(Ok(()))
    );
    assert_eq!(
        a.early_param(b"kasan.quarantine_size", s("101%")),
        Some(Err(Invalid))
    );
    assert_eq!(a.quarantine_size, QuarantineSize::Bytes(1000));
    assert_eq!(a.early_param(b"kasan.free_check", s("on")), Some(Ok(())));
    for bad in [&b"ON"[..], b"1", b"yes", b"on\n", b""] {
        assert_eq!(
            a.early_param(b"kasan.free_check", s(std::str::from_utf8(bad).unwrap())),
            Some(Err(Invalid))
        );
    }
    assert!(a.free_check);
    assert_eq!(a.early_param(b"kasan.free_check", None), Some(Err(Invalid)));
    assert_eq!(a.early_param(b"kasan.free-check", s("off")), Some(Ok(())));
    assert!(!a.free_check);

    // Every malformed value leaves a fresh set of variables at the defaults.
    for bad in malformed_keywords() {
        if bad == b"0" || bad == b"1" {
            // Valid numbers.
            continue;
        }
        let mut a = BootArgs::default();
        for name in BootArgs::EARLY_PARAMS {
            let r = a.early_param(name.as_bytes(), Some(&bad));
            assert!(matches!(r, Some(Err(_))), "{name}={bad:?}: {r:?}");
            assert!(a.early_param(name.as_bytes(), None).unwrap().is_err());
        }
        assert_eq!(a, BootArgs::default(), "{bad:?}");
    }
}

/// An independent model of `kstrtoull(s, 0, ..)` built on `u64::from_str_radix`.
fn reference_kstrtoull(s: &[u8]) -> Result<u64, ParamError> {
    let s = match s.iter().position(|&b| b == 0) {
        Some(n) => &s[..n],
        None => s,
    };
    let s = s.strip_prefix(b"+").unwrap_or(s);
    let (radix, body) = if s.len() >= 3
        && s[0] == b'0'
        && (s[1] == b'x' || s[1] == b'X')
        && s[2].is_ascii_hexdigit()
    {
        (16, &s[2..])
    } else if s.first() == Some(&b'0') {
        (8, s)
    } else {
        (10, s)
    };
    let digits = body
        .iter()
        .take_while(|&&c| (c as char).is_digit(radix))
        .count();
    if digits == 0 {
        return Err(Invalid);
    }
    let text = std::str::from_utf8(&body[..digits]).unwrap();
    let value = match u64::from_str_radix(text, radix) {
        Ok(v) => v,
        Err(_) => return Err(Range),
    };
    let rest = &body[digits..];
    if rest.is_empty() || rest == b"\n" {
        Ok(value)
    } else {
        Err(Invalid)
    }
}

fn random_value(rng: &mut Rng) -> Vec<u8> {
    const TOKENS: &[&[u8]] = &[
        b"0",
        b"1",
        b"7",
        b"8",
        b"9",
        b"0x",
        b"0X",
        b"x",
        b"a",
        b"F",
        b"g",
        b"+",
        b"-",
        b"\n",
        b"\0",
        b" ",
        b"%",
        b"on",
        b"off",
        b"sync",
        b"async",
        b"asymm",
        b"report",
        b"panic",
        b"_on_write",
        b"=",
        b"\xff",
        b"\xc3\xa9",
        b"99999999999",
        b"ffffffff",
    ];
    let mut v = Vec::new();
    match rng.below(64) {
        0..=20 => {
            let len = rng.below(24);
            for _ in 0..len {
                v.push(rng.next() as u8);
            }
        }
        21..=41 => {
            let len = rng.below(64);
            for _ in 0..len {
                v.push(b"0123456789abcdefxX+-\n%\0"[rng.below(23)]);
            }
        }
        42..=62 => {
            let n = rng.below(6);
            for _ in 0..n {
                v.extend_from_slice(TOKENS[rng.below(TOKENS.len())]);
            }
        }
        _ => {
            let len = rng.below(5000);
            let b = rng.next() as u8;
            v.resize(len, b);
            if rng.below(2) == 0 && len > 0 {
                let i = rng.below(len);
                v[i] = rng.next() as u8;
            }
        }
    }
    v
}

#[test]
fn random_inputs_never_panic_and_agree_with_reference() {
    let mut rng = Rng(0x5eed);
    let mut accepted = 0usize;
    for _ in 0..100_000 {
        let v = random_value(&mut rng);
        let arg = Some(v.as_slice());
        let cstr = match v.iter().position(|&b| b == 0) {
            Some(n) => &v[..n],
            None => &v[..],
        };

        let kw = |ok: bool, keywords: &[&[u8]]| {
            assert_eq!(ok, keywords.contains(&cstr), "{v:?}");
        };
        kw(early_kasan_flag(arg).is_ok(), &[b"off", b"on"]);
        kw(
            early_kasan_mode(arg).is_ok(),
            &[b"sync", b"async", b"asymm"],
        );
        kw(
            early_kasan_flag_vmalloc(arg, true).is_ok(),
            &[b"off", b"on"],
        );
        assert!(early_kasan_flag_vmalloc(arg, false).is_ok());
        kw(early_kasan_flag_write_only(arg).is_ok(), &[b"off", b"on"]);
        kw(
            early_kasan_fault(arg).is_ok(),
            &[b"report", b"panic", b"panic_on_write"],
        );
        kw(early_kasan_flag_stacktrace(arg).is_ok(), &[b"off", b"on"]);

        let reference = reference_kstrtoull(&v);
        let ring = early_kasan_flag_stack_ring_size(arg);
        assert_eq!(ring, reference.map(|n| n as usize), "{v:?}");
        if ring.is_ok() {
            accepted += 1;
        }
        let sample = early_kasan_flag_page_alloc_sample(arg);
        match reference {
            Ok(0) => assert_eq!(sample, Err(InvalidReset)),
            Ok(n) if n > i64::MAX as u64 => assert_eq!(sample, Err(InvalidReset)),
            Ok(n) => assert_eq!(sample, Ok(n as usize)),
            Err(e) => assert_eq!(sample, Err(e)),
        }
        let order = early_kasan_flag_page_alloc_sample_order(arg);
        match reference {
            Ok(n) if n > u64::from(u32::MAX) => assert_eq!(order, Err(Range)),
            Ok(n) if n > i32::MAX as u64 => assert_eq!(order, Err(InvalidReset)),
            Ok(n) => assert_eq!(order, Ok(n as u32)),
            Err(e) => assert_eq!(order, Err(e)),
        }
        let _ = early_kasan_quarantine_size(arg);
        assert_eq!(
            kasan_set_multi_shot(&v),
            cstr.len() >= 16
                && cstr[..16]
                    .iter()
                    .map(|&c| if c == b'-' { b'_' } else { c })
                    .eq(KASAN_MULTI_SHOT.iter().copied())
        );
        let mut a = BootArgs::default();
        let name = BootArgs::EARLY_PARAMS[rng.below(BootArgs::EARLY_PARAMS.len())];
        assert!(a.early_param(name.as_bytes(), arg).is_some());
        let _ = a.early_param(&v, arg);
        let _ = a.setup(&v);
    }
    // The generator exercises both outcomes.
    assert!(accepted > 1000, "{accepted}");
}

/// A command line, and the `param`, `val` and rest `next_arg()` cuts from it.
type NextArgCase = (
    &'static [u8],
    &'static [u8],
    Option<&'static [u8]>,
    &'static [u8],
);

#[test]
fn next_arg_cuts_like_lib_cmdline() {
    let cases: &[NextArgCase] = &[
        (b"kasan=off rest", b"kasan", Some(b"off"), b"rest"),
        (b"kasan_multi_shot   x", b"kasan_multi_shot", None, b"x"),
        (b"a=\"b c\" d", b"a", Some(b"b c"), b"d"),
        (b"\"a=b c\" d", b"a", Some(b"b c"), b"d"),
        (b"\"quoted\"", b"quoted", None, b""),
        (b"a==b", b"a", Some(b"=b"), b""),
        (b"a=", b"a", Some(b""), b""),
        (b"a=\"", b"a", Some(b""), b""),
        (b"k=v\tnext", b"k", Some(b"v"), b"next"),
    ];
    for &(line, param, val, rest) in cases {
        let (arg, r) = next_arg(line);
        assert_eq!(
            (arg.param, arg.val, r),
            (param, val, rest),
            "{}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn command_line_sets_boot_args() {
    let mut args = BootArgs::new(true);
    let malformed = args.parse_command_line(
        b"console=ttyAMA0 kasan.mode=async kasan.stacktrace=off kasan.stack_ring_size=0x100 \
          kasan.page_alloc.sample=0 kasan.write_only=maybe kasan_multi_shot kunit.filter_glob=x",
    );
    assert_eq!(args.mode, KasanArgMode::Async);
    assert_eq!(args.stacktrace, KasanArgStacktrace::Off);
    assert_eq!(args.stack_ring_size, 0x100);
    // 0 is rejected and resets the sample interval; "maybe" is rejected and changes nothing.
    assert_eq!(args.page_alloc_sample, PAGE_ALLOC_SAMPLE_DEFAULT);
    assert!(!args.write_only);
    assert!(args.multi_shot);
    assert_eq!(args.kasan, KasanArg::Default);
    assert_eq!(malformed, 2);

    // The last setting wins; `--` ends the kernel's part; names compare with - and _ alike.
    let mut args = BootArgs::new(true);
    assert_eq!(
        args.parse_command_line(b"  kasan=off kasan=on kasan.page-alloc.sample=8 -- kasan=off"),
        0
    );
    assert_eq!(args.kasan, KasanArg::On);
    assert_eq!(args.page_alloc_sample, 8);

    // Nothing KASAN: the defaults.
    let mut args = BootArgs::new(false);
    assert_eq!(args.parse_command_line(b"root=/dev/vda\0kasan=off"), 0);
    assert_eq!(args, BootArgs::new(false));
}

/// The enums reach C as `value as c_int`: their discriminants are the values of the C enums
/// (`enum kasan_arg*` of mm/kasan/hw_tags.c, tags.c and report.c, in declaration order from 0).
#[test]
fn enums_have_the_c_values() {
    let kasan = [KasanArg::Default, KasanArg::Off, KasanArg::On];
    let mode = [
        KasanArgMode::Default,
        KasanArgMode::Sync,
        KasanArgMode::Async,
        KasanArgMode::Asymm,
    ];
    let vmalloc = [
        KasanArgVmalloc::Default,
        KasanArgVmalloc::Off,
        KasanArgVmalloc::On,
    ];
    let stacktrace = [
        KasanArgStacktrace::Default,
        KasanArgStacktrace::Off,
        KasanArgStacktrace::On,
    ];
    let fault = [
        KasanArgFault::Default,
        KasanArgFault::Report,
        KasanArgFault::Panic,
        KasanArgFault::PanicOnWrite,
    ];
    assert_eq!(kasan.map(|v| v as i32), [0, 1, 2]);
    assert_eq!(mode.map(|v| v as i32), [0, 1, 2, 3]);
    assert_eq!(vmalloc.map(|v| v as i32), [0, 1, 2]);
    assert_eq!(stacktrace.map(|v| v as i32), [0, 1, 2]);
    assert_eq!(fault.map(|v| v as i32), [0, 1, 2, 3]);
}

/// `kasan.quarantine_size` crosses the C interface as `(kind, value)`: 0 default, 1 bytes,
/// 2 percent (the KUnit suite's `RKASAN_QSIZE_BYTES` is 1).
#[test]
fn quarantine_size_kinds() {
    use rkasan::quarantine::QuarantineSizeKind;
    let cases = [
        (QuarantineSize::Default, 0, 0),
        (QuarantineSize::Bytes(64 << 20), 1, 64 << 20),
        (QuarantineSize::Percent(0), 2, 0),
        (QuarantineSize::Percent(100), 2, 100),
    ];
    for (size, kind, value) in cases {
        let (k, v) = size.encode();
        assert_eq!((k as i32, v), (kind, value), "{size:?}");
        assert_eq!(QuarantineSize::decode(kind, value), Some(size));
    }
    assert_eq!(QuarantineSizeKind::Percent as i32, 2);
    assert_eq!(QuarantineSize::decode(2, 101), None);
    assert_eq!(QuarantineSize::decode(2, 256), None);
    assert_eq!(QuarantineSize::decode(3, 0), None);
    assert_eq!(QuarantineSize::decode(-1, 0), None);
}
