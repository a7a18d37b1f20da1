// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The machinery shared by the indexes that key points by a cell number: geohash (60-bit geohash)
// and S2 (leaf cell id). Points live in a B-tree ordered by
// (key, id), so the points of any cell whose descendants share a key range are one range scan;
// a query asks the index for key ranges that cover the circle and tests the points in them.
// k-nearest searches grow a radius search until it holds k points. Not for users: include the
// index headers instead.
#ifndef KEEL_GEO_INTERNAL_KEYED_INDEX_H_
#define KEEL_GEO_INTERNAL_KEYED_INDEX_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "keel/base/counting_allocator.h"
#include "keel/base/hash.h"
#include "keel/geo/spatial_index.h"

namespace keel::geo::internal {

// The keys lo..hi, both included.
struct KeyRange {
  uint64_t lo;
  uint64_t hi;
};

class KeyedPointIndex : public SpatialIndex {
 public:
  KeyedPointIndex(const KeyedPointIndex&) = delete;
  KeyedPointIndex& operator=(const KeyedPointIndex&) = delete;

  [[nodiscard]] absl::Status Build(std::span<const IndexedPoint> points) final;
  [[nodiscard]] absl::Status Insert(PointId id, LatLng location) final;
  [[nodiscard]] absl::Status Erase(PointId id) final;
  [[nodiscard]] absl::StatusOr<LatLng> Find(PointId id) const final;
  [[nodiscard]] size_t size() const final { return locations_.size(); }
  [[nodiscard]] size_t MemoryBytes() const final;
  [[nodiscard]] absl::Status SearchRadius(LatLng center, double radius_m,
                                          std::vector<Neighbor>* out,
                                          QueryStats* stats = nullptr) const final;
  [[nodiscard]] absl::Status Nearest(LatLng center, size_t k, std::vector<Neighbor>* out,
                                     QueryStats* stats = nullptr) const final;

 protected:
  KeyedPointIndex();

  // The key of a valid location.
  [[nodiscard]] virtual uint64_t KeyOf(LatLng location) const = 0;

  // Appends key ranges holding every point within `radius_m` of `center` (arguments checked).
  // Points outside the circle may be in them too: they are filtered exactly afterwards.
  virtual void CoveringRanges(LatLng center, double radius_m,
                              std::vector<KeyRange>* ranges) const = 0;

  // A radius at which a k-nearest search may start, growing by doubling, before it settles for
  // `known_radius` (measured to hold k points); 0 to start at known_radius. Worth it where key
  // order wanders, so that known_radius can be much larger than needed.
  [[nodiscard]] virtual double ProbeRadius(double /*known_radius*/) const { return 0; }

 private:
  using Key = std::pair<uint64_t, PointId>;
  using Tree = absl::btree_map<Key, Point3, std::less<Key>,
                               base::CountingAllocator<std::pair<const Key, Point3>>>;
  using Locations = absl::flat_hash_map<PointId, LatLng, base::Hasher, std::equal_to<PointId>,
                                        base::CountingAllocator<std::pair<const PointId, LatLng>>>;

  base::MemoryCounter memory_;
  Tree points_;
  Locations locations_;
};

}  // namespace keel::geo::internal

#endif  // KEEL_GEO_INTERNAL_KEYED_INDEX_H_
