// SPDX-License-Identifier: GPL-2.0

//! The hot path of each outline check, C runtime next to Rust runtime: what `cargo xtask bench`
//! writes to `hotpath.md` beside its figures.
//!
//! For every `__asan_<kind><N>_noabort()` (the entries the compiler calls), the instructions a
//! good access to a zero-shadow address executes: from the entry, along the fall-through path,
//! through unconditional direct jumps into other functions (a C entry's tail call into Rust),
//! to the first `ret`. Besides the count, what decides the cost on the front end: the taken
//! jumps on the way and the 64-byte lines of code the path touches (each line is one more fetch
//! block on every access).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use xtask::toolchain;
use xtask::util::{self, Result};

/// One instruction of an `llvm-objdump -d --no-show-raw-insn` listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Insn {
    /// Its address.
    pub addr: u64,
    /// Mnemonic and operands, as objdump prints them.
    pub text: String,
}

impl Insn {
    fn mnemonic(&self) -> &str {
        self.text.split_whitespace().next().unwrap_or("")
    }
}

/// The instructions of `llvm-objdump -d --no-show-raw-insn --disassemble-symbols=<one>`.
pub fn parse_listing(listing: &str) -> Vec<Insn> {
    listing
        .lines()
        .filter_map(|l| {
            let (addr, rest) = l.split_once(':')?;
            let addr = u64::from_str_radix(addr.trim(), 16).ok()?;
            let text = rest.trim().replace('\t', " ");
            (!text.is_empty() && !text.starts_with('<')).then_some(Insn { addr, text })
        })
        .collect()
}

/// The fall-through path of a good access through one entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GoodPath {
    /// The instructions, in the order they run.
    pub insns: Vec<Insn>,
    /// Unconditional jumps taken on the way.
    pub jumps: usize,
    /// Distinct 64-byte lines of code the path touches.
    pub lines: usize,
}

/// The function an unconditional direct jump enters, from objdump's `jmp 0x... <name>` (none
/// for a jump inside a function, `<name+0x..>`, or an indirect one).
fn jump_target(insn: &Insn) -> Option<&str> {
    if insn.mnemonic() != "jmp" {
        return None;
    }
    let name = insn.text.split_once('<')?.1.strip_suffix('>')?;
    (!name.contains('+')).then_some(name)
}

/// Follows the good path from `entry`: `listing(name)` returns the instructions of one
/// function. Stops at the first `ret`, or after 64 instructions (an entry that never returns
/// is reported as such, not followed forever).
pub fn fast_path(entry: &str, listing: &dyn Fn(&str) -> Result<Vec<Insn>>) -> Result<GoodPath> {
    let mut path = GoodPath::default();
    let mut func = listing(entry)?;
    let mut i = 0;
    while let Some(insn) = func.get(i).cloned() {
        if path.insns.len() == 64 {
            break;
        }
        path.insns.push(insn.clone());
        if insn.mnemonic().starts_with("ret") {
            break;
        }
        if let Some(target) = jump_target(&insn) {
            path.jumps += 1;
            func = listing(target)?;
            i = 0;
            continue;
        }
        i += 1;
    }
    let mut lines: Vec<u64> = path.insns.iter().map(|i| i.addr / 64).collect();
    lines.sort_unstable();
    lines.dedup();
    path.lines = lines.len();
    Ok(path)
}

/// The entries compared, as the bench's access cases name them.
const ENTRIES: [(&str, u32); 10] = [
    ("load", 1),
    ("store", 1),
    ("load", 2),
    ("store", 2),
    ("load", 4),
    ("store", 4),
    ("load", 8),
    ("store", 8),
    ("load", 16),
    ("store", 16),
];

