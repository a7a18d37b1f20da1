// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/geo/cell_index.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "keel/base/assert.h"
#include "keel/base/strings.h"
#include "keel/geo/cell_id.h"

namespace keel::geo {

absl::StatusOr<std::unique_ptr<CellIndex>> CellIndex::Create(const Options& options) {
  if (options.max_cells < 1) {
    return absl::InvalidArgumentError(
        base::Cat("CellIndex max_cells ", options.max_cells, " must be at least 1"));
  }
  if (options.level_offset < 0 || options.level_offset > 8) {
    return absl::InvalidArgumentError(
        base::Cat("CellIndex level_offset ", options.level_offset, " is outside [0, 8]"));
  }
  return std::unique_ptr<CellIndex>(new CellIndex(options));
}

uint64_t CellIndex::KeyOf(LatLng location) const { return CellId::FromLatLng(location).id(); }

void CellIndex::CoveringRanges(LatLng center, double radius_m,
                               std::vector<internal::KeyRange>* ranges) const {
  // A millimetre more than asked, so that rounding at the cap's edge cannot leave out a leaf
  // cell holding a point the exact test accepts.
  const double padded_m = radius_m * (1 + 1e-7) + 1e-3;
  const double chord2 = MetersToChordDistance2(padded_m);
  CoveringOptions covering{.max_cells = options_.max_cells};
  if (options_.covering == Covering::kFixedLevel) {
    // S2's kMinWidth.GetLevelForMinValue: the finest level whose cells are all at least as wide
    // as the radius (the minimum cell width at level L is 2 sqrt(2) / 3 * 2^-L radians).
    const double angle = padded_m / kEarthRadiusMeters;
    const int level =
        std::clamp(std::ilogb(2 * std::numbers::sqrt2 / 3 / angle), 0, CellId::kMaxLevel);
    covering.min_level = covering.max_level =
        std::min(CellId::kMaxLevel, level + options_.level_offset);
    covering.max_cells = 1 << 20;
  }
  absl::StatusOr<std::vector<CellId>> cells = CoverCapChord(center.ToPoint(), chord2, covering);
  KEEL_ASSERT(cells.ok(), cells.status().ToString());
  for (const CellId cell : *cells)
    ranges->push_back({cell.range_min().id(), cell.range_max().id()});
}

}  // namespace keel::geo
