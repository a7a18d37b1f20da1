// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// GridIndex: the proximity-service design's option 2, "evenly divided grid". The latitude and
// longitude ranges are cut into cells of a fixed size in degrees; a query looks at the cells its
// circle's bounding box overlaps. Simple and fast when points are spread evenly; the design's
// objection is that real points are not (a city cell holds thousands, an ocean cell none), and a
// fixed size cannot suit both. Near the poles a degree of longitude shrinks to nothing, so a
// small circle there overlaps whole rows of cells.
//
// Cells are numbered row by row (row = latitude band, from the south), so the cells of one row
// of a bounding box are one range of keys: a query is one or two range scans per row.
//
// Example:
//
//   auto grid = keel::geo::GridIndex::Create({.cell_size_degrees = 0.01});  // about 1.1 km
//   (void)(*grid)->Insert(7, keel::geo::LatLng::FromDegrees(40.7484, -73.9857));
#ifndef KEEL_GEO_GRID_INDEX_H_
#define KEEL_GEO_GRID_INDEX_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "keel/geo/internal/keyed_index.h"

namespace keel::geo {

class GridIndex final : public internal::KeyedPointIndex {
 public:
  struct Options {
    // The side of a cell, in degrees of latitude and of longitude: in (0, 180], at least
    // kMinCellSizeDegrees. The default is about 1.1 km at the equator.
    double cell_size_degrees = 0.01;
  };
  static constexpr double kMinCellSizeDegrees = 1e-6;  // about 11 cm

  // Errors (kInvalidArgument): a cell size that is not finite or outside its range.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<GridIndex>> Create(const Options& options);

  // A grid with the default options.
  GridIndex() : GridIndex(Options{}) {}

  [[nodiscard]] std::string_view kind() const override { return "grid"; }
  [[nodiscard]] const Options& options() const { return options_; }

 private:
  explicit GridIndex(const Options& options);

  [[nodiscard]] uint64_t Row(double lat_degrees) const;
  [[nodiscard]] uint64_t Column(double lng_degrees) const;
  [[nodiscard]] uint64_t KeyOf(LatLng location) const override;
  void CoveringRanges(LatLng center, double radius_m,
                      std::vector<internal::KeyRange>* ranges) const override;
  // One cell's height: neighbouring keys in a row can be far apart, nearby rows are not.
  [[nodiscard]] double ProbeRadius(double known_radius) const override;

  Options options_;
  uint64_t rows_;
  uint64_t columns_;
};

}  // namespace keel::geo

#endif  // KEEL_GEO_GRID_INDEX_H_
