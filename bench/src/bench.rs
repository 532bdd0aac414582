// SPDX-License-Identifier: GPL-2.0

//! `cargo xtask bench`: what KASAN costs with the C and with the Rust runtime.
//!
//! Four UML kernels from one tree and one config (the `full` kunitconfig without the KASAN
//! test suite, with the instrumentation mode asked for and the `rkasan_bench` suite of
//! `mm/rkasan_bench.c`): KASAN off (build dir `bench-off`), KASAN with the C runtime, KASAN
//! with the Rust runtime, and the floor, KASAN with a Rust runtime that does no work
//! (`CONFIG_KASAN_RUST_BENCH_FLOOR`; all three in `bench-<mode>`, in that order, so that each
//! build after the first is incremental). Each `linux` is copied out after its build, so the
//! four coexist; they run interleaved (off, C, Rust, floor; C, Rust, floor, off; ...) for a
//! number of rounds, with `kasan_multi_shot`, and every case's figure is the median over the
//! rounds of the suite's own medians. The rounds themselves (their order and samples) are
//! [`crate::rounds`]'s, which the replay shares; the ratios' 95% intervals are
//! [`crate::stats`]'s.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use xtask::build::{self, Build};
use xtask::config::{Arch, Config, Instrumentation, Runtime};
use xtask::kunit;
use xtask::toolchain;
use xtask::tree::Tree;
use xtask::util::{self, bail, Context, Result, Step};

use crate::hotpath;
use crate::replay;
use crate::rounds::{record, round_order, Kernel, Samples};
use crate::stats;

impl Kernel {
    /// The runtime of a KASAN kernel.
    fn runtime(self) -> Option<Runtime> {
        match self {
            Kernel::Off => None,
            Kernel::C => Some(Runtime::C),
            Kernel::Rust | Kernel::Floor | Kernel::FreeCheck => Some(Runtime::Rust),
        }
    }

    /// What it adds to [`CMDLINE`].
    fn boot_args(self) -> &'static [&'static str] {
        match self {
            Kernel::FreeCheck => &[FREE_CHECK_ARG],
            _ => &[],
        }
    }

    /// `--kconfig_add` options on top of the fragment: the runtime's selection, and the floor's
    /// switch.
    fn kconfig_add(self) -> Vec<&'static str> {
        let mut add: Vec<&str> = self.runtime().map(Runtime::selection).into_iter().collect();
        if self == Kernel::Floor {
            add.push(FLOOR_OPTION);
        }
        add
    }
}

/// The suite's KUnit name.
pub const SUITE: &str = "rkasan_bench";
/// The Kconfig option of the suite.
const BENCH_OPTION: &str = "CONFIG_KASAN_RUST_BENCH=y";
/// The Kconfig option of the floor kernel.
const FLOOR_OPTION: &str = "CONFIG_KASAN_RUST_BENCH_FLOOR=y";
/// The boot parameter of the free-check kernel.
const FREE_CHECK_ARG: &str = "kasan.free_check=on";
/// The kernel command line (kunit.py's for UML, plus the suite filter and multi-shot reports).
pub const CMDLINE: &[&str] = &[
    "mem=1G",
    "console=tty",
    "kunit_shutdown=halt",
    "kunit.filter_glob=rkasan_bench",
    "kasan_multi_shot",
];
/// The longest one run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(600);

/// The kunitconfig of `kernel` in `mode`, made from the `full` config's `full`: its options
/// without the KASAN test suite, the mode's instrumentation, the bench suite; for the kernel
/// without KASAN every `CONFIG_KASAN*` option goes and `CONFIG_KASAN` is unset.
pub fn fragment(full: &str, kernel: Kernel, mode: Instrumentation) -> String {
    let mut out = format!(
        "# rkasan bench: {} kernel, {mode} mode; made by `cargo xtask bench` from full.config\n",
        kernel.name()
    );
    for line in full.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line == "CONFIG_KASAN_KUNIT_TEST=y" {
            continue;
        }
        if line.starts_with("CONFIG_KASAN") {
            if kernel == Kernel::Off {
                continue;
            }
            if line == "CONFIG_KASAN_OUTLINE=y" || line == "CONFIG_KASAN_INLINE=y" {
                out.push_str(mode.option());
                out.push('\n');
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    if kernel == Kernel::Off {
        out.push_str("# CONFIG_KASAN is not set\n");
    } else if !out.contains(mode.option()) {
        out.push_str(mode.option());
        out.push('\n');
    }
    out.push_str(BENCH_OPTION);
    out.push('\n');
    out
}

/// What a `.config` must say for `kernel` in `mode`; returns the first line it lacks.
pub fn check_config(dot_config: &str, kernel: Kernel, mode: Instrumentation) -> Option<String> {
    let has = |l: &str| dot_config.lines().any(|x| x == l);
    let mut want: Vec<String> = vec![BENCH_OPTION.to_string()];
    match kernel {
        Kernel::Off => want.push("# CONFIG_KASAN is not set".into()),
        Kernel::C | Kernel::Rust | Kernel::Floor | Kernel::FreeCheck => {
            want.push("CONFIG_KASAN=y".into());
            want.push(mode.option().into());
        }
    }
    match kernel {
        Kernel::C => want.push(Runtime::C.selection().into()),
        Kernel::Rust | Kernel::Floor | Kernel::FreeCheck => {
            for opt in ["", "_SHADOW", "_REPORT", "_PARAMS", "_QUARANTINE"] {
                want.push(format!("CONFIG_KASAN_RUST{opt}=y"));
            }
            want.push(if kernel == Kernel::Floor {
                FLOOR_OPTION.into()
            } else {
                "# CONFIG_KASAN_RUST_BENCH_FLOOR is not set".into()
            });
        }
        Kernel::Off => {}
    }
    want.into_iter().find(|l| !has(l))
}

/// The figures of one console: `(case, ns per op)` from the suite's diagnostic lines
/// `# <test>: bench <name> <ns>`.
pub fn parse_console(console: &str) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for line in console.lines() {
        let Some(hash) = line.find("# ") else {
            continue;
        };
        let words: Vec<&str> = line[hash + 2..].split_whitespace().collect();
        let at = match words.first() {
            Some(&"bench") => 0,
            Some(w) if w.ends_with(':') && words.get(1) == Some(&"bench") => 1,
            _ => continue,
        };
        if let (Some(name), Some(value)) = (words.get(at + 1), words.get(at + 2)) {
            if let Ok(v) = value.parse::<f64>() {
                out.push((name.to_string(), v));
            }
        }
    }
    out
}

/// What the slab case says `kasan.free_check` did: `(filled, checked)` from its diagnostic
/// line `# rkasan_bench_slab: free_check filled <N> checked <M>` (only kernels with the Rust
/// quarantine and report print it).
pub fn parse_free_check(console: &str) -> Option<(u64, u64)> {
    console.lines().find_map(|l| {
        let rest = &l[l.find("free_check filled ")? + "free_check filled ".len()..];
        let (filled, rest) = rest.split_once(" checked ")?;
        Some((filled.trim().parse().ok()?, rest.trim().parse().ok()?))
    })
}

/// Whether `kernel` did what its free check figures say it must: the free-check kernel filled
/// and checked objects, the Rust and floor kernels filled none, and the kernels without the
/// Rust quarantine print no figures. `Err` says what went wrong.
pub fn check_free_check(
    kernel: Kernel,
    figures: Option<(u64, u64)>,
) -> std::result::Result<(), String> {
    match (kernel, figures) {
        (Kernel::FreeCheck, Some((filled, checked))) if filled > 0 && checked > 0 => Ok(()),
        (Kernel::FreeCheck, Some((filled, checked))) => Err(format!(
            "{FREE_CHECK_ARG} filled {filled} and checked {checked} objects: not in effect"
        )),
        (Kernel::Rust | Kernel::Floor, Some((0, 0))) | (Kernel::Off | Kernel::C, None) => Ok(()),
        (Kernel::Rust | Kernel::Floor, Some((filled, checked))) => Err(format!(
            "filled {filled} and checked {checked} objects without {FREE_CHECK_ARG}"
        )),
        (Kernel::Rust | Kernel::Floor | Kernel::FreeCheck, None) => {
            Err("no `free_check filled` line from the slab case".to_string())
        }
        (Kernel::Off | Kernel::C, Some(_)) => {
            Err("a `free_check filled` line from a kernel without the Rust quarantine".to_string())
        }
    }
}

/// The KTAP verdict line of the suite in a console (`ok N rkasan_bench`), if any.
pub fn suite_verdict(console: &str) -> Option<bool> {
    console.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        let first = w.next()?;
        let (ok, rest) = match first {
            "ok" => (true, w),
            "not" if w.next() == Some("ok") => (false, w),
            _ => return None,
        };
        let mut rest = rest;
        rest.next()?; // the number
        (rest.next() == Some(SUITE)).then_some(ok)
    })
}

