// SPDX-License-Identifier: GPL-2.0

//! The rkasan lab.

fn main() {}
