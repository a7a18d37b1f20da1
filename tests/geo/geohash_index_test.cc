// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/geo/geohash_index.h"

#include <doctest/doctest.h>

#include "geo/index_testing.h"
#include "keel/geo/geohash.h"
#include "testing/testing.h"

namespace keel::geo {
namespace {

TEST_CASE("GeohashIndex looks only at cells near the query") {
  base::Random rng(keel::testing::TestSeed(44));
  const std::vector<IndexedPoint> data = testing::UniformPoints(rng, 50000);
  GeohashIndex index;
  REQUIRE(index.Build(data).ok());
  std::vector<Neighbor> out;
  QueryStats stats;
  REQUIRE(index.SearchRadius(LatLng::FromDegrees(37.77, -122.42), 1000, &out, &stats).ok());
  CHECK(stats.cells_visited <= 16);
  CHECK(stats.candidates < 50);
  CHECK(index.kind() == "geohash");
}

TEST_CASE("GeohashIndex answers at the poles where geohash cells are slivers") {
  base::Random rng(keel::testing::TestSeed(45));
  std::vector<IndexedPoint> data;
  for (PointId id = 0; id < 2000; ++id) {
    data.push_back({id, testing::RandomPointNear(rng, LatLng::FromDegrees(90, 0), 30'000)});
  }
  testing::Oracle oracle;
  for (const IndexedPoint& p : data) oracle.Insert(p.id, p.location);
  GeohashIndex index;
  REQUIRE(index.Build(data).ok());
  std::vector<Neighbor> out;
  for (const LatLng& center : {LatLng::FromDegrees(90, 0), LatLng::FromDegrees(89.99, 170),
                               LatLng::FromDegrees(89.9, -45)}) {
    for (const double radius : {0.0, 10.0, 1000.0, 20'000.0}) {
      REQUIRE(index.SearchRadius(center, radius, &out).ok());
      CHECK(out == oracle.Radius(center, radius));
    }
  }
}

TEST_CASE("GeohashIndex keys points by their 60-bit geohash") {
  // Points in one precision-6 cell are one contiguous run of keys: a single range scan.
  GeohashIndex index;
  const LatLng a = LatLng::FromDegrees(42.6, -5.6);
  REQUIRE(index.Insert(1, a).ok());
  REQUIRE(index.Insert(2, LatLng::FromDegrees(42.6001, -5.6001)).ok());
  CHECK(*geohash::Encode(a, 6) == *geohash::Encode(LatLng::FromDegrees(42.6001, -5.6001), 6));
  std::vector<Neighbor> out;
  QueryStats stats;
  REQUIRE(index.SearchRadius(a, 20, &out, &stats).ok());
  CHECK(out.size() == 2);
}

}  // namespace
}  // namespace keel::geo
