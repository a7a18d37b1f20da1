// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/geo/internal/keyed_index.h"

#include <algorithm>

#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "search.h"

namespace keel::geo::internal {
namespace {

// Sorts ranges and merges those that overlap or touch, so each key is scanned once.
void MergeRanges(std::vector<KeyRange>* ranges) {
  std::sort(ranges->begin(), ranges->end(),
            [](const KeyRange& a, const KeyRange& b) { return a.lo < b.lo; });
  size_t out = 0;
  for (const KeyRange& r : *ranges) {
    if (out > 0 && (*ranges)[out - 1].hi != UINT64_MAX && r.lo <= (*ranges)[out - 1].hi + 1) {
      (*ranges)[out - 1].hi = std::max((*ranges)[out - 1].hi, r.hi);
    } else {
      (*ranges)[out++] = r;
    }
  }
  ranges->resize(out);
}

}  // namespace

KeyedPointIndex::KeyedPointIndex()
    : points_(base::CountingAllocator<std::pair<const Key, Point3>>(&memory_)),
      locations_(0, base::Hasher(), std::equal_to<PointId>(),
                 base::CountingAllocator<std::pair<const PointId, LatLng>>(&memory_)) {}

absl::Status KeyedPointIndex::Build(std::span<const IndexedPoint> points) {
  Locations locations(0, base::Hasher(), std::equal_to<PointId>(),
                      base::CountingAllocator<std::pair<const PointId, LatLng>>(&memory_));
  locations.reserve(points.size());
  for (const IndexedPoint& point : points) {
    KEEL_RETURN_IF_ERROR(CheckLocation(point.id, point.location));
    if (!locations.emplace(point.id, point.location).second) return DuplicateId(point.id);
  }
  // Sorted input builds the B-tree by appending at its end, its fastest path.
  std::vector<std::pair<Key, Point3>> sorted;
  sorted.reserve(points.size());
  for (const IndexedPoint& point : points) {
    sorted.push_back({{KeyOf(point.location), point.id}, point.location.ToPoint()});
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  Tree tree{base::CountingAllocator<std::pair<const Key, Point3>>(&memory_)};
  for (const auto& [key, p] : sorted) tree.insert(tree.end(), {key, p});
  points_.swap(tree);
  locations_.swap(locations);
  return absl::OkStatus();
}

absl::Status KeyedPointIndex::Insert(PointId id, LatLng location) {
  KEEL_RETURN_IF_ERROR(CheckLocation(id, location));
  if (!locations_.emplace(id, location).second) return DuplicateId(id);
  points_.emplace(Key{KeyOf(location), id}, location.ToPoint());
  return absl::OkStatus();
}

absl::Status KeyedPointIndex::Erase(PointId id) {
  const auto it = locations_.find(id);
  if (it == locations_.end()) return UnknownId(id);
  const size_t erased = points_.erase(Key{KeyOf(it->second), id});
  KEEL_ASSERT(erased == 1, "point ", id, " was in the location map but not in the tree");
  locations_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<LatLng> KeyedPointIndex::Find(PointId id) const {
  const auto it = locations_.find(id);
  if (it == locations_.end()) return UnknownId(id);
  return it->second;
}

size_t KeyedPointIndex::MemoryBytes() const { return static_cast<size_t>(memory_.bytes()); }

absl::Status KeyedPointIndex::SearchRadius(LatLng center, double radius_m,
                                           std::vector<Neighbor>* out, QueryStats* stats) const {
  KEEL_RETURN_IF_ERROR(CheckRadiusQuery(center, radius_m));
  out->clear();
  std::vector<KeyRange> ranges;
  // A covering is worth having only when it can rule points out.
  if (radius_m >= kMaxDistanceMeters) {
    ranges.push_back({0, UINT64_MAX});
  } else {
    CoveringRanges(center, radius_m, &ranges);
    MergeRanges(&ranges);
  }
  const RadiusFilter filter(center, radius_m);
  size_t candidates = 0;
  for (const KeyRange& range : ranges) {
    auto it = points_.lower_bound(Key{range.lo, 0});
    for (; it != points_.end() && it->first.first <= range.hi; ++it) {
      filter.Offer({it->second, it->first.second}, out);
      ++candidates;
    }
  }
  SortNeighbors(out);
  if (stats != nullptr) {
    stats->cells_visited = ranges.size();
    stats->candidates = candidates;
  }
  return absl::OkStatus();
}

absl::Status KeyedPointIndex::Nearest(LatLng center, size_t k, std::vector<Neighbor>* out,
                                      QueryStats* stats) const {
  KEEL_RETURN_IF_ERROR(CheckNearestQuery(center, k));
  // Any k points bound the answer: the k nearest are all within the distance of the farthest of
  // them. Points next to the centre's key in key order are usually near it (cells are numbered
  // so that neighbouring numbers are neighbouring places), so their farthest distance makes a
  // tight first radius. When key order jumps far away, the radius is merely larger: still exact.
  QueryStats total;
  const Point3 c = center.ToPoint();
  double radius = 0;
  {
    const Key start{KeyOf(center), 0};
    auto up = points_.lower_bound(start);
    auto down = up;
    size_t taken = 0;
    while (taken < k && (up != points_.end() || down != points_.begin())) {
      if (up != points_.end()) {
        radius = std::max(radius, DistanceMeters(c, up->second));
        ++up;
        ++taken;
      }
      if (taken < k && down != points_.begin()) {
        --down;
        radius = std::max(radius, DistanceMeters(c, down->second));
        ++taken;
      }
    }
    total.candidates += taken;
    if (taken < k) radius = kMaxDistanceMeters;  // fewer than k points: take them all
  }
  // Where key order wanders far (a grid numbers cells row by row, so the next keys may lie a
  // continent away), a small radius grown by doubling finds the answer sooner; it never needs
  // to grow past the radius already known to hold k points.
  const double known = radius;
  const double probe = ProbeRadius(known);
  if (probe > 0 && probe < known) radius = probe;
  for (;;) {
    QueryStats round;
    KEEL_RETURN_IF_ERROR(SearchRadius(center, radius, out, &round));
    total.cells_visited += round.cells_visited;
    total.candidates += round.candidates;
    if (out->size() >= k || radius >= known) break;
    radius = std::min(known, radius * 2);
  }
  if (out->size() < std::min(k, size())) {
    return absl::InternalError(
        base::Cat("a radius measured to hold ", k, " points held only ", out->size()));
  }
  KeepNearest(k, out);
  if (stats != nullptr) *stats = total;
  return absl::OkStatus();
}

}  // namespace keel::geo::internal
