// SPDX-License-Identifier: GPL-2.0

//! `cargo xtask matrix`: every configuration with both runtimes, one side-by-side table of every
//! test case, the component-off builds (one Rust build per `KASAN_RUST_*` component turned off),
//! and the regression rule: every case that does not fail with C must not fail with Rust.

use std::fmt::Write as _;
use std::fs;

use serde::Serialize;

use crate::build;
use crate::config::{out_name, CiTier, Config, Runtime};
use crate::kunit;
use crate::reports::{self, Comparison};
use crate::results::{Counts, Results, Status};
use crate::tree::Tree;
use crate::util::{self, Result};

/// How one (configuration, runtime) run went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state", content = "detail")]
pub enum RunState {
    /// It ran; its results count.
    Ran,
    /// The runtime is not in the tree yet (Rust without `config KASAN_RUST`).
    NotAvailable,
    /// The run does not apply, and why: the C runtime in a Rust-only config (see
    /// [`Config::rust_only`]) has nothing to run.
    NotApplicable(String),
    /// Building or running failed.
    Failed(String),
}

/// One (configuration, runtime) run.
#[derive(Clone, Debug, Serialize)]
pub struct Run {
    /// The configuration's name.
    pub config: &'static str,
    /// The runtime's name.
    pub runtime: &'static str,
    /// The `KASAN_RUST_*` component this (Rust) build turned off, for a component-off build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub off: Option<&'static str>,
    /// How it went.
    pub state: RunState,
    /// Its counts (zero unless it ran).
    pub counts: Counts,
    /// Its results.
    #[serde(skip)]
    pub results: Results,
    /// What it lacks against the suites and case counts its config declares
    /// ([`Config::expected_suites`]): missing suites or plans, other case counts. A run with
    /// any fails the matrix.
    pub problems: Vec<String>,
    /// Tag collisions: `suite.case`s of `kasan` that failed (a plain FAIL) here but passed
    /// when the same kernel was booted again (random memory tags can collide; see
    /// [`TAG_RETRIES`]).
    pub collisions: Vec<String>,
}

impl Run {
    /// A run that has not happened yet.
    pub fn new(config: Config, runtime: Runtime, off: Option<&'static str>) -> Run {
        Run {
            config: config.name(),
            runtime: runtime.name(),
            off,
            state: RunState::Ran,
            counts: Counts::default(),
            results: Results::default(),
            problems: Vec::new(),
            collisions: Vec::new(),
        }
    }

    /// `generic rust`, `generic rust (KASAN_RUST_SHADOW off)`.
    pub fn label(&self) -> String {
        match self.off {
            Some(off) => format!("{} {} ({off} off)", self.config, self.runtime),
            None => format!("{} {}", self.config, self.runtime),
        }
    }
}

/// How often a tag-based kernel is booted again when cases of upstream's suite fail with
/// Rust. Memory tags are random per boot: an out-of-bounds access into a neighbouring object
/// goes unnoticed when the neighbour drew the same tag, 1 time in 14 with hardware tags (1 in
/// 254 with software tags), so upstream's tests fail now and then with either runtime (seen
/// here: `kasan_memcmp` with C on hw-tags). A case that passes in another boot of the same
/// kernel is a collision, not a regression; one that fails every time stays a regression.
/// Four: with two, a case failed three boots in a row (CI, hw-tags with `KASAN_RUST_TAGS`
/// off, `kasan_memcmp`), which at 1 in 14 per boot happens once in 2744 tries, and a matrix
/// has some 150 tag-sensitive case boots; five boots in a row is once in half a million.
pub const TAG_RETRIES: usize = 4;

/// The only suite whose failures can be tag collisions: upstream's, whose cases make bad
/// accesses next to other objects. The Rust runtime's suites make none.
pub const COLLISION_SUITE: &str = "kasan";

fn status_in(r: &Results, suite: &str, case: &str) -> Option<Status> {
    r.suites
        .iter()
        .filter(|s| s.name == suite)
        .flat_map(|s| &s.cases)
        .find(|k| k.name == case)
        .map(|k| k.status)
}

/// The `(suite, case)`s of `rust` a re-boot may find to be tag collisions: on a tag-based
/// `config` only, each plain FAIL (not a crash, not a missing case) of [`COLLISION_SUITE`]
/// that is a regression against the C run `c` (C does not fail it too).
pub fn collision_candidates(
    config: Config,
    c: Option<&Results>,
    rust: &Results,
) -> Vec<(String, String)> {
    if !config.tag_based() {
        return Vec::new();
    }
    rust.suites
        .iter()
        .filter(|s| s.name == COLLISION_SUITE)
        .flat_map(|s| s.cases.iter().map(move |k| (s, k)))
        .filter(|(_, k)| k.status == Status::Fail)
        .filter(|(s, k)| {
            let c_cell = c
                .and_then(|c| status_in(c, &s.name, &k.name))
                .map_or(Cell::Missing, Cell::Result);
            is_regression(c_cell, Cell::Result(Status::Fail))
        })
        .map(|(s, k)| (s.name.clone(), k.name.clone()))
        .collect()
}

/// Marks as passed in `results` each of `cases` that is a plain FAIL there and a PASS in
/// `retry`, and returns their `suite.case` names.
pub fn adopt_retry_passes(
    results: &mut Results,
    retry: &Results,
    cases: &[(String, String)],
) -> Vec<String> {
    let mut adopted = Vec::new();
    for (suite, case) in cases {
        if status_in(retry, suite, case) != Some(Status::Pass) {
            continue;
        }
        let found = results
            .suites
            .iter_mut()
            .filter(|s| &s.name == suite)
            .flat_map(|s| s.cases.iter_mut())
            .find(|k| &k.name == case && k.status == Status::Fail);
        if let Some(k) = found {
            k.status = Status::Pass;
            k.failure = None;
            adopted.push(format!("{suite}.{case}"));
        }
    }
    adopted
}

/// Boots the Rust kernel of a tag-based `config` again with `boot`, at most [`TAG_RETRIES`]
/// times, while `run` has [`collision_candidates`] against the C results `c`; a candidate
/// that passes in a re-boot is a collision: counted as passed and listed in
/// `run.collisions`. A re-boot that fails stops the retries.
pub fn retry_tag_collisions(
    config: Config,
    c: Option<&Results>,
    run: &mut Run,
    mut boot: impl FnMut() -> Result<Results>,
) {
    for attempt in 1..=TAG_RETRIES {
        let candidates = collision_candidates(config, c, &run.results);
        let Some(first) = candidates.first() else {
            break;
        };
        eprintln!(
            "    {}: {} case(s) of {COLLISION_SUITE} fail ({}.{}...): memory tags are random and \
             can collide, booting the same kernel again ({attempt} of {TAG_RETRIES})",
            run.label(),
            candidates.len(),
            first.0,
            first.1
        );
        match boot() {
            Ok(retry) => {
                let adopted = adopt_retry_passes(&mut run.results, &retry, &candidates);
                run.collisions.extend(adopted);
            }
            Err(e) => {
                eprintln!("    {}: the retry failed: {e}", run.label());
                break;
            }
        }
    }
    run.counts = run.results.counts();
}

