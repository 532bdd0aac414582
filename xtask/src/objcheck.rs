// SPDX-License-Identifier: GPL-2.0

//! The object-code gates on a built kernel: objtool's warnings about the KASAN runtime, the
//! symbols the Rust runtime object may reference, that every function of it is reached from
//! another object, and how its entries must jump. Apart from kunit.rs, which runs them after
//! its builds (bench runs the object gate too): they read machine code, not test results.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use crate::toolchain::LLVM_BIN;
use crate::util::{self, bail, Context, Result};

/// The objtool warnings of a build log about the KASAN runtime (either one): x86_64's objtool
/// checks every object and vmlinux.o, and a warning there (a call with UACCESS enabled, a
/// missing return thunk or ENDBR) is a bug of the runtime, however the build ends.
pub fn objtool_warnings(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("objtool:") && l.contains("warning"))
        .filter(|l| {
            ["rkasan", "kasan_", "__asan_"]
                .iter()
                .any(|k| l.contains(k))
        })
        .map(|l| l.trim().to_string())
        .collect()
}

/// The Rust runtime object, which runs uninstrumented on every checked access.
const RUNTIME_OBJECT: &str = "mm/kasan/rkasan.o";

/// Substrings of undefined symbols the runtime object must not reference: a panic path, the
/// host gate's list (rkasan/tests/no_panic.rs: `core::panicking::*`, `unwrap_failed`,
/// `expect_failed`, `slice_*_fail`, `panic_already_borrowed`; the kernel builds Rust with
/// overflow checks on), a call back into KASAN's instrumentation, or a Rust helper from
/// rust/helpers (those are instrumented).
const FORBIDDEN_SYMBOLS: &[&str] = &[
    "panic",
    "fail",
    "unwrap",
    "expect",
    "__asan_",
    "__hwasan_",
    "rust_helper_",
];

/// Kernel symbols the runtime object may reference although their names contain a
/// [`FORBIDDEN_SYMBOLS`] substring: exact names, each one checked to be no panic path.
const ALLOWED_SYMBOLS: &[&str] = &[];

/// The kernel's instrumented string functions: under KASAN, `memcpy()`, `memset()` and
/// `memmove()` check their range before they copy (mm/kasan/shadow.c), so the runtime may call
/// them only while it reports (the report path formats and copies, with reports of the current
/// task suppressed). Their `__`-prefixed twins are the architecture's uninstrumented versions,
/// which the poisoning paths use on the shadow as generic.c does.
const MEM_FUNCTIONS: &[&str] = &["memcpy", "memset", "memmove"];

/// Substrings naming the functions of the report path (mangled or not), the only ones that may
/// call [`MEM_FUNCTIONS`]: `rkasan_report` (kernel_report.rs) and the core's `report` module,
/// `rkasan_bug_type` (kernel_kunit.rs), the tag modes' `rkasan_tags_*` report details and
/// `rkasan_tags_common_bug_type` / `rkasan_stack_ring_find` (kernel_tag_report.rs and
/// kernel_stack_ring.rs), and
/// `kasan_non_canonical_hook` (kernel_report.rs), which runs only on the oops path, as C's
/// `pr_alert()` there does.
const REPORT_PATH: &[&str] = &[
    "report",
    "bug_type",
    "rkasan_tags_",
    "stack_ring_find",
    "non_canonical_hook",
];

/// Returns the forbidden symbols among `nm -u` output lines.
pub fn forbidden_symbols(nm_undefined: &str) -> Vec<String> {
    nm_undefined
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|sym| FORBIDDEN_SYMBOLS.iter().any(|f| sym.contains(f)))
        .filter(|sym| !ALLOWED_SYMBOLS.contains(sym))
        .map(str::to_string)
        .collect()
}

/// The function an `llvm-objdump -d` line `0000000000002c40 <name>:` starts, if it is one.
fn function_label(line: &str) -> Option<&str> {
    line.trim_end()
        .strip_suffix(">:")
        .and_then(|l| l.split_once(" <"))
        .map(|(_, n)| n)
}

/// The functions of an `llvm-objdump -d -r` listing that reference one of [`MEM_FUNCTIONS`]
/// (a call or a jump relocated to it), with the function referenced.
pub fn mem_callers(disasm: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut current: Option<&str> = None;
    for line in disasm.lines() {
        if let Some(name) = function_label(line) {
            current = Some(name);
            continue;
        }
        // `\t\t00000000000029c6:  R_X86_64_PLT32\tmemcpy-0x4`, `R_AARCH64_CALL26\tmemset`.
        let Some((kind, target)) = line
            .trim()
            .split_once(|c: char| c.is_whitespace())
            .and_then(|(_, rest)| rest.trim().split_once(|c: char| c.is_whitespace()))
        else {
            continue;
        };
        if !kind.starts_with("R_") {
            continue;
        }
        let symbol = target.trim().split(['+', '-']).next().unwrap_or("");
        if let (Some(f), true) = (current, MEM_FUNCTIONS.contains(&symbol)) {
            let pair = (f.to_string(), symbol.to_string());
            if !out.contains(&pair) {
                out.push(pair);
            }
        }
    }
    out
}

