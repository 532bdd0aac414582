// SPDX-License-Identifier: GPL-2.0

//! Paired, interleaved rounds of the five bench kernels (KASAN off, C runtime, Rust runtime,
//! the floor, the Rust runtime with `kasan.free_check=on`):
//! the run order of each round and the per-round samples. Shared by the bench's UML runs
//! (bench.rs) and their replay outside UML (replay.rs), so neither depends on the other.

use std::collections::BTreeMap;

/// One of the five bench kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kernel {
    /// KASAN off.
    Off,
    /// KASAN, C runtime.
    C,
    /// KASAN, Rust runtime.
    Rust,
    /// KASAN, a Rust runtime that does no work (`CONFIG_KASAN_RUST_BENCH_FLOOR`): the floor
    /// of what any runtime can cost in this kernel.
    Floor,
    /// The Rust kernel's binary booted with `kasan.free_check=on`: what checking freed objects
    /// for writes costs.
    FreeCheck,
}

impl Kernel {
    /// All five, in build and run order (the floor after the Rust runtime: its build differs
    /// by one option; the free-check kernel is the Rust kernel's binary, not built again).
    pub const ALL: [Kernel; 5] = [
        Kernel::Off,
        Kernel::C,
        Kernel::Rust,
        Kernel::Floor,
        Kernel::FreeCheck,
    ];

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Off => "off",
            Kernel::C => "c",
            Kernel::Rust => "rust",
            Kernel::Floor => "floor",
            Kernel::FreeCheck => "free-check",
        }
    }
}

/// The samples of every round: `samples[kernel][case][round - 1]` = the figure of that round
/// (NaN if that round's console lacks it).
pub type Samples = BTreeMap<Kernel, BTreeMap<String, Vec<f64>>>;

/// The items in the order round `round` (from 1) runs them: each round starts with the next
/// one, so that no kernel always runs first or last.
pub fn round_order<T: Clone>(items: &[T], round: usize) -> Vec<T> {
    let mut order = items.to_vec();
    if !items.is_empty() {
        order.rotate_left((round - 1) % items.len());
    }
    order
}

/// Records `v`, round `round`'s (from 1) figure of case `name` with `kernel`, and the case's
/// first appearance in `order`. A figure a round lost is NaN, so the index stays the round and
/// rounds stay paired.
pub fn record(
    samples: &mut Samples,
    order: &mut Vec<String>,
    kernel: Kernel,
    round: usize,
    name: String,
    v: f64,
) {
    if !order.contains(&name) {
        order.push(name.clone());
    }
    let values = samples.entry(kernel).or_default().entry(name).or_default();
    values.resize(round - 1, f64::NAN);
    values.push(v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_rotate_and_stay_paired() {
        assert_eq!(round_order(&[1, 2, 3], 1), vec![1, 2, 3]);
        assert_eq!(round_order(&[1, 2, 3], 2), vec![2, 3, 1]);
        assert_eq!(round_order(&[1, 2, 3], 4), vec![1, 2, 3]);
        assert!(round_order::<u8>(&[], 3).is_empty());
        let (mut samples, mut order) = (Samples::new(), Vec::new());
        record(&mut samples, &mut order, Kernel::C, 1, "a".into(), 1.0);
        record(&mut samples, &mut order, Kernel::C, 3, "a".into(), 3.0);
        record(&mut samples, &mut order, Kernel::Rust, 2, "b".into(), 2.0);
        assert_eq!(order, ["a", "b"]);
        let a = &samples[&Kernel::C]["a"];
        assert_eq!((a.len(), a[0], a[2]), (3, 1.0, 3.0));
        assert!(a[1].is_nan());
        assert!(samples[&Kernel::Rust]["b"][0].is_nan());
    }
}
