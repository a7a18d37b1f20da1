// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
//
// Redis's geohash arithmetic (see geo_cells.h). Every expression keeps the order of Redis's
// operations, so that the rounding of each step is the same: a different but equivalent formula
// would move points across a search's edge.
#include "geo_cells.h"

#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>

#include "keel/base/assert.h"
#include "keel/base/strings.h"
#include "keel/geo/internal/interleave.h"

namespace keel::redis::internal {
namespace {

// Redis converts degrees with M_PI / 180.0 (not its unused DEG_TO_RAD constant).
constexpr double kDegreesToRadians = std::numbers::pi / 180.0;
// Mercator's half-width in metres: the step estimate doubles a radius until it passes it.
constexpr double kMercatorMax = 20037726.37;

double Radians(double degrees) { return degrees * kDegreesToRadians; }
double Degrees(double radians) { return radians / kDegreesToRadians; }

using geo::internal::Gather;
using geo::internal::Spread;

constexpr uint64_t kLngBits = 0xaaaaaaaaaaaaaaaaULL;  // odd positions
constexpr uint64_t kLatBits = 0x5555555555555555ULL;  // even positions

// Moves a cell one column east (+1) or west (-1), wrapping: adds or subtracts one in the odd
// bits alone. The latitude bits stay as they are, even any that spill past the cell's width.
GeoCell MoveLng(GeoCell cell, int d) {
  const int shift = 64 - cell.step * 2;
  uint64_t x = cell.bits & kLngBits;
  const uint64_t y = cell.bits & kLatBits;
  // Filling the latitude positions below the cell's width with ones makes a carry (or borrow)
  // ripple through them to the next longitude bit.
  const uint64_t filler = kLatBits >> shift;
  x = d > 0 ? x + (filler + 1) : (x | filler) - (filler + 1);
  x &= kLngBits >> shift;
  return {x | y, cell.step};
}

GeoCell MoveLat(GeoCell cell, int d) {
  const int shift = 64 - cell.step * 2;
  const uint64_t x = cell.bits & kLngBits;
  uint64_t y = cell.bits & kLatBits;
  const uint64_t filler = kLngBits >> shift;
  y = d > 0 ? y + (filler + 1) : (y | filler) - (filler + 1);
  y &= kLatBits >> shift;
  return {x | y, cell.step};
}

// The signed conversion x86-64's cvttsd2si does: truncation, or 2^63 when out of range.
uint64_t TruncateSigned(double x) {
  constexpr double k2Pow63 = 9223372036854775808.0;
  if (!(x >= -k2Pow63 && x < k2Pow63)) return uint64_t{1} << 63;
  return static_cast<uint64_t>(static_cast<int64_t>(x));
}

}  // namespace

GeoCell GeoEncode(GeoRange lng_range, GeoRange lat_range, double lng, double lat, int step) {
  KEEL_ASSERT(step >= 1 && step <= 32, "geohash step ", step);
  KEEL_ASSERT(lng >= kGeoLngMin && lng <= kGeoLngMax && lat >= kGeoLatMin && lat <= kGeoLatMax &&
                  lng >= lng_range.min && lng <= lng_range.max && lat >= lat_range.min &&
                  lat <= lat_range.max,
              "geohash of an invalid point ", lng, ",", lat);
  double lat_offset = (lat - lat_range.min) / (lat_range.max - lat_range.min);
  double lng_offset = (lng - lng_range.min) / (lng_range.max - lng_range.min);
  lat_offset *= static_cast<double>(uint64_t{1} << step);
  lng_offset *= static_cast<double>(uint64_t{1} << step);
  const auto lat_index = static_cast<uint32_t>(lat_offset);
  const auto lng_index = static_cast<uint32_t>(lng_offset);
  return {Spread(lat_index) | (Spread(lng_index) << 1), static_cast<uint8_t>(step)};
}

GeoArea GeoDecode(GeoRange lng_range, GeoRange lat_range, GeoCell cell) {
  const auto lat_index = static_cast<uint32_t>(Gather(cell.bits));
  const auto lng_index = static_cast<uint32_t>(Gather(cell.bits >> 1));
  const double lat_scale = lat_range.max - lat_range.min;
  const double lng_scale = lng_range.max - lng_range.min;
  const auto cells = static_cast<double>(uint64_t{1} << cell.step);
  // The upper index is computed in 32 bits, as in Redis: the last index wraps to 0.
  const uint32_t lat_next = lat_index + 1;
  const uint32_t lng_next = lng_index + 1;
  GeoArea area;
  area.lat.min = lat_range.min + (lat_index * 1.0 / cells) * lat_scale;
  area.lat.max = lat_range.min + (lat_next * 1.0 / cells) * lat_scale;
  area.lng.min = lng_range.min + (lng_index * 1.0 / cells) * lng_scale;
  area.lng.max = lng_range.min + (lng_next * 1.0 / cells) * lng_scale;
  return area;
}

uint64_t GeoScore(double lng, double lat) {
  return GeoEncode(kGeoLngRange, kGeoLatRange, lng, lat, kGeoStepMax).bits;
}

uint64_t GeoScoreBits(double score) {
  // GCC compiles the unsigned conversion as: below 2^63 (or NaN), the signed conversion; from
  // 2^63 up, the signed conversion of score - 2^63 with the top bit flipped.
  constexpr double k2Pow63 = 9223372036854775808.0;
  if (score >= k2Pow63) return TruncateSigned(score - k2Pow63) ^ (uint64_t{1} << 63);
  return TruncateSigned(score);
}

LngLat GeoDecodeScore(double score) {
  const GeoArea area =
      GeoDecode(kGeoLngRange, kGeoLatRange, {GeoScoreBits(score), uint8_t{kGeoStepMax}});
  LngLat p;
  p.lng = (area.lng.min + area.lng.max) / 2;
  if (p.lng > kGeoLngMax) p.lng = kGeoLngMax;
  if (p.lng < kGeoLngMin) p.lng = kGeoLngMin;
  p.lat = (area.lat.min + area.lat.max) / 2;
  if (p.lat > kGeoLatMax) p.lat = kGeoLatMax;
  if (p.lat < kGeoLatMin) p.lat = kGeoLatMin;
  return p;
}

std::string GeoHashText(double score) {
  static constexpr char kAlphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
  const LngLat p = GeoDecodeScore(score);
  const GeoCell cell = GeoEncode(kGeoLngRange, GeoRange{-90, 90}, p.lng, p.lat, kGeoStepMax);
  std::string text(11, '0');  // the 11th character stands for bits Redis does not have
  for (int i = 0; i < 10; ++i) text[i] = kAlphabet[(cell.bits >> (52 - (i + 1) * 5)) & 0x1f];
  return text;
}

GeoNeighbors GeoNeighborsOf(GeoCell cell) {
  GeoNeighbors n;
  n.east = MoveLng(cell, 1);
  n.west = MoveLng(cell, -1);
  n.south = MoveLat(cell, -1);
  n.north = MoveLat(cell, 1);
  n.north_west = MoveLat(MoveLng(cell, -1), 1);
  n.north_east = MoveLat(MoveLng(cell, 1), 1);
  n.south_east = MoveLat(MoveLng(cell, 1), -1);
  n.south_west = MoveLat(MoveLng(cell, -1), -1);
  return n;
}

double GeoLatDistance(double lat1, double lat2) {
  return kEarthRadiusMeters * std::fabs(Radians(lat2) - Radians(lat1));
}

double GeoDistance(double lng1, double lat1, double lng2, double lat2) {
  const double lng1_r = Radians(lng1);
  const double lng2_r = Radians(lng2);
  const double v = std::sin((lng2_r - lng1_r) / 2);
  // On one meridian the haversine reduces to the difference of latitudes.
  if (v == 0.0) return GeoLatDistance(lat1, lat2);
  const double lat1_r = Radians(lat1);
  const double lat2_r = Radians(lat2);
  const double u = std::sin((lat2_r - lat1_r) / 2);
  const double a = u * u + std::cos(lat1_r) * std::cos(lat2_r) * v * v;
  return 2.0 * kEarthRadiusMeters * std::asin(std::sqrt(a));
}

int GeoEstimateStep(double radius_m, double lat) {
  if (radius_m == 0) return kGeoStepMax;
  int step = 1;
  while (radius_m < kMercatorMax) {
    radius_m *= 2;
    ++step;
  }
  step -= 2;  // so that the radius fits the cells in most cases
  // Cells narrow toward the poles.
  if (lat > 66 || lat < -66) {
    --step;
    if (lat > 80 || lat < -80) --step;
  }
  if (step < 1) step = 1;
  if (step > kGeoStepMax) step = kGeoStepMax;
  return step;
}

GeoBounds GeoBoundingBox(const GeoShape& shape) {
  const bool circle = shape.kind == GeoShape::Kind::kRadius;
  const double height = shape.conversion * (circle ? shape.radius : shape.height / 2);
  const double width = shape.conversion * (circle ? shape.radius : shape.width / 2);
  const double lat_delta = Degrees(height / kEarthRadiusMeters);
  const double lng_delta_top =
      Degrees(width / kEarthRadiusMeters / std::cos(Radians(shape.lat + lat_delta)));
  const double lng_delta_bottom =
      Degrees(width / kEarthRadiusMeters / std::cos(Radians(shape.lat - lat_delta)));
  // The box is widest at the edge nearer the equator.
  const bool southern = shape.lat < 0;
  GeoBounds b;
  b.min_lng = southern ? shape.lng - lng_delta_bottom : shape.lng - lng_delta_top;
  b.max_lng = southern ? shape.lng + lng_delta_bottom : shape.lng + lng_delta_top;
  b.min_lat = shape.lat - lat_delta;
  b.max_lat = shape.lat + lat_delta;
  return b;
}

std::array<GeoCell, 9> GeoSearchCells(const GeoShape& shape) {
  const GeoBounds bounds = GeoBoundingBox(shape);
  // A box is estimated by its half-diagonal.
  double radius_m = shape.kind == GeoShape::Kind::kRadius
                        ? shape.radius
                        : std::sqrt((shape.width / 2) * (shape.width / 2) +
                                    (shape.height / 2) * (shape.height / 2));
  radius_m *= shape.conversion;
  int step = GeoEstimateStep(radius_m, shape.lat);
  GeoCell center = GeoEncode(kGeoLngRange, kGeoLatRange, shape.lng, shape.lat, step);
  GeoNeighbors n = GeoNeighborsOf(center);
  // One step coarser when a side neighbour does not reach the bounding box's edge.
  const GeoArea north = GeoDecode(kGeoLngRange, kGeoLatRange, n.north);
  const GeoArea south = GeoDecode(kGeoLngRange, kGeoLatRange, n.south);
  const GeoArea east = GeoDecode(kGeoLngRange, kGeoLatRange, n.east);
  const GeoArea west = GeoDecode(kGeoLngRange, kGeoLatRange, n.west);
  const bool too_fine = north.lat.max < bounds.max_lat || south.lat.min > bounds.min_lat ||
                        east.lng.max < bounds.max_lng || west.lng.min > bounds.min_lng;
  if (step > 1 && too_fine) {
    --step;
    center = GeoEncode(kGeoLngRange, kGeoLatRange, shape.lng, shape.lat, step);
    n = GeoNeighborsOf(center);
  }
  // Neighbours on a side the bounding box does not reach past the centre cell are dropped.
  if (step >= 2) {
    const GeoArea area = GeoDecode(kGeoLngRange, kGeoLatRange, center);
    if (area.lat.min < bounds.min_lat) n.south = n.south_west = n.south_east = GeoCell{};
    if (area.lat.max > bounds.max_lat) n.north = n.north_east = n.north_west = GeoCell{};
    if (area.lng.min < bounds.min_lng) n.west = n.south_west = n.north_west = GeoCell{};
    if (area.lng.max > bounds.max_lng) n.east = n.south_east = n.north_east = GeoCell{};
  }
  return {center,       n.north,      n.south,      n.east,      n.west,
          n.north_east, n.north_west, n.south_east, n.south_west};
}

GeoScoreRange GeoCellScores(GeoCell cell) {
  const int shift = 52 - cell.step * 2;
  return {cell.bits << shift, (cell.bits + 1) << shift};
}

bool GeoWithinShape(const GeoShape& shape, double score, LngLat* position, double* distance_m) {
  *position = GeoDecodeScore(score);
  const LngLat p = *position;
  if (shape.kind == GeoShape::Kind::kRadius) {
    *distance_m = GeoDistance(shape.lng, shape.lat, p.lng, p.lat);
    return !(*distance_m > shape.radius * shape.conversion);
  }
  const double width_m = shape.width * shape.conversion;
  const double height_m = shape.height * shape.conversion;
  // Along the meridian first (cheaper), then along the member's parallel.
  if (GeoLatDistance(p.lat, shape.lat) > height_m / 2) return false;
  if (GeoDistance(p.lng, p.lat, shape.lng, p.lat) > width_m / 2) return false;
  *distance_m = GeoDistance(shape.lng, shape.lat, p.lng, p.lat);
  return true;
}

std::string GeoDistanceText(double distance) {
  if (distance == 0) return "0.0000";
  // llrint on x86-64: round half to even, and INT64_MIN for NaN or anything out of range.
  const double scaled = distance * 10000.0;
  constexpr double k2Pow63 = 9223372036854775808.0;
  const int64_t rounded = scaled >= -k2Pow63 && scaled < k2Pow63 ? std::llrint(scaled) : INT64_MIN;
  const uint64_t magnitude =
      rounded < 0 ? 0 - static_cast<uint64_t>(rounded) : static_cast<uint64_t>(rounded);
  std::string fraction = base::Cat(magnitude % 10000);
  fraction.insert(0, 4 - fraction.size(), '0');
  return base::Cat(rounded < 0 ? "-" : "", magnitude / 10000, ".", fraction);
}

}  // namespace keel::redis::internal