/// The gate on the runtime's calls of the kernel's instrumented `memcpy()`/`memset()`: only
/// functions of the report path ([`REPORT_PATH`]) make them. Returns those functions, or the
/// first that is not on the report path.
pub fn check_mem_callers(disasm: &str) -> std::result::Result<Vec<String>, String> {
    let mut allowed = Vec::new();
    for (f, mem) in mem_callers(disasm) {
        if !REPORT_PATH.iter().any(|r| f.contains(r)) {
            return Err(format!(
                "{f} calls the instrumented {mem}(), which only the report path may (an \
                 instrumented call from the check path recurses into KASAN)"
            ));
        }
        if !allowed.contains(&f) {
            allowed.push(f);
        }
    }
    Ok(allowed)
}

/// The gate on the built runtime object: `nm -u` lists none of [`FORBIDDEN_SYMBOLS`].
pub(crate) fn check_runtime_object(build: &Path) -> Result<()> {
    let obj = build.join(RUNTIME_OBJECT);
    let out = Command::new(Path::new(LLVM_BIN).join("llvm-nm"))
        .arg("-u")
        .arg(&obj)
        .output()
        .context(format!("cannot run llvm-nm on {}", obj.display()))?;
    if !out.status.success() {
        bail!(
            "llvm-nm -u {} failed: {}",
            obj.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let bad = forbidden_symbols(&String::from_utf8_lossy(&out.stdout));
    if !bad.is_empty() {
        bail!(
            "{} references symbols the runtime must not use: {}",
            obj.display(),
            bad.join(", ")
        );
    }
    eprintln!(
        "    nm -u {RUNTIME_OBJECT}: no symbol containing {}",
        FORBIDDEN_SYMBOLS.join(", ")
    );
    let disasm = util::capture(
        Command::new(Path::new(LLVM_BIN).join("llvm-objdump"))
            .args(["-d", "-r", "--no-show-raw-insn"])
            .arg(&obj),
    )?;
    match check_mem_callers(&disasm) {
        Ok(callers) => eprintln!(
            "    objdump {RUNTIME_OBJECT}: memcpy/memset called only on the report path ({})",
            if callers.is_empty() {
                "by none".to_string()
            } else {
                callers.join(", ")
            }
        ),
        Err(e) => bail!("{}: {e}", obj.display()),
    }
    let relocs = util::capture(
        Command::new(Path::new(LLVM_BIN).join("llvm-objdump"))
            .arg("-r")
            .arg(&obj),
    )?;
    let unreached = unreached_functions(&disasm, &relocs, &referenced_symbols(build)?);
    if let Some(first) = unreached.first() {
        bail!(
            "{}: {} function(s) that no other object and no data of it reaches, compiled in \
             for nothing; first: {first}",
            obj.display(),
            unreached.len()
        );
    }
    eprintln!(
        "    objdump {RUNTIME_OBJECT}: every function reached from a symbol another object \
         references"
    );
    match check_entry_tail_calls(&disasm) {
        Ok(0) => {}
        Ok(n) => eprintln!(
            "    objdump {RUNTIME_OBJECT}: {n} __asan_load/store entries and granule checks, each \
             frameless, reaching the _RET_IP_ taker by jumps only"
        ),
        Err(e) => bail!("{}: {e}", obj.display()),
    }
    Ok(())
}

/// The `(kind, size)` pairs of the entries the Rust runtime defines itself when
/// `kasan_enabled()` is constant true: `__asan_<kind><size>` and its `_noabort` twin.
const RUST_ENTRIES: [(&str, u32); 10] = [
    ("load", 1),
    ("load", 2),
    ("load", 4),
    ("load", 8),
    ("load", 16),
    ("store", 1),
    ("store", 2),
    ("store", 4),
    ("store", 8),
    ("store", 16),
];

/// The gate on the Rust `__asan_load<N>()` / `__asan_store<N>()` entries in `llvm-objdump -d -r`
/// output of the runtime object. An entry's fast path hands a partial granule to
/// `rkasan_<kind><N>_granule` and anything else to C's `rkasan_<kind><N>_caller`, as the granule
/// step does what it cannot settle; the `_RET_IP_` of the C function must be the instrumented
/// caller a report names. So each entry and each granule function must leave the stack alone
/// (no call, push or `%rsp` operand) and reach the next steps only by jumps. LLVM folds an entry and its identical `_noabort` twin into one body
/// under one of the two names, so each pair needs one. Returns how many bodies were checked: 0
/// when the object defines no entry (C entries under ARCH_DEFER_KASAN, or the tag modes).
pub fn check_entry_tail_calls(disasm: &str) -> std::result::Result<usize, String> {
    // The function a body belongs to: its (kind, size), and whether it is the granule step.
    let role_of = |name: &str| {
        RUST_ENTRIES.iter().copied().find_map(|(kind, size)| {
            let entry = format!("__asan_{kind}{size}");
            if name == entry || name.strip_prefix(&entry) == Some("_noabort") {
                Some((kind, size, false))
            } else if name == format!("rkasan_{kind}{size}_granule") {
                Some((kind, size, true))
            } else {
                None
            }
        })
    };
    let mut bodies: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in disasm.lines() {
        if let Some(name) = function_label(line) {
            current = role_of(name).map(|_| name.to_string());
            if let Some(n) = &current {
                bodies.insert(n.clone(), Vec::new());
            }
        } else if let Some(body) = current.as_ref().and_then(|n| bodies.get_mut(n)) {
            body.push(line);
        }
    }
    if bodies.is_empty() {
        return Ok(0);
    }
    for (kind, size) in RUST_ENTRIES {
        // A 16-byte access spans two granules at least: no partial-granule step exists.
        for granule in [false, true].into_iter().filter(|&g| !g || size != 16) {
            if !bodies
                .keys()
                .any(|n| role_of(n) == Some((kind, size, granule)))
            {
                let want = if granule {
                    format!("rkasan_{kind}{size}_granule")
                } else {
                    format!("__asan_{kind}{size}(_noabort)")
                };
                return Err(format!("defines Rust __asan_ entries but not {want}"));
            }
        }
    }
    for (name, body) in &bodies {
        let Some((kind, size, granule)) = role_of(name) else {
            continue;
        };
        let caller = format!("rkasan_{kind}{size}_caller");
        // The step each body must jump to, and every step it may reach.
        // A 16-byte access has no partial-granule step: its entry goes to C directly.
        let (next, steps) = if granule || size == 16 {
            (caller.clone(), vec![caller])
        } else {
            let granule = format!("rkasan_{kind}{size}_granule");
            (granule.clone(), vec![granule, caller])
        };
        let isa = Isa::of(disasm);
        let insns: Vec<(usize, &str)> = body
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.split('\t').nth(1).map(|insn| (i, insn)))
            .filter(|(_, insn)| !insn.is_empty())
            .collect();
        if let Some((_, bad)) = insns
            .iter()
            .find(|(i, insn)| isa.touches_the_frame(insn, body[*i]))
        {
            return Err(format!(
                "{name} is not frameless (`{bad}`): _RET_IP_ would not name its caller"
            ));
        }
        let reaches = |i: usize, step: &str| {
            body.get(i + 1)
                .is_some_and(|r| r.contains(isa.jump_relocation()) && r.contains(step))
        };
        // arm64 builds with frame pointers: a frame record is pushed and must be popped before
        // each jump to the next step, so that x30 and sp are the caller's again.
        if insns.iter().any(|&(i, _)| Isa::is_frame_push(body[i])) {
            for &(i, insn) in &insns {
                if !(isa.is_jump(insn) && steps.iter().any(|s| reaches(i, s))) {
                    continue;
                }
                let popped = insns
                    .iter()
                    .rev()
                    .filter(|&&(j, m)| j < i && m != "autiasp")
                    .map(|&(j, _)| body[j])
                    .next()
                    .is_some_and(Isa::is_frame_pop);
                if !popped {
                    return Err(format!(
                        "{name} jumps on with its frame record on the stack (`{insn}`): \
                         _RET_IP_ would not name its caller"
                    ));
                }
            }
        }
        if !insns
            .iter()
            .any(|&(i, insn)| isa.is_jump(insn) && reaches(i, &next))
        {
            return Err(format!("{name} does not jump to {next}"));
        }
        for step in &steps {
            if let Some((_, bad)) = insns
                .iter()
                .find(|&&(i, insn)| reaches(i, step) && !isa.is_jump(insn))
            {
                return Err(format!(
                    "{name} reaches {step} other than by a jump (`{bad}`)"
                ));
            }
        }
    }
    Ok(bodies.len())
}

/// The instruction set of an `llvm-objdump -d` listing, as the frameless-entry gate
/// ([`check_entry_tail_calls`]) reads it: `_RET_IP_` is the return address, on the stack on
/// x86_64 (UML included) and in x30 on arm64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    /// x86_64 (`file format elf64-x86-64`).
    X86_64,
    /// arm64 (`file format elf64-littleaarch64`).
    Arm64,
}

