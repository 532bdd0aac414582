// SPDX-License-Identifier: GPL-2.0

//! Golden tests of the report text against real reports of the C runtime.
//!
//! `tests/golden/*.txt` are verbatim reports (separator to separator) from the upstream `kasan`
//! KUnit suite on UML (shared/baseline/c-runtime-{generic,full}.console.log). For each, the test
//! rebuilds the shadow around the bad address, feeds the access that caused it to
//! `complete_report_info()` and `print_report()`, and requires the whole report to come out
//! byte-identical. Only what the kernel prints itself (the `dump_stack()` section and the
//! variable / vmalloc / physical-page sections) is copied from the golden text, through the
//! test's `ReportEnv`.

use std::fmt::{self, Write};

use rkasan::report::{
    complete_report_info, end_report, invalid_free_type, print_report, start_report, AddressLayout,
    BugType, ReportCaller, ReportEnv, ReportInfo, ReportType, SlabObject,
};
use rkasan::shadow::{poison, unpoison, Arena, KASAN_GRANULE_SIZE, KASAN_SLAB_REDZONE};

/// x86-64 UML: `PAGE_SIZE` and `TASK_SIZE`.
const LAYOUT: AddressLayout = AddressLayout {
    page_size: 4096,
    task_size: 0x0000_7fff_ffff_f000,
};

/// Shadow value of the granules around the dumped rows: any read of them classifies as
/// `unknown-crash` and breaks the comparison.
const OUTSIDE: u8 = 0xEE;

/// Granules of margin on each side of the dumped rows.
const MARGIN: usize = 16;

/// Supplies the kernel-owned sections of a golden report.
struct GoldenEnv<'a> {
    golden: &'a str,
}

impl GoldenEnv<'_> {
    fn lines(&self) -> Vec<&str> {
        self.golden.lines().collect()
    }
}

impl ReportEnv for GoldenEnv<'_> {
    fn dump_stack<W: Write>(&mut self, w: &mut W) -> fmt::Result {
        let lines = self.lines();
        let start = lines.iter().position(|l| l.starts_with("CPU: ")).unwrap();
        for l in lines.iter().skip(start).take_while(|l| !l.is_empty()) {
            writeln!(w, "{l}")?;
        }
        Ok(())
    }

    fn stack_depot_print<W: Write>(&mut self, _w: &mut W, _handle: u32) -> fmt::Result {
        unreachable!("the baseline kernels print no alloc/free stacks")
    }

    fn describe_address<W: Write>(&mut self, w: &mut W, _addr: usize) -> fmt::Result {
        let lines = self.lines();
        let start = lines
            .iter()
            .position(|l| {
                l.starts_with("The buggy address belongs to")
                    && !l.starts_with("The buggy address belongs to the object")
            })
            .unwrap();
        for l in lines
            .iter()
            .skip(start)
            .take_while(|l| **l != "Memory state around the buggy address:")
        {
            writeln!(w, "{l}")?;
        }
        Ok(())
    }
}

/// The five rows of the golden's memory-state dump: (row address, 16 shadow bytes).
fn parse_rows(golden: &str) -> Vec<(usize, Vec<u8>)> {
    let rows: Vec<_> = golden
        .lines()
        .skip_while(|l| *l != "Memory state around the buggy address:")
        .skip(1)
        .filter(|l| l.len() == 1 + 16 + 2 + 16 * 3 - 1 && &l[17..19] == ": ")
        .map(|l| {
            let addr = usize::from_str_radix(&l[1..17], 16).unwrap();
            let bytes = l[19..]
                .split(' ')
                .map(|b| u8::from_str_radix(b, 16).unwrap())
                .collect();
            (addr, bytes)
        })
        .collect();
    assert_eq!(rows.len(), 5);
    rows
}

/// An arena holding the golden's dumped shadow, with a poisoned margin around it.
fn shadow_from_golden(golden: &str) -> (usize, Vec<u8>) {
    let rows = parse_rows(golden);
    let base = rows[0].0 - MARGIN * KASAN_GRANULE_SIZE;
    let mut shadow = vec![OUTSIDE; MARGIN];
    for (i, (addr, bytes)) in rows.iter().enumerate() {
        assert_eq!(*addr, rows[0].0 + i * 128);
        shadow.extend_from_slice(bytes);
    }
    shadow.extend_from_slice(&[OUTSIDE; MARGIN]);
    (base, shadow)
}

/// `BUG: KASAN: <type> in <symbol>` and `... by task <comm>/<pid>` of the golden: the caller
/// (not computed by KASAN, only echoed).
fn caller_of(golden: &str) -> (String, String, i32) {
    let mut lines = golden.lines().skip(1);
    let title = lines.next().unwrap();
    let symbol = title.rsplit(" in ").next().unwrap().to_string();
    let access = lines.next().unwrap();
    let task = access.rsplit(" by task ").next().unwrap();
    let (comm, pid) = task.rsplit_once('/').unwrap();
    (symbol, comm.to_string(), pid.parse().unwrap())
}