/// One cell of the side-by-side table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// The case ran with this verdict.
    Result(Status),
    /// The run happened, but without this case (or the run failed).
    Missing,
    /// The runtime is not available yet.
    NotAvailable,
    /// The run does not apply (the C runtime in a Rust-only config).
    NotApplicable,
}

impl Cell {
    fn word(self) -> &'static str {
        match self {
            Cell::Result(s) => s.word(),
            Cell::Missing => "-",
            Cell::NotAvailable | Cell::NotApplicable => "n/a",
        }
    }
}

/// The regression rule: a case of any suite that fails, crashes or has no result with Rust,
/// unless C fails (or crashes in) the same case; and a case that passes with C and is skipped
/// with Rust. So the Rust runtime's own suites, which C does not have (C missing, or not
/// applicable on a Rust-only boot), gate too. A Rust runtime not available yet regresses
/// nothing.
pub fn is_regression(c: Cell, rust: Cell) -> bool {
    let c_fails = matches!(c, Cell::Result(Status::Fail | Status::Error));
    match rust {
        Cell::NotAvailable | Cell::NotApplicable | Cell::Result(Status::Pass) => false,
        Cell::Result(Status::Skip) => c == Cell::Result(Status::Pass),
        Cell::Result(Status::Fail | Status::Error) | Cell::Missing => !c_fails,
    }
}

/// One row: a case in one configuration, C beside Rust (or beside a component-off build).
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// `suite.case`.
    pub case: String,
    /// The configuration.
    pub config: &'static str,
    /// The component the Rust build turned off, for a row of a component-off build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub off: Option<&'static str>,
    /// The C result (`PASS`, `FAIL`, `SKIP`, `ERROR`, `-` missing, `n/a`).
    pub c: &'static str,
    /// The Rust result.
    pub rust: &'static str,
    /// True by [`is_regression`].
    pub regression: bool,
    /// The Rust run's first failure line of the case, if it failed: printed under a
    /// regression, so that a CI log says which expectation failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rust_failure: Option<String>,
}

/// The whole matrix.
#[derive(Clone, Debug, Serialize)]
pub struct Matrix {
    /// The tree it ran on.
    pub tree: String,
    /// Every run.
    pub runs: Vec<Run>,
    /// Every case of every configuration.
    pub rows: Vec<Row>,
    /// Per configuration with both runtimes' runs, their `kasan` reports compared report for
    /// report ([`compare_reports`]).
    pub reports: Vec<(&'static str, Comparison)>,
    /// The configs `ci` did not run because their build dirs were cold, as a sentence; empty
    /// if none.
    pub not_run: String,
}

/// Renders `lines` under `header`: a Markdown table whose separator row has the cells `align`,
/// or text in aligned columns, with a rule above the last line when `total_last` (a totals row).
fn render(
    header: &[String],
    lines: &[Vec<String>],
    align: &[&str],
    markdown: bool,
    total_last: bool,
) -> String {
    let mut out = String::new();
    if markdown {
        let row = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
        out.push_str(&row(header));
        out.push_str(&format!("| {} |\n", align.join(" | ")));
        for l in lines {
            out.push_str(&row(l));
        }
        return out;
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            lines
                .iter()
                .map(Vec::as_slice)
                .chain([header])
                .map(|l| l[i].len())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let row = |cells: &[String]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let sep = if i == 0 { "" } else { "  " };
            let _ = write!(s, "{sep}{cell:<w$}", w = widths[i]);
        }
        s.trim_end().to_string() + "\n"
    };
    out.push_str(&row(header));
    for (i, l) in lines.iter().enumerate() {
        if total_last && i + 1 == lines.len() {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * widths.len()));
            out.push('\n');
        }
        out.push_str(&row(l));
    }
    out
}

fn cell(run: Option<&Run>, suite: &str, case: &str) -> Cell {
    let Some(run) = run else {
        return Cell::Missing;
    };
    match run.state {
        RunState::NotAvailable => return Cell::NotAvailable,
        RunState::NotApplicable(_) => return Cell::NotApplicable,
        RunState::Ran | RunState::Failed(_) => {}
    }
    run.results
        .suites
        .iter()
        .filter(|s| s.name == suite)
        .flat_map(|s| &s.cases)
        .find(|c| c.name == case)
        .map_or(Cell::Missing, |c| Cell::Result(c.status))
}

/// The rows of one configuration: every case either run ran, C's order first.
fn rows_of(
    config: &'static str,
    off: Option<&'static str>,
    c_run: Option<&Run>,
    rust_run: Option<&Run>,
) -> Vec<Row> {
    let mut cases: Vec<(String, String)> = Vec::new();
    for run in [c_run, rust_run].into_iter().flatten() {
        for s in &run.results.suites {
            for c in &s.cases {
                let key = (s.name.clone(), c.name.clone());
                if !cases.contains(&key) {
                    cases.push(key);
                }
            }
        }
    }
    cases
        .into_iter()
        .map(|(suite, case)| {
            let c = cell(c_run, &suite, &case);
            let rust = cell(rust_run, &suite, &case);
            Row {
                case: format!("{suite}.{case}"),
                config,
                off,
                c: c.word(),
                rust: rust.word(),
                regression: is_regression(c, rust),
                rust_failure: rust_run.and_then(|r| failure(&r.results, &suite, &case)),
            }
        })
        .collect()
}

/// The first failure line of `suite.case` in `results`, if it has one.
fn failure(results: &Results, suite: &str, case: &str) -> Option<String> {
    results
        .suites
        .iter()
        .filter(|s| s.name == suite)
        .flat_map(|s| &s.cases)
        .find(|c| c.name == case)
        .and_then(|c| c.failure.clone())
}

impl Matrix {
    /// Builds the rows from the runs: for each configuration, every case either runtime ran;
    /// then for each component-off build, every case it or its config's C run ran.
    pub fn new(tree: String, runs: Vec<Run>) -> Matrix {
        let mut rows = Vec::new();
        for config in Config::ALL {
            let find = |rt: Runtime| {
                runs.iter().find(|r| {
                    r.config == config.name() && r.runtime == rt.name() && r.off.is_none()
                })
            };
            let (c_run, rust_run) = (find(Runtime::C), find(Runtime::Rust));
            if c_run.is_some() || rust_run.is_some() {
                rows.extend(rows_of(config.name(), None, c_run, rust_run));
            }
            for off_run in runs
                .iter()
                .filter(|r| r.config == config.name() && r.off.is_some())
            {
                rows.extend(rows_of(config.name(), off_run.off, c_run, Some(off_run)));
            }
        }
        Matrix {
            tree,
            runs,
            rows,
            reports: Vec::new(),
            not_run: String::new(),
        }
    }

