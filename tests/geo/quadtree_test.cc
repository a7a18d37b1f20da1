// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/geo/quadtree.h"

#include <doctest/doctest.h>

#include "geo/index_testing.h"
#include "testing/testing.h"

namespace keel::geo {
namespace {

TEST_CASE("Quadtree::Create checks its options") {
  CHECK(Quadtree::Create({.leaf_capacity = 0}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(Quadtree::Create({.max_depth = 0}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(Quadtree::Create({.max_depth = 41}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(Quadtree().options().leaf_capacity == 100);
}

TEST_CASE("Quadtree leaves split past their capacity and merge back when emptied") {
  base::Random rng(keel::testing::TestSeed(47));
  auto tree = *Quadtree::Create({.leaf_capacity = 10});
  const std::vector<IndexedPoint> data = testing::UniformPoints(rng, 5000);
  for (const IndexedPoint& p : data) REQUIRE(tree->Insert(p.id, p.location).ok());
  Quadtree::Shape shape = tree->shape();
  CHECK(shape.largest_leaf <= 10);
  CHECK(shape.leaves >= 500);
  CHECK(shape.nodes == 4 * ((shape.nodes - 1) / 4) + 1);  // every inner node has 4 children
  const size_t full_memory = tree->MemoryBytes();
  for (const IndexedPoint& p : data) {
    if (p.id >= 3) REQUIRE(tree->Erase(p.id).ok());
  }
  shape = tree->shape();
  CHECK(shape.nodes == 1);
  CHECK(shape.largest_leaf == 3);
  CHECK(tree->MemoryBytes() < full_memory);
}

TEST_CASE("Quadtree bulk build gives the same answers as inserting one by one") {
  base::Random rng(keel::testing::TestSeed(48));
  const std::vector<IndexedPoint> data = testing::ClusteredPoints(rng, 5000);
  auto built = *Quadtree::Create({.leaf_capacity = 16});
  auto inserted = *Quadtree::Create({.leaf_capacity = 16});
  REQUIRE(built->Build(data).ok());
  for (const IndexedPoint& p : data) REQUIRE(inserted->Insert(p.id, p.location).ok());
  CHECK(built->shape().largest_leaf == inserted->shape().largest_leaf);
  std::vector<Neighbor> a;
  std::vector<Neighbor> b;
  for (const LatLng& center : testing::QueryCenters(rng, data, 40)) {
    REQUIRE(built->SearchRadius(center, 5000, &a).ok());
    REQUIRE(inserted->SearchRadius(center, 5000, &b).ok());
    CHECK(a == b);
    REQUIRE(built->Nearest(center, 10, &a).ok());
    REQUIRE(inserted->Nearest(center, 10, &b).ok());
    CHECK(a == b);
  }
}

TEST_CASE("Quadtree never splits endlessly on identical points") {
  auto tree = *Quadtree::Create({.leaf_capacity = 4, .max_depth = 30});
  const LatLng spot = LatLng::FromDegrees(-33.8568, 151.2153);
  for (PointId id = 0; id < 20000; ++id) REQUIRE(tree->Insert(id, spot).ok());
  const Quadtree::Shape shape = tree->shape();
  CHECK(shape.nodes == 1);
  CHECK(shape.largest_leaf == 20000);
  // A different point splits the leaf down to where the two are apart, no further.
  REQUIRE(tree->Insert(99999, LatLng::FromDegrees(-33.8, 151.2)).ok());
  CHECK(tree->shape().depth < 20);
  std::vector<Neighbor> out;
  REQUIRE(tree->Nearest(spot, 5, &out).ok());
  CHECK(out.size() == 5);
  CHECK(out[4].id == 4);
}

TEST_CASE("Quadtree stops splitting at max_depth") {
  auto tree = *Quadtree::Create({.leaf_capacity = 1, .max_depth = 5});
  base::Random rng(keel::testing::TestSeed(49));
  for (PointId id = 0; id < 2000; ++id) {
    REQUIRE(tree->Insert(id, testing::RandomPointNear(rng, LatLng::FromDegrees(1, 1), 10)).ok());
  }
  CHECK(tree->shape().depth == 5);
  CHECK(tree->shape().largest_leaf == 2000);
}

TEST_CASE("Quadtree Move keeps points in place within a leaf and relocates them across") {
  auto tree = *Quadtree::Create({.leaf_capacity = 2});
  REQUIRE(tree->Insert(1, LatLng::FromDegrees(10, 10)).ok());
  REQUIRE(tree->Insert(2, LatLng::FromDegrees(-10, -10)).ok());
  REQUIRE(tree->Insert(3, LatLng::FromDegrees(60, 100)).ok());
  REQUIRE(tree->Move(1, LatLng::FromDegrees(10.001, 10.001)).ok());
  REQUIRE(tree->Move(2, LatLng::FromDegrees(70, 170)).ok());
  std::vector<Neighbor> out;
  REQUIRE(tree->Nearest(LatLng::FromDegrees(70, 170), 1, &out).ok());
  CHECK(out[0].id == 2);
  CHECK(out[0].distance_m == 0);
  CHECK(*tree->Find(1) == LatLng::FromDegrees(10.001, 10.001));
  CHECK(tree->size() == 3);
}

TEST_CASE("Quadtree nearest search visits few nodes") {
  base::Random rng(keel::testing::TestSeed(50));
  Quadtree tree;
  REQUIRE(tree.Build(testing::UniformPoints(rng, 100'000)).ok());
  std::vector<Neighbor> out;
  QueryStats stats;
  REQUIRE(tree.Nearest(LatLng::FromDegrees(40, -100), 10, &out, &stats).ok());
  CHECK(out.size() == 10);
  CHECK(stats.candidates < 2000);
}

}  // namespace
}  // namespace keel::geo
