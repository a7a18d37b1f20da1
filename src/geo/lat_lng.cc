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

double ChordDistance2ToMeters(double chord2, const Point3& a, const Point3& b) {
  return internal::ChordDistance2ToMeters(chord2, a, b);
}

double DistanceMeters(const Point3& a, const Point3& b) {
  return internal::ChordDistance2ToMeters(ChordDistance2(a, b), a, b);
}

double DistanceMeters(LatLng a, LatLng b) { return DistanceMeters(a.ToPoint(), b.ToPoint()); }

double MetersToChordDistance2(double meters) {
  if (meters >= kMaxDistanceMeters) return 4;
  const double chord = 2 * std::sin(meters / (2 * kEarthRadiusMeters));
  return chord * chord;
}

}  // namespace keel::geo
