// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/geo/lat_lng.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "absl/strings/match.h"
#include "geo/geo_testing.h"
#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::geo {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST_CASE("LatLng::Create accepts valid coordinates and normalises longitude") {
  CHECK(*LatLng::Create(48.8566, 2.3522) == LatLng::FromDegrees(48.8566, 2.3522));
  CHECK(LatLng::Create(90, 0)->lat_degrees() == 90);
  CHECK(LatLng::Create(-90, 0)->lat_degrees() == -90);
  CHECK(LatLng::Create(0, 190)->lng_degrees() == -170);
  CHECK(LatLng::Create(0, -190)->lng_degrees() == 170);
  CHECK(LatLng::Create(0, 180)->lng_degrees() == -180);
  CHECK(LatLng::Create(0, -180)->lng_degrees() == -180);
  CHECK(LatLng::Create(0, 360)->lng_degrees() == 0);
  CHECK(LatLng::Create(0, 540)->lng_degrees() == -180);
  CHECK(LatLng::Create(0, 179.999999)->lng_degrees() == 179.999999);
  CHECK(LatLng::Create(0, 1e300)->is_valid());
}

TEST_CASE("LatLng::Create rejects NaN infinities and latitudes beyond the poles") {
  for (const auto& [lat, lng] :
       {std::pair{kNaN, 0.0}, std::pair{0.0, kNaN}, std::pair{kInf, 0.0}, std::pair{0.0, -kInf},
        std::pair{90.000001, 0.0}, std::pair{-91.0, 0.0}}) {
    const absl::StatusOr<LatLng> p = LatLng::Create(lat, lng);
    CAPTURE(lat);
    CAPTURE(lng);
    REQUIRE(!p.ok());
    CHECK(p.status().code() == absl::StatusCode::kInvalidArgument);
  }
  CHECK(absl::StrContains(LatLng::Create(91, 0).status().message(), "latitude 91"));
}

TEST_CASE("LatLng::FromDegrees does not check but is_valid tells") {
  CHECK(LatLng::FromDegrees(91, 0).lat_degrees() == 91);
  CHECK(!LatLng::FromDegrees(91, 0).is_valid());
  CHECK(!LatLng::FromDegrees(0, 180.5).is_valid());
  CHECK(!LatLng::FromDegrees(kNaN, 0).is_valid());
  CHECK(LatLng::FromDegrees(0, 180).is_valid());
  CHECK(LatLng::FromDegrees(-90, -180).is_valid());
}

TEST_CASE("DistanceMeters matches known distances") {
  const double one_degree = kEarthRadiusMeters * testing::kPi / 180;
  CHECK(DistanceMeters(LatLng::FromDegrees(0, 0), LatLng::FromDegrees(0, 1)) ==
        doctest::Approx(one_degree).epsilon(1e-12));
  CHECK(DistanceMeters(LatLng::FromDegrees(0, 0), LatLng::FromDegrees(1, 0)) ==
        doctest::Approx(one_degree).epsilon(1e-12));
  CHECK(DistanceMeters(LatLng::FromDegrees(90, 0), LatLng::FromDegrees(-90, 0)) ==
        doctest::Approx(kMaxDistanceMeters).epsilon(1e-15));
  CHECK(DistanceMeters(LatLng::FromDegrees(10, 20), LatLng::FromDegrees(-10, -160)) ==
        doctest::Approx(kMaxDistanceMeters).epsilon(1e-15));
  CHECK(DistanceMeters(LatLng::FromDegrees(12.5, 99), LatLng::FromDegrees(12.5, 99)) == 0);
  // Across the antimeridian, two points 0.002 degrees apart.
  CHECK(DistanceMeters(LatLng::FromDegrees(0, 179.999), LatLng::FromDegrees(0, -179.999)) ==
        doctest::Approx(0.002 * one_degree).epsilon(1e-9));
  // Paris to London, about 343.5 km on this sphere.
  CHECK(
      DistanceMeters(LatLng::FromDegrees(48.8566, 2.3522), LatLng::FromDegrees(51.5074, -0.1278)) ==
      doctest::Approx(343'556).epsilon(1e-4));
}

TEST_CASE("DistanceMeters agrees with Vincenty's formula at every distance") {
  const uint64_t seed = keel::testing::TestSeed(2026);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int i = 0; i < 200000; ++i) {
    const LatLng a = testing::RandomPoint(rng);
    // Mix near pairs (metres apart), far pairs, and near-antipodal pairs.
    LatLng b;
    switch (i % 3) {
      case 0:
        b = testing::RandomPointNear(rng, a, rng.UniformDouble(0, 5000));
        break;
      case 1:
        b = testing::RandomPoint(rng);
        break;
      default:
        b = testing::RandomPointNear(
            rng, LatLng::FromDegrees(-a.lat_degrees(), std::remainder(a.lng_degrees() + 180, 360)),
            rng.UniformDouble(0, 5000));
    }
    const double expected = testing::VincentyAngle(a, b) * kEarthRadiusMeters;
    const double got = DistanceMeters(a, b);
    if (std::abs(got - expected) > 1e-12 * kMaxDistanceMeters) {
      FAIL_CHECK(a.ToString(), " to ", b.ToString(), ": ", got, " != ", expected);
    }
    CHECK(DistanceMeters(b, a) == doctest::Approx(got).epsilon(1e-15));
  }
}

TEST_CASE("ToPoint gives unit vectors that FromPoint turns back into the point") {
  base::Random rng(keel::testing::TestSeed(4));
  for (int i = 0; i < 10000; ++i) {
    const LatLng p = testing::RandomPoint(rng);
    const Point3 v = p.ToPoint();
    CHECK(v.x * v.x + v.y * v.y + v.z * v.z == doctest::Approx(1.0).epsilon(1e-15));
    const LatLng back = LatLng::FromPoint(v);
    CHECK(DistanceMeters(p, back) < 1e-6);
  }
  const Point3 north = LatLng::FromDegrees(90, 0).ToPoint();
  CHECK(north.z == 1.0);
  const Point3 east = LatLng::FromDegrees(0, 90).ToPoint();
  CHECK(east.y == 1.0);
}

TEST_CASE("The squared chord orders points like the distance") {
  base::Random rng(keel::testing::TestSeed(5));
  const Point3 center = LatLng::FromDegrees(37.7749, -122.4194).ToPoint();
  for (int i = 0; i < 10000; ++i) {
    const Point3 a = testing::RandomPoint(rng).ToPoint();
    const Point3 b = testing::RandomPoint(rng).ToPoint();
    const double da = DistanceMeters(center, a);
    const double db = DistanceMeters(center, b);
    if (std::abs(da - db) > 1e-3) {
      const bool chord_order = ChordDistance2(center, a) < ChordDistance2(center, b);
      CHECK((da < db) == chord_order);
    }
    CHECK(MetersToChordDistance2(da) == doctest::Approx(ChordDistance2(center, a)).epsilon(1e-9));
  }
  CHECK(MetersToChordDistance2(0) == 0);
  CHECK(MetersToChordDistance2(kMaxDistanceMeters) == 4);
  CHECK(MetersToChordDistance2(1e12) == 4);
}

TEST_CASE("ToString prints enough digits to read the point back") {
  const LatLng p = LatLng::FromDegrees(0.1, -179.123456789012345);
  const std::string s = p.ToString();
  CHECK(s == "(0.10000000000000001, -179.12345678901235)");
}

}  // namespace
}  // namespace keel::geo
