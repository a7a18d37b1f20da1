// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// CellIndex: the proximity-service design's option 5, Google S2. Every point is keyed by its
// S2-compatible leaf cell id (keel/geo/cell_id.h) in a B-tree; because cell ids follow a Hilbert
// curve, every cell at every level is one contiguous range of leaf ids. A query covers its circle
// with a few cells of mixed sizes (CoverCap, S2RegionCoverer's algorithm) and scans their ranges.
// Unlike geohash cells, S2 cells are nearly equal in area everywhere, poles included, and the
// covering adapts its cell sizes to the circle.
//
// Example:
//
//   auto index = keel::geo::CellIndex::Create({.max_cells = 8});
//   (void)(*index)->Insert(7, keel::geo::LatLng::FromDegrees(40.7484, -73.9857));
#ifndef KEEL_GEO_CELL_INDEX_H_
#define KEEL_GEO_CELL_INDEX_H_

#include <memory>

#include "absl/status/statusor.h"
#include "keel/geo/cell_covering.h"
#include "keel/geo/internal/keyed_index.h"

namespace keel::geo {

class CellIndex final : public internal::KeyedPointIndex {
 public:
  struct Options {
    // The covering's cell budget per query (CoveringOptions::max_cells, 1 or more): more cells
    // hug the circle closer and scan fewer points outside it, at the cost of more range scans.
    int max_cells = 8;
  };

  // Errors (kInvalidArgument): max_cells < 1.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<CellIndex>> Create(const Options& options);

  CellIndex() : CellIndex(Options{}) {}

  [[nodiscard]] std::string_view kind() const override { return "s2"; }
  [[nodiscard]] const Options& options() const { return options_; }

 private:
  explicit CellIndex(const Options& options) : options_(options) {}

  [[nodiscard]] uint64_t KeyOf(LatLng location) const override;
  void CoveringRanges(LatLng center, double radius_m,
                      std::vector<internal::KeyRange>* ranges) const override;

  Options options_;
};

}  // namespace keel::geo

#endif  // KEEL_GEO_CELL_INDEX_H_
