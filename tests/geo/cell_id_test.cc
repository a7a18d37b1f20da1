// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// CellId against Google S2 itself (Debian's libs2-dev, linked with -ls2): ids, tokens, the
// hierarchy, neighbours and geometry must be bit-identical.
#include "keel/geo/cell_id.h"

#include <doctest/doctest.h>
#include <s2/s2cell.h>
#include <s2/s2cell_id.h>
#include <s2/s2coords.h>
#include <s2/s2latlng.h>
#include <s2/s2latlng_rect.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/match.h"
#include "geo/geo_testing.h"
#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::geo {
namespace {

S2CellId S2Of(LatLng p) {
  return S2CellId(S2LatLng::FromDegrees(p.lat_degrees(), p.lng_degrees()));
}

// A random valid cell at a random level, through a random leaf.
CellId RandomCell(base::Random& rng) {
  const CellId leaf = CellId::FromLatLng(testing::RandomPoint(rng));
  return leaf.parent(static_cast<int>(rng.UniformInRange(0, CellId::kMaxLevel)));
}

// Points on and around the places where cell arithmetic is delicate: the poles, the
// antimeridian, the cube's face edges and corners, and one ulp either side of each.
std::vector<LatLng> EdgePoints(base::Random& rng) {
  std::vector<LatLng> points;
  auto add_with_neighbours = [&](double lat, double lng) {
    for (const double dlat : {-1.0, 0.0, 1.0}) {
      for (const double dlng : {-1.0, 0.0, 1.0}) {
        double a = lat;
        double b = lng;
        if (dlat != 0) a = std::nextafter(a, dlat > 0 ? 100.0 : -100.0);
        if (dlng != 0) b = std::nextafter(b, dlng > 0 ? 200.0 : -200.0);
        const LatLng p = LatLng::FromDegrees(a, b);
        if (p.is_valid()) points.push_back(p);
      }
    }
  };
  for (const double lng : {-180.0, -135.0, -90.0, -45.0, 0.0, 45.0, 90.0, 135.0, 180.0}) {
    add_with_neighbours(90, lng);
    add_with_neighbours(-90, lng);
    add_with_neighbours(0, lng);
  }
  // Cube corners: latitude atan(1/sqrt(2)) = 35.26438968... at longitudes 45 + 90k.
  const double corner_lat = std::atan(1 / std::sqrt(2.0)) * 180 / testing::kPi;
  for (const double lng : {-135.0, -45.0, 45.0, 135.0}) {
    add_with_neighbours(corner_lat, lng);
    add_with_neighbours(-corner_lat, lng);
  }
  // Points exactly on face edges (u or v = +-1), computed as S2 computes them.
  for (int n = 0; n < 2000; ++n) {
    const int face = static_cast<int>(rng.Uniform(6));
    const double along = rng.UniformDouble(-1, 1);
    const double edge = rng.Bernoulli(0.5) ? 1.0 : -1.0;
    const S2Point p = rng.Bernoulli(0.5) ? S2::FaceUVtoXYZ(face, edge, along)
                                         : S2::FaceUVtoXYZ(face, along, edge);
    const S2LatLng ll(p);
    add_with_neighbours(ll.lat().degrees(), ll.lng().degrees());
  }
  // Longitude +-180 at random latitudes.
  for (int n = 0; n < 200; ++n) {
    const double lat = rng.UniformDouble(-90, 90);
    add_with_neighbours(lat, 180);
    add_with_neighbours(lat, -180);
  }
  return points;
}

TEST_CASE("CellId::FromLatLng is bit-identical to S2CellId at every level for a million points") {
  const uint64_t seed = keel::testing::TestSeed(20261127);
  CAPTURE(seed);
  base::Random rng(seed);
  int mismatches = 0;
  for (int n = 0; n < 1'000'000; ++n) {
    // Uniform over the sphere, and half the time uniform in degrees (denser near the poles).
    const LatLng p = (n % 2 == 0) ? testing::RandomPoint(rng)
                                  : LatLng::FromDegrees(rng.UniformDouble(-90, 90),
                                                        rng.UniformDouble(-180, 180));
    const CellId ours = CellId::FromLatLng(p);
    const S2CellId theirs = S2Of(p);
    const int level = static_cast<int>(rng.UniformInRange(0, CellId::kMaxLevel));
    if (ours.id() != theirs.id() || ours.parent(level).id() != theirs.parent(level).id()) {
      if (++mismatches <= 10) FAIL_CHECK(p.ToString(), ": ", ours.id(), " != ", theirs.id());
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE(
    "CellId::FromLatLng matches S2 at the poles the antimeridian and cube edges and corners") {
  base::Random rng(keel::testing::TestSeed(77));
  const std::vector<LatLng> points = EdgePoints(rng);
  REQUIRE(points.size() > 10000);
  for (const LatLng& p : points) {
    const CellId ours = CellId::FromLatLng(p);
    const S2CellId theirs = S2Of(p);
    if (ours.id() != theirs.id()) FAIL_CHECK(p.ToString(), ": ", ours.id(), " != ", theirs.id());
    for (int level = 0; level <= CellId::kMaxLevel; ++level) {
      REQUIRE(ours.parent(level).id() == theirs.parent(level).id());
    }
  }
}

TEST_CASE("CellId tokens equal S2's in both directions") {
  base::Random rng(keel::testing::TestSeed(78));
  for (int n = 0; n < 100000; ++n) {
    const CellId cell = RandomCell(rng);
    const S2CellId s2(cell.id());
    const std::string token = cell.ToToken();
    REQUIRE(token == s2.ToToken());
    REQUIRE(CellId::FromToken(token)->id() == cell.id());
    REQUIRE(S2CellId::FromToken(token).id() == cell.id());
  }
  CHECK(CellId().ToToken() == "X");
  CHECK(CellId::FromToken("89C25A4")->ToToken() == "89c25a4");
  CHECK(CellId::FromToken("1")->is_face());                      // face 0
  CHECK(CellId::FromToken("89c25a40")->ToToken() == "89c25a4");  // trailing zeros, as S2 accepts
}

TEST_CASE("CellId::FromToken rejects malformed tokens with a clear error") {
  for (const std::string_view bad :
       {std::string_view(""), std::string_view("X"), std::string_view("x"), std::string_view("0"),
        std::string_view("c"), std::string_view("89c25g"), std::string_view("89c2 5"),
        std::string_view("0123456789abcdef0"), std::string_view("2"), std::string_view("\xff")}) {
    CAPTURE(std::string(bad));
    const absl::StatusOr<CellId> cell = CellId::FromToken(bad);
    CHECK(cell.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(!S2CellId::FromToken(absl::string_view(bad.data(), bad.size())).is_valid());
  }
  CHECK(absl::StrContains(CellId::FromToken("89g").status().message(), "\"g\" at position 2"));
}

TEST_CASE("CellId's hierarchy operations equal S2's") {
  base::Random rng(keel::testing::TestSeed(79));
  for (int n = 0; n < 100000; ++n) {
    const CellId cell = RandomCell(rng);
    const S2CellId s2(cell.id());
    REQUIRE(cell.is_valid() == s2.is_valid());
    REQUIRE(cell.level() == s2.level());
    REQUIRE(cell.face() == s2.face());
    REQUIRE(cell.pos() == s2.pos());
    REQUIRE(cell.is_leaf() == s2.is_leaf());
    REQUIRE(cell.is_face() == s2.is_face());
    REQUIRE(cell.range_min().id() == s2.range_min().id());
    REQUIRE(cell.range_max().id() == s2.range_max().id());
    REQUIRE(cell.next().id() == s2.next().id());
    REQUIRE(cell.prev().id() == s2.prev().id());
    if (!cell.is_face()) REQUIRE(cell.parent().id() == s2.parent().id());
    if (!cell.is_leaf()) {
      for (int k = 0; k < 4; ++k) REQUIRE(cell.child(k).id() == s2.child(k).id());
      REQUIRE(cell.child_begin().id() == s2.child_begin().id());
      REQUIRE(cell.child_end().id() == s2.child_end().id());
      const int deeper = static_cast<int>(rng.UniformInRange(cell.level(), CellId::kMaxLevel));
      REQUIRE(cell.child_begin(deeper).id() == s2.child_begin(deeper).id());
      REQUIRE(cell.child_end(deeper).id() == s2.child_end(deeper).id());
    }
    const CellId other = RandomCell(rng);
    REQUIRE(cell.contains(other) == s2.contains(S2CellId(other.id())));
    REQUIRE(cell.intersects(other) == s2.intersects(S2CellId(other.id())));
    REQUIRE(cell.ToString() == s2.ToString());
  }
  // Random 64-bit values: validity agrees.
  for (int n = 0; n < 100000; ++n) {
    const uint64_t id = rng.Next() >> rng.Uniform(8);
    REQUIRE(CellId(id).is_valid() == S2CellId(id).is_valid());
  }
  CHECK(CellId::Begin(0).id() == S2CellId::Begin(0).id());
  CHECK(CellId::End(30).id() == S2CellId::End(30).id());
  int count = 0;
  for (CellId c = CellId::Begin(2); c != CellId::End(2); c = c.next()) ++count;
  CHECK(count == 6 * 16);
}

TEST_CASE("CellId neighbours equal S2's everywhere including across cube edges") {
  const uint64_t seed = keel::testing::TestSeed(80);
  CAPTURE(seed);
  base::Random rng(seed);
  std::vector<CellId> cells;
  for (int n = 0; n < 20000; ++n) cells.push_back(RandomCell(rng));
  for (const LatLng& p : EdgePoints(rng)) {
    cells.push_back(CellId::FromLatLng(p).parent(static_cast<int>(rng.UniformInRange(0, 30))));
  }
  for (int face = 0; face < 6; ++face) cells.push_back(CellId::FromFace(face));
  for (const CellId& cell : cells) {
    const S2CellId s2(cell.id());
    CAPTURE(cell.ToToken());
    S2CellId s2_edges[4];
    s2.GetEdgeNeighbors(s2_edges);
    const std::array<CellId, 4> edges = cell.EdgeNeighbors();
    for (int k = 0; k < 4; ++k) REQUIRE(edges[static_cast<size_t>(k)].id() == s2_edges[k].id());

    if (cell.level() > 0) {
      const int level = static_cast<int>(rng.UniformInRange(0, cell.level() - 1));
      std::vector<CellId> ours;
      std::vector<S2CellId> theirs;
      cell.AppendVertexNeighbors(level, &ours);
      s2.AppendVertexNeighbors(level, &theirs);
      REQUIRE(ours.size() == theirs.size());
      for (size_t k = 0; k < ours.size(); ++k) REQUIRE(ours[k].id() == theirs[k].id());
    }
    // All neighbours at a level at most 6 finer, so that the lists stay short.
    const int nbr_level =
        std::min(CellId::kMaxLevel, cell.level() + static_cast<int>(rng.UniformInRange(0, 6)));
    std::vector<CellId> ours;
    std::vector<S2CellId> theirs;
    cell.AppendAllNeighbors(nbr_level, &ours);
    s2.AppendAllNeighbors(nbr_level, &theirs);
    REQUIRE(ours.size() == theirs.size());
    for (size_t k = 0; k < ours.size(); ++k) REQUIRE(ours[k].id() == theirs[k].id());
  }
}

TEST_CASE("CellId centres and vertices equal S2's") {
  base::Random rng(keel::testing::TestSeed(81));
  for (int n = 0; n < 50000; ++n) {
    const CellId cell = RandomCell(rng);
    const S2CellId s2(cell.id());
    const S2Point center = s2.ToPointRaw();
    const Point3 ours = cell.CenterPoint();
    REQUIRE(ours.x == center.x());
    REQUIRE(ours.y == center.y());
    REQUIRE(ours.z == center.z());
    const S2LatLng ll = s2.ToLatLng();
    REQUIRE(cell.CenterLatLng().lat_degrees() == ll.lat().degrees());
    REQUIRE(cell.CenterLatLng().lng_degrees() == ll.lng().degrees());
    const S2Cell s2_cell(s2);
    for (int k = 0; k < 4; ++k) {
      const S2Point v = s2_cell.GetVertex(k);
      const Point3 w = cell.Vertex(k);
      REQUIRE(w.x == v.x());
      REQUIRE(w.y == v.y());
      REQUIRE(w.z == v.z());
    }
    const CellId::FaceIJ f = cell.ToFaceIJ();
    REQUIRE(CellId::FromFaceIJ(f.face, f.i, f.j).parent(cell.level()) == cell);
  }
}

// Whether a rectangle holds a point; a pole is one point whatever its longitude says.
bool InBound(const LatLngRect& r, LatLng p) {
  if (std::abs(p.lat_degrees()) == 90)
    return p.lat_degrees() >= r.lat_lo() && p.lat_degrees() <= r.lat_hi();
  return r.Contains(p);
}

TEST_CASE("CellId::LatLngBound holds the cell and is as tight as S2's rectangle bound") {
  const uint64_t seed = keel::testing::TestSeed(83);
  CAPTURE(seed);
  base::Random rng(seed);
  std::vector<CellId> cells;
  for (int face = 0; face < 6; ++face) cells.push_back(CellId::FromFace(face));
  for (const LatLng& p : EdgePoints(rng)) {
    cells.push_back(CellId::FromLatLng(p).parent(static_cast<int>(rng.UniformInRange(0, 30))));
  }
  for (int n = 0; n < 20000; ++n) cells.push_back(RandomCell(rng));
  for (const CellId& cell : cells) {
    CAPTURE(cell.ToToken());
    const LatLngRect ours = cell.LatLngBound();
    // Every vertex, the centre and points spread over the cell are inside.
    for (int k = 0; k < 4; ++k) REQUIRE(InBound(ours, LatLng::FromPoint(cell.Vertex(k))));
    REQUIRE(InBound(ours, cell.CenterLatLng()));
    if (!cell.is_leaf()) {
      const int deeper = std::min(CellId::kMaxLevel, cell.level() + 5);
      for (int s = 0; s < 20; ++s) {
        CellId c = cell;
        while (c.level() < deeper) c = c.child(static_cast<int>(rng.Uniform(4)));
        for (int k = 0; k < 4; ++k) REQUIRE(InBound(ours, LatLng::FromPoint(c.Vertex(k))));
      }
    }
    // S2's bound is conservative by a little more; the two agree to a millionth of a degree.
    const S2LatLngRect theirs = S2Cell(S2CellId(cell.id())).GetRectBound();
    REQUIRE(std::abs(ours.lat_lo() - theirs.lat_lo().degrees()) < 1e-6);
    REQUIRE(std::abs(ours.lat_hi() - theirs.lat_hi().degrees()) < 1e-6);
    if (theirs.lng().is_full()) {
      REQUIRE(ours.is_full_lng());
    } else {
      const double lng_lo = std::remainder(ours.lng_lo() - theirs.lng_lo().degrees(), 360.0);
      const double lng_hi = std::remainder(ours.lng_hi() - theirs.lng_hi().degrees(), 360.0);
      REQUIRE(std::abs(lng_lo) < 1e-6);
      REQUIRE(std::abs(lng_hi) < 1e-6);
    }
  }
}

TEST_CASE("CellId::FromLatLng of an invalid point is None") {
  CHECK(!CellId::FromLatLng(LatLng::FromDegrees(91, 0)).is_valid());
  CHECK(!CellId::FromLatLng(LatLng::FromDegrees(std::nan(""), 0)).is_valid());
  CHECK(CellId::FromLatLng(LatLng::FromDegrees(91, 0)) == CellId::None());
  CHECK(!CellId::None().is_valid());
}

TEST_CASE("A cell contains exactly the leaves between its range_min and range_max") {
  base::Random rng(keel::testing::TestSeed(82));
  for (int n = 0; n < 10000; ++n) {
    const LatLng p = testing::RandomPoint(rng);
    const CellId leaf = CellId::FromLatLng(p);
    for (int level = 0; level <= CellId::kMaxLevel; ++level) {
      const CellId cell = leaf.parent(level);
      REQUIRE(cell.contains(leaf));
      REQUIRE(cell.range_min() <= leaf);
      REQUIRE(leaf <= cell.range_max());
      REQUIRE(cell.level() == level);
    }
  }
}

}  // namespace
}  // namespace keel::geo