struct Case {
    name: &'static str,
    golden: &'static str,
    report_type: ReportType,
    addr: usize,
    size: usize,
    is_write: bool,
    object: Option<(usize, &'static str, u32)>,
    bug_type: BugType,
}

fn render(case: &Case, arena: &Arena<'_>) -> (String, ReportInfo<'static>) {
    let object = case
        .object
        .map(|(object, cache_name, object_size)| SlabObject {
            object,
            cache_name,
            object_size,
        });
    // SAFETY: the arena holds the shadow of every row the report reads.
    let info = unsafe {
        complete_report_info(
            arena,
            case.report_type,
            case.addr,
            case.size,
            case.is_write,
            object,
            &LAYOUT,
        )
    };
    let (symbol, comm, pid) = caller_of(case.golden);
    let caller = ReportCaller {
        symbol: &symbol,
        comm: &comm,
        pid,
    };
    let mut env = GoldenEnv {
        golden: case.golden,
    };
    let mut out = String::new();
    start_report(&mut out).unwrap();
    // SAFETY: as above.
    unsafe { print_report(&mut out, arena, &mut env, &info, &caller) }.unwrap();
    end_report(&mut out).unwrap();
    (out, info)
}

fn assert_same(name: &str, got: &str, want: &str) {
    if got != want {
        for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
            if g != w {
                panic!("{name}: line {} differs:\n got: {g:?}\nwant: {w:?}", i + 1);
            }
        }
        panic!("{name}: reports differ in length:\n{got}\n----\n{want}");
    }
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "kmalloc_oob_right",
            golden: include_str!("golden/kmalloc_oob_right.txt"),
            report_type: ReportType::Access,
            addr: 0x61db2073,
            size: 1,
            is_write: true,
            object: Some((0x61db2000, "kmalloc-128", 128)),
            bug_type: BugType::SlabOutOfBounds,
        },
        Case {
            name: "kmalloc_oob_left",
            golden: include_str!("golden/kmalloc_oob_left.txt"),
            report_type: ReportType::Access,
            addr: 0x61d7f19f,
            size: 1,
            is_write: false,
            object: Some((0x61d7f180, "kmalloc-16", 16)),
            bug_type: BugType::SlabOutOfBounds,
        },
        Case {
            name: "kmalloc_uaf",
            golden: include_str!("golden/kmalloc_uaf.txt"),
            report_type: ReportType::Access,
            addr: 0x61d7f108,
            size: 1,
            is_write: false,
            object: Some((0x61d7f100, "kmalloc-16", 16)),
            bug_type: BugType::SlabUseAfterFree,
        },
        Case {
            name: "kmalloc_double_kzfree",
            golden: include_str!("golden/kmalloc_double_kzfree.txt"),
            report_type: ReportType::DoubleFree,
            addr: 0x61d7f0e0,
            size: 0,
            is_write: false,
            object: Some((0x61d7f0e0, "kmalloc-16", 16)),
            bug_type: BugType::DoubleFree,
        },
        Case {
            name: "kmalloc_memmove_negative_size",
            golden: include_str!("golden/kmalloc_memmove_negative_size.txt"),
            report_type: ReportType::Access,
            addr: 0x61ebbe04,
            size: -2isize as usize,
            is_write: false,
            object: Some((0x61ebbe00, "kmalloc-64", 64)),
            bug_type: BugType::OutOfBounds,
        },
        Case {
            name: "kmem_cache_invalid_free",
            golden: include_str!("golden/kmem_cache_invalid_free.txt"),
            report_type: ReportType::InvalidFree,
            addr: 0x61f40c61,
            size: 0,
            is_write: false,
            object: Some((0x61f40c60, "test_cache", 200)),
            bug_type: BugType::InvalidFree,
        },
        Case {
            name: "page_alloc_uaf",
            golden: include_str!("golden/page_alloc_uaf.txt"),
            report_type: ReportType::Access,
            addr: 0x61eb0000,
            size: 1,
            is_write: false,
            object: None,
            bug_type: BugType::UseAfterFree,
        },
        Case {
            name: "kasan_global_oob_right",
            golden: include_str!("golden/kasan_global_oob_right.txt"),
            report_type: ReportType::Access,
            addr: 0x60e6582d,
            size: 1,
            is_write: false,
            object: None,
            bug_type: BugType::GlobalOutOfBounds,
        },
        Case {
            name: "vmalloc_oob",
            golden: include_str!("golden/vmalloc_oob.txt"),
            report_type: ReportType::Access,
            addr: 0xa08057f3,
            size: 1,
            is_write: false,
            object: None,
            bug_type: BugType::VmallocOutOfBounds,
        },
    ]
}

