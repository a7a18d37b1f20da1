// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/geo/grid_index.h"

#include <doctest/doctest.h>

#include <limits>

#include "geo/index_testing.h"
#include "testing/testing.h"

namespace keel::geo {
namespace {

TEST_CASE("GridIndex::Create checks the cell size") {
  CHECK(GridIndex::Create({.cell_size_degrees = 0}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(GridIndex::Create({.cell_size_degrees = -1}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(GridIndex::Create({.cell_size_degrees = 181}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(GridIndex::Create({.cell_size_degrees = 1e-7}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(GridIndex::Create({.cell_size_degrees = std::numeric_limits<double>::quiet_NaN()})
            .status()
            .code() == absl::StatusCode::kInvalidArgument);
  CHECK((*GridIndex::Create({.cell_size_degrees = 180}))->options().cell_size_degrees == 180);
  CHECK(GridIndex().options().cell_size_degrees == 0.01);
}

TEST_CASE("GridIndex is exact with cell sizes that do not divide the sphere evenly") {
  const uint64_t seed = keel::testing::TestSeed(42);
  CAPTURE(seed);
  base::Random rng(seed);
  const std::vector<IndexedPoint> data = testing::ClusteredPoints(rng, 3000);
  testing::Oracle oracle;
  for (const IndexedPoint& p : data) oracle.Insert(p.id, p.location);
  for (const double size : {0.007, 0.3, 7.0, 100.0}) {
    auto grid = *GridIndex::Create({.cell_size_degrees = size});
    REQUIRE(grid->Build(data).ok());
    std::vector<Neighbor> out;
    for (const LatLng& center : testing::QueryCenters(rng, data, 20)) {
      for (const double radius : {0.0, 500.0, 20'000.0, 1e6}) {
        REQUIRE(grid->SearchRadius(center, radius, &out).ok());
        CHECK(out == oracle.Radius(center, radius));
      }
      REQUIRE(grid->Nearest(center, 7, &out).ok());
      CHECK(out == oracle.Nearest(center, 7));
    }
  }
}

TEST_CASE("GridIndex covers every column when a wrapped box has both ends in one column") {
  // With 180-degree cells a box a hair wider than half the longitudes wraps and starts and ends
  // in the same column.
  auto grid = *GridIndex::Create({.cell_size_degrees = 180});
  REQUIRE(grid->Insert(1, LatLng::FromDegrees(0, 90)).ok());
  std::vector<Neighbor> out;
  REQUIRE(grid->SearchRadius(LatLng::FromDegrees(0, 90), 10'007'557.17, &out).ok());
  CHECK(out.size() == 1);
}

TEST_CASE("GridIndex finer cells examine fewer candidates") {
  base::Random rng(keel::testing::TestSeed(43));
  const std::vector<IndexedPoint> data = testing::ClusteredPoints(rng, 20000);
  auto coarse = *GridIndex::Create({.cell_size_degrees = 1});
  auto fine = *GridIndex::Create({.cell_size_degrees = 0.01});
  REQUIRE(coarse->Build(data).ok());
  REQUIRE(fine->Build(data).ok());
  size_t coarse_candidates = 0;
  size_t fine_candidates = 0;
  std::vector<Neighbor> out;
  for (const LatLng& center : testing::QueryCenters(rng, data, 50)) {
    QueryStats stats;
    REQUIRE(coarse->SearchRadius(center, 1000, &out, &stats).ok());
    coarse_candidates += stats.candidates;
    REQUIRE(fine->SearchRadius(center, 1000, &out, &stats).ok());
    fine_candidates += stats.candidates;
  }
  CHECK(fine_candidates < coarse_candidates);
}

}  // namespace
}  // namespace keel::geo