/// `hotpath.md`: a table of every entry's good path in both kernels, then the listings of the
/// 8-byte load.
pub fn report(
    c: &dyn Fn(&str) -> Result<Vec<Insn>>,
    rust: &dyn Fn(&str) -> Result<Vec<Insn>>,
) -> Result<String> {
    let mut md = String::from(
        "# Hot paths of the outline checks\n\n\
         The instructions a good access to a zero-shadow address runs in \
         `__asan_<kind><N>_noabort()`, from the entry to the first `ret` along the fall-through \
         path and through unconditional jumps into other functions; the taken jumps on the way; \
         the 64-byte lines of code touched (each one more fetch block per access).\n\n\
         | entry | C insns | C jumps | C lines | Rust insns | Rust jumps | Rust lines |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let mut listings = String::new();
    for (kind, size) in ENTRIES {
        let entry = format!("__asan_{kind}{size}_noabort");
        let (pc, pr) = (fast_path(&entry, c)?, fast_path(&entry, rust)?);
        let _ = writeln!(
            md,
            "| {entry} | {} | {} | {} | {} | {} | {} |",
            pc.insns.len(),
            pc.jumps,
            pc.lines,
            pr.insns.len(),
            pr.jumps,
            pr.lines
        );
        if (kind, size) == ("load", 8) {
            for (who, p) in [("C", &pc), ("Rust", &pr)] {
                let _ = writeln!(listings, "\n{who} runtime, `{entry}`:\n\n```");
                for insn in &p.insns {
                    let _ = writeln!(listings, "{:x}  {}", insn.addr, insn.text);
                }
                listings.push_str("```\n");
            }
        }
    }
    md.push_str(&listings);
    Ok(md)
}

/// A lister of the functions of the kernel binary `bin`.
pub fn lister(bin: &Path) -> impl Fn(&str) -> Result<Vec<Insn>> + '_ {
    move |name: &str| {
        let out = util::capture(
            Command::new(Path::new(toolchain::LLVM_BIN).join("llvm-objdump"))
                .args(["-d", "--no-show-raw-insn"])
                .arg(format!("--disassemble-symbols={name}"))
                .arg(bin),
        )?;
        let insns = parse_listing(&out);
        if insns.is_empty() {
            util::bail!("{}: no function {name}", bin.display());
        }
        Ok(insns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C_LOAD8: &str = "
linux-c:\tfile format elf64-x86-64

Disassembly of section .text:

00000000602ef1c0 <__asan_load8_noabort>:
602ef1c0:      \tmovq\t(%rsp), %rcx
602ef1c4:      \tleaq\t0x8(%rdi), %rax
602ef1c8:      \tcmpq\t%rdi, %rax
602ef1cb:      \tjb\t0x602ef224 <__asan_load8_noabort+0x64>
602ef1ea:      \tmovsbl\t(%rdx,%rsi), %edx
602ef1ee:      \ttestl\t%edx, %edx
602ef1f0:      \tjne\t0x602ef21d <__asan_load8_noabort+0x5d>
602ef1f2:      \tretq
602ef1f3:      \tmovq\t%rdi, %rax
";

    const TRAMPOLINE: &str = "
0000000060034da0 <__asan_load8_noabort>:
60034da0:      \tmovq\t(%rsp), %rsi
60034da4:      \tjmp\t0x60032d30 <rkasan_load8>
60034da9:      \tnopl\t(%rax)
";

    const RUST_LOAD8: &str = "
0000000060032d30 <rkasan_load8>:
60032d30:      \tmovq\t%rsi, %rdx
60032d37:      \tja\t0x60032d58 <rkasan_load8+0x28>
60032d3e:      \tjne\t0x60032d58 <rkasan_load8+0x28>
60032d51:      \tcmpb\t$0x0, (%rax,%rcx)
60032d55:      \tjne\t0x60032d58 <rkasan_load8+0x28>
60032d57:      \tretq
60032d58:      \txorl\t%esi, %esi
";

    fn lister_of(
        pairs: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Result<Vec<Insn>> {
        move |name: &str| match pairs.iter().find(|(n, _)| *n == name) {
            Some((_, l)) => Ok(parse_listing(l)),
            None => Err(util::Error(format!("no {name}"))),
        }
    }

    #[test]
    fn parses_a_listing() {
        let insns = parse_listing(C_LOAD8);
        assert_eq!(insns.len(), 9);
        assert_eq!(insns[0].addr, 0x602e_f1c0);
        assert_eq!(insns[0].text, "movq (%rsp), %rcx");
        assert_eq!(insns[3].mnemonic(), "jb");
    }

    #[test]
    fn follows_the_good_path() {
        let c = lister_of(&[("__asan_load8_noabort", C_LOAD8)]);
        let p = fast_path("__asan_load8_noabort", &c).unwrap();
        assert_eq!(p.insns.len(), 8);
        assert_eq!(p.jumps, 0);
        assert_eq!(p.lines, 1);
        assert_eq!(p.insns.last().unwrap().text, "retq");

        let rust = lister_of(&[
            ("__asan_load8_noabort", TRAMPOLINE),
            ("rkasan_load8", RUST_LOAD8),
        ]);
        let p = fast_path("__asan_load8_noabort", &rust).unwrap();
        assert_eq!(p.insns.len(), 8);
        assert_eq!(p.jumps, 1);
        // The trampoline's line, then the two lines rkasan_load8 straddles.
        assert_eq!(p.lines, 3);

        let md = report(&c, &rust);
        assert!(
            md.is_err(),
            "only load8 is listed here: the table needs every entry"
        );
    }
}
