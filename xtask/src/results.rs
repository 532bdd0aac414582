// SPDX-License-Identifier: GPL-2.0

//! Test results: kunit.py's `--json` output (the primary source), a self-contained KTAP parser
//! for raw consoles (the fallback, and where each failing case's first failure line comes from),
//! and the result table.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// The verdict of one test case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// `ok`.
    Pass,
    /// `not ok`.
    Fail,
    /// `ok ... # SKIP`.
    Skip,
    /// The case crashed or never reported.
    Error,
}

impl Status {
    /// The word shown in tables.
    pub fn word(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
            Status::Error => "ERROR",
        }
    }
}

/// One test case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// Its name; a parameterised case's parameters are `case/param`.
    pub name: String,
    /// Its verdict.
    pub status: Status,
    /// For a failure, its first failure line.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub failure: Option<String>,
}

/// One suite.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suite {
    /// Its name.
    pub name: String,
    /// Its cases in the order they ran.
    pub cases: Vec<Case>,
    /// The suite's own verdict when it reported no case: kunit.py files such a suite (its
    /// `suite_init` failed, or it was skipped as a whole) among the top level's `test_cases`,
    /// KTAP closes it with `not ok N suite` right after its plan. `None` for a suite with cases.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub verdict: Option<Status>,
}

/// Pass / fail / skip counts; crashed cases count as failures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Passed.
    pub pass: usize,
    /// Failed or crashed.
    pub fail: usize,
    /// Skipped.
    pub skip: usize,
}

impl Counts {
    /// Counts `cases`.
    pub fn of<'a>(cases: impl IntoIterator<Item = &'a Case>) -> Counts {
        let mut c = Counts::default();
        for case in cases {
            match case.status {
                Status::Pass => c.pass += 1,
                Status::Fail | Status::Error => c.fail += 1,
                Status::Skip => c.skip += 1,
            }
        }
        c
    }

    /// All cases.
    pub fn total(&self) -> usize {
        self.pass + self.fail + self.skip
    }
}

/// The results of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Results {
    /// The suites in the order they ran.
    pub suites: Vec<Suite>,
    /// Signs that console lines were lost (test numbers skipped, plans not met): the KTAP
    /// parser's findings, empty for JSON.
    #[serde(skip)]
    pub lost: Vec<String>,
    /// KTAP plans (`1..N`) that never came: `(top level)` or a suite's name. A kernel that
    /// died before printing them, or output that is not KTAP. The KTAP parser's findings.
    #[serde(skip)]
    pub missing_plans: Vec<String>,
}

impl Results {
    /// Counts over every suite.
    pub fn counts(&self) -> Counts {
        Counts::of(self.suites.iter().flat_map(|s| &s.cases))
    }

    /// Reads kunit.py's `--json` output.
    pub fn from_kunit_json(text: &str) -> Result<Results, String> {
        let top: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not kunit.py JSON: {e}"))?;
        let mut results = Results::default();
        let groups = top
            .get("sub_groups")
            .and_then(|g| g.as_array())
            .ok_or("kunit.py JSON has no sub_groups")?;
        for group in groups {
            let name = group.get("name").and_then(|n| n.as_str()).unwrap_or("?");
            let mut cases = Vec::new();
            json_leaves(group, "", &mut cases);
            results.suites.push(Suite {
                name: name.to_string(),
                cases,
                verdict: None,
            });
        }
        // A suite without a single case is a leaf of the top level, not a group: a suite whose
        // init failed (`FAIL`), or one that crashed before its first case (`ERROR`).
        if let Some(leaves) = top.get("test_cases").and_then(|c| c.as_array()) {
            for leaf in leaves {
                let name = leaf.get("name").and_then(|n| n.as_str()).unwrap_or("?");
                results.suites.push(Suite {
                    name: name.to_string(),
                    cases: Vec::new(),
                    verdict: Some(json_status(leaf)),
                });
            }
        }
        Ok(results)
    }

