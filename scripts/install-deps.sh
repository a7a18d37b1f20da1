#!/usr/bin/env bash
# Installs the Debian 12 packages keel needs to build, test and benchmark, skipping those already
# installed. As root it runs apt-get; otherwise it prints the command to run and stops.
#
#   scripts/install-deps.sh            the build, test and benchmark dependencies
#   scripts/install-deps.sh --check    only report what is missing (exit 1 if anything is)
set -euo pipefail

packages=(
  cmake g++ ninja-build ccache pkgconf  # tools
  libabsl-dev libxxhash-dev             # what keel itself uses
  libs2-dev                             # Google S2: the oracle for keel::geo::CellId
  doctest-dev libbenchmark-dev          # tests and benchmarks
  libboost-dev                          # Boost.Asio (keel/net); Boost.Geometry (benchmarks/geo)
  redis-server redis-tools              # Redis 7.0: the oracle for keel/net's protocol tests and
                                        # keel::shard's hash slots
  librocksdb-dev                        # RocksDB: the write-ahead-log peer in benchmarks/wal
  libsqlite3-dev                        # SQLite, the real-database variant of the hotel case
                                        # study's constraint approach
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages keel needs are installed"
  exit 0
fi

echo "install-deps: missing ${missing[*]}"
if [[ "${1:-}" == "--check" ]]; then
  exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: not root; install them with:"
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
