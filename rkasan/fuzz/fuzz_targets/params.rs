// SPDX-License-Identifier: GPL-2.0

//! Feeds arbitrary bytes to every boot parameter parser of `rkasan::params` and checks each
//! result against [`reference`], a model of the C handlers written from the kernel sources.
//!
//! The first byte is a selector: bit 0 presents the rest as a parameter without `=value` (the C
//! handler's `arg == NULL`), bit 1 is `CONFIG_KASAN_VMALLOC`. The rest is, at once, the value of
//! every early parameter, a `__setup()` line, a parameter name and a whole command line.

#![no_main]

mod reference;

use libfuzzer_sys::fuzz_target;
use reference::{arg, Globals, Quarantine};
use rkasan::params::*;
use rkasan::quarantine::QuarantineSize;

/// The C return value of a Rust parser's result.
fn ret<T>(r: &Result<T, ParamError>) -> i32 {
    match r {
        Ok(_) => 0,
        Err(e) => e.to_errno(),
    }
}

fn kasan_arg(v: KasanArg) -> u8 {
    match v {
        KasanArg::Default => arg::DEFAULT,
        KasanArg::Off => arg::OFF,
        KasanArg::On => arg::ON,
    }
}

fn mode(v: KasanArgMode) -> u8 {
    match v {
        KasanArgMode::Default => arg::DEFAULT,
        KasanArgMode::Sync => arg::SYNC,
        KasanArgMode::Async => arg::ASYNC,
        KasanArgMode::Asymm => arg::ASYMM,
    }
}

fn vmalloc(v: KasanArgVmalloc) -> u8 {
    match v {
        KasanArgVmalloc::Default => arg::DEFAULT,
        KasanArgVmalloc::Off => arg::OFF,
        KasanArgVmalloc::On => arg::ON,
    }
}

fn fault(v: KasanArgFault) -> u8 {
    match v {
        KasanArgFault::Default => arg::DEFAULT,
        KasanArgFault::Report => arg::REPORT,
        KasanArgFault::Panic => arg::PANIC,
        KasanArgFault::PanicOnWrite => arg::PANIC_ON_WRITE,
    }
}

fn stacktrace(v: KasanArgStacktrace) -> u8 {
    match v {
        KasanArgStacktrace::Default => arg::DEFAULT,
        KasanArgStacktrace::Off => arg::OFF,
        KasanArgStacktrace::On => arg::ON,
    }
}

fn quarantine(v: QuarantineSize) -> Quarantine {
    match v {
        QuarantineSize::Default => Quarantine::Default,
        QuarantineSize::Bytes(n) => Quarantine::Bytes(n as u64),
        QuarantineSize::Percent(p) => Quarantine::Percent(u32::from(p)),
    }
}

/// `BootArgs` in the model's terms.
fn globals(b: &BootArgs) -> Globals {
    Globals {
        config_vmalloc: b.config_kasan_vmalloc,
        kasan: kasan_arg(b.kasan),
        mode: mode(b.mode),
        vmalloc: vmalloc(b.vmalloc),
        write_only: b.write_only,
        sample: b.page_alloc_sample as u64,
        order: b.page_alloc_sample_order,
        fault: fault(b.fault),
        multi_shot: b.multi_shot,
        stacktrace: stacktrace(b.stacktrace),
        ring: b.stack_ring_size as u64,
        quarantine: quarantine(b.quarantine_size),
        free_check: b.free_check,
    }
}

/// Runs handler `which` of the model from the initial state: (return value, state after).
fn model(which: usize, a: Option<&[u8]>, config_vmalloc: bool) -> (i32, Globals) {
    let mut g = Globals::new(config_vmalloc);
    let r = g.handler(which, a);
    (r, g)
}

