// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// GridIndex: the proximity-service design's option 2, "evenly divided grid". The latitude and
// longitude ranges are cut into cells of a fixed size in degrees; a query looks at the cells its
// circle's bounding box overlaps. Simple and fast when the cell size suits the radius; the design's
// objection is that real points are unevenly spread (a city cell holds thousands, an ocean cell
// none) and one size cannot suit both. Near the poles a degree of longitude shrinks to nothing,
// so a small circle there overlaps whole rows of cells.
//
// A query's time goes to fetching memory, not to arithmetic, so the layout is chosen to fetch
// little and all at once. Cells are grouped four to a tile along a row, and a tile's points lie
// in one array ordered by cell; a box's cells within one row are then one contiguous run of that
// array. Each cell is further cut into three slices of longitude, so that a run starts and ends
// at the slices the circle starts and ends in, not at the edges of cells, and each row is
// narrowed to the longitudes the circle reaches within it, not its bounding box's: for a 1 km
// circle on 0.01-degree cells, 30% fewer points to fetch and test than the box's cells hold. The
// tiles that hold points live in a flat open-addressing table whose slots are one cache line
// each, holding where the points are and where every slice ends, beside a byte of tag per slot
// that tells absent tiles without reading their slots. A query looks all its tiles up before
// reading any, then prefetches the points of all its runs, so that their cache misses overlap
// instead of following one another. A box of many tiles (a large circle, or a small one at a
// pole, which spans whole rows) instead walks, row by row, an ordered set of the non-empty tiles,
// so that empty ocean costs nothing. k-nearest searches grow a radius search from one cell.
//
// Inserting or erasing a point moves the points of the later slices of its tile (a few dozen in
// a dense city); a tile's array grows and shrinks by doubling and halving, and the table doubles
// when it is 5/8 full. A search allocates only to grow `out` (and, the first times on a thread,
// the buffers that sort the results).
//
// Example:
//
//   auto grid = keel::geo::GridIndex::Create({.cell_size_degrees = 0.01});  // about 1.1 km
//   (void)(*grid)->Insert(7, keel::geo::LatLng::FromDegrees(40.7484, -73.9857));
#ifndef KEEL_GEO_GRID_INDEX_H_
#define KEEL_GEO_GRID_INDEX_H_

