// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The geo commands' helpers (private to src/redis, so included from there): Redis's geohash
// arithmetic against keel/geo's independent EncodeRedis and against values Redis's
// documentation prints, the search against a brute-force scan, and the two sorts against
// std::stable_sort. geo_differential_test.cc compares the commands themselves with Redis.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "../../src/redis/geo_cells.h"
#include "../../src/redis/geo_search.h"
#include "keel/base/random.h"
#include "keel/base/strings.h"
#include "keel/geo/geohash.h"
#include "keel/zset/sorted_set.h"
#include "testing/testing.h"

namespace keel::redis::internal {
namespace {

TEST_CASE("GeoScore gives the scores of keel geo EncodeRedis") {
  const uint64_t seed = keel::testing::TestSeed(41);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int i = 0; i < 100'000; ++i) {
    const double lng = rng.UniformDouble(-180, 180);
    const double lat = rng.UniformDouble(kGeoLatMin, kGeoLatMax);
    CAPTURE(lng);
    CAPTURE(lat);
    const absl::StatusOr<uint64_t> want =
        geo::geohash::EncodeRedis(geo::LatLng::FromDegrees(lat, lng));
    REQUIRE(want.ok());
    REQUIRE(GeoScore(lng, lat) == *want);
  }
  // The edges, where an index reaches 2^26 and spills.
  for (const double lng : {-180.0, 180.0, 0.0}) {
    for (const double lat : {kGeoLatMin, kGeoLatMax, 0.0}) {
      CAPTURE(lng);
      CAPTURE(lat);
      REQUIRE(GeoScore(lng, lat) == *geo::geohash::EncodeRedis(geo::LatLng::FromDegrees(lat, lng)));
    }
  }
}

TEST_CASE("A score decodes to the centre of its cell near the point it encodes") {
  const uint64_t seed = keel::testing::TestSeed(42);
  CAPTURE(seed);
  base::Random rng(seed);
  const double lng_cell = 360.0 / (1 << 26);
  const double lat_cell = (kGeoLatMax - kGeoLatMin) / (1 << 26);
  for (int i = 0; i < 100'000; ++i) {
    const double lng = rng.UniformDouble(-180, 180);
    const double lat = rng.UniformDouble(kGeoLatMin, kGeoLatMax);
    const LngLat p = GeoDecodeScore(static_cast<double>(GeoScore(lng, lat)));
    CAPTURE(lng);
    CAPTURE(lat);
    REQUIRE(std::fabs(p.lng - lng) <= lng_cell / 2 * 1.000001);
    REQUIRE(std::fabs(p.lat - lat) <= lat_cell / 2 * 1.000001);
  }
}

TEST_CASE("Scores that are no cell convert as x86-64 converts a double to an unsigned integer") {
  CHECK(GeoScoreBits(0) == 0);
  CHECK(GeoScoreBits(1.5) == 1);
  CHECK(GeoScoreBits(-0.5) == 0);
  CHECK(GeoScoreBits(-1) == UINT64_MAX);
  CHECK(GeoScoreBits(9223372036854775808.0) == uint64_t{1} << 63);
  CHECK(GeoScoreBits(18446744073709551616.0) == 0);
  CHECK(GeoScoreBits(1e300) == 0);
  CHECK(GeoScoreBits(std::numeric_limits<double>::infinity()) == 0);
  CHECK(GeoScoreBits(-std::numeric_limits<double>::infinity()) == uint64_t{1} << 63);
  CHECK(GeoScoreBits(-1e300) == uint64_t{1} << 63);
  // What redis-server 7.0.15 replies to GEOPOS for such scores (its positions are clamped).
  const LngLat minus_one = GeoDecodeScore(-1);
  CHECK(minus_one.lng == 180);
  CHECK(minus_one.lat == kGeoLatMax);
  const LngLat top_bit = GeoDecodeScore(9223372036854775808.0);
  CHECK(top_bit.lng == 180);
}

TEST_CASE("Known positions have the distances and geohashes Redis documents") {
  // https://redis.io/docs/latest/commands/geodist/ and geohash/.
  const uint64_t palermo = GeoScore(13.361389, 38.115556);
  const uint64_t catania = GeoScore(15.087269, 37.502669);
  CHECK(palermo == 3479099956230698);
  CHECK(catania == 3479447370796909);
  const LngLat a = GeoDecodeScore(static_cast<double>(palermo));
  const LngLat b = GeoDecodeScore(static_cast<double>(catania));
  CHECK(GeoDistanceText(GeoDistance(a.lng, a.lat, b.lng, b.lat)) == "166274.1516");
  CHECK(GeoDistanceText(GeoDistance(a.lng, a.lat, b.lng, b.lat) / 1000) == "166.2742");
  CHECK(GeoHashText(static_cast<double>(palermo)) == "sqc8b49rny0");
  CHECK(GeoHashText(static_cast<double>(catania)) == "sqdtr74hyu0");
}

TEST_CASE("Distances print with four decimals rounded half to even") {
  CHECK(GeoDistanceText(0) == "0.0000");
  CHECK(GeoDistanceText(-0.0) == "0.0000");
  CHECK(GeoDistanceText(0.00004) == "0.0000");
  // Halves (exact in binary: 1/32 and 3/32 give 312.5 and 937.5) go to the even neighbour.
  CHECK(GeoDistanceText(0.03125) == "0.0312");
  CHECK(GeoDistanceText(0.09375) == "0.0938");
  CHECK(GeoDistanceText(0.0001) == "0.0001");
  CHECK(GeoDistanceText(1.5) == "1.5000");
  CHECK(GeoDistanceText(1234.56789) == "1234.5679");
  CHECK(GeoDistanceText(20015086.796) == "20015086.7960");
  // llrint's answer for NaN is INT64_MIN.
  CHECK(GeoDistanceText(std::nan("")) == "-922337203685477.5808");
}

TEST_CASE("Neighbours are the adjacent cells and wrap around at the edges") {
  const uint64_t seed = keel::testing::TestSeed(43);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int i = 0; i < 20'000; ++i) {
    const int step = 1 + static_cast<int>(rng.Uniform(kGeoStepMax));
    const double lng = rng.UniformDouble(-179.99, 179.99);
    const double lat = rng.UniformDouble(-85, 85);
    const GeoCell cell = GeoEncode(kGeoLngRange, kGeoLatRange, lng, lat, step);
    const GeoNeighbors n = GeoNeighborsOf(cell);
    const GeoArea c = GeoDecode(kGeoLngRange, kGeoLatRange, cell);
    const GeoArea north = GeoDecode(kGeoLngRange, kGeoLatRange, n.north);
    const GeoArea east = GeoDecode(kGeoLngRange, kGeoLatRange, n.east);
    const GeoArea south_west = GeoDecode(kGeoLngRange, kGeoLatRange, n.south_west);
    CAPTURE(step);
    CAPTURE(lng);
    CAPTURE(lat);
    REQUIRE(north.lng.min == c.lng.min);
    REQUIRE(east.lat.min == c.lat.min);
    const double lat_height = c.lat.max - c.lat.min;
    const double lng_width = c.lng.max - c.lng.min;
    // North of the top row is the bottom row; east of the last column is the first.
    if (c.lat.max < kGeoLatMax - lat_height / 2) {
      REQUIRE(std::fabs(north.lat.min - c.lat.max) < 1e-9);
    } else {
      REQUIRE(north.lat.min == kGeoLatMin);
    }
    if (c.lng.max < 180 - lng_width / 2) {
      REQUIRE(std::fabs(east.lng.min - c.lng.max) < 1e-9);
    } else {
      REQUIRE(east.lng.min == -180);
    }
    if (c.lat.min > kGeoLatMin + lat_height / 2 && c.lng.min > -180 + lng_width / 2) {
      REQUIRE(std::fabs(south_west.lat.max - c.lat.min) < 1e-9);
      REQUIRE(std::fabs(south_west.lng.max - c.lng.min) < 1e-9);
    }
  }
}

