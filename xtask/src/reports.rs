// SPDX-License-Identifier: GPL-2.0

//! The KASAN reports of a console, masked, and the C-vs-Rust comparison of them.
//!
//! Both runtimes must say the same thing report for report: bug type, function, access,
//! object description and the shadow byte at the bad address, once addresses, pids, offsets
//! and stack frames are masked. The e2e scenarios compare whole consoles ([`report_lines`]);
//! the matrix compares the reports of every `kasan` case that passes with both runtimes
//! ([`compare_consoles`]).

/// `line` without its printk timestamp (`[    1.234567] `).
pub fn strip_time(line: &str) -> &str {
    let t = line.trim_start();
    if t.starts_with('[') {
        if let Some((stamp, rest)) = t.split_once("] ") {
            if stamp[1..]
                .trim()
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.')
            {
                return rest;
            }
        }
    }
    line
}

/// A stack frame line: `func+0x12/0x40`, possibly after `[<addr>]` and `?`, possibly with a
/// module name (not the `BUG: KASAN: ... in func+0x12/0x40` line, which names the same function
/// with both runtimes).
pub fn is_frame(line: &str) -> bool {
    let mut words = line
        .split_whitespace()
        .skip_while(|w| (w.starts_with("[<") && w.ends_with(">]")) || *w == "?");
    words
        .next()
        .is_some_and(|w| w.contains("+0x") && w.contains("/0x"))
}

/// The per-CPU tasks a softirq or an RCU callback runs on: the interrupted idle task, or the
/// CPU's softirq or RCU thread when the work was deferred. Which of them a report names is the
/// scheduler's choice, not the runtime's (`kasan.rcu_uaf` on x86_64-outline, 4 vCPUs, said
/// `swapper/1` with C and `ksoftirqd/1` with Rust in one run).
const SOFTIRQ_TASKS: [&str; 4] = ["swapper", "ksoftirqd", "rcuc", "rcuop"];

/// What [`mask`] writes for any of [`SOFTIRQ_TASKS`].
const SOFTIRQ_CONTEXT: &str = "(softirq)";

/// Masks what differs between boots and runtimes: hex numbers, long hex words (addresses),
/// pid and task numbers, the build number, which per-CPU task ran a softirq.
pub fn mask(line: &str) -> String {
    let mut out = String::new();
    let mut rest = strip_time(line);
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        if end == 0 {
            let n = rest.chars().next().map_or(1, char::len_utf8);
            out.push_str(&rest[..n]);
            rest = &rest[n..];
            continue;
        }
        let word = &rest[..end];
        rest = &rest[end..];
        let hex = word.len() >= 8 && word.chars().all(|c| c.is_ascii_hexdigit());
        // Pids ("PID: 31", "task 31", "by task insmod/31") and the build number ("#2").
        let id = word.chars().all(|c| c.is_ascii_digit())
            && (["PID: ", "pid ", "pid: ", "task ", "#"]
                .iter()
                .any(|ctx| out.ends_with(ctx))
                || (out.ends_with('/') && out.contains("task ")));
        if word.starts_with("0x") && word.len() > 2 {
            out.push_str("0x?");
        } else if out.ends_with("by task ") && SOFTIRQ_TASKS.contains(&word) {
            out.push_str(SOFTIRQ_CONTEXT);
        } else if hex || id {
            out.push('?');
        } else {
            out.push_str(word);
        }
    }
    out
}

