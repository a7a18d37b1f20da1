// Copyright 2026 The keel Authors. Licensed under the Apache License, Version 2.0.
#include "keel/geo/spatial_index.h"

#include <array>
#include <cmath>
#include <numbers>

#include "absl/strings/str_join.h"
#include "keel/base/status.h"
#include "keel/base/strings.h"
#include "keel/geo/brute_force_index.h"
#include "keel/geo/cell_index.h"
#include "keel/geo/geohash_index.h"
#include "keel/geo/grid_index.h"
#include "keel/geo/quadtree.h"
#include "search.h"

namespace keel::geo {
namespace {

constexpr std::array<std::string_view, 5> kKinds = {"brute_force", "grid", "geohash", "quadtree",
                                                    "s2"};

}  // namespace

namespace internal {

Box3 Box3::Around(double lat_lo, double lat_hi, double lng_lo, double lng_hi) {
  constexpr double kRad = std::numbers::pi / 180;
  // z = sin(lat) is monotonic in latitude; cos(lat) >= 0 peaks at the equator.
  const double z_lo = std::sin(kRad * lat_lo);
  const double z_hi = std::sin(kRad * lat_hi);
  const double cos_a = std::cos(kRad * lat_lo);
  const double cos_b = std::cos(kRad * lat_hi);
  const double c_lo = std::min(cos_a, cos_b);
  const double c_hi = (lat_lo <= 0 && lat_hi >= 0) ? 1.0 : std::max(cos_a, cos_b);
  // cos(lng) and sin(lng) over the range: the ends, plus their peaks at 0 and +-90 inside it.
  const double cos_lo_lng = std::cos(kRad * lng_lo);
  const double cos_hi_lng = std::cos(kRad * lng_hi);
  const double sin_lo_lng = std::sin(kRad * lng_lo);
  const double sin_hi_lng = std::sin(kRad * lng_hi);
  const double cmin = std::min(cos_lo_lng, cos_hi_lng);
  const double cmax = (lng_lo <= 0 && lng_hi >= 0) ? 1.0 : std::max(cos_lo_lng, cos_hi_lng);
  const double smin = (lng_lo <= -90 && lng_hi >= -90) ? -1.0 : std::min(sin_lo_lng, sin_hi_lng);
  const double smax = (lng_lo <= 90 && lng_hi >= 90) ? 1.0 : std::max(sin_lo_lng, sin_hi_lng);
  // x = cos(lat) cos(lng) and y = cos(lat) sin(lng), with cos(lat) in [c_lo, c_hi], c_lo >= 0.
  auto product = [&](double f_lo, double f_hi, double* lo, double* hi) {
    *lo = f_lo >= 0 ? c_lo * f_lo : c_hi * f_lo;
    *hi = f_hi >= 0 ? c_hi * f_hi : c_lo * f_hi;
  };
  Box3 box;
  product(cmin, cmax, &box.lo[0], &box.hi[0]);
  product(smin, smax, &box.lo[1], &box.hi[1]);
  box.lo[2] = z_lo;
  box.hi[2] = z_hi;
  // Pad for the rounding of sin and cos here and in LatLng::ToPoint.
  constexpr double kPad = 1e-12;
  for (int k = 0; k < 3; ++k) {
    box.lo[k] -= kPad;
    box.hi[k] += kPad;
  }
  return box;
}

}  // namespace internal

absl::Status SpatialIndex::Move(PointId id, LatLng location) {
  // Both checks come first: a failed move must not have erased the point.
  KEEL_RETURN_IF_ERROR(internal::CheckLocation(id, location));
  KEEL_RETURN_IF_ERROR(Find(id).status());
  KEEL_RETURN_IF_ERROR(Erase(id));
  return Insert(id, location);
}

std::span<const std::string_view> SpatialIndexKinds() { return kKinds; }

absl::StatusOr<std::unique_ptr<SpatialIndex>> NewSpatialIndex(std::string_view kind) {
  if (kind == "brute_force") return std::make_unique<BruteForceIndex>();
  if (kind == "grid") return std::make_unique<GridIndex>();
  if (kind == "geohash") return std::make_unique<GeohashIndex>();
  if (kind == "quadtree") return std::make_unique<Quadtree>();
  if (kind == "s2") return std::make_unique<CellIndex>();
  std::vector<std::string> names(kKinds.begin(), kKinds.end());
  return absl::InvalidArgumentError(base::Cat("unknown spatial index kind ", base::Quoted(kind),
                                              "; the kinds are ", absl::StrJoin(names, ", ")));
}

}  // namespace keel::geo