    /// Rows that regress (see [`is_regression`]), component-off builds' included.
    pub fn regressions(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.regression)
    }

    /// Runs that failed to build or run.
    pub fn failed_runs(&self) -> impl Iterator<Item = &Run> {
        self.runs
            .iter()
            .filter(|r| matches!(r.state, RunState::Failed(_)))
    }

    /// Runs that ran but lack suites, cases or plans their config declares.
    pub fn incomplete_runs(&self) -> impl Iterator<Item = &Run> {
        self.runs
            .iter()
            .filter(|r| r.state == RunState::Ran && !r.problems.is_empty())
    }

    /// True when nothing fails the matrix: no regression, no failed and no incomplete run, no
    /// case of a Generic config whose reports differ between the runtimes (see
    /// [`report_differences_fail`]).
    pub fn passed(&self) -> bool {
        self.regressions().next().is_none()
            && self.failed_runs().next().is_none()
            && self.incomplete_runs().next().is_none()
            && self
                .reports
                .iter()
                .all(|(c, cmp)| cmp.differences.is_empty() || !report_differences_fail(c))
    }

    /// The report comparison, one line per configuration, then each difference.
    pub fn reports_text(&self) -> String {
        let mut out = String::new();
        let width = self.reports.iter().map(|(c, _)| c.len()).max().unwrap_or(0);
        for (config, cmp) in &self.reports {
            let _ = writeln!(out, "{config:<width$}  {}", cmp.summary());
        }
        for (config, cmp) in &self.reports {
            let note = if report_differences_fail(config) {
                ""
            } else {
                " (random tags: not a failure)"
            };
            for d in &cmp.differences {
                let _ = writeln!(out, "{config}: {d}{note}");
            }
        }
        out
    }

    /// Every tag collision: (run label, `suite.case`).
    pub fn collisions(&self) -> Vec<(String, &str)> {
        self.runs
            .iter()
            .flat_map(|r| r.collisions.iter().map(move |c| (r.label(), c.as_str())))
            .collect()
    }

    /// The configurations present, in order.
    fn configs(&self) -> Vec<&'static str> {
        Config::ALL
            .iter()
            .map(|c| c.name())
            .filter(|c| self.runs.iter().any(|r| r.config == *c && r.off.is_none()))
            .collect()
    }

    /// The component-off builds' table: one line per build, its config, the component off,
    /// its pass/fail/skip (or its state) and its regressions against the config's C run.
    /// Empty without such builds.
    pub fn off_table(&self, markdown: bool) -> String {
        let header = ["config", "off", "pass/fail/skip", "regressions"].map(str::to_string);
        let mut lines: Vec<[String; 4]> = Vec::new();
        for run in self.runs.iter().filter(|r| r.off.is_some()) {
            let counts = match &run.state {
                RunState::Ran if run.problems.is_empty() => {
                    let n = run.counts;
                    format!("{}/{}/{}", n.pass, n.fail, n.skip)
                }
                RunState::Ran => "incomplete".to_string(),
                RunState::NotAvailable | RunState::NotApplicable(_) => "n/a".to_string(),
                RunState::Failed(_) => "failed".to_string(),
            };
            let regressed: Vec<&str> = self
                .regressions()
                .filter(|r| r.config == run.config && r.off == run.off)
                .map(|r| r.case.as_str())
                .collect();
            let regressions = match regressed.as_slice() {
                [] => "0".to_string(),
                [a] => format!("1: {a}"),
                [a, b] => format!("2: {a}, {b}"),
                [a, b, ..] => format!("{}: {a}, {b}, ...", regressed.len()),
            };
            lines.push([
                run.config.to_string(),
                run.off.unwrap_or_default().to_string(),
                counts,
                regressions,
            ]);
        }
        if lines.is_empty() {
            return String::new();
        }
        let lines: Vec<Vec<String>> = lines.into_iter().map(Vec::from).collect();
        render(
            &header,
            &lines,
            &["---", "---", ":---:", "---"],
            markdown,
            false,
        )
    }

    /// The side-by-side table: one line per case, `C | Rust` per configuration. `markdown`
    /// selects a Markdown table instead of aligned text.
    pub fn table(&self, markdown: bool) -> String {
        let configs = self.configs();
        let mut cases: Vec<&str> = Vec::new();
        for r in self.rows.iter().filter(|r| r.off.is_none()) {
            if !cases.contains(&r.case.as_str()) {
                cases.push(&r.case);
            }
        }
        let mut header = vec!["case".to_string()];
        for c in &configs {
            header.push(format!("{c} C"));
            header.push(format!("{c} Rust"));
        }
        let mut lines: Vec<Vec<String>> = Vec::new();
        for case in &cases {
            let mut line = vec![case.to_string()];
            for c in &configs {
                let row = self
                    .rows
                    .iter()
                    .find(|r| r.case == *case && r.config == *c && r.off.is_none());
                match row {
                    Some(r) => {
                        line.push(r.c.to_string());
                        let mark = if r.regression { " !" } else { "" };
                        line.push(format!("{}{mark}", r.rust));
                    }
                    None => line.extend(["-".to_string(), "-".to_string()]),
                }
            }
            lines.push(line);
        }
        let mut totals = vec!["pass/fail/skip".to_string()];
        for c in &configs {
            for rt in Runtime::ALL {
                let run = self
                    .runs
                    .iter()
                    .find(|r| r.config == *c && r.runtime == rt.name() && r.off.is_none());
                totals.push(match run.map(|r| &r.state) {
                    Some(RunState::Ran) if run.is_some_and(|r| !r.problems.is_empty()) => {
                        "incomplete".to_string()
                    }
                    Some(RunState::Ran) => {
                        let n = run.map(|r| r.counts).unwrap_or_default();
                        format!("{}/{}/{}", n.pass, n.fail, n.skip)
                    }
                    Some(RunState::NotAvailable | RunState::NotApplicable(_)) => "n/a".to_string(),
                    Some(RunState::Failed(_)) => "failed".to_string(),
                    None => "-".to_string(),
                });
            }
        }
        lines.push(totals);
        let mut align = vec!["---"];
        align.extend(std::iter::repeat_n(":---:", header.len() - 1));
        render(&header, &lines, &align, markdown, true)
    }

    /// The verdict below the table.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for run in &self.runs {
            let label = run.label();
            match &run.state {
                RunState::NotAvailable => {
                    let _ = writeln!(
                        out,
                        "{label}: n/a (no config KASAN_RUST in the tree yet; only C counts)"
                    );
                }
                RunState::NotApplicable(why) => {
                    let _ = writeln!(out, "{label}: n/a ({why})");
                }
                RunState::Failed(why) => {
                    let _ = writeln!(out, "{label}: FAILED: {why}");
                }
                RunState::Ran => {
                    for problem in &run.problems {
                        let _ = writeln!(out, "{label}: INCOMPLETE: {problem}");
                    }
                    for lost in &run.results.lost {
                        let _ = writeln!(out, "{label}: warning: the console lost lines: {lost}");
                    }
                }
            }
        }
        if !self.not_run.is_empty() {
            let _ = writeln!(out, "{}", self.not_run);
        }
        let collisions = self.collisions();
        if !collisions.is_empty() {
            let _ = writeln!(
                out,
                "{} tag collision(s): failed, then passed when the same kernel was booted again:",
                collisions.len()
            );
            for (label, case) in &collisions {
                let _ = writeln!(out, "  {label}: {case}");
            }
        }
        let regressions: Vec<&Row> = self.regressions().collect();
        if regressions.is_empty() {
            out.push_str(
                "no regressions: no case fails, crashes, is missing or newly skips with Rust \
                 unless it fails with C\n",
            );
            return out;
        }
        let _ = writeln!(
            out,
            "{} regression(s): fails, crashes, is missing or skips with Rust, and does not fail \
             with C:",
            regressions.len()
        );
        let mut groups: Vec<(&str, Option<&str>)> = Vec::new();
        for r in &regressions {
            if !groups.contains(&(r.config, r.off)) {
                groups.push((r.config, r.off));
            }
        }
        for (config, off) in groups {
            let name = match off {
                Some(off) => format!("{config} ({off} off)"),
                None => config.to_string(),
            };
            let rust_failed = self.runs.iter().any(|r| {
                r.config == config
                    && r.runtime == Runtime::Rust.name()
                    && r.off == off
                    && matches!(r.state, RunState::Failed(_))
            });
            let here: Vec<&&Row> = regressions
                .iter()
                .filter(|r| r.config == config && r.off == off)
                .collect();
            if rust_failed {
                let _ = writeln!(
                    out,
                    "  {name}: all {} cases that C ran (the Rust run failed)",
                    here.len()
                );
                continue;
            }
            for r in here {
                let _ = writeln!(out, "  {name} {}: C {}, Rust {}", r.case, r.c, r.rust);
                if let Some(line) = &r.rust_failure {
                    let _ = writeln!(out, "      {line}");
                }
            }
        }
        out
    }

    /// Writes `matrix.json` and `matrix.md` into `target/rkasan/`.
    pub fn write(&self) -> Result<()> {
        let dir = util::out_dir();
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| util::Error(format!("cannot encode matrix.json: {e}")))?;
        util::write(&dir.join("matrix.json"), json + "\n")?;
        let md = format!(
            "# rkasan matrix\n\nTree: `{}`. `!` marks a regression: the case fails, crashes, \
             has no result or newly skips with Rust, and does not fail with C; `n/a`: the \
             runtime is not in the tree yet, or has nothing to run in that config; `-`: no \
             result.\n\n{}\n{}{}",
            self.tree,
            self.table(true),
            if self.off_table(true).is_empty() {
                String::new()
            } else {
                format!(
                    "## Component-off builds\n\nRust builds with one `KASAN_RUST_*` component \
                     off (that part is C), compared with the config's C run.\n\n{}\n",
                    self.off_table(true)
                )
            },
            self.summary()
        );
        let md = if self.reports.is_empty() {
            md
        } else {
            format!(
                "{md}\n## Reports, C vs Rust\n\nThe `kasan` cases that pass with both runtimes, \
                 report for report: bug type, function, access, object description and the \
                 shadow byte at the bad address (not on tag-based configs, whose tags are \
                 random), addresses, pids, offsets and stack frames masked.\n\n```\n{}```\n",
                self.reports_text()
            )
        };
        util::write(&dir.join("matrix.md"), md)?;
        Ok(())
    }
}