    /// Takes, from `console` (KTAP parsed from the raw console), each failing case's first
    /// failure line and the order cases ran in.
    pub fn merge_console(&mut self, console: &Results) {
        self.lost = console.lost.clone();
        self.missing_plans = console.missing_plans.clone();
        for suite in &mut self.suites {
            let Some(raw) = console.suites.iter().find(|s| s.name == suite.name) else {
                continue;
            };
            let position = |name: &str| raw.cases.iter().position(|c| c.name == name);
            suite
                .cases
                .sort_by_key(|c| position(&c.name).unwrap_or(usize::MAX));
            for case in &mut suite.cases {
                if case.failure.is_none() && matches!(case.status, Status::Fail | Status::Error) {
                    case.failure = raw
                        .cases
                        .iter()
                        .find(|c| c.name == case.name)
                        .and_then(|c| c.failure.clone());
                }
            }
        }
    }

    /// The result table: per suite pass / fail / skip, then each failing case with its first
    /// failure line.
    pub fn table(&self) -> String {
        let width = self
            .suites
            .iter()
            .map(|s| s.name.len())
            .chain([5])
            .max()
            .unwrap_or(5);
        let mut out = String::new();
        let row = |out: &mut String, name: &str, c: Counts| {
            let _ = writeln!(
                out,
                "{name:<width$}  {:>5}  {:>5}  {:>5}  {:>5}",
                c.pass,
                c.fail,
                c.skip,
                c.total()
            );
        };
        let _ = writeln!(
            out,
            "{:<width$}  {:>5}  {:>5}  {:>5}  {:>5}",
            "suite", "pass", "fail", "skip", "total"
        );
        for s in &self.suites {
            row(&mut out, &s.name, Counts::of(&s.cases));
        }
        if self.suites.len() != 1 {
            row(&mut out, "total", self.counts());
        }
        let failing: Vec<(&Suite, &Case)> = self
            .suites
            .iter()
            .flat_map(|s| s.cases.iter().map(move |c| (s, c)))
            .filter(|(_, c)| matches!(c.status, Status::Fail | Status::Error))
            .collect();
        if self.suites.is_empty() {
            out.push_str("(no test results)\n");
        }
        for lost in &self.lost {
            let _ = writeln!(out, "warning: the console lost lines: {lost}");
        }
        for missing in &self.missing_plans {
            let _ = writeln!(out, "warning: no KTAP plan (1..N) for {missing}");
        }
        for s in self.suites.iter().filter(|s| s.cases.is_empty()) {
            let verdict = s.verdict.map_or("no verdict", Status::word);
            let _ = writeln!(
                out,
                "warning: suite {} reported no case ({verdict}: its init failed?)",
                s.name
            );
        }
        if !failing.is_empty() {
            let _ = writeln!(out, "\nfailing cases:");
            for (s, c) in failing {
                let crashed = if c.status == Status::Error {
                    " (crashed)"
                } else {
                    ""
                };
                let _ = writeln!(out, "  {}.{}{crashed}", s.name, c.name);
                let line = c.failure.as_deref().unwrap_or("(no failure message)");
                let _ = writeln!(out, "      {line}");
            }
        }
        out
    }
}

/// The verdict of a kunit.py JSON test case (anything but PASS, SKIP or ERROR is a failure).
fn json_status(case: &serde_json::Value) -> Status {
    match case.get("status").and_then(|s| s.as_str()) {
        Some("PASS") => Status::Pass,
        Some("SKIP") => Status::Skip,
        Some("ERROR") => Status::Error,
        _ => Status::Fail,
    }
}