/// The lines of a console the runtimes must agree on, masked: the KASAN reports without their
/// stack frames, the malformed-option warnings, the panic line, the general protection fault
/// line with the non-canonical hook's and the trigger's own lines. A
/// report's shadow dump depends on where the slab put the object (its neighbours differ from
/// boot to boot), so it is reduced to [`shadow_window`]. The call trace, up to its blank line,
/// is left out whole: the kernel's unwinder prints it for either runtime, and what it finds
/// below a syscall entry (an unreliable `? 0x...` frame or none, seen on x86_64) varies.
pub fn report_lines(console: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_report = false;
    let mut in_trace = false;
    let mut dump: Option<Vec<&str>> = None;
    for raw in console.lines() {
        let line = strip_time(raw);
        let t = line.trim();
        if is_interleaved(t) {
            continue;
        }
        if in_trace {
            // The trace ends at its blank line, or where the report goes on without one.
            const AFTER: [&str; 4] = [
                "Allocated by",
                "Freed by",
                "The buggy address",
                "Memory state",
            ];
            in_trace = !t.is_empty() && !AFTER.iter().any(|a| t.starts_with(a));
            if in_trace {
                continue;
            }
        }
        if in_report && t == "Call Trace:" {
            in_trace = true;
            out.push(t.to_string());
            continue;
        }
        let rule = t.len() >= 60 && t.chars().all(|c| c == '=');
        if rule {
            if let Some(rows) = dump.take() {
                out.push(shadow_window(&rows));
            }
            in_report = !in_report;
            out.push(t.to_string());
            continue;
        }
        if let Some(rows) = dump.as_mut() {
            rows.push(line.trim_end());
            continue;
        }
        // The oops of a bogus pointer's shadow check and `kasan_non_canonical_hook()`'s line
        // in it are printed outside the rules.
        let non_canonical = t.contains("general protection fault")
            || (t.starts_with("KASAN: ") && t.contains(" in range ["));
        let keep = in_report
            || non_canonical
            || t.contains("Malformed early option")
            || t.contains("Kernel panic - not syncing")
            || t.starts_with("rkasan_trigger: ");
        if keep && !is_frame(t) && !is_environment(t) {
            out.push(mask(t.trim_end()));
        }
        if in_report && t == "Memory state around the buggy address:" {
            dump = Some(Vec::new());
        }
    }
    if let Some(rows) = dump {
        out.push(shadow_window(&rows));
    }
    out
}

/// A line another CPU printed while a report was being printed: the timekeeping and stall
/// watchdogs of an SMP guest under TCG, whose vCPUs lag each other (seen on x86_64 with 2
/// vCPUs: `clocksource: Watchdog remote CPU 1 read timed out` in the middle of a C report).
/// The report lock serialises KASAN's reports, not the rest of printk.
pub fn is_interleaved(line: &str) -> bool {
    const PREFIXES: [&str; 6] = [
        "clocksource: ",
        "tsc: ",
        "rcu: ",
        "hrtimer: ",
        "watchdog: ",
        "workqueue: ",
    ];
    PREFIXES.iter().any(|p| line.starts_with(p))
}

/// A report line about where it happened rather than what: the CPU and task line (which CPU an
/// SMP kernel ran the access on), the machine, and the page dump (the `workingset` flag and the
/// counts depend on what the page was used for before; seen on x86_64 with 2 vCPUs).
pub fn is_environment(line: &str) -> bool {
    const PREFIXES: [&str; 8] = [
        "CPU: ",
        "Hardware name: ",
        "page: ",
        "flags: ",
        "raw: ",
        "head: ",
        "page_type: ",
        "memcg:",
    ];
    PREFIXES.iter().any(|p| line.starts_with(p))
}

/// The shadow bytes of a report's dump from two granules before the one the `^` points at to
/// one after it (`00 00 [fc] fc` for a one-byte overflow of a 16-byte object).
pub fn shadow_window(rows: &[&str]) -> String {
    let mut bytes: Vec<&str> = Vec::new();
    let mut at = None;
    let mut marked: Option<(usize, usize)> = None; // (index of the row's first byte, its column)
    for row in rows {
        if let Some(col) = row.find('^').filter(|_| row.trim() == "^") {
            if let Some((first, start)) = marked {
                // Each byte is two characters and a space.
                at = Some(first + col.saturating_sub(start) / 3);
            }
            continue;
        }
        let Some((addr, rest)) = row.split_once(": ") else {
            continue;
        };
        let start = addr.len() + 2;
        if addr.trim_start().starts_with('>') {
            marked = Some((bytes.len(), start));
        }
        bytes.extend(rest.split_whitespace());
    }
    let Some(at) = at.filter(|&i| i < bytes.len()) else {
        return format!("shadow: no marked byte in {} rows", rows.len());
    };
    let window: Vec<String> = (at.saturating_sub(2)..(at + 2).min(bytes.len()))
        .map(|i| {
            if i == at {
                format!("[{}]", bytes[i])
            } else {
                bytes[i].to_string()
            }
        })
        .collect();
    format!("shadow: {}", window.join(" "))
}

