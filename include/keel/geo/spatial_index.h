// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// SpatialIndex: one interface for the five ways the proximity-service design finds what is near
// a point, so that a service can swap them with a flag and a benchmark can compare them on the
// same data.
//
//   kind           class                 how it finds candidates
//   brute_force    BruteForceIndex       scans every point ("two-dimensional search")
//   grid           GridIndex             an evenly divided latitude/longitude grid
//   geohash        GeohashIndex          points keyed by 60-bit geohash; a query scans the key
//                                        ranges of the geohash cells covering the circle
//   quadtree       Quadtree              an adaptive quadtree whose leaves hold at most
//                                        `leaf_capacity` points
//   s2             CellIndex             points keyed by S2-compatible leaf cell id; a query scans
//                                        the id ranges of a CoverCap covering
//
// Every index answers exactly: a radius search returns the same points as testing every point
// with DistanceMeters(center, p) <= radius_m, and a k-nearest search the same k points, ordered
// by (distance, id) so that ties come out the same everywhere. The indexes differ only in how
// many candidates they look at, how fast, and how much memory they hold; QueryStats and
// MemoryBytes() report that.
//
// Points are (PointId, LatLng) pairs; ids are unique within an index.
//
// Example:
//
//   absl::StatusOr<std::unique_ptr<keel::geo::SpatialIndex>> index =
//       keel::geo::NewSpatialIndex("quadtree");
//   (*index)->Insert(/*id=*/42, keel::geo::LatLng::FromDegrees(37.7749, -122.4194));
//   std::vector<keel::geo::Neighbor> near;
//   (*index)->SearchRadius(keel::geo::LatLng::FromDegrees(37.775, -122.419), 500, &near);
//   // near[0].id == 42, near[0].distance_m about 37
//
// Thread safety: const methods may run concurrently; a non-const method needs exclusive access.
#ifndef KEEL_GEO_SPATIAL_INDEX_H_
#define KEEL_GEO_SPATIAL_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keel/geo/lat_lng.h"

namespace keel::geo {

using PointId = uint64_t;

struct IndexedPoint {
  PointId id = 0;
  LatLng location;
};

// A search result.
struct Neighbor {
  PointId id = 0;
  double distance_m = 0;

  friend bool operator==(const Neighbor&, const Neighbor&) = default;
};

// How much work a query did, for comparing indexes.
struct QueryStats {
  size_t cells_visited = 0;  // cells, nodes or key ranges looked at
  size_t candidates = 0;     // points whose distance was tested
};

class SpatialIndex {
 public:
  virtual ~SpatialIndex() = default;

  // The kind, as NewSpatialIndex takes it ("quadtree").
  [[nodiscard]] virtual std::string_view kind() const = 0;

  // Replaces the contents with `points`. Errors: kInvalidArgument for an invalid location,
  // kAlreadyExists for an id given twice; on error the index is unchanged.
  [[nodiscard]] virtual absl::Status Build(std::span<const IndexedPoint> points) = 0;

  // Adds a point. Errors: kInvalidArgument for an invalid location, kAlreadyExists for an id the
  // index holds already (the stored point is kept).
  [[nodiscard]] virtual absl::Status Insert(PointId id, LatLng location) = 0;

  // Removes a point. Errors: kNotFound.
  [[nodiscard]] virtual absl::Status Erase(PointId id) = 0;

  // Moves a point. Errors: kNotFound, kInvalidArgument (checked before anything changes, so the
  // point is never lost).
  [[nodiscard]] virtual absl::Status Move(PointId id, LatLng location);

  // Where a point is. Errors: kNotFound.
  [[nodiscard]] virtual absl::StatusOr<LatLng> Find(PointId id) const = 0;

  [[nodiscard]] virtual size_t size() const = 0;

  // Bytes the index's containers hold (counted, not estimated; malloc overhead excluded).
  [[nodiscard]] virtual size_t MemoryBytes() const = 0;

  // Replaces *out with the points within `radius_m` of `center`, nearest first (ties by id).
  // A radius of kMaxDistanceMeters or more returns every point. Errors (kInvalidArgument): an
  // invalid centre; a negative, NaN or infinite radius.
  [[nodiscard]] virtual absl::Status SearchRadius(LatLng center, double radius_m,
                                                  std::vector<Neighbor>* out,
                                                  QueryStats* stats = nullptr) const = 0;

  // Replaces *out with the k points nearest `center` (all of them if there are fewer), nearest
  // first, ties by id. Errors (kInvalidArgument): an invalid centre, k == 0.
  [[nodiscard]] virtual absl::Status Nearest(LatLng center, size_t k, std::vector<Neighbor>* out,
                                             QueryStats* stats = nullptr) const = 0;
};

// The kinds NewSpatialIndex accepts, in the order of the table above.
[[nodiscard]] std::span<const std::string_view> SpatialIndexKinds();

// A new, empty index of `kind` with its default options. Errors (kInvalidArgument): an unknown
// kind, naming the known ones.
[[nodiscard]] absl::StatusOr<std::unique_ptr<SpatialIndex>> NewSpatialIndex(std::string_view kind);

}  // namespace keel::geo

#endif  // KEEL_GEO_SPATIAL_INDEX_H_