/// The median of `values` (the mean of the middle two for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// One case of the result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// The case (`load8_seq`, `kmalloc_64`, `report`, ...).
    pub name: String,
    /// `outline` or `inline`.
    pub mode: String,
    /// Median ns per op without KASAN (`null` for `report`).
    pub off_ns: Option<f64>,
    /// Median with the C runtime.
    pub c_ns: Option<f64>,
    /// Median with the Rust runtime.
    pub rust_ns: Option<f64>,
    /// Median on the floor kernel (`null` for `report`, which it skips).
    pub floor_ns: Option<f64>,
    /// Every round's figure without KASAN.
    pub off_rounds: Vec<f64>,
    /// Every round's figure with the C runtime.
    pub c_rounds: Vec<f64>,
    /// Every round's figure with the Rust runtime.
    pub rust_rounds: Vec<f64>,
    /// Every round's figure on the floor kernel.
    pub floor_rounds: Vec<f64>,
    /// Median with the Rust runtime and `kasan.free_check=on`.
    pub free_check_ns: Option<f64>,
    /// Every round's figure with `kasan.free_check=on`.
    pub free_check_rounds: Vec<f64>,
}

impl Row {
    /// Rust / C: the median over the rounds of each round's Rust / C, or the ratio of the
    /// medians without per-round figures. Paired by round, the ratio cancels what slows the
    /// machine down for a few seconds (a noisy neighbour) and shifts both kernels of a round.
    pub fn rust_over_c(&self) -> Option<f64> {
        median(&self.per_round_rust_over_c()).or_else(|| Some(self.rust_ns? / self.c_ns?))
    }

    /// Each round's Rust / C, for the rounds that have both.
    fn per_round_rust_over_c(&self) -> Vec<f64> {
        self.c_rounds
            .iter()
            .zip(&self.rust_rounds)
            .map(|(c, rust)| rust / c)
            .filter(|r| r.is_finite())
            .collect()
    }

    /// The 95% interval of [`Row::rust_over_c`]: the median of the per-round Rust/C of each
    /// resample of the rounds ([`stats::interval`]).
    pub fn rust_over_c_interval(&self) -> Option<(f64, f64)> {
        let per_round = self.per_round_rust_over_c();
        stats::interval(per_round.len(), |picks| {
            median(&picks.iter().map(|&i| per_round[i]).collect::<Vec<_>>())
        })
    }

    /// Whether the Rust runtime is slower than C beyond doubt: the whole interval of Rust/C
    /// lies above 1.00.
    pub fn above_c(&self) -> bool {
        self.rust_over_c_interval().is_some_and(|(lo, _)| lo > 1.0)
    }

    /// Whether the Rust runtime is faster than C beyond doubt: the whole interval lies below
    /// 1.00.
    pub fn below_c(&self) -> bool {
        self.rust_over_c_interval().is_some_and(|(_, hi)| hi < 1.0)
    }

    /// (Rust - floor) / (C - floor): how much of the C runtime's work above the floor the Rust
    /// runtime does (1 = as much; 0 = it is at the floor). `None` without a floor figure, or
    /// when C is within 1% of the floor (the ratio would be noise).
    pub fn floor_ratio(&self) -> Option<f64> {
        ratio_above(self.floor_ns?, self.c_ns?, self.rust_ns?)
    }