/// The first differing line of two masked reports.
pub fn first_difference(c: &[String], r: &[String]) -> Option<String> {
    for i in 0..c.len().max(r.len()) {
        let (a, b) = (c.get(i), r.get(i));
        if a != b {
            return Some(format!(
                "line {}: C `{}`, Rust `{}`",
                i + 1,
                a.map_or("(end)", |s| s.as_str()),
                b.map_or("(end)", |s| s.as_str())
            ));
        }
    }
    None
}

/// The reports of one case: each report as its masked key lines ([`key_lines`]).
pub type Reports = Vec<Vec<String>>;

/// The lines of a report that say what it found, masked: the header (bug type and function),
/// the access, the object description (which object or page, where in it, the cache), the tag
/// line of the tag-based modes, and the shadow byte at the bad address. Not the stack frames,
/// the CPU and task lines or the page dump, which differ from run to run, nor which alloc and
/// free tracks the object has: an access below an object is described by its neighbour, whose
/// history depends on what ran before (seen on x86_64: `kmalloc_oob_left`'s neighbour had been
/// allocated and freed in one boot and never used in another).
/// On a tag-based kernel (`tags`) the tags are random per boot: the tag line is kept with its
/// tags masked, the shadow (tag) byte left out.
///
/// When `case` is given and the described object is a neighbour of its objects
/// ([`describes_a_neighbour`]), the object's size and the distance to it are masked: which
/// object sits below the case's is the allocation history of the boot (seen on x86_64-outline
/// with 4 vCPUs: `kmalloc_oob_left`'s neighbour was a 16-byte object with C and a 10-byte one
/// with Rust).
pub fn key_lines(report: &[&str], tags: bool, case: Option<Case<'_>>) -> Vec<String> {
    const KEYS: [&str; 8] = [
        "BUG: KASAN: ",
        "Read of size ",
        "Write of size ",
        "The buggy address ",
        "which belongs to the cache ",
        "allocated ",
        "freed ",
        "Pointer tag: ",
    ];
    if case.is_some_and(|case| CASES_BELOW_THEIR_OBJECT.contains(&case.name)) {
        return below_object_key_lines(report);
    }
    let mut out = Vec::new();
    let mut dump: Option<Vec<&str>> = None;
    let neighbour = case.is_some_and(|case| describes_a_neighbour(report, case));
    for line in report {
        let t = line.trim();
        if let Some(rows) = dump.as_mut() {
            rows.push(line.trim_end());
            continue;
        }
        if t == "Memory state around the buggy address:" {
            dump = Some(Vec::new());
        } else if KEYS.iter().any(|k| t.starts_with(k)) && !is_frame(t) {
            let mut masked = mask(t);
            if neighbour && t.starts_with("which belongs to the cache ") {
                masked = "which belongs to the cache ? of size ?".to_string();
            } else if neighbour
                && (t.starts_with("The buggy address is located ") || t.starts_with("allocated "))
            {
                masked = mask_first_number(&masked);
            }
            out.push(if tags && t.starts_with("Pointer tag: ") {
                "Pointer tag: [?], memory tag: [?]".to_string()
            } else {
                masked
            });
        }
    }
    if let (Some(rows), false) = (dump, tags) {
        let window = shadow_window(&rows);
        // Only the marked byte: its neighbours depend on where the slab put the object.
        let marked = window
            .split_once('[')
            .and_then(|(_, rest)| rest.split_once(']'))
            .map_or(window.clone(), |(byte, _)| format!("shadow: [{byte}]"));
        out.push(marked);
    }
    out
}

