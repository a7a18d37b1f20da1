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

TEST_CASE("CellIndex is exact with any covering budget") {
  const uint64_t seed = keel::testing::TestSeed(46);
  CAPTURE(seed);
  base::Random rng(seed);
  const std::vector<IndexedPoint> data = testing::ClusteredPoints(rng, 4000);
  testing::Oracle oracle;
  for (const IndexedPoint& p : data) oracle.Insert(p.id, p.location);
  size_t previous_candidates = SIZE_MAX;
  for (const int max_cells : {1, 4, 16, 64}) {
    auto index =
        *CellIndex::Create({.covering = CellIndex::Covering::kAdaptive, .max_cells = max_cells});
    REQUIRE(index->Build(data).ok());
    std::vector<Neighbor> out;
    size_t candidates = 0;
    base::Random queries(7);
    for (const LatLng& center : testing::QueryCenters(queries, data, 30)) {
      for (const double radius : {0.0, 300.0, 5000.0, 300'000.0}) {
        QueryStats stats;
        REQUIRE(index->SearchRadius(center, radius, &out, &stats).ok());
        CHECK(out == oracle.Radius(center, radius));
        candidates += stats.candidates;
      }
    }
    // A bigger budget hugs the circles closer and tests fewer points outside them.
    CHECK(candidates <= previous_candidates);
    previous_candidates = candidates;
  }
}

TEST_CASE("CellIndex with one level of cells is exact at every level offset") {
  const uint64_t seed = keel::testing::TestSeed(47);
  CAPTURE(seed);
  base::Random rng(seed);
  const std::vector<IndexedPoint> data = testing::ClusteredPoints(rng, 4000);
  testing::Oracle oracle;
  for (const IndexedPoint& p : data) oracle.Insert(p.id, p.location);
  size_t previous_candidates = SIZE_MAX;
  for (const int offset : {0, 1, 2, 4}) {
    auto index = *CellIndex::Create({.level_offset = offset});
    REQUIRE(index->Build(data).ok());
    std::vector<Neighbor> out;
    size_t candidates = 0;
    base::Random queries(8);
    for (const LatLng& center : testing::QueryCenters(queries, data, 30)) {
      for (const double radius : {0.0, 300.0, 5000.0, 300'000.0}) {
        QueryStats stats;
        REQUIRE(index->SearchRadius(center, radius, &out, &stats).ok());
        CHECK(out == oracle.Radius(center, radius));
        candidates += stats.candidates;
      }
    }
    // Finer cells fit the circle closer.
    CHECK(candidates <= previous_candidates);
    previous_candidates = candidates;
  }
}

}  // namespace
}  // namespace keel::geo