fn json_leaves(group: &serde_json::Value, prefix: &str, out: &mut Vec<Case>) {
    if let Some(cases) = group.get("test_cases").and_then(|c| c.as_array()) {
        for case in cases {
            let name = case.get("name").and_then(|n| n.as_str()).unwrap_or("?");
            out.push(Case {
                name: format!("{prefix}{name}"),
                status: json_status(case),
                failure: None,
            });
        }
    }
    if let Some(groups) = group.get("sub_groups").and_then(|g| g.as_array()) {
        for sub in groups {
            let name = sub.get("name").and_then(|n| n.as_str()).unwrap_or("?");
            json_leaves(sub, &format!("{prefix}{name}/"), out);
        }
    }
}

/// An open (K)TAP test group while parsing.
struct Group {
    indent: usize,
    name: Option<String>,
    cases: Vec<Case>,
    /// Diagnostic lines since the last result line: (text, starts with `#`).
    diag: Vec<(String, bool)>,
    /// The number the next result line should have.
    next: u64,
    /// The plan, `1..N`.
    plan: Option<u64>,
}

impl Group {
    fn new(indent: usize, name: Option<String>) -> Group {
        Group {
            indent,
            name,
            cases: Vec::new(),
            diag: Vec::new(),
            next: 1,
            plan: None,
        }
    }

    /// Checks the number of a result line at this level, noting a gap in `lost`.
    fn number(&mut self, number: u64, name: &str, lost: &mut Vec<String>) {
        if number != self.next {
            let group = self.name.as_deref().unwrap_or("(top level)");
            lost.push(format!(
                "{group}: expected test {} but found {number} ({name})",
                self.next
            ));
        }
        self.next = number + 1;
    }

    /// The first failure line of case `name` among the diagnostics: its `# name: ...` line (with
    /// the message line right after it, if any), else the first diagnostic.
    fn first_failure(&self, name: &str) -> Option<String> {
        let own = format!("# {name}: ");
        // `# case.attr: value` lines are test attributes, not diagnostics.
        let is_attr = |l: &str| {
            l.strip_prefix("# ")
                .and_then(|r| r.split_once(": "))
                .is_some_and(|(k, _)| k.contains('.') && !k.contains(' '))
        };
        let at = self
            .diag
            .iter()
            .position(|(l, hash)| *hash && l.starts_with(&own))
            .or_else(|| self.diag.iter().position(|(l, hash)| *hash && !is_attr(l)))?;
        let first = &self.diag[at].0;
        let text = first.strip_prefix("# ").unwrap_or(first);
        // Drop the `name: ` the kernel puts before a diagnostic (the case's or its parent's).
        let mut line = match text.split_once(": ") {
            Some((who, rest)) if !who.contains(' ') => rest.to_string(),
            _ => text.to_string(),
        };
        if let Some((next, false)) = self.diag.get(at + 1) {
            line.push_str(": ");
            line.push_str(next);
        }
        Some(line)
    }
}

/// A parsed `ok` / `not ok` line.
struct ResultLine {
    ok: bool,
    number: u64,
    name: String,
    directive: Option<String>,
}

