// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/geo/geohash_index.h"

#include <numbers>

#include "keel/base/assert.h"
#include "keel/geo/geohash.h"

namespace keel::geo {
namespace {

// Cells of this many bits are at least `radius_m` tall and wide at the equator: the finest such,
// so that the covering has a few cells (more toward the poles, where cells narrow).
int BitsForRadius(double radius_m) {
  const double radius_deg = radius_m / kEarthRadiusMeters * 180 / std::numbers::pi;
  int bits = geohash::kMaxBits;
  while (bits > 1) {
    const double height = 180.0 / static_cast<double>(uint64_t{1} << (bits / 2));
    const double width = 360.0 / static_cast<double>(uint64_t{1} << ((bits + 1) / 2));
    if (height >= radius_deg && width >= radius_deg) break;
    --bits;
  }
  return bits;
}

// The most cells a query's covering may use before it switches to coarser cells.
constexpr size_t kMaxCoveringCells = 64;

}  // namespace

uint64_t GeohashIndex::KeyOf(LatLng location) const {
  absl::StatusOr<uint64_t> key = geohash::EncodeBits(location, geohash::kMaxBits);
  KEEL_ASSERT(key.ok(), key.status().ToString());
  return *key;
}

void GeohashIndex::CoveringRanges(LatLng center, double radius_m,
                                  std::vector<internal::KeyRange>* ranges) const {
  // Near a pole the circle's box spans many narrow cells: use coarser cells until it fits.
  for (int bits = BitsForRadius(radius_m);; bits -= 2) {
    bits = std::max(bits, 1);
    absl::StatusOr<std::vector<uint64_t>> cells =
        geohash::CoverCircleBits(center, radius_m, bits, kMaxCoveringCells);
    if (cells.ok()) {
      const int shift = geohash::kMaxBits - bits;
      for (const uint64_t cell : *cells) {
        ranges->push_back({cell << shift, ((cell + 1) << shift) - 1});
      }
      return;
    }
    KEEL_ASSERT(cells.status().code() == absl::StatusCode::kResourceExhausted && bits > 1,
                cells.status().ToString());
  }
}

}  // namespace keel::geo