    /// The 95% interval of [`Row::floor_ratio`]: the same ratio of the medians of each
    /// resample of the rounds that have all three figures.
    pub fn floor_ratio_interval(&self) -> Option<(f64, f64)> {
        let rounds: Vec<(f64, f64, f64)> = self
            .floor_rounds
            .iter()
            .zip(&self.c_rounds)
            .zip(&self.rust_rounds)
            .map(|((f, c), r)| (*f, *c, *r))
            .filter(|(f, c, r)| f.is_finite() && c.is_finite() && r.is_finite())
            .collect();
        stats::interval(rounds.len(), |picks| {
            let pick = |k: fn(&(f64, f64, f64)) -> f64| {
                median(&picks.iter().map(|&i| k(&rounds[i])).collect::<Vec<_>>())
            };
            ratio_above(pick(|t| t.0)?, pick(|t| t.1)?, pick(|t| t.2)?)
        })
    }

    /// Whether the Rust runtime is within 10% of the floor: Rust - floor at most a tenth of
    /// the floor.
    pub fn near_floor(&self) -> bool {
        match (self.floor_ns, self.rust_ns) {
            (Some(floor), Some(rust)) => rust <= floor + floor.abs() * 0.1,
            _ => false,
        }
    }

    /// Each round's free-check figure minus its Rust figure, for the rounds that have both.
    fn per_round_free_check_cost(&self) -> Vec<f64> {
        self.free_check_rounds
            .iter()
            .zip(&self.rust_rounds)
            .map(|(fc, rust)| fc - rust)
            .filter(|d| d.is_finite())
            .collect()
    }

    /// What `kasan.free_check=on` adds, in ns per op: the median over the rounds of each
    /// round's free-check figure minus its Rust figure (paired, as [`Row::rust_over_c`]).
    pub fn free_check_cost(&self) -> Option<f64> {
        median(&self.per_round_free_check_cost())
    }

    /// The 95% interval of [`Row::free_check_cost`].
    pub fn free_check_cost_interval(&self) -> Option<(f64, f64)> {
        let per_round = self.per_round_free_check_cost();
        stats::interval(per_round.len(), |picks| {
            median(&picks.iter().map(|&i| per_round[i]).collect::<Vec<_>>())
        })
    }

    /// Whether `kasan.free_check` works on this case's objects: a slab case.
    pub fn is_slab_case(&self) -> bool {
        self.name.starts_with("kmalloc_") || self.name.starts_with("kmem_cache_")
    }

    /// (Rust - off) / (C - off): the Rust runtime's overhead relative to the C runtime's;
    /// `None` when the C overhead is under 1% of the baseline (the ratio would be noise).
    pub fn overhead_ratio(&self) -> Option<f64> {
        ratio_above(self.off_ns?, self.c_ns?, self.rust_ns?)
    }
}

/// (rust - base) / (c - base): the Rust runtime's cost above `base` relative to the C
/// runtime's; `None` when `c` is within 1% of `base`.
fn ratio_above(base: f64, c: f64, rust: f64) -> Option<f64> {
    let c_over = c - base;
    (c_over > base.abs() * 0.01 && c_over > 0.0).then(|| (rust - base) / c_over)
}

/// The rows, in the order the cases first appear in `order`.
pub fn rows(samples: &Samples, order: &[String], mode: Instrumentation) -> Vec<Row> {
    let get = |k: Kernel, name: &str| -> Vec<f64> {
        samples
            .get(&k)
            .and_then(|m| m.get(name))
            .cloned()
            .unwrap_or_default()
    };
    order
        .iter()
        .map(|name| {
            let (off, c, rust, floor, free_check) = (
                get(Kernel::Off, name),
                get(Kernel::C, name),
                get(Kernel::Rust, name),
                get(Kernel::Floor, name),
                get(Kernel::FreeCheck, name),
            );
            Row {
                name: name.clone(),
                mode: mode.name().to_string(),
                off_ns: median(&off),
                c_ns: median(&c),
                rust_ns: median(&rust),
                floor_ns: median(&floor),
                off_rounds: off,
                c_rounds: c,
                rust_rounds: rust,
                floor_rounds: floor,
                free_check_ns: median(&free_check),
                free_check_rounds: free_check,
            }
        })
        .collect()
}

fn ns(v: Option<f64>) -> String {
    match v {
        Some(v) if v >= 1000.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.2}"),
        None => "n/a".to_string(),
    }
}

fn ratio(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.2}"))
}

fn fmt_interval(v: Option<(f64, f64)>) -> String {
    v.map_or_else(|| "n/a".to_string(), |(lo, hi)| format!("{lo:.2}-{hi:.2}"))
}

/// The Markdown table: per case the four kernels' ns, Rust/C with its 95% interval and verdict
/// (`above`: the whole interval above 1.00, `below`: below it, blank: neither), the floor ratio
/// with its interval, whether Rust is within 10% of the floor, and (Rust-off)/(C-off).
pub fn table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| case | off ns | floor ns | C ns | Rust ns | Rust/C | 95% | vs C | \
         (Rust-floor)/(C-floor) | 95% | floor+10% | (Rust-off)/(C-off) |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | :---: | ---: | ---: | :---: | ---: |\n",
    );
    for r in rows {
        let verdict = if r.above_c() {
            "above"
        } else if r.below_c() {
            "below"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {verdict} | {} | {} | {} | {} |",
            r.name,
            ns(r.off_ns),
            ns(r.floor_ns),
            ns(r.c_ns),
            ns(r.rust_ns),
            ratio(r.rust_over_c()),
            fmt_interval(r.rust_over_c_interval()),
            ratio(r.floor_ratio()),
            fmt_interval(r.floor_ratio_interval()),
            if r.near_floor() { "yes" } else { "" },
            ratio(r.overhead_ratio())
        );
    }
    s
}

/// The table of what `kasan.free_check=on` costs on the slab cases: the Rust kernel's ns per
/// pair without and with it, the paired difference with its 95% interval, and the ratio.
pub fn free_check_table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| case | Rust ns | free_check=on ns | cost ns | 95% | on/off |\n\
         | --- | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for r in rows.iter().filter(|r| r.is_slab_case()) {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            r.name,
            ns(r.rust_ns),
            ns(r.free_check_ns),
            ns(r.free_check_cost()),
            fmt_interval(r.free_check_cost_interval()),
            ratio(r.free_check_ns.zip(r.rust_ns).map(|(fc, rust)| fc / rust))
        );
    }
    s
}

