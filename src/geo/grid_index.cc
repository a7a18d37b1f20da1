// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/geo/grid_index.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <span>
#include <utility>

#include "keel/base/assert.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/geo/lat_lng_rect.h"
#include "search.h"

namespace keel::geo {
namespace {

constexpr size_t kMinTableSlots = 16;
// The tile table grows beyond 5/8 full: short probe runs, and a table small enough to stay
// largely in cache (at half the load, twice the size measured no faster).
constexpr size_t kMaxLoadNumerator = 5;
constexpr size_t kMaxLoadDenominator = 8;
constexpr uint32_t kMaxTilePoints = std::numeric_limits<uint32_t>::max();

// Up to this many tiles in a box, looking each one up beats walking the ordered set.
constexpr uint64_t kDirectLookupTiles = 64;

}  // namespace

// One range of slices, or two across the antimeridian.
struct GridIndex::SliceRanges {
  uint64_t first[2];
  uint64_t last[2];
  int count;
};

// See RowHalfWidthDegrees.
struct GridIndex::RowBound {
  double lat_degrees;  // of the centre
  double sin_lat;
  double cos_lat;
  double angle;           // the radius in radians, widened
  double box_half_width;  // of the bounding box, in degrees
};

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
      cells_per_degree_(1 / options.cell_size_degrees),
      rows_(static_cast<uint64_t>(std::ceil(180 / options.cell_size_degrees))),
      columns_(static_cast<uint64_t>(std::ceil(360 / options.cell_size_degrees))),
      slices_per_row_(columns_ * kSlicesPerCell),
      tiles_per_row_((columns_ + kTileCells - 1) / kTileCells),
      tiles_(base::CountingAllocator<Tile>(&memory_)),
      capacities_(base::CountingAllocator<uint32_t>(&memory_)),
      tags_(base::CountingAllocator<uint8_t>(&memory_)),
      occupied_(base::CountingAllocator<uint64_t>(&memory_)),
      locations_(0, base::Hasher(), std::equal_to<PointId>(),
                 base::CountingAllocator<std::pair<const PointId, LatLng>>(&memory_)) {
  KEEL_ASSERT(options.cell_size_degrees >= kMinCellSizeDegrees && options.cell_size_degrees <= 180);
  // Keys (row * tiles_per_row_ + tile) and row-wide slice numbers stay far below kNoTile: at the
  // smallest cell size there are 1.8e8 rows of 1.1e9 slices.
  ResizeTable(kMinTableSlots);
}

GridIndex::~GridIndex() { Clear(); }

// Rows and slices multiply by the reciprocal of the cell size rather than divide by it, and
// truncate rather than call floor (the quotients are never negative): both stay monotonic, which
// is all that placing points and searching them consistently needs, and a search computes a
// dozen of them.
uint64_t GridIndex::Row(double lat_degrees) const {
  const double row = std::max(0.0, (lat_degrees + 90) * cells_per_degree_);
  return std::min(rows_ - 1, static_cast<uint64_t>(row));
}

// The slice is computed from the same quotient as the column, so that a slice always lies in
// its point's column, and it never decreases as the longitude grows (each step is monotonic): a
// point between two longitudes lies between their slices, which is all a search needs.
uint64_t GridIndex::Slice(double lng_degrees) const {
  const double u = std::max(0.0, (lng_degrees + 180) * cells_per_degree_);
  const auto column = static_cast<uint64_t>(u);
  // u - column is exact, and in [0, 1).
  const auto part =
      std::min<uint64_t>(kSlicesPerCell - 1,
                         static_cast<uint64_t>((u - static_cast<double>(column)) * kSlicesPerCell));
  return std::min(slices_per_row_ - 1, column * kSlicesPerCell + part);
}

GridIndex::Place GridIndex::PlaceOf(LatLng location) const {
  const uint64_t slice = Slice(location.lng_degrees());
  return {Row(location.lat_degrees()) * tiles_per_row_ + slice / kTileSlices,
          static_cast<uint32_t>(slice % kTileSlices)};
}

// Fibonacci hashing (Knuth, TAOCP vol. 3, 6.4): the top bits of key * 2^64 / phi. Keys of
// neighbouring tiles differ by one, which this spreads over the whole table.
size_t GridIndex::Home(uint64_t key) const {
  return static_cast<size_t>((key * 0x9E3779B97F4A7C15ULL) >> hash_shift_);
}

uint8_t GridIndex::Tag(uint64_t key) {
  return static_cast<uint8_t>(0x80 | (((key * 0x9E3779B97F4A7C15ULL) >> 24) & 0x7F));
}

// Slots are probed through their tags, a byte each (the idea of the control bytes of Abseil's
// Swiss tables): the tags of a table for a million points fit in 256 KiB, which stays in cache,
// while its slots fill 16 MiB, which does not. Most tiles a search looks for in sparse data are
// absent, and the tags alone tell; a present tile costs one slot read, 127 times in 128 the
// right one. The table also keeps Robin Hood order (P. Celis, P.-A. Larson and J. I. Munro,
// "Robin Hood Hashing", FOCS 1985), which keeps probe runs short and even.
size_t GridIndex::FindSlot(uint64_t key) const {
  const size_t mask = tiles_.size() - 1;
  const uint8_t tag = Tag(key);
  for (size_t i = Home(key);; i = (i + 1) & mask) {
    if (tags_[i] == 0) return tiles_.size();
    if (tags_[i] == tag && tiles_[i].key == key) return i;
  }
}

const GridIndex::Tile* GridIndex::FindTile(uint64_t key) const {
  const size_t slot = FindSlot(key);
  return slot == tiles_.size() ? nullptr : &tiles_[slot];
}

size_t GridIndex::PlaceTile(const Tile& tile, uint32_t capacity) {
  const size_t mask = tiles_.size() - 1;
  Tile carried = tile;
  size_t placed = tiles_.size();
  for (size_t i = Home(tile.key), distance = 0;; i = (i + 1) & mask, ++distance) {
    if (tags_[i] == 0) {
      tiles_[i] = carried;
      capacities_[i] = capacity;
      tags_[i] = Tag(carried.key);
      return placed == tiles_.size() ? i : placed;
    }
    // A tile nearer its home than the carried one gives up its slot and is carried on.
    const size_t resident = (i - Home(tiles_[i].key)) & mask;
    if (resident < distance) {
      std::swap(tiles_[i], carried);
      std::swap(capacities_[i], capacity);
      tags_[i] = Tag(tiles_[i].key);
      if (placed == tiles_.size()) placed = i;
      distance = resident;
    }
  }
}

size_t GridIndex::AddTile(uint64_t key) {
  if ((tile_count_ + 1) * kMaxLoadDenominator > tiles_.size() * kMaxLoadNumerator) {
    ResizeTable(tiles_.size() * 2);
  }
  Tile tile;
  tile.key = key;
  ++tile_count_;
  return PlaceTile(tile, 0);
}

// Deletion without tombstones, keeping Robin Hood order: the tiles after the hole that are not
// in their home slot move back one.
void GridIndex::RemoveTile(size_t slot) {
  const size_t mask = tiles_.size() - 1;
  size_t hole = slot;
  for (size_t i = (slot + 1) & mask; tags_[i] != 0 && ((i - Home(tiles_[i].key)) & mask) > 0;
       i = (i + 1) & mask) {
    tiles_[hole] = tiles_[i];
    capacities_[hole] = capacities_[i];
    tags_[hole] = tags_[i];
    hole = i;
  }
  tiles_[hole] = Tile{};
  capacities_[hole] = 0;
  tags_[hole] = 0;
  --tile_count_;
}

void GridIndex::ResizeTable(size_t slots) {
  KEEL_ASSERT(std::has_single_bit(slots) && slots >= kMinTableSlots &&
              tile_count_ * kMaxLoadDenominator <= slots * kMaxLoadNumerator);
  Vector<Tile> tiles(slots, Tile{}, base::CountingAllocator<Tile>(&memory_));
  Vector<uint32_t> capacities(slots, 0, base::CountingAllocator<uint32_t>(&memory_));
  Vector<uint8_t> tags(slots, 0, base::CountingAllocator<uint8_t>(&memory_));
  tiles.swap(tiles_);
  capacities.swap(capacities_);
  tags.swap(tags_);
  hash_shift_ = 64 - std::countr_zero(slots);
  for (size_t old = 0; old < tiles.size(); ++old) {
    if (tags[old] != 0) PlaceTile(tiles[old], capacities[old]);
  }
}

void GridIndex::Clear() {
  base::CountingAllocator<Entry> allocator(&memory_);
  for (size_t i = 0; i < tiles_.size(); ++i) {
    if (tiles_[i].points != nullptr) allocator.deallocate(tiles_[i].points, capacities_[i]);
  }
  tiles_.assign(tiles_.size(), Tile{});
  capacities_.assign(capacities_.size(), 0);
  tags_.assign(tags_.size(), 0);
  tile_count_ = 0;
  cell_count_ = 0;
  occupied_.clear();
}

void GridIndex::Reallocate(size_t slot, uint32_t capacity) {
  Tile& tile = tiles_[slot];
  const uint32_t size = tile.slice_end[kTileSlices - 1];
  KEEL_ASSERT(capacity >= size);
  base::CountingAllocator<Entry> allocator(&memory_);
  Entry* points = capacity == 0 ? nullptr : allocator.allocate(capacity);
  if (size > 0) std::copy(tile.points, tile.points + size, points);
  if (tile.points != nullptr) allocator.deallocate(tile.points, capacities_[slot]);
  tile.points = points;
  capacities_[slot] = capacity;
}

absl::Status GridIndex::Add(PointId id, LatLng location) {
  const Place place = PlaceOf(location);
  size_t slot = FindSlot(place.tile);
  if (slot == tiles_.size()) {
    slot = AddTile(place.tile);
    occupied_.insert(place.tile);
  }
  uint32_t size = tiles_[slot].slice_end[kTileSlices - 1];
  if (size == kMaxTilePoints) {
    return absl::ResourceExhaustedError(
        base::Cat("the grid tile of ", location.ToString(), " already holds ", size, " points"));
  }
  if (size == capacities_[slot]) {
    const uint64_t doubled = std::max<uint64_t>(4, 2ULL * size);
    Reallocate(slot, static_cast<uint32_t>(std::min<uint64_t>(kMaxTilePoints, doubled)));
  }
  Tile& tile = tiles_[slot];
  const uint32_t cell_first = place.slice / kSlicesPerCell * kSlicesPerCell;
  const uint32_t cell_begin = cell_first == 0 ? 0 : tile.slice_end[cell_first - 1];
  if (tile.slice_end[cell_first + kSlicesPerCell - 1] == cell_begin) ++cell_count_;
  const uint32_t at = tile.slice_end[place.slice];
  std::copy_backward(tile.points + at, tile.points + size, tile.points + size + 1);
  tile.points[at] = {location.ToPoint(), id};
  for (uint32_t s = place.slice; s < kTileSlices; ++s) ++tile.slice_end[s];
  return absl::OkStatus();
}

void GridIndex::Remove(PointId id, LatLng location) {
  const Place place = PlaceOf(location);
  const size_t slot = FindSlot(place.tile);
  KEEL_ASSERT(slot != tiles_.size(), "point ", id, " has no tile");
  Tile& tile = tiles_[slot];
  const uint32_t size = tile.slice_end[kTileSlices - 1];
  const uint32_t begin = place.slice == 0 ? 0 : tile.slice_end[place.slice - 1];
  Entry* const first = tile.points + begin;
  Entry* const last = tile.points + tile.slice_end[place.slice];
  Entry* const entry = std::find_if(first, last, [id](const Entry& e) { return e.id == id; });
  KEEL_ASSERT(entry != last, "point ", id, " is missing from its tile");
  std::copy(entry + 1, tile.points + size, entry);
  for (uint32_t s = place.slice; s < kTileSlices; ++s) --tile.slice_end[s];
  const uint32_t cell_first = place.slice / kSlicesPerCell * kSlicesPerCell;
  const uint32_t cell_begin = cell_first == 0 ? 0 : tile.slice_end[cell_first - 1];
  if (tile.slice_end[cell_first + kSlicesPerCell - 1] == cell_begin) --cell_count_;
  if (size == 1) {
    Reallocate(slot, 0);
    RemoveTile(slot);
    occupied_.erase(place.tile);
  } else if (capacities_[slot] > 8 && size - 1 <= capacities_[slot] / 4) {
    // Halving at a quarter full, not at half, so that one point going back and forth cannot
    // make every operation copy the whole tile.
    Reallocate(slot, capacities_[slot] / 2);
  }
}

absl::Status GridIndex::Build(std::span<const IndexedPoint> points) {
  if (points.size() >= kMaxTilePoints) {
    return absl::ResourceExhaustedError(
        base::Cat("GridIndex::Build takes at most 2^32 - 2 points, not ", points.size()));
  }
  Locations locations(0, base::Hasher(), std::equal_to<PointId>(),
                      base::CountingAllocator<std::pair<const PointId, LatLng>>(&memory_));
  locations.reserve(points.size());
  for (const IndexedPoint& point : points) {
    KEEL_RETURN_IF_ERROR(internal::CheckLocation(point.id, point.location));
    if (!locations.emplace(point.id, point.location).second) {
      return internal::DuplicateId(point.id);
    }
  }
  // Order the points by tile and slice, then lay each tile out in one allocation of exactly its
  // size.
  struct Keyed {
    uint64_t tile;
    uint32_t slice;
    uint32_t index;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    const Place place = PlaceOf(points[i].location);
    keyed.push_back({place.tile, place.slice, static_cast<uint32_t>(i)});
  }
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    return a.tile != b.tile ? a.tile < b.tile : a.slice < b.slice;
  });
  size_t tiles = 0;
  for (size_t i = 0; i < keyed.size(); ++i) tiles += i == 0 || keyed[i].tile != keyed[i - 1].tile;
  Clear();
  ResizeTable(
      std::max(kMinTableSlots, std::bit_ceil(tiles * kMaxLoadDenominator / kMaxLoadNumerator + 1)));
  locations_.swap(locations);
  base::CountingAllocator<Entry> allocator(&memory_);
  for (size_t begin = 0; begin < keyed.size();) {
    const uint64_t key = keyed[begin].tile;
    size_t end = begin;
    while (end < keyed.size() && keyed[end].tile == key) ++end;
    const size_t slot = AddTile(key);
    occupied_.insert(occupied_.end(), key);
    Tile& tile = tiles_[slot];
    const auto count = static_cast<uint32_t>(end - begin);
    tile.points = allocator.allocate(count);
    capacities_[slot] = count;
    for (size_t i = begin; i < end; ++i) {
      const IndexedPoint& point = points[keyed[i].index];
      tile.points[i - begin] = {point.location.ToPoint(), point.id};
      ++tile.slice_end[keyed[i].slice];
    }
    for (uint32_t s = 1; s < kTileSlices; ++s) tile.slice_end[s] += tile.slice_end[s - 1];
    for (uint32_t cell = 0; cell < kTileCells; ++cell) {
      const uint32_t first = cell * kSlicesPerCell;
      const uint32_t cell_begin = first == 0 ? 0 : tile.slice_end[first - 1];
      if (tile.slice_end[first + kSlicesPerCell - 1] > cell_begin) ++cell_count_;
    }
    begin = end;
  }
  return absl::OkStatus();
}