#[test]
fn golden_reports_are_byte_identical() {
    for case in cases() {
        let (base, mut shadow) = shadow_from_golden(case.golden);
        let arena = Arena::new(base, &mut shadow).unwrap();
        let (got, info) = render(&case, &arena);
        assert_eq!(info.bug_type, case.bug_type, "{}", case.name);
        assert_same(case.name, &got, case.golden);
    }
}

/// The free reports: the report type itself comes from the shadow (`check_slab_allocation()`).
#[test]
fn golden_free_report_types() {
    for case in cases() {
        if case.report_type == ReportType::Access {
            continue;
        }
        let (base, mut shadow) = shadow_from_golden(case.golden);
        let arena = Arena::new(base, &mut shadow).unwrap();
        let object = case.object.unwrap().0;
        // SAFETY: the freed address is inside the arena.
        let got = unsafe { invalid_free_type(&arena, case.addr, object) };
        assert_eq!(got, Some(case.report_type), "{}", case.name);
    }
}

/// kmalloc_oob_right with the shadow built the way the allocator does it, not copied from the
/// golden text: a `kmalloc(115)` in a kmalloc-128 slab surrounded by redzones.
#[test]
fn kmalloc_oob_right_from_allocator_shadow() {
    let base = 0x61db1000;
    let mut shadow = vec![0u8; 0x2000 / KASAN_GRANULE_SIZE];
    let arena = Arena::new(base, &mut shadow).unwrap();
    // SAFETY: all ranges are inside the arena.
    unsafe {
        poison(&arena, 0x61db1f00, 0x200, KASAN_SLAB_REDZONE).unwrap();
        unpoison(&arena, 0x61db2000, 115).unwrap();
        unpoison(&arena, 0x61db2100, 128).unwrap();
    }
    let case = cases().into_iter().next().unwrap();
    let (got, info) = render(&case, &arena);
    assert_eq!(info.first_bad_addr, 0x61db2073);
    assert_eq!(info.alloc_size, 115);
    assert_same(case.name, &got, case.golden);

    // The second report of the same test: 5 bytes further, same object.
    let mut second = case;
    second.addr = 0x61db2078;
    let (got, _) = render(&second, &arena);
    assert!(got.contains("The buggy address is located 5 bytes to the right of\n"));
    assert!(got.contains(&format!(">0000000061db2000: {}03 fc\n", "00 ".repeat(14))));
    assert!(got.contains(&format!("\n{}^\n", " ".repeat(64))));
}

/// A [`ReportEnv`] that prints placeholders for the kernel's own printers.
struct Env;

impl ReportEnv for Env {
    fn dump_stack<W: Write>(&mut self, w: &mut W) -> fmt::Result {
        writeln!(w, "<stack>")
    }
    fn stack_depot_print<W: Write>(&mut self, w: &mut W, handle: u32) -> fmt::Result {
        writeln!(w, " <depot {handle:#x}>")
    }
    fn describe_address<W: Write>(&mut self, w: &mut W, _addr: usize) -> fmt::Result {
        writeln!(w, "<page>")?;
        writeln!(w)
    }
}

