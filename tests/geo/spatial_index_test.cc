// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Every spatial index against the brute-force oracle: same points, same distances, same order.
#include "keel/geo/spatial_index.h"

#include <doctest/doctest.h>

#include <limits>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "geo/index_testing.h"
#include "keel/base/random.h"
#include "keel_support/geo_datasets.h"
#include "testing/testing.h"

namespace keel::geo {
namespace {

constexpr double kRadii[] = {0, 1, 100, 1000, 5000, 100'000, 5'000'000, 2e7};
constexpr size_t kKs[] = {1, 3, 10, 100, 100'000};

std::unique_ptr<SpatialIndex> New(std::string_view kind) {
  absl::StatusOr<std::unique_ptr<SpatialIndex>> index = NewSpatialIndex(kind);
  REQUIRE(index.ok());
  return std::move(*index);
}

// The oracle's answers to every query around some centres, computed once for all indexes.
struct Expected {
  LatLng center;
  std::vector<std::vector<Neighbor>> radius;   // one per kRadii
  std::vector<std::vector<Neighbor>> nearest;  // one per kKs
};

std::vector<Expected> Expectations(const testing::Oracle& oracle,
                                   const std::vector<LatLng>& centers) {
  std::vector<Expected> all;
  for (const LatLng& center : centers) {
    Expected e{center, {}, {}};
    for (const double radius : kRadii) e.radius.push_back(oracle.Radius(center, radius));
    for (const size_t k : kKs) e.nearest.push_back(oracle.Nearest(center, k));
    all.push_back(std::move(e));
  }
  return all;
}

void CompareQueries(const SpatialIndex& index, const std::vector<Expected>& expected) {
  std::vector<Neighbor> got;
  for (const Expected& e : expected) {
    for (size_t r = 0; r < std::size(kRadii); ++r) {
      REQUIRE(index.SearchRadius(e.center, kRadii[r], &got).ok());
      if (got != e.radius[r]) {
        FAIL_CHECK(index.kind(), ": radius ", kRadii[r], " around ", e.center.ToString(), " gave ",
                   got.size(), " points, brute force ", e.radius[r].size());
      }
    }
    for (size_t k = 0; k < std::size(kKs); ++k) {
      REQUIRE(index.Nearest(e.center, kKs[k], &got).ok());
      if (got != e.nearest[k]) {
        FAIL_CHECK(index.kind(), ": ", kKs[k], " nearest to ", e.center.ToString(), " gave ",
                   got.size(), " points, brute force ", e.nearest[k].size());
      }
    }
  }
}

TEST_CASE("Every index answers exactly like brute force on uniform and clustered points") {
  const uint64_t seed = keel::testing::TestSeed(17);
  CAPTURE(seed);
  base::Random rng(seed);
  std::vector<IndexedPoint> data = testing::UniformPoints(rng, 3000);
  const std::vector<IndexedPoint> clustered = testing::ClusteredPoints(rng, 4000, 10'000);
  data.insert(data.end(), clustered.begin(), clustered.end());
  testing::Oracle oracle;
  for (const IndexedPoint& p : data) oracle.Insert(p.id, p.location);
  const std::vector<Expected> expected = Expectations(oracle, testing::QueryCenters(rng, data, 60));
  for (const std::string_view kind : SpatialIndexKinds()) {
    CAPTURE(std::string(kind));
    const std::unique_ptr<SpatialIndex> index = New(kind);
    REQUIRE(index->Build(data).ok());
    CHECK(index->size() == data.size());
    CompareQueries(*index, expected);
  }
}

TEST_CASE("Every index answers exactly like brute force on real GeoNames places") {
  const absl::StatusOr<std::vector<support::Place>> places =
      support::LoadPlaces(std::string(KEEL_TEST_DATA_DIR) + "/geonames_sample.tsv");
  REQUIRE(places.ok());
  REQUIRE(places->size() > 1000);
  std::vector<IndexedPoint> data;
  testing::Oracle oracle;
  for (size_t i = 0; i < places->size(); ++i) {
    data.push_back({i, (*places)[i].location});
    oracle.Insert(i, (*places)[i].location);
  }
  base::Random rng(keel::testing::TestSeed(21));
  const std::vector<Expected> expected = Expectations(oracle, testing::QueryCenters(rng, data, 40));
  for (const std::string_view kind : SpatialIndexKinds()) {
    CAPTURE(std::string(kind));
    const std::unique_ptr<SpatialIndex> index = New(kind);
    REQUIRE(index->Build(data).ok());
    CompareQueries(*index, expected);
  }
}

TEST_CASE("Every index stays exact through random inserts erases and moves") {
  const uint64_t seed = keel::testing::TestSeed(18);
  CAPTURE(seed);
  base::Random rng(seed);
  for (const std::string_view kind : SpatialIndexKinds()) {
    CAPTURE(std::string(kind));
    const std::unique_ptr<SpatialIndex> index = New(kind);
    testing::Oracle oracle;
    PointId next_id = 0;
    for (int round = 0; round < 6; ++round) {
      for (int op = 0; op < 1500; ++op) {
        const uint64_t what = rng.Uniform(10);
        if (what < 5 || oracle.size() == 0) {
          const std::vector<IndexedPoint> one = rng.Bernoulli(0.5)
                                                    ? testing::UniformPoints(rng, 1, next_id)
                                                    : testing::ClusteredPoints(rng, 1, next_id);
          REQUIRE(index->Insert(one[0].id, one[0].location).ok());
          oracle.Insert(one[0].id, one[0].location);
          ++next_id;
        } else {
          auto it = oracle.points().begin();
          std::advance(it, static_cast<std::ptrdiff_t>(rng.Uniform(oracle.size())));
          const PointId id = it->first;
          if (what < 8) {
            REQUIRE(index->Erase(id).ok());
            oracle.Erase(id);
          } else {
            const LatLng to = rng.Bernoulli(0.7) ? testing::RandomPointNear(rng, it->second, 2000)
                                                 : testing::RandomPoint(rng);
            REQUIRE(index->Move(id, to).ok());
            oracle.Insert(id, to);
          }
        }
      }
      CHECK(index->size() == oracle.size());
      for (const auto& [id, p] : oracle.points()) REQUIRE(*index->Find(id) == p);
      std::vector<IndexedPoint> snapshot;
      for (const auto& [id, p] : oracle.points()) snapshot.push_back({id, p});
      CompareQueries(*index, Expectations(oracle, testing::QueryCenters(rng, snapshot, 8)));
    }
  }
}

TEST_CASE("Every index keeps many identical points and finds them all") {
  for (const std::string_view kind : SpatialIndexKinds()) {
    CAPTURE(std::string(kind));
    const std::unique_ptr<SpatialIndex> index = New(kind);
    const LatLng spot = LatLng::FromDegrees(48.8584, 2.2945);
    for (PointId id = 0; id < 1000; ++id) REQUIRE(index->Insert(id, spot).ok());
    REQUIRE(index->Insert(5000, LatLng::FromDegrees(48.86, 2.29)).ok());
    std::vector<Neighbor> out;
    REQUIRE(index->SearchRadius(spot, 0, &out).ok());
    CHECK(out.size() == 1000);
    REQUIRE(index->Nearest(spot, 3, &out).ok());
    CHECK(out == std::vector<Neighbor>{{0, 0}, {1, 0}, {2, 0}});
    REQUIRE(index->Nearest(LatLng::FromDegrees(48.86, 2.29), 2, &out).ok());
    CHECK(out[0].id == 5000);
  }
}

TEST_CASE("Every index orders many equal distances by id") {
  // Results are sorted by distance buckets first: here hundreds of results share a distance,
  // and so a bucket, while others spread around them.
  const uint64_t seed = keel::testing::TestSeed(23);
  CAPTURE(seed);
  base::Random rng(seed);
  const LatLng a = LatLng::FromDegrees(35.6812, 139.7671);
  const LatLng b = LatLng::FromDegrees(35.6852, 139.7528);
  std::vector<IndexedPoint> data;
  for (PointId id = 0; id < 900; ++id) {
    const uint64_t what = rng.Uniform(3);
    const LatLng p = what == 0 ? a : what == 1 ? b : testing::RandomPointNear(rng, a, 3000);
    data.push_back({rng.Uniform(1'000'000) * 1000 + id, p});
  }
  testing::Oracle oracle;
  for (const IndexedPoint& p : data) oracle.Insert(p.id, p.location);
  const std::vector<Expected> expected =
      Expectations(oracle, {a, b, LatLng::FromDegrees(35.683, 139.76), testing::RandomPoint(rng)});
  for (const std::string_view kind : SpatialIndexKinds()) {
    CAPTURE(std::string(kind));
    const std::unique_ptr<SpatialIndex> index = New(kind);
    REQUIRE(index->Build(data).ok());
    CompareQueries(*index, expected);
  }
}

TEST_CASE("Every index finds exact antipodes at half the circumference") {
  // The squared chord between the unit vectors of two antipodes often rounds to just over 4.
  base::Random rng(keel::testing::TestSeed(22));
  std::vector<IndexedPoint> antipodes;
  std::vector<LatLng> centers;
  for (PointId id = 0; id < 300; ++id) {
    const LatLng p = testing::RandomPoint(rng);
    double lng = p.lng_degrees() + 180;
    if (lng >= 180) lng -= 360;
    centers.push_back(p);
    antipodes.push_back({id, LatLng::FromDegrees(-p.lat_degrees(), lng)});
  }
  // The reviewer's case: a squared chord of 4.000000000000001.
  centers.push_back(LatLng::FromDegrees(68.0813, -27.5307));
  antipodes.push_back({300, LatLng::FromDegrees(-68.0813, 152.4693)});
  for (const std::string_view kind : SpatialIndexKinds()) {
    CAPTURE(std::string(kind));
    for (size_t i = 0; i < centers.size(); ++i) {
      const std::unique_ptr<SpatialIndex> index = New(kind);
      REQUIRE(index->Insert(antipodes[i].id, antipodes[i].location).ok());
      std::vector<Neighbor> out;
      REQUIRE(index->SearchRadius(centers[i], kMaxDistanceMeters, &out).ok());
      REQUIRE(out.size() == 1);
      REQUIRE(index->SearchRadius(centers[i], 1e9, &out).ok());
      REQUIRE(out.size() == 1);
      REQUIRE(index->Nearest(centers[i], 1, &out).ok());
      REQUIRE(out.size() == 1);
      REQUIRE(index->Nearest(centers[i], 5, &out).ok());
      REQUIRE(out.size() == 1);
      CHECK(out[0].distance_m == doctest::Approx(kMaxDistanceMeters).epsilon(1e-9));
      CHECK(out[0].distance_m == DistanceMeters(centers[i], antipodes[i].location));
    }
  }
}

TEST_CASE("Every index rejects bad input and loses nothing") {
  for (const std::string_view kind : SpatialIndexKinds()) {
    CAPTURE(std::string(kind));
    const std::unique_ptr<SpatialIndex> index = New(kind);
    const LatLng home = LatLng::FromDegrees(10, 20);
    REQUIRE(index->Insert(1, home).ok());
    std::vector<Neighbor> out;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK(index->Insert(2, LatLng::FromDegrees(91, 0)).code() ==
          absl::StatusCode::kInvalidArgument);
    CHECK(index->Insert(2, LatLng::FromDegrees(nan, 0)).code() ==
          absl::StatusCode::kInvalidArgument);
    CHECK(index->Insert(1, LatLng::FromDegrees(0, 0)).code() == absl::StatusCode::kAlreadyExists);
    CHECK(*index->Find(1) == home);
    CHECK(index->Erase(7).code() == absl::StatusCode::kNotFound);
    CHECK(index->Find(7).status().code() == absl::StatusCode::kNotFound);
    CHECK(index->Move(7, home).code() == absl::StatusCode::kNotFound);
    CHECK(index->Move(1, LatLng::FromDegrees(0, 200)).code() == absl::StatusCode::kInvalidArgument);
    CHECK(*index->Find(1) == home);
    CHECK(index->SearchRadius(LatLng::FromDegrees(100, 0), 5, &out).code() ==
          absl::StatusCode::kInvalidArgument);
    CHECK(index->SearchRadius(home, -1, &out).code() == absl::StatusCode::kInvalidArgument);
    CHECK(index->SearchRadius(home, nan, &out).code() == absl::StatusCode::kInvalidArgument);
    CHECK(index->SearchRadius(home, std::numeric_limits<double>::infinity(), &out).code() ==
          absl::StatusCode::kInvalidArgument);
    CHECK(index->Nearest(home, 0, &out).code() == absl::StatusCode::kInvalidArgument);
    CHECK(index->Nearest(LatLng::FromDegrees(0, nan), 1, &out).code() ==
          absl::StatusCode::kInvalidArgument);
    // A Build with a bad point or a repeated id changes nothing.
    const IndexedPoint bad[] = {{3, home}, {4, LatLng::FromDegrees(-95, 0)}};
    CHECK(index->Build(bad).code() == absl::StatusCode::kInvalidArgument);
    const IndexedPoint repeated[] = {{3, home}, {3, home}};
    CHECK(index->Build(repeated).code() == absl::StatusCode::kAlreadyExists);
    CHECK(index->size() == 1);
    CHECK(*index->Find(1) == home);
    REQUIRE(index->SearchRadius(home, 0, &out).ok());
    CHECK(out == std::vector<Neighbor>{{1, 0}});
  }
}

TEST_CASE("Every index reports its memory and its work") {
  base::Random rng(keel::testing::TestSeed(19));
  const std::vector<IndexedPoint> data = testing::ClusteredPoints(rng, 20000);
  for (const std::string_view kind : SpatialIndexKinds()) {
    CAPTURE(std::string(kind));
    const std::unique_ptr<SpatialIndex> index = New(kind);
    const size_t empty = index->MemoryBytes();
    REQUIRE(index->Build(data).ok());
    // At least the unit vector and the id of every point.
    CHECK(index->MemoryBytes() >= empty + data.size() * 32);
    CHECK(index->MemoryBytes() < data.size() * 400);
    std::vector<Neighbor> out;
    QueryStats stats;
    REQUIRE(index->SearchRadius(data[0].location, 1000, &out, &stats).ok());
    CHECK(stats.candidates >= out.size());
    CHECK(stats.cells_visited >= 1);
    if (kind != "brute_force") CHECK(stats.candidates < data.size());
  }
}

TEST_CASE("NewSpatialIndex names the kinds it knows") {
  const absl::StatusOr<std::unique_ptr<SpatialIndex>> index = NewSpatialIndex("rtree");
  CHECK(index.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(index.status().message(), "\"rtree\""));
  CHECK(absl::StrContains(index.status().message(), "brute_force, grid, geohash, quadtree, s2"));
  for (const std::string_view kind : SpatialIndexKinds())
    CHECK((*NewSpatialIndex(kind))->kind() == kind);
}

}  // namespace
}  // namespace keel::geo
