// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Covering a circle on the Earth with S2-compatible cells.
//
// To find the points within r metres of P in an index of cell ids, the circle (a spherical cap)
// is first approximated by a few cells whose union contains it: then every candidate point lies
// in one of a few contiguous ranges of ids. Few large cells mean few range scans but many
// candidates outside the circle; many small cells the reverse. CoveringOptions holds the same
// knobs as S2RegionCoverer (min_level, max_level, max_cells, level_mod), and CoverCap follows
// S2RegionCoverer's algorithm (s2region_coverer.h): starting from the cells around the centre,
// it keeps splitting the largest candidate that the cap intersects, as long as the number of
// cells stays within max_cells, then normalises the result (siblings merged into their parent,
// levels pushed down to min_level and level_mod, adjacent cells merged while there are too many).
//
// The intersection tests are S2's (S2Cap::MayIntersect and Contains against a cell): a vertex
// inside the cap, the centre inside the cell, or the cap crossing an edge's interior. With
// min_level == max_level both give the same cells, every cell of that level the cap touches; the
// tests check that against libs2. Otherwise the two may differ in which of two equally good
// cells they split first (S2 breaks ties by memory address), never in what they cover.
//
// Example:
//
//   keel::geo::CoveringOptions options{.max_level = 16, .max_cells = 8};
//   absl::StatusOr<std::vector<keel::geo::CellId>> cells =
//       keel::geo::CoverCap(keel::geo::LatLng::FromDegrees(40.7, -74.0), 1000, options);
//   // Up to 8 cells, sorted; every point within 1 km lies in one of them.
#ifndef KEEL_GEO_CELL_COVERING_H_
#define KEEL_GEO_CELL_COVERING_H_

#include <vector>

#include "absl/status/statusor.h"
#include "keel/geo/cell_id.h"
#include "keel/geo/lat_lng.h"

namespace keel::geo {

struct CoveringOptions {
  // Cells coarser than min_level are not used (min_level wins over max_cells), nor finer than
  // max_level; only levels with (level - min_level) % level_mod == 0 are used.
  int min_level = 0;
  int max_level = CellId::kMaxLevel;
  // The number of cells the covering should not exceed; it can be exceeded only when min_level
  // forces more cells (as in S2). Up to 6 cells are used when max_cells < 6 and the cap covers
  // several faces.
  int max_cells = 8;
  int level_mod = 1;  // 1, 2 or 3
};

// The most cells a covering may need (min_level can force many): beyond it, kResourceExhausted.
inline constexpr double kMaxCoveringCells = 1 << 22;

// Cells, sorted and non-overlapping, whose union contains every point within `radius_m` metres of
// `center` (by the squared-chord test of a point against the cap). Errors (kInvalidArgument): an
// invalid centre; a negative, NaN or infinite radius; options out of range. kResourceExhausted
// when min_level would force more than about kMaxCoveringCells cells.
[[nodiscard]] absl::StatusOr<std::vector<CellId>> CoverCap(LatLng center, double radius_m,
                                                           const CoveringOptions& options = {});

// The same for a cap given as a unit vector and a squared chord in [0, 4]: what CoverCap builds
// from metres, for callers (tests, indexes) that already hold them.
[[nodiscard]] absl::StatusOr<std::vector<CellId>> CoverCapChord(
    const Point3& center, double chord2, const CoveringOptions& options = {});

// True when the cap may hold a point of `cell`: S2's conservative test, exact up to rounding.
[[nodiscard]] bool CapMayIntersectCell(const Point3& center, double chord2, CellId cell);

}  // namespace keel::geo

#endif  // KEEL_GEO_CELL_COVERING_H_