/// The verdict under the table: how many cases are above C, below it and within 10% of the
/// floor, naming those above and those within 10%.
pub fn verdict(rows: &[Row]) -> String {
    let names = |f: &dyn Fn(&Row) -> bool| -> Vec<&str> {
        rows.iter()
            .filter(|r| f(r))
            .map(|r| r.name.as_str())
            .collect()
    };
    let above = names(&Row::above_c);
    let below = names(&Row::below_c);
    let near = names(&Row::near_floor);
    let list = |v: &[&str]| {
        if v.is_empty() {
            String::new()
        } else {
            format!(": {}", v.join(", "))
        }
    };
    let free_check: Vec<String> = ["kmalloc_128", "kmalloc_4096"]
        .iter()
        .filter_map(|name| {
            let r = rows.iter().find(|r| r.name == *name)?;
            r.free_check_cost()?;
            Some(format!(
                "{} ns per pair for {name} (95% {})",
                ns(r.free_check_cost()),
                fmt_interval(r.free_check_cost_interval())
            ))
        })
        .collect();
    let mut out = format!(
        "{} cases; Rust/C's 95% interval entirely above 1.00 in {}{}, entirely below in {}; \
         Rust within 10% of the floor in {}{}\n",
        rows.len(),
        above.len(),
        list(&above),
        below.len(),
        near.len(),
        list(&near)
    );
    if !free_check.is_empty() {
        let _ = writeln!(out, "{FREE_CHECK_ARG} costs {}", free_check.join(", "));
    }
    out
}

#[derive(Serialize)]
struct Json<'a> {
    mode: &'a str,
    rounds: usize,
    cmdline: String,
    cases: &'a [Row],
}

/// The chart of the ratios: per case, Rust/C (top bar) and (Rust-floor)/(C-floor) (bottom bar),
/// each with its 95% interval as a whisker, and the line at 1.
pub fn chart(rows: &[Row], mode: Instrumentation, font: &'static [u8], path: &Path) -> Result<()> {
    use plotters::prelude::*;
    use plotters::style::{register_font, FontStyle};

    register_font("sans-serif", FontStyle::Normal, font)
        .map_err(|_| util::Error("cannot load the chart's font".to_string()))?;
    let n = rows.len().max(1);
    let max = rows
        .iter()
        .flat_map(|r| {
            [
                r.rust_over_c(),
                r.floor_ratio(),
                r.rust_over_c_interval().map(|i| i.1),
                r.floor_ratio_interval().map(|i| i.1),
            ]
        })
        .flatten()
        .fold(1.5_f64, f64::max)
        .min(5.0)
        * 1.05;
    let height = 120 + 22 * u32::try_from(n).unwrap_or(100);
    let root = BitMapBackend::new(path, (1000, height)).into_drawing_area();
    let draw = |e: &dyn std::fmt::Display| util::Error(format!("chart: {e}"));
    root.fill(&WHITE).map_err(|e| draw(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("rkasan bench ({mode}): Rust runtime vs C runtime, ratio (1 = same)"),
            ("sans-serif", 20),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(130)
        .build_cartesian_2d(0.0..max, 0.0..n as f64)
        .map_err(|e| draw(&e))?;
    let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n * 2 + 1)
        .y_label_formatter(&|y| {
            // Label the middle of each case's band only.
            let i = (n as f64 - y - 0.5).round();
            if (n as f64 - y - 0.5 - i).abs() < 0.01 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_desc("ratio")
        .draw()
        .map_err(|e| draw(&e))?;
    let top = |i: usize| n as f64 - i as f64;
    let clip = |v: f64| v.min(max);
    chart
        .draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
            let v = r.rust_over_c()?;
            Some(Rectangle::new(
                [(0.0, top(i) - 0.1), (clip(v), top(i) - 0.5)],
                BLUE.filled(),
            ))
        }))
        .map_err(|e| draw(&e))?
        .label("Rust/C")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], BLUE.filled()));
    chart
        .draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
            let v = r.floor_ratio()?;
            Some(Rectangle::new(
                [(0.0, top(i) - 0.5), (clip(v.max(0.0)), top(i) - 0.9)],
                RGBColor(230, 140, 30).filled(),
            ))
        }))
        .map_err(|e| draw(&e))?
        .label("(Rust-floor)/(C-floor)")
        .legend(|(x, y)| {
            Rectangle::new(
                [(x, y - 5), (x + 15, y + 5)],
                RGBColor(230, 140, 30).filled(),
            )
        });
    // The 95% intervals: a whisker across the middle of each bar.
    let whiskers = rows.iter().enumerate().flat_map(|(i, r)| {
        [
            (r.rust_over_c_interval(), top(i) - 0.3),
            (r.floor_ratio_interval(), top(i) - 0.7),
        ]
        .into_iter()
        .filter_map(|(iv, y)| {
            let (lo, hi) = iv?;
            Some(PathElement::new(
                vec![(clip(lo.max(0.0)), y), (clip(hi.max(0.0)), y)],
                BLACK.stroke_width(2),
            ))
        })
    });
    chart.draw_series(whiskers).map_err(|e| draw(&e))?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(1.0, 0.0), (1.0, n as f64)],
            BLACK.stroke_width(2),
        )))
        .map_err(|e| draw(&e))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| draw(&e))?;
    root.present().map_err(|e| draw(&e))?;
    Ok(())
}

/// The font of the chart (Debian's fonts-dejavu-core).
const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// Builds one kernel and copies its `linux` to `out/linux-<kernel>`.
fn build(
    tree: &Tree,
    kernel: Kernel,
    mode: Instrumentation,
    fragment_path: &Path,
    out: &Path,
    jobs: usize,
) -> Result<PathBuf> {
    let dir_name = match kernel {
        Kernel::Off => "bench-off".to_string(),
        Kernel::C | Kernel::Rust | Kernel::Floor | Kernel::FreeCheck => format!("bench-{mode}"),
    };
    let build = build::dir(tree, &dir_name)?;
    let log = out.join(format!("build-{}.log", kernel.name()));
    let _ = fs::remove_file(&log);
    Build {
        tree,
        arch: Arch::Um,
        fragment: fragment_path,
        kconfig_add: &kernel.kconfig_add(),
        dir: &build,
        log: &log,
        what: &format!("{} kernel ({mode})", kernel.name()),
    }
    .run(jobs, |config| match check_config(config, kernel, mode) {
        Some(missing) => Err(format!(
            "lacks `{missing}` for the {} kernel",
            kernel.name()
        )),
        // The object gates are for kernels that run the runtime: the floor's entries return
        // before their tail calls, so its granule checks and slow paths are unreached by
        // design.
        None => Ok(kernel == Kernel::Rust),
    })?;
    check_instrumented(&build, kernel)?;
    let bin = out.join(format!("linux-{}", kernel.name()));
    fs::copy(build.join("linux"), &bin).context(format!("cannot copy {}", bin.display()))?;
    Ok(bin)
}