/// The key lines of a report of a case of [`CASES_BELOW_THEIR_OBJECT`]: its header with the
/// bug type masked, and its access. Everything else describes the memory below the case's
/// object, which is the boot's, the bug type included: the redzone of a neighbour in the
/// same slab (`slab-out-of-bounds`), of an object in another cache when the case's object
/// starts its slab (seen on `static`: `kernfs_node_cache` with Rust, `kmalloc-16` with C), or
/// a free page (`use-after-free`, seen once on `static` with Rust where C had
/// `slab-out-of-bounds`).
fn below_object_key_lines(report: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for line in report {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("BUG: KASAN: ") {
            let place = rest.split_once(" in ").map_or("", |(_, place)| place);
            out.push(mask(&format!("BUG: KASAN: ? in {place}")));
        } else if (t.starts_with("Read of size ") || t.starts_with("Write of size "))
            && !is_frame(t)
        {
            out.push(mask(t));
        }
    }
    out
}

/// Whether a report of the case `case` describes another object than one the case allocated:
/// the access is outside the described object (`to the right of` / `to the left of`), and no
/// frame of the object's alloc track is the case's function (a neighbour below the case's
/// object was allocated by whatever ran before, or never). Only for kernels that keep alloc
/// stacks (`stacks`; UML's reports have none).
pub fn describes_a_neighbour(report: &[&str], case: Case<'_>) -> bool {
    let Case { name, stacks } = case;
    let function = format!("{name}+0x");
    let helper = format!("{name}_");
    let mut outside = false;
    let mut in_alloc = false;
    let mut alloc_names_case = false;
    for line in report {
        let t = line.trim();
        if t.starts_with("The buggy address is located ") {
            outside = t.contains(" to the right of") || t.contains(" to the left of");
        }
        if t.starts_with("Allocated by") {
            in_alloc = true;
        } else if t.is_empty() || t.starts_with("Freed by") || t.starts_with("The buggy address") {
            in_alloc = false;
        } else if in_alloc && is_frame(t) {
            // The case itself, or a helper named after it (`krealloc_more_oob_helper`).
            alloc_names_case |= t
                .split_whitespace()
                .any(|w| w.starts_with(&function) || (w.starts_with(&helper) && w.contains("+0x")));
        }
    }
    outside && stacks && !alloc_names_case
}

/// The upstream cases that read below their object: what their reports say about the memory
/// there is the boot's ([`below_object_key_lines`]).
pub const CASES_BELOW_THEIR_OBJECT: [&str; 1] = ["kmalloc_oob_left"];

/// A case whose reports [`key_lines`] reads: its name, and whether its kernel keeps alloc
/// stacks.
#[derive(Clone, Copy, Debug)]
pub struct Case<'a> {
    /// The case's name.
    pub name: &'a str,
    /// The console shows alloc tracks (`Allocated by task`).
    pub stacks: bool,
}

/// `line` with its first decimal number replaced by `?`.
fn mask_first_number(line: &str) -> String {
    match line.find(|c: char| c.is_ascii_digit()) {
        Some(start) => {
            let end = line[start..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(line.len(), |n| start + n);
            format!("{}?{}", &line[..start], &line[end..])
        }
        None => line.to_string(),
    }
}

/// One passing case of a console: its name, its reports, and whether the console dropped
/// lines meanwhile (`** N printk messages dropped **`: QEMU's arm64 console does when a case
/// reports many bugs at once), which makes its reports unfit to compare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseReports {
    /// The case's name.
    pub name: String,
    /// Its reports, each as its [`key_lines`].
    pub reports: Reports,
    /// The console dropped lines during the case.
    pub dropped: bool,
}

