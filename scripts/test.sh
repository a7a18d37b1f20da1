#!/usr/bin/env bash
# keel's test command (the one in the README, and the one CI runs):
#   1. installs missing dependencies;
#   2. Release build: every test suite, the package test (install + find_package, pkg-config and
#      add_subdirectory consumers, every public header compiled on its own), a smoke run of every
#      example and of every benchmark binary;
#   3. the same test suites and example smoke runs built with AddressSanitizer and
#      UndefinedBehaviorSanitizer;
#   4. the suites and examples that start threads built with ThreadSanitizer.
# It stops at the first failure with a non-zero exit; its last lines are CTest's summary.
#
# Environment: KEEL_JOBS (parallel jobs, default: the number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib.sh
scripts/install-deps.sh

for preset in release asan tsan; do
  keel_build "$preset"
  echo "==> ${preset}: test"
  ctest --preset "$preset" -j "${KEEL_JOBS:-$(nproc)}"
done