impl Isa {
    fn of(disasm: &str) -> Isa {
        if disasm.contains("elf64-littleaarch64") {
            Isa::Arm64
        } else {
            Isa::X86_64
        }
    }

    /// The operands of a disassembly line.
    fn operands(line: &str) -> &str {
        line.split('\t').nth(2).unwrap_or("").trim()
    }

    /// arm64's frame-record push, `stp x29, x30, [sp, #-0x10]!`.
    fn is_frame_push(line: &str) -> bool {
        line.split('\t').nth(1) == Some("stp") && Isa::operands(line) == "x29, x30, [sp, #-0x10]!"
    }

    /// arm64's frame-record pop, `ldp x29, x30, [sp], #0x10`.
    fn is_frame_pop(line: &str) -> bool {
        line.split('\t').nth(1) == Some("ldp") && Isa::operands(line) == "x29, x30, [sp], #0x10"
    }

    /// Whether the instruction with mnemonic `insn` (on the disassembly line `line`) calls,
    /// builds a frame or touches the return address: x86_64's `call`, `push` or a `%rsp`
    /// operand; arm64's `bl`/`blr` (which overwrite x30), or an `sp`, x29 or x30 operand other
    /// than the frame record's push, `mov x29, sp` and pop (whose placement
    /// [`check_entry_tail_calls`] checks).
    fn touches_the_frame(self, insn: &str, line: &str) -> bool {
        match self {
            Isa::X86_64 => {
                insn.starts_with("call") || insn.starts_with("push") || line.contains("%rsp")
            }
            Isa::Arm64 => {
                if Isa::is_frame_push(line)
                    || Isa::is_frame_pop(line)
                    || (insn == "mov" && Isa::operands(line) == "x29, sp")
                {
                    return false;
                }
                let operands = Isa::operands(line);
                matches!(insn, "bl" | "blr")
                    || operands
                        .split([' ', ',', '[', ']', '!', '#'])
                        .any(|t| matches!(t, "sp" | "x29" | "x30" | "w30"))
            }
        }
    }