/// The bench object calls the runtime when KASAN is on, and does not when it is off.
fn check_instrumented(build: &Path, kernel: Kernel) -> Result<()> {
    let obj = build.join("mm/rkasan_bench.o");
    let undefined = util::capture(
        Command::new(Path::new(toolchain::LLVM_BIN).join("llvm-nm"))
            .arg("-u")
            .arg(&obj),
    )?;
    let asan = undefined.lines().any(|l| l.contains("__asan_"));
    if asan != (kernel != Kernel::Off) {
        bail!(
            "{} {} KASAN instrumentation (llvm-nm -u finds {} __asan_ symbol)",
            obj.display(),
            if asan { "has" } else { "lacks" },
            if asan { "an" } else { "no" }
        );
    }
    Ok(())
}

/// Runs one kernel binary with [`CMDLINE`] and `extra`, saving its console to `log`; returns the
/// console.
fn run_kernel(bin: &Path, extra: &[&str], log: &Path) -> Result<String> {
    let file = fs::File::create(log).context(format!("cannot create {}", log.display()))?;
    let err = file.try_clone()?;
    let mut child = Command::new(bin)
        .args(CMDLINE)
        .args(extra)
        .current_dir(log.parent().unwrap_or(Path::new(".")))
        .stdin(Stdio::null())
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(err))
        .spawn()
        .context(format!("cannot run {}", bin.display()))?;
    let start = Instant::now();
    loop {
        if child.try_wait()?.is_some() {
            break;
        }
        if start.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "{} ran longer than {}; console: {}",
                bin.display(),
                util::fmt_duration(RUN_TIMEOUT),
                log.display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let raw = fs::read(log).unwrap_or_default();
    Ok(String::from_utf8_lossy(&raw).into_owned())
}

