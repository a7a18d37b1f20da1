// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/geo/lat_lng_rect.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "absl/strings/str_format.h"
#include "keel/base/strings.h"

namespace keel::geo {
namespace {

constexpr double kDegreesPerRadian = 180 / std::numbers::pi;
constexpr double kRadiansPerDegree = std::numbers::pi / 180;

// Widening applied to computed boxes so that rounding never leaves a boundary point outside.
constexpr double kBoxPadDegrees = 1e-9;

// The signed difference b - a between two longitudes, in (-180, 180].
double LngDelta(double a, double b) {
  double d = std::remainder(b - a, 360.0);
  if (d == -180) d = 180;
  return d;
}

// The distance from `p` to the nearest point of the meridian segment at longitude `lng` between
// latitudes lat_lo and lat_hi.
//
// Along a meridian (half a great circle) the distance to p has at most one interior minimum,
// where the meridian comes closest to p; otherwise the minimum is at an end. So the answer is the
// least of the two ends and that closest approach, clamped into the segment.
double DistanceToMeridianSegment(LatLng p, double lng, double lat_lo, double lat_hi) {
  const double dlng = LngDelta(p.lng_degrees(), lng) * kRadiansPerDegree;
  const double phi = p.lat_radians();
  // The latitude on this meridian's great circle nearest to p.
  const double closest = std::atan2(std::sin(phi), std::cos(phi) * std::cos(dlng));
  double best = std::min(DistanceMeters(p, LatLng::FromDegrees(lat_lo, lng)),
                         DistanceMeters(p, LatLng::FromDegrees(lat_hi, lng)));
  const double closest_deg = closest * kDegreesPerRadian;
  if (closest_deg > lat_lo && closest_deg < lat_hi) {
    best = std::min(best, DistanceMeters(p, LatLng::FromDegrees(closest_deg, lng)));
  }
  return best;
}

}  // namespace

absl::StatusOr<LatLngRect> LatLngRect::AroundCircle(LatLng center, double radius_m) {
  if (!center.is_valid()) {
    return absl::InvalidArgumentError(
        base::Cat("the circle's center ", center.ToString(), " is not a valid point"));
  }
  if (absl::Status status = CheckRadius(radius_m); !status.ok()) return status;
  if (radius_m >= kMaxDistanceMeters) return Full();

  const double angle = radius_m / kEarthRadiusMeters;  // radians
  const double angle_deg = angle * kDegreesPerRadian;
  const double lat = center.lat_degrees();
  const double lat_lo = lat - angle_deg - kBoxPadDegrees;
  const double lat_hi = lat + angle_deg + kBoxPadDegrees;
  if (lat_lo <= -90 || lat_hi >= 90) {
    // The circle reaches a pole, and so every longitude.
    return LatLngRect(std::max(lat_lo, -90.0), std::min(lat_hi, 90.0), -180, 180);
  }
  // No pole inside means sin(angle) < cos(lat), so the asin argument is below 1.
  const double half_width =
      std::asin(std::sin(angle) / std::cos(center.lat_radians())) * kDegreesPerRadian +
      kBoxPadDegrees;
  double lng_lo = center.lng_degrees() - half_width;
  double lng_hi = center.lng_degrees() + half_width;
  if (lng_lo < -180) lng_lo += 360;
  if (lng_hi > 180) lng_hi -= 360;
  return LatLngRect(lat_lo, lat_hi, lng_lo, lng_hi);
}

double LatLngRect::MinDistanceMeters(LatLng p) const {
  if (ContainsLng(p.lng_degrees())) {
    // The meridian through p crosses the rectangle; the nearest point is straight north or south.
    if (p.lat_degrees() < lat_lo_)
      return (lat_lo_ - p.lat_degrees()) * kRadiansPerDegree * kEarthRadiusMeters;
    if (p.lat_degrees() > lat_hi_)
      return (p.lat_degrees() - lat_hi_) * kRadiansPerDegree * kEarthRadiusMeters;
    return 0;
  }
  // Otherwise the nearest point is on one of the two meridian edges: on a parallel edge the
  // distance only grows away from the corner nearest p in longitude, and that corner is on a
  // meridian edge.
  return std::min(DistanceToMeridianSegment(p, lng_lo_, lat_lo_, lat_hi_),
                  DistanceToMeridianSegment(p, lng_hi_, lat_lo_, lat_hi_));
}

std::string LatLngRect::ToString() const {
  return absl::StrFormat("[%.17g, %.17g] x [%.17g, %.17g]", lat_lo_, lat_hi_, lng_lo_, lng_hi_);
}

}  // namespace keel::geo
