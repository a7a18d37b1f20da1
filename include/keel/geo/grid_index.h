// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// GridIndex: the proximity-service design's option 2, "evenly divided grid". The latitude and
// longitude ranges are cut into cells of a fixed size in degrees; a query looks at the cells its
// circle's bounding box overlaps. Simple and fast when the cell size suits the radius; the design's
// objection is that real points are unevenly spread (a city cell holds thousands, an ocean cell
// none) and one size cannot suit both. Near the poles a degree of longitude shrinks to nothing,
// so a small circle there overlaps whole rows of cells.
//
// Each non-empty cell is a hash-table entry holding its points contiguously. A query computes the
// cells of its bounding box, then looks them all up before reading any: the lookups do not depend
// on each other, so their cache misses overlap (the table and the points are prefetched in two
// waves). A box of many cells (a large circle, or a small one at a pole, which spans whole rows)
// instead walks, row by row, an ordered set of the non-empty cells, so that empty ocean costs
// nothing. k-nearest searches grow a radius search from one cell.
//
// Example:
//
//   auto grid = keel::geo::GridIndex::Create({.cell_size_degrees = 0.01});  // about 1.1 km
//   (void)(*grid)->Insert(7, keel::geo::LatLng::FromDegrees(40.7484, -73.9857));
#ifndef KEEL_GEO_GRID_INDEX_H_
#define KEEL_GEO_GRID_INDEX_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "keel/base/counting_allocator.h"
#include "keel/base/hash.h"
#include "keel/geo/spatial_index.h"

namespace keel::geo {

class GridIndex final : public SpatialIndex {
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
  GridIndex(const GridIndex&) = delete;
  GridIndex& operator=(const GridIndex&) = delete;

  [[nodiscard]] std::string_view kind() const override { return "grid"; }
  [[nodiscard]] absl::Status Build(std::span<const IndexedPoint> points) override;
  [[nodiscard]] absl::Status Insert(PointId id, LatLng location) override;
  [[nodiscard]] absl::Status Erase(PointId id) override;
  [[nodiscard]] absl::StatusOr<LatLng> Find(PointId id) const override;
  [[nodiscard]] size_t size() const override { return locations_.size(); }
  [[nodiscard]] size_t MemoryBytes() const override;
  [[nodiscard]] absl::Status SearchRadius(LatLng center, double radius_m,
                                          std::vector<Neighbor>* out,
                                          QueryStats* stats = nullptr) const override;
  [[nodiscard]] absl::Status Nearest(LatLng center, size_t k, std::vector<Neighbor>* out,
                                     QueryStats* stats = nullptr) const override;

  [[nodiscard]] const Options& options() const { return options_; }

  // Cells holding at least one point.
  [[nodiscard]] size_t cell_count() const { return cells_.size(); }

 private:
  explicit GridIndex(const Options& options);

  struct Entry {
    Point3 p;
    PointId id;
  };
  using Cell = std::vector<Entry, base::CountingAllocator<Entry>>;
  using Cells = absl::flat_hash_map<uint64_t, Cell, base::Hasher, std::equal_to<uint64_t>,
                                    base::CountingAllocator<std::pair<const uint64_t, Cell>>>;
  using Locations = absl::flat_hash_map<PointId, LatLng, base::Hasher, std::equal_to<PointId>,
                                        base::CountingAllocator<std::pair<const PointId, LatLng>>>;

  [[nodiscard]] uint64_t Row(double lat_degrees) const;
  [[nodiscard]] uint64_t Column(double lng_degrees) const;
  [[nodiscard]] uint64_t KeyOf(LatLng location) const;
  void Add(PointId id, LatLng location);

  Options options_;
  uint64_t rows_;
  uint64_t columns_;
  base::MemoryCounter memory_;
  Cells cells_;  // row * columns_ + column -> the cell's points
  // The keys of cells_, in order: rows are contiguous ranges of it.
  absl::btree_set<uint64_t, std::less<uint64_t>, base::CountingAllocator<uint64_t>> occupied_;
  Locations locations_;
};

}  // namespace keel::geo

#endif  // KEEL_GEO_GRID_INDEX_H_