/// `cargo xtask bench`.
pub fn bench(tree: &Tree, mode: Instrumentation, rounds: usize, jobs: usize) -> Result<bool> {
    tree.version()?;
    if !kunit::has_kasan_rust(tree)? {
        return Err(kunit::no_kasan_rust(tree));
    }
    let kconfig = util::read(&tree.path.join("lib/Kconfig.kasan"))?;
    for (option, commit) in [
        ("KASAN_RUST_BENCH", "rkasan_bench"),
        ("KASAN_RUST_BENCH_FLOOR", "bench floor"),
    ] {
        if !kconfig.lines().any(|l| l == format!("config {option}")) {
            bail!(
                "{}: lib/Kconfig.kasan has no {option} (the {commit} commit is not applied)",
                tree.path.display()
            );
        }
    }
    let out = util::out_dir().join("bench");
    let run_dir = out.join(mode.name());
    util::mkdir(&run_dir)?;
    let full = util::read(&Config::Full.fragment())?;
    let mut bins: Vec<(Kernel, PathBuf)> = Vec::new();
    for kernel in Kernel::ALL {
        if kernel == Kernel::FreeCheck {
            // The Rust kernel, booted with the parameter.
            let rust = bins
                .iter()
                .find(|(k, _)| *k == Kernel::Rust)
                .map(|(_, p)| p.clone());
            let Some(rust) = rust else {
                bail!("the free-check kernel needs the Rust kernel, built before it");
            };
            bins.push((kernel, rust));
            continue;
        }
        let path = run_dir.join(format!("{}.config", kernel.name()));
        util::write(&path, fragment(&full, kernel, mode))?;
        bins.push((kernel, build(tree, kernel, mode, &path, &run_dir, jobs)?));
    }

    // The instructions of each outline check in both runtimes, next to the figures.
    let bin_of = |k: Kernel| bins.iter().find(|(b, _)| *b == k).map(|(_, p)| p.clone());
    if let (Instrumentation::Outline, Some(c), Some(rust)) =
        (mode, bin_of(Kernel::C), bin_of(Kernel::Rust))
    {
        let md = hotpath::report(&hotpath::lister(&c), &hotpath::lister(&rust))?;
        util::write(&run_dir.join("hotpath.md"), &md)?;
    }

    let mut samples: Samples = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut ok = true;
    let step = Step::start(
        format!("run: {rounds} interleaved rounds of off, C, Rust, floor, free-check ({mode})"),
        Some(&format!("consoles: {}/round*-*.log", run_dir.display())),
    );
    for round in 1..=rounds {
        for (kernel, bin) in &round_order(&bins, round) {
            let log = run_dir.join(format!("round{round}-{}.log", kernel.name()));
            let console = run_kernel(bin, kernel.boot_args(), &log)?;
            let figures = parse_console(&console);
            if let Err(e) = check_free_check(*kernel, parse_free_check(&console)) {
                ok = false;
                eprintln!(
                    "    round {round}, {}: {e} ({})",
                    kernel.name(),
                    log.display()
                );
            }
            match suite_verdict(&console) {
                Some(true) => {}
                Some(false) => {
                    ok = false;
                    eprintln!(
                        "    round {round}, {}: the suite failed ({})",
                        kernel.name(),
                        log.display()
                    );
                }
                None => eprintln!(
                    "    round {round}, {}: no suite verdict (lost console lines?) in {}",
                    kernel.name(),
                    log.display()
                ),
            }
            if figures.is_empty() {
                ok = false;
                eprintln!(
                    "    round {round}, {}: no figures in {}",
                    kernel.name(),
                    log.display()
                );
            }
            for (name, v) in figures {
                record(&mut samples, &mut order, *kernel, round, name, v);
            }
        }
        eprintln!("    round {round} of {rounds} done");
    }
    step.done();

    // The access and mem cases once more, outside UML: the same code, less noise.
    let step = Step::start(
        format!("replay: access and mem cases outside UML, {rounds} interleaved rounds"),
        Some("bench/replay/replay.c"),
    );
    // The free-check kernel is the Rust kernel's binary: nothing of it to replay.
    let replay_bins: Vec<(Kernel, PathBuf)> = bins
        .iter()
        .filter(|(k, _)| *k != Kernel::FreeCheck)
        .cloned()
        .collect();
    let (replayed, replay_order) = replay::run(&replay_bins, rounds, &run_dir)?;
    let replay_md = format!(
        "# rkasan bench replayed outside UML, {mode} mode\n\n\
         `bench/replay/replay.c` maps each kernel binary at its link address and calls its own \
         `bench_access()`, `bench_memset()` and `bench_memcpy()`: the kernel's machine code, \
         KASAN runtime included, without UML's timer signals and page faults. A figure is the \
         median over {rounds} interleaved rounds of the fastest of 7 samples; Rust/C is paired \
         by round as in bench.md.\n\n{}",
        table(&rows(&replayed, &replay_order, mode))
    );
    util::write(&run_dir.join("replay.md"), &replay_md)?;
    step.done();

    let rows = rows(&samples, &order, mode);
    let md = format!(
        "# rkasan bench, {mode} mode\n\n\
         `cargo xtask bench --mode {mode}`: five UML kernels from {} (the `full` config without \
         the KASAN test suite, CONFIG_KASAN_{}, plus CONFIG_KASAN_RUST_BENCH): KASAN off, KASAN \
         with the C runtime, KASAN with the Rust runtime (every KASAN_RUST_* option on), and \
         the floor: the Rust kernel with CONFIG_KASAN_RUST_BENCH_FLOOR, whose runtime does no \
         work (every check accepts at once, kasan_poison() and kasan_unpoison() write no \
         shadow, nothing is quarantined; instrumentation and hooks unchanged), the least any \
         runtime can cost \
         here, and free-check: the Rust kernel booted with `{FREE_CHECK_ARG}`. {rounds} \
         interleaved rounds (off, C, Rust, floor, free-check; C, Rust, floor, free-check, off; \
         ...); an ns \
         figure is the median over the rounds of the suite's median of 9 samples (of at least 2 \
         ms each; of 2048 pairs each for the slab cases, so that every kernel puts the same \
         objects through the quarantine), Rust/C the median over the rounds of that round's \
         Rust/C (paired, so that a slow spell of the machine, which shifts both kernels of a \
         round, cancels). 95%: the percentile-bootstrap interval over the rounds (2000 \
         resamples, fixed seed); `vs C` says `above` only when Rust/C's whole interval is above \
         1.00 (`below`: below it). (Rust-floor)/(C-floor): how much of the C runtime's work \
         above the floor the Rust runtime does; floor+10%: Rust within 10% of the floor. Command \
         line: `{}`. The report case silences the console while it runs (printk still formats \
         and stores each report); the floor kernel skips it. ns per op; Rust/C above 1 means \
         the Rust runtime is slower. The slab cases start with the quarantine full (twice its \
         default size of 4 KiB objects freed before them), so that each free also pays an \
         eviction.\n\n{}\n{}\n## {FREE_CHECK_ARG}\n\nThe Rust kernel's slab cases without and \
         with `{FREE_CHECK_ARG}`, which fills each freed object as it enters the quarantine and \
         checks it as it leaves; cost: the median over the rounds of each round's difference, \
         with its 95% interval.\n\n{}",
        tree.path.display(),
        mode.name().to_uppercase(),
        CMDLINE.join(" "),
        table(&rows),
        verdict(&rows),
        free_check_table(&rows)
    );
    util::write(&out.join("bench.md"), &md)?;
    let json = Json {
        mode: mode.name(),
        rounds,
        cmdline: CMDLINE.join(" "),
        cases: &rows,
    };
    util::write(
        &out.join("bench.json"),
        serde_json::to_string_pretty(&json).map_err(|e| util::Error(e.to_string()))? + "\n",
    )?;
    let png = out.join("bench.png");
    let _ = fs::remove_file(&png);
    match fs::read(FONT) {
        Ok(font) => chart(&rows, mode, Box::leak(font.into_boxed_slice()), &png)?,
        Err(e) => {
            eprintln!("    no chart: cannot read {FONT} ({e}; apt-get install fonts-dejavu-core)")
        }
    }
    // The latest run is bench.*; each mode's also stays in its own directory.
    for name in ["hotpath.md", "replay.md"] {
        if run_dir.join(name).is_file() {
            fs::copy(run_dir.join(name), out.join(name)).context(format!("cannot copy {name}"))?;
        } else {
            let _ = fs::remove_file(out.join(name));
        }
    }
    for name in ["bench.md", "bench.json", "bench.png"] {
        if out.join(name).is_file() {
            fs::copy(out.join(name), run_dir.join(name))
                .context(format!("cannot copy {name} to {}", run_dir.display()))?;
        }
    }
    println!(
        "\nbench: {mode} mode, {rounds} rounds ({})",
        tree.path.display()
    );
    print!(
        "{}\n{}\n{}",
        table(&rows),
        verdict(&rows),
        free_check_table(&rows)
    );
    println!(
        "results: {}/bench.md, bench.json, bench.png, replay.md, hotpath.md (outline) (also in \
         {1}); consoles in {1}",
        out.display(),
        run_dir.display()
    );
    Ok(ok && !rows.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = "# SPDX-License-Identifier: GPL-2.0\n# full: ...\nCONFIG_KUNIT=y\n\
        CONFIG_KASAN=y\nCONFIG_KASAN_GENERIC=y\nCONFIG_KASAN_OUTLINE=y\nCONFIG_KASAN_VMALLOC=y\n\
        CONFIG_KASAN_EXTRA_INFO=y\nCONFIG_KASAN_KUNIT_TEST=y\nCONFIG_RUST=y\nCONFIG_SMP=y\n";

    #[test]
    fn fragments() {
        let off = fragment(FULL, Kernel::Off, Instrumentation::Outline);
        assert!(!off.contains("CONFIG_KASAN=y"));
        assert!(!off.contains("CONFIG_KASAN_OUTLINE"));
        assert!(off.contains("# CONFIG_KASAN is not set\n"));
        assert!(off.contains("CONFIG_KUNIT=y\n") && off.contains("CONFIG_SMP=y\n"));
        assert!(off.ends_with("CONFIG_KASAN_RUST_BENCH=y\n"));
        let inline = fragment(FULL, Kernel::C, Instrumentation::Inline);
        assert!(inline.contains("CONFIG_KASAN=y\nCONFIG_KASAN_GENERIC=y\nCONFIG_KASAN_INLINE=y\n"));
        assert!(!inline.contains("OUTLINE") && !inline.contains("KUNIT_TEST"));
        let outline = fragment(FULL, Kernel::Rust, Instrumentation::Outline);
        assert!(outline.contains("CONFIG_KASAN_OUTLINE=y\n"));
        assert_eq!(outline.matches("CONFIG_KASAN_OUTLINE=y").count(), 1);
        // The real full.config works too.
        let real = util::read(&Config::Full.fragment()).unwrap();
        assert!(fragment(&real, Kernel::Rust, Instrumentation::Inline)
            .contains("CONFIG_KASAN_INLINE=y\n"));
    }

    #[test]
    fn config_checks() {
        let rust = "CONFIG_KASAN=y\nCONFIG_KASAN_OUTLINE=y\nCONFIG_KASAN_RUST=y\n\
            CONFIG_KASAN_RUST_SHADOW=y\nCONFIG_KASAN_RUST_REPORT=y\nCONFIG_KASAN_RUST_PARAMS=y\n\
            CONFIG_KASAN_RUST_QUARANTINE=y\nCONFIG_KASAN_RUST_BENCH=y\n\
            # CONFIG_KASAN_RUST_BENCH_FLOOR is not set\n";
        assert_eq!(
            check_config(rust, Kernel::Rust, Instrumentation::Outline),
            None
        );
        // The floor is the Rust kernel with its switch on, and only the floor has it.
        assert_eq!(
            check_config(rust, Kernel::Floor, Instrumentation::Outline).as_deref(),
            Some(FLOOR_OPTION)
        );
        let floor = rust.replace("# CONFIG_KASAN_RUST_BENCH_FLOOR is not set", FLOOR_OPTION);
        assert_eq!(
            check_config(&floor, Kernel::Floor, Instrumentation::Outline),
            None
        );
        assert_eq!(
            check_config(&floor, Kernel::Rust, Instrumentation::Outline).as_deref(),
            Some("# CONFIG_KASAN_RUST_BENCH_FLOOR is not set")
        );
        assert_eq!(
            Kernel::Floor.kconfig_add(),
            [Runtime::Rust.selection(), FLOOR_OPTION]
        );
        assert_eq!(
            check_config(rust, Kernel::Rust, Instrumentation::Inline).as_deref(),
            Some("CONFIG_KASAN_INLINE=y")
        );
        assert_eq!(
            check_config(rust, Kernel::C, Instrumentation::Outline).as_deref(),
            Some("# CONFIG_KASAN_RUST is not set")
        );
        assert_eq!(
            check_config(
                "# CONFIG_KASAN is not set\n",
                Kernel::Off,
                Instrumentation::Outline
            )
            .as_deref(),
            Some("CONFIG_KASAN_RUST_BENCH=y")
        );
    }

    const CONSOLE: &str = "\
KTAP version 1
1..1
    KTAP version 1
    # Subtest: rkasan_bench
    1..2
    # rkasan_bench_access: bench load1_seq 2.345
    # rkasan_bench_access: bench store16_rand 11.000
[    1.234] some other line with # bench
    ok 1 rkasan_bench_access
    # rkasan_bench_report: bench report 48123.500
    # bench memset_64 7
    # rkasan_bench_report: bench broken x
    ok 2 rkasan_bench_report
# rkasan_bench: pass:2 fail:0 skip:0 total:2
ok 1 rkasan_bench
";

    #[test]
    fn parses_console() {
        assert_eq!(
            parse_console(CONSOLE),
            [
                ("load1_seq".to_string(), 2.345),
                ("store16_rand".to_string(), 11.0),
                ("report".to_string(), 48123.5),
                ("memset_64".to_string(), 7.0),
            ]
        );
        assert_eq!(suite_verdict(CONSOLE), Some(true));
        assert_eq!(suite_verdict("not ok 1 rkasan_bench # FAIL\n"), Some(false));
        assert_eq!(suite_verdict("    ok 1 rkasan_bench_access\n"), None);
    }

    #[test]
    fn free_check_figures() {
        let console = "    # rkasan_bench_slab: bench kmem_cache_128 812.000\n\
            \x20   # rkasan_bench_slab: free_check filled 30208 checked 29954\n";
        assert_eq!(parse_free_check(console), Some((30208, 29954)));
        assert_eq!(parse_free_check("# free_check filled x checked 1\n"), None);
        assert_eq!(parse_free_check(CONSOLE), None);
        // The free-check kernel must fill and check; the others must not.
        assert!(check_free_check(Kernel::FreeCheck, Some((3, 2))).is_ok());
        assert!(check_free_check(Kernel::FreeCheck, Some((3, 0))).is_err());
        assert!(check_free_check(Kernel::FreeCheck, Some((0, 0))).is_err());
        assert!(check_free_check(Kernel::FreeCheck, None).is_err());
        assert!(check_free_check(Kernel::Rust, Some((0, 0))).is_ok());
        assert!(check_free_check(Kernel::Rust, Some((1, 0))).is_err());
        assert!(check_free_check(Kernel::Floor, None).is_err());
        assert!(check_free_check(Kernel::C, None).is_ok());
        assert!(check_free_check(Kernel::Off, Some((0, 0))).is_err());
        assert_eq!(Kernel::FreeCheck.boot_args(), [FREE_CHECK_ARG]);
        assert!(Kernel::Rust.boot_args().is_empty());

        let mut samples: Samples = BTreeMap::new();
        for (k, v) in [
            (Kernel::Rust, [100.0, 300.0, 110.0]),
            (Kernel::FreeCheck, [150.0, 360.0, 150.0]),
        ] {
            samples
                .entry(k)
                .or_default()
                .insert("kmalloc_128".to_string(), v.to_vec());
            samples
                .entry(k)
                .or_default()
                .insert("load1_seq".to_string(), v.to_vec());
        }
        let order = vec!["kmalloc_128".to_string(), "load1_seq".to_string()];
        let rows = rows(&samples, &order, Instrumentation::Outline);
        // Paired: 50, 60, 40 ns more per round; the median is 50, not 360 - 300 or the
        // difference of the medians (150 - 110 = 40).
        assert_eq!(rows[0].free_check_cost(), Some(50.0));
        let (lo, hi) = rows[0].free_check_cost_interval().unwrap();
        assert!(
            (40.0..=50.0).contains(&lo) && (50.0..=60.0).contains(&hi),
            "{lo} {hi}"
        );
        let t = free_check_table(&rows);
        assert!(
            t.contains("| kmalloc_128 | 110.00 | 150.00 | 50.00 | "),
            "{t}"
        );
        assert!(!t.contains("load1_seq"), "{t}");
        assert!(
            verdict(&rows).contains("kasan.free_check=on costs 50.00 ns per pair for kmalloc_128"),
            "{}",
            verdict(&rows)
        );
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[f64::NAN, 2.0]), Some(2.0));
    }

    #[test]
    fn rows_and_table() {
        let mut samples: Samples = BTreeMap::new();
        let mut put = |k: Kernel, name: &str, v: &[f64]| {
            samples
                .entry(k)
                .or_default()
                .insert(name.to_string(), v.to_vec());
        };
        put(Kernel::Off, "load8_seq", &[1.0, 1.2, 0.8]);
        put(Kernel::C, "load8_seq", &[3.0, 9.0, 2.9]);
        put(Kernel::Rust, "load8_seq", &[4.0, 3.9, 4.1]);
        put(Kernel::Floor, "load8_seq", &[2.0, 2.0, 2.0]);
        put(Kernel::C, "report", &[50000.0]);
        put(Kernel::Rust, "report", &[40000.0]);
        let order = vec!["load8_seq".to_string(), "report".to_string()];
        let rows = rows(&samples, &order, Instrumentation::Outline);
        assert_eq!(rows[0].off_ns, Some(1.0));
        assert_eq!(rows[0].c_ns, Some(3.0));
        assert_eq!(rows[0].rust_ns, Some(4.0));
        assert_eq!(rows[0].overhead_ratio(), Some(1.5));
        // (4 - 2) / (3 - 2): twice C's work above the floor.
        assert_eq!(rows[0].floor_ns, Some(2.0));
        assert_eq!(rows[0].floor_ratio(), Some(2.0));
        assert!(!rows[0].near_floor());
        assert_eq!(rows[1].floor_ratio(), None);
        assert_eq!(rows[1].off_ns, None);
        assert_eq!(rows[1].overhead_ratio(), None);
        assert_eq!(rows[1].rust_over_c(), Some(0.8));
        let t = table(&rows);
        // Rust/C per round: 1.33, 0.43, 1.41; (Rust-floor)/(C-floor): 2.00, 0.27, 2.33. With 3
        // rounds a ninth of the resamples pick one round three times, so the 2.5th and 97.5th
        // percentiles are the extreme rounds.
        assert!(
            t.contains(
                "| load8_seq | 1.00 | 2.00 | 3.00 | 4.00 | 1.33 | 0.43-1.41 |  | 2.00 | \
                 0.27-2.33 |  | 1.50 |"
            ),
            "{t}"
        );
        assert!(
            t.contains(
                "| report | n/a | n/a | 50000 | 40000 | 0.80 | n/a |  | n/a | n/a |  | n/a |"
            ),
            "{t}"
        );
        // Paired by round: a slow spell in round 2 shifts both kernels and cancels out.
        let row = Row {
            c_rounds: vec![2.0, 6.0, f64::NAN, 2.2],
            rust_rounds: vec![1.8, 5.4, 1.0, 1.98],
            ..rows[0].clone()
        };
        assert!((row.rust_over_c().unwrap() - 0.9).abs() < 1e-9);
        // Every round 0.9: the interval is that point, entirely below C.
        let (lo, hi) = row.rust_over_c_interval().unwrap();
        assert!(
            (lo - 0.9).abs() < 1e-9 && (hi - 0.9).abs() < 1e-9,
            "{lo} {hi}"
        );
        assert!(row.below_c() && !row.above_c());
        let slower = Row {
            c_rounds: vec![2.0, 6.0, 3.0, 2.2],
            rust_rounds: vec![2.2, 6.3, 3.3, 2.31],
            floor_rounds: vec![1.9, 5.8, 2.9, 2.1],
            ..rows[0].clone()
        };
        let (lo, hi) = slower.rust_over_c_interval().unwrap();
        assert!(lo > 1.0 && hi <= 1.1, "{lo} {hi}");
        assert!(slower.above_c());
        let v = verdict(&[slower.clone(), row.clone()]);
        assert!(
            v.starts_with("2 cases; Rust/C's 95% interval entirely above 1.00 in 1: load8_seq, entirely below in 1;"),
            "{v}"
        );
        // Near the floor: Rust at most 10% above it.
        let near = Row {
            floor_ns: Some(2.0),
            rust_ns: Some(2.2),
            ..rows[0].clone()
        };
        assert!(near.near_floor());
        assert!(!Row {
            rust_ns: Some(2.21),
            ..near
        }
        .near_floor());
        let json = serde_json::to_value(&rows[1]).unwrap();
        assert_eq!(json["name"], "report");
        assert_eq!(json["mode"], "outline");
        assert!(json["off_ns"].is_null());
        assert_eq!(json["c_ns"], 50000.0);
    }

    #[test]
    fn draws_chart() {
        let Ok(font) = fs::read(FONT) else {
            eprintln!("no {FONT}: chart not tested");
            return;
        };
        let rows = vec![Row {
            name: "load8_seq".into(),
            mode: "outline".into(),
            off_ns: Some(1.0),
            c_ns: Some(3.0),
            rust_ns: Some(4.0),
            floor_ns: Some(2.0),
            off_rounds: vec![],
            c_rounds: vec![3.0, 3.1, 2.9],
            rust_rounds: vec![4.0, 4.2, 3.9],
            floor_rounds: vec![2.0, 2.1, 1.9],
            free_check_ns: None,
            free_check_rounds: vec![],
        }];
        let path = std::env::temp_dir().join(format!("xtask-bench-{}.png", std::process::id()));
        chart(
            &rows,
            Instrumentation::Outline,
            Box::leak(font.into_boxed_slice()),
            &path,
        )
        .unwrap();
        let png = fs::read(&path).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let _ = fs::remove_file(&path);
    }
}
