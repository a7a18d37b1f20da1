// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/geo/brute_force_index.h"

#include <algorithm>

#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "search.h"

namespace keel::geo {

BruteForceIndex::BruteForceIndex()
    : points_(base::CountingAllocator<Point3>(&memory_)),
      locations_(base::CountingAllocator<LatLng>(&memory_)),
      ids_(base::CountingAllocator<PointId>(&memory_)),
      slots_(0, base::Hasher(), std::equal_to<PointId>(),
             base::CountingAllocator<std::pair<const PointId, uint32_t>>(&memory_)) {}

absl::Status BruteForceIndex::Build(std::span<const IndexedPoint> points) {
  if (points.size() >= UINT32_MAX) {
    return absl::ResourceExhaustedError(
        base::Cat("BruteForceIndex holds at most 2^32 - 2 points, not ", points.size()));
  }
  // Check everything first, so that a bad point leaves the index as it was.
  SlotMap seen(0, base::Hasher(), std::equal_to<PointId>(),
               base::CountingAllocator<std::pair<const PointId, uint32_t>>(&memory_));
  seen.reserve(points.size());
  for (const IndexedPoint& point : points) {
    KEEL_RETURN_IF_ERROR(internal::CheckLocation(point.id, point.location));
    if (!seen.emplace(point.id, static_cast<uint32_t>(seen.size())).second) {
      return internal::DuplicateId(point.id);
    }
  }
  points_.clear();
  locations_.clear();
  ids_.clear();
  points_.reserve(points.size());
  locations_.reserve(points.size());
  ids_.reserve(points.size());
  for (const IndexedPoint& point : points) {
    points_.push_back(point.location.ToPoint());
    locations_.push_back(point.location);
    ids_.push_back(point.id);
  }
  slots_.swap(seen);
  return absl::OkStatus();
}

absl::Status BruteForceIndex::Insert(PointId id, LatLng location) {
  KEEL_RETURN_IF_ERROR(internal::CheckLocation(id, location));
  KEEL_ASSERT(ids_.size() < UINT32_MAX, "BruteForceIndex holds at most 2^32 - 1 points");
  if (!slots_.emplace(id, static_cast<uint32_t>(ids_.size())).second) {
    return internal::DuplicateId(id);
  }
  points_.push_back(location.ToPoint());
  locations_.push_back(location);
  ids_.push_back(id);
  return absl::OkStatus();
}

absl::Status BruteForceIndex::Erase(PointId id) {
  const auto it = slots_.find(id);
  if (it == slots_.end()) return internal::UnknownId(id);
  const uint32_t slot = it->second;
  slots_.erase(it);
  const size_t last = ids_.size() - 1;
  if (slot != last) {
    points_[slot] = points_[last];
    locations_[slot] = locations_[last];
    ids_[slot] = ids_[last];
    slots_[ids_[slot]] = slot;
  }
  points_.pop_back();
  locations_.pop_back();
  ids_.pop_back();
  return absl::OkStatus();
}

absl::StatusOr<LatLng> BruteForceIndex::Find(PointId id) const {
  const auto it = slots_.find(id);
  if (it == slots_.end()) return internal::UnknownId(id);
  return locations_[it->second];
}

size_t BruteForceIndex::MemoryBytes() const { return static_cast<size_t>(memory_.bytes()); }

absl::Status BruteForceIndex::SearchRadius(LatLng center, double radius_m,
                                           std::vector<Neighbor>* out, QueryStats* stats) const {
  KEEL_RETURN_IF_ERROR(internal::CheckRadiusQuery(center, radius_m));
  out->clear();
  const internal::RadiusFilter filter(center, radius_m);
  for (size_t i = 0; i < points_.size(); ++i) filter.Offer({points_[i], ids_[i]}, out);
  internal::SortNeighbors(out);
  if (stats != nullptr) {
    stats->cells_visited = 1;
    stats->candidates = points_.size();
  }
  return absl::OkStatus();
}

absl::Status BruteForceIndex::Nearest(LatLng center, size_t k, std::vector<Neighbor>* out,
                                      QueryStats* stats) const {
  KEEL_RETURN_IF_ERROR(internal::CheckNearestQuery(center, k));
  out->clear();
  if (stats != nullptr) {
    stats->cells_visited = 1;
    stats->candidates = points_.size();
  }
  if (points_.empty()) return absl::OkStatus();
  // The k smallest squared chords bound the answer; any point whose chord is within rounding of
  // the k-th is measured exactly too, so that ties and near-ties are ordered by true distance.
  const Point3 c = center.ToPoint();
  std::vector<double> chords(points_.size());
  for (size_t i = 0; i < points_.size(); ++i) chords[i] = ChordDistance2(c, points_[i]);
  std::vector<double> sorted = chords;
  const size_t kth = std::min(k, sorted.size()) - 1;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(kth), sorted.end());
  const double limit = sorted[kth] * (1 + 1e-9) + 1e-30;
  for (size_t i = 0; i < points_.size(); ++i) {
    if (chords[i] <= limit) {
      out->push_back({ids_[i], internal::ChordDistance2ToMeters(chords[i], c, points_[i])});
    }
  }
  internal::SortNeighbors(out);
  internal::KeepNearest(k, out);
  return absl::OkStatus();
}

}  // namespace keel::geo