absl::Status GridIndex::Insert(PointId id, LatLng location) {
  KEEL_RETURN_IF_ERROR(internal::CheckLocation(id, location));
  if (locations_.contains(id)) return internal::DuplicateId(id);
  KEEL_RETURN_IF_ERROR(Add(id, location));
  locations_.emplace(id, location);
  return absl::OkStatus();
}

absl::Status GridIndex::Erase(PointId id) {
  const auto it = locations_.find(id);
  if (it == locations_.end()) return internal::UnknownId(id);
  Remove(id, it->second);
  locations_.erase(it);
  return absl::OkStatus();
}

absl::Status GridIndex::Move(PointId id, LatLng location) {
  KEEL_RETURN_IF_ERROR(internal::CheckLocation(id, location));
  const auto it = locations_.find(id);
  if (it == locations_.end()) return internal::UnknownId(id);
  const Place from = PlaceOf(it->second);
  const Place to = PlaceOf(location);
  if (from.tile == to.tile && from.slice == to.slice) {
    // The common case for a moving user: points within a slice are in no order, so the point
    // is updated where it is.
    Tile& tile = tiles_[FindSlot(from.tile)];
    Entry* const first = tile.points + (from.slice == 0 ? 0 : tile.slice_end[from.slice - 1]);
    Entry* const last = tile.points + tile.slice_end[from.slice];
    Entry* const entry = std::find_if(first, last, [id](const Entry& e) { return e.id == id; });
    KEEL_ASSERT(entry != last, "point ", id, " is missing from its tile");
    entry->p = location.ToPoint();
    it->second = location;
    return absl::OkStatus();
  }
  const LatLng old = it->second;
  Remove(id, old);
  if (absl::Status added = Add(id, location); !added.ok()) {
    // The destination tile is full: put the point back where it was (its tile just lost a point,
    // so it has room).
    KEEL_ASSERT(Add(id, old).ok());
    return added;
  }
  it->second = location;
  return absl::OkStatus();
}

