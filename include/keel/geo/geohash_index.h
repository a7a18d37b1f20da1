// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// GeohashIndex: the proximity-service design's option 3. Every point is keyed by its 60-bit
// geohash (keel/geo/geohash.h), in a B-tree ordered by that key, much as Redis keeps GEOADD
// members in a sorted set by their 52-bit geohash score. A geohash cell of any precision is then
// one contiguous range of keys. A query picks the precision whose cells are about the size of
// its radius, takes the cells of that precision that the circle touches (the exact covering,
// usually 4 to 9 cells; the book's "cell plus its 8 neighbours" is the same idea without the
// cells it can rule out), and scans their key ranges.
//
// Example:
//
//   keel::geo::GeohashIndex index;
//   (void)index.Insert(7, keel::geo::LatLng::FromDegrees(40.7484, -73.9857));
#ifndef KEEL_GEO_GEOHASH_INDEX_H_
#define KEEL_GEO_GEOHASH_INDEX_H_

#include <cstdint>

#include "keel/geo/internal/keyed_index.h"

namespace keel::geo {

class GeohashIndex final : public internal::KeyedPointIndex {
 public:
  GeohashIndex() = default;

  [[nodiscard]] std::string_view kind() const override { return "geohash"; }

 private:
  [[nodiscard]] uint64_t KeyOf(LatLng location) const override;
  void CoveringRanges(LatLng center, double radius_m,
                      std::vector<internal::KeyRange>* ranges) const override;
  // A quarter of the known radius: Z order jumps at cell boundaries, so the points next in key
  // order are often farther than the k nearest.
  [[nodiscard]] double ProbeRadius(double known_radius) const override { return known_radius / 4; }
};

}  // namespace keel::geo

#endif  // KEEL_GEO_GEOHASH_INDEX_H_
