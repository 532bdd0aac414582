// SPDX-License-Identifier: GPL-2.0

//! 95% intervals of the bench's ratios, by bootstrap over its rounds.
//!
//! A ratio of one run (Rust/C, or (Rust - floor) / (C - floor)) is an estimate: which cases land
//! above 1.00 moves from machine to machine and from run to run, so a median alone settles
//! nothing. The rounds are the bench's independent units (each boots every kernel once, in an
//! order that rotates), so resampling them with replacement and recomputing the statistic gives
//! its sampling spread; the 2.5th and 97.5th percentiles of the resampled statistics are the
//! interval (the percentile bootstrap). A case is above C only when its interval lies entirely
//! above 1.00.
//!
//! The resampling draws from a fixed-seed generator, so a bench.json gives the same intervals
//! every time it is recomputed.

/// How many resamples an interval is computed from.
pub const RESAMPLES: usize = 2000;

/// The interval's coverage: 95%, the 2.5th to the 97.5th percentile.
const TAIL: f64 = 0.025;

/// SplitMix64 (Steele, Lea, Flood 2014): a small, well-mixed generator, enough to draw round
/// indices; fixed-seeded for reproducible intervals.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform index below `n` (`n` > 0; the modulo bias is below 2^-50 for the bench's
    /// round counts).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The 95% percentile-bootstrap interval of `stat` over `n` rounds: `stat` gets the indices of
/// one resample (`n` rounds drawn with replacement) and returns its statistic, or `None` when
/// the resample does not define it (which does not count). `None` with fewer than 3 rounds
/// (nothing to resample) or when most resamples define nothing.
pub fn interval(n: usize, stat: impl Fn(&[usize]) -> Option<f64>) -> Option<(f64, f64)> {
    if n < 3 {
        return None;
    }
    let mut rng = SplitMix64(0x726b_6173_616e); // "rkasan"
    let mut picks = vec![0usize; n];
    let mut estimates = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        for p in picks.iter_mut() {
            *p = rng.below(n);
        }
        if let Some(v) = stat(&picks).filter(|v| v.is_finite()) {
            estimates.push(v);
        }
    }
    if estimates.len() < RESAMPLES / 2 {
        return None;
    }
    estimates.sort_by(f64::total_cmp);
    Some((
        percentile(&estimates, TAIL),
        percentile(&estimates, 1.0 - TAIL),
    ))
}

/// The `q` quantile of the sorted, non-empty `sorted` (linear between the nearest ranks).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::median;

    /// The median of the picked values.
    fn median_of(values: &[f64]) -> impl Fn(&[usize]) -> Option<f64> + '_ {
        move |picks| median(&picks.iter().map(|&i| values[i]).collect::<Vec<_>>())
    }

    #[test]
    fn constant_rounds_give_a_point() {
        assert_eq!(interval(11, median_of(&[1.1; 11])), Some((1.1, 1.1)));
    }

    #[test]
    fn too_few_rounds_or_undefined() {
        assert_eq!(interval(2, median_of(&[1.0, 2.0])), None);
        assert_eq!(interval(11, |_| None), None);
        assert_eq!(interval(11, |_| Some(f64::NAN)), None);
    }

    #[test]
    fn reproducible_and_ordered() {
        let v = [
            0.97, 1.02, 0.99, 1.05, 0.93, 1.01, 1.00, 0.98, 1.04, 0.96, 1.03,
        ];
        let a = interval(v.len(), median_of(&v)).unwrap();
        assert_eq!(a, interval(v.len(), median_of(&v)).unwrap());
        assert!(a.0 <= 1.00 && 1.00 <= a.1, "{a:?}");
        // Within the data's range, and not the whole range: the median moves less.
        assert!(a.0 >= 0.93 && a.1 <= 1.05 && a.1 - a.0 < 0.12, "{a:?}");
    }

    /// Deterministic noise, uniform in [-1, 1).
    fn noise(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((*seed >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }

    #[test]
    fn covers_the_true_median_and_narrows_with_rounds() {
        // Ratios around a true median of 1.00, spread +-10%: the interval holds 1.00 in about
        // 95% of runs (the median's percentile bootstrap is a little conservative at 11).
        let mut seed = 7;
        let trials = 300;
        let mut covered = 0;
        let width = |rounds: usize, seed: &mut u64| {
            let v: Vec<f64> = (0..rounds).map(|_| 1.0 + 0.1 * noise(seed)).collect();
            interval(rounds, median_of(&v)).unwrap()
        };
        for _ in 0..trials {
            let (lo, hi) = width(11, &mut seed);
            covered += usize::from(lo <= 1.0 && 1.0 <= hi);
        }
        assert!(
            covered * 100 >= trials * 88,
            "covered {covered} of {trials}"
        );
        let mean_width = |rounds: usize, seed: &mut u64| {
            (0..50)
                .map(|_| {
                    let (lo, hi) = width(rounds, seed);
                    hi - lo
                })
                .sum::<f64>()
                / 50.0
        };
        let (w11, w41) = (mean_width(11, &mut seed), mean_width(41, &mut seed));
        assert!(w41 < w11 * 0.75, "11 rounds: {w11}, 41 rounds: {w41}");
    }

    #[test]
    fn a_real_shift_is_detected() {
        // 8% slower in every round, +-3% noise: the whole interval is above 1.00.
        let mut seed = 3;
        let v: Vec<f64> = (0..11).map(|_| 1.08 + 0.03 * noise(&mut seed)).collect();
        let (lo, _) = interval(v.len(), median_of(&v)).unwrap();
        assert!(lo > 1.0, "{lo}");
    }
}