// Whether `position` is within the shape, computed directly.
bool InShape(const GeoShape& shape, LngLat p) {
  if (shape.kind == GeoShape::Kind::kRadius) {
    return GeoDistance(shape.lng, shape.lat, p.lng, p.lat) <= shape.radius * shape.conversion;
  }
  return GeoLatDistance(p.lat, shape.lat) <= shape.height * shape.conversion / 2 &&
         GeoDistance(p.lng, p.lat, shape.lng, p.lat) <= shape.width * shape.conversion / 2;
}

TEST_CASE("A search finds exactly the members a brute-force scan finds away from the poles") {
  const uint64_t seed = keel::testing::TestSeed(44);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int round = 0; round < 200; ++round) {
    // A cluster of points and a search around a point near it.
    const double lng0 = rng.UniformDouble(-170, 170);
    const double lat0 = rng.UniformDouble(-60, 60);
    const double spread = std::pow(10.0, rng.UniformDouble(-3, 1));
    zset::SortedSet set;
    std::vector<LngLat> positions;
    for (int i = 0; i < 500; ++i) {
      const double lng = lng0 + rng.UniformDouble(-spread, spread);
      const double lat = lat0 + rng.UniformDouble(-spread, spread);
      REQUIRE(set.Add(base::Cat("m", i), static_cast<double>(GeoScore(lng, lat))).ok());
    }
    GeoShape shape;
    shape.lng = lng0 + rng.UniformDouble(-spread, spread);
    shape.lat = lat0 + rng.UniformDouble(-spread, spread);
    shape.conversion = rng.Bernoulli(0.5) ? 1 : 1000;
    const double size_m = spread * 111'000 * rng.UniformDouble(0.01, 1);
    if (rng.Bernoulli(0.5)) {
      shape.kind = GeoShape::Kind::kRadius;
      shape.radius = size_m / shape.conversion;
    } else {
      shape.kind = GeoShape::Kind::kBox;
      shape.width = size_m / shape.conversion * rng.UniformDouble(0.2, 2);
      shape.height = size_m / shape.conversion * rng.UniformDouble(0.2, 2);
    }
    CAPTURE(round);
    std::set<std::string> want;
    for (auto c = set.CursorAt(0); c.valid(); c.Next()) {
      if (InShape(shape, GeoDecodeScore(c.score()))) want.emplace(c.member());
    }
    const std::vector<GeoPoint> found = GeoCollect(set, shape, 0);
    std::set<std::string> got;
    for (const GeoPoint& p : found) {
      REQUIRE(got.emplace(p.member).second);  // no member twice
      REQUIRE(p.score == *set.Score(p.member));
    }
    REQUIRE(got == want);
    // ANY stops at the limit, with a prefix of the full scan.
    if (found.size() > 3) {
      const std::vector<GeoPoint> first = GeoCollect(set, shape, 3);
      REQUIRE(first.size() == 3);
      for (size_t i = 0; i < 3; ++i) REQUIRE(first[i].member == found[i].member);
    }
  }
}

