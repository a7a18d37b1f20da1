#!/usr/bin/env bash
# Runs every keel benchmark binary and writes one JSON file per binary to build/bench/.
#
#   scripts/bench.sh                         all benchmarks, 5 repetitions, medians reported
#   scripts/bench.sh --benchmark_filter=Crc  arguments are passed to every binary
#
# The machines keel is measured on are shared and noisy: each benchmark is repeated
# (KEEL_BENCH_REPETITIONS, default 5) and docs/benchmarks.md quotes the medians.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib.sh
scripts/install-deps.sh

keel_build release

out=build/bench
mkdir -p "$out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for binary in build/release/benchmarks/*_bench; do
  name=$(basename "$binary")
  echo "==> $name"
  "$binary" --benchmark_repetitions="${KEEL_BENCH_REPETITIONS:-5}" \
    --benchmark_report_aggregates_only=true \
    --benchmark_out="$out/$name.json" --benchmark_out_format=json "$@"
done
echo "JSON results are in $out/"