/// The reports of each case of `suite` that passed (not skipped) in a KUnit console, in the
/// order the cases ran. A report starts at its `BUG: KASAN:` line and ends at the rule under
/// it, or where the next report or the case's result line begins when a dropped line took the
/// rule.
pub fn passing_case_reports(console: &str, suite: &str, tags: bool) -> Vec<CaseReports> {
    let subtest = format!("# Subtest: {suite}");
    // Whether the kernel keeps alloc stacks, which tell a neighbour from the case's object.
    let stacks = console
        .lines()
        .any(|l| strip_time(l).trim_start().starts_with("Allocated by task"));
    let mut cases = Vec::new();
    let mut in_suite = false;
    let mut reports: Vec<Vec<&str>> = Vec::new();
    let mut report: Option<Vec<&str>> = None;
    let mut dropped = false;
    for raw in console.lines() {
        let line = strip_time(raw.trim_end_matches('\r'));
        let t = line.trim();
        if !in_suite {
            in_suite = t == subtest;
            continue;
        }
        if t.contains("printk messages dropped") {
            dropped = true;
        }
        let rule = t.len() >= 60 && t.chars().all(|c| c == '=');
        // `ok 3 case`, `not ok 3 case`, `ok 4 case # SKIP why`: a case's result line is
        // indented; the suite's own is not, and ends it.
        let result = t
            .strip_prefix("ok ")
            .map(|rest| (true, rest))
            .or_else(|| t.strip_prefix("not ok ").map(|rest| (false, rest)));
        let bug = t.starts_with("BUG: KASAN: ");
        if rule || bug || result.is_some() {
            if let Some(lines) = report.take() {
                reports.push(lines);
            }
        }
        if bug {
            report = Some(vec![line]);
            continue;
        }
        if let Some(lines) = report.as_mut() {
            lines.push(line);
            continue;
        }
        let Some((ok, rest)) = result else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let (Some(_), Some(name)) = (words.next(), words.next()) else {
            continue;
        };
        if !line.starts_with(' ') && !line.starts_with('\t') {
            break;
        }
        let case_reports = std::mem::take(&mut reports);
        if ok && !rest.contains("# SKIP") {
            let case = Some(Case { name, stacks });
            cases.push(CaseReports {
                name: name.to_string(),
                reports: case_reports
                    .iter()
                    .map(|lines| key_lines(lines, tags, case))
                    .collect(),
                dropped,
            });
        }
        dropped = false;
    }
    cases
}

/// What [`compare_consoles`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Comparison {
    /// Cases that passed with both runtimes and whose consoles lost no line.
    pub cases: usize,
    /// Cases that passed with both, left out because a console dropped lines during them.
    pub dropped: Vec<String>,
    /// Their reports with the C runtime.
    pub c_reports: usize,
    /// Their reports with the Rust runtime.
    pub rust_reports: usize,
    /// Reports that are the same in both, report for report.
    pub same: usize,
    /// Each case whose reports differ, with its first difference.
    pub differences: Vec<String>,
}

impl Comparison {
    /// `76 cases, 91 reports: 91 the same` or `..., 2 cases differ`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} cases passing with both, {} C / {} Rust reports: {} the same",
            self.cases, self.c_reports, self.rust_reports, self.same
        );
        if !self.dropped.is_empty() {
            s.push_str(&format!(
                "; {} left out, the console dropped lines ({})",
                self.dropped.len(),
                self.dropped.join(", ")
            ));
        }
        if !self.differences.is_empty() {
            s.push_str(&format!(", {} case(s) differ", self.differences.len()));
        }
        s
    }
}