absl::StatusOr<LatLng> GridIndex::Find(PointId id) const {
  const auto it = locations_.find(id);
  if (it == locations_.end()) return internal::UnknownId(id);
  return it->second;
}

size_t GridIndex::MemoryBytes() const { return static_cast<size_t>(memory_.bytes()); }

GridIndex::SliceRanges GridIndex::RangesOf(double lng_lo, double lng_hi) const {
  const uint64_t first = Slice(lng_lo);
  const uint64_t last = Slice(lng_hi);
  const uint64_t end = slices_per_row_ - 1;
  // A range ending exactly at -180 or 180 need not take the slice at the other end of the row,
  // where points at 180 or -180 lie: ranges are widened beyond the circle, so no such point is
  // within the radius.
  if (lng_lo <= lng_hi) return {{first, 0}, {last, 0}, 1};
  // Across the antimeridian. A range that wraps with both ends in one slice (possible when a
  // cell is over 180 degrees wide) covers every slice.
  if (last >= first) return {{0, 0}, {end, 0}, 1};
  return {{first, 0}, {end, last}, 2};
}

std::pair<uint32_t, uint32_t> GridIndex::TileSlices(const SliceRanges& ranges, int r,
                                                    uint64_t column) {
  const uint64_t first =
      column == ranges.first[r] / kTileSlices ? ranges.first[r] % kTileSlices : 0;
  const uint64_t last =
      column == ranges.last[r] / kTileSlices ? ranges.last[r] % kTileSlices : kTileSlices - 1;
  return {static_cast<uint32_t>(first), static_cast<uint32_t>(last)};
}

