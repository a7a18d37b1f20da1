// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// CellIndex: the proximity-service design's option 5, Google S2. Every point is keyed by its
// S2-compatible leaf cell id (keel/geo/cell_id.h) in a B-tree; because cell ids follow a Hilbert
// curve, every cell at every level is one contiguous range of leaf ids. A query covers its circle
// with a few cells (by default every cell of one level that it touches, or optionally the mixed
// sizes of CoverCap, S2RegionCoverer's algorithm) and scans their ranges.
// Unlike geohash cells, S2 cells are nearly equal in area everywhere, poles included, and the
// covering adapts its cell sizes to the circle.
//
// Example:
//
//   auto index = keel::geo::CellIndex::Create({.covering =
//   keel::geo::CellIndex::Covering::kAdaptive,
//                                              .max_cells = 8});
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
  // How a query's circle becomes cells.
  enum class Covering {
    // Every cell the circle touches at one level: the finest level whose cells are all at least
    // as wide as the radius (usually 3 or 4 cells), made `level_offset` levels finer. The idea of
    // S2Cap::GetCellUnionBound, with the cells the circle misses left out. Cheap to compute.
    kFixedLevel,
    // CoverCap with `max_cells` (S2RegionCoverer's algorithm): cells of mixed sizes that hug the
    // circle more closely, at several microseconds per query to compute.
    kAdaptive,
  };

  struct Options {
    Covering covering = Covering::kFixedLevel;
    // kFixedLevel: 0 to 8 levels finer than the radius's level; more cells, fewer candidates.
    int level_offset = 0;
    // kAdaptive: the covering's cell budget per query, 1 or more.
    int max_cells = 8;
  };

  // Errors (kInvalidArgument): max_cells < 1, level_offset outside [0, 8].
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
