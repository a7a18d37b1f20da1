// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What every spatial index shares: argument checks, the exact "within r" test, and the final
// ordering of results. Keeping these in one place is what makes the five indexes return the same
// answers as brute force to the last bit. Not installed.
#ifndef KEEL_SRC_GEO_SEARCH_H_
#define KEEL_SRC_GEO_SEARCH_H_

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <vector>

#include "absl/status/status.h"
#include "keel/base/strings.h"
#include "keel/geo/internal/box3.h"
#include "keel/geo/lat_lng.h"
#include "keel/geo/lat_lng_rect.h"
#include "keel/geo/spatial_index.h"

namespace keel::geo::internal {

// A point as indexes store it: the unit vector the distance test needs, and the id.
struct StoredPoint {
  Point3 p;
  PointId id;
};

inline absl::Status CheckLocation(PointId id, LatLng location) {
  if (location.is_valid()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      base::Cat("point ", id, " has invalid location ", location.ToString()));
}

inline absl::Status CheckCenter(LatLng center) {
  if (center.is_valid()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      base::Cat("search centre ", center.ToString(), " is not a valid point"));
}

inline absl::Status CheckRadiusQuery(LatLng center, double radius_m) {
  if (absl::Status s = CheckCenter(center); !s.ok()) return s;
  return CheckRadius(radius_m);
}

inline absl::Status CheckNearestQuery(LatLng center, size_t k) {
  if (absl::Status s = CheckCenter(center); !s.ok()) return s;
  if (k > 0) return absl::OkStatus();
  return absl::InvalidArgumentError("k must be at least 1 for a nearest-neighbour search");
}

inline absl::Status DuplicateId(PointId id) {
  return absl::AlreadyExistsError(base::Cat("point ", id, " is already in the index"));
}

inline absl::Status UnknownId(PointId id) {
  return absl::NotFoundError(base::Cat("point ", id, " is not in the index"));
}

// The exact radius test. A cheap squared-chord comparison, with a margin far above rounding error,
// rejects most points; the rest are decided by DistanceMeters itself, so that "within r" means
// the same in every index as in a brute-force scan.
class RadiusFilter {
 public:
  RadiusFilter(LatLng center, double radius_m)
      : center_(center.ToPoint()),
        radius_m_(radius_m),
        chord2_limit_(MetersToChordDistance2(radius_m * (1 + 1e-7) + 1e-3)) {}

  [[nodiscard]] const Point3& center() const { return center_; }
  [[nodiscard]] double radius_m() const { return radius_m_; }
  // No point with a larger squared chord to the centre can pass.
  [[nodiscard]] double chord2_limit() const { return chord2_limit_; }

  // Appends `s` to `out` when it is within the radius.
  void Offer(const StoredPoint& s, std::vector<Neighbor>* out) const {
    const double chord2 = ChordDistance2(center_, s.p);
    if (chord2 > chord2_limit_) return;
    const double d = ChordDistance2ToMeters(chord2, center_, s.p);
    if (d <= radius_m_) out->push_back({s.id, d});
  }

 private:
  Point3 center_;
  double radius_m_;
  double chord2_limit_;
};

// Nearest first, ties by id: the one order every index returns.
//
// Distances are non-negative doubles, whose bit patterns order like the numbers, so each result
// becomes one 128-bit integer (distance bits, id) and the sort compares integers: about twice as
// fast as comparing a double and then an id.
inline void SortNeighbors(std::vector<Neighbor>* out) {
  if (out->size() < 2) return;
  __extension__ using Key = unsigned __int128;
  thread_local std::vector<Key> keys;
  keys.resize(out->size());
  for (size_t i = 0; i < out->size(); ++i) {
    keys[i] =
        (static_cast<Key>(std::bit_cast<uint64_t>((*out)[i].distance_m)) << 64) | (*out)[i].id;
  }
  std::sort(keys.begin(), keys.end());
  for (size_t i = 0; i < out->size(); ++i) {
    (*out)[i] = {static_cast<PointId>(keys[i]),
                 std::bit_cast<double>(static_cast<uint64_t>(keys[i] >> 64))};
  }
}

// Keeps the k first of sorted results.
inline void KeepNearest(size_t k, std::vector<Neighbor>* out) {
  if (out->size() > k) out->resize(k);
}

}  // namespace keel::geo::internal

#endif  // KEEL_SRC_GEO_SEARCH_H_
