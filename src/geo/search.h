// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// What every spatial index shares: argument checks, the exact "within r" test, and the final
// ordering of results. Keeping these in one place is what makes the five indexes return the same
// answers as brute force to the last bit. Not installed.
#ifndef KEEL_SRC_GEO_SEARCH_H_
#define KEEL_SRC_GEO_SEARCH_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "absl/status/status.h"
#include "keel/base/assert.h"
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
      : center_(center.ToPoint()), radius_m_(radius_m), chord2_limit_(ChordLimit(radius_m)) {}

  [[nodiscard]] const Point3& center() const { return center_; }
  [[nodiscard]] double radius_m() const { return radius_m_; }
  // No point with a larger squared chord to the centre can pass.
  [[nodiscard]] double chord2_limit() const { return chord2_limit_; }

  // Appends `s` to `out` when it is within the radius.
  void Offer(const StoredPoint& s, std::vector<Neighbor>* out) const {
    const double chord2 = ChordDistance2(center_, s.p);
    if (chord2 > chord2_limit_) return;
    const double d = internal::ChordDistance2ToMeters(chord2, center_, s.p);
    if (d <= radius_m_) out->push_back({s.id, d});
  }

  // Offers points[0 .. n) in turn (any type with the members `p` and `id` of a StoredPoint): the
  // same tests, the same distances and the same results as calling Offer on each.
  //
  // Arranged for a run of candidates stored together (a cell of an index), in three passes over
  // a batch. Whether a point passes the squared-chord test is a coin toss for the candidates of
  // a small circle (about a third pass), and mispredicting that branch cost more than the
  // arithmetic: so the first pass only notes, without branching, which points pass. The second
  // measures those, each independently of the others, so that the processor overlaps their
  // square roots and polynomials instead of waiting for one before appending it and starting
  // the next; the third appends the ones within the radius.
  template <typename Point>
  void OfferAll(const Point* points, size_t n, std::vector<Neighbor>* out) const {
    const Point3 c = center_;  // a local copy: stores through `out` cannot change it
    const double limit = chord2_limit_;
    constexpr size_t kBatch = 64;
    uint8_t passed[kBatch];
    double distance_m[kBatch];
    for (size_t begin = 0; begin < n; begin += kBatch) {
      const Point* batch = points + begin;
      const size_t size = std::min(kBatch, n - begin);
      size_t count = 0;
      for (size_t i = 0; i < size; ++i) {
        passed[count] = static_cast<uint8_t>(i);
        count += ChordDistance2(c, batch[i].p) <= limit ? 1 : 0;
      }
      for (size_t j = 0; j < count; ++j) {
        const Point3& p = batch[passed[j]].p;
        distance_m[j] = internal::ChordDistance2ToMeters(ChordDistance2(c, p), c, p);
      }
      for (size_t j = 0; j < count; ++j) {
        if (distance_m[j] <= radius_m_) out->push_back({batch[passed[j]].id, distance_m[j]});
      }
    }
  }

 private:
  // The squared chord no point within `radius_m` can exceed, with a margin far above rounding.
  // From half the circumference on there is no limit: the squared chord between two unit vectors
  // of antipodes can round to just over 4.
  static double ChordLimit(double radius_m) {
    const double padded = radius_m * (1 + 1e-7) + 1e-3;
    if (padded >= kMaxDistanceMeters) return std::numeric_limits<double>::infinity();
    return MetersToChordDistance2(padded);
  }

  Point3 center_;
  double radius_m_;
  double chord2_limit_;
};

// Nearest first, ties by id: the one order every index returns.
//
// Results of a radius search arrive in no order, and a comparison sort of them mispredicts about
// every other branch: std::sort of 40 results costs about as much as the rest of a grid query.
// So they are first spread over buckets by their squared distance, twice as many buckets as
// results (a counting sort, without data-dependent branches). Squared, because the points of a
// disc are spread evenly over its area, not its radius: equal ranges of d^2 hold about as many
// points, so a bucket seldom holds more than one result. Buckets are ordered by distance, so
// one pass of insertion sort over the whole array then finishes the job, moving each result
// only within its bucket; a bucket crowded with many equal distances is sorted first with
// std::sort, so that the worst case stays O(n log n). About 3.5x faster than std::sort for 40
// results.
inline bool NeighborLess(const Neighbor& a, const Neighbor& b) {
  return a.distance_m != b.distance_m ? a.distance_m < b.distance_m : a.id < b.id;
}

inline void InsertionSort(Neighbor* first, Neighbor* last) {
  for (Neighbor* i = first + (first != last); i < last; ++i) {
    const Neighbor item = *i;
    Neighbor* j = i;
    for (; j > first && NeighborLess(item, *(j - 1)); --j) *j = *(j - 1);
    *j = item;
  }
}

inline void SortNeighbors(std::vector<Neighbor>* out) {
  constexpr size_t kCrowded = 16;
  const size_t n = out->size();
  if (n <= kCrowded) {
    InsertionSort(out->data(), out->data() + n);
    return;
  }
  const Neighbor* const data = out->data();
  // Four running maxima, not one: each step of a single one waits for the last.
  double largest[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (size_t k = 0; k < 4; ++k) largest[k] = std::max(largest[k], data[i + k].distance_m);
  }
  for (; i < n; ++i) largest[0] = std::max(largest[0], data[i].distance_m);
  const double max_distance =
      std::max(std::max(largest[0], largest[1]), std::max(largest[2], largest[3]));
  KEEL_ASSERT(n < UINT32_MAX / 2, "more results than the bucket counters hold");
  const size_t buckets = 2 * n;
  // d^2 * scale is in [0, buckets]; the last bucket also takes d == max_distance. Infinite when
  // every distance is 0 (all of them tie).
  const double scale = static_cast<double>(buckets) / (max_distance * max_distance);
  if (!std::isfinite(scale)) {
    std::sort(out->begin(), out->end(), NeighborLess);
    return;
  }
  const auto last_bucket = static_cast<int64_t>(buckets - 1);
  thread_local std::vector<uint32_t> bucket_of;
  thread_local std::vector<uint32_t> starts;
  thread_local std::vector<Neighbor> sorted;
  bucket_of.resize(n);
  starts.assign(buckets, 0);
  sorted.resize(n);
  uint32_t* const bucket = bucket_of.data();
  uint32_t* const start = starts.data();
  for (size_t j = 0; j < n; ++j) {
    const double d = data[j].distance_m;
    bucket[j] = static_cast<uint32_t>(std::min(last_bucket, static_cast<int64_t>(d * d * scale)));
    ++start[bucket[j]];
  }
  // Counts become starts, the running sum kept in a register.
  uint32_t sum = 0;
  bool crowded = false;
  for (size_t b = 0; b < buckets; ++b) {
    const uint32_t count = start[b];
    crowded |= count > kCrowded;
    start[b] = sum;
    sum += count;
  }
  for (size_t j = 0; j < n; ++j) sorted[start[bucket[j]]++] = data[j];
  out->swap(sorted);
  // start[b] now marks the end of bucket b.
  Neighbor* const result = out->data();
  if (crowded) {
    size_t begin = 0;
    for (size_t b = 0; b < buckets; ++b) {
      if (start[b] - begin > kCrowded) std::sort(result + begin, result + start[b], NeighborLess);
      begin = start[b];
    }
  }
  InsertionSort(result, result + n);
}

// Keeps the k first of sorted results.
inline void KeepNearest(size_t k, std::vector<Neighbor>* out) {
  if (out->size() > k) out->resize(k);
}

}  // namespace keel::geo::internal

#endif  // KEEL_SRC_GEO_SEARCH_H_
