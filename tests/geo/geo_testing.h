// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Point generators shared by the geo tests. Not installed.
#ifndef KEEL_TESTS_GEO_GEO_TESTING_H_
#define KEEL_TESTS_GEO_GEO_TESTING_H_

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "keel/base/random.h"
#include "keel/geo/lat_lng.h"

namespace keel::geo::testing {

inline constexpr double kPi = std::numbers::pi;

// A point uniformly distributed over the sphere.
inline LatLng RandomPoint(base::Random& rng) {
  const double z = rng.UniformDouble(-1, 1);
  const double lng = rng.UniformDouble(-180, 180);
  return LatLng::FromDegrees(std::asin(z) * 180 / kPi, lng);
}

// The point `distance_m` from `start` along the initial bearing `bearing_deg` (clockwise from
// north), by the spherical destination formula; longitude normalised into [-180, 180).
inline LatLng Destination(LatLng start, double distance_m, double bearing_deg) {
  const double delta = distance_m / kEarthRadiusMeters;
  const double phi1 = start.lat_degrees() * kPi / 180;
  const double lambda1 = start.lng_degrees() * kPi / 180;
  const double theta = bearing_deg * kPi / 180;
  const double sin_phi2 = std::clamp(
      std::sin(phi1) * std::cos(delta) + std::cos(phi1) * std::sin(delta) * std::cos(theta), -1.0,
      1.0);
  const double phi2 = std::asin(sin_phi2);
  const double lambda2 = lambda1 + std::atan2(std::sin(theta) * std::sin(delta) * std::cos(phi1),
                                              std::cos(delta) - std::sin(phi1) * sin_phi2);
  double lng = std::remainder(lambda2 * 180 / kPi, 360.0);
  if (lng == 180) lng = -180;
  return LatLng::FromDegrees(std::clamp(phi2 * 180 / kPi, -90.0, 90.0), lng);
}

// A point within `max_distance_m` of `center`, biased toward the edge of that disc (where
// coverings are most likely to be wrong): half the time in the outer 1% of the radius.
inline LatLng RandomPointNear(base::Random& rng, LatLng center, double max_distance_m) {
  const double fraction = rng.Bernoulli(0.5) ? rng.UniformDouble(0.99, 1.0) : rng.UniformDouble();
  return Destination(center, fraction * max_distance_m, rng.UniformDouble(0, 360));
}

// Centres where geometry code tends to break, plus ordinary ones.
inline std::vector<LatLng> AwkwardCenters() {
  return {LatLng::FromDegrees(90, 0),
          LatLng::FromDegrees(-90, 0),
          LatLng::FromDegrees(89.999, 45),
          LatLng::FromDegrees(-89.9999, -120),
          LatLng::FromDegrees(0, 180),
          LatLng::FromDegrees(0, -180),
          LatLng::FromDegrees(10, 179.9999),
          LatLng::FromDegrees(-10, -179.9999),
          LatLng::FromDegrees(0, 0),
          LatLng::FromDegrees(45, 45),
          LatLng::FromDegrees(35.26438968, 45),  // a corner of S2's cube
          LatLng::FromDegrees(70, -179.5),
          LatLng::FromDegrees(-60, 179.5)};
}

// Vincenty's form of the great-circle angle (radians): accurate at every distance, and written
// independently of keel's unit-vector form.
inline double VincentyAngle(LatLng a, LatLng b) {
  const double phi1 = a.lat_degrees() * kPi / 180;
  const double phi2 = b.lat_degrees() * kPi / 180;
  const double dlng = (b.lng_degrees() - a.lng_degrees()) * kPi / 180;
  const double y1 = std::cos(phi2) * std::sin(dlng);
  const double y2 =
      std::cos(phi1) * std::sin(phi2) - std::sin(phi1) * std::cos(phi2) * std::cos(dlng);
  const double x =
      std::sin(phi1) * std::sin(phi2) + std::cos(phi1) * std::cos(phi2) * std::cos(dlng);
  return std::atan2(std::hypot(y1, y2), x);
}

}  // namespace keel::geo::testing

#endif  // KEEL_TESTS_GEO_GEO_TESTING_H_
