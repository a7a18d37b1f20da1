// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/geo/grid_index.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <utility>
#include <vector>

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

// Runs radius and nearest queries around `centers` on `grid` and compares with `oracle`.
void CheckAgainstOracle(const GridIndex& grid, const testing::Oracle& oracle,
                        const std::vector<LatLng>& centers, std::initializer_list<double> radii) {
  std::vector<Neighbor> out;
  for (const LatLng& center : centers) {
    CAPTURE(center.ToString());
    for (const double radius : radii) {
      CAPTURE(radius);
      REQUIRE(grid.SearchRadius(center, radius, &out).ok());
      CHECK(out == oracle.Radius(center, radius));
    }
    REQUIRE(grid.Nearest(center, 5, &out).ok());
    CHECK(out == oracle.Nearest(center, 5));
  }
}

TEST_CASE("GridIndex finds points stored at longitude 180 and at -180 from either side") {
  // Both name the antimeridian; they fall in the first and the last slice of their row.
  for (const double size : {0.01, 0.007, 7.0}) {
    CAPTURE(size);
    auto grid = *GridIndex::Create({.cell_size_degrees = size});
    testing::Oracle oracle;
    PointId id = 0;
    for (const double lat : {-60.0, -0.004, 0.0, 0.004, 45.0}) {
      for (const double lng : {180.0, -180.0, 179.99999, -179.99999, 179.995, -179.995}) {
        REQUIRE(grid->Insert(id, LatLng::FromDegrees(lat, lng)).ok());
        oracle.Insert(id++, LatLng::FromDegrees(lat, lng));
      }
    }
    std::vector<LatLng> centers;
    for (const double lat : {-60.0, 0.0, 0.003, 45.0}) {
      for (const double lng : {180.0, -180.0, 179.9995, -179.9995, 179.99, -179.99}) {
        centers.push_back(LatLng::FromDegrees(lat, lng));
      }
    }
    CheckAgainstOracle(*grid, oracle, centers, {0.0, 1.0, 100.0, 1000.0, 5000.0, 50'000.0});
  }
}

TEST_CASE("GridIndex is exact at and around the poles") {
  base::Random rng(keel::testing::TestSeed(44));
  for (const double size : {0.01, 1.0, 7.0}) {
    CAPTURE(size);
    auto grid = *GridIndex::Create({.cell_size_degrees = size});
    testing::Oracle oracle;
    PointId id = 0;
    for (const double pole : {90.0, -90.0}) {
      for (const double lng : {-180.0, -90.0, 0.0, 45.0, 180.0}) {
        REQUIRE(grid->Insert(id, LatLng::FromDegrees(pole, lng)).ok());
        oracle.Insert(id++, LatLng::FromDegrees(pole, lng));
      }
      for (int i = 0; i < 300; ++i) {
        const LatLng p = testing::RandomPointNear(rng, LatLng::FromDegrees(pole, 0), 20'000);
        REQUIRE(grid->Insert(id, p).ok());
        oracle.Insert(id++, p);
      }
    }
    const std::vector<LatLng> centers = {
        LatLng::FromDegrees(90, 0),       LatLng::FromDegrees(-90, 123),
        LatLng::FromDegrees(89.995, 10),  LatLng::FromDegrees(-89.9999, -170),
        LatLng::FromDegrees(89.9, 180),   LatLng::FromDegrees(-89.95, -180),
        LatLng::FromDegrees(88.5, -45.5), LatLng::FromDegrees(-89.5, 90)};
    CheckAgainstOracle(*grid, oracle, centers, {0.0, 10.0, 1000.0, 5000.0, 30'000.0, 500'000.0});
  }
}

TEST_CASE("GridIndex finds the points on a circle's edge in every row it crosses") {
  // A search narrows each row of the circle's bounding box to the longitudes the circle reaches
  // there; points on the circle itself must survive that, at every latitude and radius.
  base::Random rng(keel::testing::TestSeed(45));
  for (const double size : {0.01, 0.003, 0.05}) {
    CAPTURE(size);
    auto grid = *GridIndex::Create({.cell_size_degrees = size});
    std::vector<Neighbor> out;
    PointId id = 0;
    for (const double lat : {0.0, 0.004, 31.0, -47.3, 60.0, 75.0, 85.0, -88.9, 89.3}) {
      for (const double radius : {1.0, 37.0, 555.0, 1000.0, 3000.0, 20'000.0, 99'999.0}) {
        const LatLng center = LatLng::FromDegrees(lat, rng.UniformDouble(-180, 180));
        CAPTURE(center.ToString());
        CAPTURE(radius);
        std::vector<IndexedPoint> edge;
        for (double bearing = 0; bearing < 360; bearing += 3.7) {
          edge.push_back({id++, testing::Destination(center, radius, bearing)});
        }
        for (const IndexedPoint& p : edge) REQUIRE(grid->Insert(p.id, p.location).ok());
        for (const IndexedPoint& p : edge) {
          const double d = DistanceMeters(center, p.location);
          REQUIRE(grid->SearchRadius(center, d, &out).ok());
          CHECK(std::find_if(out.begin(), out.end(),
                             [&](const Neighbor& n) { return n.id == p.id; }) != out.end());
        }
        for (const IndexedPoint& p : edge) REQUIRE(grid->Erase(p.id).ok());
      }
    }
    CHECK(grid->size() == 0);
    CHECK(grid->cell_count() == 0);
  }
}

TEST_CASE("GridIndex counts the cells that hold points") {
  auto grid = *GridIndex::Create({.cell_size_degrees = 1});
  CHECK(grid->cell_count() == 0);
  REQUIRE(grid->Insert(1, LatLng::FromDegrees(0.5, 0.5)).ok());
  REQUIRE(grid->Insert(2, LatLng::FromDegrees(0.6, 0.9)).ok());   // the same cell, another slice
  REQUIRE(grid->Insert(3, LatLng::FromDegrees(0.5, 1.5)).ok());   // the next cell in the row
  REQUIRE(grid->Insert(4, LatLng::FromDegrees(1.5, 0.5)).ok());   // the next row
  REQUIRE(grid->Insert(5, LatLng::FromDegrees(0.5, 10.5)).ok());  // another tile of the row
  CHECK(grid->cell_count() == 4);
  REQUIRE(grid->Insert(6, LatLng::FromDegrees(0.5, 10.6)).ok());
  CHECK(grid->cell_count() == 4);
  REQUIRE(grid->Erase(1).ok());
  CHECK(grid->cell_count() == 4);
  REQUIRE(grid->Erase(2).ok());
  CHECK(grid->cell_count() == 3);
  const IndexedPoint points[] = {{1, LatLng::FromDegrees(0.5, 0.5)},
                                 {2, LatLng::FromDegrees(0.6, 0.9)},
                                 {3, LatLng::FromDegrees(-0.5, -0.5)}};
  REQUIRE(grid->Build(points).ok());
  CHECK(grid->cell_count() == 2);
}

TEST_CASE("GridIndex stays exact as tiles fill up, empty out and move in the table") {
  // Dense spots make tiles grow and shrink their arrays; uniform points make many tiles of one
  // point each, so the table grows, and erasing them in random order shifts probe runs back.
  const uint64_t seed = keel::testing::TestSeed(46);
  CAPTURE(seed);
  base::Random rng(seed);
  GridIndex grid;
  const size_t empty_memory = grid.MemoryBytes();
  testing::Oracle oracle;
  std::vector<PointId> ids;
  PointId next_id = 0;
  const LatLng spots[] = {LatLng::FromDegrees(48.8584, 2.2945), LatLng::FromDegrees(-33.86, 151.2),
                          LatLng::FromDegrees(0.0001, 179.9999)};
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 3000; ++i) {
      const LatLng p = rng.Bernoulli(0.5) ? testing::RandomPoint(rng)
                                          : testing::RandomPointNear(rng, spots[rng.Uniform(3)],
                                                                     rng.Bernoulli(0.3) ? 0 : 3000);
      REQUIRE(grid.Insert(next_id, p).ok());
      oracle.Insert(next_id, p);
      ids.push_back(next_id++);
    }
    // Erase all but a few hundred, in random order.
    for (size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[rng.Uniform(i)]);
    while (ids.size() > 300 * static_cast<size_t>(round + 1)) {
      REQUIRE(grid.Erase(ids.back()).ok());
      oracle.Erase(ids.back());
      ids.pop_back();
    }
    CHECK(grid.size() == oracle.size());
    for (const auto& [id, p] : oracle.points()) REQUIRE(*grid.Find(id) == p);
    std::vector<IndexedPoint> snapshot;
    for (const auto& [id, p] : oracle.points()) snapshot.push_back({id, p});
    std::vector<LatLng> centers = testing::QueryCenters(rng, snapshot, 20);
    for (const LatLng& spot : spots) centers.push_back(spot);
    CheckAgainstOracle(grid, oracle, centers, {0.0, 100.0, 1000.0, 5000.0, 2e6});
  }
  for (const PointId id : ids) REQUIRE(grid.Erase(id).ok());
  CHECK(grid.size() == 0);
  CHECK(grid.cell_count() == 0);
  std::vector<Neighbor> out;
  REQUIRE(grid.SearchRadius(spots[0], 1e7, &out).ok());
  CHECK(out.empty());
  // Only the table, grown for the peak, is left.
  CHECK(grid.MemoryBytes() > empty_memory);
  CHECK(grid.MemoryBytes() < 4 * 12'000 * 64);
}

TEST_CASE("GridIndex Move updates a point in place or relocates it, and never loses it") {
  GridIndex grid;
  REQUIRE(grid.Insert(1, LatLng::FromDegrees(40.7484, -73.9857)).ok());
  REQUIRE(grid.Insert(2, LatLng::FromDegrees(40.7485, -73.9858)).ok());
  // A few metres: the same slice.
  REQUIRE(grid.Move(1, LatLng::FromDegrees(40.74841, -73.98571)).ok());
  // Across cells, tiles and the antimeridian.
  REQUIRE(grid.Move(2, LatLng::FromDegrees(40.7585, -73.9558)).ok());
  REQUIRE(grid.Move(2, LatLng::FromDegrees(-16.5, 180)).ok());
  CHECK(grid.Move(2, LatLng::FromDegrees(95, 0)).code() == absl::StatusCode::kInvalidArgument);
  CHECK(grid.Move(3, LatLng::FromDegrees(0, 0)).code() == absl::StatusCode::kNotFound);
  CHECK(*grid.Find(1) == LatLng::FromDegrees(40.74841, -73.98571));
  CHECK(*grid.Find(2) == LatLng::FromDegrees(-16.5, 180));
  std::vector<Neighbor> out;
  REQUIRE(grid.SearchRadius(LatLng::FromDegrees(-16.5, -179.9999), 100, &out).ok());
  REQUIRE(out.size() == 1);
  CHECK(out[0].id == 2);
  REQUIRE(grid.SearchRadius(LatLng::FromDegrees(40.74841, -73.98571), 0, &out).ok());
  CHECK(out == std::vector<Neighbor>{{1, 0}});
  CHECK(grid.size() == 2);
  CHECK(grid.cell_count() == 2);
}

}  // namespace
}  // namespace keel::geo
