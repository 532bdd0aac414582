// SPDX-License-Identifier: GPL-2.0

//! Feeds arbitrary bytes to every boot parameter parser of `rkasan::params`.
//!
//! The first byte selects how the rest is presented (`None` as for a parameter without `=value`,
//! or the bytes as the value); every parser must return without panicking, and the results must
//! agree with each other where upstream semantics tie them together.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rkasan::params::*;

fuzz_target!(|data: &[u8]| {
    let (sel, value) = match data.split_first() {
        Some((&sel, rest)) => (sel, rest),
        None => (0, data),
    };
    let arg = if sel & 1 == 1 { None } else { Some(value) };

    let flag = early_kasan_flag(arg);
    let _ = early_kasan_mode(arg);
    let vmalloc = early_kasan_flag_vmalloc(arg, true);
    let _ = early_kasan_flag_vmalloc(arg, false);
    let write_only = early_kasan_flag_write_only(arg);
    let _ = early_kasan_fault(arg);
    let stacktrace = early_kasan_flag_stacktrace(arg);
    let ring = early_kasan_flag_stack_ring_size(arg);
    let sample = early_kasan_flag_page_alloc_sample(arg);
    let order = early_kasan_flag_page_alloc_sample_order(arg);
    let quarantine = early_kasan_quarantine_size(arg);
    let multi_shot = kasan_set_multi_shot(value);

    // All off/on parameters accept exactly the same values.
    assert_eq!(flag.is_ok(), vmalloc.is_ok());
    assert_eq!(flag.is_ok(), write_only.is_ok());
    assert_eq!(flag.is_ok(), stacktrace.is_ok());
    // NULL is rejected by every early parameter.
    if arg.is_none() {
        assert!(flag.is_err() && ring.is_err() && sample.is_err() && order.is_err());
        assert!(quarantine.is_err());
    }
    // The numeric parameters share kstrtoull(): their errors and values agree.
    match ring {
        Ok(n) => {
            assert_eq!(sample.is_ok(), n != 0 && n <= usize::MAX >> 1);
            if let Ok(s) = sample {
                assert_eq!(s, n);
            }
            if let Ok(o) = order {
                assert_eq!(o as usize, n);
            }
            assert_eq!(quarantine, Ok(rkasan::quarantine::QuarantineSize::Bytes(n)));
        }
        Err(e) => {
            assert_eq!(sample, Err(e));
            assert_eq!(order, Err(e));
        }
    }
    let _ = multi_shot;

    // The same value through the command-line dispatch, under every name and under itself.
    let mut args = BootArgs::default();
    for name in BootArgs::EARLY_PARAMS {
        assert!(args.early_param(name.as_bytes(), arg).is_some());
    }
    let _ = args.early_param(value, arg);
    assert_eq!(args.setup(value), multi_shot);
});
