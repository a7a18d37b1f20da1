// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Points on the Earth, and the distance between them.
//
// A location-based service stores latitude/longitude pairs and asks "what is within r metres of
// here?". keel answers on a sphere: the Earth's flattening (0.3%) matters to surveyors, not to a
// search for restaurants, and a sphere is what geohash, Google S2 and Redis assume too.
//
// LatLng holds degrees. Like S2LatLng, LatLng::FromDegrees builds one without checking (cheap, for
// trusted data; is_valid() tells), and LatLng::Create checks: NaN, infinities and |lat| > 90 are
// errors, and longitude is normalised into [-180, 180) (190 becomes -170), never clamped.
//
// Distance is the great-circle distance on a sphere of radius kEarthRadiusMeters, by the
// haversine formula (R. W. Sinnott, "Virtues of the Haversine", Sky and Telescope, 1984):
//
//   d = 2 R asin(sqrt(h)),   h = hav(dlat) + cos(lat1) cos(lat2) hav(dlng),   hav(x) = sin^2(x/2)
//
// computed from the points' unit vectors a and b, where h = |a - b|^2 / 4 (a quarter of the
// squared chord): d = 2 R asin(|a - b| / 2) up to a quarter of the way round, and beyond that
// d = 2 R atan2(|a - b|, |a + b|), the same angle written so that it keeps full precision near
// the antipode, where the asin form loses half its digits.
// Spatial indexes test candidates by the squared chord first (a few multiplications) and confirm
// with DistanceMeters, so every index in keel::geo returns exactly what a brute-force scan does.
//
// The radius. kEarthRadiusMeters is the IUGG mean Earth radius R1 = 6,371,008.8 m (Moritz,
// "Geodetic Reference System 1980", Bulletin Geodesique 1980), the usual choice for a spherical
// Earth. Others in use: Google S2's S2Earth uses 6,371,010 m (1.2 m larger, a relative difference
// of 1.9e-7, so 0.2 mm over 1 km); Redis's GEO commands use 6,372,797.560856 m (0.028% larger:
// Redis reports 1 km as 1.00028 km of keel's, so a point 999.8 m away by keel's measure can fall
// outside a Redis 1 km radius).
//
// Example:
//
//   absl::StatusOr<keel::geo::LatLng> paris = keel::geo::LatLng::Create(48.8566, 2.3522);
//   const auto london = keel::geo::LatLng::FromDegrees(51.5074, -0.1278);
//   double metres = keel::geo::DistanceMeters(*paris, london);  // about 343,500
#ifndef KEEL_GEO_LAT_LNG_H_
#define KEEL_GEO_LAT_LNG_H_

#include <cmath>
#include <numbers>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace keel::geo {

// The mean radius of the Earth (IUGG R1), in metres. See the file comment for other choices.
inline constexpr double kEarthRadiusMeters = 6'371'008.8;

// Half the Earth's circumference: no two points are farther apart than this.
inline constexpr double kMaxDistanceMeters = std::numbers::pi * kEarthRadiusMeters;

// A point on the unit sphere, (x, y, z) with x toward (0, 0), y toward (0, 90) and z toward the
// north pole: the coordinates Google S2 uses.
struct Point3 {
  double x = 0;
  double y = 0;
  double z = 0;

  friend bool operator==(const Point3&, const Point3&) = default;
};

// A latitude and longitude in degrees.
class LatLng {
 public:
  // (0, 0).
  constexpr LatLng() = default;

  // Builds a LatLng without checking the values: use is_valid() or Create() for untrusted input.
  [[nodiscard]] static constexpr LatLng FromDegrees(double lat_degrees, double lng_degrees) {
    return LatLng(lat_degrees, lng_degrees);
  }

  // Builds a LatLng from untrusted values. Errors (kInvalidArgument): a NaN or infinite
  // coordinate, or |lat| > 90. The longitude is normalised into [-180, 180).
  [[nodiscard]] static absl::StatusOr<LatLng> Create(double lat_degrees, double lng_degrees);

  [[nodiscard]] constexpr double lat_degrees() const { return lat_degrees_; }
  [[nodiscard]] constexpr double lng_degrees() const { return lng_degrees_; }

  // The angles in radians, computed as Google S2 computes them, so that S2-compatible cell ids
  // derived from them are bit-identical.
  [[nodiscard]] constexpr double lat_radians() const { return kRadiansPerDegree * lat_degrees_; }
  [[nodiscard]] constexpr double lng_radians() const { return kRadiansPerDegree * lng_degrees_; }

  // True when both coordinates are finite, |lat| <= 90 and |lng| <= 180.
  [[nodiscard]] bool is_valid() const {
    return std::abs(lat_degrees_) <= 90 && std::abs(lng_degrees_) <= 180;  // false for NaN
  }

  // The point's unit vector, computed as S2LatLng::ToPoint computes it.
  [[nodiscard]] Point3 ToPoint() const;

  // The point of a unit vector (which need not be normalised). The inverse of ToPoint() up to
  // rounding.
  [[nodiscard]] static LatLng FromPoint(const Point3& p);

  // "(48.8566, 2.3522)", with enough digits to read back the same doubles.
  [[nodiscard]] std::string ToString() const;

  friend constexpr bool operator==(LatLng, LatLng) = default;

 private:
  static constexpr double kRadiansPerDegree = std::numbers::pi / 180;

  constexpr LatLng(double lat_degrees, double lng_degrees)
      : lat_degrees_(lat_degrees), lng_degrees_(lng_degrees) {}

  double lat_degrees_ = 0;
  double lng_degrees_ = 0;
};

// OK for a radius that is a finite number of metres >= 0 (0 is a point, anything of
// kMaxDistanceMeters or more the whole sphere); kInvalidArgument naming the value otherwise.
[[nodiscard]] absl::Status CheckRadius(double radius_m);

// The great-circle distance between two valid points, in metres on a sphere of radius
// kEarthRadiusMeters: the haversine angle, through unit vectors (see the file comment).
[[nodiscard]] double DistanceMeters(LatLng a, LatLng b);

// The same for points already converted with ToPoint(): what the indexes use per candidate.
[[nodiscard]] double DistanceMeters(const Point3& a, const Point3& b);

// The squared chord |a - b|^2 between two unit vectors: 0 for equal points, 4 for antipodes. It
// grows with the great-circle distance, so it orders points the same way, at the cost of a few
// multiplications.
[[nodiscard]] inline double ChordDistance2(const Point3& a, const Point3& b) {
  const double dx = a.x - b.x;
  const double dy = a.y - b.y;
  const double dz = a.z - b.z;
  return dx * dx + dy * dy + dz * dz;
}

// DistanceMeters(a, b) given chord2 == ChordDistance2(a, b) already computed: what an index calls
// after testing the squared chord, so that the distance is the same to the last bit.
[[nodiscard]] double ChordDistance2ToMeters(double chord2, const Point3& a, const Point3& b);

// The squared chord between two points `meters` apart along the surface; 4 for distances of
// kMaxDistanceMeters or more. REQUIRES: meters >= 0.
[[nodiscard]] double MetersToChordDistance2(double meters);

// ---------------------------------------------------------------------------------------------
// Implementation details.
//
// The indexes measure every candidate point, so they call the inline form below, compiled inside
// keel with keel's flags; the public functions above run the same code, so a caller gets the same
// bits whatever flags it compiles with.
// ---------------------------------------------------------------------------------------------

namespace internal {

inline double ChordDistance2ToMeters(double chord2, const Point3& a, const Point3& b) {
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

}  // namespace internal

}  // namespace keel::geo

#endif  // KEEL_GEO_LAT_LNG_H_