TEST_CASE("The full sort is stable and the partial sort puts the nearest first") {
  const uint64_t seed = keel::testing::TestSeed(45);
  CAPTURE(seed);
  base::Random rng(seed);
  std::vector<std::string> names;
  for (int i = 0; i < 2000; ++i) names.push_back(base::Cat("m", i));
  for (int round = 0; round < 300; ++round) {
    const size_t n = 1 + rng.Uniform(round < 100 ? 50 : 2000);
    // Few distinct distances, so that ties abound.
    const uint64_t distinct = 1 + rng.Uniform(n);
    std::vector<GeoPoint> points(n);
    for (size_t i = 0; i < n; ++i) {
      points[i] = {{0, 0}, static_cast<double>(rng.Uniform(distinct)), 0, names[i]};
    }
    const bool descending = rng.Bernoulli(0.5);
    const GeoOrder order = descending ? GeoOrder::kDescending : GeoOrder::kAscending;
    std::vector<GeoPoint> want = points;
    std::stable_sort(want.begin(), want.end(), [&](const GeoPoint& a, const GeoPoint& b) {
      return descending ? a.distance_m > b.distance_m : a.distance_m < b.distance_m;
    });
    CAPTURE(round);
    CAPTURE(n);
    std::vector<GeoPoint> full = points;
    GeoSort(full, order, n);
    for (size_t i = 0; i < n; ++i) REQUIRE(full[i].member == want[i].member);

    const size_t keep = 1 + rng.Uniform(n);
    std::vector<GeoPoint> partial = points;
    GeoSort(partial, order, keep);
    for (size_t i = 0; i < keep; ++i) REQUIRE(partial[i].distance_m == want[i].distance_m);
    std::multiset<std::string_view> before, after;
    for (const GeoPoint& p : points) before.insert(p.member);
    for (const GeoPoint& p : partial) after.insert(p.member);
    REQUIRE(before == after);
  }
}

}  // namespace
}  // namespace keel::redis::internal
