// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Latitude-longitude rectangles, and the rectangle around a circle.
//
// The first thing any proximity search does is turn "within r metres of P" into a range of
// latitudes and longitudes to look in. Getting that box right is where naive code goes wrong:
//
//  - a circle near the antimeridian spills from longitude 179.99 to -179.99, so the box must wrap
//    (keel represents it with lng_lo > lng_hi, as S2's S2LatLngRect does);
//  - a circle that reaches a pole covers every longitude there;
//  - away from the equator a degree of longitude is shorter (by cos(lat)), so the box is wider in
//    degrees than it is tall; keel uses the exact half-width asin(sin(r/R) / cos(lat)) (J. P.
//    Matuschek, "Finding Points Within a Distance of a Latitude/Longitude Using Bounding
//    Coordinates", 2010), not the r / cos(lat) approximation that is too narrow for large r;
//  - a radius of half the Earth's circumference or more covers everything.
//
// MinDistanceMeters gives the distance from a point to the nearest point of a rectangle, the test
// that lets a grid, a geohash covering or a quadtree skip cells that cannot hold an answer.
//
// Example:
//
//   auto box = keel::geo::LatLngRect::AroundCircle(keel::geo::LatLng::FromDegrees(0, 179.999),
//                                                  /*radius_m=*/1000);
//   box->crosses_antimeridian();  // true: lng_lo() is about 179.990, lng_hi() about -179.992
#ifndef KEEL_GEO_LAT_LNG_RECT_H_
#define KEEL_GEO_LAT_LNG_RECT_H_

#include <string>

#include "absl/status/statusor.h"
#include "keel/geo/lat_lng.h"

namespace keel::geo {

// Latitudes [lat_lo, lat_hi] and longitudes [lng_lo, lng_hi], in degrees, boundaries included.
// When lng_lo > lng_hi the longitudes wrap across the antimeridian: [lng_lo, 180] and
// [-180, lng_hi].
class LatLngRect {
 public:
  // The whole sphere.
  [[nodiscard]] static constexpr LatLngRect Full() { return LatLngRect(-90, 90, -180, 180); }

  // REQUIRES: -90 <= lat_lo <= lat_hi <= 90, and both longitudes in [-180, 180].
  constexpr LatLngRect(double lat_lo, double lat_hi, double lng_lo, double lng_hi)
      : lat_lo_(lat_lo), lat_hi_(lat_hi), lng_lo_(lng_lo), lng_hi_(lng_hi) {}

  // A rectangle containing every point within `radius_m` metres of `center`. It is the exact
  // bounding box, widened by about 1e-9 degrees (0.1 mm) so that rounding never leaves out a
  // point on the circle. Errors (kInvalidArgument): an invalid center; a negative, NaN or
  // infinite radius. Radius 0 gives the (widened) point.
  [[nodiscard]] static absl::StatusOr<LatLngRect> AroundCircle(LatLng center, double radius_m);

  [[nodiscard]] constexpr double lat_lo() const { return lat_lo_; }
  [[nodiscard]] constexpr double lat_hi() const { return lat_hi_; }
  [[nodiscard]] constexpr double lng_lo() const { return lng_lo_; }
  [[nodiscard]] constexpr double lng_hi() const { return lng_hi_; }

  [[nodiscard]] constexpr bool crosses_antimeridian() const { return lng_lo_ > lng_hi_; }
  [[nodiscard]] constexpr bool is_full_lng() const { return lng_lo_ == -180 && lng_hi_ == 180; }

  // The width of the longitude range in degrees, in [0, 360].
  [[nodiscard]] constexpr double lng_span() const {
    return crosses_antimeridian() ? 360 - (lng_lo_ - lng_hi_) : lng_hi_ - lng_lo_;
  }

  [[nodiscard]] bool ContainsLng(double lng_degrees) const {
    return crosses_antimeridian() ? lng_degrees >= lng_lo_ || lng_degrees <= lng_hi_
                                  : lng_degrees >= lng_lo_ && lng_degrees <= lng_hi_;
  }

  [[nodiscard]] bool Contains(LatLng p) const {
    return p.lat_degrees() >= lat_lo_ && p.lat_degrees() <= lat_hi_ && ContainsLng(p.lng_degrees());
  }

  // The great-circle distance in metres from `p` to the nearest point of the rectangle; 0 when
  // `p` is inside. Exact up to rounding (a few ulps); callers that must never skip a rectangle
  // holding a point within r compare against r with a little slack (see
  // internal::kCoverSlackMeters).
  [[nodiscard]] double MinDistanceMeters(LatLng p) const;

  // "[lat_lo, lat_hi] x [lng_lo, lng_hi]".
  [[nodiscard]] std::string ToString() const;

  friend constexpr bool operator==(const LatLngRect&, const LatLngRect&) = default;

 private:
  double lat_lo_;
  double lat_hi_;
  double lng_lo_;
  double lng_hi_;
};

namespace internal {

// How much closer than r a cell's distance must be before it may be skipped: relative and
// absolute slack that covers the rounding of MinDistanceMeters and DistanceMeters, so that a
// covering never misses a point that DistanceMeters puts within r. It costs nothing measurable:
// a millimetre per kilometre of radius lets in only cells that graze the circle.
inline constexpr double kCoverSlackRelative = 1e-9;
inline constexpr double kCoverSlackMeters = 1e-3;

// True when a rectangle at `min_distance_m` from the centre may hold a point within `radius_m`.
[[nodiscard]] inline bool MayHoldPointWithin(double min_distance_m, double radius_m) {
  return min_distance_m <= radius_m * (1 + kCoverSlackRelative) + kCoverSlackMeters;
}

}  // namespace internal

}  // namespace keel::geo

#endif  // KEEL_GEO_LAT_LNG_RECT_H_
