// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// BruteForceIndex: the proximity-service design's option 1, "two-dimensional search": every
// query tests every point. O(n) per query, nothing to build, nothing to go wrong; the baseline
// the other indexes are measured against, and the shape of the oracle they are tested against.
//
// Points are kept in one dense array of unit vectors, so a scan is a sequential pass of a few
// multiplications per point (the squared-chord prefilter of keel/geo/lat_lng.h); only points that
// pass it are measured with DistanceMeters.
//
// Example:
//
//   keel::geo::BruteForceIndex index;
//   (void)index.Insert(1, keel::geo::LatLng::FromDegrees(51.5, -0.12));
//   std::vector<keel::geo::Neighbor> out;
//   (void)index.Nearest(keel::geo::LatLng::FromDegrees(48.86, 2.35), 1, &out);  // id 1, 343 km
#ifndef KEEL_GEO_BRUTE_FORCE_INDEX_H_
#define KEEL_GEO_BRUTE_FORCE_INDEX_H_

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "keel/base/counting_allocator.h"
#include "keel/base/hash.h"
#include "keel/geo/spatial_index.h"

namespace keel::geo {

class BruteForceIndex final : public SpatialIndex {
 public:
  BruteForceIndex();
  BruteForceIndex(const BruteForceIndex&) = delete;
  BruteForceIndex& operator=(const BruteForceIndex&) = delete;

  [[nodiscard]] std::string_view kind() const override { return "brute_force"; }
  [[nodiscard]] absl::Status Build(std::span<const IndexedPoint> points) override;
  [[nodiscard]] absl::Status Insert(PointId id, LatLng location) override;
  [[nodiscard]] absl::Status Erase(PointId id) override;
  [[nodiscard]] absl::StatusOr<LatLng> Find(PointId id) const override;
  [[nodiscard]] size_t size() const override { return ids_.size(); }
  [[nodiscard]] size_t MemoryBytes() const override;
  [[nodiscard]] absl::Status SearchRadius(LatLng center, double radius_m,
                                          std::vector<Neighbor>* out,
                                          QueryStats* stats = nullptr) const override;
  [[nodiscard]] absl::Status Nearest(LatLng center, size_t k, std::vector<Neighbor>* out,
                                     QueryStats* stats = nullptr) const override;

 private:
  template <typename T>
  using Vector = std::vector<T, base::CountingAllocator<T>>;
  using SlotMap = absl::flat_hash_map<PointId, uint32_t, base::Hasher, std::equal_to<PointId>,
                                      base::CountingAllocator<std::pair<const PointId, uint32_t>>>;

  base::MemoryCounter memory_;
  // Parallel arrays, one slot per point; erasing moves the last point into the hole.
  Vector<Point3> points_;
  Vector<LatLng> locations_;
  Vector<PointId> ids_;
  SlotMap slots_;
};

}  // namespace keel::geo

#endif  // KEEL_GEO_BRUTE_FORCE_INDEX_H_
