// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/geo/brute_force_index.h"

#include <doctest/doctest.h>

#include "geo/index_testing.h"
#include "testing/testing.h"

namespace keel::geo {
namespace {

TEST_CASE("BruteForceIndex erases from the middle and keeps every other point findable") {
  BruteForceIndex index;
  for (PointId id = 0; id < 100; ++id) {
    REQUIRE(index.Insert(id, LatLng::FromDegrees(static_cast<double>(id) / 2, 0)).ok());
  }
  for (PointId id = 0; id < 100; id += 3) REQUIRE(index.Erase(id).ok());
  for (PointId id = 0; id < 100; ++id) {
    CHECK(index.Find(id).ok() == (id % 3 != 0));
    if (id % 3 != 0) CHECK(index.Find(id)->lat_degrees() == static_cast<double>(id) / 2);
  }
  std::vector<Neighbor> out;
  REQUIRE(index.Nearest(LatLng::FromDegrees(0, 0), 2, &out).ok());
  CHECK(out[0].id == 1);
  CHECK(out[1].id == 2);
}

TEST_CASE("BruteForceIndex examines every point for every query") {
  base::Random rng(keel::testing::TestSeed(40));
  BruteForceIndex index;
  REQUIRE(index.Build(testing::UniformPoints(rng, 1000)).ok());
  std::vector<Neighbor> out;
  QueryStats stats;
  REQUIRE(index.SearchRadius(LatLng::FromDegrees(0, 0), 10, &out, &stats).ok());
  CHECK(stats.candidates == 1000);
  REQUIRE(index.Nearest(LatLng::FromDegrees(0, 0), 1, &out, &stats).ok());
  CHECK(stats.candidates == 1000);
  CHECK(index.kind() == "brute_force");
}

TEST_CASE("BruteForceIndex memory returns to nothing when emptied") {
  BruteForceIndex index;
  base::Random rng(keel::testing::TestSeed(41));
  REQUIRE(index.Build(testing::UniformPoints(rng, 5000)).ok());
  CHECK(index.MemoryBytes() >= 5000 * (24 + 16 + 8));
  REQUIRE(index.Build({}).ok());
  CHECK(index.size() == 0);
}

}  // namespace
}  // namespace keel::geo