fuzz_target!(|data: &[u8]| {
    let (sel, value) = match data.split_first() {
        Some((&sel, rest)) => (sel, rest),
        None => (0, data),
    };
    let a = if sel & 1 == 1 { None } else { Some(value) };
    let config_vmalloc = sel & 2 != 0;
    let init = Globals::new(config_vmalloc);

    // Each parser on its own, against the handler of the same name. A handler that returns an
    // error without a store leaves the initial value; where the Rust parser says InvalidReset
    // the C handler must have stored the default (checked through BootArgs below).
    let check = |which: usize, r: i32, stored: Option<Globals>| {
        let (want, after) = model(which, a, config_vmalloc);
        assert_eq!(r, want, "{}={:?}", reference::EARLY_NAMES[which], a);
        if let Some(g) = stored {
            assert_eq!(g, after, "{}={:?}", reference::EARLY_NAMES[which], a);
        }
    };
    let with = |f: &dyn Fn(&mut Globals)| {
        let mut g = init;
        f(&mut g);
        Some(g)
    };

    let r = early_kasan_flag(a);
    check(
        0,
        ret(&r),
        r.ok().and_then(|v| with(&|g| g.kasan = kasan_arg(v))),
    );
    let r = early_kasan_mode(a);
    check(1, ret(&r), r.ok().and_then(|v| with(&|g| g.mode = mode(v))));
    let r = early_kasan_flag_vmalloc(a, config_vmalloc);
    check(
        2,
        ret(&r),
        r.ok().and_then(|v| with(&|g| g.vmalloc = vmalloc(v))),
    );
    let r = early_kasan_flag_write_only(a);
    check(3, ret(&r), r.ok().and_then(|v| with(&|g| g.write_only = v)));
    let r = early_kasan_flag_page_alloc_sample(a);
    check(
        4,
        ret(&r),
        r.ok().and_then(|v| with(&|g| g.sample = v as u64)),
    );
    let r = early_kasan_flag_page_alloc_sample_order(a);
    check(5, ret(&r), r.ok().and_then(|v| with(&|g| g.order = v)));
    let r = early_kasan_fault(a);
    check(
        6,
        ret(&r),
        r.ok().and_then(|v| with(&|g| g.fault = fault(v))),
    );
    let r = early_kasan_flag_stacktrace(a);
    check(
        7,
        ret(&r),
        r.ok().and_then(|v| with(&|g| g.stacktrace = stacktrace(v))),
    );
    let r = early_kasan_flag_stack_ring_size(a);
    check(
        8,
        ret(&r),
        r.ok().and_then(|v| with(&|g| g.ring = v as u64)),
    );
    let r = early_kasan_quarantine_size(a);
    check(
        9,
        ret(&r),
        r.ok().and_then(|v| with(&|g| g.quarantine = quarantine(v))),
    );
    let r = early_kasan_free_check(a);
    check(10, ret(&r), r.ok().and_then(|v| with(&|g| g.free_check = v)));

    // The dispatch by name: every handler through its own name, and the value as a name.
    for (which, name) in BootArgs::EARLY_PARAMS.iter().enumerate() {
        assert_eq!(*name, reference::EARLY_NAMES[which]);
        let mut b = BootArgs::new(config_vmalloc);
        let r = b.early_param(name.as_bytes(), a);
        let (want, after) = model(which, a, config_vmalloc);
        assert_eq!(r.map(|r| ret(&r)), Some(want), "{name}={a:?}");
        assert_eq!(globals(&b), after, "{name}={a:?}");
    }
    let mut b = BootArgs::new(config_vmalloc);
    let mut g = init;
    let r = b.early_param(value, a);
    assert_eq!(
        r.map(|r| ret(&r)),
        g.do_early_param(value, a),
        "{value:?}={a:?}"
    );
    assert_eq!(globals(&b), g, "{value:?}={a:?}");

    // `__setup("kasan_multi_shot")` on the value as an option line.
    let mut g = init;
    assert_eq!(
        kasan_set_multi_shot(value),
        g.obsolete_checksetup(value),
        "{value:?}"
    );
    let mut b = BootArgs::new(config_vmalloc);
    assert_eq!(b.setup(value), g.obsolete_checksetup(value), "{value:?}");
    assert_eq!(globals(&b), g, "{value:?}");

    // The value as a whole command line, both passes, repeated parameters included.
    let mut b = BootArgs::new(config_vmalloc);
    let mut g = init;
    let malformed = b.parse_command_line(value);
    let cmdline = String::from_utf8_lossy(value);
    assert_eq!(
        malformed,
        g.parse_command_line(value),
        "cmdline {cmdline:?}"
    );
    assert_eq!(globals(&b), g, "cmdline {cmdline:?}");
});