/// Whether a report difference on `config` fails the matrix: on the Generic configs, where a
/// case's reports follow from the code and its objects' placement. With random tags they can
/// differ between any two boots, also of one runtime: which of its objects' stack ring entries
/// a tag-based report finds, and so the bug type it guesses (report_tags.c), depends on the
/// tags the boot drew; those differences are listed, not counted.
pub fn report_differences_fail(config: &str) -> bool {
    Config::parse(config).is_some_and(|c| !c.tag_based())
}

/// Compares the `kasan` reports of each configuration's C and Rust runs (both ran, no
/// component off, no `--filter` that left `kasan` out), from their consoles in
/// `target/rkasan/<config>-<runtime>/console.log`.
pub fn compare_reports(runs: &[Run]) -> Vec<(&'static str, Comparison)> {
    let ran = |config: Config, runtime: Runtime| {
        runs.iter().any(|r| {
            r.config == config.name()
                && r.runtime == runtime.name()
                && r.off.is_none()
                && r.state == RunState::Ran
                && r.results.suites.iter().any(|s| s.name == COLLISION_SUITE)
        })
    };
    let console = |config: Config, runtime: Runtime| {
        let path = util::out_dir()
            .join(out_name(config, runtime, None))
            .join("console.log");
        fs::read(path).map(|raw| String::from_utf8_lossy(&raw).into_owned())
    };
    let mut out = Vec::new();
    for config in Config::ALL {
        if !ran(config, Runtime::C) || !ran(config, Runtime::Rust) {
            continue;
        }
        if let (Ok(c), Ok(rust)) = (console(config, Runtime::C), console(config, Runtime::Rust)) {
            let cmp = reports::compare_consoles(&c, &rust, COLLISION_SUITE, config.tag_based());
            out.push((config.name(), cmp));
        }
    }
    out
}