/// The variants the baseline never shows: no shadow at all, zero-sized accesses, stacks.
#[test]
fn report_variants() {
    let mut shadow = vec![KASAN_SLAB_REDZONE; 128];
    let arena = Arena::new(0x1_0000, &mut shadow).unwrap();
    let caller = ReportCaller {
        symbol: &"f+0x1/0x2",
        comm: "t",
        pid: 7,
    };
    let report = |info: &ReportInfo<'_>| {
        let mut out = String::new();
        // SAFETY: the rows around the bad address are inside the arena.
        unsafe { print_report(&mut out, &arena, &mut Env, info, &caller) }.unwrap();
        out
    };

    // A NULL dereference: no shadow, so no description and no dump.
    // SAFETY: address 0x10 has no shadow; nothing is read.
    let info =
        unsafe { complete_report_info(&arena, ReportType::Access, 0x10, 8, true, None, &LAYOUT) };
    assert_eq!(
        report(&info),
        "BUG: KASAN: null-ptr-deref in f+0x1/0x2\n\
         Write of size 8 at addr 0000000000000010 by task t/7\n\
         \n\
         <stack>\n"
    );

    // A zero-sized access (only reachable through kasan_report() directly), with stacks.
    // SAFETY: the access is inside the arena.
    let mut info = unsafe {
        complete_report_info(
            &arena,
            ReportType::Access,
            0x1_0140,
            0,
            false,
            Some(SlabObject {
                object: 0x1_0100,
                cache_name: "c",
                object_size: 32,
            }),
            &LAYOUT,
        )
    };
    info.alloc_track.pid = 1;
    info.alloc_track.stack = 0xa;
    info.free_track.pid = 2;
    info.free_track.stack = 0;
    info.aux_stack = [0xb, 0];
    let out = report(&info);
    let want_head = "BUG: KASAN: slab-out-of-bounds in f+0x1/0x2\n\
         Read at addr 0000000000010140 by task t/7\n\
         \n\
         <stack>\n\
         \n\
         Allocated by task 1:\n \
         <depot 0xa>\n\
         \n\
         Last potentially related work creation:\n \
         <depot 0xb>\n\
         \n\
         The buggy address belongs to the object at 0000000000010100\n \
         which belongs to the cache c of size 32\n\
         The buggy address is located 32 bytes to the right of\n \
         allocated 32-byte region [0000000000010100, 0000000000010120)\n\
         \n\
         <page>\n\
         \n\
         Memory state around the buggy address:\n";
    assert!(out.starts_with(want_head), "{out}");

    // A track without a stack prints "(stack is not available)"; an access left of the object.
    info.free_track.stack = 0;
    let mut out = String::new();
    rkasan::report::print_track(&mut out, &mut Env, &info.free_track, "Freed").unwrap();
    assert_eq!(out, "Freed by task 2:\n(stack is not available)\n");
    let mut out = String::new();
    rkasan::report::describe_object_addr(
        &mut out,
        0x1_00f8,
        &info.object.unwrap(),
        32,
        BugType::SlabUseAfterFree,
    )
    .unwrap();
    assert!(out.ends_with(
        "located 8 bytes to the left of\n freed 32-byte region [0000000000010100, 0000000000010120)\n"
    ));
}

/// A write after free found by `kasan.free_check`: the header and access line syzkaller reads
/// (`BUG: KASAN: slab-use-after-free in <function>`, `Write of size N at addr X`), the finding,
/// then the object's description as for any report.
#[test]
fn write_after_free_report() {
    use rkasan::free_check::{Changed, Finding, FINDING_BYTES};
    use rkasan::shadow::{KASAN_SLAB_FREE, KASAN_SLAB_FREE_META};
    // A freed 128-byte object at 0x1_0100, its free meta at its start.
    let mut shadow = vec![KASAN_SLAB_REDZONE; 128];
    shadow[0x20] = KASAN_SLAB_FREE_META;
    for s in &mut shadow[0x21..0x30] {
        *s = KASAN_SLAB_FREE;
    }
    let arena = Arena::new(0x1_0000, &mut shadow).unwrap();
    let object = SlabObject {
        object: 0x1_0100,
        cache_name: "c",
        object_size: 128,
    };
    // SAFETY: the object and its rows are inside the arena.
    let mut info = unsafe {
        complete_report_info(
            &arena,
            ReportType::WriteAfterFree,
            0x1_0128,
            5,
            true,
            Some(object),
            &LAYOUT,
        )
    };
    info.alloc_track = rkasan::report::Track {
        pid: 1,
        stack: 0xa,
        extra: None,
    };
    info.free_track = rkasan::report::Track {
        pid: 2,
        stack: 0xf,
        extra: None,
    };
    let mut found = [0; FINDING_BYTES];
    found[..5].copy_from_slice(&[0, 0, 0, 0, 0]);
    let finding = Finding {
        offset: 40,
        changed: Changed {
            first: 24,
            last: 28,
            count: 5,
        },
        found,
    };
    let caller = ReportCaller {
        symbol: &"foo_release+0x12/0x40",
        comm: "kworker/0:1",
        pid: 9,
    };
    let mut out = String::new();
    // SAFETY: as above.
    unsafe {
        rkasan::report::print_write_after_free_report(
            &mut out, &arena, &mut Env, &info, &caller, &finding,
        )
    }
    .unwrap();
    let want_head = "BUG: KASAN: slab-use-after-free in foo_release+0x12/0x40\n\
         Write of size 5 at addr 0000000000010128 after free, found by task kworker/0:1/9 \
         as the object left the quarantine\n\
         kasan.free_check: bytes 40-44 of the object changed after the free (5 of 5 bytes are \
         not the pattern 0xfb); found:\n \
         00 00 00 00 00\n\
         \n\
         <stack>\n\
         \n\
         Allocated by task 1:\n \
         <depot 0xa>\n\
         \n\
         Freed by task 2:\n \
         <depot 0xf>\n\
         \n\
         The buggy address belongs to the object at 0000000000010100\n \
         which belongs to the cache c of size 128\n\
         The buggy address is located 40 bytes inside of\n \
         freed 128-byte region [0000000000010100, 0000000000010180)\n";
    assert!(out.starts_with(want_head), "{out}");
    // The shadow dump points at the first changed byte's granule.
    assert!(
        out.contains("Memory state around the buggy address:\n"),
        "{out}"
    );
}