fn parse_result_line(line: &str) -> Option<ResultLine> {
    let (ok, rest) = if let Some(rest) = line.strip_prefix("ok ") {
        (true, rest)
    } else if let Some(rest) = line.strip_prefix("not ok ") {
        (false, rest)
    } else {
        return None;
    };
    let (number, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let number = number.parse::<u64>().ok()?;
    let rest = rest.strip_prefix("- ").unwrap_or(rest);
    let (name, directive) = match rest.split_once(" #") {
        Some((name, d)) => (name, Some(d.trim().to_string())),
        None => (rest, None),
    };
    Some(ResultLine {
        ok,
        number,
        name: name.trim().to_string(),
        directive,
    })
}

/// Parses the KTAP in a raw console (kernel messages may be interleaved; a fixed prefix such as
/// a timestamp before `KTAP version` is stripped from every line).
pub fn parse_ktap(console: &str) -> Results {
    let mut lines = console.lines();
    let mut prefix = 0;
    for line in lines.by_ref() {
        if let Some(at) = line
            .find("KTAP version")
            .or_else(|| line.find("TAP version"))
        {
            prefix = at;
            break;
        }
    }
    let mut results = Results::default();
    let mut stack = vec![Group::new(0, None)];
    let mut last_was_diag = false;
    for raw in lines {
        let line = raw.get(prefix..).unwrap_or(raw).trim_end();
        let content = line.trim_start_matches(' ');
        let indent = line.len() - content.len();
        let top_indent = stack.last().map_or(0, |g| g.indent);
        if content.starts_with("KTAP version") || content.starts_with("TAP version") {
            if indent > top_indent {
                stack.push(Group::new(indent, None));
            }
            last_was_diag = false;
            continue;
        }
        if let Some(name) = content.strip_prefix("# Subtest: ") {
            let name = name.trim().to_string();
            let depth = stack.len();
            match stack.last_mut() {
                Some(top) if top.indent == indent && top.name.is_none() && depth > 1 => {
                    top.name = Some(name);
                }
                _ if indent > top_indent => stack.push(Group::new(indent, Some(name))),
                _ => {}
            }
            last_was_diag = false;
            continue;
        }
        if let Some(result) = parse_result_line(content) {
            last_was_diag = false;
            // A result less indented than the open group closes it: the group's own result.
            if indent < top_indent && stack.len() > 1 {
                let Some(group) = stack.pop() else { break };
                close_group(&mut stack, &mut results, group, Some(&result));
                continue;
            }
            let Some(top) = stack.last_mut() else { break };
            top.number(result.number, &result.name, &mut results.lost);
            let status = status_of(&result);
            let failure = (status == Status::Fail)
                .then(|| top.first_failure(&result.name))
                .flatten();
            top.cases.push(Case {
                name: result.name,
                status,
                failure,
            });
            top.diag.clear();
            continue;
        }
        let depth = stack.len();
        let Some(top) = stack.last_mut() else { break };
        if depth == 1 && indent == 0 && top.plan.is_none() {
            if let Some(plan) = content.strip_prefix("1..") {
                top.plan = plan.trim().parse().ok();
                last_was_diag = false;
                continue;
            }
        }
        if indent == top.indent && depth > 1 {
            if let Some(plan) = content.strip_prefix("1..") {
                top.plan = plan.trim().parse().ok();
                last_was_diag = false;
                continue;
            }
            if content.starts_with('#') {
                top.diag.push((content.to_string(), true));
                last_was_diag = true;
                continue;
            }
            if last_was_diag && !content.is_empty() && !content.starts_with("1..") {
                top.diag.push((content.to_string(), false));
            }
        }
        last_was_diag = false;
    }
    // Groups still open when the output ended: the kernel crashed or hung inside them.
    while stack.len() > 1 {
        let Some(group) = stack.pop() else { break };
        close_group(&mut stack, &mut results, group, None);
    }
    if stack.first().is_none_or(|top| top.plan.is_none()) {
        results.missing_plans.insert(0, "(top level)".to_string());
    }
    results
}

fn status_of(result: &ResultLine) -> Status {
    let skip = result
        .directive
        .as_deref()
        .is_some_and(|d| d.to_ascii_uppercase().starts_with("SKIP"));
    match (result.ok, skip) {
        (_, true) => Status::Skip,
        (true, false) => Status::Pass,
        (false, false) => Status::Fail,
    }
}

/// Files a closed group: a suite when its parent is the top level, else a parameterised case
/// whose parameters become `case/param` cases of its parent.
fn close_group(
    stack: &mut [Group],
    results: &mut Results,
    mut group: Group,
    result: Option<&ResultLine>,
) {
    let name = group
        .name
        .clone()
        .or_else(|| result.map(|r| r.name.clone()))
        .unwrap_or_else(|| "?".to_string());
    // A suite that reported no case (its init failed) is a verdict of its own, not lost lines.
    if let (Some(plan), Some(_), false) = (group.plan, result, group.cases.is_empty()) {
        if group.next != plan + 1 {
            results.lost.push(format!(
                "{name}: planned {plan} tests but the last one was {}",
                group.next - 1
            ));
        }
    }
    if let Some(parent) = stack.last_mut() {
        if let Some(r) = result {
            parent.number(r.number, &r.name, &mut results.lost);
        }
    }
    if result.is_none() {
        group.cases.push(Case {
            name: "(no result: output ended)".to_string(),
            status: Status::Error,
            failure: Some("the kernel's output ended before this test finished".to_string()),
        });
    }
    let depth = stack.len();
    let Some(parent) = stack.last_mut() else {
        return;
    };
    if depth == 1 {
        if group.plan.is_none() {
            results.missing_plans.push(name.clone());
        }
        let verdict = result.filter(|_| group.cases.is_empty()).map(status_of);
        results.suites.push(Suite {
            name,
            cases: group.cases,
            verdict,
        });
        return;
    }
    for mut case in group.cases {
        case.name = format!("{name}/{}", case.name);
        parent.cases.push(case);
    }
    parent.diag.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baseline(config: &str) -> Option<String> {
        let path = util_baseline_dir().join(format!("c-runtime-{config}.console.log"));
        std::fs::read_to_string(path).ok()
    }

    /// The recorded consoles: shared/baseline beside the repository (as CI has it), or a copy
    /// in xtask/tests/data.
    fn util_baseline_dir() -> std::path::PathBuf {
        let data = crate::util::workspace_root().join("xtask/tests/data");
        if data.join("c-runtime-generic.console.log").is_file() {
            return data;
        }
        crate::util::workspace_root().join("../shared/baseline")
    }

    fn case<'a>(r: &'a Results, name: &str) -> &'a Case {
        r.suites[0].cases.iter().find(|c| c.name == name).unwrap()
    }

    #[test]
    fn recorded_consoles() {
        for (config, pass, fail, skip, failing) in [
            ("generic", 61, 1, 14, vec!["kasan_strings"]),
            ("full", 62, 1, 13, vec!["kasan_strings"]),
            (
                "static",
                60,
                3,
                13,
                vec![
                    "kasan_global_oob_right",
                    "kasan_global_oob_left",
                    "kasan_strings",
                ],
            ),
        ] {
            let text = baseline(config).expect("baseline console log");
            let r = parse_ktap(&text);
            assert_eq!(r.suites.len(), 1, "{config}");
            assert_eq!(r.suites[0].name, "kasan");
            assert_eq!(
                r.counts(),
                Counts { pass, fail, skip },
                "{config}: pass/fail/skip"
            );
            let failed: Vec<&str> = r.suites[0]
                .cases
                .iter()
                .filter(|c| c.status == Status::Fail)
                .map(|c| c.name.as_str())
                .collect();
            assert_eq!(failed, failing, "{config}");
            let strings = case(&r, "kasan_strings");
            assert_eq!(
                strings.failure.as_deref(),
                Some(
                    "EXPECTATION FAILED at mm/kasan/kasan_test_c.c:1709: KASAN failure expected \
                     in \"strscpy(ptr, src + KASAN_GRANULE_SIZE, KASAN_GRANULE_SIZE)\", but none \
                     occurred"
                ),
                "{config}"
            );
            assert_eq!(case(&r, "kasan_atomics").status, Status::Pass);
            assert!(r.lost.is_empty(), "{config}: {:?}", r.lost);
            assert_eq!(case(&r, "kasan_stack_oob").status, Status::Skip);
        }
    }

    #[test]
    fn table_from_recorded_console() {
        let r = parse_ktap(&baseline("static").unwrap());
        let table = r.table();
        let expected_head = "\
suite   pass   fail   skip  total
kasan     60      3     13     76

failing cases:
  kasan.kasan_global_oob_right
      EXPECTATION FAILED at mm/kasan/kasan_test_c.c:1566: ";
        assert!(table.starts_with(expected_head), "{table}");
        assert!(table.contains("  kasan.kasan_strings\n      EXPECTATION FAILED at"));
        assert_eq!(
            table.lines().filter(|l| l.starts_with("  kasan.")).count(),
            3
        );
    }

    #[test]
    fn prefixes_params_and_crashes() {
        let console = "\
[    0.1] boot noise
[    0.2] KTAP version 1
[    0.2] 1..2
[    0.2]     KTAP version 1
[    0.2]     # Subtest: alpha
[    0.2]     1..3
[    0.2]     ok 1 one
[    0.2]         KTAP version 1
[    0.2]         # Subtest: params
[    0.2]         ok 1 size 8
[    0.2]         # params: ASSERTION FAILED at x.c:3
[    0.2]         Expected a == b
[    0.2]         not ok 2 size 16
[    0.2]     not ok 2 params
[    0.2]     # three: EXPECTATION FAILED at y.c:9
[    0.2] BUG: KASAN: noise between
[    0.2]     not ok 3 three
[    0.2] # alpha: pass:1 fail:2 skip:0 total:3
[    0.2] not ok 1 alpha
[    0.2]     KTAP version 1
[    0.2]     # Subtest: beta
[    0.2]     1..2
[    0.2]     ok 1 first # SKIP not here
[    0.2] Kernel panic
";
        let r = parse_ktap(console);
        assert_eq!(r.suites.len(), 2);
        let alpha = &r.suites[0];
        assert_eq!(alpha.name, "alpha");
        let names: Vec<&str> = alpha.cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["one", "params/size 8", "params/size 16", "three"]);
        assert_eq!(
            alpha.cases[2].failure.as_deref(),
            Some("ASSERTION FAILED at x.c:3: Expected a == b")
        );
        assert_eq!(
            alpha.cases[3].failure.as_deref(),
            Some("EXPECTATION FAILED at y.c:9")
        );
        assert!(r.lost.is_empty(), "{:?}", r.lost);
        let beta = &r.suites[1];
        assert_eq!(beta.cases[0].status, Status::Skip);
        assert_eq!(beta.cases[1].status, Status::Error);
        assert_eq!(
            r.counts(),
            Counts {
                pass: 2,
                fail: 3,
                skip: 1
            }
        );
    }

    #[test]
    fn kunit_json_with_console_failures() {
        let json = r#"{
            "name": "KUnit Test Group",
            "sub_groups": [{
                "name": "kasan",
                "sub_groups": [{"name": "p", "sub_groups": [], "test_cases": [
                    {"name": "a", "status": "PASS"}], "misc": {}}],
                "test_cases": [
                    {"name": "kasan_strings", "status": "FAIL"},
                    {"name": "kmalloc_oob_right", "status": "PASS"},
                    {"name": "kasan_stack_oob", "status": "SKIP"},
                    {"name": "boom", "status": "ERROR"}
                ],
                "misc": {}
            }],
            "test_cases": []
        }"#;
        let mut r = Results::from_kunit_json(json).unwrap();
        assert_eq!(r.suites[0].cases.len(), 5);
        assert_eq!(r.suites[0].cases[4].name, "p/a");
        assert_eq!(
            r.counts(),
            Counts {
                pass: 2,
                fail: 2,
                skip: 1
            }
        );
        r.merge_console(&parse_ktap(&baseline("generic").unwrap()));
        // Console order: kmalloc_oob_right ran first.
        assert_eq!(r.suites[0].cases[0].name, "kmalloc_oob_right");
        let strings = case(&r, "kasan_strings");
        assert!(strings
            .failure
            .as_deref()
            .unwrap()
            .starts_with("EXPECTATION FAILED at mm/kasan/kasan_test_c.c:1709"));
        assert!(r
            .table()
            .contains("  kasan.boom (crashed)\n      (no failure message)"));
        assert!(Results::from_kunit_json("{}").is_err());
        assert!(Results::from_kunit_json("not json").is_err());
    }

    #[test]
    fn suites_without_cases_are_kept() {
        // kunit.py files a suite that ran no case (suite_init failed) as a top-level leaf.
        let json = r#"{
            "name": "KUnit Test Group",
            "sub_groups": [{"name": "kasan", "sub_groups": [], "test_cases": [
                {"name": "a", "status": "PASS"}], "misc": {}}],
            "test_cases": [{"name": "rkasan_quarantine", "status": "FAIL"}]
        }"#;
        let r = Results::from_kunit_json(json).unwrap();
        let names: Vec<&str> = r.suites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["kasan", "rkasan_quarantine"]);
        assert!(r.suites[1].cases.is_empty());
        assert_eq!(r.suites[1].verdict, Some(Status::Fail));
        assert_eq!(r.suites[0].verdict, None);
        // The same in KTAP: a plan, a diagnostic, then the suite's own `not ok`.
        let console = [
            "KTAP version 1",
            "1..2",
            "    KTAP version 1",
            "    # Subtest: a",
            "    1..1",
            "    ok 1 x",
            "ok 1 a",
            "    KTAP version 1",
            "    # Subtest: q",
            "    1..3",
            "    # q: failed to initialize (-12)",
            "not ok 2 q\n",
        ]
        .join("\n");
        let console = console.as_str();
        let r = parse_ktap(console);
        assert_eq!(r.suites.len(), 2);
        assert_eq!(r.suites[1].name, "q");
        assert!(r.suites[1].cases.is_empty());
        assert_eq!(r.suites[1].verdict, Some(Status::Fail));
        assert_eq!(r.suites[0].verdict, None);
        // An init failure is no lost line: running again would not help.
        assert!(r.lost.is_empty(), "{:?}", r.lost);
        assert!(r.missing_plans.is_empty(), "{:?}", r.missing_plans);
        assert!(
            r.table().contains("suite q reported no case (FAIL"),
            "{}",
            r.table()
        );
    }

    #[test]
    fn missing_plans_are_recorded() {
        assert!(parse_ktap(&baseline("generic").unwrap())
            .missing_plans
            .is_empty());
        // No top-level plan, and suite s without its `1..N`.
        let console = "KTAP version 1\n    KTAP version 1\n    # Subtest: s\n    ok 1 a\nok 1 s\n";
        let r = parse_ktap(console);
        assert_eq!(r.suites[0].cases.len(), 1);
        assert_eq!(r.missing_plans, ["(top level)", "s"]);
        assert!(r.table().contains("no KTAP plan (1..N) for s\n"));
        // No KTAP at all: a kernel that died before KUnit started.
        assert_eq!(parse_ktap("Kernel panic\n").missing_plans, ["(top level)"]);
        // The JSON path takes the console's findings.
        let mut j = Results::from_kunit_json(r#"{"sub_groups": [], "test_cases": []}"#).unwrap();
        j.merge_console(&r);
        assert_eq!(j.missing_plans, ["(top level)", "s"]);
    }

    #[test]
    fn lost_console_lines_are_noticed() {
        // As seen on a loaded machine: UML's console dropped the lines of tests 64 and 65.
        let text = baseline("generic").unwrap();
        let cut: String = text
            .lines()
            .filter(|l| !l.contains("ok 64 kasan_bitops_generic") && !l.contains("ok 65 kasan_"))
            .map(|l| format!("{l}\n"))
            .collect();
        let r = parse_ktap(&cut);
        assert_eq!(
            r.lost,
            ["kasan: expected test 64 but found 66 (kasan_atomics)"]
        );
        assert_eq!(r.suites[0].cases.len(), 74);
        // A plan not met (the last lines lost).
        let short =
            "KTAP version 1\n1..1\n    # Subtest: s\n    1..3\n    ok 1 a\n    ok 2 b\nok 1 s\n";
        assert_eq!(
            parse_ktap(short).lost,
            ["s: planned 3 tests but the last one was 2"]
        );
    }
}
