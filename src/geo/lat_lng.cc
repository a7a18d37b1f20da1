// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/geo/lat_lng.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"
#include "keel/base/strings.h"

namespace keel::geo {

absl::StatusOr<LatLng> LatLng::Create(double lat_degrees, double lng_degrees) {
  if (!std::isfinite(lat_degrees) || !std::isfinite(lng_degrees)) {
    return absl::InvalidArgumentError(base::Cat("coordinates must be finite numbers, got (",
                                                lat_degrees, ", ", lng_degrees, ")"));
  }
  if (lat_degrees < -90 || lat_degrees > 90) {
    return absl::InvalidArgumentError(base::Cat("latitude ", lat_degrees, " is outside [-90, 90]"));
  }
  // std::remainder is exact: it maps the longitude into [-180, 180] without rounding error.
  double lng = std::remainder(lng_degrees, 360.0);
  if (lng == 180.0) lng = -180.0;
  return LatLng(lat_degrees, lng);
}

Point3 LatLng::ToPoint() const {
  const double phi = lat_radians();
  const double theta = lng_radians();
  const double cos_phi = std::cos(phi);
  return {std::cos(theta) * cos_phi, std::sin(theta) * cos_phi, std::sin(phi)};
}

LatLng LatLng::FromPoint(const Point3& p) {
  // Adding 0.0 turns -0.0 into +0.0, so that atan2 gives 0 rather than -pi for the poles and
  // other points with zero components (as S2LatLng does).
  const double lat = std::atan2(p.z + 0.0, std::sqrt(p.x * p.x + p.y * p.y));
  const double lng = std::atan2(p.y + 0.0, p.x + 0.0);
  // As S1Angle::degrees() converts: multiply by 180/pi rather than divide by pi/180.
  constexpr double kDegreesPerRadian = 180 / std::numbers::pi;
  return LatLng(kDegreesPerRadian * lat, kDegreesPerRadian * lng);
}

std::string LatLng::ToString() const {
  return absl::StrFormat("(%.17g, %.17g)", lat_degrees_, lng_degrees_);
}

absl::Status CheckRadius(double radius_m) {
  if (radius_m >= 0 && std::isfinite(radius_m)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      base::Cat("radius ", radius_m, " m is not a finite distance >= 0"));
}

double DistanceMeters(const Point3& a, const Point3& b) {
  return ChordDistance2ToMeters(ChordDistance2(a, b), a, b);
}

double ChordDistance2ToMeters(double chord2, const Point3& a, const Point3& b) {
  // Up to a quarter of the way round (chord^2 <= 2), asin(chord / 2) is well conditioned and the
  // cheapest exact form. Beyond, asin loses digits toward the antipode, so the angle comes from
  // atan2 of the chord and the length of a + b, which is exact everywhere.
  if (chord2 <= 2) {
    const double x = 0.5 * std::sqrt(chord2);  // sin of half the angle
    // Below 0.01 (distances under about 127 km, most of what a proximity search measures) the
    // Taylor series of asin to x^9 is exact to rounding (the first term left out is below
    // 1e-22 x) and several times cheaper than the library's asin.
    if (x < 0.01) {
      const double x2 = x * x;
      const double series =
          x + x * x2 * (1.0 / 6 + x2 * (3.0 / 40 + x2 * (15.0 / 336 + x2 * (105.0 / 3456))));
      return 2 * kEarthRadiusMeters * series;
    }
    return 2 * kEarthRadiusMeters * std::asin(x);
  }
  const double sx = a.x + b.x;
  const double sy = a.y + b.y;
  const double sz = a.z + b.z;
  return 2 * kEarthRadiusMeters *
         std::atan2(std::sqrt(chord2), std::sqrt(sx * sx + sy * sy + sz * sz));
}

double DistanceMeters(LatLng a, LatLng b) { return DistanceMeters(a.ToPoint(), b.ToPoint()); }

double MetersToChordDistance2(double meters) {
  if (meters >= kMaxDistanceMeters) return 4;
  const double chord = 2 * std::sin(meters / (2 * kEarthRadiusMeters));
  return chord * chord;
}

}  // namespace keel::geo
