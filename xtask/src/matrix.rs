// SPDX-License-Identifier: GPL-2.0

//! `cargo xtask matrix`: every configuration with both runtimes, one side-by-side table of every
//! test case, and the regression rule: a case that passes with C must pass with Rust.

use std::fmt::Write as _;

use serde::Serialize;

use crate::kunit::{self, Arch, Config, Runtime};
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
    /// How it went.
    pub state: RunState,
    /// Its counts (zero unless it ran).
    pub counts: Counts,
    /// Its results.
    #[serde(skip)]
    pub results: Results,
    /// `suite.case`s that failed here but passed when the same kernel was booted again (random
    /// memory tags can collide; see [`TAG_RETRIES`]).
    pub passed_on_retry: Vec<String>,
}

/// How often a tag-based kernel is booted again when cases that pass with C do not pass with
/// Rust. Memory tags are random per boot: an out-of-bounds access into a neighbouring object
/// goes unnoticed when the neighbour drew the same tag, 1 time in 14 with hardware tags (1 in
/// 254 with software tags), so upstream's tests fail now and then with either runtime (seen
/// here: `kasan_memcmp` with C on hw-tags). A case that passes in another boot of the same
/// kernel is a collision, not a regression; one that fails every time stays a regression.
pub const TAG_RETRIES: usize = 2;

/// The `(suite, case)`s that pass in `c` and do not pass in `rust`.
pub fn passing_only_in(c: &Results, rust: &Results) -> Vec<(String, String)> {
    let status = |r: &Results, suite: &str, case: &str| {
        r.suites
            .iter()
            .filter(|s| s.name == suite)
            .flat_map(|s| &s.cases)
            .find(|k| k.name == case)
            .map(|k| k.status)
    };
    c.suites
        .iter()
        .flat_map(|s| s.cases.iter().map(move |k| (s, k)))
        .filter(|(s, k)| {
            k.status == Status::Pass && status(rust, &s.name, &k.name) != Some(Status::Pass)
        })
        .map(|(s, k)| (s.name.clone(), k.name.clone()))
        .collect()
}

