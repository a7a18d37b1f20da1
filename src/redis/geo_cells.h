// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Redis's geohash arithmetic, private to src/redis: the 52-bit scores a geo set stores, the cells
// a search scans, and the distances it measures, computed step for step as Redis 7.0's geohash.c
// and geohash_helper.c compute them, so that every score, coordinate and distance keel replies
// with is Redis's to the last bit.
//
// A position is a cell of a grid that halves the longitude range [-180, 180] and the latitude
// range [-85.05112878, 85.05112878] (Web Mercator's) `step` times each. The cell's index
// interleaves the two coordinates' indices, latitude in the even bits and longitude in the odd
// ones (the opposite of the standard geohash, which starts with longitude; keel/geo/geohash.h has
// the standard one and EncodeRedis, which gives the same 52-bit scores). A geo set member's score
// is its 26-step cell; its position is that cell's centre.
//
// A search (GEOSEARCH, GEORADIUS) picks a step from the radius, takes the centre's cell at that
// step and its 8 neighbours, and scans each as a range of scores. What Redis does here is not
// exact geometry, and keel keeps each of its choices, because they decide which members a reply
// holds and in what order:
//   - the step comes from the radius alone (doubled until it passes Mercator's half-width), one
//     or two coarser near the poles, one coarser again when a neighbour does not reach the edge
//     of the search's bounding box;
//   - neighbours wrap around at the poles (north of the top row is the bottom row), as they do
//     at the antimeridian;
//   - neighbours outside the bounding box are dropped, and a neighbour equal to the one scanned
//     just before it is skipped (but not one equal to the centre);
//   - a score that is no 52-bit cell (a member added with ZADD) is converted to an integer as
//     x86-64 converts a double, then decoded with its extra bits, and the result clamped.
//
// Distances use the haversine formula on a sphere of radius 6372797.560856 m, with Redis's
// shortcut when the longitudes are equal.
#ifndef KEEL_SRC_REDIS_GEO_CELLS_H_
#define KEEL_SRC_REDIS_GEO_CELLS_H_

#include <array>
#include <cstdint>
#include <string>

namespace keel::redis::internal {

inline constexpr int kGeoStepMax = 26;  // 52-bit scores
inline constexpr double kGeoLngMin = -180;
inline constexpr double kGeoLngMax = 180;
inline constexpr double kGeoLatMin = -85.05112878;
inline constexpr double kGeoLatMax = 85.05112878;
inline constexpr double kEarthRadiusMeters = 6372797.560856;

struct GeoRange {
  double min;
  double max;
};
inline constexpr GeoRange kGeoLngRange{kGeoLngMin, kGeoLngMax};
inline constexpr GeoRange kGeoLatRange{kGeoLatMin, kGeoLatMax};

// A cell: `step` halvings of each coordinate, interleaved into `bits`. The all-zero cell is
// Redis's "no cell" (a neighbour the search dropped).
struct GeoCell {
  uint64_t bits = 0;
  uint8_t step = 0;
  [[nodiscard]] bool none() const { return bits == 0 && step == 0; }
  friend bool operator==(const GeoCell&, const GeoCell&) = default;
};

struct GeoArea {
  GeoRange lng;
  GeoRange lat;
};

struct LngLat {
  double lng;
  double lat;
};

// The cell of (lng, lat) at `step` (1 to 32) in the given ranges. REQUIRES: the point is inside
// both the ranges and Redis's limits. A point on a range's upper edge gets the index 2^step,
// whose bit spills past the cell's width, as in Redis.
[[nodiscard]] GeoCell GeoEncode(GeoRange lng_range, GeoRange lat_range, double lng, double lat,
                                int step);

// The area of a cell (its index + 1 wrapping in 32 bits, as Redis's does).
[[nodiscard]] GeoArea GeoDecode(GeoRange lng_range, GeoRange lat_range, GeoCell cell);

// The score GEOADD stores for a point within Redis's limits.
[[nodiscard]] uint64_t GeoScore(double lng, double lat);

// A score as an integer, as Redis's `(uint64_t)score` comes out on x86-64 (compiled by GCC):
// truncation below 2^63, wrapping for negative values, 2^63 for anything out of range.
[[nodiscard]] uint64_t GeoScoreBits(double score);

// The position a score stands for: its 26-step cell's centre, clamped to Redis's limits
// (decodeGeohash). Defined for every score.
[[nodiscard]] LngLat GeoDecodeScore(double score);

// GEOHASH's 11 characters: the position re-encoded with the standard latitude range [-90, 90],
// 10 characters of its 52 bits, and '0'.
[[nodiscard]] std::string GeoHashText(double score);

// The 8 neighbours of a cell, wrapping around in both directions.
struct GeoNeighbors {
  GeoCell north, south, east, west, north_east, north_west, south_east, south_west;
};
[[nodiscard]] GeoNeighbors GeoNeighborsOf(GeoCell cell);

// Haversine distance in metres between two points in degrees (geohashGetDistance).
[[nodiscard]] double GeoDistance(double lng1, double lat1, double lng2, double lat2);
// Distance along a meridian (geohashGetLatDistance).
[[nodiscard]] double GeoLatDistance(double lat1, double lat2);

// The step for a search of `radius_m` metres around latitude `lat` (1 to 26).
[[nodiscard]] int GeoEstimateStep(double radius_m, double lat);

// What a search covers: a circle of `radius` units, or a `width` x `height` box, centred on
// (lng, lat); `conversion` is metres per unit (1, 1000, 0.3048, 1609.34).
struct GeoShape {
  enum class Kind { kRadius, kBox };
  Kind kind = Kind::kRadius;
  double lng = 0;
  double lat = 0;
  double conversion = 1;
  double radius = 0;
  double width = 0;
  double height = 0;
};

// The shape's bounding box in degrees: min_lng, min_lat, max_lng, max_lat (geohashBoundingBox).
struct GeoBounds {
  double min_lng, min_lat, max_lng, max_lat;
};
[[nodiscard]] GeoBounds GeoBoundingBox(const GeoShape& shape);

// The 9 cells a search scans, in Redis's order: the centre, north, south, east, west,
// north-east, north-west, south-east, south-west. Dropped neighbours are none().
[[nodiscard]] std::array<GeoCell, 9> GeoSearchCells(const GeoShape& shape);

// The scores of a cell's members: [min, max).
struct GeoScoreRange {
  uint64_t min;
  uint64_t max;
};
[[nodiscard]] GeoScoreRange GeoCellScores(GeoCell cell);

// Whether the position of `score` is within the shape: sets *position, and *distance_m (the
// distance from the centre, in metres) for a member within it (geoWithinShape).
[[nodiscard]] bool GeoWithinShape(const GeoShape& shape, double score, LngLat* position,
                                  double* distance_m);

// A distance as GEODIST and WITHDIST show it: 4 decimals, rounded half to even
// (fixedpoint_d2string).
[[nodiscard]] std::string GeoDistanceText(double distance);

}  // namespace keel::redis::internal

#endif  // KEEL_SRC_REDIS_GEO_CELLS_H_
