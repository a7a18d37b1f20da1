// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// CoverCap against S2RegionCoverer (Debian's libs2).
#include "keel/geo/cell_covering.h"

#include <doctest/doctest.h>
#include <s2/s1chord_angle.h>
#include <s2/s2cap.h>
#include <s2/s2cell.h>
#include <s2/s2cell_id.h>
#include <s2/s2region_coverer.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "geo/geo_testing.h"
#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::geo {
namespace {

std::vector<uint64_t> S2Covering(const Point3& center, double chord2, const CoveringOptions& o) {
  S2RegionCoverer::Options options;
  options.set_min_level(o.min_level);
  options.set_max_level(o.max_level);
  options.set_max_cells(o.max_cells);
  options.set_level_mod(o.level_mod);
  S2RegionCoverer coverer(options);
  const S2Cap cap(S2Point(center.x, center.y, center.z), S1ChordAngle::FromLength2(chord2));
  std::vector<S2CellId> cells;
  coverer.GetCovering(cap, &cells);
  std::vector<uint64_t> ids;
  for (const S2CellId& id : cells) ids.push_back(id.id());
  return ids;
}

std::vector<uint64_t> Ids(const std::vector<CellId>& cells) {
  std::vector<uint64_t> ids;
  for (const CellId& c : cells) ids.push_back(c.id());
  return ids;
}

bool Covers(const std::vector<CellId>& cells, CellId leaf) {
  const auto it = std::upper_bound(cells.begin(), cells.end(), leaf);
  return (it != cells.end() && it->contains(leaf)) ||
         (it != cells.begin() && std::prev(it)->contains(leaf));
}

// The level at which cells are about a quarter of the cap's diameter: a few dozen cells.
int FineLevelFor(double radius_m) {
  const double angle = std::max(radius_m, 1.0) / kEarthRadiusMeters;
  const int level = static_cast<int>(std::floor(std::log2(2.0 / angle))) + 2;
  return std::clamp(level, 0, CellId::kMaxLevel);
}

TEST_CASE("CoverCap at a single level gives exactly S2RegionCoverer's cells") {
  const uint64_t seed = keel::testing::TestSeed(1234);
  CAPTURE(seed);
  base::Random rng(seed);
  std::vector<LatLng> centers = testing::AwkwardCenters();
  for (int i = 0; i < 600; ++i) centers.push_back(testing::RandomPoint(rng));
  for (const LatLng& center : centers) {
    const double radius = std::exp(rng.UniformDouble(std::log(1.0), std::log(3e6)));
    const int level = std::min(FineLevelFor(radius), static_cast<int>(rng.UniformInRange(0, 30)));
    const CoveringOptions options{.min_level = level, .max_level = level, .max_cells = 1 << 20};
    const Point3 p = center.ToPoint();
    const double chord2 = MetersToChordDistance2(radius);
    CAPTURE(center.ToString());
    CAPTURE(radius);
    CAPTURE(level);
    const std::vector<CellId> ours = *CoverCapChord(p, chord2, options);
    REQUIRE(Ids(ours) == S2Covering(p, chord2, options));
  }
}

TEST_CASE("CoverCap with any options covers the cap within the limits and like S2") {
  const uint64_t seed = keel::testing::TestSeed(4321);
  CAPTURE(seed);
  base::Random rng(seed);
  int same = 0;
  int trials = 0;
  for (int i = 0; i < 1500; ++i) {
    const LatLng center =
        i < 13 ? testing::AwkwardCenters()[static_cast<size_t>(i)] : testing::RandomPoint(rng);
    const double radius = std::exp(rng.UniformDouble(std::log(1.0), std::log(2e7)));
    CoveringOptions options;
    options.max_level = static_cast<int>(rng.UniformInRange(0, 30));
    options.min_level =
        static_cast<int>(rng.UniformInRange(0, std::min(options.max_level, FineLevelFor(radius))));
    options.max_cells = static_cast<int>(rng.UniformInRange(1, 40));
    options.level_mod = static_cast<int>(rng.UniformInRange(1, 3));
    const Point3 p = center.ToPoint();
    const double chord2 = MetersToChordDistance2(radius);
    CAPTURE(center.ToString());
    CAPTURE(radius);
    CAPTURE(options.min_level);
    CAPTURE(options.max_level);
    CAPTURE(options.max_cells);
    CAPTURE(options.level_mod);
    const std::vector<CellId> ours = *CoverCapChord(p, chord2, options);
    const std::vector<uint64_t> theirs = S2Covering(p, chord2, options);
    ++trials;
    same += Ids(ours) == theirs ? 1 : 0;
    // Valid: sorted, disjoint, levels allowed.
    REQUIRE(!ours.empty());
    for (size_t k = 0; k < ours.size(); ++k) {
      const int level = ours[k].level();
      REQUIRE(level >= options.min_level);
      REQUIRE(level <= options.max_level);
      REQUIRE((level - options.min_level) % options.level_mod == 0);
      if (k > 0) REQUIRE(ours[k - 1].range_max() < ours[k].range_min());
    }
    // Within max_cells whenever S2 manages it.
    if (theirs.size() <= static_cast<size_t>(options.max_cells)) {
      CHECK(ours.size() <= static_cast<size_t>(std::max(options.max_cells, 6)));
    }
    // Complete: every point of the cap is in some cell.
    for (int j = 0; j < 200; ++j) {
      const LatLng q = testing::RandomPointNear(rng, center, std::min(radius, kMaxDistanceMeters));
      if (ChordDistance2(p, q.ToPoint()) > chord2) continue;
      REQUIRE(Covers(ours, CellId::FromLatLng(q)));
    }
  }
  MESSAGE("coverings identical to S2's: ", same, " of ", trials);
  // The rest differ only where S2 broke a tie between equally good cells by memory address.
  CHECK(same * 10 > trials * 8);
}

TEST_CASE("CoverCap rejects bad centres radii and options") {
  const LatLng ok = LatLng::FromDegrees(1, 2);
  CHECK(CoverCap(LatLng::FromDegrees(100, 0), 10).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(CoverCap(ok, -1).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(CoverCap(ok, std::nan("")).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(CoverCap(ok, 10, {.min_level = 5, .max_level = 4}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(CoverCap(ok, 10, {.max_level = 31}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(CoverCap(ok, 10, {.max_cells = 0}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(CoverCap(ok, 10, {.level_mod = 4}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(CoverCapChord({2, 0, 0}, 0.1).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(CoverCapChord({1, 0, 0}, 4.5).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("CoverCap refuses a min_level that would need millions of cells") {
  const absl::StatusOr<std::vector<CellId>> cells =
      CoverCap(LatLng::FromDegrees(10, 10), 1e6, {.min_level = 20});
  CHECK(cells.status().code() == absl::StatusCode::kResourceExhausted);
}

TEST_CASE("CoverCap of the whole sphere is the six faces and of a point is one leaf") {
  CHECK(CoverCap(LatLng::FromDegrees(0, 0), kMaxDistanceMeters)->size() == 6);
  const std::vector<CellId> point = *CoverCap(LatLng::FromDegrees(12, 34), 0);
  REQUIRE(!point.empty());
  CHECK(Covers(point, CellId::FromLatLng(LatLng::FromDegrees(12, 34))));
}

}  // namespace
}  // namespace keel::geo