/// Marks as passed in `results` each of `cases` that passed in `retry`, and returns their
/// `suite.case` names.
pub fn adopt_retry_passes(
    results: &mut Results,
    retry: &Results,
    cases: &[(String, String)],
) -> Vec<String> {
    let mut adopted = Vec::new();
    for (suite, case) in cases {
        let passed = retry
            .suites
            .iter()
            .filter(|s| &s.name == suite)
            .flat_map(|s| &s.cases)
            .any(|k| &k.name == case && k.status == Status::Pass);
        if !passed {
            continue;
        }
        let found = results
            .suites
            .iter_mut()
            .filter(|s| &s.name == suite)
            .flat_map(|s| s.cases.iter_mut())
            .find(|k| &k.name == case);
        if let Some(k) = found {
            k.status = Status::Pass;
            k.failure = None;
            adopted.push(format!("{suite}.{case}"));
        }
    }
    adopted
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

/// The regression rule: a case that passes with C and does not pass with Rust. A Rust runtime
/// that is not available yet regresses nothing; a missing result (a crash, a failed build) does.
/// A Rust-only config (C not applicable) has no C verdict to compare with, so there a case
/// regresses when it fails with Rust: otherwise its boots could never fail the matrix.
pub fn is_regression(c: Cell, rust: Cell) -> bool {
    match c {
        Cell::Result(Status::Pass) => {
            rust != Cell::Result(Status::Pass) && rust != Cell::NotAvailable
        }
        Cell::NotApplicable => matches!(rust, Cell::Result(Status::Fail | Status::Error)),
        _ => false,
    }
}

/// One row: a case in one configuration, C beside Rust.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// `suite.case`.
    pub case: String,
    /// The configuration.
    pub config: &'static str,
    /// The C result (`PASS`, `FAIL`, `SKIP`, `ERROR`, `-` missing, `n/a`).
    pub c: &'static str,
    /// The Rust result.
    pub rust: &'static str,
    /// True when C passes and Rust does not.
    pub regression: bool,
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

impl Matrix {
    /// Builds the rows from the runs: for each configuration, every case either runtime ran.
    pub fn new(tree: String, runs: Vec<Run>) -> Matrix {
        let mut rows = Vec::new();
        for config in Config::ALL {
            let find = |rt: Runtime| {
                runs.iter()
                    .find(|r| r.config == config.name() && r.runtime == rt.name())
            };
            let (c_run, rust_run) = (find(Runtime::C), find(Runtime::Rust));
            if c_run.is_none() && rust_run.is_none() {
                continue;
            }
            // Cases in the order C ran them, then any only Rust ran.
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
            for (suite, case) in cases {
                let c = cell(c_run, &suite, &case);
                let rust = cell(rust_run, &suite, &case);
                rows.push(Row {
                    case: format!("{suite}.{case}"),
                    config: config.name(),
                    c: c.word(),
                    rust: rust.word(),
                    regression: is_regression(c, rust),
                });
            }
        }
        Matrix { tree, runs, rows }
    }

    /// Rows where C passes and Rust does not.
    pub fn regressions(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.regression)
    }

    /// Runs that failed to build or run.
    pub fn failed_runs(&self) -> impl Iterator<Item = &Run> {
        self.runs
            .iter()
            .filter(|r| matches!(r.state, RunState::Failed(_)))
    }

    /// The configurations present, in order.
    fn configs(&self) -> Vec<&'static str> {
        Config::ALL
            .iter()
            .map(|c| c.name())
            .filter(|c| self.runs.iter().any(|r| r.config == *c))
            .collect()
    }

    /// The side-by-side table: one line per case, `C | Rust` per configuration. `markdown`
    /// selects a Markdown table instead of aligned text.
    pub fn table(&self, markdown: bool) -> String {
        let configs = self.configs();
        let mut cases: Vec<&str> = Vec::new();
        for r in &self.rows {
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
                match self.rows.iter().find(|r| r.case == *case && r.config == *c) {
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
                    .find(|r| r.config == *c && r.runtime == rt.name());
                totals.push(match run.map(|r| &r.state) {
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
        let mut out = String::new();
        if markdown {
            let row = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
            out.push_str(&row(&header));
            let mut sep = vec!["---".to_string()];
            sep.extend(std::iter::repeat_n(":---:".to_string(), header.len() - 1));
            out.push_str(&row(&sep));
            for l in &lines {
                out.push_str(&row(l));
            }
        } else {
            let widths: Vec<usize> = (0..header.len())
                .map(|i| {
                    lines
                        .iter()
                        .chain([&header])
                        .map(|l| l[i].len())
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let row = |cells: &[String]| {
                let mut s = String::new();
                for (i, cell) in cells.iter().enumerate() {
                    if i == 0 {
                        let _ = write!(s, "{cell:<w$}", w = widths[0]);
                    } else {
                        let _ = write!(s, "  {cell:<w$}", w = widths[i]);
                    }
                }
                s.trim_end().to_string() + "\n"
            };
            out.push_str(&row(&header));
            for (i, l) in lines.iter().enumerate() {
                if i + 1 == lines.len() {
                    out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * widths.len()));
                    out.push('\n');
                }
                out.push_str(&row(l));
            }
        }
        out
    }

    /// The verdict below the table.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for run in &self.runs {
            match &run.state {
                RunState::NotAvailable => {
                    let _ = writeln!(
                        out,
                        "{} {}: n/a (no config KASAN_RUST in the tree yet; only C counts)",
                        run.config, run.runtime
                    );
                }
                RunState::NotApplicable(why) => {
                    let _ = writeln!(out, "{} {}: n/a ({why})", run.config, run.runtime);
                }
                RunState::Failed(why) => {
                    let _ = writeln!(out, "{} {}: FAILED: {why}", run.config, run.runtime);
                }
                RunState::Ran => {
                    for case in &run.passed_on_retry {
                        let _ = writeln!(
                            out,
                            "{} {}: {case} failed, then passed when the kernel was booted again \
                             (a memory tag collision)",
                            run.config, run.runtime
                        );
                    }
                    for lost in &run.results.lost {
                        let _ = writeln!(
                            out,
                            "{} {}: warning: the console lost lines: {lost}",
                            run.config, run.runtime
                        );
                    }
                }
            }
        }
        let regressions: Vec<&Row> = self.regressions().collect();
        if regressions.is_empty() {
            out.push_str("no regressions: every case that passes with C passes with Rust\n");
            return out;
        }
        let _ = writeln!(
            out,
            "{} regression(s): passes with C, not with Rust (in a Rust-only config: fails with \
             Rust):",
            regressions.len()
        );
        for config in Config::ALL.map(Config::name) {
            let rust_failed = self.runs.iter().any(|r| {
                r.config == config
                    && r.runtime == Runtime::Rust.name()
                    && matches!(r.state, RunState::Failed(_))
            });
            let here: Vec<&&Row> = regressions.iter().filter(|r| r.config == config).collect();
            if rust_failed && !here.is_empty() {
                let _ = writeln!(
                    out,
                    "  {config}: all {} cases that pass with C (the Rust run failed)",
                    here.len()
                );
                continue;
            }
            for r in here {
                let _ = writeln!(out, "  {} {}: Rust {}", r.config, r.case, r.rust);
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
            "# rkasan matrix\n\nTree: `{}`. `!` marks a regression: the case passes with C and \
             not with Rust (in a Rust-only config: fails with Rust); `n/a`: the runtime is not \
             in the tree yet, or has nothing to run in that config; `-`: no result.\n\n{}\n{}",
            self.tree,
            self.table(true),
            self.summary()
        );
        util::write(&dir.join("matrix.md"), md)?;
        Ok(())
    }
}

/// Boots the Rust kernel of a tag-based `config` again, at most [`TAG_RETRIES`] times, while
/// cases that pass with C do not pass in `run`; a case that passes in a later boot is counted
/// as passed and listed in `run.passed_on_retry`.
fn retry_tag_collisions(
    tree: &Tree,
    config: Config,
    filter: Option<&str>,
    runs: &[Run],
    run: &mut Run,
) {
    let Some(c) = runs
        .iter()
        .find(|r| r.config == config.name() && r.runtime == Runtime::C.name())
        .filter(|r| r.state == RunState::Ran)
    else {
        return;
    };
    for attempt in 1..=TAG_RETRIES {
        let missing = passing_only_in(&c.results, &run.results);
        if missing.is_empty() {
            break;
        }
        eprintln!(
            "    {config} rust: {} case(s) pass with C but not here ({}.{}...): memory tags \
             are random and can collide, booting the same kernel again ({attempt} of \
             {TAG_RETRIES})",
            missing.len(),
            missing[0].0,
            missing[0].1
        );
        match kunit::run_prebuilt(tree, config, Runtime::Rust, filter) {
            Ok(retry) => {
                let adopted = adopt_retry_passes(&mut run.results, &retry.results, &missing);
                run.passed_on_retry.extend(adopted);
            }
            Err(e) => {
                eprintln!("    {config} rust: the retry failed: {e}");
                break;
            }
        }
    }
    run.counts = run.results.counts();
}

/// Runs the whole matrix (per configuration C then Rust, so each build dir is rebuilt
/// incrementally once per runtime; an extra boot reuses the kernel its base config's run just
/// built) and reports. Returns true when it found no regression and every run that should
/// happen did.
pub fn matrix(tree: &Tree, filter: Option<&str>, jobs: usize) -> Result<bool> {
    let rust_available = kunit::has_kasan_rust(tree)?;
    let mut runs: Vec<Run> = Vec::new();
    // Per build directory, the runtime of the kernel a run of this matrix built there last.
    let mut built: Vec<(&'static str, Runtime)> = Vec::new();
    for config in Config::ALL {
        for runtime in Runtime::ALL {
            let mut run = Run {
                config: config.name(),
                runtime: runtime.name(),
                state: RunState::Ran,
                counts: Counts::default(),
                results: Results::default(),
                passed_on_retry: Vec::new(),
            };
            let base_failed = config.base() != config
                && runs.iter().any(|r| {
                    r.config == config.base().name()
                        && r.runtime == runtime.name()
                        && matches!(r.state, RunState::Failed(_))
                });
            let dir = config.build_name();
            let prebuilt = config.base() != config && built.contains(&(dir, runtime));
            if runtime == Runtime::Rust && !rust_available {
                run.state = RunState::NotAvailable;
                eprintln!("==> {config} rust: n/a (lib/Kconfig.kasan has no config KASAN_RUST)");
            } else if runtime == Runtime::C && config.rust_only() && filter.is_none() {
                let why = format!(
                    "the C runtime has no suite {}",
                    config.default_filter().unwrap_or_default()
                );
                eprintln!("==> {config} c: n/a ({why})");
                run.state = RunState::NotApplicable(why);
            } else if base_failed {
                let why = format!("not booted: the {} {runtime} run failed", config.base());
                eprintln!("error: {config} {runtime}: {why}");
                run.state = RunState::Failed(why);
            } else {
                let outcome = if prebuilt {
                    kunit::run_prebuilt(tree, config, runtime, filter)
                } else {
                    kunit::run(tree, config, runtime, filter, jobs)
                };
                // A failed run may have left anything in the build dir.
                built.retain(|(d, _)| *d != dir);
                match outcome {
                    Ok(outcome) => {
                        built.push((dir, runtime));
                        run.counts = outcome.results.counts();
                        let c = run.counts;
                        eprintln!(
                            "    {config} {runtime}: {} pass / {} fail / {} skip",
                            c.pass, c.fail, c.skip
                        );
                        run.results = outcome.results;
                        if runtime == Runtime::Rust && config.arch() == Arch::Arm64 {
                            retry_tag_collisions(tree, config, filter, &runs, &mut run);
                        }
                    }
                    Err(e) => {
                        eprintln!("error: {config} {runtime}: {e}");
                        run.state = RunState::Failed(e.0.lines().next().unwrap_or("").into());
                    }
                }
            }
            runs.push(run);
        }
    }
    let m = Matrix::new(tree.path.display().to_string(), runs);
    m.write()?;
    println!("{}", m.table(false));
    print!("{}", m.summary());
    println!(
        "matrix: {} and {}",
        util::out_dir().join("matrix.md").display(),
        util::out_dir().join("matrix.json").display()
    );
    Ok(m.regressions().next().is_none() && m.failed_runs().next().is_none())
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
        assert!(!is_regression(Result(Fail), Result(Fail)));
        assert!(!is_regression(Result(Fail), Result(Pass)));
        assert!(!is_regression(Result(Skip), Result(Fail)));
        assert!(!is_regression(Missing, Result(Fail)));
        // A Rust-only config: nothing to compare with, so only Rust failures count.
        assert!(!is_regression(NotApplicable, Result(Pass)));
        assert!(!is_regression(NotApplicable, Result(Skip)));
        assert!(!is_regression(NotApplicable, NotAvailable));
        assert!(is_regression(NotApplicable, Result(Fail)));
        assert!(is_regression(NotApplicable, Result(Error)));
    }

    fn run(config: &'static str, runtime: &'static str, results: Results) -> Run {
        Run {
            config,
            runtime,
            state: RunState::Ran,
            counts: results.counts(),
            results,
            passed_on_retry: Vec::new(),
        }
    }

    #[test]
    fn tag_collision_retries_adopt_only_later_passes() {
        let console = |lines: &str| parse_ktap(lines);
        let c = console(
            "KTAP version 1\n1..1\n    # Subtest: kasan\n    1..3\n    ok 1 a\n    ok 2 b\n\
             ok 3 c # SKIP\nok 1 kasan\n",
        );
        let mut rust = console(
            "KTAP version 1\n1..1\n    # Subtest: kasan\n    1..3\n    not ok 1 a\n\
             not ok 2 b\n    ok 3 c # SKIP\nnot ok 1 kasan\n",
        );
        let missing = passing_only_in(&c, &rust);
        assert_eq!(
            missing,
            [
                ("kasan".to_string(), "a".to_string()),
                ("kasan".to_string(), "b".to_string())
            ]
        );
        // The second boot passes `a` (a collision) and fails `b` again (a regression).
        let retry = console(
            "KTAP version 1\n1..1\n    # Subtest: kasan\n    1..3\n    ok 1 a\n\
             not ok 2 b\n    ok 3 c # SKIP\nnot ok 1 kasan\n",
        );
        assert_eq!(adopt_retry_passes(&mut rust, &retry, &missing), ["kasan.a"]);
        assert_eq!(
            passing_only_in(&c, &rust),
            [("kasan".to_string(), "b".to_string())]
        );
        assert_eq!(rust.counts().pass, 1);
        // A case that passes only with Rust is no business of the retry.
        assert!(passing_only_in(&rust, &c).is_empty());
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
                "kmalloc_oob_right" => case.status = Status::Fail,
                "kasan_strings" => case.status = Status::Pass,
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
        assert!(m.summary().contains("  full kasan.rust_uaf: Rust -\n"));
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
            }],
            lost: Vec::new(),
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
            summary.contains("  hw-tags-off rkasan.tags: Rust FAIL\n"),
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
        assert_eq!(m.regressions().count(), 60);
        assert_eq!(m.failed_runs().count(), 1);
        let summary = m.summary();
        assert!(
            summary.contains("static rust: FAILED: build failed\n"),
            "{summary}"
        );
        assert!(summary.contains("  static: all 60 cases that pass with C (the Rust run failed)"));
        assert_eq!(summary.lines().count(), 3, "{summary}");
    }
}