#include <cstdint>
#include <memory>
#include <utility>
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
  ~GridIndex() override;

  [[nodiscard]] std::string_view kind() const override { return "grid"; }
  // Errors also kResourceExhausted for 2^32 - 1 points or more.
  [[nodiscard]] absl::Status Build(std::span<const IndexedPoint> points) override;
  // Errors also kResourceExhausted when the point's tile already holds 2^32 - 1 points.
  [[nodiscard]] absl::Status Insert(PointId id, LatLng location) override;
  [[nodiscard]] absl::Status Erase(PointId id) override;
  // A move within one slice of a cell updates the point in place; otherwise erase and insert.
  [[nodiscard]] absl::Status Move(PointId id, LatLng location) override;
  [[nodiscard]] absl::StatusOr<LatLng> Find(PointId id) const override;
  [[nodiscard]] size_t size() const override { return locations_.size(); }
  [[nodiscard]] size_t MemoryBytes() const override;
  // QueryStats::cells_visited counts the runs of points read: one per row of the box in each
  // tile that holds points in it.
  [[nodiscard]] absl::Status SearchRadius(LatLng center, double radius_m,
                                          std::vector<Neighbor>* out,
                                          QueryStats* stats = nullptr) const override;
  [[nodiscard]] absl::Status Nearest(LatLng center, size_t k, std::vector<Neighbor>* out,
                                     QueryStats* stats = nullptr) const override;

  [[nodiscard]] const Options& options() const { return options_; }

  // Cells holding at least one point.
  [[nodiscard]] size_t cell_count() const { return cell_count_; }

 private:
  static constexpr uint32_t kTileCells = 4;      // cells of one row per tile
  static constexpr uint32_t kSlicesPerCell = 3;  // slices of longitude per cell
  static constexpr uint32_t kTileSlices = kTileCells * kSlicesPerCell;
  static constexpr uint64_t kNoTile = UINT64_MAX;  // the key of an empty slot

  struct Entry {
    Point3 p;
    PointId id;
  };

  // A slot of the tile table: everything a query reads about a tile, in one cache line.
  struct alignas(64) Tile {
    uint64_t key = kNoTile;  // row * tiles_per_row_ + the tile's place in the row
    Entry* points = nullptr;
    // Slice s of the tile holds points[slice_end[s - 1] .. slice_end[s]) (slice 0 starts at 0),
    // in no particular order; the last slice_end is the number of points.
    uint32_t slice_end[kTileSlices] = {};
  };
  static_assert(sizeof(Tile) == 64);

  // A point's place: its tile's key and its slice within the tile.
  struct Place {
    uint64_t tile;
    uint32_t slice;
  };

  struct SliceRanges;  // the slices of a row a search covers
  struct RowBound;     // what bounds the longitudes a circle reaches in each row

  template <typename T>
  using Vector = std::vector<T, base::CountingAllocator<T>>;
  using Locations = absl::flat_hash_map<PointId, LatLng, base::Hasher, std::equal_to<PointId>,
                                        base::CountingAllocator<std::pair<const PointId, LatLng>>>;

  explicit GridIndex(const Options& options);

  [[nodiscard]] uint64_t Row(double lat_degrees) const;
  // The slice of a longitude within its row: column * kSlicesPerCell + the slice in the column.
  [[nodiscard]] uint64_t Slice(double lng_degrees) const;
  [[nodiscard]] Place PlaceOf(LatLng location) const;
  // The slices of the longitudes lng_lo..lng_hi (across the antimeridian when lng_lo > lng_hi).
  [[nodiscard]] SliceRanges RangesOf(double lng_lo, double lng_hi) const;
  // The slices of tile `column` (of a row) within range r of `ranges`, first and last.
  [[nodiscard]] static std::pair<uint32_t, uint32_t> TileSlices(const SliceRanges& ranges, int r,
                                                                uint64_t column);
  // At least the longitude half-width, in degrees, of the part of a circle within `row`.
  [[nodiscard]] double RowHalfWidthDegrees(const RowBound& bound, uint64_t row) const;

  // The tile table (open addressing, linear probing in Robin Hood order, at most 5/8 full).
  [[nodiscard]] size_t Home(uint64_t key) const;
  [[nodiscard]] static uint8_t Tag(uint64_t key);  // never 0, the tag of an empty slot
  [[nodiscard]] const Tile* FindTile(uint64_t key) const;
  [[nodiscard]] size_t FindSlot(uint64_t key) const;      // tiles_.size() when absent
  size_t AddTile(uint64_t key);                           // REQUIRES: key absent
  size_t PlaceTile(const Tile& tile, uint32_t capacity);  // returns the slot it lands in
  void RemoveTile(size_t slot);
  void ResizeTable(size_t slots);
  void Clear();
  void Reallocate(size_t slot, uint32_t capacity);

  [[nodiscard]] absl::Status Add(PointId id, LatLng location);
  void Remove(PointId id, LatLng location);

  Options options_;
  double cells_per_degree_;
  uint64_t rows_;
  uint64_t columns_;
  uint64_t slices_per_row_;
  uint64_t tiles_per_row_;
  base::MemoryCounter memory_;
  Vector<Tile> tiles_;           // a power of two of slots
  Vector<uint32_t> capacities_;  // room in each slot's points array: only updates need it
  Vector<uint8_t> tags_;         // per slot: 0 when empty, else Tag(key)
  int hash_shift_ = 0;           // 64 - log2(tiles_.size())
  size_t tile_count_ = 0;
  size_t cell_count_ = 0;
  // The keys of the tiles in the table, in order: rows are contiguous ranges of it.
  absl::btree_set<uint64_t, std::less<uint64_t>, base::CountingAllocator<uint64_t>> occupied_;
  Locations locations_;
};

}  // namespace keel::geo

#endif  // KEEL_GEO_GRID_INDEX_H_
