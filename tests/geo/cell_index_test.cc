// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/geo/cell_index.h"

#include <doctest/doctest.h>

#include "geo/index_testing.h"
#include "testing/testing.h"

namespace keel::geo {
namespace {

TEST_CASE("CellIndex::Create checks max_cells") {
  CHECK(CellIndex::Create({.max_cells = 0}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(CellIndex::Create({.level_offset = -1}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(CellIndex::Create({.level_offset = 9}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK((*CellIndex::Create({.max_cells = 1}))->options().max_cells == 1);
  CHECK(CellIndex().options().max_cells == 8);
  CHECK(CellIndex().kind() == "s2");
}

// Builds a CellIndex per option set over the same clustered points, checks every radius search
// against the oracle, and checks that each option set in turn tests no more candidates.
void CheckExactAndTightening(const std::vector<CellIndex::Options>& options, uint64_t seed) {
  CAPTURE(seed);
  base::Random rng(seed);
  const std::vector<IndexedPoint> data = testing::ClusteredPoints(rng, 4000);
  testing::Oracle oracle;
  for (const IndexedPoint& p : data) oracle.Insert(p.id, p.location);
  size_t previous_candidates = SIZE_MAX;
  for (const CellIndex::Options& o : options) {
    auto index = *CellIndex::Create(o);
    REQUIRE(index->Build(data).ok());
    std::vector<Neighbor> out;
    size_t candidates = 0;
    base::Random queries(seed + 1);
    for (const LatLng& center : testing::QueryCenters(queries, data, 30)) {
      for (const double radius : {0.0, 300.0, 5000.0, 300'000.0}) {
        QueryStats stats;
        REQUIRE(index->SearchRadius(center, radius, &out, &stats).ok());
        CHECK(out == oracle.Radius(center, radius));
        candidates += stats.candidates;
      }
    }
    CHECK(candidates <= previous_candidates);
    previous_candidates = candidates;
  }
}

TEST_CASE("CellIndex is exact with any covering budget and a bigger one tests fewer points") {
  std::vector<CellIndex::Options> options;
  for (const int max_cells : {1, 4, 16, 64}) {
    options.push_back({.covering = CellIndex::Covering::kAdaptive, .max_cells = max_cells});
  }
  CheckExactAndTightening(options, keel::testing::TestSeed(46));
}

TEST_CASE("CellIndex with one level of cells is exact and finer levels test fewer points") {
  std::vector<CellIndex::Options> options;
  for (const int offset : {0, 1, 2, 4}) options.push_back({.level_offset = offset});
  CheckExactAndTightening(options, keel::testing::TestSeed(47));
}

}  // namespace
}  // namespace keel::geo