    /// Whether the mnemonic `insn` is a jump (conditional or not) that leaves x30 alone.
    fn is_jump(self, insn: &str) -> bool {
        match self {
            Isa::X86_64 => insn.starts_with('j'),
            Isa::Arm64 => {
                matches!(insn, "b" | "br" | "cbz" | "cbnz" | "tbz" | "tbnz")
                    || insn.starts_with("b.")
            }
        }
    }

    /// The relocation of a jump to another function.
    fn jump_relocation(self) -> &'static str {
        match self {
            Isa::X86_64 => "R_X86_64_PLT32",
            Isa::Arm64 => "R_AARCH64_JUMP26",
        }
    }
}

/// The target of a relocation or of an `<sym+0x10>` operand: the symbol, without its addend.
fn symbol_of(token: &str) -> &str {
    let t = token.trim_start_matches('<').trim_end_matches('>');
    let end = t.find(['+', '-']).filter(|&i| i > 0).unwrap_or(t.len());
    &t[..end]
}

/// The code section and offset a section-relative relocation target (`.text+0x1a0`,
/// `.text.unlikely.-0x4`) points at, if it is one. An x86_64 PC-relative relocation
/// (`R_X86_64_PLT32`, `R_X86_64_PC32`) counts from the end of its 4-byte field, so its addend is
/// the target's offset less 4: `line`, the whole relocation line, says which it is.
fn text_offset<'a>(token: &'a str, line: &str) -> Option<(&'a str, u64)> {
    let t = token.trim_end_matches('>');
    let (section, sign, hex) = match (t.split_once("+0x"), t.split_once("-0x")) {
        (Some((s, h)), _) => (s, 1i64, h),
        (None, Some((s, h))) => (s, -1i64, h),
        (None, None) => (t, 1, "0"),
    };
    if !section.starts_with(".text") {
        return None;
    }
    let addend = sign.wrapping_mul(i64::from_str_radix(hex, 16).ok()?);
    let pc_relative = line.contains("R_X86_64_PLT32") || line.contains("R_X86_64_PC32");
    let off = if pc_relative {
        addend.wrapping_add(4)
    } else {
        addend
    };
    Some((section, u64::try_from(off).ok()?))
}