/// Compares the reports of each case of `suite` that passed in both consoles, report for
/// report.
pub fn compare_consoles(c: &str, rust: &str, suite: &str, tags: bool) -> Comparison {
    let c_cases = passing_case_reports(c, suite, tags);
    let rust_cases = passing_case_reports(rust, suite, tags);
    let mut cmp = Comparison::default();
    for c_case in &c_cases {
        let Some(r_case) = rust_cases.iter().find(|r| r.name == c_case.name) else {
            continue;
        };
        let name = &c_case.name;
        if c_case.dropped || r_case.dropped {
            cmp.dropped.push(format!("{suite}.{name}"));
            continue;
        }
        let (c_reports, r_reports) = (&c_case.reports, &r_case.reports);
        cmp.cases += 1;
        cmp.c_reports += c_reports.len();
        cmp.rust_reports += r_reports.len();
        cmp.same += c_reports
            .iter()
            .zip(r_reports)
            .filter(|(a, b)| a == b)
            .count();
        if c_reports.len() != r_reports.len() {
            cmp.differences.push(format!(
                "{suite}.{name}: {} report(s) with C, {} with Rust",
                c_reports.len(),
                r_reports.len()
            ));
        } else if let Some((i, d)) = c_reports
            .iter()
            .zip(r_reports)
            .enumerate()
            .find_map(|(i, (a, b))| first_difference(a, b).map(|d| (i, d)))
        {
            cmp.differences
                .push(format!("{suite}.{name}: report {}: {d}", i + 1));
        }
    }
    cmp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded() -> String {
        fs_read("xtask/tests/data/c-runtime-generic.console.log")
    }

    fn fs_read(path: &str) -> String {
        std::fs::read_to_string(crate::util::workspace_root().join(path)).unwrap()
    }

    #[test]
    fn environment_lines_are_not_compared() {
        let c = "==================================================================\n\
                 BUG: KASAN: slab-out-of-bounds in f+0x1/0x2\n\
                 CPU: 0 UID: 0 PID: 5 Comm: insmod Not tainted 7.2.13 #1\n\
                 flags: 0x4000(workingset|zone=1)\n\
                 The buggy address is located 0 bytes to the right of\n\
                 ==================================================================\n";
        let rust = c
            .replace("CPU: 0", "CPU: 1")
            .replace("workingset|zone=1", "zone=1");
        assert_eq!(report_lines(c), report_lines(&rust));
        assert_eq!(report_lines(c).len(), 4);
        let other = c.replace("0 bytes to the right", "1 bytes to the right");
        assert_ne!(report_lines(c), report_lines(&other));
    }

    #[test]
    fn softirq_tasks_are_one_context() {
        let c = "Read of size 4 at addr ffff888003a1b210 by task swapper/1/0";
        let rust = "Read of size 4 at addr ffff888003a1b210 by task ksoftirqd/1/23";
        assert_eq!(mask(c), "Read of size 4 at addr ? by task (softirq)/?/?");
        assert_eq!(mask(c), mask(rust));
        // A task that is not a softirq's is still compared, and so is the word elsewhere.
        let insmod = "Read of size 4 at addr ffff888003a1b210 by task insmod/1/0";
        assert_ne!(mask(c), mask(insmod));
        assert_eq!(mask("swapper/0 is idle"), "swapper/0 is idle");
    }

    #[test]
    fn lines_of_other_cpus_are_not_compared() {
        let c = "==================================================================\n\
                 BUG: KASAN: slab-out-of-bounds in f+0x1/0x2\n\
                 Write of size 1 at addr ffff888003a1b210 by task insmod/5\n\
                 \n\
                 The buggy address is located 0 bytes to the right of\n\
                 ==================================================================\n";
        let rust = c.replace(
            "\n\nThe buggy",
            "\nclocksource: Watchdog remote CPU 1 read timed out\n\nThe buggy",
        );
        assert_ne!(c, rust);
        assert_eq!(report_lines(c), report_lines(&rust));
        // A line of the report itself is still compared.
        let other = c.replace("Write of size 1", "Write of size 2");
        assert_ne!(report_lines(c), report_lines(&other));
    }

    #[test]
    fn key_lines_of_a_recorded_report() {
        let console = recorded();
        let cases = passing_case_reports(&console, "kasan", false);
        let (name, reports) = (&cases[0].name, &cases[0].reports);
        assert_eq!(name, "kmalloc_oob_right");
        assert_eq!(
            reports[0],
            [
                "BUG: KASAN: slab-out-of-bounds in kmalloc_oob_right+0x?/0x?",
                "Write of size 1 at addr ? by task kunit_try_catch/?",
                "The buggy address belongs to the object at ?",
                "which belongs to the cache kmalloc-128 of size 128",
                "The buggy address is located 0 bytes to the right of",
                "allocated 115-byte region [?, ?)",
                "The buggy address belongs to the physical page:",
                "shadow: [03]",
            ]
        );
        // On a tag-based kernel the tag byte is random: no shadow line.
        let tags = passing_case_reports(&console, "kasan", true);
        assert_eq!(tags[0].reports[0][..7], reports[0][..7]);
        assert_eq!(tags[0].reports[0].len(), 7);
    }

    #[test]
    fn a_neighbours_size_is_not_compared() {
        let report = |size: &str, distance: &str, allocator: &str| {
            format!(
                "BUG: KASAN: slab-out-of-bounds in kmalloc_oob_left+0xc7/0x1f0\n\
                 Read of size 1 at addr ff110000018b9896 by task kunit_try_catch/163\n\
                 \n\
                 Allocated by task 1 on cpu 1 at 3.230928s:\n \
                 kasan_save_stack+0x2a/0x50\n \
                 {allocator}+0x1d/0x80\n\
                 \n\
                 The buggy address belongs to the object at ff110000018b9870\n \
                 which belongs to the cache kmalloc-16 of size 16\n\
                 The buggy address is located {distance} bytes to the right of\n \
                 allocated {size}-byte region [ff110000018b9870, ff110000018b9880)\n"
            )
        };
        let right = Case {
            name: "kmalloc_oob_right",
            stacks: true,
        };
        let case = Some(right);
        let keys = |r: &str| key_lines(&r.lines().collect::<Vec<_>>(), false, case);
        // A neighbour allocated by other code: its size and the distance are the boot's.
        let c = keys(&report("16", "31", "kobject_set_name_vargs"));
        let rust = keys(&report("10", "37", "kstrdup"));
        assert_eq!(c, rust);
        assert!(c.contains(&"The buggy address is located ? bytes to the right of".to_string()));
        assert!(c.contains(&"allocated ?-byte region [?, ?)".to_string()));
        // A neighbour without an alloc track (allocated and freed before its stack was kept).
        let untracked: String = report("16", "15", "kstrdup")
            .lines()
            .filter(|l| !is_frame(l.trim()) && !l.starts_with("Allocated by"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(keys(&untracked), c);
        // The case's own object (its alloc track names the case): compared.
        let own = keys(&report("16", "31", "kmalloc_oob_right"));
        assert_ne!(own, keys(&report("10", "37", "kmalloc_oob_right")));
        assert!(own.contains(&"allocated 16-byte region [?, ?)".to_string()));
        // Inside the object: the case's object whatever allocated it.
        let inside = report("16", "31", "kstrdup").replace("to the right of", "inside of");
        assert!(!describes_a_neighbour(
            &inside.lines().collect::<Vec<_>>(),
            right
        ));
        // A kernel without alloc stacks: compared...
        let no_stacks = Some(Case {
            name: "kmalloc_oob_right",
            stacks: false,
        });
        let bare = key_lines(&untracked.lines().collect::<Vec<_>>(), false, no_stacks);
        assert!(bare.contains(&"allocated 16-byte region [?, ?)".to_string()));
        // ... except for a case that reads below its object: what is there, even in another
        // cache or a free page, is the boot's.
        let below = Some(Case {
            name: "kmalloc_oob_left",
            stacks: false,
        });
        let below_keys = |r: &str| key_lines(&r.lines().collect::<Vec<_>>(), false, below);
        let other_cache =
            untracked.replace("kmalloc-16 of size 16", "kernfs_node_cache of size 136");
        let free_page = "BUG: KASAN: use-after-free in kmalloc_oob_left+0xeb/0x290\n\
                         Read of size 1 at addr 0000000060c27fff by task kunit_try_catch/80\n\
                         \n\
                         The buggy address belongs to the physical page:\n";
        assert_eq!(below_keys(&untracked), below_keys(&other_cache));
        assert_eq!(below_keys(&untracked), below_keys(free_page));
        assert_eq!(
            below_keys(free_page),
            [
                "BUG: KASAN: ? in kmalloc_oob_left+0x?/0x?",
                "Read of size 1 at addr ? by task kunit_try_catch/?",
            ]
        );
        // Its access is still compared.
        assert_ne!(
            below_keys(free_page),
            below_keys(&free_page.replace("Read of size 1", "Write of size 1"))
        );
    }

    #[test]
    fn passing_cases_of_a_recorded_console() {
        let console = recorded();
        let cases = passing_case_reports(&console, "kasan", false);
        // The C runtime's generic run: 61 pass, 1 fail, 14 skip.
        assert_eq!(cases.len(), 61);
        assert!(cases
            .iter()
            .all(|c| c.name != "kasan_strings" && !c.dropped));
        let reports: usize = cases.iter().map(|c| c.reports.len()).sum();
        assert!(reports > 61, "{reports}");
        assert!(cases
            .iter()
            .flat_map(|c| &c.reports)
            .all(|r| r[0].starts_with("BUG: KASAN: ")));
        assert!(passing_case_reports(&console, "no_such_suite", false).is_empty());
        // A dropped line marks its case, and a report whose closing rule it took ends where
        // the next report begins.
        let lossy = console.replacen(
            "==================================================================\nDisabling lock",
            "** 3 printk messages dropped **\nDisabling lock",
            1,
        );
        let lossy_cases = passing_case_reports(&lossy, "kasan", false);
        assert!(lossy_cases[0].dropped && !lossy_cases[1].dropped);
        assert_eq!(lossy_cases[0].reports, cases[0].reports);
        let cmp = compare_consoles(&console, &lossy, "kasan", false);
        assert_eq!(cmp.dropped, ["kasan.kmalloc_oob_right"]);
        assert_eq!(cmp.cases, 60);
        assert!(cmp.differences.is_empty());
    }

    #[test]
    fn comparison_finds_what_differs() {
        let c = recorded();
        let same = compare_consoles(&c, &c, "kasan", false);
        assert_eq!(same.cases, 61);
        assert_eq!(same.c_reports, same.rust_reports);
        assert_eq!(same.same, same.c_reports);
        assert!(same.differences.is_empty());
        // Other addresses, pids, offsets and frames are the same reports.
        let moved = c
            .replace("0000000061db2", "0000000062ab3")
            .replace("kunit_try_catch/18", "kunit_try_catch/27")
            .replace(
                "kmalloc_oob_right+0x68d/0x7f0",
                "kmalloc_oob_right+0x6a1/0x800",
            );
        assert_eq!(compare_consoles(&c, &moved, "kasan", false), same);
        // Another access size in the first report, another shadow byte, one report fewer.
        let size = c.replacen("Write of size 1 at", "Write of size 8 at", 1);
        let d = compare_consoles(&c, &size, "kasan", false);
        assert_eq!(d.same, same.same - 1);
        assert_eq!(d.differences.len(), 1);
        assert!(d.differences[0].starts_with("kasan.kmalloc_oob_right: report 1: line 2"));
        let shadow = c.replacen("00 00 03 fc\n", "00 00 02 fc\n", 1);
        let d = compare_consoles(&c, &shadow, "kasan", false);
        assert!(
            d.differences[0].contains("shadow: [02]"),
            "{:?}",
            d.differences
        );
        let first = c.find("==================").unwrap();
        let second = first + c[first + 66..].find("==================").unwrap() + 66;
        let fewer = format!("{}{}", &c[..first], &c[second + 67..]);
        let d = compare_consoles(&c, &fewer, "kasan", false);
        assert_eq!(
            d.differences[0],
            "kasan.kmalloc_oob_right: 3 report(s) with C, 2 with Rust"
        );
    }
}
