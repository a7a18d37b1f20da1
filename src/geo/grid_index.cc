// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/geo/grid_index.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "absl/container/inlined_vector.h"
#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/geo/lat_lng_rect.h"
#include "search.h"

namespace keel::geo {

absl::StatusOr<std::unique_ptr<GridIndex>> GridIndex::Create(const Options& options) {
  const double size = options.cell_size_degrees;
  if (!std::isfinite(size) || size < kMinCellSizeDegrees || size > 180) {
    return absl::InvalidArgumentError(
        base::Cat("grid cell size ", size, " degrees is outside [", kMinCellSizeDegrees, ", 180]"));
  }
  return std::unique_ptr<GridIndex>(new GridIndex(options));
}

GridIndex::GridIndex(const Options& options)
    : options_(options),
      rows_(static_cast<uint64_t>(std::ceil(180 / options.cell_size_degrees))),
      columns_(static_cast<uint64_t>(std::ceil(360 / options.cell_size_degrees))),
      cells_(0, base::Hasher(), std::equal_to<uint64_t>(),
             base::CountingAllocator<std::pair<const uint64_t, Cell>>(&memory_)),
      occupied_(base::CountingAllocator<uint64_t>(&memory_)),
      locations_(0, base::Hasher(), std::equal_to<PointId>(),
                 base::CountingAllocator<std::pair<const PointId, LatLng>>(&memory_)) {
  KEEL_ASSERT(options.cell_size_degrees >= kMinCellSizeDegrees && options.cell_size_degrees <= 180);
}

uint64_t GridIndex::Row(double lat_degrees) const {
  const double row = std::floor((lat_degrees + 90) / options_.cell_size_degrees);
  return std::min(rows_ - 1, static_cast<uint64_t>(std::max(0.0, row)));
}

uint64_t GridIndex::Column(double lng_degrees) const {
  const double column = std::floor((lng_degrees + 180) / options_.cell_size_degrees);
  return std::min(columns_ - 1, static_cast<uint64_t>(std::max(0.0, column)));
}

uint64_t GridIndex::KeyOf(LatLng location) const {
  return Row(location.lat_degrees()) * columns_ + Column(location.lng_degrees());
}

void GridIndex::Add(PointId id, LatLng location) {
  const uint64_t key = KeyOf(location);
  auto [it, inserted] = cells_.try_emplace(key, base::CountingAllocator<Entry>(&memory_));
  it->second.push_back({location.ToPoint(), id});
  if (inserted) occupied_.insert(key);
}

absl::Status GridIndex::Build(std::span<const IndexedPoint> points) {
  Locations locations(0, base::Hasher(), std::equal_to<PointId>(),
                      base::CountingAllocator<std::pair<const PointId, LatLng>>(&memory_));
  locations.reserve(points.size());
  for (const IndexedPoint& point : points) {
    KEEL_RETURN_IF_ERROR(internal::CheckLocation(point.id, point.location));
    if (!locations.emplace(point.id, point.location).second) {
      return internal::DuplicateId(point.id);
    }
  }
  cells_.clear();
  occupied_.clear();
  locations_.swap(locations);
  for (const IndexedPoint& point : points) Add(point.id, point.location);
  return absl::OkStatus();
}

absl::Status GridIndex::Insert(PointId id, LatLng location) {
  KEEL_RETURN_IF_ERROR(internal::CheckLocation(id, location));
  if (!locations_.emplace(id, location).second) return internal::DuplicateId(id);
  Add(id, location);
  return absl::OkStatus();
}

absl::Status GridIndex::Erase(PointId id) {
  const auto it = locations_.find(id);
  if (it == locations_.end()) return internal::UnknownId(id);
  const auto cell = cells_.find(KeyOf(it->second));
  KEEL_ASSERT(cell != cells_.end(), "point ", id, " has no cell");
  Cell& points = cell->second;
  const auto entry =
      std::find_if(points.begin(), points.end(), [id](const Entry& e) { return e.id == id; });
  KEEL_ASSERT(entry != points.end(), "point ", id, " is missing from its cell");
  *entry = points.back();
  points.pop_back();
  if (points.empty()) {
    occupied_.erase(cell->first);
    cells_.erase(cell);
  }
  locations_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<LatLng> GridIndex::Find(PointId id) const {
  const auto it = locations_.find(id);
  if (it == locations_.end()) return internal::UnknownId(id);
  return it->second;
}

size_t GridIndex::MemoryBytes() const { return static_cast<size_t>(memory_.bytes()); }

absl::Status GridIndex::SearchRadius(LatLng center, double radius_m, std::vector<Neighbor>* out,
                                     QueryStats* stats) const {
  KEEL_RETURN_IF_ERROR(internal::CheckRadiusQuery(center, radius_m));
  out->clear();
  const internal::RadiusFilter filter(center, radius_m);
  const LatLngRect box = *LatLngRect::AroundCircle(center, radius_m);
  const uint64_t row_lo = Row(box.lat_lo());
  const uint64_t row_hi = Row(box.lat_hi());
  const uint64_t col_lo = box.is_full_lng() ? 0 : Column(box.lng_lo());
  const uint64_t col_hi = box.is_full_lng() ? columns_ - 1 : Column(box.lng_hi());
  // A box that wraps with both ends in one column (possible when a column is over 180 degrees
  // wide) covers every column.
  const bool all_columns = box.is_full_lng() || (box.crosses_antimeridian() && col_hi >= col_lo);
  const uint64_t columns_per_row =
      all_columns ? columns_ : (col_hi + columns_ - col_lo) % columns_ + 1;
  const uint64_t box_cells = (row_hi - row_lo + 1) * columns_per_row;
  QueryStats s;
  auto scan = [&](const Cell& cell) {
    for (const Entry& e : cell) filter.Offer({e.p, e.id}, out);
    s.candidates += cell.size();
    ++s.cells_visited;
  };
  // Up to this many cells, looking each one up beats walking the ordered set.
  constexpr uint64_t kDirectLookupCells = 256;
  auto in_box = [&](uint64_t key) {
    const uint64_t row = key / columns_;
    return row >= row_lo && row <= row_hi &&
           (key % columns_ + columns_ - col_lo) % columns_ < columns_per_row;
  };
  if (row_hi - row_lo + 1 > occupied_.size()) {
    // More rows than non-empty cells (a wide search on a fine, sparse grid): test every one.
    for (const uint64_t key : occupied_) {
      if (in_box(key)) scan(cells_.find(key)->second);
    }
  } else if (box_cells > kDirectLookupCells) {
    // Row by row, the non-empty cells within the box's columns (one or two ranges of keys).
    for (uint64_t row = row_lo; row <= row_hi; ++row) {
      const uint64_t base = row * columns_;
      auto walk = [&](uint64_t first, uint64_t last) {
        for (auto key = occupied_.lower_bound(base + first);
             key != occupied_.end() && *key <= base + last; ++key) {
          scan(cells_.find(*key)->second);
        }
      };
      if (col_lo + columns_per_row <= columns_) {
        walk(col_lo, col_lo + columns_per_row - 1);
      } else {  // across the antimeridian
        walk(col_lo, columns_ - 1);
        walk(0, col_lo + columns_per_row - 1 - columns_);
      }
    }
  } else {
    // Look every cell up before reading any, so that the misses overlap: first the table slots,
    // then the cells' points.
    absl::InlinedVector<uint64_t, kDirectLookupCells> keys;
    for (uint64_t row = row_lo; row <= row_hi; ++row) {
      for (uint64_t c = 0; c < columns_per_row; ++c) {
        keys.push_back(row * columns_ + (col_lo + c) % columns_);
        cells_.prefetch(keys.back());
      }
    }
    absl::InlinedVector<const Cell*, kDirectLookupCells> found;
    for (const uint64_t key : keys) {
      const auto it = cells_.find(key);
      if (it == cells_.end()) continue;
      __builtin_prefetch(it->second.data());
      found.push_back(&it->second);
    }
    for (const Cell* cell : found) scan(*cell);
  }
  internal::SortNeighbors(out);
  if (stats != nullptr) *stats = s;
  return absl::OkStatus();
}

absl::Status GridIndex::Nearest(LatLng center, size_t k, std::vector<Neighbor>* out,
                                QueryStats* stats) const {
  KEEL_RETURN_IF_ERROR(internal::CheckNearestQuery(center, k));
  // Grow a radius search from one cell's height until it holds k points (or everything): every
  // point outside the final radius is farther than every point inside.
  QueryStats total;
  double radius = options_.cell_size_degrees * std::numbers::pi / 180 * kEarthRadiusMeters;
  for (;;) {
    QueryStats round;
    KEEL_RETURN_IF_ERROR(SearchRadius(center, radius, out, &round));
    total.cells_visited += round.cells_visited;
    total.candidates += round.candidates;
    if (out->size() >= k || radius >= kMaxDistanceMeters) break;
    radius = std::min(kMaxDistanceMeters, radius * 2);
  }
  internal::KeepNearest(k, out);
  if (stats != nullptr) *stats = total;
  return absl::OkStatus();
}

}  // namespace keel::geo