// A circle is narrower than its bounding box in every row but the one through its middle, so
// each other row is given only the longitudes its own part of the circle can reach: for a 1 km
// circle on 0.01-degree cells, an eighth fewer points to fetch and test, and more for circles
// spanning more rows. The bound costs no trigonometry per row. A point at latitude phi within
// angle delta of the centre (phi0, lambda0) satisfies, by the haversine formula,
//
//   hav(dlambda) = (hav(delta) - hav(dphi)) / (cos(phi0) cos(phi))   (dphi = phi - phi0),
//
// and hav(delta) - hav(dphi) <= (delta^2 - dphi^2) / 4 for 0 <= dphi <= delta (hav(x) - x^2 / 4
// decreases). Over a row, |dphi| is at least its distance `near` from phi0 and cos(phi) at least
// cos(phi0) (1 - far^2 / 2) - |sin(phi0)| far, `far` being the farthest it reaches within the
// circle; so hav(dlambda) <= H, and dlambda = 2 asin(sqrt(hav)) <= 2 sqrt(H / (1 - H)). The
// result is then widened far beyond rounding error, as the bounding box is.
double GridIndex::RowHalfWidthDegrees(const RowBound& bound, uint64_t row) const {
  constexpr double kRadiansPerDegree = std::numbers::pi / 180;
  constexpr double kPadDegrees = 1e-9;
  const double lat_lo = static_cast<double>(row) * options_.cell_size_degrees - 90;
  const double lat_hi = std::min(90.0, lat_lo + options_.cell_size_degrees);
  if (lat_lo <= bound.lat_degrees && bound.lat_degrees <= lat_hi) return bound.box_half_width;
  const double near_degrees = std::max(lat_lo - bound.lat_degrees, bound.lat_degrees - lat_hi);
  const double far_degrees =
      std::max(std::abs(lat_lo - bound.lat_degrees), std::abs(lat_hi - bound.lat_degrees));
  const double near = std::max(0.0, near_degrees - kPadDegrees) * kRadiansPerDegree;
  const double far = std::min(bound.angle, (far_degrees + kPadDegrees) * kRadiansPerDegree);
  if (near >= bound.angle) return kPadDegrees;  // only the circle's tip, on its meridian
  const double cos_lo = bound.cos_lat * (1 - far * far / 2) - std::abs(bound.sin_lat) * far;
  if (!(cos_lo > 1e-3 * bound.cos_lat)) return bound.box_half_width;
  const double h = (bound.angle - near) * (bound.angle + near) / (4 * bound.cos_lat * cos_lo);
  if (!(h < 0.25)) return bound.box_half_width;
  const double half_width =
      2 * std::sqrt(h / (1 - h)) / kRadiansPerDegree * (1 + 1e-9) + kPadDegrees;
  return std::min(half_width, bound.box_half_width);
}

