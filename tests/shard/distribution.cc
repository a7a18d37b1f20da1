// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "distribution.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>

#include "keel/base/assert.h"
#include "keel/base/hash.h"
#include "keel/base/strings.h"
#include "testing/testing.h"

namespace keel::shard::testing {
namespace {

#ifdef NDEBUG
constexpr uint64_t kDefaultKeys = uint64_t{1} << 20;
#else
constexpr uint64_t kDefaultKeys = uint64_t{1} << 18;
#endif

std::vector<NodeId> Iota(size_t n) {
  std::vector<NodeId> ids(n);
  std::iota(ids.begin(), ids.end(), NodeId{0});
  return ids;
}

Movement MovementOf(std::span<const NodeId> before, std::span<const NodeId> after, NodeId changed,
                    bool added, size_t n_with_node) {
  KEEL_ASSERT(before.size() == after.size());
  size_t moved = 0;
  bool only_needed = true;
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i] == after[i]) continue;
    ++moved;
    only_needed = only_needed && (added ? after[i] == changed : before[i] == changed);
  }
  const double m = static_cast<double>(before.size());
  const double p = 1.0 / static_cast<double>(n_with_node);
  return {.moved = static_cast<double>(moved) / m,
          .ideal = p,
          .noise = std::sqrt(p * (1 - p) / m),
          .only_needed = only_needed};
}

}  // namespace

size_t BalanceKeys() {
  return static_cast<size_t>(keel::testing::TestRounds("KEEL_SHARD_KEYS", kDefaultKeys));
}

std::vector<uint64_t> KeyHashes(size_t count) {
  std::vector<uint64_t> hashes(count);
  for (size_t i = 0; i < count; ++i) hashes[i] = base::Hash64(base::Cat("key:", i));
  return hashes;
}

double UniformStddev(size_t n, size_t m) {
  return std::sqrt(static_cast<double>(n - 1) / static_cast<double>(m));
}

Balance BalanceOf(std::span<const NodeId> owners, size_t n) {
  std::vector<double> loads(n, 0);
  for (const NodeId owner : owners) {
    KEEL_ASSERT(owner < n, "owner ", owner, " of ", n, " nodes");
    ++loads[owner];
  }
  const double mean = static_cast<double>(owners.size()) / static_cast<double>(n);
  double squares = 0;
  for (const double load : loads) squares += (load - mean) * (load - mean);
  return {.stddev = std::sqrt(squares / static_cast<double>(n)) / mean,
          .peak = *std::max_element(loads.begin(), loads.end()) / mean};
}

Measurement Measure(const Assign& assign, size_t n, std::span<const uint64_t> keys,
                    NodeId removed_node) {
  const std::vector<NodeId> nodes = Iota(n);
  const std::vector<NodeId> before = assign(nodes, keys);
  const std::vector<NodeId> grown = assign(Iota(n + 1), keys);
  std::vector<NodeId> shrunk_nodes = nodes;
  std::erase(shrunk_nodes, removed_node);
  const std::vector<NodeId> shrunk = assign(shrunk_nodes, keys);
  return {.balance = BalanceOf(before, n),
          .added = MovementOf(before, grown, static_cast<NodeId>(n), /*added=*/true, n + 1),
          .removed = MovementOf(before, shrunk, removed_node, /*added=*/false, n)};
}

void CheckLikeUniformChoice(const Balance& balance, size_t n, size_t m) {
  CHECK(balance.stddev <= 1.2 * UniformStddev(n, m));
  CHECK(balance.peak <= 1 + 5 * UniformStddev(n, m));
}

void CheckOnlyNeededMoves(const Measurement& m, double factor) {
  CHECK(m.added.only_needed);
  CHECK(m.removed.only_needed);
  CHECK(m.added.Within(factor));
  CHECK(m.removed.Within(factor));
}

void Report(std::string_view scheme, size_t n, size_t keys, const Measurement& m) {
  if (std::getenv("KEEL_SHARD_REPORT") == nullptr) return;
  std::printf("| %s | %zu | %zu | %.2f%% (%.2f%%) | %.3f | %.4f%% (%.2fx) | %.4f%% (%.2fx) |\n",
              std::string(scheme).c_str(), n, keys, 100 * m.balance.stddev,
              100 * UniformStddev(n, keys), m.balance.peak, 100 * m.added.moved,
              m.added.moved / m.added.ideal, 100 * m.removed.moved,
              m.removed.moved / m.removed.ideal);
}

}  // namespace keel::shard::testing
