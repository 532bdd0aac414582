#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Builds the `params` fuzz target and runs it for a bounded time, on a stable toolchain.
#
# The build passes the rustc flags `cargo fuzz build --sanitizer none` passes (cargo-fuzz's
# src/project.rs): none of them needs nightly, so no cargo-fuzz install is needed either. Debug
# assertions are on (as `cargo fuzz build -a`), which also turns overflow checks on, as in the
# kernel's Rust build. Usage: run.sh [SECONDS]; RKASAN_FUZZ_SEED picks libFuzzer's -seed.
# Fails if the build fails or libFuzzer finds a crash (a panic, including a failed assertion
# against the reference model); the reproducer is then in target/fuzz/artifacts/params/.
set -eu

secs=${1:-30}
seed=${RKASAN_FUZZ_SEED:-1}
cargo=${CARGO:-cargo}
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/target/fuzz
triple=$("${RUSTC:-rustc}" -vV | sed -n 's/^host: //p')

# --target keeps the flags away from build scripts (libfuzzer-sys builds libFuzzer with cc).
RUSTFLAGS="-Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
-Cllvm-args=-simplifycfg-branch-fold-threshold=0 \
-Cllvm-args=-sanitizer-coverage-stack-depth \
-Cllvm-args=-max-loads-per-memcmp=0 \
--cfg fuzzing -Clink-dead-code -Cdebug-assertions -Ccodegen-units=1 ${RUSTFLAGS:-}" \
	"$cargo" build --quiet --manifest-path "$root/rkasan/fuzz/Cargo.toml" \
	--release --config profile.release.debug=true \
	--target "$triple" --target-dir "$out" --bin params

corpus=$out/corpus/params
artifacts=$out/artifacts/params
log=$out/params.log
mkdir -p "$corpus" "$artifacts"

# New inputs go to the first directory (under target/); the seeds are only read.
if ! "$out/$triple/release/params" -max_total_time="$secs" -seed="$seed" -timeout=10 \
	-print_final_stats=1 -artifact_prefix="$artifacts/" \
	"$corpus" "$root/rkasan/fuzz/seeds/params" >"$log" 2>&1; then
	tail -n 40 "$log"
	echo "fuzz: params FAILED (seed $seed); reproducer in $artifacts, full log in $log" >&2
	exit 1
fi
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
echo "fuzz: params ran $runs executions in $secs s (seed $seed), no crash:" \
	"$(grep -m1 'DONE' "$log" | sed 's/^#[0-9]*[[:space:]]*DONE[[:space:]]*//')"