/// One run of `config` with `runtime` (and the component `off` turned off) in `matrix`:
/// built, or booted from the build dir when `prebuilt`, checked against what its config
/// declares, and for Rust on a tag-based config retried for tag collisions.
fn one_run(
    tree: &Tree,
    (config, runtime, off): (Config, Runtime, Option<&'static str>),
    filter: Option<&str>,
    jobs: usize,
    prebuilt: bool,
    runs: &[Run],
) -> Run {
    let mut run = Run::new(config, runtime, off);
    let outcome = if prebuilt {
        kunit::run_prebuilt(tree, config, runtime, off, filter)
    } else {
        kunit::run(tree, config, runtime, off, filter, jobs)
    };
    match outcome {
        Ok(outcome) => {
            run.counts = outcome.results.counts();
            let c = run.counts;
            eprintln!(
                "    {}: {} pass / {} fail / {} skip",
                run.label(),
                c.pass,
                c.fail,
                c.skip
            );
            for p in &outcome.problems {
                eprintln!("error: {}: {p}", run.label());
            }
            run.results = outcome.results;
            run.problems = outcome.problems;
            if runtime == Runtime::Rust {
                let c_results = runs
                    .iter()
                    .find(|r| {
                        r.config == config.name()
                            && r.runtime == Runtime::C.name()
                            && r.state == RunState::Ran
                    })
                    .map(|r| &r.results);
                retry_tag_collisions(config, c_results, &mut run, || {
                    kunit::run_prebuilt(tree, config, runtime, off, filter).map(|o| o.results)
                });
            }
        }
        Err(e) => {
            eprintln!("error: {}: {e}", run.label());
            run.state = RunState::Failed(e.0.lines().next().unwrap_or("").into());
        }
    }
    run
}

/// The order of the matrix's runs: per configuration C then Rust, so each build dir is
/// rebuilt incrementally once per runtime, an extra boot right after its base config's runs
/// (it boots the kernel they built), and a build dir's component-off builds (Rust, one
/// component off each) after the last run that boots its base kernel. Without `all`, only
/// what `ci` runs ([`Config::ci_tier`], [`Config::ci_off_builds`]), where `built` says which
/// build dirs hold a kernel already ([`build::is_built`]).
pub fn plan(
    all: bool,
    built: &dyn Fn(Config) -> bool,
) -> Vec<(Config, Runtime, Option<&'static str>)> {
    let mut plan = Vec::new();
    let configs: Vec<Config> = Config::ALL
        .into_iter()
        .filter(|c| all || in_ci(*c, built))
        .collect();
    for (i, &config) in configs.iter().enumerate() {
        for runtime in Runtime::ALL {
            plan.push((config, runtime, None));
        }
        let last_of_dir = configs
            .get(i + 1)
            .is_none_or(|next| next.base() != config.base());
        if last_of_dir && (all || config.base().ci_off_builds()) {
            for off in config.base().off_builds() {
                plan.push((config.base(), Runtime::Rust, Some(*off)));
            }
        }
    }
    plan
}

/// Whether `ci` runs `config` ([`CiTier`]), given which build dirs are `built`.
fn in_ci(config: Config, built: &dyn Fn(Config) -> bool) -> bool {
    match config.ci_tier() {
        CiTier::Always => true,
        CiTier::WhenBuilt => built(config.base()),
        CiTier::AllOnly => false,
    }
}

/// The configs `ci` would run if their build dirs were built, and does not: one line for
/// `matrix.md` and the console, empty if there are none.
fn not_run_line(built: &dyn Fn(Config) -> bool) -> String {
    let cold: Vec<&str> = Config::ALL
        .into_iter()
        .filter(|c| c.ci_tier() == CiTier::WhenBuilt && !built(c.base()))
        .map(|c| c.name())
        .collect();
    if cold.is_empty() {
        return String::new();
    }
    format!(
        "not run by this ci: {} (their build dirs are cold, and cold builds of them would not \
         fit CI's 90 minutes on 2 cores; `cargo xtask matrix --all` builds and runs them, and \
         then every ci does)",
        cold.join(", ")
    )
}

/// Runs the matrix ([`plan`]: `ci`'s part of it, every config with `all`), or with `only` the
/// runs of that config's build directory (its base config, its extra boots and its
/// component-off builds), and reports. Returns true when it found no regression and every
/// run that should happen did, completely.
pub fn matrix(
    tree: &Tree,
    filter: Option<&str>,
    only: Option<Config>,
    all: bool,
    jobs: usize,
) -> Result<bool> {
    let rust_available = kunit::has_kasan_rust(tree)?;
    let mut runs: Vec<Run> = Vec::new();
    // Per build directory, the kernel (runtime, component off) a run of this matrix built
    // there last.
    let mut built: Vec<(&'static str, Runtime, Option<&'static str>)> = Vec::new();
    let in_scope = |c: Config| only.is_none_or(|o| o.base() == c.base());
    // Which build dirs hold a kernel, before this matrix builds any.
    let was_built: Vec<Config> = Config::ALL
        .into_iter()
        .filter(|c| build::is_built(tree, *c))
        .collect();
    let warm = |c: Config| was_built.contains(&c);
    let not_run = if all || only.is_some() {
        String::new()
    } else {
        not_run_line(&warm)
    };
    if !not_run.is_empty() {
        eprintln!("==> {not_run}");
    }
    for (config, runtime, off) in plan(all || only.is_some(), &warm)
        .into_iter()
        .filter(|p| in_scope(p.0))
    {
        let label = Run::new(config, runtime, off).label();
        let base_failed = (config.base() != config || off.is_some())
            && runs.iter().any(|r| {
                r.config == config.base().name()
                    && r.runtime == runtime.name()
                    && r.off.is_none()
                    && matches!(r.state, RunState::Failed(_))
            });
        let dir = config.build_name();
        let prebuilt = config.base() != config && built.contains(&(dir, runtime, off));
        let run = if runtime == Runtime::Rust && !rust_available {
            eprintln!("==> {label}: n/a (lib/Kconfig.kasan has no config KASAN_RUST)");
            let mut run = Run::new(config, runtime, off);
            run.state = RunState::NotAvailable;
            run
        } else if runtime == Runtime::C && config.rust_only() && filter.is_none() {
            let why = format!(
                "the C runtime has no suite {}",
                config.default_filter().unwrap_or_default()
            );
            eprintln!("==> {label}: n/a ({why})");
            let mut run = Run::new(config, runtime, off);
            run.state = RunState::NotApplicable(why);
            run
        } else if base_failed {
            let why = format!("not run: the {} {runtime} run failed", config.base());
            eprintln!("error: {label}: {why}");
            let mut run = Run::new(config, runtime, off);
            run.state = RunState::Failed(why);
            run
        } else {
            let run = one_run(tree, (config, runtime, off), filter, jobs, prebuilt, &runs);
            // A failed run may have left anything in the build dir.
            built.retain(|(d, _, _)| *d != dir);
            if run.state == RunState::Ran {
                built.push((dir, runtime, off));
            }
            run
        };
        runs.push(run);
    }
    let mut m = Matrix::new(tree.path.display().to_string(), runs);
    m.reports = compare_reports(&m.runs);
    m.not_run = not_run;
    m.write()?;
    println!("{}", m.table(false));
    let off_table = m.off_table(false);
    if !off_table.is_empty() {
        println!("component-off builds (Rust, one KASAN_RUST_* off, against the config's C run):");
        println!("{off_table}");
    }
    if !m.reports.is_empty() {
        println!("reports, C vs Rust (kasan cases passing with both runtimes):");
        print!("{}", m.reports_text());
    }
    print!("{}", m.summary());
    println!(
        "matrix: {} and {}",
        util::out_dir().join("matrix.md").display(),
        util::out_dir().join("matrix.json").display()
    );
    Ok(m.passed())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{parse_ktap, Case, Suite};

    #[test]
    fn regression_rule() {
        use Cell::*;
        use Status::*;
        assert!(!is_regression(Result(Pass), Result(Pass)));
        assert!(is_regression(Result(Pass), Result(Fail)));
        assert!(is_regression(Result(Pass), Result(Skip)));
        assert!(is_regression(Result(Pass), Result(Error)));
        assert!(is_regression(Result(Pass), Missing));
        assert!(!is_regression(Result(Pass), NotAvailable));
        // C fails or crashes the case too: not Rust's regression.
        assert!(!is_regression(Result(Fail), Result(Fail)));
        assert!(!is_regression(Result(Fail), Result(Pass)));
        assert!(!is_regression(Result(Error), Result(Fail)));
        assert!(!is_regression(Result(Fail), Result(Error)));
        assert!(!is_regression(Result(Fail), Missing));
        // C skips or lacks the case (the Rust runtime's own suites): any Rust failure counts.
        assert!(is_regression(Result(Skip), Result(Fail)));
        assert!(is_regression(Result(Skip), Result(Error)));
        assert!(is_regression(Result(Skip), Missing));
        assert!(!is_regression(Result(Skip), Result(Skip)));
        assert!(is_regression(Missing, Result(Fail)));
        assert!(is_regression(Missing, Result(Error)));
        assert!(!is_regression(Missing, Result(Skip)));
        assert!(!is_regression(Missing, Result(Pass)));
        // A Rust-only config: nothing to compare with, so only Rust failures count.
        assert!(!is_regression(NotApplicable, Result(Pass)));
        assert!(!is_regression(NotApplicable, Result(Skip)));
        assert!(!is_regression(NotApplicable, NotAvailable));
        assert!(is_regression(NotApplicable, Result(Fail)));
        assert!(is_regression(NotApplicable, Result(Error)));
        assert!(is_regression(NotApplicable, Missing));
    }

    fn run(config: &'static str, runtime: &'static str, results: Results) -> Run {
        Run {
            config,
            runtime,
            off: None,
            state: RunState::Ran,
            counts: results.counts(),
            results,
            problems: Vec::new(),
            collisions: Vec::new(),
        }
    }

    #[test]
    fn rust_only_suites_gate() {
        // C has no rkasan or rkasan_quarantine: a Rust failure there still regresses.
        let c = recorded("generic");
        let mut rust = c.clone();
        let suite = |name: &str, cases: &[(&str, Status)]| Suite {
            name: name.into(),
            cases: cases
                .iter()
                .map(|(n, s)| Case {
                    name: n.to_string(),
                    status: *s,
                    failure: None,
                })
                .collect(),
            verdict: None,
        };
        rust.suites.push(suite(
            "rkasan",
            &[
                ("a", Status::Pass),
                ("b", Status::Skip),
                ("c", Status::Error),
            ],
        ));
        rust.suites
            .push(suite("rkasan_quarantine", &[("holds", Status::Fail)]));
        let m = Matrix::new(
            "t".into(),
            vec![run("generic", "c", c), run("generic", "rust", rust)],
        );
        let regressed: Vec<&str> = m.regressions().map(|r| r.case.as_str()).collect();
        assert_eq!(regressed, ["rkasan.c", "rkasan_quarantine.holds"]);
        assert!(!m.passed());
        assert!(m
            .summary()
            .contains("  generic rkasan_quarantine.holds: C -, Rust FAIL\n"));
    }

    /// Results of suites given as `suite.case=STATUS` words (`P`ass, `F`ail, `S`kip, `E`rror).
    fn results(spec: &str) -> Results {
        let mut r = Results::default();
        for word in spec.split_whitespace() {
            let (name, status) = word.split_once('=').unwrap();
            let (suite, case) = name.split_once('.').unwrap();
            let status = match status {
                "P" => Status::Pass,
                "F" => Status::Fail,
                "S" => Status::Skip,
                _ => Status::Error,
            };
            if r.suites.last().is_none_or(|s| s.name != suite) {
                r.suites.push(Suite {
                    name: suite.into(),
                    cases: Vec::new(),
                    verdict: None,
                });
            }
            r.suites.last_mut().unwrap().cases.push(Case {
                name: case.into(),
                status,
                failure: None,
            });
        }
        r
    }

    fn names(v: &[(String, String)]) -> Vec<String> {
        v.iter().map(|(s, c)| format!("{s}.{c}")).collect()
    }

    #[test]
    fn collision_candidates_are_plain_kasan_failures_on_tag_configs() {
        let c = results("kasan.a=P kasan.b=P kasan.c=P kasan.d=F kasan.e=S kasan.f=P");
        let rust = results(
            "kasan.a=F kasan.b=E kasan.d=F kasan.e=F kasan.f=P rkasan.x=F rkasan_quarantine.y=F",
        );
        // b crashed, c is missing, d fails with C too, the Rust suites are never retried.
        let want = ["kasan.a", "kasan.e"];
        assert_eq!(
            names(&collision_candidates(Config::HwTags, Some(&c), &rust)),
            want
        );
        assert_eq!(
            names(&collision_candidates(Config::SwTags, Some(&c), &rust)),
            want
        );
        // No C run to compare with: every plain kasan FAIL is a candidate.
        assert_eq!(
            names(&collision_candidates(Config::SwTags, None, &rust)),
            ["kasan.a", "kasan.d", "kasan.e"]
        );
        for untagged in [Config::Generic, Config::Full, Config::Static] {
            assert!(collision_candidates(untagged, Some(&c), &rust).is_empty());
        }
    }

    /// Runs the retry loop on hw-tags with `boots` as the re-boots, and returns the run and
    /// how many re-boots happened.
    fn retry(c: &Results, rust: Results, boots: Vec<Result<Results>>) -> (Run, usize) {
        let mut r = run("hw-tags", "rust", rust);
        let mut boots = boots.into_iter();
        let mut n = 0;
        retry_tag_collisions(Config::HwTags, Some(c), &mut r, || {
            n += 1;
            boots.next().expect("no more boots than TAG_RETRIES")
        });
        (r, n)
    }

    #[test]
    fn tag_collision_retry_loop() {
        let c = results("kasan.a=P kasan.b=P kasan.c=P rkasan.x=P");
        // Nothing fails: no re-boot.
        let (r, n) = retry(
            &c,
            results("kasan.a=P kasan.b=P kasan.c=P rkasan.x=P"),
            vec![],
        );
        assert_eq!((n, r.collisions.len()), (0, 0));

        // a passes on the first re-boot, b on the second: two collisions, two boots.
        let (r, n) = retry(
            &c,
            results("kasan.a=F kasan.b=F kasan.c=P"),
            vec![
                Ok(results("kasan.a=P kasan.b=F kasan.c=P")),
                Ok(results("kasan.a=F kasan.b=P kasan.c=F")),
            ],
        );
        assert_eq!(n, 2);
        assert_eq!(r.collisions, ["kasan.a", "kasan.b"]);
        // c failing in a re-boot does not touch the first boot's PASS.
        assert_eq!(r.counts.pass, 3);

        // Fails in every boot: a regression, after TAG_RETRIES re-boots.
        let (r, n) = retry(
            &c,
            results("kasan.a=F kasan.b=P kasan.c=P"),
            (0..TAG_RETRIES).map(|_| Ok(results("kasan.a=F"))).collect(),
        );
        assert_eq!((n, r.collisions.len()), (TAG_RETRIES, 0));
        assert_eq!(r.counts.fail, 1);

        // The re-boot crashes: no adoption, no further boot.
        let (r, n) = retry(
            &c,
            results("kasan.a=F kasan.b=P kasan.c=P"),
            vec![Err(util::Error("kernel panic".into()))],
        );
        assert_eq!((n, r.collisions.len()), (1, 0));
        assert_eq!(r.counts.fail, 1);

        // The re-boot reports the case as crashed, or not at all: not a collision.
        let (r, n) = retry(
            &c,
            results("kasan.a=F kasan.b=P kasan.c=P"),
            (0..TAG_RETRIES)
                .map(|i| Ok(results(["kasan.a=E", "kasan.b=P"][i % 2])))
                .collect(),
        );
        assert_eq!((n, r.collisions.len()), (TAG_RETRIES, 0));

        // A crash or a missing case in the first boot, and any Rust-suite failure: never
        // retried, whatever a re-boot would say.
        let (r, n) = retry(&c, results("kasan.a=E kasan.b=P rkasan.x=F"), vec![]);
        assert_eq!((n, r.collisions.len()), (0, 0));
        assert_eq!(r.counts.fail, 2);

        // The summary lists every collision, with their count.
        let (r, _) = retry(
            &c,
            results("kasan.a=F kasan.b=F kasan.c=P"),
            vec![Ok(results("kasan.a=P kasan.b=P"))],
        );
        let c = results("kasan.a=P kasan.b=P");
        let m = Matrix::new("t".into(), vec![run("hw-tags", "c", c), r]);
        let summary = m.summary();
        assert!(summary.contains("2 tag collision(s)"), "{summary}");
        assert!(summary.contains("  hw-tags rust: kasan.a\n  hw-tags rust: kasan.b\n"));
        assert!(m.passed(), "{summary}");
    }

    fn recorded(config: &str) -> Results {
        let path = util::workspace_root()
            .join("xtask/tests/data")
            .join(format!("c-runtime-{config}.console.log"));
        parse_ktap(&std::fs::read_to_string(path).unwrap())
    }

    #[test]
    fn rust_not_available_counts_only_c() {
        let mut na = run("generic", "rust", Results::default());
        na.state = RunState::NotAvailable;
        let m = Matrix::new(
            "t".into(),
            vec![run("generic", "c", recorded("generic")), na],
        );
        assert_eq!(m.rows.len(), 76);
        assert!(m.rows.iter().all(|r| r.rust == "n/a"));
        assert_eq!(m.regressions().count(), 0);
        let table = m.table(false);
        assert!(table.starts_with("case"), "{table}");
        assert!(table.contains("kasan.kasan_strings"));
        assert!(table.lines().last().unwrap().contains("61/1/14"));
        assert!(m.summary().contains("no regressions"));
    }

    #[test]
    fn rust_regressions_are_found() {
        // Rust = C, except kmalloc_oob_right fails and kasan_strings passes.
        let c = recorded("full");
        let mut rust = c.clone();
        for case in &mut rust.suites[0].cases {
            match case.name.as_str() {
                "kmalloc_oob_right" => {
                    case.status = Status::Fail;
                    case.failure = Some("EXPECTATION FAILED at mm/kasan/kasan_test_c.c:1".into());
                }
                "kasan_strings" => {
                    case.status = Status::Pass;
                    case.failure = None;
                }
                _ => {}
            }
        }
        rust.suites[0].cases.retain(|c| c.name != "rust_uaf");
        rust.suites.push(Suite {
            name: "rkasan".into(),
            cases: vec![Case {
                name: "shadow".into(),
                status: Status::Pass,
                failure: None,
            }],
            verdict: None,
        });
        let m = Matrix::new(
            "t".into(),
            vec![run("full", "c", c), run("full", "rust", rust)],
        );
        let regressed: Vec<&str> = m.regressions().map(|r| r.case.as_str()).collect();
        assert_eq!(regressed, ["kasan.kmalloc_oob_right", "kasan.rust_uaf"]);
        let md = m.table(true);
        assert!(md.starts_with("| case | full C | full Rust |\n| --- | :---: | :---: |\n"));
        assert!(md.contains("| kasan.kmalloc_oob_right | PASS | FAIL ! |"));
        assert!(md.contains("| kasan.rust_uaf | PASS | - ! |"));
        assert!(md.contains("| rkasan.shadow | - | PASS |"));
        assert!(m.summary().contains("2 regression(s)"));
        assert!(m
            .summary()
            .contains("  full kasan.rust_uaf: C PASS, Rust -\n"));
        // A failed case's failure line goes under it; a missing case has none.
        assert!(m.summary().contains(
            "  full kasan.kmalloc_oob_right: C PASS, Rust FAIL\n      \
             EXPECTATION FAILED at mm/kasan/kasan_test_c.c:1\n  full kasan.rust_uaf"
        ));
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["runs"][0]["state"]["state"], "ran");
        assert_eq!(json["rows"][0]["c"], "PASS");
    }

    fn rkasan(statuses: &[(&str, Status)]) -> Results {
        Results {
            suites: vec![Suite {
                name: "rkasan".into(),
                cases: statuses
                    .iter()
                    .map(|(name, status)| Case {
                        name: name.to_string(),
                        status: *status,
                        failure: None,
                    })
                    .collect(),
                verdict: None,
            }],
            ..Results::default()
        }
    }

    #[test]
    fn rust_only_configs_show_c_as_na() {
        let mut c_async = run("hw-tags-async", "c", Results::default());
        c_async.state = RunState::NotApplicable("the C runtime has no suite rkasan".into());
        let mut c_off = run("hw-tags-off", "c", Results::default());
        c_off.state = RunState::NotApplicable("the C runtime has no suite rkasan".into());
        let m = Matrix::new(
            "t".into(),
            vec![
                c_async,
                run(
                    "hw-tags-async",
                    "rust",
                    rkasan(&[("shadow", Status::Pass), ("tags", Status::Skip)]),
                ),
                c_off,
                run(
                    "hw-tags-off",
                    "rust",
                    rkasan(&[("shadow", Status::Pass), ("tags", Status::Fail)]),
                ),
            ],
        );
        assert_eq!(m.rows.len(), 4);
        assert!(m.rows.iter().all(|r| r.c == "n/a"));
        let regressed: Vec<(&str, &str)> = m
            .regressions()
            .map(|r| (r.config, r.case.as_str()))
            .collect();
        assert_eq!(regressed, [("hw-tags-off", "rkasan.tags")]);
        assert_eq!(m.failed_runs().count(), 0);
        let md = m.table(true);
        assert!(
            md.starts_with(
                "| case | hw-tags-async C | hw-tags-async Rust | hw-tags-off C | hw-tags-off Rust |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| rkasan.tags | n/a | SKIP | n/a | FAIL ! |"),
            "{md}"
        );
        assert!(
            md.contains("| pass/fail/skip | n/a | 1/0/1 | n/a | 1/1/0 |"),
            "{md}"
        );
        let summary = m.summary();
        assert!(
            summary.contains("hw-tags-async c: n/a (the C runtime has no suite rkasan)\n"),
            "{summary}"
        );
        assert!(
            summary.contains("  hw-tags-off rkasan.tags: C n/a, Rust FAIL\n"),
            "{summary}"
        );
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["runs"][0]["state"]["state"], "not-applicable");
    }

    #[test]
    fn failed_rust_run_is_one_line() {
        let mut failed = run("static", "rust", Results::default());
        failed.state = RunState::Failed("build failed".into());
        let m = Matrix::new(
            "t".into(),
            vec![run("static", "c", recorded("static")), failed],
        );
        // Every case C ran is missing with Rust: the 13 C skips too.
        assert_eq!(m.regressions().count(), 73);
        assert_eq!(m.failed_runs().count(), 1);
        let summary = m.summary();
        assert!(
            summary.contains("static rust: FAILED: build failed\n"),
            "{summary}"
        );
        assert!(summary.contains("  static: all 73 cases that C ran (the Rust run failed)"));
        assert_eq!(summary.lines().count(), 3, "{summary}");
    }

    #[test]
    fn report_differences_fail_generic_configs_only() {
        let mut m = Matrix::new("t".into(), Vec::new());
        assert!(m.passed());
        let differ = Comparison {
            cases: 1,
            c_reports: 1,
            rust_reports: 1,
            same: 0,
            differences: vec!["kasan.a: report 1: line 2: ...".into()],
            ..Comparison::default()
        };
        m.reports = vec![("sw-tags", differ.clone()), ("hw-tags", differ.clone())];
        assert!(m.passed());
        assert!(m.reports_text().contains("(random tags: not a failure)"));
        m.reports.push(("x86_64", differ));
        assert!(!m.passed());
        assert!(m
            .reports_text()
            .contains("x86_64: kasan.a: report 1: line 2: ...\n"));
    }

    #[test]
    fn plan_orders_off_builds_after_their_dir() {
        let plan = plan(true, &|_| false);
        let label = |(c, r, off): &(Config, Runtime, Option<&str>)| {
            format!(
                "{c} {r}{}",
                off.map(|o| format!(" -{o}")).unwrap_or_default()
            )
        };
        let labels: Vec<String> = plan.iter().map(label).collect();
        let at = |l: &str| labels.iter().position(|x| x == l).unwrap();
        // Per dir: C, Rust, the extra boots of that kernel, then each component off.
        assert!(at("generic c") < at("generic rust"));
        assert!(at("generic rust") < at("generic rust -KASAN_RUST_SHADOW"));
        assert!(at("generic rust -KASAN_RUST_PARAMS") < at("full c"));
        assert!(at("hw-tags-off rust") < at("hw-tags rust -KASAN_RUST_TAGS"));
        assert!(at("hw-tags rust") < at("hw-tags-async rust"));
        assert!(at("sw-tags rust -KASAN_RUST_SW_TAGS") < at("hw-tags c"));
        let offs: Vec<String> = plan.iter().filter(|p| p.2.is_some()).map(label).collect();
        let want: Vec<String> = [Config::Generic, Config::SwTags, Config::HwTags]
            .iter()
            .flat_map(|c| c.components().iter().map(move |o| format!("{c} rust -{o}")))
            .collect();
        assert_eq!(offs, want);
        assert_eq!(offs.len(), 13);
        assert!(plan.iter().all(|p| p.2.is_none() || p.1 == Runtime::Rust));

        // ci's part: no full, no arm64-generic, component-off builds on UML only.
        let ci: Vec<String> = super::plan(false, &|_| true).iter().map(label).collect();
        assert!(ci
            .iter()
            .all(|l| !l.starts_with("full ") && !l.starts_with("arm64-generic ")));
        assert!(ci.contains(&"x86_64-outline rust".to_string()));
        assert!(ci.contains(&"hw-tags-off rust".to_string()));
        let ci_offs: Vec<&String> = ci.iter().filter(|l| l.contains(" -KASAN_RUST_")).collect();
        assert_eq!(ci_offs.len(), 4);
        assert!(ci_offs.iter().all(|l| l.starts_with("generic rust -")));
        assert_eq!(ci.len(), labels.len() - 4 - 9);

        // On a fresh machine: only what fits cold; the rest is named as not run.
        let fresh: Vec<String> = super::plan(false, &|_| false).iter().map(label).collect();
        let configs: Vec<&str> = fresh.iter().map(|l| l.split(' ').next().unwrap()).collect();
        assert!(configs
            .iter()
            .all(|c| ["generic", "static", "x86_64"].contains(c)));
        assert_eq!(fresh.len(), 2 + 4 + 2 + 2);
        let line = not_run_line(&|_| false);
        assert!(
            line.starts_with("not run by this ci: x86_64-outline, sw-tags, hw-tags, hw-tags-async, hw-tags-off ("),
            "{line}"
        );
        assert!(not_run_line(&|_| true).is_empty());
        // A built base brings its extra boots along.
        let warm_hw: Vec<String> = super::plan(false, &|c| c == Config::HwTags)
            .iter()
            .map(label)
            .collect();
        assert!(warm_hw.contains(&"hw-tags-async rust".to_string()));
        assert!(!warm_hw.iter().any(|l| l.starts_with("sw-tags ")));
    }

    #[test]
    fn off_builds_compare_with_the_c_run() {
        let c = results("kasan.a=P kasan.b=P kasan.c=S");
        let rust = results("kasan.a=P kasan.b=P kasan.c=S rkasan.x=P rkasan_quarantine.q=P");
        let mut shadow = run("generic", "rust", results("kasan.a=P kasan.b=F kasan.c=S"));
        shadow.off = Some("KASAN_RUST_SHADOW");
        let mut quarantine = run(
            "generic",
            "rust",
            results("kasan.a=P kasan.b=P kasan.c=S rkasan.x=P"),
        );
        quarantine.off = Some("KASAN_RUST_QUARANTINE");
        let mut params = run(
            "generic",
            "rust",
            results("kasan.a=P kasan.b=P kasan.c=S rkasan.x=F"),
        );
        params.off = Some("KASAN_RUST_PARAMS");
        let mut report = run("generic", "rust", Results::default());
        report.off = Some("KASAN_RUST_REPORT");
        report.state = RunState::Failed("build failed".into());
        let m = Matrix::new(
            "t".into(),
            vec![
                run("generic", "c", c),
                run("generic", "rust", rust),
                shadow,
                report,
                quarantine,
                params,
            ],
        );
        // The main table: the base runs only.
        let table = m.table(false);
        assert!(table.starts_with("case"), "{table}");
        assert_eq!(table.lines().next().unwrap().split_whitespace().count(), 5);
        assert!(!table.contains('!'), "{table}");
        let regressed: Vec<(Option<&str>, &str)> =
            m.regressions().map(|r| (r.off, r.case.as_str())).collect();
        assert_eq!(
            regressed,
            [
                (Some("KASAN_RUST_SHADOW"), "kasan.b"),
                (Some("KASAN_RUST_REPORT"), "kasan.a"),
                (Some("KASAN_RUST_REPORT"), "kasan.b"),
                (Some("KASAN_RUST_REPORT"), "kasan.c"),
                (Some("KASAN_RUST_PARAMS"), "rkasan.x"),
            ]
        );
        let off = m.off_table(false);
        let lines: Vec<&str> = off.lines().collect();
        assert_eq!(lines.len(), 5, "{off}");
        assert!(lines[0].starts_with("config   off"), "{off}");
        assert!(
            lines[1].contains("KASAN_RUST_SHADOW")
                && lines[1].ends_with("1/1/1           1: kasan.b"),
            "{off}"
        );
        assert!(
            lines[2].contains("failed") && lines[2].contains("3: kasan.a, kasan.b, ..."),
            "{off}"
        );
        assert!(
            lines[3].contains("KASAN_RUST_QUARANTINE") && lines[3].ends_with(" 0"),
            "{off}"
        );
        let md = m.off_table(true);
        assert!(
            md.contains("| generic | KASAN_RUST_PARAMS | 2/1/1 | 1: rkasan.x |"),
            "{md}"
        );
        let summary = m.summary();
        assert!(
            summary.contains("  generic (KASAN_RUST_SHADOW off) kasan.b: C PASS, Rust FAIL\n"),
            "{summary}"
        );
        assert!(summary.contains("generic rust (KASAN_RUST_REPORT off): FAILED: build failed"));
        assert!(!m.passed());
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["runs"][2]["off"], "KASAN_RUST_SHADOW");
        assert!(json["runs"][0].get("off").is_none());
    }

    #[test]
    fn incomplete_runs_fail_the_matrix() {
        let c = recorded("generic");
        let mut rust = run("generic", "rust", c.clone());
        rust.problems = vec!["suite rkasan did not run (22 cases expected)".into()];
        let m = Matrix::new("t".into(), vec![run("generic", "c", c), rust]);
        assert_eq!(m.regressions().count(), 0);
        assert_eq!(m.failed_runs().count(), 0);
        assert_eq!(m.incomplete_runs().count(), 1);
        assert!(!m.passed());
        assert!(m
            .summary()
            .contains("generic rust: INCOMPLETE: suite rkasan did not run (22 cases expected)\n"));
        assert!(m
            .table(false)
            .lines()
            .last()
            .unwrap()
            .ends_with("incomplete"));
    }
}