/// The functions of the runtime object that nothing can call, in the order of `disasm`.
///
/// `disasm` is its `llvm-objdump -d -r` listing, `relocs` its `llvm-objdump -r` listing (every
/// section) and `referenced` the symbols other objects of the build leave undefined (`nm -u`
/// of `vmlinux.a` and the modules). A function is reached from a referenced symbol, from a
/// relocation of a section other than code (a vtable, an export), and from every function it
/// reaches by a call, a jump or a relocation, whether it names the symbol or a `.text` offset.
/// With the crate's modules private, rustc emits only what its `#[no_mangle]` items reach, so
/// anything left is compiled in for nothing.
pub fn unreached_functions(
    disasm: &str,
    relocs: &str,
    referenced: &BTreeSet<String>,
) -> Vec<String> {
    // (section, start, name) of each function, and the targets each one names: cold code
    // has a section of its own (`.text.unlikely.`), whose offsets start at 0 again.
    let mut starts: Vec<(String, u64, String)> = Vec::new();
    let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut offsets: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut section = String::new();
    for line in disasm.lines() {
        if let Some(name) = line
            .strip_prefix("Disassembly of section ")
            .and_then(|l| l.strip_suffix(':'))
        {
            section = name.to_string();
            current = None;
            continue;
        }
        if let Some(name) = function_label(line) {
            let start = line
                .split_whitespace()
                .next()
                .and_then(|a| u64::from_str_radix(a, 16).ok())
                .unwrap_or(0);
            starts.push((section.clone(), start, name.to_string()));
            current = Some(name.to_string());
            continue;
        }
        let Some(func) = &current else { continue };
        let mut targets: Vec<&str> = Vec::new();
        if line.contains(" R_") {
            targets.extend(line.split_whitespace().last());
        } else {
            targets.extend(line.split_whitespace().filter(|w| w.starts_with('<')));
        }
        for t in targets {
            if let Some((sec, off)) = text_offset(t, line) {
                offsets
                    .entry(func.clone())
                    .or_default()
                    .push((sec.to_string(), off));
            } else {
                edges
                    .entry(func.clone())
                    .or_default()
                    .push(symbol_of(t).to_string());
            }
        }
    }
    let containing = |sec: &str, off: u64| {
        starts
            .iter()
            .rev()
            .find(|(s, start, _)| s == sec && *start <= off)
            .map(|(_, _, n)| n.clone())
    };
    let mut roots: Vec<String> = starts
        .iter()
        .filter(|(_, _, n)| referenced.contains(n))
        .map(|(_, _, n)| n.clone())
        .collect();
    let mut section = "";
    for line in relocs.lines() {
        if let Some(rest) = line.strip_prefix("RELOCATION RECORDS FOR [") {
            section = rest.trim_end_matches("]:");
            continue;
        }
        if section.starts_with(".text") || !line.contains("R_") {
            continue;
        }
        if let Some(t) = line.split_whitespace().last() {
            match text_offset(t, line) {
                Some((sec, off)) => roots.extend(containing(sec, off)),
                None => roots.push(symbol_of(t).to_string()),
            }
        }
    }
    let mut seen: BTreeSet<String> = BTreeSet::new();
    while let Some(f) = roots.pop() {
        if !seen.insert(f.clone()) {
            continue;
        }
        roots.extend(edges.get(&f).into_iter().flatten().cloned());
        roots.extend(
            offsets
                .get(&f)
                .into_iter()
                .flatten()
                .filter_map(|(sec, off)| containing(sec, *off)),
        );
    }
    starts
        .into_iter()
        .map(|(_, _, n)| n)
        .filter(|n| !seen.contains(n))
        .collect()
}

/// The names a C header declares as functions: each identifier right before a `(`.
/// Over-approximate (macros, casts), which only adds roots that name no function.
pub fn declared_functions(header: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in header.lines() {
        let mut rest = line;
        while let Some(i) = rest.find('(') {
            let ident: String = rest[..i]
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            if !ident.is_empty() {
                out.insert(ident);
            }
            rest = &rest[i + 1..];
        }
    }
    out
}

