// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/geo/lat_lng_rect.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "geo/geo_testing.h"
#include "keel/base/random.h"
#include "testing/testing.h"

namespace keel::geo {
namespace {

TEST_CASE("AroundCircle rejects bad centres and radii") {
  const LatLng ok = LatLng::FromDegrees(10, 10);
  CHECK(LatLngRect::AroundCircle(LatLng::FromDegrees(91, 0), 10).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(LatLngRect::AroundCircle(ok, -1).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(LatLngRect::AroundCircle(ok, std::numeric_limits<double>::quiet_NaN()).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(LatLngRect::AroundCircle(ok, std::numeric_limits<double>::infinity()).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("AroundCircle of radius 0 is the point itself") {
  const LatLng p = LatLng::FromDegrees(-33.8688, 151.2093);
  const LatLngRect box = *LatLngRect::AroundCircle(p, 0);
  CHECK(box.Contains(p));
  CHECK(box.lat_hi() - box.lat_lo() < 1e-8);
  CHECK(box.lng_span() < 1e-8);
}

TEST_CASE("AroundCircle covers everything from half the circumference up") {
  CHECK(*LatLngRect::AroundCircle(LatLng::FromDegrees(1, 2), kMaxDistanceMeters) ==
        LatLngRect::Full());
  CHECK(*LatLngRect::AroundCircle(LatLng::FromDegrees(1, 2), 1e9) == LatLngRect::Full());
}

TEST_CASE("AroundCircle wraps across the antimeridian") {
  const LatLngRect box = *LatLngRect::AroundCircle(LatLng::FromDegrees(0, 179.999), 1000);
  CHECK(box.crosses_antimeridian());
  CHECK(box.lng_lo() == doctest::Approx(179.99000678).epsilon(1e-9));
  CHECK(box.lng_hi() == doctest::Approx(-179.99200678).epsilon(1e-9));
  CHECK(box.Contains(LatLng::FromDegrees(0, -179.995)));
  CHECK(box.Contains(LatLng::FromDegrees(0, 179.995)));
  CHECK(!box.Contains(LatLng::FromDegrees(0, 0)));
  CHECK(box.lng_span() == doctest::Approx(0.0179864).epsilon(1e-4));
}

TEST_CASE("AroundCircle takes every longitude when the circle reaches a pole") {
  const LatLngRect box = *LatLngRect::AroundCircle(LatLng::FromDegrees(89.99, 10), 2000);
  CHECK(box.is_full_lng());
  CHECK(box.lat_hi() == 90);
  CHECK(box.Contains(LatLng::FromDegrees(89.995, -170)));
  const LatLngRect south = *LatLngRect::AroundCircle(LatLng::FromDegrees(-90, 0), 1);
  CHECK(south.is_full_lng());
  CHECK(south.lat_lo() == -90);
}

TEST_CASE("AroundCircle contains every point within the radius") {
  const uint64_t seed = keel::testing::TestSeed(31);
  CAPTURE(seed);
  base::Random rng(seed);
  std::vector<LatLng> centers = testing::AwkwardCenters();
  for (int i = 0; i < 300; ++i) centers.push_back(testing::RandomPoint(rng));
  for (const LatLng& center : centers) {
    for (const double radius : {0.0, 1.0, 1000.0, 50'000.0, 2'000'000.0, 15'000'000.0}) {
      const LatLngRect box = *LatLngRect::AroundCircle(center, radius);
      for (int j = 0; j < 200; ++j) {
        const LatLng p = testing::RandomPointNear(rng, center, radius);
        if (DistanceMeters(center, p) > radius) continue;
        if (!box.Contains(p)) {
          FAIL_CHECK("centre ", center.ToString(), " radius ", radius, ": ", p.ToString(),
                     " outside ", box.ToString());
        }
      }
    }
  }
}

TEST_CASE("AroundCircle is tight: its edges are reached by the circle") {
  // The extreme latitudes are due north and south; away from the poles the extreme longitudes
  // are reached too, so each edge lies within the padding of a point on the circle.
  base::Random rng(keel::testing::TestSeed(32));
  for (int i = 0; i < 1000; ++i) {
    const LatLng center =
        LatLng::FromDegrees(rng.UniformDouble(-70, 70), rng.UniformDouble(-180, 180));
    const double radius = rng.UniformDouble(1, 500'000);
    const LatLngRect box = *LatLngRect::AroundCircle(center, radius);
    const double angle_deg = radius / kEarthRadiusMeters * 180 / testing::kPi;
    CHECK(box.lat_hi() - box.lat_lo() == doctest::Approx(2 * angle_deg).epsilon(1e-6));
    double widest = 0;
    for (int b = 0; b < 3600; ++b) {
      const LatLng p = testing::Destination(center, radius, b / 10.0);
      widest =
          std::max(widest, std::abs(std::remainder(p.lng_degrees() - center.lng_degrees(), 360.0)));
    }
    CHECK(box.lng_span() / 2 == doctest::Approx(widest).epsilon(1e-4));
  }
}

// The brute-force minimum distance from p to a rectangle: over a fine sampling of its boundary
// (p outside) and 0 when inside.
double SampledMinDistance(const LatLngRect& r, LatLng p) {
  if (r.Contains(p)) return 0;
  double best = std::numeric_limits<double>::infinity();
  const int kSteps = 2000;
  const double span = r.lng_span();
  for (int i = 0; i <= kSteps; ++i) {
    const double t = static_cast<double>(i) / kSteps;
    const double lat = r.lat_lo() + t * (r.lat_hi() - r.lat_lo());
    double lng = r.lng_lo() + t * span;
    if (lng > 180) lng -= 360;
    for (const LatLng q :
         {LatLng::FromDegrees(lat, r.lng_lo()), LatLng::FromDegrees(lat, r.lng_hi()),
          LatLng::FromDegrees(r.lat_lo(), lng), LatLng::FromDegrees(r.lat_hi(), lng)}) {
      best = std::min(best, DistanceMeters(p, q));
    }
  }
  return best;
}

TEST_CASE("MinDistanceMeters is the distance to the nearest point of the rectangle") {
  const uint64_t seed = keel::testing::TestSeed(33);
  CAPTURE(seed);
  base::Random rng(seed);
  for (int i = 0; i < 2000; ++i) {
    const double lat_a = rng.UniformDouble(-90, 90);
    const double lat_b = rng.UniformDouble(-90, 90);
    const double size = rng.Bernoulli(0.5) ? rng.UniformDouble(0, 1) : rng.UniformDouble(0, 120);
    const double lng_lo = rng.UniformDouble(-180, 180);
    double lng_hi = lng_lo + size;
    if (lng_hi > 180) lng_hi -= 360;  // wraps
    const LatLngRect r(std::min(lat_a, lat_b), std::max(lat_a, lat_b), lng_lo, lng_hi);
    const LatLng p = rng.Bernoulli(0.3) ? testing::RandomPointNear(
                                              rng, LatLng::FromDegrees(lat_a, lng_lo), 200'000)
                                        : testing::RandomPoint(rng);
    const double exact = r.MinDistanceMeters(p);
    const double sampled = SampledMinDistance(r, p);
    // Sampling finds points no closer than the true minimum, and within half a sample step of it.
    const double step_m = std::max(r.lat_hi() - r.lat_lo(), r.lng_span()) / 2000 * testing::kPi /
                          180 * kEarthRadiusMeters;
    CAPTURE(r.ToString());
    CAPTURE(p.ToString());
    CHECK(exact <= sampled + 1e-6);
    CHECK(exact >= sampled - step_m);
  }
}

TEST_CASE("MinDistanceMeters is zero inside and exact along meridians and across poles") {
  const LatLngRect r(10, 20, 30, 40);
  CHECK(r.MinDistanceMeters(LatLng::FromDegrees(15, 35)) == 0);
  const double one_degree = kEarthRadiusMeters * testing::kPi / 180;
  CHECK(r.MinDistanceMeters(LatLng::FromDegrees(25, 35)) == doctest::Approx(5 * one_degree));
  CHECK(r.MinDistanceMeters(LatLng::FromDegrees(0, 35)) == doctest::Approx(10 * one_degree));
  // From the far side of the north pole the nearest points are the top corners, over the pole:
  // along the top edge the distance grows toward the middle, which is exactly opposite.
  const double over_pole = r.MinDistanceMeters(LatLng::FromDegrees(80, -145));
  CHECK(over_pole ==
        doctest::Approx(DistanceMeters(LatLng::FromDegrees(80, -145), LatLng::FromDegrees(20, 30)))
            .epsilon(1e-12));
}

}  // namespace
}  // namespace keel::geo
