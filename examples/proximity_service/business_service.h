// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// The proximity service's two services in one class: the Location-Based Service (search nearby,
// read-heavy) and the Business Service (business details and add/update/delete, write-light),
// over a business table and a keel::geo::SpatialIndex that follows every write.
//
// Search results are paginated the way the design's API is: GET /v1/search/nearby with latitude,
// longitude, radius and a page size returns one page and a cursor for the next. Results are
// ordered by (distance, business id), so the cursor is simply the last result's position in that
// order: the next page starts strictly after it, and a business added or removed meanwhile never
// makes a page repeat or skip another one.
#ifndef KEEL_EXAMPLES_PROXIMITY_SERVICE_BUSINESS_SERVICE_H_
#define KEEL_EXAMPLES_PROXIMITY_SERVICE_BUSINESS_SERVICE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "keel/geo/spatial_index.h"

namespace keel::examples {

struct Business {
  geo::PointId id = 0;
  std::string name;
  std::string category;
  double rating = 0;  // 0 to 5 stars
  geo::LatLng location;
};

struct SearchResult {
  geo::PointId id;
  std::string name;
  double distance_m;
};

struct Page {
  std::vector<SearchResult> results;
  std::string next_cursor;  // empty on the last page
};

class BusinessService {
 public:
  static constexpr int kMaxPageSize = 100;
  static constexpr double kMaxRadiusMeters = 50'000;  // the API's limit: 50 km

  explicit BusinessService(std::unique_ptr<geo::SpatialIndex> index) : index_(std::move(index)) {}

  // Replaces everything with `businesses` (a bulk load), building the index in one go.
  absl::Status Load(std::vector<Business> businesses);

  // POST /v1/businesses. Errors: a repeated id, an invalid location or rating.
  absl::Status Add(Business business);
  // PUT /v1/businesses/{id}: the index moves the business if its location changed.
  absl::Status Update(const Business& business);
  // DELETE /v1/businesses/{id}.
  absl::Status Delete(geo::PointId id);
  // GET /v1/businesses/{id}.
  absl::StatusOr<Business> Get(geo::PointId id) const;

  // GET /v1/search/nearby. Errors: a bad location, a radius outside (0, kMaxRadiusMeters], a page
  // size outside [1, kMaxPageSize], or a malformed cursor. A cursor is the position (distance, id)
  // of the last result shown; any well-formed position is accepted and the page starts after it.
  absl::StatusOr<Page> SearchNearby(geo::LatLng location, double radius_m, int page_size,
                                    std::string_view cursor) const;

  [[nodiscard]] size_t size() const { return businesses_.size(); }
  [[nodiscard]] const geo::SpatialIndex& index() const { return *index_; }

 private:
  absl::Status Validate(const Business& business) const;

  std::unique_ptr<geo::SpatialIndex> index_;
  absl::flat_hash_map<geo::PointId, Business> businesses_;
};

}  // namespace keel::examples

#endif  // KEEL_EXAMPLES_PROXIMITY_SERVICE_BUSINESS_SERVICE_H_