/// The symbols the runtime object must define for the rest of the build: those the other
/// objects reference (`nm -u` of `vmlinux.a`, a thin archive of every built-in object, and of
/// every module), and the functions `mm/kasan/rkasan.h` declares for C. A declared function
/// whose C caller the compiler folded away in this config (a CPU-offline query on a kernel
/// with one CPU) is still the C side's to call.
fn referenced_symbols(build: &Path) -> Result<BTreeSet<String>> {
    let mut files = vec![build.join("vmlinux.a")];
    let modules = util::capture(
        Command::new("find")
            .arg(build)
            .args(["-name", "*.ko", "-type", "f"]),
    )?;
    files.extend(modules.lines().map(|l| Path::new(l).to_path_buf()));
    let out = util::capture(
        Command::new(Path::new(LLVM_BIN).join("llvm-nm"))
            .args(["-u", "--no-sort"])
            .args(&files),
    )?;
    let mut symbols: BTreeSet<String> = out
        .lines()
        .filter(|l| !l.ends_with(':'))
        .filter_map(|l| l.split_whitespace().last())
        .map(str::to_string)
        .collect();
    // Kbuild links `source` in the build directory to the tree it builds.
    let header = build.join("source/mm/kasan/rkasan.h");
    symbols.extend(declared_functions(&util::read(&header)?));
    Ok(symbols)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_functions_of_a_header() {
        let h = "bool rkasan_quarantine_queue_peek(const struct q *q,\n\
                 \t\t\t\t  unsigned long *bytes);\n\
                 void rkasan_poison_last_granule(const void *addr, size_t size);\n\
                 extern unsigned long rkasan_meta_start;\n";
        let d = declared_functions(h);
        assert!(d.contains("rkasan_quarantine_queue_peek"));
        assert!(d.contains("rkasan_poison_last_granule"));
        assert!(!d.contains("rkasan_meta_start"));
    }

    #[test]
    fn unreached_functions_are_found() {
        let disasm = "\
Disassembly of section .text:

0000000000000000 <rkasan_entry>:
       0:      	call	0x10 <helper>
       5:      	jmp	0x0 <rkasan_entry+0x5>
		0000000000000006:  R_X86_64_PLT32	other_helper-0x4
0000000000000010 <helper>:
      10:      	jmp	0x24 <local+0x4>
      12:      	call	0x17 <helper+0x7>
		0000000000000013:  R_X86_64_PLT32	.text.unlikely.+0xc
0000000000000020 <local>:
      20:      	ret
0000000000000030 <other_helper>:
      30:      	ret
0000000000000040 <vtable_fn>:
      40:      	ret
0000000000000050 <dead>:
      50:      	call	0x20 <local>

Disassembly of section .text.unlikely.:

0000000000000000 <cold_report>:
       0:      	ret
0000000000000010 <cold_called>:
      10:      	ret
";
        let relocs = "\
RELOCATION RECORDS FOR [.text]:
OFFSET           TYPE                     VALUE
0000000000000006 R_X86_64_PLT32           other_helper-0x4

RELOCATION RECORDS FOR [.data.rel.ro]:
OFFSET           TYPE                     VALUE
0000000000000000 R_X86_64_64              .text+0x44
0000000000000008 R_X86_64_64              .text.unlikely.+0x0
";
        let referenced: BTreeSet<String> = ["rkasan_entry".to_string()].into();
        assert_eq!(unreached_functions(disasm, relocs, &referenced), ["dead"]);
        // Without the vtable, its function is unreached too (not the cold one at the same
        // offset of its own section); the cold function `helper` calls through a section-relative
        // PLT32 (addend 0xc: offset 0x10) is reached; without the entry's caller, only those in
        // data are.
        let no_data = relocs.replace(".text+0x44", "somewhere_else");
        assert_eq!(
            unreached_functions(disasm, &no_data, &referenced),
            ["vtable_fn", "dead"]
        );
        let no_cold = relocs.replace(".text.unlikely.+0x0", "somewhere_else");
        assert_eq!(
            unreached_functions(disasm, &no_cold, &referenced),
            ["dead", "cold_report"]
        );
        assert_eq!(
            unreached_functions(disasm, relocs, &BTreeSet::new()).len(),
            6
        );
    }

    #[test]
    fn objtool_warnings_about_the_runtime() {
        let log = "\
vmlinux.o: warning: objtool: __asan_load1_noabort+0x8: call to rkasan_load1_caller() with UACCESS enabled
lib/maple_tree.c:3514:20: warning: stack frame size (2584) exceeds limit (2048)
vmlinux.o: warning: objtool: do_foo+0x12: unreachable instruction
vmlinux.o: warning: objtool: kasan_check_range+0x4: call to rkasan_check_range() with UACCESS enabled
";
        assert_eq!(
            objtool_warnings(log),
            [
                "vmlinux.o: warning: objtool: __asan_load1_noabort+0x8: call to \
                 rkasan_load1_caller() with UACCESS enabled",
                "vmlinux.o: warning: objtool: kasan_check_range+0x4: call to rkasan_check_range() \
                 with UACCESS enabled"
            ]
        );
        assert!(objtool_warnings("  CC mm/kasan/rkasan_entry.o\n").is_empty());
    }

    /// `llvm-objdump -d -r --no-show-raw-insn` of one Rust entry, as rustc builds it for UML.
    fn entry_disasm(name: &str, caller: &str, body: &str) -> String {
        format!(
            "\n00000000000029c0 <{name}>:\n{}    29ef:      \tretq\n",
            body.replace("CALLER", caller)
        )
    }

    const TAIL_CALLS: &str = "    29c0:      \tcmpq\t$-0x9, %rdi\n\
    29c4:      \tja\t0x29ca <x+0xa>\n\
\t\t00000000000029c6:  R_X86_64_PLT32\tCALLER-0x4\n\
    29e5:      \tcmpb\t$0x0, (%rax,%rcx)\n\
    29e9:      \tjne\t0x29ef <x+0x2f>\n\
\t\t00000000000029eb:  R_X86_64_PLT32\tCALLER-0x4\n";

    fn all_entries(body_of: impl Fn(&str, u32) -> String) -> String {
        all_entries_with("elf64-x86-64", TAIL_CALLS, body_of)
    }

    /// Every entry and granule step, in a listing of `format`, the granule steps' body
    /// `granule`.
    fn all_entries_with(
        format: &str,
        granule: &str,
        body_of: impl Fn(&str, u32) -> String,
    ) -> String {
        let mut out = format!("rkasan.o:\tfile format {format}\n");
        for (kind, size) in RUST_ENTRIES {
            let next = if size == 16 { "caller" } else { "granule" };
            out += &entry_disasm(
                &format!("__asan_{kind}{size}_noabort"),
                &format!("rkasan_{kind}{size}_{next}"),
                &body_of(kind, size),
            );
            if size != 16 {
                out += &entry_disasm(
                    &format!("rkasan_{kind}{size}_granule"),
                    &format!("rkasan_{kind}{size}_caller"),
                    granule,
                );
            }
        }
        out
    }

    #[test]
    fn entry_tail_calls() {
        let good = all_entries(|_, _| TAIL_CALLS.to_string());
        assert_eq!(check_entry_tail_calls(&good), Ok(18));
        assert_eq!(check_entry_tail_calls("rkasan.o: file format\n"), Ok(0));

        let called = all_entries(|kind, size| {
            if (kind, size) == ("store", 8) {
                TAIL_CALLS.replacen("ja\t", "callq\t", 1)
            } else {
                TAIL_CALLS.to_string()
            }
        });
        let err = check_entry_tail_calls(&called).unwrap_err();
        assert!(
            err.contains("__asan_store8_noabort is not frameless"),
            "{err}"
        );

        let framed = all_entries(|_, _| format!("    29bf:      \tpushq\t%rbx\n{TAIL_CALLS}"));
        assert!(check_entry_tail_calls(&framed)
            .unwrap_err()
            .contains("not frameless"));

        let wrong = all_entries(|kind, size| {
            if (kind, size) == ("load", 2) {
                TAIL_CALLS.replace("CALLER", "rkasan_load4_granule")
            } else {
                TAIL_CALLS.to_string()
            }
        });
        assert_eq!(
            check_entry_tail_calls(&wrong),
            Err("__asan_load2_noabort does not jump to rkasan_load2_granule".to_string())
        );

        let missing = good.replace("<__asan_load16_noabort>", "<other>");
        assert!(check_entry_tail_calls(&missing)
            .unwrap_err()
            .contains("not __asan_load16"));
        let missing = good.replace("<rkasan_store2_granule>", "<other>");
        assert!(check_entry_tail_calls(&missing)
            .unwrap_err()
            .contains("not rkasan_store2_granule"));
    }

    /// The same gate on arm64's disassembly: the return address is in x30, jumps are `b`,
    /// `b.<cond>`, `cbz`..., relocated with `R_AARCH64_JUMP26`.
    #[test]
    fn entry_tail_calls_on_arm64() {
        const ARM64_TAIL_CALLS: &str = "      0: \tbti\tc\n\
      4: \tcmn\tx0, #0x10\n\
      8: \tb.hi\t0x8 <x+0x8>\n\
\t\t0000000000000008:  R_AARCH64_JUMP26\tCALLER\n\
      c: \tldrsb\tw9, [x8, x9]\n\
     10: \tcbnz\tw9, 0x10 <x+0x10>\n\
\t\t0000000000000010:  R_AARCH64_JUMP26\tCALLER\n";
        let arm64 =
            |body: &str| all_entries_with("elf64-littleaarch64", body, |_, _| body.to_string());
        assert_eq!(check_entry_tail_calls(&arm64(ARM64_TAIL_CALLS)), Ok(18));
        // A call overwrites x30, and so does a move into it; a frame record pushed and never
        // popped leaves the caller's x30 on the stack.
        for (bad, why) in [
            (ARM64_TAIL_CALLS.replacen("b.hi", "bl", 1), "not frameless"),
            (
                format!("     -4: \tmov\tx30, x1\n{ARM64_TAIL_CALLS}"),
                "not frameless",
            ),
            (
                format!("     -4: \tstp\tx29, x30, [sp, #-0x10]!\n{ARM64_TAIL_CALLS}"),
                "frame record on the stack",
            ),
        ] {
            let err = check_entry_tail_calls(&arm64(&bad)).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        // With frame pointers: the record is pushed, and popped before each jump.
        let framed = ARM64_TAIL_CALLS
            .replace(
                "4: \tcmn",
                "2: \tpaciasp\n3: \tstp\tx29, x30, [sp, #-0x10]!\n4: \tmov\tx29, sp\n4: \tcmn",
            )
            .replace(
                "8: \tb.hi",
                "6: \tldp\tx29, x30, [sp], #0x10\n7: \tautiasp\n8: \tb.hi",
            )
            .replace("10: \tcbnz", "e: \tldp\tx29, x30, [sp], #0x10\n10: \tcbnz");
        assert!(framed.contains("stp") && framed.matches("ldp").count() == 2);
        assert_eq!(check_entry_tail_calls(&arm64(&framed)), Ok(18));
        let unpopped = framed.replacen("e: \tldp\tx29, x30, [sp], #0x10\n", "", 1);
        assert!(check_entry_tail_calls(&arm64(&unpopped))
            .unwrap_err()
            .contains("frame record on the stack"));
        let x86_relocs = ARM64_TAIL_CALLS.replace("R_AARCH64_JUMP26", "R_X86_64_PLT32");
        assert!(check_entry_tail_calls(&arm64(&x86_relocs))
            .unwrap_err()
            .contains("does not jump to"));
    }

    #[test]
    fn runtime_object_gate() {
        let nm =
            "                 U __memset\n                 U kasan_report\n                 U \
                  _RNvNtNtCs2DxGA1hvVcO_4core9panicking11panic_const24panic_const_add_overflow\n\
                  U __asan_load8\n";
        assert_eq!(
            forbidden_symbols(nm),
            [
                "_RNvNtNtCs2DxGA1hvVcO_4core9panicking11panic_const24panic_const_add_overflow",
                "__asan_load8"
            ]
        );
        assert!(forbidden_symbols(
            "                 U __memset\n                 U kasan_report\n"
        )
        .is_empty());
        // The host gate's list: no panic path gets through.
        for sym in [
            "_RNvNtCs1_4core6option13unwrap_failed",
            "_RNvNtCs1_4core6option13expect_failed",
            "_RNvNtCs1_4core6result13unwrap_failed",
            "_RNvNtNtCs1_4core5slice5index24slice_end_index_len_fail",
            "_RNvNtCs1_4core4cell22panic_already_borrowed",
            "__hwasan_load4",
            "rust_helper_spin_lock",
        ] {
            assert_eq!(
                forbidden_symbols(&format!("                 U {sym}\n")),
                [sym],
                "{sym}"
            );
        }
    }

    /// `llvm-objdump -d -r` of two functions: `caller` relocating to `callee`, and another.
    fn disasm_calling(caller: &str, callee: &str) -> String {
        format!(
            "rkasan.o:\tfile format elf64-x86-64\n\n\
             0000000000001000 <{caller}>:\n\
             \x20   1000:      \tpushq\t%rbx\n\
             \x20   1001:      \tcallq\t0x1006 <{caller}+0x6>\n\
             \t\t0000000000001002:  R_X86_64_PLT32\t{callee}-0x4\n\
             \x20   1006:      \tretq\n\n\
             0000000000002000 <rkasan_poison>:\n\
             \x20   2000:      \tcallq\t0x2005 <rkasan_poison+0x5>\n\
             \t\t0000000000002001:  R_X86_64_PLT32\tkasan_poison_granule-0x4\n\
             \x20   2005:      \tretq\n"
        )
    }

    #[test]
    fn mem_functions_only_on_the_report_path() {
        // Allowed: the report and the bug type, the core's report module (mangled).
        for caller in [
            "rkasan_report",
            "rkasan_bug_type",
            "_RNvNtCs9_6rkasan6report12print_report",
            "rkasan_tags_print_tags",
            "kasan_non_canonical_hook",
        ] {
            for mem in MEM_FUNCTIONS {
                assert_eq!(
                    check_mem_callers(&disasm_calling(caller, mem)),
                    Ok(vec![caller.to_string()]),
                    "{caller} {mem}"
                );
            }
        }
        // Forbidden: the check path, poisoning, the quarantine.
        for caller in [
            "rkasan_check_range",
            "rkasan_unpoison",
            "_RNvNtCs9_6rkasan10quarantine3put",
            "rkasan_free_check_verify",
        ] {
            let err = check_mem_callers(&disasm_calling(caller, "memset")).unwrap_err();
            assert!(err.starts_with(&format!("{caller} calls the instrumented memset()")));
        }
        // arm64's relocation, and a call to something else.
        let arm = "0000000000000000 <rkasan_poison>:\n       0: \tbl\t0x0 <rkasan_poison>\n\
                   \t\t0000000000000000:  R_AARCH64_CALL26\tmemcpy\n";
        assert!(check_mem_callers(arm).is_err());
        assert_eq!(
            check_mem_callers(&disasm_calling("rkasan_check_range", "memcpy_inline")),
            Ok(vec![])
        );
        // The poisoning paths fill the shadow with the uninstrumented __memset(), as
        // generic.c does: no report path needed.
        assert_eq!(
            check_mem_callers(&disasm_calling("rkasan_poison", "__memset")),
            Ok(vec![])
        );
    }
}
