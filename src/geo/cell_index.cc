// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/geo/cell_index.h"

#include "keel/base/assert.h"
#include "keel/base/strings.h"
#include "keel/geo/cell_id.h"

namespace keel::geo {

absl::StatusOr<std::unique_ptr<CellIndex>> CellIndex::Create(const Options& options) {
  if (options.max_cells < 1) {
    return absl::InvalidArgumentError(
        base::Cat("CellIndex max_cells ", options.max_cells, " must be at least 1"));
  }
  return std::unique_ptr<CellIndex>(new CellIndex(options));
}

uint64_t CellIndex::KeyOf(LatLng location) const { return CellId::FromLatLng(location).id(); }

void CellIndex::CoveringRanges(LatLng center, double radius_m,
                               std::vector<internal::KeyRange>* ranges) const {
  // A millimetre more than asked, so that rounding at the cap's edge cannot leave out a leaf
  // cell holding a point the exact test accepts.
  const double chord2 = MetersToChordDistance2(radius_m * (1 + 1e-7) + 1e-3);
  absl::StatusOr<std::vector<CellId>> cells =
      CoverCapChord(center.ToPoint(), chord2, {.max_cells = options_.max_cells});
  KEEL_ASSERT(cells.ok(), cells.status().ToString());
  for (const CellId cell : *cells)
    ranges->push_back({cell.range_min().id(), cell.range_max().id()});
}

}  // namespace keel::geo
