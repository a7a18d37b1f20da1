// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "business_service.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"

namespace keel::examples {
namespace {

// A cursor is the (distance, id) of the last result shown, as two hex numbers: the distance's
// bits, so that it compares exactly.
std::string EncodeCursor(const geo::Neighbor& last) {
  return absl::StrFormat("%016x.%x", std::bit_cast<uint64_t>(last.distance_m), last.id);
}

absl::StatusOr<geo::Neighbor> DecodeCursor(std::string_view cursor) {
  const size_t dot = cursor.find('.');
  uint64_t bits = 0;
  uint64_t id = 0;
  if (dot == std::string_view::npos ||
      !absl::SimpleHexAtoi(absl::string_view(cursor.data(), dot), &bits) ||
      !absl::SimpleHexAtoi(absl::string_view(cursor.data() + dot + 1, cursor.size() - dot - 1),
                           &id)) {
    return absl::InvalidArgumentError(base::Cat("malformed cursor ", base::Quoted(cursor)));
  }
  const double distance = std::bit_cast<double>(bits);
  if (!(distance >= 0 && distance <= geo::kMaxDistanceMeters)) {
    return absl::InvalidArgumentError(
        base::Cat("cursor ", base::Quoted(cursor), " does not hold a distance this service gives"));
  }
  return geo::Neighbor{id, distance};
}

}  // namespace

absl::Status BusinessService::Validate(const Business& b) const {
  if (!b.location.is_valid()) {
    return absl::InvalidArgumentError(
        base::Cat("business ", b.id, " has invalid location ", b.location.ToString()));
  }
  if (!(b.rating >= 0 && b.rating <= 5)) {
    return absl::InvalidArgumentError(
        base::Cat("business ", b.id, " has rating ", b.rating, ", outside [0, 5]"));
  }
  return absl::OkStatus();
}

absl::Status BusinessService::Load(std::vector<Business> businesses) {
  std::vector<geo::IndexedPoint> points;
  points.reserve(businesses.size());
  for (const Business& b : businesses) {
    KEEL_RETURN_IF_ERROR(Validate(b));
    points.push_back({b.id, b.location});
  }
  KEEL_RETURN_IF_ERROR(index_->Build(points));
  businesses_.clear();
  for (Business& b : businesses) businesses_.emplace(b.id, std::move(b));
  return absl::OkStatus();
}

absl::Status BusinessService::Add(Business business) {
  KEEL_RETURN_IF_ERROR(Validate(business));
  KEEL_RETURN_IF_ERROR(index_->Insert(business.id, business.location));
  businesses_.emplace(business.id, std::move(business));
  return absl::OkStatus();
}

absl::Status BusinessService::Update(const Business& business) {
  KEEL_RETURN_IF_ERROR(Validate(business));
  auto it = businesses_.find(business.id);
  if (it == businesses_.end()) {
    return absl::NotFoundError(base::Cat("no business ", business.id));
  }
  if (!(it->second.location == business.location)) {
    KEEL_RETURN_IF_ERROR(index_->Move(business.id, business.location));
  }
  it->second = business;
  return absl::OkStatus();
}

absl::Status BusinessService::Delete(geo::PointId id) {
  KEEL_RETURN_IF_ERROR(index_->Erase(id));
  businesses_.erase(id);
  return absl::OkStatus();
}

absl::StatusOr<Business> BusinessService::Get(geo::PointId id) const {
  const auto it = businesses_.find(id);
  if (it == businesses_.end()) return absl::NotFoundError(base::Cat("no business ", id));
  return it->second;
}

absl::StatusOr<Page> BusinessService::SearchNearby(geo::LatLng location, double radius_m,
                                                   int page_size, std::string_view cursor) const {
  if (!(radius_m > 0 && radius_m <= kMaxRadiusMeters)) {
    return absl::InvalidArgumentError(
        base::Cat("radius ", radius_m, " m is outside (0, ", kMaxRadiusMeters, "]"));
  }
  if (page_size < 1 || page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(
        base::Cat("page size ", page_size, " is outside [1, ", kMaxPageSize, "]"));
  }
  std::vector<geo::Neighbor> found;
  KEEL_RETURN_IF_ERROR(index_->SearchRadius(location, radius_m, &found));
  auto start = found.begin();
  if (!cursor.empty()) {
    KEEL_ASSIGN_OR_RETURN(const geo::Neighbor after, DecodeCursor(cursor));
    start = std::upper_bound(
        found.begin(), found.end(), after, [](const geo::Neighbor& a, const geo::Neighbor& b) {
          return a.distance_m != b.distance_m ? a.distance_m < b.distance_m : a.id < b.id;
        });
  }
  Page page;
  const auto end = start + std::min<std::ptrdiff_t>(page_size, found.end() - start);
  for (auto it = start; it != end; ++it) {
    page.results.push_back({it->id, businesses_.at(it->id).name, it->distance_m});
  }
  if (end != found.end()) page.next_cursor = EncodeCursor(*(end - 1));
  return page;
}

}  // namespace keel::examples