absl::Status GridIndex::SearchRadius(LatLng center, double radius_m, std::vector<Neighbor>* out,
                                     QueryStats* stats) const {
  KEEL_RETURN_IF_ERROR(internal::CheckRadiusQuery(center, radius_m));
  out->clear();
  const LatLngRect box = *LatLngRect::AroundCircle(center, radius_m);
  const uint64_t row_lo = Row(box.lat_lo());
  const uint64_t row_hi = Row(box.lat_hi());
  const uint64_t rows = row_hi - row_lo + 1;
  const SliceRanges box_ranges = box.is_full_lng()
                                     ? SliceRanges{{0, 0}, {slices_per_row_ - 1, 0}, 1}
                                     : RangesOf(box.lng_lo(), box.lng_hi());
  uint64_t tiles_per_box_row = 0;
  for (int r = 0; r < box_ranges.count; ++r) {
    tiles_per_box_row += box_ranges.last[r] / kTileSlices - box_ranges.first[r] / kTileSlices + 1;
  }

  // A small box looks every tile up, in waves so that the cache misses within each overlap: the
  // tags of every tile (mostly in cache), then the slots of the tiles present (sent before the
  // filter below computes its sines and cosines, so that they travel meanwhile), then every run
  // of points, then the tests.
  const bool direct = rows <= occupied_.size() && rows * tiles_per_box_row <= kDirectLookupTiles;
  struct Wanted {
    size_t slot;  // where its tag matches: almost surely the tile
    uint64_t key;
    uint64_t row;
    uint64_t column;
    int range;  // of box_ranges
  };
  Wanted wanted[kDirectLookupTiles];
  size_t wanted_count = 0;
  if (direct) {
    for (uint64_t row = row_lo; row <= row_hi; ++row) {
      for (int r = 0; r < box_ranges.count; ++r) {
        for (uint64_t column = box_ranges.first[r] / kTileSlices;
             column <= box_ranges.last[r] / kTileSlices; ++column) {
          const uint64_t key = row * tiles_per_row_ + column;
          const size_t home = Home(key);
          __builtin_prefetch(&tags_[home]);
          wanted[wanted_count++] = {home, key, row, column, r};
        }
      }
    }
    // Tiles whose tags say they are absent are dropped without touching their slots.
    const size_t mask = tiles_.size() - 1;
    size_t kept = 0;
    for (Wanted& w : std::span(wanted, wanted_count)) {
      const uint8_t tag = Tag(w.key);
      size_t i = w.slot;
      while (tags_[i] != 0 && tags_[i] != tag) i = (i + 1) & mask;
      if (tags_[i] == 0) continue;
      __builtin_prefetch(&tiles_[i]);
      w.slot = i;
      wanted[kept++] = w;
    }
    wanted_count = kept;
  }
  const internal::RadiusFilter filter(center, radius_m);

  // Rows are narrowed (RowHalfWidthDegrees) unless the circle reaches a pole, and only rows found
  // to hold a tile within the box: in sparse data most hold none. The angle is widened beyond the
  // rounding of DistanceMeters.
  const bool narrow = !box.is_full_lng() && rows > 1;
  RowBound bound{};
  if (narrow) {
    const Point3& c = filter.center();
    bound = {center.lat_degrees(), c.z, std::sqrt(c.x * c.x + c.y * c.y),
             radius_m / kEarthRadiusMeters * (1 + 1e-9) + 1e-12, box.lng_span() / 2};
  }
  // The slices of `row` the circle may reach: within box_ranges, and in as many ranges, each
  // inside the box range of the same index (a narrowed range wraps only if the box does).
  auto row_ranges = [&](uint64_t row) {
    if (!narrow) return box_ranges;
    const double half_width = RowHalfWidthDegrees(bound, row);
    if (half_width >= bound.box_half_width) return box_ranges;
    double lng_lo = center.lng_degrees() - half_width;
    double lng_hi = center.lng_degrees() + half_width;
    if (lng_lo < -180) lng_lo += 360;
    if (lng_hi > 180) lng_hi -= 360;
    const SliceRanges ranges = RangesOf(lng_lo, lng_hi);
    if (ranges.count == box_ranges.count) return ranges;
    // A box across the antimeridian whose row is not: the row lies within one of the box's two
    // ranges, so it takes that one's index and leaves the other empty.
    if (ranges.count == 1 && box_ranges.count == 2) {
      const int r = ranges.first[0] >= box_ranges.first[0] ? 0 : 1;
      SliceRanges one{{1, 1}, {0, 0}, 2};
      one.first[r] = ranges.first[0];
      one.last[r] = ranges.last[0];
      return one;
    }
    return box_ranges;  // a box of every slice (cells over 60 degrees wide): keep it whole
  };

  QueryStats s;
  // The points of `tile` in slices first..last, as one run.
  auto run_of = [](const Tile& tile, uint32_t first, uint32_t last) {
    const uint32_t begin = first == 0 ? 0 : tile.slice_end[first - 1];
    return std::pair<const Entry*, size_t>(tile.points + begin, tile.slice_end[last] - begin);
  };
  // The points of `tile`, in `column` of its row, within range r of `ranges` (none if the tile
  // lies outside it).
  auto run_within = [&](const Tile& tile, uint64_t column, const SliceRanges& ranges, int r) {
    if (r >= ranges.count || ranges.first[r] > ranges.last[r] ||
        column < ranges.first[r] / kTileSlices || column > ranges.last[r] / kTileSlices) {
      return std::pair<const Entry*, size_t>(nullptr, 0);
    }
    const auto [first, last] = TileSlices(ranges, r, column);
    return run_of(tile, first, last);
  };
  auto scan = [&](std::pair<const Entry*, size_t> run) {
    if (run.second == 0) return;
    filter.OfferAll(run.first, run.second, out);
    s.candidates += run.second;
    ++s.cells_visited;
  };

  if (direct) {
    SliceRanges row_slices{};
    uint64_t narrowed_row = UINT64_MAX;  // rows come in order: one at a time is enough
    std::pair<const Entry*, size_t> runs[kDirectLookupTiles];
    size_t run_count = 0;
    for (const Wanted& w : std::span(wanted, wanted_count)) {
      const Tile* tile = tiles_[w.slot].key == w.key ? &tiles_[w.slot] : FindTile(w.key);
      if (tile == nullptr) continue;
      if (w.row != narrowed_row) {
        row_slices = row_ranges(w.row);
        narrowed_row = w.row;
      }
      const std::pair<const Entry*, size_t> run = run_within(*tile, w.column, row_slices, w.range);
      if (run.second == 0) continue;
      const auto first = reinterpret_cast<uintptr_t>(run.first);
      const auto last = reinterpret_cast<uintptr_t>(run.first + run.second);
      for (uintptr_t line = first & ~uintptr_t{63}; line < last; line += 64) {
        __builtin_prefetch(reinterpret_cast<const void*>(line));
      }
      runs[run_count++] = run;
    }
    for (const auto& run : std::span(runs, run_count)) scan(run);
  } else if (rows > occupied_.size()) {
    // More rows than non-empty tiles (a wide search on a fine, sparse grid): test every one.
    for (const uint64_t key : occupied_) {
      const uint64_t row = key / tiles_per_row_;
      if (row < row_lo || row > row_hi) continue;
      for (int r = 0; r < box_ranges.count; ++r) {
        scan(run_within(*FindTile(key), key % tiles_per_row_, box_ranges, r));
      }
    }
  } else {
    // Many tiles: row by row, the non-empty ones within the box's slices, narrowed once the row
    // is known to hold one.
    for (uint64_t row = row_lo; row <= row_hi; ++row) {
      const uint64_t base = row * tiles_per_row_;
      bool narrowed = false;
      SliceRanges ranges{};
      for (int r = 0; r < box_ranges.count; ++r) {
        for (auto key = occupied_.lower_bound(base + box_ranges.first[r] / kTileSlices);
             key != occupied_.end() && *key <= base + box_ranges.last[r] / kTileSlices; ++key) {
          if (!narrowed) {
            ranges = row_ranges(row);
            narrowed = true;
          }
          scan(run_within(*FindTile(*key), *key - base, ranges, r));
        }
      }
    }
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
